/*
 * test_crlpolicy.c: the CRL policy file (policy/crlpolicy.h): the shipped
 * policies/crl/crl.yaml, lookups by CA name with the default, every
 * refusal with its file and line, and the distribution points of the
 * CRL policy against those of the profiles (crlpolicy_check_profile),
 * the shipped ones included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "policy/crlpolicy.h"
#include "policy/profile.h"
#include "testutil.h"

static void
test_shipped(void **state)
{
	char src[PATH_MAX], path[PATH_MAX + 64];
	const struct crlpolicy_entry *e;
	struct crlpolicy p;
	diag_t d;
	err_t err;

	(void)state;
	assert_int_equal(testutil_srcdir(src, sizeof(src)), 0);
	snprintf(path, sizeof(path), "%s/policies/crl/crl.yaml", src);
	diag_init(&d);
	if (crlpolicy_load(path, &p, &d, &err) != 0)
		fail_msg("%s", err.msg);
	e = crlpolicy_for(&p, "device-ca");
	assert_string_equal(e->ca, "device-ca");
	assert_int_equal(e->validity, 30 * 86400);
	assert_int_equal(e->warning, 7 * 86400);
	assert_false(e->idp);	/* crl.yaml says why */
	assert_string_equal(e->distribution_point,
	    "http://crl.example.com/device-ca.crl");
	e = crlpolicy_for(&p, "root-ca");
	assert_null(e->ca);
	assert_int_equal(e->validity, 7 * 86400);
	assert_int_equal(e->warning, 2 * 86400);
	assert_false(e->idp);
	assert_null(e->distribution_point);
	assert_ptr_equal(crlpolicy_for(&p, NULL), &p.def);
	crlpolicy_free(&p);
	crlpolicy_free(NULL);
	diag_free(&d);
}

static void
test_hours(void **state)
{
	static const char y[] =
	    "default:\n  validity_days: 1\n  warning: 23h\n"
	    "cas:\n  a:\n    validity_days: 2\n    warning: 1d\n"
	    "    distribution_point: http://x/a.crl\n";
	struct crlpolicy p;
	err_t e;

	(void)state;
	assert_int_equal(crlpolicy_parse("crl.yaml", y, strlen(y), &p, NULL,
	    &e), 0);
	assert_int_equal(p.def.warning, 23 * 3600);
	assert_int_equal(p.n, 1);
	assert_int_equal(crlpolicy_for(&p, "a")->warning, 86400);
	assert_false(crlpolicy_for(&p, "a")->idp);
	crlpolicy_free(&p);
}

/* Parsing yaml fails with a message at line containing frag. */
static void
expect_error(const char *yaml, unsigned long line, const char *frag)
{
	struct crlpolicy p;
	diag_t d;
	err_t e;
	size_t i;

	diag_init(&d);
	assert_int_equal(crlpolicy_parse("crl.yaml", yaml, strlen(yaml), &p,
	    &d, &e), ERR_INVALID);
	assert_null(p.v);
	for (i = 0; i < d.n; i++)
		if (d.items[i].line == line && (strstr(d.items[i].msg, frag) ||
		    (d.items[i].field != NULL &&
		    strstr(d.items[i].field, frag))))
			break;
	if (i == d.n) {
		testutil_print_diag(&d, "got");
		fail_msg("no '%s' at line %lu", frag, line);
	}
	/* err carries the first problem, with the file name. */
	assert_contains(e.msg, "crl.yaml");
	diag_free(&d);
}

#define DEF "default:\n  validity_days: 7\n  warning: 2d\n"

