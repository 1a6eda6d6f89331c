/* Artefacts generated from the schema: a JSON Schema (draft 2020-12) for
 * editors (yaml-language-server) and the Markdown reference in
 * docs/configuration.md.  Both are committed; tests/cli/schema_drift.sh
 * fails when they differ from what the binary prints. */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_internal.h"
#include "util.h"

#define SIZE_PATTERN "^[0-9]+(\\.[0-9]+)?([bB]|[kKmMgGtT]([iI]?[bB])?)?$"
#define DURATION_PATTERN "^[0-9]+(ms|s|m|h)?$"
#define IP_PREFIX_PATTERN                                                                          \
  "^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){0,3}\\.?$"
#define IFNAME_PATTERN "^[^/:\\s]{1,15}$"

/* ---- JSON ---- */

static void
indent (struct sv_buf *b, int n)
{
  for (int i = 0; i < n; i++)
    sv_buf_add (b, "  ");
}

/* A default or example in the JSON type vm.yaml would give it. */
static void
json_value (struct sv_buf *b, const struct sv_field *f, const char *text)
{
  bool b_true = strcmp (text, "true") == 0 || strcmp (text, "yes") == 0;
  switch (f->type)
    {
    case SV_FT_INT:
      sv_buf_add (b, text);
      return;
    case SV_FT_BOOL:
      sv_buf_add (b, b_true ? "true" : "false");
      return;
    default:
      sv_buf_add_json_string (b, text);
    }
}

static void json_field (struct sv_buf *b, const struct sv_field *f, int lvl);

static void
json_description (struct sv_buf *b, const struct sv_field *f)
{
  struct sv_buf d = { 0 };
  sv_buf_add (&d, f->doc);
  if (f->unset)
    sv_buf_addf (&d, " Unset: %s.", f->unset);
  for (size_t i = 0; i < f->n_env; i++)
    sv_buf_addf (&d, "%s%s%s", i ? ", " : " Environment: ", f->env[i].name,
                 i + 1 == f->n_env ? "." : "");
  sv_buf_add_json_string (b, d.data);
  sv_buf_free (&d);
}

static void
json_properties (struct sv_buf *b, const struct sv_field *mf, int lvl)
{
  indent (b, lvl);
  sv_buf_add (b, "\"type\": \"object\",\n");
  indent (b, lvl);
  sv_buf_add (b, "\"additionalProperties\": false,\n");
  bool any_required = false;
  for (size_t i = 0; i < mf->n_fields; i++)
    any_required |= mf->fields[i].required;
  if (any_required)
    {
      indent (b, lvl);
      sv_buf_add (b, "\"required\": [");
      bool first = true;
      for (size_t i = 0; i < mf->n_fields; i++)
        if (mf->fields[i].required)
          {
            if (!first)
              sv_buf_add (b, ", ");
            sv_buf_add_json_string (b, mf->fields[i].key);
            first = false;
          }
      sv_buf_add (b, "],\n");
    }
  indent (b, lvl);
  sv_buf_add (b, "\"properties\": {\n");
  for (size_t i = 0; i < mf->n_fields; i++)
    {
      indent (b, lvl + 1);
      sv_buf_add_json_string (b, mf->fields[i].key);
      sv_buf_add (b, ": {\n");
      json_field (b, &mf->fields[i], lvl + 2);
      indent (b, lvl + 1);
      sv_buf_add (b, i + 1 < mf->n_fields ? "},\n" : "}\n");
    }
  indent (b, lvl);
  sv_buf_add (b, "}\n");
}

static void
json_string_check (struct sv_buf *b, const struct sv_field *f, int lvl)
{
  switch (f->check)
    {
    case SV_CHECK_NONE:
      break;
    case SV_CHECK_NONEMPTY:
      indent (b, lvl);
      sv_buf_add (b, "\"minLength\": 1,\n");
      break;
    case SV_CHECK_ABSOLUTE_PATH:
      indent (b, lvl);
      sv_buf_add (b, "\"pattern\": \"^/\",\n");
      break;
    case SV_CHECK_IP_PREFIX:
      indent (b, lvl);
      sv_buf_add (b, "\"pattern\": ");
      sv_buf_add_json_string (b, IP_PREFIX_PATTERN);
      sv_buf_add (b, ",\n");
      break;
    case SV_CHECK_IFNAME:
      indent (b, lvl);
      sv_buf_add (b, "\"pattern\": ");
      sv_buf_add_json_string (b, IFNAME_PATTERN);
      sv_buf_add (b, ",\n");
      break;
    }
}

