/* resolv.conf parsing (pure, no I/O): the IPv4 nameservers and search
 * domains the VM's DHCP lease repeats. */
#ifndef SV_RESOLV_H
#define SV_RESOLV_H

#include "host.h"

/* Parses resolv.conf text into out->dns/n_dns and out->search/n_search
 * (other fields untouched).  Follows glibc: '#' and ';' start comments,
 * `domain` and `search` replace each other (the last one wins), IPv6
 * nameservers and `options` are skipped, entries beyond the SV_MAX_*
 * limits are dropped.  Never fails: a broken line is ignored, as glibc
 * does. */
void sv_resolv_parse (const char *text, struct sv_net_state *out);

#endif
