/* A client for the Docker Engine API v1.41 (podman's compatible service
 * too) on a unix socket, with libcurl.  One function per Engine API call;
 * results are jansson objects.  Transport failures (no socket, broken
 * connection, a reply that is not JSON) are errors; a reply with a status
 * the caller must judge (404, 409...) is not: *status says it and *out
 * holds Docker's body ({"message": ...}).
 *
 * A struct sv_docker is used by one thread at a time: every thread makes
 * its own (they are cheap; the connection is reused within one). */
#ifndef SV_MGR_DOCKER_H
#define SV_MGR_DOCKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define SV_DOCKER_API "/v1.41"

struct sv_docker
{
  char *socket;
  void *curl; /* CURL * */
};

int sv_docker_init (struct sv_docker *d, const char *socket, sv_error_t *err);
void sv_docker_free (struct sv_docker *d);

/* One request: method, path below /v1.41 (already escaped), optional JSON
 * body.  *out gets the parsed reply (NULL for an empty body).  The calls
 * below build their paths in docker.c (pathf, the one place that escapes
 * for Docker); only fixed paths are given here from outside. */
int sv_docker_request (struct sv_docker *d, const char *method, const char *path, json_t *body,
                       long timeout_s, long *status, json_t **out, sv_error_t *err);

/* Docker's words from an error reply: its "message", or "HTTP <status>". */
char *sv_docker_message (long status, json_t *reply);

/* The calls.  `id` is a container id or name (escaped here). */
int sv_docker_list_containers (struct sv_docker *d, long *status, json_t **out, sv_error_t *err);
int sv_docker_inspect (struct sv_docker *d, const char *id, long *status, json_t **out,
                       sv_error_t *err);
/* One-shot resource figures of a running container (GET .../stats). */
int sv_docker_stats (struct sv_docker *d, const char *id, long timeout_s, long *status,
                     json_t **out, sv_error_t *err);
/* podman's libpod API: one-shot figures of several containers in one call
 * ({"Error": null, "Stats": [...]}); Docker has no such call. */
int sv_docker_libpod_stats (struct sv_docker *d, const char *const *ids, size_t n, long timeout_s,
                            long *status, json_t **out, sv_error_t *err);
/* action: start, stop, restart, kill.  grace_s >= 0 is sent as `t`, the
   seconds between SIGTERM and SIGKILL (podman 4.3's restart takes a
   missing `t` as 0 and kills the guest at once); timeout_s bounds the
   whole call. */
int sv_docker_container_action (struct sv_docker *d, const char *id, const char *action,
                                long grace_s, long timeout_s, long *status, json_t **out,
                                sv_error_t *err);
int sv_docker_create (struct sv_docker *d, const char *name, json_t *spec, long *status,
                      json_t **out, sv_error_t *err);
int sv_docker_remove (struct sv_docker *d, const char *id, long *status, json_t **out,
                      sv_error_t *err);
int sv_docker_image_inspect (struct sv_docker *d, const char *image, long *status, json_t **out,
                             sv_error_t *err);
int sv_docker_list_images (struct sv_docker *d, long *status, json_t **out, sv_error_t *err);
int sv_docker_list_networks (struct sv_docker *d, long *status, json_t **out, sv_error_t *err);
int sv_docker_network_inspect (struct sv_docker *d, const char *name, long *status, json_t **out,
                               sv_error_t *err);
int sv_docker_volume_inspect (struct sv_docker *d, const char *name, long *status, json_t **out,
                              sv_error_t *err);
int sv_docker_volume_create (struct sv_docker *d, const char *name, json_t *labels, long *status,
                             json_t **out, sv_error_t *err);
int sv_docker_volume_remove (struct sv_docker *d, const char *name, long *status, json_t **out,
                             sv_error_t *err);

/* Streaming GET (logs, events): data goes to on_data as it arrives;
 * returning false from on_data (or from keep_going, polled about every
 * 100 ms) stops the transfer, which then counts as success.  on_status is
 * called once the status line is in (may be NULL).  For replies other
 * than 200, *status says so and the body goes to on_data as well. */
struct sv_docker_stream_cb
{
  bool (*on_data) (void *ctx, const char *data, size_t len);
  void (*on_status) (void *ctx, long status);
  bool (*keep_going) (void *ctx);
  void *ctx;
};
/* GET /containers/<id>/logs (stdout and stderr; tail < 0: all). */
int sv_docker_logs (struct sv_docker *d, const char *id, long long tail, bool follow,
                    const struct sv_docker_stream_cb *cb, long *status, sv_error_t *err);
/* GET /events, container events only. */
int sv_docker_events (struct sv_docker *d, const struct sv_docker_stream_cb *cb, long *status,
                      sv_error_t *err);

/* Docker's multiplexed stream (8-byte frame headers, Tty false):
 * incremental demultiplexer.  Feed bytes; payload of stdout and stderr
 * frames goes to out. */
struct sv_docker_demux
{
  unsigned char hdr[8];
  size_t hdr_len;
  size_t remaining; /* payload bytes left in the current frame */
  bool raw;         /* not multiplexed after all (Tty true): pass through */
};
void sv_docker_demux_feed (struct sv_docker_demux *m, const char *data, size_t len,
                           void (*out) (void *ctx, const char *data, size_t len), void *ctx);

/* Open the container's attach stream (stdin, stdout, stderr) as a plain
 * socket: the request goes out with "Upgrade: tcp", and once the
 * reply's header is read the fd carries the raw stream.  Returns the fd
 * or -1; *status gets the reply's status (101 or 200 on success). */
int sv_docker_attach (const char *sock_path, const char *id, long *status, char **body,
                      sv_error_t *err);

#endif
