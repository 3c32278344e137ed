/*
 * test_approval.c: approval statements, their signatures and the quorum
 * (appliance/approval, pki/roles).
 *
 * Everything is made in software: a people CA, three officers (RSA-2048,
 * EC P-256, EC P-384), an operator, an auditor, a certificate with both
 * the officer and operator roles, an expired officer and an officer of
 * another CA. When the openssl tool is installed, statements written with
 * printf and signed with stock `openssl dgst -sign` must verify too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "approval/approval.h"
#include "approval/statement.h"
#include "approval/tally.h"
#include "pki/oids.h"
#include "pki/pkiutil.h"
#include "pkitest.h"
#include "testutil.h"
#include "util/fileio.h"

/* 2026-04-11T00:00:00Z: inside every valid certificate's validity. */
#define NOW (T2026 + (time_t)100 * 86400)
/* 2026-04-10T12:00:00Z: when the officers sign. */
#define SIGNED_AT (NOW - (time_t)12 * 3600)
#define SIGNED_AT_TEXT "2026-04-10T12:00:00Z"
#define CREATED (NOW - (time_t)2 * 86400)
#define DIGEST "9f86d081884c7d659a2feaa0c55ad015" \
	"a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define OTHER_DIGEST "60303ae22b998861bce3b28f33eec1be" \
	"758a213c86c93c076dbe9f558c11c752"
#define OBJECT 42

static EVP_PKEY *ca_key, *other_key, *k_rsa, *k_p256, *k_p384, *k_op;
static EVP_PKEY *k_aud;
static X509 *ca, *other_ca, *off_rsa, *off_p256, *off_p384, *op_cert;
static X509 *aud_cert, *dual, *expired, *stranger;
static STACK_OF(X509) *anchors;
static char fp_rsa[65], fp_p256[65], fp_p384[65];

/* A person's certificate: roles (oids ids, role2 < 0 for none), validity. */
static X509 *
person(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int role1, int role2, time_t na, unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, na, 0, -1);
	s.ext.eku.v = calloc(2, sizeof(char *));
	s.ext.eku.v[s.ext.eku.n++] = strdup(oids_dotted((enum oids_id)role1));
	if (role2 >= 0)
		s.ext.eku.v[s.ext.eku.n++] =
		    strdup(oids_dotted((enum oids_id)role2));
	x = pkitest_issue(&s, key, issuer, ikey, tag);
	certspec_free(&s);
	return x;
}

