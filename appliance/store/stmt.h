/*
 * stmt.h: prepared-statement helpers for the store and for the modules
 * that keep tables in it (queue), so that every one of them prepares,
 * binds and maps SQLite's failures the same way, and checks a value meant
 * for an enumerated column before SQL sees it.
 *
 * Binders keep the first failure in *rc (start it at SQLITE_OK), so that a
 * run of binds is checked once. Bound memory is not copied: it must
 * outlive the step. Functions that return int give 0 or a negative ERR_*
 * code with a message in err (err may be NULL).
 */
#ifndef AIRLOCK_STORE_STMT_H
#define AIRLOCK_STORE_STMT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/err.h"

/*
 * The ERR_* for the connection's last failure: ERR_EXISTS for a UNIQUE or
 * primary key constraint, ERR_INVALID for any other constraint, ERR_NOMEM,
 * else ERR_IO.
 */
int store_errcode(struct store *s);

/* Sets err to code with "PATH: what: SQLite's message"; returns code. */
int store_sqlerr(struct store *s, int code, const char *what, err_t *err);

/* Prepares sql into *stmt; on failure *stmt is NULL and ERR_INTERNAL. */
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **stmt,
    err_t *err);

/* Binds text v to parameter i; NULL binds SQL NULL. */
void store_bind_text(sqlite3_stmt *stmt, int i, const char *v, int *rc);

/* Binds len bytes of v to parameter i; NULL binds SQL NULL. */
void store_bind_blob(sqlite3_stmt *stmt, int i, const void *v, size_t len,
    int *rc);

/* Binds the integer v to parameter i. */
void store_bind_int(sqlite3_stmt *stmt, int i, int64_t v, int *rc);

/* Binds a row id to parameter i; 0 stands for "none" and binds SQL NULL. */
void store_bind_id(sqlite3_stmt *stmt, int i, int64_t v, int *rc);

/*
 * Steps an INSERT whose binds left bindrc and finalizes it; *id_out (may
 * be NULL) gets the new row id. Failures are store_errcode's, with "PATH:
 * cannot add what: SQLite's message" naming the refused column.
 */
int store_insert(struct store *s, sqlite3_stmt *stmt, int bindrc,
    const char *what, int64_t *id_out, err_t *err);

/*
 * 1 when v is one of the NULL-terminated choices. Otherwise 0, with the
 * choices written to list as "a, b, c" (cut short when list is too
 * small), for a message that says what would have been accepted.
 */
int store_choice(const char *v, const char *const *choices, char *list,
    size_t listsz);

#endif
