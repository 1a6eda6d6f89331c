/* Cleanup-attribute helpers (crun/bubblewrap style).  Ownership leaves a
 * scope with steal_pointer()/steal_fd() which reset the variable. */
#ifndef SV_CLEANUP_H
#define SV_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"

static inline void
sv_cleanup_freep (void *p)
{
  void **pp = (void **)p;
  free (*pp);
}
static inline void
sv_cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}
static inline void
sv_cleanup_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}
static inline void
sv_cleanup_strvp (char ***v)
{
  if (*v)
    {
      for (char **s = *v; *s; s++)
        free (*s);
      free (*v);
    }
}
static inline void
sv_cleanup_errorp (sv_error_t *e)
{
  sv_error_release (e);
}

#define cleanup_free __attribute__ ((cleanup (sv_cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (sv_cleanup_closep)))
#define cleanup_fclose __attribute__ ((cleanup (sv_cleanup_fclosep)))
#define cleanup_strv __attribute__ ((cleanup (sv_cleanup_strvp)))
#define cleanup_error __attribute__ ((cleanup (sv_cleanup_errorp)))

/* Typed steal: returns the pointer and sets the variable to NULL. */
#define steal_pointer(pp)                                                                          \
  ({                                                                                               \
    __typeof__ (*(pp)) _sv_tmp = *(pp);                                                            \
    *(pp) = NULL;                                                                                  \
    _sv_tmp;                                                                                       \
  })
#define steal_fd(fdp)                                                                              \
  ({                                                                                               \
    int _sv_fd = *(fdp);                                                                           \
    *(fdp) = -1;                                                                                   \
    _sv_fd;                                                                                        \
  })

#ifndef TEMP_FAILURE_RETRY
#define TEMP_FAILURE_RETRY(expression)                                                             \
  (__extension__({                                                                                 \
    long int __result;                                                                             \
    do                                                                                             \
      __result = (long int)(expression);                                                           \
    while (__result == -1L && errno == EINTR);                                                     \
    __result;                                                                                      \
  }))
#endif

#endif
