/*
 * approval.h: two-person approval of what the appliance is asked to do
 * (docs/formats/approval.md).
 *
 * An approval is an officer's signature, made with the officer's own
 * credential (a PKCS#11 token or a passphrase-protected key file), over a
 * short canonical text, the statement, that names what is decided (kind
 * and object), the exact bytes it is about (digest), the decision, the
 * officer and the time. The statement is plain text so that an officer
 * can read every byte before signing it, and make one with printf and
 * `openssl dgst -sign` on a workstation without Airlock.
 *
 * The statement itself is statement.h's; counting votes is tally.h's.
 *
 * This library decides validity and counts votes. It holds no state:
 * storing approvals, revocation and lock-out of officers (by certificate
 * SHA-256), counting failed approvals (every non-zero approval_verify is
 * one) and freezing a decided object are the caller's.
 *
 * Pure: no I/O, no global state besides OpenSSL's error queue, which is
 * left empty. Thread-safe.
 */
#ifndef AIRLOCK_APPROVAL_APPROVAL_H
#define AIRLOCK_APPROVAL_APPROVAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "approval/statement.h"
#include "util/buf.h"
#include "util/err.h"

/* Largest signature accepted, in bytes (an RSA-8192 signature). */
#define APPROVAL_SIG_MAX 1024
/* Smallest RSA key an officer may sign with, in bits. */
#define APPROVAL_RSA_MIN_BITS 2048
/* Largest, so that the signature fits APPROVAL_SIG_MAX. */
#define APPROVAL_RSA_MAX_BITS 8192
/*
 * How far a statement's time may lie ahead of the appliance's clock, in
 * seconds: the officer's workstation and the appliance keep time apart.
 */
#define APPROVAL_CLOCK_SKEW 300

/* A signed statement as stored and as carried between processes. */
struct approval_signed {
	buf_t statement;	/* the exact bytes signed (at most _MAX) */
	buf_t sig;		/* PKCS#1 v1.5 or DER ECDSA (at most _SIG_MAX) */
	X509 *officer_cert;	/* a reference, freed by approval_signed_free */
};

struct approval_verify_opts {
	/* The people CA certificate(s): the trust anchors. At least one. */
	STACK_OF(X509) *people_cas;
	/* Untrusted intermediates below a people CA; normally NULL. */
	STACK_OF(X509) *chain;
	/* The appliance's time: certificates must be valid then. */
	time_t now;
	/* What the caller is collecting approvals for. */
	enum approval_kind kind;
	int64_t object;
	const char *digest;	/* 64 lower-case hex digits */
	/* The object's creation: statements dated before it are refused. */
	time_t not_before;
};

/* Empties a; call before first use. a->statement and a->sig get their caps. */
void approval_signed_init(struct approval_signed *a);

/* Frees what a holds and leaves it empty (initialised). */
void approval_signed_free(struct approval_signed *a);

/*
 * Fills a (initialised) from received parts: copies the statement and
 * signature bytes and takes a reference to cert. No check beyond sizes:
 * approval_verify judges. 0, ERR_LIMIT, ERR_NOMEM or ERR_INVALID.
 */
int approval_signed_set(struct approval_signed *a, const void *statement,
    size_t statement_len, const void *sig, size_t sig_len, X509 *cert,
    err_t *err);

/*
 * The officer's side: formats s and signs the bytes with officer_key
 * (any EVP_PKEY, an HSM-backed one included) through pkisign_blob:
 * SHA-384 for P-384 keys, SHA-256 otherwise; PKCS#1 v1.5 for RSA. When
 * s->officer is empty it is taken from officer_cert; otherwise it must
 * name officer_cert. The signature is checked under officer_cert's public
 * key, so a key that does not belong to the certificate is refused. The
 * officer's role and path are not checked (the appliance does that).
 * a must be initialised; on success it holds the statement, signature
 * and a reference to officer_cert. Returns 0, ERR_INVALID, ERR_POLICY
 * (key and certificate do not match, a key type officers may not use),
 * ERR_CRYPTO or ERR_NOMEM.
 */
int approval_sign(EVP_PKEY *officer_key, X509 *officer_cert,
    const struct approval_statement *s, struct approval_signed *out,
    err_t *err);

/*
 * The appliance's side. Checks, in this order, and stops at the first
 * failure with one message:
 *  1. the statement parses (approval_statement_parse): ERR_INVALID,
 *     ERR_LIMIT;
 *  2. its officer field is the SHA-256 of a->officer_cert: ERR_POLICY;
 *  3. the certificate chains to o->people_cas at o->now, holds the officer
 *     role and no other Airlock role, allows digitalSignature when it has
 *     a keyUsage extension (pki/roles.h), and holds an RSA key of 2048 to
 *     8192 bits or an EC P-256 or P-384 key: ERR_POLICY;
 *  4. the signature verifies under the certificate's key with SHA-256
 *     (SHA-384 for P-384): ERR_POLICY;
 *  5. kind, object and digest are o's, each refused with its own message
 *     (a statement over another digest never counts): ERR_POLICY;
 *  6. the time is at most APPROVAL_CLOCK_SKEW seconds after o->now and not
 *     before o->not_before: ERR_POLICY.
 * On success *out holds the statement (out may be NULL). ERR_INTERNAL for
 * missing arguments (no people CA, no expected digest).
 * Not checked: revocation and lock-out of the officer (by certificate
 * SHA-256, the statement's officer field), and whether the officer voted
 * before; the caller's records decide those.
 */
int approval_verify(const struct approval_signed *a,
    const struct approval_verify_opts *o, struct approval_statement *out,
    err_t *err);

#endif
