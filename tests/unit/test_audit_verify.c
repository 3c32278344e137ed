/*
 * test_audit_verify.c: checking an audit log (audit/verify.h). Logs are
 * built in memory (auditfx.h) with checkpoints signed by a software EC
 * P-256 or RSA-2048 key, then tampered with, one kind of tampering per
 * test; each must be found and named by line and record.
 */
#include "testutil.h"

#include <openssl/evp.h>

#include "audit/verify.h"
#include "auditfx.h"

static EVP_PKEY *ec_key, *rsa_key;
static char ec_sha[AUDIT_HASH_HEX], rsa_sha[AUDIT_HASH_HEX];

static int
setup(void **state)
{
	(void)state;
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (ec_key == NULL || rsa_key == NULL)
		return -1;
	auditfx_key_sha256(ec_key, ec_sha);
	auditfx_key_sha256(rsa_key, rsa_sha);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return 0;
}

/*
 * A log of n records (n a multiple of every) with a checkpoint after
 * every `every` records, signed by key.
 */
static void
make_log(struct auditfx *fx, EVP_PKEY *key, int n, int every)
{
	int i;

	auditfx_init(fx, key, 1, NULL);
	for (i = 0; i < n; i += every) {
		assert_int_equal(auditfx_records(fx, every), 0);
		assert_int_equal(auditfx_cp(fx), 0);
	}
}

/* Feeds every line of fx to a verifier made with pub/sha, as "LOG". */
static int
run(const struct auditfx *fx, EVP_PKEY *pub, const char *sha,
    struct audit_verify_result *res, diag_t *d)
{
	struct audit_verifier *v;
	size_t i;
	err_t e;
	int rc = 0;

	diag_init(d);
	if (audit_verify_new(pub, sha, &v, &e) != 0)
		fail_msg("new: %s", e.msg);
	assert_int_equal(audit_verify_set_name(v, "LOG"), 0);
	for (i = 0; i < fx->n && rc == 0; i++)
		rc = audit_verify_line(v, fx->lines[i], strlen(fx->lines[i]),
		    (unsigned long)i + 1, d);
	assert_int_equal(audit_verify_end(v, res, d), 0);
	audit_verify_free(v);
	return rc;
}

static int
run_ec(const struct auditfx *fx, struct audit_verify_result *res, diag_t *d)
{
	return run(fx, ec_key, ec_sha, res, d);
}

/*
 * Fails unless some problem in d starts with "LOG:line: record seq: "
 * (line 0: "LOG: ", seq 0: no record) and contains text.
 */
static void
expect(const diag_t *d, unsigned long line, long long seq, const char *text)
{
	char where[64], msg[1200];
	size_t i, n = 0;

	n += (size_t)snprintf(where, sizeof(where), "LOG:");
	if (line > 0)
		n += (size_t)snprintf(where + n, sizeof(where) - n, "%lu:",
		    line);
	n += (size_t)snprintf(where + n, sizeof(where) - n, " ");
	if (seq > 0)
		snprintf(where + n, sizeof(where) - n, "record %lld: ", seq);
	for (i = 0; i < d->n; i++) {
		diag_format(d, i, msg, sizeof(msg));
		if (strncmp(msg, where, strlen(where)) == 0 &&
		    strstr(msg, text) != NULL)
			return;
	}
	testutil_print_diag(d, "problem");
	fail_msg("no problem \"%s...%s\"", where, text);
}

/* The line number (1-based) of record seq in fx. */
static unsigned long
line_of(const struct auditfx *fx, int64_t seq)
{
	size_t i = auditfx_find(fx, seq);

	assert_true(i < fx->n);
	return (unsigned long)i + 1;
}

/* The line number of the checkpoint of record seq. */
static unsigned long
cp_line_of(const struct auditfx *fx, int64_t seq)
{
	char want[32];
	size_t i, n = (size_t)snprintf(want, sizeof(want), "C\t%lld\t",
	    (long long)seq);

	for (i = 0; i < fx->n; i++)
		if (strncmp(fx->lines[i], want, n) == 0)
			return (unsigned long)i + 1;
	fail_msg("no checkpoint of record %lld", (long long)seq);
	return 0;
}

