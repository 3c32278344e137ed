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
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "pki/certbuild.h"
#include "pki/certinfo.h"
#include "pki/extkey.h"
#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "policy/crlpolicy.h"
#include "signer/crl.h"
#include "store/stmt.h"
#include "store/store.h"

#define MODULE		"/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN		"airlock-bench-crl"
#define RAW_SIGS	20

static char tmpdir[PATH_MAX];

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

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A throwaway token with random PINs in tmpdir. */
static int
setup_token(secret_t *pin)
{
	char path[PATH_MAX + 64], user[17], so[17];
	char *argv[] = { "softhsm2-util", "--init-token", "--free", "--label",
	    TOKEN, "--so-pin", so, "--pin", user, NULL };
	posix_spawn_file_actions_t fa;
	unsigned char rnd[16];
	pid_t pid;
	FILE *f;
	int i, stt, r;

	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/airlock-bench-crl.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		return -1;
	}
	(void)snprintf(path, sizeof(path), "%s/tokens", tmpdir);
	if (mkdir(path, 0700) != 0)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/softhsm2.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = "
	    "file\nlog.level = ERROR\n", tmpdir);
	if (fclose(f) != 0 || setenv("SOFTHSM2_CONF", path, 1) != 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (i = 0; i < 8; i++) {
		(void)snprintf(user + 2 * i, 3, "%02x", rnd[i]);
		(void)snprintf(so + 2 * i, 3, "%02x", rnd[8 + i]);
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	(void)posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
	    "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	while (r == 0 && waitpid(pid, &stt, 0) < 0)
		if (errno != EINTR)
			r = -1;
	if (r == 0 && (!WIFEXITED(stt) || WEXITSTATUS(stt) != 0))
		r = -1;
	if (r == 0 && secret_set(pin, user, strlen(user)) != 0)
		r = -1;
	explicit_bzero(user, sizeof(user));
	explicit_bzero(so, sizeof(so));
	return r;
}

/* The CA: key in the HSM, self-signed certificate, store row. */
static int
make_ca(struct hsm_pool *pool, struct store *st, int ec, struct hsm_key **key,
    X509 **cert, int64_t *id)
{
	struct hsm_keyspec spec = { ec ? HSM_KEY_EC : HSM_KEY_RSA,
	    ec ? 0 : 2048, ec ? NID_X9_62_prime256v1 : 0, "bench-crl-ca", 0 };
	struct certspec cs;
	struct store_ca row;
	EVP_PKEY *signer = NULL;
	unsigned char rnd[16], sn[16], *der = NULL;
	char ski[128], sha[65];
	time_t t = time(NULL);
	size_t snlen;
	diag_t d;
	err_t e;
	int len, r = -1;

	if (hsm_keygen(pool, &spec, key, &e) != 0) {
		fprintf(stderr, "bench_crl: hsm_keygen: %s\n", e.msg);
		return -1;
	}
	memset(&cs, 0, sizeof(cs));
	certspec_ext_init(&cs.ext);
	if ((cs.subject.attrs = calloc(1, sizeof(*cs.subject.attrs))) == NULL)
		return -1;
	cs.subject.attrs[0].nid = NID_commonName;
	cs.subject.attrs[0].value = strdup("Bench CRL CA");
	cs.subject.n = 1;
	cs.not_before = t - 3600;
	cs.not_after = t + 30L * 365 * 86400;
	cs.ext.has_basic_constraints = 1;
	cs.ext.bc_ca = 1;
	cs.ext.bc_path_len = 0;
	cs.ext.bc_critical = 1;
	cs.ext.has_key_usage = 1;
	cs.ext.key_usage = CERTSPEC_KU_KEY_CERT_SIGN | CERTSPEC_KU_CRL_SIGN;
	diag_init(&d);
	(void)RAND_bytes(rnd, sizeof(rnd));
	(void)certbuild_serial(rnd, sizeof(rnd), sn, &snlen);
	if ((signer = hsm_key_signer(*key)) == NULL ||
	    certbuild_new(&cs, hsm_key_public(*key), NULL, sn, snlen, cert,
	    &e) != 0 || pkisign_cert(*cert, signer, EVP_sha256(), NULL, NULL,
	    &d, &e) != 0) {
		fprintf(stderr, "bench_crl: CA: %s\n", e.msg);
		goto out;
	}
	len = i2d_X509(*cert, &der);
	if (len <= 0 || certinfo_ski_hex(*cert, ski, sizeof(ski)) != 0 ||
	    pki_cert_sha256_hex(*cert, sha) != 0)
		goto out;
	memset(&row, 0, sizeof(row));
	row.name = "bench-crl-ca";
	row.key_uri = "pkcs11:object=bench-crl-ca";
	row.cert_der = der;
	row.cert_der_len = (size_t)len;
	row.subject = "CN=Bench CRL CA";
	row.ski = ski;
	row.sha256 = sha;
	row.not_before = t - 3600;
	row.not_after = t + 30L * 365 * 86400;
	row.purpose = "devices";
	row.created = t;
	if (store_ca_add(st, &row, id, &e) != 0) {
		fprintf(stderr, "bench_crl: store_ca_add: %s\n", e.msg);
		goto out;
	}
	r = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(signer);
	certspec_free(&cs);
	diag_free(&d);
	return r;
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
	struct hsm_pool *pool = NULL;
	struct hsm_key *key = NULL;
	struct store *st = NULL;
	secret_t *pin = NULL;
	X509 *cert = NULL;
	unsigned char in[64], sig[600];
	char path[PATH_MAX + 64];
	struct hsm_uri u;
	double t0, raw, fill_s, issue_s;
	long peak0;
	int64_t id = 0;
	size_t siglen;
	int rc = 1, i;
	err_t e;

	if (b == NULL || b[0] == '\0') {
		fprintf(stderr, "bench_crl: set AIRLOCK_BUILD to the build "
		    "directory\n");
		return 1;
	}
	if (access(MODULE, R_OK) != 0) {
		fprintf(stderr, "bench_crl: %s missing\n", MODULE);
		return 1;
	}
	(void)snprintf(path, sizeof(path), "%s/bin/airlock-hsm", b);
	hsm_set_helper_path(path);
	if (secret_new(&pin) != 0 || setup_token(pin) != 0)
		goto out;
	hsm_uri_init(&u);
	(void)snprintf(u.token, sizeof(u.token), "%s", TOKEN);
	(void)snprintf(u.module_path, sizeof(u.module_path), "%s", MODULE);
	(void)snprintf(path, sizeof(path), "%s/state.db", tmpdir);
	if (hsm_pool_open(NULL, &u, 1, pin, &pool, &e) != 0 ||
	    store_open(path, 1, &st, &e) != 0) {
		fprintf(stderr, "bench_crl: %s\n", e.msg);
		goto out;
	}
	if (make_ca(pool, st, ec, &key, &cert, &id) != 0)
		goto out;
	/* The raw limit: one signature over a digest, the same key. */
	memset(in, 0x5a, sizeof(in));
	t0 = now();
	for (i = 0; i < RAW_SIGS; i++) {
		siglen = 0;
		if (hsm_sign_raw(key, ec ? EXTKEY_ECDSA : EXTKEY_RSA_PKCS1, in,
		    ec ? 32 : 51, sig, &siglen, sizeof(sig), &e) != 0) {
			fprintf(stderr, "bench_crl: hsm_sign_raw: %s\n", e.msg);
			goto out;
		}
	}
	raw = (now() - t0) / RAW_SIGS;
	t0 = now();
	if (fill(path, id, n) != 0)
		goto out;
	fill_s = now() - t0;
	peak0 = peak_kib();
	memset(&o, 0, sizeof(o));
	o.st = st;
	o.ca_id = id;
	o.ca_name = "bench-crl-ca";
	o.ca_cert = cert;
	o.ca_key = key;
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
	X509_free(cert);
	hsm_key_free(key);
	hsm_pool_close(pool);
	store_close(st);
	secret_free(pin);
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
