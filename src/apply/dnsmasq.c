/* dnsmasq: write its configuration and start it (exec'd, no shell). */
#include "dnsmasq.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

static int
write_conf (const struct sv_plan *plan, sv_error_t *err)
{
  const char *path = plan->dnsmasq_conf_path;
  /* A new file rather than O_TRUNC over the last start's: ext4 flushes a
   * file truncated and rewritten when it is closed (auto_da_alloc), 0.6 ms
   * of every restart here for a file nobody needs on disk; and O_EXCL
   * never follows a link left in its place. */
  if (unlink (path) < 0 && errno != ENOENT)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "removing %s", path);
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", path);
  const char *conf = plan->dnsmasq_conf ? plan->dnsmasq_conf : "";
  if (sv_write_all (fd, conf, strlen (conf)) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", path);
  /* The umask may have narrowed the mode; dnsmasq may drop privileges
   * before reading the file. */
  if (fchmod (fd, 0644) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "chmod %s", path);
  int fdv = steal_fd (&fd);
  if (close (fdv) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", path);
  return 0;
}

int
sv_dnsmasq_start (const struct sv_plan *plan, int log_fd, pid_t *pid_out, sv_error_t *err)
{
  if (plan->dnsmasq_argv == NULL || plan->dnsmasq_argv[0] == NULL)
    return sv_error_make (err, SV_EXIT_NET, SV_SRC_NONE, 0, "dnsmasq: no command in the plan");
  if (plan->dnsmasq_conf_path && write_conf (plan, err) < 0)
    return -1;

  /* posix_spawnp: a vfork-style start that reports exec failures (missing
   * or not executable binary) synchronously, without a pipe of our own.
   * The child starts with default signal handling and an empty mask
   * whatever startvm set up for supervising QEMU.  Our other fds (taps,
   * netlink) are O_CLOEXEC; stdout is inherited. */
  posix_spawnattr_t attr;
  if ((errno = posix_spawnattr_init (&attr)) != 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "starting dnsmasq");
  sigset_t none, all;
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  /* Supervised (log_fd >= 0): dnsmasq's stderr is the pipe that startvm
   * reads and forwards (dnsmasq_log.h).  Otherwise (shutdown.mode exec)
   * nobody stays to read a pipe: dnsmasq logs through a description of
   * its own.  QEMU later makes its stdout O_NONBLOCK (its char-fd backend
   * does), and that flag lives in the open file description that a plain
   * dup would share: with Docker's log pipe full, dnsmasq's lease lines
   * would meet EAGAIN.  O_APPEND keeps its lines at the end of a regular
   * file, though QEMU's output, written at the shared description's own
   * offset, can still land on them (docs/operations.md).  Sockets cannot
   * be reopened through /proc; dnsmasq then shares the description. */
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  cleanup_close int own_err = -1;
  if (log_fd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, log_fd, STDERR_FILENO);
  else
    {
      own_err = open ("/proc/self/fd/2", O_WRONLY | O_APPEND | O_CLOEXEC);
      if (own_err >= 0)
        posix_spawn_file_actions_adddup2 (&fa, own_err, STDERR_FILENO);
    }
  pid_t pid;
  int r = posix_spawnp (&pid, plan->dnsmasq_argv[0], &fa, &attr, plan->dnsmasq_argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  if (r != 0)
    return sv_error_errno (err, SV_EXIT_ENV, r, "starting %s", plan->dnsmasq_argv[0]);

  /* An exit already visible now (a daemonizing dnsmasq, or one that died
   * on its configuration) is reported; waiting for dnsmasq's own start-up
   * would cost more than the whole handoff, and the guest asks for its
   * lease seconds later anyway.  A later failure shows in the log and,
   * under supervision, ends the VM (supervise.c reaps dnsmasq). */
  int status;
  pid_t w = TEMP_FAILURE_RETRY (waitpid (pid, &status, WNOHANG));
  if (w == pid)
    {
      if (WIFEXITED (status))
        return sv_error_make (err, SV_EXIT_NET, SV_SRC_NONE, 0,
                              "dnsmasq exited at once with status %d (its message is above)",
                              WEXITSTATUS (status));
      return sv_error_make (err, SV_EXIT_NET, SV_SRC_NONE, 0, "dnsmasq killed by signal %d",
                            WTERMSIG (status));
    }
  *pid_out = pid;
  return 0;
}
