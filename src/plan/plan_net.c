/* plan_net: the network half of the plan (docs/networking.md "How the handoff works"):
 * per observed interface N, the steps that move the container NIC onto
 * bridge brN next to tapN, the -netdev/-device arguments that give the VM
 * the container's original MAC, and the dnsmasq.conf that hands the VM the
 * container's address.  Pure, like plan.c.
 *
 * Every string written into dnsmasq.conf is either formatted by us
 * (addresses, MACs, brN) or checked against a strict character set first
 * (hostname, search domains): nothing observed can add a line or a field. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "handoff.h"
#include "ip6.h"
#include "plan.h"
#include "plan_internal.h"
#include "plan_net6.h"

#define OPS_PER_IFACE (11 + SV_PLAN6_OPS_PER_IFACE)
#define DEFAULT_MTU 1500

/* Bit k of an address, counted from the most significant bit, 1-based:
 * flipping it gives the address in the sibling subnet of size /k. */
static uint32_t
bit_from_msb (unsigned k)
{
  return (uint32_t)1 << (32 - k);
}

static bool
same_net (uint32_t a, uint32_t b, unsigned prefix)
{
  uint32_t m = sv_ip4_netmask (prefix);
  return (a & m) == (b & m);
}

/* A bridge address must be a plain unicast host address of its own /bp
 * network: not the VM's or the gateway's, not in 0.0.0.0/8 ("this
 * network"), 127.0.0.0/8 (loopback) or 224.0.0.0/3 (multicast, reserved,
 * broadcast), which flipping a high bit can reach, and (for networks that
 * have them) not the network or broadcast address, which the kernel and
 * dnsmasq treat specially. */
static bool
usable_bridge (uint32_t c, unsigned bp, uint32_t vm, uint32_t gw)
{
  if (c == vm || c == gw)
    return false;
  if ((c >> 24) == 0 || (c >> 24) == 127 || (c >> 29) == 7)
    return false;
  if (bp <= 30)
    {
      uint32_t hostmask = ~sv_ip4_netmask (bp);
      if ((c & hostmask) == 0 || (c & hostmask) == hostmask)
        return false;
    }
  return true;
}

/* The bridge is bridged onto the container network, so its address must
 * not be one another host on the VM's subnet could have (two VM containers
 * on one network would answer each other's ARP), and dnsmasq must still
 * match it to the VM's dhcp-range: it accepts the interface when the
 * interface address and the range start share a network under the range's
 * netmask.  So: flip bit k of the VM address, k = prefix first (the sibling
 * /prefix subnet), and use prefix k-1, which holds both.  The only
 * candidate that can collide is an off-subnet gateway (Calico's
 * 169.254.1.1), and candidates for different k are all different, so the
 * next k always does.  The mapping vm -> bridge is one-to-one for a given
 * k, so two VMs on one network never get the same bridge address.
 *
 * /1 (and a /2 or /3 whose siblings are the gateway or not unicast, such
 * as 236.x.x.x for 172.x.x.x/2) leave no sibling with a netmask dnsmasq
 * can use (/0): then the bridge takes prefix 1, inside the VM's /1 (for
 * prefix 1 no address outside it shares any usable network). */
uint32_t
sv_plan_bridge_addr (uint32_t vm_addr, uint8_t prefix, uint32_t gateway, uint8_t *bridge_prefix)
{
  unsigned p = prefix < 1 ? 1 : prefix > 32 ? 32 : prefix;
  for (unsigned k = p; k >= 2; k--)
    {
      uint32_t c = vm_addr ^ bit_from_msb (k);
      if (usable_bridge (c, k - 1, vm_addr, gateway))
        {
          *bridge_prefix = (uint8_t)(k - 1);
          return c;
        }
    }
  /* Prefix 1 is the widest network dnsmasq can use, so from here on any
   * unicast address of the VM's /1 will do (outside the VM's own subnet
   * when that is smaller): search the neighbouring /8s, nearest first. */
  for (uint32_t hi = 1; hi < 128; hi++)
    for (uint32_t lo = 0; lo < 2; lo++)
      {
        uint32_t c = vm_addr ^ (hi << 24) ^ lo;
        if ((p >= 2 && same_net (c, vm_addr, p)) || !usable_bridge (c, 1, vm_addr, gateway))
          continue;
        *bridge_prefix = 1;
        return c;
      }
  /* Not reached: the /8s next to any address hold usable ones. */
  *bridge_prefix = 1;
  return vm_addr ^ 0x01000000u;
}