/* Replaces the first `from` in line i by `to` (same length or not). */
static void
edit(struct auditfx *fx, size_t i, const char *from, const char *to)
{
	char buf[AUDIT_LINE_MAX + 64];
	char *at = strstr(fx->lines[i], from);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - fx->lines[i]),
	    fx->lines[i], to, at + strlen(from));
	assert_int_equal(auditfx_set(fx, i, buf), 0);
}

static void
check_clean(EVP_PKEY *key, const char *sha)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;
	buf_t sum;

	make_log(&fx, key, 30, 10);
	assert_int_equal(run(&fx, key, sha, &res, &d), 0);
	if (diag_count(&d) != 0)
		testutil_print_diag(&d, "unexpected");
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.ok);
	assert_int_equal(res.problems, 0);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 30);
	assert_int_equal(res.records, 30);
	assert_int_equal(res.checkpoints, 3);
	assert_int_equal(res.checkpoints_ok, 3);
	assert_int_equal(res.last_checkpoint_seq, 30);
	assert_int_equal(res.unsigned_tail, 0);
	assert_true(res.first_prev_checked);
	assert_true(res.signatures_checked);
	assert_string_equal(res.first_prev, audit_genesis);
	assert_string_equal(res.head_hash, fx.prev);
	buf_init(&sum, 4096);
	assert_int_equal(audit_verify_summary(&res, "LOG", &sum), 0);
	assert_int_equal(buf_put_u8(&sum, 0), 0);
	assert_contains((char *)sum.data, "LOG: verified: records 1 to 30, 3 "
	    "checkpoints, the last signing record 30");
	assert_null(strstr((char *)sum.data, "warning"));
	buf_free(&sum);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_clean_ec(void **state)
{
	(void)state;
	check_clean(ec_key, ec_sha);
}

static void
test_clean_rsa(void **state)
{
	(void)state;
	check_clean(rsa_key, rsa_sha);
}

/* The daemon's self-check: no key, everything but signatures. */
static void
test_no_key(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;
	buf_t sum;
	err_t e;
	struct audit_verifier *v;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	assert_int_equal(run(&fx, NULL, NULL, &res, &d), 0);
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.ok);
	assert_false(res.signatures_checked);
	buf_init(&sum, 4096);
	assert_int_equal(audit_verify_summary(&res, "LOG", &sum), 0);
	assert_int_equal(buf_put_u8(&sum, 0), 0);
	assert_contains((char *)sum.data, "signatures were not checked");
	buf_free(&sum);
	diag_free(&d);
	/* A key needs its certificate's SHA-256, which must be hex. */
	assert_int_equal(audit_verify_new(ec_key, NULL, &v, &e), ERR_INVALID);
	assert_int_equal(audit_verify_new(NULL, "ABC", &v, &e), ERR_INVALID);
	auditfx_free(&fx);
}

/* A field changed, HASH left as it was. */
static void
test_changed_field(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	edit(&fx, auditfx_find(&fx, 7), "entries 12", "entries 13");
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, line_of(&fx, 7), 7, "record changed: its HASH");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	auditfx_free(&fx);
}

/* A field changed and HASH recomputed: the next record's PREV breaks. */
static void
test_changed_field_rehashed(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	assert_int_equal(auditfx_reseal(&fx, auditfx_find(&fx, 7), 0, NULL,
	    "entries 0", NULL), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, line_of(&fx, 8), 8, "PREV is not the HASH of record 7");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	auditfx_free(&fx);
}

/* The whole chain recomputed after a change: only checkpoints see it. */
static void
test_rechained(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 30, 10);
	assert_int_equal(auditfx_reseal(&fx, auditfx_find(&fx, 7), 0, NULL,
	    "entries 0", NULL), 0);
	assert_int_equal(auditfx_rechain(&fx, auditfx_find(&fx, 8)), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, cp_line_of(&fx, 10), 10, "checkpoint HASH");
	expect(&d, cp_line_of(&fx, 10), 10, "differs from record 10's HASH");
	expect(&d, cp_line_of(&fx, 20), 20, "differs from record 20's HASH");
	expect(&d, cp_line_of(&fx, 30), 30, "differs from record 30's HASH");
	expect(&d, 0, 0, "no checkpoint verifies");
	assert_int_equal(diag_count(&d), 4);
	assert_int_equal(res.checkpoints_ok, 0);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_deleted_record(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	auditfx_delete(&fx, auditfx_find(&fx, 5));
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, line_of(&fx, 6), 6, "record 5 is missing (this record "
	    "follows record 4)");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	auditfx_free(&fx);
}

