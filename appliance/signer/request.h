/*
 * request.h: rebuilding what one queued line asks for, from what the
 * queue stored (signer-internal).
 *
 * The bytes were validated at intake (ingest/csr.h, ingest/csv.h), but
 * they come back from the store, so they are parsed again defensively:
 * anything unexpected refuses the line (ERR_INVALID) rather than being
 * guessed at. Callers own and free what these functions fill.
 */
#ifndef AIRLOCK_SIGNER_REQUEST_H
#define AIRLOCK_SIGNER_REQUEST_H

#include <stddef.h>
#include <openssl/x509.h>

#include "pki/certspec.h"
#include "util/err.h"

/*
 * What the signer reads of a stored PKCS#10 request. The request is
 * walked, not decoded: d2i_X509_REQ in OpenSSL 3 decodes the public key
 * through a fresh OSSL_DECODER context (~100 us a request), and the key
 * is decoded the fast way instead (signer/legacy.h). Its signature was
 * checked at intake (ingest/csr.h) and is not checked again here.
 */
struct signer_csr {
	X509_NAME *subject;
	const unsigned char *spki;	/* inside the request's DER */
	size_t spki_len;
	/* The subjectAltName names its extensionRequest asks for (DNS,
	 * email, URI and IP; any other type is ERR_INVALID). */
	struct certspec_gnlist san;
};

/* Fills out from der[0..len), which must be one DER request exactly. */
int signer_request_parse(const unsigned char *der, size_t len,
    struct signer_csr *out, err_t *err);

void signer_request_free(struct signer_csr *c);

#endif
