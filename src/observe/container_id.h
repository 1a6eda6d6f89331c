/* Container id discovery: /proc/self/cgroup (v1 and v2), then
 * /proc/self/mountinfo, then the hostname as the last resort.  The
 * parsers take file contents so recorded samples can be unit-tested. */
#ifndef SV_CONTAINER_ID_H
#define SV_CONTAINER_ID_H

#include <stdbool.h>
#include <stddef.h>

/* Each returns true and writes a 64-hex (or runtime-specific) id into buf
 * when the text names one. */
bool sv_container_id_from_cgroup (const char *text, char *buf, size_t len);
bool sv_container_id_from_mountinfo (const char *text, char *buf, size_t len);
/* Reads the files above (then gethostname) and always fills buf. */
void sv_container_id (char *buf, size_t len);

#endif
