/* bench/status's write timer: sv_status_write (render, new temporary
 * file, write, close, rename over status.json) N times into DIR, as the
 * supervisor does at each phase change.  Prints the median, 90th
 * percentile and max in microseconds.
 *   status_write DIR N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status_file.h"

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

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: status_write DIR N\n");
      return 2;
    }
  int n = atoi (argv[2]);
  if (n < 1)
    return 2;
  struct sv_status st = { .version = 1,
                          .phase = SV_PHASE_BOOTING,
                          .exit_status = -1,
                          .supervised = true,
                          .memory_mib = 2048,
                          .cpus = 2,
                          .n_ifaces = 1 };
  snprintf (st.container_id, sizeof st.container_id, "%064d", 0);
  snprintf (st.name, sizeof st.name, "bench-vm");
  snprintf (st.accel, sizeof st.accel, "tcg");
  snprintf (st.ifaces[0].name, sizeof st.ifaces[0].name, "eth0");
  snprintf (st.ifaces[0].vm_mac, sizeof st.ifaces[0].vm_mac, "02:42:ac:11:00:02");
  st.ifaces[0].n_addresses = 1;
  snprintf (st.ifaces[0].addresses[0], sizeof st.ifaces[0].addresses[0], "172.17.0.2/16");
  st.ifaces[0].dhcp = true;
  snprintf (st.vnc, sizeof st.vnc, "/ranchervm/%064d/vnc", 0);
  st.started_ms = st.updated_ms = st.phase_since_ms = sv_status_now_ms ();
  sv_status_self (&st.pid, &st.pid_start, st.pid_ns, sizeof st.pid_ns);
  double *t = calloc ((size_t)n, sizeof *t);
  for (int i = 0; i < n; i++)
    {
      sv_error_t err = NULL;
      st.phase = (enum sv_phase) (i % 4);
      double t0 = now_us ();
      if (sv_status_write (argv[1], &st, &err) < 0)
        {
          fprintf (stderr, "status_write: %s\n", err->msg);
          return 1;
        }
      t[i] = now_us () - t0;
    }
  qsort (t, (size_t)n, sizeof *t, cmp);
  printf ("%.1f %.1f %.1f\n", t[n / 2], t[n * 9 / 10], t[n - 1]);
  free (t);
  return 0;
}
