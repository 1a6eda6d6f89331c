#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "docker.h"
#include "events.h"
#include "util.h"

#define MAX_PENDING_OUT (4 * 1024 * 1024)
#define MAX_JOBS 64
/* A console holds at most this much for a slow side before it stops
 * reading the other: bounded memory and bounded added latency. */
#define MAX_CONSOLE_PENDING (256 * 1024)

/* ---- shared state ---- */

struct job;
struct sse;
struct console;

static struct
{
  struct sv_mgr_ctx *ctx;
  struct lws_context *lws;
  struct lws_vhost *vh;
  struct sv_mgr_events *events;
  struct sv_mgr_watcher *watcher;
  bool tls;
  pthread_mutex_t lock;     /* guards everything below, and jobs' and sse's shared fields */
  pthread_cond_t jobs_cond; /* running_jobs reached 0 */
  struct job *attention;    /* jobs the loop must look at */
  struct sse *sse;          /* event-stream clients */
  unsigned running_jobs;
  struct console *pending; /* consoles between CONFIRM_UPGRADE and ESTABLISHED */
  volatile sig_atomic_t interrupted;
  lws_sorted_usec_list_t keepalive;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER, .jobs_cond = PTHREAD_COND_INITIALIZER };

static int64_t
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec;
}

/* A request as read from lws, owned copies. */
struct req
{
  char method[8];
  char *path;
  struct sv_strv query;
  char *origin, *host, *cookie, *authorization;
  char peer[64];
  struct sv_buf body;
  bool expect_body, too_big;
  const struct sv_mgr_route *route;
  char *id;
};

/* A Docker-calling handler on its own thread. */
struct job
{
  struct sv_mgr_request r;
  struct req *q; /* owns what r points to */
  struct sv_mgr_response resp;
  struct sv_mgr_sink sink;
  struct lws *wsi;
  /* under S.lock: */
  bool done, orphaned, queued, begun;
  int stream_status;
  char *stream_ctype;
  struct sv_buf out;
  struct job *next;
};

struct sse
{
  struct lws *wsi;
  struct sv_buf out; /* under S.lock */
  struct sse *next;
};

struct console
{
  struct lws *ws, *raw, *pending_wsi;
  int fd;
  bool vnc;
  struct sv_docker_demux demux;
  struct sv_buf to_ws, to_raw;
  size_t to_ws_off; /* bytes of to_ws already sent */
  bool raw_closed;
  struct console *next;
};

/* Per HTTP connection. */
struct pss
{
  struct req *q;
  struct sv_mgr_response resp;
  size_t off;
  bool responding, close_after;
  struct job *job;
  struct sse *sse;
};

static void
req_free (struct req *q)
{
  if (q == NULL)
    return;
  free (q->path);
  sv_strv_free (&q->query);
  free (q->origin);
  free (q->host);
  free (q->cookie);
  free (q->authorization);
  sv_buf_free (&q->body);
  free (q->id);
  free (q);
}

static char *
hdr (struct lws *wsi, enum lws_token_indexes t)
{
  int n = lws_hdr_total_length (wsi, t);
  if (n <= 0)
    return NULL;
  char *s = sv_xmalloc ((size_t)n + 1);
  if (lws_hdr_copy (wsi, s, n + 1, t) < 0)
    {
      free (s);
      return NULL;
    }
  return s;
}

