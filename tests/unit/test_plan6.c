/* The IPv6 half of the plan and its pure helpers: the bridge's IPv6
 * address over every prefix length, the steps and dnsmasq lines for
 * dual-stack, IPv6-only, mixed and NO_DHCP containers, resolv.conf's
 * split by family, and the nftables batch of the RA filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_net6.h"
#include "handoff.h"
#include "ip6.h"
#include "plan.h"
#include "resolv.h"
#include "test_plan6_fixtures.h"
#include "test_plan_fixtures.h"

static struct sv_plan
build_ok (const struct sv_vm_config *cfg, const struct sv_host *host)
{
  struct sv_plan p;
  sv_error_t err = NULL;
  if (sv_plan_build (cfg, host, NULL, &p, &err) < 0)
    fail_msg ("sv_plan_build: %s", err ? err->msg : "?");
  return p;
}

static char *
steps (const struct sv_plan *p)
{
  struct sv_buf b = { 0 };
  for (size_t i = 0; i < p->n_net_ops; i++)
    {
      sv_net_op_format (&p->net_ops[i], &b);
      sv_buf_add (&b, "\n");
    }
  return sv_buf_steal (&b);
}

static size_t
count_kind (const struct sv_plan *p, enum sv_net_op_kind k)
{
  size_t n = 0;
  for (size_t i = 0; i < p->n_net_ops; i++)
    n += p->net_ops[i].kind == k;
  return n;
}

static ssize_t
index_of (const struct sv_plan *p, enum sv_net_op_kind k, const char *ifname)
{
  for (size_t i = 0; i < p->n_net_ops; i++)
    if (p->net_ops[i].kind == k && strcmp (p->net_ops[i].ifname, ifname) == 0)
      return (ssize_t)i;
  return -1;
}

static bool
has_line (const char *text, const char *line)
{
  size_t n = strlen (line);
  for (const char *p = text; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    if (strncmp (p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
      return true;
  return false;
}

/* ---- the bridge's address ---- */

static void
test_bridge_addr6_every_prefix (void **state)
{
  uint8_t vm[16], gw[16], mac[6] = { 0x02, 0xdf, 0xc6, 0x3e, 0xe1, 0x5a };
  fix_ip6 (vm, "fd00:30:1:2:3:4:5:6");
  fix_ip6 (gw, "fd00:30:1:2::1");
  for (unsigned p = 1; p <= 128; p++)
    {
      uint8_t out[16], bp = 0;
      bool ok = sv_plan_bridge_addr6 (vm, (uint8_t)p, gw, mac, out, &bp);
      if (p > 126)
        {
          assert_false (ok);
          continue;
        }
      assert_true (ok);
      assert_int_equal (bp, p);
      /* In the VM's /64 (DHCPv6 ranges are /64 or longer), in its own
       * prefix, never the VM, the gateway or the subnet-router anycast. */
      assert_true (sv_ip6_same_net (out, vm, p < 64 ? 64 : p));
      assert_memory_not_equal (out, vm, 16);
      assert_memory_not_equal (out, gw, 16);
      uint8_t net[16];
      memcpy (net, vm, 16);
      sv_ip6_mask (net, p);
      assert_memory_not_equal (out, net, 16);
    }
}

static void
test_bridge_addr6_eui64 (void **state)
{
  uint8_t vm[16], out[16], bp, mac[6] = { 0x02, 0xdf, 0xc6, 0x3e, 0xe1, 0x5a };
  fix_ip6 (vm, "fd00:30::2");
  assert_true (sv_plan_bridge_addr6 (vm, 64, NULL, mac, out, &bp));
  char s[SV_IP6_STRLEN];
  /* The universal/local bit of 02: inverted, ff:fe in the middle. */
  assert_string_equal (sv_ip6_format (out, s), "fd00:30::df:c6ff:fe3e:e15a");
  /* Two containers (two derived MACs) never share one. */
  uint8_t mac2[6] = { 0x02, 0xdf, 0xc6, 0x3e, 0xe1, 0x5b }, out2[16];
  assert_true (sv_plan_bridge_addr6 (vm, 64, NULL, mac2, out2, &bp));
  assert_memory_not_equal (out, out2, 16);
}

