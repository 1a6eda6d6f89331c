/* The validated VM configuration (output of load -> merge env -> validate).
 * Plain data: tests build it as literals.  Strings are owned by the struct
 * and freed by sv_vm_config_free(); NULL means "not set". */
#ifndef SV_CONFIG_H
#define SV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sv_accel
{
  SV_ACCEL_AUTO = 0,
  SV_ACCEL_KVM,
  SV_ACCEL_TCG,
};

enum sv_serial
{
  SV_SERIAL_STDIO = 0, /* guest serial console on startvm's stdout */
  SV_SERIAL_NONE,
};

enum sv_firmware
{
  SV_FIRMWARE_BIOS = 0,    /* SeaBIOS, QEMU's default */
  SV_FIRMWARE_UEFI,        /* OVMF 4M, per-VM variable store in data_dir */
  SV_FIRMWARE_UEFI_SECURE, /* OVMF secboot build, SMM, Microsoft's keys enrolled */
};

enum sv_shutdown_mode
{
  SV_SHUTDOWN_ACPI = 0, /* startvm supervises; SIGTERM -> system_powerdown over QMP */
  SV_SHUTDOWN_EXEC,     /* exec QEMU as PID 1, like the original */
  SV_SHUTDOWN_SUSPEND,  /* as acpi, but SIGTERM saves the guest to data_dir/vmstate */
};

/* The most disks a VM can have: sv_cfg_validate refuses more, so observe
 * and plan can size their arrays by it. */
#define SV_MAX_DISKS 32

struct sv_disk_config
{
  char *file;    /* path of the disk image QEMU opens */
  char *base;    /* optional: backing image; overlay created when file is missing */
  uint64_t size; /* bytes; 0 = not set. Create empty when missing; grow, never shrink */
  char *format;  /* "auto", "raw", "qcow2", "vmdk", "vdi", "vhdx", "qed" */
  char *bus;     /* "virtio", "scsi", "sata", "ide" */
  char
      *cache; /* "none", "writeback", "writethrough", "directsync", "unsafe"; NULL = QEMU default */
  bool readonly;
  char *media;    /* "disk" or "cdrom" */
  int boot_index; /* -1 = not set */
};

/* A directory of the container shown to the guest (docs/images.md
 * "Shares"): read-write over virtiofs (one virtiofsd each), read-only
 * over QEMU's 9p. */
#define SV_MAX_SHARES 16
#define SV_SHARE_TAG_MAX 31

struct sv_share_config
{
  char *source; /* absolute path of the container's directory */
  char *tag;    /* what the guest mounts it by */
  bool readonly;
};

struct sv_vm_config
{
  char *name;          /* NULL: use the container hostname */
  uint64_t memory_mib; /* default 512 */
  unsigned cpus;       /* default 1 */
  enum sv_accel accel;
  char *machine; /* default "q35" */
  enum sv_firmware firmware;
  bool tpm; /* swtpm, supervised; state in data_dir/tpm */

  struct
  {
    char *kernel, *initrd, *append; /* direct kernel boot; NULL = not set */
  } boot;

  struct sv_disk_config *disks;
  size_t n_disks;
  struct sv_share_config *shares;
  size_t n_shares;

  struct
  {
    bool dhcp;         /* default true; NO_DHCP=true sets false */
    char *ip_prefix;   /* NULL: hand off what is there now */
    uint64_t wait_ms;  /* default 60000 */
    char **interfaces; /* NULL-terminated.  NULL (key absent) = every interface with
                          IPv4; non-NULL with n_interfaces 0 ("interfaces: []") = none */
    size_t n_interfaces;
    char *model; /* default "virtio-net-pci" */
  } network;

  struct
  {
    enum sv_serial serial;
    bool vnc; /* default true: unix socket <state_dir>/<id>/vnc */
    bool qmp; /* default true: unix socket <state_dir>/<id>/qmp */
  } console;

  char *state_dir; /* default "/ranchervm" */
  char *data_dir;  /* default "/image": efivars.fd, tpm/ (outlive the container) */

  struct
  {
    enum sv_shutdown_mode mode;
    uint64_t timeout_ms; /* default 8000: below Docker's 10 s grace period */
  } shutdown;

  struct
  {
    char *user_data, *meta_data, *network_config; /* inline contents; NULL = not set */
  } cloud_init;

  struct
  {
    char *binary;      /* default "qemu-system-x86_64" */
    char **extra_args; /* NULL-terminated, appended before the CMD args */
    size_t n_extra_args;
  } qemu;
};

void sv_vm_config_free (struct sv_vm_config *c);

/* The least memory at which Debian's signed shim -> grub -> kernel chain
 * booted the tiny guest under uefi-secure (tests/e2e/secure_chain.sh; at
 * 256, 257 and 258 MiB it resets in a loop; uefi boots it at 256).  It
 * grows with the kernel and initrd (the tiny guest's: 14 + 4 MB). */
#define SV_SECURE_MIN_MIB 259

/* A warning about c that is not an error (--check, --dry-run and the
 * start print it), or NULL.  Owned by the caller. */
char *sv_vm_config_warning (const struct sv_vm_config *c);

/* machine names a q35 machine ("q35", "pc-q35-7.2"; NULL is the default,
 * q35): SMM for OVMF's Secure Boot build and the TPM's CRB need it. */
bool sv_machine_is_q35 (const char *machine);

#endif
