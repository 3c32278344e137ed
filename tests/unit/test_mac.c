/* test_mac.c: MAC address shapes, formats and ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ingest/mac.h"
#include "util/err.h"

static const unsigned char want[MAC_LEN] = { 0x00, 0x11, 0x22, 0xaa, 0xbb,
    0xcc };

static void
test_good_shapes(void **state)
{
	static const char *const good[] = {
		"001122AABBCC", "001122aabbcc", "00:11:22:aa:bb:cc",
		"00:11:22:AA:BB:CC", "00-11-22-AA-BB-CC", "00-11-22-aa-Bb-cC",
		"0011.22aa.bbcc", "0011.22AA.BBCC",
	};
	unsigned char m[MAC_LEN];
	size_t i;
	err_t e;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(m, 0xee, sizeof(m));
		err_clear(&e);
		assert_int_equal(mac_parse(good[i], m, &e), 0);
		assert_memory_equal(m, want, MAC_LEN);
	}
}

static void
expect_bad(const char *s, const char *needle)
{
	unsigned char m[MAC_LEN];
	err_t e;

	err_clear(&e);
	assert_int_equal(mac_parse(s, m, &e), ERR_INVALID);
	if (strstr(e.msg, needle) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", s, e.msg, needle);
}

static void
test_bad_shapes(void **state)
{
	(void)state;
	expect_bad("", "empty MAC address");
	expect_bad("001122AABBC", "11 characters");
	expect_bad("001122AABBCCD", "13 characters");
	expect_bad("00:11:22:aa:bb:cc:dd", "more than 17 characters");
	expect_bad("00:11:22-aa:bb:cc", "character 9 ('-') mixes separators");
	expect_bad("00-11-22-aa-bb:cc", "character 15 (':') mixes separators");
	expect_bad("0011.22aa:bbcc", "character 10 (':') mixes separators");
	expect_bad("00:11:22:aa:bb:cg", "character 17 ('g') is not a hex");
	expect_bad("00.11.22.aa.bb.cc", "character 3 ('.') must be ':' or '-'");
	expect_bad("001122 AABBC", "character 7 (\\x20) is not a hex digit");
	expect_bad("00112\x1b" "AABBCC", "character 6 (\\x1b)");
	expect_bad("0x1122AABBCC", "character 2 ('x')");
	expect_bad("00:11:22:aa:bb:c\xc3", "\\xc3");
	/* Right length, separators in the wrong places. */
	expect_bad("00:112:2aa:bb:cc", "16 characters");
	expect_bad("001:122:aab:bcc:d", "character 3 ('1') must be ':' or '-'");
	expect_bad("00112.2aab.bcc", "character 5 ('2') must be the separator");
	assert_int_equal(mac_parse(NULL, (unsigned char[MAC_LEN]){ 0 }, NULL),
	    ERR_INVALID);
}

static void
test_format(void **state)
{
	static const char *const expect[MAC_STYLE_COUNT] = {
		"00:11:22:AA:BB:CC", "00:11:22:aa:bb:cc", "00-11-22-AA-BB-CC",
		"00-11-22-aa-bb-cc", "001122AABBCC", "001122aabbcc",
		"0011.22aa.bbcc",
	};
	char out[MAC_STR_MAX], small[12];
	unsigned char back[MAC_LEN];
	enum mac_style st;
	int i;

	(void)state;
	for (i = 0; i < MAC_STYLE_COUNT; i++) {
		assert_int_equal(mac_format(want, (enum mac_style)i, out,
		    sizeof(out)), 0);
		assert_string_equal(out, expect[i]);
		assert_int_equal(mac_parse(out, back, NULL), 0);
		assert_memory_equal(back, want, MAC_LEN);
		assert_int_equal(mac_style_from_name(mac_style_name(
		    (enum mac_style)i), &st), 0);
		assert_int_equal((int)st, i);
	}
	assert_int_equal(mac_format(want, MAC_STYLE_COLON_LOWER, small,
	    sizeof(small)), ERR_LIMIT);
	assert_string_equal(small, "");
	assert_int_equal(mac_format(want, MAC_STYLE_PLAIN_LOWER, out, 13), 0);
	assert_int_equal(mac_format(want, MAC_STYLE_PLAIN_LOWER, out, 12),
	    ERR_LIMIT);
	assert_int_equal(mac_format(want, MAC_STYLE_COUNT, out, sizeof(out)),
	    ERR_INVALID);
	assert_int_equal(mac_style_from_name("Colon-Upper", &st), ERR_INVALID);
	assert_null(mac_style_name(MAC_STYLE_COUNT));
}

