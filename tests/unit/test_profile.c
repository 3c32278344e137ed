/*
 * test_profile.c: issuance profiles. Every shipped profile loads; every
 * mistake in a profile is reported with file, line and key; keys,
 * operators, validity, subjects and SANs are decided as the profile says,
 * overrides are recorded, and a certificate built from a profile's
 * certspec passes lint.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkitest.h"
#include "pki/certbuild.h"
#include "pki/lint.h"
#include "policy/profile.h"
#include "testutil.h"
#include "util/fileio.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

#define DAY 86400

static char repo[PATH_MAX];
static char tmpdir[128];
static struct profile_set shipped;

static int
group_setup(void **state)
{
	char dir[PATH_MAX + 16];
	diag_t d;
	err_t e;
	int rc;

	(void)state;
	if (testutil_srcdir(repo, sizeof(repo)) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/policies", repo);
	diag_init(&d);
	err_clear(&e);
	rc = profile_load_dir(dir, &shipped, &d, &e);
	if (rc != 0)
		testutil_print_diag(&d, "policies");
	diag_free(&d);
	if (rc != 0)
		return -1;
	return testutil_tmpdir(tmpdir, sizeof(tmpdir), "profile");
}

static int
group_teardown(void **state)
{
	(void)state;
	profile_set_free(&shipped);
	return testutil_rmtree(tmpdir);
}

static const struct profile *
get(const char *name)
{
	const struct profile *p = profile_find(&shipped, name);

	if (p == NULL)
		fail_msg("shipped profile %s not found", name);
	return p;
}

/* ---- loading the shipped profiles ------------------------------------ */

static void
test_shipped_all_load(void **state)
{
	static const char *const names[] = {
		"docsis-3.0-cm", "docsis-3.1-cm", "docsis-4.0-cm", "dpoe-onu",
		"intermediate-ca", "rphy-device", "tls-device"
	};
	size_t i;

	(void)state;
	assert_int_equal(shipped.n, 7);
	for (i = 0; i < 7; i++) {
		const struct profile *p = get(names[i]);

		/* Sorted by name, and each profile keeps the two-person rule. */
		assert_string_equal(shipped.v[i].name, names[i]);
		assert_true(p->quorum >= 2);
		assert_true(p->n_operators >= 1);
		assert_string_equal(p->operators[0], "Dave Example");
		assert_true(p->max_batch >= 1 &&
		    p->max_batch <= PROFILE_MAX_BATCH);
	}
	assert_null(profile_find(&shipped, "docsis-3.2-cm"));
	assert_null(profile_find(&shipped, NULL));
}

static void
test_shipped_contents(void **state)
{
	const struct profile *p;

	(void)state;
	p = get("docsis-3.1-cm");
	assert_string_equal(p->issuer, "device-ca");
	assert_true(p->enabled);
	assert_false(p->legacy);
	assert_int_equal(p->csr_keys, 1u << PROFILE_KEY_RSA2048);
	assert_true(p->can_generate);
	assert_int_equal(p->generate, PROFILE_KEY_RSA2048);
	assert_int_equal(p->digest, PROFILE_MD_SHA256);
	assert_int_equal(p->cn, PROFILE_CN_MAC);
	assert_int_equal(p->mac_format, MAC_STYLE_COLON_UPPER);
	assert_int_equal(p->fixed.n, 3);
	assert_int_equal(p->fixed.attrs[2].nid, NID_organizationalUnitName);
	assert_string_equal(p->fixed.attrs[2].value, "DOCSIS");
	assert_true(p->ext.has_key_usage);
	assert_int_equal(p->ext.key_usage, CERTSPEC_KU_DIGITAL_SIGNATURE |
	    CERTSPEC_KU_KEY_ENCIPHERMENT);
	assert_int_equal(p->ext.eku.n, 0);
	assert_int_equal(p->san_allow, 0);
	assert_ptr_equal(profile_md(p), EVP_sha256());

	p = get("docsis-3.0-cm");
	assert_true(p->legacy);
	assert_false(p->enabled);
	assert_int_equal(p->csr_keys, 1u << PROFILE_KEY_RSA1024);
	assert_int_equal(p->digest, PROFILE_MD_SHA1);
	assert_ptr_equal(profile_md(p), EVP_sha1());

	p = get("intermediate-ca");
	assert_false(p->can_generate);
	assert_int_equal(p->cn, PROFILE_CN_REQUEST);
	assert_true(p->ext.has_basic_constraints && p->ext.bc_ca);
	assert_int_equal(p->ext.bc_path_len, 0);

	p = get("tls-device");
	assert_int_equal(p->san_allow, PROFILE_SAN_DNS);
	assert_int_equal(p->n_dns_suffixes, 1);
	assert_int_equal(p->ext.eku.n, 2);

	p = get("rphy-device");
	assert_int_equal(p->csr_keys, (1u << PROFILE_KEY_RSA2048) |
	    (1u << PROFILE_KEY_EC_P256));
	assert_int_equal(p->ext.eku.n, 2);
}

/* ---- strict loading: one profile file per case ----------------------- */

static const char base_yaml[] =
    "airlock_profile: 1\n"
    "name: NAME\n"
    "description: a test profile\n"
    "issuer: device-ca\n"
    "enabled: true\n"
    "legacy: false\n"
    "keys:\n"
    "  csr: [rsa-2048, rsa-3072]\n"
    "  generate: rsa-2048\n"
    "signature_digest: sha256\n"
    "validity:\n"
    "  days: 365\n"
    "subject:\n"
    "  fixed: [ {C: US}, {O: Example Devices Inc}, {OU: DOCSIS} ]\n"
    "  cn: mac\n"
    "  mac_format: colon-upper\n"
    "  keep: [L, ST]\n"
    "extensions:\n"
    "  key_usage: [digitalSignature, keyEncipherment]\n"
    "san:\n"
    "  allow: []\n"
    "max_batch: 1000\n"
    "operators: [Dave Example]\n"
    "approval_quorum: 2\n";

