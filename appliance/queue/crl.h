/*
 * crl.h: CRL issuance in the store (schema version 4: crl_request,
 * crl_number, crl, and the revocation fields of certificate).
 *
 * A CRL is issued for a request (crl_request) that officers approved
 * like a batch: pending-approval -> approved (a quorum of approvals of
 * kind "crl" over queue_crl_digest) | rejected; approved -> issued once
 * the signed CRL is recorded (queue_crl_record). The number protocol,
 * which keeps a number from ever naming two CRLs whatever crashes:
 *
 *   1. queue_crl_take_number, in its own committed transaction, takes
 *      the CA's next number (1 + the highest ever taken or recorded) and
 *      records it in crl_number for good.
 *   2. The caller builds and signs the CRL outside any transaction.
 *   3. queue_crl_record stores it and marks the request issued, in one
 *      transaction. Only then may the CRL leave the process.
 *
 * A crash between 1 and 3 leaves a number taken and never used (a gap):
 * the next attempt takes a higher one. The schema's triggers refuse a
 * number that does not rise and a CRL record that changes.
 *
 * Like the rest of queue/, single-threaded on the store's connection;
 * callbacks run with a read statement open and must not write to the
 * store. Functions return 0 or a negative ERR_* with a message in err.
 */
#ifndef AIRLOCK_QUEUE_CRL_H
#define AIRLOCK_QUEUE_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* Longest cause and requested_by, and outbox directory name recorded. */
#define QUEUE_CRL_TEXT_MAX 256
#define QUEUE_CRL_DIR_MAX 255
/* Largest CRL the store hands back (queue_crl_der). */
#define QUEUE_CRL_DER_MAX (256u * 1024 * 1024 + 4096)

enum queue_crl_state {
	QUEUE_CRL_PENDING_APPROVAL,
	QUEUE_CRL_APPROVED,
	QUEUE_CRL_REJECTED,
	QUEUE_CRL_ISSUED
};

/* "pending-approval", "approved", "rejected", "issued"; NULL out of range. */
const char *queue_crl_state_name(enum queue_crl_state s);

/* Parses a state's spelling; 0 or ERR_INVALID. */
int queue_crl_state_parse(const char *name, enum queue_crl_state *out);

struct queue_crl_request {
	int64_t id, ca_id;
	const char *ca_name;
	const char *cause;		/* "console", "revocation #N", ... */
	const char *requested_by;	/* officer certificate SHA-256, or a name */
	enum queue_crl_state state;
	const char *reject_reason;	/* rejected only; else NULL */
	unsigned quorum;
	int64_t created;
	int64_t number, issued;		/* issued only; else 0 */
	void *mem;
};

/*
 * A new request (pending-approval) for CA ca_id. cause and requested_by
 * are 1 .. QUEUE_CRL_TEXT_MAX bytes of printable UTF-8; requested_by is
 * the requesting officer's certificate SHA-256 (64 lower-case hex) when
 * an officer asked, so that officer's approval never counts, or a name
 * ("airlockd") when the appliance did. quorum 2 .. QUEUE_MAX_QUORUM.
 * ERR_NOTFOUND for an unknown CA, ERR_INVALID. *id (may be NULL) gets it.
 */
int queue_crl_request(struct store *st, int64_t ca_id, const char *cause,
    const char *requested_by, unsigned quorum, int64_t now, int64_t *id,
    err_t *err);

/* Reads request id (free with queue_crl_free); ERR_NOTFOUND. */
int queue_crl_get(struct store *st, int64_t id, struct queue_crl_request *out,
    err_t *err);
void queue_crl_free(struct queue_crl_request *r);

/*
 * Calls cb for every request in id order, or those in *state when state
 * is not NULL. The row is valid during the call (mem is NULL).
 */
typedef int (*queue_crl_cb)(void *ctx, const struct queue_crl_request *r);
int queue_crl_list(struct store *st, const enum queue_crl_state *state,
    queue_crl_cb cb, void *ctx, err_t *err);

/*
 * The digest officers sign for request id (approval kind "crl"): the
 * SHA-256 (64 lower-case hex into out) of the text
 *   "airlock-crl\nrequest: ID\nca: NAME\nca-sha256: SHA256\n"
 * where SHA256 is that of the CA's certificate (docs/formats/crl.md,
 * section 4, and docs/formats/approval.md).
 */
