/* Run QEMU (see supervise.h).
 *
 * shutdown.mode exec: startvm becomes QEMU (same pid), as the original
 * RancherVM did.  A dnsmasq child keeps running; nobody reaps it if it
 * dies, since QEMU does not wait for children (docs/operations.md).
 *
 * shutdown.mode acpi: startvm stays as a small PID 1.  All signals it
 * cares about are blocked and read from a signalfd, so nothing runs in
 * signal context and PID 1's "default action is ignored" rule does not
 * apply (blocked signals are always queued).  Decisions, documented in
 * docs/operations.md:
 *   - SIGTERM, SIGINT, SIGHUP: graceful stop (QMP system_powerdown, then
 *     SIGTERM, then SIGKILL to QEMU).  Without QMP, SIGTERM goes to QEMU
 *     (which quits at once) and QEMU's status is returned.
 *   - A second stop signal during the graceful wait, or SIGQUIT: hard
 *     stop now ("press Ctrl-C twice").
 *   - A hard stop is reported on stderr and gives 128+signal when QEMU
 *     itself would have said 0.
 *   - dnsmasq dying while the VM runs is logged and dnsmasq is restarted
 *     (a few times): the lease is infinite, but a rebooting guest asks
 *     again.  The VM is never stopped because of dnsmasq.
 *   - swtpm dying while the VM runs stops the VM (graceful, as SIGTERM
 *     does): the guest's TPM is gone and restarting swtpm under a running
 *     guest would lose its volatile state.  Exit status SV_EXIT_TPM_LOST.
 *     swtpm is stopped after QEMU, never before, so its state is complete.
 *   - A share's virtiofsd dying while the VM runs stops the VM the same
 *     way (the guest's mount would hang): SV_EXIT_SHARE_LOST.
 *   - shutdown.mode suspend: as acpi, but SIGTERM first saves the guest
 *     to data_dir/vmstate (suspend.c), in three quarters of
 *     shutdown.timeout; QEMU then quits and startvm exits 0.  A save that
 *     fails falls back to the ACPI stop for the rest of the time.  A start
 *     with a usable state runs QEMU with -incoming defer and loads it; when
 *     QEMU refuses it (and exits), a second QEMU boots cold with the same
 *     tap fds.
 *   - Every child is reaped (PID 1 inherits orphans); outside a container
 *     startvm makes itself a child subreaper for the same effect. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "dnsmasq.h"
#include "dnsmasq_log.h"
#include "log.h"
#include "qmp.h"
#include "status.h"
#include "supervise.h"
#include "suspend.h"

/* After SIGTERM, how long QEMU gets to quit before SIGKILL.  QEMU's own
 * SIGTERM handling flushes and quits within milliseconds. */
#define KILL_GRACE_MS 3000
/* dnsmasq gets as long to leave when QEMU is gone. */
#define DNSMASQ_GRACE_MS 2000
#define DNSMASQ_MAX_RESTARTS 3
/* swtpm writes its state on each change; SIGTERM ends it at once. */
#define SWTPM_GRACE_MS 2000
/* Retry QMP while QEMU is still creating its socket. */
#define QMP_RETRY_MS 100
/* How long loading a saved state may take before QEMU is killed and the
 * guest boots cold (a 4 GiB state loads in a few seconds). */
#define RESUME_TIMEOUT_MS 60000

/* Sockets from a previous run of this container would make QEMU fail
 * ("Address already in use").  Sockets and symbolic links are removed
 * (unlink never follows a link: a link planted in our run directory goes,
 * its target stays); anything else at that path is the user's, and
 * QEMU's own error will say so. */
static void
remove_stale_socket (const char *path)
{
  struct stat st;
  if (path && lstat (path, &st) == 0 && (S_ISSOCK (st.st_mode) || S_ISLNK (st.st_mode)))
    unlink (path);
}

static void
remove_sockets (const struct sv_plan *plan)
{
  remove_stale_socket (plan->qmp_path);
  remove_stale_socket (plan->control_path);
  remove_stale_socket (plan->vnc_path);
}

/* swtpm's socket is bound by startvm (apply_data.c), so it exists before
 * QEMU starts: removed only when everything has ended. */
static void
remove_swtpm_socket (const struct sv_plan *plan)
{
  remove_stale_socket (plan->swtpm_sock_path);
  /* The shares' virtiofsd sockets are bound by startvm too. */
  for (size_t i = 0; i < plan->n_virtiofsd; i++)
    remove_stale_socket (plan->virtiofsd[i].sock_path);
}

static void
announce_sockets (const struct sv_plan *plan)
{
  remove_sockets (plan);
  struct sv_buf b = { 0 };
  if (plan->qmp_path)
    {
      sv_buf_add_shell_word (&b, plan->qmp_path);
      sv_log ("QMP socket: %s", b.data);
      sv_buf_free (&b);
    }
  if (plan->vnc_path)
    {
      sv_buf_add_shell_word (&b, plan->vnc_path);
      sv_log ("VNC socket: %s", b.data);
      sv_buf_free (&b);
    }
}

