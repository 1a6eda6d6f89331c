/* JSON reader (see json.h).  Two walks share the scanning below: finding a
 * member skips values without decoding them; decoding happens only for the
 * value a caller asked for. */
#include "json.h"

#include <string.h>

static const char *
skip_ws (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  return p;
}

/* p at the opening quote; returns the position after the closing one. */
static const char *
skip_string (const char *p, const char *end)
{
  for (p++; p < end; p++)
    {
      if (*p == '\\')
        {
          if (++p == end)
            return NULL;
        }
      else if (*p == '"')
        return p + 1;
    }
  return NULL;
}

/* p at '{' or '['; returns the position after the matching bracket.
 * Iterative: the kinds of the open brackets live in a fixed stack. */
static const char *
skip_container (const char *p, const char *end)
{
  bool is_object[SV_JSON_MAX_DEPTH];
  size_t depth = 0;
  while (p < end)
    {
      char c = *p;
      if (c == '"')
        {
          p = skip_string (p, end);
          if (p == NULL)
            return NULL;
          continue;
        }
      if (c == '{' || c == '[')
        {
          if (depth == SV_JSON_MAX_DEPTH)
            return NULL;
          is_object[depth++] = c == '{';
        }
      else if (c == '}' || c == ']')
        {
          if (depth == 0 || is_object[--depth] != (c == '}'))
            return NULL;
          if (depth == 0)
            return p + 1;
        }
      p++;
    }
  return NULL;
}

/* The characters numbers and literals (true, false, null) are made of. */
static bool
is_scalar_char (char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'
         || c == '+' || c == '.';
}

/* p at a value; returns the position after it, or NULL. */
static const char *
skip_value (const char *p, const char *end)
{
  if (p >= end)
    return NULL;
  if (*p == '"')
    return skip_string (p, end);
  if (*p == '{' || *p == '[')
    return skip_container (p, end);
  const char *s = p;
  while (p < end && is_scalar_char (*p))
    p++;
  return p > s ? p : NULL;
}

/* Does the raw member name k[0..klen) (quotes included) spell key? */
static bool
key_matches (const char *k, size_t klen, const char *key, size_t keylen)
{
  if (memchr (k, '\\', klen) == NULL)
    return klen == keylen + 2 && memcmp (k + 1, key, keylen) == 0;
  struct sv_buf d = { 0 };
  bool match = sv_json_string (k, klen, &d) && d.len == keylen && memcmp (d.data, key, keylen) == 0;
  sv_buf_free (&d);
  return match;
}

/* Walk the members of the object at json[0..len).  Returns 1 when key
 * (not NULL) was found, 0 when the object is well-formed and has no such
 * member (*after: past its closing brace), -1 when it is not a well-formed
 * object. */
static int
walk_object (const char *json, size_t len, const char *key, const char **val, size_t *vlen,
             const char **after)
{
  const char *end = json + len;
  const char *p = skip_ws (json, end);
  size_t keylen = key ? strlen (key) : 0;
  if (p >= end || *p != '{')
    return -1;
  p = skip_ws (p + 1, end);
  if (p < end && *p == '}')
    {
      *after = p + 1;
      return 0;
    }
  for (;;)
    {
      p = skip_ws (p, end);
      if (p >= end || *p != '"')
        return -1;
      const char *k = p;
      p = skip_string (p, end);
      if (p == NULL)
        return -1;
      bool match = key && key_matches (k, (size_t)(p - k), key, keylen);
      p = skip_ws (p, end);
      if (p >= end || *p != ':')
        return -1;
      p = skip_ws (p + 1, end);
      const char *v = p;
      p = skip_value (p, end);
      if (p == NULL)
        return -1;
      const char *vend = p;
      /* A number cut short by the end of the text looks complete: only the
       * separator after it proves it is not. */
      p = skip_ws (p, end);
      if (p >= end || (*p != ',' && *p != '}'))
        return -1;
      if (match)
        {
          *val = v;
          *vlen = (size_t)(vend - v);
          return 1;
        }
      if (*p == '}')
        {
          *after = p + 1;
          return 0;
        }
      p++;
    }
}

bool
sv_json_is_object (const char *json, size_t len)
{
  const char *after;
  if (json == NULL || walk_object (json, len, NULL, NULL, NULL, &after) != 0)
    return false;
  return skip_ws (after, json + len) == json + len;
}

bool
sv_json_member (const char *json, size_t len, const char *key, const char **val, size_t *vlen)
{
  const char *after;
  return json != NULL && walk_object (json, len, key, val, vlen, &after) == 1;
}

