/*
 * crl.h: issuing a CA's CRL in the HSM (docs/formats/crl.md).
 *
 * signer_crl_issue follows the number protocol of queue/crl.h:
 *  0. the checks of step 3 that do not depend on the entries (the CA
 *     certificate, its key and digest, the policy's issuing distribution
 *     point) run on the same CRL without entries, so that a CA that
 *     cannot pass them does not use up a number at every attempt;
 *  1. the CA's next CRL number is taken and committed first
 *     (queue_crl_take_number), so a crash at any later point leaves a
 *     gap and never a number that names two CRLs;
 *  2. the CA's revoked and held certificates are streamed from the store
 *     in serial order (queue_crl_entries) into the CRL encoder
 *     (pki/crlder.h): thisUpdate is o->now, nextUpdate o->now plus the
 *     policy's validity, the issuing distribution point the policy's
 *     when it asks for one;
 *  3. the TBS is linted in one pass over its bytes (lint_crl_tbs,
 *     pki/lint.h: RFC 5280 section 5 against the CA certificate, the
 *     HSM key and digest, the policy's issuing distribution point) and
 *     refused when it fails (ERR_POLICY naming the check); its digest is
 *     signed in the HSM (signer_sign_tbs: RSA PKCS#1 v1.5 or ECDSA), the
 *     CRL assembled (pkisign_assemble) and its signature checked under the CA certificate's key without decoding
 *     the CRL (pki/sigcheck.h), so a million entries cost their DER size;
 *  4. the CRL is recorded and the request marked issued in one
 *     transaction (queue_crl_record). Only then may it leave the process
 *     (export/crl.h).
 * Memory: about twice the CRL's DER size at the peak (the TBS and the
 * signed CRL), whatever the number of entries.
 *
 * The store connection is used from the calling thread only.
 */
#ifndef AIRLOCK_SIGNER_CRL_H
#define AIRLOCK_SIGNER_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "policy/crlpolicy.h"
#include "store/store.h"
#include "util/err.h"
#include "util/event.h"

struct signer_crl_opts {
	struct store *st;
	int64_t request_id;		/* an approved request; 0: none */
	int64_t ca_id;			/* the CA in the store */
	const char *ca_name;		/* for messages */
	X509 *ca_cert;			/* its certificate (subject, SKI, key) */
	struct hsm_key *ca_key;		/* its key in the HSM (checked) */
	const struct crlpolicy_entry *policy;	/* crlpolicy_for(ca_name) */
	const EVP_MD *md;		/* NULL: SHA-256 */
	time_t now;			/* thisUpdate */
	/* Gets the "crl-issued" event inside the transaction that records
	 * the CRL: when it fails, nothing is recorded (the number stays
	 * used up) and the request is tried again. NULL: no event. */
	event_fn event;
	void *event_ctx;
};

struct signer_crl_result {
	int64_t number;
	time_t this_update, next_update;
	size_t entries;
	size_t der_len;
	char sha256[65];		/* of the DER, as recorded */
};

/*
 * Issues the CA's CRL as above. 0 with *out filled (may be NULL).
 * ERR_INVALID when the key is not the certificate's or the inputs are
 * wrong, ERR_POLICY when step 0 fails (nothing is taken then); after the
 * number is taken, any failure (the HSM, the store, a revoked
 * certificate the encoder refuses, the lint: ERR_POLICY) leaves
 * the number used up and the request approved, to be tried again.
 */
int signer_crl_issue(const struct signer_crl_opts *o,
    struct signer_crl_result *out, err_t *err);

#endif
