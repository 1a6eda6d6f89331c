#include "metrics.h"
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"
#include "docker.h"
#include "vm.h"

/* ---- the manager's own counters ---- */

#define MAX_REQUEST_KEYS 256

struct request_count
{
  char method[8];
  const char *route; /* a pattern of the route table (static), or "none" */
  int status;
  unsigned long long n;
};

static struct
{
  pthread_mutex_t lock;
  struct request_count requests[MAX_REQUEST_KEYS];
  size_t n_requests;
  long consoles, event_clients;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

void
sv_mgr_metrics_request (const char *method, const char *pattern, int status)
{
  /* Only the table's methods and patterns: a client cannot make new
   * series by sending odd paths or methods. */
  const char *route = "none";
  const char *m = "other";
  for (size_t i = 0; i < sv_mgr_n_routes; i++)
    {
      if (pattern && sv_mgr_routes[i].pattern == pattern)
        route = pattern;
      if (method && strcmp (sv_mgr_routes[i].method, method) == 0)
        m = sv_mgr_routes[i].method;
    }
  pthread_mutex_lock (&M.lock);
  struct request_count *c = NULL;
  for (size_t i = 0; i < M.n_requests && c == NULL; i++)
    if (M.requests[i].route == route && M.requests[i].status == status
        && strcmp (M.requests[i].method, m) == 0)
      c = &M.requests[i];
  if (c == NULL && M.n_requests < MAX_REQUEST_KEYS)
    {
      c = &M.requests[M.n_requests++];
      snprintf (c->method, sizeof c->method, "%s", m);
      c->route = route;
      c->status = status;
    }
  if (c)
    c->n++;
  pthread_mutex_unlock (&M.lock);
}

void
sv_mgr_metrics_consoles (int delta)
{
  pthread_mutex_lock (&M.lock);
  M.consoles += delta;
  pthread_mutex_unlock (&M.lock);
}

void
sv_mgr_metrics_event_clients (int delta)
{
  pthread_mutex_lock (&M.lock);
  M.event_clients += delta;
  pthread_mutex_unlock (&M.lock);
}

/* ---- authentication ---- */

int
sv_mgr_metrics_auth (struct sv_mgr_auth *a, const char *token, const struct sv_mgr_authreq *r,
                     int64_t now, int *retry_after, sv_error_t *err)
{
  const char *given = sv_mgr_bearer (r->authorization);
  if (token && given && strlen (token) == strlen (given)
      && CRYPTO_memcmp (token, given, strlen (token)) == 0)
    {
      /* The lockout holds for this token as for the password: while the
       * address's window is full, no bearer token gets in. */
      char key[sizeof a->failures[0].addr];
      sv_mgr_lockout_key (r->addr, key, sizeof key);
      for (size_t i = 0; i < SV_MGR_MAX_ADDRS; i++)
        {
          const struct sv_mgr_failures *f = &a->failures[i];
          if (f->count >= SV_MGR_LOCKOUT_FAILURES && now - f->window_start < SV_MGR_LOCKOUT_WINDOW
              && strcmp (f->addr, key) == 0)
            {
              *retry_after = (int)(f->window_start + SV_MGR_LOCKOUT_WINDOW - now);
              if (*retry_after < 1)
                *retry_after = 1;
              sv_error_config (err, "too many failed logins; try again in %d s", *retry_after);
              return 429;
            }
        }
      return 0;
    }
  return sv_mgr_auth_check (a, r, now, retry_after, err);
}

/* ---- the exposition text ---- */

void
sv_mgr_expo_family (struct sv_buf *b, const char *name, const char *type, const char *help)
{
  sv_buf_addf (b, "# HELP %s ", name);
  /* HELP text escapes \ and newline only. */
  for (const char *p = help; *p; p++)
    if (*p == '\\')
      sv_buf_add (b, "\\\\");
    else if (*p == '\n')
      sv_buf_add (b, "\\n");
    else
      sv_buf_addc (b, *p);
  sv_buf_addf (b, "\n# TYPE %s %s\n", name, type);
}

void
sv_mgr_expo_label_value (struct sv_buf *b, const char *v)
{
  for (const char *p = v ? v : ""; *p; p++)
    switch (*p)
      {
      case '\\':
        sv_buf_add (b, "\\\\");
        break;
      case '"':
        sv_buf_add (b, "\\\"");
        break;
      case '\n':
        sv_buf_add (b, "\\n");
        break;
      default:
        sv_buf_addc (b, *p);
      }
}

void
sv_mgr_expo_sample (struct sv_buf *b, const char *name, const char *const *labels, double value)
{
  sv_buf_add (b, name);
  if (labels && labels[0])
    {
      sv_buf_addc (b, '{');
      for (size_t i = 0; labels[i]; i += 2)
        {
          sv_buf_addf (b, "%s%s=\"", i ? "," : "", labels[i]);
          sv_mgr_expo_label_value (b, labels[i + 1]);
          sv_buf_addc (b, '"');
        }
      sv_buf_addc (b, '}');
    }
  if (isnan (value))
    sv_buf_add (b, " NaN\n");
  else if (isinf (value))
    sv_buf_add (b, value > 0 ? " +Inf\n" : " -Inf\n");
  else if (value == floor (value) && fabs (value) < 9e15)
    sv_buf_addf (b, " %.0f\n", value);
  else
    sv_buf_addf (b, " %.17g\n", value);
}

double
sv_mgr_rfc3339_seconds (const char *s)
{
  struct tm tm = { 0 };
  const char *p = s ? strptime (s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (p == NULL || tm.tm_year + 1900 < 1970)
    return -1;
  double frac = 0, scale = 1;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      frac += (*p - '0') * (scale /= 10);
  long off = 0;
  int oh, om;
  if ((*p == '+' || *p == '-') && sscanf (p + 1, "%2d:%2d", &oh, &om) == 2)
    off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
  else if (*p != 'Z')
    return -1;
  return (double)(timegm (&tm) - off) + frac;
}

char *
sv_mgr_blockstats_disk (json_t *entry)
{
  const char *dev = json_string_value (json_object_get (entry, "device"));
  if (dev && *dev)
    return sv_xstrdup (dev);
  const char *qdev = json_string_value (json_object_get (entry, "qdev"));
  if (qdev && *qdev)
    {
      static const char pre[] = "/machine/peripheral/";
      if (strncmp (qdev, pre, sizeof pre - 1) == 0 && qdev[sizeof pre - 1])
        {
          const char *id = qdev + sizeof pre - 1;
          return strndup (id, strcspn (id, "/"));
        }
      return sv_xstrdup (qdev);
    }
  const char *node = json_string_value (json_object_get (entry, "node-name"));
  return node && *node ? sv_xstrdup (node) : NULL;
}

/* ---- gathering ---- */

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct vm_slot
{
  char *id, *name, *label;
  bool running;
  /* Set by the worker under g->lock, each as soon as it is in. */
  json_t *state;      /* inspect's State */
  json_t *status;     /* status.json */
  json_t *stats;      /* Docker's one-shot stats */
  json_t *blockstats; /* QMP query-blockstats' return */
  json_t *fresh;      /* the inspect reply asked for (trimmed), for the cache */
  bool done;          /* gathered, all of it (gather_one) */
};

struct gather
{
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned refs; /* the scrape and each worker; the last one frees */
  size_t n, next;
  unsigned workers_left;
  struct vm_slot *vms;
  char *docker_socket, *state_dir;
  int64_t deadline; /* now_ms () */
  bool abandoned;   /* the scrape has answered: results are dropped */
  int batch;        /* podman's stats of all running VMs at once: 0 asking, 1 in, -1 not */
};

static void
gather_unref (struct gather *g)
{
  pthread_mutex_lock (&g->lock);
  bool last = --g->refs == 0;
  pthread_mutex_unlock (&g->lock);
  if (!last)
    return;
  for (size_t i = 0; i < g->n; i++)
    {
      struct vm_slot *v = &g->vms[i];
      free (v->id);
      free (v->name);
      free (v->label);
      json_decref (v->state);
      json_decref (v->status);
      json_decref (v->stats);
      json_decref (v->blockstats);
      json_decref (v->fresh);
    }
  free (g->vms);
  free (g->docker_socket);
  free (g->state_dir);
  pthread_mutex_destroy (&g->lock);
  pthread_cond_destroy (&g->cond);
  free (g);
}

/* Store *val into the slot's field unless the scrape has answered. */
static void
put (struct gather *g, json_t **field, json_t *val)
{
  pthread_mutex_lock (&g->lock);
  if (!g->abandoned && *field == NULL)
    {
      *field = val;
      val = NULL;
    }
  pthread_mutex_unlock (&g->lock);
  json_decref (val);
}

/* Wait for fd to be ready for `events` until the deadline; false on
 * timeout or error. */
static bool
wait_fd (int fd, short events, int64_t deadline)
{
  for (;;)
    {
      int64_t left = deadline - now_ms ();
      if (left <= 0)
        return false;
      struct pollfd p = { .fd = fd, .events = events };
      int r = poll (&p, 1, (int)left);
      if (r < 0 && errno == EINTR)
        continue;
      return r > 0 && (p.revents & (events | POLLHUP)) != 0;
    }
}

/* The next QMP line that is not an event, within the deadline. */
static json_t *
qmp_line (int fd, struct sv_buf *in, int64_t deadline)
{
  for (;;)
    {
      char *nl = in->data ? memchr (in->data, '\n', in->len) : NULL;
      if (nl)
        {
          size_t n = (size_t)(nl - in->data) + 1;
          json_t *j = json_loadb (in->data, n, 0, NULL);
          memmove (in->data, in->data + n, in->len - n);
          in->len -= n;
          in->data[in->len] = '\0';
          if (j && json_object_get (j, "event") == NULL)
            return j;
          json_decref (j);
          continue;
        }
      if (in->len > 4 * 1024 * 1024 || !wait_fd (fd, POLLIN, deadline))
        return NULL;
      char buf[8192];
      ssize_t r = read (fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (r <= 0)
        return NULL;
      sv_buf_addn (in, buf, (size_t)r);
    }
}

static bool
qmp_send (int fd, const char *text, int64_t deadline)
{
  size_t len = strlen (text), off = 0;
  while (off < len)
    {
      if (!wait_fd (fd, POLLOUT, deadline))
        return false;
      ssize_t w = write (fd, text + off, len - off);
      if (w < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (w <= 0)
        return false;
      off += (size_t)w;
    }
  return true;
}

/* query-blockstats over the VM's qmp socket (found by container id,
 * never followed through a symlink), all within the deadline. */
static json_t *
blockstats (const char *state_dir, const char *label, const char *id, int64_t deadline)
{
  cleanup_error sv_error_t err = NULL;
  cleanup_close int fd = sv_mgr_vm_socket_connect (state_dir, label, id, "qmp", &err);
  if (fd < 0)
    return NULL;
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return NULL;
  struct sv_buf in = { 0 };
  json_t *out = NULL;
  json_t *greeting = qmp_line (fd, &in, deadline);
  if (greeting && json_object_get (greeting, "QMP")
      && qmp_send (fd, "{\"execute\":\"qmp_capabilities\"}\n", deadline))
    {
      json_t *caps = qmp_line (fd, &in, deadline);
      if (caps && json_object_get (caps, "return")
          && qmp_send (fd, "{\"execute\":\"query-blockstats\"}\n", deadline))
        {
          json_t *r = qmp_line (fd, &in, deadline);
          json_t *ret = json_object_get (r, "return");
          if (json_is_array (ret))
            out = json_incref (ret);
          json_decref (r);
        }
      json_decref (caps);
    }
  json_decref (greeting);
  sv_buf_free (&in);
  return out;
}

/* Under g->lock: wait for g->cond at most 50 ms (the condition variable
 * runs on CLOCK_REALTIME; callers look at the monotonic clock). */
static void
cond_wait_step (struct gather *g)
{
  int64_t left = g->deadline - now_ms ();
  if (left <= 0)
    return;
  struct timespec rt;
  clock_gettime (CLOCK_REALTIME, &rt);
  rt.tv_nsec += (left < 50 ? left : 50) * 1000000;
  if (rt.tv_nsec >= 1000000000)
    {
      rt.tv_sec++;
      rt.tv_nsec -= 1000000000;
    }
  pthread_cond_timedwait (&g->cond, &g->lock, &rt);
}

/* podman's GET /libpod/containers/stats for every running VM in one call,
 * in the shape of Docker's one-shot stats (CPU, memory in use, the bytes
 * of all interfaces as "network", as podman's compat stats name them).
 * On any failure (Docker has no such route) the workers ask one by one. */
static void *
batch_stats (void *ud)
{
  struct gather *g = ud;
  struct sv_docker d = { 0 };
  cleanup_error sv_error_t err = NULL;
  const char **ids = sv_xcalloc (g->n + 1, sizeof *ids);
  size_t nids = 0;
  for (size_t i = 0; i < g->n; i++)
    if (g->vms[i].running)
      ids[nids++] = g->vms[i].id;
  long st = 0;
  json_t *out = NULL;
  int64_t left = g->deadline - now_ms ();
  bool ok
      = left > 0 && sv_docker_init (&d, g->docker_socket, &err) == 0
        && sv_docker_libpod_stats (&d, ids, nids, (long)(left + 999) / 1000, &st, &out, &err) == 0
        && st == 200 && json_is_array (json_object_get (out, "Stats"))
        && json_is_null (json_object_get (out, "Error"));
  sv_docker_free (&d);
  free (ids);
  size_t k;
  json_t *e;
  pthread_mutex_lock (&g->lock);
  json_array_foreach (ok ? json_object_get (out, "Stats") : NULL, k, e)
  {
    const char *id = json_string_value (json_object_get (e, "ContainerID"));
    for (size_t i = 0; id && i < g->n && !g->abandoned; i++)
      if (g->vms[i].stats == NULL && strcmp (g->vms[i].id, id) == 0)
        g->vms[i].stats = json_pack (
            "{s:{s:{s:O}}, s:{s:O}, s:{s:{s:O, s:O}}}", "cpu_stats", "cpu_usage", "total_usage",
            json_object_get (e, "CPUNano"), "memory_stats", "usage",
            json_object_get (e, "MemUsage"), "networks", "network", "rx_bytes",
            json_object_get (e, "NetInput"), "tx_bytes", json_object_get (e, "NetOutput"));
  }
  g->batch = ok ? 1 : -1;
  if (--g->workers_left == 0)
    pthread_cond_broadcast (&g->cond);
  pthread_cond_broadcast (&g->cond);
  pthread_mutex_unlock (&g->lock);
  json_decref (out);
  gather_unref (g);
  return NULL;
}

/* True when everything that applies came in: the inspect, and for a
 * running VM the stats and, with a qmp socket, the blockstats. */
static bool
gather_one (struct gather *g, struct sv_docker *d, struct vm_slot *v)
{
  struct sv_mgr_vm_files f;
  sv_mgr_vm_files_read (g->state_dir, v->label, v->id, &f);
  put (g, &v->status, json_incref (f.status));
  bool qmp = f.qmp;
  sv_mgr_vm_files_free (&f);
  long st;
  json_t *out = NULL;
  cleanup_error sv_error_t err = NULL;
  if (v->state == NULL && sv_docker_inspect (d, v->id, &st, &out, &err) == 0 && st == 200)
    {
      put (g, &v->state, json_incref (json_object_get (out, "State")));
      put (g, &v->fresh, sv_mgr_inspect_trim (out));
    }
  bool complete = v->state != NULL || out != NULL;
  json_decref (out);
  out = NULL;
  if (!v->running)
    return complete;
  /* podman answers the stats of every running VM in one call (batch):
   * wait for it, then ask Docker's way only when it failed. */
  pthread_mutex_lock (&g->lock);
  while (g->batch == 0 && now_ms () < g->deadline)
    cond_wait_step (g);
  bool batched = g->batch == 1;
  bool have = v->stats != NULL;
  pthread_mutex_unlock (&g->lock);
  /* The curl timeout is in whole seconds: the scrape's own wait keeps
   * the deadline, this only ends the call soon after it. */
  int64_t left = g->deadline - now_ms ();
  if (batched)
    complete = complete && have;
  else if (left > 0)
    {
      sv_error_release (&err);
      bool ok = sv_docker_stats (d, v->id, (long)(left + 999) / 1000, &st, &out, &err) == 0
                && st == 200;
      if (ok)
        put (g, &v->stats, steal_pointer (&out));
      complete = complete && ok;
      json_decref (out);
    }
  else
    complete = false;
  if (qmp)
    {
      json_t *b = now_ms () < g->deadline ? blockstats (g->state_dir, v->label, v->id, g->deadline)
                                          : NULL;
      complete = complete && b;
      put (g, &v->blockstats, b);
    }
  return complete;
}

static void *
worker (void *ud)
{
  struct gather *g = ud;
  struct sv_docker d = { 0 };
  cleanup_error sv_error_t err = NULL;
  bool docker = sv_docker_init (&d, g->docker_socket, &err) == 0;
  for (;;)
    {
      pthread_mutex_lock (&g->lock);
      struct vm_slot *v = NULL;
      if (!g->abandoned && g->next < g->n && now_ms () < g->deadline)
        v = &g->vms[g->next++];
      pthread_mutex_unlock (&g->lock);
      if (v == NULL)
        break;
      bool complete = docker && gather_one (g, &d, v);
      pthread_mutex_lock (&g->lock);
      v->done = complete;
      pthread_mutex_unlock (&g->lock);
    }
  sv_docker_free (&d);
  pthread_mutex_lock (&g->lock);
  if (--g->workers_left == 0)
    pthread_cond_broadcast (&g->cond);
  pthread_mutex_unlock (&g->lock);
  gather_unref (g);
  return NULL;
}

/* ---- rendering ---- */

static double
num (json_t *v)
{
  return json_is_number (v) ? json_number_value (v) : NAN;
}

static json_t *
path (json_t *j, const char *a, const char *b, const char *c)
{
  j = json_object_get (j, a);
  if (b)
    j = json_object_get (j, b);
  if (c)
    j = json_object_get (j, c);
  return j;
}

struct family
{
  const char *name, *type, *help;
};

enum
{
  F_UP,
  F_READY,
  F_CPU,
  F_MEM_GIVEN,
  F_MEM_USAGE,
  F_MEM_RSS,
  F_DISK_RB,
  F_DISK_WB,
  F_DISK_RO,
  F_DISK_WO,
  F_NET_RB,
  F_NET_TB,
  F_NET_RP,
  F_NET_TP,
  F_UPTIME,
  F_START,
  F_EXIT,
  F_N
};

static const struct family vm_families[F_N] = {
  [F_UP] = { "startvm_vm_up", "gauge", "1 when the VM's container runs" },
  [F_READY] = { "startvm_vm_ready", "gauge", "1 when status.json's phase is ready" },
  [F_CPU] = { "startvm_vm_cpu_seconds_total", "counter",
              "CPU time of the VM's container (QEMU, its vCPUs included, and startvm)" },
  [F_MEM_GIVEN]
  = { "startvm_vm_memory_given_bytes", "gauge", "memory given to the guest (status.json)" },
  [F_MEM_USAGE]
  = { "startvm_vm_memory_usage_bytes", "gauge", "memory the VM's container uses (cgroup)" },
  [F_MEM_RSS]
  = { "startvm_vm_memory_rss_bytes", "gauge", "anonymous memory (RSS) of the VM's container" },
  [F_DISK_RB] = { "startvm_vm_disk_read_bytes_total", "counter", "bytes the guest read (QMP)" },
  [F_DISK_WB] = { "startvm_vm_disk_written_bytes_total", "counter", "bytes the guest wrote (QMP)" },
  [F_DISK_RO] = { "startvm_vm_disk_reads_total", "counter", "read operations (QMP)" },
  [F_DISK_WO] = { "startvm_vm_disk_writes_total", "counter", "write operations (QMP)" },
  [F_NET_RB] = { "startvm_vm_network_receive_bytes_total", "counter",
                 "bytes the container's interface received" },
  [F_NET_TB] = { "startvm_vm_network_transmit_bytes_total", "counter",
                 "bytes the container's interface sent" },
  [F_NET_RP] = { "startvm_vm_network_receive_packets_total", "counter",
                 "packets the container's interface received" },
  [F_NET_TP] = { "startvm_vm_network_transmit_packets_total", "counter",
                 "packets the container's interface sent" },
  [F_UPTIME] = { "startvm_vm_uptime_seconds", "gauge", "seconds since the container started" },
  [F_START] = { "startvm_vm_start_time_seconds", "gauge",
                "when the container last started (seconds since the epoch)" },
  [F_EXIT] = { "startvm_vm_last_exit_code", "gauge", "the container's last exit code" },
};

/* The samples of one family for every VM (families are grouped, as the
 * format wants). */
static void
render_family (struct sv_buf *b, int f, struct gather *g, double now)
{
  sv_mgr_expo_family (b, vm_families[f].name, vm_families[f].type, vm_families[f].help);
  const char *name = vm_families[f].name;
  for (size_t i = 0; i < g->n; i++)
    {
      struct vm_slot *v = &g->vms[i];
      const char *l[] = { "name", v->name, "id", v->id, NULL, NULL, NULL };
      json_t *mem = path (v->stats, "memory_stats", NULL, NULL);
      double started
          = sv_mgr_rfc3339_seconds (json_string_value (json_object_get (v->state, "StartedAt")));
      switch (f)
        {
        case F_UP:
          sv_mgr_expo_sample (b, name, l, v->running);
          break;
        case F_READY:
          {
            const char *ph = json_string_value (json_object_get (v->status, "phase"));
            sv_mgr_expo_sample (b, name, l, v->running && ph && strcmp (ph, "ready") == 0);
          }
          break;
        case F_CPU:
          {
            double ns = num (path (v->stats, "cpu_stats", "cpu_usage", "total_usage"));
            if (!isnan (ns))
              sv_mgr_expo_sample (b, name, l, ns / 1e9);
          }
          break;
        case F_MEM_GIVEN:
          {
            double mib = num (json_object_get (v->status, "memory_mib"));
            if (!isnan (mib))
              sv_mgr_expo_sample (b, name, l, mib * 1048576);
          }
          break;
        case F_MEM_USAGE:
          if (json_is_number (json_object_get (mem, "usage")))
            sv_mgr_expo_sample (b, name, l, num (json_object_get (mem, "usage")));
          break;
        case F_MEM_RSS:
          {
            /* cgroup v2 says anon, v1 rss. */
            json_t *s = json_object_get (mem, "stats");
            json_t *rss = json_object_get (s, "anon") ?: json_object_get (s, "rss");
            if (json_is_number (rss))
              sv_mgr_expo_sample (b, name, l, num (rss));
          }
          break;
        case F_DISK_RB:
        case F_DISK_WB:
        case F_DISK_RO:
        case F_DISK_WO:
          {
            static const char *const key[]
                = { "rd_bytes", "wr_bytes", "rd_operations", "wr_operations" };
            size_t k;
            json_t *e;
            json_array_foreach (v->blockstats, k, e)
            {
              cleanup_free char *disk = sv_mgr_blockstats_disk (e);
              json_t *val = path (e, "stats", key[f - F_DISK_RB], NULL);
              if (disk == NULL || !json_is_number (val))
                continue;
              l[4] = "disk";
              l[5] = disk;
              sv_mgr_expo_sample (b, name, l, num (val));
            }
          }
          break;
        case F_NET_RB:
        case F_NET_TB:
        case F_NET_RP:
        case F_NET_TP:
          {
            static const char *const key[] = { "rx_bytes", "tx_bytes", "rx_packets", "tx_packets" };
            const char *nic;
            json_t *e;
            json_object_foreach (json_object_get (v->stats, "networks"), nic, e)
            {
              json_t *val = json_object_get (e, key[f - F_NET_RB]);
              if (!json_is_number (val))
                continue;
              /* podman 4.3 counts bytes but no packets (always 0): a
               * packet count of 0 beside bytes is unknown, not 0. */
              if ((f == F_NET_RP || f == F_NET_TP) && json_integer_value (val) == 0
                  && json_integer_value (
                         json_object_get (e, f == F_NET_RP ? "rx_bytes" : "tx_bytes"))
                         > 0)
                continue;
              l[4] = "interface";
              l[5] = nic;
              sv_mgr_expo_sample (b, name, l, num (val));
            }
          }
          break;
        case F_UPTIME:
          if (v->running && started >= 0)
            sv_mgr_expo_sample (b, name, l, now > started ? now - started : 0);
          break;
        case F_START:
          if (started >= 0)
            sv_mgr_expo_sample (b, name, l, started);
          break;
        case F_EXIT:
          if (json_is_integer (json_object_get (v->state, "ExitCode")))
            sv_mgr_expo_sample (b, name, l, num (json_object_get (v->state, "ExitCode")));
          break;
        }
    }
}

static void
render_manager (struct sv_buf *b, bool docker_up, unsigned incomplete, double seconds)
{
  sv_mgr_expo_family (b, "startvm_manager_docker_up", "gauge",
                      "1 when the Docker API answered this scrape's container list");
  sv_mgr_expo_sample (b, "startvm_manager_docker_up", NULL, docker_up);
  pthread_mutex_lock (&M.lock);
  sv_mgr_expo_family (b, "startvm_manager_http_requests_total", "counter",
                      "HTTP responses by route pattern, method and status");
  for (size_t i = 0; i < M.n_requests; i++)
    {
      char code[16];
      snprintf (code, sizeof code, "%d", M.requests[i].status);
      const char *l[]
          = { "route", M.requests[i].route, "method", M.requests[i].method, "code", code, NULL };
      sv_mgr_expo_sample (b, "startvm_manager_http_requests_total", l, (double)M.requests[i].n);
    }
  long consoles = M.consoles, clients = M.event_clients;
  pthread_mutex_unlock (&M.lock);
  sv_mgr_expo_family (b, "startvm_manager_consoles", "gauge", "open WebSocket consoles");
  sv_mgr_expo_sample (b, "startvm_manager_consoles", NULL, (double)consoles);
  sv_mgr_expo_family (b, "startvm_manager_event_clients", "gauge", "clients following /api/events");
  sv_mgr_expo_sample (b, "startvm_manager_event_clients", NULL, (double)clients);
  sv_mgr_expo_family (b, "startvm_manager_scrape_incomplete_vms", "gauge",
                      "VMs with metrics missing: a source did not answer, or not by the deadline");
  sv_mgr_expo_sample (b, "startvm_manager_scrape_incomplete_vms", NULL, incomplete);
  sv_mgr_expo_family (b, "startvm_manager_scrape_duration_seconds", "gauge",
                      "how long gathering this scrape took");
  sv_mgr_expo_sample (b, "startvm_manager_scrape_duration_seconds", NULL, seconds);
}

/* ?vm=ID&vm=ID...: only these VMs (full ids; the page asks for the cards
 * on screen).  No vm= at all: every VM. */
static bool
wanted (struct sv_mgr_request *req, const char *id)
{
  bool any = false;
  for (char **q = req->query; q && *q; q++)
    if (strncmp (*q, "vm=", 3) == 0)
      {
        if (strcmp (*q + 3, id) == 0)
          return true;
        any = true;
      }
  return !any;
}

void
sv_mgr_h_metrics (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
                  struct sv_mgr_sink *sink)
{
  (void)sink;
  int64_t t0 = now_ms ();
  int deadline_ms = ctx->settings->metrics_deadline_ms > 0 ? ctx->settings->metrics_deadline_ms
                                                           : SV_MGR_METRICS_DEFAULT_DEADLINE_MS;
  struct gather *g = sv_xcalloc (1, sizeof *g);
  pthread_mutex_init (&g->lock, NULL);
  pthread_cond_init (&g->cond, NULL);
  g->refs = 1;
  g->deadline = t0 + deadline_ms;
  g->docker_socket = sv_xstrdup (ctx->settings->docker_socket);
  g->state_dir = sv_xstrdup (ctx->settings->state_dir);

  bool docker_up = false;
  struct sv_docker d = { 0 };
  cleanup_error sv_error_t err = NULL;
  json_t *list = NULL;
  long st = 0;
  if (sv_docker_init (&d, ctx->settings->docker_socket, &err) == 0
      && sv_docker_request (&d, "GET", "/containers/json?all=1", NULL, (deadline_ms + 999) / 1000,
                            &st, &list, &err)
             == 0
      && st == 200 && json_is_array (list))
    docker_up = true;
  sv_docker_free (&d);

  size_t k;
  json_t *e;
  g->vms = sv_xcalloc (json_array_size (list) + 1, sizeof *g->vms);
  json_array_foreach (docker_up ? list : NULL, k, e)
  {
    json_t *labels = json_object_get (e, "Labels");
    const char *id = json_string_value (json_object_get (e, "Id"));
    if (!sv_mgr_full_id (id) || !sv_mgr_is_vm_labels (labels) || !wanted (req, id))
      continue;
    struct vm_slot *v = &g->vms[g->n++];
    v->id = sv_xstrdup (id);
    const char *name = json_string_value (json_array_get (json_object_get (e, "Names"), 0));
    v->name = sv_xstrdup (name ? name + (name[0] == '/') : id);
    const char *label = json_string_value (json_object_get (labels, "io.startvm.state"));
    v->label = label && sv_mgr_state_label_ok (label) ? sv_xstrdup (label) : NULL;
    const char *state = json_string_value (json_object_get (e, "State"));
    v->running = state && strcmp (state, "running") == 0;
    /* The inspect the event stream keeps (cache.c), when it has one in
     * the list's state: no call. */
    v->state = sv_mgr_cache_state_copy (&ctx->cache, id, state);
  }
  json_decref (list);

  unsigned workers = g->n < SV_MGR_METRICS_WORKERS ? (unsigned)g->n : SV_MGR_METRICS_WORKERS;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  bool any_running = false;
  for (size_t i = 0; i < g->n; i++)
    any_running = any_running || g->vms[i].running;
  g->batch = -1;
  if (any_running)
    {
      pthread_t t;
      g->batch = 0;
      g->refs++;
      g->workers_left++;
      if (pthread_create (&t, &attr, batch_stats, g) != 0)
        {
          g->batch = -1;
          g->refs--;
          g->workers_left--;
        }
    }
  for (unsigned i = 0; i < workers; i++)
    {
      pthread_t t;
      pthread_mutex_lock (&g->lock);
      g->refs++;
      g->workers_left++;
      pthread_mutex_unlock (&g->lock);
      if (pthread_create (&t, &attr, worker, g) != 0)
        {
          pthread_mutex_lock (&g->lock);
          g->refs--;
          g->workers_left--;
          pthread_mutex_unlock (&g->lock);
          break;
        }
    }
  pthread_attr_destroy (&attr);

  pthread_mutex_lock (&g->lock);
  while (g->workers_left > 0 && now_ms () < g->deadline)
    cond_wait_step (g);
  g->abandoned = true;
  unsigned incomplete = 0;
  for (size_t i = 0; i < g->n; i++)
    incomplete += !g->vms[i].done;
  /* Inspects asked for go into the cache as its own do (not for an id
   * seen gone), so that the next scrape asks only for the stats. */
  for (size_t i = 0; i < g->n; i++)
    if (g->vms[i].fresh)
      sv_mgr_cache_put (&ctx->cache, g->vms[i].id, g->vms[i].fresh);
  /* Rendered under the lock: a late worker's put() waits, then drops. */
  struct sv_buf b = { 0 };
  struct timespec wall;
  clock_gettime (CLOCK_REALTIME, &wall);
  double now = (double)wall.tv_sec + wall.tv_nsec / 1e9;
  render_manager (&b, docker_up, incomplete, (double)(now_ms () - t0) / 1000);
  for (int f = 0; f < F_N; f++)
    render_family (&b, f, g, now);
  pthread_mutex_unlock (&g->lock);
  gather_unref (g);

  resp->status = 200;
  resp->content_type = sv_xstrdup (SV_MGR_METRICS_CONTENT_TYPE);
  resp->body_len = b.len;
  resp->body = sv_buf_steal (&b);
}
