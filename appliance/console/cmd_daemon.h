/*
 * cmd_daemon.h: the console verbs that talk to airlockd over its socket:
 * activate, deactivate, status, batch ..., export ... (airlock(1)).
 */
#ifndef AIRLOCK_CONSOLE_CMD_DAEMON_H
#define AIRLOCK_CONSOLE_CMD_DAEMON_H

/* Each takes argv[0] = its verb; returns the exit code. */
int cmd_activate(int argc, char **argv);
int cmd_deactivate(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
