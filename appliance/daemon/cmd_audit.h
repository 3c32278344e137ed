/*
 * cmd_audit.h: the console's audit commands served by the daemon.
 *
 * audit-text hands the console the canonical text of the audit log, a
 * range at a time, so that `airlock audit show|verify|report` without a
 * FILE run the auditor's own code on the appliance's log. audit-export
 * writes the whole log to the medium, signed like every export.
 */
#ifndef AIRLOCK_DAEMON_CMD_AUDIT_H
#define AIRLOCK_DAEMON_CMD_AUDIT_H

#include <sys/types.h>

#include "ctl/ctl.h"
#include "daemon/daemon.h"

/* Most bytes of log text in one audit-text reply. */
#define CMD_AUDIT_TEXT_MAX (16u * 1024 * 1024)

/*
 * Request: "from" (a record number, 1 or more), "max" (bytes, optional).
 * Reply: "text", the canonical lines from record from on (each record
 * with its checkpoints, whole records only), and "next", the record to
 * ask for next, 0 when the text reaches the log's end.
 */
void cmd_audit_text(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply);

/*
 * Makes a checkpoint, then writes MEDIA/outbox/audit-UPTO/ (audit.log:
 * the whole log, the audit certificate, a MANIFEST signed by the export
 * key). Needs the daemon activated and a medium. Recorded as the event
 * "audit-exported".
 */
void cmd_audit_export(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply);

#endif