static int
setup(void **state)
{
	struct certspec s;

	(void)state;
	ca_key = pkitest_ec("P-256");
	other_key = pkitest_ec("P-256");
	k_rsa = pkitest_rsa();
	k_p256 = pkitest_ec("P-256");
	k_p384 = pkitest_ec("P-384");
	k_op = pkitest_ec("P-256");
	k_aud = pkitest_ec("P-256");
	if (!ca_key || !other_key || !k_rsa || !k_p256 || !k_p384 || !k_op ||
	    !k_aud)
		return -1;
	pkitest_spec(&s, "Airlock People CA", T2026, T2050, 1, 0);
	ca = pkitest_issue(&s, ca_key, NULL, ca_key, 1);
	certspec_free(&s);
	pkitest_spec(&s, "Somebody Else's CA", T2026, T2050, 1, 0);
	other_ca = pkitest_issue(&s, other_key, NULL, other_key, 2);
	certspec_free(&s);
	off_rsa = person("Alice Officer", k_rsa, ca, ca_key,
	    OIDS_ROLE_OFFICER, -1, T2030, 3);
	off_p256 = person("Bob Officer", k_p256, ca, ca_key,
	    OIDS_ROLE_OFFICER, -1, T2030, 4);
	off_p384 = person("Carol Officer", k_p384, ca, ca_key,
	    OIDS_ROLE_OFFICER, -1, T2030, 5);
	op_cert = person("Dave Operator", k_op, ca, ca_key,
	    OIDS_ROLE_OPERATOR, -1, T2030, 6);
	aud_cert = person("Erin Auditor", k_aud, ca, ca_key,
	    OIDS_ROLE_AUDITOR, -1, T2030, 7);
	dual = person("Mallory Both", k_p256, ca, ca_key, OIDS_ROLE_OFFICER,
	    OIDS_ROLE_OPERATOR, T2030, 8);
	expired = person("Frank Former", k_p256, ca, ca_key,
	    OIDS_ROLE_OFFICER, -1, T2026 + (time_t)50 * 86400, 9);
	stranger = person("Alice Officer", k_rsa, other_ca, other_key,
	    OIDS_ROLE_OFFICER, -1, T2030, 10);
	if (!ca || !other_ca || !off_rsa || !off_p256 || !off_p384 ||
	    !op_cert || !aud_cert || !dual || !expired || !stranger)
		return -1;
	if ((anchors = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(anchors, ca))
		return -1;
	if (pki_cert_sha256_hex(off_rsa, fp_rsa) != 0 ||
	    pki_cert_sha256_hex(off_p256, fp_p256) != 0 ||
	    pki_cert_sha256_hex(off_p384, fp_p384) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sk_X509_free(anchors);
	X509_free(ca);
	X509_free(other_ca);
	X509_free(off_rsa);
	X509_free(off_p256);
	X509_free(off_p384);
	X509_free(op_cert);
	X509_free(aud_cert);
	X509_free(dual);
	X509_free(expired);
	X509_free(stranger);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_op);
	EVP_PKEY_free(k_aud);
	return 0;
}

/* --- helpers ------------------------------------------------------------ */

static void
expect_err(int r, const err_t *e, int code, const char *want)
{
	if (r != code || strstr(e->msg, want) == NULL)
		fprintf(stderr, "got %s: %s\nwanted %s containing: %s\n",
		    err_code_name(r), e->msg, err_code_name(code), want);
	assert_int_equal(r, code);
	assert_non_null(strstr(e->msg, want));
}

/* The canonical approval of batch 42 by the RSA officer. */
static void
good_text(char *out, size_t outsz, const char *officer)
{
	snprintf(out, outsz,
	    "airlock-approval: 1\n"
	    "kind: batch\n"
	    "object: 42\n"
	    "digest: " DIGEST "\n"
	    "decision: approve\n"
	    "reason:\n"
	    "officer: %s\n"
	    "time: " SIGNED_AT_TEXT "\n", officer);
}

/* Copies src into out with the first `from` replaced by `to`. */
static void
replace(const char *src, const char *from, const char *to, char *out,
    size_t outsz)
{
	const char *at = strstr(src, from);

	assert_non_null(at);
	snprintf(out, outsz, "%.*s%s%s", (int)(at - src), src, to,
	    at + strlen(from));
}

static void
expect_parse_fail(const char *text, size_t len, int code, const char *want)
{
	struct approval_statement s;
	err_t e;

	err_clear(&e);
	expect_err(approval_statement_parse("t.txt", text, len, &s, &e), &e,
	    code, want);
	assert_non_null(strstr(e.msg, "t.txt: "));
}

static void
base_statement(struct approval_statement *s, const char *officer,
    enum approval_decision d, const char *reason)
{
	memset(s, 0, sizeof(*s));
	s->kind = APPROVAL_KIND_BATCH;
	s->object = OBJECT;
	memcpy(s->digest, DIGEST, 65);
	s->decision = d;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	if (officer != NULL)
		snprintf(s->officer, sizeof(s->officer), "%s", officer);
	s->time = SIGNED_AT;
}

static struct approval_verify_opts
opts(void)
{
	struct approval_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.people_cas = anchors;
	o.now = NOW;
	o.kind = APPROVAL_KIND_BATCH;
	o.object = OBJECT;
	o.digest = DIGEST;
	o.not_before = CREATED;
	return o;
}

/* Signs the base approval (or rejection) by key and cert; must work. */
static void
sign_ok(EVP_PKEY *key, X509 *cert, enum approval_decision d,
    struct approval_signed *a)
{
	struct approval_statement s;
	err_t e;
	int r;

	base_statement(&s, NULL, d, d == APPROVAL_REJECT ?
	    "wrong MAC range" : "");
	err_clear(&e);
	r = approval_sign(key, cert, &s, a, &e);
	if (r != 0)
		fprintf(stderr, "approval_sign: %s\n", e.msg);
	assert_int_equal(r, 0);
}

static void
expect_verify_fail(const struct approval_signed *a,
    const struct approval_verify_opts *o, int code, const char *want)
{
	struct approval_statement s;
	err_t e;

	err_clear(&e);
	expect_err(approval_verify(a, o, &s, &e), &e, code, want);
	assert_int_equal(ERR_peek_error(), 0);
}

/* --- statements --------------------------------------------------------- */

static void
test_round_trip(void **state)
{
	struct approval_statement s, back;
	char text[4096];
	buf_t b;
	err_t e;

	(void)state;
	err_clear(&e);
	/* Bytes -> statement -> the same bytes. */
	good_text(text, sizeof(text), fp_rsa);
	assert_int_equal(approval_statement_parse("t", text, strlen(text), &s,
	    &e), 0);
	assert_int_equal(s.kind, APPROVAL_KIND_BATCH);
	assert_int_equal(s.object, OBJECT);
	assert_string_equal(s.digest, DIGEST);
	assert_int_equal(s.decision, APPROVAL_APPROVE);
	assert_string_equal(s.reason, "");
	assert_string_equal(s.officer, fp_rsa);
	assert_int_equal(s.time, SIGNED_AT);
	buf_init(&b, APPROVAL_STATEMENT_MAX);
	assert_int_equal(approval_statement_format(&s, &b, &e), 0);
	assert_int_equal(b.len, strlen(text));
	assert_memory_equal(b.data, text, b.len);
	buf_free(&b);

	/* Statement -> bytes -> the same statement, every kind, UTF-8. */
	base_statement(&s, fp_p256, APPROVAL_REJECT,
	    "Wrong MAC range: ordered 00:11:22 \xe2\x80\x94 Jürgen, line 7");
	s.object = INT64_MAX;
	for (s.kind = 0; s.kind < APPROVAL_KIND_COUNT; s.kind++) {
		buf_init(&b, APPROVAL_STATEMENT_MAX);
		assert_int_equal(approval_statement_format(&s, &b, &e), 0);
		assert_int_equal(approval_statement_parse("t", b.data, b.len,
		    &back, &e), 0);
		assert_int_equal(back.kind, s.kind);
		assert_int_equal(back.object, INT64_MAX);
		assert_string_equal(back.digest, s.digest);
		assert_int_equal(back.decision, APPROVAL_REJECT);
		assert_string_equal(back.reason, s.reason);
		assert_string_equal(back.officer, s.officer);
		assert_int_equal(back.time, s.time);
		buf_free(&b);
	}
	buf_init(&b, APPROVAL_STATEMENT_MAX);
	s.kind = APPROVAL_KIND_LOCKOUT_CLEAR;
	assert_int_equal(approval_statement_format(&s, &b, &e), 0);
	assert_non_null(memmem(b.data, b.len, "kind: lockout-clear\n", 20));
	assert_non_null(memmem(b.data, b.len,
	    "object: 9223372036854775807\n", 28));
	buf_free(&b);

	/* A reason of exactly 512 characters, each of two bytes. */
	{
		char reason[2 * APPROVAL_REASON_MAX + 1];
		int i;

		for (i = 0; i < APPROVAL_REASON_MAX; i++)
			memcpy(reason + 2 * i, "\xc3\xa9", 2);
		reason[2 * APPROVAL_REASON_MAX] = '\0';
		base_statement(&s, fp_p256, APPROVAL_REJECT, reason);
		buf_init(&b, APPROVAL_STATEMENT_MAX);
		assert_int_equal(approval_statement_format(&s, &b, &e), 0);
		assert_int_equal(approval_statement_parse("t", b.data, b.len,
		    &back, &e), 0);
		assert_string_equal(back.reason, reason);
		buf_free(&b);
	}
}

static void
test_parse_refusals(void **state)
{
	char good[4096], t[8192], t2[8192];
	size_t n;

	(void)state;
	good_text(good, sizeof(good), fp_rsa);

	/* Missing key. */
	replace(good, "decision: approve\n", "", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID,
	    "line 5: the key 'decision' is missing");
	replace(good, "time: " SIGNED_AT_TEXT "\n", "", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "the key 'time' is "
	    "missing (the statement ends after line 7)");
	/* Extra key, at the end and inside. */
	snprintf(t, sizeof(t), "%scomment: hello\n", good);
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 9: text after the "
	    "last key, 'time'");
	replace(good, "reason:\n", "reason:\nnote: x\n", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 7: unknown key "
	    "'note' (expected 'officer')");
	/* Duplicate key. */
	replace(good, "object: 42\n", "object: 42\nobject: 42\n", t,
	    sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 4: duplicate key "
	    "'object'");
	snprintf(t, sizeof(t), "%stime: " SIGNED_AT_TEXT "\n", good);
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 9: duplicate key "
	    "'time'");
	/* Wrong order. */
	replace(good, "kind: batch\nobject: 42\n", "object: 42\nkind: batch\n",
	    t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2: the keys are out "
	    "of order: 'kind' comes before 'object'");
	/* CRLF, anywhere. */
	replace(good, "kind: batch\n", "kind: batch\r\n", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2: contains a "
	    "carriage return");
	/* Trailing space, on a value and on an approval's empty reason. */
	replace(good, "object: 42\n", "object: 42 \n", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 3 (object): ends "
	    "with white space");
	replace(good, "reason:\n", "reason: \n", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 6 (reason): ends "
	    "with white space; statements have no trailing spaces (an "
	    "approval's reason line is 'reason:' alone)");
	/* Two spaces, no space. */
	replace(good, "kind: batch", "kind:  batch", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2 (kind): more "
	    "than one space after the colon");
	replace(good, "kind: batch", "kind:batch", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2 (kind): the key "
	    "must be followed by ': '");
	/* Upper-case hex, in the digest and in the officer. */
	replace(good, "digest: 9f86", "digest: 9F86", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 4 (digest): '9F86");
	expect_parse_fail(t, strlen(t), ERR_INVALID, "has upper-case hex "
	    "digits; write them in lower case");
	replace(good, "digest: 9f86", "digest: 9f8", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "is 63 characters; "
	    "expected 64 lower-case hex digits");
	replace(good, "digest: 9f86", "digest: 9g86", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "character 2 of");
	snprintf(t2, sizeof(t2), "officer: %.60sABCD", fp_rsa);
	snprintf(t, sizeof(t), "officer: %s", fp_rsa);
	replace(good, t, t2, t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 7 (officer): ");
	/* Bad times. */
	replace(good, SIGNED_AT_TEXT, "2026-04-10 12:00:00Z", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 8 (time): "
	    "'2026-04-10 12:00:00Z' is not a valid time");
	replace(good, SIGNED_AT_TEXT, "2026-02-30T12:00:00Z", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "day 30 does not exist");
	replace(good, SIGNED_AT_TEXT, "2026-04-10T12:00:00+00:00", t,
	    sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 8 (time): ");
	/* A reason with an approval; none with a rejection. */
	replace(good, "reason:\n", "reason: looks fine\n", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 6 (reason): a "
	    "reason is given with 'approve'");
	replace(good, "decision: approve", "decision: reject", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 6 (reason): a "
	    "rejection needs its reason");
	/* Overlong: a reason of 513 characters, and the whole text. */
	{
		char reason[APPROVAL_REASON_MAX + 16];

		memset(reason, 'x', APPROVAL_REASON_MAX + 1);
		snprintf(reason, sizeof(reason), "reason: %.*s\n",
		    APPROVAL_REASON_MAX + 1,
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		replace(good, "decision: approve\nreason:\n",
		    "decision: reject\n", t2, sizeof(t2));
		replace(t2, "decision: reject\n", "decision: reject\nREASON",
		    t, sizeof(t));
		replace(t, "REASON", reason, t2, sizeof(t2));
		expect_parse_fail(t2, strlen(t2), ERR_LIMIT, "line 6 (reason): "
		    "the reason is 513 characters, more than 512");
	}
	memset(t, 'a', sizeof(t));
	expect_parse_fail(t, APPROVAL_STATEMENT_MAX + 1, ERR_LIMIT, "the "
	    "statement is 4097 bytes, more than the limit of 4096");
	/* NUL, before the end and as the last byte. */
	n = strlen(good);
	memcpy(t, good, n + 1);
	t[20] = '\0';
	expect_parse_fail(t, n, ERR_INVALID, "line 2: contains a NUL byte");
	expect_parse_fail(good, n + 1, ERR_INVALID, "line 9: contains a NUL "
	    "byte");
	/* Other bytes that must not be there. */
	replace(good, "kind: batch", "kind: bat\tch", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2: contains a "
	    "control or invisible character (U+0009)");
	replace(good, "reason:\n", "reason: abc\xe2\x80\xae" "cba\n", t2,
	    sizeof(t2));
	replace(t2, "approve", "reject", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 6: contains a "
	    "control or invisible character (U+202E)");
	replace(good, "kind: batch", "kind: b\xc3\x28tch", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2: is not valid "
	    "UTF-8");
	expect_parse_fail(good, strlen(good) - 1, ERR_INVALID, "line 8: the "
	    "last line does not end with a line feed");
	expect_parse_fail("", 0, ERR_INVALID, "the statement is empty");
	replace(good, "reason:\n", "reason:\n\n", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 7: is empty");
	/* Values. */
	replace(good, "object: 42", "object: 042", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 3 (object): '042' "
	    "is not a record number");
	replace(good, "object: 42", "object: 0", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "'0' is not a record");
	replace(good, "object: 42", "object: +42", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "'+42' is not a record");
	replace(good, "object: 42", "object: 9223372036854775808", t,
	    sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "is not a record number");
	replace(good, "kind: batch", "kind: Batch", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2 (kind): unknown "
	    "kind 'Batch'");
	replace(good, "decision: approve", "decision: yes", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "unknown decision 'yes'");
	replace(good, "airlock-approval: 1", "airlock-approval: 2", t,
	    sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "version '2' is not "
	    "supported");
	replace(good, "kind: batch", "kind", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2: 'kind' is not a "
	    "'key: value' line");
	replace(good, "kind: batch", "kind:", t, sizeof(t));
	expect_parse_fail(t, strlen(t), ERR_INVALID, "line 2 (kind): the value "
	    "is empty");
}

static void
test_format_refusals(void **state)
{
	struct approval_statement s;
	buf_t b;
	err_t e;

	(void)state;
	err_clear(&e);
	buf_init(&b, APPROVAL_STATEMENT_MAX);
	base_statement(&s, fp_rsa, APPROVAL_APPROVE, "ok");
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "reason: a reason is given with 'approve'");
	base_statement(&s, fp_rsa, APPROVAL_REJECT, "");
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "reason: a rejection needs its reason");
	base_statement(&s, fp_rsa, APPROVAL_REJECT, "two\nlines");
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "reason: the reason contains a control or invisible character "
	    "(U+000A) at character 4");
	base_statement(&s, fp_rsa, APPROVAL_REJECT, " padded");
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "starts or ends with a space");
	base_statement(&s, fp_rsa, APPROVAL_APPROVE, "");
	s.object = 0;
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "object: 0 is not a record number");
	base_statement(&s, "", APPROVAL_APPROVE, "");
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "officer: '' is 0 characters");
	base_statement(&s, fp_rsa, APPROVAL_APPROVE, "");
	s.kind = APPROVAL_KIND_COUNT;
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "kind: 6 is not a kind");
	base_statement(&s, fp_rsa, APPROVAL_APPROVE, "");
	s.time = (time_t)-1000000000;
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_INVALID,
	    "time: -1000000000 cannot be written");
	assert_int_equal(b.len, 0);
	buf_free(&b);
	/* A buffer too small for the statement. */
	buf_init(&b, 100);
	base_statement(&s, fp_rsa, APPROVAL_APPROVE, "");
	expect_err(approval_statement_format(&s, &b, &e), &e, ERR_LIMIT,
	    "does not fit");
	buf_free(&b);
}

