#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

int
sv_mgr_random (void *buf, size_t n, sv_error_t *err)
{
  if (RAND_bytes (buf, (int)n) != 1)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "the random number generator failed (RAND_bytes)");
  return 0;
}

static int
read_password_file (int dfd, const char *path, char **out, sv_error_t *err)
{
  cleanup_close int fd = openat (dfd, "password", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "stat %s", path);
  if (!S_ISREG (st.st_mode))
    return sv_error_config (err, "%s: not a regular file", path);
  if (st.st_mode & 077)
    return sv_error_config (err, "%s: mode %03o lets others read it (want 0600: chmod 600 %s)",
                            path, (unsigned)(st.st_mode & 0777), path);
  char buf[512];
  ssize_t n = TEMP_FAILURE_RETRY (read (fd, buf, sizeof buf - 1));
  if (n < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "reading %s", path);
  buf[n] = '\0';
  buf[strcspn (buf, "\r\n")] = '\0';
  if (buf[0] == '\0')
    return sv_error_config (err, "%s: empty", path);
  *out = sv_xstrdup (buf);
  return 0;
}

int
sv_mgr_password_init (const char *given, const char *data_dir, char **out, bool *generated,
                      sv_error_t *err)
{
  *generated = false;
  if (given)
    {
      *out = sv_xstrdup (given);
      return 0;
    }
  if (mkdir (data_dir, 0700) < 0 && errno != EEXIST)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s", data_dir);
  cleanup_close int dfd = open (data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s", data_dir);
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s/password", data_dir) < 0)
    abort ();
  int r = read_password_file (dfd, path, out, err);
  if (r != -ENOENT)
    return r < 0 ? (r == -1 ? -1 : sv_error_errno (err, SV_EXIT_ENV, -r, "opening %s", path)) : 0;

  /* 24 characters from 62: about 143 bits. */
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char rnd[24];
  char pw[25];
  for (size_t i = 0; i < sizeof rnd;)
    {
      unsigned char b;
      if (sv_mgr_random (&b, 1, err) < 0)
        return -1;
      if (b >= 248) /* 248 = 4 * 62: no modulo bias */
        continue;
      rnd[i++] = b;
    }
  for (size_t i = 0; i < sizeof rnd; i++)
    pw[i] = alphabet[rnd[i] % 62];
  pw[24] = '\0';
  cleanup_close int fd
      = openat (dfd, "password", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s", path);
  if (fchmod (fd, 0600) < 0 || TEMP_FAILURE_RETRY (write (fd, pw, 24)) != 24
      || TEMP_FAILURE_RETRY (write (fd, "\n", 1)) != 1 || fsync (fd) < 0)
    {
      int e = errno;
      unlinkat (dfd, "password", 0);
      return sv_error_errno (err, SV_EXIT_ENV, e, "writing %s", path);
    }
  *out = sv_xstrdup (pw);
  *generated = true;
  OPENSSL_cleanse (pw, sizeof pw);
  return 0;
}

void
sv_mgr_auth_init (struct sv_mgr_auth *a, const char *password)
{
  memset (a, 0, sizeof *a);
  a->password = sv_xstrdup (password);
}

void
sv_mgr_auth_free (struct sv_mgr_auth *a)
{
  if (a->password)
    OPENSSL_cleanse (a->password, strlen (a->password));
  free (a->password);
  memset (a, 0, sizeof *a);
}

/* Equal length and bytes, in time that depends on the lengths only. */
static bool
secret_equal (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  if (la != lb)
    return false;
  return CRYPTO_memcmp (a, b, la) == 0;
}

bool
sv_mgr_auth_password_ok (const struct sv_mgr_auth *a, const char *given)
{
  return given && a->password && secret_equal (a->password, given);
}

/* addr as 16 bytes of IPv6 (IPv4 as ::ffff:a.b.c.d); false when it is no
 * address. */
static bool
ip_parse (const char *addr, struct in6_addr *out)
{
  struct in_addr v4;
  if (addr == NULL)
    return false;
  if (inet_pton (AF_INET6, addr, out) == 1)
    return true;
  if (inet_pton (AF_INET, addr, &v4) != 1)
    return false;
  memset (out, 0, sizeof *out);
  out->s6_addr[10] = out->s6_addr[11] = 0xff;
  memcpy (&out->s6_addr[12], &v4, 4);
  return true;
}

bool
sv_mgr_ip_ok (const char *s)
{
  struct in6_addr a;
  return ip_parse (s, &a);
}

void
sv_mgr_lockout_key (const char *addr, char *out, size_t n)
{
  struct in6_addr a;
  char buf[INET6_ADDRSTRLEN];
  if (!ip_parse (addr, &a))
    snprintf (out, n, "%s", addr ? addr : "?");
  else if (IN6_IS_ADDR_V4MAPPED (&a))
    snprintf (out, n, "%s", inet_ntop (AF_INET, &a.s6_addr[12], buf, sizeof buf));
  else
    {
      memset (&a.s6_addr[8], 0, 8);
      snprintf (out, n, "%s/64", inet_ntop (AF_INET6, &a, buf, sizeof buf));
    }
}

void
sv_mgr_client_addr (const char *peer, const char *xff, const char *trusted_proxy, char *out,
                    size_t n)
{
  snprintf (out, n, "%s", peer ? peer : "?");
  struct in6_addr p, t;
  if (xff == NULL || !ip_parse (peer, &p) || !ip_parse (trusted_proxy, &t)
      || memcmp (&p, &t, sizeof p) != 0)
    return;
  /* The last hop: what the trusted proxy itself appended (the entries
   * before it are the client's to write). */
  const char *last = strrchr (xff, ',');
  last = last ? last + 1 : xff;
  last += strspn (last, " \t");
  char v[INET6_ADDRSTRLEN];
  size_t l = strcspn (last, " \t");
  if (l == 0 || l >= sizeof v)
    return;
  memcpy (v, last, l);
  v[l] = '\0';
  if (sv_mgr_ip_ok (v))
    snprintf (out, n, "%s", v);
}

static struct sv_mgr_failures *
failures_for (struct sv_mgr_auth *a, const char *addr, int64_t now, bool create)
{
  struct sv_mgr_failures *free_slot = NULL, *oldest = NULL;
  for (size_t i = 0; i < SV_MGR_MAX_ADDRS; i++)
    {
      struct sv_mgr_failures *f = &a->failures[i];
      if (f->count && now - f->window_start >= SV_MGR_LOCKOUT_WINDOW)
        f->count = 0; /* window over: forget it */
      if (f->count && strcmp (f->addr, addr) == 0)
        return f;
      if (f->count == 0 && free_slot == NULL)
        free_slot = f;
      if (f->count && (oldest == NULL || f->window_start < oldest->window_start))
        oldest = f;
    }
  if (!create)
    return NULL;
  struct sv_mgr_failures *f = free_slot ? free_slot : oldest;
  snprintf (f->addr, sizeof f->addr, "%s", addr);
  f->window_start = now;
  f->count = 0;
  return f;
}

static void
new_session (struct sv_mgr_auth *a, int64_t now, char *out)
{
  unsigned char rnd[SV_MGR_SESSION_HEX / 2];
  if (sv_mgr_random (rnd, sizeof rnd, NULL) < 0)
    abort (); /* no session ids without randomness */
  for (size_t i = 0; i < sizeof rnd; i++)
    sprintf (out + 2 * i, "%02x", rnd[i]);
  struct sv_mgr_session *slot = NULL;
  for (size_t i = 0; i < SV_MGR_MAX_SESSIONS; i++)
    {
      struct sv_mgr_session *s = &a->sessions[i];
      if (s->id[0] == '\0' || s->expires <= now)
        {
          slot = s;
          break;
        }
      if (slot == NULL || s->expires < slot->expires)
        slot = s; /* full: the one closest to expiry makes room */
    }
  memcpy (slot->id, out, SV_MGR_SESSION_HEX + 1);
  slot->expires = now + SV_MGR_SESSION_TTL;
}

/* The password check behind both login and the bearer token: LOCKED while
 * addr's window is full, else WRONG (counted) or OK. */
static enum sv_mgr_login_result
attempt (struct sv_mgr_auth *a, const char *addr, const char *password, int64_t now,
         int *retry_after)
{
  char key[sizeof a->failures[0].addr];
  sv_mgr_lockout_key (addr, key, sizeof key);
  struct sv_mgr_failures *f = failures_for (a, key, now, false);
  if (f && f->count >= SV_MGR_LOCKOUT_FAILURES)
    {
      *retry_after = (int)(f->window_start + SV_MGR_LOCKOUT_WINDOW - now);
      if (*retry_after < 1)
        *retry_after = 1;
      return SV_MGR_LOGIN_LOCKED;
    }
  if (sv_mgr_auth_password_ok (a, password))
    return SV_MGR_LOGIN_OK;
  if (f == NULL)
    f = failures_for (a, key, now, true);
  f->count++;
  return SV_MGR_LOGIN_WRONG;
}

enum sv_mgr_login_result
sv_mgr_auth_login (struct sv_mgr_auth *a, const char *addr, const char *password, int64_t now,
                   char *session_out, int *retry_after)
{
  enum sv_mgr_login_result r = attempt (a, addr, password, now, retry_after);
  if (r == SV_MGR_LOGIN_OK)
    new_session (a, now, session_out);
  return r;
}

bool
sv_mgr_auth_session_ok (struct sv_mgr_auth *a, const char *id, int64_t now)
{
  if (id == NULL || strlen (id) != SV_MGR_SESSION_HEX)
    return false;
  for (size_t i = 0; i < SV_MGR_MAX_SESSIONS; i++)
    {
      struct sv_mgr_session *s = &a->sessions[i];
      if (s->id[0] && s->expires > now && secret_equal (s->id, id))
        return true;
    }
  return false;
}

void
sv_mgr_auth_logout (struct sv_mgr_auth *a, const char *id)
{
  if (id == NULL || strlen (id) != SV_MGR_SESSION_HEX)
    return;
  for (size_t i = 0; i < SV_MGR_MAX_SESSIONS; i++)
    if (a->sessions[i].id[0] && secret_equal (a->sessions[i].id, id))
      memset (&a->sessions[i], 0, sizeof a->sessions[i]);
}

bool
sv_mgr_cookie_session (const char *cookie, char *out)
{
  for (const char *p = cookie; p && *p;)
    {
      while (*p == ' ' || *p == ';')
        p++;
      const char *end = strchr (p, ';');
      size_t len = end ? (size_t)(end - p) : strlen (p);
      if (len > 11 && strncmp (p, "sv_session=", 11) == 0)
        {
          size_t vl = len - 11;
          while (vl && p[11 + vl - 1] == ' ')
            vl--;
          if (vl != SV_MGR_SESSION_HEX)
            return false;
          for (size_t i = 0; i < vl; i++)
            if (!((p[11 + i] >= '0' && p[11 + i] <= '9') || (p[11 + i] >= 'a' && p[11 + i] <= 'f')))
              return false;
          memcpy (out, p + 11, vl);
          out[vl] = '\0';
          return true;
        }
      p += len;
    }
  return false;
}

const char *
sv_mgr_bearer (const char *authorization)
{
  if (authorization == NULL || strncasecmp (authorization, "Bearer ", 7) != 0)
    return NULL;
  const char *t = authorization + 7;
  while (*t == ' ')
    t++;
  return *t ? t : NULL;
}

/* Split "h:p" / "[v6]:p" into host and port (0 when none). */
static bool
split_authority (const char *s, size_t len, char *host, size_t hostlen, unsigned *port)
{
  *port = 0;
  const char *colon = NULL;
  if (len && s[0] == '[')
    {
      const char *rb = memchr (s, ']', len);
      if (rb == NULL)
        return false;
      if ((size_t)(rb - s + 1) < len)
        {
          if (rb[1] != ':')
            return false;
          colon = rb + 1;
        }
    }
  else
    colon = memchr (s, ':', len);
  size_t hl = colon ? (size_t)(colon - s) : len;
  if (hl == 0 || hl >= hostlen)
    return false;
  memcpy (host, s, hl);
  host[hl] = '\0';
  if (colon)
    {
      char *end;
      const char *ps = colon + 1;
      size_t pl = len - (size_t)(ps - s);
      char pbuf[8];
      if (pl == 0 || pl >= sizeof pbuf)
        return false;
      memcpy (pbuf, ps, pl);
      pbuf[pl] = '\0';
      unsigned long p = strtoul (pbuf, &end, 10);
      if (*end || p == 0 || p > 65535)
        return false;
      *port = (unsigned)p;
    }
  return true;
}

bool
sv_mgr_origin_matches (const char *origin, const char *host, bool tls)
{
  if (origin == NULL || host == NULL)
    return false;
  unsigned def;
  const char *auth;
  if (strncasecmp (origin, "https://", 8) == 0)
    {
      def = 443;
      auth = origin + 8;
    }
  else if (strncasecmp (origin, "http://", 7) == 0)
    {
      def = 80;
      auth = origin + 7;
    }
  else
    return false; /* "null", other schemes */
  size_t al = strcspn (auth, "/");
  if (auth[al] == '/' && auth[al + 1] != '\0')
    return false; /* an Origin has no path */
  char oh[256], hh[256];
  unsigned op, hp;
  if (!split_authority (auth, al, oh, sizeof oh, &op)
      || !split_authority (host, strlen (host), hh, sizeof hh, &hp))
    return false;
  if (op == 0)
    op = def;
  if (hp == 0)
    hp = tls ? 443 : 80;
  return strcasecmp (oh, hh) == 0 && op == hp;
}

int
sv_mgr_origin_check (const struct sv_mgr_authreq *r, sv_error_t *err)
{
  if (r->origin == NULL || sv_mgr_origin_matches (r->origin, r->host, r->tls))
    return 0;
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "origin ");
  sv_buf_add (&b, r->origin);
  sv_buf_add (&b, " does not match host ");
  sv_buf_add (&b, r->host ? r->host : "(none)");
  sv_error_config (err, "%s", b.data);
  sv_buf_free (&b);
  return 403;
}

int
sv_mgr_auth_check (struct sv_mgr_auth *a, const struct sv_mgr_authreq *r, int64_t now,
                   int *retry_after, sv_error_t *err)
{
  if (r->state_changing && sv_mgr_origin_check (r, err))
    return 403;
  const char *token = sv_mgr_bearer (r->authorization);
  bool bearer = false;
  if (token)
    switch (attempt (a, r->addr, token, now, retry_after))
      {
      case SV_MGR_LOGIN_OK:
        bearer = true;
        break;
      case SV_MGR_LOGIN_WRONG:
        sv_error_config (err, "wrong password");
        return 401;
      case SV_MGR_LOGIN_LOCKED:
        sv_error_config (err, "too many failed logins; try again in %d s", *retry_after);
        return 429;
      }
  char sid[SV_MGR_SESSION_HEX + 1];
  bool session
      = !bearer && sv_mgr_cookie_session (r->cookie, sid) && sv_mgr_auth_session_ok (a, sid, now);
  if (!bearer && !session)
    {
      sv_error_config (err, "authentication required");
      return 401;
    }
  if (r->state_changing && session && r->origin == NULL)
    {
      sv_error_config (err, "cookie-authenticated requests need an Origin header");
      return 403;
    }
  return 0;
}
