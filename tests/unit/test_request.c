/*
 * test_request.c: the signer's walk of a stored PKCS#10 request
 * (signer/request.h). It must read the subject, the public key and the
 * requested subjectAltNames exactly as OpenSSL's decoder does, and refuse
 * whatever is not one DER request: trailing bytes, truncation, a second
 * extensionRequest, a name type the appliance does not issue.
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
#include <openssl/x509v3.h>

#include "signer/request.h"

static EVP_PKEY *key;

static int
setup(void **state)
{
	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/* A signed request for CN=cn with the given SAN ("DNS:a,IP:1.2.3.4"). */
static int
make_req(const char *cn, const char *san, int twice, unsigned char **der)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int len;

	assert_non_null(r);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	if (san != NULL) {
		X509_EXTENSION *x = X509V3_EXT_conf_nid(NULL, NULL,
		    NID_subject_alt_name, san);

		assert_non_null(x);
		exts = sk_X509_EXTENSION_new_null();
		sk_X509_EXTENSION_push(exts, x);
		assert_int_equal(X509_REQ_add_extensions(r, exts), 1);
		/* OpenSSL refuses a second extensionRequest; a
		 * challengePassword is added and renamed in the DER below. */
		if (twice)
			assert_int_equal(X509_REQ_add1_attr_by_NID(r,
			    NID_pkcs9_challengePassword, MBSTRING_ASC,
			    (const unsigned char *)"x", 1), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509_REQ(r, der);
	assert_true(len > 0);
	if (twice) {
		static const unsigned char pw[] = { 0x06, 0x09, 0x2a, 0x86,
		    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07 };
		unsigned char *hit = memmem(*der, (size_t)len, pw, sizeof(pw));

		assert_non_null(hit);
		hit[sizeof(pw) - 1] = 0x0e;
	}
	X509_NAME_free(n);
	X509_REQ_free(r);
	return len;
}

static void
test_reads_like_openssl(void **state)
{
	struct signer_csr c;
	unsigned char *der, *spki = NULL;
	char cn[64];
	int len, spki_len;
	err_t e;

	(void)state;
	len = make_req("device-0001", "DNS:dev.example,IP:192.0.2.7,"
	    "email:ops@example.com", 0, &der);
	assert_int_equal(signer_request_parse(der, (size_t)len, &c, &e), 0);
	assert_true(X509_NAME_get_text_by_NID(c.subject, NID_commonName, cn,
	    sizeof(cn)) > 0);
	assert_string_equal(cn, "device-0001");
	spki_len = i2d_PUBKEY(key, &spki);
	assert_int_equal(c.spki_len, (size_t)spki_len);
	assert_memory_equal(c.spki, spki, c.spki_len);
	assert_int_equal(c.san.n, 3);
	assert_int_equal(c.san.v[0].type, CERTSPEC_GN_DNS);
	assert_string_equal(c.san.v[0].value, "dev.example");
	assert_int_equal(c.san.v[1].type, CERTSPEC_GN_IP);
	assert_int_equal(c.san.v[1].ip_len, 4);
	assert_int_equal(c.san.v[1].ip[3], 7);
	assert_int_equal(c.san.v[2].type, CERTSPEC_GN_EMAIL);
	signer_request_free(&c);
	OPENSSL_free(spki);
	OPENSSL_free(der);

	/* No extensionRequest: no names, not an error. */
	len = make_req("device-0002", NULL, 0, &der);
	assert_int_equal(signer_request_parse(der, (size_t)len, &c, &e), 0);
	assert_int_equal(c.san.n, 0);
	signer_request_free(&c);
	OPENSSL_free(der);
}

static void
test_refused(void **state)
{
	struct signer_csr c;
	unsigned char *der, *p;
	int len;
	err_t e;

	(void)state;
	len = make_req("device-0003", "DNS:a.example", 0, &der);
	assert_int_equal(signer_request_parse(der, (size_t)len - 1, &c, &e),
	    ERR_INVALID);
	assert_int_equal(signer_request_parse(der + 1, (size_t)len - 1, &c,
	    &e), ERR_INVALID);
	p = malloc((size_t)len + 1);
	assert_non_null(p);
	memcpy(p, der, (size_t)len);
	p[len] = 0;
	assert_int_equal(signer_request_parse(p, (size_t)len + 1, &c, &e),
	    ERR_INVALID);
	assert_non_null(strstr(e.msg, "not one DER PKCS#10"));
	free(p);
	assert_int_equal(signer_request_parse(NULL, 0, &c, &e), ERR_INVALID);
	OPENSSL_free(der);

	/* Two extensionRequest attributes: which one would be meant? */
	len = make_req("device-0004", "DNS:a.example", 1, &der);
	assert_int_equal(signer_request_parse(der, (size_t)len, &c, &e),
	    ERR_INVALID);
	assert_non_null(strstr(e.msg, "extensionRequest"));
	OPENSSL_free(der);

	/* A registeredID is not a name the appliance issues. */
	len = make_req("device-0005", "RID:1.2.3.4", 0, &der);
	assert_int_equal(signer_request_parse(der, (size_t)len, &c, &e),
	    ERR_INVALID);
	assert_non_null(strstr(e.msg, "only DNS, email, URI and IP"));
	OPENSSL_free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_like_openssl),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
