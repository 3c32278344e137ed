/* test_manifest.c: strict parsing of manifest.yaml and its archive check. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include <cmocka.h>

#include "ingest/manifest.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

#define HEAD \
    "airlock_bundle: 1\n" \
    "kind: request\n" \
    "id: 7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f\n" \
    "created: 2026-11-22T10:00:00Z\n" \
    "batch:\n" \
    "  name: Modems week 47\n" \
    "  description: first run\n" \
    "profile: docsis-3.1-cm\n"
#define IN_MAC \
    "input:\n" \
    "  mode: mac-range\n" \
    "  start: \"00:11:22:33:44:00\"\n" \
    "  count: 1000\n" \
    "  increment: 2\n"
#define OUT_SMPB \
    "output:\n" \
    "  format: smpb\n" \
    "  chain: with-intermediate\n" \
    "  results_log: csv\n" \
    "  recipient: recipient.pem\n"
#define OUT_P12 \
    "output:\n" \
    "  format: pkcs12\n" \
    "  chain: separate\n" \
    "  results_log: json\n" \
    "  pkcs12:\n" \
    "    password: \"correct horse\"\n" \
    "    encryption: compat\n"
#define IN_FILES \
    "input:\n" \
    "  mode: csr\n" \
    "  files: [csr/a.pem, csr/b.der]\n"
#define OUT_PEM \
    "output:\n" \
    "  format: pem-zip\n" \
    "  chain: with-root-and-intermediate\n" \
    "  results_log: csv\n"

static const char good_mac[] = HEAD IN_MAC OUT_SMPB;
static const char good_p12[] = HEAD "input:\n  mode: csv\n  file: devices.csv\n"
    OUT_P12;
static const char good_files[] = HEAD IN_FILES OUT_PEM;
static const char good_dir[] = HEAD "input:\n  mode: csr\n  directory: csr\n"
    OUT_SMPB;
/* csv whose csr_file column names requests under csr/. */
static const char good_csv_dir[] = HEAD "input:\n  mode: csv\n"
    "  file: devices.csv\n  directory: csr\n" OUT_PEM;

/* base with the first occurrence of from replaced by to (heap copy). */
static char *
mutate(const char *base, const char *from, const char *to)
{
	const char *at = strstr(base, from);
	size_t bl = strlen(base), fl = strlen(from), tl = strlen(to);
	char *s;

	if (at == NULL)
		fail_msg("'%s' not in the base text", from);
	s = malloc(bl - fl + tl + 1);
	assert_non_null(s);
	memcpy(s, base, (size_t)(at - base));
	memcpy(s + (at - base), to, tl);
	memcpy(s + (at - base) + tl, at + fl, bl - (size_t)(at - base) - fl + 1);
	return s;
}

