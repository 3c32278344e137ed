/*
 * batchfx.h: a real store holding finished batches, for the tests of the
 * export records (test_queue_export.c) and of export_run
 * (test_export_run.c). Test-only; header-only like pkitest.h.
 *
 * The fixture makes a software root, a devices CA and a people CA under
 * it (all three recorded in the store), an export certificate issued by
 * the people CA, an RSA recipient for SMPB, an operator and three
 * officers. bfx_batch then creates a batch, has two officers approve it,
 * and drives every line through queue_reserve / queue_issue the way the
 * signer does, with certificates signed in software and, for lines
 * without a request, generated keys stored as PKCS#8 encrypted with the
 * batch's data key under signer_key_aad.
 */
#ifndef AIRLOCK_TESTS_BATCHFX_H
#define AIRLOCK_TESTS_BATCHFX_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "pki/certinfo.h"
#include "pki/pkiutil.h"
#include "pki/vault.h"
#include "pkitest.h"
#include "queue/queue.h"
#include "signer/signer.h"
#include "store/store.h"
#include "testutil.h"
#include "util/secret.h"

#define BFX_OP "00000000000000000000000000000000" \
	"00000000000000000000000000000001"
#define BFX_O1 "00000000000000000000000000000000" \
	"00000000000000000000000000000002"
#define BFX_O2 "00000000000000000000000000000000" \
	"00000000000000000000000000000003"
#define BFX_O3 "00000000000000000000000000000000" \
	"00000000000000000000000000000004"
/* A second certificate of officer 1 (a renewal): the same person. */
#define BFX_O1B "00000000000000000000000000000000" \
	"00000000000000000000000000000005"

static const unsigned char bfx_dummy_der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const unsigned char bfx_wrapped[] = { 0x01, 0x02, 0x03, 0x04 };

struct bfx {
	char dir[PATH_MAX / 4];
	char path[PATH_MAX / 4 + 32];
	struct store *s;
	EVP_PKEY *root_key, *ca_key, *people_key, *exp_key, *rcp_key;
	X509 *root, *ca, *people, *exp_cert, *rcp;
	secret_t *data_key;
	int64_t root_id, ca_id, people_id, op_id, o1_id, o2_id, o3_id;
	unsigned bundles;
};

/* One batch to make. */
struct bfx_spec {
	const char *name;
	const char *mode;		/* mac-range or csr */
	const char *format;		/* smpb, pkcs12, pem-zip, ... */
	const char *chain;
	const char *log;
	int64_t lines;
	int64_t fail_line;		/* this line fails (0: none) */
	const char *fail_msg;
	int64_t note_line;		/* this line gets a note (0: none) */
	const char *note;
	int no_finish;			/* leave the batch issuing */
	const char *profile;		/* NULL: docsis-3.1-cm */
	/* The requester, when not the fixture's operator: person id and
	 * certificate SHA-256. */
	int64_t requester;
	const char *requester_sha256;
};

static inline X509 *
bfx_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int isca, unsigned ku, unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, T2040, isca, isca ? (issuer == NULL ? 1 :
	    0) : -1);
	if (ku != 0)
		s.ext.key_usage = ku;
	x = pkitest_issue(&s, key, issuer, ikey, tag);
	certspec_free(&s);
	return x;
}

static inline int64_t
bfx_add_ca(struct bfx *f, const char *name, const char *purpose, X509 *x,
    int64_t parent)
{
	struct store_ca ca = { 0 };
	unsigned char *der = NULL;
	char subject[512], ski[128], sha[65];
	int64_t nb, na, id = 0;
	int len;
	err_t e;

	len = i2d_X509(x, &der);
	assert_true(len > 0);
	assert_int_equal(certinfo_subject_text(x, subject, sizeof(subject)),
	    0);
	if (certinfo_ski_hex(x, ski, sizeof(ski)) != 0)
		snprintf(ski, sizeof(ski), "0a");
	assert_int_equal(pki_cert_sha256_hex(x, sha), 0);
	assert_int_equal(certinfo_validity(x, &nb, &na), 0);
	ca.name = name;
	ca.parent_id = parent;
	ca.key_uri = "pkcs11:object=test";
	ca.cert_der = der;
	ca.cert_der_len = (size_t)len;
	ca.subject = subject;
	ca.ski = ski;
	ca.sha256 = sha;
	ca.not_before = nb;
	ca.not_after = na;
	ca.is_root = strcmp(purpose, "root") == 0;
	ca.purpose = purpose;
	ca.created = 1000;
	if (store_ca_add(f->s, &ca, &id, &e) != 0)
		fail_msg("store_ca_add: %s", e.msg);
	OPENSSL_free(der);
	return id;
}

