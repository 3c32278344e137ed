/*
 * test_queue_crl.c: CRL requests, numbers and records in the store
 * (queue/crl.h): the request lifecycle and its quorum, the approval
 * digest, numbers strictly rising across "crashes" (a number taken and
 * never recorded) and across a reopened store, the entries' numeric
 * serial order, record, latest, DER, export bookkeeping.
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

#include "queue/crl.h"
#include "queue/queue.h"
#include "store/store.h"
#include "testutil.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_2 "2222222222222222222222222222222222222222222222222222222222222222"
#define SHA_3 "3333333333333333333333333333333333333333333333333333333333333333"

static const unsigned char dummy[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

struct fx {
	char dir[PATH_MAX];
	char db[PATH_MAX + 16];
	struct store *st;
	int64_t ca1, ca2;
};

static int
add_ca(struct store *st, const char *name, const char *sha, int64_t *id)
{
	struct store_ca c = {
		.name = name, .key_uri = "pkcs11:object=x", .cert_der = dummy,
		.cert_der_len = sizeof(dummy), .subject = name, .ski = "ab",
		.sha256 = sha, .not_before = 1, .not_after = 2,
		.purpose = "devices", .created = 1,
	};
	err_t e;

	return store_ca_add(st, &c, id, &e);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	err_t e;

	if (f == NULL || testutil_tmpdir(f->dir, sizeof(f->dir), "qcrl") != 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
	if (store_open(f->db, 1, &f->st, &e) != 0 ||
	    add_ca(f->st, "device-ca", SHA_A, &f->ca1) != 0 ||
	    add_ca(f->st, "other-ca", SHA_B, &f->ca2) != 0)
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

static void
approve(struct store *st, int64_t id, const char *officer,
    const char *decision)
{
	struct queue_approval a;
	char digest[65];
	err_t e;

	assert_int_equal(queue_crl_digest(st, id, digest, &e), 0);
	memset(&a, 0, sizeof(a));
	a.kind = "crl";
	a.object = id;
	a.officer_sha256 = officer;
	a.decision = decision;
	a.reason = strcmp(decision, "reject") == 0 ? "no" : NULL;
	a.digest = digest;
	a.statement = dummy;
	a.statement_len = sizeof(dummy);
	a.signature = dummy;
	a.signature_len = sizeof(dummy);
	a.at = 5;
	if (queue_approval_add(st, &a, NULL, &e) != 0)
		fail_msg("queue_approval_add: %s", e.msg);
}

/* A request of CA ca, approved by two officers other than SHA_1. */
static int64_t
approved_request(struct fx *f, int64_t ca)
{
	int64_t id = 0;
	err_t e;

	assert_int_equal(queue_crl_request(f->st, ca, "console", SHA_1, 2, 10,
	    &id, &e), 0);
	approve(f->st, id, SHA_2, "approve");
	approve(f->st, id, SHA_3, "approve");
	if (queue_crl_transition(f->st, id, QUEUE_CRL_PENDING_APPROVAL,
	    QUEUE_CRL_APPROVED, NULL, &e) != 0)
		fail_msg("approve: %s", e.msg);
	return id;
}

