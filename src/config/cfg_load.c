/* vm.yaml -> node tree.  libyaml's event API builds the tree with an
 * explicit stack (no recursion on input depth); every node keeps its
 * file:line:column.  libyaml accepts several things we refuse on purpose:
 * duplicate keys (it reports none), anchors and aliases (an alias bomb
 * expands exponentially), multiple documents and tags other than !!str. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cfg.h"
#include "cfg_internal.h"
#include "cleanup.h"
#include "util.h"

#define MAX_DEPTH 32

/* ---- positions ---- */

/* libyaml counts columns in characters; so do we, so positions agree. */
static void
offset_to_position (const char *buf, size_t len, size_t off, int *line, int *col)
{
  int l = 1, c = 1;
  for (size_t i = 0; i < off && i < len; i++)
    {
      unsigned char ch = (unsigned char)buf[i];
      if (ch == '\n')
        {
          l++;
          c = 1;
        }
      else if ((ch & 0xc0) != 0x80)
        c++;
    }
  *line = l;
  *col = c;
}

/* Byte offset of the start of 0-based line `line`, or len. */
static size_t
line_start (const char *buf, size_t len, size_t line)
{
  size_t off = 0;
  while (line > 0 && off < len)
    {
      const char *nl = memchr (buf + off, '\n', len - off);
      if (nl == NULL)
        return len;
      off = (size_t)(nl - buf) + 1;
      line--;
    }
  return off;
}

/* ---- UTF-8 ---- */

/* Returns the offset of the first byte that is not well-formed UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included), or
 * len when the whole buffer is valid. */
static size_t
find_invalid_utf8 (const unsigned char *s, size_t len)
{
  size_t i = 0;
  while (i < len)
    {
      size_t n = sv_utf8_seq_len (s + i, len - i);
      if (n == 0)
        return i;
      i += n;
    }
  return len;
}

/* ---- the loader ---- */

struct frame
{
  struct sv_node *node; /* MAP or SEQ */
  size_t cap;
  char *key; /* MAP: key waiting for its value */
  struct sv_origin key_origin;
};

struct loader
{
  const char *file;
  const char *buf;
  size_t len;
  struct frame stack[MAX_DEPTH];
  int depth;
  struct sv_node *root;
  int documents;
  /* Lines (0-based) inside quoted or block scalars: their leading tabs are
   * content, not indentation.  Only tracked when the input has a tab. */
  unsigned char *scalar_lines;
  size_t n_lines;
};

static void
loader_free (struct loader *ld)
{
  for (int i = 0; i < ld->depth; i++)
    free (ld->stack[i].key);
  sv_node_free (ld->root);
  free (ld->scalar_lines);
}

static struct sv_origin
mark_origin (const struct loader *ld, yaml_mark_t m)
{
  return (struct sv_origin){
    .kind = SV_ORIGIN_FILE, .file = ld->file, .line = (int)m.line + 1, .col = (int)m.column + 1
  };
}

static int
error_at (struct loader *ld, yaml_mark_t m, sv_error_t *err, const char *what)
{
  return sv_error_config (err, "%s:%zu:%zu: %s", ld->file, m.line + 1, m.column + 1, what);
}

/* A tab among the blanks that start a line (a blank-only line excepted). */
static bool
line_has_tab_indent (const char *p, const char *end)
{
  bool tab = false;
  for (; p < end && (*p == ' ' || *p == '\t'); p++)
    tab |= *p == '\t';
  return tab && p < end && *p != '\n' && *p != '\r';
}

/* Finds the first line up to max_line (0-based, inclusive) indented with a
 * tab that is not inside a quoted or block scalar.  Returns its 0-based
 * line number, or -1. */
static long
find_tab_indent (const struct loader *ld, size_t max_line)
{
  if (ld->scalar_lines == NULL)
    return -1;
  const char *p = ld->buf, *end = ld->buf + ld->len;
  for (size_t line = 0; p < end && line <= max_line; line++)
    {
      const char *nl = memchr (p, '\n', (size_t)(end - p));
      const char *eol = nl ? nl : end;
      if (!(line < ld->n_lines && ld->scalar_lines[line]) && line_has_tab_indent (p, eol))
        return (long)line;
      if (nl == NULL)
        break;
      p = nl + 1;
    }
  return -1;
}

