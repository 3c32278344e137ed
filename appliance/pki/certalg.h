/*
 * certalg.h: which key and signature algorithms a certificate uses, read
 * by a DER walk (pki/der.h) instead of d2i_X509.
 *
 * The algorithm report walks every certificate the appliance issued, a
 * million of them or more. OpenSSL 3 decodes a certificate's public key
 * through its provider decoders when it parses one (about 130 us each),
 * so a report built on d2i_X509 would take minutes; this walk reads only
 * the two AlgorithmIdentifiers, the curve OID and the RSA modulus length,
 * and costs well under a microsecond. Nothing here checks a signature or
 * judges a certificate; lint.h does that when it is issued.
 */
#ifndef AIRLOCK_PKI_CERTALG_H
#define AIRLOCK_PKI_CERTALG_H

#include <stddef.h>

#include "util/err.h"

/* Longest name certalg writes, with its NUL ("RSA-PSS-16384", an OID). */
#define CERTALG_NAME_MAX 96

struct certalg {
	/*
	 * The subject key: "RSA-2048", "RSA-PSS-3072", "EC P-256", "EC
	 * P-384", "EC P-521", "EC secp256k1", "Ed25519", "Ed448"; another
	 * curve is "EC " and its OpenSSL name or dotted OID, another key type
	 * its OpenSSL long name or dotted OID.
	 */
	char key[CERTALG_NAME_MAX];
	/*
	 * The certificate's signatureAlgorithm by its OpenSSL long name
	 * ("sha256WithRSAEncryption", "ecdsa-with-SHA256", "rsassaPss",
	 * "ED25519"), or the dotted OID when OpenSSL has no name for it.
	 */
	char sig[CERTALG_NAME_MAX];
};

/*
 * Reads the algorithms of the DER certificate spanning der[0..len)
 * exactly into out. 0, or ERR_INVALID with a message naming the part of
 * the certificate that is not DER as X.509 shapes it (truncated, wrong
 * tag, trailing bytes, a negative or zero RSA modulus, a malformed OID);
 * out is then empty strings.
 */
int certalg_read(const unsigned char *der, size_t len, struct certalg *out,
    err_t *err);

#endif
