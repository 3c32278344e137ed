/* test_certspec.c: strict parsing of certificate specifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>

#include "pki/certspec.h"
#include "pki/oids.h"

static const char full_yaml[] =
    "certificate:\n"
    "  subject:\n"
    "    - C: US\n"
    "    - O: Example Cable\n"
    "    - OU: \"PKI \xc3\xa9quipe\"\n"
    "    - CN: Example Root CA\n"
    "  validity:\n"
    "    not_before: 2026-01-01T00:00:00Z\n"
    "    not_after: 2051-01-01T00:00:00Z\n"
    "  signature_digest: sha384\n"
    "  key_usage: [keyCertSign, cRLSign, digitalSignature]\n"
    "  extended_key_usage: [serverAuth, airlock-officer, 1.2.3.4]\n"
    "  basic_constraints: {ca: true, path_len: 1}\n"
    "  subject_key_identifier: true\n"
    "  authority_key_identifier: false\n"
    "  crl_distribution_points: [\"http://crl.example.com/root.crl\"]\n"
    "  authority_info_access:\n"
    "    ca_issuers: [\"http://pki.example.com/root.cer\"]\n"
    "    ocsp: [\"http://ocsp.example.com\"]\n"
    "  certificate_policies:\n"
    "    - oid: 1.3.6.1.4.1.99999.1\n"
    "      cps: https://example.com/cps\n"
    "    - oid: 2.5.29.32.0\n"
    "  name_constraints:\n"
    "    critical: true\n"
    "    permitted:\n"
    "      - dns: example.com\n"
    "      - email: .example.com\n"
    "      - uri: .example.com\n"
    "      - ip: 10.0.0.0/8\n"
    "      - ip: \"2001:db8::/32\"\n"
    "      - dirname:\n"
    "          - C: US\n"
    "          - O: Example Cable\n"
    "    excluded:\n"
    "      - dns: bad.example.com\n"
    "  subject_alt_names:\n"
    "    - dns: \"*.example.com\"\n"
    "    - email: pki@example.com\n"
    "    - uri: https://example.com/\n"
    "    - ip: 192.0.2.1\n"
    "    - ip: \"2001:db8::1\"\n";

struct parsed {
	struct yamldoc *doc;
	diag_t diag;
	struct certspec spec;
	int rc;
};

static void
parse(struct parsed *p, const char *yaml)
{
	const struct yamldoc_node *m = NULL;
	err_t e;

	memset(p, 0, sizeof(*p));
	diag_init(&p->diag);
	assert_int_equal(yamldoc_parse("ceremony.yaml", yaml, strlen(yaml),
	    &yamldoc_default_limits, &p->doc, &e), 0);
	yamldoc_set_diag(p->doc, &p->diag);
	assert_int_equal(yamldoc_get_map(p->doc, p->doc->root, "certificate",
	    1, &m), 1);
	p->rc = certspec_parse(p->doc, m, &p->spec);
	if (p->rc == 0)
		assert_int_equal(yamldoc_check_unknown(p->doc, m), 0);
}

static void
done(struct parsed *p)
{
	certspec_free(&p->spec);
	yamldoc_free(p->doc);
	diag_free(&p->diag);
}

/* Asserts that some message mentions all of the given fragments. */
static void
expect_msg(struct parsed *p, unsigned long line, const char *frag1,
    const char *frag2)
{
	char buf[2048];
	size_t i;

	assert_int_equal(p->rc, ERR_INVALID);
	for (i = 0; i < p->diag.n; i++) {
		diag_format(&p->diag, i, buf, sizeof(buf));
		if (p->diag.items[i].line == line &&
		    strstr(buf, "ceremony.yaml") != NULL &&
		    strstr(buf, frag1) != NULL &&
		    (frag2 == NULL || strstr(buf, frag2) != NULL))
			return;
	}
	for (i = 0; i < p->diag.n; i++) {
		diag_format(&p->diag, i, buf, sizeof(buf));
		fprintf(stderr, "got: %s\n", buf);
	}
	fail_msg("no message at line %lu with '%s'", line, frag1);
}

