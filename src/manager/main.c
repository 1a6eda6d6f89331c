/* startvm-manager: the management container's server.  Reads its settings
 * from the environment, prepares the password and the TLS certificate,
 * and runs the event loop.  The only file here that prints errors and picks
 * the exit code. */
#include <curl/curl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "cleanup.h"
#include "server.h"
#include "settings.h"
#include "tls.h"
#include "util.h"

extern char **environ;

int
main (int argc, char **argv)
{
  if (argc > 1 && (strcmp (argv[1], "--version") == 0))
    {
      printf ("startvm-manager %s\n", SV_VERSION);
      return 0;
    }
  if (argc > 1)
    {
      fprintf (stderr, "usage: startvm-manager   (settings come from the environment: "
                       "DOCKER_HOST, MANAGER_LISTEN, MANAGER_STATE_DIR, MANAGER_PASSWORD, ... "
                       "see docs/manager.md)\n");
      return strcmp (argv[1], "--help") == 0 ? 0 : 2;
    }
  /* Worker threads would each get a malloc arena of their own, and keep
   * its pages: two arenas are plenty for a handful of short jobs. */
  mallopt (M_ARENA_MAX, 2);
  cleanup_error sv_error_t err = NULL;
  struct sv_mgr_settings s;
  if (sv_mgr_settings_load (environ, &s, &err) < 0)
    {
      fprintf (stderr, "startvm-manager: %s\n", err->msg);
      sv_mgr_settings_free (&s);
      return 2;
    }
  int rc = 0;
  cleanup_free char *password = NULL;
  cleanup_free char *cert = NULL;
  cleanup_free char *key = NULL;
  cleanup_free char *found = NULL;
  bool generated = false;
  struct sv_mgr_ctx ctx;
  bool ctx_ready = false;
  curl_global_init (CURL_GLOBAL_DEFAULT);
  if (sv_mgr_password_init (s.password, s.data_dir, &password, &generated, &err) < 0)
    goto fail;
  if (generated)
    fprintf (stderr, "startvm-manager: generated password: %s (stored in %s/password)\n", password,
             s.data_dir);
  else if (s.password)
    fprintf (stderr, "startvm-manager: password from MANAGER_PASSWORD\n");
  else
    fprintf (stderr, "startvm-manager: password from %s/password\n", s.data_dir);
  if (!s.insecure_http)
    {
      if (s.tls_cert)
        {
          cert = sv_xstrdup (s.tls_cert);
          key = sv_xstrdup (s.tls_key);
          fprintf (stderr, "startvm-manager: TLS certificate %s\n", cert);
        }
      else
        {
          bool made = false;
          if (sv_mgr_tls_self_signed (s.data_dir, &cert, &key, &made, &err) < 0)
            goto fail;
          fprintf (stderr, "startvm-manager: %s self-signed TLS certificate %s\n",
                   made ? "generated a" : "using the", cert);
        }
    }
  else
    fprintf (stderr, "startvm-manager: plain HTTP (MANAGER_INSECURE_HTTP=true): passwords and "
                     "sessions cross the network unencrypted\n");
  if (s.host_state_dir == NULL)
    {
      found = sv_mgr_find_host_state_dir (&s);
      if (found)
        s.host_state_dir = sv_xstrdup (found);
    }
  sv_mgr_ctx_init (&ctx, &s, password);
  ctx_ready = true;
  ctx.have_kvm = access ("/dev/kvm", F_OK) == 0;
  fprintf (stderr, "startvm-manager: Docker API at %s; VM state in %s (bound from %s)%s\n",
           s.docker_socket, s.state_dir, ctx.host_state_dir,
           ctx.have_kvm ? "; /dev/kvm passed to new VMs" : "");
  if (sv_mgr_server_run (&ctx, cert, key, &err) < 0)
    goto fail;
  goto out;
fail:
  fprintf (stderr, "startvm-manager: %s\n", err->msg);
  rc = sv_error_exit_code (err);
out:
  if (ctx_ready)
    sv_mgr_ctx_free (&ctx);
  sv_mgr_settings_free (&s);
  curl_global_cleanup ();
  return rc;
}
