/* test_csr.c: PKCS#10 requests from untrusted input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/csr.h"
#include "testutil.h"
#include "util/err.h"

static EVP_PKEY *rsa2048, *rsa1024, *ecp256, *ecp384;

static int
setup(void **state)
{
	(void)state;
	rsa2048 = EVP_RSA_gen(2048);
	rsa1024 = EVP_RSA_gen(1024);
	ecp256 = EVP_EC_gen("P-256");
	ecp384 = EVP_EC_gen("P-384");
	return rsa2048 && rsa1024 && ecp256 && ecp384 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(ecp256);
	EVP_PKEY_free(ecp384);
	return 0;
}

/* Asserts a message on line for request index (0: none) containing needle. */
static void
expect_diag(const diag_t *d, unsigned long line, size_t index,
    const char *needle)
{
	char field[48];
	size_t i;

	snprintf(field, sizeof(field), "request %zu", index);
	for (i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];

		if (it->line != line || strstr(it->msg, needle) == NULL)
			continue;
		if (index == 0 ? it->field != NULL :
		    (it->field == NULL || strcmp(it->field, field) != 0))
			continue;
		assert_string_equal(it->file, "reqs");
		return;
	}
	testutil_print_diag(d, "  diag");
	fail_msg("no message on line %lu for request %zu with '%s'", line,
	    index, needle);
}

/* A signed request for key with CN cn (NULL: none) and SANs san (or NULL). */
static X509_REQ *
make_req(EVP_PKEY *key, const char *cn, const char *san)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_REQ_get_subject_name(req);

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8,
	    (const unsigned char *)"DE", -1, -1, 0), 1);
	if (cn != NULL)
		/* A raw UTF8String: OpenSSL's own length limits not applied. */
		assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN",
		    V_ASN1_UTF8STRING, (const unsigned char *)cn, -1, -1, 0),
		    1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	if (san != NULL) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL,
		    NID_subject_alt_name, san);

		assert_non_null(ext);
		sk_X509_EXTENSION_push(exts, ext);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

/* DER of a new request, malloc'd. */
static unsigned char *
req_der(EVP_PKEY *key, const char *cn, const char *san, size_t *len)
{
	X509_REQ *req = make_req(key, cn, san);
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);
	unsigned char *copy;

	assert_true(n > 0);
	copy = malloc((size_t)n);
	assert_non_null(copy);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	X509_REQ_free(req);
	*len = (size_t)n;
	return copy;
}

/* Appends the PEM of a new request to bio. */
static void
req_pem(BIO *bio, EVP_PKEY *key, const char *cn, const char *san)
{
	X509_REQ *req = make_req(key, cn, san);

	assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
	X509_REQ_free(req);
}

static int
parse_bio(BIO *bio, struct csr_list *l, diag_t *d)
{
	char *p;
	long n = BIO_get_mem_data(bio, &p);

	diag_init(d);
	return csr_parse_all("reqs", p, (size_t)n, l, d);
}

static void
test_pem_three(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	struct csr_list l;
	char desc[CSR_KEY_DESC_MAX];
	diag_t d;

	(void)state;
	BIO_puts(bio, "Certificate Request:\n    some openssl -text output\n");
	req_pem(bio, rsa2048, "modem-1", NULL);			/* line 3 */
	BIO_puts(bio, "\n");
	req_pem(bio, ecp256, "modem-2",
	    "DNS:a.example.com,email:ops@example.com,"
	    "URI:https://example.com/x,IP:10.0.0.1,IP:2001:db8::1");
	req_pem(bio, ecp384, NULL, NULL);
	if (parse_bio(bio, &l, &d) != 0) {
		testutil_print_diag(&d, "  diag");
		fail();
	}
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].key_desc, "rsa-2048");
	assert_int_equal(l.items[0].index, 1);
	assert_int_equal(l.items[0].line, 3);
	assert_int_equal(l.items[0].nsans, 0);
	assert_string_equal(l.items[1].key_desc, "ec-p256");
	assert_int_equal(l.items[1].index, 2);
	assert_true(l.items[1].line > l.items[0].line + 10);
	assert_int_equal(l.items[1].nsans, 5);
	assert_int_equal(l.items[1].sans[0].type, CSR_SAN_DNS);
	assert_string_equal(l.items[1].sans[0].value, "a.example.com");
	assert_int_equal(l.items[1].sans[1].type, CSR_SAN_EMAIL);
	assert_string_equal(l.items[1].sans[1].value, "ops@example.com");
	assert_int_equal(l.items[1].sans[2].type, CSR_SAN_URI);
	assert_string_equal(l.items[1].sans[2].value, "https://example.com/x");
	assert_int_equal(l.items[1].sans[3].type, CSR_SAN_IP);
	assert_string_equal(l.items[1].sans[3].value, "10.0.0.1");
	assert_string_equal(l.items[1].sans[4].value, "2001:db8::1");
	assert_string_equal(l.items[2].key_desc, "ec-p384");
	assert_int_equal(X509_NAME_entry_count(l.items[2].subject), 1);
	assert_int_equal(EVP_PKEY_eq(l.items[1].pub, ecp256), 1);
	assert_int_equal(csr_key_desc(rsa1024, desc, sizeof(desc)), 0);
	assert_string_equal(desc, "rsa-1024");
	assert_int_equal(csr_key_desc(rsa1024, desc, 8), ERR_LIMIT);
	assert_int_equal(csr_key_desc(NULL, desc, sizeof(desc)), ERR_INVALID);
	csr_list_free(&l);
	diag_free(&d);
	BIO_free(bio);
}

