/*
 * bundlefx.h: request bundles made in memory for the tests of the bundle
 * check (test_bundle.c) and the intake (test_intake.c). Test-only;
 * header-only like pkitest.h.
 *
 * Everything is software: a people CA and operator / officer certificates
 * with the Airlock role EKUs, a devices CA named as the shipped profiles
 * name their issuer (device-ca), an RSA transport certificate whose
 * plain private key stands in for the HSM decrypter, and an RSA recipient
 * for SMPB. Archives are built with libzip, signed and encrypted with
 * OpenSSL's CMS API, CSRs made with X509_REQ.
 */
#ifndef AIRLOCK_TESTS_BUNDLEFX_H
#define AIRLOCK_TESTS_BUNDLEFX_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

/* pem.h first: cms.h declares its PEM functions with pem.h macros. */
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ingest/bundle.h"
#include "pki/oids.h"
#include "pki/pkiutil.h"
#include "pkitest.h"
#include "policy/profile.h"
#include "testutil.h"

struct bfx_blob {
	unsigned char *p;
	size_t n;
};

struct bfx {
	EVP_PKEY *people_key, *dev_key, *op_key, *op2_key, *op3_key, *op4_key;
	EVP_PKEY *off_key, *tr_key, *rcpt_key, *rsa2048, *rsa1024, *ec;
	X509 *people_ca, *dev_ca, *op, *op2, *op3, *op4, *off, *tr, *rcpt;
	STACK_OF(X509) *anchors;
	char op_sha[65], op2_sha[65], op3_sha[65], op4_sha[65], off_sha[65];
	struct profile_set profiles;
	unsigned ids;		/* bundle ids handed out */
};

static inline void
bfx_blob_free(struct bfx_blob *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

/* A person's certificate with one Airlock role EKU. */
static inline X509 *
bfx_person(struct bfx *f, const char *cn, EVP_PKEY *key, int role,
    unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, T2030, 0, -1);
	s.ext.eku.v = calloc(1, sizeof(char *));
	s.ext.eku.v[s.ext.eku.n++] = strdup(oids_dotted((enum oids_id)role));
	x = pkitest_issue(&s, key, f->people_ca, f->people_key, tag);
	certspec_free(&s);
	return x;
}

static inline X509 *
bfx_leaf(struct bfx *f, const char *cn, EVP_PKEY *key, unsigned ku,
    unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, T2040, 0, -1);
	s.ext.key_usage = ku;
	x = pkitest_issue(&s, key, f->people_ca, f->people_key, tag);
	certspec_free(&s);
	return x;
}

