/* plan_shares: directories of the container shown to the guest
 * (docs/images.md "Shares").  Pure: what exists comes from host->shares
 * (observe/data.c).
 *
 * A read-write share gets its own virtiofsd (QEMU 7.2's, in C), which
 * needs the guest's memory shared with it: the RAM is a memfd backend
 * with share=on, used as the only NUMA node.  That virtiofsd has no
 * read-only mode, and a read-only bind mount in its own namespace would
 * need CAP_SYS_ADMIN, so a read-only share is QEMU's own 9p with
 * readonly=on: no helper, no extra capability. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cleanup.h"
#include "error.h"
#include "plan_internal.h"
#include "util.h"

int
sv_plan_shares (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
                struct sv_plan *p, sv_error_t *err)
{
  if (cfg->n_shares == 0)
    return 0;
  if (host->shares.error[0])
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "%s", host->shares.error);
  size_t n_rw = 0;
  for (size_t i = 0; i < cfg->n_shares; i++)
    n_rw += !cfg->shares[i].readonly;
  if (n_rw > 0 && !host->shares.virtiofsd_found)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "shares: %s is missing: install Debian's qemu-system-common package",
                          SV_VIRTIOFSD);
  if (n_rw > 0)
    {
      /* vhost-user: virtiofsd maps the guest's RAM, so it must be a
       * shared memfd. */
      sv_strv_add (argv, "-object");
      sv_strv_addf (argv, "memory-backend-memfd,id=mem,size=%" PRIu64 "M,share=on",
                    cfg->memory_mib ? cfg->memory_mib : 512);
      sv_strv_add (argv, "-numa");
      sv_strv_add (argv, "node,memdev=mem");
      p->virtiofsd = sv_xcalloc (n_rw, sizeof *p->virtiofsd);
    }
  size_t max = sizeof (((struct sockaddr_un *)NULL)->sun_path) - 1;
  for (size_t i = 0; i < cfg->n_shares; i++)
    {
      const struct sv_share_config *sh = &cfg->shares[i];
      cleanup_free char *src_e = sv_qemu_opt_escape (sh->source);
      if (sh->readonly)
        {
          sv_strv_add (argv, "-fsdev");
          sv_strv_addf (argv, "local,id=fsdev%zu,path=%s,security_model=none,readonly=on", i,
                        src_e);
          sv_strv_add (argv, "-device");
          sv_strv_addf (argv, "virtio-9p-pci,fsdev=fsdev%zu,mount_tag=%s", i, sh->tag);
          p->shares_9p = sv_xrealloc (p->shares_9p, (p->n_shares_9p + 1) * sizeof *p->shares_9p);
          p->shares_9p[p->n_shares_9p++] = (struct sv_share_config){
            .source = sv_xstrdup (sh->source),
            .tag = sv_xstrdup (sh->tag),
            .readonly = true,
          };
          continue;
        }
      /* virtiofsd splits its -o values at ','. */
      if (strchr (sh->source, ','))
        return sv_error_config (err,
                                "shares[%zu].source: %s contains ',', which virtiofsd cannot "
                                "take in a path",
                                i, sh->source);
      struct sv_virtiofsd *v = &p->virtiofsd[p->n_virtiofsd++];
      v->tag = sv_xstrdup (sh->tag);
      v->source = sv_xstrdup (sh->source);
      v->sock_path = sv_xasprintf ("%s/virtiofsd-%zu.sock", p->run_dir, i);
      if (strlen (v->sock_path) > max)
        return sv_error_config (err,
                                "state_dir: the virtiofsd socket path %s is %zu bytes, more than "
                                "the %zu a unix socket allows; choose a shorter state_dir",
                                v->sock_path, strlen (v->sock_path), max);
      struct sv_strv s = { 0 };
      sv_strv_add (&s, SV_VIRTIOFSD);
      sv_strv_addf (&s, "--fd=%d", SV_VIRTIOFSD_FD);
      sv_strv_add (&s, "-o");
      sv_strv_addf (&s, "source=%s", sh->source);
      /* The default sandbox (namespaces) needs CAP_SYS_ADMIN; chroot
       * needs only CAP_SYS_CHROOT, which every container has. */
      sv_strv_add (&s, "-o");
      sv_strv_add (&s, "sandbox=chroot");
      /* Leave RLIMIT_NOFILE alone: raising it needs CAP_SYS_RESOURCE. */
      sv_strv_add (&s, "--rlimit-nofile=0");
      sv_strv_add (&s, "-o");
      sv_strv_add (&s, "log_level=warn");
      v->argv = steal_pointer (&s.v);

      cleanup_free char *sock = sv_qemu_opt_escape (v->sock_path);
      sv_strv_add (argv, "-chardev");
      sv_strv_addf (argv, "socket,id=fs%zu,path=%s", i, sock);
      sv_strv_add (argv, "-device");
      sv_strv_addf (argv, "vhost-user-fs-pci,chardev=fs%zu,tag=%s", i, sh->tag);
    }
  return 0;
}

void
sv_plan_shares_free (struct sv_plan *p)
{
  for (size_t i = 0; i < p->n_virtiofsd; i++)
    {
      free (p->virtiofsd[i].tag);
      free (p->virtiofsd[i].source);
      free (p->virtiofsd[i].sock_path);
      sv_strv_free_raw (p->virtiofsd[i].argv);
    }
  free (p->virtiofsd);
  p->virtiofsd = NULL;
  p->n_virtiofsd = 0;
  for (size_t i = 0; i < p->n_shares_9p; i++)
    {
      free (p->shares_9p[i].source);
      free (p->shares_9p[i].tag);
    }
  free (p->shares_9p);
  p->shares_9p = NULL;
  p->n_shares_9p = 0;
}
