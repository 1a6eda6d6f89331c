/* plan_net6: see plan_net6.h.  Every IPv6 string in dnsmasq.conf is
 * formatted by inet_ntop from 16 bytes: nothing observed can add a line
 * or a field. */
#include "plan_net6.h"

#include <stdio.h>
#include <string.h>

#include "handoff.h"
#include "ip6.h"
#include "plan_internal.h"

#define DEFAULT_MTU 1500
/* dnsmasq's RA interval (seconds between unsolicited RAs) and the router
 * lifetime they give the VM's default route. */
#define RA_INTERVAL 60
#define RA_ROUTER_LIFETIME 1800

static bool
get_bit (const uint8_t *a, unsigned k)
{
  return (a[k / 8] >> (7 - k % 8)) & 1;
}

static void
set_bit (uint8_t *a, unsigned k, bool v)
{
  uint8_t m = (uint8_t)(0x80u >> (k % 8));
  a[k / 8] = v ? (uint8_t)(a[k / 8] | m) : (uint8_t)(a[k / 8] & ~m);
}

bool
sv_plan_bridge_addr6 (const uint8_t vm[16], uint8_t prefix, const uint8_t gateway[16],
                      const uint8_t port_mac[6], uint8_t out[16], uint8_t *bridge_prefix)
{
  if (prefix < 1 || prefix > 126)
    return false;
  /* Modified EUI-64 (RFC 4291 appendix A): the universal/local bit
   * inverted, ff:fe in the middle. */
  uint8_t id[8] = { (uint8_t)(port_mac[0] ^ 0x02),
                    port_mac[1],
                    port_mac[2],
                    0xff,
                    0xfe,
                    port_mac[3],
                    port_mac[4],
                    port_mac[5] };
  unsigned p = prefix < 64 ? 64 : prefix;
  memcpy (out, vm, 16);
  for (unsigned k = p; k < 128; k++)
    set_bit (out, k, get_bit (id, k - 64));
  /* Only three addresses are forbidden, so one of the first four
   * variations of the last bits is always free. */
  for (unsigned v = 0; v < 4; v++)
    {
      uint8_t c[16];
      memcpy (c, out, 16);
      c[15] ^= (uint8_t)v;
      uint8_t host[16];
      memcpy (host, c, 16);
      for (unsigned k = 0; k < prefix; k++)
        set_bit (host, k, false);
      bool anycast = sv_ip6_is_zero (host);
      if (memcmp (c, vm, 16) != 0 && (gateway == NULL || memcmp (c, gateway, 16) != 0) && !anycast)
        {
          memcpy (out, c, 16);
          break;
        }
    }
  *bridge_prefix = prefix;
  return true;
}

bool
sv_plan6_served (const struct sv_iface *ifc, bool dhcp)
{
  return dhcp && ifc->has_addr6 && ifc->prefix6 >= 1 && ifc->prefix6 <= 126;
}

static struct sv_net_op *
new_op (struct sv_plan *p, enum sv_net_op_kind kind, const char *ifname, size_t index)
{
  struct sv_net_op *op = &p->net_ops[p->n_net_ops++];
  memset (op, 0, sizeof *op);
  op->kind = kind;
  op->index = (int)index;
  snprintf (op->ifname, sizeof op->ifname, "%s", ifname);
  return op;
}

void
sv_plan6_port_ops (struct sv_plan *out, const struct sv_iface *ifc, size_t i, bool dhcp,
                   bool remove)
{
  if (!ifc->has_addr6)
    return;
  /* Before the NIC joins the bridge: from then on dnsmasq's multicast RAs
   * would flood out of it, and other containers on the network that
   * accept RAs would take this namespace as their router. */
  if (sv_plan6_served (ifc, dhcp))
    new_op (out, SV_OP_RA_FILTER, ifc->name, i);
  if (!remove)
    return;
  /* Newest first, as the kernel lists them: the undo adds them back in
   * the reverse order, so `ip addr` reads the same afterwards.  The
   * others go too (the link going down would drop them unrecorded). */
  struct sv_net_op *op;
  for (unsigned k = 0; k < ifc->n_other_addr6 && k < SV_MAX_OTHER_ADDR6; k++)
    {
      op = new_op (out, SV_OP_ADDR6_DEL, ifc->name, i);
      memcpy (op->addr6, ifc->other_addr6[k], 16);
      op->prefix = ifc->other_prefix6[k];
    }
  op = new_op (out, SV_OP_ADDR6_DEL, ifc->name, i);
  memcpy (op->addr6, ifc->addr6, 16);
  op->prefix = ifc->prefix6;
}

