/*
 * test_crlpolicy.c: the CRL policy file (policy/crlpolicy.h): the shipped
 * policies/crl/crl.yaml, lookups by CA name with the default, and every
 * refusal with its file and line.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
