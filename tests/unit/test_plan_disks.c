/* plan_disks: pure decisions from hand-built configs and observations:
 * the exact QEMU args, the exact qemu-img argv of each op, and every
 * refusal (class and message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan_internal.h"
#include "util.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

struct fixture
{
  struct sv_vm_config cfg;
  struct sv_host *host;
  struct sv_disk_config disks[8];
  struct sv_strv argv;
  struct sv_plan plan;
  sv_error_t err;
  char *args; /* argv joined with '\n' */
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  f->host = calloc (1, sizeof *f->host);
  snprintf (f->host->container_id, sizeof f->host->container_id, "%s", "0123abcd");
  snprintf (f->host->net.hostname, sizeof f->host->net.hostname, "%s", "vm1");
  f->cfg.state_dir = "/ranchervm";
  f->cfg.machine = "q35";
  for (size_t i = 0; i < 8; i++)
    f->disks[i] = (struct sv_disk_config){ .format = "auto", .bus = "virtio", .boot_index = -1 };
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  sv_plan_disks_free (&f->plan);
  sv_strv_free_raw (f->plan.warnings);
  sv_strv_free (&f->argv);
  sv_error_release (&f->err);
  free (f->args);
  free (f->host);
  free (f);
  return 0;
}

static char *
join (char **v)
{
  struct sv_buf b = { 0 };
  for (size_t i = 0; v && v[i]; i++)
    {
      if (i)
        sv_buf_addc (&b, '\n');
      sv_buf_add (&b, v[i]);
    }
  return sv_buf_steal (&b);
}

static int
run (struct fixture *f)
{
  int rc = sv_plan_disks (&f->cfg, f->host, &f->argv, &f->plan, &f->err);
  free (f->args);
  f->args = join (f->argv.v);
  return rc;
}

static void
expect_error (struct fixture *f, int exit_class, const char *needle)
{
  assert_int_equal (run (f), -1);
  assert_non_null (f->err);
  assert_int_equal (f->err->exit_class, exit_class);
  if (strstr (f->err->msg, needle) == NULL)
    fail_msg ("message '%s' lacks '%s'", f->err->msg, needle);
}

static struct sv_disk_state *
disk (struct fixture *f, size_t i, const char *file, bool exists, const char *format,
      uint64_t vsize)
{
  struct sv_disk_state *st = &f->host->disks[i];
  if (f->host->n_disks <= i)
    f->host->n_disks = i + 1;
  snprintf (st->file, sizeof st->file, "%s", file);
  st->exists = exists;
  snprintf (st->format, sizeof st->format, "%s", format ? format : "");
  st->virtual_size = vsize;
  return st;
}

/* The convention's disk 0: /image/sda.qcow2 on the one /base_image image. */
static struct sv_disk_state *
convention (struct fixture *f, bool overlay_exists)
{
  struct sv_images_state *im = &f->host->images;
  snprintf (im->root, sizeof im->root, "%s", "/r");
  im->base_dir_exists = true;
  im->n_base_images = 1;
  snprintf (im->base_images[0], sizeof im->base_images[0], "%s", "debian.qcow2");
  struct sv_disk_state *st
      = disk (f, 0, "/r/image/sda.qcow2", overlay_exists, overlay_exists ? "qcow2" : "", 0);
  st->implicit = true;
  snprintf (st->base, sizeof st->base, "%s", "/r/base_image/debian.qcow2");
  st->base_exists = true;
  snprintf (st->base_format, sizeof st->base_format, "%s", "qcow2");
  st->base_virtual_size = 2 * GiB;
  st->base_fp = (struct sv_base_fingerprint){
    .valid = true, .size = 300 * MiB, .mtime = 1700000000, .sample = 0xfeedULL
  };
  if (overlay_exists)
    {
      st->virtual_size = 2 * GiB;
      snprintf (st->backing, sizeof st->backing, "%s", st->base);
      st->backing_exists = true;
      st->backing_is_base = true;
      st->recorded = st->base_fp;
    }
  return st;
}

static void
test_no_disks (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (run (f), 0);
  assert_string_equal (f->args, "");
  assert_int_equal (f->plan.n_disk_ops, 0);
  assert_null (f->plan.seed_dir);
}

