/*
 * test_transcript.c: a ceremony transcript, signed with a software key,
 * verifies with Airlock and with stock openssl; any change to an output,
 * to the transcript or to the signer's key is caught and named; and the
 * signer must chain to the root the auditor trusts.
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
#include <openssl/pem.h>

#include "ceremony/script.h"
#include "ceremony/transcript.h"
#include "pki/pkiutil.h"
#include "pkitest.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/yamldoc.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

#define TRANSCRIPT "root-2026.transcript.yaml"
#define SIGNATURE "root-2026.transcript.sig"

static const char root_pem[] = "-----BEGIN CERTIFICATE-----\nnot really\n"
    "-----END CERTIFICATE-----\n";
static const unsigned char root_cer[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };

/* Shared by every test: keys are slow to make, scripts are read-only. */
static EVP_PKEY *ec_key, *rsa_key, *other_key;
static EVP_PKEY *ca_root_key, *ca_int_key, *leaf_key;
static X509 *ca_root, *ca_int, *leaf, *other_root;
static struct script root_script, key_script;

/*
 * A fixture's scratch directory. Its path is kept to DIR_MAX characters
 * so test_openssl_dgst_verifies can always add "/kN" to it.
 */
#define DIR_MAX 240

struct fx {
	char dir[DIR_MAX + 16];
};

/* The shipped examples, from the source tree. */
static int
load_examples(void)
{
	char repo[PATH_MAX], path[PATH_MAX + 64];
	diag_t d;
	err_t e;
	int r;

	if (testutil_srcdir(repo, sizeof(repo)) != 0)
		return -1;
	diag_init(&d);
	snprintf(path, sizeof(path), "%s/ceremony/examples/rsa/01-root.yaml",
	    repo);
	r = script_load(path, &root_script, &d, &e);
	snprintf(path, sizeof(path),
	    "%s/ceremony/examples/people/alice-key.yaml", repo);
	if (r == 0)
		r = script_load(path, &key_script, &d, &e);
	if (r != 0)
		fprintf(stderr, "cannot load the examples: %s\n", e.msg);
	diag_free(&d);
	return r;
}

