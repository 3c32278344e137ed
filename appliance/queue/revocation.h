/*
 * revocation.h: revocation requests in the store (schema version 4,
 * tables revocation and revocation_item), from intake to their effect on
 * the certificate records.
 *
 * A revocation request arrives as a signed bundle of kind `revocation`
 * (docs/formats/bundle.md, section 6): a reason, a message, an optional
 * invalidity date and targets (a serial, a batch, a MAC, a subject). At
 * intake every target is resolved against the certificate table to the
 * certificates it names, and every target that cannot be is reported,
 * all at once (queue_revocation_intake). A request that resolves becomes
 * one revocation row (pending-approval, quorum QUEUE_REVOCATION_QUORUM)
 * and one revocation_item per certificate, in one transaction with its
 * bundle row. Officers approve it over the bundle file's SHA-256
 * (queue_revocation_digest), as they approve a batch; only then does
 * queue_revocation_apply change the certificates, in one transaction,
 * and the worker opens a CRL request for each CA it touched.
 *
 * What a reason does:
 *  - certificateHold puts a valid certificate on hold;
 *  - removeFromCRL releases a held certificate (back to valid, its
 *    revocation fields cleared);
 *  - every other RFC 5280 reason revokes a valid or held certificate,
 *    for ever.
 * The store's triggers (store.c, version 4) refuse any other move of a
 * certificate's status, whatever code asks for it.
 *
 * Functions return 0 or a negative ERR_* with a message in err, like the
 * rest of the queue (queue.h); the same rules about connections and
 * callbacks hold.
 */
#ifndef AIRLOCK_QUEUE_REVOCATION_H
#define AIRLOCK_QUEUE_REVOCATION_H

#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"
#include "store/store.h"
#include "util/err.h"

/* Approvals a revocation request needs (two officers, not the requester). */
#define QUEUE_REVOCATION_QUORUM 2
/* Targets in one request (inline and file together). */
#define QUEUE_REVOCATION_MAX_TARGETS 100000
/* Certificates one request may name: a full batch twice over. */
#define QUEUE_REVOCATION_MAX_ITEMS 1000000
/* Characters of a request's message (one line of text). */
#define QUEUE_REVOCATION_MESSAGE_MAX 512
/* Bytes of a subject a target names (the certificate table's form). */
#define QUEUE_REVOCATION_SUBJECT_MAX 2047
/* Bytes of a CA name a serial target names. */
#define QUEUE_REVOCATION_CA_MAX 64

/* --- reasons ------------------------------------------------------------ */

/* RFC 5280 CRLReason names, and removeFromCRL; NULL-terminated. */
extern const char *const queue_revocation_reasons[];

/* 1 when name is one of queue_revocation_reasons. */
int queue_revocation_reason_ok(const char *name);

/* --- targets ------------------------------------------------------------ */

enum queue_target_kind {
	QUEUE_TARGET_SERIAL,	/* one certificate (per CA) */
	QUEUE_TARGET_BATCH,	/* every certificate of a batch */
	QUEUE_TARGET_MAC,	/* every certificate whose line has the MAC */
	QUEUE_TARGET_SUBJECT	/* every device certificate with the subject */
};

/* "serial", "batch", "mac", "subject"; NULL out of range. */
const char *queue_target_kind_name(enum queue_target_kind k);

/*
 * One target as ingest/target.h parses it; pointers are only read. The
 * canonical text ("serial 3a7f", "serial 3a7f ca devices",
 * "mac 00:11:22:33:44:55", "batch 12", "subject CN=...") is what the
 * items record and what messages quote.
 */
struct queue_revocation_target {
	enum queue_target_kind kind;
	/* serial: lower-case hex without leading zeros (certinfo_serial_hex);
	 * mac: 12 lower-case hex digits; subject: the certificate table's
	 * text; batch: unused (see batch). */
	const char *value;
	int64_t batch;		/* batch only */
	const char *ca;		/* serial only: the CA's name, or NULL */
	const char *text;	/* canonical spelling */
	const char *file;	/* where it was written, for messages */
	unsigned long line;	/* its line there */
};

