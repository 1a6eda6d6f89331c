/* cfg_load.c: YAML -> node tree with positions, and everything the loader
 * refuses on purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_test_helpers.h"
#include "util.h"

/* Loader error for yaml (NULL when it loads). */
static char *
load_error_n (const char *yaml, size_t len)
{
  struct sv_cfg_doc doc;
  sv_error_t err = NULL;
  if (sv_cfg_load_buffer ("t.yaml", yaml, len, &doc, &err) == 0)
    {
      assert_non_null (doc.root);
      assert_int_equal (doc.root->kind, SV_NODE_MAP);
      sv_cfg_doc_free (&doc);
      return NULL;
    }
  assert_non_null (err);
  assert_int_equal (err->exit_class, SV_EXIT_USAGE);
  assert_null (doc.root);
  char *m = sv_xstrdup (err->msg);
  sv_error_release (&err);
  return m;
}

static char *
load_error (const char *yaml)
{
  return load_error_n (yaml, strlen (yaml));
}

#define assert_load_error(yaml, expected)                                                          \
  do                                                                                               \
    {                                                                                              \
      char *_m = load_error (yaml);                                                                \
      if (_m == NULL)                                                                              \
        fail_msg ("expected an error for %s", yaml);                                               \
      assert_string_equal (_m, expected);                                                          \
      free (_m);                                                                                   \
    }                                                                                              \
  while (0)

#define assert_load_ok(yaml)                                                                       \
  do                                                                                               \
    {                                                                                              \
      char *_m = load_error (yaml);                                                                \
      if (_m)                                                                                      \
        fail_msg ("unexpected error for %s: %s", yaml, _m);                                        \
    }                                                                                              \
  while (0)

static void
test_positions (void **state)
{
  const char *y = "# comment\nname: web\nnetwork:\n  dhcp: \"no\"\n  interfaces: [eth0, ~]\n"
                  "é: 1\n";
  struct sv_cfg_doc doc;
  sv_error_t err = NULL;
  assert_int_equal (sv_cfg_load_buffer ("vm.yaml", y, strlen (y), &doc, &err), 0);
  assert_string_equal (doc.file, "vm.yaml");
  struct sv_node *r = doc.root;
  assert_int_equal (r->n, 3);
  assert_string_equal (r->pairs[0].key, "name");
  assert_int_equal (r->pairs[0].key_origin.line, 2);
  assert_int_equal (r->pairs[0].key_origin.col, 1);
  assert_string_equal (r->pairs[0].key_origin.file, "vm.yaml");
  struct sv_node *name = sv_node_get (r, "name");
  assert_int_equal (name->kind, SV_NODE_SCALAR);
  assert_string_equal (name->scalar, "web");
  assert_false (name->quoted);
  assert_int_equal (name->origin.kind, SV_ORIGIN_FILE);
  assert_int_equal (name->origin.line, 2);
  assert_int_equal (name->origin.col, 7);
  struct sv_node *net = sv_node_get (r, "network");
  assert_int_equal (net->kind, SV_NODE_MAP);
  assert_int_equal (net->origin.line, 4);
  assert_int_equal (net->origin.col, 3);
  struct sv_node *dhcp = sv_node_get (net, "dhcp");
  assert_true (dhcp->quoted);
  assert_int_equal (dhcp->origin.col, 9);
  struct sv_node *ifs = sv_node_get (net, "interfaces");
  assert_int_equal (ifs->kind, SV_NODE_SEQ);
  assert_int_equal (ifs->n, 2);
  assert_int_equal (ifs->items[0]->origin.col, 16);
  assert_int_equal (ifs->items[1]->kind, SV_NODE_NULL);
  assert_int_equal (ifs->items[1]->origin.col, 22);
  /* Columns count characters, as libyaml's do. */
  assert_int_equal (r->pairs[2].key_origin.line, 6);
  assert_int_equal (r->pairs[2].value->origin.col, 4);
  assert_null (sv_node_get (r, "nope"));
  assert_null (sv_node_get (name, "x"));
  sv_cfg_doc_free (&doc);
}