/* base_yaml with `from` replaced by `to` (once each, in order). */
static char *
edit(const char *from1, const char *to1, const char *from2, const char *to2)
{
	static char out[4096];
	char tmpbuf[4096];
	const char *at;

	snprintf(out, sizeof(out), "%s", base_yaml);
	if (from1 != NULL) {
		at = strstr(out, from1);
		if (at == NULL)
			fail_msg("'%s' not in the base profile", from1);
		snprintf(tmpbuf, sizeof(tmpbuf), "%.*s%s%s", (int)(at - out),
		    out, to1, at + strlen(from1));
		snprintf(out, sizeof(out), "%s", tmpbuf);
	}
	if (from2 != NULL) {
		at = strstr(out, from2);
		if (at == NULL)
			fail_msg("'%s' not in the base profile", from2);
		snprintf(tmpbuf, sizeof(tmpbuf), "%.*s%s%s", (int)(at - out),
		    out, to2, at + strlen(from2));
		snprintf(out, sizeof(out), "%s", tmpbuf);
	}
	return out;
}

struct loaded {
	struct profile p;
	char path[256];
	char msgs[8192];	/* every diag message, one per line */
	size_t count;
	err_t err;
	int rc;
};

/*
 * Writes yaml as FILE (NAME replaced by the file's stem) and loads it,
 * collecting the formatted messages.
 */
static void
load_text(struct loaded *l, const char *file, const char *yaml)
{
	char text[4096], stem[64];
	const char *at;
	size_t i, used = 0, len;
	diag_t d;
	err_t e;

	memset(l, 0, sizeof(*l));
	snprintf(stem, sizeof(stem), "%s", file);
	len = strlen(stem);
	if (len > 5 && strcmp(stem + len - 5, ".yaml") == 0)
		stem[len - 5] = '\0';
	at = strstr(yaml, "NAME");
	if (at != NULL)
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - yaml), yaml,
		    stem, at + 4);
	else
		snprintf(text, sizeof(text), "%s", yaml);
	snprintf(l->path, sizeof(l->path), "%s/%s", tmpdir, file);
	(void)unlink(l->path);
	err_clear(&e);
	assert_int_equal(fileio_create(l->path, text, strlen(text), 0600, &e),
	    0);
	diag_init(&d);
	err_clear(&l->err);
	l->rc = profile_load(l->path, &l->p, &d, &l->err);
	l->count = diag_count(&d);
	for (i = 0; i < d.n && used < sizeof(l->msgs); i++) {
		int w = diag_format(&d, i, l->msgs + used,
		    sizeof(l->msgs) - used);

		if (w < 0 || (size_t)w + used + 1 >= sizeof(l->msgs))
			break;
		used += (size_t)w;
		l->msgs[used++] = '\n';
		l->msgs[used] = '\0';
	}
	diag_free(&d);
}

/* Loads an edited base profile and expects exactly one located problem. */
static void
expect_refused(const char *yaml, const char *located)
{
	struct loaded l;
	char want[512];

	load_text(&l, "t.yaml", yaml);
	if (l.rc == 0)
		fail_msg("profile loaded, expected \"%s\"", located);
	assert_int_equal(l.rc, ERR_INVALID);
	snprintf(want, sizeof(want), "%s:%s", l.path, located);
	assert_contains(l.msgs, want);
	assert_int_equal(l.count, 1);
	/* err carries the first message, for callers that show one. */
	assert_contains(l.err.msg, located);
	assert_null(l.p.name);
	unlink(l.path);
}

static void
test_base_profile_loads(void **state)
{
	struct loaded l;

	(void)state;
	load_text(&l, "base.yaml", base_yaml);
	if (l.rc != 0)
		fail_msg("%s", l.msgs);
	assert_string_equal(l.p.name, "base");
	assert_int_equal(l.p.n_keep, 2);
	assert_int_equal(l.p.keep[0], NID_localityName);
	assert_int_equal(l.p.keep[1], NID_stateOrProvinceName);
	assert_int_equal(l.p.days, 365);
	assert_int_equal(l.p.san_allow, 0);
	assert_int_equal(l.p.quorum, 2);
	assert_int_equal(l.p.max_batch, 1000);
	profile_free(&l.p);

	/* Defaults: quorum 2, max_batch the issue's 500,000, no legacy. */
	load_text(&l, "defaults.yaml", edit("legacy: false\n", "",
	    "approval_quorum: 2\n", ""));
	if (l.rc != 0)
		fail_msg("%s", l.msgs);
	assert_int_equal(l.p.quorum, 2);
	assert_false(l.p.legacy);
	profile_free(&l.p);
}

static void
test_refuse_legacy_crypto_without_legacy(void **state)
{
	(void)state;
	expect_refused(edit("csr: [rsa-2048, rsa-3072]",
	    "csr: [rsa-2048, rsa-1024]", NULL, NULL),
	    "8: keys.csr: rsa-1024 is a legacy key size");
	expect_refused(edit("csr: [rsa-2048, rsa-3072]\n  generate: rsa-2048",
	    "generate: rsa-1024", NULL, NULL),
	    "8: keys.generate: rsa-1024 is a legacy key size");
	expect_refused(edit("signature_digest: sha256",
	    "signature_digest: sha1", NULL, NULL),
	    "10: signature_digest: sha1 is a legacy digest, allowed only in "
	    "a profile with legacy: true");
}

static void
test_refuse_legacy_without_legacy_crypto(void **state)
{
	(void)state;
	expect_refused(edit("legacy: false", "legacy: true", NULL, NULL),
	    "6: legacy: legacy: true relaxes the checks");
}

static void
test_legacy_profile_loads(void **state)
{
	struct loaded l;

	(void)state;
	load_text(&l, "legacy.yaml", edit("legacy: false\n",
	    "legacy: true\n", "signature_digest: sha256",
	    "signature_digest: sha1"));
	if (l.rc != 0)
		fail_msg("%s", l.msgs);
	assert_true(l.p.legacy);
	assert_ptr_equal(profile_md(&l.p), EVP_sha1());
	profile_free(&l.p);
}

static void
test_refuse_quorum_below_two(void **state)
{
	(void)state;
	expect_refused(edit("approval_quorum: 2", "approval_quorum: 1", NULL,
	    NULL), "24: approval_quorum: approval_quorum must be at least 2");
	expect_refused(edit("approval_quorum: 2", "approval_quorum: 0", NULL,
	    NULL), "24: approval_quorum: approval_quorum must be at least 2");
	expect_refused(edit("approval_quorum: 2", "approval_quorum: -3", NULL,
	    NULL), "24: approval_quorum: -3 is out of range");
}

