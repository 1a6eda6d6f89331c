/* The schema loader, for tools/schema2c only: parses the embedded
 * schemas/vm.schema (libconfig syntax) into the field tree of
 * cfg_internal.h, with every check a schema must pass: known attributes
 * and types, ranges, defaults and examples that are valid values, and
 * every field bound to a member of struct sv_vm_config (sv_cfg_bindings)
 * and the reverse.  startvm itself never parses the schema: schema2c
 * writes the tree out as constants (vm_schema_table.c). */
#include <libconfig.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_internal.h"
#include "cleanup.h"
#include "util.h"

extern const char sv_vm_schema_text[];

/* Which schema types each C representation can hold. */
static bool
binding_fits (enum sv_ctype ct, enum sv_ftype t)
{
  switch (ct)
    {
    case SV_C_MAP:
      return t == SV_FT_MAP;
    case SV_C_STR:
      return t == SV_FT_STRING || t == SV_FT_ENUM;
    case SV_C_UINT:
    case SV_C_INT:
      return t == SV_FT_INT;
    case SV_C_MIB:
    case SV_C_BYTES:
      return t == SV_FT_SIZE;
    case SV_C_MS:
      return t == SV_FT_DURATION;
    case SV_C_BOOL:
      return t == SV_FT_BOOL;
    case SV_C_ENUM:
      return t == SV_FT_ENUM;
    case SV_C_STRV:
      return t == SV_FT_STRINGS;
    case SV_C_MAPS:
      return t == SV_FT_MAPS;
    }
  return false;
}

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
  while (type && t <= SV_FT_MAP && strcmp (sv_ftype_name ((enum sv_ftype)t), type) != 0)
    t++;
  if (type == NULL || t > SV_FT_MAP)
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
      if (sv_field_check_text (f, f->dflt, f->path, &e) < 0)
        goto bad_value;
    }
  if (f->example && f->type != SV_FT_MAP && f->type != SV_FT_MAPS)
    {
      if (sv_field_check_text (f, f->example, f->path, &e) < 0)
        goto bad_value;
    }
  for (size_t i = 0; i < sv_cfg_n_bindings; i++)
    if (strcmp (sv_cfg_bindings[i].path, f->path) == 0)
      f->bind = (int)i;
  if (f->bind < 0 || !binding_fits (sv_cfg_bindings[f->bind].ct, f->type))
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
  for (size_t i = 0; i < sv_cfg_n_bindings; i++)
    {
      const char *path = sv_cfg_bindings[i].path;
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
          schema_fail (&st->err, sv_cfg_bindings[i].path, "missing from the schema");
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
