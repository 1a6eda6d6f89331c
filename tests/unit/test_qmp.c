/* QMP client: the pure JSON helpers on real QEMU lines, then the client
 * against a real QEMU (-machine none starts in well under a second) and
 * against a silent server (deadlines, interruption). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "qmp.h"

/* Lines as QEMU 7 writes them. */
#define GREETING                                                                                   \
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7}, "               \
  "\"package\": \"Debian 1:7.2+dfsg-7+deb12u7\"}, \"capabilities\": [\"oob\"]}}"
#define EVENT_POWERDOWN                                                                            \
  "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456}, \"event\": "               \
  "\"POWERDOWN\"}"
#define EVENT_SHUTDOWN                                                                             \
  "{\"timestamp\": {\"seconds\": 1700000001, \"microseconds\": 5}, \"event\": \"SHUTDOWN\", "      \
  "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\", \"return\": 1}}"
#define STATUS_REPLY                                                                               \
  "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}"
#define ERROR_REPLY                                                                                \
  "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command \\\"x\\\" has not "        \
  "been found\"}}"

static void
test_classify (void **state)
{
  assert_int_equal (sv_qmp_classify (GREETING), SV_QMP_GREETING);
  assert_int_equal (sv_qmp_classify ("{\"return\": {}}"), SV_QMP_RETURN);
  assert_int_equal (sv_qmp_classify ("{\"return\": {}, \"id\": 7}"), SV_QMP_RETURN);
  assert_int_equal (sv_qmp_classify (STATUS_REPLY), SV_QMP_RETURN);
  assert_int_equal (sv_qmp_classify (ERROR_REPLY), SV_QMP_ERROR);
  assert_int_equal (sv_qmp_classify (EVENT_POWERDOWN), SV_QMP_EVENT);
  /* "return" nested in an event's data is not a reply */
  assert_int_equal (sv_qmp_classify (EVENT_SHUTDOWN), SV_QMP_EVENT);
  assert_int_equal (sv_qmp_classify ("  {\"foo\": [1, {\"return\": 2}]}  "), SV_QMP_OTHER);
  /* a key that only appears inside a string value */
  assert_int_equal (sv_qmp_classify ("{\"x\": \"\\\"return\\\": 1\"}"), SV_QMP_OTHER);
  assert_int_equal (sv_qmp_classify (""), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("return"), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("{\"return\": {}"), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("{\"return\": {}} trailing"), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("{\"return\" {}}"), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("{\"unterminated: 1}"), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("[\"return\"]"), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("{\"a\": 1 \"return\": 2}"), SV_QMP_INVALID);
  assert_int_equal (sv_qmp_classify ("{}"), SV_QMP_OTHER);
}

static void
test_get_string (void **state)
{
  char out[128];
  static const char *const status[] = { "return", "status", NULL };
  static const char *const desc[] = { "error", "desc", NULL };
  static const char *const event[] = { "event", NULL };
  static const char *const reason[] = { "data", "reason", NULL };
  static const char *const running[] = { "return", "running", NULL };
  static const char *const missing[] = { "return", "nope", NULL };

  assert_true (sv_qmp_get_string (STATUS_REPLY, status, out, sizeof out));
  assert_string_equal (out, "running");
  assert_true (sv_qmp_get_string (ERROR_REPLY, desc, out, sizeof out));
  assert_string_equal (out, "The command \"x\" has not been found");
  assert_true (sv_qmp_get_string (EVENT_SHUTDOWN, event, out, sizeof out));
  assert_string_equal (out, "SHUTDOWN");
  assert_true (sv_qmp_get_string (EVENT_SHUTDOWN, reason, out, sizeof out));
  assert_string_equal (out, "guest-shutdown");
  /* not a string, absent */
  assert_false (sv_qmp_get_string (STATUS_REPLY, running, out, sizeof out));
  assert_false (sv_qmp_get_string (STATUS_REPLY, missing, out, sizeof out));
  /* escapes and truncation */
  static const char *const a[] = { "a", NULL };
  assert_true (sv_qmp_get_string ("{\"a\": \"x\\ny\\\\z\\u00e9!\"}", a, out, sizeof out));
  assert_string_equal (out, "x\ny\\z\xc3\xa9!");
  char small[4];
  assert_true (sv_qmp_get_string (STATUS_REPLY, status, small, sizeof small));
  assert_string_equal (small, "run");
  /* truncation never splits a UTF-8 sequence */
  char tiny[3];
  assert_true (sv_qmp_get_string ("{\"a\": \"x\\u00e9\"}", a, tiny, sizeof tiny));
  assert_string_equal (tiny, "x");
  /* a broken \u at the end never reads past the closing quote */
  assert_false (sv_qmp_get_string ("{\"a\": \"x\\u1\"}", a, out, sizeof out));
}

