/*
 * log.h: the appliance's side of the audit log: records and checkpoints
 * kept in the store (schema version 5), and the log's canonical text.
 *
 * A record is appended through the connection of the step it records:
 * inside that step's transaction when one is open, so that the step and
 * its record are kept or lost together (a kill -9 never leaves one
 * without the other), else in a transaction of its own. Whichever
 * connection appends, the record extends the chain's head as the database
 * holds it under SQLite's write lock, and a trigger refuses anything else;
 * two threads can never fork the chain.
 *
 * The canonical text (record.h) is one function's output, so the mirror
 * file, every export and the daemon's own check at start-up see the same
 * bytes: records in sequence order, each followed by the checkpoints that
 * sign it, oldest first.
 */
#ifndef AIRLOCK_AUDIT_LOG_H
#define AIRLOCK_AUDIT_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>

#include "audit/record.h"
#include "store/store.h"
#include "util/err.h"

/* What one record says (record.h gives each field's rules). */
struct audit_entry {
	const char *actor_sha256;	/* NULL or "": no certificate */
	const char *actor_name;		/* NULL: "appliance" */
	const char *role;		/* NULL: AUDIT_ROLE_APPLIANCE */
	const char *action;
	const char *outcome;		/* ok, refused, failed */
	const char *objects;		/* NULL or "key=value ..." */
	const char *details;		/* NULL or text; cut to the limit */
};

/*
 * Appends e, dated now, as the next record; *seq_out (may be NULL) gets
 * its sequence number. Text too long for the format is cut (details) or
 * refused (ERR_INVALID naming the field). 0 or ERR_*; on failure inside
 * the caller's transaction the caller must roll back.
 */
int audit_log_append(struct store *st, const struct audit_entry *e,
    time_t now, int64_t *seq_out, err_t *err);

/* The chain's head: seq 0 and audit_genesis while the log is empty. */
int audit_log_head(struct store *st, int64_t *seq,
    char hash[AUDIT_HASH_HEX], err_t *err);

/* The hash of record seq; ERR_NOTFOUND when there is no such record. */
int audit_log_hash_at(struct store *st, int64_t seq,
    char hash[AUDIT_HASH_HEX], err_t *err);

/* Records a checkpoint made for cp->seq (whose hash it must carry). */
int audit_log_checkpoint_add(struct store *st,
    const struct audit_checkpoint *cp, const char *reason, err_t *err);

/*
 * The newest checkpoint into *cp; ERR_NOTFOUND when there is none.
 */
int audit_log_last_checkpoint(struct store *st, struct audit_checkpoint *cp,
    err_t *err);

/*
 * Signs the checkpoint for record seq (hash, time set by the caller;
 * key_sha256 the audit certificate's) with key: SHA-256 and the key's
 * scheme (RSA PKCS#1 v1.5 or ECDSA), as the format says. 0 or ERR_CRYPTO.
 */
int audit_checkpoint_sign(struct audit_checkpoint *cp, EVP_PKEY *key,
    err_t *err);

/*
 * Receives one line of the canonical text, LF included. Non-zero stops
 * the walk and is returned by audit_log_text.
 */
typedef int (*audit_text_fn)(void *ctx, const char *line, size_t len,
    err_t *err);

/*
 * Walks the canonical text of records from .. to (to 0: up to the head)
 * from one consistent snapshot, each record followed by its checkpoints.
 * A record the database holds but that does not match its own hash is
 * reported (ERR_INVALID naming it), never silently re-sealed. Must not be
 * called inside a transaction. 0 or ERR_*.
 */
int audit_log_text(struct store *st, int64_t from, int64_t to,
    audit_text_fn fn, void *ctx, err_t *err);

/* The store's meta key holding the last record seq written to a medium. */
#define AUDIT_META_EXPORTED "audit.exported_seq"

#endif
