/*
 * intake.h: from a file in the medium's inbox/ to a queued batch or
 * revocation request, or a quarantined file; and the same for a bundle the
 * console hands over in memory (intake_submit).
 *
 * The medium is a directory (on the appliance, the mount point of the USB
 * stick) with inbox/, outbox/ and quarantine/. intake_scan looks at the
 * entries of inbox/ through a directory descriptor: it never follows a
 * symlink (every open is O_NOFOLLOW relative to that descriptor, the
 * medium root itself opened O_DIRECTORY|O_NOFOLLOW), ignores anything that
 * is not a regular file (directories, links, devices, FIFOs), and ignores
 * names starting with '.' (partial copies that file managers and rsync
 * write). A file is taken only once it has "settled": the same size and
 * modification time on two scans at least settle_ms apart, so that a
 * bundle still being copied onto the stick is not judged half-written.
 *
 * For a settled file intake_file:
 *  1. reads it (bounded by the envelope's size limit: a larger file is
 *     refused without being read);
 *  2. bundle_open (ingest/bundle.h) judges it;
 *  3. against the records: a bundle id or digest seen before is a replay
 *     (queue_bundle_seen); a MAC or name already held by a valid,
 *     unexpired certificate of the same profile, or by a line of another
 *     batch of the profile that is still pending approval, approved or
 *     issuing, is refused per line (queue_names_taken);
 *  3b. a bundle of kind revocation (bundle.md section 6, signed by an
 *     operator or an officer) is not checked against names: its targets
 *     are resolved against the certificate table and the request recorded
 *     with bundle row and items in one transaction
 *     (queue_revocation_intake); targets that do not resolve refuse it at
 *     stage records, every one listed;
 *  4. accepted: the PKCS#12 password is sealed to the transport
 *     certificate (pki/vault.h), a fresh data key is drawn and sealed when
 *     the appliance will generate keys, the file is copied into the state
 *     directory (bundles/<sha256>.bundle, fsynced: auditors can verify it
 *     later), then queue_intake records bundle, batch and lines in one
 *     transaction, and only then is the file removed from inbox/;
 *     refused: the refusal is recorded (queue_bundle_add, status
 *     rejected; the id only once the signature verified, see queue.h),
 *     the .reason file is written, then the file is moved to quarantine/.
 * Every step is idempotent by the bundle's digest, so a crash anywhere is
 * finished on the next scan: a file whose digest is recorded accepted is
 * just removed from inbox/ (after making sure the state copy exists); one
 * recorded rejected is moved to quarantine/ with its recorded reason. A
 * replayed file is itself quarantined with reason "replay".
 *
 * quarantine/: NAME (the file as received, renamed there on the same
 * file system) and NAME.reason, written first (temporary name, fsync,
 * rename). When NAME is taken in quarantine/, the file becomes
 * NAME.<unix-time>[.<n>]. The .reason file is UTF-8 text:
 *
 *   file: NAME
 *   sha256: 64 hex (or "-" when the file was over the size limit)
 *   received: 2026-11-22T10:00:00Z
 *   signer: Dave Example (64 hex)        only once the signature verified
 *   stage: envelope | signer | archive | manifest | profile | input |
 *          output | replay | records | ingest (the ingest role failed
 *          on it: role/rolelink.h)
 *   reason: the first problem
 *   problems: N
 *     - every problem, one per line, as the diag says it (file:line: ...)
 *
 * Every outcome is reported through the event sink (util/event.h):
 * "bundle-accepted" (object "batch N", details: bundle id, digest, lines,
 * profile), "bundle-rejected" (object "file inbox/NAME", details: stage
 * and first problem), "bundle-replayed".
 *
 * The intake never signs and never needs the HSM except to decrypt an
 * encrypted bundle (through o->bundle.env.transport_key); without it an
 * encrypted bundle is refused as undecryptable... so the daemon scans only
 * once activated.
 */
#ifndef AIRLOCK_DAEMON_INTAKE_H
#define AIRLOCK_DAEMON_INTAKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ingest/bundle.h"
#include "store/store.h"
#include "util/err.h"
#include "util/event.h"