void
sv_net_op_format (const struct sv_net_op *op, struct sv_buf *b)
{
  char ip[SV_IP4_STRLEN], mac[SV_MAC_STRLEN], ip6[SV_IP6_STRLEN];
  switch (op->kind)
    {
    case SV_OP_LINK_DOWN:
      sv_buf_addf (b, "link set %s down", op->ifname);
      break;
    case SV_OP_LINK_SET_MAC:
      sv_buf_addf (b, "link set %s address %s", op->ifname, sv_mac_format (op->mac, mac));
      break;
    case SV_OP_ADDR_DEL:
      sv_buf_addf (b, "addr del %s/%u dev %s", sv_ip4_format (op->addr, ip), op->prefix,
                   op->ifname);
      break;
    case SV_OP_BRIDGE_ADD:
      sv_buf_addf (b, "link add %s type bridge mtu %u", op->ifname, op->mtu);
      if (op->alias[0])
        sv_buf_addf (b, " alias '%s'", op->alias);
      break;
    case SV_OP_TAP_ADD:
      sv_buf_addf (b, "tuntap add %s mtu %u", op->ifname, op->mtu);
      break;
    case SV_OP_SET_MASTER:
      sv_buf_addf (b, "link set %s master %s", op->ifname, op->master);
      break;
    case SV_OP_LINK_SET_MTU:
      sv_buf_addf (b, "link set %s mtu %u", op->ifname, op->mtu);
      break;
    case SV_OP_LINK_UP:
      sv_buf_addf (b, "link set %s up", op->ifname);
      break;
    case SV_OP_ADDR_ADD:
      sv_buf_addf (b, "addr add %s/%u dev %s", sv_ip4_format (op->addr, ip), op->prefix,
                   op->ifname);
      break;
    case SV_OP_RA_FILTER:
      sv_buf_addf (b,
                   "nft bridge table startvm_%s: drop our router advertisements and DHCPv6 "
                   "replies out of %s",
                   op->ifname, op->ifname);
      break;
    case SV_OP_ADDR6_DEL:
      sv_buf_addf (b, "addr del %s/%u dev %s", sv_ip6_format (op->addr6, ip6), op->prefix,
                   op->ifname);
      break;
    case SV_OP_FORWARD6:
      sv_buf_add (b, "sysctl net.ipv6.conf.all.forwarding=1");
      break;
    case SV_OP_ADDR6_ADD:
      sv_buf_addf (b, "addr add %s/%u dev %s nodad", sv_ip6_format (op->addr6, ip6), op->prefix,
                   op->ifname);
      break;
    case SV_OP_ROUTE6_ADD:
      sv_buf_add (b, "route add ");
      if (op->route6.dst_len == 0)
        sv_buf_add (b, "default");
      else
        sv_buf_addf (b, "%s/%u", sv_ip6_format (op->route6.dst, ip6), op->route6.dst_len);
      if (!sv_ip6_is_zero (op->route6.gateway))
        sv_buf_addf (b, " via %s", sv_ip6_format (op->route6.gateway, ip6));
      sv_buf_addf (b, " dev %s", op->ifname);
      if (op->route6.metric)
        sv_buf_addf (b, " metric %u", op->route6.metric);
      break;
    default:
      sv_buf_addf (b, "unknown step %d on %s", (int)op->kind, op->ifname);
      break;
    }
}

/* ---- names that may go into dnsmasq.conf ---- */

/* One DNS label as dnsmasq's legal_hostname() takes it: a letter or digit,
 * then letters, digits, '-' or '_'.  Stops at '.' or the end. */
