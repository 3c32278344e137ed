/*
 * names.c: which device names and MACs a profile already holds, across
 * batches (queue.h, "names held across batches").
 *
 * A name is held by a certificate of the profile that is still good (valid
 * or on hold, not expired), or by a live line (not failed) of another batch
 * of the profile that may still be signed (pending approval, approved,
 * issuing). Lines of rejected, failed or finished batches hold nothing by
 * themselves: what they issued is held through its certificate.
 */
#include "queue/queue.h"

#include <string.h>

#include "store/stmt.h"
#include "util/text.h"

/* Certificates first: they are what must never be issued twice. */
static const char names_cert_by_name[] =
	"SELECT l.batch_id, l.line FROM line l"
	" JOIN batch b ON b.id = l.batch_id"
	" JOIN certificate c ON c.batch_id = l.batch_id AND c.line = l.line"
	" WHERE l.name = ?1 AND b.profile = ?2"
	" AND c.status IN ('valid', 'hold') AND c.not_after >= ?3"
	" ORDER BY l.batch_id, l.line LIMIT 1";
static const char names_cert_by_mac[] =
	"SELECT l.batch_id, l.line FROM line l"
	" JOIN batch b ON b.id = l.batch_id"
	" JOIN certificate c ON c.batch_id = l.batch_id AND c.line = l.line"
	" WHERE l.mac = ?1 AND b.profile = ?2"
	" AND c.status IN ('valid', 'hold') AND c.not_after >= ?3"
	" ORDER BY l.batch_id, l.line LIMIT 1";
static const char names_line_by_name[] =
	"SELECT l.batch_id, l.line FROM line l"
	" JOIN batch b ON b.id = l.batch_id"
	" WHERE l.name = ?1 AND b.profile = ?2 AND l.status <> 'failed'"
	" AND b.state IN ('pending-approval', 'approved', 'issuing')"
	" AND b.id IS NOT ?3"
	" ORDER BY l.batch_id, l.line LIMIT 1";
static const char names_line_by_mac[] =
	"SELECT l.batch_id, l.line FROM line l"
	" JOIN batch b ON b.id = l.batch_id"
	" WHERE l.mac = ?1 AND b.profile = ?2 AND l.status <> 'failed'"
	" AND b.state IN ('pending-approval', 'approved', 'issuing')"
	" AND b.id IS NOT ?3"
	" ORDER BY l.batch_id, l.line LIMIT 1";

enum { NAMES_CERT_NAME, NAMES_CERT_MAC, NAMES_LINE_NAME, NAMES_LINE_MAC,
	NAMES_NSTMT };

/*
 * Runs one prepared lookup for value: 1 with *batch and *line when a row
 * holds it, 0 when none, or a negative ERR_*. The statement is reset
 * before returning, so no read is open while the caller's callback runs.
 */
static int
names_lookup(struct store *st, sqlite3_stmt *s, const char *value,
    const char *profile, int64_t third, int64_t *batch, int64_t *line,
    err_t *err)
{
	int rc = SQLITE_OK, r;

	store_bind_text(s, 1, value, &rc);
	store_bind_text(s, 2, profile, &rc);
	store_bind_int(s, 3, third, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_reset(s);
		return err_set(err, rc == SQLITE_NOMEM ? ERR_NOMEM :
		    ERR_INTERNAL, "%s: cannot bind values: %s", store_path(st),
		    sqlite3_errstr(rc));
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*batch = sqlite3_column_int64(s, 0);
		*line = sqlite3_column_int64(s, 1);
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = store_sqlerr(st, store_errcode(st), "look up held names",
		    err);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}

int
queue_names_taken(struct store *st, const char *profile,
    const char *const *names, const char *const *macs, size_t n, int64_t now,
    int64_t exclude_batch, queue_taken_cb cb, void *ctx, err_t *err)
{
	static const char *const sql[NAMES_NSTMT] = {
		names_cert_by_name, names_cert_by_mac, names_line_by_name,
		names_line_by_mac
	};
	sqlite3_stmt *s[NAMES_NSTMT] = { NULL };
	size_t i, k;
	int r = 0;

	if (st == NULL || profile == NULL || *profile == '\0' ||
	    (n > 0 && names == NULL) || cb == NULL)
		return err_set(err, ERR_INVALID, "queue_names_taken: missing "
		    "argument");
	if (n > QUEUE_MAX_LINES)
		return err_set(err, ERR_LIMIT, "at most %d names are checked "
		    "at once, not %zu", QUEUE_MAX_LINES, n);
	for (k = 0; k < NAMES_NSTMT; k++)
		if ((r = store_prepare(st, sql[k], &s[k], err)) != 0)
			goto done;
	for (i = 0; i < n; i++) {
		const char *mac = macs != NULL ? macs[i] : NULL;
		const char *held_by = NULL;
		int64_t batch = 0, line = 0;

		if (names[i] == NULL || *names[i] == '\0') {
			r = err_set(err, ERR_INVALID, "name %zu is empty", i);
			goto done;
		}
		if (mac != NULL && !text_is_lower_hex(mac, 12)) {
			r = err_set(err, ERR_INVALID, "MAC %zu is not 12 "
			    "lower-case hex digits", i);
			goto done;
		}
		/* Batch ids start at 1, so "IS NOT 0" excludes nothing. */
		for (k = 0; k < NAMES_NSTMT && held_by == NULL; k++) {
			const char *v = (k == NAMES_CERT_MAC ||
			    k == NAMES_LINE_MAC) ? mac : names[i];
			int64_t third = k < NAMES_LINE_NAME ? now :
			    exclude_batch;

			if (v == NULL)
				continue;
			r = names_lookup(st, s[k], v, profile, third, &batch,
			    &line, err);
			if (r < 0)
				goto done;
			if (r == 1)
				held_by = k < NAMES_LINE_NAME ? "certificate" :
				    "batch";
		}
		r = 0;
		if (held_by != NULL && (r = cb(ctx, i, batch, line,
		    held_by)) != 0)
			goto done;
	}
done:
	for (k = 0; k < NAMES_NSTMT; k++)
		sqlite3_finalize(s[k]);
	return r;
}
