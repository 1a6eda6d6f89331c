/* The VM's run directory (see run_dir.h).
 *
 * startvm writes dnsmasq.conf, the cloud-init seed and QEMU's sockets
 * there, and status readers and the manager look there.  The state
 * directory above it may be a host directory shared by many containers,
 * so what sits at <state_dir>/<id> is checked, not trusted: a link there
 * would send every later write somewhere else. */
#include "run_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

int
sv_run_dir_prepare (const char *path, sv_error_t *err)
{
  if (sv_mkdir_parents (path, 0755, false, err) < 0)
    return -1;
  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating directory %s", path);

  /* O_NOFOLLOW: a link in the last component fails (ELOOP) instead of
   * being followed; O_DIRECTORY: so does anything but a directory. */
  cleanup_close int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      struct stat st;
      if (lstat (path, &st) == 0 && S_ISLNK (st.st_mode))
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "%s: is a symbolic link; startvm writes the VM's sockets and "
                              "files there and does not follow links: remove it",
                              path);
      return sv_error_errno (err, SV_EXIT_ENV, e, "opening the run directory %s", path);
    }
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "stat %s", path);
  if (st.st_uid != geteuid ())
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "%s: belongs to uid %u, not to startvm's uid %u: refusing to put "
                          "the VM's sockets there",
                          path, (unsigned)st.st_uid, (unsigned)geteuid ());
  /* An earlier startvm made it 0755. */
  if ((st.st_mode & 07777) != 0700 && fchmod (fd, 0700) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "chmod 0700 %s", path);
  return 0;
}
