#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "docker.h"
#include "util.h"
#include "vm.h"

struct sv_mgr_events
{
  const struct sv_mgr_settings *settings;
  struct sv_mgr_cache *cache;
  sv_mgr_emit_fn emit;
  void *ud;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool stop;                /* under lock */
  bool connected;           /* under lock */
  char *last_error;         /* under lock */
  struct sv_docker docker;  /* the stream's connection */
  struct sv_docker inspect; /* inspects, between stream reads */
  json_t *known;            /* ids of VM containers we have told clients about */
  bool synced;              /* a resync has run: later ones follow a reconnect */
  struct sv_buf line;
};

char *
sv_mgr_sse_format (const char *name, json_t *data)
{
  cleanup_free char *j = json_dumps (data, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref (data);
  char *s = NULL;
  if (asprintf (&s, "event: %s\ndata: %s\n\n", name, j ? j : "null") < 0)
    abort ();
  return s;
}

char *
sv_mgr_events_docker_state (struct sv_mgr_events *e)
{
  pthread_mutex_lock (&e->lock);
  json_t *d = e->connected ? json_pack ("{s:b}", "connected", 1)
                           : json_pack ("{s:b,s:s}", "connected", 0, "error",
                                        e->last_error ? e->last_error : "connecting");
  pthread_mutex_unlock (&e->lock);
  return sv_mgr_sse_format ("docker", d);
}

static void
emit (struct sv_mgr_events *e, char *text)
{
  e->emit (e->ud, text);
  free (text);
}

static void
set_connected (struct sv_mgr_events *e, bool c, const char *error)
{
  pthread_mutex_lock (&e->lock);
  bool changed = e->connected != c || (!c && e->last_error == NULL);
  e->connected = c;
  free (e->last_error);
  e->last_error = error ? sv_xstrdup (error) : NULL;
  pthread_mutex_unlock (&e->lock);
  if (!changed)
    return;
  emit (e, sv_mgr_sse_format ("docker", c ? json_pack ("{s:b}", "connected", 1)
                                          : json_pack ("{s:b,s:s}", "connected", 0, "error",
                                                       error ? error : "disconnected")));
}

static void
vm_event (struct sv_mgr_events *e, const char *id, const char *action)
{
  bool gone = false;
  cleanup_error sv_error_t err = NULL;
  sv_mgr_cache_forget (e->cache, id);
  json_t *vm = sv_mgr_vm_by_id (e->cache, &e->inspect, id, &gone, &err);
  if (vm)
    {
      json_object_set_new (e->known, id, json_true ());
      emit (e, sv_mgr_sse_format (
                   "vm", json_pack ("{s:s,s:s,s:o}", "id", id, "action", action, "vm", vm)));
    }
  else if (gone && json_object_get (e->known, id))
    {
      json_object_del (e->known, id);
      emit (e, sv_mgr_sse_format (
                   "vm", json_pack ("{s:s,s:s,s:n}", "id", id, "action", "destroy", "vm")));
    }
}

/* After (re)connecting: VMs that went away meanwhile get their destroy.
 * After a reconnect, every VM there is gets an event with action
 * "resync" and its object now: one made, started or stopped while the
 * stream was down (or before Docker's new stream began reading) is told
 * about, as it would have been by the events missed.  The first connect
 * only learns the VMs there are. */
static void
resync (struct sv_mgr_events *e)
{
  cleanup_error sv_error_t err = NULL;
  json_t *ids = sv_mgr_vm_ids (e->cache, &e->inspect, &err);
  if (ids == NULL)
    return;
  const char *id;
  json_t *v;
  void *tmp;
  json_object_foreach_safe (e->known, tmp, id, v)
  {
    if (json_object_get (ids, id) == NULL)
      {
        char *copy = sv_xstrdup (id);
        json_object_del (e->known, copy);
        emit (e, sv_mgr_sse_format (
                     "vm", json_pack ("{s:s,s:s,s:n}", "id", copy, "action", "destroy", "vm")));
        free (copy);
      }
  }
  json_object_foreach (ids, id, v)
  {
    if (e->synced)
      vm_event (e, id, "resync");
    else
      json_object_set_new (e->known, id, json_true ());
  }
  e->synced = true;
  json_decref (ids);
}

/* Actions that change nothing a client shows; matched as prefixes, so
 * "exec" covers Docker's exec_create/exec_start/exec_die and podman's
 * plain "exec" (a HEALTHCHECK runs one every interval). */
static const char *const ignored[]
    = { "exec", "attach",       "detach",         "resize", "top",     "export",     "commit",
        "copy", "archive-path", "extract-to-dir", "mount",  "unmount", "checkpoint", NULL };

static void
handle_line (struct sv_mgr_events *e, const char *line, size_t len)
{
  json_t *j = json_loadb (line, len, 0, NULL);
  if (j == NULL)
    return;
  const char *type = json_string_value (json_object_get (j, "Type"));
  const char *action = json_string_value (json_object_get (j, "Action"));
  const char *id = json_string_value (json_object_get (json_object_get (j, "Actor"), "ID"));
  if (id == NULL)
    id = json_string_value (json_object_get (j, "id"));
  if (type && strcmp (type, "container") == 0 && action && id && strlen (id) == 64)
    {
      bool skip = false;
      for (size_t i = 0; ignored[i]; i++)
        skip |= strncmp (action, ignored[i], strlen (ignored[i])) == 0;
      if (!skip)
        vm_event (e, id, strncmp (action, "health_status", 13) == 0 ? "health_status" : action);
    }
  json_decref (j);
}

static bool
keep_going (void *ud)
{
  struct sv_mgr_events *e = ud;
  pthread_mutex_lock (&e->lock);
  bool stop = e->stop;
  pthread_mutex_unlock (&e->lock);
  return !stop;
}

static void
on_status (void *ud, long status)
{
  struct sv_mgr_events *e = ud;
  if (status == 200)
    {
      sv_mgr_cache_reset (e->cache, true);
      resync (e);
      set_connected (e, true, NULL);
    }
}

static bool
on_data (void *ud, const char *data, size_t len)
{
  struct sv_mgr_events *e = ud;
  sv_buf_addn (&e->line, data, len);
  for (;;)
    {
      char *nl = memchr (e->line.data, '\n', e->line.len);
      if (nl == NULL)
        break;
      size_t n = (size_t)(nl - e->line.data);
      handle_line (e, e->line.data, n);
      memmove (e->line.data, nl + 1, e->line.len - n - 1);
      e->line.len -= n + 1;
      e->line.data[e->line.len] = '\0';
    }
  if (e->line.len > 1024 * 1024)
    e->line.len = 0;
  return keep_going (e);
}

static void *
run (void *ud)
{
  struct sv_mgr_events *e = ud;
  unsigned backoff_ms = 100;
  while (keep_going (e))
    {
      struct sv_docker_stream_cb cb
          = { .on_data = on_data, .on_status = on_status, .keep_going = keep_going, .ctx = e };
      long st = 0;
      cleanup_error sv_error_t err = NULL;
      e->line.len = 0;
      int r = sv_docker_events (&e->docker, &cb, &st, &err);
      if (!keep_going (e))
        break;
      bool was = false;
      pthread_mutex_lock (&e->lock);
      was = e->connected;
      pthread_mutex_unlock (&e->lock);
      if (was)
        backoff_ms = 100;
      const char *why = r < 0       ? err->msg
                        : st != 200 ? "the Docker API refused the event stream"
                                    : "the Docker API closed the event stream";
      sv_mgr_cache_reset (e->cache, false);
      set_connected (e, false, why);
      /* Wait, but wake at once when told to stop. */
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      ts.tv_sec += backoff_ms / 1000;
      ts.tv_nsec += (long)(backoff_ms % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L)
        {
          ts.tv_sec++;
          ts.tv_nsec -= 1000000000L;
        }
      pthread_mutex_lock (&e->lock);
      while (!e->stop && pthread_cond_timedwait (&e->cond, &e->lock, &ts) == 0)
        ;
      pthread_mutex_unlock (&e->lock);
      backoff_ms = backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2;
    }
  return NULL;
}

struct sv_mgr_events *
sv_mgr_events_start (const struct sv_mgr_settings *settings, struct sv_mgr_cache *cache,
                     sv_mgr_emit_fn emit_fn, void *ud)
{
  struct sv_mgr_events *e = sv_xcalloc (1, sizeof *e);
  e->settings = settings;
  e->cache = cache;
  e->emit = emit_fn;
  e->ud = ud;
  pthread_mutex_init (&e->lock, NULL);
  pthread_cond_init (&e->cond, NULL);
  e->known = json_object ();
  cleanup_error sv_error_t err = NULL;
  if (sv_docker_init (&e->docker, settings->docker_socket, &err) < 0
      || sv_docker_init (&e->inspect, settings->docker_socket, &err) < 0
      || pthread_create (&e->thread, NULL, run, e) != 0)
    abort ();
  return e;
}

void
sv_mgr_events_stop (struct sv_mgr_events *e)
{
  if (e == NULL)
    return;
  pthread_mutex_lock (&e->lock);
  e->stop = true;
  pthread_cond_broadcast (&e->cond);
  pthread_mutex_unlock (&e->lock);
  pthread_join (e->thread, NULL);
  sv_docker_free (&e->docker);
  sv_docker_free (&e->inspect);
  json_decref (e->known);
  sv_buf_free (&e->line);
  free (e->last_error);
  pthread_mutex_destroy (&e->lock);
  pthread_cond_destroy (&e->cond);
  free (e);
}

/* ---- status.json watcher ----
 *
 * Phase changes (booting -> ready) and the VNC/QMP sockets appearing are
 * not Docker events: inotify on the state directory turns them into "vm"
 * events (action "status").  Watched: the state directory (new label or
 * VM directories), each label directory (new VM directories) and each VM
 * directory (status.json replaced, sockets made or removed).  Directories
 * a VM container controls are watched with IN_DONT_FOLLOW, so a symlink
 * there is never followed. */

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define MAX_WATCHES 4096

struct watch
{
  int wd;
  char kind; /* 'T' state dir, 'L' label dir, 'V' VM dir */
  char name[130];
  char label[130];
};

struct sv_mgr_watcher
{
  const struct sv_mgr_settings *settings;
  struct sv_mgr_cache *cache;
  sv_mgr_emit_fn emit;
  void *ud;
  int ifd, wake;
  pthread_t thread;
  struct watch w[MAX_WATCHES];
  size_t n;
  struct sv_docker docker;
};

static bool
hex64 (const char *s)
{
  return strlen (s) == 64 && strspn (s, "0123456789abcdef") == 64;
}

static void add_watch (struct sv_mgr_watcher *w, char kind, const char *label, const char *name);

static void
scan_dir (struct sv_mgr_watcher *w, char kind, const char *label)
{
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s%s%s", w->settings->state_dir, label ? "/" : "", label ? label : "") < 0)
    abort ();
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return;
    }
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue;
      if (hex64 (de->d_name))
        add_watch (w, 'V', label, de->d_name);
      else if (kind == 'T' && sv_mgr_state_label_ok (de->d_name))
        add_watch (w, 'L', de->d_name, NULL);
    }
  closedir (d);
}