/* Deleted, the rest renumbered and the chain recomputed. */
static void
test_deleted_renumbered(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	size_t i;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	auditfx_delete(&fx, auditfx_find(&fx, 5));
	for (i = 6; i <= 20; i++)
		assert_int_equal(auditfx_reseal(&fx, auditfx_find(&fx,
		    (int64_t)i), (int64_t)i - 1, NULL, NULL, NULL), 0);
	assert_int_equal(auditfx_rechain(&fx, 0), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	/* Record 10 is now the old 11; record 20 no longer exists. */
	expect(&d, cp_line_of(&fx, 10), 10, "differs from record 10's HASH");
	expect(&d, cp_line_of(&fx, 20), 20, "truncated: checkpoint signed "
	    "record 20 but the log ends at record 19");
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_inserted_record(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx, extra;
	char hash5[AUDIT_HASH_HEX];
	const char *l5;
	size_t at;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	/* A forged record 6 after record 5, chained to it. */
	at = auditfx_find(&fx, 5);
	l5 = fx.lines[at];
	memcpy(hash5, l5 + strlen(l5) - 64, 64);
	hash5[64] = '\0';
	auditfx_init(&extra, NULL, 6, hash5);
	assert_int_equal(auditfx_rec(&extra, NULL, "Mallory", "officer",
	    "approval", "ok", "batch=1 decision=approve", NULL), 0);
	assert_int_equal(auditfx_insert(&fx, at + 1, extra.lines[0],
	    strlen(extra.lines[0])), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	/* The forgery itself fits; the real record 6 and 7 do not. */
	expect(&d, (unsigned long)at + 3, 6, "a second, different record 6 "
	    "after record 6");
	expect(&d, line_of(&fx, 7), 7, "PREV is not the HASH of record 6");
	assert_int_equal(diag_count(&d), 2);
	diag_free(&d);
	auditfx_free(&extra);
	auditfx_free(&fx);
}

static void
test_reordered(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	size_t a, b;
	char *tmp;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	a = auditfx_find(&fx, 5);
	b = auditfx_find(&fx, 6);
	tmp = fx.lines[a];
	fx.lines[a] = fx.lines[b];
	fx.lines[b] = tmp;
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, (unsigned long)a + 1, 6, "record 5 is missing");
	expect(&d, (unsigned long)b + 1, 5, "record 5 comes after record 6: "
	    "records are out of order");
	assert_int_equal(diag_count(&d), 2);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_gap(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 60, 20);
	auditfx_delete(&fx, auditfx_find(&fx, 41));
	auditfx_delete(&fx, auditfx_find(&fx, 42));
	auditfx_delete(&fx, auditfx_find(&fx, 43));
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, line_of(&fx, 44), 44, "records 41 to 43 are missing (this "
	    "record follows record 40)");
	assert_int_equal(diag_count(&d), 1);
	assert_int_equal(res.last_seq, 60);
	diag_free(&d);
	auditfx_free(&fx);
}

/* A checkpoint that names a record the log lacks. */
static void
test_checkpoint_of_missing_record(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	auditfx_delete(&fx, auditfx_find(&fx, 10));
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, cp_line_of(&fx, 10), 10, "checkpoint names record 10, "
	    "which is missing from the log");
	expect(&d, line_of(&fx, 11), 11, "record 10 is missing");
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_duplicated(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	size_t at;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	at = auditfx_find(&fx, 5);
	assert_int_equal(auditfx_insert(&fx, at + 2, fx.lines[at],
	    strlen(fx.lines[at])), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, (unsigned long)at + 3, 5, "record 5 appears again after "
	    "record 6");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	auditfx_free(&fx);
}

/* Cut after the last checkpoint: not detectable, only a warning. */
static void
test_truncated_after_checkpoint(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;
	buf_t sum;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	assert_int_equal(auditfx_records(&fx, 10), 0);
	/* The log ends at 30 without a checkpoint: records 27-30 cut. */
	auditfx_delete(&fx, fx.n - 1);
	auditfx_delete(&fx, fx.n - 1);
	auditfx_delete(&fx, fx.n - 1);
	auditfx_delete(&fx, fx.n - 1);
	run_ec(&fx, &res, &d);
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.ok);
	assert_int_equal(res.last_seq, 26);
	assert_int_equal(res.last_checkpoint_seq, 20);
	assert_int_equal(res.unsigned_tail, 6);
	buf_init(&sum, 4096);
	assert_int_equal(audit_verify_summary(&res, "LOG", &sum), 0);
	assert_int_equal(buf_put_u8(&sum, 0), 0);
	assert_contains((char *)sum.data, "LOG: warning: records 21 to 26 come "
	    "after the last checkpoint; a truncation there cannot be detected "
	    "from this file alone");
	buf_free(&sum);
	diag_free(&d);
	auditfx_free(&fx);
}

