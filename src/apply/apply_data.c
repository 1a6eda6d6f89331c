/* apply_data (apply_data.h): the data_dir steps and swtpm. */
#include "apply_data.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"

static int
make_dir (const struct sv_data_op *op, sv_error_t *err)
{
  if (sv_mkdir_parents (op->path, 0755, false, err) < 0)
    return -1;
  if (mkdir (op->path, op->mode) == 0)
    return 0;
  int e = errno;
  struct stat st;
  /* Made meanwhile by someone else: fine when it is a real directory. */
  if (e == EEXIST && lstat (op->path, &st) == 0 && S_ISDIR (st.st_mode))
    return 0;
  return sv_error_errno (err, SV_EXIT_ENV, e, "creating directory %s", op->path);
}

static int
copy_file (const struct sv_data_op *op, sv_error_t *err)
{
  cleanup_close int in = open (op->src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s", op->src);
  cleanup_free char *tmp = sv_xasprintf ("%s.startvm-tmp", op->path);
  unlink (tmp); /* left by a copy that was interrupted */
  cleanup_close int out
      = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)op->mode);
  if (out < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s", tmp);
  char buf[65536];
  int e = 0;
  for (;;)
    {
      ssize_t n = TEMP_FAILURE_RETRY (read (in, buf, sizeof buf));
      if (n < 0)
        {
          e = errno;
          break;
        }
      if (n == 0)
        break;
      if (sv_write_all (out, buf, (size_t)n) < 0)
        {
          e = errno;
          break;
        }
    }
  /* The mode exactly, whatever the umask. */
  if (e == 0 && (fchmod (out, (mode_t)op->mode) < 0 || fsync (out) < 0))
    e = errno;
  /* link() never replaces: a store that appeared meanwhile is kept. */
  if (e == 0 && link (tmp, op->path) < 0)
    e = errno;
  unlink (tmp);
  if (e != 0)
    return sv_error_errno (err, SV_EXIT_ENV, e, "copying %s to %s", op->src, op->path);
  return 0;
}

/* The directory and the regular files directly in it (swtpm keeps no
 * subdirectories); links and anything else are left alone, never
 * followed. */
