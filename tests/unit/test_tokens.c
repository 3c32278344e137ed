/*
 * test_tokens.c: --pin says where a PIN comes from and is never the PIN:
 * bad values are refused without being echoed, and each token gets the
 * source meant for it, falling back to a prompt rather than to a source
 * meant for another token.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ceremony/tokens.h"
#include "testutil.h"
#include "util/fileio.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"

/*
 * Initialises with pins expecting ERR_INVALID; the message must name the
 * position and must not repeat `secret`, which may be a real PIN.
 */
static void
expect_refused(const char *const *pins, size_t n, size_t bad,
    const char *secret)
{
	struct tokens t;
	char want[32];
	err_t e;

	err_clear(&e);
	assert_int_equal(tokens_init(&t, MODULE, pins, n, "airlock-ca", 0, &e),
	    ERR_INVALID);
	snprintf(want, sizeof(want), "--pin number %zu ", bad);
	assert_contains(e.msg, want);
	assert_contains(e.msg, "never goes on the command line");
	if (strstr(e.msg, secret) != NULL)
		fail_msg("the message repeats '%s': %s", secret, e.msg);
}

static void
test_pin_itself_refused(void **state)
{
	const char *pins[] = { "123456" };

	(void)state;
	expect_refused(pins, 1, 1, "123456");
}

static void
test_name_with_pin_refused(void **state)
{
	const char *pins[] = { "prompt", "x=123" };

	(void)state;
	expect_refused(pins, 2, 2, "123");
}

static void
test_empty_name_refused(void **state)
{
	const char *pins[] = { "=file:/x" };

	(void)state;
	expect_refused(pins, 1, 1, "file:/x");
}

/* Near misses of the source syntax are PINs as far as we know. */
static void
test_source_lookalikes_refused(void **state)
{
	const char *a[] = { "promptly" };
	const char *b[] = { "alice=" };
	const char *c[] = { "FILE:/p" };
	const char *d[] = { "alice=s3cret=fd:3" };

	(void)state;
	expect_refused(a, 1, 1, "promptly");
	expect_refused(b, 1, 1, "alice=");
	expect_refused(c, 1, 1, "FILE:/p");
	expect_refused(d, 1, 1, "s3cret");
}

static void
test_sources_accepted(void **state)
{
	const char *pins[] = { "prompt", "fd:3", "file:/p", "alice=file:/p",
	    "bob=prompt", "carol=fd:4" };
	struct tokens t;
	char buf[64];
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(tokens_init(&t, MODULE, pins, 6, "airlock-ca", 0, &e),
	    0);
	assert_string_equal(t.module, MODULE);
	assert_ptr_equal(t.pins, pins);
	assert_int_equal(t.n_pins, 6);
	assert_string_equal(t.default_label, "airlock-ca");
	assert_int_equal(t.n, 0);
	/* Not a rehearsal: there is no throwaway PIN file. */
	assert_false(t.rehearse);
	assert_null(tokens_rehearse_pinfile(&t, "airlock-ca", buf, sizeof(buf)));
	tokens_close(&t);
}

static void
test_no_pins_accepted(void **state)
{
	struct tokens t;
	err_t e;

	(void)state;
	assert_int_equal(tokens_init(&t, MODULE, NULL, 0, NULL, 0, &e), 0);
	assert_string_equal(tokens_pin_source(&t, "airlock-ca"), "prompt");
	tokens_close(&t);
}

static struct tokens
make(const char *const *pins, size_t n, const char *default_label)
{
	struct tokens t;
	err_t e;

	err_clear(&e);
	if (tokens_init(&t, MODULE, pins, n, default_label, 0, &e) != 0)
		fail_msg("tokens_init: %s", e.msg);
	return t;
}

/*
 * Initialises with pins and default_label, then checks each pair in want
 * (a label, then the source it must get; NULL ends the list).
 */
static void
expect_sources(const char *const *pins, size_t n, const char *default_label,
    const char *const *want)
{
	struct tokens t = make(pins, n, default_label);

	for (; want[0] != NULL; want += 2)
		assert_string_equal(tokens_pin_source(&t, want[0]), want[1]);
	tokens_close(&t);
}

static void
test_pin_source_by_name(void **state)
{
	const char *pins[] = { "alice=file:/a", "fd:3", "bob=prompt" };
	static const char *const want[] = { "alice", "file:/a",
	    "bob", "prompt", NULL };

	(void)state;
	expect_sources(pins, 3, "airlock-ca", want);
}

