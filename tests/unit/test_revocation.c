/*
 * test_revocation.c: revocation requests in the store (queue/revocation.c):
 * resolution of every kind of target and every per-line problem, all at
 * once; intake in one transaction; decisions and the quorum; applying
 * (revoke, hold, release, revoke after hold, a certificate revoked
 * meanwhile, idempotence); and the schema's triggers on certificate
 * status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "batchfx.h"
#include "ingest/target.h"
#include "queue/revocation.h"

static const struct bfx_spec range_spec = {
	.name = "Modems", .mode = "mac-range", .format = "smpb", .lines = 4,
};

struct rfx {
	struct bfx *f;
	int64_t batch;
	char serial[5][48];	/* serial of line i (1..4) */
	char subject[5][256];
	unsigned n;		/* bundles made */
};

static int
setup(void **state)
{
	struct rfx *r = calloc(1, sizeof(*r));
	int i;

	assert_non_null(r);
	r->f = bfx_new("revocation");
	r->batch = bfx_batch(r->f, &range_spec);
	for (i = 1; i <= 4; i++) {
		sqlite3_stmt *s;
		char sql[160];

		snprintf(sql, sizeof(sql), "SELECT serial, subject FROM "
		    "certificate WHERE batch_id = %lld AND line = %d",
		    (long long)r->batch, i);
		assert_int_equal(sqlite3_prepare_v2(store_db(r->f->s), sql, -1,
		    &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		snprintf(r->serial[i], sizeof(r->serial[i]), "%s",
		    sqlite3_column_text(s, 0));
		snprintf(r->subject[i], sizeof(r->subject[i]), "%s",
		    sqlite3_column_text(s, 1));
		sqlite3_finalize(s);
	}
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct rfx *r = *state;
	int rv = bfx_free(r->f);

	free(r);
	return rv;
}

/* Parses targets (one per array entry) into l, as written in t.txt. */
static void
targets(struct target_list *l, const char *const *v)
{
	size_t i;
	err_t e;

	target_list_init(l);
	for (i = 0; v[i] != NULL; i++)
		if (target_parse(v[i], strlen(v[i]), "t.txt", i + 1, l,
		    &e) != 0)
			fail_msg("target_parse '%s': %s", v[i], e.msg);
}

/*
 * Files a request as the intake does; returns its id, or 0 with the
 * result in *rv and the problems in d.
 */
static int64_t
file_request(struct rfx *r, const char *reason, const char *const *v,
    int *rv, diag_t *d)
{
	struct queue_revocation_new n = { 0 };
	struct queue_bundle qb = { 0 };
	struct target_list l;
	char sha[65], uuid[37];
	int64_t id = 0;
	err_t e;

	targets(&l, v);
	r->n++;
	snprintf(sha, sizeof(sha), "%064x", 0xe0000 + r->n);
	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-9000-%012x", r->n);
	qb.uuid = uuid;
	qb.sha256 = sha;
	qb.file_name = "revoke.p7s";
	qb.signer_sha256 = BFX_OP;
	qb.person_id = r->f->op_id;
	qb.received_at = 3000;
	qb.status = QUEUE_BUNDLE_ACCEPTED;
	n.reason = reason;
	n.message = "Keys of line 2 leaked";
	n.created = 3000;
	n.targets = l.v;
	n.n_targets = l.n;
	if (strcmp(reason, "keyCompromise") == 0) {
		n.has_invalidity_date = 1;
		n.invalidity_date = 2500;
	}
	*rv = queue_revocation_intake(r->f->s, &qb, &n, NULL, &id, d, &e);
	if (*rv != 0 && diag_count(d) == 0)
		(void)diag_add(d, NULL, 0, NULL, "%s", e.msg);
	target_list_free(&l);
	return id;
}

static int64_t
file_ok(struct rfx *r, const char *reason, const char *const *v)
{
	diag_t d;
	int rv;
	int64_t id;

	diag_init(&d);
	id = file_request(r, reason, v, &rv, &d);
	if (rv != 0)
		fail_msg("intake refused:\n%s", testutil_diag_text(&d));
	diag_free(&d);
	return id;
}

/* Expects a refusal whose problems contain every one of want. */
static void
file_refused(struct rfx *r, const char *reason, const char *const *v,
    const char *const *want, size_t n_problems)
{
	int64_t before = bfx_sql_int(r->f, "SELECT count(*) FROM revocation");
	int64_t bundles = bfx_sql_int(r->f, "SELECT count(*) FROM bundle");
	diag_t d;
	size_t i;
	int rv;

	diag_init(&d);
	assert_int_equal(file_request(r, reason, v, &rv, &d), 0);
	assert_int_equal(rv, ERR_POLICY);
	for (i = 0; want[i] != NULL; i++)
		assert_contains(testutil_diag_text(&d), want[i]);
	if (diag_count(&d) != n_problems)
		fail_msg("%zu problems, expected %zu:\n%s", diag_count(&d),
		    n_problems, testutil_diag_text(&d));
	/* Nothing kept: neither request nor bundle. */
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM revocation"),
	    before);
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM bundle"),
	    bundles);
	diag_free(&d);
}

