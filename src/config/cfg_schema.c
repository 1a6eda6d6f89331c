/* The schema: at run time the constant field tree that tools/schema2c.c
 * generated from schemas/vm.schema at build time (so no start pays for
 * parsing it); with SV_SCHEMA_LOADER (only in that generator) the loader
 * that parses the embedded libconfig text and checks it against struct
 * sv_vm_config.  Validation of the node tree against it (types, ranges, unknown
 * keys with a "did you mean"), defaults filled into the tree, and the
 * conversion into struct sv_vm_config through a table of members. */
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

#ifdef SV_SCHEMA_LOADER
#include <libconfig.h>
#include <pthread.h>

extern const char sv_vm_schema_text[];
#endif

/* ---- where each schema field lands in struct sv_vm_config ---- */

enum ctype
{
  C_MAP, /* no storage: its children have their own */
  C_STR,
  C_UINT,
  C_INT,
  C_MIB,   /* size -> uint64_t MiB */
  C_BYTES, /* size -> uint64_t bytes */
  C_MS,    /* duration -> uint64_t ms */
  C_BOOL,
  C_ENUM, /* enum -> C enum whose values follow the schema's order */
  C_STRV, /* strings -> char ** + size_t */
  C_MAPS, /* maps -> array of structs + size_t */
};

struct binding
{
  const char *path;
  enum ctype ct;
  size_t off, off_n;
  long long unset; /* C_INT without a value */
};

#define VM(m) offsetof (struct sv_vm_config, m)
#define DISK(m) offsetof (struct sv_disk_config, m)
static const struct binding bindings[] = {
  { "name", C_STR, VM (name), 0, 0 },
  { "memory", C_MIB, VM (memory_mib), 0, 0 },
  { "cpus", C_UINT, VM (cpus), 0, 0 },
  { "accel", C_ENUM, VM (accel), 0, 0 },
  { "machine", C_STR, VM (machine), 0, 0 },
  { "boot", C_MAP, 0, 0, 0 },
  { "boot.kernel", C_STR, VM (boot.kernel), 0, 0 },
  { "boot.initrd", C_STR, VM (boot.initrd), 0, 0 },
  { "boot.append", C_STR, VM (boot.append), 0, 0 },
  { "disks", C_MAPS, VM (disks), VM (n_disks), 0 },
  { "disks.file", C_STR, DISK (file), 0, 0 },
  { "disks.base", C_STR, DISK (base), 0, 0 },
  { "disks.size", C_BYTES, DISK (size), 0, 0 },
  { "disks.format", C_STR, DISK (format), 0, 0 },
  { "disks.bus", C_STR, DISK (bus), 0, 0 },
  { "disks.cache", C_STR, DISK (cache), 0, 0 },
  { "disks.readonly", C_BOOL, DISK (readonly), 0, 0 },
  { "disks.media", C_STR, DISK (media), 0, 0 },
  { "disks.boot_index", C_INT, DISK (boot_index), 0, -1 },
  { "network", C_MAP, 0, 0, 0 },
  { "network.dhcp", C_BOOL, VM (network.dhcp), 0, 0 },
  { "network.ip_prefix", C_STR, VM (network.ip_prefix), 0, 0 },
  { "network.wait", C_MS, VM (network.wait_ms), 0, 0 },
  { "network.interfaces", C_STRV, VM (network.interfaces), VM (network.n_interfaces), 0 },
  { "network.model", C_STR, VM (network.model), 0, 0 },
  { "console", C_MAP, 0, 0, 0 },
  { "console.serial", C_ENUM, VM (console.serial), 0, 0 },
  { "console.vnc", C_BOOL, VM (console.vnc), 0, 0 },
  { "console.qmp", C_BOOL, VM (console.qmp), 0, 0 },
  { "state_dir", C_STR, VM (state_dir), 0, 0 },
  { "shutdown", C_MAP, 0, 0, 0 },
  { "shutdown.mode", C_ENUM, VM (shutdown.mode), 0, 0 },
  { "shutdown.timeout", C_MS, VM (shutdown.timeout_ms), 0, 0 },
  { "cloud_init", C_MAP, 0, 0, 0 },
  { "cloud_init.user_data", C_STR, VM (cloud_init.user_data), 0, 0 },
  { "cloud_init.meta_data", C_STR, VM (cloud_init.meta_data), 0, 0 },
  { "cloud_init.network_config", C_STR, VM (cloud_init.network_config), 0, 0 },
  { "qemu", C_MAP, 0, 0, 0 },
  { "qemu.binary", C_STR, VM (qemu.binary), 0, 0 },
  { "qemu.extra_args", C_STRV, VM (qemu.extra_args), VM (qemu.n_extra_args), 0 },
};
#define N_BINDINGS (sizeof bindings / sizeof bindings[0])

