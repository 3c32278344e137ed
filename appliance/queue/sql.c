/* sql.c: SQLite plumbing shared by the queue's modules (see sql.h). */
#include "queue/sql.h"

#include "store/stmt.h"

int
queue_sql_err(struct store *st, const char *what, err_t *err)
{
	return store_sqlerr(st, store_errcode(st), what, err);
}

int
queue_sql_binderr(struct store *st, int rc, err_t *err)
{
	return err_set(err, rc == SQLITE_NOMEM ? ERR_NOMEM : ERR_INTERNAL,
	    "%s: cannot bind values: %s", store_path(st), sqlite3_errstr(rc));
}

int
queue_sql_prepare(struct store *st, const char *sql, sqlite3_stmt **s,
    err_t *err)
{
	return store_prepare(st, sql, s, NULL) != 0 ?
	    queue_sql_err(st, "prepare", err) : 0;
}

int
queue_sql_prepare_id(struct store *st, const char *sql, int64_t id,
    sqlite3_stmt **s, err_t *err)
{
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, sql, s, err)) != 0)
		return r;
	store_bind_int(*s, 1, id, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*s);
		*s = NULL;
		return queue_sql_binderr(st, rc, err);
	}
	return 0;
}

int
queue_sql_quorum(struct store *st, sqlite3_stmt *s, const char *what,
    const char *over, err_t *err)
{
	int64_t quorum, approvals, rejections;

	if (sqlite3_step(s) != SQLITE_ROW) {
		int r = queue_sql_err(st, "count approvals", err);

		sqlite3_finalize(s);
		return r;
	}
	quorum = sqlite3_column_int64(s, 0);
	approvals = sqlite3_column_int64(s, 1);
	rejections = sqlite3_column_int64(s, 2);
	sqlite3_finalize(s);
	if (rejections > 0)
		return err_set(err, ERR_POLICY, "%s was rejected by an officer; "
		    "it cannot be approved", what);
	if (approvals < quorum)
		return err_set(err, ERR_POLICY, "%s has %lld of the %lld "
		    "approvals it needs (distinct officers, not the requester, "
		    "over %s)", what, (long long)approvals, (long long)quorum,
		    over);
	return 0;
}

int
queue_sql_quorum_over(struct store *st, const char *sql, int64_t id,
    const char *digest, const char *what, const char *over, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare_id(st, sql, id, &s, err)) != 0)
		return r;
	store_bind_text(s, 2, digest, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	return queue_sql_quorum(st, s, what, over, err);
}

int
queue_sql_row(struct store *st, const char *sql, int64_t id,
    const char *what, sqlite3_stmt **s, err_t *err)
{
	int rc, r;

	if ((r = queue_sql_prepare_id(st, sql, id, s, err)) != 0)
		return r;
	if ((rc = sqlite3_step(*s)) == SQLITE_ROW) {
		return 0;
	} else {
		r = rc == SQLITE_DONE ? err_set(err, ERR_NOTFOUND, "%s: no "
		    "%s #%lld", store_path(st), what, (long long)id) :
		    queue_sql_err(st, what, err);
	}
	sqlite3_finalize(*s);
	*s = NULL;
	return r;
}

int
queue_sql_run(struct store *st, sqlite3_stmt *s, int bindrc,
    const char *what, err_t *err)
{
	int r = 0;

	if (bindrc != SQLITE_OK)
		r = queue_sql_binderr(st, bindrc, err);
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = queue_sql_err(st, what, err);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}
