/* vault.c: sealed and encrypted secrets at rest (see vault.h). */
#include "pki/vault.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <string.h>

#define SEAL_MAGIC "AVS1"
#define ENC_MAGIC "AVE1"
#define MAGIC_LEN 4
#define NONCE_LEN 12
#define TAG_LEN 16

static const char vault_open_msg[] = "the sealed secret cannot be opened "
    "with the appliance transport key (damaged, or sealed to another key)";
static const char vault_dec_msg[] = "the encrypted secret does not "
    "authenticate (damaged, moved to another record, or another key)";

/* RSA-OAEP with SHA-256 for both the hash and MGF1, on either side. */
static int
vault_oaep(EVP_PKEY_CTX *c)
{
	return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0;
}

int
vault_seal(const EVP_PKEY *to, const void *data, size_t len, buf_t *out,
    err_t *err)
{
	EVP_PKEY_CTX *c = NULL;
	unsigned char *p;
	size_t outlen = 0, reserved, max;
	int r = 0;

	if (to == NULL || EVP_PKEY_get_base_id(to) != EVP_PKEY_RSA)
		return err_set(err, ERR_INVALID, "secrets are sealed to an RSA "
		    "transport key");
	/* OAEP-SHA256 leaves k - 2*32 - 2 bytes for the message. */
	max = (size_t)EVP_PKEY_get_size(to) - 2 * 32 - 2;
	if (len == 0 || len > max)
		return err_set(err, ERR_LIMIT, "a sealed secret holds 1 to %zu "
		    "bytes, not %zu", max, len);
	if ((c = EVP_PKEY_CTX_new((EVP_PKEY *)(uintptr_t)to, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(c) <= 0 || !vault_oaep(c) ||
	    EVP_PKEY_encrypt(c, NULL, &outlen, data, len) <= 0) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot seal the secret");
		goto out;
	}
	reserved = outlen;
	if (buf_put(out, SEAL_MAGIC, MAGIC_LEN) != 0 ||
	    buf_reserve(out, reserved, &p) != 0) {
		r = err_set(err, ERR_LIMIT, "sealed secret too large");
		goto out;
	}
	if (EVP_PKEY_encrypt(c, p, &outlen, data, len) <= 0) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot seal the secret");
		goto out;
	}
	/* The reservation was the maximum; trim to what OAEP produced. */
	out->len -= reserved - outlen;
out:
	EVP_PKEY_CTX_free(c);
	return r;
}

int
vault_open(EVP_PKEY *key, const void *sealed, size_t len, secret_t *out,
    err_t *err)
{
	const unsigned char *s = sealed;
	unsigned char plain[1024];
	EVP_PKEY_CTX *c = NULL;
	size_t plen = sizeof(plain);
	int ok;

	secret_wipe(out);
	if (key == NULL || len <= MAGIC_LEN ||
	    memcmp(s, SEAL_MAGIC, MAGIC_LEN) != 0)
		return err_set(err, ERR_INVALID, "%s", vault_open_msg);
	ok = (c = EVP_PKEY_CTX_new(key, NULL)) != NULL &&
	    EVP_PKEY_decrypt_init(c) > 0 && vault_oaep(c) &&
	    EVP_PKEY_decrypt(c, plain, &plen, s + MAGIC_LEN,
	    len - MAGIC_LEN) > 0 && secret_set(out, plain, plen) == 0;
	explicit_bzero(plain, sizeof(plain));
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	if (!ok) {
		secret_wipe(out);
		return err_set(err, ERR_INVALID, "%s", vault_open_msg);
	}
	return 0;
}

int
vault_encrypt(const secret_t *data_key, const void *aad, size_t aadlen,
    const void *data, size_t len, buf_t *out, err_t *err)
{
	EVP_CIPHER_CTX *c = NULL;
	unsigned char *nonce, *ct, *tag;
	int n = 0, r = 0;

	if (data_key == NULL || data_key->len != VAULT_KEY_LEN)
		return err_set(err, ERR_INVALID, "a data key has %d bytes",
		    VAULT_KEY_LEN);
	if (len > VAULT_DATA_MAX || aadlen > VAULT_DATA_MAX)
		return err_set(err, ERR_LIMIT, "at most %d bytes are encrypted "
		    "at once", VAULT_DATA_MAX);
	if (buf_put(out, ENC_MAGIC, MAGIC_LEN) != 0 ||
	    buf_reserve(out, NONCE_LEN, &nonce) != 0 ||
	    buf_reserve(out, len, &ct) != 0 ||
	    buf_reserve(out, TAG_LEN, &tag) != 0)
		return err_set(err, ERR_LIMIT, "encrypted secret too large");
	/* Recompute: buf_reserve may have moved the data while growing. */
	nonce = out->data + out->len - TAG_LEN - len - NONCE_LEN;
	ct = nonce + NONCE_LEN;
	tag = ct + len;
	/* A fresh random nonce each time: a data key never sees 2^32 blobs. */
	if (RAND_bytes(nonce, NONCE_LEN) != 1 ||
	    (c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, data_key->data,
	    nonce) != 1 ||
	    (aadlen > 0 && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) != 1) ||
	    EVP_EncryptUpdate(c, ct, &n, data, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, ct + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		r = err_set_ossl(err, ERR_CRYPTO, "cannot encrypt the secret");
	EVP_CIPHER_CTX_free(c);
	return r;
}

int
vault_decrypt(const secret_t *data_key, const void *aad, size_t aadlen,
    const void *blob, size_t len, buf_t *out, err_t *err)
{
	const unsigned char *b = blob;
	EVP_CIPHER_CTX *c = NULL;
	unsigned char *pt;
	size_t ctlen;
	int n = 0, ok;

	buf_set_secret(out);
	if (data_key == NULL || data_key->len != VAULT_KEY_LEN ||
	    len < MAGIC_LEN + NONCE_LEN + TAG_LEN ||
	    memcmp(b, ENC_MAGIC, MAGIC_LEN) != 0 ||
	    len - MAGIC_LEN - NONCE_LEN - TAG_LEN > VAULT_DATA_MAX ||
	    aadlen > VAULT_DATA_MAX)
		return err_set(err, ERR_INVALID, "%s", vault_dec_msg);
	ctlen = len - MAGIC_LEN - NONCE_LEN - TAG_LEN;
	if (buf_reserve(out, ctlen, &pt) != 0)
		return err_set(err, ERR_LIMIT, "decrypted secret too large");
	ok = (c = EVP_CIPHER_CTX_new()) != NULL &&
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, data_key->data,
	    b + MAGIC_LEN) == 1 &&
	    (aadlen == 0 || EVP_DecryptUpdate(c, NULL, &n, aad,
	    (int)aadlen) == 1) &&
	    EVP_DecryptUpdate(c, pt, &n, b + MAGIC_LEN + NONCE_LEN,
	    (int)ctlen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	    (void *)(uintptr_t)(b + len - TAG_LEN)) == 1 &&
	    EVP_DecryptFinal_ex(c, pt + n, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	if (!ok) {
		/* Never hand out plaintext that did not authenticate. */
		buf_reset(out);
		return err_set(err, ERR_INVALID, "%s", vault_dec_msg);
	}
	return 0;
}
