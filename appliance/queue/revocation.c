/*
 * revocation.c: revocation requests and their items in the store (see
 * revocation.h and docs/formats/bundle.md, section 6).
 *
 * Resolution reads the certificate table target by target and keeps what
 * it found as (CA, serial, target) triples in memory: bounded by
 * QUEUE_REVOCATION_MAX_ITEMS, about 64 bytes each. They are counted before
 * anything is written because the request row carries its item count and
 * the items refer to the request. Applying is set-based SQL inside one
 * BEGIN IMMEDIATE transaction, so a request of a million items is one
 * commit, and the store's triggers check every certificate that moves.
 */
#include "queue/revocation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "queue/sql.h"
#include "store/stmt.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Characters of a target's text quoted in a message. */
#define REV_SHOW_MAX 80
/* CA names listed when several CAs hold a serial. */
#define REV_CAS_LISTED 4

const char *const queue_revocation_reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold",
	"privilegeWithdrawn", "aACompromise", "removeFromCRL", NULL
};

static const char *const rev_state_names[QUEUE_REVOCATION_STATE_COUNT] = {
	"pending-approval", "approved", "rejected", "applied"
};

static const char *const rev_kind_names[] = {
	"serial", "batch", "mac", "subject"
};

int
queue_revocation_reason_ok(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && queue_revocation_reasons[i] != NULL; i++)
		if (strcmp(name, queue_revocation_reasons[i]) == 0)
			return 1;
	return 0;
}

const char *
queue_revocation_state_name(enum queue_revocation_state s)
{
	if ((int)s < 0 || s >= QUEUE_REVOCATION_STATE_COUNT)
		return NULL;
	return rev_state_names[s];
}

int
queue_revocation_state_parse(const char *name,
    enum queue_revocation_state *out)
{
	int i;

	for (i = 0; name != NULL && i < QUEUE_REVOCATION_STATE_COUNT; i++)
		if (strcmp(name, rev_state_names[i]) == 0) {
			*out = (enum queue_revocation_state)i;
			return 0;
		}
	return ERR_INVALID;
}

const char *
queue_target_kind_name(enum queue_target_kind k)
{
	if ((int)k < 0 || (size_t)k >= sizeof(rev_kind_names) /
	    sizeof(rev_kind_names[0]))
		return NULL;
	return rev_kind_names[k];
}

/* What a reason does to a certificate. */
enum rev_action { REV_REVOKE, REV_HOLD, REV_RELEASE };

static enum rev_action
rev_action_of(const char *reason)
{
	if (strcmp(reason, "certificateHold") == 0)
		return REV_HOLD;
	if (strcmp(reason, "removeFromCRL") == 0)
		return REV_RELEASE;
	return REV_REVOKE;
}

/* The statuses the action moves a certificate from, as SQL on alias c. */
static const char *
rev_applicable_sql(enum rev_action a)
{
	switch (a) {
	case REV_HOLD:
		return "c.status = 'valid'";
	case REV_RELEASE:
		return "c.status = 'hold'";
	case REV_REVOKE:
	default:
		return "c.status IN ('valid', 'hold')";
	}
}

static int
rev_applicable(enum rev_action a, const char *status)
{
	switch (a) {
	case REV_HOLD:
		return strcmp(status, "valid") == 0;
	case REV_RELEASE:
		return strcmp(status, "hold") == 0;
	case REV_REVOKE:
	default:
		return strcmp(status, "valid") == 0 ||
		    strcmp(status, "hold") == 0;
	}
}

/* --- SQLite plumbing (queue/sql.h, and one of our own) ------------------ */