/* --- signing and verifying ---------------------------------------------- */

static void
test_sign_verify(void **state)
{
	struct approval_verify_opts o = opts();
	struct approval_statement s;
	struct approval_signed a;
	EVP_PKEY *keys[3] = { k_rsa, k_p256, k_p384 };
	X509 *certs[3] = { off_rsa, off_p256, off_p384 };
	const char *fps[3] = { fp_rsa, fp_p256, fp_p384 };
	err_t e;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		sign_ok(keys[i], certs[i], APPROVAL_APPROVE, &a);
		err_clear(&e);
		if (approval_verify(&a, &o, &s, &e) != 0)
			fprintf(stderr, "verify: %s\n", e.msg);
		assert_int_equal(approval_verify(&a, &o, &s, &e), 0);
		assert_string_equal(s.officer, fps[i]);
		assert_int_equal(s.decision, APPROVAL_APPROVE);
		approval_signed_free(&a);

		sign_ok(keys[i], certs[i], APPROVAL_REJECT, &a);
		assert_int_equal(approval_verify(&a, &o, &s, &e), 0);
		assert_int_equal(s.decision, APPROVAL_REJECT);
		assert_string_equal(s.reason, "wrong MAC range");
		approval_signed_free(&a);
	}
	/* P-384 signs with SHA-384: a SHA-256 signature does not verify. */
	{
		unsigned char *sig = NULL;
		size_t siglen = 0;

		sign_ok(k_p384, off_p384, APPROVAL_APPROVE, &a);
		err_clear(&e);
		assert_int_equal(pkisign_blob(k_p384, EVP_sha256(),
		    a.statement.data, a.statement.len, &sig, &siglen, &e), 0);
		buf_reset(&a.sig);
		assert_int_equal(buf_put(&a.sig, sig, siglen), 0);
		OPENSSL_free(sig);
		expect_verify_fail(&a, &o, ERR_POLICY, "with SHA384");
		approval_signed_free(&a);
	}
	/* Within the clock skew is fine; past it is not. */
	base_statement(&s, NULL, APPROVAL_APPROVE, "");
	s.time = NOW + APPROVAL_CLOCK_SKEW;
	err_clear(&e);
	assert_int_equal(approval_sign(k_p256, off_p256, &s, &a, &e), 0);
	assert_int_equal(approval_verify(&a, &o, NULL, &e), 0);
	approval_signed_free(&a);
	s.time = NOW + APPROVAL_CLOCK_SKEW + 1;
	assert_int_equal(approval_sign(k_p256, off_p256, &s, &a, &e), 0);
	expect_verify_fail(&a, &o, ERR_POLICY, "is dated 2026-04-11T00:05:01Z, "
	    "in the future: the appliance's time is 2026-04-11T00:00:00Z and "
	    "at most 300 seconds");
	approval_signed_free(&a);
	s.time = CREATED - 1;
	assert_int_equal(approval_sign(k_p256, off_p256, &s, &a, &e), 0);
	expect_verify_fail(&a, &o, ERR_POLICY, "is dated 2026-04-08T23:59:59Z, "
	    "before batch 42 was created (2026-04-09T00:00:00Z)");
	approval_signed_free(&a);
}

