/* apply_net's pure builders: net op -> libnl object, checked through the
 * libnl getters (what rtnl_*_add/change will put on the wire). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include "apply_net_internal.h"
#include "nl_cleanup.h"
#include "util.h"

static uint32_t
ip4 (struct nl_addr *a)
{
  assert_non_null (a);
  assert_int_equal (nl_addr_get_len (a), 4);
  uint32_t be;
  memcpy (&be, nl_addr_get_binary_addr (a), 4);
  return ntohl (be);
}

static void
test_link_changes (void **state)
{
  struct sv_net_op op = { .kind = SV_OP_LINK_SET_MAC,
                          .ifname = "eth0",
                          .mac = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 } };
  cleanup_rtnl_link struct rtnl_link *l = NULL;
  assert_int_equal (sv_apply_build_link_change (&op, 0, &l), 0);
  struct nl_addr *mac = rtnl_link_get_addr (l);
  assert_non_null (mac);
  assert_int_equal (nl_addr_get_len (mac), 6);
  assert_memory_equal (nl_addr_get_binary_addr (mac), op.mac, 6);
  assert_int_equal (rtnl_link_get_mtu (l), 0); /* nothing else changes */

  cleanup_rtnl_link struct rtnl_link *up = NULL;
  op.kind = SV_OP_LINK_UP;
  assert_int_equal (sv_apply_build_link_change (&op, 0, &up), 0);
  assert_true (rtnl_link_get_flags (up) & IFF_UP);
  assert_null (rtnl_link_get_addr (up));

  cleanup_rtnl_link struct rtnl_link *down = NULL;
  op.kind = SV_OP_LINK_DOWN;
  assert_int_equal (sv_apply_build_link_change (&op, 0, &down), 0);
  assert_false (rtnl_link_get_flags (down) & IFF_UP);

  cleanup_rtnl_link struct rtnl_link *mtu = NULL;
  op.kind = SV_OP_LINK_SET_MTU;
  op.mtu = 1400;
  assert_int_equal (sv_apply_build_link_change (&op, 0, &mtu), 0);
  assert_int_equal (rtnl_link_get_mtu (mtu), 1400);

  cleanup_rtnl_link struct rtnl_link *m = NULL;
  op.kind = SV_OP_SET_MASTER;
  assert_int_equal (sv_apply_build_link_change (&op, 7, &m), 0);
  assert_int_equal (rtnl_link_get_master (m), 7);

  struct rtnl_link *bad = NULL;
  op.kind = SV_OP_ADDR_ADD;
  assert_int_equal (sv_apply_build_link_change (&op, 0, &bad), -NLE_INVAL);
  assert_null (bad);
}

static void
test_bridge (void **state)
{
  struct sv_net_op op = { .kind = SV_OP_BRIDGE_ADD, .ifname = "br0", .mtu = 1400 };
  cleanup_rtnl_link struct rtnl_link *l = NULL;
  assert_int_equal (sv_apply_build_bridge (&op, &l), 0);
  assert_string_equal (rtnl_link_get_name (l), "br0");
  assert_string_equal (rtnl_link_get_type (l), "bridge");
  assert_int_equal (rtnl_link_get_mtu (l), 1400);
}

