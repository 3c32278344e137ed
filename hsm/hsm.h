/*
 * hsm.h: signing keys that live in an HSM, and the transport key that
 * decrypts there, reached through airlock-hsm.
 *
 * The PKCS#11 module is never loaded into the calling process: each
 * session is a separate airlock-hsm helper, started with socketpair + fork +
 * exec, that speaks the small bounded protocol of hsm_proto.h. A pool holds
 * N such helpers logged in to one token (chosen by label or serial, never by
 * slot number), so that several threads can sign at once. Keys are made
 * inside the HSM, non-extractable, and named by PKCS#11 URI.
 *
 * Every function returning int returns 0 or a negative ERR_* code with a
 * message in err; messages never contain a PIN.
 */
#ifndef AIRLOCK_HSM_HSM_H
#define AIRLOCK_HSM_HSM_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"
#include "util/secret.h"
#include "pki/extkey.h"
#include "hsm/hsm_uri.h"

struct hsm_pool;	/* N logged-in sessions on one token */
struct hsm_key;		/* a private key on the token, with its public key */

enum hsm_keytype { HSM_KEY_RSA = 1, HSM_KEY_EC = 2 };

#define HSM_USAGE_SIGN		1
#define HSM_USAGE_DECRYPT	2	/* RSA */
#define HSM_USAGE_DERIVE	4	/* EC */

/* Most helpers in one pool. */
#define HSM_POOL_MAX		64

struct hsm_keyspec {
	enum hsm_keytype type;
	unsigned bits;		/* RSA: 2048, 3072 or 4096 */
	int curve_nid;		/* EC: NID_X9_62_prime256v1 or NID_secp384r1 */
	const char *label;
	unsigned usage;		/* HSM_USAGE_*; 0 means HSM_USAGE_SIGN */
};

struct hsm_key_attrs {
	int token, private_, sensitive, always_sensitive, extractable,
	    never_extractable;
	/* What the private key may do (CKA_SIGN, _DECRYPT, _DERIVE, _UNWRAP). */
	int sign, decrypt, derive, unwrap;
};

struct hsm_token_info {
	char label[33];
	char serial[17];
	char manufacturer[33];
	char model[17];
};

/* Overrides where the airlock-hsm binary is found (copied; NULL resets). */
void hsm_set_helper_path(const char *path);

/*
 * Starts nsessions helpers on the token named by the token, serial,
 * manufacturer and model fields of token (label or serial required), loading
 * module_path (NULL: token->module_path), each logged in with pin when pin
 * is not NULL (otherwise public objects only). ERR_AUTH for a wrong or
 * locked PIN, ERR_NOTFOUND naming the tokens present, ERR_HSM.
 */
int hsm_pool_open(const char *module_path, const struct hsm_uri *token,
    unsigned nsessions, const secret_t *pin, struct hsm_pool **out,
    err_t *err);

/*
 * How every ERR_AUTH message starts when the token itself refused the PIN
 * (CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE), as opposed to a PIN the token
 * has locked, a login the token did not ask for, or any other failure.
 */
#define HSM_WRONG_PIN "wrong PIN for token"

/*
 * 1 when e is the token's refusal of the PIN (ERR_AUTH with a message
 * starting HSM_WRONG_PIN): a failed login that lock-outs count; else 0.
 */
int hsm_wrong_pin(const err_t *e);

/* Stops every helper and frees the pool; keys from it must be freed first. */
void hsm_pool_close(struct hsm_pool *p);

/* The token's label, serial, manufacturer and model. */
int hsm_pool_token_info(struct hsm_pool *p, struct hsm_token_info *out,
    err_t *err);

/*
 * Changes the token's user PIN from old to new_pin through one helper of
 * the pool (C_SetPIN). ERR_AUTH when the token refuses old, ERR_INVALID
 * when it refuses new_pin, ERR_HSM.
 */
int hsm_pool_set_pin(struct hsm_pool *p, const secret_t *old,
    const secret_t *new_pin, err_t *err);

/*
 * Stores value (1..1024 bytes, e.g. a PIN share record) on the token as a
 * private, unmodifiable data object labelled label; the pool must be
 * logged in. ERR_EXISTS when the label is taken.
 */
