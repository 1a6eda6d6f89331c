/* libFuzzer target for the config pipeline: load an arbitrary buffer as
 * vm.yaml, merge a fixed environment (or none), validate, print, and check
 * that the printed text loads back to a valid configuration.  Build with
 *   CC=clang cmake -S . -B build-fuzz -DSV_FUZZ=ON
 * or run bench/fuzz SECONDS. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "config.h"
#include "error.h"

static char *env_none[] = { NULL };
static char *env_some[]
    = { "PATH=/bin",   "MEMORY=1G",       "CPUS=2",
        "NO_DHCP=yes", "IP_PREFIX=10.42", "DISKS=/volumes/data.img:20G,/volumes/b.qcow2:qcow2:ro",
        NULL };

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct sv_cfg_doc doc = { 0 }, doc2 = { 0 };
  struct sv_vm_config cfg = { 0 }, cfg2 = { 0 };
  sv_error_t err = NULL;
  /* The last byte picks the environment, so both paths get coverage. */
  char **envp = size > 0 && (data[size - 1] & 1) ? env_some : env_none;

  if (sv_cfg_load_buffer ("fuzz.yaml", (const char *)data, size, &doc, &err) < 0)
    goto out;
  if (sv_cfg_merge_env (&doc, envp, &err) < 0)
    goto out;
  if (sv_cfg_validate (&doc, &cfg, &err) < 0)
    goto out;
  char *text = sv_cfg_print (&doc);
  /* What --print-config prints must be a valid vm.yaml. */
  if (sv_cfg_load_buffer ("printed.yaml", text, strlen (text), &doc2, &err) < 0
      || sv_cfg_validate (&doc2, &cfg2, &err) < 0)
    {
      fprintf (stderr, "printed config does not load back: %s\n---\n%s---\n", err->msg, text);
      abort ();
    }
  if (cfg.memory_mib != cfg2.memory_mib || cfg.cpus != cfg2.cpus || cfg.n_disks != cfg2.n_disks
      || cfg.network.dhcp != cfg2.network.dhcp || (cfg.name == NULL) != (cfg2.name == NULL)
      || (cfg.name && strcmp (cfg.name, cfg2.name) != 0))
    {
      fprintf (stderr, "printed config differs\n---\n%s---\n", text);
      abort ();
    }
  free (text);
out:
  /* Error paths must leave nothing behind (ASan's leak check). */
  if (err)
    {
      if (err->msg == NULL || err->exit_class != SV_EXIT_USAGE)
        abort ();
      sv_error_release (&err);
    }
  sv_vm_config_free (&cfg);
  sv_vm_config_free (&cfg2);
  sv_cfg_doc_free (&doc);
  sv_cfg_doc_free (&doc2);
  return 0;
}
