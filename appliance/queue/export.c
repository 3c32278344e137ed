/*
 * export.c: the export records of finished batches (see queue.h, section
 * "exports").
 *
 * An export is one writing of a batch to a medium. The first is approved
 * by the batch's own approval; every later one (a re-export: the medium
 * was lost, the factory asks again) hands the batch's keys and
 * certificates out once more, so it needs a quorum of its own over a
 * digest that names it (queue_export_digest). The rules are checked here
 * inside one BEGIN IMMEDIATE transaction each, so two processes cannot
 * both pass a check and then both write; the table's CHECKs (store.c,
 * version 2) refuse a written export without its directory and manifest,
 * and a first export waiting for approval.
 */
#include "queue/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>
#include <sqlite3.h>

#include "queue/sql.h"
#include "store/stmt.h"
#include "util/buf.h"
#include "util/text.h"

/* Longest outbox subdirectory name an export records. */
#define QUEUE_EXPORT_DIR_MAX 255

static const char *const queue_export_names[] = {
	"pending-approval", "approved", "written", "failed"
};

#define QUEUE_EXPORT_STATES \
	(sizeof(queue_export_names) / sizeof(queue_export_names[0]))

const char *
queue_export_state_name(enum queue_export_state s)
{
	if ((int)s < 0 || (size_t)s >= QUEUE_EXPORT_STATES)
		return NULL;
	return queue_export_names[s];
}

static int
queue_export_state_parse(const char *name, enum queue_export_state *out)
{
	size_t i;

	for (i = 0; name != NULL && i < QUEUE_EXPORT_STATES; i++)
		if (strcmp(name, queue_export_names[i]) == 0) {
			*out = (enum queue_export_state)i;
			return 0;
		}
	return ERR_INVALID;
}

/*
 * The batch's state, inside the caller's transaction; ERR_INVALID unless
 * it has finished with something issued (completed or
 * partially-completed): there is nothing to export otherwise.
 */
static int
export_batch_finished(struct store *st, int64_t batch, const char *doing,
    err_t *err)
{
	sqlite3_stmt *s;
	const char *state;
	int r;

	if ((r = queue_sql_row(st, "SELECT state FROM batch WHERE id = ?", batch,
	    "batch", &s, err)) != 0)
		return r;
	state = (const char *)sqlite3_column_text(s, 0);
	if (state == NULL)
		r = err_set(err, ERR_NOMEM, "out of memory");
	else if (strcmp(state, "completed") != 0 &&
	    strcmp(state, "partially-completed") != 0)
		r = err_set(err, ERR_INVALID, "batch #%lld is '%s': %s only "
		    "once it is completed or partially-completed",
		    (long long)batch, state, doing);
	sqlite3_finalize(s);
	return r;
}

/* One integer from sql bound to (a); *out gets it. */
static int
export_int(struct store *st, const char *sql, int64_t a, int64_t *out,
    err_t *err)
{
	sqlite3_stmt *s;
	int r;

	if ((r = queue_sql_row(st, sql, a, "export", &s, err)) != 0)
		return r;
	*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

static int
export_insert(struct store *st, int64_t batch, int64_t number,
    enum queue_export_state state, int64_t created, int64_t *id_out,
    err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "INSERT INTO export (batch_id, number, "
	    "state, created) VALUES (?, ?, ?, ?)", &s, err)) != 0)
		return r;
	store_bind_int(s, 1, batch, &rc);
	store_bind_int(s, 2, number, &rc);
	store_bind_text(s, 3, queue_export_state_name(state), &rc);
	store_bind_int(s, 4, created, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "record export", err);
	else if (id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(store_db(st));
	sqlite3_finalize(s);
	return r;
}

/* --- creating ------------------------------------------------------------ */

int
queue_export_first(struct store *st, int64_t batch, int64_t *id_out,
    err_t *err)
{
	int64_t id = 0;
	int r;

	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = export_batch_finished(st, batch, "it is exported",
	    err)) != 0)
		goto out;
	/* Idempotent: the daemon calls this again after a restart. */
	if ((r = export_int(st, "SELECT coalesce((SELECT id FROM export "
	    "WHERE batch_id = ?1 AND number = 1), 0)", batch, &id, err)) != 0)
		goto out;
	if (id == 0)
		r = export_insert(st, batch, 1, QUEUE_EXPORT_APPROVED,
		    (int64_t)time(NULL), &id, err);