int hsm_data_put(struct hsm_pool *p, const char *label, const secret_t *value,
    err_t *err);

/* Reads the data object labelled label into out (wiped first). */
int hsm_data_get(struct hsm_pool *p, const char *label, secret_t *out,
    err_t *err);

/* n (<= 1024) bytes from the HSM's random number generator. */
int hsm_random(struct hsm_pool *p, void *out, size_t n, err_t *err);

/*
 * Generates a key pair in the HSM (private: token, private, sensitive,
 * not extractable; random 16-byte CKA_ID) and checks the public key it
 * returns has the size or curve asked for. ERR_EXISTS when an object with
 * that label exists, ERR_INVALID for an unsupported spec.
 */
int hsm_keygen(struct hsm_pool *p, const struct hsm_keyspec *spec,
    struct hsm_key **out, err_t *err);

/*
 * Finds the key named by the object label and/or id of key: exactly one
 * private key must match (one public key when the pool is not logged in).
 */
int hsm_find_key(struct hsm_pool *p, const struct hsm_uri *key,
    struct hsm_key **out, err_t *err);

/* The key's public key (owned by k). */
const EVP_PKEY *hsm_key_public(const struct hsm_key *k);

/*
 * A new extkey-backed private EVP_PKEY that signs through the pool,
 * thread-safe; NULL on failure. The caller frees it, before k.
 */
EVP_PKEY *hsm_key_signer(struct hsm_key *k);

/*
 * A new extkey-backed private EVP_PKEY that decrypts through the pool
 * (for CMS_decrypt: RSA PKCS#1 v1.5 and OAEP key transport) and refuses to
 * sign; thread-safe. NULL when k is not RSA, the pool is not logged in, or
 * on failure. The helper decrypts only with a key whose CKA_DECRYPT is
 * set. The caller frees it, before k.
 */
EVP_PKEY *hsm_key_decrypter(struct hsm_key *k);

/* Reads the private key's protection and usage attributes. */
int hsm_key_attrs(struct hsm_key *k, struct hsm_key_attrs *out, err_t *err);

/* "pkcs11:token=...;object=...;id=%..;type=private"; 0 or ERR_LIMIT. */
int hsm_key_uri(const struct hsm_key *k, char *out, size_t outsz);

/* The key's CKA_LABEL. */
const char *hsm_key_label(const struct hsm_key *k);

/* HSM_KEY_RSA or HSM_KEY_EC. */
enum hsm_keytype hsm_key_type(const struct hsm_key *k);

/*
 * Checks that cert's public key is k's and that the HSM can sign with k a
 * random challenge that verifies under cert's key. ERR_POLICY when not.
 */
int hsm_key_check_cert(struct hsm_key *k, X509 *cert, err_t *err);

/* Frees k; NULL is accepted. Signers made from k must be freed first. */
void hsm_key_free(struct hsm_key *k);

/*
 * Raw private-key operation on a free session: op EXTKEY_RSA_PKCS1 (in is
 * a DER DigestInfo) or EXTKEY_ECDSA (in is a digest; sig gets r||s).
 */
int hsm_sign_raw(struct hsm_key *k, enum extkey_op op,
    const unsigned char *in, size_t inlen, unsigned char *sig,
    size_t *siglen, size_t sigmax, err_t *err);

/*
 * Raw decryption on a free session with RSA key k: op
 * EXTKEY_RSA_DECRYPT_PKCS1 (CKM_RSA_PKCS; out gets the unpadded plaintext)
 * or EXTKEY_RSA_DECRYPT_RAW (CKM_RSA_X_509; out gets c^d mod n). in is
 * the modulus-sized ciphertext (<= HSM_PROTO_CIPHER_MAX bytes); out gets
 * at most outmax bytes. ERR_POLICY when the key may not decrypt that way,
 * ERR_INVALID for a wrong op, key type or length, ERR_HSM when the token
 * refuses the ciphertext.
 */
int hsm_decrypt_raw(struct hsm_key *k, enum extkey_op op,
    const unsigned char *in, size_t inlen, unsigned char *out,
    size_t *outlen, size_t outmax, err_t *err);

#endif