static void
approve(struct rfx *r, int64_t id)
{
	char digest[65];
	err_t e;

	assert_int_equal(queue_revocation_digest(r->f->s, id, digest, &e), 0);
	bfx_vote(r->f, "revocation", id, BFX_O1, r->f->o1_id, digest,
	    "approve", NULL);
	bfx_vote(r->f, "revocation", id, BFX_O2, r->f->o2_id, digest,
	    "approve", NULL);
	if (queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_APPROVED, NULL,
	    &e) != 0)
		fail_msg("approve: %s", e.msg);
}

static void
apply(struct rfx *r, int64_t id, int64_t now,
    struct queue_revocation_outcome *o, diag_t *notes)
{
	err_t e;

	if (queue_revocation_apply(r->f->s, id, now, o, notes, &e) != 0)
		fail_msg("apply: %s", e.msg);
}

/* The status of line i's certificate. */
static char *
status_of(struct rfx *r, int i)
{
	static char out[16];
	sqlite3_stmt *s;
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT status FROM certificate WHERE "
	    "batch_id = %lld AND line = %d", (long long)r->batch, i);
	assert_int_equal(sqlite3_prepare_v2(store_db(r->f->s), sql, -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(out, sizeof(out), "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return out;
}

struct seen_items {
	size_t n;
	char targets[8][128];
	char status[8][16];
	char subject[8][256];
};

static int
item_cb(void *ctx, const struct queue_revocation_item *it)
{
	struct seen_items *s = ctx;

	if (s->n < 8) {
		snprintf(s->targets[s->n], sizeof(s->targets[0]), "%s",
		    it->target);
		snprintf(s->status[s->n], sizeof(s->status[0]), "%s",
		    it->status);
		snprintf(s->subject[s->n], sizeof(s->subject[0]), "%s",
		    it->subject);
		assert_string_equal(it->ca_name, "devices");
	}
	s->n++;
	return 0;
}

/* --- intake ----------------------------------------------------------- */

static void
test_intake_every_target(void **state)
{
	struct rfx *r = *state;
	struct queue_revocation v;
	struct seen_items seen;
	char t1[80], t3[300], digest[65];
	const char *v3[4];
	size_t n = 0;
	diag_t d;
	int64_t id;
	err_t e;

	/* Serial in upper case with colons; MAC in the dotted form. */
	snprintf(t1, sizeof(t1), "serial %s", r->serial[1]);
	for (n = 7; t1[n] != '\0'; n++)
		if (t1[n] >= 'a' && t1[n] <= 'f')
			t1[n] = (char)(t1[n] - 'a' + 'A');
	snprintf(t3, sizeof(t3), "subject %s", r->subject[3]);
	v3[0] = t1;
	v3[1] = "mac 0011.2233.4402";
	v3[2] = t3;
	v3[3] = NULL;
	diag_init(&d);
	assert_int_equal(queue_revocation_resolve(r->f->s,
	    &(struct queue_revocation_new){ .reason = "superseded",
	    .message = "m", .targets = NULL, .n_targets = 0 }, &n, &d, &e),
	    ERR_INVALID);
	diag_free(&d);
	id = file_ok(r, "keyCompromise", v3);
	assert_true(id > 0);
	assert_int_equal(queue_revocation_get(r->f->s, id, &v, &e), 0);
	assert_int_equal(v.state, QUEUE_REVOCATION_PENDING_APPROVAL);
	assert_int_equal(v.quorum, QUEUE_REVOCATION_QUORUM);
	assert_int_equal(v.item_count, 3);
	assert_string_equal(v.reason, "keyCompromise");
	assert_string_equal(v.message, "Keys of line 2 leaked");
	assert_true(v.has_invalidity_date);
	assert_int_equal(v.invalidity_date, 2500);
	assert_string_equal(v.requester_sha256, BFX_OP);
	assert_int_equal(v.requester_id, r->f->op_id);
	assert_int_equal(v.created, 3000);
	assert_int_equal(queue_revocation_digest(r->f->s, id, digest, &e), 0);
	assert_string_equal(digest, v.bundle_sha256);
	queue_revocation_free(&v);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(queue_revocation_items(r->f->s, id, 0, NULL, 100,
	    item_cb, &seen, &e), 0);
	assert_int_equal(seen.n, 3);
	/* Canonical target text; status valid until applied. */
	{
		char want[80];
		size_t i;
		int found = 0;

		snprintf(want, sizeof(want), "serial %s", r->serial[1]);
		for (i = 0; i < 3; i++) {
			assert_string_equal(seen.status[i], "valid");
			found += strcmp(seen.targets[i], want) == 0;
			found += strcmp(seen.targets[i],
			    "mac 00:11:22:33:44:02") == 0;
			found += strcmp(seen.targets[i], t3) == 0;
		}
		assert_int_equal(found, 3);
	}
	/* Paging: one at a time, from the last seen. */
	{
		struct seen_items one;

		memset(&one, 0, sizeof(one));
		assert_int_equal(queue_revocation_items(r->f->s, id, 0, NULL, 1,
		    item_cb, &one, &e), 0);
		assert_int_equal(one.n, 1);
	}
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM "
	    "revocation_item"), 3);
	assert_string_equal(status_of(r, 1), "valid");
}

