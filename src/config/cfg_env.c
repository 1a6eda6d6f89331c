/* Environment overrides: the variables named in the schema replace (or
 * create) nodes in the tree, with origin SV_ORIGIN_ENV.  Values stay text
 * for validation to parse by type, except where the variable's own syntax
 * differs from vm.yaml's: MEMORY_MB (plain MiB), NO_DHCP (negated boolean)
 * and DISKS and SHARES (compact lists). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_internal.h"
#include "cleanup.h"
#include "util.h"

static const char *
env_lookup (char *const *envp, const char *name)
{
  size_t n = strlen (name);
  for (char *const *e = envp; e && *e; e++)
    if (strncmp (*e, name, n) == 0 && (*e)[n] == '=')
      return *e + n + 1;
  return NULL;
}

/* "VAR=value: path" for messages. */
static char *
env_prefix (const char *var, const char *value, const char *path)
{
  struct sv_buf b = { 0 };
  struct sv_origin o = { .kind = SV_ORIGIN_ENV, .env = var };
  sv_buf_add_origin (&b, &o, value);
  sv_buf_addf (&b, ": %s", path);
  return sv_buf_steal (&b);
}

static bool
in_values (const struct sv_field *f, const char *s)
{
  for (size_t i = 0; f && i < f->n_values; i++)
    if (strcmp (f->values[i], s) == 0)
      return true;
  return false;
}

static void
add_values (struct sv_buf *b, const struct sv_field *f)
{
  for (size_t i = 0; f && i < f->n_values; i++)
    sv_buf_addf (b, "%s%s", i ? ", " : "", f->values[i]);
}

/* One DISKS entry, FILE[:FIELD]..., into a map node. */
static int
parse_disk (const struct sv_env_var *var, const char *all, const char *entry, size_t index,
            const struct sv_origin *o, struct sv_node *map, sv_error_t *err)
{
  const struct sv_field *disks = var->field;
  const struct sv_field *ffmt = sv_field_child (disks, "format");
  const struct sv_field *fbus = sv_field_child (disks, "bus");
  const struct sv_field *fmedia = sv_field_child (disks, "media");
  const struct sv_field *fsize = sv_field_child (disks, "size");
  cleanup_free char *path = sv_xasprintf ("disks[%zu]", index);
  cleanup_free char *prefix = env_prefix (var->name, all, path);
  cleanup_free char *copy = sv_xstrdup (entry);
  char *save = NULL;
  char *file = copy;
  char *rest = strchr (copy, ':');
  if (rest)
    *rest++ = '\0';
  if (*file == '\0')
    return sv_error_config (err,
                            "%s: an entry needs a file name first (FILE[:FIELD]..., e.g. "
                            "DISKS=/volumes/data.img:20G)",
                            prefix);
  sv_node_set (map, "file", o, sv_node_new_scalar (file, o));
  for (char *fld = rest ? strtok_r (rest, ":", &save) : NULL; fld;
       fld = strtok_r (NULL, ":", &save))
    {
      const char *key;
      bool ro = strcmp (fld, "ro") == 0;
      if (ro)
        key = "readonly";
      else if (in_values (ffmt, fld))
        key = "format";
      else if (in_values (fbus, fld))
        key = "bus";
      else if (in_values (fmedia, fld))
        key = "media";
      else if (isdigit ((unsigned char)*fld))
        {
          key = "size";
          uint64_t bytes = 0;
          cleanup_free char *what = sv_xasprintf ("%s.size", prefix);
          struct sv_buf d = { 0 };
          sv_buf_add_escaped (&d, fld, SV_ESC_MESSAGE);
          bool shown_ok = strcmp (d.data, fld) == 0;
          sv_buf_free (&d);
          if (!shown_ok)
            return sv_error_config (err, "%s: not a size (e.g. 20G)", what);
          if (sv_parse_size_bytes (fld, what, &bytes, err) < 0)
            return -1;
          if ((fsize->has_min && bytes < fsize->umin) || (fsize->has_max && bytes > fsize->umax))
            return sv_error_config (err, "%s: %s is out of range (accepted: %s to %s, e.g. 20G)",
                                    what, fld, fsize->min_text, fsize->max_text);
        }
      else
        {
          struct sv_buf b = { 0 }, d = { 0 }, de = { 0 };
          sv_buf_add_escaped (&d, fld, SV_ESC_MESSAGE);
          sv_buf_add_escaped (&de, entry, SV_ESC_MESSAGE);
          sv_buf_add (&b, "a size such as 20G, a format (");
          add_values (&b, ffmt);
          sv_buf_add (&b, "), a bus (");
          add_values (&b, fbus);
          sv_buf_add (&b, "), a media (");
          add_values (&b, fmedia);
          sv_buf_add (&b, ") or ro");
          sv_error_config (err, "%s: unknown field '%s' in '%s' (accepted after the file: %s)",
                           prefix, d.data, de.data, b.data);
          sv_buf_free (&b);
          sv_buf_free (&d);
          sv_buf_free (&de);
          return -1;
        }
      if (sv_node_get (map, key))
        {
          struct sv_buf de = { 0 };
          sv_buf_add_escaped (&de, entry, SV_ESC_MESSAGE);
          sv_error_config (err, "%s: '%s' gives the %s twice", prefix, de.data,
                           ro ? "ro flag" : key);
          sv_buf_free (&de);
          return -1;
        }
      sv_node_set (map, key, o, sv_node_new_scalar (ro ? "true" : fld, o));
    }
  return 0;
}