static void
test_sign_refusals(void **state)
{
	struct approval_statement s;
	struct approval_signed a;
	err_t e;

	(void)state;
	err_clear(&e);
	/* The officer field names another certificate. */
	base_statement(&s, fp_p256, APPROVAL_APPROVE, "");
	expect_err(approval_sign(k_rsa, off_rsa, &s, &a, &e), &e, ERR_INVALID,
	    "the statement names officer");
	/* The key is not the certificate's. */
	base_statement(&s, NULL, APPROVAL_APPROVE, "");
	expect_err(approval_sign(k_p256, off_rsa, &s, &a, &e), &e, ERR_POLICY,
	    "under the officer's certificate (CN=Alice Officer,O=Airlock "
	    "Test): the key used does not belong to it");
	expect_err(approval_sign(k_op, off_p256, &s, &a, &e), &e, ERR_POLICY,
	    "the key used does not belong to it");
	assert_null(a.officer_cert);
	assert_int_equal(a.statement.len, 0);
	/* An invalid statement is never signed. */
	base_statement(&s, NULL, APPROVAL_REJECT, "");
	expect_err(approval_sign(k_p256, off_p256, &s, &a, &e), &e,
	    ERR_INVALID, "a rejection needs its reason");
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_verify_refusals(void **state)
{
	struct approval_verify_opts o = opts();
	struct approval_signed a, b;
	unsigned char *sig = NULL;
	size_t siglen = 0, at;
	err_t e;

	(void)state;
	err_clear(&e);
	/* Signers that are not officers: approval_sign does not judge roles,
	 * the appliance does. */
	sign_ok(k_op, op_cert, APPROVAL_APPROVE, &a);
	expect_verify_fail(&a, &o, ERR_POLICY, "the officer's certificate "
	    "(CN=Dave Operator,O=Airlock Test) is an operator's (extended key "
	    "usage airlock-operator), not an officer's: the wrong role for an "
	    "approval");
	approval_signed_free(&a);
	sign_ok(k_aud, aud_cert, APPROVAL_APPROVE, &a);
	expect_verify_fail(&a, &o, ERR_POLICY, "is an auditor's (extended key "
	    "usage airlock-auditor), not an officer's");
	approval_signed_free(&a);
	sign_ok(k_p256, dual, APPROVAL_APPROVE, &a);
	expect_verify_fail(&a, &o, ERR_POLICY, "(CN=Mallory Both,O=Airlock "
	    "Test) holds the operator role besides the officer role; one "
	    "person, one role");
	approval_signed_free(&a);
	sign_ok(k_p256, expired, APPROVAL_APPROVE, &a);
	expect_verify_fail(&a, &o, ERR_POLICY, "the officer's certificate "
	    "(CN=Frank Former,O=Airlock Test) expired at 2026-02-20T00:00:00Z");
	approval_signed_free(&a);
	sign_ok(k_rsa, stranger, APPROVAL_APPROVE, &a);
	expect_verify_fail(&a, &o, ERR_POLICY, "the officer's certificate "
	    "(CN=Alice Officer,O=Airlock Test, issued by CN=Somebody Else's "
	    "CA,O=Airlock Test) does not chain to the appliance's people CA");
	approval_signed_free(&a);

	/* What the statement is about. */
	sign_ok(k_rsa, off_rsa, APPROVAL_APPROVE, &a);
	o.digest = OTHER_DIGEST;
	expect_verify_fail(&a, &o, ERR_POLICY, "the approval by CN=Alice "
	    "Officer,O=Airlock Test is over another digest: it names " DIGEST
	    ", but batch 42 is " OTHER_DIGEST "; a statement over another "
	    "digest never counts");
	o = opts();
	o.object = 43;
	expect_verify_fail(&a, &o, ERR_POLICY, "is for batch 42, not batch 43");
	o = opts();
	o.kind = APPROVAL_KIND_REVOCATION;
	expect_verify_fail(&a, &o, ERR_POLICY, "is for a batch, not a "
	    "revocation");
	o = opts();
	assert_int_equal(approval_verify(&a, &o, NULL, &e), 0);

	/* One statement byte changed after signing (42 -> 43). */
	at = (size_t)((unsigned char *)memmem(a.statement.data, a.statement.len,
	    "object: 42", 10) - a.statement.data) + 9;
	a.statement.data[at] = '3';
	expect_verify_fail(&a, &o, ERR_POLICY, "the approval's signature does "
	    "not verify under the officer's certificate (CN=Alice Officer,"
	    "O=Airlock Test): the statement changed after signing");
	a.statement.data[at] = '2';
	/* A signature byte changed. */
	a.sig.data[10] ^= 1;
	expect_verify_fail(&a, &o, ERR_POLICY, "signature does not verify");
	a.sig.data[10] ^= 1;
	/* A statement that no longer parses is refused as such. */
	a.statement.data[a.statement.len - 1] = ' ';
	expect_verify_fail(&a, &o, ERR_INVALID, "approval statement: line 8: "
	    "the last line does not end with a line feed");
	a.statement.data[a.statement.len - 1] = '\n';

	/* Signed by another officer's key, presented with Alice's cert. */
	assert_int_equal(pkisign_blob(k_p256, NULL, a.statement.data,
	    a.statement.len, &sig, &siglen, &e), 0);
	approval_signed_init(&b);
	assert_int_equal(approval_signed_set(&b, a.statement.data,
	    a.statement.len, sig, siglen, off_rsa, &e), 0);
	expect_verify_fail(&b, &o, ERR_POLICY, "signature does not verify "
	    "under the officer's certificate (CN=Alice Officer");
	approval_signed_free(&b);
	/* Alice's statement, presented with Bob's certificate. */
	assert_int_equal(approval_signed_set(&b, a.statement.data,
	    a.statement.len, sig, siglen, off_p256, &e), 0);
	{
		char want[256];

		snprintf(want, sizeof(want), "the statement names officer %s, "
		    "but it comes with the certificate of CN=Bob Officer,"
		    "O=Airlock Test, whose SHA-256 is %s", fp_rsa, fp_p256);
		expect_verify_fail(&b, &o, ERR_POLICY, want);
	}
	OPENSSL_free(sig);
	approval_signed_free(&b);
	/* No signature at all; an oversized one. */
	assert_int_equal(approval_signed_set(&b, a.statement.data,
	    a.statement.len, NULL, 0, off_rsa, &e), 0);
	expect_verify_fail(&b, &o, ERR_POLICY, "signature does not verify");
	approval_signed_free(&b);
	{
		unsigned char big[APPROVAL_SIG_MAX + 1];

		memset(big, 0, sizeof(big));
		expect_err(approval_signed_set(&b, a.statement.data,
		    a.statement.len, big, sizeof(big), off_rsa, &e), &e,
		    ERR_LIMIT, "signature is 1025 bytes");
		approval_signed_free(&b);
	}

	/* The caller's side: no anchors, a bad expected digest. */
	o.people_cas = NULL;
	expect_verify_fail(&a, &o, ERR_INTERNAL, "no people CA certificate");
	o = opts();
	o.digest = "9F86";
	expect_verify_fail(&a, &o, ERR_INTERNAL, "expected kind, object or "
	    "digest");
	/* Only the configured people CA is an anchor. */
	o = opts();
	o.people_cas = sk_X509_new_null();
	assert_non_null(o.people_cas);
	assert_int_equal(sk_X509_push(o.people_cas, other_ca), 1);
	expect_verify_fail(&a, &o, ERR_POLICY, "does not chain to the "
	    "appliance's people CA");
	sk_X509_free(o.people_cas);
	/* Before the officer's certificate is valid. */
	o = opts();
	o.now = T2026 - 86400;
	o.not_before = 0;
	expect_verify_fail(&a, &o, ERR_POLICY, "is not valid before "
	    "2026-01-01T00:00:00Z");
	approval_signed_free(&a);
}

/*
 * Runs cmd with sh; 0 when it exits 0. The command is built here from
 * fixed text and paths of our own temporary directory.
 */
static int
run(const char *cmd)
{
	int st = system(cmd);

	return st == 0 ? 0 : -1;
}

static void
write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	assert_int_equal(fclose(f), 0);
}

