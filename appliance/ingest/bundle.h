/*
 * bundle.h: a request bundle from the medium, opened and checked from end
 * to end (docs/formats/bundle.md): CMS envelope, ZIP archive, manifest,
 * the input it names (MAC range, CSRs or CSV) and the profile.
 *
 * Everything here is judged from the bundle and the appliance's
 * configuration alone. What needs the appliance's records (a replayed id
 * or digest, a MAC or name already held by a certificate of the profile)
 * is the intake's (daemon/intake.h), so that this module needs no
 * database and can run in the unprivileged ingest role.
 *
 * Checks, in order, stopping at the first stage that fails:
 *  1. envelope_open (signature, signer path and role, validity);
 *  2. the signer is enrolled and active: o->signer_lookup says who it is
 *     (the appliance's records); unknown, revoked or locked refuses;
 *  3. archive_open with o->limits;
 *  4. manifest_parse; manifest_check_archive; a manifest with a secret
 *     (the PKCS#12 password) must have come encrypted. A revocation
 *     request (kind revocation, bundle.md section 6) ends here, its
 *     targets file parsed into man.rev.targets (stage input on a bad
 *     line): resolving its targets needs the records, so it is the
 *     intake's. Any other kind must come from an operator: an officer's
 *     certificate (envelope officers_may_sign) is refused at stage
 *     envelope;
 *  5. the profile exists, is usable (profile_usable) and this operator may
 *     submit to it (profile_may_submit); the line count is at most its
 *     max_batch;
 *  6. the input: mac-range expanded (names in the profile's MAC format),
 *     csr files parsed (csr_parse_all), csv parsed (csv_parse) with the
 *     csr files its csr_file column names; every CSR's key checked with
 *     profile_check_key(from_csr = 1); lines without a CSR need a profile
 *     that can generate keys; no name or MAC twice in the batch; a line's
 *     subject must pass profile_certspec (a dry run at o->now against the
 *     issuer's notAfter, so that a request the profile refuses is refused
 *     now, with its line, not at signing);
 *  7. the output options: smpb needs a recipient certificate (an RSA
 *     certificate in PEM or DER inside the archive, within validity);
 *     pkcs12 needs a password of at least EXPORT_P12_PASSWORD_MIN bytes;
 *     when the appliance generates any key only smpb and pkcs12 are
 *     allowed ("plaintext keys asked for"); pkcs12 needs every key
 *     generated (a CSR's key is not ours to put in a PKCS#12).
 * Stages 6 and 7 report every problem at once, each naming file, line and
 * field in the wording of csv.h ("Line 12 - ..."); earlier stages give
 * the one message that stopped them.
 *
 * Memory: one bundle_line per line. A mac-range bundle of 500,000 lines
 * holds no per-line memory: its lines are computed on demand by
 * bundle_line_get. A csr or csv bundle keeps each request's DER.
 */
#ifndef AIRLOCK_INGEST_BUNDLE_H
#define AIRLOCK_INGEST_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "ingest/archive.h"
#include "ingest/envelope.h"
#include "ingest/manifest.h"
#include "policy/profile.h"
#include "queue/queue.h"
#include "util/buf.h"
#include "util/err.h"

/* Longest line name: a CN of 64 characters in UTF-8, with its NUL. */
#define BUNDLE_NAME_MAX 257
/* Longest key-type summary ("ec-p256 x 9998, rsa-2048 x 2 ..."). */
#define BUNDLE_KEY_TYPES_MAX 256

/* What the appliance's records say about the signer. */
struct bundle_signer {
	int64_t person_id;
	char name[256];		/* the enrolled name ("Dave Example") */
	char role[16];		/* operator, officer, auditor */
	char status[16];	/* active, revoked, locked */
};

/*
 * Looks up the certificate with SHA-256 signer_sha256 in the appliance's
 * records: 0 with *out filled, ERR_NOTFOUND when nobody enrolled holds
 * it, or another ERR_* (the store failed: the bundle is not judged and
 * stays in the inbox).
 */
typedef int (*bundle_signer_fn)(void *ctx, const char *signer_sha256,
    struct bundle_signer *out, err_t *err);

/* The issuing CA a profile names, as the appliance's records hold it. */
struct bundle_issuer {
	int64_t ca_id;
	X509 *cert;		/* a reference, owned by the callee */
};

/* Finds the CA called name: 0, ERR_NOTFOUND, or another ERR_*. */
typedef int (*bundle_issuer_fn)(void *ctx, const char *name,
    struct bundle_issuer *out, err_t *err);

