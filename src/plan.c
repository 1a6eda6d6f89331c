/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "plan.h"
#include <string.h>
int sv_plan_build (const struct sv_vm_config *cfg, const struct sv_host *host, char *const *extra_args, struct sv_plan *out, sv_error_t *err) { return sv_error_config (err, "not implemented"); }
void sv_plan_free (struct sv_plan *p) {}
uint32_t sv_plan_bridge_addr (uint32_t vm_addr, uint8_t prefix, uint32_t gateway, uint8_t *bridge_prefix) { return 0; }
void sv_plan_derive_mac (const uint8_t old_mac[6], uint8_t new_mac[6]) { memcpy (new_mac, old_mac, 6); }
void sv_net_op_format (const struct sv_net_op *op, struct sv_buf *b) { sv_buf_add (b, "?"); }
