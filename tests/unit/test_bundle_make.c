/*
 * test_bundle_make.c: request bundles made on the workstation
 * (operator/bundle_make), opened again with the appliance's own code:
 * envelope_open, archive_open, manifest_parse, manifest_check_archive.
 *
 * Keys and certificates are made in software (a people CA, an operator,
 * an officer, an RSA transport certificate whose decrypter is an extkey
 * with a software callback, and an RSA SMPB recipient); CSRs, the CSV and
 * key files are written to a scratch directory. The PKCS#11 signer runs
 * against a fresh SoftHSM token through the real airlock-hsm helper and
 * is skipped, saying why, when SoftHSM is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "ingest/archive.h"
#include "ingest/bundle.h"
#include "ingest/envelope.h"
#include "ingest/manifest.h"
#include "operator/bundle_make.h"
#include "pki/extkey.h"
#include "pki/oids.h"
#include "pki/pkiutil.h"
#include "pkitest.h"
#include "hsmfx.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/timeutil.h"

/* Inside every certificate's validity. */
#define NOW (T2026 + (time_t)100 * 86400)
#define ID "7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f"
#define PASSPHRASE "operator passphrase"
#define TOKEN "airlock-operator"
#define USER_PIN "87654321"

static EVP_PKEY *ca_key, *op_key, *off_key, *tr_key, *rcp_key, *dec;
static X509 *ca, *op_cert, *off_cert, *tr, *rcp;
static STACK_OF(X509) *anchors;
static char dir[PATH_MAX];
static char csr_dir[PATH_MAX + 16], csv_path[PATH_MAX + 16];
static char rcp_path[PATH_MAX + 16], key_path[PATH_MAX + 16];
static char plain_key_path[PATH_MAX + 16], op_path[PATH_MAX + 16];
static char lone_csr[PATH_MAX + 16];

/* Stands in for the HSM helper's decryption with the transport key. */
static int
soft_decrypt(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen, size_t outmax)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new((EVP_PKEY *)ctx, NULL);
	size_t len = outmax;
	int ok = 0;

	if (c == NULL || EVP_PKEY_decrypt_init(c) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, op == EXTKEY_RSA_DECRYPT_RAW ?
	    RSA_NO_PADDING : RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_decrypt(c, out, &len, in, inlen) <= 0)
		goto out;
	*outlen = len;
	ok = 1;
out:
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* A certificate for key from the people CA with one EKU and a KU. */
static X509 *
issue(const char *cn, EVP_PKEY *key, enum oids_id eku, unsigned ku,
    unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, T2030, 0, -1);
	s.ext.key_usage = ku;
	s.ext.eku.v = calloc(1, sizeof(char *));
	s.ext.eku.v[s.ext.eku.n++] = strdup(oids_dotted(eku));
	x = pkitest_issue(&s, key, ca, ca_key, tag);
	certspec_free(&s);
	return x;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void
write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

/* A PEM CSR for CN=cn with a fresh P-256 key. */
static void
write_csr(const char *path, const char *cn)
{
	EVP_PKEY *k = pkitest_ec("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	FILE *f;

	assert_non_null(k);
	assert_non_null(req);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(req, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, k), 1);
	assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_X509_REQ(f, req), 1);
	assert_int_equal(fclose(f), 0);
	X509_NAME_free(n);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static int
