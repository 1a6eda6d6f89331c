/* plan: vm_config + observed host -> the QEMU argv, the network steps and
 * the dnsmasq.conf (docs/development.md "The pipeline").  Pure: no I/O, no getenv,
 * no clock, no randomness.  Same inputs give a byte-identical plan, and
 * --dry-run prints exactly this.  The network half is in plan_net.c, disks
 * in plan_disks.c. */
#include "plan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cleanup.h"
#include "plan_internal.h"

/* QEMU parses "key=value,key=value" option strings and reads ",," as a
 * literal comma.  Every user value embedded in such a string goes through
 * this, so no name or path can add a sub-option (",script=...").  Values
 * that are whole argv elements (-kernel, -append) need nothing. */
char *
sv_qemu_opt_escape (const char *s)
{
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "");
  for (const char *p = s; *p; p++)
    {
      if (*p == ',')
        sv_buf_addc (&b, ',');
      sv_buf_addc (&b, *p);
    }
  return sv_buf_steal (&b);
}

void
sv_plan_add_warning (struct sv_plan *p, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = sv_xvasprintf (fmt, ap);
  va_end (ap);
  p->warnings = sv_xrealloc (p->warnings, (p->n_warnings + 2) * sizeof (char *));
  p->warnings[p->n_warnings++] = s;
  p->warnings[p->n_warnings] = NULL;
}

/* A unix socket path must fit sockaddr_un.sun_path with its NUL; QEMU
 * would fail much later, and less clearly. */
static int
check_socket_path (const char *path, const char *what, sv_error_t *err)
{
  size_t max = sizeof (((struct sockaddr_un *)NULL)->sun_path) - 1;
  if (strlen (path) > max)
    return sv_error_config (err,
                            "state_dir: the %s socket path %s is %zu bytes, more than the %zu a "
                            "unix socket allows; choose a shorter state_dir",
                            what, path, strlen (path), max);
  return 0;
}

static char *
join_path (const char *dir, const char *name)
{
  struct sv_buf b = { 0 };
  size_t n = strlen (dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  sv_buf_addn (&b, dir, n);
  if (!(n == 1 && dir[0] == '/'))
    sv_buf_addc (&b, '/');
  sv_buf_add (&b, name);
  return sv_buf_steal (&b);
}

static int
resolve_accel (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_plan *p,
               sv_error_t *err)
{
  const char *reason = host->kvm_reason[0] ? host->kvm_reason : "no reason given";
  switch (cfg->accel)
    {
    case SV_ACCEL_KVM:
      if (!host->kvm_usable)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "accel: kvm was requested but KVM is not usable here: %s (use "
                              "accel: auto or ACCEL=tcg to run with software emulation)",
                              reason);
      p->accel = SV_ACCEL_KVM;
      return 0;
    case SV_ACCEL_TCG:
      p->accel = SV_ACCEL_TCG;
      return 0;
    case SV_ACCEL_AUTO:
    default:
      if (host->kvm_usable)
        {
          p->accel = SV_ACCEL_KVM;
          return 0;
        }
      p->accel = SV_ACCEL_TCG;
      sv_plan_add_warning (p,
                           "KVM is not usable (%s): using TCG software emulation, which is much "
                           "slower",
                           reason);
      return 0;
    }
}

static const char *
vm_name (const struct sv_vm_config *cfg, const struct sv_host *host)
{
  if (cfg->name && cfg->name[0])
    return cfg->name;
  if (host->net.hostname[0])
    return host->net.hostname;
  return "vm";
}

/* The machine-level arguments: everything before disks and NICs. */
static int
plan_machine (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
              struct sv_plan *p, sv_error_t *err)
{
  sv_strv_add (argv,
               cfg->qemu.binary && cfg->qemu.binary[0] ? cfg->qemu.binary : "qemu-system-x86_64");
  /* No default NIC, serial, monitor, VGA or CD-ROM: what the VM has is
   * exactly what this plan lists. */
  sv_strv_add (argv, "-nodefaults");

  /* The explicit "guest=" key: with QEMU's implied key, a name like
   * "a=b" would be parsed as an unknown option "a". */
  cleanup_free char *name = sv_qemu_opt_escape (vm_name (cfg, host));
  sv_strv_add (argv, "-name");
  sv_strv_addf (argv, "guest=%s", name);

  if (resolve_accel (cfg, host, p, err) < 0)
    return -1;
  sv_strv_add (argv, "-accel");
  if (p->accel == SV_ACCEL_KVM)
    {
      sv_strv_add (argv, "kvm");
      sv_strv_add (argv, "-cpu");
      sv_strv_add (argv, "host");
    }
  else
    {
      sv_strv_add (argv, "tcg");
      sv_strv_add (argv, "-cpu");
      sv_strv_add (argv, "max");
    }

  cleanup_free char *machine
      = sv_qemu_opt_escape (cfg->machine && cfg->machine[0] ? cfg->machine : "q35");
  sv_strv_add (argv, "-machine");
  /* OVMF's Secure Boot build needs SMM (config checked the machine). */
  sv_strv_addf (argv, "type=%s%s", machine,
                cfg->firmware == SV_FIRMWARE_UEFI_SECURE ? ",smm=on" : "");
  sv_strv_add (argv, "-m");
  sv_strv_addf (argv, "%" PRIu64, cfg->memory_mib ? cfg->memory_mib : 512);
  sv_strv_add (argv, "-smp");
  sv_strv_addf (argv, "%u", cfg->cpus ? cfg->cpus : 1);

