#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "docker.h"
#include "validate.h"

void
sv_mgr_resp_json (struct sv_mgr_response *r, int status, json_t *body)
{
  r->status = status;
  free (r->body);
  r->body = body ? json_dumps (body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  r->body_len = r->body ? strlen (r->body) : 0;
  free (r->content_type);
  r->content_type = body ? sv_xstrdup ("application/json") : NULL;
  json_decref (body);
}

void
sv_mgr_resp_error_field (struct sv_mgr_response *r, int status, const char *msg, const char *field)
{
  cleanup_free char *d = sv_mgr_display (msg);
  json_t *o = json_pack ("{s:s}", "error", d);
  if (field)
    json_object_set_new (o, "field", json_string (field));
  sv_mgr_resp_json (r, status, o);
}

void
sv_mgr_resp_error (struct sv_mgr_response *r, int status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *m = NULL;
  if (vasprintf (&m, fmt, ap) < 0)
    abort ();
  va_end (ap);
  sv_mgr_resp_error_field (r, status, m, NULL);
}

void
sv_mgr_resp_free (struct sv_mgr_response *r)
{
  free (r->body);
  free (r->content_type);
  sv_strv_free (&r->headers);
  memset (r, 0, sizeof *r);
}

void
sv_mgr_resp_empty (struct sv_mgr_response *r, int status)
{
  sv_mgr_resp_json (r, status, NULL);
}

/* Map Docker's refusal to our status: its 400/404/409 stay, 304 (nothing
 * to do) is success, anything else is 502 with Docker's words. */
int
sv_mgr_docker_status (long st)
{
  if (st == 400 || st == 404 || st == 409)
    return (int)st;
  return 502;
}

void
sv_mgr_resp_docker (struct sv_mgr_response *resp, long st, json_t *reply)
{
  cleanup_free char *m = sv_docker_message (st, reply);
  sv_mgr_resp_error_field (resp, sv_mgr_docker_status (st), m, NULL);
}

void
sv_mgr_resp_no_vm (struct sv_mgr_response *resp, const char *id)
{
  cleanup_free char *d = sv_mgr_display (id ? id : "");
  sv_mgr_resp_error (resp, 404, "no such VM: %s", d);
}

size_t
sv_mgr_utf8_prefix (const char *s, size_t max)
{
  size_t n = strlen (s);
  if (n <= max)
    return n;
  /* Back off continuation bytes (10xxxxxx): s[n] then starts a character. */
  n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
    n--;
  return n;
}

int
sv_mgr_resp_close (const struct sv_mgr_response *r, char reason[SV_MGR_CLOSE_REASON_MAX + 1])
{
  json_t *j = r->body ? json_loadb (r->body, r->body_len, 0, NULL) : NULL;
  const char *m = json_string_value (json_object_get (j, "error"));
  if (m)
    {
      size_t n = sv_mgr_utf8_prefix (m, SV_MGR_CLOSE_REASON_MAX);
      memcpy (reason, m, n);
      reason[n] = '\0';
    }
  else
    snprintf (reason, SV_MGR_CLOSE_REASON_MAX + 1, "HTTP %d", r->status);
  json_decref (j);
  return 4000 + r->status;
}
