/*
 * mirror.h: the audit log's text mirror, an append-only file in the state
 * directory holding the canonical text (log.h) of what the store has
 * committed, so that the log can be read and checked with nothing but a
 * text file and stock tools.
 *
 * The store is the record; the mirror follows it. At open the file is
 * compared with the store's canonical text byte for byte: a line cut by a
 * crash is dropped and the missing tail appended; a file that differs in
 * any other way (edited, or the database restored from an older copy) is
 * kept aside under PATH.mismatch-TIME (PATH.mismatch-TIME.N when that name
 * is taken: an earlier copy is never replaced) for the auditors and
 * rewritten, and the open says so. One mirror is shared by the daemon's threads: every
 * call takes its lock.
 *
 * Checkpoints are made here, under the same lock, for the last record the
 * mirror holds, so that the file never carries a checkpoint before the
 * record it signs.
 */
#ifndef AIRLOCK_AUDIT_MIRROR_H
#define AIRLOCK_AUDIT_MIRROR_H

#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>

#include "audit/log.h"
#include "store/store.h"
#include "util/err.h"

struct audit_mirror;

/*
 * Opens (creating, mode 0640, never following a link) the mirror at path
 * and brings it in line with st. Every canonical line is also given to
 * tap (may be NULL), so that the caller checks the store's chain in the same
 * pass. note (may be NULL) gets one sentence when the file had to be
 * repaired or set aside, else "". 0 or ERR_*.
 */
int audit_mirror_open(const char *path, struct store *st, audit_text_fn tap,
    void *tap_ctx, char *note, size_t notesz, struct audit_mirror **out,
    err_t *err);

void audit_mirror_close(struct audit_mirror *m);

/* Appends what st has committed beyond the mirror, then fsyncs. */
int audit_mirror_sync(struct audit_mirror *m, struct store *st, err_t *err);

/*
 * Syncs, then signs the last record the mirror holds with key (the audit
 * key; key_sha256 its certificate's SHA-256), records the checkpoint with
 * reason, and appends it. *out (may be NULL) gets it. ERR_NOTFOUND when
 * the log is empty. 0 or ERR_*.
 */
int audit_mirror_checkpoint(struct audit_mirror *m, struct store *st,
    EVP_PKEY *key, const char key_sha256[AUDIT_HASH_HEX],
    const char *reason, time_t now, struct audit_checkpoint *out,
    err_t *err);

/* The last record seq the file holds. */
int64_t audit_mirror_seq(struct audit_mirror *m);

/* The file's path. */
const char *audit_mirror_path(const struct audit_mirror *m);

#endif
