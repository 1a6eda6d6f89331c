/* The supervising startvm's side of status.json (see status.h). */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "handoff.h"
#include "ip6.h"

static uint64_t
mono_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
copy (char *dst, size_t len, const char *src)
{
  snprintf (dst, len, "%s", src ? src : "");
}

void
sv_status_keeper_init (struct sv_status_keeper *k, const struct sv_vm_config *cfg,
                       const struct sv_host *host, const struct sv_plan *plan, int64_t started_ms)
{
  memset (k, 0, sizeof *k);
  struct sv_status *st = &k->st;
  st->version = SV_STATUS_VERSION;
  st->phase = SV_PHASE_STARTING;
  st->exit_status = -1;
  st->supervised = cfg->shutdown.mode != SV_SHUTDOWN_EXEC;
  copy (st->shutdown_mode, sizeof st->shutdown_mode,
        cfg->shutdown.mode == SV_SHUTDOWN_EXEC      ? "exec"
        : cfg->shutdown.mode == SV_SHUTDOWN_SUSPEND ? "suspend"
                                                    : "acpi");
  copy (st->container_id, sizeof st->container_id, host->container_id);
  copy (st->name, sizeof st->name,
        cfg->name && cfg->name[0] ? cfg->name
        : host->net.hostname[0]   ? host->net.hostname
                                  : host->container_id);
  copy (st->accel, sizeof st->accel, plan->accel == SV_ACCEL_KVM ? "kvm" : "tcg");
  if (cfg->accel == SV_ACCEL_TCG)
    copy (st->accel_reason, sizeof st->accel_reason, "accel: tcg was asked for");
  else if (cfg->accel == SV_ACCEL_KVM)
    copy (st->accel_reason, sizeof st->accel_reason, "accel: kvm was asked for");
  else if (plan->accel == SV_ACCEL_KVM)
    copy (st->accel_reason, sizeof st->accel_reason, "/dev/kvm is usable");
  else
    snprintf (st->accel_reason, sizeof st->accel_reason, "KVM is not usable: %s",
              host->kvm_reason[0] ? host->kvm_reason : "no reason given");
  st->memory_mib = cfg->memory_mib;
  st->cpus = cfg->cpus;
  for (size_t i = 0; i < host->net.n_ifaces && i < SV_STATUS_MAX_IFACES; i++)
    {
      const struct sv_iface *ifc = &host->net.ifaces[i];
      struct sv_status_iface *f = &st->ifaces[st->n_ifaces++];
      char a[SV_IP4_STRLEN];
      uint8_t derived[6];
      copy (f->name, sizeof f->name, ifc->name);
      /* The plan's bridge name: a resumed handoff keeps the one it found. */
      if (ifc->resumed && ifc->bridge[0])
        copy (f->bridge, sizeof f->bridge, ifc->bridge);
      else
        snprintf (f->bridge, sizeof f->bridge, "br%zu", i);
      sv_mac_format (ifc->mac, f->vm_mac);
      sv_handoff_derive_mac (ifc->mac, derived);
      sv_mac_format (derived, f->container_mac);
      if (ifc->addr)
        snprintf (f->addresses[f->n_addresses++], sizeof f->addresses[0], "%s/%u",
                  sv_ip4_format (ifc->addr, a), ifc->prefix);
      if (ifc->has_addr6)
        {
          char a6[SV_IP6_STRLEN];
          snprintf (f->addresses[f->n_addresses++], sizeof f->addresses[0], "%s/%u",
                    sv_ip6_format (ifc->addr6, a6), ifc->prefix6);
        }
      /* IPv6 only: DHCPv6 names the client by DUID, not MAC; dnsmasq
       * answers only the VM on that bridge, so its DHCPREPLY there counts. */
      k->v6_only[i] = ifc->addr == 0 && ifc->has_addr6;
      f->dhcp = plan->dnsmasq_argv != NULL;
    }
  copy (st->vnc, sizeof st->vnc, plan->vnc_path);
  copy (st->qmp, sizeof st->qmp, plan->qmp_path);
  st->started_ms = started_ms;
  st->phase_since_ms = started_ms;
  sv_status_self (&st->pid, &st->pid_start, st->pid_ns, sizeof st->pid_ns);
  k->dir = sv_xstrdup (plan->run_dir);
  /* Not writable: the plan's warning said so, once; no file elsewhere
   * that nobody would look for. */
  k->active = host->state_dir_error[0] == '\0';
}

