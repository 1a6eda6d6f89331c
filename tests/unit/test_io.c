/* io.c: the bounded reads stop where they are told, whatever the source
 * (a pipe delivers in pieces), and mkdir -p creates what it says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

/* A pipe holding n bytes of 'x' (written in 1000-byte pieces), then EOF. */
static int
pipe_with (size_t n)
{
  int p[2];
  assert_int_equal (pipe (p), 0);
  char chunk[1000];
  memset (chunk, 'x', sizeof chunk);
  assert_true (n <= 60000); /* fits the pipe buffer */
  for (size_t off = 0; off < n; off += sizeof chunk)
    assert_int_equal (sv_write_all (p[1], chunk, n - off < sizeof chunk ? n - off : sizeof chunk),
                      0);
  close (p[1]);
  return p[0];
}

static void
test_read_fd (void **state)
{
  char buf[100];
  int fd = pipe_with (30);
  assert_int_equal (sv_read_fd (fd, buf, sizeof buf), 30);
  close (fd);
  fd = pipe_with (250);
  assert_int_equal (sv_read_fd (fd, buf, sizeof buf), 100); /* full: maybe more */
  assert_int_equal (sv_read_fd (fd, buf, sizeof buf), 100);
  assert_int_equal (sv_read_fd (fd, buf, sizeof buf), 50);
  assert_int_equal (sv_read_fd (fd, buf, sizeof buf), 0);
  close (fd);
  assert_int_equal (sv_read_fd (-1, buf, sizeof buf), -1);
  assert_int_equal (errno, EBADF);
  assert_int_equal (sv_read_file ("/nonexistent/x", buf, sizeof buf), -1);
  assert_int_equal (errno, ENOENT);
}

static void
test_read_fd_alloc (void **state)
{
  static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 9000, 20000 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
      size_t n = sizes[i];
      char *buf = NULL;
      int fd = pipe_with (n);
      assert_int_equal (sv_read_fd_alloc (fd, 10000, &buf), n < 10000 ? n : 10000);
      assert_int_equal (strlen (buf), n < 10000 ? n : 10000);
      close (fd);
      free (buf);
    }
  /* The limit is content bytes, whatever the growth steps. */
  char *buf = NULL;
  int fd = pipe_with (5000);
  assert_int_equal (sv_read_fd_alloc (fd, 4097, &buf), 4097);
  free (buf);
  close (fd);
  buf = NULL;
  assert_int_equal (sv_read_fd_alloc (-1, 10, &buf), -1);
  assert_null (buf);
}

static void
test_mkdir_parents (void **state)
{
  char tmp[] = "/tmp/sv-io-XXXXXX";
  assert_non_null (mkdtemp (tmp));
  char *file = sv_xasprintf ("%s/a/b/file", tmp);
  sv_error_t err = NULL;
  struct stat st;
  assert_int_equal (sv_mkdir_parents (file, 0700, false, &err), 0);
  char *dir = sv_xasprintf ("%s/a/b", tmp);
  assert_int_equal (stat (dir, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  assert_int_equal (stat (file, &st), -1); /* not the last component */
  assert_int_equal (sv_mkdir_parents (file, 0700, true, &err), 0);
  assert_int_equal (stat (file, &st), 0);
  assert_int_equal (sv_mkdir_parents (file, 0700, true, &err), 0); /* existing is fine */
  /* A file in the way is the error, named. */
  char *blocker = sv_xasprintf ("%s/f", tmp);
  int fd = open (blocker, O_WRONLY | O_CREAT, 0600);
  assert_true (fd >= 0);
  close (fd);
  char *under = sv_xasprintf ("%s/f/g/h", tmp);
  assert_int_equal (sv_mkdir_parents (under, 0700, true, &err), -1);
  char *want = sv_xasprintf ("creating directory %s/f/g: Not a directory", tmp);
  assert_string_equal (err->msg, want);
  sv_error_release (&err);
  char *cmd = sv_xasprintf ("rm -rf '%s'", tmp);
  assert_int_equal (system (cmd), 0);
  free (cmd), free (want), free (under), free (blocker), free (dir), free (file);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_read_fd),
    cmocka_unit_test (test_read_fd_alloc),
    cmocka_unit_test (test_mkdir_parents),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