static inline int64_t
bfx_person(struct bfx *f, const char *name, const char *role,
    const char *sha)
{
	struct store_person p = {
		.name = name, .role = role, .ca_id = f->people_id,
		.cert_der = bfx_dummy_der, .cert_der_len = sizeof(bfx_dummy_der),
		.sha256 = sha, .serial = sha + 60, .subject = name,
		.not_before = 1000, .not_after = 2000000000, .created = 1000,
	};
	int64_t id = 0;
	err_t e;

	if (store_person_add(f->s, &p, &id, &e) != 0)
		fail_msg("store_person_add: %s", e.msg);
	return id;
}

/* Writes x (or k) as PEM to DIR/name. */
static inline void
bfx_save_pem(const struct bfx *f, const char *name, X509 *x, EVP_PKEY *k)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_non_null(fp = fopen(path, "w"));
	if (x != NULL)
		assert_int_equal(PEM_write_X509(fp, x), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	fclose(fp);
}

static inline struct bfx *
bfx_new(const char *tag)
{
	struct bfx *f = calloc(1, sizeof(*f));
	unsigned char dk[VAULT_KEY_LEN];
	err_t e;

	assert_non_null(f);
	assert_int_equal(testutil_tmpdir(f->dir, sizeof(f->dir), tag), 0);
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	if (store_open(f->path, 1, &f->s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	f->root_key = pkitest_ec("P-256");
	f->ca_key = pkitest_ec("P-256");
	f->people_key = pkitest_ec("P-256");
	f->exp_key = pkitest_ec("P-256");
	f->rcp_key = pkitest_rsa();
	f->root = bfx_cert("Test Root", f->root_key, NULL, f->root_key, 1, 0,
	    1);
	f->ca = bfx_cert("Test Devices CA", f->ca_key, f->root, f->root_key,
	    1, 0, 2);
	f->people = bfx_cert("Test People CA", f->people_key, f->root,
	    f->root_key, 1, 0, 3);
	f->exp_cert = bfx_cert("Appliance export", f->exp_key, f->people,
	    f->people_key, 0, 0, 4);
	f->rcp = bfx_cert("Factory recipient", f->rcp_key, f->root,
	    f->root_key, 0, CERTSPEC_KU_KEY_ENCIPHERMENT, 5);
	assert_non_null(f->root);
	assert_non_null(f->ca);
	assert_non_null(f->people);
	assert_non_null(f->exp_cert);
	assert_non_null(f->rcp);
	f->root_id = bfx_add_ca(f, "root", "root", f->root, 0);
	f->ca_id = bfx_add_ca(f, "devices", "devices", f->ca, f->root_id);
	f->people_id = bfx_add_ca(f, "people", "people", f->people,
	    f->root_id);
	f->op_id = bfx_person(f, "Oscar Operator", "operator", BFX_OP);
	f->o1_id = bfx_person(f, "Olga Officer", "officer", BFX_O1);
	f->o2_id = bfx_person(f, "Otto Officer", "officer", BFX_O2);
	f->o3_id = bfx_person(f, "Ora Officer", "officer", BFX_O3);
	assert_int_equal(RAND_bytes(dk, sizeof(dk)), 1);
	assert_int_equal(secret_new(&f->data_key), 0);
	assert_int_equal(secret_set(f->data_key, dk, sizeof(dk)), 0);
	OPENSSL_cleanse(dk, sizeof(dk));
	return f;
}

static inline int
bfx_free(struct bfx *f)
{
	int r;

	store_close(f->s);
	X509_free(f->root);
	X509_free(f->ca);
	X509_free(f->people);
	X509_free(f->exp_cert);
	X509_free(f->rcp);
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->people_key);
	EVP_PKEY_free(f->exp_key);
	EVP_PKEY_free(f->rcp_key);
	secret_free(f->data_key);
	r = testutil_rmtree(f->dir);
	free(f);
	return r;
}

/* An approval (or rejection) of kind/object; want is the expected result. */
static inline void
bfx_vote(struct bfx *f, const char *kind, int64_t object, const char *officer,
    int64_t person, const char *digest, const char *decision,
    const char *reason)
{
	static const unsigned char stmt[] = "statement", sig[] = "sig";
	struct queue_approval a = {
		.kind = kind, .object = object, .officer_sha256 = officer,
		.person_id = person, .decision = decision, .reason = reason,
		.digest = digest, .statement = stmt,
		.statement_len = sizeof(stmt), .signature = sig,
		.signature_len = sizeof(sig), .at = 2000,
	};
	err_t e;

	if (queue_approval_add(f->s, &a, NULL, &e) != 0)
		fail_msg("queue_approval_add: %s", e.msg);
}

/* Line names: a MAC as the profile formats it, or a common name. */
struct bfx_src {
	const struct bfx_spec *spec;
	char name[64], mac[13];
};

static inline void
bfx_line_name(const struct bfx_spec *sp, int64_t line, char *out,
    size_t outsz)
{
	if (strcmp(sp->mode, "mac-range") == 0)
		snprintf(out, outsz, "00:11:22:33:44:%02llx",
		    (unsigned long long)line);
	else
		snprintf(out, outsz, "device-%lld.example", (long long)line);
}

static inline int
bfx_src_line(void *ctx, int64_t line, struct queue_line_new *out, err_t *err)
{
	struct bfx_src *s = ctx;

	(void)err;
	bfx_line_name(s->spec, line, s->name, sizeof(s->name));
	snprintf(s->mac, sizeof(s->mac), "0011223344%02llx",
	    (unsigned long long)line);
	out->name = s->name;
	if (strcmp(s->spec->mode, "csr") == 0) {
		out->request_der = bfx_dummy_der;
		out->request_der_len = sizeof(bfx_dummy_der);
	} else
		out->mac = s->mac;
	return 0;
}

/* Reserves and issues one line as the signer would. */
static inline void
bfx_issue_line(struct bfx *f, int64_t batch, const struct bfx_spec *sp,
    int64_t line)
{
	struct certspec cs;
	struct queue_reservation rv;
	struct queue_issued iv;
	unsigned char rnd[CERTBUILD_SERIAL_LEN], sn[CERTBUILD_SERIAL_LEN];
	unsigned char *der = NULL;
	char name[64], serial[48];
	EVP_PKEY *key = pkitest_ec("P-256");
	buf_t tbs, enc;
	size_t snlen;
	X509 *x = NULL;
	int len;
	err_t e;

	assert_non_null(key);
	bfx_line_name(sp, line, name, sizeof(name));
	pkitest_spec(&cs, name, T2026, T2030, 0, -1);
	assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
	assert_int_equal(certbuild_serial(rnd, sizeof(rnd), sn, &snlen), 0);
	if (certbuild_new(&cs, key, f->ca, sn, snlen, &x, &e) != 0)
		fail_msg("certbuild_new: %s", e.msg);
	certspec_free(&cs);
	assert_true(X509_sign(x, f->ca_key, EVP_sha256()) > 0);
	assert_int_equal(certinfo_serial_hex(x, serial, sizeof(serial)), 0);
	buf_init(&tbs, 64 * 1024);
	assert_int_equal(pkisign_cert_tbs(x, &tbs, &e), 0);
	buf_init(&enc, 64 * 1024);
	memset(&rv, 0, sizeof(rv));
	rv.line = line;
	rv.serial = serial;
	rv.tbs = tbs.data;
	rv.tbs_len = tbs.len;
	rv.note = line == sp->note_line ? sp->note : NULL;
	if (strcmp(sp->mode, "csr") != 0) {
		unsigned char *p8der = NULL;
		PKCS8_PRIV_KEY_INFO *p8;
		char aad[64];
		size_t aadlen;
		int p8len;

		assert_non_null(p8 = EVP_PKEY2PKCS8(key));
		assert_true((p8len = i2d_PKCS8_PRIV_KEY_INFO(p8, &p8der)) > 0);
		PKCS8_PRIV_KEY_INFO_free(p8);
		aadlen = signer_key_aad(batch, line, aad, sizeof(aad));
		assert_true(aadlen > 0);
		assert_int_equal(vault_encrypt(f->data_key, aad, aadlen, p8der,
		    (size_t)p8len, &enc, &e), 0);
		OPENSSL_clear_free(p8der, (size_t)p8len);
		rv.key_enc = enc.data;
		rv.key_enc_len = enc.len;
	}
	if (queue_reserve(f->s, batch, &rv, 1, &e) != 0)
		fail_msg("queue_reserve: %s", e.msg);
	assert_true((len = i2d_X509(x, &der)) > 0);
	iv.line = line;
	iv.cert_der = der;
	iv.cert_der_len = (size_t)len;
	if (queue_issue(f->s, batch, &iv, 1, &e) != 0)
		fail_msg("queue_issue: %s", e.msg);
	OPENSSL_free(der);
	buf_free(&tbs);
	buf_free(&enc);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* Creates, approves, issues and finishes a batch as sp says. */
static inline int64_t
bfx_batch(struct bfx *f, const struct bfx_spec *sp)
{
	struct queue_bundle b = { 0 };
	struct queue_batch_new nb;
	struct bfx_src src = { .spec = sp };
	unsigned char *rcp_der = NULL;
	char sha[65], uuid[37];
	int64_t bundle = 0, id = 0, line;
	err_t e;

	snprintf(sha, sizeof(sha), "%064x", 0xb0000 + ++f->bundles);
	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012x",
	    f->bundles);
	b.uuid = uuid;
	b.sha256 = sha;
	b.file_name = "bundle.p7m";
	b.signer_sha256 = sp->requester ? sp->requester_sha256 : BFX_OP;
	b.person_id = sp->requester ? sp->requester : f->op_id;
	b.received_at = 1000;
	b.status = QUEUE_BUNDLE_ACCEPTED;
	if (queue_bundle_add(f->s, &b, &bundle, &e) != 0)
		fail_msg("queue_bundle_add: %s", e.msg);
	memset(&nb, 0, sizeof(nb));
	nb.bundle_id = bundle;
	nb.name = sp->name;
	nb.description = "";
	nb.profile = sp->profile != NULL ? sp->profile : "docsis-3.1-cm";
	nb.ca_id = f->ca_id;
	nb.mode = sp->mode;
	nb.line_count = sp->lines;
	nb.output_format = sp->format;
	nb.chain = sp->chain != NULL ? sp->chain : "separate";
	nb.results_log = sp->log != NULL ? sp->log : "csv";
	nb.quorum = 2;
	nb.created = 1000;
	if (strcmp(sp->format, "smpb") == 0) {
		int rcp_len;

		assert_true((rcp_len = i2d_X509(f->rcp, &rcp_der)) > 0);
		nb.recipient_der = rcp_der;
		nb.recipient_der_len = (size_t)rcp_len;
	}
	if (strcmp(sp->format, "pkcs12") == 0) {
		nb.p12_encryption = "modern";
		nb.secret_wrapped = bfx_wrapped;
		nb.secret_wrapped_len = sizeof(bfx_wrapped);
	}
	if (strcmp(sp->mode, "csr") != 0) {
		nb.data_key_wrapped = bfx_wrapped;
		nb.data_key_wrapped_len = sizeof(bfx_wrapped);
	}
	if (queue_batch_create(f->s, &nb, bfx_src_line, &src, &id, &e) != 0)
		fail_msg("queue_batch_create: %s", e.msg);
	OPENSSL_free(rcp_der);
	bfx_vote(f, "batch", id, BFX_O1, f->o1_id, sha, "approve", NULL);
	bfx_vote(f, "batch", id, BFX_O2, f->o2_id, sha, "approve", NULL);
	if (queue_batch_transition(f->s, id, QUEUE_PENDING_APPROVAL,
	    QUEUE_APPROVED, NULL, &e) != 0 ||
	    queue_batch_transition(f->s, id, QUEUE_APPROVED, QUEUE_ISSUING,
	    NULL, &e) != 0)
		fail_msg("transition: %s", e.msg);
	for (line = 1; line <= sp->lines; line++) {
		if (line == sp->fail_line) {
			if (queue_fail(f->s, id, line, sp->fail_msg, &e) != 0)
				fail_msg("queue_fail: %s", e.msg);
			continue;
		}
		bfx_issue_line(f, id, sp, line);
	}
	if (!sp->no_finish && queue_batch_finish(f->s, id, NULL, &e) != 0)
		fail_msg("queue_batch_finish: %s", e.msg);
	return id;
}

static inline int64_t
bfx_sql_int(struct bfx *f, const char *sql)
{
	return testutil_sql_int(store_db(f->s), sql);
}

/* The state of export id, as its record says. */
static inline enum queue_export_state
bfx_export_state(struct bfx *f, int64_t id)
{
	struct queue_export x;
	enum queue_export_state s;
	err_t e;

	if (queue_export_get(f->s, id, &x, &e) != 0)
		fail_msg("queue_export_get: %s", e.msg);
	s = x.state;
	queue_export_free(&x);
	return s;
}

#endif
