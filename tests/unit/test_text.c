/*
 * test_text.c: the shared text rules: strict UTF-8, forbidden characters,
 * character counts and the one escaper for messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/text.h"

/* Decodes s (length from sizeof, without the terminator) in one step. */
#define DECODE(s, cp) text_utf8_next((const unsigned char *)(s), \
    sizeof(s) - 1, (cp))
#define WHY(s) text_utf8_why((const unsigned char *)(s), sizeof(s) - 1)

static void
test_utf8_good(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(DECODE("A", &cp), 1);
	assert_int_equal(cp, 0x41);
	assert_int_equal(DECODE("\x00", &cp), 1);	/* NUL is UTF-8 */
	assert_int_equal(cp, 0);
	assert_int_equal(DECODE("\x7f", &cp), 1);
	assert_int_equal(DECODE("\xc2\x80", &cp), 2);	/* smallest 2-byte */
	assert_int_equal(cp, 0x80);
	assert_int_equal(DECODE("\xc3\xa9", &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(DECODE("\xdf\xbf", &cp), 2);
	assert_int_equal(cp, 0x7ff);
	assert_int_equal(DECODE("\xe0\xa0\x80", &cp), 3);	/* smallest 3 */
	assert_int_equal(cp, 0x800);
	assert_int_equal(DECODE("\xed\x9f\xbf", &cp), 3);	/* below D800 */
	assert_int_equal(cp, 0xd7ff);
	assert_int_equal(DECODE("\xee\x80\x80", &cp), 3);	/* above DFFF */
	assert_int_equal(cp, 0xe000);
	assert_int_equal(DECODE("\xef\xbf\xbf", &cp), 3);
	assert_int_equal(cp, 0xffff);
	assert_int_equal(DECODE("\xf0\x90\x80\x80", &cp), 4);
	assert_int_equal(cp, 0x10000);
	assert_int_equal(DECODE("\xf4\x8f\xbf\xbf", &cp), 4);	/* largest */
	assert_int_equal(cp, 0x10ffff);
	/* Only the first character is decoded. */
	assert_int_equal(DECODE("\xc3\xa9z", &cp), 2);
	assert_int_equal(WHY("\xc3\xa9"), TEXT_UTF8_OK);
}

static void
test_utf8_bad(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		enum text_utf8_why why;
	} bad[] = {
		/* Overlong forms of '/' and of U+0000. */
		{ "\xc0\xaf", 2, TEXT_UTF8_BAD_LEAD },
		{ "\xc1\xbf", 2, TEXT_UTF8_BAD_LEAD },
		{ "\xe0\x80\xaf", 3, TEXT_UTF8_RANGE },
		{ "\xe0\x9f\xbf", 3, TEXT_UTF8_RANGE },
		{ "\xf0\x80\x80\xaf", 4, TEXT_UTF8_RANGE },
		{ "\xf0\x8f\xbf\xbf", 4, TEXT_UTF8_RANGE },
		/* UTF-16 surrogates, high and low. */
		{ "\xed\xa0\x80", 3, TEXT_UTF8_RANGE },
		{ "\xed\xbf\xbf", 3, TEXT_UTF8_RANGE },
		/* Past U+10FFFF. */
		{ "\xf4\x90\x80\x80", 4, TEXT_UTF8_RANGE },
		{ "\xf5\x80\x80\x80", 4, TEXT_UTF8_BAD_LEAD },
		{ "\xf8\x88\x80\x80\x80", 5, TEXT_UTF8_BAD_LEAD },
		{ "\xff", 1, TEXT_UTF8_BAD_LEAD },
		/* A continuation byte cannot start a character. */
		{ "\x80", 1, TEXT_UTF8_BAD_LEAD },
		{ "\xbf", 1, TEXT_UTF8_BAD_LEAD },
		/* Truncated: the bytes end inside a character. */
		{ "\xc3", 1, TEXT_UTF8_TRUNCATED },
		{ "\xe2\x82", 2, TEXT_UTF8_TRUNCATED },
		{ "\xf0\x9f\x98", 3, TEXT_UTF8_TRUNCATED },
		/* A continuation byte is missing. */
		{ "\xc3(", 2, TEXT_UTF8_BAD_CONT },
		{ "\xe2\x28\xa1", 3, TEXT_UTF8_BAD_CONT },
		{ "\xf0\x9f\x98\x41", 4, TEXT_UTF8_BAD_CONT },
	};
	size_t i, off = 99;
	uint32_t cp = 0x1234;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const unsigned char *p = (const unsigned char *)bad[i].s;

		if (text_utf8_next(p, bad[i].n, &cp) != 0)
			fail_msg("bad[%zu] decoded", i);
		assert_int_equal(text_utf8_why(p, bad[i].n), bad[i].why);
		assert_int_equal(cp, 0x1234);	/* untouched on failure */
		assert_int_equal(text_utf8_valid(p, bad[i].n, &off), 0);
		assert_int_equal(off, 0);
	}
	/* Nothing to decode is not a character. */
	assert_int_equal(text_utf8_next((const unsigned char *)"", 0, &cp), 0);
}

