/*
 * writer.h: puts an export on the medium.
 *
 * The export goes into a new directory DIR/SUBDIR that must not exist.
 * It is written under a hidden temporary name (".SUBDIR.tmp.<random>"),
 * each file through fileio_create (temporary name, fsync, no-replace
 * rename), MANIFEST.p7s after every listed file and MANIFEST last of
 * all; only then is the directory fsynced and renamed to SUBDIR (never
 * over anything) and DIR fsynced. So nothing of an export is ever
 * visible under its final name before all of it is there: a failure
 * (medium full, read-only, pulled) leaves no SUBDIR, and its temporary
 * directory is removed where the medium still allows it (else by the
 * next attempt at the same SUBDIR). After the rename SUBDIR is checked to
 * be the directory written: a medium pulled during the export (a lazy
 * unmount, the mount point renamed) fails the export. An export whose
 * MANIFEST is absent is still incomplete and must not be used (exports
 * of older versions left such directories).
 */
#ifndef AIRLOCK_EXPORT_WRITER_H
#define AIRLOCK_EXPORT_WRITER_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "export/package.h"
#include "util/buf.h"
#include "util/err.h"

/* Attempts at one export on one medium: base, base.2 ... base.999. */
#define EXPORT_MAX_TRIES 999
/* Room a base name leaves for the retry suffix (".999"). */
#define EXPORT_SUFFIX_ROOM 4

/*
 * Writes files, then sig as MANIFEST.p7s, then manifest as MANIFEST,
 * into DIR/SUBDIR. subdir is one path component under the rules of
 * export_item_filename; dir must exist. Secret files get mode 0600, the
 * others 0644. 0, or ERR_EXISTS (the directory or a file exists),
 * ERR_INVALID (subdir, or a file name MANIFEST*), ERR_IO, with err naming
 * the file that failed; nothing is left under SUBDIR after a failure.
 */
int export_write(const char *dir, const char *subdir,
    const struct export_files *files, const buf_t *manifest,
    const buf_t *sig, err_t *err);

/*
 * The first of base, base.2, base.3 ... base.999 that dir does not hold,
 * into out: an existing directory (a copy written but not recorded, an
 * older version's incomplete attempt) is never reused.
 * ERR_LIMIT when all are taken or the name does not fit.
 */
int export_free_subdir(const char *dir, const char *base, char *out,
    size_t outsz, err_t *err);

/*
 * The whole signed export in one call: the manifest text of files,
 * signed by key with cert (adding extra, may be NULL), written with
 * export_write into the first free subdir of base (export_free_subdir).
 * subdir gets the directory's name, manifest_sha256 the SHA-256 of
 * MANIFEST. Errors as export_manifest_sign and export_write.
 */
int export_write_signed(const char *dir, const char *base,
    const struct export_files *files, EVP_PKEY *key, X509 *cert,
    STACK_OF(X509) *extra, char *subdir, size_t subdirsz,
    char manifest_sha256[65], err_t *err);

/*
 * A file too large to hold in memory (the whole audit log), made by its
 * producer in parts: fn is called once and hands every byte, in order,
 * to put(wctx, ...), returning what put returned on failure.
 */
typedef int (*export_put_fn)(void *wctx, const void *p, size_t n,
    err_t *err);
struct export_stream {
	const char *name;
	int secret;
	int (*fn)(void *ctx, export_put_fn put, void *wctx, err_t *err);
	void *ctx;
};

/*
 * export_write_signed with one streamed file besides files (NULL: none):
 * it is written first (temporary name, fsync, rename) while its SHA-256
 * and size are taken, and listed in MANIFEST after files. Memory does
 * not grow with its size.
 */
int export_write_signed_stream(const char *dir, const char *base,
    const struct export_files *files, const struct export_stream *stream,
    EVP_PKEY *key, X509 *cert, STACK_OF(X509) *extra, char *subdir,
    size_t subdirsz, char manifest_sha256[65], err_t *err);

#endif