static void
json_field (struct sv_buf *b, const struct sv_field *f, int lvl)
{
  indent (b, lvl);
  sv_buf_add (b, "\"description\": ");
  json_description (b, f);
  sv_buf_add (b, ",\n");
  if (f->dflt)
    {
      indent (b, lvl);
      sv_buf_add (b, "\"default\": ");
      json_value (b, f, f->dflt);
      sv_buf_add (b, ",\n");
    }
  if (f->example && f->type != SV_FT_STRINGS && f->type != SV_FT_MAPS && f->type != SV_FT_MAP)
    {
      indent (b, lvl);
      sv_buf_add (b, "\"examples\": [");
      json_value (b, f, f->example);
      sv_buf_add (b, "],\n");
    }
  switch (f->type)
    {
    case SV_FT_STRING:
      json_string_check (b, f, lvl);
      indent (b, lvl);
      sv_buf_add (b, "\"type\": \"string\"\n");
      break;
    case SV_FT_INT:
      indent (b, lvl);
      sv_buf_addf (b, "\"minimum\": %lld,\n", f->imin);
      indent (b, lvl);
      sv_buf_addf (b, "\"maximum\": %lld,\n", f->imax);
      indent (b, lvl);
      sv_buf_add (b, "\"type\": \"integer\"\n");
      break;
    case SV_FT_BOOL:
      indent (b, lvl);
      sv_buf_add (b, "\"type\": \"boolean\"\n");
      break;
    case SV_FT_SIZE:
    case SV_FT_DURATION:
      indent (b, lvl);
      sv_buf_add (b, "\"pattern\": ");
      sv_buf_add_json_string (b, f->type == SV_FT_SIZE ? SIZE_PATTERN : DURATION_PATTERN);
      sv_buf_add (b, ",\n");
      indent (b, lvl);
      sv_buf_addf (b, "\"minimum\": %d,\n", f->type == SV_FT_SIZE ? 1 : 0);
      indent (b, lvl);
      sv_buf_add (b, "\"type\": [\"string\", \"integer\"]\n");
      break;
    case SV_FT_ENUM:
      indent (b, lvl);
      sv_buf_add (b, "\"enum\": [");
      for (size_t i = 0; i < f->n_values; i++)
        {
          if (i)
            sv_buf_add (b, ", ");
          sv_buf_add_json_string (b, f->values[i]);
        }
      sv_buf_add (b, "],\n");
      indent (b, lvl);
      sv_buf_add (b, "\"type\": \"string\"\n");
      break;
    case SV_FT_STRINGS:
      indent (b, lvl);
      sv_buf_add (b, "\"items\": {\n");
      json_string_check (b, f, lvl + 1);
      indent (b, lvl + 1);
      sv_buf_add (b, "\"type\": \"string\"\n");
      indent (b, lvl);
      sv_buf_add (b, "},\n");
      indent (b, lvl);
      sv_buf_add (b, "\"type\": \"array\"\n");
      break;
    case SV_FT_MAPS:
      indent (b, lvl);
      sv_buf_add (b, "\"items\": {\n");
      json_properties (b, f, lvl + 1);
      indent (b, lvl);
      sv_buf_add (b, "},\n");
      indent (b, lvl);
      sv_buf_add (b, "\"type\": \"array\"\n");
      break;
    case SV_FT_MAP:
      json_properties (b, f, lvl);
      break;
    }
}

char *
sv_schema_json (void)
{
  const struct sv_schema *s = sv_schema_get (NULL);
  struct sv_buf b = { 0 };
  if (s == NULL)
    return sv_buf_steal (&b);
  sv_buf_add (&b, "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n");
  sv_buf_add (&b, "  \"title\": \"startvm vm.yaml\",\n  \"description\": ");
  sv_buf_add_json_string (&b, s->intro);
  sv_buf_add (&b, ",\n");
  json_properties (&b, &s->root, 1);
  sv_buf_add (&b, "}\n");
  return sv_buf_steal (&b);
}

/* ---- Markdown ---- */

static void
md_cell (struct sv_buf *b, const char *s)
{
  for (const char *p = s; *p; p++)
    {
      if (*p == '|')
        sv_buf_add (b, "\\|");
      else if (*p == '\n')
        sv_buf_addc (b, ' ');
      else
        sv_buf_addc (b, *p);
    }
}

static void
md_display_path (struct sv_buf *b, const struct sv_field *f)
{
  if (f->parent && f->parent->key)
    {
      md_display_path (b, f->parent);
      sv_buf_add (b, f->parent->type == SV_FT_MAPS ? "[]." : ".");
    }
  sv_buf_add (b, f->key);
}

