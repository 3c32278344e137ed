/* test_timeutil.c: strict UTC timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/timeutil.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

static void
test_good(void **state)
{
	time_t t;
	err_t e;

	(void)state;
	assert_int_equal(timeutil_parse("1970-01-01T00:00:00Z", &t, &e), 0);
	assert_int_equal((long long)t, 0);
	assert_int_equal(timeutil_parse("2026-11-22T08:00:00Z", &t, &e), 0);
	assert_int_equal((long long)t, 1795334400LL);
	assert_int_equal(timeutil_parse("1950-01-01T00:00:00Z", &t, &e), 0);
	assert_int_equal((long long)t, -631152000LL);
	assert_int_equal(timeutil_parse("9999-12-31T23:59:59Z", &t, &e), 0);
	assert_int_equal((long long)t, 253402300799LL);
}

static void
test_leap_day(void **state)
{
	time_t t;
	err_t e;

	(void)state;
	assert_int_equal(timeutil_parse("2024-02-29T12:00:00Z", &t, &e), 0);
	assert_int_equal(timeutil_parse("2000-02-29T00:00:00Z", &t, &e), 0);
	assert_int_equal(timeutil_parse("2023-02-29T00:00:00Z", &t, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "day 29");
	/* 1900 is not a leap year, but it is also before 1950; use 2100. */
	assert_int_equal(timeutil_parse("2100-02-29T00:00:00Z", &t, &e),
	    ERR_INVALID);
}

static void
test_bad_forms(void **state)
{
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{ "2026-11-22T08:00:00", "not a valid time" },
		{ "2026-11-22T08:00:00+01:00", "not a valid time" },
		{ "2026-11-22T08:00:00z", "'Z'" },
		{ "2026-11-22 08:00:00Z", "'T'" },
		{ "2026-11-22T24:00:00Z", "hour 24" },
		{ "2026-13-01T00:00:00Z", "month 13" },
		{ "2026-00-01T00:00:00Z", "month 00" },
		{ "2026-02-30T00:00:00Z", "day 30" },
		{ "2026-04-31T00:00:00Z", "day 31" },
		{ "2026-01-00T00:00:00Z", "day 00" },
		{ "2026-01-01T00:60:00Z", "minute 60" },
		{ "2026-01-01T00:00:60Z", "second 60" },
		{ "2026-01-01T00:00:00Zjunk", "not a valid time" },
		{ "2026-01-01T00:00:00Z ", "not a valid time" },
		{ " 2026-01-01T00:00:00Z", "not a valid time" },
		{ "1949-12-31T23:59:59Z", "before 1950" },
		{ "26-01-01T00:00:00Z", "not a valid time" },
		{ "2026-1-01T00:00:000Z", "a digit" },
		{ "+026-01-01T00:00:00Z", "a digit" },
		{ "", "not a valid time" },
		{ "2026-01-01T00:00:0\x1bZ", "?" },
	};
	size_t i;
	time_t t = 42;
	err_t e;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (timeutil_parse(bad[i].s, &t, &e) != ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i].s);
		assert_contains(e.msg, bad[i].msg);
		assert_contains(e.msg, "expected");
		assert_null(strchr(e.msg, '\x1b'));
	}
	assert_int_equal((long long)t, 42);
	assert_int_equal(timeutil_parse(NULL, &t, &e), ERR_INVALID);
}

static void
test_format(void **state)
{
	char out[TIMEUTIL_STRLEN];
	time_t t, back;
	err_t e;

	(void)state;
	timeutil_format(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	timeutil_format(1795334400, out);
	assert_string_equal(out, "2026-11-22T08:00:00Z");
	for (t = -631152000; t < 253402300799LL; t += 86399 * 397) {
		timeutil_format(t, out);
		assert_int_equal(timeutil_parse(out, &back, &e), 0);
		assert_int_equal((long long)back, (long long)t);
	}
	/* Beyond year 9999 gives a marker that never parses. */
	timeutil_format(253402300800LL, out);
	assert_string_equal(out, "0000-00-00T00:00:00Z");
	assert_int_equal(timeutil_parse(out, &back, &e), ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_leap_day),
		cmocka_unit_test(test_bad_forms),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