static void
test_intake_problems_all_at_once(void **state)
{
	struct rfx *r = *state;
	char dup[80], twice[80], ca_nosuch[80];
	const char *v[9];
	const char *want[8];

	snprintf(dup, sizeof(dup), "serial %s", r->serial[1]);
	snprintf(twice, sizeof(twice), "batch %lld", (long long)r->batch);
	snprintf(ca_nosuch, sizeof(ca_nosuch), "serial %s ca nosuch",
	    r->serial[2]);
	v[0] = "serial 7fffffffffff";
	v[1] = "mac 00:00:00:00:00:01";
	v[2] = "subject CN=nobody";
	v[3] = "batch 999";
	v[4] = ca_nosuch;
	v[5] = dup;
	v[6] = twice;
	v[7] = NULL;
	want[0] = "t.txt:1: Line 1 - serial 7fffffffffff: no device "
	    "certificate with this serial";
	want[1] = "t.txt:2: Line 2 - mac 00:00:00:00:00:01: no certificate "
	    "was issued for this MAC";
	want[2] = "t.txt:3: Line 3 - subject CN=nobody: no device certificate "
	    "has this subject";
	want[3] = "t.txt:4: Line 4 - batch 999: no batch with this number";
	want[4] = "no CA named 'nosuch' on this appliance";
	want[5] = "t.txt:7: Line 7 - batch";
	want[6] = "is named twice: also by line 6";
	want[7] = NULL;
	file_refused(r, "keyCompromise", v, want, 6);
}

