#include "api.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "cleanup.h"
#include "console.h"
#include "docker.h"
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
  cleanup_free char *msg = NULL;
  json_t *body = sv_mgr_parse_body (req->body, req->body_len, &msg);
  if (body == NULL)
    {
      sv_mgr_resp_error (resp, 400, "%s", msg);
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

/* ---- create ---- */

static const char *const create_fields[]
    = { "image", "name",    "memory",    "cpus", "disks", "network",
        "ports", "no_dhcp", "user_data", "env",  NULL };

static int
fail (char **msg, const char **field, const char *f, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  *field = f;
  return -1;
}

/* A string field; numbers are accepted as their decimal text where
 * `numbers` (memory: 512 means MiB, cpus: 2). */
static int
get_text (json_t *body, const char *key, bool numbers, char **out, char **msg, const char **field)
{
  json_t *v = json_object_get (body, key);
  if (v == NULL || json_is_null (v))
    return 0;
  if (json_is_string (v))
    {
      *out = sv_xstrdup (json_string_value (v));
      return 0;
    }
  if (numbers && json_is_integer (v))
    {
      if (asprintf (out, "%lld", (long long)json_integer_value (v)) < 0)
        abort ();
      return 0;
    }
  return fail (msg, field, key, "%s: expected a string%s", key, numbers ? " or a number" : "");
}

static bool
env_name_ok (const char *k)
{
  if (!(isalpha ((unsigned char)*k) || *k == '_'))
    return false;
  for (const char *p = k; *p; p++)
    if (!(isalnum ((unsigned char)*p) || *p == '_'))
      return false;
  return strlen (k) <= 256;
}

/* startvm's own config pipeline over an empty vm.yaml and this env: the
 * value is accepted exactly when startvm accepts it, with its message. */
static int
startvm_check (char **envp, char **msg)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config cfg = { 0 };
  cleanup_error sv_error_t err = NULL;
  int r = sv_cfg_load_buffer ("vm.yaml", "", 0, &doc, &err);
  if (r == 0)
    r = sv_cfg_merge_env (&doc, envp, &err);
  if (r == 0)
    r = sv_cfg_validate (&doc, &cfg, &err);
  sv_vm_config_free (&cfg);
  sv_cfg_doc_free (&doc);
  if (r < 0)
    *msg = sv_xstrdup (err ? err->msg : "invalid value");
  return r;
}

static int
check_one (const char *var, const char *value, char **msg)
{
  if (value == NULL)
    return 0;
  cleanup_free char *kv = NULL;
  if (asprintf (&kv, "%s=%s", var, value) < 0)
    abort ();
  char *envp[] = { kv, NULL };
  return startvm_check (envp, msg);
}

static int
parse_ports (json_t *v, struct sv_mgr_create *c, char **msg, const char **field)
{
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return fail (msg, field, "ports",
                 "ports: expected a list of {\"host_port\", "
                 "\"container_port\", \"protocol\"}");
  c->ports = sv_xcalloc (json_array_size (v) + 1, sizeof *c->ports);
  size_t i;
  json_t *p;
  json_array_foreach (v, i, p)
  {
    struct sv_mgr_port *o = &c->ports[c->n_ports++];
    strcpy (o->protocol, "tcp");
    if (!json_is_object (p))
      return fail (msg, field, "ports", "ports[%zu]: expected an object", i);
    const char *k;
    json_t *x;
    json_object_foreach (p, k, x)
    {
      if (strcmp (k, "host_port") && strcmp (k, "container_port") && strcmp (k, "protocol")
          && strcmp (k, "host_ip"))
        {
          cleanup_free char *d = sv_mgr_display (k);
          return fail (msg, field, "ports",
                       "ports[%zu]: unknown key '%s' (accepted: host_port, container_port, "
                       "protocol, host_ip)",
                       i, d);
        }
    }
    json_t *cp = json_object_get (p, "container_port");
    json_t *hp = json_object_get (p, "host_port");
    if (!json_is_integer (cp) || json_integer_value (cp) < 1 || json_integer_value (cp) > 65535)
      return fail (msg, field, "ports",
                   "ports[%zu].container_port: expected a port number 1 to 65535", i);
    o->container_port = (int)json_integer_value (cp);
    if (hp && !json_is_null (hp))
      {
        if (!json_is_integer (hp) || json_integer_value (hp) < 0 || json_integer_value (hp) > 65535)
          return fail (msg, field, "ports",
                       "ports[%zu].host_port: expected a port number 1 to 65535 (0 or absent: "
                       "any free port)",
                       i);
        o->host_port = (int)json_integer_value (hp);
      }
    json_t *pr = json_object_get (p, "protocol");
    if (pr && !json_is_null (pr))
      {
        const char *s = json_string_value (pr);
        if (s == NULL || (strcmp (s, "tcp") && strcmp (s, "udp")))
          return fail (msg, field, "ports", "ports[%zu].protocol: expected tcp or udp", i);
        strcpy (o->protocol, s);
      }
    json_t *hip = json_object_get (p, "host_ip");
    if (hip && !json_is_null (hip))
      {
        const char *s = json_string_value (hip);
        uint32_t a;
        if (s == NULL
            || (*s && sv_ip4_parse (s, &a) < 0
                && strspn (s, "0123456789abcdefABCDEF:") != strlen (s)))
          return fail (msg, field, "ports",
                       "ports[%zu].host_ip: expected an IP address (e.g. 127.0.0.1)", i);
        o->host_ip = sv_xstrdup (s);
      }
  }
  return 0;
}