/* ---- live ---- */

struct qemu
{
  char dir[64];
  char path[128];
  pid_t pid;
};

static bool
have_qemu (void)
{
  return system ("command -v qemu-system-x86_64 >/dev/null 2>&1") == 0;
}

static void
start_qemu (struct qemu *q)
{
  strcpy (q->dir, "/tmp/sv-test-qmp-XXXXXX");
  assert_non_null (mkdtemp (q->dir));
  snprintf (q->path, sizeof q->path, "%s/qmp", q->dir);
  q->pid = fork ();
  assert_true (q->pid >= 0);
  if (q->pid == 0)
    {
      char qmp[160];
      snprintf (qmp, sizeof qmp, "unix:%s,server=on,wait=off", q->path);
      execlp ("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "none", "-nodefaults",
              "-display", "none", "-qmp", qmp, (char *)NULL);
      _exit (127);
    }
  /* QEMU creates the socket while starting: a loaded machine may take a
   * few seconds. */
  for (int i = 0; i < 300; i++)
    {
      struct stat st;
      if (stat (q->path, &st) == 0)
        return;
      usleep (100000);
    }
  fail_msg ("QEMU did not create %s", q->path);
}

static void
stop_qemu (struct qemu *q)
{
  if (q->pid > 0)
    {
      kill (q->pid, SIGKILL);
      waitpid (q->pid, NULL, 0);
    }
  unlink (q->path);
  rmdir (q->dir);
}

static void
test_live_qemu (void **state)
{
  if (!have_qemu ())
    {
      if (getenv ("CI") && strcmp (getenv ("CI"), "true") == 0)
        fail_msg ("qemu-system-x86_64 is missing (CI=true)");
      skip ();
    }
  struct qemu q;
  start_qemu (&q);

  sv_error_t err = NULL;
  struct sv_qmp c, other;
  sv_qmp_init (&c, -1);
  sv_qmp_init (&other, -1);
  int64_t deadline = sv_now_ms () + 20000;
  if (sv_qmp_connect (&c, q.path, deadline, &err) < 0)
    fail_msg ("connect: %s", err->msg);

  char *reply = NULL;
  char status[32];
  static const char *const path[] = { "return", "status", NULL };
  if (sv_qmp_execute (&c, "query-status", deadline, &reply, &err) < 0)
    fail_msg ("query-status: %s", err->msg);
  assert_true (sv_qmp_get_string (reply, path, status, sizeof status));
  assert_string_equal (status, "running");
  free (reply);

  /* QEMU's error reply becomes our error, with its description */
  assert_int_equal (sv_qmp_execute (&c, "no-such-command", deadline, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "no-such-command"));
  assert_non_null (strstr (err->msg, "has not been found"));
  sv_error_release (&err);

  /* Arguments and an fd passed along (getfd, as the suspend save and the
   * resume do): QEMU takes the fd only when it comes with the command;
   * without it QEMU says none was supplied.  closefd shows it was kept. */
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (sv_qmp_command (&c, "getfd", "{\"fdname\": \"t\"}", -1, deadline, NULL, &err),
                    -1);
  assert_non_null (strstr (err->msg, "SCM_RIGHTS"));
  sv_error_release (&err);
  if (sv_qmp_command (&c, "getfd", "{\"fdname\": \"t\"}", fd, deadline, NULL, &err) < 0)
    fail_msg ("getfd: %s", err->msg);
  close (fd);
  if (sv_qmp_command (&c, "closefd", "{\"fdname\": \"t\"}", -1, deadline, NULL, &err) < 0)
    fail_msg ("closefd: %s", err->msg);
  assert_int_equal (sv_qmp_command (&c, "closefd", "{\"fdname\": \"t\"}", -1, deadline, NULL, &err),
                    -1);
  sv_error_release (&err);

  /* QEMU serves one QMP client at a time: a second one gets no greeting
   * and must give up at its deadline, not hang. */
  int64_t t0 = sv_now_ms ();
  assert_int_equal (sv_qmp_connect (&other, q.path, t0 + 300, &err), -1);
  assert_int_equal (err->code, ETIMEDOUT);
  assert_true (sv_now_ms () - t0 < 5000);
  assert_int_equal (other.fd, -1);
  sv_error_release (&err);

  /* The connection still works, and quit ends QEMU with status 0. */
  if (sv_qmp_execute (&c, "quit", deadline, NULL, &err) < 0)
    fail_msg ("quit: %s", err->msg);
  sv_qmp_close (&c);
  int st;
  assert_int_equal (waitpid (q.pid, &st, 0), q.pid);
  q.pid = 0;
  assert_true (WIFEXITED (st));
  assert_int_equal (WEXITSTATUS (st), 0);

  /* QEMU removes its socket when it quits cleanly. */
  assert_int_equal (sv_qmp_connect (&c, q.path, sv_now_ms () + 1000, &err), -1);
  assert_int_equal (err->code, ENOENT);
  sv_error_release (&err);
  stop_qemu (&q);
}