struct bundle_opts {
	struct envelope_opts env;	/* people CAs, transport key, now, size */
	const struct archive_limits *limits;	/* NULL: the defaults */
	const struct profile_set *profiles;
	bundle_signer_fn signer_lookup;
	bundle_issuer_fn issuer_lookup;
	void *lookup_ctx;
};

/* Why a bundle was refused: the stage, for the console and the record. */
enum bundle_stage {
	BUNDLE_STAGE_NONE,
	BUNDLE_STAGE_ENVELOPE,	/* CMS, signature, signer's certificate */
	BUNDLE_STAGE_SIGNER,	/* not enrolled, revoked, locked */
	BUNDLE_STAGE_ARCHIVE,
	BUNDLE_STAGE_MANIFEST,
	BUNDLE_STAGE_PROFILE,
	BUNDLE_STAGE_INPUT,
	BUNDLE_STAGE_OUTPUT
};

/* "envelope", "signer", ...; "none". */
const char *bundle_stage_name(enum bundle_stage s);

struct bundle_line {
	char *name;		/* MAC in the profile's format, or the CN */
	int has_mac;
	unsigned char mac[MAC_LEN];
	unsigned char *request_der;	/* NULL: the appliance makes the key */
	size_t request_der_len;
	char *fields;		/* csv only: see queue_line_new.fields */
	/* Where it came from, for messages: the CSV line, or the line of
	 * the request's BEGIN in its file (0 for DER). */
	unsigned long src_line;
};

struct bundle {
	struct envelope env;		/* signer, digests, content */
	struct manifest man;
	struct bundle_signer signer;
	const struct profile *profile;	/* in opts->profiles */
	int64_t ca_id;			/* the profile's issuer */
	size_t n_lines;
	struct bundle_line *lines;	/* NULL for mac-range (computed) */
	int generates_keys;		/* 1 when any line has no request */
	char key_types[BUNDLE_KEY_TYPES_MAX];	/* for approvers */
	buf_t recipient_der;		/* smpb: the recipient certificate */
	/* bundle_line_get's storage for the line it hands out. */
	char scratch_name[BUNDLE_NAME_MAX];
	char scratch_mac[2 * MAC_LEN + 1];
};

/*
 * Opens and checks a bundle of len bytes whose file name is label. On
 * success returns 0 with *out filled (bundle_free it). On refusal returns
 * ERR_INVALID, ERR_POLICY or ERR_LIMIT with *stage set, every problem in
 * diag (at least one), and out holding only what identifies the file:
 * out->env.bundle_sha256 (empty when over the size limit), and once the
 * signature verified, out->env.signer_sha256, out->signer and out->man.id
 * (empty string when the manifest was not read) — the intake records a
 * refused bundle with them; bundle_free it too. Other errors (ERR_NOMEM,
 * ERR_IO from a lookup) mean the bundle was not judged: leave it in the
 * inbox and retry.
 */
int bundle_open(const char *label, const void *data, size_t len,
    const struct bundle_opts *o, struct bundle *out, enum bundle_stage *stage,
    diag_t *diag);

/*
 * Line number i (1 .. n_lines) as queue_batch_create takes it; for
 * mac-range computed into scratch storage inside b, valid until the next
 * call. Signature fits queue_line_source (ctx is the bundle).
 */
int bundle_line_get(void *b, int64_t i, struct queue_line_new *out,
    err_t *err);

/* Frees and wipes what b holds; b may be zeroed or partly filled. */
void bundle_free(struct bundle *b);

/*
 * A csv line's fields (queue_line_new.fields) as profile_certspec takes
 * them, so that the check at intake and the signer read the same text the
 * same way: common_name -> CN, country -> C, state -> ST, locality -> L,
 * organization -> O, organizational_unit -> OU, email -> emailAddress
 * (all into subject, in that order), dns -> one dNSName SAN per name of
 * its ';'-separated list (into san).
 */
struct bundle_fields {
	struct certspec_name subject;
	struct certspec_gnlist san;
};

/*
 * Parses fields (may be NULL: nothing) into out, initialised first. The
 * intake's dry run and the signer both call it. 0, ERR_LIMIT (longer than
 * CSV_LINE_MAX), ERR_INVALID (an unknown key, a record without '=', a key
 * twice, an empty value, a dns name empty or over CSR_SAN_VALUE_MAX
 * bytes) or ERR_NOMEM; out is emptied on failure.
 */
int bundle_fields_parse(const char *fields, struct bundle_fields *out,
    err_t *err);
void bundle_fields_free(struct bundle_fields *f);

#endif
