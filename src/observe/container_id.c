/* Container id discovery.  Runtimes and cgroup layouts keep changing (the
 * original RancherVM broke when /proc/self/cgroup changed format), so the
 * parsers look for the id's shape (64 hex digits as a whole path component,
 * optionally wrapped as "<runtime>-<id>.scope") rather than for one fixed
 * layout, and each supported layout has a recorded sample in
 * tests/data/cgroup/. */
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_id.h"
#include "util.h"

#define ID_HEX_LEN 64
#define UUID_LEN 36

static bool
is_hex_run (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isxdigit ((unsigned char)s[i]))
      return false;
  return true;
}

static void
copy_id (const char *s, size_t n, char *buf, size_t len)
{
  if (len == 0)
    return;
  if (n >= len)
    n = len - 1;
  memcpy (buf, s, n);
  buf[n] = '\0';
}

/* One path component: "<64hex>", "<prefix>-<64hex>" or either with a
 * ".scope" suffix (systemd cgroup driver).  Conmon's own scope
 * ("libpod-conmon-<id>.scope") names the monitor, not the container: the
 * container's processes never sit in it, but refuse it anyway. */
static bool
id_from_component (const char *c, size_t n, char *buf, size_t len)
{
  static const char scope[] = ".scope";
  size_t sl = sizeof scope - 1;
  if (n > sl && memcmp (c + n - sl, scope, sl) == 0)
    n -= sl;
  if (n < ID_HEX_LEN)
    return false;
  const char *id = c + n - ID_HEX_LEN;
  if (!is_hex_run (id, ID_HEX_LEN))
    return false;
  if (id != c)
    {
      /* A prefix must end in '-' (docker-, libpod-, cri-containerd-, crio-). */
      if (id[-1] != '-')
        return false;
      if (memmem (c, (size_t)(id - c), "conmon", 6) != NULL)
        return false;
    }
  copy_id (id, ID_HEX_LEN, buf, len);
  return true;
}

/* The last component of path[0..n) that carries an id: with nested
 * containers (docker in docker) the innermost one is ours. */
static bool
id_from_path (const char *path, size_t n, char *buf, size_t len)
{
  size_t end = n;
  while (end > 0)
    {
      size_t start = end;
      while (start > 0 && path[start - 1] != '/')
        start--;
      if (end > start && id_from_component (path + start, end - start, buf, len))
        return true;
      if (start == 0)
        break;
      end = start - 1;
    }
  return false;
}

/* /proc/self/cgroup: "hierarchy:controllers:path" per line, v1 and v2
 * ("0::path") alike.  Inside a cgroup namespace the path is "/" and
 * carries nothing: the caller falls through to mountinfo. */
bool
sv_container_id_from_cgroup (const char *text, char *buf, size_t len)
{
  for (const char *line = text; line && *line;)
    {
      const char *nl = strchr (line, '\n');
      size_t llen = nl ? (size_t)(nl - line) : strlen (line);
      const char *c1 = memchr (line, ':', llen);
      const char *c2 = c1 ? memchr (c1 + 1, ':', llen - (size_t)(c1 + 1 - line)) : NULL;
      if (c2)
        {
          const char *path = c2 + 1;
          if (id_from_path (path, llen - (size_t)(path - line), buf, len))
            return true;
        }
      line = nl ? nl + 1 : NULL;
    }
  return false;
}

/* Kubelet bind-mounts /etc/hosts from /var/lib/kubelet/pods/<uid>/etc-hosts:
 * the pod UID is the best id left when the runtime's paths are hidden. */
