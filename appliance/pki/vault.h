/*
 * vault.h: secrets that must outlive a process but never lie on disk in
 * clear: a batch's PKCS#12 password and the device keys the appliance
 * generates, kept until they are exported (a kill -9 between signing and
 * export must not lose them, and the database must not hold them
 * readable).
 *
 * Two layers:
 *  - seal/open: a small secret (a password, a batch's data key) is
 *    encrypted with RSA-OAEP (SHA-256, MGF1-SHA-256) to the appliance's
 *    transport certificate. Anyone with the certificate can seal, so the
 *    unprivileged ingest role needs no HSM; only the transport key in the
 *    HSM can open (its decrypter is an extkey: pki/extkey.h).
 *  - encrypt/decrypt: bulk data (a device key's PKCS#8) is encrypted with
 *    AES-256-GCM under a 32-byte data key, with associated data that binds
 *    it to its place (batch and line), so a blob copied to another line
 *    does not decrypt.
 *
 * Formats (all big-endian, self-describing so a later version can change):
 *   sealed:    "AVS1" || RSA-OAEP ciphertext (modulus size)
 *   encrypted: "AVE1" || nonce (12) || ciphertext || tag (16)
 */
#ifndef AIRLOCK_PKI_VAULT_H
#define AIRLOCK_PKI_VAULT_H

#include <stddef.h>
#include <openssl/evp.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"

#define VAULT_KEY_LEN 32
/* Largest plaintext vault_encrypt takes: a PKCS#8 RSA-4096 key is ~2.4 KiB. */
#define VAULT_DATA_MAX (64 * 1024)

/*
 * Seals len bytes (at most what RSA-OAEP-SHA256 fits in the key: 190 for
 * RSA-2048) to the RSA public key `to`. 0, ERR_LIMIT, ERR_INVALID (not an
 * RSA key) or ERR_CRYPTO.
 */
int vault_seal(const EVP_PKEY *to, const void *data, size_t len, buf_t *out,
    err_t *err);

/*
 * Opens a sealed blob with `key` (the transport key's decrypter, or any
 * RSA private key) into out (wiped first). One message for every failure,
 * so the caller cannot be used as a padding oracle.
 */
int vault_open(EVP_PKEY *key, const void *sealed, size_t len, secret_t *out,
    err_t *err);

/*
 * Encrypts len bytes under data_key (VAULT_KEY_LEN bytes) with a fresh
 * random nonce, binding aad (may be empty). 0, ERR_LIMIT or ERR_CRYPTO.
 */
int vault_encrypt(const secret_t *data_key, const void *aad, size_t aadlen,
    const void *data, size_t len, buf_t *out, err_t *err);

/*
 * Decrypts and authenticates into out (marked secret). A wrong key, other
 * aad or any change to the blob gives ERR_INVALID with one message.
 */
int vault_decrypt(const secret_t *data_key, const void *aad, size_t aadlen,
    const void *blob, size_t len, buf_t *out, err_t *err);

#endif