static void
test_refuse_name_not_file_name(void **state)
{
	(void)state;
	expect_refused(edit("name: NAME", "name: other", NULL, NULL),
	    "2: name: name 'other' must equal the file name without .yaml "
	    "('t')");
	expect_refused(edit("name: NAME", "name: Bad Name", NULL, NULL),
	    "2: name: name 'Bad Name' may contain only");
}

static void
test_refuse_validity_not_exactly_one(void **state)
{
	(void)state;
	expect_refused(edit("  days: 365\n", "  days: 365\n  not_after: "
	    "2040-01-01T00:00:00Z\n", NULL, NULL),
	    "12: validity: validity takes days or not_after, not both");
	expect_refused(edit("validity:\n  days: 365\n", "validity: {}\n", NULL,
	    NULL), "11: validity: validity needs days");
	expect_refused(edit("days: 365", "days: 0", NULL, NULL),
	    "12: validity.days: 0 is out of range");
}

static void
test_fixed_not_after_loads(void **state)
{
	struct loaded l;
	time_t na = 0;
	err_t e;

	(void)state;
	load_text(&l, "fixed.yaml", edit("days: 365",
	    "not_after: 2040-01-01T00:00:00Z", NULL, NULL));
	if (l.rc != 0)
		fail_msg("%s", l.msgs);
	assert_int_equal(l.p.days, 0);
	assert_int_equal(l.p.not_after, T2040);
	err_clear(&e);
	assert_int_equal(profile_not_after(&l.p, T2026, T2050, &na, &e), 0);
	assert_int_equal(na, T2040);
	/* A fixed date past the issuer's end or already past: refused. */
	assert_int_equal(profile_not_after(&l.p, T2026, T2030, &na, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "the fixed notAfter 2040-01-01T00:00:00Z is "
	    "after its issuer device-ca expires (2030-01-01T00:00:00Z)");
	assert_int_equal(profile_not_after(&l.p, T2050, T2060, &na, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "is not after now");
	profile_free(&l.p);
}

static void
test_refuse_subject_mistakes(void **state)
{
	(void)state;
	expect_refused(edit("  mac_format: colon-upper\n", "", NULL, NULL),
	    "14: subject: cn: mac needs mac_format");
	expect_refused(edit("cn: mac\n  mac_format: colon-upper",
	    "cn: request\n  mac_format: colon-upper", NULL, NULL),
	    "16: subject.mac_format: mac_format is used only with cn: mac");
	expect_refused(edit("keep: [L, ST]", "keep: [L, CN]", NULL, NULL),
	    "17: subject.keep[1]: subject.keep cannot list CN");
	expect_refused(edit("keep: [L, ST]", "keep: [L, XX]", NULL, NULL),
	    "17: subject.keep[1]: unknown subject attribute 'XX'");
	expect_refused(edit("keep: [L, ST]", "keep: [OU]", NULL, NULL),
	    "17: subject.keep[0]: OU is set by subject.fixed");
	expect_refused(edit("keep: [L, ST]", "keep: [L, L]", NULL, NULL),
	    "17: subject.keep[1]: L is listed twice");
	expect_refused(edit("{OU: DOCSIS}", "{CN: modem}", NULL, NULL),
	    "14: subject.fixed[2]: CN comes from subject.cn");
	expect_refused(edit("mac_format: colon-upper",
	    "mac_format: colon-mixed", NULL, NULL),
	    "16: subject.mac_format: expected one of: colon-upper");
}

static void
test_refuse_key_mistakes(void **state)
{
	(void)state;
	expect_refused(edit("generate: rsa-2048", "generate: ec-p256", NULL,
	    NULL), "9: keys.generate: keys.generate ec-p256 is not among "
	    "keys.csr");
	expect_refused(edit("  csr: [rsa-2048, rsa-3072]\n  generate: "
	    "rsa-2048\n", "  {}\n", NULL, NULL), "8: keys: keys needs csr");
	expect_refused(edit("csr: [rsa-2048, rsa-3072]",
	    "csr: [rsa-2048, rsa-2048]", NULL, NULL),
	    "8: keys.csr[1]: key type 'rsa-2048' is listed twice");
	expect_refused(edit("csr: [rsa-2048, rsa-3072]",
	    "csr: [rsa-2048, dsa-1024]", NULL, NULL),
	    "8: keys.csr[1]: unknown key type 'dsa-1024'");
	expect_refused(edit("csr: [rsa-2048, rsa-3072]", "csr: []", NULL,
	    NULL), "8: keys.csr: keys.csr must name at least one key type");
}

static void
test_refuse_extension_and_san_mistakes(void **state)
{
	(void)state;
	expect_refused(edit("  key_usage: [digitalSignature, "
	    "keyEncipherment]\n", "  key_usage: [digitalSignature]\n  "
	    "subject_alt_names: [ {dns: a.example.com} ]\n", NULL, NULL),
	    "20: extensions.subject_alt_names: a profile does not fix SANs");
	expect_refused(edit("keyEncipherment]", "keyCertSign]", NULL, NULL),
	    "19: extensions.key_usage: keyCertSign needs basic_constraints");
	expect_refused(edit("  key_usage: [digitalSignature, "
	    "keyEncipherment]\n", "  key_usage: [digitalSignature]\n  "
	    "basic_constraints: {ca: true}\n", NULL, NULL),
	    "19: extensions.key_usage: a CA profile (basic_constraints ca: "
	    "true) needs key_usage with keyCertSign");
	expect_refused(edit("key_usage:", "key_usage_:", NULL, NULL),
	    "19: extensions: unknown key 'key_usage_' (did you mean "
	    "'key_usage'?)");
	expect_refused(edit("allow: []", "allow: [dns, x400]", NULL, NULL),
	    "21: san.allow[1]: unknown SAN type 'x400'");
	expect_refused(edit("allow: []", "allow: []\n  dns_suffixes: "
	    "[example.com]", NULL, NULL),
	    "22: san.dns_suffixes: dns_suffixes needs dns in san.allow");
	expect_refused(edit("allow: []", "allow: [dns]\n  dns_suffixes: "
	    "[\"*.example.com\"]", NULL, NULL),
	    "22: san.dns_suffixes[0]: '*.example.com' is not a domain name");
}

static void
test_refuse_top_level_mistakes(void **state)
{
	(void)state;
	expect_refused(edit("operators: [Dave Example]", "operators: []", NULL,
	    NULL), "23: operators: operators must name at least one person");
	expect_refused(edit("operators: [Dave Example]",
	    "operators: [Dave Example, Dave Example]", NULL, NULL),
	    "23: operators[1]: operator 'Dave Example' is listed twice");
	expect_refused(edit("approval_quorum:", "approval_qorum:", NULL,
	    NULL), "24: unknown key 'approval_qorum' (did you mean "
	    "'approval_quorum'?)");
	expect_refused(edit("enabled: true", "enabled: yes", NULL, NULL),
	    "5: enabled: expected true or false (unquoted), found 'yes'");
	expect_refused(edit("airlock_profile: 1", "airlock_profile: 2", NULL,
	    NULL), "1: airlock_profile: format version 2 is not one this "
	    "Airlock reads (1)");
	expect_refused(edit("issuer: device-ca", "issuer: Device CA", NULL,
	    NULL), "4: issuer: issuer 'Device CA' is not a CA name");
	expect_refused(edit("max_batch: 1000", "max_batch: 500001", NULL,
	    NULL), "22: max_batch: 500001 is out of range");
	expect_refused(edit("description: a test profile",
	    "description: \"bell\\a\"", NULL, NULL), "3: description: "
	    "description must be at most 200 characters without control "
	    "characters");
}

/* Every problem at once, each with its own line and key. */
static void
test_all_problems_at_once(void **state)
{
	struct loaded l;
	char yaml[4096];

	(void)state;
	snprintf(yaml, sizeof(yaml), "%s", edit("approval_quorum: 2",
	    "approval_quorum: 1", "  mac_format: colon-upper\n", ""));
	load_text(&l, "many.yaml", yaml);
	assert_int_equal(l.rc, ERR_INVALID);
	assert_int_equal(l.count, 2);
	assert_contains(l.msgs, "many.yaml:14: subject: cn: mac needs");
	assert_contains(l.msgs, "many.yaml:23: approval_quorum:");
	assert_contains(l.err.msg, "(and 1 more)");

	load_text(&l, "bad.yml", base_yaml);
	assert_int_equal(l.rc, ERR_INVALID);
	assert_contains(l.msgs, "bad.yml: a profile's file name is its name "
	    "followed by .yaml");
}

static void
test_load_dir_reports_every_file(void **state)
{
	struct profile_set set;
	char dir[256], path[300];
	diag_t d;
	err_t e;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/dir", tmpdir);
	err_clear(&e);
	assert_int_equal(fileio_mkdirs(dir, 0700, &e), 0);
	snprintf(path, sizeof(path), "%s/good.yaml", dir);
	assert_int_equal(fileio_create(path, edit("name: NAME", "name: good",
	    NULL, NULL), strlen(base_yaml), 0600, &e), 0);
	snprintf(path, sizeof(path), "%s/README.md", dir);
	assert_int_equal(fileio_create(path, "not a profile\n", 14, 0600, &e),
	    0);
	diag_init(&d);
	assert_int_equal(profile_load_dir(dir, &set, &d, &e), 0);
	assert_int_equal(set.n, 1);
	assert_non_null(profile_find(&set, "good"));
	profile_set_free(&set);

	/* Two broken files: both reported, nothing returned. */
	snprintf(path, sizeof(path), "%s/a-bad.yaml", dir);
	assert_int_equal(fileio_create(path, edit("name: NAME", "name: nope",
	    NULL, NULL), strlen(base_yaml), 0600, &e), 0);
	snprintf(path, sizeof(path), "%s/z-bad.yaml", dir);
	assert_int_equal(fileio_create(path, "airlock_profile: [\n", 19, 0600,
	    &e), 0);
	assert_int_equal(profile_load_dir(dir, &set, &d, &e), ERR_INVALID);
	assert_int_equal(set.n, 0);
	assert_null(set.v);
	assert_int_equal(diag_count(&d), 2);
	assert_contains(e.msg, "a-bad.yaml:2: name: name 'nope'");
	diag_free(&d);

	assert_int_equal(profile_load_dir("/nonexistent/policies", &set, NULL,
	    &e), ERR_IO);

	/* A profile that is a symbolic link is never followed. */
	snprintf(dir, sizeof(dir), "%s/links", tmpdir);
	assert_int_equal(fileio_mkdirs(dir, 0700, &e), 0);
	snprintf(path, sizeof(path), "%s/docsis-3.1-cm.yaml", dir);
	{
		char target[PATH_MAX + 64];

		snprintf(target, sizeof(target),
		    "%s/policies/docsis-3.1-cm.yaml", repo);
		assert_int_equal(symlink(target, path), 0);
	}
	diag_init(&d);
	assert_int_equal(profile_load_dir(dir, &set, &d, &e), ERR_INVALID);
	assert_contains(e.msg, "symbolic link");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);
}

/* ---- decisions -------------------------------------------------------- */

static void
test_legacy_refused_until_enabled(void **state)
{
	struct profile p;
	EVP_PKEY *k1024;
	err_t e;

	(void)state;
	/* A shallow copy: only flags change, nothing is freed through it. */
	p = *get("docsis-3.0-cm");
	err_clear(&e);
	assert_int_equal(profile_usable(&p, &e), ERR_POLICY);
	assert_contains(e.msg, "profile docsis-3.0-cm is a legacy profile "
	    "(RSA-1024 keys, SHA-1 signatures) and is disabled");
	assert_contains(e.msg, "set enabled: true in");
	assert_contains(e.msg, "policies/docsis-3.0-cm.yaml");
	assert_int_equal(profile_usable(get("docsis-3.1-cm"), &e), 0);

	p.enabled = 1;
	assert_int_equal(profile_usable(&p, &e), 0);
	k1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(k1024);
	assert_int_equal(profile_check_key(&p, k1024, 1, &e), 0);
	assert_int_equal(profile_check_key(&p, k1024, 0, &e), 0);
	assert_int_equal(profile_check_key(get("docsis-3.1-cm"), k1024, 1, &e),
	    ERR_POLICY);
	assert_string_equal(e.msg, "RSA-1024 key not allowed by profile "
	    "docsis-3.1-cm (allowed: rsa-2048)");
	EVP_PKEY_free(k1024);

	/* A plain disabled profile names the same fix. */
	p = *get("docsis-3.1-cm");
	p.enabled = 0;
	assert_int_equal(profile_usable(&p, &e), ERR_POLICY);
	assert_contains(e.msg, "profile docsis-3.1-cm is disabled; set "
	    "enabled: true in");
}

static void
test_key_checks(void **state)
{
	EVP_PKEY *rsa = pkitest_rsa(), *p256 = pkitest_ec("P-256");
	EVP_PKEY *p384 = pkitest_ec("P-384"), *p521 = pkitest_ec("P-521");
	EVP_PKEY *rsa3 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	err_t e;

	(void)state;
	assert_non_null(rsa);
	assert_non_null(p256);
	assert_non_null(p384);
	assert_non_null(p521);
	assert_non_null(rsa3);
	err_clear(&e);
	assert_int_equal(profile_check_key(get("docsis-3.1-cm"), rsa, 1, &e),
	    0);
	assert_int_equal(profile_check_key(get("docsis-3.1-cm"), rsa, 0, &e),
	    0);
	assert_int_equal(profile_check_key(get("docsis-3.1-cm"), p256, 1, &e),
	    ERR_POLICY);
	assert_string_equal(e.msg, "EC P-256 key not allowed by profile "
	    "docsis-3.1-cm (allowed: rsa-2048)");
	assert_int_equal(profile_check_key(get("docsis-4.0-cm"), p256, 1, &e),
	    ERR_POLICY);
	assert_int_equal(profile_check_key(get("tls-device"), p256, 1, &e), 0);
	assert_int_equal(profile_check_key(get("tls-device"), p384, 1, &e), 0);
	assert_int_equal(profile_check_key(get("tls-device"), rsa3, 1, &e), 0);
	assert_int_equal(profile_check_key(get("tls-device"), p521, 1, &e),
	    ERR_POLICY);
	assert_string_equal(e.msg, "EC secp521r1 key not allowed by profile "
	    "tls-device (allowed: rsa-2048, rsa-3072, rsa-4096, ec-p256, "
	    "ec-p384)");
	assert_int_equal(profile_check_key(get("rphy-device"), p256, 1, &e),
	    0);
	assert_int_equal(profile_check_key(get("rphy-device"), p384, 1, &e),
	    ERR_POLICY);

	/* Generated keys: only the profile's generate type. */
	assert_int_equal(profile_check_key(get("docsis-3.1-cm"), rsa3, 0, &e),
	    ERR_POLICY);
	assert_string_equal(e.msg, "RSA-3072 key not allowed by profile "
	    "docsis-3.1-cm for a generated key (generate: rsa-2048)");
	assert_int_equal(profile_check_key(get("intermediate-ca"), rsa, 0,
	    &e), ERR_POLICY);
	assert_contains(e.msg, "profile intermediate-ca does not let the "
	    "appliance generate keys");
	assert_int_equal(profile_check_key(get("tls-device"), p256, 0, &e), 0);
	assert_int_equal(profile_check_key(get("docsis-3.1-cm"), NULL, 1, &e),
	    ERR_INVALID);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa3);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
}