static inline int
bfx_setup(struct bfx *f)
{
	struct certspec s;
	char src[PATH_MAX], dir[PATH_MAX + 16];
	diag_t d;
	err_t e;

	memset(f, 0, sizeof(*f));
	f->people_key = pkitest_ec("P-256");
	f->dev_key = pkitest_ec("P-256");
	f->op_key = pkitest_ec("P-256");
	f->op2_key = pkitest_ec("P-256");
	f->op3_key = pkitest_ec("P-256");
	f->op4_key = pkitest_ec("P-256");
	f->off_key = pkitest_ec("P-256");
	f->ec = pkitest_ec("P-256");
	f->tr_key = pkitest_rsa();
	f->rcpt_key = pkitest_rsa();
	f->rsa2048 = pkitest_rsa();
	f->rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	if (!f->people_key || !f->dev_key || !f->op_key || !f->op2_key ||
	    !f->op3_key || !f->op4_key || !f->off_key || !f->ec ||
	    !f->tr_key || !f->rcpt_key || !f->rsa2048 || !f->rsa1024)
		return -1;
	pkitest_spec(&s, "Airlock People CA", T2026, T2050, 1, 0);
	f->people_ca = pkitest_issue(&s, f->people_key, NULL, f->people_key,
	    1);
	certspec_free(&s);
	/* Outlives every profile's term issued now (docsis: 10 years). */
	pkitest_spec(&s, "Airlock Devices CA", T2026, T2060, 1, 0);
	f->dev_ca = pkitest_issue(&s, f->dev_key, NULL, f->dev_key, 2);
	certspec_free(&s);
	if (f->people_ca == NULL || f->dev_ca == NULL)
		return -1;
	f->op = bfx_person(f, "Dave Example", f->op_key, OIDS_ROLE_OPERATOR, 3);
	f->op2 = bfx_person(f, "Rita Revoked", f->op2_key, OIDS_ROLE_OPERATOR,
	    4);
	f->op3 = bfx_person(f, "Larry Locked", f->op3_key, OIDS_ROLE_OPERATOR,
	    5);
	f->op4 = bfx_person(f, "Eve Other", f->op4_key, OIDS_ROLE_OPERATOR, 6);
	f->off = bfx_person(f, "Alice Officer", f->off_key, OIDS_ROLE_OFFICER,
	    7);
	f->tr = bfx_leaf(f, "Airlock transport", f->tr_key,
	    CERTSPEC_KU_KEY_ENCIPHERMENT, 8);
	f->rcpt = bfx_leaf(f, "SMPB recipient", f->rcpt_key,
	    CERTSPEC_KU_KEY_ENCIPHERMENT, 9);
	if (!f->op || !f->op2 || !f->op3 || !f->op4 || !f->off || !f->tr ||
	    !f->rcpt)
		return -1;
	pki_cert_sha256_hex(f->op, f->op_sha);
	pki_cert_sha256_hex(f->op2, f->op2_sha);
	pki_cert_sha256_hex(f->op3, f->op3_sha);
	pki_cert_sha256_hex(f->op4, f->op4_sha);
	pki_cert_sha256_hex(f->off, f->off_sha);
	if ((f->anchors = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(f->anchors, f->people_ca))
		return -1;
	if (testutil_srcdir(src, sizeof(src)) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/policies", src);
	diag_init(&d);
	if (profile_load_dir(dir, &f->profiles, &d, &e) != 0) {
		testutil_print_diag(&d, "profiles");
		diag_free(&d);
		return -1;
	}
	diag_free(&d);
	return 0;
}

static inline void
bfx_teardown(struct bfx *f)
{
	EVP_PKEY *keys[] = { f->people_key, f->dev_key, f->op_key, f->op2_key,
		f->op3_key, f->op4_key, f->off_key, f->tr_key, f->rcpt_key,
		f->rsa2048, f->rsa1024, f->ec };
	X509 *certs[] = { f->people_ca, f->dev_ca, f->op, f->op2, f->op3,
		f->op4, f->off, f->tr, f->rcpt };
	size_t i;

	sk_X509_free(f->anchors);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EVP_PKEY_free(keys[i]);
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		X509_free(certs[i]);
	profile_set_free(&f->profiles);
	memset(f, 0, sizeof(*f));
}

/* The options bundle_open needs, lookups left to the caller. */
static inline void
bfx_opts(struct bfx *f, struct bundle_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->env.people_cas = f->anchors;
	o->env.transport_cert = f->tr;
	o->env.transport_key = f->tr_key;
	o->env.now = time(NULL);
	o->profiles = &f->profiles;
}

/* --- archives --------------------------------------------------------- */

struct bfx_entry {
	const char *name;
	const void *data;	/* NULL: a directory */
	size_t len;		/* 0 with data: strlen(data) */
	uint32_t mode;		/* nonzero: Unix mode in the attributes */
};

static inline struct bfx_blob
bfx_zip(const struct bfx_entry *e, size_t n)
{
	struct bfx_blob b = { NULL, 0 };
	zip_source_t *src;
	zip_stat_t st;
	zip_t *z;
	size_t i;

	src = zip_source_buffer_create(NULL, 0, 0, NULL);
	assert_non_null(src);
	zip_source_keep(src);
	z = zip_open_from_source(src, ZIP_TRUNCATE, NULL);
	assert_non_null(z);
	for (i = 0; i < n; i++) {
		zip_int64_t idx;

		if (e[i].data == NULL) {
			idx = zip_dir_add(z, e[i].name, ZIP_FL_ENC_RAW);
		} else {
			size_t len = e[i].len ? e[i].len : strlen(e[i].data);
			zip_source_t *fs = zip_source_buffer(z, e[i].data, len,
			    0);

			assert_non_null(fs);
			idx = zip_file_add(z, e[i].name, fs, ZIP_FL_ENC_RAW);
			if (idx < 0)
				zip_source_free(fs);
		}
		if (idx < 0)
			fail_msg("cannot add %s: %s", e[i].name,
			    zip_strerror(z));
		if (e[i].mode != 0)
			assert_int_equal(zip_file_set_external_attributes(z,
			    (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
			    e[i].mode << 16), 0);
	}
	assert_int_equal(zip_close(z), 0);
	assert_int_equal(zip_source_stat(src, &st), 0);
	assert_int_equal(zip_source_open(src), 0);
	b.n = (size_t)st.size;
	b.p = malloc(b.n + 1);
	assert_non_null(b.p);
	assert_int_equal(zip_source_read(src, b.p, st.size),
	    (zip_int64_t)b.n);
	zip_source_close(src);
	zip_source_free(src);
	return b;
}

/* --- CMS ---------------------------------------------------------------- */

static inline struct bfx_blob
bfx_der(CMS_ContentInfo *cms)
{
	struct bfx_blob b;
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);

	assert_true(n > 0);
	b.p = malloc((size_t)n);
	assert_non_null(b.p);
	memcpy(b.p, der, (size_t)n);
	b.n = (size_t)n;
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	return b;
}

/* SignedData over in (freed), by cert and key, DER. */
static inline struct bfx_blob
bfx_sign(struct bfx_blob in, X509 *cert, EVP_PKEY *key)
{
	BIO *bio = BIO_new_mem_buf(in.p, (int)in.n);
	CMS_ContentInfo *cms;

	assert_non_null(bio);
	cms = CMS_sign(cert, key, NULL, bio, CMS_BINARY);
	assert_non_null(cms);
	BIO_free(bio);
	bfx_blob_free(&in);
	return bfx_der(cms);
}

/* EnvelopedData of in (freed) to the transport certificate, DER. */
static inline struct bfx_blob
bfx_encrypt(struct bfx *f, struct bfx_blob in)
{
	STACK_OF(X509) *to = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(in.p, (int)in.n);
	CMS_ContentInfo *cms;

	assert_non_null(to);
	assert_true(sk_X509_push(to, f->tr) > 0);
	cms = CMS_encrypt(to, bio, EVP_aes_256_cbc(), CMS_BINARY);
	assert_non_null(cms);
	BIO_free(bio);
	sk_X509_free(to);
	bfx_blob_free(&in);
	return bfx_der(cms);
}

/* --- contents ----------------------------------------------------------- */

/* A fresh bundle id (each call differs). */
static inline void
bfx_id(struct bfx *f, char out[37])
{
	snprintf(out, 37, "7f1c2d9e-1b2c-4d5e-8f90-%012x", ++f->ids);
}

/* manifest.yaml for profile, input and output blocks (heap). */
static inline char *
bfx_manifest(const char *id, const char *profile, const char *input,
    const char *output)
{
	size_t n = strlen(input) + strlen(output) + 512;
	char *m = malloc(n);

	assert_non_null(m);
	snprintf(m, n, "airlock_bundle: 1\nkind: request\nid: %s\n"
	    "created: 2026-11-22T10:00:00Z\nbatch:\n  name: Test batch\n"
	    "  description: made by a test\nprofile: %s\n%s%s", id, profile,
	    input, output);
	return m;
}

#define BFX_OUT_SMPB "output:\n  format: smpb\n  chain: with-intermediate\n" \
	"  results_log: csv\n  recipient: recipient.pem\n"
#define BFX_OUT_PEM "output:\n  format: pem-zip\n  chain: separate\n" \
	"  results_log: json\n"
#define BFX_OUT_P12 "output:\n  format: pkcs12\n  chain: separate\n" \
	"  results_log: csv\n  pkcs12:\n    password: \"correct horse\"\n"

/* The recipient certificate as PEM (heap, NUL-terminated). */
static inline char *
bfx_recipient_pem(struct bfx *f)
{
	buf_t b;
	err_t e;
	char *s;

	buf_init(&b, 65536);
	assert_int_equal(pki_cert_pem(f->rcpt, &b, &e), 0);
	s = malloc(b.len + 1);
	assert_non_null(s);
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	buf_free(&b);
	return s;
}

/*
 * A signed (and, when encrypt, encrypted) bundle of manifest m plus the
 * recipient (when with_rcpt) and the extra entries, by cert and key.
 */
static inline struct bfx_blob
bfx_bundle(struct bfx *f, const char *m, int with_rcpt,
    const struct bfx_entry *extra, size_t n_extra, X509 *cert,
    EVP_PKEY *key, int encrypt)
{
	struct bfx_entry e[16];
	struct bfx_blob z, s;
	char *rcpt = bfx_recipient_pem(f);
	size_t n = 0, i;

	assert_true(n_extra + 2 <= 16);
	e[n++] = (struct bfx_entry){ "manifest.yaml", m, 0, 0 };
	if (with_rcpt)
		e[n++] = (struct bfx_entry){ "recipient.pem", rcpt, 0, 0 };
	for (i = 0; i < n_extra; i++)
		e[n++] = extra[i];
	z = bfx_zip(e, n);
	free(rcpt);
	s = bfx_sign(z, cert, key);
	return encrypt ? bfx_encrypt(f, s) : s;
}

/* --- requests ----------------------------------------------------------- */

enum { BFX_DER = 1, BFX_BADSIG = 2 };

/*
 * A PKCS#10 request for key with CN=cn (and a DNS SAN when dns is not
 * NULL), PEM (heap) or DER; BFX_BADSIG breaks its signature.
 */
static inline struct bfx_blob
bfx_csr(EVP_PKEY *key, const char *cn, const char *dns, int flags)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	struct bfx_blob b = { NULL, 0 };

	assert_non_null(r);
	assert_true(X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_REQ_set_subject_name(r, nm));
	X509_NAME_free(nm);
	assert_true(X509_REQ_set_pubkey(r, key));
	if (dns != NULL) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *ext;
		char v[300];

		snprintf(v, sizeof(v), "DNS:%s", dns);
		ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, v);
		assert_non_null(ext);
		sk_X509_EXTENSION_push(exts, ext);
		assert_true(X509_REQ_add_extensions(r, exts));
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	if (flags & BFX_BADSIG) {
		const ASN1_BIT_STRING *sig = NULL;

		X509_REQ_get0_signature(r, &sig, NULL);
		assert_non_null(sig);
		((ASN1_BIT_STRING *)sig)->data[4] ^= 0x55;
	}
	if (flags & BFX_DER) {
		unsigned char *der = NULL;
		int n = i2d_X509_REQ(r, &der);

		assert_true(n > 0);
		b.p = malloc((size_t)n);
		memcpy(b.p, der, (size_t)n);
		b.n = (size_t)n;
		OPENSSL_free(der);
	} else {
		BIO *m = BIO_new(BIO_s_mem());
		char *p = NULL;
		long n;

		assert_true(PEM_write_bio_X509_REQ(m, r));
		n = BIO_get_mem_data(m, &p);
		b.p = malloc((size_t)n + 1);
		memcpy(b.p, p, (size_t)n);
		b.p[n] = '\0';
		b.n = (size_t)n;
		BIO_free(m);
	}
	X509_REQ_free(r);
	return b;
}

/* Concatenates PEM blobs (each freed) into one (heap, NUL-terminated). */
static inline struct bfx_blob
bfx_cat(struct bfx_blob *v, size_t n)
{
	struct bfx_blob b = { NULL, 0 };
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		len += v[i].n;
	b.p = malloc(len + 1);
	assert_non_null(b.p);
	for (i = 0; i < n; i++) {
		memcpy(b.p + b.n, v[i].p, v[i].n);
		b.n += v[i].n;
		bfx_blob_free(&v[i]);
	}
	b.p[b.n] = '\0';
	return b;
}

#endif