static void
test_bridge_addr6_avoids_vm (void **state)
{
  /* A /120 whose host bits from the identifier hit the VM's address. */
  uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x05 }, vm[16], out[16], bp;
  fix_ip6 (vm, "fd00:30::ff:fe00:5");
  assert_true (sv_plan_bridge_addr6 (vm, 120, NULL, mac, out, &bp));
  assert_memory_not_equal (out, vm, 16);
  assert_true (sv_ip6_same_net (out, vm, 120));
}

/* ---- steps ---- */

static void
test_dual_stack_steps (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_dual (&host, true);
  struct sv_plan p = build_ok (&cfg, &host);
  char *s = steps (&p);
  /* The filter before the NIC joins the bridge, the address removed
   * before the link goes down (which would drop it unrecorded). */
  ssize_t filt = index_of (&p, SV_OP_RA_FILTER, "eth0");
  ssize_t del6 = index_of (&p, SV_OP_ADDR6_DEL, "eth0");
  ssize_t down = index_of (&p, SV_OP_LINK_DOWN, "eth0");
  ssize_t master = index_of (&p, SV_OP_SET_MASTER, "eth0");
  assert_true (filt >= 0 && del6 > filt && down > del6 && master > down);
  assert_true (has_line (s, "addr del fd00:30::2/64 dev eth0"));
  assert_true (has_line (s, "sysctl net.ipv6.conf.all.forwarding=1"));
  assert_true (has_line (s, "addr add fd00:30::df:c6ff:fe3e:e15a/64 dev br0 nodad"));
  assert_true (has_line (s, "route add default via fd00:30::1 dev br0 metric 1024"));
  /* The prefix route comes with the bridge address. */
  assert_int_equal (count_kind (&p, SV_OP_ROUTE6_ADD), 1);
  assert_int_equal (count_kind (&p, SV_OP_FORWARD6), 1);
  /* The IPv4 steps are all still there. */
  assert_true (has_line (s, "addr del 172.17.0.2/16 dev eth0"));
  const char *c = p.dnsmasq_conf;
  assert_true (has_line (c, "enable-ra"));
  assert_true (has_line (c, "dhcp-range=fd00:30::2,static,64,infinite"));
  assert_true (has_line (c, "ra-param=br0,mtu:1500,60,1800"));
  assert_true (has_line (c, "dhcp-option=tag:br0,option6:dns-server,[fd00:30::53]"));
  assert_true (has_line (c, "dhcp-option=tag:br0,option6:domain-search,corp.example"));
  assert_true (has_line (c, "dhcp-host=02:42:ac:11:00:02,set:vm0,172.17.0.2,[fd00:30::2],"
                            "4f1a2b3c4d5e,infinite"));
  /* IPv6 servers never in the IPv4 option (dnsmasq refuses the file). */
  assert_true (has_line (c, "dhcp-option=tag:vm0,6,8.8.8.8"));
  free (s);
  sv_plan_free (&p);
}

static void
test_ipv6_only_steps (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_v6only (&host);
  struct sv_plan p = build_ok (&cfg, &host);
  /* No IPv4 step, no IPv4 DHCP line; the alias says "-" for IPv4. */
  assert_int_equal (count_kind (&p, SV_OP_ADDR_DEL), 0);
  assert_int_equal (count_kind (&p, SV_OP_ADDR_ADD), 0);
  assert_string_equal (p.net_ops[0].alias,
                       "startvm1 eth0 02:42:ac:14:00:05 - mtu=1400 a6=fd00:40::5/64 gw6=fe80::1");
  assert_null (strstr (p.dnsmasq_conf, "dhcp-range=set:br0"));
  assert_null (strstr (p.dnsmasq_conf, "dhcp-option=tag:vm0"));
  assert_true (has_line (p.dnsmasq_conf, "dhcp-host=02:42:ac:14:00:05,set:vm0,[fd00:40::5],v6pod,"
                                         "infinite"));
  assert_true (has_line (p.dnsmasq_conf, "ra-param=br0,mtu:1400,60,1800"));
  assert_true (has_line (p.dnsmasq_conf, "dhcp-option=tag:br0,option6:domain-search,"
                                         "svc.cluster.local,cluster.local"));
  /* The link-local gateway and the extra route, through the bridge. */
  char *s = steps (&p);
  assert_true (has_line (s, "route add default via fe80::1 dev br0 metric 1024"));
  assert_true (has_line (s, "route add fd00:99::/48 via fd00:40::fe dev br0 metric 1024"));
  free (s);
  sv_plan_free (&p);
}