/* --- requests ----------------------------------------------------------- */

enum queue_revocation_state {
	QUEUE_REVOCATION_PENDING_APPROVAL,
	QUEUE_REVOCATION_APPROVED,
	QUEUE_REVOCATION_REJECTED,
	QUEUE_REVOCATION_APPLIED,
	QUEUE_REVOCATION_STATE_COUNT
};

/* "pending-approval", "approved", "rejected", "applied"; NULL otherwise. */
const char *queue_revocation_state_name(enum queue_revocation_state s);
/* 0, or ERR_INVALID for an unknown spelling. */
int queue_revocation_state_parse(const char *name,
    enum queue_revocation_state *out);

/* A new request, as the intake hands it over. */
struct queue_revocation_new {
	const char *reason;		/* one of queue_revocation_reasons */
	const char *message;		/* one line, 1..MESSAGE_MAX characters */
	int has_invalidity_date;	/* not with removeFromCRL */
	int64_t invalidity_date;
	int64_t created;
	const struct queue_revocation_target *targets;
	size_t n_targets;		/* 1 .. QUEUE_REVOCATION_MAX_TARGETS */
};

/*
 * Resolves every target against the certificate table (device
 * certificates only) without writing anything. For each target whose
 * certificates cannot all be acted on, one message goes to diag as
 * "FILE:LINE: Line LINE - TARGET: why": no such serial, MAC, subject or
 * batch; a serial several CAs hold and no CA named; a certificate already
 * revoked; a hold asked for a certificate on hold; removeFromCRL for a
 * certificate not on hold; a certificate two targets name. A target
 * naming several certificates (batch, MAC, subject) takes those the
 * reason can act on and is a problem only when there is none. Returns 0
 * with *n_items (may be NULL) the certificates named, whether or not
 * there were problems (diag_count says); ERR_INVALID for a malformed
 * request; ERR_LIMIT past QUEUE_REVOCATION_MAX_ITEMS; other ERR_* when
 * the store failed.
 */
int queue_revocation_resolve(struct store *st, const struct queue_revocation_new *r,
    size_t *n_items, diag_t *diag, err_t *err);

/*
 * Records an accepted bundle and its request in ONE transaction: the
 * bundle row (status accepted; bundle->person_id and signer_sha256 name
 * the requester), the revocation (pending-approval, quorum
 * QUEUE_REVOCATION_QUORUM) and one item per certificate, resolved as
 * queue_revocation_resolve does inside the same transaction. When a
 * target does not resolve, nothing is kept and the result is ERR_POLICY
 * with every problem in diag. Replays are ERR_EXISTS as for
 * queue_bundle_add. *bundle_id, *revocation_id (each may be NULL) get the
 * new ids.
 */
int queue_revocation_intake(struct store *st, const struct queue_bundle *bundle,
    const struct queue_revocation_new *r, int64_t *bundle_id,
    int64_t *revocation_id, diag_t *diag, err_t *err);

/* A request as read back; texts point into mem. */
struct queue_revocation {
	int64_t id, bundle_id;
	const char *bundle_sha256;	/* what approval statements name */
	const char *requester_sha256;	/* never an approver */
	int64_t requester_id;		/* the requester's person id */
	const char *reason, *message;
	int has_invalidity_date;
	int64_t invalidity_date;
	enum queue_revocation_state state;
	const char *reject_reason;	/* rejected only */
	int64_t item_count;
	unsigned quorum;
	int64_t created;
	int64_t applied;		/* applied only, else 0 */
	void *mem;
};

/* Reads request id (free with queue_revocation_free); ERR_NOTFOUND. */
int queue_revocation_get(struct store *st, int64_t id,
    struct queue_revocation *out, err_t *err);
