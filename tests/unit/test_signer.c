/*
 * test_signer.c: issuing batches end to end against a fresh SoftHSM token
 * and a real store: CSR batches (P-256 and RSA-2048 requests) under an
 * RSA and an EC CA, a mac-range batch with generated keys, a line the
 * profile refuses, a CA that expires too soon, a stop between groups, a
 * resume of lines left reserved, and pkisign_assemble's contract.
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
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsm/hsm.h"
#include "pki/certbuild.h"
#include "pki/certinfo.h"
#include "pki/der.h"
#include "pki/extkey.h"
#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "pki/vault.h"
#include "policy/profile.h"
#include "queue/queue.h"
#include "signer/signer.h"
#include "store/store.h"
#include "hsmfx.h"
#include "testutil.h"

#define TOKEN "airlock-signer-test"
#define USER_PIN "87654321"

#define HASH_OP "00000000000000000000000000000000" \
	"00000000000000000000000000000001"
#define HASH_O1 "00000000000000000000000000000000" \
	"00000000000000000000000000000002"
#define HASH_O2 "00000000000000000000000000000000" \
	"00000000000000000000000000000003"

static const unsigned char dummy[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

struct fx {
	struct hsmfx hsm;
	char db[PATH_MAX + 16];
	secret_t *data_key;
	struct store *st;
	struct hsmfx_ca rsa, ec, short_ca;
	struct profile docsis, tls;
	int64_t op_id, o1_id, o2_id;
	unsigned bundles;
	time_t now;
	EVP_PKEY *p256[4], *rsa2048[2];
};

static struct fx F;

/* --- fixture ------------------------------------------------------------ */

/* One CA in the HSM, O=Example Devices Inc, CN=name, in the store. */
static int
make_ca(const char *label, const struct hsm_keyspec *spec, time_t nb,
    time_t na, const char *name, struct hsmfx_ca *out)
{
	out->spec = *spec;
	out->spec.label = label;
	out->org = "Example Devices Inc";
	out->cn = name;
	out->not_before = nb;
	out->not_after = na;
	out->key_usage = CERTSPEC_KU_KEY_CERT_SIGN | CERTSPEC_KU_CRL_SIGN |
	    CERTSPEC_KU_DIGITAL_SIGNATURE;
	return hsmfx_ca(&F.hsm, F.st, out);
}

static int64_t
add_person(const char *name, const char *role, const char *sha)
{
	struct store_person p = {
		.name = name, .role = role, .ca_id = F.rsa.id,
		.cert_der = dummy, .cert_der_len = sizeof(dummy),
		.sha256 = sha, .serial = sha + 60, .subject = name,
		.not_before = 1000, .not_after = 4000000000LL, .created = 1000,
	};
	int64_t id = 0;
	err_t e;

	if (store_person_add(F.st, &p, &id, &e) != 0)
		fprintf(stderr, "store_person_add: %s\n", e.msg);
	return id;
}

