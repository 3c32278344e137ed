/*
 * cmd_revocation.h: the console's revocation commands (daemon-internal).
 *
 *   revoke-submit    bundle B    a revocation bundle `airlock revoke` made
 *                                and signed with the requester's key: judged
 *                                by the intake exactly as one from inbox/
 *                                (intake_submit); the reply names the new
 *                                request ("object"), or is an error whose
 *                                "text" lists every problem, as a .reason
 *                                file would
 *   revocation-list  [state S]   the requests
 *   revocation-show  id N        what an approver checks: requester, reason,
 *                                message, invalidity date, the certificates
 *                                with their status now, the bundle digest,
 *                                the approvals so far (cmd_show_reply, kind
 *                                "revocation")
 *
 * Approving and rejecting go through the generic approval path
 * (commands.c, kind "revocation").
 */
#ifndef AIRLOCK_DAEMON_CMD_REVOCATION_H
#define AIRLOCK_DAEMON_CMD_REVOCATION_H

#include <sys/types.h>

#include "ctl/ctl.h"
#include "daemon/daemon.h"
#include "daemon/intake.h"
#include "store/store.h"

void cmd_revoke_submit(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_revocation_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_revocation_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);

#endif
