/*
 * queue.h: the durable state of request bundles, batches, their lines and
 * approvals, on top of the store (schema version 2).
 *
 * The queue is the one place that decides what state a batch and each of
 * its lines are in; the daemon, the console and the signer pool only ask
 * it to move them. Every change that touches more than one row happens in
 * one transaction, so a kill -9 at any moment leaves either all of it or
 * none of it. The database backs every rule with constraints and triggers
 * (store.c, version 2), so a bug here is refused rather than recorded.
 *
 * Memory does not grow with the size of a batch: lines go in through a
 * callback, come out through callbacks or in pages, and are never held
 * all at once.
 *
 * Crash-safety contract for signing (the order matters):
 *
 *   1. queue_reserve: for a group of pending lines, the caller draws a
 *      serial, builds the exact TBSCertificate (and, when the appliance
 *      makes the key, generates it and encrypts it with the batch's data
 *      key), and records serial, TBS and encrypted key in one
 *      transaction. The serial is then taken for ever (serial_reservation)
 *      even if the line later fails, so it is never used for another TBS.
 *      A collision gives ERR_EXISTS naming the serial and nothing of the
 *      group is kept: the caller draws a new serial and tries again.
 *   2. The caller has the HSM sign those exact TBS bytes, outside any
 *      transaction. The signed certificate stays inside the process.
 *   3. queue_issue: in one transaction per group (group commit), each
 *      certificate is checked (its TBS equals the reserved TBS byte for
 *      byte, its signature verifies under the batch's CA), recorded in
 *      the certificate table and its line marked issued. Only after this
 *      commit may the certificate leave the process (export).
 *
 *   A crash before 1 commits leaves the lines pending; between 1 and 3 it
 *   leaves them reserved: on restart queue_reserved lists them and the
 *   caller signs the SAME TBS again. The first signature never left the
 *   process, so exactly one certificate per line ever exists outside it,
 *   and the database refuses a second record for a line. queue_fail may
 *   end a pending or reserved line only while no signature of its TBS
 *   exists outside the process.
 *
 * Callbacks run while a read statement is open on the store's connection:
 * they must not write to the store (collect, return, then write). A
 * non-zero return from a callback stops the walk and is returned.
 *
 * The store connection is not shared between threads for this: one role
 * owns it and calls these functions one at a time. Functions return 0 or
 * a negative ERR_* code with a message in err. A full disk is ERR_IO with
 * a message that says so; the transaction is rolled back and nothing
 * committed before is lost.
 */
#ifndef AIRLOCK_QUEUE_QUEUE_H
#define AIRLOCK_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"
#include "util/event.h"

/* Lines in one batch: 1 .. this many (issue 3). */
#define QUEUE_MAX_LINES 500000
/* Most approvals a quorum may ask for (approval/tally.h). */
#define QUEUE_MAX_QUORUM 64
/* Most reservations or certificates in one queue_reserve / queue_issue. */
#define QUEUE_MAX_GROUP 10000

/* --- bundles --------------------------------------------------------- */

enum queue_bundle_status {
	QUEUE_BUNDLE_UNSEEN,		/* neither its id nor its digest known */
	QUEUE_BUNDLE_ACCEPTED,
	QUEUE_BUNDLE_REJECTED
};

struct queue_bundle {
	/*
	 * The manifest's id, lower case; NULL when the file was refused
	 * before its manifest was read. Record the id of a refused bundle
	 * only once its signature verified: an unsigned file must not be able
	 * to use up an id an operator will send later.
	 */
	const char *uuid;
	const char *sha256;		/* of the whole file, 64 hex */
	const char *file_name;		/* as found in inbox/ */
	const char *signer_sha256;	/* signer's certificate; NULL: unknown */
	int64_t person_id;		/* 0: the signer is no enrolled person */
	int64_t received_at;
	enum queue_bundle_status status;	/* ACCEPTED or REJECTED */
	const char *reason;		/* REJECTED only: why, non-empty */
};

/*
 * Replay check: *status says whether a bundle with this id (may be NULL)
 * or this file digest was recorded, and how it ended; *id_out (may be
 * NULL) gets its id, 0 when unseen. An id match wins over a digest match.
 */
int queue_bundle_seen(struct store *st, const char *uuid, const char *sha256,
    enum queue_bundle_status *status, int64_t *id_out, err_t *err);

