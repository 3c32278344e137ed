/* test_certbuild.c: building and signing a root, intermediate and leaf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkitest.h"
#include "pki/oids.h"
#include "pki/pkiutil.h"
#include "testutil.h"

struct chain {
	EVP_PKEY *root_key, *int_key, *leaf_key;
	X509 *root, *inter, *leaf;
};

static int
chain_setup(void **state)
{
	struct chain *c = calloc(1, sizeof(*c));
	struct certspec s;

	if (c == NULL)
		return -1;
	c->root_key = pkitest_rsa();
	c->int_key = pkitest_ec("P-384");
	c->leaf_key = pkitest_ec("P-256");
	pkitest_spec(&s, "Test Root CA", T2026, T2060, 1, 1);
	c->root = pkitest_issue(&s, c->root_key, NULL, c->root_key, 1);
	certspec_free(&s);
	pkitest_spec(&s, "Test Issuing CA", T2026, T2050, 1, 0);
	c->inter = pkitest_issue(&s, c->int_key, c->root, c->root_key, 2);
	certspec_free(&s);
	pkitest_spec(&s, "device-0001", T2026, T2030, 0, -1);
	s.ext.eku.v = calloc(1, sizeof(char *));
	s.ext.eku.v[0] = strdup("1.3.6.1.5.5.7.3.2");
	s.ext.eku.n = 1;
	s.ext.san.v = calloc(1, sizeof(*s.ext.san.v));
	s.ext.san.v[0].type = CERTSPEC_GN_DNS;
	s.ext.san.v[0].value = strdup("device-0001.example.com");
	s.ext.san.n = 1;
	c->leaf = pkitest_issue(&s, c->leaf_key, c->inter, c->int_key, 3);
	certspec_free(&s);
	*state = c;
	return c->root && c->inter && c->leaf ? 0 : -1;
}

static int
chain_teardown(void **state)
{
	struct chain *c = *state;

	X509_free(c->root);
	X509_free(c->inter);
	X509_free(c->leaf);
	EVP_PKEY_free(c->root_key);
	EVP_PKEY_free(c->int_key);
	EVP_PKEY_free(c->leaf_key);
	free(c);
	return 0;
}

static void
test_serial(void **state)
{
	unsigned char rnd[16], out[16];
	size_t len = 0;
	int i;

	(void)state;
	memset(rnd, 0xff, sizeof(rnd));
	assert_int_equal(certbuild_serial(rnd, sizeof(rnd), out, &len), 0);
	assert_int_equal(len, 16);
	assert_int_equal(out[0], 0x7f);
	memset(rnd, 0, sizeof(rnd));
	assert_int_equal(certbuild_serial(rnd, sizeof(rnd), out, &len), 0);
	assert_int_equal(out[0], 0x40);
	for (i = 1; i < 16; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(certbuild_serial(rnd, 15, out, &len), ERR_INVALID);
}

static void
test_chain_verifies(void **state)
{
	struct chain *c = *state;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	assert_non_null(store);
	assert_int_equal(X509_STORE_add_cert(store, c->root), 1);
	sk_X509_push(untrusted, c->inter);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, c->leaf, untrusted),
	    1);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
	    T2026 + 86400);
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	/* The intermediate's P-384 key signs with SHA-384 by default. */
	assert_int_equal(X509_get_signature_nid(c->leaf),
	    NID_ecdsa_with_SHA384);
	assert_int_equal(X509_get_signature_nid(c->inter),
	    NID_sha256WithRSAEncryption);
}

static void
test_contents(void **state)
{
	struct chain *c = *state;
	const ASN1_OCTET_STRING *ski, *aki;
	const ASN1_INTEGER *sn;
	X509_NAME_ENTRY *ne;

	ski = X509_get0_subject_key_id(c->inter);
	aki = X509_get0_authority_key_id(c->leaf);
	assert_non_null(ski);
	assert_non_null(aki);
	assert_int_equal(ASN1_OCTET_STRING_cmp(ski, aki), 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(
	    c->root), X509_get0_authority_key_id(c->root)), 0);
	assert_int_equal(X509_get_version(c->leaf), X509_VERSION_3);
	sn = X509_get0_serialNumber(c->leaf);
	assert_int_equal(ASN1_STRING_length(sn), 16);
	ne = X509_NAME_get_entry(X509_get_subject_name(c->leaf), 1);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(ne)),
	    V_ASN1_UTF8STRING);
	assert_true(X509_check_ca(c->root) >= 1);
	assert_int_equal(X509_check_ca(c->leaf), 0);
	assert_int_equal(X509_get_pathlen(c->inter), 0);
	assert_int_equal(X509_get_key_usage(c->inter),
	    KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(c->leaf), XKU_SSL_CLIENT);
	assert_int_equal(X509_check_host(c->leaf, "device-0001.example.com",
	    0, 0, NULL), 1);
}

