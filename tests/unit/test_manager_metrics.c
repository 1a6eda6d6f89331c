/* startvm-manager's metrics.c: the exposition text (escaping, numbers),
 * the helpers that read Docker's and QMP's replies, the request counts,
 * and the /metrics token's place in the login lockout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "metrics.h"
#include "settings.h"
#include "util.h"

static void
test_label_escaping (void **state)
{
  (void)state;
  struct sv_buf b = { 0 };
  const char *l[] = { "name", "a\\b\"c\nd", "id", "x", NULL };
  sv_mgr_expo_sample (&b, "m_total", l, 3);
  assert_string_equal (b.data, "m_total{name=\"a\\\\b\\\"c\\nd\",id=\"x\"} 3\n");
  sv_buf_free (&b);
  /* UTF-8 and other bytes pass as they are; NULL is empty. */
  const char *l2[] = { "name", "h\xc3\xa9", "id", NULL, NULL };
  sv_mgr_expo_sample (&b, "m", l2, 0);
  assert_string_equal (b.data, "m{name=\"h\xc3\xa9\",id=\"\"} 0\n");
  sv_buf_free (&b);
}

static void
test_numbers (void **state)
{
  (void)state;
  struct sv_buf b = { 0 };
  sv_mgr_expo_sample (&b, "a", NULL, 1.5);
  sv_mgr_expo_sample (&b, "b", NULL, 1e18);
  sv_mgr_expo_sample (&b, "c", NULL, NAN);
  sv_mgr_expo_sample (&b, "d", NULL, -INFINITY);
  sv_mgr_expo_sample (&b, "e", NULL, 4294967296.0);
  assert_string_equal (b.data, "a 1.5\nb 1e+18\nc NaN\nd -Inf\ne 4294967296\n");
  sv_buf_free (&b);
}

static void
test_family (void **state)
{
  (void)state;
  struct sv_buf b = { 0 };
  sv_mgr_expo_family (&b, "x_total", "counter", "a \\ and\na \"quote\"");
  /* HELP escapes backslash and newline, not quotes. */
  assert_string_equal (b.data, "# HELP x_total a \\\\ and\\na \"quote\"\n# TYPE x_total counter\n");
  sv_buf_free (&b);
}

static void
test_rfc3339 (void **state)
{
  (void)state;
  assert_true (fabs (sv_mgr_rfc3339_seconds ("2026-12-07T09:00:00.25Z") - 1796634000.25) < 1e-6);
  assert_true (
      fabs (sv_mgr_rfc3339_seconds ("2026-12-07T10:00:00.123456789+01:00") - 1796634000.123456789)
      < 1e-6);
  assert_true (sv_mgr_rfc3339_seconds ("0001-01-01T00:00:00Z") < 0);
  assert_true (sv_mgr_rfc3339_seconds ("yesterday") < 0);
  assert_true (sv_mgr_rfc3339_seconds ("2026-12-07T09:00:00") < 0);
  assert_true (sv_mgr_rfc3339_seconds (NULL) < 0);
}