static void
add_watch (struct sv_mgr_watcher *w, char kind, const char *label, const char *name)
{
  if (w->n >= MAX_WATCHES)
    return;
  cleanup_free char *path = NULL;
  const char *top = w->settings->state_dir;
  uint32_t mask;
  if (kind == 'T')
    {
      path = sv_xstrdup (top);
      mask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;
    }
  else if (kind == 'L')
    {
      if (asprintf (&path, "%s/%s", top, label) < 0)
        abort ();
      mask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW;
    }
  else
    {
      if (asprintf (&path, "%s%s%s/%s", top, label ? "/" : "", label ? label : "", name) < 0)
        abort ();
      mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ONLYDIR | IN_DONT_FOLLOW;
    }
  int wd = inotify_add_watch (w->ifd, path, mask);
  if (wd < 0)
    return;
  for (size_t i = 0; i < w->n; i++)
    if (w->w[i].wd == wd)
      return; /* already watched */
  struct watch *e = &w->w[w->n++];
  e->wd = wd;
  e->kind = kind;
  snprintf (e->label, sizeof e->label, "%s", label ? label : "");
  snprintf (e->name, sizeof e->name, "%s", name ? name : "");
  if (kind == 'T' || kind == 'L')
    scan_dir (w, kind, label);
}