static void
test_request_lifecycle(void **state)
{
	struct fx *f = *state;
	struct queue_crl_request r;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char digest[65], want[65], text[256];
	int64_t id = 0, id2 = 0;
	err_t e;

	assert_int_equal(queue_crl_request(f->st, f->ca1, "console", SHA_1, 2,
	    100, &id, &e), 0);
	assert_int_equal(queue_crl_get(f->st, id, &r, &e), 0);
	assert_string_equal(r.ca_name, "device-ca");
	assert_string_equal(r.cause, "console");
	assert_string_equal(r.requested_by, SHA_1);
	assert_int_equal(r.state, QUEUE_CRL_PENDING_APPROVAL);
	assert_int_equal(r.quorum, 2);
	assert_int_equal(r.created, 100);
	assert_null(r.reject_reason);
	queue_crl_free(&r);
	/* The digest is the documented text's. */
	snprintf(text, sizeof(text), "airlock-crl\nrequest: %lld\n"
	    "ca: device-ca\nca-sha256: " SHA_A "\n", (long long)id);
	SHA256((const unsigned char *)text, strlen(text), md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	assert_int_equal(queue_crl_digest(f->st, id, digest, &e), 0);
	assert_string_equal(digest, want);
	/* No quorum yet; the requester's own approval never counts. */
	approve(f->st, id, SHA_1, "approve");
	approve(f->st, id, SHA_2, "approve");
	assert_int_equal(queue_crl_transition(f->st, id,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_APPROVED, NULL, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "1 of the 2");
	approve(f->st, id, SHA_3, "approve");
	assert_int_equal(queue_crl_transition(f->st, id,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_APPROVED, "why", &e),
	    ERR_INVALID);
	assert_int_equal(queue_crl_transition(f->st, id,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_APPROVED, NULL, &e), 0);
	/* Not pending any more; issued only by recording. */
	assert_int_equal(queue_crl_transition(f->st, id,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_REJECTED, "late", &e),
	    ERR_INVALID);
	assert_contains(e.msg, "is 'approved'");
	assert_int_equal(queue_crl_transition(f->st, id, QUEUE_CRL_APPROVED,
	    QUEUE_CRL_ISSUED, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "recording");
	/* A rejection: a reason is required; a rejected one stays so. */
	assert_int_equal(queue_crl_request(f->st, f->ca1, "revocation #3",
	    "airlockd", 2, 101, &id2, &e), 0);
	assert_int_equal(queue_crl_transition(f->st, id2,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_REJECTED, NULL, &e),
	    ERR_INVALID);
	approve(f->st, id2, SHA_2, "reject");
	approve(f->st, id2, SHA_3, "approve");
	approve(f->st, id2, SHA_1, "approve");
	assert_int_equal(queue_crl_transition(f->st, id2,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_APPROVED, NULL, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "rejected");
	assert_int_equal(queue_crl_transition(f->st, id2,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_REJECTED, "not needed",
	    &e), 0);
	assert_int_equal(queue_crl_get(f->st, id2, &r, &e), 0);
	assert_int_equal(r.state, QUEUE_CRL_REJECTED);
	assert_string_equal(r.reject_reason, "not needed");
	queue_crl_free(&r);
	/* Bad requests. */
	assert_int_equal(queue_crl_request(f->st, 999, "console", SHA_1, 2, 1,
	    NULL, &e), ERR_NOTFOUND);
	assert_int_equal(queue_crl_request(f->st, f->ca1, "", SHA_1, 2, 1,
	    NULL, &e), ERR_INVALID);
	assert_int_equal(queue_crl_request(f->st, f->ca1, "a\nb", SHA_1, 2, 1,
	    NULL, &e), ERR_INVALID);
	assert_int_equal(queue_crl_request(f->st, f->ca1, "x", NULL, 2, 1,
	    NULL, &e), ERR_INVALID);
	assert_int_equal(queue_crl_request(f->st, f->ca1, "x", SHA_1, 1, 1,
	    NULL, &e), ERR_INVALID);
	assert_int_equal(queue_crl_request(f->st, f->ca1, "x", SHA_1,
	    QUEUE_MAX_QUORUM + 1, 1, NULL, &e), ERR_INVALID);
	assert_int_equal(queue_crl_get(f->st, 999, &r, &e), ERR_NOTFOUND);
	assert_int_equal(queue_crl_digest(f->st, 999, digest, &e),
	    ERR_NOTFOUND);
	assert_int_equal(queue_crl_transition(f->st, 999,
	    QUEUE_CRL_PENDING_APPROVAL, QUEUE_CRL_REJECTED, "x", &e),
	    ERR_NOTFOUND);
}

static int
count_cb(void *ctx, const struct queue_crl_request *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static void
test_list(void **state)
{
	struct fx *f = *state;
	enum queue_crl_state s = QUEUE_CRL_REJECTED;
	int n = 0;
	err_t e;

	assert_int_equal(queue_crl_list(f->st, NULL, count_cb, &n, &e), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(queue_crl_list(f->st, &s, count_cb, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(queue_crl_state_name(QUEUE_CRL_ISSUED), "issued");
	assert_null(queue_crl_state_name((enum queue_crl_state)9));
	assert_int_equal(queue_crl_state_parse("nope", &s), ERR_INVALID);
}

static void
test_numbers(void **state)
{
	struct fx *f = *state;
	struct queue_crl_info info;
	int64_t n = 0, req, other;
	buf_t der;
	err_t e;

	assert_int_equal(queue_crl_latest(f->st, f->ca1, &info, &e),
	    ERR_NOTFOUND);
	/* The first number is 1; a "crash" (taken, never recorded)... */
	assert_int_equal(queue_crl_take_number(f->st, 0, f->ca1, 5, &n, &e), 0);
	assert_int_equal(n, 1);
	/* ... leaves a gap: the next attempt takes 2. */
	assert_int_equal(queue_crl_take_number(f->st, 0, f->ca1, 6, &n, &e), 0);
	assert_int_equal(n, 2);
	/* Numbers are per CA. */
	assert_int_equal(queue_crl_take_number(f->st, 0, f->ca2, 6, &n, &e), 0);
	assert_int_equal(n, 1);
	/* A number not taken, or taken for no request, is refused. */
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 7, 100, 200,
	    dummy, sizeof(dummy), SHA_A, 0, &e), ERR_INVALID);
	assert_contains(e.msg, "not taken");
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 2, 100, 100,
	    dummy, sizeof(dummy), SHA_A, 0, &e), ERR_INVALID);
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 2, 100, 200,
	    dummy, sizeof(dummy), "ABC", 0, &e), ERR_INVALID);
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 2, 100, 200,
	    NULL, 0, SHA_A, 0, &e), ERR_INVALID);
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 2, 100, 200,
	    dummy, sizeof(dummy), SHA_A, 3, &e), 0);
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 2, 100, 200,
	    dummy, sizeof(dummy), SHA_A, 3, &e), ERR_EXISTS);
	/* A number below the last CRL's can never be recorded. */
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 1, 100, 200,
	    dummy, sizeof(dummy), SHA_A, 0, &e), ERR_INVALID);
	assert_int_equal(queue_crl_latest(f->st, f->ca1, &info, &e), 0);
	assert_int_equal(info.number, 2);
	assert_int_equal(info.this_update, 100);
	assert_int_equal(info.next_update, 200);
	assert_int_equal(info.entries, 3);
	assert_string_equal(info.sha256, SHA_A);
	assert_int_equal(info.exported, 0);
	assert_string_equal(info.export_dir, "");
	/* Across a restart of the store, still rising. */
	store_close(f->st);
	assert_int_equal(store_open(f->db, 0, &f->st, &e), 0);
	assert_int_equal(queue_crl_take_number(f->st, 0, f->ca1, 7, &n, &e), 0);
	assert_int_equal(n, 3);
	/* With a request: only an approved one of the same CA. */
	assert_int_equal(queue_crl_request(f->st, f->ca1, "console", SHA_1, 2,
	    10, &other, &e), 0);
	assert_int_equal(queue_crl_take_number(f->st, other, f->ca1, 7, &n,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "only an approved request");
	req = approved_request(f, f->ca1);
	assert_int_equal(queue_crl_take_number(f->st, req, f->ca2, 7, &n, &e),
	    ERR_INVALID);
	assert_int_equal(queue_crl_take_number(f->st, req, f->ca1, 7, &n, &e),
	    0);
	assert_int_equal(n, 4);
	assert_int_equal(queue_crl_take_number(f->st, 0, 999, 7, &n, &e),
	    ERR_NOTFOUND);
	/* Number 4 was taken by req: recording it without req is refused. */
	assert_int_equal(queue_crl_record(f->st, 0, f->ca1, 4, 300, 400,
	    dummy, sizeof(dummy), SHA_B, 0, &e), ERR_INVALID);
	assert_int_equal(queue_crl_record(f->st, req, f->ca1, 4, 300, 400,
	    dummy, sizeof(dummy), SHA_B, 0, &e), 0);
	{
		struct queue_crl_request r;

		assert_int_equal(queue_crl_get(f->st, req, &r, &e), 0);
		assert_int_equal(r.state, QUEUE_CRL_ISSUED);
		assert_int_equal(r.number, 4);
		assert_int_equal(r.issued, 300);
		queue_crl_free(&r);
	}
	buf_init(&der, 1024);
	assert_int_equal(queue_crl_der(f->st, f->ca1, 4, &der, &e), 0);
	assert_int_equal(der.len, sizeof(dummy));
	assert_int_equal(queue_crl_der(f->st, f->ca1, 3, &der, &e),
	    ERR_NOTFOUND);
	buf_free(&der);
	buf_init(&der, 2);
	assert_int_equal(queue_crl_der(f->st, f->ca1, 4, &der, &e), ERR_LIMIT);
	buf_free(&der);
}