/* The usual negative case: yaml is refused with one such message. */
static void
refused(const char *yaml, unsigned long line, const char *frag1,
    const char *frag2)
{
	struct parsed p;

	parse(&p, yaml);
	expect_msg(&p, line, frag1, frag2);
	done(&p);
}

static void
test_full(void **state)
{
	struct parsed p;
	const struct certspec_ext *x;

	(void)state;
	parse(&p, full_yaml);
	if (p.rc != 0) {
		char buf[1024];

		diag_format(&p.diag, 0, buf, sizeof(buf));
		fail_msg("%s", buf);
	}
	x = &p.spec.ext;
	assert_int_equal(p.spec.subject.n, 4);
	assert_int_equal(p.spec.subject.attrs[0].nid, NID_countryName);
	assert_string_equal(p.spec.subject.attrs[3].value, "Example Root CA");
	assert_int_equal(p.spec.not_before, 1767225600);
	assert_int_equal(p.spec.digest, CERTSPEC_MD_SHA384);
	assert_int_equal(x->key_usage, CERTSPEC_KU_KEY_CERT_SIGN |
	    CERTSPEC_KU_CRL_SIGN | CERTSPEC_KU_DIGITAL_SIGNATURE);
	assert_int_equal(x->eku.n, 3);
	assert_string_equal(x->eku.v[0], "1.3.6.1.5.5.7.3.1");
	assert_string_equal(x->eku.v[1], oids_dotted(OIDS_ROLE_OFFICER));
	assert_true(x->has_basic_constraints && x->bc_ca);
	assert_int_equal(x->bc_path_len, 1);
	assert_true(x->bc_critical);
	assert_true(x->ski);
	assert_false(x->aki);
	assert_int_equal(x->crl_dp.n, 1);
	assert_int_equal(x->aia_ca_issuers.n, 1);
	assert_int_equal(x->aia_ocsp.n, 1);
	assert_int_equal(x->n_policies, 2);
	assert_string_equal(x->policies[0].cps, "https://example.com/cps");
	assert_null(x->policies[1].cps);
	assert_int_equal(x->nc_permitted.n, 6);
	assert_int_equal(x->nc_permitted.v[3].ip_len, 8);
	assert_memory_equal(x->nc_permitted.v[3].ip, "\x0a\0\0\0\xff\0\0\0", 8);
	assert_int_equal(x->nc_permitted.v[4].ip_len, 32);
	assert_int_equal(x->nc_permitted.v[5].type, CERTSPEC_GN_DIRNAME);
	assert_int_equal(x->nc_permitted.v[5].dirname.n, 2);
	assert_int_equal(x->nc_excluded.n, 1);
	assert_int_equal(x->san.n, 5);
	assert_int_equal(x->san.v[3].ip_len, 4);
	assert_int_equal(x->san.v[4].ip_len, 16);
	done(&p);
}

#define HEAD "certificate:\n" \
    "  validity: {not_before: 2026-01-01T00:00:00Z, " \
    "not_after: 2030-01-01T00:00:00Z}\n"

static void
test_unknown_attribute(void **state)
{
	(void)state;
	refused(HEAD "  subject:\n    - CN: x\n    - XX: y\n", 5,
	    "unknown name attribute 'XX'", "subject");
}

static void
test_country_length(void **state)
{
	(void)state;
	refused(HEAD "  subject:\n    - C: USA\n", 4, "exactly 2 characters",
	    "subject");
	refused(HEAD "  subject:\n    - C: us\n", 4, "upper-case", NULL);
}

static void
test_long_cn_and_printable(void **state)
{
	char yaml[512];

	(void)state;
	snprintf(yaml, sizeof(yaml), HEAD "  subject:\n    - CN: %065d\n", 0);
	refused(yaml, 4, "1 to 64 characters", NULL);
	refused(HEAD "  subject:\n    - serialNumber: \"a*b\"\n", 4,
	    "PrintableString", NULL);
}

