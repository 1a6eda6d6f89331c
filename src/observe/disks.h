/* disks: observe configured disk images (qemu-img info, exec'd), the
 * RancherVM image convention and the cloud-init directory.  Read-only. */
#ifndef SV_DISKS_H
#define SV_DISKS_H

#include "config.h"
#include "error.h"
#include "host.h"

int sv_disks_observe (const struct sv_vm_config *cfg, struct sv_host *host, sv_error_t *err);

#endif
