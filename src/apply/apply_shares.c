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

/* Between fork and exec (async-signal-safe): virtiofsd keeps the
 * container's capabilities (files are served as their owners) but never
 * gains more. */
static int
virtiofsd_prepare (const void *ud)
{
  (void)ud;
  return prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static int
start_one (const struct sv_virtiofsd *v, pid_t *pid, sv_error_t *err)
{
  *pid = 0;
  cleanup_close int lfd = sv_listen_unix (v->sock_path, "virtiofsd socket", err);
  if (lfd < 0)
    return -1;
  int e;
  pid_t child
      = sv_spawn_on_socket (lfd, SV_VIRTIOFSD_FD, virtiofsd_prepare, NULL, v->argv, &e, err);
  if (child < 0)
    return -1;
  if (child == 0)
    {
      unlink (v->sock_path);
      return sv_error_errno (err, SV_EXIT_ENV, e,
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
