#include "error.h"

#include <netlink/errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int
set_error (sv_error_t *err, int exit_class, enum sv_error_source source, int code, char *msg)
{
  if (err == NULL)
    {
      free (msg);
      return -1;
    }
  sv_error_release (err);
  struct sv_error_s *e = calloc (1, sizeof *e);
  if (e == NULL)
    {
      free (msg);
      return -1;
    }
  e->code = code;
  e->source = source;
  e->exit_class = exit_class;
  e->msg = msg ? msg : strdup ("out of memory");
  *err = e;
  return -1;
}

/* A message is one line of text whatever the values in it (a file name
 * with a newline, an interface name with an escape byte): main.c prints
 * it as one log line. */
static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      {
        struct sv_buf b = { 0 };
        sv_buf_add_escaped (&b, s, SV_ESC_LINE);
        free (s);
        return sv_buf_steal (&b);
      }
  return s;
}

static char *
with_suffix (char *msg, const char *suffix)
{
  char *s = NULL;
  if (msg == NULL)
    return NULL;
  if (asprintf (&s, "%s: %s", msg, suffix) < 0)
    s = NULL;
  free (msg);
  return s;
}

int
sv_error_make (sv_error_t *err, int exit_class, enum sv_error_source source, int code,
               const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = vformat (fmt, ap);
  va_end (ap);
  return set_error (err, exit_class, source, code, msg);
}

int
sv_error_errno (sv_error_t *err, int exit_class, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = vformat (fmt, ap);
  va_end (ap);
  return set_error (err, exit_class, SV_SRC_ERRNO, errnum, with_suffix (msg, strerror (errnum)));
}

int
sv_error_nle (sv_error_t *err, int exit_class, int nle, const char *fmt, ...)
{
  if (nle < 0)
    nle = -nle;
  va_list ap;
  va_start (ap, fmt);
  char *msg = vformat (fmt, ap);
  va_end (ap);
  return set_error (err, exit_class, SV_SRC_NLE, nle, with_suffix (msg, nl_geterror (nle)));
}

int
sv_error_config (sv_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = vformat (fmt, ap);
  va_end (ap);
  return set_error (err, SV_EXIT_USAGE, SV_SRC_CONFIG, 0, msg);
}

int
sv_error_wrap (sv_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  char *ctx = vformat (fmt, ap);
  va_end (ap);
  if (ctx == NULL)
    return -1;
  char *s = NULL;
  if (asprintf (&s, "%s: %s", ctx, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = s;
    }
  free (ctx);
  return -1;
}

void
sv_error_release (sv_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

int
sv_error_exit_code (sv_error_t err)
{
  if (err == NULL || err->exit_class == 0)
    return 1;
  return err->exit_class;
}
