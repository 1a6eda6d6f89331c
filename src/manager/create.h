/* POST /api/vms: the request checked (sv_mgr_create_parse), the Docker
 * create spec made of it (sv_mgr_create_spec), and the handler
 * (sv_mgr_vm_create, api.h) that asks Docker everything that can refuse
 * before it makes the volume, the state directory and the container, and
 * removes what it made when a later step fails. */
#ifndef SV_MGR_CREATE_H
#define SV_MGR_CREATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

/* The create request, checked.  On failure returns -1 with the message and
 * the field. */
struct sv_mgr_port
{
  int host_port; /* 0: not published on a fixed port */
  int container_port;
  char protocol[4];
  char *host_ip;
};
struct sv_mgr_create
{
  char *image, *name, *network, *memory, *cpus, *disks, *user_data;
  char *firmware, *shares; /* FIRMWARE, SHARES as startvm reads them */
  bool no_dhcp, no_dhcp_set;
  bool tpm, tpm_set;
  struct sv_strv env; /* "K=V" from "env" */
  struct sv_mgr_port *ports;
  size_t n_ports;
};
int sv_mgr_create_parse (json_t *body, struct sv_mgr_create *out, const char **field,
                         sv_error_t *err);
void sv_mgr_create_free (struct sv_mgr_create *c);
/* The Docker create spec for it (labels, caps, devices, binds, env...). */
json_t *sv_mgr_create_spec (const struct sv_mgr_create *c, const char *host_state_dir,
                            bool have_kvm);

#endif