/* All messages of d, one per line. */
static char *
all_msgs(const diag_t *d)
{
	static char all[16384];
	char m[1024];
	size_t i;

	all[0] = '\0';
	for (i = 0; i < d->n; i++) {
		diag_format(d, i, m, sizeof(m));
		strncat(all, m, sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
	}
	return all;
}

static void
parse_ok(const char *text, struct manifest *m)
{
	diag_t d;

	diag_init(&d);
	if (manifest_parse("m.yaml", text, strlen(text), m, &d) != 0)
		fail_msg("parse failed:\n%s", all_msgs(&d));
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
}

/* Parses text expecting a failure whose messages contain want. */
static void
parse_fail(const char *text, const char *want)
{
	struct manifest m;
	diag_t d;
	int r;

	diag_init(&d);
	r = manifest_parse("m.yaml", text, strlen(text), &m, &d);
	if (r == 0)
		fail_msg("parsed, expected \"%s\" for:\n%s", want, text);
	assert_int_equal(r, ERR_INVALID);
	assert_contains(all_msgs(&d), want);
	assert_null(m.req.profile);	/* emptied on failure */
	diag_free(&d);
}

/* Mutates good_mac (or base) and expects want. */
static void
fail_with(const char *base, const char *from, const char *to,
    const char *want)
{
	char *s = mutate(base, from, to);

	parse_fail(s, want);
	free(s);
}

static void
test_good_mac_range(void **state)
{
	static const unsigned char start[6] = { 0, 0x11, 0x22, 0x33, 0x44, 0 };
	struct manifest m;
	char *upper;

	(void)state;
	parse_ok(good_mac, &m);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.kind, MANIFEST_KIND_REQUEST);
	assert_string_equal(m.id, "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f");
	assert_int_equal(m.created, 1795341600);
	assert_string_equal(m.req.batch_name, "Modems week 47");
	assert_string_equal(m.req.batch_description, "first run");
	assert_string_equal(m.req.profile, "docsis-3.1-cm");
	assert_int_equal(m.req.mode, MANIFEST_INPUT_MAC_RANGE);
	assert_memory_equal(m.req.range.start, start, 6);
	assert_int_equal(m.req.range.count, 1000);
	assert_int_equal(m.req.range.increment, 2);
	assert_int_equal(m.req.format, MANIFEST_FORMAT_SMPB);
	assert_int_equal(m.req.chain, MANIFEST_CHAIN_WITH_INTERMEDIATE);
	assert_int_equal(m.req.results_log, MANIFEST_LOG_CSV);
	assert_string_equal(m.req.recipient, "recipient.pem");
	assert_false(manifest_has_secret(&m));
	assert_string_equal(manifest_input_name(m.req.mode), "mac-range");
	assert_string_equal(manifest_format_name(m.req.format), "smpb");
	manifest_free(&m);
	/* Upper-case id is the same id; increment defaults to 1. */
	upper = mutate(good_mac, "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
	    "7F1C2D9E-1B2C-4D5E-8F90-0A1B2C3D4E5F");
	{
		char *noinc = mutate(upper, "  increment: 2\n", "");

		parse_ok(noinc, &m);
		assert_string_equal(m.id, "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f");
		assert_int_equal(m.req.range.increment, 1);
		assert_string_equal(m.req.batch_description, "first run");
		manifest_free(&m);
		free(noinc);
	}
	free(upper);
}

static void
test_good_other_modes(void **state)
{
	struct manifest m;

	(void)state;
	parse_ok(good_p12, &m);
	assert_int_equal(m.req.mode, MANIFEST_INPUT_CSV);
	assert_string_equal(m.req.csv_file, "devices.csv");
	assert_int_equal(m.req.format, MANIFEST_FORMAT_PKCS12);
	assert_int_equal(m.req.results_log, MANIFEST_LOG_JSON);
	assert_true(manifest_has_secret(&m));
	assert_non_null(m.req.p12_password);
	assert_string_equal((const char *)m.req.p12_password->data,
	    "correct horse");
	assert_int_equal(m.req.p12_encryption, MANIFEST_P12_COMPAT);
	assert_null(m.req.recipient);
	manifest_free(&m);
	parse_ok(good_files, &m);
	assert_int_equal(m.req.mode, MANIFEST_INPUT_CSR);
	assert_int_equal(m.req.n_files, 2);
	assert_string_equal(m.req.files[1], "csr/b.der");
	assert_null(m.req.directory);
	assert_int_equal(m.req.chain, MANIFEST_CHAIN_WITH_ROOT_AND_INTERMEDIATE);
	manifest_free(&m);
	parse_ok(good_dir, &m);
	assert_string_equal(m.req.directory, "csr/");
	assert_int_equal(m.req.n_files, 0);
	manifest_free(&m);
	/* pkcs12 encryption defaults to modern. */
	{
		char *s = mutate(good_p12, "    encryption: compat\n", "");

		parse_ok(s, &m);
		assert_int_equal(m.req.p12_encryption, MANIFEST_P12_MODERN);
		manifest_free(&m);
		free(s);
	}
}

