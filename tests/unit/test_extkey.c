/*
 * test_extkey.c: an extkey signs exactly what its callback signs, and the
 * null signer yields the same to-be-signed bytes without a valid signature;
 * a decrypter decrypts PKCS#1 v1.5 and OAEP through its callback; signers
 * never decrypt and decrypters never sign.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/err.h>
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

struct softdec {
	EVP_PKEY *key;
	int calls;
	int fail;
	int strip;			/* drop leading zeros, as some modules do */
	enum extkey_op last;
};

/* Stands in for the HSM: CKM_RSA_PKCS / CKM_RSA_X_509 decryption. */
static int
soft_decrypt(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen, size_t outmax)
{
	struct softdec *s = ctx;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(s->key, NULL);
	size_t len = outmax, z = 0;
	int ok = 0;

	s->calls++;
	s->last = op;
	if (s->fail || c == NULL || EVP_PKEY_decrypt_init(c) <= 0 ||
	    (op != EXTKEY_RSA_DECRYPT_PKCS1 && op != EXTKEY_RSA_DECRYPT_RAW) ||
	    EVP_PKEY_CTX_set_rsa_padding(c, op == EXTKEY_RSA_DECRYPT_RAW ?
	    RSA_NO_PADDING : RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_decrypt(c, out, &len, in, inlen) <= 0)
		goto out;
	if (s->strip && op == EXTKEY_RSA_DECRYPT_RAW) {
		while (z < len && out[z] == 0)
			z++;
		memmove(out, out + z, len - z);
		len -= z;
	}
	*outlen = len;
	ok = 1;
out:
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

/* Encrypts msg to pub with padding (and SHA-256 for OAEP). */
static size_t
rsa_encrypt(EVP_PKEY *pub, int padding, const unsigned char *msg,
    size_t msglen, unsigned char *ct, size_t ctmax)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	size_t len = ctmax;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(c, padding) > 0);
	if (padding == RSA_PKCS1_OAEP_PADDING)
		assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0);
	assert_int_equal(EVP_PKEY_encrypt(c, ct, &len, msg, msglen), 1);
	EVP_PKEY_CTX_free(c);
	return len;
}

/* Decrypts ct with key; the plaintext length, or 0 when it fails. */
static size_t
rsa_decrypt(EVP_PKEY *key, int padding, const unsigned char *ct,
    size_t ctlen, unsigned char *out, size_t outmax)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
	size_t len = outmax;
	int ok;

	assert_non_null(c);
	ok = EVP_PKEY_decrypt_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, padding) > 0 &&
	    (padding != RSA_PKCS1_OAEP_PADDING ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0) &&
	    EVP_PKEY_decrypt(c, out, &len, ct, ctlen) == 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok ? len : 0;
}

static void
test_decrypter(void **state)
{
	static const unsigned char msg[32] = "a 256-bit content-encryption k";
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct softdec s = { k, 0, 0, 0, 0 }, failing = { k, 0, 1, 0, 0 },
	    stripping = { k, 0, 0, 1, 0 };
	unsigned char ct[256], pt[256];
	EVP_PKEY *dk, *fk, *sk;
	size_t ctlen, n;

	(void)state;
	assert_non_null(k);
	dk = extkey_new_decrypter(k, soft_decrypt, &s, NULL);
	fk = extkey_new_decrypter(k, soft_decrypt, &failing, NULL);
	sk = extkey_new_decrypter(k, soft_decrypt, &stripping, NULL);
	assert_non_null(dk);
	assert_non_null(fk);
	assert_non_null(sk);

	/* PKCS#1 v1.5: the callback unpads, as CKM_RSA_PKCS does. */
	ctlen = rsa_encrypt(k, RSA_PKCS1_PADDING, msg, sizeof(msg), ct,
	    sizeof(ct));
	n = rsa_decrypt(dk, RSA_PKCS1_PADDING, ct, ctlen, pt, sizeof(pt));
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	assert_int_equal(s.last, EXTKEY_RSA_DECRYPT_PKCS1);

	/* OAEP: OpenSSL asks for m = c^d mod n and unpads it itself. */
	ctlen = rsa_encrypt(k, RSA_PKCS1_OAEP_PADDING, msg, sizeof(msg), ct,
	    sizeof(ct));
	n = rsa_decrypt(dk, RSA_PKCS1_OAEP_PADDING, ct, ctlen, pt, sizeof(pt));
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	assert_int_equal(s.last, EXTKEY_RSA_DECRYPT_RAW);

	/* m of an OAEP block starts with 0x00: a module may drop it. */
	n = rsa_decrypt(sk, RSA_PKCS1_OAEP_PADDING, ct, ctlen, pt, sizeof(pt));
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	assert_int_equal(stripping.calls, 1);

	/* A wrong OAEP block is refused by OpenSSL's padding check. */
	ct[ctlen - 1] ^= 1;
	assert_int_equal(rsa_decrypt(dk, RSA_PKCS1_OAEP_PADDING, ct, ctlen, pt,
	    sizeof(pt)), 0);
	ct[ctlen - 1] ^= 1;

	/* A failing callback fails the decryption. */
	assert_int_equal(rsa_decrypt(fk, RSA_PKCS1_OAEP_PADDING, ct, ctlen, pt,
	    sizeof(pt)), 0);
	assert_int_equal(rsa_decrypt(fk, RSA_PKCS1_PADDING, ct, ctlen, pt,
	    sizeof(pt)), 0);
	assert_int_equal(failing.calls, 2);

	/* Paddings that do not map onto a PKCS#11 mechanism are refused. */
	s.calls = 0;
	assert_int_equal(rsa_decrypt(dk, RSA_PKCS1_WITH_TLS_PADDING, ct, ctlen,
	    pt, sizeof(pt)), 0);
	assert_int_equal(s.calls, 0);

	EVP_PKEY_free(dk);
	EVP_PKEY_free(fk);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(k);
}