static const char *
rev_col(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* --- checking a new request ----------------------------------------------- */

static int
rev_check_new(const struct queue_revocation_new *r, err_t *err)
{
	long chars;
	size_t i;

	if (r == NULL || !queue_revocation_reason_ok(r->reason))
		return err_set(err, ERR_INVALID, "a revocation needs one of the "
		    "RFC 5280 reasons, or removeFromCRL");
	chars = r->message != NULL ? text_utf8_chars(r->message) : -1;
	if (chars < 1 || chars > QUEUE_REVOCATION_MESSAGE_MAX ||
	    !text_clean(r->message))
		return err_set(err, ERR_INVALID, "a revocation needs a message: "
		    "one line of 1 to %d printable characters",
		    QUEUE_REVOCATION_MESSAGE_MAX);
	if (r->has_invalidity_date && rev_action_of(r->reason) == REV_RELEASE)
		return err_set(err, ERR_INVALID, "removeFromCRL states no "
		    "invalidity date");
	if (r->n_targets < 1 || r->n_targets > QUEUE_REVOCATION_MAX_TARGETS ||
	    r->targets == NULL)
		return err_set(err, ERR_INVALID, "a revocation names 1 to %d "
		    "targets", QUEUE_REVOCATION_MAX_TARGETS);
	for (i = 0; i < r->n_targets; i++) {
		const struct queue_revocation_target *t = &r->targets[i];

		if (queue_target_kind_name(t->kind) == NULL ||
		    t->value == NULL || t->text == NULL || *t->text == '\0' ||
		    !text_clean(t->text))
			return err_set(err, ERR_INVALID, "target %zu is "
			    "malformed", i + 1);
	}
	return 0;
}

/* --- resolution ------------------------------------------------------------- */

struct rev_item {
	int64_t ca_id;
	char serial[41];
	size_t target;		/* index into the request's targets */
};

struct rev_set {
	struct rev_item *v;
	size_t n, cap;
};

static void
rev_set_free(struct rev_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
rev_set_add(struct rev_set *s, int64_t ca_id, const char *serial,
    size_t target, err_t *err)
{
	if (s->n >= QUEUE_REVOCATION_MAX_ITEMS)
		return err_set(err, ERR_LIMIT, "the request names more than %d "
		    "certificates; split it", QUEUE_REVOCATION_MAX_ITEMS);
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct rev_item *nv;

		if (ncap > QUEUE_REVOCATION_MAX_ITEMS)
			ncap = QUEUE_REVOCATION_MAX_ITEMS;
		if ((nv = realloc(s->v, ncap * sizeof(*nv))) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].ca_id = ca_id;
	snprintf(s->v[s->n].serial, sizeof(s->v[s->n].serial), "%s", serial);
	s->v[s->n].target = target;
	s->n++;
	return 0;
}

static int
rev_item_cmp(const void *a, const void *b)
{
	const struct rev_item *x = a, *y = b;
	int c;

	if (x->ca_id != y->ca_id)
		return x->ca_id < y->ca_id ? -1 : 1;
	if ((c = strcmp(x->serial, y->serial)) != 0)
		return c;
	return x->target < y->target ? -1 : x->target > y->target;
}

static void
rev_problem(diag_t *diag, const struct queue_revocation_target *t,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: Line LINE - TARGET: why", the one shape of a problem. */
static void
rev_problem(diag_t *diag, const struct queue_revocation_target *t,
    const char *fmt, ...)
{
	char msg[ERR_MSG_MAX], shown[4 * REV_SHOW_MAX + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_show(t->text, strlen(t->text), REV_SHOW_MAX, shown, sizeof(shown));
	(void)diag_add(diag, t->file, t->line, NULL, "Line %lu - %s: %s",
	    t->line, shown, msg);
}

/* Why the action cannot take a certificate of this status. */
static void
rev_status_why(enum rev_action a, const char *status, const char *reason,
    int64_t revoked_at, char *out, size_t outsz)
{
	char when[TIMEUTIL_STRLEN];

	timeutil_format((time_t)revoked_at, when);
	if (strcmp(status, "revoked") == 0)
		snprintf(out, outsz, "the certificate is already revoked "
		    "(%s, %s)%s", reason ? reason : "?", when, a == REV_RELEASE ?
		    "; a revocation is final, only a hold can be released" :
		    "");
	else if (strcmp(status, "hold") == 0)
		snprintf(out, outsz, "the certificate is already on hold "
		    "(since %s)", when);
	else
		snprintf(out, outsz, "the certificate is not on hold (it is %s); "
		    "only a held certificate can be released", status);
}

/* The SQL that finds a target's certificates; ?1 the value, ?2 the CA. */
static const char *
rev_target_sql(enum queue_target_kind k)
{
#define REV_FOUND "SELECT c.ca_id, c.serial, c.status, a.name, c.reason, " \
	"coalesce(c.revoked_at, 0) FROM certificate c JOIN ca a ON " \
	"a.id = c.ca_id "
	switch (k) {
	case QUEUE_TARGET_SERIAL:
		return REV_FOUND "WHERE c.serial = ?1 AND c.kind = 'device' AND "
		    "(?2 IS NULL OR a.name = ?2) ORDER BY c.ca_id";
	case QUEUE_TARGET_BATCH:
		return REV_FOUND "WHERE c.batch_id = ?1 ORDER BY c.line";
	case QUEUE_TARGET_MAC:
		return REV_FOUND "JOIN line l ON l.batch_id = c.batch_id AND "
		    "l.line = c.line WHERE l.mac = ?1 ORDER BY c.ca_id, "
		    "c.serial";
	case QUEUE_TARGET_SUBJECT:
	default:
		return REV_FOUND "WHERE c.subject = ?1 AND c.kind = 'device' "
		    "ORDER BY c.ca_id, c.serial";
	}
#undef REV_FOUND
}

/* One integer from sql with ?1 bound to text v (or int iv when v NULL). */
static int
rev_count(struct store *st, const char *sql, const char *v, int64_t iv,
    int64_t *out, err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, sql, &s, err)) != 0)
		return r;
	if (v != NULL)
		store_bind_text(s, 1, v, &rc);
	else
		store_bind_int(s, 1, iv, &rc);
	if (rc != SQLITE_OK)
		r = queue_sql_binderr(st, rc, err);
	else if (sqlite3_step(s) != SQLITE_ROW)
		r = queue_sql_err(st, "count", err);
	else
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return r;
}

/* Says why a target found nothing. */
static int
rev_not_found(struct store *st, const struct queue_revocation_target *t,
    diag_t *diag, err_t *err)
{
	int64_t n = 0;
	int r;

	switch (t->kind) {
	case QUEUE_TARGET_SERIAL:
		if (t->ca != NULL) {
			if ((r = rev_count(st, "SELECT count(*) FROM ca WHERE "
			    "name = ?1", t->ca, 0, &n, err)) != 0)
				return r;
			if (n == 0) {
				rev_problem(diag, t, "no CA named '%s' on this "
				    "appliance", t->ca);
				return 0;
			}
			rev_problem(diag, t, "CA %s issued no device "
			    "certificate with this serial", t->ca);
			return 0;
		}
		rev_problem(diag, t, "no device certificate with this serial");
		return 0;
	case QUEUE_TARGET_BATCH:
		if ((r = rev_count(st, "SELECT count(*) FROM batch WHERE id = ?1",
		    NULL, t->batch, &n, err)) != 0)
			return r;
		rev_problem(diag, t, n == 0 ? "no batch with this number" :
		    "the batch has no issued certificate");
		return 0;
	case QUEUE_TARGET_MAC:
		rev_problem(diag, t, "no certificate was issued for this MAC");
		return 0;
	case QUEUE_TARGET_SUBJECT:
	default:
		rev_problem(diag, t, "no device certificate has this subject");
		return 0;
	}
}

/* What one target's query found. */
struct rev_found {
	size_t found, taken;
	char status[16], reason[32];
	int64_t revoked_at;
	char cas[REV_CAS_LISTED][QUEUE_REVOCATION_CA_MAX + 1];
	size_t n_cas;
	int64_t last_ca;
	size_t revoked, held, valid;
};

/*
 * Resolves target number idx into set; problems to diag. A serial held
 * by several CAs, with none named, takes nothing.
 */
static int
rev_resolve_one(struct store *st, enum rev_action act,
    const struct queue_revocation_target *t, size_t idx, struct rev_set *set,
    diag_t *diag, err_t *err)
{
	struct rev_found f;
	sqlite3_stmt *s;
	size_t first = set->n;
	int rc = SQLITE_OK, r = 0;

	memset(&f, 0, sizeof(f));
	f.last_ca = -1;
	if ((r = queue_sql_prepare(st, rev_target_sql(t->kind), &s, err)) != 0)
		return r;
	if (t->kind == QUEUE_TARGET_BATCH)
		store_bind_int(s, 1, t->batch, &rc);
	else
		store_bind_text(s, 1, t->value, &rc);
	if (t->kind == QUEUE_TARGET_SERIAL)
		store_bind_text(s, 2, t->ca, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ca_id = sqlite3_column_int64(s, 0);
		const char *serial = rev_col(s, 1), *status = rev_col(s, 2);
		const char *ca = rev_col(s, 3);

		if (serial == NULL || status == NULL || ca == NULL) {
			r = err_set(err, ERR_NOMEM, "out of memory");
			break;
		}
		f.found++;
		f.revoked += strcmp(status, "revoked") == 0;
		f.held += strcmp(status, "hold") == 0;
		f.valid += strcmp(status, "valid") == 0;
		if (f.found == 1) {
			snprintf(f.status, sizeof(f.status), "%s", status);
			snprintf(f.reason, sizeof(f.reason), "%s",
			    rev_col(s, 4) ? rev_col(s, 4) : "");
			f.revoked_at = sqlite3_column_int64(s, 5);
		}
		if (ca_id != f.last_ca && f.n_cas < REV_CAS_LISTED)
			snprintf(f.cas[f.n_cas++], sizeof(f.cas[0]), "%s", ca);
		f.last_ca = ca_id;
		if (!rev_applicable(act, status))
			continue;
		f.taken++;
		if ((r = rev_set_add(set, ca_id, serial, idx, err)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = queue_sql_err(st, "resolve a target", err);
	sqlite3_finalize(s);
	if (r != 0)
		return r;
	if (f.found == 0)
		return rev_not_found(st, t, diag, err);
	if (t->kind == QUEUE_TARGET_SERIAL && t->ca == NULL && f.found > 1) {
		/* Which certificate is meant is not ours to guess. */
		set->n = first;
		rev_problem(diag, t, "certificates of %zu CAs have this serial "
		    "(%s%s%s%s%s); name the CA: serial %s ca NAME", f.found,
		    f.cas[0], f.n_cas > 1 ? ", " : "", f.n_cas > 1 ? f.cas[1] :
		    "", f.n_cas > 2 ? ", " : "", f.n_cas > 2 ? f.cas[2] : "",
		    t->value);
		return 0;
	}
	if (f.taken > 0)
		return 0;
	if (f.found == 1) {
		char why[256];

		rev_status_why(act, f.status, f.reason[0] ? f.reason : NULL,
		    f.revoked_at, why, sizeof(why));
		rev_problem(diag, t, "%s", why);
	} else {
		rev_problem(diag, t, "none of its %zu certificates can be %s "
		    "(%zu valid, %zu on hold, %zu revoked)", f.found,
		    act == REV_HOLD ? "put on hold" : act == REV_RELEASE ?
		    "released" : "revoked", f.valid, f.held, f.revoked);
	}
	return 0;
}

/* Reports every certificate two targets name, on the later target. */
static void
rev_check_twice(struct rev_set *set, const struct queue_revocation_new *r,
    diag_t *diag)
{
	size_t i;

	if (set->n < 2)
		return;
	qsort(set->v, set->n, sizeof(*set->v), rev_item_cmp);
	for (i = 1; i < set->n; i++) {
		const struct rev_item *a = &set->v[i - 1], *b = &set->v[i];
		const struct queue_revocation_target *ta, *tb;
		char shown[4 * REV_SHOW_MAX + 8];

		if (a->ca_id != b->ca_id || strcmp(a->serial, b->serial) != 0)
			continue;
		ta = &r->targets[a->target];
		tb = &r->targets[b->target];
		text_show(ta->text, strlen(ta->text), REV_SHOW_MAX, shown,
		    sizeof(shown));
		/* Name the other file too when the two lines are in two. */
		rev_problem(diag, tb, "the certificate with serial %s is named "
		    "twice: also by %s%sline %lu (%s)", b->serial,
		    ta->file != NULL && (tb->file == NULL ||
		    strcmp(ta->file, tb->file) != 0) ? ta->file : "",
		    ta->file != NULL && (tb->file == NULL ||
		    strcmp(ta->file, tb->file) != 0) ? " " : "", ta->line,
		    shown);
	}
}

/* Resolves every target; problems to diag, the certificates into set. */
static int
rev_resolve(struct store *st, const struct queue_revocation_new *r,
    struct rev_set *set, diag_t *diag, err_t *err)
{
	enum rev_action act = rev_action_of(r->reason);
	size_t i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < r->n_targets; i++) {
		int rv;

		if ((rv = rev_resolve_one(st, act, &r->targets[i], i, set, diag,
		    err)) != 0) {
			rev_set_free(set);
			return rv;
		}
	}
	rev_check_twice(set, r, diag);
	return 0;
}

int
queue_revocation_resolve(struct store *st, const struct queue_revocation_new *r,
    size_t *n_items, diag_t *diag, err_t *err)
{
	struct rev_set set;
	int rv;

	if (n_items != NULL)
		*n_items = 0;
	if ((rv = rev_check_new(r, err)) != 0)
		return rv;
	if ((rv = rev_resolve(st, r, &set, diag, err)) != 0)
		return rv;
	if (n_items != NULL)
		*n_items = set.n;
	rev_set_free(&set);
	return 0;
}

/* --- intake ----------------------------------------------------------------- */

/* The request row and its items, inside the caller's transaction. */
static int
rev_insert(struct store *st, int64_t bundle_id,
    const struct queue_bundle *b, const struct queue_revocation_new *r,
    const struct rev_set *set, int64_t *id_out, err_t *err)
{
	sqlite3_stmt *s;
	int64_t id = 0;
	size_t i;
	int rc = SQLITE_OK, rv;

	if ((rv = queue_sql_prepare(st, "INSERT INTO revocation (bundle_id, "
	    "person_id, requester_sha256, reason, message, invalidity_date, "
	    "state, item_count, quorum, created) VALUES (?, ?, ?, ?, ?, ?, "
	    "'pending-approval', ?, ?, ?)", &s, err)) != 0)
		return rv;
	store_bind_int(s, 1, bundle_id, &rc);
	store_bind_int(s, 2, b->person_id, &rc);
	store_bind_text(s, 3, b->signer_sha256, &rc);
	store_bind_text(s, 4, r->reason, &rc);
	store_bind_text(s, 5, r->message, &rc);
	if (r->has_invalidity_date)
		store_bind_int(s, 6, r->invalidity_date, &rc);
	else
		store_bind_text(s, 6, NULL, &rc);
	store_bind_int(s, 7, (int64_t)set->n, &rc);
	store_bind_int(s, 8, QUEUE_REVOCATION_QUORUM, &rc);
	store_bind_int(s, 9, r->created, &rc);
	if ((rv = store_insert(st, s, rc, "revocation request", &id,
	    err)) != 0)
		return rv;
	/* One prepared insert, reset per item: flat in memory and time. */
	if ((rv = queue_sql_prepare(st, "INSERT INTO revocation_item "
	    "(revocation_id, ca_id, serial, line, target) VALUES (?, ?, ?, ?, "
	    "?)", &s, err)) != 0)
		return rv;
	for (i = 0; i < set->n && rv == 0; i++) {
		const struct rev_item *it = &set->v[i];

		rc = SQLITE_OK;
		store_bind_int(s, 1, id, &rc);
		store_bind_int(s, 2, it->ca_id, &rc);
		store_bind_text(s, 3, it->serial, &rc);
		store_bind_int(s, 4, (int64_t)it->target + 1, &rc);
		store_bind_text(s, 5, r->targets[it->target].text, &rc);
		rv = queue_sql_run(st, s, rc, "add revocation item", err);
	}
	sqlite3_finalize(s);
	if (rv == 0 && id_out != NULL)
		*id_out = id;
	return rv;
}

int
queue_revocation_intake(struct store *st, const struct queue_bundle *bundle,
    const struct queue_revocation_new *r, int64_t *bundle_id,
    int64_t *revocation_id, diag_t *diag, err_t *err)
{
	struct rev_set set;
	size_t before = diag_count(diag);
	int64_t bid = 0, id = 0;
	int rv;

	memset(&set, 0, sizeof(set));
	if (bundle_id != NULL)
		*bundle_id = 0;
	if (revocation_id != NULL)
		*revocation_id = 0;
	if (bundle == NULL || bundle->status != QUEUE_BUNDLE_ACCEPTED ||
	    bundle->person_id <= 0 || bundle->signer_sha256 == NULL)
		return err_set(err, ERR_INVALID, "a revocation request comes "
		    "from an accepted bundle signed by an enrolled person");
	if ((rv = rev_check_new(r, err)) != 0)
		return rv;
	if ((rv = store_begin(st, err)) != 0)
		return rv;
	/* Resolved inside the transaction, so the items are what it saw. */
	if ((rv = rev_resolve(st, r, &set, diag, err)) != 0)
		goto out;
	if (diag_count(diag) > before) {
		rv = err_set(err, ERR_POLICY, "%zu of the request's targets "
		    "cannot be acted on", diag_count(diag) - before);
		goto out;
	}
	if ((rv = queue_bundle_add(st, bundle, &bid, err)) != 0 ||
	    (rv = rev_insert(st, bid, bundle, r, &set, &id, err)) != 0)
		goto out;
out:
	rev_set_free(&set);
	if ((rv = store_end(st, rv, err)) != 0)
		return rv;
	if (bundle_id != NULL)
		*bundle_id = bid;
	if (revocation_id != NULL)
		*revocation_id = id;
	return 0;
}

/* --- reading ---------------------------------------------------------------- */

#define REV_COLUMNS "r.id, r.bundle_id, u.sha256, r.requester_sha256, " \
	"r.person_id, r.reason, r.message, r.invalidity_date, r.state, " \
	"r.reject_reason, r.item_count, r.quorum, r.created, r.applied " \
	"FROM revocation r JOIN bundle u ON u.id = r.bundle_id"

/* Fills v from a row of REV_COLUMNS, pointing into SQLite's memory. */
static int
rev_row(sqlite3_stmt *s, struct queue_revocation *v)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(s, 0);
	v->bundle_id = sqlite3_column_int64(s, 1);
	v->bundle_sha256 = rev_col(s, 2);
	v->requester_sha256 = rev_col(s, 3);
	v->requester_id = sqlite3_column_int64(s, 4);
	v->reason = rev_col(s, 5);
	v->message = rev_col(s, 6);
	v->has_invalidity_date = sqlite3_column_type(s, 7) != SQLITE_NULL;
	v->invalidity_date = sqlite3_column_int64(s, 7);
	if (queue_revocation_state_parse(rev_col(s, 8), &v->state) != 0)
		return ERR_NOMEM;
	v->reject_reason = rev_col(s, 9);
	v->item_count = sqlite3_column_int64(s, 10);
	v->quorum = (unsigned)sqlite3_column_int(s, 11);
	v->created = sqlite3_column_int64(s, 12);
	v->applied = sqlite3_column_int64(s, 13);
	/* NOT NULL columns come back NULL only when SQLite ran out of memory. */
	if (v->bundle_sha256 == NULL || v->requester_sha256 == NULL ||
	    v->reason == NULL || v->message == NULL)
		return ERR_NOMEM;
	return 0;
}

/* Copies s into *pos (advancing it); NULL stays NULL. */
static const char *
rev_keep(const char *s, char **pos)
{
	char *dst = *pos;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(dst, s, n);
	*pos += n;
	return dst;
}

static size_t
rev_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

int
queue_revocation_get(struct store *st, int64_t id,
    struct queue_revocation *out, err_t *err)
{
	sqlite3_stmt *s;
	char *mem, *pos;
	int rc, r;

	memset(out, 0, sizeof(*out));
	if ((r = queue_sql_prepare_id(st, "SELECT " REV_COLUMNS " WHERE r.id = ?",
	    id, &s, err)) != 0)
		return r;
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? err_set(err, ERR_NOTFOUND, "%s: no "
		    "revocation request #%lld", store_path(st), (long long)id) :
		    queue_sql_err(st, "read revocation request", err);
		sqlite3_finalize(s);
		return r;
	}
	if (rev_row(s, out) != 0 || (mem = malloc(rev_size(out->bundle_sha256)
	    + rev_size(out->requester_sha256) + rev_size(out->reason) +
	    rev_size(out->message) + rev_size(out->reject_reason))) == NULL) {
		sqlite3_finalize(s);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pos = mem;
	out->bundle_sha256 = rev_keep(out->bundle_sha256, &pos);
	out->requester_sha256 = rev_keep(out->requester_sha256, &pos);
	out->reason = rev_keep(out->reason, &pos);
	out->message = rev_keep(out->message, &pos);
	out->reject_reason = rev_keep(out->reject_reason, &pos);
	out->mem = mem;
	sqlite3_finalize(s);
	return 0;
}

void
queue_revocation_free(struct queue_revocation *r)
{
	if (r == NULL)
		return;
	free(r->mem);
	memset(r, 0, sizeof(*r));
}

int
queue_revocation_list(struct store *st,
    const enum queue_revocation_state *state, queue_revocation_cb cb,
    void *ctx, err_t *err)
{
	struct queue_revocation v;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if (state != NULL && queue_revocation_state_name(*state) == NULL)
		return err_set(err, ERR_INVALID, "no such revocation state");
	if ((r = queue_sql_prepare(st, "SELECT " REV_COLUMNS " WHERE ?1 IS NULL "
	    "OR r.state = ?1 ORDER BY r.id", &s, err)) != 0)
		return r;
	store_bind_text(s, 1, state != NULL ?
	    queue_revocation_state_name(*state) : NULL, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (rev_row(s, &v) != 0) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &v)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list revocation "
	    "requests", err);
	sqlite3_finalize(s);
	return r;
}

int
queue_revocation_digest(struct store *st, int64_t id, char out[65],
    err_t *err)
{
	sqlite3_stmt *s;
	const char *d;
	int rc, r;

	out[0] = '\0';
	if ((r = queue_sql_prepare_id(st, "SELECT u.sha256 FROM revocation r JOIN "
	    "bundle u ON u.id = r.bundle_id WHERE r.id = ?", id, &s,
	    err)) != 0)
		return r;
	rc = sqlite3_step(s);
	d = rc == SQLITE_ROW ? rev_col(s, 0) : NULL;
	if (d != NULL && text_is_lower_hex(d, 64)) {
		memcpy(out, d, 65);
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? err_set(err, ERR_NOTFOUND, "%s: no "
		    "revocation request #%lld", store_path(st), (long long)id) :
		    rc == SQLITE_ROW ? err_set(err, ERR_INTERNAL, "the bundle "
		    "of revocation request #%lld has no digest",
		    (long long)id) : queue_sql_err(st, "read digest", err);
	}
	sqlite3_finalize(s);
	return r;
}

int
queue_revocation_items(struct store *st, int64_t id, int64_t after_ca,
    const char *after_serial, size_t max, queue_revocation_item_cb cb,
    void *ctx, err_t *err)
{
	struct queue_revocation_item it;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare(st, "SELECT i.ca_id, a.name, i.serial, i.line, "
	    "i.target, c.subject, c.status, c.reason, "
	    "coalesce(c.revoked_at, 0), coalesce(c.revocation_id, 0), "
	    "coalesce(c.batch_id, 0) FROM revocation_item i JOIN certificate c "
	    "ON c.ca_id = i.ca_id AND c.serial = i.serial JOIN ca a ON "
	    "a.id = i.ca_id WHERE i.revocation_id = ?1 AND (i.ca_id > ?2 OR "
	    "(i.ca_id = ?2 AND i.serial > ?3)) ORDER BY i.ca_id, i.serial "
	    "LIMIT ?4", &s, err)) != 0)
		return r;
	store_bind_int(s, 1, id, &rc);
	store_bind_int(s, 2, after_ca, &rc);
	store_bind_text(s, 3, after_serial != NULL ? after_serial : "", &rc);
	store_bind_int(s, 4, (int64_t)max, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return queue_sql_binderr(st, rc, err);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&it, 0, sizeof(it));
		it.revocation_id = id;
		it.ca_id = sqlite3_column_int64(s, 0);
		it.ca_name = rev_col(s, 1);
		it.serial = rev_col(s, 2);
		it.line = sqlite3_column_int64(s, 3);
		it.target = rev_col(s, 4);
		it.subject = rev_col(s, 5);
		it.status = rev_col(s, 6);
		it.cert_reason = rev_col(s, 7);
		it.revoked_at = sqlite3_column_int64(s, 8);
		it.by_revocation = sqlite3_column_int64(s, 9);
		it.batch_id = sqlite3_column_int64(s, 10);
		if (it.ca_name == NULL || it.serial == NULL ||
		    it.target == NULL || it.subject == NULL ||
		    it.status == NULL) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &it)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list revocation items",
	    err);
	sqlite3_finalize(s);
	return r;
}

