/* A small JSON reader for the JSON that QEMU tools print: QMP reply lines
 * and `qemu-img info --output=json`.  It finds members and decodes scalar
 * values; it builds no tree.  Every function reads json[0..len) only (no
 * NUL terminator needed) and walks nesting iteratively, with the depth
 * bounded by SV_JSON_MAX_DEPTH, so hostile input can neither overrun the
 * buffer nor the stack. */
#ifndef SV_JSON_H
#define SV_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SV_JSON_MAX_DEPTH 512

/* True when json[0..len) is one object with well-formed members, and
 * nothing but whitespace around it. */
bool sv_json_is_object (const char *json, size_t len);

/* Find member key among the top-level members of the object at
 * json[0..len) (leading whitespace allowed; nested objects are skipped,
 * not searched).  *val and *vlen get the member's raw value text: a string
 * keeps its quotes.  False when absent or not an object. */
bool sv_json_member (const char *json, size_t len, const char *key, const char **val, size_t *vlen);

/* Decode the JSON string val[0..vlen) (quotes included, nothing else) and
 * append it to out as UTF-8: \" \\ \/ \b \f \n \r \t and \uXXXX, surrogate
 * pairs joined, a lone surrogate becomes U+FFFD.  out is NUL-terminated even
 * for "".  False, with out as it was, when val is not a well-formed
 * string. */
bool sv_json_string (const char *val, size_t vlen, struct sv_buf *out);

/* Read a non-negative JSON integer (no sign, fraction or exponent) that
 * fits in 64 bits.  False otherwise. */
bool sv_json_u64 (const char *val, size_t vlen, uint64_t *out);

/* sv_json_member and then sv_json_string or sv_json_u64 on its value:
 * false when the member is absent or not of that kind. */
bool sv_json_member_string (const char *json, size_t len, const char *key, struct sv_buf *out);
bool sv_json_member_u64 (const char *json, size_t len, const char *key, uint64_t *out);

/* Walk the elements of the array val[0..vlen) (its raw text, brackets
 * included).  *pos is NULL for the first call; each call that returns
 * true sets *el and *ellen to one element's raw text.  False at the end,
 * and when the array is malformed. */
bool sv_json_array_next (const char *val, size_t vlen, const char **pos, const char **el,
                         size_t *ellen);

#endif
