/* --print-config: the merged, validated tree as YAML, in schema order, with
 * a comment per value saying where it came from.  The output loads back
 * into the same configuration (a unit test and the fuzzer check it). */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_internal.h"
#include "util.h"

static void
add_origin_comment (struct sv_buf *b, const struct sv_origin *o)
{
  switch (o->kind)
    {
    case SV_ORIGIN_FILE:
      sv_buf_addf (b, "  # %s:%d:%d", o->file ? o->file : "?", o->line, o->col);
      break;
    case SV_ORIGIN_ENV:
      sv_buf_addf (b, "  # env %s", o->env);
      break;
    case SV_ORIGIN_DEFAULT:
      sv_buf_add (b, "  # default");
      break;
    }
}

static bool
plain_safe (const char *s)
{
  static const char *const nulls[] = { "~", "null", "Null", "NULL" };
  if (*s == '\0')
    return false;
  for (size_t i = 0; i < 4; i++)
    if (strcmp (s, nulls[i]) == 0)
      return false;
  unsigned char c0 = (unsigned char)*s;
  if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || (c0 >= '0' && c0 <= '9')
        || c0 == '/' || c0 == '_' || c0 == '.'))
    return false;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || strchr ("/._-+=@,", *p)))
      return false;
  return true;
}

/* U+2028, U+2029 (E2 80 A8/A9) or U+FEFF (EF BB BF) at p. */
static bool
is_special_u2 (const unsigned char *p)
{
  return (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
         || (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf);
}

/* A literal block keeps multi-line text (cloud-init) readable; only used
 * when the text survives it unchanged. */
static bool
literal_safe (const char *s)
{
  if (strchr (s, '\n') == NULL || *s == ' ' || *s == '\t' || *s == '\n')
    return false;
  const char *line = s;
  for (const unsigned char *p = (const unsigned char *)s;; p++)
    {
      if (*p == '\n' || *p == '\0')
        {
          /* A line of blanks only could be taken for indentation. */
          bool blank = (const char *)p > line;
          for (const char *q = line; q < (const char *)p; q++)
            blank &= *q == ' ' || *q == '\t';
          if (blank)
            return false;
          if (*p == '\0')
            break;
          line = (const char *)p + 1;
          continue;
        }
      if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
        return false;
      /* C1 controls (U+0080..U+009F, C2 80..C2 9F) are not printable YAML;
       * U+0085, U+2028 and U+2029 are line breaks to YAML 1.1 (libyaml) and
       * would end the block's line early; U+FEFF is a byte order mark. */
      if ((*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) || is_special_u2 (p))
        return false;
    }
  return true;
}

static void
add_double_quoted (struct sv_buf *b, const char *s)
{
  sv_buf_addc (b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          sv_buf_addc (b, '\\');
          sv_buf_addc (b, (char)*p);
        }
      else if (*p == '\n')
        sv_buf_add (b, "\\n");
      else if (*p == '\t')
        sv_buf_add (b, "\\t");
      else if (*p < 0x20 || *p == 0x7f)
        sv_buf_addf (b, "\\x%02x", *p);
      else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
        {
          sv_buf_addf (b, "\\u%04x", p[1]);
          p++;
        }
      else if (is_special_u2 (p))
        {
          /* Raw, a double-quoted line break would be folded. */
          sv_buf_addf (b, "\\u%02x%02x", ((p[0] & 0x0f) << 4) | ((p[1] >> 2) & 0x0f),
                       ((p[1] & 0x03) << 6) | (p[2] & 0x3f));
          p += 2;
        }
      else
        sv_buf_addc (b, (char)*p);
    }
  sv_buf_addc (b, '"');
}

static void
add_indent (struct sv_buf *b, int n)
{
  for (int i = 0; i < n; i++)
    sv_buf_addc (b, ' ');
}

