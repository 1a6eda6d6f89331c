/* STUB: replaced by the module's real implementation. */
#include <stdlib.h>
#include "error.h"
#include "plan.h"
char *sv_plan_format_text (const struct sv_plan *p, const struct sv_host *host) { return sv_xstrdup (""); }
char *sv_plan_format_json (const struct sv_plan *p, const struct sv_host *host) { return sv_xstrdup ("{}"); }
