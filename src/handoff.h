/* The handoff contract between observe and plan: what both must agree on
 * about a container interface that startvm hands to the VM.  Pure
 * functions, no I/O.
 *
 * - The port's new MAC, derived from the original one (plan gives it to
 *   the container NIC; observe recognises an unfinished handoff by it).
 * - Which routes are "extra": offered to the VM as classless static routes
 *   (plan) and recorded in the alias (both).
 * - The routing table and scope values kept in struct sv_route.
 * - The bridge alias below.
 *
 * The facts of a handoff are kept in the bridge's link alias
 * (IFLA_IFALIAS).  In a Kubernetes pod the network namespace outlives a
 * container restart and nothing else does: the restarted startvm finds
 * eth0 already in br0 without its address, and reads what to hand the VM
 * from here.  Pure functions, no I/O.
 *
 *   startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 mtu=1500 gw=172.17.0.1
 *     r=10.0.0.0/8,172.17.0.254 r=169.254.1.1/32
 *
 * (one line): version marker, container interface, its original MAC,
 * address/prefix, MTU, default gateway (omitted when none) and the extra
 * routes the VM is offered (option 121), as many as fit in the alias. */
#ifndef SV_HANDOFF_H
#define SV_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "host.h"

#include <stdint.h>

/* The kernel's values (linux/rtnetlink.h) as struct sv_route holds them;
 * handoff.c checks they agree. */
#define SV_RT_TABLE_MAIN 254
#define SV_RT_SCOPE_UNIVERSE 0
#define SV_RT_SCOPE_LINK 253
#define SV_RTPROT_BOOT 3

#define SV_HANDOFF_ALIAS_MARKER "startvm1"
/* IFALIASZ (256) with its NUL. */
#define SV_HANDOFF_ALIAS_MAX 256

/* Locally administered MAC derived deterministically from the old one:
 * never the old one, stable across restarts. */
void sv_handoff_derive_mac (const uint8_t old_mac[6], uint8_t new_mac[6]);

/* Whether route r of ifc is one the VM is offered as a classless static
 * route besides the default and its own subnet (option 121); the alias
 * records the same ones. */
bool sv_handoff_is_extra_route (const struct sv_iface *ifc, size_t r);

/* Writes the alias for ifc into out (SV_HANDOFF_ALIAS_MAX bytes).  Routes
 * that do not fit are left out: returns how many (0 normally). */
size_t sv_handoff_alias_encode (const struct sv_iface *ifc, char out[SV_HANDOFF_ALIAS_MAX]);

/* True when alias was written by some startvm ("startvm<digit>..."),
 * whether or not this one can read it. */
bool sv_handoff_alias_is_ours (const char *alias);

/* Rebuilds the interface facts from an alias: name, mac, addr, prefix,
 * mtu, gateway and routes (the connected one, the extras, the default).
 * ifindex and the resumed/bridge fields are the caller's.  Environment
 * error (3) naming the alias when it is not one this startvm reads. */
int sv_handoff_alias_decode (const char *alias, struct sv_iface *ifc, sv_error_t *err);

#endif