void
sv_status_keeper_free (struct sv_status_keeper *k)
{
  free (k->dir);
  k->dir = NULL;
  k->active = false;
}

static void
write_status (struct sv_status_keeper *k)
{
  cleanup_error sv_error_t err = NULL;
  if (!k->active || k->broken)
    return;
  uint64_t t0 = mono_ns ();
  k->st.updated_ms = sv_status_now_ms ();
  int r = sv_status_write (k->dir, &k->st, &err);
  k->write_ns += mono_ns () - t0;
  k->n_writes++;
  if (r < 0)
    {
      /* The VM matters more than its status: run on, say it once. */
      fprintf (stderr,
               "startvm: status unavailable: %s (the VM runs on; `startvm status` cannot "
               "report it)\n",
               err->msg);
      k->broken = true;
    }
}

static void
set_phase (struct sv_status_keeper *k, enum sv_phase phase)
{
  if (k->st.phase != phase)
    {
      k->st.phase = phase;
      k->st.phase_since_ms = sv_status_now_ms ();
    }
}

void
sv_status_keeper_phase (struct sv_status_keeper *k, enum sv_phase phase)
{
  if (!k->active)
    return;
  set_phase (k, phase);
  write_status (k);
}

static bool
all_acked (const struct sv_status *st)
{
  for (size_t i = 0; i < st->n_ifaces; i++)
    if (st->ifaces[i].dhcp && st->ifaces[i].lease_acked_ms == 0)
      return false;
  return true;
}

void
sv_status_keeper_qemu_started (struct sv_status_keeper *k, bool supervised)
{
  if (!k->active)
    return;
  k->st.supervised = supervised;
  k->st.qemu_started_ms = sv_status_now_ms ();
  /* Leases acknowledged before QEMU ran belong to an earlier guest (a
   * restarted container's dnsmasq cannot have any; still, be exact).  A
   * guest resumed on its old address (sv_status_keeper_resumed, called
   * once QEMU runs the saved state) keeps its lease: no DHCPACK will
   * come, it is ready. */
  set_phase (k, supervised && (k->lease_kept || all_acked (&k->st)) ? SV_PHASE_READY
                                                                    : SV_PHASE_BOOTING);
  write_status (k);
}

void
sv_status_keeper_resumed (struct sv_status_keeper *k, bool relink)
{
  if (!k->active)
    return;
  k->st.resumed = true;
  /* The guest keeps the lease it had: no DHCPACK will come, unless its
   * links go down and up for a new address. */
  k->lease_kept = !relink;
  if (k->lease_kept)
    set_phase (k, SV_PHASE_READY);
  write_status (k);
}

void
sv_status_keeper_vm_mac (struct sv_status_keeper *k, const char *now, const char *was)
{
  for (size_t i = 0; i < k->st.n_ifaces; i++)
    if (strcmp (k->st.ifaces[i].vm_mac, now) == 0)
      copy (k->st.ifaces[i].vm_mac, sizeof k->st.ifaces[i].vm_mac, was);
}

void
sv_status_keeper_suspended (struct sv_status_keeper *k)
{
  k->st.suspended = true;
}

void
sv_status_keeper_failed (struct sv_status_keeper *k, const char *msg, int exit_status)
{
  if (!k->active)
    return;
  copy (k->st.error, sizeof k->st.error, msg);
  k->st.exit_status = exit_status;
  set_phase (k, SV_PHASE_FAILED);
  write_status (k);
}

void
sv_status_keeper_stopped (struct sv_status_keeper *k, int exit_status)
{
  if (!k->active)
    return;
  k->st.exit_status = exit_status;
  set_phase (k, SV_PHASE_STOPPED);
  write_status (k);
}

/* ---- dnsmasq's lines ---- */

