/*
 * test_certinfo.c: the facts Airlock records about certificates and CRLs
 * (database rows, console listings) are read exactly: one spelling per
 * serial, the right epoch for both ASN.1 time types, and a refusal, not
 * a guess, when something is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/certinfo.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

/* 2026-01-01T00:00:00Z, 2050-01-01T00:00:00Z, 1960-01-01T00:00:00Z. */
#define T2026 1767225600LL
#define T2050 2524608000LL
#define T1960 (-315619200LL)

static EVP_PKEY *key;

static int
group_setup(void **state)
{
	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return key == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/* Signs and re-parses x, so that tests read a certificate as loaded. */
static X509 *
finish(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *q;
	X509 *y;
	int len;

	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	q = der;
	y = d2i_X509(NULL, &q, len);
	assert_non_null(y);
	OPENSSL_free(der);
	X509_free(x);
	return y;
}

/* An unsigned certificate with the given serial (hex) and times. */
static X509 *
base_cert(const char *serial_hex, time_t nb, time_t na)
{
	X509 *x = X509_new();
	X509_NAME *n;
	BIGNUM *bn = NULL;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_true(BN_hex2bn(&bn, serial_hex) > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8,
	    (const unsigned char *)"US", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example, Inc", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Zo\xc3\xab Example", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), na));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	return x;
}

static X509 *
cert_with_serial(const char *serial_hex)
{
	return finish(base_cert(serial_hex, (time_t)T2026, (time_t)T2050));
}

/* ---- subject -------------------------------------------------------------- */

static void
test_subject_text(void **state)
{
	X509 *x = cert_with_serial("01");
	char out[256];

	(void)state;
	assert_int_equal(certinfo_subject_text(x, out, sizeof(out)), 0);
	/* RFC 2253: last RDN first, ',' escaped, UTF-8 left as UTF-8. */
	assert_string_equal(out, "CN=Zo\xc3\xab Example,O=Example\\, Inc,C=US");
	X509_free(x);
}

/* A listing column too narrow must say so, never show a cut-off name. */
static void
test_subject_text_too_small(void **state)
{
	X509 *x = cert_with_serial("01");
	char out[256];
	size_t need;

	(void)state;
	assert_int_equal(certinfo_subject_text(x, out, sizeof(out)), 0);
	need = strlen(out) + 1;
	assert_int_equal(certinfo_subject_text(x, out, need), 0);
	assert_int_equal(certinfo_subject_text(x, out, need - 1), ERR_LIMIT);
	assert_int_equal(certinfo_subject_text(x, out, 0), ERR_LIMIT);
	X509_free(x);
}

/* ---- serial --------------------------------------------------------------- */

static void
check_serial(const char *in, const char *want)
{
	X509 *x = cert_with_serial(in);
	char out[64];

	assert_int_equal(certinfo_serial_hex(x, out, sizeof(out)), 0);
	if (strcmp(out, want) != 0)
		fail_msg("serial %s: got %s, want %s", in, out, want);
	X509_free(x);
}

/*
 * The database keys certificates by this text: "0abc" and "abc" would be
 * two serials, so there is one spelling, lower case, no leading zeros.
 */
static void
test_serial_hex(void **state)
{
	(void)state;
	check_serial("0", "0");
	check_serial("1", "1");
	check_serial("abc", "abc");		/* BN_bn2hex says "0ABC" */
	check_serial("0ABC", "abc");
	check_serial("FF", "ff");		/* DER 00 ff */
	check_serial("ABCDEF", "abcdef");
	check_serial("7F0123456789ABCDEF0123456789ABCD",
	    "7f0123456789abcdef0123456789abcd");
	check_serial("0123456789ABCDEF0123456789ABCDEF",
	    "123456789abcdef0123456789abcdef");
}