/*
 * Records a received bundle, accepted or rejected. A replay (same id or
 * same digest) cannot be recorded again: ERR_EXISTS, and the caller
 * audits the attempt instead. Record a rejected replay of a known id with
 * uuid NULL. ERR_INVALID when a field breaks a rule.
 */
int queue_bundle_add(struct store *st, const struct queue_bundle *b,
    int64_t *id_out, err_t *err);

/* --- batches --------------------------------------------------------- */

enum queue_batch_state {
	QUEUE_PENDING_APPROVAL,
	QUEUE_APPROVED,
	QUEUE_REJECTED,
	QUEUE_ISSUING,
	QUEUE_COMPLETED,
	QUEUE_PARTIALLY_COMPLETED,
	QUEUE_FAILED,
	QUEUE_STATE_COUNT
};

/* The state's spelling ("pending-approval"); NULL out of range. */
const char *queue_state_name(enum queue_batch_state s);

/* Parses a state's spelling; 0 or ERR_INVALID. */
int queue_state_parse(const char *name, enum queue_batch_state *out);

/*
 * A new batch. Text fields use the manifest's spellings (ingest/
 * manifest.h: manifest_input_name and friends). Secrets arrive wrapped by
 * the caller and are stored as given; the queue never sees them in clear.
 */
struct queue_batch_new {
	int64_t bundle_id;		/* an accepted bundle */
	const char *name;
	const char *description;	/* "" when absent */
	const char *profile;
	int64_t ca_id;			/* the profile's issuing CA */
	const char *mode;		/* mac-range, csr, csv */
	int64_t line_count;		/* 1 .. QUEUE_MAX_LINES */
	const char *output_format;	/* smpb, pkcs12, pem-zip, ... */
	const char *chain;		/* separate, with-intermediate, ... */
	const char *results_log;	/* csv, json */
	const char *p12_encryption;	/* pkcs12 only: modern, compat */
	const unsigned char *recipient_der;	/* smpb only */
	size_t recipient_der_len;
	const unsigned char *secret_wrapped;	/* pkcs12 only */
	size_t secret_wrapped_len;
	/* Encrypts the keys the appliance generates; NULL for csr mode. */
	const unsigned char *data_key_wrapped;
	size_t data_key_wrapped_len;
	unsigned quorum;		/* 2 .. QUEUE_MAX_QUORUM */
	int64_t created;
	/* What approvers see of the keys ("rsa-2048 (generated)",
	 * "ec-p256 x 9998, rsa-2048 x 2"); NULL when not summarised. */
	const char *key_types;
};

/* One line as its source hands it over; pointers are only read. */
struct queue_line_new {
	const char *name;		/* MAC as the profile formats it, or CN */
	const char *mac;		/* 12 lower-case hex digits, or NULL */
	const unsigned char *request_der;	/* PKCS#10, or NULL */
	size_t request_der_len;
	/*
	 * A csv line's further subject fields and SANs, or NULL: UTF-8
	 * "key=value" records separated by '\n', keys as the CSV columns
	 * name them (ingest/csv.h: country, organization, dns, ...), values
	 * as validated there, no trailing newline. The signer rebuilds the
	 * request from it, so the bundle never needs reopening.
	 */
	const char *fields;
};

/*
 * Fills *out with line number `line` (1, 2, ... line_count, in order).
 * What out points at must stay valid until the next call. Returns 0, or
 * a negative ERR_* (with err set) that aborts the creation.
 */
typedef int (*queue_line_source)(void *ctx, int64_t line,
    struct queue_line_new *out, err_t *err);

/*
 * Inserts the batch (state pending-approval) and all its lines (pending)
 * in one transaction, asking src for each line in turn. Checks that the
 * bundle is accepted, that a mac-range line carries a MAC and no request,
 * a csr line a request, and that a line without a request (the appliance
 * makes its key) has a data key to encrypt it with. A name or MAC twice
 * in the batch is ERR_EXISTS naming the line. On any failure nothing is
 * kept. *batch_id (may be NULL) gets the new id.
 */
int queue_batch_create(struct store *st, const struct queue_batch_new *b,
    queue_line_source src, void *ctx, int64_t *batch_id, err_t *err);

/*
 * Records an accepted bundle and creates its batch (bundle_id in b is
 * ignored) in ONE transaction, so that a crash never leaves an accepted
 * bundle without its batch. Same checks and errors as queue_bundle_add
 * and queue_batch_create; on failure nothing is kept. *bundle_id and
 * *batch_id (each may be NULL) get the new ids.
 */
