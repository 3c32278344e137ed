/*
 * bench_signer.c: batch issuance through signer_run, end to end (store,
 * HSM, lint, queue checks), against the raw limits measured in the same
 * run:
 *
 *  - certificates/s for a CSR batch (BENCH_LINES, 10,000 by default;
 *    P-256 device keys, tls-device profile) with an RSA-2048 CA key and
 *    then an EC P-256 CA key in SoftHSM on a two-session pool, each beside
 *    the raw two-session hsm_sign_raw rate of that key and the ratio;
 *  - devices/s for a mac-range batch with RSA-2048 key generation
 *    (BENCH_DEVICES, 200; docsis-3.1-cm) beside OpenSSL's raw RSA-2048
 *    keygen rate on all cores, and the ratio;
 *  - memory: resident set after the 10,000-line batch and while a
 *    BENCH_BIG-line batch (100,000; 0 skips it; EC CA, to keep it short)
 *    is issued, and the peak (ru_maxrss): flat means the signer holds a
 *    few groups, not the batch.
 *
 * BENCH_CA=rsa or BENCH_CA=ec runs the CSR figure for that CA only (to
 * profile one case).
 *
 * Everything lives in a mkdtemp directory (throwaway token with a random
 * PIN, SQLite store) removed at the end. Figures are informative, never
 * thresholds: exit 1 only when something does not work.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "audit/log.h"
#include "hsm/hsm.h"
#include "pki/vault.h"
#include "policy/profile.h"
#include "queue/queue.h"
#include "signer/signer.h"
#include "store/store.h"
#include "tests/unit/hsmfx.h"

#define TOKEN		"airlock-bench-signer"
#define RAW_SECONDS	3.0
#define KEYPOOL		64

static const unsigned char dummy[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const char hash_op[] = "0000000000000000000000000000000000000000"
    "000000000000000000000001";
static const char hash_o1[] = "0000000000000000000000000000000000000000"
    "000000000000000000000002";
static const char hash_o2[] = "0000000000000000000000000000000000000000"
    "000000000000000000000003";

static struct hsmfx fx;
static struct store *st;
static int64_t op_id, o1_id, o2_id;
static unsigned bundles;
static EVP_PKEY *devkeys[KEYPOOL];

static double
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (fp == NULL)
		return -1;
	if (fscanf(fp, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(fp);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long
peak_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static size_t
env_size(const char *name, size_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (v == NULL || *v == '\0')
		return dflt;
	n = strtoul(v, &end, 10);
	return *end == '\0' ? (size_t)n : dflt;
}

/* --- store ---------------------------------------------------------------- */

static int64_t
add_person(const char *name, const char *role, const char *sha,
    int64_t ca_id)
{
	struct store_person p;
	int64_t id = 0;
	err_t e;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.role = role;
	p.ca_id = ca_id;
	p.cert_der = dummy;
	p.cert_der_len = sizeof(dummy);
	p.sha256 = sha;
	p.serial = sha + 60;
	p.subject = name;
	p.not_before = 1000;
	p.not_after = 4000000000LL;
	p.created = 1000;
	if (store_person_add(st, &p, &id, &e) != 0)
		fprintf(stderr, "bench_signer: person: %s\n", e.msg);
	return id;
}

/* --- batches --------------------------------------------------------------- */

/* Lines made as the queue asks for them, so a big batch is never in memory. */
struct src {
	int csr;
	char name[64], mac[13];
	unsigned char *der;
};

static int
line_src(void *ctx, int64_t line, struct queue_line_new *out, err_t *err)
{
	struct src *s = ctx;
	X509_REQ *r;
	X509_NAME *n;
	EVP_PKEY *k = devkeys[(size_t)line % KEYPOOL];
	int len;

	memset(out, 0, sizeof(*out));
	OPENSSL_free(s->der);
	s->der = NULL;
	if (!s->csr) {
		(void)snprintf(s->mac, sizeof(s->mac), "00aa%08llx",
		    (unsigned long long)line);
		(void)snprintf(s->name, sizeof(s->name), "mac-%lld",
		    (long long)line);
		out->name = s->name;
		out->mac = s->mac;
		return 0;
	}
	(void)snprintf(s->name, sizeof(s->name), "d%lld.devices.example.com",
	    (long long)line);
	r = X509_REQ_new();
	n = X509_NAME_new();
	if (r == NULL || n == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)s->name, -1, -1, 0) ||
	    !X509_REQ_set_subject_name(r, n) || !X509_REQ_set_pubkey(r, k) ||
	    X509_REQ_sign(r, k, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(r, &s->der)) <= 0) {
		X509_NAME_free(n);
		X509_REQ_free(r);
		return err_set(err, ERR_CRYPTO, "cannot make a CSR");
	}
	X509_NAME_free(n);
	X509_REQ_free(r);
	out->name = s->name;
	out->request_der = s->der;
	out->request_der_len = (size_t)len;
	return 0;
}

