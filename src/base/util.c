#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void
buf_reserve (struct sv_buf *b, size_t extra)
{
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1)
    cap *= 2;
  b->data = sv_xrealloc (b->data, cap);
  b->cap = cap;
}

void
sv_buf_addn (struct sv_buf *b, const char *s, size_t n)
{
  buf_reserve (b, n);
  memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void
sv_buf_add (struct sv_buf *b, const char *s)
{
  sv_buf_addn (b, s, strlen (s));
}

void
sv_buf_addc (struct sv_buf *b, char c)
{
  sv_buf_addn (b, &c, 1);
}

void
sv_buf_addf (struct sv_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char tmp[256];
  int n = vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof tmp)
    {
      sv_buf_addn (b, tmp, (size_t)n);
      return;
    }
  buf_reserve (b, (size_t)n);
  va_start (ap, fmt);
  vsnprintf (b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end (ap);
  b->len += (size_t)n;
}

char *
sv_buf_steal (struct sv_buf *b)
{
  char *s = b->data ? b->data : sv_xstrdup ("");
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

void
sv_buf_free (struct sv_buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void
sv_strv_add (struct sv_strv *s, const char *str)
{
  if (s->n + 2 > s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 16;
      s->v = sv_xrealloc (s->v, s->cap * sizeof (char *));
    }
  s->v[s->n++] = sv_xstrdup (str);
  s->v[s->n] = NULL;
}

void
sv_strv_addf (struct sv_strv *s, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *str = sv_xvasprintf (fmt, ap);
  va_end (ap);
  sv_strv_add (s, str);
  free (str);
}

void
sv_strv_free_raw (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

void
sv_strv_free (struct sv_strv *s)
{
  sv_strv_free_raw (s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

/* ---- parsers ---- */

static const char *
skip_space (const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* Parses "<decimal>[.<fraction>]<unit>" into a value scaled by unit_scale
 * (bytes per unit); plain numbers use plain_scale.  Returns -1 on garbage,
 * -2 on overflow. */
static int
parse_scaled (const char *s, uint64_t plain_scale, uint64_t *out)
{
  /* Case-insensitive, powers of 1024 whatever the spelling: "2G", "2gb"
   * and "2GiB" all mean 2 GiB, as in QEMU and Docker. */
  static const struct
  {
    const char *suffix;
    uint64_t scale;
  } units[] = {
    { "", 0 }, /* plain: replaced by plain_scale */
    { "B", 1ULL },
    { "K", 1ULL << 10 },
    { "KB", 1ULL << 10 },
    { "KiB", 1ULL << 10 },
    { "M", 1ULL << 20 },
    { "MB", 1ULL << 20 },
    { "MiB", 1ULL << 20 },
    { "G", 1ULL << 30 },
    { "GB", 1ULL << 30 },
    { "GiB", 1ULL << 30 },
    { "T", 1ULL << 40 },
    { "TB", 1ULL << 40 },
    { "TiB", 1ULL << 40 },
  };
  const char *p = skip_space (s);
  if (!isdigit ((unsigned char)*p))
    return -1;
  uint64_t whole = 0;
  while (isdigit ((unsigned char)*p))
    {
      if (whole > (UINT64_MAX - 9) / 10)
        return -2;
      whole = whole * 10 + (uint64_t)(*p - '0');
      p++;
    }
  uint64_t frac = 0, frac_div = 1;
  if (*p == '.')
    {
      p++;
      if (!isdigit ((unsigned char)*p))
        return -1;
      while (isdigit ((unsigned char)*p))
        {
          if (frac_div < 1000000000ULL)
            {
              frac = frac * 10 + (uint64_t)(*p - '0');
              frac_div *= 10;
            }
          p++;
        }
    }
  const char *unit_end = p;
  while (*unit_end && *unit_end != ' ' && *unit_end != '\t')
    unit_end++;
  size_t ulen = (size_t)(unit_end - p);
  if (*skip_space (unit_end) != '\0')
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    {
      if (strlen (units[i].suffix) != ulen || strncasecmp (units[i].suffix, p, ulen) != 0)
        continue;
      uint64_t scale = i == 0 ? plain_scale : units[i].scale;
      if (whole != 0 && scale > UINT64_MAX / whole)
        return -2;
      uint64_t v = whole * scale;
      uint64_t f = (scale / frac_div) * frac + ((scale % frac_div) * frac) / frac_div;
      if (v > UINT64_MAX - f)
        return -2;
      *out = v + f;
      return 0;
    }
  return -1;
}

int
sv_parse_size_bytes (const char *s, const char *what, uint64_t *out_bytes, sv_error_t *err)
{
  uint64_t v = 0;
  int r = parse_scaled (s, 1ULL << 20, &v);
  if (r == -2)
    return sv_error_config (err, "%s: size '%s' is too large (e.g. 2G)", what, s);
  if (r < 0 || strchr (s, '-'))
    return sv_error_config (err,
                            "%s: '%s' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a "
                            "plain number of MiB such as 2048)",
                            what, s);
  if (v == 0)
    return sv_error_config (err, "%s: size must be greater than zero (e.g. 512M)", what);
  *out_bytes = v;
  return 0;
}

int
sv_parse_size_mib (const char *s, const char *what, uint64_t max_mib, uint64_t *out_mib,
                   sv_error_t *err)
{
  uint64_t bytes = 0;
  if (sv_parse_size_bytes (s, what, &bytes, err) < 0)
    return -1;
  if (bytes % (1ULL << 20) != 0 && bytes < (1ULL << 20))
    return sv_error_config (err, "%s: '%s' is less than 1 MiB (e.g. 512M)", what, s);
  uint64_t mib = bytes >> 20;
  if (mib > max_mib)
    return sv_error_config (err, "%s: '%s' is more than the maximum of %" PRIu64 " MiB (e.g. 2G)",
                            what, s, max_mib);
  *out_mib = mib;
  return 0;
}

int
sv_parse_duration_ms (const char *s, const char *what, uint64_t *out_ms, sv_error_t *err)
{
  const char *p = skip_space (s);
  char *end = NULL;
  if (!isdigit ((unsigned char)*p))
    goto bad;
  errno = 0;
  unsigned long long n = strtoull (p, &end, 10);
  if (errno == ERANGE || n > UINT64_MAX / 3600000ULL)
    return sv_error_config (err, "%s: duration '%s' is too large (e.g. 60s)", what, s);
  uint64_t mult;
  const char *u = end;
  const char *ue = u;
  while (*ue && *ue != ' ' && *ue != '\t')
    ue++;
  size_t ul = (size_t)(ue - u);
  if (*skip_space (ue) != '\0')
    goto bad;
  if (ul == 0 || (ul == 1 && *u == 's'))
    mult = 1000;
  else if (ul == 2 && strncmp (u, "ms", 2) == 0)
    mult = 1;
  else if (ul == 1 && *u == 'm')
    mult = 60000;
  else if (ul == 1 && *u == 'h')
    mult = 3600000;
  else
    goto bad;
  *out_ms = n * mult;
  return 0;
bad:
  return sv_error_config (err,
                          "%s: '%s' is not a duration (accepted: 500ms, 6s, 2m, 1h, or a plain "
                          "number of seconds such as 30)",
                          what, s);
}

char *
sv_format_duration (uint64_t ms, char *buf, size_t len)
{
  if (ms % 1000 == 0)
    snprintf (buf, len, "%" PRIu64 "s", ms / 1000);
  else
    snprintf (buf, len, "%" PRIu64 "ms", ms);
  return buf;
}

int
sv_parse_bool (const char *s, const char *what, bool *out, sv_error_t *err)
{
  static const char *yes[] = { "true", "yes", "1", "on" };
  static const char *no[] = { "false", "no", "0", "off" };
  for (size_t i = 0; i < 4; i++)
    {
      if (strcasecmp (s, yes[i]) == 0)
        {
          *out = true;
          return 0;
        }
      if (strcasecmp (s, no[i]) == 0)
        {
          *out = false;
          return 0;
        }
    }
  return sv_error_config (err, "%s: '%s' is not a boolean (accepted: true, false, yes, no, 1, 0)",
                          what, s);
}

int
sv_parse_int (const char *s, const char *what, long long min, long long max, long long *out,
              sv_error_t *err)
{
  const char *p = skip_space (s);
  char *end = NULL;
  if (*p == '\0')
    goto bad;
  errno = 0;
  long long v = strtoll (p, &end, 10);
  if (end == p || *skip_space (end) != '\0')
    goto bad;
  if (errno == ERANGE || v < min || v > max)
    return sv_error_config (err, "%s: %s is out of range (accepted: %lld to %lld)", what, s, min,
                            max);
  *out = v;
  return 0;
bad:
  return sv_error_config (err, "%s: '%s' is not an integer (accepted: %lld to %lld, e.g. %lld)",
                          what, s, min, max, min);
}

/* ---- quoting ---- */

size_t
sv_utf8_seq_len (const unsigned char *s, size_t avail)
{
  unsigned char c = s[0];
  size_t n;
  unsigned min, cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07, min = 0x10000;
  else
    return 0;
  if (n > avail)
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      /* A NUL is no continuation byte: NUL-terminated callers never read
       * past their string. */
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void
sv_buf_add_escaped (struct sv_buf *b, const char *s, enum sv_escape how)
{
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    {
      /* Cut long values on a character boundary. */
      if (how == SV_ESC_MESSAGE && n >= 60 && (*p & 0xc0) != 0x80)
        {
          sv_buf_add (b, "...");
          return;
        }
      if (how == SV_ESC_MESSAGE && (*p == '\n' || *p == '\t'))
        sv_buf_add (b, *p == '\n' ? "\\n" : "\\t");
      else if (*p < 0x20 || *p == 0x7f || (how == SV_ESC_VALUE && *p == '\\'))
        sv_buf_addf (b, "\\x%02x", *p);
      else
        sv_buf_addc (b, (char)*p);
      n++;
    }
  if (b->data == NULL)
    sv_buf_add (b, "");
}

/* A word with a control byte (a newline in -append, an escape sequence in
 * a name) or bytes that are not UTF-8 is written as bash's $'...' with
 * \xNN escapes, so it stays on its line and cannot drive the terminal;
 * other words as '...' unless every byte is safe bare. */
void
sv_buf_add_shell_word (struct sv_buf *b, const char *w)
{
  bool plain = true, bare = *w != '\0';
  for (const unsigned char *p = (const unsigned char *)w; *p && plain;)
    {
      size_t n = sv_utf8_seq_len (p, SIZE_MAX);
      plain = n > 0 && !(n == 1 && (*p < 0x20 || *p == 0x7f));
      bare = bare && n == 1 && (isalnum (*p) || strchr ("@%+=:,./_-", *p) != NULL);
      p += n ? n : 1;
    }
  if (bare)
    {
      sv_buf_add (b, w);
      return;
    }
  if (plain)
    {
      sv_buf_addc (b, '\'');
      for (const char *p = w; *p; p++)
        {
          if (*p == '\'')
            sv_buf_add (b, "'\\''");
          else
            sv_buf_addc (b, *p);
        }
      sv_buf_addc (b, '\'');
      return;
    }
  sv_buf_add (b, "$'");
  for (const unsigned char *p = (const unsigned char *)w; *p;)
    {
      size_t n = sv_utf8_seq_len (p, SIZE_MAX);
      if (n > 1)
        {
          sv_buf_addn (b, (const char *)p, n);
          p += n;
          continue;
        }
      if (*p == '\\' || *p == '\'')
        sv_buf_addf (b, "\\%c", *p);
      else if (*p == '\n')
        sv_buf_add (b, "\\n");
      else if (*p == '\t')
        sv_buf_add (b, "\\t");
      else if (*p < 0x20 || *p >= 0x7f)
        sv_buf_addf (b, "\\x%02x", *p);
      else
        sv_buf_addc (b, (char)*p);
      p++;
    }
  sv_buf_addc (b, '\'');
}

void
sv_buf_add_json_string (struct sv_buf *b, const char *s)
{
  sv_buf_addc (b, '"');
  const unsigned char *p = (const unsigned char *)s;
  while (*p)
    {
      size_t n = sv_utf8_seq_len (p, SIZE_MAX);
      if (n == 0)
        {
          /* Observed names and config strings are bytes; JSON is text. */
          sv_buf_add (b, "\\ufffd");
          p++;
          continue;
        }
      if (n > 1)
        {
          sv_buf_addn (b, (const char *)p, n);
          p += n;
          continue;
        }
      switch (*p)
        {
        case '"':
          sv_buf_add (b, "\\\"");
          break;
        case '\\':
          sv_buf_add (b, "\\\\");
          break;
        case '\n':
          sv_buf_add (b, "\\n");
          break;
        case '\r':
          sv_buf_add (b, "\\r");
          break;
        case '\t':
          sv_buf_add (b, "\\t");
          break;
        default:
          if (*p < 0x20 || *p == 0x7f)
            sv_buf_addf (b, "\\u%04x", *p);
          else
            sv_buf_addc (b, (char)*p);
        }
      p++;
    }
  sv_buf_addc (b, '"');
}

/* ---- IPv4 / MAC ---- */

char *
sv_ip4_format (uint32_t a, char *buf)
{
  snprintf (buf, SV_IP4_STRLEN, "%u.%u.%u.%u", (a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255,
            a & 255);
  return buf;
}

int
sv_ip4_parse (const char *s, uint32_t *out)
{
  /* inet_pton takes exactly four decimal parts and refuses a leading zero
   * ("010.1.1.1" is octal to inet_aton: which address was meant?). */
  struct in_addr a;
  if (inet_pton (AF_INET, s, &a) != 1)
    return -1;
  *out = ntohl (a.s_addr);
  return 0;
}

uint32_t
sv_ip4_netmask (unsigned prefix)
{
  if (prefix == 0)
    return 0;
  if (prefix >= 32)
    return 0xffffffffu;
  return ~((1u << (32 - prefix)) - 1u);
}

char *
sv_mac_format (const uint8_t m[6], char *buf)
{
  snprintf (buf, SV_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
            m[5]);
  return buf;
}

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int
sv_mac_parse (const char *s, uint8_t mac[6])
{
  /* Exactly "xx:xx:xx:xx:xx:xx": sscanf's %x would also take "-1", "+2"
   * and single digits. */
  uint8_t v[6];
  for (int i = 0; i < 6; i++, s += 3)
    {
      int hi = hex_digit (s[0]), lo = hi < 0 ? -1 : hex_digit (s[1]);
      if (lo < 0 || s[2] != (i < 5 ? ':' : '\0'))
        return -1;
      v[i] = (uint8_t)(hi << 4 | lo);
    }
  memcpy (mac, v, 6);
  return 0;
}
