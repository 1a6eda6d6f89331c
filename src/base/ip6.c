/* ip6: see ip6.h. */
#include "ip6.h"

#include <arpa/inet.h>
#include <string.h>

const char *
sv_ip6_format (const uint8_t a[16], char buf[SV_IP6_STRLEN])
{
  if (inet_ntop (AF_INET6, a, buf, SV_IP6_STRLEN) == NULL)
    strcpy (buf, "::");
  return buf;
}

int
sv_ip6_parse (const char *s, uint8_t out[16])
{
  uint8_t tmp[16];
  if (s == NULL || strchr (s, '%') || inet_pton (AF_INET6, s, tmp) != 1)
    return -1;
  memcpy (out, tmp, 16);
  return 0;
}

bool
sv_ip6_is_zero (const uint8_t a[16])
{
  static const uint8_t zero[16];
  return memcmp (a, zero, 16) == 0;
}

bool
sv_ip6_is_link_local (const uint8_t a[16])
{
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

bool
sv_ip6_is_loopback (const uint8_t a[16])
{
  static const uint8_t lo[16] = { [15] = 1 };
  return memcmp (a, lo, 16) == 0;
}

void
sv_ip6_mask (uint8_t a[16], unsigned prefix)
{
  for (unsigned i = 0; i < 16; i++)
    {
      unsigned bits = prefix > 8 * i ? prefix - 8 * i : 0;
      if (bits >= 8)
        continue;
      a[i] &= (uint8_t)(0xff00u >> bits);
    }
}

bool
sv_ip6_same_net (const uint8_t a[16], const uint8_t b[16], unsigned prefix)
{
  uint8_t x[16], y[16];
  memcpy (x, a, 16);
  memcpy (y, b, 16);
  sv_ip6_mask (x, prefix);
  sv_ip6_mask (y, prefix);
  return memcmp (x, y, 16) == 0;
}
