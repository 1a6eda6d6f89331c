/* status.json (see status_file.h and docs/status.md). */
#include "status_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"

static const char *const phase_names[] = {
  [SV_PHASE_STARTING] = "starting", [SV_PHASE_BOOTING] = "booting", [SV_PHASE_READY] = "ready",
  [SV_PHASE_STOPPING] = "stopping", [SV_PHASE_STOPPED] = "stopped", [SV_PHASE_FAILED] = "failed",
};

const char *
sv_phase_name (enum sv_phase phase)
{
  if ((size_t)phase < sizeof phase_names / sizeof phase_names[0])
    return phase_names[phase];
  return "unknown";
}

bool
sv_phase_parse (const char *s, enum sv_phase *out)
{
  for (size_t i = 0; i < sizeof phase_names / sizeof phase_names[0]; i++)
    if (strcmp (s, phase_names[i]) == 0)
      {
        *out = (enum sv_phase)i;
        return true;
      }
  return false;
}

int64_t
sv_status_now_ms (void)
{
  return sv_clock_ms (CLOCK_REALTIME);
}

void
sv_status_format_time (int64_t ms, char *buf, size_t len)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char day[32];
  if (gmtime_r (&t, &tm) == NULL || strftime (day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    {
      snprintf (buf, len, "1970-01-01T00:00:00.000Z");
      return;
    }
  snprintf (buf, len, "%s.%03dZ", day, (int)(ms % 1000));
}

/* "2026-11-30T00:12:03.123Z" (the milliseconds optional) -> ms. */
static bool
parse_time (const char *s, int64_t *out)
{
  struct tm tm = { 0 };
  int ms = 0, n = 0;
  if (sscanf (s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
              &tm.tm_min, &tm.tm_sec, &n)
          != 6
      || n != 19)
    return false;
  s += n;
  if (*s == '.')
    {
      int digits = 0;
      for (s++; *s >= '0' && *s <= '9'; s++, digits++)
        if (digits < 3)
          ms = ms * 10 + (*s - '0');
      if (digits == 0)
        return false;
      for (; digits < 3; digits++)
        ms *= 10;
    }
  if (strcmp (s, "Z") != 0)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm (&tm);
  if (t == (time_t)-1)
    return false;
  *out = (int64_t)t * 1000 + ms;
  return true;
}

/* ---- rendering ---- */

static void
add_key (struct sv_buf *b, const char *key)
{
  sv_buf_addf (b, "%s\n  \"%s\": ", b->len > 2 ? "," : "", key);
}

static void
add_str_or_null (struct sv_buf *b, const char *s)
{
  if (s && *s)
    sv_buf_add_json_string (b, s);
  else
    sv_buf_add (b, "null");
}

static void
add_time (struct sv_buf *b, int64_t ms)
{
  char t[40];
  if (ms <= 0)
    {
      sv_buf_add (b, "null");
      return;
    }
  sv_status_format_time (ms, t, sizeof t);
  sv_buf_addf (b, "\"%s\"", t);
}

static void
render_iface (const struct sv_status_iface *f, struct sv_buf *b)
{
  sv_buf_add (b, "{ \"name\": ");
  sv_buf_add_json_string (b, f->name);
  sv_buf_add (b, ", \"bridge\": ");
  add_str_or_null (b, f->bridge);
  sv_buf_add (b, ", \"container_mac\": ");
  add_str_or_null (b, f->container_mac);
  sv_buf_add (b, ", \"vm_mac\": ");
  add_str_or_null (b, f->vm_mac);
  sv_buf_add (b, ", \"addresses\": [");
  for (size_t i = 0; i < f->n_addresses && i < SV_STATUS_MAX_ADDRS; i++)
    {
      sv_buf_add (b, i ? ", " : "");
      sv_buf_add_json_string (b, f->addresses[i]);
    }
  sv_buf_addf (b, "], \"dhcp\": %s, \"dhcp_discover_at\": ", f->dhcp ? "true" : "false");
  add_time (b, f->dhcp_discover_ms);
  sv_buf_add (b, ", \"lease_acked_at\": ");
  add_time (b, f->lease_acked_ms);
  sv_buf_add (b, " }");
}

void
sv_status_render (const struct sv_status *st, struct sv_buf *b)
{
  struct sv_buf o = { 0 };
  sv_buf_add (&o, "{");
  add_key (&o, "version");
  sv_buf_addf (&o, "%d", SV_STATUS_VERSION);
  add_key (&o, "phase");
  sv_buf_addf (&o, "\"%s\"", sv_phase_name (st->phase));
  add_key (&o, "error");
  add_str_or_null (&o, st->error);
  add_key (&o, "exit_status");
  if (st->exit_status >= 0)
    sv_buf_addf (&o, "%d", st->exit_status);
  else
    sv_buf_add (&o, "null");
  add_key (&o, "supervised");
  sv_buf_add (&o, st->supervised ? "true" : "false");
  add_key (&o, "resumed");
  sv_buf_add (&o, st->resumed ? "true" : "false");
  add_key (&o, "suspended");
  sv_buf_add (&o, st->suspended ? "true" : "false");
  add_key (&o, "shutdown_mode");
  add_str_or_null (&o, st->shutdown_mode);
  add_key (&o, "container_id");
  sv_buf_add_json_string (&o, st->container_id);
  add_key (&o, "name");
  sv_buf_add_json_string (&o, st->name);
  add_key (&o, "accel");
  add_str_or_null (&o, st->accel);
  add_key (&o, "accel_reason");
  add_str_or_null (&o, st->accel_reason);
  add_key (&o, "memory_mib");
  sv_buf_addf (&o, "%" PRIu64, st->memory_mib);
  add_key (&o, "cpus");
  sv_buf_addf (&o, "%u", st->cpus);
  add_key (&o, "interfaces");
  sv_buf_add (&o, "[");
  for (size_t i = 0; i < st->n_ifaces && i < SV_STATUS_MAX_IFACES; i++)
    {
      sv_buf_add (&o, i ? ",\n    " : "\n    ");
      render_iface (&st->ifaces[i], &o);
    }
  sv_buf_add (&o, st->n_ifaces ? "\n  ]" : "]");
  add_key (&o, "vnc");
  add_str_or_null (&o, st->vnc);
  add_key (&o, "qmp");
  add_str_or_null (&o, st->qmp);
  add_key (&o, "started_at");
  add_time (&o, st->started_ms);
  add_key (&o, "qemu_started_at");
  add_time (&o, st->qemu_started_ms);
  add_key (&o, "updated_at");
  add_time (&o, st->updated_ms);
  add_key (&o, "phase_since");
  add_time (&o, st->phase_since_ms);
  add_key (&o, "pid");
  sv_buf_addf (&o, "%d", st->pid);
  add_key (&o, "pid_start");
  sv_buf_addf (&o, "%" PRIu64, st->pid_start);
  add_key (&o, "pid_ns");
  add_str_or_null (&o, st->pid_ns);
  sv_buf_add (&o, "\n}\n");
  sv_buf_addn (b, o.data, o.len);
  sv_buf_free (&o);
}

/* ---- parsing ---- */

/* Member key of obj as a string into dst (truncated to fit); false when
 * absent, null or not a string. */
static bool
get_str (const char *obj, size_t len, const char *key, char *dst, size_t dlen)
{
  const char *v;
  size_t vlen;
  dst[0] = '\0';
  if (!sv_json_member (obj, len, key, &v, &vlen) || vlen == 0 || v[0] != '"')
    return false;
  struct sv_buf s = { 0 };
  bool ok = sv_json_string (v, vlen, &s);
  if (ok)
    snprintf (dst, dlen, "%s", s.data ? s.data : "");
  sv_buf_free (&s);
  return ok;
}

static bool
get_bool (const char *obj, size_t len, const char *key, bool *out)
{
  const char *v;
  size_t vlen;
  if (!sv_json_member (obj, len, key, &v, &vlen))
    return false;
  if (vlen == 4 && memcmp (v, "true", 4) == 0)
    *out = true;
  else if (vlen == 5 && memcmp (v, "false", 5) == 0)
    *out = false;
  else
    return false;
  return true;
}

static void
get_time (const char *obj, size_t len, const char *key, int64_t *out)
{
  char t[64];
  *out = 0;
  if (get_str (obj, len, key, t, sizeof t) && !parse_time (t, out))
    *out = 0;
}

static void
parse_iface (const char *el, size_t len, struct sv_status_iface *f)
{
  memset (f, 0, sizeof *f);
  get_str (el, len, "name", f->name, sizeof f->name);
  get_str (el, len, "bridge", f->bridge, sizeof f->bridge);
  get_str (el, len, "container_mac", f->container_mac, sizeof f->container_mac);
  get_str (el, len, "vm_mac", f->vm_mac, sizeof f->vm_mac);
  get_bool (el, len, "dhcp", &f->dhcp);
  get_time (el, len, "dhcp_discover_at", &f->dhcp_discover_ms);
  get_time (el, len, "lease_acked_at", &f->lease_acked_ms);
  const char *v, *pos = NULL, *a;
  size_t vlen, alen;
  if (!sv_json_member (el, len, "addresses", &v, &vlen))
    return;
  while (f->n_addresses < SV_STATUS_MAX_ADDRS && sv_json_array_next (v, vlen, &pos, &a, &alen))
    {
      struct sv_buf s = { 0 };
      if (alen > 0 && a[0] == '"' && sv_json_string (a, alen, &s))
        snprintf (f->addresses[f->n_addresses++], sizeof f->addresses[0], "%s",
                  s.data ? s.data : "");
      sv_buf_free (&s);
    }
}

int
sv_status_parse (const char *json, size_t len, struct sv_status *out, sv_error_t *err)
{
  memset (out, 0, sizeof *out);
  out->exit_status = -1;
  if (len == 0)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "empty file");
  if (!sv_json_is_object (json, len))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                          "not a JSON object (truncated or not written by startvm)");
  uint64_t u;
  if (!sv_json_member_u64 (json, len, "version", &u))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "no \"version\"");
  if (u == 0 || u > SV_STATUS_VERSION)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                          "format version %" PRIu64 " (this startvm reads up to %d)", u,
                          SV_STATUS_VERSION);
  out->version = (int)u;
  char phase[32];
  if (!get_str (json, len, "phase", phase, sizeof phase))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "no \"phase\"");
  if (!sv_phase_parse (phase, &out->phase))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "unknown phase \"%s\"", phase);
  get_str (json, len, "error", out->error, sizeof out->error);
  if (sv_json_member_u64 (json, len, "exit_status", &u) && u < 256)
    out->exit_status = (int)u;
  out->supervised = true;
  get_bool (json, len, "supervised", &out->supervised);
  get_bool (json, len, "resumed", &out->resumed);
  get_bool (json, len, "suspended", &out->suspended);
  get_str (json, len, "shutdown_mode", out->shutdown_mode, sizeof out->shutdown_mode);
  get_str (json, len, "container_id", out->container_id, sizeof out->container_id);
  get_str (json, len, "name", out->name, sizeof out->name);
  get_str (json, len, "accel", out->accel, sizeof out->accel);
  get_str (json, len, "accel_reason", out->accel_reason, sizeof out->accel_reason);
  if (sv_json_member_u64 (json, len, "memory_mib", &u))
    out->memory_mib = u;
  if (sv_json_member_u64 (json, len, "cpus", &u) && u < 1u << 20)
    out->cpus = (unsigned)u;
  get_str (json, len, "vnc", out->vnc, sizeof out->vnc);
  get_str (json, len, "qmp", out->qmp, sizeof out->qmp);
  get_time (json, len, "started_at", &out->started_ms);
  get_time (json, len, "qemu_started_at", &out->qemu_started_ms);
  get_time (json, len, "updated_at", &out->updated_ms);
  get_time (json, len, "phase_since", &out->phase_since_ms);
  if (sv_json_member_u64 (json, len, "pid", &u) && u < 1u << 30)
    out->pid = (int)u;
  if (sv_json_member_u64 (json, len, "pid_start", &u))
    out->pid_start = u;
  get_str (json, len, "pid_ns", out->pid_ns, sizeof out->pid_ns);

  const char *v, *pos = NULL, *el;
  size_t vlen, ellen;
  if (sv_json_member (json, len, "interfaces", &v, &vlen))
    while (out->n_ifaces < SV_STATUS_MAX_IFACES && sv_json_array_next (v, vlen, &pos, &el, &ellen))
      if (sv_json_is_object (el, ellen))
        parse_iface (el, ellen, &out->ifaces[out->n_ifaces++]);
  return 0;
}

