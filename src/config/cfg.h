/* Config pipeline: YAML -> node tree (cfg_load.c, nodes in cfg_node.c),
 * environment overrides (cfg_env.c), schema validation into struct
 * sv_vm_config (cfg_schema.c); cfg_build.c runs the three.  Calls go one
 * way: build -> load, env, schema -> node.
 * Every node remembers where its value came from, so every error can say
 * "vm.yaml:7:11: memory: ..." or "MEMORY=12XB: ..." and --print-config can
 * show file:line, env VAR or default for each value. */
#ifndef SV_CFG_H
#define SV_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

enum sv_origin_kind
{
  SV_ORIGIN_DEFAULT = 0,
  SV_ORIGIN_FILE,
  SV_ORIGIN_ENV,
};

struct sv_origin
{
  enum sv_origin_kind kind;
  const char *file; /* SV_ORIGIN_FILE: display name of the file (not owned: points into the tree's
                       file name) */
  int line, col;    /* 1-based */
  const char *env;  /* SV_ORIGIN_ENV: variable name (static string from the schema) */
};

enum sv_node_kind
{
  SV_NODE_NULL = 0, /* "~", "null" or empty value */
  SV_NODE_SCALAR,
  SV_NODE_MAP,
  SV_NODE_SEQ,
};

struct sv_node;

struct sv_node_pair
{
  char *key;
  struct sv_origin key_origin;
  struct sv_node *value;
};

struct sv_node
{
  enum sv_node_kind kind;
  struct sv_origin origin;
  char *scalar; /* SV_NODE_SCALAR */
  bool quoted;  /* scalar was quoted in YAML: always a string, never a bool/number */
  size_t n;     /* entries in pairs (MAP) or items (SEQ) */
  struct sv_node_pair *pairs;
  struct sv_node **items;
};

/* The whole document: root plus the storage for origin file names. */
struct sv_cfg_doc
{
  char *file;           /* display name used in messages */
  bool file_missing;    /* the default file was not there (must_exist=false) */
  struct sv_node *root; /* always a MAP after a successful load (empty file -> empty map) */
};

/* cfg_load.c.  Limits: files over SV_CFG_MAX_BYTES, nesting deeper than 32
 * levels, aliases/anchors, duplicate keys, non-UTF-8 input, tabs in
 * indentation and non-mapping roots are errors (exit class 2).  A path that
 * is missing, a directory or unreadable is exit class 2 with the path named.
 * must_exist=false: a missing file yields an empty document, no error. */
#define SV_CFG_MAX_BYTES (1024 * 1024)
int sv_cfg_load_file (const char *path, bool must_exist, struct sv_cfg_doc *out, sv_error_t *err);
int sv_cfg_load_buffer (const char *display_name, const char *buf, size_t len,
                        struct sv_cfg_doc *out, sv_error_t *err);
void sv_cfg_doc_free (struct sv_cfg_doc *doc);
void sv_node_free (struct sv_node *n);

/* Look up a key in a MAP node; NULL when absent. */
struct sv_node *sv_node_get (const struct sv_node *map, const char *key);

/* cfg_env.c: apply environment overrides named in the schema to the tree
 * of a loaded document (root a MAP), creating nodes as needed (origin
 * SV_ORIGIN_ENV).  envp is passed in; no
 * getenv.  Values stay strings here; validation parses them and names the
 * variable in errors ("CPUS=abc: ..."). */
int sv_cfg_merge_env (struct sv_cfg_doc *doc, char *const *envp, sv_error_t *err);

/* cfg_schema.c: validate a loaded document (root a MAP) against the
 * embedded schemas/vm.schema, fill defaults into the tree (origin SV_ORIGIN_DEFAULT) and produce
 * *out. Unknown keys are errors with a "did you mean" when one is close. */
int sv_cfg_validate (struct sv_cfg_doc *doc, struct sv_vm_config *out, sv_error_t *err);

/* cfg_build.c: load (path resolution as docs/configuration.md says: explicit path must
 * exist, default path may be missing) + merge env + validate. */
int sv_cfg_build (const char *path, bool path_explicit, char *const *envp,
                  struct sv_cfg_doc *doc_out, struct sv_vm_config *out, sv_error_t *err);

/* --print-config text: the merged, validated tree as YAML with a trailing
 * comment on each scalar saying where it came from
 * ("memory: 2048  # env MEMORY", "cpus: 2  # vm.yaml:3:7", "# default").
 * Caller frees. Call after sv_cfg_validate. */
char *sv_cfg_print (const struct sv_cfg_doc *doc);

/* Generated from the schema: JSON Schema (draft 2020-12) for vm.yaml and
 * the Markdown configuration reference (docs/configuration.md).  Caller frees. */
char *sv_schema_json (void);
char *sv_schema_markdown (void);

#endif