/* Cut before a checkpoint's record: the checkpoint shows it. */
static void
test_truncated_before_checkpoint(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	int64_t s;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 100, 50);
	assert_int_equal(auditfx_records(&fx, 20), 0);
	assert_int_equal(auditfx_cp(&fx), 0);
	for (s = 98; s <= 120; s++)
		auditfx_delete(&fx, auditfx_find(&fx, s));
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, cp_line_of(&fx, 100), 100, "truncated: checkpoint signed "
	    "record 100 but the log ends at record 97");
	expect(&d, cp_line_of(&fx, 120), 120, "truncated: checkpoint signed "
	    "record 120 but the log ends at record 97");
	assert_int_equal(diag_count(&d), 2);
	assert_int_equal(res.last_seq, 97);
	assert_int_equal(res.last_checkpoint_seq, 50);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_other_key(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	assert_int_equal(auditfx_records(&fx, 5), 0);
	/* Signed by the RSA key, which names itself. */
	assert_int_equal(auditfx_cp_of(&fx, 25, fx.prev, rsa_key, rsa_sha),
	    0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, cp_line_of(&fx, 25), 25, "checkpoint made by another key");
	assert_int_equal(diag_count(&d), 1);
	assert_int_equal(res.last_checkpoint_seq, 20);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_bad_signature(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	size_t at;
	char *sig;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 30, 10);
	/* One base64 digit of the signature changed (still canonical). */
	at = cp_line_of(&fx, 20) - 1;
	sig = strrchr(fx.lines[at], '\t') + 1;
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	/* Signed by the RSA key but claiming the audit key's name. */
	assert_int_equal(auditfx_records(&fx, 5), 0);
	assert_int_equal(auditfx_cp_of(&fx, 35, fx.prev, rsa_key, ec_sha), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, (unsigned long)at + 1, 20, "checkpoint signature does not "
	    "verify");
	expect(&d, cp_line_of(&fx, 35), 35, "checkpoint signature does not "
	    "verify");
	assert_int_equal(diag_count(&d), 2);
	assert_int_equal(res.checkpoints_ok, 2);
	assert_int_equal(res.last_checkpoint_seq, 30);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_checkpoint_before_record(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	size_t cpi, r10;
	char *cp;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	/* Move the checkpoint of record 10 to before record 10. */
	cpi = cp_line_of(&fx, 10) - 1;
	r10 = auditfx_find(&fx, 10);
	cp = fx.lines[cpi];
	memmove(fx.lines + r10 + 1, fx.lines + r10,
	    (cpi - r10) * sizeof(*fx.lines));
	fx.lines[r10] = cp;
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, (unsigned long)r10 + 1, 10, "checkpoint comes before its "
	    "record, which appears later (line 11)");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_no_checkpoint(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	auditfx_init(&fx, ec_key, 1, NULL);
	assert_int_equal(auditfx_records(&fx, 10), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, 0, 0, "no checkpoint: nothing in this log is signed");
	assert_int_equal(diag_count(&d), 1);
	assert_int_equal(res.unsigned_tail, 10);
	diag_free(&d);
	auditfx_free(&fx);
	/* And an empty log. */
	auditfx_init(&fx, ec_key, 1, NULL);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, 0, 0, "the log holds no record");
	diag_free(&d);
	auditfx_free(&fx);
}

