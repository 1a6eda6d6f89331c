/* GET /api/vms/{id}/logs: Docker's log stream demultiplexed, collected
 * into one answer, or with follow=true written through the sink as it
 * comes. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cleanup.h"
#include "docker.h"

struct logs_state
{
  struct sv_docker_demux demux;
  struct sv_mgr_sink *sink; /* follow: write through */
  struct sv_buf buf;        /* otherwise: collect */
  long status;
  struct sv_buf error; /* Docker's body when not 200 */
  bool begun;
};

static void
logs_out (void *ctx, const char *data, size_t len)
{
  struct logs_state *s = ctx;
  if (s->sink)
    s->sink->write (s->sink, data, len);
  else if (s->buf.len < 64 * 1024 * 1024)
    sv_buf_addn (&s->buf, data, len);
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
  return s->sink == NULL || s->sink->alive (s->sink);
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
  struct logs_state s = { .sink = follow ? sink : NULL };
  struct sv_docker_stream_cb cb = {
    .on_data = logs_data, .on_status = logs_status, .keep_going = logs_keep_going, .ctx = &s
  };
  long st;
  cleanup_error sv_error_t err = NULL;
  int r = sv_docker_logs (req->docker, req->vm_id, n, follow, &cb, &st, &err);
  if (s.begun)
    resp->streamed = true;
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
}