static void
test_missing_unknown_type(void **state)
{
	(void)state;
	fail_with(good_mac, "profile: docsis-3.1-cm\n", "",
	    "m.yaml:1: required key 'profile' is missing");
	fail_with(good_mac, "profile:", "profil:",
	    "m.yaml:8: unknown key 'profil' (did you mean 'profile'?)");
	fail_with(good_mac, "  count: 1000\n", "",
	    "m.yaml:10: input: required key 'count' is missing");
	fail_with(good_mac, "  count: 1000", "  count: \"1000\"",
	    "m.yaml:12: input.count: expected an unquoted decimal integer");
	fail_with(good_mac, "  results_log: csv\n", "  results_log: xml\n",
	    "output.results_log: expected one of: csv, json; found 'xml'");
	fail_with(good_mac, "  chain: with-intermediate\n", "",
	    "output: required key 'chain' is missing");
	fail_with(good_mac, "batch:\n  name: Modems week 47\n",
	    "batch: [Modems]\nx:\n  name: Modems week 47\n",
	    "batch: expected a mapping, found a sequence");
	fail_with(good_mac, "airlock_bundle: 1", "airlock_bundle: 2",
	    "m.yaml:1: airlock_bundle: bundle format version 2 is not "
	    "supported; this appliance reads version 1");
	fail_with(good_mac, "kind: request", "kind: revoke",
	    "kind: expected one of: request, revocation; found 'revoke'");
	/* A request's keys mean nothing in a revocation. */
	fail_with(good_mac, "kind: request", "kind: revocation",
	    "m.yaml:5: unknown key 'batch'");
	fail_with(good_mac, "created: 2026-11-22T10:00:00Z",
	    "created: 2026-11-22 10:00", "m.yaml:4: created:");
	fail_with(good_mac, "  mode: mac-range", "  mode: macs",
	    "input.mode: expected one of: mac-range, csr, csv; found 'macs'");
	fail_with(good_mac, "  increment: 2\n", "  increment: 2\n  step: 3\n",
	    "m.yaml:14: input: unknown key 'step'");
	fail_with(good_mac, "  description: first run\n",
	    "  description: first run\n  owner: me\n",
	    "batch: unknown key 'owner'");
	parse_fail("- a\n- b\n", "m.yaml:1: expected a mapping, found a "
	    "sequence");
	parse_fail("a: [\n", "m.yaml");
}

static void
test_several_at_once(void **state)
{
	struct manifest m;
	char *s = mutate(good_mac, "profile: docsis-3.1-cm", "profile: Bad One");
	char *t = mutate(s, "  count: 1000", "  count: 0");
	char *u = mutate(t, "  chain: with-intermediate", "  chain: all");
	diag_t d;

	(void)state;
	diag_init(&d);
	assert_int_equal(manifest_parse("m.yaml", u, strlen(u), &m, &d),
	    ERR_INVALID);
	assert_int_equal(diag_count(&d), 3);
	assert_contains(all_msgs(&d), "m.yaml:8: profile: profile may contain "
	    "only a-z");
	assert_contains(all_msgs(&d), "m.yaml:12: input.count: 0 is out of "
	    "range; expected an integer from 1 to 500000");
	assert_contains(all_msgs(&d), "m.yaml:16: output.chain:");
	diag_free(&d);
	free(s);
	free(t);
	free(u);
}