/* An export segment: starts past record 1; its first PREV is a note. */
static void
test_segment(void **state)
{
	static const char prev500[] =
	    "8b1a9953c4611296a827abf8c47804d7e6c49c6b0e0f0e0f0e0f0e0f0e0f0e0f";
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;
	buf_t sum;

	(void)state;
	auditfx_init(&fx, ec_key, 501, prev500);
	assert_int_equal(auditfx_records(&fx, 20), 0);
	assert_int_equal(auditfx_cp(&fx), 0);
	run_ec(&fx, &res, &d);
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.ok);
	assert_int_equal(res.first_seq, 501);
	assert_int_equal(res.last_seq, 520);
	assert_false(res.first_prev_checked);
	assert_string_equal(res.first_prev, prev500);
	buf_init(&sum, 4096);
	assert_int_equal(audit_verify_summary(&res, "LOG", &sum), 0);
	assert_int_equal(buf_put_u8(&sum, 0), 0);
	assert_contains((char *)sum.data, "LOG: note: the log starts at record "
	    "501");
	assert_contains((char *)sum.data, "--follows");
	buf_free(&sum);
	diag_free(&d);
	auditfx_free(&fx);

	/* With the checkpoint of record 500 first, the PREV is signed. */
	auditfx_init(&fx, ec_key, 501, prev500);
	assert_int_equal(auditfx_cp_of(&fx, 500, prev500, ec_key, ec_sha), 0);
	assert_int_equal(auditfx_records(&fx, 20), 0);
	assert_int_equal(auditfx_cp(&fx), 0);
	run_ec(&fx, &res, &d);
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.first_prev_checked);
	diag_free(&d);
	auditfx_free(&fx);

	/* A checkpoint of an earlier record cannot be checked here. */
	auditfx_init(&fx, ec_key, 501, prev500);
	assert_int_equal(auditfx_cp_of(&fx, 400, prev500, ec_key, ec_sha), 0);
	assert_int_equal(auditfx_records(&fx, 20), 0);
	assert_int_equal(auditfx_cp(&fx), 0);
	run_ec(&fx, &res, &d);
	expect(&d, 1, 400, "before this log's first record 501");
	diag_free(&d);
	auditfx_free(&fx);

	/* A segment whose first PREV is not what record 500 was signed as. */
	auditfx_init(&fx, ec_key, 501, prev500);
	assert_int_equal(auditfx_cp_of(&fx, 500, audit_genesis, ec_key,
	    ec_sha), 0);
	assert_int_equal(auditfx_records(&fx, 20), 0);
	assert_int_equal(auditfx_cp(&fx), 0);
	run_ec(&fx, &res, &d);
	expect(&d, 1, 500, "is not the PREV of record 501");
	diag_free(&d);
	auditfx_free(&fx);
}

/* A record 1 whose PREV is not the genesis value. */
static void
test_bad_genesis(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	auditfx_init(&fx, ec_key, 1, "1111111111111111111111111111111111111111"
	    "111111111111111111111111");
	assert_int_equal(auditfx_records(&fx, 10), 0);
	assert_int_equal(auditfx_cp(&fx), 0);
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, 1, 1, "PREV is not the genesis value");
	diag_free(&d);
	auditfx_free(&fx);
}

/* The largest SEQ there is, repeated: no arithmetic may wrap. */
static void
test_last_seq(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	auditfx_init(&fx, ec_key, INT64_MAX - 1, audit_genesis);
	assert_int_equal(auditfx_records(&fx, 2), 0);
	assert_int_equal(fx.seq, INT64_MAX);
	assert_int_equal(auditfx_cp_at(&fx, INT64_MAX), 0);
	run_ec(&fx, &res, &d);
	assert_int_equal(diag_count(&d), 0);
	assert_int_equal(res.last_seq, INT64_MAX);
	assert_int_equal(res.last_checkpoint_seq, INT64_MAX);
	diag_free(&d);
	assert_int_equal(auditfx_insert(&fx, fx.n, fx.lines[1],
	    strlen(fx.lines[1])), 0);
	run_ec(&fx, &res, &d);
	expect(&d, 4, INT64_MAX, "appears twice in a row");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	auditfx_free(&fx);
}

