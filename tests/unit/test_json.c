/* json.c: member lookup, string decoding, integers; hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json.h"

/* A copy of s without its NUL, so that ASan catches any read past len. */
static char *
exact (const char *s, size_t len)
{
  char *p = malloc (len ? len : 1);
  assert_non_null (p);
  memcpy (p, s, len);
  return p;
}

static bool
member (const char *json, const char *key, const char **v, size_t *vl)
{
  return sv_json_member (json, strlen (json), key, v, vl);
}

/* The decoded string member key, or NULL (caller frees). */
static char *
member_string (const char *json, const char *key)
{
  const char *v;
  size_t vl;
  struct sv_buf b = { 0 };
  if (!member (json, key, &v, &vl) || !sv_json_string (v, vl, &b))
    {
      assert_int_equal (b.len, 0);
      sv_buf_free (&b);
      return NULL;
    }
  return sv_buf_steal (&b);
}

static void
test_member_nesting (void **state)
{
  (void)state;
  const char *v;
  size_t vl;
  const char *j = "{\"a\": \"}{\", \"b\" : [1, \"]\", {\"c\": 2}], \"c\": true}";
  assert_true (member (j, "b", &v, &vl));
  assert_int_equal (vl, strlen ("[1, \"]\", {\"c\": 2}]"));
  assert_memory_equal (v, "[1, \"]\", {\"c\": 2}]", vl);
  assert_true (member (j, "c", &v, &vl));
  assert_int_equal (vl, 4);
  assert_memory_equal (v, "true", vl);
  assert_false (member (j, "d", &v, &vl));
  /* a length shorter than the text is respected */
  assert_false (sv_json_member (j, 10, "b", &v, &vl));
  /* nested members are not top-level ones */
  assert_false (member ("{\"x\": {\"format\": \"raw\"}}", "format", &v, &vl));
  assert_false (member ("{\"x\": [{\"format\": \"raw\"}]}", "format", &v, &vl));
  /* a key-like string inside a value is not a key */
  assert_false (member ("{\"x\": \"\\\"format\\\": 1\"}", "format", &v, &vl));
  /* escaped quotes and brackets inside strings in nested values */
  j = "{\"d\": {\"s\": \"a\\\"}]\\\\\", \"t\": [\"[\", \"{\"]}, \"k\": 7}";
  assert_true (member (j, "k", &v, &vl));
  assert_memory_equal (v, "7", vl);
  /* leading whitespace, every member type */
  j = " \t\r\n{ \"n\" : null , \"f\":-1.5e3,\"o\":{},\"a\":[] }";
  assert_true (member (j, "n", &v, &vl));
  assert_memory_equal (v, "null", vl);
  assert_true (member (j, "f", &v, &vl));
  assert_memory_equal (v, "-1.5e3", vl);
  assert_true (member (j, "o", &v, &vl));
  assert_memory_equal (v, "{}", vl);
  assert_true (member (j, "a", &v, &vl));
  assert_memory_equal (v, "[]", vl);
  /* a key spelled with escapes matches its decoded text */
  assert_true (member ("{\"\\u0066ormat\": 1}", "format", &v, &vl));
  assert_false (member ("{\"form\\u0000at\": 1}", "format", &v, &vl));
  /* the first of duplicate members wins */
  assert_true (member ("{\"a\": 1, \"a\": 2}", "a", &v, &vl));
  assert_memory_equal (v, "1", vl);
}

