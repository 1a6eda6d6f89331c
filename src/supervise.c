/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "supervise.h"
int sv_run_qemu (const struct sv_vm_config *cfg, const struct sv_plan *plan, const int *tap_fds, pid_t dnsmasq_pid, sv_error_t *err) { return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "not implemented"); }
