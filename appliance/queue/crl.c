/*
 * crl.c: CRL requests, numbers and records in the store (see crl.h).
 *
 * Every rule is checked inside one BEGIN IMMEDIATE transaction, so two
 * processes cannot both pass a check and then both write, and the
 * schema's triggers (store.c, version 4) refuse what a bug might still
 * try: a number that does not rise, a request that skips a state, a CRL
 * record that changes or disappears.
 */
#include "queue/crl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <sqlite3.h>

#include "queue/queue.h"
#include "queue/sql.h"
#include "store/stmt.h"
#include "util/text.h"

static const char *const queue_crl_names[] = {
	"pending-approval", "approved", "rejected", "issued"
};
#define QUEUE_CRL_STATES \
	(sizeof(queue_crl_names) / sizeof(queue_crl_names[0]))

const char *
queue_crl_state_name(enum queue_crl_state s)
{
	if ((int)s < 0 || (size_t)s >= QUEUE_CRL_STATES)
		return NULL;
	return queue_crl_names[s];
}

int
queue_crl_state_parse(const char *name, enum queue_crl_state *out)
{
	size_t i;

	for (i = 0; name != NULL && i < QUEUE_CRL_STATES; i++)
		if (strcmp(name, queue_crl_names[i]) == 0) {
			*out = (enum queue_crl_state)i;
			return 0;
		}
	return ERR_INVALID;
}

/* 1 when s is 1 .. QUEUE_CRL_TEXT_MAX bytes of printable UTF-8. */
static int
queue_crl_text_ok(const char *s)
{
	size_t n;

	return s != NULL && (n = strlen(s)) > 0 && n <= QUEUE_CRL_TEXT_MAX &&
	    text_clean(s) && strchr(s, '\n') == NULL;
}

/* --- requests ------------------------------------------------------------ */

int
queue_crl_request(struct store *st, int64_t ca_id, const char *cause,
    const char *requested_by, unsigned quorum, int64_t now, int64_t *id,
    err_t *err)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, r;

	if (!queue_crl_text_ok(cause) || !queue_crl_text_ok(requested_by))
		return err_set(err, ERR_INVALID, "a CRL request names its cause "
		    "and who asked, each 1 to %d printable characters on one "
		    "line", QUEUE_CRL_TEXT_MAX);
	if (quorum < 2 || quorum > QUEUE_MAX_QUORUM)
		return err_set(err, ERR_INVALID, "a CRL request's quorum is 2 "
		    "to %d approvals, not %u", QUEUE_MAX_QUORUM, quorum);
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_sql_row(st, "SELECT id FROM ca WHERE id = ?", ca_id,
	    "CA", &s, err)) != 0)
		goto out;
	sqlite3_finalize(s);
	if ((r = queue_sql_prepare(st, "INSERT INTO crl_request (ca_id, cause, "
	    "requested_by, state, quorum, created) VALUES (?, ?, ?, "
	    "'pending-approval', ?, ?)", &s, err)) != 0)
		goto out;
	store_bind_int(s, 1, ca_id, &rc);
	store_bind_text(s, 2, cause, &rc);
	store_bind_text(s, 3, requested_by, &rc);
	store_bind_int(s, 4, quorum, &rc);
	store_bind_int(s, 5, now, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "add CRL request", err);
	else if (id != NULL)
		*id = sqlite3_last_insert_rowid(store_db(st));
	sqlite3_finalize(s);
out:
	return store_end(st, r, err);
}

#define QUEUE_CRL_COLUMNS "r.id, r.ca_id, c.name, r.cause, r.requested_by, " \
	"r.state, r.reject_reason, r.quorum, r.created, r.number, r.issued " \
	"FROM crl_request r JOIN ca c ON c.id = r.ca_id"