static int
group_setup(void **state)
{
	struct certspec s;

	(void)state;
	if (load_examples() != 0)
		return -1;
	ec_key = pkitest_ec("P-256");
	rsa_key = pkitest_rsa();
	other_key = pkitest_ec("P-256");
	ca_root_key = pkitest_ec("P-384");
	ca_int_key = pkitest_ec("P-256");
	leaf_key = pkitest_ec("P-256");
	if (!ec_key || !rsa_key || !other_key || !ca_root_key || !ca_int_key ||
	    !leaf_key)
		return -1;
	pkitest_spec(&s, "Test Root CA", T2026, T2060, 1, 1);
	ca_root = pkitest_issue(&s, ca_root_key, NULL, ca_root_key, 1);
	certspec_free(&s);
	/* Same name, another key: what a forged root would look like. */
	pkitest_spec(&s, "Test Root CA", T2026, T2060, 1, 1);
	other_root = pkitest_issue(&s, other_key, NULL, other_key, 2);
	certspec_free(&s);
	pkitest_spec(&s, "Test Operations CA", T2026, T2050, 1, 0);
	ca_int = pkitest_issue(&s, ca_int_key, ca_root, ca_root_key, 3);
	certspec_free(&s);
	pkitest_spec(&s, "Airlock test audit checkpoint signing", T2026,
	    T2030, 0, -1);
	leaf = pkitest_issue(&s, leaf_key, ca_int, ca_int_key, 4);
	certspec_free(&s);
	return ca_root && other_root && ca_int && leaf ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ca_root_key);
	EVP_PKEY_free(ca_int_key);
	EVP_PKEY_free(leaf_key);
	X509_free(ca_root);
	X509_free(other_root);
	X509_free(ca_int);
	X509_free(leaf);
	script_free(&root_script);
	script_free(&key_script);
	return 0;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (testutil_tmpdir(f->dir, DIR_MAX + 1, "transcript") != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (testutil_rmtree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* A path in the fixture's directory (one static buffer: use at once). */
static const char *
p(const struct fx *f, const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return path;
}

/* Writes (or overwrites: tests tamper on purpose) a file. */
static void
put(const struct fx *f, const char *name, const void *data, size_t len)
{
	FILE *fp = fopen(p(f, name), "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Writes key's public half (key != NULL) or the certificate x as PEM. */
static void
put_pem(const struct fx *f, const char *name, EVP_PKEY *key, X509 *x)
{
	FILE *fp = fopen(p(f, name), "wb");

	assert_non_null(fp);
	assert_int_equal(key != NULL ? PEM_write_PUBKEY(fp, key) :
	    PEM_write_X509(fp, x), 1);
	assert_int_equal(fclose(fp), 0);
}

static void
put_pub(const struct fx *f, const char *name, EVP_PKEY *key)
{
	put_pem(f, name, key, NULL);
}

static void
put_cert(const struct fx *f, const char *name, X509 *x)
{
	put_pem(f, name, NULL, x);
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];

	assert_int_equal(EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL), 1);
	buf_hex(md, sizeof(md), out, 65);
}

/*
 * What a root ceremony records: its token, two steps and two outputs
 * (written here first, as the ceremony writes them before finishing).
 */
static struct transcript *
record(const struct fx *f, const struct script *s)
{
	static const char *const attrs[] = { "ca", "root", "purpose", "root",
	    NULL };
	struct transcript *t = NULL;

	put(f, "root.pem", root_pem, strlen(root_pem));
	put(f, "root.cer", root_cer, sizeof(root_cer));
	assert_int_equal(transcript_new(s, 0, &t), 0);
	assert_int_equal(transcript_token(t, "/usr/lib/softhsm/libsofthsm2.so",
	    "airlock-ca", "1234abcd", "SoftHSM project", "SoftHSM v2"), 0);
	assert_int_equal(transcript_step(t, "generated key %s", "root-2026"), 0);
	assert_int_equal(transcript_step(t, "signed %s", "root.pem"), 0);
	assert_int_equal(transcript_output(t, "root.pem", root_pem,
	    strlen(root_pem), "ca-certificate", attrs), 0);
	assert_int_equal(transcript_output(t, "root.cer", root_cer,
	    sizeof(root_cer), "ca-certificate-der", NULL), 0);
	return t;
}

/* Records and signs with key, whose public key goes into signer_file. */
static void
make(const struct fx *f, const struct script *s, EVP_PKEY *key,
    const char *signer_file)
{
	struct transcript *t = record(f, s);
	err_t e;

	if (!fileio_exists(p(f, signer_file)))
		put_pub(f, signer_file, key);
	err_clear(&e);
	if (transcript_finish(t, f->dir, key, key, signer_file, &e) != 0)
		fail_msg("transcript_finish: %s", e.msg);
	transcript_free(t);
}

static int
verify(const struct fx *f, struct transcript_info *info, err_t *e)
{
	err_clear(e);
	return transcript_verify(f->dir, TRANSCRIPT, info, e);
}

/* Replaces the first `old` in a file by `new` of the same length. */
static void
tamper(const struct fx *f, const char *name, const char *old, const char *new)
{
	buf_t b;
	err_t e;
	char *at;

	assert_int_equal(strlen(old), strlen(new));
	buf_init(&b, TRANSCRIPT_MAX_BYTES);
	assert_int_equal(fileio_read(p(f, name), TRANSCRIPT_MAX_BYTES, &b, &e),
	    0);
	at = memmem(b.data, b.len, old, strlen(old));
	if (at == NULL)
		fail_msg("test bug: '%s' is not in %s", old, name);
	memcpy(at, new, strlen(new));
	put(f, name, b.data, b.len);
	buf_free(&b);
}

/* ---- a good transcript --------------------------------------------------- */

static void
check_roundtrip(const struct fx *f, EVP_PKEY *key)
{
	struct transcript_info info;
	char hex[65], want[65];
	time_t before = time(NULL), after;
	buf_t b;
	err_t e;

	make(f, &root_script, key, "signer.pub.pem");
	after = time(NULL);
	if (verify(f, &info, &e) != 0)
		fail_msg("verify: %s", e.msg);
	assert_string_equal(info.ceremony, "root-2026");
	assert_string_equal(info.type, "root");
	assert_false(info.rehearsal);
	assert_true(info.started >= before && info.started <= after);
	assert_string_equal(info.signer_file, "signer.pub.pem");
	assert_int_equal(pki_spki_sha256_hex(key, want), 0);
	assert_string_equal(info.signer_sha256, want);
	/* The transcript's own hash is what `airlock init` records. */
	buf_init(&b, TRANSCRIPT_MAX_BYTES);
	assert_int_equal(fileio_read(p(f, TRANSCRIPT), TRANSCRIPT_MAX_BYTES, &b,
	    &e), 0);
	sha256_hex(b.data, b.len, hex);
	assert_string_equal(info.sha256, hex);
	buf_free(&b);

	assert_int_equal(info.n_outputs, 2);
	assert_string_equal(info.outputs[0].file, "root.pem");
	assert_string_equal(info.outputs[0].kind, "ca-certificate");
	sha256_hex(root_pem, strlen(root_pem), hex);
	assert_string_equal(info.outputs[0].sha256, hex);
	assert_int_equal(info.outputs[0].n_attrs, 2);
	assert_string_equal(transcript_output_attr(&info.outputs[0], "ca"),
	    "root");
	assert_string_equal(transcript_output_attr(&info.outputs[0], "purpose"),
	    "root");
	assert_null(transcript_output_attr(&info.outputs[0], "kind"));
	assert_string_equal(info.outputs[1].file, "root.cer");
	assert_string_equal(info.outputs[1].kind, "ca-certificate-der");
	sha256_hex(root_cer, sizeof(root_cer), hex);
	assert_string_equal(info.outputs[1].sha256, hex);
	assert_int_equal(info.outputs[1].n_attrs, 0);
	transcript_info_free(&info);
}

static void
test_roundtrip_ec(void **state)
{
	check_roundtrip(*state, ec_key);
}

static void
test_roundtrip_rsa(void **state)
{
	check_roundtrip(*state, rsa_key);
}

/* The console lists the steps as they happen. */
static void
test_steps_listed(void **state)
{
	struct transcript *t = record(*state, &root_script);

	assert_int_equal(transcript_nsteps(t), 2);
	assert_string_equal(transcript_step_text(t, 0), "generated key root-2026");
	assert_string_equal(transcript_step_text(t, 1), "signed root.pem");
	assert_null(transcript_step_text(t, 2));
	transcript_free(t);
}

/* The transcript records what the officer reviews: script hash, token. */
static void
test_records_script_and_token(void **state)
{
	struct fx *f = *state;
	struct yamldoc *doc = NULL;
	const struct yamldoc_node *hsm = NULL, *steps = NULL;
	const char *v = NULL;
	char hex[65];
	diag_t d;
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	assert_int_equal(yamldoc_load(p(f, TRANSCRIPT), NULL, &doc, &e), 0);
	diag_init(&d);
	yamldoc_set_diag(doc, &d);
	buf_hex(root_script.sha256, sizeof(root_script.sha256), hex, sizeof(hex));
	assert_int_equal(yamldoc_get_str(doc, doc->root, "script_sha256", 1, &v),
	    1);
	assert_string_equal(v, hex);
	assert_int_equal(yamldoc_get_str(doc, doc->root, "script", 1, &v), 1);
	assert_string_equal(v, root_script.path);
	assert_int_equal(yamldoc_get_seq(doc, doc->root, "hsm", 1, &hsm), 1);
	assert_int_equal(hsm->n, 1);
	assert_int_equal(yamldoc_get_str(doc, hsm->items[0], "serial", 1, &v), 1);
	assert_string_equal(v, "1234abcd");
	assert_int_equal(yamldoc_get_seq(doc, doc->root, "steps", 1, &steps), 1);
	assert_int_equal(steps->n, 2);
	assert_int_equal(yamldoc_get_str(doc, steps->items[1], "what", 1, &v), 1);
	assert_string_equal(v, "signed root.pem");
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
	yamldoc_free(doc);
}

/* The documented check, for auditors who trust only stock tools. */
static void
test_openssl_dgst_verifies(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *keys[2];
	char cmd[1024];
	int i;

	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "openssl not installed: skipping\n");
		skip();
	}
	keys[0] = ec_key;
	keys[1] = rsa_key;
	for (i = 0; i < 2; i++) {
		struct fx g;

		/* setup kept f->dir to DIR_MAX characters: this always fits. */
		snprintf(g.dir, sizeof(g.dir), "%.*s/k%d", DIR_MAX, f->dir, i);
		assert_int_equal(fileio_mkdirs(g.dir, 0700, NULL), 0);
		make(&g, &root_script, keys[i], "signer.pub.pem");
		snprintf(cmd, sizeof(cmd), "cd '%s' && openssl dgst -sha256 "
		    "-verify signer.pub.pem -signature " SIGNATURE " " TRANSCRIPT
		    " >/dev/null 2>&1", g.dir);
		assert_int_equal(system(cmd), 0);
		/* And openssl is not simply saying yes. */
		tamper(&g, TRANSCRIPT, "rehearsal: false", "rehearsal: true ");
		assert_int_not_equal(system(cmd), 0);
	}
}

