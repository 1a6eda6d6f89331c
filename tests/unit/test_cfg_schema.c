/* cfg_schema.c, cfg_print.c, cfg_gen.c: validation against the embedded
 * schema, defaults, struct sv_vm_config, --print-config and the generated
 * JSON Schema / Markdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_internal.h"
#include "cfg_test_helpers.h"

static char *
read_file (const char *rel)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/%s", SV_SOURCE_DIR, rel);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    fail_msg ("cannot open %s", path);
  struct sv_buf b = { 0 };
  char chunk[4096];
  size_t n;
  while ((n = fread (chunk, 1, sizeof chunk, f)) > 0)
    sv_buf_addn (&b, chunk, n);
  fclose (f);
  return sv_buf_steal (&b);
}

static void
test_schema_loads (void **state)
{
  sv_error_t err = NULL;
  const struct sv_schema *s = sv_schema_get (&err);
  assert_non_null (s);
  assert_null (err);
  /* The C enums follow the schema's value order. */
  const struct sv_field *accel = sv_field_child (&s->root, "accel");
  assert_string_equal (accel->values[SV_ACCEL_AUTO], "auto");
  assert_string_equal (accel->values[SV_ACCEL_KVM], "kvm");
  assert_string_equal (accel->values[SV_ACCEL_TCG], "tcg");
  const struct sv_field *console = sv_field_child (&s->root, "console");
  const struct sv_field *serial = sv_field_child (console, "serial");
  assert_string_equal (serial->values[SV_SERIAL_STDIO], "stdio");
  assert_string_equal (serial->values[SV_SERIAL_NONE], "none");
  const struct sv_field *mode = sv_field_child (sv_field_child (&s->root, "shutdown"), "mode");
  assert_string_equal (mode->values[SV_SHUTDOWN_ACPI], "acpi");
  assert_string_equal (mode->values[SV_SHUTDOWN_EXEC], "exec");
  const struct sv_field *fw = sv_field_child (&s->root, "firmware");
  assert_string_equal (fw->values[SV_FIRMWARE_BIOS], "bios");
  assert_string_equal (fw->values[SV_FIRMWARE_UEFI], "uefi");
  assert_string_equal (fw->values[SV_FIRMWARE_UEFI_SECURE], "uefi-secure");
  /* Every documented variable is in the schema. */
  const char *vars[] = { "MEMORY", "MEMORY_MB", "CPUS",    "ACCEL",     "FIRMWARE", "TPM",
                         "DISKS",  "SHARES",    "NO_DHCP", "IP_PREFIX", "USER_DATA" };
  assert_int_equal (s->n_env, 11);
  for (size_t i = 0; i < 11; i++)
    assert_string_equal (s->env[i]->name, vars[i]);
  /* Same object every time: parsed once. */
  assert_ptr_equal (sv_schema_get (NULL), s);
}

