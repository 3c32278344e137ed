/*
 * test_certalg.c: the DER walk that names a certificate's key and
 * signature algorithms (pki/certalg.c), checked against what OpenSSL's
 * full parser says of the same certificates, and against truncated and
 * hostile DER, which must be refused, never misread.
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
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "pki/certalg.h"
#include "testutil.h"

/* A self-signed certificate for key, signed with md (NULL for EdDSA). */
static unsigned char *
make_cert(EVP_PKEY *key, const EVP_MD *md, int *len)
{
	X509 *x = X509_new();
	X509_NAME *n;
	unsigned char *der = NULL;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"certalg", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, md) > 0);
	assert_true((*len = i2d_X509(x, &der)) > 0);
	X509_free(x);
	return der;
}

/*
 * What OpenSSL's full parser says of der, in certalg's spelling, so that
 * the walk is checked against an independent reading.
 */
static void
openssl_view(const unsigned char *der, int len, char *key, size_t keysz,
    char *sig, size_t sigsz)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, len);
	EVP_PKEY *k;
	char curve[64];
	size_t clen;

	assert_non_null(x);
	assert_non_null(k = X509_get0_pubkey(x));
	if (EVP_PKEY_is_a(k, "RSA"))
		snprintf(key, keysz, "RSA-%d", EVP_PKEY_get_bits(k));
	else if (EVP_PKEY_is_a(k, "RSA-PSS"))
		snprintf(key, keysz, "RSA-PSS-%d", EVP_PKEY_get_bits(k));
	else if (EVP_PKEY_is_a(k, "EC")) {
		assert_int_equal(EVP_PKEY_get_utf8_string_param(k, "group",
		    curve, sizeof(curve), &clen), 1);
		snprintf(key, keysz, "EC %s", strcmp(curve, "prime256v1") == 0 ?
		    "P-256" : strcmp(curve, "secp384r1") == 0 ? "P-384" :
		    strcmp(curve, "secp521r1") == 0 ? "P-521" : curve);
	} else
		snprintf(key, keysz, "%s", EVP_PKEY_get0_type_name(k));
	snprintf(sig, sigsz, "%s", OBJ_nid2ln(X509_get_signature_nid(x)));
	X509_free(x);
}

static void
check_key(EVP_PKEY *key, const EVP_MD *md, const char *want_key,
    const char *want_sig)
{
	struct certalg a;
	char okey[96], osig[96];
	unsigned char *der;
	int len;
	err_t e;

	assert_non_null(key);
	der = make_cert(key, md, &len);
	if (certalg_read(der, (size_t)len, &a, &e) != 0)
		fail_msg("certalg_read: %s", e.msg);
	assert_string_equal(a.key, want_key);
	assert_string_equal(a.sig, want_sig);
	openssl_view(der, len, okey, sizeof(okey), osig, sizeof(osig));
	assert_string_equal(a.sig, osig);
	/* OpenSSL spells EdDSA types in upper case; the walk as RFC 8410. */
	if (strncmp(want_key, "Ed", 2) != 0)
		assert_string_equal(a.key, okey);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

/* EVP_PKEY_Q_keygen knows no "RSA-PSS"; the generic way does. */
static EVP_PKEY *
pss_key(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	EVP_PKEY *k = NULL;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
	assert_int_equal(EVP_PKEY_generate(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

static void
test_rsa(void **state)
{
	(void)state;
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
	    EVP_sha256(), "RSA-2048", "sha256WithRSAEncryption");
	/* An odd size shows the bit count is read, not rounded. */
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1030),
	    EVP_sha384(), "RSA-1030", "sha384WithRSAEncryption");
	check_key(pss_key(), EVP_sha256(), "RSA-PSS-2048", "rsassaPss");
}

static void
test_ec(void **state)
{
	(void)state;
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), EVP_sha256(),
	    "EC P-256", "ecdsa-with-SHA256");
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), EVP_sha384(),
	    "EC P-384", "ecdsa-with-SHA384");
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"), EVP_sha512(),
	    "EC P-521", "ecdsa-with-SHA512");
	/* Not in the walk's table: named through OpenSSL's object table. */
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "brainpoolP256r1"),
	    EVP_sha256(), "EC brainpoolP256r1", "ecdsa-with-SHA256");
}

