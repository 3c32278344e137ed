/*
 * bench_hsm.c: signing throughput of the HSM layer, against the raw limit
 * of the same token measured in the same run.
 *
 * On a throwaway SoftHSM token (in a mkdtemp directory, with a random PIN
 * that only this process knows) it makes an RSA-2048 and an EC P-256 key
 * and measures, for each key and for BENCH_SECONDS (argv[1] or the
 * environment; 3 s by default) per figure:
 *
 *  - raw: C_Sign of a fixed digest through hsm_sign_raw, one thread on a
 *    one-session pool, then two threads on a two-session pool;
 *  - end to end: two threads each building a small certificate and
 *    X509_sign-ing it with the hsm_key_signer() EVP_PKEY of the two-session
 *    pool, as the appliance does, and its ratio to the raw two-session rate;
 *  - signing only: the same, but each thread re-signs one prebuilt
 *    certificate under a new serial number, so the gap between this row and
 *    the previous one is what building a certificate costs (in OpenSSL 3,
 *    mostly X509_set_pubkey's encoder/decoder round trip) and the gap
 *    between this row and the raw one is the extkey + X509_sign overhead.
 *
 * The raw figure includes the round trip to the airlock-hsm helper (the
 * PKCS#11 module is never loaded into this process), so it is the limit
 * that anything signing through the pool can reach.
 *
 * Figures are informative, never thresholds: the program fails (exit 1)
 * only when something does not work, e.g. a signature does not verify.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsm/hsm.h"
#include "tests/unit/hsmfx.h"

#define TOKEN		"airlock-bench"
#define THREADS_MAX	2
#define SECONDS_DEFAULT	3.0

/* DER DigestInfo prefix for SHA-256 (RFC 8017, section 9.2, note 1). */
static const unsigned char sha256_prefix[19] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

/* Raw C_Sign; build and sign certificates; re-sign one certificate. */
enum job_kind { JOB_RAW = 1, JOB_X509 = 2, JOB_RESIGN = 3 };

/* One benchmark thread: what it does, then what it measured. */
struct job {
	enum job_kind kind;
	unsigned index;
	double seconds;
	pthread_barrier_t *barrier;
	/* JOB_RAW */
	struct hsm_key *key;
	enum extkey_op op;
	const unsigned char *in;
	size_t inlen;
	/* JOB_X509, JOB_RESIGN */
	EVP_PKEY *signer;
	EVP_PKEY *subject;
	/* results */
	unsigned long count;
	double elapsed;
	int failed;
	err_t err;
	unsigned char sig[512];
	size_t siglen;
	X509 *last;
};

static double
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
find_key(struct hsm_pool *p, const char *label, struct hsm_key **out)
{
	struct hsm_uri u;
	err_t err;

	hsm_uri_init(&u);
	(void)snprintf(u.object, sizeof(u.object), "%s", label);
	err_clear(&err);
	if (hsm_find_key(p, &u, out, &err) != 0) {
		fprintf(stderr, "bench_hsm: finding key %s: %s\n", label,
		    err.msg);
		return -1;
	}
	return 0;
}

static EVP_PKEY *
unconst(const EVP_PKEY *k)
{
	return (EVP_PKEY *)(uintptr_t)k;
}

/* Checks a raw signature of in (a DigestInfo or a digest) under pub. */
static int
verify_raw(const EVP_PKEY *pub, enum extkey_op op, const unsigned char *in,
    size_t inlen, const unsigned char *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int derlen = 0, ok = 0;

	if ((ctx = EVP_PKEY_CTX_new(unconst(pub), NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1)
		goto done;
	if (op == EXTKEY_RSA_PKCS1) {
		/* No digest set: the recovered block is compared to in. */
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1)
			ok = EVP_PKEY_verify(ctx, sig, siglen, in, inlen) == 1;
		goto done;
	}
	if (siglen == 0 || siglen % 2 != 0 ||
	    (es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, (int)(siglen / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL)) == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1)
		goto done;
	r = s = NULL;
	if ((derlen = i2d_ECDSA_SIG(es, &der)) > 0)
		ok = EVP_PKEY_verify(ctx, der, (size_t)derlen, in, inlen) == 1;
done:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* A small end-entity certificate for subject, not yet signed. */
static X509 *
build_cert(const X509_NAME *issuer, EVP_PKEY *subject, uint64_t serial,
    err_t *err)
{
	X509 *x;
	X509_NAME *n = NULL;
	X509_EXTENSION *ext;
	char cn[64];
	int ok;

	(void)snprintf(cn, sizeof(cn), "bench device %016llx",
	    (unsigned long long)serial);
	if ((x = X509_new()) == NULL || (n = X509_NAME_new()) == NULL)
		goto fail;
	ok = X509_set_version(x, X509_VERSION_3) == 1 &&
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) != NULL &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_set_subject_name(x, n) == 1 &&
	    X509_set_issuer_name(x, issuer) == 1 &&
	    X509_set_pubkey(x, subject) == 1;
	if (!ok)
		goto fail;
	if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:FALSE")) == NULL)
		goto fail;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	if (!ok || (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    "critical,digitalSignature")) == NULL)
		goto fail;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	if (!ok)
		goto fail;
	X509_NAME_free(n);
	return x;
fail:
	(void)err_set_ossl(err, ERR_CRYPTO, "cannot build the certificate");
	X509_NAME_free(n);
	X509_free(x);
	return NULL;
}