/* "alice" must not take the source given for "alice-2", nor the reverse. */
static void
test_pin_source_exact_name(void **state)
{
	const char *pins[] = { "alice-2=fd:4", "alice=fd:5" };
	static const char *const want[] = { "alice", "fd:5", "alice-2", "fd:4",
	    "ali", "prompt", "alice-22", "prompt", NULL };

	(void)state;
	expect_sources(pins, 2, "airlock-ca", want);
}

static void
test_bare_source_only_for_default(void **state)
{
	const char *pins[] = { "alice=file:/a", "fd:3" };
	static const char *const want[] = { "airlock-ca", "fd:3",
	    /* Another token never gets the CA token's PIN: it prompts. */
	    "carol", "prompt", "airlock-ca2", "prompt", NULL };

	(void)state;
	expect_sources(pins, 2, "airlock-ca", want);
}

static void
test_named_source_beats_bare(void **state)
{
	const char *pins[] = { "fd:3", "airlock-ca=fd:4" };
	static const char *const want[] = { "airlock-ca", "fd:4", NULL };

	(void)state;
	expect_sources(pins, 2, "airlock-ca", want);
}

static void
test_no_default_label(void **state)
{
	const char *pins[] = { "fd:3" };
	static const char *const want[] = { "airlock-ca", "prompt", NULL };

	(void)state;
	expect_sources(pins, 1, NULL, want);
}

/* Neither a label nor a serial names nothing; never "the first token". */
static void
test_get_needs_label_or_serial(void **state)
{
	struct tokens t = make(NULL, 0, NULL);
	struct hsm_pool *pool = NULL;
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(tokens_get(&t, "", NULL, 0, &pool, &e), ERR_INVALID);
	assert_contains(e.msg, "label or a serial");
	assert_int_equal(tokens_get(&t, NULL, "", 1, &pool, &e), ERR_INVALID);
	assert_null(pool);
	assert_int_equal(t.n, 0);
	tokens_close(&t);
}

/*
 * A rehearsal keeps SoftHSM inside a private tree under TMPDIR (so it
 * never reaches the real tokens) and removes the tree when closed.
 */
static void
test_rehearsal_tree(void **state)
{
	char tmp[PATH_MAX], path[4300], want[4300];
	const char *old = getenv("TMPDIR"), *conf;
	char *saved = old ? strdup(old) : NULL;
	struct tokens t;
	struct stat st;
	err_t e;
	int r;

	(void)state;
	assert_int_equal(testutil_tmpdir(tmp, sizeof(tmp), "tokens"), 0);
	assert_int_equal(setenv("TMPDIR", tmp, 1), 0);
	err_clear(&e);
	r = tokens_init(&t, MODULE, NULL, 0, "airlock-ca", 1, &e);
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	if (r != 0)
		fail_msg("tokens_init: %s", e.msg);
	assert_true(t.rehearse);
	assert_string_equal(t.module, TOKENS_SOFTHSM_MODULE);
	assert_int_equal(strncmp(t.rehearse_dir, tmp, strlen(tmp)), 0);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", t.rehearse_dir);
	assert_true(fileio_exists(path));
	conf = getenv("SOFTHSM2_CONF");
	assert_non_null(conf);
	assert_string_equal(conf, path);
	snprintf(path, sizeof(path), "%s/tokens", t.rehearse_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* PIN files are named by the label's hex, safe for any label. */
	snprintf(want, sizeof(want), "%s/pin-2e2e2f78", t.rehearse_dir);
	assert_string_equal(tokens_rehearse_pinfile(&t, "../x", path,
	    sizeof(path)), want);
	snprintf(path, sizeof(path), "%s", t.rehearse_dir);
	tokens_close(&t);
	assert_false(fileio_exists(path));
	assert_int_equal(t.rehearse_dir[0], '\0');
	unsetenv("SOFTHSM2_CONF");
	assert_int_equal(rmdir(tmp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_itself_refused),
		cmocka_unit_test(test_name_with_pin_refused),
		cmocka_unit_test(test_empty_name_refused),
		cmocka_unit_test(test_source_lookalikes_refused),
		cmocka_unit_test(test_sources_accepted),
		cmocka_unit_test(test_no_pins_accepted),
		cmocka_unit_test(test_pin_source_by_name),
		cmocka_unit_test(test_pin_source_exact_name),
		cmocka_unit_test(test_bare_source_only_for_default),
		cmocka_unit_test(test_named_source_beats_bare),
		cmocka_unit_test(test_no_default_label),
		cmocka_unit_test(test_get_needs_label_or_serial),
		cmocka_unit_test(test_rehearsal_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
