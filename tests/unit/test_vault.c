/*
 * test_vault.c: sealed secrets open only with the transport key, and
 * encrypted device keys only with their data key, in their own place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <string.h>

#include "pki/extkey.h"
#include "pki/vault.h"

static EVP_PKEY *transport, *other, *ec;

static int
setup(void **state)
{
	(void)state;
	transport = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return transport && other && ec ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(transport);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ec);
	return 0;
}

/* Stands in for the HSM: raw RSA, as CKM_RSA_X_509 does; OpenSSL unpads. */
static int
raw_decrypt(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *outb, size_t *outlen, size_t max)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ctx, NULL);
	size_t n = max;
	int ok;

	ok = op == EXTKEY_RSA_DECRYPT_RAW && c != NULL &&
	    EVP_PKEY_decrypt_init(c) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) > 0 &&
	    EVP_PKEY_decrypt(c, outb, &n, in, inlen) > 0;
	EVP_PKEY_CTX_free(c);
	*outlen = n;
	return ok ? 0 : -1;
}

static void
test_seal_open(void **state)
{
	static const char pw[] = "correct horse battery staple";
	EVP_PKEY *hsm = extkey_new_decrypter(transport, raw_decrypt, transport,
	    NULL);
	secret_t *s = NULL;
	buf_t b, b2;
	err_t e;

	(void)state;
	assert_non_null(hsm);
	assert_int_equal(secret_new(&s), 0);
	buf_init(&b, 4096);
	buf_init(&b2, 4096);
	assert_int_equal(vault_seal(transport, pw, strlen(pw), &b, &e), 0);
	assert_int_equal(b.len, 4 + 256);
	assert_memory_equal(b.data, "AVS1", 4);
	/* Opened through the extkey path the HSM will use. */
	assert_int_equal(vault_open(hsm, b.data, b.len, s, &e), 0);
	assert_int_equal(s->len, strlen(pw));
	assert_memory_equal(s->data, pw, strlen(pw));
	/* OAEP is randomised: sealing twice gives different blobs. */
	assert_int_equal(vault_seal(transport, pw, strlen(pw), &b2, &e), 0);
	assert_memory_not_equal(b.data, b2.data, b.len);
	secret_free(s);
	buf_free(&b);
	buf_free(&b2);
	EVP_PKEY_free(hsm);
}

static void
test_open_refusals(void **state)
{
	static const char pw[] = "secret";
	secret_t *s = NULL;
	buf_t b;
	err_t e;

	(void)state;
	assert_int_equal(secret_new(&s), 0);
	buf_init(&b, 4096);
	assert_int_equal(vault_seal(transport, pw, strlen(pw), &b, &e), 0);
	/* Another key, a changed byte, a bad magic: one message for all. */
	assert_int_equal(vault_open(other, b.data, b.len, s, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "cannot be opened"));
	assert_int_equal(s->len, 0);
	b.data[100] ^= 1;
	assert_int_equal(vault_open(transport, b.data, b.len, s, &e),
	    ERR_INVALID);
	assert_non_null(strstr(e.msg, "cannot be opened"));
	b.data[100] ^= 1;
	b.data[0] = 'X';
	assert_int_equal(vault_open(transport, b.data, b.len, s, &e),
	    ERR_INVALID);
	assert_int_equal(vault_open(transport, b.data, 3, s, &e), ERR_INVALID);
	assert_int_equal(vault_open(NULL, b.data, b.len, s, &e), ERR_INVALID);
	secret_free(s);
	buf_free(&b);
}

static void
test_seal_refusals(void **state)
{
	unsigned char big[191];
	buf_t b;
	err_t e;

	(void)state;
	memset(big, 'a', sizeof(big));
	buf_init(&b, 4096);
	/* RSA-2048 with OAEP-SHA256 holds at most 190 bytes. */
	assert_int_equal(vault_seal(transport, big, 190, &b, &e), 0);
	buf_reset(&b);
	assert_int_equal(vault_seal(transport, big, 191, &b, &e), ERR_LIMIT);
	assert_non_null(strstr(e.msg, "1 to 190 bytes"));
	assert_int_equal(vault_seal(transport, big, 0, &b, &e), ERR_LIMIT);
	assert_int_equal(vault_seal(ec, big, 10, &b, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "RSA"));
	buf_free(&b);
}