static void
test_intake_status_problems(void **state)
{
	struct rfx *r = *state;
	struct queue_revocation_outcome o;
	char s1[80], s2[80], b[40];
	const char *v[3] = { NULL, NULL, NULL };
	const char *want[3] = { NULL, NULL, NULL };
	int64_t id;

	snprintf(s1, sizeof(s1), "serial %s", r->serial[1]);
	snprintf(s2, sizeof(s2), "serial %s", r->serial[2]);
	snprintf(b, sizeof(b), "batch %lld", (long long)r->batch);
	/* Releasing a valid certificate. */
	v[0] = s1;
	want[0] = "is not on hold (it is valid); only a held certificate can "
	    "be released";
	file_refused(r, "removeFromCRL", v, want, 1);
	/* Revoke line 1, hold line 2. */
	id = file_ok(r, "superseded", v);
	approve(r, id);
	apply(r, id, 4000, &o, NULL);
	queue_revocation_outcome_free(&o);
	v[0] = s2;
	id = file_ok(r, "certificateHold", v);
	approve(r, id);
	apply(r, id, 4100, &o, NULL);
	queue_revocation_outcome_free(&o);
	assert_string_equal(status_of(r, 1), "revoked");
	assert_string_equal(status_of(r, 2), "hold");
	/* Already revoked; a hold of a held certificate; release a revoked. */
	v[0] = s1;
	want[0] = "is already revoked (superseded";
	file_refused(r, "keyCompromise", v, want, 1);
	v[0] = s2;
	want[0] = "is already on hold";
	file_refused(r, "certificateHold", v, want, 1);
	v[0] = s1;
	want[0] = "a revocation is final, only a hold can be released";
	file_refused(r, "removeFromCRL", v, want, 1);
	/* A batch with nothing releasable but one held: takes only that. */
	v[0] = b;
	id = file_ok(r, "removeFromCRL", v);
	assert_int_equal(bfx_sql_int(r->f, "SELECT item_count FROM revocation "
	    "ORDER BY id DESC LIMIT 1"), 1);
	(void)id;
}

static void
test_intake_serial_two_cas(void **state)
{
	struct rfx *r = *state;
	char sql[1024], s1[80], s1ca[96];
	const char *v[2] = { NULL, NULL }, *want[2] = { NULL, NULL };
	int64_t ca2;
	char *errmsg = NULL;

	/* A second devices CA that issued a certificate with line 1's serial. */
	ca2 = bfx_add_ca(r->f, "devices-b", "devices", r->f->exp_cert,
	    r->f->root_id);
	snprintf(sql, sizeof(sql), "INSERT INTO certificate (serial, ca_id, "
	    "kind, subject, sha256, not_before, not_after, der, status, "
	    "created) VALUES ('%s', %lld, 'device', 'CN=other', '%064x', 1, "
	    "2000000000, x'3003020101', 'valid', 1)", r->serial[1],
	    (long long)ca2, 0xabc);
	if (sqlite3_exec(store_db(r->f->s), sql, NULL, NULL, &errmsg) !=
	    SQLITE_OK)
		fail_msg("insert: %s", errmsg);
	snprintf(s1, sizeof(s1), "serial %s", r->serial[1]);
	v[0] = s1;
	want[0] = "certificates of 2 CAs have this serial (devices, "
	    "devices-b); name the CA";
	file_refused(r, "superseded", v, want, 1);
	snprintf(s1ca, sizeof(s1ca), "serial %s ca devices-b", r->serial[1]);
	v[0] = s1ca;
	assert_true(file_ok(r, "superseded", v) > 0);
	assert_int_equal(bfx_sql_int(r->f, "SELECT ca_id FROM revocation_item "
	    "ORDER BY revocation_id DESC LIMIT 1"), ca2);
}

/* --- decisions --------------------------------------------------------- */

