/* apply_net6: the IPv6 steps of apply_net (docs/networking.md "IPv6"). */
#ifndef SV_APPLY_NET6_H
#define SV_APPLY_NET6_H

#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "host.h"

/* Pure builders (unit-tested), like apply_net_internal.h's: an IPv6
 * address (nodad: no duplicate address detection, for an address no one
 * else can have) and an observed IPv6 route re-created on ifindex. */
int sv_apply_build_addr6 (int ifindex, const uint8_t addr[16], uint8_t prefix, bool nodad,
                          struct rtnl_addr **out);
int sv_apply_build_route6 (int ifindex, const struct sv_route6 *rt, struct rtnl_route **out);

enum sv_nft_mode
{
  SV_NFT_CREATE,  /* a new table (EEXIST when there is one) */
  SV_NFT_REPLACE, /* add, delete and add again: replaces one left by an earlier start */
  SV_NFT_DELETE,  /* delete the table */
};

/* The nftables batch for bridge table startvm_<port>, whose output chain
 * drops router advertisements and DHCPv6 server messages (UDP source
 * port 547) the bridge itself sends out of <port>.  Pure: writes the
 * netlink datagram into buf (size len), returns its length, or 0 when it
 * does not fit.  seq numbers the messages from *seq on and leaves *seq at
 * the last one. */
size_t sv_nft_build_ra_filter (const char *port, enum sv_nft_mode mode, uint8_t *buf, size_t len,
                               uint32_t *seq);

/* Puts the filter in (create: a new table, or replacing one an earlier
 * start left) or takes it out (!create; an absent table is fine).
 * Network error (4) with the kernel's errno. */
int sv_nft_ra_filter (const char *port, bool create, sv_error_t *err);

/* net.ipv6.conf.all.forwarding: reads it into *old and sets it to 1;
 * *changed says whether it was 0.  The restore writes old back. */
int sv_forward6_enable (int *old, bool *changed, sv_error_t *err);
int sv_forward6_restore (int old, sv_error_t *err);
/* For the preflight: 0 when forwarding is on or can be turned on, else an
 * environment error (3) naming the docker run flag. */
int sv_forward6_check (sv_error_t *err);

#endif
