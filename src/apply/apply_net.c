/* apply_net: performs plan->net_ops through libnl and the tun ioctls.  A
 * switch on op kind, no policy: the plan decided everything.  Each step
 * records what it needs to be undone, so a failure halfway leaves the
 * container with the network it had. */
#include "apply_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apply_net6.h"
#include "apply_net_internal.h"
#include "cleanup.h"
#include "ip6.h"
#include "nl_cleanup.h"
#include "observe.h"
#include "observe6.h"
#include "rtnl.h"
#include "util.h"

#define TUN_PATH "/dev/net/tun"

/* ---- pure builders ---- */

static struct nl_addr *
ip4_addr (uint32_t a, uint8_t prefix)
{
  uint32_t be = htonl (a);
  struct nl_addr *n = nl_addr_build (AF_INET, &be, 4);
  if (n)
    nl_addr_set_prefixlen (n, prefix);
  return n;
}

int
sv_apply_build_link_change (const struct sv_net_op *op, int master_ifindex, struct rtnl_link **out)
{
  cleanup_rtnl_link struct rtnl_link *l = rtnl_link_alloc ();
  if (l == NULL)
    return -NLE_NOMEM;
  switch (op->kind)
    {
    case SV_OP_LINK_UP:
      rtnl_link_set_flags (l, IFF_UP);
      break;
    case SV_OP_LINK_DOWN:
      rtnl_link_unset_flags (l, IFF_UP);
      break;
    case SV_OP_LINK_SET_MAC:
      {
        cleanup_nl_addr struct nl_addr *mac = nl_addr_build (AF_LLC, op->mac, 6);
        if (mac == NULL)
          return -NLE_NOMEM;
        rtnl_link_set_addr (l, mac);
        break;
      }
    case SV_OP_LINK_SET_MTU:
      rtnl_link_set_mtu (l, op->mtu);
      break;
    case SV_OP_SET_MASTER:
      rtnl_link_set_master (l, master_ifindex);
      break;
    default:
      return -NLE_INVAL;
    }
  *out = steal_pointer (&l);
  return 0;
}

int
sv_apply_build_bridge (const struct sv_net_op *op, struct rtnl_link **out)
{
  cleanup_rtnl_link struct rtnl_link *l = rtnl_link_alloc ();
  if (l == NULL)
    return -NLE_NOMEM;
  int r = rtnl_link_set_type (l, "bridge");
  if (r < 0)
    return r;
  rtnl_link_set_name (l, op->ifname);
  if (op->mtu)
    rtnl_link_set_mtu (l, op->mtu);
  *out = steal_pointer (&l);
  return 0;
}

int
sv_apply_build_addr (int ifindex, uint32_t addr, uint8_t prefix, struct rtnl_addr **out)
{
  cleanup_rtnl_addr struct rtnl_addr *a = rtnl_addr_alloc ();
  cleanup_nl_addr struct nl_addr *local = ip4_addr (addr, prefix);
  if (a == NULL || local == NULL)
    return -NLE_NOMEM;
  rtnl_addr_set_ifindex (a, ifindex);
  rtnl_addr_set_family (a, AF_INET);
  int r = rtnl_addr_set_local (a, local);
  if (r < 0)
    return r;
  rtnl_addr_set_prefixlen (a, prefix);
  rtnl_addr_set_scope (a, RT_SCOPE_UNIVERSE);
  if (prefix < 31)
    {
      cleanup_nl_addr struct nl_addr *brd = ip4_addr (addr | ~sv_ip4_netmask (prefix), 32);
      if (brd == NULL)
        return -NLE_NOMEM;
      if ((r = rtnl_addr_set_broadcast (a, brd)) < 0)
        return r;
    }
  *out = steal_pointer (&a);
  return 0;
}

