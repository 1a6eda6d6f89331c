/* dnsmasq's log through a pipe that the supervising startvm reads.
 *
 * dnsmasq (log-facility=-) writes its lines to the pipe; startvm passes
 * each line to the status keeper (DHCPACK = lease acknowledged) and
 * forwards it to its own stderr, through the same open file description
 * as its own lines and QEMU's serial output.  One description means one
 * file offset: with stderr a regular file opened without O_APPEND
 * (`startvm > vm.log 2>&1`, systemd's StandardOutput=file:), a writer
 * with a description of its own would write at its own offset and QEMU's
 * later output would overwrite its lines.
 *
 * Writes to stderr never block the supervisor: QEMU makes that
 * description O_NONBLOCK (its stdio chardev), so with a full log pipe
 * (docker logs behind) lines wait in a queue and go when poll says so;
 * while the queue is long, the pipe is not read and dnsmasq waits. */
#ifndef SV_DNSMASQ_LOG_H
#define SV_DNSMASQ_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

#define SV_DNSMASQ_LINE_MAX 2048       /* dnsmasq's own limit is 1024 */
#define SV_DNSMASQ_QUEUE_MAX (1 << 18) /* stop reading above this */

typedef void (*sv_line_fn) (void *ctx, const char *line, size_t len);

struct sv_dnsmasq_log
{
  int rfd;    /* read end, O_NONBLOCK; -1 when closed */
  int wfd;    /* write end: dnsmasq's stderr; kept for restarts */
  int out_fd; /* where lines go: STDERR_FILENO */
  char line[SV_DNSMASQ_LINE_MAX];
  size_t line_len;
  struct sv_buf queue; /* bytes not yet written to out_fd */
  size_t queue_off;
  sv_line_fn on_line;
  void *ctx;
};

/* A pipe for dnsmasq's stderr (both ends O_CLOEXEC; dnsmasq gets wfd as
 * its fd 2).  on_line sees every complete line (without the newline). */
int sv_dnsmasq_log_open (struct sv_dnsmasq_log *l, int out_fd, sv_line_fn on_line, void *ctx,
                         sv_error_t *err);
/* Reads what is there now (never blocks), hands out lines, and writes
 * the queue.  Returns false at end of file (every writer gone). */
bool sv_dnsmasq_log_pump (struct sv_dnsmasq_log *l);
/* Writes what it can of the queue without blocking. */
void sv_dnsmasq_log_flush (struct sv_dnsmasq_log *l);
/* For poll: read the pipe?  wait for out_fd to take more? */
bool sv_dnsmasq_log_want_read (const struct sv_dnsmasq_log *l);
bool sv_dnsmasq_log_want_write (const struct sv_dnsmasq_log *l);
/* dnsmasq is gone: read the rest, forward a last partial line, and write
 * the queue, waiting at most timeout_ms for out_fd.  Closes the pipe. */
void sv_dnsmasq_log_finish (struct sv_dnsmasq_log *l, int timeout_ms);
void sv_dnsmasq_log_close (struct sv_dnsmasq_log *l);

#endif