/* Lines that do not parse are named; the chain around them still holds. */
static void
test_unparsable(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	size_t at;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	at = auditfx_find(&fx, 6);
	assert_int_equal(auditfx_insert(&fx, at, "garbage", 7), 0);
	/* A bad escape in record 15's DETAILS. */
	edit(&fx, auditfx_find(&fx, 15), "entries", "ent\\qries");
	run_ec(&fx, &res, &d);
	assert_false(res.ok);
	expect(&d, (unsigned long)at + 1, 0, "the line does not parse: the "
	    "line starts with 'garbage'");
	expect(&d, line_of(&fx, 15), 15, "the line does not parse: DETAILS");
	expect(&d, line_of(&fx, 15), 15, "record changed");
	/* Nothing about records 16 on: record 15 kept its place. */
	assert_int_equal(diag_count(&d), 3);
	assert_int_equal(res.records, 20);
	diag_free(&d);
	auditfx_free(&fx);
}

/* Too many checkpoints ahead of their records stop the verifier. */
static void
test_pending_limit(void **state)
{
	struct audit_verifier *v;
	char line[512];
	unsigned long i;
	diag_t d;
	err_t e;
	int rc = 0, n;

	(void)state;
	diag_init(&d);
	assert_int_equal(audit_verify_new(NULL, NULL, &v, &e), 0);
	for (i = 1; i <= AUDIT_VERIFY_MAX_PENDING + 1 && rc == 0; i++) {
		n = snprintf(line, sizeof(line), "C\t%lu\t%s\t2026-01-01T00:00:"
		    "00Z\t%s\tAAECAw==", i, audit_genesis, ec_sha);
		rc = audit_verify_line(v, line, (size_t)n, i, &d);
	}
	assert_int_equal(rc, ERR_INVALID);
	assert_int_equal(i, AUDIT_VERIFY_MAX_PENDING + 2);
	assert_contains(testutil_diag_text(&d), "more than 4,096 checkpoints "
	    "come before their records; the rest of the log is not checked");
	assert_int_equal(audit_verify_line(v, line, (size_t)n, i, &d),
	    ERR_INVALID);
	audit_verify_free(v);
	diag_free(&d);
}

/* --- files ------------------------------------------------------------- */

static char tmpdir[PATH_MAX];

static int
file_setup(void **state)
{
	(void)state;
	return testutil_tmpdir(tmpdir, sizeof(tmpdir), "averify");
}

static int
file_teardown(void **state)
{
	(void)state;
	return testutil_rmtree(tmpdir);
}

static const char *
tpath(const char *name)
{
	static char p[4][PATH_MAX + 64];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static void
verify_file(const char *name, const char *follows,
    struct audit_verify_result *res, diag_t *d)
{
	err_t e;

	diag_init(d);
	if (audit_verify_file(tpath(name), ec_key, ec_sha, follows != NULL ?
	    tpath(follows) : NULL, res, d, &e) != 0)
		fail_msg("%s", e.msg);
}

/* expect() with the problem's file named by its path in tmpdir. */
static void
expect_in(const diag_t *d, const char *name, unsigned long line,
    long long seq, const char *text)
{
	char where[PATH_MAX + 128], msg[1200];
	size_t i, n;

	n = (size_t)snprintf(where, sizeof(where), "%s:", tpath(name));
	if (line > 0)
		n += (size_t)snprintf(where + n, sizeof(where) - n, "%lu:",
		    line);
	n += (size_t)snprintf(where + n, sizeof(where) - n, " ");
	if (seq > 0)
		snprintf(where + n, sizeof(where) - n, "record %lld: ", seq);
	for (i = 0; i < d->n; i++) {
		diag_format(d, i, msg, sizeof(msg));
		if (strncmp(msg, where, strlen(where)) == 0 &&
		    strstr(msg, text) != NULL)
			return;
	}
	testutil_print_diag(d, "problem");
	fail_msg("no problem \"%s...%s\"", where, text);
}

static void
test_file_ok(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;
	err_t e;

	(void)state;
	make_log(&fx, rsa_key, 40, 20);
	assert_int_equal(auditfx_write(&fx, tpath("ok.log")), 0);
	diag_init(&d);
	assert_int_equal(audit_verify_file(tpath("ok.log"), rsa_key, rsa_sha,
	    NULL, &res, &d, &e), 0);
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.ok);
	assert_int_equal(res.last_seq, 40);
	diag_free(&d);
	/* Missing file, a directory, a symbolic link: errors, not verdicts. */
	assert_int_equal(audit_verify_file(tpath("none.log"), rsa_key,
	    rsa_sha, NULL, &res, &d, &e), ERR_NOTFOUND);
	assert_int_equal(audit_verify_file(tmpdir, rsa_key, rsa_sha, NULL,
	    &res, &d, &e), ERR_IO);
	assert_int_equal(symlink(tpath("ok.log"), tpath("link.log")), 0);
	assert_int_equal(audit_verify_file(tpath("link.log"), rsa_key,
	    rsa_sha, NULL, &res, &d, &e), ERR_IO);
	assert_contains(e.msg, "symbolic link");
	auditfx_free(&fx);
}

