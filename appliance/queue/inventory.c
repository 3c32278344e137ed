/* inventory.c: the certificate inventory (see inventory.h). */
#include "queue/inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ingest/mac.h"
#include "pki/certalg.h"
#include "queue/sql.h"
#include "store/stmt.h"
#include "util/buf.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Longest serial: 20 octets of hex. */
#define INV_SERIAL_HEX_MAX 40
/* Longest profile, CA name or kind a filter names. */
#define INV_NAME_MAX 256
/* Most distinct (kind, key, signature) the algorithm report counts. */
#define INV_ALGS_MAX 4096

static const char *const inv_statuses[] = {
	"valid", "revoked", "hold", "expired", NULL
};
static const char *const inv_kinds[] = {
	"ca", "person", "appliance", "device", NULL
};

/* --- filters ------------------------------------------------------------- */

int
queue_serial_norm(const char *in, char *out, size_t outsz, err_t *err)
{
	char digits[INV_SERIAL_HEX_MAX + 1];
	size_t n = 0, i, run = 0;
	const char *p = in;

	if (outsz < sizeof(digits))
		return err_set(err, ERR_LIMIT, "serial buffer too small");
	out[0] = '\0';
	if (p == NULL || *p == '\0')
		return err_set(err, ERR_INVALID, "a serial needs hex digits");
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	/*
	 * Plain hex, or pairs separated by ':' as openssl x509 -text prints
	 * them: a colon only between digits, at most two digits apart.
	 */
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] == ':') {
			if (run == 0 || p[i + 1] == '\0' || run > 2)
				return err_set(err, ERR_INVALID, "serial: a ':' "
				    "must separate pairs of hex digits (at "
				    "character %zu)", (size_t)(p - in) + i + 1);
			run = 0;
			continue;
		}
		if (buf_hexval((unsigned char)p[i]) < 0)
			return err_set(err, ERR_INVALID, "serial: character %zu "
			    "is not a hex digit (0-9, a-f)", (size_t)(p - in) +
			    i + 1);
		run++;
		/* Leading zeros do not count, so "00ab" is "ab". */
		if (n == 0 && p[i] == '0')
			continue;
		if (n == INV_SERIAL_HEX_MAX)
			return err_set(err, ERR_INVALID, "serial: longer than "
			    "20 octets (40 hex digits)");
		digits[n++] = (char)(p[i] >= 'A' && p[i] <= 'F' ?
		    p[i] - 'A' + 'a' : p[i]);
	}
	if (strchr(p, ':') != NULL && run > 2)
		return err_set(err, ERR_INVALID, "serial: a ':' must separate "
		    "pairs of hex digits");
	if (i == 0)
		return err_set(err, ERR_INVALID, "a serial needs hex digits");
	if (n == 0)
		return err_set(err, ERR_INVALID, "serial: zero is no "
		    "certificate's serial");
	memcpy(out, digits, n);
	out[n] = '\0';
	return 0;
}

/* A name-like filter value: printable, bounded. */
static int
inv_check_name(const char *what, const char *v, err_t *err)
{
	if (v == NULL)
		return 0;
	if (*v == '\0' || strlen(v) > INV_NAME_MAX || !text_clean(v))
		return err_set(err, ERR_INVALID, "%s: give 1 to %d printable "
		    "characters", what, INV_NAME_MAX);
	return 0;
}

static int
inv_check_choice(const char *what, const char *v, const char *const *ch,
    err_t *err)
{
	char list[128], shown[80];

	if (v == NULL || store_choice(v, ch, list, sizeof(list)))
		return 0;
	return err_set(err, ERR_INVALID, "%s '%s' is not one of: %s", what,
	    text_show(v, strlen(v), 32, shown, sizeof(shown)), list);
}

/* The checked and normalised values of a filter, for binding. */
struct inv_q {
	char serial[INV_SERIAL_HEX_MAX + 1];
	char mac[13];
	char *subject;			/* lower-cased copy */
	int64_t until;			/* end of the expiry window */
};