static void
test_time_encodings(void **state)
{
	struct chain *c = *state;

	/* 2026 is UTCTime; 2060 and 2050 itself are GeneralizedTime. */
	assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(c->root)),
	    V_ASN1_UTCTIME);
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(c->root)),
	    V_ASN1_GENERALIZEDTIME);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	    X509_get0_notAfter(c->root)), "20600101000000Z");
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(c->inter)),
	    V_ASN1_GENERALIZEDTIME);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	    X509_get0_notAfter(c->inter)), "20500101000000Z");
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	    X509_get0_notBefore(c->inter)), "260101000000Z");
}

static void
test_time_limits(void **state)
{
	ASN1_TIME *t = NULL;
	err_t e;

	(void)state;
	assert_int_equal(certbuild_time((time_t)2524607999, &t, &e), 0);
	assert_int_equal(ASN1_STRING_type(t), V_ASN1_UTCTIME);
	ASN1_TIME_free(t);
	assert_int_equal(certbuild_time((time_t)-631152001, &t, &e),
	    ERR_INVALID);
	assert_null(t);
	assert_non_null(strstr(e.msg, "1950"));
}

static void
write_pem(const char *dir, const char *name, X509 *x)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void
test_external_verifiers(void **state)
{
	struct chain *c = *state;
	char dir[256];

	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "certbuild"), 0);
	write_pem(dir, "root.pem", c->root);
	write_pem(dir, "int.pem", c->inter);
	write_pem(dir, "leaf.pem", c->leaf);
	assert_int_equal(run("openssl verify -x509_strict -attime 1767312000 "
	    "-CAfile %s/root.pem -untrusted %s/int.pem %s/leaf.pem "
	    ">/dev/null", dir, dir, dir), 0);
	/* A leaf verified against the wrong anchor must fail. */
	assert_int_not_equal(run("openssl verify -CAfile %s/int.pem "
	    "%s/root.pem >/dev/null 2>&1", dir, dir), 0);
	if (system("command -v certtool >/dev/null 2>&1") == 0) {
		assert_int_equal(run("cat %s/leaf.pem %s/int.pem %s/root.pem "
		    ">%s/chain.pem && certtool --verify-chain "
		    "--infile %s/chain.pem >/dev/null 2>&1", dir, dir, dir, dir,
		    dir), 0);
	} else {
		fprintf(stderr, "skipping certtool: not installed\n");
	}
	(void)testutil_rmtree(dir);
}

static void
test_rejects(void **state)
{
	struct chain *c = *state;
	unsigned char serial[21];
	struct certspec s;
	X509 *x = NULL;
	err_t e;

	pkitest_spec(&s, "x", T2026, T2030, 0, -1);
	memset(serial, 0, sizeof(serial));
	assert_int_equal(certbuild_new(&s, c->leaf_key, c->inter, serial, 16,
	    &x, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "positive"));
	memset(serial, 0x80, 20);
	assert_int_equal(certbuild_new(&s, c->leaf_key, c->inter, serial, 20,
	    &x, &e), ERR_INVALID);
	assert_null(x);
	memset(serial, 0x7f, 20);
	assert_int_equal(certbuild_new(&s, c->leaf_key, c->inter, serial, 20,
	    &x, &e), 0);
	X509_free(x);
	x = NULL;
	s.not_after = s.not_before;
	assert_int_equal(certbuild_new(&s, c->leaf_key, c->inter, serial, 8,
	    &x, &e), ERR_INVALID);
	certspec_free(&s);
}