out:
	if ((r = store_end(st, r, err)) == 0 && id_out != NULL)
		*id_out = id;
	return r;
}

int
queue_export_request(struct store *st, int64_t batch, int64_t now,
    int64_t *id_out, err_t *err)
{
	int64_t written = 0, open = 0, number = 0, id = 0;
	int r;

	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = export_batch_finished(st, batch, "it is exported again",
	    err)) != 0)
		goto out;
	if ((r = export_int(st, "SELECT count(*) FROM export WHERE "
	    "batch_id = ? AND state = 'written'", batch, &written, err)) != 0)
		goto out;
	/*
	 * A re-export repeats a written export; before the first is on a
	 * medium there is nothing to repeat, only one to finish.
	 */
	if (written == 0) {
		r = err_set(err, ERR_INVALID, "batch #%lld has no written "
		    "export yet: the first export must be written before a "
		    "re-export can be requested", (long long)batch);
		goto out;
	}
	if ((r = export_int(st, "SELECT count(*) FROM export WHERE "
	    "batch_id = ? AND state IN ('pending-approval', 'approved')",
	    batch, &open, err)) != 0)
		goto out;
	if (open > 0) {
		r = err_set(err, ERR_EXISTS, "batch #%lld already has a "
		    "re-export waiting for approval or for a medium; "
		    "finish that one first", (long long)batch);
		goto out;
	}
	if ((r = export_int(st, "SELECT coalesce(max(number), 0) + 1 FROM "
	    "export WHERE batch_id = ?", batch, &number, err)) != 0)
		goto out;
	r = export_insert(st, batch, number, QUEUE_EXPORT_PENDING_APPROVAL,
	    now, &id, err);
out:
	if ((r = store_end(st, r, err)) == 0 && id_out != NULL)
		*id_out = id;
	return r;
}

/* --- reading ------------------------------------------------------------- */

int
queue_export_digest(struct store *st, int64_t id, char out[65], err_t *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char text[256];
	sqlite3_stmt *s;
	const char *bundle;
	int n, r;

	out[0] = '\0';
	if ((r = queue_sql_row(st, "SELECT x.id, x.batch_id, x.number, u.sha256 "
	    "FROM export x JOIN batch b ON b.id = x.batch_id JOIN bundle u "
	    "ON u.id = b.bundle_id WHERE x.id = ?", id, "export", &s,
	    err)) != 0)
		return r;
	bundle = (const char *)sqlite3_column_text(s, 3);
	/* Exactly the text docs/formats/approval.md gives, byte for byte. */
	n = bundle == NULL ? -1 : snprintf(text, sizeof(text),
	    "airlock-export\nexport: %lld\nbatch: %lld\nnumber: %lld\n"
	    "bundle: %s\n", (long long)sqlite3_column_int64(s, 0),
	    (long long)sqlite3_column_int64(s, 1),
	    (long long)sqlite3_column_int64(s, 2), bundle);
	sqlite3_finalize(s);
	if (n < 0 || (size_t)n >= sizeof(text))
		return err_set(err, ERR_NOMEM, "out of memory");
	SHA256((const unsigned char *)text, (size_t)n, md);
	buf_hex(md, sizeof(md), out, 65);
	return 0;
}

#define EXPORT_COLUMNS "id, batch_id, number, state, dir, manifest_sha256, " \
	"created, written FROM export"

/* Fills e from a row of EXPORT_COLUMNS, pointing into SQLite memory. */
static int
export_from_row(sqlite3_stmt *s, struct queue_export *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(s, 0);
	e->batch_id = sqlite3_column_int64(s, 1);
	e->number = sqlite3_column_int64(s, 2);
	if (queue_export_state_parse((const char *)sqlite3_column_text(s, 3),
	    &e->state) != 0)
		return ERR_NOMEM;
	e->dir = (const char *)sqlite3_column_text(s, 4);
	e->manifest_sha256 = (const char *)sqlite3_column_text(s, 5);
	e->created = sqlite3_column_int64(s, 6);
	e->written = sqlite3_column_int64(s, 7);
	return 0;
}