static int
load_profile(const char *name, struct profile *out)
{
	char src[PATH_MAX], path[PATH_MAX + 64];
	diag_t d;
	err_t e;
	int r;

	if (testutil_srcdir(src, sizeof(src)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/policies/%s.yaml", src, name);
	diag_init(&d);
	r = profile_load(path, out, &d, &e);
	if (r != 0)
		fprintf(stderr, "profile_load %s: %s\n", path, e.msg);
	diag_free(&d);
	return r;
}

static int
setup(void **state)
{
	struct hsm_keyspec rsa = { HSM_KEY_RSA, 2048, 0, NULL, 0 };
	struct hsm_keyspec ec = { HSM_KEY_EC, 0, NID_X9_62_prime256v1, NULL,
	    0 };
	unsigned char dk[VAULT_KEY_LEN];
	err_t e;
	int i;

	(void)state;
	memset(&F, 0, sizeof(F));
	F.now = time(NULL);
	if (!hsmfx_have("test_signer"))
		return 0;
	if (hsmfx_open(&F.hsm, "test_signer", TOKEN, "12345678", USER_PIN,
	    2) != 0 || secret_new(&F.data_key) != 0)
		return -1;
	RAND_bytes(dk, sizeof(dk));
	secret_set(F.data_key, dk, sizeof(dk));
	snprintf(F.db, sizeof(F.db), "%s/state.db", F.hsm.dir);
	if (store_open(F.db, 1, &F.st, &e) != 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return -1;
	}
	if (make_ca("ca-rsa", &rsa, F.now - 3600, F.now + 30L * 365 * 86400,
	    "Test Device CA RSA", &F.rsa) != 0 ||
	    make_ca("ca-ec", &ec, F.now - 3600, F.now + 30L * 365 * 86400,
	    "Test Device CA EC", &F.ec) != 0 ||
	    make_ca("ca-short", &ec, F.now - 3600, F.now + 100L * 86400,
	    "Test Device CA Short", &F.short_ca) != 0)
		return -1;
	F.op_id = add_person("Oscar Operator", "operator", HASH_OP);
	F.o1_id = add_person("Olga Officer", "officer", HASH_O1);
	F.o2_id = add_person("Otto Officer", "officer", HASH_O2);
	if (load_profile("docsis-3.1-cm", &F.docsis) != 0 ||
	    load_profile("tls-device", &F.tls) != 0)
		return -1;
	for (i = 0; i < 4; i++)
		F.p256[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	for (i = 0; i < 2; i++)
		F.rsa2048[i] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)2048);
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	hsmfx_ca_free(&F.rsa);
	hsmfx_ca_free(&F.ec);
	hsmfx_ca_free(&F.short_ca);
	store_close(F.st);
	profile_free(&F.docsis);
	profile_free(&F.tls);
	for (i = 0; i < 4; i++)
		EVP_PKEY_free(F.p256[i]);
	for (i = 0; i < 2; i++)
		EVP_PKEY_free(F.rsa2048[i]);
	secret_free(F.data_key);
	hsmfx_close(&F.hsm);
	return 0;
}

/* --- batches ------------------------------------------------------------ */

/* What a test's lines are made of. */
struct lines {
	size_t n;
	unsigned char *req[64];
	size_t req_len[64];
	char name[64][64];
	char mac[64][13];
	int with_mac;
};

static int
line_src(void *ctx, int64_t line, struct queue_line_new *out, err_t *err)
{
	struct lines *L = ctx;
	size_t i = (size_t)line - 1;

	(void)err;
	out->name = L->name[i];
	if (L->req[i] != NULL) {
		out->request_der = L->req[i];
		out->request_der_len = L->req_len[i];
	}
	if (L->with_mac)
		out->mac = L->mac[i];
	return 0;
}

static void
lines_free(struct lines *L)
{
	size_t i;

	for (i = 0; i < L->n; i++)
		OPENSSL_free(L->req[i]);
	memset(L, 0, sizeof(*L));
}

/* A signed CSR for key: CN=cn, OU=Lab, an O the profile overrides, SANs. */
static void
add_csr(struct lines *L, EVP_PKEY *key, const char *cn, const char *dns)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	size_t i = L->n++;
	int len;

	assert_non_null(r);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Requested Org", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
	    (const unsigned char *)"Lab", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, key);
	if (dns != NULL) {
		char v[300];
		X509_EXTENSION *x;

		snprintf(v, sizeof(v), "DNS:%s", dns);
		x = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, v);
		assert_non_null(x);
		sk_X509_EXTENSION_push(exts, x);
		X509_REQ_add_extensions(r, exts);
	}
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	len = i2d_X509_REQ(r, &L->req[i]);
	assert_true(len > 0);
	L->req_len[i] = (size_t)len;
	snprintf(L->name[i], sizeof(L->name[i]), "%s", cn);
	snprintf(L->mac[i], sizeof(L->mac[i]), "0011223344%02zx", i);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(r);
}

static void
add_mac(struct lines *L)
{
	size_t i = L->n++;

	snprintf(L->mac[i], sizeof(L->mac[i]), "00aabbcc00%02zx", i);
	snprintf(L->name[i], sizeof(L->name[i]), "00:AA:BB:CC:00:%02zX", i);
	L->with_mac = 1;
}

