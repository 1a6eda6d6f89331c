/* The event loop (libwebsockets): one vhost serving HTTPS (or plain HTTP
 * when told), static mounts for the page, noVNC and term.js, the API
 * (api.c's route table), server-sent events and the WebSocket consoles
 * with their backends adopted into the same loop as raw sockets. */
#ifndef SV_MGR_SERVER_H
#define SV_MGR_SERVER_H

#include "api.h"
#include "error.h"

/* Run until SIGINT/SIGTERM.  cert/key: PEM files, NULL for plain HTTP. */
int sv_mgr_server_run (struct sv_mgr_ctx *ctx, const char *cert, const char *key, sv_error_t *err);

#endif
