/* startvm-manager's vm.c and console.c: the VM's files are found by id and
 * never through a symlink; the VM object merges Docker's view with
 * status.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "console.h"
#include "status_file.h"
#include "util.h"
#include "vm.h"

#define ID "186d392ed91720fce8824cd581ab428ec6db2993cf5e12a12fc16fffd0e0dcb5"

static char top[64];

static int
setup (void **state)
{
  strcpy (top, "/tmp/sv-mgr-vm-XXXXXX");
  assert_non_null (mkdtemp (top));
  char p[256];
  snprintf (p, sizeof p, "%s/vm1", top);
  assert_int_equal (mkdir (p, 0700), 0);
  snprintf (p, sizeof p, "%s/vm1/" ID, top);
  assert_int_equal (mkdir (p, 0755), 0);
  return 0;
}

static int
teardown (void **state)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", top);
  assert_int_equal (system (cmd), 0);
  return 0;
}

/* A listening unix socket at dir/name (bound through a short relative
 * path: sun_path is small). */
static int
listen_at (const char *dir, const char *name)
{
  char cwd[256];
  assert_non_null (getcwd (cwd, sizeof cwd));
  assert_int_equal (chdir (dir), 0);
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", name);
  assert_int_equal (bind (fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal (listen (fd, 4), 0);
  assert_int_equal (chdir (cwd), 0);
  return fd;
}

static void
test_socket_not_through_symlink (void **state)
{
  char dir[200], other[200], link[300];
  snprintf (dir, sizeof dir, "%s/vm1/" ID, top);
  snprintf (other, sizeof other, "%s", top);
  int real = listen_at (dir, "vnc");
  int elsewhere = listen_at (other, "docker.sock");
  sv_error_t err = NULL;
  int fd = sv_mgr_vm_socket_connect (top, "vm1", ID, "vnc", &err);
  assert_true (fd >= 0);
  close (fd);
  /* qmp is a symlink to another socket (the Docker socket, say): refused. */
  snprintf (link, sizeof link, "%s/qmp", dir);
  char target[300];
  snprintf (target, sizeof target, "%s/docker.sock", top);
  assert_int_equal (symlink (target, link), 0);
  assert_int_equal (sv_mgr_vm_socket_connect (top, "vm1", ID, "qmp", &err), -1);
  assert_non_null (strstr (err->msg, "not a socket"));
  sv_error_release (&err);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY);
  assert_false (sv_mgr_is_socket_at (dfd, "qmp"));
  assert_true (sv_mgr_is_socket_at (dfd, "vnc"));
  close (dfd);
  /* The VM directory itself a symlink (a VM container owns its parent). */
  char vm2[256], vm2id[400];
  snprintf (vm2, sizeof vm2, "%s/vm2", top);
  assert_int_equal (mkdir (vm2, 0700), 0);
  snprintf (vm2id, sizeof vm2id, "%s/" ID, vm2);
  assert_int_equal (symlink (dir, vm2id), 0);
  assert_int_equal (sv_mgr_vm_socket_connect (top, "vm2", ID, "vnc", &err), -1);
  /* O_DIRECTORY|O_NOFOLLOW on a symlink: ENOTDIR, never the target. */
  assert_int_equal (err->code, ENOTDIR);
  sv_error_release (&err);
  /* Labels and ids that are not plain names never reach a path. */
  assert_int_equal (sv_mgr_vm_socket_connect (top, "..", ID, "vnc", &err), -1);
  sv_error_release (&err);
  assert_int_equal (sv_mgr_vm_socket_connect (top, "vm1", "../vm1", "vnc", &err), -1);
  sv_error_release (&err);
  close (real);
  close (elsewhere);
}

static void
test_status_json (void **state)
{
  char path[300];
  snprintf (path, sizeof path, "%s/vm1/" ID "/status.json", top);
  FILE *f = fopen (path, "w");
  fputs ("{\"version\":1,\"phase\":\"ready\",\"error\":null,\"accel\":\"tcg\",\"memory_mib\":256,"
         "\"cpus\":2,\"interfaces\":[{\"vm_mac\":\"52:54:00:12:34:56\",\"addresses\":"
         "[\"10.88.0.5/16\"]}],\"started_at\":\"2026-11-30T00:00:00.000Z\",\"new_key\":1}",
         f);
  fclose (f);
  struct sv_mgr_vm_files vf;
  sv_mgr_vm_files_read (top, "vm1", ID, &vf);
  assert_non_null (vf.status);
  json_t *in = json_loads (
      "{\"Id\":\"" ID "\",\"Name\":\"/vm1\",\"Created\":\"2026-11-30T00:00:00Z\","
      "\"Config\":{\"Image\":\"localhost/tiny:latest\",\"Labels\":{\"io.startvm.vm\":\"true\","
      "\"io.startvm.managed\":\"true\",\"io.startvm.state\":\"vm1\"},\"Env\":[\"MEMORY=1G\"]},"
      "\"State\":{\"Status\":\"running\",\"StartedAt\":\"2026-11-30T00:00:01Z\","
      "\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"ExitCode\":0},"
      "\"NetworkSettings\":{\"Ports\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]},"
      "\"Networks\":{\"podman\":{\"IPAddress\":\"10.88.0.5\",\"IPPrefixLen\":16,"
      "\"MacAddress\":\"aa:bb:cc:dd:ee:ff\"}}},"
      "\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"vm1-image\",\"Destination\":\"/image\"}],"
      "\"HostConfig\":{\"Binds\":[\"/x:/y\"]},\"GraphDriver\":{\"Name\":\"overlay\"}}",
      0, NULL);
  assert_non_null (in);
  /* What the cache keeps: the same VM object, without the rest. */
  json_t *trim = sv_mgr_inspect_trim (in);
  assert_null (json_object_get (trim, "HostConfig"));
  assert_null (json_object_get (trim, "GraphDriver"));
  json_t *vm_trim = sv_mgr_vm_from_inspect (trim, &vf);
  json_t *vm = sv_mgr_vm_from_inspect (in, &vf);
  assert_true (json_equal (vm, vm_trim));
  assert_true (sv_mgr_is_vm_inspect (trim));
  json_decref (vm_trim);
  json_decref (trim);
  char *text = json_dumps (vm, JSON_COMPACT);
  assert_string_equal (
      text, "{\"id\":\"" ID "\",\"name\":\"vm1\",\"image\":\"localhost/tiny:latest\","
            "\"state\":\"running\",\"addresses\":[\"10.88.0.5/16\"],\"mac\":\"52:54:00:12:34:56\","
            "\"networks\":[\"podman\"],\"ports\":[{\"container_port\":80,\"protocol\":\"tcp\","
            "\"host_ip\":\"0.0.0.0\",\"host_port\":8080}],\"created\":\"2026-11-30T00:00:00Z\","
            "\"started_at\":\"2026-11-30T00:00:01Z\",\"finished_at\":null,\"exit_code\":null,"
            "\"volume\":\"vm1-image\",\"managed\":true,\"memory_mib\":256,\"cpus\":2,\"firmware\":"
            "null,\"tpm\":null,"
            "\"phase\":\"ready\",\"phase_error\":null,\"accel\":\"tcg\",\"shutdown_mode\":null,"
            "\"suspended\":false,\"consoles\":"
            "{\"vnc\":false,\"serial\":true,\"screenshot\":false}}");
  free (text);
  json_decref (vm);
  /* What create labelled (firmware, tpm) is on the card, through the
   * cache's trim too. */
  json_t *in2 = json_loads ("{\"Id\":\"" ID "\",\"Name\":\"/vm2\",\"Config\":{\"Labels\":{"
                            "\"io.startvm.vm\":\"true\",\"io.startvm.firmware\":\"uefi-secure\","
                            "\"io.startvm.tpm\":\"true\"}},\"State\":{\"Status\":\"exited\"}}",
                            0, NULL);
  assert_non_null (in2);
  json_t *trim2 = sv_mgr_inspect_trim (in2);
  json_t *vm2 = sv_mgr_vm_from_inspect (trim2, NULL);
  assert_string_equal (json_string_value (json_object_get (vm2, "firmware")), "uefi-secure");
  assert_true (json_is_true (json_object_get (vm2, "tpm")));
  json_decref (vm2);
  json_decref (trim2);
  json_decref (in2);
  sv_mgr_vm_files_free (&vf);

  /* shutdown.mode suspend, stopped by a save: suspended (not while it runs). */
  f = fopen (path, "w");
  fputs ("{\"version\":1,\"phase\":\"stopped\",\"exit_status\":0,\"suspended\":true,"
         "\"shutdown_mode\":\"suspend\"}",
         f);
  fclose (f);
  sv_mgr_vm_files_read (top, "vm1", ID, &vf);
  json_object_set_new (json_object_get (in, "State"), "Status", json_string ("exited"));
  vm = sv_mgr_vm_from_inspect (in, &vf);
  assert_string_equal (json_string_value (json_object_get (vm, "shutdown_mode")), "suspend");
  assert_true (json_is_true (json_object_get (vm, "suspended")));
  json_decref (vm);
  json_object_set_new (json_object_get (in, "State"), "Status", json_string ("running"));
  vm = sv_mgr_vm_from_inspect (in, &vf);
  assert_true (json_is_false (json_object_get (vm, "suspended")));
  json_decref (vm);
  sv_mgr_vm_files_free (&vf);

  /* status.json a symlink: not read; Docker's view and the env remain. */
  char real[300];
  snprintf (real, sizeof real, "%s/real.json", top);
  assert_int_equal (rename (path, real), 0);
  assert_int_equal (symlink (real, path), 0);
  sv_mgr_vm_files_read (top, "vm1", ID, &vf);
  assert_null (vf.status);
  vm = sv_mgr_vm_from_inspect (in, &vf);
  assert_true (json_is_null (json_object_get (vm, "phase")));
  assert_int_equal (json_integer_value (json_object_get (vm, "memory_mib")), 1024);
  assert_string_equal (json_string_value (json_object_get (vm, "mac")), "aa:bb:cc:dd:ee:ff");
  json_decref (vm);
  sv_mgr_vm_files_free (&vf);

  /* Larger than SV_STATUS_MAX_BYTES (the limit every reader of the file
     shares): not read, even as valid JSON. */
  assert_int_equal (unlink (path), 0);
  f = fopen (path, "w");
  fputs ("{\"version\":1,\"phase\":\"ready\",\"pad\":\"", f);
  for (int i = 0; i < SV_STATUS_MAX_BYTES; i++)
    fputc ('x', f);
  fputs ("\"}", f);
  fclose (f);
  sv_mgr_vm_files_read (top, "vm1", ID, &vf);
  assert_null (vf.status);
  sv_mgr_vm_files_free (&vf);

  /* podman's "stopped" (exited, not yet cleaned up) is Docker's "exited". */
  json_object_set_new (json_object_get (in, "State"), "Status", json_string ("stopped"));
  vm = sv_mgr_vm_from_inspect (in, NULL);
  assert_string_equal (json_string_value (json_object_get (vm, "state")), "exited");
  json_decref (vm);
  json_decref (in);
}

static void
test_is_vm (void **state)
{
  json_t *a = json_loads ("{\"Config\":{\"Labels\":{\"io.startvm.vm\":\"true\"}}}", 0, NULL);
  json_t *b = json_loads ("{\"Config\":{\"Env\":[\"PATH=/bin\",\"RANCHER_VM=true\"]}}", 0, NULL);
  json_t *c = json_loads ("{\"Config\":{\"Labels\":{\"io.startvm.vm\":\"false\"},"
                          "\"Env\":[\"RANCHER_VM=1\"]}}",
                          0, NULL);
  assert_true (sv_mgr_is_vm_inspect (a));
  assert_true (sv_mgr_is_vm_inspect (b));
  json_t *bt = sv_mgr_inspect_trim (b);
  assert_true (sv_mgr_is_vm_inspect (bt));
  json_decref (bt);
  assert_false (sv_mgr_is_vm_inspect (c));
  json_decref (a);
  json_decref (b);
  json_decref (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_socket_not_through_symlink, setup, teardown),
    cmocka_unit_test_setup_teardown (test_status_json, setup, teardown),
    cmocka_unit_test (test_is_vm),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
