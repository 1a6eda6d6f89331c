/* plan(): a pure function from (config, observed host) to what startvm
 * will do.  No I/O, no getenv, no clock: same inputs give a byte-identical
 * plan, and --dry-run prints exactly this. */
#ifndef SV_PLAN_H
#define SV_PLAN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "host.h"
#include "util.h"

/* Tap fds are dup2()'d to these numbers just before QEMU starts, so the
 * argv can name them at plan time. */
#define SV_TAP_FD_BASE 10

/* Where the run directory goes when state_dir is not writable
 * (host->state_dir_error): QEMU's sockets and dnsmasq.conf need a place;
 * status.json is then not written at all. */
#define SV_FALLBACK_STATE_DIR "/run/startvm"

enum sv_net_op_kind
{
  SV_OP_LINK_DOWN,    /* ifname */
  SV_OP_LINK_SET_MAC, /* ifname, mac */
  SV_OP_ADDR_DEL,     /* ifname, addr/prefix */
  SV_OP_BRIDGE_ADD,   /* ifname (brN), mtu, alias (the facts a restart resumes from) */
  SV_OP_TAP_ADD,      /* ifname (tapN), mtu; fd goes to QEMU as SV_TAP_FD_BASE+index */
  SV_OP_SET_MASTER,   /* ifname, master */
  SV_OP_LINK_SET_MTU, /* ifname, mtu */
  SV_OP_LINK_UP,      /* ifname */
  SV_OP_ADDR_ADD,     /* ifname, addr/prefix (bridge address for dnsmasq) */
  /* IPv6 (docs/networking.md "IPv6"): */
  SV_OP_RA_FILTER,  /* ifname (the container NIC): an nftables bridge table that drops our
                       router advertisements and DHCPv6 replies on their way out of it */
  SV_OP_ADDR6_DEL,  /* ifname, addr6/prefix */
  SV_OP_FORWARD6,   /* net.ipv6.conf.all.forwarding=1: the namespace routes for the VM */
  SV_OP_ADDR6_ADD,  /* ifname, addr6/prefix, no DAD (bridge address for dnsmasq) */
  SV_OP_ROUTE6_ADD, /* ifname, route6: a container route, now through the bridge */
};

struct sv_net_op
{
  enum sv_net_op_kind kind;
  char ifname[IFNAMSIZ];
  char master[IFNAMSIZ];
  uint8_t mac[6];
  uint32_t addr;
  uint8_t prefix;
  unsigned mtu;
  int index;               /* interface index N in the plan (eth N -> brN, tapN) */
  char alias[256];         /* BRIDGE_ADD: IFLA_IFALIAS, handoff.h */
  uint8_t addr6[16];       /* ADDR6_DEL, ADDR6_ADD (with prefix) */
  struct sv_route6 route6; /* ROUTE6_ADD */
};

enum sv_disk_op_kind
{
  SV_DISK_CREATE_OVERLAY, /* qemu-img create -f qcow2 -F <base_format> -b <base> <file> */
  SV_DISK_CREATE_EMPTY,   /* qemu-img create -f <format> <file> <size> */
  SV_DISK_GROW,           /* qemu-img resize -f <format> <file> <size> */
};

struct sv_disk_op
{
  enum sv_disk_op_kind kind;
  char **argv; /* the qemu-img argv, NULL-terminated */
  char *file;  /* the image the op creates or grows */
  /* CREATE_OVERLAY: written before qemu-img runs, so a later start can
   * tell whether the base image changed under the overlay. */
  char *sidecar_path; /* NULL for other kinds */
  char *sidecar_content;
};

/* Steps in data_dir (apply_data.c), before the disk steps: what must
 * outlive the container, created once and then kept. */
enum sv_data_op_kind
{
  SV_DATA_MKDIR, /* mkdir path with mode (data_dir, data_dir/tpm) */
  SV_DATA_COPY,  /* copy src to path with mode; never over an existing file (O_EXCL) */
  SV_DATA_CHOWN, /* path (a directory) and the regular files in it to uid:gid, never
                    through a link (the TPM state, for swtpm's own uid) */
};

struct sv_data_op
{
  enum sv_data_op_kind kind;
  char *path;
  char *src; /* SV_DATA_COPY: the template */
  unsigned mode;
  unsigned uid, gid; /* SV_DATA_CHOWN */
};

/* swtpm's own uid and gid when startvm is root: not root's, so a TPM
 * emulator that parses what the guest sends cannot write root's files
 * (the VM's disks, the programs); unused in the base image. */
#define SV_SWTPM_UID 64999
#define SV_SWTPM_GID 64999

/* swtpm's control socket: startvm binds and listens on swtpm_sock_path
 * itself and hands the listening socket to swtpm as this fd, so QEMU can
 * connect as soon as swtpm is started, with no race on the path. */
#define SV_SWTPM_CTRL_FD 3

/* A read-write share's virtiofsd (apply_shares.c): like swtpm, startvm
 * binds and listens on sock_path and hands the socket over as this fd. */
#define SV_VIRTIOFSD_FD 3

