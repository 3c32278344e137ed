/* test_crl.c: CRL specs, building, signing, linting. */
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
#include "pki/crlbuild.h"
#include "pki/lint.h"
#include "pki/pkiutil.h"
#include "testutil.h"

static EVP_PKEY *ca_key;
static X509 *ca;

static int
setup(void **state)
{
	struct certspec s;

	(void)state;
	ca_key = pkitest_ec("P-256");
	pkitest_spec(&s, "CRL CA", T2026, T2060, 1, -1);
	ca = pkitest_issue(&s, ca_key, NULL, ca_key, 1);
	certspec_free(&s);
	return ca != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return 0;
}

static const char crl_yaml[] =
    "crl:\n"
    "  this_update: 2026-02-01T00:00:00Z\n"
    "  next_update: 2026-03-01T00:00:00Z\n"
    "  number: 42\n"
    "  distribution_point: http://crl.example.com/ca.crl\n"
    "  entries:\n"
    "    - serial: 7f01\n"
    "      revoked_at: 2026-01-15T10:00:00Z\n"
    "      reason: keyCompromise\n"
    "      invalidity_date: 2026-01-10T00:00:00Z\n"
    "    - serial: \"05\"\n"
    "      revoked_at: 2026-01-16T10:00:00Z\n"
    "    - serial: 1\n"
    "      revoked_at: 2026-01-17T10:00:00Z\n"
    "      reason: cessationOfOperation\n";

static int
parse_crl(const char *yaml, struct crlspec *spec, diag_t *d,
    struct yamldoc **doc)
{
	const struct yamldoc_node *m;
	err_t e;
	int rc;

	diag_init(d);
	assert_int_equal(yamldoc_parse("crl.yaml", yaml, strlen(yaml),
	    &yamldoc_default_limits, doc, &e), 0);
	yamldoc_set_diag(*doc, d);
	assert_int_equal(yamldoc_get_map(*doc, (*doc)->root, "crl", 1, &m), 1);
	rc = crlspec_parse(*doc, m, spec);
	if (rc == 0)
		assert_int_equal(yamldoc_check_unknown(*doc, m), 0);
	return rc;
}

static void
write_crl_and_verify(X509_CRL *crl, int expect_ok)
{
	char dir[256], cmd[1024];
	FILE *f;

	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "crl"), 0);
	snprintf(cmd, sizeof(cmd), "%s/ca.pem", dir);
	f = fopen(cmd, "w");
	PEM_write_X509(f, ca);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/crl.pem", dir);
	f = fopen(cmd, "w");
	PEM_write_X509_CRL(f, crl);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl crl -in %s/crl.pem -CAfile "
	    "%s/ca.pem -noout -verify 2>&1 | grep -q 'verify OK'", dir, dir);
	assert_int_equal(system(cmd) == 0, expect_ok);
	assert_int_equal(testutil_rmtree(dir), 0);
}

static void
test_parse_build_sign(void **state)
{
	struct yamldoc *doc;
	struct crlspec spec;
	X509_CRL *crl = NULL, *back = NULL;
	STACK_OF(X509_REVOKED) *rev;
	ASN1_INTEGER *num;
	ASN1_ENUMERATED *reason;
	diag_t d, lint;
	buf_t b;
	err_t e;
	int crit;

	(void)state;
	assert_int_equal(parse_crl(crl_yaml, &spec, &d, &doc), 0);
	assert_int_equal(spec.n_entries, 3);
	assert_int_equal(spec.number, 42);
	assert_int_equal(spec.entries[0].reason, CRLDER_KEY_COMPROMISE);
	assert_true(spec.entries[0].has_invalidity_date);
	assert_int_equal(spec.entries[1].reason, CRLDER_UNSPECIFIED);
	assert_int_equal(spec.entries[2].serial_len, 1);
	assert_int_equal(crlbuild_new(&spec, ca, &crl, &e), 0);
	diag_init(&lint);
	assert_int_equal(pkisign_crl(crl, ca_key, EVP_sha256(), ca, &lint,
	    &e), 0);
	assert_int_equal(lint.n, 0);
	write_crl_and_verify(crl, 1);

	/* Parse it back and check the order and the extensions. */
	buf_init(&b, PKI_CERT_FILE_MAX);
	assert_int_equal(pki_crl_der(crl, &b, &e), 0);
	assert_int_equal(pki_parse_crl(b.data, b.len, &back, &e), 0);
	buf_free(&b);
	assert_int_equal(X509_CRL_get_version(back), X509_CRL_VERSION_2);
	rev = X509_CRL_get_REVOKED(back);
	assert_int_equal(sk_X509_REVOKED_num(rev), 3);
	assert_int_equal(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(
	    sk_X509_REVOKED_value(rev, 0))), 1);
	assert_int_equal(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(
	    sk_X509_REVOKED_value(rev, 1))), 5);
	assert_int_equal(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(
	    sk_X509_REVOKED_value(rev, 2))), 0x7f01);
	/* Unspecified: no reason extension at all (RFC 5280 5.3.1). */
	assert_int_equal(X509_REVOKED_get_ext_count(sk_X509_REVOKED_value(rev,
	    1)), 0);
	reason = X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(rev, 2),
	    NID_crl_reason, &crit, NULL);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
	ASN1_ENUMERATED_free(reason);
	assert_true(X509_REVOKED_get_ext_by_NID(sk_X509_REVOKED_value(rev, 2),
	    NID_invalidity_date, -1) >= 0);
	num = X509_CRL_get_ext_d2i(back, NID_crl_number, &crit, NULL);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	assert_int_equal(crit, 0);
	ASN1_INTEGER_free(num);
	assert_true(X509_CRL_get_ext_by_NID(back,
	    NID_issuing_distribution_point, -1) >= 0);
	assert_int_equal(X509_CRL_verify(back, ca_key), 1);
	diag_init(&lint);
	assert_int_equal(lint_crl(back, ca, &lint), 0);
	X509_CRL_free(back);
	X509_CRL_free(crl);
	crlspec_free(&spec);
	yamldoc_free(doc);
	diag_free(&d);
	diag_free(&lint);
}

