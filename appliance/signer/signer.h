/*
 * signer.h: issuing the certificates of an approved batch in the HSM, in
 * parallel, under the queue's crash-safety contract (queue/queue.h).
 *
 * signer_run takes a batch in state issuing and works until no line is
 * pending or reserved:
 *  1. Lines left reserved by a crash are signed first, over the SAME TBS
 *     bytes that were reserved (their keys, if generated, are already
 *     stored encrypted), and issued.
 *  2. Then, group by group (o->group lines, default SIGNER_GROUP), the
 *     pending lines are prepared on worker threads: the request is rebuilt
 *     (the CSR's subject and public key, or the csv fields, or the MAC),
 *     a device key generated when the line has no CSR (the profile's
 *     generate type, in software with OpenSSL, on all cores) and encrypted
 *     at once with the batch's data key (pki/vault.h, AAD binding batch
 *     and line: docs/formats/vault.md), the certspec made by
 *     profile_certspec at o->now against the issuer's notAfter, a serial
 *     drawn from the HSM's random generator (certbuild_serial), the TBS
 *     built and linted (pki/lint.h with profile_lint_opts). A line the
 *     profile refuses now fails with the profile's message (queue_fail);
 *     the others are reserved in one transaction (queue_reserve; a serial
 *     collision draws again).
 *  3. The reserved TBS are signed in the HSM on all the pool's sessions at
 *     once (a raw PKCS#1 v1.5 or ECDSA signature over the TBS digest,
 *     hsm_sign_raw), each certificate assembled around the exact reserved
 *     TBS bytes, and the group is issued in one transaction (queue_issue:
 *     it checks TBS and signature again). Only then may a certificate
 *     leave the process.
 * The digest is the profile's (profile_md); the signature algorithm in the
 * TBS matches the CA key (RSA: sha*WithRSAEncryption; EC: ecdsa-with-*).
 *
 * Memory: at most a few groups of lines in memory at a time, whatever the
 * batch size. Generated keys are wiped (EVP_PKEY_free of a key whose
 * PKCS#8 was wiped; the PKCS#8 buffer itself is a secret buf) as soon as
 * they are stored encrypted.
 *
 * Errors: a line the profile refuses fails alone. Anything else (the HSM
 * refused, the store failed, the disk is full) stops the run with an
 * error and leaves the batch issuing: nothing is lost, and the next run
 * resumes where this one stopped.
 *
 * The store connection is used from the calling thread only; worker
 * threads never touch it.
 */
#ifndef AIRLOCK_SIGNER_SIGNER_H
#define AIRLOCK_SIGNER_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "policy/profile.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/event.h"
#include "util/secret.h"

/* Lines prepared, reserved and issued together (one transaction each). */
#define SIGNER_GROUP 256
/* Most worker threads. */
#define SIGNER_MAX_THREADS 64

struct signer_progress {
	int64_t batch_id;
	int64_t lines, issued, failed, pending;
};

struct signer_opts {
	struct store *st;
	int64_t batch_id;		/* in state issuing */
	const struct profile *profile;	/* the batch's profile */
	X509 *issuer;			/* the issuing CA certificate */
	struct hsm_key *issuer_key;	/* its key in the HSM (checked) */
	struct hsm_pool *pool;		/* for serial randomness */
	/* The batch's data key, opened from data_key_wrapped by the caller
	 * (the transport key's job); NULL for a batch without generated
	 * keys. */
	const secret_t *data_key;
	unsigned threads;		/* 0: the number of online CPUs */
	size_t group;			/* 0: SIGNER_GROUP */
	time_t now;			/* issuance time (notBefore) */
	/* Gets one "certificate-issued" event per certificate, inside the
	 * group's transaction (queue_issue_ev); may be NULL. */
	event_fn event;
	void *event_ctx;
	/* Called after each group is committed; may be NULL. */
	void (*progress)(void *ctx, const struct signer_progress *p);
	void *progress_ctx;
	/* Cooperative stop (daemon shutdown): checked between groups. */
	volatile int *stop;
};

/*
 * Runs the batch as described above. Returns 0 when no line is pending or
 * reserved any more (the caller then calls queue_batch_finish), ERR_AGAIN
 * when *o->stop was set, or the error that stopped it. *out
 * (may be NULL) gets the final counts.
 */
int signer_run(const struct signer_opts *o, struct signer_progress *out,
    err_t *err);

/*
 * The AAD that binds a generated key to its place, as docs/formats/
 * vault.md specifies ("airlock-key\\nbatch: B\\nline: L\\n"); the export
 * uses the same function to decrypt. Returns the length written, or 0
 * when outsz is too small (64 always suffices).
 */
size_t signer_key_aad(int64_t batch, int64_t line, char *out, size_t outsz);

#endif
