/* Container id parsers over recorded cgroup and mountinfo samples
 * (tests/data/cgroup/README.md says where each comes from). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container_id.h"

#define DOCKER_V1 "2a759f8fac4d817ff2bc28c224d51c5030f915c0c14997110517984ca9aa8d0f"
#define DOCKER_V2 "523c835670a5065bb35e0b537f4ab7fffdb6fa0d55b6d72d7b6bb4af0cf13045"
#define PODMAN_V1 "947ab9512fe35269cd2af7906da3e1ead3eb0c7d2f7d3fe57f068117f7635ca6"
#define PODMAN_V2 "9521c771a5aa49856d1273e78a84c3e6ba5f6de729b6d877ca91ce24c71e22d8"
#define K8S_V1 "966511cf5a3e7b4276064cba4bde5f73bfdc5c2ebeeed9b48a2845ecfed20e9a"
#define K8S_V1_SYSTEMD "34c8992d244819929b231a935bbe36ed6a100f560e975cb797534257701511f3"
#define K8S_V2 "503427a6331522a04aca7f35aa1123ec201636ddfd4ef383114334a313c9b4d1"
#define K8S_V2_SANDBOX "3e1ea03723c4a0a1abf8d9c3380c540b558105dd8604d021cb52c50268c82945"
#define K8S_POD_UID "48fb48aa-14fd-45c5-898b-786c45d789c6"
#define NESTED_INNER "8293f3c131a6d756b9b8e3f80501c31b5b395779ad959b538f3ff96a5d9dd52f"

static char *
load (const char *name)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/tests/data/cgroup/%s", SV_SOURCE_DIR, name);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    fail_msg ("cannot open %s", path);
  char *text = calloc (1, 1 << 16);
  size_t n = fread (text, 1, (1 << 16) - 1, f);
  fclose (f);
  assert_true (n > 0);
  return text;
}

/* Runs one parser over a recorded sample: want is the id it must find,
 * or NULL when the sample names none. */
static void
expect_id (bool (*parse) (const char *, char *, size_t), const char *sample, const char *want)
{
  char *text = load (sample);
  char id[128] = "untouched";
  bool found = parse (text, id, sizeof id);
  if (want)
    {
      assert_true (found);
      assert_string_equal (id, want);
    }
  else
    assert_false (found);
  free (text);
}

static void
expect_cgroup (const char *sample, const char *want)
{
  expect_id (sv_container_id_from_cgroup, sample, want);
}

static void
expect_mountinfo (const char *sample, const char *want)
{
  expect_id (sv_container_id_from_mountinfo, sample, want);
}

static void
test_docker (void **state)
{
  expect_cgroup ("docker-v1.cgroup", DOCKER_V1);
  expect_mountinfo ("docker-v1.mountinfo", DOCKER_V1);
  expect_cgroup ("docker-v2-hostns.cgroup", DOCKER_V2);
  expect_cgroup ("docker-v2.cgroup", NULL);
  expect_mountinfo ("docker-v2.mountinfo", DOCKER_V2);
}

static void
test_podman (void **state)
{
  expect_cgroup ("podman-v1-cgroupfs.cgroup", PODMAN_V1);
  expect_mountinfo ("podman-v1-cgroupfs.mountinfo", PODMAN_V1);
  expect_cgroup ("podman-v2-hostns.cgroup", PODMAN_V2);
  expect_cgroup ("podman-v2.cgroup", NULL);
  expect_mountinfo ("podman-v2.mountinfo", PODMAN_V2);
  /* conmon's scope is the monitor's, not the container's */
  expect_cgroup ("podman-v2-conmon.cgroup", NULL);
}

static void
test_kubernetes (void **state)
{
  expect_cgroup ("k8s-v1.cgroup", K8S_V1);
  expect_cgroup ("k8s-v1-systemd.cgroup", K8S_V1_SYSTEMD);
  expect_cgroup ("k8s-v2-hostns.cgroup", K8S_V2);
  expect_cgroup ("k8s-v2.cgroup", NULL);
  /* /etc/hostname (the sandbox's) wins over kubelet's /etc/hosts */
  expect_mountinfo ("k8s-v2.mountinfo", K8S_V2_SANDBOX);
  expect_mountinfo ("k8s-kubelet-only.mountinfo", K8S_POD_UID);
}

static void
test_other_layouts (void **state)
{
  expect_cgroup ("nested-v1.cgroup", NESTED_INNER);
  expect_cgroup ("host-v1.cgroup", NULL);
  expect_cgroup ("host-v2.cgroup", NULL);
}

static void
test_edge_cases (void **state)
{
  char id[128];
  const char *hex = DOCKER_V1;
  char line[512];

  assert_false (sv_container_id_from_cgroup ("", id, sizeof id));
  assert_false (sv_container_id_from_cgroup ("garbage without colons\n", id, sizeof id));
  /* 65 hex digits: not an id */
  snprintf (line, sizeof line, "0::/docker/%sa\n", hex);
  assert_false (sv_container_id_from_cgroup (line, id, sizeof id));
  /* a prefix not ending in '-' */
  snprintf (line, sizeof line, "0::/docker/x%s\n", hex);
  assert_false (sv_container_id_from_cgroup (line, id, sizeof id));
  /* crio, no trailing newline */
  snprintf (line, sizeof line, "0::/kubepods.slice/crio-%s.scope", hex);
  assert_true (sv_container_id_from_cgroup (line, id, sizeof id));
  assert_string_equal (id, hex);
  /* a short buffer gets a truncated, terminated id */
  char small[9];
  assert_true (sv_container_id_from_cgroup (line, small, sizeof small));
  assert_string_equal (small, "2a759f8f");
  /* layer ids in the root overlay's options are not ours */
  snprintf (line, sizeof line,
            "1 0 0:1 / / rw - overlay overlay rw,upperdir=/var/lib/docker/overlay2/%s/diff\n", hex);
  assert_false (sv_container_id_from_mountinfo (line, id, sizeof id));
  /* an id-shaped file name is not a directory of ids */
  snprintf (line, sizeof line, "1 0 8:1 /%s /etc/hostname rw - ext4 /dev/sda1 rw\n", hex);
  assert_false (sv_container_id_from_mountinfo (line, id, sizeof id));
  assert_false (sv_container_id_from_mountinfo ("short line\n", id, sizeof id));
}

static void
test_live (void **state)
{
  /* Whatever this machine is, the result is a usable directory name. */
  char id[128];
  sv_container_id (id, sizeof id);
  assert_true (id[0] != '\0');
  assert_null (strchr (id, '/'));
  assert_string_not_equal (id, "..");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_docker),     cmocka_unit_test (test_podman),
    cmocka_unit_test (test_kubernetes), cmocka_unit_test (test_other_layouts),
    cmocka_unit_test (test_edge_cases), cmocka_unit_test (test_live),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
