/*
 * test_queue.c: the batch queue: bundles and replays, batch creation,
 * the state table, approvals, the reserve / sign / issue protocol with
 * real certificates, kill -9 at random moments, a full disk, and memory
 * that stays flat for a large batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/rand.h>

#include "pki/certinfo.h"
#include "pki/der.h"
#include "pki/pkiutil.h"
#include "pkitest.h"
#include "queue/queue.h"
#include "store/store.h"
#include "testutil.h"

#define HASH_OP "00000000000000000000000000000000" \
	"00000000000000000000000000000001"
#define HASH_O1 "00000000000000000000000000000000" \
	"00000000000000000000000000000002"
#define HASH_O2 "00000000000000000000000000000000" \
	"00000000000000000000000000000003"
#define HASH_O3 "00000000000000000000000000000000" \
	"00000000000000000000000000000004"
#define HASH_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" \
	"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define HASH_AB "abababababababababababababababab" \
	"abababababababababababababababab"
#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C "cccccccccccccccccccccccccccccccc" \
	"cccccccccccccccccccccccccccccccc"
#define HASH_D "dddddddddddddddddddddddddddddddd" \
	"dddddddddddddddddddddddddddddddd"
#define HASH_CC_UPPER "CCcccccccccccccccccccccccccccccc" \
	"cccccccccccccccccccccccccccccccc"

/* ASan makes everything several times slower: scale the big cases down. */
#if defined(__SANITIZE_ADDRESS__)
#define SCALE_DIV 5
#else
#define SCALE_DIV 1
#endif

static const unsigned char dummy_der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const unsigned char key_blob[] = { 0xde, 0xad, 0xbe, 0xef };
static const unsigned char data_key[] = { 0x01, 0x02, 0x03, 0x04 };

struct fx {
	char dir[96];
	char path[128];
	struct store *s;
	EVP_PKEY *ca_key, *dev_key, *rogue_key;
	X509 *ca;
	struct certspec spec;
	int64_t ca_id, op_id, o1_id, o2_id, o3_id;
	unsigned bundles;	/* bundles made so far, for unique digests */
};