static void
test_defaults (void **state)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config c;
  assert_null (cfg_run ("", NULL, &doc, &c, NULL));
  assert_null (c.name);
  assert_int_equal (c.memory_mib, 512);
  assert_int_equal (c.cpus, 1);
  assert_int_equal (c.accel, SV_ACCEL_AUTO);
  assert_string_equal (c.machine, "q35");
  assert_null (c.boot.kernel);
  assert_null (c.boot.initrd);
  assert_null (c.boot.append);
  assert_int_equal (c.n_disks, 0);
  assert_null (c.disks);
  assert_true (c.network.dhcp);
  assert_null (c.network.ip_prefix);
  assert_int_equal (c.network.wait_ms, 60000);
  assert_null (c.network.interfaces);
  assert_string_equal (c.network.model, "virtio-net-pci");
  assert_int_equal (c.console.serial, SV_SERIAL_STDIO);
  assert_true (c.console.vnc);
  assert_true (c.console.qmp);
  assert_string_equal (c.state_dir, "/ranchervm");
  assert_string_equal (c.data_dir, "/image");
  assert_int_equal (c.firmware, SV_FIRMWARE_BIOS);
  assert_false (c.tpm);
  assert_int_equal (c.shutdown.mode, SV_SHUTDOWN_ACPI);
  assert_int_equal (c.shutdown.timeout_ms, 8000);
  assert_null (c.cloud_init.user_data);
  assert_string_equal (c.qemu.binary, "qemu-system-x86_64");
  assert_null (c.qemu.extra_args);
  assert_int_equal (c.qemu.n_extra_args, 0);
  /* Defaults are in the tree, marked as such. */
  struct sv_node *cpus = sv_node_get (doc.root, "cpus");
  assert_int_equal (cpus->origin.kind, SV_ORIGIN_DEFAULT);
  assert_null (sv_node_get (doc.root, "boot"));
  assert_int_equal (sv_node_get (doc.root, "network")->origin.kind, SV_ORIGIN_DEFAULT);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  /* Null values mean "not set". */
  assert_null (cfg_run ("name: ~\ncpus:\nnetwork:\nboot: ~\ndisks: ~\n", NULL, &doc, &c, NULL));
  assert_null (c.name);
  assert_int_equal (c.cpus, 1);
  assert_true (c.network.dhcp);
  assert_int_equal (c.n_disks, 0);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  /* "interfaces: []" (none) differs from an absent key (all). */
  assert_null (
      cfg_run ("network:\n  interfaces: []\nqemu: {extra_args: []}\n", NULL, &doc, &c, NULL));
  assert_non_null (c.network.interfaces);
  assert_null (c.network.interfaces[0]);
  assert_int_equal (c.network.n_interfaces, 0);
  assert_non_null (c.qemu.extra_args);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);
}

static void
test_full (void **state)
{
  char *y = read_file ("tests/data/config/full.yaml");
  struct sv_cfg_doc doc;
  struct sv_vm_config c;
  char *m = cfg_run (y, NULL, &doc, &c, NULL);
  if (m)
    fail_msg ("%s", m);
  assert_string_equal (c.name, "web1");
  assert_int_equal (c.memory_mib, 2048);
  assert_int_equal (c.cpus, 2);
  assert_int_equal (c.accel, SV_ACCEL_TCG);
  assert_string_equal (c.machine, "pc");
  assert_string_equal (c.boot.kernel, "/vm/vmlinuz");
  assert_string_equal (c.boot.initrd, "/vm/initrd.img");
  assert_string_equal (c.boot.append, "console=ttyS0 quiet");
  assert_int_equal (c.n_disks, 2);
  assert_string_equal (c.disks[0].file, "/volumes/data.img");
  assert_int_equal (c.disks[0].size, 20ULL << 30);
  assert_string_equal (c.disks[0].format, "qcow2");
  assert_string_equal (c.disks[0].bus, "scsi");
  assert_string_equal (c.disks[0].cache, "none");
  assert_true (c.disks[0].readonly);
  assert_string_equal (c.disks[0].media, "disk");
  assert_int_equal (c.disks[0].boot_index, 1);
  assert_string_equal (c.disks[1].base, "/base/debian.qcow2");
  assert_null (c.disks[1].cache);
  assert_int_equal (c.disks[1].boot_index, -1);
  assert_string_equal (c.disks[1].media, "cdrom");
  assert_false (c.network.dhcp);
  assert_string_equal (c.network.ip_prefix, "10.42.");
  assert_int_equal (c.network.wait_ms, 120000);
  assert_int_equal (c.network.n_interfaces, 2);
  assert_string_equal (c.network.interfaces[1], "eth1");
  assert_null (c.network.interfaces[2]);
  assert_string_equal (c.network.model, "e1000");
  assert_int_equal (c.console.serial, SV_SERIAL_NONE);
  assert_false (c.console.vnc);
  assert_false (c.console.qmp);
  assert_string_equal (c.state_dir, "/var/lib/ranchervm");
  assert_int_equal (c.shutdown.mode, SV_SHUTDOWN_EXEC);
  assert_int_equal (c.shutdown.timeout_ms, 20000);
  assert_string_equal (c.cloud_init.user_data, "#cloud-config\nhostname: web1\n");
  assert_string_equal (c.cloud_init.meta_data, "instance-id: web1\n");
  assert_string_equal (c.cloud_init.network_config, "version: 2");
  assert_string_equal (c.qemu.binary, "/usr/bin/qemu-system-x86_64");
  assert_int_equal (c.qemu.n_extra_args, 3);
  assert_string_equal (c.qemu.extra_args[2], "sockets=1");
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);
  free (y);
}

