/* observe: a read-only look at the container.  Links, addresses and
 * routes come from one libnl dump each; IP_PREFIX waits on
 * RTNLGRP_IPV4_IFADDR notifications (subscribed before the first dump, so
 * an address added in between is never missed). */
#include "observe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_arp.h>
#include <linux/kvm.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_id.h"
#include "disks.h"
#include "handoff.h"
#include "nl_cleanup.h"
#include "observe6.h"
#include "observe_internal.h"
#include "resolv.h"
#include "rtnl.h"
#include "util.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_MAX_BYTES (64 * 1024)

int
sv_observe_parse_ip_prefix (const char *s, uint32_t *net, uint8_t *len, sv_error_t *err)
{
  const char *slash = strchr (s, '/');
  if (slash)
    {
      char addr[SV_IP4_STRLEN];
      long long bits = 0;
      size_t n = (size_t)(slash - s);
      if (n >= sizeof addr)
        goto bad;
      memcpy (addr, s, n);
      addr[n] = '\0';
      uint32_t a;
      if (sv_ip4_parse (addr, &a) < 0 || slash[1] < '0' || slash[1] > '9'
          || sv_parse_int (slash + 1, "ip_prefix", 0, 32, &bits, NULL) < 0)
        goto bad;
      *len = (uint8_t)bits;
      *net = a & sv_ip4_netmask ((unsigned)bits);
      return 0;
    }
  uint32_t v = 0;
  unsigned octets = 0;
  const char *p = s;
  while (*p)
    {
      if (*p < '0' || *p > '9' || octets == 4)
        goto bad;
      unsigned o = 0;
      int digits = 0;
      while (*p >= '0' && *p <= '9')
        {
          o = o * 10 + (unsigned)(*p++ - '0');
          if (++digits > 3 || o > 255)
            goto bad;
        }
      v |= o << (24 - 8 * octets);
      octets++;
      if (*p == '.')
        p++;
      else if (*p)
        goto bad;
    }
  if (octets == 0)
    goto bad;
  *net = v;
  *len = (uint8_t)(8 * octets);
  return 0;
bad:
  return sv_error_config (err,
                          "network.ip_prefix: '%s' is not an address prefix (accepted: 10.42, "
                          "10.42.0.0/16)",
                          s);
}

int
sv_observe_iface_cmp (const void *a, const void *b)
{
  const struct sv_iface *x = a, *y = b;
  bool x0 = strcmp (x->name, "eth0") == 0, y0 = strcmp (y->name, "eth0") == 0;
  if (x0 != y0)
    return x0 ? -1 : 1;
  return strverscmp (x->name, y->name);
}

/* ---- resolv.conf and hostname ---- */

static int
read_resolv_conf (const char *path, struct sv_net_state *out, sv_error_t *err)
{
  cleanup_free char *buf = sv_xmalloc (RESOLV_MAX_BYTES + 1);
  ssize_t len = sv_read_file (path, buf, RESOLV_MAX_BYTES);
  if (len < 0)
    {
      /* No resolv.conf is a container without DNS: the lease simply
       * carries no servers. */
      if (errno == ENOENT)
        return 0;
      return sv_error_errno (err, SV_EXIT_ENV, errno, "reading %s", path);
    }
  buf[len] = '\0';
  sv_resolv_parse (buf, out);
  return 0;
}

/* ---- netlink ---- */

static bool
name_listed (const struct sv_vm_config *cfg, const char *name)
{
  if (cfg->network.interfaces == NULL)
    return true;
  for (size_t i = 0; i < cfg->network.n_interfaces; i++)
    if (strcmp (cfg->network.interfaces[i], name) == 0)
      return true;
  return false;
}

struct want
{
  bool by_prefix;
  uint32_t net;
  uint8_t len;
};

static bool
ip4_of (struct nl_addr *a, uint32_t *out)
{
  if (a == NULL || nl_addr_get_family (a) != AF_INET || nl_addr_get_len (a) != 4)
    return false;
  uint32_t be;
  memcpy (&be, nl_addr_get_binary_addr (a), 4);
  *out = ntohl (be);
  return true;
}

