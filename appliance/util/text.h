/*
 * text.h: the one place that decides what untrusted text may hold and how
 * it is shown.
 *
 * Names, subject values, CSV fields, YAML keys and labels all come from
 * files an attacker may have written, and end up on the console that
 * officers read before they approve. Every parser used to carry its own
 * UTF-8 decoder, its own list of characters that could hide or reorder
 * text, and its own escaper; they drifted apart. They are here once, at
 * the strictest of the former variants.
 */
#ifndef AIRLOCK_UTIL_TEXT_H
#define AIRLOCK_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Why text_utf8_next refused the bytes at p (for messages that say so). */
enum text_utf8_why {
	TEXT_UTF8_OK,		/* a valid character */
	TEXT_UTF8_BAD_LEAD,	/* the byte cannot start a character */
	TEXT_UTF8_TRUNCATED,	/* the bytes end inside a character */
	TEXT_UTF8_BAD_CONT,	/* a continuation byte is missing */
	TEXT_UTF8_RANGE		/* overlong, a surrogate or past U+10FFFF */
};

/*
 * Decodes the character at p (n bytes available): its length with *cp, or
 * 0 for anything but shortest-form UTF-8 of a Unicode scalar value.
 */
size_t text_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* Why the bytes at p (n available) do or do not decode; see above. */
enum text_utf8_why text_utf8_why(const unsigned char *p, size_t n);

/*
 * 1 when p[0..n) is valid UTF-8, else 0 with the offset of the first bad
 * sequence in *bad_off (when bad_off is not NULL).
 */
int text_utf8_valid(const void *p, size_t n, size_t *bad_off);

/*
 * 1 for a code point that must never appear in text people read: C0 and
 * C1 controls, DEL, bidi marks, embeddings, overrides and isolates,
 * zero-width characters, line and paragraph separators, the BOM.
 */
int text_forbidden(uint32_t cp);

/* Characters (code points) of the NUL-terminated s, or -1 if not UTF-8. */
long text_utf8_chars(const char *s);

/* 1 when s is valid UTF-8 without any text_forbidden code point, else 0. */
int text_clean(const char *s);

/*
 * The one escaper for messages: copies p[0..len) into out, keeping
 * printable ASCII and valid UTF-8 that is not forbidden, writing every
 * other byte (invalid UTF-8, forbidden characters, NUL, and also '\\' and
 * '\'' so escapes and quotes stay unambiguous) as \xNN. After max
 * characters, or when out is full, it ends with "..." (an out too small
 * for the mark stays empty). Always NUL-terminates a non-empty out;
 * returns out.
 */
const char *text_show(const void *p, size_t len, size_t max, char *out,
    size_t outsz);

/*
 * As text_show, but every byte that is not kept printable ASCII becomes
 * one '?', so that a byte position quoted in the message still points at
 * the right character of the shown text.
 */
const char *text_mask(const void *p, size_t len, size_t max, char *out,
    size_t outsz);

/* 1 when s is exactly len lower-case hex digits (a SHA-256 is 64), else 0. */
int text_is_lower_hex(const char *s, size_t len);

#endif
