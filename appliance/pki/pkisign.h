/*
 * pkisign.h: the one path by which Airlock signs a certificate or CRL.
 *
 * Before the real key is used, the object is signed with the null signer
 * (extkey_null_signer) to obtain its exact to-be-signed bytes with the
 * right algorithm identifiers, and those bytes are linted. After the real
 * signature, the signed to-be-signed bytes must equal the linted ones byte
 * for byte, and the signature must verify under the issuer's public key.
 * So what the HSM signed is exactly what was checked.
 */
#ifndef AIRLOCK_PKI_PKISIGN_H
#define AIRLOCK_PKI_PKISIGN_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/lint.h"
#include "util/buf.h"
#include "util/err.h"

/* Largest to-be-signed part we handle (certificates and CRLs alike). */
#define PKISIGN_TBS_MAX (256u * 1024 * 1024)

/*
 * Digest for signing with pub: name ("sha256", "sha384", "sha512") when
 * not NULL, else SHA-384 for P-384 keys and SHA-256 otherwise. Returns
 * NULL for an unknown name.
 */
const EVP_MD *pkisign_md_for_key(const EVP_PKEY *pub, const char *name);

/* Copies the to-be-signed bytes of cert's current encoding into out. */
int pkisign_cert_tbs(X509 *cert, buf_t *out, err_t *err);

/* Copies the to-be-signed bytes of crl's current encoding into out. */
int pkisign_crl_tbs(X509_CRL *crl, buf_t *out, err_t *err);

/*
 * 0 when a and b hold the same bytes, else ERR_INTERNAL naming the first
 * differing offset: the signed object is not the one that was linted.
 */
int pkisign_tbs_compare(const buf_t *expected, const buf_t *signed_tbs,
    err_t *err);

/*
 * Signs cert with signer and md and checks the result: its to-be-signed
 * bytes must equal expected_tbs (ERR_INTERNAL otherwise) and the signature
 * must verify under issuer's key, or cert's own when issuer is NULL
 * (ERR_CRYPTO otherwise). pkisign_cert's second half, exposed for tests
 * and for callers that lint separately.
 */
int pkisign_cert_expect(X509 *cert, EVP_PKEY *signer, const EVP_MD *md,
    X509 *issuer, const buf_t *expected_tbs, err_t *err);

/*
 * Null-signs a copy of cert, lints it (findings go to lint, which may be
 * NULL, and give ERR_POLICY with the first in err), signs cert with signer
 * and md, and checks that the signed bytes are the linted ones
 * (ERR_INTERNAL) and that the signature verifies under issuer's key, or
 * cert's own when issuer is NULL (ERR_CRYPTO). Returns 0 on success.
 * On failure cert may carry a dummy or unverified signature: discard it.
 */
int pkisign_cert(X509 *cert, EVP_PKEY *signer, const EVP_MD *md,
    X509 *issuer, const struct lint_opts *opts, diag_t *lint, err_t *err);

/*
 * The same for a CRL issued by issuer (not NULL), linted by lint_crl_tbs
 * with md and any well-formed issuing distribution point; discard crl on
 * failure.
 */
int pkisign_crl(X509_CRL *crl, EVP_PKEY *signer, const EVP_MD *md,
    X509 *issuer, diag_t *lint, err_t *err);

/*
 * Assembles a signed certificate or CRL: SEQUENCE { tbs, the signature
 * AlgorithmIdentifier copied from inside tbs, BIT STRING sig }, where tbs
 * is a DER TBSCertificate or TBSCertList and sig the signature value in
 * its X.509 encoding (PKCS#1 v1.5 bytes; ECDSA as DER Ecdsa-Sig-Value),
 * as the HSM's raw signature over the TBS digest gives it. Appends the
 * DER to out. 0, ERR_INVALID (tbs is neither), ERR_LIMIT / ERR_NOMEM.
 */
int pkisign_assemble(const unsigned char *tbs, size_t tbs_len,
    const unsigned char *sig, size_t sig_len, buf_t *out, err_t *err);

/*
 * Signs len bytes of data (a transcript) with signer and md (NULL = the
 * default for the signer's key): PKCS#1 v1.5 for RSA, DER ECDSA for EC, as
 * `openssl dgst -sha256 -verify pub.pem -signature sig file` expects.
 * On success *sig is an OPENSSL_malloc'd buffer of *siglen bytes.
 */
int pkisign_blob(EVP_PKEY *signer, const EVP_MD *md, const void *data,
    size_t len, unsigned char **sig, size_t *siglen, err_t *err);

#endif
