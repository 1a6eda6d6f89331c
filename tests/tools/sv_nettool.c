/* sv-nettool: drives observe and apply_net directly, for the netns
 * script tests (tests/netns/net_*.sh) while they do not need a plan:
 *
 *   sv-nettool observe [--interfaces a,b | --interfaces ''] [--ip-prefix P]
 *                      [--wait-ms N] [--resolv FILE]
 *   sv-nettool apply [--preflight] [--dnsmasq ARGV0] [--hold] OP...
 *
 * OPs: "bridge_add br0 [mtu]", "tap_add tap0 INDEX [mtu]",
 * "set_master eth0 br0", "mac eth0 02:..", "addr_del eth0 A/P",
 * "addr_add br0 A/P", "up X", "down X", "mtu X N".  apply observes the
 * namespace first (the host that rollback restores from).  --hold keeps
 * the taps open until stdin closes.  Errors go to stderr as startvm
 * prints them; the exit code is the error's exit class. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply_net.h"
#include "cleanup.h"
#include "observe.h"
#include "plan.h"
#include "util.h"

static int
fail (sv_error_t err)
{
  fprintf (stderr, "sv-nettool: %s\n", err ? err->msg : "unknown error");
  return sv_error_exit_code (err);
}

static void
print_state (const struct sv_net_state *s)
{
  char a[SV_IP4_STRLEN], g[SV_IP4_STRLEN], m[SV_MAC_STRLEN], p[SV_IP4_STRLEN];
  for (size_t i = 0; i < s->n_ifaces; i++)
    {
      const struct sv_iface *f = &s->ifaces[i];
      printf ("iface %s mac %s mtu %u addr %s/%u gateway %s\n", f->name, sv_mac_format (f->mac, m),
              f->mtu, sv_ip4_format (f->addr, a), f->prefix, sv_ip4_format (f->gateway, g));
      for (size_t j = 0; j < f->n_routes; j++)
        {
          const struct sv_route *r = &f->routes[j];
          printf ("route %s %s/%u via %s metric %u table %u scope %u proto %u onlink %d src %s\n",
                  f->name, sv_ip4_format (r->dst, a), r->dst_len, sv_ip4_format (r->gateway, g),
                  r->metric, r->table, r->scope, r->protocol, r->onlink,
                  sv_ip4_format (r->prefsrc, p));
        }
    }
  for (size_t i = 0; i < s->n_dns; i++)
    printf ("dns %s\n", sv_ip4_format (s->dns[i], a));
  for (size_t i = 0; i < s->n_search; i++)
    printf ("search %s\n", s->search[i]);
  printf ("hostname %s\n", s->hostname);
}

static int
parse_op (const char *text, struct sv_net_op *op)
{
  char kind[32] = "", a1[64] = "", a2[64] = "", a3[64] = "";
  memset (op, 0, sizeof *op);
  if (sscanf (text, "%31s %63s %63s %63s", kind, a1, a2, a3) < 2)
    return -1;
  snprintf (op->ifname, sizeof op->ifname, "%.15s", a1);
  char *slash = strchr (a2, '/');
  if (strcmp (kind, "bridge_add") == 0)
    {
      op->kind = SV_OP_BRIDGE_ADD;
      op->mtu = (unsigned)atoi (a2);
    }
  else if (strcmp (kind, "tap_add") == 0)
    {
      op->kind = SV_OP_TAP_ADD;
      op->index = atoi (a2);
      op->mtu = (unsigned)atoi (a3);
    }
  else if (strcmp (kind, "set_master") == 0)
    {
      op->kind = SV_OP_SET_MASTER;
      snprintf (op->master, sizeof op->master, "%.15s", a2);
    }
  else if (strcmp (kind, "mac") == 0)
    {
      op->kind = SV_OP_LINK_SET_MAC;
      if (sv_mac_parse (a2, op->mac) < 0)
        return -1;
    }
  else if (strcmp (kind, "addr_del") == 0 || strcmp (kind, "addr_add") == 0)
    {
      op->kind = kind[5] == 'd' ? SV_OP_ADDR_DEL : SV_OP_ADDR_ADD;
      if (slash == NULL)
        return -1;
      *slash = '\0';
      if (sv_ip4_parse (a2, &op->addr) < 0)
        return -1;
      op->prefix = (uint8_t)atoi (slash + 1);
    }
  else if (strcmp (kind, "up") == 0)
    op->kind = SV_OP_LINK_UP;
  else if (strcmp (kind, "down") == 0)
    op->kind = SV_OP_LINK_DOWN;
  else if (strcmp (kind, "mtu") == 0)
    {
      op->kind = SV_OP_LINK_SET_MTU;
      op->mtu = (unsigned)atoi (a2);
    }
  else
    return -1;
  return 0;
}

int
main (int argc, char **argv)
{
  cleanup_error sv_error_t err = NULL;
  struct sv_vm_config cfg = { 0 };
  cfg.network.dhcp = true;
  cfg.network.wait_ms = 60000;
  const char *resolv = "/etc/resolv.conf";
  char *ifnames[SV_MAX_IFACES + 1] = { 0 };
  bool preflight = false, hold = false;
  char *dnsmasq_argv[2] = { NULL, NULL };
  if (argc < 2)
    {
      fprintf (stderr, "usage: sv-nettool observe|apply ...\n");
      return 2;
    }
  const char *cmd = argv[1];
  int i = 2;
  for (; i < argc && strncmp (argv[i], "--", 2) == 0; i++)
    {
      const char *o = argv[i];
      const char *v = i + 1 < argc ? argv[i + 1] : "";
      if (strcmp (o, "--interfaces") == 0)
        {
          cleanup_free char *copy = sv_xstrdup (v);
          char *save = NULL;
          size_t n = 0;
          for (char *t = strtok_r (copy, ",", &save); t && n < SV_MAX_IFACES;
               t = strtok_r (NULL, ",", &save))
            ifnames[n++] = sv_xstrdup (t);
          cfg.network.interfaces = ifnames;
          cfg.network.n_interfaces = n;
          i++;
        }
      else if (strcmp (o, "--ip-prefix") == 0)
        cfg.network.ip_prefix = argv[++i];
      else if (strcmp (o, "--wait-ms") == 0)
        cfg.network.wait_ms = strtoull (argv[++i], NULL, 10);
      else if (strcmp (o, "--resolv") == 0)
        resolv = argv[++i];
      else if (strcmp (o, "--preflight") == 0)
        preflight = true;
      else if (strcmp (o, "--hold") == 0)
        hold = true;
      else if (strcmp (o, "--dnsmasq") == 0)
        dnsmasq_argv[0] = argv[++i];
      else
        {
          fprintf (stderr, "sv-nettool: unknown option %s\n", o);
          return 2;
        }
    }

  struct sv_net_state *state = sv_xcalloc (1, sizeof *state);
  int ret = 0;
  if (sv_observe_network (&cfg, resolv, state, &err) < 0)
    {
      ret = fail (err);
      goto out;
    }
  if (strcmp (cmd, "observe") == 0)
    {
      print_state (state);
      goto out;
    }
  if (strcmp (cmd, "apply") != 0)
    {
      fprintf (stderr, "sv-nettool: unknown command %s\n", cmd);
      ret = 2;
      goto out;
    }

  struct sv_host *host = sv_xcalloc (1, sizeof *host);
  host->net = *state;
  struct sv_plan plan = { 0 };
  plan.net_ops = sv_xcalloc ((size_t)argc, sizeof *plan.net_ops);
  for (; i < argc; i++)
    {
      struct sv_net_op *op = &plan.net_ops[plan.n_net_ops++];
      if (parse_op (argv[i], op) < 0)
        {
          fprintf (stderr, "sv-nettool: bad op '%s'\n", argv[i]);
          ret = 2;
          goto out_plan;
        }
      if (op->kind == SV_OP_TAP_ADD)
        plan.n_taps++;
    }
  plan.dnsmasq_argv = dnsmasq_argv[0] ? dnsmasq_argv : NULL;
  int taps[SV_MAX_IFACES];
  for (size_t t = 0; t < SV_MAX_IFACES; t++)
    taps[t] = -1;
  if (preflight && sv_net_preflight (&plan, &err) < 0)
    {
      ret = fail (err);
      goto out_plan;
    }
  if (sv_net_apply (&plan, host, taps, &err) < 0)
    {
      ret = fail (err);
      goto out_plan;
    }
  printf ("ok\n");
  fflush (stdout);
  if (hold)
    {
      char c;
      while (read (0, &c, 1) > 0)
        ;
    }
  for (size_t t = 0; t < SV_MAX_IFACES; t++)
    if (taps[t] >= 0)
      close (taps[t]);
out_plan:
  free (plan.net_ops);
  free (host);
out:
  for (size_t n = 0; n < SV_MAX_IFACES; n++)
    free (ifnames[n]);
  free (state);
  return ret;
}
