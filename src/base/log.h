/* startvm's log: documented one-line messages on stderr ("startvm: ...").
 * Values go in already quoted the way --dry-run shows them
 * (sv_buf_add_shell_word, sv_buf_add_escaped); the line is escaped once
 * more as a whole (SV_ESC_LINE), so that nothing in it can start another
 * line or drive the terminal. */
#ifndef SV_LOG_H
#define SV_LOG_H

void sv_log (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
