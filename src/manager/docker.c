#include "docker.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

#define MAX_REPLY (64 * 1024 * 1024)

int
sv_docker_init (struct sv_docker *d, const char *socket, sv_error_t *err)
{
  d->socket = sv_xstrdup (socket);
  d->curl = curl_easy_init ();
  if (d->curl == NULL)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "curl_easy_init failed");
  return 0;
}

void
sv_docker_free (struct sv_docker *d)
{
  if (d->curl)
    curl_easy_cleanup (d->curl);
  free (d->socket);
  d->curl = NULL;
  d->socket = NULL;
}

static size_t
collect (char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct sv_buf *b = ud;
  size_t n = size * nmemb;
  if (b->len + n > MAX_REPLY)
    return 0;
  sv_buf_addn (b, ptr, n);
  return n;
}

static void
setup (CURL *c, const char *socket, const char *url)
{
  curl_easy_reset (c);
  curl_easy_setopt (c, CURLOPT_UNIX_SOCKET_PATH, socket);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
}

int
sv_docker_request (struct sv_docker *d, const char *method, const char *path, json_t *body,
                   long timeout_s, long *status, json_t **out, sv_error_t *err)
{
  *out = NULL;
  *status = 0;
  CURL *c = d->curl;
  cleanup_free char *url = NULL;
  if (asprintf (&url, "http://docker%s%s", SV_DOCKER_API, path) < 0)
    abort ();
  setup (c, d->socket, url);
  curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
  struct curl_slist *hdrs = NULL;
  cleanup_free char *text = NULL;
  if (body)
    {
      text = json_dumps (body, JSON_COMPACT);
      hdrs = curl_slist_append (hdrs, "Content-Type: application/json");
      curl_easy_setopt (c, CURLOPT_POSTFIELDS, text);
      curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long)strlen (text));
    }
  else if (strcmp (method, "POST") == 0)
    {
      curl_easy_setopt (c, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, 0L);
    }
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);
  struct sv_buf reply = { 0 };
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &reply);
  CURLcode rc = curl_easy_perform (c);
  curl_slist_free_all (hdrs);
  if (rc != CURLE_OK)
    {
      sv_buf_free (&reply);
      if (rc == CURLE_COULDNT_CONNECT)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "cannot reach the Docker API at %s", d->socket);
      return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "Docker API %s %s: %s", method,
                            path, curl_easy_strerror (rc));
    }
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, status);
  if (reply.len > 0)
    {
      json_error_t je;
      *out = json_loadb (reply.data, reply.len, JSON_DECODE_ANY, &je);
      if (*out == NULL)
        {
          /* podman answers some errors as text: keep its words. */
          json_t *m = json_object ();
          size_t l = reply.len;
          while (l && (reply.data[l - 1] == '\n' || reply.data[l - 1] == '\r'))
            l--;
          json_object_set_new (m, "message", json_stringn (reply.data, l));
          *out = m;
          if (*status >= 200 && *status < 300)
            {
              sv_buf_free (&reply);
              json_decref (*out);
              *out = NULL;
              return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                                    "Docker API %s %s: the reply is not JSON: %s", method, path,
                                    je.text);
            }
        }
    }
  sv_buf_free (&reply);
  return 0;
}

char *
sv_docker_message (long status, json_t *reply)
{
  const char *m = json_string_value (json_object_get (reply, "message"));
  if (m && *m)
    return sv_xstrdup (m);
  char *s = NULL;
  if (asprintf (&s, "Docker API answered HTTP %ld", status) < 0)
    abort ();
  return s;
}

/* The one place a Docker path is built: fmt with each "%s" replaced by
 * its argument, URL-escaped (ids, names, filters; numbers are passed as
 * text).  Nothing else in the manager escapes for Docker. */
static char *
vpathf (const char *fmt, va_list ap)
{
  struct sv_buf b = { 0 };
  for (const char *p = fmt; *p; p++)
    if (p[0] == '%' && p[1] == 's')
      {
        char *e = curl_easy_escape (NULL, va_arg (ap, const char *), 0);
        sv_buf_add (&b, e ? e : "");
        curl_free (e);
        p++;
      }
    else
      sv_buf_addc (&b, *p);
  return sv_buf_steal (&b);
}

