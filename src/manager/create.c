#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cleanup.h"
#include "docker.h"
#include "statedir.h"
#include "vm.h"

static const char *const create_fields[]
    = { "image",   "name",      "memory", "cpus",     "disks", "network", "ports",
        "no_dhcp", "user_data", "env",    "firmware", "tpm",   "shares",  NULL };

static int
fail (const char **field, const char *f, sv_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *m = NULL;
  if (vasprintf (&m, fmt, ap) < 0)
    abort ();
  va_end (ap);
  *field = f;
  return sv_error_config (err, "%s", m);
}

/* A string field; numbers are accepted as their decimal text where
 * `numbers` (memory: 512 means MiB, cpus: 2). */
static int
get_text (json_t *body, const char *key, bool numbers, char **out, const char **field,
          sv_error_t *err)
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
  return fail (field, key, err, "%s: expected a string%s", key, numbers ? " or a number" : "");
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
startvm_check (char **envp, sv_error_t *err)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config cfg = { 0 };
  cleanup_error sv_error_t e = NULL;
  int r = sv_cfg_load_buffer ("vm.yaml", "", 0, &doc, &e);
  if (r == 0)
    r = sv_cfg_merge_env (&doc, envp, &e);
  if (r == 0)
    r = sv_cfg_validate (&doc, &cfg, &e);
  sv_vm_config_free (&cfg);
  sv_cfg_doc_free (&doc);
  if (r < 0)
    return sv_error_config (err, "%s", e ? e->msg : "invalid value");
  return r;
}

static int
check_one (const char *var, const char *value, sv_error_t *err)
{
  if (value == NULL)
    return 0;
  cleanup_free char *kv = NULL;
  if (asprintf (&kv, "%s=%s", var, value) < 0)
    abort ();
  char *envp[] = { kv, NULL };
  return startvm_check (envp, err);
}

