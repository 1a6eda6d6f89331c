/* startvm-manager's request validation: ids, routes, JSON bodies and the
 * create request's fields with startvm's own messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "docker.h"
#include "vm.h"

static void
test_ids (void **state)
{
  assert_true (sv_mgr_id_syntax_ok ("vm1"));
  assert_true (sv_mgr_id_syntax_ok ("a.b_c-d"));
  assert_true (sv_mgr_id_syntax_ok ("0123456789ab"));
  assert_false (sv_mgr_id_syntax_ok (".."));
  assert_false (sv_mgr_id_syntax_ok ("."));
  assert_false (sv_mgr_id_syntax_ok ("a/b"));
  assert_false (sv_mgr_id_syntax_ok ("%2f"));
  assert_false (sv_mgr_id_syntax_ok (""));
  assert_false (sv_mgr_id_syntax_ok ("-x"));
  assert_false (sv_mgr_id_syntax_ok ("a b"));
  assert_false (sv_mgr_id_syntax_ok ("a\nb"));
  assert_false (sv_mgr_id_syntax_ok (NULL));
  char longname[200];
  memset (longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_false (sv_mgr_id_syntax_ok (longname));

  const char *full = "ded859be48db28a4169820a6142ad3e7b3cbfa4798784ec2f4cfbdc482304930";
  assert_true (sv_mgr_id_answers (full, full, "/vm1"));
  assert_true (sv_mgr_id_answers ("ded859be48db", full, "/vm1"));
  assert_true (sv_mgr_id_answers ("vm1", full, "/vm1"));
  /* Docker resolves short prefixes too; we do not. */
  assert_false (sv_mgr_id_answers ("ded859", full, "/vm1"));
  assert_false (sv_mgr_id_answers ("ded859be48dc", full, "/vm1"));
  assert_false (sv_mgr_id_answers ("vm2", full, "/vm1"));

  assert_true (sv_mgr_full_id (full));
  assert_false (sv_mgr_full_id ("ded859be48db"));
  assert_true (sv_mgr_state_label_ok ("vm1"));
  assert_false (sv_mgr_state_label_ok (".."));
  assert_false (sv_mgr_state_label_ok ("a/b"));
}

static void
test_routes (void **state)
{
  char *id = NULL;
  bool mm;
  const struct sv_mgr_route *r = sv_mgr_route_find ("POST", "/api/vms/vm1/stop", &id, &mm);
  assert_non_null (r);
  assert_string_equal (id, "vm1");
  assert_true (r->auth);
  free (id);
  r = sv_mgr_route_find ("GET", "/api/vms/vm1/stop", &id, &mm);
  assert_null (r);
  assert_true (mm);
  r = sv_mgr_route_find ("GET", "/api/nothing", &id, &mm);
  assert_null (r);
  assert_false (mm);
  /* Only health, login and logout go without auth. */
  for (size_t i = 0; i < sv_mgr_n_routes; i++)
    if (!sv_mgr_routes[i].auth)
      assert_true (strcmp (sv_mgr_routes[i].pattern, "/healthz") == 0
                   || strcmp (sv_mgr_routes[i].pattern, "/api/login") == 0
                   || strcmp (sv_mgr_routes[i].pattern, "/api/logout") == 0);
  char *u = sv_mgr_unrouted_id ("/api/vms/a/b/start");
  assert_string_equal (u, "a/b");
  free (u);
}

static void
test_json_body (void **state)
{
  sv_error_t msg = NULL;
  assert_null (sv_mgr_parse_body ("{\"image\":", 9, &msg));
  assert_string_equal (msg->msg,
                       "invalid JSON: unexpected token near end of file at line 1 column 9");
  sv_error_release (&msg);
  assert_null (sv_mgr_parse_body ("[1]", 3, &msg));
  assert_string_equal (msg->msg, "invalid JSON: the body must be an object");
  sv_error_release (&msg);
  json_t *j = sv_mgr_parse_body ("{\"a\":1}", 7, &msg);
  assert_non_null (j);
  json_decref (j);
  char *d = sv_mgr_display ("a\x01\xff");
  assert_string_equal (d, "a\\x01\\xff");
  free (d);
}

