/*
 * rolelink.h: the store role's side of the ingest role (airlockd.8,
 * ROLES).
 *
 * The store role never parses a bundle itself: role_link_judge hands the
 * file (a descriptor opened O_NOFOLLOW, or a memfd with bytes from the
 * console) to the ingest role, answers the lookups and decryptions the
 * ingest role asks for while that bundle is in flight (from the
 * appliance's records and the HSM, through the intake's bundle_opts),
 * and turns its answer back into a struct bundle. It then checks again
 * what it relies on: the digest of the bytes it holds, the signer's
 * record, the profile and the issuer.
 *
 * When the ingest role ends while a bundle is in flight, or breaks the
 * protocol, the store asks the parent (over its control channel) for a
 * new one and the bundle is refused at stage "ingest" with how the role
 * ended ("the ingest role ended while reading this bundle (killed by
 * signal 31)"), so that the intake quarantines and audits it. The parent
 * also hands over a new ingest role unasked when one ends while idle.
 */
#ifndef AIRLOCK_ROLE_ROLELINK_H
#define AIRLOCK_ROLE_ROLELINK_H

#include "ingest/bundle.h"
#include "util/buf.h"
#include "util/err.h"

/* How long the store waits for the ingest role's next message. */
#define ROLELINK_TIMEOUT_MS (10 * 60 * 1000)
/* How often that wait looks whether the store is stopping. */
#define ROLELINK_SLICE_MS 200
/* Lookups and decryptions one bundle may ask for. */
#define ROLELINK_MAX_REQUESTS 64u
/* People CAs sent with a bundle, at most. */
#define ROLELINK_MAX_CAS 64u
/* The stage a bundle is refused at when the ingest role failed on it. */
#define ROLELINK_STAGE "ingest"

struct role_link;

/*
 * A link over chan (to the ingest role) and ctl (to the parent); both
 * are owned by the link from here on. 0, or ERR_NOMEM.
 */
int role_link_new(int chan, int ctl, struct role_link **out, err_t *err);
void role_link_free(struct role_link *l);

/*
 * Flags the store sets when it stops or deactivates (struct daemon's stop
 * and interrupt; either may be NULL). While one is set, a bundle in
 * flight is given up within ROLELINK_SLICE_MS instead of waiting up to
 * ROLELINK_TIMEOUT_MS for an ingest role that may be stuck: it is not
 * judged and stays in the inbox for the next start.
 */
void role_link_set_stop(struct role_link *l, const volatile int *stop,
    const volatile int *interrupt);

/*
 * Judges a bundle in the ingest role, with bundle_open's contract (o, out,
 * stage, diag). fd is the file, or -1 for data in memory; data holds the
 * bytes the store read (their digest must match). *stage_name is set to
 * ROLELINK_STAGE when the ingest role failed on this bundle (then the
 * result is ERR_POLICY with the reason in diag). ERR_IO when the ingest
 * role is not available (the bundle was not judged).
 */
int role_link_judge(void *ctx, const char *label, int fd, const buf_t *data,
    const struct bundle_opts *o, struct bundle *out,
    enum bundle_stage *stage, const char **stage_name, diag_t *diag);

#endif
