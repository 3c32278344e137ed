/*
 * cmd_crl.h: the console's CRL commands (daemon-internal).
 *
 *   crl-request  [ca NAME]   a CRL issuance for CA NAME (officers approve it
 *                            like a batch, kind "crl"); without ca, one
 *                            request for every CA the daemon signs for
 *   crl-list     [state S]   the requests
 *   crl-show     id N        what an approver checks: the CA, its current
 *                            CRL, what the new one will hold and until when
 */
#ifndef AIRLOCK_DAEMON_CMD_CRL_H
#define AIRLOCK_DAEMON_CMD_CRL_H

#include <sys/types.h>

#include "ctl/ctl.h"
#include "daemon/daemon.h"

void cmd_crl_request(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_crl_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_crl_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);

#endif