static void
test_member_malformed (void **state)
{
  (void)state;
  const char *v;
  size_t vl;
  static const char *const bad[] = {
    "",
    "   ",
    "[\"a\", 1]",
    "\"a\"",
    "{",
    "{\"a\"",
    "{\"a\":",
    "{\"a\": }",
    "{\"a\" 1}",
    "{a: 1}",
    "{\"a\": 1 \"b\": 2}",
    "{\"a\": [1, 2}, \"b\": 2}",
    "{\"a\": {\"x\": 1], \"b\": 2}",
    "{\"a\": \"unterminated, \"b\": 2",
    "{\"a\": \"x\\",
    "{\"a\": 1,, \"b\": 2}",
    "{\"a\": #, \"b\": 2}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_false (member (bad[i], "b", &v, &vl));
      assert_false (sv_json_is_object (bad[i], strlen (bad[i])));
    }
  assert_false (sv_json_member (NULL, 0, "a", &v, &vl));
  assert_false (sv_json_is_object (NULL, 0));
  /* is_object: whole-text check */
  assert_true (sv_json_is_object ("{}", 2));
  const char *ok = " {\"a\": [1, {\"b\": \"}\"}]} \n";
  assert_true (sv_json_is_object (ok, strlen (ok)));
  assert_false (sv_json_is_object ("{} x", 4));
  assert_false (sv_json_is_object ("{}{}", 4));
}

/* Every prefix of valid JSON, as an exact-size heap copy: never a read
 * past len (ASan), and a member after the cut is never found. */
static void
test_truncated (void **state)
{
  (void)state;
  const char *j = "{\"format\": \"qcow2\", \"nested\": {\"a\": [1, \"]\\\"\", {}]}, "
                  "\"s\": \"\\ud83d\\ude00\\u00e9\", \"virtual-size\": 1073741824}";
  size_t len = strlen (j);
  for (size_t n = 0; n <= len; n++)
    {
      char *p = exact (j, n);
      const char *v;
      size_t vl;
      bool found = sv_json_member (p, n, "virtual-size", &v, &vl);
      assert_int_equal (found, n == len);
      if (found)
        assert_memory_equal (v, "1073741824", vl);
      assert_int_equal (sv_json_is_object (p, n), n == len);
      if (sv_json_member (p, n, "s", &v, &vl))
        {
          struct sv_buf b = { 0 };
          assert_true (sv_json_string (v, vl, &b));
          sv_buf_free (&b);
        }
      free (p);
    }
  /* string values cut anywhere, as exact-size copies */
  const char *s = "\"a\\\"b\\u00e9\\ud83d\\ude00\\\\\"";
  size_t slen = strlen (s);
  for (size_t n = 0; n <= slen; n++)
    {
      char *p = exact (s, n);
      struct sv_buf b = { 0 };
      assert_int_equal (sv_json_string (p, n, &b), n == slen);
      sv_buf_free (&b);
      free (p);
    }
}

static void
test_deep (void **state)
{
  (void)state;
  const char *v;
  size_t vl;
  /* nesting within the bound is skipped */
  size_t d = SV_JSON_MAX_DEPTH;
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "{\"a\": ");
  for (size_t i = 0; i < d; i++)
    sv_buf_add (&b, i % 2 ? "{\"x\":" : "[");
  for (size_t i = d; i-- > 0;)
    sv_buf_add (&b, i % 2 ? "}" : "]");
  sv_buf_add (&b, ", \"b\": 1}");
  assert_true (sv_json_member (b.data, b.len, "b", &v, &vl));
  assert_true (sv_json_is_object (b.data, b.len));
  sv_buf_free (&b);
  /* beyond it: rejected, not a crash */
  sv_buf_add (&b, "{\"a\": ");
  for (size_t i = 0; i < 100000; i++)
    sv_buf_add (&b, "[");
  sv_buf_add (&b, ", \"b\": 1}");
  assert_false (sv_json_member (b.data, b.len, "b", &v, &vl));
  assert_false (sv_json_is_object (b.data, b.len));
  sv_buf_free (&b);
}