/* Put the tap fds where the argv expects them (SV_TAP_FD_BASE+i) without
 * CLOEXEC.  Async-signal-safe: runs between fork and exec.  Sources are
 * first moved above the target range so no dup2 clobbers a tap that has
 * not been moved yet; dup2 leaves the new fd without FD_CLOEXEC. */
static int
move_tap_fds (const int *tap_fds, size_t n)
{
  int tmp[SV_MAX_IFACES];
  if (n > SV_MAX_IFACES)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      tmp[i] = fcntl (tap_fds[i], F_DUPFD_CLOEXEC, SV_TAP_FD_BASE + (int)n);
      if (tmp[i] < 0)
        return -1;
    }
  for (size_t i = 0; i < n; i++)
    {
      if (dup2 (tmp[i], SV_TAP_FD_BASE + (int)i) < 0)
        return -1;
      close (tmp[i]);
    }
  return 0;
}

static int
exec_qemu (const struct sv_plan *plan, const int *tap_fds, sv_error_t *err)
{
  if (move_tap_fds (tap_fds, plan->n_taps) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "passing tap fds to QEMU");
  fflush (NULL);
  execvp (plan->qemu_argv[0], plan->qemu_argv);
  return sv_error_errno (err, SV_EXIT_ENV, errno, "running %s", plan->qemu_argv[0]);
}

/* ---- staying small ----
 * The supervisor waits for months with a few syscalls, but the config
 * parser, libnl and libyaml touched a lot of read-only code and data on
 * the way (and fault-around maps 64 KiB per touch): about 1 MiB of RSS,
 * counted as private in a container where nothing else maps these files.
 * Dropping those clean file pages from our page tables costs nothing: what
 * the loop uses faults back in from the page cache.  Only read-only
 * PT_LOAD segments qualify, minus PT_GNU_RELRO (relocated, so anonymous
 * copies: dropping them would revert the GOT to the file's contents), and
 * never an object with text relocations. */

static bool
has_textrel (const struct dl_phdr_info *info)
{
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_DYNAMIC)
        continue;
      for (const ElfW (Dyn) *d = (const ElfW (Dyn) *)(info->dlpi_addr + ph->p_vaddr);
           d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
          return true;
    }
  return false;
}

static void
drop_range (uintptr_t start, uintptr_t end, uintptr_t keep_start, uintptr_t keep_end)
{
  /* [start,end) minus [keep_start,keep_end), both page-aligned. */
  if (keep_end <= start || keep_start >= end)
    {
      madvise ((void *)start, end - start, MADV_DONTNEED);
      return;
    }
  if (keep_start > start)
    madvise ((void *)start, keep_start - start, MADV_DONTNEED);
  if (keep_end < end)
    madvise ((void *)keep_end, end - keep_end, MADV_DONTNEED);
}

static int
drop_object_pages (struct dl_phdr_info *info, size_t size, void *data)
{
  uintptr_t page = (uintptr_t)sysconf (_SC_PAGESIZE);
  uintptr_t relro_start = 0, relro_end = 0;
  (void)size;
  (void)data;
  if (info->dlpi_name && strncmp (info->dlpi_name, "linux-vdso", 10) == 0)
    return 0;
  if (has_textrel (info))
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type == PT_GNU_RELRO)
        {
          /* Rounded outward: a page holding any relocated byte stays. */
          relro_start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
          relro_end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
        }
    }
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
        continue;
      /* Only the file-backed part (filesz); the start rounded up and the
       * end rounded down, so no page shared with a writable segment. */
      uintptr_t start = (info->dlpi_addr + ph->p_vaddr + page - 1) & ~(page - 1);
      uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_filesz) & ~(page - 1);
      if (end > start)
        drop_range (start, end, relro_start, relro_end);
    }
  return 0;
}

static void
shrink_to_supervisor (void)
{
  /* Heap freed by startup (config tree, netlink caches) goes back too. */
  malloc_trim (0);
  dl_iterate_phdr (drop_object_pages, NULL);
}

enum phase
{
  PHASE_RUNNING,
  PHASE_POWERDOWN, /* system_powerdown wanted or sent; deadline = shutdown.timeout */
  PHASE_TERM,      /* SIGTERM sent to QEMU; deadline = SIGKILL */
  PHASE_KILL,      /* SIGKILL sent */
  PHASE_SAVED, /* suspend: the state is saved, QEMU asked to quit; deadline = shutdown.timeout */
};

