/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "observe.h"
int sv_observe_network (const struct sv_vm_config *cfg, const char *resolv_conf, struct sv_net_state *out, sv_error_t *err) { return 0; }
bool sv_observe_kvm (char *reason, size_t reason_len) { return false; }
int sv_observe_host (const struct sv_vm_config *cfg, struct sv_host *out, sv_error_t *err) { return 0; }
