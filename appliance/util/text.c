/* text.c: strict UTF-8, forbidden characters and escaping (see text.h). */
#include "util/text.h"

#include <string.h>

/*
 * Decodes one character; the reason is kept so that text_utf8_why can give
 * the same verdict as text_utf8_next without a second decoder.
 */
static size_t
text_decode(const unsigned char *p, size_t n, uint32_t *cp,
    enum text_utf8_why *why)
{
	size_t len, k;
	uint32_t v;

	if (n == 0) {
		*why = TEXT_UTF8_TRUNCATED;
		return 0;
	}
	if (p[0] < 0x80) {
		*cp = p[0];
		*why = TEXT_UTF8_OK;
		return 1;
	}
	/* 0xc0, 0xc1 and 0xf5.. could only start overlong or too large ones. */
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		v = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		v = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		v = p[0] & 0x07;
	} else {
		*why = TEXT_UTF8_BAD_LEAD;
		return 0;
	}
	if (len > n) {
		*why = TEXT_UTF8_TRUNCATED;
		return 0;
	}
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			*why = TEXT_UTF8_BAD_CONT;
			return 0;
		}
		v = v << 6 | (p[k] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*why = TEXT_UTF8_RANGE;
		return 0;
	}
	*cp = v;
	*why = TEXT_UTF8_OK;
	return len;
}

size_t
text_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	enum text_utf8_why why;

	return text_decode(p, n, cp, &why);
}

enum text_utf8_why
text_utf8_why(const unsigned char *p, size_t n)
{
	enum text_utf8_why why;
	uint32_t cp;

	(void)text_decode(p, n, &cp, &why);
	return why;
}

int
text_utf8_valid(const void *p, size_t n, size_t *bad_off)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = text_utf8_next(s + i, n - i, &cp);

		if (k == 0) {
			if (bad_off != NULL)
				*bad_off = i;
			return 0;
		}
		i += k;
	}
	return 1;
}

int
text_forbidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||  /* C0, DEL, C1 */
	    cp == 0x061c ||			/* Arabic letter mark */
	    (cp >= 0x200b && cp <= 0x200f) ||	/* zero-width, LRM, RLM */
	    (cp >= 0x2028 && cp <= 0x202e) ||	/* LS, PS, bidi overrides */
	    (cp >= 0x2060 && cp <= 0x2064) ||	/* word joiner, invisibles */
	    (cp >= 0x2066 && cp <= 0x2069) ||	/* bidi isolates */
	    cp == 0xfeff;			/* BOM (zero-width no-break) */
}

long
text_utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len = strlen(s);
	long n = 0;

	while (i < len) {
		uint32_t cp;
		size_t k = text_utf8_next(p + i, len - i, &cp);

		if (k == 0)
			return -1;
		i += k;
		n++;
	}
	return n;
}

int
text_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len = strlen(s);

	while (i < len) {
		uint32_t cp;
		size_t k = text_utf8_next(p + i, len - i, &cp);

		if (k == 0 || text_forbidden(cp))
			return 0;
		i += k;
	}
	return 1;
}

/* Printable ASCII that may stand as itself inside a quoted message. */
static int
text_plain_ascii(uint32_t c)
{
	return c >= 0x20 && c < 0x7f && c != '\\' && c != '\'';
}

/*
 * Shared by text_show and text_mask, so both cut and terminate alike: one
 * unit (a kept character, an escaped character or one invalid byte) at a
 * time, never split. When not all of p fits, out goes back to the last
 * unit boundary that leaves room for "...": a value cut without the mark
 * could pass for a whole, different one.
 */
static const char *
text_render(const unsigned char *p, size_t len, size_t max, int mask,
    char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0, shown = 0, cut = 0;

	if (outsz == 0)
		return out;
	while (i < len && shown < max) {
		char unit[16];	/* at most 4 bytes, each as \xNN */
		size_t ulen = 0, n;
		uint32_t cp = 0;

		if (mask) {
			n = 1;
			unit[ulen++] = text_plain_ascii(p[i]) ? (char)p[i] :
			    '?';
		} else {
			n = text_utf8_next(p + i, len - i, &cp);
			if (n != 0 && !text_forbidden(cp) &&
			    (cp >= 0x80 || text_plain_ascii(cp))) {
				memcpy(unit, p + i, n);
				ulen = n;
			} else {
				size_t k;

				if (n == 0)
					n = 1;
				for (k = 0; k < n; k++) {
					unit[ulen++] = '\\';
					unit[ulen++] = 'x';
					unit[ulen++] = hex[p[i + k] >> 4];
					unit[ulen++] = hex[p[i + k] & 15];
				}
			}
		}
		if (o + ulen + 1 > outsz)
			break;
		memcpy(out + o, unit, ulen);
		o += ulen;
		i += n;
		shown++;
		if (o + 4 <= outsz)
			cut = o;
	}
	if (i < len) {
		o = cut;
		if (o + 4 <= outsz) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	out[o] = '\0';
	return out;
}

const char *
text_show(const void *p, size_t len, size_t max, char *out, size_t outsz)
{
	return text_render(p, len, max, 0, out, outsz);
}

const char *
text_mask(const void *p, size_t len, size_t max, char *out, size_t outsz)
{
	return text_render(p, len, max, 1, out, outsz);
}

int
text_is_lower_hex(const char *s, size_t len)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[len] == '\0';
}
