/* startvm-manager's auth.c: the password file, sessions, the login
 * lockout window and Origin matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "settings.h"
#include "util.h"

static char *
tmpdir (void)
{
  char tmpl[] = "/tmp/sv-mgr-auth-XXXXXX";
  char *d = mkdtemp (tmpl);
  assert_non_null (d);
  return sv_xstrdup (d);
}

static void
rm_dir (const char *d)
{
  char cmd[256];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", d);
  assert_int_equal (system (cmd), 0);
}

static void
test_password_generated_0600 (void **state)
{
  char *top = tmpdir ();
  char data[256];
  snprintf (data, sizeof data, "%s/data", top);
  char *pw = NULL;
  bool gen = false;
  sv_error_t err = NULL;
  assert_int_equal (sv_mgr_password_init (NULL, data, &pw, &gen, &err), 0);
  assert_true (gen);
  assert_int_equal (strlen (pw), 24);
  struct stat st;
  char path[300];
  snprintf (path, sizeof path, "%s/password", data);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_int_equal (stat (data, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0700);
  /* Second start: the same password, not generated. */
  char *again = NULL;
  assert_int_equal (sv_mgr_password_init (NULL, data, &again, &gen, &err), 0);
  assert_false (gen);
  assert_string_equal (again, pw);
  free (again);
  /* MANAGER_PASSWORD wins and nothing is written. */
  assert_int_equal (sv_mgr_password_init ("given", data, &again, &gen, &err), 0);
  assert_string_equal (again, "given");
  assert_false (gen);
  free (again);
  /* A file others can read is refused, with the fix in the message. */
  assert_int_equal (chmod (path, 0644), 0);
  assert_int_equal (sv_mgr_password_init (NULL, data, &again, &gen, &err), -1);
  assert_non_null (strstr (err->msg, "mode 644 lets others read it"));
  sv_error_release (&err);
  /* A symlink is never followed. */
  assert_int_equal (unlink (path), 0);
  assert_int_equal (symlink ("/etc/hostname", path), 0);
  assert_int_equal (sv_mgr_password_init (NULL, data, &again, &gen, &err), -1);
  assert_non_null (err);
  sv_error_release (&err);
  free (pw);
  rm_dir (top);
  free (top);
}

static void
test_sessions (void **state)
{
  struct sv_mgr_auth *a = malloc (sizeof *a);
  sv_mgr_auth_init (a, "secret");
  char sid[SV_MGR_SESSION_HEX + 1];
  int retry = 0;
  assert_int_equal (sv_mgr_auth_login (a, "1.2.3.4", "secret", 100, sid, &retry), SV_MGR_LOGIN_OK);
  assert_int_equal (strlen (sid), 64);
  assert_true (sv_mgr_auth_session_ok (a, sid, 101));
  assert_false (sv_mgr_auth_session_ok (a, sid, 100 + SV_MGR_SESSION_TTL));
  char other[SV_MGR_SESSION_HEX + 1];
  assert_int_equal (sv_mgr_auth_login (a, "1.2.3.4", "secret", 100, other, &retry),
                    SV_MGR_LOGIN_OK);
  assert_string_not_equal (sid, other);
  sv_mgr_auth_logout (a, sid);
  assert_false (sv_mgr_auth_session_ok (a, sid, 101));
  assert_true (sv_mgr_auth_session_ok (a, other, 101));
  assert_false (sv_mgr_auth_session_ok (a, "", 101));
  assert_false (sv_mgr_auth_session_ok (a, NULL, 101));
  sv_mgr_auth_free (a);
  free (a);
}

static void
test_lockout_window (void **state)
{
  struct sv_mgr_auth *a = malloc (sizeof *a);
  sv_mgr_auth_init (a, "secret");
  char sid[SV_MGR_SESSION_HEX + 1];
  int retry = 0;
  for (int i = 0; i < 10; i++)
    assert_int_equal (sv_mgr_auth_login (a, "10.0.0.1", "wrong", 1000 + i, sid, &retry),
                      SV_MGR_LOGIN_WRONG);
  /* The 11th within the minute: locked, even with the right password. */
  assert_int_equal (sv_mgr_auth_login (a, "10.0.0.1", "wrong", 1010, sid, &retry),
                    SV_MGR_LOGIN_LOCKED);
  assert_int_equal (retry, 50);
  assert_int_equal (sv_mgr_auth_login (a, "10.0.0.1", "secret", 1059, sid, &retry),
                    SV_MGR_LOGIN_LOCKED);
  assert_int_equal (retry, 1);
  /* Another address is not affected. */
  assert_int_equal (sv_mgr_auth_login (a, "10.0.0.2", "secret", 1010, sid, &retry),
                    SV_MGR_LOGIN_OK);
  /* The minute is over. */
  assert_int_equal (sv_mgr_auth_login (a, "10.0.0.1", "secret", 1060, sid, &retry),
                    SV_MGR_LOGIN_OK);
  /* Failures spread over more than a minute never lock. */
  for (int i = 0; i < 30; i++)
    assert_int_equal (sv_mgr_auth_login (a, "10.0.0.3", "wrong", 2000 + i * 7, sid, &retry),
                      SV_MGR_LOGIN_WRONG);
  sv_mgr_auth_free (a);
  free (a);
}

