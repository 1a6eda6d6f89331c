/* Shared between the cfg_*.c files only: the schema as C structs (at build
 * time tools/schema2c.c loads schemas/vm.schema through cfg_schema.c and
 * writes them out as a constant table, vm_schema_table.c) and small
 * helpers for messages and nodes. */
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

/* The schema.  At run time the generated constant table (never NULL, err
 * untouched).  Built with SV_SCHEMA_LOADER (only tools/schema2c.c): the
 * embedded schemas/vm.schema parsed with libconfig once per process, NULL
 * with *err set when the text is broken or does not match struct
 * sv_vm_config. */
const struct sv_schema *sv_schema_get (sv_error_t *err);

/* Generated from schemas/vm.schema by tools/schema2c.c. */
extern const struct sv_schema sv_schema_table;

const struct sv_field *sv_field_child (const struct sv_field *map, const char *key);
const char *sv_ftype_name (enum sv_ftype t);

/* Appends a user value for a message: control characters escaped, long
 * values cut, so a hostile file cannot garble the terminal. */
void sv_buf_add_display (struct sv_buf *b, const char *s);

/* "FILE:L:C" or "VAR=value" (the value shown with sv_buf_add_display) or
 * "default" for an origin; value is the node's text for env origins. */
void sv_buf_add_origin (struct sv_buf *b, const struct sv_origin *o, const char *value);

struct sv_node *sv_node_new (enum sv_node_kind kind, const struct sv_origin *o);
struct sv_node *sv_node_new_scalar (const char *s, const struct sv_origin *o);
/* Sets key in a MAP node (replacing and freeing an existing value). */
void sv_node_set (struct sv_node *map, const char *key, const struct sv_origin *key_origin,
                  struct sv_node *value);
void sv_node_append (struct sv_node *seq, struct sv_node *item);

/* Optimal string alignment distance, capped: returns cap+1 when larger. */
size_t sv_edit_distance (const char *a, const char *b, size_t cap);

/* Size text to bytes; plain numbers are MiB.  Used for schema ranges too. */
bool sv_looks_like_size (const char *s);

#endif