static void
test_transitions(void **state)
{
	struct rfx *r = *state;
	char s1[80], digest[65];
	const char *v[2] = { NULL, NULL };
	int64_t id, id2;
	enum queue_revocation_state st = QUEUE_REVOCATION_APPLIED;
	err_t e;

	snprintf(s1, sizeof(s1), "serial %s", r->serial[1]);
	v[0] = s1;
	id = file_ok(r, "superseded", v);
	assert_int_equal(queue_revocation_digest(r->f->s, id, digest, &e), 0);
	/* No votes; the requester's vote does not count; one is not two. */
	assert_int_equal(queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_APPROVED, NULL,
	    &e), ERR_POLICY);
	assert_contains(e.msg, "has 0 of the 2 approvals");
	bfx_vote(r->f, "revocation", id, BFX_OP, r->f->op_id, digest,
	    "approve", NULL);
	bfx_vote(r->f, "revocation", id, BFX_O1, r->f->o1_id, digest,
	    "approve", NULL);
	assert_int_equal(queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_APPROVED, NULL,
	    &e), ERR_POLICY);
	assert_contains(e.msg, "has 1 of the 2 approvals");
	/* A vote over another digest counts for nothing. */
	bfx_vote(r->f, "revocation", id, BFX_O3, r->f->o3_id,
	    "0000000000000000000000000000000000000000000000000000000000000009",
	    "approve", NULL);
	assert_int_equal(queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_APPROVED, NULL,
	    &e), ERR_POLICY);
	/* Applying before approval is refused. */
	{
		struct queue_revocation_outcome o;

		assert_int_equal(queue_revocation_apply(r->f->s, id, 5000, &o,
		    NULL, &e), ERR_INVALID);
		assert_contains(e.msg, "only an approved request is applied");
	}
	bfx_vote(r->f, "revocation", id, BFX_O2, r->f->o2_id, digest,
	    "approve", NULL);
	assert_int_equal(queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_APPROVED,
	    "why", &e), ERR_INVALID);
	assert_int_equal(queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_APPROVED, NULL,
	    &e), 0);
	/* Not twice, not back, not to applied by a decision. */
	assert_int_equal(queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_REJECTED,
	    "late", &e), ERR_INVALID);
	assert_contains(e.msg, "is 'approved', not 'pending-approval'");
	assert_int_equal(queue_revocation_transition(r->f->s, id,
	    QUEUE_REVOCATION_APPROVED, QUEUE_REVOCATION_APPLIED, NULL, &e),
	    ERR_INVALID);
	/* Rejection needs a reason; a rejected request is never applied. */
	id2 = file_ok(r, "superseded", v);
	assert_int_equal(queue_revocation_transition(r->f->s, id2,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_REJECTED, NULL,
	    &e), ERR_INVALID);
	assert_int_equal(queue_revocation_transition(r->f->s, id2,
	    QUEUE_REVOCATION_PENDING_APPROVAL, QUEUE_REVOCATION_REJECTED,
	    "wrong serial", &e), 0);
	{
		struct queue_revocation g;

		assert_int_equal(queue_revocation_get(r->f->s, id2, &g, &e), 0);
		assert_int_equal(g.state, QUEUE_REVOCATION_REJECTED);
		assert_string_equal(g.reject_reason, "wrong serial");
		queue_revocation_free(&g);
	}
	assert_int_equal(queue_revocation_get(r->f->s, 999, &(struct
	    queue_revocation){ 0 }, &e), ERR_NOTFOUND);
	assert_int_equal(queue_revocation_state_parse("applied", &st), 0);
	assert_int_equal(st, QUEUE_REVOCATION_APPLIED);
	assert_int_equal(queue_revocation_state_parse("done", &st),
	    ERR_INVALID);
}

struct count_cb {
	size_t n;
};

static int
count_rev(void *ctx, const struct queue_revocation *v)
{
	(void)v;
	((struct count_cb *)ctx)->n++;
	return 0;
}

static void
test_list(void **state)
{
	struct rfx *r = *state;
	enum queue_revocation_state pend = QUEUE_REVOCATION_PENDING_APPROVAL;
	enum queue_revocation_state done = QUEUE_REVOCATION_APPLIED;
	struct count_cb c = { 0 };
	char s1[80];
	const char *v[2] = { s1, NULL };
	err_t e;

	snprintf(s1, sizeof(s1), "serial %s", r->serial[3]);
	(void)file_ok(r, "superseded", v);
	(void)file_ok(r, "unspecified", v);
	assert_int_equal(queue_revocation_list(r->f->s, NULL, count_rev, &c,
	    &e), 0);
	assert_int_equal(c.n, 2);
	c.n = 0;
	assert_int_equal(queue_revocation_list(r->f->s, &pend, count_rev, &c,
	    &e), 0);
	assert_int_equal(c.n, 2);
	c.n = 0;
	assert_int_equal(queue_revocation_list(r->f->s, &done, count_rev, &c,
	    &e), 0);
	assert_int_equal(c.n, 0);
}

/* --- applying ---------------------------------------------------------- */

