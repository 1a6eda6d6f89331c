#include "resolv.h"

#include <string.h>

#include "ip6.h"
#include "util.h"

static const char *
skip_blank (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  return p;
}

static const char *
skip_word (const char *p, const char *end)
{
  while (p < end && *p != ' ' && *p != '\t')
    p++;
  return p;
}

/* Does the line start with keyword followed by a blank (glibc requires
 * whitespace after the keyword)? */
static bool
keyword_is (const char *line, const char *end, const char *kw)
{
  size_t n = strlen (kw);
  return (size_t)(end - line) > n && strncmp (line, kw, n) == 0
         && (line[n] == ' ' || line[n] == '\t');
}

static void
parse_nameserver (const char *p, const char *end, struct sv_net_state *out)
{
  p = skip_blank (p, end);
  const char *w = skip_word (p, end);
  char tmp[64];
  if (w == p || (size_t)(w - p) >= sizeof tmp)
    return;
  memcpy (tmp, p, (size_t)(w - p));
  tmp[w - p] = '\0';
  uint32_t a;
  /* DHCPv4 option 6 carries IPv4 servers, DHCPv6 and the RA IPv6 ones:
   * split by family.  A scoped one (fe80::1%eth0) names a link of the
   * container, not the VM's: neither list. */
  if (sv_ip4_parse (tmp, &a) < 0)
    {
      uint8_t a6[16];
      if (sv_ip6_parse (tmp, a6) < 0 || out->n_dns6 >= SV_MAX_DNS)
        return;
      for (size_t i = 0; i < out->n_dns6; i++)
        if (memcmp (out->dns6[i], a6, 16) == 0)
          return;
      memcpy (out->dns6[out->n_dns6++], a6, 16);
      return;
    }
  if (out->n_dns >= SV_MAX_DNS)
    return;
  for (size_t i = 0; i < out->n_dns; i++)
    if (out->dns[i] == a)
      return;
  out->dns[out->n_dns++] = a;
}

/* glibc: `search` and `domain` each replace the whole list, so the last
 * such line wins. */
static void
parse_search (const char *p, const char *end, bool single, struct sv_net_state *out)
{
  out->n_search = 0;
  for (;;)
    {
      p = skip_blank (p, end);
      if (p >= end || out->n_search >= SV_MAX_SEARCH)
        return;
      const char *w = skip_word (p, end);
      size_t n = (size_t)(w - p);
      if (n < sizeof out->search[0])
        {
          memcpy (out->search[out->n_search], p, n);
          out->search[out->n_search][n] = '\0';
          out->n_search++;
        }
      if (single)
        return;
      p = w;
    }
}

void
sv_resolv_parse (const char *text, struct sv_net_state *out)
{
  out->n_dns = 0;
  out->n_dns6 = 0;
  out->n_search = 0;
  const char *p = text;
  while (p && *p)
    {
      const char *nl = strchr (p, '\n');
      const char *end = nl ? nl : p + strlen (p);
      /* Trailing comments and CR (files edited elsewhere) end the line. */
      const char *c = p;
      while (c < end && *c != '#' && *c != ';' && *c != '\r')
        c++;
      const char *line = skip_blank (p, c);
      if (keyword_is (line, c, "nameserver"))
        parse_nameserver (line + 10, c, out);
      else if (keyword_is (line, c, "search"))
        parse_search (line + 6, c, false, out);
      else if (keyword_is (line, c, "domain"))
        parse_search (line + 6, c, true, out);
      p = nl ? nl + 1 : end;
    }
}