static int
tab_error (const struct loader *ld, long line, sv_error_t *err)
{
  size_t off = line_start (ld->buf, ld->len, (size_t)line);
  size_t tab = off;
  while (tab < ld->len && ld->buf[tab] != '\t')
    tab++;
  return sv_error_config (err,
                          "%s:%ld:%zu: tabs are not allowed for indentation (indent with spaces)",
                          ld->file, line + 1, tab - off + 1);
}

static int
parser_error (struct loader *ld, yaml_parser_t *p, sv_error_t *err)
{
  if (p->error == YAML_READER_ERROR)
    {
      int line, col;
      offset_to_position (ld->buf, ld->len, p->problem_offset, &line, &col);
      return sv_error_config (err, "%s:%d:%d: invalid YAML: %s", ld->file, line, col,
                              p->problem ? p->problem : "unreadable input");
    }
  if (p->error == YAML_MEMORY_ERROR)
    abort ();
  long tab = find_tab_indent (ld, p->problem_mark.line);
  if (tab >= 0)
    return tab_error (ld, tab, err);
  /* libyaml also stops at a tab that starts a blank-looking token. */
  size_t ls = line_start (ld->buf, ld->len, p->problem_mark.line);
  if (ls < ld->len && ld->buf[ls] == '\t')
    return tab_error (ld, (long)p->problem_mark.line, err);
  if (p->context)
    return sv_error_config (err, "%s:%zu:%zu: invalid YAML: %s (%s at line %zu, column %zu)",
                            ld->file, p->problem_mark.line + 1, p->problem_mark.column + 1,
                            p->problem ? p->problem : "syntax error", p->context,
                            p->context_mark.line + 1, p->context_mark.column + 1);
  return sv_error_config (err, "%s:%zu:%zu: invalid YAML: %s", ld->file, p->problem_mark.line + 1,
                          p->problem_mark.column + 1, p->problem ? p->problem : "syntax error");
}

/* Attaches a new node to its parent (or makes it the root). */
static int
add_node (struct loader *ld, struct sv_node *n, yaml_mark_t mark, sv_error_t *err)
{
  if (ld->depth == 0)
    {
      ld->root = n;
      return 0;
    }
  struct frame *f = &ld->stack[ld->depth - 1];
  if (f->node->kind == SV_NODE_SEQ)
    {
      if (f->node->n == f->cap)
        {
          f->cap = f->cap ? f->cap * 2 : 4;
          f->node->items = sv_xrealloc (f->node->items, f->cap * sizeof *f->node->items);
        }
      f->node->items[f->node->n++] = n;
      return 0;
    }
  if (f->key == NULL)
    {
      /* n is a key. */
      if (n->kind != SV_NODE_SCALAR)
        {
          bool null = n->kind == SV_NODE_NULL;
          sv_node_free (n);
          return error_at (ld, mark, err,
                           null ? "a key must not be empty" : "a key must be a plain string");
        }
      f->key = steal_pointer (&n->scalar);
      f->key_origin = n->origin;
      sv_node_free (n);
      return 0;
    }
  if (f->node->n == f->cap)
    {
      f->cap = f->cap ? f->cap * 2 : 4;
      f->node->pairs = sv_xrealloc (f->node->pairs, f->cap * sizeof *f->node->pairs);
    }
  f->node->pairs[f->node->n++] = (struct sv_node_pair){ .key = steal_pointer (&f->key),
                                                        .key_origin = f->key_origin,
                                                        .value = n };
  return 0;
}

struct key_ref
{
  const char *key;
  size_t index;
};

