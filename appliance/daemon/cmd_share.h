/*
 * cmd_share.h: split-pin activation at the console (daemon-internal).
 *
 *   share-session            the current share session: its number and
 *                            nonce (what a presentation statement binds),
 *                            the token, how many shares are held and
 *                            needed
 *   activate-share           one officer's share: record (the share
 *                            record's bytes, docs/formats/pinshare.md),
 *                            session, and a statement of kind
 *                            activation-share with its signature and the
 *                            officer's certificate; at M shares the PIN is
 *                            rebuilt and the daemon logs in
 *   share-cancel             wipes the shares held
 *
 * In `activation: split-pin` mode the plain `activate` is refused.
 */
#ifndef AIRLOCK_DAEMON_CMD_SHARE_H
#define AIRLOCK_DAEMON_CMD_SHARE_H

#include <sys/types.h>
#include <time.h>

#include "ctl/ctl.h"
#include "daemon/daemon.h"

void cmd_share_session(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_share_present(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_share_cancel(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply);

/* The refusal (audited) of a PIN activation in split-pin mode. */
void cmd_share_refuse_pin(struct daemon *d, const char *who,
    struct ctl_msg *reply);

/* Wipes shares held past their time (audited); the console loop calls it. */
void cmd_share_tick(struct daemon *d, time_t now);

/* Wipes and frees the collector (daemon_close). */
void cmd_share_close(struct daemon *d);

#endif
