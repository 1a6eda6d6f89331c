/* disks: the observing half of disk handling (apply/apply_disks.c is the
 * other).
 *
 * sv_disks_observe looks (read-only) at the configured disks, or at the
 * RancherVM convention (/base_image, /image, /volumes) when vm.yaml lists
 * none, and at the cloud-init directory: stat, qemu-img info (exec'd, no
 * shell, without -U so a disk another QEMU holds shows up as locked),
 * the overlay's sidecar, a fingerprint of the base.  plan_disks.c decides. */
#include "disks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "cleanup.h"
#include "json.h"
#include "util.h"

#define SIDECAR_SUFFIX ".startvm-base"
#define QEMU_IMG "qemu-img"
#define SAMPLE_BYTES (1 << 20)

/* The top-level string member key of qemu-img's JSON, decoded into out. */
static bool
json_get_string (const struct sv_buf *json, const char *key, struct sv_buf *out)
{
  const char *v;
  size_t vl;
  return sv_json_member (json->data, json->len, key, &v, &vl) && sv_json_string (v, vl, out);
}

/* ---- observing ---- */

struct img_info
{
  char format[16];
  uint64_t virtual_size;
  char backing[SV_PATH_MAX]; /* as qemu-img resolves it, "" none */
};

/* qemu-img info --output=json [-f FORMAT] FILE.  Without -U: a disk that
 * a running QEMU holds fails to lock, which is what we want to know. */
static int
qemu_img_info (const char *file, const char *format, const char *what, struct img_info *info,
               sv_error_t *err)
{
  struct sv_strv a = { 0 };
  sv_strv_add (&a, QEMU_IMG);
  sv_strv_add (&a, "info");
  sv_strv_add (&a, "--output=json");
  if (format)
    {
      sv_strv_add (&a, "-f");
      sv_strv_add (&a, format);
    }
  sv_strv_add (&a, file);
  struct sv_capture c = { 0 };
  int rc = sv_spawn_capture (a.v, &c, err);
  sv_strv_free (&a);
  if (rc < 0)
    {
      sv_capture_free (&c);
      return sv_error_wrap (err, "%s %s", what, file);
    }
  if (!sv_capture_ok (&c))
    {
      cleanup_free char *line = sv_first_line (c.err.data);
      if (strstr (c.err.data, "lock"))
        rc = sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                            "%s %s is in use by another QEMU (%s)", what, file, line);
      else
        rc = sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "%s %s is not a usable image (%s)",
                            what, file, line);
      sv_capture_free (&c);
      return rc;
    }
  struct sv_buf v = { 0 };
  if (!json_get_string (&c.out, "format", &v) || v.len == 0 || v.len >= sizeof info->format)
    {
      sv_buf_free (&v);
      sv_capture_free (&c);
      return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                            "%s %s: qemu-img info reported no format", what, file);
    }
  snprintf (info->format, sizeof info->format, "%s", v.data);
  sv_buf_free (&v);
  const char *size;
  size_t size_len;
  info->virtual_size = 0;
  if (sv_json_member (c.out.data, c.out.len, "virtual-size", &size, &size_len))
    sv_json_u64 (size, size_len, &info->virtual_size);
  info->backing[0] = '\0';
  /* full-backing-filename is the one resolved against the image's
   * directory; older images may only have the raw name. */
  if (json_get_string (&c.out, "full-backing-filename", &v))
    snprintf (info->backing, sizeof info->backing, "%s", v.data);
  sv_buf_free (&v);
  if (info->backing[0] == '\0' && json_get_string (&c.out, "backing-filename", &v))
    snprintf (info->backing, sizeof info->backing, "%s", v.data);
  sv_buf_free (&v);
  sv_capture_free (&c);
  return 0;
}

/* Absolute path: relative ones are taken from the working directory. */
static int
absolute_path (const char *p, char *out, size_t len, const char *what, sv_error_t *err)
{
  int n;
  if (p[0] == '/')
    n = snprintf (out, len, "%s", p);
  else
    {
      char cwd[SV_PATH_MAX];
      if (getcwd (cwd, sizeof cwd) == NULL)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "%s %s: getcwd", what, p);
      n = snprintf (out, len, "%s/%s", cwd, p);
    }
  if (n < 0 || (size_t)n >= len)
    return sv_error_config (err, "%s %s: path too long (at most %zu bytes)", what, p, len - 1);
  return 0;
}