int queue_intake(struct store *st, const struct queue_bundle *bundle,
    const struct queue_batch_new *b, queue_line_source src, void *ctx,
    int64_t *bundle_id, int64_t *batch_id, err_t *err);

/* A batch as read back; counts are filled by queue_batch_get only. */
struct queue_batch {
	int64_t id, bundle_id;
	const char *bundle_sha256;	/* what approval statements name */
	const char *signer_sha256;	/* the requester; never an approver */
	int64_t requester_id;		/* the requester's person id */
	const char *name, *description, *profile;
	int64_t ca_id;
	const char *mode;
	int64_t line_count;
	const char *output_format, *chain, *results_log;
	const char *p12_encryption;	/* NULL unless pkcs12 */
	const unsigned char *recipient_der;
	size_t recipient_der_len;
	const unsigned char *secret_wrapped;
	size_t secret_wrapped_len;
	const unsigned char *data_key_wrapped;
	size_t data_key_wrapped_len;
	unsigned quorum;
	enum queue_batch_state state;
	const char *reason;		/* rejected or failed: why; else NULL */
	int64_t created, updated;
	const char *key_types;		/* NULL when not summarised */
	int64_t pending, reserved, issued, failed;	/* line counts */
	void *mem;
};

/* Reads batch id into out (free with queue_batch_free); ERR_NOTFOUND. */
int queue_batch_get(struct store *st, int64_t id, struct queue_batch *out,
    err_t *err);

/* Releases what queue_batch_get put in b, wiping it; zeroes b. */
void queue_batch_free(struct queue_batch *b);

/*
 * Calls cb for every batch in id order, or only those in *state when
 * state is not NULL. The row is valid during the call; counts are 0.
 */
typedef int (*queue_batch_cb)(void *ctx, const struct queue_batch *b);
int queue_batch_list(struct store *st, const enum queue_batch_state *state,
    queue_batch_cb cb, void *ctx, err_t *err);

/*
 * The only way a batch changes state. Allowed: pending-approval ->
 * approved | rejected; approved -> issuing; issuing -> completed |
 * partially-completed | failed. Anything else is ERR_INVALID naming both
 * states; a batch not in `from` is ERR_INVALID naming the state it is in.
 * rejected and failed need a reason (ERR_INVALID), the others take none.
 * approved also needs, in the same transaction, the quorum of recorded
 * approvals over the bundle's digest by distinct officers other than the
 * requester, and no such rejection (ERR_POLICY otherwise): the tally is
 * the approval module's job, this is the database's last word on it.
 */
int queue_batch_transition(struct store *st, int64_t id,
    enum queue_batch_state from, enum queue_batch_state to,
    const char *reason, err_t *err);

/* --- approvals ------------------------------------------------------- */

/* One verified approval or rejection (approval/statement.h). */
struct queue_approval {
	int64_t id;			/* set when read back */
	const char *kind;		/* batch, revocation, crl, export, ... */
	int64_t object;			/* the object's id, >= 1 */
	const char *officer_sha256;	/* the officer certificate's SHA-256 */
	int64_t person_id;		/* 0: unknown */
	const char *decision;		/* approve, reject */
	const char *reason;		/* reject: non-empty; approve: NULL */
	const char *digest;		/* the statement's digest, 64 hex */
	const unsigned char *statement;	/* the exact signed bytes */
	size_t statement_len;
	const unsigned char *signature;
	size_t signature_len;
	int64_t at;
};

/*
 * Records an approval. The same officer on the same object again (either
 * decision) is ERR_EXISTS: a vote is final once given.
 */
int queue_approval_add(struct store *st, const struct queue_approval *a,
    int64_t *id_out, err_t *err);

/* Calls cb for each approval of (kind, object), in the order recorded. */
typedef int (*queue_approval_cb)(void *ctx, const struct queue_approval *a);
int queue_approvals(struct store *st, const char *kind, int64_t object,
    queue_approval_cb cb, void *ctx, err_t *err);

/* --- lines ----------------------------------------------------------- */

enum queue_line_status {
	QUEUE_LINE_PENDING,
	QUEUE_LINE_RESERVED,
	QUEUE_LINE_ISSUED,
	QUEUE_LINE_FAILED
};

