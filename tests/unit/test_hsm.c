/*
 * test_hsm.c: the HSM client and helper against a fresh SoftHSM token.
 *
 * Each run makes a throwaway token in a temporary directory (the PINs on
 * softhsm2-util's command line are acceptable for that token only) and
 * exercises the pool through the real airlock-hsm helper from
 * $AIRLOCK_BUILD/bin. Skips, saying why, when softhsm2-util is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "hsm/hsm_proto.h"
#include "hsmfx.h"
#include "testutil.h"

#define TOKEN "airlock-test"
#define USER_PIN "87654321"

static struct hsmfx fx;
/* Opened by test_open_pool, which tests hsm_pool_open itself. */
static struct hsm_pool *pool;

static int
setup_token(void **state)
{
	(void)state;
	if (!hsmfx_have("test_hsm"))
		return 0;
	return hsmfx_open(&fx, "test_hsm", TOKEN, "12345678", USER_PIN, 0);
}

static int
teardown_token(void **state)
{
	(void)state;
	hsm_pool_close(pool);
	hsmfx_close(&fx);
	return 0;
}

static void
token_uri(struct hsm_uri *u, const char *label)
{
	hsmfx_uri(&fx, u);
	snprintf(u->token, sizeof(u->token), "%s", label);
}

/* Opens the shared pool first: later tests use it. */
static void
test_open_pool(void **state)
{
	struct hsm_token_info ti;
	struct hsm_uri u;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	token_uri(&u, TOKEN);
	err_clear(&err);
	if (hsm_pool_open(NULL, &u, 2, fx.pin, &pool, &err) != 0)
		fail_msg("hsm_pool_open: %s", err.msg);
	assert_int_equal(hsm_pool_token_info(pool, &ti, &err), 0);
	assert_string_equal(ti.label, TOKEN);
	assert_true(ti.serial[0] != '\0');
}

static void
test_wrong_pin(void **state)
{
	struct hsm_pool *p = NULL;
	struct hsm_uri u;
	secret_t *bad;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	token_uri(&u, TOKEN);
	assert_int_equal(secret_new(&bad), 0);
	assert_int_equal(secret_set(bad, "11111111", 8), 0);
	assert_int_equal(hsm_pool_open(NULL, &u, 2, bad, &p, &err), ERR_AUTH);
	assert_null(p);
	assert_non_null(strstr(err.msg, "wrong PIN for token 'airlock-test'"));
	assert_null(strstr(err.msg, "11111111"));
	/* What lock-outs count: this, and no other failure. */
	assert_true(hsm_wrong_pin(&err));
	secret_free(bad);
}

static void
test_wrong_pin_only(void **state)
{
	err_t e;

	(void)state;
	err_set(&e, ERR_AUTH, "the user PIN of token 't' is locked; the "
	    "security officer must unlock it");
	assert_false(hsm_wrong_pin(&e));
	err_set(&e, ERR_HSM, HSM_WRONG_PIN " 't'");
	assert_false(hsm_wrong_pin(&e));
	err_set(&e, ERR_AUTH, HSM_WRONG_PIN " 't' (its length is outside "
	    "what the token accepts)");
	assert_true(hsm_wrong_pin(&e));
	assert_false(hsm_wrong_pin(NULL));
}

static void
test_unknown_token(void **state)
{
	struct hsm_pool *p = NULL;
	struct hsm_uri u;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	token_uri(&u, "no-such-token");
	assert_int_equal(hsm_pool_open(NULL, &u, 1, fx.pin, &p, &err),
	    ERR_NOTFOUND);
	assert_null(p);
	assert_non_null(strstr(err.msg, "no-such-token"));
	assert_non_null(strstr(err.msg, "'airlock-test'"));
}