static void
test_rsa_exponent_checked(void **state)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *e3 = BN_new();
	EVP_PKEY *k = NULL;
	err_t e;

	(void)state;
	assert_non_null(ctx);
	assert_non_null(e3);
	assert_true(BN_set_word(e3, 3));
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e3), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
	err_clear(&e);
	assert_int_equal(profile_check_key(get("docsis-3.1-cm"), k, 1, &e),
	    ERR_POLICY);
	assert_string_equal(e.msg, "RSA-2048 key with a public exponent other "
	    "than 65537 not allowed by profile docsis-3.1-cm");
	EVP_PKEY_free(k);
	BN_free(e3);
	EVP_PKEY_CTX_free(ctx);
}

static void
test_operator_check(void **state)
{
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(profile_may_submit(get("docsis-3.1-cm"),
	    "Dave Example", &e), 0);
	/* The enrolment id is not the name the appliance state holds. */
	assert_int_equal(profile_may_submit(get("docsis-3.1-cm"), "dave", &e),
	    ERR_POLICY);
	assert_string_equal(e.msg, "operator 'dave' may not submit batches "
	    "with profile docsis-3.1-cm; add the name to its operators list");
	assert_int_equal(profile_may_submit(get("docsis-3.1-cm"),
	    "dave example", &e), ERR_POLICY);
	assert_int_equal(profile_may_submit(get("docsis-3.1-cm"), NULL, &e),
	    ERR_POLICY);
}

