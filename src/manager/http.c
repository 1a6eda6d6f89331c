/* The API over HTTP: a request read from lws, the gate (auth from the
 * headers alone, body limits), dispatch, and the answer written back. */
#include "metrics.h"
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

void
srv_req_free (struct req *q)
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

char *
srv_hdr (struct lws *wsi, enum lws_token_indexes t)
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

struct req *
srv_req_read (struct lws *wsi)
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
        q->path = srv_hdr (wsi, methods[i].t);
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
  q->origin = srv_hdr (wsi, WSI_TOKEN_ORIGIN);
  q->host = srv_hdr (wsi, WSI_TOKEN_HOST);
  q->cookie = srv_hdr (wsi, WSI_TOKEN_HTTP_COOKIE);
  q->authorization = srv_hdr (wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
  /* The client: the peer, or what MANAGER_TRUSTED_PROXY says it is. */
  char peer[64] = "";
  lws_get_peer_simple (wsi, peer, sizeof peer);
  cleanup_free char *xff
      = srv.ctx->settings->trusted_proxy ? srv_hdr (wsi, WSI_TOKEN_X_FORWARDED_FOR) : NULL;
  sv_mgr_client_addr (peer, xff, srv.ctx->settings->trusted_proxy, q->peer, sizeof q->peer);
  return q;
}

void
srv_request_from (struct req *q, struct sv_mgr_request *r)
{
  memset (r, 0, sizeof *r);
  r->method = q->method;
  r->path = q->path;
  r->query = q->query.v;
  r->body = q->body.data;
  r->body_len = q->body.len;
  r->peer = q->peer;
  r->cookie = q->cookie;
  r->tls = srv.tls;
  r->id = q->id;
  r->now = srv_now_s ();
}

int
srv_write_headers (struct lws *wsi, int status, const char *ctype, lws_filepos_t len,
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
  srv_req_free (pss->q);
  pss->q = NULL;
  if (pss->close_after)
    return -1;
  return lws_http_transaction_completed (wsi) ? -1 : 0;
}

/* Send resp on wsi: the header now, the body from HTTP_WRITEABLE. */
int
srv_respond (struct lws *wsi, struct pss *pss, struct sv_mgr_response *resp)
{
  if (resp != &pss->resp)
    {
      sv_mgr_resp_free (&pss->resp);
      pss->resp = *resp;
      memset (resp, 0, sizeof *resp);
    }
  struct sv_mgr_response *r = &pss->resp;
  if (pss->q) /* metrics.c; a job's response is counted in job.c */
    sv_mgr_metrics_request (pss->q->method, pss->q->route ? pss->q->route->pattern : NULL,
                            r->status);
  if (pss->close_after)
    sv_strv_add (&r->headers, "Connection: close");
  if (srv_write_headers (wsi, r->status, r->content_type ? r->content_type : "application/json",
                         r->body_len, &r->headers, true))
    return -1;
  pss->responding = true;
  pss->off = 0;
  if (r->body_len == 0)
    return transaction_done (wsi, pss);
  lws_callback_on_writable (wsi);
  return 0;
}

int
srv_respond_error (struct lws *wsi, struct pss *pss, int status, const char *msg)
{
  struct sv_mgr_response r = { 0 };
  sv_mgr_resp_error (&r, status, "%s", msg);
  return srv_respond (wsi, pss, &r);
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

int
srv_write_raw (struct lws *wsi, const char *data, size_t len, enum lws_write_protocol wp)
{
  unsigned char *buf = sv_xmalloc (LWS_PRE + len + 1);
  memcpy (buf + LWS_PRE, data, len);
  int w = lws_write (wsi, buf + LWS_PRE, len, wp);
  free (buf);
  return w < (int)len ? -1 : 0;
}

static bool
body_method (const char *m)
{
  return strcmp (m, "POST") == 0 || strcmp (m, "PUT") == 0 || strcmp (m, "PATCH") == 0
         || strcmp (m, "DELETE") == 0;
}

int
srv_auth_check (struct req *q, bool websocket, int *retry_after, sv_error_t *err)
{
  struct sv_mgr_authreq a = { .state_changing = websocket || body_method (q->method),
                              .websocket = websocket,
                              .origin = q->origin,
                              .host = q->host,
                              .cookie = q->cookie,
                              .authorization = q->authorization,
                              .addr = q->peer,
                              .tls = srv.tls };
  if (!q->route->auth)
    return a.state_changing ? sv_mgr_origin_check (&a, err) : 0;
  if (q->route->handler == sv_mgr_h_metrics) /* metrics.c: MANAGER_METRICS_TOKEN too */
    return sv_mgr_metrics_auth (&srv.ctx->auth, srv.ctx->settings->metrics_token, &a, srv_now_s (),
                                retry_after, err);
  return sv_mgr_auth_check (&srv.ctx->auth, &a, srv_now_s (), retry_after, err);
}

/* The refusal of srv_auth_check as a response (429 says when to retry). */
void
srv_auth_refusal (struct sv_mgr_response *resp, int status, int retry_after, const char *msg)
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
        srv_request_from (q, &r);
        struct sv_mgr_response resp = { 0 };
        sv_mgr_dispatch (srv.ctx, q->route, &r, &resp, NULL);
        return srv_respond (wsi, pss, &resp);
      }
    case SV_MGR_RUN_THREAD:
      return srv_job_start (wsi, pss);
    case SV_MGR_RUN_SSE:
      return srv_sse_start (wsi, pss);
    case SV_MGR_RUN_WS:
      return srv_respond_error (wsi, pss, 400, "this is a WebSocket endpoint: send an upgrade");
    }
  return -1;
}