static void
test_bad_open_args(void **state)
{
	struct hsm_pool *p = NULL;
	struct hsm_uri u;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	hsm_uri_init(&u);
	snprintf(u.module_path, sizeof(u.module_path), "%s", HSMFX_MODULE);
	assert_int_equal(hsm_pool_open(NULL, &u, 1, fx.pin, &p, &err),
	    ERR_INVALID);
	token_uri(&u, TOKEN);
	assert_int_equal(hsm_pool_open("libsofthsm2.so", &u, 1, fx.pin, &p,
	    &err), ERR_INVALID);
	assert_int_equal(hsm_pool_open(NULL, &u, 0, fx.pin, &p, &err),
	    ERR_INVALID);
}

static void
test_bad_helper_path(void **state)
{
	struct hsm_pool *p = NULL;
	struct hsm_uri u;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	token_uri(&u, TOKEN);
	hsm_set_helper_path("/nonexistent/airlock-hsm");
	assert_int_equal(hsm_pool_open(NULL, &u, 1, fx.pin, &p, &err),
	    ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/airlock-hsm"));
	hsmfx_helper();
}

static void
test_random(void **state)
{
	unsigned char a[32], b[32], big[1025];
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	assert_int_equal(hsm_random(pool, a, sizeof(a), &err), 0);
	assert_int_equal(hsm_random(pool, b, sizeof(b), &err), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(hsm_random(pool, big, 1024, &err), 0);
	assert_int_equal(hsm_random(pool, big, sizeof(big), &err),
	    ERR_INVALID);
	assert_int_equal(hsm_random(pool, big, 0, &err), ERR_INVALID);
}

static void
check_attrs(struct hsm_key *k)
{
	struct hsm_key_attrs a;
	err_t err;

	if (hsm_key_attrs(k, &a, &err) != 0)
		fail_msg("hsm_key_attrs: %s", err.msg);
	assert_int_equal(a.token, 1);
	assert_int_equal(a.private_, 1);
	assert_int_equal(a.sensitive, 1);
	assert_int_equal(a.always_sensitive, 1);
	assert_int_equal(a.extractable, 0);
	assert_int_equal(a.never_extractable, 1);
}

/* A self-signed certificate for k's public key, signed in the HSM. */
static X509 *
make_cert(struct hsm_key *k, const char *cn)
{
	EVP_PKEY *signer;
	X509 *x;
	X509_NAME *n;

	signer = hsm_key_signer(k);
	assert_non_null(signer);
	x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	assert_int_equal(X509_set_pubkey(x, (EVP_PKEY *)(uintptr_t)
	    hsm_key_public(k)), 1);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	EVP_PKEY_free(signer);
	/* OpenSSL verifies with the public key only: the HSM signed it. */
	assert_int_equal(X509_verify(x, (EVP_PKEY *)(uintptr_t)
	    hsm_key_public(k)), 1);
	return x;
}

static struct hsm_key *
gen(enum hsm_keytype t, unsigned bits, int nid, const char *label,
    unsigned usage)
{
	struct hsm_keyspec s = { t, bits, nid, label, usage };
	struct hsm_key *k = NULL;
	err_t err;

	if (hsm_keygen(pool, &s, &k, &err) != 0)
		fail_msg("hsm_keygen %s: %s", label, err.msg);
	return k;
}

static void
test_keygen_sign(void **state)
{
	struct hsm_key *rsa, *p256, *p384, *found;
	struct hsm_uri u;
	char uri[512];
	X509 *c1, *c2, *c3;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	rsa = gen(HSM_KEY_RSA, 2048, 0, "rsa2048", 0);
	p256 = gen(HSM_KEY_EC, 0, NID_X9_62_prime256v1, "p256", 0);
	p384 = gen(HSM_KEY_EC, 0, NID_secp384r1, "p384",
	    HSM_USAGE_SIGN | HSM_USAGE_DERIVE);
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_public(rsa)), 2048);
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_public(p256)), 256);
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_public(p384)), 384);
	check_attrs(rsa);
	check_attrs(p256);
	check_attrs(p384);
	assert_string_equal(hsm_key_label(p256), "p256");

	c1 = make_cert(rsa, "rsa");
	c2 = make_cert(p256, "p256");
	c3 = make_cert(p384, "p384");
	if (hsm_key_check_cert(rsa, c1, &err) != 0)
		fail_msg("check_cert: %s", err.msg);
	assert_int_equal(hsm_key_check_cert(p256, c2, &err), 0);
	assert_int_equal(hsm_key_check_cert(p384, c3, &err), 0);
	assert_int_equal(hsm_key_check_cert(rsa, c2, &err), ERR_POLICY);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_int_equal(hsm_key_check_cert(p256, c3, &err), ERR_POLICY);

	/* The URI names the key well enough to find it again. */
	assert_int_equal(hsm_key_uri(p256, uri, sizeof(uri)), 0);
	assert_non_null(strstr(uri, "token=airlock-test;object=p256;id=%"));
	assert_non_null(strstr(uri, ";type=private"));
	assert_int_equal(hsm_uri_parse(uri, &u, &err), 0);
	if (hsm_find_key(pool, &u, &found, &err) != 0)
		fail_msg("hsm_find_key: %s", err.msg);
	assert_int_equal(EVP_PKEY_eq(hsm_key_public(found),
	    hsm_key_public(p256)), 1);
	assert_int_equal(hsm_key_check_cert(found, c2, &err), 0);
	hsm_key_free(found);

	/* By label alone. */
	hsm_uri_init(&u);
	snprintf(u.object, sizeof(u.object), "rsa2048");
	assert_int_equal(hsm_find_key(pool, &u, &found, &err), 0);
	assert_int_equal(EVP_PKEY_eq(hsm_key_public(found),
	    hsm_key_public(rsa)), 1);
	hsm_key_free(found);
	snprintf(u.object, sizeof(u.object), "missing");
	assert_int_equal(hsm_find_key(pool, &u, &found, &err), ERR_NOTFOUND);
	assert_null(found);

	X509_free(c1);
	X509_free(c2);
	X509_free(c3);
	hsm_key_free(rsa);
	hsm_key_free(p256);
	hsm_key_free(p384);
}

