#include "cache.h"

#include <string.h>

#include "cleanup.h"
#include "vm.h"

void
sv_mgr_cache_init (struct sv_mgr_cache *c, const char *state_dir)
{
  memset (c, 0, sizeof *c);
  c->state_dir = state_dir;
  pthread_mutex_init (&c->lock, NULL);
  c->rancher_vm = json_object ();
  c->inspect = json_object ();
  c->vms = json_object ();
}

void
sv_mgr_cache_free (struct sv_mgr_cache *c)
{
  json_decref (c->rancher_vm);
  json_decref (c->inspect);
  json_decref (c->vms);
  pthread_mutex_destroy (&c->lock);
}

json_t *
sv_mgr_cache_vm_ids_copy (struct sv_mgr_cache *c)
{
  pthread_mutex_lock (&c->lock);
  json_t *ids = c->vms_valid ? json_deep_copy (c->vms) : NULL;
  pthread_mutex_unlock (&c->lock);
  return ids;
}

/* Is this list entry a VM container?  The label says so; without it, the
 * env (RANCHER_VM=true) needs an inspect, remembered per container id. */
bool
sv_mgr_cache_is_vm_entry (struct sv_mgr_cache *c, struct sv_docker *d, json_t *e)
{
  if (sv_mgr_is_vm_labels (json_object_get (e, "Labels")))
    return true;
  const char *id = json_string_value (json_object_get (e, "Id"));
  if (id == NULL)
    return false;
  pthread_mutex_lock (&c->lock);
  json_t *known = json_object_get (c->rancher_vm, id);
  int v = known ? json_is_true (known) : -1;
  pthread_mutex_unlock (&c->lock);
  if (v >= 0)
    return v;
  long st;
  json_t *in = NULL;
  cleanup_error sv_error_t err = NULL;
  if (sv_docker_inspect (d, id, &st, &in, &err) < 0 || st != 200)
    {
      json_decref (in);
      return false;
    }
  bool is = sv_mgr_is_vm_inspect (in);
  json_decref (in);
  pthread_mutex_lock (&c->lock);
  json_object_set_new (c->rancher_vm, id, json_boolean (is));
  pthread_mutex_unlock (&c->lock);
  return is;
}

void
sv_mgr_cache_forget (struct sv_mgr_cache *c, const char *id)
{
  pthread_mutex_lock (&c->lock);
  json_object_del (c->inspect, id);
  pthread_mutex_unlock (&c->lock);
}

void
sv_mgr_cache_reset (struct sv_mgr_cache *c, bool valid)
{
  pthread_mutex_lock (&c->lock);
  json_object_clear (c->inspect);
  c->valid = valid;
  json_object_clear (c->vms);
  c->vms_valid = false;
  pthread_mutex_unlock (&c->lock);
}

/* Under cache_lock: was this id seen gone?  (c->vms keeps gone ids as
 * false, so that an inspect answered just before a removal and cached
 * just after it cannot bring the VM back; ids are never reused.) */
static bool
seen_gone (struct sv_mgr_cache *c, const char *id)
{
  json_t *v = json_object_get (c->vms, id);
  return v && !json_is_true (v);
}

void
sv_mgr_cache_put (struct sv_mgr_cache *c, const char *id, json_t *in)
{
  json_t *t = sv_mgr_inspect_trim (in);
  pthread_mutex_lock (&c->lock);
  if (c->valid && id && !seen_gone (c, id))
    json_object_set (c->inspect, id, t);
  pthread_mutex_unlock (&c->lock);
  json_decref (t);
}

/* A copy of the cached inspect's State when its Status is `state` (what
 * the list just said), else NULL: the caller asks Docker. */
json_t *
sv_mgr_cache_state_copy (struct sv_mgr_cache *c, const char *id, const char *state)
{
  json_t *copy = NULL;
  pthread_mutex_lock (&c->lock);
  json_t *st = json_object_get (c->valid ? json_object_get (c->inspect, id) : NULL, "State");
  const char *cs = json_string_value (json_object_get (st, "Status"));
  if (cs && state && strcmp (cs, state) == 0)
    copy = json_deep_copy (st);
  pthread_mutex_unlock (&c->lock);
  return copy;
}

/* The set of VM ids: a VM container now (is_vm), or one that is gone or
 * is not a VM container. */
void
sv_mgr_cache_vm_set (struct sv_mgr_cache *c, const char *id, bool is_vm)
{
  pthread_mutex_lock (&c->lock);
  if (c->vms_valid && id && *id && !seen_gone (c, id))
    json_object_set_new (c->vms, id, json_boolean (is_vm));
  if (!is_vm && id)
    json_object_del (c->inspect, id);
  pthread_mutex_unlock (&c->lock);
}

/* A container's inspect reply: the cached one when the cache is valid and,
 * given a state, agrees with it on the state; else asked for (and cached).
 * NULL when Docker does not answer 200. */
json_t *
sv_mgr_cache_inspect (struct sv_mgr_cache *c, struct sv_docker *d, const char *id,
                      const char *state)
{
  pthread_mutex_lock (&c->lock);
  json_t *in = c->valid ? json_object_get (c->inspect, id) : NULL;
  const char *cs = json_string_value (json_object_get (json_object_get (in, "State"), "Status"));
  if (in && (state == NULL || (cs && strcmp (cs, state) == 0)))
    json_incref (in);
  else
    in = NULL;
  pthread_mutex_unlock (&c->lock);
  if (in)
    return in;
  long st;
  cleanup_error sv_error_t err = NULL;
  if (sv_docker_inspect (d, id, &st, &in, &err) < 0 || st != 200)
    {
      json_decref (in);
      return NULL;
    }
  sv_mgr_cache_put (c, id, in);
  return in;
}

/* For the event stream: the VM object of a container id, or NULL when it is
 * gone or not a VM container.  *gone tells the two apart. */
json_t *
sv_mgr_vm_by_id (struct sv_mgr_cache *c, struct sv_docker *d, const char *id, bool *gone,
                 sv_error_t *err)
{
  long st;
  json_t *in = NULL;
  *gone = false;
  if (sv_docker_inspect (d, id, &st, &in, err) < 0)
    return NULL;
  json_t *vm = NULL;
  if (st == 404)
    *gone = true;
  else if (st == 200 && sv_mgr_is_vm_inspect (in))
    {
      sv_mgr_cache_put (c, id, in);
      vm = sv_mgr_vm_object (c->state_dir, in);
    }
  if (st == 404 || st == 200)
    sv_mgr_cache_vm_set (c, id, vm != NULL);
  json_decref (in);
  return vm;
}

/* The ids of every VM container now (for resyncing after a reconnect). */
json_t *
sv_mgr_vm_ids (struct sv_mgr_cache *c, struct sv_docker *d, sv_error_t *err)
{
  long st;
  json_t *list = NULL;
  if (sv_docker_list_containers (d, &st, &list, err) < 0)
    return NULL;
  if (st != 200)
    {
      json_decref (list);
      sv_error_config (err, "the Docker API refused the container list (HTTP %ld)", st);
      return NULL;
    }
  json_t *ids = json_object ();
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
  {
    if (sv_mgr_cache_is_vm_entry (c, d, e))
      json_object_set_new (ids, json_string_value (json_object_get (e, "Id")) ?: "", json_true ());
  }
  json_decref (list);
  pthread_mutex_lock (&c->lock);
  if (c->valid)
    {
      json_object_clear (c->vms);
      json_object_update (c->vms, ids);
      c->vms_valid = true;
    }
  pthread_mutex_unlock (&c->lock);
  return ids;
}
