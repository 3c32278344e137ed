/* test_pkisign.c: lint-then-sign, TBS comparison, DER walker, blobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkitest.h"
#include "pki/der.h"
#include "testutil.h"

static void
test_der_tlv(void **state)
{
	static const unsigned char short_form[] = { 0x04, 0x02, 0xaa, 0xbb };
	static const unsigned char non_minimal[] = { 0x04, 0x81, 0x02, 0xaa,
	    0xbb };
	static const unsigned char indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
	static const unsigned char truncated[] = { 0x04, 0x05, 0xaa };
	static const unsigned char high_tag[] = { 0x1f, 0x81, 0x01, 0x00 };
	static const unsigned char leading_zero[] = { 0x04, 0x82, 0x00, 0x80 };
	unsigned char long_form[3 + 200];
	struct der_tlv t;
	buf_t b;

	(void)state;
	buf_view(&b, short_form, sizeof(short_form));
	assert_int_equal(der_get_tlv(&b, &t), 0);
	assert_int_equal(t.tag, 0x04);
	assert_int_equal(t.content_len, 2);
	assert_int_equal(t.raw_len, 4);
	assert_int_equal(buf_avail(&b), 0);
	memset(long_form, 0x55, sizeof(long_form));
	long_form[0] = 0x04;
	long_form[1] = 0x81;
	long_form[2] = 200;
	buf_view(&b, long_form, sizeof(long_form));
	assert_int_equal(der_get_tlv(&b, &t), 0);
	assert_int_equal(t.content_len, 200);
	assert_ptr_equal(t.content, long_form + 3);
	buf_view(&b, non_minimal, sizeof(non_minimal));
	assert_int_equal(der_get_tlv(&b, &t), ERR_INVALID);
	buf_view(&b, indefinite, sizeof(indefinite));
	assert_int_equal(der_get_tlv(&b, &t), ERR_INVALID);
	buf_view(&b, truncated, sizeof(truncated));
	assert_int_equal(der_get_tlv(&b, &t), ERR_INVALID);
	buf_view(&b, high_tag, sizeof(high_tag));
	assert_int_equal(der_get_tlv(&b, &t), ERR_INVALID);
	buf_view(&b, leading_zero, sizeof(leading_zero));
	assert_int_equal(der_get_tlv(&b, &t), ERR_INVALID);
	buf_view(&b, short_form, 1);
	assert_int_equal(der_get_tlv(&b, &t), ERR_INVALID);
}

static void
test_der_first_in_seq(void **state)
{
	static const unsigned char ok[] = { 0x30, 0x07, 0x30, 0x02, 0x01,
	    0x00, 0x05, 0x01, 0x00 };
	static const unsigned char trailing[] = { 0x30, 0x04, 0x30, 0x02, 0x01,
	    0x00, 0xff };
	static const unsigned char not_seq[] = { 0x31, 0x04, 0x30, 0x02, 0x01,
	    0x00 };
	static const unsigned char inner_not_seq[] = { 0x30, 0x03, 0x02, 0x01,
	    0x00 };
	buf_t out;
	err_t e;

	(void)state;
	buf_init(&out, 1024);
	assert_int_equal(der_first_in_seq(ok, sizeof(ok), &out, &e), 0);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, ok + 2, 4);
	assert_int_equal(der_first_in_seq(trailing, sizeof(trailing), &out,
	    &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "follow"));
	assert_int_equal(der_first_in_seq(not_seq, sizeof(not_seq), &out, &e),
	    ERR_INVALID);
	assert_int_equal(der_first_in_seq(inner_not_seq, sizeof(inner_not_seq),
	    &out, &e), ERR_INVALID);
	buf_free(&out);
	buf_init(&out, 2);
	assert_int_equal(der_first_in_seq(ok, sizeof(ok), &out, &e),
	    ERR_LIMIT);
	buf_free(&out);
}

static void
test_tbs_compare(void **state)
{
	buf_t a, b;
	err_t e;

	(void)state;
	buf_view(&a, "abcdef", 6);
	buf_view(&b, "abcdef", 6);
	assert_int_equal(pkisign_tbs_compare(&a, &b, &e), 0);
	buf_view(&b, "abcXef", 6);
	assert_int_equal(pkisign_tbs_compare(&a, &b, &e), ERR_INTERNAL);
	assert_non_null(strstr(e.msg, "offset 3"));
	buf_view(&b, "abcdefg", 7);
	assert_int_equal(pkisign_tbs_compare(&a, &b, &e), ERR_INTERNAL);
	assert_non_null(strstr(e.msg, "offset 6"));
}

static EVP_PKEY *root_key;
static X509 *root;

static int
setup(void **state)
{
	struct certspec s;

	(void)state;
	root_key = pkitest_ec("P-384");
	pkitest_spec(&s, "Sign Root", T2026, T2060, 1, -1);
	root = pkitest_issue(&s, root_key, NULL, root_key, 1);
	certspec_free(&s);
	return root != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(root);
	EVP_PKEY_free(root_key);
	return 0;
}

static X509 *
unsigned_leaf(EVP_PKEY *key)
{
	unsigned char serial[16];
	struct certspec s;
	X509 *x = NULL;
	err_t e;

	pkitest_serial(serial, 5);
	pkitest_spec(&s, "leaf", T2026, T2030, 0, -1);
	assert_int_equal(certbuild_new(&s, key, root, serial, sizeof(serial),
	    &x, &e), 0);
	certspec_free(&s);
	return x;
}

static void
test_sign_ok(void **state)
{
	EVP_PKEY *k = pkitest_ec("P-256");
	X509 *x = unsigned_leaf(k);
	diag_t d;
	err_t e;

	(void)state;
	diag_init(&d);
	assert_int_equal(pkisign_cert(x, root_key,
	    pkisign_md_for_key(root_key, NULL), root, NULL, &d, &e), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(X509_verify(x, root_key), 1);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
	diag_free(&d);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_tbs_mismatch(void **state)
{
	EVP_PKEY *k = pkitest_ec("P-256");
	X509 *x = unsigned_leaf(k);
	X509_NAME *other = X509_NAME_new();
	buf_t linted;
	err_t e;

	(void)state;
	/* Take the bytes that would be linted, then change the certificate. */
	assert_true(X509_sign(x, root_key, EVP_sha384()) > 0);
	buf_init(&linted, PKISIGN_TBS_MAX);
	assert_int_equal(pkisign_cert_tbs(x, &linted, &e), 0);
	X509_NAME_add_entry_by_txt(other, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"swapped", -1, -1, 0);
	X509_set_subject_name(x, other);
	X509_NAME_free(other);
	assert_int_equal(pkisign_cert_expect(x, root_key, EVP_sha384(), root,
	    &linted, &e), ERR_INTERNAL);
	assert_non_null(strstr(e.msg, "differ from the linted"));
	buf_free(&linted);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_wrong_issuer_key(void **state)
{
	EVP_PKEY *k = pkitest_ec("P-256");
	EVP_PKEY *impostor = pkitest_ec("P-384");
	X509 *x = unsigned_leaf(k);
	err_t e;

	(void)state;
	assert_int_equal(pkisign_cert(x, impostor, EVP_sha384(), root, NULL,
	    NULL, &e), ERR_CRYPTO);
	assert_non_null(strstr(e.msg, "does not verify"));
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(impostor);
}

