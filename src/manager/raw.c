/* The consoles' raw side: the VM's socket adopted into the loop. */
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

static void
to_ws_out (void *ud, const char *data, size_t len)
{
  struct console *c = ud;
  sv_buf_addn (&c->to_ws, data, len);
}

/* From the VM: demultiplexed (attach) and queued for the browser. */
static int
on_raw_rx (struct lws *wsi, void *in, size_t len)
{
  struct console *c = lws_get_opaque_user_data (wsi);
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
}

/* To the VM: what the browser sent. */
static int
on_raw_writeable (struct lws *wsi)
{
  struct console *c = lws_get_opaque_user_data (wsi);
  if (c == NULL)
    return -1;
  if (c->to_raw.len)
    {
      if (srv_write_raw (wsi, c->to_raw.data, c->to_raw.len, LWS_WRITE_RAW) < 0)
        return -1;
      c->to_raw.len = 0;
      if (c->ws)
        srv_rx_resume (c->ws);
    }
  return 0;
}

static int
on_raw_close (struct lws *wsi)
{
  struct console *c = lws_get_opaque_user_data (wsi);
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
    srv_console_free (c);
  return 0;
}

/* The consoles' backend: the VM's VNC socket or the container's attach
 * stream, adopted into the loop as a raw socket ("sv-raw"). */
int
srv_raw_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
  switch (reason)
    {
    case LWS_CALLBACK_RAW_RX:
      return on_raw_rx (wsi, in, len);

    case LWS_CALLBACK_RAW_WRITEABLE:
      return on_raw_writeable (wsi);

    case LWS_CALLBACK_RAW_CLOSE:
      return on_raw_close (wsi);

    default:
      return lws_callback_http_dummy (wsi, reason, user, in, len);
    }
}
