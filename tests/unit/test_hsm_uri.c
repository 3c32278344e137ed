/* test_hsm_uri.c: the strict PKCS#11 URI parser and formatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hsm/hsm_uri.h"

static void
test_parse_full(void **state)
{
	struct hsm_uri u;
	err_t err;
	static const unsigned char id[] = { 0x01, 0xab, 0x00, 0xff };

	(void)state;
	assert_int_equal(hsm_uri_parse("pkcs11:token=Airlock%20Root;"
	    "serial=1234abcd;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;"
	    "object=root-2025;id=%01%AB%00%ff;type=private"
	    "?module-path=/usr/lib/softhsm/libsofthsm2.so", &u, &err), 0);
	assert_string_equal(u.token, "Airlock Root");
	assert_string_equal(u.serial, "1234abcd");
	assert_string_equal(u.manufacturer, "SoftHSM project");
	assert_string_equal(u.model, "SoftHSM v2");
	assert_string_equal(u.object, "root-2025");
	assert_int_equal(u.id_len, sizeof(id));
	assert_memory_equal(u.id, id, sizeof(id));
	assert_int_equal(u.type, HSM_URI_TYPE_PRIVATE);
	assert_string_equal(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
}

static void
test_roundtrip(void **state)
{
	static const char *const uris[] = {
		"pkcs11:",
		"pkcs11:token=airlock-test",
		"pkcs11:token=Airlock%20Root;object=issuing%3Bca;id=%00%01%02;"
		    "type=private",
		"pkcs11:serial=0123456789abcdef;type=cert",
		"pkcs11:object=k?module-path=/usr/lib/softhsm/libsofthsm2.so",
		"pkcs11:type=secret-key",
		"pkcs11:type=data;object=a%2Fb",
	};
	struct hsm_uri u, v;
	char out[HSM_URI_MAX + 1], out2[HSM_URI_MAX + 1];
	err_t err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		if (hsm_uri_parse(uris[i], &u, &err) != 0)
			fail_msg("%s: %s", uris[i], err.msg);
		assert_int_equal(hsm_uri_format(&u, out, sizeof(out)), 0);
		assert_int_equal(hsm_uri_parse(out, &v, &err), 0);
		assert_memory_equal(&u, &v, sizeof(u));
		assert_int_equal(hsm_uri_format(&v, out2, sizeof(out2)), 0);
		assert_string_equal(out, out2);
	}
	/* Canonical form: fixed attribute order, upper-case hex ids. */
	assert_int_equal(hsm_uri_parse("pkcs11:type=private;id=%0a;object=x;"
	    "token=t", &u, &err), 0);
	assert_int_equal(hsm_uri_format(&u, out, sizeof(out)), 0);
	assert_string_equal(out, "pkcs11:token=t;object=x;id=%0A;"
	    "type=private");
}

static void
test_format_limit(void **state)
{
	struct hsm_uri u;
	char small[16];

	(void)state;
	hsm_uri_init(&u);
	snprintf(u.token, sizeof(u.token), "a-rather-long-token-label");
	assert_int_equal(hsm_uri_format(&u, small, sizeof(small)), ERR_LIMIT);
	u.id_len = 64;
	memset(u.id, 0xff, sizeof(u.id));
	{
		char big[1024];

		assert_int_equal(hsm_uri_format(&u, big, sizeof(big)), 0);
		assert_int_equal(strlen(big), strlen("pkcs11:token="
		    "a-rather-long-token-label;id=") + 64 * 3);
	}
}

static void
reject(const char *s, int code, const char *needle)
{
	struct hsm_uri u;
	err_t err;

	err_clear(&err);
	memset(&u, 0x55, sizeof(u));
	if (hsm_uri_parse(s, &u, &err) != code)
		fail_msg("'%s' gave %d (%s), expected %d", s ? s : "(null)",
		    err.code, err.msg, code);
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", s, err.msg, needle);
	/* A refused URI leaves nothing half-parsed behind. */
	assert_string_equal(u.token, "");
	assert_int_equal(u.id_len, 0);
}

static void
test_rejects(void **state)
{
	char longv[200], huge[HSM_URI_MAX + 16];

	(void)state;
	reject("", ERR_INVALID, "empty");
	reject(NULL, ERR_INVALID, "empty");
	reject("pkcs11", ERR_INVALID, "pkcs11:");
	reject("http://x", ERR_INVALID, "not a PKCS#11 URI");
	reject("pkcs11:token=a;pin-value=1234", ERR_INVALID, "must not carry");
	reject("pkcs11:token=a?pin-value=1234", ERR_INVALID, "must not carry");
	reject("pkcs11:token=a?pin-source=file:/x", ERR_INVALID,
	    "must not carry");
	reject("pkcs11:token=a;slot-id=1", ERR_INVALID, "unknown");
	reject("pkcs11:library-version=1", ERR_INVALID, "unknown");
	reject("pkcs11:token=a?module-name=softhsm2", ERR_INVALID, "unknown");
	reject("pkcs11:module-path=/x", ERR_INVALID, "unknown");
	reject("pkcs11:token=a;token=b", ERR_INVALID, "more than once");
	reject("pkcs11:id=%0;object=a", ERR_INVALID, "percent");
	reject("pkcs11:id=%zz", ERR_INVALID, "percent");
	reject("pkcs11:id=%", ERR_INVALID, "percent");
	reject("pkcs11:object=a%00b", ERR_INVALID, "control");
	reject("pkcs11:object=a b", ERR_INVALID, "percent-encoded");
	reject("pkcs11:token=", ERR_INVALID, "empty value");
	reject("pkcs11:token", ERR_INVALID, "name=value");
	reject("pkcs11:=x", ERR_INVALID, "name=value");
	reject("pkcs11:token=a;", ERR_INVALID, "stray");
	reject("pkcs11:token=a;;object=b", ERR_INVALID, "empty attribute");
	reject("pkcs11:token=a?", ERR_INVALID, "empty query");
	reject("pkcs11:type=secret", ERR_INVALID, "type");
	reject("pkcs11:token=123456789012345678901234567890123",
	    ERR_LIMIT, "longer than 32");
	reject("pkcs11:serial=12345678901234567", ERR_LIMIT, "longer than 16");
	memset(longv, 'a', sizeof(longv));
	memcpy(longv, "pkcs11:object=", 14);
	longv[sizeof(longv) - 1] = '\0';
	reject(longv, ERR_LIMIT, "longer than 128");
	memset(huge, 'a', sizeof(huge));
	memcpy(huge, "pkcs11:object=", 14);
	huge[sizeof(huge) - 1] = '\0';
	reject(huge, ERR_LIMIT, "longer than");
	{
		char id[16 + 65 * 3] = "pkcs11:id=";
		int i;

		for (i = 0; i < 65; i++)
			strcat(id, "%01");
		reject(id, ERR_LIMIT, "longer than 64");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_format_limit),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