static void
read_all(const char *path, unsigned char *out, size_t outsz, size_t *len)
{
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	*len = fread(out, 1, outsz, f);
	assert_true(*len > 0 && *len < outsz);
	fclose(f);
}

static void
test_stock_openssl(void **state)
{
	struct approval_verify_opts o = opts();
	struct approval_statement s;
	struct approval_signed a;
	unsigned char text[APPROVAL_STATEMENT_MAX + 1], sig[2048];
	char dir[PATH_MAX], path[PATH_MAX + 32], cmd[4 * PATH_MAX + 1024];
	size_t tlen, slen;
	err_t e;
	int i;
	static const struct {
		const char *dgst, *decision, *reason;
	} runs[] = {
		{ "-sha256", "approve", "" },
		{ "-sha384", "reject", " serial range overlaps batch 41" },
	};

	(void)state;
	if (run("command -v openssl >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "approval"), 0);
	for (i = 0; i < 2; i++) {
		EVP_PKEY *key = i == 0 ? k_rsa : k_p384;
		X509 *cert = i == 0 ? off_rsa : off_p384;
		const char *fp = i == 0 ? fp_rsa : fp_p384;

		snprintf(path, sizeof(path), "%s/key.pem", dir);
		write_key(path, key);
		/* As docs/formats/approval.md, section 3, shows it. */
		snprintf(cmd, sizeof(cmd),
		    "cd '%s' && printf 'airlock-approval: 1\\nkind: batch\\n"
		    "object: 42\\ndigest: %%s\\ndecision: %s\\nreason:%s\\n"
		    "officer: %%s\\ntime: %%s\\n' '%s' '%s' '%s' "
		    "> statement.txt && "
		    "openssl dgst %s -sign key.pem -out statement.sig "
		    "statement.txt", dir, runs[i].decision, runs[i].reason,
		    DIGEST, fp, SIGNED_AT_TEXT, runs[i].dgst);
		assert_int_equal(run(cmd), 0);
		snprintf(path, sizeof(path), "%s/statement.txt", dir);
		read_all(path, text, sizeof(text), &tlen);
		snprintf(path, sizeof(path), "%s/statement.sig", dir);
		read_all(path, sig, sizeof(sig), &slen);
		err_clear(&e);
		approval_signed_init(&a);
		assert_int_equal(approval_signed_set(&a, text, tlen, sig, slen,
		    cert, &e), 0);
		if (approval_verify(&a, &o, &s, &e) != 0)
			fprintf(stderr, "stock openssl: %s\n", e.msg);
		assert_int_equal(approval_verify(&a, &o, &s, &e), 0);
		assert_int_equal(s.decision, i == 0 ? APPROVAL_APPROVE :
		    APPROVAL_REJECT);
		approval_signed_free(&a);
	}
	/* And stock openssl verifies ours, with the officer's public key. */
	sign_ok(k_p256, off_p256, APPROVAL_APPROVE, &a);
	snprintf(path, sizeof(path), "%s/ours.txt", dir);
	assert_int_equal(fileio_create(path, a.statement.data,
	    a.statement.len, 0600, &e), 0);
	snprintf(path, sizeof(path), "%s/ours.sig", dir);
	assert_int_equal(fileio_create(path, a.sig.data, a.sig.len, 0600,
	    &e), 0);
	{
		FILE *f;

		snprintf(path, sizeof(path), "%s/pub.pem", dir);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(PEM_write_PUBKEY(f, X509_get0_pubkey(off_p256)),
		    1);
		assert_int_equal(fclose(f), 0);
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && openssl dgst -sha256 -verify "
	    "pub.pem -signature ours.sig ours.txt >/dev/null", dir);
	assert_int_equal(run(cmd), 0);
	approval_signed_free(&a);
	assert_int_equal(testutil_rmtree(dir), 0);
}

/* --- the quorum --------------------------------------------------------- */

#define REQ "00000000000000000000000000000000" \
	"000000000000000000000000000000aa"

static void
test_tally(void **state)
{
	struct approval_result r;
	struct approval_vote v[8];
	err_t e;

	(void)state;
	err_clear(&e);
	memset(v, 0, sizeof(v));
	/* Two distinct approvers. */
	v[0].officer = fp_rsa;
	v[1].officer = fp_p256;
	assert_int_equal(approval_tally(v, 2, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_APPROVED);
	assert_int_equal(r.approvals, 2);
	assert_int_equal(r.approvers[0], 0);
	assert_int_equal(r.approvers[1], 1);
	/* One: pending, one more needed. */
	assert_int_equal(approval_tally(v, 1, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_PENDING);
	assert_int_equal(r.needed, 1);
	assert_int_equal(approval_tally(v, 0, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_PENDING);
	assert_int_equal(r.needed, 2);
	/* The requester's vote never counts. */
	v[0].officer = REQ;
	v[1].officer = fp_p256;
	assert_int_equal(approval_tally(v, 2, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_PENDING);
	assert_int_equal(r.needed, 1);
	assert_int_equal(r.by_requester, 1);
	assert_int_equal(r.status[0], APPROVAL_VOTE_REQUESTER);
	assert_int_equal(r.status[1], APPROVAL_VOTE_COUNTED);
	/* ...nor its rejection. */
	v[0].decision = APPROVAL_REJECT;
	v[0].reason = "changed my mind";
	assert_int_equal(approval_tally(v, 2, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_PENDING);
	v[0].decision = APPROVAL_APPROVE;
	v[0].reason = NULL;
	/* The same officer twice counts once. */
	v[0].officer = fp_p256;
	v[1].officer = fp_p256;
	assert_int_equal(approval_tally(v, 2, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_PENDING);
	assert_int_equal(r.approvals, 1);
	assert_int_equal(r.repeats, 1);
	assert_int_equal(r.status[1], APPROVAL_VOTE_REPEAT);
	/* One rejection rejects, with its reason, whatever the approvals. */
	v[0].officer = fp_rsa;
	v[1].officer = fp_p256;
	v[2].officer = fp_p384;
	v[2].decision = APPROVAL_REJECT;
	v[2].reason = "wrong MAC range";
	assert_int_equal(approval_tally(v, 3, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_REJECTED);
	assert_int_equal(r.rejection, 2);
	assert_string_equal(v[r.rejection].reason, "wrong MAC range");
	assert_string_equal(v[r.rejection].officer, fp_p384);
	/* The first rejection is the one reported. */
	v[0].decision = APPROVAL_REJECT;
	v[0].reason = "first";
	assert_int_equal(approval_tally(v, 3, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_REJECTED);
	assert_int_equal(r.rejection, 0);
	v[0].decision = APPROVAL_APPROVE;
	v[0].reason = NULL;
	/* A contradicting later vote is refused: the first stands. */
	v[2].officer = fp_rsa;
	assert_int_equal(approval_tally(v, 3, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_APPROVED);
	assert_int_equal(r.contradictions, 1);
	assert_int_equal(r.status[2], APPROVAL_VOTE_CONTRADICTS);
	/* ...and a rejection stays one when its officer later approves. */
	v[0].decision = APPROVAL_REJECT;
	v[0].reason = "no";
	v[2].decision = APPROVAL_APPROVE;
	v[2].reason = NULL;
	assert_int_equal(approval_tally(v, 3, 2, REQ, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_REJECTED);
	assert_int_equal(r.status[2], APPROVAL_VOTE_CONTRADICTS);
	v[0].decision = APPROVAL_APPROVE;
	v[0].reason = NULL;
	/* A quorum of three. */
	v[2].officer = fp_p384;
	assert_int_equal(approval_tally(v, 2, 3, NULL, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_PENDING);
	assert_int_equal(r.needed, 1);
	assert_int_equal(approval_tally(v, 3, 3, NULL, &r, &e), 0);
	assert_int_equal(r.state, APPROVAL_APPROVED);
	assert_int_equal(r.approvals, 3);

	/* Refusals. */
	expect_err(approval_tally(v, 2, 1, REQ, &r, &e), &e, ERR_INVALID,
	    "a quorum of 1 is refused: approval needs at least two distinct "
	    "officers");
	expect_err(approval_tally(v, 2, 0, REQ, &r, &e), &e, ERR_INVALID,
	    "a quorum of 0 is refused");
	expect_err(approval_tally(v, 2, APPROVAL_TALLY_MAX + 1, REQ, &r, &e),
	    &e, ERR_INVALID, "more than the 64 votes");
	expect_err(approval_tally(v, APPROVAL_TALLY_MAX + 1, 2, REQ, &r, &e),
	    &e, ERR_LIMIT, "65 votes");
	v[1].officer = "9F86";
	expect_err(approval_tally(v, 2, 2, REQ, &r, &e), &e, ERR_INVALID,
	    "vote 2: the officer is not a certificate SHA-256");
	v[1].officer = fp_p256;
	v[1].decision = APPROVAL_REJECT;
	v[1].reason = "";
	expect_err(approval_tally(v, 2, 2, REQ, &r, &e), &e, ERR_INVALID,
	    "vote 2: a rejection without its reason");
	v[1].decision = APPROVAL_APPROVE;
	expect_err(approval_tally(v, 2, 2, "xyz", &r, &e), &e, ERR_INVALID,
	    "the requester is not a certificate SHA-256");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_format_refusals),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_sign_refusals),
		cmocka_unit_test(test_verify_refusals),
		cmocka_unit_test(test_stock_openssl),
		cmocka_unit_test(test_tally),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
