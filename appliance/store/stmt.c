/* stmt.c: prepared-statement helpers shared over the store (see stmt.h). */
#include "store/stmt.h"

#include <stdio.h>
#include <string.h>

int
store_errcode(struct store *s)
{
	int ext = sqlite3_extended_errcode(store_db(s));

	switch (ext & 0xff) {
	case SQLITE_CONSTRAINT:
		return ext == SQLITE_CONSTRAINT_UNIQUE ||
		    ext == SQLITE_CONSTRAINT_PRIMARYKEY ? ERR_EXISTS :
		    ERR_INVALID;
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	default:
		return ERR_IO;
	}
}

int
store_sqlerr(struct store *s, int code, const char *what, err_t *err)
{
	/*
	 * SQLite says "database or disk is full" for a full file system: an
	 * operator must learn which disk, and that nothing was changed.
	 */
	if ((sqlite3_extended_errcode(store_db(s)) & 0xff) == SQLITE_FULL)
		return err_set(err, code, "%s: %s: disk full: the database "
		    "cannot grow, so the step was not taken and nothing "
		    "recorded changed; free space on the file system of the "
		    "state directory and try again", store_path(s), what);
	return err_set(err, code, "%s: %s: %s", store_path(s), what,
	    sqlite3_errmsg(store_db(s)));
}

int
store_prepare(struct store *s, const char *sql, sqlite3_stmt **stmt,
    err_t *err)
{
	if (sqlite3_prepare_v2(store_db(s), sql, -1, stmt, NULL) !=
	    SQLITE_OK) {
		*stmt = NULL;
		return store_sqlerr(s, ERR_INTERNAL, "prepare", err);
	}
	return 0;
}

void
store_bind_text(sqlite3_stmt *stmt, int i, const char *v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = v == NULL ? sqlite3_bind_null(stmt, i) :
	    sqlite3_bind_text(stmt, i, v, -1, SQLITE_STATIC);
}

void
store_bind_blob(sqlite3_stmt *stmt, int i, const void *v, size_t len,
    int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = v == NULL ? sqlite3_bind_null(stmt, i) :
	    sqlite3_bind_blob64(stmt, i, v, len, SQLITE_STATIC);
}

void
store_bind_int(sqlite3_stmt *stmt, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = sqlite3_bind_int64(stmt, i, v);
}

void
store_bind_id(sqlite3_stmt *stmt, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = v == 0 ? sqlite3_bind_null(stmt, i) :
	    sqlite3_bind_int64(stmt, i, v);
}

int
store_insert(struct store *s, sqlite3_stmt *stmt, int bindrc,
    const char *what, int64_t *id_out, err_t *err)
{
	int r;

	if (bindrc != SQLITE_OK) {
		sqlite3_finalize(stmt);
		return err_set(err, bindrc == SQLITE_NOMEM ? ERR_NOMEM :
		    ERR_INTERNAL, "%s: cannot bind values for %s: %s",
		    store_path(s), what, sqlite3_errstr(bindrc));
	}
	if (sqlite3_step(stmt) == SQLITE_DONE) {
		if (id_out != NULL)
			*id_out = sqlite3_last_insert_rowid(store_db(s));
		sqlite3_finalize(stmt);
		return 0;
	}
	{
		char doing[256];

		snprintf(doing, sizeof(doing), "cannot add %s", what);
		r = store_sqlerr(s, store_errcode(s), doing, err);
	}
	sqlite3_finalize(stmt);
	return r;
}

int
store_choice(const char *v, const char *const *choices, char *list,
    size_t listsz)
{
	size_t used = 0, i;

	for (i = 0; choices[i] != NULL; i++)
		if (v != NULL && strcmp(v, choices[i]) == 0)
			return 1;
	if (listsz > 0)
		list[0] = '\0';
	for (i = 0; choices[i] != NULL; i++) {
		int w = snprintf(list + used, listsz - used, "%s%s",
		    i ? ", " : "", choices[i]);

		if (w < 0 || (size_t)w >= listsz - used)
			break;
		used += (size_t)w;
	}
	return 0;
}
