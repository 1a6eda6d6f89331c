/* Golden files for the --dry-run output (tests/golden/<case>.txt and
 * .json), built from hand-made configs and hosts, so a change to either
 * format is a visible diff in review.  Regenerate on purpose with
 *   SV_UPDATE_GOLDEN=1 ctest -R test_plan_golden
 * (or run the test binary with it set); otherwise a mismatch fails with a
 * diff and leaves the actual output in <build>/golden-actual/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plan.h"
#include "test_plan6_fixtures.h"
#include "test_plan_fixtures.h"

static char *
read_file (const char *path)
{
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return NULL;
  struct sv_buf b = { 0 };
  char chunk[4096];
  size_t n;
  while ((n = fread (chunk, 1, sizeof chunk, f)) > 0)
    sv_buf_addn (&b, chunk, n);
  fclose (f);
  return sv_buf_steal (&b);
}

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "we");
  if (f == NULL)
    fail_msg ("cannot write %s: %s", path, strerror (errno));
  fputs (text, f);
  if (fclose (f) != 0)
    fail_msg ("cannot write %s: %s", path, strerror (errno));
}

static void
compare_golden (const char *name, const char *ext, const char *actual)
{
  char golden[4096], out[4096];
  snprintf (golden, sizeof golden, "%s/tests/golden/%s.%s", SV_SOURCE_DIR, name, ext);
  const char *update = getenv ("SV_UPDATE_GOLDEN");
  if (update && strcmp (update, "1") == 0)
    {
      write_file (golden, actual);
      printf ("updated %s\n", golden);
      return;
    }
  char *want = read_file (golden);
  if (want && strcmp (want, actual) == 0)
    {
      free (want);
      return;
    }
  snprintf (out, sizeof out, "%s/golden-actual", SV_BINARY_DIR);
  mkdir (out, 0755);
  snprintf (out, sizeof out, "%s/golden-actual/%s.%s", SV_BINARY_DIR, name, ext);
  write_file (out, actual);
  if (want == NULL)
    fail_msg ("missing golden file %s (actual output in %s; regenerate with "
              "SV_UPDATE_GOLDEN=1)",
              golden, out);
  free (want);
  char cmd[9000];
  snprintf (cmd, sizeof cmd, "diff -u '%s' '%s'", golden, out);
  fflush (stdout);
  if (system (cmd) < 0)
    perror ("system");
  fail_msg ("%s differs from the golden file %s (diff above; if the change is intended, "
            "regenerate with SV_UPDATE_GOLDEN=1)",
            out, golden);
}

static void
check_case (const char *name, const struct sv_vm_config *cfg, const struct sv_host *host,
            char *const *extra)
{
  struct sv_plan p;
  sv_error_t err = NULL;
  if (sv_plan_build (cfg, host, extra, &p, &err) < 0)
    fail_msg ("%s: sv_plan_build: %s", name, err->msg);
  char *text = sv_plan_format_text (&p, host);
  char *json = sv_plan_format_json (&p, host);
  compare_golden (name, "txt", text);
  compare_golden (name, "json", json);
  free (text);
  free (json);
  sv_plan_free (&p);
}

static void
test_docker16_kvm (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.boot.kernel = (char *)"/vm/vmlinuz";
  cfg.boot.initrd = (char *)"/vm/initrd.img";
  cfg.boot.append = (char *)"console=ttyS0";
  struct sv_host host;
  fix_host_docker (&host, true);
  char *cmd[] = { (char *)"-cdrom", (char *)"/iso/install.iso", NULL };
  check_case ("docker16_kvm", &cfg, &host, cmd);
}

static void
test_net24_nokvm (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.name = (char *)"web";
  cfg.memory_mib = 1024;
  cfg.cpus = 2;
  struct sv_host host;
  fix_host_net24 (&host);
  check_case ("net24_nokvm", &cfg, &host, NULL);
}

static void
test_calico32 (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_calico (&host);
  check_case ("calico32", &cfg, &host, NULL);
}

static void
test_two_ifaces (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_two (&host);
  check_case ("two_ifaces", &cfg, &host, NULL);
}

static void
test_mtu1400_dns (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_mtu (&host);
  check_case ("mtu1400_dns", &cfg, &host, NULL);
}

static void
test_no_dhcp (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.network.dhcp = false;
  struct sv_host host;
  fix_host_docker (&host, true);
  check_case ("no_dhcp", &cfg, &host, NULL);
}

static void
test_no_network (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.accel = SV_ACCEL_TCG;
  cfg.console.vnc = false;
  cfg.console.qmp = false;
  cfg.console.serial = SV_SERIAL_NONE;
  struct sv_host host;
  fix_host_base (&host, false);
  check_case ("no_network", &cfg, &host, NULL);
}

static void
test_injection (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.name = (char *)"evil,name=x $(reboot) 'q\"\nline2";
  cfg.machine = (char *)"q35,accel=kvm";
  cfg.state_dir = (char *)"/run/a,b=c d";
  cfg.network.model = (char *)"e1000,romfile=/etc/passwd";
  cfg.boot.kernel = (char *)"/boot/vm linuz,1";
  cfg.boot.append = (char *)"init=/bin/sh -c 'echo $(id)'; rm -rf / `x`\nsecond,line \\ \x01";
  char *extra_cfg[] = { (char *)"-device", (char *)"virtio-rng-pci,id=rng0", NULL };
  cfg.qemu.extra_args = extra_cfg;
  cfg.qemu.n_extra_args = 2;
  char *cmd[] = { (char *)"-cdrom", (char *)"/x y,z.iso", (char *)"$(touch /tmp/pwned)",
                  (char *)"caf\xc3\xa9 \xff", NULL };
  struct sv_host host;
  fix_host_docker (&host, false);
  snprintf (host.net.hostname, sizeof host.net.hostname, "bad,host\ndhcp-range=x\x1b[2J");
  host.net.n_search = 2;
  snprintf (host.net.search[0], 256, "ok.example");
  snprintf (host.net.search[1], 256, "evil,dhcp-range=1.2.3.4");
  check_case ("injection", &cfg, &host, cmd);
}

static void
test_dual_stack (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_dual (&host, true);
  check_case ("dual_stack", &cfg, &host, NULL);
}

static void
test_ipv6_only (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_v6only (&host);
  check_case ("ipv6_only", &cfg, &host, NULL);
}

static void
test_mixed_families (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_mixed (&host);
  check_case ("mixed_families", &cfg, &host, NULL);
}

static void
test_dual_no_dhcp (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.network.dhcp = false;
  struct sv_host host;
  fix_host_dual (&host, true);
  check_case ("dual_no_dhcp", &cfg, &host, NULL);
}

/* firmware uefi and tpm on a first start: data_dir made, the variable
 * store copied, the TPM state directory made; a data_dir with a
 * space (the shell's quoting). */
