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
 * The subjectAltName names a CSR's extensionRequest asks for (DNS, email,
 * URI and IP; any other type is ERR_INVALID). An empty list when there
 * are none.
 */
int signer_request_csr_san(X509_REQ *req, struct certspec_gnlist *san,
    err_t *err);

#endif
