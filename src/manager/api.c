#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "docker.h"
#include "metrics.h"
#include "statedir.h"
#include "vm.h"

/* ---- routes ---- */

static bool
match (const char *pattern, const char *path, char **id)
{
  *id = NULL;
  const char *p = pattern, *s = path;
  while (*p && *s)
    {
      if (strncmp (p, "{id}", 4) == 0)
        {
          size_t n = strcspn (s, "/");
          if (n == 0)
            return false;
          free (*id);
          *id = strndup (s, n);
          p += 4;
          s += n;
          continue;
        }
      if (*p != *s)
        break;
      p++;
      s++;
    }
  if (*p == '\0' && *s == '\0')
    return true;
  free (*id);
  *id = NULL;
  return false;
}

const struct sv_mgr_route *
sv_mgr_route_find (const char *method, const char *path, char **id, bool *method_mismatch)
{
  *method_mismatch = false;
  *id = NULL;
  for (size_t i = 0; i < sv_mgr_n_routes; i++)
    {
      char *cid = NULL;
      if (!match (sv_mgr_routes[i].pattern, path, &cid))
        continue;
      if (strcmp (sv_mgr_routes[i].method, method) == 0)
        {
          *id = cid;
          return &sv_mgr_routes[i];
        }
      free (cid);
      *method_mismatch = true;
    }
  return NULL;
}

void
sv_mgr_ctx_init (struct sv_mgr_ctx *ctx, const struct sv_mgr_settings *s, const char *password)
{
  memset (ctx, 0, sizeof *ctx);
  ctx->settings = s;
  sv_mgr_auth_init (&ctx->auth, password);
  ctx->host_state_dir = s->host_state_dir ? s->host_state_dir : s->state_dir;
  sv_mgr_cache_init (&ctx->cache, s->state_dir);
}

void
sv_mgr_ctx_free (struct sv_mgr_ctx *ctx)
{
  sv_mgr_auth_free (&ctx->auth);
  sv_mgr_cache_free (&ctx->cache);
}

/* ---- Docker helpers for handlers ---- */

/* Resolve {id} to the VM container's inspect reply, or answer the request
 * (404 for anything that is not one of our VMs, 502 when Docker fails). */
json_t *
sv_mgr_vm_resolve (struct sv_docker *d, const char *given, struct sv_mgr_response *resp)
{
  if (!sv_mgr_id_syntax_ok (given))
    {
      sv_mgr_resp_no_vm (resp, given);
      return NULL;
    }
  long st;
  json_t *in = NULL;
  cleanup_error sv_error_t err = NULL;
  if (sv_docker_inspect (d, given, &st, &in, &err) < 0)
    {
      sv_mgr_resp_error (resp, 502, "%s", err->msg);
      return NULL;
    }
  if (st == 404 || (st == 200 && !sv_mgr_is_vm_inspect (in)))
    {
      json_decref (in);
      sv_mgr_resp_no_vm (resp, given);
      return NULL;
    }
  if (st != 200)
    {
      sv_mgr_resp_docker (resp, st, in);
      json_decref (in);
      return NULL;
    }
  const char *full = json_string_value (json_object_get (in, "Id"));
  const char *name = json_string_value (json_object_get (in, "Name"));
  if (!sv_mgr_full_id (full) || !sv_mgr_id_answers (given, full, name))
    {
      json_decref (in);
      sv_mgr_resp_no_vm (resp, given);
      return NULL;
    }
  return in;
}

bool
sv_mgr_open_docker (struct sv_mgr_ctx *ctx, struct sv_docker *d, struct sv_mgr_response *resp)
{
  cleanup_error sv_error_t err = NULL;
  if (sv_docker_init (d, ctx->settings->docker_socket, &err) < 0)
    {
      sv_mgr_resp_error (resp, 502, "%s", err->msg);
      return false;
    }
  return true;
}

/* ---- handlers ---- */

static void
h_healthz (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
           struct sv_mgr_sink *sink)
{
  resp->status = 200;
  resp->content_type = sv_xstrdup ("text/plain; charset=utf-8");
  resp->body = sv_xstrdup ("ok\n");
  resp->body_len = 3;
}