static void
test_values(void **state)
{
	char longname[200], *s;

	(void)state;
	fail_with(good_mac, "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
	    "7f1c2d9e1b2c4d5e8f900a1b2c3d4e5f", "m.yaml:3: id: id must be a "
	    "UUID in RFC 4122 text form");
	fail_with(good_mac, "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
	    "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5g", "id must be a UUID");
	fail_with(good_mac, "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
	    "00000000-0000-0000-0000-000000000000", "id is not an RFC 4122 "
	    "UUID");
	fail_with(good_mac, "  count: 1000", "  count: 500001",
	    "500001 is out of range; expected an integer from 1 to 500000");
	fail_with(good_mac, "  increment: 2", "  increment: 0",
	    "input.increment: 0 is out of range");
	fail_with(good_mac, "\"00:11:22:33:44:00\"", "\"00:11:22:33:44\"",
	    "m.yaml:11: input.start: start: not a MAC address");
	fail_with(good_mac, "\"00:11:22:33:44:00\"", "\"01:11:22:33:44:00\"",
	    "m.yaml:12: input.count: MAC range start 01:11:22:33:44:00 is a "
	    "multicast address");
	fail_with(good_mac, "\"00:11:22:33:44:00\"", "\"fe:ff:ff:ff:ff:00\"",
	    "a multicast address; lower the count");
	fail_with(good_mac, "profile: docsis-3.1-cm", "profile: -x",
	    "starting with a letter or digit");
	memset(longname, 'n', sizeof(longname));
	memcpy(longname, "  name: ", 8);
	longname[8 + 129] = '\0';
	fail_with(good_mac, "  name: Modems week 47", longname,
	    "batch.name: name must be 1 to 128 characters");
	fail_with(good_mac, "  name: Modems week 47", "  name: \"a\\tb\"",
	    "batch.name: name must not contain control characters");
	fail_with(good_mac, "  name: Modems week 47", "  name: \"\"",
	    "name must be 1 to 128 characters");
	fail_with(good_mac, "  name: Modems week 47", "  name:",
	    "batch.name: expected a string, found an empty value");
	/* A description may span lines. */
	s = mutate(good_mac, "  description: first run",
	    "  description: \"line one\\nline two\"");
	{
		struct manifest m;

		parse_ok(s, &m);
		assert_string_equal(m.req.batch_description,
		    "line one\nline two");
		manifest_free(&m);
	}
	free(s);
}

/* The password must never be echoed, whatever is wrong with it. */
static void
password_fail(const char *value, const char *want)
{
	char line[512], *s;
	struct manifest m;
	diag_t d;

	snprintf(line, sizeof(line), "    password: %s", value);
	s = mutate(good_p12, "    password: \"correct horse\"", line);
	diag_init(&d);
	assert_int_equal(manifest_parse("m.yaml", s, strlen(s), &m, &d),
	    ERR_INVALID);
	assert_contains(all_msgs(&d), want);
	if (strlen(value) > 4 && value[0] == '"')
		assert_null(strstr(all_msgs(&d), value + 1));
	assert_null(m.req.p12_password);
	diag_free(&d);
	free(s);
}

