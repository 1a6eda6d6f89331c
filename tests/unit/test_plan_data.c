/* plan_data: firmware (OVMF pflash, the per-VM variable store) and the
 * TPM (swtpm), from hand-built configs and observations: the exact QEMU
 * arguments, the exact data_dir steps and every refusal (class and
 * message).  Also the config rules between fields (cfg_schema.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "cleanup.h"
#include "plan.h"
#include "test_plan_fixtures.h"
#include "util.h"

struct fixture
{
  struct sv_vm_config cfg;
  struct sv_host *host;
  struct sv_plan plan;
  sv_error_t err;
  char *args; /* qemu argv joined with '\n' */
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  f->host = calloc (1, sizeof *f->host);
  snprintf (f->host->container_id, sizeof f->host->container_id, "%s", "0123abcd");
  f->host->kvm_usable = true;
  f->cfg = fix_config ();
  f->cfg.network.interfaces = (char *[]){ NULL }; /* none */
  f->cfg.console.vnc = false;
  f->cfg.console.qmp = false;
  f->cfg.data_dir = (char *)"/image";
  /* What observe sees on a first start with ovmf and swtpm installed. */
  f->host->data.fw_code_exists = true;
  f->host->data.fw_vars_exists = true;
  f->host->data.swtpm_found = true;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  sv_plan_free (&f->plan);
  sv_error_release (&f->err);
  free (f->args);
  free (f->host);
  free (f);
  return 0;
}

static int
build (struct fixture *f)
{
  int r = sv_plan_build (&f->cfg, f->host, NULL, &f->plan, &f->err);
  if (r == 0)
    {
      struct sv_buf b = { 0 };
      for (size_t i = 0; i < f->plan.qemu_argc; i++)
        {
          sv_buf_add (&b, f->plan.qemu_argv[i]);
          sv_buf_addc (&b, '\n');
        }
      f->args = sv_buf_steal (&b);
    }
  return r;
}

static char *
op_text (const struct sv_data_op *op)
{
  struct sv_buf b = { 0 };
  sv_data_op_format (op, &b);
  return sv_buf_steal (&b);
}

static void
assert_op (const struct sv_plan *p, size_t i, const char *want)
{
  assert_true (i < p->n_data_ops);
  cleanup_free char *t = op_text (&p->data_ops[i]);
  assert_string_equal (t, want);
}

static void
test_bios_uses_nothing (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (build (f), 0);
  assert_int_equal (f->plan.firmware, SV_FIRMWARE_BIOS);
  assert_null (f->plan.data_dir);
  assert_int_equal (f->plan.n_data_ops, 0);
  assert_null (f->plan.swtpm_argv);
  assert_null (strstr (f->args, "pflash"));
  assert_null (strstr (f->args, "tpm"));
  assert_non_null (strstr (f->args, "-machine\ntype=q35\n"));
}

static void
test_uefi_first_start (void **state)
{
  struct fixture *f = *state;
  f->cfg.firmware = SV_FIRMWARE_UEFI;
  assert_int_equal (build (f), 0);
  assert_string_equal (f->plan.data_dir, "/image");
  assert_int_equal (f->plan.n_data_ops, 2);
  assert_op (&f->plan, 0, "mkdir (mode 0700) /image");
  assert_op (&f->plan, 1,
             "copy /usr/share/OVMF/OVMF_VARS_4M.fd to /image/efivars.fd (mode 0600, only while "
             "it does not exist)");
  assert_int_equal (f->plan.data_ops[1].kind, SV_DATA_COPY);
  assert_int_equal (f->plan.data_ops[1].mode, 0600);
  assert_non_null (strstr (f->args, "-machine\ntype=q35\n"));
  assert_non_null (strstr (f->args,
                           "-drive\nif=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/"
                           "OVMF_CODE_4M.fd\n-drive\nif=pflash,format=raw,unit=1,file=/image/"
                           "efivars.fd\n"));
  assert_null (strstr (f->args, "secure"));
  assert_null (strstr (f->args, "smm"));
}

/* A later start: the store is the VM's, never recopied. */
static void
test_uefi_store_kept (void **state)
{
  struct fixture *f = *state;
  f->cfg.firmware = SV_FIRMWARE_UEFI;
  f->host->data.dir_exists = true;
  f->host->data.efivars_exists = true;
  f->host->data.fw_vars_exists = false; /* not needed any more */
  assert_int_equal (build (f), 0);
  assert_int_equal (f->plan.n_data_ops, 0);
  assert_non_null (strstr (f->args, "unit=1,file=/image/efivars.fd\n"));
}

