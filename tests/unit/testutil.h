/*
 * testutil.h: scratch directories, the source tree and a look into a
 * SQLite database, shared by the unit tests so each test file does not
 * carry its own copy. Test-only; never linked into Airlock. Header-only
 * (static inline), like pkitest.h, so the one-source-file-per-test build
 * needs no extra object. Every unit test is a cmocka test, so helpers
 * here may fail the running test.
 */
#ifndef AIRLOCK_TESTS_TESTUTIL_H
#define AIRLOCK_TESTS_TESTUTIL_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

/*
 * Fails the test, showing both, when needle is not in hay. Spelled as the
 * tests that still define it themselves spell it, so both may stand.
 */
#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

/*
 * Makes a fresh private directory airlock-TAG.XXXXXX under $TMPDIR (or
 * /tmp when that is unset or empty) and writes its path to out. A path
 * that would not fit in outsz is refused rather than cut short, since a
 * cut template could name a directory the test never meant. 0, or -1
 * with out emptied.
 */
static inline int
testutil_tmpdir(char *out, size_t outsz, const char *tag)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(out, outsz, "%s/airlock-%s.XXXXXX", base, tag);
	if (n < 0 || (size_t)n >= outsz || mkdtemp(out) == NULL) {
		/* Nothing half-made for a teardown to remove by mistake. */
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* One entry of testutil_rmtree: FTW_DEPTH hands over directories last. */
static inline int
testutil_rmtree_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/*
 * Removes dir and everything below it. Done in-process with nftw rather
 * than system("rm -rf '...'"): no shell, so no quoting of a path that
 * comes from $TMPDIR. FTW_PHYS never follows a symbolic link, so a link
 * a test left behind is removed, not what it points at. 0 or -1.
 */
static inline int
testutil_rmtree(const char *dir)
{
	return nftw(dir, testutil_rmtree_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ?
	    0 : -1;
}

/*
 * Writes the repository root to out. __FILE__ here is this header's path
 * as the compiler saw it, tests/unit/testutil.h, absolute or relative to
 * the directory make ran in: like any tests/unit/x.c it sits two levels
 * below the root, so dropping three components (file, unit, tests) gives
 * the root. A relative path run from elsewhere does not reach the tree,
 * so $AIRLOCK_BUILD/.. (the build directory is inside the repository) is
 * the fallback. Either is used only if ceremony/examples/rsa/01-root.yaml
 * is there to read. 0 or -1 (saying why on stderr).
 */
static inline int
testutil_srcdir(char *out, size_t outsz)
{
	static const char probe[] = "ceremony/examples/rsa/01-root.yaml";
	const char *build = getenv("AIRLOCK_BUILD");
	char path[PATH_MAX + 64];
	int i;

	snprintf(out, outsz, "%s", __FILE__);
	for (i = 0; i < 3; i++) {
		char *slash = strrchr(out, '/');

		if (slash == NULL) {
			snprintf(out, outsz, ".");
			break;
		}
		*slash = '\0';
	}
	if (out[0] == '\0')
		snprintf(out, outsz, "/");
	snprintf(path, sizeof(path), "%s/%s", out, probe);
	if (access(path, R_OK) == 0)
		return 0;
	if (build != NULL) {
		snprintf(out, outsz, "%s/..", build);
		snprintf(path, sizeof(path), "%s/%s", out, probe);
		if (access(path, R_OK) == 0)
			return 0;
	}
	fprintf(stderr, "cannot find the source tree from %s\n", __FILE__);
	return -1;
}

/*
 * The integer in the first column of the first row sql gives on db, for a
 * test that checks what the database holds behind the API under test.
 * SQL that does not prepare or gives no row fails the test.
 */
static inline int64_t
testutil_sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* Prints every message in d, prefixed, so a failing test shows them all. */
static inline void
testutil_print_diag(const diag_t *d, const char *prefix)
{
	size_t k;

	for (k = 0; k < d->n; k++) {
		char buf[1200];

		diag_format(d, k, buf, sizeof(buf));
		fprintf(stderr, "%s: %s\n", prefix, buf);
	}
}

/*
 * Every message in d, one per line, as one text (static storage, valid
 * until the next call), for assert_contains over all of them.
 */
static inline const char *
testutil_diag_text(const diag_t *d)
{
	static char text[65536];
	size_t k, used = 0;

	text[0] = '\0';
	for (k = 0; k < d->n && used + 1 < sizeof(text); k++) {
		char buf[1200];
		int n;

		diag_format(d, k, buf, sizeof(buf));
		n = snprintf(text + used, sizeof(text) - used, "%s\n", buf);
		if (n < 0)
			break;
		used += (size_t)n < sizeof(text) - used ? (size_t)n :
		    sizeof(text) - used - 1;
	}
	return text;
}

/*
 * 1 when tool is on PATH; otherwise 0, saying on stderr that the check
 * that needs it is skipped, so a missing tool is seen, not silent.
 */
static inline int
testutil_have(const char *tool)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	if (system(cmd) == 0)
		return 1;
	fprintf(stderr, "  skipped: %s is not installed\n", tool);
	return 0;
}

#endif