static int
info_cb(void *ctx, const struct queue_crl_info *c)
{
	char *s = ctx;
	size_t n = strlen(s);

	snprintf(s + n, 256 - n, "%lld/%lld ", (long long)c->ca_id,
	    (long long)c->number);
	return 0;
}

static void
test_exported(void **state)
{
	struct fx *f = *state;
	struct queue_crl_info info;
	char seen[256] = "", want[64];
	err_t e;

	assert_int_equal(queue_crl_unexported(f->st, info_cb, seen, &e), 0);
	snprintf(want, sizeof(want), "%lld/2 %lld/4 ", (long long)f->ca1,
	    (long long)f->ca1);
	assert_string_equal(seen, want);
	assert_int_equal(queue_crl_exported(f->st, f->ca1, 4, "crl-x-4", 500,
	    &e), 0);
	assert_int_equal(queue_crl_exported(f->st, f->ca1, 4, "crl-x-4.2", 501,
	    &e), ERR_EXISTS);
	assert_int_equal(queue_crl_exported(f->st, f->ca1, 9, "crl-x-9", 500,
	    &e), ERR_NOTFOUND);
	assert_int_equal(queue_crl_exported(f->st, f->ca1, 2, "a/b", 500, &e),
	    ERR_INVALID);
	assert_int_equal(queue_crl_exported(f->st, f->ca1, 2, "..", 500, &e),
	    ERR_INVALID);
	assert_int_equal(queue_crl_latest(f->st, f->ca1, &info, &e), 0);
	assert_int_equal(info.exported, 500);
	assert_string_equal(info.export_dir, "crl-x-4");
	seen[0] = '\0';
	assert_int_equal(queue_crl_unexported(f->st, info_cb, seen, &e), 0);
	snprintf(want, sizeof(want), "%lld/2 ", (long long)f->ca1);
	assert_string_equal(seen, want);
}

