/* apply_shares: starting and stopping the read-write shares' virtiofsd
 * (docs/images.md "Shares"). */
#ifndef SV_APPLY_SHARES_H
#define SV_APPLY_SHARES_H

#include <sys/types.h>

#include "error.h"
#include "plan.h"

/* Starts one virtiofsd per plan->virtiofsd[i] (exec'd, no shell): startvm
 * binds and listens on its sock_path (0600) and passes the socket as
 * SV_VIRTIOFSD_FD, so QEMU can connect as soon as it is forked.  Each
 * child gets PR_SET_PDEATHSIG and no_new_privs, and keeps the
 * container's capabilities (it serves files as their owners).  pids:
 * plan->n_virtiofsd entries.  On failure those already started are
 * stopped and their sockets removed.  Exit class 3. */
int sv_virtiofsd_start (const struct sv_plan *plan, pid_t *pids, sv_error_t *err);

/* SIGTERM, wait, and remove the sockets: for a failure before QEMU
 * runs (supervise.c stops them afterwards). */
void sv_virtiofsd_stop (const struct sv_plan *plan, pid_t *pids);

#endif
