/*
 * test_pinshare.c: PIN shares (pki/pinshare): the split and its
 * combination through libgfshare, the record's canonical text with its
 * negative cases, and the CMS envelope to RSA and EC officers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/certbuild.h"
#include "pki/pinshare.h"
#include "pki/pkisign.h"
#include "pkitest.h"
#include "testutil.h"

static const char officer_hex[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static secret_t *
mk(const void *p, size_t n)
{
	secret_t *s = NULL;

	assert_int_equal(secret_new(&s), 0);
	if (p != NULL)
		assert_int_equal(secret_set(s, p, n), 0);
	return s;
}

static void
meta_init(struct pinshare *m, unsigned idx)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->token, sizeof(m->token), "airlock-ca");
	snprintf(m->serial, sizeof(m->serial), "9f3c2a1b0d4e5f60");
	m->threshold = 2;
	m->shares = 3;
	m->index = idx;
	memcpy(m->officer, officer_hex, 65);
}

static void
test_split_combine(void **state)
{
	const char pin[] = "Zq8rT2pLm9XvB4nK7sWd1FgH";
	secret_t *secret = mk(pin, strlen(pin)), *sh[5], *out = mk(NULL, 0);
	unsigned pairs[][3] = { { 1, 2, 0 }, { 2, 3, 0 }, { 3, 1, 0 },
	    { 1, 2, 3 } };
	size_t i;
	err_t e;

	(void)state;
	for (i = 0; i < 5; i++)
		sh[i] = mk(NULL, 0);
	assert_int_equal(pinshare_split(secret, 2, 3, sh, &e), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(sh[i]->len, strlen(pin));
		/* A share alone is not the PIN. */
		assert_memory_not_equal(sh[i]->data, pin, strlen(pin));
	}
	for (i = 0; i < 4; i++) {
		const secret_t *use[3];
		size_t n = pairs[i][2] ? 3 : 2, j;

		for (j = 0; j < n; j++)
			use[j] = sh[pairs[i][j] - 1];
		assert_int_equal(pinshare_combine(pairs[i], use, n, out, &e), 0);
		assert_int_equal(out->len, strlen(pin));
		assert_memory_equal(out->data, pin, strlen(pin));
	}
	/* Twice the same share: refused, not silently wrong. */
	{
		unsigned twice[2] = { 1, 1 };
		const secret_t *use[2] = { sh[0], sh[0] };

		assert_int_equal(pinshare_combine(twice, use, 2, out, &e),
		    ERR_INVALID);
		assert_contains(e.msg, "twice");
	}
	/* 3-of-5: two shares give something else. */
	assert_int_equal(pinshare_split(secret, 3, 5, sh, &e), 0);
	{
		unsigned two[2] = { 2, 5 }, three[3] = { 5, 1, 4 };
		const secret_t *u2[2] = { sh[1], sh[4] };
		const secret_t *u3[3] = { sh[4], sh[0], sh[3] };

		assert_int_equal(pinshare_combine(two, u2, 2, out, &e), 0);
		assert_memory_not_equal(out->data, pin, strlen(pin));
		assert_int_equal(pinshare_combine(three, u3, 3, out, &e), 0);
		assert_memory_equal(out->data, pin, strlen(pin));
	}
	/* Bad M and N. */
	assert_int_equal(pinshare_split(secret, 1, 3, sh, &e), ERR_INVALID);
	assert_int_equal(pinshare_split(secret, 4, 3, sh, &e), ERR_INVALID);
	assert_int_equal(pinshare_split(secret, 2, 1, sh, &e), ERR_INVALID);
	assert_int_equal(pinshare_split(secret, 2, 17, sh, &e), ERR_INVALID);
	assert_int_equal(secret_set(secret, "short", 5), 0);
	assert_int_equal(pinshare_split(secret, 2, 3, sh, &e), ERR_INVALID);
	for (i = 0; i < 5; i++)
		secret_free(sh[i]);
	secret_free(secret);
	secret_free(out);
}