/* Picks the address to hand off for one link: a permanent universe-scope
 * IPv4 address (addresses with lifetimes belong to a DHCP client inside
 * the container, and host/link scope ones are not the container's
 * identity), the primary one unless IP_PREFIX asks for a match. */
static bool
pick_addr (struct nl_cache *addrs, int ifindex, const struct want *w, uint32_t *addr,
           uint8_t *prefix)
{
  bool found = false, found_primary = false;
  for (struct nl_object *o = nl_cache_get_first (addrs); o; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *a = (struct rtnl_addr *)o;
      if (rtnl_addr_get_ifindex (a) != ifindex || rtnl_addr_get_family (a) != AF_INET
          || rtnl_addr_get_scope (a) != RT_SCOPE_UNIVERSE)
        continue;
      unsigned flags = rtnl_addr_get_flags (a);
      if (!(flags & IFA_F_PERMANENT))
        continue;
      uint32_t ip;
      int plen = rtnl_addr_get_prefixlen (a);
      if (!ip4_of (rtnl_addr_get_local (a), &ip) || plen < 1 || plen > 32)
        continue;
      if (w->by_prefix && (ip & sv_ip4_netmask (w->len)) != w->net)
        continue;
      bool primary = !(flags & IFA_F_SECONDARY);
      if (found && (found_primary || !primary))
        continue;
      *addr = ip;
      *prefix = (uint8_t)plen;
      found = true;
      found_primary = primary;
    }
  return found;
}

static int
record_routes (struct nl_cache *routes, struct sv_iface *ifc, sv_error_t *err)
{
  uint32_t best_metric = UINT32_MAX;
  for (struct nl_object *o = nl_cache_get_first (routes); o; o = nl_cache_get_next (o))
    {
      struct rtnl_route *r = (struct rtnl_route *)o;
      if (rtnl_route_get_family (r) != AF_INET || rtnl_route_get_table (r) != RT_TABLE_MAIN
          || rtnl_route_get_type (r) != RTN_UNICAST || rtnl_route_get_nnexthops (r) != 1)
        continue;
      struct rtnl_nexthop *nh = rtnl_route_nexthop_n (r, 0);
      if (rtnl_route_nh_get_ifindex (nh) != ifc->ifindex)
        continue;
      if (ifc->n_routes == SV_MAX_ROUTES)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                              "%s: more than %d IPv4 routes; startvm can record (and restore) "
                              "at most %d",
                              ifc->name, SV_MAX_ROUTES, SV_MAX_ROUTES);
      struct sv_route *rt = &ifc->routes[ifc->n_routes];
      memset (rt, 0, sizeof *rt);
      struct nl_addr *dst = rtnl_route_get_dst (r);
      if (dst && nl_addr_get_len (dst) == 4)
        ip4_of (dst, &rt->dst);
      rt->dst_len = dst ? (uint8_t)nl_addr_get_prefixlen (dst) : 0;
      ip4_of (rtnl_route_nh_get_gateway (nh), &rt->gateway);
      rt->onlink = (rtnl_route_nh_get_flags (nh) & RTNH_F_ONLINK) != 0;
      rt->metric = rtnl_route_get_priority (r);
      rt->table = (uint8_t)rtnl_route_get_table (r);
      rt->scope = rtnl_route_get_scope (r);
      rt->protocol = rtnl_route_get_protocol (r);
      ip4_of (rtnl_route_get_pref_src (r), &rt->prefsrc);
      ifc->n_routes++;
      if (rt->dst_len == 0 && rt->gateway != 0 && rt->metric < best_metric)
        {
          best_metric = rt->metric;
          ifc->gateway = rt->gateway;
        }
    }
  return 0;
}

/* The port of an unfinished handoff has the MAC the alias recorded or
 * the one the handoff gives it. */
