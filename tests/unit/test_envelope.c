/*
 * test_envelope.c: the CMS wrappers of a request bundle (ingest/envelope).
 *
 * Everything is made in software here: a people CA, operator, officer and
 * dual-role certificates, a stranger from another CA, and an RSA-3072
 * transport key whose decrypter is an extkey with a software callback, as
 * the HSM helper's would be. Bundles are made with OpenSSL's CMS API and,
 * when the openssl tool is installed, with stock `openssl cms` too.
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

/* pem.h first: cms.h declares its PEM functions with pem.h macros. */
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ingest/envelope.h"
#include "pki/extkey.h"
#include "pki/oids.h"
#include "pki/pkiutil.h"
#include "pkitest.h"
#include "testutil.h"

/* Inside every certificate's validity (2026-01-01 to 2030 and later). */
#define NOW (T2026 + (time_t)100 * 86400)

struct blob {
	unsigned char *p;
	size_t n;
};

struct softdec {
	EVP_PKEY *key;
	int calls;
	int fail;
};

static EVP_PKEY *ca_key, *other_key, *op_key, *oprsa_key, *off_key;
static EVP_PKEY *tr_key, *tr2_key, *dec, *dec_fail, *dec_other;
static X509 *ca, *other_ca, *op_cert, *oprsa, *off_cert, *dual, *stranger;
static X509 *tr, *tr2;
static STACK_OF(X509) *anchors;
static struct softdec sd, sd_fail, sd_other;
/* Stands in for the signed ZIP archive; a marker to tamper with. */
static unsigned char zipdata[4000];
#define MARKER "manifest.yaml-MARKER"
#define MARKER_AT 200

/* Stands in for the HSM helper: CKM_RSA_PKCS / CKM_RSA_X_509. */
static int
soft_decrypt(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen, size_t outmax)
{
	struct softdec *s = ctx;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(s->key, NULL);
	size_t len = outmax;
	int ok = 0;

	s->calls++;
	if (s->fail || c == NULL || EVP_PKEY_decrypt_init(c) <= 0 ||
	    (op != EXTKEY_RSA_DECRYPT_PKCS1 && op != EXTKEY_RSA_DECRYPT_RAW) ||
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

/* A person's certificate: CN, roles (dotted EKUs), validity to na. */
static X509 *
person(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int role1, int role2, time_t na, unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, na, 0, -1);
	s.ext.eku.v = calloc(2, sizeof(char *));
	s.ext.eku.v[s.ext.eku.n++] = strdup(oids_dotted((enum oids_id)role1));
	if (role2 >= 0)
		s.ext.eku.v[s.ext.eku.n++] =
		    strdup(oids_dotted((enum oids_id)role2));
	x = pkitest_issue(&s, key, issuer, ikey, tag);
	certspec_free(&s);
	return x;
}

static X509 *
transport_cert(const char *cn, EVP_PKEY *key, unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, T2040, 0, -1);
	s.ext.key_usage = CERTSPEC_KU_KEY_ENCIPHERMENT;
	s.ext.eku.v = calloc(1, sizeof(char *));
	s.ext.eku.v[s.ext.eku.n++] =
	    strdup(oids_dotted(OIDS_PURPOSE_TRANSPORT));
	x = pkitest_issue(&s, key, ca, ca_key, tag);
	certspec_free(&s);
	return x;
}

