/* apply_net6: see apply_net6.h.
 *
 * The RA filter speaks nf_tables netlink directly (no nft binary in the
 * image, no libnftnl): one batch of a few messages, built by the pure
 * sv_nft_build_ra_filter.  The kernel here has no tc drop action (gact)
 * and bpf programs need CAP_BPF, so nftables' bridge family is the one
 * filter a container with CAP_NET_ADMIN can always install. */
#include "apply_net6.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "nl_cleanup.h"
#include "util.h"

#define FORWARDING_PATH "/proc/sys/net/ipv6/conf/all/forwarding"
#define NF_BR_LOCAL_OUT_HOOK 3 /* linux/netfilter_bridge.h NF_BR_LOCAL_OUT */

/* ---- builders ---- */

static struct nl_addr *
ip6_addr (const uint8_t a[16], uint8_t prefix)
{
  struct nl_addr *n = nl_addr_build (AF_INET6, a, 16);
  if (n)
    nl_addr_set_prefixlen (n, prefix);
  return n;
}

int
sv_apply_build_addr6 (int ifindex, const uint8_t addr[16], uint8_t prefix, bool nodad,
                      struct rtnl_addr **out)
{
  cleanup_rtnl_addr struct rtnl_addr *a = rtnl_addr_alloc ();
  cleanup_nl_addr struct nl_addr *local = ip6_addr (addr, prefix);
  if (a == NULL || local == NULL)
    return -NLE_NOMEM;
  rtnl_addr_set_ifindex (a, ifindex);
  rtnl_addr_set_family (a, AF_INET6);
  int r = rtnl_addr_set_local (a, local);
  if (r < 0)
    return r;
  rtnl_addr_set_prefixlen (a, prefix);
  rtnl_addr_set_scope (a, RT_SCOPE_UNIVERSE);
  if (nodad)
    rtnl_addr_set_flags (a, IFA_F_NODAD);
  *out = steal_pointer (&a);
  return 0;
}

int
sv_apply_build_route6 (int ifindex, const struct sv_route6 *rt, struct rtnl_route **out)
{
  cleanup_rtnl_route struct rtnl_route *r = rtnl_route_alloc ();
  cleanup_nl_addr struct nl_addr *dst = ip6_addr (rt->dst, rt->dst_len);
  if (r == NULL || dst == NULL)
    return -NLE_NOMEM;
  int e;
  if ((e = rtnl_route_set_family (r, AF_INET6)) < 0 || (e = rtnl_route_set_dst (r, dst)) < 0
      || (e = rtnl_route_set_type (r, RTN_UNICAST)) < 0)
    return e;
  rtnl_route_set_table (r, RT_TABLE_MAIN);
  rtnl_route_set_scope (r, RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol (r, rt->protocol ? rt->protocol : RTPROT_BOOT);
  rtnl_route_set_priority (r, rt->metric);
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc ();
  if (nh == NULL)
    return -NLE_NOMEM;
  rtnl_route_nh_set_ifindex (nh, ifindex);
  static const uint8_t zero[16];
  if (memcmp (rt->gateway, zero, 16) != 0)
    {
      cleanup_nl_addr struct nl_addr *gw = ip6_addr (rt->gateway, 128);
      if (gw == NULL)
        {
          rtnl_route_nh_free (nh);
          return -NLE_NOMEM;
        }
      rtnl_route_nh_set_gateway (nh, gw);
    }
  rtnl_route_add_nexthop (r, nh);
  *out = steal_pointer (&r);
  return 0;
}

/* ---- nf_tables netlink ---- */

struct nlbuf
{
  uint8_t *buf;
  size_t len, cap;
  bool overflow;
};

static void *
nb_reserve (struct nlbuf *b, size_t n)
{
  size_t need = NLMSG_ALIGN (n);
  if (b->overflow || b->len + need > b->cap)
    {
      b->overflow = true;
      return NULL;
    }
  void *p = b->buf + b->len;
  memset (p, 0, need);
  b->len += need;
  return p;
}

static size_t
msg_begin (struct nlbuf *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id,
           uint32_t seq)
{
  size_t at = b->len;
  struct nlmsghdr *h = nb_reserve (b, sizeof *h);
  struct nfgenmsg *g = nb_reserve (b, sizeof *g);
  if (h == NULL || g == NULL)
    return at;
  h->nlmsg_type = type;
  h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  h->nlmsg_seq = seq;
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = htons (res_id);
  return at;
}

static void
msg_end (struct nlbuf *b, size_t at)
{
  if (!b->overflow)
    ((struct nlmsghdr *)(b->buf + at))->nlmsg_len = (uint32_t)(b->len - at);
}

static void
put_attr (struct nlbuf *b, uint16_t type, const void *data, size_t n)
{
  struct nlattr *a = nb_reserve (b, NLA_HDRLEN + n);
  if (a == NULL)
    return;
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + n);
  memcpy ((uint8_t *)a + NLA_HDRLEN, data, n);
}

