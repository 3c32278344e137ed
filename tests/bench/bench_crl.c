/*
 * bench_crl.c: one large CRL through signer_crl_issue, end to end (store
 * query in serial order, streaming DER encoder, HSM signature, signature
 * check, record), against the raw limit measured in the same run: one
 * hsm_sign_raw signature with the same key.
 *
 * BENCH_CRL_ENTRIES revoked certificates (1,000,000 by default) are put
 * into a fresh store with direct SQL in one transaction (16-octet
 * serials, reasons in turn, an invalidity date on every fourth; in a
 * child process, so its page cache is not this process's), then the
 * CA's CRL is issued once with an RSA-2048 CA key in SoftHSM
 * (BENCH_CRL_CA=ec: EC P-256). Printed: the time to generate and sign,
 * the CRL's size, and the peak resident set (ru_maxrss) before and after
 * issuing: the encoder holds the DER, about twice at the peak, and
 * nothing per entry besides.
 *
 * Everything lives in a mkdtemp directory removed at the end. Figures are
 * informative, never thresholds: exit 1 only when something does not
 * work.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "pki/extkey.h"
#include "policy/crlpolicy.h"
#include "signer/crl.h"
#include "store/stmt.h"
#include "store/store.h"
#include "tests/unit/hsmfx.h"

#define TOKEN		"airlock-bench-crl"
#define RAW_SIGS	20

static double
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* n revoked certificates of CA id, straight into the table. */
static int
fill_rows(struct store *st, int64_t id, size_t n)
{
	static const char *const reasons[] = { "keyCompromise", "superseded",
	    "cessationOfOperation", "unspecified", "certificateHold",
	    "affiliationChanged" };
	sqlite3_stmt *s = NULL;
	unsigned char rnd[8];
	char serial[40], sha[65], head[17];
	time_t t = time(NULL);
	size_t i;
	int rc, k;
	err_t e;

	(void)RAND_bytes(rnd, sizeof(rnd));
	rnd[0] = (unsigned char)((rnd[0] | 0x10) & 0x7f);	/* no leading 0 */
	for (k = 0; k < 8; k++)
		(void)snprintf(head + 2 * k, 3, "%02x", rnd[k]);
	if (store_begin(st, &e) != 0 || store_prepare(st, "INSERT INTO "
	    "certificate (serial, ca_id, kind, subject, sha256, not_before, "
	    "not_after, der, status, created, revoked_at, reason, "
	    "invalidity_date) VALUES (?, ?, 'device', 'CN=bench', ?, 1, 2, "
	    "x'3000', ?, 1, ?, ?, ?)", &s, &e) != 0) {
		fprintf(stderr, "bench_crl: %s\n", e.msg);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *reason = reasons[i % 6];

		/*
		 * 16-octet serials: a random first half, then i, so rows go
		 * in at the end of the index (fast) and never collide.
		 */
		(void)snprintf(serial, sizeof(serial), "%s%016zx", head, i);
		(void)snprintf(sha, sizeof(sha), "%064zx", i + 1);
		rc = SQLITE_OK;
		store_bind_text(s, 1, serial, &rc);
		store_bind_int(s, 2, id, &rc);
		store_bind_text(s, 3, sha, &rc);
		store_bind_text(s, 4, strcmp(reason, "certificateHold") == 0 ?
		    "hold" : "revoked", &rc);
		store_bind_int(s, 5, t - (int64_t)(i % 86400), &rc);
		store_bind_text(s, 6, reason, &rc);
		if (i % 4 == 0)
			store_bind_int(s, 7, t - 86400 * 30, &rc);
		else
			sqlite3_bind_null(s, 7);
		if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
			fprintf(stderr, "bench_crl: insert: %s\n",
			    sqlite3_errmsg(store_db(st)));
			sqlite3_finalize(s);
			return -1;
		}
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	sqlite3_finalize(s);
	return store_commit(st, &e) == 0 ? 0 : -1;
}

/*
 * fill_rows in a child process with its own connection and a large page
 * cache (so a million rows go in quickly), so that neither the cache nor
 * anything else of the filling counts in this process's peak memory.
 */