static size_t
env_size(const char *name, size_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (v == NULL || *v == '\0')
		return dflt;
	n = strtoul(v, &end, 10);
	return *end == '\0' && n > 0 ? (size_t)n : dflt;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Resident set now, from /proc (peak RSS alone hides a flat profile). */
static long
rss_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (fp == NULL)
		return -1;
	if (fscanf(fp, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(fp);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static struct store *
open_ok(const char *path)
{
	struct store *s = NULL;
	err_t e;

	err_clear(&e);
	if (store_open(path, 1, &s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	return s;
}

static int64_t
add_person(struct fx *f, const char *name, const char *role,
    const char *sha)
{
	struct store_person p = {
		.name = name, .role = role, .ca_id = f->ca_id,
		.cert_der = dummy_der, .cert_der_len = sizeof(dummy_der),
		.sha256 = sha, .serial = sha + 60, .subject = name,
		.not_before = 1000, .not_after = 2000000000, .created = 1000,
	};
	int64_t id = 0;
	err_t e;

	if (store_person_add(f->s, &p, &id, &e) != 0)
		fail_msg("store_person_add: %s", e.msg);
	return id;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct certspec cs;
	struct store_ca ca = { 0 };
	unsigned char *der = NULL;
	char subject[512], ski[128], sha[65];
	int64_t nb, na;
	int len;
	err_t e;

	if (f == NULL)
		return -1;
	if (testutil_tmpdir(f->dir, sizeof(f->dir), "queue") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	f->s = open_ok(f->path);
	f->ca_key = pkitest_ec("P-256");
	f->dev_key = pkitest_ec("P-256");
	f->rogue_key = pkitest_ec("P-256");
	assert_non_null(f->ca_key);
	pkitest_spec(&cs, "Airlock Test Devices CA", T2026, T2060, 1, 0);
	f->ca = pkitest_issue(&cs, f->ca_key, NULL, f->ca_key, 1);
	certspec_free(&cs);
	assert_non_null(f->ca);
	pkitest_spec(&f->spec, "device", T2026, T2030, 0, -1);

	len = i2d_X509(f->ca, &der);
	assert_true(len > 0);
	assert_int_equal(certinfo_subject_text(f->ca, subject,
	    sizeof(subject)), 0);
	if (certinfo_ski_hex(f->ca, ski, sizeof(ski)) != 0)
		snprintf(ski, sizeof(ski), "0a");
	assert_int_equal(pki_cert_sha256_hex(f->ca, sha), 0);
	assert_int_equal(certinfo_validity(f->ca, &nb, &na), 0);
	ca.name = "devices";
	ca.key_uri = "pkcs11:object=devices";
	ca.cert_der = der;
	ca.cert_der_len = (size_t)len;
	ca.subject = subject;
	ca.ski = ski;
	ca.sha256 = sha;
	ca.not_before = nb;
	ca.not_after = na;
	ca.purpose = "devices";
	ca.created = 1000;
	if (store_ca_add(f->s, &ca, &f->ca_id, &e) != 0)
		fail_msg("store_ca_add: %s", e.msg);
	OPENSSL_free(der);
	f->op_id = add_person(f, "Oscar Operator", "operator", HASH_OP);
	f->o1_id = add_person(f, "Olga Officer", "officer", HASH_O1);
	f->o2_id = add_person(f, "Otto Officer", "officer", HASH_O2);
	f->o3_id = add_person(f, "Ora Officer", "officer", HASH_O3);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	X509_free(f->ca);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->dev_key);
	EVP_PKEY_free(f->rogue_key);
	certspec_free(&f->spec);
	if (testutil_rmtree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* --- builders ------------------------------------------------------------ */

/* A fresh accepted bundle by the operator; its digest goes to sha. */
static int64_t
add_bundle(struct fx *f, char sha[65])
{
	struct queue_bundle b = { 0 };
	char uuid[37];
	unsigned n = ++f->bundles;
	int64_t id = 0;
	err_t e;

	snprintf(sha, 65, "%064x", 0xb0000 + n);
	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012x", n);
	b.uuid = uuid;
	b.sha256 = sha;
	b.file_name = "bundle.p7m";
	b.signer_sha256 = HASH_OP;
	b.person_id = f->op_id;
	b.received_at = 1000;
	b.status = QUEUE_BUNDLE_ACCEPTED;
	if (queue_bundle_add(f->s, &b, &id, &e) != 0)
		fail_msg("queue_bundle_add: %s", e.msg);
	return id;
}

/* Lines "dev-N" with MAC 0000000000NN (mac-range) or a fake CSR. */
struct src {
	int csr;		/* give requests instead of MACs */
	int64_t fail_at;	/* give an error at this line (0: never) */
	int64_t dup_at;		/* repeat line 1's name here (0: never) */
	char name[32], mac[13];
};

static int
line_src(void *ctx, int64_t line, struct queue_line_new *out, err_t *err)
{
	struct src *s = ctx;

	if (line == s->fail_at)
		return err_set(err, ERR_IO, "source broke at line %lld",
		    (long long)line);
	snprintf(s->name, sizeof(s->name), "dev-%lld",
	    (long long)(line == s->dup_at ? 1 : line));
	snprintf(s->mac, sizeof(s->mac), "%012llx", (unsigned long long)line);
	out->name = s->name;
	if (s->csr) {
		out->request_der = dummy_der;
		out->request_der_len = sizeof(dummy_der);
	} else {
		out->mac = s->mac;
	}
	return 0;
}

static void
batch_new(struct fx *f, struct queue_batch_new *b, int64_t bundle,
    int64_t lines)
{
	memset(b, 0, sizeof(*b));
	b->bundle_id = bundle;
	b->name = "Batch";
	b->description = "";
	b->profile = "docsis-3.1-cm";
	b->ca_id = f->ca_id;
	b->mode = "mac-range";
	b->line_count = lines;
	b->output_format = "smpb";
	b->chain = "separate";
	b->results_log = "csv";
	b->recipient_der = dummy_der;
	b->recipient_der_len = sizeof(dummy_der);
	b->data_key_wrapped = data_key;
	b->data_key_wrapped_len = sizeof(data_key);
	b->quorum = 2;
	b->created = 1000;
}

static int64_t
make_batch(struct fx *f, int64_t lines, char sha[65])
{
	struct queue_batch_new b;
	struct src src = { 0 };
	int64_t id = 0;
	err_t e;

	batch_new(f, &b, add_bundle(f, sha), lines);
	if (queue_batch_create(f->s, &b, line_src, &src, &id, &e) != 0)
		fail_msg("queue_batch_create: %s", e.msg);
	return id;
}

static void
vote(struct fx *f, int64_t batch, const char *officer, int64_t person,
    const char *digest, const char *decision, const char *reason, int want)
{
	static const unsigned char stmt[] = "statement", sig[] = "sig";
	struct queue_approval a = {
		.kind = "batch", .object = batch, .officer_sha256 = officer,
		.person_id = person, .decision = decision, .reason = reason,
		.digest = digest, .statement = stmt,
		.statement_len = sizeof(stmt), .signature = sig,
		.signature_len = sizeof(sig), .at = 2000,
	};
	err_t e;
	int r = queue_approval_add(f->s, &a, NULL, &e);

	if (r != want)
		fail_msg("approval: got %d (%s), want %d", r,
		    r ? e.msg : "ok", want);
}

/* Approves (two officers) and starts issuing. */
static int64_t
issuing_batch(struct fx *f, int64_t lines)
{
	char sha[65];
	int64_t id = make_batch(f, lines, sha);
	err_t e;

	vote(f, id, HASH_O1, f->o1_id, sha, "approve", NULL, 0);
	vote(f, id, HASH_O2, f->o2_id, sha, "approve", NULL, 0);
	if (queue_batch_transition(f->s, id, QUEUE_PENDING_APPROVAL,
	    QUEUE_APPROVED, NULL, &e) != 0 ||
	    queue_batch_transition(f->s, id, QUEUE_APPROVED, QUEUE_ISSUING,
	    NULL, &e) != 0)
		fail_msg("transition: %s", e.msg);
	return id;
}

/*
 * What the signer does before step 1: a fresh random serial and the exact
 * TBS bytes, algorithm identifiers included. Returns 0 or -1.
 */
static int
make_tbs(const struct certspec *spec, EVP_PKEY *dev_key, X509 *ca,
    EVP_PKEY *ca_key, char serial[48], buf_t *tbs)
{
	unsigned char rnd[CERTBUILD_SERIAL_LEN], sn[CERTBUILD_SERIAL_LEN];
	size_t snlen;
	X509 *x = NULL;
	err_t e;
	int r = -1;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    certbuild_serial(rnd, sizeof(rnd), sn, &snlen) != 0 ||
	    certbuild_new(spec, dev_key, ca, sn, snlen, &x, &e) != 0)
		goto out;
	/* Any signature fixes the algorithm identifiers inside the TBS. */
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0 ||
	    certinfo_serial_hex(x, serial, 48) != 0 ||
	    pkisign_cert_tbs(x, tbs, &e) != 0)
		goto out;
	r = 0;
out:
	X509_free(x);
	return r;
}

static int
der_len(buf_t *b, size_t len)
{
	if (len < 0x80)
		return buf_put_u8(b, (uint8_t)len);
	if (len < 0x100)
		return buf_put_u8(b, 0x81) | buf_put_u8(b, (uint8_t)len);
	return buf_put_u8(b, 0x82) | buf_put_u8(b, (uint8_t)(len >> 8)) |
	    buf_put_u8(b, (uint8_t)len);
}

/*
 * What the HSM does in step 2: signs the exact TBS bytes with key and
 * wraps them as a Certificate. The algorithm identifier is the one inside
 * the TBS (its third element). Returns 0 or -1.
 */
static int
sign_tbs(EVP_PKEY *key, const unsigned char *tbs, size_t tbs_len, buf_t *cert)
{
	struct der_tlv seq, el, alg;
	unsigned char *sig = NULL;
	size_t siglen = 0, body;
	buf_t b, in;
	err_t e;
	int r = -1;

	buf_view(&b, tbs, tbs_len);
	if (der_get_tlv(&b, &seq) != 0)
		return -1;
	buf_view(&in, seq.content, seq.content_len);
	if (der_get_tlv(&in, &el) != 0 || (el.tag == 0xa0 &&
	    der_get_tlv(&in, &el) != 0) || der_get_tlv(&in, &alg) != 0)
		return -1;
	if (pkisign_blob(key, EVP_sha256(), tbs, tbs_len, &sig, &siglen,
	    &e) != 0)
		return -1;
	buf_reset(cert);
	body = tbs_len + alg.raw_len + 2 + (siglen + 1 >= 0x80 ? 1 : 0) +
	    siglen + 1;
	buf_put_u8(cert, 0x30);
	der_len(cert, body);
	buf_put(cert, tbs, tbs_len);
	buf_put(cert, alg.raw, alg.raw_len);
	buf_put_u8(cert, 0x03);
	der_len(cert, siglen + 1);
	buf_put_u8(cert, 0x00);
	buf_put(cert, sig, siglen);
	if (buf_ok(cert))
		r = 0;
	OPENSSL_free(sig);
	return r;
}

/* Reserves lines [first, first + n) with fresh TBS; returns 0 or ERR_*. */
static int
reserve_range(struct fx *f, int64_t batch, int64_t first, size_t n,
    err_t *e)
{
	struct queue_reservation r[32];
	char serial[32][48];
	buf_t tbs[32];
	size_t i;
	int ret;

	assert_true(n <= 32);
	for (i = 0; i < n; i++) {
		buf_init(&tbs[i], 64 * 1024);
		assert_int_equal(make_tbs(&f->spec, f->dev_key, f->ca,
		    f->ca_key, serial[i], &tbs[i]), 0);
		r[i] = (struct queue_reservation){
			.line = first + (int64_t)i, .serial = serial[i],
			.tbs = tbs[i].data, .tbs_len = tbs[i].len,
			.key_enc = key_blob, .key_enc_len = sizeof(key_blob),
		};
	}
	ret = queue_reserve(f->s, batch, r, n, e);
	for (i = 0; i < n; i++)
		buf_free(&tbs[i]);
	return ret;
}

/* Collects reserved lines' TBS to sign them after the walk. */
struct held {
	size_t n;
	int64_t line[64];
	buf_t tbs[64];
	char serial[64][48];
};

static int
hold_line(void *ctx, const struct queue_line *l)
{
	struct held *h = ctx;

	if (h->n == 64)
		return 1;
	h->line[h->n] = l->line;
	snprintf(h->serial[h->n], 48, "%s", l->serial ? l->serial : "");
	buf_init(&h->tbs[h->n], 64 * 1024);
	if (buf_put(&h->tbs[h->n], l->tbs, l->tbs_len) != 0)
		return -1;
	h->n++;
	return 0;
}

static void
held_free(struct held *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		buf_free(&h->tbs[i]);
	h->n = 0;
}

/* Signs every held TBS with key and issues them in one group. */
static int
issue_held(struct store *s, EVP_PKEY *key, int64_t batch, struct held *h,
    err_t *e)
{
	struct queue_issued v[64];
	buf_t cert[64];
	size_t i;
	int r;

	if (h->n == 0)
		return 0;
	for (i = 0; i < h->n; i++) {
		buf_init(&cert[i], 64 * 1024);
		if (sign_tbs(key, h->tbs[i].data, h->tbs[i].len,
		    &cert[i]) != 0)
			return err_set(e, ERR_CRYPTO, "test signer failed");
		v[i] = (struct queue_issued){ .line = h->line[i],
		    .cert_der = cert[i].data, .cert_der_len = cert[i].len };
	}
	r = queue_issue(s, batch, v, h->n, e);
	for (i = 0; i < h->n; i++)
		buf_free(&cert[i]);
	return r;
}

static int64_t
sql_int(struct store *s, const char *sql)
{
	return testutil_sql_int(store_db(s), sql);
}

/* --- bundles ------------------------------------------------------------- */

static void
test_bundle_replay(void **state)
{
	struct fx *f = *state;
	enum queue_bundle_status st;
	struct queue_bundle b = {
		.uuid = "6f1c2a4e-1d2b-4c3d-9e8f-0a1b2c3d4e5f",
		.sha256 = HASH_A,
		.file_name = "order.p7m", .signer_sha256 = HASH_OP,
		.received_at = 1000, .status = QUEUE_BUNDLE_ACCEPTED,
	};
	const char *other = HASH_B;
	const char *third = HASH_C;
	int64_t id = 0, seen = 0;
	err_t e;

	/* An accepted bundle names its signer as an enrolled person. */
	assert_int_equal(queue_bundle_add(f->s, &b, &id, &e), ERR_INVALID);
	assert_contains(e.msg, "CHECK");
	b.person_id = f->op_id;
	assert_int_equal(queue_bundle_add(f->s, &b, &id, &e), 0);
	assert_true(id > 0);

	assert_int_equal(queue_bundle_seen(f->s, b.uuid, other, &st, &seen,
	    &e), 0);
	assert_int_equal(st, QUEUE_BUNDLE_ACCEPTED);
	assert_int_equal(seen, id);
	assert_int_equal(queue_bundle_seen(f->s, "6f1c2a4e-1d2b-4c3d-9e8f-"
	    "000000000000", b.sha256, &st, &seen, &e), 0);
	assert_int_equal(st, QUEUE_BUNDLE_ACCEPTED);
	assert_int_equal(queue_bundle_seen(f->s, NULL, other, &st, &seen, &e),
	    0);
	assert_int_equal(st, QUEUE_BUNDLE_UNSEEN);
	assert_int_equal(seen, 0);
	assert_int_equal(queue_bundle_seen(f->s, NULL, "AA", &st, NULL, &e),
	    ERR_INVALID);

	/* Replays cannot be recorded again, by id or by digest. */
	b.sha256 = other;
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_EXISTS);
	assert_contains(e.msg, "replay");
	b.uuid = "6f1c2a4e-1d2b-4c3d-9e8f-111111111111";
	b.sha256 = HASH_A;
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_EXISTS);

	/* A file refused before its manifest was read: digest only. */
	b = (struct queue_bundle){ .sha256 = other, .file_name = "junk.bin",
	    .received_at = 1001, .status = QUEUE_BUNDLE_REJECTED };
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "reason");
	b.reason = "not CMS SignedData";
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), 0);
	assert_int_equal(queue_bundle_seen(f->s, NULL, other, &st, &seen, &e),
	    0);
	assert_int_equal(st, QUEUE_BUNDLE_REJECTED);
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_EXISTS);

	/* Schema rules: lower-case hex only, a UUID in canonical form. */
	b.sha256 = HASH_CC_UPPER;
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_INVALID);
	b.sha256 = third;
	b.uuid = "6F1C2A4E-1D2B-4C3D-9E8F-0A1B2C3D4E5F";
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_INVALID);
	b.uuid = "6f1c2a4e1d2b4c3d9e8f0a1b2c3d4e5f0000";
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_INVALID);
	b.uuid = NULL;
	b.status = QUEUE_BUNDLE_ACCEPTED;
	assert_int_equal(queue_bundle_add(f->s, &b, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "rejection reason");
	assert_int_equal(store_integrity_check(f->s, &e), 0);
}