struct super
{
  const struct sv_vm_config *cfg;
  const struct sv_plan *plan;
  int sfd;
  pid_t parent;
  pid_t qemu;
  int qemu_status;
  bool qemu_done;
  pid_t dnsmasq;
  int dnsmasq_restarts;
  pid_t swtpm;
  bool swtpm_gone;                /* swtpm ended while QEMU ran */
  char swtpm_what[64];            /* how it ended */
  bool swtpm_lost;                /* ...and the guest was running: the stop is ours */
  pid_t virtiofsd[SV_MAX_SHARES]; /* plan->virtiofsd[i]'s, 0 once reaped */
  /* Which helper the swtpm_* fields above describe: swtpm, or a share's
   * virtiofsd ("virtiofsd of share TAG"); what the guest lost; the exit
   * status. */
  char gone_name[64];
  const char *gone_loss;
  int gone_exit;
  struct sv_dnsmasq_log *dlog;     /* NULL when no dnsmasq */
  struct sv_status_keeper *status; /* never NULL */
  enum phase phase;
  int64_t deadline; /* for the phase; -1 = none */
  int64_t stop_started;
  bool powerdown_sent;
  int64_t qmp_retry_at;
  bool qmp_failure_logged;
  bool winding_down; /* QEMU is gone or going: no more dnsmasq restarts */
  bool hard;         /* stopped by us without the guest's consent */
  int hard_signal;   /* last signal we sent QEMU in a hard stop */
  int64_t save_ms;   /* suspend: how long the save took */
  size_t relink_n;   /* resumed onto a new address: NICs whose links are down */
  int64_t relink_at; /* ...until then (0: none down) */
  uint64_t save_bytes;
};

static void
restart_dnsmasq (struct super *s)
{
  cleanup_error sv_error_t err = NULL;
  if (s->dnsmasq_restarts >= DNSMASQ_MAX_RESTARTS)
    {
      sv_log ("dnsmasq: not restarting it again; the VM keeps its current lease");
      return;
    }
  s->dnsmasq_restarts++;
  pid_t pid = 0;
  if (sv_dnsmasq_start (s->plan, s->dlog ? s->dlog->wfd : -1, &pid, &err) < 0)
    {
      sv_log ("dnsmasq: restart failed: %s", err->msg);
      return;
    }
  s->dnsmasq = pid;
  sv_log ("dnsmasq: restarted (pid %d)", (int)pid);
}

static void on_swtpm_gone (struct super *s, bool clean);

static void
describe_status (int st, char *buf, size_t len)
{
  if (WIFSIGNALED (st))
    snprintf (buf, len, "killed by signal %d (%s)", WTERMSIG (st), strsignal (WTERMSIG (st)));
  else
    snprintf (buf, len, "exited with status %d", WEXITSTATUS (st));
}

/* Reap every child that has ended: we may be PID 1 and inherit zombies. */
static void
reap_children (struct super *s)
{
  for (;;)
    {
      int st;
      pid_t pid = waitpid (-1, &st, WNOHANG);
      if (pid <= 0)
        return; /* 0: none ready; -1: ECHILD (EINTR cannot happen with WNOHANG) */
      if (pid == s->qemu)
        {
          s->qemu_done = true;
          s->qemu_status = st;
        }
      else if (pid == s->dnsmasq)
        {
          char what[64];
          s->dnsmasq = 0;
          describe_status (st, what, sizeof what);
          if (s->qemu_done || s->winding_down || s->phase != PHASE_RUNNING)
            continue;
          sv_log ("dnsmasq %s while the VM runs", what);
          restart_dnsmasq (s);
        }
      else if (pid == s->swtpm)
        {
          s->swtpm = 0;
          if (s->qemu_done || s->winding_down)
            continue;
          if (!s->swtpm_gone)
            {
              snprintf (s->gone_name, sizeof s->gone_name, "swtpm");
              s->gone_loss = "its TPM";
              s->gone_exit = SV_EXIT_TPM_LOST;
            }
          s->swtpm_gone = true;
          describe_status (st, s->swtpm_what, sizeof s->swtpm_what);
          on_swtpm_gone (s, WIFEXITED (st) && WEXITSTATUS (st) == 0);
        }
      else
        for (size_t i = 0; i < s->plan->n_virtiofsd; i++)
          if (pid == s->virtiofsd[i])
            {
              /* Like swtpm: QEMU's exit makes it quit (status 0) too. */
              s->virtiofsd[i] = 0;
              if (s->qemu_done || s->winding_down || s->swtpm_gone)
                break;
              snprintf (s->gone_name, sizeof s->gone_name, "virtiofsd of share %s",
                        s->plan->virtiofsd[i].tag);
              s->gone_loss = "a share";
              s->gone_exit = SV_EXIT_SHARE_LOST;
              s->swtpm_gone = true;
              describe_status (st, s->swtpm_what, sizeof s->swtpm_what);
              on_swtpm_gone (s, WIFEXITED (st) && WEXITSTATUS (st) == 0);
              break;
            }
    }
}

