/* Sub-planners called by sv_plan_build (plan.c).  Pure, like plan.c. */
#ifndef SV_PLAN_INTERNAL_H
#define SV_PLAN_INTERNAL_H

#include "plan.h"

/* Disks (plan_disks.c): append -drive/-device args to argv and disk ops
 * (overlay/create/grow) to out->disk_ops; cloud-init seed included. */
int sv_plan_disks (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
                   struct sv_plan *out, sv_error_t *err);

/* Frees what sv_plan_disks put in the plan (disk_ops with their argv and
 * sidecars, seed_dir, seed_files) and resets those fields; sv_plan_free
 * calls it so the disk fields have one owner. */
void sv_plan_disks_free (struct sv_plan *p);

#endif
