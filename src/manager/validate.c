#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool
name_char (char c, bool first)
{
  if (isalnum ((unsigned char)c))
    return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

bool
sv_mgr_name_ok (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 128)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!name_char (s[i], i == 0))
      return false;
  return true;
}

bool
sv_mgr_id_syntax_ok (const char *id)
{
  return id && sv_mgr_name_ok (id);
}

bool
sv_mgr_id_answers (const char *given, const char *full_id, const char *name)
{
  if (given == NULL || full_id == NULL)
    return false;
  size_t gl = strlen (given);
  if (strcmp (given, full_id) == 0)
    return true;
  if (name && strcmp (name[0] == '/' ? name + 1 : name, given) == 0)
    return true;
  return gl >= 12 && strspn (given, "0123456789abcdef") == gl && strncmp (full_id, given, gl) == 0;
}

char *
sv_mgr_display (const char *s)
{
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "");
  size_t len = strlen (s);
  for (size_t i = 0; i < len;)
    {
      unsigned char c = (unsigned char)s[i];
      size_t n = sv_utf8_seq_len ((const unsigned char *)s + i, len - i);
      if (c < 0x20 || c == 0x7f || n == 0)
        {
          sv_buf_addf (&b, "\\x%02x", c);
          i++;
          continue;
        }
      sv_buf_addn (&b, s + i, n);
      i += n;
    }
  return sv_buf_steal (&b);
}

json_t *
sv_mgr_parse_body (const char *body, size_t len, sv_error_t *err)
{
  json_error_t je;
  json_t *j = json_loadb (body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
  if (j == NULL)
    {
      sv_error_config (err, "invalid JSON: %s at line %d column %d", je.text, je.line, je.column);
      return NULL;
    }
  if (!json_is_object (j))
    {
      json_decref (j);
      sv_error_config (err, "invalid JSON: the body must be an object");
      return NULL;
    }
  return j;
}

const char *
sv_mgr_query_get (char **query, const char *name)
{
  size_t n = strlen (name);
  for (char **q = query; q && *q; q++)
    if (strncmp (*q, name, n) == 0 && (*q)[n] == '=')
      return *q + n + 1;
  return NULL;
}