static int
sign_cert(X509 *x, EVP_PKEY *signer, err_t *err)
{
	if (X509_sign(x, signer, EVP_sha256()) <= 0)
		return err_set_ossl(err, ERR_CRYPTO, "X509_sign through the "
		    "HSM pool failed");
	return 0;
}

/*
 * One certificate: JOB_X509 builds and signs a new one; JOB_RESIGN gives
 * the thread's one certificate a new serial number and signs it again.
 */
static int
job_cert(struct job *j, const X509_NAME *issuer, uint64_t serial)
{
	X509 *x;

	if (j->kind == JOB_RESIGN && j->last != NULL) {
		if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(j->last),
		    serial) != 1)
			return err_set_ossl(&j->err, ERR_CRYPTO, "serial");
		return sign_cert(j->last, j->signer, &j->err);
	}
	if ((x = build_cert(issuer, j->subject, serial, &j->err)) == NULL)
		return -1;
	if (sign_cert(x, j->signer, &j->err) != 0) {
		X509_free(x);
		return -1;
	}
	X509_free(j->last);
	j->last = x;
	return 0;
}

static void *
job_run(void *arg)
{
	struct job *j = arg;
	X509_NAME *issuer = NULL;
	double t0, deadline, t;
	uint64_t serial = (uint64_t)(j->index + 1) << 32;

	err_clear(&j->err);
	if (j->kind != JOB_RAW) {
		issuer = X509_NAME_new();
		if (issuer == NULL || X509_NAME_add_entry_by_txt(issuer, "CN",
		    MBSTRING_ASC, (const unsigned char *)"Airlock bench CA",
		    -1, -1, 0) != 1) {
			(void)err_set(&j->err, ERR_NOMEM, "issuer name");
			j->failed = 1;
		} else if (j->kind == JOB_RESIGN && (j->last = build_cert(
		    issuer, j->subject, serial, &j->err)) == NULL) {
			j->failed = 1;
		}
	}
	/* Everyone starts together, failed or not, so no one waits forever. */
	(void)pthread_barrier_wait(j->barrier);
	t0 = now();
	deadline = t0 + j->seconds;
	t = t0;
	while (!j->failed && t < deadline) {
		if (j->kind == JOB_RAW) {
			if (hsm_sign_raw(j->key, j->op, j->in, j->inlen, j->sig,
			    &j->siglen, sizeof(j->sig), &j->err) != 0)
				j->failed = 1;
		} else if (job_cert(j, issuer, ++serial) != 0) {
			j->failed = 1;
		}
		if (!j->failed)
			j->count++;
		t = now();
	}
	j->elapsed = t - t0;
	X509_NAME_free(issuer);
	return NULL;
}

/*
 * Runs the jobs in nthreads threads for their duration; returns the summed
 * rate (operations per second), or -1 when one of them failed.
 */
