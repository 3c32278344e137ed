/* test_lint.c: one deliberately bad certificate per lint rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "pkitest.h"
#include "pki/lint.h"

static EVP_PKEY *root_key, *int_key, *leaf_key;
static X509 *root, *inter;

static int
setup(void **state)
{
	struct certspec s;

	(void)state;
	root_key = pkitest_rsa();
	int_key = pkitest_ec("P-256");
	leaf_key = pkitest_ec("P-256");
	pkitest_spec(&s, "Lint Root", T2026, T2060, 1, 1);
	root = pkitest_issue(&s, root_key, NULL, root_key, 1);
	certspec_free(&s);
	pkitest_spec(&s, "Lint Issuing CA", T2026, T2050, 1, 0);
	inter = pkitest_issue(&s, int_key, root, root_key, 2);
	certspec_free(&s);
	return root && inter ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(root);
	X509_free(inter);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}

/* Builds an unsigned certificate; the spec is freed. */
static X509 *
mk(struct certspec *s, EVP_PKEY *key, X509 *issuer)
{
	unsigned char serial[16];
	X509 *x = NULL;
	err_t e;

	pkitest_serial(serial, 7);
	if (certbuild_new(s, key, issuer, serial, sizeof(serial), &x, &e) != 0)
		fail_msg("certbuild_new: %s", e.msg);
	certspec_free(s);
	return x;
}

static X509 *
leaf_cert(void)
{
	struct certspec s;

	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	return mk(&s, leaf_key, inter);
}

/*
 * Signs x with signer/md (really, so the signature fields are set), lints
 * it and expects exactly one finding of `rule` whose text contains frag.
 * Frees x.
 */
static void
expect_rule(X509 *x, X509 *issuer, EVP_PKEY *signer, const EVP_MD *md,
    const struct lint_opts *opts, const char *rule, const char *frag)
{
	diag_t d;
	int n;

	assert_non_null(x);
	assert_true(X509_sign(x, signer, md) > 0);
	diag_init(&d);
	n = lint_cert(x, issuer, opts, &d);
	if (rule == NULL ? n != 0 : (n != 1 ||
	    strcmp(d.items[0].field, rule) != 0 ||
	    (frag != NULL && strstr(d.items[0].msg, frag) == NULL))) {
		testutil_print_diag(&d, "finding");
		fail_msg("expected exactly %s, got %d findings",
		    rule ? rule : "none", n);
	}
	diag_free(&d);
	X509_free(x);
}

#define SIGN_INT int_key, EVP_sha256()
#define SIGN_ROOT root_key, EVP_sha256()

static void
test_clean(void **state)
{
	struct certspec s;

	(void)state;
	expect_rule(leaf_cert(), inter, SIGN_INT, NULL, NULL, NULL);
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 0);
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL, NULL, NULL);
	assert_int_equal(lint_cert(NULL, NULL, NULL, NULL), ERR_INVALID);
}

static void
test_version(void **state)
{
	X509 *x = leaf_cert();

	(void)state;
	X509_set_version(x, X509_VERSION_1);
	expect_rule(x, inter, SIGN_INT, NULL, "version", "version 3");
}

static void
set_serial_bytes(X509 *x, const unsigned char *b, size_t n)
{
	BIGNUM *bn = BN_bin2bn(b, (int)n, NULL);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);

	X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
}

static void
test_serial(void **state)
{
	unsigned char big[21];
	ASN1_INTEGER *neg = ASN1_INTEGER_new();
	X509 *x;

	(void)state;
	x = leaf_cert();
	set_serial_bytes(x, (const unsigned char *)"\0", 1);
	expect_rule(x, inter, SIGN_INT, NULL, "serial-positive", "positive");
	x = leaf_cert();
	ASN1_INTEGER_set(neg, -12345);
	X509_set_serialNumber(x, neg);
	ASN1_INTEGER_free(neg);
	expect_rule(x, inter, SIGN_INT, NULL, "serial-positive", NULL);
	x = leaf_cert();
	memset(big, 0x11, sizeof(big));
	set_serial_bytes(x, big, 21);
	expect_rule(x, inter, SIGN_INT, NULL, "serial-length", "21 octets");
	x = leaf_cert();
	memset(big, 0x81, sizeof(big));
	set_serial_bytes(x, big, 20);
	expect_rule(x, inter, SIGN_INT, NULL, "serial-length", "21 octets");
	x = leaf_cert();
	set_serial_bytes(x, big, 4);
	expect_rule(x, inter, SIGN_INT, NULL, "serial-entropy", "5 octets");
}