static void
test_file_no_final_lf(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	struct stat st;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	assert_int_equal(auditfx_records(&fx, 1), 0);
	assert_int_equal(auditfx_write(&fx, tpath("cut.log")), 0);
	/* Cut the last line in the middle. */
	assert_int_equal(stat(tpath("cut.log"), &st), 0);
	assert_int_equal(truncate(tpath("cut.log"), st.st_size - 40), 0);
	verify_file("cut.log", NULL, &res, &d);
	assert_false(res.ok);
	expect_in(&d, "cut.log", (unsigned long)fx.n, 0, "truncated mid-line");
	assert_int_equal(diag_count(&d), 1);
	assert_int_equal(res.last_seq, 20);
	diag_free(&d);
	auditfx_free(&fx);
}

static void
test_file_overlong_line(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	char *big;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20, 10);
	big = malloc(3 * AUDIT_LINE_MAX);
	assert_non_null(big);
	memset(big, 'x', 3 * AUDIT_LINE_MAX - 1);
	big[3 * AUDIT_LINE_MAX - 1] = '\0';
	assert_int_equal(auditfx_insert(&fx, 5, big, strlen(big)), 0);
	/* Exactly one byte too long, with its LF. */
	big[AUDIT_LINE_MAX] = '\0';
	assert_int_equal(auditfx_insert(&fx, 9, big, strlen(big)), 0);
	free(big);
	assert_int_equal(auditfx_write(&fx, tpath("long.log")), 0);
	verify_file("long.log", NULL, &res, &d);
	assert_false(res.ok);
	expect_in(&d, "long.log", 6, 0, "longer than 32768 bytes");
	expect_in(&d, "long.log", 10, 0, "longer than 32768 bytes");
	assert_int_equal(diag_count(&d), 2);
	assert_int_equal(res.records, 20);
	diag_free(&d);
	auditfx_free(&fx);
}