static void
test_errors(void **state)
{
	(void)state;
	expect_error("cas: {}\n", 1, "default");
	expect_error(DEF "extra: 1\n", 4, "extra");
	expect_error("default:\n  validity_days: 7\n  warning: 2d\n"
	    "  colour: red\n", 4, "colour");
	expect_error("default:\n  warning: 2d\n", 2, "validity_days");
	expect_error("default:\n  validity_days: 7\n", 2, "warning");
	expect_error("default:\n  validity_days: 0\n  warning: 2h\n", 2,
	    "validity_days");
	expect_error("default:\n  validity_days: 3651\n  warning: 2h\n", 2,
	    "validity_days");
	expect_error("default:\n  validity_days: seven\n  warning: 2h\n", 2,
	    "validity_days");
	expect_error("default:\n  validity_days: 7\n  warning: 2\n", 3,
	    "days or hours");
	expect_error("default:\n  validity_days: 7\n  warning: 0d\n", 3,
	    "days or hours");
	expect_error("default:\n  validity_days: 7\n  warning: 02d\n", 3,
	    "days or hours");
	expect_error("default:\n  validity_days: 7\n  warning: 2w\n", 3,
	    "days or hours");
	expect_error("default:\n  validity_days: 7\n  warning: -1d\n", 3,
	    "days or hours");
	expect_error("default:\n  validity_days: 7\n  warning: 7d\n", 3,
	    "shorter than the validity");
	expect_error("default:\n  validity_days: 1\n  warning: 24h\n", 3,
	    "shorter than the validity");
	expect_error(DEF "  distribution_point: not a uri\n", 4, "URI");
	expect_error(DEF "  issuing_distribution_point: true\n", 4,
	    "needs distribution_point");
	expect_error(DEF "  issuing_distribution_point: yes\n", 4,
	    "issuing_distribution_point");
	expect_error(DEF "cas:\n  - a\n", 5, "cas");
	expect_error(DEF "cas:\n  a: 7\n", 5, "");
	expect_error(DEF "cas:\n  a:\n    validity_days: 7\n    warning: 8d\n",
	    7, "shorter than the validity");
	expect_error(DEF "cas:\n  a:\n    validity_days: 7\n    warning: 1d\n"
	    "  a:\n    validity_days: 7\n    warning: 1d\n", 0,
	    "crl.yaml:8: cas: duplicate key 'a'");
	expect_error("- 1\n", 1, "mapping");
}

static void
test_load_missing(void **state)
{
	struct crlpolicy p;
	err_t e;

	(void)state;
	assert_true(crlpolicy_load("/nonexistent/crl.yaml", &p, NULL, &e) < 0);
	assert_contains(e.msg, "/nonexistent/crl.yaml");
	assert_true(crlpolicy_parse("crl.yaml", "a: [", 4, &p, NULL, &e) < 0);
}

#define URI_A "http://crl.example.com/device-ca.crl"
#define URI_B "http://crl.example.com/tls-ca.crl"

static const char dp_yaml[] =
    "default:\n  validity_days: 7\n  warning: 2d\n"
    "cas:\n"
    "  device-ca:\n    validity_days: 30\n    warning: 7d\n"
    "    distribution_point: " URI_A "\n"
    "    issuing_distribution_point: true\n"
    "  tls-ca:\n    validity_days: 7\n    warning: 2d\n"
    "    distribution_point: " URI_B "\n";

/* A profile of CA issuer whose certificates name the n URIs in dps. */
static void
mk_profile(struct profile *p, char **dps, size_t n, const char *issuer)
{
	memset(p, 0, sizeof(*p));
	p->name = "test-profile";
	p->path = "policies/test-profile.yaml";
	p->issuer = (char *)(uintptr_t)issuer;
	p->enabled = 1;
	p->ext.crl_dp.v = dps;
	p->ext.crl_dp.n = n;
}

/* What the last check_gives said. */
static err_t ce;

/* crlpolicy_check_profile gives want; its message is left in ce. */
static void
check_gives(const struct crlpolicy *pol, const struct profile *p, int want)
{
	err_clear(&ce);
	assert_int_equal(crlpolicy_check_profile(pol, p, &ce), want);
}