static void
test_subject_empty(void **state)
{
	X509_NAME *empty = X509_NAME_new();
	X509 *x = leaf_cert();

	(void)state;
	X509_set_subject_name(x, empty);
	X509_NAME_free(empty);
	expect_rule(x, inter, SIGN_INT, NULL, "subject-empty", NULL);
}

static void
test_issuer_name(void **state)
{
	X509 *x = leaf_cert();

	(void)state;
	X509_set_issuer_name(x, X509_get_subject_name(root));
	expect_rule(x, inter, SIGN_INT, NULL, "issuer-name", NULL);
	/* Same text, different string type: DER differs, so a finding. */
	x = leaf_cert();
	{
		X509_NAME *n = X509_NAME_new();

		X509_NAME_add_entry_by_txt(n, "O", V_ASN1_PRINTABLESTRING,
		    (const unsigned char *)"Airlock Test", -1, -1, 0);
		X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_UTF8STRING,
		    (const unsigned char *)"Lint Issuing CA", -1, -1, 0);
		X509_set_issuer_name(x, n);
		X509_NAME_free(n);
	}
	expect_rule(x, inter, SIGN_INT, NULL, "issuer-name", "byte for byte");
}

static void
test_validity(void **state)
{
	struct certspec s;
	ASN1_TIME *t;
	X509 *x;

	(void)state;
	x = leaf_cert();
	t = ASN1_TIME_set(NULL, T2026 + 10);
	X509_set1_notAfter(x, t);
	X509_set1_notBefore(x, t);
	ASN1_TIME_free(t);
	expect_rule(x, inter, SIGN_INT, NULL, "validity-order",
	    "notBefore 2026-01-01T00:00:10Z is not before notAfter");
	pkitest_spec(&s, "leaf", T2026, T2060, 0, -1);
	expect_rule(mk(&s, leaf_key, inter), inter, SIGN_INT, NULL,
	    "validity-issuer", "notAfter 2060-01-01T00:00:00Z is after the "
	    "issuer's notAfter 2050-01-01T00:00:00Z");
	pkitest_spec(&s, "leaf", T2026 - 86400, T2030, 0, -1);
	expect_rule(mk(&s, leaf_key, inter), inter, SIGN_INT, NULL,
	    "validity-issuer", "notBefore 2025-12-31T00:00:00Z is before");
}

static void
test_time_encoding(void **state)
{
	ASN1_TIME *t;
	X509 *x;

	(void)state;
	x = leaf_cert();
	t = ASN1_GENERALIZEDTIME_set(NULL, T2030);
	X509_set1_notAfter(x, t);
	ASN1_TIME_free(t);
	expect_rule(x, inter, SIGN_INT, NULL, "time-encoding",
	    "notAfter in 2030 must be a UTCTime");
	x = leaf_cert();
	t = ASN1_UTCTIME_new();
	assert_true(ASN1_UTCTIME_set_string(t, "2901010000Z"));
	X509_set1_notAfter(x, t);
	ASN1_TIME_free(t);
	expect_rule(x, inter, SIGN_INT, NULL, "time-encoding",
	    "must have seconds");
}

static void
replace_ext(X509 *x, int nid, void *value, int crit)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);

	if (idx >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, idx));
	if (value != NULL)
		assert_int_equal(X509_add1_ext_i2d(x, nid, value, crit,
		    X509V3_ADD_DEFAULT), 1);
}

static void
test_aki(void **state)
{
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	X509 *x;

	(void)state;
	x = leaf_cert();
	replace_ext(x, NID_authority_key_identifier, NULL, 0);
	expect_rule(x, inter, SIGN_INT, NULL, "aki-keyid", "required");
	x = leaf_cert();
	aki->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(aki->keyid, (const unsigned char *)"wrongid", 7);
	replace_ext(x, NID_authority_key_identifier, aki, 0);
	AUTHORITY_KEYID_free(aki);
	expect_rule(x, inter, SIGN_INT, NULL, "aki-keyid",
	    "authorityKeyIdentifier 77726f6e676964 does not equal");
}