static bool
parse_hex4 (const char *p, const char *end, unsigned *out)
{
  if (end - p < 4)
    return false;
  unsigned v = 0;
  for (int i = 0; i < 4; i++)
    {
      char c = p[i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (unsigned)(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= (unsigned)(c - 'A' + 10);
      else
        return false;
    }
  *out = v;
  return true;
}

static void
add_utf8 (struct sv_buf *b, unsigned cp)
{
  char u[4];
  size_t n;
  if (cp < 0x80)
    {
      u[0] = (char)cp;
      n = 1;
    }
  else if (cp < 0x800)
    {
      u[0] = (char)(0xc0 | (cp >> 6));
      u[1] = (char)(0x80 | (cp & 0x3f));
      n = 2;
    }
  else if (cp < 0x10000)
    {
      u[0] = (char)(0xe0 | (cp >> 12));
      u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
      u[2] = (char)(0x80 | (cp & 0x3f));
      n = 3;
    }
  else
    {
      u[0] = (char)(0xf0 | (cp >> 18));
      u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
      u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
      u[3] = (char)(0x80 | (cp & 0x3f));
      n = 4;
    }
  sv_buf_addn (b, u, n);
}

/* *pp just past the \uXXXX of high surrogate hi: joins the low surrogate
 * escape that should follow (advancing *pp past it), else U+FFFD. */
static unsigned
join_surrogate (unsigned hi, const char **pp, const char *end)
{
  const char *p = *pp;
  unsigned lo;
  if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && parse_hex4 (p + 2, end, &lo) && lo >= 0xdc00
      && lo < 0xe000)
    {
      *pp = p + 6;
      return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    }
  return 0xfffd;
}

bool
sv_json_string (const char *val, size_t vlen, struct sv_buf *out)
{
  if (val == NULL || vlen < 2 || val[0] != '"')
    return false;
  const char *end = val + vlen;
  const char *p = val + 1;
  size_t start = out->len;
  sv_buf_add (out, ""); /* "" for an empty string, not NULL */
  while (p < end && *p != '"')
    {
      if ((unsigned char)*p < 0x20)
        goto fail;
      if (*p != '\\')
        {
          const char *s = p;
          while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
            p++;
          sv_buf_addn (out, s, (size_t)(p - s));
          continue;
        }
      if (end - p < 2)
        goto fail;
      char c = p[1];
      p += 2;
      unsigned cp;
      switch (c)
        {
        case '"':
        case '\\':
        case '/':
          cp = (unsigned char)c;
          break;
        case 'b':
          cp = '\b';
          break;
        case 'f':
          cp = '\f';
          break;
        case 'n':
          cp = '\n';
          break;
        case 'r':
          cp = '\r';
          break;
        case 't':
          cp = '\t';
          break;
        case 'u':
          if (!parse_hex4 (p, end, &cp))
            goto fail;
          p += 4;
          if (cp >= 0xd800 && cp < 0xdc00)
            cp = join_surrogate (cp, &p, end);
          else if (cp >= 0xdc00 && cp < 0xe000)
            cp = 0xfffd;
          break;
        default:
          goto fail;
        }
      add_utf8 (out, cp);
    }
  /* p at the closing quote, which must be the last byte */
  if (p < end && p + 1 == end)
    return true;
fail:
  out->len = start;
  out->data[start] = '\0';
  return false;
}

bool
sv_json_u64 (const char *val, size_t vlen, uint64_t *out)
{
  if (val == NULL || vlen == 0 || (val[0] == '0' && vlen > 1))
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < vlen; i++)
    {
      if (val[i] < '0' || val[i] > '9')
        return false;
      unsigned d = (unsigned)(val[i] - '0');
      if (v > (UINT64_MAX - d) / 10)
        return false;
      v = v * 10 + d;
    }
  *out = v;
  return true;
}

bool
sv_json_array_next (const char *val, size_t vlen, const char **pos, const char **el, size_t *ellen)
{
  const char *end = val + vlen;
  const char *p;
  if (*pos == NULL)
    {
      p = skip_ws (val, end);
      if (p >= end || *p != '[')
        return false;
      p = skip_ws (p + 1, end);
      if (p < end && *p == ']')
        return false;
    }
  else
    {
      p = skip_ws (*pos, end);
      if (p >= end || *p != ',')
        return false;
      p = skip_ws (p + 1, end);
    }
  const char *after = skip_value (p, end);
  if (after == NULL)
    return false;
  const char *next = skip_ws (after, end);
  if (next >= end || (*next != ',' && *next != ']'))
    return false;
  *el = p;
  *ellen = (size_t)(after - p);
  *pos = after;
  return true;
}

bool
sv_json_member_string (const char *json, size_t len, const char *key, struct sv_buf *out)
{
  const char *val;
  size_t vlen;
  return sv_json_member (json, len, key, &val, &vlen) && sv_json_string (val, vlen, out);
}

bool
sv_json_member_u64 (const char *json, size_t len, const char *key, uint64_t *out)
{
  const char *val;
  size_t vlen;
  return sv_json_member (json, len, key, &val, &vlen) && sv_json_u64 (val, vlen, out);
}