static void
test_convention_first_start (void **state)
{
  struct fixture *f = *state;
  convention (f, false);
  disk (f, 1, "/r/volumes/a.img", true, "raw", GiB)->implicit = true;
  assert_int_equal (run (f), 0);
  assert_int_equal (f->plan.n_disk_ops, 1);
  struct sv_disk_op *op = &f->plan.disk_ops[0];
  assert_int_equal (op->kind, SV_DISK_CREATE_OVERLAY);
  char *a = join (op->argv);
  assert_string_equal (a, "qemu-img\ncreate\n-f\nqcow2\n-F\nqcow2\n-b\n/r/base_image/"
                          "debian.qcow2\n/r/image/sda.qcow2");
  free (a);
  assert_string_equal (op->file, "/r/image/sda.qcow2");
  assert_string_equal (op->sidecar_path, "/r/image/sda.qcow2.startvm-base");
  assert_non_null (strstr (op->sidecar_content, "\nbase=/r/base_image/debian.qcow2\n"
                                                "size=314572800\nmtime=1700000000\n"
                                                "sample=000000000000feed\n"));
  assert_string_equal (
      f->args,
      "-blockdev\n"
      "{\"driver\":\"file\",\"node-name\":\"disk0-file\",\"filename\":\"/r/image/sda.qcow2\","
      "\"read-only\":false,\"discard\":\"unmap\"}\n"
      "-blockdev\n"
      "{\"driver\":\"qcow2\",\"node-name\":\"disk0\",\"file\":\"disk0-file\",\"read-only\":false,"
      "\"discard\":\"unmap\"}\n"
      "-device\nvirtio-blk-pci,drive=disk0,id=disk0-dev\n"
      "-blockdev\n"
      "{\"driver\":\"file\",\"node-name\":\"disk1-file\",\"filename\":\"/r/volumes/a.img\","
      "\"read-only\":false,\"discard\":\"unmap\"}\n"
      "-blockdev\n"
      "{\"driver\":\"raw\",\"node-name\":\"disk1\",\"file\":\"disk1-file\",\"read-only\":false,"
      "\"discard\":\"unmap\"}\n"
      "-device\nvirtio-blk-pci,drive=disk1,id=disk1-dev");
}

static void
test_convention_reuse (void **state)
{
  struct fixture *f = *state;
  convention (f, true);
  assert_int_equal (run (f), 0);
  assert_int_equal (f->plan.n_disk_ops, 0);
  assert_int_equal (f->plan.n_warnings, 0);
  assert_non_null (strstr (f->args, "\"driver\":\"qcow2\",\"node-name\":\"disk0\""));
}

static void
test_convention_empty_base_dir (void **state)
{
  struct fixture *f = *state;
  convention (f, false);
  f->host->images.n_base_images = 0;
  f->host->n_disks = 0;
  expect_error (f, 3, "no image in /r/base_image");
}

static void
test_convention_two_images (void **state)
{
  struct fixture *f = *state;
  convention (f, false);
  f->host->images.n_base_images = 2;
  f->host->n_disks = 0;
  snprintf (f->host->images.base_images[1], SV_PATH_MAX, "%s", "other.raw");
  expect_error (f, 3, "/r/base_image holds 2 images (debian.qcow2, other.raw)");
}

static void
test_backing_vanished (void **state)
{
  struct fixture *f = *state;
  convention (f, true)->backing_exists = false;
  expect_error (f, 3,
                "disk /r/image/sda.qcow2: its backing file /r/base_image/debian.qcow2 is missing");
}

static void
test_backing_replaced (void **state)
{
  struct fixture *f = *state;
  struct sv_disk_state *st = convention (f, true);
  st->backing_is_base = false;
  snprintf (st->backing, sizeof st->backing, "%s", "/r/base_image/old.qcow2");
  expect_error (f, 3,
                "disk /r/image/sda.qcow2 is an overlay on /r/base_image/old.qcow2, but the base "
                "image is now /r/base_image/debian.qcow2");
}

static void
test_base_changed_size (void **state)
{
  struct fixture *f = *state;
  convention (f, true)->base_fp.size = 400 * MiB;
  expect_error (f, 3,
                "its base image /r/base_image/debian.qcow2 changed since the overlay was "
                "created (size 300M -> 400M)");
}

