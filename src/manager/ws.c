/* The consoles' WebSocket side: the upgrade and the browser's bytes. */
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
#include "response.h"

/* A console's open on a worker thread: the VM resolved (Docker's
 * inspect), its state checked, its VNC socket connected or its attach
 * stream opened.  Nothing of it waits on the loop. */
struct console_open
{
  char *id;
  bool vnc;
  struct console *c; /* loop only: NULL once the console is gone */
  /* The worker's result, the loop's once the worker has put it on
   * srv.opened (under srv.lock): */
  int fd;
  struct sv_mgr_response resp;
  struct console_open *next;
};

void
srv_console_free (struct console *c)
{
  sv_mgr_metrics_consoles (-1); /* metrics.c */
  if (c->op)
    c->op->c = NULL; /* the worker's result is dropped when it comes */
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
  if (srv_write_headers (wsi, r->status, r->content_type ? r->content_type : "application/json",
                         r->body_len, &r->headers, true)
          == 0
      && r->body_len)
    srv_write_raw (wsi, r->body, r->body_len, LWS_WRITE_HTTP_FINAL);
  sv_mgr_resp_free (r);
  return 1;
}

/* Refuse a console after the upgrade: its WebSocket is closed with 4000 +
 * the status and the message (on_ws_writeable).  Frees r. */
static void
console_refuse (struct console *c, struct sv_mgr_response *r)
{
  c->close_code = sv_mgr_resp_close (r, c->close_reason);
  sv_mgr_resp_free (r);
  if (c->ws)
    lws_callback_on_writable (c->ws);
}

/* The VM's socket into the loop, the console's other side. */
static void
console_adopt (struct console *c)
{
  int fl = fcntl (c->fd, F_GETFL);
  fcntl (c->fd, F_SETFL, fl | O_NONBLOCK);
  lws_sock_file_fd_type u = { .sockfd = c->fd };
  struct lws *raw = lws_adopt_descriptor_vhost (srv.vh, LWS_ADOPT_SOCKET, u, "sv-raw", NULL);
  if (raw == NULL)
    {
      close (c->fd);
      c->fd = -1;
      struct sv_mgr_response r = { 0 };
      sv_mgr_resp_error (&r, 500, "cannot add the VM's socket to the event loop");
      console_refuse (c, &r);
      return;
    }
  c->fd = -1; /* lws owns it now */
  c->raw = raw;
  lws_set_opaque_user_data (raw, c);
  if (c->to_raw.len) /* what the browser sent while the console opened */
    lws_callback_on_writable (raw);
}

static void *
open_run (void *ud)
{
  struct console_open *op = ud;
  struct sv_mgr_request r = { .id = op->id };
  cleanup_free char *full = NULL;
  op->fd = sv_mgr_console_open (srv.ctx, &r, op->vnc, &op->resp, &full);
  pthread_mutex_lock (&srv.lock);
  op->next = srv.opened;
  srv.opened = op;
  if (--srv.running_jobs == 0)
    pthread_cond_broadcast (&srv.jobs_cond);
  /* Under the lock: the loop's context is not destroyed before the
   * last worker has let go of it. */
  lws_cancel_service (srv.lws);
  pthread_mutex_unlock (&srv.lock);
  return NULL;
}

/* Start the console's open on a worker (one of MAX_JOBS, with the
 * Docker-calling routes'); refused with 503 when none is free. */
static void
open_start (struct console *c, const char *id)
{
  struct sv_mgr_response r = { 0 };
  pthread_mutex_lock (&srv.lock);
  bool busy = srv.running_jobs >= MAX_JOBS;
  if (!busy)
    srv.running_jobs++;
  pthread_mutex_unlock (&srv.lock);
  if (busy)
    {
      sv_mgr_resp_error (&r, 503, "too many requests in progress; try again");
      console_refuse (c, &r);
      return;
    }
  struct console_open *op = sv_xcalloc (1, sizeof *op);
  op->id = sv_xstrdup (id);
  op->vnc = c->vnc;
  op->fd = -1;
  op->c = c;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create (&t, &attr, open_run, op);
  pthread_attr_destroy (&attr);
  if (rc != 0)
    {
      pthread_mutex_lock (&srv.lock);
      srv.running_jobs--;
      pthread_mutex_unlock (&srv.lock);
      free (op->id);
      free (op);
      sv_mgr_resp_error (&r, 503, "cannot start a worker thread");
      console_refuse (c, &r);
      return;
    }
  c->op = op;
}