struct order {
	char got[512];
	size_t n;
};

static int
entry_cb(void *ctx, const struct queue_crl_entry *e)
{
	struct order *o = ctx;
	size_t n = strlen(o->got);

	snprintf(o->got + n, sizeof(o->got) - n, "%s:%s:%lld:%s ", e->serial,
	    e->reason, (long long)e->revoked_at, e->has_invalidity_date ?
	    "inv" : "-");
	o->n++;
	return 0;
}

static void
add_cert(struct store *st, int64_t ca, const char *serial, const char *status,
    const char *reason, int inv)
{
	char sql[1024];
	static int k;
	err_t e;

	k++;
	snprintf(sql, sizeof(sql), "INSERT INTO certificate (serial, ca_id, "
	    "kind, subject, sha256, not_before, not_after, der, status, "
	    "created, revoked_at, reason, invalidity_date) VALUES ('%s', "
	    "%lld, 'device', 'CN=x', printf('%%064x', %d), 1, 2, x'3000', "
	    "'%s', 1, %s, %s, %s)", serial, (long long)ca, k, status,
	    reason != NULL ? "1000" : "NULL", reason != NULL ? reason : "NULL",
	    inv ? "900" : "NULL");
	if (store_exec(st, sql, &e) != 0)
		fail_msg("%s: %s", sql, e.msg);
}

static void
test_entries(void **state)
{
	struct fx *f = *state;
	struct order o;
	size_t count = 99;
	err_t e;

	memset(&o, 0, sizeof(o));
	assert_int_equal(queue_crl_entries(f->st, f->ca1, entry_cb, &o,
	    &count, &e), 0);
	assert_int_equal(count, 0);
	add_cert(f->st, f->ca1, "abc", "revoked", "'keyCompromise'", 1);
	add_cert(f->st, f->ca1, "ff", "hold", "'certificateHold'", 0);
	add_cert(f->st, f->ca1, "100", "revoked", "'unspecified'", 0);
	add_cert(f->st, f->ca1, "2", "revoked", "'superseded'", 0);
	add_cert(f->st, f->ca1, "f", "valid", NULL, 0);
	add_cert(f->st, f->ca1, "1a", "revoked", "'cACompromise'", 0);
	add_cert(f->st, f->ca2, "3", "revoked", "'superseded'", 0);
	assert_int_equal(queue_crl_entries(f->st, f->ca1, entry_cb, &o,
	    &count, &e), 0);
	assert_int_equal(count, 5);
	assert_string_equal(o.got, "2:superseded:1000:- 1a:cACompromise:1000:- "
	    "ff:certificateHold:1000:- 100:unspecified:1000:- "
	    "abc:keyCompromise:1000:inv ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_lifecycle),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_exported),
		cmocka_unit_test(test_entries),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
