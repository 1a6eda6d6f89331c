/* Run QEMU: exec it (shutdown.mode exec) or supervise it as PID 1
 * (shutdown.mode acpi): reap every child, SIGTERM/SIGINT -> QMP
 * system_powerdown, hard stop after shutdown.timeout. */
#ifndef SV_SUPERVISE_H
#define SV_SUPERVISE_H

#include <sys/types.h>

#include "config.h"
#include "dnsmasq_log.h"
#include "error.h"
#include "plan.h"
#include "status.h"
#include "suspend.h"

/* startvm's exit status when swtpm died while the guest ran: the VM was
 * stopped (docs/operations.md). */
#define SV_EXIT_TPM_LOST 5
/* ...when a share's virtiofsd died while the guest ran. */
#define SV_EXIT_SHARE_LOST 6

/* tap_fds: plan->n_taps fds to dup2 to SV_TAP_FD_BASE+i in the child.
 * dnsmasq_pid: 0 when none; it is stopped when QEMU ends.
 * swtpm_pid: 0 when none; if it dies while the guest runs, the VM is
 * stopped (as by SIGTERM) and the status is SV_EXIT_TPM_LOST; it is
 * stopped after QEMU, so that its state is complete.
 * virtiofsd_pids: plan->n_virtiofsd pids (the shares' virtiofsd), the
 * same as swtpm's but SV_EXIT_SHARE_LOST.
 * dlog: dnsmasq's log pipe, read and forwarded while QEMU runs (NULL
 * when no dnsmasq, and in exec mode).  status: kept up to date (phases,
 * leases, the exit status); the caller reports its own failures.
 * Returns the exit status for startvm (QEMU's status, or non-zero after a
 * hard stop), or <0 with *err when QEMU could not be started at all.
 * In exec mode it does not return on success. */
int sv_run_qemu (const struct sv_vm_config *cfg, const struct sv_plan *plan, const int *tap_fds,
                 pid_t dnsmasq_pid, pid_t swtpm_pid, const pid_t *virtiofsd_pids,
                 struct sv_dnsmasq_log *dlog, struct sv_status_keeper *status,
                 struct sv_resume *resume, sv_error_t *err);

#endif
