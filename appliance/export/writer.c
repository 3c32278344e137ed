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

/* The manifest's own names must stay the manifest's. */
static int
export_name_free(const char *name, err_t *err)
{
	if (strncasecmp(name, EXPORT_MANIFEST_NAME,
	    strlen(EXPORT_MANIFEST_NAME)) == 0)
		return err_set(err, ERR_INVALID, "export file %s takes the "
		    "manifest's name", name);
	return 0;
}

/*
 * Checks subdir and the files' names, then makes DIR/SUBDIR (never an
 * existing one) and puts its path into path.
 */
static int
export_make_dir(const char *dir, const char *subdir,
    const struct export_files *files, const char *stream_name, char *path,
    size_t pathsz, err_t *err)
{
	char stem[EXPORT_NAME_MAX + 1];
	size_t i;
	int rc;

	if ((rc = export_item_filename(subdir, stem, sizeof(stem), err)) != 0)
		return err_prefix(err, "export directory");
	if (strcmp(stem, subdir) != 0)
		return err_set(err, ERR_INVALID, "export directory '%s' "
		    "contains ':'", stem);
	for (i = 0; i < files->n; i++) {
		if ((rc = export_name_free(files->f[i].name, err)) != 0)
			return rc;
		if (stream_name != NULL &&
		    strcmp(files->f[i].name, stream_name) == 0)
			return err_set(err, ERR_INVALID, "export file %s is "
			    "listed twice", stream_name);
	}
	if (stream_name != NULL &&
	    (rc = export_name_free(stream_name, err)) != 0)
		return rc;
	if ((rc = fileio_join(path, pathsz, dir, subdir, err)) != 0)
		return rc;
	/* mkdir, not mkdirs: an existing directory is another export. */
	if (mkdir(path, 0750) != 0) {
		if (errno == EEXIST)
			return err_set(err, ERR_EXISTS, "%s already exists; "
			    "an export is never written over another", path);
		return err_set(err, ERR_IO, "cannot create %s: %s", path,
		    strerror(errno));
	}
	return 0;
}

/* The files, then the signature, then MANIFEST, into the made path. */
static int
export_write_into(const char *path, const struct export_files *files,
    const buf_t *manifest, const buf_t *sig, err_t *err)
{
	size_t i;
	int rc;

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
export_write(const char *dir, const char *subdir,
    const struct export_files *files, const buf_t *manifest,
    const buf_t *sig, err_t *err)
{
	char path[PATH_MAX];
	int rc;

	if (dir == NULL || files == NULL || manifest == NULL || sig == NULL ||
	    manifest->len == 0 || sig->len == 0)
		return err_set(err, ERR_INVALID, "export_write: the export, "
		    "its manifest or its signature is missing");
	if ((rc = export_make_dir(dir, subdir, files, NULL, path,
	    sizeof(path), err)) != 0)
		return rc;
	return export_write_into(path, files, manifest, sig, err);
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
	return export_write_signed_stream(dir, base, files, NULL, key, cert,
	    extra, subdir, subdirsz, manifest_sha256, err);
}

/* What a streamed file's producer writes through. */
struct export_sink {
	struct fileio_out *out;
	EVP_MD_CTX *md;
	uint64_t size;
};

static int
export_sink_put(void *ctx, const void *p, size_t n, err_t *err)
{
	struct export_sink *k = ctx;

	if (EVP_DigestUpdate(k->md, p, n) != 1)
		return err_set(err, ERR_CRYPTO, "SHA-256 failed");
	k->size += n;
	return fileio_out_write(k->out, p, n, err);
}

/* Writes the streamed file into path; its line goes to man. */
static int
export_stream_write(const char *path, const struct export_stream *st,
    buf_t *man, err_t *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char full[PATH_MAX], hex[2 * SHA256_DIGEST_LENGTH + 1];
	struct export_sink k = { NULL, NULL, 0 };
	unsigned mdlen = 0;
	int rc;

	if ((rc = fileio_join(full, sizeof(full), path, st->name, err)) != 0)
		return rc;
	if ((k.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(k.md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(k.md);
		return err_set(err, ERR_CRYPTO, "SHA-256 failed");
	}
	if ((rc = fileio_out_open(full, st->secret ? 0600 : 0644, &k.out,
	    err)) != 0)
		goto out;
	if ((rc = st->fn(st->ctx, export_sink_put, &k, err)) != 0) {
		fileio_out_abort(k.out);
		goto out;
	}
	if ((rc = fileio_out_commit(k.out, err)) != 0)
		goto out;
	if (EVP_DigestFinal_ex(k.md, md, &mdlen) != 1) {
		rc = err_set(err, ERR_CRYPTO, "SHA-256 failed");
		goto out;
	}
	buf_hex(md, mdlen, hex, sizeof(hex));
	rc = export_manifest_entry(man, st->name, hex, k.size, err);
out:
	if (rc != 0)
		err_prefix(err, "export file %s", st->name);
	EVP_MD_CTX_free(k.md);
	return rc;
}

int
export_write_signed_stream(const char *dir, const char *base,
    const struct export_files *files, const struct export_stream *stream,
    EVP_PKEY *key, X509 *cert, STACK_OF(X509) *extra, char *subdir,
    size_t subdirsz, char manifest_sha256[65], err_t *err)
{
	char path[PATH_MAX];
	buf_t man, sig;
	int rc;

	if (dir == NULL || files == NULL || (stream != NULL &&
	    (stream->name == NULL || stream->fn == NULL)))
		return err_set(err, ERR_INVALID, "export_write_signed_stream: "
		    "the export or its streamed file is missing");
	buf_init(&man, EXPORT_MANIFEST_MAX);
	buf_init(&sig, EXPORT_MANIFEST_MAX);
	/*
	 * Nothing reaches the medium for an export that cannot be signed:
	 * without a streamed file the manifest is signed first; with one
	 * (whose digest the manifest needs) the key is checked first.
	 */
	if ((rc = export_manifest_text(files, &man, err)) != 0)
		goto out;
	if (stream == NULL && (rc = export_manifest_sign(man.data, man.len,
	    key, cert, extra, &sig, err)) != 0)
		goto out;
	if (stream != NULL && (cert == NULL || key == NULL ||
	    X509_check_private_key(cert, key) != 1)) {
		rc = err_set_ossl(err, ERR_INVALID, "the export key is not the "
		    "key of the export certificate");
		goto out;
	}
	if ((rc = export_free_subdir(dir, base, subdir, subdirsz, err)) != 0 ||
	    (rc = export_make_dir(dir, subdir, files, stream != NULL ?
	    stream->name : NULL, path, sizeof(path), err)) != 0)
		goto out;
	/* The streamed file first: the manifest needs its digest. */
	if (stream != NULL &&
	    ((rc = export_stream_write(path, stream, &man, err)) != 0 ||
	    (rc = export_manifest_sign(man.data, man.len, key, cert, extra,
	    &sig, err)) != 0))
		goto out;
	rc = export_write_into(path, files, &man, &sig, err);
out:
	if (rc == 0) {
		unsigned char md[SHA256_DIGEST_LENGTH];

		SHA256(man.data, man.len, md);
		buf_hex(md, sizeof(md), manifest_sha256, 65);
	}
	buf_free(&man);
	buf_free(&sig);
	return rc;
}
