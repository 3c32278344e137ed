/*
 * fileio.h: the only way Airlock reads and writes files.
 *
 * Reads never follow symlinks and accept regular files only, within a size
 * limit. Writes go to a temporary name in the same directory, are fsynced,
 * then moved into place (and the directory fsynced), so a crash never
 * leaves a partial file under its final name. "Create" never replaces an
 * existing file: ceremony outputs and exports are write-once.
 */
#ifndef AIRLOCK_UTIL_FILEIO_H
#define AIRLOCK_UTIL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Reads the rest of the open regular file fd (label names it in messages)
 * into out, at most max bytes (out must allow them). 0, ERR_INVALID (not a
 * regular file), ERR_LIMIT, ERR_IO or ERR_NOMEM.
 */
int fileio_read_fd(int fd, const char *label, size_t max, buf_t *out,
    err_t *err);

/* Reads a whole regular file (no symlink) of at most max bytes into out. */
int fileio_read(const char *path, size_t max, buf_t *out, err_t *err);

/* Same, relative to an open directory. */
int fileio_read_at(int dirfd, const char *name, size_t max, buf_t *out,
    err_t *err);

/*
 * Writes data to path via temporary name + fsync + no-replace rename.
 * Fails with ERR_EXISTS, naming the path, when path already exists.
 */
int fileio_create(const char *path, const void *data, size_t len,
    mode_t mode, err_t *err);

/*
 * Same, for name (one component, no '/') in the open directory dirfd, so
 * that a caller who opened the directory without following links (the
 * removable medium) writes exactly there. dirfd stays open.
 */
int fileio_create_at(int dirfd, const char *name, const void *data,
    size_t len, mode_t mode, err_t *err);

/*
 * The same, a part at a time, for content too large to hold in memory:
 * fileio_out_open starts path under a temporary name (ERR_EXISTS when
 * path exists), fileio_out_write appends, fileio_out_commit fsyncs and
 * moves it into place without replacing anything, then frees;
 * fileio_out_abort (NULL accepted) removes the temporary file and frees.
 * Nothing appears under path before the commit.
 */
struct fileio_out;
int fileio_out_open(const char *path, mode_t mode, struct fileio_out **out,
    err_t *err);
int fileio_out_write(struct fileio_out *o, const void *data, size_t len,
    err_t *err);
int fileio_out_commit(struct fileio_out *o, err_t *err);
void fileio_out_abort(struct fileio_out *o);

/* Same, but replaces an existing file atomically (state files only). */
int fileio_replace(const char *path, const void *data, size_t len,
    mode_t mode, err_t *err);

/*
 * Checks that an open file is a regular file owned by the caller and not
 * readable or writable by group or others (PIN files, key files).
 * `what` names the file in the message.
 */
int fileio_check_private_fd(int fd, const char *what, err_t *err);

/* mkdir -p with mode for the directories it creates. */
int fileio_mkdirs(const char *path, mode_t mode, err_t *err);

/* 1 when path exists (without following a final symlink), else 0. */
int fileio_exists(const char *path);

/* Joins dir and name into out; ERR_LIMIT when it does not fit. */
int fileio_join(char *out, size_t outsz, const char *dir, const char *name,
    err_t *err);

#endif
