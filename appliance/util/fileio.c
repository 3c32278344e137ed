/* fileio.c: careful file reads and write-once file creation (see fileio.h). */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Chunk size for reads; the buffer itself enforces the size limit. */
#define FILEIO_CHUNK 16384

int
fileio_read_fd(int fd, const char *label, size_t max, buf_t *out, err_t *err)
{
	unsigned char chunk[FILEIO_CHUNK];
	struct stat st;

	if (fstat(fd, &st) == -1)
		return err_set(err, ERR_IO, "%s: cannot stat: %s", label,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, ERR_INVALID, "%s is not a regular file; "
		    "only regular files are read", label);
	if (st.st_size < 0 || (unsigned long long)st.st_size > max)
		return err_set(err, ERR_LIMIT, "%s is %lld bytes, more than "
		    "the limit of %zu bytes", label, (long long)st.st_size,
		    max);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		int r;

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_set(err, ERR_IO, "%s: read failed: %s",
			    label, strerror(errno));
		if (n == 0)
			break;
		/* The file may have grown since fstat; the cap still holds. */
		r = buf_put(out, chunk, (size_t)n);
		if (r == ERR_LIMIT)
			return err_set(err, ERR_LIMIT, "%s is more than the "
			    "limit of %zu bytes", label, max);
		if (r != 0)
			return err_set(err, r, "%s: out of memory reading the "
			    "file", label);
	}
	return 0;
}

int
fileio_read_at(int dirfd, const char *name, size_t max, buf_t *out,
    err_t *err)
{
	int fd, r;

	buf_init(out, max);
	if (name == NULL || *name == '\0')
		return err_set(err, ERR_INVALID, "empty file name");
	/*
	 * O_NONBLOCK keeps a FIFO planted under an expected name from
	 * blocking us in open(); fstat then refuses it as not regular.
	 */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		if (errno == ELOOP)
			return err_set(err, ERR_INVALID, "%s is a symbolic "
			    "link; refusing to follow it", name);
		if (errno == ENOENT)
			return err_set(err, ERR_NOTFOUND, "%s does not exist",
			    name);
		if (errno == EACCES)
			return err_set(err, ERR_PERM, "%s: permission denied",
			    name);
		return err_set(err, ERR_IO, "%s: cannot open: %s", name,
		    strerror(errno));
	}
	r = fileio_read_fd(fd, name, max, out, err);
	close(fd);
	if (r != 0)
		buf_free(out);
	return r;
}

int
fileio_read(const char *path, size_t max, buf_t *out, err_t *err)
{
	return fileio_read_at(AT_FDCWD, path, max, out, err);
}

/* Splits path into its directory (opened) and final component. */
static int
fileio_open_parent(const char *path, int *dirfd, const char **base,
    err_t *err)
{
	char dir[PATH_MAX];
	const char *slash;

	if (path == NULL || *path == '\0')
		return err_set(err, ERR_INVALID, "empty file name");
	slash = strrchr(path, '/');
	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		*base = path;
	} else {
		size_t dlen = (size_t)(slash - path);

		*base = slash + 1;
		if (dlen == 0)
			dlen = 1;	/* "/name": the parent is "/". */
		if (dlen >= sizeof(dir))
			return err_set(err, ERR_LIMIT, "%s: path too long",
			    path);
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	}
	if (**base == '\0' || strcmp(*base, ".") == 0 ||
	    strcmp(*base, "..") == 0)
		return err_set(err, ERR_INVALID, "%s does not name a file",
		    path);
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd == -1)
		return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "%s: cannot open directory %s: %s", path, dir,
		    strerror(errno));
	return 0;
}