void queue_revocation_free(struct queue_revocation *r);

/*
 * Calls cb for every request in id order, or only those in *state. The
 * row is valid during the call.
 */
typedef int (*queue_revocation_cb)(void *ctx, const struct queue_revocation *r);
int queue_revocation_list(struct store *st,
    const enum queue_revocation_state *state, queue_revocation_cb cb,
    void *ctx, err_t *err);

/*
 * The digest officers sign for request id (64 lower-case hex into
 * out[65]): the SHA-256 of the request bundle file as received, as for a
 * batch (docs/formats/approval.md). A request made at the console is a
 * bundle too, so every request has one.
 */
int queue_revocation_digest(struct store *st, int64_t id, char out[65],
    err_t *err);

/* One certificate of a request, with its state now; valid in the call. */
struct queue_revocation_item {
	int64_t revocation_id;
	int64_t ca_id;
	const char *ca_name;
	const char *serial;
	int64_t line;		/* the target's number in the request (1..) */
	const char *target;	/* the target's canonical text */
	const char *subject;
	const char *status;	/* the certificate's: valid, hold, revoked */
	const char *cert_reason;	/* its CRL reason, or NULL */
	int64_t revoked_at;	/* 0 when valid */
	int64_t by_revocation;	/* the request that set it, 0 when none */
	int64_t batch_id;	/* 0 when not from a batch */
};

typedef int (*queue_revocation_item_cb)(void *ctx,
    const struct queue_revocation_item *it);

/*
 * Calls cb for at most max items of request id in (ca_id, serial) order,
 * starting after the item after_ca / after_serial (0 / NULL: from the
 * first): page through a request by calling again with the last item's
 * CA id and serial.
 */
int queue_revocation_items(struct store *st, int64_t id, int64_t after_ca,
    const char *after_serial, size_t max, queue_revocation_item_cb cb,
    void *ctx, err_t *err);

/*
 * The only way a request changes state by decision: pending-approval ->
 * approved (only with QUEUE_REVOCATION_QUORUM recorded approvals of kind
 * "revocation" over queue_revocation_digest by distinct officers other
 * than the requester, and no such rejection: ERR_POLICY otherwise) or ->
 * rejected (reason required, printable). approved -> applied is
 * queue_revocation_apply's. Anything else is ERR_INVALID naming the
 * states.
 */
int queue_revocation_transition(struct store *st, int64_t id,
    enum queue_revocation_state from, enum queue_revocation_state to,
    const char *reason, err_t *err);

/* What queue_revocation_apply did. */
struct queue_revocation_outcome {
	int64_t *ca_ids;	/* CAs whose certificates changed (sorted) */
	size_t n_cas;
	size_t changed;		/* certificates whose status changed */
	size_t skipped;		/* items left as they were */
	int already;		/* 1: applied before; nothing done now */
};

void queue_revocation_outcome_free(struct queue_revocation_outcome *o);

/*
 * Applies approved request id at time now, in ONE transaction: each item
 * is checked again, and a certificate the reason can no longer act on
 * (revoked meanwhile by another request, released, ...) is skipped with
 * one message in notes (may be NULL) rather than failing the whole;
 * the others are revoked (status revoked, reason, revoked_at = now, the
 * invalidity date, revocation_id = id), put on hold, or released from
 * hold (status valid, the revocation fields cleared). The request becomes
 * applied. out->ca_ids are the CAs whose certificates changed: the caller
 * opens a CRL request for each.
 *
 * Idempotent across a crash: a request already applied changes nothing,
 * and out has already = 1 with ca_ids the CAs of all its items (a CRL
 * request the crash prevented can still be opened; the caller makes that
 * step idempotent). ERR_INVALID when the request is not approved (nor
 * applied), ERR_NOTFOUND when there is none.
 */
int queue_revocation_apply(struct store *st, int64_t id, int64_t now,
    struct queue_revocation_outcome *out, diag_t *notes, err_t *err);

#endif