static const char *
queue_crl_col(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Fills r from a row of QUEUE_CRL_COLUMNS, pointing into SQLite memory. */
static int
queue_crl_row(sqlite3_stmt *s, struct queue_crl_request *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->ca_id = sqlite3_column_int64(s, 1);
	r->ca_name = queue_crl_col(s, 2);
	r->cause = queue_crl_col(s, 3);
	r->requested_by = queue_crl_col(s, 4);
	if (queue_crl_state_parse(queue_crl_col(s, 5), &r->state) != 0 ||
	    r->ca_name == NULL || r->cause == NULL || r->requested_by == NULL)
		return ERR_NOMEM;
	r->reject_reason = queue_crl_col(s, 6);
	r->quorum = (unsigned)sqlite3_column_int64(s, 7);
	r->created = sqlite3_column_int64(s, 8);
	r->number = sqlite3_column_int64(s, 9);
	r->issued = sqlite3_column_int64(s, 10);
	return 0;
}

/* Copies the row's strings into one allocation owned by r->mem. */
static int
queue_crl_keep(struct queue_crl_request *r)
{
	const char **f[] = { &r->ca_name, &r->cause, &r->requested_by,
	    &r->reject_reason };
	size_t need = 0, i, n;
	char *mem, *p;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] != NULL)
			need += strlen(*f[i]) + 1;
	if ((mem = malloc(need + 1)) == NULL)
		return ERR_NOMEM;
	for (i = 0, p = mem; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] != NULL) {
			n = strlen(*f[i]) + 1;
			*f[i] = memcpy(p, *f[i], n);
			p += n;
		}
	r->mem = mem;
	return 0;
}

int
queue_crl_get(struct store *st, int64_t id, struct queue_crl_request *out,
    err_t *err)
{
	sqlite3_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = queue_sql_row(st, "SELECT " QUEUE_CRL_COLUMNS " WHERE "
	    "r.id = ?", id, "CRL request", &s, err)) != 0)
		return r;
	if (queue_crl_row(s, out) != 0 || queue_crl_keep(out) != 0) {
		sqlite3_finalize(s);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	sqlite3_finalize(s);
	return 0;
}

void
queue_crl_free(struct queue_crl_request *r)
{
	if (r == NULL)
		return;
	free(r->mem);
	memset(r, 0, sizeof(*r));
}

int
queue_crl_list(struct store *st, const enum queue_crl_state *state,
    queue_crl_cb cb, void *ctx, err_t *err)
{
	struct queue_crl_request row;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if (state != NULL && queue_crl_state_name(*state) == NULL)
		return err_set(err, ERR_INVALID, "no such CRL request state");
	if ((r = queue_sql_prepare(st, "SELECT " QUEUE_CRL_COLUMNS " WHERE "
	    "?1 IS NULL OR r.state = ?1 ORDER BY r.id", &s, err)) != 0)
		return r;
	store_bind_text(s, 1, state != NULL ? queue_crl_state_name(*state) :
	    NULL, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (queue_crl_row(s, &row) != 0) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &row)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list CRL requests", err);
	sqlite3_finalize(s);
	return r;
}

int
queue_crl_digest(struct store *st, int64_t id, char out[65], err_t *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char text[512];
	const char *name, *sha;
	sqlite3_stmt *s;
	int n, r;

	out[0] = '\0';
	if ((r = queue_sql_row(st, "SELECT r.id, c.name, c.sha256 FROM "
	    "crl_request r JOIN ca c ON c.id = r.ca_id WHERE r.id = ?", id,
	    "CRL request", &s, err)) != 0)
		return r;
	name = queue_crl_col(s, 1);
	sha = queue_crl_col(s, 2);
	/* Exactly the text docs/formats/crl.md gives, byte for byte. */
	n = name == NULL || sha == NULL ? -1 : snprintf(text, sizeof(text),
	    "airlock-crl\nrequest: %lld\nca: %s\nca-sha256: %s\n",
	    (long long)sqlite3_column_int64(s, 0), name, sha);
	sqlite3_finalize(s);
	if (n < 0 || (size_t)n >= sizeof(text))
		return err_set(err, ERR_NOMEM, "out of memory");
	SHA256((const unsigned char *)text, (size_t)n, md);
	buf_hex(md, sizeof(md), out, 65);
	return 0;
}

/*
 * The database's floor under the approval tally: distinct officers (by
 * person when known) whose certificate is not the requester's, over the
 * request's digest, at least its quorum; no such rejection.
 */
static int
queue_crl_quorum(struct store *st, int64_t id, err_t *err)
{
	static const char sql[] =
	    "SELECT r.quorum,"
	    " (SELECT count(DISTINCT coalesce('p' || a.person_id,"
	    "  a.officer_sha256)) FROM approval a WHERE a.kind = 'crl' AND"
	    "  a.object = r.id AND a.decision = 'approve' AND a.digest = ?2"
	    "  AND a.officer_sha256 <> r.requested_by),"
	    " (SELECT count(*) FROM approval a WHERE a.kind = 'crl' AND"
	    "  a.object = r.id AND a.decision = 'reject' AND a.digest = ?2"
	    "  AND a.officer_sha256 <> r.requested_by)"
	    " FROM crl_request r WHERE r.id = ?1";
	char digest[65], what[48];
	int r;

	if ((r = queue_crl_digest(st, id, digest, err)) != 0)
		return r;
	snprintf(what, sizeof(what), "CRL request #%lld", (long long)id);
	return queue_sql_quorum_over(st, sql, id, digest, what,
	    "the request's digest", err);
}