static void
make_key(secret_t **k, unsigned char fill)
{
	unsigned char raw[VAULT_KEY_LEN];

	memset(raw, fill, sizeof(raw));
	assert_int_equal(secret_new(k), 0);
	assert_int_equal(secret_set(*k, raw, sizeof(raw)), 0);
}

static void
test_encrypt_decrypt(void **state)
{
	static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\nfake\n";
	static const char aad[] = "batch 7 line 42";
	secret_t *k = NULL;
	buf_t ct, ct2, pt;
	err_t e;

	(void)state;
	make_key(&k, 0x11);
	buf_init(&ct, 8192);
	buf_init(&ct2, 8192);
	buf_init(&pt, 8192);
	assert_int_equal(vault_encrypt(k, aad, strlen(aad), key_pem,
	    strlen(key_pem), &ct, &e), 0);
	assert_int_equal(ct.len, 4 + 12 + strlen(key_pem) + 16);
	assert_null(memmem(ct.data, ct.len, "PRIVATE", 7));
	assert_int_equal(vault_decrypt(k, aad, strlen(aad), ct.data, ct.len,
	    &pt, &e), 0);
	assert_int_equal(pt.len, strlen(key_pem));
	assert_memory_equal(pt.data, key_pem, pt.len);
	/* A fresh nonce each time. */
	assert_int_equal(vault_encrypt(k, aad, strlen(aad), key_pem,
	    strlen(key_pem), &ct2, &e), 0);
	assert_memory_not_equal(ct.data + 4, ct2.data + 4, 12);
	secret_free(k);
	buf_free(&ct);
	buf_free(&ct2);
	buf_free(&pt);
}

static void
test_decrypt_refusals(void **state)
{
	static const char data[] = "device key";
	secret_t *k = NULL, *k2 = NULL, *shortk = NULL;
	buf_t ct, pt;
	err_t e;

	(void)state;
	make_key(&k, 0x22);
	make_key(&k2, 0x33);
	assert_int_equal(secret_new(&shortk), 0);
	assert_int_equal(secret_set(shortk, "short", 5), 0);
	buf_init(&ct, 8192);
	buf_init(&pt, 8192);
	assert_int_equal(vault_encrypt(k, "line 1", 6, data, strlen(data), &ct,
	    &e), 0);
	/* Moved to another line: the associated data differs. */
	assert_int_equal(vault_decrypt(k, "line 2", 6, ct.data, ct.len, &pt,
	    &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "does not authenticate"));
	assert_int_equal(pt.len, 0);
	assert_int_equal(vault_decrypt(k2, "line 1", 6, ct.data, ct.len, &pt,
	    &e), ERR_INVALID);
	ct.data[ct.len - 1] ^= 1;
	assert_int_equal(vault_decrypt(k, "line 1", 6, ct.data, ct.len, &pt,
	    &e), ERR_INVALID);
	ct.data[ct.len - 1] ^= 1;
	ct.data[20] ^= 1;
	assert_int_equal(vault_decrypt(k, "line 1", 6, ct.data, ct.len, &pt,
	    &e), ERR_INVALID);
	ct.data[20] ^= 1;
	assert_int_equal(vault_decrypt(k, "line 1", 6, ct.data, 20, &pt, &e),
	    ERR_INVALID);
	assert_int_equal(vault_decrypt(shortk, "line 1", 6, ct.data, ct.len,
	    &pt, &e), ERR_INVALID);
	assert_int_equal(vault_encrypt(shortk, NULL, 0, data, strlen(data),
	    &ct, &e), ERR_INVALID);
	assert_int_equal(vault_decrypt(k, "line 1", 6, ct.data, ct.len, &pt,
	    &e), 0);
	secret_free(k);
	secret_free(k2);
	secret_free(shortk);
	buf_free(&ct);
	buf_free(&pt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_seal_refusals),
		cmocka_unit_test(test_encrypt_decrypt),
		cmocka_unit_test(test_decrypt_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