int
queue_export_get(struct store *st, int64_t id, struct queue_export *out,
    err_t *err)
{
	sqlite3_stmt *s;
	size_t dlen, mlen;
	char *mem;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = queue_sql_row(st, "SELECT " EXPORT_COLUMNS " WHERE id = ?", id,
	    "export", &s, err)) != 0)
		return r;
	if (export_from_row(s, out) != 0) {
		sqlite3_finalize(s);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	dlen = out->dir != NULL ? strlen(out->dir) + 1 : 0;
	mlen = out->manifest_sha256 != NULL ?
	    strlen(out->manifest_sha256) + 1 : 0;
	if ((mem = malloc(dlen + mlen + 1)) == NULL) {
		sqlite3_finalize(s);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	if (out->dir != NULL)
		out->dir = memcpy(mem, out->dir, dlen);
	if (out->manifest_sha256 != NULL)
		out->manifest_sha256 = memcpy(mem + dlen,
		    out->manifest_sha256, mlen);
	out->mem = mem;
	sqlite3_finalize(s);
	return 0;
}

void
queue_export_free(struct queue_export *e)
{
	if (e == NULL)
		return;
	free(e->mem);
	memset(e, 0, sizeof(*e));
}

int
queue_export_list(struct store *st, int64_t batch, queue_export_cb cb,
    void *ctx, err_t *err)
{
	sqlite3_stmt *s;
	struct queue_export e;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "SELECT " EXPORT_COLUMNS " WHERE ?1 = 0 "
	    "OR batch_id = ?1 ORDER BY id", &s, err)) != 0)
		return r;
	store_bind_int(s, 1, batch, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (export_from_row(s, &e) != 0) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &e)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list exports", err);
	sqlite3_finalize(s);
	return r;
}

/* --- state --------------------------------------------------------------- */

/*
 * The database's floor under the approval tally for a re-export, as
 * queue.c's for a batch: distinct officers (by person when known) other
 * than the batch's requester, over this export's digest, at least the
 * batch's quorum. *rejections gets the counted rejections.
 */
static int
export_votes(struct store *st, int64_t id, int64_t *quorum,
    int64_t *approvals, int64_t *rejections, err_t *err)
{
	static const char sql[] =
	    "SELECT b.quorum,"
	    " (SELECT count(DISTINCT coalesce('p' || a.person_id,"
	    "  a.officer_sha256)) FROM approval a WHERE a.kind = 'export' AND"
	    "  a.object = x.id AND a.decision = 'approve' AND"
	    "  a.digest = ?2 AND a.officer_sha256 IS NOT u.signer_sha256"
	    "  AND (a.person_id IS NULL OR u.person_id IS NULL OR"
	    "  a.person_id <> u.person_id)),"
	    " (SELECT count(*) FROM approval a WHERE a.kind = 'export' AND"
	    "  a.object = x.id AND a.decision = 'reject' AND"
	    "  a.digest = ?2 AND a.officer_sha256 IS NOT u.signer_sha256"
	    "  AND (a.person_id IS NULL OR u.person_id IS NULL OR"
	    "  a.person_id <> u.person_id))"
	    " FROM export x JOIN batch b ON b.id = x.batch_id"
	    " JOIN bundle u ON u.id = b.bundle_id WHERE x.id = ?1";
	char digest[65];
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_export_digest(st, id, digest, err)) != 0 ||
	    (r = queue_sql_prepare(st, sql, &s, err)) != 0)
		return r;
	store_bind_int(s, 1, id, &rc);
	store_bind_text(s, 2, digest, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_ROW)
		r = queue_sql_err(st, "count approvals", err);
	else {
		*quorum = sqlite3_column_int64(s, 0);
		*approvals = sqlite3_column_int64(s, 1);
		*rejections = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return r;
}

/* Checks what approved -> written records before any SQL. */
static int
export_check_written(int64_t id, const char *dir, const char *sha,
    err_t *err)
{
	size_t n;

	if (dir == NULL || (n = strlen(dir)) == 0 ||
	    n > QUEUE_EXPORT_DIR_MAX || !text_clean(dir) ||
	    strchr(dir, '/') != NULL || strcmp(dir, ".") == 0 ||
	    strcmp(dir, "..") == 0)
		return err_set(err, ERR_INVALID, "export #%lld: a written "
		    "export names its outbox subdirectory (one clean path "
		    "component)", (long long)id);
	if (sha == NULL || strlen(sha) != 64 || !text_is_lower_hex(sha, 64))
		return err_set(err, ERR_INVALID, "export #%lld: a written "
		    "export names the SHA-256 of its MANIFEST as 64 "
		    "lower-case hex digits", (long long)id);
	return 0;
}

