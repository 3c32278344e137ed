/* test_oids.c: Airlock OIDs and EKU name resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/objects.h>
#include <pthread.h>
#include <string.h>

#include "pki/oids.h"
#include "util/err.h"

static void
test_init_idempotent(void **state)
{
	int nid;

	(void)state;
	assert_int_equal(oids_init(), 0);
	nid = oids_nid(OIDS_ROLE_OFFICER);
	assert_int_not_equal(nid, NID_undef);
	assert_int_equal(oids_init(), 0);
	assert_int_equal(oids_nid(OIDS_ROLE_OFFICER), nid);
	assert_string_equal(OBJ_nid2sn(nid), "airlockOfficer");
	assert_int_equal(OBJ_txt2nid(OIDS_ARC ".1.1"), nid);
	assert_int_equal(OBJ_sn2nid("airlockTransport"),
	    oids_nid(OIDS_PURPOSE_TRANSPORT));
	assert_int_equal(oids_nid(OIDS_COUNT), NID_undef);
}

static void *
init_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)oids_nid(OIDS_PURPOSE_AUDIT);
}

static void
test_threads(void **state)
{
	pthread_t t[8];
	void *r;
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, init_thread, NULL),
		    0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_int_equal((int)(intptr_t)r,
		    oids_nid(OIDS_PURPOSE_AUDIT));
	}
}

static void
test_dotted_values(void **state)
{
	static const char *const want[OIDS_COUNT] = { ".1.1", ".1.2", ".1.3",
	    ".2.1", ".2.2", ".2.3" };
	char buf[128];
	int i;

	(void)state;
	for (i = 0; i < OIDS_COUNT; i++) {
		snprintf(buf, sizeof(buf), "%s%s", OIDS_ARC, want[i]);
		assert_string_equal(oids_dotted((enum oids_id)i), buf);
		assert_int_equal(oids_eku_resolve(
		    oids_yaml_name((enum oids_id)i), buf, sizeof(buf)), 0);
		assert_string_equal(buf, oids_dotted((enum oids_id)i));
	}
	assert_null(oids_dotted(OIDS_COUNT));
}

static void
test_resolve(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(oids_eku_resolve("serverAuth", out, sizeof(out)), 0);
	assert_string_equal(out, "1.3.6.1.5.5.7.3.1");
	assert_int_equal(oids_eku_resolve("OCSPSigning", out, sizeof(out)), 0);
	assert_string_equal(out, "1.3.6.1.5.5.7.3.9");
	assert_int_equal(oids_eku_resolve("1.2.3.4", out, sizeof(out)), 0);
	assert_string_equal(out, "1.2.3.4");
	assert_int_equal(oids_eku_resolve("airlock-officer", out, 10),
	    ERR_LIMIT);
	assert_int_equal(oids_eku_resolve("serverauth", out, sizeof(out)),
	    ERR_INVALID);
	assert_int_equal(oids_eku_resolve("1.02.3", out, sizeof(out)),
	    ERR_INVALID);
	assert_int_equal(oids_eku_resolve("1..2", out, sizeof(out)),
	    ERR_INVALID);
	assert_int_equal(oids_eku_resolve("7.1", out, sizeof(out)),
	    ERR_INVALID);
	assert_int_equal(oids_eku_resolve("1", out, sizeof(out)), ERR_INVALID);
	assert_int_equal(oids_eku_resolve("1.2.", out, sizeof(out)),
	    ERR_INVALID);
	assert_int_equal(oids_eku_resolve("-1.2", out, sizeof(out)),
	    ERR_INVALID);
	assert_int_equal(oids_eku_resolve("", out, sizeof(out)), ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_idempotent),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_dotted_values),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