struct sv_virtiofsd
{
  char *tag;
  char *source;
  char *sock_path; /* <run_dir>/virtiofsd-<i>.sock, QEMU's -chardev */
  char **argv;     /* exec'd, no shell */
};

/* A cloud-init NoCloud seed file, written into plan->seed_dir at each start. */
struct sv_seed_file
{
  char *name; /* "user-data", "meta-data", "network-config" */
  char *content;
};

struct sv_plan
{
  char **qemu_argv; /* NULL-terminated */
  size_t qemu_argc;
  char **dnsmasq_argv;     /* NULL when no DHCP */
  char *dnsmasq_conf;      /* NULL when no DHCP */
  char *dnsmasq_conf_path; /* where apply writes it: <state_dir>/<id>/dnsmasq.conf */
  struct sv_net_op *net_ops;
  size_t n_net_ops;
  size_t n_taps; /* taps created by SV_OP_TAP_ADD, in index order */
  struct sv_disk_op *disk_ops;
  size_t n_disk_ops;
  enum sv_firmware firmware;
  char *data_dir; /* resolved data_dir; NULL when neither firmware nor tpm uses it */
  struct sv_data_op *data_ops;
  size_t n_data_ops;
  char **swtpm_argv;     /* NULL when tpm is off */
  char *swtpm_sock_path; /* <run_dir>/swtpm.sock, QEMU's -chardev; NULL when tpm is off */
  /* swtpm runs in its state directory (its argv says dir=.): reached by
   * its cwd, it needs no search permission on data_dir (0700, root's). */
  char *swtpm_cwd;
  int swtpm_uid, swtpm_gid;       /* -1: stays startvm's */
  struct sv_virtiofsd *virtiofsd; /* one per read-write share */
  size_t n_virtiofsd;
  struct sv_share_config *shares_9p; /* the read-only shares (QEMU's 9p) */
  size_t n_shares_9p;
  char *seed_dir; /* <run_dir>/cidata, presented as a FAT disk labelled cidata; NULL: no seed */
  struct sv_seed_file *seed_files;
  size_t n_seed_files;
  char **warnings; /* NULL-terminated list of one-line warnings (may be empty) */
  size_t n_warnings;
  char *run_dir;  /* <state_dir>/<container id> */
  char *qmp_path; /* NULL when console.qmp is false */
  /* startvm's own QMP socket, for the graceful stop (shutdown.mode acpi;
   * NULL in exec mode).  QEMU serves one client per QMP socket, so a user
   * who stays connected to qmp_path must not turn `docker stop` into a
   * hard stop. */
  char *control_path;
  char *vnc_path;      /* NULL when console.vnc is false */
  enum sv_accel accel; /* resolved: KVM or TCG */
};

/* extra_args: the CMD arguments, appended verbatim to QEMU's argv.
 * Returns <0 with a config (2) or environment (3) error: e.g. accel=kvm
 * when host->kvm_usable is false. */
int sv_plan_build (const struct sv_vm_config *cfg, const struct sv_host *host,
                   char *const *extra_args, struct sv_plan *out, sv_error_t *err);
void sv_plan_free (struct sv_plan *p);

/* The bridge address rule (docs/networking.md "The bridge address"): an address in
 * the VM's subnet, never the VM's address or gateway, valid for prefix
 * 1..32.  Returns the address and sets *bridge_prefix. */
uint32_t sv_plan_bridge_addr (uint32_t vm_addr, uint8_t prefix, uint32_t gateway,
                              uint8_t *bridge_prefix);

/* The bridge's IPv6 address (docs/networking.md "The bridge's IPv6 address": DHCPv6 needs one in
 * the range's own prefix): the VM's /64 (or its longer prefix) with an
 * interface identifier made from port_mac, the container NIC's derived
 * MAC, as modified EUI-64.  Nobody else on the network has that MAC, and
 * sequential allocators (Docker, podman) never hand out ..ff:fe..
 * identifiers.  Never the VM's address, its gateway or the subnet-router
 * anycast address.  Sets *bridge_prefix to the VM's prefix.  Returns
 * false for /127 and /128, which leave no room. */
bool sv_plan_bridge_addr6 (const uint8_t vm[16], uint8_t prefix, const uint8_t gateway[16],
                           const uint8_t port_mac[6], uint8_t out[16], uint8_t *bridge_prefix);

/* One renderer for a data op, used by --dry-run and apply's log:
 * "copy /usr/share/OVMF/OVMF_VARS_4M.fd to /image/efivars.fd (mode 0600)". */
void sv_data_op_format (const struct sv_data_op *op, struct sv_buf *b);

/* One renderer for a net op, used by --dry-run and by apply's error
 * context: "addr del 172.17.0.2/16 dev eth0". */
void sv_net_op_format (const struct sv_net_op *op, struct sv_buf *b);

/* plan_print.c: the --dry-run output.  Text: observed network, warnings,
 * disk steps, net steps, dnsmasq.conf, QEMU command (shell-quoted, one
 * argument per line).  JSON: the same, as an object. */
char *sv_plan_format_text (const struct sv_plan *p, const struct sv_host *host);
char *sv_plan_format_json (const struct sv_plan *p, const struct sv_host *host);

#endif
