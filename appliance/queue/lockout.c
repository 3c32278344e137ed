/*
 * lockout.c: failure counts and lock-outs in the store (see lockout.h).
 *
 * Every change runs inside one store_begin level, so a count, the
 * lock-out it opens and the person's status move together; the schema
 * (store.c, version 6) refuses a second open lock-out of one credential
 * and any change to a lock-out but its clearing.
 */
#include "queue/lockout.h"

#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>
#include <sqlite3.h>

#include "queue/queue.h"
#include "queue/sql.h"
#include "store/stmt.h"
#include "util/buf.h"
#include "util/text.h"
#include "util/timeutil.h"

static const char *const queue_lockout_kinds[] = { "token", "person" };

const char *
queue_lockout_kind_name(enum queue_lockout_kind k)
{
	if ((int)k < 0 || (size_t)k >= sizeof(queue_lockout_kinds) /
	    sizeof(queue_lockout_kinds[0]))
		return NULL;
	return queue_lockout_kinds[k];
}

/*
 * The credential names what the digest text and messages show: a token
 * label of printable characters, or a person's certificate SHA-256.
 */
static int
queue_lockout_name_ok(enum queue_lockout_kind kind, const char *name,
    err_t *err)
{
	size_t n;

	if (queue_lockout_kind_name(kind) == NULL)
		return err_set(err, ERR_INVALID, "no such credential kind");
	if (name == NULL || (n = strlen(name)) == 0 ||
	    n > QUEUE_LOCKOUT_NAME_MAX || !text_clean(name) ||
	    strchr(name, '\n') != NULL || (kind == QUEUE_LOCKOUT_PERSON &&
	    (n != 64 || !text_is_lower_hex(name, 64))))
		return err_set(err, ERR_INVALID, "a %s credential is named by "
		    "%s", queue_lockout_kind_name(kind), kind ==
		    QUEUE_LOCKOUT_PERSON ? "its certificate's SHA-256 (64 "
		    "lower-case hex digits)" : "its label (1 to 64 printable "
		    "characters)");
	return 0;
}

/*
 * Prepares sql, a statement about one credential, with its kind bound to
 * ?1 and its name to ?2 (checked first); on failure *s is NULL.
 */
static int
queue_lockout_prepare(struct store *st, const char *sql,
    enum queue_lockout_kind kind, const char *credential, sqlite3_stmt **s,
    err_t *err)
{
	int rc = SQLITE_OK, r;

	*s = NULL;
	if ((r = queue_lockout_name_ok(kind, credential, err)) != 0 ||
	    (r = queue_sql_prepare(st, sql, s, err)) != 0)
		return r;
	store_bind_text(*s, 1, queue_lockout_kind_name(kind), &rc);
	store_bind_text(*s, 2, credential, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*s);
		*s = NULL;
		return queue_sql_binderr(st, rc, err);
	}
	return 0;
}

#define QUEUE_LOCKOUT_COLUMNS "id, kind, credential, person_id, failures, " \
	"locked_at, state, quorum, cleared_at FROM lockout"

static void
queue_lockout_read(sqlite3_stmt *s, struct queue_lockout *out)
{
	const char *kind = (const char *)sqlite3_column_text(s, 1);
	const char *cred = (const char *)sqlite3_column_text(s, 2);
	const char *state = (const char *)sqlite3_column_text(s, 6);

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	out->kind = kind != NULL && strcmp(kind, "person") == 0 ?
	    QUEUE_LOCKOUT_PERSON : QUEUE_LOCKOUT_TOKEN;
	snprintf(out->credential, sizeof(out->credential), "%s",
	    cred != NULL ? cred : "");
	out->person_id = sqlite3_column_int64(s, 3);
	out->failures = sqlite3_column_int64(s, 4);
	out->locked_at = sqlite3_column_int64(s, 5);
	out->cleared = state != NULL && strcmp(state, "cleared") == 0;
	out->quorum = (unsigned)sqlite3_column_int64(s, 7);
	out->cleared_at = sqlite3_column_int64(s, 8);
}