static void
test_values (void **state)
{
  struct
  {
    const char *yaml;
    uint64_t mib;
  } sizes[] = {
    { "memory: 512M", 512 },    { "memory: 2G", 2048 },    { "memory: 1.5G", 1536 },
    { "memory: 2048", 2048 },   { "memory: 512MiB", 512 }, { "memory: 2gb", 2048 },
    { "memory: \"1G\"", 1024 }, { "memory: 16M", 16 },     { "memory: 4T", 4 << 20 },
  };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
      struct sv_cfg_doc doc;
      struct sv_vm_config c;
      char *m = cfg_run (sizes[i].yaml, NULL, &doc, &c, NULL);
      if (m)
        fail_msg ("%s: %s", sizes[i].yaml, m);
      assert_int_equal (c.memory_mib, sizes[i].mib);
      sv_vm_config_free (&c);
      sv_cfg_doc_free (&doc);
    }
  struct
  {
    const char *yaml;
    uint64_t ms;
  } durs[] = { { "shutdown: {timeout: 500ms}", 0 },
               { "shutdown: {timeout: 6s}", 6000 },
               { "shutdown: {timeout: 2m}", 120000 },
               { "shutdown: {timeout: 30}", 30000 },
               { "shutdown: {timeout: 1h}", 3600000 } };
  for (size_t i = 1; i < sizeof durs / sizeof durs[0]; i++)
    {
      struct sv_cfg_doc doc;
      struct sv_vm_config c;
      char *m = cfg_run (durs[i].yaml, NULL, &doc, &c, NULL);
      if (m)
        fail_msg ("%s: %s", durs[i].yaml, m);
      assert_int_equal (c.shutdown.timeout_ms, durs[i].ms);
      sv_vm_config_free (&c);
      sv_cfg_doc_free (&doc);
    }
  assert_cfg_error ("shutdown: {timeout: 500ms}", NULL,
                    "t.yaml:1:21: shutdown.timeout: 500ms is out of range (accepted: 1s to 1h, "
                    "e.g. 20s)");
  assert_cfg_ok ("network: {wait: 0, dhcp: yes}\nconsole: {vnc: off, qmp: 1}\n", NULL);
  assert_cfg_ok ("network: {ip_prefix: 10}\n", NULL);
  assert_cfg_ok ("network: {ip_prefix: 10.42.0.1}\n", NULL);
  assert_cfg_ok ("name: 123\nboot: {append: yes}\n", NULL); /* plain scalars are fine strings */
}