static void
test_empty_crl(void **state)
{
	struct crlspec spec;
	X509_CRL *crl = NULL;
	err_t e;

	(void)state;
	memset(&spec, 0, sizeof(spec));
	spec.this_update = T2026;
	spec.next_update = T2026 + 7 * 86400;
	spec.number = 1;
	assert_int_equal(crlbuild_new(&spec, ca, &crl, &e), 0);
	assert_int_equal(pkisign_crl(crl, ca_key, EVP_sha256(), ca, NULL, &e),
	    0);
	assert_null(X509_CRL_get_REVOKED(crl));
	write_crl_and_verify(crl, 1);
	X509_CRL_free(crl);
}

static void
test_build_refuses(void **state)
{
	struct crlspec_entry ent[2];
	struct crlspec spec;
	X509_CRL *crl = NULL;
	EVP_PKEY *other = pkitest_ec("P-256");
	err_t e;

	(void)state;
	memset(&spec, 0, sizeof(spec));
	memset(ent, 0, sizeof(ent));
	spec.this_update = T2026;
	spec.next_update = T2026 + 86400;
	ent[0].serial[0] = 0x05;
	ent[0].serial_len = 1;
	ent[1].serial[1] = 0x05;
	ent[1].serial_len = 2;	/* 00 05: the same number */
	ent[0].revoked_at = ent[1].revoked_at = T2026;
	spec.entries = ent;
	spec.n_entries = 2;
	assert_int_equal(crlbuild_new(&spec, ca, &crl, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "listed twice"));
	spec.n_entries = 0;
	spec.next_update = spec.this_update;
	assert_int_equal(crlbuild_new(&spec, ca, &crl, &e), ERR_INVALID);
	/* A CRL signed with a key that is not the issuer's. */
	spec.next_update = T2026 + 86400;
	assert_int_equal(crlbuild_new(&spec, ca, &crl, &e), 0);
	assert_int_equal(pkisign_crl(crl, other, EVP_sha256(), ca, NULL, &e),
	    ERR_CRYPTO);
	X509_CRL_free(crl);
	EVP_PKEY_free(other);
}

static X509_REVOKED *
revoked(long serial)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, T2026);

	ASN1_INTEGER_set(sn, serial);
	X509_REVOKED_set_serialNumber(r, sn);
	X509_REVOKED_set_revocationDate(r, t);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	return r;
}

/* Lints crl after a real signature; expects exactly one finding `rule`. */
static void
expect_crl_rule(X509_CRL *crl, const char *rule, const char *frag)
{
	diag_t d;
	int n;

	assert_true(X509_CRL_sign(crl, ca_key, EVP_sha256()) > 0);
	diag_init(&d);
	n = lint_crl(crl, ca, &d);
	if (n != 1 || strcmp(d.items[0].field, rule) != 0 ||
	    (frag != NULL && strstr(d.items[0].msg, frag) == NULL)) {
		testutil_print_diag(&d, "finding");
		fail_msg("expected exactly %s, got %d", rule, n);
	}
	diag_free(&d);
	X509_CRL_free(crl);
}

static X509_CRL *
base_crl(void)
{
	struct crlspec spec;
	X509_CRL *crl = NULL;
	err_t e;

	memset(&spec, 0, sizeof(spec));
	spec.this_update = T2026;
	spec.next_update = T2026 + 86400;
	spec.number = 7;
	assert_int_equal(crlbuild_new(&spec, ca, &crl, &e), 0);
	return crl;
}

