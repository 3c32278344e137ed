/* queue.c: durable batch and line state on the store (see queue.h). */
#include "queue/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "pki/certinfo.h"
#include "pki/der.h"
#include "pki/pkiutil.h"
#include "pki/sigcheck.h"
#include "audit/record.h"
#include "queue/sql.h"
#include "store/stmt.h"
#include "util/buf.h"
#include "util/text.h"

/* Longest TBS or certificate the queue records (generous for RSA-16384). */
#define QUEUE_DER_MAX (1024u * 1024)
/* Longest serial in hex: 20 octets. */
#define QUEUE_SERIAL_HEX_MAX 40

static const char *const queue_state_names[QUEUE_STATE_COUNT] = {
	"pending-approval", "approved", "rejected", "issuing", "completed",
	"partially-completed", "failed"
};

static const char *const queue_line_names[] = {
	"pending", "reserved", "issued", "failed"
};

static const char *const queue_modes[] = {
	"mac-range", "csr", "csv", NULL
};
static const char *const queue_formats[] = {
	"smpb", "pkcs12", "pem-zip", "pem-json", "der-zip", "pkcs7", NULL
};
static const char *const queue_chains[] = {
	"separate", "with-intermediate", "with-root-and-intermediate", NULL
};
static const char *const queue_logs[] = { "csv", "json", NULL };
static const char *const queue_p12s[] = { "modern", "compat", NULL };
static const char *const queue_kinds[] = {
	"batch", "revocation", "crl", "export", "lockout-clear", NULL
};
static const char *const queue_decisions[] = { "approve", "reject", NULL };

const char *
queue_state_name(enum queue_batch_state s)
{
	if ((int)s < 0 || s >= QUEUE_STATE_COUNT)
		return NULL;
	return queue_state_names[s];
}

int
queue_state_parse(const char *name, enum queue_batch_state *out)
{
	int i;

	for (i = 0; name != NULL && i < QUEUE_STATE_COUNT; i++)
		if (strcmp(name, queue_state_names[i]) == 0) {
			*out = (enum queue_batch_state)i;
			return 0;
		}
	return ERR_INVALID;
}

const char *
queue_line_status_name(enum queue_line_status s)
{
	if ((int)s < 0 || (size_t)s >= sizeof(queue_line_names) /
	    sizeof(queue_line_names[0]))
		return NULL;
	return queue_line_names[s];
}

static int
queue_line_status_parse(const char *name, enum queue_line_status *out)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(queue_line_names) /
	    sizeof(queue_line_names[0]); i++)
		if (strcmp(name, queue_line_names[i]) == 0) {
			*out = (enum queue_line_status)i;
			return 0;
		}
	return ERR_INVALID;
}

/* --- SQLite plumbing ----------------------------------------------------- */

/*
 * queue_sql_run for an INSERT that is not reused: finalizes s, and on success
 * *id_out (may be NULL) gets the new row id.
 */
static int
queue_insert(struct store *st, sqlite3_stmt *s, int bindrc, const char *what,
    int64_t *id_out, err_t *err)
{
	int r = queue_sql_run(st, s, bindrc, what, err);

	sqlite3_finalize(s);
	if (r == 0 && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(store_db(st));
	return r;
}

/*
 * queue_prepare_id, then steps to the first row, left in *s for the caller
 * to read and finalize. Without a row *s is finalized and NULL, and the
 * error is ERR_NOTFOUND "no batch #id" for a query keyed by batch (by_batch
 * set), else one about what: there the row must exist.
 */
static int
queue_row_id(struct store *st, const char *sql, int64_t id, int by_batch,
    const char *what, sqlite3_stmt **s, err_t *err)
{
	int rc, r;

	if ((r = queue_sql_prepare_id(st, sql, id, s, err)) != 0)
		return r;
	if ((rc = sqlite3_step(*s)) == SQLITE_ROW)
		return 0;
	r = rc == SQLITE_DONE && by_batch ? err_set(err, ERR_NOTFOUND, "%s: "
	    "no batch #%lld", store_path(st), (long long)id) :
	    queue_sql_err(st, what, err);
	sqlite3_finalize(*s);
	*s = NULL;
	return r;
}

/*
 * Checks v against a NULL-terminated list, for a clear message early. v
 * may come from a request bundle, so the message shows it escaped and cut.
 */
static int
queue_check_choice(const char *field, const char *v,
    const char *const *choices, err_t *err)
{
	char list[160], shown[80];

	if (store_choice(v, choices, list, sizeof(list)))
		return 0;
	if (v == NULL)
		snprintf(shown, sizeof(shown), "(none)");
	else
		text_show(v, strlen(v), 32, shown, sizeof(shown));
	return err_set(err, ERR_INVALID, "%s '%s' is not one of: %s", field,
	    shown, list);
}

static int64_t
queue_now(void)
{
	return (int64_t)time(NULL);
}

/* Runs a one-value integer query bound to (a, b); *out gets the value. */
static int
queue_count(struct store *st, const char *sql, int64_t a, const char *b,
    int64_t *out, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, sql, &s, err)) != 0)
		return r;
	store_bind_int(s, 1, a, &rc);
	if (b != NULL)
		store_bind_text(s, 2, b, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	if (sqlite3_step(s) != SQLITE_ROW) {
		r = queue_sql_err(st, "count", err);
		sqlite3_finalize(s);
		return r;
	}
	*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

/* --- bundles ------------------------------------------------------------- */

/* Looks a bundle up by one column; 0 with *id 0 when there is none. */
static int
queue_bundle_by(struct store *st, const char *sql, const char *v,
    int64_t *id, enum queue_bundle_status *status, err_t *err)
{
	sqlite3_stmt *s;
	const unsigned char *txt;
	int rc = SQLITE_OK, r;

	*id = 0;
	if ((r = queue_sql_prepare(st, sql, &s, err)) != 0)
		return r;
	store_bind_text(s, 1, v, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		txt = sqlite3_column_text(s, 1);
		*status = txt != NULL && strcmp((const char *)txt,
		    "accepted") == 0 ? QUEUE_BUNDLE_ACCEPTED :
		    QUEUE_BUNDLE_REJECTED;
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "find bundle",
		    err);
	}
	sqlite3_finalize(s);
	return r;
}

int
queue_bundle_seen(struct store *st, const char *uuid, const char *sha256,
    enum queue_bundle_status *status, int64_t *id_out, err_t *err)
{
	int64_t id = 0;
	int r;

	*status = QUEUE_BUNDLE_UNSEEN;
	if (id_out != NULL)
		*id_out = 0;
	if (sha256 == NULL || !text_is_lower_hex(sha256, 64))
		return err_set(err, ERR_INVALID, "a bundle digest must be 64 "
		    "lower-case hex digits");
	if (uuid != NULL && (r = queue_bundle_by(st, "SELECT id, status FROM "
	    "bundle WHERE uuid = ?", uuid, &id, status, err)) != 0)
		return r;
	if (id == 0 && (r = queue_bundle_by(st, "SELECT id, status FROM "
	    "bundle WHERE sha256 = ?", sha256, &id, status, err)) != 0)
		return r;
	if (id_out != NULL)
		*id_out = id;
	return 0;
}

