/* mac.c: MAC address shapes, formats and ranges (see mac.h). */
#include "ingest/mac.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/text.h"

/* Every address is 48 bits; arithmetic on ranges is done in a uint64_t. */
#define MAC_MAX_VALUE 0xffffffffffffULL
/* The I/G bit: set in the first octet of group (multicast) addresses. */
#define MAC_GROUP_BIT 0x01

static const char *const mac_style_names[MAC_STYLE_COUNT] = {
	"colon-upper", "colon-lower", "hyphen-upper", "hyphen-lower",
	"plain-upper", "plain-lower", "dot-lower",
};

/*
 * One input character for a message, next to its position: text_show
 * decides what is safe to print; on top of that a lone visible character
 * is quoted so that ',' or ':' reads as the character it is, and a space,
 * which would read as nothing at all, is written as its escape.
 */
static const char *
mac_show_char(unsigned char c, char out[8])
{
	char one[8];

	if (c == ' ') {
		snprintf(out, 8, "\\x20");
		return out;
	}
	text_show(&c, 1, 1, one, sizeof(one));
	snprintf(out, 8, one[0] == '\\' ? "%s" : "'%s'", one);
	return out;
}

static uint64_t
mac_to_u64(const unsigned char mac[MAC_LEN])
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < MAC_LEN; i++)
		v = v << 8 | mac[i];
	return v;
}

