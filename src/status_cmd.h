/* `startvm status` (status_cmd.c). */
#ifndef SV_STATUS_CMD_H
#define SV_STATUS_CMD_H

/* argv[1] is "status".  Returns the exit code. */
int sv_cmd_status (int argc, char **argv);

#endif
