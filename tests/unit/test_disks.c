/* disks.c against real files and the real qemu-img: observe the RancherVM
 * convention in a temporary root, apply the plan (overlay + sidecar,
 * empty disk, grow, seed), observe again, and check that nothing existing
 * is ever overwritten. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apply_disks.h"
#include "disks.h"
#include "plan_internal.h"
#include "util.h"

struct fixture
{
  char root[256];
  struct sv_vm_config cfg;
  struct sv_host *host;
  struct sv_plan plan;
  struct sv_strv argv;
  sv_error_t err;
};

static int sh (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Test setup only: builds fixtures with coreutils and qemu-img. */
static int
sh (const char *fmt, ...)
{
  va_list ap;
  char *cmd = NULL;
  va_start (ap, fmt);
  if (vasprintf (&cmd, fmt, ap) < 0)
    abort ();
  va_end (ap);
  int rc = system (cmd);
  free (cmd);
  return rc;
}

static int
setup_group (void **state)
{
  (void)state;
  if (system ("qemu-img --version >/dev/null 2>&1") != 0)
    {
      if (getenv ("CI") && strcmp (getenv ("CI"), "true") == 0)
        {
          fprintf (stderr, "qemu-img missing\n");
          return -1;
        }
      exit (77);
    }
  return 0;
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  snprintf (f->root, sizeof f->root, "/tmp/sv-test-disks.XXXXXX");
  assert_non_null (mkdtemp (f->root));
  setenv ("RANCHERVM_ROOT", f->root, 1);
  f->host = calloc (1, sizeof *f->host);
  snprintf (f->host->container_id, sizeof f->host->container_id, "%s", "c0ffee");
  snprintf (f->host->net.hostname, sizeof f->host->net.hostname, "%s", "vmhost");
  f->cfg.state_dir = f->root;
  *state = f;
  return 0;
}

static void
reset_plan (struct fixture *f)
{
  sv_plan_disks_free (&f->plan);
  sv_strv_free_raw (f->plan.warnings);
  f->plan = (struct sv_plan){ 0 };
  sv_strv_free (&f->argv);
  sv_error_release (&f->err);
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  reset_plan (f);
  if (!getenv ("SV_KEEP"))
    sh ("rm -rf '%s'", f->root);
  unsetenv ("RANCHERVM_ROOT");
  free (f->host);
  free (f);
  return 0;
}

static int
observe (struct fixture *f)
{
  memset (&f->host->images, 0, sizeof f->host->images);
  f->host->n_disks = 0;
  return sv_disks_observe (&f->cfg, f->host, &f->err);
}

static int
plan_and_apply (struct fixture *f)
{
  reset_plan (f);
  if (sv_plan_disks (&f->cfg, f->host, &f->argv, &f->plan, &f->err) < 0)
    return -1;
  return sv_disks_apply (&f->plan, &f->err);
}

static ino_t
inode (const char *path)
{
  struct stat s;
  return stat (path, &s) == 0 ? s.st_ino : 0;
}

static void
assert_err (struct fixture *f, int exit_class, const char *needle)
{
  assert_non_null (f->err);
  if (f->err->exit_class != exit_class || strstr (f->err->msg, needle) == NULL)
    fail_msg ("got class %d '%s', wanted class %d with '%s'", f->err->exit_class, f->err->msg,
              exit_class, needle);
}

static void
test_no_base_dir (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (observe (f), 0);
  assert_false (f->host->images.base_dir_exists);
  assert_int_equal (f->host->n_disks, 0);
}

