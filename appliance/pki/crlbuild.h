/*
 * crlbuild.h: certificate revocation lists (RFC 5280 section 5).
 *
 * A crlspec is parsed strictly from YAML and built into an unsigned v2 CRL
 * with authorityKeyIdentifier, cRLNumber and, optionally, an issuing
 * distribution point. Entries are sorted by serial (O(n log n)) and
 * written by the project's one CRL encoder (pki/crlder.h), which refuses
 * duplicates; the ceremony then lints and signs the result with
 * pkisign_crl.
 *
 * YAML keys read by crlspec_parse:
 *   this_update: T            next_update: T      number: N (>= 0)
 *   distribution_point: URI   (optional)
 *   entries:                  (optional)
 *     - serial: 0a1b...       (hex, 1..20 octets)
 *       revoked_at: T
 *       reason: keyCompromise (optional; default unspecified)
 *       invalidity_date: T    (optional)
 */
#ifndef AIRLOCK_PKI_CRLBUILD_H
#define AIRLOCK_PKI_CRLBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "pki/crlder.h"
#include "util/err.h"
#include "util/yamldoc.h"

#define CRLBUILD_SERIAL_MAX CRLDER_SERIAL_MAX

struct crlspec_entry {
	unsigned char serial[CRLBUILD_SERIAL_MAX];	/* big-endian */
	size_t serial_len;
	time_t revoked_at;
	enum crlder_reason reason;	/* crlder.h */
	int has_invalidity_date;
	time_t invalidity_date;
};

struct crlspec {
	time_t this_update;
	time_t next_update;
	uint64_t number;
	struct crlspec_entry *entries;
	size_t n_entries;
	char *distribution_point;	/* URI or NULL */
};

/*
 * Reads the keys above from map into out, marking them used; the caller
 * checks unknown keys of map. Reports every problem to doc->diag; returns
 * 0, ERR_INVALID (out freed) or ERR_NOMEM.
 */
int crlspec_parse(struct yamldoc *doc, const struct yamldoc_node *map,
    struct crlspec *out);

void crlspec_free(struct crlspec *spec);

/*
 * Builds an unsigned v2 CRL for issuer (whose subject key identifier
 * becomes the authority key identifier), with the signature algorithm of
 * the issuer's key and pkisign_md_for_key's digest; its signature is a
 * placeholder until pkisign_crl signs it. Refuses duplicate serials and a
 * next_update not after this_update. Returns 0 and *out, or a negative
 * ERR_* with err set. spec is not modified.
 */
int crlbuild_new(const struct crlspec *spec, X509 *issuer, X509_CRL **out,
    err_t *err);

#endif