static void
vote(int64_t batch, const char *officer, int64_t person, const char *digest)
{
	static const unsigned char stmt[] = "statement", sig[] = "sig";
	struct queue_approval a = {
		.kind = "batch", .object = batch, .officer_sha256 = officer,
		.person_id = person, .decision = "approve",
		.digest = digest, .statement = stmt,
		.statement_len = sizeof(stmt), .signature = sig,
		.signature_len = sizeof(sig), .at = 2000,
	};
	err_t e;

	if (queue_approval_add(F.st, &a, NULL, &e) != 0)
		fail_msg("approval: %s", e.msg);
}

/* An approved batch of L's lines, in state issuing. */
static int64_t
issuing_batch(struct lines *L, const char *mode, const char *profile,
    int64_t ca_id)
{
	struct queue_bundle bu = { 0 };
	struct queue_batch_new b;
	char sha[65], uuid[37];
	unsigned n = ++F.bundles;
	int64_t id = 0;
	err_t e;

	snprintf(sha, sizeof(sha), "%064x", 0xb0000 + n);
	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012x", n);
	bu.uuid = uuid;
	bu.sha256 = sha;
	bu.file_name = "bundle.p7m";
	bu.signer_sha256 = HASH_OP;
	bu.person_id = F.op_id;
	bu.received_at = 1000;
	bu.status = QUEUE_BUNDLE_ACCEPTED;
	memset(&b, 0, sizeof(b));
	b.name = "Batch";
	b.description = "";
	b.profile = profile;
	b.ca_id = ca_id;
	b.mode = mode;
	b.line_count = (int64_t)L->n;
	b.output_format = "pem-zip";
	b.chain = "separate";
	b.results_log = "csv";
	if (strcmp(mode, "mac-range") == 0) {
		b.output_format = "smpb";
		b.recipient_der = dummy;
		b.recipient_der_len = sizeof(dummy);
		b.data_key_wrapped = dummy;
		b.data_key_wrapped_len = sizeof(dummy);
	}
	b.quorum = 2;
	b.created = 1000;
	if (queue_intake(F.st, &bu, &b, line_src, L, NULL, &id, &e) != 0)
		fail_msg("queue_intake: %s", e.msg);
	vote(id, HASH_O1, F.o1_id, sha);
	vote(id, HASH_O2, F.o2_id, sha);
	if (queue_batch_transition(F.st, id, QUEUE_PENDING_APPROVAL,
	    QUEUE_APPROVED, NULL, &e) != 0 ||
	    queue_batch_transition(F.st, id, QUEUE_APPROVED, QUEUE_ISSUING,
	    NULL, &e) != 0)
		fail_msg("transition: %s", e.msg);
	return id;
}

static void
opts_for(struct signer_opts *o, int64_t batch, const struct profile *p,
    struct hsmfx_ca *ca)
{
	memset(o, 0, sizeof(*o));
	o->st = F.st;
	o->batch_id = batch;
	o->profile = p;
	o->issuer = ca->cert;
	o->issuer_key = ca->key;
	o->pool = F.hsm.pool;
	o->now = F.now;
}

/* --- reading results ---------------------------------------------------- */

struct got {
	size_t n;
	int64_t line[64];
	enum queue_line_status status[64];
	char serial[64][48];
	char message[64][512];
	char note[64][512];
	unsigned char *cert[64];
	size_t cert_len[64];
	unsigned char *key_enc[64];
	size_t key_enc_len[64];
	unsigned char *tbs[64];
	size_t tbs_len[64];
};

static unsigned char *
memdup(const unsigned char *p, size_t n)
{
	unsigned char *q;

	if (p == NULL || n == 0)
		return NULL;
	q = malloc(n);
	assert_non_null(q);
	memcpy(q, p, n);
	return q;
}

static int
got_line(void *ctx, const struct queue_line *l)
{
	struct got *g = ctx;
	size_t i = g->n++;

	g->line[i] = l->line;
	g->status[i] = l->status;
	snprintf(g->serial[i], sizeof(g->serial[i]), "%s",
	    l->serial ? l->serial : "");
	snprintf(g->message[i], sizeof(g->message[i]), "%s",
	    l->message ? l->message : "");
	snprintf(g->note[i], sizeof(g->note[i]), "%s", l->note ? l->note : "");
	g->cert[i] = memdup(l->cert_der, l->cert_der_len);
	g->cert_len[i] = l->cert_der_len;
	g->key_enc[i] = memdup(l->key_enc, l->key_enc_len);
	g->key_enc_len[i] = l->key_enc_len;
	g->tbs[i] = memdup(l->tbs, l->tbs_len);
	g->tbs_len[i] = l->tbs_len;
	return 0;
}