static struct req *
req_read (struct lws *wsi)
{
  static const struct
  {
    enum lws_token_indexes t;
    const char *m;
  } methods[] = { { WSI_TOKEN_GET_URI, "GET" },       { WSI_TOKEN_POST_URI, "POST" },
                  { WSI_TOKEN_DELETE_URI, "DELETE" }, { WSI_TOKEN_PUT_URI, "PUT" },
                  { WSI_TOKEN_PATCH_URI, "PATCH" },   { WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
                  { WSI_TOKEN_HEAD_URI, "HEAD" } };
  struct req *q = sv_xcalloc (1, sizeof *q);
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (lws_hdr_total_length (wsi, methods[i].t) > 0)
      {
        snprintf (q->method, sizeof q->method, "%s", methods[i].m);
        q->path = hdr (wsi, methods[i].t);
        break;
      }
  if (q->path == NULL)
    q->path = sv_xstrdup ("");
  for (int i = 0;; i++)
    {
      char buf[1024];
      int n = lws_hdr_copy_fragment (wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, i);
      if (n < 0)
        break;
      sv_strv_add (&q->query, buf);
    }
  q->origin = hdr (wsi, WSI_TOKEN_ORIGIN);
  q->host = hdr (wsi, WSI_TOKEN_HOST);
  q->cookie = hdr (wsi, WSI_TOKEN_HTTP_COOKIE);
  q->authorization = hdr (wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
  /* The client: the peer, or what MANAGER_TRUSTED_PROXY says it is. */
  char peer[64] = "";
  lws_get_peer_simple (wsi, peer, sizeof peer);
  cleanup_free char *xff
      = S.ctx->settings->trusted_proxy ? hdr (wsi, WSI_TOKEN_X_FORWARDED_FOR) : NULL;
  sv_mgr_client_addr (peer, xff, S.ctx->settings->trusted_proxy, q->peer, sizeof q->peer);
  return q;
}

static void
request_from (struct req *q, struct sv_mgr_request *r)
{
  memset (r, 0, sizeof *r);
  r->method = q->method;
  r->path = q->path;
  r->query = q->query.v;
  r->body = q->body.data;
  r->body_len = q->body.len;
  r->peer = q->peer;
  r->cookie = q->cookie;
  r->tls = S.tls;
  r->id = q->id;
  r->now = now_s ();
}

/* ---- writing responses ---- */

static int
write_headers (struct lws *wsi, int status, const char *ctype, lws_filepos_t len,
               const struct sv_strv *extra, bool api)
{
  unsigned char buf[LWS_PRE + 4096], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
  if (lws_add_http_common_headers (wsi, (unsigned)status, ctype, len, &p, end))
    return -1;
  if (api
      && lws_add_http_header_by_name (wsi, (const unsigned char *)"cache-control:",
                                      (const unsigned char *)"no-store", 8, &p, end))
    return -1;
  for (size_t i = 0; extra && i < extra->n; i++)
    {
      const char *line = extra->v[i];
      const char *colon = strchr (line, ':');
      if (colon == NULL)
        continue;
      char name[64];
      size_t nl = (size_t)(colon - line) + 1;
      if (nl >= sizeof name)
        continue;
      memcpy (name, line, nl);
      name[nl] = '\0';
      const char *v = colon + 1;
      while (*v == ' ')
        v++;
      if (lws_add_http_header_by_name (wsi, (const unsigned char *)name, (const unsigned char *)v,
                                       (int)strlen (v), &p, end))
        return -1;
    }
  return lws_finalize_write_http_header (wsi, start, &p, end);
}

/* The whole response is written: drop the request with it.  Not left to
   CLOSED_HTTP or HTTP_DROP_PROTOCOL: when lws normalises a path out of the
   /api mount (/api/vms/../../etc), it binds the next protocol without
   either, and the request was leaked. */
static int
transaction_done (struct lws *wsi, struct pss *pss)
{
  pss->responding = false;
  sv_mgr_resp_free (&pss->resp);
  req_free (pss->q);
  pss->q = NULL;
  if (pss->close_after)
    return -1;
  return lws_http_transaction_completed (wsi) ? -1 : 0;
}

/* Send resp on wsi: the header now, the body from HTTP_WRITEABLE. */
static int
respond (struct lws *wsi, struct pss *pss, struct sv_mgr_response *resp)
{
  if (resp != &pss->resp)
    {
      sv_mgr_resp_free (&pss->resp);
      pss->resp = *resp;
      memset (resp, 0, sizeof *resp);
    }
  struct sv_mgr_response *r = &pss->resp;
  if (pss->close_after)
    sv_strv_add (&r->headers, "Connection: close");
  if (write_headers (wsi, r->status, r->content_type ? r->content_type : "application/json",
                     r->body_len, &r->headers, true))
    return -1;
  pss->responding = true;
  pss->off = 0;
  if (r->body_len == 0)
    return transaction_done (wsi, pss);
  lws_callback_on_writable (wsi);
  return 0;
}

static int
respond_error (struct lws *wsi, struct pss *pss, int status, const char *msg)
{
  struct sv_mgr_response r = { 0 };
  sv_mgr_resp_error (&r, status, "%s", msg);
  return respond (wsi, pss, &r);
}

static int
write_body (struct lws *wsi, struct pss *pss)
{
  struct sv_mgr_response *r = &pss->resp;
  size_t left = r->body_len - pss->off;
  size_t n = left > 65536 ? 65536 : left;
  unsigned char *buf = sv_xmalloc (LWS_PRE + n);
  memcpy (buf + LWS_PRE, r->body + pss->off, n);
  bool last = n == left;
  int w = lws_write (wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
  free (buf);
  if (w < (int)n)
    return -1;
  pss->off += n;
  if (!last)
    {
      lws_callback_on_writable (wsi);
      return 0;
    }
  return transaction_done (wsi, pss);
}

static int
write_raw (struct lws *wsi, const char *data, size_t len, enum lws_write_protocol wp)
{
  unsigned char *buf = sv_xmalloc (LWS_PRE + len + 1);
  memcpy (buf + LWS_PRE, data, len);
  int w = lws_write (wsi, buf + LWS_PRE, len, wp);
  free (buf);
  return w < (int)len ? -1 : 0;
}

/* ---- jobs ---- */

static void
job_attention (struct job *j)
{
  /* under S.lock */
  if (!j->queued)
    {
      j->queued = true;
      j->next = S.attention;
      S.attention = j;
    }
}

static void
job_free (struct job *j)
{
  sv_mgr_resp_free (&j->resp);
  req_free (j->q);
  free (j->stream_ctype);
  sv_buf_free (&j->out);
  free (j);
  /* A list of 50 VMs leaves a few hundred KiB of freed JSON behind: give
   * it back, the manager idles most of its life. */
  malloc_trim (0);
}

static void
sink_begin (struct sv_mgr_sink *s, int status, const char *ctype)
{
  struct job *j = (struct job *)((char *)s - offsetof (struct job, sink));
  pthread_mutex_lock (&S.lock);
  j->begun = true;
  j->stream_status = status;
  j->stream_ctype = sv_xstrdup (ctype);
  job_attention (j);
  pthread_mutex_unlock (&S.lock);
  lws_cancel_service (S.lws);
}

static bool
sink_write (struct sv_mgr_sink *s, const char *data, size_t len)
{
  struct job *j = (struct job *)((char *)s - offsetof (struct job, sink));
  pthread_mutex_lock (&S.lock);
  /* A slow reader: wait for the loop to drain (bounded memory). */
  while (!j->orphaned && j->out.len > MAX_PENDING_OUT)
    {
      pthread_mutex_unlock (&S.lock);
      usleep (10000);
      pthread_mutex_lock (&S.lock);
    }
  bool ok = !j->orphaned;
  if (ok)
    {
      sv_buf_addn (&j->out, data, len);
      job_attention (j);
    }
  pthread_mutex_unlock (&S.lock);
  if (ok)
    lws_cancel_service (S.lws);
  return ok;
}

static bool
sink_alive (struct sv_mgr_sink *s)
{
  struct job *j = (struct job *)((char *)s - offsetof (struct job, sink));
  pthread_mutex_lock (&S.lock);
  bool ok = !j->orphaned && !S.interrupted;
  pthread_mutex_unlock (&S.lock);
  return ok;
}

static void *
job_run (void *ud)
{
  struct job *j = ud;
  sv_mgr_dispatch (S.ctx, j->q->route, &j->r, &j->resp, &j->sink);
  pthread_mutex_lock (&S.lock);
  j->done = true;
  job_attention (j);
  if (--S.running_jobs == 0)
    pthread_cond_broadcast (&S.jobs_cond);
  pthread_mutex_unlock (&S.lock);
  lws_cancel_service (S.lws);
  return NULL;
}

static int
job_start (struct lws *wsi, struct pss *pss)
{
  pthread_mutex_lock (&S.lock);
  unsigned running = S.running_jobs;
  pthread_mutex_unlock (&S.lock);
  /* One thread per Docker-calling request: bounded, so a flood of
   * requests cannot exhaust threads or the Docker socket. */
  if (running >= MAX_JOBS)
    return respond_error (wsi, pss, 503, "too many requests in progress; try again");
  struct job *j = sv_xcalloc (1, sizeof *j);
  j->q = steal_pointer (&pss->q);
  request_from (j->q, &j->r);
  j->wsi = wsi;
  j->sink.begin = sink_begin;
  j->sink.write = sink_write;
  j->sink.alive = sink_alive;
  pss->job = j;
  /* A graceful stop takes the VM's shutdown timeout: lws must not time
   * the connection out meanwhile (the Docker calls have their own). */
  lws_set_timeout (wsi, NO_PENDING_TIMEOUT, 0);
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  pthread_mutex_lock (&S.lock);
  S.running_jobs++;
  pthread_mutex_unlock (&S.lock);
  int r = pthread_create (&t, &attr, job_run, j);
  pthread_attr_destroy (&attr);
  if (r != 0)
    {
      pthread_mutex_lock (&S.lock);
      S.running_jobs--;
      pthread_mutex_unlock (&S.lock);
      pss->job = NULL;
      job_free (j);
      return respond_error (wsi, pss, 503, "cannot start a worker thread");
    }
  return 0;
}

/* HTTP_WRITEABLE for a connection with a job. */
static int
job_writeable (struct lws *wsi, struct pss *pss)
{
  struct job *j = pss->job;
  pthread_mutex_lock (&S.lock);
  bool done = j->done, begun = j->begun;
  if (begun && !pss->responding)
    {
      /* A stream: the header first; no Content-Length, the end closes. */
      int st = j->stream_status;
      cleanup_free char *ct = sv_xstrdup (j->stream_ctype);
      pthread_mutex_unlock (&S.lock);
      pss->responding = true;
      if (write_headers (wsi, st, ct, LWS_ILLEGAL_HTTP_CONTENT_LEN, NULL, true))
        return -1;
      lws_set_timeout (wsi, NO_PENDING_TIMEOUT, 0);
      lws_callback_on_writable (wsi);
      return 0;
    }
  struct sv_buf out = { 0 };
  if (begun)
    {
      out = j->out;
      memset (&j->out, 0, sizeof j->out);
    }
  pthread_mutex_unlock (&S.lock);
  if (begun)
    {
      if (out.len)
        {
          int rc = write_raw (wsi, out.data, out.len, LWS_WRITE_HTTP);
          sv_buf_free (&out);
          if (rc < 0)
            return -1;
          lws_callback_on_writable (wsi); /* more, or the end */
          return 0;
        }
      return done ? -1 : 0;
    }
  if (!done)
    return 0;
  pss->job = NULL;
  pthread_mutex_lock (&S.lock);
  bool queued = j->queued;
  j->orphaned = true; /* the loop frees it when it pops it, or now */
  pthread_mutex_unlock (&S.lock);
  struct sv_mgr_response resp = j->resp;
  memset (&j->resp, 0, sizeof j->resp);
  if (!queued)
    job_free (j);
  return respond (wsi, pss, &resp);
}

static void
jobs_attend (void)
{
  pthread_mutex_lock (&S.lock);
  struct job *list = S.attention;
  S.attention = NULL;
  for (struct job *j = list, *next; j; j = next)
    {
      next = j->next;
      j->queued = false;
      if (j->orphaned)
        {
          if (j->done)
            job_free (j);
        }
      else
        lws_callback_on_writable (j->wsi);
    }
  pthread_mutex_unlock (&S.lock);
}

static void
job_orphan (struct pss *pss)
{
  struct job *j = pss->job;
  if (j == NULL)
    return;
  pss->job = NULL;
  pthread_mutex_lock (&S.lock);
  j->orphaned = true;
  bool free_now = j->done && !j->queued;
  pthread_mutex_unlock (&S.lock);
  if (free_now)
    job_free (j);
}

/* ---- server-sent events ---- */

static void
sse_emit (void *ud, const char *text)
{
  pthread_mutex_lock (&S.lock);
  for (struct sse *s = S.sse; s; s = s->next)
    if (s->out.len < MAX_PENDING_OUT)
      sv_buf_add (&s->out, text);
  pthread_mutex_unlock (&S.lock);
  lws_cancel_service (S.lws);
}

static void
sse_attend (void)
{
  pthread_mutex_lock (&S.lock);
  for (struct sse *s = S.sse; s; s = s->next)
    if (s->out.len)
      lws_callback_on_writable (s->wsi);
  pthread_mutex_unlock (&S.lock);
}

static void
sse_keepalive (lws_sorted_usec_list_t *sul)
{
  sse_emit (NULL, ": keepalive\n\n");
  lws_sul_schedule (S.lws, 0, &S.keepalive, sse_keepalive, 15 * LWS_US_PER_SEC);
}

static int
sse_start (struct lws *wsi, struct pss *pss)
{
  if (write_headers (wsi, 200, "text/event-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN, NULL, true))
    return -1;
  lws_set_timeout (wsi, NO_PENDING_TIMEOUT, 0);
  struct sse *s = sv_xcalloc (1, sizeof *s);
  s->wsi = wsi;
  cleanup_free char *state = sv_mgr_events_docker_state (S.events);
  sv_buf_add (&s->out, "retry: 1000\n\n");
  sv_buf_add (&s->out, state);
  pthread_mutex_lock (&S.lock);
  s->next = S.sse;
  S.sse = s;
  pthread_mutex_unlock (&S.lock);
  pss->sse = s;
  lws_callback_on_writable (wsi);
  return 0;
}

static int
sse_writeable (struct lws *wsi, struct pss *pss)
{
  pthread_mutex_lock (&S.lock);
  struct sv_buf out = pss->sse->out;
  memset (&pss->sse->out, 0, sizeof pss->sse->out);
  pthread_mutex_unlock (&S.lock);
  int rc = out.len ? write_raw (wsi, out.data, out.len, LWS_WRITE_HTTP) : 0;
  sv_buf_free (&out);
  return rc;
}

static void
sse_remove (struct pss *pss)
{
  if (pss->sse == NULL)
    return;
  pthread_mutex_lock (&S.lock);
  for (struct sse **pp = &S.sse; *pp; pp = &(*pp)->next)
    if (*pp == pss->sse)
      {
        *pp = pss->sse->next;
        break;
      }
  pthread_mutex_unlock (&S.lock);
  sv_buf_free (&pss->sse->out);
  free (pss->sse);
  pss->sse = NULL;
}

/* ---- dispatch ---- */

static bool
body_method (const char *m)
{
  return strcmp (m, "POST") == 0 || strcmp (m, "PUT") == 0 || strcmp (m, "PATCH") == 0
         || strcmp (m, "DELETE") == 0;
}

static int
auth_check (struct req *q, bool websocket, int *retry_after, char **msg)
{
  struct sv_mgr_authreq a = { .state_changing = websocket || body_method (q->method),
                              .websocket = websocket,
                              .origin = q->origin,
                              .host = q->host,
                              .cookie = q->cookie,
                              .authorization = q->authorization,
                              .addr = q->peer,
                              .tls = S.tls };
  if (!q->route->auth)
    return a.state_changing ? sv_mgr_origin_check (&a, msg) : 0;
  return sv_mgr_auth_check (&S.ctx->auth, &a, now_s (), retry_after, msg);
}

/* The refusal of auth_check as a response (429 says when to retry). */
static void
auth_refusal (struct sv_mgr_response *resp, int status, int retry_after, const char *msg)
{
  sv_mgr_resp_error (resp, status, "%s", msg);
  if (status == 429)
    sv_strv_addf (&resp->headers, "Retry-After: %d", retry_after);
}

/* The body a route may get: 1 MiB behind the password, 4 KiB before it. */
static unsigned long long
body_limit (const struct sv_mgr_route *route, const char **words)
{
  *words = route->auth ? "request body over 1 MiB" : "request body over 4 KiB";
  return route->auth ? SV_MGR_MAX_BODY : SV_MGR_MAX_OPEN_BODY;
}

/* Run the route (on_http passed the gate, and the body is in). */
static int
dispatch (struct lws *wsi, struct pss *pss)
{
  struct req *q = pss->q;
  switch (q->route->run)
    {
    case SV_MGR_RUN_LOOP:
      {
        struct sv_mgr_request r;
        request_from (q, &r);
        struct sv_mgr_response resp = { 0 };
        sv_mgr_dispatch (S.ctx, q->route, &r, &resp, NULL);
        return respond (wsi, pss, &resp);
      }
    case SV_MGR_RUN_THREAD:
      return job_start (wsi, pss);
    case SV_MGR_RUN_SSE:
      return sse_start (wsi, pss);
    case SV_MGR_RUN_WS:
      return respond_error (wsi, pss, 400, "this is a WebSocket endpoint: send an upgrade");
    }
  return -1;
}

static int
on_http (struct lws *wsi, struct pss *pss)
{
  /* A new request on a kept-alive connection: nothing of the last one. */
  req_free (pss->q);
  sv_mgr_resp_free (&pss->resp);
  pss->responding = pss->close_after = false;
  pss->q = req_read (wsi);
  struct req *q = pss->q;
  bool mismatch;
  q->route = sv_mgr_route_find (q->method, q->path, &q->id, &mismatch);
  if (q->route == NULL && !mismatch && strncmp (q->path, "/api/vms/", 9) == 0)
    {
      /* An id with a '/' in it (lws has decoded %2f): no such VM. */
      cleanup_free char *id = sv_mgr_unrouted_id (q->path);
      cleanup_free char *d = sv_mgr_display (id);
      if (body_method (q->method))
        pss->close_after = true;
      cleanup_free char *m = NULL;
      if (asprintf (&m, "no such VM: %s", d) < 0)
        abort ();
      return respond_error (wsi, pss, 404, m);
    }
  if (q->route == NULL)
    {
      cleanup_free char *d = sv_mgr_display (q->path);
      cleanup_free char *m = NULL;
      if (asprintf (&m, mismatch ? "method %s not allowed on %s" : "no such API path: %s",
                    mismatch ? q->method : d, d)
          < 0)
        abort ();
      if (body_method (q->method))
        pss->close_after = true; /* do not read a body we do not want */
      return respond_error (wsi, pss, mismatch ? 405 : 404, m);
    }
  /* The gate, from the headers alone: a request that may not run is
     answered before any of its body is read (and the connection closed
     on it), so no one buffers a body here without the password. */
  cleanup_free char *msg = NULL;
  int retry = 0;
  int st = auth_check (q, false, &retry, &msg);
  if (st)
    {
      if (body_method (q->method))
        pss->close_after = true;
      struct sv_mgr_response r = { 0 };
      auth_refusal (&r, st, retry, msg);
      return respond (wsi, pss, &r);
    }
  if (body_method (q->method))
    {
      cleanup_free char *cl = hdr (wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
      cleanup_free char *te = hdr (wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
      const char *words;
      if (cl && strtoull (cl, NULL, 10) > body_limit (q->route, &words))
        {
          pss->close_after = true;
          return respond_error (wsi, pss, 413, words);
        }
      if ((cl && strtoull (cl, NULL, 10) > 0) || te)
        {
          q->expect_body = true;
          return 0; /* BODY, then BODY_COMPLETION dispatches */
        }
    }
  return dispatch (wsi, pss);
}

/* ---- consoles ---- */

static void
console_free (struct console *c)
{
  if (c->fd >= 0)
    close (c->fd);
  sv_buf_free (&c->to_ws);
  sv_buf_free (&c->to_raw);
  free (c);
}

/* Refuse an upgrade: the whole response now (lws completes the
 * transaction when the callback returns 1). */
static int
refuse_now (struct lws *wsi, struct sv_mgr_response *r)
{
  if (write_headers (wsi, r->status, r->content_type ? r->content_type : "application/json",
                     r->body_len, &r->headers, true)
          == 0
      && r->body_len)
    write_raw (wsi, r->body, r->body_len, LWS_WRITE_HTTP_FINAL);
  sv_mgr_resp_free (r);
  return 1;
}

static int
on_confirm_upgrade (struct lws *wsi)
{
  struct req *q = req_read (wsi);
  bool mismatch;
  struct sv_mgr_response resp = { 0 };
  q->route = sv_mgr_route_find (q->method, q->path, &q->id, &mismatch);
  if (q->route == NULL || q->route->run != SV_MGR_RUN_WS)
    {
      cleanup_free char *d = sv_mgr_display (q->path);
      sv_mgr_resp_error (&resp, 404, "no WebSocket endpoint at %s", d);
      req_free (q);
      return refuse_now (wsi, &resp);
    }
  cleanup_free char *msg = NULL;
  int retry = 0;
  int st = auth_check (q, true, &retry, &msg);
  if (st)
    {
      auth_refusal (&resp, st, retry, msg);
      req_free (q);
      return refuse_now (wsi, &resp);
    }
  bool vnc = strstr (q->route->pattern, "/vnc") != NULL;
  struct sv_mgr_request r;
  request_from (q, &r);
  cleanup_free char *full = NULL;
  int fd = sv_mgr_console_open (S.ctx, &r, vnc, &resp, &full);
  req_free (q);
  if (fd < 0)
    return refuse_now (wsi, &resp);
  struct console *c = sv_xcalloc (1, sizeof *c);
  c->fd = fd;
  c->vnc = vnc;
  c->pending_wsi = wsi;
  c->next = S.pending;
  S.pending = c;
  return 0;
}

static struct console *
pending_take (struct lws *wsi)
{
  for (struct console **pp = &S.pending; *pp; pp = &(*pp)->next)
    if ((*pp)->pending_wsi == wsi)
      {
        struct console *c = *pp;
        *pp = c->next;
        c->next = NULL;
        return c;
      }
  return NULL;
}

static int
on_ws_established (struct lws *wsi)
{
  struct console *c = pending_take (wsi);
  if (c == NULL)
    return -1;
  int fl = fcntl (c->fd, F_GETFL);
  fcntl (c->fd, F_SETFL, fl | O_NONBLOCK);
  lws_sock_file_fd_type u = { .sockfd = c->fd };
  struct lws *raw = lws_adopt_descriptor_vhost (S.vh, LWS_ADOPT_SOCKET, u, "sv-raw", NULL);
  if (raw == NULL)
    {
      console_free (c);
      return -1;
    }
  c->fd = -1; /* lws owns it now */
  c->ws = wsi;
  c->raw = raw;
  lws_set_opaque_user_data (wsi, c);
  lws_set_opaque_user_data (raw, c);
  lws_set_timeout (wsi, NO_PENDING_TIMEOUT, 0);
  return 0;
}

/* Let the other side of a console read again.  From a callback of the
 * other connection lws would apply it only at that connection's next
 * service, which stalled the proxy to ~20 MB/s: apply it now. */
static void
rx_resume (struct lws *wsi)
{
  lws_rx_flow_control (wsi, LWS_RXFLOW_REASON_APPLIES_ENABLE | LWS_RXFLOW_REASON_USER_BOOL
                                | LWS_RXFLOW_REASON_FLAG_PROCESS_NOW);
}

static void
to_ws_out (void *ud, const char *data, size_t len)
{
  struct console *c = ud;
  sv_buf_addn (&c->to_ws, data, len);
}

static int
callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
  struct pss *pss = user;
  struct console *c;
  switch (reason)
    {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      jobs_attend ();
      sse_attend ();
      return 0;

    case LWS_CALLBACK_HTTP:
      return on_http (wsi, pss);

    case LWS_CALLBACK_HTTP_BODY:
      if (pss->q == NULL)
        return 0;
      /* Refused from the headers (or too big already): the answer is on
         its way and the connection closes after it; the rest is not
         ours to keep. */
      if (pss->q->too_big || pss->responding)
        return 0;
      const char *words;
      if (pss->q->body.len + len > body_limit (pss->q->route, &words))
        {
          /* A chunked body (no Content-Length to refuse up front): answer
           * now and close, without reading the rest. */
          pss->q->too_big = true;
          pss->close_after = true;
          return respond_error (wsi, pss, 413, words);
        }
      sv_buf_addn (&pss->q->body, in, len);
      return 0;

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
      if (pss->q == NULL || !pss->q->expect_body || pss->responding)
        return 0;
      return dispatch (wsi, pss);

    case LWS_CALLBACK_HTTP_WRITEABLE:
      if (pss->sse)
        return sse_writeable (wsi, pss);
      if (pss->job)
        return job_writeable (wsi, pss);
      if (pss->responding)
        return write_body (wsi, pss);
      return 0;

    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
      if (pss)
        {
          job_orphan (pss);
          sse_remove (pss);
          req_free (pss->q);
          pss->q = NULL;
          sv_mgr_resp_free (&pss->resp);
          pss->responding = false;
        }
      return 0;

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
      return on_confirm_upgrade (wsi);

    case LWS_CALLBACK_ESTABLISHED:
      return on_ws_established (wsi);

    case LWS_CALLBACK_RECEIVE:
      c = lws_get_opaque_user_data (wsi);
      if (c == NULL || c->raw == NULL)
        return -1;
      sv_buf_addn (&c->to_raw, in, len);
      if (c->to_raw.len > MAX_CONSOLE_PENDING)
        lws_rx_flow_control (wsi, 0);
      lws_callback_on_writable (c->raw);
      return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE:
      c = lws_get_opaque_user_data (wsi);
      if (c == NULL)
        return -1;
      if (S.interrupted)
        {
          static const char bye[] = "manager stopping";
          lws_close_reason (wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)bye, sizeof bye - 1);
          return -1;
        }
      if (c->to_ws.len > c->to_ws_off)
        {
          size_t left = c->to_ws.len - c->to_ws_off;
          size_t n = left > 65536 ? 65536 : left;
          if (write_raw (wsi, c->to_ws.data + c->to_ws_off, n, LWS_WRITE_BINARY) < 0)
            return -1;
          c->to_ws_off += n;
          if (c->to_ws_off == c->to_ws.len)
            {
              /* All sent: start over at the front (no memmove per frame). */
              c->to_ws.len = c->to_ws_off = 0;
              if (c->raw)
                rx_resume (c->raw);
            }
          lws_callback_on_writable (wsi); /* more, or the close below */
          return 0;
        }
      if (c->raw_closed)
        {
          static const char why[] = "VM stopped";
          lws_close_reason (wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)why, sizeof why - 1);
          return -1;
        }
      return 0;

    case LWS_CALLBACK_CLOSED:
      c = lws_get_opaque_user_data (wsi);
      if (c == NULL)
        {
          c = pending_take (wsi);
          if (c)
            console_free (c);
          return 0;
        }
      lws_set_opaque_user_data (wsi, NULL);
      c->ws = NULL;
      if (c->raw)
        {
          lws_set_opaque_user_data (c->raw, NULL);
          lws_set_timeout (c->raw, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
          c->raw = NULL;
        }
      console_free (c);
      return 0;

    case LWS_CALLBACK_WSI_DESTROY:
      c = pending_take (wsi);
      if (c)
        console_free (c);
      return 0;

    case LWS_CALLBACK_RAW_RX:
      c = lws_get_opaque_user_data (wsi);
      if (c == NULL || c->ws == NULL)
        return -1;
      if (c->vnc)
        sv_buf_addn (&c->to_ws, in, len);
      else
        sv_docker_demux_feed (&c->demux, in, len, to_ws_out, c);
      if (c->to_ws.len - c->to_ws_off > MAX_CONSOLE_PENDING)
        lws_rx_flow_control (wsi, 0);
      lws_callback_on_writable (c->ws);
      return 0;

    case LWS_CALLBACK_RAW_WRITEABLE:
      c = lws_get_opaque_user_data (wsi);
      if (c == NULL)
        return -1;
      if (c->to_raw.len)
        {
          if (write_raw (wsi, c->to_raw.data, c->to_raw.len, LWS_WRITE_RAW) < 0)
            return -1;
          c->to_raw.len = 0;
          if (c->ws)
            rx_resume (c->ws);
        }
      return 0;

    case LWS_CALLBACK_RAW_CLOSE:
      c = lws_get_opaque_user_data (wsi);
      if (c == NULL)
        return 0;
      lws_set_opaque_user_data (wsi, NULL);
      c->raw = NULL;
      c->raw_closed = true;
      if (c->ws)
        {
          /* lws closes on the hang-up even while our flow control keeps
           * it from reading: what the VM wrote last is still in the
           * socket, and belongs on the console. */
          char buf[65536];
          ssize_t n;
          int fd = lws_get_socket_fd (wsi);
          while (fd >= 0 && (n = recv (fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
            {
              if (c->vnc)
                sv_buf_addn (&c->to_ws, buf, (size_t)n);
              else
                sv_docker_demux_feed (&c->demux, buf, (size_t)n, to_ws_out, c);
            }
          lws_callback_on_writable (c->ws);
        }
      else
        console_free (c);
      return 0;

    default:
      /* Among others LWS_CALLBACK_HTTP_FILE_COMPLETION: the static mounts'
       * transaction must complete, or the next request on a kept-alive
       * connection (a browser's second file) gets an empty answer. */
      return lws_callback_http_dummy (wsi, reason, user, in, len);
    }
}

/* ---- the context ---- */

static const struct lws_protocols protocols[] = {
  { "http", callback, sizeof (struct pss), 65536, 0, NULL, 0 },
  { "binary", callback, sizeof (struct pss), 65536, 0, NULL, 0 },
  { "sv-raw", callback, 0, 65536, 0, NULL, 0 },
  { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct lws_protocol_vhost_options mime_mjs = { NULL, NULL, ".mjs", "text/javascript" };
static const struct lws_protocol_vhost_options mime_json
    = { &mime_mjs, NULL, ".json", "application/json" };
static const struct lws_protocol_vhost_options mime_svg
    = { &mime_json, NULL, ".svg", "image/svg+xml" };
static const struct lws_protocol_vhost_options mime_map
    = { &mime_svg, NULL, ".map", "application/json" };
static const struct lws_protocol_vhost_options mime_ico
    = { &mime_map, NULL, ".ico", "image/x-icon" };
static const struct lws_protocol_vhost_options mime_wasm
    = { &mime_ico, NULL, ".wasm", "application/wasm" };

static const struct lws_protocol_vhost_options hdr_refpol
    = { NULL, NULL, "Referrer-Policy:", "no-referrer" };
static const struct lws_protocol_vhost_options hdr_nosniff
    = { &hdr_refpol, NULL, "X-Content-Type-Options:", "nosniff" };
static const struct lws_protocol_vhost_options hdr_csp
    = { &hdr_nosniff, NULL, "Content-Security-Policy:",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'" };

static void
on_signal (int sig)
{
  S.interrupted = 1;
  lws_cancel_service (S.lws);
}

static void
lws_log (int level, const char *line)
{
  if (level & (LLL_ERR | LLL_WARN))
    fprintf (stderr, "startvm-manager: libwebsockets: %s", line);
}

int
sv_mgr_server_run (struct sv_mgr_ctx *ctx, const char *cert, const char *key, sv_error_t *err)
{
  const struct sv_mgr_settings *s = ctx->settings;
  S.ctx = ctx;
  S.tls = cert != NULL;
  lws_set_log_level (LLL_ERR | LLL_WARN, lws_log);

  struct lws_http_mount m_termjs = { 0 }, m_novnc = { 0 }, m_api = { 0 }, m_health = { 0 },
                        m_root = { 0 };
  m_root.mountpoint = "/";
  m_root.mountpoint_len = 1;
  m_root.origin = s->web_dir;
  m_root.def = "index.html";
  m_root.origin_protocol = LWSMPRO_FILE;
  m_root.extra_mimetypes = &mime_wasm;
  m_root.mount_next = NULL;
  m_novnc = m_root;
  m_novnc.mountpoint = "/novnc";
  m_novnc.mountpoint_len = 6;
  m_novnc.origin = s->novnc_dir;
  m_novnc.def = "vnc.html";
  m_novnc.mount_next = &m_root;
  m_termjs = m_root;
  m_termjs.mountpoint = "/termjs";
  m_termjs.mountpoint_len = 7;
  m_termjs.origin = s->termjs_dir;
  m_termjs.def = NULL;
  m_termjs.mount_next = &m_novnc;
  m_api.mountpoint = "/api";
  m_api.mountpoint_len = 4;
  m_api.origin = "http";
  m_api.origin_protocol = LWSMPRO_CALLBACK;
  m_api.mount_next = &m_termjs;
  m_health = m_api;
  m_health.mountpoint = "/healthz";
  m_health.mountpoint_len = 8;
  m_health.mount_next = &m_api;

  struct lws_context_creation_info info;
  memset (&info, 0, sizeof info);
  info.port = s->listen_port;
  bool any4 = strcmp (s->listen_addr, "0.0.0.0") == 0;
  bool any6 = strcmp (s->listen_addr, "::") == 0;
  info.iface = any4 || any6 ? NULL : s->listen_addr;
  info.protocols = protocols;
  info.mounts = &m_health;
  info.headers = &hdr_csp;
  info.vhost_name = "startvm-manager";
  info.server_string = "startvm-manager";
  info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE * 0;
  if (strchr (s->listen_addr, ':') == NULL && !any6)
    info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  info.alpn = "http/1.1";
  /* lws reads every socket into this buffer: its 4 KiB default cut the
   * VNC proxy's throughput to a few tens of MB/s (docs/performance.md). */
  info.pt_serv_buf_size = 1 << 16;
  info.timeout_secs = 30;
  if (cert)
    {
      info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
      info.ssl_cert_filepath = cert;
      info.ssl_private_key_filepath = key;
    }
  S.lws = lws_create_context (&info);
  if (S.lws == NULL)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "cannot listen on %s:%d (libwebsockets failed to start; is the "
                          "port in use?)",
                          s->listen_addr, s->listen_port);
  S.vh = lws_get_vhost_by_name (S.lws, "startvm-manager");
  fprintf (stderr, "startvm-manager: listening on %s://%s%s%s:%d\n", cert ? "https" : "http",
           strchr (s->listen_addr, ':') ? "[" : "", s->listen_addr,
           strchr (s->listen_addr, ':') ? "]" : "", s->listen_port);

  S.events = sv_mgr_events_start (s, &ctx->cache, sse_emit, NULL);
  S.watcher = sv_mgr_watcher_start (s, &ctx->cache, sse_emit, NULL);
  if (S.watcher == NULL)
    fprintf (stderr,
             "startvm-manager: cannot watch %s (inotify): phases update on Docker "
             "events only\n",
             s->state_dir);
  lws_sul_schedule (S.lws, 0, &S.keepalive, sse_keepalive, 15 * LWS_US_PER_SEC);

  struct sigaction sa = { .sa_handler = on_signal };
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  while (!S.interrupted)
    if (lws_service (S.lws, 0) < 0)
      break;

  fprintf (stderr, "startvm-manager: stopping\n");
  /* Consoles get a close frame (1001, "manager stopping"), not a cut. */
  lws_callback_on_writable_all_protocol (S.lws, &protocols[0]);
  lws_callback_on_writable_all_protocol (S.lws, &protocols[1]);
  for (int i = 0; i < 20; i++)
    lws_service (S.lws, -1); /* non-blocking: what is ready now */

  sv_mgr_watcher_stop (S.watcher);
  S.watcher = NULL;
  sv_mgr_events_stop (S.events);
  S.events = NULL;
  /* Jobs end by themselves (their Docker calls have timeouts; streams
   * see the flag); wait for them so nothing is left half done. */
  pthread_mutex_lock (&S.lock);
  for (int i = 0; S.running_jobs && i < 100; i++)
    {
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait (&S.jobs_cond, &S.lock, &ts);
    }
  pthread_mutex_unlock (&S.lock);
  lws_sul_cancel (&S.keepalive);
  lws_context_destroy (S.lws);
  S.lws = NULL;
  jobs_attend ();
  while (S.pending)
    console_free (pending_take (S.pending->pending_wsi));
  return 0;
}
