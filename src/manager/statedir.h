/* The VMs' directories under the manager's state directory: made for a new
 * VM (with a marker saying the manager made it) and removed with it,
 * never following a symlink a VM container planted there. */
#ifndef SV_MGR_STATEDIR_H
#define SV_MGR_STATEDIR_H

#include <stdbool.h>

#include "error.h"

/* <state_dir>/<name> for a new VM: made 0700 with the marker (*made), or
 * an existing one that has the marker.  -1 with *foreign when it exists
 * and the manager did not make it; -1 otherwise for a failure (with *made
 * the caller removes what was made, sv_mgr_state_dir_remove). */
int sv_mgr_state_dir_claim (const char *state_dir, const char *name, bool *made, bool *foreign,
                            sv_error_t *err);
/* Remove <state_dir>/<label>/<id> (id a full container id, or NULL), and
 * <state_dir>/<label> with its marker once nothing else is in it. */
void sv_mgr_state_dir_remove (const char *state_dir, const char *label, const char *id);

#endif