int
queue_bundle_add(struct store *st, const struct queue_bundle *b,
    int64_t *id_out, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if (b->status != QUEUE_BUNDLE_ACCEPTED &&
	    b->status != QUEUE_BUNDLE_REJECTED)
		return err_set(err, ERR_INVALID, "a bundle is recorded as "
		    "accepted or rejected");
	if (b->status == QUEUE_BUNDLE_REJECTED &&
	    (b->reason == NULL || *b->reason == '\0'))
		return err_set(err, ERR_INVALID, "a rejected bundle needs the "
		    "reason it was rejected");
	if (b->status == QUEUE_BUNDLE_ACCEPTED && b->reason != NULL)
		return err_set(err, ERR_INVALID, "an accepted bundle has no "
		    "rejection reason");
	if ((r = queue_sql_prepare(st, "INSERT INTO bundle (uuid, sha256, "
	    "file_name, signer_sha256, person_id, received_at, status, "
	    "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &s, err)) != 0)
		return r;
	store_bind_text(s, 1, b->uuid, &rc);
	store_bind_text(s, 2, b->sha256, &rc);
	store_bind_text(s, 3, b->file_name, &rc);
	store_bind_text(s, 4, b->signer_sha256, &rc);
	store_bind_id(s, 5, b->person_id, &rc);
	store_bind_int(s, 6, b->received_at, &rc);
	store_bind_text(s, 7, b->status == QUEUE_BUNDLE_ACCEPTED ?
	    "accepted" : "rejected", &rc);
	store_bind_text(s, 8, b->reason, &rc);
	r = queue_insert(st, s, rc, "record bundle", id_out, err);
	if (r == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "%s: a bundle with id %s or "
		    "digest %s was already received: a replay", store_path(st),
		    b->uuid ? b->uuid : "(none)", b->sha256);
	return r;
}

/* --- batches ------------------------------------------------------------- */

static int
queue_check_batch_new(const struct queue_batch_new *b, err_t *err)
{
	int r;

	if (b->name == NULL || *b->name == '\0' || !text_clean(b->name))
		return err_set(err, ERR_INVALID, "a batch needs a name of "
		    "printable UTF-8");
	if (b->description == NULL || !text_clean(b->description))
		return err_set(err, ERR_INVALID, "a batch description must be "
		    "printable UTF-8 (\"\" when absent)");
	if (b->profile == NULL || *b->profile == '\0' ||
	    !text_clean(b->profile))
		return err_set(err, ERR_INVALID, "a batch needs a profile");
	if ((r = queue_check_choice("input mode", b->mode, queue_modes,
	    err)) != 0 ||
	    (r = queue_check_choice("output format", b->output_format,
	    queue_formats, err)) != 0 ||
	    (r = queue_check_choice("chain option", b->chain, queue_chains,
	    err)) != 0 ||
	    (r = queue_check_choice("results log", b->results_log, queue_logs,
	    err)) != 0)
		return r;
	if (b->p12_encryption != NULL && (r = queue_check_choice(
	    "PKCS#12 encryption", b->p12_encryption, queue_p12s, err)) != 0)
		return r;
	if (b->line_count < 1 || b->line_count > QUEUE_MAX_LINES)
		return err_set(err, ERR_LIMIT, "a batch holds 1 to %d lines, "
		    "not %lld", QUEUE_MAX_LINES, (long long)b->line_count);
	if (b->quorum < 2 || b->quorum > QUEUE_MAX_QUORUM)
		return err_set(err, ERR_INVALID, "an approval quorum is 2 to %d "
		    "officers, not %u", QUEUE_MAX_QUORUM, b->quorum);
	/* Zero-length blobs would read back as absent: refuse them here. */
	if ((b->recipient_der != NULL && b->recipient_der_len == 0) ||
	    (b->secret_wrapped != NULL && b->secret_wrapped_len == 0) ||
	    (b->data_key_wrapped != NULL && b->data_key_wrapped_len == 0))
		return err_set(err, ERR_INVALID, "an empty recipient, secret "
		    "or data key is not a value");
	return 0;
}

/* Checks one line as its source gave it, before SQL sees it. */
static int
queue_check_line(const struct queue_batch_new *b, int64_t line,
    const struct queue_line_new *l, err_t *err)
{
	int has_req = l->request_der != NULL;

	if (l->name == NULL || *l->name == '\0' || !text_clean(l->name))
		return err_set(err, ERR_INVALID, "line %lld: the name must be "
		    "non-empty printable UTF-8", (long long)line);
	if (l->mac != NULL && !text_is_lower_hex(l->mac, 12))
		return err_set(err, ERR_INVALID, "line %lld: a MAC address is "
		    "stored as 12 lower-case hex digits", (long long)line);
	if (has_req && l->request_der_len == 0)
		return err_set(err, ERR_INVALID, "line %lld: empty request",
		    (long long)line);
	if (strcmp(b->mode, "mac-range") == 0 && (l->mac == NULL || has_req))
		return err_set(err, ERR_INVALID, "line %lld: a mac-range line "
		    "has a MAC address and no request", (long long)line);
	if (strcmp(b->mode, "csr") == 0 && !has_req)
		return err_set(err, ERR_INVALID, "line %lld: a csr line needs "
		    "its request", (long long)line);
	if (!has_req && b->data_key_wrapped == NULL)
		return err_set(err, ERR_INVALID, "line %lld: the appliance "
		    "makes this line's key but the batch has no data key to "
		    "encrypt it with", (long long)line);
	return 0;
}

/* After a UNIQUE failure on a line, says which earlier line it repeats. */
static int
queue_line_dup(struct store *st, int64_t batch, int64_t line,
    const struct queue_line_new *l, err_t *err)
{
	char shown[160];
	int64_t other = 0;

	text_show(l->name, strlen(l->name), 64, shown, sizeof(shown));
	if (queue_count(st, "SELECT coalesce(min(line), 0) FROM line WHERE "
	    "batch_id = ? AND name = ?", batch, l->name, &other, err) == 0 &&
	    other > 0)
		return err_set(err, ERR_EXISTS, "line %lld: '%s' is already "
		    "line %lld of this batch", (long long)line, shown,
		    (long long)other);
	if (l->mac != NULL && queue_count(st, "SELECT coalesce(min(line), 0) "
	    "FROM line WHERE batch_id = ? AND mac = ?", batch, l->mac, &other,
	    err) == 0 && other > 0)
		return err_set(err, ERR_EXISTS, "line %lld: MAC %s is already "
		    "line %lld of this batch", (long long)line, l->mac,
		    (long long)other);
	return err_set(err, ERR_EXISTS, "line %lld: '%s' is already in this "
	    "batch", (long long)line, shown);
}

/* The batch and its lines, inside the caller's transaction. */
static int
queue_batch_insert(struct store *st, const struct queue_batch_new *b,
    queue_line_source src, void *ctx, int64_t *batch_id, err_t *err)
{
	sqlite3_stmt *s = NULL, *ins = NULL;
	struct queue_line_new l;
	const unsigned char *status;
	int64_t id, i;
	int rc = SQLITE_OK, r;

	/* Only an accepted bundle becomes a batch. */
	if ((r = queue_sql_prepare_id(st, "SELECT status FROM bundle WHERE id = ?",
	    b->bundle_id, &s, err)) != 0)
		goto fail;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? err_set(err, ERR_NOTFOUND, "no bundle "
		    "#%lld", (long long)b->bundle_id) :
		    queue_sql_err(st, "find bundle", err);
		goto fail;
	}
	status = sqlite3_column_text(s, 0);
	if (status == NULL || strcmp((const char *)status, "accepted") != 0) {
		r = err_set(err, ERR_INVALID, "bundle #%lld was rejected; it "
		    "makes no batch", (long long)b->bundle_id);
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;

	rc = SQLITE_OK;
	if ((r = queue_sql_prepare(st, "INSERT INTO batch (bundle_id, name, "
	    "description, profile, ca_id, mode, line_count, output_format, "
	    "chain, results_log, p12_encryption, recipient_der, "
	    "secret_wrapped, data_key_wrapped, quorum, created, updated, "
	    "key_types) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &s,
	    err)) != 0)
		goto fail;
	store_bind_int(s, 1, b->bundle_id, &rc);
	store_bind_text(s, 2, b->name, &rc);
	store_bind_text(s, 3, b->description, &rc);
	store_bind_text(s, 4, b->profile, &rc);
	store_bind_int(s, 5, b->ca_id, &rc);
	store_bind_text(s, 6, b->mode, &rc);
	store_bind_int(s, 7, b->line_count, &rc);
	store_bind_text(s, 8, b->output_format, &rc);
	store_bind_text(s, 9, b->chain, &rc);
	store_bind_text(s, 10, b->results_log, &rc);
	store_bind_text(s, 11, b->p12_encryption, &rc);
	store_bind_blob(s, 12, b->recipient_der, b->recipient_der_len, &rc);
	store_bind_blob(s, 13, b->secret_wrapped, b->secret_wrapped_len, &rc);
	store_bind_blob(s, 14, b->data_key_wrapped, b->data_key_wrapped_len,
	    &rc);
	store_bind_int(s, 15, b->quorum, &rc);
	store_bind_int(s, 16, b->created, &rc);
	store_bind_int(s, 17, b->created, &rc);
	store_bind_text(s, 18, b->key_types, &rc);
	r = queue_insert(st, s, rc, "add batch", &id, err);
	s = NULL;
	if (r != 0) {
		if (r == ERR_EXISTS)
			r = err_set(err, ERR_EXISTS, "bundle #%lld already "
			    "made a batch", (long long)b->bundle_id);
		goto fail;
	}

	/* One prepared insert, reset per line: fast and flat in memory. */
	if ((r = queue_sql_prepare(st, "INSERT INTO line (batch_id, line, name, "
	    "mac, request_der, fields) VALUES (?, ?, ?, ?, ?, ?)", &ins,
	    err)) != 0)
		goto fail;
	for (i = 1; i <= b->line_count; i++) {
		memset(&l, 0, sizeof(l));
		if ((r = src(ctx, i, &l, err)) != 0) {
			if (r > 0)
				r = err_set(err, ERR_INVALID, "line %lld: the "
				    "source gave no line", (long long)i);
			goto fail;
		}
		if ((r = queue_check_line(b, i, &l, err)) != 0)
			goto fail;
		rc = SQLITE_OK;
		store_bind_int(ins, 1, id, &rc);
		store_bind_int(ins, 2, i, &rc);
		store_bind_text(ins, 3, l.name, &rc);
		store_bind_text(ins, 4, l.mac, &rc);
		store_bind_blob(ins, 5, l.request_der, l.request_der_len, &rc);
		store_bind_text(ins, 6, l.fields, &rc);
		if ((r = queue_sql_run(st, ins, rc, "add line", err)) != 0) {
			if (r == ERR_EXISTS)
				r = queue_line_dup(st, id, i, &l, err);
			else
				err_prefix(err, "line %lld", (long long)i);
			goto fail;
		}
	}
	sqlite3_finalize(ins);
	*batch_id = id;
	return 0;
fail:
	sqlite3_finalize(s);
	sqlite3_finalize(ins);
	return r;
}

int
queue_batch_create(struct store *st, const struct queue_batch_new *b,
    queue_line_source src, void *ctx, int64_t *batch_id, err_t *err)
{
	int64_t id = 0;
	int r;

	if (batch_id != NULL)
		*batch_id = 0;
	if (src == NULL)
		return err_set(err, ERR_INVALID, "no source for the lines");
	if ((r = queue_check_batch_new(b, err)) != 0)
		return r;
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_batch_insert(st, b, src, ctx, &id, err)) != 0) {
		store_rollback(st);
		return r;
	}
	if ((r = store_commit(st, err)) != 0)
		return r;
	if (batch_id != NULL)
		*batch_id = id;
	return 0;
}

int
queue_intake(struct store *st, const struct queue_bundle *bundle,
    const struct queue_batch_new *b, queue_line_source src, void *ctx,
    int64_t *bundle_id, int64_t *batch_id, err_t *err)
{
	struct queue_batch_new nb = *b;
	int64_t bid = 0, id = 0;
	int r;

	if (bundle_id != NULL)
		*bundle_id = 0;
	if (batch_id != NULL)
		*batch_id = 0;
	if (bundle->status != QUEUE_BUNDLE_ACCEPTED)
		return err_set(err, ERR_INVALID, "only an accepted bundle "
		    "makes a batch");
	if (src == NULL)
		return err_set(err, ERR_INVALID, "no source for the lines");
	nb.bundle_id = 1;	/* checked for shape only; set below */
	if ((r = queue_check_batch_new(&nb, err)) != 0)
		return r;
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_bundle_add(st, bundle, &bid, err)) != 0)
		goto fail;
	nb.bundle_id = bid;
	if ((r = queue_batch_insert(st, &nb, src, ctx, &id, err)) != 0)
		goto fail;
	if ((r = store_commit(st, err)) != 0)
		return r;
	if (bundle_id != NULL)
		*bundle_id = bid;
	if (batch_id != NULL)
		*batch_id = id;
	return 0;
