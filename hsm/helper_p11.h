/*
 * helper_p11.h: the PKCS#11 work of the airlock-hsm helper process.
 *
 * libp11 loads the module, finds the token and logs in; what libp11 lacks
 * (key-pair generation with exact attribute templates, raw C_Sign and
 * C_Decrypt, random bytes and attribute reads on our own session) goes
 * through the module's CK_FUNCTION_LIST on a session of our own, which
 * shares the login because PKCS#11 login state belongs to the process.
 * Only the helper links this.
 */
#ifndef AIRLOCK_HSM_HELPER_P11_H
#define AIRLOCK_HSM_HELPER_P11_H

#include <stddef.h>

#include "hsm/hsm_proto.h"
#include "util/err.h"

struct hp11;

/* What FIND and KEYGEN return about a key. */
struct hp11_keyrec {
	char label[129];
	unsigned char id[64];
	size_t id_len;
	int keytype;			/* HSM_KEY_RSA or HSM_KEY_EC */
	unsigned char *spki;		/* SubjectPublicKeyInfo DER, heap */
	size_t spki_len;
};

/* Token identity, as the token reports it (blank padding removed). */
struct hp11_token {
	char label[33];
	char serial[17];
	char manufacturer[33];
	char model[17];
};

/*
 * Loads module, selects the one token matching the non-empty fields of want
 * (at least label or serial), logs in with pin when not NULL and opens our
 * session. 0, or ERR_NOTFOUND (listing the tokens present), ERR_AUTH,
 * ERR_HSM, ERR_INVALID; *out is NULL on failure.
 */
int hp11_open(const char *module, const struct hp11_token *want,
    const char *pin, struct hp11 **out, struct hp11_token *info, err_t *err);

/* Closes the session, logs out and unloads the module; NULL is accepted. */
void hp11_close(struct hp11 *h);

/* 1 when the session is logged in as user. */
int hp11_logged_in(const struct hp11 *h);

/*
 * Changes the token's user PIN from old to new (C_SetPIN on our read-write
 * session): 0, ERR_AUTH (old is wrong or the PIN is locked), ERR_INVALID
 * (new is outside the token's PIN lengths), ERR_HSM.
 */
int hp11_set_pin(struct hp11 *h, const char *old, const char *new_pin,
    err_t *err);

/*
 * Stores value as a new private, unmodifiable token data object
 * (CKO_DATA, application "airlock") labelled label: 0, ERR_EXISTS when
 * a data object with that label exists, ERR_AUTH when not logged in,
 * ERR_HSM.
 */
int hp11_data_put(struct hp11 *h, const char *label,
    const unsigned char *value, size_t len, err_t *err);

/*
 * Reads the value of the one data object labelled label into out (at
 * most max bytes): 0, ERR_NOTFOUND, ERR_INVALID (more than one), ERR_LIMIT.
 */
int hp11_data_get(struct hp11 *h, const char *label, unsigned char *out,
    size_t max, size_t *len, err_t *err);

/* n bytes from the token's RNG; 0 or ERR_HSM. */
int hp11_random(struct hp11 *h, unsigned char *out, size_t n, err_t *err);

/*
 * Generates a non-extractable key pair labelled label with a random 16-byte
 * CKA_ID; keytype HSM_KEY_RSA (bits) or HSM_KEY_EC (curve HSM_PROTO_CURVE_*),
 * usage HSM_USAGE_* bits. 0, or ERR_EXISTS when the label is taken.
 */
int hp11_keygen(struct hp11 *h, int keytype, unsigned bits, unsigned curve,
    const char *label, unsigned usage, struct hp11_keyrec *out, err_t *err);

/*
 * Finds exactly one key of class cls (HSM_PROTO_CLASS_*) by label and/or
 * id (either may be empty, not both). 0, ERR_NOTFOUND, or ERR_INVALID when
 * several match.
 */
int hp11_find(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, int cls, struct hp11_keyrec *out, err_t *err);

/* Frees the heap parts of a key record. */
void hp11_keyrec_clear(struct hp11_keyrec *r);

/*
 * Signs in with the private key named by label/id using CKM_RSA_PKCS
 * (op EXTKEY_RSA_PKCS1) or CKM_ECDSA (EXTKEY_ECDSA). 0 or ERR_*.
 */
int hp11_sign(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, int op, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen, size_t sigmax, err_t *err);

/*
 * Decrypts in (exactly modulus-sized) with the RSA private key named by
 * label/id using CKM_RSA_PKCS (mech HSM_PROTO_DECRYPT_PKCS1) or
 * CKM_RSA_X_509 (HSM_PROTO_DECRYPT_RAW) into out (at most outmax bytes).
 * ERR_POLICY when the key lacks CKA_DECRYPT, or may sign and RAW is asked;
 * ERR_INVALID for another mechanism or key type; ERR_HSM when the token
 * refuses (a bad ciphertext among them).
 */
int hp11_decrypt(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, int mech, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t *outlen, size_t outmax, err_t *err);

/*
 * Reads CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE,
 * CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_SIGN, CKA_DECRYPT, CKA_DERIVE,
 * CKA_UNWRAP of the private key, in that order (HSM_PROTO_NATTRS of them).
 */
int hp11_attrs(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, unsigned char out[HSM_PROTO_NATTRS], err_t *err);

#endif