static size_t
label_len (const char *s)
{
  size_t n = 0;
  if (!isalnum ((unsigned char)s[0]))
    return 0;
  while (s[n] && s[n] != '.')
    {
      unsigned char c = (unsigned char)s[n];
      if (!(isalnum (c) || c == '-' || c == '_') || c > 0x7f)
        return 0;
      n++;
    }
  return n <= 63 ? n : 0;
}

/* A search domain for options 119 and 15.  All digits and dots would be
 * taken by dnsmasq for an IP address, and no real domain looks like that. */
static bool
valid_domain (const char *s)
{
  size_t total = strlen (s);
  if (total == 0 || total > 253 || strspn (s, "0123456789.") == total)
    return false;
  const char *p = s;
  for (;;)
    {
      size_t n = label_len (p);
      if (n == 0)
        return false;
      p += n;
      if (*p == '\0')
        return true;
      p++; /* '.' */
    }
}

/* The VM's hostname goes in the dhcp-host line, whose fields dnsmasq tells
 * apart by shape: a label of digits with an optional s/m/h/d/w unit, or
 * "infinite"/"ignore", would be read as a lease time, so those (rare as
 * hostnames) are not sent.  Only the first label is sent: dnsmasq refuses
 * a dhcp-host name whose domain it was not told about, and the search
 * domains go out as options 119 and 15 anyway.  Writes it into out
 * (>= 64 bytes) and returns true when there is one to send. */
static bool
dhcp_hostname (const char *hostname, char *out)
{
  size_t n = label_len (hostname);
  if (n == 0 || (hostname[n] != '\0' && hostname[n] != '.'))
    return false;
  memcpy (out, hostname, n);
  out[n] = '\0';
  size_t digits = strspn (out, "0123456789");
  if (digits == n || (digits == n - 1 && digits > 0 && strchr ("smhdwSMHDW", out[n - 1])))
    return false;
  if (strcmp (out, "infinite") == 0 || strcmp (out, "ignore") == 0)
    return false;
  return true;
}

/* ---- dnsmasq.conf ---- */

static void
add_route_entry (struct sv_buf *b, uint32_t dst, unsigned len, uint32_t gw)
{
  char d[SV_IP4_STRLEN], g[SV_IP4_STRLEN];
  sv_buf_addf (b, ",%s/%u,%s", sv_ip4_format (dst, d), len, sv_ip4_format (gw, g));
}

/* The classless static routes (RFC 3442) for one interface, as
 * ",dst/len,gateway" entries; empty when option 3 says it all.  Order
 * matters to clients that install routes one by one: on-link routes first
 * (a gateway must be reachable before a route through it), then routes via
 * gateways, the default last.  When this is sent, RFC 3442 tells clients
 * to ignore option 3, so the default route is in it too. */
static void
classless_routes (const struct sv_iface *ifc, bool gw_on_subnet, struct sv_buf *out)
{
  size_t n = ifc->n_routes < SV_MAX_ROUTES ? ifc->n_routes : SV_MAX_ROUTES;
  bool off_subnet_gw = ifc->gateway != 0 && !gw_on_subnet;
  bool extra = false, gw_reachable = false;
  for (size_t r = 0; r < n; r++)
    if (sv_handoff_is_extra_route (ifc, r))
      {
        extra = true;
        if (ifc->routes[r].gateway == 0
            && same_net (ifc->gateway, ifc->routes[r].dst, ifc->routes[r].dst_len))
          gw_reachable = true;
      }
  if (!extra && !off_subnet_gw)
    return;

  /* Calico gives the pod "169.254.1.1 dev eth0 scope link"; a runtime that
   * only marks the default route onlink does not, and the VM needs it. */
  if (off_subnet_gw && !gw_reachable)
    add_route_entry (out, ifc->gateway, 32, 0);
  for (size_t r = 0; r < n; r++)
    if (sv_handoff_is_extra_route (ifc, r) && ifc->routes[r].gateway == 0)
      add_route_entry (out, ifc->routes[r].dst & sv_ip4_netmask (ifc->routes[r].dst_len),
                       ifc->routes[r].dst_len, 0);
  for (size_t r = 0; r < n; r++)
    if (sv_handoff_is_extra_route (ifc, r) && ifc->routes[r].gateway != 0)
      add_route_entry (out, ifc->routes[r].dst & sv_ip4_netmask (ifc->routes[r].dst_len),
                       ifc->routes[r].dst_len, ifc->routes[r].gateway);
  if (ifc->gateway != 0)
    add_route_entry (out, 0, 0, ifc->gateway);
}

