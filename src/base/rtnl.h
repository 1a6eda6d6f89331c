/* The rtnetlink socket observe and apply talk to the kernel through. */
#ifndef SV_RTNL_H
#define SV_RTNL_H

#include "error.h"

struct nl_sock;

/* A libnl socket connected to NETLINK_ROUTE in *out (caller frees with
 * nl_socket_free).  Failure is a libnl error of exit_class (3 while
 * observing, 4 during the handoff). */
int sv_rtnl_open (int exit_class, struct nl_sock **out, sv_error_t *err);

#endif