int
sv_apply_build_route (int ifindex, const struct sv_route *rt, struct rtnl_route **out)
{
  cleanup_rtnl_route struct rtnl_route *r = rtnl_route_alloc ();
  cleanup_nl_addr struct nl_addr *dst = ip4_addr (rt->dst, rt->dst_len);
  if (r == NULL || dst == NULL)
    return -NLE_NOMEM;
  int e;
  if ((e = rtnl_route_set_family (r, AF_INET)) < 0 || (e = rtnl_route_set_dst (r, dst)) < 0
      || (e = rtnl_route_set_type (r, RTN_UNICAST)) < 0)
    return e;
  rtnl_route_set_table (r, rt->table ? rt->table : RT_TABLE_MAIN);
  rtnl_route_set_scope (r, rt->scope);
  rtnl_route_set_protocol (r, rt->protocol);
  rtnl_route_set_priority (r, rt->metric);
  if (rt->prefsrc)
    {
      cleanup_nl_addr struct nl_addr *src = ip4_addr (rt->prefsrc, 32);
      if (src == NULL || (e = rtnl_route_set_pref_src (r, src)) < 0)
        return src ? e : -NLE_NOMEM;
    }
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc ();
  if (nh == NULL)
    return -NLE_NOMEM;
  rtnl_route_nh_set_ifindex (nh, ifindex);
  if (rt->gateway)
    {
      cleanup_nl_addr struct nl_addr *gw = ip4_addr (rt->gateway, 32);
      if (gw == NULL)
        {
          rtnl_route_nh_free (nh);
          return -NLE_NOMEM;
        }
      rtnl_route_nh_set_gateway (nh, gw);
    }
  if (rt->onlink)
    rtnl_route_nh_set_flags (nh, RTNH_F_ONLINK);
  rtnl_route_add_nexthop (r, nh); /* the route owns nh now */
  *out = steal_pointer (&r);
  return 0;
}

/* ---- preflight ---- */

static int
effective_caps (uint64_t *caps, sv_error_t *err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  memset (data, 0, sizeof data);
  if (syscall (SYS_capget, &hdr, data) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "capget");
  *caps = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
  return 0;
}

static bool
is_executable_file (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

/* execvp's search, without executing: the first PATH entry holding an
 * executable regular file (access() alone says yes to directories). */
static bool
find_on_path (const char *file)
{
  if (strchr (file, '/'))
    return is_executable_file (file);
  const char *path = getenv ("PATH");
  if (path == NULL || *path == '\0')
    path = "/usr/local/bin:/usr/bin:/bin";
  cleanup_free char *copy = sv_xstrdup (path);
  char *save = NULL;
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *full = sv_xasprintf ("%s/%s", *dir ? dir : ".", file);
      if (is_executable_file (full))
        return true;
    }
  return false;
}

static bool
plan_has (const struct sv_plan *plan, enum sv_net_op_kind kind)
{
  for (size_t i = 0; i < plan->n_net_ops; i++)
    if (plan->net_ops[i].kind == kind)
      return true;
  return false;
}

int
sv_net_preflight (const struct sv_plan *plan, sv_error_t *err)
{
  uint64_t caps = 0;
  if (effective_caps (&caps, err) < 0)
    return -1;
  if (!(caps & (1ULL << CAP_NET_ADMIN)))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                          "network handoff needs CAP_NET_ADMIN (docker run --cap-add NET_ADMIN)");
  if (plan->dnsmasq_argv && !(caps & (1ULL << CAP_NET_RAW)))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                          "DHCP for the VM needs CAP_NET_RAW for dnsmasq (docker run --cap-add "
                          "NET_RAW, or network.dhcp: false)");
  if (plan_has (plan, SV_OP_TAP_ADD))
    {
      int fd = open (TUN_PATH, O_RDWR | O_CLOEXEC);
      if (fd < 0)
        return sv_error_errno (err, SV_EXIT_ENV, errno,
                               "%s, needed for the VM's network (docker run --device "
                               "/dev/net/tun)",
                               TUN_PATH);
      close (fd);
    }
  /* Forwarding that cannot be turned on (a read-only /proc/sys) is found
   * before anything changes. */
  if (plan_has (plan, SV_OP_FORWARD6) && sv_forward6_check (err) < 0)
    return -1;
  /* Without QEMU the handoff would leave the container without network
   * and without a VM: check it here, before anything changes. */
  if (plan->qemu_argv && plan->qemu_argv[0] && !find_on_path (plan->qemu_argv[0]))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                          "%s: not found on PATH (install qemu-system-x86, or set qemu.binary)",
                          plan->qemu_argv[0]);
  if (plan->dnsmasq_argv && plan->dnsmasq_argv[0] && !find_on_path (plan->dnsmasq_argv[0]))
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                          "%s: not found on PATH; DHCP for the VM needs it (install the "
                          "dnsmasq-base package, or set network.dhcp: false)",
                          plan->dnsmasq_argv[0]);
  return 0;
}