/* ---- tampering -------------------------------------------------------------- */

static void
test_changed_output_byte(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	tamper(f, "root.pem", "not really", "not reallY");
	assert_int_equal(verify(f, &info, &e), ERR_INVALID);
	assert_contains(e.msg, p(f, "root.pem"));
	assert_contains(e.msg, "changed after the ceremony");
	assert_int_equal(info.n_outputs, 0);
	assert_null(info.outputs);
}

/*
 * Makes a good transcript, removes the file name from beside it and
 * expects ERR_NOTFOUND naming the file: by its whole path when whole,
 * else by name.
 */
static void
check_missing(const struct fx *f, const char *name, int whole)
{
	struct transcript_info info;
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	assert_int_equal(unlink(p(f, name)), 0);
	assert_int_equal(verify(f, &info, &e), ERR_NOTFOUND);
	assert_contains(e.msg, whole ? p(f, name) : name);
}

static void
test_missing_output(void **state)
{
	check_missing(*state, "root.cer", 1);
}

static void
test_changed_transcript_byte(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	make(f, &root_script, rsa_key, "signer.pub.pem");
	/* A plausible forgery: the same transcript, claiming a rehearsal. */
	tamper(f, TRANSCRIPT, "rehearsal: false", "rehearsal: true ");
	assert_int_equal(verify(f, &info, &e), ERR_INVALID);
	assert_contains(e.msg, p(f, SIGNATURE));
	assert_contains(e.msg, "signature does not match");
	assert_null(info.ceremony);
}