static void
test_string (void **state)
{
  (void)state;
  char *s;
  s = member_string ("{\"a\": \"x\\ny\\\\z\\\"q\\/\\b\\f\\r\\t!\"}", "a");
  assert_string_equal (s, "x\ny\\z\"q/\b\f\r\t!");
  free (s);
  s = member_string ("{\"a\": \"\"}", "a");
  assert_string_equal (s, "");
  free (s);
  /* \u: 1, 2, 3 and (surrogate pair) 4 UTF-8 bytes; raw UTF-8 passes */
  s = member_string ("{\"a\": \"\\u0041\\u00e9\\u20AC\\ud83d\\ude00 caf\xc3\xa9\"}", "a");
  assert_string_equal (s, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 caf\xc3\xa9");
  free (s);
  /* lone surrogates become U+FFFD */
  s = member_string ("{\"a\": \"\\ud800x\\udc00\\ud800\\u0041\"}", "a");
  assert_string_equal (s, "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd"
                          "A");
  free (s);
  /* malformed strings */
  assert_null (member_string ("{\"a\": \"\\u12\"}", "a"));
  assert_null (member_string ("{\"a\": \"\\u12g4\"}", "a"));
  assert_null (member_string ("{\"a\": \"\\x\"}", "a"));
  assert_null (member_string ("{\"a\": \"tab\there\"}", "a"));
  /* wrong types */
  assert_null (member_string ("{\"a\": 12}", "a"));
  assert_null (member_string ("{\"a\": null}", "a"));
  assert_null (member_string ("{\"a\": [\"x\"]}", "a"));
  assert_null (member_string ("{\"a\": {\"b\": \"x\"}}", "a"));
  /* the value must be exactly one string */
  struct sv_buf b = { 0 };
  assert_false (sv_json_string ("\"a\" ", 4, &b));
  assert_false (sv_json_string ("\"a\"b\"", 5, &b));
  assert_false (sv_json_string ("\"", 1, &b));
  assert_false (sv_json_string (NULL, 0, &b));
  /* appends; a failure leaves out as it was */
  sv_buf_add (&b, "pre-");
  assert_true (sv_json_string ("\"x\"", 3, &b));
  assert_false (sv_json_string ("\"yy\\q\"", 6, &b));
  assert_int_equal (b.len, 5);
  assert_string_equal (b.data, "pre-x");
  sv_buf_free (&b);
}

static void
test_u64 (void **state)
{
  (void)state;
  uint64_t n = 42;
  assert_true (sv_json_u64 ("0", 1, &n));
  assert_true (n == 0);
  assert_true (sv_json_u64 ("1073741824", 10, &n));
  assert_true (n == 1073741824ULL);
  assert_true (sv_json_u64 ("18446744073709551615", 20, &n));
  assert_true (n == UINT64_MAX);
  n = 42;
  assert_false (sv_json_u64 ("18446744073709551616", 20, &n));
  assert_false (sv_json_u64 ("", 0, &n));
  assert_false (sv_json_u64 ("-1", 2, &n));
  assert_false (sv_json_u64 ("01", 2, &n));
  assert_false (sv_json_u64 ("1.5", 3, &n));
  assert_false (sv_json_u64 ("1e3", 3, &n));
  assert_false (sv_json_u64 ("\"1\"", 3, &n));
  assert_false (sv_json_u64 ("true", 4, &n));
  assert_true (n == 42);
  /* bounded: "12" read as its first byte only */
  assert_true (sv_json_u64 ("12", 1, &n));
  assert_true (n == 1);
  /* a qemu-img info reply */
  const char *j = "{\n    \"virtual-size\": 10737418240,\n    \"filename\": \"d.qcow2\",\n"
                  "    \"format\": \"qcow2\",\n    \"format-specific\": {\"type\": \"qcow2\", "
                  "\"data\": {\"compat\": \"1.1\", \"refcount-bits\": 16}},\n"
                  "    \"full-backing-filename\": \"/base_image\"\n}\n";
  const char *v;
  size_t vl;
  assert_true (member (j, "virtual-size", &v, &vl));
  assert_true (sv_json_u64 (v, vl, &n));
  assert_true (n == 10737418240ULL);
  char *s = member_string (j, "format");
  assert_string_equal (s, "qcow2");
  free (s);
  s = member_string (j, "full-backing-filename");
  assert_string_equal (s, "/base_image");
  free (s);
  assert_null (member_string (j, "type"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_member_nesting), cmocka_unit_test (test_member_malformed),
    cmocka_unit_test (test_truncated),      cmocka_unit_test (test_deep),
    cmocka_unit_test (test_string),         cmocka_unit_test (test_u64),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
