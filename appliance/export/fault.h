/*
 * fault.h: what went wrong with the medium when an export failed, and
 * when to try the export again.
 *
 * An export that fails on the medium (no stick, read-only, full, an I/O
 * error, the stick pulled while it was written) stays approved: it is
 * the same approved export, written once the medium allows it, with no
 * new approval. The caller keeps one export_retry per kind of export
 * (batch exports, CRL exports) and asks it, each cycle, whether an
 * attempt is due: after a failure, attempts back off (2, 4, 8 ... 60 s),
 * but a medium that changed since the failure (inserted again, another
 * stick, remounted writable, space freed) is tried at once. A failure is
 * reported (audited) once per kind in a row, not at every attempt.
 *
 * The kind comes from looking at the medium after the failure
 * (export_medium_probe), which is what the operator must fix, and from
 * the error's text for what the medium no longer shows (a write that hit
 * ENOSPC on a stick that has a few bytes free again).
 */
#ifndef AIRLOCK_EXPORT_FAULT_H
#define AIRLOCK_EXPORT_FAULT_H

#include <sys/types.h>
#include <time.h>

enum export_fault {
	EXPORT_FAULT_NONE = 0,
	EXPORT_FAULT_ABSENT,	/* no medium, no outbox/, or pulled */
	EXPORT_FAULT_READONLY,	/* mounted read-only or not writable */
	EXPORT_FAULT_FULL,	/* no space left (ENOSPC, EDQUOT) */
	EXPORT_FAULT_IO,	/* another I/O error (EIO: a failing stick) */
	EXPORT_FAULT_OTHER	/* not the medium: records, keys, a bug */
};

/* What the outbox looked like at one moment. */
struct export_medium {
	int present;		/* outbox/ is a directory */
	int readonly;		/* read-only mount, or not writable by us */
	unsigned long long avail;	/* bytes free to us */
	dev_t dev;		/* outbox/'s identity: a new stick differs */
	ino_t ino;
};

/* Fills m from outbox (a path); never fails: absent is an answer. */
void export_medium_probe(const char *outbox, struct export_medium *m);

/*
 * The kind of a failed export: code is the err_t code, msg its text
 * (NULL accepted), m the medium probed after the failure (NULL: not
 * probed). Codes other than ERR_IO, ERR_PERM and ERR_NOTFOUND are not
 * the medium's (EXPORT_FAULT_OTHER), unless the medium is gone.
 */
enum export_fault export_fault_classify(int code, const char *msg,
    const struct export_medium *m);

/* "medium absent", "medium read-only", ... ; never NULL. */
const char *export_fault_name(enum export_fault f);

/* One sentence on what an operator does about it; never NULL. */
const char *export_fault_advice(enum export_fault f);

/* Back-off bounds, in seconds. */
#define EXPORT_RETRY_MIN 2
#define EXPORT_RETRY_MAX 60

struct export_retry {
	enum export_fault fault;	/* of the last failure; NONE: none */
	unsigned failures;		/* in a row */
	time_t next_at;			/* the back-off's next attempt */
	struct export_medium medium;	/* as probed at the last failure */
};

/* The wait after n failures in a row: 2, 4, 8 ... capped at 60 s. */
unsigned export_retry_delay(unsigned failures);

/*
 * 1 when an attempt is due at now: there was no failure, the back-off
 * has passed, or m (the medium now; NULL: unknown) differs from the
 * medium at the failure. 0 otherwise.
 */
int export_retry_due(const struct export_retry *r,
    const struct export_medium *m, time_t now);

/*
 * Records a failure of kind f on medium m (NULL: unknown) at now and
 * sets the next attempt. 1 when the caller should report it (the first
 * failure, or a kind other than the last one's), 0 for a repeat.
 */
int export_retry_failed(struct export_retry *r, enum export_fault f,
    const struct export_medium *m, time_t now);

/* Records a success. 1 when failures were pending (recovered), else 0. */
int export_retry_ok(struct export_retry *r);

#endif