static void
get_lines(int64_t batch, struct got *g)
{
	err_t e;

	memset(g, 0, sizeof(*g));
	if (queue_lines(F.st, batch, 1, 64, got_line, g, &e) != 0)
		fail_msg("queue_lines: %s", e.msg);
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free(g->cert[i]);
		free(g->key_enc[i]);
		free(g->tbs[i]);
	}
	memset(g, 0, sizeof(*g));
}

/* X509_verify under the CA and a chain check as `openssl verify` does. */
static X509 *
check_cert(const unsigned char *der, size_t len, struct hsmfx_ca *ca)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	const ASN1_INTEGER *sn;

	assert_non_null(x);
	assert_ptr_equal(p, der + len);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca->cert)), 1);
	assert_int_equal(X509_STORE_add_cert(store, ca->cert), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("verify: %s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	/* 16 octets, positive. */
	sn = X509_get0_serialNumber(x);
	assert_int_equal(ASN1_STRING_length(sn), 16);
	assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
	assert_true((ASN1_STRING_get0_data(sn)[0] & 0x80) == 0);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return x;
}

/* Checks every issued line of g and that serials differ. */
static void
check_issued(struct got *g, struct hsmfx_ca *ca, size_t want_issued)
{
	size_t i, j, issued = 0;

	for (i = 0; i < g->n; i++) {
		X509 *x;
		char hex[64];

		if (g->status[i] != QUEUE_LINE_ISSUED)
			continue;
		issued++;
		x = check_cert(g->cert[i], g->cert_len[i], ca);
		assert_int_equal(certinfo_serial_hex(x, hex, sizeof(hex)), 0);
		assert_string_equal(hex, g->serial[i]);
		assert_int_equal(strlen(hex), 32);
		for (j = 0; j < i; j++)
			assert_string_not_equal(g->serial[i], g->serial[j]);
		X509_free(x);
	}
	assert_int_equal(issued, want_issued);
}

/* --- tests -------------------------------------------------------------- */

static void
csr_batch(struct hsmfx_ca *ca, const char *sigalg)
{
	struct signer_opts o;
	struct signer_progress pr;
	struct lines L = { 0 };
	struct got g;
	char cn[64], dns[128], subj[512], wsubj[128];
	int64_t id;
	size_t i;
	err_t e;

	for (i = 0; i < 6; i++) {
		snprintf(cn, sizeof(cn), "dev%zu.devices.example.com", i);
		snprintf(dns, sizeof(dns), "dev%zu.devices.example.com", i);
		add_csr(&L, i < 4 ? F.p256[i] : F.rsa2048[i - 4], cn, dns);
	}
	id = issuing_batch(&L, "csr", "tls-device", ca->id);
	opts_for(&o, id, &F.tls, ca);
	o.group = 4;		/* two groups: the pipeline is exercised */
	err_clear(&e);
	if (signer_run(&o, &pr, &e) != 0)
		fail_msg("signer_run: %s", e.msg);
	assert_int_equal(pr.issued, 6);
	assert_int_equal(pr.failed, 0);
	assert_int_equal(pr.pending, 0);
	get_lines(id, &g);
	assert_int_equal(g.n, 6);
	check_issued(&g, ca, 6);
	for (i = 0; i < g.n; i++) {
		const unsigned char *p = g.cert[i];
		X509 *x = d2i_X509(NULL, &p, (long)g.cert_len[i]);
		GENERAL_NAMES *san;
		EVP_PKEY *want = i < 4 ? F.p256[i] : F.rsa2048[i - 4];
		char signame[64];

		assert_int_equal(certinfo_subject_text(x, subj, sizeof(subj)),
		    0);
		snprintf(wsubj, sizeof(wsubj), "CN=dev%zu.devices.example.com,"
		    "OU=Lab,O=Example Devices Inc,C=US", i);
		assert_string_equal(subj, wsubj);
		/* The requested O was replaced: the note says so. */
		assert_contains(g.note[i], "O");
		assert_contains(g.note[i], "Requested Org");
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), want), 1);
		san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		assert_non_null(san);
		assert_int_equal(sk_GENERAL_NAME_num(san), 1);
		GENERAL_NAMES_free(san);
		assert_non_null(X509_get0_subject_key_id(x));
		assert_non_null(X509_get0_authority_key_id(x));
		assert_int_equal(ASN1_OCTET_STRING_cmp(
		    X509_get0_authority_key_id(x),
		    X509_get0_subject_key_id(ca->cert)), 0);
		OBJ_obj2txt(signame, sizeof(signame), OBJ_nid2obj(
		    X509_get_signature_nid(x)), 0);
		assert_string_equal(signame, sigalg);
		assert_int_equal(X509_get_version(x), X509_VERSION_3);
		X509_free(x);
	}
	got_free(&g);
	lines_free(&L);
}

