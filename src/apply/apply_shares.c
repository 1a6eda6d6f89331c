/* apply_shares (apply_shares.h): the shares' virtiofsd. */
#include "apply_shares.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply_data.h"
#include "cleanup.h"
#include "io.h"

/* Between fork and exec: async-signal-safe calls only. */
static void __attribute__ ((noreturn))
child_exec (const struct sv_virtiofsd *v, int lfd, int errfd, pid_t parent)
{
  int e;
  /* If startvm dies (SIGKILL), virtiofsd must not run on alone. */
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != parent)
    _exit (127);
  if (errfd == SV_VIRTIOFSD_FD)
    {
      errfd = fcntl (errfd, F_DUPFD_CLOEXEC, SV_VIRTIOFSD_FD + 1);
      if (errfd < 0)
        _exit (127);
    }
  /* dup2 leaves the new fd without FD_CLOEXEC: virtiofsd inherits it. */
  if (lfd == SV_VIRTIOFSD_FD ? fcntl (lfd, F_SETFD, 0) < 0 : dup2 (lfd, SV_VIRTIOFSD_FD) < 0)
    goto fail;
  /* It keeps the container's capabilities (files are served as their
   * owners) but never gains more. */
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    goto fail;
  execv (v->argv[0], v->argv);
fail:
  e = errno;
  (void)!write (errfd, &e, sizeof e);
  _exit (127);
}

static int
start_one (const struct sv_virtiofsd *v, pid_t *pid, sv_error_t *err)
{
  *pid = 0;
  cleanup_close int lfd = sv_listen_unix (v->sock_path, "virtiofsd socket", err);
  if (lfd < 0)
    return -1;
  int pfd[2];
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "pipe");
  pid_t parent = getpid ();
  fflush (NULL);
  pid_t child = fork ();
  if (child < 0)
    {
      int e = errno;
      close (pfd[0]);
      close (pfd[1]);
      return sv_error_errno (err, SV_EXIT_ENV, e, "fork");
    }
  if (child == 0)
    child_exec (v, lfd, pfd[1], parent);
  close (pfd[1]);
  int child_errno = 0;
  ssize_t n = TEMP_FAILURE_RETRY (read (pfd[0], &child_errno, sizeof child_errno));
  close (pfd[0]);
  if (n == (ssize_t)sizeof child_errno)
    {
      int st;
      TEMP_FAILURE_RETRY (waitpid (child, &st, 0));
      unlink (v->sock_path);
      return sv_error_errno (err, SV_EXIT_ENV, child_errno,
                             "running %s for share %s (Debian's qemu-system-common package)",
                             v->argv[0], v->tag);
    }
  *pid = child;
  return 0;
}

int
sv_virtiofsd_start (const struct sv_plan *plan, pid_t *pids, sv_error_t *err)
{
  for (size_t i = 0; i < plan->n_virtiofsd; i++)
    pids[i] = 0;
  for (size_t i = 0; i < plan->n_virtiofsd; i++)
    if (start_one (&plan->virtiofsd[i], &pids[i], err) < 0)
      {
        sv_virtiofsd_stop (plan, pids);
        return -1;
      }
  return 0;
}

void
sv_virtiofsd_stop (const struct sv_plan *plan, pid_t *pids)
{
  for (size_t i = 0; i < plan->n_virtiofsd; i++)
    {
      if (pids[i] > 0)
        {
          int st;
          kill (pids[i], SIGTERM);
          TEMP_FAILURE_RETRY (waitpid (pids[i], &st, 0));
          pids[i] = 0;
        }
      unlink (plan->virtiofsd[i].sock_path);
    }
}
