/* Checks of what a request brings (pure; unit-tested). */
#ifndef SV_MGR_VALIDATE_H
#define SV_MGR_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* A Docker container or volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most
 * 128. */
bool sv_mgr_name_ok (const char *s);
/* An {id}: a full id, an id prefix of at least 12 hex digits, or a Docker
 * container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128). */
bool sv_mgr_id_syntax_ok (const char *id);
/* Does the container Docker found for `given` really answer to it (its full
 * id, a prefix of >= 12 hex digits, or its name)?  Docker also resolves
 * shorter prefixes, which we do not accept. */
bool sv_mgr_id_answers (const char *given, const char *full_id, const char *name);
/* Text for a message: invalid UTF-8 and control bytes shown escaped. */
char *sv_mgr_display (const char *s);
/* Parse a JSON body: an object, else 400 with jansson's words. */
json_t *sv_mgr_parse_body (const char *body, size_t len, sv_error_t *err);
/* The value of query parameter name ("name=value", decoded) in the
 * NULL-terminated query (which may be NULL); NULL when absent. */
const char *sv_mgr_query_get (char **query, const char *name);

#endif