static void
test_lint_refuses(void **state)
{
	EVP_PKEY *k = pkitest_ec("P-256");
	unsigned char serial[16];
	struct certspec s;
	X509 *x = NULL;
	diag_t d;
	err_t e;

	(void)state;
	pkitest_serial(serial, 6);
	pkitest_spec(&s, "leaf", T2026, T2060 + 86400, 0, -1);
	s.ext.key_usage |= CERTSPEC_KU_KEY_CERT_SIGN;
	assert_int_equal(certbuild_new(&s, k, root, serial, sizeof(serial),
	    &x, &e), 0);
	certspec_free(&s);
	diag_init(&d);
	assert_int_equal(pkisign_cert(x, root_key, EVP_sha384(), root, NULL,
	    &d, &e), ERR_POLICY);
	assert_int_equal(d.n, 2);
	assert_non_null(strstr(e.msg, "(and 1 more)"));
	/* The certificate only ever carried the null signature. */
	assert_int_not_equal(X509_verify(x, root_key), 1);
	diag_free(&d);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_md_for_key(void **state)
{
	EVP_PKEY *p256 = pkitest_ec("P-256");

	(void)state;
	assert_ptr_equal(pkisign_md_for_key(root_key, NULL), EVP_sha384());
	assert_ptr_equal(pkisign_md_for_key(p256, NULL), EVP_sha256());
	assert_ptr_equal(pkisign_md_for_key(p256, "sha512"), EVP_sha512());
	assert_null(pkisign_md_for_key(p256, "md5"));
	EVP_PKEY_free(p256);
}

static void
blob_roundtrip(EVP_PKEY *key, const char *dgst)
{
	static const char data[] = "transcript: step 1 done\n";
	char dir[256], cmd[2048];
	unsigned char *sig = NULL;
	size_t siglen = 0;
	FILE *f;
	err_t e;

	assert_int_equal(pkisign_blob(key, NULL, data, strlen(data), &sig,
	    &siglen, &e), 0);
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "blob"), 0);
	snprintf(cmd, sizeof(cmd), "%s/sig", dir);
	f = fopen(cmd, "w");
	fwrite(sig, 1, siglen, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/data", dir);
	f = fopen(cmd, "w");
	fputs(data, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/pub.pem", dir);
	f = fopen(cmd, "w");
	PEM_write_PUBKEY(f, key);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl dgst -%s -verify %s/pub.pem "
	    "-signature %s/sig %s/data >/dev/null", dgst, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "echo tampered >>%s/data && ! openssl "
	    "dgst -%s -verify %s/pub.pem -signature %s/sig %s/data "
	    ">/dev/null 2>&1", dir, dgst, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(testutil_rmtree(dir), 0);
	OPENSSL_free(sig);
}

static void
test_blob(void **state)
{
	EVP_PKEY *rsa = pkitest_rsa();
	unsigned char *sig;
	size_t siglen;
	err_t e;

	(void)state;
	blob_roundtrip(root_key, "sha384");
	blob_roundtrip(rsa, "sha256");
	assert_int_equal(pkisign_blob(rsa, NULL, NULL, 3, &sig, &siglen, &e),
	    ERR_INVALID);
	EVP_PKEY_free(rsa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der_tlv),
		cmocka_unit_test(test_der_first_in_seq),
		cmocka_unit_test(test_tbs_compare),
		cmocka_unit_test(test_sign_ok),
		cmocka_unit_test(test_tbs_mismatch),
		cmocka_unit_test(test_wrong_issuer_key),
		cmocka_unit_test(test_lint_refuses),
		cmocka_unit_test(test_md_for_key),
		cmocka_unit_test(test_blob),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