/* One create request; returns the error and field, or NULL when valid. */
static char *
create_error (const char *body, const char **field)
{
  sv_error_t msg = NULL;
  json_t *j = sv_mgr_parse_body (body, strlen (body), &msg);
  assert_non_null (j);
  struct sv_mgr_create c;
  *field = NULL;
  int r = sv_mgr_create_parse (j, &c, field, &msg);
  json_decref (j);
  sv_mgr_create_free (&c);
  if (r == 0)
    return NULL;
  char *m = sv_xstrdup (msg->msg);
  sv_error_release (&msg);
  return m;
}

#define assert_create(body, want_field, want_msg)                                                  \
  do                                                                                               \
    {                                                                                              \
      const char *f_;                                                                              \
      char *m_ = create_error (body, &f_);                                                         \
      assert_non_null (m_);                                                                        \
      assert_string_equal (m_, want_msg);                                                          \
      assert_string_equal (f_, want_field);                                                        \
      free (m_);                                                                                   \
    }                                                                                              \
  while (0)

static void
test_create_fields (void **state)
{
  const char *f;
  char *m = create_error ("{\"image\":\"tiny\",\"name\":\"vm1\",\"memory\":\"512M\",\"cpus\":2,"
                          "\"disks\":\"/image/data.qcow2:1G\",\"no_dhcp\":true,"
                          "\"ports\":[{\"host_port\":8080,\"container_port\":80}],"
                          "\"env\":{\"ACCEL\":\"tcg\"},\"user_data\":\"#cloud-config\"}",
                          &f);
  assert_null (m);
  assert_create ("{}", "image", "image is required");
  assert_create ("{\"image\":\"x\",\"memory\":\"12XB\"}", "memory",
                 "MEMORY=12XB: memory: '12XB' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, "
                 "or a plain number of MiB such as 2048)");
  assert_create ("{\"image\":\"x\",\"cpus\":\"abc\"}", "cpus",
                 "CPUS=abc: cpus: 'abc' is not an integer (accepted: 1 to 512, e.g. CPUS=2)");
  assert_create ("{\"image\":\"x\",\"cpus\":0}", "cpus",
                 "CPUS=0: cpus: 0 is out of range (accepted: 1 to 512, e.g. CPUS=2)");
  assert_create ("{\"image\":\"x\",\"disks\":\"/a.img:foo\"}", "disks",
                 "DISKS=/a.img:foo: disks[0]: unknown field 'foo' in '/a.img:foo' (accepted "
                 "after the file: a size such as 20G, a format (auto, raw, qcow2, vmdk, vdi, vhdx, "
                 "qed), a bus (virtio, scsi, sata, ide), a media (disk, cdrom) or ro)");
  assert_create ("{\"image\":\"x\",\"name\":\"bad name\"}", "name",
                 "Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  assert_create ("{\"image\":\"x\",\"name\":\"..\"}", "name",
                 "Invalid container name (..), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  assert_create ("{\"image\":\"x\",\"memry\":1}", "body",
                 "unknown field 'memry' (accepted: image, name, memory, cpus, disks, network, "
                 "ports, no_dhcp, user_data, env, firmware, tpm, shares)");
  /* firmware, tpm and shares: startvm's FIRMWARE, TPM and SHARES. */
  assert_create ("{\"image\":\"x\",\"firmware\":\"efi\"}", "firmware",
                 "FIRMWARE=efi: firmware: 'efi' is not a valid value (accepted: bios, uefi, "
                 "uefi-secure; did you mean 'uefi'?)");
  assert_create ("{\"image\":\"x\",\"firmware\":2}", "firmware", "firmware: expected a string");
  assert_create ("{\"image\":\"x\",\"tpm\":\"yes\"}", "tpm", "tpm: expected true or false");
  assert_create ("{\"image\":\"x\",\"shares\":\"/data\"}", "shares",
                 "SHARES=/data: shares[0]: '/data' is not SOURCE:TAG or SOURCE:TAG:ro (e.g. "
                 "SHARES=/data:data,/ro:docs:ro)");
  assert_create ("{\"image\":\"x\",\"shares\":\"/a:t,/b:t:ro\"}", "shares",
                 "SHARES=/a:t,/b:t:ro: shares[1].tag: the tag t is already used by shares[0]");
  assert_create ("{\"image\":\"x\",\"no_dhcp\":\"yes\"}", "no_dhcp",
                 "no_dhcp: expected true or false");
  assert_create ("{\"image\":\"x\",\"ports\":[{\"container_port\":0}]}", "ports",
                 "ports[0].container_port: expected a port number 1 to 65535");
  assert_create ("{\"image\":\"x\",\"ports\":[{\"container_port\":80,\"protocol\":\"sctp\"}]}",
                 "ports", "ports[0].protocol: expected tcp or udp");
  assert_create ("{\"image\":\"x\",\"env\":{\"A=B\":\"c\"}}", "env",
                 "env: 'A=B' is not a variable name");
  /* Network modes, not networks: refused before Docker is asked. */
  assert_create ("{\"image\":\"x\",\"network\":\"host\"}", "network",
                 "network: 'host' is refused: a VM needs a network of its own (not host, none, "
                 "container:... or ns:...)");
  assert_create ("{\"image\":\"x\",\"network\":\"none\"}", "network",
                 "network: 'none' is refused: a VM needs a network of its own (not host, none, "
                 "container:... or ns:...)");
  assert_create ("{\"image\":\"x\",\"network\":\"container:abc\"}", "network",
                 "network: 'container:abc' is refused: a VM needs a network of its own (not host, "
                 "none, container:... or ns:...)");
  assert_create ("{\"image\":\"x\",\"network\":\"ns:/proc/1/ns/net\"}", "network",
                 "network: 'ns:/proc/1/ns/net' is refused: a VM needs a network of its own (not "
                 "host, none, container:... or ns:...)");
  assert_null (create_error ("{\"image\":\"x\",\"network\":\"hostile\"}", &f));
  assert_create ("{\"image\":\"x\",\"env\":{\"ACCEL\":\"fast\"}}", "env",
                 "ACCEL=fast: accel: 'fast' is not a valid value (accepted: auto, kvm, tcg)");
}

static void
test_create_spec (void **state)
{
  const char *body = "{\"image\":\"tiny\",\"name\":\"vm1\",\"memory\":\"1G\",\"cpus\":2,"
                     "\"ports\":[{\"host_port\":8080,\"container_port\":80}],\"network\":\"n1\","
                     "\"firmware\":\"uefi-secure\",\"tpm\":true,\"shares\":\"/data:data\"}";
  sv_error_t msg = NULL;
  const char *field = NULL;
  json_t *j = sv_mgr_parse_body (body, strlen (body), &msg);
  struct sv_mgr_create c;
  assert_int_equal (sv_mgr_create_parse (j, &c, &field, &msg), 0);
  json_t *spec = sv_mgr_create_spec (&c, "/var/lib/startvm", false);
  char *text = json_dumps (spec, JSON_COMPACT | JSON_SORT_KEYS);
  assert_non_null (strstr (text, "\"CapAdd\":[\"NET_ADMIN\",\"NET_RAW\"]"));
  assert_non_null (
      strstr (text, "\"Binds\":[\"vm1-image:/image\",\"/var/lib/startvm/vm1:/ranchervm\"]"));
  assert_non_null (strstr (text, "\"io.startvm.state\":\"vm1\""));
  assert_non_null (strstr (text, "\"io.startvm.managed\":\"true\""));
  assert_non_null (strstr (text, "\"io.startvm.memory_mib\":\"1024\""));
  assert_non_null (strstr (text, "\"io.startvm.firmware\":\"uefi-secure\""));
  assert_non_null (strstr (text, "\"io.startvm.tpm\":\"true\""));
  assert_non_null (strstr (text, "\"FIRMWARE=uefi-secure\""));
  assert_non_null (strstr (text, "\"TPM=true\""));
  assert_non_null (strstr (text, "\"SHARES=/data:data\""));
  assert_non_null (
      strstr (text, "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}"));
  assert_non_null (strstr (text, "\"OpenStdin\":true"));
  assert_non_null (strstr (text, "\"StopTimeout\":30"));
  assert_non_null (strstr (text, "\"NetworkMode\":\"n1\""));
  assert_null (strstr (text, "/dev/kvm"));
  free (text);
  json_decref (spec);
  spec = sv_mgr_create_spec (&c, "/var/lib/startvm", true);
  text = json_dumps (spec, JSON_COMPACT);
  assert_non_null (strstr (text, "/dev/kvm"));
  free (text);
  json_decref (spec);
  json_decref (j);
  sv_mgr_create_free (&c);
}

static void
out_cb (void *ctx, const char *data, size_t len)
{
  struct sv_buf *b = ctx;
  sv_buf_addn (b, data, len);
}

static void
test_demux (void **state)
{
  static const char frames[] = "\x01\0\0\0\0\0\0\x03"
                               "abc"
                               "\x02\0\0\0\0\0\0\x02"
                               "de"
                               "\x00\0\0\0\0\0\0\x01"
                               "x";
  struct sv_docker_demux m = { 0 };
  struct sv_buf b = { 0 };
  /* One byte at a time: frame headers split anywhere. */
  for (size_t i = 0; i < sizeof frames - 1; i++)
    sv_docker_demux_feed (&m, frames + i, 1, out_cb, &b);
  assert_string_equal (b.data, "abcde");
  sv_buf_free (&b);
  struct sv_docker_demux raw = { 0 };
  sv_docker_demux_feed (&raw, "hello", 5, out_cb, &b);
  assert_string_equal (b.data, "hello");
  sv_buf_free (&b);
}

/* A console refused after the upgrade: close code 4000 + status, the
 * error message as reason, cut to 123 bytes between characters. */
static void
test_close_reason (void **state)
{
  char reason[SV_MGR_CLOSE_REASON_MAX + 1];
  struct sv_mgr_response r = { 0 };
  sv_mgr_resp_error (&r, 404, "no such VM: %s", "x");
  assert_int_equal (sv_mgr_resp_close (&r, reason), 4404);
  assert_string_equal (reason, "no such VM: x");
  /* 121 ASCII bytes, then "é" (2 bytes) fits exactly; one more byte
   * in front and the "é" would be cut in half: it goes whole. */
  char m[200];
  memset (m, 'a', 121);
  strcpy (m + 121, "\xc3\xa9\xe2\x82\xac");
  sv_mgr_resp_error (&r, 409, "%s", m);
  assert_int_equal (sv_mgr_resp_close (&r, reason), 4409);
  assert_int_equal (strlen (reason), 123);
  assert_memory_equal (reason + 121, "\xc3\xa9", 2);
  memset (m, 'a', 122);
  strcpy (m + 122, "\xc3\xa9");
  sv_mgr_resp_error (&r, 502, "%s", m);
  assert_int_equal (sv_mgr_resp_close (&r, reason), 4502);
  assert_int_equal (strlen (reason), 122);
  /* A three-byte character across the limit. */
  memset (m, 'a', 121);
  strcpy (m + 121, "\xe2\x82\xac");
  sv_mgr_resp_error (&r, 503, "%s", m);
  assert_int_equal (sv_mgr_resp_close (&r, reason), 4503);
  assert_int_equal (strlen (reason), 121);
  /* No error message: the status. */
  sv_mgr_resp_empty (&r, 500);
  assert_int_equal (sv_mgr_resp_close (&r, reason), 4500);
  assert_string_equal (reason, "HTTP 500");
  sv_mgr_resp_free (&r);
  assert_int_equal (sv_mgr_utf8_prefix ("abc", 123), 3);
  assert_int_equal (sv_mgr_utf8_prefix ("ab\xc3\xa9", 3), 2);
}

/* logs.c's own tail=N (podman 4.3's reorders a line's parts). */
static void
test_keep_last_lines (void **state)
{
  (void)state;
  static const struct
  {
    const char *in;
    long long n;
    const char *out;
  } cases[] = {
    { "a\nb\nc\n", 2, "b\nc\n" },
    { "a\nb\nc", 2, "b\nc" },
    { "a\nb\nc\n", 3, "a\nb\nc\n" },
    { "a\nb\nc\n", 9, "a\nb\nc\n" },
    { "a\nb\nc\n", 0, "" },
    { "a\nb\nc\n", 1, "c\n" },
    { "abc", 1, "abc" },
    { "\n\n\n", 2, "\n\n" },
    { "", 3, "" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct sv_buf b = { 0 };
      sv_buf_add (&b, cases[i].in);
      sv_mgr_keep_last_lines (&b, cases[i].n);
      assert_string_equal (b.data, cases[i].out);
      assert_int_equal (b.len, strlen (cases[i].out));
      sv_buf_free (&b);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ids),          cmocka_unit_test (test_routes),
    cmocka_unit_test (test_json_body),    cmocka_unit_test (test_create_fields),
    cmocka_unit_test (test_create_spec),  cmocka_unit_test (test_demux),
    cmocka_unit_test (test_close_reason), cmocka_unit_test (test_keep_last_lines),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
