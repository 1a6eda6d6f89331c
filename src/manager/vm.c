#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "status_file.h"
#include "util.h"

static bool
str_is (json_t *v, const char *s)
{
  const char *t = json_string_value (v);
  return t && strcmp (t, s) == 0;
}

bool
sv_mgr_is_vm_labels (json_t *labels)
{
  return str_is (json_object_get (labels, "io.startvm.vm"), "true");
}

bool
sv_mgr_is_vm_inspect (json_t *inspect)
{
  json_t *cfg = json_object_get (inspect, "Config");
  if (sv_mgr_is_vm_labels (json_object_get (cfg, "Labels")))
    return true;
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (cfg, "Env"), i, e)
  {
    if (str_is (e, "RANCHER_VM=true"))
      return true;
  }
  return false;
}

bool
sv_mgr_full_id (const char *id)
{
  return id && strlen (id) == 64 && strspn (id, "0123456789abcdef") == 64;
}

bool
sv_mgr_state_label_ok (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 128)
    return false;
  static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  if (!strchr (first, s[0]))
    return false;
  for (const char *p = s; *p; p++)
    if (!strchr (first, *p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return true;
}

int
sv_mgr_vm_dir_open (const char *state_dir, const char *label, const char *id, sv_error_t *err)
{
  if (!sv_mgr_full_id (id))
    return sv_error_config (err, "not a full container id");
  if (label && !sv_mgr_state_label_ok (label))
    return sv_error_config (err, "io.startvm.state label '%s' is not a plain name", label);
  const int dflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  cleanup_close int top = open (state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s", state_dir);
  cleanup_close int sub = -1;
  if (label)
    {
      sub = openat (top, label, dflags);
      if (sub < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "opening %s/%s", state_dir, label);
    }
  int fd = openat (label ? sub : top, id, dflags);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "opening the VM directory of %.12s", id);
  return fd;
}

bool
sv_mgr_is_socket_at (int dirfd, const char *name)
{
  struct stat st;
  return fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK (st.st_mode);
}

json_t *
sv_mgr_status_read (int dirfd)
{
  /* The one bounded reader of status.json (base/status_file.c). */
  cleanup_free char *text = NULL;
  size_t len = 0;
  cleanup_error sv_error_t err = NULL;
  if (sv_status_read_at (dirfd, SV_STATUS_FILE, &text, &len, &err) < 0)
    return NULL;
  json_t *j = len ? json_loadb (text, len, 0, NULL) : NULL;
  if (j && !json_is_object (j))
    {
      json_decref (j);
      j = NULL;
    }
  return j;
}

void
sv_mgr_vm_files_read (const char *state_dir, const char *label, const char *id,
                      struct sv_mgr_vm_files *f)
{
  memset (f, 0, sizeof *f);
  cleanup_error sv_error_t err = NULL;
  cleanup_close int dfd = sv_mgr_vm_dir_open (state_dir, label, id, &err);
  if (dfd < 0)
    return;
  f->status = sv_mgr_status_read (dfd);
  f->vnc = sv_mgr_is_socket_at (dfd, "vnc");
  f->qmp = sv_mgr_is_socket_at (dfd, "qmp");
}

void
sv_mgr_vm_files_free (struct sv_mgr_vm_files *f)
{
  json_decref (f->status);
  f->status = NULL;
}

/* ---- building the VM object ---- */

static json_t *
str_or_null (json_t *v)
{
  const char *s = json_string_value (v);
  return s && *s ? json_string (s) : json_null ();
}

static json_t *
time_or_null (json_t *v)
{
  const char *s = json_string_value (v);
  /* Docker's "never": the zero time. */
  if (s == NULL || *s == '\0' || strncmp (s, "0001-01-01", 10) == 0)
    return json_null ();
  return json_string (s);
}

static json_t *
unix_time (json_int_t t)
{
  char buf[32];
  time_t tt = (time_t)t;
  struct tm tm;
  if (t <= 0 || gmtime_r (&tt, &tm) == NULL)
    return json_null ();
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json_string (buf);
}

static const char *
strip_slash (const char *n)
{
  return n && n[0] == '/' ? n + 1 : n;
}

/* The container's own addresses and MAC, from NetworkSettings.Networks. */
static void
container_net (json_t *ns, json_t *vm)
{
  json_t *names = json_array ();
  json_t *addrs = json_array ();
  const char *mac = NULL;
  json_t *networks = json_object_get (ns, "Networks");
  const char *key;
  json_t *n;
  json_object_foreach (networks, key, n)
  {
    json_array_append_new (names, json_string (key));
    const char *ip = json_string_value (json_object_get (n, "IPAddress"));
    json_int_t plen = json_integer_value (json_object_get (n, "IPPrefixLen"));
    if (ip && *ip)
      json_array_append_new (addrs, json_sprintf ("%s/%d", ip, (int)plen));
    const char *m = json_string_value (json_object_get (n, "MacAddress"));
    if (mac == NULL && m && *m)
      mac = m;
  }
  /* The default bridge: the top-level fields. */
  const char *ip = json_string_value (json_object_get (ns, "IPAddress"));
  if (json_array_size (addrs) == 0 && ip && *ip)
    json_array_append_new (
        addrs,
        json_sprintf ("%s/%d", ip, (int)json_integer_value (json_object_get (ns, "IPPrefixLen"))));
  if (mac == NULL)
    {
      const char *m = json_string_value (json_object_get (ns, "MacAddress"));
      if (m && *m)
        mac = m;
    }
  json_object_set_new (vm, "addresses", addrs);
  json_object_set_new (vm, "mac", mac ? json_string (mac) : json_null ());
  json_object_set_new (vm, "networks", names);
}

/* status.json's view wins where it has one. */
static void
apply_status (json_t *vm, json_t *st)
{
  json_object_set_new (vm, "phase", str_or_null (json_object_get (st, "phase")));
  json_object_set_new (vm, "phase_error", str_or_null (json_object_get (st, "error")));
  json_object_set_new (vm, "accel", str_or_null (json_object_get (st, "accel")));
  if (st == NULL)
    return;
  json_t *addrs = json_array ();
  const char *mac = NULL;
  size_t i;
  json_t *ifc;
  json_array_foreach (json_object_get (st, "interfaces"), i, ifc)
  {
    size_t j;
    json_t *a;
    json_array_foreach (json_object_get (ifc, "addresses"), j, a)
    {
      if (json_is_string (a))
        json_array_append (addrs, a);
    }
    const char *m = json_string_value (json_object_get (ifc, "vm_mac"));
    if (mac == NULL && m && *m)
      mac = m;
  }
  if (json_array_size (addrs))
    json_object_set (vm, "addresses", addrs);
  json_decref (addrs);
  if (mac)
    json_object_set_new (vm, "mac", json_string (mac));
  json_t *mem = json_object_get (st, "memory_mib");
  if (json_is_integer (mem))
    json_object_set (vm, "memory_mib", mem);
  json_t *cpus = json_object_get (st, "cpus");
  if (json_is_integer (cpus))
    json_object_set (vm, "cpus", cpus);
}

static json_t *
label_int (json_t *labels, const char *key)
{
  const char *s = json_string_value (json_object_get (labels, key));
  long long v;
  if (s && sv_parse_int (s, key, 1, 1LL << 40, &v, NULL) == 0)
    return json_integer (v);
  return json_null ();
}

static void
common (json_t *vm, json_t *labels, bool running, const struct sv_mgr_vm_files *f)
{
  json_object_set_new (
      vm, "managed",
      json_boolean (str_is (json_object_get (labels, "io.startvm.managed"), "true")));
  json_object_set_new (vm, "memory_mib", label_int (labels, "io.startvm.memory_mib"));
  json_object_set_new (vm, "cpus", label_int (labels, "io.startvm.cpus"));
  /* What create set (api.c); null for VMs it did not create. */
  json_t *fw = json_object_get (labels, "io.startvm.firmware");
  json_object_set_new (vm, "firmware", json_is_string (fw) ? json_copy (fw) : json_null ());
  json_t *tpm = json_object_get (labels, "io.startvm.tpm");
  json_object_set_new (vm, "tpm",
                       json_is_string (tpm) ? json_boolean (str_is (tpm, "true")) : json_null ());
  apply_status (vm, f ? f->status : NULL);
  /* shutdown.mode suspend: a stop saves the guest (the page's Stop says
     Suspend), and a VM stopped so is suspended, not merely exited. */
  json_t *st = f ? f->status : NULL;
  json_object_set_new (vm, "shutdown_mode", str_or_null (json_object_get (st, "shutdown_mode")));
  json_object_set_new (vm, "suspended",
                       json_boolean (!running && json_is_true (json_object_get (st, "suspended"))));
  json_object_set_new (vm, "consoles",
                       json_pack ("{s:b,s:b,s:b}", "vnc", running && f && f->vnc, "serial", running,
                                  "screenshot", running && f && f->qmp));
}

json_t *
sv_mgr_image_volume (json_t *mounts)
{
  size_t i;
  json_t *m;
  json_array_foreach (mounts, i, m)
  {
    if (str_is (json_object_get (m, "Destination"), "/image")
        && str_is (json_object_get (m, "Type"), "volume"))
      return str_or_null (json_object_get (m, "Name"));
  }
  return json_null ();
}

/* A container's state in Docker's words.  podman's compatible API passes
 * its own "stopped" through for the moment between the process's exit
 * (the die event) and podman's cleanup: Docker, and the page, call that
 * "exited", and no later event need come to correct it. */
static json_t *
state_json (const char *s)
{
  if (s == NULL)
    return json_null ();
  return json_string (strcmp (s, "stopped") == 0 ? "exited" : s);
}

json_t *
sv_mgr_vm_from_list (json_t *e, const struct sv_mgr_vm_files *f)
{
  json_t *vm = json_object ();
  json_object_set_new (vm, "id", str_or_null (json_object_get (e, "Id")));
  const char *name = json_string_value (json_array_get (json_object_get (e, "Names"), 0));
  json_object_set_new (vm, "name", name ? json_string (strip_slash (name)) : json_null ());
  json_object_set_new (vm, "image", str_or_null (json_object_get (e, "Image")));
  const char *state = json_string_value (json_object_get (e, "State"));
  json_object_set_new (vm, "state", state_json (state));
  container_net (json_object_get (e, "NetworkSettings"), vm);
  json_t *ports = json_array ();
  size_t i;
  json_t *p;
  json_array_foreach (json_object_get (e, "Ports"), i, p)
  {
    json_t *hp = json_object_get (p, "PublicPort");
    const char *hip = json_string_value (json_object_get (p, "IP"));
    json_array_append_new (
        ports, json_pack ("{s:O,s:s,s:s,s:O}", "container_port",
                          json_object_get (p, "PrivatePort") ?: json_null (), "protocol",
                          json_string_value (json_object_get (p, "Type")) ?: "tcp", "host_ip",
                          hip && *hip ? hip : "0.0.0.0", "host_port", hp ? hp : json_null ()));
  }
  json_object_set_new (vm, "ports", ports);
  json_object_set_new (vm, "created",
                       unix_time (json_integer_value (json_object_get (e, "Created"))));
  json_t *st = f ? f->status : NULL;
  json_object_set_new (vm, "started_at", time_or_null (json_object_get (st, "started_at")));
  json_object_set_new (vm, "finished_at", json_null ());
  /* "Exited (137) 3 minutes ago" */
  const char *status = json_string_value (json_object_get (e, "Status"));
  int code;
  if (status && sscanf (status, "Exited (%d)", &code) == 1)
    json_object_set_new (vm, "exit_code", json_integer (code));
  else
    json_object_set_new (vm, "exit_code", json_null ());
  json_object_set_new (vm, "volume", sv_mgr_image_volume (json_object_get (e, "Mounts")));
  json_t *labels = json_object_get (e, "Labels");
  common (vm, labels, state && strcmp (state, "running") == 0, f);
  return vm;
}

static json_t *
env_value_mib (json_t *env, const char *var)
{
  size_t n = strlen (var), i;
  json_t *e;
  json_array_foreach (env, i, e)
  {
    const char *s = json_string_value (e);
    if (s && strncmp (s, var, n) == 0 && s[n] == '=')
      {
        uint64_t mib;
        long long v;
        if (strcmp (var, "MEMORY") == 0
            && sv_parse_size_mib (s + n + 1, var, 1ULL << 30, &mib, NULL) == 0)
          return json_integer ((json_int_t)mib);
        if (strcmp (var, "CPUS") == 0 && sv_parse_int (s + n + 1, var, 1, 4096, &v, NULL) == 0)
          return json_integer (v);
      }
  }
  return NULL;
}

json_t *
sv_mgr_vm_from_inspect (json_t *in, const struct sv_mgr_vm_files *f)
{
  json_t *vm = json_object ();
  json_t *cfg = json_object_get (in, "Config");
  json_t *state = json_object_get (in, "State");
  json_object_set_new (vm, "id", str_or_null (json_object_get (in, "Id")));
  const char *name = json_string_value (json_object_get (in, "Name"));
  json_object_set_new (vm, "name", name ? json_string (strip_slash (name)) : json_null ());
  json_object_set_new (vm, "image", str_or_null (json_object_get (cfg, "Image")));
  const char *st = json_string_value (json_object_get (state, "Status"));
  json_object_set_new (vm, "state", state_json (st));
  json_t *ns = json_object_get (in, "NetworkSettings");
  container_net (ns, vm);
  json_t *ports = json_array ();
  const char *key;
  json_t *bindings;
  json_object_foreach (json_object_get (ns, "Ports"), key, bindings)
  {
    char proto[16] = "tcp";
    int cport = 0;
    if (sscanf (key, "%d/%15s", &cport, proto) < 1)
      continue;
    size_t i;
    json_t *b;
    if (json_array_size (bindings) == 0)
      json_array_append_new (ports, json_pack ("{s:i,s:s,s:n,s:n}", "container_port", cport,
                                               "protocol", proto, "host_ip", "host_port"));
    json_array_foreach (bindings, i, b)
    {
      const char *hip = json_string_value (json_object_get (b, "HostIp"));
      const char *hp = json_string_value (json_object_get (b, "HostPort"));
      json_array_append_new (
          ports, json_pack ("{s:i,s:s,s:s,s:o}", "container_port", cport, "protocol", proto,
                            "host_ip", hip && *hip ? hip : "0.0.0.0", "host_port",
                            hp && *hp ? json_integer (atoi (hp)) : json_null ()));
    }
  }
  json_object_set_new (vm, "ports", ports);
  json_object_set_new (vm, "created", time_or_null (json_object_get (in, "Created")));
  json_object_set_new (vm, "started_at", time_or_null (json_object_get (state, "StartedAt")));
  json_object_set_new (vm, "finished_at", time_or_null (json_object_get (state, "FinishedAt")));
  bool running = st && strcmp (st, "running") == 0;
  bool never = st && strcmp (st, "created") == 0;
  json_object_set_new (
      vm, "exit_code",
      running || never ? json_null ()
                       : json_integer (json_integer_value (json_object_get (state, "ExitCode"))));
  json_object_set_new (vm, "volume", sv_mgr_image_volume (json_object_get (in, "Mounts")));
  common (vm, json_object_get (cfg, "Labels"), running, f);
  /* Without status.json: the env the container was given. */
  json_t *env = json_object_get (cfg, "Env");
  if (json_is_null (json_object_get (vm, "memory_mib")))
    {
      json_t *m = env_value_mib (env, "MEMORY");
      if (m)
        json_object_set_new (vm, "memory_mib", m);
    }
  if (json_is_null (json_object_get (vm, "cpus")))
    {
      json_t *c = env_value_mib (env, "CPUS");
      if (c)
        json_object_set_new (vm, "cpus", c);
    }
  return vm;
}

/* keys[] of from, copied (by reference) into a new object. */
static json_t *
pick (json_t *from, const char *const keys[])
{
  json_t *o = json_object ();
  for (size_t i = 0; keys[i]; i++)
    {
      json_t *v = json_object_get (from, keys[i]);
      if (v)
        json_object_set (o, keys[i], v);
    }
  return o;
}

json_t *
sv_mgr_inspect_trim (json_t *in)
{
  static const char *const top[] = { "Id", "Name", "Created", "Mounts", NULL };
  static const char *const cfg[] = { "Image", "Labels", "Env", "StopTimeout", NULL };
  static const char *const state[] = { "Status", "ExitCode", "StartedAt", "FinishedAt", NULL };
  static const char *const ns[] = { "Ports", "IPAddress", "IPPrefixLen", "MacAddress", NULL };
  static const char *const net[] = { "IPAddress", "IPPrefixLen", "MacAddress", NULL };
  json_t *t = pick (in, top);
  json_object_set_new (t, "Config", pick (json_object_get (in, "Config"), cfg));
  json_object_set_new (t, "State", pick (json_object_get (in, "State"), state));
  json_t *in_ns = json_object_get (in, "NetworkSettings");
  json_t *t_ns = pick (in_ns, ns);
  json_t *nets = json_object ();
  const char *name;
  json_t *n;
  json_object_foreach (json_object_get (in_ns, "Networks"), name, n)
  {
    json_object_set_new (nets, name, pick (n, net));
  }
  json_object_set_new (t_ns, "Networks", nets);
  json_object_set_new (t, "NetworkSettings", t_ns);
  return t;
}

const char *
sv_mgr_state_label (json_t *labels)
{
  return json_string_value (json_object_get (labels, "io.startvm.state"));
}

json_t *
sv_mgr_vm_object (const char *state_dir, json_t *in)
{
  struct sv_mgr_vm_files f;
  const char *id = json_string_value (json_object_get (in, "Id"));
  sv_mgr_vm_files_read (
      state_dir, sv_mgr_state_label (json_object_get (json_object_get (in, "Config"), "Labels")),
      id, &f);
  json_t *vm = sv_mgr_vm_from_inspect (in, &f);
  sv_mgr_vm_files_free (&f);
  return vm;
}

/* Did the manager make this volume (GET /volumes/NAME's reply) for the VM
 * whose io.startvm.state is state? */
bool
sv_mgr_volume_ours (json_t *vol, const char *state)
{
  json_t *labels = json_object_get (vol, "Labels");
  const char *managed = json_string_value (json_object_get (labels, "io.startvm.managed"));
  const char *vs = json_string_value (json_object_get (labels, "io.startvm.state"));
  return state && managed && vs && strcmp (managed, "true") == 0 && strcmp (vs, state) == 0;
}