static void
test_uefi_secure (void **state)
{
  struct fixture *f = *state;
  f->cfg.firmware = SV_FIRMWARE_UEFI_SECURE;
  f->cfg.data_dir = (char *)"/data,x";
  f->host->data.dir_exists = true;
  assert_int_equal (build (f), 0);
  assert_int_equal (f->plan.n_data_ops, 1);
  assert_op (&f->plan, 0,
             "copy /usr/share/OVMF/OVMF_VARS_4M.ms.fd to /data,x/efivars.fd (mode 0600, only "
             "while it does not exist)");
  assert_non_null (strstr (f->args, "-machine\ntype=q35,smm=on\n"));
  assert_non_null (strstr (f->args,
                           "-global\ndriver=cfi.pflash01,property=secure,value=on\n"
                           "-drive\nif=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/"
                           "OVMF_CODE_4M.secboot.fd\n"
                           /* QEMU's comma escape: a data_dir cannot add a sub-option. */
                           "-drive\nif=pflash,format=raw,unit=1,file=/data,,x/efivars.fd\n"));
}

static void
test_missing_firmware (void **state)
{
  struct fixture *f = *state;
  f->cfg.firmware = SV_FIRMWARE_UEFI_SECURE;
  f->host->data.fw_code_exists = false;
  assert_int_equal (build (f), -1);
  assert_int_equal (sv_error_exit_code (f->err), 3);
  assert_string_equal (f->err->msg,
                       "firmware uefi-secure: /usr/share/OVMF/OVMF_CODE_4M.secboot.fd is missing: "
                       "install Debian's ovmf package");
  sv_error_release (&f->err);
  sv_plan_free (&f->plan);

  /* The template matters only while there is no store yet. */
  f->cfg.firmware = SV_FIRMWARE_UEFI;
  f->host->data.fw_code_exists = true;
  f->host->data.fw_vars_exists = false;
  assert_int_equal (build (f), -1);
  assert_int_equal (sv_error_exit_code (f->err), 3);
  assert_string_equal (f->err->msg, "firmware uefi: /usr/share/OVMF/OVMF_VARS_4M.fd is missing: "
                                    "install Debian's ovmf package");
}

static void
test_data_dir_unusable (void **state)
{
  struct fixture *f = *state;
  f->cfg.firmware = SV_FIRMWARE_UEFI;
  snprintf (f->host->data.error, sizeof f->host->data.error, "%s",
            "the UEFI variable store /image/efivars.fd is a symbolic link");
  assert_int_equal (build (f), -1);
  assert_int_equal (sv_error_exit_code (f->err), 3);
  assert_string_equal (f->err->msg,
                       "data_dir: the UEFI variable store /image/efivars.fd is a symbolic link");
}

static void
test_tpm_q35 (void **state)
{
  struct fixture *f = *state;
  f->cfg.tpm = true;
  f->host->data.dir_exists = true;
  assert_int_equal (build (f), 0);
  assert_int_equal (f->plan.n_data_ops, 1);
  assert_op (&f->plan, 0, "mkdir (mode 0700) /image/tpm");
  assert_string_equal (f->plan.swtpm_sock_path, "/ranchervm/0123abcd/swtpm.sock");
  /* It runs in its state directory: no path to it in its argv. */
  const char *want[] = {
    "swtpm",           "socket", "--tpm2",           "--tpmstate",
    "dir=.,mode=0600", "--ctrl", "type=unixio,fd=3", NULL,
  };
  for (size_t i = 0; want[i]; i++)
    {
      assert_non_null (f->plan.swtpm_argv[i]);
      assert_string_equal (f->plan.swtpm_argv[i], want[i]);
    }
  assert_null (f->plan.swtpm_argv[7]);
  assert_string_equal (f->plan.swtpm_cwd, "/image/tpm");
  assert_int_equal (f->plan.swtpm_uid, -1); /* not root here */
  assert_int_equal (f->plan.swtpm_gid, -1);
  assert_non_null (strstr (f->args,
                           "-chardev\nsocket,id=chrtpm,path=/ranchervm/0123abcd/swtpm.sock\n"
                           "-tpmdev\nemulator,id=tpm0,chardev=chrtpm\n"
                           "-device\ntpm-crb,tpmdev=tpm0\n"));
  assert_null (strstr (f->args, "pflash"));
}

static void
test_tpm_pc_and_kept (void **state)
{
  struct fixture *f = *state;
  f->cfg.tpm = true;
  f->cfg.machine = (char *)"pc";
  f->host->data.dir_exists = true;
  f->host->data.tpm_dir_exists = true;
  assert_int_equal (build (f), 0);
  assert_int_equal (f->plan.n_data_ops, 0);
  assert_non_null (strstr (f->args, "-device\ntpm-tis,tpmdev=tpm0\n"));
  assert_null (strstr (f->args, "tpm-crb"));
}