/* ---- apply ---- */

/* What one performed step needs to be undone. */
struct undo
{
  const struct sv_net_op *op;
  bool done; /* the step changed something (a failed create did not) */
  int ifindex;
  uint8_t old_mac[6];
  unsigned old_mtu;
  bool was_up;
  struct rtnl_addr *old_addr; /* ADDR_DEL, ADDR6_DEL: the address as the kernel had it */
  int old_forwarding;         /* FORWARD6 */
};

struct applier
{
  struct nl_sock *sk;
  const struct sv_plan *plan;
  const struct sv_host *host;
  int *tap_fds;
  struct nl_cache *addrs; /* dumped at the first ADDR_DEL */
  struct undo *undo;
  size_t n_undo;
};

static int
get_link (struct applier *ap, const char *name, struct rtnl_link **out, sv_error_t *err)
{
  int r = rtnl_link_get_kernel (ap->sk, 0, name, out);
  if (r < 0)
    return sv_error_nle (err, SV_EXIT_NET, r, "RTM_GETLINK %s", name);
  return 0;
}

static int
change_link (struct applier *ap, struct rtnl_link *orig, const struct sv_net_op *op, int master,
             sv_error_t *err)
{
  cleanup_rtnl_link struct rtnl_link *ch = NULL;
  int r = sv_apply_build_link_change (op, master, &ch);
  if (r >= 0)
    r = rtnl_link_change (ap->sk, orig, ch, 0);
  if (r < 0)
    return sv_error_nle (err, SV_EXIT_NET, r, "RTM_NEWLINK %s", op->ifname);
  return 0;
}

static int
open_tap (const struct sv_net_op *op, int *fd_out, sv_error_t *err)
{
  cleanup_close int fd = open (TUN_PATH, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_NET, errno, "opening %s", TUN_PATH);
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "%s", op->ifname);
  /* IFF_VNET_HDR always: QEMU probes the fd (TUNGETIFF) and uses the
   * virtio-net header for offloads with or without vhost=on, and strips
   * it itself for NIC models that do not use it.  No TUNSETPERSIST: the
   * tap lives exactly as long as the fd QEMU inherits, so a stopped VM
   * leaves no tap behind and a restart creates a fresh one. */
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    {
      int e = errno;
      /* The kernel attaches to an existing tun/tap of that name, and says
       * EINVAL for any other kind of link: name the real reason. */
      if (e == EINVAL && if_nametoindex (op->ifname) != 0)
        return sv_error_errno (err, SV_EXIT_NET, EEXIST, "TUNSETIFF %s", op->ifname);
      /* A tap still attached to a process: an earlier QEMU that did not
       * go away with its container. */
      if (e == EBUSY)
        return sv_error_errno (err, SV_EXIT_NET, e,
                               "TUNSETIFF %s (still held open by another process, an earlier "
                               "QEMU?)",
                               op->ifname);
      return sv_error_errno (err, SV_EXIT_NET, e, "TUNSETIFF %s", op->ifname);
    }
  *fd_out = steal_fd (&fd);
  return 0;
}

