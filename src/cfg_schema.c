/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "cfg.h"
#include "util.h"
int sv_cfg_validate (struct sv_cfg_doc *doc, struct sv_vm_config *out, sv_error_t *err) { return sv_error_config (err, "not implemented"); }
int sv_cfg_build (const char *path, bool path_explicit, char *const *envp, struct sv_cfg_doc *doc_out, struct sv_vm_config *out, sv_error_t *err) { return sv_error_config (err, "not implemented"); }
char *sv_cfg_print (const struct sv_cfg_doc *doc) { return sv_xstrdup (""); }
char *sv_schema_json (void) { return sv_xstrdup ("{}\n"); }
char *sv_schema_markdown (void) { return sv_xstrdup (""); }
