/* Running a helper program (qemu-img) and collecting what it prints: exec'd
 * through PATH, no shell, stdin from /dev/null. */
#ifndef SV_CAPTURE_H
#define SV_CAPTURE_H

#include <stdbool.h>

#include "error.h"
#include "util.h"

/* Each stream is kept up to 1 MiB; the rest is read and dropped. */
#define SV_CAPTURE_MAX (1 << 20)

struct sv_capture
{
  struct sv_buf out; /* NUL-terminated ("" when nothing) after sv_spawn_capture */
  struct sv_buf err;
  int status; /* waitpid status */
};

/* Runs argv to its end, collecting stdout and stderr into *c.  Fails
 * (environment error, 3) only when the program cannot be run; "not found"
 * says which package to install. */
int sv_spawn_capture (char *const *argv, struct sv_capture *c, sv_error_t *err);
void sv_capture_free (struct sv_capture *c);
/* Exited with status 0. */
bool sv_capture_ok (const struct sv_capture *c);
/* A copy of s up to its first newline: a tool's first error line. */
char *sv_first_line (const char *s);

#endif