static char *
pathf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *path = vpathf (fmt, ap);
  va_end (ap);
  return path;
}

/* sv_docker_request on the path pathf makes of fmt and the rest. */
static int
requestf (struct sv_docker *d, const char *method, json_t *body, long timeout_s, long *status,
          json_t **out, sv_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *path = vpathf (fmt, ap);
  va_end (ap);
  return sv_docker_request (d, method, path, body, timeout_s, status, out, err);
}

int
sv_docker_list_containers (struct sv_docker *d, long *status, json_t **out, sv_error_t *err)
{
  return requestf (d, "GET", NULL, 30, status, out, err, "/containers/json?all=1");
}

int
sv_docker_stats (struct sv_docker *d, const char *id, long timeout_s, long *status, json_t **out,
                 sv_error_t *err)
{
  return requestf (d, "GET", NULL, timeout_s, status, out, err,
                   "/containers/%s/stats?stream=false&one-shot=true", id);
}

int
sv_docker_libpod_stats (struct sv_docker *d, const char *const *ids, size_t n, long timeout_s,
                        long *status, json_t **out, sv_error_t *err)
{
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "/libpod/containers/stats?stream=false");
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *one = pathf ("&containers=%s", ids[i]);
      sv_buf_add (&b, one);
    }
  int r = sv_docker_request (d, "GET", b.data, NULL, timeout_s, status, out, err);
  sv_buf_free (&b);
  return r;
}

int
sv_docker_inspect (struct sv_docker *d, const char *id, long *status, json_t **out, sv_error_t *err)
{
  return requestf (d, "GET", NULL, 30, status, out, err, "/containers/%s/json", id);
}

int
sv_docker_container_action (struct sv_docker *d, const char *id, const char *action, long grace_s,
                            long timeout_s, long *status, json_t **out, sv_error_t *err)
{
  if (grace_s < 0)
    return requestf (d, "POST", NULL, timeout_s, status, out, err, "/containers/%s/%s", id, action);
  char t[24];
  snprintf (t, sizeof t, "%ld", grace_s);
  return requestf (d, "POST", NULL, timeout_s, status, out, err, "/containers/%s/%s?t=%s", id,
                   action, t);
}

int
sv_docker_create (struct sv_docker *d, const char *name, json_t *spec, long *status, json_t **out,
                  sv_error_t *err)
{
  if (name)
    return requestf (d, "POST", spec, 60, status, out, err, "/containers/create?name=%s", name);
  return requestf (d, "POST", spec, 60, status, out, err, "/containers/create");
}

int
sv_docker_remove (struct sv_docker *d, const char *id, long *status, json_t **out, sv_error_t *err)
{
  return requestf (d, "DELETE", NULL, 60, status, out, err, "/containers/%s?force=1", id);
}

int
sv_docker_image_inspect (struct sv_docker *d, const char *image, long *status, json_t **out,
                         sv_error_t *err)
{
  return requestf (d, "GET", NULL, 30, status, out, err, "/images/%s/json", image);
}

int
sv_docker_list_images (struct sv_docker *d, long *status, json_t **out, sv_error_t *err)
{
  return requestf (d, "GET", NULL, 30, status, out, err, "/images/json?filters=%s",
                   "{\"label\":[\"io.startvm.vm=true\"]}");
}

int
sv_docker_list_networks (struct sv_docker *d, long *status, json_t **out, sv_error_t *err)
{
  return requestf (d, "GET", NULL, 30, status, out, err, "/networks");
}

int
sv_docker_network_inspect (struct sv_docker *d, const char *name, long *status, json_t **out,
                           sv_error_t *err)
{
  return requestf (d, "GET", NULL, 30, status, out, err, "/networks/%s", name);
}

int
sv_docker_volume_inspect (struct sv_docker *d, const char *name, long *status, json_t **out,
                          sv_error_t *err)
{
  return requestf (d, "GET", NULL, 30, status, out, err, "/volumes/%s", name);
}