static int
do_op (struct applier *ap, const struct sv_net_op *op, struct undo *u, sv_error_t *err)
{
  cleanup_rtnl_link struct rtnl_link *orig = NULL;
  int r;
  u->op = op;
  switch (op->kind)
    {
    case SV_OP_LINK_DOWN:
    case SV_OP_LINK_UP:
    case SV_OP_LINK_SET_MAC:
    case SV_OP_LINK_SET_MTU:
    case SV_OP_SET_MASTER:
      {
        if (get_link (ap, op->ifname, &orig, err) < 0)
          return -1;
        u->ifindex = rtnl_link_get_ifindex (orig);
        u->was_up = (rtnl_link_get_flags (orig) & IFF_UP) != 0;
        u->old_mtu = rtnl_link_get_mtu (orig);
        struct nl_addr *mac = rtnl_link_get_addr (orig);
        if (mac && nl_addr_get_len (mac) == 6)
          memcpy (u->old_mac, nl_addr_get_binary_addr (mac), 6);
        int master = 0;
        if (op->kind == SV_OP_SET_MASTER)
          {
            master = (int)if_nametoindex (op->master);
            if (master == 0)
              return sv_error_errno (err, SV_EXIT_NET, errno, "bridge %s", op->master);
          }
        if (change_link (ap, orig, op, master, err) < 0)
          return -1;
        u->done = true;
        return 0;
      }
    case SV_OP_BRIDGE_ADD:
      {
        cleanup_rtnl_link struct rtnl_link *br = NULL;
        r = sv_apply_build_bridge (op, &br);
        if (r >= 0)
          r = rtnl_link_add (ap->sk, br, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
          return sv_error_nle (err, SV_EXIT_NET, r, "RTM_NEWLINK %s type bridge", op->ifname);
        u->done = true;
        if (op->alias[0] == '\0')
          return 0;
        /* The kernel ignores IFLA_IFALIAS when it creates a link: set it
         * on the new bridge, before the port loses its address, so the
         * facts are in the namespace before anything needs them. */
        cleanup_rtnl_link struct rtnl_link *ch = rtnl_link_alloc ();
        if (ch == NULL)
          return sv_error_nle (err, SV_EXIT_NET, NLE_NOMEM, "alias of %s", op->ifname);
        rtnl_link_set_ifalias (ch, op->alias);
        if (get_link (ap, op->ifname, &orig, err) < 0)
          return -1;
        if ((r = rtnl_link_change (ap->sk, orig, ch, 0)) < 0)
          return sv_error_nle (err, SV_EXIT_NET, r, "setting the alias of %s", op->ifname);
        return 0;
      }
    case SV_OP_TAP_ADD:
      {
        if (op->index < 0 || (size_t)op->index >= ap->plan->n_taps || op->index >= SV_MAX_IFACES
            || ap->tap_fds[op->index] >= 0)
          return sv_error_make (err, SV_EXIT_NET, SV_SRC_NONE, 0,
                                "tap index %d out of range (plan has %zu taps)", op->index,
                                ap->plan->n_taps);
        int fd = -1;
        if (open_tap (op, &fd, err) < 0)
          return -1;
        ap->tap_fds[op->index] = fd;
        u->done = true;
        if (op->mtu)
          {
            if (get_link (ap, op->ifname, &orig, err) < 0)
              return -1;
            struct sv_net_op mtu = *op;
            mtu.kind = SV_OP_LINK_SET_MTU;
            return change_link (ap, orig, &mtu, 0, err);
          }
        return 0;
      }
    case SV_OP_ADDR_DEL:
    case SV_OP_ADDR6_DEL:
      {
        if (ap->addrs == NULL && (r = rtnl_addr_alloc_cache (ap->sk, &ap->addrs)) < 0)
          return sv_error_nle (err, SV_EXIT_NET, r, "RTM_GETADDR dump");
        int ifindex = (int)if_nametoindex (op->ifname);
        if (ifindex == 0)
          return sv_error_errno (err, SV_EXIT_NET, errno, "%s", op->ifname);
        struct rtnl_addr *a
            = op->kind == SV_OP_ADDR_DEL
                  ? sv_observe_find_addr4 (ap->addrs, ifindex, op->addr, op->prefix)
                  : sv_observe_find_addr6 (ap->addrs, ifindex, op->addr6, op->prefix);
        if (a == NULL)
          return sv_error_errno (err, SV_EXIT_NET, EADDRNOTAVAIL, "%s", op->ifname);
        if ((r = rtnl_addr_delete (ap->sk, a, 0)) < 0)
          return sv_error_nle (err, SV_EXIT_NET, r, "RTM_DELADDR");
        nl_object_get ((struct nl_object *)a);
        u->old_addr = a;
        u->ifindex = ifindex;
        u->done = true;
        return 0;
      }
    case SV_OP_ADDR_ADD:
      {
        int ifindex = (int)if_nametoindex (op->ifname);
        if (ifindex == 0)
          return sv_error_errno (err, SV_EXIT_NET, errno, "%s", op->ifname);
        cleanup_rtnl_addr struct rtnl_addr *a = NULL;
        r = sv_apply_build_addr (ifindex, op->addr, op->prefix, &a);
        if (r >= 0)
          r = rtnl_addr_add (ap->sk, a, NLM_F_EXCL);
        if (r < 0)
          return sv_error_nle (err, SV_EXIT_NET, r, "RTM_NEWADDR");
        u->ifindex = ifindex;
        u->done = true;
        return 0;
      }
    case SV_OP_RA_FILTER:
      if (sv_nft_ra_filter (op->ifname, true, err) < 0)
        return -1;
      u->done = true;
      return 0;
    case SV_OP_FORWARD6:
      {
        bool changed = false;
        if (sv_forward6_enable (&u->old_forwarding, &changed, err) < 0)
          return -1;
        u->done = changed;
        return 0;
      }
    case SV_OP_ADDR6_ADD:
      {
        int ifindex = (int)if_nametoindex (op->ifname);
        if (ifindex == 0)
          return sv_error_errno (err, SV_EXIT_NET, errno, "%s", op->ifname);
        cleanup_rtnl_addr struct rtnl_addr *a = NULL;
        r = sv_apply_build_addr6 (ifindex, op->addr6, op->prefix, true, &a);
        if (r >= 0)
          r = rtnl_addr_add (ap->sk, a, NLM_F_EXCL);
        /* A resumed bridge has it already: not ours to remove. */
        if (r == -NLE_EXIST)
          return 0;
        if (r < 0)
          return sv_error_nle (err, SV_EXIT_NET, r, "RTM_NEWADDR");
        u->ifindex = ifindex;
        u->done = true;
        return 0;
      }
    case SV_OP_ROUTE6_ADD:
      {
        int ifindex = (int)if_nametoindex (op->ifname);
        if (ifindex == 0)
          return sv_error_errno (err, SV_EXIT_NET, errno, "%s", op->ifname);
        cleanup_rtnl_route struct rtnl_route *route = NULL;
        r = sv_apply_build_route6 (ifindex, &op->route6, &route);
        if (r >= 0)
          r = rtnl_route_add (ap->sk, route, NLM_F_EXCL);
        /* Already there (a resumed handoff): not ours to remove. */
        if (r == -NLE_EXIST)
          return 0;
        if (r < 0)
          return sv_error_nle (err, SV_EXIT_NET, r, "RTM_NEWROUTE");
        u->ifindex = ifindex;
        u->done = true;
        return 0;
      }
    }
  return sv_error_make (err, SV_EXIT_NET, SV_SRC_NONE, 0, "unknown net op kind %d", op->kind);
}

/* Re-adds an address as the kernel had it before ADDR_DEL (broadcast,
 * label and scope included), so `ip addr` reads the same afterwards. */
static int
restore_addr (struct applier *ap, struct rtnl_addr *old, sv_error_t *err)
{
  cleanup_rtnl_addr struct rtnl_addr *a = rtnl_addr_alloc ();
  if (a == NULL)
    return sv_error_nle (err, SV_EXIT_NET, NLE_NOMEM, "RTM_NEWADDR");
  rtnl_addr_set_ifindex (a, rtnl_addr_get_ifindex (old));
  rtnl_addr_set_family (a, rtnl_addr_get_family (old));
  rtnl_addr_set_local (a, rtnl_addr_get_local (old));
  rtnl_addr_set_prefixlen (a, rtnl_addr_get_prefixlen (old));
  rtnl_addr_set_scope (a, rtnl_addr_get_scope (old));
  if (rtnl_addr_get_broadcast (old))
    rtnl_addr_set_broadcast (a, rtnl_addr_get_broadcast (old));
  if (rtnl_addr_get_label (old))
    rtnl_addr_set_label (a, rtnl_addr_get_label (old));
  /* Only the flags a request may carry (noprefixroute and friends);
   * permanent/secondary are the kernel's to set. */
  rtnl_addr_set_flags (a, rtnl_addr_get_flags (old)
                              & (IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN | IFA_F_NODAD));
  int r = rtnl_addr_add (ap->sk, a, 0);
  if (r < 0 && r != -NLE_EXIST)
    return sv_error_nle (err, SV_EXIT_NET, r, "restoring address on ifindex %d",
                         rtnl_addr_get_ifindex (old));
  return 0;
}

static int
undo_one (struct applier *ap, struct undo *u, sv_error_t *err)
{
  const struct sv_net_op *op = u->op;
  if (!u->done)
    return 0;
  struct sv_net_op rev = *op;
  cleanup_rtnl_link struct rtnl_link *orig = NULL;
  int r;
  switch (op->kind)
    {
    case SV_OP_LINK_DOWN:
    case SV_OP_LINK_UP:
      if (u->was_up == (op->kind == SV_OP_LINK_UP))
        return 0;
      rev.kind = u->was_up ? SV_OP_LINK_UP : SV_OP_LINK_DOWN;
      break;
    case SV_OP_LINK_SET_MAC:
      memcpy (rev.mac, u->old_mac, 6);
      break;
    case SV_OP_LINK_SET_MTU:
      rev.mtu = u->old_mtu;
      break;
    case SV_OP_SET_MASTER:
      break; /* master 0 below: release */
    case SV_OP_BRIDGE_ADD:
      {
        /* Deleting the bridge also releases whatever was enslaved. */
        cleanup_rtnl_link struct rtnl_link *l = rtnl_link_alloc ();
        if (l == NULL)
          return sv_error_nle (err, SV_EXIT_NET, NLE_NOMEM, "deleting %s", op->ifname);
        rtnl_link_set_name (l, op->ifname);
        r = rtnl_link_delete (ap->sk, l);
        if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
          return sv_error_nle (err, SV_EXIT_NET, r, "deleting %s", op->ifname);
        return 0;
      }
    case SV_OP_TAP_ADD:
      /* Not persistent: closing the last fd destroys the tap. */
      if (op->index >= 0 && op->index < SV_MAX_IFACES && ap->tap_fds[op->index] >= 0)
        {
          close (ap->tap_fds[op->index]);
          ap->tap_fds[op->index] = -1;
        }
      return 0;
    case SV_OP_ADDR_DEL:
      return u->old_addr ? restore_addr (ap, u->old_addr, err) : 0;
    case SV_OP_ADDR_ADD:
      {
        cleanup_rtnl_addr struct rtnl_addr *a = NULL;
        r = sv_apply_build_addr (u->ifindex, op->addr, op->prefix, &a);
        if (r >= 0)
          r = rtnl_addr_delete (ap->sk, a, 0);
        if (r < 0 && r != -NLE_NOADDR && r != -NLE_NODEV)
          return sv_error_nle (err, SV_EXIT_NET, r, "deleting the bridge address of %s",
                               op->ifname);
        return 0;
      }
    case SV_OP_RA_FILTER:
      return sv_nft_ra_filter (op->ifname, false, err);
    case SV_OP_ADDR6_DEL:
      return u->old_addr ? restore_addr (ap, u->old_addr, err) : 0;
    case SV_OP_FORWARD6:
      return sv_forward6_restore (u->old_forwarding, err);
    case SV_OP_ADDR6_ADD:
      {
        cleanup_rtnl_addr struct rtnl_addr *a = NULL;
        r = sv_apply_build_addr6 (u->ifindex, op->addr6, op->prefix, false, &a);
        if (r >= 0)
          r = rtnl_addr_delete (ap->sk, a, 0);
        if (r < 0 && r != -NLE_NOADDR && r != -NLE_NODEV)
          return sv_error_nle (err, SV_EXIT_NET, r, "deleting the bridge address of %s",
                               op->ifname);
        return 0;
      }
    case SV_OP_ROUTE6_ADD:
      {
        /* The bridge's deletion, later in the undo, would take the route
         * along; but a resumed bridge stays. */
        cleanup_rtnl_route struct rtnl_route *route = NULL;
        r = sv_apply_build_route6 (u->ifindex, &op->route6, &route);
        if (r >= 0)
          r = rtnl_route_delete (ap->sk, route, 0);
        if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
          return sv_error_nle (err, SV_EXIT_NET, r, "deleting a route through %s", op->ifname);
        return 0;
      }
    }
  /* Link changes: the link may be gone already (a bridge undone
   * later in the list never is, since undo runs in reverse). */
  r = rtnl_link_get_kernel (ap->sk, 0, op->ifname, &orig);
  if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
    return 0;
  if (r < 0)
    return sv_error_nle (err, SV_EXIT_NET, r, "RTM_GETLINK %s", op->ifname);
  return change_link (ap, orig, &rev, 0, err);
}

/* Removing a link's last address (or taking it down) flushes the routes
 * through it: put back every route observe recorded, link routes before
 * the gateways that need them.  Routes the kernel re-created itself
 * (the prefix route of a restored address) answer EEXIST: fine. */
static int
restore_routes (struct applier *ap, const struct sv_iface *ifc, sv_error_t *err)
{
  int ifindex = (int)if_nametoindex (ifc->name);
  if (ifindex == 0)
    return 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < ifc->n_routes; i++)
      {
        const struct sv_route *rt = &ifc->routes[i];
        if ((rt->gateway != 0) != (pass == 1))
          continue;
        cleanup_rtnl_route struct rtnl_route *route = NULL;
        int r = sv_apply_build_route (ifindex, rt, &route);
        if (r >= 0)
          r = rtnl_route_add (ap->sk, route, NLM_F_EXCL);
        if (r < 0 && r != -NLE_EXIST)
          {
            char d[SV_IP4_STRLEN], g[SV_IP4_STRLEN];
            return sv_error_nle (err, SV_EXIT_NET, r, "restoring route %s/%u via %s dev %s",
                                 sv_ip4_format (rt->dst, d), rt->dst_len,
                                 sv_ip4_format (rt->gateway, g), ifc->name);
          }
      }
  return 0;
}