/* ---- files ---- */

int
sv_status_write (const char *dir, const struct sv_status *st, sv_error_t *err)
{
  char tmp[4096], path[4096];
  if ((size_t)snprintf (tmp, sizeof tmp, "%s/.%s.tmp", dir, SV_STATUS_FILE) >= sizeof tmp
      || (size_t)snprintf (path, sizeof path, "%s/%s", dir, SV_STATUS_FILE) >= sizeof path)
    return sv_error_errno (err, SV_EXIT_ENV, ENAMETOOLONG, "writing %s/%s", dir, SV_STATUS_FILE);
  struct sv_buf b = { 0 };
  sv_status_render (st, &b);
  /* A new file each time rather than O_TRUNC over the last one: ext4
   * flushes a truncated-and-rewritten file on close (auto_da_alloc); and
   * O_EXCL never follows a link left in its place. */
  if (unlink (tmp) < 0 && errno != ENOENT)
    {
      sv_buf_free (&b);
      return sv_error_errno (err, SV_EXIT_ENV, errno, "removing %s", tmp);
    }
  int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      sv_buf_free (&b);
      return sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", path);
    }
  int r = sv_write_all (fd, b.data, b.len);
  int e = errno;
  sv_buf_free (&b);
  if (close (fd) < 0 && r == 0)
    {
      r = -1;
      e = errno;
    }
  /* Exchange, then drop the old file, rather than rename over it: ext4
   * (auto_da_alloc) starts writing back a file renamed over another one
   * before rename returns, 4 to 13 ms here under load against 0.05 ms for
   * the exchange (bench/status).  Either way a reader sees the old file or
   * the new one.  No status.json yet, or a file system without exchange
   * (EINVAL): a plain rename. */
  if (r == 0)
    {
      if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
        unlink (tmp);
      else if (rename (tmp, path) < 0)
        {
          r = -1;
          e = errno;
        }
    }
  if (r < 0)
    {
      unlink (tmp);
      return sv_error_errno (err, SV_EXIT_ENV, e, "writing %s", path);
    }
  return 0;
}

