/* libFuzzer target for base/json.c, which reads what other processes
 * print (QMP replies, `qemu-img info --output=json`): any bytes, read
 * from a buffer of exactly that size (no NUL after it, so a read past the
 * end is ASan's), through every entry point, and what it returns must lie
 * inside the buffer.  Build with
 *   CC=clang cmake -S . -B build-fuzz -DSV_FUZZ=ON
 * and run build-fuzz/fuzz_json tests/fuzz/corpus_json. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
inside (const char *buf, size_t len, const char *p, size_t n)
{
  if (p < buf || n > len || (size_t)(p - buf) > len - n)
    abort ();
}

/* One value: decode it as each kind, and walk it as an array (one level
 * down, elements decoded as well). */
static void
value (const char *buf, size_t len, const char *v, size_t vl, int depth)
{
  inside (buf, len, v, vl);
  struct sv_buf s = { 0 };
  if (sv_json_string (v, vl, &s) && (s.data == NULL || strlen (s.data) > s.len))
    abort ();
  sv_buf_free (&s);
  uint64_t u;
  (void)sv_json_u64 (v, vl, &u);
  (void)sv_json_is_object (v, vl);
  const char *pos = NULL, *el;
  size_t ell;
  for (int n = 0; n < 64 && sv_json_array_next (v, vl, &pos, &el, &ell); n++)
    if (depth < 2)
      value (buf, len, el, ell, depth + 1);
  static const char *const keys[]
      = { "return",           "error",    "desc", "class", "event", "QMP", "virtual-size", "format",
          "backing-filename", "children", "data", "" };
  for (size_t k = 0; depth < 2 && k < sizeof keys / sizeof keys[0]; k++)
    {
      const char *m;
      size_t ml;
      if (sv_json_member (v, vl, keys[k], &m, &ml))
        value (buf, len, m, ml, depth + 1);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *buf = malloc (size ? size : 1);
  if (buf == NULL)
    return 0;
  memcpy (buf, data, size);
  value (buf, size, buf, size, 0);
  free (buf);
  return 0;
}
