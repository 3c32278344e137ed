/*
 * certinfo.h: facts read out of certificates and CRLs for records and
 * displays (database rows, console listings). Nothing here judges a
 * certificate; lint.h does that.
 */
#ifndef AIRLOCK_PKI_CERTINFO_H
#define AIRLOCK_PKI_CERTINFO_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#include "util/err.h"

/* Subject as one RFC 2253 line (UTF-8); 0 or ERR_CRYPTO / ERR_LIMIT. */
int certinfo_subject_text(X509 *cert, char *out, size_t outsz);

/* The same text for any name. */
int certinfo_name_text(const X509_NAME *name, char *out, size_t outsz);

/*
 * The subject text and validity of a DER TBSCertificate, read by walking
 * it rather than decoding the certificate (see pki/sigcheck.h for why).
 * ERR_INVALID when tbs is not a TBSCertificate, ERR_LIMIT when the
 * subject does not fit.
 */
int certinfo_tbs_facts(const unsigned char *tbs, size_t len, char *subject,
    size_t subjsz, int64_t *not_before, int64_t *not_after);

/* Serial number as lower-case hex without leading zeros ("0" for zero). */
int certinfo_serial_hex(X509 *cert, char *out, size_t outsz);

/* Subject key identifier as hex; ERR_NOTFOUND when the extension is absent. */
int certinfo_ski_hex(X509 *cert, char *out, size_t outsz);

/* notBefore and notAfter as seconds since the epoch. */
int certinfo_validity(X509 *cert, int64_t *not_before, int64_t *not_after);

/* 1 when the extendedKeyUsage extension lists nid, else 0. */
int certinfo_has_eku(X509 *cert, int nid);

/* CRL number (must fit 63 bits), thisUpdate and nextUpdate. */
int certinfo_crl(X509_CRL *crl, int64_t *number, int64_t *this_update,
    int64_t *next_update, err_t *err);

#endif
