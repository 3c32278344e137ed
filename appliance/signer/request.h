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
 * Parses a csv line's fields ("key=value" records separated by '\n',
 * queue.h) into subject attributes (country, state, locality,
 * organization, organizational_unit, email, common_name) and DNS SANs
 * (dns: host names separated by ';'). 0, ERR_INVALID naming the record,
 * ERR_LIMIT or ERR_NOMEM; out and san are emptied on failure.
 */
int signer_request_fields(const char *fields, struct certspec_name *out,
    struct certspec_gnlist *san, err_t *err);

/*
 * The subjectAltName names a CSR's extensionRequest asks for (DNS, email,
 * URI and IP; any other type is ERR_INVALID). An empty list when there
 * are none.
 */
int signer_request_csr_san(X509_REQ *req, struct certspec_gnlist *san,
    err_t *err);

/* Frees the names in l and empties it. */
void signer_request_gnlist_free(struct certspec_gnlist *l);

#endif