static void
test_base_changed_content (void **state)
{
  struct fixture *f = *state;
  convention (f, true)->base_fp.sample = 1;
  expect_error (f, 3, "changed since the overlay was created (content)");
}

static void
test_base_touched_only (void **state)
{
  struct fixture *f = *state;
  convention (f, true)->base_fp.mtime = 1800000000;
  assert_int_equal (run (f), 0);
  assert_int_equal (f->plan.n_warnings, 1);
  assert_non_null (strstr (f->plan.warnings[0], "was modified (mtime)"));
}

static void
test_overlay_without_backing_warns (void **state)
{
  struct fixture *f = *state;
  struct sv_disk_state *st = convention (f, true);
  st->backing[0] = '\0';
  assert_int_equal (run (f), 0);
  assert_int_equal (f->plan.n_warnings, 1);
  assert_non_null (strstr (f->plan.warnings[0], "has no backing file"));
}

static void
test_create_empty_by_extension (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/v/data.img";
  f->disks[0].size = 20 * GiB;
  f->disks[1].file = "/v/b.qcow2";
  f->disks[1].size = 1536 * MiB;
  f->disks[2].file = "/v/c.bin";
  f->disks[2].size = GiB;
  f->disks[2].format = "vdi";
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 3;
  disk (f, 0, "/v/data.img", false, NULL, 0);
  disk (f, 1, "/v/b.qcow2", false, NULL, 0);
  disk (f, 2, "/v/c.bin", false, NULL, 0);
  assert_int_equal (run (f), 0);
  assert_int_equal (f->plan.n_disk_ops, 3);
  const char *want[] = {
    "qemu-img\ncreate\n-f\nraw\n/v/data.img\n21474836480",
    "qemu-img\ncreate\n-f\nqcow2\n/v/b.qcow2\n1610612736",
    "qemu-img\ncreate\n-f\nvdi\n/v/c.bin\n1073741824",
  };
  for (size_t i = 0; i < 3; i++)
    {
      assert_int_equal (f->plan.disk_ops[i].kind, SV_DISK_CREATE_EMPTY);
      assert_null (f->plan.disk_ops[i].sidecar_path);
      char *a = join (f->plan.disk_ops[i].argv);
      assert_string_equal (a, want[i]);
      free (a);
    }
  assert_non_null (strstr (f->args, "{\"driver\":\"vdi\",\"node-name\":\"disk2\""));
}

static void
test_grow_never_shrink (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/v/data.img";
  f->disks[0].size = 2 * GiB;
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  disk (f, 0, "/v/data.img", true, "raw", GiB);
  assert_int_equal (run (f), 0);
  assert_int_equal (f->plan.n_disk_ops, 1);
  assert_int_equal (f->plan.disk_ops[0].kind, SV_DISK_GROW);
  char *a = join (f->plan.disk_ops[0].argv);
  assert_string_equal (a, "qemu-img\nresize\n-f\nraw\n/v/data.img\n2147483648");
  free (a);

  /* Same size: nothing to do. */
  sv_plan_disks_free (&f->plan);
  sv_strv_free (&f->argv);
  f->host->disks[0].virtual_size = 2 * GiB;
  assert_int_equal (run (f), 0);
  assert_int_equal (f->plan.n_disk_ops, 0);

  sv_plan_disks_free (&f->plan);
  sv_strv_free (&f->argv);
  f->host->disks[0].virtual_size = 3 * GiB;
  expect_error (f, 2,
                "disk /v/data.img: size 2G is smaller than the disk's current size 3G; disks "
                "grow, never shrink");
}

static void
test_directory (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/v/dir";
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  disk (f, 0, "/v/dir", true, NULL, 0)->is_dir = true;
  expect_error (f, 3, "disk /v/dir is a directory");
}

static void
test_missing_without_recipe (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/v/none.img";
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  disk (f, 0, "/v/none.img", false, NULL, 0);
  expect_error (f, 3, "disk /v/none.img does not exist (give it a size");
  sv_error_release (&f->err);
  f->disks[0].media = "cdrom";
  f->disks[0].size = GiB;
  expect_error (f, 3, "disk /v/none.img does not exist (a cdrom disk is never created)");
}