/* --- batches ------------------------------------------------------------- */

struct list_count {
	int n;
	int64_t last;
	int64_t lines[16];
};

static int
count_batch(void *ctx, const struct queue_batch *b)
{
	struct list_count *c = ctx;

	c->n++;
	c->last = b->id;
	return 0;
}

static int
collect_line(void *ctx, const struct queue_line *l)
{
	struct list_count *c = ctx;

	assert_non_null(l->name);
	assert_int_equal(l->status, QUEUE_LINE_PENDING);
	assert_null(l->serial);
	if (c->n < 16)
		c->lines[c->n] = l->line;
	c->n++;
	return 0;
}

static void
test_batch_create(void **state)
{
	struct fx *f = *state;
	struct queue_batch_new nb;
	struct queue_batch b;
	struct src src = { 0 };
	struct list_count c = { 0 };
	enum queue_batch_state pend = QUEUE_PENDING_APPROVAL;
	char sha[65];
	int64_t id = 0, bundle, n;
	err_t e;

	bundle = add_bundle(f, sha);
	batch_new(f, &nb, bundle, 10);
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, &id,
	    &e), 0);
	assert_int_equal(queue_batch_get(f->s, id, &b, &e), 0);
	assert_string_equal(b.bundle_sha256, sha);
	assert_string_equal(b.signer_sha256, HASH_OP);
	assert_int_equal(b.requester_id, f->op_id);
	assert_string_equal(b.mode, "mac-range");
	assert_int_equal(b.line_count, 10);
	assert_int_equal(b.pending, 10);
	assert_int_equal(b.state, QUEUE_PENDING_APPROVAL);
	assert_null(b.reason);
	assert_null(b.p12_encryption);
	assert_int_equal(b.recipient_der_len, sizeof(dummy_der));
	assert_memory_equal(b.data_key_wrapped, data_key, sizeof(data_key));
	queue_batch_free(&b);
	assert_null(b.mem);
	assert_int_equal(queue_batch_get(f->s, 999, &b, &e), ERR_NOTFOUND);

	/* Paging: from line 4, three lines. */
	assert_int_equal(queue_lines(f->s, id, 4, 3, collect_line, &c, &e), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.lines[0], 4);
	assert_int_equal(c.lines[2], 6);
	c.n = 0;
	assert_int_equal(queue_next_pending(f->s, id, 2, collect_line, &c,
	    &e), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.lines[0], 1);

	/* One batch per bundle. */
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_EXISTS);

	/* A name twice in the batch: refused, nothing kept. */
	n = sql_int(f->s, "SELECT count(*) FROM line");
	nb.bundle_id = add_bundle(f, sha);
	src.dup_at = 7;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_EXISTS);
	assert_contains(e.msg, "line 7: 'dev-1' is already line 1");
	src.dup_at = 0;
	/* The source fails half-way: nothing kept either. */
	src.fail_at = 6;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_IO);
	assert_contains(e.msg, "source broke at line 6");
	src.fail_at = 0;
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM line"), n);
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM batch"), 1);

	/* Field rules. */
	nb.line_count = 0;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_LIMIT);
	nb.line_count = QUEUE_MAX_LINES + 1;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_LIMIT);
	assert_contains(e.msg, "500000");
	nb.line_count = 3;
	nb.quorum = 1;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "quorum");
	nb.quorum = 2;
	nb.mode = "list";
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "mac-range, csr, csv");
	nb.mode = "csr";	/* MAC lines, no requests */
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "CHECK");	/* csr batches make no keys */
	nb.data_key_wrapped = NULL;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "line 1: a csr line needs its request");
	nb.data_key_wrapped = data_key;
	nb.mode = "mac-range";
	src.csr = 1;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "mac-range line has a MAC");
	src.csr = 0;
	/* Generated keys leave only as smpb or pkcs12 (schema rule). */
	nb.output_format = "pem-zip";
	nb.recipient_der = NULL;
	nb.recipient_der_len = 0;
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_INVALID);
	assert_contains(e.msg, "CHECK");
	/* pkcs12 needs its wrapped password and encryption profile. */
	nb.output_format = "pkcs12";
	nb.p12_encryption = "modern";
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, NULL,
	    &e), ERR_INVALID);
	nb.secret_wrapped = key_blob;
	nb.secret_wrapped_len = sizeof(key_blob);
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, &id,
	    &e), 0);

	/* A rejected bundle makes no batch. */
	{
		struct queue_bundle rb = { .sha256 = HASH_D,
		    .file_name = "x", .received_at = 1,
		    .status = QUEUE_BUNDLE_REJECTED, .reason = "bad" };

		assert_int_equal(queue_bundle_add(f->s, &rb, &nb.bundle_id,
		    &e), 0);
		assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src,
		    NULL, &e), ERR_INVALID);
		assert_contains(e.msg, "rejected");
	}

	c.n = 0;
	assert_int_equal(queue_batch_list(f->s, NULL, count_batch, &c, &e), 0);
	assert_int_equal(c.n, 2);
	c.n = 0;
	assert_int_equal(queue_batch_list(f->s, &pend, count_batch, &c, &e),
	    0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.last, id);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
}