static uint64_t
fnv1a (uint64_t h, const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      h ^= p[i];
      h *= 0x100000001b3ULL;
    }
  return h;
}

/* Size, mtime, and a hash over the first and last MiB: cheap even for a
 * large base, and it changes when an image is replaced by another. */
static int
fingerprint (const char *path, struct sv_base_fingerprint *fp, sv_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "base image %s", path);
  struct stat s;
  if (fstat (fd, &s) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "base image %s", path);
  cleanup_free unsigned char *buf = sv_xmalloc (SAMPLE_BYTES);
  uint64_t h = 0xcbf29ce484222325ULL;
  uint64_t size = (uint64_t)s.st_size;
  off_t offsets[2] = { 0, size > 2 * SAMPLE_BYTES ? (off_t)(size - SAMPLE_BYTES) : SAMPLE_BYTES };
  for (int i = 0; i < 2; i++)
    {
      if ((uint64_t)offsets[i] >= size)
        break;
      ssize_t n = TEMP_FAILURE_RETRY (pread (fd, buf, SAMPLE_BYTES, offsets[i]));
      if (n < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "reading base image %s", path);
      h = fnv1a (h, buf, (size_t)n);
    }
  *fp = (struct sv_base_fingerprint){
    .valid = true, .size = size, .mtime = (int64_t)s.st_mtime, .sample = h
  };
  return 0;
}

/* The sidecar plan_disks wrote next to the overlay; absent or unreadable
 * means nothing was recorded (an overlay made by hand, or by RancherVM). */
static void
read_sidecar (const char *file, struct sv_base_fingerprint *fp)
{
  char path[SV_PATH_MAX + sizeof SIDECAR_SUFFIX];
  snprintf (path, sizeof path, "%s%s", file, SIDECAR_SUFFIX);
  cleanup_fclose FILE *f = fopen (path, "re");
  *fp = (struct sv_base_fingerprint){ 0 };
  if (f == NULL)
    return;
  char line[SV_PATH_MAX + 16];
  int have = 0;
  while (fgets (line, sizeof line, f))
    {
      if (strncmp (line, "size=", 5) == 0)
        fp->size = strtoull (line + 5, NULL, 10), have |= 1;
      else if (strncmp (line, "mtime=", 6) == 0)
        fp->mtime = strtoll (line + 6, NULL, 10), have |= 2;
      else if (strncmp (line, "sample=", 7) == 0)
        fp->sample = strtoull (line + 7, NULL, 16), have |= 4;
    }
  fp->valid = have == 7;
}

static bool
same_file (const char *a, const char *b)
{
  struct stat sa, sb;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
         && sa.st_ino == sb.st_ino;
}

/* QEMU's image locking (file-posix.c): a user holds a shared OFD lock on
 * byte 100+bit for each permission it has and on byte 200+bit for each
 * one it denies to others (bits: consistent read, write, write
 * unchanged, resize).  A write lock test on those bytes finds any such
 * user; qemu-img info alone does not for raw images, which it opens
 * without asking for a permission the holder denies. */
static int
check_image_lock (const char *file, bool readonly, sv_error_t *err)
{
  cleanup_close int fd = open (file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "disk %s", file);
  /* Read-only use conflicts only with a user that denies consistent
   * reads; read-write use with anyone who uses or denies it at all. */
  static const off_t rw_bytes[] = { 100, 101, 102, 103, 200, 201, 202, 203 };
  static const off_t ro_bytes[] = { 200 };
  const off_t *bytes = readonly ? ro_bytes : rw_bytes;
  size_t n = readonly ? 1 : sizeof rw_bytes / sizeof rw_bytes[0];
  for (size_t i = 0; i < n; i++)
    {
      struct flock fl
          = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = bytes[i], .l_len = 1 };
      if (fcntl (fd, F_OFD_GETLK, &fl) < 0)
        return 0; /* no OFD locks here: QEMU could not lock either */
      if (fl.l_type != F_UNLCK)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "disk %s is in use by another QEMU (it holds the image's lock)",
                              file);
    }
  return 0;
}

