/* Build-time generator: loads schemas/vm.schema with schema_load.c, with
 * all its checks (types, ranges, defaults, every field bound to a member of
 * struct sv_vm_config and the reverse), and writes the resulting field
 * tree as a C file of constant initializers, with the sv_schema_get()
 * that startvm links.
 * startvm then starts with the schema ready, without parsing it.  A broken
 * schema fails the build with the loader's message.
 *
 * Usage: schema2c OUT.c */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_internal.h"
#include "error.h"

/* Fields arrays (the children of one map) and env arrays, numbered in
 * schema order so the output is stable. */
struct gen
{
  FILE *out;
  const struct sv_field **groups; /* fields[] owners */
  size_t n_groups;
  const struct sv_field **envs; /* env[] owners */
  size_t n_envs;
  const struct sv_field **enums; /* values[] owners */
  size_t n_enums;
};

static void
push (const struct sv_field ***v, size_t *n, const struct sv_field *f)
{
  *v = realloc (*v, (*n + 1) * sizeof **v);
  if (*v == NULL)
    abort ();
  (*v)[(*n)++] = f;
}

static void
number (struct gen *g, const struct sv_field *f)
{
  if (f->n_fields)
    push (&g->groups, &g->n_groups, f);
  if (f->n_env)
    push (&g->envs, &g->n_envs, f);
  if (f->n_values)
    push (&g->enums, &g->n_enums, f);
  for (size_t i = 0; i < f->n_fields; i++)
    number (g, &f->fields[i]);
}

static size_t
index_of (const struct sv_field *const *v, size_t n, const struct sv_field *f)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == f)
      return i;
  abort ();
}

static void
put_string (FILE *out, const char *s)
{
  if (s == NULL)
    {
      fputs ("NULL", out);
      return;
    }
  fputc ('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        fprintf (out, "\\%c", *p);
      else if (*p == '\n')
        fputs (p[1] ? "\\n\"\n    \"" : "\\n", out);
      else if (*p == '?')
        fputs ("\\?", out); /* no trigraphs */
      else if (*p < 0x20 || *p >= 0x7f)
        fprintf (out, "\\%03o", *p);
      else
        fputc (*p, out);
    }
  fputc ('"', out);
}

/* A C expression for the address of field f. */
static void
put_field_ref (struct gen *g, const struct sv_field *f, const struct sv_schema *s)
{
  if (f == NULL)
    {
      fputs ("NULL", g->out);
      return;
    }
  if (f == &s->root)
    {
      fputs ("&sv_schema_table.root", g->out);
      return;
    }
  for (size_t i = 0; i < g->n_groups; i++)
    {
      const struct sv_field *m = g->groups[i];
      if (f >= m->fields && f < m->fields + m->n_fields)
        {
          fprintf (g->out, "&sv_fields_%zu[%zu]", i, (size_t)(f - m->fields));
          return;
        }
    }
  abort ();
}

static void
put_ll (FILE *out, long long v)
{
  if (v == LLONG_MIN)
    fputs ("LLONG_MIN", out);
  else if (v == LLONG_MAX)
    fputs ("LLONG_MAX", out);
  else
    fprintf (out, "%lldLL", v);
}

static void
put_field (struct gen *g, const struct sv_field *f, const struct sv_schema *s, const char *indent)
{
  FILE *out = g->out;
  fprintf (out, "%s{\n%s  .key = ", indent, indent);
  put_string (out, f->key);
  fprintf (out, ",\n%s  .path = ", indent);
  put_string (out, f->path);
  fprintf (out, ",\n%s  .type = (enum sv_ftype)%d,\n", indent, (int)f->type);
  fprintf (out, "%s  .check = (enum sv_fcheck)%d,\n", indent, (int)f->check);
  const char *names[] = { "doc", "dflt", "unset", "example", "min_text", "max_text" };
  const char *vals[] = { f->doc, f->dflt, f->unset, f->example, f->min_text, f->max_text };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      fprintf (out, "%s  .%s = ", indent, names[i]);
      put_string (out, vals[i]);
      fputs (",\n", out);
    }
  fprintf (out, "%s  .imin = ", indent);
  put_ll (out, f->imin);
  fprintf (out, ",\n%s  .imax = ", indent);
  put_ll (out, f->imax);
  fprintf (out, ",\n%s  .umin = UINT64_C (%" PRIu64 "),\n", indent, f->umin);
  fprintf (out, "%s  .umax = UINT64_C (%" PRIu64 "),\n", indent, f->umax);
  fprintf (out, "%s  .has_min = %s,\n", indent, f->has_min ? "true" : "false");
  fprintf (out, "%s  .has_max = %s,\n", indent, f->has_max ? "true" : "false");
  fprintf (out, "%s  .required = %s,\n", indent, f->required ? "true" : "false");
  if (f->n_values)
    fprintf (out, "%s  .values = sv_values_%zu,\n", indent, index_of (g->enums, g->n_enums, f));
  else
    fprintf (out, "%s  .values = NULL,\n", indent);
  fprintf (out, "%s  .n_values = %zu,\n", indent, f->n_values);
  if (f->n_env)
    fprintf (out, "%s  .env = sv_env_%zu,\n", indent, index_of (g->envs, g->n_envs, f));
  else
    fprintf (out, "%s  .env = NULL,\n", indent);
  fprintf (out, "%s  .n_env = %zu,\n", indent, f->n_env);
  fprintf (out, "%s  .parent = ", indent);
  put_field_ref (g, f->parent, s);
  fprintf (out, ",\n%s  .bind = %d,\n", indent, f->bind);
  if (f->n_fields)
    fprintf (out, "%s  .fields = sv_fields_%zu,\n", indent, index_of (g->groups, g->n_groups, f));
  else
    fprintf (out, "%s  .fields = NULL,\n", indent);
  fprintf (out, "%s  .n_fields = %zu,\n%s}", indent, f->n_fields, indent);
}