/* --- decisions -------------------------------------------------------------- */

/* The request's state, inside the caller's transaction. */
static int
rev_state_of(struct store *st, int64_t id, enum queue_revocation_state *state,
    char *reason, size_t reasonsz, int64_t *invalidity, int *has_inv,
    err_t *err)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = queue_sql_prepare_id(st, "SELECT state, reason, invalidity_date "
	    "FROM revocation WHERE id = ?", id, &s, err)) != 0)
		return r;
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? err_set(err, ERR_NOTFOUND, "%s: no "
		    "revocation request #%lld", store_path(st), (long long)id) :
		    queue_sql_err(st, "read revocation state", err);
	} else if (queue_revocation_state_parse(rev_col(s, 0), state) != 0 ||
	    rev_col(s, 1) == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
	} else {
		if (reason != NULL)
			snprintf(reason, reasonsz, "%s", rev_col(s, 1));
		if (has_inv != NULL)
			*has_inv = sqlite3_column_type(s, 2) != SQLITE_NULL;
		if (invalidity != NULL)
			*invalidity = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return r;
}

/*
 * The database's floor under the approval tally, as for batches:
 * distinct officers (by person when known) other than the requester,
 * approving over the bundle's digest, at least the quorum; no such
 * rejection.
 */
static int
rev_quorum_holds(struct store *st, int64_t id, err_t *err)
{
	static const char sql[] =
	    "SELECT r.quorum,"
	    " (SELECT count(DISTINCT coalesce('p' || a.person_id,"
	    "  a.officer_sha256)) FROM approval a WHERE a.kind = 'revocation'"
	    "  AND a.object = r.id AND a.decision = 'approve' AND"
	    "  a.digest = u.sha256 AND a.officer_sha256 <> r.requester_sha256"
	    "  AND (a.person_id IS NULL OR a.person_id <> r.person_id)),"
	    " (SELECT count(*) FROM approval a WHERE a.kind = 'revocation' AND"
	    "  a.object = r.id AND a.decision = 'reject' AND"
	    "  a.digest = u.sha256 AND a.officer_sha256 <> r.requester_sha256"
	    "  AND (a.person_id IS NULL OR a.person_id <> r.person_id))"
	    " FROM revocation r JOIN bundle u ON u.id = r.bundle_id"
	    " WHERE r.id = ?";
	sqlite3_stmt *s;
	char what[48];
	int r;

	if ((r = queue_sql_prepare_id(st, sql, id, &s, err)) != 0)
		return r;
	snprintf(what, sizeof(what), "revocation request #%lld",
	    (long long)id);
	return queue_sql_quorum(st, s, what, "the bundle's digest", err);
}

