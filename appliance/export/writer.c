/* writer.c: puts an export on the medium (see writer.h). */
#include "export/writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/sha.h>

#include "export/manifest.h"
#include "util/fileio.h"

/* Entries looked at when sweeping an outbox for stale attempts. */
#define EXPORT_SWEEP_MAX 100000

/* One attempt at an export: its directory under a temporary name. */
struct export_attempt {
	int dirfd;			/* DIR */
	int tmpfd;			/* DIR/tmp, held open so that its
					 * inode (and number) stays the same */
	int made;			/* tmp exists and is ours to remove */
	dev_t dev;			/* tmp's identity */
	ino_t ino;
	char dir[PATH_MAX];
	char subdir[NAME_MAX + 1];
	char tmp[NAME_MAX + 1];
	char path[PATH_MAX];		/* DIR/tmp */
};

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

/* Checks subdir and the files' names. */
static int
export_check_names(const char *subdir, const struct export_files *files,
    const char *stream_name, err_t *err)
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
	return 0;
}

/*
 * Empties and removes the directory name in dirfd, whose entries are
 * plain files (an attempt's). Best effort: on a medium that was pulled
 * nothing can be removed, and a hidden name is all that stays.
 */
static void
export_discard(int dirfd, const char *name)
{
	struct dirent *de;
	DIR *dir;
	int fd, n = 0;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	/* Bounded: an attempt holds one export's files and their temps. */
	while ((de = readdir(dir)) != NULL && n++ < EXPORT_SWEEP_MAX)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(fd, de->d_name, 0);
	closedir(dir);
	(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

/*
 * Removes what earlier failed attempts at subdir left under their
 * temporary names (".SUBDIR.tmp.*"): only the worker writes a given
 * export, so none of them is being written now.
 */
static void
export_sweep(int dirfd, const char *subdir)
{
	char prefix[EXPORT_NAME_MAX + 8];
	struct dirent *de;
	DIR *dir;
	int fd, n = 0;

	snprintf(prefix, sizeof(prefix), ".%s.tmp.", subdir);
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL && n++ < EXPORT_SWEEP_MAX)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			export_discard(dirfd, de->d_name);
	closedir(dir);
}

/*
 * Makes the attempt's directory under a temporary name in dir (opened
 * into a->dirfd): nothing of the export appears under DIR/SUBDIR until
 * export_publish. ERR_EXISTS when DIR/SUBDIR exists.
 */
static int
export_make_dir(const char *dir, const char *subdir, struct export_attempt *a,
    err_t *err)
{
	unsigned char rnd[6];
	char rndhex[2 * sizeof(rnd) + 1];
	struct stat sb;
	int n;

	a->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dirfd == -1)
		return err_set(err, ERR_IO, "cannot open %s: %s", dir,
		    strerror(errno));
	if (fstatat(a->dirfd, subdir, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(err, ERR_EXISTS, "%s/%s already exists; an "
		    "export is never written over another", dir, subdir);
	export_sweep(a->dirfd, subdir);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return err_set(err, ERR_IO, "cannot get random bytes for a "
		    "temporary name: %s", strerror(errno));
	buf_hex(rnd, sizeof(rnd), rndhex, sizeof(rndhex));
	n = snprintf(a->tmp, sizeof(a->tmp), ".%s.tmp.%s", subdir, rndhex);
	if (n < 0 || (size_t)n >= sizeof(a->tmp))
		return err_set(err, ERR_LIMIT, "export directory name %s is "
		    "too long", subdir);
	snprintf(a->subdir, sizeof(a->subdir), "%s", subdir);
	snprintf(a->dir, sizeof(a->dir), "%s", dir);
	if (mkdirat(a->dirfd, a->tmp, 0750) != 0)
		return err_set(err, ERR_IO, "cannot create a directory in %s: "
		    "%s", dir, strerror(errno));
	a->made = 1;
	if ((a->tmpfd = openat(a->dirfd, a->tmp, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || fstat(a->tmpfd, &sb) != 0)
		return err_set(err, ERR_IO, "%s/%s: %s", dir, a->tmp,
		    strerror(errno));
	a->dev = sb.st_dev;
	a->ino = sb.st_ino;
	return fileio_join(a->path, sizeof(a->path), dir, a->tmp, err);
}

/*
 * Moves the complete attempt to DIR/SUBDIR (never over anything), makes
 * that durable, and checks that DIR/SUBDIR is the directory written: a
 * medium pulled (lazily unmounted, or renamed away) while the export was
 * written took the files with it, and the export did not happen.
 */
static int
export_publish(struct export_attempt *a, err_t *err)
{
	struct stat sb;
	char final[PATH_MAX];

	if (fsync(a->tmpfd) != 0)
		return err_set(err, ERR_IO, "%s/%s: fsync failed: %s", a->dir,
		    a->subdir, strerror(errno));
	if (renameat2(a->dirfd, a->tmp, a->dirfd, a->subdir,
	    RENAME_NOREPLACE) != 0) {
		int e = errno;

		/* A file system without the flag: checked first (only the
		 * worker writes this export). */
		if (e == EINVAL || e == ENOSYS) {
			if (fstatat(a->dirfd, a->subdir, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0)
				e = EEXIST;
			else
				e = renameat(a->dirfd, a->tmp, a->dirfd,
				    a->subdir) == 0 ? 0 : errno;
		}
		if (e != 0)
			return err_set(err, e == EEXIST || e == ENOTEMPTY ?
			    ERR_EXISTS : ERR_IO, "cannot move the export into "
			    "%s/%s: %s", a->dir, a->subdir, strerror(e));
	}
	a->made = 0;
	if (fsync(a->dirfd) != 0)
		return err_set(err, ERR_IO, "%s: fsync failed: %s", a->dir,
		    strerror(errno));
	if (fileio_join(final, sizeof(final), a->dir, a->subdir, err) != 0)
		return ERR_LIMIT;
	if (lstat(final, &sb) != 0 || sb.st_dev != a->dev ||
	    sb.st_ino != a->ino)
		return err_set(err, ERR_IO, "%s: the medium was removed during "
		    "the export (the directory written is no longer there)",
		    final);
	return 0;
}

/* Removes a failed attempt and closes; a published one stays. */
static void
export_attempt_end(struct export_attempt *a)
{
	if (a->tmpfd != -1)
		close(a->tmpfd);
	a->tmpfd = -1;
	if (a->dirfd == -1)
		return;
	if (a->made)
		export_discard(a->dirfd, a->tmp);
	close(a->dirfd);
	a->dirfd = -1;
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
	struct export_attempt a = { .dirfd = -1, .tmpfd = -1 };
	int rc;

	if (dir == NULL || files == NULL || manifest == NULL || sig == NULL ||
	    manifest->len == 0 || sig->len == 0)
		return err_set(err, ERR_INVALID, "export_write: the export, "
		    "its manifest or its signature is missing");
	if ((rc = export_check_names(subdir, files, NULL, err)) == 0 &&
	    (rc = export_make_dir(dir, subdir, &a, err)) == 0 &&
	    (rc = export_write_into(a.path, files, manifest, sig, err)) == 0)
		rc = export_publish(&a, err);
	export_attempt_end(&a);
	return rc;
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
	struct export_attempt a = { .dirfd = -1, .tmpfd = -1 };
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
	    (rc = export_check_names(subdir, files, stream != NULL ?
	    stream->name : NULL, err)) != 0 ||
	    (rc = export_make_dir(dir, subdir, &a, err)) != 0)
		goto out;
	/* The streamed file first: the manifest needs its digest. */
	if (stream != NULL &&
	    ((rc = export_stream_write(a.path, stream, &man, err)) != 0 ||
	    (rc = export_manifest_sign(man.data, man.len, key, cert, extra,
	    &sig, err)) != 0))
		goto out;
	if ((rc = export_write_into(a.path, files, &man, &sig, err)) == 0)
		rc = export_publish(&a, err);
out:
	export_attempt_end(&a);
	if (rc == 0) {
		unsigned char md[SHA256_DIGEST_LENGTH];

		SHA256(man.data, man.len, md);
		buf_hex(md, sizeof(md), manifest_sha256, 65);
	}
	buf_free(&man);
	buf_free(&sig);
	return rc;
}