static void
test_eddsa(void **state)
{
	(void)state;
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), NULL, "Ed25519",
	    "ED25519");
	check_key(EVP_PKEY_Q_keygen(NULL, NULL, "ED448"), NULL, "Ed448",
	    "ED448");
}

/* Every prefix and every one-byte extension of a real certificate. */
static void
test_truncated(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct certalg a;
	unsigned char *der, *longer;
	size_t i;
	int len;
	err_t e;

	(void)state;
	der = make_cert(key, EVP_sha256(), &len);
	for (i = 0; i < (size_t)len; i++) {
		assert_int_equal(certalg_read(der, i, &a, &e), ERR_INVALID);
		assert_string_equal(a.key, "");
		assert_string_equal(a.sig, "");
	}
	assert_non_null(longer = malloc((size_t)len + 1));
	memcpy(longer, der, (size_t)len);
	longer[len] = 0;
	assert_int_equal(certalg_read(longer, (size_t)len + 1, &a, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "spanning");
	assert_int_equal(certalg_read(NULL, 0, &a, &e), ERR_INVALID);
	free(longer);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

/* --- hand-made DER ------------------------------------------------------ */

struct der {
	unsigned char b[4096];
	size_t n;
};

/* Appends tag, length and content (content may alias nothing in d). */
static void
put(struct der *d, unsigned char tag, const void *c, size_t n)
{
	assert_true(n < 65536 && d->n + n + 4 <= sizeof(d->b));
	d->b[d->n++] = tag;
	if (n < 0x80) {
		d->b[d->n++] = (unsigned char)n;
	} else if (n < 0x100) {
		d->b[d->n++] = 0x81;
		d->b[d->n++] = (unsigned char)n;
	} else {
		d->b[d->n++] = 0x82;
		d->b[d->n++] = (unsigned char)(n >> 8);
		d->b[d->n++] = (unsigned char)n;
	}
	memcpy(d->b + d->n, c, n);
	d->n += n;
}

#define RSA_OID "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
#define EC_OID "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
#define P256_OID "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
#define ED25519_OID "\x06\x03\x2b\x65\x70"
#define ECDSA256 "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
#define NUL "\x05\x00"

/*
 * A certificate around the given SubjectPublicKeyInfo content (algid and
 * key bits) and signatureAlgorithm (whole element).
 */
static void
cert_with(struct der *out, const void *spki, size_t spki_len,
    const void *sigalg, size_t sigalg_len)
{
	struct der tbs = { .n = 0 }, body = { .n = 0 }, ver = { .n = 0 };
	static const unsigned char two[] = { 0x02, 0x01, 0x02 };
	static const unsigned char serial[] = { 0x01 };
	static const unsigned char sigbits[] = { 0x00, 0x01 };

	put(&ver, 0xa0, two, sizeof(two));
	memcpy(tbs.b, ver.b, ver.n);
	tbs.n = ver.n;
	put(&tbs, 0x02, serial, sizeof(serial));
	memcpy(tbs.b + tbs.n, sigalg, sigalg_len);
	tbs.n += sigalg_len;
	put(&tbs, 0x30, "", 0);			/* issuer */
	put(&tbs, 0x30, "", 0);			/* validity */
	put(&tbs, 0x30, "", 0);			/* subject */
	put(&tbs, 0x30, spki, spki_len);
	put(&body, 0x30, tbs.b, tbs.n);
	memcpy(body.b + body.n, sigalg, sigalg_len);
	body.n += sigalg_len;
	put(&body, 0x03, sigbits, sizeof(sigbits));
	out->n = 0;
	put(out, 0x30, body.b, body.n);
}

/* An SPKI of algid content alg (OID and params) and key bits. */
static void
spki_with(struct der *out, const void *alg, size_t alg_len,
    const void *bits, size_t bits_len)
{
	out->n = 0;
	put(out, 0x30, alg, alg_len);
	put(out, 0x03, bits, bits_len);
}

/* RSA key bits: 00, then SEQUENCE { INTEGER modulus, INTEGER 65537 }. */
static void
rsa_bits(struct der *out, const unsigned char *mod, size_t mod_len)
{
	struct der seq = { .n = 0 };
	static const unsigned char e[] = { 0x01, 0x00, 0x01 };

	put(&seq, 0x02, mod, mod_len);
	put(&seq, 0x02, e, sizeof(e));
	out->n = 0;
	out->b[out->n++] = 0x00;
	put(out, 0x30, seq.b, seq.n);
}

static int
read_hand(const void *alg, size_t alg_len, const struct der *bits,
    struct certalg *a, err_t *e)
{
	struct der spki, cert;

	spki_with(&spki, alg, alg_len, bits->b, bits->n);
	cert_with(&cert, spki.b, spki.n, ECDSA256, sizeof(ECDSA256) - 1);
	return certalg_read(cert.b, cert.n, a, e);
}

static void
test_hand_rsa(void **state)
{
	unsigned char mod[257];
	struct certalg a;
	struct der bits;
	err_t e;

	(void)state;
	/* 2048 bits with the leading zero DER needs: the walk's reading. */
	memset(mod, 0xc3, sizeof(mod));
	mod[0] = 0x00;
	rsa_bits(&bits, mod, sizeof(mod));
	assert_int_equal(read_hand(RSA_OID NUL, sizeof(RSA_OID NUL) - 1,
	    &bits, &a, &e), 0);
	assert_string_equal(a.key, "RSA-2048");
	assert_string_equal(a.sig, "ecdsa-with-SHA256");
	/* Negative modulus. */
	rsa_bits(&bits, mod + 1, sizeof(mod) - 1);
	assert_int_equal(read_hand(RSA_OID NUL, sizeof(RSA_OID NUL) - 1,
	    &bits, &a, &e), ERR_INVALID);
	assert_contains(e.msg, "subjectPublicKeyInfo");
	/* A leading zero that is not needed (non-minimal INTEGER). */
	mod[1] = 0x01;
	rsa_bits(&bits, mod, sizeof(mod));
	assert_int_equal(read_hand(RSA_OID NUL, sizeof(RSA_OID NUL) - 1,
	    &bits, &a, &e), ERR_INVALID);
	/* A zero modulus. */
	rsa_bits(&bits, (const unsigned char *)"\x00", 1);
	assert_int_equal(read_hand(RSA_OID NUL, sizeof(RSA_OID NUL) - 1,
	    &bits, &a, &e), ERR_INVALID);
	/* Unused bits in the BIT STRING. */
	mod[1] = 0xc3;
	rsa_bits(&bits, mod, sizeof(mod));
	bits.b[0] = 0x03;
	assert_int_equal(read_hand(RSA_OID NUL, sizeof(RSA_OID NUL) - 1,
	    &bits, &a, &e), ERR_INVALID);
	/* A byte after the RSAPublicKey. */
	bits.b[0] = 0x00;
	bits.b[bits.n++] = 0x00;
	assert_int_equal(read_hand(RSA_OID NUL, sizeof(RSA_OID NUL) - 1,
	    &bits, &a, &e), ERR_INVALID);
}

static void
test_hand_ec(void **state)
{
	static const unsigned char point[] = { 0x00, 0x04, 0x01, 0x02 };
	struct certalg a;
	struct der bits;
	err_t e;

	(void)state;
	memcpy(bits.b, point, sizeof(point));
	bits.n = sizeof(point);
	assert_int_equal(read_hand(EC_OID P256_OID, sizeof(EC_OID P256_OID) -
	    1, &bits, &a, &e), 0);
	assert_string_equal(a.key, "EC P-256");
	/* No curve at all. */
	assert_int_equal(read_hand(EC_OID, sizeof(EC_OID) - 1, &bits, &a, &e),
	    ERR_INVALID);
	/* Explicit parameters are named, not guessed. */
	assert_int_equal(read_hand(EC_OID "\x30\x00", sizeof(EC_OID) + 1,
	    &bits, &a, &e), 0);
	assert_string_equal(a.key, "EC (explicit parameters)");
	/* A curve OID OpenSSL does not know: dotted. */
	assert_int_equal(read_hand(EC_OID "\x06\x03\x2a\x03\x04",
	    sizeof(EC_OID) + 4, &bits, &a, &e), 0);
	assert_string_equal(a.key, "EC 1.2.3.4");
	/* A malformed OID (an arc with a leading 0x80). */
	assert_int_equal(read_hand(EC_OID "\x06\x02\x80\x01",
	    sizeof(EC_OID) + 3, &bits, &a, &e), ERR_INVALID);
	/* Ed25519 with parameters, which RFC 8410 forbids. */
	assert_int_equal(read_hand(ED25519_OID NUL, sizeof(ED25519_OID NUL) -
	    1, &bits, &a, &e), ERR_INVALID);
	assert_int_equal(read_hand(ED25519_OID, sizeof(ED25519_OID) - 1,
	    &bits, &a, &e), 0);
	assert_string_equal(a.key, "Ed25519");
	/* An empty OID, and something else where the OID belongs. */
	assert_int_equal(read_hand("\x06\x00", 2, &bits, &a, &e),
	    ERR_INVALID);
	assert_int_equal(read_hand("\x04\x01\x00", 3, &bits, &a, &e),
	    ERR_INVALID);
}

static void
test_hand_frame(void **state)
{
	static const unsigned char point[] = { 0x00, 0x04 };
	struct der spki, cert;
	struct certalg a;
	err_t e;

	(void)state;
	spki_with(&spki, EC_OID P256_OID, sizeof(EC_OID P256_OID) - 1, point,
	    sizeof(point));
	/* A signature algorithm that is no SEQUENCE. */
	cert_with(&cert, spki.b, spki.n, "\x31\x00", 2);
	assert_int_equal(certalg_read(cert.b, cert.n, &a, &e), ERR_INVALID);
	/* An unknown signature OID is named dotted. */
	cert_with(&cert, spki.b, spki.n, "\x30\x05\x06\x03\x2a\x03\x05", 7);
	assert_int_equal(certalg_read(cert.b, cert.n, &a, &e), 0);
	assert_string_equal(a.sig, "1.2.3.5");
	/* Indefinite length (BER) on the outer SEQUENCE. */
	cert_with(&cert, spki.b, spki.n, ECDSA256, sizeof(ECDSA256) - 1);
	assert_int_equal(certalg_read(cert.b, cert.n, &a, &e), 0);
	cert.b[1] = 0x80;
	assert_int_equal(certalg_read(cert.b, cert.n, &a, &e), ERR_INVALID);
	/* A length that claims more than there is. */
	cert_with(&cert, spki.b, spki.n, ECDSA256, sizeof(ECDSA256) - 1);
	cert.b[cert.n - 3] = 0x7f;
	assert_int_equal(certalg_read(cert.b, cert.n, &a, &e), ERR_INVALID);
	/* Garbage. */
	assert_int_equal(certalg_read((const unsigned char *)"\xff\xff\xff",
	    3, &a, &e), ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_ec),
		cmocka_unit_test(test_eddsa),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hand_rsa),
		cmocka_unit_test(test_hand_ec),
		cmocka_unit_test(test_hand_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