setup(void **state)
{
	struct certspec s;
	char path[PATH_MAX + 64];
	FILE *f;

	(void)state;
	ca_key = pkitest_ec("P-256");
	op_key = pkitest_ec("P-256");
	off_key = pkitest_ec("P-256");
	tr_key = pkitest_rsa();
	rcp_key = pkitest_rsa();
	if (!ca_key || !op_key || !off_key || !tr_key || !rcp_key)
		return -1;
	pkitest_spec(&s, "Airlock People CA", T2026, T2050, 1, 0);
	ca = pkitest_issue(&s, ca_key, NULL, ca_key, 1);
	certspec_free(&s);
	op_cert = issue("Dave Operator", op_key, OIDS_ROLE_OPERATOR,
	    CERTSPEC_KU_DIGITAL_SIGNATURE, 2);
	off_cert = issue("Alice Officer", off_key, OIDS_ROLE_OFFICER,
	    CERTSPEC_KU_DIGITAL_SIGNATURE, 3);
	tr = issue("Airlock transport", tr_key, OIDS_PURPOSE_TRANSPORT,
	    CERTSPEC_KU_KEY_ENCIPHERMENT, 4);
	pkitest_spec(&s, "modem recipient", T2026, T2040, 0, -1);
	s.ext.key_usage = CERTSPEC_KU_KEY_ENCIPHERMENT;
	rcp = pkitest_issue(&s, rcp_key, NULL, rcp_key, 5);
	certspec_free(&s);
	if (!ca || !op_cert || !off_cert || !tr || !rcp ||
	    (anchors = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(anchors, ca))
		return -1;
	if ((dec = extkey_new_decrypter(tr_key, soft_decrypt, tr_key,
	    NULL)) == NULL)
		return -1;

	if (testutil_tmpdir(dir, sizeof(dir), "bundle-make") != 0)
		return -1;
	snprintf(csr_dir, sizeof(csr_dir), "%s/csrs", dir);
	if (mkdir(csr_dir, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/modem-b.csr", csr_dir);
	write_csr(path, "modem-b");
	snprintf(path, sizeof(path), "%s/modem-a.csr", csr_dir);
	write_csr(path, "modem-a");
	snprintf(path, sizeof(path), "%s/modem-c.pem", csr_dir);
	write_csr(path, "modem-c");
	snprintf(lone_csr, sizeof(lone_csr), "%s/lone.csr", dir);
	write_csr(lone_csr, "lone");
	snprintf(csv_path, sizeof(csv_path), "%s/devices.csv", dir);
	f = fopen(csv_path, "w");
	if (f == NULL)
		return -1;
	fputs("mac,common_name,csr_file\n00:11:22:33:44:01,dev1,lone.csr\n"
	    "00:11:22:33:44:02,dev2,\n", f);
	fclose(f);
	snprintf(rcp_path, sizeof(rcp_path), "%s/recipient.pem", dir);
	write_cert(rcp_path, rcp);
	snprintf(op_path, sizeof(op_path), "%s/op.pem", dir);
	write_cert(op_path, op_cert);
	snprintf(key_path, sizeof(key_path), "%s/op.key", dir);
	f = fopen(key_path, "w");
	if (f == NULL || PEM_write_PKCS8PrivateKey(f, op_key,
	    EVP_aes_256_cbc(), PASSPHRASE, (int)strlen(PASSPHRASE), NULL,
	    NULL) != 1)
		return -1;
	fclose(f);
	snprintf(plain_key_path, sizeof(plain_key_path), "%s/plain.key", dir);
	f = fopen(plain_key_path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, op_key, NULL, NULL, 0, NULL,
	    NULL) != 1)
		return -1;
	fclose(f);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sk_X509_free(anchors);
	X509_free(ca);
	X509_free(op_cert);
	X509_free(off_cert);
	X509_free(tr);
	X509_free(rcp);
	EVP_PKEY_free(dec);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(op_key);
	EVP_PKEY_free(off_key);
	EVP_PKEY_free(tr_key);
	EVP_PKEY_free(rcp_key);
	if (dir[0] != '\0')
		(void)testutil_rmtree(dir);
	return 0;
}

/* The usual options: signed by the operator, at NOW, with a fixed id. */
static struct bundle_make_opts
base_opts(void)
{
	struct bundle_make_opts o;

	memset(&o, 0, sizeof(o));
	o.profile = "docsis-3.1-cm";
	o.batch_name = "Modems \"week\" 47 \\ line 2";
	o.description = "DOCSIS 3.1 modems\n\tfor line 2: yes";
	o.chain = MANIFEST_CHAIN_WITH_INTERMEDIATE;
	o.results_log = MANIFEST_LOG_JSON;
	o.signer_key = op_key;
	o.signer_cert = op_cert;
	o.id = ID;
	o.created = NOW;
	return o;
}

/* What the appliance sees of a bundle. */
struct opened {
	struct envelope env;
	struct archive *a;
	struct manifest m;
};

/* Opens b with the appliance's code; every stage must pass. */
static void
open_bundle(const buf_t *b, struct opened *x)
{
	struct envelope_opts eo;
	buf_t man;
	diag_t d;
	err_t e;

	memset(x, 0, sizeof(*x));
	memset(&eo, 0, sizeof(eo));
	eo.people_cas = anchors;
	eo.transport_cert = tr;
	eo.transport_key = dec;
	eo.now = NOW;
	diag_init(&d);
	err_clear(&e);
	if (envelope_open("b.cms", b->data, b->len, &eo, &x->env, &d) != 0 ||
	    archive_open("archive", x->env.content.data, x->env.content.len,
	    NULL, &x->a, &d) != 0) {
		testutil_print_diag(&d, "open");
		fail_msg("the bundle does not open");
	}
	if (archive_read(x->a, MANIFEST_NAME, MANIFEST_MAX_BYTES, &man,
	    &e) != 0)
		fail_msg("manifest: %s", e.msg);
	if (manifest_parse(MANIFEST_NAME, man.data, man.len, &x->m,
	    &d) != 0 || manifest_check_archive(&x->m, x->a, &d) != 0) {
		testutil_print_diag(&d, "manifest");
		fail_msg("the manifest does not pass");
	}
	buf_free(&man);
	diag_free(&d);
}

static void
close_bundle(struct opened *x)
{
	manifest_free(&x->m);
	archive_close(x->a);
	envelope_free(&x->env);
}

/* The batch, profile and output fields every base_opts bundle has. */
static void
check_common(const struct opened *x, const struct bundle_make_opts *o)
{
	char want[65];

	assert_int_equal(X509_cmp(x->env.signer, op_cert), 0);
	assert_int_equal(pki_cert_sha256_hex(op_cert, want), 0);
	assert_string_equal(x->env.signer_sha256, want);
	assert_int_equal(x->env.digest_nid, NID_sha256);
	assert_int_equal(x->m.version, 1);
	assert_int_equal(x->m.kind, MANIFEST_KIND_REQUEST);
	assert_string_equal(x->m.id, ID);
	assert_int_equal(x->m.created, NOW);
	assert_string_equal(x->m.req.batch_name, o->batch_name);
	assert_string_equal(x->m.req.batch_description, o->description);
	assert_string_equal(x->m.req.profile, o->profile);
	assert_int_equal(x->m.req.format, o->format);
	assert_int_equal(x->m.req.chain, o->chain);
	assert_int_equal(x->m.req.results_log, o->results_log);
}

/* Entry name of the archive equals the bytes of the file at path. */
static void
check_entry(struct archive *a, const char *name, const char *path)
{
	buf_t got, want;
	err_t e;

	assert_int_equal(archive_read(a, name, 1 << 20, &got, &e), 0);
	assert_int_equal(fileio_read(path, 1 << 20, &want, &e), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, got.len);
	buf_free(&got);
	buf_free(&want);
}

static void
make_ok(const struct bundle_make_opts *o, buf_t *out)
{
	diag_t d;

	diag_init(&d);
	if (bundle_make(o, out, &d) != 0) {
		testutil_print_diag(&d, "bundle_make");
		fail_msg("bundle_make refused good options");
	}
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
}

/* bundle_make must refuse o with code and a message containing want. */
static void
make_fails(const struct bundle_make_opts *o, int code, const char *want)
{
	char all[8192] = "";
	buf_t out;
	diag_t d;
	size_t i;

	diag_init(&d);
	assert_int_equal(bundle_make(o, &out, &d), code);
	assert_true(diag_count(&d) > 0);
	for (i = 0; i < d.n; i++) {
		char line[1200];

		diag_format(&d, i, line, sizeof(line));
		strncat(all, line, sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
	}
	assert_contains(all, want);
	/* Nothing is handed back on failure. */
	assert_null(out.data);
	assert_int_equal(out.len, 0);
	diag_free(&d);
}

/* --- good bundles ------------------------------------------------------- */

static void
test_mac_range(void **state)
{
	struct bundle_make_opts o = base_opts();
	struct opened x;
	X509 *got = NULL;
	buf_t b, pem;
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(bundle_make_parse_range("00-11-22-33-44-00:1000:2",
	    &o.range, &e), 0);
	o.mode = MANIFEST_INPUT_MAC_RANGE;
	o.format = MANIFEST_FORMAT_SMPB;
	o.recipient_path = rcp_path;
	make_ok(&o, &b);
	/* DER, signed only. */
	assert_int_equal(b.data[0], 0x30);
	open_bundle(&b, &x);
	check_common(&x, &o);
	assert_int_equal(x.env.encrypted, 0);
	assert_int_equal(x.m.req.mode, MANIFEST_INPUT_MAC_RANGE);
	assert_memory_equal(x.m.req.range.start, "\x00\x11\x22\x33\x44\x00", 6);
	assert_int_equal(x.m.req.range.count, 1000);
	assert_int_equal(x.m.req.range.increment, 2);
	assert_string_equal(x.m.req.recipient, "recipient.pem");
	assert_null(x.m.req.p12_password);
	assert_int_equal(archive_count(x.a), 2);
	assert_int_equal(archive_read(x.a, "recipient.pem", 1 << 20, &pem,
	    &e), 0);
	assert_int_equal(pki_parse_cert(pem.data, pem.len, &got, &e), 0);
	assert_int_equal(X509_cmp(got, rcp), 0);
	X509_free(got);
	buf_free(&pem);
	close_bundle(&x);
	buf_free(&b);
}

static void
test_csr_folder(void **state)
{
	struct bundle_make_opts o = base_opts();
	const char *paths[1] = { csr_dir };
	char path[PATH_MAX + 64];
	struct opened x;
	buf_t b;

	(void)state;
	o.mode = MANIFEST_INPUT_CSR;
	o.csr_paths = paths;
	o.n_csr_paths = 1;
	o.format = MANIFEST_FORMAT_PEM_ZIP;
	o.description = NULL;
	o.pem = 1;
	make_ok(&o, &b);
	assert_true(b.len > 20 && memcmp(b.data, "-----BEGIN CMS-----", 19) == 0);
	open_bundle(&b, &x);
	assert_string_equal(x.m.req.batch_description, "");
	assert_int_equal(x.m.req.mode, MANIFEST_INPUT_CSR);
	assert_int_equal(x.m.req.n_files, 3);
	assert_string_equal(x.m.req.files[0], "csr/modem-a.csr");
	assert_string_equal(x.m.req.files[1], "csr/modem-b.csr");
	assert_string_equal(x.m.req.files[2], "csr/modem-c.pem");
	assert_null(x.m.req.recipient);
	/* Sorted entries, nothing else in the archive. */
	assert_int_equal(archive_count(x.a), 4);
	assert_string_equal(archive_name(x.a, 0), "csr/modem-a.csr");
	assert_string_equal(archive_name(x.a, 3), "manifest.yaml");
	snprintf(path, sizeof(path), "%s/modem-b.csr", csr_dir);
	check_entry(x.a, "csr/modem-b.csr", path);
	close_bundle(&x);
	buf_free(&b);
}

static void
test_csv_with_csr(void **state)
{
	struct bundle_make_opts o = base_opts();
	const char *paths[1] = { lone_csr };
	struct opened x;
	buf_t b;

	(void)state;
	o.mode = MANIFEST_INPUT_CSV;
	o.csv_path = csv_path;
	o.csr_paths = paths;
	o.n_csr_paths = 1;
	o.format = MANIFEST_FORMAT_PEM_JSON;
	o.chain = MANIFEST_CHAIN_SEPARATE;
	o.results_log = MANIFEST_LOG_CSV;
	make_ok(&o, &b);
	open_bundle(&b, &x);
	check_common(&x, &o);
	assert_int_equal(x.m.req.mode, MANIFEST_INPUT_CSV);
	assert_string_equal(x.m.req.csv_file, "requests.csv");
	assert_string_equal(x.m.req.directory, "csr/");
	check_entry(x.a, "requests.csv", csv_path);
	check_entry(x.a, "csr/lone.csr", lone_csr);
	close_bundle(&x);
	buf_free(&b);

	/* Without CSRs the manifest names no directory. */
	o.n_csr_paths = 0;
	o.csv_path = csv_path;
	make_fails(&o, ERR_INVALID, "Line 2 - csr_file 'lone.csr' names a "
	    "request that was not given with --csr");
}

static void
test_encrypted_pkcs12(void **state)
{
	struct bundle_make_opts o = base_opts();
	struct opened x;
	secret_t *pw;
	buf_t b;

	(void)state;
	assert_int_equal(secret_new(&pw), 0);
	assert_int_equal(secret_set(pw, "correct \"horse\" \\ b", 19), 0);
	o.mode = MANIFEST_INPUT_CSV;
	o.csv_path = csv_path;
	o.csr_paths = (const char *const[]){ lone_csr };
	o.n_csr_paths = 1;
	o.format = MANIFEST_FORMAT_PKCS12;
	o.p12_password = pw;
	o.p12_encryption = MANIFEST_P12_COMPAT;
	o.encrypt_to = tr;
	o.id = NULL;
	make_ok(&o, &b);
	open_bundle(&b, &x);
	assert_int_equal(x.env.encrypted, 1);
	assert_true(manifest_has_secret(&x.m));
	assert_int_equal(x.m.req.p12_password->len, 19);
	assert_memory_equal(x.m.req.p12_password->data, pw->data, 19);
	assert_int_equal(x.m.req.p12_encryption, MANIFEST_P12_COMPAT);
	/* A fresh version 4 id. */
	assert_int_equal(x.m.id[14], '4');
	assert_non_null(strchr("89ab", x.m.id[19]));
	assert_string_not_equal(x.m.id, ID);
	close_bundle(&x);
	buf_free(&b);
	secret_free(pw);
}

/* --- refusals ----------------------------------------------------------- */

static void
test_refuse_secrets(void **state)
{
	struct bundle_make_opts o = base_opts();
	secret_t *pw;

	(void)state;
	assert_int_equal(secret_new(&pw), 0);
	assert_int_equal(secret_set(pw, "long enough pw", 14), 0);
	assert_int_equal(bundle_make_parse_range("00:11:22:33:44:00:10",
	    &o.range, NULL), 0);
	o.mode = MANIFEST_INPUT_MAC_RANGE;
	o.format = MANIFEST_FORMAT_PKCS12;
	o.p12_password = pw;
	make_fails(&o, ERR_POLICY, "must be encrypted to the appliance's "
	    "transport certificate (--encrypt-to)");
	o.encrypt_to = tr;
	assert_int_equal(secret_set(pw, "short", 5), 0);
	make_fails(&o, ERR_INVALID, "the PKCS#12 password must be 8 to 128 "
	    "characters (it has 5)");
	assert_int_equal(secret_set(pw, "with\nnewline", 12), 0);
	make_fails(&o, ERR_INVALID, "must not contain control characters");
	o.p12_password = NULL;
	make_fails(&o, ERR_INVALID, "needs a PKCS#12 password");
	/* The recipient of smpb only, and the other way round. */
	o.format = MANIFEST_FORMAT_SMPB;
	make_fails(&o, ERR_INVALID, "format smpb needs the recipient");
	/* A transport certificate must be one. */
	o.recipient_path = rcp_path;
	o.encrypt_to = rcp;
	make_fails(&o, ERR_POLICY, "is not an appliance transport "
	    "certificate");
	secret_free(pw);
}

static void
test_refuse_signer(void **state)
{
	struct bundle_make_opts o = base_opts();
	struct bundle_make_signer s;
	secret_t *pass;
	err_t e;

	(void)state;
	assert_int_equal(bundle_make_parse_range("00:11:22:33:44:00:10",
	    &o.range, NULL), 0);
	o.mode = MANIFEST_INPUT_MAC_RANGE;
	o.format = MANIFEST_FORMAT_SMPB;
	o.recipient_path = rcp_path;
	o.signer_key = off_key;
	make_fails(&o, ERR_POLICY, "the signing key does not belong to the "
	    "signer's certificate (CN=Dave Operator");
	o.signer_cert = off_cert;
	make_fails(&o, ERR_POLICY, "officer");
	o.signer_key = op_key;
	o.signer_cert = op_cert;
	o.created = T2040;
	make_fails(&o, ERR_POLICY, "expired");

	/* Key files: the right passphrase opens, a wrong one does not. */
	assert_int_equal(secret_new(&pass), 0);
	assert_int_equal(secret_set(pass, PASSPHRASE, strlen(PASSPHRASE)), 0);
	err_clear(&e);
	if (bundle_make_signer_file(key_path, pass, op_path, NOW, &s, &e) != 0)
		fail_msg("signer file: %s", e.msg);
	assert_int_equal(bundle_make_check_signer(s.key, op_cert, NOW, &e), 0);
	bundle_make_signer_free(&s);
	assert_int_equal(bundle_make_signer_file(plain_key_path, pass, op_path,
	    NOW, &s, &e), ERR_POLICY);
	assert_contains(e.msg, "is not a passphrase-protected PKCS#8 key");
	assert_int_equal(secret_set(pass, "wrong", 5), 0);
	assert_int_equal(bundle_make_signer_file(key_path, pass, op_path, NOW,
	    &s, &e), ERR_AUTH);
	assert_contains(e.msg, "wrong passphrase");
	assert_null(s.key);
	secret_free(pass);
}

static void
test_refuse_inputs(void **state)
{
	struct bundle_make_opts o = base_opts();
	char missing[PATH_MAX + 32], linked[PATH_MAX + 32];
	char link_path[PATH_MAX + 64];
	const char *paths[1];

	(void)state;
	o.mode = MANIFEST_INPUT_CSR;
	o.format = MANIFEST_FORMAT_DER_ZIP;
	o.csr_paths = paths;
	o.n_csr_paths = 1;
	snprintf(missing, sizeof(missing), "%s/no-such-folder", dir);
	paths[0] = missing;
	make_fails(&o, ERR_NOTFOUND, "no-such-folder: does not exist");

	/* A link inside a folder is refused, not followed nor skipped. */
	snprintf(linked, sizeof(linked), "%s/linked", dir);
	assert_int_equal(mkdir(linked, 0700), 0);
	snprintf(link_path, sizeof(link_path), "%s/a.csr", linked);
	assert_int_equal(symlink(lone_csr, link_path), 0);
	paths[0] = linked;
	make_fails(&o, ERR_INVALID, "a.csr: is a symbolic link; refusing to "
	    "follow it");
	/* Nor is a link given as the path itself. */
	paths[0] = link_path;
	make_fails(&o, ERR_INVALID, "is a symbolic link");
	assert_int_equal(unlink(link_path), 0);
	paths[0] = linked;
	make_fails(&o, ERR_INVALID, "the folder holds no files");
	/* Not a request. */
	write_file(link_path, "hello\n", 6);
	make_fails(&o, ERR_INVALID, "a.csr");
	assert_int_equal(unlink(link_path), 0);
	assert_int_equal(rmdir(linked), 0);

	/* The same name from two places. */
	o.csr_paths = (const char *const[]){ csr_dir, csr_dir };
	o.n_csr_paths = 2;
	make_fails(&o, ERR_INVALID, "names may not repeat");

	/* Values the appliance would refuse. */
	o.csr_paths = paths;
	o.n_csr_paths = 1;
	paths[0] = csr_dir;
	o.batch_name = "bell\a";
	make_fails(&o, ERR_INVALID, "batch name: must not contain control");
	o.batch_name = "";
	make_fails(&o, ERR_INVALID, "batch name: must be 1 to 128 characters");
	o.batch_name = "ok";
	o.id = "not-a-uuid";
	make_fails(&o, ERR_INVALID, "id must be a UUID");
	o.id = ID;
	o.profile = "Has Spaces";
	make_fails(&o, ERR_INVALID, "profile may contain only");
	o.profile = "p";
	o.format = MANIFEST_FORMAT_PKCS12;
	o.encrypt_to = tr;
	o.p12_password = NULL;
	make_fails(&o, ERR_INVALID, "needs a PKCS#12 password");
}

static void
test_mac_range_parse(void **state)
{
	static const char *const bad[] = {
		"00:11:22:33:44:00", "00:11:22:33:44:00:0",
		"00:11:22:33:44:00:500001", "01:00:00:00:00:00:5",
		"fe:ff:ff:ff:ff:fe:3", "zz:11:22:33:44:00:1",
		"001122334400:10:0", "001122334400:10:16777217",
		"00:11:22:33:44:00:10:x", "00:11:22:33:44:00:10:1:1",
		"001122334400:-1", "001122334400: 5", "", "00:11:22:33:44:00:",
		"001122334400:99999999999999999999"
	};
	struct mac_range r;
	err_t e;
	size_t i;

	(void)state;
	assert_int_equal(bundle_make_parse_range("001122aabb00:5", &r, &e), 0);
	assert_int_equal(r.count, 5);
	assert_int_equal(r.increment, 1);
	assert_int_equal(r.start[4], 0xbb);
	assert_int_equal(bundle_make_parse_range("0011.22aa.bb00:500000:16",
	    &r, &e), 0);
	assert_int_equal(r.count, 500000);
	assert_int_equal(r.increment, 16);
	assert_int_equal(bundle_make_parse_range("00:11:22:33:44:00:7:3", &r,
	    &e), 0);
	assert_int_equal(r.count, 7);
	assert_int_equal(r.increment, 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (bundle_make_parse_range(bad[i], &r, &e) != ERR_INVALID)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(e.msg[0] != '\0');
	}
	assert_int_equal(bundle_make_parse_range("fe:ff:ff:ff:ff:fe:3", &r,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "ff:00:00:00:00:00");
}

/* --- the PKCS#11 signer ------------------------------------------------- */

static void
test_token_signer(void **state)
{
	struct hsm_keyspec spec = { HSM_KEY_EC, 0, NID_X9_62_prime256v1,
	    "operator", HSM_USAGE_SIGN };
	struct bundle_make_opts o = base_opts();
	struct bundle_make_signer s;
	struct hsm_pool *pool = NULL;
	struct hsm_key *k = NULL;
	struct hsm_uri u;
	struct hsmfx fx;
	char cert_path[PATH_MAX + 32];
	struct opened x;
	X509 *cert;
	buf_t bundle;
	err_t e;

	(void)state;
	if (!hsmfx_have("test_bundle_make"))
		skip();
	assert_int_equal(hsmfx_open(&fx, "test_bundle_make", TOKEN, "12345678",
	    USER_PIN, 0), 0);
	err_clear(&e);
	/* The module as hsm_pool_open's argument, not in the URI. */
	hsm_uri_init(&u);
	snprintf(u.token, sizeof(u.token), TOKEN);
	if (hsm_pool_open(HSMFX_MODULE, &u, 1, fx.pin, &pool, &e) != 0 ||
	    hsm_keygen(pool, &spec, &k, &e) != 0)
		fail_msg("token: %s", e.msg);
	/* The people CA certifies the key the token made. */
	cert = issue("Tina Token", (EVP_PKEY *)(uintptr_t)hsm_key_public(k),
	    OIDS_ROLE_OPERATOR, CERTSPEC_KU_DIGITAL_SIGNATURE, 9);
	assert_non_null(cert);
	hsm_key_free(k);
	hsm_pool_close(pool);
	snprintf(cert_path, sizeof(cert_path), "%s/tina.pem", fx.dir);
	write_cert(cert_path, cert);

	/* Refusals before and at the token. */
	assert_int_equal(bundle_make_signer_token("pkcs11:token=" TOKEN,
	    HSMFX_MODULE, fx.pin, cert_path, NOW, &s, &e), ERR_INVALID);
	assert_contains(e.msg, "names no key");
	assert_int_equal(bundle_make_signer_token("pkcs11:object=operator",
	    HSMFX_MODULE, fx.pin, cert_path, NOW, &s, &e), ERR_INVALID);
	assert_contains(e.msg, "names no token");
	assert_int_equal(bundle_make_signer_token("pkcs11:token=" TOKEN
	    ";object=operator", NULL, fx.pin, cert_path, NOW, &s, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "no PKCS#11 module");
	/* The token's key is not the software operator's certificate. */
	assert_int_equal(bundle_make_signer_token("pkcs11:token=" TOKEN
	    ";object=operator", HSMFX_MODULE, fx.pin, op_path, NOW, &s, &e),
	    ERR_POLICY);
	assert_null(s.key);

	if (bundle_make_signer_token("pkcs11:token=" TOKEN ";object=operator",
	    HSMFX_MODULE, fx.pin, cert_path, NOW, &s, &e) != 0)
		fail_msg("token signer: %s", e.msg);
	assert_int_equal(bundle_make_parse_range("00:11:22:33:44:00:10",
	    &o.range, NULL), 0);
	o.mode = MANIFEST_INPUT_MAC_RANGE;
	o.format = MANIFEST_FORMAT_SMPB;
	o.recipient_path = rcp_path;
	o.signer_key = s.key;
	o.signer_cert = s.cert;
	o.encrypt_to = tr;
	make_ok(&o, &bundle);
	open_bundle(&bundle, &x);
	assert_int_equal(X509_cmp(x.env.signer, cert), 0);
	assert_int_equal(x.env.encrypted, 1);
	assert_int_equal(x.m.req.range.count, 10);
	close_bundle(&x);
	buf_free(&bundle);
	bundle_make_signer_free(&s);
	X509_free(cert);
	hsmfx_close(&fx);
}

/* --- revocation requests ------------------------------------------------ */

/* The appliance's records, as bundle_open asks for them: the signer is
 * enrolled with the role its certificate holds. */
static int
rev_signer(void *ctx, const char *sha, struct bundle_signer *out, err_t *err)
{
	char off_sha[65];

	(void)ctx;
	(void)err;
	memset(out, 0, sizeof(*out));
	assert_int_equal(pki_cert_sha256_hex(off_cert, off_sha), 0);
	out->person_id = 7;
	snprintf(out->name, sizeof(out->name), "Someone");
	snprintf(out->role, sizeof(out->role), "%s", strcmp(sha, off_sha) ==
	    0 ? "officer" : "operator");
	snprintf(out->status, sizeof(out->status), "active");
	return 0;
}

static int
rev_issuer(void *ctx, const char *name, struct bundle_issuer *out,
    err_t *err)
{
	(void)ctx;
	(void)name;
	(void)out;
	return err_set(err, ERR_NOTFOUND, "no issuer here");
}

static struct bundle_make_opts
rev_opts(const char *const *targets, size_t n, const char *file)
{
	struct bundle_make_opts o;

	memset(&o, 0, sizeof(o));
	o.kind = MANIFEST_KIND_REVOCATION;
	o.reason = "keyCompromise";
	o.message = "Keys of \"line 2\" leaked \\ confirmed";
	o.invalidity_date = NOW - 86400;
	o.targets = targets;
	o.n_targets = n;
	o.targets_path = file;
	o.signer_key = op_key;
	o.signer_cert = op_cert;
	o.id = ID;
	o.created = NOW;
	return o;
}

static void
test_revocation_round_trip(void **state)
{
	static const char *const t[] = { "serial 0A:1B", "batch 3",
	    "subject CN=a \"quoted\" name" };
	static const char list[] = "# list\nmac 00:11:22:33:44:55\n";
	struct profile_set none = { NULL, 0 };
	struct bundle_make_opts o;
	struct bundle_opts bo;
	enum bundle_stage stage;
	struct bundle b;
	char file[PATH_MAX + 32];
	buf_t out;
	diag_t d;
	int pass;

	(void)state;
	snprintf(file, sizeof(file), "%s/targets.list", dir);
	write_file(file, list, strlen(list));
	/* Once by an operator, once by an officer, who may ask too. */
	for (pass = 0; pass < 2; pass++) {
		o = rev_opts(t, 3, file);
		if (pass == 1) {
			o.signer_key = off_key;
			o.signer_cert = off_cert;
			o.encrypt_to = tr;
			o.invalidity_date = 0;
			o.reason = "certificateHold";
		}
		diag_init(&d);
		if (bundle_make(&o, &out, &d) != 0) {
			testutil_print_diag(&d, "make");
			fail_msg("bundle_make failed");
		}
		memset(&bo, 0, sizeof(bo));
		bo.env.people_cas = anchors;
		bo.env.transport_cert = tr;
		bo.env.transport_key = dec;
		bo.env.now = NOW;
		bo.env.officers_may_sign = 1;
		bo.profiles = &none;
		bo.signer_lookup = rev_signer;
		bo.issuer_lookup = rev_issuer;
		if (bundle_open("r.p7s", out.data, out.len, &bo, &b, &stage,
		    &d) != 0) {
			testutil_print_diag(&d, "open");
			fail_msg("bundle_open refused the revocation");
		}
		assert_int_equal(b.man.kind, MANIFEST_KIND_REVOCATION);
		assert_int_equal(b.env.signer_officer, pass);
		assert_int_equal(b.env.encrypted, pass);
		assert_string_equal(b.man.id, ID);
		assert_string_equal(b.man.rev.reason, o.reason);
		assert_string_equal(b.man.rev.message, o.message);
		assert_int_equal(b.man.rev.has_invalidity_date, pass == 0);
		if (pass == 0)
			assert_int_equal(b.man.rev.invalidity_date,
			    NOW - 86400);
		assert_string_equal(b.man.rev.targets_file,
		    BUNDLE_MAKE_TARGETS_NAME);
		/* Inline first, then the file's, all canonical. */
		assert_int_equal(b.man.rev.targets.n, 4);
		assert_string_equal(b.man.rev.targets.v[0].text, "serial a1b");
		assert_string_equal(b.man.rev.targets.v[1].text, "batch 3");
		assert_string_equal(b.man.rev.targets.v[2].text,
		    "subject CN=a \"quoted\" name");
		assert_string_equal(b.man.rev.targets.v[3].text,
		    "mac 00:11:22:33:44:55");
		assert_string_equal(b.man.rev.targets.v[3].file,
		    BUNDLE_MAKE_TARGETS_NAME);
		assert_int_equal(b.man.rev.targets.v[3].line, 2);
		bundle_free(&b);
		diag_free(&d);
		buf_free(&out);
	}
}

static void
test_revocation_refusals(void **state)
{
	static const char *const t[] = { "serial 0a1b" };
	static const char *const bad[] = { "serial 0a1b", "serials 2",
	    "mac 00:11" };
	struct bundle_make_opts o;
	char file[PATH_MAX + 32], missing[PATH_MAX + 32];

	(void)state;
	snprintf(file, sizeof(file), "%s/bad.list", dir);
	write_file(file, "serial 1\nbatch x\n", 17);
	snprintf(missing, sizeof(missing), "%s/none.list", dir);
	o = rev_opts(t, 1, NULL);
	o.reason = "stolen";
	make_fails(&o, ERR_INVALID, "reason: must be one of unspecified");
	o = rev_opts(t, 1, NULL);
	o.message = NULL;
	make_fails(&o, ERR_INVALID, "message: is required");
	o.message = "two\nlines";
	make_fails(&o, ERR_INVALID, "message: must not contain control");
	o = rev_opts(t, 1, NULL);
	o.reason = "removeFromCRL";
	make_fails(&o, ERR_INVALID, "does not go with removeFromCRL");
	o = rev_opts(t, 1, NULL);
	o.invalidity_date = NOW + 10;
	make_fails(&o, ERR_INVALID, "is in the future");
	o = rev_opts(NULL, 0, NULL);
	make_fails(&o, ERR_INVALID, "a revocation names at least one target");
	o = rev_opts(bad, 3, NULL);
	make_fails(&o, ERR_INVALID, "target 'serials 2': 'serials' is not a "
	    "target");
	make_fails(&o, ERR_INVALID, "target 'mac 00:11':");
	o = rev_opts(t, 1, file);
	make_fails(&o, ERR_INVALID, "bad.list:2: Line 2 - a batch is named by "
	    "its number");
	o = rev_opts(t, 1, missing);
	make_fails(&o, ERR_NOTFOUND, "none.list");
	o = rev_opts(t, 1, NULL);
	o.profile = "docsis-3.1-cm";
	make_fails(&o, ERR_INVALID, "a revocation request takes no profile");
	/* An officer may ask for a revocation, never order certificates. */
	o = base_opts();
	assert_int_equal(bundle_make_parse_range("00:11:22:33:44:00:10",
	    &o.range, NULL), 0);
	o.mode = MANIFEST_INPUT_MAC_RANGE;
	o.format = MANIFEST_FORMAT_SMPB;
	o.recipient_path = rcp_path;
	o.signer_key = off_key;
	o.signer_cert = off_cert;
	make_fails(&o, ERR_POLICY, "not an operator's: the wrong role for "
	    "signing a request bundle");
	assert_true(bundle_make_signer_is_officer(off_cert));
	assert_false(bundle_make_signer_is_officer(op_cert));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_range),
		cmocka_unit_test(test_csr_folder),
		cmocka_unit_test(test_csv_with_csr),
		cmocka_unit_test(test_encrypted_pkcs12),
		cmocka_unit_test(test_refuse_secrets),
		cmocka_unit_test(test_refuse_signer),
		cmocka_unit_test(test_refuse_inputs),
		cmocka_unit_test(test_mac_range_parse),
		cmocka_unit_test(test_token_signer),
		cmocka_unit_test(test_revocation_round_trip),
		cmocka_unit_test(test_revocation_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