static void
test_range_ok(void **state)
{
	struct mac_range r = { { 0xbd, 0x12, 0x46, 0xde, 0x42, 0x39 }, 10000,
	    1 };
	unsigned char m[MAC_LEN];
	char s[MAC_STR_MAX];
	err_t e;

	(void)state;
	/* The portal guide's example start is multicast (0xbd is odd). */
	assert_int_equal(mac_range_check(&r, &e), ERR_INVALID);
	r.start[0] = 0xbc;
	assert_int_equal(mac_range_check(&r, &e), 0);
	mac_range_nth(&r, 0, m);
	assert_memory_equal(m, r.start, MAC_LEN);
	mac_range_nth(&r, 9999, m);
	mac_format(m, MAC_STYLE_COLON_LOWER, s, sizeof(s));
	assert_string_equal(s, "bc:12:46:de:69:48");
	/* Carry across octets, with a large step. */
	r = (struct mac_range){ { 0x02, 0x00, 0x00, 0xff, 0xff, 0xff }, 3,
	    MAC_RANGE_INCREMENT_MAX };
	assert_int_equal(mac_range_check(&r, &e), 0);
	mac_range_nth(&r, 2, m);
	mac_format(m, MAC_STYLE_COLON_LOWER, s, sizeof(s));
	assert_string_equal(s, "02:00:02:ff:ff:ff");
	/* The very last unicast address of an octet is fine. */
	r = (struct mac_range){ { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe }, 2,
	    1 };
	assert_int_equal(mac_range_check(&r, &e), 0);
}

static void
expect_range_bad(const struct mac_range *r, const char *needle)
{
	err_t e;

	err_clear(&e);
	assert_int_equal(mac_range_check(r, &e), ERR_INVALID);
	if (strstr(e.msg, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
}

static void
test_range_bad(void **state)
{
	struct mac_range r = { { 0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc }, 0, 1 };

	(void)state;
	expect_range_bad(&r, "count 0 is out of range; expected 1 to 500000");
	r.count = MAC_RANGE_COUNT_MAX + 1;
	expect_range_bad(&r, "count 500001");
	r.count = 1;
	r.increment = 0;
	expect_range_bad(&r, "increment 0");
	r.increment = MAC_RANGE_INCREMENT_MAX + 1;
	expect_range_bad(&r, "increment 16777217");
	r.increment = 1;
	r.start[0] = 0x01;
	expect_range_bad(&r, "01:11:22:aa:bb:cc is a multicast address");
	r.start[0] = 0xff;
	expect_range_bad(&r, "multicast");
	/* Past the end of the address space: the message gives the end. */
	r = (struct mac_range){ { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xf0 }, 500000,
	    MAC_RANGE_INCREMENT_MAX };
	expect_range_bad(&r, "would end at 01:06:a1:1e:ff:ff:f0, past "
	    "ff:ff:ff:ff:ff:ff");
	/* Into the next, multicast, first octet. */
	r = (struct mac_range){ { 0x00, 0xff, 0xff, 0xff, 0xff, 0xfe }, 5,
	    1 };
	expect_range_bad(&r, "would reach 01:00:00:00:00:00 (address 3 of "
	    "the range), a multicast address");
	r = (struct mac_range){ { 0x02, 0xff, 0xff, 0xff, 0xff, 0x00 }, 3,
	    0x100 };
	expect_range_bad(&r, "would reach 03:00:00:00:00:00 (address 2");
	expect_range_bad(NULL, "no MAC range");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_shapes),
		cmocka_unit_test(test_bad_shapes),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_range_ok),
		cmocka_unit_test(test_range_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
