/* What startvm observed about the container it runs in: network, DNS,
 * hostname, devices, disks.  Plain structs, no libnl types: unit tests of
 * plan() build these as literals.  Addresses are host byte order. */
#ifndef SV_HOST_H
#define SV_HOST_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h" /* SV_MAX_DISKS */

#define SV_MAX_IFACES 8
#define SV_MAX_ROUTES 16
#define SV_MAX_DNS 8
#define SV_MAX_SEARCH 8
#define SV_MAX_OTHER_ADDR6 4

struct sv_route
{
  uint32_t dst; /* 0 with dst_len 0 = default route */
  uint8_t dst_len;
  uint32_t gateway; /* 0 = directly connected (scope link) */
  bool onlink;      /* gateway marked onlink (off-subnet gateway, Calico style) */
  uint32_t metric;
  uint8_t table;    /* RT_TABLE_MAIN normally */
  uint8_t scope;    /* RT_SCOPE_* as observed */
  uint8_t protocol; /* RTPROT_* as observed */
  uint32_t prefsrc; /* 0 = none */
};

/* An IPv6 route through a container interface (main table). */
struct sv_route6
{
  uint8_t dst[16];
  uint8_t dst_len;     /* 0 = default route */
  uint8_t gateway[16]; /* all zero = directly connected */
  uint32_t metric;
  uint8_t protocol; /* RTPROT_* as observed */
};

struct sv_iface
{
  char name[IFNAMSIZ];
  int ifindex;
  uint8_t mac[6];
  unsigned mtu;
  uint32_t addr;    /* the IPv4 address handed to the VM */
  uint8_t prefix;   /* 1..32 */
  uint32_t gateway; /* default gateway via this iface, 0 = none */
  size_t n_routes;  /* every IPv4 route of the main table through this iface, */
  struct sv_route routes[SV_MAX_ROUTES]; /* default included (for restore) */
  /* An earlier startvm in this network namespace (a Kubernetes container
   * restart) already handed this interface off: it is a port of `bridge`,
   * and the facts above come from the bridge's alias (handoff.h). */
  bool resumed;
  /* resumed, but the earlier startvm stopped (killed) after creating the
   * bridge and before the interface became its port: the port's steps
   * are still to do, and its address still to remove when it has it. */
  bool resume_port_pending;
  bool resume_addr_on_port;
  bool resume_addr6_on_port; /* the same for its IPv6 address */
  char bridge[IFNAMSIZ];
  uint32_t bridge_addr; /* resumed: the bridge's IPv4 address now, 0 = none */
  uint8_t bridge_prefix;
  /* IPv6 (a dual-stack or IPv6-only container): the global address the
   * VM gets by DHCPv6 (permanent, not deprecated, not link-local).  An
   * interface with neither this nor an IPv4 address is not handed off. */
  bool has_addr6;
  uint8_t addr6[16];
  uint8_t prefix6;        /* 1..128 */
  unsigned n_other_addr6; /* further global addresses: not handed off, but removed (the link
                             going down drops them) and put back by the undo */
  uint8_t other_addr6[SV_MAX_OTHER_ADDR6][16];
  uint8_t other_prefix6[SV_MAX_OTHER_ADDR6];
  bool has_gateway6;                       /* default route via gateway6 */
  uint8_t gateway6[16];                    /* may be link-local (fe80::...) */
  size_t n_routes6;                        /* every IPv6 route of the main table through */
  struct sv_route6 routes6[SV_MAX_ROUTES]; /* this iface but link-local ones */
};

struct sv_net_state
{
  size_t n_ifaces;
  struct sv_iface ifaces[SV_MAX_IFACES]; /* eth0 first, then by name */
  size_t n_dns;
  uint32_t dns[SV_MAX_DNS]; /* IPv4 nameservers from resolv.conf */
  size_t n_dns6;
  uint8_t dns6[SV_MAX_DNS][16]; /* IPv6 nameservers (zone-less) from resolv.conf */
  size_t n_search;
  char search[SV_MAX_SEARCH][256]; /* search domains from resolv.conf */
  char hostname[256];
};

#define SV_PATH_MAX 1024
#define SV_SEED_MAX 65536 /* cloud-init files read from the cloud-init dir */

/* What startvm knows about a base image, to tell later whether an overlay
 * still sits on the same one.  Recorded in a sidecar next to the overlay
 * (<overlay>.startvm-base) when the overlay is created. */
struct sv_base_fingerprint
{
  bool valid;
  uint64_t size;   /* st_size */
  int64_t mtime;   /* st_mtime, seconds */
  uint64_t sample; /* FNV-1a 64 over the first and last MiB */
};

