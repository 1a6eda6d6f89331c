/* observe: read-only look at the container (netlink via libnl-route-3,
 * /etc/resolv.conf, hostname, /dev/kvm, /dev/vhost-net, container id,
 * disks).  Never changes anything. */
#ifndef SV_OBSERVE_H
#define SV_OBSERVE_H

#include "config.h"
#include "error.h"
#include "host.h"

/* Network: every interface with a permanent universe-scope IPv4 address
 * (eth0 first), restricted to cfg->network.interfaces when given.  With
 * cfg->network.ip_prefix set, waits (netlink notifications, no polling)
 * up to cfg->network.wait_ms for an address with that prefix: timeout is
 * exit class 3.  resolv_conf: path to read (normally "/etc/resolv.conf"). */
int sv_observe_network (const struct sv_vm_config *cfg, const char *resolv_conf,
                        struct sv_net_state *out, sv_error_t *err);

/* The IPv4 address ADDR/PREFIX of link IFINDEX in a libnl address cache
 * (borrowed from the cache), or NULL.  Also apply_net.c's, for undo. */
struct nl_cache;
struct rtnl_addr;
struct rtnl_addr *sv_observe_find_addr4 (struct nl_cache *addrs, int ifindex, uint32_t addr,
                                         uint8_t prefix);

/* KVM usability: opens /dev/kvm and tries KVM_CREATE_VM.  Fills reason. */
bool sv_observe_kvm (char *reason, size_t reason_len);

/* data.c: data_dir, the firmware files and swtpm, as far as cfg uses
 * them (firmware, tpm).  What cannot be used is described in d->error
 * for plan to refuse; returns 0. */
int sv_data_observe (const struct sv_vm_config *cfg, struct sv_data_state *d, sv_error_t *err);

/* data.c: each share's source (a directory) and virtiofsd, when cfg has
 * shares; what is wrong goes to sh->error for plan to refuse. */
void sv_shares_observe (const struct sv_vm_config *cfg, struct sv_shares_state *sh);

/* Everything plan() needs.  Calls the pieces above plus disks and
 * container id. */
int sv_observe_host (const struct sv_vm_config *cfg, struct sv_host *out, sv_error_t *err);

#endif