static bool
mac_from_handoff (struct rtnl_link *port, const uint8_t orig[6])
{
  struct nl_addr *a = rtnl_link_get_addr (port);
  if (a == NULL || nl_addr_get_len (a) != 6)
    return false;
  uint8_t derived[6];
  sv_handoff_derive_mac (orig, derived);
  const void *mac = nl_addr_get_binary_addr (a);
  return memcmp (mac, orig, 6) == 0 || memcmp (mac, derived, 6) == 0;
}

struct rtnl_addr *
sv_observe_find_addr4 (struct nl_cache *addrs, int ifindex, uint32_t addr, uint8_t prefix)
{
  for (struct nl_object *o = nl_cache_get_first (addrs); o; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *a = (struct rtnl_addr *)o;
      uint32_t ip;
      if (rtnl_addr_get_ifindex (a) == ifindex && rtnl_addr_get_family (a) == AF_INET
          && rtnl_addr_get_prefixlen (a) == prefix && ip4_of (rtnl_addr_get_local (a), &ip)
          && ip == addr)
        return a;
    }
  return NULL;
}

/* Bridges an earlier startvm left in this network namespace (a container
 * restart in a Kubernetes pod keeps the namespace): each one's port is
 * handed off again with the facts from the bridge's alias, since its
 * address and routes are gone from the port. */
static int
resume_handoffs (struct nl_cache *links, struct nl_cache *addrs, const struct sv_vm_config *cfg,
                 const struct want *w, struct sv_net_state *out, sv_error_t *err)
{
  for (struct nl_object *o = nl_cache_get_first (links); o; o = nl_cache_get_next (o))
    {
      struct rtnl_link *br = (struct rtnl_link *)o;
      const char *brname = rtnl_link_get_name (br);
      if (brname == NULL || !sv_handoff_alias_is_ours (rtnl_link_get_ifalias (br)))
        continue;
      struct sv_iface ifc;
      if (sv_handoff_alias_decode (rtnl_link_get_ifalias (br), &ifc, err) < 0)
        return sv_error_wrap (err, "%s", brname);
      if (!name_listed (cfg, ifc.name))
        continue;
      cleanup_rtnl_link struct rtnl_link *port = rtnl_link_get_by_name (links, ifc.name);
      const char *wrong = port ? NULL : "gone";
      if (port && rtnl_link_get_master (port) != rtnl_link_get_ifindex (br))
        {
          /* The bridge comes first in a handoff, so a startvm killed
           * before the port joined it leaves the port in no bridge, with
           * its original MAC or the derived one, and its address or none:
           * this start finishes the job.  Anything else is someone
           * else's change. */
          if (rtnl_link_get_master (port) != 0 || !mac_from_handoff (port, ifc.mac))
            wrong = "not its port";
          else
            {
              ifc.resume_port_pending = true;
              ifc.resume_addr6_on_port
                  = ifc.has_addr6
                    && sv_observe_find_addr6 (addrs, rtnl_link_get_ifindex (port), ifc.addr6,
                                              ifc.prefix6)
                           != NULL;
              ifc.resume_addr_on_port = sv_observe_find_addr4 (addrs, rtnl_link_get_ifindex (port),
                                                               ifc.addr, ifc.prefix)
                                        != NULL;
            }
        }
      if (wrong)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                              "%s holds an earlier startvm's handoff of %s, but %s is %s: "
                              "delete %s (ip link del %s) to start over, or recreate the pod",
                              brname, ifc.name, ifc.name, wrong, brname, brname);
      if (w->by_prefix && (ifc.addr & sv_ip4_netmask (w->len)) != w->net)
        continue;
      if (out->n_ifaces == SV_MAX_IFACES)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                              "more than %d interfaces to hand off; name them in "
                              "network.interfaces",
                              SV_MAX_IFACES);
      ifc.ifindex = rtnl_link_get_ifindex (port);
      ifc.resumed = true;
      snprintf (ifc.bridge, sizeof ifc.bridge, "%s", brname);
      struct want any = { 0 };
      if (!pick_addr (addrs, rtnl_link_get_ifindex (br), &any, &ifc.bridge_addr,
                      &ifc.bridge_prefix))
        ifc.bridge_addr = 0, ifc.bridge_prefix = 0;
      out->ifaces[out->n_ifaces++] = ifc;
    }
  return 0;
}