static void
test_cookie_and_bearer (void **state)
{
  char out[SV_MGR_SESSION_HEX + 1];
  const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  char cookie[200];
  snprintf (cookie, sizeof cookie, "a=b; sv_session=%s; c=d", hex);
  assert_true (sv_mgr_cookie_session (cookie, out));
  assert_string_equal (out, hex);
  assert_false (sv_mgr_cookie_session ("sv_session=xyz", out));
  assert_false (sv_mgr_cookie_session ("other=1", out));
  assert_false (sv_mgr_cookie_session (NULL, out));
  assert_string_equal (sv_mgr_bearer ("Bearer abc"), "abc");
  assert_string_equal (sv_mgr_bearer ("bearer  abc"), "abc");
  assert_null (sv_mgr_bearer ("Basic abc"));
  assert_null (sv_mgr_bearer ("Bearer "));
  assert_null (sv_mgr_bearer (NULL));
}

static void
test_origin (void **state)
{
  assert_true (sv_mgr_origin_matches ("https://127.0.0.1:8443", "127.0.0.1:8443", true));
  assert_true (sv_mgr_origin_matches ("https://VMS.example", "vms.example", true));
  assert_true (sv_mgr_origin_matches ("https://vms.example", "vms.example:443", true));
  assert_true (sv_mgr_origin_matches ("http://vms.example", "vms.example", false));
  assert_true (sv_mgr_origin_matches ("https://[::1]:8443", "[::1]:8443", true));
  assert_false (sv_mgr_origin_matches ("https://evil.example", "127.0.0.1:8443", true));
  assert_false (sv_mgr_origin_matches ("https://127.0.0.1:8444", "127.0.0.1:8443", true));
  assert_false (sv_mgr_origin_matches ("https://127.0.0.1", "127.0.0.1:8443", true));
  assert_false (sv_mgr_origin_matches ("null", "127.0.0.1:8443", true));
  assert_false (sv_mgr_origin_matches ("https://127.0.0.1:8443.evil", "127.0.0.1:8443", true));
  assert_false (sv_mgr_origin_matches ("https://127.0.0.1:8443/x", "127.0.0.1:8443", true));
  assert_false (sv_mgr_origin_matches ("https://a@127.0.0.1:8443", "127.0.0.1:8443", true));
  assert_false (sv_mgr_origin_matches ("https://127.0.0.1:8443", NULL, true));
}

static void
test_auth_check (void **state)
{
  struct sv_mgr_auth *a = malloc (sizeof *a);
  sv_mgr_auth_init (a, "secret");
  char sid[SV_MGR_SESSION_HEX + 1];
  int retry;
  assert_int_equal (sv_mgr_auth_login (a, "x", "secret", 10, sid, &retry), SV_MGR_LOGIN_OK);
  char cookie[100];
  snprintf (cookie, sizeof cookie, "sv_session=%s", sid);
  sv_error_t msg = NULL;
  struct sv_mgr_authreq r = { .host = "h:8443", .tls = true };
  assert_int_equal (sv_mgr_auth_check (a, &r, 11, &retry, &msg), 401);
  assert_string_equal (msg->msg, "authentication required");
  sv_error_release (&msg);
  r.cookie = cookie;
  assert_int_equal (sv_mgr_auth_check (a, &r, 11, &retry, &msg), 0);
  r.state_changing = true;
  assert_int_equal (sv_mgr_auth_check (a, &r, 11, &retry, &msg), 403);
  assert_string_equal (msg->msg, "cookie-authenticated requests need an Origin header");
  sv_error_release (&msg);
  r.origin = "https://evil.example";
  assert_int_equal (sv_mgr_auth_check (a, &r, 11, &retry, &msg), 403);
  assert_string_equal (msg->msg, "origin https://evil.example does not match host h:8443");
  sv_error_release (&msg);
  r.origin = "https://h:8443";
  assert_int_equal (sv_mgr_auth_check (a, &r, 11, &retry, &msg), 0);
  r.origin = NULL;
  r.cookie = NULL;
  r.authorization = "Bearer secret";
  assert_int_equal (sv_mgr_auth_check (a, &r, 11, &retry, &msg), 0);
  r.authorization = "Bearer secre";
  assert_int_equal (sv_mgr_auth_check (a, &r, 11, &retry, &msg), 401);
  assert_string_equal (msg->msg, "wrong password");
  sv_error_release (&msg);
  sv_mgr_auth_free (a);
  free (a);
}