int
queue_revocation_transition(struct store *st, int64_t id,
    enum queue_revocation_state from, enum queue_revocation_state to,
    const char *reason, err_t *err)
{
	enum queue_revocation_state now = QUEUE_REVOCATION_STATE_COUNT;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if (queue_revocation_state_name(from) == NULL ||
	    queue_revocation_state_name(to) == NULL)
		return err_set(err, ERR_INVALID, "no such revocation state");
	if (from != QUEUE_REVOCATION_PENDING_APPROVAL ||
	    (to != QUEUE_REVOCATION_APPROVED &&
	    to != QUEUE_REVOCATION_REJECTED))
		return err_set(err, ERR_INVALID, "revocation request #%lld "
		    "cannot go from '%s' to '%s'%s", (long long)id,
		    queue_revocation_state_name(from),
		    queue_revocation_state_name(to),
		    to == QUEUE_REVOCATION_APPLIED ? " by a decision; applying "
		    "is queue_revocation_apply's" : "");
	if (to == QUEUE_REVOCATION_REJECTED && (reason == NULL ||
	    *reason == '\0' || !text_clean(reason)))
		return err_set(err, ERR_INVALID, "revocation request #%lld: a "
		    "rejection needs a reason of printable UTF-8",
		    (long long)id);
	if (to == QUEUE_REVOCATION_APPROVED && reason != NULL)
		return err_set(err, ERR_INVALID, "revocation request #%lld: "
		    "an approval takes no reason", (long long)id);
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = rev_state_of(st, id, &now, NULL, 0, NULL, NULL, err)) != 0)
		goto out;
	if (now != from) {
		r = err_set(err, ERR_INVALID, "revocation request #%lld is "
		    "'%s', not '%s'; it cannot go to '%s'", (long long)id,
		    queue_revocation_state_name(now),
		    queue_revocation_state_name(from),
		    queue_revocation_state_name(to));
		goto out;
	}
	if (to == QUEUE_REVOCATION_APPROVED &&
	    (r = rev_quorum_holds(st, id, err)) != 0)
		goto out;
	if ((r = queue_sql_prepare(st, "UPDATE revocation SET state = ?, "
	    "reject_reason = ? WHERE id = ? AND state = ?", &s, err)) != 0)
		goto out;
	store_bind_text(s, 1, queue_revocation_state_name(to), &rc);
	store_bind_text(s, 2, reason, &rc);
	store_bind_int(s, 3, id, &rc);
	store_bind_text(s, 4, queue_revocation_state_name(from), &rc);
	r = queue_sql_run(st, s, rc, "change revocation state", err);
	sqlite3_finalize(s);