/* --- state table --------------------------------------------------------- */

static int
allowed(enum queue_batch_state a, enum queue_batch_state b)
{
	return (a == QUEUE_PENDING_APPROVAL && (b == QUEUE_APPROVED ||
	    b == QUEUE_REJECTED)) || (a == QUEUE_APPROVED &&
	    b == QUEUE_ISSUING) || (a == QUEUE_ISSUING &&
	    (b == QUEUE_COMPLETED || b == QUEUE_PARTIALLY_COMPLETED ||
	    b == QUEUE_FAILED));
}

static void
test_transitions(void **state)
{
	struct fx *f = *state;
	char sha[65], want[160];
	int64_t id, id2;
	struct queue_batch b;
	int a, t, refused = 0;
	err_t e;

	id = make_batch(f, 2, sha);
	/* Every transition outside the table is refused, naming both. */
	for (a = 0; a < QUEUE_STATE_COUNT; a++)
		for (t = 0; t < QUEUE_STATE_COUNT; t++) {
			if (allowed(a, t))
				continue;
			assert_int_equal(queue_batch_transition(f->s, id, a, t,
			    t == QUEUE_REJECTED || t == QUEUE_FAILED ? "r" :
			    NULL, &e), ERR_INVALID);
			snprintf(want, sizeof(want), "from '%s' to '%s'",
			    queue_state_name(a), queue_state_name(t));
			assert_contains(e.msg, want);
			refused++;
		}
	assert_int_equal(refused, QUEUE_STATE_COUNT * QUEUE_STATE_COUNT - 6);
	/* An allowed move from a state the batch is not in. */
	assert_int_equal(queue_batch_transition(f->s, id, QUEUE_APPROVED,
	    QUEUE_ISSUING, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "is 'pending-approval', not 'approved'");
	assert_int_equal(queue_batch_transition(f->s, 999,
	    QUEUE_PENDING_APPROVAL, QUEUE_REJECTED, "r", &e), ERR_NOTFOUND);
	/* Reasons: needed to reject or fail, refused otherwise. */
	assert_int_equal(queue_batch_transition(f->s, id,
	    QUEUE_PENDING_APPROVAL, QUEUE_REJECTED, NULL, &e), ERR_INVALID);
	assert_int_equal(queue_batch_transition(f->s, id,
	    QUEUE_PENDING_APPROVAL, QUEUE_APPROVED, "because", &e),
	    ERR_INVALID);

	/* Approval needs the quorum, over this digest, not the requester. */
	assert_int_equal(queue_batch_transition(f->s, id,
	    QUEUE_PENDING_APPROVAL, QUEUE_APPROVED, NULL, &e), ERR_POLICY);
	assert_contains(e.msg, "0 of the 2 approvals");
	vote(f, id, HASH_OP, f->op_id, sha, "approve", NULL, 0);
	vote(f, id, HASH_O1, f->o1_id, sha, "approve", NULL, 0);
	vote(f, id, HASH_O2, f->o2_id, HASH_E, "approve", NULL, 0);
	assert_int_equal(queue_batch_transition(f->s, id,
	    QUEUE_PENDING_APPROVAL, QUEUE_APPROVED, NULL, &e), ERR_POLICY);
	assert_contains(e.msg, "1 of the 2 approvals");
	vote(f, id, HASH_O3, f->o3_id, sha, "approve", NULL, 0);
	assert_int_equal(queue_batch_transition(f->s, id,
	    QUEUE_PENDING_APPROVAL, QUEUE_APPROVED, NULL, &e), 0);
	assert_int_equal(queue_batch_transition(f->s, id, QUEUE_APPROVED,
	    QUEUE_ISSUING, NULL, &e), 0);
	assert_int_equal(queue_batch_transition(f->s, id, QUEUE_ISSUING,
	    QUEUE_FAILED, "CA key does not match its certificate", &e), 0);
	assert_int_equal(queue_batch_get(f->s, id, &b, &e), 0);
	assert_int_equal(b.state, QUEUE_FAILED);
	assert_string_equal(b.reason, "CA key does not match its certificate");
	queue_batch_free(&b);

	/* A rejection, once counted, blocks approval for good. */
	id2 = make_batch(f, 1, sha);
	vote(f, id2, HASH_O1, f->o1_id, sha, "reject", "wrong MAC range", 0);
	vote(f, id2, HASH_O2, f->o2_id, sha, "approve", NULL, 0);
	vote(f, id2, HASH_O3, f->o3_id, sha, "approve", NULL, 0);
	assert_int_equal(queue_batch_transition(f->s, id2,
	    QUEUE_PENDING_APPROVAL, QUEUE_APPROVED, NULL, &e), ERR_POLICY);
	assert_contains(e.msg, "rejected by an officer");
	assert_int_equal(queue_batch_transition(f->s, id2,
	    QUEUE_PENDING_APPROVAL, QUEUE_REJECTED, "wrong MAC range", &e), 0);
	assert_int_equal(queue_batch_transition(f->s, id2, QUEUE_REJECTED,
	    QUEUE_APPROVED, NULL, &e), ERR_INVALID);

	/* The database refuses the same moves from any code path. */
	assert_int_equal(store_exec(f->s, "UPDATE batch SET state = "
	    "'issuing', reason = NULL WHERE state = 'rejected'", &e),
	    ERR_INVALID);
	assert_contains(e.msg, "batch state cannot move that way");
	assert_int_equal(store_exec(f->s, "UPDATE batch SET line_count = 1",
	    &e), ERR_INVALID);
	assert_int_equal(store_exec(f->s, "DELETE FROM batch", &e),
	    ERR_INVALID);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
}

struct approvals_seen {
	int n;
	char officers[4][65];
};

static int
see_approval(void *ctx, const struct queue_approval *a)
{
	struct approvals_seen *s = ctx;

	if (s->n < 4)
		snprintf(s->officers[s->n], 65, "%s", a->officer_sha256);
	assert_true(a->statement_len > 0);
	s->n++;
	return 0;
}

static void
test_approvals(void **state)
{
	struct fx *f = *state;
	struct approvals_seen seen = { 0 };
	char sha[65];
	int64_t id = make_batch(f, 1, sha);
	err_t e;

	vote(f, id, HASH_O1, f->o1_id, sha, "approve", NULL, 0);
	/* The same officer again, either decision: a vote is final. */
	vote(f, id, HASH_O1, f->o1_id, sha, "approve", NULL, ERR_EXISTS);
	vote(f, id, HASH_O1, f->o1_id, sha, "reject", "changed my mind",
	    ERR_EXISTS);
	/* A rejection needs a reason; an approval has none. */
	vote(f, id, HASH_O2, f->o2_id, sha, "reject", NULL, ERR_INVALID);
	vote(f, id, HASH_O2, f->o2_id, sha, "approve", "fine", ERR_INVALID);
	vote(f, id, HASH_O2, f->o2_id, sha, "abstain", NULL, ERR_INVALID);
	vote(f, id, HASH_O2, f->o2_id, sha, "approve", NULL, 0);
	/* Another object is another vote. */
	vote(f, id + 1, HASH_O1, f->o1_id, sha, "approve", NULL, 0);
	assert_int_equal(queue_approvals(f->s, "batch", id, see_approval,
	    &seen, &e), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.officers[0], HASH_O1);
	assert_string_equal(seen.officers[1], HASH_O2);
	assert_int_equal(queue_approvals(f->s, "batches", id, see_approval,
	    &seen, &e), ERR_INVALID);
}

/* --- signing ------------------------------------------------------------- */

static int
count_lines(void *ctx, const struct queue_line *l)
{
	(void)l;
	(*(int *)ctx)++;
	return 0;
}

static void
test_reserve_issue(void **state)
{
	struct fx *f = *state;
	struct held h = { 0 };
	struct queue_reservation r[2];
	struct queue_issued v[2];
	struct queue_batch b;
	enum queue_batch_state fin;
	char serial[48], sha[65], sql[512];
	buf_t tbs, cert, cert2;
	int64_t id, pending;
	int n = 0;
	err_t e;

	/* Nothing is reserved before the batch issues. */
	id = make_batch(f, 20, sha);
	assert_int_equal(reserve_range(f, id, 1, 1, &e), ERR_INVALID);
	assert_contains(e.msg, "only while it is issuing");
	vote(f, id, HASH_O1, f->o1_id, sha, "approve", NULL, 0);
	vote(f, id, HASH_O2, f->o2_id, sha, "approve", NULL, 0);
	assert_int_equal(queue_batch_transition(f->s, id,
	    QUEUE_PENDING_APPROVAL, QUEUE_APPROVED, NULL, &e), 0);
	assert_int_equal(reserve_range(f, id, 1, 1, &e), ERR_INVALID);
	assert_int_equal(queue_batch_transition(f->s, id, QUEUE_APPROVED,
	    QUEUE_ISSUING, NULL, &e), 0);

	/* Step 1 for lines 1..5, then the restart view of them. */
	assert_int_equal(reserve_range(f, id, 1, 5, &e), 0);
	assert_int_equal(queue_reserved(f->s, id, hold_line, &h, &e), 0);
	assert_int_equal(h.n, 5);
	assert_int_equal(h.line[0], 1);
	assert_true(h.serial[0][0] != '\0');
	assert_int_equal(queue_pending_count(f->s, id, &pending, &e), 0);
	assert_int_equal(pending, 15);
	/* A reserved line is not pending any more. */
	assert_int_equal(reserve_range(f, id, 3, 1, &e), ERR_INVALID);
	assert_contains(e.msg, "line 3 is reserved, not pending");
	/* Steps 2 and 3 as one group. */
	assert_int_equal(issue_held(f->s, f->ca_key, id, &h, &e), 0);
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM certificate c "
	    "JOIN line l ON l.batch_id = c.batch_id AND l.line = c.line "
	    "WHERE l.status = 'issued' AND c.der = l.cert_der AND "
	    "c.sha256 = l.sha256 AND c.serial = l.serial AND "
	    "c.kind = 'device'"), 5);
	/* Issued once: the same group again is refused as a whole. */
	assert_int_equal(issue_held(f->s, f->ca_key, id, &h, &e), ERR_EXISTS);
	assert_contains(e.msg, "line 1 is issued");
	held_free(&h);
	assert_int_equal(queue_reserved(f->s, id, hold_line, &h, &e), 0);
	assert_int_equal(h.n, 0);

	/* The serial written must be the serial in the TBS. */
	buf_init(&tbs, 64 * 1024);
	buf_init(&cert, 64 * 1024);
	buf_init(&cert2, 64 * 1024);
	assert_int_equal(make_tbs(&f->spec, f->dev_key, f->ca, f->ca_key,
	    serial, &tbs), 0);
	r[0] = (struct queue_reservation){ .line = 6, .serial = "4abc",
	    .tbs = tbs.data, .tbs_len = tbs.len, .key_enc = key_blob,
	    .key_enc_len = sizeof(key_blob) };
	assert_int_equal(queue_reserve(f->s, id, r, 1, &e), ERR_INVALID);
	assert_contains(e.msg, "TBS carries serial");
	r[0].serial = "0abc";
	assert_int_equal(queue_reserve(f->s, id, r, 1, &e), ERR_INVALID);
	assert_contains(e.msg, "without a leading zero");
	/* A generated key must be stored before its certificate exists. */
	r[0].serial = serial;
	r[0].key_enc = NULL;
	r[0].key_enc_len = 0;
	assert_int_equal(queue_reserve(f->s, id, r, 1, &e), ERR_INVALID);
	assert_contains(e.msg, "must be stored");
	r[0].key_enc = key_blob;
	r[0].key_enc_len = sizeof(key_blob);
	r[0].line = 99;
	assert_int_equal(queue_reserve(f->s, id, r, 1, &e), ERR_NOTFOUND);

	/*
	 * Serial collision: line 6 gets a fresh serial, line 7 one already
	 * reserved (by line 1). ERR_EXISTS naming it, and line 6 is left
	 * pending: nothing half-done.
	 */
	r[0].line = 6;
	r[1] = r[0];
	r[1].line = 7;
	{
		char used[48];
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(store_db(f->s), "SELECT "
		    "serial FROM line WHERE batch_id = ? AND line = 1", -1, &st,
		    NULL), SQLITE_OK);
		sqlite3_bind_int64(st, 1, id);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		snprintf(used, sizeof(used), "%s", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		r[1].serial = used;
		/* r[1].tbs must carry `used`: take line 1's own TBS. */
		assert_int_equal(queue_lines(f->s, id, 1, 1, hold_line, &h,
		    &e), 0);
		r[1].tbs = h.tbs[0].data;
		r[1].tbs_len = h.tbs[0].len;
		n = (int)sql_int(f->s, "SELECT count(*) FROM "
		    "serial_reservation");
		assert_int_equal(queue_reserve(f->s, id, r, 2, &e), ERR_EXISTS);
		assert_contains(e.msg, used);
		assert_int_equal(sql_int(f->s, "SELECT count(*) FROM "
		    "serial_reservation"), n);
		assert_int_equal(queue_pending_count(f->s, id, &pending, &e),
		    0);
		assert_int_equal(pending, 15);
		held_free(&h);
	}
	/* The same serial twice in one group. */
	r[1] = r[0];
	r[1].line = 7;
	assert_int_equal(queue_reserve(f->s, id, r, 2, &e), ERR_EXISTS);
	assert_contains(e.msg, serial);
	assert_int_equal(queue_reserve(f->s, id, r, 1, &e), 0);

	/* TBS mismatch: line 7's certificate offered for line 6. */
	assert_int_equal(reserve_range(f, id, 7, 1, &e), 0);
	assert_int_equal(queue_lines(f->s, id, 6, 2, hold_line, &h, &e), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(sign_tbs(f->ca_key, h.tbs[0].data, h.tbs[0].len,
	    &cert), 0);
	assert_int_equal(sign_tbs(f->ca_key, h.tbs[1].data, h.tbs[1].len,
	    &cert2), 0);
	v[0] = (struct queue_issued){ .line = 7, .cert_der = cert2.data,
	    .cert_der_len = cert2.len };
	v[1] = (struct queue_issued){ .line = 6, .cert_der = cert2.data,
	    .cert_der_len = cert2.len };
	assert_int_equal(queue_issue(f->s, id, v, 2, &e), ERR_INVALID);
	assert_contains(e.msg, "line 6: the certificate's TBS differs");
	/* Line 7 was fine but shares the refused group: not issued. */
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM line WHERE "
	    "status = 'issued'"), 5);
	/* The right TBS signed by another key. */
	assert_int_equal(sign_tbs(f->rogue_key, h.tbs[0].data, h.tbs[0].len,
	    &cert), 0);
	v[1].cert_der = cert.data;
	v[1].cert_der_len = cert.len;
	assert_int_equal(queue_issue(f->s, id, &v[1], 1, &e), ERR_CRYPTO);
	assert_contains(e.msg, "does not verify");
	/* Not a certificate at all. */
	v[1].cert_der = dummy_der;
	v[1].cert_der_len = sizeof(dummy_der);
	assert_int_equal(queue_issue(f->s, id, &v[1], 1, &e), ERR_INVALID);
	/* Re-signing the same TBS (as after a crash) is what counts. */
	assert_int_equal(sign_tbs(f->ca_key, h.tbs[0].data, h.tbs[0].len,
	    &cert), 0);
	v[1].cert_der = cert.data;
	v[1].cert_der_len = cert.len;
	assert_int_equal(queue_issue(f->s, id, v, 2, &e), 0);
	held_free(&h);

	/*
	 * A second certificate for a line: refused by the database itself,
	 * under the line's own serial (primary key), under another serial
	 * (trigger), and, with the trigger out of the way, by the unique
	 * index on (batch_id, line).
	 */
	snprintf(sql, sizeof(sql), "INSERT INTO certificate (serial, ca_id, "
	    "kind, subject, sha256, not_before, not_after, der, created, "
	    "batch_id, line) SELECT '7777', ca_id, 'device', 'CN=x', '%064d', "
	    "1, 2, x'30', 1, batch_id, line FROM certificate WHERE batch_id = "
	    "%lld AND line = 6", 7, (long long)id);
	assert_int_equal(store_exec(f->s, sql, &e), ERR_INVALID);
	assert_contains(e.msg, "serial reserved for its line");
	assert_int_equal(store_exec(f->s, "BEGIN; DROP TRIGGER "
	    "certificate_line_serial", &e), 0);
	assert_int_equal(store_exec(f->s, sql, &e), ERR_INVALID);
	assert_contains(e.msg, "UNIQUE constraint failed: certificate.batch_id,"
	    " certificate.line");
	store_rollback(f->s);
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'certificate_line_serial'"), 1);
	/* Serials: one reserved for a line cannot go to another record... */
	{
		struct store_cert sc = {
			.serial = serial, .ca_id = f->ca_id, .kind = "person",
			.subject = "CN=p", .sha256 = HASH_AB,
			.not_before = 1, .not_after = 2, .der = dummy_der,
			.der_len = sizeof(dummy_der), .created = 1,
		};

		assert_int_equal(store_cert_add(f->s, &sc, &e), ERR_INVALID);
		assert_contains(e.msg, "reserved for a batch line");
		/* ...and one a certificate holds cannot be reserved. */
		assert_int_equal(make_tbs(&f->spec, f->dev_key, f->ca,
		    f->ca_key, serial, &tbs), 0);
		sc.serial = serial;
		assert_int_equal(store_cert_add(f->s, &sc, &e), 0);
		r[0] = (struct queue_reservation){ .line = 8, .serial = serial,
		    .tbs = tbs.data, .tbs_len = tbs.len, .key_enc = key_blob,
		    .key_enc_len = sizeof(key_blob) };
		assert_int_equal(queue_reserve(f->s, id, r, 1, &e), ERR_EXISTS);
		assert_contains(e.msg, serial);
	}
	/* Reservations and issued lines are permanent. */
	assert_int_equal(store_exec(f->s, "DELETE FROM serial_reservation",
	    &e), ERR_INVALID);
	assert_contains(e.msg, "permanent");
	assert_int_equal(store_exec(f->s, "UPDATE line SET status = 'pending',"
	    " serial = NULL, tbs = NULL, key_enc = NULL, cert_der = NULL, "
	    "sha256 = NULL WHERE line = 1", &e), ERR_INVALID);
	assert_contains(e.msg, "line");
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM line WHERE "
	    "line = 1 AND status = 'issued'"), 1);
	assert_int_equal(store_exec(f->s, "UPDATE line SET message = 'x' "
	    "WHERE line = 1", &e), ERR_INVALID);
	assert_contains(e.msg, "an issued or failed line is final");
	assert_int_equal(store_exec(f->s, "UPDATE certificate SET serial = "
	    "'1234' WHERE line = 1", &e), ERR_INVALID);

	/* Failing: pending and reserved lines only; then finish. */
	assert_int_equal(queue_fail(f->s, id, 1, "late", &e), ERR_INVALID);
	assert_contains(e.msg, "line 1 is issued");
	assert_int_equal(queue_fail(f->s, id, 8, "", &e), ERR_INVALID);
	assert_int_equal(reserve_range(f, id, 8, 1, &e), 0);
	assert_int_equal(queue_fail(f->s, id, 8, "HSM refused the key", &e),
	    0);
	assert_int_equal(queue_fail(f->s, id, 8, "again", &e), ERR_INVALID);
	assert_int_equal(queue_batch_finish(f->s, id, &fin, &e), ERR_INVALID);
	assert_contains(e.msg, "12 pending and 0 reserved");
	for (pending = 9; pending <= 20; pending++)
		assert_int_equal(queue_fail(f->s, id, pending, "not wanted",
		    &e), 0);
	assert_int_equal(queue_batch_finish(f->s, id, &fin, &e), 0);
	assert_int_equal(fin, QUEUE_PARTIALLY_COMPLETED);
	assert_int_equal(queue_batch_get(f->s, id, &b, &e), 0);
	assert_int_equal(b.issued, 7);
	assert_int_equal(b.failed, 13);
	queue_batch_free(&b);
	/* The failed line keeps its serial, reserved for ever. */
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM line l JOIN "
	    "serial_reservation r ON r.batch_id = l.batch_id AND r.line = "
	    "l.line WHERE l.line = 8 AND l.status = 'failed'"), 1);
	/* Nothing is signed once the batch is over. */
	assert_int_equal(reserve_range(f, id, 9, 1, &e), ERR_INVALID);
	n = 0;
	assert_int_equal(queue_lines(f->s, id, 1, 100, count_lines, &n, &e),
	    0);
	assert_int_equal(n, 20);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
	buf_free(&tbs);
	buf_free(&cert);
	buf_free(&cert2);
}