static bool
is_resumed (const struct sv_net_state *net, const char *name)
{
  for (size_t i = 0; i < net->n_ifaces; i++)
    if (net->ifaces[i].resumed && strcmp (net->ifaces[i].name, name) == 0)
      return true;
  return false;
}

/* One dump of links, addresses and routes into out->ifaces.  *found says
 * whether anything to hand off was seen (with IP_PREFIX: a match). */
static int
dump_network (struct nl_sock *sk, const struct sv_vm_config *cfg, const struct want *w,
              struct sv_net_state *out, bool *found, sv_error_t *err)
{
  cleanup_nl_cache struct nl_cache *links = NULL;
  cleanup_nl_cache struct nl_cache *addrs = NULL;
  cleanup_nl_cache struct nl_cache *routes = NULL;
  int r;
  if ((r = rtnl_link_alloc_cache (sk, AF_UNSPEC, &links)) < 0)
    return sv_error_nle (err, SV_EXIT_ENV, r, "RTM_GETLINK dump");
  if ((r = rtnl_addr_alloc_cache (sk, &addrs)) < 0)
    return sv_error_nle (err, SV_EXIT_ENV, r, "RTM_GETADDR dump");
  /* Both families in one dump: an IPv4-only container pays nothing more
   * for IPv6 than the few routes the kernel always has. */
  if ((r = rtnl_route_alloc_cache (sk, AF_UNSPEC, 0, &routes)) < 0)
    return sv_error_nle (err, SV_EXIT_ENV, r, "RTM_GETROUTE dump");

  /* Names in network.interfaces must exist: a typo would otherwise hand
   * off nothing, silently. */
  for (size_t i = 0; cfg->network.interfaces && i < cfg->network.n_interfaces; i++)
    {
      const char *name = cfg->network.interfaces[i];
      cleanup_rtnl_link struct rtnl_link *l = rtnl_link_get_by_name (links, name);
      if (l == NULL)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                              "network.interfaces: no interface named '%s' in this container",
                              name);
    }

  out->n_ifaces = 0;
  if (resume_handoffs (links, addrs, cfg, w, out, err) < 0)
    return -1;
  for (struct nl_object *o = nl_cache_get_first (links); o; o = nl_cache_get_next (o))
    {
      struct rtnl_link *l = (struct rtnl_link *)o;
      const char *name = rtnl_link_get_name (l);
      if (name == NULL || (rtnl_link_get_flags (l) & IFF_LOOPBACK) || !name_listed (cfg, name))
        continue;
      /* A startvm bridge's address is the DHCP server's, not the
       * container's; its port was handed off above. */
      if (sv_handoff_alias_is_ours (rtnl_link_get_ifalias (l)) || is_resumed (out, name))
        continue;
      uint32_t addr = 0;
      uint8_t prefix = 0;
      bool has4 = pick_addr (addrs, rtnl_link_get_ifindex (l), w, &addr, &prefix);
      /* A global IPv6 address is an identity too (dual-stack, IPv6-only);
       * IP_PREFIX waits for an IPv4 one. */
      struct sv_iface v6 = { .ifindex = rtnl_link_get_ifindex (l) };
      bool has6 = !w->by_prefix && sv_observe_pick_addr6 (addrs, &v6);
      if (!has4 && !has6)
        continue;
      if (!has4)
        addr = 0, prefix = 0;
      /* Only an Ethernet link can join a bridge; an L3 device (wireguard,
       * ipip) with an address cannot be handed to a VM NIC. */
      if (rtnl_link_get_arptype (l) != ARPHRD_ETHER)
        {
          if (cfg->network.interfaces == NULL)
            continue;
          return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                                "network.interfaces: %s is not an Ethernet link and cannot be "
                                "bridged to the VM",
                                name);
        }
      if (out->n_ifaces == SV_MAX_IFACES)
        return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                              "more than %d interfaces with IPv4 addresses; name the ones to "
                              "hand off in network.interfaces",
                              SV_MAX_IFACES);
      struct sv_iface *ifc = &out->ifaces[out->n_ifaces];
      memset (ifc, 0, sizeof *ifc);
      snprintf (ifc->name, sizeof ifc->name, "%s", name);
      ifc->ifindex = rtnl_link_get_ifindex (l);
      ifc->mtu = rtnl_link_get_mtu (l);
      struct nl_addr *ll = rtnl_link_get_addr (l);
      if (ll && nl_addr_get_len (ll) == 6)
        memcpy (ifc->mac, nl_addr_get_binary_addr (ll), 6);
      ifc->addr = addr;
      ifc->prefix = prefix;
      if (has4 && record_routes (routes, ifc, err) < 0)
        return -1;
      if (has6)
        {
          ifc->has_addr6 = true;
          memcpy (ifc->addr6, v6.addr6, 16);
          ifc->prefix6 = v6.prefix6;
          ifc->n_other_addr6 = v6.n_other_addr6;
          memcpy (ifc->other_addr6, v6.other_addr6, sizeof ifc->other_addr6);
          memcpy (ifc->other_prefix6, v6.other_prefix6, sizeof ifc->other_prefix6);
          if (sv_observe_record_routes6 (routes, ifc, err) < 0)
            return -1;
          sv_observe_prefer_addr6 (ifc);
        }
      out->n_ifaces++;
    }
  qsort (out->ifaces, out->n_ifaces, sizeof out->ifaces[0], sv_observe_iface_cmp);
  /* With IP_PREFIX only the interface carrying the match is handed off. */
  if (w->by_prefix && out->n_ifaces > 1)
    out->n_ifaces = 1;
  *found = out->n_ifaces > 0;
  return 0;
}