static bool
pod_uid_from_path (const char *path, size_t n, char *buf, size_t len)
{
  static const char pods[] = "/pods/";
  const char *p = memmem (path, n, pods, sizeof pods - 1);
  if (p == NULL)
    return false;
  p += sizeof pods - 1;
  size_t rest = n - (size_t)(p - path);
  if (rest < UUID_LEN || (rest > UUID_LEN && p[UUID_LEN] != '/'))
    return false;
  for (size_t i = 0; i < UUID_LEN; i++)
    {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? p[i] != '-' : !isxdigit ((unsigned char)p[i]))
        return false;
    }
  copy_id (p, UUID_LEN, buf, len);
  return true;
}

/* /proc/self/mountinfo: "id parent maj:min root mountpoint ...".  The
 * runtime bind-mounts /etc/hostname, /etc/hosts and /etc/resolv.conf from
 * its per-container directory, and the "root" field is that source path:
 *   docker     /var/lib/docker/containers/<id>/hostname
 *   podman     /var/lib/containers/storage/overlay-containers/<id>/userdata/hostname
 *   containerd /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/<id>/hostname
 * (relative to its filesystem, so /var may be cut off).  Only those three
 * mount points are trusted: the root overlay's options name layer ids,
 * which are 64 hex too but not the container's. */
bool
sv_container_id_from_mountinfo (const char *text, char *buf, size_t len)
{
  static const char *const targets[] = { "/etc/hostname", "/etc/hosts", "/etc/resolv.conf" };
  char uid[UUID_LEN + 1] = "";

  for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++)
    for (const char *line = text; line && *line;)
      {
        const char *nl = strchr (line, '\n');
        size_t llen = nl ? (size_t)(nl - line) : strlen (line);
        /* Fields 4 (root) and 5 (mount point), space-separated. */
        const char *f[5];
        size_t fl[5];
        const char *p = line, *end = line + llen;
        size_t nf = 0;
        while (nf < 5 && p < end)
          {
            while (p < end && *p == ' ')
              p++;
            const char *s = p;
            while (p < end && *p != ' ')
              p++;
            f[nf] = s;
            fl[nf] = (size_t)(p - s);
            nf++;
          }
        if (nf == 5 && fl[4] == strlen (targets[t]) && memcmp (f[4], targets[t], fl[4]) == 0)
          {
            /* Drop the file name: the id is a directory component. */
            size_t rl = fl[3];
            while (rl > 0 && f[3][rl - 1] != '/')
              rl--;
            if (rl > 0 && id_from_path (f[3], rl - 1, buf, len))
              return true;
            if (uid[0] == '\0')
              pod_uid_from_path (f[3], fl[3], uid, sizeof uid);
          }
        line = nl ? nl + 1 : NULL;
      }
  if (uid[0] != '\0')
    {
      copy_id (uid, UUID_LEN, buf, len);
      return true;
    }
  return false;
}

/* Whole small /proc file into buf (NUL-terminated); false on any error.
 * /proc files report size 0, so read until EOF. */
static bool
read_small_file (const char *path, char *buf, size_t size)
{
  ssize_t n = sv_read_file (path, buf, size - 1);
  if (n < 0)
    return false;
  buf[n] = '\0';
  return true;
}

void
sv_container_id (char *buf, size_t len)
{
  /* mountinfo in a container is a few KiB; 64 KiB holds any sane one. */
  cleanup_free char *text = sv_xmalloc (64 * 1024);
  if (len == 0)
    return;
  if (read_small_file ("/proc/self/cgroup", text, 64 * 1024)
      && sv_container_id_from_cgroup (text, buf, len))
    return;
  if (read_small_file ("/proc/self/mountinfo", text, 64 * 1024)
      && sv_container_id_from_mountinfo (text, buf, len))
    return;
  if (gethostname (buf, len) < 0)
    buf[0] = '\0';
  buf[len - 1] = '\0';
  /* The id names a directory: never let a hostname escape it. */
  for (char *s = buf; *s; s++)
    if (*s == '/')
      *s = '_';
  if (buf[0] == '\0' || strcmp (buf, ".") == 0 || strcmp (buf, "..") == 0)
    copy_id ("unknown", 7, buf, len);
}