static void
h_login (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
         struct sv_mgr_sink *sink)
{
  cleanup_error sv_error_t err = NULL;
  json_t *body = sv_mgr_parse_body (req->body, req->body_len, &err);
  if (body == NULL)
    {
      sv_mgr_resp_error (resp, 400, "%s", err->msg);
      return;
    }
  const char *pw = json_string_value (json_object_get (body, "password"));
  char sid[SV_MGR_SESSION_HEX + 1];
  int retry = 0;
  switch (sv_mgr_auth_login (&ctx->auth, req->peer ? req->peer : "?", pw ? pw : "", req->now, sid,
                             &retry))
    {
    case SV_MGR_LOGIN_OK:
      sv_mgr_resp_empty (resp, 204);
      sv_strv_addf (&resp->headers,
                    "Set-Cookie: sv_session=%s; Path=/; HttpOnly; SameSite=Strict%s", sid,
                    req->tls ? "; Secure" : "");
      break;
    case SV_MGR_LOGIN_WRONG:
      sv_mgr_resp_error (resp, 401, "wrong password");
      break;
    case SV_MGR_LOGIN_LOCKED:
      sv_mgr_resp_error (resp, 429, "too many failed logins; try again in %d s", retry);
      sv_strv_addf (&resp->headers, "Retry-After: %d", retry);
      break;
    }
  json_decref (body);
}

static void
h_logout (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
          struct sv_mgr_sink *sink)
{
  char sid[SV_MGR_SESSION_HEX + 1];
  if (sv_mgr_cookie_session (req->cookie, sid))
    sv_mgr_auth_logout (&ctx->auth, sid);
  sv_mgr_resp_empty (resp, 204);
  sv_strv_addf (&resp->headers,
                "Set-Cookie: sv_session=; Path=/; HttpOnly; SameSite=Strict; "
                "Max-Age=0%s",
                req->tls ? "; Secure" : "");
}

static void
h_session (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
           struct sv_mgr_sink *sink)
{
  sv_mgr_resp_json (resp, 200, json_pack ("{s:b,s:s}", "authenticated", 1, "version", SV_VERSION));
}

/* The inspect reply for a list entry: cached only when it has the list's
 * state (an entry without a state never takes the cached one). */
static json_t *
inspect_for_entry (struct sv_mgr_ctx *ctx, struct sv_docker *d, json_t *e)
{
  const char *id = json_string_value (json_object_get (e, "Id"));
  const char *state = json_string_value (json_object_get (e, "State"));
  return id ? sv_mgr_cache_inspect (&ctx->cache, d, id, state ? state : "") : NULL;
}

typedef int (*docker_list_fn) (struct sv_docker *d, long *status, json_t **out, sv_error_t *err);
/* One entry of Docker's list as the API shows it, or NULL to leave it out. */
typedef json_t *(*list_entry_fn) (struct sv_mgr_ctx *ctx, struct sv_docker *d, json_t *e);

/* The list routes: one Docker list call, each entry mapped, answered as
   {"<key>": [...]}; Docker's refusals in Docker's words. */
static void
respond_list (struct sv_mgr_ctx *ctx, struct sv_mgr_response *resp, docker_list_fn list_fn,
              list_entry_fn map, const char *key)
{
  struct sv_docker d = { 0 };
  if (!sv_mgr_open_docker (ctx, &d, resp))
    return;
  long st;
  json_t *list = NULL;
  cleanup_error sv_error_t err = NULL;
  if (list_fn (&d, &st, &list, &err) < 0)
    sv_mgr_resp_error (resp, 502, "%s", err->msg);
  else if (st != 200 || !json_is_array (list))
    sv_mgr_resp_docker (resp, st, list);
  else
    {
      json_t *out = json_array ();
      size_t i;
      json_t *e;
      json_array_foreach (list, i, e)
      {
        json_t *o = map (ctx, &d, e);
        if (o)
          json_array_append_new (out, o);
      }
      sv_mgr_resp_json (resp, 200, json_pack ("{s:o}", key, out));
    }
  json_decref (list);
  sv_docker_free (&d);
}

