/* plan_data: firmware (OVMF as pflash, the per-VM variable store) and
 * the TPM (swtpm), and the data_dir steps they need.  Pure: what exists
 * comes from host->data (observe/data.c).
 *
 * The code is mapped read-only; the variable store is the VM's own file
 * in data_dir, copied from the package's template by a step the first
 * time and then kept, so the guest's boot entries, keys and variables
 * outlive the container (docs/images.md "UEFI"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cleanup.h"
#include "error.h"
#include "plan_internal.h"
#include "util.h"

static void
add_op (struct sv_plan *p, enum sv_data_op_kind kind, char *path, const char *src, unsigned mode)
{
  p->data_ops = sv_xrealloc (p->data_ops, (p->n_data_ops + 1) * sizeof *p->data_ops);
  p->data_ops[p->n_data_ops++] = (struct sv_data_op){
    .kind = kind,
    .path = path,
    .src = src ? sv_xstrdup (src) : NULL,
    .mode = mode,
  };
}

static int
env_missing (sv_error_t *err, const char *what, const char *file, const char *package)
{
  return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                        "%s: %s is missing: install Debian's %s package", what, file, package);
}

static int
plan_firmware (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
               struct sv_plan *p, sv_error_t *err)
{
  bool secure = cfg->firmware == SV_FIRMWARE_UEFI_SECURE;
  const char *code = secure ? SV_OVMF_CODE_SECURE : SV_OVMF_CODE;
  const char *tmpl = secure ? SV_OVMF_VARS_SECURE : SV_OVMF_VARS;
  const char *what = secure ? "firmware uefi-secure" : "firmware uefi";
  if (!host->data.fw_code_exists)
    return env_missing (err, what, code, "ovmf");
  cleanup_free char *vars = sv_xasprintf ("%s/efivars.fd", p->data_dir);
  if (!host->data.efivars_exists)
    {
      /* The template is needed only for the first start. */
      if (!host->data.fw_vars_exists)
        return env_missing (err, what, tmpl, "ovmf");
      add_op (p, SV_DATA_COPY, sv_xstrdup (vars), tmpl, 0600);
    }
  if (secure)
    {
      /* Only SMM code may write the variable store: the guest OS cannot
       * change the Secure Boot keys behind the firmware's back. */
      sv_strv_add (argv, "-global");
      sv_strv_add (argv, "driver=cfi.pflash01,property=secure,value=on");
    }
  cleanup_free char *code_e = sv_qemu_opt_escape (code);
  cleanup_free char *vars_e = sv_qemu_opt_escape (vars);
  sv_strv_add (argv, "-drive");
  sv_strv_addf (argv, "if=pflash,format=raw,unit=0,readonly=on,file=%s", code_e);
  sv_strv_add (argv, "-drive");
  sv_strv_addf (argv, "if=pflash,format=raw,unit=1,file=%s", vars_e);
  return 0;
}

static int
plan_tpm (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
          struct sv_plan *p, sv_error_t *err)
{
  if (!host->data.swtpm_found)
    return env_missing (err, "tpm", "swtpm (not found in PATH)", "swtpm");
  cleanup_free char *tpm_dir = sv_xasprintf ("%s/tpm", p->data_dir);
  if (!host->data.tpm_dir_exists)
    add_op (p, SV_DATA_MKDIR, sv_xstrdup (tpm_dir), NULL, 0700);
  p->swtpm_uid = p->swtpm_gid = -1;
  if (host->data.can_switch_uid)
    {
      /* At each start: a state made before (by root, or restored from a
       * backup) must be swtpm's to write. */
      add_op (p, SV_DATA_CHOWN, sv_xstrdup (tpm_dir), NULL, 0);
      p->data_ops[p->n_data_ops - 1].uid = SV_SWTPM_UID;
      p->data_ops[p->n_data_ops - 1].gid = SV_SWTPM_GID;
      p->swtpm_uid = SV_SWTPM_UID;
      p->swtpm_gid = SV_SWTPM_GID;
    }
  p->swtpm_cwd = sv_xstrdup (tpm_dir);