/* The same for IPv6: the address's prefix route comes back with the
 * address; the default route and the others are put back here. */
static int
restore_routes6 (struct applier *ap, const struct sv_iface *ifc, sv_error_t *err)
{
  int ifindex = (int)if_nametoindex (ifc->name);
  if (ifindex == 0)
    return 0;
  static const uint8_t zero[16];
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < ifc->n_routes6 && i < SV_MAX_ROUTES; i++)
      {
        const struct sv_route6 *rt = &ifc->routes6[i];
        if ((memcmp (rt->gateway, zero, 16) != 0) != (pass == 1))
          continue;
        cleanup_rtnl_route struct rtnl_route *route = NULL;
        int r = sv_apply_build_route6 (ifindex, rt, &route);
        if (r >= 0)
          r = rtnl_route_add (ap->sk, route, NLM_F_EXCL);
        if (r < 0 && r != -NLE_EXIST)
          {
            char d[SV_IP6_STRLEN], g[SV_IP6_STRLEN];
            return sv_error_nle (err, SV_EXIT_NET, r, "restoring route %s/%u via %s dev %s",
                                 sv_ip6_format (rt->dst, d), rt->dst_len,
                                 sv_ip6_format (rt->gateway, g), ifc->name);
          }
      }
  return 0;
}