static void
test_finish_states(void **state)
{
	struct fx *f = *state;
	struct held h = { 0 };
	enum queue_batch_state fin;
	struct queue_batch b;
	int64_t a, c;
	err_t e;

	a = issuing_batch(f, 3);
	assert_int_equal(reserve_range(f, a, 1, 3, &e), 0);
	assert_int_equal(queue_batch_finish(f->s, a, &fin, &e), ERR_INVALID);
	assert_contains(e.msg, "3 reserved");
	assert_int_equal(queue_reserved(f->s, a, hold_line, &h, &e), 0);
	assert_int_equal(issue_held(f->s, f->ca_key, a, &h, &e), 0);
	held_free(&h);
	assert_int_equal(queue_batch_finish(f->s, a, &fin, &e), 0);
	assert_int_equal(fin, QUEUE_COMPLETED);
	assert_int_equal(queue_batch_finish(f->s, a, &fin, &e), ERR_INVALID);

	c = issuing_batch(f, 2);
	assert_int_equal(queue_fail(f->s, c, 1, "bad", &e), 0);
	assert_int_equal(queue_fail(f->s, c, 2, "bad", &e), 0);
	assert_int_equal(queue_batch_finish(f->s, c, &fin, &e), 0);
	assert_int_equal(fin, QUEUE_FAILED);
	assert_int_equal(queue_batch_get(f->s, c, &b, &e), 0);
	assert_contains(b.reason, "none of the 2 lines");
	queue_batch_free(&b);
}

