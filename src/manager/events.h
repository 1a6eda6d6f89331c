/* Docker's event stream, turned into the API's server-sent events.  A
 * thread follows GET /events (container events), inspects each changed
 * container and hands ready-made SSE text to the event loop through
 * `emit` (which must be thread-safe: sse.c queues it and wakes the loop
 * with lws_cancel_service).  When the socket goes away it says so
 * ("event: docker", connected false), retries with backoff, and on getting
 * it back resyncs: VMs removed meanwhile get their destroy event. */
#ifndef SV_MGR_EVENTS_H
#define SV_MGR_EVENTS_H

#include <stdbool.h>

#include <jansson.h>

#include "cache.h"
#include "settings.h"

typedef void (*sv_mgr_emit_fn) (void *ud, const char *sse_text);

struct sv_mgr_events;

struct sv_mgr_events *sv_mgr_events_start (const struct sv_mgr_settings *s,
                                           struct sv_mgr_cache *cache, sv_mgr_emit_fn emit,
                                           void *ud);
/* Stop the thread and free everything. */
void sv_mgr_events_stop (struct sv_mgr_events *e);
/* The "event: docker" message for the current state (for a new client). */
char *sv_mgr_events_docker_state (struct sv_mgr_events *e);

/* The status.json watcher (inotify on the state directory): "vm" events
 * with action "status" when a VM's phase or consoles change.  NULL when
 * inotify is not available (the page then sees phases on Docker events). */
struct sv_mgr_watcher;
struct sv_mgr_watcher *sv_mgr_watcher_start (const struct sv_mgr_settings *s,
                                             struct sv_mgr_cache *cache, sv_mgr_emit_fn emit,
                                             void *ud);
void sv_mgr_watcher_stop (struct sv_mgr_watcher *w);

/* "event: NAME\ndata: JSON\n\n" (steals data). */
char *sv_mgr_sse_format (const char *name, json_t *data);

#endif