static const char *
skip_word (const char *p, const char *end)
{
  while (p < end && *p != ' ')
    p++;
  while (p < end && *p == ' ')
    p++;
  return p;
}

static bool
word_mac (const char *p, const char *end, uint8_t mac[6])
{
  char w[SV_MAC_STRLEN];
  size_t n = 0;
  while (p + n < end && p[n] != ' ')
    n++;
  if (n != SV_MAC_STRLEN - 1)
    return false;
  memcpy (w, p, n);
  w[n] = '\0';
  return sv_mac_parse (w, mac) == 0;
}

enum sv_dhcp_event
sv_dhcp_log_parse (const char *line, size_t len, uint8_t mac[6], char bridge[16])
{
  static const char prefix[] = "dnsmasq-dhcp[";
  const char *end = line + len;
  if (len < sizeof prefix || memcmp (line, prefix, sizeof prefix - 1) != 0)
    return SV_DHCP_NONE;
  const char *p = line + sizeof prefix - 1;
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  if (end - p < 3 || memcmp (p, "]: ", 3) != 0)
    return SV_DHCP_NONE;
  p += 3;
  /* log-dhcp puts the transaction id first. */
  const char *q = p;
  while (q < end && *q >= '0' && *q <= '9')
    q++;
  if (q > p && q < end && *q == ' ')
    p = q + 1;
  enum sv_dhcp_event ev;
  if (end - p > 13 && memcmp (p, "DHCPDISCOVER(", 13) == 0)
    ev = SV_DHCP_DISCOVER;
  else if (end - p > 8 && memcmp (p, "DHCPACK(", 8) == 0)
    ev = SV_DHCP_ACK;
  else if (end - p > 10 && memcmp (p, "DHCPREPLY(", 10) == 0)
    ev = SV_DHCP_REPLY6;
  else
    return SV_DHCP_NONE;
  const char *open = memchr (p, '(', (size_t)(end - p));
  const char *close = memchr (p, ')', (size_t)(end - p));
  if (close == NULL || close + 1 >= end || close[1] != ' ' || close - open - 1 >= 16
      || close - open - 1 < 1)
    return SV_DHCP_NONE;
  memcpy (bridge, open + 1, (size_t)(close - open - 1));
  bridge[close - open - 1] = '\0';
  if (ev == SV_DHCP_REPLY6)
    return ev;
  /* "DHCPACK(br0) 10.88.0.5 02:..." or "DHCPDISCOVER(br0) 02:...". */
  const char *w = close + 2;
  if (word_mac (w, end, mac))
    return ev;
  w = skip_word (w, end);
  if (word_mac (w, end, mac))
    return ev;
  return SV_DHCP_NONE;
}

void
sv_status_keeper_dhcp_line (struct sv_status_keeper *k, const char *line, size_t len)
{
  uint8_t mac[6];
  char bridge[16];
  enum sv_dhcp_event ev = sv_dhcp_log_parse (line, len, mac, bridge);
  if (ev == SV_DHCP_NONE || !k->active)
    return;
  char m[SV_MAC_STRLEN] = "";
  if (ev != SV_DHCP_REPLY6)
    sv_mac_format (mac, m);
  for (size_t i = 0; i < k->st.n_ifaces; i++)
    {
      struct sv_status_iface *f = &k->st.ifaces[i];
      if (!f->dhcp)
        continue;
      if (ev == SV_DHCP_REPLY6 ? !k->v6_only[i] || strcmp (f->bridge, bridge) != 0
                               : strcmp (f->vm_mac, m) != 0)
        continue;
      if (ev == SV_DHCP_DISCOVER)
        {
          /* Kept in memory; written with the next phase or lease. */
          if (f->dhcp_discover_ms == 0)
            f->dhcp_discover_ms = sv_status_now_ms ();
          return;
        }
      if (f->lease_acked_ms != 0)
        return; /* a renewal or the guest rebooting: nothing new */
      f->lease_acked_ms = sv_status_now_ms ();
      if (k->st.phase == SV_PHASE_BOOTING && all_acked (&k->st))
        set_phase (k, SV_PHASE_READY);
      write_status (k);
      return;
    }
}