out:
	return store_end(st, r, err);
}

/* --- applying ---------------------------------------------------------------- */

void
queue_revocation_outcome_free(struct queue_revocation_outcome *o)
{
	if (o == NULL)
		return;
	free(o->ca_ids);
	memset(o, 0, sizeof(*o));
}

/* The CA ids sql (?1 = id) yields, into out->ca_ids. */
static int
rev_cas(struct store *st, const char *sql, int64_t id,
    struct queue_revocation_outcome *out, err_t *err)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = queue_sql_prepare_id(st, sql, id, &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t *nv = realloc(out->ca_ids, (out->n_cas + 1) *
		    sizeof(*nv));

		if (nv == NULL) {
			sqlite3_finalize(s);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		out->ca_ids = nv;
		out->ca_ids[out->n_cas++] = sqlite3_column_int64(s, 0);
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "list CAs", err);
	sqlite3_finalize(s);
	return r;
}

/* Notes the items the action can no longer take, and counts them. */
static int
rev_skipped(struct store *st, int64_t id, enum rev_action act,
    struct queue_revocation_outcome *out, diag_t *notes, err_t *err)
{
	char sql[1024];
	sqlite3_stmt *s;
	int rc, r;

	snprintf(sql, sizeof(sql), "SELECT i.line, i.target, i.serial, a.name, "
	    "c.status, c.reason, coalesce(c.revocation_id, 0), "
	    "coalesce(c.revoked_at, 0) FROM revocation_item i JOIN "
	    "certificate c ON c.ca_id = i.ca_id AND c.serial = i.serial JOIN "
	    "ca a ON a.id = i.ca_id WHERE i.revocation_id = ?1 AND NOT (%s) "
	    "ORDER BY i.line, i.ca_id, i.serial", rev_applicable_sql(act));
	if ((r = queue_sql_prepare_id(st, sql, id, &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *status = rev_col(s, 4);
		char why[256], by[64] = "";
		int64_t other = sqlite3_column_int64(s, 6);

		out->skipped++;
		if (notes == NULL || status == NULL || rev_col(s, 1) == NULL)
			continue;
		rev_status_why(act, status, rev_col(s, 5),
		    sqlite3_column_int64(s, 7), why, sizeof(why));
		if (other != 0 && other != id)
			snprintf(by, sizeof(by), " by request #%lld",
			    (long long)other);
		(void)diag_add(notes, NULL, 0, NULL, "Line %lld - %s: serial %s "
		    "of CA %s: changed meanwhile%s: %s; left as it is",
		    (long long)sqlite3_column_int64(s, 0), rev_col(s, 1),
		    rev_col(s, 2) ? rev_col(s, 2) : "?", rev_col(s, 3) ?
		    rev_col(s, 3) : "?", by, why);
	}
	r = rc == SQLITE_DONE ? 0 : queue_sql_err(st, "check items", err);
	sqlite3_finalize(s);
	return r;
}

/* The one UPDATE that moves the request's applicable certificates. */
static int
rev_update_certs(struct store *st, int64_t id, enum rev_action act,
    const char *reason, int has_inv, int64_t inv, int64_t now,
    size_t *changed, err_t *err)
{
	static const char revoke[] = "UPDATE certificate SET status = "
	    "'revoked', revoked_at = ?2, reason = ?3, invalidity_date = ?4, "
	    "revocation_id = ?1 FROM revocation_item AS i WHERE "
	    "i.revocation_id = ?1 AND certificate.ca_id = i.ca_id AND "
	    "certificate.serial = i.serial AND certificate.status IN "
	    "('valid', 'hold')";
	static const char hold[] = "UPDATE certificate SET status = 'hold', "
	    "revoked_at = ?2, reason = ?3, invalidity_date = ?4, "
	    "revocation_id = ?1 FROM revocation_item AS i WHERE "
	    "i.revocation_id = ?1 AND certificate.ca_id = i.ca_id AND "
	    "certificate.serial = i.serial AND certificate.status = 'valid'";
	/* A released certificate is as if never held: fields cleared. */
	static const char release[] = "UPDATE certificate SET status = "
	    "'valid', revoked_at = NULL, reason = NULL, invalidity_date = "
	    "NULL, revocation_id = NULL FROM revocation_item AS i WHERE "
	    "i.revocation_id = ?1 AND certificate.ca_id = i.ca_id AND "
	    "certificate.serial = i.serial AND certificate.status = 'hold'";
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	if ((r = queue_sql_prepare_id(st, act == REV_REVOKE ? revoke :
	    act == REV_HOLD ? hold : release, id, &s, err)) != 0)
		return r;
	if (act != REV_RELEASE) {
		store_bind_int(s, 2, now, &rc);
		store_bind_text(s, 3, reason, &rc);
		if (has_inv)
			store_bind_int(s, 4, inv, &rc);
		else
			store_bind_text(s, 4, NULL, &rc);
	}
	/* The count of the last completed change outlives the reset. */
	if ((r = queue_sql_run(st, s, rc, "change the certificates",
	    err)) == 0)
		*changed = (size_t)sqlite3_changes64(store_db(st));
	sqlite3_finalize(s);
	return r;
}

int
queue_revocation_apply(struct store *st, int64_t id, int64_t now,
    struct queue_revocation_outcome *out, diag_t *notes, err_t *err)
{
	enum queue_revocation_state state = QUEUE_REVOCATION_STATE_COUNT;
	enum rev_action act;
	char reason[32], sql[512];
	int64_t inv = 0;
	int has_inv = 0, rc = SQLITE_OK, r;
	sqlite3_stmt *s;

	memset(out, 0, sizeof(*out));
	if ((r = store_begin(st, err)) != 0)
		return r;
	if ((r = rev_state_of(st, id, &state, reason, sizeof(reason), &inv,
	    &has_inv, err)) != 0)
		goto out;
	if (state == QUEUE_REVOCATION_APPLIED) {
		/* Done before a crash: say which CAs, change nothing. */
		out->already = 1;
		r = rev_cas(st, "SELECT DISTINCT ca_id FROM revocation_item "
		    "WHERE revocation_id = ?1 ORDER BY ca_id", id, out, err);
		goto out;
	}
	if (state != QUEUE_REVOCATION_APPROVED) {
		r = err_set(err, ERR_INVALID, "revocation request #%lld is '%s': "
		    "only an approved request is applied", (long long)id,
		    queue_revocation_state_name(state));
		goto out;
	}
	act = rev_action_of(reason);
	snprintf(sql, sizeof(sql), "SELECT DISTINCT i.ca_id FROM "
	    "revocation_item i JOIN certificate c ON c.ca_id = i.ca_id AND "
	    "c.serial = i.serial WHERE i.revocation_id = ?1 AND (%s) ORDER BY "
	    "i.ca_id", rev_applicable_sql(act));
	if ((r = rev_skipped(st, id, act, out, notes, err)) != 0 ||
	    (r = rev_cas(st, sql, id, out, err)) != 0 ||
	    (r = rev_update_certs(st, id, act, reason, has_inv, inv, now,
	    &out->changed, err)) != 0)
		goto out;
	if ((r = queue_sql_prepare(st, "UPDATE revocation SET state = 'applied', "
	    "applied = ? WHERE id = ? AND state = 'approved'", &s,
	    err)) != 0)
		goto out;
	store_bind_int(s, 1, now, &rc);
	store_bind_int(s, 2, id, &rc);
	r = queue_sql_run(st, s, rc, "mark the request applied", err);
	sqlite3_finalize(s);
out:
	if (out->already && r == 0) {
		store_rollback(st);
		return 0;
	}
	if ((r = store_end(st, r, err)) != 0)
		queue_revocation_outcome_free(out);
	return r;
}
