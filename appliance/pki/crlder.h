/*
 * crlder.h: the one CRL encoder (RFC 5280 section 5), streaming.
 *
 * A v2 TBSCertList is written straight to DER, entry by entry, so that a
 * CRL of a million entries costs its DER size in memory and nothing per
 * entry besides (no X509_REVOKED objects). The ceremony's CRLs
 * (pki/crlbuild.h) and the appliance's (signer/crl.h) both come from
 * here; signing and assembly are pkisign_assemble's (pki/pkisign.h).
 *
 * What the encoder writes (docs/formats/crl.md, section 1):
 *   version v2; the signature AlgorithmIdentifier given; the issuer's
 *   subject; thisUpdate and nextUpdate (UTCTime for 1950-2049,
 *   GeneralizedTime otherwise, RFC 5280 5.1.2.4); revokedCertificates
 *   only when there is at least one entry (an empty CRL has no such
 *   field at all, 5.1.2.6); then crlExtensions: authorityKeyIdentifier
 *   (the issuer's subject key identifier, non-critical), cRLNumber
 *   (non-critical) and, when asked, issuingDistributionPoint with one
 *   URI (critical, 5.2.5).
 *   Each entry: the serial, revocationDate (same time rule), reasonCode
 *   unless unspecified (5.3.1 says to omit it), invalidityDate
 *   (GeneralizedTime always, 5.3.2) when given.
 *
 * Entries must come in strictly increasing numeric serial order: a
 * serial equal to or lower than the one before is refused, so the output
 * is sorted and free of duplicates by construction.
 */
#ifndef AIRLOCK_PKI_CRLDER_H
#define AIRLOCK_PKI_CRLDER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/buf.h"
#include "util/err.h"

/* Longest serial: RFC 5280 4.1.2.2 caps the DER content at 20 octets. */
#define CRLDER_SERIAL_MAX 20
/* Most entries in one CRL, and most bytes of its TBSCertList. */
#define CRLDER_ENTRIES_MAX 10000000u
#define CRLDER_TBS_MAX (256u * 1024 * 1024)
/* Longest issuing distribution point URI. */
#define CRLDER_URI_MAX 1024

/*
 * RFC 5280 reason codes allowed in a full CRL. removeFromCRL (8) belongs
 * to delta CRLs only, which Airlock does not issue; 7 is unassigned.
 */
enum crlder_reason {
	CRLDER_UNSPECIFIED = 0,
	CRLDER_KEY_COMPROMISE = 1,
	CRLDER_CA_COMPROMISE = 2,
	CRLDER_AFFILIATION_CHANGED = 3,
	CRLDER_SUPERSEDED = 4,
	CRLDER_CESSATION_OF_OPERATION = 5,
	CRLDER_CERTIFICATE_HOLD = 6,
	CRLDER_PRIVILEGE_WITHDRAWN = 9,
	CRLDER_AA_COMPROMISE = 10
};

/* The name RFC 5280 and the store give a reason ("keyCompromise"), or NULL. */
const char *crlder_reason_name(enum crlder_reason r);

/* Parses a reason's name; 0 or ERR_INVALID (removeFromCRL included). */
int crlder_reason_parse(const char *name, enum crlder_reason *out);

/*
 * Hex (either case, odd length allowed, leading zeros ignored) to the
 * serial's big-endian magnitude without leading zeros in out[0..*len).
 * ERR_INVALID unless it is a positive number whose DER INTEGER content
 * fits CRLDER_SERIAL_MAX octets.
 */
int crlder_serial_hex(const char *hex, unsigned char out[CRLDER_SERIAL_MAX],
    size_t *len);

/* Orders two big-endian magnitudes as numbers (leading zeros ignored). */
int crlder_serial_cmp(const unsigned char *a, size_t al,
    const unsigned char *b, size_t bl);

/*
 * The DER signature AlgorithmIdentifier for a key like pub signing with
 * md: sha*WithRSAEncryption with NULL parameters, or ecdsa-with-SHA*
 * without (RFC 5758 3.2). Written to out (outsz >= 32 suffices), length
 * in *outlen. 0, ERR_INVALID (key type or digest), ERR_CRYPTO.
 */
int crlder_algid(const EVP_PKEY *pub, const EVP_MD *md, unsigned char *out,
    size_t outsz, size_t *outlen, err_t *err);

/*
 * 1 when uri can be the issuing distribution point: "scheme:rest", 1 to
 * CRLDER_URI_MAX bytes of printable ASCII without spaces (an IA5String).
 */
int crlder_uri_ok(const char *uri);

struct crlder_opts {
	X509 *issuer;			/* subject and subject key identifier */
	time_t this_update, next_update;	/* next_update > this_update */
	uint64_t number;		/* cRLNumber */
	const char *idp_uri;		/* issuing distribution point, or NULL */
	const unsigned char *algid;	/* crlder_algid's output */
	size_t algid_len;
};

struct crlder;

/*
 * Starts a CRL. ERR_INVALID for a missing issuer or algid, an issuer
 * without subject key identifier, next_update not after this_update, a
 * time outside years 0-9999, or an unusable URI; ERR_NOMEM.
 */
int crlder_begin(const struct crlder_opts *o, struct crlder **out,
    err_t *err);

/*
 * Adds one entry: serial[0..len) big-endian (leading zeros ignored),
 * revoked at revoked_at, for reason, with an invalidity date when
 * invalidity is not NULL. ERR_INVALID naming the serial when it is zero,
 * too long, not higher than the previous entry's ("listed twice" when
 * equal), or the reason is not one of enum crlder_reason; ERR_LIMIT past
 * CRLDER_ENTRIES_MAX or CRLDER_TBS_MAX. After a failure the encoder
 * refuses everything but crlder_free.
 */
int crlder_add(struct crlder *c, const unsigned char *serial, size_t len,
    time_t revoked_at, enum crlder_reason reason, const time_t *invalidity,
    err_t *err);

/* Entries added so far. */
size_t crlder_count(const struct crlder *c);

/*
 * Appends the DER TBSCertList to out (whose cap must allow it: ERR_LIMIT
 * otherwise) and releases the entries' memory. The encoder then accepts
 * only crlder_free.
 */
int crlder_finish(struct crlder *c, buf_t *out, err_t *err);

/* Frees the encoder; NULL is accepted. */
void crlder_free(struct crlder *c);

#endif
