/* startvm-manager's settings: environment variables only (docs/manager.md,
 * "Settings"), read from an envp passed in so tests can build
 * them. */
#ifndef SV_MGR_SETTINGS_H
#define SV_MGR_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* The shortest MANAGER_PASSWORD the manager starts with. */
#define SV_MGR_MIN_PASSWORD 12
/* The defaults of MANAGER_LOG_BUFFER and MANAGER_MAX_EVENT_CLIENTS. */
#define SV_MGR_LOG_BUFFER_DEFAULT "16M"
#define SV_MGR_MAX_EVENT_CLIENTS_DEFAULT 64

struct sv_mgr_settings
{
  char *docker_socket;  /* from DOCKER_HOST unix://PATH */
  char *listen_addr;    /* MANAGER_LISTEN host part ("0.0.0.0", "::", "127.0.0.1") */
  int listen_port;      /* MANAGER_LISTEN port, default 8443 */
  char *state_dir;      /* MANAGER_STATE_DIR, default /ranchervm */
  char *host_state_dir; /* MANAGER_HOST_STATE_DIR; NULL: find it from our own container */
  char *password;       /* MANAGER_PASSWORD; NULL: generated/stored in data_dir */
  char *tls_cert;       /* MANAGER_TLS_CERT */
  char *tls_key;        /* MANAGER_TLS_KEY */
  bool insecure_http;   /* MANAGER_INSECURE_HTTP */
  char *data_dir;       /* MANAGER_DATA_DIR, default /var/lib/startvm-manager */
  char *web_dir;        /* MANAGER_WEB_DIR */
  char *novnc_dir;      /* MANAGER_NOVNC_DIR */
  char *termjs_dir;     /* MANAGER_TERMJS_DIR */
  char *trusted_proxy;  /* MANAGER_TRUSTED_PROXY: may say the client's address (X-Forwarded-For) */
  uint64_t log_buffer;  /* MANAGER_LOG_BUFFER: bytes all log reads without follow hold at once */
  unsigned max_event_clients; /* MANAGER_MAX_EVENT_CLIENTS: GET /api/events streams at once */
  char *metrics_token;        /* MANAGER_METRICS_TOKEN: a bearer token for GET /metrics only */
  int metrics_deadline_ms;    /* MANAGER_METRICS_DEADLINE_MS, default 2000 */
};

/* Fill *out from envp.  Errors name the variable and the accepted form. */
int sv_mgr_settings_load (char *const *envp, struct sv_mgr_settings *out, sv_error_t *err);
void sv_mgr_settings_free (struct sv_mgr_settings *s);

#endif
