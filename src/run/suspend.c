/* shutdown.mode suspend (see suspend.h).  Decisions, documented in
 * docs/operations.md "Suspend":
 *   - The state goes through an fd startvm opened (QMP getfd + migrate
 *     fd:), never a shell or a path QEMU opens itself; 0600, O_NOFOLLOW.
 *   - The guest is stopped first (QMP stop), so the migration is one pass
 *     over RAM; max-bandwidth is raised from QEMU 7.2's 32 MiB/s.
 *   - vmstate.tmp is fsynced; vmstate.json is written once QEMU quit, so
 *     the disks' identity (size, mtime, inode) is the final one; then
 *     vmstate and vmstate.json are renamed into place (state first: a
 *     state without its json is never resumed) and the directory fsynced.
 *   - A state is used once: removed once the resumed guest runs.  What
 *     cannot be resumed is renamed vmstate.stale-<UTC time>[.json]. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cleanup.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "qmp.h"
#include "suspend.h"
#include "util.h"

#define VMSTATE_FORMAT 1
/* Bytes per second for the save: the guest is stopped, nothing to
 * converge, so no cap (QEMU 7.2's default is 32 MiB/s). */
#define SAVE_BANDWIDTH "137438953472"
#define POLL_MS 20
#define JSON_MAX (1 << 20)

static char *
data_path (const struct sv_plan *plan, const char *name)
{
  return sv_xasprintf ("%s/%s", plan->data_dir, name);
}

