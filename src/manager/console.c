#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "cleanup.h"
#include "util.h"
#include "vm.h"

static int
connect_at (int dfd, const char *name, const char *what, sv_error_t *err)
{
  /* O_PATH|O_NOFOLLOW opens the entry itself, a symlink included; fstat
   * then tells what it is, and the connect goes to that very inode. */
  cleanup_close int pfd = openat (dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s socket", what);
  struct stat st;
  if (fstat (pfd, &st) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "%s socket", what);
  if (!S_ISSOCK (st.st_mode))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_ERRNO, ENOTSOCK, "%s: not a socket", what);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d", pfd);
  /* Never wait in connect(): a listener that accepts nothing, its
   * backlog full, held the caller for good (for a console, the event
   * loop, and with it every route).  An AF_UNIX connect does not go on
   * in the background: it is made, or refused at once (EAGAIN). */
  cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "socket");
  if (TEMP_FAILURE_RETRY (connect (fd, (struct sockaddr *)&sa, sizeof sa)) < 0)
    {
      if (errno == EAGAIN)
        return sv_error_config (err, "the %s socket accepts no connections (its backlog is full)",
                                what);
      return sv_error_errno (err, SV_EXIT_ENV, errno, "connecting to the %s socket", what);
    }
  /* Blocking again: the callers set their own timeouts or mode. */
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "fcntl");
  return steal_fd (&fd);
}

int
sv_mgr_vm_socket_connect (const char *state_dir, const char *label, const char *id,
                          const char *name, sv_error_t *err)
{
  cleanup_close int dfd = sv_mgr_vm_dir_open (state_dir, label, id, err);
  if (dfd < 0)
    return -1;
  return connect_at (dfd, name, name, err);
}

/* ---- QMP, just enough for screendump ---- */

struct qmp
{
  int fd;
  struct sv_buf in;
};

/* The next JSON line that is not an event. */
static json_t *
qmp_read (struct qmp *q, sv_error_t *err)
{
  for (;;)
    {
      char *nl = q->in.data ? memchr (q->in.data, '\n', q->in.len) : NULL;
      if (nl)
        {
          size_t n = (size_t)(nl - q->in.data) + 1;
          json_t *j = json_loadb (q->in.data, n, 0, NULL);
          memmove (q->in.data, q->in.data + n, q->in.len - n);
          q->in.len -= n;
          q->in.data[q->in.len] = '\0';
          if (j && json_object_get (j, "event"))
            {
              json_decref (j);
              continue;
            }
          if (j)
            return j;
          continue;
        }
      if (q->in.len > 1024 * 1024)
        return sv_error_config (err, "QMP: reply too long"), NULL;
      char buf[4096];
      ssize_t r = TEMP_FAILURE_RETRY (read (q->fd, buf, sizeof buf));
      if (r < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "QMP: reading"), NULL;
      if (r == 0)
        return sv_error_config (err, "QMP: QEMU closed the connection"), NULL;
      sv_buf_addn (&q->in, buf, (size_t)r);
    }
}

static int
qmp_command (struct qmp *q, json_t *cmd, sv_error_t *err)
{
  cleanup_free char *text = json_dumps (cmd, JSON_COMPACT);
  json_decref (cmd);
  size_t len = strlen (text);
  text[len] = '\0';
  if (TEMP_FAILURE_RETRY (write (q->fd, text, len)) != (ssize_t)len
      || TEMP_FAILURE_RETRY (write (q->fd, "\n", 1)) != 1)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "QMP: writing");
  json_t *reply = qmp_read (q, err);
  if (reply == NULL)
    return -1;
  json_t *e = json_object_get (reply, "error");
  int r = 0;
  if (e)
    r = sv_error_config (err, "QMP: %s",
                         json_string_value (json_object_get (e, "desc")) ?: "error");
  json_decref (reply);
  return r;
}

