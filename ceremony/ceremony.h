/*
 * ceremony.h: running key ceremonies.
 *
 * A ceremony script (script.h) says what to create; ceremony_run() does it
 * on the HSM, writes every output into the ceremony directory without ever
 * overwriting anything, and leaves a signed transcript (transcript.h).
 * With rehearse set, the same scripts run against a throwaway SoftHSM token
 * and a throwaway directory, and the console is told what the real run
 * would do.
 */
#ifndef AIRLOCK_CEREMONY_CEREMONY_H
#define AIRLOCK_CEREMONY_CEREMONY_H

#include <stddef.h>

#include "util/err.h"
#include "util/say.h"

struct ceremony_opts {
	const char *out_dir;		/* the ceremony directory */
	const char *const *pins;	/* --pin values: "LABEL=SOURCE" or "SOURCE" */
	size_t n_pins;
	const char *module;		/* overrides hsm.module; NULL: the script's */
	int rehearse;
	/* --dev-override-network: a networked host is not refused, but the
	 * override is said and written into every transcript. Development
	 * only (util/airgap.h). */
	int network_override;
	/* Progress lines for the officer; say may be NULL. */
	say_fn say;
	void *say_ctx;
};

/*
 * Runs the scripts in order, stopping at the first failure. A rehearsal
 * runs all of them in one throwaway HSM, so a whole ceremony day (root,
 * then issuing CAs, then enrolment) can be rehearsed in one command. A
 * real run first checks that the host is air-gapped: ERR_POLICY, before
 * any token is opened, when it is not (unless network_override).
 */
int ceremony_run(const char *const *scripts, size_t n,
    const struct ceremony_opts *o, err_t *err);

/* Checks scripts without touching any HSM; all problems go to diag. */
int ceremony_check(const char *const *scripts, size_t n, diag_t *diag,
    err_t *err);

#endif