static void
test_ski_ca(void **state)
{
	struct certspec s;

	(void)state;
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 0);
	s.ext.ski = 0;
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL, "ski-ca",
	    NULL);
}

static void
test_bc(void **state)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	struct certspec s;
	X509 *x;

	(void)state;
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 0);
	s.ext.bc_critical = 0;
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL,
	    "bc-critical", NULL);
	x = leaf_cert();
	bc->ca = 0;
	bc->pathlen = ASN1_INTEGER_new();
	ASN1_INTEGER_set(bc->pathlen, 0);
	replace_ext(x, NID_basic_constraints, bc, 1);
	BASIC_CONSTRAINTS_free(bc);
	expect_rule(x, inter, SIGN_INT, NULL, "pathlen-non-ca", NULL);
}

static void
test_key_usage(void **state)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	struct certspec s;
	X509 *x;

	(void)state;
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 0);
	s.ext.key_usage = CERTSPEC_KU_CRL_SIGN;
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL,
	    "ku-certsign", "lacks keyCertSign");
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	s.ext.key_usage |= CERTSPEC_KU_KEY_CERT_SIGN;
	expect_rule(mk(&s, leaf_key, inter), inter, SIGN_INT, NULL,
	    "ku-certsign", "does not say CA:TRUE");
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	s.ext.has_basic_constraints = 0;
	s.ext.key_usage |= CERTSPEC_KU_KEY_CERT_SIGN;
	expect_rule(mk(&s, leaf_key, inter), inter, SIGN_INT, NULL,
	    "ku-certsign", NULL);
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 0);
	s.ext.has_key_usage = 0;
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL, "ku-ca",
	    NULL);
	x = leaf_cert();
	ASN1_BIT_STRING_set_bit(ku, 0, 1);
	replace_ext(x, NID_key_usage, ku, 0);
	ASN1_BIT_STRING_free(ku);
	expect_rule(x, inter, SIGN_INT, NULL, "ku-critical", NULL);
}

static void
test_name_constraints_non_ca(void **state)
{
	struct certspec s;

	(void)state;
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	s.ext.has_name_constraints = 1;
	s.ext.nc_critical = 1;
	s.ext.nc_permitted.v = calloc(1, sizeof(struct certspec_gn));
	s.ext.nc_permitted.v[0].type = CERTSPEC_GN_DNS;
	s.ext.nc_permitted.v[0].value = strdup("example.com");
	s.ext.nc_permitted.n = 1;
	expect_rule(mk(&s, leaf_key, inter), inter, SIGN_INT, NULL,
	    "nc-non-ca", NULL);
}

static void
test_duplicate_extension(void **state)
{
	X509 *x = leaf_cert();
	X509_EXTENSION *ext;

	(void)state;
	ext = X509_get_ext(x, X509_get_ext_by_NID(x,
	    NID_subject_key_identifier, -1));
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	expect_rule(x, inter, SIGN_INT, NULL, "ext-duplicate",
	    "X509v3 Subject Key Identifier");
}

static EVP_PKEY *
rsa_key(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	EVP_PKEY *k = NULL;

	BN_set_word(bn, e);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0);
	assert_true(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) > 0);
	assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void
test_public_key(void **state)
{
	struct lint_opts legacy = { .allow_legacy = 1 };
	struct certspec s;
	EVP_PKEY *k;

	(void)state;
	k = rsa_key(1024, 65537);
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	expect_rule(mk(&s, k, inter), inter, SIGN_INT, NULL, "key-size",
	    "1024 bits");
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	expect_rule(mk(&s, k, inter), inter, SIGN_INT, &legacy, NULL, NULL);
	EVP_PKEY_free(k);
	k = rsa_key(2048, 3);
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	expect_rule(mk(&s, k, inter), inter, SIGN_INT, NULL, "key-exponent",
	    "65537");
	EVP_PKEY_free(k);
	k = pkitest_ec("P-521");
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	expect_rule(mk(&s, k, inter), inter, SIGN_INT, NULL, "key-curve",
	    "secp521r1");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	expect_rule(mk(&s, k, inter), inter, SIGN_INT, NULL, "key-type",
	    "ED25519");
	EVP_PKEY_free(k);
}

