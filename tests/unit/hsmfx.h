/*
 * hsmfx.h: a throwaway SoftHSM token for the unit tests and benches that
 * go through the HSM layer (test_hsm, test_hsm_decrypt, test_signer,
 * test_signer_crl, test_bundle_make; bench_hsm, bench_signer, bench_crl),
 * and CAs whose keys that token holds. Test-only; header-only like
 * testutil.h, so the one-source-file-per-program build needs no extra
 * object.
 *
 * hsmfx_open makes a private directory (softhsm2.conf, tokens/; callers
 * keep their own scratch files there too), points SOFTHSM2_CONF at it (the
 * airlock-hsm helpers inherit it, so nothing reaches real tokens),
 * initialises one token and, when asked, opens a logged-in pool on it;
 * hsmfx_close undoes all of it. Around it: more pools on the token, its
 * public-only view, a CA made on it and recorded in a store, and a helper
 * started by hand for the protocol tests.
 *
 * The benches include this header as well. So nothing here fails a test:
 * a failure is a -1 (0 from hsmfx_have) with the reason on stderr, and the
 * caller decides; and the cmocka helpers that testutil.h brings along are
 * static inline functions a bench never calls, so it links no cmocka.
 */
#ifndef AIRLOCK_TESTS_HSMFX_H
#define AIRLOCK_TESTS_HSMFX_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "pki/certbuild.h"
#include "pki/certinfo.h"
#include "pki/certspec.h"
#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "store/store.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/secret.h"

#define HSMFX_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct hsmfx {
	char dir[PATH_MAX];	/* empty when there is nothing to remove */
	const char *who;	/* names the caller in messages */
	const char *label;	/* the token's */
	secret_t *pin;		/* the user PIN */
	struct hsm_pool *pool;	/* NULL unless hsmfx_open was asked for one */
	int ready;		/* set once hsmfx_open has succeeded */
};

/*
 * Skips a cmocka test whose group setup found no SoftHSM (that setup has
 * said why). A macro, so that a bench, which never uses it, needs no
 * cmocka.
 */
#define HSMFX_NEED(fx) do {						\
	if (!(fx)->ready) {						\
		fprintf(stderr, "skipped: no SoftHSM token\n");	\
		skip();							\
	}								\
} while (0)

/*
 * 1 when softhsm2-util is on PATH and the module is there to load;
 * otherwise 0, saying so on stderr after who, so that a skipped test or a
 * bench that cannot run is seen, not silent.
 */
static inline int
hsmfx_have(const char *who)
{
	if (system("command -v softhsm2-util >/dev/null 2>&1") == 0 &&
	    access(HSMFX_MODULE, R_OK) == 0)
		return 1;
	fprintf(stderr, "%s: softhsm2-util or %s missing\n", who,
	    HSMFX_MODULE);
	return 0;
}

/*
 * Points the HSM layer at $AIRLOCK_BUILD/bin/airlock-hsm, the helper of
 * the build under test, or back at its default when AIRLOCK_BUILD is
 * unset (also what a test that tried a bad helper path restores with).
 */
