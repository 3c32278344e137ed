/*
 * pkiutil.h: encodings, fingerprints and summaries of certificates, CRLs
 * and public keys, for transcripts, rehearsal output and files. Encoders
 * write into a buf_t; util/fileio writes files.
 */
#ifndef AIRLOCK_PKI_PKIUTIL_H
#define AIRLOCK_PKI_PKIUTIL_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/buf.h"
#include "util/err.h"

/* Largest certificate or CRL file pki_load_* reads. */
#define PKI_CERT_FILE_MAX (1024u * 1024)

/* SHA-256 of cert's DER as 64 lower-case hex digits; 0 or ERR_CRYPTO. */
int pki_cert_sha256_hex(X509 *cert, char out[65]);

/*
 * SHA-256 of the DER SubjectPublicKeyInfo as 64 lower-case hex digits: the
 * key identity Airlock uses everywhere. 0 or ERR_CRYPTO.
 */
int pki_spki_sha256_hex(const EVP_PKEY *pub, char out[65]);

/*
 * One line: "subject=/C=../CN=.. serial=0a.. notBefore=T notAfter=T
 * key=RSA-3072" (key=EC-P-384 for EC). Returns 0, or ERR_LIMIT when it
 * does not fit in outsz (out then holds a truncated line), ERR_CRYPTO.
 */
int pki_cert_summary(X509 *cert, char *out, size_t outsz);

/*
 * Append the encoding to out. Return 0, ERR_CRYPTO, or ERR_LIMIT /
 * ERR_NOMEM when out cannot hold it, with err set.
 */
int pki_cert_pem(X509 *cert, buf_t *out, err_t *err);
int pki_cert_der(X509 *cert, buf_t *out, err_t *err);
int pki_crl_pem(X509_CRL *crl, buf_t *out, err_t *err);
int pki_crl_der(X509_CRL *crl, buf_t *out, err_t *err);
int pki_pubkey_pem(const EVP_PKEY *pub, buf_t *out, err_t *err);

/*
 * Sets *pub to a new key holding only the public half of key (so that no
 * private material travels further). 0 or ERR_CRYPTO.
 */
int pki_public_only(const EVP_PKEY *key, EVP_PKEY **pub, err_t *err);

/*
 * Decodes one certificate, PEM ("-----BEGIN CERTIFICATE-----") or DER,
 * from len bytes; DER must span the input exactly. 0 or ERR_INVALID.
 */
int pki_parse_cert(const void *data, size_t len, X509 **out, err_t *err);

/* The same for a CRL. */
int pki_parse_crl(const void *data, size_t len, X509_CRL **out, err_t *err);

/* Reads (via fileio_read, at most PKI_CERT_FILE_MAX) and decodes. */
int pki_load_cert_file(const char *path, X509 **out, err_t *err);
int pki_load_crl_file(const char *path, X509_CRL **out, err_t *err);

#endif
