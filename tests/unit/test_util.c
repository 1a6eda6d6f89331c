/* util.c value parsers: sizes, durations, booleans, integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *
size_mib_error (const char *s, uint64_t max)
{
  sv_error_t err = NULL;
  uint64_t v = 0;
  if (sv_parse_size_mib (s, "x", max, &v, &err) == 0)
    return NULL;
  assert_int_equal (err->exit_class, 2);
  char *m = sv_xstrdup (err->msg);
  sv_error_release (&err);
  return m;
}

#define assert_err(call_result, expected)                                                          \
  do                                                                                               \
    {                                                                                              \
      char *_m = (call_result);                                                                    \
      if (_m == NULL)                                                                              \
        fail_msg ("expected error: %s", expected);                                                 \
      assert_string_equal (_m, expected);                                                          \
      free (_m);                                                                                   \
    }                                                                                              \
  while (0)

static void
test_size_mib (void **state)
{
  static const struct
  {
    const char *s;
    uint64_t mib;
  } ok[] = {
    { "512M", 512 },   { "2G", 2048 },          { "1.5G", 1536 },  { "2048", 2048 },
    { "512MiB", 512 }, { "512MB", 512 },        { "2g", 2048 },    { "2gib", 2048 },
    { "1T", 1 << 20 }, { "1048576K", 1024 },    { "0.5G", 512 },   { " 64M ", 64 },
    { "1", 1 },        { "1073741824B", 1024 }, { "1.25G", 1280 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    {
      sv_error_t err = NULL;
      uint64_t v = 0;
      if (sv_parse_size_mib (ok[i].s, "x", UINT64_MAX, &v, &err) < 0)
        fail_msg ("%s: %s", ok[i].s, err->msg);
      assert_int_equal (v, ok[i].mib);
    }
  const char *garbage[] = { "",    "G",    "12XB", "1.G", "1..5G", ".5G", "2 G",
                            "2G2", "0x10", "abc",  "2Gi", "1e3",   "+2G", "2,5G" };
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
    {
      char *want = NULL;
      assert_true (asprintf (&want,
                             "x: '%s' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain "
                             "number of MiB such as 2048)",
                             garbage[i])
                   > 0);
      assert_err (size_mib_error (garbage[i], UINT64_MAX), want);
      free (want);
    }
  assert_err (size_mib_error ("-1", UINT64_MAX),
              "x: '-1' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain number of MiB "
              "such as 2048)");
  assert_err (size_mib_error ("-1G", UINT64_MAX),
              "x: '-1G' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain number of MiB "
              "such as 2048)");
  assert_err (size_mib_error ("0", UINT64_MAX), "x: size must be greater than zero (e.g. 512M)");
  assert_err (size_mib_error ("0G", UINT64_MAX), "x: size must be greater than zero (e.g. 512M)");
  assert_err (size_mib_error ("0.0000001K", UINT64_MAX),
              "x: size must be greater than zero (e.g. 512M)");
  assert_err (size_mib_error ("512K", UINT64_MAX), "x: '512K' is less than 1 MiB (e.g. 512M)");
  assert_err (size_mib_error ("99999999999999999999", UINT64_MAX),
              "x: size '99999999999999999999' is too large (e.g. 2G)");
  assert_err (size_mib_error ("17179869184T", UINT64_MAX),
              "x: size '17179869184T' is too large (e.g. 2G)");
  /* Fits in 64 bits only just: the fraction must not overflow either. */
  assert_null (size_mib_error ("16777215.99999T", UINT64_MAX));
  assert_err (size_mib_error ("18446744073709551616B", UINT64_MAX),
              "x: size '18446744073709551616B' is too large (e.g. 2G)");
  assert_err (size_mib_error ("5G", 4096),
              "x: '5G' is more than the maximum of 4096 MiB (e.g. 2G)");
}