static void
test_scalars (void **state)
{
  const char *y = "a: ~\nb: null\nc:\nd: ''\ne: \"~\"\nf: !!str 2\ng: 'x'\nh: |\n  l1\n  l2\n";
  struct sv_cfg_doc doc;
  sv_error_t err = NULL;
  assert_int_equal (sv_cfg_load_buffer ("t.yaml", y, strlen (y), &doc, &err), 0);
  struct sv_node *r = doc.root;
  assert_int_equal (sv_node_get (r, "a")->kind, SV_NODE_NULL);
  assert_int_equal (sv_node_get (r, "b")->kind, SV_NODE_NULL);
  assert_int_equal (sv_node_get (r, "c")->kind, SV_NODE_NULL);
  assert_int_equal (sv_node_get (r, "d")->kind, SV_NODE_SCALAR);
  assert_string_equal (sv_node_get (r, "d")->scalar, "");
  assert_true (sv_node_get (r, "e")->quoted);
  assert_string_equal (sv_node_get (r, "e")->scalar, "~");
  assert_true (sv_node_get (r, "f")->quoted);
  assert_string_equal (sv_node_get (r, "f")->scalar, "2");
  assert_true (sv_node_get (r, "g")->quoted);
  assert_string_equal (sv_node_get (r, "h")->scalar, "l1\nl2\n");
  sv_cfg_doc_free (&doc);
}

static void
test_empty (void **state)
{
  /* Empty and comment-only files are valid, empty configurations. */
  assert_load_ok ("");
  assert_load_ok ("# only a comment\n\n");
  assert_load_ok ("---\n");
  assert_load_ok ("~\n");
  assert_load_ok ("---\n...\n");
  struct sv_cfg_doc doc;
  sv_error_t err = NULL;
  assert_int_equal (sv_cfg_load_buffer ("t.yaml", "", 0, &doc, &err), 0);
  assert_int_equal (doc.root->kind, SV_NODE_MAP);
  assert_int_equal (doc.root->n, 0);
  sv_cfg_doc_free (&doc);
}

static void
test_root_kind (void **state)
{
  assert_load_error ("hello\n",
                     "t.yaml:1:1: the top level must be a map of keys such as 'memory: 2G', not "
                     "a single value");
  assert_load_error ("- a\n- b\n", "t.yaml:1:1: the top level must be a map of keys such as "
                                   "'memory: 2G', not a list");
}

static void
test_malformed (void **state)
{
  assert_load_error ("memory: [1, 2\n", "t.yaml:2:1: invalid YAML: did not find expected ',' or "
                                        "']' (while parsing a flow sequence at line 1, column 9)");
  assert_load_error ("a: b: c\n", "t.yaml:1:5: invalid YAML: mapping values are not allowed in "
                                  "this context");
  assert_load_error ("a: 'x\n", "t.yaml:2:1: invalid YAML: found unexpected end of stream (while "
                                "scanning a quoted scalar at line 1, column 4)");
  assert_load_error ("a: 1\n b: 2\n", "t.yaml:2:3: invalid YAML: mapping values are not allowed "
                                      "in this context");
  /* Control characters come from libyaml's reader, with our position. */
  assert_load_error ("a: 1\nb: \x01\n",
                     "t.yaml:2:4: invalid YAML: control characters are not allowed");
  assert_load_error ("a: 1\n---\nb: 2\n",
                     "t.yaml:2:1: only one YAML document is allowed (remove the second '---')");
  assert_load_error ("? [a]\n: 1\n", "t.yaml:1:3: a key must be a plain string");
  assert_load_error ("? \n: 1\n", "t.yaml:1:2: a key must not be empty");
  assert_load_error ("a: \"x\\0y\"\n", "t.yaml:1:4: a value must not contain NUL bytes");
  assert_load_error ("a: !!int 1\n",
                     "t.yaml:1:4: YAML tags are not supported (tag:yaml.org,2002:int); only !!str "
                     "is");
  assert_load_error ("a: !!map {}\n",
                     "t.yaml:1:4: YAML tags are not supported (tag:yaml.org,2002:map); only !!str "
                     "is");
}

static void
test_tabs (void **state)
{
  assert_load_error ("a:\n\tb: 1\n",
                     "t.yaml:2:1: tabs are not allowed for indentation (indent with spaces)");
  assert_load_error ("a:\n  \tb: 1\n",
                     "t.yaml:2:3: tabs are not allowed for indentation (indent with spaces)");
  assert_load_error ("memory: 1G\n\tcpus: 2\n",
                     "t.yaml:2:1: tabs are not allowed for indentation (indent with spaces)");
  /* A plain scalar's continuation line would swallow the tab silently. */
  assert_load_error ("a: foo\n\tbar\n",
                     "t.yaml:2:1: tabs are not allowed for indentation (indent with spaces)");
  assert_load_error ("a: 1\n\t# comment\n",
                     "t.yaml:2:1: tabs are not allowed for indentation (indent with spaces)");
  /* Tabs that are content or separation are fine. */
  assert_load_ok ("a:\tb\n");
  assert_load_ok ("a: |\n  x\n  \ty\n");
  assert_load_ok ("a: \"x\n\ty\"\n");
  assert_load_ok ("a: 'x\n\ty'\n");
  assert_load_ok ("a: b # x\t\n");
}

