/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "disks.h"
int sv_disks_observe (const struct sv_vm_config *cfg, struct sv_host *host, sv_error_t *err) { return 0; }
int sv_disks_apply (const struct sv_plan *plan, sv_error_t *err) { return 0; }