static void
test_changed_signature_byte(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	buf_t b;
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	buf_init(&b, 4096);
	assert_int_equal(fileio_read(p(f, SIGNATURE), 4096, &b, &e), 0);
	b.data[b.len - 1] ^= 1;
	put(f, SIGNATURE, b.data, b.len);
	buf_free(&b);
	assert_int_equal(verify(f, &info, &e), ERR_INVALID);
	assert_contains(e.msg, "signature does not match");
}

/* Swapping in one's own key (and re-signing) must not pass silently. */
static void
test_replaced_signer_key(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	char want[65];
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	put_pub(f, "signer.pub.pem", other_key);
	assert_int_equal(verify(f, &info, &e), ERR_INVALID);
	assert_int_equal(pki_spki_sha256_hex(ec_key, want), 0);
	assert_contains(e.msg, "signer.pub.pem");
	assert_contains(e.msg, "does not have the SHA-256");
	assert_contains(e.msg, want);
}

static void
test_missing_signature(void **state)
{
	check_missing(*state, SIGNATURE, 1);
}

static void
test_missing_signer_file(void **state)
{
	check_missing(*state, "signer.pub.pem", 0);
}

/* Only NAME.transcript.yaml has a NAME.transcript.sig beside it. */
static void
test_transcript_name_required(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	err_clear(&e);
	assert_int_equal(transcript_verify(f->dir, "root.pem", &info, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "root.pem");
	assert_contains(e.msg, ".transcript.yaml");
}

/*
 * A signed transcript naming "../x" must not make the verifier read
 * files outside the ceremony directory.
 */
static void
test_output_name_with_slash(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	struct transcript *t = NULL;
	err_t e;

	put_pub(f, "signer.pub.pem", ec_key);
	assert_int_equal(transcript_new(&root_script, 0, &t), 0);
	assert_int_equal(transcript_output(t, "../etc/passwd", "x", 1, "other",
	    NULL), 0);
	assert_int_equal(transcript_finish(t, f->dir, ec_key, ec_key,
	    "signer.pub.pem", &e), 0);
	transcript_free(t);
	assert_int_equal(verify(f, &info, &e), ERR_INVALID);
	assert_contains(e.msg, "../etc/passwd");
	assert_contains(e.msg, "outside the ceremony directory");
}

/* Ceremony outputs are write-once; so is the record of them. */
static void
test_finish_refuses_overwrite(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	struct transcript *t;
	buf_t before, after;
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	buf_init(&before, TRANSCRIPT_MAX_BYTES);
	buf_init(&after, TRANSCRIPT_MAX_BYTES);
	assert_int_equal(fileio_read(p(f, TRANSCRIPT), TRANSCRIPT_MAX_BYTES,
	    &before, &e), 0);
	t = record(f, &root_script);
	assert_int_equal(transcript_step(t, "a second run"), 0);
	err_clear(&e);
	assert_int_equal(transcript_finish(t, f->dir, ec_key, ec_key,
	    "signer.pub.pem", &e), ERR_EXISTS);
	assert_contains(e.msg, TRANSCRIPT);
	transcript_free(t);
	/* The first transcript is untouched and still verifies. */
	assert_int_equal(fileio_read(p(f, TRANSCRIPT), TRANSCRIPT_MAX_BYTES,
	    &after, &e), 0);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	assert_int_equal(verify(f, &info, &e), 0);
	transcript_info_free(&info);
	buf_free(&before);
	buf_free(&after);
}

static void
test_too_many_attrs(void **state)
{
	const char *attrs[2 * (TRANSCRIPT_MAX_ATTRS + 1) + 1];
	struct transcript *t = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 2 * (TRANSCRIPT_MAX_ATTRS + 1); i += 2) {
		attrs[i] = "k";
		attrs[i + 1] = "v";
	}
	attrs[i] = NULL;
	assert_int_equal(transcript_new(&root_script, 0, &t), 0);
	assert_int_equal(transcript_output(t, "x.pem", "x", 1, "other", attrs),
	    ERR_LIMIT);
	transcript_free(t);
}