static void
test_duplicates (void **state)
{
  assert_load_error ("a: 1\nb: 2\na: 3\n",
                     "t.yaml:3:1: duplicate key 'a' (first at line 1, column 1)");
  assert_load_error ("n:\n  x: 1\n  'x': 2\n",
                     "t.yaml:3:3: duplicate key 'x' (first at line 2, column 3)");
  assert_load_error ("l: [{a: 1, a: 2}]\n",
                     "t.yaml:1:12: duplicate key 'a' (first at line 1, column 6)");
  /* Big maps take the sorted path; the earliest repetition is reported. */
  struct sv_buf b = { 0 };
  for (int i = 0; i < 40; i++)
    sv_buf_addf (&b, "k%d: %d\n", i, i);
  sv_buf_add (&b, "k30: x\nk7: y\n");
  char *m = load_error (b.data);
  assert_non_null (m);
  assert_string_equal (m, "t.yaml:41:1: duplicate key 'k30' (first at line 31, column 1)");
  free (m);
  sv_buf_free (&b);
  /* Equal keys in different maps are not duplicates. */
  assert_load_ok ("a: {x: 1}\nb: {x: 1}\n");
}

static void
test_aliases (void **state)
{
  assert_load_error ("a: &x 1\nb: *x\n",
                     "t.yaml:1:4: anchors and aliases are not supported (&x): write the value out");
  assert_load_error ("a: *x\n",
                     "t.yaml:1:4: anchors and aliases are not supported (*x): write the value out");
  /* The classic "billion laughs": refused at the first anchor, at once. */
  const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                     "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
  assert_load_error (bomb, "t.yaml:1:4: anchors and aliases are not supported (&a): write the "
                           "value out");
  assert_load_error ("<<: &base {a: 1}\n", "t.yaml:1:5: anchors and aliases are not supported "
                                           "(&base): write the value out");
}

static void
test_depth (void **state)
{
  struct sv_buf ok = { 0 }, bad = { 0 };
  /* The root map is level 1: 31 lists inside it make 32 levels. */
  sv_buf_add (&ok, "a: ");
  sv_buf_add (&bad, "a: ");
  for (int i = 0; i < 31; i++)
    sv_buf_add (&ok, "[");
  for (int i = 0; i < 31; i++)
    sv_buf_add (&ok, "]");
  for (int i = 0; i < 32; i++)
    sv_buf_add (&bad, "[");
  for (int i = 0; i < 32; i++)
    sv_buf_add (&bad, "]");
  assert_load_ok (ok.data);
  assert_load_error (bad.data, "t.yaml:1:35: nesting is deeper than 32 levels");
  sv_buf_free (&ok);
  sv_buf_free (&bad);
  /* Deep input far past the limit stops early, without recursion. */
  char *deep = sv_xmalloc (200001);
  memset (deep, '[', 200000);
  deep[200000] = '\0';
  char *m = load_error (deep);
  assert_string_equal (m, "t.yaml:1:33: nesting is deeper than 32 levels");
  free (m);
  free (deep);
}

static void
test_utf8 (void **state)
{
  assert_load_ok ("name: \"Grüße 日本 🚀\"\n");
  assert_load_error ("a: 1\nname: \xc3\x28\n", "t.yaml:2:7: not valid UTF-8 (byte 0xc3 at offset "
                                               "11); save the file as UTF-8");
  assert_load_error ("a: \xff\n",
                     "t.yaml:1:4: not valid UTF-8 (byte 0xff at offset 3); save the file as UTF-8");
  /* Overlong, surrogate, past U+10FFFF, truncated at the end. */
  assert_load_error ("a: \xc0\xaf\n", "t.yaml:1:4: not valid UTF-8 (byte 0xc0 at offset 3); save "
                                      "the file as UTF-8");
  assert_load_error ("a: \xed\xa0\x80\n", "t.yaml:1:4: not valid UTF-8 (byte 0xed at offset 3); "
                                          "save the file as UTF-8");
  assert_load_error ("a: \xf4\x90\x80\x80\n", "t.yaml:1:4: not valid UTF-8 (byte 0xf4 at offset "
                                              "3); save the file as UTF-8");
  assert_load_error ("é: \xe2\x82", "t.yaml:1:4: not valid UTF-8 (byte 0xe2 at offset 4); save the "
                                    "file as UTF-8");
  /* Latin-1 is the usual culprit. */
  assert_load_error ("name: caf\xe9\n", "t.yaml:1:10: not valid UTF-8 (byte 0xe9 at offset 9); "
                                        "save the file as UTF-8");
}