/* The route the kernel adds itself for the bridge's address. */
static bool
is_prefix_route (const struct sv_route6 *r, const struct sv_iface *ifc)
{
  return sv_ip6_is_zero (r->gateway) && r->dst_len == ifc->prefix6
         && sv_ip6_same_net (r->dst, ifc->addr6, ifc->prefix6);
}

void
sv_plan6_bridge_ops (struct sv_plan *out, const struct sv_iface *ifc, const char *br, size_t i,
                     bool dhcp, bool *forwarding)
{
  if (!sv_plan6_served (ifc, dhcp))
    return;
  /* Without an IPv6 route beyond the link the VM needs no router. */
  bool routes = ifc->has_gateway6;
  size_t n = ifc->n_routes6 < SV_MAX_ROUTES ? ifc->n_routes6 : SV_MAX_ROUTES;
  for (size_t r = 0; r < n; r++)
    routes = routes || !is_prefix_route (&ifc->routes6[r], ifc);
  if (routes && !*forwarding)
    {
      /* The VM's default route points at the bridge (the RA's sender):
       * this namespace passes the VM's packets on to the container's
       * gateway, and dnsmasq only advertises a default route when the
       * namespace forwards. */
      new_op (out, SV_OP_FORWARD6, "all", i);
      *forwarding = true;
    }
  struct sv_net_op *op = new_op (out, SV_OP_ADDR6_ADD, br, i);
  uint8_t port_mac[6];
  sv_handoff_derive_mac (ifc->mac, port_mac);
  sv_plan_bridge_addr6 (ifc->addr6, ifc->prefix6, ifc->has_gateway6 ? ifc->gateway6 : NULL,
                        port_mac, op->addr6, &op->prefix);
  for (size_t r = 0; r < n; r++)
    {
      if (is_prefix_route (&ifc->routes6[r], ifc))
        continue;
      op = new_op (out, SV_OP_ROUTE6_ADD, br, i);
      op->route6 = ifc->routes6[r];
    }
}

static size_t
range_prefix (const struct sv_iface *ifc)
{
  /* dnsmasq takes DHCPv6 ranges of /64 or longer only. */
  return ifc->prefix6 < 64 ? 64 : ifc->prefix6;
}

void
sv_plan6_dnsmasq (const struct sv_host *host, size_t i, const char *br, struct sv_plan *p,
                  struct sv_buf *c)
{
  const struct sv_net_state *net = &host->net;
  const struct sv_iface *ifc = &net->ifaces[i];
  char a[SV_IP6_STRLEN];
  if (ifc->n_other_addr6)
    sv_plan_add_warning (p,
                         "%s has %u more global IPv6 address(es) besides %s: only that one is "
                         "handed to the VM",
                         ifc->name, ifc->n_other_addr6, sv_ip6_format (ifc->addr6, a));
  if (!sv_plan6_served (ifc, true))
    {
      sv_plan_add_warning (p,
                           "%s: IPv6 address %s/%u leaves no room for a DHCPv6 server address: "
                           "the VM is not offered it",
                           ifc->name, sv_ip6_format (ifc->addr6, a), ifc->prefix6);
      return;
    }
  sv_buf_addf (c, "# %s -> %s: the VM gets %s/%u by DHCPv6; RAs: prefix on-link, no SLAAC\n",
               ifc->name, br, sv_ip6_format (ifc->addr6, a), ifc->prefix6);
  sv_buf_addf (c, "dhcp-range=%s,static,%zu,infinite\n", a, range_prefix (ifc));
  /* The router lifetime is the VM's default route: none when the
   * container had no IPv6 default route (nor forwarding, see
   * sv_plan6_bridge_ops). */
  sv_buf_addf (c, "ra-param=%s,mtu:%u,%u,%u\n", br, ifc->mtu ? ifc->mtu : DEFAULT_MTU, RA_INTERVAL,
               ifc->has_gateway6 ? RA_ROUTER_LIFETIME : 0);
  if (i != 0)
    return;
  /* Tagged with the interface name (a tag dnsmasq sets itself): RAs
   * match options by it, so the RA carries them as RDNSS and DNSSL too. */
  struct sv_buf dns = { 0 };
  for (size_t d = 0; d < net->n_dns6 && d < SV_MAX_DNS; d++)
    {
      if (sv_ip6_is_loopback (net->dns6[d]) || sv_ip6_is_link_local (net->dns6[d]))
        {
          sv_plan_add_warning (p,
                               "nameserver %s is the container's own or link-local: the VM "
                               "cannot reach it, so it is not offered",
                               sv_ip6_format (net->dns6[d], a));
          continue;
        }
      sv_buf_addf (&dns, ",[%s]", sv_ip6_format (net->dns6[d], a));
    }
  if (dns.len > 0)
    sv_buf_addf (c, "dhcp-option=tag:%s,option6:dns-server%s\n", br, dns.data);
  sv_buf_free (&dns);
}
