/* The self-signed certificate for HTTPS by default: generated at first
 * start into the data directory (key 0600), reused afterwards. */
#ifndef SV_MGR_TLS_H
#define SV_MGR_TLS_H

#include <stdbool.h>

#include "error.h"

int sv_mgr_tls_self_signed (const char *data_dir, char **cert, char **key, bool *made,
                            sv_error_t *err);

#endif