fail:
	store_rollback(st);
	return r;
}

#define QUEUE_BATCH_COLUMNS "b.id, b.bundle_id, u.sha256, " \
	"u.signer_sha256, u.person_id, b.name, b.description, b.profile, " \
	"b.ca_id, b.mode, b.line_count, b.output_format, b.chain, " \
	"b.results_log, b.p12_encryption, b.recipient_der, " \
	"b.secret_wrapped, b.data_key_wrapped, b.quorum, b.state, b.reason, " \
	"b.created, b.updated, b.key_types " \
	"FROM batch b JOIN bundle u ON u.id = b.bundle_id"

static const char *
queue_col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static const unsigned char *
queue_col_blob(sqlite3_stmt *s, int i, size_t *len)
{
	const unsigned char *p = sqlite3_column_blob(s, i);

	*len = p != NULL ? (size_t)sqlite3_column_bytes(s, i) : 0;
	return p;
}

/* Fills b from a row of QUEUE_BATCH_COLUMNS, pointing into SQLite memory. */
static int
queue_batch_row(sqlite3_stmt *s, struct queue_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->id = sqlite3_column_int64(s, 0);
	b->bundle_id = sqlite3_column_int64(s, 1);
	b->bundle_sha256 = queue_col_text(s, 2);
	b->signer_sha256 = queue_col_text(s, 3);
	b->requester_id = sqlite3_column_int64(s, 4);
	b->name = queue_col_text(s, 5);
	b->description = queue_col_text(s, 6);
	b->profile = queue_col_text(s, 7);
	b->ca_id = sqlite3_column_int64(s, 8);
	b->mode = queue_col_text(s, 9);
	b->line_count = sqlite3_column_int64(s, 10);
	b->output_format = queue_col_text(s, 11);
	b->chain = queue_col_text(s, 12);
	b->results_log = queue_col_text(s, 13);
	b->p12_encryption = queue_col_text(s, 14);
	b->recipient_der = queue_col_blob(s, 15, &b->recipient_der_len);
	b->secret_wrapped = queue_col_blob(s, 16, &b->secret_wrapped_len);
	b->data_key_wrapped = queue_col_blob(s, 17, &b->data_key_wrapped_len);
	b->quorum = (unsigned)sqlite3_column_int(s, 18);
	if (queue_state_parse(queue_col_text(s, 19), &b->state) != 0)
		return ERR_NOMEM;
	b->reason = queue_col_text(s, 20);
	b->created = sqlite3_column_int64(s, 21);
	b->updated = sqlite3_column_int64(s, 22);
	b->key_types = queue_col_text(s, 23);
	/* NOT NULL columns come back NULL only when SQLite ran out of memory. */
	if (b->bundle_sha256 == NULL || b->signer_sha256 == NULL ||
	    b->name == NULL || b->description == NULL || b->profile == NULL ||
	    b->mode == NULL || b->output_format == NULL || b->chain == NULL ||
	    b->results_log == NULL)
		return ERR_NOMEM;
	return 0;
}

static size_t
queue_text_size(const char *t)
{
	return t != NULL ? strlen(t) + 1 : 0;
}

/* Copies n bytes of p to *pos (advancing it); NULL stays NULL. */
static const void *
queue_keep(const void *p, size_t n, unsigned char **pos)
{
	unsigned char *dst = *pos;

	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(dst, p, n);
	*pos += n;
	return dst;
}

#define QUEUE_KEEP_TEXT(f, pos) \
	((f) = queue_keep((f), queue_text_size(f), (pos)))