static void
test_validity(void **state)
{
	const struct profile *p = get("docsis-3.1-cm");
	time_t na = 0;
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(profile_not_after(p, T2026, T2050, &na, &e), 0);
	assert_int_equal(na, T2026 + (time_t)3650 * DAY);
	/* Exactly at the issuer's notAfter is still inside it. */
	assert_int_equal(profile_not_after(p, T2026, T2026 + (time_t)3650 *
	    DAY, &na, &e), 0);
	assert_int_equal(profile_not_after(p, T2026, T2030, &na, &e),
	    ERR_POLICY);
	assert_string_equal(e.msg, "profile docsis-3.1-cm: a certificate "
	    "issued now for 3650 days would expire at 2035-12-30T00:00:00Z, "
	    "after its issuer device-ca expires (2030-01-01T00:00:00Z); "
	    "shorten validity.days to at most 1461 or issue under a CA that "
	    "lives longer");
}

/* The subject of spec as "C=US/O=.../CN=..." for comparisons. */
static const char *
subject_text(const struct certspec *spec)
{
	static char out[1024];
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < spec->subject.n && used < sizeof(out); i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used,
		    "%s%s=%s", i ? "/" : "",
		    OBJ_nid2sn(spec->subject.attrs[i].nid),
		    spec->subject.attrs[i].value);
	return out;
}

