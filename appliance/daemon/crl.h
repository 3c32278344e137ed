/*
 * crl.h: the daemon's side of revocation and CRLs (daemon-internal).
 *
 * The worker, each cycle while activated:
 *  1. applies approved revocation requests (queue_revocation_apply) and
 *     opens a CRL request for every CA whose certificates changed: a
 *     revocation reaches relying parties only through a CRL, and a CRL
 *     needs its own two-person approval;
 *  2. signs the CRLs officers approved (signer_crl_issue);
 *  3. writes issued CRLs to the medium (export/crl.h) when one is in;
 *  4. warns, at most hourly per CA, at the console's event list and in
 *     the log, when a CA's CRL is within its policy's warning window of
 *     nextUpdate, or past it.
 * Each step is resumed from the records after a crash.
 */
#ifndef AIRLOCK_DAEMON_CRL_H
#define AIRLOCK_DAEMON_CRL_H

#include <stdint.h>
#include <time.h>

#include "daemon/daemon.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Loads the CRL policy, policies_dir/crl/crl.yaml; without that file,
 * the built-in default (7 days, warning 2 days before, no distribution
 * point) applies and an event says so. Then checks it against every
 * enabled profile, which must be loaded already: ERR_POLICY (each
 * mismatch in diag) when a profile's certificates name a CRL
 * distribution point other than their CA's (crlpolicy_check_profile);
 * an event warns of a profile that names none under CRLs with an
 * issuing distribution point.
 */
int daemon_crl_load(struct daemon *d, diag_t *diag, err_t *err);

/*
 * 1 when the daemon keeps CRLs for ca: it has one, or issues devices.
 * st is the calling thread's own connection.
 */
int daemon_crl_signs_for(struct store *st, const struct daemon_ca *ca);

/*
 * The open CRL request of ca (pending approval or approved), or a new one
 * with cause and who. Idempotent, so a step cut by a crash can run again.
 */
int daemon_crl_open_request(struct store *st, const struct daemon_ca *ca,
    const char *cause, const char *who, int64_t *id, err_t *err);

/* Appends one line per CA the daemon keeps CRLs for: number, time left. */
void daemon_crl_status(struct daemon *d, struct store *st, time_t now,
    buf_t *t);

/* The worker's steps 1 to 3, while activated; outbox is NULL when no
 * medium is in. */
void daemon_crl_work(struct daemon *d, struct store *st, const char *outbox,
    time_t now);

/* Step 4, activated or not: a CRL that lapses breaks every device. */
void daemon_crl_warn(struct daemon *d, struct store *st, time_t now);

#endif
