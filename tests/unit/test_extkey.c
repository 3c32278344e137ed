/*
 * test_extkey.c: an extkey signs exactly what its callback signs, and the
 * null signer yields the same to-be-signed bytes without a valid signature.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#include "pki/extkey.h"

struct soft {
	EVP_PKEY *key;
	int calls;
	int fail;
};

/* Stands in for the HSM: performs CKM_RSA_PKCS / CKM_ECDSA in software. */
static int
soft_sign(void *ctx, enum extkey_op op, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen, size_t sigmax)
{
	struct soft *s = ctx;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(s->key, NULL);
	size_t len = sigmax;
	int ok = 0;

	s->calls++;
	if (s->fail || c == NULL || EVP_PKEY_sign_init(c) <= 0)
		goto out;
	if (op == EXTKEY_RSA_PKCS1) {
		/* `in` is a DigestInfo: sign it raw, as CKM_RSA_PKCS does. */
		if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0 ||
		    EVP_PKEY_sign(c, sig, &len, in, inlen) <= 0)
			goto out;
		*siglen = len;
		ok = 1;
	} else {
		unsigned char der[256];
		const unsigned char *p = der;
		size_t dl = sizeof(der), half = sigmax / 2;
		ECDSA_SIG *es;

		if (EVP_PKEY_sign(c, der, &dl, in, inlen) <= 0)
			goto out;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)dl)) == NULL)
			goto out;
		BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + half, (int)half);
		ECDSA_SIG_free(es);
		*siglen = sigmax;
		ok = 1;
	}
out:
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

static X509 *
make_cert(EVP_PKEY *pub)
{
	X509 *x = X509_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_UTF8, (const unsigned char *)"extkey test", -1, -1,
	    0), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
	/* Fixed times, so that two builds give identical bytes. */
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), 1700000000));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), 1800000000));
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	return x;
}

static void
check_key(EVP_PKEY *key, const EVP_MD *md)
{
	struct soft s = { key, 0, 0 };
	EVP_PKEY *ek = extkey_new(key, soft_sign, &s, NULL);
	EVP_PKEY *nk = extkey_null_signer(key);
	X509 *a, *b;
	unsigned char *tbs_a = NULL, *tbs_b = NULL;
	int la, lb;

	assert_non_null(ek);
	assert_non_null(nk);
	/* An unsigned X509 cannot be duplicated (no algorithm yet): build twice. */
	a = make_cert(key);
	b = make_cert(key);
	assert_true(X509_sign(a, ek, md) > 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(X509_verify(a, key), 1);

	/* The null signer produces no valid signature but the same TBS. */
	assert_true(X509_sign(b, nk, md) > 0);
	assert_int_not_equal(X509_verify(b, key), 1);
	la = i2d_re_X509_tbs(a, &tbs_a);
	lb = i2d_re_X509_tbs(b, &tbs_b);
	assert_true(la > 0);
	assert_int_equal(la, lb);
	assert_memory_equal(tbs_a, tbs_b, (size_t)la);

	/* A failing callback makes signing fail rather than emit garbage. */
	s.fail = 1;
	assert_int_equal(X509_sign(b, ek, md), 0);

	OPENSSL_free(tbs_a);
	OPENSSL_free(tbs_b);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(ek);
	EVP_PKEY_free(nk);
}

static void
test_rsa(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	(void)state;
	assert_non_null(k);
	check_key(k, EVP_sha256());
	EVP_PKEY_free(k);
}

static void
test_ec(void **state)
{
	EVP_PKEY *k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

	(void)state;
	assert_non_null(k256);
	assert_non_null(k384);
	check_key(k256, EVP_sha256());
	check_key(k384, EVP_sha384());
	EVP_PKEY_free(k256);
	EVP_PKEY_free(k384);
}

static int freed;

static void
count_free(void *p)
{
	(void)p;
	freed++;
}

static void
test_free_ctx_and_refusals(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ek;

	(void)state;
	freed = 0;
	ek = extkey_new(k, soft_sign, NULL, count_free);
	assert_non_null(ek);
	EVP_PKEY_free(ek);
	assert_int_equal(freed, 1);
	/* Unsupported key types and missing callbacks are refused. */
	assert_null(extkey_new(ed, soft_sign, NULL, NULL));
	assert_null(extkey_new(k, NULL, NULL, NULL));
	assert_null(extkey_new(NULL, soft_sign, NULL, NULL));
	EVP_PKEY_free(k);
	EVP_PKEY_free(ed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_ec),
		cmocka_unit_test(test_free_ctx_and_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
