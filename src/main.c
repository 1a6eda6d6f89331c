/* startvm: the VM container entrypoint.  Options, the pipeline, printing
 * the one error and choosing the exit code.  Nothing below main.c prints
 * errors or exits. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply_data.h"
#include "apply_disks.h"
#include "apply_net.h"
#include "apply_shares.h"
#include "cfg.h"
#include "cleanup.h"
#include "container_id.h"
#include "dnsmasq.h"
#include "dnsmasq_log.h"
#include "log.h"
#include "observe.h"
#include "plan.h"
#include "run_dir.h"
#include "status.h"
#include "status_cmd.h"
#include "status_file.h"
#include "supervise.h"
#include "util.h"

extern char **environ;

#define DEFAULT_CONFIG "/etc/ranchervm/vm.yaml"

struct options
{
  const char *config;
  bool config_explicit;
  bool dry_run;
  bool check;
  bool print_config;
  bool json;
  char **qemu_args; /* the CMD: appended verbatim to QEMU's argv */
};

static void
usage (FILE *f)
{
  fputs ("Usage: startvm [OPTIONS] [--] [QEMU ARGS...]\n"
         "       startvm status [--json] [--ready] [--config FILE | --state-dir DIR] [ID]\n"
         "       startvm schema --json\n"
         "\n"
         "Run a QEMU/KVM virtual machine that takes over this container's network.\n"
         "\n"
         "  --config FILE      vm.yaml to use (default: $RANCHERVM_CONFIG, else " DEFAULT_CONFIG
         ")\n"
         "  --dry-run          print the plan (QEMU command, network steps, dnsmasq.conf)\n"
         "                     and change nothing\n"
         "  --format text|json output format of --dry-run (default text)\n"
         "  --check            validate the configuration and exit\n"
         "  --print-config     print the merged configuration and where each value came from\n"
         "  --help, --version\n"
         "\n"
         "Arguments after the options are appended verbatim to QEMU's command line.\n"
         "Environment overrides: MEMORY, MEMORY_MB, CPUS, ACCEL, FIRMWARE, TPM, DISKS, SHARES,\n"
         "NO_DHCP, IP_PREFIX.\n"
         "Exit codes: 0 ok, 2 bad usage or config, 3 environment not usable,\n"
         "4 network handoff failed, 5 the TPM (swtpm) died while the VM ran,\n"
         "6 a share's virtiofsd died while the VM ran,\n"
         "otherwise QEMU's exit status.\n",
         f);
}

static int
parse_options (int argc, char **argv, struct options *o, sv_error_t *err)
{
  enum
  {
    OPT_CONFIG = 256,
    OPT_DRY_RUN,
    OPT_CHECK,
    OPT_PRINT_CONFIG,
    OPT_FORMAT,
    OPT_HELP,
    OPT_VERSION,
  };
  static const struct option longopts[] = {
    { "config", required_argument, NULL, OPT_CONFIG },
    { "dry-run", no_argument, NULL, OPT_DRY_RUN },
    { "check", no_argument, NULL, OPT_CHECK },
    { "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
    { "format", required_argument, NULL, OPT_FORMAT },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
  };
  int i = 1;
  while (i < argc)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          i++;
          break;
        }
      /* Single-dash words and plain words start the QEMU arguments, as in
       * the original RancherVM (CMD ["-cdrom", "/x.iso"]).  Unknown
       * double-dash words are our typos, not QEMU's. */
      if (strncmp (a, "--", 2) != 0)
        break;
      const char *name = a + 2;
      const char *eq = strchr (name, '=');
      size_t nlen = eq ? (size_t)(eq - name) : strlen (name);
      const struct option *opt = NULL;
      for (const struct option *p = longopts; p->name; p++)
        if (strlen (p->name) == nlen && strncmp (p->name, name, nlen) == 0)
          opt = p;
      if (opt == NULL)
        return sv_error_config (err,
                                "unknown option '%s' (see --help; put QEMU options after '--')", a);
      const char *val = NULL;
      if (opt->has_arg == required_argument)
        {
          if (eq)
            val = eq + 1;
          else if (i + 1 < argc)
            val = argv[++i];
          else
            return sv_error_config (err, "option '--%s' needs a value", opt->name);
        }
      else if (eq)
        return sv_error_config (err, "option '--%s' takes no value", opt->name);
      switch (opt->val)
        {
        case OPT_CONFIG:
          o->config = val;
          o->config_explicit = true;
          break;
        case OPT_DRY_RUN:
          o->dry_run = true;
          break;
        case OPT_CHECK:
          o->check = true;
          break;
        case OPT_PRINT_CONFIG:
          o->print_config = true;
          break;
        case OPT_FORMAT:
          if (strcmp (val, "json") == 0)
            o->json = true;
          else if (strcmp (val, "text") == 0)
            o->json = false;
          else
            return sv_error_config (err, "--format: '%s' is not a format (accepted: text, json)",
                                    val);
          break;
        case OPT_HELP:
          usage (stdout);
          exit (0);
        case OPT_VERSION:
          printf ("startvm %s\n", SV_VERSION);
          exit (0);
        }
      i++;
    }
  o->qemu_args = argv + i;
  if (o->json && !o->dry_run)
    return sv_error_config (err, "--format is only meaningful with --dry-run");
  if (o->config == NULL)
    {
      const char *env = getenv ("RANCHERVM_CONFIG");
      if (env && *env)
        {
          o->config = env;
          o->config_explicit = true;
        }
      else
        o->config = DEFAULT_CONFIG;
    }
  return 0;
}