static bool
format_explicit (const char *f)
{
  return f && *f && strcmp (f, "auto") != 0;
}

static int
observe_disk (const char *file, const char *base, const char *format, bool readonly,
              struct sv_disk_state *st, sv_error_t *err)
{
  if (absolute_path (file, st->file, sizeof st->file, "disk", err) < 0)
    return -1;
  if (base && absolute_path (base, st->base, sizeof st->base, "base image", err) < 0)
    return -1;

  struct stat s;
  if (stat (st->file, &s) < 0)
    {
      if (errno != ENOENT)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "disk %s", st->file);
    }
  else if (S_ISDIR (s.st_mode))
    {
      st->exists = true;
      st->is_dir = true;
      return 0;
    }
  else
    {
      st->exists = true;
      if (check_image_lock (st->file, readonly, err) < 0)
        return -1;
      struct img_info info;
      if (qemu_img_info (st->file, format_explicit (format) ? format : NULL, "disk", &info, err)
          < 0)
        return -1;
      snprintf (st->format, sizeof st->format, "%s", info.format);
      st->virtual_size = info.virtual_size;
      if (info.backing[0])
        {
          snprintf (st->backing, sizeof st->backing, "%s", info.backing);
          st->backing_exists = access (st->backing, F_OK) == 0;
          st->backing_is_base = base && same_file (st->backing, st->base);
          read_sidecar (st->file, &st->recorded);
        }
    }

  if (base == NULL)
    return 0;
  if (stat (st->base, &s) < 0)
    {
      if (errno != ENOENT)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "base image %s", st->base);
      return 0;
    }
  if (S_ISDIR (s.st_mode))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "base image %s is a directory, not a disk image", st->base);
  st->base_exists = true;
  /* The base matters now only when an overlay is made on it, or to
   * compare it with what the existing overlay recorded. */
  if (!st->exists || st->recorded.valid)
    if (fingerprint (st->base, &st->base_fp, err) < 0)
      return -1;
  if (!st->exists)
    {
      struct img_info info;
      if (qemu_img_info (st->base, NULL, "base image", &info, err) < 0)
        return -1;
      snprintf (st->base_format, sizeof st->base_format, "%s", info.format);
      st->base_virtual_size = info.virtual_size;
      if (info.virtual_size == 0)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "base image %s is empty",
                              st->base);
    }
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (dotfiles skipped) ending in suffix ("" any).
 * *exists is false when the directory is missing. */
static int
list_dir (const char *dir, const char *suffix, bool regular_only, struct sv_strv *names,
          bool *exists, sv_error_t *err)
{
  DIR *d = opendir (dir);
  *exists = d != NULL;
  if (d == NULL)
    return errno == ENOENT ? 0 : sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s", dir);
  struct dirent *e;
  size_t slen = strlen (suffix);
  while ((e = readdir (d)))
    {
      size_t n = strlen (e->d_name);
      if (e->d_name[0] == '.' || n < slen || strcmp (e->d_name + n - slen, suffix) != 0)
        continue;
      if (regular_only)
        {
          struct stat s;
          char path[SV_PATH_MAX * 2];
          snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
          if (stat (path, &s) < 0 || !S_ISREG (s.st_mode))
            continue;
        }
      sv_strv_add (names, e->d_name);
    }
  closedir (d);
  if (names->n > 1)
    qsort (names->v, names->n, sizeof *names->v, cmp_str);
  return 0;
}

/* A cloud-init file from the directory: absent is fine, too big is not. */
static int
read_seed (const char *dir, const char *name, char *buf, bool *has, sv_error_t *err)
{
  char path[SV_PATH_MAX * 2];
  snprintf (path, sizeof path, "%s/%s", dir, name);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT || errno == ENOTDIR
               ? 0
               : sv_error_errno (err, SV_EXIT_ENV, errno, "cloud-init %s", path);
  ssize_t len = sv_read_fd (fd, buf, SV_SEED_MAX);
  if (len < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "reading cloud-init %s", path);
  if (len >= SV_SEED_MAX)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "cloud-init %s is larger than %d KiB (put it in vm.yaml "
                          "cloud_init instead)",
                          path, SV_SEED_MAX / 1024);
  buf[len] = '\0';
  *has = true;
  return 0;
}