static void
test_certspec_from_mac(void **state)
{
	const struct profile *p = get("docsis-3.1-cm");
	struct profile_request req;
	struct profile_overrides ov;
	struct certspec spec;
	err_t e;
	int f;

	(void)state;
	memset(&req, 0, sizeof(req));
	memset(&ov, 0, sizeof(ov));
	req.has_mac = 1;
	memcpy(req.mac, "\x00\x11\x22\xaa\xbb\xcc", 6);
	err_clear(&e);
	assert_int_equal(profile_certspec(p, &req, T2026, T2050, &spec, &ov,
	    &e), 0);
	assert_string_equal(subject_text(&spec),
	    "C=US/O=Example Devices Inc/OU=DOCSIS/CN=00:11:22:AA:BB:CC");
	assert_int_equal(spec.not_before, T2026);
	assert_int_equal(spec.not_after, T2026 + (time_t)3650 * DAY);
	assert_int_equal(spec.digest, CERTSPEC_MD_SHA256);
	assert_int_equal(spec.ext.key_usage, CERTSPEC_KU_DIGITAL_SIGNATURE |
	    CERTSPEC_KU_KEY_ENCIPHERMENT);
	assert_int_equal(spec.ext.san.n, 0);
	/* Nothing was requested, so nothing was overridden. */
	assert_int_equal(ov.n, 0);
	certspec_free(&spec);

	/* Each MAC format ends up in the CN. */
	for (f = 0; f < MAC_STYLE_COUNT; f++) {
		struct profile q = *p;
		char want[MAC_STR_MAX];

		q.mac_format = (enum mac_style)f;
		assert_int_equal(mac_format(req.mac, q.mac_format,
		    want, sizeof(want)), 0);
		assert_int_equal(profile_certspec(&q, &req, T2026, T2050,
		    &spec, NULL, &e), 0);
		assert_string_equal(spec.subject.attrs[3].value, want);
		certspec_free(&spec);
	}

	/* cn: mac without a MAC, validity past the issuer: refused. */
	req.has_mac = 0;
	assert_int_equal(profile_certspec(p, &req, T2026, T2050, &spec, &ov,
	    &e), ERR_POLICY);
	assert_string_equal(e.msg, "profile docsis-3.1-cm takes the common "
	    "name from the device's MAC address, and this request has none");
	req.has_mac = 1;
	assert_int_equal(profile_certspec(p, &req, T2026, T2030, &spec, &ov,
	    &e), ERR_POLICY);
	assert_contains(e.msg, "after its issuer device-ca expires");
	assert_int_equal(spec.subject.n, 0);
	profile_overrides_free(&ov);
}

static X509_NAME *
name_of(const char *const *kv)
{
	X509_NAME *n = X509_NAME_new();

	assert_non_null(n);
	for (; kv[0] != NULL; kv += 2)
		assert_int_equal(X509_NAME_add_entry_by_txt(n, kv[0],
		    MBSTRING_UTF8, (const unsigned char *)kv[1], -1, -1, 0),
		    1);
	return n;
}

/* All overrides, formatted, one per line. */
static const char *
ov_text(const struct profile_overrides *ov)
{
	static char out[4096];
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < ov->n && used + 1 < sizeof(out); i++) {
		used += (size_t)profile_override_format(&ov->v[i], out + used,
		    sizeof(out) - used - 1);
		out[used++] = '\n';
		out[used] = '\0';
	}
	return out;
}

static void
test_overrides_recorded(void **state)
{
	static const char *const csr[] = {
		"C", "DE", "O", "Example Devices Inc", "OU", "Foo",
		"L", "Paris", "CN", "modem-1", "title", "boss\x1b[31m", NULL
	};
	struct profile_request req;
	struct profile_overrides ov;
	struct certspec spec;
	X509_NAME *n = name_of(csr);
	err_t e;

	(void)state;
	memset(&req, 0, sizeof(req));
	memset(&ov, 0, sizeof(ov));
	req.has_mac = 1;
	memcpy(req.mac, "\x00\x11\x22\xaa\xbb\xcc", 6);
	req.subject = n;
	err_clear(&e);
	assert_int_equal(profile_certspec(get("docsis-3.1-cm"), &req, T2026,
	    T2050, &spec, &ov, &e), 0);
	assert_string_equal(subject_text(&spec),
	    "C=US/O=Example Devices Inc/OU=DOCSIS/CN=00:11:22:AA:BB:CC");
	assert_int_equal(ov.n, 5);
	assert_string_equal(ov_text(&ov),
	    "C: requested 'DE' -> 'US'\n"
	    "OU: requested 'Foo' -> 'DOCSIS'\n"
	    "CN: requested 'modem-1' -> '00:11:22:AA:BB:CC'\n"
	    "L: requested 'Paris' -> dropped (not allowed by the profile)\n"
	    "title: requested 'boss\\x1b[31m' -> dropped (not allowed by the "
	    "profile)\n");
	assert_int_equal(ov.v[0].kind, PROFILE_OV_REPLACED);
	assert_string_equal(ov.v[0].requested, "DE");
	assert_string_equal(ov.v[0].issued, "US");
	assert_int_equal(ov.v[3].kind, PROFILE_OV_DROPPED);
	assert_null(ov.v[3].issued);
	certspec_free(&spec);
	profile_overrides_free(&ov);

	/* tls-device keeps OU, ST and L and takes the CN from the request. */
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2050, &spec, &ov, &e), 0);
	assert_string_equal(subject_text(&spec),
	    "C=US/O=Example Devices Inc/OU=Foo/L=Paris/CN=modem-1");
	assert_string_equal(ov_text(&ov),
	    "C: requested 'DE' -> 'US'\n"
	    "title: requested 'boss\\x1b[31m' -> dropped (not allowed by the "
	    "profile)\n");
	certspec_free(&spec);
	profile_overrides_free(&ov);
	X509_NAME_free(n);
}

/* Points f at the first n of attrs: the request sees the change. */
static const struct certspec_name *
fields_of(struct certspec_name *f, struct certspec_attr *attrs, size_t n)
{
	f->attrs = attrs;
	f->n = n;
	return f;
}

/* The first n names of l, likewise. */
static const struct certspec_gnlist *
sans(struct certspec_gnlist *l, size_t n)
{
	l->n = n;
	return l;
}

