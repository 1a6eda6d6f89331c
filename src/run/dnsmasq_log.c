/* dnsmasq's log pipe (see dnsmasq_log.h). */
#include "dnsmasq_log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"

int
sv_dnsmasq_log_open (struct sv_dnsmasq_log *l, int out_fd, sv_line_fn on_line, void *ctx,
                     sv_error_t *err)
{
  int p[2];
  memset (l, 0, sizeof *l);
  l->rfd = l->wfd = -1;
  if (pipe2 (p, O_CLOEXEC) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "pipe for dnsmasq's log");
  /* Only the read end is non-blocking: dnsmasq's writes block (it does
   * not queue or drop lines unless told to with log-async). */
  if (fcntl (p[0], F_SETFL, O_NONBLOCK) < 0)
    {
      int e = errno;
      close (p[0]);
      close (p[1]);
      return sv_error_errno (err, SV_EXIT_ENV, e, "pipe for dnsmasq's log");
    }
  l->rfd = p[0];
  l->wfd = p[1];
  l->out_fd = out_fd;
  l->on_line = on_line;
  l->ctx = ctx;
  return 0;
}

/* One line to the handler and the queue.  Bytes that would let a line
 * pretend to be two, or move the cursor on a terminal, are escaped:
 * dnsmasq logs names that DHCP clients send. */
static void
emit_line (struct sv_dnsmasq_log *l, const char *s, size_t n)
{
  if (l->on_line)
    l->on_line (l->ctx, s, n);
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char)s[i];
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        sv_buf_addf (&l->queue, "\\x%02x", c);
      else
        sv_buf_addc (&l->queue, (char)c);
    }
  sv_buf_addc (&l->queue, '\n');
}

static void
split_lines (struct sv_dnsmasq_log *l, const char *buf, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (buf[i] == '\n')
        {
          emit_line (l, l->line, l->line_len);
          l->line_len = 0;
          continue;
        }
      if (l->line_len == sizeof l->line)
        {
          emit_line (l, l->line, l->line_len);
          l->line_len = 0;
        }
      l->line[l->line_len++] = buf[i];
    }
}

void
sv_dnsmasq_log_flush (struct sv_dnsmasq_log *l)
{
  while (l->queue_off < l->queue.len)
    {
      ssize_t w = write (l->out_fd, l->queue.data + l->queue_off, l->queue.len - l->queue_off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (w <= 0)
        {
          /* stderr is gone (closed, EPIPE, EIO): nobody can read these. */
          l->queue_off = l->queue.len;
          break;
        }
      l->queue_off += (size_t)w;
    }
  l->queue.len = 0;
  l->queue_off = 0;
  if (l->queue.data)
    l->queue.data[0] = '\0';
}

bool
sv_dnsmasq_log_want_read (const struct sv_dnsmasq_log *l)
{
  return l->rfd >= 0 && l->queue.len - l->queue_off < SV_DNSMASQ_QUEUE_MAX;
}

bool
sv_dnsmasq_log_want_write (const struct sv_dnsmasq_log *l)
{
  return l->queue_off < l->queue.len;
}

bool
sv_dnsmasq_log_pump (struct sv_dnsmasq_log *l)
{
  bool open = l->rfd >= 0;
  while (l->rfd >= 0 && sv_dnsmasq_log_want_read (l))
    {
      char buf[4096];
      ssize_t r = read (l->rfd, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (r <= 0)
        {
          open = false;
          break;
        }
      split_lines (l, buf, (size_t)r);
    }
  sv_dnsmasq_log_flush (l);
  return open;
}

void
sv_dnsmasq_log_finish (struct sv_dnsmasq_log *l, int timeout_ms)
{
  if (l->rfd < 0 && l->queue.len == 0)
    return;
  /* Our write end: without it closed, the pipe never reaches EOF. */
  if (l->wfd >= 0)
    {
      close (l->wfd);
      l->wfd = -1;
    }
  int64_t deadline = sv_now_ms () + timeout_ms;
  for (;;)
    {
      bool open = sv_dnsmasq_log_pump (l);
      if (!open && l->line_len > 0)
        {
          emit_line (l, l->line, l->line_len);
          l->line_len = 0;
          sv_dnsmasq_log_flush (l);
        }
      if (!open && !sv_dnsmasq_log_want_write (l))
        break;
      int64_t left = deadline - sv_now_ms ();
      if (left <= 0)
        break;
      struct pollfd p[2];
      nfds_t n = 0;
      if (open && sv_dnsmasq_log_want_read (l))
        p[n++] = (struct pollfd){ .fd = l->rfd, .events = POLLIN };
      if (sv_dnsmasq_log_want_write (l))
        p[n++] = (struct pollfd){ .fd = l->out_fd, .events = POLLOUT };
      if (n == 0)
        break;
      if (poll (p, n, (int)left) < 0 && errno != EINTR)
        break;
    }
  sv_dnsmasq_log_close (l);
}

void
sv_dnsmasq_log_close (struct sv_dnsmasq_log *l)
{
  if (l->rfd >= 0)
    close (l->rfd);
  if (l->wfd >= 0)
    close (l->wfd);
  l->rfd = l->wfd = -1;
  sv_buf_free (&l->queue);
  l->queue_off = 0;
  l->line_len = 0;
}
