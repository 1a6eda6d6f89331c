/* IPv6 hosts for the plan tests and golden files, on top of
 * test_plan_fixtures.h. */
#ifndef SV_TEST_PLAN6_FIXTURES_H
#define SV_TEST_PLAN6_FIXTURES_H

#include <arpa/inet.h>

#include "test_plan_fixtures.h"

static inline void
fix_ip6 (uint8_t out[16], const char *s)
{
  if (inet_pton (AF_INET6, s, out) != 1)
    abort ();
}

static inline void
fix_route6 (struct sv_iface *ifc, const char *dst, uint8_t len, const char *gw, uint32_t metric)
{
  struct sv_route6 *r = &ifc->routes6[ifc->n_routes6++];
  memset (r, 0, sizeof *r);
  fix_ip6 (r->dst, dst);
  r->dst_len = len;
  fix_ip6 (r->gateway, gw ? gw : "::");
  r->metric = metric;
  r->protocol = gw ? 3 : 2; /* boot (ip route add), kernel */
}

/* A global address with its prefix route and, when gw, a default route. */
static inline void
fix_addr6 (struct sv_iface *ifc, const char *addr, uint8_t prefix, const char *net, const char *gw)
{
  ifc->has_addr6 = true;
  fix_ip6 (ifc->addr6, addr);
  ifc->prefix6 = prefix;
  fix_route6 (ifc, net, prefix, NULL, 256);
  if (gw)
    {
      ifc->has_gateway6 = true;
      fix_ip6 (ifc->gateway6, gw);
      fix_route6 (ifc, "::", 0, gw, 1024);
    }
}

/* Docker's default bridge with --ipv6 on a ULA /64 (gateway ::1), an
 * IPv6 nameserver next to the IPv4 one, and ::1 (not offered). */
static inline void
fix_host_dual (struct sv_host *h, bool kvm)
{
  fix_host_docker (h, kvm);
  fix_addr6 (&h->net.ifaces[0], "fd00:30::2", 64, "fd00:30::", "fd00:30::1");
  h->net.n_dns6 = 2;
  fix_ip6 (h->net.dns6[0], "fd00:30::53");
  fix_ip6 (h->net.dns6[1], "::1");
  h->net.n_search = 1;
  snprintf (h->net.search[0], 256, "corp.example");
}

/* An IPv6-only pod: no IPv4 address, a link-local gateway (as CNIs give
 * it), MTU 1400. */
static inline void
fix_host_v6only (struct sv_host *h)
{
  fix_host_base (h, true);
  struct sv_iface *e = &h->net.ifaces[h->net.n_ifaces++];
  memset (e, 0, sizeof *e);
  snprintf (e->name, sizeof e->name, "eth0");
  e->ifindex = 2;
  e->mtu = 1400;
  fix_mac (e->mac, 0x02, 0x42, 0xac, 0x14, 0x00, 0x05);
  fix_addr6 (e, "fd00:40::5", 64, "fd00:40::", "fe80::1");
  fix_route6 (e, "fd00:99::", 48, "fd00:40::fe", 1024);
  h->net.n_dns6 = 1;
  fix_ip6 (h->net.dns6[0], "fd00:40::53");
  h->net.n_search = 2;
  snprintf (h->net.search[0], 256, "svc.cluster.local");
  snprintf (h->net.search[1], 256, "cluster.local");
  snprintf (h->net.hostname, sizeof h->net.hostname, "v6pod");
}

/* Two interfaces of different families: eth0 IPv4 with the default
 * route, eth1 IPv6 only, without a gateway. */
static inline void
fix_host_mixed (struct sv_host *h)
{
  fix_host_base (h, true);
  struct sv_iface *e0
      = fix_iface (h, "eth0", SV_IP4 (172, 18, 0, 5), 16, SV_IP4 (172, 18, 0, 1), 1500);
  fix_mac (e0->mac, 0x02, 0x42, 0xac, 0x12, 0x00, 0x05);
  fix_route (e0, 0, 0, SV_IP4 (172, 18, 0, 1), false, RTSCOPE_UNIVERSE);
  struct sv_iface *e1 = &h->net.ifaces[h->net.n_ifaces++];
  memset (e1, 0, sizeof *e1);
  snprintf (e1->name, sizeof e1->name, "eth1");
  e1->ifindex = 3;
  e1->mtu = 1500;
  fix_mac (e1->mac, 0x02, 0x42, 0x0a, 0x32, 0x00, 0x07);
  fix_addr6 (e1, "fd00:50::7", 64, "fd00:50::", NULL);
  h->net.n_dns = 1;
  h->net.dns[0] = SV_IP4 (172, 18, 0, 1);
  snprintf (h->net.hostname, sizeof h->net.hostname, "mixed");
}

#endif