int
sv_status_read_file (const char *path, char **out, size_t *len, sv_error_t *err)
{
  return sv_status_read_at (AT_FDCWD, path, out, len, err);
}

int
sv_status_read_at (int dirfd, const char *path, char **out, size_t *len, sv_error_t *err)
{
  /* O_NOFOLLOW and O_NONBLOCK: the directory may belong to a VM
   * container; a link or a FIFO planted there must not make a reader on
   * the host follow it or hang. */
  cleanup_close int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s", path);
  if (!S_ISREG (st.st_mode))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "%s: not a regular file", path);
  if (st.st_size > SV_STATUS_MAX_BYTES)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "%s: larger than %d bytes", path,
                          SV_STATUS_MAX_BYTES);
  /* One byte more than the limit tells a larger file (it may have grown). */
  char *buf = sv_xmalloc (SV_STATUS_MAX_BYTES + 2);
  ssize_t n = sv_read_fd (fd, buf, SV_STATUS_MAX_BYTES + 1);
  if (n < 0)
    {
      int e = errno;
      free (buf);
      return sv_error_errno (err, SV_EXIT_ENV, e, "reading %s", path);
    }
  if (n > SV_STATUS_MAX_BYTES)
    {
      free (buf);
      return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "%s: larger than %d bytes", path,
                            SV_STATUS_MAX_BYTES);
    }
  buf[n] = '\0';
  *out = buf;
  *len = (size_t)n;
  return 0;
}

