/* writer.c: puts an export on the medium (see writer.h). */
#include "export/writer.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/sha.h>

#include "export/manifest.h"
#include "util/fileio.h"

/* Writes one file of the export; err names it on failure. */
static int
write_one(const char *path, const char *name, const void *data, size_t len,
    int secret, err_t *err)
{
	char full[PATH_MAX];
	int rc;

	if ((rc = fileio_join(full, sizeof(full), path, name, err)) != 0)
		return rc;
	if ((rc = fileio_create(full, data, len, secret ? 0600 : 0644,
	    err)) != 0)
		err_prefix(err, "export file %s", name);
	return rc;
}

int
export_write(const char *dir, const char *subdir,
    const struct export_files *files, const buf_t *manifest,
    const buf_t *sig, err_t *err)
{
	char stem[EXPORT_NAME_MAX + 1], path[PATH_MAX];
	size_t i;
	int rc;

	if (dir == NULL || files == NULL || manifest == NULL || sig == NULL ||
	    manifest->len == 0 || sig->len == 0)
		return err_set(err, ERR_INVALID, "export_write: the export, "
		    "its manifest or its signature is missing");
	if ((rc = export_item_filename(subdir, stem, sizeof(stem), err)) != 0)
		return err_prefix(err, "export directory");
	if (strcmp(stem, subdir) != 0)
		return err_set(err, ERR_INVALID, "export directory '%s' "
		    "contains ':'", stem);
	/* The manifest's own names must stay the manifest's. */
	for (i = 0; i < files->n; i++)
		if (strncasecmp(files->f[i].name, EXPORT_MANIFEST_NAME,
		    strlen(EXPORT_MANIFEST_NAME)) == 0)
			return err_set(err, ERR_INVALID, "export file %s "
			    "takes the manifest's name", files->f[i].name);
	if ((rc = fileio_join(path, sizeof(path), dir, subdir, err)) != 0)
		return rc;
	/* mkdir, not mkdirs: an existing directory is another export. */
	if (mkdir(path, 0750) != 0) {
		if (errno == EEXIST)
			return err_set(err, ERR_EXISTS, "%s already exists; "
			    "an export is never written over another", path);
		return err_set(err, ERR_IO, "cannot create %s: %s", path,
		    strerror(errno));
	}
	for (i = 0; i < files->n; i++)
		if ((rc = write_one(path, files->f[i].name,
		    files->f[i].data.data, files->f[i].data.len,
		    files->f[i].secret, err)) != 0)
			return rc;
	/*
	 * MANIFEST last: its presence is what says the export is complete,
	 * and a MANIFEST without its signature must never be seen.
	 */
	if ((rc = write_one(path, EXPORT_MANIFEST_SIG_NAME, sig->data,
	    sig->len, 0, err)) != 0)
		return rc;
	return write_one(path, EXPORT_MANIFEST_NAME, manifest->data,
	    manifest->len, 0, err);
}

int
export_free_subdir(const char *dir, const char *base, char *out,
    size_t outsz, err_t *err)
{
	char path[PATH_MAX];
	int k;

	for (k = 1; k <= EXPORT_MAX_TRIES; k++) {
		int n = k == 1 ? snprintf(out, outsz, "%s", base) :
		    snprintf(out, outsz, "%s.%d", base, k);
		if (n < 0 || (size_t)n >= outsz)
			return err_set(err, ERR_LIMIT, "export directory name "
			    "%s is too long", base);
		if (fileio_join(path, sizeof(path), dir, out, err) != 0)
			return ERR_LIMIT;
		if (!fileio_exists(path))
			return 0;
	}
	return err_set(err, ERR_LIMIT, "the outbox already holds %d attempts "
	    "at %s; clear the incomplete ones (those without MANIFEST)",
	    EXPORT_MAX_TRIES, base);
}

int
export_write_signed(const char *dir, const char *base,
    const struct export_files *files, EVP_PKEY *key, X509 *cert,
    STACK_OF(X509) *extra, char *subdir, size_t subdirsz,
    char manifest_sha256[65], err_t *err)
{
	buf_t man, sig;
	int rc;

	buf_init(&man, EXPORT_MANIFEST_MAX);
	buf_init(&sig, EXPORT_MANIFEST_MAX);
	if ((rc = export_manifest_text(files, &man, err)) == 0 &&
	    (rc = export_manifest_sign(man.data, man.len, key, cert, extra,
	    &sig, err)) == 0 &&
	    (rc = export_free_subdir(dir, base, subdir, subdirsz, err)) == 0)
		rc = export_write(dir, subdir, files, &man, &sig, err);
	if (rc == 0) {
		unsigned char md[SHA256_DIGEST_LENGTH];

		SHA256(man.data, man.len, md);
		buf_hex(md, sizeof(md), manifest_sha256, 65);
	}
	buf_free(&man);
	buf_free(&sig);
	return rc;
}
