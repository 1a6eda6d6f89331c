/* observe6: the IPv6 half of observe (observe.c calls it from its one
 * dump): the global address each interface hands to the VM and the IPv6
 * routes through it.  Also apply_net's, to find an address to restore. */
#ifndef SV_OBSERVE6_H
#define SV_OBSERVE6_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "host.h"

struct nl_cache;
struct rtnl_addr;

/* Fills ifc->has_addr6, addr6, prefix6 and n_other_addr6 from link
 * ifc->ifindex's addresses: permanent, global scope, not deprecated,
 * temporary or DAD-failed; the oldest one is handed off.  Returns
 * has_addr6. */
bool sv_observe_pick_addr6 (struct nl_cache *addrs, struct sv_iface *ifc);

/* After the routes: the address that shares the default gateway's
 * prefix is the one to hand off, when another one was picked. */
void sv_observe_prefer_addr6 (struct sv_iface *ifc);

/* Records every IPv6 main-table unicast route through ifc->ifindex but
 * link-local ones (fe80::/64, the kernel's own) into ifc->routes6, and
 * the lowest-metric default route's gateway. */
int sv_observe_record_routes6 (struct nl_cache *routes, struct sv_iface *ifc, sv_error_t *err);

/* The IPv6 address ADDR/PREFIX of link IFINDEX in a libnl address cache
 * (borrowed), or NULL. */
struct rtnl_addr *sv_observe_find_addr6 (struct nl_cache *addrs, int ifindex,
                                         const uint8_t addr[16], uint8_t prefix);

#endif