static void
test_bad_key_usage(void **state)
{
	(void)state;
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  key_usage: [digitalSignature, signEverything]\n", 4,
	    "unknown key usage 'signEverything'", "key_usage");
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  key_usage: [cRLSign, cRLSign]\n", 4, "listed twice", NULL);
}

static void
test_bad_eku(void **state)
{
	(void)state;
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  extended_key_usage: [serverauth]\n", 4,
	    "unknown extended key usage 'serverauth'", NULL);
}

static void
test_path_len_negative(void **state)
{
	(void)state;
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  basic_constraints:\n    ca: true\n    path_len: -1\n", 6,
	    "path_len", "range");
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  basic_constraints:\n    ca: false\n    path_len: 0\n", 6,
	    "only allowed when ca is true", NULL);
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  basic_constraints:\n    ca: true\n    pathlen: 0\n", 6,
	    "pathlen", NULL);
}

static void
test_bad_cidr(void **state)
{
	(void)state;
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  name_constraints:\n    permitted:\n      - ip: 10.0.0.1/8\n", 6,
	    "not a valid IP block", "name_constraints");
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  name_constraints:\n    permitted:\n      - ip: 10.0.0.0/33\n",
	    6, "not a valid IP block", NULL);
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  name_constraints:\n    permitted:\n      - ip: 10.0.0.0\n", 6,
	    "not a valid IP block", NULL);
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  subject_alt_names:\n    - ip: 10.0.0.0/8\n", 5,
	    "not a valid IP address", NULL);
}

static void
test_wrong_types(void **state)
{
	(void)state;
	refused(HEAD "  subject: CN=x\n", 3, "sequence", "subject");
	refused(HEAD "  subject: [{CN: x}]\n  key_usage: keyCertSign\n", 4,
	    "key_usage", NULL);
	refused(HEAD "  subject: [{CN: x}]\n  subject_key_identifier: yes\n", 4,
	    "subject_key_identifier", NULL);
	refused(HEAD "  subject: [{CN: x, O: y}]\n", 3, "exactly one key", NULL);
	refused(HEAD "  subject: [{CN: x}]\n  signature_digest: md5\n", 4,
	    "signature_digest", NULL);
}

static void
test_bad_general_names(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, HEAD "  subject: [{CN: x}]\n"
	    "  subject_alt_names:\n    - dns: \"bad name\"\n"
	    "    - email: nobody\n    - uri: no-scheme\n    - x400: y\n"
	    "    - dirname: [{CN: x}]\n");
	expect_msg(&p, 5, "not a valid DNS name", NULL);
	expect_msg(&p, 6, "not a valid e-mail address", NULL);
	expect_msg(&p, 7, "not a valid URI", NULL);
	expect_msg(&p, 8, "unknown general name type 'x400'", NULL);
	expect_msg(&p, 9, "unknown general name type 'dirname'", NULL);
	done(&p);
}

static void
test_validity_and_policies(void **state)
{
	(void)state;
	refused("certificate:\n  subject: [{CN: x}]\n"
	    "  validity: {not_before: 2030-01-01T00:00:00Z, "
	    "not_after: 2026-01-01T00:00:00Z}\n", 3, "later than not_before",
	    NULL);
	refused("certificate:\n  subject: [{CN: x}]\n", 2,
	    "required key 'validity'", NULL);
	refused(HEAD "  subject: [{CN: x}]\n"
	    "  certificate_policies:\n    - oid: anyPolicy\n", 5,
	    "not a dotted OID", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_unknown_attribute),
		cmocka_unit_test(test_country_length),
		cmocka_unit_test(test_long_cn_and_printable),
		cmocka_unit_test(test_bad_key_usage),
		cmocka_unit_test(test_bad_eku),
		cmocka_unit_test(test_path_len_negative),
		cmocka_unit_test(test_bad_cidr),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_general_names),
		cmocka_unit_test(test_validity_and_policies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
