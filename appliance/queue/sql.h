/*
 * sql.h: the SQLite plumbing the queue's modules share (queue-internal):
 * how a failure is reported (a full disk said plainly), how a statement
 * keyed by one row id is prepared and stepped, how a transaction ends.
 * Functions return 0 or a negative ERR_* with a message in err.
 */
#ifndef AIRLOCK_QUEUE_SQL_H
#define AIRLOCK_QUEUE_SQL_H

#include <stdint.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/err.h"

/*
 * The connection's last failure as "PATH: what: SQLite's message", with
 * store_errcode's code; a full disk says that nothing of the change was
 * kept (the caller rolls the transaction back).
 */
int queue_sql_err(struct store *st, const char *what, err_t *err);

/* A failed bind (rc from the store_bind_* helpers). */
int queue_sql_binderr(struct store *st, int rc, err_t *err);

/* store_prepare, reported like every other failure of the connection. */
int queue_sql_prepare(struct store *st, const char *sql, sqlite3_stmt **s,
    err_t *err);

/* Prepares sql with id bound to ?1, not stepped; on failure *s is NULL. */
int queue_sql_prepare_id(struct store *st, const char *sql, int64_t id,
    sqlite3_stmt **s, err_t *err);

/*
 * The database's floor under an approval tally: s (prepared and bound,
 * finalized here) yields one row (quorum, approvals, rejections), each
 * counted by the caller's rules. 0 when the approvals reach the quorum
 * and nobody rejected; else ERR_POLICY naming `what` ("CRL request #3")
 * and what the approvals had to be over (`over`: "the request's digest").
 */
int queue_sql_quorum(struct store *st, sqlite3_stmt *s, const char *what,
    const char *over, err_t *err);

/*
 * queue_sql_quorum for sql with the object's id bound to ?1 and the
 * digest its approvals must be over (64 hex) to ?2.
 */
int queue_sql_quorum_over(struct store *st, const char *sql, int64_t id,
    const char *digest, const char *what, const char *over, err_t *err);

/*
 * Prepares sql, binds id to ?1 and steps to the first row, left in *s
 * for the caller to read and finalize. Without a row *s is NULL and the
 * result is ERR_NOTFOUND "no WHAT #id".
 */
int queue_sql_row(struct store *st, const char *sql, int64_t id,
    const char *what, sqlite3_stmt **s, err_t *err);

/*
 * Steps s, a statement that returns no row, whose binds gave bindrc (the
 * store_bind_* helpers' rc); then resets it and clears its bindings for
 * reuse (the caller finalizes it). what names the step in a failure.
 */
int queue_sql_run(struct store *st, sqlite3_stmt *s, int bindrc,
    const char *what, err_t *err);

#endif