static json_t *
vm_entry (struct sv_mgr_ctx *ctx, struct sv_docker *d, json_t *e)
{
  if (!sv_mgr_cache_is_vm_entry (&ctx->cache, d, e))
    return NULL;
  json_t *in = inspect_for_entry (ctx, d, e);
  json_t *vm;
  if (in)
    vm = sv_mgr_vm_object (ctx->settings->state_dir, in);
  else
    {
      /* Gone meanwhile, or Docker would not say: what the list knows. */
      struct sv_mgr_vm_files f;
      sv_mgr_vm_files_read (ctx->settings->state_dir,
                            sv_mgr_state_label (json_object_get (e, "Labels")),
                            json_string_value (json_object_get (e, "Id")), &f);
      vm = sv_mgr_vm_from_list (e, &f);
      sv_mgr_vm_files_free (&f);
    }
  json_decref (in);
  return vm;
}

/* Docker's "Created" (RFC 3339, nanoseconds, Z or an offset) as
 * nanoseconds since the epoch, to order the list as Docker does. */
static long long
created_ns (json_t *vm)
{
  const char *s = json_string_value (json_object_get (vm, "created"));
  struct tm tm = { 0 };
  const char *p = s ? strptime (s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (p == NULL)
    return 0;
  long long ns = 0, scale = 1000000000LL;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      if (scale > 1)
        ns += (*p - '0') * (scale /= 10);
  long off = 0;
  int oh, om;
  if ((*p == '+' || *p == '-') && sscanf (p + 1, "%2d:%2d", &oh, &om) == 2)
    off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
  return ((long long)timegm (&tm) - off) * 1000000000LL + ns;
}

struct listed
{
  long long created; /* created_ns, parsed once per VM, not per comparison */
  json_t *vm;
};

static int
newest_first (const void *a, const void *b)
{
  long long x = ((const struct listed *)a)->created, y = ((const struct listed *)b)->created;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* GET /api/vms from the set of VM ids the event stream keeps: no list
 * call, and an inspect only for a VM whose cached reply an event dropped.
 * False when the set is not known (the stream is down or resyncing). */
static bool
respond_vms_from_cache (struct sv_mgr_ctx *ctx, struct sv_mgr_response *resp)
{
  struct sv_docker d = { 0 };
  cleanup_error sv_error_t err = NULL;
  if (sv_docker_init (&d, ctx->settings->docker_socket, &err) < 0)
    {
      sv_docker_free (&d);
      return false;
    }
  json_t *ids = sv_mgr_cache_vm_ids_copy (&ctx->cache);
  if (ids == NULL)
    {
      sv_docker_free (&d);
      return false;
    }
  size_t n = 0, cap = json_object_size (ids);
  cleanup_free struct listed *vms = sv_xcalloc (cap ? cap : 1, sizeof *vms);
  const char *id;
  json_t *v;
  json_object_foreach (ids, id, v)
  {
    if (!json_is_true (v))
      continue;
    /* NULL: gone meanwhile (its event will say so), or Docker is going
     * away (the stream will drop the set): not listed now. */
    json_t *in = sv_mgr_cache_inspect (&ctx->cache, &d, id, NULL);
    if (in && sv_mgr_is_vm_inspect (in))
      {
        vms[n].vm = sv_mgr_vm_object (ctx->settings->state_dir, in);
        vms[n].created = created_ns (vms[n].vm);
        n++;
      }
    json_decref (in);
  }
  json_decref (ids);
  sv_docker_free (&d);
  qsort (vms, n, sizeof *vms, newest_first);
  json_t *out = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (out, vms[i].vm);
  sv_mgr_resp_json (resp, 200, json_pack ("{s:o}", "vms", out));
  return true;
}

static void
h_vms_list (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
            struct sv_mgr_sink *sink)
{
  if (!respond_vms_from_cache (ctx, resp))
    respond_list (ctx, resp, sv_docker_list_containers, vm_entry, "vms");
}

static void
h_vm_get (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
          struct sv_mgr_sink *sink)
{
  sv_mgr_resp_json (resp, 200, sv_mgr_vm_object (ctx->settings->state_dir, req->inspect));
}

static json_t *
unix_to_iso (json_t *v)
{
  char buf[32];
  time_t t = (time_t)json_integer_value (v);
  struct tm tm;
  if (!json_is_integer (v) || gmtime_r (&t, &tm) == NULL)
    return json_null ();
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json_string (buf);
}

static json_t *
image_entry (struct sv_mgr_ctx *ctx, struct sv_docker *d, json_t *e)
{
  /* The filter is Docker's; check the label here too (an engine that
   * ignores the filter must not list every image). */
  if (!sv_mgr_is_vm_labels (json_object_get (e, "Labels")))
    return NULL;
  json_t *tags = json_object_get (e, "RepoTags");
  return json_pack ("{s:O,s:o,s:o,s:O}", "id", json_object_get (e, "Id") ?: json_null (), "tags",
                    json_is_array (tags) ? json_incref (tags) : json_array (), "created",
                    unix_to_iso (json_object_get (e, "Created")), "size",
                    json_object_get (e, "Size") ?: json_null ());
}

static void
h_images (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
          struct sv_mgr_sink *sink)
{
  respond_list (ctx, resp, sv_docker_list_images, image_entry, "images");
}

static json_t *
network_entry (struct sv_mgr_ctx *ctx, struct sv_docker *d, json_t *e)
{
  json_t *subnets = json_array ();
  size_t j;
  json_t *c;
  json_array_foreach (json_object_get (json_object_get (e, "IPAM"), "Config"), j, c)
  {
    json_t *s = json_object_get (c, "Subnet");
    if (json_is_string (s))
      json_array_append (subnets, s);
  }
  return json_pack ("{s:O,s:O,s:O,s:o}", "id", json_object_get (e, "Id") ?: json_null (), "name",
                    json_object_get (e, "Name") ?: json_null (), "driver",
                    json_object_get (e, "Driver") ?: json_null (), "subnets", subnets);
}

static void
h_networks (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
            struct sv_mgr_sink *sink)
{
  respond_list (ctx, resp, sv_docker_list_networks, network_entry, "networks");
}

/* ---- lifecycle ---- */

static void
vm_action (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
           const char *action)
{
  json_int_t stop_timeout = json_integer_value (
      json_object_get (json_object_get (req->inspect, "Config"), "StopTimeout"));
  long grace = stop_timeout > 0 ? (long)stop_timeout : 30;
  bool stops = strcmp (action, "stop") == 0 || strcmp (action, "restart") == 0;
  long st;
  json_t *out = NULL;
  cleanup_error sv_error_t err = NULL;
  int r = sv_docker_container_action (req->docker, req->vm_id, action, stops ? grace : -1,
                                      grace + 30, &st, &out, &err);
  sv_mgr_cache_forget (&ctx->cache, req->vm_id);
  if (r < 0)
    sv_mgr_resp_error (resp, 502, "%s", err->msg);
  else if (st == 204 || st == 304 || st == 200)
    sv_mgr_resp_empty (resp, 204);
  else
    sv_mgr_resp_docker (resp, st, out);
  json_decref (out);
}

#define ACTION(name)                                                                               \
  static void h_vm_##name (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req,                     \
                           struct sv_mgr_response *resp, struct sv_mgr_sink *sink)                 \
  {                                                                                                \
    vm_action (ctx, req, resp, #name);                                                             \
  }
ACTION (start)
ACTION (stop)
ACTION (restart)
ACTION (kill)

/* ?volumes=true|false, checked before the VM is looked up. */
static bool
delete_args (struct sv_mgr_request *req, bool *volumes, struct sv_mgr_response *resp)
{
  const char *vq = sv_mgr_query_get (req->query, "volumes");
  *volumes = false;
  if (vq && sv_parse_bool (vq, "volumes", volumes, NULL) < 0)
    {
      cleanup_free char *dq = sv_mgr_display (vq);
      sv_mgr_resp_error (resp, 400, "volumes=%s: expected true or false", dq);
      return false;
    }
  return true;
}

static bool
c_vm_delete (struct sv_mgr_request *req, struct sv_mgr_response *resp)
{
  bool volumes;
  return delete_args (req, &volumes, resp);
}

static void
h_vm_delete (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
             struct sv_mgr_sink *sink)
{
  bool volumes;
  if (!delete_args (req, &volumes, resp))
    return;
  struct sv_docker *d = req->docker;
  const char *id = req->vm_id;
  json_t *labels = json_object_get (json_object_get (req->inspect, "Config"), "Labels");
  json_t *vol = sv_mgr_image_volume (json_object_get (req->inspect, "Mounts"));
  long st;
  json_t *out = NULL;
  cleanup_error sv_error_t err = NULL;
  int r = sv_docker_remove (d, id, &st, &out, &err);
  sv_mgr_cache_forget (&ctx->cache, id);
  if (r < 0)
    sv_mgr_resp_error (resp, 502, "%s", err->msg);
  else if (st != 204 && st != 200)
    sv_mgr_resp_docker (resp, st, out);
  else
    {
      sv_mgr_cache_vm_set (&ctx->cache, id, false);
      json_decref (out);
      out = NULL;
      sv_mgr_resp_empty (resp, 204);
      if (volumes && json_is_string (vol))
        {
          /* Only the volume the manager made for this VM: one made by hand
             and mounted at /image is kept, and the answer says so. */
          const char *vn = json_string_value (vol);
          const char *vs = sv_mgr_state_label (labels);
          if (sv_docker_volume_inspect (d, vn, &st, &out, &err) < 0)
            sv_mgr_resp_error (resp, 502, "%s", err->msg);
          else if (st == 200 && !sv_mgr_volume_ours (out, vs))
            {
              cleanup_free char *m = NULL;
              if (asprintf (&m,
                            "the volume \"%s\" was kept: the manager did not make it for this "
                            "VM (no labels io.startvm.managed=true and io.startvm.state=%s)",
                            vn, vs ? vs : "...")
                  < 0)
                abort ();
              cleanup_free char *dm = sv_mgr_display (m);
              sv_mgr_resp_json (resp, 200,
                                json_pack ("{s:s,s:s}", "kept_volume", vn, "message", dm));
            }
          else if (st != 200 && st != 404)
            sv_mgr_resp_docker (resp, st, out);
          else if (st == 200)
            {
              json_decref (out);
              out = NULL;
              if (sv_docker_volume_remove (d, vn, &st, &out, &err) < 0)
                sv_mgr_resp_error (resp, 502, "%s", err->msg);
              else if (st != 204 && st != 200 && st != 404)
                sv_mgr_resp_docker (resp, st, out);
            }
        }
      const char *managed = json_string_value (json_object_get (labels, "io.startvm.managed"));
      if (managed && strcmp (managed, "true") == 0)
        {
          const char *label = sv_mgr_state_label (labels);
          if (label)
            sv_mgr_state_dir_remove (ctx->settings->state_dir, label, id);
        }
    }
  json_decref (out);
  json_decref (vol);
}

/* ---- the route table: the security model in one place ---- */

const struct sv_mgr_route sv_mgr_routes[] = {
  { "GET", "/healthz", false, SV_MGR_RUN_LOOP, h_healthz, NULL },
  { "POST", "/api/login", false, SV_MGR_RUN_LOOP, h_login, NULL },
  { "POST", "/api/logout", false, SV_MGR_RUN_LOOP, h_logout, NULL },
  { "GET", "/api/session", true, SV_MGR_RUN_LOOP, h_session, NULL },
  { "GET", "/api/vms", true, SV_MGR_RUN_THREAD, h_vms_list, NULL },
  { "POST", "/api/vms", true, SV_MGR_RUN_THREAD, sv_mgr_vm_create, NULL },
  { "GET", "/api/vms/{id}", true, SV_MGR_RUN_THREAD, h_vm_get, NULL },
  { "DELETE", "/api/vms/{id}", true, SV_MGR_RUN_THREAD, h_vm_delete, c_vm_delete },
  { "POST", "/api/vms/{id}/start", true, SV_MGR_RUN_THREAD, h_vm_start, NULL },
  { "POST", "/api/vms/{id}/stop", true, SV_MGR_RUN_THREAD, h_vm_stop, NULL },
  { "POST", "/api/vms/{id}/restart", true, SV_MGR_RUN_THREAD, h_vm_restart, NULL },
  { "POST", "/api/vms/{id}/kill", true, SV_MGR_RUN_THREAD, h_vm_kill, NULL },
  { "GET", "/api/vms/{id}/logs", true, SV_MGR_RUN_THREAD, sv_mgr_vm_logs, sv_mgr_vm_logs_check },
  { "GET", "/api/vms/{id}/screenshot.png", true, SV_MGR_RUN_THREAD, sv_mgr_vm_screenshot, NULL },
  { "GET", "/api/vms/{id}/vnc", true, SV_MGR_RUN_WS, NULL, NULL },
  { "GET", "/api/vms/{id}/serial", true, SV_MGR_RUN_WS, NULL, NULL },
  { "GET", "/api/images", true, SV_MGR_RUN_THREAD, h_images, NULL },
  { "GET", "/api/networks", true, SV_MGR_RUN_THREAD, h_networks, NULL },
  { "GET", "/api/events", true, SV_MGR_RUN_SSE, NULL, NULL },
  /* Prometheus (metrics.c); the gate also takes MANAGER_METRICS_TOKEN there. */
  { "GET", "/metrics", true, SV_MGR_RUN_THREAD, sv_mgr_h_metrics, NULL },
};
const size_t sv_mgr_n_routes = sizeof sv_mgr_routes / sizeof sv_mgr_routes[0];

bool
sv_mgr_route_names_vm (const struct sv_mgr_route *route)
{
  return strstr (route->pattern, "{id}") != NULL;
}

void
sv_mgr_dispatch (struct sv_mgr_ctx *ctx, const struct sv_mgr_route *route,
                 struct sv_mgr_request *req, struct sv_mgr_response *resp, struct sv_mgr_sink *sink)
{
  if (route->check && !route->check (req, resp))
    return;
  if (!sv_mgr_route_names_vm (route))
    {
      route->handler (ctx, req, resp, sink);
      return;
    }
  /* The VM the path names, resolved once for every handler that needs it. */
  struct sv_docker d = { 0 };
  if (sv_mgr_open_docker (ctx, &d, resp))
    {
      req->inspect = sv_mgr_vm_resolve (&d, req->id, resp);
      if (req->inspect)
        {
          req->docker = &d;
          req->vm_id = json_string_value (json_object_get (req->inspect, "Id"));
          route->handler (ctx, req, resp, sink);
        }
      json_decref (req->inspect);
      req->inspect = NULL;
      req->docker = NULL;
      req->vm_id = NULL;
    }
  sv_docker_free (&d);
}

char *
sv_mgr_unrouted_id (const char *path)
{
  static const char *const suffixes[] = { "/start",          "/stop", "/restart", "/kill", "/logs",
                                          "/screenshot.png", "/vnc",  "/serial",  NULL };
  const char *id = path + strlen ("/api/vms/");
  size_t n = strlen (id);
  for (size_t i = 0; suffixes[i]; i++)
    {
      size_t sl = strlen (suffixes[i]);
      if (n > sl && strcmp (id + n - sl, suffixes[i]) == 0)
        {
          n -= sl;
          break;
        }
    }
  return strndup (id, n);
}

char *
sv_mgr_find_host_state_dir (const struct sv_mgr_settings *s)
{
  /* Only inside a container (Docker's /.dockerenv, podman's
   * /run/.containerenv): our hostname is our container's short id. */
  if (access ("/.dockerenv", F_OK) != 0 && access ("/run/.containerenv", F_OK) != 0)
    return NULL;
  char host[256];
  if (gethostname (host, sizeof host) < 0)
    return NULL;
  host[sizeof host - 1] = '\0';
  struct sv_docker d = { 0 };
  cleanup_error sv_error_t err = NULL;
  if (sv_docker_init (&d, s->docker_socket, &err) < 0)
    return NULL;
  long st;
  json_t *in = NULL;
  char *found = NULL;
  if (sv_docker_inspect (&d, host, &st, &in, &err) == 0 && st == 200)
    {
      size_t i;
      json_t *m;
      json_array_foreach (json_object_get (in, "Mounts"), i, m)
      {
        const char *dst = json_string_value (json_object_get (m, "Destination"));
        const char *src = json_string_value (json_object_get (m, "Source"));
        const char *type = json_string_value (json_object_get (m, "Type"));
        if (dst && src && type && strcmp (type, "bind") == 0 && strcmp (dst, s->state_dir) == 0)
          found = sv_xstrdup (src);
      }
    }
  json_decref (in);
  sv_docker_free (&d);
  return found;
}