static void
vote(int64_t batch, const char *officer, int64_t person, const char *digest)
{
	static const unsigned char stmt[] = "statement", sig[] = "sig";
	struct queue_approval a;
	err_t e;

	memset(&a, 0, sizeof(a));
	a.kind = "batch";
	a.object = batch;
	a.officer_sha256 = officer;
	a.person_id = person;
	a.decision = "approve";
	a.digest = digest;
	a.statement = stmt;
	a.statement_len = sizeof(stmt);
	a.signature = sig;
	a.signature_len = sizeof(sig);
	a.at = 2000;
	if (queue_approval_add(st, &a, NULL, &e) != 0)
		fprintf(stderr, "bench_signer: approval: %s\n", e.msg);
}

static int64_t
issuing_batch(int csr, size_t lines, const char *profile, int64_t ca_id)
{
	struct queue_bundle bu;
	struct queue_batch_new b;
	struct src s;
	char sha[65], uuid[37];
	unsigned n = ++bundles;
	int64_t id = 0;
	err_t e;

	memset(&s, 0, sizeof(s));
	s.csr = csr;
	memset(&bu, 0, sizeof(bu));
	(void)snprintf(sha, sizeof(sha), "%064x", 0xb0000 + n);
	(void)snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012x", n);
	bu.uuid = uuid;
	bu.sha256 = sha;
	bu.file_name = "bundle.p7m";
	bu.signer_sha256 = hash_op;
	bu.person_id = op_id;
	bu.received_at = 1000;
	bu.status = QUEUE_BUNDLE_ACCEPTED;
	memset(&b, 0, sizeof(b));
	b.name = "Bench";
	b.description = "";
	b.profile = profile;
	b.ca_id = ca_id;
	b.mode = csr ? "csr" : "mac-range";
	b.line_count = (int64_t)lines;
	b.output_format = csr ? "pem-zip" : "smpb";
	b.chain = "separate";
	b.results_log = "csv";
	if (!csr) {
		b.recipient_der = dummy;
		b.recipient_der_len = sizeof(dummy);
		b.data_key_wrapped = dummy;
		b.data_key_wrapped_len = sizeof(dummy);
	}
	b.quorum = 2;
	b.created = 1000;
	if (queue_intake(st, &bu, &b, line_src, &s, NULL, &id, &e) != 0) {
		fprintf(stderr, "bench_signer: queue_intake: %s\n", e.msg);
		OPENSSL_free(s.der);
		return -1;
	}
	OPENSSL_free(s.der);
	vote(id, hash_o1, o1_id, sha);
	vote(id, hash_o2, o2_id, sha);
	if (queue_batch_transition(st, id, QUEUE_PENDING_APPROVAL,
	    QUEUE_APPROVED, NULL, &e) != 0 ||
	    queue_batch_transition(st, id, QUEUE_APPROVED, QUEUE_ISSUING,
	    NULL, &e) != 0) {
		fprintf(stderr, "bench_signer: transition: %s\n", e.msg);
		return -1;
	}
	return id;
}

struct watch {
	long rss_10k, rss_max;
};

static void
watch_progress(void *ctx, const struct signer_progress *p)
{
	struct watch *w = ctx;
	long r = rss_kib();

	if (r > w->rss_max)
		w->rss_max = r;
	if (w->rss_10k == 0 && p->issued >= 10000)
		w->rss_10k = r;
}

/*
 * The appliance's audit record per certificate, as the daemon writes it
 * (daemon_event): appended in the signer's group transaction.
 */