static void
test_signature_algorithm(void **state)
{
	struct lint_opts legacy = { .allow_legacy = 1 };

	(void)state;
	expect_rule(leaf_cert(), inter, int_key, EVP_sha1(), NULL,
	    "sigalg-digest", "SHA1");
	expect_rule(leaf_cert(), inter, int_key, EVP_sha1(), &legacy, NULL,
	    NULL);
	/* Signed by the root's RSA key although the issuer key is EC. */
	expect_rule(leaf_cert(), inter, SIGN_ROOT, NULL, "sigalg-key",
	    "id-ecPublicKey");
}

static void
test_issuer_pathlen(void **state)
{
	struct certspec s;

	(void)state;
	pkitest_spec(&s, "sub-sub CA", T2026, T2040, 1, -1);
	expect_rule(mk(&s, leaf_key, inter), inter, SIGN_INT, NULL,
	    "issuer-pathlen", "allows no subordinate CA");
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 1);
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL,
	    "issuer-pathlen", "pathLenConstraint 1 exceeds the 0");
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, -1);
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL,
	    "issuer-pathlen", "at most 0");
}

static void
test_issuer_not_ca(void **state)
{
	struct certspec s;
	X509 *leaf;

	(void)state;
	leaf = leaf_cert();
	assert_true(X509_sign(leaf, int_key, EVP_sha256()) > 0);
	pkitest_spec(&s, "under a leaf", T2026, T2030, 0, -1);
	expect_rule(mk(&s, int_key, leaf), leaf, leaf_key, EVP_sha256(), NULL,
	    "issuer-ca", "not a CA");
	X509_free(leaf);
}

static void
test_ca_eku(void **state)
{
	struct lint_opts ok = { .allow_ca_eku = 1 };
	struct certspec s;

	(void)state;
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 0);
	s.ext.eku.v = calloc(1, sizeof(char *));
	s.ext.eku.v[0] = strdup("1.3.6.1.5.5.7.3.1");
	s.ext.eku.n = 1;
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, NULL, "ca-eku",
	    "extendedKeyUsage");
	pkitest_spec(&s, "sub CA", T2026, T2040, 1, 0);
	s.ext.eku.v = calloc(1, sizeof(char *));
	s.ext.eku.v[0] = strdup("1.3.6.1.5.5.7.3.1");
	s.ext.eku.n = 1;
	expect_rule(mk(&s, int_key, root), root, SIGN_ROOT, &ok, NULL, NULL);
}

static void
test_self_signed(void **state)
{
	struct certspec s;
	X509 *x;

	(void)state;
	pkitest_spec(&s, "Another Root", T2026, T2060, 1, -1);
	x = mk(&s, root_key, NULL);
	expect_rule(x, NULL, SIGN_ROOT, NULL, NULL, NULL);
	pkitest_spec(&s, "Another Root", T2026, T2060, 1, -1);
	x = mk(&s, root_key, NULL);
	X509_set_issuer_name(x, X509_get_subject_name(inter));
	expect_rule(x, NULL, SIGN_ROOT, NULL, "issuer-name", "self-signed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_subject_empty),
		cmocka_unit_test(test_issuer_name),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_time_encoding),
		cmocka_unit_test(test_aki),
		cmocka_unit_test(test_ski_ca),
		cmocka_unit_test(test_bc),
		cmocka_unit_test(test_key_usage),
		cmocka_unit_test(test_name_constraints_non_ca),
		cmocka_unit_test(test_duplicate_extension),
		cmocka_unit_test(test_public_key),
		cmocka_unit_test(test_signature_algorithm),
		cmocka_unit_test(test_issuer_pathlen),
		cmocka_unit_test(test_issuer_not_ca),
		cmocka_unit_test(test_ca_eku),
		cmocka_unit_test(test_self_signed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