static void
test_record_round_trip(void **state)
{
	unsigned char bytes[24];
	secret_t *share, *rec = mk(NULL, 0), *back = mk(NULL, 0);
	struct pinshare m, got;
	size_t i;
	err_t e;

	(void)state;
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 11 + 3);
	share = mk(bytes, sizeof(bytes));
	meta_init(&m, 2);
	assert_int_equal(pinshare_format(&m, share, rec, &e), 0);
	assert_non_null(strstr((char *)rec->data, "airlock-pin-share: 1\n"
	    "token: airlock-ca\nserial: 9f3c2a1b0d4e5f60\nthreshold: 2\n"
	    "shares: 3\nindex: 2\nofficer: "));
	assert_int_equal(pinshare_parse("rec", rec->data, rec->len, &got, back,
	    &e), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	assert_int_equal(back->len, sizeof(bytes));
	assert_memory_equal(back->data, bytes, sizeof(bytes));
	/* The parser takes no share holder (the fuzz target's way). */
	assert_int_equal(pinshare_parse("rec", rec->data, rec->len, &got, NULL,
	    &e), 0);
	/* The writer refuses what the reader would refuse. */
	m.threshold = 4;
	assert_int_equal(pinshare_format(&m, share, rec, &e), ERR_INVALID);
	assert_contains(e.msg, "threshold");
	secret_free(share);
	secret_free(rec);
	secret_free(back);
}

/* Parses text and expects code and a message containing what. */
static void
expect_bad(const char *text, size_t len, int code, const char *what)
{
	struct pinshare m;
	err_t e;

	err_clear(&e);
	assert_int_equal(pinshare_parse("share.txt", text, len, &m, NULL, &e),
	    code);
	assert_contains(e.msg, what);
	assert_int_equal(m.threshold, 0);
}

#define GOOD_HEAD "airlock-pin-share: 1\ntoken: airlock-ca\n" \
    "serial: 9f3c2a1b0d4e5f60\n"
#define GOOD_OFFICER "officer: " \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define GOOD_SHARE "share: 0102030405060708090a0b0c\n"
#define MN(m, n, i) "threshold: " m "\nshares: " n "\nindex: " i "\n"