static bool
iface_touched (const struct applier *ap, const char *name)
{
  for (size_t i = 0; i < ap->n_undo; i++)
    if (strcmp (ap->undo[i].op->ifname, name) == 0)
      return true;
  return false;
}

/* Undoes everything in reverse.  Keeps going after a failed step (each
 * one restores something the container needs) and reports the first. */
static int
rollback (struct applier *ap, sv_error_t *first)
{
  int ret = 0;
  for (size_t i = ap->n_undo; i-- > 0;)
    {
      cleanup_error sv_error_t e = NULL;
      if (undo_one (ap, &ap->undo[i], &e) < 0 && ret == 0)
        {
          *first = steal_pointer (&e);
          ret = -1;
        }
    }
  for (size_t i = 0; i < ap->host->net.n_ifaces; i++)
    {
      const struct sv_iface *ifc = &ap->host->net.ifaces[i];
      cleanup_error sv_error_t e = NULL;
      /* A resumed interface had no address or routes when this run began
       * (unless an earlier startvm stopped before removing them): nothing
       * to put back. */
      if ((!ifc->resumed || ifc->resume_addr_on_port) && iface_touched (ap, ifc->name)
          && restore_routes (ap, ifc, &e) < 0 && ret == 0)
        {
          *first = steal_pointer (&e);
          ret = -1;
        }
      cleanup_error sv_error_t e6 = NULL;
      if ((!ifc->resumed || ifc->resume_addr6_on_port) && ifc->has_addr6
          && iface_touched (ap, ifc->name) && restore_routes6 (ap, ifc, &e6) < 0 && ret == 0)
        {
          *first = steal_pointer (&e6);
          ret = -1;
        }
    }
  return ret;
}

