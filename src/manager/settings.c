#include "settings.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cleanup.h"
#include "util.h"

static const char *
env_get (char *const *envp, const char *name)
{
  size_t n = strlen (name);
  for (char *const *e = envp; e && *e; e++)
    if (strncmp (*e, name, n) == 0 && (*e)[n] == '=')
      return (*e)[n + 1] ? *e + n + 1 : NULL;
  return NULL;
}

static char *
env_dup (char *const *envp, const char *name, const char *def)
{
  const char *v = env_get (envp, name);
  if (v == NULL)
    v = def;
  return v ? sv_xstrdup (v) : NULL;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT". */
static int
parse_listen (const char *v, struct sv_mgr_settings *s, sv_error_t *err)
{
  const char *colon = strrchr (v, ':');
  if (colon == NULL)
    return sv_error_config (err,
                            "MANAGER_LISTEN=%s: expected ADDRESS:PORT (e.g. 0.0.0.0:8443 or "
                            "[::]:8443)",
                            v);
  long long port = 0;
  if (sv_parse_int (colon + 1, "MANAGER_LISTEN port", 1, 65535, &port, err) < 0)
    return sv_error_wrap (err, "MANAGER_LISTEN=%s", v);
  size_t hl = (size_t)(colon - v);
  const char *h = v;
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
    {
      h++;
      hl -= 2;
    }
  free (s->listen_addr);
  s->listen_addr = hl ? strndup (h, hl) : sv_xstrdup ("0.0.0.0");
  s->listen_port = (int)port;
  return 0;
}

int
sv_mgr_settings_load (char *const *envp, struct sv_mgr_settings *s, sv_error_t *err)
{
  memset (s, 0, sizeof *s);
  const char *dh = env_get (envp, "DOCKER_HOST");
  if (dh == NULL)
    dh = "unix:///var/run/docker.sock";
  if (strncmp (dh, "unix://", 7) != 0 || dh[7] != '/')
    return sv_error_config (err,
                            "DOCKER_HOST=%s: only unix sockets are supported (e.g. "
                            "unix:///var/run/docker.sock)",
                            dh);
  s->docker_socket = sv_xstrdup (dh + 7);
  const char *lv = env_get (envp, "MANAGER_LISTEN");
  if (parse_listen (lv ? lv : "0.0.0.0:8443", s, err) < 0)
    return -1;
  s->state_dir = env_dup (envp, "MANAGER_STATE_DIR", "/ranchervm");
  s->host_state_dir = env_dup (envp, "MANAGER_HOST_STATE_DIR", NULL);
  s->password = env_dup (envp, "MANAGER_PASSWORD", NULL);
  if (s->password)
    {
      /* Characters, not bytes: UTF-8 continuation bytes do not count. */
      size_t n = 0;
      for (const char *p = s->password; *p; p++)
        n += ((unsigned char)*p & 0xc0) != 0x80;
      if (n < SV_MGR_MIN_PASSWORD)
        return sv_error_config (err,
                                "MANAGER_PASSWORD is too short (%zu characters): use at least %d",
                                n, SV_MGR_MIN_PASSWORD);
    }
  s->trusted_proxy = env_dup (envp, "MANAGER_TRUSTED_PROXY", NULL);
  if (s->trusted_proxy && !sv_mgr_ip_ok (s->trusted_proxy))
    return sv_error_config (err,
                            "MANAGER_TRUSTED_PROXY=%s: expected the proxy's IP address (e.g. "
                            "10.0.0.2)",
                            s->trusted_proxy);
  s->tls_cert = env_dup (envp, "MANAGER_TLS_CERT", NULL);
  s->tls_key = env_dup (envp, "MANAGER_TLS_KEY", NULL);
  if ((s->tls_cert == NULL) != (s->tls_key == NULL))
    return sv_error_config (err, "MANAGER_TLS_CERT and MANAGER_TLS_KEY must be set together");
  const char *ih = env_get (envp, "MANAGER_INSECURE_HTTP");
  if (ih && sv_parse_bool (ih, "MANAGER_INSECURE_HTTP", &s->insecure_http, err) < 0)
    return -1;
  const char *lb = env_get (envp, "MANAGER_LOG_BUFFER");
  if (sv_parse_size_bytes (lb ? lb : SV_MGR_LOG_BUFFER_DEFAULT, "MANAGER_LOG_BUFFER",
                           &s->log_buffer, err)
      < 0)
    return -1;
  const char *mc = env_get (envp, "MANAGER_MAX_EVENT_CLIENTS");
  long long n = SV_MGR_MAX_EVENT_CLIENTS_DEFAULT;
  if (mc && sv_parse_int (mc, "MANAGER_MAX_EVENT_CLIENTS", 1, 10000, &n, err) < 0)
    return -1;
  s->max_event_clients = (unsigned)n;
  s->data_dir = env_dup (envp, "MANAGER_DATA_DIR", "/var/lib/startvm-manager");
  s->web_dir = env_dup (envp, "MANAGER_WEB_DIR", "/usr/share/startvm-manager/www");
  s->novnc_dir = env_dup (envp, "MANAGER_NOVNC_DIR", "/usr/share/novnc");
  s->termjs_dir = env_dup (envp, "MANAGER_TERMJS_DIR", "/usr/share/javascript/term.js");
  /* GET /metrics (metrics.c): its own token, and the scrape's deadline. */
  s->metrics_token = env_dup (envp, "MANAGER_METRICS_TOKEN", NULL);
  if (s->metrics_token && strlen (s->metrics_token) < SV_MGR_MIN_PASSWORD)
    return sv_error_config (err,
                            "MANAGER_METRICS_TOKEN is too short (%zu characters): use at least %d",
                            strlen (s->metrics_token), SV_MGR_MIN_PASSWORD);
  long long dl = 2000;
  const char *dv = env_get (envp, "MANAGER_METRICS_DEADLINE_MS");
  if (dv && sv_parse_int (dv, "MANAGER_METRICS_DEADLINE_MS", 100, 60000, &dl, err) < 0)
    return -1;
  s->metrics_deadline_ms = (int)dl;
  return 0;
}

void
sv_mgr_settings_free (struct sv_mgr_settings *s)
{
  free (s->docker_socket);
  free (s->listen_addr);
  free (s->state_dir);
  free (s->host_state_dir);
  free (s->password);
  free (s->tls_cert);
  free (s->tls_key);
  free (s->data_dir);
  free (s->web_dir);
  free (s->novnc_dir);
  free (s->termjs_dir);
  free (s->trusted_proxy);
  free (s->metrics_token);
  memset (s, 0, sizeof *s);
}