static int
setup(void **state)
{
	struct certspec s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(zipdata); i++)
		zipdata[i] = (unsigned char)(i * 131 + 7);
	memcpy(zipdata, "PK\003\004", 4);
	memcpy(zipdata + MARKER_AT, MARKER, strlen(MARKER));

	ca_key = pkitest_ec("P-256");
	other_key = pkitest_ec("P-256");
	op_key = pkitest_ec("P-256");
	oprsa_key = pkitest_rsa();
	off_key = pkitest_ec("P-256");
	tr_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	tr2_key = pkitest_rsa();
	if (!ca_key || !other_key || !op_key || !oprsa_key || !off_key ||
	    !tr_key || !tr2_key)
		return -1;

	pkitest_spec(&s, "Airlock People CA", T2026, T2050, 1, 0);
	ca = pkitest_issue(&s, ca_key, NULL, ca_key, 1);
	certspec_free(&s);
	pkitest_spec(&s, "Somebody Else's CA", T2026, T2050, 1, 0);
	other_ca = pkitest_issue(&s, other_key, NULL, other_key, 2);
	certspec_free(&s);
	op_cert = person("Dave Operator", op_key, ca, ca_key,
	    OIDS_ROLE_OPERATOR, -1, T2030, 3);
	oprsa = person("Olga Operator", oprsa_key, ca, ca_key,
	    OIDS_ROLE_OPERATOR, -1, T2030, 4);
	off_cert = person("Alice Officer", off_key, ca, ca_key,
	    OIDS_ROLE_OFFICER, -1, T2030, 5);
	dual = person("Mallory Both", off_key, ca, ca_key, OIDS_ROLE_OPERATOR,
	    OIDS_ROLE_OFFICER, T2030, 6);
	stranger = person("Dave Operator", op_key, other_ca, other_key,
	    OIDS_ROLE_OPERATOR, -1, T2030, 7);
	tr = transport_cert("Airlock bundle transport", tr_key, 8);
	tr2 = transport_cert("Other appliance transport", tr2_key, 9);
	if (!ca || !other_ca || !op_cert || !oprsa || !off_cert || !dual ||
	    !stranger || !tr || !tr2)
		return -1;
	if ((anchors = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(anchors, ca))
		return -1;

	sd.key = tr_key;
	sd_fail.key = tr_key;
	sd_fail.fail = 1;
	sd_other.key = tr2_key;
	dec = extkey_new_decrypter(tr_key, soft_decrypt, &sd, NULL);
	dec_fail = extkey_new_decrypter(tr_key, soft_decrypt, &sd_fail, NULL);
	/* The wrong key behind the right certificate. */
	dec_other = extkey_new_decrypter(tr2_key, soft_decrypt, &sd_other,
	    NULL);
	return dec && dec_fail && dec_other ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	sk_X509_free(anchors);
	X509_free(ca);
	X509_free(other_ca);
	X509_free(op_cert);
	X509_free(oprsa);
	X509_free(off_cert);
	X509_free(dual);
	X509_free(stranger);
	X509_free(tr);
	X509_free(tr2);
	EVP_PKEY_free(dec);
	EVP_PKEY_free(dec_fail);
	EVP_PKEY_free(dec_other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(op_key);
	EVP_PKEY_free(oprsa_key);
	EVP_PKEY_free(off_key);
	EVP_PKEY_free(tr_key);
	EVP_PKEY_free(tr2_key);
	return 0;
}

/* --- making bundles ----------------------------------------------------- */

enum {
	SF_DETACHED = 1,
	SF_NOCERTS = 2,
	SF_TWO = 4,
	SF_NOATTR = 8,
	SF_KEYID = 16
};

static struct blob
blob_copy(const void *p, size_t n)
{
	struct blob b;

	b.p = malloc(n ? n : 1);
	assert_non_null(b.p);
	memcpy(b.p, p, n);
	b.n = n;
	return b;
}

static void
blob_free(struct blob *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

/* DER of cms, which is freed. */
static struct blob
der_of(CMS_ContentInfo *cms)
{
	unsigned char *der = NULL;
	struct blob b;
	int n;

	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	b = blob_copy(der, (size_t)n);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	return b;
}

/* PEM (-----BEGIN CMS-----) of cms, which is freed. */
static struct blob
pem_of(CMS_ContentInfo *cms)
{
	BIO *m = BIO_new(BIO_s_mem());
	struct blob b;
	char *p = NULL;
	long n;

	assert_non_null(m);
	assert_int_equal(PEM_write_bio_CMS(m, cms), 1);
	n = BIO_get_mem_data(m, &p);
	assert_true(n > 0);
	b = blob_copy(p, (size_t)n);
	BIO_free(m);
	CMS_ContentInfo_free(cms);
	return b;
}

static CMS_ContentInfo *
sign_cms(EVP_PKEY *key, X509 *cert, const EVP_MD *md, const void *msg,
    size_t len, int flags)
{
	unsigned f = CMS_BINARY | CMS_PARTIAL |
	    (flags & SF_DETACHED ? CMS_DETACHED : 0);
	unsigned sf = (flags & SF_NOCERTS ? CMS_NOCERTS : 0) |
	    (flags & SF_NOATTR ? CMS_NOATTR : 0) |
	    (flags & SF_KEYID ? CMS_USE_KEYID : 0);
	BIO *in = BIO_new_mem_buf(msg, (int)len);
	CMS_ContentInfo *cms;

	assert_non_null(in);
	cms = CMS_sign(NULL, NULL, NULL, NULL, f);
	assert_non_null(cms);
	assert_non_null(CMS_add1_signer(cms, cert, key, md, sf));
	if (flags & SF_TWO)
		assert_non_null(CMS_add1_signer(cms, oprsa, oprsa_key,
		    EVP_sha256(), 0));
	assert_int_equal(CMS_final(cms, in, NULL, f), 1);
	BIO_free(in);
	return cms;
}

/* The usual good signed bundle, DER. */
static struct blob
signed_der(void)
{
	return der_of(sign_cms(op_key, op_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
}

/*
 * EnvelopedData of `in` to `to` (and `to2` when not NULL), DER. OAEP
 * with SHA-256 as `openssl cms -encrypt -keyopt rsa_padding_mode:oaep`.
 */
static struct blob
encrypt_to(struct blob in, X509 *to, X509 *to2, const EVP_CIPHER *cipher,
    int oaep, int keyid)
{
	STACK_OF(X509) *none = sk_X509_new_null();
	BIO *bin = BIO_new_mem_buf(in.p, (int)in.n);
	CMS_ContentInfo *cms;
	CMS_RecipientInfo *ri;
	unsigned kf = CMS_KEY_PARAM | (keyid ? CMS_USE_KEYID : 0);

	assert_non_null(none);
	assert_non_null(bin);
	cms = CMS_encrypt(none, NULL, cipher, CMS_BINARY | CMS_PARTIAL);
	assert_non_null(cms);
	ri = CMS_add1_recipient_cert(cms, to, kf);
	assert_non_null(ri);
	if (oaep) {
		EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);

		assert_non_null(pctx);
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_OAEP_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(pctx,
		    EVP_sha256()) > 0);
	}
	if (to2 != NULL)
		assert_non_null(CMS_add1_recipient_cert(cms, to2, 0));
	assert_int_equal(CMS_final(cms, bin, NULL, CMS_BINARY), 1);
	BIO_free(bin);
	sk_X509_free(none);
	return der_of(cms);
}

static struct envelope_opts
opts(void)
{
	struct envelope_opts o;

	memset(&o, 0, sizeof(o));
	o.people_cas = anchors;
	o.transport_cert = tr;
	o.transport_key = dec;
	o.now = NOW;
	return o;
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
	buf_hex(md, len, out, 65);
}

static void
expect_ok(struct blob b, const struct envelope_opts *o, struct envelope *env)
{
	diag_t d;

	diag_init(&d);
	if (envelope_open("bundle.cms", b.p, b.n, o, env, &d) != 0) {
		testutil_print_diag(&d, "envelope_open");
		fail_msg("envelope_open refused a good bundle");
	}
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
}

/* The archive, the signer and both digests, as a good open gives them. */
static void
check_good(const struct envelope *env, struct blob b, X509 *signer,
    int encrypted, int digest_nid)
{
	char want[65];

	assert_int_equal(env->content.len, sizeof(zipdata));
	assert_memory_equal(env->content.data, zipdata, sizeof(zipdata));
	assert_int_equal(env->content.wipe, 1);
	assert_non_null(env->signer);
	assert_int_equal(X509_cmp(env->signer, signer), 0);
	assert_int_equal(pki_cert_sha256_hex(signer, want), 0);
	assert_string_equal(env->signer_sha256, want);
	sha256_hex(b.p, b.n, want);
	assert_string_equal(env->bundle_sha256, want);
	assert_int_equal(env->encrypted, encrypted);
	assert_int_equal(env->digest_nid, digest_nid);
}

static void
open_good(struct blob b, X509 *signer, int encrypted, int digest_nid)
{
	struct envelope_opts o = opts();
	struct envelope env;

	expect_ok(b, &o, &env);
	check_good(&env, b, signer, encrypted, digest_nid);
	envelope_free(&env);
	/* Freeing twice is harmless: envelope_free empties. */
	envelope_free(&env);
	assert_null(env.signer);
}

/*
 * Opens b expecting a refusal with `code` and exactly one message that
 * contains `msg` (or is exactly it, when exact): nothing is handed back
 * but the bundle digest.
 */
static void
expect_fail_o(struct blob b, const struct envelope_opts *o, int code,
    const char *msg, int exact)
{
	struct envelope env;
	char line[1200] = "";
	diag_t d;
	int r;

	diag_init(&d);
	r = envelope_open("bundle.cms", b.p, b.n, o, &env, &d);
	if (d.n > 0)
		diag_format(&d, 0, line, sizeof(line));
	if (r != code || diag_count(&d) != 1 ||
	    (exact ? strcmp(d.items[0].msg, msg) != 0 :
	    strstr(line, msg) == NULL))
		fail_msg("want %s \"%s\", got %s \"%s\" (%zu messages)",
		    err_code_name(code), msg, err_code_name(r), line,
		    diag_count(&d));
	assert_string_equal(d.items[0].file, "bundle.cms");
	assert_null(env.signer);
	assert_null(env.content.data);
	assert_int_equal(env.content.len, 0);
	assert_int_equal(env.encrypted, 0);
	if (code != ERR_LIMIT && code != ERR_INTERNAL) {
		char want[65];

		sha256_hex(b.p, b.n, want);
		assert_string_equal(env.bundle_sha256, want);
	} else {
		assert_string_equal(env.bundle_sha256, "");
	}
	envelope_free(&env);
	diag_free(&d);
	/* Refusals leave OpenSSL's error queue empty, as successes do. */
	assert_int_equal(ERR_peek_error(), 0);
}

static void
expect_fail(struct blob b, int code, const char *msg)
{
	struct envelope_opts o = opts();

	expect_fail_o(b, &o, code, msg, 0);
}

/* --- good bundles ------------------------------------------------------- */

static void
test_signed_der(void **state)
{
	struct blob b = signed_der();

	(void)state;
	open_good(b, op_cert, 0, NID_sha256);
	assert_int_equal(ERR_peek_error(), 0);
	blob_free(&b);
	/* RSA signer, SHA-512, no signed attributes, signer by key id. */
	b = der_of(sign_cms(oprsa_key, oprsa, EVP_sha512(), zipdata,
	    sizeof(zipdata), SF_NOATTR | SF_KEYID));
	open_good(b, oprsa, 0, NID_sha512);
	blob_free(&b);
	b = der_of(sign_cms(op_key, op_cert, EVP_sha384(), zipdata,
	    sizeof(zipdata), 0));
	open_good(b, op_cert, 0, NID_sha384);
	blob_free(&b);
}

/* Replaces every "-----BEGIN CMS" and "-----END CMS" label in b. */
static struct blob
relabel(struct blob in, const char *label)
{
	size_t cap = in.n + 2 * strlen(label) + 1, n = 0, i = 0;
	struct blob b;

	b.p = malloc(cap);
	assert_non_null(b.p);
	while (i < in.n) {
		if (in.n - i >= 3 && memcmp(in.p + i, "CMS", 3) == 0) {
			memcpy(b.p + n, label, strlen(label));
			n += strlen(label);
			i += 3;
			continue;
		}
		b.p[n++] = in.p[i++];
	}
	b.n = n;
	blob_free(&in);
	return b;
}

/* b with text inserted at offset at. */
static struct blob
insert_at(struct blob in, size_t at, const char *text)
{
	struct blob b;
	size_t tl = strlen(text);

	b.p = malloc(in.n + tl);
	assert_non_null(b.p);
	memcpy(b.p, in.p, at);
	memcpy(b.p + at, text, tl);
	memcpy(b.p + at + tl, in.p + at, in.n - at);
	b.n = in.n + tl;
	blob_free(&in);
	return b;
}

static void
test_signed_pem(void **state)
{
	struct blob b;

	(void)state;
	b = pem_of(sign_cms(op_key, op_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
	assert_memory_equal(b.p, "-----BEGIN CMS-----", 19);
	open_good(b, op_cert, 0, NID_sha256);
	/* White space around the block is fine. */
	b = insert_at(b, 0, "\r\n  \n");
	b = insert_at(b, b.n, "\n\n");
	open_good(b, op_cert, 0, NID_sha256);
	/* PKCS7 is accepted as a label too. */
	b = relabel(b, "PKCS7");
	open_good(b, op_cert, 0, NID_sha256);
	blob_free(&b);
}

static void
test_encrypted_pkcs1(void **state)
{
	struct blob s = signed_der(), b;
	int calls = sd.calls;

	(void)state;
	b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), 0, 0);
	open_good(b, op_cert, 1, NID_sha256);
	/* The private operation went through the callback. */
	assert_true(sd.calls > calls);
	blob_free(&b);
	blob_free(&s);
}

static void
test_encrypted_oaep(void **state)
{
	struct blob s = signed_der(), b;
	int calls = sd.calls;

	(void)state;
	b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), 1, 0);
	open_good(b, op_cert, 1, NID_sha256);
	assert_true(sd.calls > calls);
	blob_free(&b);
	/* The recipient named by subject key identifier. */
	b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), 1, 1);
	open_good(b, op_cert, 1, NID_sha256);
	blob_free(&b);
	blob_free(&s);
	/* The plaintext may be PEM too. */
	s = pem_of(sign_cms(op_key, op_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
	b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), 0, 0);
	open_good(b, op_cert, 1, NID_sha256);
	blob_free(&b);
	blob_free(&s);
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static struct blob
read_file(const char *path)
{
	static unsigned char tmp[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		fail_msg("cannot read %s", path);
	n = fread(tmp, 1, sizeof(tmp), f);
	assert_true(n < sizeof(tmp));
	fclose(f);
	return blob_copy(tmp, n);
}

static void
write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (cert != NULL)
		assert_int_equal(PEM_write_X509(f, cert), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
		    NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
}

/* Runs a shell command in dir (cd first); fails the test when it fails. */
static void
run_in(const char *dir, const char *cmd)
{
	char line[PATH_MAX + 1024];

	snprintf(line, sizeof(line), "cd '%s' && %s", dir, cmd);
	if (system(line) != 0)
		fail_msg("command failed: %s", cmd);
}

static void
test_stock_openssl(void **state)
{
	static const char *const names[] = {
		"signed.der", "signed.pem", "stream.der", "enc-pkcs1.der",
		"enc-oaep.der", "enc-pem.pem"
	};
	static const int encrypted[] = { 0, 0, 0, 1, 1, 1 };
	char dir[PATH_MAX], path[PATH_MAX + 64];
	size_t i;

	(void)state;
	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_envelope: openssl not installed; "
		    "skipping the stock-tool bundles\n");
		skip();
	}
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "envelope"), 0);
	snprintf(path, sizeof(path), "%s/archive.zip", dir);
	write_file(path, zipdata, sizeof(zipdata));
	snprintf(path, sizeof(path), "%s/op.pem", dir);
	write_pem(path, op_cert, NULL);
	snprintf(path, sizeof(path), "%s/op.key", dir);
	write_pem(path, NULL, op_key);
	snprintf(path, sizeof(path), "%s/transport.pem", dir);
	write_pem(path, tr, NULL);

	/* As docs/formats/bundle.md, section 4 tells an operator. */
	run_in(dir, "openssl cms -sign -binary -nodetach -in archive.zip "
	    "-signer op.pem -inkey op.key -outform DER -out signed.der");
	run_in(dir, "openssl cms -sign -binary -nodetach -in archive.zip "
	    "-signer op.pem -inkey op.key -outform PEM -out signed.pem");
	/* -stream writes BER with indefinite lengths. */
	run_in(dir, "openssl cms -sign -binary -nodetach -stream "
	    "-in archive.zip -signer op.pem -inkey op.key -outform DER "
	    "-out stream.der");
	run_in(dir, "openssl cms -encrypt -binary -aes-256-cbc "
	    "-in signed.der -outform DER -out enc-pkcs1.der transport.pem");
	run_in(dir, "openssl cms -encrypt -binary -aes-256-cbc "
	    "-in signed.der -outform DER -out enc-oaep.der "
	    "-recip transport.pem -keyopt rsa_padding_mode:oaep");
	run_in(dir, "openssl cms -encrypt -binary -aes-256-cbc "
	    "-in signed.pem -outform PEM -out enc-pem.pem transport.pem");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct blob b;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		b = read_file(path);
		open_good(b, op_cert, encrypted[i], NID_sha256);
		blob_free(&b);
	}
	/* Stock AES-128 and AES-256-GCM are refused by name. */
	run_in(dir, "openssl cms -encrypt -binary -aes-128-cbc "
	    "-in signed.der -outform DER -out aes128.der transport.pem");
	snprintf(path, sizeof(path), "%s/aes128.der", dir);
	{
		struct blob b = read_file(path);

		expect_fail(b, ERR_POLICY, "the content cipher is AES-128-CBC; "
		    "bundles are encrypted with AES-256-CBC only");
		blob_free(&b);
	}
	assert_int_equal(testutil_rmtree(dir), 0);
}

