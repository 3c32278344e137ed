/*
 * test_script.c: ceremony scripts load strictly. Every shipped example
 * loads with the content its comments promise, and every mistake an
 * officer can make is reported with the file, the line and the key, so
 * it can be fixed before any HSM is touched.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "ceremony/script.h"
#include "testutil.h"
#include "util/fileio.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

/* The source tree (for the shipped examples) and a scratch directory. */
static char repo[PATH_MAX];
static char tmpdir[128];

static int
group_setup(void **state)
{
	(void)state;
	if (testutil_srcdir(repo, sizeof(repo)) != 0)
		return -1;
	return testutil_tmpdir(tmpdir, sizeof(tmpdir), "script");
}

static int
group_teardown(void **state)
{
	(void)state;
	return testutil_rmtree(tmpdir);
}

/* A path in the scratch directory (one static buffer: use at once). */
static const char *
tmp(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f;

	(void)unlink(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Loads a shipped example, failing with every message when it does not. */
static void
load_example(const char *rel, struct script *s)
{
	char path[PATH_MAX + 64];
	diag_t d;
	err_t e;

	snprintf(path, sizeof(path), "%s/ceremony/examples/%s", repo, rel);
	diag_init(&d);
	err_clear(&e);
	if (script_load(path, s, &d, &e) != 0) {
		char line[ERR_MSG_MAX];
		size_t i;

		for (i = 0; i < d.n; i++) {
			diag_format(&d, i, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		diag_free(&d);
		fail_msg("%s does not load: %s", rel, e.msg);
	}
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
}

/* text with the first occurrence of old replaced by new (caller frees). */
static char *
edit(const char *text, const char *old, const char *new)
{
	const char *at = strstr(text, old);
	size_t head, len;
	char *out;

	if (at == NULL)
		fail_msg("test bug: '%s' is not in the base script", old);
	head = (size_t)(at - text);
	len = strlen(text) - strlen(old) + strlen(new);
	out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, text, head);
	memcpy(out + head, new, strlen(new));
	strcpy(out + head + strlen(new), at + strlen(old));
	return out;
}

/*
 * The 1-based line on which needle starts in text. Computed here, from
 * the text, so that a test does not take the parser's word for lines.
 */
static unsigned long
line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle), *p;
	unsigned long line = 1;

	if (at == NULL)
		fail_msg("test bug: '%s' is not in the script", needle);
	for (p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Writes text as a script in the scratch directory and loads it. */
static int
load_text(const char *text, struct script *s, diag_t *d, err_t *e)
{
	const char *path = tmp("s.yaml");

	write_file(path, text, strlen(text));
	diag_init(d);
	err_clear(e);
	return script_load(path, s, d, e);
}

/*
 * Index of the diag message located at FILE:LINE that contains both key
 * and what, or -1. Prints every message when none does, so a failure
 * shows what the officer would actually have seen.
 */
static long
find_msg(const diag_t *d, unsigned long line, const char *key,
    const char *what)
{
	char prefix[300], m[ERR_MSG_MAX];
	size_t i;

	snprintf(prefix, sizeof(prefix), "%s:%lu: ", tmp("s.yaml"), line);
	for (i = 0; i < d->n; i++) {
		diag_format(d, i, m, sizeof(m));
		if (strncmp(m, prefix, strlen(prefix)) == 0 &&
		    strstr(m, key) != NULL && strstr(m, what) != NULL)
			return (long)i;
	}
	fprintf(stderr, "wanted at %s: '%s' and '%s'; got:\n", prefix, key, what);
	for (i = 0; i < d->n; i++) {
		diag_format(d, i, m, sizeof(m));
		fprintf(stderr, "  %s\n", m);
	}
	return -1;
}

/*
 * Loads text expecting ERR_INVALID and a message at the line where
 * `at` starts that names key and says what.
 */
static void
expect_error(const char *text, const char *at, const char *key,
    const char *what)
{
	struct script s;
	diag_t d;
	err_t e;
	int r = load_text(text, &s, &d, &e);

	if (r != ERR_INVALID)
		fail_msg("expected invalid, got %s (%s)", err_code_name(r), e.msg);
	/* The single err_t the CLI prints must name the file as well. */
	assert_contains(e.msg, tmp("s.yaml"));
	if (find_msg(&d, line_of(text, at), key, what) < 0)
		fail_msg("no message at the line of '%s'", at);
	script_free(&s);
	diag_free(&d);
}

/* Like expect_error for an edited copy of base. */
static void
expect_edit_error(const char *base, const char *old, const char *new,
    const char *at, const char *key, const char *what)
{
	char *text = edit(base, old, new);

	expect_error(text, at, key, what);
	free(text);
}

static void
expect_edit_ok(const char *base, const char *old, const char *new,
    struct script *s)
{
	char *text = edit(base, old, new);
	diag_t d;
	err_t e;
	int r = load_text(text, s, &d, &e);

	if (r != 0)
		fail_msg("expected the edited script to load: %s", e.msg);
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
	free(text);
}

#define HEAD(type) \
    "# A test ceremony.\n" \
    "airlock_ceremony: 1\n" \
    "name: t-" type "\n" \
    "type: " type "\n" \
    "hsm:\n" \
    "  module: /usr/lib/softhsm/libsofthsm2.so\n" \
    "  token: airlock-ca\n" \
    "present:\n" \
    "  - name: Alice Example\n" \
    "    role: ceremony officer\n"

#define VALIDITY(indent) \
    indent "validity:\n" \
    indent "  not_before: 2026-01-01T00:00:00Z\n" \
    indent "  not_after: 2036-01-01T00:00:00Z\n"

static const char root_yaml[] =
    HEAD("root")
    "ca:\n"
    "  name: root\n"
    "  key:\n"
    "    label: root-key\n"
    "    algorithm: ec-p256\n"
    "  certificate:\n"
    "    subject:\n"
    "      - CN: Test Root\n"
    VALIDITY("    ")
    "    key_usage: [keyCertSign, cRLSign]\n"
    "    basic_constraints:\n"
    "      ca: true\n"
    "      path_len: 1\n";

static const char intermediate_yaml[] =
    HEAD("intermediate")
    "issuer:\n"
    "  certificate: root.pem\n"
    "  key: root-key\n"
    "ca:\n"
    "  name: sub\n"
    "  purpose: devices\n"
    "  key:\n"
    "    label: sub-key\n"
    "    algorithm: ec-p256\n"
    "  certificate:\n"
    "    subject:\n"
    "      - CN: Test Sub CA\n"
    VALIDITY("    ")
    "    basic_constraints:\n"
    "      ca: true\n";

static const char enrol_yaml[] =
    HEAD("enrol")
    "issuer:\n"
    "  certificate: people-ca.pem\n"
    "  key: people-ca-key\n"
    "certificate:\n"
    "  subject:\n"
    "    - O: Test\n"
    VALIDITY("  ")
    "  key_usage: [digitalSignature]\n"
    "people:\n"
    "  - id: alice\n"
    "    name: Alice Example\n"
    "    role: officer\n"
    "    key: \"pkcs11:token=alice;object=alice-key\"\n"
    "  - id: bob\n"
    "    name: Bob Example\n"
    "    role: operator\n"
    "    key_file: bob.key.pem\n";

static const char appliance_yaml[] =
    HEAD("appliance")
    "issuer:\n"
    "  certificate: people-ca.pem\n"
    "  key: people-ca-key\n"
    "appliance_name: Airlock t-1\n"
    "certificate:\n"
    "  subject:\n"
    "    - O: Test\n"
    VALIDITY("  ")
    "keys:\n"
    "  export:\n"
    "    label: app-export\n"
    "    algorithm: ec-p256\n"
    "  audit:\n"
    "    label: app-audit\n"
    "    algorithm: ec-p256\n"
    "  transport:\n"
    "    label: app-transport\n"
    "    algorithm: rsa-2048\n";

static const char split_yaml[] =
    HEAD("split-pin")
    "issuer:\n"
    "  certificate: people-ca.pem\n"
    "  key: people-ca-key\n"
    "split:\n"
    "  threshold: 2\n"
    "  officers: [gina.pem, hana.pem, ivan.pem]\n";

/* ---- the shipped examples ------------------------------------------- */

static void
test_examples_all_load(void **state)
{
	static const struct {
		const char *file, *name;
		enum script_type type;
	} ex[] = {
		{ "rsa/01-root.yaml", "root-2026", SCRIPT_ROOT },
		{ "rsa/02-device-ca.yaml", "device-ca-2026", SCRIPT_INTERMEDIATE },
		{ "rsa/03-people-ca.yaml", "people-ca-2026", SCRIPT_INTERMEDIATE },
		{ "rsa/04-root-crl.yaml", "root-crl-1", SCRIPT_CRL },
		{ "rsa/05-enrol.yaml", "enrol-2026", SCRIPT_ENROL },
		{ "rsa/06-appliance.yaml", "appliance-2026", SCRIPT_APPLIANCE },
		{ "ec/01-root.yaml", "ec-root-2026", SCRIPT_ROOT },
		{ "ec/02-device-ca.yaml", "ec-device-ca-2026", SCRIPT_INTERMEDIATE },
		{ "ec/03-root-crl.yaml", "ec-root-crl-1", SCRIPT_CRL },
		{ "people/alice-key.yaml", "alice-key-2026", SCRIPT_KEY },
		{ "people/bob-key.yaml", "bob-key-2026", SCRIPT_KEY },
		{ "people/dave-key.yaml", "dave-key-2026", SCRIPT_KEY },
		{ "people/erin-key.yaml", "erin-key-2026", SCRIPT_KEY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct script s;

		load_example(ex[i].file, &s);
		assert_string_equal(s.name, ex[i].name);
		assert_int_equal(s.type, ex[i].type);
		assert_string_equal(s.module, "/usr/lib/softhsm/libsofthsm2.so");
		assert_true(s.n_present >= 1);
		script_free(&s);
	}
}

/* The script's SHA-256 goes into the transcript: it must be of its bytes. */
static void
test_example_path_dir_and_sha256(void **state)
{
	char path[PATH_MAX + 64], dir[PATH_MAX + 64];
	unsigned char md[32];
	struct script s;
	buf_t b;
	err_t e;

	(void)state;
	load_example("rsa/01-root.yaml", &s);
	snprintf(path, sizeof(path), "%s/ceremony/examples/rsa/01-root.yaml",
	    repo);
	snprintf(dir, sizeof(dir), "%s/ceremony/examples/rsa", repo);
	assert_string_equal(s.path, path);
	assert_string_equal(s.dir, dir);
	buf_init(&b, 1024 * 1024);
	assert_int_equal(fileio_read(path, 1024 * 1024, &b, &e), 0);
	assert_int_equal(EVP_Digest(b.data, b.len, md, NULL, EVP_sha256(),
	    NULL), 1);
	assert_memory_equal(s.sha256, md, sizeof(md));
	buf_free(&b);
	script_free(&s);
}

static void
test_example_rsa_root(void **state)
{
	struct script s;

	(void)state;
	load_example("rsa/01-root.yaml", &s);
	assert_int_equal(s.type, SCRIPT_ROOT);
	assert_string_equal(s.token, "airlock-ca");
	assert_null(s.token_serial);
	assert_int_equal(s.n_present, 3);
	assert_string_equal(s.present[2].name, "Carol Example");
	assert_string_equal(s.present[2].role, "witness (internal audit)");
	assert_string_equal(s.ca_name, "root");
	assert_int_equal(s.ca_purpose, SCRIPT_CA_ROOT);
	assert_string_equal(s.ca_key.label, "root-2026");
	assert_string_equal(s.ca_key.algorithm, "rsa-4096");
	assert_int_equal(s.ca_key.spec.type, HSM_KEY_RSA);
	assert_int_equal(s.ca_key.spec.bits, 4096);
	assert_int_equal(s.ca_key.spec.usage, HSM_USAGE_SIGN);
	assert_string_equal(s.ca_key.spec.label, "root-2026");
	assert_null(s.ca_key.token);
	assert_true(s.has_cert);
	assert_true(s.cert.ext.has_basic_constraints);
	assert_true(s.cert.ext.bc_ca);
	assert_int_equal(s.cert.ext.bc_path_len, -1);
	assert_int_equal(s.cert.ext.key_usage,
	    CERTSPEC_KU_KEY_CERT_SIGN | CERTSPEC_KU_CRL_SIGN);
	assert_int_equal(s.cert.digest, CERTSPEC_MD_SHA256);
	assert_int_equal(s.cert.subject.n, 4);
	assert_int_equal(s.cert.subject.attrs[3].nid, NID_commonName);
	assert_string_equal(s.cert.subject.attrs[3].value,
	    "Example Devices Root CA 2026");
	/* 2051-11-01T00:00:00Z: the comment promises a GeneralizedTime. */
	assert_int_equal(s.cert.not_after, 2582409600LL);
	script_free(&s);
}

static void
test_example_rsa_device_ca(void **state)
{
	struct script s;

	(void)state;
	load_example("rsa/02-device-ca.yaml", &s);
	assert_int_equal(s.type, SCRIPT_INTERMEDIATE);
	assert_string_equal(s.issuer.certificate, "root.pem");
	assert_string_equal(s.issuer.key, "root-2026");
	assert_string_equal(s.ca_name, "device-ca");
	assert_int_equal(s.ca_purpose, SCRIPT_CA_DEVICES);
	assert_string_equal(script_purpose_name(s.ca_purpose), "devices");
	assert_null(s.ca_csr);
	assert_string_equal(s.ca_key.algorithm, "rsa-2048");
	assert_int_equal(s.ca_key.spec.bits, 2048);
	assert_true(s.cert.ext.bc_ca);
	assert_int_equal(s.cert.ext.bc_path_len, 0);
	assert_int_equal(s.cert.ext.crl_dp.n, 1);
	assert_string_equal(s.cert.ext.crl_dp.v[0],
	    "http://pki.example.com/crl/root.crl");
	assert_int_equal(s.cert.ext.n_policies, 1);
	assert_string_equal(s.cert.ext.policies[0].oid, "1.3.6.1.4.1.99999.1.1");
	script_free(&s);
}

static void
test_example_rsa_people_ca(void **state)
{
	struct script s;

	(void)state;
	load_example("rsa/03-people-ca.yaml", &s);
	assert_int_equal(s.ca_purpose, SCRIPT_CA_PEOPLE);
	assert_string_equal(s.ca_key.algorithm, "ec-p256");
	assert_int_equal(s.ca_key.spec.type, HSM_KEY_EC);
	assert_int_equal(s.ca_key.spec.curve_nid, NID_X9_62_prime256v1);
	assert_int_equal(s.cert.ext.bc_path_len, 0);
	script_free(&s);
}

static void
test_example_rsa_root_crl(void **state)
{
	struct script s;

	(void)state;
	load_example("rsa/04-root-crl.yaml", &s);
	assert_int_equal(s.type, SCRIPT_CRL);
	assert_true(s.has_crl);
	assert_int_equal(s.crl.number, 1);
	assert_int_equal(s.crl.n_entries, 0);
	assert_null(s.crl.distribution_point);
	assert_int_equal(s.crl.this_update, 1795132800LL);	/* 2026-11-20 */
	assert_int_equal(s.crl.next_update, 1826668800LL);	/* 2027-11-20 */
	assert_string_equal(s.issuer.certificate, "root.pem");
	assert_false(s.has_cert);
	script_free(&s);
}

static void
test_example_rsa_enrol(void **state)
{
	static const struct {
		const char *id, *name;
		enum script_role role;
		const char *key;
	} want[] = {
		{ "alice", "Alice Example", SCRIPT_ROLE_OFFICER,
		    "pkcs11:token=alice;object=alice-2026" },
		{ "bob", "Bob Example", SCRIPT_ROLE_OFFICER,
		    "pkcs11:token=bob;object=bob-2026" },
		{ "erin", "Erin Example", SCRIPT_ROLE_OFFICER,
		    "pkcs11:token=erin;object=erin-2026" },
		{ "dave", "Dave Example", SCRIPT_ROLE_OPERATOR,
		    "pkcs11:token=dave;object=dave-2026" },
		{ "carol", "Carol Example", SCRIPT_ROLE_AUDITOR, NULL },
	};
	struct script s;
	size_t i;

	(void)state;
	load_example("rsa/05-enrol.yaml", &s);
	assert_int_equal(s.type, SCRIPT_ENROL);
	assert_string_equal(s.issuer.certificate, "people-ca.pem");
	assert_string_equal(s.issuer.key, "people-ca-2026");
	assert_int_equal(s.n_people, 5);
	for (i = 0; i < 5; i++) {
		const struct script_person *p = &s.people[i];

		assert_string_equal(p->id, want[i].id);
		assert_string_equal(p->name, want[i].name);
		assert_int_equal(p->role, want[i].role);
		if (want[i].key != NULL) {
			assert_string_equal(p->key_uri, want[i].key);
			assert_null(p->key_file);
		} else {
			assert_null(p->key_uri);
			assert_string_equal(p->key_file,
			    "../people/carol.key.pem");
		}
		assert_true(p->line > 0);
	}
	assert_string_equal(script_role_name(s.people[4].role), "auditor");
	/* The template: end entity, and no CN (the ceremony adds it). */
	assert_true(s.has_cert);
	assert_false(s.cert.ext.bc_ca);
	for (i = 0; i < s.cert.subject.n; i++)
		assert_int_not_equal(s.cert.subject.attrs[i].nid, NID_commonName);
	assert_int_equal(s.cert.ext.key_usage, CERTSPEC_KU_DIGITAL_SIGNATURE);
	script_free(&s);
}

static void
test_example_rsa_appliance(void **state)
{
	struct script s;

	(void)state;
	load_example("rsa/06-appliance.yaml", &s);
	assert_int_equal(s.type, SCRIPT_APPLIANCE);
	assert_string_equal(s.appliance_name, "Airlock airlock-1");
	assert_string_equal(s.appkeys[SCRIPT_APPKEY_EXPORT].label,
	    "appliance-export-2026");
	assert_string_equal(s.appkeys[SCRIPT_APPKEY_AUDIT].label,
	    "appliance-audit-2026");
	assert_string_equal(s.appkeys[SCRIPT_APPKEY_TRANSPORT].label,
	    "appliance-transport-2026");
	assert_int_equal(s.appkeys[SCRIPT_APPKEY_EXPORT].spec.usage,
	    HSM_USAGE_SIGN);
	assert_int_equal(s.appkeys[SCRIPT_APPKEY_AUDIT].spec.usage,
	    HSM_USAGE_SIGN);
	/* An RSA transport key decrypts bundle keys; it never signs. */
	assert_int_equal(s.appkeys[SCRIPT_APPKEY_TRANSPORT].spec.type,
	    HSM_KEY_RSA);
	assert_int_equal(s.appkeys[SCRIPT_APPKEY_TRANSPORT].spec.bits, 3072);
	assert_int_equal(s.appkeys[SCRIPT_APPKEY_TRANSPORT].spec.usage,
	    HSM_USAGE_DECRYPT);
	assert_false(s.cert.ext.has_key_usage);
	assert_int_equal(s.cert.ext.eku.n, 0);
	script_free(&s);
}

static void
test_example_ec(void **state)
{
	struct script s;

	(void)state;
	load_example("ec/01-root.yaml", &s);
	assert_string_equal(s.ca_key.algorithm, "ec-p384");
	assert_int_equal(s.ca_key.spec.type, HSM_KEY_EC);
	assert_int_equal(s.ca_key.spec.curve_nid, NID_secp384r1);
	script_free(&s);

	load_example("ec/02-device-ca.yaml", &s);
	assert_int_equal(s.ca_purpose, SCRIPT_CA_DEVICES);
	assert_true(s.cert.ext.has_name_constraints);
	assert_int_equal(s.cert.ext.nc_permitted.n, 2);
	assert_int_equal(s.cert.ext.nc_permitted.v[0].type, CERTSPEC_GN_DNS);
	assert_string_equal(s.cert.ext.nc_permitted.v[0].value,
	    "devices.example.com");
	assert_int_equal(s.cert.ext.nc_permitted.v[1].type, CERTSPEC_GN_DIRNAME);
	script_free(&s);
}

static void
test_example_person_key(void **state)
{
	struct script s;

	(void)state;
	load_example("people/alice-key.yaml", &s);
	assert_int_equal(s.type, SCRIPT_KEY);
	assert_string_equal(s.token, "alice");
	assert_string_equal(s.key.label, "alice-2026");
	assert_string_equal(s.key.algorithm, "ec-p256");
	assert_int_equal(s.key.spec.usage, HSM_USAGE_SIGN);
	assert_false(s.has_cert);
	script_free(&s);
}

/* The test's own base scripts must load, or every negative test is moot. */
static void
test_base_scripts_load(void **state)
{
	const char *bases[] = { root_yaml, intermediate_yaml, enrol_yaml,
	    appliance_yaml };
	struct script s;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		expect_edit_ok(bases[i], "", "", &s);
		script_free(&s);
	}
}

/*
 * Bundles are encrypted with RSA key transport: an EC transport key could
 * never open one, so the script is refused at the key's line.
 */
static void
test_appliance_ec_transport_refused(void **state)
{
	(void)state;
	expect_edit_error(appliance_yaml, "    label: app-transport\n"
	    "    algorithm: rsa-2048\n", "    label: app-transport\n"
	    "    algorithm: ec-p256\n", "    label: app-transport",
	    "keys.transport", "must be an RSA key");
}

/* A split-pin script: M of N officers, the PIN's length, and its limits. */
static void
test_split_pin(void **state)
{
	struct script s;
	diag_t d;
	err_t e;

	(void)state;
	assert_int_equal(load_text(split_yaml, &s, &d, &e), 0);
	assert_int_equal(s.type, SCRIPT_SPLIT_PIN);
	assert_string_equal(script_type_name(s.type), "split-pin");
	assert_int_equal(s.split_threshold, 2);
	assert_int_equal(s.split_pin_length, 32);
	assert_int_equal(s.n_split_officers, 3);
	assert_string_equal(s.split_officers[2], "ivan.pem");
	assert_string_equal(s.issuer.certificate, "people-ca.pem");
	script_free(&s);
	diag_free(&d);
	expect_edit_ok(split_yaml, "  threshold: 2\n", "  threshold: 3\n"
	    "  pin_length: 64\n", &s);
	assert_int_equal(s.split_threshold, 3);
	assert_int_equal(s.split_pin_length, 64);
	script_free(&s);
	expect_edit_error(split_yaml, "  threshold: 2\n", "  threshold: 4\n",
	    "  threshold:", "split.threshold 4", "more than the 3 officers");
	expect_edit_error(split_yaml, "  threshold: 2\n", "  threshold: 1\n",
	    "  threshold:", "threshold", "");
	expect_edit_error(split_yaml, "  threshold: 2\n", "  threshold: 2\n"
	    "  pin_length: 7\n", "  pin_length:", "pin_length", "");
	expect_edit_error(split_yaml, "[gina.pem, hana.pem, ivan.pem]",
	    "[gina.pem]", "  officers:", "split.officers", "2 to 16");
	expect_edit_error(split_yaml, "[gina.pem, hana.pem, ivan.pem]",
	    "[gina.pem, hana.pem, gina.pem]", "  officers:", "gina.pem",
	    "appears twice");
	expect_edit_error(split_yaml, "[gina.pem, hana.pem, ivan.pem]",
	    "[gina.pem, ../hana.pem]", "  officers:", "../hana.pem",
	    "without '/'");
	expect_edit_error(split_yaml, "[gina.pem, hana.pem, ivan.pem]",
	    "[gina.pem, hana.cer]", "  officers:", "hana.cer", "NAME.pem");
	/* A share kept on the officer's token instead of in a file. */
	expect_edit_ok(split_yaml, "ivan.pem]", "{certificate: ivan.pem, "
	    "token: \"pkcs11:token=ivan\"}]", &s);
	assert_null(s.split_tokens[0]);
	assert_string_equal(s.split_officers[2], "ivan.pem");
	assert_string_equal(s.split_tokens[2], "pkcs11:token=ivan");
	script_free(&s);
	expect_edit_error(split_yaml, "ivan.pem]", "{certificate: ivan.pem, "
	    "token: ivan}]", "  officers:", "token", "PKCS#11 URI");
	expect_edit_error(split_yaml, "ivan.pem]", "{certificate: ivan.pem}]",
	    "  officers:", "token", "");
	expect_edit_error(split_yaml, "split:\n", "splitt: 1\nsplit:\n",
	    "splitt:", "'splitt'", "unknown key");
	expect_edit_error(split_yaml, "  threshold: 2\n", "  threshold: 2\n"
	    "  pin: 1234\n", "  pin:", "'pin'", "unknown key");
}

/* ---- structure: unknown keys, types, versions --------------------------- */

static void
test_unknown_top_level_key(void **state)
{
	(void)state;
	expect_edit_error(root_yaml, "ca:\n", "descripton: typo\nca:\n",
	    "descripton:", "'descripton'", "did you mean 'description'");
}

static void
test_unknown_key_in_ca_key(void **state)
{
	(void)state;
	expect_edit_error(root_yaml, "    algorithm: ec-p256\n",
	    "    algorithm: ec-p256\n    size: 4096\n", "    size:",
	    "ca.key", "unknown key 'size'");
}

static void
test_unknown_key_in_person(void **state)
{
	(void)state;
	expect_edit_error(enrol_yaml, "    role: operator\n",
	    "    role: operator\n    email: bob@example.com\n", "    email:",
	    "people[1]", "unknown key 'email'");
}

static void
test_unknown_key_in_keys_export(void **state)
{
	(void)state;
	expect_edit_error(appliance_yaml, "    label: app-export\n",
	    "    label: app-export\n    usage: sign\n", "    usage:",
	    "keys.export", "unknown key 'usage'");
}

/* A section given as a scalar is a type error, not a missing section. */
static void
test_section_of_wrong_type(void **state)
{
	char *text = edit(root_yaml, "ca:\n  name: root\n", "ca: \"yes\"\n");
	char *cut = strstr(text, "  key:\n");

	(void)state;
	/* Drop what was the ca section's body so only the scalar remains. */
	assert_non_null(cut);
	*cut = '\0';
	expect_error(text, "ca: \"yes\"", "ca", "expected");
	free(text);
}

/* YAML's "yes" and a quoted number are exactly what strict typing refuses. */
static void
test_quoted_bool_and_int_refused(void **state)
{
	(void)state;
	expect_edit_error(root_yaml, "      ca: true\n", "      ca: \"yes\"\n",
	    "      ca: \"yes\"", "ca.certificate.basic_constraints.ca",
	    "true or false");
	expect_edit_error(root_yaml, "      path_len: 1\n",
	    "      path_len: \"0\"\n", "      path_len:",
	    "ca.certificate.basic_constraints.path_len", "expected");
}

static void
test_format_version_2_refused(void **state)
{
	char *text = edit(root_yaml, "airlock_ceremony: 1\nname: t-root\n",
	    "name: t-root\nairlock_ceremony: 2\n");

	(void)state;
	/* Moved below `name` so the line cannot be the mapping's first. */
	expect_error(text, "airlock_ceremony: 2", "airlock_ceremony 2",
	    "not a format this version reads");
	free(text);
}

/* Without a type nothing else can be checked, and nothing else is said. */
static void
test_missing_type(void **state)
{
	char *text = edit(root_yaml, "type: root\n", "");
	struct script s;
	diag_t d;
	err_t e;

	(void)state;
	assert_int_equal(load_text(text, &s, &d, &e), ERR_INVALID);
	assert_int_equal(diag_count(&d), 1);
	assert_true(find_msg(&d, line_of(text, "airlock_ceremony"), "'type'",
	    "missing") == 0);
	script_free(&s);
	diag_free(&d);
	free(text);
}

static void
test_unknown_type(void **state)
{
	(void)state;
	expect_edit_error(root_yaml, "type: root", "type: rooot", "type: rooot",
	    "type", "rooot");
}

/* ---- hsm ------------------------------------------------------------------ */

static void
test_hsm_module_relative(void **state)
{
	(void)state;
	expect_edit_error(root_yaml, "module: /usr/lib/softhsm/libsofthsm2.so",
	    "module: libsofthsm2.so", "  module:", "hsm.module",
	    "absolute path");
}

static void
test_hsm_token_and_serial(void **state)
{
	(void)state;
	expect_edit_error(root_yaml, "  token: airlock-ca\n",
	    "  token: airlock-ca\n  token_serial: \"1234abcd\"\n", "  module:",
	    "hsm.token_serial", "exactly one of hsm.token");
	expect_edit_error(root_yaml, "  token: airlock-ca\n", "", "  module:",
	    "hsm.token_serial", "exactly one of hsm.token");
}

static void
test_hsm_token_serial_alone(void **state)
{
	struct script s;

	(void)state;
	expect_edit_ok(root_yaml, "  token: airlock-ca\n",
	    "  token_serial: \"1234abcd\"\n", &s);
	assert_null(s.token);
	assert_string_equal(s.token_serial, "1234abcd");
	script_free(&s);
}

/* ---- labels, ids and names ---------------------------------------------- */

static void
test_label_alphabet(void **state)
{
	(void)state;
	expect_edit_error(root_yaml, "label: root-key", "label: Root-Key",
	    "    label:", "label 'Root-Key'", "only a-z");
	expect_edit_error(root_yaml, "label: root-key", "label: root/key",
	    "    label:", "label 'root/key'", "only a-z");
	expect_edit_error(root_yaml, "label: root-key", "label: -root",
	    "    label:", "label '-root'", "starting with a letter or digit");
}

static void
test_duplicate_person_id(void **state)
{
	char *text = edit(enrol_yaml, "id: bob", "id: alice");
	char want[64];

	(void)state;
	snprintf(want, sizeof(want), "first at line %lu",
	    line_of(text, "  - id: alice"));
	/* Reported at the second one, pointing back to the first. */
	expect_error(text, "  - id: alice\n    name: Bob", "'alice' appears twice",
	    want);
	free(text);
}

static void
test_person_key_and_key_file(void **state)
{
	(void)state;
	expect_edit_error(enrol_yaml, "    key_file: bob.key.pem\n",
	    "    key_file: bob.key.pem\n    key: \"pkcs11:token=bob\"\n",
	    "  - id: bob", "people[1]", "exactly one of 'key'");
	expect_edit_error(enrol_yaml, "    key_file: bob.key.pem\n", "",
	    "  - id: bob", "people[1]", "exactly one of 'key'");
}

static void
test_person_name_length(void **state)
{
	char name[200], line[300];
	struct script s;
	size_t i;

	(void)state;
	/* 64 characters is RFC 5280's limit for a CN and is accepted... */
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(line, sizeof(line), "name: %s\n    role: operator", name);
	expect_edit_ok(enrol_yaml, "name: Bob Example\n    role: operator", line,
	    &s);
	assert_int_equal(strlen(s.people[1].name), 64);
	script_free(&s);
	/* ...counted in characters, not bytes (64 x U+00E9 is 128 bytes)... */
	for (i = 0; i < 64; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[128] = '\0';
	snprintf(line, sizeof(line), "name: %s\n    role: operator", name);
	expect_edit_ok(enrol_yaml, "name: Bob Example\n    role: operator", line,
	    &s);
	script_free(&s);
	/* ...and 65 is refused. */
	memset(name, 'n', 65);
	name[65] = '\0';
	snprintf(line, sizeof(line), "name: %s\n", name);
	expect_edit_error(enrol_yaml, "name: Bob Example\n", line, line,
	    "people[1].name", "1 to 64 characters");
}

/* An escape sequence in a name could rewrite an officer's terminal. */
static void
test_person_name_control_char(void **state)
{
	(void)state;
	expect_edit_error(enrol_yaml, "name: Bob Example",
	    "name: \"Bob\\x1bExample\"", "    name: \"Bob", "people[1].name",
	    "control characters");
	expect_edit_error(enrol_yaml, "name: Bob Example",
	    "name: \"Bob\\tExample\"", "    name: \"Bob", "people[1].name",
	    "control characters");
}

/* 39 plus " audit checkpoint signing" is 64, the CN limit. */
static void
test_appliance_name_length(void **state)
{
	char line[100];
	struct script s;

	(void)state;
	snprintf(line, sizeof(line), "appliance_name: %.39s",
	    "Airlock-appliance-with-a-long-name-0123456789");
	expect_edit_ok(appliance_yaml, "appliance_name: Airlock t-1", line, &s);
	assert_int_equal(strlen(s.appliance_name), 39);
	script_free(&s);
	snprintf(line, sizeof(line), "appliance_name: %.40s",
	    "Airlock-appliance-with-a-long-name-0123456789");
	expect_edit_error(appliance_yaml, "appliance_name: Airlock t-1", line,
	    "appliance_name:", "appliance_name", "1 to 39 characters");
}

/* ---- templates and CA rules --------------------------------------------- */

static void
test_enrol_template_with_cn(void **state)
{
	(void)state;
	expect_edit_error(enrol_yaml, "    - O: Test\n",
	    "    - O: Test\n    - CN: Someone\n", "    - CN:", "certificate.subject",
	    "leave out CN");
}

static void
test_enrol_template_ca_true(void **state)
{
	(void)state;
	expect_edit_error(enrol_yaml, "  key_usage: [digitalSignature]\n",
	    "  key_usage: [digitalSignature]\n  basic_constraints:\n"
	    "    ca: true\n", "    ca: true", "basic_constraints.ca",
	    "must be false");
}

static void
test_appliance_template_key_usage(void **state)
{
	(void)state;
	expect_edit_error(appliance_yaml, "keys:\n",
	    "  key_usage: [digitalSignature]\nkeys:\n", "  key_usage:",
	    "key_usage and extended_key_usage", "leave out");
}

static void
test_root_needs_ca_true(void **state)
{
	char *text = edit(root_yaml, "    basic_constraints:\n      ca: true\n"
	    "      path_len: 1\n", "");

	(void)state;
	expect_edit_error(root_yaml, "      ca: true\n      path_len: 1\n",
	    "      ca: false\n", "      ca: false", "ca.certificate",
	    "ca: true");
	/* Left out altogether, the section is where the rule points. */
	expect_error(text, "    subject:", "ca.certificate", "ca: true");
	free(text);
}

/* A customer's CA key is theirs: a key section is refused, csr required. */
static void
test_external_ca_with_key(void **state)
{
	char *text = edit(intermediate_yaml, "purpose: devices",
	    "purpose: external");

	(void)state;
	/* A mapping's line is that of its first key. */
	expect_error(text, "    label: sub-key", "ca.key",
	    "give its request as 'csr'");
	expect_error(text, "  name: sub", "ca", "required key 'csr' is missing");
	free(text);
}

static void
test_external_ca_with_csr(void **state)
{
	struct script s;
	char *text = edit(intermediate_yaml, "purpose: devices",
	    "purpose: external");

	(void)state;
	expect_edit_ok(text, "  key:\n    label: sub-key\n    algorithm: ec-p256\n",
	    "  csr: customer.csr\n", &s);
	assert_int_equal(s.ca_purpose, SCRIPT_CA_EXTERNAL);
	assert_string_equal(s.ca_csr, "customer.csr");
	assert_null(s.ca_key.label);
	script_free(&s);
	free(text);
}

static void
test_issuer_certificate_with_slash(void **state)
{
	(void)state;
	expect_edit_error(intermediate_yaml, "certificate: root.pem",
	    "certificate: ../root.pem", "  certificate: ../root.pem",
	    "'../root.pem'", "without '/'");
}

/* One run lists every mistake, so a script is fixed in one pass. */
static void
test_all_errors_in_one_diag(void **state)
{
	char *a = edit(enrol_yaml, "module: /usr/lib/softhsm/libsofthsm2.so",
	    "module: libsofthsm2.so");
	char *b = edit(a, "role: officer", "role: chief");
	char *c, *text;
	struct script s;
	diag_t d;
	err_t e;

	(void)state;
	c = edit(b, "key_file: bob.key.pem", "keyfile: bob.key.pem");
	text = edit(c, "certificate: people-ca.pem", "certificate: x/ca.pem");
	assert_int_equal(load_text(text, &s, &d, &e), ERR_INVALID);
	assert_true(find_msg(&d, line_of(text, "  module:"), "hsm.module",
	    "absolute") >= 0);
	assert_true(find_msg(&d, line_of(text, "role: chief"), "people[0].role",
	    "chief") >= 0);
	assert_true(find_msg(&d, line_of(text, "keyfile:"), "people[1]",
	    "unknown key 'keyfile'") >= 0);
	assert_true(find_msg(&d, line_of(text, "  certificate: x/"),
	    "issuer.certificate", "without '/'") >= 0);
	/* The single-line summary counts the rest. */
	assert_contains(e.msg, "more");
	script_free(&s);
	diag_free(&d);
	free(a);
	free(b);
	free(c);
	free(text);
}

/* ---- files ---------------------------------------------------------------- */

static void
test_script_path(void **state)
{
	char out[256], small[8];
	struct script s;
	err_t e;

	(void)state;
	load_example("rsa/05-enrol.yaml", &s);
	assert_int_equal(script_path(&s, "/etc/airlock/k.pem", out,
	    sizeof(out), &e), 0);
	assert_string_equal(out, "/etc/airlock/k.pem");
	assert_int_equal(script_path(&s, s.people[4].key_file, out, sizeof(out),
	    &e), 0);
	assert_contains(out, "ceremony/examples/rsa/../people/carol.key.pem");
	assert_int_equal(strncmp(out, s.dir, strlen(s.dir)), 0);
	/* Too long for the buffer is an error, never a truncated path. */
	err_clear(&e);
	assert_int_equal(script_path(&s, "/etc/airlock/k.pem", small,
	    sizeof(small), &e), ERR_LIMIT);
	assert_int_equal(script_path(&s, "carol.key.pem", small, sizeof(small),
	    &e), ERR_LIMIT);
	script_free(&s);
}

/* A script is a page of text: 256 KiB and not a byte more. */
static void
test_file_too_large(void **state)
{
	size_t n = 256 * 1024 + 1;
	char *big = malloc(n);
	struct script s;
	diag_t d;
	err_t e;

	(void)state;
	assert_non_null(big);
	memset(big, '#', n);
	big[n - 1] = '\n';
	write_file(tmp("s.yaml"), big, n);
	diag_init(&d);
	err_clear(&e);
	assert_int_equal(script_load(tmp("s.yaml"), &s, &d, &e), ERR_LIMIT);
	assert_contains(e.msg, tmp("s.yaml"));
	script_free(&s);
	diag_free(&d);
	free(big);
}

/* A symlink could point a reviewed name at an unreviewed script. */
static void
test_symlink_refused(void **state)
{
	char target[256];
	struct script s;
	diag_t d;
	err_t e;

	(void)state;
	snprintf(target, sizeof(target), "%s", tmp("real.yaml"));
	write_file(target, root_yaml, strlen(root_yaml));
	(void)unlink(tmp("link.yaml"));
	assert_int_equal(symlink(target, tmp("link.yaml")), 0);
	diag_init(&d);
	err_clear(&e);
	assert_int_equal(script_load(tmp("link.yaml"), &s, &d, &e),
	    ERR_INVALID);
	assert_contains(e.msg, tmp("link.yaml"));
	assert_contains(e.msg, "symbolic link");
	script_free(&s);
	diag_free(&d);
}

static void
test_missing_file(void **state)
{
	struct script s;
	diag_t d;
	err_t e;

	(void)state;
	diag_init(&d);
	err_clear(&e);
	assert_int_equal(script_load(tmp("nope.yaml"), &s, &d, &e),
	    ERR_NOTFOUND);
	assert_contains(e.msg, tmp("nope.yaml"));
	script_free(&s);
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_all_load),
		cmocka_unit_test(test_example_path_dir_and_sha256),
		cmocka_unit_test(test_example_rsa_root),
		cmocka_unit_test(test_example_rsa_device_ca),
		cmocka_unit_test(test_example_rsa_people_ca),
		cmocka_unit_test(test_example_rsa_root_crl),
		cmocka_unit_test(test_example_rsa_enrol),
		cmocka_unit_test(test_example_rsa_appliance),
		cmocka_unit_test(test_example_ec),
		cmocka_unit_test(test_example_person_key),
		cmocka_unit_test(test_base_scripts_load),
		cmocka_unit_test(test_appliance_ec_transport_refused),
		cmocka_unit_test(test_split_pin),
		cmocka_unit_test(test_unknown_top_level_key),
		cmocka_unit_test(test_unknown_key_in_ca_key),
		cmocka_unit_test(test_unknown_key_in_person),
		cmocka_unit_test(test_unknown_key_in_keys_export),
		cmocka_unit_test(test_section_of_wrong_type),
		cmocka_unit_test(test_quoted_bool_and_int_refused),
		cmocka_unit_test(test_format_version_2_refused),
		cmocka_unit_test(test_missing_type),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_hsm_module_relative),
		cmocka_unit_test(test_hsm_token_and_serial),
		cmocka_unit_test(test_hsm_token_serial_alone),
		cmocka_unit_test(test_label_alphabet),
		cmocka_unit_test(test_duplicate_person_id),
		cmocka_unit_test(test_person_key_and_key_file),
		cmocka_unit_test(test_person_name_length),
		cmocka_unit_test(test_person_name_control_char),
		cmocka_unit_test(test_appliance_name_length),
		cmocka_unit_test(test_enrol_template_with_cn),
		cmocka_unit_test(test_enrol_template_ca_true),
		cmocka_unit_test(test_appliance_template_key_usage),
		cmocka_unit_test(test_root_needs_ca_true),
		cmocka_unit_test(test_external_ca_with_key),
		cmocka_unit_test(test_external_ca_with_csr),
		cmocka_unit_test(test_issuer_certificate_with_slash),
		cmocka_unit_test(test_all_errors_in_one_diag),
		cmocka_unit_test(test_script_path),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