static void
test_addr_broadcast (void **state)
{
  static const struct
  {
    uint32_t addr;
    uint8_t prefix;
    uint32_t brd; /* 0 = none */
  } cases[] = {
    { SV_IP4 (172, 17, 255, 254), 16, SV_IP4 (172, 17, 255, 255) },
    { SV_IP4 (192, 168, 5, 1), 24, SV_IP4 (192, 168, 5, 255) },
    { SV_IP4 (10, 0, 0, 1), 1, SV_IP4 (127, 255, 255, 255) },
    { SV_IP4 (10, 0, 0, 1), 30, SV_IP4 (10, 0, 0, 3) },
    { SV_IP4 (10, 0, 0, 1), 31, 0 },
    { SV_IP4 (10, 0, 0, 1), 32, 0 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_rtnl_addr struct rtnl_addr *a = NULL;
      assert_int_equal (sv_apply_build_addr (5, cases[i].addr, cases[i].prefix, &a), 0);
      assert_int_equal (rtnl_addr_get_ifindex (a), 5);
      assert_int_equal (rtnl_addr_get_family (a), AF_INET);
      assert_int_equal (rtnl_addr_get_prefixlen (a), cases[i].prefix);
      assert_int_equal (rtnl_addr_get_scope (a), RT_SCOPE_UNIVERSE);
      assert_int_equal (ip4 (rtnl_addr_get_local (a)), cases[i].addr);
      if (cases[i].brd)
        assert_int_equal (ip4 (rtnl_addr_get_broadcast (a)), cases[i].brd);
      else
        assert_null (rtnl_addr_get_broadcast (a));
    }
}

static void
test_route_calico (void **state)
{
  /* Calico: 169.254.1.1 dev eth0 scope link; default via 169.254.1.1 */
  struct sv_route link = { .dst = SV_IP4 (169, 254, 1, 1),
                           .dst_len = 32,
                           .table = RT_TABLE_MAIN,
                           .scope = RT_SCOPE_LINK,
                           .protocol = RTPROT_BOOT };
  struct sv_route def = { .gateway = SV_IP4 (169, 254, 1, 1),
                          .onlink = true,
                          .metric = 100,
                          .table = RT_TABLE_MAIN,
                          .scope = RT_SCOPE_UNIVERSE,
                          .protocol = RTPROT_BOOT };
  cleanup_rtnl_route struct rtnl_route *r1 = NULL;
  assert_int_equal (sv_apply_build_route (3, &link, &r1), 0);
  assert_int_equal (ip4 (rtnl_route_get_dst (r1)), SV_IP4 (169, 254, 1, 1));
  assert_int_equal (nl_addr_get_prefixlen (rtnl_route_get_dst (r1)), 32);
  assert_int_equal (rtnl_route_get_scope (r1), RT_SCOPE_LINK);
  assert_int_equal (rtnl_route_get_nnexthops (r1), 1);
  struct rtnl_nexthop *nh = rtnl_route_nexthop_n (r1, 0);
  assert_int_equal (rtnl_route_nh_get_ifindex (nh), 3);
  assert_null (rtnl_route_nh_get_gateway (nh));

  cleanup_rtnl_route struct rtnl_route *r2 = NULL;
  assert_int_equal (sv_apply_build_route (3, &def, &r2), 0);
  assert_int_equal (nl_addr_get_prefixlen (rtnl_route_get_dst (r2)), 0);
  assert_int_equal (rtnl_route_get_priority (r2), 100);
  assert_int_equal (rtnl_route_get_table (r2), RT_TABLE_MAIN);
  assert_int_equal (rtnl_route_get_protocol (r2), RTPROT_BOOT);
  assert_int_equal (rtnl_route_get_type (r2), RTN_UNICAST);
  nh = rtnl_route_nexthop_n (r2, 0);
  assert_int_equal (ip4 (rtnl_route_nh_get_gateway (nh)), SV_IP4 (169, 254, 1, 1));
  assert_true (rtnl_route_nh_get_flags (nh) & RTNH_F_ONLINK);
}

static void
test_route_prefsrc (void **state)
{
  struct sv_route r = { .dst = SV_IP4 (10, 1, 0, 0),
                        .dst_len = 16,
                        .gateway = SV_IP4 (172, 17, 0, 1),
                        .prefsrc = SV_IP4 (172, 17, 0, 2),
                        .scope = RT_SCOPE_UNIVERSE,
                        .protocol = RTPROT_STATIC };
  cleanup_rtnl_route struct rtnl_route *o = NULL;
  assert_int_equal (sv_apply_build_route (2, &r, &o), 0);
  assert_int_equal (ip4 (rtnl_route_get_pref_src (o)), SV_IP4 (172, 17, 0, 2));
  assert_int_equal (rtnl_route_get_table (o), RT_TABLE_MAIN); /* 0 means main */
  assert_false (rtnl_route_nh_get_flags (rtnl_route_nexthop_n (o, 0)) & RTNH_F_ONLINK);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_link_changes),   cmocka_unit_test (test_bridge),
    cmocka_unit_test (test_addr_broadcast), cmocka_unit_test (test_route_calico),
    cmocka_unit_test (test_route_prefsrc),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