static void
test_csr_rsa_ca(void **state)
{
	(void)state;
	HSMFX_NEED(&F.hsm);
	csr_batch(&F.rsa, "sha256WithRSAEncryption");
}

static void
test_csr_ec_ca(void **state)
{
	(void)state;
	HSMFX_NEED(&F.hsm);
	csr_batch(&F.ec, "ecdsa-with-SHA256");
}

/* The SKI is SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 (1)). */
static void
test_ski_right(void **state)
{
	struct signer_opts o;
	struct lines L = { 0 };
	struct got g;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const ASN1_OCTET_STRING *ski;
	const unsigned char *p;
	X509 *x;
	int64_t id;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	add_csr(&L, F.p256[0], "ski.devices.example.com", NULL);
	id = issuing_batch(&L, "csr", "tls-device", F.rsa.id);
	opts_for(&o, id, &F.tls, &F.rsa);
	if (signer_run(&o, NULL, &e) != 0)
		fail_msg("signer_run: %s", e.msg);
	get_lines(id, &g);
	p = g.cert[0];
	x = d2i_X509(NULL, &p, (long)g.cert_len[0]);
	assert_non_null(x);
	assert_int_equal(X509_pubkey_digest(x, EVP_sha1(), md, &mdlen), 1);
	ski = X509_get0_subject_key_id(x);
	assert_non_null(ski);
	assert_int_equal(ASN1_STRING_length(ski), (int)mdlen);
	assert_memory_equal(ASN1_STRING_get0_data(ski), md, mdlen);
	/* And it is the SKI OpenSSL computes from the CSR's own key. */
	X509_free(x);
	got_free(&g);
	lines_free(&L);
}

static void
test_mac_range_generated(void **state)
{
	struct signer_opts o;
	struct signer_progress pr;
	struct lines L = { 0 };
	struct got g;
	char aad[64], subj[256], want[128];
	size_t i;
	int64_t id;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	for (i = 0; i < 8; i++)
		add_mac(&L);
	id = issuing_batch(&L, "mac-range", "docsis-3.1-cm", F.rsa.id);
	opts_for(&o, id, &F.docsis, &F.rsa);
	o.data_key = F.data_key;
	o.group = 3;
	if (signer_run(&o, &pr, &e) != 0)
		fail_msg("signer_run: %s", e.msg);
	assert_int_equal(pr.issued, 8);
	get_lines(id, &g);
	check_issued(&g, &F.rsa, 8);
	for (i = 0; i < g.n; i++) {
		const unsigned char *p = g.cert[i], *q;
		X509 *x = d2i_X509(NULL, &p, (long)g.cert_len[i]);
		PKCS8_PRIV_KEY_INFO *p8;
		EVP_PKEY *k;
		size_t aadlen;
		buf_t pk;

		assert_non_null(g.key_enc[i]);
		aadlen = signer_key_aad(id, g.line[i], aad, sizeof(aad));
		assert_true(aadlen > 0);
		buf_init(&pk, VAULT_DATA_MAX);
		if (vault_decrypt(F.data_key, aad, aadlen, g.key_enc[i],
		    g.key_enc_len[i], &pk, &e) != 0)
			fail_msg("vault_decrypt: %s", e.msg);
		q = pk.data;
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)pk.len);
		assert_non_null(p8);
		k = EVP_PKCS82PKEY(p8);
		assert_non_null(k);
		assert_int_equal(EVP_PKEY_get_bits(k), 2048);
		assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(x)), 1);
		assert_int_equal(X509_check_private_key(x, k), 1);
		/* Another line's AAD does not open it. */
		aadlen = signer_key_aad(id, g.line[i] + 100, aad, sizeof(aad));
		assert_int_equal(vault_decrypt(F.data_key, aad, aadlen,
		    g.key_enc[i], g.key_enc_len[i], &pk, &e), ERR_INVALID);
		certinfo_subject_text(x, subj, sizeof(subj));
		snprintf(want, sizeof(want), "CN=00:AA:BB:CC:00:%02zX,OU=DOCSIS,"
		    "O=Example Devices Inc,C=US", i);
		assert_string_equal(subj, want);
		assert_string_equal(g.note[i], "");
		EVP_PKEY_free(k);
		PKCS8_PRIV_KEY_INFO_free(p8);
		buf_free(&pk);
		X509_free(x);
	}
	got_free(&g);
	lines_free(&L);
}

