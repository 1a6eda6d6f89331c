#include "rtnl.h"

#include "cleanup.h"
#include "nl_cleanup.h"

int
sv_rtnl_open (int exit_class, struct nl_sock **out, sv_error_t *err)
{
  cleanup_nl_sock struct nl_sock *sk = nl_socket_alloc ();
  if (sk == NULL)
    return sv_error_nle (err, exit_class, NLE_NOMEM, "netlink socket");
  int r = nl_connect (sk, NETLINK_ROUTE);
  if (r < 0)
    return sv_error_nle (err, exit_class, r, "connecting to rtnetlink");
  *out = steal_pointer (&sk);
  return 0;
}
