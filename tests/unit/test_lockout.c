/*
 * test_lockout.c: failure counts and lock-outs in a real store
 * (queue/lockout.h): counting to the limit and not before, a success
 * resetting the count, a person's status following their lock-out, the
 * digest officers sign, clearing only with two officers other than the
 * locked person and no rejection, the schema refusing what the code must
 * never do, and a failure rolled back with its step leaving nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "queue/lockout.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/buf.h"
#include "testutil.h"

#define SHA_CA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_2 "2222222222222222222222222222222222222222222222222222222222222222"
#define SHA_3 "3333333333333333333333333333333333333333333333333333333333333333"
#define SHA_X "4444444444444444444444444444444444444444444444444444444444444444"

static const unsigned char dummy[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

struct fx {
	char dir[PATH_MAX];
	char db[PATH_MAX + 16];
	struct store *st;
	int64_t p1, p2, p3;
};

static int64_t
add_person(struct store *st, int64_t ca, const char *name, const char *sha)
{
	struct store_person p = {
		.name = name, .role = "officer", .ca_id = ca,
		.cert_der = dummy, .cert_der_len = sizeof(dummy),
		.sha256 = sha, .serial = sha + 60, .subject = name,
		.not_before = 1, .not_after = 2000000000, .created = 1,
	};
	int64_t id = 0;
	err_t e;

	if (store_person_add(st, &p, &id, &e) != 0)
		return 0;
	return id;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_ca c = {
		.name = "people-ca", .key_uri = "pkcs11:object=x",
		.cert_der = dummy, .cert_der_len = sizeof(dummy),
		.subject = "people", .ski = "ab", .sha256 = SHA_CA,
		.not_before = 1, .not_after = 2, .purpose = "people",
		.created = 1,
	};
	int64_t ca = 0;
	err_t e;

	if (f == NULL || testutil_tmpdir(f->dir, sizeof(f->dir), "lock") != 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
	if (store_open(f->db, 1, &f->st, &e) != 0 ||
	    store_ca_add(f->st, &c, &ca, &e) != 0 ||
	    (f->p1 = add_person(f->st, ca, "Alice", SHA_1)) == 0 ||
	    (f->p2 = add_person(f->st, ca, "Bob", SHA_2)) == 0 ||
	    (f->p3 = add_person(f->st, ca, "Erin", SHA_3)) == 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	testutil_rmtree(f->dir);
	free(f);
	return 0;
}

static struct queue_lockout_failure
fail_once(struct fx *f, enum queue_lockout_kind kind, const char *cred,
    int64_t person, unsigned limit, int64_t now)
{
	struct queue_lockout_failure r;
	err_t e;

	if (queue_lockout_fail(f->st, kind, cred, person, limit, 2, now, &r,
	    &e) != 0)
		fail_msg("queue_lockout_fail: %s", e.msg);
	return r;
}

static void
status_is(struct fx *f, const char *sha, const char *want)
{
	char sql[160];
	sqlite3_stmt *s;

	snprintf(sql, sizeof(sql), "SELECT status FROM person WHERE sha256 = "
	    "'%s'", sha);
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
	sqlite3_finalize(s);
}

/* An approval of clearing id over over (NULL: the lock-out's digest). */
static void
approve_over(struct fx *f, int64_t id, const char *officer, int64_t person,
    const char *decision, const char *over)
{
	struct queue_approval a;
	char digest[65];
	err_t e;

	assert_int_equal(queue_lockout_digest(f->st, id, digest, &e), 0);
	if (over != NULL)
		snprintf(digest, sizeof(digest), "%s", over);
	memset(&a, 0, sizeof(a));
	a.kind = "lockout-clear";
	a.object = id;
	a.officer_sha256 = officer;
	a.person_id = person;
	a.decision = decision;
	a.reason = strcmp(decision, "reject") == 0 ? "no" : NULL;
	a.digest = digest;
	a.statement = dummy;
	a.statement_len = sizeof(dummy);
	a.signature = dummy;
	a.signature_len = sizeof(dummy);
	a.at = 5;
	if (queue_approval_add(f->st, &a, NULL, &e) != 0)
		fail_msg("queue_approval_add: %s", e.msg);
}