/* On the loop (EVENT_WAIT_CANCELLED): the opens the workers finished.
 * A console that is still there gets its socket or its refusal; one
 * whose browser went meanwhile is gone, and so is its socket. */
void
srv_consoles_attend (void)
{
  pthread_mutex_lock (&srv.lock);
  struct console_open *list = srv.opened;
  srv.opened = NULL;
  pthread_mutex_unlock (&srv.lock);
  for (struct console_open *op = list, *next; op; op = next)
    {
      next = op->next;
      struct console *c = op->c;
      if (c == NULL)
        {
          if (op->fd >= 0)
            close (op->fd);
        }
      else
        {
          c->op = NULL;
          if (op->fd >= 0)
            {
              c->fd = op->fd;
              if (c->ws) /* else on_ws_established adopts it */
                console_adopt (c);
            }
          else
            console_refuse (c, &op->resp);
        }
      sv_mgr_resp_free (&op->resp);
      free (op->id);
      free (op);
    }
}

/* The upgrade: refusals that need no Docker call (no such route, auth)
 * are HTTP answers; everything else comes after it, from a worker
 * (open_start), and a refusal then is a close frame. */
static int
on_confirm_upgrade (struct lws *wsi)
{
  struct req *q = srv_req_read (wsi);
  bool mismatch;
  struct sv_mgr_response resp = { 0 };
  q->route = sv_mgr_route_find (q->method, q->path, &q->id, &mismatch);
  if (q->route == NULL || q->route->run != SV_MGR_RUN_WS)
    {
      cleanup_free char *d = sv_mgr_display (q->path);
      sv_mgr_resp_error (&resp, 404, "no WebSocket endpoint at %s", d);
      srv_req_free (q);
      return refuse_now (wsi, &resp);
    }
  cleanup_error sv_error_t err = NULL;
  int retry = 0;
  int st = srv_auth_check (q, true, &retry, &err);
  if (st)
    {
      srv_auth_refusal (&resp, st, retry, err->msg);
      srv_req_free (q);
      return refuse_now (wsi, &resp);
    }
  struct console *c = sv_xcalloc (1, sizeof *c);
  sv_mgr_metrics_consoles (1); /* metrics.c; srv_console_free takes it back */
  c->fd = -1;
  c->vnc = strstr (q->route->pattern, "/vnc") != NULL;
  c->pending_wsi = wsi;
  c->next = srv.pending;
  srv.pending = c;
  open_start (c, q->id);
  srv_req_free (q);
  return 0;
}

struct console *
srv_pending_take (struct lws *wsi)
{
  for (struct console **pp = &srv.pending; *pp; pp = &(*pp)->next)
    if ((*pp)->pending_wsi == wsi)
      {
        struct console *c = *pp;
        *pp = c->next;
        c->next = NULL;
        return c;
      }
  return NULL;
}

/* Upgraded: the WebSocket carries nothing until the open is done; then
 * the socket is adopted, or the WebSocket closed with the refusal. */
static int
on_ws_established (struct lws *wsi)
{
  struct console *c = srv_pending_take (wsi);
  if (c == NULL)
    return -1;
  c->ws = wsi;
  lws_set_opaque_user_data (wsi, c);
  lws_set_timeout (wsi, NO_PENDING_TIMEOUT, 0);
  if (c->fd >= 0)
    console_adopt (c);
  else if (c->close_code)
    lws_callback_on_writable (wsi);
  return 0;
}

/* Let the other side of a console read again.  From a callback of the
 * other connection lws would apply it only at that connection's next
 * service, which stalled the proxy to ~20 MB/s: apply it now. */