#ifdef SV_SCHEMA_LOADER
/* Which schema types each C representation can hold. */
static bool
binding_fits (enum ctype ct, enum sv_ftype t)
{
  switch (ct)
    {
    case C_MAP:
      return t == SV_FT_MAP;
    case C_STR:
      return t == SV_FT_STRING || t == SV_FT_ENUM;
    case C_UINT:
    case C_INT:
      return t == SV_FT_INT;
    case C_MIB:
    case C_BYTES:
      return t == SV_FT_SIZE;
    case C_MS:
      return t == SV_FT_DURATION;
    case C_BOOL:
      return t == SV_FT_BOOL;
    case C_ENUM:
      return t == SV_FT_ENUM;
    case C_STRV:
      return t == SV_FT_STRINGS;
    case C_MAPS:
      return t == SV_FT_MAPS;
    }
  return false;
}
#endif

/* ---- small shared helpers ---- */

void
sv_buf_add_display (struct sv_buf *b, const char *s)
{
  size_t n = 0;
  const unsigned char *p = (const unsigned char *)s;
  for (; *p; p++)
    {
      /* Cut long values on a character boundary. */
      if (n >= 60 && (*p & 0xc0) != 0x80)
        {
          sv_buf_add (b, "...");
          return;
        }
      if (*p < 0x20 || *p == 0x7f)
        sv_buf_addf (b, *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : "\\x%02x", *p);
      else
        sv_buf_addc (b, (char)*p);
      n++;
    }
  if (b->data == NULL)
    sv_buf_add (b, "");
}

void
sv_buf_add_origin (struct sv_buf *b, const struct sv_origin *o, const char *value)
{
  switch (o->kind)
    {
    case SV_ORIGIN_FILE:
      sv_buf_addf (b, "%s:%d:%d", o->file ? o->file : "?", o->line, o->col);
      break;
    case SV_ORIGIN_ENV:
      sv_buf_addf (b, "%s=", o->env);
      sv_buf_add_display (b, value ? value : "");
      break;
    case SV_ORIGIN_DEFAULT:
      sv_buf_add (b, "default");
      break;
    }
}

size_t
sv_edit_distance (const char *a, const char *b, size_t cap)
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
      size_t d = sv_edit_distance (word, cands[i], cap);
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

static void
add_expected (struct sv_buf *b, const struct sv_field *f)
{
  switch (f->type)
    {
    case SV_FT_STRING:
      sv_buf_add (b, "a string");
      break;
    case SV_FT_INT:
      sv_buf_addf (b, "an integer from %lld to %lld", f->imin, f->imax);
      break;
    case SV_FT_BOOL:
      sv_buf_add (b, "a boolean (true or false)");
      break;
    case SV_FT_SIZE:
      sv_buf_addf (b, "a size such as %s", f->example ? f->example : "2G");
      break;
    case SV_FT_DURATION:
      sv_buf_addf (b, "a duration such as %s", f->example ? f->example : "60s");
      break;
    case SV_FT_ENUM:
      sv_buf_add (b, "one of ");
      for (size_t i = 0; i < f->n_values; i++)
        sv_buf_addf (b, "%s%s", i ? ", " : "", f->values[i]);
      break;
    case SV_FT_STRINGS:
      sv_buf_add (b, "a list of strings");
      break;
    case SV_FT_MAPS:
      sv_buf_add (b, "a list of maps");
      break;
    case SV_FT_MAP:
      sv_buf_add (b, "a map of keys");
      break;
    }
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
  sv_buf_add_display (&d, text);
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

/* ---- loading the schema (build time only: tools/schema2c.c) ---- */

#ifdef SV_SCHEMA_LOADER
struct schema_store
{
  config_t cfg;
  struct sv_schema s;
  struct sv_buf err;
  char **paths; /* owned path strings */
  size_t n_paths;
  const struct sv_env_var **env; /* s.env */
};

static struct schema_store *store;
static pthread_once_t store_once = PTHREAD_ONCE_INIT;

__attribute__ ((format (printf, 3, 4))) static int
schema_fail (struct sv_buf *e, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = sv_xvasprintf (fmt, ap);
  va_end (ap);
  if (e->data == NULL)
    sv_buf_addf (e, "schemas/vm.schema: %s: %s", path ? path : "(top)", msg);
  free (msg);
  return -1;
}

static const char *
member_string (config_setting_t *s, const char *name)
{
  const char *v = NULL;
  if (config_setting_lookup_string (s, name, &v) != CONFIG_TRUE)
    return NULL;
  return v;
}

static void
free_fields (const struct sv_field *fields, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free ((void *)fields[i].values);
      free ((void *)fields[i].env);
      free_fields (fields[i].fields, fields[i].n_fields);
    }
  free ((void *)fields);
}