static void
test_overlay_from_config (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/v/os.qcow2";
  f->disks[0].base = "/b/base.raw";
  f->disks[0].size = 4 * GiB;
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  struct sv_disk_state *st = disk (f, 0, "/v/os.qcow2", false, NULL, 0);
  snprintf (st->base, sizeof st->base, "%s", "/b/base.raw");
  st->base_exists = true;
  snprintf (st->base_format, sizeof st->base_format, "%s", "raw");
  st->base_virtual_size = 3 * GiB;
  assert_int_equal (run (f), 0);
  char *a = join (f->plan.disk_ops[0].argv);
  assert_string_equal (
      a, "qemu-img\ncreate\n-f\nqcow2\n-F\nraw\n-b\n/b/base.raw\n/v/os.qcow2\n4294967296");
  free (a);

  sv_plan_disks_free (&f->plan);
  sv_strv_free (&f->argv);
  f->disks[0].size = 2 * GiB;
  expect_error (f, 2, "disk /v/os.qcow2: size 2G is smaller than its base image /b/base.raw (3G)");

  sv_error_release (&f->err);
  f->disks[0].size = 0;
  f->disks[0].format = "raw";
  expect_error (f, 2, "format raw cannot be an overlay");

  sv_error_release (&f->err);
  f->disks[0].format = "auto";
  st->base_exists = false;
  expect_error (f, 3, "disk /v/os.qcow2: its base image /b/base.raw does not exist");
}

static void
test_buses_q35 (void **state)
{
  struct fixture *f = *state;
  const char *buses[] = { "scsi", "sata", "ide", "virtio", "scsi" };
  const char *names[] = { "/d/a", "/d/b", "/d/c", "/d/iso", "/d/e" };
  for (size_t i = 0; i < 5; i++)
    {
      f->disks[i].file = (char *)names[i];
      f->disks[i].bus = (char *)buses[i];
      disk (f, i, names[i], true, "raw", GiB);
    }
  f->disks[3].media = "cdrom";
  f->disks[3].boot_index = 0;
  f->disks[1].cache = "none";
  f->disks[2].cache = "writethrough";
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 5;
  assert_int_equal (run (f), 0);
  /* One virtio-scsi controller, shared; q35's own AHCI ports for sata/ide;
   * a virtio cdrom is a scsi-cd. */
  const char *p = f->args;
  const char *want[] = {
    "-device\nvirtio-scsi-pci,id=scsi0\n",
    "-device\nscsi-hd,bus=scsi0.0,drive=disk0,id=disk0-dev\n",
    "\"read-only\":false,\"cache\":{\"direct\":true,\"no-flush\":false},\"discard\":\"unmap\"}",
    "-device\nide-hd,bus=ide.0,drive=disk1,id=disk1-dev,write-cache=on\n",
    "-device\nide-hd,bus=ide.1,drive=disk2,id=disk2-dev,write-cache=off\n",
    "\"node-name\":\"disk3\",\"file\":\"disk3-file\",\"read-only\":true}",
    "-device\nscsi-cd,bus=scsi0.0,drive=disk3,id=disk3-dev,bootindex=0\n",
    "-device\nscsi-hd,bus=scsi0.0,drive=disk4,id=disk4-dev",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      const char *q = strstr (p, want[i]);
      if (q == NULL)
        fail_msg ("missing (in order) '%s' in:\n%s", want[i], f->args);
      p = q + strlen (want[i]);
    }
  assert_null (strstr (strstr (f->args, "virtio-scsi-pci") + 1, "virtio-scsi-pci"));
}

static void
test_buses_pc (void **state)
{
  struct fixture *f = *state;
  f->cfg.machine = "pc-i440fx-7.2,usb=off";
  const char *buses[] = { "ide", "ide", "ide", "sata" };
  const char *names[] = { "/d/a", "/d/b", "/d/c", "/d/d" };
  for (size_t i = 0; i < 4; i++)
    {
      f->disks[i].file = (char *)names[i];
      f->disks[i].bus = (char *)buses[i];
      disk (f, i, names[i], true, "raw", GiB);
    }
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 4;
  assert_int_equal (run (f), 0);
  assert_non_null (strstr (f->args, "ide-hd,bus=ide.0,unit=0,drive=disk0"));
  assert_non_null (strstr (f->args, "ide-hd,bus=ide.0,unit=1,drive=disk1"));
  assert_non_null (strstr (f->args, "ide-hd,bus=ide.1,unit=0,drive=disk2"));
  assert_non_null (
      strstr (f->args, "-device\nahci,id=sata0\n-device\nide-hd,bus=sata0.0,drive=disk3"));
}

