/* The HTTP API of startvm-manager: one route table (method, path pattern,
 * authentication, where it runs, handler) and the handlers.  Nothing here
 * knows libwebsockets: http.c turns a request into struct sv_mgr_request,
 * calls the handler (on the event loop or on a worker thread, as the route
 * says) and writes struct sv_mgr_response back. */
#ifndef SV_MGR_API_H
#define SV_MGR_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "cache.h"
#include "create.h"
#include "docker.h"
#include "error.h"
#include "response.h"
#include "settings.h"
#include "util.h"
#include "validate.h"

#define SV_MGR_MAX_BODY (1024 * 1024)
/* The routes open to anyone (login, logout): a password fits. */
#define SV_MGR_MAX_OPEN_BODY 4096

/* Shared by all handlers; read-only after start except where locked. */
struct sv_mgr_ctx
{
  const struct sv_mgr_settings *settings;
  struct sv_mgr_auth auth;    /* event loop only */
  const char *host_state_dir; /* bound as /ranchervm/<name> of new VM containers' parent */
  bool have_kvm;              /* /dev/kvm exists here: pass it to new VM containers */
  struct sv_mgr_cache cache;  /* inspect replies and the set of VM ids */
};

enum sv_mgr_run
{
  SV_MGR_RUN_LOOP,   /* quick, no Docker call: on the event loop */
  SV_MGR_RUN_THREAD, /* calls Docker: on a worker thread */
  SV_MGR_RUN_SSE,    /* /api/events: the event stream */
  SV_MGR_RUN_WS,     /* a WebSocket console */
};

struct sv_mgr_request
{
  const char *method;
  const char *path; /* decoded, without the query */
  char **query;     /* "name=value" (decoded), NULL-terminated; may be NULL */
  const char *body;
  size_t body_len;
  const char *peer;   /* client address, for the login lockout */
  const char *cookie; /* Cookie header or NULL */
  bool tls;
  char *id;    /* the {id} segment of the path, when the route has one */
  int64_t now; /* monotonic seconds */
  /* Routes that name a VM: sv_mgr_dispatch resolves {id} once and hands
     the handler Docker's inspect reply, the full id and the connection. */
  json_t *inspect;
  const char *vm_id;
  struct sv_docker *docker;
};

/* A streaming response (logs with follow) writes through these. */
struct sv_mgr_sink
{
  /* Send the status line and headers now (once, before any data). */
  void (*begin) (struct sv_mgr_sink *s, int status, const char *content_type);
  /* Queue data; false once the client has gone (stop producing). */
  bool (*write) (struct sv_mgr_sink *s, const char *data, size_t len);
  bool (*alive) (struct sv_mgr_sink *s);
};

typedef void (*sv_mgr_handler) (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req,
                                struct sv_mgr_response *resp, struct sv_mgr_sink *sink);

struct sv_mgr_route
{
  const char *method;
  const char *pattern; /* "{id}" matches one path segment */
  bool auth;           /* session cookie or bearer token needed */
  enum sv_mgr_run run;
  sv_mgr_handler handler;
  /* Checks of the query made before {id} is resolved (a bad argument is a
     400 whether or not the VM exists); NULL: none. */
  bool (*check) (struct sv_mgr_request *req, struct sv_mgr_response *resp);
};

/* Find the route for method + path; *id gets the {id} segment (malloc'd)
 * when there is one.  NULL and *method_mismatch=true when the path exists
 * with other methods only (405). */
const struct sv_mgr_route *sv_mgr_route_find (const char *method, const char *path, char **id,
                                              bool *method_mismatch);
/* Handlers with files of their own. */
void sv_mgr_vm_create (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req,
                       struct sv_mgr_response *resp, struct sv_mgr_sink *sink); /* create.c */
void sv_mgr_vm_logs (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req,
                     struct sv_mgr_response *resp, struct sv_mgr_sink *sink); /* logs.c */
bool sv_mgr_vm_logs_check (struct sv_mgr_request *req, struct sv_mgr_response *resp);
/* Keep the last n lines of b (a last line without its newline counts as
 * one); logs.c's own tail=N. */
void sv_mgr_keep_last_lines (struct sv_buf *b, long long n);
void sv_mgr_vm_screenshot (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req,
                           struct sv_mgr_response *resp, struct sv_mgr_sink *sink); /* console.c */

/* Does the route's path name a VM ({id})? */
bool sv_mgr_route_names_vm (const struct sv_mgr_route *route);
/* Run a route's handler: its check first; for a route that names a VM,
 * {id} resolved (404 unless it is one of ours), the handler called with
 * req->inspect, req->vm_id and req->docker set, and all of it freed. */
void sv_mgr_dispatch (struct sv_mgr_ctx *ctx, const struct sv_mgr_route *route,
                      struct sv_mgr_request *req, struct sv_mgr_response *resp,
                      struct sv_mgr_sink *sink);
/* The Docker connection of a handler (502 when it cannot be made). */
bool sv_mgr_open_docker (struct sv_mgr_ctx *ctx, struct sv_docker *d, struct sv_mgr_response *resp);
/* Resolve a VM id or name to the VM container's inspect reply, or answer
 * (404 for anything that is not one of our VMs, 502 when Docker fails). */
json_t *sv_mgr_vm_resolve (struct sv_docker *d, const char *given, struct sv_mgr_response *resp);
/* The whole table, for tests. */
extern const struct sv_mgr_route sv_mgr_routes[];
extern const size_t sv_mgr_n_routes;

void sv_mgr_ctx_init (struct sv_mgr_ctx *ctx, const struct sv_mgr_settings *s,
                      const char *password);
void sv_mgr_ctx_free (struct sv_mgr_ctx *ctx);

/* The id part of a /api/vms/... path no route matched ("a/b" of
 * /api/vms/a/b/start), for the 404 message. */
char *sv_mgr_unrouted_id (const char *path);

/* For a WebSocket console (console.c), on a worker after the upgrade (ws.c): resolve
 * {id}, check the VM runs, open the VNC socket or the attach stream.
 * Returns the fd, or -1 with resp filled (404, 409, 502). */
int sv_mgr_console_open (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, bool vnc,
                         struct sv_mgr_response *resp, char **full_id);

/* Inside a container: the host path bound at our MANAGER_STATE_DIR, from
 * inspecting our own container (NULL when not found). */
char *sv_mgr_find_host_state_dir (const struct sv_mgr_settings *s);

#endif
