/* GET /api/events: server-sent events from events.c to every client, and
 * a keepalive comment every 15 s. */
#include "metrics.h"
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

void
srv_sse_emit (void *ud, const char *text)
{
  pthread_mutex_lock (&srv.lock);
  for (struct sse *s = srv.sse; s; s = s->next)
    if (s->out.len < MAX_PENDING_OUT)
      sv_buf_add (&s->out, text);
  pthread_mutex_unlock (&srv.lock);
  lws_cancel_service (srv.lws);
}

void
srv_sse_attend (void)
{
  pthread_mutex_lock (&srv.lock);
  for (struct sse *s = srv.sse; s; s = s->next)
    if (s->out.len)
      lws_callback_on_writable (s->wsi);
  pthread_mutex_unlock (&srv.lock);
}

void
srv_sse_keepalive (lws_sorted_usec_list_t *sul)
{
  srv_sse_emit (NULL, ": keepalive\n\n");
  lws_sul_schedule (srv.lws, 0, &srv.keepalive, srv_sse_keepalive, 15 * LWS_US_PER_SEC);
}

int
srv_sse_start (struct lws *wsi, struct pss *pss)
{
  pthread_mutex_lock (&srv.lock);
  bool full = srv.n_sse >= srv.ctx->settings->max_event_clients;
  pthread_mutex_unlock (&srv.lock);
  if (full)
    {
      struct sv_mgr_response r = { 0 };
      sv_mgr_resp_error (&r, 429,
                         "too many event streams open (MANAGER_MAX_EVENT_CLIENTS=%u): close one, "
                         "or try again",
                         srv.ctx->settings->max_event_clients);
      sv_strv_add (&r.headers, "Retry-After: 5");
      return srv_respond (wsi, pss, &r);
    }
  if (srv_write_headers (wsi, 200, "text/event-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN, NULL, true))
    return -1;
  lws_set_timeout (wsi, NO_PENDING_TIMEOUT, 0);
  struct sse *s = sv_xcalloc (1, sizeof *s);
  s->wsi = wsi;
  cleanup_free char *state = sv_mgr_events_docker_state (srv.events);
  sv_buf_add (&s->out, "retry: 1000\n\n");
  sv_buf_add (&s->out, state);
  pthread_mutex_lock (&srv.lock);
  s->next = srv.sse;
  srv.sse = s;
  srv.n_sse++;
  pthread_mutex_unlock (&srv.lock);
  pss->sse = s;
  sv_mgr_metrics_event_clients (1); /* metrics.c; srv_sse_remove takes it back */
  sv_mgr_metrics_request (pss->q->method, pss->q->route->pattern, 200);
  lws_callback_on_writable (wsi);
  return 0;
}

int
srv_sse_writeable (struct lws *wsi, struct pss *pss)
{
  pthread_mutex_lock (&srv.lock);
  struct sv_buf out = pss->sse->out;
  memset (&pss->sse->out, 0, sizeof pss->sse->out);
  pthread_mutex_unlock (&srv.lock);
  int rc = out.len ? srv_write_raw (wsi, out.data, out.len, LWS_WRITE_HTTP) : 0;
  sv_buf_free (&out);
  return rc;
}

void
srv_sse_remove (struct pss *pss)
{
  if (pss->sse == NULL)
    return;
  pthread_mutex_lock (&srv.lock);
  for (struct sse **pp = &srv.sse; *pp; pp = &(*pp)->next)
    if (*pp == pss->sse)
      {
        *pp = pss->sse->next;
        srv.n_sse--;
        break;
      }
  bool last = srv.n_sse == 0;
  pthread_mutex_unlock (&srv.lock);
  sv_buf_free (&pss->sse->out);
  free (pss->sse);
  pss->sse = NULL;
  sv_mgr_metrics_event_clients (-1); /* metrics.c */
  /* The last stream gone: what 50 of them held goes back to the system
   * (the manager idles most of its life, as job_free says). */
  if (last)
    malloc_trim (0);
}
