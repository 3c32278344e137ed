/*
 * archive.h: the request bundle's ZIP archive, read from untrusted bytes.
 *
 * libzip parses the container (ZIP_CHECKCONS, read-only, from memory). On
 * top of it this module refuses everything a bundle never needs and an
 * attacker might use: too many entries, sizes and compression ratios past
 * the limits (judged from the headers at open and enforced again while
 * decompressing, since headers lie), encryption, compression other than
 * store and deflate, links and other special files, and entry names that
 * could escape a directory, collide, or read differently in another tool.
 * A small walk over the raw central directory cross-checks what libzip
 * reports, so that names are judged by their exact bytes (libzip turns a
 * NUL into a space and may substitute a Unicode Path extra field) and
 * entries whose data overlap are refused. See docs/formats/bundle.md.
 *
 * Nothing is ever extracted to disk: entries are read into bounded
 * buffers by name.
 */
#ifndef AIRLOCK_INGEST_ARCHIVE_H
#define AIRLOCK_INGEST_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct archive_limits {
	size_t max_entries;	/* entries, directories included */
	uint64_t max_entry_size;	/* uncompressed bytes of one entry */
	uint64_t max_total_size;	/* uncompressed bytes of all entries */
	uint64_t max_ratio;	/* uncompressed : compressed, per entry and overall */
	uint64_t ratio_floor;	/* sizes up to this are exempt from the ratio */
	size_t max_name;	/* bytes in an entry name */
	size_t max_depth;	/* components in an entry name */
};

/* 100,001 entries, 32 MiB per entry, 256 MiB in all, 100:1 above 64 KiB,
 * names of at most 255 bytes and 8 components. */
extern const struct archive_limits archive_default_limits;

struct archive;

/*
 * Opens len bytes (not copied: data must outlive the archive) labelled
 * `label` for messages. A NULL lim means archive_default_limits. Returns
 * 0 with *out set, or ERR_INVALID / ERR_LIMIT / ERR_NOMEM with *out NULL
 * and one message per problem in diag, each naming the entry.
 */
int archive_open(const char *label, const void *data, size_t len,
    const struct archive_limits *lim, struct archive **out, diag_t *diag);

/* Number of entries, directories included. */
size_t archive_count(const struct archive *a);

/* Name of entry i (validated UTF-8; a directory ends in '/'), or NULL. */
const char *archive_name(const struct archive *a, size_t i);

/* 1 when entry i is a directory, 0 when a regular file. */
int archive_is_dir(const struct archive *a, size_t i);

/* Index of the entry named exactly `name`, or -1. */
long archive_find(const struct archive *a, const char *name);

/*
 * Reads the regular entry `name` into out, which this function
 * initialises with a cap of max bytes (the caller buf_frees it, also on
 * failure). The per-entry, total and ratio limits are enforced on the
 * bytes actually decompressed, whatever the headers say; every read counts
 * against the total. Returns 0, ERR_NOTFOUND, ERR_LIMIT or ERR_INVALID.
 */
int archive_read(struct archive *a, const char *name, size_t max, buf_t *out,
    err_t *err);

/*
 * Checks an entry name (its exact bytes; a directory's ends in '/') by the
 * rules of archive_open. Returns 0, or ERR_INVALID / ERR_LIMIT with a
 * phrase such as "contains a '..' component" in why.
 */
int archive_check_name(const char *name, size_t len,
    const struct archive_limits *lim, char *why, size_t whysz);

/* Writes name into out as text_show does (unsafe bytes as \xNN, cut to
 * fit); for messages about hostile names. Returns out. */
char *archive_show_name(const char *name, size_t len, char *out,
    size_t outsz);

/* Frees everything; NULL is accepted. */
void archive_close(struct archive *a);

#endif
