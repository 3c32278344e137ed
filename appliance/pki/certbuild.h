/*
 * certbuild.h: turns a certspec, a subject public key, an issuer and a
 * serial number into an unsigned X.509 v3 certificate. Signing (and the
 * lint that precedes it) is pkisign's job.
 */
#ifndef AIRLOCK_PKI_CERTBUILD_H
#define AIRLOCK_PKI_CERTBUILD_H

#include <stddef.h>
#include <openssl/x509.h>

#include "pki/certspec.h"
#include "util/err.h"

/* Octets of serial number certbuild_serial produces. */
#define CERTBUILD_SERIAL_LEN 16

/* Largest serial (in DER content octets) RFC 5280 allows. */
#define CERTBUILD_SERIAL_MAX 20

/*
 * Turns n >= CERTBUILD_SERIAL_LEN random bytes (from the HSM) into a
 * positive serial of exactly CERTBUILD_SERIAL_LEN octets in out (which must
 * hold that many) with 126 random bits. Returns 0 or ERR_INVALID.
 */
int certbuild_serial(const unsigned char *random, size_t n,
    unsigned char *out, size_t *outlen);

/*
 * Builds X509_NAME *out from a certspec name with the string types RFC 5280
 * asks for. Returns 0, ERR_INVALID or ERR_NOMEM (with a message in err).
 */
int certbuild_name(const struct certspec_name *name, X509_NAME **out,
    err_t *err);

/*
 * Adds the extensions described by ext to x, whose subject, issuer name and
 * public key must already be set. issuer (NULL = x is self-signed) supplies
 * the authority key identifier. Batch issuance calls this with a profile's
 * shared extension spec. Returns 0 or a negative ERR_* with err set.
 */
int certbuild_add_ext(X509 *x, const struct certspec_ext *ext, X509 *issuer,
    err_t *err);

/*
 * Builds an unsigned v3 certificate for subject_pub (not consumed) as
 * described by spec, issued by issuer (NULL = self-signed), with the given
 * big-endian positive serial (1..20 octets once DER-encoded). Times use
 * UTCTime before 2050 and GeneralizedTime from 2050 on, as RFC 5280
 * requires. Returns 0 and *out, or a negative ERR_* with err set.
 */
int certbuild_new(const struct certspec *spec, const EVP_PKEY *subject_pub,
    X509 *issuer, const unsigned char *serial, size_t serial_len,
    X509 **out, err_t *err);

/*
 * Sets *t to the RFC 5280 encoding of when (UTCTime before 2050,
 * GeneralizedTime after), checking that OpenSSL chose it. Returns 0 or
 * ERR_INVALID for years outside 1950..9999, or ERR_NOMEM.
 */
int certbuild_time(time_t when, ASN1_TIME **t, err_t *err);

#endif