static void
test_silent_server (void **state)
{
  char dir[] = "/tmp/sv-test-qmp-XXXXXX";
  assert_non_null (mkdtemp (dir));
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s/s", dir);
  int l = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true (l >= 0);
  assert_int_equal (bind (l, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal (listen (l, 4), 0);

  sv_error_t err = NULL;
  struct sv_qmp c;

  /* No greeting: the deadline ends the wait. */
  sv_qmp_init (&c, -1);
  int64_t t0 = sv_now_ms ();
  assert_int_equal (sv_qmp_connect (&c, sa.sun_path, t0 + 200, &err), -1);
  assert_int_equal (err->code, ETIMEDOUT);
  assert_true (sv_now_ms () - t0 >= 200);
  sv_error_release (&err);

  /* A readable interrupt fd ends it at once, with EINTR. */
  int p[2];
  assert_int_equal (pipe (p), 0);
  assert_int_equal (write (p[1], "x", 1), 1);
  sv_qmp_init (&c, p[0]);
  t0 = sv_now_ms ();
  assert_int_equal (sv_qmp_connect (&c, sa.sun_path, t0 + 10000, &err), -1);
  assert_int_equal (err->code, EINTR);
  assert_true (sv_now_ms () - t0 < 5000);
  sv_error_release (&err);

  /* A server that speaks something else is refused with what it said. */
  pid_t pid = fork ();
  if (pid == 0)
    {
      /* The backlog still holds the connections above: answer them all. */
      for (;;)
        {
          int a = accept (l, NULL, NULL);
          const char *junk = "HTTP/1.0 200 OK\r\n";
          if (a < 0)
            _exit (1);
          /* earlier clients are gone: no SIGPIPE for them */
          (void)!send (a, junk, strlen (junk), MSG_NOSIGNAL);
        }
    }
  sv_qmp_init (&c, -1);
  assert_int_equal (sv_qmp_connect (&c, sa.sun_path, sv_now_ms () + 10000, &err), -1);
  if (strstr (err->msg, "expected a greeting") == NULL)
    fail_msg ("%s", err->msg);
  sv_error_release (&err);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);

  /* Socket file without a listener (QEMU killed): ECONNREFUSED, and a
   * missing one: ENOENT; the supervisor retries both while QEMU starts. */
  close (l);
  l = -1;
  assert_int_equal (sv_qmp_connect (&c, sa.sun_path, sv_now_ms () + 1000, &err), -1);
  assert_int_equal (err->code, ECONNREFUSED);
  sv_error_release (&err);
  unlink (sa.sun_path);
  assert_int_equal (sv_qmp_connect (&c, sa.sun_path, sv_now_ms () + 1000, &err), -1);
  assert_int_equal (err->code, ENOENT);
  sv_error_release (&err);

  close (p[0]);
  close (p[1]);
  rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_classify),
    cmocka_unit_test (test_get_string),
    cmocka_unit_test (test_live_qemu),
    cmocka_unit_test (test_silent_server),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
