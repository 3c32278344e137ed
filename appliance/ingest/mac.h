/*
 * mac.h: MAC addresses as operators type them, and the ranges a mac-range
 * batch expands to.
 *
 * Input is untrusted (manifest values, CSV cells), so the parser accepts
 * exactly four shapes and nothing in between: 001122AABBCC,
 * 00:11:22:aa:bb:cc, 00-11-22-AA-BB-CC and 0011.22aa.bbcc (hex digits in
 * either case; one separator style per address). Pure functions: no I/O,
 * no allocation, no global state.
 */
#ifndef AIRLOCK_INGEST_MAC_H
#define AIRLOCK_INGEST_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define MAC_LEN 6
/* Longest formatted address ("00:11:22:aa:bb:cc") plus its NUL. */
#define MAC_STR_MAX 18
/* A mac-range batch holds 1 to MAC_RANGE_COUNT_MAX addresses, as on the portals. */
#define MAC_RANGE_COUNT_MAX 500000u
/* Largest step between two addresses of a range (2^24). */
#define MAC_RANGE_INCREMENT_MAX (1u << 24)

enum mac_style {
	MAC_STYLE_COLON_UPPER,	/* 00:11:22:AA:BB:CC */
	MAC_STYLE_COLON_LOWER,	/* 00:11:22:aa:bb:cc */
	MAC_STYLE_HYPHEN_UPPER,	/* 00-11-22-AA-BB-CC */
	MAC_STYLE_HYPHEN_LOWER,	/* 00-11-22-aa-bb-cc */
	MAC_STYLE_PLAIN_UPPER,	/* 001122AABBCC */
	MAC_STYLE_PLAIN_LOWER,	/* 001122aabbcc */
	MAC_STYLE_DOT_LOWER,	/* 0011.22aa.bbcc */
	MAC_STYLE_COUNT
};

struct mac_range {
	unsigned char start[MAC_LEN];
	uint32_t count;		/* addresses in the range, 1..MAC_RANGE_COUNT_MAX */
	uint32_t increment;	/* step, 1..MAC_RANGE_INCREMENT_MAX */
};

/*
 * Parses s (NUL-terminated) in one of the four shapes into out. Returns 0,
 * or ERR_INVALID with a message saying which character or length is wrong
 * (the input itself is never quoted, only single characters, escaped).
 */
int mac_parse(const char *s, unsigned char out[MAC_LEN], err_t *err);

/*
 * Writes mac in style into out (at least MAC_STR_MAX bytes is always
 * enough). Returns 0, ERR_LIMIT when outsz is too small (out then holds
 * ""), or ERR_INVALID for an unknown style.
 */
int mac_format(const unsigned char mac[MAC_LEN], enum mac_style style,
    char *out, size_t outsz);

/*
 * Style from its profile name ("colon-upper", "colon-lower",
 * "hyphen-upper", "hyphen-lower", "plain-upper", "plain-lower",
 * "dot-lower"). Returns 0 or ERR_INVALID.
 */
int mac_style_from_name(const char *name, enum mac_style *out);

/* The profile name of style, or NULL for an unknown style. */
const char *mac_style_name(enum mac_style style);

/*
 * Checks r: count and increment within bounds, a unicast start, and every
 * address of the range below ff:ff:ff:ff:ff:ff inclusive and unicast (the
 * message names the last or the first multicast address it would reach).
 * Returns 0 or ERR_INVALID.
 */
int mac_range_check(const struct mac_range *r, err_t *err);

/*
 * Address number i (0-based) of r: start + i * increment. Defined only for
 * a range that passed mac_range_check and i < r->count; otherwise out is
 * the arithmetic result cut to 48 bits.
 */
void mac_range_nth(const struct mac_range *r, uint32_t i,
    unsigned char out[MAC_LEN]);

#endif