int
queue_lockout_open(struct store *st, enum queue_lockout_kind kind,
    const char *credential, struct queue_lockout *out, err_t *err)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = queue_lockout_prepare(st, "SELECT " QUEUE_LOCKOUT_COLUMNS
	    " WHERE kind = ?1 AND credential = ?2 AND state = 'locked'", kind,
	    credential, &s, err)) != 0)
		return r;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		queue_lockout_read(s, out);
	else if (rc == SQLITE_DONE)
		r = err_set(err, ERR_NOTFOUND, "%s %s is not locked out",
		    queue_lockout_kind_name(kind), credential);
	else
		r = queue_sql_err(st, "find a lock-out", err);
	sqlite3_finalize(s);
	return r;
}

int
queue_lockout_get(struct store *st, int64_t id, struct queue_lockout *out,
    err_t *err)
{
	sqlite3_stmt *s;
	int r;

	if ((r = queue_sql_row(st, "SELECT " QUEUE_LOCKOUT_COLUMNS
	    " WHERE id = ?", id, "lock-out", &s, err)) != 0)
		return r;
	queue_lockout_read(s, out);
	sqlite3_finalize(s);
	return 0;
}

int
queue_lockout_list(struct store *st, int open_only, queue_lockout_cb cb,
    void *ctx, err_t *err)
{
	struct queue_lockout l;
	sqlite3_stmt *s;
	int rc, r = 0;

	if ((r = queue_sql_prepare(st, open_only ? "SELECT "
	    QUEUE_LOCKOUT_COLUMNS " WHERE state = 'locked' ORDER BY id" :
	    "SELECT " QUEUE_LOCKOUT_COLUMNS " ORDER BY id", &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		queue_lockout_read(s, &l);
		if ((r = cb(ctx, &l)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = queue_sql_err(st, "list lock-outs", err);
	sqlite3_finalize(s);
	return r;
}

int
queue_lockout_count(struct store *st, enum queue_lockout_kind kind,
    const char *credential, int64_t *out, err_t *err)
{
	sqlite3_stmt *s;
	int rc, r;

	*out = 0;
	if ((r = queue_lockout_prepare(st, "SELECT failures FROM "
	    "credential_failure WHERE kind = ?1 AND credential = ?2", kind,
	    credential, &s, err)) != 0)
		return r;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		r = queue_sql_err(st, "read a failure count", err);
	sqlite3_finalize(s);
	return r;
}

/* Inside a transaction: person id holds the certificate credential. */
static int
queue_lockout_person_ok(struct store *st, int64_t person_id,
    const char *credential, err_t *err)
{
	sqlite3_stmt *s;
	const char *sha;
	int r;

	if ((r = queue_sql_row(st, "SELECT sha256 FROM person WHERE id = ?",
	    person_id, "person", &s, err)) != 0)
		return r;
	sha = (const char *)sqlite3_column_text(s, 0);
	if (sha == NULL || strcmp(sha, credential) != 0)
		r = err_set(err, ERR_INVALID, "person #%lld does not hold the "
		    "certificate %s", (long long)person_id, credential);
	sqlite3_finalize(s);
	return r;
}

/* Sets person id's status from `from` to `to`; no row changes otherwise. */
static int
queue_lockout_person_status(struct store *st, int64_t id, const char *from,
    const char *to, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "UPDATE person SET status = ? WHERE "
	    "id = ? AND status = ?", &s, err)) != 0)
		return r;
	store_bind_text(s, 1, to, &rc);
	store_bind_int(s, 2, id, &rc);
	store_bind_text(s, 3, from, &rc);
	r = queue_sql_run(st, s, rc, "change a person's status", err);
	sqlite3_finalize(s);
	return r;
}

/* Adds one to the credential's count (made at 1); *count gets it. */
static int
queue_lockout_bump(struct store *st, enum queue_lockout_kind kind,
    const char *credential, int64_t now, int64_t *count, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_lockout_prepare(st, "INSERT INTO credential_failure "
	    "(kind, credential, failures, last_failure) VALUES (?1, ?2, 1, ?3) "
	    "ON CONFLICT (kind, credential) DO UPDATE SET failures = "
	    "failures + 1, last_failure = ?3", kind, credential, &s,
	    err)) != 0)
		return r;
	store_bind_int(s, 3, now, &rc);
	r = queue_sql_run(st, s, rc, "count a failure", err);
	sqlite3_finalize(s);
	if (r == 0)
		r = queue_lockout_count(st, kind, credential, count, err);
	return r;
}

