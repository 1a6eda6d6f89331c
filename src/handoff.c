/* The handoff contract (handoff.h): the derived MAC, the extra-route rule,
 * and the facts kept in the bridge's alias.  The alias: every field  is formatted by us on the way
 * in and parsed strictly on the way out: the alias is writable by anyone with CAP_NET_ADMIN in the
 * namespace, so a malformed one is an error, never a guess. */
#include "handoff.h"

#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip6.h"
#include "util.h"

_Static_assert(SV_RT_TABLE_MAIN == RT_TABLE_MAIN, "RT_TABLE_MAIN");
_Static_assert(SV_RT_SCOPE_UNIVERSE == RT_SCOPE_UNIVERSE, "RT_SCOPE_UNIVERSE");
_Static_assert(SV_RT_SCOPE_LINK == RT_SCOPE_LINK, "RT_SCOPE_LINK");
_Static_assert(SV_RTPROT_BOOT == RTPROT_BOOT, "RTPROT_BOOT");

/* XOR with a constant is one-to-one on bytes 1..5, so containers whose
 * MACs share byte 0 (every Docker MAC starts 02:42) never get the same
 * derived MAC, and restarts give the same one.  The constant depends on
 * the old locally-administered bit, so 00:xx.. and 02:xx.. (which map to
 * the same byte 0) still differ.  Byte 1 always changes: the result never
 * equals the original (the VM's MAC), and a Docker-assigned 02:42:.. never
 * becomes another Docker-looking 02:42:.. address. */
void
sv_handoff_derive_mac (const uint8_t old_mac[6], uint8_t new_mac[6])
{
  static const uint8_t from_universal[5] = { 0x5e, 0x3b, 0xc7, 0x19, 0xa4 };
  static const uint8_t from_local[5] = { 0x9d, 0x6a, 0x2f, 0xe1, 0x58 };
  const uint8_t *k = (old_mac[0] & 0x02) ? from_local : from_universal;
  uint8_t out[6];
  out[0] = (uint8_t)((old_mac[0] | 0x02) & ~0x01);
  for (int i = 1; i < 6; i++)
    out[i] = (uint8_t)(old_mac[i] ^ k[i - 1]);
  memcpy (new_mac, out, 6);
}

static bool
is_connected_route (const struct sv_route *r, const struct sv_iface *ifc)
{
  return r->gateway == 0 && r->dst_len == ifc->prefix
         && r->dst == (ifc->addr & sv_ip4_netmask (ifc->prefix));
}

/* The container routes besides the default and the VM's own subnet: the
 * ones a router option cannot express. */
bool
sv_handoff_is_extra_route (const struct sv_iface *ifc, size_t r)
{
  const struct sv_route *rt = &ifc->routes[r];
  if (rt->dst_len == 0 || rt->dst_len > 32 || is_connected_route (rt, ifc)
      || (rt->table != 0 && rt->table != SV_RT_TABLE_MAIN))
    return false;
  /* The same destination twice (another metric): the first one wins. */
  uint32_t m = sv_ip4_netmask (rt->dst_len);
  for (size_t q = 0; q < r; q++)
    if (ifc->routes[q].dst_len == rt->dst_len && (ifc->routes[q].dst & m) == (rt->dst & m))
      return false;
  return true;
}

/* ---- the bridge alias ---- */

size_t
sv_handoff_alias_encode (const struct sv_iface *ifc, char out[SV_HANDOFF_ALIAS_MAX])
{
  char mac[SV_MAC_STRLEN], a[SV_IP4_STRLEN], g[SV_IP4_STRLEN];
  char cidr[SV_IP4_STRLEN + 4] = "-"; /* "-": no IPv4 address (IPv6-only) */
  if (ifc->addr)
    snprintf (cidr, sizeof cidr, "%s/%u", sv_ip4_format (ifc->addr, a), ifc->prefix);
  int n = snprintf (out, SV_HANDOFF_ALIAS_MAX, "%s %s %s %s mtu=%u", SV_HANDOFF_ALIAS_MARKER,
                    ifc->name, sv_mac_format (ifc->mac, mac), cidr, ifc->mtu);
  size_t len = n < 0 ? 0 : (size_t)n;
  if (ifc->gateway)
    len += (size_t)snprintf (out + len, SV_HANDOFF_ALIAS_MAX - len, " gw=%s",
                             sv_ip4_format (ifc->gateway, g));
  /* IPv6: the address and the default gateway, before the IPv4 routes
   * (they fit: at most 100 bytes after at most 70). */
  if (ifc->has_addr6)
    {
      char a6[SV_IP6_STRLEN];
      len += (size_t)snprintf (out + len, SV_HANDOFF_ALIAS_MAX - len, " a6=%s/%u",
                               sv_ip6_format (ifc->addr6, a6), ifc->prefix6);
      if (ifc->has_gateway6)
        len += (size_t)snprintf (out + len, SV_HANDOFF_ALIAS_MAX - len, " gw6=%s",
                                 sv_ip6_format (ifc->gateway6, a6));
    }
  size_t dropped = 0;
  size_t nr = ifc->n_routes < SV_MAX_ROUTES ? ifc->n_routes : SV_MAX_ROUTES;
  for (size_t r = 0; r < nr; r++)
    {
      if (!sv_handoff_is_extra_route (ifc, r))
        continue;
      const struct sv_route *rt = &ifc->routes[r];
      char item[64];
      uint32_t dst = rt->dst & sv_ip4_netmask (rt->dst_len);
      if (rt->gateway)
        snprintf (item, sizeof item, " r=%s/%u,%s", sv_ip4_format (dst, a), rt->dst_len,
                  sv_ip4_format (rt->gateway, g));
      else
        snprintf (item, sizeof item, " r=%s/%u", sv_ip4_format (dst, a), rt->dst_len);
      size_t il = strlen (item);
      if (len + il >= SV_HANDOFF_ALIAS_MAX)
        {
          dropped++;
          continue;
        }
      memcpy (out + len, item, il + 1);
      len += il;
    }
  return dropped;
}

