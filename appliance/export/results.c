/* results.c: the batch results log, CSV and JSON (see results.h). */
#include "export/results.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pki/pkiutil.h"
#include "util/text.h"

int
export_log_parse(const char *s, enum export_log *out)
{
	if (s != NULL && strcmp(s, "csv") == 0)
		*out = EXPORT_LOG_CSV;
	else if (s != NULL && strcmp(s, "json") == 0)
		*out = EXPORT_LOG_JSON;
	else
		return ERR_INVALID;
	return 0;
}

const char *
export_log_filename(enum export_log fmt)
{
	switch (fmt) {
	case EXPORT_LOG_CSV:
		return "results.csv";
	case EXPORT_LOG_JSON:
		return "results.json";
	default:
		return NULL;
	}
}

int
export_json_string(buf_t *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, n;
	uint32_t cp;
	char esc[8];

	if (!text_utf8_valid(s, len, NULL))
		return ERR_INVALID;
	buf_put_u8(out, '"');
	for (i = 0; i < len; i += n) {
		/* Validated above, so every step decodes one character. */
		n = text_utf8_next(p + i, len - i, &cp);
		switch (cp) {
		case '"':
			buf_put(out, "\\\"", 2);
			continue;
		case '\\':
			buf_put(out, "\\\\", 2);
			continue;
		case '\b':
			buf_put(out, "\\b", 2);
			continue;
		case '\f':
			buf_put(out, "\\f", 2);
			continue;
		case '\n':
			buf_put(out, "\\n", 2);
			continue;
		case '\r':
			buf_put(out, "\\r", 2);
			continue;
		case '\t':
			buf_put(out, "\\t", 2);
			continue;
		default:
			break;
		}
		/*
		 * RFC 8259 requires only C0 escaped; DEL and U+2028/U+2029 are
		 * escaped too because JavaScript and terminals misread them.
		 */
		if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			buf_put(out, esc, 6);
		} else
			buf_put(out, p + i, n);
	}
	buf_put_u8(out, '"');
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

void
export_csv_field(buf_t *out, const char *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_put(out, s, strlen(s));
		return;
	}
	buf_put_u8(out, '"');
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"')
			buf_put_u8(out, '"');
		buf_put_u8(out, (uint8_t)s[i]);
	}
	buf_put_u8(out, '"');
}

/* What one record says, once checked. */
struct rec {
	char line[24];
	char serial[128];
	char sha256[65];
	const char *status;
};

static int
rec_fill(const struct export_item *it, struct rec *r, err_t *err)
{
	const char *name = it->name != NULL ? it->name : "";

	snprintf(r->line, sizeof(r->line), "%lu", it->line);
	r->serial[0] = r->sha256[0] = '\0';
	if (!text_utf8_valid(name, strlen(name), NULL))
		return err_set(err, ERR_INVALID, "line %lu: the name is not "
		    "valid UTF-8", it->line);
	if (it->message != NULL &&
	    !text_utf8_valid(it->message, strlen(it->message), NULL))
		return err_set(err, ERR_INVALID, "line %lu: the message is not "
		    "valid UTF-8", it->line);
	if (!it->issued) {
		r->status = "FAILED";
		return 0;
	}
	r->status = "ISSUED";
	if (it->cert == NULL)
		return err_set(err, ERR_INVALID, "line %lu is marked issued "
		    "but has no certificate", it->line);
	if (export_serial_hex(it->cert, r->serial, sizeof(r->serial)) != 0 ||
	    pki_cert_sha256_hex(it->cert, r->sha256) != 0)
		return err_set_ossl(err, ERR_CRYPTO, "line %lu: cannot read "
		    "the certificate", it->line);
	return 0;
}

int
export_results_csv(const struct export_item *items, size_t n, buf_t *out,
    err_t *err)
{
	static const char header[] = "line,name,serial,status,message,sha256\r\n";
	struct rec r;
	size_t i;

	buf_put(out, header, sizeof(header) - 1);
	for (i = 0; i < n; i++) {
		int rc = rec_fill(&items[i], &r, err);

		if (rc != 0)
			return rc;
		export_csv_field(out, r.line);
		buf_put_u8(out, ',');
		export_csv_field(out, items[i].name);
		buf_put_u8(out, ',');
		export_csv_field(out, r.serial);
		buf_put_u8(out, ',');
		export_csv_field(out, r.status);
		buf_put_u8(out, ',');
		export_csv_field(out, items[i].message);
		buf_put_u8(out, ',');
		export_csv_field(out, r.sha256);
		buf_put(out, "\r\n", 2);
	}
	if (!buf_ok(out))
		return err_set(err, ERR_LIMIT, "the results log does not fit "
		    "in %zu bytes", out->max);
	return 0;
}

/* Appends "key":"value" or "key":null for an empty or absent value. */
static int
json_pair(buf_t *out, const char *key, const char *val, int first)
{
	if (!first)
		buf_put_u8(out, ',');
	buf_put_u8(out, '"');
	buf_put(out, key, strlen(key));
	buf_put(out, "\":", 2);
	if (val == NULL || val[0] == '\0') {
		buf_put(out, "null", 4);
		return 0;
	}
	return export_json_string(out, val, strlen(val));
}

int
export_results_json(const struct export_item *items, size_t n, buf_t *out,
    err_t *err)
{
	struct rec r;
	size_t i;

	buf_put_u8(out, '[');
	for (i = 0; i < n; i++) {
		int rc = rec_fill(&items[i], &r, err);

		if (rc != 0)
			return rc;
		buf_put(out, i == 0 ? "\n{\"line\":" : ",\n{\"line\":",
		    i == 0 ? 9 : 10);
		buf_put(out, r.line, strlen(r.line));
		/* The name is never null: an empty name stays "". */
		buf_put(out, ",\"name\":", 8);
		if (export_json_string(out, items[i].name != NULL ?
		    items[i].name : "", items[i].name != NULL ?
		    strlen(items[i].name) : 0) != 0 ||
		    json_pair(out, "serial", r.serial, 0) != 0 ||
		    json_pair(out, "status", r.status, 0) != 0 ||
		    json_pair(out, "message", items[i].message, 0) != 0 ||
		    json_pair(out, "sha256", r.sha256, 0) != 0)
			return err_set(err, ERR_LIMIT, "the results log does "
			    "not fit in %zu bytes", out->max);
		buf_put_u8(out, '}');
	}
	buf_put(out, "\n]\n", 3);
	if (!buf_ok(out))
		return err_set(err, ERR_LIMIT, "the results log does not fit "
		    "in %zu bytes", out->max);
	return 0;
}
