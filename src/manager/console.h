/* The consoles: the VM's VNC socket and the container's attach stream,
 * proxied to WebSockets by ws.c and raw.c, and the screenshot (QMP screendump).
 * Every socket is found by container id under the state directory and
 * opened without following symlinks: the entry is opened O_PATH|O_NOFOLLOW,
 * checked to be a socket, and connected to through /proc/self/fd, so it
 * cannot be swapped for a link between the check and the connect. */
#ifndef SV_MGR_CONSOLE_H
#define SV_MGR_CONSOLE_H

#include <stddef.h>

#include "error.h"

/* Connect to <VM dir>/<name> (vnc or qmp).  Returns the connected fd
 * (blocking, close-on-exec) or -1; errno-based ENOENT when there is no
 * such socket. */
int sv_mgr_vm_socket_connect (const char *state_dir, const char *label, const char *id,
                              const char *name, sv_error_t *err);

/* The VM's screen as PNG via QMP screendump into the VM's own directory
 * (qmp_dir: that directory as QEMU sees it, e.g. /ranchervm/<id>). */
int sv_mgr_screenshot (const char *state_dir, const char *label, const char *id,
                       const char *qmp_dir, char **png, size_t *len, sv_error_t *err);

#endif
