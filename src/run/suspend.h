/* shutdown.mode suspend: the guest saved to data_dir/vmstate on SIGTERM
 * and resumed from it on the next start (docs/operations.md "Suspend").
 *
 * vmstate.json says what the state was saved with; a start resumes only
 * when all of it still holds:
 *   - qemu: the first line of `qemu-system-x86_64 --version`;
 *   - hardware: QEMU's argv without what may differ between starts (the
 *     run directory's paths, the NICs' MACs), so memory, CPUs, devices,
 *     firmware, the accelerator and the CPU model are in it;
 *   - disks: each writable disk's size, mtime (ns) and inode, taken after
 *     QEMU quit (nothing writes them after that);
 *   - macs: the MACs the guest was given (it keeps them: QEMU carries
 *     them in the state);
 *   - network: what DHCP gives it (dnsmasq.conf's dhcp-range, dhcp-host,
 *     dhcp-option lines).
 * A changed MAC or network alone (same NICs) is resumed anyway: dnsmasq
 * answers the saved MACs, and the links go down and up so the guest asks
 * for its new address.
 * Anything else (or a state QEMU cannot load) is a cold boot, with one log
 * line saying why and the old state kept aside as vmstate.stale-<time>. */
#ifndef SV_SUSPEND_H
#define SV_SUSPEND_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "plan.h"

/* After a resume onto a new container address, how long the guest's
 * links stay down: NetworkManager ignores a carrier loss under 6 s, and a
 * 50 ms flap goes unnoticed (docs/operations.md "Addresses"). */
#define SV_RELINK_DOWN_MS 7000

struct sv_resume
{
  size_t n_links;   /* > 0: after the resume, flap this many NICs (net0..) */
  int fd;           /* data_dir/vmstate, read-only; -1: boot cold */
  char *state_path; /* data_dir/vmstate (owned), when fd >= 0 */
  char *json_path;
  /* Resumed onto a new address: the container's MACs (mac_now) and the
   * saved ones the guest keeps (mac_was, same order), for status.json. */
  struct sv_strv mac_now, mac_was;
};

/* At start, before anything is applied: resume or boot cold (a start
 * that creates or grows a disk boots cold).  Never fails: what cannot be
 * resumed is put aside and logged.  When only the container's network
 * changed, plan's dnsmasq.conf and argv get the saved MACs back. */
void sv_suspend_prepare (const struct sv_vm_config *cfg, struct sv_plan *plan, struct sv_resume *r);

/* QMP set_link for net0..net<n-1> (the control socket). */
int sv_suspend_set_links (const struct sv_plan *plan, size_t n, bool up, int64_t deadline_ms,
                          sv_error_t *err);
void sv_resume_free (struct sv_resume *r);

/* The state was not usable after all (QEMU refused it): put it aside and
 * say why in one line. */
void sv_resume_aside (struct sv_resume *r, const struct sv_plan *plan, const char *why);

/* QEMU was started with -incoming defer: load the state over QMP (control
 * socket), continue the guest, then remove the state (used once).
 * Returns 0 when the guest runs; -1 with *err otherwise (QEMU may have
 * exited: a failed incoming migration ends it). */
int sv_resume_run (struct sv_resume *r, const struct sv_plan *plan, int intr_fd,
                   int64_t deadline_ms, sv_error_t *err);

/* SIGTERM in mode suspend: stop the guest and migrate it into
 * data_dir/vmstate.tmp (0600, fsynced), then ask QEMU to quit.  On
 * failure nothing is left on disk, the guest runs again, and *err says
 * why.  *bytes gets the state's size. */
int sv_suspend_save (const struct sv_plan *plan, int intr_fd, int64_t deadline_ms, uint64_t *bytes,
                     sv_error_t *err);

/* QEMU quit after a save: write vmstate.json (disks taken now) and move
 * both into place, state first.  On failure the tmp files are removed. */
int sv_suspend_commit (const struct sv_vm_config *cfg, const struct sv_plan *plan, uint64_t save_ms,
                       sv_error_t *err);

/* The save did not end in a commit: remove vmstate.tmp. */
void sv_suspend_discard (const struct sv_plan *plan);

/* Pure, for tests: QEMU's argv as the fingerprint sees it (the run
 * directory replaced by "$RUN", mac=... by mac=*), a NULL-terminated
 * vector the caller frees with sv_strv_free_raw. */
char **sv_suspend_hardware (const struct sv_plan *plan);

#endif