static void announce_tpm_lost (struct super *s);

static void
hard_stop (struct super *s, int sig)
{
  if (s->qemu_done)
    return;
  if (s->swtpm_gone)
    announce_tpm_lost (s);
  s->hard = true;
  s->hard_signal = sig;
  kill (s->qemu, sig);
  if (sig == SIGKILL)
    {
      s->phase = PHASE_KILL;
      s->deadline = -1;
    }
  else
    {
      s->phase = PHASE_TERM;
      s->deadline = sv_now_ms () + KILL_GRACE_MS;
    }
}

/* shutdown.mode suspend: save the guest, then let QEMU quit.  True when
 * saved; false after logging why not (the caller goes on with ACPI). */
/* The links taken down after a resume onto a new address come up. */
static void
relink_up (struct super *s)
{
  cleanup_error sv_error_t err = NULL;
  s->relink_at = 0;
  if (sv_suspend_set_links (s->plan, s->relink_n, true, sv_now_ms () + 2000, &err) < 0)
    sv_log ("suspend: setting the guest's links up: %s", err->msg);
  else
    sv_log ("suspend: the guest's links are up again: its DHCP client asks for its new address");
}

static bool
try_suspend (struct super *s, const char *name)
{
  cleanup_error sv_error_t err = NULL;
  if (s->relink_at > 0)
    relink_up (s);
  char t[32];
  int64_t budget = (int64_t)s->cfg->shutdown.timeout_ms * 3 / 4;
  sv_format_duration ((uint64_t)budget, t, sizeof t);
  sv_log ("SIG%s: saving the guest to %s/vmstate (suspend), within %s", name, s->plan->data_dir, t);
  if (sv_suspend_save (s->plan, -1, s->stop_started + budget, &s->save_bytes, &err) == 0)
    {
      s->save_ms = sv_now_ms () - s->stop_started;
      s->phase = PHASE_SAVED;
      s->deadline = s->stop_started + (int64_t)s->cfg->shutdown.timeout_ms;
      return true;
    }
  struct sv_buf b = { 0 };
  sv_buf_add_escaped (&b, err->msg, SV_ESC_VALUE);
  sv_log ("suspend: the save failed (%s): nothing was kept; falling back to the ACPI power-off",
          b.data);
  sv_buf_free (&b);
  return false;
}

static void
on_stop_signal (struct super *s, int sig)
{
  char t[32];
  const char *name = sigabbrev_np (sig);
  switch (s->phase)
    {
    case PHASE_RUNNING:
      s->stop_started = sv_now_ms ();
      sv_status_keeper_phase (s->status, SV_PHASE_STOPPING);
      if (sig == SIGQUIT)
        {
          sv_log ("SIGQUIT: stopping QEMU now (SIGTERM), without asking the guest");
          hard_stop (s, SIGTERM);
          return;
        }
      if (s->plan->control_path == NULL)
        {
          /* No control socket: no way to ask the guest; QEMU quits at
           * once on SIGTERM (its own handler), like the original RancherVM. */
          sv_log ("SIG%s: no QMP control socket: passing SIGTERM to QEMU", name);
          kill (s->qemu, SIGTERM);
          s->phase = PHASE_TERM;
          s->deadline = s->stop_started + KILL_GRACE_MS;
          return;
        }
      if (s->cfg->shutdown.mode == SV_SHUTDOWN_SUSPEND && try_suspend (s, name))
        return;
      sv_format_duration (s->cfg->shutdown.timeout_ms, t, sizeof t);
      sv_log ("SIG%s: asking the guest to power off (ACPI), waiting up to %s", name, t);
      s->phase = PHASE_POWERDOWN;
      s->deadline = s->stop_started + (int64_t)s->cfg->shutdown.timeout_ms;
      s->qmp_retry_at = 0;
      return;
    case PHASE_POWERDOWN:
    case PHASE_SAVED:
      sv_log ("SIG%s during the graceful stop: stopping QEMU now (SIGTERM)", name);
      hard_stop (s, SIGTERM);
      return;
    case PHASE_TERM:
      sv_log ("SIG%s while QEMU quits: killing it (SIGKILL)", name);
      hard_stop (s, SIGKILL);
      return;
    case PHASE_KILL:
      return;
    }
}

static void
announce_tpm_lost (struct super *s)
{
  if (s->swtpm_lost)
    return;
  s->swtpm_lost = true;
  sv_log ("%s %s while the VM runs: the guest lost %s; stopping the VM (exit status %d)",
          s->gone_name, s->swtpm_what, s->gone_loss, s->gone_exit);
}

