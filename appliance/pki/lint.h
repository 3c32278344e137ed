/*
 * lint.h: checks a certificate or CRL against RFC 5280 and Airlock's own
 * profile before anything is signed for real.
 *
 * Each finding is one diag_t item whose field is the rule's name
 * ("validity-issuer") and whose message is a sentence saying what is
 * wrong, with the values involved. Linting never stops at the first
 * finding, so an officer sees every problem in one rehearsal.
 */
#ifndef AIRLOCK_PKI_LINT_H
#define AIRLOCK_PKI_LINT_H

#include <openssl/x509.h>

#include "util/err.h"

struct lint_opts {
	/* Accept RSA keys of 1024 bits or more, any odd exponent, SHA-1. */
	int allow_legacy;
	/* Do not report an extendedKeyUsage extension in a CA certificate. */
	int allow_ca_eku;
};

/*
 * Lints cert as issued by issuer (NULL = cert is self-signed); opts may be
 * NULL for the strict defaults. Returns the number of findings added to
 * out (0 = clean), or ERR_INVALID when cert or out is NULL.
 */
int lint_cert(X509 *cert, X509 *issuer, const struct lint_opts *opts,
    diag_t *out);

/*
 * Lints crl as issued by issuer. Returns the number of findings added to
 * out, or ERR_INVALID when an argument is NULL.
 */
int lint_crl(X509_CRL *crl, X509 *issuer, diag_t *out);

#endif