/* An earlier log, and later ones that do or do not extend it. */
static void
test_follows(void **state)
{
	struct audit_verify_result res;
	struct auditfx early, full, seg, fork, shorter, gap;
	diag_t d;

	(void)state;
	make_log(&early, ec_key, 50, 25);
	assert_int_equal(auditfx_write(&early, tpath("early.log")), 0);
	/* The whole log, later: it holds the early one and goes on. */
	make_log(&full, ec_key, 80, 10);
	assert_int_equal(auditfx_write(&full, tpath("full.log")), 0);
	verify_file("full.log", "early.log", &res, &d);
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.ok);
	assert_true(res.follows_checked);
	assert_int_equal(res.follows_last_seq, 50);
	diag_free(&d);
	/* The next export segment: 51 on, chained to record 50. */
	auditfx_init(&seg, ec_key, 51, early.prev);
	assert_int_equal(auditfx_records(&seg, 30), 0);
	assert_int_equal(auditfx_cp(&seg), 0);
	assert_int_equal(auditfx_write(&seg, tpath("seg.log")), 0);
	verify_file("seg.log", NULL, &res, &d);
	assert_true(res.ok);
	assert_false(res.first_prev_checked);
	diag_free(&d);
	verify_file("seg.log", "early.log", &res, &d);
	assert_int_equal(diag_count(&d), 0);
	assert_true(res.ok);
	assert_true(res.follows_checked);
	assert_true(res.first_prev_checked);
	diag_free(&d);
	/* A history that parts at record 30, valid and signed on its own. */
	auditfx_init(&fork, ec_key, 1, NULL);
	assert_int_equal(auditfx_records(&fork, 29), 0);
	assert_int_equal(auditfx_rec(&fork, NULL, NULL, NULL, "crl-issued",
	    "ok", "ca=device-ca crl=29", "another history"), 0);
	assert_int_equal(auditfx_records(&fork, 30), 0);
	assert_int_equal(auditfx_cp(&fork), 0);
	assert_int_equal(auditfx_write(&fork, tpath("fork.log")), 0);
	verify_file("fork.log", NULL, &res, &d);
	assert_true(res.ok);
	diag_free(&d);
	verify_file("fork.log", "early.log", &res, &d);
	assert_false(res.ok);
	assert_false(res.follows_checked);
	expect_in(&d, "fork.log", 0, 30, "the logs part here: HASH");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	/* A segment whose PREV is not the early log's last HASH. */
	auditfx_free(&seg);
	auditfx_init(&seg, ec_key, 51, audit_genesis);
	assert_int_equal(auditfx_records(&seg, 10), 0);
	assert_int_equal(auditfx_cp(&seg), 0);
	assert_int_equal(auditfx_write(&seg, tpath("seg2.log")), 0);
	verify_file("seg2.log", "early.log", &res, &d);
	assert_false(res.ok);
	expect_in(&d, "seg2.log", 1, 51, "the logs part here: PREV");
	diag_free(&d);
	/* A later log that stops before the early one did: truncated. */
	make_log(&shorter, ec_key, 40, 20);
	assert_int_equal(auditfx_write(&shorter, tpath("short.log")), 0);
	verify_file("short.log", "early.log", &res, &d);
	assert_false(res.ok);
	expect_in(&d, "short.log", 0, 0, "this log ends at record 40, before "
	    "record 50 where");
	diag_free(&d);
	/* A segment that leaves a gap after the early log. */
	auditfx_init(&gap, ec_key, 53, early.prev);
	assert_int_equal(auditfx_records(&gap, 10), 0);
	assert_int_equal(auditfx_cp(&gap), 0);
	assert_int_equal(auditfx_write(&gap, tpath("gap.log")), 0);
	verify_file("gap.log", "early.log", &res, &d);
	assert_false(res.ok);
	expect_in(&d, "gap.log", 1, 53, "records 51 to 52 are missing between");
	diag_free(&d);
	/* The early log's own problems are named with its path. */
	auditfx_delete(&early, auditfx_find(&early, 7));
	assert_int_equal(auditfx_write(&early, tpath("early2.log")), 0);
	verify_file("full.log", "early2.log", &res, &d);
	assert_false(res.ok);
	expect_in(&d, "early2.log", 7, 8, "record 7 is missing");
	diag_free(&d);
	auditfx_free(&early);
	auditfx_free(&full);
	auditfx_free(&seg);
	auditfx_free(&fork);
	auditfx_free(&shorter);
	auditfx_free(&gap);
}

/* A long log goes through (hashes kept in growing runs). */
static void
test_many_records(void **state)
{
	struct audit_verify_result res;
	struct auditfx fx;
	diag_t d;

	(void)state;
	make_log(&fx, ec_key, 20000, 5000);
	run_ec(&fx, &res, &d);
	assert_int_equal(diag_count(&d), 0);
	assert_int_equal(res.last_seq, 20000);
	assert_int_equal(res.checkpoints_ok, 4);
	diag_free(&d);
	auditfx_free(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_ec),
		cmocka_unit_test(test_clean_rsa),
		cmocka_unit_test(test_no_key),
		cmocka_unit_test(test_changed_field),
		cmocka_unit_test(test_changed_field_rehashed),
		cmocka_unit_test(test_rechained),
		cmocka_unit_test(test_deleted_record),
		cmocka_unit_test(test_deleted_renumbered),
		cmocka_unit_test(test_inserted_record),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_checkpoint_of_missing_record),
		cmocka_unit_test(test_duplicated),
		cmocka_unit_test(test_truncated_after_checkpoint),
		cmocka_unit_test(test_truncated_before_checkpoint),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_checkpoint_before_record),
		cmocka_unit_test(test_no_checkpoint),
		cmocka_unit_test(test_segment),
		cmocka_unit_test(test_bad_genesis),
		cmocka_unit_test(test_last_seq),
		cmocka_unit_test(test_unparsable),
		cmocka_unit_test(test_pending_limit),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test_setup_teardown(test_file_ok, file_setup,
		    file_teardown),
		cmocka_unit_test_setup_teardown(test_file_no_final_lf,
		    file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_file_overlong_line,
		    file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_follows, file_setup,
		    file_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
