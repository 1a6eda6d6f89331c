/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>

#include "error.h"
#include "plan_internal.h"
int
sv_plan_disks (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
               struct sv_plan *out, sv_error_t *err)
{
  return 0;
}
void
sv_plan_disks_free (struct sv_plan *p)
{
}
