/* apply_data: the plan's data_dir steps (the UEFI variable store copied
 * from its template, the TPM state directory), and starting swtpm.
 * Nothing that exists is ever overwritten. */
#ifndef SV_APPLY_DATA_H
#define SV_APPLY_DATA_H

#include <sys/types.h>

#include "error.h"
#include "plan.h"

/* Runs plan->data_ops in order.  A copy goes to a temporary file in the
 * same directory and is linked into place, so a crash leaves no
 * half-written store and a file that appeared meanwhile is kept (and is
 * an error).  Exit class 3. */
int sv_data_apply (const struct sv_plan *plan, sv_error_t *err);

/* Starts plan->swtpm_argv (exec'd, no shell) with its control socket:
 * startvm binds and listens on plan->swtpm_sock_path (0600) and passes
 * the socket as SV_SWTPM_CTRL_FD.  The child gets PR_SET_PDEATHSIG,
 * no_new_privs and no capabilities at all (docs/images.md "TPM").
 * *pid: the child.  Exit class 3 when swtpm cannot be run. */
int sv_swtpm_start (const struct sv_plan *plan, pid_t *pid, sv_error_t *err);

/* A listening unix socket (0600, close-on-exec) at path, replacing a
 * socket or link an earlier run left there.  what names it in errors
 * ("swtpm control socket").  Exit class 3. */
int sv_listen_unix (const char *path, const char *what, sv_error_t *err);

/* A helper serving a listening socket: fork; the child gets lfd as
 * target_fd (inherited), dies with startvm (PR_SET_PDEATHSIG), runs
 * prepare (async-signal-safe; < 0 with errno: fail) and execs argv
 * (PATH searched).  Returns the pid; 0 with *exec_errno when the child
 * could not run it (reaped); -1 with *err when pipe or fork failed. */
pid_t sv_spawn_on_socket (int lfd, int target_fd, int (*prepare) (const void *ud), const void *ud,
                          char *const argv[], int *exec_errno, sv_error_t *err);

#endif