static void
test_overrides_from_csv_fields(void **state)
{
	struct certspec_attr attrs[3] = {
		{ NID_commonName, (char *)"gw-17.devices.example.com" },
		{ NID_stateOrProvinceName, (char *)"Colorado" },
		{ NID_localityName, (char *)"Bad\x07" "Bell" },
	};
	struct certspec_name fields;
	struct profile_request req;
	struct profile_overrides ov;
	struct certspec spec;
	err_t e;

	(void)state;
	memset(&req, 0, sizeof(req));
	memset(&ov, 0, sizeof(ov));
	req.fields = fields_of(&fields, attrs, 2);
	err_clear(&e);
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, &ov, &e), 0);
	assert_string_equal(subject_text(&spec), "C=US/O=Example Devices Inc/"
	    "ST=Colorado/CN=gw-17.devices.example.com");
	assert_string_equal(ov_text(&ov),
	    "C: not requested -> 'US'\n"
	    "O: not requested -> 'Example Devices Inc'\n");
	assert_int_equal(ov.v[0].kind, PROFILE_OV_ADDED);
	assert_null(ov.v[0].requested);
	certspec_free(&spec);

	/* A kept value that cannot be issued refuses the line. */
	req.fields = fields_of(&fields, attrs, 3);
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, &ov, &e), ERR_INVALID);
	assert_string_equal(e.msg, "profile tls-device: requested L "
	    "'Bad\\x07Bell' cannot be issued: it holds control characters or "
	    "invalid UTF-8");
	/* A refused line leaves no overrides behind. */
	assert_int_equal(ov.n, 2);
	profile_overrides_free(&ov);

	/* cn: request needs exactly one CN. */
	req.fields = fields_of(&fields, attrs + 1, 1);
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, &ov, &e), ERR_POLICY);
	assert_string_equal(e.msg, "profile tls-device takes the common name "
	    "from the request, and this request has none");
	attrs[1].nid = NID_commonName;
	req.fields = fields_of(&fields, attrs, 2);
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, &ov, &e), ERR_POLICY);
	assert_contains(e.msg, "more than one CN");
	assert_int_equal(ov.n, 0);
	profile_overrides_free(&ov);
}

static void
test_requested_cn_checked(void **state)
{
	char longcn[80];
	struct certspec_attr cn = { NID_commonName, longcn };
	struct certspec_name fields = { &cn, 1 };
	static const char *const bmp_kv[] = { NULL };
	struct profile_request req;
	struct certspec spec;
	X509_NAME *n;
	err_t e;

	(void)state;
	memset(longcn, 'a', 65);
	longcn[65] = '\0';
	memset(&req, 0, sizeof(req));
	req.fields = &fields;
	err_clear(&e);
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "requested CN 'aaaa");
	assert_contains(e.msg, "it has 65 characters; CN takes 1 to 64");

	/* A CSR's BMPString CN is read as text, like any string type. */
	n = name_of(bmp_kv);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"x", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_ENTRY_set_data(X509_NAME_get_entry(n, 0),
	    V_ASN1_BMPSTRING, (const unsigned char *)"\0g\0w", 4), 1);
	req.fields = NULL;
	req.subject = n;
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), 0);
	assert_string_equal(subject_text(&spec),
	    "C=US/O=Example Devices Inc/CN=gw");
	certspec_free(&spec);

	/* Both a CSR subject and CSV fields: a caller's mistake. */
	req.fields = &fields;
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_INTERNAL);
	X509_NAME_free(n);
}

static void
san_one(struct certspec_gn *g, enum certspec_gn_type t, const char *v)
{
	memset(g, 0, sizeof(*g));
	g->type = t;
	g->value = (char *)v;
}

static void
test_san_rules(void **state)
{
	struct certspec_attr cn = { NID_commonName, (char *)"gw-17" };
	struct certspec_name fields = { &cn, 1 };
	struct certspec_gn g[2];
	struct certspec_gnlist san = { g, 1 };
	struct profile_request req;
	struct certspec spec;
	err_t e;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.fields = &fields;
	err_clear(&e);

	san_one(&g[0], CERTSPEC_GN_DNS, "gw-17.devices.example.com");
	san_one(&g[1], CERTSPEC_GN_DNS, "DEVICES.example.com");
	req.san = sans(&san, 2);
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), 0);
	assert_int_equal(spec.ext.san.n, 2);
	assert_string_equal(spec.ext.san.v[0].value,
	    "gw-17.devices.example.com");
	/* The profile's own extensions came along. */
	assert_int_equal(spec.ext.eku.n, 2);
	certspec_free(&spec);

	req.san = sans(&san, 1);
	san_one(&g[0], CERTSPEC_GN_DNS, "gw-17.example.org");
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_POLICY);
	assert_string_equal(e.msg, "dns SAN 'gw-17.example.org' not allowed "
	    "for profile tls-device: it must end with devices.example.com");
	/* A suffix matches whole labels only. */
	san_one(&g[0], CERTSPEC_GN_DNS, "evildevices.example.com");
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_POLICY);
	san_one(&g[0], CERTSPEC_GN_DNS, "devices.example.com.evil.org");
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_POLICY);
	san_one(&g[0], CERTSPEC_GN_DNS, "*.devices.example.com");
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_INVALID);
	assert_string_equal(e.msg, "profile tls-device: the requested dns SAN "
	    "'*.devices.example.com' is not valid");
	san_one(&g[0], CERTSPEC_GN_EMAIL, "ops@devices.example.com");
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_POLICY);
	assert_string_equal(e.msg, "email SANs not allowed for profile "
	    "tls-device (allowed: dns)");
	san_one(&g[0], CERTSPEC_GN_DNS, "a.devices.example.com");
	san_one(&g[1], CERTSPEC_GN_DNS, "A.devices.example.com");
	req.san = sans(&san, 2);
	assert_int_equal(profile_certspec(get("tls-device"), &req, T2026,
	    T2030, &spec, NULL, &e), ERR_POLICY);
	assert_contains(e.msg, "twice");

	/* DOCSIS takes no SANs at all. */
	req.san = sans(&san, 1);
	req.has_mac = 1;
	assert_int_equal(profile_certspec(get("docsis-3.1-cm"), &req, T2026,
	    T2050, &spec, NULL, &e), ERR_POLICY);
	assert_string_equal(e.msg, "SANs not allowed for profile "
	    "docsis-3.1-cm (the request has dns SANs)");
	assert_int_equal(spec.subject.n, 0);
}

/* ---- real certificates ------------------------------------------------ */

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

static void
ca_make(struct ca *ca)
{
	struct certspec spec;

	ca->key = pkitest_rsa();
	assert_non_null(ca->key);
	pkitest_spec(&spec, "Test Device CA", T2026, T2050, 1, -1);
	ca->cert = pkitest_issue(&spec, ca->key, NULL, ca->key, 1);
	certspec_free(&spec);
	assert_non_null(ca->cert);
}