static struct watch *
find_watch (struct sv_mgr_watcher *w, int wd)
{
  for (size_t i = 0; i < w->n; i++)
    if (w->w[i].wd == wd)
      return &w->w[i];
  return NULL;
}

/* Read what inotify has; VM ids whose files changed go to dirty. */
static void
drain (struct sv_mgr_watcher *w, json_t *dirty)
{
  char buf[16384] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  for (;;)
    {
      ssize_t n = read (w->ifd, buf, sizeof buf);
      if (n <= 0)
        return;
      for (char *p = buf; p < buf + n;)
        {
          struct inotify_event *ev = (struct inotify_event *)p;
          p += sizeof *ev + ev->len;
          struct watch *e = find_watch (w, ev->wd);
          if (e == NULL)
            continue;
          if (ev->mask & IN_IGNORED)
            {
              *e = w->w[--w->n];
              continue;
            }
          const char *name = ev->len ? ev->name : "";
          if (e->kind != 'V' && (ev->mask & IN_ISDIR))
            {
              char label[130];
              snprintf (label, sizeof label, "%s", e->label);
              if (hex64 (name))
                add_watch (w, 'V', e->kind == 'L' ? label : NULL, name);
              else if (e->kind == 'T' && sv_mgr_state_label_ok (name))
                add_watch (w, 'L', name, NULL);
            }
          else if (e->kind == 'V'
                   && (strcmp (name, "status.json") == 0 || strcmp (name, "vnc") == 0
                       || strcmp (name, "qmp") == 0))
            json_object_set_new (dirty, e->name, json_true ());
        }
    }
}

