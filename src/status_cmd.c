/* `startvm status`: read status.json and print it for people (default),
 * programs (--json) or probes (--ready).  Like main.c, a command-line
 * front end: it prints and picks the exit code.
 *
 * Exit codes: 0 printed (--ready: the VM is ready), 1 (--ready) not
 * ready, 2 bad usage or config, 3 no status to read (missing, truncated,
 * not JSON, unwritable state directory). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cleanup.h"
#include "container_id.h"
#include "status_cmd.h"
#include "status_file.h"
#include "util.h"

extern char **environ;

#define EXIT_NOT_READY 1
#define EXIT_NO_STATUS 3

struct status_opts
{
  bool json, ready;
  const char *state_dir;
  const char *config;
  bool config_explicit;
  const char *id;
};

static void
status_usage (FILE *f)
{
  fputs ("Usage: startvm status [--json] [--ready] [--config FILE | --state-dir DIR] [ID]\n"
         "\n"
         "Print what the supervising startvm says about its VM (status.json).\n"
         "\n"
         "  --json             the file itself (docs/status.md), for programs\n"
         "  --ready            exit 0 only when the VM is ready (health checks, probes)\n"
         "  --config FILE      find the state directory as startvm does (vm.yaml's state_dir;\n"
         "                     default: $RANCHERVM_CONFIG, else /etc/ranchervm/vm.yaml)\n"
         "  --state-dir DIR    outside the container: DIR is a state directory (or one VM's\n"
         "                     directory in it); ID (or a unique prefix) picks the VM when\n"
         "                     DIR holds several\n"
         "\n"
         "Inside the container the VM is this container (its id).\n"
         "Exit codes: 0 ok (--ready: ready), 1 not ready, 2 bad usage, 3 no status to read.\n",
         f);
}

static int
parse_status_opts (int argc, char **argv, struct status_opts *o)
{
  for (int i = 2; i < argc; i++)
    {
      const char *a = argv[i];
      const char **dst = NULL;
      if (strcmp (a, "--json") == 0)
        o->json = true;
      else if (strcmp (a, "--ready") == 0)
        o->ready = true;
      else if (strcmp (a, "--help") == 0)
        {
          status_usage (stdout);
          exit (0);
        }
      else if (strcmp (a, "--config") == 0 || strncmp (a, "--config=", 9) == 0)
        dst = &o->config;
      else if (strcmp (a, "--state-dir") == 0 || strncmp (a, "--state-dir=", 12) == 0)
        dst = &o->state_dir;
      else if (a[0] == '-')
        {
          fprintf (stderr, "startvm status: unknown option '%s' (see startvm status --help)\n", a);
          return -1;
        }
      else if (o->id == NULL)
        o->id = a;
      else
        {
          fprintf (stderr, "startvm status: one VM at a time ('%s' and '%s')\n", o->id, a);
          return -1;
        }
      if (dst)
        {
          const char *eq = strchr (a, '=');
          if (eq)
            *dst = eq + 1;
          else if (i + 1 < argc)
            *dst = argv[++i];
          else
            {
              fprintf (stderr, "startvm status: option '%s' needs a value\n", a);
              return -1;
            }
          if (**dst == '\0')
            {
              fprintf (stderr, "startvm status: option '%.*s' needs a value\n",
                       (int)strcspn (a, "="), a);
              return -1;
            }
        }
    }
  if (o->config && o->state_dir)
    {
      fprintf (stderr, "startvm status: --config and --state-dir exclude each other\n");
      return -1;
    }
  if (o->config)
    o->config_explicit = true;
  else
    {
      const char *env = getenv ("RANCHERVM_CONFIG");
      o->config_explicit = env && *env;
      o->config = o->config_explicit ? env : "/etc/ranchervm/vm.yaml";
    }
  return 0;
}

static bool
is_file (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0 && !S_ISDIR (st.st_mode);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* --state-dir DIR [ID]: DIR/status.json (DIR is one VM's directory), else
 * DIR/ID/status.json, else the one subdirectory whose name starts with
 * ID (or any, without ID) and holds a status.json.  Returns 0 with *path,
 * or the exit code. */