static int
cmd_schema (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[2], "--json") == 0)
    {
      cleanup_free char *s = sv_schema_json ();
      fputs (s, stdout);
      return 0;
    }
  if (argc == 3 && strcmp (argv[2], "--markdown") == 0)
    {
      cleanup_free char *s = sv_schema_markdown ();
      fputs (s, stdout);
      return 0;
    }
  fprintf (stderr, "startvm: usage: startvm schema --json\n");
  return SV_EXIT_USAGE;
}

/* The log says what is done in --dry-run's words, values quoted the same
 * way (log.h). */
static void
print_warnings (const struct sv_plan *plan)
{
  for (size_t i = 0; i < plan->n_warnings; i++)
    {
      struct sv_buf b = { 0 };
      sv_buf_add_escaped (&b, plan->warnings[i], SV_ESC_VALUE);
      sv_log ("warning: %s", b.data);
      sv_buf_free (&b);
    }
}

static void
on_dnsmasq_line (void *ctx, const char *line, size_t len)
{
  sv_status_keeper_dhcp_line (ctx, line, len);
}

/* Performs the plan.  Returns startvm's exit status, or <0 with *err.
 * status is set up once the run directory exists; dlog is opened when
 * startvm supervises dnsmasq (both stay the caller's to finish). */
static int
run_plan (const struct sv_vm_config *cfg, const struct sv_host *host, const struct sv_plan *plan,
          int64_t started_ms, struct sv_status_keeper *status, struct sv_dnsmasq_log *dlog,
          struct sv_resume *resume, sv_error_t *err)
{
  int tap_fds[SV_MAX_IFACES];
  for (size_t i = 0; i < SV_MAX_IFACES; i++)
    tap_fds[i] = -1;
  pid_t dnsmasq_pid = 0;

  /* Check before changing anything. */
  if (plan->n_net_ops > 0 && sv_net_preflight (plan, err) < 0)
    return -1;
  if (sv_run_dir_prepare (plan->run_dir, err) < 0)
    return -1;
  sv_status_keeper_init (status, cfg, host, plan, started_ms);
  for (size_t i = 0; i < resume->mac_now.n; i++)
    sv_status_keeper_vm_mac (status, resume->mac_now.v[i], resume->mac_was.v[i]);
  sv_status_keeper_phase (status, SV_PHASE_STARTING);
  if (sv_data_apply (plan, err) < 0)
    return -1;
  for (size_t i = 0; i < plan->n_data_ops; i++)
    {
      struct sv_buf op = { 0 }, b = { 0 };
      sv_data_op_format (&plan->data_ops[i], &op);
      sv_buf_add_escaped (&b, op.data, SV_ESC_VALUE);
      sv_log ("%s", b.data);
      sv_buf_free (&op);
      sv_buf_free (&b);
    }
  if (sv_disks_apply (plan, err) < 0)
    return -1;
  /* What was done goes to the log (docker logs), in --dry-run's words. */
  for (size_t i = 0; i < plan->n_disk_ops; i++)
    {
      struct sv_buf b = { 0 };
      for (char **a = plan->disk_ops[i].argv; a && *a; a++)
        {
          if (a != plan->disk_ops[i].argv)
            sv_buf_addc (&b, ' ');
          sv_buf_add_shell_word (&b, *a);
        }
      sv_log ("%s", b.data ? b.data : "");
      sv_buf_free (&b);
    }
  if (plan->n_net_ops > 0)
    {
      if (sv_net_apply (plan, host, tap_fds, err) < 0)
        return sv_error_wrap (err, "network handoff");
      for (size_t i = 0; i < plan->n_net_ops; i++)
        {
          struct sv_buf op = { 0 }, b = { 0 };
          sv_net_op_format (&plan->net_ops[i], &op);
          sv_buf_add_escaped (&b, op.data, SV_ESC_VALUE);
          sv_log ("%s", b.data);
          sv_buf_free (&op);
          sv_buf_free (&b);
        }
    }
  if (plan->dnsmasq_argv)
    {
      bool supervised = cfg->shutdown.mode != SV_SHUTDOWN_EXEC;
      if (supervised && sv_dnsmasq_log_open (dlog, STDERR_FILENO, on_dnsmasq_line, status, err) < 0)
        return -1;
      if (sv_dnsmasq_start (plan, supervised ? dlog->wfd : -1, &dnsmasq_pid, err) < 0)
        return -1;
    }
  /* Last before QEMU: virtiofsd and swtpm must be listening when QEMU
   * connects, and nothing else that can fail comes between (sv_run_qemu
   * stops them). */
  pid_t virtiofsd_pids[SV_MAX_SHARES] = { 0 };
  if (sv_virtiofsd_start (plan, virtiofsd_pids, err) < 0)
    return -1;
  pid_t swtpm_pid = 0;
  if (plan->swtpm_argv && sv_swtpm_start (plan, &swtpm_pid, err) < 0)
    {
      sv_virtiofsd_stop (plan, virtiofsd_pids);
      return -1;
    }
  return sv_run_qemu (cfg, plan, tap_fds, dnsmasq_pid, swtpm_pid, virtiofsd_pids,
                      dlog->rfd >= 0 ? dlog : NULL, status, resume, err);
}

