/* Minimal QMP client (see qmp.h).  QEMU's QMP server talks one client at a
 * time: a second client is accepted by the kernel but gets no greeting
 * until the first one leaves, so every wait here has a deadline. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "qmp.h"
#include "util.h"

void
sv_qmp_init (struct sv_qmp *q, int intr_fd)
{
  q->fd = -1;
  q->intr_fd = intr_fd;
  q->len = 0;
}

void
sv_qmp_close (struct sv_qmp *q)
{
  if (q->fd >= 0)
    close (q->fd);
  q->fd = -1;
  q->len = 0;
}

static bool
has_member (const char *line, size_t len, const char *key)
{
  const char *v;
  size_t vl;
  return sv_json_member (line, len, key, &v, &vl);
}

enum sv_qmp_kind
sv_qmp_classify (const char *line)
{
  size_t len = strlen (line);
  if (!sv_json_is_object (line, len))
    return SV_QMP_INVALID;
  if (has_member (line, len, "return"))
    return SV_QMP_RETURN;
  if (has_member (line, len, "error"))
    return SV_QMP_ERROR;
  if (has_member (line, len, "event"))
    return SV_QMP_EVENT;
  if (has_member (line, len, "QMP"))
    return SV_QMP_GREETING;
  return SV_QMP_OTHER;
}

bool
sv_qmp_get_string (const char *line, const char *const *path, char *out, size_t outlen)
{
  const char *v = line;
  size_t vl = strlen (line);
  for (; *path; path++)
    if (!sv_json_member (v, vl, *path, &v, &vl))
      return false;
  struct sv_buf s = { 0 };
  if (outlen == 0 || !sv_json_string (v, vl, &s))
    {
      sv_buf_free (&s);
      return false;
    }
  size_t n = s.len < outlen - 1 ? s.len : outlen - 1;
  /* Truncate between UTF-8 sequences, not inside one. */
  if (n < s.len)
    while (n > 0 && ((unsigned char)s.data[n] & 0xc0) == 0x80)
      n--;
  memcpy (out, s.data, n);
  out[n] = '\0';
  sv_buf_free (&s);
  return true;
}

/* ---- I/O ---- */

/* Wait until fd has events or the deadline passes.  Returns 0 when ready,
 * -1 with *err (ETIMEDOUT, EINTR for intr_fd, or poll's errno). */
static int
wait_fd (struct sv_qmp *q, short events, int64_t deadline_ms, const char *what, sv_error_t *err)
{
  for (;;)
    {
      struct pollfd p[2]
          = { { .fd = q->fd, .events = events }, { .fd = q->intr_fd, .events = POLLIN } };
      int64_t left = deadline_ms - sv_now_ms ();
      if (left <= 0)
        return sv_error_errno (err, SV_EXIT_ENV, ETIMEDOUT, "QMP: %s", what);
      int r = poll (p, q->intr_fd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "QMP: poll");
      if (q->intr_fd >= 0 && (p[1].revents & POLLIN))
        return sv_error_errno (err, SV_EXIT_ENV, EINTR, "QMP: %s", what);
      if (p[0].revents)
        return 0;
    }
}

/* Next line (without "\r\n") into a malloc'd string. */
static int
read_line (struct sv_qmp *q, int64_t deadline_ms, char **line, sv_error_t *err)
{
  for (;;)
    {
      char *nl = memchr (q->buf, '\n', q->len);
      if (nl)
        {
          size_t n = (size_t)(nl - q->buf);
          size_t keep = n;
          while (keep > 0 && q->buf[keep - 1] == '\r')
            keep--;
          char *s = sv_xmalloc (keep + 1);
          memcpy (s, q->buf, keep);
          s[keep] = '\0';
          q->len -= n + 1;
          memmove (q->buf, nl + 1, q->len);
          *line = s;
          return 0;
        }
      if (q->len == sizeof q->buf)
        return sv_error_errno (err, SV_EXIT_ENV, EMSGSIZE, "QMP: line longer than %zu bytes",
                               sizeof q->buf);
      if (wait_fd (q, POLLIN, deadline_ms, "waiting for QEMU", err) < 0)
        return -1;
      ssize_t r = recv (q->fd, q->buf + q->len, sizeof q->buf - q->len, MSG_DONTWAIT);
      if (r < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (r < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "QMP: read");
      if (r == 0)
        return sv_error_errno (err, SV_EXIT_ENV, ECONNRESET, "QMP: QEMU closed the connection");
      q->len += (size_t)r;
    }
}

static int
send_all (struct sv_qmp *q, const char *s, int64_t deadline_ms, sv_error_t *err)
{
  size_t n = strlen (s);
  while (n > 0)
    {
      /* MSG_NOSIGNAL: a QEMU that just died must not kill us with SIGPIPE. */
      ssize_t r = send (q->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r < 0 && errno == EAGAIN)
        {
          if (wait_fd (q, POLLOUT, deadline_ms, "sending", err) < 0)
            return -1;
          continue;
        }
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "QMP: write");
      s += r;
      n -= (size_t)r;
    }
  return 0;
}

