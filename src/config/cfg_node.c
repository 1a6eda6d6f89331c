/* The config node tree (what cfg_load.c builds, cfg_env.c amends and
 * cfg_schema.c validates) and how a node's value and origin are shown in
 * messages. */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_internal.h"
#include "util.h"

struct sv_node *
sv_node_new (enum sv_node_kind kind, const struct sv_origin *o)
{
  struct sv_node *n = sv_xcalloc (1, sizeof *n);
  n->kind = kind;
  if (o)
    n->origin = *o;
  return n;
}

struct sv_node *
sv_node_new_scalar (const char *s, const struct sv_origin *o)
{
  struct sv_node *n = sv_node_new (SV_NODE_SCALAR, o);
  n->scalar = sv_xstrdup (s);
  return n;
}

void
sv_node_free (struct sv_node *n)
{
  if (n == NULL)
    return;
  free (n->scalar);
  for (size_t i = 0; n->pairs && i < n->n; i++)
    {
      free (n->pairs[i].key);
      sv_node_free (n->pairs[i].value);
    }
  free (n->pairs);
  for (size_t i = 0; n->items && i < n->n; i++)
    sv_node_free (n->items[i]);
  free (n->items);
  free (n);
}

struct sv_node *
sv_node_get (const struct sv_node *map, const char *key)
{
  if (map == NULL || map->kind != SV_NODE_MAP)
    return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (strcmp (map->pairs[i].key, key) == 0)
      return map->pairs[i].value;
  return NULL;
}

void
sv_node_set (struct sv_node *map, const char *key, const struct sv_origin *key_origin,
             struct sv_node *value)
{
  for (size_t i = 0; i < map->n; i++)
    if (strcmp (map->pairs[i].key, key) == 0)
      {
        sv_node_free (map->pairs[i].value);
        map->pairs[i].value = value;
        return;
      }
  map->pairs = sv_xrealloc (map->pairs, (map->n + 1) * sizeof *map->pairs);
  map->pairs[map->n].key = sv_xstrdup (key);
  map->pairs[map->n].key_origin = key_origin ? *key_origin : value->origin;
  map->pairs[map->n].value = value;
  map->n++;
}

void
sv_node_append (struct sv_node *seq, struct sv_node *item)
{
  seq->items = sv_xrealloc (seq->items, (seq->n + 1) * sizeof *seq->items);
  seq->items[seq->n++] = item;
}

void
sv_cfg_doc_free (struct sv_cfg_doc *doc)
{
  if (doc == NULL)
    return;
  sv_node_free (doc->root);
  free (doc->file);
  *doc = (struct sv_cfg_doc){ 0 };
}

/* ---- in messages ---- */

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
      sv_buf_add_escaped (b, value ? value : "", SV_ESC_MESSAGE);
      break;
    case SV_ORIGIN_DEFAULT:
      sv_buf_add (b, "default");
      break;
    }
}