static void
test_lint_crl_rules(void **state)
{
	X509_CRL *crl;
	ASN1_TIME *t;
	int idx;

	(void)state;
	crl = base_crl();
	X509_CRL_add0_revoked(crl, revoked(9));
	X509_CRL_add0_revoked(crl, revoked(3));
	expect_crl_rule(crl, "crl-entry-order", "entry 2");
	crl = base_crl();
	X509_CRL_add0_revoked(crl, revoked(3));
	X509_CRL_add0_revoked(crl, revoked(3));
	expect_crl_rule(crl, "crl-entry-duplicate", "entry 2");
	crl = base_crl();
	X509_CRL_set_version(crl, X509_CRL_VERSION_1);
	expect_crl_rule(crl, "crl-version", NULL);
	crl = base_crl();
	idx = X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1);
	X509_EXTENSION_free(X509_CRL_delete_ext(crl, idx));
	expect_crl_rule(crl, "crl-number", "required");
	crl = base_crl();
	t = ASN1_TIME_set(NULL, T2026 - 10);
	X509_CRL_set1_nextUpdate(crl, t);
	ASN1_TIME_free(t);
	expect_crl_rule(crl, "crl-validity-order", "is not before");
	crl = base_crl();
	idx = X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1);
	X509_EXTENSION_free(X509_CRL_delete_ext(crl, idx));
	expect_crl_rule(crl, "crl-aki", NULL);
	crl = base_crl();
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	{
		X509_NAME *n = X509_NAME_new();

		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
		    (const unsigned char *)"someone else", -1, -1, 0);
		X509_CRL_set_issuer_name(crl, n);
		X509_NAME_free(n);
	}
	expect_crl_rule(crl, "crl-issuer-name", NULL);
}

static void
test_issuer_without_crlsign(void **state)
{
	struct certspec s;
	struct crlspec spec;
	X509_CRL *crl = NULL;
	X509 *sub;
	diag_t d;
	err_t e;

	(void)state;
	pkitest_spec(&s, "No CRL CA", T2026, T2040, 1, -1);
	s.ext.key_usage = CERTSPEC_KU_KEY_CERT_SIGN;
	sub = pkitest_issue(&s, ca_key, NULL, ca_key, 2);
	certspec_free(&s);
	assert_non_null(sub);
	memset(&spec, 0, sizeof(spec));
	spec.this_update = T2026;
	spec.next_update = T2026 + 86400;
	assert_int_equal(crlbuild_new(&spec, sub, &crl, &e), 0);
	diag_init(&d);
	assert_int_equal(pkisign_crl(crl, ca_key, EVP_sha256(), sub, &d, &e),
	    ERR_POLICY);
	assert_non_null(strstr(e.msg, "cRLSign"));
	diag_free(&d);
	X509_CRL_free(crl);
	X509_free(sub);
}

static void
expect_parse_error(const char *yaml, unsigned long line, const char *frag)
{
	struct yamldoc *doc;
	struct crlspec spec;
	diag_t d;
	size_t i;

	assert_int_equal(parse_crl(yaml, &spec, &d, &doc), ERR_INVALID);
	for (i = 0; i < d.n; i++)
		if (d.items[i].line == line && strstr(d.items[i].msg, frag))
			break;
	if (i == d.n) {
		testutil_print_diag(&d, "got");
		fail_msg("no '%s' at line %lu", frag, line);
	}
	yamldoc_free(doc);
	diag_free(&d);
}

#define CRL_HEAD "crl:\n  this_update: 2026-02-01T00:00:00Z\n" \
    "  next_update: 2026-03-01T00:00:00Z\n  number: 1\n"

static void
test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error(CRL_HEAD "  entries:\n    - serial: xyz\n"
	    "      revoked_at: 2026-01-01T00:00:00Z\n", 6, "hex");
	expect_parse_error(CRL_HEAD "  entries:\n    - serial: \"00\"\n"
	    "      revoked_at: 2026-01-01T00:00:00Z\n", 6, "not zero");
	expect_parse_error(CRL_HEAD "  entries:\n    - serial: 0a\n"
	    "      revoked_at: 2026-01-01T00:00:00Z\n"
	    "      reason: removeFromCRL\n", 8, "");
	expect_parse_error(CRL_HEAD "  entries:\n    - serial: 0a\n"
	    "      revoked: 2026-01-01T00:00:00Z\n", 6, "revoked_at");
	expect_parse_error("crl:\n  this_update: 2026-02-01T00:00:00Z\n"
	    "  next_update: 2026-01-01T00:00:00Z\n  number: 1\n", 3,
	    "later than this_update");
	expect_parse_error(CRL_HEAD "  entries:\n    - serial: "
	    "8000000000000000000000000000000000000000\n"
	    "      revoked_at: 2026-01-01T00:00:00Z\n", 6, "hex");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_build_sign),
		cmocka_unit_test(test_empty_crl),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_lint_crl_rules),
		cmocka_unit_test(test_issuer_without_crlsign),
		cmocka_unit_test(test_parse_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
