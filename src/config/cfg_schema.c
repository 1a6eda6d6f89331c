/* The schema at run time: the constant field tree that tools/schema2c
 * generated from schemas/vm.schema at build time (so no start pays for
 * parsing it; tools/schema_load.c is the loader).  Validation of the node
 * tree against it (types, ranges, unknown keys with a "did you mean"),
 * defaults filled into the tree, and the conversion into struct
 * sv_vm_config through a table of members. */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_internal.h"
#include "cleanup.h"
#include "util.h"

/* ---- where each schema field lands in struct sv_vm_config ---- */

#define VM(m) offsetof (struct sv_vm_config, m)
#define DISK(m) offsetof (struct sv_disk_config, m)
#define SHARE(m) offsetof (struct sv_share_config, m)
const struct sv_binding sv_cfg_bindings[] = {
  { "name", SV_C_STR, VM (name), 0, 0, 0 },
  { "memory", SV_C_MIB, VM (memory_mib), 0, 0, 0 },
  { "cpus", SV_C_UINT, VM (cpus), 0, 0, 0 },
  { "accel", SV_C_ENUM, VM (accel), 0, 0, 0 },
  { "machine", SV_C_STR, VM (machine), 0, 0, 0 },
  { "firmware", SV_C_ENUM, VM (firmware), 0, 0, 0 },
  { "tpm", SV_C_BOOL, VM (tpm), 0, 0, 0 },
  { "boot", SV_C_MAP, 0, 0, 0, 0 },
  { "boot.kernel", SV_C_STR, VM (boot.kernel), 0, 0, 0 },
  { "boot.initrd", SV_C_STR, VM (boot.initrd), 0, 0, 0 },
  { "boot.append", SV_C_STR, VM (boot.append), 0, 0, 0 },
  { "disks", SV_C_MAPS, VM (disks), VM (n_disks), 0, sizeof (struct sv_disk_config) },
  { "disks.file", SV_C_STR, DISK (file), 0, 0, 0 },
  { "disks.base", SV_C_STR, DISK (base), 0, 0, 0 },
  { "disks.size", SV_C_BYTES, DISK (size), 0, 0, 0 },
  { "disks.format", SV_C_STR, DISK (format), 0, 0, 0 },
  { "disks.bus", SV_C_STR, DISK (bus), 0, 0, 0 },
  { "disks.cache", SV_C_STR, DISK (cache), 0, 0, 0 },
  { "disks.readonly", SV_C_BOOL, DISK (readonly), 0, 0, 0 },
  { "disks.media", SV_C_STR, DISK (media), 0, 0, 0 },
  { "disks.boot_index", SV_C_INT, DISK (boot_index), 0, -1, 0 },
  { "shares", SV_C_MAPS, VM (shares), VM (n_shares), 0, sizeof (struct sv_share_config) },
  { "shares.source", SV_C_STR, SHARE (source), 0, 0, 0 },
  { "shares.tag", SV_C_STR, SHARE (tag), 0, 0, 0 },
  { "shares.readonly", SV_C_BOOL, SHARE (readonly), 0, 0, 0 },
  { "network", SV_C_MAP, 0, 0, 0, 0 },
  { "network.dhcp", SV_C_BOOL, VM (network.dhcp), 0, 0, 0 },
  { "network.ip_prefix", SV_C_STR, VM (network.ip_prefix), 0, 0, 0 },
  { "network.wait", SV_C_MS, VM (network.wait_ms), 0, 0, 0 },
  { "network.interfaces", SV_C_STRV, VM (network.interfaces), VM (network.n_interfaces), 0, 0 },
  { "network.model", SV_C_STR, VM (network.model), 0, 0, 0 },
  { "console", SV_C_MAP, 0, 0, 0, 0 },
  { "console.serial", SV_C_ENUM, VM (console.serial), 0, 0, 0 },
  { "console.vnc", SV_C_BOOL, VM (console.vnc), 0, 0, 0 },
  { "console.qmp", SV_C_BOOL, VM (console.qmp), 0, 0, 0 },
  { "state_dir", SV_C_STR, VM (state_dir), 0, 0, 0 },
  { "data_dir", SV_C_STR, VM (data_dir), 0, 0, 0 },
  { "shutdown", SV_C_MAP, 0, 0, 0, 0 },
  { "shutdown.mode", SV_C_ENUM, VM (shutdown.mode), 0, 0, 0 },
  { "shutdown.timeout", SV_C_MS, VM (shutdown.timeout_ms), 0, 0, 0 },
  { "cloud_init", SV_C_MAP, 0, 0, 0, 0 },
  { "cloud_init.user_data", SV_C_STR, VM (cloud_init.user_data), 0, 0, 0 },
  { "cloud_init.meta_data", SV_C_STR, VM (cloud_init.meta_data), 0, 0, 0 },
  { "cloud_init.network_config", SV_C_STR, VM (cloud_init.network_config), 0, 0, 0 },
  { "qemu", SV_C_MAP, 0, 0, 0, 0 },
  { "qemu.binary", SV_C_STR, VM (qemu.binary), 0, 0, 0 },
  { "qemu.extra_args", SV_C_STRV, VM (qemu.extra_args), VM (qemu.n_extra_args), 0, 0 },
};
const size_t sv_cfg_n_bindings = sizeof sv_cfg_bindings / sizeof sv_cfg_bindings[0];

