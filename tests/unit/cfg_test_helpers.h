/* Helpers shared by the tests/unit/test_cfg*.c files: run the config
 * pipeline on a string and return the error message or the result. */
#ifndef SV_CFG_TEST_HELPERS_H
#define SV_CFG_TEST_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "config.h"
#include "error.h"
#include "util.h"

/* load + merge env + validate a buffer named "t.yaml".  Returns NULL on
 * success (doc and cfg filled, caller frees), or the error message
 * (malloc'ed; doc and cfg already freed). */
static inline char *
cfg_run (const char *yaml, char **envp, struct sv_cfg_doc *doc, struct sv_vm_config *cfg,
         int *exit_class)
{
  sv_error_t err = NULL;
  *doc = (struct sv_cfg_doc){ 0 };
  *cfg = (struct sv_vm_config){ 0 };
  int r = sv_cfg_load_buffer ("t.yaml", yaml, strlen (yaml), doc, &err);
  if (r == 0)
    r = sv_cfg_merge_env (doc, envp, &err);
  if (r == 0)
    r = sv_cfg_validate (doc, cfg, &err);
  if (r == 0)
    return NULL;
  if (exit_class)
    *exit_class = err ? err->exit_class : -1;
  char *msg = sv_xstrdup (err ? err->msg : "(no message)");
  sv_error_release (&err);
  sv_vm_config_free (cfg);
  sv_cfg_doc_free (doc);
  return msg;
}

/* The error message for yaml + env (NULL when it is valid). */
static inline char *
cfg_error (const char *yaml, char **envp)
{
  struct sv_cfg_doc doc;
  struct sv_vm_config cfg;
  int cls = 0;
  char *msg = cfg_run (yaml, envp, &doc, &cfg, &cls);
  if (msg == NULL)
    {
      sv_vm_config_free (&cfg);
      sv_cfg_doc_free (&doc);
      return NULL;
    }
  if (cls != SV_EXIT_USAGE)
    {
      char *m2 = NULL;
      if (asprintf (&m2, "exit class %d: %s", cls, msg) < 0)
        abort ();
      free (msg);
      return m2;
    }
  return msg;
}

#define assert_cfg_error(yaml, envp, expected)                                                     \
  do                                                                                               \
    {                                                                                              \
      char *_m = cfg_error ((yaml), (envp));                                                       \
      if (_m == NULL)                                                                              \
        fail_msg ("expected error '%s' for %s", (expected), (yaml));                               \
      assert_string_equal (_m, (expected));                                                        \
      free (_m);                                                                                   \
    }                                                                                              \
  while (0)

#define assert_cfg_ok(yaml, envp)                                                                  \
  do                                                                                               \
    {                                                                                              \
      char *_m = cfg_error ((yaml), (envp));                                                       \
      if (_m)                                                                                      \
        fail_msg ("unexpected error for %s: %s", (yaml), _m);                                      \
    }                                                                                              \
  while (0)

#endif