static int
fileio_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves tmp to base in dirfd without ever replacing an existing file. */
static int
fileio_move_noreplace(int dirfd, const char *tmp, const char *base)
{
	if (renameat2(dirfd, tmp, dirfd, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/*
	 * Some file systems lack RENAME_NOREPLACE; link() fails with EEXIST
	 * just the same, and the temporary name is removed afterwards.
	 */
	if (linkat(dirfd, tmp, dirfd, base, 0) == -1)
		return -1;
	(void)unlinkat(dirfd, tmp, 0);
	return 0;
}

struct fileio_out {
	int dirfd;		/* owned: a dup of the caller's */
	int fd;
	int replace;
	char tmp[NAME_MAX + 1];
	char base[NAME_MAX + 1];
	char path[PATH_MAX];	/* for messages */
};

/* Unlinks the temporary file and frees; NULL is accepted. */
void
fileio_out_abort(struct fileio_out *o)
{
	if (o == NULL)
		return;
	if (o->fd != -1)
		close(o->fd);
	(void)unlinkat(o->dirfd, o->tmp, 0);
	close(o->dirfd);
	free(o);
}

/*
 * Starts base in the open directory dirfd (path names it in messages)
 * under a temporary name; dirfd stays the caller's.
 */
static int
fileio_out_start(int dirfd, const char *base, const char *path, mode_t mode,
    int replace, struct fileio_out **out, err_t *err)
{
	unsigned char rnd[8];
	char rndhex[2 * sizeof(rnd) + 1];
	struct fileio_out *o;
	struct stat st;
	int n, r;

	*out = NULL;
	/* Refuse early so that no work is done for an output already there. */
	if (!replace && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(err, ERR_EXISTS, "%s already exists; refusing "
		    "to overwrite it", path);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return err_set(err, ERR_IO, "%s: cannot get random bytes for "
		    "a temporary name: %s", path, strerror(errno));
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	o->fd = -1;
	o->replace = replace;
	snprintf(o->path, sizeof(o->path), "%s", path);
	buf_hex(rnd, sizeof(rnd), rndhex, sizeof(rndhex));
	n = snprintf(o->tmp, sizeof(o->tmp), ".%s.tmp.%ld.%s", base,
	    (long)getpid(), rndhex);
	if (n < 0 || (size_t)n >= sizeof(o->tmp) ||
	    strlen(base) >= sizeof(o->base)) {
		free(o);
		return err_set(err, ERR_LIMIT, "%s: file name too long", path);
	}
	snprintf(o->base, sizeof(o->base), "%s", base);
	if ((o->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1) {
		r = err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
		free(o);
		return r;
	}
	o->fd = openat(dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 07777);
	if (o->fd == -1) {
		r = err_set(err, errno == EACCES ? ERR_PERM : ERR_IO,
		    "%s: cannot create a temporary file: %s", path,
		    strerror(errno));
		close(o->dirfd);
		free(o);
		return r;
	}
	/* The umask must not change the mode the caller chose on purpose. */
	if (fchmod(o->fd, mode & 07777) == -1) {
		r = err_set(err, ERR_IO, "%s: cannot set mode %04o: %s", path,
		    (unsigned)(mode & 07777), strerror(errno));
		fileio_out_abort(o);
		return r;
	}
	*out = o;
	return 0;
}

int
fileio_out_open(const char *path, mode_t mode, struct fileio_out **out,
    err_t *err)
{
	const char *base = NULL;
	int dirfd = -1, r;

	*out = NULL;
	if ((r = fileio_open_parent(path, &dirfd, &base, err)) != 0)
		return r;
	r = fileio_out_start(dirfd, base, path, mode, 0, out, err);
	close(dirfd);
	return r;
}

int
fileio_out_write(struct fileio_out *o, const void *data, size_t len,
    err_t *err)
{
	if (data == NULL && len > 0)
		return err_set(err, ERR_INTERNAL, "%s: no data to write",
		    o->path);
	if (fileio_write_all(o->fd, data, len) == -1)
		return err_set(err, ERR_IO, "%s: write failed: %s", o->path,
		    strerror(errno));
	return 0;
}

int
fileio_out_commit(struct fileio_out *o, err_t *err)
{
	int r, moved;

	if (fsync(o->fd) == -1) {
		r = err_set(err, ERR_IO, "%s: fsync failed: %s", o->path,
		    strerror(errno));
		goto fail;
	}
	r = close(o->fd);
	o->fd = -1;
	if (r == -1) {
		r = err_set(err, ERR_IO, "%s: close failed: %s", o->path,
		    strerror(errno));
		goto fail;
	}
	if (o->replace)
		moved = renameat(o->dirfd, o->tmp, o->dirfd, o->base);
	else
		moved = fileio_move_noreplace(o->dirfd, o->tmp, o->base);
	if (moved == -1) {
		if (errno == EEXIST)
			r = err_set(err, ERR_EXISTS, "%s already exists; "
			    "refusing to overwrite it", o->path);
		else
			r = err_set(err, ERR_IO, "%s: cannot move into place: "
			    "%s", o->path, strerror(errno));
		goto fail;
	}
	/* The new directory entry is durable only once the directory is. */
	r = fsync(o->dirfd) == -1 ? err_set(err, ERR_IO, "%s: written, but "
	    "fsync of its directory failed: %s", o->path, strerror(errno)) : 0;
	close(o->dirfd);
	free(o);
	return r;
fail:
	fileio_out_abort(o);
	return r;
}

/*
 * Writes base in the open directory dirfd (path names it in messages);
 * dirfd stays open: the caller owns it.
 */
static int
fileio_write_in(int dirfd, const char *base, const char *path,
    const void *data, size_t len, mode_t mode, int replace, err_t *err)
{
	struct fileio_out *o;
	int r;

	if (data == NULL && len > 0)
		return err_set(err, ERR_INTERNAL, "%s: no data to write", path);
	if ((r = fileio_out_start(dirfd, base, path, mode, replace, &o,
	    err)) != 0)
		return r;
	if ((r = fileio_out_write(o, data, len, err)) != 0) {
		fileio_out_abort(o);
		return r;
	}
	return fileio_out_commit(o, err);
}

static int
fileio_write(const char *path, const void *data, size_t len, mode_t mode,
    int replace, err_t *err)
{
	const char *base = NULL;
	int dirfd = -1, r;

	if ((r = fileio_open_parent(path, &dirfd, &base, err)) != 0)
		return r;
	r = fileio_write_in(dirfd, base, path, data, len, mode, replace, err);
	close(dirfd);
	return r;
}

int
fileio_create_at(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode, err_t *err)
{
	if (name == NULL || *name == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return err_set(err, ERR_INVALID, "'%s' does not name a file in "
		    "its directory", name != NULL ? name : "");
	return fileio_write_in(dirfd, name, name, data, len, mode, 0, err);
}

int
fileio_create(const char *path, const void *data, size_t len, mode_t mode,
    err_t *err)
{
	return fileio_write(path, data, len, mode, 0, err);
}

int
fileio_replace(const char *path, const void *data, size_t len, mode_t mode,
    err_t *err)
{
	return fileio_write(path, data, len, mode, 1, err);
}

int
fileio_check_private_fd(int fd, const char *what, err_t *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return err_set(err, ERR_IO, "%s: cannot stat: %s", what,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, ERR_PERM, "%s is not a regular file", what);
	if (st.st_uid != geteuid())
		return err_set(err, ERR_PERM, "%s is owned by uid %lu, not by "
		    "uid %lu that runs Airlock; run: chown %lu %s", what,
		    (unsigned long)st.st_uid, (unsigned long)geteuid(),
		    (unsigned long)geteuid(), what);
	if ((st.st_mode & 077) != 0)
		return err_set(err, ERR_PERM, "%s has mode %04o, so group or "
		    "others may access it; run: chmod 600 %s", what,
		    (unsigned)(st.st_mode & 07777), what);
	return 0;
}

int
fileio_mkdirs(const char *path, mode_t mode, err_t *err)
{
	char buf[PATH_MAX];
	size_t len, i;
	struct stat st;

	if (path == NULL || *path == '\0')
		return err_set(err, ERR_INVALID, "empty directory name");
	len = strlen(path);
	if (len >= sizeof(buf))
		return err_set(err, ERR_LIMIT, "%s: path too long", path);
	memcpy(buf, path, len + 1);
	/* Visit every prefix ending before a '/', then the whole path. */
	for (i = 1; i <= len; i++) {
		if (i < len && buf[i] != '/')
			continue;
		if (i < len && buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) == -1) {
			if (errno != EEXIST) {
				int e = errno;

				return err_set(err, e == EACCES ? ERR_PERM :
				    ERR_IO, "cannot create directory %s: %s",
				    buf, strerror(e));
			}
			if (stat(buf, &st) == -1 || !S_ISDIR(st.st_mode))
				return err_set(err, ERR_EXISTS, "%s exists "
				    "and is not a directory", buf);
		}
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}

int
fileio_exists(const char *path)
{
	struct stat st;

	return path != NULL && lstat(path, &st) == 0;
}

int
fileio_join(char *out, size_t outsz, const char *dir, const char *name,
    err_t *err)
{
	size_t dlen = strlen(dir);
	int n;

	if (dlen == 0 || dir[dlen - 1] == '/')
		n = snprintf(out, outsz, "%s%s", dir, name);
	else
		n = snprintf(out, outsz, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return err_set(err, ERR_LIMIT, "path %s/%s is longer than %zu "
		    "bytes", dir, name, outsz > 0 ? outsz - 1 : 0);
	}
	return 0;
}