static inline void
hsmfx_helper(void)
{
	const char *b = getenv("AIRLOCK_BUILD");
	char path[PATH_MAX + 32];

	if (b == NULL || b[0] == '\0') {
		hsm_set_helper_path(NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s/bin/airlock-hsm", b);
	hsm_set_helper_path(path);
}

/*
 * Starts $AIRLOCK_BUILD/bin/airlock-hsm by hand, its end of a socketpair
 * on fd 3 where it expects its channel and its stderr on /dev/null, for
 * the tests that speak the helper's protocol themselves. The caller's end
 * of the pair, with the child's pid in *pid; or -1 saying why.
 */
static inline int
hsmfx_spawn_helper(pid_t *pid)
{
	const char *b = getenv("AIRLOCK_BUILD");
	char path[PATH_MAX + 32];
	int sv[2];

	*pid = -1;
	if (b == NULL || b[0] == '\0') {
		fprintf(stderr, "hsmfx: $AIRLOCK_BUILD is not set\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/bin/airlock-hsm", b);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		fprintf(stderr, "hsmfx: socketpair: %s\n", strerror(errno));
		return -1;
	}
	if ((*pid = fork()) < 0) {
		fprintf(stderr, "hsmfx: fork: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(sv[1], 3);
		dup2(devnull, 2);
		execl(path, "airlock-hsm", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	return sv[0];
}

/* A URI naming fx's token and the SoftHSM module, for hsm_pool_open. */
static inline void
hsmfx_uri(const struct hsmfx *fx, struct hsm_uri *u)
{
	hsm_uri_init(u);
	snprintf(u->token, sizeof(u->token), "%s", fx->label);
	snprintf(u->module_path, sizeof(u->module_path), "%s", HSMFX_MODULE);
}

/* A pool of n sessions on fx's token, logged in with its PIN. 0 or -1. */
static inline int
hsmfx_pool(const struct hsmfx *fx, unsigned n, struct hsm_pool **out)
{
	struct hsm_uri u;
	err_t e;

	hsmfx_uri(fx, &u);
	err_clear(&e);
	if (hsm_pool_open(NULL, &u, n, fx->pin, out, &e) != 0) {
		fprintf(stderr, "%s: opening %u session(s): %s\n", fx->who, n,
		    e.msg);
		return -1;
	}
	return 0;
}

/*
 * Opens a one-session pool on fx's token without logging in and finds the
 * key labelled label there, so that only its public key shows: for the
 * tests that such a key neither signs nor decrypts. The caller frees
 * *key, then closes *pool. 0 or -1.
 */
static inline int
hsmfx_public(const struct hsmfx *fx, const char *label,
    struct hsm_pool **pool, struct hsm_key **key)
{
	struct hsm_uri u;
	err_t e;

	hsmfx_uri(fx, &u);
	err_clear(&e);
	if (hsm_pool_open(NULL, &u, 1, NULL, pool, &e) != 0) {
		fprintf(stderr, "%s: open without PIN: %s\n", fx->who, e.msg);
		return -1;
	}
	hsm_uri_init(&u);
	snprintf(u.object, sizeof(u.object), "%s", label);
	if (hsm_find_key(*pool, &u, key, &e) != 0) {
		fprintf(stderr, "%s: find public %s: %s\n", fx->who, label,
		    e.msg);
		hsm_pool_close(*pool);
		*pool = NULL;
		return -1;
	}
	return 0;
}

/*
 * Runs softhsm2-util --init-token for fx's token with its output on
 * /dev/null. Spawned, not run through a shell, so no PIN or label needs
 * quoting. The PINs are a throwaway token's, so having them on its
 * command line is harmless. 0 or -1.
 */
static inline int
hsmfx_init_token(const struct hsmfx *fx, const char *so_pin,
    const char *user_pin)
{
	char *argv[] = { "softhsm2-util", "--init-token", "--free", "--label",
	    (char *)(uintptr_t)fx->label, "--so-pin",
	    (char *)(uintptr_t)so_pin, "--pin", (char *)(uintptr_t)user_pin,
	    NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, r;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	(void)posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
	    "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "%s: cannot run softhsm2-util: %s\n", fx->who,
		    strerror(r));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: softhsm2-util --init-token failed\n",
		    fx->who);
		return -1;
	}
	return 0;
}

/*
 * Stops fx's pool, frees its PIN and removes its directory. Keys from the
 * pool must be freed first, and anything the caller keeps open in the
 * directory (a store) closed. Safe on a fixture that failed to open or
 * was closed already.
 */
static inline void
hsmfx_close(struct hsmfx *fx)
{
	hsm_pool_close(fx->pool);
	fx->pool = NULL;
	secret_free(fx->pin);
	fx->pin = NULL;
	if (fx->dir[0] != '\0' && testutil_rmtree(fx->dir) != 0)
		fprintf(stderr, "%s: could not remove %s\n", fx->who, fx->dir);
	fx->dir[0] = '\0';
	fx->ready = 0;
}

/*
 * A fresh token labelled label in a new directory (airlock-WHO.XXXXXX
 * under $TMPDIR), with so_pin and user_pin, each made at random when NULL
 * (a bench's token then has PINs no one else knows); the helper of
 * $AIRLOCK_BUILD; with sessions > 0, fx->pool logged in with that many.
 * who and label must outlive fx. 0, or -1 with everything undone.
 */
static inline int
hsmfx_open(struct hsmfx *fx, const char *who, const char *label,
    const char *so_pin, const char *user_pin, unsigned sessions)
{
	char path[PATH_MAX + 64], so[17], user[17];
	unsigned char rnd[16];
	FILE *f;
	int r = -1;

	memset(fx, 0, sizeof(*fx));
	fx->who = who;
	fx->label = label;
	if (testutil_tmpdir(fx->dir, sizeof(fx->dir), who) != 0) {
		fprintf(stderr, "%s: cannot make a directory for the token: "
		    "%s\n", who, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tokens", fx->dir);
	if (mkdir(path, 0700) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/softhsm2.conf", fx->dir);
	if ((f = fopen(path, "w")) == NULL)
		goto out;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = "
	    "file\nlog.level = ERROR\n", fx->dir);
	if (fclose(f) != 0 || setenv("SOFTHSM2_CONF", path, 1) != 0)
		goto out;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	buf_hex(rnd, 8, user, sizeof(user));
	buf_hex(rnd + 8, 8, so, sizeof(so));
	if (so_pin == NULL)
		so_pin = so;
	if (user_pin == NULL)
		user_pin = user;
	if (hsmfx_init_token(fx, so_pin, user_pin) != 0 ||
	    secret_new(&fx->pin) != 0 ||
	    secret_set(fx->pin, user_pin, strlen(user_pin)) != 0)
		goto out;
	hsmfx_helper();
	if (sessions > 0 && hsmfx_pool(fx, sessions, &fx->pool) != 0)
		goto out;
	fx->ready = 1;
	r = 0;
out:
	explicit_bzero(rnd, sizeof(rnd));
	explicit_bzero(user, sizeof(user));
	explicit_bzero(so, sizeof(so));
	if (r != 0) {
		fprintf(stderr, "%s: no SoftHSM token in %s\n", who, fx->dir);
		hsmfx_close(fx);
	}
	return r;
}

/*
 * A CA whose key is on the fixture's token: the caller fills in what to
 * make, hsmfx_ca the rest.
 */
struct hsmfx_ca {
	struct hsm_keyspec spec;	/* its label names the key and the CA */
	const char *org;		/* NULL: the subject is CN=cn alone */
	const char *cn;
	time_t not_before, not_after;	/* both 0: from an hour ago, 30 years */
	unsigned key_usage;		/* CERTSPEC_KU_*; 0: certs and CRLs */
	struct hsm_key *key;
	X509 *cert;
	int64_t id;			/* the CA's row in the store */
};

/* Frees what hsmfx_ca made; safe to call again. */
static inline void
hsmfx_ca_free(struct hsmfx_ca *ca)
{
	X509_free(ca->cert);
	ca->cert = NULL;
	hsm_key_free(ca->key);
	ca->key = NULL;
}

/*
 * Generates ca->spec's key on fx's pool, self-signs a CA certificate for
 * it there (ca->org and ca->cn, ca's validity, basicConstraints CA with
 * pathLen 0, critical, and ca->key_usage), and records it in st as a
 * devices CA named by the key's label, with the key's real URI.
 * 0, or -1 saying why with nothing left made.
 */
static inline int
hsmfx_ca(struct hsmfx *fx, struct store *st, struct hsmfx_ca *ca)
{
	struct certspec cs;
	struct store_ca row;
	EVP_PKEY *signer = NULL;
	unsigned char rnd[16], sn[16], *der = NULL;
	char subject[512], ski[128], sha[65], uri[512];
	size_t snlen, n = 0;
	diag_t d;
	err_t e;
	int len = 0, r = -1;

	err_clear(&e);
	if (hsm_keygen(fx->pool, &ca->spec, &ca->key, &e) != 0) {
		fprintf(stderr, "%s: hsm_keygen %s: %s\n", fx->who,
		    ca->spec.label, e.msg);
		return -1;
	}
	memset(&cs, 0, sizeof(cs));
	certspec_ext_init(&cs.ext);
	diag_init(&d);
	if ((cs.subject.attrs = calloc(2, sizeof(*cs.subject.attrs))) == NULL)
		goto out;
	if (ca->org != NULL) {
		cs.subject.attrs[n].nid = NID_organizationName;
		cs.subject.attrs[n++].value = strdup(ca->org);
	}
	cs.subject.attrs[n].nid = NID_commonName;
	cs.subject.attrs[n++].value = strdup(ca->cn);
	cs.subject.n = n;
	cs.not_before = ca->not_before;
	cs.not_after = ca->not_after;
	if (cs.not_before == 0 && cs.not_after == 0) {
		cs.not_before = time(NULL) - 3600;
		cs.not_after = cs.not_before + 3600 + 30L * 365 * 86400;
	}
	cs.ext.has_basic_constraints = 1;
	cs.ext.bc_ca = 1;
	cs.ext.bc_path_len = 0;
	cs.ext.bc_critical = 1;
	cs.ext.has_key_usage = 1;
	cs.ext.key_usage = ca->key_usage != 0 ? ca->key_usage :
	    CERTSPEC_KU_KEY_CERT_SIGN | CERTSPEC_KU_CRL_SIGN;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    certbuild_serial(rnd, sizeof(rnd), sn, &snlen) != 0 ||
	    (signer = hsm_key_signer(ca->key)) == NULL ||
	    certbuild_new(&cs, hsm_key_public(ca->key), NULL, sn, snlen,
	    &ca->cert, &e) != 0 ||
	    pkisign_cert(ca->cert, signer, pkisign_md_for_key(
	    hsm_key_public(ca->key), NULL), NULL, NULL, &d, &e) != 0 ||
	    (len = i2d_X509(ca->cert, &der)) <= 0 ||
	    certinfo_subject_text(ca->cert, subject, sizeof(subject)) != 0 ||
	    certinfo_ski_hex(ca->cert, ski, sizeof(ski)) != 0 ||
	    pki_cert_sha256_hex(ca->cert, sha) != 0 ||
	    hsm_key_uri(ca->key, uri, sizeof(uri)) != 0) {
		fprintf(stderr, "%s: CA %s: %s\n", fx->who, ca->spec.label,
		    e.msg[0] != '\0' ? e.msg : "cannot make its certificate");
		goto out;
	}
	memset(&row, 0, sizeof(row));
	row.name = ca->spec.label;
	row.key_uri = uri;
	row.cert_der = der;
	row.cert_der_len = (size_t)len;
	row.subject = subject;
	row.ski = ski;
	row.sha256 = sha;
	if (certinfo_validity(ca->cert, &row.not_before, &row.not_after) != 0)
		goto out;
	row.purpose = "devices";
	row.created = (int64_t)time(NULL);
	if (store_ca_add(st, &row, &ca->id, &e) != 0) {
		fprintf(stderr, "%s: store_ca_add %s: %s\n", fx->who,
		    ca->spec.label, e.msg);
		goto out;
	}
	r = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(signer);
	certspec_free(&cs);
	diag_free(&d);
	if (r != 0)
		hsmfx_ca_free(ca);
	return r;
}

#endif
