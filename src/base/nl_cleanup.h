/* Cleanup attributes for libnl objects (libnl keeps its own in a header it
 * does not install).  Each drops the reference the variable holds. */
#ifndef SV_NL_CLEANUP_H
#define SV_NL_CLEANUP_H

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

static inline void
sv_cleanup_nl_sockp (struct nl_sock **p)
{
  if (*p)
    nl_socket_free (*p);
}
static inline void
sv_cleanup_nl_cachep (struct nl_cache **p)
{
  if (*p)
    nl_cache_free (*p);
}
static inline void
sv_cleanup_nl_addrp (struct nl_addr **p)
{
  if (*p)
    nl_addr_put (*p);
}
static inline void
sv_cleanup_rtnl_linkp (struct rtnl_link **p)
{
  if (*p)
    rtnl_link_put (*p);
}
static inline void
sv_cleanup_rtnl_addrp (struct rtnl_addr **p)
{
  if (*p)
    rtnl_addr_put (*p);
}
static inline void
sv_cleanup_rtnl_routep (struct rtnl_route **p)
{
  if (*p)
    rtnl_route_put (*p);
}

#define cleanup_nl_sock __attribute__ ((cleanup (sv_cleanup_nl_sockp)))
#define cleanup_nl_cache __attribute__ ((cleanup (sv_cleanup_nl_cachep)))
#define cleanup_nl_addr __attribute__ ((cleanup (sv_cleanup_nl_addrp)))
#define cleanup_rtnl_link __attribute__ ((cleanup (sv_cleanup_rtnl_linkp)))
#define cleanup_rtnl_addr __attribute__ ((cleanup (sv_cleanup_rtnl_addrp)))
#define cleanup_rtnl_route __attribute__ ((cleanup (sv_cleanup_rtnl_routep)))

#endif
