/*
 * import.h: turning ceremony outputs into the appliance's state
 * (`airlock init`).
 *
 * Every transcript in the ceremony directory is verified (signature, and
 * the SHA-256 of every output it lists) before anything is read from it;
 * every certificate must chain to the root by signature; then CAs, people
 * with their roles, appliance keys and CRLs go into a new database in one
 * transaction. A directory that fails any check leaves no database behind.
 */
#ifndef AIRLOCK_CEREMONY_IMPORT_H
#define AIRLOCK_CEREMONY_IMPORT_H

#include "store/store.h"
#include "util/err.h"
#include "util/say.h"

struct import_opts {
	const char *ceremony_dir;
	const char *db_path;		/* must not exist yet */
	/* Fingerprints the roots must have (each root must be listed), or none. */
	const char *const *root_sha256;
	size_t n_root_sha256;
	say_fn say;
	void *say_ctx;
};

int import_run(const struct import_opts *o, err_t *err);

#endif