static void
approve(struct fx *f, int64_t id, const char *officer, int64_t person,
    const char *decision)
{
	approve_over(f, id, officer, person, decision, NULL);
}

static void
test_token_counts_to_limit(void **state)
{
	struct fx *f = *state;
	struct queue_lockout_failure r;
	struct queue_lockout l;
	int64_t n, was;
	err_t e;

	/* Two failures, a success: the count starts again. */
	fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 3, 10);
	r = fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 3, 11);
	assert_int_equal(r.failures, 2);
	assert_int_equal(r.locked, 0);
	assert_int_equal(queue_lockout_reset(f->st, QUEUE_LOCKOUT_TOKEN,
	    "airlock-ca", &was, &e), 0);
	assert_int_equal(was, 2);
	assert_int_equal(queue_lockout_count(f->st, QUEUE_LOCKOUT_TOKEN,
	    "airlock-ca", &n, &e), 0);
	assert_int_equal(n, 0);
	/* Limit 3: the third failure locks, not the second. */
	assert_int_equal(fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 3,
	    20).locked, 0);
	assert_int_equal(fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 3,
	    21).locked, 0);
	assert_int_equal(queue_lockout_open(f->st, QUEUE_LOCKOUT_TOKEN,
	    "airlock-ca", &l, &e), ERR_NOTFOUND);
	r = fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 3, 22);
	assert_int_equal(r.failures, 3);
	assert_true(r.locked > 0);
	assert_int_equal(queue_lockout_open(f->st, QUEUE_LOCKOUT_TOKEN,
	    "airlock-ca", &l, &e), 0);
	assert_int_equal(l.id, r.locked);
	assert_int_equal(l.failures, 3);
	assert_int_equal(l.locked_at, 22);
	assert_int_equal(l.quorum, 2);
	assert_false(l.cleared);
	/* More failures while locked count, but open nothing new. */
	r = fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 3, 23);
	assert_int_equal(r.failures, 4);
	assert_int_equal(r.locked, 0);
	assert_int_equal(r.already, l.id);
	/* Another token's count is its own. */
	assert_int_equal(fail_once(f, QUEUE_LOCKOUT_TOKEN, "other", 0, 3,
	    24).failures, 1);
}

static void
test_digest_text(void **state)
{
	struct fx *f = *state;
	struct queue_lockout_failure r;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char digest[65], want[65];
	const char *text = "airlock-lockout\nlockout: 1\ncredential: token "
	    "airlock-ca\nfailures: 1\nlocked: 2026-11-22T14:00:00Z\n";
	err_t e;

	r = fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 1, 1795356000);
	assert_int_equal(r.locked, 1);
	assert_int_equal(queue_lockout_digest(f->st, 1, digest, &e), 0);
	SHA256((const unsigned char *)text, strlen(text), md);
	buf_hex(md, sizeof(md), want, sizeof(want));
	assert_string_equal(digest, want);
	assert_int_equal(queue_lockout_digest(f->st, 99, digest, &e),
	    ERR_NOTFOUND);
}