static void
test_size_bytes (void **state)
{
  sv_error_t err = NULL;
  uint64_t v = 0;
  assert_int_equal (sv_parse_size_bytes ("20G", "x", &v, &err), 0);
  assert_int_equal (v, 20ULL << 30);
  assert_int_equal (sv_parse_size_bytes ("1.5K", "x", &v, &err), 0);
  assert_int_equal (v, 1536);
  assert_int_equal (sv_parse_size_bytes ("10", "x", &v, &err), 0);
  assert_int_equal (v, 10ULL << 20);
  assert_int_equal (sv_parse_size_bytes ("16777215T", "x", &v, &err), 0);
  assert_int_equal (v, 16777215ULL << 40);
  assert_int_equal (sv_parse_size_bytes ("7B", "x", &v, &err), 0);
  assert_int_equal (v, 7);
  assert_int_equal (sv_parse_size_bytes ("16777216T", "x", &v, &err), -1);
  assert_string_equal (err->msg, "x: size '16777216T' is too large (e.g. 2G)");
  sv_error_release (&err);
}

static void
test_duration (void **state)
{
  static const struct
  {
    const char *s;
    uint64_t ms;
  } ok[] = { { "500ms", 500 }, { "6s", 6000 }, { "2m", 120000 }, { "1h", 3600000 },
             { "10", 10000 },  { "0", 0 },     { " 3s ", 3000 } };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    {
      sv_error_t err = NULL;
      uint64_t v = 1;
      if (sv_parse_duration_ms (ok[i].s, "x", &v, &err) < 0)
        fail_msg ("%s: %s", ok[i].s, err->msg);
      assert_int_equal (v, ok[i].ms);
    }
  const char *bad[] = { "", "s", "6x", "-1", "1.5s", "6 s", "5sec", "ms" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      sv_error_t err = NULL;
      uint64_t v = 0;
      assert_int_equal (sv_parse_duration_ms (bad[i], "t", &v, &err), -1);
      char *want = NULL;
      assert_true (asprintf (&want,
                             "t: '%s' is not a duration (accepted: 500ms, 6s, 2m, 1h, or a plain "
                             "number of seconds such as 30)",
                             bad[i])
                   > 0);
      assert_string_equal (err->msg, want);
      free (want);
      sv_error_release (&err);
    }
  sv_error_t err = NULL;
  uint64_t v;
  assert_int_equal (sv_parse_duration_ms ("99999999999999999999", "t", &v, &err), -1);
  assert_string_equal (err->msg, "t: duration '99999999999999999999' is too large (e.g. 60s)");
  sv_error_release (&err);
  assert_int_equal (sv_parse_duration_ms ("5124095576030432h", "t", &v, &err), -1);
  sv_error_release (&err);
}

static void
test_bool (void **state)
{
  const char *yes[] = { "true", "TRUE", "yes", "Yes", "1", "on" };
  const char *no[] = { "false", "False", "no", "NO", "0", "off" };
  for (size_t i = 0; i < 6; i++)
    {
      bool b = false;
      assert_int_equal (sv_parse_bool (yes[i], "x", &b, NULL), 0);
      assert_true (b);
      assert_int_equal (sv_parse_bool (no[i], "x", &b, NULL), 0);
      assert_false (b);
    }
  sv_error_t err = NULL;
  bool b;
  assert_int_equal (sv_parse_bool ("maybe", "NO_DHCP", &b, &err), -1);
  assert_string_equal (err->msg,
                       "NO_DHCP: 'maybe' is not a boolean (accepted: true, false, yes, no, 1, 0)");
  sv_error_release (&err);
  assert_int_equal (sv_parse_bool ("", "x", &b, NULL), -1);
  assert_int_equal (sv_parse_bool ("2", "x", &b, NULL), -1);
}

