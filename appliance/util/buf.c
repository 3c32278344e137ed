/* buf.c: bounded buffer (see buf.h). */
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
buf_init(buf_t *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_view(buf_t *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	/* The cast is safe: a borrowed buffer refuses every write. */
	b->data = (unsigned char *)(uintptr_t)data;
	b->len = len;
	b->cap = len;
	b->max = len;
	b->borrowed = 1;
}

void
buf_set_secret(buf_t *b)
{
	b->wipe = 1;
}

void
buf_free(buf_t *b)
{
	if (!b->borrowed && b->data != NULL) {
		if (b->wipe)
			explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->off = b->cap = 0;
	b->failed = 0;
}

void
buf_reset(buf_t *b)
{
	if (!b->borrowed && b->wipe && b->data != NULL)
		explicit_bzero(b->data, b->cap);
	if (!b->borrowed)
		b->len = 0;
	b->off = 0;
	b->failed = 0;
}

int
buf_ok(const buf_t *b)
{
	return !b->failed;
}

size_t
buf_avail(const buf_t *b)
{
	return b->len - b->off;
}

const unsigned char *
buf_ptr(const buf_t *b)
{
	return b->data + b->off;
}

static int
buf_grow(buf_t *b, size_t need)
{
	size_t ncap;
	unsigned char *n;

	if (b->borrowed || b->failed) {
		b->failed = 1;
		return ERR_LIMIT;
	}
	if (need > b->max - b->len) {
		b->failed = 1;
		return ERR_LIMIT;
	}
	if (need <= b->cap - b->len)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < need) {
		if (ncap > b->max / 2) {
			ncap = b->max;
			break;
		}
		ncap *= 2;
	}
	if (b->wipe) {
		/* realloc could leave a secret copy behind in freed memory. */
		n = malloc(ncap);
		if (n != NULL && b->data != NULL) {
			memcpy(n, b->data, b->len);
			explicit_bzero(b->data, b->cap);
			free(b->data);
		}
	} else {
		n = realloc(b->data, ncap);
	}
	if (n == NULL) {
		b->failed = 1;
		return ERR_NOMEM;
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

int
buf_reserve(buf_t *b, size_t len, unsigned char **out)
{
	int r;

	if ((r = buf_grow(b, len)) != 0)
		return r;
	*out = b->data + b->len;
	b->len += len;
	return 0;
}

int
buf_put(buf_t *b, const void *p, size_t len)
{
	unsigned char *dst;
	int r;

	if (len == 0)
		return b->failed ? ERR_LIMIT : 0;
	if ((r = buf_reserve(b, len, &dst)) != 0)
		return r;
	memcpy(dst, p, len);
	return 0;
}

int
buf_put_u8(buf_t *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int
buf_put_u32(buf_t *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	return buf_put(b, x, sizeof(x));
}

int
buf_put_u64(buf_t *b, uint64_t v)
{
	int r;

	if ((r = buf_put_u32(b, (uint32_t)(v >> 32))) != 0)
		return r;
	return buf_put_u32(b, (uint32_t)v);
}

int
buf_put_string(buf_t *b, const void *p, size_t len)
{
	int r;

	if (len > UINT32_MAX) {
		b->failed = 1;
		return ERR_LIMIT;
	}
	if ((r = buf_put_u32(b, (uint32_t)len)) != 0)
		return r;
	return buf_put(b, p, len);
}

int
buf_put_cstring(buf_t *b, const char *s)
{
	return buf_put_string(b, s, s ? strlen(s) : 0);
}

int
buf_get(buf_t *b, void *out, size_t len)
{
	if (len > buf_avail(b))
		return ERR_INVALID;
	if (out != NULL)
		memcpy(out, b->data + b->off, len);
	b->off += len;
	return 0;
}

int
buf_skip(buf_t *b, size_t len)
{
	return buf_get(b, NULL, len);
}

int
buf_get_u8(buf_t *b, uint8_t *v)
{
	return buf_get(b, v, 1);
}

int
buf_get_u32(buf_t *b, uint32_t *v)
{
	unsigned char x[4];
	int r;

	if ((r = buf_get(b, x, sizeof(x))) != 0)
		return r;
	*v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 |
	    (uint32_t)x[2] << 8 | x[3];
	return 0;
}

int
buf_get_u64(buf_t *b, uint64_t *v)
{
	uint32_t hi, lo;
	int r;

	if ((r = buf_get_u32(b, &hi)) != 0 || (r = buf_get_u32(b, &lo)) != 0)
		return r;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
buf_get_string_ref(buf_t *b, const unsigned char **p, size_t *len,
    size_t maxlen)
{
	size_t save = b->off;
	uint32_t n;
	int r;

	if ((r = buf_get_u32(b, &n)) != 0)
		return r;
	if (n > maxlen) {
		b->off = save;
		return ERR_LIMIT;
	}
	if (n > buf_avail(b)) {
		b->off = save;
		return ERR_INVALID;
	}
	*p = b->data + b->off;
	*len = n;
	b->off += n;
	return 0;
}

int
buf_get_cstring(buf_t *b, char **out, size_t maxlen)
{
	const unsigned char *p;
	size_t len, save = b->off;
	char *s;
	int r;

	if ((r = buf_get_string_ref(b, &p, &len, maxlen)) != 0)
		return r;
	if (memchr(p, '\0', len) != NULL) {
		b->off = save;
		return ERR_INVALID;
	}
	if ((s = malloc(len + 1)) == NULL) {
		b->off = save;
		return ERR_NOMEM;
	}
	memcpy(s, p, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

int
buf_get_text(buf_t *b, char *dst, size_t dstsz)
{
	const unsigned char *p;
	size_t len, save = b->off;
	int r;

	if (dstsz == 0)
		return ERR_LIMIT;
	if ((r = buf_get_string_ref(b, &p, &len, dstsz - 1)) != 0)
		return r;
	if (memchr(p, '\0', len) != NULL) {
		b->off = save;
		return ERR_INVALID;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

char *
buf_hex(const unsigned char *p, size_t len, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (outsz == 0)
		return out;
	for (i = 0; i < len && 2 * i + 2 < outsz; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * i] = '\0';
	return out;
}

int
buf_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
buf_unhex(const char *hex, unsigned char *out, size_t outsz, size_t *outlen)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0)
		return ERR_INVALID;
	if (n / 2 > outsz)
		return ERR_LIMIT;
	for (i = 0; i < n / 2; i++) {
		int hi = buf_hexval((unsigned char)hex[2 * i]);
		int lo = buf_hexval((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return ERR_INVALID;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

int
buf_printf(buf_t *b, const char *fmt, ...)
{
	char line[BUF_PRINTF_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_INVALID;
	return buf_put(b, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
}