/* The valid search domains as ",a,b" (a warning for each other one);
 * returns the first, or NULL. */
static const char *
search_list (const struct sv_net_state *net, struct sv_plan *p, struct sv_buf *out)
{
  const char *first = NULL;
  for (size_t s = 0; s < net->n_search && s < SV_MAX_SEARCH; s++)
    {
      if (!valid_domain (net->search[s]))
        {
          sv_plan_add_warning (p,
                               "search domain #%zu is not a valid domain name: not offered to "
                               "the VM",
                               s + 1);
          continue;
        }
      if (first == NULL)
        first = net->search[s];
      sv_buf_addf (out, ",%s", net->search[s]);
    }
  return first;
}

static void
build_dnsmasq_conf (const struct sv_host *host, char (*brname)[IFNAMSIZ], const uint8_t *bprefix,
                    struct sv_plan *p, struct sv_buf *c)
{
  const struct sv_net_state *net = &host->net;
  char a[SV_IP4_STRLEN], m[SV_IP4_STRLEN], mac[SV_MAC_STRLEN];

  sv_buf_add (c, "# Written by startvm: DHCP for the VM only, on its bridges.\n"
                 "# No DNS service (port=0), no lease file, logs on stderr.\n"
                 "port=0\n"
                 "no-resolv\n"
                 "no-hosts\n"
                 "leasefile-ro\n"
                 "log-facility=-\n"
                 "log-dhcp\n"
                 "# No pid file: startvm holds the pid.\n"
                 "pid-file\n"
                 "bind-interfaces\n");
  for (size_t i = 0; i < net->n_ifaces; i++)
    sv_buf_addf (c, "interface=%s\n", brname[i]);
  sv_buf_add (c, "dhcp-authoritative\n"
                 "# Answer only the VM's MAC, never other hosts on the container network.\n"
                 "dhcp-ignore=tag:!known\n");
  bool any6 = false;
  for (size_t i = 0; i < net->n_ifaces; i++)
    any6 = any6 || sv_plan6_served (&net->ifaces[i], true);
  if (any6)
    sv_buf_add (c, "# Router advertisements on the bridges (an nftables rule keeps them,\n"
                   "# and the DHCPv6 replies, off the container network).\n"
                   "enable-ra\n");