/* --- refusals: encoding ------------------------------------------------- */

static void
test_not_cms(void **state)
{
	static const unsigned char garbage[] = {
		0x30, 0x82, 0x10, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x82, 0x0f, 0xf0, 0x30
	};
	struct blob b;

	(void)state;
	b = blob_copy(zipdata, sizeof(zipdata));
	expect_fail(b, ERR_INVALID, "this is a bare ZIP archive, not a signed "
	    "bundle");
	blob_free(&b);
	b = blob_copy("hello, appliance", 16);
	expect_fail(b, ERR_INVALID, "not a CMS bundle: neither DER");
	blob_free(&b);
	b = blob_copy(garbage, sizeof(garbage));
	expect_fail(b, ERR_INVALID, "not a valid CMS structure: its outer "
	    "SEQUENCE claims 4096 bytes, but only 16 follow its header: the "
	    "file is truncated, or the length is forged");
	blob_free(&b);
	b = blob_copy("", 0);
	expect_fail(b, ERR_INVALID, "not a CMS bundle");
	blob_free(&b);
}

/*
 * Hostile DER says what is wrong and where: a forged huge length with
 * both numbers, a wrong tag and deep nesting with OpenSSL's reason and
 * the field it was decoding (tests/hostile has the same cases).
 */
static void
test_der_hostile(void **state)
{
	static const unsigned char huge[] = {
		0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x03, 0x2a, 0x86,
		0x48
	};
	static const unsigned char wrongtag[] = {
		0x30, 0x0b, 0x04, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x02
	};
	unsigned char deep[4000];
	struct blob b;

	(void)state;
	b = blob_copy(huge, sizeof(huge));
	expect_fail(b, ERR_INVALID, "its outer SEQUENCE claims 2147483647 "
	    "bytes, but only 5 follow its header");
	blob_free(&b);
	b = blob_copy(wrongtag, sizeof(wrongtag));
	expect_fail(b, ERR_INVALID, "the DER is malformed (OpenSSL: wrong tag "
	    "at Field=contentType, Type=CMS_ContentInfo)");
	blob_free(&b);
	/* 1,000 nested indefinite-length SEQUENCEs and their end markers. */
	memset(deep, 0, sizeof(deep));
	for (size_t i = 0; i < 1000; i++) {
		deep[2 * i] = 0x30;
		deep[2 * i + 1] = 0x80;
	}
	b = blob_copy(deep, sizeof(deep));
	expect_fail(b, ERR_INVALID, "the DER is malformed (OpenSSL: ");
	blob_free(&b);
}