static int
queue_batch_counts(struct store *st, struct queue_batch *b, err_t *err)
{
	sqlite3_stmt *s;
	enum queue_line_status ls = QUEUE_LINE_PENDING;
	int rc, r;

	if ((r = queue_sql_prepare_id(st, "SELECT status, count(*) FROM line "
	    "WHERE batch_id = ? GROUP BY status", b->id, &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(s, 1);

		if (queue_line_status_parse(queue_col_text(s, 0), &ls) != 0)
			continue;
		switch (ls) {
		case QUEUE_LINE_PENDING:
			b->pending = n;
			break;
		case QUEUE_LINE_RESERVED:
			b->reserved = n;
			break;
		case QUEUE_LINE_ISSUED:
			b->issued = n;
			break;
		case QUEUE_LINE_FAILED:
			b->failed = n;
			break;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "count lines", err);
	sqlite3_finalize(s);
	return r;
}

int
queue_batch_get(struct store *st, int64_t id, struct queue_batch *out,
    err_t *err)
{
	sqlite3_stmt *s;
	unsigned char *mem, *pos;
	size_t total;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = queue_row_id(st, "SELECT " QUEUE_BATCH_COLUMNS
	    " WHERE b.id = ?", id, 1, "read batch", &s, err)) != 0)
		return r;
	if (queue_batch_row(s, out) != 0) {
		sqlite3_finalize(s);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	total = queue_text_size(out->bundle_sha256) +
	    queue_text_size(out->signer_sha256) + queue_text_size(out->name) +
	    queue_text_size(out->description) + queue_text_size(out->profile) +
	    queue_text_size(out->mode) + queue_text_size(out->output_format) +
	    queue_text_size(out->chain) + queue_text_size(out->results_log) +
	    queue_text_size(out->p12_encryption) +
	    queue_text_size(out->reason) + queue_text_size(out->key_types) +
	    out->recipient_der_len +
	    out->secret_wrapped_len + out->data_key_wrapped_len;
	if ((mem = malloc(total)) == NULL) {
		sqlite3_finalize(s);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pos = mem;
	QUEUE_KEEP_TEXT(out->bundle_sha256, &pos);
	QUEUE_KEEP_TEXT(out->signer_sha256, &pos);
	QUEUE_KEEP_TEXT(out->name, &pos);
	QUEUE_KEEP_TEXT(out->description, &pos);
	QUEUE_KEEP_TEXT(out->profile, &pos);
	QUEUE_KEEP_TEXT(out->mode, &pos);
	QUEUE_KEEP_TEXT(out->output_format, &pos);
	QUEUE_KEEP_TEXT(out->chain, &pos);
	QUEUE_KEEP_TEXT(out->results_log, &pos);
	QUEUE_KEEP_TEXT(out->p12_encryption, &pos);
	QUEUE_KEEP_TEXT(out->reason, &pos);
	QUEUE_KEEP_TEXT(out->key_types, &pos);
	out->recipient_der = queue_keep(out->recipient_der,
	    out->recipient_der_len, &pos);
	out->secret_wrapped = queue_keep(out->secret_wrapped,
	    out->secret_wrapped_len, &pos);
	out->data_key_wrapped = queue_keep(out->data_key_wrapped,
	    out->data_key_wrapped_len, &pos);
	out->mem = mem;
	sqlite3_finalize(s);
	if ((r = queue_batch_counts(st, out, err)) != 0) {
		queue_batch_free(out);
		return r;
	}
	return 0;
}

void
queue_batch_free(struct queue_batch *b)
{
	if (b == NULL)
		return;
	/* Wrapped secrets are not clear text, but leave nothing behind. */
	if (b->mem != NULL && b->secret_wrapped != NULL)
		OPENSSL_cleanse((void *)b->secret_wrapped,
		    b->secret_wrapped_len);
	if (b->mem != NULL && b->data_key_wrapped != NULL)
		OPENSSL_cleanse((void *)b->data_key_wrapped,
		    b->data_key_wrapped_len);
	free(b->mem);
	memset(b, 0, sizeof(*b));
}

int
queue_batch_list(struct store *st, const enum queue_batch_state *state,
    queue_batch_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *s;
	struct queue_batch b;
	int rc = SQLITE_OK, r;

	if (state != NULL && queue_state_name(*state) == NULL)
		return err_set(err, ERR_INVALID, "no such batch state");
	if ((r = queue_sql_prepare(st, "SELECT " QUEUE_BATCH_COLUMNS
	    " WHERE ?1 IS NULL OR b.state = ?1 ORDER BY b.id", &s, err)) != 0)
		return r;
	store_bind_text(s, 1, state != NULL ? queue_state_name(*state) : NULL,
	    &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (queue_batch_row(s, &b) != 0) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &b)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list batches", err);
	sqlite3_finalize(s);
	return r;
}

/* 1 when the lifecycle allows from -> to (issue 3). */
static int
queue_transition_allowed(enum queue_batch_state from,
    enum queue_batch_state to)
{
	switch (from) {
	case QUEUE_PENDING_APPROVAL:
		return to == QUEUE_APPROVED || to == QUEUE_REJECTED;
	case QUEUE_APPROVED:
		return to == QUEUE_ISSUING;
	case QUEUE_ISSUING:
		return to == QUEUE_COMPLETED ||
		    to == QUEUE_PARTIALLY_COMPLETED || to == QUEUE_FAILED;
	default:
		return 0;
	}
}

/* The batch's current state, inside the caller's transaction. */
static int
queue_batch_state_of(struct store *st, int64_t id,
    enum queue_batch_state *state, err_t *err)
{
	sqlite3_stmt *s;
	int r;

	if ((r = queue_row_id(st, "SELECT state FROM batch WHERE id = ?", id,
	    1, "read batch state", &s, err)) != 0)
		return r;
	r = queue_state_parse(queue_col_text(s, 0), state) == 0 ? 0 :
	    err_set(err, ERR_NOMEM, "out of memory");
	sqlite3_finalize(s);
	return r;
}

/*
 * The database's floor under the approval tally: distinct officers (by
 * person when known) other than the requester, approving over the
 * bundle's digest, at least the batch's quorum; no such rejection.
 */
static int
queue_quorum_holds(struct store *st, int64_t id, err_t *err)
{
	static const char sql[] =
	    "SELECT b.quorum,"
	    " (SELECT count(DISTINCT coalesce('p' || a.person_id,"
	    "  a.officer_sha256)) FROM approval a WHERE a.kind = 'batch' AND"
	    "  a.object = b.id AND a.decision = 'approve' AND"
	    "  a.digest = u.sha256 AND a.officer_sha256 IS NOT u.signer_sha256"
	    "  AND (a.person_id IS NULL OR u.person_id IS NULL OR"
	    "  a.person_id <> u.person_id)),"
	    " (SELECT count(*) FROM approval a WHERE a.kind = 'batch' AND"
	    "  a.object = b.id AND a.decision = 'reject' AND"
	    "  a.digest = u.sha256 AND a.officer_sha256 IS NOT u.signer_sha256"
	    "  AND (a.person_id IS NULL OR u.person_id IS NULL OR"
	    "  a.person_id <> u.person_id))"
	    " FROM batch b JOIN bundle u ON u.id = b.bundle_id WHERE b.id = ?";
	sqlite3_stmt *s;
	int64_t quorum, approvals, rejections;
	int r;

	if ((r = queue_row_id(st, sql, id, 0, "count approvals", &s,
	    err)) != 0)
		return r;
	quorum = sqlite3_column_int64(s, 0);
	approvals = sqlite3_column_int64(s, 1);
	rejections = sqlite3_column_int64(s, 2);
	sqlite3_finalize(s);
	if (rejections > 0)
		return err_set(err, ERR_POLICY, "batch #%lld was rejected by an "
		    "officer; it cannot be approved", (long long)id);
	if (approvals < quorum)
		return err_set(err, ERR_POLICY, "batch #%lld has %lld of the "
		    "%lld approvals it needs (distinct officers, not the "
		    "requester, over the bundle's digest)", (long long)id,
		    (long long)approvals, (long long)quorum);
	return 0;
}

/* Moves the batch inside the caller's transaction; checks done by caller. */
static int
queue_set_state(struct store *st, int64_t id, enum queue_batch_state from,
    enum queue_batch_state to, const char *reason, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "UPDATE batch SET state = ?, reason = ?, "
	    "updated = max(updated, ?) WHERE id = ? AND state = ?", &s,
	    err)) != 0)
		return r;
	store_bind_text(s, 1, queue_state_name(to), &rc);
	store_bind_text(s, 2, reason, &rc);
	store_bind_int(s, 3, queue_now(), &rc);
	store_bind_int(s, 4, id, &rc);
	store_bind_text(s, 5, queue_state_name(from), &rc);
	r = queue_sql_run(st, s, rc, "change batch state", err);
	sqlite3_finalize(s);
	if (r == 0 && sqlite3_changes(store_db(st)) != 1)
		r = err_set(err, ERR_INTERNAL, "batch #%lld left state '%s' "
		    "while it was being changed", (long long)id,
		    queue_state_name(from));
	return r;
}

