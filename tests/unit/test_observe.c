/* observe's pure helpers: IP_PREFIX parsing and interface order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "observe_internal.h"
#include "util.h"

static void
test_ip_prefix_dotted (void **state)
{
  uint32_t net;
  uint8_t len;
  assert_int_equal (sv_observe_parse_ip_prefix ("10.42", &net, &len, NULL), 0);
  assert_int_equal (net, SV_IP4 (10, 42, 0, 0));
  assert_int_equal (len, 16);
  assert_int_equal (sv_observe_parse_ip_prefix ("10.42.", &net, &len, NULL), 0);
  assert_int_equal (len, 16);
  assert_int_equal (sv_observe_parse_ip_prefix ("10", &net, &len, NULL), 0);
  assert_int_equal (net, SV_IP4 (10, 0, 0, 0));
  assert_int_equal (len, 8);
  assert_int_equal (sv_observe_parse_ip_prefix ("192.168.7.9", &net, &len, NULL), 0);
  assert_int_equal (net, SV_IP4 (192, 168, 7, 9));
  assert_int_equal (len, 32);
  /* "10.4" is 10.4.x.x: whole octets, so it never matches 10.42.x.x */
  assert_int_equal (sv_observe_parse_ip_prefix ("10.4", &net, &len, NULL), 0);
  assert_true ((SV_IP4 (10, 42, 1, 1) & sv_ip4_netmask (len)) != net);
  assert_true ((SV_IP4 (10, 4, 1, 1) & sv_ip4_netmask (len)) == net);
}

static void
test_ip_prefix_cidr (void **state)
{
  uint32_t net;
  uint8_t len;
  assert_int_equal (sv_observe_parse_ip_prefix ("10.42.3.4/16", &net, &len, NULL), 0);
  assert_int_equal (net, SV_IP4 (10, 42, 0, 0));
  assert_int_equal (len, 16);
  assert_int_equal (sv_observe_parse_ip_prefix ("172.16.0.0/12", &net, &len, NULL), 0);
  assert_int_equal (net, SV_IP4 (172, 16, 0, 0));
  assert_int_equal (len, 12);
}

static void
test_ip_prefix_bad (void **state)
{
  const char *bad[]
      = { "",          ".",   "10..42",     "a.b",          "10.42.0.0/33", "10.42/16",
          "1.2.3.4.5", "256", "10.42.0.0/", "10.42.0.0/-1", "10.42 " };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      cleanup_error sv_error_t err = NULL;
      uint32_t net;
      uint8_t len;
      assert_int_equal (sv_observe_parse_ip_prefix (bad[i], &net, &len, &err), -1);
      assert_non_null (err);
      assert_int_equal (err->exit_class, SV_EXIT_USAGE);
      assert_non_null (strstr (err->msg, "network.ip_prefix"));
    }
}

static void
test_iface_order (void **state)
{
  struct sv_iface v[5];
  memset (v, 0, sizeof v);
  const char *names[] = { "net1", "eth10", "eth2", "eth0", "eth1" };
  for (int i = 0; i < 5; i++)
    strcpy (v[i].name, names[i]);
  qsort (v, 5, sizeof v[0], sv_observe_iface_cmp);
  assert_string_equal (v[0].name, "eth0");
  assert_string_equal (v[1].name, "eth1");
  assert_string_equal (v[2].name, "eth2");
  assert_string_equal (v[3].name, "eth10");
  assert_string_equal (v[4].name, "net1");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ip_prefix_dotted),
    cmocka_unit_test (test_ip_prefix_cidr),
    cmocka_unit_test (test_ip_prefix_bad),
    cmocka_unit_test (test_iface_order),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