static void
test_blockstats_disk (void **state)
{
  (void)state;
  struct
  {
    const char *json, *want;
  } cases[] = {
    { "{\"device\":\"drive0\",\"qdev\":\"/machine/peripheral/d0/virtio-backend\"}", "drive0" },
    { "{\"device\":\"\",\"qdev\":\"/machine/peripheral/disk1/virtio-backend\"}", "disk1" },
    { "{\"device\":\"\",\"qdev\":\"/machine/unattached/device[3]\"}",
      "/machine/unattached/device[3]" },
    { "{\"device\":\"\",\"node-name\":\"#block123\"}", "#block123" },
    { "{\"device\":\"\"}", NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      json_t *j = json_loads (cases[i].json, 0, NULL);
      char *got = sv_mgr_blockstats_disk (j);
      if (cases[i].want)
        assert_string_equal (got, cases[i].want);
      else
        assert_null (got);
      free (got);
      json_decref (j);
    }
}

/* The handler against no Docker at all: docker_up 0, no VM, and the
 * request counts keyed by the route table only. */
static void
test_handler_no_docker (void **state)
{
  (void)state;
  struct sv_mgr_settings s = { .docker_socket = (char *)"/nonexistent/docker.sock",
                               .state_dir = (char *)"/nonexistent",
                               .metrics_deadline_ms = 500 };
  struct sv_mgr_ctx *ctx = calloc (1, sizeof *ctx);
  sv_mgr_ctx_init (ctx, &s, "0123456789abcdef");
  const struct sv_mgr_route *vms
      = sv_mgr_route_find ("GET", "/api/vms", &(char *){ NULL }, &(bool){ 0 });
  assert_non_null (vms);
  sv_mgr_metrics_request ("GET", vms->pattern, 200);
  sv_mgr_metrics_request ("GET", vms->pattern, 200);
  /* A pattern not from the table (its own copy: a literal "/api/vms" may
     be merged with the table's by the linker), an odd method: no new names. */
  char odd[] = "/api/vms";
  sv_mgr_metrics_request ("BREW", odd, 404);
  sv_mgr_metrics_consoles (1);
  sv_mgr_metrics_event_clients (1);
  sv_mgr_metrics_event_clients (1);
  sv_mgr_metrics_event_clients (-1);
  struct sv_mgr_request req = { .method = "GET", .path = "/metrics" };
  struct sv_mgr_response resp = { 0 };
  sv_mgr_h_metrics (ctx, &req, &resp, NULL);
  assert_int_equal (resp.status, 200);
  assert_string_equal (resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
  assert_non_null (strstr (resp.body, "\nstartvm_manager_docker_up 0\n"));
  assert_non_null (strstr (
      resp.body,
      "\nstartvm_manager_http_requests_total{route=\"/api/vms\",method=\"GET\",code=\"200\"} 2\n"));
  assert_non_null (strstr (
      resp.body,
      "\nstartvm_manager_http_requests_total{route=\"none\",method=\"other\",code=\"404\"} 1\n"));
  assert_non_null (strstr (resp.body, "\nstartvm_manager_consoles 1\n"));
  assert_non_null (strstr (resp.body, "\nstartvm_manager_event_clients 1\n"));
  assert_non_null (strstr (resp.body, "# TYPE startvm_vm_cpu_seconds_total counter\n"));
  assert_null (strstr (resp.body, "startvm_vm_up{"));
  sv_mgr_resp_free (&resp);
  sv_mgr_ctx_free (ctx);
  free (ctx);
}

static void
test_auth (void **state)
{
  (void)state;
  struct sv_mgr_auth *a = calloc (1, sizeof *a);
  sv_mgr_auth_init (a, "the-admin-password");
  const char *tok = "metrics-token-0123";
  struct sv_mgr_authreq r = { .addr = "192.0.2.7", .authorization = "Bearer metrics-token-0123" };
  int retry = 0;
  sv_error_t msg = NULL;
  assert_int_equal (sv_mgr_metrics_auth (a, tok, &r, 100, &retry, &msg), 0);
  /* The password works on /metrics too; the token nowhere else. */
  r.authorization = "Bearer the-admin-password";
  assert_int_equal (sv_mgr_metrics_auth (a, tok, &r, 100, &retry, &msg), 0);
  r.authorization = "Bearer metrics-token-0123";
  assert_int_equal (sv_mgr_auth_check (a, &r, 100, &retry, &msg), 401);
  sv_error_release (&msg);
  /* Unset: the token is just a wrong password. */
  assert_int_equal (sv_mgr_metrics_auth (a, NULL, &r, 100, &retry, &msg), 401);
  sv_error_release (&msg);
  r.authorization = NULL;
  assert_int_equal (sv_mgr_metrics_auth (a, tok, &r, 100, &retry, &msg), 401);
  assert_string_equal (msg->msg, "authentication required");
  sv_error_release (&msg);
  /* Wrong tokens count as failed logins; once locked, the right token
   * is refused as well. */
  r.authorization = "Bearer metrics-token-0124";
  for (int i = 2; i < SV_MGR_LOCKOUT_FAILURES; i++)
    {
      assert_int_equal (sv_mgr_metrics_auth (a, tok, &r, 100, &retry, &msg), 401);
      sv_error_release (&msg);
    }
  r.authorization = "Bearer metrics-token-0123";
  assert_int_equal (sv_mgr_metrics_auth (a, tok, &r, 100, &retry, &msg), 429);
  assert_string_equal (msg->msg, "too many failed logins; try again in 60 s");
  sv_error_release (&msg);
  /* Another address is not locked; the window ends. */
  r.addr = "192.0.2.8";
  assert_int_equal (sv_mgr_metrics_auth (a, tok, &r, 100, &retry, &msg), 0);
  r.addr = "192.0.2.7";
  assert_int_equal (sv_mgr_metrics_auth (a, tok, &r, 100 + SV_MGR_LOCKOUT_WINDOW, &retry, &msg), 0);
  sv_mgr_auth_free (a);
  free (a);
}

/* MANAGER_METRICS_TOKEN and MANAGER_METRICS_DEADLINE_MS, with their
 * exact refusals. */
static void
test_settings (void **state)
{
  (void)state;
  struct sv_mgr_settings s;
  sv_error_t err = NULL;
  char *none[] = { NULL };
  assert_int_equal (sv_mgr_settings_load (none, &s, &err), 0);
  assert_null (s.metrics_token);
  assert_int_equal (s.metrics_deadline_ms, 2000);
  sv_mgr_settings_free (&s);
  /* Empty is unset, as for every setting. */
  char *empty[] = { "MANAGER_METRICS_TOKEN=", NULL };
  assert_int_equal (sv_mgr_settings_load (empty, &s, &err), 0);
  assert_null (s.metrics_token);
  sv_mgr_settings_free (&s);
  char *ok[] = { "MANAGER_METRICS_TOKEN=twelve-chars", "MANAGER_METRICS_DEADLINE_MS=150", NULL };
  assert_int_equal (sv_mgr_settings_load (ok, &s, &err), 0);
  assert_string_equal (s.metrics_token, "twelve-chars");
  assert_int_equal (s.metrics_deadline_ms, 150);
  sv_mgr_settings_free (&s);
  struct
  {
    const char *env, *msg;
  } bad[] = {
    { "MANAGER_METRICS_TOKEN=eleven-char",
      "MANAGER_METRICS_TOKEN is too short (11 characters): use at least 12" },
    { "MANAGER_METRICS_DEADLINE_MS=99",
      "MANAGER_METRICS_DEADLINE_MS: 99 is out of range (accepted: 100 to 60000)" },
    { "MANAGER_METRICS_DEADLINE_MS=60001",
      "MANAGER_METRICS_DEADLINE_MS: 60001 is out of range (accepted: 100 to 60000)" },
    { "MANAGER_METRICS_DEADLINE_MS=2s",
      "MANAGER_METRICS_DEADLINE_MS: '2s' is not an integer (accepted: 100 to 60000, e.g. 100)" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      char *env[] = { (char *)bad[i].env, NULL };
      assert_int_equal (sv_mgr_settings_load (env, &s, &err), -1);
      assert_string_equal (err->msg, bad[i].msg);
      sv_error_release (&err);
      sv_mgr_settings_free (&s);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_label_escaping),
    cmocka_unit_test (test_numbers),
    cmocka_unit_test (test_family),
    cmocka_unit_test (test_rfc3339),
    cmocka_unit_test (test_blockstats_disk),
    cmocka_unit_test (test_handler_no_docker),
    cmocka_unit_test (test_auth),
    cmocka_unit_test (test_settings),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