static void
put_str (struct nlbuf *b, uint16_t type, const char *s)
{
  put_attr (b, type, s, strlen (s) + 1);
}

static void
put_be32 (struct nlbuf *b, uint16_t type, uint32_t v)
{
  uint32_t be = htonl (v);
  put_attr (b, type, &be, 4);
}

static size_t
nest_begin (struct nlbuf *b, uint16_t type)
{
  size_t at = b->len;
  struct nlattr *a = nb_reserve (b, NLA_HDRLEN);
  if (a)
    a->nla_type = (uint16_t)(type | NLA_F_NESTED);
  return at;
}

static void
nest_end (struct nlbuf *b, size_t at)
{
  if (!b->overflow)
    ((struct nlattr *)(b->buf + at))->nla_len = (uint16_t)(b->len - at);
}

/* One expression of a rule: NFTA_LIST_ELEM { NAME, DATA { ... } }; the
 * caller fills DATA between expr_begin and expr_end. */
static size_t
expr_begin (struct nlbuf *b, const char *name, size_t *data)
{
  size_t elem = nest_begin (b, NFTA_LIST_ELEM);
  put_str (b, NFTA_EXPR_NAME, name);
  *data = nest_begin (b, NFTA_EXPR_DATA);
  return elem;
}

static void
expr_end (struct nlbuf *b, size_t elem, size_t data)
{
  nest_end (b, data);
  nest_end (b, elem);
}

static void
expr_meta (struct nlbuf *b, uint32_t key)
{
  size_t d, e = expr_begin (b, "meta", &d);
  put_be32 (b, NFTA_META_KEY, key);
  put_be32 (b, NFTA_META_DREG, NFT_REG_1);
  expr_end (b, e, d);
}

static void
expr_payload (struct nlbuf *b, uint32_t base, uint32_t offset, uint32_t len)
{
  size_t d, e = expr_begin (b, "payload", &d);
  put_be32 (b, NFTA_PAYLOAD_DREG, NFT_REG_1);
  put_be32 (b, NFTA_PAYLOAD_BASE, base);
  put_be32 (b, NFTA_PAYLOAD_OFFSET, offset);
  put_be32 (b, NFTA_PAYLOAD_LEN, len);
  expr_end (b, e, d);
}

static void
expr_cmp_eq (struct nlbuf *b, const void *value, size_t n)
{
  size_t d, e = expr_begin (b, "cmp", &d);
  put_be32 (b, NFTA_CMP_SREG, NFT_REG_1);
  put_be32 (b, NFTA_CMP_OP, NFT_CMP_EQ);
  size_t data = nest_begin (b, NFTA_CMP_DATA);
  put_attr (b, NFTA_DATA_VALUE, value, n);
  nest_end (b, data);
  expr_end (b, e, d);
}

