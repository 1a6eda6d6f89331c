/* Docker-calling routes on worker threads: one detached thread a request
 * (at most MAX_JOBS), its answer or stream handed back to the loop. */
#include "metrics.h"
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

static void
job_attention (struct job *j)
{
  /* under srv.lock */
  if (!j->queued)
    {
      j->queued = true;
      j->next = srv.attention;
      srv.attention = j;
    }
}

static void
job_free (struct job *j)
{
  sv_mgr_resp_free (&j->resp);
  srv_req_free (j->q);
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
  pthread_mutex_lock (&srv.lock);
  j->begun = true;
  j->stream_status = status;
  j->stream_ctype = sv_xstrdup (ctype);
  job_attention (j);
  pthread_mutex_unlock (&srv.lock);
  lws_cancel_service (srv.lws);
}

static bool
sink_write (struct sv_mgr_sink *s, const char *data, size_t len)
{
  struct job *j = (struct job *)((char *)s - offsetof (struct job, sink));
  pthread_mutex_lock (&srv.lock);
  /* A slow reader: wait for the loop to drain (bounded memory). */
  while (!j->orphaned && j->out.len > MAX_PENDING_OUT)
    {
      pthread_mutex_unlock (&srv.lock);
      usleep (10000);
      pthread_mutex_lock (&srv.lock);
    }
  bool ok = !j->orphaned;
  if (ok)
    {
      sv_buf_addn (&j->out, data, len);
      job_attention (j);
    }
  pthread_mutex_unlock (&srv.lock);
  if (ok)
    lws_cancel_service (srv.lws);
  return ok;
}

static bool
sink_alive (struct sv_mgr_sink *s)
{
  struct job *j = (struct job *)((char *)s - offsetof (struct job, sink));
  pthread_mutex_lock (&srv.lock);
  bool ok = !j->orphaned && !srv.interrupted;
  pthread_mutex_unlock (&srv.lock);
  return ok;
}

static void *
job_run (void *ud)
{
  struct job *j = ud;
  sv_mgr_dispatch (srv.ctx, j->q->route, &j->r, &j->resp, &j->sink);
  pthread_mutex_lock (&srv.lock);
  j->done = true;
  job_attention (j);
  if (--srv.running_jobs == 0)
    pthread_cond_broadcast (&srv.jobs_cond);
  pthread_mutex_unlock (&srv.lock);
  lws_cancel_service (srv.lws);
  return NULL;
}

int
srv_job_start (struct lws *wsi, struct pss *pss)
{
  pthread_mutex_lock (&srv.lock);
  unsigned running = srv.running_jobs;
  pthread_mutex_unlock (&srv.lock);
  /* One thread per Docker-calling request: bounded, so a flood of
   * requests cannot exhaust threads or the Docker socket. */
  if (running >= MAX_JOBS)
    return srv_respond_error (wsi, pss, 503, "too many requests in progress; try again");
  struct job *j = sv_xcalloc (1, sizeof *j);
  j->q = steal_pointer (&pss->q);
  srv_request_from (j->q, &j->r);
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
  pthread_mutex_lock (&srv.lock);
  srv.running_jobs++;
  pthread_mutex_unlock (&srv.lock);
  int r = pthread_create (&t, &attr, job_run, j);
  pthread_attr_destroy (&attr);
  if (r != 0)
    {
      pthread_mutex_lock (&srv.lock);
      srv.running_jobs--;
      pthread_mutex_unlock (&srv.lock);
      pss->job = NULL;
      job_free (j);
      return srv_respond_error (wsi, pss, 503, "cannot start a worker thread");
    }
  return 0;
}

/* HTTP_WRITEABLE for a connection with a job. */
int
srv_job_writeable (struct lws *wsi, struct pss *pss)
{
  struct job *j = pss->job;
  pthread_mutex_lock (&srv.lock);
  bool done = j->done, begun = j->begun;
  if (begun && !pss->responding)
    {
      /* A stream: the header first; no Content-Length, the end closes. */
      int st = j->stream_status;
      cleanup_free char *ct = sv_xstrdup (j->stream_ctype);
      pthread_mutex_unlock (&srv.lock);
      pss->responding = true;
      sv_mgr_metrics_request (j->q->method, j->q->route->pattern, st); /* metrics.c */
      if (srv_write_headers (wsi, st, ct, LWS_ILLEGAL_HTTP_CONTENT_LEN, NULL, true))
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
  pthread_mutex_unlock (&srv.lock);
  if (begun)
    {
      if (out.len)
        {
          int rc = srv_write_raw (wsi, out.data, out.len, LWS_WRITE_HTTP);
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
  pthread_mutex_lock (&srv.lock);
  bool queued = j->queued;
  j->orphaned = true; /* the loop frees it when it pops it, or now */
  pthread_mutex_unlock (&srv.lock);
  struct sv_mgr_response resp = j->resp;
  memset (&j->resp, 0, sizeof j->resp);
  sv_mgr_metrics_request (j->q->method, j->q->route->pattern, resp.status); /* metrics.c */
  if (!queued)
    job_free (j);
  return srv_respond (wsi, pss, &resp);
}

void
srv_jobs_attend (void)
{
  pthread_mutex_lock (&srv.lock);
  struct job *list = srv.attention;
  srv.attention = NULL;
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
  pthread_mutex_unlock (&srv.lock);
}

void
srv_job_orphan (struct pss *pss)
{
  struct job *j = pss->job;
  if (j == NULL)
    return;
  pss->job = NULL;
  pthread_mutex_lock (&srv.lock);
  j->orphaned = true;
  bool free_now = j->done && !j->queued;
  pthread_mutex_unlock (&srv.lock);
  if (free_now)
    job_free (j);
}
