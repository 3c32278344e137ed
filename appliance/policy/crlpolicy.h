/*
 * crlpolicy.h: the CRL policy (docs/formats/crl.md, section 2), read
 * strictly from the appliance's own disk (policies/crl/crl.yaml).
 *
 * For each CA, by its name in the store, and for every CA not named (the
 * required default): how long a CRL is valid (nextUpdate = thisUpdate +
 * validity), how long before nextUpdate the appliance starts warning,
 * the distribution point URI, and whether the CRL carries it as an
 * issuing distribution point.
 *
 *   default:
 *     validity_days: 7
 *     warning: 2d                  # "Nd" or "Nh"; less than the validity
 *     distribution_point: http://crl.example.com/device-ca.crl  (optional)
 *     issuing_distribution_point: false    (optional; true needs the URI)
 *   cas:                           (optional)
 *     device-ca:
 *       validity_days: 30
 *       warning: 7d
 *
 * Every problem (unknown key, wrong type, a value out of range, a
 * warning not shorter than the validity, an issuing distribution point
 * without URI, a bad URI) is reported with file, line and key.
 */
#ifndef AIRLOCK_POLICY_CRLPOLICY_H
#define AIRLOCK_POLICY_CRLPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Largest policy file, most CAs named, longest validity. */
#define CRLPOLICY_MAX_BYTES (256u * 1024)
#define CRLPOLICY_MAX_CAS 256
#define CRLPOLICY_MAX_DAYS 3650
/* Longest CA name a policy may name (the store's names are shorter). */
#define CRLPOLICY_NAME_MAX 128

struct crlpolicy_entry {
	char *ca;			/* NULL for the default */
	int64_t validity;		/* seconds: validity_days * 86400 */
	int64_t warning;		/* seconds before nextUpdate */
	char *distribution_point;	/* URI or NULL */
	int idp;			/* carry it as issuing distribution point */
	unsigned long line;		/* where the entry starts */
};

struct crlpolicy {
	char *file;			/* as messages name it */
	unsigned char sha256[32];	/* of the bytes read (load only) */
	struct crlpolicy_entry def;
	struct crlpolicy_entry *v;	/* the named CAs, in file order */
	size_t n;
};

/*
 * Parses len bytes labelled file. Every problem goes to diag (may be
 * NULL); the first, with a count, to err. 0, ERR_INVALID, ERR_LIMIT or
 * ERR_NOMEM; out is empty on failure.
 */
int crlpolicy_parse(const char *file, const void *data, size_t len,
    struct crlpolicy *out, diag_t *diag, err_t *err);

/* Reads path (a regular file, no symlink) and parses it likewise. */
int crlpolicy_load(const char *path, struct crlpolicy *out, diag_t *diag,
    err_t *err);

/* The entry for CA ca_name: its own, or the default. Never NULL. */
const struct crlpolicy_entry *crlpolicy_for(const struct crlpolicy *p,
    const char *ca_name);

struct profile;

/*
 * Whether the CRLs of profile p's CA (p->issuer), as pol describes
 * them, suit the certificates p issues. When p puts CRL distribution
 * points in its certificates and the policy names the CA's distribution
 * point, that URI must be one of them: a relying party looks for the
 * CRL only where the certificate points, and refuses a CRL whose
 * issuing distribution point the certificate does not name (OpenSSL:
 * "different CRL scope"). URIs compare byte for byte, as they do there.
 * Returns 0 when they agree, when p is disabled (it issues nothing) or
 * when either side names no URI; ERR_POLICY when they disagree, err
 * naming the profile, the CA and the URIs of both; 1 with a warning in
 * err when p names none but the CA's CRLs carry an issuing distribution
 * point, which puts p's certificates outside the CRL's scope for such
 * relying parties.
 */
int crlpolicy_check_profile(const struct crlpolicy *pol,
    const struct profile *p, err_t *err);

void crlpolicy_free(struct crlpolicy *p);

#endif