static int load_fields (struct schema_store *st, config_setting_t *group, struct sv_field *parent);

static int
load_env (struct schema_store *st, config_setting_t *env, struct sv_field *f)
{
  if (config_setting_type (env) == CONFIG_TYPE_STRING)
    {
      struct sv_env_var *v = sv_xcalloc (1, sizeof *v);
      *v = (struct sv_env_var){ .name = config_setting_get_string (env), .field = f };
      f->env = v;
      f->n_env = 1;
      return 0;
    }
  if (!config_setting_is_list (env))
    return schema_fail (&st->err, f->path, "env must be a name or a list of groups");
  f->n_env = (size_t)config_setting_length (env);
  struct sv_env_var *vars = sv_xcalloc (f->n_env ? f->n_env : 1, sizeof *vars);
  f->env = vars;
  for (size_t i = 0; i < f->n_env; i++)
    {
      config_setting_t *e = config_setting_get_elem (env, (unsigned)i);
      struct sv_env_var *v = &vars[i];
      int flag = 0;
      v->field = f;
      v->name = config_setting_is_group (e) ? member_string (e, "name") : NULL;
      if (v->name == NULL)
        return schema_fail (&st->err, f->path, "env entry %zu has no name", i);
      v->doc = member_string (e, "doc");
      if (config_setting_lookup_bool (e, "plain", &flag) == CONFIG_TRUE)
        v->plain = flag;
      if (config_setting_lookup_bool (e, "invert", &flag) == CONFIG_TRUE)
        v->invert = flag;
      if ((v->plain && f->type != SV_FT_SIZE) || (v->invert && f->type != SV_FT_BOOL))
        return schema_fail (&st->err, f->path, "env %s: plain needs a size, invert a bool",
                            v->name);
    }
  if (f->type == SV_FT_MAP || f->type == SV_FT_STRINGS)
    return schema_fail (&st->err, f->path, "env is not supported on a %s", sv_ftype_name (f->type));
  return 0;
}