/* "pending", "reserved", "issued", "failed"; NULL out of range. */
const char *queue_line_status_name(enum queue_line_status s);

/* A line as read back; valid only during the callback. */
struct queue_line {
	int64_t batch_id, line;
	const char *name;
	const char *mac;		/* NULL when none */
	const unsigned char *request_der;
	size_t request_der_len;
	enum queue_line_status status;
	const char *message;		/* failed: why; else NULL */
	const char *serial;		/* reserved, issued, maybe failed */
	const unsigned char *tbs;
	size_t tbs_len;
	const unsigned char *key_enc;	/* the encrypted generated key */
	size_t key_enc_len;
	const unsigned char *cert_der;	/* issued only */
	size_t cert_der_len;
	const char *sha256;		/* of cert_der; issued only */
	const char *fields;		/* as queue_line_new.fields; or NULL */
	/* Set at reservation: what the profile overrode, for the results. */
	const char *note;
};

typedef int (*queue_line_cb)(void *ctx, const struct queue_line *l);

/*
 * Calls cb for at most max lines of batch numbered from_line on, in line
 * order: page through a batch by calling again from the last line + 1.
 */
int queue_lines(struct store *st, int64_t batch, int64_t from_line,
    size_t max, queue_line_cb cb, void *ctx, err_t *err);

/* Calls cb for the first max pending lines of batch, in line order. */
int queue_next_pending(struct store *st, int64_t batch, size_t max,
    queue_line_cb cb, void *ctx, err_t *err);

/*
 * Calls cb for every reserved line of batch with its serial, TBS and
 * encrypted key: after a restart, sign these same TBS again. There are
 * never more than the signer reserved at once.
 */
int queue_reserved(struct store *st, int64_t batch, queue_line_cb cb,
    void *ctx, err_t *err);

/* What the caller reserves for one pending line (step 1). */
struct queue_reservation {
	int64_t line;
	/* As certinfo_serial_hex spells it; must be the serial in tbs. */
	const char *serial;
	const unsigned char *tbs;	/* the exact DER TBSCertificate */
	size_t tbs_len;
	/* The generated key, encrypted with the batch's data key; NULL (and
	 * 0) exactly when the line carries a request. */
	const unsigned char *key_enc;
	size_t key_enc_len;
	/* The profile's overrides of the request (profile_override_format
	 * lines joined by "; "), or NULL. */
	const char *note;
};

/*
 * Step 1 of the contract: reserves n (1 .. QUEUE_MAX_GROUP) pending
 * lines of an issuing batch in one transaction. ERR_EXISTS naming the
 * serial when the batch's CA already reserved or issued it; ERR_INVALID
 * naming the line when it is not pending, its serial is not the one in
 * its TBS, or its key does not match what the line needs. On any failure
 * nothing of the group is kept.
 */
int queue_reserve(struct store *st, int64_t batch,
    const struct queue_reservation *r, size_t n, err_t *err);

/* A signed certificate for one reserved line (step 3). */
struct queue_issued {
	int64_t line;
	const unsigned char *cert_der;
	size_t cert_der_len;
};

/*
 * Step 3 of the contract: records n (1 .. QUEUE_MAX_GROUP) certificates
 * in one transaction. Each line must be reserved; each certificate must
 * be DER whose TBS equals the reserved TBS byte for byte (ERR_INVALID
 * naming the line) and whose signature verifies under the batch's CA
 * certificate (ERR_CRYPTO). A line already issued is ERR_EXISTS. On any
 * failure nothing of the group is kept.
 */
int queue_issue(struct store *st, int64_t batch, const struct queue_issued *v,
    size_t n, err_t *err);

/*
 * queue_issue, emitting one "certificate-issued" event (bulk) per
 * certificate to ev inside the group's transaction: an event the sink
 * refuses fails the group, so that no certificate is recorded without
 * its audit record.
 */
int queue_issue_ev(struct store *st, int64_t batch,
    const struct queue_issued *v, size_t n, event_fn ev, void *ev_ctx,
    err_t *err);

/*
 * Ends a pending or reserved line of an issuing batch as failed with
 * message (non-empty). A reserved serial stays reserved. ERR_INVALID
 * when the line is issued or already failed, ERR_NOTFOUND when absent.
 */
int queue_fail(struct store *st, int64_t batch, int64_t line,
    const char *message, err_t *err);

/* Lines of batch still pending (not reserved); 0 or ERR_*. */
int queue_pending_count(struct store *st, int64_t batch, int64_t *n,
    err_t *err);