bool
sv_handoff_alias_is_ours (const char *alias)
{
  return alias && strncmp (alias, "startvm", 7) == 0 && alias[7] >= '0' && alias[7] <= '9';
}

/* "ADDR/LEN": ADDR copied into ip (size bytes), LEN (digits, min..max)
 * into *len; -1 when s is not of that form. */
static int
split_cidr (const char *s, char *ip, size_t size, unsigned min, unsigned max, uint8_t *len)
{
  const char *slash = strchr (s, '/');
  if (slash == NULL || (size_t)(slash - s) >= size)
    return -1;
  memcpy (ip, s, (size_t)(slash - s));
  ip[slash - s] = '\0';
  long long v;
  if (slash[1] < '0' || slash[1] > '9'
      || sv_parse_int (slash + 1, "prefix", min, max, &v, NULL) < 0)
    return -1;
  *len = (uint8_t)v;
  return 0;
}

/* "a.b.c.d/len" with len 0..32 (min..32). */
static int
parse_cidr (const char *s, unsigned min, uint32_t *addr, uint8_t *len)
{
  char ip[SV_IP4_STRLEN];
  if (split_cidr (s, ip, sizeof ip, min, 32, len) < 0 || sv_ip4_parse (ip, addr) < 0)
    return -1;
  return 0;
}

/* "addr6/len", len 1..128. */
static int
parse_cidr6 (const char *s, struct sv_iface *ifc)
{
  char ip[SV_IP6_STRLEN];
  if (split_cidr (s, ip, sizeof ip, 1, 128, &ifc->prefix6) < 0 || sv_ip6_parse (ip, ifc->addr6) < 0
      || sv_ip6_is_zero (ifc->addr6))
    return -1;
  ifc->has_addr6 = true;
  return 0;
}

static struct sv_route *
add_route (struct sv_iface *ifc, uint32_t dst, uint8_t len, uint32_t gw)
{
  if (ifc->n_routes == SV_MAX_ROUTES)
    return NULL;
  struct sv_route *rt = &ifc->routes[ifc->n_routes++];
  memset (rt, 0, sizeof *rt);
  rt->dst = dst & sv_ip4_netmask (len);
  rt->dst_len = len;
  rt->gateway = gw;
  rt->table = SV_RT_TABLE_MAIN;
  rt->scope = gw ? 0 : SV_RT_SCOPE_LINK;
  /* The alias does not keep it; should a failed finish of an unfinished
   * handoff put the route back, it reads as `ip route add` makes it. */
  rt->protocol = SV_RTPROT_BOOT;
  return rt;
}