static int
parse_ports (json_t *v, struct sv_mgr_create *c, const char **field, sv_error_t *err)
{
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return fail (field, "ports", err,
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
      return fail (field, "ports", err, "ports[%zu]: expected an object", i);
    const char *k;
    json_t *x;
    json_object_foreach (p, k, x)
    {
      if (strcmp (k, "host_port") && strcmp (k, "container_port") && strcmp (k, "protocol")
          && strcmp (k, "host_ip"))
        {
          cleanup_free char *d = sv_mgr_display (k);
          return fail (field, "ports", err,
                       "ports[%zu]: unknown key '%s' (accepted: host_port, container_port, "
                       "protocol, host_ip)",
                       i, d);
        }
    }
    json_t *cp = json_object_get (p, "container_port");
    json_t *hp = json_object_get (p, "host_port");
    if (!json_is_integer (cp) || json_integer_value (cp) < 1 || json_integer_value (cp) > 65535)
      return fail (field, "ports", err,
                   "ports[%zu].container_port: expected a port number 1 to 65535", i);
    o->container_port = (int)json_integer_value (cp);
    if (hp && !json_is_null (hp))
      {
        if (!json_is_integer (hp) || json_integer_value (hp) < 0 || json_integer_value (hp) > 65535)
          return fail (field, "ports", err,
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
          return fail (field, "ports", err, "ports[%zu].protocol: expected tcp or udp", i);
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
          return fail (field, "ports", err,
                       "ports[%zu].host_ip: expected an IP address (e.g. 127.0.0.1)", i);
        o->host_ip = sv_xstrdup (s);
      }
  }
  return 0;
}

int
sv_mgr_create_parse (json_t *body, struct sv_mgr_create *c, const char **field, sv_error_t *err)
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
        return fail (field, "body", err,
                     "unknown field '%s' (accepted: image, name, memory, cpus, disks, network, "
                     "ports, no_dhcp, user_data, env, firmware, tpm, shares)",
                     d);
      }
  }
  if (get_text (body, "image", false, &c->image, field, err) < 0
      || get_text (body, "name", false, &c->name, field, err) < 0
      || get_text (body, "memory", true, &c->memory, field, err) < 0
      || get_text (body, "cpus", true, &c->cpus, field, err) < 0
      || get_text (body, "disks", false, &c->disks, field, err) < 0
      || get_text (body, "network", false, &c->network, field, err) < 0
      || get_text (body, "user_data", false, &c->user_data, field, err) < 0
      || get_text (body, "firmware", false, &c->firmware, field, err) < 0
      || get_text (body, "shares", false, &c->shares, field, err) < 0)
    return -1;
  if (c->image == NULL || *c->image == '\0')
    return fail (field, "image", err, "image is required");
  if (c->name && !sv_mgr_name_ok (c->name))
    {
      cleanup_free char *d = sv_mgr_display (c->name);
      return fail (field, "name", err,
                   "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", d);
    }
  if (c->network && (*c->network == '\0' || strlen (c->network) > 256))
    return fail (field, "network", err, "network: expected a network name");
  /* host, none, container:<id> and podman's ns:<path> are network modes,
     not networks: the VM container (NET_ADMIN, NET_RAW) would take over
     the host's or another container's interfaces, or have none. */
  if (c->network
      && (strcmp (c->network, "host") == 0 || strcmp (c->network, "none") == 0
          || strchr (c->network, ':')))
    {
      cleanup_free char *d = sv_mgr_display (c->network);
      return fail (field, "network", err,
                   "network: '%s' is refused: a VM needs a network of its own (not host, none, "
                   "container:... or ns:...)",
                   d);
    }
  json_t *nd = json_object_get (body, "no_dhcp");
  if (nd && !json_is_null (nd))
    {
      if (!json_is_boolean (nd))
        return fail (field, "no_dhcp", err, "no_dhcp: expected true or false");
      c->no_dhcp = json_is_true (nd);
      c->no_dhcp_set = true;
    }
  json_t *tpm = json_object_get (body, "tpm");
  if (tpm && !json_is_null (tpm))
    {
      if (!json_is_boolean (tpm))
        return fail (field, "tpm", err, "tpm: expected true or false");
      c->tpm = json_is_true (tpm);
      c->tpm_set = true;
    }
  if (parse_ports (json_object_get (body, "ports"), c, field, err) < 0)
    return -1;
  json_t *env = json_object_get (body, "env");
  if (env && !json_is_null (env))
    {
      if (!json_is_object (env))
        return fail (field, "env", err, "env: expected an object of NAME: value strings");
      json_object_foreach (env, key, v)
      {
        cleanup_free char *d = sv_mgr_display (key);
        if (!env_name_ok (key))
          return fail (field, "env", err, "env: '%s' is not a variable name", d);
        if (!json_is_string (v))
          return fail (field, "env", err, "env.%s: expected a string", d);
        sv_strv_addf (&c->env, "%s=%s", key, json_string_value (v));
      }
    }
  /* startvm's parsers, one field at a time so the message names it. */
  if (check_one ("MEMORY", c->memory, err) < 0)
    return (*field = "memory"), -1;
  if (check_one ("CPUS", c->cpus, err) < 0)
    return (*field = "cpus"), -1;
  if (check_one ("DISKS", c->disks, err) < 0)
    return (*field = "disks"), -1;
  if (check_one ("USER_DATA", c->user_data, err) < 0)
    return (*field = "user_data"), -1;
  if (check_one ("FIRMWARE", c->firmware, err) < 0)
    return (*field = "firmware"), -1;
  if (check_one ("SHARES", c->shares, err) < 0)
    return (*field = "shares"), -1;
  /* The user's env as startvm reads it (ACCEL=..., IP_PREFIX=...). */
  if (c->env.n && startvm_check (c->env.v, err) < 0)
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
  free (c->firmware);
  free (c->shares);
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
  if (c->firmware)
    json_array_append_new (env, json_sprintf ("FIRMWARE=%s", c->firmware));
  if (c->tpm_set)
    json_array_append_new (env, json_sprintf ("TPM=%s", c->tpm ? "true" : "false"));
  if (c->shares)
    json_array_append_new (env, json_sprintf ("SHARES=%s", c->shares));

  json_t *labels = json_pack ("{s:s,s:s,s:s}", "io.startvm.vm", "true", "io.startvm.managed",
                              "true", "io.startvm.state", c->name);
  uint64_t mib;
  long long cpus;
  if (c->memory && sv_parse_size_mib (c->memory, "memory", 1ULL << 30, &mib, NULL) == 0)
    json_object_set_new (labels, "io.startvm.memory_mib",
                         json_sprintf ("%llu", (unsigned long long)mib));
  if (c->cpus && sv_parse_int (c->cpus, "cpus", 1, 4096, &cpus, NULL) == 0)
    json_object_set_new (labels, "io.startvm.cpus", json_sprintf ("%lld", cpus));
  /* For the VM card (vm.c), like memory and cpus. */
  if (c->firmware)
    json_object_set_new (labels, "io.startvm.firmware", json_string (c->firmware));
  if (c->tpm_set)
    json_object_set_new (labels, "io.startvm.tpm", json_string (c->tpm ? "true" : "false"));

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

void
sv_mgr_vm_create (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, struct sv_mgr_response *resp,
                  struct sv_mgr_sink *sink)
{
  cleanup_error sv_error_t err = NULL;
  json_t *body = sv_mgr_parse_body (req->body, req->body_len, &err);
  if (body == NULL)
    {
      sv_mgr_resp_error (resp, 400, "%s", err->msg);
      return;
    }
  struct sv_mgr_create c;
  const char *field = NULL;
  int r = sv_mgr_create_parse (body, &c, &field, &err);
  json_decref (body);
  if (r < 0)
    {
      sv_mgr_resp_error_field (resp, 400, err->msg, field);
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
  cleanup_free char *volume = NULL;
  cleanup_free char *id = NULL;
  bool made_dir = false, had_volume = true;

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
  if (st == 200 && !sv_mgr_volume_ours (out, c.name))
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
  bool foreign;
  if (sv_mgr_state_dir_claim (ctx->settings->state_dir, c.name, &made_dir, &foreign, &err) < 0)
    {
      if (foreign)
        sv_mgr_resp_error_field (resp, 409, err->msg, "name");
      else
        sv_mgr_resp_error (resp, 502, "%s", err->msg);
      if (made_dir)
        goto rollback;
      goto out;
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
    sv_mgr_state_dir_remove (ctx->settings->state_dir, c.name,
                             id && sv_mgr_full_id (id) ? id : NULL);
out:
  json_decref (out);
  sv_docker_free (&d);
  sv_mgr_create_free (&c);
}