static int
chown_tree (const struct sv_data_op *op, sv_error_t *err)
{
  int fd = open (op->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s", op->path);
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      int e = errno;
      close (fd);
      return sv_error_errno (err, SV_EXIT_ENV, e, "reading %s", op->path);
    }
  int e = 0;
  if (fchown (fd, op->uid, op->gid) < 0)
    e = errno;
  for (struct dirent *de; e == 0 && (de = readdir (d)) != NULL;)
    {
      struct stat st;
      if (fstatat (fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
        continue;
      if (fchownat (fd, de->d_name, op->uid, op->gid, AT_SYMLINK_NOFOLLOW) < 0)
        e = errno;
    }
  closedir (d);
  if (e != 0)
    return sv_error_errno (err, SV_EXIT_ENV, e, "chown %u:%u %s", op->uid, op->gid, op->path);
  return 0;
}

int
sv_data_apply (const struct sv_plan *plan, sv_error_t *err)
{
  for (size_t i = 0; i < plan->n_data_ops; i++)
    {
      const struct sv_data_op *op = &plan->data_ops[i];
      int r = op->kind == SV_DATA_MKDIR   ? make_dir (op, err)
              : op->kind == SV_DATA_CHOWN ? chown_tree (op, err)
                                          : copy_file (op, err);
      if (r < 0)
        return -1;
    }
  return 0;
}

/* swtpm needs no capability: it reads and writes its own state directory
 * and serves a socket it was handed.  Drop every one (bounding set too,
 * so nothing exec'd later regains them) and forbid gaining privileges.
 * Its built-in seccomp filter (action kill, the default) then limits
 * its syscalls.  Async-signal-safe: runs between fork and exec. */
static int
drop_privileges (const struct sv_plan *plan)
{
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  /* The bounding set first: dropping from it needs CAP_SETPCAP, which the
   * uid change below takes away. */
  for (int cap = 0; cap <= 63; cap++)
    if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
      return -1;
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (plan->swtpm_uid >= 0)
    {
      gid_t g = (gid_t)plan->swtpm_gid;
      uid_t u = (uid_t)plan->swtpm_uid;
      if (setgroups (0, NULL) < 0 || setresgid (g, g, g) < 0 || setresuid (u, u, u) < 0)
        return -1;
    }
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };
  return (int)syscall (SYS_capset, &hdr, data);
}

/* swtpm's part between fork and exec (async-signal-safe): its state
 * directory by cwd (dir=. in its argv), then no privilege left. */
static int
swtpm_prepare (const void *ud)
{
  const struct sv_plan *plan = ud;
  if (chdir (plan->swtpm_cwd) < 0)
    return -1;
  return drop_privileges (plan);
}

pid_t
sv_spawn_on_socket (int lfd, int target_fd, int (*prepare) (const void *ud), const void *ud,
                    char *const argv[], int *exec_errno, sv_error_t *err)
{
  *exec_errno = 0;
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
    {
      int errfd = pfd[1];
      /* If startvm dies (SIGKILL), the helper must not run on alone. */
      if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != parent)
        _exit (127);
      if (errfd == target_fd)
        {
          errfd = fcntl (errfd, F_DUPFD_CLOEXEC, target_fd + 1);
          if (errfd < 0)
            _exit (127);
        }
      /* dup2 leaves the new fd without FD_CLOEXEC: the helper inherits it. */
      if ((lfd == target_fd ? fcntl (lfd, F_SETFD, 0) : dup2 (lfd, target_fd)) >= 0
          && (prepare == NULL || prepare (ud) >= 0))
        execvp (argv[0], argv);
      int e = errno;
      (void)!write (errfd, &e, sizeof e);
      _exit (127);
    }
  close (pfd[1]);
  ssize_t n = TEMP_FAILURE_RETRY (read (pfd[0], exec_errno, sizeof *exec_errno));
  close (pfd[0]);
  if (n == (ssize_t)sizeof *exec_errno)
    {
      int st;
      TEMP_FAILURE_RETRY (waitpid (child, &st, 0));
      return 0;
    }
  *exec_errno = 0;
  return child;
}

int
sv_listen_unix (const char *path, const char *what, sv_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sa.sun_path)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_ERRNO, ENAMETOOLONG, "%s: path too long", path);
  strcpy (sa.sun_path, path);
  /* A socket (or a link) left by an earlier run of this container; any
   * other file there is not ours, and bind's error will say so. */
  struct stat st;
  if (lstat (path, &st) == 0 && (S_ISSOCK (st.st_mode) || S_ISLNK (st.st_mode)))
    unlink (path);
  cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s", what);
  if (bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s %s", what, path);
  if (chmod (path, 0600) < 0 || listen (fd, 4) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s %s", what, path);
  int r = fd;
  fd = -1;
  return r;
}

int
sv_swtpm_start (const struct sv_plan *plan, pid_t *pid, sv_error_t *err)
{
  *pid = 0;
  cleanup_close int lfd = sv_listen_unix (plan->swtpm_sock_path, "swtpm control socket", err);
  if (lfd < 0)
    return -1;
  int e;
  pid_t child
      = sv_spawn_on_socket (lfd, SV_SWTPM_CTRL_FD, swtpm_prepare, plan, plan->swtpm_argv, &e, err);
  if (child < 0)
    return -1;
  if (child == 0)
    {
      unlink (plan->swtpm_sock_path);
      return sv_error_errno (err, SV_EXIT_ENV, e, "running %s (Debian's swtpm package)",
                             plan->swtpm_argv[0]);
    }
  *pid = child;
  return 0;
}