  p->swtpm_sock_path = sv_xasprintf ("%s/swtpm.sock", p->run_dir);
  size_t max = sizeof (((struct sockaddr_un *)NULL)->sun_path) - 1;
  if (strlen (p->swtpm_sock_path) > max)
    return sv_error_config (err,
                            "state_dir: the swtpm socket path %s is %zu bytes, more than the %zu "
                            "a unix socket allows; choose a shorter state_dir",
                            p->swtpm_sock_path, strlen (p->swtpm_sock_path), max);

  struct sv_strv s = { 0 };
  sv_strv_add (&s, "swtpm");
  sv_strv_add (&s, "socket");
  sv_strv_add (&s, "--tpm2");
  sv_strv_add (&s, "--tpmstate");
  sv_strv_add (&s, "dir=.,mode=0600");
  sv_strv_add (&s, "--ctrl");
  sv_strv_addf (&s, "type=unixio,fd=%d", SV_SWTPM_CTRL_FD);
  p->swtpm_argv = steal_pointer (&s.v);

  cleanup_free char *sock = sv_qemu_opt_escape (p->swtpm_sock_path);
  sv_strv_add (argv, "-chardev");
  sv_strv_addf (argv, "socket,id=chrtpm,path=%s", sock);
  sv_strv_add (argv, "-tpmdev");
  sv_strv_add (argv, "emulator,id=tpm0,chardev=chrtpm");
  sv_strv_add (argv, "-device");
  /* CRB is the interface of TPM 2.0 on q35; pc has only the ISA TIS. */
  sv_strv_add (argv,
               sv_machine_is_q35 (cfg->machine) ? "tpm-crb,tpmdev=tpm0" : "tpm-tis,tpmdev=tpm0");
  return 0;
}

int
sv_plan_data (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
              struct sv_plan *p, sv_error_t *err)
{
  p->firmware = cfg->firmware;
  if (cfg->firmware == SV_FIRMWARE_BIOS && !cfg->tpm && cfg->shutdown.mode != SV_SHUTDOWN_SUSPEND)
    return 0;
  p->data_dir = sv_xstrdup (cfg->data_dir && cfg->data_dir[0] ? cfg->data_dir : "/image");
  if (host->data.error[0])
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "data_dir: %s", host->data.error);
  if (!host->data.dir_exists)
    add_op (p, SV_DATA_MKDIR, sv_xstrdup (p->data_dir), NULL, 0700);
  if (cfg->firmware != SV_FIRMWARE_BIOS && plan_firmware (cfg, host, argv, p, err) < 0)
    return -1;
  if (cfg->tpm && plan_tpm (cfg, host, argv, p, err) < 0)
    return -1;
  return 0;
}

void
sv_data_op_format (const struct sv_data_op *op, struct sv_buf *b)
{
  switch (op->kind)
    {
    case SV_DATA_MKDIR:
      sv_buf_addf (b, "mkdir (mode %04o) ", op->mode);
      sv_buf_add_shell_word (b, op->path);
      break;
    case SV_DATA_CHOWN:
      sv_buf_addf (b, "chown %u:%u ", op->uid, op->gid);
      sv_buf_add_shell_word (b, op->path);
      sv_buf_add (b, " and the files in it");
      break;
    case SV_DATA_COPY:
      sv_buf_add (b, "copy ");
      sv_buf_add_shell_word (b, op->src);
      sv_buf_add (b, " to ");
      sv_buf_add_shell_word (b, op->path);
      sv_buf_addf (b, " (mode %04o, only while it does not exist)", op->mode);
      break;
    }
}

void
sv_plan_data_free (struct sv_plan *p)
{
  for (size_t i = 0; i < p->n_data_ops; i++)
    {
      free (p->data_ops[i].path);
      free (p->data_ops[i].src);
    }
  free (p->data_ops);
  p->data_ops = NULL;
  p->n_data_ops = 0;
  free (p->data_dir);
  p->data_dir = NULL;
  sv_strv_free_raw (p->swtpm_argv);
  p->swtpm_argv = NULL;
  free (p->swtpm_sock_path);
  p->swtpm_sock_path = NULL;
  free (p->swtpm_cwd);
  p->swtpm_cwd = NULL;
}