/* The request's state (and CA) inside the caller's transaction. */
static int
queue_crl_state_of(struct store *st, int64_t id, enum queue_crl_state *state,
    int64_t *ca_id, err_t *err)
{
	sqlite3_stmt *s;
	int r;

	if ((r = queue_sql_row(st, "SELECT state, ca_id FROM crl_request "
	    "WHERE id = ?", id, "CRL request", &s, err)) != 0)
		return r;
	r = queue_crl_state_parse(queue_crl_col(s, 0), state) == 0 ? 0 :
	    err_set(err, ERR_NOMEM, "out of memory");
	if (ca_id != NULL)
		*ca_id = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	return r;
}

int
queue_crl_transition(struct store *st, int64_t id, enum queue_crl_state from,
    enum queue_crl_state to, const char *reject_reason, err_t *err)
{
	enum queue_crl_state cur = QUEUE_CRL_ISSUED;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if (queue_crl_state_name(from) == NULL ||
	    queue_crl_state_name(to) == NULL)
		return err_set(err, ERR_INVALID, "no such CRL request state");
	if (from != QUEUE_CRL_PENDING_APPROVAL ||
	    (to != QUEUE_CRL_APPROVED && to != QUEUE_CRL_REJECTED))
		return err_set(err, ERR_INVALID, "CRL request #%lld cannot go "
		    "from '%s' to '%s'%s", (long long)id,
		    queue_crl_state_name(from), queue_crl_state_name(to),
		    to == QUEUE_CRL_ISSUED ? " (a CRL is issued by recording "
		    "it)" : "");
	if (to == QUEUE_CRL_REJECTED && !queue_crl_text_ok(reject_reason))
		return err_set(err, ERR_INVALID, "CRL request #%lld: a "
		    "rejection needs a reason of 1 to %d printable characters "
		    "on one line", (long long)id, QUEUE_CRL_TEXT_MAX);
	if (to != QUEUE_CRL_REJECTED && reject_reason != NULL)
		return err_set(err, ERR_INVALID, "CRL request #%lld: going to "
		    "'%s' takes no reason", (long long)id,
		    queue_crl_state_name(to));
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_crl_state_of(st, id, &cur, NULL, err)) != 0)
		goto out;
	if (cur != from) {
		r = err_set(err, ERR_INVALID, "CRL request #%lld is '%s', not "
		    "'%s'; it cannot go to '%s'", (long long)id,
		    queue_crl_state_name(cur), queue_crl_state_name(from),
		    queue_crl_state_name(to));
		goto out;
	}
	if (to == QUEUE_CRL_APPROVED &&
	    (r = queue_crl_quorum(st, id, err)) != 0)
		goto out;
	if ((r = queue_sql_prepare(st, "UPDATE crl_request SET state = ?, "
	    "reject_reason = ? WHERE id = ? AND state = ?", &s, err)) != 0)
		goto out;
	store_bind_text(s, 1, queue_crl_state_name(to), &rc);
	store_bind_text(s, 2, reject_reason, &rc);
	store_bind_int(s, 3, id, &rc);
	store_bind_text(s, 4, queue_crl_state_name(from), &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "change CRL request state", err);
	else if (sqlite3_changes(store_db(st)) != 1)
		r = err_set(err, ERR_INTERNAL, "CRL request #%lld left state "
		    "'%s' while it was being changed", (long long)id,
		    queue_crl_state_name(from));
	sqlite3_finalize(s);
out:
	return store_end(st, r, err);
}

/* --- numbers and records ------------------------------------------------- */

/* Inside a transaction: request_id is an approved request of ca_id. */
static int
queue_crl_request_ready(struct store *st, int64_t request_id, int64_t ca_id,
    err_t *err)
{
	enum queue_crl_state state = QUEUE_CRL_ISSUED;
	int64_t req_ca = 0;
	int r;

	if ((r = queue_crl_state_of(st, request_id, &state, &req_ca,
	    err)) != 0)
		return r;
	if (req_ca != ca_id)
		return err_set(err, ERR_INVALID, "CRL request #%lld is for CA "
		    "#%lld, not CA #%lld", (long long)request_id,
		    (long long)req_ca, (long long)ca_id);
	if (state != QUEUE_CRL_APPROVED)
		return err_set(err, ERR_INVALID, "CRL request #%lld is '%s'; "
		    "only an approved request is issued", (long long)request_id,
		    queue_crl_state_name(state));
	return 0;
}