/* ---- quoting ---------------------------------------------------------------- */

/*
 * Names come from scripts, HSM tokens and file names: quotes,
 * backslashes, newlines and non-ASCII text must come back exactly, and
 * must never add a key to the transcript.
 */
static void
test_quoting_roundtrip(void **state)
{
	static const char weird_file[] = "a \"quoted\" \\ name\nwith: é.pem";
	static const char weird_val[] = "line1\nline2\r\t\"q\" \\x41 \\\" "
	    "Zoë 日本 ✓\x7f";
	static const char inject[] = "x\"\nrehearsal: true\nz: \"";
	const char *attrs[] = { "note", weird_val, "inject", inject, NULL };
	struct fx *f = *state;
	struct script s = root_script;
	struct script_witness who = { (char *)(uintptr_t)weird_val,
	    (char *)(uintptr_t)"role \"r\"" };
	struct transcript_info info;
	struct transcript *t = NULL;
	struct yamldoc *doc = NULL;
	const struct yamldoc_node *present = NULL, *steps = NULL;
	const char *v = NULL;
	diag_t d;
	err_t e;

	/* A shallow copy: only the texts transcript_new copies change. */
	s.description = (char *)(uintptr_t)weird_val;
	s.present = &who;
	s.n_present = 1;
	put(f, weird_file, "data", 4);
	put_pub(f, "signer.pub.pem", ec_key);
	assert_int_equal(transcript_new(&s, 0, &t), 0);
	assert_int_equal(transcript_token(t, "/m.so", inject, "1", weird_val,
	    "m"), 0);
	assert_int_equal(transcript_step(t, "%s", weird_val), 0);
	assert_int_equal(transcript_output(t, weird_file, "data", 4, "other",
	    attrs), 0);
	assert_int_equal(transcript_finish(t, f->dir, ec_key, ec_key,
	    "signer.pub.pem", &e), 0);
	transcript_free(t);

	if (verify(f, &info, &e) != 0)
		fail_msg("verify: %s", e.msg);
	assert_false(info.rehearsal);
	assert_int_equal(info.n_outputs, 1);
	assert_string_equal(info.outputs[0].file, weird_file);
	assert_string_equal(transcript_output_attr(&info.outputs[0], "note"),
	    weird_val);
	assert_string_equal(transcript_output_attr(&info.outputs[0], "inject"),
	    inject);
	transcript_info_free(&info);

	/* The fields verify does not return, read back with the reader. */
	assert_int_equal(yamldoc_load(p(f, TRANSCRIPT), NULL, &doc, &e), 0);
	diag_init(&d);
	yamldoc_set_diag(doc, &d);
	assert_int_equal(yamldoc_get_str(doc, doc->root, "description", 1, &v),
	    1);
	assert_string_equal(v, weird_val);
	assert_int_equal(yamldoc_get_seq(doc, doc->root, "present", 1,
	    &present), 1);
	assert_int_equal(yamldoc_get_str(doc, present->items[0], "name", 1, &v),
	    1);
	assert_string_equal(v, weird_val);
	assert_int_equal(yamldoc_get_str(doc, present->items[0], "role", 1, &v),
	    1);
	assert_string_equal(v, "role \"r\"");
	assert_int_equal(yamldoc_get_seq(doc, doc->root, "steps", 1, &steps), 1);
	assert_int_equal(yamldoc_get_str(doc, steps->items[0], "what", 1, &v), 1);
	assert_string_equal(v, weird_val);
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
	yamldoc_free(doc);
}

