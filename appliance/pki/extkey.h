/*
 * extkey.h: an OpenSSL private key whose one private operation is a
 * callback.
 *
 * Everything OpenSSL signs (certificates, CRLs, CMS) goes through
 * EVP_PKEY. An extkey carries the real public key and routes the private
 * operation to a callback, so the same X509_sign / X509_CRL_sign / CMS_sign
 * code signs with a key in the HSM (the callback asks the HSM helper) or
 * with the lint "null signer" (the callback returns a dummy signature so
 * that we obtain the exact to-be-signed bytes before the HSM signs).
 *
 * The callback sees exactly what a PKCS#11 token is given:
 *  - EXTKEY_RSA_PKCS1: `in` is a DER DigestInfo; `sig` receives the
 *    PKCS#1 v1.5 signature (modulus size), as CKM_RSA_PKCS does.
 *  - EXTKEY_ECDSA: `in` is the digest; `sig` receives r||s, each the size
 *    of the group order, as CKM_ECDSA does.
 * It returns 0 and sets *siglen, or a negative ERR_* code.
 *
 * A decrypter (extkey_new_decrypter, RSA only) is the same bridge for
 * RSA_private_decrypt, which CMS_decrypt reaches through EVP_PKEY_decrypt:
 *  - EXTKEY_RSA_DECRYPT_PKCS1: `in` is the ciphertext; `out` receives the
 *    plaintext after PKCS#1 v1.5 unpadding, as CKM_RSA_PKCS decryption.
 *  - EXTKEY_RSA_DECRYPT_RAW: `in` is the ciphertext; `out` receives
 *    m = c^d mod n, modulus size, as CKM_RSA_X_509 decryption. OpenSSL
 *    3.0 decrypts RSA-OAEP this way (RSA_NO_PADDING, then it checks the
 *    OAEP padding itself, in constant time), so OAEP needs it.
 * A key is either a signer or a decrypter, never both: a signer refuses
 * every decryption and a decrypter refuses every signature, so that a CA
 * key can never be used to decrypt, nor the transport key to sign.
 *
 * The callback may be called from several threads at once when several
 * threads use the same key; it must be thread-safe.
 */
#ifndef AIRLOCK_PKI_EXTKEY_H
#define AIRLOCK_PKI_EXTKEY_H

#include <stddef.h>
#include <openssl/evp.h>

enum extkey_op {
	EXTKEY_RSA_PKCS1 = 1,
	EXTKEY_ECDSA = 2,
	EXTKEY_RSA_DECRYPT_PKCS1 = 3,
	EXTKEY_RSA_DECRYPT_RAW = 4
};

typedef int (*extkey_sign_fn)(void *ctx, enum extkey_op op,
    const unsigned char *in, size_t inlen, unsigned char *sig,
    size_t *siglen, size_t sigmax);

/* The same shape: `out` gets at most outmax bytes, *outlen their count. */
typedef int (*extkey_decrypt_fn)(void *ctx, enum extkey_op op,
    const unsigned char *in, size_t inlen, unsigned char *out,
    size_t *outlen, size_t outmax);

/*
 * Makes a private key from the public key `pub` (RSA or EC; not consumed)
 * whose signing calls fn(ctx, ...) and which refuses to decrypt. free_ctx,
 * if not NULL, is called on ctx when the key is freed. Returns NULL on
 * failure (unsupported type, memory).
 */
EVP_PKEY *extkey_new(const EVP_PKEY *pub, extkey_sign_fn fn, void *ctx,
    void (*free_ctx)(void *));

/*
 * Makes a private key from the RSA public key `pub` (not consumed) whose
 * decryption calls fn(ctx, ...) and which refuses to sign. free_ctx as for
 * extkey_new. Returns NULL on failure (not RSA, memory).
 */
EVP_PKEY *extkey_new_decrypter(const EVP_PKEY *pub, extkey_decrypt_fn fn,
    void *ctx, void (*free_ctx)(void *));

/*
 * A signer that returns a syntactically valid dummy signature without any
 * secret: used to obtain to-be-signed bytes with the right algorithm
 * identifiers for linting. Never use its output as a real signature.
 */
EVP_PKEY *extkey_null_signer(const EVP_PKEY *pub);

#endif