static int
load_field (struct schema_store *st, config_setting_t *s, struct sv_field *f,
            struct sv_field *parent)
{
  enum
  {
    A_TYPE,
    A_DOC,
    A_DEFAULT,
    A_UNSET,
    A_MIN,
    A_MAX,
    A_VALUES,
    A_ENV,
    A_CHECK,
    A_REQUIRED,
    A_FIELDS,
    A_EXAMPLE,
    N_ATTRS
  };
  static const char *const attrs[N_ATTRS]
      = { "type",   "doc", "default", "unset",    "min",    "max",
          "values", "env", "check",   "required", "fields", "example" };
  static const char *const types[]
      = { "string", "int", "bool", "size", "duration", "enum", "strings", "maps", "map" };
  static const char *const checks[] = { "", "nonempty", "absolute-path", "ip-prefix", "ifname" };
  f->key = config_setting_name (s);
  f->parent = parent;
  f->bind = -1;
  if (parent->path)
    {
      char *p = sv_xasprintf ("%s.%s", parent->path, f->key);
      st->paths = sv_xrealloc (st->paths, (st->n_paths + 1) * sizeof *st->paths);
      st->paths[st->n_paths++] = p;
      f->path = p;
    }
  else
    f->path = f->key;
  if (!config_setting_is_group (s))
    return schema_fail (&st->err, f->path, "a field must be a group { type = ...; }");
  /* One pass over the members (libconfig's lookups are linear each). */
  config_setting_t *a[N_ATTRS] = { 0 };
  for (int i = 0; i < config_setting_length (s); i++)
    {
      config_setting_t *m = config_setting_get_elem (s, (unsigned)i);
      const char *name = config_setting_name (m);
      size_t k = 0;
      while (k < N_ATTRS && strcmp (attrs[k], name) != 0)
        k++;
      if (k == N_ATTRS)
        return schema_fail (&st->err, f->path, "unknown attribute '%s'", name);
      a[k] = m;
    }
#define ATTR_STRING(k) (a[k] ? config_setting_get_string (a[k]) : NULL)
  const char *type = ATTR_STRING (A_TYPE);
  size_t t = 0;
  while (type && t < sizeof types / sizeof types[0] && strcmp (types[t], type) != 0)
    t++;
  if (type == NULL || t == sizeof types / sizeof types[0])
    return schema_fail (&st->err, f->path, "missing or unknown type");
  f->type = (enum sv_ftype)t;
  f->doc = ATTR_STRING (A_DOC);
  if (f->doc == NULL)
    return schema_fail (&st->err, f->path, "every field needs a doc");
  f->dflt = ATTR_STRING (A_DEFAULT);
  f->unset = ATTR_STRING (A_UNSET);
  f->example = ATTR_STRING (A_EXAMPLE);
  f->min_text = ATTR_STRING (A_MIN);
  f->max_text = ATTR_STRING (A_MAX);
  if (a[A_REQUIRED])
    f->required = config_setting_get_bool (a[A_REQUIRED]);
  const char *check = ATTR_STRING (A_CHECK);
  if (check)
    {
      size_t c = 1;
      while (c < sizeof checks / sizeof checks[0] && strcmp (checks[c], check) != 0)
        c++;
      if (c == sizeof checks / sizeof checks[0])
        return schema_fail (&st->err, f->path, "unknown check '%s'", check);
      f->check = (enum sv_fcheck)c;
    }

  config_setting_t *values = a[A_VALUES];
  if ((values != NULL) != (f->type == SV_FT_ENUM))
    return schema_fail (&st->err, f->path, "values go with type enum, and only there");
  if (values)
    {
      f->n_values = (size_t)config_setting_length (values);
      const char **vals = sv_xcalloc (f->n_values ? f->n_values : 1, sizeof *vals);
      f->values = vals;
      for (size_t i = 0; i < f->n_values; i++)
        if ((vals[i] = config_setting_get_string_elem (values, (int)i)) == NULL)
          return schema_fail (&st->err, f->path, "values must be strings");
      if (f->n_values == 0)
        return schema_fail (&st->err, f->path, "an enum needs values");
    }

  /* Ranges. */
  sv_error_t e = NULL;
  if (f->type == SV_FT_INT)
    {
      f->imin = LLONG_MIN;
      f->imax = LLONG_MAX;
      if (f->min_text)
        f->imin = strtoll (f->min_text, NULL, 10);
      if (f->max_text)
        f->imax = strtoll (f->max_text, NULL, 10);
      f->has_min = f->min_text != NULL;
      f->has_max = f->max_text != NULL;
    }
  else if (f->type == SV_FT_SIZE || f->type == SV_FT_DURATION)
    {
      int (*parse) (const char *, const char *, uint64_t *, sv_error_t *)
          = f->type == SV_FT_SIZE ? sv_parse_size_bytes : sv_parse_duration_ms;
      if (f->min_text && parse (f->min_text, f->path, &f->umin, &e) < 0)
        goto bad_value;
      if (f->max_text && parse (f->max_text, f->path, &f->umax, &e) < 0)
        goto bad_value;
      f->has_min = f->min_text != NULL;
      f->has_max = f->max_text != NULL;
    }
  else if (f->min_text || f->max_text)
    return schema_fail (&st->err, f->path, "min/max only go with int, size and duration");

  config_setting_t *env = a[A_ENV];
  if (env && load_env (st, env, f) < 0)
    return -1;