static int
find_in_state_dir (const char *dir, const char *id, char **path)
{
  cleanup_free char *direct = NULL;
  if (asprintf (&direct, "%s/%s", dir, SV_STATUS_FILE) < 0)
    abort ();
  if (id == NULL && is_file (direct))
    {
      *path = steal_pointer (&direct);
      return 0;
    }
  if (id && strchr (id, '/'))
    {
      fprintf (stderr, "startvm status: '%s' is not a container id\n", id);
      return SV_EXIT_USAGE;
    }
  DIR *d = opendir (dir);
  if (d == NULL)
    {
      if (errno == ENOENT)
        fprintf (stderr, "startvm status: no status: %s does not exist\n", dir);
      else
        fprintf (stderr, "startvm status: no status: %s: %s\n", dir, strerror (errno));
      return EXIT_NO_STATUS;
    }
  struct sv_strv found = { 0 };
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      if (id && strncmp (e->d_name, id, strlen (id)) != 0)
        continue;
      cleanup_free char *p = NULL;
      if (asprintf (&p, "%s/%s/%s", dir, e->d_name, SV_STATUS_FILE) < 0)
        abort ();
      if (!is_file (p))
        continue;
      /* An exact id wins over longer names that share its prefix. */
      if (id && strcmp (e->d_name, id) == 0)
        {
          sv_strv_free (&found);
          sv_strv_add (&found, p);
          break;
        }
      sv_strv_add (&found, p);
    }
  closedir (d);
  if (found.n == 1)
    {
      *path = sv_xstrdup (found.v[0]);
      sv_strv_free (&found);
      return 0;
    }
  if (found.n == 0)
    {
      if (id)
        fprintf (stderr, "startvm status: no status: no VM '%s' under %s\n", id, dir);
      else
        fprintf (stderr, "startvm status: no status: no %s in %s or its subdirectories\n",
                 SV_STATUS_FILE, dir);
      return EXIT_NO_STATUS;
    }
  qsort (found.v, found.n, sizeof found.v[0], cmp_str);
  fprintf (stderr, "startvm status: %zu VMs under %s: name one (a container id or prefix):\n",
           found.n, dir);
  for (size_t i = 0; i < found.n; i++)
    {
      char *slash = strrchr (found.v[i], '/');
      *slash = '\0';
      fprintf (stderr, "  %s\n", strrchr (found.v[i], '/') + 1);
    }
  sv_strv_free (&found);
  return SV_EXIT_USAGE;
}

/* Inside the container: vm.yaml's state_dir and this container's id, as
 * startvm found them. */
static int
find_from_config (const struct status_opts *o, char **path)
{
  cleanup_error sv_error_t err = NULL;
  struct sv_cfg_doc doc = { 0 };
  struct sv_vm_config cfg = { 0 };
  if (sv_cfg_build (o->config, o->config_explicit, environ, &doc, &cfg, &err) < 0)
    {
      fprintf (stderr, "startvm status: %s\n", err->msg);
      sv_cfg_doc_free (&doc);
      return SV_EXIT_USAGE;
    }
  char id[128];
  if (o->id)
    snprintf (id, sizeof id, "%s", o->id);
  else
    sv_container_id (id, sizeof id);
  const char *sd = cfg.state_dir && cfg.state_dir[0] ? cfg.state_dir : "/ranchervm";
  int r = 0;
  if (o->id)
    r = find_in_state_dir (sd, o->id, path);
  else if (asprintf (path, "%s/%s/%s", sd, id, SV_STATUS_FILE) < 0)
    abort ();
  sv_vm_config_free (&cfg);
  sv_cfg_doc_free (&doc);
  return r;
}

/* Why there is no file: the run directory is missing (and can or cannot
 * be created: a read-only state directory), or the file is. */