static void
test_password(void **state)
{
	char big[200];

	(void)state;
	password_fail("\"hunter2\"", "m.yaml:17: output.pkcs12.password: "
	    "password must be 8 to 128 characters (it has 7)");
	password_fail("\"\"", "password must be 8 to 128 characters (it has 0)");
	password_fail("", "output.pkcs12.password: expected a string, found an "
	    "empty value");
	password_fail("[a, b]", "expected a string, found a sequence");
	password_fail("\"bad\\x01secretpw\"", "password must not contain "
	    "control characters");
	big[0] = '"';
	memset(big + 1, 'p', 129);
	big[130] = '"';
	big[131] = '\0';
	password_fail(big, "(it has 129)");
	fail_with(good_p12, "    password: \"correct horse\"\n", "",
	    "output.pkcs12: required key 'password' is missing");
	fail_with(good_p12, "    encryption: compat", "    encryption: legacy",
	    "output.pkcs12.encryption: expected one of: modern, compat");
	/* Eight characters, not bytes: four two-byte letters are four. */
	password_fail("\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"", "(it has 4)");
}

static void
test_coupling(void **state)
{
	(void)state;
	fail_with(good_mac, "  recipient: recipient.pem\n", "",
	    "m.yaml:15: output: required key 'recipient' is missing: format "
	    "smpb is encrypted to the recipient certificate it names");
	fail_with(good_p12, "  results_log: json\n",
	    "  results_log: json\n  recipient: r.pem\n",
	    "output.recipient: recipient is only for format smpb");
	fail_with(good_p12, "  pkcs12:\n    password: \"correct horse\"\n"
	    "    encryption: compat\n", "",
	    "output: required key 'pkcs12' is missing");
	fail_with(good_mac, "  recipient: recipient.pem\n",
	    "  recipient: recipient.pem\n  pkcs12:\n    password: x\n",
	    "output.pkcs12: pkcs12 is only for format pkcs12");
}

static void
test_modes(void **state)
{
	(void)state;
	fail_with(good_mac, "  format: smpb\n  chain: with-intermediate\n"
	    "  results_log: csv\n  recipient: recipient.pem\n",
	    "  format: der-zip\n  chain: separate\n  results_log: csv\n",
	    "output.format: format der-zip cannot carry the device keys the "
	    "appliance generates for mode mac-range");
	fail_with(good_files, "  format: pem-zip\n  chain: with-root-and-"
	    "intermediate\n  results_log: csv\n",
	    "  format: pkcs12\n  chain: separate\n  results_log: csv\n"
	    "  pkcs12:\n    password: \"long enough\"\n",
	    "format pkcs12 holds the device's private key, which the "
	    "appliance does not have for mode csr");
	fail_with(good_files, "  files: [csr/a.pem, csr/b.der]\n",
	    "  files: [csr/a.pem]\n  directory: csr/\n",
	    "input: mode csr needs exactly one of files and directory");
	fail_with(good_files, "  files: [csr/a.pem, csr/b.der]\n", "",
	    "mode csr needs exactly one of files and directory");
	fail_with(good_files, "[csr/a.pem, csr/b.der]", "[csr/a.pem, csr/a.pem]",
	    "input.files: files lists 'csr/a.pem' more than once");
	fail_with(good_files, "[csr/a.pem, csr/b.der]", "[]",
	    "files must list 1 to 100000 names");
	fail_with(good_files, "[csr/a.pem, csr/b.der]", "[../a.pem]",
	    "input.files[0]: files item must be a path inside the archive: "
	    "name contains a '..' component");
	fail_with(good_files, "[csr/a.pem, csr/b.der]", "[/etc/passwd]",
	    "name is an absolute path");
	fail_with(good_files, "[csr/a.pem, csr/b.der]", "[csr/]",
	    "files item must name a file, not a directory");
	fail_with(good_files, "[csr/a.pem, csr/b.der]", "[{a: b}]",
	    "input.files[0]: expected a string, found a mapping");
	fail_with(good_p12, "  file: devices.csv", "  file: manifest.yaml",
	    "input.file: file must not be the manifest itself");
	fail_with(good_p12, "  file: devices.csv", "  file: \"a\\\\b.csv\"",
	    "name contains a backslash");
	fail_with(good_dir, "  recipient: recipient.pem",
	    "  recipient: csr/recipient.pem", "output.recipient "
	    "'csr/recipient.pem' lies in input.directory 'csr/'");
	fail_with(good_files, "  results_log: csv\n",
	    "  results_log: csv\n  pkcs12: {}\n", "pkcs12 is only for format "
	    "pkcs12");
	fail_with(good_csv_dir, "  file: devices.csv", "  file: csr/devices.csv",
	    "input.file 'csr/devices.csv' lies in input.directory 'csr/'");
	fail_with(good_csv_dir, "  directory: csr", "  directory: ../csr",
	    "input.directory: directory must be a path inside the archive");
}

/* csv mode may name the directory its csr_file column reads from. */
static void
test_csv_directory(void **state)
{
	struct manifest m;

	(void)state;
	parse_ok(good_csv_dir, &m);
	assert_int_equal(m.req.mode, MANIFEST_INPUT_CSV);
	assert_string_equal(m.req.csv_file, "devices.csv");
	assert_string_equal(m.req.directory, "csr/");
	assert_int_equal(m.req.n_files, 0);
	manifest_free(&m);
	parse_ok(good_p12, &m);
	assert_null(m.req.directory);
	manifest_free(&m);
}

/* An archive with the given names (a trailing '/' makes a directory). */
static struct archive *
make_archive(const char *const *names, size_t n, void **mem)
{
	zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, NULL);
	struct archive *a = NULL;
	zip_stat_t st;
	diag_t d;
	zip_t *z;
	size_t i;

	zip_source_keep(src);
	z = zip_open_from_source(src, ZIP_TRUNCATE, NULL);
	assert_non_null(z);
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (names[i][l - 1] == '/')
			assert_true(zip_dir_add(z, names[i], 0) >= 0);
		else
			assert_true(zip_file_add(z, names[i],
			    zip_source_buffer(z, "x", 1, 0), 0) >= 0);
	}
	assert_int_equal(zip_close(z), 0);
	assert_int_equal(zip_source_stat(src, &st), 0);
	assert_int_equal(zip_source_open(src), 0);
	*mem = malloc((size_t)st.size);
	assert_non_null(*mem);
	assert_true(zip_source_read(src, *mem, st.size) ==
	    (zip_int64_t)st.size);
	zip_source_close(src);
	zip_source_free(src);
	diag_init(&d);
	assert_int_equal(archive_open("b.zip", *mem, (size_t)st.size, NULL, &a,
	    &d), 0);
	diag_free(&d);
	return a;
}