static void
test_int (void **state)
{
  sv_error_t err = NULL;
  long long v = 0;
  assert_int_equal (sv_parse_int ("42", "x", 1, 512, &v, &err), 0);
  assert_int_equal (v, 42);
  assert_int_equal (sv_parse_int ("0", "x", 1, 512, &v, &err), -1);
  assert_string_equal (err->msg, "x: 0 is out of range (accepted: 1 to 512)");
  assert_int_equal (sv_parse_int ("abc", "CPUS", 1, 512, &v, &err), -1);
  assert_string_equal (err->msg, "CPUS: 'abc' is not an integer (accepted: 1 to 512, e.g. 1)");
  assert_int_equal (sv_parse_int ("", "x", 1, 512, &v, &err), -1);
  assert_int_equal (sv_parse_int ("99999999999999999999", "x", 1, 512, &v, &err), -1);
  assert_string_equal (err->msg, "x: 99999999999999999999 is out of range (accepted: 1 to 512)");
  assert_int_equal (sv_parse_int ("12abc", "x", 1, 512, &v, &err), -1);
  sv_error_release (&err);
}

/* Two hex digits per byte, colons between, nothing else. */
static void
test_mac_parse (void **state)
{
  uint8_t m[6] = { 0 };
  assert_int_equal (sv_mac_parse ("02:42:ac:11:00:02", m), 0);
  assert_memory_equal (m, ((uint8_t[]){ 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 }), 6);
  assert_int_equal (sv_mac_parse ("FE:ff:0A:b0:C1:d9", m), 0);
  assert_memory_equal (m, ((uint8_t[]){ 0xfe, 0xff, 0x0a, 0xb0, 0xc1, 0xd9 }), 6);
  static const char *const refused[] = {
    "00:-1:00:00:00:00", /* sscanf's %x took a sign */
    "+2:00:00:00:00:00",
    "00:+2:00:00:00:00",
    "0:00:00:00:00:00", /* one digit */
    "00:00:00:00:00:0",
    "000:00:00:00:00:00",
    "00:00:00:00:00:00:00",
    "00:00:00:00:00:00 ",
    " 00:00:00:00:00:00",
    "00-00-00-00-00-00",
    "00:00:00:00:00",
    "0x:00:00:00:00:00",
    "g0:00:00:00:00:00",
    "00:00:00:00:00:0g",
    "",
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
      uint8_t before[6] = { 1, 2, 3, 4, 5, 6 }, got[6] = { 1, 2, 3, 4, 5, 6 };
      if (sv_mac_parse (refused[i], got) != -1)
        fail_msg ("accepted '%s'", refused[i]);
      assert_memory_equal (got, before, 6); /* untouched */
    }
}

/* Dotted quads as inet_pton reads them: no leading zeros (octal to
 * inet_aton), no short forms, nothing around them. */
static void
test_ip4_parse (void **state)
{
  uint32_t a = 0;
  assert_int_equal (sv_ip4_parse ("172.17.0.2", &a), 0);
  assert_int_equal (a, SV_IP4 (172, 17, 0, 2));
  assert_int_equal (sv_ip4_parse ("0.0.0.0", &a), 0);
  assert_int_equal (a, 0);
  assert_int_equal (sv_ip4_parse ("255.255.255.255", &a), 0);
  assert_int_equal (a, 0xffffffffu);
  static const char *const refused[] = {
    "010.1.1.1", "10.01.1.1", "10.1.1.00", "1.2.3",     "1.2.3.4.5", "256.1.1.1",
    "1.2.3.4 ",  " 1.2.3.4",  "1.2.3.4/8", "0x1.2.3.4", "1..2.3",    "",
    "-1.2.3.4",  "+1.2.3.4",  "1.2.3.",    "16909060",
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
      a = 42;
      if (sv_ip4_parse (refused[i], &a) != -1)
        fail_msg ("accepted '%s'", refused[i]);
      assert_int_equal (a, 42);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_size_mib),  cmocka_unit_test (test_size_bytes),
    cmocka_unit_test (test_duration),  cmocka_unit_test (test_bool),
    cmocka_unit_test (test_int),       cmocka_unit_test (test_mac_parse),
    cmocka_unit_test (test_ip4_parse),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
