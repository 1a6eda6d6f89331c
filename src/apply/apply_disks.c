/* The applying half of disk handling: runs the plan's qemu-img ops
 * (create, resize) and writes the cloud-init seed.  It only ever creates
 * files that do not exist and grows disks; it never writes into existing
 * image data.  (observe/disks.c looks; plan_disks.c decides.) */
#include "apply_disks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "cleanup.h"
#include "util.h"

/* Writes content to path through a temporary name and rename(), so a
 * crash never leaves half a file. */
static int
write_file (const char *path, const char *content, mode_t mode, sv_error_t *err)
{
  struct sv_buf tmp = { 0 };
  sv_buf_addf (&tmp, "%s.tmp%ld", path, (long)getpid ());
  cleanup_free char *t = sv_buf_steal (&tmp);
  int fd = open (t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", t);
  if (sv_write_all (fd, content, strlen (content)) < 0)
    {
      int e = errno;
      close (fd);
      unlink (t);
      return sv_error_errno (err, SV_EXIT_ENV, e, "writing %s", t);
    }
  if (fsync (fd) < 0 || close (fd) < 0)
    {
      int e = errno;
      unlink (t);
      return sv_error_errno (err, SV_EXIT_ENV, e, "writing %s", t);
    }
  if (rename (t, path) < 0)
    {
      int e = errno;
      unlink (t);
      return sv_error_errno (err, SV_EXIT_ENV, e, "renaming %s to %s", t, path);
    }
  return 0;
}

static int
run_op (const struct sv_disk_op *op, sv_error_t *err)
{
  struct sv_capture c = { 0 };
  if (sv_spawn_capture (op->argv, &c, err) < 0)
    {
      sv_capture_free (&c);
      return -1;
    }
  int ret = 0;
  if (!sv_capture_ok (&c))
    {
      cleanup_free char *line = sv_first_line (c.err.data[0] ? c.err.data : c.out.data);
      ret = sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "%s %s failed: %s", op->argv[0],
                           op->argv[1], line);
    }
  sv_capture_free (&c);
  return ret;
}

/* Opens the seed directory without following a link: it lies in the run
 * directory, which is startvm's own (0700), so a link or file in its
 * place is junk planted there and is removed, never written through. */
static int
open_seed_dir (const char *dir, sv_error_t *err)
{
  for (int tries = 0; tries < 2; tries++)
    {
      if (mkdir (dir, 0700) < 0 && errno != EEXIST)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s", dir);
      int fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0)
        {
          if (fchmod (fd, 0700) < 0)
            {
              int e = errno;
              close (fd);
              return sv_error_errno (err, SV_EXIT_ENV, e, "chmod %s", dir);
            }
          return fd;
        }
      struct stat st;
      if ((errno != ELOOP && errno != ENOTDIR) || lstat (dir, &st) < 0 || S_ISDIR (st.st_mode))
        return sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s", dir);
      if (unlink (dir) < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "removing %s (not a directory)", dir);
    }
  return sv_error_errno (err, SV_EXIT_ENV, ELOOP, "opening %s", dir);
}

/* Empties the seed directory of what an earlier start left (a file the
 * config no longer has must not reach the guest).  unlinkat removes a
 * link itself, never its target. */
static int
clear_dir (int dfd, const char *dir, sv_error_t *err)
{
  int fd = fcntl (dfd, F_DUPFD_CLOEXEC, 0);
  DIR *d = fd < 0 ? NULL : fdopendir (fd);
  if (d == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return sv_error_errno (err, SV_EXIT_ENV, e, "opening %s", dir);
    }
  struct dirent *e;
  int ret = 0;
  while ((e = readdir (d)))
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      if (unlinkat (dfd, e->d_name, 0) < 0 && errno != ENOENT)
        {
          ret = sv_error_errno (err, SV_EXIT_ENV, errno, "removing %s/%s", dir, e->d_name);
          break;
        }
    }
  closedir (d);
  return ret;
}

/* write_file inside the directory dfd: a new temporary file (O_EXCL and
 * O_NOFOLLOW: nothing planted is opened), then renameat(). */
static int
write_file_at (int dfd, const char *dir, const char *name, const char *content, mode_t mode,
               sv_error_t *err)
{
  char tmp[256];
  if ((size_t)snprintf (tmp, sizeof tmp, ".%s.tmp%ld", name, (long)getpid ()) >= sizeof tmp)
    return sv_error_errno (err, SV_EXIT_ENV, ENAMETOOLONG, "writing %s/%s", dir, name);
  int fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s/%s", dir, tmp);
  int e = sv_write_all (fd, content, strlen (content)) < 0 ? errno : 0;
  if (e == 0 && fsync (fd) < 0)
    e = errno;
  if (close (fd) < 0 && e == 0)
    e = errno;
  if (e == 0 && renameat (dfd, tmp, dfd, name) < 0)
    e = errno;
  if (e != 0)
    {
      unlinkat (dfd, tmp, 0);
      return sv_error_errno (err, SV_EXIT_ENV, e, "writing %s/%s", dir, name);
    }
  return 0;
}

int
sv_disks_apply (const struct sv_plan *plan, sv_error_t *err)
{
  for (size_t i = 0; i < plan->n_disk_ops; i++)
    {
      const struct sv_disk_op *op = &plan->disk_ops[i];
      const char *file = op->file;
      if (op->kind != SV_DISK_GROW)
        {
          /* qemu-img create truncates: never let it near an existing
           * file, even one that appeared since observe looked. */
          struct stat s;
          if (lstat (file, &s) == 0)
            return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                                  "disk %s appeared while startvm was starting; not "
                                  "overwriting it",
                                  file);
          if (sv_mkdir_parents (file, 0755, false, err) < 0)
            return sv_error_wrap (err, "disk %s", file);
        }
      if (op->sidecar_path && write_file (op->sidecar_path, op->sidecar_content, 0644, err) < 0)
        return sv_error_wrap (err, "disk %s", file);
      if (run_op (op, err) < 0)
        {
          /* Nothing half-made stays behind (a full or read-only /image):
           * the file did not exist before (checked above), so what is
           * there now is this failed attempt's, and the next start must
           * create it again, not take a broken overlay as the user's. */
          if (op->kind != SV_DISK_GROW)
            {
              unlink (file);
              if (op->sidecar_path)
                unlink (op->sidecar_path);
            }
          return sv_error_wrap (err, "disk %s", file);
        }
    }

  if (plan->seed_dir)
    {
      /* The seed may hold passwords and keys: readable by root only. */
      if (sv_mkdir_parents (plan->seed_dir, 0700, false, err) < 0)
        return sv_error_wrap (err, "cloud-init seed");
      cleanup_close int dfd = open_seed_dir (plan->seed_dir, err);
      if (dfd < 0)
        return sv_error_wrap (err, "cloud-init seed");
      if (clear_dir (dfd, plan->seed_dir, err) < 0)
        return sv_error_wrap (err, "cloud-init seed");
      for (size_t i = 0; i < plan->n_seed_files; i++)
        if (write_file_at (dfd, plan->seed_dir, plan->seed_files[i].name,
                           plan->seed_files[i].content, 0600, err)
            < 0)
          return sv_error_wrap (err, "cloud-init seed");
    }
  return 0;
}