static double
run_jobs(struct job *jobs, unsigned nthreads)
{
	pthread_barrier_t barrier;
	pthread_t tid[THREADS_MAX];
	double rate = 0;
	unsigned i, started = 0;
	int failed = 0;

	if (pthread_barrier_init(&barrier, NULL, nthreads) != 0)
		return -1;
	for (i = 0; i < nthreads; i++) {
		jobs[i].barrier = &barrier;
		if (pthread_create(&tid[i], NULL, job_run, &jobs[i]) != 0) {
			/* The barrier would never open: give up at once. */
			fprintf(stderr, "bench_hsm: pthread_create failed\n");
			exit(1);
		}
		started++;
	}
	for (i = 0; i < started; i++)
		(void)pthread_join(tid[i], NULL);
	(void)pthread_barrier_destroy(&barrier);
	for (i = 0; i < nthreads; i++) {
		if (jobs[i].failed) {
			fprintf(stderr, "bench_hsm: thread %u: %s\n", i,
			    jobs[i].err.msg);
			failed = 1;
		} else if (jobs[i].count == 0 || jobs[i].elapsed <= 0) {
			fprintf(stderr, "bench_hsm: thread %u did nothing\n",
			    i);
			failed = 1;
		} else {
			rate += (double)jobs[i].count / jobs[i].elapsed;
		}
	}
	return failed ? -1 : rate;
}

/* Raw C_Sign rate of k with nthreads threads; -1 on failure. */
static double
bench_raw(struct hsm_key *k, unsigned nthreads, double seconds)
{
	struct job jobs[THREADS_MAX];
	unsigned char in[sizeof(sha256_prefix) + 32];
	const unsigned char *digest;
	enum extkey_op op;
	size_t inlen;
	double rate;
	unsigned i;

	/* A fixed "digest": the same bytes every time, like the brief says. */
	memcpy(in, sha256_prefix, sizeof(sha256_prefix));
	for (i = 0; i < 32; i++)
		in[sizeof(sha256_prefix) + i] = (unsigned char)(0xa5 ^ i);
	if (hsm_key_type(k) == HSM_KEY_RSA) {
		op = EXTKEY_RSA_PKCS1;
		digest = in;
		inlen = sizeof(in);
	} else {
		op = EXTKEY_ECDSA;
		digest = in + sizeof(sha256_prefix);
		inlen = 32;
	}
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < nthreads; i++) {
		jobs[i].kind = JOB_RAW;
		jobs[i].index = i;
		jobs[i].seconds = seconds;
		jobs[i].key = k;
		jobs[i].op = op;
		jobs[i].in = digest;
		jobs[i].inlen = inlen;
	}
	if ((rate = run_jobs(jobs, nthreads)) < 0)
		return -1;
	for (i = 0; i < nthreads; i++)
		if (!verify_raw(hsm_key_public(k), op, digest, inlen,
		    jobs[i].sig, jobs[i].siglen)) {
			fprintf(stderr, "bench_hsm: a raw signature by %s does "
			    "not verify\n", hsm_key_label(k));
			return -1;
		}
	return rate;
}

/* Certificates per second with nthreads threads signing with k. */
static double
bench_x509(struct hsm_key *k, EVP_PKEY *subject, enum job_kind kind,
    unsigned nthreads, double seconds)
{
	struct job jobs[THREADS_MAX];
	EVP_PKEY *signer;
	double rate;
	unsigned i;

	if ((signer = hsm_key_signer(k)) == NULL) {
		fprintf(stderr, "bench_hsm: hsm_key_signer(%s) failed\n",
		    hsm_key_label(k));
		return -1;
	}
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < nthreads; i++) {
		jobs[i].kind = kind;
		jobs[i].index = i;
		jobs[i].seconds = seconds;
		jobs[i].signer = signer;
		jobs[i].subject = subject;
	}
	rate = run_jobs(jobs, nthreads);
	for (i = 0; i < nthreads; i++) {
		/* OpenSSL verifies with the public key only: the HSM signed. */
		if (rate >= 0 && (jobs[i].last == NULL ||
		    X509_verify(jobs[i].last, unconst(hsm_key_public(k))) != 1)) {
			fprintf(stderr, "bench_hsm: a certificate signed with %s "
			    "does not verify\n", hsm_key_label(k));
			rate = -1;
		}
		X509_free(jobs[i].last);
	}
	EVP_PKEY_free(signer);
	return rate;
}

struct keyrow {
	const char *name;
	struct hsm_keyspec spec;
	struct hsm_key *k2;	/* on the two-session pool */
	struct hsm_key *k1;	/* the same key on the one-session pool */
};

