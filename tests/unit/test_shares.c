/*
 * test_shares.c: the daemon's PIN share collector (daemon/shares): the
 * threshold, each share and officer once, shares of another officer or
 * another split, expiry, and a new session after every clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "daemon/shares.h"
#include "testutil.h"

#define PIN "Zq8rT2pLm9XvB4nK7sWd1FgH"

static secret_t *sh[3];
static char officer[3][65];

static int
setup(void **state)
{
	secret_t *pin = NULL;
	err_t e;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		if (secret_new(&sh[i]) != 0)
			return -1;
		memset(officer[i], 'a' + i, 64);
		officer[i][64] = '\0';
	}
	if (secret_new(&pin) != 0 || secret_set(pin, PIN, strlen(PIN)) != 0 ||
	    pinshare_split(pin, 2, 3, sh, &e) != 0)
		return -1;
	secret_free(pin);
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		secret_free(sh[i]);
	return 0;
}

static void
meta(struct pinshare *m, unsigned idx, unsigned mm, unsigned n)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->token, sizeof(m->token), "airlock-ca");
	snprintf(m->serial, sizeof(m->serial), "0011aabb");
	m->threshold = mm;
	m->shares = n;
	m->index = idx;
	memcpy(m->officer, officer[idx - 1], 65);
}

static void
test_threshold(void **state)
{
	struct shares s;
	struct pinshare m;
	secret_t *pin = NULL;
	char names[256];
	err_t e;

	(void)state;
	assert_int_equal(shares_init(&s, 600, &e), 0);
	assert_int_equal(secret_new(&pin), 0);
	assert_int_equal(shares_needed(&s), 0);
	meta(&m, 3, 2, 3);
	assert_int_equal(shares_add(&s, &m, sh[2], officer[2], "Carol", 100,
	    &e), 0);
	assert_int_equal(shares_needed(&s), 1);
	/* Fewer than M: no PIN. */
	assert_int_equal(shares_combine(&s, pin, &e), ERR_INVALID);
	assert_contains(e.msg, "1 more share is needed");
	meta(&m, 1, 2, 3);
	assert_int_equal(shares_add(&s, &m, sh[0], officer[0], "Alice", 110,
	    &e), 0);
	assert_int_equal(shares_needed(&s), 0);
	shares_names(&s, names, sizeof(names));
	assert_string_equal(names, "Carol, Alice");
	assert_int_equal(shares_combine(&s, pin, &e), 0);
	assert_int_equal(pin->len, strlen(PIN));
	assert_memory_equal(pin->data, PIN, strlen(PIN));
	shares_free(&s);
	secret_free(pin);
}

static void
test_refusals(void **state)
{
	struct shares s;
	struct pinshare m;
	err_t e;

	(void)state;
	assert_int_equal(shares_init(&s, 600, &e), 0);
	meta(&m, 1, 2, 3);
	assert_int_equal(shares_add(&s, &m, sh[0], officer[0], "Alice", 100,
	    &e), 0);
	/* The same share again, by anyone. */
	assert_int_equal(shares_add(&s, &m, sh[0], officer[0], "Alice", 101,
	    &e), ERR_EXISTS);
	assert_contains(e.msg, "share 1 was presented already (by Alice)");
	/* The same officer with another share (made for them, say). */
	meta(&m, 2, 2, 3);
	memcpy(m.officer, officer[0], 65);
	assert_int_equal(shares_add(&s, &m, sh[1], officer[0], "Alice", 102,
	    &e), ERR_EXISTS);
	assert_contains(e.msg, "Alice presented a share already");
	/* A share made for someone else than its presenter. */
	meta(&m, 2, 2, 3);
	assert_int_equal(shares_add(&s, &m, sh[1], officer[2], "Carol", 103,
	    &e), ERR_POLICY);
	assert_contains(e.msg, "another officer's certificate");
	/* Another split: M, N, token, serial. */
	meta(&m, 2, 3, 3);
	assert_int_equal(shares_add(&s, &m, sh[1], officer[1], "Bob", 104, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "3-of-3 split, but the shares held are 2-of-3");
	meta(&m, 2, 2, 4);
	assert_int_equal(shares_add(&s, &m, sh[1], officer[1], "Bob", 104, &e),
	    ERR_POLICY);
	meta(&m, 2, 2, 3);
	snprintf(m.token, sizeof(m.token), "other-ca");
	assert_int_equal(shares_add(&s, &m, sh[1], officer[1], "Bob", 104, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "token 'other-ca'");
	meta(&m, 2, 2, 3);
	snprintf(m.serial, sizeof(m.serial), "99");
	assert_int_equal(shares_add(&s, &m, sh[1], officer[1], "Bob", 104, &e),
	    ERR_POLICY);
	/* Nothing refused was kept. */
	assert_int_equal(s.n, 1);
	assert_int_equal(shares_needed(&s), 1);
	shares_free(&s);
}

static void
test_expiry_and_sessions(void **state)
{
	struct shares s;
	struct pinshare m;
	unsigned char nonce[PINSHARE_NONCE_LEN];
	char d1[65], d2[65];
	int64_t session;
	err_t e;

	(void)state;
	assert_int_equal(shares_init(&s, 600, &e), 0);
	assert_true(s.session >= 1 && s.session <= (INT64_C(1) << 53));
	session = s.session;
	memcpy(nonce, s.nonce, sizeof(nonce));
	assert_int_equal(shares_digest(&s, "record", 6, d1, &e), 0);
	meta(&m, 1, 2, 3);
	assert_int_equal(shares_add(&s, &m, sh[0], officer[0], "Alice", 1000,
	    &e), 0);
	/* Not yet: one second short. */
	assert_int_equal(shares_expire(&s, 1599), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(shares_expire(&s, 1600), 1);
	assert_int_equal(s.n, 0);
	assert_int_equal(shares_needed(&s), 0);
	/* A clear starts a new session: old statements name the old one. */
	assert_true(s.session != session ||
	    memcmp(nonce, s.nonce, sizeof(nonce)) != 0);
	assert_int_equal(shares_digest(&s, "record", 6, d2, &e), 0);
	assert_string_not_equal(d1, d2);
	/* Nothing held: nothing expires. */
	assert_int_equal(shares_expire(&s, 999999), 0);
	/* The timer runs from the first share, not the last. */
	assert_int_equal(shares_add(&s, &m, sh[0], officer[0], "Alice", 2000,
	    &e), 0);
	assert_int_equal(shares_expire(&s, 2599), 0);
	assert_int_equal(shares_expire(&s, 2600), 1);
	shares_clear(&s);
	shares_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_expiry_and_sessions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