static int
compare_key_ref (const void *a, const void *b)
{
  const struct key_ref *x = a, *y = b;
  int c = strcmp (x->key, y->key);
  if (c)
    return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* libyaml does not reject duplicate keys; the later one would silently win.
 * Sorting keeps a huge map O(n log n).  Reports the earliest repetition. */
static int
check_duplicates (struct loader *ld, const struct sv_node *map, sv_error_t *err)
{
  if (map->n < 2)
    return 0;
  size_t dup = SIZE_MAX, first = 0;
  if (map->n <= 8)
    {
      for (size_t i = 1; i < map->n && dup == SIZE_MAX; i++)
        for (size_t j = 0; j < i; j++)
          if (strcmp (map->pairs[i].key, map->pairs[j].key) == 0)
            {
              dup = i;
              first = j;
              break;
            }
    }
  else
    {
      cleanup_free struct key_ref *refs = sv_xcalloc (map->n, sizeof *refs);
      for (size_t i = 0; i < map->n; i++)
        refs[i] = (struct key_ref){ map->pairs[i].key, i };
      qsort (refs, map->n, sizeof *refs, compare_key_ref);
      size_t group = 0;
      for (size_t i = 1; i < map->n; i++)
        {
          if (strcmp (refs[i].key, refs[group].key) != 0)
            {
              group = i;
              continue;
            }
          if (i == group + 1 && refs[i].index < dup)
            {
              dup = refs[i].index;
              first = refs[group].index;
            }
        }
    }
  if (dup == SIZE_MAX)
    return 0;
  const struct sv_node_pair *d = &map->pairs[dup], *f = &map->pairs[first];
  struct sv_buf b = { 0 };
  sv_buf_add_escaped (&b, d->key, SV_ESC_MESSAGE);
  sv_error_config (err, "%s:%d:%d: duplicate key '%s' (first at line %d, column %d)", ld->file,
                   d->key_origin.line, d->key_origin.col, b.data, f->key_origin.line,
                   f->key_origin.col);
  sv_buf_free (&b);
  return -1;
}

static bool
is_null_scalar (const yaml_event_t *ev)
{
  if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || ev->data.scalar.tag)
    return false;
  const char *v = (const char *)ev->data.scalar.value;
  return *v == '\0' || strcmp (v, "~") == 0 || strcmp (v, "null") == 0 || strcmp (v, "Null") == 0
         || strcmp (v, "NULL") == 0;
}

static int
check_anchor_tag (struct loader *ld, const yaml_event_t *ev, const yaml_char_t *anchor,
                  const yaml_char_t *tag, bool scalar, sv_error_t *err)
{
  if (anchor)
    {
      struct sv_buf b = { 0 };
      sv_buf_add_escaped (&b, (const char *)anchor, SV_ESC_MESSAGE);
      sv_error_config (err,
                       "%s:%zu:%zu: anchors and aliases are not supported (&%s): write the "
                       "value out",
                       ld->file, ev->start_mark.line + 1, ev->start_mark.column + 1, b.data);
      sv_buf_free (&b);
      return -1;
    }
  if (tag && !(scalar && strcmp ((const char *)tag, YAML_STR_TAG) == 0))
    {
      struct sv_buf b = { 0 };
      sv_buf_add_escaped (&b, (const char *)tag, SV_ESC_MESSAGE);
      sv_error_config (err, "%s:%zu:%zu: YAML tags are not supported (%s); only !!str is", ld->file,
                       ev->start_mark.line + 1, ev->start_mark.column + 1, b.data);
      sv_buf_free (&b);
      return -1;
    }
  return 0;
}