/* Field 22 of /proc/<pid>/stat (after the parenthesised comm, which may
 * itself hold spaces and parentheses). */
static bool
proc_start_time (int pid, uint64_t *out)
{
  char path[64], buf[1024];
  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = TEMP_FAILURE_RETRY (read (fd, buf, sizeof buf - 1));
  if (n <= 0)
    return false;
  buf[n] = '\0';
  char *p = strrchr (buf, ')');
  if (p == NULL)
    return false;
  /* After ")": field 3 (state) ... field 22 (starttime). */
  p++;
  for (int field = 3; field <= 22; field++)
    {
      while (*p == ' ')
        p++;
      if (field == 22)
        {
          char *end;
          errno = 0;
          unsigned long long v = strtoull (p, &end, 10);
          if (end == p || errno)
            return false;
          *out = v;
          return true;
        }
      p = strchr (p, ' ');
      if (p == NULL)
        return false;
    }
  return false;
}

static void
self_pid_ns (char *buf, size_t len)
{
  ssize_t n = readlink ("/proc/self/ns/pid", buf, len - 1);
  buf[n > 0 ? n : 0] = '\0';
}

void
sv_status_self (int *pid, uint64_t *pid_start, char *pid_ns, size_t ns_len)
{
  *pid = (int)getpid ();
  *pid_start = 0;
  proc_start_time (*pid, pid_start);
  self_pid_ns (pid_ns, ns_len);
}