static void
test_serial_hex_too_small(void **state)
{
	X509 *x = cert_with_serial("ABC");
	char out[8];

	(void)state;
	assert_int_equal(certinfo_serial_hex(x, out, 4), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(certinfo_serial_hex(x, out, 3), ERR_LIMIT);
	X509_free(x);
}

/* ---- subject key identifier ------------------------------------------------ */

static void
test_ski_hex(void **state)
{
	static const unsigned char id[] = { 0x01, 0x02, 0x0a, 0xbc, 0xff, 0x00 };
	X509 *x = base_cert("01", (time_t)T2026, (time_t)T2050);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	char out[64];

	(void)state;
	assert_non_null(os);
	assert_int_equal(ASN1_OCTET_STRING_set(os, id, sizeof(id)), 1);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0,
	    0), 1);
	ASN1_OCTET_STRING_free(os);
	x = finish(x);
	assert_int_equal(certinfo_ski_hex(x, out, sizeof(out)), 0);
	assert_string_equal(out, "01020abcff00");
	/* Exactly enough room, then one byte short. */
	assert_int_equal(certinfo_ski_hex(x, out, 13), 0);
	assert_int_equal(certinfo_ski_hex(x, out, 12), ERR_LIMIT);
	X509_free(x);
}

static void
test_ski_absent(void **state)
{
	X509 *x = cert_with_serial("01");
	char out[64] = "stale";

	(void)state;
	assert_int_equal(certinfo_ski_hex(x, out, sizeof(out)), ERR_NOTFOUND);
	/* No stale text from an earlier row is left for a caller to show. */
	assert_string_equal(out, "");
	X509_free(x);
}

/* ---- validity ---------------------------------------------------------------- */

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
static void
test_validity_utc_and_generalized(void **state)
{
	X509 *x = cert_with_serial("01");
	int64_t nb = 0, na = 0;

	(void)state;
	assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)),
	    V_ASN1_UTCTIME);
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)),
	    V_ASN1_GENERALIZEDTIME);
	assert_int_equal(certinfo_validity(x, &nb, &na), 0);
	assert_int_equal(nb, T2026);
	assert_int_equal(na, T2050);
	X509_free(x);
}

/* UTCTime "60..." is 1960, before the epoch: the value is negative. */
static void
test_validity_before_1970(void **state)
{
	X509 *x = finish(base_cert("01", (time_t)T1960, (time_t)T2026));
	int64_t nb = 0, na = 0;

	(void)state;
	assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)),
	    V_ASN1_UTCTIME);
	assert_int_equal(certinfo_validity(x, &nb, &na), 0);
	assert_int_equal(nb, T1960);
	assert_int_equal(na, T2026);
	X509_free(x);
}

/* A GeneralizedTime before 2050 (legal in other issuers' certificates). */
static void
test_validity_generalized_before_2050(void **state)
{
	X509 *x = base_cert("01", (time_t)T2026, (time_t)T2050);
	int64_t nb = 0, na = 0;

	(void)state;
	assert_int_equal(ASN1_TIME_set_string(X509_getm_notBefore(x),
	    "20260101000000Z"), 1);
	x = finish(x);
	assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)),
	    V_ASN1_GENERALIZEDTIME);
	assert_int_equal(certinfo_validity(x, &nb, &na), 0);
	assert_int_equal(nb, T2026);
	X509_free(x);
}

/* ---- extended key usage ------------------------------------------------------ */

static void
test_has_eku(void **state)
{
	X509 *x = base_cert("01", (time_t)T2026, (time_t)T2050);
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();

	(void)state;
	assert_non_null(eku);
	assert_true(sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) > 0);
	assert_true(sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) > 0);
	assert_int_equal(X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0), 1);
	sk_ASN1_OBJECT_free(eku);
	x = finish(x);
	assert_int_equal(certinfo_has_eku(x, NID_server_auth), 1);
	assert_int_equal(certinfo_has_eku(x, NID_client_auth), 1);
	assert_int_equal(certinfo_has_eku(x, NID_code_sign), 0);
	X509_free(x);
}

/* No extension means no purposes, not "any purpose". */
static void
test_has_eku_no_extension(void **state)
{
	X509 *x = cert_with_serial("01");

	(void)state;
	assert_int_equal(certinfo_has_eku(x, NID_client_auth), 0);
	assert_int_equal(certinfo_has_eku(x, NID_anyExtendedKeyUsage), 0);
	X509_free(x);
}

/* ---- CRLs ---------------------------------------------------------------------- */

