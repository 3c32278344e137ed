/*
 * cmd_lockout.h: the console's lock-out commands (daemon-internal).
 *
 *   lockout-list  [state locked|cleared]  the lock-outs and who they hold
 *   lockout-show  id N                    what an officer checks before
 *                                         clearing it (approval kind
 *                                         "lockout-clear", two officers)
 */
#ifndef AIRLOCK_DAEMON_CMD_LOCKOUT_H
#define AIRLOCK_DAEMON_CMD_LOCKOUT_H

#include "ctl/ctl.h"
#include "daemon/daemon.h"

void cmd_lockout_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_lockout_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);

#endif
