/* The VM's run directory, <state_dir>/<container id>. */
#ifndef SV_RUN_DIR_H
#define SV_RUN_DIR_H

#include "error.h"

/* Creates path (its parents 0755, itself 0700) or takes the existing
 * one, which must be a real directory of startvm's own user: a symbolic
 * link there is refused (SV_EXIT_ENV), never followed.  Leaves it 0700:
 * QEMU's sockets and the seed inside are for root only. */
int sv_run_dir_prepare (const char *path, sv_error_t *err);

#endif
