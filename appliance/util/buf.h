/*
 * buf.h: the one bounded buffer used for every byte string we build or
 * parse (helper messages, DER walks, file contents from the medium).
 *
 * A buf has a hard size cap fixed at creation; nothing can grow it past the
 * cap, so hostile lengths fail with ERR_LIMIT instead of exhausting memory.
 * Readers consume from an offset; every get checks "len > avail" before
 * touching memory, never "off + len". Writers set a sticky failure flag so
 * an encoder can run to the end and be checked once with buf_ok().
 *
 * Integers are big-endian on the wire. Strings are a u32 length followed
 * by the bytes.
 */
#ifndef AIRLOCK_UTIL_BUF_H
#define AIRLOCK_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
	unsigned char *data;
	size_t len;	/* bytes written */
	size_t off;	/* bytes consumed by readers */
	size_t cap;	/* bytes allocated */
	size_t max;	/* hard cap on len */
	int failed;	/* sticky: a put failed (limit or memory) */
	int borrowed;	/* data is not ours: read-only view */
	int wipe;	/* zero memory before freeing or growing */
} buf_t;

/* Empty buffer that may hold at most max bytes. */
void buf_init(buf_t *b, size_t max);

/* Read-only view over existing memory (no copy); puts fail. */
void buf_view(buf_t *b, const void *data, size_t len);

/* Marks the buffer as holding secrets: wiped on growth and on free. */
void buf_set_secret(buf_t *b);

/* Frees (wiping first if marked secret) and resets to empty. */
void buf_free(buf_t *b);

/* Drops contents and resets offsets, keeping the allocation and cap. */
void buf_reset(buf_t *b);

/* 1 when no put has failed. */
int buf_ok(const buf_t *b);

/* Bytes left to read. */
size_t buf_avail(const buf_t *b);

/* Pointer to the unread bytes. */
const unsigned char *buf_ptr(const buf_t *b);

/* Writers: 0 or ERR_LIMIT / ERR_NOMEM; failure also sets the sticky flag. */
int buf_put(buf_t *b, const void *p, size_t len);
int buf_put_u8(buf_t *b, uint8_t v);
int buf_put_u32(buf_t *b, uint32_t v);
int buf_put_u64(buf_t *b, uint64_t v);
int buf_put_string(buf_t *b, const void *p, size_t len);
int buf_put_cstring(buf_t *b, const char *s);

/*
 * Appends formatted text (at most BUF_PRINTF_MAX bytes per call; longer is
 * cut, so a report stays readable). 0 or ERR_LIMIT / ERR_NOMEM.
 */
#define BUF_PRINTF_MAX 4096
int buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reserves len bytes at the end and returns where to write them. */
int buf_reserve(buf_t *b, size_t len, unsigned char **out);

/* Readers: 0, or ERR_INVALID when the data is shorter than asked. */
int buf_get(buf_t *b, void *out, size_t len);
int buf_get_u8(buf_t *b, uint8_t *v);
int buf_get_u32(buf_t *b, uint32_t *v);
int buf_get_u64(buf_t *b, uint64_t *v);
int buf_skip(buf_t *b, size_t len);

/*
 * Reads a u32-length string without copying: *p points into b, valid until
 * b changes. Fails with ERR_LIMIT when the length exceeds maxlen.
 */
int buf_get_string_ref(buf_t *b, const unsigned char **p, size_t *len,
    size_t maxlen);

/*
 * Reads a u32-length string into a fresh NUL-terminated heap copy. Fails
 * with ERR_INVALID when it contains a NUL byte and ERR_LIMIT past maxlen.
 */
int buf_get_cstring(buf_t *b, char **out, size_t maxlen);

/*
 * Reads a u32-length string into dst (dstsz bytes, NUL-terminated):
 * ERR_LIMIT when it does not fit, ERR_INVALID when it holds a NUL byte or
 * the data is short. Nothing is consumed on failure.
 */
int buf_get_text(buf_t *b, char *dst, size_t dstsz);

/* Value of one hex digit (either case), or -1. */
int buf_hexval(int c);

/* Lower-case hex of len bytes into out (2*len+1 bytes); returns out. */
char *buf_hex(const unsigned char *p, size_t len, char *out, size_t outsz);

/* Parses hex (upper or lower, no separators); 0 or ERR_INVALID/ERR_LIMIT. */
int buf_unhex(const char *hex, unsigned char *out, size_t outsz,
    size_t *outlen);

#endif