int
sv_mgr_create_parse (json_t *body, struct sv_mgr_create *c, char **msg, const char **field)
{
  memset (c, 0, sizeof *c);
  const char *key;
  json_t *v;
  json_object_foreach (body, key, v)
  {
    bool known = false;
    for (size_t i = 0; create_fields[i]; i++)
      known |= strcmp (key, create_fields[i]) == 0;
    if (!known)
      {
        cleanup_free char *d = sv_mgr_display (key);
        return fail (msg, field, "body",
                     "unknown field '%s' (accepted: image, name, memory, cpus, disks, network, "
                     "ports, no_dhcp, user_data, env)",
                     d);
      }
  }
  if (get_text (body, "image", false, &c->image, msg, field) < 0
      || get_text (body, "name", false, &c->name, msg, field) < 0
      || get_text (body, "memory", true, &c->memory, msg, field) < 0
      || get_text (body, "cpus", true, &c->cpus, msg, field) < 0
      || get_text (body, "disks", false, &c->disks, msg, field) < 0
      || get_text (body, "network", false, &c->network, msg, field) < 0
      || get_text (body, "user_data", false, &c->user_data, msg, field) < 0)
    return -1;
  if (c->image == NULL || *c->image == '\0')
    return fail (msg, field, "image", "image is required");
  if (c->name && !sv_mgr_name_ok (c->name))
    {
      cleanup_free char *d = sv_mgr_display (c->name);
      return fail (msg, field, "name",
                   "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", d);
    }
  if (c->network && (*c->network == '\0' || strlen (c->network) > 256))
    return fail (msg, field, "network", "network: expected a network name");
  /* host, none, container:<id> and podman's ns:<path> are network modes,
     not networks: the VM container (NET_ADMIN, NET_RAW) would take over
     the host's or another container's interfaces, or have none. */
  if (c->network
      && (strcmp (c->network, "host") == 0 || strcmp (c->network, "none") == 0
          || strchr (c->network, ':')))
    {
      cleanup_free char *d = sv_mgr_display (c->network);
      return fail (msg, field, "network",
                   "network: '%s' is refused: a VM needs a network of its own (not host, none, "
                   "container:... or ns:...)",
                   d);
    }
  json_t *nd = json_object_get (body, "no_dhcp");
  if (nd && !json_is_null (nd))
    {
      if (!json_is_boolean (nd))
        return fail (msg, field, "no_dhcp", "no_dhcp: expected true or false");
      c->no_dhcp = json_is_true (nd);
      c->no_dhcp_set = true;
    }
  if (parse_ports (json_object_get (body, "ports"), c, msg, field) < 0)
    return -1;
  json_t *env = json_object_get (body, "env");
  if (env && !json_is_null (env))
    {
      if (!json_is_object (env))
        return fail (msg, field, "env", "env: expected an object of NAME: value strings");
      json_object_foreach (env, key, v)
      {
        cleanup_free char *d = sv_mgr_display (key);
        if (!env_name_ok (key))
          return fail (msg, field, "env", "env: '%s' is not a variable name", d);
        if (!json_is_string (v))
          return fail (msg, field, "env", "env.%s: expected a string", d);
        sv_strv_addf (&c->env, "%s=%s", key, json_string_value (v));
      }
    }
  /* startvm's parsers, one field at a time so the message names it. */
  if (check_one ("MEMORY", c->memory, msg) < 0)
    return (*field = "memory"), -1;
  if (check_one ("CPUS", c->cpus, msg) < 0)
    return (*field = "cpus"), -1;
  if (check_one ("DISKS", c->disks, msg) < 0)
    return (*field = "disks"), -1;
  if (check_one ("USER_DATA", c->user_data, msg) < 0)
    return (*field = "user_data"), -1;
  /* The user's env as startvm reads it (ACCEL=..., IP_PREFIX=...). */
  if (c->env.n && startvm_check (c->env.v, msg) < 0)
    return (*field = "env"), -1;
  return 0;
}

