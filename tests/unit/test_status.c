/* status_file.c and run/status.c: the status.json format (render, parse,
 * unknown keys, damaged files), dnsmasq's log lines, the keeper's phases,
 * and the JSON array walk they use. */
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

#include "cleanup.h"
#include "json.h"
#include "status.h"
#include "status_file.h"

static void
sample (struct sv_status *st)
{
  memset (st, 0, sizeof *st);
  st->version = 1;
  st->phase = SV_PHASE_READY;
  st->exit_status = -1;
  st->supervised = true;
  strcpy (st->container_id, "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8");
  strcpy (st->name, "web \"1\"\n");
  strcpy (st->accel, "tcg");
  strcpy (st->accel_reason, "KVM is not usable: /dev/kvm: No such file");
  st->memory_mib = 256;
  st->cpus = 2;
  st->n_ifaces = 2;
  strcpy (st->ifaces[0].name, "eth0");
  strcpy (st->ifaces[0].bridge, "br0");
  strcpy (st->ifaces[0].vm_mac, "02:42:ac:11:00:02");
  strcpy (st->ifaces[0].container_mac, "02:df:c6:3e:e1:5a");
  st->ifaces[0].n_addresses = 1;
  strcpy (st->ifaces[0].addresses[0], "172.17.0.2/16");
  st->ifaces[0].dhcp = true;
  st->ifaces[0].dhcp_discover_ms = 1764461523000;
  st->ifaces[0].lease_acked_ms = 1764461523123;
  strcpy (st->ifaces[1].name, "eth1");
  strcpy (st->vnc, "/ranchervm/x/vnc");
  st->started_ms = 1764461520001;
  st->updated_ms = st->phase_since_ms = 1764461523123;
  st->pid = 1;
  st->pid_start = 4242;
  strcpy (st->pid_ns, "pid:[4026531836]");
}

static void
test_roundtrip (void **state)
{
  (void)state;
  struct sv_status a, b;
  sample (&a);
  struct sv_buf buf = { 0 };
  sv_status_render (&a, &buf);
  assert_true (sv_json_is_object (buf.data, buf.len));
  assert_non_null (strstr (buf.data, "\"lease_acked_at\": \"2025-11-30T00:12:03.123Z\""));
  assert_non_null (strstr (buf.data, "\"exit_status\": null"));
  assert_non_null (strstr (buf.data, "\"qmp\": null"));
  cleanup_error sv_error_t err = NULL;
  assert_int_equal (sv_status_parse (buf.data, buf.len, &b, &err), 0);
  assert_int_equal (b.phase, SV_PHASE_READY);
  assert_string_equal (b.name, a.name);
  assert_string_equal (b.container_id, a.container_id);
  assert_int_equal (b.exit_status, -1);
  assert_true (b.supervised);
  assert_int_equal (b.memory_mib, 256);
  assert_int_equal (b.cpus, 2);
  assert_int_equal (b.n_ifaces, 2);
  assert_string_equal (b.ifaces[0].vm_mac, "02:42:ac:11:00:02");
  assert_string_equal (b.ifaces[0].addresses[0], "172.17.0.2/16");
  assert_int_equal (b.ifaces[0].lease_acked_ms, a.ifaces[0].lease_acked_ms);
  assert_int_equal (b.ifaces[0].dhcp_discover_ms, a.ifaces[0].dhcp_discover_ms);
  assert_int_equal (b.ifaces[1].lease_acked_ms, 0);
  assert_int_equal (b.started_ms, a.started_ms);
  assert_int_equal (b.pid_start, 4242);
  assert_string_equal (b.pid_ns, a.pid_ns);
  assert_string_equal (b.vnc, a.vnc);
  assert_string_equal (b.qmp, "");
  sv_buf_free (&buf);
}

static int
parse (const char *s, struct sv_status *st, sv_error_t *err)
{
  return sv_status_parse (s, strlen (s), st, err);
}