static int
fill(const char *db, int64_t id, size_t n)
{
	struct store *st = NULL;
	pid_t pid;
	int stt;
	err_t e;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int r = store_open(db, 0, &st, &e) != 0 ||
		    store_exec(st, "PRAGMA cache_size = -262144", &e) != 0 ||
		    fill_rows(st, id, n) != 0;

		if (st == NULL)
			fprintf(stderr, "bench_crl: %s\n", e.msg);
		store_close(st);
		_exit(r);
	}
	while (waitpid(pid, &stt, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(stt) && WEXITSTATUS(stt) == 0 ? 0 : -1;
}

int
main(void)
{
	const char *b = getenv("AIRLOCK_BUILD");
	const char *which = getenv("BENCH_CRL_CA");
	size_t n = env_size("BENCH_CRL_ENTRIES", 1000000);
	int ec = which != NULL && strcmp(which, "ec") == 0;
	struct crlpolicy_entry policy = { NULL, 7 * 86400, 86400, NULL, 0, 0 };
	struct signer_crl_opts o;
	struct signer_crl_result res;
	struct hsmfx_ca ca = {
		.spec = { ec ? HSM_KEY_EC : HSM_KEY_RSA, ec ? 0 : 2048,
		    ec ? NID_X9_62_prime256v1 : 0, "bench-crl-ca", 0 },
		.cn = "Bench CRL CA",
	};
	struct hsmfx fx;
	struct store *st = NULL;
	unsigned char in[64], sig[600];
	char path[PATH_MAX + 64];
	double t0, raw, fill_s, issue_s;
	long peak0;
	size_t siglen;
	int rc = 1, i;
	err_t e;

	if (b == NULL || b[0] == '\0') {
		fprintf(stderr, "bench_crl: set AIRLOCK_BUILD to the build "
		    "directory\n");
		return 1;
	}
	if (!hsmfx_have("bench_crl"))
		return 1;
	/* A token with random PINs that only this process knows. */
	if (hsmfx_open(&fx, "bench_crl", TOKEN, NULL, NULL, 1) != 0)
		goto out;
	(void)snprintf(path, sizeof(path), "%s/state.db", fx.dir);
	if (store_open(path, 1, &st, &e) != 0) {
		fprintf(stderr, "bench_crl: %s\n", e.msg);
		goto out;
	}
	if (hsmfx_ca(&fx, st, &ca) != 0)
		goto out;
	/* The raw limit: one signature over a digest, the same key. */
	memset(in, 0x5a, sizeof(in));
	t0 = now();
	for (i = 0; i < RAW_SIGS; i++) {
		siglen = 0;
		if (hsm_sign_raw(ca.key, ec ? EXTKEY_ECDSA : EXTKEY_RSA_PKCS1,
		    in, ec ? 32 : 51, sig, &siglen, sizeof(sig), &e) != 0) {
			fprintf(stderr, "bench_crl: hsm_sign_raw: %s\n", e.msg);
			goto out;
		}
	}
	raw = (now() - t0) / RAW_SIGS;
	t0 = now();
	if (fill(path, ca.id, n) != 0)
		goto out;
	fill_s = now() - t0;
	peak0 = peak_kib();
	memset(&o, 0, sizeof(o));
	o.st = st;
	o.ca_id = ca.id;
	o.ca_name = ca.spec.label;
	o.ca_cert = ca.cert;
	o.ca_key = ca.key;
	o.policy = &policy;
	o.now = time(NULL);
	t0 = now();
	if (signer_crl_issue(&o, &res, &e) != 0) {
		fprintf(stderr, "bench_crl: signer_crl_issue: %s\n", e.msg);
		goto out;
	}
	issue_s = now() - t0;
	printf("CRL of %zu entries, %s CA key in SoftHSM (BENCH_CRL_ENTRIES, "
	    "BENCH_CRL_CA)\n", res.entries, ec ? "EC P-256" : "RSA-2048");
	printf("  store filled (direct SQL):  %.1f s\n", fill_s);
	printf("  generate + sign + check + record: %.2f s (%.2f us/entry); "
	    "raw single signature %.2f ms\n", issue_s,
	    res.entries > 0 ? issue_s * 1e6 / (double)res.entries : 0.0,
	    raw * 1e3);
	printf("  CRL size: %zu bytes (%.1f MiB), number %lld\n", res.der_len,
	    (double)res.der_len / (1024.0 * 1024.0), (long long)res.number);
	printf("  peak RSS (ru_maxrss): %ld KiB before issuing, %ld KiB after "
	    "(%.1f MiB)\n", peak0, peak_kib(), (double)peak_kib() / 1024.0);
	rc = 0;
out:
	hsmfx_ca_free(&ca);
	store_close(st);
	hsmfx_close(&fx);
	return rc;
}