void
sv_mgr_create_free (struct sv_mgr_create *c)
{
  free (c->image);
  free (c->name);
  free (c->network);
  free (c->memory);
  free (c->cpus);
  free (c->disks);
  free (c->user_data);
  sv_strv_free (&c->env);
  for (size_t i = 0; i < c->n_ports; i++)
    free (c->ports[i].host_ip);
  free (c->ports);
  memset (c, 0, sizeof *c);
}

json_t *
sv_mgr_create_spec (const struct sv_mgr_create *c, const char *host_state_dir, bool have_kvm)
{
  json_t *env = json_array ();
  for (size_t i = 0; i < c->env.n; i++)
    json_array_append_new (env, json_string (c->env.v[i]));
  if (c->memory)
    json_array_append_new (env, json_sprintf ("MEMORY=%s", c->memory));
  if (c->cpus)
    json_array_append_new (env, json_sprintf ("CPUS=%s", c->cpus));
  if (c->disks)
    json_array_append_new (env, json_sprintf ("DISKS=%s", c->disks));
  if (c->no_dhcp_set)
    json_array_append_new (env, json_sprintf ("NO_DHCP=%s", c->no_dhcp ? "true" : "false"));
  if (c->user_data)
    json_array_append_new (env, json_sprintf ("USER_DATA=%s", c->user_data));

  json_t *labels = json_pack ("{s:s,s:s,s:s}", "io.startvm.vm", "true", "io.startvm.managed",
                              "true", "io.startvm.state", c->name);
  uint64_t mib;
  long long cpus;
  if (c->memory && sv_parse_size_mib (c->memory, "memory", 1ULL << 30, &mib, NULL) == 0)
    json_object_set_new (labels, "io.startvm.memory_mib",
                         json_sprintf ("%llu", (unsigned long long)mib));
  if (c->cpus && sv_parse_int (c->cpus, "cpus", 1, 4096, &cpus, NULL) == 0)
    json_object_set_new (labels, "io.startvm.cpus", json_sprintf ("%lld", cpus));

  json_t *devices = json_array ();
  json_array_append_new (devices,
                         json_pack ("{s:s,s:s,s:s}", "PathOnHost", "/dev/net/tun",
                                    "PathInContainer", "/dev/net/tun", "CgroupPermissions", "rwm"));
  if (have_kvm)
    json_array_append_new (devices,
                           json_pack ("{s:s,s:s,s:s}", "PathOnHost", "/dev/kvm", "PathInContainer",
                                      "/dev/kvm", "CgroupPermissions", "rwm"));
  json_t *binds = json_array ();
  json_array_append_new (binds, json_sprintf ("%s-image:/image", c->name));
  json_array_append_new (binds, json_sprintf ("%s/%s:/ranchervm", host_state_dir, c->name));

  json_t *exposed = json_object ();
  json_t *bindings = json_object ();
  for (size_t i = 0; i < c->n_ports; i++)
    {
      const struct sv_mgr_port *p = &c->ports[i];
      char key[32];
      snprintf (key, sizeof key, "%d/%s", p->container_port, p->protocol);
      json_object_set_new (exposed, key, json_object ());
      json_t *list = json_object_get (bindings, key);
      if (list == NULL)
        {
          list = json_array ();
          json_object_set_new (bindings, key, list);
        }
      char hp[8] = "";
      if (p->host_port)
        snprintf (hp, sizeof hp, "%d", p->host_port);
      json_array_append_new (
          list, json_pack ("{s:s,s:s}", "HostIp", p->host_ip ? p->host_ip : "", "HostPort", hp));
    }

  json_t *host = json_pack ("{s:[s,s],s:o,s:o,s:o}", "CapAdd", "NET_ADMIN", "NET_RAW", "Devices",
                            devices, "Binds", binds, "PortBindings", bindings);
  json_t *spec = json_pack ("{s:s,s:o,s:o,s:b,s:b,s:b,s:b,s:b,s:i,s:o,s:o}", "Image", c->image,
                            "Env", env, "Labels", labels, "OpenStdin", 1, "AttachStdin", 1,
                            "AttachStdout", 1, "AttachStderr", 1, "Tty", 0, "StopTimeout", 30,
                            "ExposedPorts", exposed, "HostConfig", host);
  if (c->network)
    {
      json_object_set_new (host, "NetworkMode", json_string (c->network));
      json_object_set_new (spec, "NetworkingConfig",
                           json_pack ("{s:{s:{}}}", "EndpointsConfig", c->network));
    }
  return spec;
}