/* swtpm ended while QEMU runs.  QEMU itself tells swtpm to quit
 * (CMD_SHUTDOWN, status 0) when it exits after a guest power-off, and
 * swtpm quits with the same 0 on SIGTERM, so a clean exit alone does not
 * say which.  Either way the VM is stopped as SIGTERM would (the guest
 * gets to power off and flush its disks); only a QEMU that still answers
 * QMP (the power button was pressed) or has to be stopped by force had
 * lost its TPM.  A QEMU that was already exiting never answers, and
 * keeps its own status.  With tpm, control_path is always set (config
 * refuses tpm with shutdown.mode exec). */
static void
on_swtpm_gone (struct super *s, bool clean)
{
  if (!clean)
    announce_tpm_lost (s);
  if (s->phase != PHASE_RUNNING)
    return; /* already stopping */
  s->stop_started = sv_now_ms ();
  sv_status_keeper_phase (s->status, SV_PHASE_STOPPING);
  if (s->plan->control_path == NULL)
    {
      announce_tpm_lost (s);
      kill (s->qemu, SIGTERM);
      s->phase = PHASE_TERM;
      s->deadline = s->stop_started + KILL_GRACE_MS;
      return;
    }
  s->phase = PHASE_POWERDOWN;
  s->deadline = s->stop_started + (int64_t)s->cfg->shutdown.timeout_ms;
  s->qmp_retry_at = 0;
}

/* One attempt at system_powerdown.  Interrupted by a signal (EINTR), or
 * QEMU not listening yet: retried by the loop. */
static void
try_powerdown (struct super *s)
{
  cleanup_error sv_error_t err = NULL;
  struct sv_qmp q;
  sv_qmp_init (&q, s->sfd);
  /* The control socket, never the user's: QEMU serves one client per
   * QMP socket, and a user attached to qmp must not block the stop. */
  int r = sv_qmp_connect (&q, s->plan->control_path, s->deadline, &err);
  if (r == 0)
    r = sv_qmp_execute (&q, "system_powerdown", s->deadline, NULL, &err);
  sv_qmp_close (&q);
  if (r == 0)
    {
      s->powerdown_sent = true;
      if (s->swtpm_gone)
        announce_tpm_lost (s);
      return;
    }
  if (err->source == SV_SRC_ERRNO && err->code == EINTR)
    return;
  s->qmp_retry_at = sv_now_ms () + QMP_RETRY_MS;
  /* ENOENT/ECONNREFUSED: QEMU is still starting; not worth a line. */
  bool starting = err->source == SV_SRC_ERRNO && (err->code == ENOENT || err->code == ECONNREFUSED);
  if (!starting && !s->qmp_failure_logged)
    {
      sv_log ("%s", err->msg);
      s->qmp_failure_logged = true;
    }
}

static void
on_deadline (struct super *s)
{
  char t[32];
  switch (s->phase)
    {
    case PHASE_POWERDOWN:
      sv_format_duration (s->cfg->shutdown.timeout_ms, t, sizeof t);
      sv_log ("the guest did not power off within %s (shutdown.timeout): stopping QEMU (SIGTERM)",
              t);
      hard_stop (s, SIGTERM);
      break;
    case PHASE_SAVED:
      sv_log ("QEMU did not quit after the save within shutdown.timeout: stopping it (SIGTERM)");
      hard_stop (s, SIGTERM);
      break;
    case PHASE_TERM:
      sv_log ("QEMU did not quit within %d ms of SIGTERM: killing it (SIGKILL)", KILL_GRACE_MS);
      hard_stop (s, SIGKILL);
      break;
    default:
      s->deadline = -1;
      break;
    }
}

/* Read every queued signal.  Returns -1 on a signalfd error. */
static int
drain_signals (struct super *s)
{
  for (;;)
    {
      struct signalfd_siginfo si;
      ssize_t r = read (s->sfd, &si, sizeof si);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && errno == EAGAIN)
        return 0;
      if (r != (ssize_t)sizeof si)
        return -1;
      if (si.ssi_signo == SIGCHLD)
        reap_children (s);
      else
        on_stop_signal (s, (int)si.ssi_signo);
    }
}

static int64_t
next_wakeup (const struct super *s)
{
  int64_t t = s->deadline;
  if (s->phase == PHASE_POWERDOWN && !s->powerdown_sent && (t < 0 || s->qmp_retry_at < t))
    t = s->qmp_retry_at;
  if (s->relink_at > 0 && s->phase == PHASE_RUNNING && (t < 0 || s->relink_at < t))
    t = s->relink_at;
  return t;
}

/* Wait for QEMU to end, acting on signals.  Returns -1 only when the
 * signalfd breaks, after killing QEMU. */
