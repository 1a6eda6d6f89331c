/* The event loop's insides, shared by its files: server.c (the context
 * and the loop), http.c (requests and answers), job.c (worker threads),
 * sse.c (the event stream), ws.c and raw.c (the console proxy). */
#ifndef SV_MGR_SRV_H
#define SV_MGR_SRV_H

#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "docker.h"
#include "events.h"
#include "response.h"
#include "util.h"

#define MAX_PENDING_OUT (4 * 1024 * 1024)
#define MAX_JOBS 64
/* A console holds at most this much for a slow side before it stops
 * reading the other: bounded memory and bounded added latency. */
#define MAX_CONSOLE_PENDING (256 * 1024)

struct job;
struct sse;
struct console;
struct console_open;

struct srv
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
  unsigned n_sse;          /* clients in sse */
  struct console *pending; /* consoles between CONFIRM_UPGRADE and ESTABLISHED */
  volatile sig_atomic_t interrupted;
  lws_sorted_usec_list_t keepalive;
  /* Console opens the workers have finished (ws.c), under lock. */
  struct console_open *opened;
};
extern struct srv srv;

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
  struct console_open *op; /* the open under way on a worker, or NULL */
  int close_code;          /* refused: 4000 + status, the reason below */
  char close_reason[SV_MGR_CLOSE_REASON_MAX + 1];
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

/* server.c */
int64_t srv_now_s (void);

/* http.c */
void srv_req_free (struct req *q);
char *srv_hdr (struct lws *wsi, enum lws_token_indexes t);
struct req *srv_req_read (struct lws *wsi);
void srv_request_from (struct req *q, struct sv_mgr_request *r);
int srv_write_headers (struct lws *wsi, int status, const char *ctype, lws_filepos_t len,
                       const struct sv_strv *extra, bool api);
int srv_write_raw (struct lws *wsi, const char *data, size_t len, enum lws_write_protocol wp);
int srv_respond (struct lws *wsi, struct pss *pss, struct sv_mgr_response *resp);
int srv_respond_error (struct lws *wsi, struct pss *pss, int status, const char *msg);
int srv_auth_check (struct req *q, bool websocket, int *retry_after, sv_error_t *err);
void srv_auth_refusal (struct sv_mgr_response *resp, int status, int retry_after, const char *msg);
int srv_http_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

/* job.c */
int srv_job_start (struct lws *wsi, struct pss *pss);
int srv_job_writeable (struct lws *wsi, struct pss *pss);
void srv_jobs_attend (void);
void srv_job_orphan (struct pss *pss);

/* sse.c */
void srv_sse_emit (void *ud, const char *text);
void srv_sse_attend (void);
void srv_sse_keepalive (lws_sorted_usec_list_t *sul);
int srv_sse_start (struct lws *wsi, struct pss *pss);
int srv_sse_writeable (struct lws *wsi, struct pss *pss);
void srv_sse_remove (struct pss *pss);

/* ws.c */
void srv_console_free (struct console *c);
struct console *srv_pending_take (struct lws *wsi);
void srv_rx_resume (struct lws *wsi);
void srv_consoles_attend (void);
int srv_ws_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

/* raw.c */
int srv_raw_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);

#endif