static void
ca_free(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

/*
 * Builds, signs (with the profile's digest) and lints one certificate;
 * returns it for further checks, lint findings in *findings.
 */
static X509 *
issue(const struct profile *p, const struct profile_request *req,
    EVP_PKEY *dev, const struct ca *ca, const struct lint_opts *opts,
    int *findings)
{
	unsigned char serial[16];
	struct certspec spec;
	X509 *x = NULL;
	diag_t d;
	err_t e;

	err_clear(&e);
	if (profile_certspec(p, req, T2026 + DAY, T2050, &spec, NULL, &e) != 0)
		fail_msg("%s", e.msg);
	pkitest_serial(serial, 7);
	if (certbuild_new(&spec, dev, ca->cert, serial, sizeof(serial), &x,
	    &e) != 0)
		fail_msg("%s", e.msg);
	certspec_free(&spec);
	assert_true(X509_sign(x, ca->key, profile_md(p)) > 0);
	diag_init(&d);
	*findings = lint_cert(x, ca->cert, opts, &d);
	if (*findings > 0)
		testutil_print_diag(&d, "lint");
	diag_free(&d);
	return x;
}

static void
test_real_certificate_lints_clean(void **state)
{
	const struct profile *p = get("docsis-3.1-cm");
	struct profile_request req;
	struct lint_opts opts;
	struct ca ca;
	EVP_PKEY *dev = pkitest_rsa();
	X509 *x;
	char cn[64];
	err_t e;
	int findings;

	(void)state;
	ca_make(&ca);
	assert_non_null(dev);
	err_clear(&e);
	assert_int_equal(profile_check_key(p, dev, 0, &e), 0);
	memset(&req, 0, sizeof(req));
	req.has_mac = 1;
	memcpy(req.mac, "\x00\x11\x22\xaa\xbb\xcc", 6);
	profile_lint_opts(p, &opts);
	assert_false(opts.allow_legacy);
	x = issue(p, &req, dev, &ca, &opts, &findings);
	assert_int_equal(findings, 0);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "00:11:22:AA:BB:CC");
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	assert_int_equal(X509_get_extension_flags(x) & EXFLAG_CA, 0);
	assert_true(X509_get_key_usage(x) ==
	    (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
	X509_free(x);
	EVP_PKEY_free(dev);
	ca_free(&ca);
}

static void
test_real_certificates_other_profiles(void **state)
{
	struct certspec_attr cn = { NID_commonName, (char *)"gw-17" };
	struct certspec_name fields = { &cn, 1 };
	struct certspec_gn g;
	struct certspec_gnlist san = { &g, 1 };
	struct profile_request req;
	struct lint_opts opts;
	struct profile legacy;
	struct ca ca;
	EVP_PKEY *ec = pkitest_ec("P-256");
	EVP_PKEY *k1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	X509 *x;
	diag_t d;
	int findings;

	(void)state;
	ca_make(&ca);
	assert_non_null(ec);
	assert_non_null(k1024);

	/* tls-device: EC key, CN and a DNS SAN from the request. */
	memset(&req, 0, sizeof(req));
	req.fields = &fields;
	req.san = &san;
	san_one(&g, CERTSPEC_GN_DNS, "gw-17.devices.example.com");
	profile_lint_opts(get("tls-device"), &opts);
	x = issue(get("tls-device"), &req, ec, &ca, &opts, &findings);
	assert_int_equal(findings, 0);
	X509_free(x);

	/* intermediate-ca: CA:TRUE pathLen 0 from a CSR key. */
	req.san = NULL;
	profile_lint_opts(get("intermediate-ca"), &opts);
	x = issue(get("intermediate-ca"), &req, ec, &ca, &opts, &findings);
	assert_int_equal(findings, 0);
	assert_true(X509_check_ca(x) > 0);
	assert_int_equal(X509_get_pathlen(x), 0);
	X509_free(x);

	/* DOCSIS 3.0: RSA-1024 and SHA-1 pass lint only as legacy. */
	legacy = *get("docsis-3.0-cm");
	legacy.enabled = 1;
	memset(&req, 0, sizeof(req));
	req.has_mac = 1;
	memcpy(req.mac, "\x00\x11\x22\xaa\xbb\xcc", 6);
	profile_lint_opts(&legacy, &opts);
	assert_true(opts.allow_legacy);
	x = issue(&legacy, &req, k1024, &ca, &opts, &findings);
	assert_int_equal(findings, 0);
	assert_int_equal(X509_get_signature_nid(x), NID_sha1WithRSAEncryption);
	diag_init(&d);
	assert_true(lint_cert(x, ca.cert, NULL, &d) >= 2);
	diag_free(&d);
	X509_free(x);

	EVP_PKEY_free(ec);
	EVP_PKEY_free(k1024);
	ca_free(&ca);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(profile_key_name(PROFILE_KEY_EC_P384), "ec-p384");
	assert_string_equal(profile_key_name(PROFILE_KEY_COUNT), "?");
	assert_string_equal(profile_md_name(PROFILE_MD_SHA1), "sha1");
	assert_string_equal(profile_md_name((enum profile_md)9), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_all_load),
		cmocka_unit_test(test_shipped_contents),
		cmocka_unit_test(test_base_profile_loads),
		cmocka_unit_test(test_refuse_legacy_crypto_without_legacy),
		cmocka_unit_test(test_refuse_legacy_without_legacy_crypto),
		cmocka_unit_test(test_legacy_profile_loads),
		cmocka_unit_test(test_refuse_quorum_below_two),
		cmocka_unit_test(test_refuse_name_not_file_name),
		cmocka_unit_test(test_refuse_validity_not_exactly_one),
		cmocka_unit_test(test_fixed_not_after_loads),
		cmocka_unit_test(test_refuse_subject_mistakes),
		cmocka_unit_test(test_refuse_key_mistakes),
		cmocka_unit_test(test_refuse_extension_and_san_mistakes),
		cmocka_unit_test(test_refuse_top_level_mistakes),
		cmocka_unit_test(test_all_problems_at_once),
		cmocka_unit_test(test_load_dir_reports_every_file),
		cmocka_unit_test(test_legacy_refused_until_enabled),
		cmocka_unit_test(test_key_checks),
		cmocka_unit_test(test_rsa_exponent_checked),
		cmocka_unit_test(test_operator_check),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_certspec_from_mac),
		cmocka_unit_test(test_overrides_recorded),
		cmocka_unit_test(test_overrides_from_csv_fields),
		cmocka_unit_test(test_requested_cn_checked),
		cmocka_unit_test(test_san_rules),
		cmocka_unit_test(test_real_certificate_lints_clean),
		cmocka_unit_test(test_real_certificates_other_profiles),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
