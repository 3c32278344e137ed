/* writer.c: puts an export on the medium (see writer.h). */
#include "export/writer.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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