static void
test_all_extensions(void **state)
{
	struct chain *c = *state;
	struct certspec s;
	X509 *x;
	NAME_CONSTRAINTS *nc;
	CERTIFICATEPOLICIES *cp;
	AUTHORITY_INFO_ACCESS *aia;
	CRL_DIST_POINTS *dps;
	int crit = 0;

	pkitest_spec(&s, "Constrained CA", T2026, T2040, 1, 0);
	s.ext.has_name_constraints = 1;
	s.ext.nc_critical = 1;
	s.ext.nc_permitted.v = calloc(2, sizeof(struct certspec_gn));
	s.ext.nc_permitted.v[0].type = CERTSPEC_GN_DNS;
	s.ext.nc_permitted.v[0].value = strdup("example.com");
	s.ext.nc_permitted.v[1].type = CERTSPEC_GN_IP;
	memcpy(s.ext.nc_permitted.v[1].ip, "\x0a\0\0\0\xff\0\0\0", 8);
	s.ext.nc_permitted.v[1].ip_len = 8;
	s.ext.nc_permitted.n = 2;
	s.ext.crl_dp.v = calloc(1, sizeof(char *));
	s.ext.crl_dp.v[0] = strdup("http://crl.example.com/root.crl");
	s.ext.crl_dp.n = 1;
	s.ext.aia_ocsp.v = calloc(1, sizeof(char *));
	s.ext.aia_ocsp.v[0] = strdup("http://ocsp.example.com");
	s.ext.aia_ocsp.n = 1;
	s.ext.policies = calloc(1, sizeof(*s.ext.policies));
	s.ext.policies[0].oid = strdup("1.3.6.1.4.1.99999.1");
	s.ext.policies[0].cps = strdup("https://example.com/cps");
	s.ext.n_policies = 1;
	x = pkitest_issue(&s, c->int_key, c->root, c->root_key, 9);
	certspec_free(&s);
	assert_non_null(x);
	nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	assert_non_null(nc);
	assert_int_equal(crit, 1);
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 2);
	NAME_CONSTRAINTS_free(nc);
	cp = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	assert_non_null(cp);
	assert_int_equal(crit, 0);
	CERTIFICATEPOLICIES_free(cp);
	aia = X509_get_ext_d2i(x, NID_info_access, &crit, NULL);
	assert_non_null(aia);
	AUTHORITY_INFO_ACCESS_free(aia);
	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit, NULL);
	assert_non_null(dps);
	CRL_DIST_POINTS_free(dps);
	X509_free(x);
}

static void
test_pkiutil(void **state)
{
	struct chain *c = *state;
	char hex[65], line[512];
	buf_t b;
	X509 *back = NULL;
	err_t e;

	assert_int_equal(pki_cert_sha256_hex(c->leaf, hex), 0);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(pki_spki_sha256_hex(c->leaf_key, hex), 0);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(pki_cert_summary(c->inter, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "CN=Test Issuing CA"));
	assert_non_null(strstr(line, "key=EC-P-384"));
	assert_non_null(strstr(line, "notAfter=2050-01-01T00:00:00Z"));
	assert_int_equal(pki_cert_summary(c->inter, line, 20), ERR_LIMIT);
	buf_init(&b, 64 * 1024);
	assert_int_equal(pki_cert_pem(c->leaf, &b, &e), 0);
	assert_int_equal(pki_parse_cert(b.data, b.len, &back, &e), 0);
	assert_int_equal(X509_cmp(back, c->leaf), 0);
	X509_free(back);
	buf_reset(&b);
	assert_int_equal(pki_cert_der(c->leaf, &b, &e), 0);
	assert_int_equal(pki_parse_cert(b.data, b.len, &back, &e), 0);
	X509_free(back);
	assert_int_equal(buf_put_u8(&b, 0), 0);
	assert_int_equal(pki_parse_cert(b.data, b.len, &back, &e),
	    ERR_INVALID);
	assert_non_null(strstr(e.msg, "follow"));
	assert_int_equal(pki_parse_cert("junk", 4, &back, &e), ERR_INVALID);
	buf_free(&b);
	buf_init(&b, 100);
	assert_int_not_equal(pki_cert_pem(c->leaf, &b, &e), 0);
	buf_free(&b);
}

static void
test_load_file(void **state)
{
	struct chain *c = *state;
	char dir[256], path[512];
	X509 *x = NULL;
	err_t e;

	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "certload"), 0);
	write_pem(dir, "leaf.pem", c->leaf);
	snprintf(path, sizeof(path), "%s/leaf.pem", dir);
	assert_int_equal(pki_load_cert_file(path, &x, &e), 0);
	assert_int_equal(X509_cmp(x, c->leaf), 0);
	X509_free(x);
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	assert_int_not_equal(pki_load_cert_file(path, &x, &e), 0);
	assert_null(x);
	(void)testutil_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_time_limits),
		cmocka_unit_test(test_chain_verifies),
		cmocka_unit_test(test_contents),
		cmocka_unit_test(test_time_encodings),
		cmocka_unit_test(test_external_verifiers),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_all_extensions),
		cmocka_unit_test(test_pkiutil),
		cmocka_unit_test(test_load_file),
	};

	oids_init();
	return cmocka_run_group_tests(tests, chain_setup, chain_teardown);
}