int
sv_net_apply (const struct sv_plan *plan, const struct sv_host *host, int *tap_fds, sv_error_t *err)
{
  cleanup_nl_sock struct nl_sock *sk = NULL;
  if (sv_rtnl_open (SV_EXIT_NET, &sk, err) < 0)
    return -1;
  cleanup_free struct undo *undo = sv_xcalloc (plan->n_net_ops ? plan->n_net_ops : 1, sizeof *undo);
  struct applier ap = {
    .sk = sk,
    .plan = plan,
    .host = host,
    .tap_fds = tap_fds,
    .undo = undo,
  };
  int ret = 0;
  for (size_t i = 0; i < plan->n_net_ops; i++)
    {
      const struct sv_net_op *op = &plan->net_ops[i];
      if (do_op (&ap, op, &undo[i], err) == 0)
        {
          ap.n_undo = i + 1;
          continue;
        }
      /* The failed step is undone too when it got halfway (a TAP_ADD
       * whose MTU failed holds its fd); one that changed nothing (a
       * bridge name already taken) is not: undoing it would delete the
       * link that was in the way. */
      ap.n_undo = i + 1;
      struct sv_buf step = { 0 };
      sv_net_op_format (op, &step);
      sv_error_wrap (err, "apply step %zu/%zu (%s)", i + 1, plan->n_net_ops,
                     step.data ? step.data : "");
      sv_buf_free (&step);
      (*err)->exit_class = SV_EXIT_NET;
      cleanup_error sv_error_t undo_err = NULL;
      if (rollback (&ap, &undo_err) < 0)
        {
          cleanup_free char *msg = sv_xstrdup ((*err)->msg);
          sv_error_make (err, SV_EXIT_NET, (*err)->source, (*err)->code,
                         "%s; undoing the handoff failed too, the container's network may be "
                         "incomplete: %s",
                         msg, undo_err->msg);
        }
      ret = -1;
      break;
    }
  for (size_t i = 0; i < plan->n_net_ops; i++)
    if (undo[i].old_addr)
      rtnl_addr_put (undo[i].old_addr);
  if (ap.addrs)
    nl_cache_free (ap.addrs);
  return ret;
}