/* Checks text against an archive of names; want NULL means success. */
static void
check_against(const char *text, const char *const *names, size_t n,
    const char *want)
{
	struct manifest m;
	struct archive *a;
	void *mem;
	diag_t d;
	int r;

	parse_ok(text, &m);
	a = make_archive(names, n, &mem);
	diag_init(&d);
	r = manifest_check_archive(&m, a, &d);
	if (want == NULL && r != 0)
		fail_msg("check failed:\n%s", all_msgs(&d));
	if (want != NULL) {
		assert_int_equal(r, ERR_INVALID);
		assert_contains(all_msgs(&d), want);
	}
	diag_free(&d);
	archive_close(a);
	free(mem);
	manifest_free(&m);
}

static void
test_check_archive(void **state)
{
	static const char *const files_ok[] = {
		"manifest.yaml", "csr/", "csr/a.pem", "csr/b.der"
	};
	static const char *const files_missing[] = {
		"manifest.yaml", "csr/a.pem", "extra.txt", "junk/"
	};
	static const char *const dir_ok[] = {
		"manifest.yaml", "recipient.pem", "csr/", "csr/x/", "csr/x/1.pem",
		"csr/2.pem"
	};
	static const char *const dir_empty[] = {
		"manifest.yaml", "recipient.pem", "csr/"
	};
	static const char *const no_manifest[] = {
		"recipient.pem", "csv/", "devices.csv"
	};
	static const char *const csv_dir_ok[] = {
		"manifest.yaml", "devices.csv", "csr/", "csr/a.pem"
	};
	static const char *const csv_dir_empty[] = {
		"manifest.yaml", "devices.csv"
	};
	static const char *const mac_ok[] = { "manifest.yaml", "recipient.pem" };
	static const char *const mac_dir[] = {
		"manifest.yaml", "recipient.pem/"
	};

	(void)state;
	check_against(good_files, files_ok, 4, NULL);
	check_against(good_files, files_missing, 4,
	    "manifest.yaml: input.files: 'csr/b.der' is not in the archive");
	check_against(good_files, files_missing, 4,
	    "manifest.yaml: archive entry 'extra.txt' is not named by the "
	    "manifest");
	check_against(good_files, files_missing, 4,
	    "archive entry 'junk/' is not named by the manifest");
	check_against(good_dir, dir_ok, 6, NULL);
	check_against(good_dir, dir_empty, 3,
	    "input.directory: 'csr/' holds no files in the archive");
	check_against(good_p12, no_manifest, 3,
	    "'manifest.yaml' is not in the archive");
	check_against(good_p12, no_manifest, 3,
	    "archive entry 'recipient.pem' is not named by the manifest");
	check_against(good_csv_dir, csv_dir_ok, 4, NULL);
	check_against(good_csv_dir, csv_dir_empty, 2,
	    "input.directory: 'csr/' holds no files in the archive");
	check_against(good_p12, csv_dir_ok, 4,
	    "archive entry 'csr/a.pem' is not named by the manifest");
	check_against(good_mac, mac_ok, 2, NULL);
	check_against(good_mac, mac_dir, 2,
	    "output.recipient: 'recipient.pem' is not in the archive");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_mac_range),
		cmocka_unit_test(test_good_other_modes),
		cmocka_unit_test(test_missing_unknown_type),
		cmocka_unit_test(test_several_at_once),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_coupling),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_check_archive),
		cmocka_unit_test(test_csv_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
