/* The API's answers: a status, a body (JSON unless content_type says
 * otherwise) and extra headers, built by the handlers and written back by
 * http.c; and Docker's refusals mapped to ours. */
#ifndef SV_MGR_RESPONSE_H
#define SV_MGR_RESPONSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct sv_mgr_response
{
  int status;
  char *content_type; /* NULL: application/json */
  char *body;
  size_t body_len;
  struct sv_strv headers; /* extra "Name: value" lines */
  bool streamed;          /* the handler wrote through the sink */
};

void sv_mgr_resp_json (struct sv_mgr_response *r, int status, json_t *body); /* steals body */
void sv_mgr_resp_error (struct sv_mgr_response *r, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* {"error": msg, "field": field} (field may be NULL). */
void sv_mgr_resp_error_field (struct sv_mgr_response *r, int status, const char *msg,
                              const char *field);
/* No body. */
void sv_mgr_resp_empty (struct sv_mgr_response *r, int status);
void sv_mgr_resp_free (struct sv_mgr_response *r);

/* Map Docker's refusal to our status: its 400/404/409 stay, anything else
 * is 502. */
int sv_mgr_docker_status (long st);
/* Docker's refusal (status and reply) in Docker's words. */
void sv_mgr_resp_docker (struct sv_mgr_response *resp, long st, json_t *reply);
/* 404 "no such VM: <id>". */
void sv_mgr_resp_no_vm (struct sv_mgr_response *resp, const char *id);

/* The most a WebSocket close frame's reason holds (RFC 6455: a 125-byte
 * payload, two of them the code). */
#define SV_MGR_CLOSE_REASON_MAX 123
/* The length of s's longest prefix of at most max bytes that ends on a
 * UTF-8 character boundary (s is valid UTF-8). */
size_t sv_mgr_utf8_prefix (const char *s, size_t max);
/* A refusal after a WebSocket upgrade, as its close frame: returns the
 * code, 4000 + the HTTP status the answer had, and puts the answer's
 * error message in reason (NUL-terminated; cut on a character boundary
 * to SV_MGR_CLOSE_REASON_MAX bytes). */
int sv_mgr_resp_close (const struct sv_mgr_response *r, char reason[SV_MGR_CLOSE_REASON_MAX + 1]);

#endif
