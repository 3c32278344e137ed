/*
 * tokens.h: the HSM tokens a ceremony touches, opened once each.
 *
 * A ceremony can need several tokens: the CA token, and in an enrolment
 * each person's own token. Tokens are found by label or serial, never by
 * slot. The PIN for each comes from the --pin sources the officer gave
 * (prompt, fd:N, file:PATH) and is wiped right after login.
 *
 * In a rehearsal the same calls run against a throwaway SoftHSM token
 * directory: every token named is created fresh with a random PIN, so the
 * real HSM is never touched.
 */
#ifndef AIRLOCK_CEREMONY_TOKENS_H
#define AIRLOCK_CEREMONY_TOKENS_H

#include <stddef.h>

#include "hsm/hsm.h"
#include "util/err.h"

#define TOKENS_MAX 32
#define TOKENS_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct tokens_entry {
	char label[33];
	char serial[17];
	struct hsm_pool *pool;
	int logged_in;
};

struct tokens {
	const char *module;		/* PKCS#11 module for every token */
	const char *const *pins;	/* "LABEL=SOURCE" or "SOURCE" */
	size_t n_pins;
	const char *default_label;	/* token a bare "SOURCE" is for */
	struct tokens_entry t[TOKENS_MAX];
	size_t n;
	/* Rehearsal: a private SoftHSM tree and the PIN files we made. */
	int rehearse;
	char rehearse_dir[4096];
};

/* Prepares t; with rehearse, creates the throwaway SoftHSM tree. */
int tokens_init(struct tokens *t, const char *module, const char *const *pins,
    size_t n_pins, const char *default_label, int rehearse, err_t *err);

/*
 * Returns the pool for the token with this label or serial (one of them
 * non-empty), opening it (and logging in when login is set and it is not
 * logged in yet) on first use.
 */
int tokens_get(struct tokens *t, const char *label, const char *serial,
    int login, struct hsm_pool **out, err_t *err);

/*
 * Finds the PIN or passphrase source for `name`: the matching LABEL=SOURCE,
 * else a bare SOURCE when name is the default token, else "prompt".
 */
const char *tokens_pin_source(const struct tokens *t, const char *name);

/* In a rehearsal, the throwaway PIN file for a token label (else NULL). */
const char *tokens_rehearse_pinfile(struct tokens *t, const char *label,
    char *out, size_t outsz);

/* Closes every pool; in a rehearsal, deletes the throwaway tree. */
void tokens_close(struct tokens *t);

#endif
