/* Pure helpers of observe.c, exported for unit tests. */
#ifndef SV_OBSERVE_INTERNAL_H
#define SV_OBSERVE_INTERNAL_H

#include <stdint.h>

#include "error.h"
#include "host.h"

/* network.ip_prefix: "10.42", "10.42.", "10.42.0.0/16" -> network and
 * length in bits (dotted partials match whole octets: "10.4" is 10.4.x.x,
 * never 10.42.x.x).  Config error (exit 2) on anything else. */
int sv_observe_parse_ip_prefix (const char *s, uint32_t *net, uint8_t *len, sv_error_t *err);

/* Interface order: eth0 first, then by name in natural order (eth2 before
 * eth10).  qsort comparator over struct sv_iface. */
int sv_observe_iface_cmp (const void *a, const void *b);

#endif