/* A SAN outside the profile's suffixes fails that line alone. */
static void
test_line_refused(void **state)
{
	struct signer_opts o;
	struct signer_progress pr;
	struct lines L = { 0 };
	struct got g;
	int64_t id;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	add_csr(&L, F.p256[0], "a.devices.example.com",
	    "a.devices.example.com");
	add_csr(&L, F.p256[1], "b.devices.example.com", "b.elsewhere.test");
	add_csr(&L, F.p256[2], "c.devices.example.com",
	    "c.devices.example.com");
	id = issuing_batch(&L, "csr", "tls-device", F.ec.id);
	opts_for(&o, id, &F.tls, &F.ec);
	if (signer_run(&o, &pr, &e) != 0)
		fail_msg("signer_run: %s", e.msg);
	assert_int_equal(pr.issued, 2);
	assert_int_equal(pr.failed, 1);
	get_lines(id, &g);
	check_issued(&g, &F.ec, 2);
	assert_int_equal(g.status[1], QUEUE_LINE_FAILED);
	assert_contains(g.message[1], "b.elsewhere.test");
	got_free(&g);
	lines_free(&L);
}

/* A CA that expires before the profile's term: each line fails, saying so. */
static void
test_issuer_expires(void **state)
{
	struct signer_opts o;
	struct signer_progress pr;
	struct lines L = { 0 };
	struct got g;
	enum queue_batch_state fin;
	int64_t id;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	add_csr(&L, F.p256[0], "x.devices.example.com", NULL);
	add_csr(&L, F.p256[1], "y.devices.example.com", NULL);
	id = issuing_batch(&L, "csr", "tls-device", F.short_ca.id);
	opts_for(&o, id, &F.tls, &F.short_ca);
	if (signer_run(&o, &pr, &e) != 0)
		fail_msg("signer_run: %s", e.msg);
	assert_int_equal(pr.failed, 2);
	assert_int_equal(pr.issued, 0);
	get_lines(id, &g);
	assert_int_equal(g.status[0], QUEUE_LINE_FAILED);
	assert_contains(g.message[0], "after its issuer");
	assert_int_equal(queue_batch_finish(F.st, id, &fin, &e), 0);
	assert_int_equal(fin, QUEUE_FAILED);
	got_free(&g);
	lines_free(&L);
}

static void
stop_after_first(void *ctx, const struct signer_progress *p)
{
	volatile int *stop = ctx;

	(void)p;
	*stop = 1;
}