  for (size_t i = 0; i < net->n_ifaces; i++)
    {
      const struct sv_iface *ifc = &net->ifaces[i];
      unsigned pre = ifc->prefix;
      uint32_t mask = sv_ip4_netmask (pre);
      bool gw_on_subnet = ifc->gateway != 0 && ifc->gateway != ifc->addr
                          && same_net (ifc->gateway, ifc->addr, pre);

      bool has4 = ifc->addr != 0, served6 = sv_plan6_served (ifc, true);
      sv_buf_add (c, "\n");
      if (has4)
        {
          sv_buf_addf (c, "# %s -> %s: the VM gets %s/%u%s\n", ifc->name, brname[i],
                       sv_ip4_format (ifc->addr, a), pre,
                       ifc->resumed ? " (resumed from the bridge's alias)" : "");
          /* The range's netmask is the bridge's, so dnsmasq matches br<i>
           * to it (see sv_plan_bridge_addr); the VM's real netmask goes
           * out as option 1 below. */
          sv_buf_addf (c, "dhcp-range=set:br%zu,%s,static,%s,infinite\n", i, a,
                       sv_ip4_format (sv_ip4_netmask (bprefix[i]), m));
        }
      if (ifc->has_addr6)
        sv_plan6_dnsmasq (host, i, brname[i], p, c);
      /* One dhcp-host line for both families: the VM is known by its MAC
       * to DHCPv4 and DHCPv6 alike. */
      sv_buf_addf (c, "dhcp-host=%s,set:vm%zu", sv_mac_format (ifc->mac, mac), i);
      if (has4)
        sv_buf_addf (c, ",%s", a);
      if (served6)
        {
          char a6[SV_IP6_STRLEN];
          sv_buf_addf (c, ",[%s]", sv_ip6_format (ifc->addr6, a6));
        }
      char hn[64];
      if (i == 0 && net->hostname[0])
        {
          if (dhcp_hostname (net->hostname, hn))
            sv_buf_addf (c, ",%s", hn);
          else
            sv_plan_add_warning (p, "hostname is not a name DHCP can carry (letters, digits, '-', "
                                    "'_'; not all digits): the VM gets no hostname option");
        }
      sv_buf_add (c, ",infinite\n");
      if (!has4)
        {
          struct sv_buf search = { 0 };
          if (i == 0 && served6)
            search_list (net, p, &search);
          if (search.len > 0)
            sv_buf_addf (c, "dhcp-option=tag:%s,option6:domain-search%s\n", brname[i], search.data);
          sv_buf_free (&search);
          continue;
        }

      sv_buf_addf (c, "dhcp-option=tag:vm%zu,1,%s\n", i, sv_ip4_format (mask, m));
      /* By number: dnsmasq refuses option:broadcast by name, and would
       * otherwise derive it from the bridge's netmask.  /31 and /32 have
       * no broadcast address of their own (RFC 3021): the limited one. */
      uint32_t bcast = pre >= 31 ? 0xffffffffu : (ifc->addr | ~mask);
      sv_buf_addf (c, "dhcp-option=tag:vm%zu,28,%s\n", i, sv_ip4_format (bcast, m));

      /* Without an explicit router option dnsmasq offers its own (bridge)
       * address as the router: an empty option 3 sends none. */
      if (gw_on_subnet)
        sv_buf_addf (c, "dhcp-option=tag:vm%zu,3,%s\n", i, sv_ip4_format (ifc->gateway, m));
      else
        sv_buf_addf (c, "dhcp-option=tag:vm%zu,3\n", i);

      struct sv_buf routes = { 0 };
      classless_routes (ifc, gw_on_subnet, &routes);
      if (routes.len > 0)
        {
          sv_buf_addf (c, "dhcp-option=tag:vm%zu,121%s\n", i, routes.data);
          /* 249: the same routes for Windows before Vista, which asked for
           * Microsoft's pre-standard option.  dnsmasq sends an option only
           * to clients that request it, so others never see it. */
          sv_buf_addf (c, "dhcp-option=tag:vm%zu,249%s\n", i, routes.data);
        }
      sv_buf_free (&routes);

      if (i == 0)
        {
          struct sv_buf dns = { 0 };
          for (size_t d = 0; d < net->n_dns && d < SV_MAX_DNS; d++)
            {
              uint32_t s = net->dns[d];
              if (s == 0 || (s >> 24) == 127)
                {
                  sv_plan_add_warning (p,
                                       "nameserver %s is the container's own loopback (Docker's "
                                       "embedded DNS on user-defined networks): the VM cannot "
                                       "reach it, so it is not offered",
                                       sv_ip4_format (s, a));
                  continue;
                }
              sv_buf_addf (&dns, ",%s", sv_ip4_format (s, a));
            }
          if (dns.len > 0)
            sv_buf_addf (c, "dhcp-option=tag:vm%zu,6%s\n", i, dns.data);
          sv_buf_free (&dns);

          struct sv_buf search = { 0 };
          const char *first = search_list (net, p, &search);
          if (search.len > 0)
            {
              sv_buf_addf (c, "dhcp-option=tag:vm%zu,119%s\n", i, search.data);
              sv_buf_addf (c, "dhcp-option=tag:vm%zu,15,%s\n", i, first);
            }
          /* DHCPv6 option 24 and the RA's DNSSL (tagged like the IPv6
           * DNS servers, see sv_plan6_dnsmasq). */
          if (search.len > 0 && sv_plan6_served (ifc, true))
            sv_buf_addf (c, "dhcp-option=tag:%s,option6:domain-search%s\n", brname[i], search.data);
          sv_buf_free (&search);
        }
      sv_buf_addf (c, "dhcp-option=tag:vm%zu,26,%u\n", i, ifc->mtu ? ifc->mtu : DEFAULT_MTU);
    }
}