static void
mark_scalar_lines (struct loader *ld, const yaml_event_t *ev)
{
  if (ld->scalar_lines == NULL || ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
    return;
  for (size_t l = ev->start_mark.line + 1; l <= ev->end_mark.line && l < ld->n_lines; l++)
    ld->scalar_lines[l] = 1;
}

static int
handle_event (struct loader *ld, yaml_event_t *ev, bool *done, sv_error_t *err)
{
  switch (ev->type)
    {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_NO_EVENT:
      return 0;
    case YAML_STREAM_END_EVENT:
      *done = true;
      return 0;
    case YAML_DOCUMENT_START_EVENT:
      if (++ld->documents > 1)
        return error_at (ld, ev->start_mark, err,
                         "only one YAML document is allowed (remove the second '---')");
      return 0;
    case YAML_ALIAS_EVENT:
      {
        struct sv_buf b = { 0 };
        sv_buf_add_escaped (&b, (const char *)ev->data.alias.anchor, SV_ESC_MESSAGE);
        sv_error_config (err,
                         "%s:%zu:%zu: anchors and aliases are not supported (*%s): write the "
                         "value out",
                         ld->file, ev->start_mark.line + 1, ev->start_mark.column + 1, b.data);
        sv_buf_free (&b);
        return -1;
      }
    case YAML_SCALAR_EVENT:
      {
        if (check_anchor_tag (ld, ev, ev->data.scalar.anchor, ev->data.scalar.tag, true, err) < 0)
          return -1;
        mark_scalar_lines (ld, ev);
        struct sv_origin o = mark_origin (ld, ev->start_mark);
        struct sv_node *n;
        if (is_null_scalar (ev))
          n = sv_node_new (SV_NODE_NULL, &o);
        else
          {
            n = sv_node_new (SV_NODE_SCALAR, &o);
            /* libyaml NUL-terminates; an embedded NUL (\0 escape) would cut
             * the value silently, so refuse it. */
            if (strlen ((const char *)ev->data.scalar.value) != ev->data.scalar.length)
              {
                sv_node_free (n);
                return error_at (ld, ev->start_mark, err, "a value must not contain NUL bytes");
              }
            n->scalar = sv_xstrdup ((const char *)ev->data.scalar.value);
            n->quoted
                = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || ev->data.scalar.tag != NULL;
          }
        return add_node (ld, n, ev->start_mark, err);
      }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        if (check_anchor_tag (
                ld, ev, map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor,
                map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag, false, err)
            < 0)
          return -1;
        if (ld->depth >= MAX_DEPTH)
          return sv_error_config (err, "%s:%zu:%zu: nesting is deeper than %d levels", ld->file,
                                  ev->start_mark.line + 1, ev->start_mark.column + 1, MAX_DEPTH);
        struct sv_origin o = mark_origin (ld, ev->start_mark);
        struct sv_node *n = sv_node_new (map ? SV_NODE_MAP : SV_NODE_SEQ, &o);
        if (add_node (ld, n, ev->start_mark, err) < 0)
          return -1;
        ld->stack[ld->depth++] = (struct frame){ .node = n };
        return 0;
      }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      {
        struct frame *f = &ld->stack[--ld->depth];
        free (f->key); /* cannot happen with a well-formed stream */
        f->key = NULL;
        if (f->node->kind == SV_NODE_MAP)
          return check_duplicates (ld, f->node, err);
        return 0;
      }
    }
  return 0;
}