/* Drains pending notifications without looking at them: any address
 * change triggers a fresh dump, which also covers ENOBUFS overruns. */
static int
drain (int fd, sv_error_t *err)
{
  char buf[8192];
  for (;;)
    {
      ssize_t r = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r >= 0)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      if (errno == EINTR || errno == ENOBUFS)
        continue;
      return sv_error_errno (err, SV_EXIT_ENV, errno, "reading RTNLGRP_IPV4_IFADDR notifications");
    }
}

static int
observe_links (const struct sv_vm_config *cfg, struct sv_net_state *out, sv_error_t *err)
{
  struct want w = { 0 };
  cleanup_nl_sock struct nl_sock *notify = NULL;
  const char *ip_prefix = cfg->network.ip_prefix;
  if (ip_prefix && *ip_prefix)
    {
      if (sv_observe_parse_ip_prefix (ip_prefix, &w.net, &w.len, err) < 0)
        return -1;
      w.by_prefix = true;
      /* Subscribe before dumping: an address added between the dump and
       * the subscription would otherwise be waited for in vain. */
      if (sv_rtnl_open (SV_EXIT_ENV, &notify, err) < 0)
        return -1;
      int r = nl_socket_add_membership (notify, RTNLGRP_IPV4_IFADDR);
      if (r < 0)
        return sv_error_nle (err, SV_EXIT_ENV, r, "subscribing to RTNLGRP_IPV4_IFADDR");
    }
  cleanup_nl_sock struct nl_sock *sk = NULL;
  if (sv_rtnl_open (SV_EXIT_ENV, &sk, err) < 0)
    return -1;
  bool found = false;
  if (dump_network (sk, cfg, &w, out, &found, err) < 0)
    return -1;
  if (!w.by_prefix)
    return 0;

  uint64_t deadline = (uint64_t)sv_now_ms () + cfg->network.wait_ms;
  while (!found)
    {
      uint64_t now = (uint64_t)sv_now_ms ();
      if (now >= deadline)
        {
          char d[32];
          sv_format_duration (cfg->network.wait_ms, d, sizeof d);
          return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                                "network.ip_prefix %s: no address appeared within %s", ip_prefix,
                                d);
        }
      uint64_t left = deadline - now;
      struct pollfd pfd = { .fd = nl_socket_get_fd (notify), .events = POLLIN };
      int r = poll (&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
      if (r < 0 && errno != EINTR)
        return sv_error_errno (err, SV_EXIT_ENV, errno, "waiting for network.ip_prefix %s",
                               ip_prefix);
      if (r <= 0)
        continue;
      if (drain (pfd.fd, err) < 0)
        return -1;
      if (dump_network (sk, cfg, &w, out, &found, err) < 0)
        return -1;
    }
  return 0;
}