static void
test_apply_revoke_idempotent(void **state)
{
	struct rfx *r = *state;
	struct queue_revocation_outcome o;
	struct queue_revocation v;
	char b[40];
	const char *t[2] = { b, NULL };
	int64_t id;
	err_t e;

	snprintf(b, sizeof(b), "batch %lld", (long long)r->batch);
	id = file_ok(r, "keyCompromise", t);
	approve(r, id);
	apply(r, id, 5000, &o, NULL);
	assert_int_equal(o.already, 0);
	assert_int_equal(o.changed, 4);
	assert_int_equal(o.skipped, 0);
	assert_int_equal(o.n_cas, 1);
	assert_int_equal(o.ca_ids[0], r->f->ca_id);
	queue_revocation_outcome_free(&o);
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM certificate "
	    "WHERE status = 'revoked' AND reason = 'keyCompromise' AND "
	    "revoked_at = 5000 AND invalidity_date = 2500 AND "
	    "revocation_id IS NOT NULL"), 4);
	assert_int_equal(queue_revocation_get(r->f->s, id, &v, &e), 0);
	assert_int_equal(v.state, QUEUE_REVOCATION_APPLIED);
	assert_int_equal(v.applied, 5000);
	queue_revocation_free(&v);
	/* After a crash the worker asks again: nothing changes. */
	apply(r, id, 6000, &o, NULL);
	assert_int_equal(o.already, 1);
	assert_int_equal(o.changed, 0);
	assert_int_equal(o.n_cas, 1);
	queue_revocation_outcome_free(&o);
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM certificate "
	    "WHERE revoked_at = 5000"), 4);
}

static void
test_hold_release_then_revoke(void **state)
{
	struct rfx *r = *state;
	struct queue_revocation_outcome o;
	char s2[80];
	const char *v[2] = { s2, NULL };
	int64_t id;

	snprintf(s2, sizeof(s2), "serial %s", r->serial[2]);
	id = file_ok(r, "certificateHold", v);
	approve(r, id);
	apply(r, id, 5000, &o, NULL);
	assert_int_equal(o.changed, 1);
	queue_revocation_outcome_free(&o);
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM certificate "
	    "WHERE status = 'hold' AND reason = 'certificateHold' AND "
	    "revoked_at = 5000"), 1);
	/* Released: valid again, every revocation field cleared. */
	id = file_ok(r, "removeFromCRL", v);
	approve(r, id);
	apply(r, id, 5100, &o, NULL);
	assert_int_equal(o.changed, 1);
	assert_int_equal(o.n_cas, 1);
	queue_revocation_outcome_free(&o);
	assert_string_equal(status_of(r, 2), "valid");
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM certificate "
	    "WHERE status = 'valid' AND revoked_at IS NULL AND reason IS NULL "
	    "AND invalidity_date IS NULL AND revocation_id IS NULL"), 4);
	/* Held again, then revoked for good. */
	id = file_ok(r, "certificateHold", v);
	approve(r, id);
	apply(r, id, 5200, &o, NULL);
	queue_revocation_outcome_free(&o);
	id = file_ok(r, "cessationOfOperation", v);
	approve(r, id);
	apply(r, id, 5300, &o, NULL);
	assert_int_equal(o.changed, 1);
	queue_revocation_outcome_free(&o);
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM certificate "
	    "WHERE status = 'revoked' AND reason = 'cessationOfOperation' AND "
	    "revoked_at = 5300 AND invalidity_date IS NULL"), 1);
}

static void
test_apply_skips_revoked_meanwhile(void **state)
{
	struct rfx *r = *state;
	struct queue_revocation_outcome o;
	char s1[80], s3[80];
	const char *first[2] = { s1, NULL }, *second[3] = { s1, s3, NULL };
	int64_t a, b;
	diag_t notes;

	snprintf(s1, sizeof(s1), "serial %s", r->serial[1]);
	snprintf(s3, sizeof(s3), "serial %s", r->serial[3]);
	/* Both pending at once name line 1. */
	a = file_ok(r, "superseded", first);
	b = file_ok(r, "keyCompromise", second);
	approve(r, a);
	approve(r, b);
	apply(r, a, 5000, &o, NULL);
	queue_revocation_outcome_free(&o);
	diag_init(&notes);
	apply(r, b, 5100, &o, &notes);
	assert_int_equal(o.changed, 1);
	assert_int_equal(o.skipped, 1);
	assert_int_equal(diag_count(&notes), 1);
	assert_contains(testutil_diag_text(&notes), "changed meanwhile by request #");
	assert_contains(testutil_diag_text(&notes), "already revoked (superseded");
	assert_contains(testutil_diag_text(&notes), "left as it is");
	queue_revocation_outcome_free(&o);
	diag_free(&notes);
	assert_string_equal(status_of(r, 1), "revoked");
	assert_string_equal(status_of(r, 3), "revoked");
	/* Line 1 keeps the first revocation's reason and time. */
	assert_int_equal(bfx_sql_int(r->f, "SELECT count(*) FROM certificate "
	    "WHERE status = 'revoked' AND reason = 'superseded' AND "
	    "revoked_at = 5000"), 1);
}

