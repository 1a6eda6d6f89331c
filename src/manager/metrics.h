/* GET /metrics: what each VM uses, and the manager's own counters, in the
 * Prometheus text exposition format 0.0.4 (docs/manager.md, "Metrics").
 *
 * Gathered at scrape time on the route's worker thread: one container
 * list; podman's stats of every running VM in one call (libpod API; with
 * Docker, which has none, each VM's one-shot stats instead); then per VM
 * (up to SV_MGR_METRICS_WORKERS at a time, each on a thread of its own)
 * its inspect unless cached, status.json and QMP query-blockstats.  The scrape waits for them
 * until its deadline (MANAGER_METRICS_DEADLINE_MS) and then answers with
 * what has come in: a VM whose QMP does not answer loses its disk
 * metrics only.  Late workers finish on their own and their results are
 * dropped.
 *
 * The hooks server.c calls (request counts, consoles, event clients) are
 * thread-safe and cheap (one mutex, a small table). */
#ifndef SV_MGR_METRICS_H
#define SV_MGR_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "auth.h"
#include "util.h"

#define SV_MGR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SV_MGR_METRICS_WORKERS 8
#define SV_MGR_METRICS_DEFAULT_DEADLINE_MS 2000

/* ---- hooks for server.c ---- */
/* A response sent: the route's pattern (NULL: no route matched) and
 * method, and its status. */
void sv_mgr_metrics_request (const char *method, const char *pattern, int status);
/* A WebSocket console opened (+1) or closed (-1). */
void sv_mgr_metrics_consoles (int delta);
/* An event-stream (SSE) client came (+1) or went (-1). */
void sv_mgr_metrics_event_clients (int delta);
/* The route's handler, to tell /metrics from the API's routes. */
void sv_mgr_h_metrics (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req,
                       struct sv_mgr_response *resp, struct sv_mgr_sink *sink);
/* Authentication for /metrics: MANAGER_METRICS_TOKEN as a bearer token
 * (token: NULL when unset), else whatever sv_mgr_auth_check accepts.  A
 * locked-out address gets 429 with the metrics token too; a token that is
 * neither counts as a failed login. */
int sv_mgr_metrics_auth (struct sv_mgr_auth *a, const char *token, const struct sv_mgr_authreq *r,
                         int64_t now, int *retry_after, sv_error_t *err);

/* ---- the exposition text (pure; unit-tested) ---- */
/* "# HELP" and "# TYPE" lines of a family (type: counter, gauge). */
void sv_mgr_expo_family (struct sv_buf *b, const char *name, const char *type, const char *help);
/* One sample: name{k="v",...} value.  labels: k, v, k, v, ..., NULL;
 * values are escaped (\\, \", \n), a NULL value is written empty.
 * Integral values are written as integers, NaN and infinities as
 * Prometheus spells them. */
void sv_mgr_expo_sample (struct sv_buf *b, const char *name, const char *const *labels,
                         double value);
/* A label value, escaped as the format wants. */
void sv_mgr_expo_label_value (struct sv_buf *b, const char *v);
/* RFC 3339 time (Docker's StartedAt: nanoseconds, Z or an offset) as
 * seconds since the epoch; -1 when it is not one, or is Go's zero time
 * (0001-01-01T00:00:00Z, "never"). */
double sv_mgr_rfc3339_seconds (const char *s);
/* A disk's label from one entry of query-blockstats: "device" when set,
 * else the qdev id (/machine/peripheral/ID/... -> ID, or the whole qdev),
 * else "node-name".  NULL when none. */
char *sv_mgr_blockstats_disk (json_t *entry);

#endif