int
queue_crl_take_number(struct store *st, int64_t request_id, int64_t ca_id,
    int64_t now, int64_t *number, err_t *err)
{
	sqlite3_stmt *s = NULL;
	int64_t n = 0;
	int rc = SQLITE_OK, r;

	if (number == NULL)
		return err_set(err, ERR_INVALID, "queue_crl_take_number: no "
		    "output");
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_sql_row(st, "SELECT id FROM ca WHERE id = ?", ca_id,
	    "CA", &s, err)) != 0)
		goto out;
	sqlite3_finalize(s);
	if (request_id != 0 &&
	    (r = queue_crl_request_ready(st, request_id, ca_id, err)) != 0)
		goto out;
	if ((r = queue_sql_row(st, "SELECT max(coalesce((SELECT max(number) "
	    "FROM crl_number WHERE ca_id = ?1), 0), coalesce((SELECT "
	    "max(number) FROM crl WHERE ca_id = ?1), 0)) + 1", ca_id,
	    "CRL number", &s, err)) != 0)
		goto out;
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if ((r = queue_sql_prepare(st, "INSERT INTO crl_number (ca_id, number, "
	    "request_id, taken) VALUES (?, ?, ?, ?)", &s, err)) != 0)
		goto out;
	store_bind_int(s, 1, ca_id, &rc);
	store_bind_int(s, 2, n, &rc);
	store_bind_id(s, 3, request_id, &rc);
	store_bind_int(s, 4, now, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "take a CRL number", err);
	sqlite3_finalize(s);
out:
	if ((r = store_end(st, r, err)) == 0)
		*number = n;
	return r;
}

