/*
 * cmd_audit.h: `airlock audit verify|show|report` on an audit log file
 * (airlock(1), docs/formats/audit.md), which an auditor runs on a
 * workstation without the HSM.
 */
#ifndef AIRLOCK_CONSOLE_CMD_AUDIT_H
#define AIRLOCK_CONSOLE_CMD_AUDIT_H

/* argv[0] = "audit"; returns the exit code. */
int cmd_audit(int argc, char **argv);

/*
 * The audit verbs that ask airlockd instead of reading a FILE: every
 * audit subcommand this file does not know, and every known one given
 * without its FILE, ends here (argv[0] = "audit", argv[1] the
 * subcommand). Returns the exit code.
 */
int cmd_audit_daemon(int argc, char **argv);

#endif