/* Remove a directory tree without following symlinks (a VM container
 * writes its own state directory). */
static void
rm_tree_at (int dfd, const char *name, int depth)
{
  if (depth > 16)
    return;
  int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      unlinkat (dfd, name, 0);
      return;
    }
  DIR *dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return;
    }
  struct dirent *de;
  while ((de = readdir (dir)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (de->d_type == DT_DIR)
        rm_tree_at (fd, de->d_name, depth + 1);
      else
        unlinkat (fd, de->d_name, 0);
    }
  closedir (dir);
  unlinkat (dfd, name, AT_REMOVEDIR);
}

/* In <state>/<name>: the manager made this directory.  One without it is
 * someone else's, and create never adopts it. */
#define STATE_MARKER ".startvm-manager"

/* Does the directory dfd hold nothing but the marker? */
static bool
only_marker (int dfd)
{
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return false;
    }
  bool only = true;
  struct dirent *de;
  while (only && (de = readdir (dir)))
    only = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0
           || strcmp (de->d_name, STATE_MARKER) == 0;
  closedir (dir);
  return only;
}

static void
remove_state_dir (struct sv_mgr_ctx *ctx, const char *label, const char *id)
{
  if (!sv_mgr_state_label_ok (label))
    return;
  cleanup_close int top = open (ctx->settings->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0)
    return;
  cleanup_close int sub = openat (top, label, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0)
    return;
  if (id && sv_mgr_full_id (id))
    rm_tree_at (sub, id, 0);
  /* The marker goes with the last VM container's files, not before. */
  if (only_marker (sub))
    unlinkat (sub, STATE_MARKER, 0);
  unlinkat (top, label, AT_REMOVEDIR); /* only when empty */
}

/* Did the manager make this volume (GET /volumes/NAME's reply) for the VM
 * whose io.startvm.state is state? */
static bool
volume_ours (json_t *vol, const char *state)
{
  json_t *labels = json_object_get (vol, "Labels");
  const char *managed = json_string_value (json_object_get (labels, "io.startvm.managed"));
  const char *vs = json_string_value (json_object_get (labels, "io.startvm.state"));
  return state && managed && vs && strcmp (managed, "true") == 0 && strcmp (vs, state) == 0;
}

static bool
volume_exists (struct sv_docker *d, const char *name)
{
  long st;
  json_t *out = NULL;
  cleanup_error sv_error_t err = NULL;
  int r = sv_docker_volume_inspect (d, name, &st, &out, &err);
  json_decref (out);
  return r == 0 && st == 200;
}