static void
expr_drop (struct nlbuf *b)
{
  size_t d, e = expr_begin (b, "immediate", &d);
  put_be32 (b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
  size_t data = nest_begin (b, NFTA_IMMEDIATE_DATA);
  size_t verdict = nest_begin (b, NFTA_DATA_VERDICT);
  put_be32 (b, NFTA_VERDICT_CODE, NF_DROP);
  nest_end (b, verdict);
  nest_end (b, data);
  expr_end (b, e, d);
}

#define NFT_TYPE(m) ((uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (m)))

/* rule: oifname == port, meta protocol == IPv6, l4proto == proto, the
 * transport header's first len bytes == value: drop. */
static void
add_rule (struct nlbuf *b, const char *table, const char *port, uint8_t proto, const void *value,
          size_t vlen, uint32_t seq)
{
  size_t m = msg_begin (b, NFT_TYPE (NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
                        NFPROTO_BRIDGE, 0, seq);
  put_str (b, NFTA_RULE_TABLE, table);
  put_str (b, NFTA_RULE_CHAIN, "out");
  size_t exprs = nest_begin (b, NFTA_RULE_EXPRESSIONS);
  char name[IFNAMSIZ] = { 0 };
  snprintf (name, sizeof name, "%s", port);
  expr_meta (b, NFT_META_OIFNAME);
  expr_cmp_eq (b, name, sizeof name);
  uint16_t ipv6 = htons (0x86dd);
  expr_meta (b, NFT_META_PROTOCOL);
  expr_cmp_eq (b, &ipv6, 2);
  expr_meta (b, NFT_META_L4PROTO);
  expr_cmp_eq (b, &proto, 1);
  expr_payload (b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, (uint32_t)vlen);
  expr_cmp_eq (b, value, vlen);
  expr_drop (b);
  nest_end (b, exprs);
  msg_end (b, m);
}

size_t
sv_nft_build_ra_filter (const char *port, enum sv_nft_mode mode, uint8_t *buf, size_t len,
                        uint32_t *seq)
{
  bool create = mode != SV_NFT_DELETE;
  struct nlbuf b = { .buf = buf, .cap = len };
  char table[64];
  snprintf (table, sizeof table, "startvm_%s", port);
  uint32_t s = *seq;
  msg_end (&b, msg_begin (&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, s++));
  size_t m;
  /* Replace: add (a no-op when it exists), delete, add: a table left by
   * an earlier start is replaced whole, in one transaction.  Only then:
   * a deleted table is freed after an RCU grace period, and closing the
   * socket waits for that (about 10 ms here). */
  if (mode != SV_NFT_CREATE)
    {
      m = msg_begin (&b, NFT_TYPE (NFT_MSG_NEWTABLE), NLM_F_CREATE | NLM_F_ACK, NFPROTO_BRIDGE, 0,
                     s++);
      put_str (&b, NFTA_TABLE_NAME, table);
      msg_end (&b, m);
      m = msg_begin (&b, NFT_TYPE (NFT_MSG_DELTABLE), NLM_F_ACK, NFPROTO_BRIDGE, 0, s++);
      put_str (&b, NFTA_TABLE_NAME, table);
      msg_end (&b, m);
    }
  if (create)
    {
      m = msg_begin (&b, NFT_TYPE (NFT_MSG_NEWTABLE),
                     NLM_F_CREATE | NLM_F_ACK | (mode == SV_NFT_CREATE ? NLM_F_EXCL : 0),
                     NFPROTO_BRIDGE, 0, s++);
      put_str (&b, NFTA_TABLE_NAME, table);
      msg_end (&b, m);
      /* The bridge's own packets (dnsmasq's) pass the bridge family's
       * output hook once per port they leave by; forwarded ones (the
       * VM's) never do. */
      m = msg_begin (&b, NFT_TYPE (NFT_MSG_NEWCHAIN), NLM_F_CREATE | NLM_F_ACK, NFPROTO_BRIDGE, 0,
                     s++);
      put_str (&b, NFTA_CHAIN_TABLE, table);
      put_str (&b, NFTA_CHAIN_NAME, "out");
      size_t hook = nest_begin (&b, NFTA_CHAIN_HOOK);
      put_be32 (&b, NFTA_HOOK_HOOKNUM, NF_BR_LOCAL_OUT_HOOK);
      put_be32 (&b, NFTA_HOOK_PRIORITY, 0);
      nest_end (&b, hook);
      put_be32 (&b, NFTA_CHAIN_POLICY, NF_ACCEPT);
      put_str (&b, NFTA_CHAIN_TYPE, "filter");
      msg_end (&b, m);
      uint8_t ra = 134; /* ICMPv6 router advertisement */
      add_rule (&b, table, port, IPPROTO_ICMPV6, &ra, 1, s++);
      uint16_t server = htons (547); /* DHCPv6 server/relay port */
      add_rule (&b, table, port, IPPROTO_UDP, &server, 2, s++);
    }
  msg_end (&b, msg_begin (&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, s));
  *seq = s;
  return b.overflow ? 0 : b.len;
}

static int send_batch (const char *port, enum sv_nft_mode mode, sv_error_t *err);

int
sv_nft_ra_filter (const char *port, bool create, sv_error_t *err)
{
  if (!create)
    return send_batch (port, SV_NFT_DELETE, err);
  cleanup_error sv_error_t e = NULL;
  if (send_batch (port, SV_NFT_CREATE, &e) == 0)
    return 0;
  if (e->code != EEXIST)
    {
      *err = steal_pointer (&e);
      return -1;
    }
  return send_batch (port, SV_NFT_REPLACE, err);
}

static int
send_batch (const char *port, enum sv_nft_mode mode, sv_error_t *err)
{
  bool create = mode != SV_NFT_DELETE;
  uint8_t buf[4096];
  uint32_t first = 1, last = first;
  size_t n = sv_nft_build_ra_filter (port, mode, buf, sizeof buf, &last);
  if (n == 0)
    return sv_error_make (err, SV_EXIT_NET, SV_SRC_NONE, 0, "nftables batch too large");
  cleanup_close int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_NET, errno, "nf_tables netlink socket");
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  if (TEMP_FAILURE_RETRY (sendto (fd, buf, n, 0, (struct sockaddr *)&sa, sizeof sa)) < 0)
    return sv_error_errno (err, SV_EXIT_NET, errno, "nf_tables batch for %s", port);
  /* An ACK for each message with NLM_F_ACK (seq first+1 .. last-1); a
   * failed batch is aborted whole and answers with the error. */
  uint32_t want_last = last - 1;
  uint8_t rbuf[8192];
  for (;;)
    {
      ssize_t r = TEMP_FAILURE_RETRY (recv (fd, rbuf, sizeof rbuf, 0));
      if (r < 0)
        return sv_error_errno (err, SV_EXIT_NET, errno, "nf_tables reply for %s", port);
      for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK (h, (size_t)r);
           h = NLMSG_NEXT (h, r))
        {
          if (h->nlmsg_type != NLMSG_ERROR)
            continue;
          const struct nlmsgerr *e = NLMSG_DATA (h);
          int code = -e->error;
          /* Deleting a table that is not there: nothing to undo. */
          if (code == ENOENT && !create)
            return 0;
          if (code != 0)
            return sv_error_errno (err, SV_EXIT_NET, code,
                                   "nf_tables: %s table startvm_%s (message %u)",
                                   create ? "creating" : "deleting", port, h->nlmsg_seq);
          if (h->nlmsg_seq == want_last)
            return 0;
        }
    }
}

