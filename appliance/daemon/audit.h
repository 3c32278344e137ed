/*
 * audit.h: the daemon's side of the audit log (audit/log.h holds the
 * records, audit/mirror.h the text copy): the check at start-up,
 * checkpoints, and the log's part that every export carries.
 */
#ifndef AIRLOCK_DAEMON_AUDIT_H
#define AIRLOCK_DAEMON_AUDIT_H

#include <stdint.h>

#include "daemon/daemon.h"
#include "export/package.h"
#include "export/writer.h"
#include "util/err.h"

/*
 * Opens STATE/audit.log (d->audit) in line with the store, checking the
 * store's chain against the audit certificate on the way; what the check
 * finds is said once, as an event, and kept in d->audit_note for `airlock
 * status`. Only a failure to open is returned.
 */
int daemon_audit_open(struct daemon *d, err_t *err);

/*
 * Signs the audit log's head with the audit key (a checkpoint), for
 * reason ("activation", "batch-completed", ...). The caller holds
 * keys_lock; nothing is signed (0) while the daemon is not activated.
 * A failure is reported as an event and returned.
 */
int daemon_checkpoint(struct daemon *d, struct store *st,
    const char *reason);

/*
 * Records from .. to of the log (canonical text with its checkpoints)
 * as an export's streamed file (export/writer.h): stream is ready to
 * pass on, and reads the store while the file is written.
 */
struct daemon_audit_file {
	struct export_stream stream;
	struct store *st;
	int64_t from, to;
	export_put_fn put;
	void *wctx;
	char name[96];
};
void daemon_audit_file(struct daemon_audit_file *f, struct store *st,
    const char *name, int64_t from, int64_t to);

/*
 * For an export about to be written: makes a checkpoint, then sets seg
 * to the log since the last export ("audit-FROM-TO.log"). *to_seq gets
 * TO, for daemon_audit_exported once the export is on the medium; 0 when
 * there is nothing to carry (then seg is not to be passed). 0 or ERR_*.
 */
int daemon_audit_segment(struct daemon *d, struct store *st,
    struct daemon_audit_file *seg, int64_t *to_seq, err_t *err);

/*
 * The audit lines of `airlock status`: records, the last checkpoint, the
 * last record on a medium, and what the start-up check found.
 */
void daemon_audit_status(struct daemon *d, struct store *st, buf_t *out);


/* Records that the log up to to_seq reached a medium. */
int daemon_audit_exported(struct store *st, int64_t to_seq, err_t *err);

#endif