static void
explain_missing (const char *path, int errnum)
{
  if (errnum != ENOENT)
    {
      fprintf (stderr, "startvm status: no status: %s: %s\n", path, strerror (errnum));
      return;
    }
  cleanup_free char *dir = sv_xstrdup (path);
  char *slash = strrchr (dir, '/');
  if (slash)
    *slash = '\0';
  /* The nearest directory that exists: if it is not writable, startvm
   * could not have written the file there (it says so on its stderr). */
  cleanup_free char *p = sv_xstrdup (dir);
  while (access (p, F_OK) < 0 && (slash = strrchr (p, '/')) != NULL && slash != p)
    *slash = '\0';
  if (access (p, W_OK) < 0 && errno != ENOENT)
    {
      fprintf (stderr,
               "startvm status: status unavailable: %s is not writable (%s), so startvm "
               "cannot keep %s there\n",
               p, strerror (errno), path);
      return;
    }
  if (access (dir, F_OK) < 0)
    fprintf (stderr,
             "startvm status: no status: %s does not exist (no startvm has run here with "
             "this state_dir and container id)\n",
             dir);
  else
    fprintf (stderr,
             "startvm status: no status: %s does not exist (startvm has not got that far)\n", path);
}

/* --ready: one line saying why, for the probe's log. */
static int
report_ready (FILE *out, const struct sv_status *st, bool gone)
{
  if (!st->supervised)
    {
      fputs ("not ready: not supervised (shutdown.mode exec): startvm cannot tell\n", out);
      return EXIT_NOT_READY;
    }
  if (gone && st->phase != SV_PHASE_STOPPED && st->phase != SV_PHASE_FAILED)
    {
      fprintf (out, "not ready: startvm (pid %d) is no longer running (it last said %s)\n", st->pid,
               sv_phase_name (st->phase));
      return EXIT_NOT_READY;
    }
  if (st->phase == SV_PHASE_READY)
    {
      fputs ("ready\n", out);
      return 0;
    }
  fprintf (out, "not ready: %s", sv_phase_name (st->phase));
  if (st->phase == SV_PHASE_BOOTING)
    {
      const char *sep = " (waiting for the lease of ";
      for (size_t i = 0; i < st->n_ifaces; i++)
        if (st->ifaces[i].dhcp && st->ifaces[i].lease_acked_ms == 0)
          {
            fprintf (out, "%s%s", sep, st->ifaces[i].name);
            sep = ", ";
          }
      if (strcmp (sep, ", ") == 0)
        fprintf (out, ")");
    }
  if (st->error[0])
    {
      /* One line: escape what could break it. */
      struct sv_buf b = { 0 };
      for (const char *p = st->error; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
          sv_buf_addf (&b, "\\x%02x", (unsigned char)*p);
        else
          sv_buf_addc (&b, *p);
      fprintf (out, ": %s", b.data ? b.data : "");
      sv_buf_free (&b);
    }
  fprintf (out, "\n");
  return EXIT_NOT_READY;
}

int
sv_cmd_status (int argc, char **argv)
{
  struct status_opts o = { 0 };
  if (parse_status_opts (argc, argv, &o) < 0)
    return SV_EXIT_USAGE;
  cleanup_free char *path = NULL;
  int r = o.state_dir ? find_in_state_dir (o.state_dir, o.id, &path) : find_from_config (&o, &path);
  if (r != 0)
    return r;

  cleanup_error sv_error_t err = NULL;
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (sv_status_read_file (path, &text, &len, &err) < 0)
    {
      if (err->source == SV_SRC_ERRNO)
        explain_missing (path, err->code);
      else
        fprintf (stderr, "startvm status: no status: %s\n", err->msg);
      return EXIT_NO_STATUS;
    }
  struct sv_status *st = sv_xcalloc (1, sizeof *st);
  if (sv_status_parse (text, len, st, &err) < 0)
    {
      fprintf (stderr, "startvm status: no status: %s: %s\n", path, err->msg);
      free (st);
      return EXIT_NO_STATUS;
    }
  bool gone = sv_status_writer_gone (st);
  int ret = 0;
  if (o.json)
    fwrite (text, 1, len, stdout);
  if (o.ready)
    {
      /* With --json the JSON is the output; the reason goes to stderr. */
      ret = report_ready (o.json ? stderr : stdout, st, gone);
    }
  else if (!o.json)
    {
      struct sv_buf b = { 0 };
      sv_status_describe (st, gone, &b);
      fputs (b.data ? b.data : "", stdout);
      sv_buf_free (&b);
    }
  free (st);
  if (fflush (stdout) != 0 && ret == 0)
    ret = 1;
  return ret;
}