static void
test_convention_lifecycle (void **state)
{
  struct fixture *f = *state;
  char overlay[512], sidecar[600];
  assert_int_equal (sh ("cd '%s' && mkdir base_image volumes && "
                        "qemu-img create -q -f qcow2 base_image/deb.qcow2 64M && "
                        "qemu-img create -q -f raw volumes/b.img 2M && "
                        "qemu-img create -q -f qcow2 volumes/a.img 1M && "
                        "touch volumes/ignored.raw volumes/.hidden.img",
                        f->root),
                    0);
  assert_int_equal (observe (f), 0);
  struct sv_host *h = f->host;
  assert_true (h->images.base_dir_exists);
  assert_int_equal (h->images.n_base_images, 1);
  assert_int_equal (h->images.n_volumes, 2);
  assert_int_equal (h->n_disks, 3);
  snprintf (overlay, sizeof overlay, "%s/image/sda.qcow2", f->root);
  snprintf (sidecar, sizeof sidecar, "%s.startvm-base", overlay);
  assert_string_equal (h->disks[0].file, overlay);
  assert_false (h->disks[0].exists);
  assert_true (h->disks[0].base_exists);
  assert_string_equal (h->disks[0].base_format, "qcow2");
  assert_int_equal (h->disks[0].base_virtual_size, 64 << 20);
  assert_true (h->disks[0].base_fp.valid);
  /* Volumes sorted, formats detected. */
  assert_non_null (strstr (h->disks[1].file, "/volumes/a.img"));
  assert_string_equal (h->disks[1].format, "qcow2");
  assert_non_null (strstr (h->disks[2].file, "/volumes/b.img"));
  assert_string_equal (h->disks[2].format, "raw");
  assert_int_equal (h->disks[2].virtual_size, 2 << 20);

  /* First start: the overlay and its sidecar appear. */
  assert_int_equal (plan_and_apply (f), 0);
  assert_int_equal (access (overlay, F_OK), 0);
  assert_int_equal (access (sidecar, F_OK), 0);
  ino_t ino = inode (overlay);

  /* Second start: reused untouched, the recorded base matches. */
  assert_int_equal (observe (f), 0);
  assert_true (h->disks[0].exists);
  assert_string_equal (h->disks[0].format, "qcow2");
  assert_true (h->disks[0].backing_exists);
  assert_true (h->disks[0].backing_is_base);
  assert_true (h->disks[0].recorded.valid);
  assert_int_equal (h->disks[0].recorded.sample, h->disks[0].base_fp.sample);
  assert_int_equal (h->disks[0].recorded.size, h->disks[0].base_fp.size);
  assert_int_equal (plan_and_apply (f), 0);
  assert_int_equal (f->plan.n_disk_ops, 0);
  assert_int_equal (inode (overlay), ino);

  /* The base replaced by a bigger image under the same name: refused. */
  assert_int_equal (sh ("cd '%s' && rm base_image/deb.qcow2 && "
                        "qemu-img create -q -f qcow2 base_image/deb.qcow2 128M",
                        f->root),
                    0);
  assert_int_equal (observe (f), 0);
  assert_int_equal (plan_and_apply (f), -1);
  assert_err (f, 3, "changed since the overlay was created");

  /* The base gone, another one in its place: the backing file is missing. */
  reset_plan (f);
  assert_int_equal (sh ("cd '%s' && mv base_image/deb.qcow2 base_image/other.qcow2", f->root), 0);
  assert_int_equal (observe (f), 0);
  assert_false (h->disks[0].backing_exists);
  assert_int_equal (plan_and_apply (f), -1);
  assert_err (f, 3, "deb.qcow2 is missing");
  assert_int_equal (inode (overlay), ino);
}

static void
test_base_dir_problems (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (sh ("mkdir '%s/base_image'", f->root), 0);
  assert_int_equal (observe (f), 0);
  assert_int_equal (plan_and_apply (f), -1);
  assert_err (f, 3, "no image in");

  /* Corrupt: qcow2 magic, nonsense header. */
  reset_plan (f);
  assert_int_equal (
      sh ("printf 'QFI\\373\\0\\0\\0\\3garbage' > '%s/base_image/bad.qcow2'", f->root), 0);
  assert_int_equal (observe (f), -1);
  assert_err (f, 3, "bad.qcow2 is not a usable image");
  char overlay[512];
  snprintf (overlay, sizeof overlay, "%s/image/sda.qcow2", f->root);
  assert_int_not_equal (access (overlay, F_OK), 0);

  reset_plan (f);
  assert_int_equal (sh ("touch '%s/base_image/a.raw'", f->root), 0);
  assert_int_equal (observe (f), 0);
  assert_int_equal (plan_and_apply (f), -1);
  assert_err (f, 3, "holds 2 images (a.raw, bad.qcow2)");
}

static void
test_configured_disks (void **state)
{
  struct fixture *f = *state;
  struct sv_disk_config d[3] = {
    { .file = "new.img", .size = 3 << 20, .format = "auto", .bus = "virtio", .boot_index = -1 },
    { .file = "grow.qcow2", .size = 8 << 20, .format = "auto", .bus = "virtio", .boot_index = -1 },
    { .file = "dir", .format = "auto", .bus = "virtio", .boot_index = -1 },
  };
  f->cfg.disks = d;
  f->cfg.n_disks = 2;
  char cwd[512];
  assert_non_null (getcwd (cwd, sizeof cwd));
  assert_int_equal (chdir (f->root), 0);
  assert_int_equal (sh ("qemu-img create -q -f qcow2 grow.qcow2 4M && mkdir dir"), 0);
  assert_int_equal (observe (f), 0);
  /* Relative paths are made absolute at observe. */
  assert_int_equal (f->host->disks[0].file[0], '/');
  assert_int_equal (plan_and_apply (f), 0);
  assert_int_equal (f->plan.n_disk_ops, 2);
  assert_int_equal (observe (f), 0);
  assert_true (f->host->disks[0].exists);
  assert_string_equal (f->host->disks[0].format, "raw");
  assert_int_equal (f->host->disks[0].virtual_size, 3 << 20);
  assert_int_equal (f->host->disks[1].virtual_size, 8 << 20);

  /* Shrinking is refused and the disk keeps its size. */
  d[1].size = 4 << 20;
  assert_int_equal (observe (f), 0);
  assert_int_equal (plan_and_apply (f), -1);
  assert_err (f, 2, "size 4M is smaller than the disk's current size 8M");

  reset_plan (f);
  f->cfg.n_disks = 3;
  d[1].size = 0;
  assert_int_equal (observe (f), 0);
  assert_true (f->host->disks[2].is_dir);
  assert_int_equal (plan_and_apply (f), -1);
  assert_err (f, 3, "is a directory");
  assert_int_equal (chdir (cwd), 0);
  f->cfg.disks = NULL;
  f->cfg.n_disks = 0;
}