static int
supervise (struct super *s)
{
  while (!s->qemu_done)
    {
      if (s->phase == PHASE_POWERDOWN && !s->powerdown_sent && sv_now_ms () >= s->qmp_retry_at)
        try_powerdown (s);
      if (s->relink_at > 0 && s->phase == PHASE_RUNNING && sv_now_ms () >= s->relink_at)
        relink_up (s);

      int64_t wake = next_wakeup (s);
      int timeout = -1;
      if (wake >= 0)
        {
          int64_t left = wake - sv_now_ms ();
          timeout = left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
        }
      struct pollfd p[3] = { { .fd = s->sfd, .events = POLLIN } };
      nfds_t n = 1;
      if (s->dlog && sv_dnsmasq_log_want_read (s->dlog))
        p[n++] = (struct pollfd){ .fd = s->dlog->rfd, .events = POLLIN };
      if (s->dlog && sv_dnsmasq_log_want_write (s->dlog))
        p[n++] = (struct pollfd){ .fd = s->dlog->out_fd, .events = POLLOUT };
      int r = poll (p, n, timeout);
      if (r < 0 && errno != EINTR)
        goto broken;
      if (r > 0 && s->dlog)
        sv_dnsmasq_log_pump (s->dlog);
      if (r > 0 && (p[0].revents & POLLIN) && drain_signals (s) < 0)
        goto broken;
      if (!s->qemu_done && s->deadline >= 0 && sv_now_ms () >= s->deadline)
        on_deadline (s);
    }
  return 0;

broken:
  sv_log ("signalfd failed (%s): killing QEMU", strerror (errno));
  kill (s->qemu, SIGKILL);
  return -1;
}

/* QEMU is gone: its helpers must not outlive it.  SIGTERM, a short
 * wait (reaping whatever ends meanwhile; reap_children zeroes *pidp),
 * then SIGKILL. */
static void
stop_helper (struct super *s, pid_t *pidp, const char *name, int grace_ms)
{
  if (*pidp <= 0)
    return;
  kill (*pidp, SIGTERM);
  int64_t deadline = sv_now_ms () + grace_ms;
  while (*pidp > 0)
    {
      int64_t left = deadline - sv_now_ms ();
      if (left <= 0)
        {
          sv_log ("%s did not quit within %d ms of SIGTERM: killing it", name, grace_ms);
          kill (*pidp, SIGKILL);
          int st;
          TEMP_FAILURE_RETRY (waitpid (*pidp, &st, 0));
          *pidp = 0;
          break;
        }
      struct pollfd p = { .fd = s->sfd, .events = POLLIN };
      /* dnsmasq may be blocked writing its last lines: keep reading. */
      if (s->dlog)
        sv_dnsmasq_log_pump (s->dlog);
      if (poll (&p, 1, (int)(left > 50 ? 50 : left)) > 0)
        {
          /* Only SIGCHLD matters now; stop signals are already acted on. */
          struct signalfd_siginfo si;
          while (read (s->sfd, &si, sizeof si) == (ssize_t)sizeof si)
            ;
          reap_children (s);
        }
    }
}

static void
stop_helpers (struct super *s)
{
  stop_helper (s, &s->dnsmasq, "dnsmasq", DNSMASQ_GRACE_MS);
  stop_helper (s, &s->swtpm, "swtpm", SWTPM_GRACE_MS);
  for (size_t i = 0; i < s->plan->n_virtiofsd; i++)
    stop_helper (s, &s->virtiofsd[i], "virtiofsd", SWTPM_GRACE_MS);
}

static int
exit_status (struct super *s)
{
  int st = s->qemu_status;
  int code = WIFSIGNALED (st) ? 128 + WTERMSIG (st) : WEXITSTATUS (st);
  char what[64];
  describe_status (st, what, sizeof what);
  if (s->swtpm_lost)
    {
      char msg[96];
      snprintf (msg, sizeof msg, "%s died while the VM ran", s->gone_name);
      sv_log ("QEMU %s; exit status %d: %s", what, s->gone_exit, msg);
      sv_status_keeper_failed (s->status, msg, s->gone_exit);
      return s->gone_exit;
    }
  if (s->hard)
    {
      /* QEMU handles SIGTERM by quitting with 0: the guest did not agree
       * to stop, so the status must still say it was stopped. */
      if (code == 0)
        code = 128 + s->hard_signal;
      sv_log ("hard stop: QEMU %s after SIG%s; exit status %d", what, sigabbrev_np (s->hard_signal),
              code);
    }
  else if (s->phase == PHASE_POWERDOWN && s->powerdown_sent && code == 0)
    sv_log ("the guest powered off after %.1f s",
            (double)(sv_now_ms () - s->stop_started) / 1000.0);
  else if (code != 0)
    sv_log ("QEMU %s", what);
  /* Asked to stop, or the guest powered off: stopped.  QEMU ending with
   * an error on its own (a bad option, a crash): failed. */
  if (s->stop_started > 0 || code == 0)
    sv_status_keeper_stopped (s->status, code);
  else
    {
      char msg[96];
      snprintf (msg, sizeof msg, "QEMU %s", what);
      sv_status_keeper_failed (s->status, msg, code);
    }
  return code;
}

