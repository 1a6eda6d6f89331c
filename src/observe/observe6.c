/* observe6: see observe6.h.  Read-only. */
#include "observe6.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "ip6.h"

static bool
ip6_of (struct nl_addr *a, uint8_t out[16])
{
  if (a == NULL || nl_addr_get_family (a) != AF_INET6 || nl_addr_get_len (a) != 16)
    return false;
  memcpy (out, nl_addr_get_binary_addr (a), 16);
  return true;
}

void
sv_observe_prefer_addr6 (struct sv_iface *ifc)
{
  if (!ifc->has_addr6 || !ifc->has_gateway6 || sv_ip6_is_link_local (ifc->gateway6)
      || sv_ip6_same_net (ifc->addr6, ifc->gateway6, ifc->prefix6))
    return;
  for (unsigned k = 0; k < ifc->n_other_addr6 && k < SV_MAX_OTHER_ADDR6; k++)
    if (sv_ip6_same_net (ifc->other_addr6[k], ifc->gateway6, ifc->other_prefix6[k]))
      {
        uint8_t a[16], p = ifc->prefix6;
        memcpy (a, ifc->addr6, 16);
        memcpy (ifc->addr6, ifc->other_addr6[k], 16);
        ifc->prefix6 = ifc->other_prefix6[k];
        memcpy (ifc->other_addr6[k], a, 16);
        ifc->other_prefix6[k] = p;
        return;
      }
}

bool
sv_observe_pick_addr6 (struct nl_cache *addrs, struct sv_iface *ifc)
{
  ifc->has_addr6 = false;
  ifc->n_other_addr6 = 0;
  for (struct nl_object *o = nl_cache_get_first (addrs); o; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *a = (struct rtnl_addr *)o;
      if (rtnl_addr_get_ifindex (a) != ifc->ifindex || rtnl_addr_get_family (a) != AF_INET6
          || rtnl_addr_get_scope (a) != RT_SCOPE_UNIVERSE)
        continue;
      /* Addresses with lifetimes (SLAAC, DHCPv6 inside the container) and
       * privacy addresses are the container's own business, not its
       * identity; a deprecated or duplicate one is no identity at all.  A
       * tentative one (DAD still running) is the runtime's fresh one. */
      unsigned flags = rtnl_addr_get_flags (a);
      if (!(flags & IFA_F_PERMANENT)
          || (flags & (IFA_F_DEPRECATED | IFA_F_TEMPORARY | IFA_F_DADFAILED)))
        continue;
      uint8_t ip[16];
      int plen = rtnl_addr_get_prefixlen (a);
      if (!ip6_of (rtnl_addr_get_local (a), ip) || plen < 1 || plen > 128
          || sv_ip6_is_link_local (ip) || sv_ip6_is_loopback (ip))
        continue;
      /* The kernel dumps the newest first: the runtime's own address,
       * added when the container started, comes last.  Keep it as the
       * one to hand off (sv_observe_prefer_addr6 may pick another). */
      if (ifc->has_addr6)
        {
          if (ifc->n_other_addr6 < SV_MAX_OTHER_ADDR6)
            {
              memcpy (ifc->other_addr6[ifc->n_other_addr6], ifc->addr6, 16);
              ifc->other_prefix6[ifc->n_other_addr6] = ifc->prefix6;
            }
          ifc->n_other_addr6++;
        }
      memcpy (ifc->addr6, ip, 16);
      ifc->prefix6 = (uint8_t)plen;
      ifc->has_addr6 = true;
    }
  return ifc->has_addr6;
}

int
sv_observe_record_routes6 (struct nl_cache *routes, struct sv_iface *ifc, sv_error_t *err)
{
  uint32_t best_metric = UINT32_MAX;
  ifc->n_routes6 = 0;
  ifc->has_gateway6 = false;
  for (struct nl_object *o = nl_cache_get_first (routes); o; o = nl_cache_get_next (o))
    {
      struct rtnl_route *r = (struct rtnl_route *)o;
      if (rtnl_route_get_family (r) != AF_INET6 || rtnl_route_get_table (r) != RT_TABLE_MAIN
          || rtnl_route_get_type (r) != RTN_UNICAST || rtnl_route_get_nnexthops (r) != 1)
        continue;
      struct rtnl_nexthop *nh = rtnl_route_nexthop_n (r, 0);
      if (rtnl_route_nh_get_ifindex (nh) != ifc->ifindex)
        continue;
      struct sv_route6 rt;
      memset (&rt, 0, sizeof rt);
      struct nl_addr *dst = rtnl_route_get_dst (r);
      if (dst && nl_addr_get_len (dst) == 16)
        ip6_of (dst, rt.dst);
      rt.dst_len = dst ? (uint8_t)nl_addr_get_prefixlen (dst) : 0;
      /* The kernel's link-local route comes back with the link. */
      if (rt.dst_len > 0 && sv_ip6_is_link_local (rt.dst))
        continue;
      ip6_of (rtnl_route_nh_get_gateway (nh), rt.gateway);
      rt.metric = rtnl_route_get_priority (r);
      rt.protocol = rtnl_route_get_protocol (r);
      if (ifc->n_routes6 == SV_MAX_ROUTES)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                              "%s: more than %d IPv6 routes; startvm can record (and restore) "
                              "at most %d",
                              ifc->name, SV_MAX_ROUTES, SV_MAX_ROUTES);
      ifc->routes6[ifc->n_routes6++] = rt;
      if (rt.dst_len == 0 && !sv_ip6_is_zero (rt.gateway) && rt.metric < best_metric)
        {
          best_metric = rt.metric;
          memcpy (ifc->gateway6, rt.gateway, 16);
          ifc->has_gateway6 = true;
        }
    }
  return 0;
}

struct rtnl_addr *
sv_observe_find_addr6 (struct nl_cache *addrs, int ifindex, const uint8_t addr[16], uint8_t prefix)
{
  for (struct nl_object *o = nl_cache_get_first (addrs); o; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *a = (struct rtnl_addr *)o;
      uint8_t ip[16];
      if (rtnl_addr_get_ifindex (a) == ifindex && rtnl_addr_get_family (a) == AF_INET6
          && rtnl_addr_get_prefixlen (a) == prefix && ip6_of (rtnl_addr_get_local (a), ip)
          && memcmp (ip, addr, 16) == 0)
        return a;
    }
  return NULL;
}