/* ---- the handoff steps and the NICs ---- */

static struct sv_net_op *
new_op (struct sv_plan *p, enum sv_net_op_kind kind, const char *ifname, size_t index)
{
  struct sv_net_op *op = &p->net_ops[p->n_net_ops++];
  memset (op, 0, sizeof *op);
  op->kind = kind;
  op->index = (int)index;
  snprintf (op->ifname, sizeof op->ifname, "%s", ifname);
  return op;
}

static bool
is_virtio_net (const char *model)
{
  return strncmp (model, "virtio-net", 10) == 0;
}

int
sv_plan_net (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
             struct sv_plan *out, sv_error_t *err)
{
  const struct sv_net_state *net = &host->net;
  size_t n = net->n_ifaces;
  if (n == 0)
    return 0;
  if (n > SV_MAX_IFACES)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                          "%zu network interfaces observed, at most %d are supported", n,
                          SV_MAX_IFACES);

  uint32_t bridge[SV_MAX_IFACES];
  uint8_t bprefix[SV_MAX_IFACES];
  char brname[SV_MAX_IFACES][IFNAMSIZ];
  for (size_t i = 0; i < n; i++)
    {
      const struct sv_iface *ifc = &net->ifaces[i];
      char a[SV_IP4_STRLEN];
      /* A resumed interface keeps the bridge it is a port of. */
      if (ifc->resumed && ifc->bridge[0])
        snprintf (brname[i], sizeof brname[i], "%s", ifc->bridge);
      else
        snprintf (brname[i], sizeof brname[i], "br%zu", i);
      bridge[i] = 0;
      bprefix[i] = 0;
      /* An IPv6-only interface (no IPv4 address) is handed off too. */
      if (ifc->addr == 0 && ifc->has_addr6)
        continue;
      if (ifc->prefix < 1 || ifc->prefix > 32)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "%s: address %s has prefix length %u, expected 1 to 32", ifc->name,
                              sv_ip4_format (ifc->addr, a), ifc->prefix);
      if (ifc->addr == 0)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0,
                              "%s: no IPv4 address to hand to the VM", ifc->name);
      bridge[i] = sv_plan_bridge_addr (ifc->addr, ifc->prefix, ifc->gateway, &bprefix[i]);
    }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp (brname[i], brname[j]) == 0)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                              "%s and %s would both use bridge %s (an earlier handoff left "
                              "it): delete it (ip link del %s) or restart the pod",
                              net->ifaces[j].name, net->ifaces[i].name, brname[i], brname[i]);

  const char *model
      = cfg->network.model && cfg->network.model[0] ? cfg->network.model : "virtio-net-pci";
  cleanup_free char *model_esc = sv_qemu_opt_escape (model);
  bool dhcp = cfg->network.dhcp;
  bool forwarding6 = false;

  out->net_ops = sv_xcalloc (n * OPS_PER_IFACE, sizeof (struct sv_net_op));
  for (size_t i = 0; i < n; i++)
    {
      const struct sv_iface *ifc = &net->ifaces[i];
      unsigned mtu = ifc->mtu ? ifc->mtu : DEFAULT_MTU;
      char tap[IFNAMSIZ], mac[SV_MAC_STRLEN];
      const char *br = brname[i];
      snprintf (tap, sizeof tap, "tap%zu", i);
      struct sv_net_op *op;

      /* The bridge first, with the handoff's facts in its alias: from
       * there on, a startvm killed at any step leaves what the next start
       * resumes (observe.c), never a NIC without its address and no
       * record of it.  A resumed interface has its bridge already. */
      if (!ifc->resumed)
        {
          op = new_op (out, SV_OP_BRIDGE_ADD, br, i);
          op->mtu = mtu;
          /* The only storage that survives a container restart in a pod is
           * the network namespace itself. */
          size_t dropped = sv_handoff_alias_encode (ifc, op->alias);
          if (dropped)
            sv_plan_add_warning (out,
                                 "%s: %zu route(s) do not fit in %s's alias (255 bytes): a "
                                 "container restart in the same network namespace would not "
                                 "offer them to the VM",
                                 ifc->name, dropped, br);
        }
      /* A resumed port has its derived MAC and no address, unless the
       * earlier startvm stopped before it joined the bridge. */
      sv_plan6_port_ops (out, ifc, i, dhcp,
                         !ifc->resumed || (ifc->resume_port_pending && ifc->resume_addr6_on_port));
      if (!ifc->resumed || ifc->resume_port_pending)
        {
          /* Down first: the MAC of a running link cannot always change,
           * and the container stops answering on the old identity at once. */
          new_op (out, SV_OP_LINK_DOWN, ifc->name, i);
          op = new_op (out, SV_OP_LINK_SET_MAC, ifc->name, i);
          sv_handoff_derive_mac (ifc->mac, op->mac);
          if (ifc->addr && (!ifc->resumed || ifc->resume_addr_on_port))
            {
              op = new_op (out, SV_OP_ADDR_DEL, ifc->name, i);
              op->addr = ifc->addr;
              op->prefix = ifc->prefix;
            }
          op = new_op (out, SV_OP_SET_MASTER, ifc->name, i);
          snprintf (op->master, sizeof op->master, "%s", br);
        }
      op = new_op (out, SV_OP_TAP_ADD, tap, i);
      op->mtu = mtu;
      op = new_op (out, SV_OP_SET_MASTER, tap, i);
      snprintf (op->master, sizeof op->master, "%s", br);
      new_op (out, SV_OP_LINK_UP, ifc->name, i);
      new_op (out, SV_OP_LINK_UP, tap, i);
      new_op (out, SV_OP_LINK_UP, br, i);
      if (dhcp && ifc->addr
          && !(ifc->resumed && ifc->bridge_addr == bridge[i] && ifc->bridge_prefix == bprefix[i]))
        {
          op = new_op (out, SV_OP_ADDR_ADD, br, i);
          op->addr = bridge[i];
          op->prefix = bprefix[i];
        }
      sv_plan6_bridge_ops (out, ifc, br, i, dhcp, &forwarding6);

      sv_strv_add (argv, "-netdev");
      sv_strv_addf (argv, "tap,id=net%zu,fd=%zu%s", i, (size_t)SV_TAP_FD_BASE + i,
                    host->vhost_net_usable ? ",vhost=on" : "");
      /* host_mtu tells a virtio-net guest the link MTU even without DHCP;
       * other models have no such property. */
      sv_strv_add (argv, "-device");
      if (is_virtio_net (model) && mtu != DEFAULT_MTU)
        sv_strv_addf (argv, "%s,netdev=net%zu,mac=%s,host_mtu=%u", model_esc, i,
                      sv_mac_format (ifc->mac, mac), mtu);
      else
        sv_strv_addf (argv, "%s,netdev=net%zu,mac=%s", model_esc, i, sv_mac_format (ifc->mac, mac));
    }
  out->n_taps = n;

  if (!dhcp)
    return 0;

  struct sv_buf conf = { 0 };
  build_dnsmasq_conf (host, brname, bprefix, out, &conf);
  out->dnsmasq_conf = sv_buf_steal (&conf);
  struct sv_buf path = { 0 };
  sv_buf_addf (&path, "%s/dnsmasq.conf", out->run_dir);
  out->dnsmasq_conf_path = sv_buf_steal (&path);

  struct sv_strv dargv = { 0 };
  sv_strv_add (&dargv, "dnsmasq");
  /* Foreground without debug mode: startvm supervises it and its log
   * (log-facility=-) goes to the container's stderr. */
  sv_strv_add (&dargv, "--keep-in-foreground");
  sv_strv_addf (&dargv, "--conf-file=%s", out->dnsmasq_conf_path);
  out->dnsmasq_argv = steal_pointer (&dargv.v);
  return 0;
}