int
sv_disks_observe (const struct sv_vm_config *cfg, struct sv_host *host, sv_error_t *err)
{
  struct sv_images_state *im = &host->images;
  /* Tests point the convention's directories at a temporary tree. */
  const char *root = getenv ("RANCHERVM_ROOT");
  if (root == NULL)
    root = "";
  if (*root && *root != '/')
    return sv_error_config (err, "RANCHERVM_ROOT=%s: must be an absolute path", root);
  if (strlen (root) > SV_PATH_MAX - 64)
    return sv_error_config (err, "RANCHERVM_ROOT: path too long");
  snprintf (im->root, sizeof im->root, "%s", root);
  size_t rl = strlen (im->root);
  if (rl > 1 && im->root[rl - 1] == '/')
    im->root[rl - 1] = '\0';
  else if (rl == 1)
    im->root[0] = '\0';

  host->n_disks = 0;
  if (cfg->n_disks > 0)
    {
      /* sv_cfg_validate has checked the count and that every disk has a
       * file; the bound only keeps a hand-built config in the array. */
      for (size_t i = 0; i < cfg->n_disks && i < SV_MAX_DISKS; i++)
        {
          const struct sv_disk_config *c = &cfg->disks[i];
          struct sv_disk_state *st = &host->disks[host->n_disks++];
          *st = (struct sv_disk_state){ 0 };
          bool ro = c->readonly || (c->media && strcmp (c->media, "cdrom") == 0);
          if (observe_disk (c->file, c->base, c->format, ro, st, err) < 0)
            return -1;
        }
    }
  else
    {
      char dir[SV_PATH_MAX + 64];
      struct sv_strv names = { 0 };
      snprintf (dir, sizeof dir, "%s/base_image", im->root);
      if (list_dir (dir, "", true, &names, &im->base_dir_exists, err) < 0)
        return -1;
      im->n_base_images = names.n;
      for (size_t i = 0; i < names.n && i < 2; i++)
        snprintf (im->base_images[i], sizeof im->base_images[i], "%s", names.v[i]);
      if (names.n == 1)
        {
          char file[SV_PATH_MAX + 64], base[SV_PATH_MAX * 2];
          snprintf (file, sizeof file, "%s/image/sda.qcow2", im->root);
          snprintf (base, sizeof base, "%s/%s", dir, names.v[0]);
          struct sv_disk_state *st = &host->disks[host->n_disks++];
          *st = (struct sv_disk_state){ .implicit = true };
          if (observe_disk (file, base, "qcow2", false, st, err) < 0)
            {
              sv_strv_free (&names);
              return -1;
            }
        }
      sv_strv_free (&names);

      bool have_volumes;
      snprintf (dir, sizeof dir, "%s/volumes", im->root);
      if (list_dir (dir, ".img", false, &names, &have_volumes, err) < 0)
        return -1;
      im->n_volumes = names.n;
      for (size_t i = 0; i < names.n; i++)
        {
          if (host->n_disks >= SV_MAX_DISKS)
            {
              sv_strv_free (&names);
              return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                                    "%s holds more than %d volumes", dir, SV_MAX_DISKS - 1);
            }
          char file[SV_PATH_MAX * 2];
          snprintf (file, sizeof file, "%s/%s", dir, names.v[i]);
          struct sv_disk_state *st = &host->disks[host->n_disks++];
          *st = (struct sv_disk_state){ .implicit = true };
          if (observe_disk (file, NULL, NULL, false, st, err) < 0)
            {
              sv_strv_free (&names);
              return -1;
            }
        }
      sv_strv_free (&names);
    }

  char ci[SV_PATH_MAX + 64];
  snprintf (ci, sizeof ci, "%s/etc/ranchervm/cloud-init", im->root);
  if (read_seed (ci, "user-data", im->user_data, &im->has_user_data, err) < 0
      || read_seed (ci, "meta-data", im->meta_data, &im->has_meta_data, err) < 0
      || read_seed (ci, "network-config", im->network_config, &im->has_network_config, err) < 0)
    return -1;
  return 0;
}