static void
test_check_profile(void **state)
{
	char *a[] = { URI_A }, *b[] = { URI_B };
	char *two[] = { "ldap://dir.example.com/cn=crl", URI_A };
	char *upper[] = { "HTTP://crl.example.com/device-ca.crl" };
	struct crlpolicy pol;
	struct profile p;
	err_t e;

	(void)state;
	assert_int_equal(crlpolicy_parse("crl.yaml", dp_yaml,
	    strlen(dp_yaml), &pol, NULL, &e), 0);
	/* Agreeing: the IDP's URI is among the certificates' points. */
	mk_profile(&p, a, 1, "device-ca");
	check_gives(&pol, &p, 0);
	mk_profile(&p, two, 2, "device-ca");
	check_gives(&pol, &p, 0);
	mk_profile(&p, b, 1, "tls-ca");
	check_gives(&pol, &p, 0);
	/* A CA whose policy names no URI: nothing to disagree with. */
	mk_profile(&p, a, 1, "root-ca");
	check_gives(&pol, &p, 0);
	/* No CRL distribution point, and no IDP in the CRL. */
	mk_profile(&p, NULL, 0, "tls-ca");
	check_gives(&pol, &p, 0);
	/* The IDP says A, the certificates B: relying parties refuse. */
	mk_profile(&p, b, 1, "device-ca");
	check_gives(&pol, &p, ERR_POLICY);
	assert_contains(ce.msg, "test-profile");
	assert_contains(ce.msg, "device-ca");
	assert_contains(ce.msg, URI_A);
	assert_contains(ce.msg, URI_B);
	assert_contains(ce.msg, "issuing distribution point");
	assert_contains(ce.msg, "crl.yaml, line 6");
	assert_contains(ce.msg, "policies/test-profile.yaml");
	/* Byte for byte, as relying parties compare them. */
	mk_profile(&p, upper, 1, "device-ca");
	check_gives(&pol, &p, ERR_POLICY);
	assert_contains(ce.msg, "HTTP://crl");
	/* No IDP, but the CRL is published elsewhere than they point. */
	mk_profile(&p, a, 1, "tls-ca");
	check_gives(&pol, &p, ERR_POLICY);
	assert_contains(ce.msg, "test-profile");
	assert_contains(ce.msg, "tls-ca");
	assert_contains(ce.msg, URI_A);
	assert_contains(ce.msg, URI_B);
	assert_contains(ce.msg, "publishes");
	/* Every point the certificates name is shown. */
	mk_profile(&p, two, 2, "tls-ca");
	check_gives(&pol, &p, ERR_POLICY);
	assert_contains(ce.msg, "ldap://dir.example.com/cn=crl, " URI_A);
	/* No point in the certificates, an IDP in the CRL: a warning. */
	mk_profile(&p, NULL, 0, "device-ca");
	check_gives(&pol, &p, 1);
	assert_contains(ce.msg, "test-profile");
	assert_contains(ce.msg, "device-ca");
	assert_contains(ce.msg, URI_A);
	assert_contains(ce.msg, "outside the scope of those CRLs");
	/* A disabled profile issues nothing. */
	mk_profile(&p, b, 1, "device-ca");
	p.enabled = 0;
	check_gives(&pol, &p, 0);
	/* Missing arguments. */
	assert_int_equal(crlpolicy_check_profile(NULL, &p, &e), ERR_INVALID);
	assert_int_equal(crlpolicy_check_profile(&pol, NULL, &e), ERR_INVALID);
	p.issuer = NULL;
	assert_int_equal(crlpolicy_check_profile(&pol, &p, &e), ERR_INVALID);
	crlpolicy_free(&pol);
}

/* The shipped profiles and the shipped CRL policy agree. */
static void
test_check_shipped(void **state)
{
	char src[PATH_MAX], path[PATH_MAX + 64];
	struct profile_set set;
	struct crlpolicy pol;
	size_t i;
	diag_t d;
	err_t e;

	(void)state;
	assert_int_equal(testutil_srcdir(src, sizeof(src)), 0);
	snprintf(path, sizeof(path), "%s/policies/crl/crl.yaml", src);
	diag_init(&d);
	if (crlpolicy_load(path, &pol, &d, &e) != 0)
		fail_msg("%s", e.msg);
	snprintf(path, sizeof(path), "%s/policies", src);
	if (profile_load_dir(path, &set, &d, &e) != 0)
		fail_msg("%s", e.msg);
	assert_true(set.n > 0);
	for (i = 0; i < set.n; i++)
		if (crlpolicy_check_profile(&pol, &set.v[i], &e) != 0)
			fail_msg("%s", e.msg);
	profile_set_free(&set);
	crlpolicy_free(&pol);
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_check_profile),
		cmocka_unit_test(test_check_shipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
