/*
 * shares.h: the PIN shares officers have presented for a split-pin
 * activation, held until M are there, the time runs out or someone
 * cancels (docs/formats/pinshare.md; the console verb is
 * `airlock activate --share`).
 *
 * The collector decides only what the shares themselves allow: every
 * share must come from the same split (token, serial, M, N), each index
 * and each officer counts once, and a share must name the officer who
 * presents it. Who the presenter is (an enrolled, active officer whose
 * signature over the share verifies) is the caller's to establish first.
 *
 * A session is what statements name: a random number (the statement's
 * object) and a random 32-byte nonce that the statement's digest covers
 * with the share record. Clearing the collector (expiry, cancel, an
 * activation, a restart) starts a new session, so a signed presentation
 * can never be replayed into another one.
 *
 * Share bytes live in secret_t holders and are wiped whenever the
 * collector is cleared. Not thread-safe: the console thread owns it.
 */
#ifndef AIRLOCK_DAEMON_SHARES_H
#define AIRLOCK_DAEMON_SHARES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pki/pinshare.h"
#include "util/err.h"
#include "util/secret.h"

struct shares_held {
	struct pinshare meta;
	secret_t *share;
	char name[256];		/* the officer, as enrolled */
};

struct shares {
	struct shares_held held[PINSHARE_MAX_SHARES];
	size_t n;
	time_t first_at;	/* when the first share held arrived */
	unsigned timeout;	/* seconds shares are held */
	int64_t session;	/* the statements' object, 1 .. 2^53 */
	unsigned char nonce[PINSHARE_NONCE_LEN];
};

/* Empties s and starts its first session; timeout in seconds. */
int shares_init(struct shares *s, unsigned timeout, err_t *err);

/* Wipes every share held and starts a new session. */
void shares_clear(struct shares *s);

/* Wipes and frees what s holds; s may then be dropped. */
void shares_free(struct shares *s);

/*
 * When shares are held for longer than the timeout at now, clears s and
 * returns how many were wiped; otherwise 0.
 */
size_t shares_expire(struct shares *s, time_t now);

/* The session nonce in hex (65 bytes with the NUL). */
void shares_nonce_hex(const struct shares *s, char out[65]);

/*
 * The digest a presentation statement signs in this session
 * (pinshare_digest with the session's nonce).
 */
int shares_digest(const struct shares *s, const void *record, size_t len,
    char out[65], err_t *err);

/*
 * Takes one share (meta parsed from the record, share its bytes, copied)
 * presented by the officer whose certificate has SHA-256 officer_sha256.
 * Returns 0 when held; ERR_POLICY when the share names another officer,
 * or another split than the shares held (token, serial, M or N);
 * ERR_EXISTS when its index, or its officer, was presented already;
 * ERR_NOMEM. The message says which.
 */
int shares_add(struct shares *s, const struct pinshare *meta,
    const secret_t *share, const char *officer_sha256, const char *name,
    time_t now, err_t *err);

/* How many more shares are needed: M minus those held (M unknown: 0). */
unsigned shares_needed(const struct shares *s);

/*
 * Rebuilds the PIN from the shares held (M of them) into pin. ERR_INVALID
 * when fewer than M are held.
 */
int shares_combine(const struct shares *s, secret_t *pin, err_t *err);

/* "Alice, Bob": the officers whose shares are held, for messages. */
void shares_names(const struct shares *s, char *out, size_t outsz);

#endif
