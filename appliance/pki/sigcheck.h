/*
 * sigcheck.h: checking the signature of a DER certificate or CRL under
 * an issuer key, without decoding the object.
 *
 * d2i_X509 in OpenSSL 3 decodes the certificate's public key through an
 * OSSL_DECODER context built afresh on every call (~100 us), and
 * d2i_X509_CRL of a CRL with a million entries builds a million objects.
 * Neither is needed to check a signature: the signed object is
 * SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }, and the
 * check is "the algorithm outside equals the one inside the TBS, and the
 * signature verifies over the TBS bytes". A checker holds the issuer key
 * and a verification context that it reuses for every object, so checking
 * a batch costs one digest and one public-key operation per object.
 *
 * A checker is not thread-safe: one per thread.
 */
#ifndef AIRLOCK_PKI_SIGCHECK_H
#define AIRLOCK_PKI_SIGCHECK_H

#include <stddef.h>
#include <openssl/evp.h>

#include "util/err.h"

struct sigcheck;

/* A checker for signatures by issuer_pub (RSA PKCS#1 v1.5 or ECDSA). */
int sigcheck_new(EVP_PKEY *issuer_pub, struct sigcheck **out, err_t *err);

void sigcheck_free(struct sigcheck *c);

/*
 * Checks der[0..len): one DER SEQUENCE { tbs SEQUENCE, algorithm
 * SEQUENCE, BIT STRING }, where the TBS is a TBSCertificate or a
 * TBSCertList (its first SEQUENCE after the version and serial INTEGERs
 * is the signature algorithm, which must equal the outer one byte for
 * byte), the algorithm is one of sha{1,256,384,512}With{RSA,ECDSA} for
 * the checker's key type, and the signature verifies over the TBS.
 * On success *tbs and *tbs_len (either may be NULL) point at the TBS
 * inside der. ERR_INVALID for a malformed object or an algorithm the key
 * cannot have made, ERR_CRYPTO for a signature that does not verify.
 */
int sigcheck_der(struct sigcheck *c, const unsigned char *der, size_t len,
    const unsigned char **tbs, size_t *tbs_len, err_t *err);

#endif