static void
test_uefi_tpm_first (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.firmware = SV_FIRMWARE_UEFI;
  cfg.tpm = true;
  cfg.data_dir = (char *)"/vm data";
  struct sv_host host;
  fix_host_docker (&host, true);
  host.data.fw_code_exists = true;
  host.data.fw_vars_exists = true;
  host.data.swtpm_found = true;
  host.data.can_switch_uid = true;
  check_case ("uefi_tpm_first", &cfg, &host, NULL);
}

/* uefi-secure on a later start: the store is kept, nothing to copy; a
 * data_dir with ',' (QEMU's comma escape). */
static void
test_uefi_secure_kept (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.firmware = SV_FIRMWARE_UEFI_SECURE;
  cfg.accel = SV_ACCEL_TCG;
  cfg.data_dir = (char *)"/data,file=/etc/shadow";
  struct sv_host host;
  fix_host_base (&host, false);
  host.data.dir_exists = true;
  host.data.efivars_exists = true;
  host.data.fw_code_exists = true;
  check_case ("uefi_secure_kept", &cfg, &host, NULL);
}

/* Shares: a read-write one (virtiofsd, the memfd memory, vhost-user-fs)
 * with a space in its path, and a read-only one (9p, readonly=on) with a
 * ',' (QEMU's comma escape). */
static void
test_shares (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_share_config shares[] = {
    { .source = (char *)"/srv/my data", .tag = (char *)"data", .readonly = false },
    { .source = (char *)"/docs,file=/etc/shadow", .tag = (char *)"docs", .readonly = true },
  };
  cfg.shares = shares;
  cfg.n_shares = 2;
  cfg.memory_mib = 1024;
  struct sv_host host;
  fix_host_docker (&host, true);
  host.shares.virtiofsd_found = true;
  check_case ("shares", &cfg, &host, NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_docker16_kvm),   cmocka_unit_test (test_net24_nokvm),
    cmocka_unit_test (test_calico32),       cmocka_unit_test (test_two_ifaces),
    cmocka_unit_test (test_mtu1400_dns),    cmocka_unit_test (test_no_dhcp),
    cmocka_unit_test (test_no_network),     cmocka_unit_test (test_injection),
    cmocka_unit_test (test_dual_stack),     cmocka_unit_test (test_ipv6_only),
    cmocka_unit_test (test_mixed_families), cmocka_unit_test (test_dual_no_dhcp),
    cmocka_unit_test (test_uefi_tpm_first), cmocka_unit_test (test_uefi_secure_kept),
    cmocka_unit_test (test_shares),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