static void
test_person_locked_and_cleared(void **state)
{
	struct fx *f = *state;
	struct queue_lockout_failure r;
	struct queue_lockout l;
	int64_t n;
	err_t e;

	fail_once(f, QUEUE_LOCKOUT_PERSON, SHA_1, f->p1, 2, 10);
	status_is(f, SHA_1, "active");
	r = fail_once(f, QUEUE_LOCKOUT_PERSON, SHA_1, f->p1, 2, 11);
	assert_true(r.locked > 0);
	status_is(f, SHA_1, "locked");
	assert_int_equal(queue_lockout_get(f->st, r.locked, &l, &e), 0);
	assert_int_equal(l.kind, QUEUE_LOCKOUT_PERSON);
	assert_string_equal(l.credential, SHA_1);
	assert_int_equal(l.person_id, f->p1);

	/* Nobody approved: refused. The locked person's approval never
	 * counts, so with one other officer it is still one short. */
	assert_int_equal(queue_lockout_clear(f->st, r.locked, 50, &e),
	    ERR_POLICY);
	approve(f, r.locked, SHA_1, f->p1, "approve");
	approve(f, r.locked, SHA_2, f->p2, "approve");
	assert_int_equal(queue_lockout_clear(f->st, r.locked, 50, &e),
	    ERR_POLICY);
	assert_non_null(strstr(e.msg, "1 of the 2"));
	status_is(f, SHA_1, "locked");
	/* A second officer: cleared, active, count reset. */
	approve(f, r.locked, SHA_3, f->p3, "approve");
	assert_int_equal(queue_lockout_clear(f->st, r.locked, 60, &e), 0);
	status_is(f, SHA_1, "active");
	assert_int_equal(queue_lockout_get(f->st, r.locked, &l, &e), 0);
	assert_true(l.cleared);
	assert_int_equal(l.cleared_at, 60);
	assert_int_equal(queue_lockout_count(f->st, QUEUE_LOCKOUT_PERSON,
	    SHA_1, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_lockout_open(f->st, QUEUE_LOCKOUT_PERSON, SHA_1,
	    &l, &e), ERR_NOTFOUND);
	/* Once is enough. */
	assert_int_equal(queue_lockout_clear(f->st, r.locked, 70, &e),
	    ERR_INVALID);
	/* Locked again later: a new lock-out, with its own approvals. */
	r = fail_once(f, QUEUE_LOCKOUT_PERSON, SHA_1, f->p1, 1, 80);
	assert_int_equal(r.locked, 2);
	assert_int_equal(queue_lockout_clear(f->st, 2, 90, &e), ERR_POLICY);
}

static void
test_rejection_and_other_digest(void **state)
{
	struct fx *f = *state;
	struct queue_lockout_failure r;
	err_t e;

	r = fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 1, 10);
	/* Approvals over another digest never count. */
	approve_over(f, r.locked, SHA_1, f->p1, "approve", SHA_X);
	approve_over(f, r.locked, SHA_2, f->p2, "approve", SHA_X);
	assert_int_equal(queue_lockout_clear(f->st, r.locked, 20, &e),
	    ERR_POLICY);
	/* One rejection over the digest and no quorum clears it. */
	approve(f, r.locked, SHA_3, f->p3, "reject");
	assert_int_equal(queue_lockout_clear(f->st, r.locked, 20, &e),
	    ERR_POLICY);
	assert_non_null(strstr(e.msg, "rejected"));
}

static void
test_bad_arguments(void **state)
{
	struct fx *f = *state;
	struct queue_lockout_failure r;
	err_t e;

	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_TOKEN, "t",
	    0, 0, 2, 1, &r, &e), ERR_INVALID);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_TOKEN, "t",
	    0, QUEUE_LOCKOUT_LIMIT_MAX + 1, 2, 1, &r, &e), ERR_INVALID);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_TOKEN, "t",
	    0, 3, 1, 1, &r, &e), ERR_INVALID);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_TOKEN, "",
	    0, 3, 2, 1, &r, &e), ERR_INVALID);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_TOKEN,
	    "two\nlines", 0, 3, 2, 1, &r, &e), ERR_INVALID);
	/* A person is named by a SHA-256 they hold, and needs their id. */
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_PERSON,
	    "alice", f->p1, 3, 2, 1, &r, &e), ERR_INVALID);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_PERSON,
	    SHA_1, 0, 3, 2, 1, &r, &e), ERR_INVALID);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_PERSON,
	    SHA_2, f->p1, 3, 2, 1, &r, &e), ERR_INVALID);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_PERSON,
	    SHA_X, 999, 3, 2, 1, &r, &e), ERR_NOTFOUND);
	assert_int_equal(queue_lockout_fail(f->st, QUEUE_LOCKOUT_TOKEN, "t",
	    5, 3, 2, 1, &r, &e), ERR_INVALID);
}

