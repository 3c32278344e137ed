/*
 * zipout.h: writing a ZIP archive in memory with libzip, for the files
 * Airlock hands out (export packages) and the bundles an operator makes.
 *
 * Every entry is a regular file, mode 0644, made on Unix, dated mtime,
 * with no extra fields: what `zip -X` makes, so nothing in it needs
 * judging by whoever opens it. An entry marked `store` is stored rather
 * than deflated: entries that hold secrets (keys, a password) go inside
 * an encrypted container, and compressing before encrypting leaks their
 * content through the size.
 */
#ifndef AIRLOCK_UTIL_ZIPOUT_H
#define AIRLOCK_UTIL_ZIPOUT_H

#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

struct zipout_entry {
	const char *name;	/* as it goes into the archive (UTF-8) */
	const void *data;	/* must stay valid during zipout_pack */
	size_t len;
	int store;		/* stored, not deflated */
};

/*
 * Packs the n entries, in order, into a ZIP archive appended to out. An
 * archive larger than max bytes is ERR_LIMIT; ERR_NOMEM, ERR_INTERNAL
 * (libzip refused) otherwise, with the entry named.
 */
int zipout_pack(const struct zipout_entry *e, size_t n, time_t mtime,
    size_t max, buf_t *out, err_t *err);

#endif