static void
generate (struct gen *g, const struct sv_schema *s)
{
  FILE *out = g->out;
  number (g, &s->root);
  fputs ("/* Generated from schemas/vm.schema by tools/schema2c.c; do not edit. */\n"
         "#include <limits.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
         "#include \"cfg_internal.h\"\n\n",
         out);
  /* Declarations first: parents and children point at each other. */
  fputs ("static const struct sv_schema sv_schema_table;\n", out);
  for (size_t i = 0; i < g->n_groups; i++)
    fprintf (out, "static const struct sv_field sv_fields_%zu[%zu];\n", i, g->groups[i]->n_fields);
  for (size_t i = 0; i < g->n_envs; i++)
    fprintf (out, "static const struct sv_env_var sv_env_%zu[%zu];\n", i, g->envs[i]->n_env);
  fputc ('\n', out);
  for (size_t i = 0; i < g->n_enums; i++)
    {
      const struct sv_field *f = g->enums[i];
      fprintf (out, "static const char *const sv_values_%zu[%zu] = {", i, f->n_values);
      for (size_t k = 0; k < f->n_values; k++)
        {
          fputs (k ? ", " : " ", out);
          put_string (out, f->values[k]);
        }
      fputs (" };\n", out);
    }
  fputc ('\n', out);
  for (size_t i = 0; i < g->n_envs; i++)
    {
      const struct sv_field *f = g->envs[i];
      fprintf (out, "static const struct sv_env_var sv_env_%zu[%zu] = {\n", i, f->n_env);
      for (size_t k = 0; k < f->n_env; k++)
        {
          const struct sv_env_var *v = &f->env[k];
          fputs ("  { .name = ", out);
          put_string (out, v->name);
          fputs (",\n    .doc = ", out);
          put_string (out, v->doc);
          fprintf (out, ",\n    .plain = %s,\n    .invert = %s,\n    .field = ",
                   v->plain ? "true" : "false", v->invert ? "true" : "false");
          put_field_ref (g, v->field, s);
          fputs (" },\n", out);
        }
      fputs ("};\n\n", out);
    }
  for (size_t i = 0; i < g->n_groups; i++)
    {
      const struct sv_field *m = g->groups[i];
      fprintf (out, "/* %s */\nstatic const struct sv_field sv_fields_%zu[%zu] = {\n",
               m->path ? m->path : "(top)", i, m->n_fields);
      for (size_t k = 0; k < m->n_fields; k++)
        {
          put_field (g, &m->fields[k], s, "  ");
          fputs (",\n", out);
        }
      fputs ("};\n\n", out);
    }
  if (s->n_env)
    {
      fprintf (out, "static const struct sv_env_var *const sv_env_all[%zu] = {\n", s->n_env);
      for (size_t i = 0; i < s->n_env; i++)
        {
          const struct sv_env_var *v = s->env[i];
          fprintf (out, "  &sv_env_%zu[%zu],\n", index_of (g->envs, g->n_envs, v->field),
                   (size_t)(v - v->field->env));
        }
      fputs ("};\n\n", out);
    }
  fputs ("static const struct sv_schema sv_schema_table = {\n  .title = ", out);
  put_string (out, s->title);
  fputs (",\n  .intro = ", out);
  put_string (out, s->intro);
  fputs (",\n  .formats = ", out);
  put_string (out, s->formats);
  fputs (",\n  .env_doc = ", out);
  put_string (out, s->env_doc);
  fputs (",\n  .disks_env_doc = ", out);
  put_string (out, s->disks_env_doc);
  fputs (",\n  .root =\n", out);
  put_field (g, &s->root, s, "  ");
  fprintf (out, ",\n  .env = %s,\n  .n_env = %zu,\n};\n", s->n_env ? "sv_env_all" : "NULL",
           s->n_env);
  fputs ("\nconst struct sv_schema *\nsv_schema_get (sv_error_t *err)\n{\n"
         "  return &sv_schema_table;\n}\n",
         out);
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: schema2c OUT.c\n");
      return 2;
    }
  sv_error_t err = NULL;
  const struct sv_schema *s = sv_schema_get (&err);
  if (s == NULL)
    {
      fprintf (stderr, "schema2c: %s\n", err->msg);
      sv_error_release (&err);
      return 1;
    }
  char *tmp = NULL;
  if (asprintf (&tmp, "%s.tmp", argv[1]) < 0)
    abort ();
  struct gen g = { .out = fopen (tmp, "we") };
  if (g.out == NULL)
    {
      fprintf (stderr, "schema2c: %s: %s\n", tmp, strerror (errno));
      free (tmp);
      return 1;
    }
  generate (&g, s);
  int bad = ferror (g.out);
  bad |= fclose (g.out) != 0;
  if (bad || rename (tmp, argv[1]) < 0)
    {
      fprintf (stderr, "schema2c: cannot write %s: %s\n", argv[1], strerror (errno));
      unlink (tmp);
      free (tmp);
      return 1;
    }
  free (tmp);
  free (g.groups);
  free (g.envs);
  free (g.enums);
  return 0;
}