int
queue_lockout_fail(struct store *st, enum queue_lockout_kind kind,
    const char *credential, int64_t person_id, unsigned limit,
    unsigned quorum, int64_t now, struct queue_lockout_failure *out,
    err_t *err)
{
	struct queue_lockout open;
	sqlite3_stmt *s;
	err_t e;
	int rc = SQLITE_OK, r;

	memset(out, 0, sizeof(*out));
	if ((r = queue_lockout_name_ok(kind, credential, err)) != 0)
		return r;
	if (limit < 1 || limit > QUEUE_LOCKOUT_LIMIT_MAX)
		return err_set(err, ERR_INVALID, "a failure limit is 1 to %d, "
		    "not %u", QUEUE_LOCKOUT_LIMIT_MAX, limit);
	if (quorum < 2 || quorum > QUEUE_MAX_QUORUM)
		return err_set(err, ERR_INVALID, "a lock-out's quorum is 2 to "
		    "%d approvals, not %u", QUEUE_MAX_QUORUM, quorum);
	if ((kind == QUEUE_LOCKOUT_PERSON) != (person_id > 0))
		return err_set(err, ERR_INVALID, "a person's failure names the "
		    "person, a token's none");
	if ((r = store_begin(st, err)) != 0)
		return r;
	if (kind == QUEUE_LOCKOUT_PERSON &&
	    (r = queue_lockout_person_ok(st, person_id, credential, err)) != 0)
		goto out;
	if ((r = queue_lockout_bump(st, kind, credential, now, &out->failures,
	    err)) != 0)
		goto out;
	err_clear(&e);
	if ((r = queue_lockout_open(st, kind, credential, &open, &e)) == 0) {
		out->already = open.id;
		goto out;
	}
	if (r != ERR_NOTFOUND) {
		*err = e;
		goto out;
	}
	r = 0;
	if (out->failures < (int64_t)limit)
		goto out;
	if ((r = queue_sql_prepare(st, "INSERT INTO lockout (kind, credential, "
	    "person_id, failures, locked_at, state, quorum) VALUES (?, ?, ?, "
	    "?, ?, 'locked', ?)", &s, err)) != 0)
		goto out;
	store_bind_text(s, 1, queue_lockout_kind_name(kind), &rc);
	store_bind_text(s, 2, credential, &rc);
	store_bind_id(s, 3, person_id, &rc);
	store_bind_int(s, 4, out->failures, &rc);
	store_bind_int(s, 5, now, &rc);
	store_bind_int(s, 6, quorum, &rc);
	if ((r = store_insert(st, s, rc, "lock-out", &out->locked,
	    err)) != 0)
		goto out;
	if (kind == QUEUE_LOCKOUT_PERSON)
		r = queue_lockout_person_status(st, person_id, "active",
		    "locked", err);
out:
	return store_end(st, r, err);
}

int
queue_lockout_reset(struct store *st, enum queue_lockout_kind kind,
    const char *credential, int64_t *was, err_t *err)
{
	sqlite3_stmt *s;
	int64_t before = 0;
	int rc = SQLITE_OK, r;

	if (was != NULL)
		*was = 0;
	if ((r = queue_lockout_name_ok(kind, credential, err)) != 0)
		return r;
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_lockout_count(st, kind, credential, &before,
	    err)) != 0 || before == 0)
		goto out;
	if ((r = queue_lockout_prepare(st, "UPDATE credential_failure SET "
	    "failures = 0 WHERE kind = ?1 AND credential = ?2", kind,
	    credential, &s, err)) != 0)
		goto out;
	r = queue_sql_run(st, s, rc, "reset a failure count", err);
	sqlite3_finalize(s);
