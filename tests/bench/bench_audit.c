/*
 * bench_audit.c: the time to verify a long audit log (audit/verify.h),
 * against the raw limit measured in the same run: SHA-256 over the same
 * bytes in one stream.
 *
 * BENCH_AUDIT_RECORDS records (1,000,000 by default) of the usual kinds
 * (tests/unit/auditfx.h: issuance, approvals, rejected bundles, CRLs;
 * about 250 bytes each) are written to a file in a mkdtemp directory,
 * with a checkpoint every 10,000 records. The checkpoints are signed with
 * a software EC P-256 key: the appliance signs them in the HSM, but only
 * the auditor's side, the verification, is measured here. Then
 * audit_verify_file checks the file as `airlock audit verify` does.
 * Printed: records/s, seconds, MB/s, the peak resident set (ru_maxrss)
 * before and after verifying, and the ratio to the raw SHA-256 rate.
 *
 * Figures are informative, never thresholds: exit 1 only when something
 * does not work (the log must verify without a problem).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit/verify.h"
#include "tests/unit/auditfx.h"

#define CP_EVERY 10000

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
	return *end == '\0' && n > 0 ? (size_t)n : dflt;
}

/*
 * Writes n records and their checkpoints to path, CP_EVERY at a time, so
 * that this process never holds the log (its peak RSS is measured).
 */
static int
write_log(const char *path, EVP_PKEY *key, size_t n, char key_sha[65])
{
	struct auditfx fx;
	FILE *f;
	size_t done = 0, i;
	int rc = 0;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	auditfx_init(&fx, key, 1, NULL);
	memcpy(key_sha, fx.key_sha256, AUDIT_HASH_HEX);
	while (done < n && rc == 0) {
		size_t k = n - done < CP_EVERY ? n - done : CP_EVERY;

		if (auditfx_records(&fx, (int)k) != 0 || auditfx_cp(&fx) != 0) {
			rc = -1;
			break;
		}
		for (i = 0; i < fx.n; i++) {
			if (fputs(fx.lines[i], f) < 0 || fputc('\n', f) == EOF)
				rc = -1;
			free(fx.lines[i]);
		}
		fx.n = 0;
		done += k;
	}
	auditfx_free(&fx);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* SHA-256 of the whole file in one stream: the raw limit. Seconds. */
static double
raw_sha256(const char *path)
{
	static unsigned char chunk[1 << 20];
	unsigned char md[32];
	unsigned int mdlen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	double t0 = now();
	ssize_t got;
	int fd, ok;

	if (ctx == NULL || (fd = open(path, O_RDONLY)) < 0) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	while (ok && (got = read(fd, chunk, sizeof(chunk))) > 0)
		ok = EVP_DigestUpdate(ctx, chunk, (size_t)got) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	close(fd);
	EVP_MD_CTX_free(ctx);
	return ok ? now() - t0 : -1;
}

int
main(void)
{
	size_t n = env_size("BENCH_AUDIT_RECORDS", 1000000);
	struct audit_verify_result res;
	char dir[PATH_MAX], path[PATH_MAX + 16], key_sha[AUDIT_HASH_HEX];
	EVP_PKEY *key = NULL;
	struct stat st;
	double t0, write_s, verify_s, raw_s, mb;
	long peak0;
	diag_t d;
	err_t e;
	int rc = 1;

	(void)snprintf(dir, sizeof(dir), "%s/airlock-bench-audit.XXXXXX",
	    getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("bench_audit: mkdtemp");
		return 1;
	}
	(void)snprintf(path, sizeof(path), "%s/audit.log", dir);
	diag_init(&d);
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		fprintf(stderr, "bench_audit: no EC key\n");
		goto out;
	}
	t0 = now();
	if (write_log(path, key, n, key_sha) != 0 || stat(path, &st) != 0) {
		fprintf(stderr, "bench_audit: cannot write %s\n", path);
		goto out;
	}
	write_s = now() - t0;
	mb = (double)st.st_size / 1e6;
	peak0 = peak_kib();
	t0 = now();
	if (audit_verify_file(path, key, key_sha, NULL, &res, &d, &e) != 0) {
		fprintf(stderr, "bench_audit: %s\n", e.msg);
		goto out;
	}
	verify_s = now() - t0;
	if (!res.ok || res.records != n) {
		fprintf(stderr, "bench_audit: the log does not verify:\n");
		diag_print(&d, stderr, "  ");
		goto out;
	}
	if ((raw_s = raw_sha256(path)) <= 0) {
		fprintf(stderr, "bench_audit: cannot hash %s\n", path);
		goto out;
	}
	printf("audit log of %zu records, %.1f MB (%.0f bytes/record), a "
	    "checkpoint every %d\n  (BENCH_AUDIT_RECORDS); checkpoints signed "
	    "with a software EC P-256 key here, since\n  only verification is "
	    "measured (the appliance signs them in the HSM)\n", n, mb,
	    (double)st.st_size / (double)n, CP_EVERY);
	printf("  written in %.1f s\n", write_s);
	printf("  audit_verify_file: %.2f s, %.0f records/s, %.1f MB/s "
	    "(%lu checkpoints verified)\n", verify_s, (double)n / verify_s,
	    mb / verify_s, res.checkpoints_ok);
	printf("  raw SHA-256 over the same bytes, one stream: %.2f s, %.1f "
	    "MB/s; verification runs at %.2f of it\n", raw_s, mb / raw_s,
	    raw_s / verify_s);
	printf("  peak RSS (ru_maxrss): %ld KiB before verifying, %ld KiB "
	    "after (%.1f MiB; 32 bytes kept per record)\n", peak0, peak_kib(),
	    (double)peak_kib() / 1024.0);
	rc = 0;
out:
	diag_free(&d);
	EVP_PKEY_free(key);
	(void)unlink(path);
	(void)rmdir(dir);
	return rc;
}
