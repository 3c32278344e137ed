/*
 * test_sigcheck.c: the signature check the queue runs on every returned
 * certificate (pki/sigcheck.h) and the TBS walk that reads what the
 * certificate table records (certinfo_tbs_facts). Each must agree with
 * OpenSSL's own decoding on good objects and refuse every broken one:
 * another key, a flipped bit, an outer algorithm that differs from the
 * inner one, a truncated or padded encoding, unused bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/certinfo.h"
#include "pki/sigcheck.h"
#include "pkitest.h"

struct fx {
	EVP_PKEY *rsa, *ec, *leaf_key;
	X509 *rsa_ca, *ec_ca, *by_rsa, *by_ec;
	unsigned char *der_rsa, *der_ec;
	int len_rsa, len_ec;
};

static struct fx F;

static X509 *
self_signed(EVP_PKEY *k, const char *cn)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, T2040, 1, 0);
	x = pkitest_issue(&s, k, NULL, k, 1);
	certspec_free(&s);
	return x;
}

static X509 *
leaf(X509 *ca, EVP_PKEY *ca_key, unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, "device-0001", T2026, T2030, 0, -1);
	x = pkitest_issue(&s, F.leaf_key, ca, ca_key, tag);
	certspec_free(&s);
	return x;
}

static int
group_setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	if ((F.rsa = pkitest_rsa()) == NULL ||
	    (F.ec = pkitest_ec("P-256")) == NULL ||
	    (F.leaf_key = pkitest_ec("P-256")) == NULL ||
	    (F.rsa_ca = self_signed(F.rsa, "RSA CA")) == NULL ||
	    (F.ec_ca = self_signed(F.ec, "EC CA")) == NULL ||
	    (F.by_rsa = leaf(F.rsa_ca, F.rsa, 2)) == NULL ||
	    (F.by_ec = leaf(F.ec_ca, F.ec, 3)) == NULL)
		return -1;
	F.len_rsa = i2d_X509(F.by_rsa, &F.der_rsa);
	F.len_ec = i2d_X509(F.by_ec, &F.der_ec);
	return F.len_rsa > 0 && F.len_ec > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	OPENSSL_free(F.der_rsa);
	OPENSSL_free(F.der_ec);
	X509_free(F.by_rsa);
	X509_free(F.by_ec);
	X509_free(F.rsa_ca);
	X509_free(F.ec_ca);
	EVP_PKEY_free(F.rsa);
	EVP_PKEY_free(F.ec);
	EVP_PKEY_free(F.leaf_key);
	return 0;
}

static struct sigcheck *
checker(EVP_PKEY *k)
{
	struct sigcheck *c = NULL;
	err_t e;

	assert_int_equal(sigcheck_new(k, &c, &e), 0);
	return c;
}

/* Good certificates by both key types verify, many times over one ctx. */
static void
test_good(void **state)
{
	struct sigcheck *r = checker(F.rsa), *c = checker(F.ec);
	const unsigned char *tbs = NULL;
	unsigned char *want = NULL;
	size_t tbs_len = 0;
	int i, want_len;
	err_t e;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(sigcheck_der(r, F.der_rsa, (size_t)F.len_rsa,
		    &tbs, &tbs_len, &e), 0);
		assert_int_equal(sigcheck_der(c, F.der_ec, (size_t)F.len_ec,
		    NULL, NULL, &e), 0);
	}
	/* The TBS returned is the certificate's own. */
	want_len = i2d_re_X509_tbs(F.by_rsa, &want);
	assert_int_equal(tbs_len, (size_t)want_len);
	assert_memory_equal(tbs, want, tbs_len);
	OPENSSL_free(want);
	/* A CRL by the EC CA: TBSCertList with an INTEGER version. */
	{
		X509_CRL *crl = X509_CRL_new();
		ASN1_TIME *t = ASN1_TIME_set(NULL, T2026);
		unsigned char *der = NULL;
		int len;

		assert_non_null(crl);
		assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2),
		    1);
		assert_int_equal(X509_CRL_set_issuer_name(crl,
		    X509_get_subject_name(F.ec_ca)), 1);
		assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
		assert_true(X509_CRL_sign(crl, F.ec, EVP_sha256()) > 0);
		len = i2d_X509_CRL(crl, &der);
		assert_true(len > 0);
		assert_int_equal(sigcheck_der(c, der, (size_t)len, NULL, NULL,
		    &e), 0);
		/* ... and not under the RSA CA. */
		assert_int_equal(sigcheck_der(r, der, (size_t)len, NULL, NULL,
		    &e), ERR_INVALID);
		OPENSSL_free(der);
		ASN1_TIME_free(t);
		X509_CRL_free(crl);
	}
	sigcheck_free(r);
	sigcheck_free(c);
}

/* Copies der so that a test may break it. */
static unsigned char *
copy(const unsigned char *der, int len)
{
	unsigned char *p = malloc((size_t)len + 4);

	assert_non_null(p);
	memcpy(p, der, (size_t)len);
	return p;
}