static void
mac_from_u64(uint64_t v, unsigned char mac[MAC_LEN])
{
	size_t i;

	for (i = MAC_LEN; i > 0; i--) {
		mac[i - 1] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/*
 * Reads the 12 hex digits of s, skipping the positions where sep_at says a
 * separator stands (those were checked by the caller).
 */
static int
mac_read_digits(const char *s, size_t len, const char *sep_at,
    unsigned char out[MAC_LEN], err_t *err)
{
	unsigned char v[MAC_LEN];
	size_t i, nd = 0;
	char shown[8];

	memset(v, 0, sizeof(v));
	for (i = 0; i < len; i++) {
		int d;

		if (sep_at != NULL && sep_at[i])
			continue;
		d = buf_hexval((unsigned char)s[i]);
		if (d < 0)
			return err_set(err, ERR_INVALID, "not a MAC address: "
			    "character %zu (%s) is not a hex digit", i + 1,
			    mac_show_char((unsigned char)s[i], shown));
		v[nd / 2] = (unsigned char)(v[nd / 2] << 4 | d);
		nd++;
	}
	memcpy(out, v, MAC_LEN);
	return 0;
}

int
mac_parse(const char *s, unsigned char out[MAC_LEN], err_t *err)
{
	/* Where each shape puts its separators (1) among its characters. */
	static const char grouped[17] = { 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1,
	    0, 0, 1, 0, 0 };
	static const char dotted[14] = { 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0,
	    0, 0 };
	static const char shapes[] = "expected 12 hex digits, optionally "
	    "grouped as 00:11:22:aa:bb:cc, 00-11-22-aa-bb-cc or 0011.22aa.bbcc";
	const char *sep_at;
	char shown[8], sep;
	size_t len, i;

	if (s == NULL)
		return err_set(err, ERR_INVALID, "no MAC address given");
	/* Bounded: anything longer than the longest shape is refused. */
	len = strnlen(s, 18);
	if (len == 0)
		return err_set(err, ERR_INVALID, "empty MAC address; %s",
		    shapes);
	switch (len) {
	case 12:
		return mac_read_digits(s, len, NULL, out, err);
	case 17:
		sep_at = grouped;
		sep = s[2];
		if (sep != ':' && sep != '-')
			return err_set(err, ERR_INVALID, "not a MAC address: "
			    "character 3 (%s) must be ':' or '-'",
			    mac_show_char((unsigned char)sep, shown));
		break;
	case 14:
		sep_at = dotted;
		sep = '.';
		break;
	default:
		return err_set(err, ERR_INVALID, "not a MAC address: %s%zu "
		    "characters; %s", len > 17 ? "more than " : "",
		    len > 17 ? (size_t)17 : len, shapes);
	}
	for (i = 0; i < len; i++) {
		if (!sep_at[i] || s[i] == sep)
			continue;
		if (s[i] == ':' || s[i] == '-' || s[i] == '.')
			return err_set(err, ERR_INVALID, "not a MAC address: "
			    "character %zu (%s) mixes separators; use '%c' "
			    "throughout", i + 1,
			    mac_show_char((unsigned char)s[i], shown), sep);
		return err_set(err, ERR_INVALID, "not a MAC address: "
		    "character %zu (%s) must be the separator '%c'; %s",
		    i + 1, mac_show_char((unsigned char)s[i], shown), sep,
		    shapes);
	}
	return mac_read_digits(s, len, sep_at, out, err);
}

int
mac_format(const unsigned char mac[MAC_LEN], enum mac_style style,
    char *out, size_t outsz)
{
	const char *digits = "0123456789ABCDEF";
	char tmp[MAC_STR_MAX];
	size_t i, o = 0;
	char sep = '\0';

	if (outsz > 0)
		out[0] = '\0';
	switch (style) {
	case MAC_STYLE_COLON_UPPER:
		sep = ':';
		break;
	case MAC_STYLE_COLON_LOWER:
		sep = ':';
		digits = "0123456789abcdef";
		break;
	case MAC_STYLE_HYPHEN_UPPER:
		sep = '-';
		break;
	case MAC_STYLE_HYPHEN_LOWER:
		sep = '-';
		digits = "0123456789abcdef";
		break;
	case MAC_STYLE_PLAIN_UPPER:
		break;
	case MAC_STYLE_PLAIN_LOWER:
	case MAC_STYLE_DOT_LOWER:
		digits = "0123456789abcdef";
		break;
	case MAC_STYLE_COUNT:
	default:
		return ERR_INVALID;
	}
	for (i = 0; i < MAC_LEN; i++) {
		if (i > 0 && sep != '\0')
			tmp[o++] = sep;
		else if (style == MAC_STYLE_DOT_LOWER && (i == 2 || i == 4))
			tmp[o++] = '.';
		tmp[o++] = digits[mac[i] >> 4];
		tmp[o++] = digits[mac[i] & 15];
	}
	tmp[o] = '\0';
	if (o + 1 > outsz)
		return ERR_LIMIT;
	memcpy(out, tmp, o + 1);
	return 0;
}

int
mac_style_from_name(const char *name, enum mac_style *out)
{
	size_t i;

	if (name == NULL)
		return ERR_INVALID;
	for (i = 0; i < MAC_STYLE_COUNT; i++) {
		if (strcmp(name, mac_style_names[i]) == 0) {
			*out = (enum mac_style)i;
			return 0;
		}
	}
	return ERR_INVALID;
}

const char *
mac_style_name(enum mac_style style)
{
	if ((unsigned)style >= MAC_STYLE_COUNT)
		return NULL;
	return mac_style_names[style];
}

int
mac_range_check(const struct mac_range *r, err_t *err)
{
	char a[MAC_STR_MAX];
	uint64_t start, last;

	if (r == NULL)
		return err_set(err, ERR_INVALID, "no MAC range given");
	if (r->count < 1 || r->count > MAC_RANGE_COUNT_MAX)
		return err_set(err, ERR_INVALID, "MAC range count %lu is out of "
		    "range; expected 1 to %u", (unsigned long)r->count,
		    MAC_RANGE_COUNT_MAX);
	if (r->increment < 1 || r->increment > MAC_RANGE_INCREMENT_MAX)
		return err_set(err, ERR_INVALID, "MAC range increment %lu is out "
		    "of range; expected 1 to %u", (unsigned long)r->increment,
		    MAC_RANGE_INCREMENT_MAX);
	mac_format(r->start, MAC_STYLE_COLON_LOWER, a, sizeof(a));
	if (r->start[0] & MAC_GROUP_BIT)
		return err_set(err, ERR_INVALID, "MAC range start %s is a "
		    "multicast address (the I/G bit, the lowest bit of the "
		    "first octet, is set); devices need unicast addresses", a);
	start = mac_to_u64(r->start);
	/* Both factors are below 2^25, so the product cannot overflow. */
	last = start + (uint64_t)(r->count - 1) * r->increment;
	if (last > MAC_MAX_VALUE) {
		/*
		 * The end does not fit in 48 bits; it is shown with a
		 * seventh octet (the sum is below 2^49) so the operator
		 * sees by how much the range overshoots.
		 */
		char wide[24];
		size_t i, o = 0;

		for (i = 7; i > 0; i--) {
			snprintf(wide + o, sizeof(wide) - o, "%s%02x",
			    i < 7 ? ":" : "",
			    (unsigned)(last >> (8 * (i - 1))) & 0xffu);
			o += i < 7 ? 3 : 2;
		}
		return err_set(err, ERR_INVALID, "MAC range from %s, %lu "
		    "addresses in steps of %lu, would end at %s, past "
		    "ff:ff:ff:ff:ff:ff; lower the start or the count", a,
		    (unsigned long)r->count, (unsigned long)r->increment,
		    wide);
	}
	/*
	 * The start is unicast, so the first octet is even; if the range
	 * reaches the next first octet (odd, multicast), an address in it is
	 * reached, because a step is far smaller than 2^40 addresses.
	 */
	if ((last >> 40) != (start >> 40)) {
		uint64_t k, next_octet = ((start >> 40) + 1) << 40;
		unsigned char m[MAC_LEN];
		char b[MAC_STR_MAX];

		k = (next_octet - start + r->increment - 1) / r->increment;
		mac_from_u64(start + k * r->increment, m);
		mac_format(m, MAC_STYLE_COLON_LOWER, b, sizeof(b));
		return err_set(err, ERR_INVALID, "MAC range from %s, %lu "
		    "addresses in steps of %lu, would reach %s (address %llu "
		    "of the range), a multicast address; lower the count or "
		    "choose another start", a, (unsigned long)r->count,
		    (unsigned long)r->increment, b,
		    (unsigned long long)k + 1);
	}
	return 0;
}

void
mac_range_nth(const struct mac_range *r, uint32_t i,
    unsigned char out[MAC_LEN])
{
	uint64_t v = mac_to_u64(r->start) + (uint64_t)i * r->increment;

	mac_from_u64(v & MAC_MAX_VALUE, out);
}