static void
fsync_dir (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

/* The first line of `QEMU --version`; "" when it cannot be run. */
static char *
qemu_version (const struct sv_plan *plan)
{
  char *argv[] = { plan->qemu_argv[0], (char *)"--version", NULL };
  struct sv_capture c = { 0 };
  cleanup_error sv_error_t err = NULL;
  char *v = NULL;
  if (sv_spawn_capture (argv, &c, &err) == 0 && sv_capture_ok (&c))
    v = sv_first_line (c.out.data ? c.out.data : "");
  sv_capture_free (&c);
  return v ? v : sv_xstrdup ("");
}

static bool
is_mac_at (const char *s)
{
  for (int i = 0; i < 17; i++)
    {
      char c = s[i];
      if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return false;
    }
  return true;
}

/* One argument as the fingerprint sees it; MACs found go to macs. */
static char *
normalize_arg (const char *a, const char *run_dir, struct sv_strv *macs)
{
  struct sv_buf b = { 0 };
  size_t rl = run_dir ? strlen (run_dir) : 0;
  sv_buf_add (&b, "");
  while (*a)
    {
      if (rl > 0 && strncmp (a, run_dir, rl) == 0)
        {
          sv_buf_add (&b, "$RUN");
          a += rl;
        }
      else if (strncmp (a, "mac=", 4) == 0 && is_mac_at (a + 4))
        {
          if (macs)
            {
              char m[18];
              memcpy (m, a + 4, 17);
              m[17] = '\0';
              sv_strv_add (macs, m);
            }
          sv_buf_add (&b, "mac=*");
          a += 4 + 17;
        }
      else
        sv_buf_addc (&b, *a++);
    }
  return sv_buf_steal (&b);
}

static void
hardware (const struct sv_plan *plan, struct sv_strv *hw, struct sv_strv *macs)
{
  for (char **a = plan->qemu_argv; *a; a++)
    {
      char *n = normalize_arg (*a, plan->run_dir, macs);
      sv_strv_add (hw, n);
      free (n);
    }
}

char **
sv_suspend_hardware (const struct sv_plan *plan)
{
  struct sv_strv hw = { 0 };
  hardware (plan, &hw, NULL);
  if (hw.v == NULL)
    sv_strv_add (&hw, "");
  return hw.v;
}

/* Each writable disk: "FILE size=N mtime=S.NNNNNNNNN inode=N", or
 * "FILE missing". */
static void
add_identity (const char *file, struct sv_strv *out)
{
  struct stat st;
  if (stat (file, &st) < 0)
    sv_strv_addf (out, "%s missing", file);
  else
    sv_strv_addf (out, "%s size=%jd mtime=%jd.%09ld inode=%ju", file, (intmax_t)st.st_size,
                  (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (uintmax_t)st.st_ino);
}

static void
disk_identities (const struct sv_vm_config *cfg, const struct sv_plan *plan, struct sv_strv *out)
{
  /* The UEFI variable store is a writable pflash: the guest's view of it
   * must be the file's. */
  if (plan->firmware != SV_FIRMWARE_BIOS && plan->data_dir)
    {
      cleanup_free char *vars = data_path (plan, "efivars.fd");
      add_identity (vars, out);
    }
  for (size_t i = 0; i < cfg->n_disks; i++)
    {
      const struct sv_disk_config *d = &cfg->disks[i];
      if (d->readonly || (d->media && strcmp (d->media, "cdrom") == 0) || d->file == NULL)
        continue;
      add_identity (d->file, out);
    }
}

/* What DHCP gives the guest (dnsmasq.conf's dhcp-range, dhcp-host and
 * dhcp-option lines): its addresses, gateway, DNS, hostname, MTU.  A
 * resumed guest keeps the lease it had, so these must not change. */
static void
network_identity (const struct sv_plan *plan, struct sv_strv *out)
{
  const char *p = plan->dnsmasq_conf;
  while (p && *p)
    {
      const char *nl = strchr (p, '\n');
      size_t n = nl ? (size_t)(nl - p) : strlen (p);
      if (strncmp (p, "dhcp-range=", 11) == 0 || strncmp (p, "dhcp-host=", 10) == 0
          || strncmp (p, "dhcp-option=", 12) == 0)
        sv_strv_addf (out, "%.*s", (int)n, p);
      p += n + (nl ? 1 : 0);
    }
}

static void
add_json_strv (struct sv_buf *b, const char *key, char **v, size_t n)
{
  sv_buf_addf (b, ",\n  \"%s\": [", key);
  for (size_t i = 0; i < n; i++)
    {
      sv_buf_add (b, i ? ",\n    " : "\n    ");
      sv_buf_add_json_string (b, v[i]);
    }
  sv_buf_add (b, n ? "\n  ]" : "]");
}

/* ---- at start ---- */

/* A JSON array of strings into a vector; false when malformed. */
static bool
json_strv (const char *json, size_t len, const char *key, struct sv_strv *out)
{
  const char *val, *pos = NULL, *el;
  size_t vlen, ellen;
  if (!sv_json_member (json, len, key, &val, &vlen) || vlen == 0 || val[0] != '[')
    return false;
  while (sv_json_array_next (val, vlen, &pos, &el, &ellen))
    {
      struct sv_buf s = { 0 };
      if (!sv_json_string (el, ellen, &s))
        {
          sv_buf_free (&s);
          return false;
        }
      sv_strv_add (out, s.data ? s.data : "");
      sv_buf_free (&s);
    }
  return true;
}

/* The first difference between two vectors, for the log: "A became B". */
static bool
strv_differ (const struct sv_strv *was, const struct sv_strv *now, char *why, size_t len)
{
  size_t n = was->n > now->n ? was->n : now->n;
  for (size_t i = 0; i < n; i++)
    {
      const char *a = i < was->n ? was->v[i] : NULL;
      const char *b = i < now->n ? now->v[i] : NULL;
      if (a && b && strcmp (a, b) == 0)
        continue;
      struct sv_buf x = { 0 }, y = { 0 };
      sv_buf_add_escaped (&x, a ? a : "(nothing)", SV_ESC_VALUE);
      sv_buf_add_escaped (&y, b ? b : "(nothing)", SV_ESC_VALUE);
      snprintf (why, len, "%s became %s", x.data, y.data);
      sv_buf_free (&x);
      sv_buf_free (&y);
      return true;
    }
  return false;
}

/* Replace each occurrence of from (a MAC) in s by to (same length). */
static void
replace_mac (char *s, const char *from, const char *to)
{
  size_t n = strlen (from);
  if (n != strlen (to))
    return;
  for (char *p = s; (p = strstr (p, from)) != NULL; p += n)
    memcpy (p, to, n);
}

/* The guest keeps the MACs it was saved with: dnsmasq must answer those,
 * and QEMU's argv says them too (it could not change them anyway). */
static void
keep_saved_macs (struct sv_plan *plan, const struct sv_strv *was, const struct sv_strv *now,
                 struct sv_resume *r)
{
  for (size_t i = 0; i < was->n && i < now->n; i++)
    {
      if (strcmp (was->v[i], now->v[i]) != 0)
        {
          sv_strv_add (&r->mac_now, now->v[i]);
          sv_strv_add (&r->mac_was, was->v[i]);
        }
      if (plan->dnsmasq_conf)
        replace_mac (plan->dnsmasq_conf, now->v[i], was->v[i]);
      for (char **a = plan->qemu_argv; *a; a++)
        replace_mac (*a, now->v[i], was->v[i]);
    }
}

/* Why the saved state cannot be resumed now; "" when it can.  When only
 * the container's network changed (its address, its MAC), the guest is
 * resumed with its saved MACs, and *relink says its links must go down
 * and up so it asks for its new address; relink_why says what changed. */
static void
check_state (const struct sv_vm_config *cfg, struct sv_plan *plan, const char *state_path,
             const char *json_path, char *why, size_t len, bool *relink, char *relink_why,
             size_t rlen, struct sv_resume *r)
{
  struct stat st;
  why[0] = '\0';
  if (lstat (json_path, &st) < 0)
    {
      snprintf (why, len, "vmstate.json is missing (%s)", strerror (errno));
      return;
    }
  if (!S_ISREG (st.st_mode) || st.st_size > JSON_MAX)
    {
      snprintf (why, len, "vmstate.json is not a regular file of at most 1 MiB");
      return;
    }
  cleanup_free char *json = NULL;
  int fd = open (json_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  ssize_t n = fd < 0 ? -1 : sv_read_fd_alloc (fd, JSON_MAX, &json);
  if (fd >= 0)
    close (fd);
  if (n < 0)
    {
      snprintf (why, len, "vmstate.json cannot be read (%s)", strerror (errno));
      return;
    }
  uint64_t format = 0, bytes = 0;
  /* Declared before the first goto: a cleanup variable must never be
   * jumped over. */
  cleanup_free char *version = NULL;
  struct sv_buf qemu = { 0 };
  struct sv_strv hw_was = { 0 }, disks_was = { 0 }, macs_was = { 0 };
  struct sv_strv hw_now = { 0 }, disks_now = { 0 }, macs_now = { 0 };
  struct sv_strv net_was = { 0 }, net_now = { 0 };
  char diff[768];
  if (!sv_json_is_object (json, (size_t)n)
      || !sv_json_member_u64 (json, (size_t)n, "format", &format) || format != VMSTATE_FORMAT
      || !sv_json_member_u64 (json, (size_t)n, "bytes", &bytes)
      || !sv_json_member_string (json, (size_t)n, "qemu", &qemu)
      || !json_strv (json, (size_t)n, "hardware", &hw_was)
      || !json_strv (json, (size_t)n, "disks", &disks_was)
      || !json_strv (json, (size_t)n, "macs", &macs_was)
      || !json_strv (json, (size_t)n, "network", &net_was))
    {
      snprintf (why, len, "vmstate.json is not one startvm wrote (format %d)", VMSTATE_FORMAT);
      goto out;
    }
  if (lstat (state_path, &st) < 0 || !S_ISREG (st.st_mode))
    {
      snprintf (why, len, "vmstate is missing or not a regular file");
      goto out;
    }
  if ((uint64_t)st.st_size != bytes)
    {
      snprintf (why, len, "vmstate is %jd bytes, %" PRIu64 " were saved (truncated or replaced)",
                (intmax_t)st.st_size, bytes);
      goto out;
    }
  version = qemu_version (plan);
  if (strcmp (version, qemu.data ? qemu.data : "") != 0)
    {
      struct sv_buf x = { 0 }, y = { 0 };
      sv_buf_add_escaped (&x, qemu.data ? qemu.data : "", SV_ESC_VALUE);
      sv_buf_add_escaped (&y, version, SV_ESC_VALUE);
      snprintf (why, len, "it was saved by %s, this is %s", x.data, y.data);
      sv_buf_free (&x);
      sv_buf_free (&y);
      goto out;
    }
  hardware (plan, &hw_now, &macs_now);
  if (strv_differ (&hw_was, &hw_now, diff, sizeof diff))
    {
      snprintf (why, len, "the hardware changed since the save: QEMU's %s", diff);
      goto out;
    }
  disk_identities (cfg, plan, &disks_now);
  if (strv_differ (&disks_was, &disks_now, diff, sizeof diff))
    {
      snprintf (why, len, "a writable disk changed since the save: %s", diff);
      goto out;
    }
  /* The NICs are the same (the hardware is): only what the container
   * network gives them may differ. */
  bool nics = macs_was.n > 0 && macs_was.n == macs_now.n;
  if (strv_differ (&macs_was, &macs_now, diff, sizeof diff))
    {
      if (!nics)
        {
          snprintf (why, len, "the guest's MAC changed since the save: %s", diff);
          goto out;
        }
      *relink = true;
      snprintf (relink_why, rlen, "MAC %s", diff);
    }
  keep_saved_macs (plan, &macs_was, &macs_now, r);
  network_identity (plan, &net_now);
  if (strv_differ (&net_was, &net_now, diff, sizeof diff))
    {
      if (!nics)
        {
          snprintf (why, len,
                    "the guest's network changed since the save (it would keep its old lease): %s",
                    diff);
          goto out;
        }
      if (!*relink)
        snprintf (relink_why, rlen, "%s", diff);
      *relink = true;
    }
out:
  sv_strv_free (&net_was);
  sv_strv_free (&net_now);
  sv_buf_free (&qemu);
  sv_strv_free (&hw_was);
  sv_strv_free (&disks_was);
  sv_strv_free (&macs_was);
  sv_strv_free (&hw_now);
  sv_strv_free (&disks_now);
  sv_strv_free (&macs_now);
}

/* Rename path to data_dir/vmstate.stale-<stamp><suffix>, never over an
 * existing file.  Returns the new name (owned) or NULL. */
static char *
rename_aside (const char *path, const struct sv_plan *plan, const char *stamp, const char *suffix)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return NULL;
  char *to = sv_xasprintf ("%s/vmstate.stale-%s%s", plan->data_dir, stamp, suffix);
  if (renameat2 (AT_FDCWD, path, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
    {
      sv_log ("suspend: cannot rename %s to %s: %s", path, to, strerror (errno));
      free (to);
      return NULL;
    }
  return to;
}

static void
put_aside (const struct sv_plan *plan, const char *state_path, const char *json_path,
           const char *why)
{
  char stamp[64];
  time_t t = time (NULL);
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  /* Two in the same second get -2, -3... */
  char try[80];
  snprintf (try, sizeof try, "%s", stamp);
  for (int i = 2; i < 100; i++)
    {
      cleanup_free char *a = sv_xasprintf ("%s/vmstate.stale-%s", plan->data_dir, try);
      cleanup_free char *b = sv_xasprintf ("%s.json", a);
      struct stat st;
      if (lstat (a, &st) < 0 && lstat (b, &st) < 0)
        break;
      snprintf (try, sizeof try, "%s-%d", stamp, i);
    }
  cleanup_free char *s = rename_aside (state_path, plan, try, "");
  cleanup_free char *j = rename_aside (json_path, plan, try, ".json");
  fsync_dir (plan->data_dir);
  struct sv_buf w = { 0 };
  sv_buf_add_escaped (&w, why, SV_ESC_VALUE);
  sv_log ("suspend: not resuming: %s; booting cold, the saved state is kept as %s%s%s", w.data,
          s   ? s
          : j ? j
              : "(nothing)",
          s && j ? " and " : "", s && j ? j : "");
  sv_buf_free (&w);
}

void
sv_suspend_prepare (const struct sv_vm_config *cfg, struct sv_plan *plan, struct sv_resume *r)
{
  *r = (struct sv_resume){ .fd = -1 };
  if (cfg->shutdown.mode != SV_SHUTDOWN_SUSPEND || plan->data_dir == NULL)
    return;
  cleanup_free char *tmp = data_path (plan, "vmstate.tmp");
  cleanup_free char *jtmp = data_path (plan, "vmstate.json.tmp");
  struct stat st;
  /* A save that never finished: half-written, never a state. */
  if (lstat (tmp, &st) == 0 && S_ISREG (st.st_mode) && unlink (tmp) == 0)
    sv_log ("suspend: removed %s, left by a save that did not finish", tmp);
  if (lstat (jtmp, &st) == 0 && S_ISREG (st.st_mode))
    unlink (jtmp);
  char *state = data_path (plan, "vmstate");
  char *json = data_path (plan, "vmstate.json");
  bool has_state = lstat (state, &st) == 0, has_json = lstat (json, &st) == 0;
  if (!has_state && !has_json)
    {
      free (state);
      free (json);
      return;
    }
  char why[1024], relink_why[800] = ""; /* room for "MAC " and a whole diff */
  bool relink = false;
  if (plan->n_disk_ops > 0)
    snprintf (why, sizeof why, "a disk is created or grown at this start");
  else
    check_state (cfg, plan, state, json, why, sizeof why, &relink, relink_why, sizeof relink_why,
                 r);
  if (why[0] == '\0')
    {
      r->fd = open (state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (r->fd < 0)
        snprintf (why, sizeof why, "vmstate cannot be opened (%s)", strerror (errno));
    }
  if (why[0])
    {
      put_aside (plan, state, json, why);
      free (state);
      free (json);
      return;
    }
  r->state_path = state;
  r->json_path = json;
  if (relink)
    {
      struct sv_buf w = { 0 };
      sv_buf_add_escaped (&w, relink_why, SV_ESC_VALUE);
      sv_log ("suspend: the container's network changed since the save (%s): resuming with "
              "the saved MACs, then the guest's links go down for %d s so it asks for its new "
              "address",
              w.data, SV_RELINK_DOWN_MS / 1000);
      sv_buf_free (&w);
      for (char **a = plan->qemu_argv; *a; a++)
        if (strstr (*a, ",mac=") != NULL)
          r->n_links++;
    }
}

void
sv_resume_free (struct sv_resume *r)
{
  if (r->fd >= 0)
    close (r->fd);
  r->fd = -1;
  free (r->state_path);
  free (r->json_path);
  r->state_path = r->json_path = NULL;
  sv_strv_free (&r->mac_now);
  sv_strv_free (&r->mac_was);
}

void
sv_resume_aside (struct sv_resume *r, const struct sv_plan *plan, const char *why)
{
  if (r->state_path)
    put_aside (plan, r->state_path, r->json_path, why);
  sv_resume_free (r);
}

/* QEMU's "status" in a query-status or query-migrate reply. */
static bool
reply_status (const char *reply, char *out, size_t len)
{
  static const char *const path[] = { "return", "status", NULL };
  return sv_qmp_get_string (reply, path, out, len);
}

static void
sleep_ms (int ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

int
sv_resume_run (struct sv_resume *r, const struct sv_plan *plan, int intr_fd, int64_t deadline_ms,
               sv_error_t *err)
{
  int64_t t0 = sv_now_ms ();
  struct sv_qmp q;
  sv_qmp_init (&q, intr_fd);
  int ret = -1;
  /* QEMU creates its socket soon after it starts. */
  for (;;)
    {
      if (sv_qmp_connect (&q, plan->control_path, deadline_ms, err) == 0)
        break;
      bool starting = (*err)->source == SV_SRC_ERRNO
                      && ((*err)->code == ENOENT || (*err)->code == ECONNREFUSED);
      if (!starting || sv_now_ms () + POLL_MS >= deadline_ms)
        goto out;
      sv_error_release (err);
      *err = NULL;
      sleep_ms (POLL_MS);
    }
  if (sv_qmp_command (&q, "getfd", "{\"fdname\": \"vmstate\"}", r->fd, deadline_ms, NULL, err) < 0
      || sv_qmp_command (&q, "migrate-incoming", "{\"uri\": \"fd:vmstate\"}", -1, deadline_ms, NULL,
                         err)
             < 0)
    goto out;
  for (;;)
    {
      cleanup_free char *reply = NULL;
      char st[32] = "";
      if (sv_qmp_execute (&q, "query-status", deadline_ms, &reply, err) < 0)
        goto out;
      reply_status (reply, st, sizeof st);
      if (strcmp (st, "running") == 0)
        break;
      if (strcmp (st, "inmigrate") != 0)
        {
          /* Loaded but not started (-S in the extra args): continue it. */
          if (sv_qmp_execute (&q, "cont", deadline_ms, NULL, err) < 0)
            goto out;
          continue;
        }
      if (sv_now_ms () + POLL_MS >= deadline_ms)
        {
          sv_error_errno (err, SV_EXIT_ENV, ETIMEDOUT, "the state was not loaded in time");
          goto out;
        }
      sleep_ms (POLL_MS);
    }
  /* The guest runs again: the state is used. */
  struct stat sb;
  uint64_t bytes = fstat (r->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
  unlink (r->json_path);
  unlink (r->state_path);
  fsync_dir (plan->data_dir);
  sv_log ("suspend: resumed the guest from %s (%.1f MB in %.2f s); the state is used and removed",
          r->state_path, (double)bytes / 1e6, (double)(sv_now_ms () - t0) / 1000.0);
  ret = 0;
out:
  sv_qmp_close (&q);
  if (ret < 0)
    sv_error_wrap (err, "QMP");
  return ret;
}

/* ---- saving ---- */

void
sv_suspend_discard (const struct sv_plan *plan)
{
  cleanup_free char *tmp = data_path (plan, "vmstate.tmp");
  unlink (tmp);
}

int
sv_suspend_save (const struct sv_plan *plan, int intr_fd, int64_t deadline_ms, uint64_t *bytes,
                 sv_error_t *err)
{
  cleanup_free char *tmp = data_path (plan, "vmstate.tmp");
  struct sv_qmp q;
  sv_qmp_init (&q, intr_fd);
  bool stopped = false;
  int ret = -1;
  unlink (tmp);
  cleanup_close int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s", tmp);
  if (sv_qmp_connect (&q, plan->control_path, deadline_ms, err) < 0)
    goto out;
  if (sv_qmp_execute (&q, "stop", deadline_ms, NULL, err) < 0)
    goto out;
  stopped = true;
  if (sv_qmp_command (&q, "migrate-set-parameters", "{\"max-bandwidth\": " SAVE_BANDWIDTH "}", -1,
                      deadline_ms, NULL, err)
          < 0
      || sv_qmp_command (&q, "getfd", "{\"fdname\": \"vmstate\"}", fd, deadline_ms, NULL, err) < 0
      || sv_qmp_command (&q, "migrate", "{\"uri\": \"fd:vmstate\"}", -1, deadline_ms, NULL, err)
             < 0)
    goto out;
  for (;;)
    {
      cleanup_free char *reply = NULL;
      char st[32] = "";
      if (sv_qmp_execute (&q, "query-migrate", deadline_ms, &reply, err) < 0)
        goto out;
      reply_status (reply, st, sizeof st);
      if (strcmp (st, "completed") == 0)
        break;
      if (strcmp (st, "failed") == 0 || strcmp (st, "cancelled") == 0)
        {
          static const char *const desc[] = { "return", "error-desc", NULL };
          char d[256] = "";
          sv_qmp_get_string (reply, desc, d, sizeof d);
          sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "QEMU's migration %s%s%s", st,
                         d[0] ? ": " : "", d);
          goto out;
        }
      if (sv_now_ms () + POLL_MS >= deadline_ms)
        {
          sv_error_errno (err, SV_EXIT_ENV, ETIMEDOUT, "the migration did not finish in time");
          goto out;
        }
      sleep_ms (POLL_MS);
    }
  struct stat sb;
  if (fsync (fd) < 0 || fstat (fd, &sb) < 0)
    {
      sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", tmp);
      goto out;
    }
  *bytes = (uint64_t)sb.st_size;
  {
    /* The reply may not come: QEMU quits. */
    cleanup_error sv_error_t qerr = NULL;
    sv_qmp_execute (&q, "quit", deadline_ms, NULL, &qerr);
  }
  ret = 0;
out:
  if (ret < 0)
    {
      unlink (tmp);
      if (q.fd >= 0)
        {
          cleanup_error sv_error_t e2 = NULL;
          int64_t d2 = sv_now_ms () + 1000;
          sv_qmp_execute (&q, "migrate_cancel", d2, NULL, &e2);
          if (stopped)
            {
              cleanup_error sv_error_t e3 = NULL;
              sv_qmp_execute (&q, "cont", d2, NULL, &e3);
            }
        }
    }
  sv_qmp_close (&q);
  return ret;
}

int
sv_suspend_commit (const struct sv_vm_config *cfg, const struct sv_plan *plan, uint64_t save_ms,
                   sv_error_t *err)
{
  cleanup_free char *tmp = data_path (plan, "vmstate.tmp");
  cleanup_free char *jtmp = data_path (plan, "vmstate.json.tmp");
  cleanup_free char *state = data_path (plan, "vmstate");
  cleanup_free char *json = data_path (plan, "vmstate.json");
  struct stat st;
  if (lstat (tmp, &st) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s", tmp);
  cleanup_free char *version = qemu_version (plan);
  struct sv_strv hw = { 0 }, macs = { 0 }, disks = { 0 }, net = { 0 };
  hardware (plan, &hw, &macs);
  network_identity (plan, &net);
  disk_identities (cfg, plan, &disks);
  char stamp[32];
  time_t t = time (NULL);
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  struct sv_buf b = { 0 };
  sv_buf_addf (&b,
               "{\n  \"format\": %d,\n  \"saved\": \"%s\",\n  \"save_ms\": %" PRIu64
               ",\n  \"bytes\": %jd,\n  \"qemu\": ",
               VMSTATE_FORMAT, stamp, save_ms, (intmax_t)st.st_size);
  sv_buf_add_json_string (&b, version);
  add_json_strv (&b, "hardware", hw.v, hw.n);
  add_json_strv (&b, "disks", disks.v, disks.n);
  add_json_strv (&b, "macs", macs.v, macs.n);
  add_json_strv (&b, "network", net.v, net.n);
  sv_buf_add (&b, "\n}\n");
  sv_strv_free (&net);
  sv_strv_free (&hw);
  sv_strv_free (&macs);
  sv_strv_free (&disks);
  int ret = 0;
  int fd = open (jtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || sv_write_all (fd, b.data, b.len) < 0 || fsync (fd) < 0)
    ret = sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", jtmp);
  if (fd >= 0 && close (fd) < 0 && ret == 0)
    ret = sv_error_errno (err, SV_EXIT_ENV, errno, "writing %s", jtmp);
  sv_buf_free (&b);
  if (ret == 0 && rename (tmp, state) < 0)
    ret = sv_error_errno (err, SV_EXIT_ENV, errno, "renaming %s", tmp);
  if (ret == 0 && rename (jtmp, json) < 0)
    {
      ret = sv_error_errno (err, SV_EXIT_ENV, errno, "renaming %s", jtmp);
      unlink (state);
    }
  if (ret < 0)
    {
      unlink (tmp);
      unlink (jtmp);
    }
  fsync_dir (plan->data_dir);
  return ret;
}

int
sv_suspend_set_links (const struct sv_plan *plan, size_t n, bool up, int64_t deadline_ms,
                      sv_error_t *err)
{
  struct sv_qmp q;
  sv_qmp_init (&q, -1);
  int r = sv_qmp_connect (&q, plan->control_path, deadline_ms, err);
  for (size_t i = 0; r == 0 && i < n; i++)
    {
      /* The netdev's id: QEMU sets its NIC peer's link too. */
      char *args = sv_xasprintf ("{\"name\": \"net%zu\", \"up\": %s}", i, up ? "true" : "false");
      r = sv_qmp_command (&q, "set_link", args, -1, deadline_ms, NULL, err);
      free (args);
    }
  sv_qmp_close (&q);
  return r;
}