static int
inv_check(const struct queue_cert_filter *f, struct inv_q *q, err_t *err)
{
	int r;

	memset(q, 0, sizeof(*q));
	if (f->serial != NULL &&
	    (r = queue_serial_norm(f->serial, q->serial, sizeof(q->serial),
	    err)) != 0)
		return r;
	if (f->mac != NULL) {
		unsigned char mac[MAC_LEN];

		if ((r = mac_parse(f->mac, mac, err)) != 0) {
			err_prefix(err, "MAC filter");
			return r;
		}
		buf_hex(mac, sizeof(mac), q->mac, sizeof(q->mac));
	}
	if (f->batch < 0 || f->after < 0 || f->offset < 0 || f->limit < 0)
		return err_set(err, ERR_INVALID, "batch, position, offset and "
		    "limit cannot be negative");
	if (f->by_expiry && f->after != 0)
		return err_set(err, ERR_INVALID, "a position (after) pages "
		    "only a list in issue order");
	if (f->expires_within < 0 || f->expires_within > QUEUE_CERT_DAYS_MAX)
		return err_set(err, ERR_INVALID, "an expiry window is 1 to %d "
		    "days", QUEUE_CERT_DAYS_MAX);
	if ((r = inv_check_choice("status", f->status, inv_statuses,
	    err)) != 0 ||
	    (r = inv_check_choice("kind", f->kind, inv_kinds, err)) != 0 ||
	    (r = inv_check_name("profile", f->profile, err)) != 0 ||
	    (r = inv_check_name("CA name", f->ca, err)) != 0)
		return r;
	if (f->subject != NULL) {
		size_t i, n = strlen(f->subject);

		if (n == 0 || n > QUEUE_CERT_SUBJECT_MAX ||
		    !text_clean(f->subject))
			return err_set(err, ERR_INVALID, "subject filter: give 1 "
			    "to %d bytes of printable text",
			    QUEUE_CERT_SUBJECT_MAX);
		if ((q->subject = strdup(f->subject)) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		/* As SQLite's lower(): ASCII only. */
		for (i = 0; i < n; i++)
			if (q->subject[i] >= 'A' && q->subject[i] <= 'Z')
				q->subject[i] = (char)(q->subject[i] - 'A' +
				    'a');
	}
	q->until = f->now + f->expires_within * 86400;
	return 0;
}

#define INV_COLUMNS "c.rowid, c.serial, c.ca_id, ca.name, c.kind, " \
	"c.subject, l.mac, b.profile, c.batch_id, c.line, c.not_before, " \
	"c.not_after, CASE WHEN c.status = 'valid' AND c.not_after < :now " \
	"THEN 'expired' ELSE c.status END, c.revoked_at, c.reason, " \
	"c.invalidity_date, c.revocation_id, c.sha256, c.created"

#define INV_FROM " FROM certificate c JOIN ca ON ca.id = c.ca_id " \
	"LEFT JOIN batch b ON b.id = c.batch_id " \
	"LEFT JOIN line l ON l.batch_id = c.batch_id AND l.line = c.line " \
	"WHERE 1"

/*
 * Builds the query for f: the WHERE holds a term only for what f sets,
 * so that the planner sees each indexed column plainly (an "?x IS NULL
 * OR col = ?x" term would hide it). Values are bound, never written in.
 */
static void
inv_sql(const struct queue_cert_filter *f, int count, buf_t *sql)
{
	(void)buf_printf(sql, "SELECT %s%s%s", count ? "count(*)" :
	    INV_COLUMNS, count || !f->with_der ? "" : ", c.der", INV_FROM);
	/*
	 * The primary key is (ca_id, serial): naming every CA, which the
	 * foreign key makes true, lets it find a serial in one probe per CA.
	 */
	if (f->serial != NULL)
		(void)buf_printf(sql, " AND c.serial = :serial AND "
		    "c.ca_id IN (SELECT id FROM ca)");
	if (f->batch != 0)
		(void)buf_printf(sql, " AND c.batch_id = :batch");
	if (f->mac != NULL)
		(void)buf_printf(sql, " AND l.mac = :mac");
	if (f->subject != NULL)
		(void)buf_printf(sql, " AND instr(lower(c.subject), :subject) "
		    "> 0");
	if (f->status != NULL && strcmp(f->status, "valid") == 0)
		(void)buf_printf(sql, " AND c.status = 'valid' AND "
		    "c.not_after >= :now");
	else if (f->status != NULL && strcmp(f->status, "expired") == 0)
		(void)buf_printf(sql, " AND c.status = 'valid' AND "
		    "c.not_after < :now");
	else if (f->status != NULL)
		/*
		 * The literal term lets the partial index of non-valid
		 * certificates, (ca_id, status), answer; naming every CA lets
		 * it answer without a CA filter.
		 */
		(void)buf_printf(sql, " AND c.status <> 'valid' AND "
		    "c.status = :status AND c.ca_id IN (SELECT id FROM ca)");
	if (f->unrevoked)
		(void)buf_printf(sql, " AND c.status <> 'revoked'");
	if (f->profile != NULL)
		(void)buf_printf(sql, " AND b.profile = :profile");
	if (f->ca != NULL)
		(void)buf_printf(sql, " AND ca.name = :ca");
	if (f->kind != NULL)
		(void)buf_printf(sql, " AND c.kind = :kind");
	if (f->expires_within != 0)
		(void)buf_printf(sql, " AND c.not_after >= :now AND "
		    "c.not_after <= :until");
	if (count)
		return;
	if (f->after != 0)
		(void)buf_printf(sql, " AND c.rowid > :after");
	(void)buf_printf(sql, " ORDER BY %sc.rowid", f->by_expiry ?
	    "c.not_after, " : "");
	if (f->limit != 0 || f->offset != 0)
		(void)buf_printf(sql, " LIMIT :limit OFFSET :offset");
}

/* Binds a named parameter when the statement has it. */
static void
inv_bind_text(sqlite3_stmt *s, const char *name, const char *v, int *rc)
{
	int i = sqlite3_bind_parameter_index(s, name);

	if (i > 0)
		store_bind_text(s, i, v, rc);
}

static void
inv_bind_int(sqlite3_stmt *s, const char *name, int64_t v, int *rc)
{
	int i = sqlite3_bind_parameter_index(s, name);

	if (i > 0)
		store_bind_int(s, i, v, rc);
}

/* Prepares and binds the query for f; on failure *s is NULL. */
static int
inv_prepare(struct store *st, const struct queue_cert_filter *f,
    const struct inv_q *q, int count, sqlite3_stmt **s, err_t *err)
{
	buf_t sql;
	int rc = SQLITE_OK, r;

	*s = NULL;
	buf_init(&sql, 4096);
	inv_sql(f, count, &sql);
	if (buf_put_u8(&sql, '\0') != 0) {
		buf_free(&sql);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	r = queue_sql_prepare(st, (const char *)sql.data, s, err);
	buf_free(&sql);
	if (r != 0)
		return r;
	inv_bind_int(*s, ":now", f->now, &rc);
	inv_bind_text(*s, ":serial", q->serial, &rc);
	inv_bind_int(*s, ":batch", f->batch, &rc);
	inv_bind_text(*s, ":mac", q->mac, &rc);
	inv_bind_text(*s, ":subject", q->subject, &rc);
	inv_bind_text(*s, ":status", f->status, &rc);
	inv_bind_text(*s, ":profile", f->profile, &rc);
	inv_bind_text(*s, ":ca", f->ca, &rc);
	inv_bind_text(*s, ":kind", f->kind, &rc);
	inv_bind_int(*s, ":until", q->until, &rc);
	inv_bind_int(*s, ":after", f->after, &rc);
	inv_bind_int(*s, ":limit", f->limit != 0 ? f->limit : -1, &rc);
	inv_bind_int(*s, ":offset", f->offset, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*s);
		*s = NULL;
		return queue_sql_binderr(st, rc, err);
	}
	return 0;
}

static const char *
inv_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Fills c from a row of INV_COLUMNS (and the DER after them). */
static int
inv_row(sqlite3_stmt *s, int with_der, struct queue_cert_row *c)
{
	memset(c, 0, sizeof(*c));
	c->pos = sqlite3_column_int64(s, 0);
	c->serial = inv_text(s, 1);
	c->ca_id = sqlite3_column_int64(s, 2);
	c->ca = inv_text(s, 3);
	c->kind = inv_text(s, 4);
	c->subject = inv_text(s, 5);
	c->mac = inv_text(s, 6);
	c->profile = inv_text(s, 7);
	c->batch = sqlite3_column_int64(s, 8);
	c->line = sqlite3_column_int64(s, 9);
	c->not_before = sqlite3_column_int64(s, 10);
	c->not_after = sqlite3_column_int64(s, 11);
	c->status = inv_text(s, 12);
	c->revoked_at = sqlite3_column_int64(s, 13);
	c->reason = inv_text(s, 14);
	c->invalidity_date = sqlite3_column_int64(s, 15);
	c->revocation_id = sqlite3_column_int64(s, 16);
	c->sha256 = inv_text(s, 17);
	c->issued = sqlite3_column_int64(s, 18);
	if (with_der) {
		c->der = sqlite3_column_blob(s, 19);
		c->der_len = (size_t)sqlite3_column_bytes(s, 19);
	}
	/* NOT NULL columns come back NULL only when SQLite ran out of memory. */
	if (c->serial == NULL || c->ca == NULL || c->kind == NULL ||
	    c->subject == NULL || c->status == NULL || c->sha256 == NULL ||
	    (with_der && c->der == NULL))
		return ERR_NOMEM;
	return 0;
}

int
queue_cert_list(struct store *st, const struct queue_cert_filter *f,
    queue_cert_cb cb, void *ctx, err_t *err)
{
	struct queue_cert_row c;
	struct inv_q q;
	sqlite3_stmt *s;
	int rc, r;

	if ((r = inv_check(f, &q, err)) != 0 ||
	    (r = inv_prepare(st, f, &q, 0, &s, err)) != 0) {
		free(q.subject);
		return r;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (inv_row(s, f->with_der, &c) != 0) {
			r = err_set(err, ERR_NOMEM, "out of memory");
			break;
		}
		if ((r = cb(ctx, &c)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = queue_sql_err(st, "list certificates", err);
	sqlite3_finalize(s);
	free(q.subject);
	return r;
}

int
queue_cert_count(struct store *st, const struct queue_cert_filter *f,
    int64_t *n, err_t *err)
{
	struct inv_q q;
	sqlite3_stmt *s;
	int r;

	*n = 0;
	if ((r = inv_check(f, &q, err)) != 0 ||
	    (r = inv_prepare(st, f, &q, 1, &s, err)) != 0) {
		free(q.subject);
		return r;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		r = queue_sql_err(st, "count certificates", err);
	sqlite3_finalize(s);
	free(q.subject);
	return r;
}

/* --- one certificate ----------------------------------------------------- */

/* What queue_cert_find saw: the first match, and the CAs of all. */
struct inv_find {
	queue_cert_cb cb;
	void *ctx;
	int64_t matches;
	char cas[512];
};

static int
inv_find_cb(void *ctx, const struct queue_cert_row *c)
{
	struct inv_find *fi = ctx;
	size_t used = strlen(fi->cas);

	snprintf(fi->cas + used, sizeof(fi->cas) - used, "%s'%s'",
	    used ? ", " : "", c->ca);
	return fi->matches++ == 0 && fi->cb != NULL ? fi->cb(fi->ctx, c) : 0;
}

/*
 * queue_cert_find, but cb sees the row only when it is the one match;
 * with two or more, nothing is called and the CAs are named.
 */
static int
inv_find(struct store *st, const char *ca, const char *serial, int64_t now,
    queue_cert_cb cb, void *ctx, err_t *err)
{
	struct queue_cert_filter f;
	struct inv_find fi;
	char norm[INV_SERIAL_HEX_MAX + 1];
	int r;

	if ((r = queue_serial_norm(serial, norm, sizeof(norm), err)) != 0)
		return r;
	memset(&fi, 0, sizeof(fi));
	memset(&f, 0, sizeof(f));
	f.serial = norm;
	f.ca = ca;
	f.now = now;
	/* Count first: a callback must not see one of several matches. */
	if ((r = queue_cert_list(st, &f, inv_find_cb, &fi, err)) != 0)
		return r;
	if (fi.matches == 0)
		return err_set(err, ERR_NOTFOUND, "no certificate with serial "
		    "%s%s%s%s", norm, ca ? " issued by CA '" : "", ca ? ca : "",
		    ca ? "'" : "");
	if (fi.matches > 1)
		return err_set(err, ERR_INVALID, "serial %s was issued by %lld "
		    "CAs (%s): name one", norm, (long long)fi.matches, fi.cas);
	if (cb == NULL)
		return 0;
	memset(&fi, 0, sizeof(fi));
	fi.cb = cb;
	fi.ctx = ctx;
	f.with_der = 1;
	return queue_cert_list(st, &f, inv_find_cb, &fi, err);
}

int
queue_cert_find(struct store *st, const char *ca, const char *serial,
    int64_t now, queue_cert_cb cb, void *ctx, err_t *err)
{
	return inv_find(st, ca, serial, now, cb, ctx, err);
}

/* --- history ------------------------------------------------------------- */

/* Same-second order of events, as inventory.h lists them. */
enum inv_rank {
	INV_REQUESTED, INV_DECIDED, INV_ISSUED, INV_EXPORTED,
	INV_REV_REQUESTED, INV_REV_DECIDED, INV_REV_APPLIED
};

struct inv_ev {
	int64_t at;
	int rank;
	size_t seq;
	char event[24];
	char who[160];
	int64_t object;
	char detail[768];
};

struct inv_hist {
	struct inv_ev *v;
	size_t n, cap;
	/* The certificate, from queue_cert_find. */
	int64_t ca_id, batch, line, issued;
	char serial[INV_SERIAL_HEX_MAX + 1];
	char ca[INV_NAME_MAX + 1];
	err_t *err;
	int code;			/* why inv_ev_add failed */
};

static struct inv_ev *
inv_ev_add(struct inv_hist *h, int64_t at, int rank, const char *event,
    const char *who, int64_t object)
{
	struct inv_ev *ev;

	if (h->n == QUEUE_CERT_EVENTS_MAX) {
		h->code = err_set(h->err, ERR_LIMIT, "the history holds more "
		    "than %d events", QUEUE_CERT_EVENTS_MAX);
		return NULL;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct inv_ev *v = realloc(h->v, cap * sizeof(*v));

		if (v == NULL) {
			h->code = err_set(h->err, ERR_NOMEM, "out of memory");
			return NULL;
		}
		h->v = v;
		h->cap = cap;
	}
	ev = &h->v[h->n];
	memset(ev, 0, sizeof(*ev));
	ev->at = at;
	ev->rank = rank;
	ev->seq = h->n++;
	snprintf(ev->event, sizeof(ev->event), "%s", event);
	if (who != NULL)
		text_show(who, strlen(who), 100, ev->who, sizeof(ev->who));
	ev->object = object;
	return ev;
}

static int
inv_hist_cert(void *ctx, const struct queue_cert_row *c)
{
	struct inv_hist *h = ctx;

	h->ca_id = c->ca_id;
	h->batch = c->batch;
	h->line = c->line;
	h->issued = c->issued;
	snprintf(h->serial, sizeof(h->serial), "%s", c->serial);
	snprintf(h->ca, sizeof(h->ca), "%s", c->ca);
	return 0;
}

/* Prepares sql and binds (a, b): b is text when not NULL. */
static int
inv_query(struct store *st, const char *sql, int64_t a, const char *b,
    sqlite3_stmt **s, err_t *err)
{
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, sql, s, err)) != 0)
		return r;
	store_bind_int(*s, 1, a, &rc);
	if (b != NULL)
		store_bind_text(*s, 2, b, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*s);
		*s = NULL;
		return queue_sql_binderr(st, rc, err);
	}
	return 0;
}

/* Ends a walk over s: finalizes, and maps a step failure. */
static int
inv_done(struct store *st, sqlite3_stmt *s, int rc, int r, const char *what,
    err_t *err)
{
	if (r == 0 && rc != SQLITE_DONE)
		r = queue_sql_err(st, what, err);
	sqlite3_finalize(s);
	return r;
}

/* A piece of stored text for a detail line, escaped and cut. */
static const char *
inv_show(sqlite3_stmt *s, int i, size_t max, char *out, size_t outsz)
{
	const char *t = inv_text(s, i);

	return text_show(t ? t : "", t ? strlen(t) : 0, max, out, outsz);
}

/* The request bundle of the certificate's batch. */
static int
inv_hist_request(struct store *st, struct inv_hist *h, err_t *err)
{
	sqlite3_stmt *s;
	char name[200], file[200];
	int rc, r = 0;

	if ((r = inv_query(st, "SELECT u.id, u.received_at, p.name, u.uuid, "
	    "u.sha256, u.file_name, b.name, b.profile FROM batch b "
	    "JOIN bundle u ON u.id = b.bundle_id "
	    "LEFT JOIN person p ON p.id = u.person_id WHERE b.id = ?", h->batch,
	    NULL, &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct inv_ev *ev;

		if ((ev = inv_ev_add(h, sqlite3_column_int64(s, 1),
		    INV_REQUESTED, "requested", inv_text(s, 2),
		    sqlite3_column_int64(s, 0))) == NULL) {
			r = h->code;
			break;
		}
		snprintf(ev->detail, sizeof(ev->detail), "bundle %lld (id %s, "
		    "SHA-256 %s, file %s) for batch %lld '%s', profile %s",
		    (long long)sqlite3_column_int64(s, 0), inv_text(s, 3) ?
		    inv_text(s, 3) : "-", inv_text(s, 4) ? inv_text(s, 4) : "-",
		    inv_show(s, 5, 100, file, sizeof(file)),
		    (long long)h->batch, inv_show(s, 6, 100, name,
		    sizeof(name)), inv_text(s, 7) ? inv_text(s, 7) : "-");
	}
	return inv_done(st, s, rc, r, "read the request", err);
}

/*
 * Officers' decisions of kind on object (kind "batch"), or on every
 * revocation request naming the certificate (kind "revocation").
 */
static int
inv_hist_votes(struct store *st, struct inv_hist *h, const char *kind,
    err_t *err)
{
	int rev = strcmp(kind, "revocation") == 0;
	sqlite3_stmt *s;
	char why[400];
	int rc, r;

	r = rev ? inv_query(st, "SELECT a.object, a.at, a.decision, "
	    "a.reason, coalesce(p.name, 'officer ' || a.officer_sha256) "
	    "FROM approval a LEFT JOIN person p ON p.id = a.person_id "
	    "WHERE a.kind = 'revocation' AND a.object IN (SELECT "
	    "revocation_id FROM revocation_item WHERE ca_id = ?1 AND "
	    "serial = ?2) ORDER BY a.id", h->ca_id, h->serial, &s, err) :
	    inv_query(st, "SELECT a.object, a.at, a.decision, a.reason, "
	    "coalesce(p.name, 'officer ' || a.officer_sha256) FROM approval a "
	    "LEFT JOIN person p ON p.id = a.person_id WHERE "
	    "a.kind = 'batch' AND a.object = ?1 ORDER BY a.id", h->batch, NULL,
	    &s, err);
	if (r != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int reject = inv_text(s, 2) != NULL &&
		    strcmp(inv_text(s, 2), "reject") == 0;
		struct inv_ev *ev;

		if ((ev = inv_ev_add(h, sqlite3_column_int64(s, 1),
		    rev ? INV_REV_DECIDED : INV_DECIDED, rev ? (reject ?
		    "revocation-rejected" : "revocation-approved") : (reject ?
		    "rejected" : "approved"), inv_text(s, 4),
		    sqlite3_column_int64(s, 0))) == NULL) {
			r = h->code;
			break;
		}
		snprintf(ev->detail, sizeof(ev->detail), "%s %lld%s%s",
		    rev ? "revocation" : "batch",
		    (long long)sqlite3_column_int64(s, 0), reject ? ": " : "",
		    reject ? inv_show(s, 3, 300, why, sizeof(why)) : "");
	}
	return inv_done(st, s, rc, r, "read the approvals", err);
}

static int
inv_hist_exports(struct store *st, struct inv_hist *h, err_t *err)
{
	sqlite3_stmt *s;
	char dir[300];
	int rc, r;

	if ((r = inv_query(st, "SELECT number, written, dir, manifest_sha256 "
	    "FROM export WHERE batch_id = ? AND state = 'written' "
	    "ORDER BY number", h->batch, NULL, &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct inv_ev *ev;

		if ((ev = inv_ev_add(h, sqlite3_column_int64(s, 1),
		    INV_EXPORTED, "exported", NULL,
		    sqlite3_column_int64(s, 0))) == NULL) {
			r = h->code;
			break;
		}
		snprintf(ev->detail, sizeof(ev->detail), "export %lld of batch "
		    "%lld to outbox/%s (MANIFEST SHA-256 %s)",
		    (long long)sqlite3_column_int64(s, 0), (long long)h->batch,
		    inv_show(s, 2, 200, dir, sizeof(dir)), inv_text(s, 3) ?
		    inv_text(s, 3) : "-");
	}
	return inv_done(st, s, rc, r, "read the exports", err);
}

/* The revocation requests naming the certificate, and their outcome. */
static int
inv_hist_revocations(struct store *st, struct inv_hist *h, err_t *err)
{
	sqlite3_stmt *s;
	char msg[400], when[TIMEUTIL_STRLEN], inv[64];
	int rc, r;

	if ((r = inv_query(st, "SELECT r.id, r.created, p.name, r.reason, "
	    "r.message, r.invalidity_date, r.state, r.applied "
	    "FROM revocation_item i JOIN revocation r ON r.id = "
	    "i.revocation_id LEFT JOIN person p ON p.id = r.person_id "
	    "WHERE i.ca_id = ?1 AND i.serial = ?2 ORDER BY r.id", h->ca_id,
	    h->serial, &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		const char *reason = inv_text(s, 3) ? inv_text(s, 3) : "?";
		const char *state = inv_text(s, 6) ? inv_text(s, 6) : "?";
		const char *applied;
		struct inv_ev *ev;

		inv[0] = '\0';
		if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
			timeutil_format(sqlite3_column_int64(s, 5), when);
			snprintf(inv, sizeof(inv), ", invalidity date %s", when);
		}
		if ((ev = inv_ev_add(h, sqlite3_column_int64(s, 1),
		    INV_REV_REQUESTED, "revocation-requested", inv_text(s, 2),
		    id)) == NULL) {
			r = h->code;
			break;
		}
		snprintf(ev->detail, sizeof(ev->detail), "revocation %lld, "
		    "reason %s%s: %s (now %s)", (long long)id, reason, inv,
		    inv_show(s, 4, 300, msg, sizeof(msg)), state);
		if (strcmp(state, "applied") != 0)
			continue;
		applied = strcmp(reason, "removeFromCRL") == 0 ? "released" :
		    strcmp(reason, "certificateHold") == 0 ? "held" : "revoked";
		if ((ev = inv_ev_add(h, sqlite3_column_int64(s, 7),
		    INV_REV_APPLIED, applied, NULL, id)) == NULL) {
			r = h->code;
			break;
		}
		snprintf(ev->detail, sizeof(ev->detail), "revocation %lld "
		    "applied, reason %s%s", (long long)id, reason, inv);
	}
	return inv_done(st, s, rc, r, "read the revocations", err);
}

static int
inv_ev_cmp(const void *a, const void *b)
{
	const struct inv_ev *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
queue_cert_history(struct store *st, const char *ca, const char *serial,
    queue_cert_event_cb cb, void *ctx, err_t *err)
{
	struct queue_cert_event out;
	struct inv_hist h;
	struct inv_ev *ev;
	size_t i;
	int r;

	memset(&h, 0, sizeof(h));
	h.err = err;
	/* now only decides "expired", which the history does not show. */
	if ((r = inv_find(st, ca, serial, 0, inv_hist_cert, &h, err)) != 0)
		return r;
	if (h.batch != 0 && ((r = inv_hist_request(st, &h, err)) != 0 ||
	    (r = inv_hist_votes(st, &h, "batch", err)) != 0))
		goto out;
	if ((ev = inv_ev_add(&h, h.issued, INV_ISSUED, "issued", NULL,
	    h.batch)) == NULL) {
		r = h.code;
		goto out;
	}
	if (h.batch != 0)
		snprintf(ev->detail, sizeof(ev->detail), "serial %s by CA '%s', "
		    "batch %lld line %lld", h.serial, h.ca, (long long)h.batch,
		    (long long)h.line);
	else
		snprintf(ev->detail, sizeof(ev->detail), "serial %s by CA '%s'",
		    h.serial, h.ca);
	if ((h.batch != 0 && (r = inv_hist_exports(st, &h, err)) != 0) ||
	    (r = inv_hist_revocations(st, &h, err)) != 0 ||
	    (r = inv_hist_votes(st, &h, "revocation", err)) != 0)
		goto out;
	qsort(h.v, h.n, sizeof(*h.v), inv_ev_cmp);
	for (i = 0; i < h.n && r == 0; i++) {
		out.at = h.v[i].at;
		out.event = h.v[i].event;
		out.who = h.v[i].who[0] ? h.v[i].who : NULL;
		out.object = h.v[i].object;
		out.detail = h.v[i].detail;
		r = cb(ctx, &out);
	}
out:
	free(h.v);
	return r;
}

/* --- reports ------------------------------------------------------------- */

int
queue_report_issuance(struct store *st, int by_month, queue_issuance_cb cb,
    void *ctx, err_t *err)
{
	/*
	 * Without months, certificates are counted per batch on the index
	 * of certificate(batch_id) alone, then grouped: the table itself is
	 * never read.
	 */
	static const char by_batch[] = "SELECT b.profile, p.name, u.person_id, "
	    "NULL, sum(k.n), count(*) FROM (SELECT batch_id, count(*) AS n "
	    "FROM certificate WHERE batch_id IS NOT NULL GROUP BY batch_id) k "
	    "JOIN batch b ON b.id = k.batch_id "
	    "JOIN bundle u ON u.id = b.bundle_id "
	    "LEFT JOIN person p ON p.id = u.person_id "
	    "GROUP BY b.profile, u.person_id "
	    "ORDER BY b.profile, p.name, u.person_id";
	static const char monthly[] = "SELECT b.profile, p.name, u.person_id, "
	    "strftime('%Y-%m', c.created, 'unixepoch') AS m, count(*), "
	    "count(DISTINCT c.batch_id) FROM certificate c "
	    "JOIN batch b ON b.id = c.batch_id "
	    "JOIN bundle u ON u.id = b.bundle_id "
	    "LEFT JOIN person p ON p.id = u.person_id "
	    "WHERE c.batch_id IS NOT NULL "
	    "GROUP BY b.profile, u.person_id, m "
	    "ORDER BY b.profile, p.name, u.person_id, m";
	struct queue_issuance_row row;
	sqlite3_stmt *s;
	int rc, r;

	if ((r = queue_sql_prepare(st, by_month ? monthly : by_batch, &s,
	    err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.profile = inv_text(s, 0);
		row.operator_name = inv_text(s, 1) ? inv_text(s, 1) :
		    "(unknown)";
		row.operator_id = sqlite3_column_int64(s, 2);
		row.month = inv_text(s, 3);
		row.certificates = sqlite3_column_int64(s, 4);
		row.batches = sqlite3_column_int64(s, 5);
		if (row.profile == NULL || (by_month && row.month == NULL)) {
			r = err_set(err, ERR_NOMEM, "out of memory");
			break;
		}
		if ((r = cb(ctx, &row)) != 0)
			break;
	}
	return inv_done(st, s, rc, r, "count issuance", err);
}

struct inv_alg {
	char kind[16];
	struct certalg a;
	int64_t n;
};

static int
inv_alg_cmp(const void *a, const void *b)
{
	const struct inv_alg *x = a, *y = b;
	int c;

	if ((c = strcmp(x->kind, y->kind)) != 0 ||
	    (c = strcmp(x->a.key, y->a.key)) != 0)
		return c;
	return strcmp(x->a.sig, y->a.sig);
}

int
queue_report_algorithms(struct store *st, queue_alg_cb cb, void *ctx,
    err_t *err)
{
	struct inv_alg *v = NULL;
	struct queue_alg_row row;
	struct certalg a;
	sqlite3_stmt *s;
	size_t n = 0, last = 0, i;
	int rc, r;
	err_t ignored;

	if ((r = queue_sql_prepare(st, "SELECT kind, der FROM certificate", &s,
	    err)) != 0)
		return r;
	if ((v = calloc(INV_ALGS_MAX, sizeof(*v))) == NULL) {
		sqlite3_finalize(s);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *kind = inv_text(s, 0) ? inv_text(s, 0) : "?";
		struct inv_alg *hit = NULL;

		if (certalg_read(sqlite3_column_blob(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1), &a, &ignored) != 0) {
			snprintf(a.key, sizeof(a.key), "(unreadable)");
			snprintf(a.sig, sizeof(a.sig), "(unreadable)");
		}
		/* Certificates come in runs of one kind: try the last first. */
		for (i = 0; i < n && hit == NULL; i++) {
			struct inv_alg *c = &v[(last + i) % n];

			if (strcmp(c->kind, kind) == 0 &&
			    strcmp(c->a.key, a.key) == 0 &&
			    strcmp(c->a.sig, a.sig) == 0) {
				hit = c;
				last = (size_t)(c - v);
			}
		}
		if (hit == NULL) {
			if (n == INV_ALGS_MAX) {
				r = err_set(err, ERR_LIMIT, "more than %d "
				    "distinct algorithm combinations",
				    INV_ALGS_MAX);
				break;
			}
			hit = &v[n];
			last = n++;
			snprintf(hit->kind, sizeof(hit->kind), "%s", kind);
			hit->a = a;
		}
		hit->n++;
	}
	r = inv_done(st, s, rc, r, "read certificates", err);
	if (r == 0)
		qsort(v, n, sizeof(*v), inv_alg_cmp);
	for (i = 0; r == 0 && i < n; i++) {
		row.kind = v[i].kind;
		row.key = v[i].a.key;
		row.sig = v[i].a.sig;
		row.certificates = v[i].n;
		r = cb(ctx, &row);
	}
	free(v);
	return r;
}
