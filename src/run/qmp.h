/* A minimal QMP client: enough to ask the guest to power down and to ask
 * QEMU how it is.  QMP is line-based JSON: one greeting, then one reply per
 * command, with asynchronous events ({"event": ...}) interleaved anywhere.
 * Every wait has an absolute deadline on the monotonic clock. */
#ifndef SV_QMP_H
#define SV_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct sv_qmp
{
  int fd;
  int intr_fd; /* -1, or an fd whose readability aborts any wait with EINTR */
  size_t len;  /* bytes buffered in buf */
  char buf[16384];
};

/* Prepare *q (no I/O).  intr_fd lets a caller that waits on a signalfd
 * keep its signals live during a QMP exchange. */
void sv_qmp_init (struct sv_qmp *q, int intr_fd);

/* Connect to the unix socket at path, read the greeting and negotiate
 * capabilities (qmp_capabilities).  Errors: errno-based, exit class 3;
 * code EINTR when intr_fd became readable, ETIMEDOUT at the deadline. */
int sv_qmp_connect (struct sv_qmp *q, const char *path, int64_t deadline_ms, sv_error_t *err);

/* Send {"execute": command} and wait for its reply, skipping events.
 * On success *reply (if not NULL) gets the reply line (caller frees).
 * A QMP error reply is an error whose message carries QEMU's "desc". */
int sv_qmp_execute (struct sv_qmp *q, const char *command, int64_t deadline_ms, char **reply,
                    sv_error_t *err);

/* The same with arguments (a JSON object, or NULL) and, when fd >= 0, fd
 * passed along (SCM_RIGHTS), as getfd and add-fd want. */
int sv_qmp_command (struct sv_qmp *q, const char *command, const char *arguments, int fd,
                    int64_t deadline_ms, char **reply, sv_error_t *err);

void sv_qmp_close (struct sv_qmp *q);

/* ---- pure helpers over one JSON line (unit-tested) ---- */
enum sv_qmp_kind
{
  SV_QMP_INVALID = 0, /* not a JSON object */
  SV_QMP_GREETING,    /* {"QMP": ...} */
  SV_QMP_RETURN,      /* {"return": ...} */
  SV_QMP_ERROR,       /* {"error": {"class": ..., "desc": ...}} */
  SV_QMP_EVENT,       /* {"event": ..., "timestamp": ...} */
  SV_QMP_OTHER,       /* an object with none of those members */
};
/* Classify by top-level members only: "return" nested in data is not a
 * reply. */
enum sv_qmp_kind sv_qmp_classify (const char *line);

/* Follow a path of member names (NULL-terminated) to a string value and
 * copy it decoded (UTF-8, see sv_json_string) into out, truncated between
 * UTF-8 sequences to fit.  False when absent or not a well-formed string. */
bool sv_qmp_get_string (const char *line, const char *const *path, char *out, size_t outlen);

#endif