static void
h_vm_create (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
             struct sv_mgr_sink *sink)
{
  cleanup_free char *msg = NULL;
  json_t *body = sv_mgr_parse_body (req->body, req->body_len, &msg);
  if (body == NULL)
    {
      sv_mgr_resp_error (resp, 400, "%s", msg);
      return;
    }
  struct sv_mgr_create c;
  const char *field = NULL;
  int r = sv_mgr_create_parse (body, &c, &msg, &field);
  json_decref (body);
  if (r < 0)
    {
      sv_mgr_resp_error_field (resp, 400, msg, field);
      sv_mgr_create_free (&c);
      return;
    }
  if (c.name == NULL)
    {
      unsigned char rnd[4];
      if (sv_mgr_random (rnd, sizeof rnd, NULL) < 0)
        abort ();
      if (asprintf (&c.name, "vm-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]) < 0)
        abort ();
    }
  struct sv_docker d = { 0 };
  if (!sv_mgr_open_docker (ctx, &d, resp))
    {
      sv_mgr_create_free (&c);
      return;
    }
  long st;
  json_t *out = NULL;
  cleanup_error sv_error_t err = NULL;
  cleanup_free char *volume = NULL;
  cleanup_free char *id = NULL;
  bool made_dir = false, had_volume = true;
  int top = -1;

  /* Everything that can be refused is asked before anything is made. */
  if (sv_docker_image_inspect (&d, c.image, &st, &out, &err) < 0)
    {
      sv_mgr_resp_error (resp, 502, "%s", err->msg);
      goto out;
    }
  if (st == 404)
    {
      cleanup_free char *m = sv_docker_message (st, out);
      sv_mgr_resp_error_field (resp, 400, m, "image");
      goto out;
    }
  if (st != 200)
    {
      sv_mgr_resp_docker (resp, st, out);
      goto out;
    }
  /* An image without startvm would make a container that is labelled a VM
     and cannot run one (Docker: "no command or entrypoint"). */
  if (!sv_mgr_is_vm_inspect (out))
    {
      cleanup_free char *m = NULL;
      if (asprintf (&m, "%s is not a VM image (no label io.startvm.vm=true)", c.image) < 0)
        abort ();
      sv_mgr_resp_error_field (resp, 400, m, "image");
      goto out;
    }
  json_decref (out);
  out = NULL;
  if (sv_docker_inspect (&d, c.name, &st, &out, &err) < 0)
    {
      sv_mgr_resp_error (resp, 502, "%s", err->msg);
      goto out;
    }
  if (st == 200)
    {
      cleanup_free char *m = NULL;
      if (asprintf (&m, "the container name \"%s\" is already in use", c.name) < 0)
        abort ();
      sv_mgr_resp_error_field (resp, 409, m, "name");
      goto out;
    }
  json_decref (out);
  out = NULL;
  if (c.network)
    {
      if (sv_docker_network_inspect (&d, c.network, &st, &out, &err) < 0)
        {
          sv_mgr_resp_error (resp, 502, "%s", err->msg);
          goto out;
        }
      if (st == 404)
        {
          cleanup_free char *m = sv_docker_message (st, out);
          sv_mgr_resp_error_field (resp, 400, m, "network");
          goto out;
        }
      if (st != 200)
        {
          cleanup_free char *m = sv_docker_message (st, out);
          sv_mgr_resp_error_field (resp, 502, m, "network");
          goto out;
        }
      /* Docker's own "host" and "none" networks, whatever they are called
         here (a name or an id prefix). */
      const char *driver = json_string_value (json_object_get (out, "Driver"));
      if (driver == NULL || strcmp (driver, "host") == 0 || strcmp (driver, "null") == 0)
        {
          cleanup_free char *m = NULL;
          if (asprintf (&m,
                        "network: '%s' is refused: its driver is %s (a VM needs a network of its "
                        "own)",
                        c.network, driver ? driver : "(none)")
              < 0)
            abort ();
          sv_mgr_resp_error_field (resp, 400, m, "network");
          goto out;
        }
      json_decref (out);
      out = NULL;
    }
  if (asprintf (&volume, "%s-image", c.name) < 0)
    abort ();
  /* The disk volume is adopted only when the manager made it for a VM of
     this name (kept by DELETE ?volumes=false); anyone else's is refused,
     never mounted into a VM. */
  if (sv_docker_volume_inspect (&d, volume, &st, &out, &err) < 0)
    {
      sv_mgr_resp_error (resp, 502, "%s", err->msg);
      goto out;
    }
  if (st == 200 && !volume_ours (out, c.name))
    {
      cleanup_free char *m = NULL;
      if (asprintf (&m,
                    "the volume \"%s\" exists and the manager did not make it for this VM (no "
                    "labels io.startvm.managed=true and io.startvm.state=%s): remove it or pick "
                    "another name",
                    volume, c.name)
          < 0)
        abort ();
      sv_mgr_resp_error_field (resp, 409, m, "name");
      goto out;
    }
  if (st != 200 && st != 404)
    {
      sv_mgr_resp_docker (resp, st, out);
      goto out;
    }
  had_volume = st == 200;
  json_decref (out);
  out = NULL;

  /* The VM's own state directory: <state>/<name>, 0700, with the marker;
     an existing one only when it has the marker. */
  top = open (ctx->settings->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0)
    {
      sv_mgr_resp_error (resp, 502, "opening the state directory %s: %s", ctx->settings->state_dir,
                         strerror (errno));
      goto out;
    }
  if (mkdirat (top, c.name, 0700) == 0)
    {
      made_dir = true;
      int sub = openat (top, c.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int mfd = sub < 0 ? -1
                        : openat (sub, STATE_MARKER,
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      int e = errno;
      if (mfd >= 0)
        close (mfd);
      if (sub >= 0)
        close (sub);
      if (mfd < 0)
        {
          sv_mgr_resp_error (resp, 502, "creating %s/%s/%s: %s", ctx->settings->state_dir, c.name,
                             STATE_MARKER, strerror (e));
          goto rollback;
        }
    }
  else
    {
      struct stat sb;
      if (errno != EEXIST || fstatat (top, c.name, &sb, AT_SYMLINK_NOFOLLOW) < 0
          || !S_ISDIR (sb.st_mode))
        {
          sv_mgr_resp_error (resp, 502, "creating %s/%s: %s", ctx->settings->state_dir, c.name,
                             errno == EEXIST ? "exists and is not a directory" : strerror (errno));
          goto out;
        }
      cleanup_close int sub = openat (top, c.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0 || fstatat (sub, STATE_MARKER, &sb, AT_SYMLINK_NOFOLLOW) < 0
          || !S_ISREG (sb.st_mode))
        {
          cleanup_free char *m = NULL;
          if (asprintf (&m,
                        "the state directory %s/%s exists and the manager did not make it (no %s "
                        "in it): remove it or pick another name",
                        ctx->settings->state_dir, c.name, STATE_MARKER)
              < 0)
            abort ();
          sv_mgr_resp_error_field (resp, 409, m, "name");
          goto out;
        }
    }
  if (!had_volume)
    {
      json_t *vl
          = json_pack ("{s:s,s:s}", "io.startvm.managed", "true", "io.startvm.state", c.name);
      r = sv_docker_volume_create (&d, volume, vl, &st, &out, &err);
      json_decref (vl);
      if (r < 0)
        {
          sv_mgr_resp_error (resp, 502, "%s", err->msg);
          goto rollback;
        }
      if (st != 201 && st != 200)
        {
          sv_mgr_resp_docker (resp, st, out);
          goto rollback;
        }
      json_decref (out);
      out = NULL;
    }

  json_t *spec = sv_mgr_create_spec (&c, ctx->host_state_dir, ctx->have_kvm);
  r = sv_docker_create (&d, c.name, spec, &st, &out, &err);
  json_decref (spec);
  if (r < 0)
    {
      sv_mgr_resp_error (resp, 502, "%s", err->msg);
      goto rollback;
    }
  if (st != 201 && st != 200)
    {
      cleanup_free char *m = sv_docker_message (st, out);
      const char *f = st == 409 ? "name" : NULL;
      if (st == 404 && strstr (m, "network"))
        f = "network";
      sv_mgr_resp_error_field (resp, st == 404 && f ? 400 : sv_mgr_docker_status (st), m, f);
      goto rollback;
    }
  id = sv_xstrdup (json_string_value (json_object_get (out, "Id")) ?: "");
  json_decref (out);
  out = NULL;
  if (sv_docker_container_action (&d, id, "start", -1, 60, &st, &out, &err) < 0)
    {
      sv_mgr_resp_error (resp, 502, "%s", err->msg);
      goto rollback;
    }
  if (st != 204 && st != 304)
    {
      sv_mgr_resp_docker (resp, st, out);
      goto rollback;
    }
  json_decref (out);
  out = NULL;
  if (sv_docker_inspect (&d, id, &st, &out, &err) < 0 || st != 200)
    {
      sv_mgr_resp_error (resp, 502, "inspecting the new VM container %s failed", id);
      goto out;
    }
  sv_mgr_cache_put (&ctx->cache, id, out);
  sv_mgr_cache_vm_set (&ctx->cache, id, true);
  sv_mgr_resp_json (resp, 201, sv_mgr_vm_object (ctx->settings->state_dir, out));
  goto out;

rollback:
  /* Nothing the request made stays behind. */
  json_decref (out);
  out = NULL;
  if (id && *id)
    {
      sv_error_release (&err);
      sv_docker_remove (&d, id, &st, &out, &err);
      json_decref (out);
      out = NULL;
    }
  if (!had_volume && volume_exists (&d, volume))
    {
      sv_error_release (&err);
      sv_docker_volume_remove (&d, volume, &st, &out, &err);
      json_decref (out);
      out = NULL;
    }
  if (made_dir)
    remove_state_dir (ctx, c.name, id && sv_mgr_full_id (id) ? id : NULL);
out:
  if (top >= 0)
    close (top);
  json_decref (out);
  sv_docker_free (&d);
  sv_mgr_create_free (&c);
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
          else if (st == 200 && !volume_ours (out, vs))
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
            remove_state_dir (ctx, label, id);
        }
    }
  json_decref (out);
  json_decref (vol);
}

/* ---- logs ---- */

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

static bool
c_vm_logs (struct sv_mgr_request *req, struct sv_mgr_response *resp)
{
  long long n;
  bool follow;
  return logs_args (req, &n, &follow, resp);
}

static void
h_vm_logs (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
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

/* ---- screenshot ---- */

static void
h_vm_screenshot (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
                 struct sv_mgr_sink *sink)
{
  const char *id = req->vm_id;
  const char *label
      = sv_mgr_state_label (json_object_get (json_object_get (req->inspect, "Config"), "Labels"));
  const char *st
      = json_string_value (json_object_get (json_object_get (req->inspect, "State"), "Status"));
  if (st == NULL || strcmp (st, "running") != 0)
    {
      sv_mgr_resp_error (resp, 409, "VM is not running");
      return;
    }
  /* Where QEMU sees the VM's directory: status.json's qmp path names it;
   * else the default state_dir layout. */
  struct sv_mgr_vm_files f;
  sv_mgr_vm_files_read (ctx->settings->state_dir, label, id, &f);
  cleanup_free char *qdir = NULL;
  const char *qmp = json_string_value (json_object_get (f.status, "qmp"));
  if (qmp && qmp[0] == '/' && strstr (qmp, "/../") == NULL && strrchr (qmp, '/') != qmp)
    qdir = strndup (qmp, (size_t)(strrchr (qmp, '/') - qmp));
  else if (asprintf (&qdir, "/ranchervm/%s", id) < 0)
    abort ();
  bool have_qmp = f.qmp;
  sv_mgr_vm_files_free (&f);
  char *png = NULL;
  size_t len = 0;
  cleanup_error sv_error_t err = NULL;
  if (!have_qmp)
    sv_mgr_resp_error (resp, 409, "VM has no QMP socket");
  else if (sv_mgr_screenshot (ctx->settings->state_dir, label, id, qdir, &png, &len, &err) < 0)
    sv_mgr_resp_error (resp, 502, "%s", err->msg);
  else
    {
      resp->status = 200;
      resp->content_type = sv_xstrdup ("image/png");
      resp->body = png;
      resp->body_len = len;
    }
}

/* ---- the route table: the security model in one place ---- */

const struct sv_mgr_route sv_mgr_routes[] = {
  { "GET", "/healthz", false, SV_MGR_RUN_LOOP, h_healthz, NULL },
  { "POST", "/api/login", false, SV_MGR_RUN_LOOP, h_login, NULL },
  { "POST", "/api/logout", false, SV_MGR_RUN_LOOP, h_logout, NULL },
  { "GET", "/api/session", true, SV_MGR_RUN_LOOP, h_session, NULL },
  { "GET", "/api/vms", true, SV_MGR_RUN_THREAD, h_vms_list, NULL },
  { "POST", "/api/vms", true, SV_MGR_RUN_THREAD, h_vm_create, NULL },
  { "GET", "/api/vms/{id}", true, SV_MGR_RUN_THREAD, h_vm_get, NULL },
  { "DELETE", "/api/vms/{id}", true, SV_MGR_RUN_THREAD, h_vm_delete, c_vm_delete },
  { "POST", "/api/vms/{id}/start", true, SV_MGR_RUN_THREAD, h_vm_start, NULL },
  { "POST", "/api/vms/{id}/stop", true, SV_MGR_RUN_THREAD, h_vm_stop, NULL },
  { "POST", "/api/vms/{id}/restart", true, SV_MGR_RUN_THREAD, h_vm_restart, NULL },
  { "POST", "/api/vms/{id}/kill", true, SV_MGR_RUN_THREAD, h_vm_kill, NULL },
  { "GET", "/api/vms/{id}/logs", true, SV_MGR_RUN_THREAD, h_vm_logs, c_vm_logs },
  { "GET", "/api/vms/{id}/screenshot.png", true, SV_MGR_RUN_THREAD, h_vm_screenshot, NULL },
  { "GET", "/api/vms/{id}/vnc", true, SV_MGR_RUN_WS, NULL, NULL },
  { "GET", "/api/vms/{id}/serial", true, SV_MGR_RUN_WS, NULL, NULL },
  { "GET", "/api/images", true, SV_MGR_RUN_THREAD, h_images, NULL },
  { "GET", "/api/networks", true, SV_MGR_RUN_THREAD, h_networks, NULL },
  { "GET", "/api/events", true, SV_MGR_RUN_SSE, NULL, NULL },
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

int
sv_mgr_console_open (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, bool vnc,
                     struct sv_mgr_response *resp, char **full_id)
{
  struct sv_docker d = { 0 };
  *full_id = NULL;
  if (!sv_mgr_open_docker (ctx, &d, resp))
    {
      sv_docker_free (&d);
      return -1;
    }
  int fd = -1;
  json_t *in = sv_mgr_vm_resolve (&d, req->id, resp);
  if (in)
    {
      const char *id = json_string_value (json_object_get (in, "Id"));
      const char *label
          = sv_mgr_state_label (json_object_get (json_object_get (in, "Config"), "Labels"));
      const char *st
          = json_string_value (json_object_get (json_object_get (in, "State"), "Status"));
      cleanup_error sv_error_t err = NULL;
      if (st == NULL || strcmp (st, "running") != 0)
        sv_mgr_resp_error (resp, 409, "VM is not running");
      else if (vnc)
        {
          fd = sv_mgr_vm_socket_connect (ctx->settings->state_dir, label, id, "vnc", &err);
          if (fd < 0)
            sv_mgr_resp_error (resp, 409, "VM has no VNC socket (%s)", err->msg);
        }
      else
        {
          long hst;
          cleanup_free char *body = NULL;
          fd = sv_docker_attach (ctx->settings->docker_socket, id, &hst, &body, &err);
          if (fd < 0)
            {
              json_t *j = body ? json_loads (body, 0, NULL) : NULL;
              if (j)
                sv_mgr_resp_docker (resp, hst, j);
              else
                sv_mgr_resp_error (resp, 502, "%s", err->msg);
              json_decref (j);
            }
        }
      if (fd >= 0)
        *full_id = sv_xstrdup (id);
    }
  json_decref (in);
  sv_docker_free (&d);
  return fd;
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