/* A wrong bearer token is a failed login: the same window as
 * POST /api/login, per address, and then 429 for the right one too. */
static void
test_bearer_lockout (void **state)
{
  struct sv_mgr_auth *a = malloc (sizeof *a);
  sv_mgr_auth_init (a, "secret");
  sv_error_t msg = NULL;
  char sid[SV_MGR_SESSION_HEX + 1];
  int retry = 0;
  struct sv_mgr_authreq r = { .host = "h:8443", .tls = true, .addr = "10.0.0.1" };
  r.authorization = "Bearer wrong";
  for (int i = 0; i < 5; i++)
    {
      assert_int_equal (sv_mgr_auth_check (a, &r, 1000 + i, &retry, &msg), 401);
      assert_string_equal (msg->msg, "wrong password");
      sv_error_release (&msg);
    }
  for (int i = 0; i < 5; i++)
    assert_int_equal (sv_mgr_auth_login (a, "10.0.0.1", "wrong", 1005 + i, sid, &retry),
                      SV_MGR_LOGIN_WRONG);
  assert_int_equal (sv_mgr_auth_check (a, &r, 1010, &retry, &msg), 429);
  assert_string_equal (msg->msg, "too many failed logins; try again in 50 s");
  assert_int_equal (retry, 50);
  sv_error_release (&msg);
  r.authorization = "Bearer secret";
  assert_int_equal (sv_mgr_auth_check (a, &r, 1011, &retry, &msg), 429);
  sv_error_release (&msg);
  assert_int_equal (sv_mgr_auth_login (a, "10.0.0.1", "secret", 1011, sid, &retry),
                    SV_MGR_LOGIN_LOCKED);
  /* Another address, and the same one after the minute. */
  r.addr = "10.0.0.2";
  assert_int_equal (sv_mgr_auth_check (a, &r, 1011, &retry, &msg), 0);
  r.addr = "10.0.0.1";
  assert_int_equal (sv_mgr_auth_check (a, &r, 1060, &retry, &msg), 0);
  /* A cookie request carries no guess: not counted, not locked. */
  r.authorization = NULL;
  assert_int_equal (sv_mgr_auth_check (a, &r, 1060, &retry, &msg), 401);
  assert_string_equal (msg->msg, "authentication required");
  sv_error_release (&msg);
  sv_mgr_auth_free (a);
  free (a);
}

static void
test_lockout_key (void **state)
{
  char k[64];
  sv_mgr_lockout_key ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof k);
  assert_string_equal (k, "2001:db8:1:2::/64");
  sv_mgr_lockout_key ("2001:db8:1:2::1", k, sizeof k);
  assert_string_equal (k, "2001:db8:1:2::/64");
  sv_mgr_lockout_key ("::1", k, sizeof k);
  assert_string_equal (k, "::/64");
  sv_mgr_lockout_key ("10.1.2.3", k, sizeof k);
  assert_string_equal (k, "10.1.2.3");
  sv_mgr_lockout_key ("::ffff:10.1.2.3", k, sizeof k);
  assert_string_equal (k, "10.1.2.3");
  sv_mgr_lockout_key ("not-an-address", k, sizeof k);
  assert_string_equal (k, "not-an-address");
  /* One /64 is one client: its addresses share the window. */
  struct sv_mgr_auth *a = malloc (sizeof *a);
  sv_mgr_auth_init (a, "secret");
  char sid[SV_MGR_SESSION_HEX + 1], addr[64];
  int retry = 0;
  for (int i = 0; i < 10; i++)
    {
      snprintf (addr, sizeof addr, "2001:db8:0:7::%x", i + 1);
      assert_int_equal (sv_mgr_auth_login (a, addr, "wrong", 100, sid, &retry), SV_MGR_LOGIN_WRONG);
    }
  assert_int_equal (sv_mgr_auth_login (a, "2001:db8:0:7:ffff::1", "secret", 101, sid, &retry),
                    SV_MGR_LOGIN_LOCKED);
  assert_int_equal (sv_mgr_auth_login (a, "2001:db8:0:8::1", "secret", 101, sid, &retry),
                    SV_MGR_LOGIN_OK);
  sv_mgr_auth_free (a);
  free (a);
}