/* --- crashes ------------------------------------------------------------- */

/*
 * The invariants after any crash: the file is sound, every line is in one
 * state with what that state needs, no serial twice, each issued line has
 * exactly its certificate with the reserved TBS inside, and nothing issued
 * before (shas, by line) changed or went away.
 */
struct check {
	char (*sha)[65];	/* by line - 1; "" until seen issued */
	int64_t lines, issued, reserved, failed;
	buf_t tbs;
	int bad;
};

static int
check_line(void *ctx, const struct queue_line *l)
{
	struct check *c = ctx;
	char *prev = c->sha[l->line - 1];
	err_t e;

	switch (l->status) {
	case QUEUE_LINE_ISSUED:
		c->issued++;
		if (der_first_in_seq(l->cert_der, l->cert_der_len, &c->tbs,
		    &e) != 0 || c->tbs.len != l->tbs_len ||
		    memcmp(c->tbs.data, l->tbs, l->tbs_len) != 0) {
			fprintf(stderr, "line %lld: TBS differs\n",
			    (long long)l->line);
			c->bad++;
		}
		if (prev[0] != '\0' && strcmp(prev, l->sha256) != 0) {
			fprintf(stderr, "line %lld: certificate changed\n",
			    (long long)l->line);
			c->bad++;
		}
		snprintf(prev, 65, "%s", l->sha256);
		break;
	case QUEUE_LINE_RESERVED:
		c->reserved++;
		if (l->tbs == NULL || l->serial == NULL || l->key_enc == NULL)
			c->bad++;
		/* FALLTHROUGH */
	default:
		if (l->status == QUEUE_LINE_FAILED)
			c->failed++;
		if (prev[0] != '\0') {
			fprintf(stderr, "line %lld: issued before, now %s\n",
			    (long long)l->line,
			    queue_line_status_name(l->status));
			c->bad++;
		}
		break;
	}
	return 0;
}

