#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

void
sv_log (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *line = sv_xvasprintf (fmt, ap);
  va_end (ap);
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "startvm: ");
  sv_buf_add_escaped (&b, line, SV_ESC_LINE);
  sv_buf_addc (&b, '\n');
  fputs (b.data, stderr);
  sv_buf_free (&b);
  free (line);
}
