/*
 * lockout.h: counting failed logins and failed approvals, and the
 * lock-outs they lead to, in the store (schema version 6:
 * credential_failure, lockout).
 *
 * A credential is either the CA token (named by its label) or an enrolled
 * person (named by the SHA-256 of their certificate). Each failure adds
 * one to the credential's count; when the count reaches the caller's
 * limit a lock-out is opened (state "locked"), and for a person their
 * status goes from active to locked, which refuses their approvals and
 * their bundles. A success resets the count. Only a quorum of officers,
 * never the locked person, approving a statement of kind lockout-clear
 * over queue_lockout_digest closes it (state "cleared"): the count is
 * reset and a locked person is active again.
 *
 * Each function that changes state does it in one transaction (a
 * savepoint inside the caller's), so the caller can keep a failure, its
 * count and its audit record together (daemon_step_begin/end).
 *
 * Like the rest of queue/, single-threaded on the store's connection;
 * callbacks run with a read statement open and must not write to the
 * store. Functions return 0 or a negative ERR_* with a message in err.
 */
#ifndef AIRLOCK_QUEUE_LOCKOUT_H
#define AIRLOCK_QUEUE_LOCKOUT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* Longest credential name: a token label (32) or a SHA-256 (64). */
#define QUEUE_LOCKOUT_NAME_MAX 64
/* Highest failure limit a caller may give. */
#define QUEUE_LOCKOUT_LIMIT_MAX 1000

enum queue_lockout_kind {
	QUEUE_LOCKOUT_TOKEN,		/* "token": logins to the CA token */
	QUEUE_LOCKOUT_PERSON		/* "person": an enrolled person's approvals */
};

/* "token" or "person"; NULL out of range. */
const char *queue_lockout_kind_name(enum queue_lockout_kind k);

/* A lock-out record. */
struct queue_lockout {
	int64_t id;
	enum queue_lockout_kind kind;
	char credential[QUEUE_LOCKOUT_NAME_MAX + 1];
	int64_t person_id;		/* person only; else 0 */
	int64_t failures;		/* the count when it was locked */
	int64_t locked_at;
	int cleared;			/* 0: locked */
	int64_t cleared_at;		/* cleared only; else 0 */
	unsigned quorum;
};

/* What one failure did. */
struct queue_lockout_failure {
	int64_t failures;		/* the count after this failure */
	int64_t locked;			/* the lock-out this failure opened, or 0 */
	int64_t already;		/* the lock-out already open, or 0 */
};

/*
 * Records one failure of credential (kind; a person's also names
 * person_id, their record) at now. When the count reaches limit (1 ..
 * QUEUE_LOCKOUT_LIMIT_MAX) and no lock-out of the credential is open,
 * opens one with quorum (2 .. QUEUE_MAX_QUORUM) and, for a person whose
 * status is active, sets it to locked. ERR_INVALID for a bad argument,
 * ERR_NOTFOUND for an unknown person.
 */
int queue_lockout_fail(struct store *st, enum queue_lockout_kind kind,
    const char *credential, int64_t person_id, unsigned limit,
    unsigned quorum, int64_t now, struct queue_lockout_failure *out,
    err_t *err);

/*
 * A success of credential: its count goes back to 0. *was (may be NULL)
 * gets the count before. An open lock-out is left alone (the caller
 * refuses a locked credential before it can succeed).
 */
int queue_lockout_reset(struct store *st, enum queue_lockout_kind kind,
    const char *credential, int64_t *was, err_t *err);

/* The credential's current count (0 when it never failed). */
int queue_lockout_count(struct store *st, enum queue_lockout_kind kind,
    const char *credential, int64_t *out, err_t *err);

/* The credential's open lock-out into *out; ERR_NOTFOUND when none. */
int queue_lockout_open(struct store *st, enum queue_lockout_kind kind,
    const char *credential, struct queue_lockout *out, err_t *err);

/* Lock-out id into *out; ERR_NOTFOUND. */
int queue_lockout_get(struct store *st, int64_t id, struct queue_lockout *out,
    err_t *err);

/* Calls cb for every lock-out in id order, or the open ones (open_only). */
typedef int (*queue_lockout_cb)(void *ctx, const struct queue_lockout *l);
int queue_lockout_list(struct store *st, int open_only, queue_lockout_cb cb,
    void *ctx, err_t *err);

/*
 * The digest officers sign to clear lock-out id (approval kind
 * lockout-clear): the SHA-256 (64 lower-case hex into out) of the text
 *   "airlock-lockout\nlockout: ID\ncredential: KIND NAME\n"
 *   "failures: N\nlocked: TIME\n"
 * with KIND token or person, NAME the token label or the certificate
 * SHA-256, N the count at the lock-out and TIME its RFC 3339 UTC time
 * (docs/formats/approval.md).
 */
int queue_lockout_digest(struct store *st, int64_t id, char out[65],
    err_t *err);

/*
 * locked -> cleared at now, only with at least the lock-out's quorum of
 * approvals of kind lockout-clear over its digest by distinct officers
 * other than the locked person, and no rejection (ERR_POLICY otherwise).
 * Resets the credential's count and sets a locked person active again.
 * ERR_INVALID when it is already cleared.
 */
int queue_lockout_clear(struct store *st, int64_t id, int64_t now,
    err_t *err);

#endif
