#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "srv.h"

/* ---- the context ---- */

struct srv srv = { .lock = PTHREAD_MUTEX_INITIALIZER, .jobs_cond = PTHREAD_COND_INITIALIZER };

int64_t
srv_now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec;
}

/* One callback a protocol: http.c, ws.c, raw.c. */
static const struct lws_protocols protocols[] = {
  { "http", srv_http_callback, sizeof (struct pss), 65536, 0, NULL, 0 },
  { "binary", srv_ws_callback, sizeof (struct pss), 65536, 0, NULL, 0 },
  { "sv-raw", srv_raw_callback, 0, 65536, 0, NULL, 0 },
  { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct lws_protocol_vhost_options mime_mjs = { NULL, NULL, ".mjs", "text/javascript" };
static const struct lws_protocol_vhost_options mime_json
    = { &mime_mjs, NULL, ".json", "application/json" };
static const struct lws_protocol_vhost_options mime_svg
    = { &mime_json, NULL, ".svg", "image/svg+xml" };
static const struct lws_protocol_vhost_options mime_map
    = { &mime_svg, NULL, ".map", "application/json" };
static const struct lws_protocol_vhost_options mime_ico
    = { &mime_map, NULL, ".ico", "image/x-icon" };
static const struct lws_protocol_vhost_options mime_wasm
    = { &mime_ico, NULL, ".wasm", "application/wasm" };

static const struct lws_protocol_vhost_options hdr_refpol
    = { NULL, NULL, "Referrer-Policy:", "no-referrer" };
static const struct lws_protocol_vhost_options hdr_nosniff
    = { &hdr_refpol, NULL, "X-Content-Type-Options:", "nosniff" };
static const struct lws_protocol_vhost_options hdr_csp
    = { &hdr_nosniff, NULL, "Content-Security-Policy:",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'" };

static void
on_signal (int sig)
{
  srv.interrupted = 1;
  lws_cancel_service (srv.lws);
}

static void
lws_log (int level, const char *line)
{
  if (level & (LLL_ERR | LLL_WARN))
    fprintf (stderr, "startvm-manager: libwebsockets: %s", line);
}

int
sv_mgr_server_run (struct sv_mgr_ctx *ctx, const char *cert, const char *key, sv_error_t *err)
{
  const struct sv_mgr_settings *s = ctx->settings;
  srv.ctx = ctx;
  srv.tls = cert != NULL;
  lws_set_log_level (LLL_ERR | LLL_WARN, lws_log);

  struct lws_http_mount m_termjs = { 0 }, m_novnc = { 0 }, m_api = { 0 }, m_health = { 0 },
                        m_root = { 0 };
  m_root.mountpoint = "/";
  m_root.mountpoint_len = 1;
  m_root.origin = s->web_dir;
  m_root.def = "index.html";
  m_root.origin_protocol = LWSMPRO_FILE;
  m_root.extra_mimetypes = &mime_wasm;
  m_root.mount_next = NULL;
  m_novnc = m_root;
  m_novnc.mountpoint = "/novnc";
  m_novnc.mountpoint_len = 6;
  m_novnc.origin = s->novnc_dir;
  m_novnc.def = "vnc.html";
  m_novnc.mount_next = &m_root;
  m_termjs = m_root;
  m_termjs.mountpoint = "/termjs";
  m_termjs.mountpoint_len = 7;
  m_termjs.origin = s->termjs_dir;
  m_termjs.def = NULL;
  m_termjs.mount_next = &m_novnc;
  m_api.mountpoint = "/api";
  m_api.mountpoint_len = 4;
  m_api.origin = "http";
  m_api.origin_protocol = LWSMPRO_CALLBACK;
  m_api.mount_next = &m_termjs;
  m_health = m_api;
  m_health.mountpoint = "/healthz";
  m_health.mountpoint_len = 8;
  m_health.mount_next = &m_api;
  struct lws_http_mount m_metrics = m_api; /* GET /metrics (metrics.c) */
  m_metrics.mountpoint = "/metrics";
  m_metrics.mountpoint_len = 8;
  m_metrics.mount_next = &m_health;

  struct lws_context_creation_info info;
  memset (&info, 0, sizeof info);
  info.port = s->listen_port;
  bool any4 = strcmp (s->listen_addr, "0.0.0.0") == 0;
  bool any6 = strcmp (s->listen_addr, "::") == 0;
  info.iface = any4 || any6 ? NULL : s->listen_addr;
  info.protocols = protocols;
  info.mounts = &m_metrics;
  info.headers = &hdr_csp;
  info.vhost_name = "startvm-manager";
  info.server_string = "startvm-manager";
  info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE * 0;
  if (strchr (s->listen_addr, ':') == NULL && !any6)
    info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  info.alpn = "http/1.1";
  /* lws reads every socket into this buffer: its 4 KiB default cut the
   * VNC proxy's throughput to a few tens of MB/s (docs/performance.md). */
  info.pt_serv_buf_size = 1 << 16;
  info.timeout_secs = 30;
  if (cert)
    {
      info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
      info.ssl_cert_filepath = cert;
      info.ssl_private_key_filepath = key;
    }
  srv.lws = lws_create_context (&info);
  if (srv.lws == NULL)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "cannot listen on %s:%d (libwebsockets failed to start; is the "
                          "port in use?)",
                          s->listen_addr, s->listen_port);
  srv.vh = lws_get_vhost_by_name (srv.lws, "startvm-manager");
  fprintf (stderr, "startvm-manager: listening on %s://%s%s%s:%d\n", cert ? "https" : "http",
           strchr (s->listen_addr, ':') ? "[" : "", s->listen_addr,
           strchr (s->listen_addr, ':') ? "]" : "", s->listen_port);

  srv.events = sv_mgr_events_start (s, &ctx->cache, srv_sse_emit, NULL);
  srv.watcher = sv_mgr_watcher_start (s, &ctx->cache, srv_sse_emit, NULL);
  if (srv.watcher == NULL)
    fprintf (stderr,
             "startvm-manager: cannot watch %s (inotify): phases update on Docker "
             "events only\n",
             s->state_dir);
  lws_sul_schedule (srv.lws, 0, &srv.keepalive, srv_sse_keepalive, 15 * LWS_US_PER_SEC);

  struct sigaction sa = { .sa_handler = on_signal };
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  while (!srv.interrupted)
    if (lws_service (srv.lws, 0) < 0)
      break;

  fprintf (stderr, "startvm-manager: stopping\n");
  /* Consoles get a close frame (1001, "manager stopping"), not a cut. */
  lws_callback_on_writable_all_protocol (srv.lws, &protocols[0]);
  lws_callback_on_writable_all_protocol (srv.lws, &protocols[1]);
  for (int i = 0; i < 20; i++)
    lws_service (srv.lws, -1); /* non-blocking: what is ready now */

  sv_mgr_watcher_stop (srv.watcher);
  srv.watcher = NULL;
  sv_mgr_events_stop (srv.events);
  srv.events = NULL;
  /* Jobs end by themselves (their Docker calls have timeouts; streams
   * see the flag); wait for them so nothing is left half done. */
  pthread_mutex_lock (&srv.lock);
  for (int i = 0; srv.running_jobs && i < 100; i++)
    {
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait (&srv.jobs_cond, &srv.lock, &ts);
    }
  pthread_mutex_unlock (&srv.lock);
  lws_sul_cancel (&srv.keepalive);
  lws_context_destroy (srv.lws);
  srv.lws = NULL;
  srv_jobs_attend ();
  srv_consoles_attend ();
  while (srv.pending)
    srv_console_free (srv_pending_take (srv.pending->pending_wsi));
  return 0;
}