static void
test_der(void **state)
{
	struct csr_list l;
	unsigned char *der;
	size_t len;
	diag_t d;

	(void)state;
	der = req_der(rsa1024, "legacy-modem", "DNS:m.example", &len);
	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", der, len, &l, &d), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.items[0].line, 0);
	assert_string_equal(l.items[0].key_desc, "rsa-1024");
	assert_int_equal(l.items[0].nsans, 1);
	assert_string_equal(l.items[0].sans[0].value, "m.example");
	csr_list_free(&l);
	diag_free(&d);

	/* Truncated. */
	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", der, len - 10, &l, &d),
	    ERR_INVALID);
	expect_diag(&d, 0, 1, "the outer SEQUENCE is malformed, truncated");
	assert_int_equal(l.n, 0);
	diag_free(&d);
	free(der);
}

static void
test_bad_signature(void **state)
{
	struct csr_list l;
	unsigned char *der;
	size_t len;
	diag_t d;

	(void)state;
	der = req_der(ecp256, "m", NULL, &len);
	/* The signature's last byte ends the encoding. */
	der[len - 1] ^= 0x01;
	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", der, len, &l, &d), ERR_INVALID);
	expect_diag(&d, 0, 1, "the signature does not verify with the "
	    "request's own public key");
	assert_null(l.items);
	diag_free(&d);
	free(der);

	der = req_der(rsa2048, "m", NULL, &len);
	der[len - 5] ^= 0x80;
	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", der, len, &l, &d), ERR_INVALID);
	expect_diag(&d, 0, 1, "does not verify");
	diag_free(&d);
	free(der);
}

static void
test_huge_lengths(void **state)
{
	static const unsigned char four[] = { 0x30, 0x84, 0x7f, 0xff, 0xff,
	    0xff, 0x30, 0x00 };
	static const unsigned char eight[] = { 0x30, 0x88, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	static const unsigned char indefinite[] = { 0x30, 0x80, 0x30, 0x00,
	    0x00, 0x00 };
	/* Outer framing fine; the inner SEQUENCE claims 2 GiB. */
	static const unsigned char inner[] = { 0x30, 0x08, 0x30, 0x84, 0x7f,
	    0xff, 0xff, 0xff, 0x02, 0x00 };
	static const unsigned char trailing[] = { 0x30, 0x00, 0x00 };
	struct csr_list l;
	diag_t d;

	(void)state;
	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", four, sizeof(four), &l, &d),
	    ERR_INVALID);
	assert_int_equal(csr_parse_all("reqs", eight, sizeof(eight), &l, &d),
	    ERR_INVALID);
	assert_int_equal(csr_parse_all("reqs", indefinite, sizeof(indefinite),
	    &l, &d), ERR_INVALID);
	assert_int_equal(diag_count(&d), 3);
	expect_diag(&d, 0, 1, "its length points past the 8 bytes present");
	expect_diag(&d, 0, 1, "past the 11 bytes present");
	diag_free(&d);
	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", inner, sizeof(inner), &l, &d),
	    ERR_INVALID);
	expect_diag(&d, 0, 1, "not a PKCS#10 certificate request");
	assert_int_equal(csr_parse_all("reqs", trailing, sizeof(trailing), &l,
	    &d), ERR_INVALID);
	expect_diag(&d, 0, 1, "1 bytes follow the DER request");
	diag_free(&d);
}

static void
test_pem_problems(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	struct csr_list l;
	diag_t d;

	(void)state;
	req_pem(bio, ecp256, "one", NULL);			/* line 1 */
	BIO_puts(bio, "-----BEGIN CERTIFICATE-----\n"		/* line 8 */
	    "MAo=\n-----END CERTIFICATE-----\n");
	BIO_puts(bio, "-----BEGIN CERTIFICATE REQUEST-----\n"	/* line 11 */
	    "Proc-Type: 4,ENCRYPTED\n\nMAo=\n"
	    "-----END CERTIFICATE REQUEST-----\n");
	BIO_puts(bio, "-----BEGIN CERTIFICATE REQUEST-----\n"	/* line 16 */
	    "MA=o\n-----END CERTIFICATE REQUEST-----\n");
	BIO_puts(bio, "-----BEGIN NEW CERTIFICATE REQUEST-----\n" /* 19 */
	    "MAA=\n-----END CERTIFICATE REQUEST-----\n");
	BIO_puts(bio, "-----BEGIN \x1b[31mX-----\n"		/* line 22 */
	    "-----END \x1b[31mX-----\n");
	BIO_puts(bio, "-----BEGIN CERTIFICATE REQUEST-----\n"	/* line 24 */
	    "MAA=\n");
	assert_int_equal(parse_bio(bio, &l, &d), ERR_INVALID);
	expect_diag(&d, 8, 2, "the PEM block is labelled 'CERTIFICATE', not "
	    "'CERTIFICATE REQUEST'");
	expect_diag(&d, 11, 3, "line 12 is a PEM header");
	expect_diag(&d, 16, 4, "the PEM block is not valid base64");
	expect_diag(&d, 19, 5, "the block ends on line 21 with a different "
	    "label ('CERTIFICATE REQUEST')");
	expect_diag(&d, 22, 6, "labelled '\\x1b[31mX'");
	expect_diag(&d, 24, 7, "the block has no END line");
	assert_int_equal(diag_count(&d), 6);
	/* All or nothing: the good first request is not handed out. */
	assert_int_equal(l.n, 0);
	diag_free(&d);
	BIO_free(bio);

	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", "hello\n", 6, &l, &d),
	    ERR_INVALID);
	expect_diag(&d, 0, 0, "neither a DER request nor PEM");
	assert_int_equal(csr_parse_all("reqs", "", 0, &l, &d), ERR_INVALID);
	expect_diag(&d, 0, 0, "the input is empty");
	diag_free(&d);
}