/* Moves the export inside the caller's transaction. */
static int
export_set_state(struct store *st, int64_t id, enum queue_export_state from,
    enum queue_export_state to, const char *dir, const char *sha,
    int64_t now, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "UPDATE export SET state = ?, dir = ?, "
	    "manifest_sha256 = ?, written = ? WHERE id = ? AND state = ?", &s,
	    err)) != 0)
		return r;
	store_bind_text(s, 1, queue_export_state_name(to), &rc);
	store_bind_text(s, 2, dir, &rc);
	store_bind_text(s, 3, sha, &rc);
	if (to == QUEUE_EXPORT_WRITTEN)
		store_bind_int(s, 4, now, &rc);
	store_bind_int(s, 5, id, &rc);
	store_bind_text(s, 6, queue_export_state_name(from), &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, "change export state", err);
	else if (sqlite3_changes(store_db(st)) != 1)
		r = err_set(err, ERR_INTERNAL, "export #%lld left state '%s' "
		    "while it was being changed", (long long)id,
		    queue_export_state_name(from));
	sqlite3_finalize(s);
	return r;
}

int
queue_export_transition(struct store *st, int64_t id,
    enum queue_export_state from, enum queue_export_state to,
    const char *dir, const char *manifest_sha256, int64_t now, err_t *err)
{
	enum queue_export_state cur = QUEUE_EXPORT_FAILED;
	int64_t quorum = 0, approvals = 0, rejections = 0;
	sqlite3_stmt *s;
	int ok, r;

	if (queue_export_state_name(from) == NULL ||
	    queue_export_state_name(to) == NULL)
		return err_set(err, ERR_INVALID, "no such export state");
	ok = (from == QUEUE_EXPORT_PENDING_APPROVAL &&
	    (to == QUEUE_EXPORT_APPROVED || to == QUEUE_EXPORT_FAILED)) ||
	    (from == QUEUE_EXPORT_APPROVED && to == QUEUE_EXPORT_WRITTEN);
	if (!ok)
		return err_set(err, ERR_INVALID, "export #%lld cannot go from "
		    "'%s' to '%s'", (long long)id, queue_export_state_name(from),
		    queue_export_state_name(to));
	if (to == QUEUE_EXPORT_WRITTEN) {
		if ((r = export_check_written(id, dir, manifest_sha256,
		    err)) != 0)
			return r;
	} else if (dir != NULL || manifest_sha256 != NULL)
		return err_set(err, ERR_INVALID, "export #%lld: only a written "
		    "export records a directory and manifest", (long long)id);
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = queue_sql_row(st, "SELECT state FROM export WHERE id = ?", id,
	    "export", &s, err)) != 0)
		goto out;
	r = queue_export_state_parse((const char *)sqlite3_column_text(s, 0),
	    &cur) == 0 ? 0 : err_set(err, ERR_NOMEM, "out of memory");
	sqlite3_finalize(s);
	if (r != 0)
		goto out;
	if (cur != from) {
		r = err_set(err, ERR_INVALID, "export #%lld is '%s', not '%s'; "
		    "it cannot go to '%s'", (long long)id,
		    queue_export_state_name(cur), queue_export_state_name(from),
		    queue_export_state_name(to));
		goto out;
	}
	if (from == QUEUE_EXPORT_PENDING_APPROVAL &&
	    (r = export_votes(st, id, &quorum, &approvals, &rejections,
	    err)) != 0)
		goto out;
	if (to == QUEUE_EXPORT_APPROVED && rejections > 0) {
		r = err_set(err, ERR_POLICY, "export #%lld was rejected by an "
		    "officer; it cannot be approved", (long long)id);
		goto out;
	}
	if (to == QUEUE_EXPORT_APPROVED && approvals < quorum) {
		r = err_set(err, ERR_POLICY, "export #%lld has %lld of the "
		    "%lld approvals it needs (distinct officers, not the "
		    "requester, over the export's digest)", (long long)id,
		    (long long)approvals, (long long)quorum);
		goto out;
	}
	/* The reason of a failed re-export is the rejection's own. */
	if (to == QUEUE_EXPORT_FAILED && rejections == 0) {
		r = err_set(err, ERR_POLICY, "export #%lld has no recorded "
		    "rejection (by an officer, not the requester, over the "
		    "export's digest); a re-export fails only when rejected",
		    (long long)id);
		goto out;
	}
	r = export_set_state(st, id, from, to, dir, manifest_sha256, now, err);
out:
	return store_end(st, r, err);
}
