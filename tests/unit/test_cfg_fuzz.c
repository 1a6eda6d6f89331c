/* Regression inputs found by the fuzzer (tests/fuzz/fuzz_config.c): every
 * file in tests/data/config/fuzz/ goes through the fuzz target's checks,
 * with and without the fixed environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "util.h"

static char *env_none[] = { NULL };
static char *env_some[]
    = { "PATH=/bin",   "MEMORY=1G",       "CPUS=2",
        "NO_DHCP=yes", "IP_PREFIX=10.42", "DISKS=/volumes/data.img:20G,/volumes/b.qcow2:qcow2:ro",
        NULL };

static void
check_input (const char *name, const char *buf, size_t len, char **envp)
{
  struct sv_cfg_doc doc = { 0 }, doc2 = { 0 };
  struct sv_vm_config cfg = { 0 }, cfg2 = { 0 };
  sv_error_t err = NULL;
  if (sv_cfg_load_buffer (name, buf, len, &doc, &err) == 0
      && sv_cfg_merge_env (&doc, envp, &err) == 0 && sv_cfg_validate (&doc, &cfg, &err) == 0)
    {
      char *text = sv_cfg_print (&doc);
      if (sv_cfg_load_buffer ("printed.yaml", text, strlen (text), &doc2, &err) < 0
          || sv_cfg_validate (&doc2, &cfg2, &err) < 0)
        fail_msg ("%s: printed config does not load back: %s\n%s", name, err->msg, text);
      assert_int_equal (cfg.memory_mib, cfg2.memory_mib);
      assert_int_equal (cfg.n_disks, cfg2.n_disks);
      assert_int_equal (cfg.qemu.n_extra_args, cfg2.qemu.n_extra_args);
      for (size_t i = 0; i < cfg.qemu.n_extra_args; i++)
        assert_string_equal (cfg.qemu.extra_args[i], cfg2.qemu.extra_args[i]);
      free (text);
    }
  else
    {
      assert_non_null (err);
      assert_int_equal (err->exit_class, SV_EXIT_USAGE);
    }
  sv_error_release (&err);
  sv_vm_config_free (&cfg);
  sv_vm_config_free (&cfg2);
  sv_cfg_doc_free (&doc);
  sv_cfg_doc_free (&doc2);
}

static void
test_regressions (void **state)
{
  const char *dir = SV_SOURCE_DIR "/tests/data/config/fuzz";
  DIR *d = opendir (dir);
  assert_non_null (d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      char path[4096];
      snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
      FILE *f = fopen (path, "rbe");
      assert_non_null (f);
      struct sv_buf b = { 0 };
      char chunk[4096];
      size_t r;
      while ((r = fread (chunk, 1, sizeof chunk, f)) > 0)
        sv_buf_addn (&b, chunk, r);
      fclose (f);
      check_input (e->d_name, b.data ? b.data : "", b.len, env_none);
      check_input (e->d_name, b.data ? b.data : "", b.len, env_some);
      sv_buf_free (&b);
      n++;
    }
  closedir (d);
  assert_true (n > 0);
}

/* The first one, spelled out: "\L" is U+2028, a line break to libyaml, so
 * --print-config must not put it raw in a literal block. */
static void
test_line_separator (void **state)
{
  const char *y = "qemu: {extra_args: [\"a\\nb\\Lc\", \"d\\Pe\\uFEFFf\\N\", \"g\\L\"]}\n"
                  "name: \"x\\Ly\"\n";
  check_input ("t.yaml", y, strlen (y), env_none);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_regressions),
    cmocka_unit_test (test_line_separator),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
