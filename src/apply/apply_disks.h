/* apply_disks: perform the plan's disk ops (qemu-img create/resize, exec'd)
 * and write the cloud-init seed, without ever touching existing data. */
#ifndef SV_APPLY_DISKS_H
#define SV_APPLY_DISKS_H

#include "error.h"
#include "plan.h"

/* Runs plan->disk_ops in order, then fills plan->seed_dir with
 * plan->seed_files (0600, the directory 0700, emptied first).  A file
 * that appeared since observe looked is an error, never overwritten. */
int sv_disks_apply (const struct sv_plan *plan, sv_error_t *err);

#endif
