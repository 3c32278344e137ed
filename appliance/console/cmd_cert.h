/*
 * cmd_cert.h: the inventory verbs at the console: `airlock cert list`,
 * `airlock cert show` and `airlock report` (airlock(1)), answered by
 * airlockd (daemon/cmd_cert.h).
 */
#ifndef AIRLOCK_CONSOLE_CMD_CERT_H
#define AIRLOCK_CONSOLE_CMD_CERT_H

/* Each takes argv[0] = its verb ("cert", "report"); returns the exit code. */
int cmd_cert(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
