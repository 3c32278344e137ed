/* test_export_fault.c: medium faults of exports and their retries. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "export/fault.h"
#include "util/err.h"

/* A medium that is there, writable, with room. */
static struct export_medium
medium_ok(void)
{
	struct export_medium m;

	memset(&m, 0, sizeof(m));
	m.present = 1;
	m.avail = 1u << 20;
	m.dev = 7;
	m.ino = 42;
	return m;
}

/* An errno's text as fileio writes it into a message. */
static void
msg_for(char *out, size_t outsz, const char *what, int e)
{
	snprintf(out, outsz, "export file a.crl: %s: write failed: %s", what,
	    strerror(e));
}

static void
test_classify(void **state)
{
	struct export_medium m = medium_ok(), gone, ro = medium_ok(),
	    full = medium_ok();
	char msg[256];

	(void)state;
	memset(&gone, 0, sizeof(gone));
	ro.readonly = 1;
	full.avail = 0;
	assert_int_equal(export_fault_classify(0, NULL, &m),
	    EXPORT_FAULT_NONE);
	msg_for(msg, sizeof(msg), "outbox/x", ENOSPC);
	assert_int_equal(export_fault_classify(ERR_IO, msg, &m),
	    EXPORT_FAULT_FULL);
	msg_for(msg, sizeof(msg), "outbox/x", EDQUOT);
	assert_int_equal(export_fault_classify(ERR_IO, msg, &m),
	    EXPORT_FAULT_FULL);
	/* No text to go by: the medium shows no space. */
	assert_int_equal(export_fault_classify(ERR_IO, NULL, &full),
	    EXPORT_FAULT_FULL);
	msg_for(msg, sizeof(msg), "outbox/x", EROFS);
	assert_int_equal(export_fault_classify(ERR_IO, msg, &m),
	    EXPORT_FAULT_READONLY);
	/* The medium as it is now wins over what the message said. */
	msg_for(msg, sizeof(msg), "outbox/x", ENOSPC);
	assert_int_equal(export_fault_classify(ERR_IO, msg, &ro),
	    EXPORT_FAULT_READONLY);
	assert_int_equal(export_fault_classify(ERR_IO, msg, &gone),
	    EXPORT_FAULT_ABSENT);
	/* Even a failure that is not the medium's: it must come back first. */
	assert_int_equal(export_fault_classify(ERR_INVALID, "tampered", &gone),
	    EXPORT_FAULT_ABSENT);
	msg_for(msg, sizeof(msg), "outbox/x", ENOENT);
	assert_int_equal(export_fault_classify(ERR_IO, msg, &m),
	    EXPORT_FAULT_ABSENT);
	assert_int_equal(export_fault_classify(ERR_IO, "outbox/x: the medium "
	    "was removed during the export (...)", &m), EXPORT_FAULT_ABSENT);
	msg_for(msg, sizeof(msg), "outbox/x", EIO);
	assert_int_equal(export_fault_classify(ERR_IO, msg, &m),
	    EXPORT_FAULT_IO);
	assert_int_equal(export_fault_classify(ERR_IO, msg, NULL),
	    EXPORT_FAULT_IO);
	msg_for(msg, sizeof(msg), "outbox/x", EACCES);
	assert_int_equal(export_fault_classify(ERR_PERM, msg, &m),
	    EXPORT_FAULT_READONLY);

	/* Negative: failures that are not the medium's stay "other". */
	msg_for(msg, sizeof(msg), "outbox/x", ENOSPC);
	assert_int_equal(export_fault_classify(ERR_INVALID, msg, &m),
	    EXPORT_FAULT_OTHER);
	assert_int_equal(export_fault_classify(ERR_CRYPTO, NULL, &full),
	    EXPORT_FAULT_OTHER);
	assert_int_equal(export_fault_classify(ERR_LIMIT, NULL, &m),
	    EXPORT_FAULT_OTHER);
	/* The store's disk full is not the medium's, ENOSPC or not. */
	assert_int_equal(export_fault_classify(ERR_IO, "/s/airlock.db: COMMIT: "
	    "disk full: the database cannot grow", &m), EXPORT_FAULT_OTHER);
}

static void
test_names(void **state)
{
	int f;

	(void)state;
	for (f = EXPORT_FAULT_NONE; f <= EXPORT_FAULT_OTHER; f++) {
		assert_non_null(export_fault_name((enum export_fault)f));
		assert_non_null(export_fault_advice((enum export_fault)f));
	}
	assert_string_equal(export_fault_name(EXPORT_FAULT_FULL),
	    "medium full");
	assert_contains(export_fault_advice(EXPORT_FAULT_ABSENT), "insert");
	/* Out of range: still a name, never NULL. */
	assert_string_equal(export_fault_name((enum export_fault)99),
	    "export error");
}