/* ---- forwarding ---- */

static int
read_forwarding (int *v, sv_error_t *err)
{
  cleanup_close int fd = open (FORWARDING_PATH, O_RDONLY | O_CLOEXEC);
  char c[8] = { 0 };
  if (fd < 0 || TEMP_FAILURE_RETRY (read (fd, c, sizeof c - 1)) < 1)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "reading %s (IPv6 disabled in this container?)",
                           FORWARDING_PATH);
  *v = c[0] == '0' ? 0 : 1;
  return 0;
}

static int
write_forwarding (int v, sv_error_t *err)
{
  cleanup_close int fd = open (FORWARDING_PATH, O_WRONLY | O_CLOEXEC);
  const char *s = v ? "1\n" : "0\n";
  if (fd < 0 || TEMP_FAILURE_RETRY (write (fd, s, 2)) != 2)
    {
      int e = errno;
      if (e == EROFS || e == EACCES || e == EPERM)
        return sv_error_errno (err, SV_EXIT_ENV, e,
                               "%s: the VM's IPv6 default route needs forwarding in the "
                               "container's namespace, and /proc/sys is read-only here (docker "
                               "run --sysctl net.ipv6.conf.all.forwarding=1)",
                               FORWARDING_PATH);
      return sv_error_errno (err, SV_EXIT_NET, e, "writing %s", FORWARDING_PATH);
    }
  return 0;
}

int
sv_forward6_check (sv_error_t *err)
{
  int v;
  if (read_forwarding (&v, err) < 0)
    return -1;
  if (v == 1 || access (FORWARDING_PATH, W_OK) == 0)
    return 0;
  return sv_error_errno (err, SV_EXIT_ENV, errno,
                         "%s is 0 and read-only here: the VM's IPv6 default route needs "
                         "forwarding in the container's namespace (docker run --sysctl "
                         "net.ipv6.conf.all.forwarding=1)",
                         FORWARDING_PATH);
}

int
sv_forward6_enable (int *old, bool *changed, sv_error_t *err)
{
  *changed = false;
  if (read_forwarding (old, err) < 0)
    return -1;
  if (*old == 1)
    return 0;
  if (write_forwarding (1, err) < 0)
    return -1;
  *changed = true;
  return 0;
}

int
sv_forward6_restore (int old, sv_error_t *err)
{
  return write_forwarding (old, err);
}