static void
test_apply_never_overwrites (void **state)
{
  struct fixture *f = *state;
  struct sv_disk_config d
      = { .file = NULL, .size = 1 << 20, .format = "raw", .bus = "virtio", .boot_index = -1 };
  char path[512];
  snprintf (path, sizeof path, "%s/late.img", f->root);
  d.file = path;
  f->cfg.disks = &d;
  f->cfg.n_disks = 1;
  assert_int_equal (observe (f), 0);
  reset_plan (f);
  assert_int_equal (sv_plan_disks (&f->cfg, f->host, &f->argv, &f->plan, &f->err), 0);
  /* The file appears between observe and apply. */
  assert_int_equal (sh ("echo precious > '%s'", path), 0);
  assert_int_equal (sv_disks_apply (&f->plan, &f->err), -1);
  assert_err (f, 3, "not overwriting it");
  assert_int_equal (sh ("grep -qx precious '%s'", path), 0);
  f->cfg.disks = NULL;
  f->cfg.n_disks = 0;
}

static void
test_locked_by_qemu (void **state)
{
  struct fixture *f = *state;
  char path[512];
  snprintf (path, sizeof path, "%s/held.img", f->root);
  assert_int_equal (sh ("qemu-img create -q -f raw '%s' 1M", path), 0);
  struct sv_disk_config d = { .file = path, .format = "auto", .bus = "virtio", .boot_index = -1 };
  f->cfg.disks = &d;
  f->cfg.n_disks = 1;
  /* What a running QEMU holds on a disk it writes: a shared OFD lock on
   * byte 101 (write permission).  OFD locks of another open file
   * description conflict even within one process. */
  int fd = open (path, O_RDWR | O_CLOEXEC);
  assert_true (fd >= 0);
  struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 101, .l_len = 1 };
  assert_int_equal (fcntl (fd, F_OFD_SETLK, &fl), 0);
  assert_int_equal (observe (f), -1);
  assert_err (f, 3, "held.img is in use by another QEMU");
  /* Read-only use does not conflict with a writer that shares reads. */
  reset_plan (f);
  d.readonly = true;
  assert_int_equal (observe (f), 0);
  close (fd);
  d.readonly = false;
  assert_int_equal (observe (f), 0);
  f->cfg.disks = NULL;
  f->cfg.n_disks = 0;
}

static void
test_cloud_init_dir_and_seed (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (
      sh ("mkdir -p '%s/etc/ranchervm/cloud-init' && cd '%s/etc/ranchervm/cloud-init' "
          "&& printf '#cloud-config\\n' > user-data && printf 'version: 2\\n' > "
          "network-config",
          f->root, f->root),
      0);
  assert_int_equal (observe (f), 0);
  assert_true (f->host->images.has_user_data);
  assert_false (f->host->images.has_meta_data);
  assert_true (f->host->images.has_network_config);
  /* A stale file from an earlier start must go. */
  assert_int_equal (
      sh ("mkdir -p '%s/c0ffee/cidata' && touch '%s/c0ffee/cidata/vendor-data'", f->root, f->root),
      0);
  assert_int_equal (plan_and_apply (f), 0);
  assert_int_equal (sh ("cd '%s/c0ffee/cidata' && [ \"$(ls)\" = \"$(printf "
                        "'meta-data\\nnetwork-config\\nuser-data')\" ] && grep -qx "
                        "'instance-id: \"iid-c0ffee\"' meta-data && grep -qx 'local-hostname: "
                        "\"vmhost\"' meta-data && [ \"$(stat -c %%a .)\" = 700 ]",
                        f->root),
                    0);
}

static void
test_seed_too_big (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (sh ("mkdir -p '%s/etc/ranchervm/cloud-init' && head -c 70000 /dev/zero | tr "
                        "'\\0' x > '%s/etc/ranchervm/cloud-init/user-data'",
                        f->root, f->root),
                    0);
  assert_int_equal (observe (f), -1);
  assert_err (f, 3, "user-data is larger than 64 KiB");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown (name, setup, teardown)
    T (test_no_base_dir),             //
    T (test_convention_lifecycle),    //
    T (test_base_dir_problems),       //
    T (test_configured_disks),        //
    T (test_apply_never_overwrites),  //
    T (test_locked_by_qemu),          //
    T (test_cloud_init_dir_and_seed), //
    T (test_seed_too_big),            //
#undef T
  };
  return cmocka_run_group_tests (tests, setup_group, NULL);
}