static void
check_after_crash(const char *path, int64_t batch, struct check *c)
{
	struct store *s = open_ok(path);
	int64_t from;
	char sql[256];
	err_t e;

	if (store_integrity_check(s, &e) != 0)
		fail_msg("integrity: %s", e.msg);
	c->issued = c->reserved = c->failed = 0;
	buf_init(&c->tbs, 64 * 1024);
	for (from = 1; from <= c->lines; from += 500)
		assert_int_equal(queue_lines(s, batch, from, 500, check_line, c,
		    &e), 0);
	buf_free(&c->tbs);
	assert_int_equal(c->bad, 0);
	assert_int_equal(sql_int(s, "SELECT count(*) - count(DISTINCT serial) "
	    "FROM line WHERE serial IS NOT NULL"), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM serial_reservation "
	    "WHERE batch_id = %lld", (long long)batch);
	assert_int_equal(sql_int(s, sql), sql_int(s, "SELECT count(*) FROM "
	    "line WHERE serial IS NOT NULL"));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM certificate WHERE "
	    "batch_id = %lld", (long long)batch);
	assert_int_equal(sql_int(s, sql), c->issued);
	assert_int_equal(sql_int(s, "SELECT count(*) FROM line l WHERE "
	    "status = 'issued' AND NOT EXISTS (SELECT 1 FROM certificate c "
	    "WHERE c.batch_id = l.batch_id AND c.line = l.line AND "
	    "c.der = l.cert_der AND c.serial = l.serial)"), 0);
	store_close(s);
}

/*
 * The signer loop a child runs until it is killed or done: resume the
 * reserved lines (same TBS), then reserve, sign and issue groups of up to
 * `group` pending lines, failing one line in 97 on the way. Exits 0 when
 * the batch is finished, 3 on any error.
 */
static void
child_signer(struct fx *f, int64_t batch, size_t group, int64_t stop_after)
{
	struct queue_reservation r[64];
	char serial[64][48];
	struct held h = { 0 };
	struct held todo = { 0 };
	buf_t tbs[64];
	struct store *s;
	int64_t done = 0;
	size_t i;
	err_t e;
	int ret;

	if (store_open(f->path, 0, &s, &e) != 0)
		_exit(3);
	f->s = s;
	/* An earlier child may have finished the batch before its kill. */
	{
		struct queue_batch b;

		if (queue_batch_get(s, batch, &b, &e) != 0)
			_exit(3);
		ret = b.state == QUEUE_ISSUING;
		queue_batch_free(&b);
		if (!ret)
			_exit(0);
	}
	if (queue_reserved(s, batch, hold_line, &h, &e) != 0 ||
	    issue_held(s, f->ca_key, batch, &h, &e) != 0)
		_exit(3);
	held_free(&h);
	for (;;) {
		if (queue_next_pending(s, batch, group, hold_line, &todo,
		    &e) != 0)
			_exit(3);
		if (todo.n == 0)
			break;
		for (i = 0; i < todo.n; i++) {
			buf_init(&tbs[i], 64 * 1024);
			if (make_tbs(&f->spec, f->dev_key, f->ca, f->ca_key,
			    serial[i], &tbs[i]) != 0)
				_exit(3);
			r[i] = (struct queue_reservation){ .line = todo.line[i],
			    .serial = serial[i], .tbs = tbs[i].data,
			    .tbs_len = tbs[i].len, .key_enc = key_blob,
			    .key_enc_len = sizeof(key_blob) };
		}
		ret = queue_reserve(s, batch, r, todo.n, &e);
		for (i = 0; i < todo.n; i++)
			buf_free(&tbs[i]);
		held_free(&todo);
		if (ret == ERR_EXISTS)
			continue;	/* a serial collided: draw again */
		if (ret != 0)
			_exit(3);
		if (queue_reserved(s, batch, hold_line, &h, &e) != 0)
			_exit(3);
		/* One line in 97 fails after its reservation. */
		if (h.line[0] % 97 == 0) {
			if (queue_fail(s, batch, h.line[0], "device rejected",
			    &e) != 0)
				_exit(3);
			buf_free(&h.tbs[0]);
			memmove(&h.line[0], &h.line[1], (h.n - 1) *
			    sizeof(h.line[0]));
			memmove(&h.tbs[0], &h.tbs[1], (h.n - 1) *
			    sizeof(h.tbs[0]));
			h.n--;
		}
		done += (int64_t)h.n;
		if (issue_held(s, f->ca_key, batch, &h, &e) != 0)
			_exit(3);
		held_free(&h);
		if (stop_after > 0 && done >= stop_after)
			_exit(9);
	}
	if (queue_batch_finish(s, batch, NULL, &e) != 0)
		_exit(3);
	_exit(0);
}