int
sv_cfg_load_buffer (const char *display_name, const char *buf, size_t len, struct sv_cfg_doc *out,
                    sv_error_t *err)
{
  *out = (struct sv_cfg_doc){ 0 };
  cleanup_free char *file = sv_xstrdup (display_name);
  if (len > SV_CFG_MAX_BYTES)
    return sv_error_config (err, "%s: config file is too large (%zu bytes; the limit is %d)", file,
                            len, SV_CFG_MAX_BYTES);
  size_t bad = find_invalid_utf8 ((const unsigned char *)buf, len);
  if (bad < len)
    {
      int line, col;
      offset_to_position (buf, len, bad, &line, &col);
      return sv_error_config (err,
                              "%s:%d:%d: not valid UTF-8 (byte 0x%02x at offset %zu); save the "
                              "file as UTF-8",
                              file, line, col, (unsigned char)buf[bad], bad);
    }

  struct loader ld = { .file = file, .buf = buf, .len = len };
  if (memchr (buf, '\t', len))
    {
      ld.n_lines = 1;
      for (const char *p = buf; (p = memchr (p, '\n', len - (size_t)(p - buf))); p++)
        ld.n_lines++;
      ld.scalar_lines = sv_xcalloc (ld.n_lines, 1);
    }

  yaml_parser_t parser;
  if (!yaml_parser_initialize (&parser))
    abort ();
  yaml_parser_set_input_string (&parser, (const unsigned char *)buf, len);
  yaml_parser_set_encoding (&parser, YAML_UTF8_ENCODING);
  int ret = 0;
  bool done = false;
  while (!done)
    {
      yaml_event_t ev;
      if (!yaml_parser_parse (&parser, &ev))
        {
          ret = parser_error (&ld, &parser, err);
          break;
        }
      ret = handle_event (&ld, &ev, &done, err);
      yaml_event_delete (&ev);
      if (ret < 0)
        break;
    }
  yaml_parser_delete (&parser);
  if (ret == 0)
    {
      long tab = find_tab_indent (&ld, SIZE_MAX);
      if (tab >= 0)
        ret = tab_error (&ld, tab, err);
    }
  if (ret == 0 && ld.root != NULL && ld.root->kind != SV_NODE_MAP && ld.root->kind != SV_NODE_NULL)
    ret = sv_error_config (err,
                           "%s:%d:%d: the top level must be a map of keys such as 'memory: 2G', "
                           "not a %s",
                           file, ld.root->origin.line, ld.root->origin.col,
                           ld.root->kind == SV_NODE_SEQ ? "list" : "single value");
  if (ret < 0)
    {
      loader_free (&ld);
      return -1;
    }
  /* An empty or comment-only file (or a lone '~') is an empty config. */
  if (ld.root == NULL || ld.root->kind == SV_NODE_NULL)
    {
      sv_node_free (ld.root);
      ld.root = sv_node_new (
          SV_NODE_MAP,
          &(struct sv_origin){ .kind = SV_ORIGIN_FILE, .file = file, .line = 1, .col = 1 });
    }
  out->root = steal_pointer (&ld.root);
  out->file = steal_pointer (&file);
  loader_free (&ld);
  return 0;
}

int
sv_cfg_load_file (const char *path, bool must_exist, struct sv_cfg_doc *out, sv_error_t *err)
{
  *out = (struct sv_cfg_doc){ 0 };
  /* O_NONBLOCK: opening a FIFO without a writer must not hang startvm. */
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      if (errno == ENOENT && !must_exist)
        {
          if (sv_cfg_load_buffer (path, "", 0, out, err) < 0)
            return -1;
          out->file_missing = true;
          return 0;
        }
      return sv_error_errno (err, SV_EXIT_USAGE, errno, "%s: cannot open config file", path);
    }
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sv_error_errno (err, SV_EXIT_USAGE, errno, "%s: cannot stat config file", path);
  if (S_ISDIR (st.st_mode))
    return sv_error_config (err, "%s: is a directory, not a config file", path);
  if (S_ISREG (st.st_mode) && st.st_size > SV_CFG_MAX_BYTES)
    return sv_error_config (err, "%s: config file is too large (%lld bytes; the limit is %d)", path,
                            (long long)st.st_size, SV_CFG_MAX_BYTES);
  if (!S_ISREG (st.st_mode))
    {
      /* A pipe (--config <(...)) is read to its end, blocking. */
      int fl = fcntl (fd, F_GETFL);
      if (fl >= 0)
        fcntl (fd, F_SETFL, fl & ~O_NONBLOCK);
    }
  /* Never read more than the limit plus one byte, whatever the file says. */
  cleanup_free char *buf = NULL;
  ssize_t len = sv_read_fd_alloc (fd, SV_CFG_MAX_BYTES + 1, &buf);
  if (len < 0)
    return sv_error_errno (err, SV_EXIT_USAGE, errno, "%s: cannot read config file", path);
  if (len > SV_CFG_MAX_BYTES)
    return sv_error_config (err, "%s: config file is too large (more than %d bytes)", path,
                            SV_CFG_MAX_BYTES);
  return sv_cfg_load_buffer (path, buf, (size_t)len, out, err);
}
