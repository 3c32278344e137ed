/*
 * event.h: what the appliance records about each security-relevant step
 * (a bundle received or refused, an approval, a batch issued, an export
 * written, an activation).
 *
 * Library code that takes such a step reports it through an event_fn the
 * caller chose; it never decides where records go. The daemon's sink
 * appends each event to the audit log (audit/log.h) through the same
 * SQLite connection as the step, so that an event emitted inside a
 * transaction is kept or lost with it, then writes it to the journal and
 * keeps the ones a console should see.
 */
#ifndef AIRLOCK_UTIL_EVENT_H
#define AIRLOCK_UTIL_EVENT_H

enum event_outcome {
	EVENT_OK,		/* the step happened */
	EVENT_REFUSED,		/* input or a person was refused */
	EVENT_FAILED		/* the appliance could not do it */
};

struct event {
	/* Lower-case words with hyphens: "bundle-accepted",
	 * "bundle-rejected", "approval", "batch-approved", ... */
	const char *action;
	enum event_outcome outcome;
	/* Who: a certificate's SHA-256 (64 hex) and name, or NULL for the
	 * appliance itself. */
	const char *actor_sha256;
	const char *actor_name;
	/* What: identifiers as "key=value" tokens, as the audit log keeps
	 * them (docs/formats/audit.md): "batch=12", "bundle=3f2a...
	 * file=a.p7m", "ca=devices crl=7". */
	const char *objects;
	/* One line of details (why it was refused, counts, digests). */
	const char *details;
	/* One of many alike (a certificate of a batch): the audit log keeps
	 * it, the journal and the console's recent events do not. */
	int bulk;
};

/*
 * 0 when the event was recorded. An emitter inside a transaction fails
 * the step (rolls back) on anything else: no step without its record.
 */
typedef int (*event_fn)(void *ctx, const struct event *e);

/* "ok", "refused", "failed". */
const char *event_outcome_name(enum event_outcome o);

/*
 * Builds an event (details formatted, at most 4 KiB, cut beyond) and
 * passes it to fn; 0 when fn is NULL, else what fn returned.
 */
int event_emit(event_fn fn, void *ctx, const char *action,
    enum event_outcome outcome, const char *actor_sha256,
    const char *actor_name, const char *objects, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

#endif
