/* STUB: replaced by the module's real implementation. */
#include "container_id.h"
#include <unistd.h>
bool sv_container_id_from_cgroup (const char *text, char *buf, size_t len) { return false; }
bool sv_container_id_from_mountinfo (const char *text, char *buf, size_t len) { return false; }
void sv_container_id (char *buf, size_t len) { if (gethostname (buf, len) < 0 && len) buf[0] = 0; }