static void
test_client_addr (void **state)
{
  char c[64];
  /* No trusted proxy, or another peer: X-Forwarded-For is the client's
   * own text, never used. */
  sv_mgr_client_addr ("10.0.0.9", "1.2.3.4", NULL, c, sizeof c);
  assert_string_equal (c, "10.0.0.9");
  sv_mgr_client_addr ("10.0.0.9", "1.2.3.4", "10.0.0.2", c, sizeof c);
  assert_string_equal (c, "10.0.0.9");
  /* The proxy: the last hop, the one it added. */
  sv_mgr_client_addr ("10.0.0.2", "1.2.3.4", "10.0.0.2", c, sizeof c);
  assert_string_equal (c, "1.2.3.4");
  sv_mgr_client_addr ("10.0.0.2", "6.6.6.6, 1.2.3.4", "10.0.0.2", c, sizeof c);
  assert_string_equal (c, "1.2.3.4");
  sv_mgr_client_addr ("10.0.0.2", "6.6.6.6,2001:db8::5 ", "10.0.0.2", c, sizeof c);
  assert_string_equal (c, "2001:db8::5");
  sv_mgr_client_addr ("::ffff:10.0.0.2", "1.2.3.4", "10.0.0.2", c, sizeof c);
  assert_string_equal (c, "1.2.3.4");
  /* From the proxy but no header, or no address in it: the proxy's. */
  sv_mgr_client_addr ("10.0.0.2", NULL, "10.0.0.2", c, sizeof c);
  assert_string_equal (c, "10.0.0.2");
  sv_mgr_client_addr ("10.0.0.2", "1.2.3.4, unknown", "10.0.0.2", c, sizeof c);
  assert_string_equal (c, "10.0.0.2");
}

static void
test_settings (void **state)
{
  struct sv_mgr_settings s;
  sv_error_t err = NULL;
  char *short_pw[] = { "MANAGER_PASSWORD=elevenchars", NULL };
  assert_int_equal (sv_mgr_settings_load (short_pw, &s, &err), -1);
  assert_string_equal (err->msg, "MANAGER_PASSWORD is too short (11 characters): use at least 12");
  sv_error_release (&err);
  sv_mgr_settings_free (&s);
  /* Characters, not bytes: 11 two-byte letters are 11. */
  char *utf8[] = { "MANAGER_PASSWORD=\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                   "\u00e9\u00e9",
                   NULL };
  assert_int_equal (sv_mgr_settings_load (utf8, &s, &err), -1);
  assert_string_equal (err->msg, "MANAGER_PASSWORD is too short (11 characters): use at least 12");
  sv_error_release (&err);
  sv_mgr_settings_free (&s);
  char *ok[] = { "MANAGER_PASSWORD=twelve-chars", "MANAGER_TRUSTED_PROXY=10.0.0.2", NULL };
  assert_int_equal (sv_mgr_settings_load (ok, &s, &err), 0);
  assert_string_equal (s.password, "twelve-chars");
  assert_string_equal (s.trusted_proxy, "10.0.0.2");
  /* The per-request memory ceilings' defaults. */
  assert_int_equal (s.log_buffer, 16 * 1024 * 1024);
  assert_int_equal (s.max_event_clients, 64);
  sv_mgr_settings_free (&s);
  char *limits[] = { "MANAGER_LOG_BUFFER=512K", "MANAGER_MAX_EVENT_CLIENTS=3", NULL };
  assert_int_equal (sv_mgr_settings_load (limits, &s, &err), 0);
  assert_int_equal (s.log_buffer, 512 * 1024);
  assert_int_equal (s.max_event_clients, 3);
  sv_mgr_settings_free (&s);
  char *no_clients[] = { "MANAGER_MAX_EVENT_CLIENTS=0", NULL };
  assert_int_equal (sv_mgr_settings_load (no_clients, &s, &err), -1);
  assert_non_null (strstr (err->msg, "MANAGER_MAX_EVENT_CLIENTS"));
  sv_error_release (&err);
  sv_mgr_settings_free (&s);
  char *bad_buffer[] = { "MANAGER_LOG_BUFFER=lots", NULL };
  assert_int_equal (sv_mgr_settings_load (bad_buffer, &s, &err), -1);
  assert_non_null (strstr (err->msg, "MANAGER_LOG_BUFFER"));
  sv_error_release (&err);
  sv_mgr_settings_free (&s);
  char *bad_proxy[] = { "MANAGER_TRUSTED_PROXY=proxy.example", NULL };
  assert_int_equal (sv_mgr_settings_load (bad_proxy, &s, &err), -1);
  assert_string_equal (err->msg, "MANAGER_TRUSTED_PROXY=proxy.example: expected the proxy's IP "
                                 "address (e.g. 10.0.0.2)");
  sv_error_release (&err);
  sv_mgr_settings_free (&s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_password_generated_0600),
    cmocka_unit_test (test_sessions),
    cmocka_unit_test (test_lockout_window),
    cmocka_unit_test (test_cookie_and_bearer),
    cmocka_unit_test (test_origin),
    cmocka_unit_test (test_auth_check),
    cmocka_unit_test (test_bearer_lockout),
    cmocka_unit_test (test_lockout_key),
    cmocka_unit_test (test_client_addr),
    cmocka_unit_test (test_settings),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
