/*
 * cmd_cert.h: the inventory commands (daemon-internal): cert-list,
 * cert-show and report, answered from the store by queue/inventory.h as
 * text (an aligned table), CSV (RFC 4180) or JSON (RFC 8259), as the
 * request's "format" says. docs/man/airlock.1 lists the console's side;
 * the request and reply fields are described at each handler.
 *
 * Each reply fits CTL_REPLY_MAX. cert-list pages: a reply holds at most
 * "limit" rows and stops early when its text grows past half the reply
 * limit; it then says "more" = 1 and "next" = the position to ask from,
 * and the console asks again. A report that does not fit one reply is
 * refused with ERR_LIMIT, naming the paging list that gives the same rows.
 */
#ifndef AIRLOCK_DAEMON_CMD_CERT_H
#define AIRLOCK_DAEMON_CMD_CERT_H

#include "ctl/ctl.h"
#include "daemon/daemon.h"

/* Rows in one cert-list reply unless the request asks fewer (or more). */
#define CMD_CERT_PAGE 10000
/* Most rows one cert-list request may ask for. */
#define CMD_CERT_PAGE_MAX 100000

void cmd_cert_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_cert_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);
void cmd_cert_report(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);

#endif