/* Observed facts about one disk.  With disks in vm.yaml, index i matches
 * config->disks[i]; without, the entries are the RancherVM convention
 * (implicit: the /image/sda.qcow2 overlay on the /base_image image, then
 * the .img files in /volumes, sorted). */
struct sv_disk_state
{
  bool exists;
  bool is_dir;
  char format[16];       /* detected by qemu-img info, "" when unknown/missing */
  uint64_t virtual_size; /* bytes, 0 when unknown */
  bool base_exists;
  char base_format[16];
  /* disks.c additions */
  bool implicit;              /* from the convention, not from config->disks */
  char file[SV_PATH_MAX];     /* absolute path QEMU opens */
  char base[SV_PATH_MAX];     /* absolute backing image for a new overlay, "" none */
  uint64_t base_virtual_size; /* bytes */
  char backing[SV_PATH_MAX];  /* backing file recorded in the existing image, "" none */
  bool backing_exists;
  bool backing_is_base;                /* the recorded backing file is `base` */
  struct sv_base_fingerprint base_fp;  /* of `base` as it is now */
  struct sv_base_fingerprint recorded; /* from the sidecar, valid=false when none */
};

/* The RancherVM directory convention and the cloud-init directory.  The
 * root prefix ($RANCHERVM_ROOT, "" normally) lets tests point them at a
 * temporary directory. */
struct sv_images_state
{
  char root[SV_PATH_MAX];
  bool base_dir_exists;             /* <root>/base_image */
  size_t n_base_images;             /* regular files in it (dotfiles ignored) */
  char base_images[2][SV_PATH_MAX]; /* the first two, sorted, for messages */
  size_t n_volumes;                 /* .img files in <root>/volumes, attached after disk 0 */
  bool has_user_data, has_meta_data, has_network_config; /* <root>/etc/ranchervm/cloud-init/ */
  char user_data[SV_SEED_MAX];
  char meta_data[SV_SEED_MAX];
  char network_config[SV_SEED_MAX];
};

/* OVMF from Debian's `ovmf` (4M builds).  firmware uefi: the plain code
 * and its empty variable store; uefi-secure: the Secure Boot build (SMM)
 * and the store with Microsoft's keys enrolled. */
#define SV_OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define SV_OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define SV_OVMF_CODE_SECURE "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
#define SV_OVMF_VARS_SECURE "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

/* data_dir and what firmware and TPM need (observe/data.c).  Only looked
 * at for what the configuration uses; the rest stays false. */
struct sv_data_state
{
  bool dir_exists;     /* data_dir is a directory */
  bool efivars_exists; /* data_dir/efivars.fd is a regular file: kept, never recopied */
  bool fw_code_exists; /* the firmware's code and template are readable files */
  bool fw_vars_exists;
  bool tpm_dir_exists; /* data_dir/tpm is a directory */
  bool swtpm_found;    /* swtpm is in PATH */
  /* startvm is root with CAP_SETUID, CAP_SETGID and CAP_CHOWN: swtpm can
   * run under its own uid (SV_SWTPM_UID) instead of root's. */
  bool can_switch_uid;
  /* Why data_dir, efivars.fd or tpm/ cannot be used as they are (a file
   * where a directory belongs, a link), "" when they can. */
  char error[SV_PATH_MAX + 96];
};

/* virtiofsd from Debian's qemu-system-common (QEMU 7.2's, in C). */
#define SV_VIRTIOFSD "/usr/lib/qemu/virtiofsd"

/* The shares' sources and virtiofsd (observe/data.c), looked at only
 * when the configuration has shares. */
struct sv_shares_state
{
  bool virtiofsd_found; /* SV_VIRTIOFSD is an executable file */
  /* The first source that is not a directory, "" when all are. */
  char error[SV_PATH_MAX + 96];
};

struct sv_host
{
  struct sv_net_state net;
  bool kvm_usable;        /* /dev/kvm can really create a VM */
  char kvm_reason[128];   /* why not, for the one warning line */
  bool vhost_net_usable;  /* /dev/vhost-net opens */
  char container_id[128]; /* from cgroup/mountinfo, else hostname */
  /* Why state_dir (or its nearest existing parent) is not writable, ""
   * when it is: then startvm keeps its run directory under
   * SV_FALLBACK_STATE_DIR and has no status.json to offer. */
  char state_dir_error[160];
  size_t n_disks;
  struct sv_disk_state disks[SV_MAX_DISKS];
  struct sv_images_state images; /* filled by sv_disks_observe */
  struct sv_data_state data;     /* filled by sv_data_observe */
  struct sv_shares_state shares; /* filled by sv_shares_observe */
};

#endif