  /* No -no-reboot: a reboot inside the guest (apt upgrade, a kernel
   * update) should bring the same VM back, as on real hardware, not end
   * the container.  A guest power-off still ends QEMU and the container. */

  if (cfg->boot.kernel)
    {
      sv_strv_add (argv, "-kernel");
      sv_strv_add (argv, cfg->boot.kernel);
    }
  if (cfg->boot.initrd)
    {
      sv_strv_add (argv, "-initrd");
      sv_strv_add (argv, cfg->boot.initrd);
    }
  if (cfg->boot.append)
    {
      sv_strv_add (argv, "-append");
      sv_strv_add (argv, cfg->boot.append);
    }

  /* No window and nothing but the guest's serial console on stdio: the
   * container's log is the console. */
  sv_strv_add (argv, "-display");
  sv_strv_add (argv, "none");
  if (cfg->console.vnc)
    {
      p->vnc_path = join_path (p->run_dir, "vnc");
      if (check_socket_path (p->vnc_path, "VNC", err) < 0)
        return -1;
      cleanup_free char *vnc = sv_qemu_opt_escape (p->vnc_path);
      sv_strv_add (argv, "-vga");
      sv_strv_add (argv, "std");
      sv_strv_add (argv, "-vnc");
      sv_strv_addf (argv, "unix:%s", vnc);
    }
  else
    {
      sv_strv_add (argv, "-vga");
      sv_strv_add (argv, "none");
    }
  if (cfg->console.serial == SV_SERIAL_STDIO)
    {
      /* signal=off: Ctrl-C on an attached terminal goes to the guest; the
       * container's stop signal reaches startvm, which shuts down. */
      sv_strv_add (argv, "-chardev");
      sv_strv_add (argv, "stdio,id=serial0,signal=off");
      sv_strv_add (argv, "-serial");
      sv_strv_add (argv, "chardev:serial0");
    }
  if (cfg->console.qmp)
    {
      p->qmp_path = join_path (p->run_dir, "qmp");
      if (check_socket_path (p->qmp_path, "QMP", err) < 0)
        return -1;
      cleanup_free char *qmp = sv_qemu_opt_escape (p->qmp_path);
      sv_strv_add (argv, "-qmp");
      sv_strv_addf (argv, "unix:%s,server=on,wait=off", qmp);
    }
  if (cfg->shutdown.mode != SV_SHUTDOWN_EXEC)
    {
      p->control_path = join_path (p->run_dir, "startvm.qmp");
      if (check_socket_path (p->control_path, "control QMP", err) < 0)
        return -1;
      cleanup_free char *ctl = sv_qemu_opt_escape (p->control_path);
      sv_strv_add (argv, "-qmp");
      sv_strv_addf (argv, "unix:%s,server=on,wait=off", ctl);
    }
  return 0;
}

int
sv_plan_build (const struct sv_vm_config *cfg, const struct sv_host *host, char *const *extra_args,
               struct sv_plan *out, sv_error_t *err)
{
  struct sv_plan p = { 0 };
  struct sv_strv argv = { 0 };

  memset (out, 0, sizeof *out);
  p.warnings = sv_xcalloc (1, sizeof (char *));
  const char *state_dir = cfg->state_dir && cfg->state_dir[0] ? cfg->state_dir : "/ranchervm";
  if (host->state_dir_error[0])
    {
      sv_plan_add_warning (&p,
                           "status unavailable: state_dir is not writable (%s): the sockets and "
                           "dnsmasq.conf go to %s instead, and `startvm status` cannot report "
                           "this VM",
                           host->state_dir_error, SV_FALLBACK_STATE_DIR);
      state_dir = SV_FALLBACK_STATE_DIR;
    }
  p.run_dir = join_path (state_dir, host->container_id[0] ? host->container_id : "vm");

  char *cfg_warning = sv_vm_config_warning (cfg);
  if (cfg_warning)
    sv_plan_add_warning (&p, "%s", cfg_warning);
  free (cfg_warning);
  if (plan_machine (cfg, host, &argv, &p, err) < 0)
    goto fail;
  if (sv_plan_data (cfg, host, &argv, &p, err) < 0)
    goto fail;
  if (sv_plan_shares (cfg, host, &argv, &p, err) < 0)
    goto fail;
  if (sv_plan_disks (cfg, host, &argv, &p, err) < 0)
    goto fail;
  if (sv_plan_net (cfg, host, &argv, &p, err) < 0)
    goto fail;

  for (size_t i = 0; cfg->qemu.extra_args && cfg->qemu.extra_args[i]; i++)
    sv_strv_add (&argv, cfg->qemu.extra_args[i]);
  for (size_t i = 0; extra_args && extra_args[i]; i++)
    sv_strv_add (&argv, extra_args[i]);

  p.qemu_argc = argv.n;
  p.qemu_argv = steal_pointer (&argv.v);
  *out = p;
  return 0;

fail:
  sv_strv_free (&argv);
  sv_plan_free (&p);
  return -1;
}

void
sv_plan_free (struct sv_plan *p)
{
  if (p == NULL)
    return;
  sv_strv_free_raw (p->qemu_argv);
  sv_strv_free_raw (p->dnsmasq_argv);
  free (p->dnsmasq_conf);
  free (p->dnsmasq_conf_path);
  free (p->net_ops);
  /* Disk ops, sidecars and the cloud-init seed belong to plan_disks.c. */
  sv_plan_disks_free (p);
  sv_plan_data_free (p);
  sv_plan_shares_free (p);
  sv_strv_free_raw (p->warnings);
  free (p->run_dir);
  free (p->qmp_path);
  free (p->control_path);
  free (p->vnc_path);
  memset (p, 0, sizeof *p);
}
