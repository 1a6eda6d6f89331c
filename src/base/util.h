/* Small shared helpers: growable strings, string vectors, value parsers,
 * quoting, IPv4/MAC formatting.  No I/O here. */
#ifndef SV_UTIL_H
#define SV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "io.h" /* sv_xmalloc and friends */

/* ---- growable string ---- */
struct sv_buf
{
  char *data; /* always NUL-terminated once anything was appended */
  size_t len;
  size_t cap;
};
void sv_buf_add (struct sv_buf *b, const char *s);
void sv_buf_addn (struct sv_buf *b, const char *s, size_t n);
void sv_buf_addf (struct sv_buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void sv_buf_addc (struct sv_buf *b, char c);
/* Returns the string (never NULL: "" for an empty buffer) and resets b. */
char *sv_buf_steal (struct sv_buf *b);
void sv_buf_free (struct sv_buf *b);

/* ---- NULL-terminated string vectors ---- */
struct sv_strv
{
  char **v; /* NULL-terminated, owned */
  size_t n;
  size_t cap;
};
void sv_strv_add (struct sv_strv *s, const char *str);
void sv_strv_addf (struct sv_strv *s, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void sv_strv_free (struct sv_strv *s);
void sv_strv_free_raw (char **v); /* free a stolen v */

/* ---- value parsers (pure).  On failure they return -1 and fill *err
 * with a config error whose text says what was expected, with an accepted
 * example; `what` names the value ("MEMORY", "vm.yaml:3:9: memory"). ---- */
/* Sizes: "512M", "2G", "1.5G", "512MiB", "2048" (plain number = MiB).
 * Result in MiB; range 1..max_mib. */
int sv_parse_size_mib (const char *s, const char *what, uint64_t max_mib, uint64_t *out_mib,
                       sv_error_t *err);
/* Same grammar, result in bytes (plain number = MiB), for disk sizes. */
int sv_parse_size_bytes (const char *s, const char *what, uint64_t *out_bytes, sv_error_t *err);
/* Durations: "500ms", "6s", "2m", "1h", "10" (plain number = seconds).
 * Result in milliseconds. */
int sv_parse_duration_ms (const char *s, const char *what, uint64_t *out_ms, sv_error_t *err);
/* The other way: "8s" or "700ms", as vm.yaml writes durations (buf of
 * SV_DURATION_STRLEN). */
#define SV_DURATION_STRLEN 24
char *sv_format_duration (uint64_t ms, char *buf, size_t len);
/* Booleans: true/false/yes/no/1/0/on/off (case-insensitive). */
int sv_parse_bool (const char *s, const char *what, bool *out, sv_error_t *err);
/* Decimal integer in [min,max]. */
int sv_parse_int (const char *s, const char *what, long long min, long long max, long long *out,
                  sv_error_t *err);

/* ---- quoting: every value startvm shows (--dry-run, its log, error
 * messages) goes through these two, so no value can add a line or drive
 * the terminal ---- */
/* Shell-quote one word: bare when every byte is safe, '...' with '\''
 * escapes, or bash's $'...' with \n, \t and \xNN when it holds a control
 * byte or bytes that are not UTF-8.  Pastes back into a shell. */
void sv_buf_add_shell_word (struct sv_buf *b, const char *word);
enum sv_escape
{
  /* A value inside a line (--dry-run, the log): control bytes, DEL and
   * the backslash itself as \xNN, so the text maps back to one value. */
  SV_ESC_VALUE,
  /* A user's value quoted in an error message: \n and \t as such, other
   * control bytes as \xNN, cut after 60 characters. */
  SV_ESC_MESSAGE,
  /* A whole line whose values were escaped already (an error message, a
   * log line): control bytes and DEL as \xNN, backslashes kept. */
  SV_ESC_LINE,
};
/* Appends s with its unprintable bytes escaped as how says; b->data is
 * never NULL afterwards. */
void sv_buf_add_escaped (struct sv_buf *b, const char *s, enum sv_escape how);
/* JSON string literal with quotes; bytes that are not UTF-8 become U+FFFD. */
void sv_buf_add_json_string (struct sv_buf *b, const char *s);
/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid or
 * longer than avail bytes. */
size_t sv_utf8_seq_len (const unsigned char *s, size_t avail);

/* ---- IPv4 / MAC (addresses are host byte order uint32_t) ---- */
#define SV_IP4(a, b, c, d)                                                                         \
  ((uint32_t)(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d)))
#define SV_IP4_STRLEN 16
#define SV_MAC_STRLEN 18
/* Writes dotted quad into buf (>= SV_IP4_STRLEN); returns buf. */
char *sv_ip4_format (uint32_t addr, char *buf);
/* Returns 0 and sets *out on success, -1 on a malformed address. */
int sv_ip4_parse (const char *s, uint32_t *out);
uint32_t sv_ip4_netmask (unsigned prefix);             /* prefix 0..32 */
char *sv_mac_format (const uint8_t mac[6], char *buf); /* aa:bb:cc:dd:ee:ff */
int sv_mac_parse (const char *s, uint8_t mac[6]);

#endif
