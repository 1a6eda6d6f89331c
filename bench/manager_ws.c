/* bench/manager's VNC client: the same two measurements through the
 * manager's WebSocket proxy (libwebsockets client, wss) and directly on
 * the unix socket, so that neither side is slowed by a script language.
 *   manager_ws ws|wss HOST PORT PATH PASSWORD T|E BYTES|ROUNDS
 *   manager_ws unix SOCKET T|E BYTES|ROUNDS
 * T: the server streams BYTES; prints MB/s.  E: the server echoes; ROUNDS
 * round trips of one byte; prints the median in microseconds. */
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static char mode;
static long target, got, rounds, done;
static double t0, *rtt;
static int finished, failed;
static char auth[256];

static void
report (void)
{
  double t = now_us () - t0;
  if (mode == 'T')
    printf ("%.0f\n", got / t); /* bytes per us = MB/s */
  else
    {
      qsort (rtt, (size_t)rounds, sizeof *rtt, cmp);
      printf ("%.0f\n", rtt[rounds / 2]);
    }
}

static int
cb (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
  unsigned char buf[LWS_PRE + 1];
  switch (reason)
    {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
      {
        unsigned char **p = in, *end = *p + len;
        if (lws_add_http_header_by_name (wsi, (const unsigned char *)"authorization:",
                                         (const unsigned char *)auth, (int)strlen (auth), p, end))
          return -1;
        return 0;
      }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
      buf[LWS_PRE] = (unsigned char)mode;
      lws_write (wsi, buf + LWS_PRE, 1, LWS_WRITE_BINARY);
      t0 = now_us ();
      if (mode == 'E')
        lws_callback_on_writable (wsi);
      return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
      buf[LWS_PRE] = 'x';
      rtt[done] = now_us ();
      lws_write (wsi, buf + LWS_PRE, 1, LWS_WRITE_BINARY);
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
      if (mode == 'T')
        {
          got += (long)len;
          if (got >= target)
            {
              report ();
              finished = 1;
              return -1;
            }
          return 0;
        }
      rtt[done] = now_us () - rtt[done];
      if (++done == rounds)
        {
          report ();
          finished = 1;
          return -1;
        }
      lws_callback_on_writable (wsi);
      return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      fprintf (stderr, "manager_ws: %s\n", in ? (char *)in : "connection error");
      failed = finished = 1;
      return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
      finished = 1;
      return 0;
    default:
      return 0;
    }
}

static int
direct (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      perror ("connect");
      return 1;
    }
  char m = mode, b[1 << 16];
  if (write (fd, &m, 1) != 1)
    return 1;
  t0 = now_us ();
  if (mode == 'T')
    while (got < target)
      {
        ssize_t n = read (fd, b, sizeof b);
        if (n <= 0)
          break;
        got += n;
      }
  else
    for (done = 0; done < rounds; done++)
      {
        double t = now_us ();
        if (write (fd, "x", 1) != 1 || read (fd, b, 1) != 1)
          return 1;
        rtt[done] = now_us () - t;
      }
  report ();
  close (fd);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 5 && strcmp (argv[1], "unix") == 0)
    {
      mode = argv[3][0];
      target = rounds = atol (argv[4]);
      rtt = calloc ((size_t)rounds + 1, sizeof *rtt);
      return direct (argv[2]);
    }
  bool tls = argc == 8 && strcmp (argv[1], "wss") == 0;
  if (argc != 8 || (!tls && strcmp (argv[1], "ws") != 0))
    {
      fprintf (stderr,
               "usage: manager_ws ws|wss HOST PORT PATH PASSWORD T|E N | unix SOCKET T|E N\n");
      return 2;
    }
  mode = argv[6][0];
  target = rounds = atol (argv[7]);
  rtt = calloc ((size_t)rounds + 1, sizeof *rtt);
  snprintf (auth, sizeof auth, "Bearer %s", argv[5]);
  lws_set_log_level (LLL_ERR, NULL);
  static const struct lws_protocols protocols[]
      = { { "binary", cb, 0, 1 << 16, 0, NULL, 0 }, { NULL, NULL, 0, 0, 0, NULL, 0 } };
  struct lws_context_creation_info info;
  memset (&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.pt_serv_buf_size = 1 << 16; /* read 64 KiB at a time, not 4 */
  struct lws_context *ctx = lws_create_context (&info);
  struct lws_client_connect_info ci;
  memset (&ci, 0, sizeof ci);
  ci.context = ctx;
  ci.address = argv[2];
  ci.port = atoi (argv[3]);
  ci.path = argv[4];
  ci.host = ci.address;
  /* No Origin: a script, authenticated by the bearer token. */
  ci.protocol = "binary";
  ci.alpn = "http/1.1";
  ci.ssl_connection = tls ? LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED
                                | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE
                          : 0;
  if (!lws_client_connect_via_info (&ci))
    return 1;
  while (!finished)
    if (lws_service (ctx, 0) < 0)
      break;
  lws_context_destroy (ctx);
  return failed;
}
