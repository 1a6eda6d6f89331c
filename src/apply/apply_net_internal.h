/* Pure builders of apply_net.c: net op -> libnl object, no I/O.  Exported
 * for unit tests.  Each returns 0 and a new reference in *out, or a
 * negative libnl code. */
#ifndef SV_APPLY_NET_INTERNAL_H
#define SV_APPLY_NET_INTERNAL_H

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "host.h"
#include "plan.h"

/* The "changes" object for rtnl_link_change(): LINK_UP, LINK_DOWN,
 * LINK_SET_MAC, LINK_SET_MTU, SET_MASTER (master_ifindex; 0 = release). */
int sv_apply_build_link_change (const struct sv_net_op *op, int master_ifindex,
                                struct rtnl_link **out);
/* BRIDGE_ADD: a new bridge named op->ifname (MTU when op->mtu != 0). */
int sv_apply_build_bridge (const struct sv_net_op *op, struct rtnl_link **out);
/* An IPv4 address addr/prefix on ifindex, universe scope, with the
 * broadcast address filled as `ip addr add ... brd +` does (none for /31
 * and /32, RFC 3021). */
int sv_apply_build_addr (int ifindex, uint32_t addr, uint8_t prefix, struct rtnl_addr **out);
/* A route recorded by observe, re-created on ifindex. */
int sv_apply_build_route (int ifindex, const struct sv_route *rt, struct rtnl_route **out);

#endif