static void
test_roles_are_separate(void **state)
{
	static const unsigned char msg[16] = "separate roles";
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct softdec d = { k, 0, 0, 0, 0 };
	struct soft s = { k, 0, 0 };
	unsigned char ct[256], pt[256], sig[256];
	EVP_PKEY *dk, *sk;
	EVP_MD_CTX *md;
	size_t ctlen, siglen = sizeof(sig);
	X509 *x;

	(void)state;
	assert_non_null(k);
	assert_non_null(ec);
	dk = extkey_new_decrypter(k, soft_decrypt, &d, NULL);
	sk = extkey_new(k, soft_sign, &s, NULL);
	assert_non_null(dk);
	assert_non_null(sk);

	/* A decrypter never signs, and never asks its callback to. */
	x = make_cert(k);
	assert_int_equal(X509_sign(x, dk, EVP_sha256()), 0);
	md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_true(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, dk) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1);
	EVP_MD_CTX_free(md);
	assert_int_equal(d.calls, 0);

	/* A signer never decrypts, in either padding. */
	ctlen = rsa_encrypt(k, RSA_PKCS1_PADDING, msg, sizeof(msg), ct,
	    sizeof(ct));
	assert_int_equal(rsa_decrypt(sk, RSA_PKCS1_PADDING, ct, ctlen, pt,
	    sizeof(pt)), 0);
	ctlen = rsa_encrypt(k, RSA_PKCS1_OAEP_PADDING, msg, sizeof(msg), ct,
	    sizeof(ct));
	assert_int_equal(rsa_decrypt(sk, RSA_PKCS1_OAEP_PADDING, ct, ctlen, pt,
	    sizeof(pt)), 0);
	assert_int_equal(s.calls, 0);
	/* The same key as a signer still signs. */
	assert_true(X509_sign(x, sk, EVP_sha256()) > 0);
	assert_int_equal(X509_verify(x, k), 1);

	/* Decrypters are RSA only, and need a callback. */
	assert_null(extkey_new_decrypter(ec, soft_decrypt, NULL, NULL));
	assert_null(extkey_new_decrypter(k, NULL, NULL, NULL));
	assert_null(extkey_new_decrypter(NULL, soft_decrypt, NULL, NULL));

	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(dk);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ec);
}

static void
test_decrypter_free_ctx(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *dk;

	(void)state;
	assert_non_null(k);
	freed = 0;
	dk = extkey_new_decrypter(k, soft_decrypt, NULL, count_free);
	assert_non_null(dk);
	EVP_PKEY_free(dk);
	assert_int_equal(freed, 1);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_ec),
		cmocka_unit_test(test_free_ctx_and_refusals),
		cmocka_unit_test(test_decrypter),
		cmocka_unit_test(test_roles_are_separate),
		cmocka_unit_test(test_decrypter_free_ctx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
