/* Password, sessions, login lockout and Origin checks for startvm-manager.
 * Pure where it can be (clock passed in as `now`, seconds on a monotonic
 * clock) so the unit tests drive time themselves. */
#ifndef SV_MGR_AUTH_H
#define SV_MGR_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SV_MGR_SESSION_HEX 64 /* 32 random bytes */
#define SV_MGR_MAX_SESSIONS 256
#define SV_MGR_SESSION_TTL (12 * 3600)
#define SV_MGR_LOCKOUT_FAILURES 10
#define SV_MGR_LOCKOUT_WINDOW 60
#define SV_MGR_MAX_ADDRS 1024

struct sv_mgr_session
{
  char id[SV_MGR_SESSION_HEX + 1];
  int64_t expires;
};

struct sv_mgr_failures
{
  char addr[64];
  int64_t window_start;
  unsigned count;
};

struct sv_mgr_auth
{
  char *password;
  struct sv_mgr_session sessions[SV_MGR_MAX_SESSIONS];
  struct sv_mgr_failures failures[SV_MGR_MAX_ADDRS];
};

/* Fill buf with n random bytes (OpenSSL's RAND_bytes). */
int sv_mgr_random (void *buf, size_t n, sv_error_t *err);

/* The password: `given` (MANAGER_PASSWORD) when not NULL; else the one
 * stored in DATA_DIR/password; else a new one generated, stored there with
 * mode 0600 (the directory is created 0700) and *generated set.  A stored
 * file that is not a regular file, or that others can read, is an error. */
int sv_mgr_password_init (const char *given, const char *data_dir, char **out, bool *generated,
                          sv_error_t *err);

void sv_mgr_auth_init (struct sv_mgr_auth *a, const char *password);
void sv_mgr_auth_free (struct sv_mgr_auth *a);

/* Constant-time comparison with the password. */
bool sv_mgr_auth_password_ok (const struct sv_mgr_auth *a, const char *given);

enum sv_mgr_login_result
{
  SV_MGR_LOGIN_OK = 0,
  SV_MGR_LOGIN_WRONG,  /* 401 */
  SV_MGR_LOGIN_LOCKED, /* 429, *retry_after seconds */
};
/* The key the lockout counts failures under for a client address: an
 * IPv6 address's /64 ("2001:db8::/64": one host usually holds a whole
 * /64), an IPv4 address (also one written ::ffff:a.b.c.d) as itself,
 * anything else as given.  out: at least 64 bytes. */
void sv_mgr_lockout_key (const char *addr, char *out, size_t n);

/* The client's address: peer, unless peer is trusted_proxy (not NULL) and
 * the request has X-Forwarded-For (xff): then its last entry, the one
 * that proxy added, when it is an IP address.  out: at least 64 bytes. */
void sv_mgr_client_addr (const char *peer, const char *xff, const char *trusted_proxy, char *out,
                         size_t n);

/* Is s an IPv4 or IPv6 address? */
bool sv_mgr_ip_ok (const char *s);

/* One login attempt from addr.  On success a new session id goes to
 * session_out (SV_MGR_SESSION_HEX + 1 bytes). */
enum sv_mgr_login_result sv_mgr_auth_login (struct sv_mgr_auth *a, const char *addr,
                                            const char *password, int64_t now, char *session_out,
                                            int *retry_after);
bool sv_mgr_auth_session_ok (struct sv_mgr_auth *a, const char *id, int64_t now);
void sv_mgr_auth_logout (struct sv_mgr_auth *a, const char *id);

/* The sv_session value from a Cookie header, copied into out
 * (SV_MGR_SESSION_HEX + 1 bytes); false when absent or malformed. */
bool sv_mgr_cookie_session (const char *cookie, char *out);
/* The token of "Bearer TOKEN" (pointer into the header), or NULL. */
const char *sv_mgr_bearer (const char *authorization);

/* Does the Origin header's host[:port] match the Host header?  Scheme
 * default ports count as equal (https://h matches h:443). */
bool sv_mgr_origin_matches (const char *origin, const char *host, bool tls);

/* The whole decision for one request.  Returns 0 when allowed, else the
 * HTTP status with the JSON message in *msg (caller frees). */
struct sv_mgr_authreq
{
  bool state_changing; /* POST, DELETE, or a WebSocket upgrade */
  bool websocket;
  const char *origin; /* NULL when absent */
  const char *host;
  const char *cookie;        /* Cookie header or NULL */
  const char *authorization; /* Authorization header or NULL */
  const char *addr;          /* the client's address (sv_mgr_client_addr) */
  bool tls;
};
/* A wrong bearer token is a failed login from r->addr: it counts in the
 * same window, and once the window is full every bearer token from there
 * (the right one too) gets 429 with *retry_after seconds. */
int sv_mgr_auth_check (struct sv_mgr_auth *a, const struct sv_mgr_authreq *r, int64_t now,
                       int *retry_after, sv_error_t *err);
/* The Origin check alone (for login): 0 or 403 with *msg. */
int sv_mgr_origin_check (const struct sv_mgr_authreq *r, sv_error_t *err);

#endif