  config_setting_t *sub = a[A_FIELDS];
  if ((sub != NULL) != (f->type == SV_FT_MAP || f->type == SV_FT_MAPS))
    return schema_fail (&st->err, f->path, "fields go with map and maps, and only there");
  if (sub && load_fields (st, sub, f) < 0)
    return -1;
  if (f->dflt && (f->type == SV_FT_MAP || f->type == SV_FT_MAPS || f->type == SV_FT_STRINGS))
    return schema_fail (&st->err, f->path, "a %s cannot have a default", sv_ftype_name (f->type));
  if (f->dflt)
    {
      struct value v;
      if (parse_value (f, f->dflt, f->path, NULL, &v, &e) < 0)
        goto bad_value;
    }
  if (f->example && f->type != SV_FT_MAP && f->type != SV_FT_MAPS)
    {
      struct value v;
      if (parse_value (f, f->example, f->path, NULL, &v, &e) < 0)
        goto bad_value;
    }
  for (size_t i = 0; i < N_BINDINGS; i++)
    if (strcmp (bindings[i].path, f->path) == 0)
      f->bind = (int)i;
  if (f->bind < 0 || !binding_fits (bindings[f->bind].ct, f->type))
    return schema_fail (&st->err, f->path, "no matching member in struct sv_vm_config");
  return 0;
bad_value:
  schema_fail (&st->err, f->path, "%s", e->msg);
  sv_error_release (&e);
  return -1;
#undef ATTR_STRING
}

static int
load_fields (struct schema_store *st, config_setting_t *group, struct sv_field *parent)
{
  if (!config_setting_is_group (group))
    return schema_fail (&st->err, parent->path, "fields must be a group");
  parent->n_fields = (size_t)config_setting_length (group);
  struct sv_field *fields = sv_xcalloc (parent->n_fields ? parent->n_fields : 1, sizeof *fields);
  parent->fields = fields;
  for (size_t i = 0; i < parent->n_fields; i++)
    if (load_field (st, config_setting_get_elem (group, (unsigned)i), &fields[i], parent) < 0)
      return -1;
  return 0;
}

static void
collect_env (struct schema_store *st, const struct sv_field *f)
{
  for (size_t i = 0; i < f->n_env; i++)
    {
      st->env = sv_xrealloc (st->env, (st->s.n_env + 1) * sizeof *st->env);
      st->env[st->s.n_env++] = &f->env[i];
    }
  st->s.env = st->env;
  for (size_t i = 0; i < f->n_fields; i++)
    collect_env (st, &f->fields[i]);
}

static void
store_free (struct schema_store *st)
{
  if (st == NULL)
    return;
  free_fields (st->s.root.fields, st->s.root.n_fields);
  free (st->env);
  for (size_t i = 0; i < st->n_paths; i++)
    free (st->paths[i]);
  free (st->paths);
  sv_buf_free (&st->err);
  config_destroy (&st->cfg);
  free (st);
}

static void
store_load (void)
{
  struct schema_store *st = sv_xcalloc (1, sizeof *st);
  config_init (&st->cfg);
  store = st;
  if (config_read_string (&st->cfg, sv_vm_schema_text) != CONFIG_TRUE)
    {
      sv_buf_addf (&st->err, "schemas/vm.schema:%d: %s", config_error_line (&st->cfg),
                   config_error_text (&st->cfg));
      return;
    }
  struct sv_schema *s = &st->s;
  config_setting_t *doc = config_lookup (&st->cfg, "doc");
  if (doc == NULL || (s->title = member_string (doc, "title")) == NULL
      || (s->intro = member_string (doc, "intro")) == NULL
      || (s->formats = member_string (doc, "formats")) == NULL
      || (s->env_doc = member_string (doc, "env")) == NULL
      || (s->disks_env_doc = member_string (doc, "disks_env")) == NULL)
    {
      schema_fail (&st->err, "doc", "needs title, intro, formats, env and disks_env");
      return;
    }
  s->root.type = SV_FT_MAP;
  s->root.bind = -1;
  config_setting_t *fields = config_lookup (&st->cfg, "fields");
  if (fields == NULL)
    {
      schema_fail (&st->err, NULL, "no fields");
      return;
    }
  if (load_fields (st, fields, &s->root) < 0)
    return;
  /* Every member of struct sv_vm_config must be described. */
  for (size_t i = 0; i < N_BINDINGS; i++)
    {
      const char *path = bindings[i].path;
      const struct sv_field *f = &s->root;
      while (f && *path)
        {
          const char *dot = strchr (path, '.');
          size_t n = dot ? (size_t)(dot - path) : strlen (path);
          const struct sv_field *next = NULL;
          for (size_t k = 0; k < f->n_fields; k++)
            if (strlen (f->fields[k].key) == n && strncmp (f->fields[k].key, path, n) == 0)
              next = &f->fields[k];
          f = next;
          path += n + (dot != NULL);
        }
      if (f == NULL)
        {
          schema_fail (&st->err, bindings[i].path, "missing from the schema");
          return;
        }
    }
  collect_env (st, &s->root);
  for (size_t i = 0; i < s->n_env; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp (s->env[i]->name, s->env[j]->name) == 0)
        {
          schema_fail (&st->err, s->env[i]->field->path, "env %s used twice", s->env[i]->name);
          return;
        }
}

