/* apply_net: perform the plan's network ops through libnl and ioctls (no
 * ip/brctl forks).  A switch on op kind: no policy here. */
#ifndef SV_APPLY_NET_H
#define SV_APPLY_NET_H

#include "error.h"
#include "host.h"
#include "plan.h"

/* Check what the handoff needs before changing anything: CAP_NET_ADMIN,
 * CAP_NET_RAW when DHCP is planned, /dev/net/tun, the dnsmasq binary.
 * Missing piece: exit class 3, naming it. */
int sv_net_preflight (const struct sv_plan *plan, sv_error_t *err);

/* Apply plan->net_ops in order.  tap_fds receives plan->n_taps open tap
 * fds (O_CLOEXEC set; the exec path clears it after dup2 to
 * SV_TAP_FD_BASE+i).  On failure, undoes what was done (addresses, MACs,
 * routes from host->net, bridges, taps), returns exit class 4 with
 * "apply step 3/9 (addr del 172.17.0.2/16 dev eth0): ...". */
int sv_net_apply (const struct sv_plan *plan, const struct sv_host *host, int *tap_fds,
                  sv_error_t *err);

#endif