int
sv_docker_volume_create (struct sv_docker *d, const char *name, json_t *labels, long *status,
                         json_t **out, sv_error_t *err)
{
  json_t *spec = json_pack ("{s:s}", "Name", name);
  if (labels)
    json_object_set (spec, "Labels", labels);
  int r = requestf (d, "POST", spec, 30, status, out, err, "/volumes/create");
  json_decref (spec);
  return r;
}

int
sv_docker_volume_remove (struct sv_docker *d, const char *name, long *status, json_t **out,
                         sv_error_t *err)
{
  return requestf (d, "DELETE", NULL, 30, status, out, err, "/volumes/%s", name);
}

/* ---- streaming ---- */

struct stream_state
{
  const struct sv_docker_stream_cb *cb;
  CURL *curl;
  bool status_seen;
  bool stopped;
};

static size_t
stream_write (char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct stream_state *s = ud;
  size_t n = size * nmemb;
  if (!s->status_seen)
    {
      long st = 0;
      curl_easy_getinfo (s->curl, CURLINFO_RESPONSE_CODE, &st);
      s->status_seen = true;
      if (s->cb->on_status)
        s->cb->on_status (s->cb->ctx, st);
    }
  if (!s->cb->on_data (s->cb->ctx, ptr, n))
    {
      s->stopped = true;
      return 0;
    }
  return n;
}

static size_t
stream_header (char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct stream_state *s = ud;
  size_t n = size * nmemb;
  /* The blank line ends the header: the status is final then, even when
   * no body byte follows for a long time (an idle event stream). */
  if (!s->status_seen && n <= 2 && (ptr[0] == '\r' || ptr[0] == '\n'))
    {
      long st = 0;
      curl_easy_getinfo (s->curl, CURLINFO_RESPONSE_CODE, &st);
      if (st >= 200)
        {
          s->status_seen = true;
          if (s->cb->on_status)
            s->cb->on_status (s->cb->ctx, st);
        }
    }
  return n;
}

static int
stream_progress (void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
  struct stream_state *s = ud;
  if (s->cb->keep_going && !s->cb->keep_going (s->cb->ctx))
    {
      s->stopped = true;
      return 1;
    }
  return 0;
}

static int
stream (struct sv_docker *d, const char *path, const struct sv_docker_stream_cb *cb, long *status,
        sv_error_t *err)
{
  CURL *c = d->curl;
  *status = 0;
  cleanup_free char *url = NULL;
  if (asprintf (&url, "http://docker%s%s", SV_DOCKER_API, path) < 0)
    abort ();
  setup (c, d->socket, url);
  struct stream_state s = { .cb = cb, .curl = c };
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, stream_write);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, stream_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, &s);
  curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, stream_progress);
  curl_easy_setopt (c, CURLOPT_XFERINFODATA, &s);
  curl_easy_setopt (c, CURLOPT_NOPROGRESS, 0L);
  CURLcode rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, status);
  /* A stream ended by us is not a failure; the connection is not reusable. */
  if (s.stopped)
    {
      curl_easy_cleanup (c);
      d->curl = curl_easy_init ();
      return 0;
    }
  if (rc == CURLE_COULDNT_CONNECT)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "cannot reach the Docker API at %s",
                          d->socket);
  if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "lost the connection to the Docker API at %s", d->socket);
  if (rc != CURLE_OK)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "Docker API GET %s: %s", path,
                          curl_easy_strerror (rc));
  return 0;
}

void
sv_docker_demux_feed (struct sv_docker_demux *m, const char *data, size_t len,
                      void (*out) (void *ctx, const char *data, size_t len), void *ctx)
{
  while (len > 0)
    {
      if (m->raw)
        {
          out (ctx, data, len);
          return;
        }
      if (m->remaining > 0)
        {
          size_t n = len < m->remaining ? len : m->remaining;
          unsigned kind = m->hdr[0];
          if (kind == 1 || kind == 2)
            out (ctx, data, n);
          m->remaining -= n;
          data += n;
          len -= n;
          continue;
        }
      m->hdr[m->hdr_len++] = (unsigned char)*data++;
      len--;
      if (m->hdr_len == 1 && m->hdr[0] > 2)
        {
          /* Not a frame header: a TTY stream is not multiplexed. */
          m->raw = true;
          out (ctx, (const char *)m->hdr, 1);
          m->hdr_len = 0;
          continue;
        }
      if (m->hdr_len == 8)
        {
          m->remaining = ((size_t)m->hdr[4] << 24) | ((size_t)m->hdr[5] << 16)
                         | ((size_t)m->hdr[6] << 8) | (size_t)m->hdr[7];
          m->hdr_len = 0;
        }
    }
}