static void
test_mixed_and_no_dhcp (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_mixed (&host);
  struct sv_plan p = build_ok (&cfg, &host);
  /* eth1 has no route beyond its link: no forwarding, no default route. */
  assert_int_equal (count_kind (&p, SV_OP_FORWARD6), 0);
  assert_int_equal (count_kind (&p, SV_OP_ROUTE6_ADD), 0);
  assert_true (has_line (p.dnsmasq_conf, "ra-param=br1,mtu:1500,60,0"));
  assert_true (index_of (&p, SV_OP_RA_FILTER, "eth1") >= 0);
  assert_true (index_of (&p, SV_OP_RA_FILTER, "eth0") < 0);
  sv_plan_free (&p);

  /* NO_DHCP: the address leaves the container, nothing else IPv6. */
  cfg.network.dhcp = false;
  fix_host_dual (&host, true);
  p = build_ok (&cfg, &host);
  assert_int_equal (count_kind (&p, SV_OP_ADDR6_DEL), 1);
  assert_int_equal (count_kind (&p, SV_OP_RA_FILTER) + count_kind (&p, SV_OP_FORWARD6)
                        + count_kind (&p, SV_OP_ADDR6_ADD) + count_kind (&p, SV_OP_ROUTE6_ADD),
                    0);
  assert_null (p.dnsmasq_conf);
  sv_plan_free (&p);
}

static void
test_ipv4_only_unchanged (void **state)
{
  /* No global IPv6 address (link-local only): not one IPv6 step or line. */
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_docker (&host, true);
  struct sv_plan p = build_ok (&cfg, &host);
  for (size_t i = 0; i < p.n_net_ops; i++)
    assert_true (p.net_ops[i].kind < SV_OP_RA_FILTER);
  assert_null (strstr (p.dnsmasq_conf, "enable-ra"));
  assert_null (strstr (p.dnsmasq_conf, "option6"));
  sv_plan_free (&p);
}

static void
test_prefix128_not_offered (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_dual (&host, true);
  host.net.ifaces[0].prefix6 = 128;
  struct sv_plan p = build_ok (&cfg, &host);
  assert_int_equal (count_kind (&p, SV_OP_ADDR6_DEL), 1);
  assert_int_equal (count_kind (&p, SV_OP_RA_FILTER), 0);
  assert_null (strstr (p.dnsmasq_conf, "[fd00:30::2]"));
  bool warned = false;
  for (size_t i = 0; i < p.n_warnings; i++)
    warned = warned || strstr (p.warnings[i], "no room for a DHCPv6 server") != NULL;
  assert_true (warned);
  sv_plan_free (&p);
}

/* ---- the bridge alias (resume after a restart) ---- */

static void
test_alias_roundtrip6 (void **state)
{
  struct sv_host h;
  char alias[SV_HANDOFF_ALIAS_MAX];
  sv_error_t err = NULL;
  struct sv_iface d;
  char s[SV_IP6_STRLEN];

  fix_host_dual (&h, true);
  assert_int_equal (sv_handoff_alias_encode (&h.net.ifaces[0], alias), 0);
  assert_string_equal (alias, "startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 "
                              "gw=172.17.0.1 a6=fd00:30::2/64 gw6=fd00:30::1");
  assert_int_equal (sv_handoff_alias_decode (alias, &d, &err), 0);
  assert_int_equal (d.addr, SV_IP4 (172, 17, 0, 2));
  assert_true (d.has_addr6 && d.has_gateway6);
  assert_int_equal (d.prefix6, 64);
  assert_string_equal (sv_ip6_format (d.addr6, s), "fd00:30::2");
  assert_string_equal (sv_ip6_format (d.gateway6, s), "fd00:30::1");
  /* The prefix route and the default, as observe would have them. */
  assert_int_equal (d.n_routes6, 2);
  assert_int_equal (d.routes6[0].dst_len, 64);
  assert_int_equal (d.routes6[1].dst_len, 0);
  /* Encoding the decoded facts gives the same alias (a second restart). */
  char again[SV_HANDOFF_ALIAS_MAX];
  sv_handoff_alias_encode (&d, again);
  assert_string_equal (again, alias);

  fix_host_v6only (&h);
  assert_int_equal (sv_handoff_alias_encode (&h.net.ifaces[0], alias), 0);
  assert_int_equal (sv_handoff_alias_decode (alias, &d, &err), 0);
  assert_int_equal (d.addr, 0);
  assert_int_equal (d.n_routes, 0);
  assert_string_equal (sv_ip6_format (d.gateway6, s), "fe80::1");

  /* Strict: no address at all, a bad one, a gateway without an address. */
  const char *bad[] = {
    "startvm1 eth0 02:42:ac:11:00:02 - mtu=1500",
    "startvm1 eth0 02:42:ac:11:00:02 - mtu=1500 a6=fd00::2",
    "startvm1 eth0 02:42:ac:11:00:02 - mtu=1500 a6=fd00::2/129",
    "startvm1 eth0 02:42:ac:11:00:02 - mtu=1500 a6=fe80::1%eth0/64",
    "startvm1 eth0 02:42:ac:11:00:02 - mtu=1500 gw6=fd00::1 a6=fd00::2/64",
    "startvm1 eth0 02:42:ac:11:00:02 - mtu=1500 gw=10.0.0.1 a6=fd00::2/64",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      err = NULL;
      assert_true (sv_handoff_alias_decode (bad[i], &d, &err) < 0);
      assert_non_null (strstr (err->msg, "from an earlier startvm"));
      sv_error_release (&err);
    }
}

