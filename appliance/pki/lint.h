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
 * What lint_crl_tbs holds a CRL to: the CA certificate that issues it,
 * the key and digest that will sign it, and the issuing distribution
 * point the CRL policy asks for.
 */
struct lint_crl_want {
	X509 *issuer;		/* the CA certificate (required) */
	const EVP_PKEY *key;	/* the key that will sign; NULL: issuer's */
	/*
	 * The digest it will sign with: the CRL's signature algorithm must
	 * be crlder_algid's for key and md, byte for byte. NULL checks only
	 * the key type and that the digest is not broken (lint_crl).
	 */
	const EVP_MD *md;
	const char *idp_uri;	/* the policy's issuing distribution point;
				 * NULL: the CRL must carry none */
	int idp_any;		/* instead: any one well-formed (ceremony) */
};

/*
 * Lints a DER TBSCertList, tbs[0..len), against RFC 5280 section 5 and
 * Airlock's CRL profile (docs/formats/crl.md, "Checks before signing").
 * One pass over the bytes where they lie, decoding no entry into an
 * object, so a CRL of a million entries costs no memory and about as
 * long as reading it once. Returns the number of findings added to out
 * (0 = clean), or ERR_INVALID when an argument is missing.
 */
int lint_crl_tbs(const unsigned char *tbs, size_t len,
    const struct lint_crl_want *want, diag_t *out);

/*
 * Lints crl (signed, if only with the null signer, so that it encodes)
 * as issued by issuer: lint_crl_tbs on its to-be-signed bytes with the
 * digest its signature algorithm names and any well-formed issuing
 * distribution point, plus the outer signature algorithm equal to the
 * inner one. Returns the number of findings added to out, or
 * ERR_INVALID when an argument is NULL.
 */
int lint_crl(X509_CRL *crl, X509 *issuer, diag_t *out);

#endif