static void
test_record_negative(void **state)
{
	static const char good[] = GOOD_HEAD MN("2", "3", "1") GOOD_OFFICER
	    GOOD_SHARE;
	char big[PINSHARE_RECORD_MAX + 2];
	struct pinshare m;
	err_t e;

	(void)state;
	assert_int_equal(pinshare_parse("ok", good, strlen(good), &m, NULL,
	    &e), 0);
	/* Truncated anywhere: the last line without its LF, half a record. */
	expect_bad(good, strlen(good) - 1, ERR_INVALID, "truncated");
	expect_bad(good, 60, ERR_INVALID, "truncated");
	expect_bad(good, 0, ERR_INVALID, "truncated");
	/* Wrong version. */
	expect_bad("airlock-pin-share: 2\ntoken: airlock-ca\n"
	    "serial: 9f3c2a1b0d4e5f60\n" MN("2", "3", "1") GOOD_OFFICER
	    GOOD_SHARE, strlen(good), ERR_INVALID, "version");
	/* Oversized. */
	memset(big, 'a', sizeof(big));
	expect_bad(big, sizeof(big), ERR_LIMIT, "at most");
	/* Bad M and N. */
	{
		static const char *const bad[][2] = {
			{ GOOD_HEAD MN("1", "3", "1") GOOD_OFFICER GOOD_SHARE,
			    "threshold" },
			{ GOOD_HEAD MN("4", "3", "1") GOOD_OFFICER GOOD_SHARE,
			    "threshold" },
			{ GOOD_HEAD MN("2", "17", "1") GOOD_OFFICER GOOD_SHARE,
			    "shares" },
			{ GOOD_HEAD MN("2", "3", "4") GOOD_OFFICER GOOD_SHARE,
			    "index" },
			{ GOOD_HEAD MN("2", "03", "1") GOOD_OFFICER GOOD_SHARE,
			    "shares" },
			{ GOOD_HEAD MN("2", "3", "0") GOOD_OFFICER GOOD_SHARE,
			    "index" },
			{ GOOD_HEAD MN("2", "3", "1") GOOD_OFFICER
			    "share: 0102\n", "share" },
			{ GOOD_HEAD MN("2", "3", "1") GOOD_OFFICER
			    "share: 0102030405060708090A0b0c\n", "share" },
			{ GOOD_HEAD MN("2", "3", "1") "officer: abc\n"
			    GOOD_SHARE, "officer" },
			{ GOOD_HEAD "shares: 3\nthreshold: 2\nindex: 1\n"
			    GOOD_OFFICER GOOD_SHARE, "expected 'threshold: '" },
			{ GOOD_HEAD MN("2", "3", "1") GOOD_OFFICER GOOD_SHARE
			    "extra: 1\n", "after the last line" },
			{ "airlock-pin-share: 1\ntoken:  airlock-ca\n"
			    "serial: 9f3c2a1b0d4e5f60\n" MN("2", "3", "1")
			    GOOD_OFFICER GOOD_SHARE, "token" },
			{ "airlock-pin-share: 1\ntoken: airlock-ca\n"
			    "serial: 9f3c 2a1b\n" MN("2", "3", "1")
			    GOOD_OFFICER GOOD_SHARE, "serial" },
			{ "airlock-pin-share: 1\r\ntoken: airlock-ca\n"
			    "serial: 9f3c2a1b0d4e5f60\n" MN("2", "3", "1")
			    GOOD_OFFICER GOOD_SHARE, "version" },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			expect_bad(bad[i][0], strlen(bad[i][0]), ERR_INVALID,
			    bad[i][1]);
	}
	/* A NUL inside a value. */
	{
		char nul[sizeof(good)];

		memcpy(nul, good, sizeof(good));
		nul[strlen(GOOD_HEAD) - 3] = '\0';
		expect_bad(nul, strlen(good), ERR_INVALID, "serial");
	}
}

/* An officer certificate with key k, self-issued: CMS needs no chain. */
static X509 *
officer_cert(EVP_PKEY *k)
{
	struct certspec spec;
	X509 *x;

	pkitest_spec(&spec, "Officer", T2026, T2030, 0, -1);
	x = pkitest_issue(&spec, k, NULL, k, 7);
	certspec_free(&spec);
	assert_non_null(x);
	return x;
}

static void
test_envelope(void **state)
{
	EVP_PKEY *keys[2] = { pkitest_rsa(), pkitest_ec("P-256") };
	const char rec[] = GOOD_HEAD MN("2", "3", "1") GOOD_OFFICER GOOD_SHARE;
	secret_t *in = mk(rec, strlen(rec)), *out = mk(NULL, 0);
	X509 *certs[2];
	size_t i;
	buf_t b;
	err_t e;

	(void)state;
	for (i = 0; i < 2; i++)
		certs[i] = officer_cert(keys[i]);
	for (i = 0; i < 2; i++) {
		buf_init(&b, PINSHARE_FILE_MAX);
		assert_int_equal(pinshare_seal(in, certs[i], &b, &e), 0);
		assert_int_equal(pinshare_open(b.data, b.len, keys[i], certs[i],
		    out, &e), 0);
		assert_int_equal(out->len, strlen(rec));
		assert_memory_equal(out->data, rec, strlen(rec));
		/* The other officer's key does not open it. */
		assert_int_equal(pinshare_open(b.data, b.len, keys[1 - i],
		    certs[1 - i], out, &e), ERR_AUTH);
		/* Damaged and foreign input. */
		assert_int_equal(pinshare_open(b.data, b.len / 2, keys[i],
		    certs[i], out, &e), ERR_INVALID);
		assert_int_equal(pinshare_open("hello", 5, keys[i], certs[i],
		    out, &e), ERR_INVALID);
		buf_free(&b);
	}
	for (i = 0; i < 2; i++) {
		X509_free(certs[i]);
		EVP_PKEY_free(keys[i]);
	}
	secret_free(in);
	secret_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_combine),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_negative),
		cmocka_unit_test(test_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