/* ---- resolv.conf ---- */

static void
test_resolv_split (void **state)
{
  struct sv_net_state n;
  memset (&n, 0, sizeof n);
  sv_resolv_parse ("nameserver 10.0.0.1\nnameserver fd00::53\nnameserver fe80::1%eth0\n"
                   "nameserver fd00::53\nnameserver ::1\n",
                   &n);
  assert_int_equal (n.n_dns, 1);
  assert_int_equal (n.n_dns6, 2); /* the scoped one dropped, the repeat once */
  char s[SV_IP6_STRLEN];
  assert_string_equal (sv_ip6_format (n.dns6[0], s), "fd00::53");
  assert_string_equal (sv_ip6_format (n.dns6[1], s), "::1");
}

/* ---- the nftables batch ---- */

static void
test_nft_batch (void **state)
{
  uint8_t buf[4096];
  uint32_t seq = 1;
  size_t n = sv_nft_build_ra_filter ("eth0", SV_NFT_REPLACE, buf, sizeof buf, &seq);
  assert_true (n > 0);
  uint16_t want[] = { NFNL_MSG_BATCH_BEGIN,
                      (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
                      (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE,
                      (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
                      (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN,
                      (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
                      (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
                      NFNL_MSG_BATCH_END };
  size_t k = 0;
  int len = (int)n;
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK (h, len); h = NLMSG_NEXT (h, len))
    {
      assert_true (k < sizeof want / sizeof want[0]);
      assert_int_equal (h->nlmsg_type, want[k]);
      assert_int_equal (h->nlmsg_seq, 1 + k);
      k++;
    }
  assert_int_equal (len, 0);
  assert_int_equal (k, sizeof want / sizeof want[0]);
  assert_int_equal (seq, 8);
  /* The table name and the port are in it. */
  assert_non_null (memmem (buf, n, "startvm_eth0", 13));
  /* A fresh table: no deletion in the batch (its RCU wait would stall
   * the socket's close); the deletion alone; a buffer too small is
   * refused, not overrun. */
  seq = 1;
  n = sv_nft_build_ra_filter ("eth0", SV_NFT_CREATE, buf, sizeof buf, &seq);
  assert_int_equal (seq, 6);
  len = (int)n;
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK (h, len); h = NLMSG_NEXT (h, len))
    assert_int_not_equal (h->nlmsg_type, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE);
  seq = 1;
  assert_true (sv_nft_build_ra_filter ("eth0", SV_NFT_DELETE, buf, sizeof buf, &seq) > 0);
  assert_int_equal (seq, 4);
  seq = 1;
  assert_int_equal (sv_nft_build_ra_filter ("eth0", SV_NFT_REPLACE, buf, 100, &seq), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bridge_addr6_every_prefix),
    cmocka_unit_test (test_bridge_addr6_eui64),
    cmocka_unit_test (test_bridge_addr6_avoids_vm),
    cmocka_unit_test (test_dual_stack_steps),
    cmocka_unit_test (test_ipv6_only_steps),
    cmocka_unit_test (test_mixed_and_no_dhcp),
    cmocka_unit_test (test_ipv4_only_unchanged),
    cmocka_unit_test (test_prefix128_not_offered),
    cmocka_unit_test (test_alias_roundtrip6),
    cmocka_unit_test (test_resolv_split),
    cmocka_unit_test (test_nft_batch),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
