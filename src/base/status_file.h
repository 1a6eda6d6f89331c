/* status.json: what the supervising startvm says about its VM
 * (<state_dir>/<container id>/status.json, docs/status.md).  The format
 * lives here, in sv_base, so every reader (`startvm status`, the manager,
 * tests) shares one definition: rendering, parsing (unknown keys
 * ignored), the atomic replace and the bounded read. */
#ifndef SV_STATUS_FILE_H
#define SV_STATUS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

#define SV_STATUS_VERSION 1
#define SV_STATUS_FILE "status.json"
#define SV_STATUS_MAX_BYTES 65536 /* a reader refuses bigger files */
#define SV_STATUS_MAX_IFACES 8
#define SV_STATUS_MAX_ADDRS 4

enum sv_phase
{
  SV_PHASE_STARTING = 0, /* startvm runs: disks, network handoff, dnsmasq */
  SV_PHASE_BOOTING,      /* QEMU runs; not every DHCP lease acknowledged yet */
  SV_PHASE_READY,        /* every DHCP-served interface acknowledged (or no DHCP) */
  SV_PHASE_STOPPING,     /* a stop signal: graceful stop under way */
  SV_PHASE_STOPPED,      /* QEMU ended; exit_status set */
  SV_PHASE_FAILED,       /* error set (exit_status too when QEMU ran) */
};

struct sv_status_iface
{
  char name[16];          /* container interface: "eth0" */
  char container_mac[18]; /* the derived MAC the container NIC now has */
  char vm_mac[18];        /* the VM's NIC: the container's original MAC */
  char bridge[16];
  size_t n_addresses;
  char addresses[SV_STATUS_MAX_ADDRS][64]; /* "10.88.0.5/16" */
  bool dhcp;                               /* startvm's dnsmasq serves it */
  int64_t dhcp_discover_ms;                /* first DHCPDISCOVER seen; 0 = none */
  int64_t lease_acked_ms;                  /* first DHCPACK; 0 = not yet */
};

/* Times are milliseconds since the epoch (CLOCK_REALTIME), 0 = null. */
struct sv_status
{
  int version;
  enum sv_phase phase;
  char error[512];       /* "" = null */
  int exit_status;       /* -1 = null */
  bool supervised;       /* false: shutdown.mode exec, nobody updates the file */
  bool resumed;          /* the guest continues from data_dir/vmstate (shutdown.mode suspend) */
  bool suspended;        /* stopped by saving the guest to data_dir/vmstate */
  char shutdown_mode[8]; /* acpi, exec, suspend ("" = null: an older writer) */
  char container_id[128];
  char name[256];
  char accel[8];
  char accel_reason[160];
  uint64_t memory_mib;
  unsigned cpus;
  size_t n_ifaces;
  struct sv_status_iface ifaces[SV_STATUS_MAX_IFACES];
  char vnc[1024]; /* "" = null */
  char qmp[1024];
  int64_t started_ms;      /* startvm started */
  int64_t qemu_started_ms; /* QEMU started (0 = not yet) */
  int64_t updated_ms;
  int64_t phase_since_ms;
  /* Who writes the file: lets a reader in the same pid namespace tell a
   * live supervisor from one that was killed (pid reuse: the start time). */
  int pid;
  uint64_t pid_start; /* /proc/<pid>/stat field 22, clock ticks since boot */
  char pid_ns[32];    /* "pid:[4026531836]" */
};

const char *sv_phase_name (enum sv_phase phase);
bool sv_phase_parse (const char *s, enum sv_phase *out);

/* RFC 3339 UTC with milliseconds: "2026-11-30T00:12:03.123Z" (buf >= 25). */
void sv_status_format_time (int64_t ms, char *buf, size_t len);
int64_t sv_status_now_ms (void); /* CLOCK_REALTIME */

/* The file's JSON text (one object, newline-terminated), appended to b. */
void sv_status_render (const struct sv_status *st, struct sv_buf *b);

/* Parse a status.json text.  Unknown keys are ignored; "version" must be
 * present and at most SV_STATUS_VERSION is understood.  Returns <0 with a
 * message naming what is wrong ("not a JSON object", "no phase"). */
int sv_status_parse (const char *json, size_t len, struct sv_status *out, sv_error_t *err);

/* Replace dir/status.json atomically: write dir/.status.json.tmp, swap
 * it with status.json (renameat2 RENAME_EXCHANGE, else rename).
 * No fsync: the file describes a running process and means nothing after
 * a reboot; rename alone is atomic for every reader and survives the
 * writer being killed at any moment. */
int sv_status_write (const char *dir, const struct sv_status *st, sv_error_t *err);

/* Read a whole status file (at most SV_STATUS_MAX_BYTES) into *out
 * (NUL-terminated, caller frees).  Errno-class errors. */
int sv_status_read_file (const char *path, char **out, size_t *len, sv_error_t *err);
/* The same, for path relative to the directory dirfd (AT_FDCWD: as
 * above). */
int sv_status_read_at (int dirfd, const char *path, char **out, size_t *len, sv_error_t *err);

/* For a reader: is the writer of st gone?  True only when st->pid_ns is
 * this process's pid namespace and that pid no longer runs the process
 * that wrote it; false when it cannot tell (another namespace). */
bool sv_status_writer_gone (const struct sv_status *st);
/* This process's identity for the fields above. */
void sv_status_self (int *pid, uint64_t *pid_start, char *pid_ns, size_t ns_len);

/* Human-readable report (several lines), appended to b.  writer_gone:
 * from sv_status_writer_gone. */
void sv_status_describe (const struct sv_status *st, bool writer_gone, struct sv_buf *b);

#endif
