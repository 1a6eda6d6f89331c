/* Allocation that aborts on failure, and the few file primitives every
 * stage needs: a bounded read, a write that finishes, mkdir -p. */
#ifndef SV_IO_H
#define SV_IO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

/* Abort on out-of-memory: plain allocation failure is not a recoverable
 * condition for a container entrypoint. */
void *sv_xmalloc (size_t n);
void *sv_xcalloc (size_t n, size_t m);
void *sv_xrealloc (void *p, size_t n);
char *sv_xstrdup (const char *s);
char *sv_xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *sv_xvasprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

/* Milliseconds on a clock; sv_now_ms: on CLOCK_MONOTONIC, the clock every
 * deadline uses. */
int64_t sv_clock_ms (clockid_t clock);
int64_t sv_now_ms (void);

/* Reads fd until end of file or until size bytes are in buf, whichever
 * comes first (no NUL is added).  Returns the number of bytes read, or -1
 * with errno.  A result equal to size means "maybe more": callers that
 * must refuse a larger file read one byte more than they accept. */
ssize_t sv_read_fd (int fd, void *buf, size_t size);
/* The same into a malloc'd, NUL-terminated buffer that grows as needed,
 * never past max bytes of content.  *out is set only on success. */
ssize_t sv_read_fd_alloc (int fd, size_t max, char **out);
/* sv_read_fd on path opened read-only; -1 with errno when it cannot be
 * opened or read. */
ssize_t sv_read_file (const char *path, void *buf, size_t size);

/* Writes all len bytes (retrying short writes and EINTR); 0, or -1 with
 * errno. */
int sv_write_all (int fd, const void *buf, size_t len);

/* Creates the directories above path's last component with mode, and
 * with self path itself too; existing ones are fine. */
int sv_mkdir_parents (const char *path, mode_t mode, bool self, sv_error_t *err);

#endif