/* A stop between groups leaves lines pending; the next run finishes. */
static void
test_stop_and_continue(void **state)
{
	struct signer_opts o;
	struct signer_progress pr;
	struct lines L = { 0 };
	struct got g;
	volatile int stop = 0;
	int64_t id, left = 0;
	size_t i;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	for (i = 0; i < 10; i++) {
		char cn[64];

		snprintf(cn, sizeof(cn), "s%zu.devices.example.com", i);
		add_csr(&L, F.p256[i % 4], cn, NULL);
	}
	id = issuing_batch(&L, "csr", "tls-device", F.rsa.id);
	opts_for(&o, id, &F.tls, &F.rsa);
	o.group = 2;
	o.stop = &stop;
	o.progress = stop_after_first;
	o.progress_ctx = (void *)&stop;
	assert_int_equal(signer_run(&o, &pr, &e), ERR_AGAIN);
	assert_true(pr.issued >= 2 && pr.issued < 10);
	assert_int_equal(queue_pending_count(F.st, id, &left, &e), 0);
	assert_int_equal(left, 10 - pr.issued);
	/* Nothing is left reserved by a stop. */
	get_lines(id, &g);
	for (i = 0; i < g.n; i++)
		assert_true(g.status[i] != QUEUE_LINE_RESERVED);
	got_free(&g);
	stop = 0;
	o.progress = NULL;
	if (signer_run(&o, &pr, &e) != 0)
		fail_msg("signer_run: %s", e.msg);
	assert_int_equal(pr.issued, 10);
	assert_int_equal(pr.pending, 0);
	get_lines(id, &g);
	check_issued(&g, &F.rsa, 10);
	got_free(&g);
	lines_free(&L);
}

/*
 * What a crash between reserve and issue leaves: lines reserved with
 * their TBS. The next run signs exactly those bytes (same serial, same
 * TBS) and builds nothing for them.
 */
static void
test_resume_reserved(void **state)
{
	struct signer_opts o;
	struct signer_progress pr;
	struct lines L = { 0 };
	struct queue_reservation rv[2];
	struct got g;
	buf_t tbs[2], cut;
	char serial[2][48];
	EVP_PKEY *nulls;
	size_t i;
	int64_t id;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	for (i = 0; i < 4; i++) {
		char cn[64];

		snprintf(cn, sizeof(cn), "r%zu.devices.example.com", i);
		add_csr(&L, F.p256[i], cn, NULL);
	}
	id = issuing_batch(&L, "csr", "tls-device", F.ec.id);
	nulls = extkey_null_signer(hsm_key_public(F.ec.key));
	assert_non_null(nulls);
	/* Lines 2 and 3 reserved by "the previous run", with its TBS. */
	for (i = 0; i < 2; i++) {
		struct profile_request req = { 0 };
		struct certspec spec;
		const unsigned char *p = L.req[i + 1];
		X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)L.req_len[i + 1]);
		unsigned char rnd[16], sn[16];
		size_t snlen;
		X509 *x = NULL;

		req.subject = X509_REQ_get_subject_name(r);
		assert_int_equal(profile_certspec(&F.tls, &req, F.now - 60,
		    F.now + 3650L * 86400, &spec, NULL, &e), 0);
		RAND_bytes(rnd, sizeof(rnd));
		certbuild_serial(rnd, sizeof(rnd), sn, &snlen);
		assert_int_equal(certbuild_new(&spec, X509_REQ_get0_pubkey(r),
		    F.ec.cert, sn, snlen, &x, &e), 0);
		assert_true(X509_sign(x, nulls, EVP_sha256()) > 0);
		buf_init(&tbs[i], 1 << 20);
		assert_int_equal(pkisign_cert_tbs(x, &tbs[i], &e), 0);
		assert_int_equal(certinfo_serial_hex(x, serial[i], 48), 0);
		rv[i].line = (int64_t)i + 2;
		rv[i].serial = serial[i];
		rv[i].tbs = tbs[i].data;
		rv[i].tbs_len = tbs[i].len;
		rv[i].key_enc = NULL;
		rv[i].key_enc_len = 0;
		rv[i].note = NULL;
		certspec_free(&spec);
		X509_free(x);
		X509_REQ_free(r);
	}
	if (queue_reserve(F.st, id, rv, 2, &e) != 0)
		fail_msg("queue_reserve: %s", e.msg);
	opts_for(&o, id, &F.tls, &F.ec);
	if (signer_run(&o, &pr, &e) != 0)
		fail_msg("signer_run: %s", e.msg);
	assert_int_equal(pr.issued, 4);
	get_lines(id, &g);
	check_issued(&g, &F.ec, 4);
	for (i = 0; i < 2; i++) {
		buf_init(&cut, 1 << 20);
		assert_int_equal(der_first_in_seq(g.cert[i + 1],
		    g.cert_len[i + 1], &cut, &e), 0);
		assert_int_equal(cut.len, tbs[i].len);
		assert_memory_equal(cut.data, tbs[i].data, cut.len);
		assert_string_equal(g.serial[i + 1], serial[i]);
		buf_free(&cut);
		buf_free(&tbs[i]);
	}
	EVP_PKEY_free(nulls);
	got_free(&g);
	lines_free(&L);
}