__attribute__ ((destructor)) static void
store_release (void)
{
  store_free (store);
  store = NULL;
}

const struct sv_schema *
sv_schema_get (sv_error_t *err)
{
  pthread_once (&store_once, store_load);
  if (store == NULL || store->err.data)
    {
      sv_error_make (err, 1, SV_SRC_CONFIG, 0, "embedded schema is broken: %s",
                     store && store->err.data ? store->err.data : "not loaded");
      return NULL;
    }
  return &store->s;
}
#else
const struct sv_schema *
sv_schema_get (sv_error_t *err)
{
  return &sv_schema_table;
}
#endif

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
  add_expected (&b, f);
  if (n->kind == SV_NODE_SCALAR && n->quoted && (f->type == SV_FT_INT || f->type == SV_FT_BOOL))
    {
      sv_buf_add (&b, ", got a quoted string (\"");
      sv_buf_add_display (&b, n->scalar);
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
  sv_buf_add_display (&k, p->key);
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
  const struct binding *b = &bindings[f->bind];
  void *p = base + b->off;
  bool set = n && n->kind != SV_NODE_NULL;
  struct value v = { 0 };
  if (set && n->kind == SV_NODE_SCALAR)
    parse_value (f, n->scalar, "", NULL, &v, NULL);
  switch (b->ct)
    {
    case C_MAP:
      store_map (f, set ? n : NULL, base);
      break;
    case C_STR:
      *(char **)p = set ? sv_xstrdup (n->scalar) : NULL;
      break;
    case C_UINT:
      *(unsigned *)p = set ? (unsigned)v.i : 0;
      break;
    case C_INT:
      *(int *)p = set ? (int)v.i : (int)b->unset;
      break;
    case C_MIB:
      *(uint64_t *)p = set ? v.u >> 20 : 0;
      break;
    case C_BYTES:
    case C_MS:
      *(uint64_t *)p = set ? v.u : 0;
      break;
    case C_BOOL:
      *(bool *)p = set && v.b;
      break;
    case C_ENUM:
      *(int *)p = set ? (int)v.e : 0;
      break;
    case C_STRV:
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
    case C_MAPS:
      {
        struct sv_disk_config **dp = p;
        size_t *np = (size_t *)(base + b->off_n);
        *dp = NULL;
        *np = 0;
        if (!set || n->n == 0)
          break;
        *dp = sv_xcalloc (n->n, sizeof **dp);
        for (size_t i = 0; i < n->n; i++)
          store_map (f, n->items[i], (char *)&(*dp)[i]);
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

int
sv_cfg_validate (struct sv_cfg_doc *doc, struct sv_vm_config *out, sv_error_t *err)
{
  *out = (struct sv_vm_config){ 0 };
  const struct sv_schema *s = sv_schema_get (err);
  if (s == NULL)
    return -1;
  if (doc->root == NULL || doc->root->kind != SV_NODE_MAP)
    return sv_error_config (err, "%s: the top level must be a map of keys",
                            doc->file ? doc->file : "vm.yaml");
  if (validate_map (&s->root, doc->root, "", err) < 0)
    return -1;
  store_map (&s->root, doc->root, (char *)out);
  return 0;
}

int
sv_cfg_build (const char *path, bool path_explicit, char *const *envp, struct sv_cfg_doc *doc_out,
              struct sv_vm_config *out, sv_error_t *err)
{
  *out = (struct sv_vm_config){ 0 };
  if (sv_cfg_load_file (path, path_explicit, doc_out, err) < 0)
    return -1;
  if (sv_cfg_merge_env (doc_out, envp, err) < 0 || sv_cfg_validate (doc_out, out, err) < 0)
    {
      sv_vm_config_free (out);
      sv_cfg_doc_free (doc_out);
      return -1;
    }
  return 0;
}