/* The deterministic crash: 100 reserved, 50 issued, then _exit(9). */
static void
test_crash_exit(void **state)
{
	struct fx *f = *state;
	struct check c = { 0 };
	struct held h = { 0 };
	int64_t batch;
	pid_t pid;
	int status;
	err_t e;

	batch = issuing_batch(f, 100);
	store_close(f->s);
	f->s = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s;
		int64_t i;

		if (store_open(f->path, 0, &s, &e) != 0)
			_exit(3);
		f->s = s;
		for (i = 1; i <= 100; i += 20)
			if (reserve_range(f, batch, i, 20, &e) != 0)
				_exit(3);
		for (i = 0; i < 5; i++) {
			if (queue_lines(s, batch, 1 + i * 10, 10, hold_line, &h,
			    &e) != 0 || issue_held(s, f->ca_key, batch, &h,
			    &e) != 0)
				_exit(3);
			held_free(&h);
		}
		_exit(9);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 9);
	c.lines = 100;
	c.sha = calloc(100, 65);
	check_after_crash(f->path, batch, &c);
	assert_int_equal(c.issued, 50);
	assert_int_equal(c.reserved, 50);
	/* Restart: sign the same TBS again, finish. */
	f->s = open_ok(f->path);
	assert_int_equal(queue_reserved(f->s, batch, hold_line, &h, &e), 0);
	assert_int_equal(h.n, 50);
	assert_int_equal(h.line[0], 51);
	assert_int_equal(issue_held(f->s, f->ca_key, batch, &h, &e), 0);
	held_free(&h);
	assert_int_equal(queue_batch_finish(f->s, batch, NULL, &e), 0);
	store_close(f->s);
	f->s = NULL;
	check_after_crash(f->path, batch, &c);
	assert_int_equal(c.issued, 100);
	free(c.sha);
	f->s = open_ok(f->path);
}

/* kill -9 at random moments while a child signs; then finish the batch. */
static void
test_crash_kill(void **state)
{
	struct fx *f = *state;
	struct check c = { 0 };
	size_t lines = env_size("AIRLOCK_QUEUE_CRASH_LINES", 2000 / SCALE_DIV);
	size_t rounds = env_size("AIRLOCK_QUEUE_CRASH_ROUNDS",
	    SCALE_DIV > 1 ? 20 : 50);
	size_t k, killed = 0;
	int64_t batch, before = 0;
	double t0 = now_s();
	pid_t pid;
	int status;
	err_t e;

	if (lines < 200)
		lines = 200;
	batch = issuing_batch(f, (int64_t)lines);
	store_close(f->s);
	f->s = NULL;
	c.lines = (int64_t)lines;
	c.sha = calloc(lines, 65);
	assert_non_null(c.sha);
	srand((unsigned)time(NULL));
	for (k = 0; k < rounds; k++) {
		/* From the very start (open, resume) to well into the loop. */
		useconds_t delay = (useconds_t)(rand() % (60000 * (int)
		    (SCALE_DIV > 1 ? 3 : 1)));

		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			child_signer(f, batch, (size_t)(1 + rand() % 32), 0);
		usleep(delay);
		if (kill(pid, SIGKILL) == 0)
			killed++;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status))
			assert_int_equal(WEXITSTATUS(status), 0);
		check_after_crash(f->path, batch, &c);
		/* Nothing issued is ever lost (check_line compares shas). */
		assert_true(c.issued >= before);
		before = c.issued;
		printf("  round %zu: killed after %u us: %lld issued, %lld "
		    "reserved, %lld failed\n", k + 1, (unsigned)delay,
		    (long long)c.issued, (long long)c.reserved,
		    (long long)c.failed);
	}
	/* Let a last child run to the end. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_signer(f, batch, 16, 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	check_after_crash(f->path, batch, &c);
	assert_int_equal(c.issued + c.failed, (int64_t)lines);
	assert_int_equal(c.reserved, 0);
	printf("  crash test: %zu lines, %zu kills, %lld issued, %lld failed, "
	    "%.1f s\n", lines, killed, (long long)c.issued,
	    (long long)c.failed, now_s() - t0);
	free(c.sha);
	f->s = open_ok(f->path);
	{
		struct queue_batch b;

		assert_int_equal(queue_batch_get(f->s, batch, &b, &e), 0);
		assert_int_equal(b.state, c.failed ?
		    QUEUE_PARTIALLY_COMPLETED : QUEUE_COMPLETED);
		queue_batch_free(&b);
	}
}

/* --- scale and faults ---------------------------------------------------- */

static int
page_line(void *ctx, const struct queue_line *l)
{
	int64_t *next = ctx;

	if (l->line != *next)
		return -1;
	(*next)++;
	return 0;
}

static void
test_big_batch(void **state)
{
	struct fx *f = *state;
	size_t lines = env_size("AIRLOCK_QUEUE_BIG_LINES",
	    100000 / SCALE_DIV);
	struct queue_batch_new nb;
	struct src src = { 0 };
	long rss0, rss1, rss2, cur0, cur1, cur2;
	int64_t id, next = 1;
	char sha[65];
	double t0, t1;
	err_t e;

	if (lines > QUEUE_MAX_LINES)
		lines = QUEUE_MAX_LINES;
	rss0 = peak_rss_kib();
	cur0 = rss_kib();
	batch_new(f, &nb, add_bundle(f, sha), (int64_t)lines);
	t0 = now_s();
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, &id,
	    &e), 0);
	t1 = now_s();
	rss1 = peak_rss_kib();
	cur1 = rss_kib();
	while (next <= (int64_t)lines)
		assert_int_equal(queue_lines(f->s, id, next, 1000, page_line,
		    &next, &e), 0);
	rss2 = peak_rss_kib();
	cur2 = rss_kib();
	printf("  %zu-line batch: created in %.2f s (%.0f lines/s), paged in "
	    "%.2f s\n  RSS KiB (current/peak): before %ld/%ld, after create "
	    "%ld/%ld, after paging %ld/%ld%s\n", lines, t1 - t0,
	    (double)lines / (t1 - t0), now_s() - t1, cur0, rss0, cur1, rss1,
	    cur2, rss2, SCALE_DIV > 1 ? " (ASan: its quarantine holds freed "
	    "memory, so RSS says little here)" : "");
	assert_int_equal(next, (int64_t)lines + 1);
}

static void
test_disk_full(void **state)
{
	struct fx *f = *state;
	struct queue_batch_new nb;
	struct src src = { 0 };
	char sha[65], sql[64];
	int64_t pages, lines, id = 0;
	err_t e;

	/* A database that may not grow stands in for a full disk. */
	pages = sql_int(f->s, "PRAGMA page_count");
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)pages + 8);
	assert_int_equal(store_exec(f->s, sql, &e), 0);
	lines = sql_int(f->s, "SELECT count(*) FROM line");
	batch_new(f, &nb, add_bundle(f, sha), 20000 / SCALE_DIV);
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, &id,
	    &e), ERR_IO);
	assert_contains(e.msg, "full");
	assert_int_equal(id, 0);
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM line"), lines);
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM batch"), 0);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
	/* Space again: the same batch goes in whole. */
	assert_int_equal(store_exec(f->s, "PRAGMA max_page_count = "
	    "1073741823", &e), 0);
	assert_int_equal(queue_batch_create(f->s, &nb, line_src, &src, &id,
	    &e), 0);
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM line"),
	    lines + nb.line_count);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bundle_replay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_create, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_transitions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_approvals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reserve_issue, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_finish_states, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_exit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_kill, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big_batch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