int
sv_docker_logs (struct sv_docker *d, const char *id, long long tail, bool follow,
                const struct sv_docker_stream_cb *cb, long *status, sv_error_t *err)
{
  char t[24] = "all";
  if (tail >= 0)
    snprintf (t, sizeof t, "%lld", tail);
  cleanup_free char *path = pathf (follow ? "/containers/%s/logs?stdout=1&stderr=1&tail=%s&follow=1"
                                          : "/containers/%s/logs?stdout=1&stderr=1&tail=%s",
                                   id, t);
  return stream (d, path, cb, status, err);
}

int
sv_docker_events (struct sv_docker *d, const struct sv_docker_stream_cb *cb, long *status,
                  sv_error_t *err)
{
  cleanup_free char *path = pathf ("/events?filters=%s", "{\"type\":[\"container\"]}");
  return stream (d, path, cb, status, err);
}

/* ---- attach ---- */

static int
wait_fd (int fd, short ev, int ms)
{
  struct pollfd p = { .fd = fd, .events = ev };
  int r = TEMP_FAILURE_RETRY (poll (&p, 1, ms));
  return r;
}

int
sv_docker_attach (const char *sock_path, const char *id, long *status, char **body, sv_error_t *err)
{
  *status = 0;
  *body = NULL;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (sock_path) >= sizeof sa.sun_path)
    return sv_error_config (err, "Docker socket path too long: %s", sock_path);
  strcpy (sa.sun_path, sock_path);
  size_t idl = strlen (id);
  if (idl != 64 || strspn (id, "0123456789abcdef") != 64)
    return sv_error_config (err, "attach: not a full container id");
  cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "socket");
  if (TEMP_FAILURE_RETRY (connect (fd, (struct sockaddr *)&sa, sizeof sa)) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "Docker API at %s", sock_path);
  cleanup_free char *path = pathf ("/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1", id);
  char req[512];
  int rl = snprintf (req, sizeof req,
                     "POST " SV_DOCKER_API "%s HTTP/1.1\r\n"
                     "Host: docker\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                     "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n",
                     path);
  for (int off = 0; off < rl;)
    {
      ssize_t w = TEMP_FAILURE_RETRY (write (fd, req + off, (size_t)(rl - off)));
      if (w < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "Docker API attach");
      off += (int)w;
    }
  /* The reply's header, a byte at a time so that no byte of the stream
   * that follows is read here. */
  char hdr[8192];
  size_t hl = 0;
  while (hl < sizeof hdr - 1)
    {
      if (wait_fd (fd, POLLIN, 5000) <= 0)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "Docker API attach: no reply within 5 s");
      ssize_t r = TEMP_FAILURE_RETRY (read (fd, hdr + hl, 1));
      if (r <= 0)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "Docker API attach: connection closed");
      hl++;
      if (hl >= 4 && memcmp (hdr + hl - 4, "\r\n\r\n", 4) == 0)
        break;
    }
  hdr[hl] = '\0';
  if (sscanf (hdr, "HTTP/%*d.%*d %ld", status) != 1)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "Docker API attach: not an HTTP reply");
  if (*status == 101 || *status == 200)
    return steal_fd (&fd);
  /* An error: keep what the body says (a short JSON message). */
  struct sv_buf b = { 0 };
  char buf[4096];
  while (b.len < 16384 && wait_fd (fd, POLLIN, 200) > 0)
    {
      ssize_t r = TEMP_FAILURE_RETRY (read (fd, buf, sizeof buf));
      if (r <= 0)
        break;
      sv_buf_addn (&b, buf, (size_t)r);
    }
  *body = sv_buf_steal (&b);
  return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "Docker API attach: HTTP %ld", *status);
}
