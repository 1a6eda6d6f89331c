/* What the manager knows about containers between requests: Docker's
 * inspect replies (trimmed, sv_mgr_inspect_trim) and the set of VM
 * container ids, kept while the event stream is up (events.c drops an
 * entry on every event for its id) so that listing 50 VMs needs no
 * inspect.  Thread-safe: the workers and the event thread share it. */
#ifndef SV_MGR_CACHE_H
#define SV_MGR_CACHE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "docker.h"
#include "error.h"

struct sv_mgr_cache
{
  const char *state_dir; /* the VMs' files, for the VM objects built here */
  pthread_mutex_t lock;  /* guards everything below */
  json_t *rancher_vm;    /* container id -> bool: has env RANCHER_VM=true */
  /* container id -> Docker's inspect reply, while valid. */
  json_t *inspect;
  bool valid;
  /* The ids of every VM container (id -> true; ids seen gone or not a VM
   * container -> false), learnt from one list when the event stream
   * (re)connects and kept by its events and by our own create and delete:
   * while vms_valid, GET /api/vms asks Docker nothing but the inspects the
   * cache lacks. */
  json_t *vms;
  bool vms_valid;
};

void sv_mgr_cache_init (struct sv_mgr_cache *c, const char *state_dir);
void sv_mgr_cache_free (struct sv_mgr_cache *c);

/* Forget one container, or all (valid=false: the event stream is down, so
 * nothing cached can be trusted, the set of VM ids included; true: it is
 * up, the set waits for sv_mgr_vm_ids). */
void sv_mgr_cache_forget (struct sv_mgr_cache *c, const char *id);
void sv_mgr_cache_reset (struct sv_mgr_cache *c, bool valid);
/* Keep an inspect reply (only while valid, and never for an id seen
 * gone). */
void sv_mgr_cache_put (struct sv_mgr_cache *c, const char *id, json_t *in);
json_t *sv_mgr_cache_state_copy (struct sv_mgr_cache *c, const char *id, const char *state);
/* The set of VM ids: id is a VM container now (is_vm), or is gone or not
 * a VM container. */
void sv_mgr_cache_vm_set (struct sv_mgr_cache *c, const char *id, bool is_vm);
/* A copy of the set of VM ids, or NULL while it is not known. */
json_t *sv_mgr_cache_vm_ids_copy (struct sv_mgr_cache *c);
/* A container's inspect reply: the cached one when valid and, given a
 * state, agreeing with it; else asked for (and kept).  NULL when Docker
 * does not answer 200. */
json_t *sv_mgr_cache_inspect (struct sv_mgr_cache *c, struct sv_docker *d, const char *id,
                              const char *state);
/* Is this entry of Docker's container list a VM container (the label, or
 * env RANCHER_VM=true, asked once per id)? */
bool sv_mgr_cache_is_vm_entry (struct sv_mgr_cache *c, struct sv_docker *d, json_t *e);

/* For the event stream: the VM object of a container id, or NULL when it
 * is gone or not a VM container (*gone tells the two apart); keeps the set
 * of VM ids. */
json_t *sv_mgr_vm_by_id (struct sv_mgr_cache *c, struct sv_docker *d, const char *id, bool *gone,
                         sv_error_t *err);
/* The ids of every VM container now, from one list; they become the set
 * of VM ids (the event stream has just connected). */
json_t *sv_mgr_vm_ids (struct sv_mgr_cache *c, struct sv_docker *d, sv_error_t *err);

#endif
