/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "cfg.h"
int sv_cfg_load_file (const char *path, bool must_exist, struct sv_cfg_doc *out, sv_error_t *err) { return sv_error_config (err, "not implemented"); }
int sv_cfg_load_buffer (const char *n, const char *buf, size_t len, struct sv_cfg_doc *out, sv_error_t *err) { return sv_error_config (err, "not implemented"); }
void sv_cfg_doc_free (struct sv_cfg_doc *doc) {}
void sv_node_free (struct sv_node *n) {}
struct sv_node *sv_node_get (const struct sv_node *map, const char *key) { return NULL; }
