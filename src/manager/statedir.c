#include "statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "vm.h"

/* In <state>/<name>: the manager made this directory.  One without it is
 * someone else's, and create never adopts it. */
#define STATE_MARKER ".startvm-manager"

/* Remove a directory tree without following symlinks (a VM container
 * writes its own state directory). */
static void
rm_tree_at (int dfd, const char *name, int depth)
{
  if (depth > 16)
    return;
  int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      unlinkat (dfd, name, 0);
      return;
    }
  DIR *dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return;
    }
  struct dirent *de;
  while ((de = readdir (dir)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (de->d_type == DT_DIR)
        rm_tree_at (fd, de->d_name, depth + 1);
      else
        unlinkat (fd, de->d_name, 0);
    }
  closedir (dir);
  unlinkat (dfd, name, AT_REMOVEDIR);
}

/* Does the directory dfd hold nothing but the marker? */
static bool
only_marker (int dfd)
{
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return false;
    }
  bool only = true;
  struct dirent *de;
  while (only && (de = readdir (dir)))
    only = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0
           || strcmp (de->d_name, STATE_MARKER) == 0;
  closedir (dir);
  return only;
}

int
sv_mgr_state_dir_claim (const char *state_dir, const char *name, bool *made, bool *foreign,
                        sv_error_t *err)
{
  *made = *foreign = false;
  cleanup_close int top = open (state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "opening the state directory %s", state_dir);
  if (mkdirat (top, name, 0700) == 0)
    {
      *made = true;
      int sub = openat (top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int mfd = sub < 0 ? -1
                        : openat (sub, STATE_MARKER,
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      int e = errno;
      if (mfd >= 0)
        close (mfd);
      if (sub >= 0)
        close (sub);
      if (mfd < 0)
        return sv_error_errno (err, SV_EXIT_ENV, e, "creating %s/%s/%s", state_dir, name,
                               STATE_MARKER);
      return 0;
    }
  struct stat sb;
  if (errno != EEXIST)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s/%s", state_dir, name);
  if (fstatat (top, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (sb.st_mode))
    {
      if (errno != EEXIST)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s/%s", state_dir, name);
      return sv_error_config (err, "creating %s/%s: exists and is not a directory", state_dir,
                              name);
    }
  cleanup_close int sub = openat (top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0 || fstatat (sub, STATE_MARKER, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (sb.st_mode))
    {
      *foreign = true;
      return sv_error_config (err,
                              "the state directory %s/%s exists and the manager did not make it "
                              "(no %s in it): remove it or pick another name",
                              state_dir, name, STATE_MARKER);
    }
  return 0;
}

void
sv_mgr_state_dir_remove (const char *state_dir, const char *label, const char *id)
{
  if (!sv_mgr_state_label_ok (label))
    return;
  cleanup_close int top = open (state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0)
    return;
  cleanup_close int sub = openat (top, label, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0)
    return;
  if (id && sv_mgr_full_id (id))
    rm_tree_at (sub, id, 0);
  /* The marker goes with the last VM container's files, not before. */
  if (only_marker (sub))
    unlinkat (sub, STATE_MARKER, 0);
  unlinkat (top, label, AT_REMOVEDIR); /* only when empty */
}