/* Root with CAP_SETUID/SETGID/CHOWN: swtpm gets its own uid, and its
 * state is handed to it at each start. */
static void
test_tpm_own_uid (void **state)
{
  struct fixture *f = *state;
  f->cfg.tpm = true;
  f->host->data.dir_exists = true;
  f->host->data.tpm_dir_exists = true;
  f->host->data.can_switch_uid = true;
  assert_int_equal (build (f), 0);
  assert_int_equal (f->plan.n_data_ops, 1);
  assert_op (&f->plan, 0, "chown 64999:64999 /image/tpm and the files in it");
  assert_int_equal (f->plan.data_ops[0].kind, SV_DATA_CHOWN);
  assert_int_equal (f->plan.swtpm_uid, SV_SWTPM_UID);
  assert_int_equal (f->plan.swtpm_gid, SV_SWTPM_GID);
}

static void
test_tpm_refusals (void **state)
{
  struct fixture *f = *state;
  f->cfg.tpm = true;
  f->host->data.swtpm_found = false;
  assert_int_equal (build (f), -1);
  assert_int_equal (sv_error_exit_code (f->err), 3);
  assert_string_equal (f->err->msg,
                       "tpm: swtpm (not found in PATH) is missing: install Debian's swtpm package");
  sv_error_release (&f->err);
  sv_plan_free (&f->plan);

  /* swtpm is given no path, so a ',' in data_dir cannot reach its
   * option parser. */
  f->host->data.swtpm_found = true;
  f->cfg.data_dir = (char *)"/a,b";
  assert_int_equal (build (f), 0);
  assert_string_equal (f->plan.swtpm_cwd, "/a,b/tpm");
}

/* Config rules between fields, with the message --check prints. */
static int
validate_yaml (const char *yaml, sv_error_t *err)
{
  struct sv_cfg_doc doc = { 0 };
  struct sv_vm_config c = { 0 };
  int r = sv_cfg_load_buffer ("vm.yaml", yaml, strlen (yaml), &doc, err);
  if (r == 0)
    r = sv_cfg_validate (&doc, &c, err);
  sv_vm_config_free (&c);
  sv_cfg_doc_free (&doc);
  return r;
}

static void
test_config_rules (void **state)
{
  (void)state;
  sv_error_t err = NULL;
  assert_int_equal (validate_yaml ("firmware: uefi-secure\nboot:\n  kernel: /k\n", &err), -1);
  assert_int_equal (sv_error_exit_code (err), 2);
  assert_string_equal (
      err->msg, "vm.yaml:1:11: firmware: uefi-secure cannot boot boot.kernel: QEMU hands the "
                "kernel to OVMF's own loader, which starts it without checking its signature "
                "while the guest reports Secure Boot on; boot a signed bootloader from a disk, "
                "or use firmware: uefi");
  sv_error_release (&err);

  assert_int_equal (validate_yaml ("machine: pc\nfirmware: uefi-secure\n", &err), -1);
  assert_string_equal (err->msg, "vm.yaml:2:11: firmware: uefi-secure needs machine q35: OVMF's "
                                 "Secure Boot build needs SMM, which it only supports on q35 "
                                 "(machine is pc)");
  sv_error_release (&err);

  assert_int_equal (validate_yaml ("tpm: true\nshutdown:\n  mode: exec\n", &err), -1);
  assert_string_equal (err->msg, "vm.yaml:1:6: tpm: the TPM needs shutdown.mode acpi: with exec, "
                                 "QEMU replaces startvm and nobody supervises swtpm or stops it "
                                 "after QEMU");
  sv_error_release (&err);

  /* What stays allowed. */
  assert_int_equal (
      validate_yaml ("firmware: uefi\nboot:\n  kernel: /k\nmachine: pc\ntpm: true\n", &err), 0);
  assert_int_equal (validate_yaml ("firmware: uefi-secure\nmachine: pc-q35-7.2\n", &err), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_bios_uses_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown (test_uefi_first_start, setup, teardown),
    cmocka_unit_test_setup_teardown (test_uefi_store_kept, setup, teardown),
    cmocka_unit_test_setup_teardown (test_uefi_secure, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missing_firmware, setup, teardown),
    cmocka_unit_test_setup_teardown (test_data_dir_unusable, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tpm_q35, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tpm_pc_and_kept, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tpm_own_uid, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tpm_refusals, setup, teardown),
    cmocka_unit_test (test_config_rules),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