/* QEMU ended after a save: keep the state only when it quit as asked. */
static int
finish_suspend (struct super *s)
{
  cleanup_error sv_error_t err = NULL;
  int st = s->qemu_status;
  if (s->hard || !WIFEXITED (st) || WEXITSTATUS (st) != 0)
    {
      sv_suspend_discard (s->plan);
      sv_log ("suspend: QEMU did not quit cleanly after the save: the state was not kept");
      return exit_status (s);
    }
  if (sv_suspend_commit (s->cfg, s->plan, (uint64_t)s->save_ms, &err) < 0)
    {
      sv_log ("suspend: %s: the state was not kept", err->msg);
      sv_status_keeper_failed (s->status, err->msg, 1);
      return 1;
    }
  sv_log ("suspend: saved the guest to %s/vmstate (%.1f MB in %.2f s)", s->plan->data_dir,
          (double)s->save_bytes / 1e6, (double)s->save_ms / 1000.0);
  sv_status_keeper_suspended (s->status);
  sv_status_keeper_stopped (s->status, 0);
  return 0;
}

/* Child side of fork: only async-signal-safe calls. */
static void __attribute__ ((noreturn))
child_exec (const struct sv_plan *plan, char **argv, const int *tap_fds, const sigset_t *mask,
            int errfd, pid_t parent)
{
  int e;
  /* If startvm dies (SIGKILL), QEMU gets SIGTERM and quits cleanly
   * instead of running on unsupervised. */
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != parent)
    _exit (127);
  /* Keep the error pipe out of the tap fd range before moving taps. */
  errfd = fcntl (errfd, F_DUPFD_CLOEXEC, SV_TAP_FD_BASE + (int)plan->n_taps);
  if (errfd < 0 || move_tap_fds (tap_fds, plan->n_taps) < 0)
    goto fail;
  if (sigprocmask (SIG_SETMASK, mask, NULL) < 0)
    goto fail;
  execvp (argv[0], argv);
fail:
  e = errno;
  if (errfd >= 0)
    (void)!write (errfd, &e, sizeof e);
  _exit (127);
}

/* Fork and exec QEMU with argv (the plan's, or the plan's with -incoming).
 * On failure the helpers are stopped and the signal mask restored, as
 * when QEMU cannot start at all. */
static int
start_qemu (struct super *s, char **argv, const int *tap_fds, const sigset_t *old, sv_error_t *err)
{
  const struct sv_plan *plan = s->plan;
  int pfd[2];
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, old, NULL);
      return sv_error_errno (err, SV_EXIT_ENV, e, "pipe");
    }
  fflush (NULL);
  s->qemu = fork ();
  if (s->qemu < 0)
    {
      int e = errno;
      close (pfd[0]);
      close (pfd[1]);
      sigprocmask (SIG_SETMASK, old, NULL);
      return sv_error_errno (err, SV_EXIT_ENV, e, "fork");
    }
  if (s->qemu == 0)
    child_exec (plan, argv, tap_fds, old, pfd[1], s->parent);
  close (pfd[1]);
  int child_errno = 0;
  ssize_t n = TEMP_FAILURE_RETRY (read (pfd[0], &child_errno, sizeof child_errno));
  close (pfd[0]);
  if (n == (ssize_t)sizeof child_errno)
    {
      int st;
      TEMP_FAILURE_RETRY (waitpid (s->qemu, &st, 0));
      s->qemu_done = true;
      s->winding_down = true;
      stop_helpers (s);
      if (s->dlog)
        sv_dnsmasq_log_finish (s->dlog, DNSMASQ_GRACE_MS);
      remove_swtpm_socket (plan);
      sigprocmask (SIG_SETMASK, old, NULL);
      return sv_error_errno (err, SV_EXIT_ENV, child_errno, "running %s", argv[0]);
    }
  return 0;
}

