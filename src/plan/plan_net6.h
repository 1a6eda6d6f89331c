/* plan_net6: the IPv6 half of plan_net (docs/networking.md "IPv6").
 * Pure, like plan_net. */
#ifndef SV_PLAN_NET6_H
#define SV_PLAN_NET6_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"

/* Whether dnsmasq serves interface ifc over IPv6 (DHCPv6 and RAs). */
bool sv_plan6_served (const struct sv_iface *ifc, bool dhcp);

/* The container NIC's IPv6 steps, before it goes down: the filter that
 * keeps our RAs and DHCPv6 replies off the container network (again for
 * a resumed handoff: replacing it is harmless), and, with remove, the
 * addresses' removal (recorded for the undo; the link going down would
 * drop them anyway). */
void sv_plan6_port_ops (struct sv_plan *out, const struct sv_iface *ifc, size_t i, bool dhcp,
                        bool remove);

/* The bridge's IPv6 steps, after the links are up: forwarding in the
 * namespace (once, *forwarding says whether it is planned already), the
 * bridge address, and the container's routes through the bridge. */
void sv_plan6_bridge_ops (struct sv_plan *out, const struct sv_iface *ifc, const char *br, size_t i,
                          bool dhcp, bool *forwarding);

/* dnsmasq.conf lines for interface i (DHCPv6 range, RA parameters, DNS
 * and search list on the first interface). */
void sv_plan6_dnsmasq (const struct sv_host *host, size_t i, const char *br, struct sv_plan *p,
                       struct sv_buf *c);

/* The most steps sv_plan6_port_ops and sv_plan6_bridge_ops add for one
 * interface. */
#define SV_PLAN6_OPS_PER_IFACE (5 + SV_MAX_OTHER_ADDR6 + SV_MAX_ROUTES)

#endif
