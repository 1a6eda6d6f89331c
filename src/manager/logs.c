/* GET /api/vms/{id}/logs: Docker's log stream demultiplexed, collected
 * into one answer, or with follow=true written through the sink as it
 * comes.  tail=N without follow is cut here, not by Docker: podman 4.3's
 * tail puts the pieces of a line its log file holds in parts (conmon's
 * partial lines: a serial console writes a line in several) in reverse
 * order ("TINYVM: ready" came back as "yreadTINYVM: "), which garbled
 * what the page's serial console replays. */
#include "api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cleanup.h"
#include "docker.h"

/* What every log read without follow holds, all of them together: at
 * most MANAGER_LOG_BUFFER (a read that would pass it stops, answered
 * 429). */
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t held;

struct logs_state
{
  uint64_t max;      /* MANAGER_LOG_BUFFER */
  uint64_t reserved; /* this read's part of held */
  bool over;         /* it would have passed max */
  struct sv_docker_demux demux;
  struct sv_mgr_sink *sink; /* follow: write through */
  struct sv_buf buf;        /* otherwise: collect */
  long long tail;           /* >= 0: buf keeps only the last `tail` lines */
  size_t lines;             /* newlines in buf, while tail >= 0 */
  long status;
  struct sv_buf error; /* Docker's body when not 200 */
  bool begun;
};

static bool
reserve (struct logs_state *s, size_t len)
{
  pthread_mutex_lock (&held_lock);
  bool ok = held + len <= s->max;
  if (ok)
    {
      held += len;
      s->reserved += len;
    }
  pthread_mutex_unlock (&held_lock);
  return ok;
}

static void
release (struct logs_state *s)
{
  pthread_mutex_lock (&held_lock);
  held -= s->reserved;
  s->reserved = 0;
  pthread_mutex_unlock (&held_lock);
}

void
sv_mgr_keep_last_lines (struct sv_buf *b, long long n)
{
  size_t end = b->len, i;
  if (end && b->data[end - 1] == '\n')
    end--;
  long long seen = 0;
  for (i = end; i > 0 && n > 0; i--)
    if (b->data[i - 1] == '\n' && ++seen == n)
      break;
  if (n <= 0)
    i = b->len;
  if (i == 0 || b->data == NULL)
    return;
  memmove (b->data, b->data + i, b->len - i);
  b->len -= i;
  b->data[b->len] = '\0';
}

/* Cut buf to its last `tail` lines, and give back what was cut. */
static void
logs_trim (struct logs_state *s)
{
  size_t before = s->buf.len;
  sv_mgr_keep_last_lines (&s->buf, s->tail);
  pthread_mutex_lock (&held_lock);
  held -= before - s->buf.len;
  s->reserved -= before - s->buf.len;
  pthread_mutex_unlock (&held_lock);
  s->lines = 0;
  for (const char *p = s->buf.data; p && (p = memchr (p, '\n', s->buf.data + s->buf.len - p)); p++)
    s->lines++;
}

static void
logs_out (void *ctx, const char *data, size_t len)
{
  struct logs_state *s = ctx;
  if (s->sink)
    s->sink->write (s->sink, data, len);
  else if (!s->over && reserve (s, len))
    {
      sv_buf_addn (&s->buf, data, len);
      if (s->tail < 0)
        return;
      for (const char *p = data; (p = memchr (p, '\n', data + len - p)); p++)
        s->lines++;
      /* Now and then, not at every line: the cut copies what it keeps. */
      if (s->lines > (size_t)s->tail + 256)
        logs_trim (s);
    }
  else
    s->over = true;
}

static void
logs_status (void *ctx, long status)
{
  struct logs_state *s = ctx;
  s->status = status;
  if (s->sink && status == 200 && !s->begun)
    {
      s->sink->begin (s->sink, 200, "text/plain; charset=utf-8");
      s->begun = true;
    }
}

static bool
logs_data (void *ctx, const char *data, size_t len)
{
  struct logs_state *s = ctx;
  if (s->status != 200)
    {
      sv_buf_addn (&s->error, data, len);
      return s->error.len < 65536;
    }
  sv_docker_demux_feed (&s->demux, data, len, logs_out, s);
  return s->sink ? s->sink->alive (s->sink) : !s->over;
}

static bool
logs_keep_going (void *ctx)
{
  struct logs_state *s = ctx;
  return s->sink == NULL || s->sink->alive (s->sink);
}

/* ?tail=N|all&follow=true|false, checked before the VM is looked up. */
static bool
logs_args (struct sv_mgr_request *req, long long *n, bool *follow, struct sv_mgr_response *resp)
{
  const char *tail = sv_mgr_query_get (req->query, "tail");
  const char *fq = sv_mgr_query_get (req->query, "follow");
  *follow = false;
  *n = -1;
  if (tail && strcmp (tail, "all") != 0 && sv_parse_int (tail, "tail", 0, 100000000, n, NULL) < 0)
    {
      cleanup_free char *d = sv_mgr_display (tail);
      sv_mgr_resp_error (resp, 400, "tail=%s: expected a number of lines or all", d);
      return false;
    }
  if (fq && sv_parse_bool (fq, "follow", follow, NULL) < 0)
    {
      cleanup_free char *d = sv_mgr_display (fq);
      sv_mgr_resp_error (resp, 400, "follow=%s: expected true or false", d);
      return false;
    }
  return true;
}

bool
sv_mgr_vm_logs_check (struct sv_mgr_request *req, struct sv_mgr_response *resp)
{
  long long n;
  bool follow;
  return logs_args (req, &n, &follow, resp);
}

void
sv_mgr_vm_logs (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
                struct sv_mgr_sink *sink)
{
  long long n;
  bool follow;
  if (!logs_args (req, &n, &follow, resp))
    return;
  struct logs_state s
      = { .sink = follow ? sink : NULL, .max = ctx->settings->log_buffer, .tail = follow ? -1 : n };
  struct sv_docker_stream_cb cb = {
    .on_data = logs_data, .on_status = logs_status, .keep_going = logs_keep_going, .ctx = &s
  };
  long st;
  cleanup_error sv_error_t err = NULL;
  int r = sv_docker_logs (req->docker, req->vm_id, follow ? n : -1, follow, &cb, &st, &err);
  if (s.tail >= 0 && !s.over)
    logs_trim (&s);
  if (s.begun)
    resp->streamed = true;
  else if (s.over)
    {
      sv_mgr_resp_error (resp, 429,
                         "this log would take the memory of log reads without follow past "
                         "MANAGER_LOG_BUFFER (%llu bytes, all reads together): ask for the last "
                         "lines (tail=N), follow=true, or try again",
                         (unsigned long long)s.max);
      sv_strv_add (&resp->headers, "Retry-After: 1");
    }
  else if (r < 0)
    sv_mgr_resp_error (resp, 502, "%s", err->msg);
  else if (st != 200)
    {
      json_t *j = s.error.len ? json_loadb (s.error.data, s.error.len, 0, NULL) : NULL;
      sv_mgr_resp_docker (resp, st, j);
      json_decref (j);
    }
  else
    {
      resp->status = 200;
      resp->content_type = sv_xstrdup ("text/plain; charset=utf-8");
      resp->body_len = s.buf.len;
      resp->body = sv_buf_steal (&s.buf);
    }
  sv_buf_free (&s.buf);
  sv_buf_free (&s.error);
  release (&s);
}
