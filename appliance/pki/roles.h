/*
 * roles.h: "this certificate belongs to an enrolled person holding exactly
 * role R", checked the one way for every place that trusts a person's
 * signature (an operator's bundle, an officer's approval).
 *
 * A person's certificate must
 *  - chain to one of the people CA certificates at `now`. The people CAs
 *    are the trust anchors themselves (X509_V_FLAG_PARTIAL_CHAIN), so no
 *    root is needed and nothing above a people CA can vouch for a person;
 *    `chain`, when not NULL, only offers untrusted intermediates. Every
 *    certificate on the path must be within its validity at `now`;
 *  - carry the Airlock role R as an extended key usage (pki/oids.h) and
 *    no other Airlock role: one person, one role, so that nobody approves
 *    what they submitted with a second hat on;
 *  - when it has a keyUsage extension, allow one of the bits in ku_any
 *    (KU_DIGITAL_SIGNATURE, KU_NON_REPUDIATION from openssl/x509v3.h).
 *
 * Revocation and locked-out credentials are not checked here: they need
 * the appliance's records, looked up by the certificate's SHA-256.
 *
 * Messages name the holder as the caller words it ("the signer", "the
 * officer"), the certificate by its subject, and the task the role is
 * needed for ("signing a bundle"), for example:
 *   the signer's certificate (CN=Dave,O=Example) expired at 2030-01-01T...
 * Pure: no I/O; OpenSSL's error queue is left empty.
 */
#ifndef AIRLOCK_PKI_ROLES_H
#define AIRLOCK_PKI_ROLES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "pki/oids.h"
#include "util/err.h"

/* Bytes of a subject or issuer quoted in a message. */
#define ROLES_NAME_MAX 160

/*
 * Writes name as one RFC 2253 line for a message, cut to fit outsz
 * without splitting a UTF-8 character; control and invisible characters
 * (util/text.h text_forbidden) become '?'. Always NUL-terminates.
 */
void roles_name(const X509_NAME *name, char *out, size_t outsz);

/*
 * Checks the path from cert to one of anchors (at least one) at now.
 * Returns 0, ERR_POLICY (does not chain, expired, not yet valid, or any
 * other path failure, naming the certificate concerned), ERR_INTERNAL (no
 * anchors), ERR_NOMEM or ERR_CRYPTO.
 */
int roles_check_chain(X509 *cert, STACK_OF(X509) *anchors,
    STACK_OF(X509) *chain, time_t now, const char *holder, err_t *err);

/*
 * Checks that cert holds role (OIDS_ROLE_OFFICER, _OPERATOR or _AUDITOR)
 * and no other Airlock role, and that a keyUsage extension, if present,
 * has a bit of ku_any. Returns 0, ERR_POLICY (the wrong role, no role,
 * two roles, a key usage that does not allow signing), ERR_INTERNAL (role
 * is not a role) or ERR_CRYPTO (OIDs cannot be registered).
 */
int roles_check_role(X509 *cert, enum oids_id role, uint32_t ku_any,
    const char *holder, const char *task, err_t *err);

/* roles_check_chain, then roles_check_role; the first failure is kept. */
int roles_check(X509 *cert, STACK_OF(X509) *anchors, STACK_OF(X509) *chain,
    time_t now, enum oids_id role, uint32_t ku_any, const char *holder,
    const char *task, err_t *err);

#endif