static int
bench_event(void *ctx, const struct event *ev)
{
	struct audit_entry ae;
	err_t e;

	memset(&ae, 0, sizeof(ae));
	ae.action = ev->action;
	ae.outcome = event_outcome_name(ev->outcome);
	ae.objects = ev->objects;
	ae.details = ev->details;
	if (audit_log_append(ctx, &ae, time(NULL), NULL, &e) != 0) {
		fprintf(stderr, "bench_signer: audit record: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* Runs a batch through signer_run; its lines/s, or -1. */
static double
run_batch(int64_t id, const struct profile *p, struct hsmfx_ca *ca,
    const secret_t *data_key, struct watch *w, int64_t want)
{
	struct signer_opts o;
	struct signer_progress pr;
	double t0, t;
	err_t e;

	memset(&o, 0, sizeof(o));
	o.st = st;
	o.batch_id = id;
	o.profile = p;
	o.issuer = ca->cert;
	o.issuer_key = ca->key;
	o.pool = fx.pool;
	o.data_key = data_key;
	o.now = time(NULL);
	o.progress = w != NULL ? watch_progress : NULL;
	o.progress_ctx = w;
	o.event = bench_event;
	o.event_ctx = st;
	t0 = now();
	if (signer_run(&o, &pr, &e) != 0) {
		fprintf(stderr, "bench_signer: signer_run: %s\n", e.msg);
		return -1;
	}
	t = now() - t0;
	if (pr.issued != want) {
		fprintf(stderr, "bench_signer: %lld of %lld issued\n",
		    (long long)pr.issued, (long long)want);
		return -1;
	}
	return (double)pr.issued / t;
}

/* --- raw limits ------------------------------------------------------------- */

struct rawjob {
	struct hsm_key *key;
	int ec;
	double seconds;
	unsigned long count;
	int failed;
};

static void *
raw_sign(void *arg)
{
	static const unsigned char di[51] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};
	struct rawjob *j = arg;
	unsigned char sig[512];
	size_t siglen;
	double end = now() + j->seconds;
	err_t e;

	while (now() < end) {
		if (hsm_sign_raw(j->key, j->ec ? EXTKEY_ECDSA :
		    EXTKEY_RSA_PKCS1, j->ec ? di + 19 : di, j->ec ? 32 : 51,
		    sig, &siglen, sizeof(sig), &e) != 0) {
			j->failed = 1;
			break;
		}
		j->count++;
	}
	return NULL;
}

static void *
raw_keygen(void *arg)
{
	struct rawjob *j = arg;
	double end = now() + j->seconds;

	while (now() < end) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)2048);

		if (k == NULL) {
			j->failed = 1;
			break;
		}
		EVP_PKEY_free(k);
		j->count++;
	}
	return NULL;
}

/* n threads of fn for RAW_SECONDS; operations per second, or -1. */
static double
raw_rate(void *(*fn)(void *), unsigned n, struct hsm_key *key, int ec)
{
	struct rawjob j[64];
	pthread_t t[64];
	unsigned long total = 0;
	double t0 = now();
	unsigned i;

	memset(j, 0, sizeof(j));
	for (i = 0; i < n; i++) {
		j[i].key = key;
		j[i].ec = ec;
		j[i].seconds = RAW_SECONDS;
		if (pthread_create(&t[i], NULL, fn, &j[i]) != 0)
			return -1;
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (j[i].failed)
			return -1;
		total += j[i].count;
	}
	return (double)total / (now() - t0);
}

static int
load_profile(const char *build, const char *name, struct profile *out)
{
	char path[PATH_MAX];
	diag_t d;
	err_t e;
	int r;

	(void)snprintf(path, sizeof(path), "%s/../policies/%s.yaml", build,
	    name);
	diag_init(&d);
	r = profile_load(path, out, &d, &e);
	if (r != 0)
		fprintf(stderr, "bench_signer: %s: %s\n", path, e.msg);
	diag_free(&d);
	return r;
}