static void
test_delay(void **state)
{
	(void)state;
	assert_int_equal(export_retry_delay(0), 0);
	assert_int_equal(export_retry_delay(1), EXPORT_RETRY_MIN);
	assert_int_equal(export_retry_delay(2), 2 * EXPORT_RETRY_MIN);
	assert_int_equal(export_retry_delay(3), 4 * EXPORT_RETRY_MIN);
	assert_int_equal(export_retry_delay(6), EXPORT_RETRY_MAX);
	assert_int_equal(export_retry_delay(64), EXPORT_RETRY_MAX);
	assert_int_equal(export_retry_delay(~0u), EXPORT_RETRY_MAX);
}

/* Reported once per kind; backs off; a changed medium is tried at once. */
static void
test_retry(void **state)
{
	struct export_retry r;
	struct export_medium m = medium_ok(), other, ro, gone, roomier;
	time_t t = 1000;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&gone, 0, sizeof(gone));
	assert_true(export_retry_due(&r, &m, t));
	assert_int_equal(export_retry_ok(&r), 0);

	assert_int_equal(export_retry_failed(&r, EXPORT_FAULT_FULL, &m, t), 1);
	assert_int_equal(r.next_at, t + EXPORT_RETRY_MIN);
	/* The same medium, the same state: wait. */
	assert_false(export_retry_due(&r, &m, t + 1));
	assert_false(export_retry_due(&r, NULL, t + 1));
	assert_true(export_retry_due(&r, &m, t + EXPORT_RETRY_MIN));
	/* A repeat of the same kind is not reported again; it backs off. */
	assert_int_equal(export_retry_failed(&r, EXPORT_FAULT_FULL, &m, t), 0);
	assert_int_equal(r.next_at, t + 2 * EXPORT_RETRY_MIN);
	assert_int_equal(export_retry_failed(&r, EXPORT_FAULT_FULL, &m, t), 0);
	assert_int_equal(r.failures, 3);

	/* Another stick (another device), space freed, taken out: at once. */
	other = m;
	other.dev = 8;
	assert_true(export_retry_due(&r, &other, t + 1));
	roomier = m;
	roomier.avail = m.avail + 4096;
	assert_true(export_retry_due(&r, &roomier, t + 1));
	assert_true(export_retry_due(&r, &gone, t + 1));
	/* Less room is no reason to try before the back-off. */
	roomier.avail = m.avail - 4096;
	assert_false(export_retry_due(&r, &roomier, t + 1));

	/* Another kind is reported. */
	assert_int_equal(export_retry_failed(&r, EXPORT_FAULT_ABSENT, &gone,
	    t), 1);
	/* Still absent: wait; inserted: at once. */
	assert_false(export_retry_due(&r, &gone, t + 1));
	assert_true(export_retry_due(&r, &m, t + 1));
	assert_int_equal(export_retry_failed(&r, EXPORT_FAULT_READONLY, &m,
	    t), 1);
	ro = m;
	ro.readonly = 1;
	assert_int_equal(export_retry_failed(&r, EXPORT_FAULT_READONLY, &ro,
	    t), 0);
	/* Remounted writable: at once. */
	assert_true(export_retry_due(&r, &m, t + 1));
	assert_false(export_retry_due(&r, &ro, t + 1));

	/* Success clears; the next failure is reported again. */
	assert_int_equal(export_retry_ok(&r), 1);
	assert_int_equal(r.failures, 0);
	assert_true(export_retry_due(&r, &ro, t));
	assert_int_equal(export_retry_failed(&r, EXPORT_FAULT_READONLY, NULL,
	    t), 1);
	/* Many failures: the count and the delay stay bounded. */
	for (int i = 0; i < 1000; i++)
		(void)export_retry_failed(&r, EXPORT_FAULT_IO, NULL, t);
	assert_true(r.failures <= 64);
	assert_int_equal(r.next_at, t + EXPORT_RETRY_MAX);
}

/* The probe on real directories. */
static void
test_probe(void **state)
{
	struct export_medium m;
	char dir[PATH_MAX], file[PATH_MAX + 8];
	FILE *fp;

	(void)state;
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "fault"), 0);
	export_medium_probe(dir, &m);
	assert_true(m.present);
	assert_false(m.readonly);
	assert_true(m.avail > 0);
	assert_true(m.ino != 0);
	/* A file where the outbox should be, or nothing: absent. */
	snprintf(file, sizeof(file), "%s/f", dir);
	assert_non_null(fp = fopen(file, "w"));
	fclose(fp);
	export_medium_probe(file, &m);
	assert_false(m.present);
	snprintf(file, sizeof(file), "%s/none", dir);
	export_medium_probe(file, &m);
	assert_false(m.present);
	export_medium_probe(NULL, &m);
	assert_false(m.present);
	/* Not writable (root ignores modes, so only as a user). */
	if (geteuid() != 0) {
		assert_int_equal(chmod(dir, 0500), 0);
		export_medium_probe(dir, &m);
		assert_true(m.present);
		assert_true(m.readonly);
		assert_int_equal(chmod(dir, 0700), 0);
	}
	assert_int_equal(testutil_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
