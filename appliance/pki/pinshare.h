/*
 * pinshare.h: M-of-N shares of a token's user PIN (docs/formats/pinshare.md).
 *
 * The split-pin ceremony sets a random user PIN on the CA token, splits
 * it with Shamir's scheme over GF(2^8) (libgfshare) into N shares of which
 * any M rebuild it, and gives each officer one share record: a short
 * canonical text naming the token, M, N, the share's index and the
 * officer's certificate, with the share bytes in hex. The record travels
 * as CMS EnvelopedData (AES-256-CBC) encrypted to the officer's
 * certificate, so an officer can open it with `openssl cms -decrypt` and
 * the console opens it with the officer's key; or it is stored as is on
 * the officer's own token, as a private data object (hsm_data_put).
 *
 * Records arrive from outside (a file, the console socket), so the parser
 * is strict and bounded like the approval statement's: one canonical
 * spelling only. Share bytes and whole records live in secret_t holders
 * and are never copied into ordinary buffers.
 *
 * Every function returning int returns 0 or a negative ERR_* code with a
 * message in err.
 */
#ifndef AIRLOCK_PKI_PINSHARE_H
#define AIRLOCK_PKI_PINSHARE_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"

#define PINSHARE_VERSION 1
/* Bounds on N and M: at least 2 of at least 2, at most 16 officers. */
#define PINSHARE_MIN 2
#define PINSHARE_MAX_SHARES 16
/* A share is as long as the PIN: 8 to 64 bytes. */
#define PINSHARE_SECRET_MIN 8
#define PINSHARE_SECRET_MAX 64
/* Largest record text (a full one is under 400 bytes). */
#define PINSHARE_RECORD_MAX 1024
/* Largest share file (CMS to an RSA-8192 certificate is under 3 KiB). */
#define PINSHARE_FILE_MAX (64 * 1024)

/* What a record says besides the share bytes. */
struct pinshare {
	char token[33];		/* the token's label */
	char serial[17];	/* the token's serial number */
	unsigned threshold;	/* M */
	unsigned shares;	/* N */
	unsigned index;		/* 1 .. N */
	char officer[65];	/* SHA-256 of the officer certificate DER */
};

/*
 * Splits secret (PINSHARE_SECRET_MIN..MAX bytes) into n shares of which any
 * m rebuild it; share i (index i + 1) goes to out[i], which the caller
 * allocated with secret_new. Randomness comes from OpenSSL's RAND_bytes.
 */
int pinshare_split(const secret_t *secret, unsigned m, unsigned n,
    secret_t *const *out, err_t *err);

/*
 * Rebuilds the secret from n shares (all of one length) with the given
 * distinct indexes (1..255) into out. With fewer than the threshold the
 * result is some other value: the caller counts shares first.
 */
int pinshare_combine(const unsigned *indexes, const secret_t *const *shares,
    size_t n, secret_t *out, err_t *err);

/*
 * Writes the canonical record of meta and share bytes into out (wiped
 * first). Every field is checked by the parser's rules: ERR_INVALID
 * names the field.
 */
int pinshare_format(const struct pinshare *meta, const secret_t *share,
    secret_t *out, err_t *err);

/*
 * Parses len bytes of untrusted record text from `label` (named in
 * messages) into meta, and the share bytes into share when not NULL.
 * Canonical only: the eight keys in order, "key: value", LF line ends,
 * every value by its rule, the bytes equal to pinshare_format's.
 * Returns 0, ERR_LIMIT (longer than PINSHARE_RECORD_MAX) or ERR_INVALID
 * naming the line and key.
 */
int pinshare_parse(const char *label, const void *data, size_t len,
    struct pinshare *meta, secret_t *share, err_t *err);

/* Bytes of the daemon's share-session nonce. */
#define PINSHARE_NONCE_LEN 32

/*
 * The digest an officer's presentation statement signs (kind
 * activation-share): SHA-256 over the session nonce followed by the
 * record bytes, as 64 lower-case hex digits in out.
 */
int pinshare_digest(const unsigned char nonce[PINSHARE_NONCE_LEN],
    const void *record, size_t len, char out[65], err_t *err);

/*
 * Encrypts record to cert as CMS EnvelopedData in DER (AES-256-CBC; RSA
 * key transport with OAEP-SHA-256, or ECDH with the SHA-256 KDF for EC
 * certificates), appended to out.
 */
int pinshare_seal(const secret_t *record, X509 *cert, buf_t *out,
    err_t *err);

/*
 * Decrypts a share file's bytes (DER or PEM CMS) with key, whose
 * certificate is cert, into record (wiped first). ERR_INVALID when it is
 * not CMS EnvelopedData, ERR_AUTH when key cannot open it (not for this
 * officer), ERR_LIMIT when the plaintext is too long for a record.
 */
int pinshare_open(const void *data, size_t len, EVP_PKEY *key, X509 *cert,
    secret_t *record, err_t *err);

#endif