static int
on_http (struct lws *wsi, struct pss *pss)
{
  /* A new request on a kept-alive connection: nothing of the last one. */
  srv_req_free (pss->q);
  sv_mgr_resp_free (&pss->resp);
  pss->responding = pss->close_after = false;
  pss->q = srv_req_read (wsi);
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
      return srv_respond_error (wsi, pss, 404, m);
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
      return srv_respond_error (wsi, pss, mismatch ? 405 : 404, m);
    }
  /* The gate, from the headers alone: a request that may not run is
     answered before any of its body is read (and the connection closed
     on it), so no one buffers a body here without the password. */
  cleanup_error sv_error_t err = NULL;
  int retry = 0;
  int st = srv_auth_check (q, false, &retry, &err);
  if (st)
    {
      if (body_method (q->method))
        pss->close_after = true;
      struct sv_mgr_response r = { 0 };
      srv_auth_refusal (&r, st, retry, err->msg);
      return srv_respond (wsi, pss, &r);
    }
  if (body_method (q->method))
    {
      cleanup_free char *cl = srv_hdr (wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
      cleanup_free char *te = srv_hdr (wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
      const char *words;
      if (cl && strtoull (cl, NULL, 10) > body_limit (q->route, &words))
        {
          pss->close_after = true;
          return srv_respond_error (wsi, pss, 413, words);
        }
      if ((cl && strtoull (cl, NULL, 10) > 0) || te)
        {
          q->expect_body = true;
          return 0; /* BODY, then BODY_COMPLETION dispatches */
        }
    }
  return dispatch (wsi, pss);
}

/* A piece of the body, up to the route's limit (413 past it). */
static int
on_body (struct lws *wsi, struct pss *pss, void *in, size_t len)
{
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
      return srv_respond_error (wsi, pss, 413, words);
    }
  sv_buf_addn (&pss->q->body, in, len);
  return 0;
}

static int
on_writeable (struct lws *wsi, struct pss *pss)
{
  if (pss->sse)
    return srv_sse_writeable (wsi, pss);
  if (pss->job)
    return srv_job_writeable (wsi, pss);
  if (pss->responding)
    return write_body (wsi, pss);
  return 0;
}

/* The connection (or its binding to us) ends: what it held goes. */
static int
on_closed (struct pss *pss)
{
  if (pss)
    {
      srv_job_orphan (pss);
      srv_sse_remove (pss);
      srv_req_free (pss->q);
      pss->q = NULL;
      sv_mgr_resp_free (&pss->resp);
      pss->responding = false;
    }
  return 0;
}

/* The "http" protocol: the API's requests (api.c's routes), their bodies
 * and answers, the worker threads' results and the event stream.  A
 * WebSocket that asked for no subprotocol is bound here too: its reasons
 * go to the console proxy. */
int
srv_http_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
  struct pss *pss = user;
  switch (reason)
    {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      srv_jobs_attend ();
      srv_sse_attend ();
      srv_consoles_attend ();
      return 0;

    case LWS_CALLBACK_HTTP:
      return on_http (wsi, pss);

    case LWS_CALLBACK_HTTP_BODY:
      return on_body (wsi, pss, in, len);

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
      if (pss->q == NULL || !pss->q->expect_body || pss->responding)
        return 0;
      return dispatch (wsi, pss);

    case LWS_CALLBACK_HTTP_WRITEABLE:
      return on_writeable (wsi, pss);

    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
      return on_closed (pss);

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
      return srv_ws_callback (wsi, reason, user, in, len);

    default:
      /* Among others LWS_CALLBACK_HTTP_FILE_COMPLETION: the static mounts'
       * transaction must complete, or the next request on a kept-alive
       * connection (a browser's second file) gets an empty answer. */
      return lws_callback_http_dummy (wsi, reason, user, in, len);
    }
}
