/* cfg_env.c: environment overrides, their origins and their errors. */
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
#include "cfg_test_helpers.h"

static void
test_memory (void **state)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config c;
  char *env[] = { "PATH=/bin", "MEMORY=2G", "MEMORYX=1", NULL };
  assert_null (cfg_run ("memory: 1G\n", env, &doc, &c, NULL));
  assert_int_equal (c.memory_mib, 2048);
  struct sv_node *m = sv_node_get (doc.root, "memory");
  assert_int_equal (m->origin.kind, SV_ORIGIN_ENV);
  assert_string_equal (m->origin.env, "MEMORY");
  /* The key stays where the file had it. */
  assert_int_equal (doc.root->pairs[0].key_origin.kind, SV_ORIGIN_FILE);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  /* MEMORY wins over the legacy MEMORY_MB; MEMORY_MB alone is MiB. */
  char *both[] = { "MEMORY_MB=4096", "MEMORY=1G", NULL };
  assert_null (cfg_run ("", both, &doc, &c, NULL));
  assert_int_equal (c.memory_mib, 1024);
  assert_string_equal (sv_node_get (doc.root, "memory")->origin.env, "MEMORY");
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);
  char *legacy[] = { "MEMORY_MB=4096", NULL };
  assert_null (cfg_run ("memory: 1G\n", legacy, &doc, &c, NULL));
  assert_int_equal (c.memory_mib, 4096);
  assert_string_equal (sv_node_get (doc.root, "memory")->origin.env, "MEMORY_MB");
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);
  char *plain[] = { "MEMORY=2048", NULL };
  assert_null (cfg_run ("", plain, &doc, &c, NULL));
  assert_int_equal (c.memory_mib, 2048);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  assert_cfg_error ("", ((char *[]){ "MEMORY=12XB", NULL }),
                    "MEMORY=12XB: memory: '12XB' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, "
                    "or a plain number of MiB such as 2048)");
  assert_cfg_error ("", ((char *[]){ "MEMORY_MB=2G", NULL }),
                    "MEMORY_MB=2G: memory: '2G' is not a plain number of MiB (e.g. "
                    "MEMORY_MB=2048; use MEMORY for units)");
  assert_cfg_error ("", ((char *[]){ "MEMORY=8M", NULL }),
                    "MEMORY=8M: memory: 8M is out of range (accepted: 16M to 4T, e.g. MEMORY=2G)");
  assert_cfg_error ("", ((char *[]){ "MEMORY=0", NULL }),
                    "MEMORY=0: memory: size must be greater than zero (e.g. 512M)");
}

static void
test_scalars (void **state)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config c;
  char *env[] = { "CPUS=4", "ACCEL=tcg", "IP_PREFIX=10.42", "NO_DHCP=yes", NULL };
  assert_null (cfg_run ("cpus: 2\naccel: kvm\n", env, &doc, &c, NULL));
  assert_int_equal (c.cpus, 4);
  assert_int_equal (c.accel, SV_ACCEL_TCG);
  assert_string_equal (c.network.ip_prefix, "10.42");
  assert_false (c.network.dhcp);
  struct sv_node *net = sv_node_get (doc.root, "network");
  assert_int_equal (net->origin.kind, SV_ORIGIN_ENV);
  struct sv_node *dhcp = sv_node_get (net, "dhcp");
  assert_string_equal (dhcp->scalar, "false");
  assert_string_equal (dhcp->origin.env, "NO_DHCP");
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  /* NO_DHCP is the negation of network.dhcp, whatever the file says. */
  char *off[] = { "NO_DHCP=0", NULL };
  assert_null (cfg_run ("network:\n  dhcp: false\n", off, &doc, &c, NULL));
  assert_true (c.network.dhcp);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);
  char *on[] = { "NO_DHCP=TRUE", NULL };
  assert_null (cfg_run ("network: ~\n", on, &doc, &c, NULL));
  assert_false (c.network.dhcp);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  /* Empty values count as unset. */
  char *empty[] = { "CPUS=", "MEMORY=", "DISKS=", "NO_DHCP=", NULL };
  assert_null (cfg_run ("cpus: 3\n", empty, &doc, &c, NULL));
  assert_int_equal (c.cpus, 3);
  assert_true (c.network.dhcp);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);
  assert_null (cfg_run ("cpus: 3\n", NULL, &doc, &c, NULL));
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  assert_cfg_error ("", ((char *[]){ "CPUS=abc", NULL }),
                    "CPUS=abc: cpus: 'abc' is not an integer (accepted: 1 to 512, e.g. CPUS=2)");
  assert_cfg_error ("", ((char *[]){ "CPUS=0", NULL }),
                    "CPUS=0: cpus: 0 is out of range (accepted: 1 to 512, e.g. CPUS=2)");
  assert_cfg_error ("", ((char *[]){ "CPUS=2.5", NULL }),
                    "CPUS=2.5: cpus: '2.5' is not an integer (accepted: 1 to 512, e.g. CPUS=2)");
  assert_cfg_error ("", ((char *[]){ "ACCEL=fast", NULL }),
                    "ACCEL=fast: accel: 'fast' is not a valid value (accepted: auto, kvm, tcg)");
  assert_cfg_error ("", ((char *[]){ "ACCEL=kvn", NULL }),
                    "ACCEL=kvn: accel: 'kvn' is not a valid value (accepted: auto, kvm, tcg; did "
                    "you mean 'kvm'?)");
  assert_cfg_error ("", ((char *[]){ "NO_DHCP=maybe", NULL }),
                    "NO_DHCP=maybe: network.dhcp: 'maybe' is not a boolean (accepted: true, false, "
                    "yes, no, 1, 0)");
  assert_cfg_error ("", ((char *[]){ "IP_PREFIX=10.x", NULL }),
                    "IP_PREFIX=10.x: network.ip_prefix: '10.x' is not an IPv4 prefix (1 to 4 "
                    "dotted numbers from 0 to 255, e.g. 10.42)");
  /* Hostile values are shown escaped and cut. */
  assert_cfg_error (
      "", ((char *[]){ "CPUS=1\n2", NULL }),
      "CPUS=1\\n2: cpus: '1\\n2' is not an integer (accepted: 1 to 512, e.g. CPUS=2)");
  /* A wrong type in the file is still named when env touches below it. */
  assert_cfg_error ("network: 5\n", ((char *[]){ "NO_DHCP=1", NULL }),
                    "t.yaml:1:10: network: expected a map of keys, got a single value");
}