static void
test_refused(void **state)
{
	struct sigcheck *r = checker(F.rsa), *c = checker(F.ec);
	EVP_PKEY *other = pkitest_ec("P-256");
	struct sigcheck *o;
	unsigned char *p;
	size_t n = (size_t)F.len_ec;
	err_t e;

	(void)state;
	assert_non_null(other);
	o = checker(other);
	/* Another key of the same type: verifies nothing. */
	assert_int_equal(sigcheck_der(o, F.der_ec, n, NULL, NULL, &e),
	    ERR_CRYPTO);
	assert_non_null(strstr(e.msg, "does not verify"));
	/* Another key type: the algorithm cannot be its. */
	assert_int_equal(sigcheck_der(r, F.der_ec, n, NULL, NULL, &e),
	    ERR_INVALID);
	assert_int_equal(sigcheck_der(c, F.der_rsa, (size_t)F.len_rsa, NULL,
	    NULL, &e), ERR_INVALID);
	/* A bit flipped in the subject (near the end of the TBS). */
	p = copy(F.der_ec, F.len_ec);
	p[n - 90] ^= 0x01;
	assert_int_not_equal(sigcheck_der(c, p, n, NULL, NULL, &e), 0);
	free(p);
	/* Truncated, and padded with a trailing byte. */
	assert_int_equal(sigcheck_der(c, F.der_ec, n - 1, NULL, NULL, &e),
	    ERR_INVALID);
	p = copy(F.der_ec, F.len_ec);
	p[n] = 0;
	assert_int_equal(sigcheck_der(c, p, n + 1, NULL, NULL, &e),
	    ERR_INVALID);
	free(p);
	/* The outer algorithm differs from the inner one (SHA-256 ->
	 * SHA-384 in the last OID octet of the outer identifier). */
	{
		const ASN1_BIT_STRING *sig;
		const X509_ALGOR *alg;
		unsigned char *a = NULL, *hit;
		int alen;

		X509_get0_signature(&sig, &alg, F.by_ec);
		alen = i2d_X509_ALGOR(alg, &a);
		assert_true(alen > 0);
		p = copy(F.der_ec, F.len_ec);
		/* The second occurrence is the outer one. */
		hit = memmem(p, n, a, (size_t)alen);
		assert_non_null(hit);
		hit = memmem(hit + 1, n - (size_t)(hit + 1 - p), a,
		    (size_t)alen);
		assert_non_null(hit);
		hit[alen - 1] = 0x03;
		assert_int_equal(sigcheck_der(c, p, n, NULL, NULL, &e),
		    ERR_INVALID);
		assert_non_null(strstr(e.msg, "differs"));
		free(p);
		OPENSSL_free(a);
	}
	/* Unused bits in the signature BIT STRING. */
	{
		const ASN1_BIT_STRING *sig;
		const X509_ALGOR *alg;
		unsigned char *hit;

		X509_get0_signature(&sig, &alg, F.by_ec);
		p = copy(F.der_ec, F.len_ec);
		hit = memmem(p, n, sig->data, (size_t)sig->length);
		assert_non_null(hit);
		assert_int_equal(hit[-1], 0);
		hit[-1] = 1;
		assert_int_equal(sigcheck_der(c, p, n, NULL, NULL, &e),
		    ERR_INVALID);
		free(p);
	}
	/* Not a signed object at all. */
	{
		static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01,
		    0x01 };

		assert_int_equal(sigcheck_der(c, junk, sizeof(junk), NULL, NULL,
		    &e), ERR_INVALID);
		assert_int_equal(sigcheck_der(c, NULL, 0, NULL, NULL, &e),
		    ERR_INVALID);
	}
	sigcheck_free(o);
	sigcheck_free(r);
	sigcheck_free(c);
	EVP_PKEY_free(other);
}

/* The TBS walk reads what OpenSSL's decoding reads. */
static void
test_tbs_facts(void **state)
{
	unsigned char *tbs = NULL;
	char want[512], got[512];
	int64_t nb, na, wnb, wna;
	int len;

	(void)state;
	len = i2d_re_X509_tbs(F.by_rsa, &tbs);
	assert_true(len > 0);
	assert_int_equal(certinfo_tbs_facts(tbs, (size_t)len, got,
	    sizeof(got), &nb, &na), 0);
	assert_int_equal(certinfo_subject_text(F.by_rsa, want, sizeof(want)),
	    0);
	assert_string_equal(got, want);
	assert_int_equal(certinfo_validity(F.by_rsa, &wnb, &wna), 0);
	assert_int_equal(nb, wnb);
	assert_int_equal(na, wna);
	assert_int_equal(nb, T2026);
	/* Too small for the subject; truncated; a certificate, not a TBS. */
	assert_int_equal(certinfo_tbs_facts(tbs, (size_t)len, got, 4, &nb,
	    &na), ERR_LIMIT);
	assert_int_equal(certinfo_tbs_facts(tbs, (size_t)len - 1, got,
	    sizeof(got), &nb, &na), ERR_INVALID);
	assert_int_equal(certinfo_tbs_facts(F.der_rsa, (size_t)F.len_rsa, got,
	    sizeof(got), &nb, &na), ERR_INVALID);
	OPENSSL_free(tbs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_tbs_facts),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