int
sv_mgr_screenshot (const char *state_dir, const char *label, const char *id, const char *qmp_dir,
                   char **png, size_t *len, sv_error_t *err)
{
  *png = NULL;
  *len = 0;
  cleanup_close int dfd = sv_mgr_vm_dir_open (state_dir, label, id, err);
  if (dfd < 0)
    return -1;
  struct qmp q = { .fd = connect_at (dfd, "qmp", "qmp", err) };
  if (q.fd < 0)
    return -1;
  struct timeval tv = { .tv_sec = 5 };
  setsockopt (q.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (q.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int r = -1;
  unsigned char rnd[8];
  char name[64];
  cleanup_free char *path = NULL;
  json_t *greeting = qmp_read (&q, err);
  if (greeting == NULL)
    goto out;
  json_decref (greeting);
  if (qmp_command (&q, json_pack ("{s:s}", "execute", "qmp_capabilities"), err) < 0)
    goto out;
  if (sv_mgr_random (rnd, sizeof rnd, err) < 0)
    goto out;
  snprintf (name, sizeof name, "screendump-%02x%02x%02x%02x%02x%02x%02x%02x.png", rnd[0], rnd[1],
            rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
  if (asprintf (&path, "%s/%s", qmp_dir, name) < 0)
    abort ();
  if (qmp_command (&q,
                   json_pack ("{s:s,s:{s:s,s:s}}", "execute", "screendump", "arguments", "filename",
                              path, "format", "png"),
                   err)
      < 0)
    goto out;
  {
    cleanup_close int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    unlinkat (dfd, name, 0);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) < 0)
      {
        sv_error_errno (err, SV_EXIT_ENV, errno, "reading the screendump");
        goto out;
      }
    if (!S_ISREG (st.st_mode) || st.st_size > 64 * 1024 * 1024)
      {
        sv_error_config (err, "the screendump is not a regular file of sane size");
        goto out;
      }
    struct sv_buf b = { 0 };
    char buf[65536];
    ssize_t n;
    while ((n = TEMP_FAILURE_RETRY (read (fd, buf, sizeof buf))) > 0 && b.len < 64 * 1024 * 1024)
      sv_buf_addn (&b, buf, (size_t)n);
    if (b.len < 8 || memcmp (b.data, "\x89PNG", 4) != 0)
      {
        sv_buf_free (&b);
        sv_error_config (err, "the screendump is not a PNG");
        goto out;
      }
    *len = b.len;
    *png = sv_buf_steal (&b);
    r = 0;
  }
out:
  close (q.fd);
  sv_buf_free (&q.in);
  return r;
}

/* ---- the routes ---- */

void
sv_mgr_vm_screenshot (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req,
                      struct sv_mgr_response *resp, struct sv_mgr_sink *sink)
{
  const char *id = req->vm_id;
  const char *label
      = sv_mgr_state_label (json_object_get (json_object_get (req->inspect, "Config"), "Labels"));
  const char *st
      = json_string_value (json_object_get (json_object_get (req->inspect, "State"), "Status"));
  if (st == NULL || strcmp (st, "running") != 0)
    {
      sv_mgr_resp_error (resp, 409, "VM is not running");
      return;
    }
  /* Where QEMU sees the VM's directory: status.json's qmp path names it;
   * else the default state_dir layout. */
  struct sv_mgr_vm_files f;
  sv_mgr_vm_files_read (ctx->settings->state_dir, label, id, &f);
  cleanup_free char *qdir = NULL;
  const char *qmp = json_string_value (json_object_get (f.status, "qmp"));
  if (qmp && qmp[0] == '/' && strstr (qmp, "/../") == NULL && strrchr (qmp, '/') != qmp)
    qdir = strndup (qmp, (size_t)(strrchr (qmp, '/') - qmp));
  else if (asprintf (&qdir, "/ranchervm/%s", id) < 0)
    abort ();
  bool have_qmp = f.qmp;
  sv_mgr_vm_files_free (&f);
  char *png = NULL;
  size_t len = 0;
  cleanup_error sv_error_t err = NULL;
  if (!have_qmp)
    sv_mgr_resp_error (resp, 409, "VM has no QMP socket");
  else if (sv_mgr_screenshot (ctx->settings->state_dir, label, id, qdir, &png, &len, &err) < 0)
    sv_mgr_resp_error (resp, 502, "%s", err->msg);
  else
    {
      resp->status = 200;
      resp->content_type = sv_xstrdup ("image/png");
      resp->body = png;
      resp->body_len = len;
    }
}

int
sv_mgr_console_open (struct sv_mgr_ctx *ctx, struct sv_mgr_request *req, bool vnc,
                     struct sv_mgr_response *resp, char **full_id)
{
  struct sv_docker d = { 0 };
  *full_id = NULL;
  if (!sv_mgr_open_docker (ctx, &d, resp))
    {
      sv_docker_free (&d);
      return -1;
    }
  int fd = -1;
  json_t *in = sv_mgr_vm_resolve (&d, req->id, resp);
  if (in)
    {
      const char *id = json_string_value (json_object_get (in, "Id"));
      const char *label
          = sv_mgr_state_label (json_object_get (json_object_get (in, "Config"), "Labels"));
      const char *st
          = json_string_value (json_object_get (json_object_get (in, "State"), "Status"));
      cleanup_error sv_error_t err = NULL;
      if (st == NULL || strcmp (st, "running") != 0)
        sv_mgr_resp_error (resp, 409, "VM is not running");
      else if (vnc)
        {
          fd = sv_mgr_vm_socket_connect (ctx->settings->state_dir, label, id, "vnc", &err);
          if (fd < 0)
            sv_mgr_resp_error (resp, 409, "VM has no VNC socket (%s)", err->msg);
        }
      else
        {
          long hst;
          cleanup_free char *body = NULL;
          fd = sv_docker_attach (ctx->settings->docker_socket, id, &hst, &body, &err);
          if (fd < 0)
            {
              json_t *j = body ? json_loads (body, 0, NULL) : NULL;
              if (j)
                sv_mgr_resp_docker (resp, hst, j);
              else
                sv_mgr_resp_error (resp, 502, "%s", err->msg);
              json_decref (j);
            }
        }
      if (fd >= 0)
        *full_id = sv_xstrdup (id);
    }
  json_decref (in);
  sv_docker_free (&d);
  return fd;
}