/* A signed and re-parsed CRL; number_hex NULL leaves the number out. */
static X509_CRL *
make_crl(const char *number_hex, int negative, int with_next)
{
	X509_CRL *crl = X509_CRL_new(), *out;
	ASN1_TIME *t = ASN1_TIME_new();
	unsigned char *der = NULL;
	const unsigned char *q;
	X509_NAME *n = X509_NAME_new();
	int len;

	assert_non_null(crl);
	assert_non_null(t);
	assert_non_null(n);
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Test CA", -1, -1, 0), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, n), 1);
	assert_non_null(ASN1_TIME_set(t, (time_t)T2026));
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	if (with_next) {
		assert_non_null(ASN1_TIME_set(t, (time_t)T2050));
		assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
	}
	if (number_hex != NULL) {
		BIGNUM *bn = NULL;
		ASN1_INTEGER *num;

		assert_true(BN_hex2bn(&bn, number_hex) > 0);
		BN_set_negative(bn, negative);
		num = BN_to_ASN1_INTEGER(bn, NULL);
		assert_non_null(num);
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, num,
		    0, 0), 1);
		ASN1_INTEGER_free(num);
		BN_free(bn);
	}
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	len = i2d_X509_CRL(crl, &der);
	assert_true(len > 0);
	q = der;
	out = d2i_X509_CRL(NULL, &q, len);
	assert_non_null(out);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	X509_NAME_free(n);
	return out;
}

/*
 * certinfo_crl on make_crl(number_hex, negative, with_next) must fail
 * with ERR_INVALID and a message containing want. Returns the number it
 * left behind (it starts at -1); e keeps the error for further checks.
 */
static int64_t
crl_refused(const char *number_hex, int negative, int with_next,
    const char *want, err_t *e)
{
	X509_CRL *crl = make_crl(number_hex, negative, with_next);
	int64_t num = -1, tu = 0, nu = 0;

	err_clear(e);
	assert_int_equal(certinfo_crl(crl, &num, &tu, &nu, e), ERR_INVALID);
	assert_contains(e->msg, want);
	X509_CRL_free(crl);
	return num;
}

static void
test_crl_fields(void **state)
{
	X509_CRL *crl = make_crl("2A", 0, 1);
	int64_t num = -1, tu = 0, nu = 0;
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(certinfo_crl(crl, &num, &tu, &nu, &e), 0);
	assert_int_equal(num, 42);
	assert_int_equal(tu, T2026);
	assert_int_equal(nu, T2050);	/* a GeneralizedTime nextUpdate */
	X509_CRL_free(crl);
}

/* The largest number the database column holds, and one past it. */
static void
test_crl_number_63_bits(void **state)
{
	X509_CRL *crl = make_crl("7FFFFFFFFFFFFFFF", 0, 1);
	int64_t num = -1, tu = 0, nu = 0;
	err_t e;

	(void)state;
	assert_int_equal(certinfo_crl(crl, &num, &tu, &nu, &e), 0);
	assert_int_equal(num, INT64_MAX);
	X509_CRL_free(crl);
	(void)crl_refused("8000000000000000", 0, 1, "CRL number", &e);
	(void)crl_refused("1", 1, 1, "CRL number", &e);
}

static void
test_crl_without_number(void **state)
{
	err_t e;

	(void)state;
	assert_int_equal(crl_refused(NULL, 0, 1, "no CRL number", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

/* Without nextUpdate nobody can tell when the CRL goes stale. */
static void
test_crl_without_next_update(void **state)
{
	err_t e;

	(void)state;
	(void)crl_refused("01", 0, 0, "nextUpdate", &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_text),
		cmocka_unit_test(test_subject_text_too_small),
		cmocka_unit_test(test_serial_hex),
		cmocka_unit_test(test_serial_hex_too_small),
		cmocka_unit_test(test_ski_hex),
		cmocka_unit_test(test_ski_absent),
		cmocka_unit_test(test_validity_utc_and_generalized),
		cmocka_unit_test(test_validity_before_1970),
		cmocka_unit_test(test_validity_generalized_before_2050),
		cmocka_unit_test(test_has_eku),
		cmocka_unit_test(test_has_eku_no_extension),
		cmocka_unit_test(test_crl_fields),
		cmocka_unit_test(test_crl_number_63_bits),
		cmocka_unit_test(test_crl_without_number),
		cmocka_unit_test(test_crl_without_next_update),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
