/* What the manager knows about one VM container: Docker's view (a list
 * entry or an inspect reply) merged with the VM's status.json, as the API's
 * VM object (MANAGER-CONTRACT.md "JSON shapes").  The VM's files are found
 * by container id only, never by a path taken from a request, and never
 * through a symlink. */
#ifndef SV_MGR_VM_H
#define SV_MGR_VM_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

/* A VM container: label io.startvm.vm=true, or env RANCHER_VM=true. */
bool sv_mgr_is_vm_labels (json_t *labels);
bool sv_mgr_is_vm_inspect (json_t *inspect);

/* A full container id: 64 lowercase hex digits. */
bool sv_mgr_full_id (const char *id);
/* A name we accept in io.startvm.state (a Docker name). */
bool sv_mgr_state_label_ok (const char *s);

/* Open the VM's state directory, state_dir/<label>/<id> (managed) or
 * state_dir/<id>, every step with O_NOFOLLOW.  Returns an O_PATH-free
 * directory fd, or -1 (*err set; errno-based ENOENT when missing). */
int sv_mgr_vm_dir_open (const char *state_dir, const char *label, const char *id, sv_error_t *err);

/* True when dirfd/name is a socket (lstat: not a symlink). */
bool sv_mgr_is_socket_at (int dirfd, const char *name);

/* status.json from the VM's directory, read by sv_status_read_at (regular
 * file, O_NOFOLLOW, at most SV_STATUS_MAX_BYTES), or NULL when missing,
 * unreadable, too big or not a JSON object. */
json_t *sv_mgr_status_read (int dirfd);

struct sv_mgr_vm_files
{
  json_t *status; /* borrowed; NULL when none */
  bool vnc, qmp;  /* the sockets exist */
};

/* The VM object from a /containers/json entry or from an inspect reply. */
json_t *sv_mgr_vm_from_list (json_t *entry, const struct sv_mgr_vm_files *f);
json_t *sv_mgr_vm_from_inspect (json_t *inspect, const struct sv_mgr_vm_files *f);
/* A copy of an inspect reply with only what sv_mgr_vm_from_inspect and
 * sv_mgr_is_vm_inspect read: what the manager caches per VM container
 * (podman's whole reply is about 40 KiB of JSON objects each). */
json_t *sv_mgr_inspect_trim (json_t *inspect);

/* The name of the volume mounted at /image (a new reference), or null. */
json_t *sv_mgr_image_volume (json_t *mounts);

/* Look at the VM's files (status.json, vnc, qmp) for the container. */
void sv_mgr_vm_files_read (const char *state_dir, const char *label, const char *id,
                           struct sv_mgr_vm_files *f);
void sv_mgr_vm_files_free (struct sv_mgr_vm_files *f);

/* A container's io.startvm.state label (its directory under the state
 * directory), or NULL. */
const char *sv_mgr_state_label (json_t *labels);
/* The VM object of an inspect reply, with what its files under state_dir
 * say. */
json_t *sv_mgr_vm_object (const char *state_dir, json_t *in);

/* Did the manager make this volume (GET /volumes/NAME's reply) for the VM
 * whose io.startvm.state is state? */
bool sv_mgr_volume_ours (json_t *vol, const char *state);

#endif
