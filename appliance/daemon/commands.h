/*
 * commands.h: what the command handlers share (daemon-internal).
 *
 * commands.c holds the dispatch and the batch, export and approval
 * commands; each further group of commands has its own file (cmd_*.c)
 * and uses these to answer in the same shape: a "text" field for the
 * console to print, or an error with its code and message.
 */
#ifndef AIRLOCK_DAEMON_COMMANDS_H
#define AIRLOCK_DAEMON_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl/ctl.h"
#include "daemon/daemon.h"
#include "util/buf.h"
#include "util/err.h"

/* An ok reply whose "text" is t. */
int cmd_text_reply(struct ctl_msg *reply, buf_t *t);

/* An error reply with e's code and message. */
int cmd_fail(struct ctl_msg *reply, int code, err_t *e);

/* The positive number in field key of req, or ERR_INVALID. */
int cmd_need_id(const struct ctl_msg *req, const char *key, int64_t *id,
    err_t *e);

/*
 * The one way the daemon logs in to the CA token, for a PIN typed at the
 * console and for a PIN rebuilt from shares alike: activates with pin,
 * audits the activation (who: the console user; how: NULL, or what the
 * record adds, such as whose shares rebuilt the PIN), checkpoints the
 * audit log and appends the report to t. 0, or the activation's error
 * in e (audited as refused or failed).
 */
int cmd_activate_pin(struct daemon *d, const char *who, const char *how,
    const secret_t *pin, buf_t *t, err_t *e);

/* The enrolled name of person id, or "person #id". */
void cmd_person_name(struct daemon *d, int64_t id, char *out, size_t outsz);

/*
 * Ends t, the text of a `show` of an object officers decide on, with the
 * approvals so far, and replies with the text and what a statement about
 * the object needs: kind, object, digest, created, state. requester is
 * the SHA-256 of the requester's certificate (whose approval never
 * counts), or "" when nobody enrolled asked; none is the line shown when
 * there is no approval yet.
 */
void cmd_show_reply(struct daemon *d, const char *kind, int64_t object,
    const char *digest, int64_t created, const char *state, unsigned quorum,
    const char *requester, const char *none, buf_t *t, struct ctl_msg *reply);

#endif