static void
test_truncated_and_trailing(void **state)
{
	struct blob b = signed_der(), c;
	size_t cut[] = { 1, 10, 100, 2000 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		c = blob_copy(b.p, b.n - cut[i]);
		expect_fail(c, ERR_INVALID, "the file is truncated, or the "
		    "length is forged");
		blob_free(&c);
	}
	c = insert_at(blob_copy(b.p, b.n), b.n, "x");
	expect_fail(c, ERR_INVALID, "1 byte follows the end of the CMS "
	    "structure");
	blob_free(&c);
	blob_free(&b);
}

static void
test_oversize(void **state)
{
	struct envelope_opts o = opts();
	struct blob b = signed_der();

	(void)state;
	o.max_size = 1000;
	expect_fail_o(b, &o, ERR_LIMIT, "more than the limit of 1000 bytes",
	    0);
	o.max_size = b.n;
	{
		struct envelope env;

		expect_ok(b, &o, &env);
		envelope_free(&env);
	}
	blob_free(&b);
}

static void
test_pem_refusals(void **state)
{
	struct blob pem, b;
	const char *end;

	(void)state;
	pem = pem_of(sign_cms(op_key, op_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
	b = relabel(blob_copy(pem.p, pem.n), "CERTIFICATE");
	expect_fail(b, ERR_INVALID, "the PEM block is labelled 'CERTIFICATE'; "
	    "a bundle is labelled CMS or PKCS7");
	blob_free(&b);
	b = insert_at(blob_copy(pem.p, pem.n), pem.n, "and a note\n");
	expect_fail(b, ERR_INVALID, "text follows the PEM block");
	blob_free(&b);
	b = insert_at(blob_copy(pem.p, pem.n), pem.n,
	    "-----BEGIN CMS-----\nMA==\n-----END CMS-----\n");
	expect_fail(b, ERR_INVALID, "text follows the PEM block");
	blob_free(&b);
	b = insert_at(blob_copy(pem.p, pem.n), 20, "Proc-Type: 4,ENCRYPTED\n"
	    "DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n");
	expect_fail(b, ERR_INVALID, "the PEM block has headers");
	blob_free(&b);
	/* A block without its END line. */
	end = strstr((const char *)pem.p, "-----END");
	assert_non_null(end);
	b = blob_copy(pem.p, (size_t)(end - (const char *)pem.p));
	expect_fail(b, ERR_INVALID, "malformed PEM");
	blob_free(&b);
	blob_free(&pem);
}

static void
test_wrong_content_type(void **state)
{
	BIO *in = BIO_new_mem_buf(zipdata, (int)sizeof(zipdata));
	struct blob s, b;
	CMS_ContentInfo *cms;

	(void)state;
	assert_non_null(in);
	cms = CMS_data_create(in, CMS_BINARY);
	assert_non_null(cms);
	BIO_free(in);
	b = der_of(cms);
	expect_fail(b, ERR_INVALID, "the bundle is CMS Data content, not "
	    "SignedData or EnvelopedData");
	blob_free(&b);
	/* AES-256-GCM makes AuthEnvelopedData, which is not accepted. */
	s = signed_der();
	b = encrypt_to(s, tr, NULL, EVP_aes_256_gcm(), 0, 0);
	expect_fail(b, ERR_INVALID, "the bundle is CMS AuthEnvelopedData "
	    "content");
	blob_free(&b);
	blob_free(&s);
}

/* --- refusals: SignedData ----------------------------------------------- */

static void
test_signed_refusals(void **state)
{
	struct blob b;

	(void)state;
	b = der_of(sign_cms(op_key, op_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), SF_DETACHED));
	expect_fail(b, ERR_INVALID, "the signature is detached");
	blob_free(&b);
	b = der_of(sign_cms(op_key, op_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), SF_TWO));
	expect_fail(b, ERR_INVALID, "the SignedData has 2 signers; a bundle "
	    "has exactly one, the operator");
	blob_free(&b);
	b = der_of(sign_cms(op_key, op_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), SF_NOCERTS));
	expect_fail(b, ERR_INVALID, "the signer's certificate is not "
	    "included in the SignedData");
	blob_free(&b);
	b = der_of(sign_cms(oprsa_key, oprsa, EVP_sha1(), zipdata,
	    sizeof(zipdata), 0));
	expect_fail(b, ERR_POLICY, "the signature digest is SHA-1; SHA-256, "
	    "SHA-384 or SHA-512 is required");
	blob_free(&b);
}

