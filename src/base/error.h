/* sv_error_t: one error type for the whole program (crun style).
 *
 * Every fallible function returns a negative int and fills *err (its last
 * parameter).  Callers add context with sv_error_wrap(); only main.c prints
 * the message and turns exit_class into the exit code.  The message is
 * rendered once, at creation: "what failed: strerror(code)" for errno,
 * "what failed: nl_geterror(code)" for libnl, plain text for config. */
#ifndef SV_ERROR_H
#define SV_ERROR_H

#include <stdarg.h>

enum sv_exit_class
{
  SV_EXIT_OK = 0,
  SV_EXIT_USAGE = 2, /* bad usage or bad config */
  SV_EXIT_ENV = 3,   /* environment not usable: capability, device, tool, file */
  SV_EXIT_NET = 4,   /* network handoff failed */
};

enum sv_error_source
{
  SV_SRC_NONE = 0,
  SV_SRC_ERRNO,  /* code is an errno value */
  SV_SRC_NLE,    /* code is a positive libnl NLE_* value */
  SV_SRC_CONFIG, /* code is 0; the message says it all */
};

struct sv_error_s
{
  int code;
  enum sv_error_source source;
  int exit_class;
  char *msg;
};
typedef struct sv_error_s *sv_error_t;

/* All of these return -1 (or the given negative value) so callers can write
 * `return sv_error_config (err, "...")`.  If *err is already set it is
 * replaced (the old one freed). */
int sv_error_make (sv_error_t *err, int exit_class, enum sv_error_source source, int code,
                   const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
/* errno-based: appends ": strerror(errnum)". */
int sv_error_errno (sv_error_t *err, int exit_class, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* libnl-based: nle may be negative or positive; appends ": nl_geterror()". */
int sv_error_nle (sv_error_t *err, int exit_class, int nle, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* Config/usage error, exit class 2, no suffix. */
int sv_error_config (sv_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Prefix the existing message with "context: ".  Returns -1.  No-op
 * (still returns -1) when *err is NULL. */
int sv_error_wrap (sv_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Drop an expected failure.  Safe on NULL. */
void sv_error_release (sv_error_t *err);

/* Exit code for main: exit_class, or 1 when none was set. */
int sv_error_exit_code (sv_error_t err);

#endif