void
srv_rx_resume (struct lws *wsi)
{
  lws_rx_flow_control (wsi, LWS_RXFLOW_REASON_APPLIES_ENABLE | LWS_RXFLOW_REASON_USER_BOOL
                                | LWS_RXFLOW_REASON_FLAG_PROCESS_NOW);
}

/* From the browser: queued for the raw socket (flow control past MAX_CONSOLE_PENDING). */
static int
on_receive (struct lws *wsi, void *in, size_t len)
{
  struct console *c = lws_get_opaque_user_data (wsi);
  if (c == NULL)
    return -1;
  if (c->close_code)
    return 0; /* refused: the close is on its way */
  /* While the console opens (no raw side yet) this waits for it. */
  sv_buf_addn (&c->to_raw, in, len);
  if (c->to_raw.len > MAX_CONSOLE_PENDING)
    lws_rx_flow_control (wsi, 0);
  if (c->raw)
    lws_callback_on_writable (c->raw);
  return 0;
}

/* To the browser: what the VM sent, 64 KiB a frame; the close once the VM side is gone or the
 * manager stops. */
static int
on_ws_writeable (struct lws *wsi)
{
  struct console *c = lws_get_opaque_user_data (wsi);
  if (c == NULL)
    return -1;
  if (srv.interrupted)
    {
      static const char bye[] = "manager stopping";
      lws_close_reason (wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)bye, sizeof bye - 1);
      return -1;
    }
  if (c->close_code)
    {
      lws_close_reason (wsi, (enum lws_close_status)c->close_code, (unsigned char *)c->close_reason,
                        strlen (c->close_reason));
      return -1;
    }
  if (c->to_ws.len > c->to_ws_off)
    {
      size_t left = c->to_ws.len - c->to_ws_off;
      size_t n = left > 65536 ? 65536 : left;
      if (srv_write_raw (wsi, c->to_ws.data + c->to_ws_off, n, LWS_WRITE_BINARY) < 0)
        return -1;
      c->to_ws_off += n;
      if (c->to_ws_off == c->to_ws.len)
        {
          /* All sent: start over at the front (no memmove per frame). */
          c->to_ws.len = c->to_ws_off = 0;
          if (c->raw)
            srv_rx_resume (c->raw);
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
}

/* A connection that never got to ESTABLISHED: the console its upgrade
 * opened goes. */
static int
drop_pending (struct lws *wsi)
{
  struct console *c = srv_pending_take (wsi);
  if (c)
    srv_console_free (c);
  return 0;
}

/* The browser went: the raw side goes with it. */
static int
on_ws_closed (struct lws *wsi)
{
  struct console *c = lws_get_opaque_user_data (wsi);
  if (c == NULL)
    return drop_pending (wsi);
  lws_set_opaque_user_data (wsi, NULL);
  c->ws = NULL;
  if (c->raw)
    {
      lws_set_opaque_user_data (c->raw, NULL);
      lws_set_timeout (c->raw, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
      c->raw = NULL;
    }
  srv_console_free (c);
  return 0;
}

/* The consoles' WebSocket side ("binary", or "http" for a client that
 * asked for no subprotocol): the upgrade (auth), the VM's socket opened
 * by a worker, and the bytes between the browser and the raw socket. */
int
srv_ws_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
  switch (reason)
    {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
      return on_confirm_upgrade (wsi);

    case LWS_CALLBACK_ESTABLISHED:
      return on_ws_established (wsi);

    case LWS_CALLBACK_RECEIVE:
      return on_receive (wsi, in, len);

    case LWS_CALLBACK_SERVER_WRITEABLE:
      return on_ws_writeable (wsi);

    case LWS_CALLBACK_CLOSED:
      return on_ws_closed (wsi);

    case LWS_CALLBACK_WSI_DESTROY:
      return drop_pending (wsi);

    default:
      return lws_callback_http_dummy (wsi, reason, user, in, len);
    }
}
