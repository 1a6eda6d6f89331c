/* Sub-planners called by sv_plan_build (plan.c).  Pure, like plan.c. */
#ifndef SV_PLAN_INTERNAL_H
#define SV_PLAN_INTERNAL_H

#include "plan.h"

/* Disks (plan_disks.c): append -drive/-device args to argv and disk ops
 * (overlay/create/grow) to out->disk_ops; cloud-init seed included. */
int sv_plan_disks (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
                   struct sv_plan *out, sv_error_t *err);

/* Frees what sv_plan_disks put in the plan (disk_ops with their argv and
 * sidecars, seed_dir, seed_files) and resets those fields; sv_plan_free
 * calls it so the disk fields have one owner. */
void sv_plan_disks_free (struct sv_plan *p);

/* cloud-init meta-data: the user's text (NULL: none) plus instance-id
 * ("iid-<container id>") and local-hostname unless it sets them.  Pure;
 * returns a new string. */
char *sv_plan_cloud_init_meta_data (const char *user, const char *container_id,
                                    const char *hostname);

/* Firmware and TPM (plan_data.c): the pflash drives, SMM, the TPM
 * device and swtpm's argv; the data_dir steps (out->data_ops).  Needs
 * out->run_dir. */
int sv_plan_data (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
                  struct sv_plan *out, sv_error_t *err);
void sv_plan_data_free (struct sv_plan *p);

/* Shares (plan_shares.c): virtiofsd argv and vhost-user-fs-pci for the
 * read-write ones, with guest memory on a shared memfd; QEMU's 9p
 * (readonly=on) for the read-only ones.  Needs out->run_dir. */
int sv_plan_shares (const struct sv_vm_config *cfg, const struct sv_host *host,
                    struct sv_strv *argv, struct sv_plan *out, sv_error_t *err);
void sv_plan_shares_free (struct sv_plan *p);

/* Network (plan_net.c): per observed interface, the handoff steps
 * (out->net_ops, out->n_taps), the -netdev/-device args and, when DHCP is
 * on, the dnsmasq.conf text and argv.  Needs out->run_dir. */
int sv_plan_net (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
                 struct sv_plan *out, sv_error_t *err);

/* A copy of s with every ',' doubled: QEMU's escaping inside
 * "key=value,..." option strings.  Caller frees. */
char *sv_qemu_opt_escape (const char *s);

/* Append one warning line to out->warnings (kept NULL-terminated). */
void sv_plan_add_warning (struct sv_plan *out, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