static void
test_parse_tolerant_and_strict (void **state)
{
  (void)state;
  struct sv_status st;
  cleanup_error sv_error_t err = NULL;
  /* Unknown keys (a later minor addition) are ignored. */
  assert_int_equal (parse ("{\"version\":1,\"phase\":\"booting\",\"future\":{\"x\":[1,2]},"
                           "\"exit_status\":3,\"interfaces\":[{\"name\":\"eth0\",\"new\":1}]}",
                           &st, &err),
                    0);
  assert_int_equal (st.phase, SV_PHASE_BOOTING);
  assert_int_equal (st.exit_status, 3);
  assert_int_equal (st.n_ifaces, 1);
  assert_string_equal (st.ifaces[0].name, "eth0");
  assert_true (st.supervised); /* absent: supervised (version 1 writers say it) */

  static const struct
  {
    const char *text, *msg;
  } bad[] = {
    { "", "empty file" },
    { "{\"version\":1,\"phase\":\"rea", "not a JSON object" },
    { "not json", "not a JSON object" },
    { "[1]", "not a JSON object" },
    { "{\"phase\":\"ready\"}", "no \"version\"" },
    { "{\"version\":2,\"phase\":\"ready\"}", "format version 2" },
    { "{\"version\":0,\"phase\":\"ready\"}", "format version 0" },
    { "{\"version\":1}", "no \"phase\"" },
    { "{\"version\":1,\"phase\":7}", "no \"phase\"" },
    { "{\"version\":1,\"phase\":\"dancing\"}", "unknown phase \"dancing\"" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      assert_true (parse (bad[i].text, &st, &err) < 0);
      if (strstr (err->msg, bad[i].msg) == NULL)
        fail_msg ("'%s': got '%s', want '%s'", bad[i].text, err->msg, bad[i].msg);
    }
}

static void
test_time_format (void **state)
{
  (void)state;
  char t[40];
  sv_status_format_time (0, t, sizeof t);
  assert_string_equal (t, "1970-01-01T00:00:00.000Z");
  sv_status_format_time (1764461523007, t, sizeof t);
  assert_string_equal (t, "2025-11-30T00:12:03.007Z");
}

static void
test_dhcp_lines (void **state)
{
  (void)state;
  uint8_t mac[6];
  static const uint8_t want[6] = { 0xc6, 0xbd, 0xda, 0xbd, 0xed, 0x35 };
  static const struct
  {
    const char *line;
    enum sv_dhcp_event ev;
    const char *bridge;
  } cases[] = {
    { "dnsmasq-dhcp[30833]: 1744107788 DHCPACK(br0) 172.30.0.2 c6:bd:da:bd:ed:35 web-1",
      SV_DHCP_ACK, "br0" },
    { "dnsmasq-dhcp[7]: DHCPACK(br0) 172.30.0.2 c6:bd:da:bd:ed:35", SV_DHCP_ACK, "br0" },
    { "dnsmasq-dhcp[7]: 12 DHCPDISCOVER(br0) c6:bd:da:bd:ed:35 ", SV_DHCP_DISCOVER, "br0" },
    { "dnsmasq-dhcp[7]: DHCPDISCOVER(br1) 10.0.0.9 c6:bd:da:bd:ed:35", SV_DHCP_DISCOVER, "br1" },
    { "dnsmasq-dhcp[7]: 99 DHCPREPLY(br1) fd00::5 00:01:00:01:2c:5e:11:22:c6:bd:da:bd:ed:35 vm",
      SV_DHCP_REPLY6, "br1" },
    { "dnsmasq-dhcp[7]: 12 DHCPREQUEST(br0) 172.30.0.2 c6:bd:da:bd:ed:35", SV_DHCP_NONE, NULL },
    { "dnsmasq-dhcp[7]: 12 DHCPOFFER(br0) 172.30.0.2 c6:bd:da:bd:ed:35", SV_DHCP_NONE, NULL },
    /* Not dnsmasq's own shape: a client-provided name quoting one. */
    { "dnsmasq-dhcp[7]: 12 client provides name: DHCPACK(br0) 1.2.3.4 c6:bd:da:bd:ed:35",
      SV_DHCP_NONE, NULL },
    { "TINYVM: DHCPACK(br0) 172.30.0.2 c6:bd:da:bd:ed:35", SV_DHCP_NONE, NULL },
    { "dnsmasq[7]: DHCPACK(br0) 172.30.0.2 c6:bd:da:bd:ed:35", SV_DHCP_NONE, NULL },
    { "dnsmasq-dhcp[7]: DHCPACK(br0)", SV_DHCP_NONE, NULL },
    { "dnsmasq-dhcp[7]: DHCPACK() 172.30.0.2 c6:bd:da:bd:ed:35", SV_DHCP_NONE, NULL },
    { "dnsmasq-dhcp[7]: DHCPACK(br0123456789abcdef) 172.30.0.2 c6:bd:da:bd:ed:35", SV_DHCP_NONE,
      NULL },
    { "dnsmasq-dhcp[7]: DHCPACK(br0) 172.30.0.2 c6:bd:da:bd:ed", SV_DHCP_NONE, NULL },
    { "dnsmasq-dhcp[7]: DHCPACK(br0) 172.30.0.2 zz:bd:da:bd:ed:35", SV_DHCP_NONE, NULL },
    { "dnsmasq-dhcp[", SV_DHCP_NONE, NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      size_t len = strlen (cases[i].line);
      char *exact = malloc (len ? len : 1); /* no NUL: ASan sees any overrun */
      memcpy (exact, cases[i].line, len);
      memset (mac, 0, sizeof mac);
      char bridge[16] = "";
      enum sv_dhcp_event ev = sv_dhcp_log_parse (exact, len, mac, bridge);
      free (exact);
      if (ev != cases[i].ev)
        fail_msg ("'%s': event %d, want %d", cases[i].line, ev, cases[i].ev);
      if (ev == SV_DHCP_ACK || ev == SV_DHCP_DISCOVER)
        assert_memory_equal (mac, want, 6);
      if (ev != SV_DHCP_NONE)
        assert_string_equal (bridge, cases[i].bridge);
    }
}

static void
test_keeper_phases (void **state)
{
  (void)state;
  char dir[] = "/tmp/sv-test-status.XXXXXX";
  assert_non_null (mkdtemp (dir));
  struct sv_vm_config cfg = { .memory_mib = 256, .cpus = 1, .accel = SV_ACCEL_TCG };
  struct sv_host *host = calloc (1, sizeof *host);
  host->net.n_ifaces = 2;
  strcpy (host->net.ifaces[0].name, "eth0");
  memcpy (host->net.ifaces[0].mac, "\x02\x42\xac\x11\x00\x02", 6);
  host->net.ifaces[0].addr = SV_IP4 (172, 17, 0, 2);
  host->net.ifaces[0].prefix = 16;
  strcpy (host->net.ifaces[1].name, "eth1");
  memcpy (host->net.ifaces[1].mac, "\x02\x42\xac\x12\x00\x02", 6);
  /* eth1 is IPv6 only: its DHCPREPLY on br1 makes it acknowledged. */
  host->net.ifaces[1].has_addr6 = true;
  memcpy (host->net.ifaces[1].addr6, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05", 16);
  host->net.ifaces[1].prefix6 = 64;
  strcpy (host->container_id, "abc");
  strcpy (host->net.hostname, "vm1");
  char *dnsmasq_argv[] = { "dnsmasq", NULL };
  struct sv_plan plan = { .run_dir = dir, .accel = SV_ACCEL_TCG, .dnsmasq_argv = dnsmasq_argv };
  struct sv_status_keeper k;
  sv_status_keeper_init (&k, &cfg, host, &plan, 1000);
  sv_status_keeper_phase (&k, SV_PHASE_STARTING);
  sv_status_keeper_qemu_started (&k, true);
  assert_int_equal (k.st.phase, SV_PHASE_BOOTING);
  const char *ack0 = "dnsmasq-dhcp[1]: 9 DHCPACK(br0) 172.17.0.2 02:42:ac:11:00:02 vm1";
  const char *ack1 = "dnsmasq-dhcp[1]: 9 DHCPREPLY(br1) fd00::5 00:01:00:01:aa:bb vm1";
  const char *other = "dnsmasq-dhcp[1]: 9 DHCPREPLY(br0) fd00::9 00:01:00:01:aa:cc vm1";
  sv_status_keeper_dhcp_line (&k, other, strlen (other));
  assert_int_equal (k.n_writes, 2);
  sv_status_keeper_dhcp_line (&k, ack0, strlen (ack0));
  assert_int_equal (k.st.phase, SV_PHASE_BOOTING); /* eth1 still waits */
  assert_true (k.st.ifaces[0].lease_acked_ms > 0);
  sv_status_keeper_dhcp_line (&k, ack1, strlen (ack1));
  assert_int_equal (k.st.phase, SV_PHASE_READY);
  assert_int_equal (k.n_writes, 4);
  /* A renewal writes nothing. */
  sv_status_keeper_dhcp_line (&k, ack1, strlen (ack1));
  assert_int_equal (k.n_writes, 4);
  assert_string_equal (k.st.ifaces[0].container_mac, "02:df:c6:3e:e1:5a");
  assert_string_equal (k.st.ifaces[1].addresses[0], "fd00::5/64");

  char path[128];
  snprintf (path, sizeof path, "%s/status.json", dir);
  cleanup_free char *text = NULL;
  size_t len;
  cleanup_error sv_error_t err = NULL;
  assert_int_equal (sv_status_read_file (path, &text, &len, &err), 0);
  struct sv_status st;
  assert_int_equal (sv_status_parse (text, len, &st, &err), 0);
  assert_int_equal (st.phase, SV_PHASE_READY);
  assert_false (sv_status_writer_gone (&st)); /* this process wrote it */
  st.pid_start++;
  assert_true (sv_status_writer_gone (&st)); /* same pid, another process */
  strcpy (st.pid_ns, "pid:[1]");
  assert_false (sv_status_writer_gone (&st)); /* another namespace: cannot tell */

  sv_status_keeper_stopped (&k, 0);
  free (text);
  text = NULL;
  assert_int_equal (sv_status_read_file (path, &text, &len, &err), 0);
  assert_non_null (strstr (text, "\"phase\": \"stopped\""));
  assert_non_null (strstr (text, "\"exit_status\": 0"));

  /* A write that fails is said once and not tried again. */
  unlink (path);
  char *dir_was = k.dir;
  k.dir = strdup ("/nonexistent-sv-test/dir");
  sv_status_keeper_failed (&k, "boom", -1);
  assert_true (k.broken);
  unsigned n = k.n_writes;
  sv_status_keeper_phase (&k, SV_PHASE_STOPPED);
  assert_int_equal (k.n_writes, n);
  free (k.dir);
  k.dir = dir_was;

  sv_status_keeper_free (&k);
  free (host);
  rmdir (dir);
}

static void
test_read_file_refuses (void **state)
{
  (void)state;
  char dir[] = "/tmp/sv-test-status.XXXXXX";
  assert_non_null (mkdtemp (dir));
  char path[128], link[128];
  snprintf (path, sizeof path, "%s/status.json", dir);
  snprintf (link, sizeof link, "%s/link.json", dir);
  cleanup_free char *text = NULL;
  size_t len;
  cleanup_error sv_error_t err = NULL;
  assert_true (sv_status_read_file (path, &text, &len, &err) < 0);
  assert_int_equal (err->code, ENOENT);
  /* A FIFO must not hang the reader. */
  assert_int_equal (mkfifo (path, 0644), 0);
  assert_true (sv_status_read_file (path, &text, &len, &err) < 0);
  assert_non_null (strstr (err->msg, "not a regular file"));
  unlink (path);
  /* A link is not followed. */
  int fd = open (path, O_WRONLY | O_CREAT, 0644);
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, SV_STATUS_MAX_BYTES + 1), 0);
  close (fd);
  assert_true (sv_status_read_file (path, &text, &len, &err) < 0);
  assert_non_null (strstr (err->msg, "larger than"));
  assert_int_equal (symlink (path, link), 0);
  assert_true (sv_status_read_file (link, &text, &len, &err) < 0);
  assert_int_equal (err->code, ELOOP);
  unlink (link);
  unlink (path);
  rmdir (dir);
}

static void
test_array_next (void **state)
{
  (void)state;
  const char *el, *pos = NULL;
  size_t n;
  const char *a = " [ 1 , \"x]\" ,{\"a\":[2]} ] ";
  assert_true (sv_json_array_next (a, strlen (a), &pos, &el, &n));
  assert_memory_equal (el, "1", n);
  assert_true (sv_json_array_next (a, strlen (a), &pos, &el, &n));
  assert_memory_equal (el, "\"x]\"", n);
  assert_true (sv_json_array_next (a, strlen (a), &pos, &el, &n));
  assert_memory_equal (el, "{\"a\":[2]}", n);
  assert_false (sv_json_array_next (a, strlen (a), &pos, &el, &n));
  pos = NULL;
  assert_false (sv_json_array_next ("[]", 2, &pos, &el, &n));
  pos = NULL;
  /* Elements come as they are found; the damage shows at the next call. */
  assert_true (sv_json_array_next ("[1,", 3, &pos, &el, &n));
  assert_false (sv_json_array_next ("[1,", 3, &pos, &el, &n));
  pos = NULL;
  assert_false (sv_json_array_next ("[1 2]", 5, &pos, &el, &n));
  pos = NULL;
  assert_false (sv_json_array_next ("{}", 2, &pos, &el, &n));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_roundtrip),     cmocka_unit_test (test_parse_tolerant_and_strict),
    cmocka_unit_test (test_time_format),   cmocka_unit_test (test_dhcp_lines),
    cmocka_unit_test (test_keeper_phases), cmocka_unit_test (test_read_file_refuses),
    cmocka_unit_test (test_array_next),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
