/*
 * event.h: what the appliance records about each security-relevant step
 * (a bundle received or refused, an approval, a batch issued, an export
 * written, an activation).
 *
 * Library code that takes such a step reports it through an event_fn the
 * caller chose; it never decides where records go. Today the daemon
 * writes each event to its log (the journal) and keeps the ones a console
 * should see; the audit log (hash-chained, HSM-signed) becomes the sink
 * later without any change to the code that emits.
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
	/* What: "batch 12", "bundle 3f2a...", "file inbox/a.p7m". */
	const char *object;
	/* One line of details (why it was refused, counts, digests). */
	const char *details;
};

typedef void (*event_fn)(void *ctx, const struct event *e);

/* "ok", "refused", "failed". */
const char *event_outcome_name(enum event_outcome o);

/*
 * Builds an event (details formatted, at most 4 KiB, cut beyond) and
 * passes it to fn; nothing when fn is NULL.
 */
void event_emit(event_fn fn, void *ctx, const char *action,
    enum event_outcome outcome, const char *actor_sha256,
    const char *actor_name, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

#endif