int
queue_crl_entries(struct store *st, int64_t ca_id, queue_crl_entry_cb cb,
    void *ctx, size_t *count, err_t *err)
{
	struct queue_crl_entry e;
	sqlite3_stmt *s;
	size_t n = 0;
	int rc = SQLITE_OK, r;

	if (count != NULL)
		*count = 0;
	/* The partial index certificate_revoked finds the rows. */
	if ((r = queue_sql_prepare(st, "SELECT serial, revoked_at, reason, "
	    "invalidity_date FROM certificate WHERE ca_id = ? AND status IN "
	    "('revoked', 'hold') ORDER BY length(serial), serial", &s,
	    err)) != 0)
		return r;
	store_bind_int(s, 1, ca_id, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.serial = queue_crl_col(s, 0);
		e.revoked_at = sqlite3_column_int64(s, 1);
		e.reason = queue_crl_col(s, 2);
		e.has_invalidity_date = sqlite3_column_type(s, 3) !=
		    SQLITE_NULL;
		e.invalidity_date = sqlite3_column_int64(s, 3);
		/* The schema makes these present for a revoked or held row. */
		if (e.serial == NULL || e.reason == NULL ||
		    sqlite3_column_type(s, 1) == SQLITE_NULL) {
			sqlite3_finalize(s);
			return err_set(err, ERR_INVALID, "%s: certificate %s "
			    "of CA #%lld is revoked without a date or reason",
			    store_path(st), e.serial != NULL ? e.serial : "?",
			    (long long)ca_id);
		}
		n++;
		if ((r = cb(ctx, &e)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "read revoked "
	    "certificates", err);
	sqlite3_finalize(s);
	if (r == 0 && count != NULL)
		*count = n;
	return r;
}

int
queue_crl_record(struct store *st, int64_t request_id, int64_t ca_id,
    int64_t number, int64_t this_update, int64_t next_update,
    const unsigned char *der, size_t der_len, const char *sha256,
    int64_t entries, err_t *err)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, r;

	if (der == NULL || der_len == 0 || der_len > QUEUE_CRL_DER_MAX)
		return err_set(err, ERR_INVALID, "a CRL record needs the CRL "
		    "(1 to %u bytes)", QUEUE_CRL_DER_MAX);
	if (sha256 == NULL || strlen(sha256) != 64 ||
	    !text_is_lower_hex(sha256, 64))
		return err_set(err, ERR_INVALID, "a CRL record names the CRL's "
		    "SHA-256 as 64 lower-case hex digits");
	if (next_update <= this_update || entries < 0 || number < 1)
		return err_set(err, ERR_INVALID, "CRL %lld of CA #%lld: "
		    "nextUpdate must follow thisUpdate, the number be positive "
		    "and the entries counted", (long long)number,
		    (long long)ca_id);
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_sql_prepare(st, "SELECT 1 FROM crl_number WHERE "
	    "ca_id = ? AND number = ? AND request_id IS ?", &s, err)) != 0)
		goto out;
	store_bind_int(s, 1, ca_id, &rc);
	store_bind_int(s, 2, number, &rc);
	store_bind_id(s, 3, request_id, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if ((rc = sqlite3_step(s)) == SQLITE_DONE)
		r = err_set(err, ERR_INVALID, "CRL number %lld was not taken "
		    "for CA #%lld%s; take a number before signing",
		    (long long)number, (long long)ca_id, request_id != 0 ?
		    " by this request" : "");
	else if (rc != SQLITE_ROW)
		r = queue_sql_err(st, "check the CRL number", err);
	sqlite3_finalize(s);
	s = NULL;
	if (r != 0)
		goto out;
	if (request_id != 0 &&
	    (r = queue_crl_request_ready(st, request_id, ca_id, err)) != 0)
		goto out;
	if ((r = queue_sql_prepare(st, "INSERT INTO crl (ca_id, number, "
	    "this_update, next_update, der, sha256, entries, request_id) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &s, err)) != 0)
		goto out;
	rc = SQLITE_OK;
	store_bind_int(s, 1, ca_id, &rc);
	store_bind_int(s, 2, number, &rc);
	store_bind_int(s, 3, this_update, &rc);
	store_bind_int(s, 4, next_update, &rc);
	store_bind_blob(s, 5, der, der_len, &rc);
	store_bind_text(s, 6, sha256, &rc);
	store_bind_int(s, 7, entries, &rc);
	store_bind_id(s, 8, request_id, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "record the CRL", err);
	sqlite3_finalize(s);
	s = NULL;
	if (r != 0 || request_id == 0)
		goto out;
	if ((r = queue_sql_prepare(st, "UPDATE crl_request SET state = "
	    "'issued', number = ?, issued = ? WHERE id = ? AND state = "
	    "'approved'", &s, err)) != 0)
		goto out;
	rc = SQLITE_OK;
	store_bind_int(s, 1, number, &rc);
	store_bind_int(s, 2, this_update, &rc);
	store_bind_int(s, 3, request_id, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "mark the CRL request issued", err);
	else if (sqlite3_changes(store_db(st)) != 1)
		r = err_set(err, ERR_INTERNAL, "CRL request #%lld left state "
		    "'approved' while it was being issued",
		    (long long)request_id);
	sqlite3_finalize(s);
out:
	return store_end(st, r, err);
}

#define QUEUE_CRL_INFO_COLUMNS "ca_id, number, this_update, next_update, " \
	"sha256, entries, request_id, exported, export_dir FROM crl"

static void
queue_crl_info_row(sqlite3_stmt *s, struct queue_crl_info *c)
{
	const char *sha = queue_crl_col(s, 4), *dir = queue_crl_col(s, 8);

	memset(c, 0, sizeof(*c));
	c->ca_id = sqlite3_column_int64(s, 0);
	c->number = sqlite3_column_int64(s, 1);
	c->this_update = sqlite3_column_int64(s, 2);
	c->next_update = sqlite3_column_int64(s, 3);
	snprintf(c->sha256, sizeof(c->sha256), "%s", sha != NULL ? sha : "");
	c->entries = sqlite3_column_type(s, 5) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, 5);
	c->request_id = sqlite3_column_int64(s, 6);
	c->exported = sqlite3_column_int64(s, 7);
	snprintf(c->export_dir, sizeof(c->export_dir), "%s",
	    dir != NULL ? dir : "");
}

int
queue_crl_latest(struct store *st, int64_t ca_id, struct queue_crl_info *out,
    err_t *err)
{
	sqlite3_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = queue_sql_row(st, "SELECT " QUEUE_CRL_INFO_COLUMNS " WHERE "
	    "ca_id = ? ORDER BY number DESC LIMIT 1", ca_id, "CRL of CA", &s,
	    err)) != 0)
		return r;
	queue_crl_info_row(s, out);
	sqlite3_finalize(s);
	return 0;
}

