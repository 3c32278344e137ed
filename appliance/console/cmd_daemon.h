/*
 * cmd_daemon.h: the console verbs that talk to airlockd over its socket:
 * activate, deactivate, status, batch ..., export ..., lockout ...
 * (airlock(1)).
 */
#ifndef AIRLOCK_CONSOLE_CMD_DAEMON_H
#define AIRLOCK_CONSOLE_CMD_DAEMON_H

#include "ctl/ctl.h"
#include "util/err.h"

/* Each takes argv[0] = its verb; returns the exit code. */
int cmd_activate(int argc, char **argv);
int cmd_deactivate(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_crl(int argc, char **argv);
int cmd_lockout(int argc, char **argv);

/*
 * approve|reject ID [--reason TEXT] CREDENTIAL, with argv[0] the verb:
 * shows the object with show_cmd, signs the statement with the officer's
 * credential and sends it. Returns the exit code, 2 on a usage error
 * (the caller prints its usage).
 */
int cmd_decide_verb(int argc, char **argv, const char *show_cmd);

/*
 * Shared with the other files of console verbs that ask airlockd
 * (cmd_revoke.c): the socket --socket named (NULL: AIRLOCK_SOCKET or the
 * default); one request and its reply (reply initialised here, the
 * caller frees it); printing a reply's text or error (the exit code);
 * a request of cmd with up to two string fields, printed, or handed back
 * in *reply_out when not NULL; and "is a row id" for arguments.
 */
extern const char *cmd_socket_path;
int cmd_call(const struct ctl_msg *req, struct ctl_msg *reply, err_t *err);
int cmd_finish(const struct ctl_msg *reply);
int cmd_simple(const char *cmd, const char *k1, const char *v1,
    const char *k2, const char *v2, struct ctl_msg *reply_out);
int cmd_is_id(const char *s);

#endif
