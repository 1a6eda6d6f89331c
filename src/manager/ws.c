/* The consoles' WebSocket side: the upgrade and the browser's bytes. */
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
srv_console_free (struct console *c)
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
  if (srv_write_headers (wsi, r->status, r->content_type ? r->content_type : "application/json",
                         r->body_len, &r->headers, true)
          == 0
      && r->body_len)
    srv_write_raw (wsi, r->body, r->body_len, LWS_WRITE_HTTP_FINAL);
  sv_mgr_resp_free (r);
  return 1;
}

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
  bool vnc = strstr (q->route->pattern, "/vnc") != NULL;
  struct sv_mgr_request r;
  srv_request_from (q, &r);
  cleanup_free char *full = NULL;
  int fd = sv_mgr_console_open (srv.ctx, &r, vnc, &resp, &full);
  srv_req_free (q);
  if (fd < 0)
    return refuse_now (wsi, &resp);
  struct console *c = sv_xcalloc (1, sizeof *c);
  c->fd = fd;
  c->vnc = vnc;
  c->pending_wsi = wsi;
  c->next = srv.pending;
  srv.pending = c;
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

static int
on_ws_established (struct lws *wsi)
{
  struct console *c = srv_pending_take (wsi);
  if (c == NULL)
    return -1;
  int fl = fcntl (c->fd, F_GETFL);
  fcntl (c->fd, F_SETFL, fl | O_NONBLOCK);
  lws_sock_file_fd_type u = { .sockfd = c->fd };
  struct lws *raw = lws_adopt_descriptor_vhost (srv.vh, LWS_ADOPT_SOCKET, u, "sv-raw", NULL);
  if (raw == NULL)
    {
      srv_console_free (c);
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
  if (c == NULL || c->raw == NULL)
    return -1;
  sv_buf_addn (&c->to_raw, in, len);
  if (c->to_raw.len > MAX_CONSOLE_PENDING)
    lws_rx_flow_control (wsi, 0);
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
 * asked for no subprotocol): the upgrade (auth, then the VM's socket
 * opened), and the bytes between the browser and the raw socket. */
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