/*
 * Ends an issuing batch once no line is pending or reserved (ERR_INVALID
 * saying how many are): completed when every line was issued,
 * partially-completed when some were, failed when none was. *final (may
 * be NULL) gets the state reached.
 */
int queue_batch_finish(struct store *st, int64_t batch,
    enum queue_batch_state *final, err_t *err);

/* --- names held across batches (queue/names.c) ----------------------- */

/*
 * For each of the n names (and, where macs[i] is not NULL, MAC as 12
 * lower-case hex), checks whether the profile already holds it: a
 * certificate of a batch of `profile` that is valid (or on hold) and not
 * expired at now, or a line (not failed) of a batch of `profile` in state
 * pending-approval, approved or issuing other than exclude_batch (0:
 * none). cb is called once per taken entry with its index, the batch and
 * line that hold it, and "certificate" or "batch"; a non-zero return
 * stops the walk. Uses the indexes on line(name) and line(mac), so a
 * 500,000-line check costs one indexed lookup per line.
 */
typedef int (*queue_taken_cb)(void *ctx, size_t index, int64_t batch,
    int64_t line, const char *held_by);
int queue_names_taken(struct store *st, const char *profile,
    const char *const *names, const char *const *macs, size_t n, int64_t now,
    int64_t exclude_batch, queue_taken_cb cb, void *ctx, err_t *err);

/* --- exports (queue/export.c) ----------------------------------------- */

enum queue_export_state {
	QUEUE_EXPORT_PENDING_APPROVAL,	/* a re-export waiting for officers */
	QUEUE_EXPORT_APPROVED,		/* due: the daemon writes it */
	QUEUE_EXPORT_WRITTEN,
	QUEUE_EXPORT_FAILED
};

/* "pending-approval", "approved", "written", "failed"; NULL out of range. */
const char *queue_export_state_name(enum queue_export_state s);

struct queue_export {
	int64_t id, batch_id, number;	/* number: 1 for the first export */
	enum queue_export_state state;
	const char *dir;		/* outbox/ subdirectory once written */
	const char *manifest_sha256;	/* of MANIFEST once written */
	int64_t created, written;
	void *mem;
};

/*
 * The first export of a batch that has just finished (completed or
 * partially-completed): number 1, state approved, since the batch's
 * approval covers it. Idempotent: returns the existing one's id when the
 * batch already has export 1.
 */
int queue_export_first(struct store *st, int64_t batch, int64_t *id_out,
    err_t *err);

/*
 * A re-export: the next number, state pending-approval; it needs its own
 * quorum of approvals (kind "export", object the export id, digest
 * queue_export_digest). ERR_INVALID when the batch has not finished or
 * has no written export yet; ERR_EXISTS when a re-export of the batch is
 * already pending or approved.
 */
int queue_export_request(struct store *st, int64_t batch, int64_t now,
    int64_t *id_out, err_t *err);

/*
 * The digest officers sign for export id: SHA-256 (64 lower-case hex into
 * out[65]) of the text
 *   "airlock-export\nexport: ID\nbatch: BATCH\nnumber: N\nbundle: SHA256\n"
 * (docs/formats/approval.md).
 */
int queue_export_digest(struct store *st, int64_t id, char out[65],
    err_t *err);

/* Reads one export (free with queue_export_free); ERR_NOTFOUND. */
int queue_export_get(struct store *st, int64_t id, struct queue_export *out,
    err_t *err);
void queue_export_free(struct queue_export *e);

/* Calls cb for the exports of batch (0: all), in id order. */
typedef int (*queue_export_cb)(void *ctx, const struct queue_export *e);
int queue_export_list(struct store *st, int64_t batch, queue_export_cb cb,
    void *ctx, err_t *err);

/*
 * pending-approval -> approved (only with the quorum of approvals of kind
 * export over its digest by distinct officers other than the batch's
 * requester, and no rejection; ERR_POLICY otherwise) or -> failed (a
 * rejection; reason required); approved -> written (dir and
 * manifest_sha256 required) or stays approved on a failed attempt (the
 * caller retries when a medium is back). Anything else ERR_INVALID.
 */
int queue_export_transition(struct store *st, int64_t id,
    enum queue_export_state from, enum queue_export_state to,
    const char *dir, const char *manifest_sha256, int64_t now, err_t *err);

#endif