int
queue_batch_transition(struct store *st, int64_t id,
    enum queue_batch_state from, enum queue_batch_state to,
    const char *reason, err_t *err)
{
	enum queue_batch_state now = QUEUE_STATE_COUNT;
	int needs_reason, r;

	if (queue_state_name(from) == NULL || queue_state_name(to) == NULL)
		return err_set(err, ERR_INVALID, "no such batch state");
	if (!queue_transition_allowed(from, to))
		return err_set(err, ERR_INVALID, "batch #%lld cannot go from "
		    "'%s' to '%s'", (long long)id, queue_state_name(from),
		    queue_state_name(to));
	needs_reason = to == QUEUE_REJECTED || to == QUEUE_FAILED;
	if (needs_reason && (reason == NULL || *reason == '\0' ||
	    !text_clean(reason)))
		return err_set(err, ERR_INVALID, "batch #%lld: going to '%s' "
		    "needs a reason of printable UTF-8", (long long)id,
		    queue_state_name(to));
	if (!needs_reason && reason != NULL)
		return err_set(err, ERR_INVALID, "batch #%lld: going to '%s' "
		    "takes no reason", (long long)id, queue_state_name(to));
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_batch_state_of(st, id, &now, err)) != 0)
		goto out;
	if (now != from) {
		r = err_set(err, ERR_INVALID, "batch #%lld is '%s', not '%s'; "
		    "it cannot go to '%s'", (long long)id,
		    queue_state_name(now), queue_state_name(from),
		    queue_state_name(to));
		goto out;
	}
	if (to == QUEUE_APPROVED && (r = queue_quorum_holds(st, id, err)) != 0)
		goto out;
	r = queue_set_state(st, id, from, to, reason, err);
out:
	return store_end(st, r, err);
}

/* --- approvals ----------------------------------------------------------- */

int
queue_approval_add(struct store *st, const struct queue_approval *a,
    int64_t *id_out, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_check_choice("approval kind", a->kind, queue_kinds,
	    err)) != 0 ||
	    (r = queue_check_choice("decision", a->decision, queue_decisions,
	    err)) != 0)
		return r;
	if (a->officer_sha256 == NULL || !text_is_lower_hex(a->officer_sha256,
	    64) || a->digest == NULL || !text_is_lower_hex(a->digest, 64))
		return err_set(err, ERR_INVALID, "an approval names its officer "
		    "and digest as 64 lower-case hex digits");
	if (a->statement == NULL || a->statement_len == 0 ||
	    a->signature == NULL || a->signature_len == 0)
		return err_set(err, ERR_INVALID, "an approval keeps its signed "
		    "statement and signature");
	if ((r = queue_sql_prepare(st, "INSERT INTO approval (kind, object, "
	    "officer_sha256, person_id, decision, reason, digest, statement, "
	    "signature, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &s,
	    err)) != 0)
		return r;
	store_bind_text(s, 1, a->kind, &rc);
	store_bind_int(s, 2, a->object, &rc);
	store_bind_text(s, 3, a->officer_sha256, &rc);
	store_bind_id(s, 4, a->person_id, &rc);
	store_bind_text(s, 5, a->decision, &rc);
	store_bind_text(s, 6, a->reason, &rc);
	store_bind_text(s, 7, a->digest, &rc);
	store_bind_blob(s, 8, a->statement, a->statement_len, &rc);
	store_bind_blob(s, 9, a->signature, a->signature_len, &rc);
	store_bind_int(s, 10, a->at, &rc);
	r = queue_insert(st, s, rc, "record approval", id_out, err);
	if (r == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "officer %.16s... already "
		    "decided on %s #%lld; a decision is final once given",
		    a->officer_sha256, a->kind, (long long)a->object);
	return r;
}

int
queue_approvals(struct store *st, const char *kind, int64_t object,
    queue_approval_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *s;
	struct queue_approval a;
	int rc = SQLITE_OK, r;

	if ((r = queue_check_choice("approval kind", kind, queue_kinds,
	    err)) != 0)
		return r;
	if ((r = queue_sql_prepare(st, "SELECT id, kind, object, officer_sha256, "
	    "person_id, decision, reason, digest, statement, signature, at "
	    "FROM approval WHERE kind = ? AND object = ? ORDER BY id", &s,
	    err)) != 0)
		return r;
	store_bind_text(s, 1, kind, &rc);
	store_bind_int(s, 2, object, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		a.id = sqlite3_column_int64(s, 0);
		a.kind = queue_col_text(s, 1);
		a.object = sqlite3_column_int64(s, 2);
		a.officer_sha256 = queue_col_text(s, 3);
		a.person_id = sqlite3_column_int64(s, 4);
		a.decision = queue_col_text(s, 5);
		a.reason = queue_col_text(s, 6);
		a.digest = queue_col_text(s, 7);
		a.statement = queue_col_blob(s, 8, &a.statement_len);
		a.signature = queue_col_blob(s, 9, &a.signature_len);
		a.at = sqlite3_column_int64(s, 10);
		if (a.kind == NULL || a.officer_sha256 == NULL ||
		    a.decision == NULL || a.digest == NULL ||
		    a.statement == NULL || a.signature == NULL) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &a)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list approvals", err);
	sqlite3_finalize(s);
	return r;
}

/* --- lines --------------------------------------------------------------- */

#define QUEUE_LINE_COLUMNS "batch_id, line, name, mac, request_der, " \
	"status, message, serial, tbs, key_enc, cert_der, sha256, fields, " \
	"note FROM line"

static int
queue_line_row(sqlite3_stmt *s, struct queue_line *l)
{
	memset(l, 0, sizeof(*l));
	l->batch_id = sqlite3_column_int64(s, 0);
	l->line = sqlite3_column_int64(s, 1);
	l->name = queue_col_text(s, 2);
	l->mac = queue_col_text(s, 3);
	l->request_der = queue_col_blob(s, 4, &l->request_der_len);
	if (queue_line_status_parse(queue_col_text(s, 5), &l->status) != 0)
		return ERR_NOMEM;
	l->message = queue_col_text(s, 6);
	l->serial = queue_col_text(s, 7);
	l->tbs = queue_col_blob(s, 8, &l->tbs_len);
	l->key_enc = queue_col_blob(s, 9, &l->key_enc_len);
	l->cert_der = queue_col_blob(s, 10, &l->cert_der_len);
	l->sha256 = queue_col_text(s, 11);
	l->fields = queue_col_text(s, 12);
	l->note = queue_col_text(s, 13);
	return l->name == NULL ? ERR_NOMEM : 0;
}

/* Walks the lines a prepared, bound statement selects. Finalizes s. */
static int
queue_walk_lines(struct store *st, sqlite3_stmt *s, int bindrc,
    queue_line_cb cb, void *ctx, err_t *err)
{
	struct queue_line l;
	int rc, r;

	if (bindrc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, bindrc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (queue_line_row(s, &l) != 0) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &l)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "read lines", err);
	sqlite3_finalize(s);
	return r;
}

static int64_t
queue_limit(size_t max)
{
	return max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
}

int
queue_lines(struct store *st, int64_t batch, int64_t from_line, size_t max,
    queue_line_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "SELECT " QUEUE_LINE_COLUMNS " WHERE "
	    "batch_id = ? AND line >= ? ORDER BY line LIMIT ?", &s, err)) != 0)
		return r;
	store_bind_int(s, 1, batch, &rc);
	store_bind_int(s, 2, from_line, &rc);
	store_bind_int(s, 3, queue_limit(max), &rc);
	return queue_walk_lines(st, s, rc, cb, ctx, err);
}

int
queue_next_pending(struct store *st, int64_t batch, size_t max,
    queue_line_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "SELECT " QUEUE_LINE_COLUMNS " WHERE "
	    "batch_id = ? AND status = 'pending' ORDER BY line LIMIT ?", &s,
	    err)) != 0)
		return r;
	store_bind_int(s, 1, batch, &rc);
	store_bind_int(s, 2, queue_limit(max), &rc);
	return queue_walk_lines(st, s, rc, cb, ctx, err);
}

