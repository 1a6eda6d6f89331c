/* data_dir, the firmware files and swtpm: what firmware and tpm need;
 * the shares' sources and virtiofsd (observe.h).  Read-only: stat and a PATH lookup, nothing else.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "observe.h"

static bool
readable_file (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, R_OK) == 0;
}

static bool
in_path (const char *name)
{
  const char *path = getenv ("PATH");
  if (path == NULL || *path == '\0')
    path = "/usr/local/bin:/usr/bin:/bin";
  cleanup_free char *copy = sv_xstrdup (path);
  char *save = NULL;
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *f = sv_xasprintf ("%s/%s", *dir ? dir : ".", name);
      struct stat st;
      if (stat (f, &st) == 0 && S_ISREG (st.st_mode) && access (f, X_OK) == 0)
        return true;
    }
  return false;
}

/* Root with the capabilities to give a child another uid and to hand it
 * its state directory (Docker's and podman's defaults have them). */
static bool
can_switch_uid (void)
{
  if (geteuid () != 0)
    return false;
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };
  if (syscall (SYS_capget, &hdr, data) < 0)
    return false;
  uint32_t need = (1u << CAP_SETUID) | (1u << CAP_SETGID) | (1u << CAP_CHOWN);
  return (data[0].effective & need) == need;
}

/* An existing entry in data_dir must be what startvm would have made:
 * never follow a link planted there (the store and the TPM state are
 * written through these paths). */
static bool
check_entry (const char *path, mode_t want, const char *what, bool *exists, struct sv_data_state *d)
{
  struct stat st;
  *exists = false;
  if (lstat (path, &st) < 0)
    {
      if (errno != ENOENT)
        snprintf (d->error, sizeof d->error, "%s %s: %s", what, path, strerror (errno));
      return errno == ENOENT;
    }
  if ((st.st_mode & S_IFMT) != want)
    {
      snprintf (d->error, sizeof d->error, "%s %s is %s", what, path,
                S_ISLNK (st.st_mode)   ? "a symbolic link"
                : S_ISDIR (st.st_mode) ? "a directory, not a file"
                : want == S_IFDIR      ? "not a directory"
                                       : "not a regular file");
      return false;
    }
  *exists = true;
  return true;
}

int
sv_data_observe (const struct sv_vm_config *cfg, struct sv_data_state *d, sv_error_t *err)
{
  (void)err;
  memset (d, 0, sizeof *d);
  if (cfg->firmware == SV_FIRMWARE_BIOS && !cfg->tpm && cfg->shutdown.mode != SV_SHUTDOWN_SUSPEND)
    return 0;
  const char *dir = cfg->data_dir && cfg->data_dir[0] ? cfg->data_dir : "/image";
  struct stat st;
  if (stat (dir, &st) == 0)
    {
      if (!S_ISDIR (st.st_mode))
        {
          snprintf (d->error, sizeof d->error, "data_dir %s is not a directory", dir);
          return 0;
        }
      d->dir_exists = true;
    }
  else if (errno != ENOENT)
    {
      snprintf (d->error, sizeof d->error, "data_dir %s: %s", dir, strerror (errno));
      return 0;
    }
  if (cfg->firmware != SV_FIRMWARE_BIOS)
    {
      bool secure = cfg->firmware == SV_FIRMWARE_UEFI_SECURE;
      d->fw_code_exists = readable_file (secure ? SV_OVMF_CODE_SECURE : SV_OVMF_CODE);
      d->fw_vars_exists = readable_file (secure ? SV_OVMF_VARS_SECURE : SV_OVMF_VARS);
      cleanup_free char *vars = sv_xasprintf ("%s/efivars.fd", dir);
      if (d->dir_exists
          && !check_entry (vars, S_IFREG, "the UEFI variable store", &d->efivars_exists, d))
        return 0;
    }
  if (cfg->tpm)
    {
      d->swtpm_found = in_path ("swtpm");
      d->can_switch_uid = can_switch_uid ();
      cleanup_free char *tpm = sv_xasprintf ("%s/tpm", dir);
      if (d->dir_exists
          && !check_entry (tpm, S_IFDIR, "the TPM state directory", &d->tpm_dir_exists, d))
        return 0;
    }
  return 0;
}

void
sv_shares_observe (const struct sv_vm_config *cfg, struct sv_shares_state *sh)
{
  memset (sh, 0, sizeof *sh);
  bool rw = false;
  for (size_t i = 0; i < cfg->n_shares; i++)
    {
      const char *src = cfg->shares[i].source;
      struct stat st;
      rw |= !cfg->shares[i].readonly;
      if (sh->error[0])
        continue;
      if (stat (src, &st) < 0)
        snprintf (sh->error, sizeof sh->error, "shares[%zu].source %s: %s", i, src,
                  errno == ENOENT ? "no such directory" : strerror (errno));
      else if (!S_ISDIR (st.st_mode))
        snprintf (sh->error, sizeof sh->error, "shares[%zu].source %s is not a directory", i, src);
    }
  if (rw)
    {
      struct stat st;
      sh->virtiofsd_found = stat (SV_VIRTIOFSD, &st) == 0 && S_ISREG (st.st_mode)
                            && access (SV_VIRTIOFSD, X_OK) == 0;
    }
}
