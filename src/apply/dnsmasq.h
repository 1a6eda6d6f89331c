/* dnsmasq: write its configuration and start it (exec'd, no shell). */
#ifndef SV_DNSMASQ_H
#define SV_DNSMASQ_H

#include <sys/types.h>

#include "error.h"
#include "plan.h"

/* Start dnsmasq (exec'd, no shell) with plan->dnsmasq_argv after writing
 * plan->dnsmasq_conf to plan->dnsmasq_conf_path.  *pid_out = its pid.
 * log_fd: dnsmasq's stderr (the supervisor's log pipe), or -1 for a
 * description of startvm's stderr of its own (exec mode). */
int sv_dnsmasq_start (const struct sv_plan *plan, int log_fd, pid_t *pid_out, sv_error_t *err);

#endif