static void
test_size_limit (void **state)
{
  size_t n = SV_CFG_MAX_BYTES + 1;
  char *big = sv_xmalloc (n);
  memset (big, '#', n);
  char *m = load_error_n (big, n);
  assert_string_equal (m, "t.yaml: config file is too large (1048577 bytes; the limit is 1048576)");
  free (m);
  /* Exactly the limit is fine. */
  big[0] = '\n';
  m = load_error_n (big, n - 1);
  assert_null (m);
  free (big);
}

static char tmpdir[] = "/tmp/sv_test_cfg_load.XXXXXX";

static char *
tmp_path (const char *name)
{
  char *p = NULL;
  if (asprintf (&p, "%s/%s", tmpdir, name) < 0)
    abort ();
  return p;
}

static char *
file_error (const char *path, bool must_exist)
{
  struct sv_cfg_doc doc;
  sv_error_t err = NULL;
  if (sv_cfg_load_file (path, must_exist, &doc, &err) == 0)
    {
      sv_cfg_doc_free (&doc);
      return NULL;
    }
  assert_int_equal (err->exit_class, SV_EXIT_USAGE);
  char *m = sv_xstrdup (err->msg);
  sv_error_release (&err);
  return m;
}

static void
test_files (void **state)
{
  assert_non_null (mkdtemp (tmpdir));
  char *missing = tmp_path ("missing.yaml");
  char *m = file_error (missing, true);
  char *want = NULL;
  assert_true (asprintf (&want, "%s: cannot open config file: No such file or directory", missing)
               > 0);
  assert_string_equal (m, want);
  free (m);
  free (want);
  /* The default path may be missing: an empty config. */
  struct sv_cfg_doc doc;
  sv_error_t err = NULL;
  assert_int_equal (sv_cfg_load_file (missing, false, &doc, &err), 0);
  assert_int_equal (doc.root->n, 0);
  assert_string_equal (doc.file, missing);
  sv_cfg_doc_free (&doc);

  /* A directory, even at the default path, is an error. */
  m = file_error (tmpdir, false);
  assert_true (asprintf (&want, "%s: is a directory, not a config file", tmpdir) > 0);
  assert_string_equal (m, want);
  free (m);
  free (want);

  /* A 10 MB (sparse) file is refused from its size, without reading it. */
  char *big = tmp_path ("big.yaml");
  int fd = open (big, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, 10 * 1000 * 1000), 0);
  close (fd);
  m = file_error (big, true);
  assert_true (asprintf (&want,
                         "%s: config file is too large (10000000 bytes; the limit is "
                         "1048576)",
                         big)
               > 0);
  assert_string_equal (m, want);
  free (m);
  free (want);
  unlink (big);
  free (big);

  /* A good file; its name is what messages use. */
  char *good = tmp_path ("vm.yaml");
  FILE *f = fopen (good, "we");
  fputs ("cpus: 2\n", f);
  fclose (f);
  assert_int_equal (sv_cfg_load_file (good, true, &doc, &err), 0);
  assert_int_equal (sv_node_get (doc.root, "cpus")->origin.line, 1);
  assert_string_equal (sv_node_get (doc.root, "cpus")->origin.file, good);
  sv_cfg_doc_free (&doc);

  /* A pipe is read to its end (--config <(...)). */
  int p[2];
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  assert_int_equal (write (p[1], "cpus: 3\n", 8), 8);
  close (p[1]);
  char *dev = NULL;
  assert_true (asprintf (&dev, "/proc/self/fd/%d", p[0]) > 0);
  assert_int_equal (sv_cfg_load_file (dev, true, &doc, &err), 0);
  assert_string_equal (sv_node_get (doc.root, "cpus")->scalar, "3");
  sv_cfg_doc_free (&doc);
  close (p[0]);
  free (dev);

  /* Unreadable: only testable without CAP_DAC_OVERRIDE (the CLI test
   * covers root by running startvm as nobody). */
  if (geteuid () != 0)
    {
      chmod (good, 0);
      m = file_error (good, true);
      assert_true (asprintf (&want, "%s: cannot open config file: Permission denied", good) > 0);
      assert_string_equal (m, want);
      free (m);
      free (want);
    }
  unlink (good);
  free (good);
  rmdir (tmpdir);
  free (missing);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_positions),  cmocka_unit_test (test_scalars),
    cmocka_unit_test (test_empty),      cmocka_unit_test (test_root_kind),
    cmocka_unit_test (test_malformed),  cmocka_unit_test (test_tabs),
    cmocka_unit_test (test_duplicates), cmocka_unit_test (test_aliases),
    cmocka_unit_test (test_depth),      cmocka_unit_test (test_utf8),
    cmocka_unit_test (test_size_limit), cmocka_unit_test (test_files),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