/* After "key:" (or "- "): the value and its comment, then a newline. */
static void
add_scalar (struct sv_buf *b, const struct sv_field *f, const struct sv_node *n, int indent)
{
  const char *s = n->scalar;
  /* Integers and booleans must stay plain to load back, so print them in
   * their canonical form ("+2" would need quotes, which make a string). */
  if (f->type == SV_FT_INT || f->type == SV_FT_BOOL)
    {
      bool v = false;
      if (f->type == SV_FT_INT)
        sv_buf_addf (b, " %lld", strtoll (s, NULL, 10));
      else
        sv_buf_add (b, sv_parse_bool (s, "", &v, NULL) == 0 && v ? " true" : " false");
      add_origin_comment (b, &n->origin);
      sv_buf_addc (b, '\n');
      return;
    }
  if (plain_safe (s))
    {
      sv_buf_addf (b, " %s", s);
      add_origin_comment (b, &n->origin);
      sv_buf_addc (b, '\n');
      return;
    }
  if (literal_safe (s))
    {
      size_t len = strlen (s);
      const char *chomp = s[len - 1] != '\n' ? "-" : (len >= 2 && s[len - 2] == '\n') ? "+" : "";
      sv_buf_addf (b, " |%s", chomp);
      add_origin_comment (b, &n->origin);
      sv_buf_addc (b, '\n');
      const char *line = s;
      while (*line)
        {
          const char *nl = strchr (line, '\n');
          size_t l = nl ? (size_t)(nl - line) : strlen (line);
          if (l)
            {
              add_indent (b, indent + 2);
              sv_buf_addn (b, line, l);
            }
          sv_buf_addc (b, '\n');
          if (nl == NULL)
            break;
          line = nl + 1;
        }
      return;
    }
  sv_buf_addc (b, ' ');
  add_double_quoted (b, s);
  add_origin_comment (b, &n->origin);
  sv_buf_addc (b, '\n');
}

static void add_map (struct sv_buf *b, const struct sv_field *mf, const struct sv_node *map,
                     int indent, bool dash);

/* Writes "key:" ... for one field.  lead is what goes before the key
 * (indentation, or indentation and "- " for a list item's first key). */
static void
add_entry (struct sv_buf *b, const struct sv_field *f, const struct sv_node *n, int indent,
           bool dash)
{
  add_indent (b, dash ? indent - 2 : indent);
  if (dash)
    sv_buf_add (b, "- ");
  sv_buf_addf (b, "%s:", f->key);
  switch (n->kind)
    {
    case SV_NODE_NULL:
      sv_buf_add (b, " ~");
      add_origin_comment (b, &n->origin);
      sv_buf_addc (b, '\n');
      return;
    case SV_NODE_SCALAR:
      add_scalar (b, f, n, indent);
      return;
    case SV_NODE_MAP:
      if (n->n == 0)
        {
          sv_buf_add (b, " {}");
          add_origin_comment (b, &n->origin);
          sv_buf_addc (b, '\n');
          return;
        }
      sv_buf_addc (b, '\n');
      add_map (b, f, n, indent + 2, false);
      return;
    case SV_NODE_SEQ:
      if (n->n == 0)
        {
          sv_buf_add (b, " []");
          add_origin_comment (b, &n->origin);
          sv_buf_addc (b, '\n');
          return;
        }
      sv_buf_addc (b, '\n');
      for (size_t i = 0; i < n->n; i++)
        {
          const struct sv_node *it = n->items[i];
          if (it->kind == SV_NODE_MAP && it->n > 0)
            {
              add_map (b, f, it, indent + 4, true);
              continue;
            }
          add_indent (b, indent + 2);
          sv_buf_add (b, "-");
          if (it->kind == SV_NODE_SCALAR)
            add_scalar (b, f, it, indent + 2);
          else
            {
              sv_buf_add (b, it->kind == SV_NODE_MAP ? " {}" : " ~");
              add_origin_comment (b, &it->origin);
              sv_buf_addc (b, '\n');
            }
        }
      return;
    }
}

static void
add_map (struct sv_buf *b, const struct sv_field *mf, const struct sv_node *map, int indent,
         bool dash)
{
  /* Schema order, not file order: the same layout whatever the input. */
  for (size_t i = 0; i < mf->n_fields; i++)
    {
      const struct sv_node *n = sv_node_get (map, mf->fields[i].key);
      if (n == NULL)
        continue;
      add_entry (b, &mf->fields[i], n, indent, dash);
      dash = false;
    }
}

char *
sv_cfg_print (const struct sv_cfg_doc *doc)
{
  struct sv_buf b = { 0 };
  const struct sv_schema *s = sv_schema_get (NULL);
  if (doc->file_missing)
    sv_buf_addf (&b, "# startvm configuration: the environment and defaults (no %s)\n",
                 doc->file ? doc->file : "file");
  else
    sv_buf_addf (&b, "# startvm configuration: %s merged with the environment and defaults\n",
                 doc->file ? doc->file : "(no file)");
  if (s && doc->root && doc->root->kind == SV_NODE_MAP)
    add_map (&b, &s->root, doc->root, 0, false);
  return sv_buf_steal (&b);
}