static void
test_type_errors (void **state)
{
  static const struct
  {
    const char *yaml, *msg;
  } cases[] = {
    { "name: [a]", "t.yaml:1:7: name: expected a string, got a list" },
    { "memory: [1]", "t.yaml:1:9: memory: expected a size such as 2G, got a list" },
    { "memory: {a: 1}", "t.yaml:1:9: memory: expected a size such as 2G, got a map" },
    { "memory: 8M", "t.yaml:1:9: memory: 8M is out of range (accepted: 16M to 4T, e.g. 2G)" },
    { "memory: 5T", "t.yaml:1:9: memory: 5T is out of range (accepted: 16M to 4T, e.g. 2G)" },
    { "memory: 0", "t.yaml:1:9: memory: size must be greater than zero (e.g. 512M)" },
    { "memory: -1G",
      "t.yaml:1:9: memory: '-1G' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain "
      "number of MiB such as 2048)" },
    { "memory: 12XB",
      "t.yaml:1:9: memory: '12XB' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain "
      "number of MiB such as 2048)" },
    { "memory: 99999999999999999999",
      "t.yaml:1:9: memory: size '99999999999999999999' is too large (e.g. 2G)" },
    { "cpus: \"2\"",
      "t.yaml:1:7: cpus: expected an integer from 1 to 512, got a quoted string (\"2\"): remove "
      "the quotes" },
    { "cpus: [1]", "t.yaml:1:7: cpus: expected an integer from 1 to 512, got a list" },
    { "cpus: 0", "t.yaml:1:7: cpus: 0 is out of range (accepted: 1 to 512, e.g. 2)" },
    { "cpus: 10000", "t.yaml:1:7: cpus: 10000 is out of range (accepted: 1 to 512, e.g. 2)" },
    { "cpus: 99999999999999999999999",
      "t.yaml:1:7: cpus: 99999999999999999999999 is out of range (accepted: 1 to 512, e.g. 2)" },
    { "cpus: two", "t.yaml:1:7: cpus: 'two' is not an integer (accepted: 1 to 512, e.g. 2)" },
    { "cpus: 1.5", "t.yaml:1:7: cpus: '1.5' is not an integer (accepted: 1 to 512, e.g. 2)" },
    { "accel: fast", "t.yaml:1:8: accel: 'fast' is not a valid value (accepted: auto, kvm, tcg)" },
    { "accel: [kvm]", "t.yaml:1:8: accel: expected one of auto, kvm, tcg, got a list" },
    { "machine: {}", "t.yaml:1:10: machine: expected a string, got a map" },
    { "machine: ''", "t.yaml:1:10: machine: must not be empty (e.g. pc)" },
    { "boot: x", "t.yaml:1:7: boot: expected a map of keys, got a single value" },
    { "boot: {kernel: [a]}", "t.yaml:1:16: boot.kernel: expected a string, got a list" },
    { "disks: {file: a}", "t.yaml:1:8: disks: expected a list of maps, got a map" },
    { "disks: [a]", "t.yaml:1:9: disks[0]: expected a map of keys, got a single value" },
    { "disks: [{size: 1G}]", "t.yaml:1:9: disks[0]: 'file' is required (e.g. file: "
                             "/volumes/data.img)" },
    { "disks: [{file: ~}]", "t.yaml:1:16: disks[0]: 'file' is required (e.g. file: "
                            "/volumes/data.img)" },
    { "disks: [{file: a, readonly: \"yes\"}]",
      "t.yaml:1:29: disks[0].readonly: expected a boolean (true or false), got a quoted string "
      "(\"yes\"): remove the quotes" },
    { "disks: [{file: a, readonly: maybe}]",
      "t.yaml:1:29: disks[0].readonly: 'maybe' is not a boolean (accepted: true, false, yes, no, "
      "1, 0)" },
    { "disks: [{file: a}, {file: b, boot_index: 100}]",
      "t.yaml:1:42: disks[1].boot_index: 100 is out of range (accepted: 0 to 99, e.g. 0)" },
    { "disks: [{file: a, format: qcow}]",
      "t.yaml:1:27: disks[0].format: 'qcow' is not a valid value (accepted: auto, raw, qcow2, "
      "vmdk, vdi, vhdx, qed; did you mean 'qcow2'?)" },
    { "disks: [{file: a, fromat: raw}]",
      "t.yaml:1:19: disks[0]: unknown key 'fromat' (did you mean 'format'?)" },
    { "network: {dhcp: \"true\"}",
      "t.yaml:1:17: network.dhcp: expected a boolean (true or false), got a quoted string "
      "(\"true\"): remove the quotes" },
    { "network: {wait: soon}",
      "t.yaml:1:17: network.wait: 'soon' is not a duration (accepted: 500ms, 6s, 2m, 1h, or a "
      "plain number of seconds such as 30)" },
    { "network: {wait: 2h}",
      "t.yaml:1:17: network.wait: 2h is out of range (accepted: 0s to 1h, e.g. 2m)" },
    { "network: {interfaces: eth0}",
      "t.yaml:1:23: network.interfaces: expected a list of strings, got a single value" },
    { "network: {interfaces: [[eth0]]}",
      "t.yaml:1:24: network.interfaces[0]: expected a string, got a list" },
    { "network: {interfaces: [averyveryverylongname]}",
      "t.yaml:1:24: network.interfaces[0]: 'averyveryverylongname' is not an interface name (1 "
      "to 15 characters without '/', ':' or spaces, e.g. eth0)" },
    { "network: {ip_prefix: 10.42.0.1.}",
      "t.yaml:1:22: network.ip_prefix: '10.42.0.1.' is not an IPv4 prefix (1 to 4 dotted numbers "
      "from 0 to 255, e.g. 10.42)" },
    { "console: {serial: file}",
      "t.yaml:1:19: console.serial: 'file' is not a valid value (accepted: stdio, none)" },
    { "console: {vnc: 2}",
      "t.yaml:1:16: console.vnc: '2' is not a boolean (accepted: true, false, yes, no, 1, 0)" },
    { "state_dir: var/lib",
      "t.yaml:1:12: state_dir: 'var/lib' is not an absolute path (e.g. /var/lib/ranchervm)" },
    { "shutdown: {mode: kill}",
      "t.yaml:1:18: shutdown.mode: 'kill' is not a valid value (accepted: acpi, exec, suspend)" },
    { "shutdown: {timeout: 0}",
      "t.yaml:1:21: shutdown.timeout: 0 is out of range (accepted: 1s to 1h, e.g. 20s)" },
    { "cloud_init: {user_data: [a]}",
      "t.yaml:1:25: cloud_init.user_data: expected a string, got a list" },
    { "qemu: {extra_args: -nographic}",
      "t.yaml:1:20: qemu.extra_args: expected a list of strings, got a single value" },
    { "qemu: {extra_args: [~]}",
      "t.yaml:1:21: qemu.extra_args[0]: expected a string, got nothing" },
    { "memroy: 1G", "t.yaml:1:1: unknown key 'memroy' (did you mean 'memory'?)" },
    { "cpu: 1", "t.yaml:1:1: unknown key 'cpu' (did you mean 'cpus'?)" },
    { "Memory: 1G", "t.yaml:1:1: unknown key 'Memory' (did you mean 'memory'?)" },
    { "network: {dchp: no}", "t.yaml:1:11: network: unknown key 'dchp' (did you mean 'dhcp'?)" },
    { "zzz: 1",
      "t.yaml:1:1: unknown key 'zzz' (accepted: name, memory, cpus, accel, machine, firmware, "
      "tpm, boot, disks, shares, network, console, state_dir, data_dir, shutdown, cloud_init, "
      "qemu)" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_cfg_error (cases[i].yaml, NULL, cases[i].msg);
}

/* Equality of two configurations, member by member. */
static void
assert_same_config (const struct sv_vm_config *a, const struct sv_vm_config *b)
{
#define SAME_STR(x, y)                                                                             \
  do                                                                                               \
    {                                                                                              \
      if ((x) == NULL || (y) == NULL)                                                              \
        assert_ptr_equal ((x), (y));                                                               \
      else                                                                                         \
        assert_string_equal ((x), (y));                                                            \
    }                                                                                              \
  while (0)
  SAME_STR (a->name, b->name);
  assert_int_equal (a->memory_mib, b->memory_mib);
  assert_int_equal (a->cpus, b->cpus);
  assert_int_equal (a->accel, b->accel);
  SAME_STR (a->machine, b->machine);
  SAME_STR (a->boot.kernel, b->boot.kernel);
  SAME_STR (a->boot.initrd, b->boot.initrd);
  SAME_STR (a->boot.append, b->boot.append);
  assert_int_equal (a->n_disks, b->n_disks);
  for (size_t i = 0; i < a->n_disks; i++)
    {
      SAME_STR (a->disks[i].file, b->disks[i].file);
      SAME_STR (a->disks[i].base, b->disks[i].base);
      assert_int_equal (a->disks[i].size, b->disks[i].size);
      SAME_STR (a->disks[i].format, b->disks[i].format);
      SAME_STR (a->disks[i].bus, b->disks[i].bus);
      SAME_STR (a->disks[i].cache, b->disks[i].cache);
      assert_int_equal (a->disks[i].readonly, b->disks[i].readonly);
      SAME_STR (a->disks[i].media, b->disks[i].media);
      assert_int_equal (a->disks[i].boot_index, b->disks[i].boot_index);
    }
  assert_int_equal (a->network.dhcp, b->network.dhcp);
  SAME_STR (a->network.ip_prefix, b->network.ip_prefix);
  assert_int_equal (a->network.wait_ms, b->network.wait_ms);
  assert_int_equal (a->network.n_interfaces, b->network.n_interfaces);
  assert_int_equal (a->network.interfaces == NULL, b->network.interfaces == NULL);
  for (size_t i = 0; i < a->network.n_interfaces; i++)
    SAME_STR (a->network.interfaces[i], b->network.interfaces[i]);
  SAME_STR (a->network.model, b->network.model);
  assert_int_equal (a->console.serial, b->console.serial);
  assert_int_equal (a->console.vnc, b->console.vnc);
  assert_int_equal (a->console.qmp, b->console.qmp);
  SAME_STR (a->state_dir, b->state_dir);
  assert_int_equal (a->shutdown.mode, b->shutdown.mode);
  assert_int_equal (a->shutdown.timeout_ms, b->shutdown.timeout_ms);
  SAME_STR (a->cloud_init.user_data, b->cloud_init.user_data);
  SAME_STR (a->cloud_init.meta_data, b->cloud_init.meta_data);
  SAME_STR (a->cloud_init.network_config, b->cloud_init.network_config);
  SAME_STR (a->qemu.binary, b->qemu.binary);
  assert_int_equal (a->qemu.n_extra_args, b->qemu.n_extra_args);
  for (size_t i = 0; i < a->qemu.n_extra_args; i++)
    SAME_STR (a->qemu.extra_args[i], b->qemu.extra_args[i]);
#undef SAME_STR
}

/* print -> load -> validate gives the same configuration. */
static void
check_round_trip (const char *yaml, char **env)
{
  struct sv_cfg_doc doc, doc2;
  struct sv_vm_config c, c2;
  char *m = cfg_run (yaml, env, &doc, &c, NULL);
  if (m)
    fail_msg ("%s", m);
  char *out = sv_cfg_print (&doc);
  m = cfg_run (out, NULL, &doc2, &c2, NULL);
  if (m)
    fail_msg ("printed config does not load: %s\n%s", m, out);
  assert_same_config (&c, &c2);
  char *out2 = sv_cfg_print (&doc2);
  /* Same text except the origin comments: compare without them. */
  assert_int_equal (strlen (out) > 0, 1);
  free (out2);
  free (out);
  sv_vm_config_free (&c);
  sv_vm_config_free (&c2);
  sv_cfg_doc_free (&doc);
  sv_cfg_doc_free (&doc2);
}

static void
test_print (void **state)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config c;
  char *env[] = { "CPUS=4", "NO_DHCP=1", NULL };
  assert_null (cfg_run ("# x\nmemory: 2G\nname: \"a b\"\n", env, &doc, &c, NULL));
  char *out = sv_cfg_print (&doc);
  assert_non_null (strstr (out, "\nname: \"a b\"  # t.yaml:3:7\n"));
  assert_non_null (strstr (out, "\nmemory: 2G  # t.yaml:2:9\n"));
  assert_non_null (strstr (out, "\ncpus: 4  # env CPUS\n"));
  assert_non_null (strstr (out, "\naccel: auto  # default\n"));
  assert_non_null (
      strstr (out, "\nnetwork:\n  dhcp: false  # env NO_DHCP\n  wait: 60s  # default\n"));
  /* Schema order, whatever the file's order. */
  assert_true (strstr (out, "name:") < strstr (out, "memory:"));
  assert_true (strncmp (out, "# startvm configuration: t.yaml merged with the environment", 59)
               == 0);
  free (out);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  /* The default file missing: the header does not claim it was merged. */
  sv_error_t err = NULL;
  assert_int_equal (sv_cfg_load_file ("/nonexistent.startvm/vm.yaml", false, &doc, &err), 0);
  assert_true (doc.file_missing);
  out = sv_cfg_print (&doc);
  assert_string_equal (out, "# startvm configuration: the environment and defaults (no "
                            "/nonexistent.startvm/vm.yaml)\n");
  free (out);
  sv_cfg_doc_free (&doc);

  char *full = read_file ("tests/data/config/full.yaml");
  check_round_trip (full, NULL);
  free (full);
  check_round_trip ("", NULL);
  char *denv[] = { "DISKS=/a b:20G,/c:ro:cdrom", "MEMORY_MB=1024", NULL };
  check_round_trip ("name: null\nboot: {append: \"x: y # z\"}\n", denv);
  check_round_trip ("cloud_init:\n  user_data: \"a\\n\\nb\\n\\n\"\n  meta_data: \" lead\\nx\"\n"
                    "  network_config: \"tab\\there\\n\\u0085\\x7f\\x01 \\\" \\\\ end\\n\"\n",
                    NULL);
  check_round_trip ("qemu: {extra_args: [\"\", \"~\", \"null\", \"-a\", \"#x\", \"a:b\", \"é\"]}\n"
                    "name: \"multi\\nline\"\n",
                    NULL);
  check_round_trip ("network: {interfaces: []}\nqemu: {extra_args: []}\n", NULL);
  /* Found by the fuzzer: "+2" is a valid integer but needs no quotes. */
  check_round_trip ("cpus: +2\nconsole: {vnc: On, qmp: 0}\ndisks: [{file: a, boot_index: 007}]\n",
                    NULL);
}

static void
test_generated (void **state)
{
  char *json = sv_schema_json ();
  assert_non_null (strstr (json, "\"$schema\": \"https://json-schema.org/draft/2020-12/schema\""));
  assert_non_null (strstr (json, "\"additionalProperties\": false"));
  assert_non_null (strstr (json, "\"enum\": [\"auto\", \"kvm\", \"tcg\"]"));
  assert_non_null (strstr (json, "\"default\": \"512M\""));
  assert_non_null (strstr (json, "\"required\": [\"file\"]"));
  free (json);
  char *md = sv_schema_markdown ();
  assert_non_null (strstr (md, "| `memory` | size, 16M to 4T | `512M` | `MEMORY`, `MEMORY_MB` |"));
  assert_non_null (strstr (md, "## DISKS syntax"));
  assert_non_null (strstr (md, "| `disks[].file` | string, required |"));
  free (md);
}

/* The disk limit is checked once, here (observe and plan size their
 * arrays by it), from the file and from DISKS alike. */
static void
test_disk_limit (void **state)
{
  struct sv_buf y = { 0 }, e = { 0 };
  sv_buf_add (&y, "disks:\n");
  sv_buf_add (&e, "DISKS=");
  for (int i = 0; i < SV_MAX_DISKS; i++)
    {
      sv_buf_addf (&y, "  - file: /volumes/d%d.img\n", i);
      sv_buf_addf (&e, "%s/volumes/d%d.img", i ? "," : "", i);
    }
  char *env32[] = { e.data, NULL };
  assert_cfg_ok (y.data, NULL);
  assert_cfg_ok ("{}", env32);
  sv_buf_add (&y, "  - file: /volumes/one-more.img\n");
  sv_buf_add (&e, ",/volumes/one-more.img");
  char *env33[] = { e.data, NULL };
  assert_cfg_error (y.data, NULL, "disks: 33 disks listed, at most 32 are supported");
  assert_cfg_error ("{}", env33, "disks: 33 disks listed, at most 32 are supported");
  sv_buf_free (&y);
  sv_buf_free (&e);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_schema_loads), cmocka_unit_test (test_defaults),
    cmocka_unit_test (test_full),         cmocka_unit_test (test_values),
    cmocka_unit_test (test_type_errors),  cmocka_unit_test (test_print),
    cmocka_unit_test (test_generated),    cmocka_unit_test (test_disk_limit),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