/* A batch not issuing is refused before anything is signed. */
static void
test_not_issuing(void **state)
{
	struct signer_opts o;
	struct lines L = { 0 };
	int64_t id;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	add_csr(&L, F.p256[0], "n.devices.example.com", NULL);
	id = issuing_batch(&L, "csr", "tls-device", F.rsa.id);
	opts_for(&o, id, &F.tls, &F.rsa);
	assert_int_equal(signer_run(&o, NULL, &e), 0);
	assert_int_equal(queue_batch_finish(F.st, id, NULL, &e), 0);
	assert_int_equal(signer_run(&o, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "not issuing");
	/* The wrong key for the issuer. */
	o.issuer_key = F.ec.key;
	assert_int_equal(signer_run(&o, NULL, &e), ERR_INVALID);
	lines_free(&L);
}

static void
test_key_aad(void **state)
{
	char out[64], tiny[8];

	(void)state;
	assert_int_equal(signer_key_aad(12, 345, out, sizeof(out)),
	    strlen("airlock-key\nbatch: 12\nline: 345\n"));
	assert_string_equal(out, "airlock-key\nbatch: 12\nline: 345\n");
	assert_int_equal(signer_key_aad(12, 345, tiny, sizeof(tiny)), 0);
	/* The largest batch id with the last line a batch may have. */
	assert_true(signer_key_aad(INT64_MAX, QUEUE_MAX_LINES, out,
	    sizeof(out)) > 0);
}

static void
test_assemble(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	const ASN1_BIT_STRING *sig;
	unsigned char *der = NULL;
	X509_NAME *n = X509_NAME_new();
	X509 *x = X509_new();
	buf_t tbs, out;
	err_t e;
	int len;
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const unsigned char s1[] = { 1, 2, 3 };

	(void)state;
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"t", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	len = i2d_X509(x, &der);
	buf_init(&tbs, 1 << 20);
	buf_init(&out, 1 << 20);
	assert_int_equal(pkisign_cert_tbs(x, &tbs, &e), 0);
	X509_get0_signature(&sig, NULL, x);
	/* Reassembled from its parts, a certificate is itself again. */
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len,
	    ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), &out,
	    &e), 0);
	assert_int_equal(out.len, (size_t)len);
	assert_memory_equal(out.data, der, out.len);
	buf_reset(&out);
	/* Not a TBSCertificate. */
	assert_int_equal(pkisign_assemble(junk, sizeof(junk), s1, sizeof(s1),
	    &out, &e), ERR_INVALID);
	assert_int_equal(pkisign_assemble(der, (size_t)len, s1, sizeof(s1),
	    &out, &e), ERR_INVALID);
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len - 1, s1,
	    sizeof(s1), &out, &e), ERR_INVALID);
	assert_int_equal(pkisign_assemble(NULL, 0, s1, sizeof(s1), &out, &e),
	    ERR_INVALID);
	/* No signature. */
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len, NULL, 0, &out,
	    &e), ERR_INVALID);
	/* Too small an output. */
	buf_free(&out);
	buf_init(&out, 16);
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len, s1, sizeof(s1),
	    &out, &e), ERR_LIMIT);
	buf_free(&out);
	buf_free(&tbs);
	OPENSSL_free(der);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_aad),
		cmocka_unit_test(test_assemble),
		cmocka_unit_test(test_csr_rsa_ca),
		cmocka_unit_test(test_csr_ec_ca),
		cmocka_unit_test(test_ski_right),
		cmocka_unit_test(test_mac_range_generated),
		cmocka_unit_test(test_line_refused),
		cmocka_unit_test(test_issuer_expires),
		cmocka_unit_test(test_stop_and_continue),
		cmocka_unit_test(test_resume_reserved),
		cmocka_unit_test(test_not_issuing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