/* The first byte goes with fd as SCM_RIGHTS (QEMU takes the fd from the
 * message that carries the command's first bytes, for getfd). */
static int
send_fd (struct sv_qmp *q, const char *s, int fd, int64_t deadline_ms, sv_error_t *err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  memset (&u, 0, sizeof u);
  struct iovec iov = { .iov_base = (void *)s, .iov_len = 1 };
  struct msghdr m
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR (&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof fd);
  for (;;)
    {
      ssize_t r = sendmsg (q->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r == 1)
        return send_all (q, s + 1, deadline_ms, err);
      if (r < 0 && errno == EAGAIN)
        {
          if (wait_fd (q, POLLOUT, deadline_ms, "sending", err) < 0)
            return -1;
          continue;
        }
      if (r < 0 && errno == EINTR)
        continue;
      return sv_error_errno (err, SV_EXIT_ENV, r < 0 ? errno : EIO, "QMP: sendmsg");
    }
}

int
sv_qmp_command (struct sv_qmp *q, const char *command, const char *arguments, int fd,
                int64_t deadline_ms, char **reply, sv_error_t *err)
{
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "{\"execute\": ");
  sv_buf_add_json_string (&b, command);
  if (arguments)
    {
      sv_buf_add (&b, ", \"arguments\": ");
      sv_buf_add (&b, arguments);
    }
  sv_buf_add (&b, "}\n");
  int r = fd >= 0 ? send_fd (q, b.data, fd, deadline_ms, err)
                  : send_all (q, b.data, deadline_ms, err);
  sv_buf_free (&b);
  if (r < 0)
    return sv_error_wrap (err, "%s", command);
  for (;;)
    {
      cleanup_free char *line = NULL;
      if (read_line (q, deadline_ms, &line, err) < 0)
        return sv_error_wrap (err, "%s", command);
      switch (sv_qmp_classify (line))
        {
        case SV_QMP_RETURN:
          if (reply)
            *reply = steal_pointer (&line);
          return 0;
        case SV_QMP_ERROR:
          {
            static const char *const desc[] = { "error", "desc", NULL };
            char text[256];
            if (!sv_qmp_get_string (line, desc, text, sizeof text))
              snprintf (text, sizeof text, "%s", line);
            return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0, "QMP: %s: %s", command, text);
          }
        default:
          /* Events (and anything unknown) may come at any time. */
          continue;
        }
    }
}

int
sv_qmp_execute (struct sv_qmp *q, const char *command, int64_t deadline_ms, char **reply,
                sv_error_t *err)
{
  return sv_qmp_command (q, command, NULL, -1, deadline_ms, reply, err);
}

int
sv_qmp_connect (struct sv_qmp *q, const char *path, int64_t deadline_ms, sv_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sa.sun_path)
    return sv_error_errno (err, SV_EXIT_ENV, ENAMETOOLONG, "QMP socket %s", path);
  strcpy (sa.sun_path, path);

  sv_qmp_close (q);
  q->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (q->fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "QMP: socket");
  if (TEMP_FAILURE_RETRY (connect (q->fd, (struct sockaddr *)&sa, sizeof sa)) < 0)
    {
      int e = errno;
      sv_qmp_close (q);
      return sv_error_errno (err, SV_EXIT_ENV, e, "QMP: connecting to %s", path);
    }
  for (;;)
    {
      cleanup_free char *line = NULL;
      if (read_line (q, deadline_ms, &line, err) < 0)
        {
          sv_qmp_close (q);
          return sv_error_wrap (err, "greeting from %s", path);
        }
      enum sv_qmp_kind k = sv_qmp_classify (line);
      if (k == SV_QMP_GREETING)
        break;
      if (k != SV_QMP_EVENT)
        {
          sv_qmp_close (q);
          return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                                "QMP: %s: expected a greeting, got: %.80s", path, line);
        }
    }
  if (sv_qmp_execute (q, "qmp_capabilities", deadline_ms, NULL, err) < 0)
    {
      sv_qmp_close (q);
      return -1;
    }
  return 0;
}
