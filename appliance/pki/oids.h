/*
 * oids.h: Airlock's private object identifiers and the names YAML uses for
 * extended key usages.
 *
 * Airlock owns the UUID arc 2.25.120470460270521614068996707519230144129
 * (RFC 4122 / X.667), so no registration authority is needed. Under it,
 * .1 holds the role EKUs put in people's certificates and .2 the purposes
 * of the appliance's own certificates.
 */
#ifndef AIRLOCK_PKI_OIDS_H
#define AIRLOCK_PKI_OIDS_H

#include <stddef.h>

#define OIDS_ARC "2.25.120470460270521614068996707519230144129"

enum oids_id {
	OIDS_ROLE_OFFICER,	/* ARC.1.1 airlockOfficer */
	OIDS_ROLE_OPERATOR,	/* ARC.1.2 airlockOperator */
	OIDS_ROLE_AUDITOR,	/* ARC.1.3 airlockAuditor */
	OIDS_PURPOSE_EXPORT,	/* ARC.2.1 airlockExport: export-manifest signing */
	OIDS_PURPOSE_AUDIT,	/* ARC.2.2 airlockAudit: audit checkpoints */
	OIDS_PURPOSE_TRANSPORT,	/* ARC.2.3 airlockTransport: bundle decryption */
	OIDS_COUNT
};

/*
 * Registers the OIDs with OpenSSL exactly once, whichever thread calls
 * first; later calls return the first result. Returns 0 or ERR_CRYPTO.
 */
int oids_init(void);

/* OpenSSL NID of id (calls oids_init); NID_undef (0) on failure. */
int oids_nid(enum oids_id id);

/* Dotted form of id ("2.25....1.1"); NULL for an out-of-range id. */
const char *oids_dotted(enum oids_id id);

/* YAML name of id ("airlock-officer"); NULL for an out-of-range id. */
const char *oids_yaml_name(enum oids_id id);

/*
 * Resolves an extended-key-usage name as written in YAML (an Airlock name,
 * one of serverAuth, clientAuth, codeSigning, emailProtection,
 * timeStamping, OCSPSigning, or a dotted OID) to its canonical dotted form
 * in out. Returns 0, ERR_INVALID for an unknown or malformed name, or
 * ERR_LIMIT when out is too small.
 */
int oids_eku_resolve(const char *name, char *out, size_t outsz);

#endif