int queue_crl_digest(struct store *st, int64_t id, char out[65], err_t *err);

/*
 * pending-approval -> approved (only with at least the request's quorum
 * of approvals of kind crl over its digest, by distinct officers whose
 * certificate is not requested_by, and no such rejection; ERR_POLICY
 * otherwise) or -> rejected (reject_reason required, printable UTF-8).
 * approved -> issued is queue_crl_record's alone. Anything else, or a
 * request not in from, ERR_INVALID naming the states.
 */
int queue_crl_transition(struct store *st, int64_t id,
    enum queue_crl_state from, enum queue_crl_state to,
    const char *reject_reason, err_t *err);

/*
 * Step 1 above: takes the CA's next CRL number (1 + the highest in
 * crl_number and crl for ca_id; 1 for the first) and commits it in its
 * own transaction, with request_id (0: none, for tests and the bench;
 * otherwise an approved request of that CA, ERR_INVALID if not).
 */
int queue_crl_take_number(struct store *st, int64_t request_id,
    int64_t ca_id, int64_t now, int64_t *number, err_t *err);

/* One entry of a CA's CRL, valid during the callback. */
struct queue_crl_entry {
	const char *serial;		/* lower-case hex, no leading zero */
	int64_t revoked_at;
	const char *reason;		/* RFC 5280 name; certificateHold for a hold */
	int has_invalidity_date;
	int64_t invalidity_date;
};

/*
 * Calls cb for every certificate of ca_id whose status is revoked or
 * hold, in increasing numeric serial order (ORDER BY length(serial),
 * serial: the store spells serials without leading zeros), streaming:
 * nothing is held but the current row. *count (may be NULL) gets the
 * number of rows given. A non-zero return from cb stops and is returned.
 */
typedef int (*queue_crl_entry_cb)(void *ctx, const struct queue_crl_entry *e);
int queue_crl_entries(struct store *st, int64_t ca_id, queue_crl_entry_cb cb,
    void *ctx, size_t *count, err_t *err);

/*
 * Step 3 above, in one transaction: records the CRL (its number must
 * have been taken for ca_id, by request_id when that is not 0) and, when
 * request_id is not 0, moves the request from approved to issued with
 * the number. sha256 is that of der (64 lower-case hex). ERR_EXISTS when
 * the CA already has a CRL with that number, ERR_INVALID otherwise.
 */
int queue_crl_record(struct store *st, int64_t request_id, int64_t ca_id,
    int64_t number, int64_t this_update, int64_t next_update,
    const unsigned char *der, size_t der_len, const char *sha256,
    int64_t entries, err_t *err);

/* A recorded CRL, without its DER. */
struct queue_crl_info {
	int64_t ca_id, number;
	int64_t this_update, next_update;
	char sha256[65];		/* "" when the record has none */
	int64_t entries;		/* -1 when the record does not say */
	int64_t request_id;		/* 0: none */
	int64_t exported;		/* 0 until written to a medium */
	char export_dir[QUEUE_CRL_DIR_MAX + 1];	/* "" until then */
};

/* The CA's CRL with the highest number; ERR_NOTFOUND when it has none. */
int queue_crl_latest(struct store *st, int64_t ca_id,
    struct queue_crl_info *out, err_t *err);

/* Appends the DER of CRL (ca_id, number) to out; ERR_NOTFOUND. */
int queue_crl_der(struct store *st, int64_t ca_id, int64_t number,
    buf_t *out, err_t *err);

/*
 * Records that CRL (ca_id, number) was written to the medium in outbox
 * directory dir (one clean path component) at when. ERR_NOTFOUND;
 * ERR_EXISTS when it was already recorded as exported.
 */
int queue_crl_exported(struct store *st, int64_t ca_id, int64_t number,
    const char *dir, int64_t when, err_t *err);

/*
 * Calls cb for every CRL the appliance issued (it has a sha256) that is
 * not yet exported, by CA and number: what the export step writes.
 */
typedef int (*queue_crl_info_cb)(void *ctx, const struct queue_crl_info *c);
int queue_crl_unexported(struct store *st, queue_crl_info_cb cb, void *ctx,
    err_t *err);

#endif
