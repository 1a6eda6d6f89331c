/* disks: observe configured disk images (qemu-img info, exec'd) and
 * perform the plan's disk ops (qemu-img create/resize) without ever
 * touching existing data. */
#ifndef SV_DISKS_H
#define SV_DISKS_H

#include "config.h"
#include "error.h"
#include "host.h"
#include "plan.h"

int sv_disks_observe (const struct sv_vm_config *cfg, struct sv_host *host, sv_error_t *err);
int sv_disks_apply (const struct sv_plan *plan, sv_error_t *err);

#endif
