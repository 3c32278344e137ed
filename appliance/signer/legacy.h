/*
 * legacy.h: public keys in OpenSSL's legacy (RSA / EC_KEY) form, for
 * speed (signer-internal).
 *
 * OpenSSL 3.0 decodes and encodes provider keys through OSSL_DECODER and
 * OSSL_ENCODER contexts that it builds afresh on every call: about 100 us
 * for each d2i_PUBKEY and 200 us for each X509_set_pubkey, several times
 * what building the rest of a certificate costs. A legacy key decodes in
 * ~12 us (P-256) or ~2 us (RSA) and X509_set_pubkey encodes it with its
 * ASN.1 method directly. The subjectPublicKeyInfo that results is the
 * same DER either way, and so is the subject key identifier computed
 * from it. The deprecated calls this needs live in legacy.c only.
 */
#ifndef AIRLOCK_SIGNER_LEGACY_H
#define AIRLOCK_SIGNER_LEGACY_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"

/*
 * A legacy EVP_PKEY for the DER SubjectPublicKeyInfo spki (RSA or EC on a
 * named curve). 0, or ERR_INVALID (other key types, bad DER), ERR_NOMEM.
 */
int signer_legacy_pub(const unsigned char *spki, size_t len, EVP_PKEY **out,
    err_t *err);

/* The same for the public half of any RSA or EC key. */
int signer_legacy_pub_of(const EVP_PKEY *key, EVP_PKEY **out, err_t *err);

/* The same for the key in an X509_PUBKEY (a CSR's). */
int signer_legacy_pub_x(const X509_PUBKEY *xpk, EVP_PKEY **out, err_t *err);

#endif