out:
	if (r == 0 && was != NULL)
		*was = before;
	return store_end(st, r, err);
}

int
queue_lockout_digest(struct store *st, int64_t id, char out[65], err_t *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct queue_lockout l;
	char text[512], when[TIMEUTIL_STRLEN];
	int n, r;

	out[0] = '\0';
	if ((r = queue_lockout_get(st, id, &l, err)) != 0)
		return r;
	timeutil_format((time_t)l.locked_at, when);
	/* Exactly the text docs/formats/approval.md gives, byte for byte. */
	n = snprintf(text, sizeof(text), "airlock-lockout\nlockout: %lld\n"
	    "credential: %s %s\nfailures: %lld\nlocked: %s\n",
	    (long long)l.id, queue_lockout_kind_name(l.kind), l.credential,
	    (long long)l.failures, when);
	if (n < 0 || (size_t)n >= sizeof(text))
		return err_set(err, ERR_INTERNAL, "lock-out #%lld: its text "
		    "does not fit", (long long)id);
	SHA256((const unsigned char *)text, (size_t)n, md);
	buf_hex(md, sizeof(md), out, 65);
	return 0;
}

/*
 * The database's floor under the approval tally: distinct officers (by
 * person when known) other than the locked person, over the lock-out's
 * digest, at least its quorum; no rejection.
 */
static int
queue_lockout_quorum(struct store *st, int64_t id, err_t *err)
{
	static const char sql[] =
	    "SELECT l.quorum,"
	    " (SELECT count(DISTINCT coalesce('p' || a.person_id,"
	    "  a.officer_sha256)) FROM approval a WHERE"
	    "  a.kind = 'lockout-clear' AND a.object = l.id AND"
	    "  a.decision = 'approve' AND a.digest = ?2 AND"
	    "  a.officer_sha256 <> l.credential AND (l.person_id IS NULL OR"
	    "  a.person_id IS NOT l.person_id)),"
	    " (SELECT count(*) FROM approval a WHERE a.kind = 'lockout-clear'"
	    "  AND a.object = l.id AND a.decision = 'reject' AND"
	    "  a.digest = ?2)"
	    " FROM lockout l WHERE l.id = ?1";
	char digest[65], what[48];
	int r;

	if ((r = queue_lockout_digest(st, id, digest, err)) != 0)
		return r;
	snprintf(what, sizeof(what), "lock-out #%lld", (long long)id);
	return queue_sql_quorum_over(st, sql, id, digest, what,
	    "the lock-out's digest", err);
}

int
queue_lockout_clear(struct store *st, int64_t id, int64_t now, err_t *err)
{
	struct queue_lockout l;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_lockout_get(st, id, &l, err)) != 0)
		goto out;
	if (l.cleared) {
		r = err_set(err, ERR_INVALID, "lock-out #%lld is already "
		    "cleared", (long long)id);
		goto out;
	}
	if ((r = queue_lockout_quorum(st, id, err)) != 0 ||
	    (r = queue_sql_prepare(st, "UPDATE lockout SET state = 'cleared', "
	    "cleared_at = ? WHERE id = ? AND state = 'locked'", &s, err)) != 0)
		goto out;
	store_bind_int(s, 1, now, &rc);
	store_bind_int(s, 2, id, &rc);
	r = queue_sql_run(st, s, rc, "clear a lock-out", err);
	sqlite3_finalize(s);
	if (r == 0)
		r = queue_lockout_reset(st, l.kind, l.credential, NULL, err);
	if (r == 0 && l.kind == QUEUE_LOCKOUT_PERSON)
		r = queue_lockout_person_status(st, l.person_id, "locked",
		    "active", err);
out:
	return store_end(st, r, err);
}