static void
test_utf8_valid(void **state)
{
	size_t off = 99;

	(void)state;
	assert_int_equal(text_utf8_valid("", 0, &off), 1);
	assert_int_equal(off, 99);
	assert_int_equal(text_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10,
	    &off), 1);
	/* The offset of the first bad sequence, not of the first byte. */
	assert_int_equal(text_utf8_valid("ab\xc3\xa9" "c\xed\xa0\x80" "d", 9,
	    &off), 0);
	assert_int_equal(off, 5);
	assert_int_equal(text_utf8_valid("abc\xe2\x82", 5, &off), 0);
	assert_int_equal(off, 3);
	assert_int_equal(text_utf8_valid("\xff", 1, NULL), 0);
	/* The length bounds the scan: a sequence cut by it is invalid. */
	assert_int_equal(text_utf8_valid("x\xc3\xa9", 2, &off), 0);
	assert_int_equal(off, 1);
}

static void
test_forbidden(void **state)
{
	static const uint32_t bad[] = {
		0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x1f,	/* C0 */
		0x7f,					/* DEL */
		0x80, 0x85, 0x9b, 0x9f,			/* C1 */
		0x061c,					/* ALM */
		0x200b, 0x200c, 0x200d,			/* zero-width */
		0x200e, 0x200f,				/* LRM, RLM */
		0x2028, 0x2029,				/* LS, PS */
		0x202a, 0x202b, 0x202c, 0x202d, 0x202e,	/* embed, override */
		0x2060, 0x2061, 0x2062, 0x2063, 0x2064,	/* word joiner */
		0x2066, 0x2067, 0x2068, 0x2069,		/* isolates */
		0xfeff,					/* BOM */
	};
	static const uint32_t good[] = {
		0x20, 0x41, 0x7e, 0xa0, 0xe9, 0x061b, 0x061d, 0x200a,
		0x2010, 0x2027, 0x202f, 0x205f, 0x2065, 0x206a, 0xfefe,
		0xff21, 0x1f600, 0x10ffff,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!text_forbidden(bad[i]))
			fail_msg("U+%04X allowed", (unsigned)bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (text_forbidden(good[i]))
			fail_msg("U+%04X forbidden", (unsigned)good[i]);
}

static void
test_clean(void **state)
{
	(void)state;
	assert_true(text_clean(""));
	assert_true(text_clean("Example CA"));
	assert_true(text_clean("J\xc3\xbcrgen M\xc3\xbcller"));
	assert_true(text_clean("\xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x94\x91"));
	/* One class each: C0, DEL, C1, bidi override, isolate, zero-width,
	 * line separator, BOM. */
	assert_false(text_clean("a\tb"));
	assert_false(text_clean("a\x1b[31m"));
	assert_false(text_clean("a\x7f"));
	assert_false(text_clean("a\xc2\x85"));
	assert_false(text_clean("x\xe2\x80\xaey"));
	assert_false(text_clean("x\xe2\x81\xa6y"));
	assert_false(text_clean("pay\xe2\x80\x8bpal"));
	assert_false(text_clean("a\xe2\x80\xa8" "b"));
	assert_false(text_clean("\xef\xbb\xbfname"));
	/* Invalid UTF-8 is never clean. */
	assert_false(text_clean("\xc0\xaf"));
	assert_false(text_clean("a\xed\xa0\x80"));
	assert_false(text_clean("a\xc3"));
	assert_false(text_clean("\xf4\x90\x80\x80"));
}

static void
test_chars(void **state)
{
	(void)state;
	assert_int_equal(text_utf8_chars(""), 0);
	assert_int_equal(text_utf8_chars("abc"), 3);
	assert_int_equal(text_utf8_chars("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
	    4);
	assert_int_equal(text_utf8_chars("a\xe2\x82\xac" "b\xf0\x9f\x98\x80"),
	    4);
	/* Counting does not judge forbidden characters, only UTF-8. */
	assert_int_equal(text_utf8_chars("a\x1b" "b"), 3);
	/* Invalid UTF-8 has no character count. */
	assert_int_equal(text_utf8_chars("ab\xff"), -1);
	assert_int_equal(text_utf8_chars("\xc0\xaf"), -1);
	assert_int_equal(text_utf8_chars("\xed\xa0\x80"), -1);
	assert_int_equal(text_utf8_chars("x\xe2\x82"), -1);
	assert_int_equal(text_utf8_chars("\x80"), -1);
}

#define SHOW(s, max, out) text_show((s), sizeof(s) - 1, (max), (out), \
    sizeof(out))

static void
test_show_escapes(void **state)
{
	char out[256];

	(void)state;
	assert_string_equal(SHOW("Example CA", 64, out), "Example CA");
	/* Allowed UTF-8 stays readable. */
	assert_string_equal(SHOW("Gr\xc3\xbc\xc3\x9f" "e", 64, out),
	    "Gr\xc3\xbc\xc3\x9f" "e");
	/* Terminal escapes, NUL, DEL and C1 controls are escaped. */
	assert_string_equal(SHOW("x\x1b[2J", 64, out), "x\\x1b[2J");
	assert_string_equal(SHOW("a\0b", 64, out), "a\\x00b");
	assert_string_equal(SHOW("\x7f\xc2\x9b", 64, out), "\\x7f\\xc2\\x9b");
	/* A bidi override is escaped byte by byte. */
	assert_string_equal(SHOW("x\xe2\x80\xaeyz", 64, out),
	    "x\\xe2\\x80\\xaeyz");
	assert_string_equal(SHOW("\xef\xbb\xbfZ", 64, out), "\\xef\\xbb\\xbfZ");
	/* Invalid bytes one by one, and what follows them is still read. */
	assert_string_equal(SHOW("a\xff" "b", 64, out), "a\\xffb");
	assert_string_equal(SHOW("\xc3(", 64, out), "\\xc3(");
	assert_string_equal(SHOW("\xed\xa0\x80", 64, out), "\\xed\\xa0\\x80");
	assert_string_equal(SHOW("\xc3\xa9\xc3", 64, out), "\xc3\xa9\\xc3");
	/* Backslash and quote, so that escapes and quoting are unambiguous. */
	assert_string_equal(SHOW("a\\x41'b", 64, out), "a\\x5cx41\\x27b");
	assert_string_equal(SHOW("", 64, out), "");
}

static void
test_show_cut(void **state)
{
	char out[256], small[12];

	(void)state;
	/* max counts characters, escaped or not. */
	assert_string_equal(SHOW("abcdef", 3, out), "abc...");
	assert_string_equal(SHOW("abc", 3, out), "abc");
	assert_string_equal(SHOW("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 2, out),
	    "\xc3\xa9\xc3\xa9...");
	assert_string_equal(SHOW("\x01\x02\x03", 2, out), "\\x01\\x02...");
	assert_string_equal(SHOW("\xe2\x80\xae" "ab", 2, out),
	    "\\xe2\\x80\\xaea...");
	/* A full out cuts too, never inside an escape or a character. */
	assert_string_equal(SHOW("abcdefghijklmnop", 64, small), "abcdefgh...");
	assert_string_equal(SHOW("abcdefghijk", 64, small), "abcdefghijk");
	assert_string_equal(SHOW("ab\x01\x02\x03", 64, small), "ab\\x01...");
	assert_string_equal(SHOW("abcdef\xc3\xa9\xc3\xa9", 64, small),
	    "abcdef\xc3\xa9\xc3\xa9");
	assert_string_equal(SHOW("abcdef\xc3\xa9\xc3\xa9\xc3\xa9", 64, small),
	    "abcdef\xc3\xa9...");
	/* Too small for the mark: nothing rather than an unmarked cut. */
	assert_string_equal(text_show("abc", 3, 64, small, 1), "");
	assert_string_equal(text_show("abc", 3, 64, small, 3), "");
	assert_string_equal(text_show("ab", 2, 64, small, 3), "ab");
	small[0] = 'z';
	assert_ptr_equal(text_show("abc", 3, 64, small, 0), small);
	assert_int_equal(small[0], 'z');
}

static void
test_mask(void **state)
{
	char out[48];

	(void)state;
	assert_string_equal(text_mask("2026-01-01T00:00:0\x1bZ", 20, 40, out,
	    sizeof(out)), "2026-01-01T00:00:0?Z");
	/* One '?' per byte, so positions stay where they were. */
	assert_string_equal(text_mask("a\xc3\xa9\0'\\", 6, 40, out,
	    sizeof(out)), "a?????");
	assert_string_equal(text_mask("abcdef", 6, 4, out, sizeof(out)),
	    "abcd...");
}

/* Only exactly len lower-case hex digits pass: fingerprints have one spelling. */
static void
test_is_lower_hex(void **state)
{
	(void)state;
	assert_int_equal(text_is_lower_hex("00ff9a", 6), 1);
	assert_int_equal(text_is_lower_hex("00FF9A", 6), 0);
	assert_int_equal(text_is_lower_hex("00ff9", 6), 0);
	assert_int_equal(text_is_lower_hex("00ff9a0", 6), 0);
	assert_int_equal(text_is_lower_hex("00fg9a", 6), 0);
	assert_int_equal(text_is_lower_hex(NULL, 6), 0);
	assert_int_equal(text_is_lower_hex("", 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_good),
		cmocka_unit_test(test_utf8_bad),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_show_escapes),
		cmocka_unit_test(test_show_cut),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_is_lower_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