static void
test_disks (void **state)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config c;
  char *env[] = { "DISKS=/volumes/data.img:20G,/volumes/b.qcow2:qcow2:ro,/c.iso:cdrom:ide", NULL };
  assert_null (cfg_run ("disks:\n  - file: /from/file.img\n", env, &doc, &c, NULL));
  assert_int_equal (c.n_disks, 3);
  assert_string_equal (c.disks[0].file, "/volumes/data.img");
  assert_int_equal (c.disks[0].size, 20ULL << 30);
  assert_string_equal (c.disks[0].format, "auto");
  assert_string_equal (c.disks[0].bus, "virtio");
  assert_false (c.disks[0].readonly);
  assert_int_equal (c.disks[0].boot_index, -1);
  assert_string_equal (c.disks[1].file, "/volumes/b.qcow2");
  assert_string_equal (c.disks[1].format, "qcow2");
  assert_true (c.disks[1].readonly);
  assert_int_equal (c.disks[1].size, 0);
  assert_string_equal (c.disks[2].media, "cdrom");
  assert_string_equal (c.disks[2].bus, "ide");
  struct sv_node *d = sv_node_get (doc.root, "disks");
  assert_int_equal (d->origin.kind, SV_ORIGIN_ENV);
  assert_string_equal (sv_node_get (d->items[0], "size")->origin.env, "DISKS");
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);

  assert_cfg_error ("", ((char *[]){ "DISKS=/a.img:foo", NULL }),
                    "DISKS=/a.img:foo: disks[0]: unknown field 'foo' in '/a.img:foo' (accepted "
                    "after the file: a size such as 20G, a format (auto, raw, qcow2, vmdk, vdi, "
                    "vhdx, qed), a bus (virtio, scsi, sata, ide), a media (disk, cdrom) or ro)");
  assert_cfg_error ("", ((char *[]){ "DISKS=/a.img,/b:20XB", NULL }),
                    "DISKS=/a.img,/b:20XB: disks[1].size: '20XB' is not a size (accepted: 512M, "
                    "2G, 1.5G, 512MiB, or a plain number of MiB such as 2048)");
  assert_cfg_error ("", ((char *[]){ "DISKS=/a:0", NULL }),
                    "DISKS=/a:0: disks[0].size: size must be greater than zero (e.g. 512M)");
  assert_cfg_error ("", ((char *[]){ "DISKS=/a:100T", NULL }),
                    "DISKS=/a:100T: disks[0].size: 100T is out of range (accepted: 1M to 64T, "
                    "e.g. 20G)");
  assert_cfg_error ("", ((char *[]){ "DISKS=/a:raw:qcow2", NULL }),
                    "DISKS=/a:raw:qcow2: disks[0]: '/a:raw:qcow2' gives the format twice");
  assert_cfg_error ("", ((char *[]){ "DISKS=/a:ro:ro", NULL }),
                    "DISKS=/a:ro:ro: disks[0]: '/a:ro:ro' gives the ro flag twice");
  assert_cfg_error ("", ((char *[]){ "DISKS=/a,,/b", NULL }),
                    "DISKS=/a,,/b: disks: entry 2 is empty (a stray ','?)");
  assert_cfg_error ("", ((char *[]){ "DISKS=:20G", NULL }),
                    "DISKS=:20G: disks[0]: an entry needs a file name first (FILE[:FIELD]..., "
                    "e.g. DISKS=/volumes/data.img:20G)");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_memory),
    cmocka_unit_test (test_scalars),
    cmocka_unit_test (test_disks),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