static void
test_keygen_refusals(void **state)
{
	struct hsm_keyspec s = { HSM_KEY_EC, 0, NID_X9_62_prime256v1, "dup",
	    0 };
	struct hsm_key *k = NULL, *k2 = NULL;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	assert_int_equal(hsm_keygen(pool, &s, &k, &err), 0);
	assert_int_equal(hsm_keygen(pool, &s, &k2, &err), ERR_EXISTS);
	assert_null(k2);
	assert_non_null(strstr(err.msg, "'dup'"));
	assert_non_null(strstr(err.msg, "'airlock-test'"));
	hsm_key_free(k);

	s.label = "bad";
	s.curve_nid = NID_secp521r1;
	assert_int_equal(hsm_keygen(pool, &s, &k, &err), ERR_INVALID);
	s.type = HSM_KEY_RSA;
	s.bits = 1024;
	assert_int_equal(hsm_keygen(pool, &s, &k, &err), ERR_INVALID);
	s.bits = 2048;
	s.usage = HSM_USAGE_DERIVE;
	assert_int_equal(hsm_keygen(pool, &s, &k, &err), ERR_INVALID);
	s.usage = 0;
	s.label = "";
	assert_int_equal(hsm_keygen(pool, &s, &k, &err), ERR_INVALID);
}

static void
test_transport_key(void **state)
{
	struct hsm_key *k;
	X509 *c;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	k = gen(HSM_KEY_RSA, 3072, 0, "transport",
	    HSM_USAGE_SIGN | HSM_USAGE_DECRYPT);
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_public(k)), 3072);
	check_attrs(k);
	c = make_cert(k, "transport");
	assert_int_equal(hsm_key_check_cert(k, c, &err), 0);
	X509_free(c);
	hsm_key_free(k);
}

struct par {
	EVP_PKEY *signer;
	const EVP_PKEY *pub;
	int ok;
};

static void *
par_sign(void *arg)
{
	struct par *p = arg;
	unsigned char sig[512], msg[] = "parallel";
	size_t siglen;
	int i;

	p->ok = 1;
	for (i = 0; i < 20; i++) {
		EVP_MD_CTX *md;

		siglen = sizeof(sig);
		md = EVP_MD_CTX_new();
		if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
		    p->signer) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1)
			p->ok = 0;
		EVP_MD_CTX_free(md);
		md = EVP_MD_CTX_new();
		if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
		    (EVP_PKEY *)(uintptr_t)p->pub) != 1 ||
		    EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)) != 1)
			p->ok = 0;
		EVP_MD_CTX_free(md);
	}
	return NULL;
}

