/* IPv6 addresses as plain 16-byte arrays (network byte order, as the
 * kernel and inet_pton keep them): formatting, parsing and prefix
 * arithmetic for observe, plan and apply.  Pure functions. */
#ifndef SV_IP6_H
#define SV_IP6_H

#include <stdbool.h>
#include <stdint.h>

#define SV_IP6_STRLEN 46 /* INET6_ADDRSTRLEN */

/* RFC 5952 text ("fd00::2"); returns buf. */
const char *sv_ip6_format (const uint8_t a[16], char buf[SV_IP6_STRLEN]);
/* Plain IPv6 text, no zone, no prefix.  0 or -1. */
int sv_ip6_parse (const char *s, uint8_t out[16]);
bool sv_ip6_is_zero (const uint8_t a[16]);
bool sv_ip6_is_link_local (const uint8_t a[16]); /* fe80::/10 */
bool sv_ip6_is_loopback (const uint8_t a[16]);   /* ::1 */
/* Clears the bits after the first `prefix` ones. */
void sv_ip6_mask (uint8_t a[16], unsigned prefix);
bool sv_ip6_same_net (const uint8_t a[16], const uint8_t b[16], unsigned prefix);

#endif