/* Entries intake_scan looks at in one pass (the rest wait). */
#define INTAKE_MAX_ENTRIES 1024
/* Default: a file must be unchanged for this long before it is judged. */
#define INTAKE_SETTLE_MS 1000

struct intake_config {
	const char *media_dir;		/* holds inbox/, outbox/, quarantine/ */
	const char *state_dir;		/* bundles/ is created under it */
	unsigned settle_ms;		/* 0: INTAKE_SETTLE_MS */
	struct store *st;		/* this thread's connection */
	/* Checks and keys: bundle.env.now is set by intake for each file
	 * from clock (NULL: time()). bundle.signer_lookup and issuer_lookup
	 * may be NULL: the intake then supplies lookups on st. */
	struct bundle_opts bundle;
	time_t (*clock)(void);
	EVP_PKEY *transport_pub;	/* seals secrets (the cert's key) */
	event_fn event;
	void *event_ctx;
	/* Called with event_ctx after each step and its events commit (the
	 * daemon brings the audit log's text copy up to date); may be NULL. */
	void (*committed)(void *event_ctx);
	/* Judges the bytes in place of bundle_open, with its contract: the
	 * store role hands them to the ingest role (role/rolelink.h). fd is
	 * the file (opened O_NOFOLLOW, regular), or -1 for bytes in memory;
	 * data holds the bytes the intake read. *stage_name, when the judge
	 * sets it, is the refusal's stage instead of bundle_stage_name's.
	 * NULL: bundle_open in this process. */
	int (*judge)(void *ctx, const char *label, int fd, const buf_t *data,
	    const struct bundle_opts *o, struct bundle *out,
	    enum bundle_stage *stage, const char **stage_name, diag_t *diag);
	void *judge_ctx;
};

struct intake;

/* Makes an intake; the config's pointers must outlive it. */
int intake_new(const struct intake_config *c, struct intake **out,
    err_t *err);
void intake_free(struct intake *in);

/* What one file came to. */
enum intake_outcome {
	INTAKE_WAITING,		/* not settled yet, or not judged (retry) */
	INTAKE_ACCEPTED,
	INTAKE_REJECTED,	/* quarantined, with its .reason */
	INTAKE_IGNORED		/* not a regular file, or a dot name */
};

struct intake_result {
	enum intake_outcome outcome;
	int64_t batch_id;		/* ACCEPTED, a request bundle */
	int64_t revocation_id;		/* ACCEPTED, a revocation request */
	char reason[512];		/* REJECTED: the first problem */
};

/*
 * One pass over inbox/. *accepted and *rejected (each may be NULL) get
 * how many files were accepted and refused. A missing medium or inbox/
 * is not an error (0, nothing done): sticks come and go. ERR_IO only for
 * trouble that stops the whole pass (the store failed); a file that
 * cannot be judged now stays and is retried.
 */
int intake_scan(struct intake *in, size_t *accepted, size_t *rejected,
    err_t *err);

/*
 * Judges one settled file of inbox/ now (tests and the scan use it).
 * Returns 0 with *res filled; a negative ERR_* when the file could not be
 * judged (store, disk): it is then left where it is.
 */
int intake_file(struct intake *in, const char *name,
    struct intake_result *res, err_t *err);

/*
 * Judges a bundle handed over in memory (the console's `airlock revoke`)
 * exactly as a file of inbox/ is judged, recorded under the file name
 * label: the same checks, replay rules, records and events; there is
 * only no file to remove or quarantine. On refusal (res->outcome
 * INTAKE_REJECTED) reason gets the text a .reason file would hold, every
 * problem listed. reason (may be NULL) is initialised here; the caller
 * buf_frees it. Returns 0, or an ERR_* when the bundle could not be
 * judged (nothing was recorded).
 */
int intake_submit(struct intake *in, const char *label, const void *data,
    size_t len, struct intake_result *res, buf_t *reason, err_t *err);

#endif