int
main (int argc, char **argv)
{
  cleanup_error sv_error_t err = NULL;
  struct options o = { 0 };
  struct sv_cfg_doc doc = { 0 };
  struct sv_vm_config cfg = { 0 };
  struct sv_plan plan = { 0 };
  struct sv_host *host = NULL;
  struct sv_status_keeper status = { 0 };
  struct sv_dnsmasq_log dlog = { .rfd = -1, .wfd = -1 };
  struct sv_resume resume = { .fd = -1 };
  int64_t started_ms = sv_status_now_ms ();
  int ret = 0;

  /* Line-buffered logs so `docker logs` interleaves them sensibly. */
  setvbuf (stderr, NULL, _IOLBF, 0);

  if (argc >= 2 && strcmp (argv[1], "schema") == 0)
    return cmd_schema (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "status") == 0)
    return sv_cmd_status (argc, argv);

  if (parse_options (argc, argv, &o, &err) < 0)
    goto fail;
  if (sv_cfg_build (o.config, o.config_explicit, environ, &doc, &cfg, &err) < 0)
    goto fail;
  if (o.print_config)
    {
      cleanup_free char *s = sv_cfg_print (&doc);
      fputs (s, stdout);
      goto out;
    }
  if (o.check)
    {
      cleanup_free char *warning = sv_vm_config_warning (&cfg);
      if (warning)
        sv_log ("warning: %s", warning);
      struct sv_buf b = { 0 };
      sv_buf_add_shell_word (&b, doc.file);
      sv_log ("%s: configuration is valid", b.data);
      sv_buf_free (&b);
      goto out;
    }

  host = sv_xcalloc (1, sizeof *host);
  if (sv_observe_host (&cfg, host, &err) < 0)
    goto fail;
  if (sv_plan_build (&cfg, host, o.qemu_args, &plan, &err) < 0)
    goto fail;

  if (o.dry_run)
    {
      cleanup_free char *s
          = o.json ? sv_plan_format_json (&plan, host) : sv_plan_format_text (&plan, host);
      fputs (s, stdout);
      goto out;
    }

  print_warnings (&plan);
  fflush (stdout);
  /* shutdown.mode suspend: resume or boot cold, decided before anything
   * is applied (a resume onto a new address changes dnsmasq.conf). */
  sv_suspend_prepare (&cfg, &plan, &resume);
  ret = run_plan (&cfg, host, &plan, started_ms, &status, &dlog, &resume, &err);
  if (ret < 0)
    goto fail;
  goto out;

fail:
  /* dnsmasq's own words about a failure come before startvm's. */
  sv_dnsmasq_log_finish (&dlog, 2000);
  sv_log ("%s", err ? err->msg : "unknown error");
  ret = sv_error_exit_code (err);
  sv_status_keeper_failed (&status, err ? err->msg : "unknown error", -1);
out:
  sv_resume_free (&resume);
  sv_dnsmasq_log_close (&dlog);
  sv_status_keeper_free (&status);
  sv_plan_free (&plan);
  sv_vm_config_free (&cfg);
  sv_cfg_doc_free (&doc);
  free (host);
  return ret;
}
