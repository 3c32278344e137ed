/* test_buf.c: the bounded buffer: limits, sticky failure, hostile lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/err.h"

static void
test_put_get_round_trip(void **state)
{
	buf_t b;
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	char *s;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_put_u8(&b, 0xab), 0);
	assert_int_equal(buf_put_u32(&b, 0x01020304), 0);
	assert_int_equal(buf_put_u64(&b, 0x1122334455667788ULL), 0);
	assert_int_equal(buf_put_cstring(&b, "hello"), 0);
	assert_true(buf_ok(&b));
	assert_int_equal(b.len, 1 + 4 + 8 + 4 + 5);
	/* Big-endian on the wire. */
	assert_int_equal(b.data[1], 0x01);
	assert_int_equal(b.data[4], 0x04);
	assert_int_equal(buf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0x01020304);
	assert_int_equal(buf_get_u64(&b, &u64), 0);
	assert_true(u64 == 0x1122334455667788ULL);
	assert_int_equal(buf_get_cstring(&b, &s, 64), 0);
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(buf_avail(&b), 0);
	buf_free(&b);
	assert_null(b.data);
}

static void
test_limit_is_sticky(void **state)
{
	unsigned char x[8] = { 0 };
	unsigned char *p;
	buf_t b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_put(&b, x, 8), 0);
	assert_int_equal(buf_put(&b, x, 3), ERR_LIMIT);
	assert_false(buf_ok(&b));
	assert_int_equal(b.len, 8);
	/* Once failed, even a put that would fit fails. */
	assert_int_equal(buf_put(&b, x, 1), ERR_LIMIT);
	assert_int_equal(buf_put(&b, x, 0), ERR_LIMIT);
	assert_int_equal(buf_put_u8(&b, 1), ERR_LIMIT);
	assert_int_equal(b.len, 8);
	buf_reset(&b);
	assert_true(buf_ok(&b));
	assert_int_equal(buf_put(&b, x, 8), 0);
	assert_int_equal(buf_put(&b, x, 2), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_put_u8(&b, 1), ERR_LIMIT);
	buf_free(&b);

	/* A length near SIZE_MAX must not wrap the bounds check. */
	buf_init(&b, 16);
	assert_int_equal(buf_put(&b, x, 1), 0);
	assert_int_equal(buf_reserve(&b, SIZE_MAX, &p), ERR_LIMIT);
	assert_false(buf_ok(&b));
	buf_free(&b);

	/* A read-only view refuses every write. */
	buf_view(&b, x, sizeof(x));
	assert_int_equal(buf_put_u8(&b, 1), ERR_LIMIT);
	assert_false(buf_ok(&b));
	buf_free(&b);
}

static void
test_truncated_gets(void **state)
{
	static const unsigned char three[3] = { 1, 2, 3 };
	uint32_t u32 = 7;
	uint64_t u64 = 7;
	unsigned char out[4];
	buf_t b;

	(void)state;
	buf_view(&b, three, sizeof(three));
	assert_int_equal(buf_get_u32(&b, &u32), ERR_INVALID);
	assert_int_equal(u32, 7);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_get_u64(&b, &u64), ERR_INVALID);
	assert_int_equal(buf_get(&b, out, 4), ERR_INVALID);
	assert_int_equal(buf_skip(&b, 4), ERR_INVALID);
	assert_int_equal(buf_skip(&b, SIZE_MAX), ERR_INVALID);
	assert_int_equal(buf_get(&b, out, 3), 0);
	assert_int_equal(buf_get_u8(&b, out), ERR_INVALID);
	buf_free(&b);
}

static void
test_string_lengths(void **state)
{
	/* Claims 0xffffffff bytes but carries two. */
	static const unsigned char huge[] = { 0xff, 0xff, 0xff, 0xff, 'h', 'i' };
	/* Claims 5 bytes, carries 2. */
	static const unsigned char shortstr[] = { 0, 0, 0, 5, 'h', 'i' };
	static const unsigned char ok[] = { 0, 0, 0, 2, 'h', 'i' };
	static const unsigned char withnul[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	const unsigned char *p = NULL;
	size_t len = 99;
	char *s = NULL;
	buf_t b;

	(void)state;
	buf_view(&b, huge, sizeof(huge));
	assert_int_equal(buf_get_string_ref(&b, &p, &len, 1024), ERR_LIMIT);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_get_string_ref(&b, &p, &len, SIZE_MAX),
	    ERR_INVALID);
	assert_int_equal(b.off, 0);
	assert_null(p);
	assert_int_equal(len, 99);
	assert_int_equal(buf_get_cstring(&b, &s, SIZE_MAX), ERR_INVALID);
	assert_null(s);

	buf_view(&b, shortstr, sizeof(shortstr));
	assert_int_equal(buf_get_string_ref(&b, &p, &len, 1024), ERR_INVALID);
	assert_int_equal(b.off, 0);

	buf_view(&b, ok, sizeof(ok));
	assert_int_equal(buf_get_string_ref(&b, &p, &len, 1), ERR_LIMIT);
	assert_int_equal(buf_get_string_ref(&b, &p, &len, 2), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "hi", 2);

	buf_view(&b, withnul, sizeof(withnul));
	assert_int_equal(buf_get_cstring(&b, &s, 64), ERR_INVALID);
	assert_null(s);
	assert_int_equal(b.off, 0);
}

static void
test_hex(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0x7f, 0xab, 0xff };
	unsigned char out[8];
	char hex[16];
	size_t n = 0;

	(void)state;
	assert_string_equal(buf_hex(bytes, sizeof(bytes), hex, sizeof(hex)),
	    "007fabff");
	assert_int_equal(buf_unhex("007FabfF", out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, bytes, 4);
	assert_int_equal(buf_unhex("", out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(buf_unhex("abc", out, sizeof(out), &n), ERR_INVALID);
	assert_int_equal(buf_unhex("zz", out, sizeof(out), &n), ERR_INVALID);
	assert_int_equal(buf_unhex("0g", out, sizeof(out), &n), ERR_INVALID);
	assert_int_equal(buf_unhex("0 ", out, sizeof(out), &n), ERR_INVALID);
	assert_int_equal(buf_unhex("00:11", out, sizeof(out), &n),
	    ERR_INVALID);
	assert_int_equal(buf_unhex("001122334455667788", out, sizeof(out), &n),
	    ERR_LIMIT);
	/* An output too small is cut, never overrun. */
	assert_string_equal(buf_hex(bytes, sizeof(bytes), hex, 5), "007f");
}

static void
test_secret_buffer(void **state)
{
	buf_t b;
	int i;

	(void)state;
	buf_init(&b, 4096);
	buf_set_secret(&b);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_put_u32(&b, 0xdeadbeef), 0);
	assert_int_equal(b.len, 4000);
	assert_true(b.cap <= 4096);
	buf_free(&b);
	assert_null(b.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_round_trip),
		cmocka_unit_test(test_limit_is_sticky),
		cmocka_unit_test(test_truncated_gets),
		cmocka_unit_test(test_string_lengths),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_secret_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
