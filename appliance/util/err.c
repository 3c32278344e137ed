/* err.c: error values and located diagnostics (see err.h). */
#include "util/err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
err_clear(err_t *e)
{
	if (e == NULL)
		return;
	e->code = ERR_OK;
	e->msg[0] = '\0';
}

int
err_set(err_t *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
err_prefix(err_t *e, const char *fmt, ...)
{
	char joined[2 * ERR_MSG_MAX + 2];
	size_t n;
	va_list ap;
	int w;

	if (e == NULL)
		return ERR_INTERNAL;
	va_start(ap, fmt);
	w = vsnprintf(joined, ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w >= ERR_MSG_MAX ? ERR_MSG_MAX - 1 : (size_t)w;
	joined[n++] = ':';
	joined[n++] = ' ';
	/* Truncate the combination, not the prefix: the prefix says where. */
	memcpy(joined + n, e->msg, strnlen(e->msg, ERR_MSG_MAX - 1) + 1);
	joined[ERR_MSG_MAX - 1] = '\0';
	memcpy(e->msg, joined, ERR_MSG_MAX);
	return e->code;
}

int
err_set_ossl(err_t *e, int code, const char *fmt, ...)
{
	char reasons[512] = "";
	size_t used = 0;
	unsigned long l;
	va_list ap;

	/* OpenSSL queues reasons innermost first; keep them all, bounded. */
	while ((l = ERR_get_error()) != 0) {
		char one[256];
		int n;

		ERR_error_string_n(l, one, sizeof(one));
		n = snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
		    used ? "; " : "", one);
		if (n < 0 || (size_t)n >= sizeof(reasons) - used) {
			used = sizeof(reasons) - 1;
			continue;
		}
		used += (size_t)n;
	}
	ERR_clear_error();
	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (reasons[0] != '\0') {
		size_t len = strlen(e->msg);

		snprintf(e->msg + len, sizeof(e->msg) - len, " (openssl: %s)",
		    reasons);
	}
	return code;
}

const char *
err_code_name(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_INVALID: return "invalid";
	case ERR_IO: return "io";
	case ERR_NOMEM: return "nomem";
	case ERR_CRYPTO: return "crypto";
	case ERR_HSM: return "hsm";
	case ERR_EXISTS: return "exists";
	case ERR_NOTFOUND: return "notfound";
	case ERR_PERM: return "perm";
	case ERR_LIMIT: return "limit";
	case ERR_PROTO: return "proto";
	case ERR_AUTH: return "auth";
	case ERR_POLICY: return "policy";
	case ERR_INTERNAL: return "internal";
	case ERR_AGAIN: return "again";
	default: return "unknown";
	}
}

void
diag_init(diag_t *d)
{
	memset(d, 0, sizeof(*d));
}

void
diag_free(diag_t *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].field);
		free(d->items[i].msg);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

int
diag_add(diag_t *d, const char *file, unsigned long line, const char *field,
    const char *fmt, ...)
{
	struct diag_item *it;
	char msg[ERR_MSG_MAX];
	va_list ap;

	if (d->n >= DIAG_MAX_ITEMS) {
		d->dropped++;
		return 0;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct diag_item *n;

		if (ncap > DIAG_MAX_ITEMS)
			ncap = DIAG_MAX_ITEMS;
		n = realloc(d->items, ncap * sizeof(*n));
		if (n == NULL)
			return ERR_NOMEM;
		d->items = n;
		d->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	it = &d->items[d->n];
	it->file = dup_or_null(file);
	it->field = dup_or_null(field);
	it->msg = strdup(msg);
	it->line = line;
	if ((file && !it->file) || (field && !it->field) || !it->msg) {
		free(it->file);
		free(it->field);
		free(it->msg);
		return ERR_NOMEM;
	}
	d->n++;
	return 0;
}

size_t
diag_count(const diag_t *d)
{
	return d->n + d->dropped;
}

int
diag_format(const diag_t *d, size_t i, char *out, size_t outsz)
{
	const struct diag_item *it;
	char where[600] = "";
	size_t w = 0;

	if (i >= d->n)
		return snprintf(out, outsz, "(no such message)");
	it = &d->items[i];
	if (it->file != NULL)
		w += (size_t)snprintf(where + w, sizeof(where) - w, "%s:", it->file);
	if (it->line != 0 && w < sizeof(where))
		w += (size_t)snprintf(where + w, sizeof(where) - w, "%lu:",
		    it->line);
	if (w > 0 && w < sizeof(where))
		w += (size_t)snprintf(where + w, sizeof(where) - w, " ");
	if (it->field != NULL && w < sizeof(where))
		snprintf(where + w, sizeof(where) - w, "%s: ", it->field);
	return snprintf(out, outsz, "%s%s", where, it->msg);
}

int
diag_to_err(const diag_t *d, err_t *e, int code)
{
	char first[ERR_MSG_MAX];
	size_t total = diag_count(d);

	if (total == 0)
		return err_set(e, code, "unknown error");
	diag_format(d, 0, first, sizeof(first));
	if (total > 1)
		return err_set(e, code, "%s (and %zu more)", first, total - 1);
	return err_set(e, code, "%s", first);
}

void
diag_print(const diag_t *d, FILE *f, const char *prefix)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char line[1200];

		diag_format(d, i, line, sizeof(line));
		fprintf(f, "%s%s\n", prefix, line);
	}
	if (d->dropped > 0)
		fprintf(f, "%s(and %zu more)\n", prefix, d->dropped);
}