/* ---- names and descriptions ---- */

/* Optimal string alignment distance, capped: returns cap+1 when larger. */
static size_t
edit_distance (const char *a, const char *b, size_t cap)
{
  size_t la = strlen (a), lb = strlen (b);
  if ((la > lb ? la - lb : lb - la) > cap || lb > 62)
    return cap + 1;
  size_t rows[3][64];
  size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      cur[0] = i;
      size_t best = cur[0];
      for (size_t j = 1; j <= lb; j++)
        {
          int ca = tolower ((unsigned char)a[i - 1]), cb = tolower ((unsigned char)b[j - 1]);
          size_t cost = ca != cb;
          size_t v = prev[j] + 1;
          if (cur[j - 1] + 1 < v)
            v = cur[j - 1] + 1;
          if (prev[j - 1] + cost < v)
            v = prev[j - 1] + cost;
          if (i > 1 && j > 1 && ca == tolower ((unsigned char)b[j - 2])
              && tolower ((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < v)
            v = pp[j - 2] + 1;
          cur[j] = v;
          if (v < best)
            best = v;
        }
      if (best > cap)
        return cap + 1;
      size_t *t = pp;
      pp = prev;
      prev = cur;
      cur = t;
    }
  return prev[lb] > cap ? cap + 1 : prev[lb];
}

/* The closest of candidates, when close enough to be a likely typo. */
static const char *
did_you_mean (const char *word, const char *const *cands, size_t n)
{
  size_t len = strlen (word);
  size_t cap = len <= 3 ? 1 : 2;
  const char *best = NULL;
  size_t best_d = cap + 1;
  for (size_t i = 0; i < n; i++)
    {
      size_t d = edit_distance (word, cands[i], cap);
      if (d < best_d)
        {
          best_d = d;
          best = cands[i];
        }
    }
  return best;
}

const char *
sv_ftype_name (enum sv_ftype t)
{
  static const char *names[]
      = { "string", "int", "bool", "size", "duration", "enum", "strings", "maps", "map" };
  return (size_t)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

void
sv_field_describe (struct sv_buf *b, const struct sv_field *f, bool for_docs)
{
  const char *a = for_docs ? "" : "a ";
  switch (f->type)
    {
    case SV_FT_STRING:
      sv_buf_addf (b, "%sstring", a);
      break;
    case SV_FT_BOOL:
      sv_buf_add (b, for_docs ? "bool" : "a boolean (true or false)");
      break;
    case SV_FT_INT:
    case SV_FT_SIZE:
    case SV_FT_DURATION:
      if (for_docs)
        {
          sv_buf_add (b, sv_ftype_name (f->type));
          if (f->min_text && f->max_text)
            sv_buf_addf (b, ", %s to %s", f->min_text, f->max_text);
          else if (f->min_text)
            sv_buf_addf (b, ", at least %s", f->min_text);
          else if (f->max_text)
            sv_buf_addf (b, ", at most %s", f->max_text);
        }
      else if (f->type == SV_FT_INT)
        sv_buf_addf (b, "an integer from %lld to %lld", f->imin, f->imax);
      else if (f->type == SV_FT_SIZE)
        sv_buf_addf (b, "a size such as %s", f->example ? f->example : "2G");
      else
        sv_buf_addf (b, "a duration such as %s", f->example ? f->example : "60s");
      break;
    case SV_FT_ENUM:
      sv_buf_add (b, "one of ");
      for (size_t i = 0; i < f->n_values; i++)
        sv_buf_addf (b, for_docs ? "%s`%s`" : "%s%s", i ? ", " : "", f->values[i]);
      break;
    case SV_FT_STRINGS:
      sv_buf_addf (b, "%slist of strings", a);
      break;
    case SV_FT_MAPS:
      sv_buf_addf (b, "%slist of maps", a);
      break;
    case SV_FT_MAP:
      sv_buf_add (b, for_docs ? "map" : "a map of keys");
      break;
    }
  if (for_docs && f->required)
    sv_buf_add (b, ", required");
}

const struct sv_field *
sv_field_child (const struct sv_field *map, const char *key)
{
  for (size_t i = 0; i < map->n_fields; i++)
    if (strcmp (map->fields[i].key, key) == 0)
      return &map->fields[i];
  return NULL;
}

/* ---- scalar values ---- */

struct value
{
  long long i;
  uint64_t u; /* size in bytes, duration in ms */
  bool b;
  size_t e; /* enum index */
};

static bool
valid_ip_prefix (const char *s)
{
  int octets = 0;
  const char *p = s;
  while (*p)
    {
      if (!isdigit ((unsigned char)*p))
        return false;
      unsigned v = 0;
      int digits = 0;
      while (isdigit ((unsigned char)*p))
        {
          v = v * 10 + (unsigned)(*p++ - '0');
          if (++digits > 3 || v > 255)
            return false;
        }
      octets++;
      if (*p == '.')
        {
          p++;
          if (octets == 4)
            return false;
        }
      else if (*p)
        return false;
    }
  return octets >= 1;
}

static bool
valid_ifname (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 15 || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return false;
  for (const char *p = s; *p; p++)
    if (*p == '/' || *p == ':' || isspace ((unsigned char)*p) || (unsigned char)*p < 0x20)
      return false;
  return true;
}

/* "e.g. 2" in a file, "e.g. CPUS=2" for a variable. */
static void
add_example (struct sv_buf *b, const struct sv_field *f, const char *env)
{
  const char *ex = f->example ? f->example : f->dflt;
  if (ex == NULL)
    return;
  if (env)
    sv_buf_addf (b, ", e.g. %s=%s", env, ex);
  else
    sv_buf_addf (b, ", e.g. %s", ex);
}

/* Parses one scalar text as field f.  prefix names the place for messages
 * ("vm.yaml:3:7: cpus"); env is the variable when the text came from one. */
static int
parse_value (const struct sv_field *f, const char *text, const char *prefix, const char *env,
             struct value *v, sv_error_t *err)
{
  struct sv_buf d = { 0 }, m = { 0 };
  sv_buf_add_escaped (&d, text, SV_ESC_MESSAGE);
  int ret = 0;
  switch (f->type)
    {
    case SV_FT_STRING:
    case SV_FT_STRINGS:
      switch (f->check)
        {
        case SV_CHECK_NONE:
          break;
        case SV_CHECK_NONEMPTY:
          if (*text == '\0')
            ret = sv_error_config (err, "%s: must not be empty (e.g. %s)", prefix,
                                   f->example ? f->example : "x");
          break;
        case SV_CHECK_ABSOLUTE_PATH:
          if (text[0] != '/')
            ret = sv_error_config (err, "%s: '%s' is not an absolute path (e.g. %s)", prefix,
                                   d.data, f->example ? f->example : "/x");
          break;
        case SV_CHECK_IP_PREFIX:
          if (!valid_ip_prefix (text))
            ret = sv_error_config (err,
                                   "%s: '%s' is not an IPv4 prefix (1 to 4 dotted numbers from 0 "
                                   "to 255, e.g. %s)",
                                   prefix, d.data, f->example ? f->example : "10.42");
          break;
        case SV_CHECK_IFNAME:
          if (!valid_ifname (text))
            ret = sv_error_config (err,
                                   "%s: '%s' is not an interface name (1 to 15 characters "
                                   "without '/', ':' or spaces, e.g. %s)",
                                   prefix, d.data, f->example ? f->example : "eth0");
          break;
        }
      break;
    case SV_FT_INT:
      {
        const char *p = text;
        char *end = NULL;
        errno = 0;
        long long n = isdigit ((unsigned char)*p)
                              || ((*p == '-' || *p == '+') && isdigit ((unsigned char)p[1]))
                          ? strtoll (p, &end, 10)
                          : 0;
        if (end == NULL || *end != '\0')
          {
            sv_buf_addf (&m, "accepted: %lld to %lld", f->imin, f->imax);
            add_example (&m, f, env);
            ret = sv_error_config (err, "%s: '%s' is not an integer (%s)", prefix, d.data, m.data);
          }
        else if (errno == ERANGE || n < f->imin || n > f->imax)
          {
            sv_buf_addf (&m, "accepted: %lld to %lld", f->imin, f->imax);
            add_example (&m, f, env);
            ret = sv_error_config (err, "%s: %s is out of range (%s)", prefix, d.data, m.data);
          }
        else
          v->i = n;
        break;
      }
    case SV_FT_BOOL:
      if (sv_parse_bool (text, prefix, &v->b, NULL) < 0)
        ret = sv_error_config (err,
                               "%s: '%s' is not a boolean (accepted: true, false, yes, no, 1, 0)",
                               prefix, d.data);
      break;
    case SV_FT_SIZE:
    case SV_FT_DURATION:
      {
        bool size = f->type == SV_FT_SIZE;
        uint64_t u = 0;
        /* The parsers quote the raw text: keep hostile text out of them. */
        if (strcmp (d.data, text) != 0)
          {
            ret = sv_error_config (err, "%s: '%s' is not a %s (e.g. %s)", prefix, d.data,
                                   size ? "size" : "duration",
                                   f->example ? f->example
                                   : size     ? "2G"
                                              : "60s");
            break;
          }
        ret = size ? sv_parse_size_bytes (text, prefix, &u, err)
                   : sv_parse_duration_ms (text, prefix, &u, err);
        if (ret < 0)
          break;
        if ((f->has_min && u < f->umin) || (f->has_max && u > f->umax))
          {
            if (f->has_min && f->has_max)
              sv_buf_addf (&m, "accepted: %s to %s", f->min_text, f->max_text);
            else if (f->has_min)
              sv_buf_addf (&m, "accepted: at least %s", f->min_text);
            else
              sv_buf_addf (&m, "accepted: at most %s", f->max_text);
            add_example (&m, f, env);
            ret = sv_error_config (err, "%s: %s is out of range (%s)", prefix, d.data, m.data);
            break;
          }
        v->u = u;
        break;
      }
    case SV_FT_ENUM:
      {
        for (size_t i = 0; i < f->n_values; i++)
          if (strcmp (f->values[i], text) == 0)
            {
              v->e = i;
              goto out;
            }
        sv_buf_add (&m, "accepted: ");
        for (size_t i = 0; i < f->n_values; i++)
          sv_buf_addf (&m, "%s%s", i ? ", " : "", f->values[i]);
        const char *near = did_you_mean (text, f->values, f->n_values);
        if (near)
          sv_buf_addf (&m, "; did you mean '%s'?", near);
        ret = sv_error_config (err, "%s: '%s' is not a valid value (%s)", prefix, d.data, m.data);
        break;
      }
    case SV_FT_MAPS:
    case SV_FT_MAP:
      break;
    }
out:
  sv_buf_free (&d);
  sv_buf_free (&m);
  return ret;
}

int
sv_field_check_text (const struct sv_field *f, const char *text, const char *what, sv_error_t *err)
{
  struct value v;
  return parse_value (f, text, what, NULL, &v, err);
}

/* ---- validation ---- */

static const char *
kind_text (const struct sv_node *n)
{
  switch (n->kind)
    {
    case SV_NODE_SEQ:
      return "a list";
    case SV_NODE_MAP:
      return "a map";
    case SV_NODE_NULL:
      return "nothing";
    case SV_NODE_SCALAR:
      return n->quoted ? "a quoted string" : "a single value";
    }
  return "?";
}

/* "ORIGIN: PATH" */
static char *
node_prefix (const struct sv_origin *o, const char *value, const char *path)
{
  struct sv_buf b = { 0 };
  sv_buf_add_origin (&b, o, value);
  if (path && *path)
    sv_buf_addf (&b, ": %s", path);
  return sv_buf_steal (&b);
}

static int
type_error (const struct sv_field *f, const struct sv_node *n, const char *path, sv_error_t *err)
{
  cleanup_free char *prefix = node_prefix (&n->origin, n->scalar, path);
  struct sv_buf b = { 0 };
  sv_field_describe (&b, f, false);
  if (n->kind == SV_NODE_SCALAR && n->quoted && (f->type == SV_FT_INT || f->type == SV_FT_BOOL))
    {
      sv_buf_add (&b, ", got a quoted string (\"");
      sv_buf_add_escaped (&b, n->scalar, SV_ESC_MESSAGE);
      sv_buf_add (&b, "\"): remove the quotes");
    }
  else
    sv_buf_addf (&b, ", got %s", kind_text (n));
  sv_error_config (err, "%s: expected %s", prefix, b.data);
  sv_buf_free (&b);
  return -1;
}

static struct sv_node *
default_node (const struct sv_field *f)
{
  return sv_node_new_scalar (f->dflt, &(struct sv_origin){ .kind = SV_ORIGIN_DEFAULT });
}

static bool
has_defaults (const struct sv_field *f)
{
  for (size_t i = 0; i < f->n_fields; i++)
    if (f->fields[i].dflt || (f->fields[i].type == SV_FT_MAP && has_defaults (&f->fields[i])))
      return true;
  return false;
}

static int validate_map (const struct sv_field *mf, struct sv_node *map, const char *path,
                         sv_error_t *err);

static char *
join_path (const char *path, const char *key)
{
  return sv_xasprintf ("%s%s%s", path && *path ? path : "", path && *path ? "." : "", key);
}

static int
validate_value (const struct sv_field *f, struct sv_node *n, const char *path, sv_error_t *err)
{
  if (n->kind == SV_NODE_NULL)
    return 0; /* absent: the default pass decides */
  switch (f->type)
    {
    case SV_FT_MAP:
      if (n->kind != SV_NODE_MAP)
        return type_error (f, n, path, err);
      return validate_map (f, n, path, err);
    case SV_FT_MAPS:
    case SV_FT_STRINGS:
      if (n->kind != SV_NODE_SEQ)
        return type_error (f, n, path, err);
      for (size_t i = 0; i < n->n; i++)
        {
          struct sv_node *it = n->items[i];
          cleanup_free char *ipath = sv_xasprintf ("%s[%zu]", path, i);
          if (f->type == SV_FT_MAPS)
            {
              if (it->kind != SV_NODE_MAP)
                {
                  cleanup_free char *prefix = node_prefix (&it->origin, it->scalar, ipath);
                  return sv_error_config (err, "%s: expected a map of keys, got %s", prefix,
                                          kind_text (it));
                }
              if (validate_map (f, it, ipath, err) < 0)
                return -1;
              continue;
            }
          if (it->kind != SV_NODE_SCALAR)
            {
              cleanup_free char *prefix = node_prefix (&it->origin, it->scalar, ipath);
              return sv_error_config (err, "%s: expected a string, got %s", prefix, kind_text (it));
            }
          cleanup_free char *prefix = node_prefix (&it->origin, it->scalar, ipath);
          struct value v;
          if (parse_value (f, it->scalar, prefix, NULL, &v, err) < 0)
            return -1;
        }
      return 0;
    default:
      break;
    }
  if (n->kind != SV_NODE_SCALAR)
    return type_error (f, n, path, err);
  bool env = n->origin.kind == SV_ORIGIN_ENV;
  /* A quoted scalar is a string; environment values are strings parsed by
   * type.  Sizes, durations and enum words are text anyway. */
  if (n->quoted && !env && (f->type == SV_FT_INT || f->type == SV_FT_BOOL))
    return type_error (f, n, path, err);
  cleanup_free char *prefix = node_prefix (&n->origin, n->scalar, path);
  struct value v;
  return parse_value (f, n->scalar, prefix, env ? n->origin.env : NULL, &v, err);
}

static int
unknown_key (const struct sv_field *mf, const struct sv_node_pair *p, const char *path,
             sv_error_t *err)
{
  const char *cands[64];
  size_t n = 0;
  for (size_t i = 0; i < mf->n_fields && n < 64; i++)
    cands[n++] = mf->fields[i].key;
  const char *near = did_you_mean (p->key, cands, n);
  cleanup_free char *prefix = node_prefix (&p->key_origin, p->key, path);
  struct sv_buf b = { 0 }, k = { 0 };
  sv_buf_add_escaped (&k, p->key, SV_ESC_MESSAGE);
  if (near)
    sv_buf_addf (&b, "did you mean '%s'?", near);
  else
    {
      sv_buf_add (&b, "accepted: ");
      for (size_t i = 0; i < n; i++)
        sv_buf_addf (&b, "%s%s", i ? ", " : "", cands[i]);
    }
  sv_error_config (err, "%s: unknown key '%s' (%s)", prefix, k.data, b.data);
  sv_buf_free (&b);
  sv_buf_free (&k);
  return -1;
}

static int
validate_map (const struct sv_field *mf, struct sv_node *map, const char *path, sv_error_t *err)
{
  for (size_t i = 0; i < map->n; i++)
    {
      struct sv_node_pair *p = &map->pairs[i];
      const struct sv_field *f = sv_field_child (mf, p->key);
      if (f == NULL)
        return unknown_key (mf, p, path, err);
      cleanup_free char *sub = join_path (path, p->key);
      if (validate_value (f, p->value, sub, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < mf->n_fields; i++)
    {
      const struct sv_field *f = &mf->fields[i];
      struct sv_node *n = sv_node_get (map, f->key);
      if (n && n->kind != SV_NODE_NULL)
        continue;
      if (f->required)
        {
          const struct sv_origin *o = n ? &n->origin : &map->origin;
          cleanup_free char *prefix = node_prefix (o, NULL, path);
          return sv_error_config (err, "%s: '%s' is required (e.g. %s: %s)", prefix, f->key, f->key,
                                  f->example ? f->example : "...");
        }
      if (f->dflt)
        sv_node_set (map, f->key, NULL, default_node (f));
      else if (f->type == SV_FT_MAP && has_defaults (f))
        {
          struct sv_origin o = n ? n->origin : (struct sv_origin){ .kind = SV_ORIGIN_DEFAULT };
          struct sv_node *m = sv_node_new (SV_NODE_MAP, &o);
          sv_node_set (map, f->key, NULL, m);
          cleanup_free char *sub = join_path (path, f->key);
          if (validate_map (f, m, sub, err) < 0)
            return -1;
        }
    }
  return 0;
}

/* ---- tree -> struct sv_vm_config ---- */

static void store_map (const struct sv_field *mf, const struct sv_node *map, char *base);

static void
store_field (const struct sv_field *f, const struct sv_node *n, char *base)
{
  const struct sv_binding *b = &sv_cfg_bindings[f->bind];
  void *p = base + b->off;
  bool set = n && n->kind != SV_NODE_NULL;
  struct value v = { 0 };
  if (set && n->kind == SV_NODE_SCALAR)
    parse_value (f, n->scalar, "", NULL, &v, NULL);
  switch (b->ct)
    {
    case SV_C_MAP:
      store_map (f, set ? n : NULL, base);
      break;
    case SV_C_STR:
      *(char **)p = set ? sv_xstrdup (n->scalar) : NULL;
      break;
    case SV_C_UINT:
      *(unsigned *)p = set ? (unsigned)v.i : 0;
      break;
    case SV_C_INT:
      *(int *)p = set ? (int)v.i : (int)b->unset;
      break;
    case SV_C_MIB:
      *(uint64_t *)p = set ? v.u >> 20 : 0;
      break;
    case SV_C_BYTES:
    case SV_C_MS:
      *(uint64_t *)p = set ? v.u : 0;
      break;
    case SV_C_BOOL:
      *(bool *)p = set && v.b;
      break;
    case SV_C_ENUM:
      *(int *)p = set ? (int)v.e : 0;
      break;
    case SV_C_STRV:
      {
        char ***vp = p;
        size_t *np = (size_t *)(base + b->off_n);
        *vp = NULL;
        *np = 0;
        if (!set)
          break;
        /* Present, even when empty: "interfaces: []" means none. */
        *vp = sv_xcalloc (n->n + 1, sizeof (char *));
        for (size_t i = 0; i < n->n; i++)
          (*vp)[i] = sv_xstrdup (n->items[i]->scalar);
        *np = n->n;
        break;
      }
    case SV_C_MAPS:
      {
        char **dp = p;
        size_t *np = (size_t *)(base + b->off_n);
        *dp = NULL;
        *np = 0;
        if (!set || n->n == 0)
          break;
        *dp = sv_xcalloc (n->n, b->elem);
        for (size_t i = 0; i < n->n; i++)
          store_map (f, n->items[i], *dp + i * b->elem);
        *np = n->n;
        break;
      }
    }
}

static void
store_map (const struct sv_field *mf, const struct sv_node *map, char *base)
{
  for (size_t i = 0; i < mf->n_fields; i++)
    store_field (&mf->fields[i], map ? sv_node_get (map, mf->fields[i].key) : NULL, base);
}

/* q35 or a versioned q35 ("pc-q35-7.2"): SMM for OVMF's secboot build,
 * and the TPM's CRB interface, need it. */
bool
sv_machine_is_q35 (const char *machine)
{
  if (machine == NULL)
    return true; /* the schema's default */
  size_t n = strcspn (machine, ",");
  return (n == 3 && strncmp (machine, "q35", 3) == 0) || strncmp (machine, "pc-q35-", 7) == 0;
}

/* The message prefix for a field that is set: its origin and its path. */
static char *
field_prefix (const struct sv_cfg_doc *doc, const char *map, const char *key)
{
  const struct sv_node *n = doc->root;
  if (map)
    n = sv_node_get (n, map);
  n = n ? sv_node_get (n, key) : NULL;
  cleanup_free char *path = join_path (map, key);
  if (n == NULL)
    return sv_xstrdup (path);
  return node_prefix (&n->origin, n->kind == SV_NODE_SCALAR ? n->scalar : NULL, path);
}

/* The message prefix for field key of shares[i], or for the list when
 * key is NULL.  From SHARES, the variable's whole value (the list as it
 * was given), as for its syntax errors. */
static char *
share_prefix (const struct sv_cfg_doc *doc, const struct sv_vm_config *c, size_t i, const char *key)
{
  const struct sv_node *n = sv_node_get (doc->root, "shares");
  if (key)
    {
      n = n && n->kind == SV_NODE_SEQ && i < n->n ? n->items[i] : NULL;
      n = n && n->kind == SV_NODE_MAP ? sv_node_get (n, key) : NULL;
    }
  cleanup_free char *path = key ? sv_xasprintf ("shares[%zu].%s", i, key) : sv_xstrdup ("shares");
  if (n == NULL)
    return sv_xstrdup (path);
  if (n->origin.kind != SV_ORIGIN_ENV)
    return node_prefix (&n->origin, n->kind == SV_NODE_SCALAR ? n->scalar : NULL, path);
  struct sv_buf v = { 0 };
  for (size_t j = 0; j < c->n_shares; j++)
    sv_buf_addf (&v, "%s%s:%s%s", j ? "," : "", c->shares[j].source, c->shares[j].tag,
                 c->shares[j].readonly ? ":ro" : "");
  char *r = node_prefix (&n->origin, v.data, path);
  sv_buf_free (&v);
  return r;
}

/* Tags name the share in QEMU's options and in the guest's mount: a
 * plain word, each once. */
static int
check_shares (const struct sv_cfg_doc *doc, const struct sv_vm_config *c, sv_error_t *err)
{
  bool rw = false;
  for (size_t i = 0; i < c->n_shares; i++)
    {
      const char *tag = c->shares[i].tag;
      size_t len = strlen (tag);
      if (len > SV_SHARE_TAG_MAX
          || strspn (tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789._-")
                 != len)
        {
          cleanup_free char *p = share_prefix (doc, c, i, "tag");
          return sv_error_config (err,
                                  "%s: a tag is 1 to %d letters, digits, '.', '_' or '-' (e.g. "
                                  "data)",
                                  p, SV_SHARE_TAG_MAX);
        }
      for (size_t j = 0; j < i; j++)
        if (strcmp (c->shares[j].tag, tag) == 0)
          {
            cleanup_free char *p = share_prefix (doc, c, i, "tag");
            return sv_error_config (err, "%s: the tag %s is already used by shares[%zu]", p, tag,
                                    j);
          }
      rw |= !c->shares[i].readonly;
    }
  if (rw && c->shutdown.mode == SV_SHUTDOWN_EXEC)
    {
      cleanup_free char *p = share_prefix (doc, c, 0, NULL);
      return sv_error_config (err,
                              "%s: read-write shares need shutdown.mode acpi: with exec, QEMU "
                              "replaces startvm and nobody supervises virtiofsd or stops it",
                              p);
    }
  if (c->n_shares && c->shutdown.mode == SV_SHUTDOWN_SUSPEND)
    {
      cleanup_free char *p = share_prefix (doc, c, 0, NULL);
      return sv_error_config (err,
                              "%s: shares cannot be suspended: QEMU 7.2 cannot migrate a "
                              "virtiofs device, nor a 9p one the guest has mounted; use "
                              "shutdown.mode acpi, or no shares",
                              p);
    }
  return 0;
}

/* Rules between fields, which the schema cannot say. */
static int
check_combinations (const struct sv_cfg_doc *doc, const struct sv_vm_config *c, sv_error_t *err)
{
  if (check_shares (doc, c, err) < 0)
    return -1;
  if (c->firmware == SV_FIRMWARE_UEFI_SECURE && c->boot.kernel)
    {
      cleanup_free char *p = field_prefix (doc, NULL, "firmware");
      return sv_error_config (
          err,
          "%s: uefi-secure cannot boot boot.kernel: QEMU hands the kernel to OVMF's own "
          "loader, which starts it without checking its signature while the guest reports "
          "Secure Boot on; boot a signed bootloader from a disk, or use firmware: uefi",
          p);
    }
  if (c->firmware == SV_FIRMWARE_UEFI_SECURE && !sv_machine_is_q35 (c->machine))
    {
      cleanup_free char *p = field_prefix (doc, NULL, "firmware");
      return sv_error_config (err,
                              "%s: uefi-secure needs machine q35: OVMF's Secure Boot build "
                              "needs SMM, which it only supports on q35 (machine is %s)",
                              p, c->machine);
    }
  if (c->tpm && c->shutdown.mode == SV_SHUTDOWN_EXEC)
    {
      cleanup_free char *p = field_prefix (doc, NULL, "tpm");
      return sv_error_config (err,
                              "%s: the TPM needs shutdown.mode acpi: with exec, QEMU replaces "
                              "startvm and nobody supervises swtpm or stops it after QEMU",
                              p);
    }
  return 0;
}

int
sv_cfg_validate (struct sv_cfg_doc *doc, struct sv_vm_config *out, sv_error_t *err)
{
  *out = (struct sv_vm_config){ 0 };
  const struct sv_schema *s = sv_schema_get (err);
  if (s == NULL)
    return -1;
  if (validate_map (&s->root, doc->root, "", err) < 0)
    return -1;
  /* A limit of startvm's arrays rather than a property of the schema. */
  const struct sv_node *disks = sv_node_get (doc->root, "disks");
  if (disks && disks->kind == SV_NODE_SEQ && disks->n > SV_MAX_DISKS)
    return sv_error_config (err, "disks: %zu disks listed, at most %d are supported", disks->n,
                            SV_MAX_DISKS);
  const struct sv_node *shares = sv_node_get (doc->root, "shares");
  if (shares && shares->kind == SV_NODE_SEQ && shares->n > SV_MAX_SHARES)
    return sv_error_config (err, "shares: %zu shares listed, at most %d are supported", shares->n,
                            SV_MAX_SHARES);
  store_map (&s->root, doc->root, (char *)out);
  if (check_combinations (doc, out, err) < 0)
    {
      sv_vm_config_free (out);
      return -1;
    }
  return 0;
}