static void
test_parallel(void **state)
{
	struct hsm_key *k;
	struct par a, b;
	pthread_t ta, tb;
	EVP_PKEY *signer;

	(void)state;
	HSMFX_NEED(&fx);
	k = gen(HSM_KEY_EC, 0, NID_X9_62_prime256v1, "parallel", 0);
	signer = hsm_key_signer(k);
	assert_non_null(signer);
	a.signer = b.signer = signer;
	a.pub = b.pub = hsm_key_public(k);
	assert_int_equal(pthread_create(&ta, NULL, par_sign, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, par_sign, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_true(a.ok);
	assert_true(b.ok);
	EVP_PKEY_free(signer);
	hsm_key_free(k);
}

static void
test_sign_raw(void **state)
{
	struct hsm_key *k;
	struct hsm_uri u;
	unsigned char dg[32] = { 1 }, sig[512];
	size_t siglen;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	hsm_uri_init(&u);
	snprintf(u.object, sizeof(u.object), "p256");
	assert_int_equal(hsm_find_key(pool, &u, &k, &err), 0);
	assert_int_equal(hsm_sign_raw(k, EXTKEY_ECDSA, dg, sizeof(dg), sig,
	    &siglen, sizeof(sig), &err), 0);
	assert_int_equal(siglen, 64);
	assert_int_equal(hsm_sign_raw(k, EXTKEY_RSA_PKCS1, dg, sizeof(dg), sig,
	    &siglen, sizeof(sig), &err), ERR_INVALID);
	hsm_key_free(k);
}

static void
test_public_only(void **state)
{
	struct hsm_pool *p = NULL;
	struct hsm_key *k = NULL;

	(void)state;
	HSMFX_NEED(&fx);
	if (hsmfx_public(&fx, "p256", &p, &k) != 0)
		fail_msg("no public-only view of p256");
	assert_null(hsm_key_signer(k));
	hsm_key_free(k);
	hsm_pool_close(p);
}

/*
 * Starts airlock-hsm by hand on a socketpair, sends raw bytes and returns
 * its exit status; the helper must exit without answering.
 */
static int
helper_feed(const void *bytes, size_t len)
{
	char c;
	int fd, st;
	pid_t pid;

	assert_true((fd = hsmfx_spawn_helper(&pid)) >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	(void)shutdown(fd, SHUT_WR);
	/*
	 * No reply: the helper closes the channel (a reset when it left
	 * bytes unread).
	 */
	assert_true(read(fd, &c, 1) <= 0);
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
test_helper_anomalies(void **state)
{
	/* RANDOM n=16, correct framing but before OPEN. */
	static const unsigned char early[] = {
		0, 0, 0, 9, HSM_MSG_RANDOM, 0, 0, 0, 1, 0, 0, 0, 16
	};
	static const unsigned char wrongid[] = {
		0, 0, 0, 9, HSM_MSG_RANDOM, 0, 0, 0, 2, 0, 0, 0, 16
	};
	static const unsigned char oversize[] = { 0, 0x10, 0, 0, 1 };
	static const unsigned char unknown[] = { 0, 0, 0, 5, 99, 0, 0, 0, 1 };
	static const unsigned char reply[] = { 0, 0, 0, 5, 64, 0, 0, 0, 1 };
	static const unsigned char badopen[] = {
		0, 0, 0, 9, HSM_MSG_OPEN, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff
	};

	(void)state;
	if (getenv("AIRLOCK_BUILD") == NULL)
		skip();
	assert_int_equal(helper_feed(early, sizeof(early)), 1);
	assert_int_equal(helper_feed(wrongid, sizeof(wrongid)), 1);
	assert_int_equal(helper_feed(oversize, sizeof(oversize)), 1);
	assert_int_equal(helper_feed(unknown, sizeof(unknown)), 1);
	assert_int_equal(helper_feed(reply, sizeof(reply)), 1);
	assert_int_equal(helper_feed(badopen, sizeof(badopen)), 1);
	/* A clean close before any request is a normal exit. */
	assert_int_equal(helper_feed("", 0), 0);
}

/* C_SetPIN through the helper: the new PIN logs in, the old one not. */
static void
test_set_pin(void **state)
{
	struct hsm_pool *p = NULL;
	struct hsm_uri u;
	secret_t *newpin, *bad;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	token_uri(&u, TOKEN);
	assert_int_equal(secret_new(&newpin), 0);
	assert_int_equal(secret_set(newpin, "n3wPinForTheTest", 16), 0);
	assert_int_equal(secret_new(&bad), 0);
	assert_int_equal(secret_set(bad, "11111111", 8), 0);
	/* A wrong current PIN changes nothing. */
	assert_int_equal(hsm_pool_set_pin(pool, bad, newpin, &err), ERR_AUTH);
	assert_null(strstr(err.msg, "11111111"));
	assert_int_equal(hsm_pool_set_pin(pool, fx.pin, newpin, &err), 0);
	assert_int_equal(hsm_pool_open(NULL, &u, 1, fx.pin, &p, &err),
	    ERR_AUTH);
	assert_int_equal(hsm_pool_open(NULL, &u, 1, newpin, &p, &err), 0);
	/* Back, from a public session: C_SetPIN checks the old PIN there too. */
	hsm_pool_close(p);
	p = NULL;
	assert_int_equal(hsm_pool_open(NULL, &u, 1, NULL, &p, &err), 0);
	assert_int_equal(hsm_pool_set_pin(p, newpin, fx.pin, &err), 0);
	hsm_pool_close(p);
	p = NULL;
	assert_int_equal(hsm_pool_open(NULL, &u, 1, fx.pin, &p, &err), 0);
	hsm_pool_close(p);
	secret_free(newpin);
	secret_free(bad);
}

/* Private data objects: stored once, read back only when logged in. */
static void
test_data_object(void **state)
{
	struct hsm_pool *pub = NULL;
	struct hsm_uri u;
	secret_t *v, *got;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	assert_int_equal(secret_new(&v), 0);
	assert_int_equal(secret_new(&got), 0);
	assert_int_equal(secret_set(v, "airlock-pin-share: 1\n", 21), 0);
	assert_int_equal(hsm_data_put(pool, "t-share", v, &err), 0);
	assert_int_equal(hsm_data_get(pool, "t-share", got, &err), 0);
	assert_int_equal(got->len, 21);
	assert_memory_equal(got->data, v->data, 21);
	assert_int_equal(hsm_data_put(pool, "t-share", v, &err), ERR_EXISTS);
	assert_int_equal(hsm_data_get(pool, "no-such", got, &err),
	    ERR_NOTFOUND);
	assert_int_equal(got->len, 0);
	/* Without a login the private object is not there to read. */
	token_uri(&u, TOKEN);
	assert_int_equal(hsm_pool_open(NULL, &u, 1, NULL, &pub, &err), 0);
	assert_int_equal(hsm_data_get(pub, "t-share", got, &err), ERR_NOTFOUND);
	assert_int_equal(hsm_data_put(pub, "t-other", v, &err), ERR_AUTH);
	hsm_pool_close(pub);
	secret_free(v);
	secret_free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_pool),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_wrong_pin_only),
		cmocka_unit_test(test_unknown_token),
		cmocka_unit_test(test_bad_open_args),
		cmocka_unit_test(test_bad_helper_path),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_keygen_sign),
		cmocka_unit_test(test_keygen_refusals),
		cmocka_unit_test(test_transport_key),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_sign_raw),
		cmocka_unit_test(test_public_only),
		cmocka_unit_test(test_helper_anomalies),
		cmocka_unit_test(test_set_pin),
		cmocka_unit_test(test_data_object),
	};

	return cmocka_run_group_tests(tests, setup_token, teardown_token);
}
