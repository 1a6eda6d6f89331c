/* load -> merge env -> validate: the one call startvm and the manager make
 * for a vm.yaml (cfg.h). */
#include "cfg.h"

int
sv_cfg_build (const char *path, bool path_explicit, char *const *envp, struct sv_cfg_doc *doc_out,
              struct sv_vm_config *out, sv_error_t *err)
{
  *out = (struct sv_vm_config){ 0 };
  if (sv_cfg_load_file (path, path_explicit, doc_out, err) < 0)
    return -1;
  if (sv_cfg_merge_env (doc_out, envp, err) < 0 || sv_cfg_validate (doc_out, out, err) < 0)
    {
      sv_vm_config_free (out);
      sv_cfg_doc_free (doc_out);
      return -1;
    }
  return 0;
}
