/* The supervising startvm's side of status.json: the phases it goes
 * through, the leases dnsmasq acknowledges, and the one line on stderr
 * when the file cannot be written.  The format is status_file.h's. */
#ifndef SV_RUN_STATUS_H
#define SV_RUN_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "host.h"
#include "plan.h"
#include "status_file.h"

struct sv_status_keeper
{
  bool active;                        /* initialised: the run directory exists */
  bool broken;                        /* a write failed: said once, no more tries */
  bool lease_kept;                    /* resumed on the same address: no DHCPACK to wait for */
  bool v6_only[SV_STATUS_MAX_IFACES]; /* acknowledged by DHCPREPLY on its bridge */
  char *dir;                          /* the run directory (owned) */
  struct sv_status st;
  /* Cost of the writes, for bench/status (CLOCK_MONOTONIC ns). */
  uint64_t write_ns;
  unsigned n_writes;
};

/* Fills the static part (name, id, accel, interfaces...) from the plan;
 * writes nothing.  started_ms: when startvm started (CLOCK_REALTIME). */
void sv_status_keeper_init (struct sv_status_keeper *k, const struct sv_vm_config *cfg,
                            const struct sv_host *host, const struct sv_plan *plan,
                            int64_t started_ms);
void sv_status_keeper_free (struct sv_status_keeper *k);

/* Each writes the file (when active). */
void sv_status_keeper_phase (struct sv_status_keeper *k, enum sv_phase phase);
/* QEMU runs: booting, or ready at once when no interface waits for DHCP.
 * supervised=false (exec mode): written once, never again. */
void sv_status_keeper_qemu_started (struct sv_status_keeper *k, bool supervised);
/* The guest was resumed from data_dir/vmstate: ready, as it keeps its
 * lease, unless relink (its address changed: ready with the new lease). */
void sv_status_keeper_resumed (struct sv_status_keeper *k, bool relink);
/* A resumed guest keeps the MAC it was saved with: the interface whose VM
 * MAC is `now` is known (and its DHCPACK matched) by `was` instead. */
void sv_status_keeper_vm_mac (struct sv_status_keeper *k, const char *now, const char *was);
/* The stop saved the guest (shown with the next write, the stopped one). */
void sv_status_keeper_suspended (struct sv_status_keeper *k);
/* failed with msg; exit_status -1 when QEMU never ran. */
void sv_status_keeper_failed (struct sv_status_keeper *k, const char *msg, int exit_status);
void sv_status_keeper_stopped (struct sv_status_keeper *k, int exit_status);

/* What a dnsmasq log line says, for the keeper. */
enum sv_dhcp_event
{
  SV_DHCP_NONE = 0,
  SV_DHCP_DISCOVER,
  SV_DHCP_ACK,
  SV_DHCP_REPLY6, /* DHCPv6 REPLY: bridge set, no MAC */
};
/* Pure: "dnsmasq-dhcp[12]: 3172 DHCPACK(br0) 10.88.0.5 02:42:0a:58:00:05 vm"
 * -> SV_DHCP_ACK and the MAC.  Only dnsmasq's own message shapes count:
 * the message type right after the prefix (and log-dhcp's transaction
 * id), the client MAC as the first or second word after it.  bridge gets
 * the interface in parentheses. */
enum sv_dhcp_event sv_dhcp_log_parse (const char *line, size_t len, uint8_t mac[6],
                                      char bridge[16]);

/* Feed one dnsmasq log line; a DHCPACK for an interface's VM MAC records
 * the time and, when every DHCP interface has one, makes the VM ready. */
void sv_status_keeper_dhcp_line (struct sv_status_keeper *k, const char *line, size_t len);

#endif