static int
decode_fields (char *s, struct sv_iface *ifc, const char **why)
{
  char *save = NULL;
  char *tok[5];
  for (int i = 0; i < 5; i++)
    {
      tok[i] = strtok_r (i ? NULL : s, " ", &save);
      if (tok[i] == NULL)
        return *why = "too few fields", -1;
    }
  if (strcmp (tok[0], SV_HANDOFF_ALIAS_MARKER) != 0)
    return *why = "written by another startvm version", -1;
  size_t nl = strlen (tok[1]);
  if (nl == 0 || nl >= IFNAMSIZ || strpbrk (tok[1], "/:") || strcmp (tok[1], ".") == 0
      || strcmp (tok[1], "..") == 0)
    return *why = "bad interface name", -1;
  memcpy (ifc->name, tok[1], nl + 1);
  if (sv_mac_parse (tok[2], ifc->mac) < 0)
    return *why = "bad MAC address", -1;
  bool no4 = strcmp (tok[3], "-") == 0;
  if (!no4 && (parse_cidr (tok[3], 1, &ifc->addr, &ifc->prefix) < 0 || ifc->addr == 0))
    return *why = "bad address", -1;
  long long mtu;
  if (strncmp (tok[4], "mtu=", 4) != 0
      || sv_parse_int (tok[4] + 4, "mtu", 0, 65535, &mtu, NULL) < 0)
    return *why = "bad mtu", -1;
  ifc->mtu = (unsigned)mtu;
  if (!no4 && ifc->prefix < 32)
    add_route (ifc, ifc->addr, ifc->prefix, 0);

  bool have_gw = false;
  for (char *t = strtok_r (NULL, " ", &save); t; t = strtok_r (NULL, " ", &save))
    {
      if (strncmp (t, "a6=", 3) == 0 && !ifc->has_addr6)
        {
          if (parse_cidr6 (t + 3, ifc) < 0)
            return *why = "bad IPv6 address", -1;
        }
      else if (strncmp (t, "gw6=", 4) == 0 && ifc->has_addr6 && !ifc->has_gateway6)
        {
          if (sv_ip6_parse (t + 4, ifc->gateway6) < 0 || sv_ip6_is_zero (ifc->gateway6))
            return *why = "bad IPv6 gateway", -1;
          ifc->has_gateway6 = true;
        }
      else if (strncmp (t, "gw=", 3) == 0 && !have_gw && !no4 && ifc->n_routes <= 1)
        {
          if (sv_ip4_parse (t + 3, &ifc->gateway) < 0 || ifc->gateway == 0)
            return *why = "bad gateway", -1;
          have_gw = true;
        }
      else if (strncmp (t, "r=", 2) == 0)
        {
          char *comma = strchr (t, ',');
          uint32_t dst, gw = 0;
          uint8_t len;
          if (comma)
            *comma = '\0';
          if (parse_cidr (t + 2, 1, &dst, &len) < 0
              || (comma && (sv_ip4_parse (comma + 1, &gw) < 0 || gw == 0)))
            return *why = "bad route", -1;
          /* One slot stays free for the default route. */
          if (ifc->n_routes + 1 >= SV_MAX_ROUTES || add_route (ifc, dst, len, gw) == NULL)
            return *why = "too many routes", -1;
        }
      else
        return *why = "unknown field", -1;
    }
  if (ifc->gateway)
    add_route (ifc, 0, 0, ifc->gateway);
  if (no4 && !ifc->has_addr6)
    return *why = "no address", -1;
  if (ifc->has_addr6)
    {
      /* The prefix route (the kernel's, metric 256) and the default. */
      struct sv_route6 *rt = &ifc->routes6[ifc->n_routes6++];
      memset (rt, 0, sizeof *rt);
      memcpy (rt->dst, ifc->addr6, 16);
      sv_ip6_mask (rt->dst, ifc->prefix6);
      rt->dst_len = ifc->prefix6;
      rt->metric = 256;
      rt->protocol = 2; /* RTPROT_KERNEL */
      if (ifc->has_gateway6)
        {
          rt = &ifc->routes6[ifc->n_routes6++];
          memset (rt, 0, sizeof *rt);
          memcpy (rt->gateway, ifc->gateway6, 16);
          rt->metric = 1024;
          rt->protocol = SV_RTPROT_BOOT;
        }
    }
  return 0;
}

int
sv_handoff_alias_decode (const char *alias, struct sv_iface *ifc, sv_error_t *err)
{
  memset (ifc, 0, sizeof *ifc);
  size_t n = alias ? strnlen (alias, SV_HANDOFF_ALIAS_MAX) : 0;
  const char *why = "too long";
  if (n < SV_HANDOFF_ALIAS_MAX)
    {
      char copy[SV_HANDOFF_ALIAS_MAX];
      memcpy (copy, alias, n + 1);
      if (decode_fields (copy, ifc, &why) == 0)
        return 0;
    }
  memset (ifc, 0, sizeof *ifc);
  /* Shown in the error: printable ASCII only, whatever the alias holds. */
  char shown[201];
  size_t k = 0;
  for (; alias && k < n && k < sizeof shown - 1; k++)
    shown[k] = alias[k] >= 0x20 && alias[k] < 0x7f ? alias[k] : '?';
  shown[k] = '\0';
  return sv_error_make (err, SV_EXIT_ENV, SV_SRC_NONE, 0,
                        "bridge alias '%s' from an earlier startvm: %s (this startvm reads '%s "
                        "...')",
                        shown, why, SV_HANDOFF_ALIAS_MARKER);
}