static void
test_signer_refusals(void **state)
{
	struct envelope_opts o = opts();
	struct blob b;

	(void)state;
	b = der_of(sign_cms(op_key, stranger, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
	expect_fail(b, ERR_POLICY, "the signer's certificate (CN=Dave "
	    "Operator,O=Airlock Test, issued by CN=Somebody Else's CA,"
	    "O=Airlock Test) does not chain to the appliance's people CA");
	blob_free(&b);
	b = der_of(sign_cms(off_key, off_cert, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
	expect_fail(b, ERR_POLICY, "(CN=Alice Officer,O=Airlock Test) is an "
	    "officer's (extended key usage airlock-officer), not an "
	    "operator's: the wrong role");
	blob_free(&b);
	b = der_of(sign_cms(off_key, dual, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
	expect_fail(b, ERR_POLICY, "holds the officer role besides the "
	    "operator role");
	blob_free(&b);
	/* The transport certificate is no operator either. */
	b = der_of(sign_cms(tr_key, tr, EVP_sha256(), zipdata,
	    sizeof(zipdata), 0));
	expect_fail(b, ERR_POLICY, "does not carry the operator role");
	blob_free(&b);

	b = signed_der();
	o.now = T2040;
	expect_fail_o(b, &o, ERR_POLICY, "the signer's certificate "
	    "(CN=Dave Operator,O=Airlock Test) expired at "
	    "2030-01-01T00:00:00Z", 0);
	o.now = T2026 - 86400;
	expect_fail_o(b, &o, ERR_POLICY, "is not valid before "
	    "2026-01-01T00:00:00Z", 0);
	/* Only the configured people CA is an anchor. */
	o = opts();
	o.people_cas = sk_X509_new_null();
	assert_non_null(o.people_cas);
	assert_int_equal(sk_X509_push(o.people_cas, other_ca), 1);
	expect_fail_o(b, &o, ERR_POLICY, "does not chain to the appliance's "
	    "people CA", 0);
	sk_X509_free(o.people_cas);
	o.people_cas = NULL;
	expect_fail_o(b, &o, ERR_INTERNAL, "no people CA certificate", 0);
	blob_free(&b);
}

/* Flips a bit of b at offset `at` from the first occurrence of what. */
static void
flip_at(struct blob *b, const void *what, size_t wlen, size_t at)
{
	size_t i;

	for (i = 0; i + wlen + at < b->n; i++) {
		if (memcmp(b->p + i, what, wlen) == 0) {
			b->p[i + at] ^= 0x01;
			return;
		}
	}
	fail_msg("pattern not found");
}

static void
test_tampered(void **state)
{
	struct blob b = signed_der(), s;

	(void)state;
	flip_at(&b, MARKER, strlen(MARKER), 3);
	expect_fail(b, ERR_POLICY, "the signature does not verify");
	blob_free(&b);
	/* Without signed attributes the signature covers the bytes directly. */
	b = der_of(sign_cms(oprsa_key, oprsa, EVP_sha256(), zipdata,
	    sizeof(zipdata), SF_NOATTR));
	flip_at(&b, MARKER, strlen(MARKER), 0);
	expect_fail(b, ERR_POLICY, "the signature does not verify");
	blob_free(&b);
	/* Tampered inside an envelope: caught after decryption. */
	s = signed_der();
	flip_at(&s, MARKER, strlen(MARKER), 5);
	b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), 1, 0);
	expect_fail(b, ERR_POLICY, "the signature does not verify");
	blob_free(&b);
	blob_free(&s);
}

/* --- refusals: EnvelopedData -------------------------------------------- */

static void
test_envelope_refusals(void **state)
{
	struct envelope_opts o = opts();
	struct blob s = signed_der(), b, n;
	int calls;

	(void)state;
	b = encrypt_to(s, tr, NULL, EVP_aes_128_cbc(), 0, 0);
	calls = sd.calls;
	expect_fail(b, ERR_POLICY, "the content cipher is AES-128-CBC; "
	    "bundles are encrypted with AES-256-CBC only");
	/* Refused before the key was asked for anything. */
	assert_int_equal(sd.calls, calls);
	blob_free(&b);

	b = encrypt_to(s, tr2, NULL, EVP_aes_256_cbc(), 0, 0);
	expect_fail(b, ERR_POLICY, "the bundle is encrypted to another "
	    "certificate (issuer CN=Airlock People CA,O=Airlock Test, "
	    "serial ");
	blob_free(&b);
	b = encrypt_to(s, tr2, NULL, EVP_aes_256_cbc(), 0, 1);
	expect_fail(b, ERR_POLICY, "encrypted to another certificate "
	    "(subject key identifier ");
	blob_free(&b);
	b = encrypt_to(s, tr, tr2, EVP_aes_256_cbc(), 0, 0);
	expect_fail(b, ERR_POLICY, "the EnvelopedData has 2 recipients");
	blob_free(&b);

	b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), 0, 0);
	o.transport_cert = NULL;
	o.transport_key = NULL;
	expect_fail_o(b, &o, ERR_POLICY, "the bundle is encrypted "
	    "(EnvelopedData), but this appliance has no transport key "
	    "configured", 0);

	/* Sign, then encrypt, once. */
	n = encrypt_to(b, tr, NULL, EVP_aes_256_cbc(), 0, 0);
	expect_fail(n, ERR_INVALID, "the decrypted bundle is another "
	    "EnvelopedData: nested encryption is not accepted");
	blob_free(&n);
	blob_free(&b);
	/* Encrypted but never signed. */
	n = blob_copy(zipdata, sizeof(zipdata));
	b = encrypt_to(n, tr, NULL, EVP_aes_256_cbc(), 1, 0);
	expect_fail(b, ERR_INVALID, "the encrypted content is a bare ZIP "
	    "archive, not a SignedData");
	blob_free(&b);
	blob_free(&n);
	/* Encrypted Data content. */
	{
		BIO *in = BIO_new_mem_buf(zipdata, (int)sizeof(zipdata));
		CMS_ContentInfo *cms = CMS_data_create(in, CMS_BINARY);

		assert_non_null(cms);
		BIO_free(in);
		n = der_of(cms);
		b = encrypt_to(n, tr, NULL, EVP_aes_256_cbc(), 0, 0);
		expect_fail(b, ERR_INVALID, "the decrypted bundle is CMS Data "
		    "content, not SignedData");
		blob_free(&b);
		blob_free(&n);
	}
	blob_free(&s);
}

/* The encrypted key of a 3072-bit recipient: OCTET STRING of 384. */
static const unsigned char ek_tag[] = { 0x04, 0x82, 0x01, 0x80 };

static void
expect_decrypt_failure(struct blob b, EVP_PKEY *key)
{
	struct envelope_opts o = opts();

	o.transport_key = key;
	expect_fail_o(b, &o, ERR_INVALID, ENVELOPE_MSG_DECRYPT, 1);
}

static void
test_decrypt_failures_uniform(void **state)
{
	struct blob s = signed_der(), b;
	int oaep;

	(void)state;
	for (oaep = 0; oaep < 2; oaep++) {
		/* A damaged encrypted key (the padding check fails). */
		b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), oaep, 0);
		flip_at(&b, ek_tag, sizeof(ek_tag), sizeof(ek_tag) + 192);
		expect_decrypt_failure(b, dec);
		blob_free(&b);
		/* A damaged last block of content (the CBC padding). */
		b = encrypt_to(s, tr, NULL, EVP_aes_256_cbc(), oaep, 0);
		b.p[b.n - 1] ^= 0x40;
		expect_decrypt_failure(b, dec);
		/* The key's callback fails: the HSM said no. */
		b.p[b.n - 1] ^= 0x40;
		expect_decrypt_failure(b, dec_fail);
		/* The wrong private key behind the transport certificate. */
		expect_decrypt_failure(b, dec_other);
		/* And the intact bundle still opens. */
		open_good(b, op_cert, 1, NID_sha256);
		blob_free(&b);
	}
	blob_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_der),
		cmocka_unit_test(test_signed_pem),
		cmocka_unit_test(test_encrypted_pkcs1),
		cmocka_unit_test(test_encrypted_oaep),
		cmocka_unit_test(test_stock_openssl),
		cmocka_unit_test(test_not_cms),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_der_hostile),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_pem_refusals),
		cmocka_unit_test(test_wrong_content_type),
		cmocka_unit_test(test_signed_refusals),
		cmocka_unit_test(test_signer_refusals),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_envelope_refusals),
		cmocka_unit_test(test_decrypt_failures_uniform),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