static int
bench_key(const struct keyrow *row, EVP_PKEY *subject, double seconds)
{
	double r1, r2, c2, s2;

	if ((r1 = bench_raw(row->k1, 1, seconds)) < 0 ||
	    (r2 = bench_raw(row->k2, 2, seconds)) < 0)
		return -1;
	printf("hsm sign %-9s 1 session: %6.0f/s   2 sessions: %6.0f/s "
	    "(x%.2f)\n", row->name, r1, r2, r2 / r1);
	if (r2 / r1 > 2.05)
		printf("  (more than x2: with one session a request is in "
		    "flight at a time and the\n   CPUs idle during each "
		    "round trip, so that figure is latency-bound)\n");
	fflush(stdout);
	if ((c2 = bench_x509(row->k2, subject, JOB_X509, 2, seconds)) < 0)
		return -1;
	printf("X509_sign via pool %-9s 2 threads: %6.0f/s = %.2f of the "
	    "raw 2-session rate\n", row->name, c2, c2 / r2);
	fflush(stdout);
	if ((s2 = bench_x509(row->k2, subject, JOB_RESIGN, 2, seconds)) < 0)
		return -1;
	printf("  signing only (re-sign)   2 threads: %6.0f/s = %.2f of the "
	    "raw 2-session rate\n", s2, s2 / r2);
	fflush(stdout);
	return 0;
}

static int
parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.1 && v <= 600))
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct keyrow rows[2] = {
		{ "RSA-2048", { HSM_KEY_RSA, 2048, 0, "bench-rsa2048", 0 },
		  NULL, NULL },
		{ "P-256", { HSM_KEY_EC, 0, NID_X9_62_prime256v1,
		  "bench-p256", 0 }, NULL, NULL },
	};
	struct hsm_pool *pool1 = NULL, *pool2 = NULL;
	const char *s = getenv("BENCH_SECONDS");
	struct hsmfx fx;
	EVP_PKEY *subject = NULL;
	double seconds = SECONDS_DEFAULT;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;
	int rc = 1;
	err_t err;

	if (argc > 2 || (argc == 2 && parse_seconds(argv[1], &seconds) != 0) ||
	    (argc == 1 && s != NULL && s[0] != '\0' &&
	    parse_seconds(s, &seconds) != 0)) {
		fprintf(stderr, "usage: bench_hsm [SECONDS]  (0.1..600; also "
		    "BENCH_SECONDS; default %.0f)\n", SECONDS_DEFAULT);
		return 2;
	}
	if (!hsmfx_have("bench_hsm"))
		return 1;
	/* A token with random PINs that only this process knows. */
	if (hsmfx_open(&fx, "bench_hsm", TOKEN, NULL, NULL, 0) != 0)
		goto out;

	printf("cores: %ld\n", cores);
	printf("seconds per figure: %.1f (argv[1] or BENCH_SECONDS)\n",
	    seconds);
	printf("token: SoftHSM %s, throwaway, file object store\n",
	    HSMFX_MODULE);
	printf("note: \"hsm sign\" is C_Sign of a fixed digest through "
	    "hsm_sign_raw, so it includes\n      the round trip to the "
	    "airlock-hsm helper (the module is never loaded in\n      this "
	    "process); it is the raw limit for anything signing through the "
	    "pool.\n      \"X509_sign via pool\" builds each certificate "
	    "(subject key made once in\n      software); \"signing only\" "
	    "re-signs one prebuilt certificate with a new serial.\n\n");
	fflush(stdout);

	/* Keys are made on the two-session pool, then found on the other. */
	if (hsmfx_pool(&fx, 2, &pool2) != 0)
		goto out;
	for (i = 0; i < 2; i++) {
		err_clear(&err);
		if (hsm_keygen(pool2, &rows[i].spec, &rows[i].k2, &err) != 0) {
			fprintf(stderr, "bench_hsm: hsm_keygen %s: %s\n",
			    rows[i].name, err.msg);
			goto out;
		}
	}
	if (hsmfx_pool(&fx, 1, &pool1) != 0)
		goto out;
	for (i = 0; i < 2; i++)
		if (find_key(pool1, rows[i].spec.label, &rows[i].k1) != 0)
			goto out;
	/* The certificates' subject key: made once, in software. */
	if ((subject = EVP_EC_gen("P-256")) == NULL) {
		fprintf(stderr, "bench_hsm: cannot make the subject key\n");
		goto out;
	}
	for (i = 0; i < 2; i++)
		if (bench_key(&rows[i], subject, seconds) != 0)
			goto out;
	rc = 0;
out:
	EVP_PKEY_free(subject);
	for (i = 0; i < 2; i++) {
		hsm_key_free(rows[i].k1);
		hsm_key_free(rows[i].k2);
	}
	hsm_pool_close(pool1);
	hsm_pool_close(pool2);
	hsmfx_close(&fx);
	if (rc != 0)
		fprintf(stderr, "bench_hsm: FAILED\n");
	return rc;
}
