/*
 * writer.h: puts an export on the medium.
 *
 * The export goes into a new directory DIR/SUBDIR that must not exist.
 * Each file is written with fileio_create (temporary name, fsync,
 * no-replace rename), so every file that appears under its final name is
 * complete. MANIFEST.p7s is written after every listed file and MANIFEST
 * last of all: an export whose MANIFEST is absent is incomplete and must
 * not be used, whatever else is in the directory.
 */
#ifndef AIRLOCK_EXPORT_WRITER_H
#define AIRLOCK_EXPORT_WRITER_H

#include "export/package.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Writes files, then sig as MANIFEST.p7s, then manifest as MANIFEST,
 * into DIR/SUBDIR. subdir is one path component under the rules of
 * export_item_filename; dir must exist. Secret files get mode 0600, the
 * others 0644. 0, or ERR_EXISTS (the directory or a file exists),
 * ERR_INVALID (subdir, or a file name MANIFEST*), ERR_IO, with err naming
 * the file that failed; files written before a failure stay in place.
 */
int export_write(const char *dir, const char *subdir,
    const struct export_files *files, const buf_t *manifest,
    const buf_t *sig, err_t *err);

#endif
