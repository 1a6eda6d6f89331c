/* resume: the facts of a handoff, kept in the bridge's link alias
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
#ifndef SV_RESUME_H
#define SV_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "host.h"

#define SV_RESUME_MARKER "startvm1"
/* IFALIASZ (256) with its NUL. */
#define SV_RESUME_ALIAS_MAX 256

/* Writes the alias for ifc into out (SV_RESUME_ALIAS_MAX bytes).  Routes
 * that do not fit are left out: returns how many (0 normally). */
size_t sv_resume_encode (const struct sv_iface *ifc, char out[SV_RESUME_ALIAS_MAX]);

/* True when alias was written by some startvm ("startvm<digit>..."),
 * whether or not this one can read it. */
bool sv_resume_is_ours (const char *alias);

/* Rebuilds the interface facts from an alias: name, mac, addr, prefix,
 * mtu, gateway and routes (the connected one, the extras, the default).
 * ifindex and the resumed/bridge fields are the caller's.  Environment
 * error (3) naming the alias when it is not one this startvm reads. */
int sv_resume_decode (const char *alias, struct sv_iface *ifc, sv_error_t *err);

#endif
