/* test_err.c: error values and bounded located diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/err.h"

static void
test_set_prefix_clear(void **state)
{
	char longtext[2 * ERR_MSG_MAX];
	err_t e;

	(void)state;
	assert_int_equal(err_set(&e, ERR_IO, "read %s: %d", "x", 5), ERR_IO);
	assert_int_equal(e.code, ERR_IO);
	assert_string_equal(e.msg, "read x: 5");
	assert_int_equal(err_prefix(&e, "%s", "root.yaml"), ERR_IO);
	assert_string_equal(e.msg, "root.yaml: read x: 5");
	err_clear(&e);
	assert_int_equal(e.code, ERR_OK);
	assert_string_equal(e.msg, "");
	/* A NULL err_t is allowed: the code still comes back. */
	assert_int_equal(err_set(NULL, ERR_LIMIT, "x"), ERR_LIMIT);
	assert_int_equal(err_prefix(NULL, "x"), ERR_INTERNAL);
	err_clear(NULL);
	/* Over-long messages are cut and stay terminated. */
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	err_set(&e, ERR_INVALID, "%s", longtext);
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
	err_prefix(&e, "%s", "ctx");
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
	assert_memory_equal(e.msg, "ctx: ", 5);
}

static void
test_code_names(void **state)
{
	(void)state;
	assert_string_equal(err_code_name(ERR_OK), "ok");
	assert_string_equal(err_code_name(ERR_EXISTS), "exists");
	assert_string_equal(err_code_name(ERR_LIMIT), "limit");
	assert_string_equal(err_code_name(ERR_INTERNAL), "internal");
	assert_string_equal(err_code_name(12345), "unknown");
}

static void
test_diag_format(void **state)
{
	char out[256];
	diag_t d;

	(void)state;
	diag_init(&d);
	assert_int_equal(diag_add(&d, "f.yaml", 3, "ca.name", "bad %s", "x"),
	    0);
	assert_int_equal(diag_add(&d, "f.yaml", 0, NULL, "no line"), 0);
	assert_int_equal(diag_add(&d, NULL, 0, NULL, "bare"), 0);
	assert_int_equal(diag_add(&d, NULL, 0, "field", "only field"), 0);
	assert_int_equal(diag_add(&d, "f.yaml", 7, NULL, "no field"), 0);
	assert_int_equal(diag_count(&d), 5);
	diag_format(&d, 0, out, sizeof(out));
	assert_string_equal(out, "f.yaml:3: ca.name: bad x");
	diag_format(&d, 1, out, sizeof(out));
	assert_string_equal(out, "f.yaml: no line");
	diag_format(&d, 2, out, sizeof(out));
	assert_string_equal(out, "bare");
	diag_format(&d, 3, out, sizeof(out));
	assert_string_equal(out, "field: only field");
	diag_format(&d, 4, out, sizeof(out));
	assert_string_equal(out, "f.yaml:7: no field");
	diag_format(&d, 99, out, sizeof(out));
	assert_string_equal(out, "(no such message)");
	/* A small output is cut and terminated; the full length is returned. */
	assert_int_equal(diag_format(&d, 0, out, 8), 24);
	assert_string_equal(out, "f.yaml:");
	diag_free(&d);
	assert_int_equal(diag_count(&d), 0);
}

static void
test_diag_cap_and_to_err(void **state)
{
	diag_t d;
	err_t e;
	size_t i;

	(void)state;
	diag_init(&d);
	assert_int_equal(diag_to_err(&d, &e, ERR_INVALID), ERR_INVALID);
	assert_string_equal(e.msg, "unknown error");
	assert_int_equal(diag_add(&d, "s.yaml", 1, "a", "first"), 0);
	assert_int_equal(diag_to_err(&d, &e, ERR_POLICY), ERR_POLICY);
	assert_int_equal(e.code, ERR_POLICY);
	assert_string_equal(e.msg, "s.yaml:1: a: first");
	for (i = 1; i < DIAG_MAX_ITEMS + 50; i++)
		assert_int_equal(diag_add(&d, "s.yaml", i + 1, NULL, "m%zu", i),
		    0);
	/* Past the cap, messages are counted, not kept. */
	assert_int_equal(d.n, DIAG_MAX_ITEMS);
	assert_int_equal(d.dropped, 50);
	assert_int_equal(diag_count(&d), DIAG_MAX_ITEMS + 50);
	assert_true(d.cap <= DIAG_MAX_ITEMS);
	diag_to_err(&d, &e, ERR_INVALID);
	assert_non_null(strstr(e.msg, "s.yaml:1: a: first (and 1049 more)"));
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_prefix_clear),
		cmocka_unit_test(test_code_names),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_diag_cap_and_to_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