static void
test_schema_refuses(void **state)
{
	struct fx *f = *state;
	struct queue_lockout_failure r;
	err_t e;

	r = fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 1, 10);
	assert_int_equal(r.locked, 1);
	assert_int_not_equal(store_exec(f->st, "DELETE FROM lockout", &e), 0);
	assert_int_not_equal(store_exec(f->st, "UPDATE lockout SET "
	    "failures = 9", &e), 0);
	/* A second open lock-out of one credential. */
	assert_int_not_equal(store_exec(f->st, "INSERT INTO lockout (kind, "
	    "credential, failures, locked_at, state, quorum) VALUES "
	    "('token', 'airlock-ca', 1, 1, 'locked', 2)", &e), 0);
	/* Cleared is final. */
	assert_int_equal(store_exec(f->st, "UPDATE lockout SET state = "
	    "'cleared', cleared_at = 5", &e), 0);
	assert_int_not_equal(store_exec(f->st, "UPDATE lockout SET state = "
	    "'locked', cleared_at = NULL", &e), 0);
	/* A person's lock-out names the person. */
	assert_int_not_equal(store_exec(f->st, "INSERT INTO lockout (kind, "
	    "credential, failures, locked_at, state, quorum) VALUES "
	    "('person', '" SHA_1 "', 1, 1, 'locked', 2)", &e), 0);
}

static void
test_rolled_back_with_its_step(void **state)
{
	struct fx *f = *state;
	struct queue_lockout_failure r;
	struct queue_lockout l;
	int64_t n;
	err_t e;

	/* The caller's step fails after the count (its audit record could
	 * not be written): nothing of the failure is kept. */
	assert_int_equal(store_begin(f->st, &e), 0);
	r = fail_once(f, QUEUE_LOCKOUT_PERSON, SHA_2, f->p2, 1, 10);
	assert_true(r.locked > 0);
	store_rollback(f->st);
	assert_int_equal(queue_lockout_count(f->st, QUEUE_LOCKOUT_PERSON,
	    SHA_2, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_lockout_open(f->st, QUEUE_LOCKOUT_PERSON, SHA_2,
	    &l, &e), ERR_NOTFOUND);
	status_is(f, SHA_2, "active");
}

struct rows {
	int64_t ids[8];
	size_t n;
};

static int
row_cb(void *ctx, const struct queue_lockout *l)
{
	struct rows *w = ctx;

	if (w->n < 8)
		w->ids[w->n++] = l->id;
	return 0;
}

static void
test_list(void **state)
{
	struct fx *f = *state;
	struct rows w;
	err_t e;

	fail_once(f, QUEUE_LOCKOUT_TOKEN, "airlock-ca", 0, 1, 10);
	fail_once(f, QUEUE_LOCKOUT_PERSON, SHA_3, f->p3, 1, 11);
	approve(f, 1, SHA_1, f->p1, "approve");
	approve(f, 1, SHA_2, f->p2, "approve");
	assert_int_equal(queue_lockout_clear(f->st, 1, 12, &e), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(queue_lockout_list(f->st, 0, row_cb, &w, &e), 0);
	assert_int_equal(w.n, 2);
	memset(&w, 0, sizeof(w));
	assert_int_equal(queue_lockout_list(f->st, 1, row_cb, &w, &e), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.ids[0], 2);
	assert_string_equal(queue_lockout_kind_name(QUEUE_LOCKOUT_PERSON),
	    "person");
	assert_null(queue_lockout_kind_name((enum queue_lockout_kind)7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_counts_to_limit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_person_locked_and_cleared,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejection_and_other_digest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_schema_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_with_its_step,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