int
main(void)
{
	struct hsmfx_ca cas[2] = {
		{ .spec = { HSM_KEY_RSA, 2048, 0, "bench-ca-rsa", 0 },
		  .cn = "Bench CA RSA-2048" },
		{ .spec = { HSM_KEY_EC, 0, NID_X9_62_prime256v1,
		  "bench-ca-p256", 0 }, .cn = "Bench CA P-256" },
	};
	const char *b = getenv("AIRLOCK_BUILD");
	size_t lines = env_size("BENCH_LINES", 10000);
	size_t devices = env_size("BENCH_DEVICES", 200);
	size_t big = env_size("BENCH_BIG", 100000);
	const char *only = getenv("BENCH_CA");
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct profile tls, docsis;
	struct watch w10 = { 0 }, wbig = { 0 };
	unsigned char dk[VAULT_KEY_LEN];
	secret_t *data_key = NULL;
	char path[PATH_MAX + 64];
	double raw, rate;
	int64_t id;
	size_t i;
	int rc = 1;
	err_t e;

	memset(&tls, 0, sizeof(tls));
	memset(&docsis, 0, sizeof(docsis));
	if (b == NULL || b[0] == '\0') {
		fprintf(stderr, "bench_signer: set AIRLOCK_BUILD to the build "
		    "directory\n");
		return 1;
	}
	if (!hsmfx_have("bench_signer"))
		return 1;
	if (load_profile(b, "tls-device", &tls) != 0 ||
	    load_profile(b, "docsis-3.1-cm", &docsis) != 0)
		goto out;
	/* A token with random PINs that only this process knows. */
	if (secret_new(&data_key) != 0 ||
	    hsmfx_open(&fx, "bench_signer", TOKEN, NULL, NULL, 2) != 0)
		goto out;
	(void)RAND_bytes(dk, sizeof(dk));
	(void)secret_set(data_key, dk, sizeof(dk));
	explicit_bzero(dk, sizeof(dk));
	(void)snprintf(path, sizeof(path), "%s/state.db", fx.dir);
	if (store_open(path, 1, &st, &e) != 0) {
		fprintf(stderr, "bench_signer: store: %s\n", e.msg);
		goto out;
	}
	for (i = 0; i < 2; i++)
		if (hsmfx_ca(&fx, st, &cas[i]) != 0)
			goto out;
	op_id = add_person("Oscar Operator", "operator", hash_op, cas[0].id);
	o1_id = add_person("Olga Officer", "officer", hash_o1, cas[0].id);
	o2_id = add_person("Otto Officer", "officer", hash_o2, cas[0].id);
	for (i = 0; i < KEYPOOL; i++)
		if ((devkeys[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    "P-256")) == NULL)
			goto out;

	printf("cores: %ld; pool: 2 SoftHSM sessions; signer threads: all "
	    "cores\n", cores);
	printf("note: end to end is signer_run on a fresh batch (prepare, "
	    "lint, reserve, sign,\n      issue with the queue's checks and "
	    "one audit record per certificate,\n      SQLite commits); "
	    "batch creation is not timed.\n\n");
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		int ec = cas[i].spec.type == HSM_KEY_EC;

		if (only != NULL && strcmp(only, ec ? "ec" : "rsa") != 0)
			continue;
		if ((id = issuing_batch(1, lines, "tls-device", cas[i].id)) < 0)
			goto out;
		rate = run_batch(id, &tls, &cas[i], NULL, i == 0 ? &w10 : NULL,
		    (int64_t)lines);
		if (rate < 0)
			goto out;
		if (i == 0)
			w10.rss_10k = rss_kib();
		raw = raw_rate(raw_sign, 2, cas[i].key, ec);
		if (raw <= 0)
			goto out;
		printf("CSR batch, %zu x P-256, CA %-9s: %7.0f certs/s   raw "
		    "2-session sign: %7.0f/s   ratio %.2f\n", lines,
		    ec ? "P-256" : "RSA-2048", rate, raw, rate / raw);
		fflush(stdout);
	}
	if (devices > 0) {
		if ((id = issuing_batch(0, devices, "docsis-3.1-cm",
		    cas[0].id)) < 0)
			goto out;
		rate = run_batch(id, &docsis, &cas[0], data_key, NULL,
		    (int64_t)devices);
		if (rate < 0)
			goto out;
		raw = raw_rate(raw_keygen, (unsigned)(cores > 0 ? cores : 1),
		    NULL, 0);
		if (raw <= 0)
			goto out;
		printf("mac-range, %zu devices, RSA-2048 keygen: %7.1f "
		    "devices/s   raw keygen (%ld threads): %7.1f/s   ratio "
		    "%.2f\n", devices, rate, cores, raw, rate / raw);
		fflush(stdout);
	}
	printf("memory: RSS after the %zu-line batch: %ld KiB; peak so far "
	    "%ld KiB\n", lines, w10.rss_10k, peak_kib());
	if (big > 0) {
		if ((id = issuing_batch(1, big, "tls-device", cas[1].id)) < 0)
			goto out;
		wbig.rss_max = rss_kib();
		rate = run_batch(id, &tls, &cas[1], NULL, &wbig,
		    (int64_t)big);
		if (rate < 0)
			goto out;
		printf("memory: %zu-line CSR batch (CA P-256, %.0f certs/s): "
		    "RSS at 10,000 issued %ld KiB, highest while issuing %ld "
		    "KiB; peak RSS (ru_maxrss) %ld KiB\n", big, rate,
		    wbig.rss_10k, wbig.rss_max, peak_kib());
	}
	rc = 0;
out:
	for (i = 0; i < KEYPOOL; i++)
		EVP_PKEY_free(devkeys[i]);
	for (i = 0; i < 2; i++)
		hsmfx_ca_free(&cas[i]);
	store_close(st);
	profile_free(&tls);
	profile_free(&docsis);
	secret_free(data_key);
	hsmfx_close(&fx);
	return rc;
}
