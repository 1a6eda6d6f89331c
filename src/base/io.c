#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

void *
sv_xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
sv_xcalloc (size_t n, size_t m)
{
  void *p = calloc (n ? n : 1, m ? m : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
sv_xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
sv_xstrdup (const char *s)
{
  char *p = strdup (s ? s : "");
  if (p == NULL)
    abort ();
  return p;
}

char *
sv_xvasprintf (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  return s;
}

char *
sv_xasprintf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = sv_xvasprintf (fmt, ap);
  va_end (ap);
  return s;
}

int64_t
sv_clock_ms (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sv_now_ms (void)
{
  return sv_clock_ms (CLOCK_MONOTONIC);
}

ssize_t
sv_read_fd (int fd, void *buf, size_t size)
{
  size_t len = 0;
  while (len < size)
    {
      ssize_t n = TEMP_FAILURE_RETRY (read (fd, (char *)buf + len, size - len));
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      len += (size_t)n;
    }
  return (ssize_t)len;
}

ssize_t
sv_read_fd_alloc (int fd, size_t max, char **out)
{
  size_t cap = max < 4096 ? max + 1 : 4096, len = 0;
  cleanup_free char *buf = sv_xmalloc (cap);
  for (;;)
    {
      ssize_t n = sv_read_fd (fd, buf + len, cap - 1 - len);
      if (n < 0)
        return -1;
      len += (size_t)n;
      if (len < cap - 1 || len == max)
        break; /* end of file, or the limit */
      cap = cap - 1 > max / 2 ? max + 1 : (cap - 1) * 2 + 1;
      buf = sv_xrealloc (buf, cap);
    }
  buf[len] = '\0';
  *out = steal_pointer (&buf);
  return (ssize_t)len;
}

ssize_t
sv_read_file (const char *path, void *buf, size_t size)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  return sv_read_fd (fd, buf, size);
}

int
sv_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = TEMP_FAILURE_RETRY (write (fd, p, len));
      if (n < 0)
        return -1;
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

int
sv_mkdir_parents (const char *path, mode_t mode, bool self, sv_error_t *err)
{
  cleanup_free char *p = sv_xstrdup (path);
  for (char *s = p + 1; *s; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (p, mode) < 0 && errno != EEXIST)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "creating directory %s", p);
      *s = '/';
    }
  if (self && mkdir (p, mode) < 0 && errno != EEXIST)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating directory %s", p);
  return 0;
}
