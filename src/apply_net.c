/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "apply_net.h"
int sv_net_preflight (const struct sv_plan *plan, sv_error_t *err) { return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "not implemented"); }
int sv_net_apply (const struct sv_plan *plan, const struct sv_host *host, int *tap_fds, sv_error_t *err) { return sv_error_make (err, SV_EXIT_NET, SV_SRC_NONE, 0, "not implemented"); }
int sv_dnsmasq_start (const struct sv_plan *plan, pid_t *pid_out, sv_error_t *err) { return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "not implemented"); }