/* A comma-separated list of entries (DISKS, SHARES) into a list node. */
static int
parse_list (const struct sv_env_var *var, const char *value, const struct sv_origin *o,
            int (*parse_entry) (const struct sv_env_var *, const char *, const char *, size_t,
                                const struct sv_origin *, struct sv_node *, sv_error_t *),
            struct sv_node **out, sv_error_t *err)
{
  struct sv_node *seq = sv_node_new (SV_NODE_SEQ, o);
  cleanup_free char *copy = sv_xstrdup (value);
  size_t index = 0;
  char *p = copy;
  for (;;)
    {
      char *comma = strchr (p, ',');
      if (comma)
        *comma = '\0';
      if (*p == '\0')
        {
          cleanup_free char *prefix = env_prefix (var->name, value, var->field->path);
          sv_node_free (seq);
          return sv_error_config (err, "%s: entry %zu is empty (a stray ','?)", prefix, index + 1);
        }
      struct sv_node *map = sv_node_new (SV_NODE_MAP, o);
      sv_node_append (seq, map);
      if (parse_entry (var, value, p, index, o, map, err) < 0)
        {
          sv_node_free (seq);
          return -1;
        }
      index++;
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  *out = seq;
  return 0;
}

/* One SHARES entry, SOURCE:TAG[:ro], into a map node. */
static int
parse_share (const struct sv_env_var *var, const char *all, const char *entry, size_t index,
             const struct sv_origin *o, struct sv_node *map, sv_error_t *err)
{
  cleanup_free char *path = sv_xasprintf ("shares[%zu]", index);
  cleanup_free char *prefix = env_prefix (var->name, all, path);
  cleanup_free char *copy = sv_xstrdup (entry);
  char *fields[4] = { 0 };
  size_t n = 0;
  for (char *p = copy; p && n < 4; n++)
    {
      fields[n] = p;
      p = strchr (p, ':');
      if (p)
        *p++ = '\0';
    }
  if (n < 2 || n > 3 || *fields[0] == '\0' || *fields[1] == '\0'
      || (n == 3 && strcmp (fields[2], "ro") != 0))
    {
      struct sv_buf de = { 0 };
      sv_buf_add_escaped (&de, entry, SV_ESC_MESSAGE);
      sv_error_config (err,
                       "%s: '%s' is not SOURCE:TAG or SOURCE:TAG:ro (e.g. "
                       "SHARES=/data:data,/ro:docs:ro)",
                       prefix, de.data);
      sv_buf_free (&de);
      return -1;
    }
  sv_node_set (map, "source", o, sv_node_new_scalar (fields[0], o));
  sv_node_set (map, "tag", o, sv_node_new_scalar (fields[1], o));
  if (n == 3)
    sv_node_set (map, "readonly", o, sv_node_new_scalar ("true", o));
  return 0;
}

static int
apply_var (struct sv_cfg_doc *doc, const struct sv_env_var *var, const char *value, sv_error_t *err)
{
  const struct sv_field *f = var->field;
  struct sv_origin o = { .kind = SV_ORIGIN_ENV, .env = var->name };

  /* The chain of maps above the field (schema depth is small). */
  const struct sv_field *chain[8];
  size_t depth = 0;
  for (const struct sv_field *p = f->parent; p && p->key && depth < 8; p = p->parent)
    chain[depth++] = p;
  struct sv_node *map = doc->root;
  while (depth > 0)
    {
      const struct sv_field *p = chain[--depth];
      struct sv_node *n = sv_node_get (map, p->key);
      if (n && n->kind == SV_NODE_MAP)
        {
          map = n;
          continue;
        }
      if (n && n->kind != SV_NODE_NULL)
        return 0; /* the file has a wrong type here: validation names it */
      struct sv_node *m = sv_node_new (SV_NODE_MAP, &o);
      sv_node_set (map, p->key, &o, m);
      map = m;
    }

  struct sv_node *n = NULL;
  if (var->plain)
    {
      for (const char *c = value; *c; c++)
        if (!isdigit ((unsigned char)*c))
          {
            cleanup_free char *prefix = env_prefix (var->name, value, f->path);
            struct sv_buf d = { 0 };
            sv_buf_add_escaped (&d, value, SV_ESC_MESSAGE);
            sv_error_config (err,
                             "%s: '%s' is not a plain number of MiB (e.g. %s=2048; use MEMORY "
                             "for units)",
                             prefix, d.data, var->name);
            sv_buf_free (&d);
            return -1;
          }
      n = sv_node_new_scalar (value, &o);
    }
  else if (var->invert)
    {
      bool b;
      if (sv_parse_bool (value, var->name, &b, NULL) < 0)
        {
          cleanup_free char *prefix = env_prefix (var->name, value, f->path);
          struct sv_buf d = { 0 };
          sv_buf_add_escaped (&d, value, SV_ESC_MESSAGE);
          sv_error_config (err, "%s: '%s' is not a boolean (accepted: true, false, yes, no, 1, 0)",
                           prefix, d.data);
          sv_buf_free (&d);
          return -1;
        }
      n = sv_node_new_scalar (b ? "false" : "true", &o);
    }
  else if (f->type == SV_FT_MAPS)
    {
      bool shares = strcmp (f->key, "shares") == 0;
      if (parse_list (var, value, &o, shares ? parse_share : parse_disk, &n, err) < 0)
        return -1;
    }
  else
    n = sv_node_new_scalar (value, &o);
  /* Keep the file's key position when the key was there. */
  struct sv_origin ko = o;
  for (size_t i = 0; i < map->n; i++)
    if (strcmp (map->pairs[i].key, f->key) == 0)
      ko = map->pairs[i].key_origin;
  sv_node_set (map, f->key, &ko, n);
  return 0;
}

int
sv_cfg_merge_env (struct sv_cfg_doc *doc, char *const *envp, sv_error_t *err)
{
  const struct sv_schema *s = sv_schema_get (err);
  if (s == NULL)
    return -1;
  const struct sv_field *done = NULL;
  for (size_t i = 0; i < s->n_env; i++)
    {
      const struct sv_env_var *var = s->env[i];
      /* A field's variables are adjacent, first one set wins (MEMORY
       * before MEMORY_MB). */
      if (var->field == done)
        continue;
      const char *value = env_lookup (envp, var->name);
      /* Empty counts as unset: compose files pass "${CPUS}" through. */
      if (value == NULL || *value == '\0')
        continue;
      if (apply_var (doc, var, value, err) < 0)
        return -1;
      done = var->field;
    }
  return 0;
}
