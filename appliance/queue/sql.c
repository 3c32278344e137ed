/* sql.c: SQLite plumbing shared by the queue's modules (see sql.h). */
#include "queue/sql.h"

#include "store/stmt.h"

int
queue_sql_err(struct store *st, const char *what, err_t *err)
{
	sqlite3 *db = store_db(st);

	if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_FULL)
		return err_set(err, ERR_IO, "%s: %s: the database is full "
		    "(no space left on its disk); nothing of this change was "
		    "kept", store_path(st), what);
	return err_set(err, store_errcode(st), "%s: %s: %s", store_path(st),
	    what, sqlite3_errmsg(db));
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
queue_sql_row(struct store *st, const char *sql, int64_t id,
    const char *what, sqlite3_stmt **s, err_t *err)
{
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, sql, s, err)) != 0)
		return r;
	store_bind_int(*s, 1, id, &rc);
	if (rc != SQLITE_OK) {
		r = queue_sql_binderr(st, rc, err);
	} else if ((rc = sqlite3_step(*s)) == SQLITE_ROW) {
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
queue_sql_end(struct store *st, int r, err_t *err)
{
	if (r != 0) {
		store_rollback(st);
		return r;
	}
	return store_commit(st, err);
}
