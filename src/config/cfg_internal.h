/* Shared between the cfg_*.c files and tools/schema2c only: the schema as
 * C structs (at build time tools/schema2c loads schemas/vm.schema with
 * tools/schema_load.c and writes them out as a constant table,
 * vm_schema_table.c), the table of struct sv_vm_config members, and the
 * node and message helpers. */
#ifndef SV_CFG_INTERNAL_H
#define SV_CFG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "util.h"

enum sv_ftype
{
  SV_FT_STRING,
  SV_FT_INT,
  SV_FT_BOOL,
  SV_FT_SIZE,
  SV_FT_DURATION,
  SV_FT_ENUM,
  SV_FT_STRINGS, /* list of strings */
  SV_FT_MAPS,    /* list of maps */
  SV_FT_MAP,
};

enum sv_fcheck
{
  SV_CHECK_NONE = 0,
  SV_CHECK_NONEMPTY,
  SV_CHECK_ABSOLUTE_PATH,
  SV_CHECK_IP_PREFIX,
  SV_CHECK_IFNAME,
};

struct sv_field;

struct sv_env_var
{
  const char *name;
  const char *doc; /* may be NULL */
  bool plain;      /* only a plain integer (MEMORY_MB) */
  bool invert;     /* boolean negation (NO_DHCP) */
  const struct sv_field *field;
};

struct sv_field
{
  const char *key;
  const char *path; /* dotted: "network.dhcp", "disks.size" */
  enum sv_ftype type;
  enum sv_fcheck check;
  const char *doc, *dflt, *unset, *example;
  const char *min_text, *max_text;
  long long imin, imax; /* int; size in bytes and duration in ms use umin/umax */
  uint64_t umin, umax;
  bool has_min, has_max;
  bool required;
  const char *const *values; /* enum */
  size_t n_values;
  const struct sv_env_var *env;
  size_t n_env;
  const struct sv_field *parent;
  int bind; /* index into cfg_schema.c's table of struct sv_vm_config members */
  const struct sv_field *fields; /* map, maps */
  size_t n_fields;
};

struct sv_schema
{
  const char *title, *intro, *formats, *env_doc, *disks_env_doc;
  struct sv_field root; /* type MAP */
  /* Every env variable in schema order (pointers into the fields). */
  const struct sv_env_var *const *env;
  size_t n_env;
};

/* The schema.  In startvm the generated constant table (vm_schema_table.c:
 * never NULL, err untouched).  In tools/schema2c the embedded
 * schemas/vm.schema parsed with libconfig once per process
 * (tools/schema_load.c), NULL with *err set when the text is broken or
 * does not match struct sv_vm_config. */
const struct sv_schema *sv_schema_get (sv_error_t *err);

/* ---- cfg_schema.c ---- */

/* Where each schema field lands in struct sv_vm_config (sv_field.bind
 * indexes sv_cfg_bindings). */
enum sv_ctype
{
  SV_C_MAP, /* no storage: its children have their own */
  SV_C_STR,
  SV_C_UINT,
  SV_C_INT,
  SV_C_MIB,   /* size -> uint64_t MiB */
  SV_C_BYTES, /* size -> uint64_t bytes */
  SV_C_MS,    /* duration -> uint64_t ms */
  SV_C_BOOL,
  SV_C_ENUM, /* enum -> C enum whose values follow the schema's order */
  SV_C_STRV, /* strings -> char ** + size_t */
  SV_C_MAPS, /* maps -> array of structs + size_t */
};
struct sv_binding
{
  const char *path;
  enum sv_ctype ct;
  size_t off, off_n;
  long long unset; /* SV_C_INT without a value */
  size_t elem;     /* SV_C_MAPS: the size of one element */
};
extern const struct sv_binding sv_cfg_bindings[];
extern const size_t sv_cfg_n_bindings;

const struct sv_field *sv_field_child (const struct sv_field *map, const char *key);
/* The schema's name of a type: "int", "size", "map"... */
const char *sv_ftype_name (enum sv_ftype t);
/* What a field holds, in English: for error messages ("an integer from 1
 * to 512", "a list of maps") or, with for_docs, for the configuration
 * reference ("int, 1 to 512", "list of maps, required"). */
void sv_field_describe (struct sv_buf *b, const struct sv_field *f, bool for_docs);
/* Whether text is a valid value of f (the schema's defaults and
 * examples); the error names what. */
int sv_field_check_text (const struct sv_field *f, const char *text, const char *what,
                         sv_error_t *err);

/* ---- cfg_node.c ---- */

/* "FILE:L:C" or "VAR=value" (the value escaped as SV_ESC_MESSAGE) or
 * "default" for an origin; value is the node's text for env origins. */
void sv_buf_add_origin (struct sv_buf *b, const struct sv_origin *o, const char *value);

struct sv_node *sv_node_new (enum sv_node_kind kind, const struct sv_origin *o);
struct sv_node *sv_node_new_scalar (const char *s, const struct sv_origin *o);
/* Sets key in a MAP node (replacing and freeing an existing value). */
void sv_node_set (struct sv_node *map, const char *key, const struct sv_origin *key_origin,
                  struct sv_node *value);
void sv_node_append (struct sv_node *seq, struct sv_node *item);

#endif