static void
test_too_many_ide (void **state)
{
  struct fixture *f = *state;
  static char names[7][8];
  for (size_t i = 0; i < 7; i++)
    {
      snprintf (names[i], sizeof names[i], "/d/%zu", i);
      f->disks[i].file = names[i];
      f->disks[i].bus = "sata";
      disk (f, i, names[i], true, "raw", GiB);
    }
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 7;
  expect_error (f, 2, "/d/6: too many sata/ide disks (this machine has 6 ports)");
}

static void
test_readonly_ide (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/d/ro";
  f->disks[0].bus = "sata";
  f->disks[0].readonly = true;
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  disk (f, 0, "/d/ro", true, "raw", GiB);
  expect_error (f, 2, "disk /d/ro: a sata disk cannot be read-only");
  sv_error_release (&f->err);
  /* A cdrom on the same bus is read-only by nature. */
  f->disks[0].media = "cdrom";
  assert_int_equal (run (f), 0);
  assert_non_null (strstr (f->args, "ide-cd,bus=ide.0,drive=disk0"));
}

static void
test_injection (void **state)
{
  struct fixture *f = *state;
  /* A path that would add sub-options to a comma-separated -drive, close
   * the JSON string, or run something if a shell ever saw it. */
  const char *evil = "/v/a,b,format=qcow2,file=/etc/shadow\",\"driver\":\"nbd $(reboot)\n'x'.img";
  f->disks[0].file = (char *)evil;
  f->disks[0].size = GiB;
  f->disks[1].file = "nbd:evil:1234";
  f->disks[1].size = GiB;
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 2;
  disk (f, 0, evil, false, NULL, 0);
  /* disk 1 unobserved on purpose: the plan still must not hand qemu-img
   * a protocol prefix. */
  f->host->disks[1] = (struct sv_disk_state){ 0 };
  assert_int_equal (run (f), 0);
  assert_string_equal (f->argv.v[1],
                       "{\"driver\":\"file\",\"node-name\":\"disk0-file\",\"filename\":\"/v/"
                       "a,b,format=qcow2,file=/etc/shadow\\\",\\\"driver\\\":\\\"nbd $(reboot)\\n'"
                       "x'.img\",\"read-only\":false,\"discard\":\"unmap\"}");
  assert_string_equal (f->plan.disk_ops[0].argv[4], evil);
  assert_string_equal (f->plan.disk_ops[1].argv[4], "./nbd:evil:1234");
}

static void
test_format_auto_unknown (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/v/x";
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  disk (f, 0, "/v/x", true, "", GiB);
  expect_error (f, 3, "disk /v/x: its format is unknown");
}

static void
test_explicit_format_wins (void **state)
{
  struct fixture *f = *state;
  /* A raw disk whose guest wrote a qcow2 header must stay raw. */
  f->disks[0].file = "/v/x.img";
  f->disks[0].format = "raw";
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  disk (f, 0, "/v/x.img", true, "qcow2", GiB);
  assert_int_equal (run (f), 0);
  assert_non_null (strstr (f->args, "{\"driver\":\"raw\",\"node-name\":\"disk0\""));
}

static void
test_cloud_init_seed (void **state)
{
  struct fixture *f = *state;
  f->cfg.cloud_init.user_data = "#cloud-config\nusers: []\n";
  snprintf (f->host->images.network_config, SV_SEED_MAX, "%s", "version: 2\n");
  f->host->images.has_network_config = true;
  assert_int_equal (run (f), 0);
  assert_string_equal (f->plan.seed_dir, "/ranchervm/0123abcd/cidata");
  assert_int_equal (f->plan.n_seed_files, 3);
  assert_string_equal (f->plan.seed_files[0].name, "meta-data");
  assert_string_equal (f->plan.seed_files[0].content,
                       "instance-id: \"iid-0123abcd\"\nlocal-hostname: \"vm1\"\n");
  assert_string_equal (f->plan.seed_files[1].name, "user-data");
  assert_string_equal (f->plan.seed_files[1].content, "#cloud-config\nusers: []\n");
  assert_string_equal (f->plan.seed_files[2].name, "network-config");
  assert_string_equal (f->plan.seed_files[2].content, "version: 2\n");
  assert_string_equal (f->args,
                       "-blockdev\n{\"driver\":\"vvfat\",\"node-name\":\"cidata\",\"dir\":\"/"
                       "ranchervm/0123abcd/cidata\",\"label\":\"cidata\",\"read-only\":true}\n"
                       "-device\nvirtio-blk-pci,drive=cidata,id=cidata-dev");
}