int
queue_reserved(struct store *st, int64_t batch, queue_line_cb cb, void *ctx,
    err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "SELECT " QUEUE_LINE_COLUMNS " WHERE "
	    "batch_id = ? AND status = 'reserved' ORDER BY line", &s,
	    err)) != 0)
		return r;
	store_bind_int(s, 1, batch, &rc);
	return queue_walk_lines(st, s, rc, cb, ctx, err);
}

int
queue_pending_count(struct store *st, int64_t batch, int64_t *n, err_t *err)
{
	*n = 0;
	return queue_count(st, "SELECT count(*) FROM line WHERE batch_id = ? "
	    "AND status = 'pending'", batch, NULL, n, err);
}

/*
 * The batch's CA and whether it has a data key, inside the caller's
 * transaction, after checking that it is issuing: lines are signed only
 * then.
 */
static int
queue_issuing(struct store *st, int64_t batch, const char *doing,
    int64_t *ca_id, int *has_data_key, err_t *err)
{
	sqlite3_stmt *s;
	const char *state;
	int r;

	if ((r = queue_row_id(st, "SELECT state, ca_id, data_key_wrapped IS "
	    "NOT NULL FROM batch WHERE id = ?", batch, 1, "read batch", &s,
	    err)) != 0)
		return r;
	state = queue_col_text(s, 0);
	if (state == NULL || strcmp(state, "issuing") != 0) {
		r = err_set(err, ERR_INVALID, "batch #%lld is '%s': lines are "
		    "%s only while it is issuing", (long long)batch,
		    state ? state : "?", doing);
		sqlite3_finalize(s);
		return r;
	}
	if (ca_id != NULL)
		*ca_id = sqlite3_column_int64(s, 1);
	if (has_data_key != NULL)
		*has_data_key = sqlite3_column_int(s, 2);
	sqlite3_finalize(s);
	return 0;
}

/*
 * The serial inside a DER TBSCertificate, spelled as certinfo_serial_hex
 * spells serials, so that what is reserved is what gets signed.
 */
static int
queue_tbs_serial(const unsigned char *tbs, size_t len, char *out,
    size_t outsz)
{
	struct der_tlv el, algid;
	char hex[2 * 21 + 1];
	const char *h;
	size_t n;

	if (der_tbs_head(tbs, len, &el, &algid, NULL) != 0)
		return ERR_INVALID;
	/* A positive INTEGER of at most 20 octets (21 with a sign octet). */
	if (el.content_len > 21 || (el.content[0] & 0x80) != 0)
		return ERR_INVALID;
	buf_hex(el.content, el.content_len, hex, sizeof(hex));
	for (h = hex; h[0] == '0' && h[1] != '\0'; h++)
		;
	n = strlen(h);
	if (strcmp(h, "0") == 0 || n >= outsz)
		return ERR_INVALID;
	memcpy(out, h, n + 1);
	return 0;
}

/* Checks a reservation on its own, before any SQL. */
static int
queue_check_reservation(const struct queue_reservation *r, err_t *err)
{
	char in_tbs[QUEUE_SERIAL_HEX_MAX + 1];
	size_t n;

	if (r->serial == NULL || (n = strlen(r->serial)) == 0 ||
	    n > QUEUE_SERIAL_HEX_MAX || !text_is_lower_hex(r->serial, n) ||
	    r->serial[0] == '0')
		return err_set(err, ERR_INVALID, "line %lld: a serial is 1 to "
		    "40 lower-case hex digits without a leading zero",
		    (long long)r->line);
	if (r->tbs == NULL || r->tbs_len == 0 || r->tbs_len > QUEUE_DER_MAX)
		return err_set(err, ERR_INVALID, "line %lld: no TBS, or one "
		    "larger than %u bytes", (long long)r->line, QUEUE_DER_MAX);
	if (queue_tbs_serial(r->tbs, r->tbs_len, in_tbs, sizeof(in_tbs)) != 0)
		return err_set(err, ERR_INVALID, "line %lld: the TBS is not a "
		    "DER TBSCertificate with a positive serial of at most 20 "
		    "octets", (long long)r->line);
	if (strcmp(in_tbs, r->serial) != 0)
		return err_set(err, ERR_INVALID, "line %lld: serial %s is "
		    "reserved but the TBS carries serial %s", (long long)r->line,
		    r->serial, in_tbs);
	if (r->key_enc != NULL && r->key_enc_len == 0)
		return err_set(err, ERR_INVALID, "line %lld: empty encrypted "
		    "key", (long long)r->line);
	return 0;
}

/*
 * Binds (batch, line) to s, which selects a line's status first, and steps
 * to the line's row; the caller reads the row, then resets s.
 */
static int
queue_line_step(struct store *st, sqlite3_stmt *s, int64_t batch,
    int64_t line, enum queue_line_status *status, err_t *err)
{
	int rc = SQLITE_OK;

	store_bind_int(s, 1, batch, &rc);
	store_bind_int(s, 2, line, &rc);
	if (rc != SQLITE_OK)
		return queue_sql_binderr(st, rc, err);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_set(err, ERR_NOTFOUND, "batch #%lld has no line "
		    "%lld", (long long)batch, (long long)line);
	if (rc != SQLITE_ROW)
		return queue_sql_err(st, "read line", err);
	if (queue_line_status_parse(queue_col_text(s, 0), status) != 0)
		return err_set(err, ERR_NOMEM, "out of memory");
	return 0;
}

/* Reads a line's status (and whether it has a request) in a transaction. */
static int
queue_line_status_of(struct store *st, sqlite3_stmt *s, int64_t batch,
    int64_t line, enum queue_line_status *status, int *has_request,
    err_t *err)
{
	int r = queue_line_step(st, s, batch, line, status, err);

	if (r == 0 && has_request != NULL)
		*has_request = sqlite3_column_int(s, 1);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}

