#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

void
sv_capture_free (struct sv_capture *c)
{
  sv_buf_free (&c->out);
  sv_buf_free (&c->err);
}

/* Runs argv (PATH lookup, no shell) with stdin from /dev/null, collecting
 * stdout and stderr.  Fails only when it cannot run the program. */
int
sv_spawn_capture (char *const *argv, struct sv_capture *c, sv_error_t *err)
{
  int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
  if (pipe2 (out_pipe, O_CLOEXEC) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "pipe");
  if (pipe2 (err_pipe, O_CLOEXEC) < 0)
    {
      int e = errno;
      close (out_pipe[0]);
      close (out_pipe[1]);
      return sv_error_errno (err, SV_EXIT_ENV, e, "pipe");
    }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, err_pipe[1], 2);
  pid_t pid;
  int rc = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (out_pipe[1]);
  close (err_pipe[1]);
  if (rc != 0)
    {
      close (out_pipe[0]);
      close (err_pipe[0]);
      if (rc == ENOENT)
        return sv_error_errno (err, SV_EXIT_ENV, rc, "%s not found (install qemu-utils)", argv[0]);
      return sv_error_errno (err, SV_EXIT_ENV, rc, "running %s", argv[0]);
    }

  struct pollfd fds[2]
      = { { .fd = out_pipe[0], .events = POLLIN }, { .fd = err_pipe[0], .events = POLLIN } };
  struct sv_buf *bufs[2] = { &c->out, &c->err };
  int open_fds = 2;
  while (open_fds > 0)
    {
      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      for (int i = 0; i < 2; i++)
        {
          if (fds[i].fd < 0 || fds[i].revents == 0)
            continue;
          char chunk[4096];
          ssize_t n = TEMP_FAILURE_RETRY (read (fds[i].fd, chunk, sizeof chunk));
          if (n <= 0)
            {
              close (fds[i].fd);
              fds[i].fd = -1;
              open_fds--;
            }
          else if (bufs[i]->len < SV_CAPTURE_MAX)
            sv_buf_addn (bufs[i], chunk, (size_t)n);
        }
    }
  for (int i = 0; i < 2; i++)
    if (fds[i].fd >= 0)
      close (fds[i].fd);
  if (c->out.data == NULL)
    sv_buf_add (&c->out, "");
  if (c->err.data == NULL)
    sv_buf_add (&c->err, "");
  if (TEMP_FAILURE_RETRY (waitpid (pid, &c->status, 0)) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "waiting for %s", argv[0]);
  return 0;
}

char *
sv_first_line (const char *s)
{
  size_t n = strcspn (s, "\n");
  return strndup (s, n) ?: sv_xstrdup ("");
}

bool
sv_capture_ok (const struct sv_capture *c)
{
  return WIFEXITED (c->status) && WEXITSTATUS (c->status) == 0;
}