static void *
watch_run (void *ud)
{
  struct sv_mgr_watcher *w = ud;
  add_watch (w, 'T', NULL, NULL);
  for (;;)
    {
      struct pollfd p[2]
          = { { .fd = w->ifd, .events = POLLIN }, { .fd = w->wake, .events = POLLIN } };
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        break;
      if (p[1].revents)
        break;
      if (!(p[0].revents & POLLIN))
        continue;
      json_t *dirty = json_object ();
      drain (w, dirty);
      /* status.json and both sockets come within a few ms at boot: one
       * event for all of them. */
      usleep (50000);
      drain (w, dirty);
      const char *id;
      json_t *v;
      json_object_foreach (dirty, id, v)
      {
        bool gone;
        cleanup_error sv_error_t err = NULL;
        json_t *vm = sv_mgr_vm_by_id (w->cache, &w->docker, id, &gone, &err);
        if (vm)
          {
            char *text = sv_mgr_sse_format (
                "vm", json_pack ("{s:s,s:s,s:o}", "id", id, "action", "status", "vm", vm));
            w->emit (w->ud, text);
            free (text);
          }
      }
      json_decref (dirty);
    }
  return NULL;
}

struct sv_mgr_watcher *
sv_mgr_watcher_start (const struct sv_mgr_settings *settings, struct sv_mgr_cache *cache,
                      sv_mgr_emit_fn emit_fn, void *ud)
{
  struct sv_mgr_watcher *w = sv_xcalloc (1, sizeof *w);
  w->settings = settings;
  w->cache = cache;
  w->emit = emit_fn;
  w->ud = ud;
  w->ifd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  w->wake = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  cleanup_error sv_error_t err = NULL;
  if (w->ifd < 0 || w->wake < 0 || sv_docker_init (&w->docker, settings->docker_socket, &err) < 0
      || pthread_create (&w->thread, NULL, watch_run, w) != 0)
    {
      if (w->ifd >= 0)
        close (w->ifd);
      if (w->wake >= 0)
        close (w->wake);
      sv_docker_free (&w->docker);
      free (w);
      return NULL;
    }
  return w;
}

void
sv_mgr_watcher_stop (struct sv_mgr_watcher *w)
{
  if (w == NULL)
    return;
  uint64_t one = 1;
  if (write (w->wake, &one, sizeof one) < 0)
    abort ();
  pthread_join (w->thread, NULL);
  close (w->ifd);
  close (w->wake);
  sv_docker_free (&w->docker);
  free (w);
}