/* Prepares sql and binds (ca_id, number) to ?1 and ?2. */
static int
queue_crl_prepare2(struct store *st, const char *sql, int64_t ca_id,
    int64_t number, sqlite3_stmt **s, err_t *err)
{
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, sql, s, err)) != 0)
		return r;
	store_bind_int(*s, 1, ca_id, &rc);
	store_bind_int(*s, 2, number, &rc);
	if (rc == SQLITE_OK)
		return 0;
	sqlite3_finalize(*s);
	*s = NULL;
	return queue_sql_binderr(st, rc, err);
}

int
queue_crl_der(struct store *st, int64_t ca_id, int64_t number, buf_t *out,
    err_t *err)
{
	sqlite3_stmt *s;
	const void *der;
	int rc, r;

	if ((r = queue_crl_prepare2(st, "SELECT der FROM crl WHERE ca_id = ?1 "
	    "AND number = ?2", ca_id, number, &s, err)) != 0)
		return r;
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? err_set(err, ERR_NOTFOUND, "%s: CA "
		    "#%lld has no CRL number %lld", store_path(st),
		    (long long)ca_id, (long long)number) :
		    queue_sql_err(st, "read the CRL", err);
	} else if ((der = sqlite3_column_blob(s, 0)) == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
	} else if (buf_put(out, der, (size_t)sqlite3_column_bytes(s, 0)) != 0) {
		r = err_set(err, out->len + (size_t)sqlite3_column_bytes(s, 0) >
		    out->max ? ERR_LIMIT : ERR_NOMEM, "CRL %lld of CA #%lld "
		    "(%d bytes) does not fit the buffer", (long long)number,
		    (long long)ca_id, sqlite3_column_bytes(s, 0));
	}
	sqlite3_finalize(s);
	return r;
}

int
queue_crl_exported(struct store *st, int64_t ca_id, int64_t number,
    const char *dir, int64_t when, err_t *err)
{
	sqlite3_stmt *s;
	size_t n;
	int rc = SQLITE_OK, r;

	if (dir == NULL || (n = strlen(dir)) == 0 || n > QUEUE_CRL_DIR_MAX ||
	    !text_clean(dir) || strchr(dir, '/') != NULL ||
	    strcmp(dir, ".") == 0 || strcmp(dir, "..") == 0)
		return err_set(err, ERR_INVALID, "an exported CRL names its "
		    "outbox subdirectory (one clean path component)");
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_crl_prepare2(st, "SELECT exported IS NOT NULL FROM crl "
	    "WHERE ca_id = ?1 AND number = ?2", ca_id, number, &s, err)) != 0)
		goto out;
	if ((rc = sqlite3_step(s)) == SQLITE_DONE)
		r = err_set(err, ERR_NOTFOUND, "%s: CA #%lld has no CRL number "
		    "%lld", store_path(st), (long long)ca_id, (long long)number);
	else if (rc != SQLITE_ROW)
		r = queue_sql_err(st, "read the CRL", err);
	else if (sqlite3_column_int(s, 0) != 0)
		r = err_set(err, ERR_EXISTS, "CRL %lld of CA #%lld is already "
		    "recorded as exported", (long long)number, (long long)ca_id);
	sqlite3_finalize(s);
	if (r != 0)
		goto out;
	if ((r = queue_crl_prepare2(st, "UPDATE crl SET exported = ?3, "
	    "export_dir = ?4 WHERE ca_id = ?1 AND number = ?2", ca_id, number,
	    &s, err)) != 0)
		goto out;
	rc = SQLITE_OK;
	store_bind_int(s, 3, when, &rc);
	store_bind_text(s, 4, dir, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "record the CRL's export", err);
	sqlite3_finalize(s);
out:
	return store_end(st, r, err);
}

int
queue_crl_unexported(struct store *st, queue_crl_info_cb cb, void *ctx,
    err_t *err)
{
	struct queue_crl_info c;
	sqlite3_stmt *s;
	int rc, r;

	if ((r = queue_sql_prepare(st, "SELECT " QUEUE_CRL_INFO_COLUMNS
	    " WHERE exported IS NULL AND sha256 IS NOT NULL ORDER BY ca_id, "
	    "number", &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		queue_crl_info_row(s, &c);
		if ((r = cb(ctx, &c)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list CRLs to export",
	    err);
	sqlite3_finalize(s);
	return r;
}