static void
test_oversized_block(void **state)
{
	size_t n = 4 * ((CSR_DER_MAX + 3) / 3) + 64, i, o;
	char *text = malloc(n + n / 64 + 128);
	struct csr_list l;
	diag_t d;

	(void)state;
	assert_non_null(text);
	o = (size_t)sprintf(text, "-----BEGIN CERTIFICATE REQUEST-----\n");
	for (i = 0; i < n; i++) {
		text[o++] = 'A';
		if (i % 64 == 63)
			text[o++] = '\n';
	}
	o += (size_t)sprintf(text + o, "\n-----END CERTIFICATE REQUEST-----\n");
	diag_init(&d);
	assert_int_equal(csr_parse_all("reqs", text, o, &l, &d), ERR_INVALID);
	expect_diag(&d, 1, 1, "larger than 32768 bytes of DER");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
	free(text);
}

static void
test_subject_and_san_checks(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char cn[80];
	struct csr_list l;
	diag_t d;

	(void)state;
	memset(cn, 'a', 65);
	cn[65] = '\0';
	req_pem(bio, ecp256, cn, NULL);				/* 1 */
	req_pem(bio, ecp256, "evil\x1b[2J", NULL);		/* 2 */
	req_pem(bio, ecp256, "x\xe2\x80\xaey", NULL);		/* 3 */
	req_pem(bio, ecp256, "ok", "otherName:1.2.3.4;UTF8:x");	/* 4 */
	assert_int_equal(parse_bio(bio, &l, &d), ERR_INVALID);
	expect_diag(&d, 1, 1, "subject attribute CN is 65 characters long; "
	    "at most 64 are allowed");
	expect_diag(&d, 9, 2, "subject attribute CN contains the control or "
	    "invisible character U+001B at character 5");
	expect_diag(&d, 16, 3, "U+202E at character 2");
	expect_diag(&d, 23, 4, "subjectAltName entry 1 is an otherName; only "
	    "DNS, email, URI and IP names are accepted");
	diag_free(&d);
	BIO_free(bio);
}

/* A request made by the openssl command line, when the tool is there. */
static void
test_openssl_cli(void **state)
{
	char dir[256], cmd[1024], path[300];
	struct csr_list l;
	unsigned char *data;
	FILE *f;
	size_t len;
	diag_t d;

	(void)state;
	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skip: openssl command not installed\n");
		return;
	}
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "csr"), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && openssl req -new -newkey "
	    "rsa:2048 -nodes -keyout k.pem -subj '/C=DE/O=Cli/CN=cli-modem' "
	    "-addext 'subjectAltName=DNS:cli.example,IP:192.0.2.7' "
	    "-out r.pem 2>/dev/null && openssl req -in r.pem -outform DER "
	    "-out r.der 2>/dev/null", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/r.pem", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	data = malloc(65536);
	assert_non_null(data);
	len = fread(data, 1, 65536, f);
	fclose(f);
	diag_init(&d);
	if (csr_parse_all("reqs", data, len, &l, &d) != 0) {
		testutil_print_diag(&d, "  diag");
		fail();
	}
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].key_desc, "rsa-2048");
	assert_int_equal(l.items[0].nsans, 2);
	assert_string_equal(l.items[0].sans[1].value, "192.0.2.7");
	csr_list_free(&l);
	snprintf(path, sizeof(path), "%s/r.der", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	len = fread(data, 1, 65536, f);
	fclose(f);
	assert_int_equal(csr_parse_all("reqs", data, len, &l, &d), 0);
	assert_int_equal(l.n, 1);
	csr_list_free(&l);
	diag_free(&d);
	free(data);
	assert_int_equal(testutil_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_three),
		cmocka_unit_test(test_der),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_huge_lengths),
		cmocka_unit_test(test_pem_problems),
		cmocka_unit_test(test_oversized_block),
		cmocka_unit_test(test_subject_and_san_checks),
		cmocka_unit_test(test_openssl_cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
