/* handoff.c: the handoff facts kept in the bridge's alias, encoded and
 * decoded (pure functions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "handoff.h"
#include "test_plan_fixtures.h"

static void
test_encode_docker (void **state)
{
  struct sv_host h;
  fix_host_docker (&h, true);
  char alias[SV_HANDOFF_ALIAS_MAX];
  assert_int_equal (sv_handoff_alias_encode (&h.net.ifaces[0], alias), 0);
  assert_string_equal (alias,
                       "startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 gw=172.17.0.1");
  assert_true (sv_handoff_alias_is_ours (alias));
}

static void
test_round_trip (void **state)
{
  struct sv_host h;
  fix_host_calico (&h);
  struct sv_iface *e = &h.net.ifaces[0];
  fix_route (e, SV_IP4 (10, 0, 0, 0), 8, SV_IP4 (169, 254, 1, 1), true, RTSCOPE_UNIVERSE);
  char alias[SV_HANDOFF_ALIAS_MAX];
  assert_int_equal (sv_handoff_alias_encode (e, alias), 0);
  assert_string_equal (alias, "startvm1 eth0 9a:3c:51:0e:7b:21 10.244.1.17/32 mtu=1440 "
                              "gw=169.254.1.1 r=169.254.1.1/32 r=10.0.0.0/8,169.254.1.1");
  struct sv_iface d;
  sv_error_t err = NULL;
  assert_int_equal (sv_handoff_alias_decode (alias, &d, &err), 0);
  assert_null (err);
  assert_string_equal (d.name, "eth0");
  assert_memory_equal (d.mac, e->mac, 6);
  assert_int_equal (d.addr, e->addr);
  assert_int_equal (d.prefix, 32);
  assert_int_equal (d.mtu, 1440);
  assert_int_equal (d.gateway, SV_IP4 (169, 254, 1, 1));
  assert_false (d.resumed);
  /* /32: no connected route; the two extras in order, the default last. */
  assert_int_equal (d.n_routes, 3);
  assert_int_equal (d.routes[0].dst, SV_IP4 (169, 254, 1, 1));
  assert_int_equal (d.routes[0].dst_len, 32);
  assert_int_equal (d.routes[0].gateway, 0);
  assert_int_equal (d.routes[1].dst, SV_IP4 (10, 0, 0, 0));
  assert_int_equal (d.routes[1].gateway, SV_IP4 (169, 254, 1, 1));
  assert_int_equal (d.routes[2].dst_len, 0);
  assert_int_equal (d.routes[2].gateway, SV_IP4 (169, 254, 1, 1));
  /* Encoding the decoded facts gives the same alias. */
  char again[SV_HANDOFF_ALIAS_MAX];
  assert_int_equal (sv_handoff_alias_encode (&d, again), 0);
  assert_string_equal (again, alias);
}

static void
test_no_gateway_and_connected_route (void **state)
{
  struct sv_host h;
  fix_host_two (&h);
  char alias[SV_HANDOFF_ALIAS_MAX];
  assert_int_equal (sv_handoff_alias_encode (&h.net.ifaces[1], alias), 0);
  assert_string_equal (
      alias, "startvm1 eth1 02:42:0a:0a:00:07 10.10.0.7/24 mtu=1500 r=10.20.0.0/16,10.10.0.1");
  struct sv_iface d;
  sv_error_t err = NULL;
  assert_int_equal (sv_handoff_alias_decode (alias, &d, &err), 0);
  assert_int_equal (d.gateway, 0);
  assert_int_equal (d.n_routes, 2);
  assert_int_equal (d.routes[0].dst, SV_IP4 (10, 10, 0, 0));
  assert_int_equal (d.routes[0].dst_len, 24);
  assert_int_equal (d.routes[0].scope, RTSCOPE_LINK);
}

/* Routes past 255 bytes are left out, counted, and the alias stays whole. */
static void
test_too_many_routes (void **state)
{
  struct sv_host h;
  fix_host_docker (&h, true);
  struct sv_iface *e = &h.net.ifaces[0];
  while (e->n_routes < SV_MAX_ROUTES)
    fix_route (e, SV_IP4 (10, (uint8_t)e->n_routes, 0, 0), 16, SV_IP4 (172, 17, 255, 254), false,
               RTSCOPE_UNIVERSE);
  char alias[SV_HANDOFF_ALIAS_MAX];
  size_t dropped = sv_handoff_alias_encode (e, alias);
  assert_true (dropped > 0);
  assert_true (strlen (alias) < SV_HANDOFF_ALIAS_MAX);
  struct sv_iface d;
  sv_error_t err = NULL;
  assert_int_equal (sv_handoff_alias_decode (alias, &d, &err), 0);
  /* connected + default + the extras that fit */
  assert_int_equal (d.n_routes + dropped, SV_MAX_ROUTES);
}

static void
expect_bad (const char *alias, const char *why)
{
  struct sv_iface d;
  sv_error_t err = NULL;
  assert_true (sv_handoff_alias_decode (alias, &d, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->exit_class, SV_EXIT_ENV);
  if (strstr (err->msg, why) == NULL)
    fail_msg ("'%s': '%s' lacks '%s'", alias, err->msg, why);
  assert_null (strchr (err->msg, '\n'));
  assert_int_equal (d.addr, 0);
  sv_error_release (&err);
}

static void
test_decode_errors (void **state)
{
  expect_bad ("startvm2 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500", "another startvm version");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16", "too few fields");
  expect_bad ("startvm1 eth0 02:42:ac:11:00 172.17.0.2/16 mtu=1500", "bad MAC");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/33 mtu=1500", "bad address");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2 mtu=1500", "bad address");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 0.0.0.0/8 mtu=1500", "bad address");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=x", "bad mtu");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 gw=1.2.3", "bad gateway");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 r=10.0.0.0/0", "bad route");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 r=10.0.0.0/8,x", "bad route");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 x=1", "unknown field");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 r=10.0.0.0/8 gw=1.2.3.4",
              "unknown field");
  expect_bad ("startvm1 a/b 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500", "interface name");
  expect_bad ("startvm1 averyveryverylongname 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500",
              "interface name");
  expect_bad ("startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500\nstartvm: injected",
              "bad mtu");
  char big[400];
  memset (big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memcpy (big, "startvm1 ", 9);
  expect_bad (big, "too long");
}

static void
test_is_ours (void **state)
{
  assert_true (sv_handoff_alias_is_ours ("startvm1 eth0"));
  assert_true (sv_handoff_alias_is_ours ("startvm9"));
  assert_false (sv_handoff_alias_is_ours ("startvm"));
  assert_false (sv_handoff_alias_is_ours ("startvmx"));
  assert_false (sv_handoff_alias_is_ours ("my bridge"));
  assert_false (sv_handoff_alias_is_ours (""));
  assert_false (sv_handoff_alias_is_ours (NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_encode_docker),
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_no_gateway_and_connected_route),
    cmocka_unit_test (test_too_many_routes),
    cmocka_unit_test (test_decode_errors),
    cmocka_unit_test (test_is_ours),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