int
sv_observe_network (const struct sv_vm_config *cfg, const char *resolv_conf,
                    struct sv_net_state *out, sv_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (gethostname (out->hostname, sizeof out->hostname - 1) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "gethostname");
  if (read_resolv_conf (resolv_conf ? resolv_conf : RESOLV_CONF, out, err) < 0)
    return -1;
  /* "interfaces: []" asks for no network at all: not even a dump. */
  if (cfg->network.interfaces && cfg->network.n_interfaces == 0)
    return 0;
  return observe_links (cfg, out, err);
}

/* ---- devices ---- */

bool
sv_observe_kvm (char *reason, size_t reason_len)
{
  cleanup_close int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      snprintf (reason, reason_len, "/dev/kvm: %s", strerror (errno));
      return false;
    }
  int v = ioctl (fd, KVM_GET_API_VERSION, 0);
  if (v != KVM_API_VERSION)
    {
      snprintf (reason, reason_len, "/dev/kvm: API version %d, need %d", v, KVM_API_VERSION);
      return false;
    }
  /* Opening is not enough (a device node passed into a container whose
   * host has no VT-x, or a nested setup without it): creating a VM is the
   * real test.  It returns at once; no vCPU is ever run. */
  int vm = TEMP_FAILURE_RETRY (ioctl (fd, KVM_CREATE_VM, 0));
  if (vm < 0)
    {
      snprintf (reason, reason_len, "/dev/kvm: KVM_CREATE_VM: %s", strerror (errno));
      return false;
    }
  close (vm);
  if (reason_len)
    reason[0] = '\0';
  return true;
}

static bool
vhost_net_usable (void)
{
  int fd = open ("/dev/vhost-net", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return false;
  close (fd);
  return true;
}

/* Can startvm create its run directory in state_dir?  The directory, or
 * the nearest parent that exists, must be writable (a read-only volume,
 * a read-only root file system).  access() says EROFS even for root. */
static void
state_dir_writable (const struct sv_vm_config *cfg, char *why, size_t len)
{
  const char *dir = cfg->state_dir && cfg->state_dir[0] ? cfg->state_dir : "/ranchervm";
  char p[SV_PATH_MAX];
  why[0] = '\0';
  snprintf (p, sizeof p, "%s", dir);
  for (;;)
    {
      if (access (p, F_OK) == 0)
        {
          /* A long path is cut short: the message only names it. */
          if (access (p, W_OK) < 0 && snprintf (why, len, "%s: %s", p, strerror (errno)) < 0)
            why[0] = '\0';
          return;
        }
      char *slash = strrchr (p, '/');
      if (slash == NULL || slash == p)
        {
          /* "/" or a relative name's first part: nothing more to look at. */
          if (slash == p && access ("/", W_OK) < 0)
            snprintf (why, len, "/: %s", strerror (errno));
          return;
        }
      *slash = '\0';
    }
}

int
sv_observe_host (const struct sv_vm_config *cfg, struct sv_host *out, sv_error_t *err)
{
  if (sv_observe_network (cfg, RESOLV_CONF, &out->net, err) < 0)
    return -1;
  out->kvm_usable = sv_observe_kvm (out->kvm_reason, sizeof out->kvm_reason);
  out->vhost_net_usable = vhost_net_usable ();
  sv_container_id (out->container_id, sizeof out->container_id);
  state_dir_writable (cfg, out->state_dir_error, sizeof out->state_dir_error);
  if (sv_data_observe (cfg, &out->data, err) < 0)
    return -1;
  sv_shares_observe (cfg, &out->shares);
  return sv_disks_observe (cfg, out, err);
}