static void
test_triggers(void **state)
{
	struct rfx *r = *state;
	struct queue_revocation_outcome o;
	char s1[80], sql[512];
	const char *v[2] = { s1, NULL };
	char *errmsg = NULL;
	int64_t id;
	sqlite3 *db = store_db(r->f->s);

	snprintf(s1, sizeof(s1), "serial %s", r->serial[1]);
	/* valid -> revoked without its fields. */
	snprintf(sql, sizeof(sql), "UPDATE certificate SET status = 'revoked' "
	    "WHERE serial = '%s'", r->serial[1]);
	assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, &errmsg),
	    SQLITE_OK);
	assert_contains(errmsg, "status and revocation fields disagree");
	sqlite3_free(errmsg);
	id = file_ok(r, "superseded", v);
	approve(r, id);
	apply(r, id, 5000, &o, NULL);
	queue_revocation_outcome_free(&o);
	/* A revocation is final: revoked -> valid, revoked -> hold. */
	snprintf(sql, sizeof(sql), "UPDATE certificate SET status = 'valid', "
	    "revoked_at = NULL, reason = NULL, invalidity_date = NULL WHERE "
	    "serial = '%s'", r->serial[1]);
	assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, &errmsg),
	    SQLITE_OK);
	assert_contains(errmsg, "certificate status cannot move that way");
	sqlite3_free(errmsg);
	snprintf(sql, sizeof(sql), "UPDATE certificate SET status = 'hold', "
	    "reason = 'certificateHold' WHERE serial = '%s'", r->serial[1]);
	assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, &errmsg),
	    SQLITE_OK);
	sqlite3_free(errmsg);
	/* The request and its items are fixed once made. */
	assert_int_not_equal(sqlite3_exec(db, "UPDATE revocation SET message "
	    "= 'other'", NULL, NULL, &errmsg), SQLITE_OK);
	sqlite3_free(errmsg);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM revocation_item",
	    NULL, NULL, &errmsg), SQLITE_OK);
	sqlite3_free(errmsg);
	assert_string_equal(status_of(r, 1), "revoked");
}

static void
test_request_checks(void **state)
{
	struct rfx *r = *state;
	struct queue_revocation_new n = { 0 };
	struct queue_bundle qb = { 0 };
	struct target_list l;
	const char *v[2] = { "batch 1", NULL };
	diag_t d;
	err_t e;

	targets(&l, v);
	diag_init(&d);
	n.reason = "removeFromCRL";
	n.message = "m";
	n.targets = l.v;
	n.n_targets = l.n;
	n.has_invalidity_date = 1;
	assert_int_equal(queue_revocation_resolve(r->f->s, &n, NULL, &d, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "removeFromCRL states no invalidity date");
	n.has_invalidity_date = 0;
	n.reason = "compromised";
	assert_int_equal(queue_revocation_resolve(r->f->s, &n, NULL, &d, &e),
	    ERR_INVALID);
	n.reason = "superseded";
	n.message = "two\nlines";
	assert_int_equal(queue_revocation_resolve(r->f->s, &n, NULL, &d, &e),
	    ERR_INVALID);
	n.message = "";
	assert_int_equal(queue_revocation_resolve(r->f->s, &n, NULL, &d, &e),
	    ERR_INVALID);
	n.message = "fine";
	/* An intake without an enrolled requester is refused. */
	qb.status = QUEUE_BUNDLE_ACCEPTED;
	assert_int_equal(queue_revocation_intake(r->f->s, &qb, &n, NULL, NULL,
	    &d, &e), ERR_INVALID);
	assert_int_equal(diag_count(&d), 0);
	{
		size_t items = 0;

		assert_int_equal(queue_revocation_resolve(r->f->s, &n, &items,
		    &d, &e), 0);
		assert_int_equal(items, 4);
	}
	diag_free(&d);
	target_list_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intake_every_target,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_intake_problems_all_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intake_status_problems,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_intake_serial_two_cas,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_transitions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_revoke_idempotent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_release_then_revoke,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apply_skips_revoked_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_triggers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_request_checks, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