static void
test_cloud_init_seed_follows_sata (void **state)
{
  struct fixture *f = *state;
  f->disks[0].file = "/w/win.qcow2";
  f->disks[0].bus = "sata";
  f->cfg.disks = f->disks;
  f->cfg.n_disks = 1;
  disk (f, 0, "/w/win.qcow2", true, "qcow2", GiB);
  f->host->images.has_user_data = true;
  assert_int_equal (run (f), 0);
  assert_non_null (strstr (f->args, "ide-hd,bus=ide.1,drive=cidata,id=cidata-dev"));
}

static void
test_meta_data_merge (void **state)
{
  (void)state;
  char *m = sv_plan_cloud_init_meta_data ("local-hostname: mine\npublic-keys: |\n  ssh-ed25519 A",
                                          "abc", "ct");
  assert_string_equal (m, "local-hostname: mine\npublic-keys: |\n  ssh-ed25519 A\n"
                          "instance-id: \"iid-abc\"\n");
  free (m);
  m = sv_plan_cloud_init_meta_data ("\"instance-id\": x\n", "abc", "h\"o");
  assert_string_equal (m, "\"instance-id\": x\nlocal-hostname: \"h\\\"o\"\n");
  free (m);
  m = sv_plan_cloud_init_meta_data (" { }", "abc", "ct");
  assert_string_equal (m, " {\"instance-id\": \"iid-abc\", \"local-hostname\": \"ct\" }");
  free (m);
  m = sv_plan_cloud_init_meta_data ("{\"instance-id\": \"x\"}", "abc", "ct");
  assert_string_equal (m, "{\"local-hostname\": \"ct\", \"instance-id\": \"x\"}");
  free (m);
  m = sv_plan_cloud_init_meta_data (NULL, "", "");
  assert_string_equal (m, "instance-id: \"iid-startvm\"\n");
  free (m);
  /* Indented keys belong to something else: still add ours. */
  m = sv_plan_cloud_init_meta_data ("x:\n  instance-id: y\n", "i", "h");
  assert_non_null (strstr (m, "\ninstance-id: \"iid-i\"\n"));
  free (m);
}

static void
test_pure (void **state)
{
  struct fixture *f = *state;
  convention (f, false);
  f->cfg.cloud_init.meta_data = "a: b\n";
  assert_int_equal (run (f), 0);
  char *first = join (f->argv.v);
  char *op1 = join (f->plan.disk_ops[0].argv);
  sv_plan_disks_free (&f->plan);
  sv_strv_free (&f->argv);
  assert_int_equal (run (f), 0);
  assert_string_equal (first, f->args);
  char *op2 = join (f->plan.disk_ops[0].argv);
  assert_string_equal (op1, op2);
  free (first);
  free (op1);
  free (op2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown (name, setup, teardown)
    T (test_no_disks),
    T (test_convention_first_start),
    T (test_convention_reuse),
    T (test_convention_empty_base_dir),
    T (test_convention_two_images),
    T (test_backing_vanished),
    T (test_backing_replaced),
    T (test_base_changed_size),
    T (test_base_changed_content),
    T (test_base_touched_only),
    T (test_overlay_without_backing_warns),
    T (test_create_empty_by_extension),
    T (test_grow_never_shrink),
    T (test_directory),
    T (test_missing_without_recipe),
    T (test_overlay_from_config),
    T (test_buses_q35),
    T (test_buses_pc),
    T (test_too_many_ide),
    T (test_readonly_ide),
    T (test_injection),
    T (test_format_auto_unknown),
    T (test_explicit_format_wins),
    T (test_cloud_init_seed),
    T (test_cloud_init_seed_follows_sata),
    T (test_meta_data_merge),
    T (test_pure),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