int
queue_reserve(struct store *st, int64_t batch,
    const struct queue_reservation *r, size_t n, err_t *err)
{
	sqlite3_stmt *sel = NULL, *used = NULL, *ins = NULL, *upd = NULL;
	enum queue_line_status ls = QUEUE_LINE_PENDING;
	int64_t ca_id = 0, seen;
	size_t i;
	int has_key = 0, has_req = 0, rc, ret;

	if (r == NULL || n == 0 || n > QUEUE_MAX_GROUP)
		return err_set(err, ERR_INVALID, "reserve 1 to %d lines at a "
		    "time", QUEUE_MAX_GROUP);
	for (i = 0; i < n; i++)
		if ((ret = queue_check_reservation(&r[i], err)) != 0)
			return ret;
	if ((ret = store_begin(st, err)) != 0)
		return ret;
	if ((ret = queue_issuing(st, batch, "reserved", &ca_id, &has_key,
	    err)) != 0)
		goto out;
	if ((ret = queue_sql_prepare(st, "SELECT status, request_der IS NOT NULL "
	    "FROM line WHERE batch_id = ? AND line = ?", &sel, err)) != 0 ||
	    (ret = queue_sql_prepare(st, "SELECT (SELECT count(*) FROM certificate "
	    "WHERE ca_id = ?1 AND serial = ?2) + (SELECT count(*) FROM "
	    "serial_reservation WHERE ca_id = ?1 AND serial = ?2)", &used,
	    err)) != 0 ||
	    (ret = queue_sql_prepare(st, "INSERT INTO serial_reservation (ca_id, "
	    "serial, batch_id, line) VALUES (?, ?, ?, ?)", &ins, err)) != 0 ||
	    (ret = queue_sql_prepare(st, "UPDATE line SET status = 'reserved', "
	    "serial = ?, tbs = ?, key_enc = ?, note = ? WHERE batch_id = ? AND line = ? "
	    "AND status = 'pending'", &upd, err)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		const struct queue_reservation *v = &r[i];

		if ((ret = queue_line_status_of(st, sel, batch, v->line, &ls,
		    &has_req, err)) != 0)
			goto out;
		if (ls != QUEUE_LINE_PENDING) {
			ret = err_set(err, ERR_INVALID, "batch #%lld line %lld "
			    "is %s, not pending", (long long)batch,
			    (long long)v->line, queue_line_status_name(ls));
			goto out;
		}
		if (has_req && v->key_enc != NULL) {
			ret = err_set(err, ERR_INVALID, "batch #%lld line %lld "
			    "carries a request: the appliance makes no key for "
			    "it", (long long)batch, (long long)v->line);
			goto out;
		}
		if (!has_req && (v->key_enc == NULL || !has_key)) {
			ret = err_set(err, ERR_INVALID, "batch #%lld line %lld: "
			    "the key the appliance made must be stored, "
			    "encrypted with the batch's data key, before it is "
			    "certified", (long long)batch, (long long)v->line);
			goto out;
		}
		/* Checked first so the caller gets ERR_EXISTS and the serial. */
		rc = SQLITE_OK;
		store_bind_int(used, 1, ca_id, &rc);
		store_bind_text(used, 2, v->serial, &rc);
		if (rc != SQLITE_OK) {
			ret = queue_sql_binderr(st, rc, err);
			goto out;
		}
		if (sqlite3_step(used) != SQLITE_ROW) {
			ret = queue_sql_err(st, "check serial", err);
			goto out;
		}
		seen = sqlite3_column_int64(used, 0);
		sqlite3_reset(used);
		sqlite3_clear_bindings(used);
		if (seen != 0) {
			ret = err_set(err, ERR_EXISTS, "serial %s is already "
			    "used by the batch's CA: draw another",
			    v->serial);
			goto out;
		}
		rc = SQLITE_OK;
		store_bind_int(ins, 1, ca_id, &rc);
		store_bind_text(ins, 2, v->serial, &rc);
		store_bind_int(ins, 3, batch, &rc);
		store_bind_int(ins, 4, v->line, &rc);
		if ((ret = queue_sql_run(st, ins, rc, "reserve serial",
		    err)) != 0) {
			if (ret == ERR_EXISTS)
				ret = err_set(err, ERR_EXISTS, "serial %s is "
				    "already used by the batch's CA: draw "
				    "another", v->serial);
			goto out;
		}
		rc = SQLITE_OK;
		store_bind_text(upd, 1, v->serial, &rc);
		store_bind_blob(upd, 2, v->tbs, v->tbs_len, &rc);
		store_bind_blob(upd, 3, v->key_enc, v->key_enc_len, &rc);
		store_bind_text(upd, 4, v->note, &rc);
		store_bind_int(upd, 5, batch, &rc);
		store_bind_int(upd, 6, v->line, &rc);
		if ((ret = queue_sql_run(st, upd, rc, "reserve line",
		    err)) != 0) {
			err_prefix(err, "line %lld", (long long)v->line);
			goto out;
		}
		if (sqlite3_changes(store_db(st)) != 1) {
			ret = err_set(err, ERR_INVALID, "batch #%lld line %lld "
			    "appears twice in one reservation",
			    (long long)batch, (long long)v->line);
			goto out;
		}
	}
	ret = 0;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(used);
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	return store_end(st, ret, err);
}

/* The batch CA's public key, for checking what the signer returns. */
static int
queue_ca_key(struct store *st, int64_t ca_id, EVP_PKEY **out, err_t *err)
{
	sqlite3_stmt *s;
	const unsigned char *der;
	size_t len;
	X509 *x = NULL;
	int r;

	*out = NULL;
	if ((r = queue_row_id(st, "SELECT cert_der FROM ca WHERE id = ?",
	    ca_id, 0, "read the batch's CA", &s, err)) != 0)
		return r;
	der = queue_col_blob(s, 0, &len);
	r = der == NULL ? err_set(err, ERR_NOMEM, "out of memory") :
	    pki_parse_cert(der, len, &x, err);
	sqlite3_finalize(s);
	if (r != 0) {
		err_prefix(err, "CA #%lld", (long long)ca_id);
		return r;
	}
	*out = X509_get_pubkey(x);
	X509_free(x);
	if (*out == NULL)
		return err_set_ossl(err, ERR_CRYPTO, "CA #%lld: no public key",
		    (long long)ca_id);
	return 0;
}

/* What queue_issue records for one certificate, checked. */
struct queue_cert_facts {
	char subject[2048];
	char sha256[65];
	int64_t not_before, not_after;
};

/*
 * Checks a returned certificate against its reservation: one DER
 * SEQUENCE whose TBS is the reserved one byte for byte, with a signature
 * that verifies under the CA's key; and reads what the certificate table
 * records. The certificate is walked, not decoded (pki/sigcheck.h): this
 * runs for every certificate, on the one thread that writes the store.
 */
static int
queue_check_cert(const struct queue_issued *v, const unsigned char *tbs,
    size_t tbs_len, struct sigcheck *ca, struct queue_cert_facts *f,
    err_t *err)
{
	unsigned char md[32];
	const unsigned char *signed_tbs;
	size_t signed_len;
	int r;

	if (v->cert_der == NULL || v->cert_der_len == 0 ||
	    v->cert_der_len > QUEUE_DER_MAX)
		return err_set(err, ERR_INVALID, "line %lld: no certificate, or "
		    "one larger than %u bytes", (long long)v->line,
		    QUEUE_DER_MAX);
	if ((r = sigcheck_der(ca, v->cert_der, v->cert_der_len, &signed_tbs,
	    &signed_len, err)) != 0) {
		err_prefix(err, "line %lld: the certificate returned by the "
		    "signer is refused", (long long)v->line);
		return r;
	}
	if (signed_len != tbs_len || memcmp(signed_tbs, tbs, tbs_len) != 0) {
		size_t k;

		for (k = 0; k < signed_len && k < tbs_len &&
		    signed_tbs[k] == tbs[k]; k++)
			;
		return err_set(err, ERR_INVALID, "line %lld: the certificate's "
		    "TBS differs from the TBS reserved for the line (first at "
		    "byte %zu): it is not what was reserved and is refused",
		    (long long)v->line, k);
	}
	if ((r = certinfo_tbs_facts(tbs, tbs_len, f->subject,
	    sizeof(f->subject), &f->not_before, &f->not_after)) != 0)
		return err_set(err, r, "line %lld: cannot read the "
		    "certificate's subject or validity", (long long)v->line);
	if (EVP_Digest(v->cert_der, v->cert_der_len, md, NULL, EVP_sha256(),
	    NULL) != 1)
		return err_set_ossl(err, ERR_CRYPTO, "SHA-256");
	buf_hex(md, sizeof(md), f->sha256, sizeof(f->sha256));
	return 0;
}

/*
 * "batch=N ca=NAME profile=NAME", the objects every certificate-issued
 * event of the batch shares (names encoded as the audit log wants).
 */
static int
queue_issue_objects(struct store *st, int64_t batch, char *out, size_t outsz,
    err_t *err)
{
	char ca[AUDIT_VALUE_MAX], prof[AUDIT_VALUE_MAX];
	sqlite3_stmt *s;
	int r;

	if ((r = queue_row_id(st, "SELECT c.name, b.profile FROM batch b JOIN "
	    "ca c ON c.id = b.ca_id WHERE b.id = ?", batch, 1, "read batch",
	    &s, err)) != 0)
		return r;
	snprintf(out, outsz, "batch=%lld ca=%s profile=%s", (long long)batch,
	    audit_objects_value(queue_col_text(s, 0), ca, sizeof(ca)),
	    audit_objects_value(queue_col_text(s, 1), prof, sizeof(prof)));
	sqlite3_finalize(s);
	return 0;
}

/* One certificate-issued event, inside the group's transaction. */
static int
queue_issue_event(event_fn ev, void *ev_ctx, const char *common,
    int64_t line, const char *serial, const struct queue_cert_facts *f,
    err_t *err)
{
	char objects[2 * AUDIT_VALUE_MAX + 200], details[2200];
	struct event e;
	int r;

	snprintf(objects, sizeof(objects), "%s line=%lld serial=%s", common,
	    (long long)line, serial);
	snprintf(details, sizeof(details), "%s, sha256 %s", f->subject,
	    f->sha256);
	memset(&e, 0, sizeof(e));
	e.action = "certificate-issued";
	e.outcome = EVENT_OK;
	e.objects = objects;
	e.details = details;
	e.bulk = 1;
	if ((r = ev(ev_ctx, &e)) != 0)
		return err_set(err, r, "line %lld: the audit log refused the "
		    "certificate's record", (long long)line);
	return 0;
}

int
queue_issue(struct store *st, int64_t batch, const struct queue_issued *v,
    size_t n, err_t *err)
{
	return queue_issue_ev(st, batch, v, n, NULL, NULL, err);
}

int
queue_issue_ev(struct store *st, int64_t batch, const struct queue_issued *v,
    size_t n, event_fn ev, void *ev_ctx, err_t *err)
{
	sqlite3_stmt *sel = NULL, *ins = NULL, *upd = NULL;
	struct queue_cert_facts *f = NULL;
	struct sigcheck *ca = NULL;
	EVP_PKEY *ca_pub = NULL;
	enum queue_line_status ls = QUEUE_LINE_PENDING;
	const unsigned char *tbs;
	const char *serial;
	char serial_copy[64], common[2 * AUDIT_VALUE_MAX + 64];
	size_t tbs_len, i;
	int64_t ca_id = 0, now = queue_now();
	int rc, ret;

	if (v == NULL || n == 0 || n > QUEUE_MAX_GROUP)
		return err_set(err, ERR_INVALID, "issue 1 to %d certificates at "
		    "a time", QUEUE_MAX_GROUP);
	if ((f = malloc(sizeof(*f))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((ret = store_begin(st, err)) != 0) {
		free(f);
		return ret;
	}
	if ((ret = queue_issuing(st, batch, "issued", &ca_id, NULL,
	    err)) != 0 ||
	    (ret = queue_ca_key(st, ca_id, &ca_pub, err)) != 0 ||
	    (ret = sigcheck_new(ca_pub, &ca, err)) != 0 ||
	    (ev != NULL && (ret = queue_issue_objects(st, batch, common,
	    sizeof(common), err)) != 0))
		goto out;
	if ((ret = queue_sql_prepare(st, "SELECT status, serial, tbs FROM line "
	    "WHERE batch_id = ? AND line = ?", &sel, err)) != 0 ||
	    (ret = queue_sql_prepare(st, "INSERT INTO certificate (serial, ca_id, "
	    "kind, subject, sha256, not_before, not_after, der, status, "
	    "created, batch_id, line) VALUES (?, ?, 'device', ?, ?, ?, ?, ?, "
	    "'valid', ?, ?, ?)", &ins, err)) != 0 ||
	    (ret = queue_sql_prepare(st, "UPDATE line SET status = 'issued', "
	    "cert_der = ?, sha256 = ? WHERE batch_id = ? AND line = ? AND "
	    "status = 'reserved'", &upd, err)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((ret = queue_line_step(st, sel, batch, v[i].line, &ls,
		    err)) != 0)
			goto out;
		if (ls != QUEUE_LINE_RESERVED) {
			ret = err_set(err, ls == QUEUE_LINE_ISSUED ? ERR_EXISTS :
			    ERR_INVALID, "batch #%lld line %lld is %s, not "
			    "reserved: no certificate is recorded for it",
			    (long long)batch, (long long)v[i].line,
			    queue_line_status_name(ls));
			goto out;
		}
		serial = queue_col_text(sel, 1);
		tbs = queue_col_blob(sel, 2, &tbs_len);
		if (serial == NULL || tbs == NULL) {
			ret = err_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((ret = queue_check_cert(&v[i], tbs, tbs_len, ca, f,
		    err)) != 0)
			goto out;
		rc = SQLITE_OK;
		store_bind_text(ins, 1, serial, &rc);
		store_bind_int(ins, 2, ca_id, &rc);
		store_bind_text(ins, 3, f->subject, &rc);
		store_bind_text(ins, 4, f->sha256, &rc);
		store_bind_int(ins, 5, f->not_before, &rc);
		store_bind_int(ins, 6, f->not_after, &rc);
		store_bind_blob(ins, 7, v[i].cert_der, v[i].cert_der_len, &rc);
		store_bind_int(ins, 8, now, &rc);
		store_bind_int(ins, 9, batch, &rc);
		store_bind_int(ins, 10, v[i].line, &rc);
		/* sel's row (serial) must outlive this step: reset after. */
		ret = queue_sql_run(st, ins, rc, "record certificate", err);
		snprintf(serial_copy, sizeof(serial_copy), "%s", serial);
		sqlite3_reset(sel);
		sqlite3_clear_bindings(sel);
		if (ret != 0) {
			err_prefix(err, "line %lld", (long long)v[i].line);
			goto out;
		}
		rc = SQLITE_OK;
		store_bind_blob(upd, 1, v[i].cert_der, v[i].cert_der_len, &rc);
		store_bind_text(upd, 2, f->sha256, &rc);
		store_bind_int(upd, 3, batch, &rc);
		store_bind_int(upd, 4, v[i].line, &rc);
		if ((ret = queue_sql_run(st, upd, rc, "mark line issued",
		    err)) != 0) {
			err_prefix(err, "line %lld", (long long)v[i].line);
			goto out;
		}
		if (sqlite3_changes(store_db(st)) != 1) {
			ret = err_set(err, ERR_EXISTS, "batch #%lld line %lld "
			    "appears twice in one group", (long long)batch,
			    (long long)v[i].line);
			goto out;
		}
		if (ev != NULL && (ret = queue_issue_event(ev, ev_ctx, common,
		    v[i].line, serial_copy, f, err)) != 0)
			goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sigcheck_free(ca);
	EVP_PKEY_free(ca_pub);
	free(f);
	return store_end(st, ret, err);
}

int
queue_fail(struct store *st, int64_t batch, int64_t line,
    const char *message, err_t *err)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	enum queue_line_status ls = QUEUE_LINE_PENDING;
	int rc = SQLITE_OK, r;

	if (message == NULL || *message == '\0' || !text_clean(message))
		return err_set(err, ERR_INVALID, "a failed line needs a message "
		    "of printable UTF-8");
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_issuing(st, batch, "failed", NULL, NULL, err)) != 0)
		goto out;
	if ((r = queue_sql_prepare(st, "SELECT status, 0 FROM line WHERE "
	    "batch_id = ? AND line = ?", &sel, err)) != 0 ||
	    (r = queue_line_status_of(st, sel, batch, line, &ls, NULL,
	    err)) != 0)
		goto out;
	if (ls != QUEUE_LINE_PENDING && ls != QUEUE_LINE_RESERVED) {
		r = err_set(err, ERR_INVALID, "batch #%lld line %lld is %s: "
		    "only a pending or reserved line can fail",
		    (long long)batch, (long long)line,
		    queue_line_status_name(ls));
		goto out;
	}
	if ((r = queue_sql_prepare(st, "UPDATE line SET status = 'failed', "
	    "message = ? WHERE batch_id = ? AND line = ?", &upd, err)) != 0)
		goto out;
	store_bind_text(upd, 1, message, &rc);
	store_bind_int(upd, 2, batch, &rc);
	store_bind_int(upd, 3, line, &rc);
	r = queue_sql_run(st, upd, rc, "fail line", err);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return store_end(st, r, err);
}

int
queue_batch_finish(struct store *st, int64_t batch,
    enum queue_batch_state *final, err_t *err)
{
	struct queue_batch b;
	enum queue_batch_state to;
	char reason[128];
	int r;

	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_issuing(st, batch, "finished", NULL, NULL, err)) != 0)
		goto fail;
	memset(&b, 0, sizeof(b));
	b.id = batch;
	if ((r = queue_batch_counts(st, &b, err)) != 0)
		goto fail;
	if (b.pending + b.reserved > 0) {
		r = err_set(err, ERR_INVALID, "batch #%lld still has %lld "
		    "pending and %lld reserved lines", (long long)batch,
		    (long long)b.pending, (long long)b.reserved);
		goto fail;
	}
	if (b.failed == 0)
		to = QUEUE_COMPLETED;
	else if (b.issued > 0)
		to = QUEUE_PARTIALLY_COMPLETED;
	else
		to = QUEUE_FAILED;
	snprintf(reason, sizeof(reason), "none of the %lld lines was issued",
	    (long long)b.failed);
	if ((r = queue_set_state(st, batch, QUEUE_ISSUING, to,
	    to == QUEUE_FAILED ? reason : NULL, err)) != 0)
		goto fail;
	if ((r = store_commit(st, err)) != 0)
		return r;
	if (final != NULL)
		*final = to;
	return 0;
fail:
	store_rollback(st);
	return r;
}