int
sv_run_qemu (const struct sv_vm_config *cfg, const struct sv_plan *plan, const int *tap_fds,
             pid_t dnsmasq_pid, pid_t swtpm_pid, const pid_t *virtiofsd_pids,
             struct sv_dnsmasq_log *dlog, struct sv_status_keeper *status, struct sv_resume *resume,
             sv_error_t *err)
{
  announce_sockets (plan);
  if (cfg->shutdown.mode == SV_SHUTDOWN_EXEC)
    {
      /* Nobody will update the file: it says so (supervised: false). */
      sv_status_keeper_qemu_started (status, false);
      return exec_qemu (plan, tap_fds, err);
    }

  struct super s = {
    .cfg = cfg,
    .plan = plan,
    .sfd = -1,
    .parent = getpid (),
    .dnsmasq = dnsmasq_pid,
    .swtpm = swtpm_pid,
    .dlog = dlog,
    .status = status,
    .phase = PHASE_RUNNING,
    .deadline = -1,
  };
  for (size_t i = 0; i < plan->n_virtiofsd && i < SV_MAX_SHARES; i++)
    s.virtiofsd[i] = virtiofsd_pids[i];
  sigset_t mask, old;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGQUIT);
  sigaddset (&mask, SIGHUP);
  if (sigprocmask (SIG_BLOCK, &mask, &old) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "blocking signals");
  cleanup_close int sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, &old, NULL);
      return sv_error_errno (err, SV_EXIT_ENV, e, "signalfd");
    }
  s.sfd = sfd;
  /* Outside a container (tests, a plain shell) orphans would go to the
   * real init; make them ours so "reap every child" holds everywhere. */
  if (getpid () != 1)
    prctl (PR_SET_CHILD_SUBREAPER, 1);

  char **argv = plan->qemu_argv;
  cleanup_free char **resume_argv = NULL;
  if (resume && resume->fd >= 0)
    {
      /* QEMU waits for the state, loaded over QMP (sv_resume_run). */
      resume_argv = sv_xcalloc (plan->qemu_argc + 3, sizeof *resume_argv);
      memcpy (resume_argv, plan->qemu_argv, plan->qemu_argc * sizeof *resume_argv);
      resume_argv[plan->qemu_argc] = (char *)"-incoming";
      resume_argv[plan->qemu_argc + 1] = (char *)"defer";
      argv = resume_argv;
    }
  if (start_qemu (&s, argv, tap_fds, &old, err) < 0)
    return -1;
  if (argv == resume_argv)
    {
      cleanup_error sv_error_t rerr = NULL;
      if (sv_resume_run (resume, plan, -1, sv_now_ms () + RESUME_TIMEOUT_MS, &rerr) == 0)
        {
          sv_status_keeper_resumed (status, resume->n_links > 0);
          if (resume->n_links > 0)
            {
              cleanup_error sv_error_t lerr = NULL;
              s.relink_n = resume->n_links;
              if (sv_suspend_set_links (plan, s.relink_n, false, sv_now_ms () + 2000, &lerr) < 0)
                sv_log ("suspend: setting the guest's links down: %s", lerr->msg);
              else
                s.relink_at = sv_now_ms () + SV_RELINK_DOWN_MS;
            }
        }
      else
        {
          /* A failed incoming migration ends QEMU; one that hangs is
           * ended here.  Either way a second QEMU boots cold, with the
           * same tap fds (still open here). */
          int st = 0;
          pid_t w = 0;
          for (int i = 0; i < 20 && w == 0; i++)
            {
              w = waitpid (s.qemu, &st, WNOHANG);
              if (w == 0)
                poll (NULL, 0, 50);
            }
          char why[512], what[64];
          if (w == s.qemu)
            {
              describe_status (st, what, sizeof what);
              snprintf (why, sizeof why, "QEMU could not load the state (it %s; its words above)",
                        what);
            }
          else
            {
              kill (s.qemu, SIGKILL);
              TEMP_FAILURE_RETRY (waitpid (s.qemu, &st, 0));
              snprintf (why, sizeof why, "the state was not loaded (%s); QEMU was killed",
                        rerr->msg);
            }
          remove_sockets (plan);
          sv_resume_aside (resume, plan, why);
          if (start_qemu (&s, plan->qemu_argv, tap_fds, &old, err) < 0)
            return -1;
        }
    }
  sv_status_keeper_qemu_started (status, true);

  /* The supervisor only waits from here on. */
  shrink_to_supervisor ();

  /* A dnsmasq that died before the signalfd existed left no queued
   * SIGCHLD: look once. */
  reap_children (&s);
  int r = supervise (&s);
  if (!s.qemu_done)
    {
      int st;
      TEMP_FAILURE_RETRY (waitpid (s.qemu, &st, 0));
      s.qemu_done = true;
      s.qemu_status = st;
    }
  s.winding_down = true;
  stop_helpers (&s);
  reap_children (&s);
  if (dlog)
    sv_dnsmasq_log_finish (dlog, DNSMASQ_GRACE_MS);
  /* QEMU unlinks its QMP sockets when it quits but not the VNC one: no
   * socket nobody listens on may stay behind for a manager or a
   * `docker exec` to find. */
  remove_sockets (plan);
  remove_swtpm_socket (plan);
  if (r < 0)
    {
      if (s.phase == PHASE_SAVED)
        sv_suspend_discard (plan);
      return sv_error_errno (err, SV_EXIT_ENV, EIO, "supervising QEMU");
    }
  if (s.phase == PHASE_SAVED)
    return finish_suspend (&s);
  /* The signals stay blocked: a late SIGTERM must not replace QEMU's
   * status with "killed by SIGTERM" between here and exit(). */
  return exit_status (&s);
}