bool
sv_status_writer_gone (const struct sv_status *st)
{
  char ns[64];
  uint64_t start;
  if (st->pid <= 0 || st->pid_ns[0] == '\0')
    return false;
  self_pid_ns (ns, sizeof ns);
  if (strcmp (ns, st->pid_ns) != 0)
    return false;
  if (!proc_start_time (st->pid, &start))
    return true;
  return st->pid_start != 0 && start != st->pid_start;
}

/* ---- for people ---- */

static void
add_ago (struct sv_buf *b, int64_t ms, int64_t now)
{
  char t[40];
  sv_status_format_time (ms, t, sizeof t);
  int64_t d = now - ms;
  if (d < 0)
    d = 0;
  if (d < 120000)
    sv_buf_addf (b, "%s (%.1f s ago)", t, (double)d / 1000.0);
  else if (d < 7200000)
    sv_buf_addf (b, "%s (%" PRId64 " min ago)", t, d / 60000);
  else
    sv_buf_addf (b, "%s (%" PRId64 " h ago)", t, d / 3600000);
}

void
sv_status_describe (const struct sv_status *st, bool writer_gone, struct sv_buf *b)
{
  int64_t now = sv_status_now_ms ();
  sv_buf_add (b, "VM ");
  sv_buf_add_shell_word (b, st->name[0] ? st->name : "(unnamed)");
  sv_buf_addf (b, " (container %.12s)\n", st->container_id);
  sv_buf_add (b, "  phase:     ");
  if (!st->supervised)
    {
      sv_buf_add (b, "unknown: not supervised (shutdown.mode exec); QEMU replaced startvm, "
                     "so nothing follows the guest or updates this file\n");
      if (st->qemu_started_ms > 0)
        {
          sv_buf_add (b, "  QEMU:      started ");
          add_ago (b, st->qemu_started_ms, now);
          sv_buf_add (b, "\n");
        }
    }
  else
    {
      sv_buf_add (b, sv_phase_name (st->phase));
      if (st->phase_since_ms > 0)
        {
          sv_buf_add (b, " since ");
          add_ago (b, st->phase_since_ms, now);
        }
      sv_buf_add (b, "\n");
      if (writer_gone && st->phase != SV_PHASE_STOPPED && st->phase != SV_PHASE_FAILED)
        sv_buf_addf (b,
                     "  WARNING:   startvm (pid %d) is no longer running: the phase above is "
                     "its last word, not the VM's state\n",
                     st->pid);
    }
  if (st->error[0])
    {
      sv_buf_add (b, "  error:     ");
      /* The error may quote config values: one line, escaped. */
      for (const char *p = st->error; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
          sv_buf_addf (b, "\\x%02x", (unsigned char)*p);
        else
          sv_buf_addc (b, *p);
      sv_buf_add (b, "\n");
    }
  if (st->exit_status >= 0)
    sv_buf_addf (b, "  exit:      %d\n", st->exit_status);
  sv_buf_addf (b, "  machine:   %s, %" PRIu64 " MiB, %u CPU%s", st->accel[0] ? st->accel : "?",
               st->memory_mib, st->cpus, st->cpus == 1 ? "" : "s");
  if (st->accel_reason[0])
    sv_buf_addf (b, " (%s)", st->accel_reason);
  sv_buf_add (b, "\n");
  for (size_t i = 0; i < st->n_ifaces; i++)
    {
      const struct sv_status_iface *f = &st->ifaces[i];
      sv_buf_addf (b, "  %-10s ", f->name[0] ? f->name : "?");
      for (size_t a = 0; a < f->n_addresses; a++)
        sv_buf_addf (b, "%s%s", a ? ", " : "", f->addresses[a]);
      sv_buf_addf (b, "%sVM MAC %s", f->n_addresses ? ", " : "", f->vm_mac);
      if (!f->dhcp)
        sv_buf_add (b, ", no DHCP\n");
      else if (f->lease_acked_ms > 0)
        {
          sv_buf_add (b, ", lease acknowledged ");
          add_ago (b, f->lease_acked_ms, now);
          sv_buf_add (b, "\n");
        }
      else
        sv_buf_add (b, ", lease not acknowledged yet\n");
    }
  if (st->vnc[0])
    sv_buf_addf (b, "  VNC:       %s\n", st->vnc);
  if (st->qmp[0])
    sv_buf_addf (b, "  QMP:       %s\n", st->qmp);
  if (st->started_ms > 0)
    {
      sv_buf_add (b, "  started:   ");
      add_ago (b, st->started_ms, now);
      sv_buf_add (b, "\n");
    }
}