static void
md_table (struct sv_buf *b, const struct sv_field *mf)
{
  sv_buf_add (b, "| Key | Type | Default | Environment | Description |\n"
                 "|-----|------|---------|-------------|-------------|\n");
  for (size_t i = 0; i < mf->n_fields; i++)
    {
      const struct sv_field *f = &mf->fields[i];
      struct sv_buf cell = { 0 };
      sv_buf_add (b, "| `");
      md_display_path (b, f);
      sv_buf_add (b, "` | ");
      sv_field_describe (&cell, f, true);
      md_cell (b, cell.data);
      sv_buf_free (&cell);
      sv_buf_add (b, " | ");
      if (f->dflt)
        sv_buf_addf (b, "`%s`", f->dflt);
      else if (f->unset)
        {
          sv_buf_add (b, "unset: ");
          md_cell (b, f->unset);
        }
      sv_buf_add (b, " | ");
      for (size_t k = 0; k < f->n_env; k++)
        sv_buf_addf (b, "%s`%s`", k ? ", " : "", f->env[k].name);
      sv_buf_add (b, " | ");
      md_cell (b, f->doc);
      if (f->type == SV_FT_MAP || f->type == SV_FT_MAPS)
        sv_buf_addf (b, " See [`%s`](#%s).", f->path, f->path);
      sv_buf_add (b, " |\n");
    }
}

static void
md_sections (struct sv_buf *b, const struct sv_field *mf)
{
  for (size_t i = 0; i < mf->n_fields; i++)
    {
      const struct sv_field *f = &mf->fields[i];
      if (f->type != SV_FT_MAP && f->type != SV_FT_MAPS)
        continue;
      sv_buf_addf (b, "\n<a id=\"%s\"></a>\n\n## `%s`%s\n\n", f->path, f->path,
                   f->type == SV_FT_MAPS ? " (list of maps)" : "");
      sv_buf_addf (b, "%s\n\n", f->doc);
      if (f->type == SV_FT_MAPS)
        {
          sv_buf_addf (b, "```yaml\n%s:\n", f->key);
          /* The required keys, then a couple of typed ones. */
          bool dash = true;
          int extra = 0;
          for (size_t k = 0; k < f->n_fields; k++)
            {
              const struct sv_field *c = &f->fields[k];
              if (!c->required && (c->type == SV_FT_STRING || !c->example || extra >= 2))
                continue;
              extra += !c->required;
              sv_buf_addf (b, "  %s %s: %s\n", dash ? "-" : " ", c->key,
                           c->example ? c->example : "...");
              dash = false;
            }
          sv_buf_add (b, "```\n\n");
        }
      md_table (b, f);
      md_sections (b, f);
    }
}

char *
sv_schema_markdown (void)
{
  const struct sv_schema *s = sv_schema_get (NULL);
  struct sv_buf b = { 0 };
  if (s == NULL)
    return sv_buf_steal (&b);
  sv_buf_addf (&b, "# %s\n\n", s->title);
  sv_buf_add (&b, "<!-- Generated from schemas/vm.schema by `startvm schema --markdown` "
                  "(run scripts/gen-docs.sh); do not edit by hand. -->\n\n");
  sv_buf_addf (&b, "%s\n\n", s->intro);
  sv_buf_add (&b, "Editors: `startvm schema --json` prints a JSON Schema (committed as "
                  "`schemas/vm.schema.json`); with yaml-language-server, start vm.yaml with\n"
                  "`# yaml-language-server: $schema=<path or URL of vm.schema.json>`.\n\n");
  sv_buf_addf (&b, "## Value formats\n\n%s\n\n", s->formats);
  sv_buf_add (&b, "## Top-level keys\n\n");
  md_table (&b, &s->root);
  md_sections (&b, &s->root);

  sv_buf_addf (&b, "\n## Environment variables\n\n%s\n\n", s->env_doc);
  sv_buf_add (&b, "| Variable | Sets | Type | Notes |\n|----------|------|------|-------|\n");
  for (size_t i = 0; i < s->n_env; i++)
    {
      const struct sv_env_var *v = s->env[i];
      struct sv_buf cell = { 0 };
      sv_buf_addf (&b, "| `%s` | `%s` | ", v->name, v->field->path);
      sv_field_describe (&cell, v->field, true);
      md_cell (&b, cell.data);
      sv_buf_free (&cell);
      sv_buf_add (&b, " | ");
      if (v->doc)
        md_cell (&b, v->doc);
      else if (v->field->type == SV_FT_MAPS)
        sv_buf_add (&b, "see [DISKS syntax](#disks-syntax)");
      sv_buf_add (&b, " |\n");
    }
  sv_buf_addf (&b, "\n<a id=\"disks-syntax\"></a>\n\n## DISKS syntax\n\n%s\n", s->disks_env_doc);
  return sv_buf_steal (&b);
}