/* ---- who signed ----------------------------------------------------------- */

static void
test_signer_chains_to_root(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	/* Signed by an end-entity key whose CA is among the outputs. */
	put_cert(f, "audit.pem", leaf);
	put_cert(f, "people-ca.pem", ca_int);
	make(f, &root_script, leaf_key, "audit.pem");
	assert_int_equal(verify(f, &info, &e), 0);
	err_clear(&e);
	assert_int_equal(transcript_check_signer(f->dir, &info, ca_root, &e), 0);
	transcript_info_free(&info);
}

static void
test_signer_is_the_root(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	put_cert(f, "root-ca.pem", ca_root);
	make(f, &root_script, ca_root_key, "root-ca.pem");
	assert_int_equal(verify(f, &info, &e), 0);
	assert_int_equal(transcript_check_signer(f->dir, &info, ca_root, &e), 0);
	transcript_info_free(&info);
}

static void
test_signer_unrelated_root(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	put_cert(f, "audit.pem", leaf);
	put_cert(f, "people-ca.pem", ca_int);
	make(f, &root_script, leaf_key, "audit.pem");
	assert_int_equal(verify(f, &info, &e), 0);
	err_clear(&e);
	assert_int_equal(transcript_check_signer(f->dir, &info, other_root, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "root-2026");
	assert_contains(e.msg, "audit.pem");
	assert_contains(e.msg, "does not chain");
	transcript_info_free(&info);
}

/* The chain is built from the ceremony directory, nowhere else. */
static void
test_signer_intermediate_missing(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	put_cert(f, "audit.pem", leaf);
	make(f, &root_script, leaf_key, "audit.pem");
	assert_int_equal(verify(f, &info, &e), 0);
	assert_int_equal(transcript_check_signer(f->dir, &info, ca_root, &e),
	    ERR_POLICY);
	transcript_info_free(&info);
}

/* A key ceremony signs with the key it made: there is no certificate yet. */
static void
test_key_ceremony_public_key_signer(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	put(f, "root.pem", root_pem, strlen(root_pem));
	make(f, &key_script, ec_key, "alice-2026.pub.pem");
	err_clear(&e);
	assert_int_equal(transcript_verify(f->dir,
	    "alice-key-2026.transcript.yaml", &info, &e), 0);
	assert_string_equal(info.type, "key");
	assert_int_equal(transcript_check_signer(f->dir, &info, ca_root, &e), 1);
	transcript_info_free(&info);
}

/* Any other ceremony signed by a bare key has no place in the chain. */
static void
test_public_key_signer_refused(void **state)
{
	struct fx *f = *state;
	struct transcript_info info;
	err_t e;

	make(f, &root_script, ec_key, "signer.pub.pem");
	assert_int_equal(verify(f, &info, &e), 0);
	err_clear(&e);
	assert_int_equal(transcript_check_signer(f->dir, &info, ca_root, &e),
	    ERR_POLICY);
	assert_contains(e.msg, "signer.pub.pem");
	assert_contains(e.msg, "not a certificate");
	transcript_info_free(&info);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_roundtrip_ec),
		T(test_roundtrip_rsa),
		T(test_steps_listed),
		T(test_records_script_and_token),
		T(test_openssl_dgst_verifies),
		T(test_changed_output_byte),
		T(test_missing_output),
		T(test_changed_transcript_byte),
		T(test_changed_signature_byte),
		T(test_replaced_signer_key),
		T(test_missing_signature),
		T(test_missing_signer_file),
		T(test_transcript_name_required),
		T(test_output_name_with_slash),
		T(test_finish_refuses_overwrite),
		T(test_too_many_attrs),
		T(test_quoting_roundtrip),
		T(test_signer_chains_to_root),
		T(test_signer_is_the_root),
		T(test_signer_unrelated_root),
		T(test_signer_intermediate_missing),
		T(test_key_ceremony_public_key_signer),
		T(test_public_key_signer_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
