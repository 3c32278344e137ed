/* csv.c: strict RFC 4180 request lists (see csv.h). */
#include "ingest/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

/* Characters of a value shown in a message before "...". */
#define CSV_SHOW_MAX 64
/* Room for CSV_SHOW_MAX characters, each escaped to at most 4 x 4 bytes. */
#define CSV_SHOW_BUF (CSV_SHOW_MAX * 16 + 8)
#define CSV_WHY_MAX 512

static const char *const csv_col_names[CSV_COL_COUNT] = {
	"mac", "common_name", "country", "state", "locality", "organization",
	"organizational_unit", "email", "dns", "csr_file",
};

/*
 * Character limits per column. O and OU follow RFC 5280's upper bounds
 * (64) rather than the general 128, so that no value is accepted here that
 * the certificate linter would refuse after approval.
 */
static const size_t csv_col_max[CSV_COL_COUNT] = {
	17, CSV_CN_MAX, 2, CSV_FIELD_MAX, CSV_FIELD_MAX, 64, 64,
	CSV_FIELD_MAX, CSV_DNS_MAX, CSV_FIELD_MAX,
};

/* The first syntax problem of a record, if any. */
enum csv_syntax {
	CSV_SYN_NONE,
	CSV_SYN_QUOTE_IN_UNQUOTED,
	CSV_SYN_TEXT_AFTER_QUOTE,
	CSV_SYN_UNTERMINATED
};

/* One record as read: its fields are slices of scratch. */
struct csv_rec {
	unsigned long line;	/* where it starts */
	size_t raw;		/* bytes of the file, without the line end */
	size_t nfields;		/* all fields, also those past the limit */
	int too_long;		/* raw passed CSV_LINE_MAX; fields not kept */
	enum csv_syntax syn;
	size_t syn_field;	/* 0-based field of the syntax problem */
	buf_t scratch;		/* field contents, unquoted */
	size_t fstart[CSV_MAX_FIELDS], flen[CSV_MAX_FIELDS];
};

struct csv_state {
	const char *label;
	diag_t *diag;
	struct csv_batch *out;
	int nomem;		/* a diag_add or allocation failed */
	size_t errors;
	int header_ok;		/* columns are known, rows can be checked */
	size_t ncols;
	int colmap[CSV_MAX_FIELDS];	/* column -> enum csv_col, or -1 */
	char colshow[CSV_MAX_FIELDS][CSV_SHOW_BUF];	/* names for messages */
	size_t rowcap;
};

/* Keys for finding repeated MACs and common names by sorting. */
struct csv_mac_key {
	uint64_t mac;
	unsigned long line;
};

struct csv_cn_key {
	const char *cn;
	unsigned long line;
};

/*
 * Checks that p[0..len) is valid UTF-8 without forbidden characters; sets
 * *nchars. Returns 0, or -1 with the reason in why.
 */
static int
csv_check_text(const unsigned char *p, size_t len, size_t *nchars,
    char *why, size_t whysz)
{
	size_t i = 0, nc = 0;

	while (i < len) {
		uint32_t cp = 0;
		size_t n = text_utf8_next(p + i, len - i, &cp);

		if (n == 0) {
			snprintf(why, whysz, "invalid UTF-8 (byte 0x%02x at "
			    "character %zu); save the file as UTF-8", p[i],
			    nc + 1);
			return -1;
		}
		if (cp == 0) {
			snprintf(why, whysz, "NUL byte at character %zu",
			    nc + 1);
			return -1;
		}
		if (text_forbidden(cp)) {
			if (cp < 0x100)
				snprintf(why, whysz, "control character \\x%02x "
				    "at character %zu", (unsigned)cp, nc + 1);
			else
				snprintf(why, whysz, "invisible formatting "
				    "character U+%04X at character %zu",
				    (unsigned)cp, nc + 1);
			return -1;
		}
		i += n;
		nc++;
	}
	*nchars = nc;
	return 0;
}

static int
csv_error(struct csv_state *st, unsigned long line, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
csv_error(struct csv_state *st, unsigned long line, const char *field,
    const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->errors++;
	if (diag_add(st->diag, st->label, line, field, "%s", msg) != 0)
		st->nomem = 1;
	return ERR_INVALID;
}

/* Ends the current field of rec: records where its content lies. */
static void
csv_end_field(struct csv_rec *rec, size_t start)
{
	if (rec->nfields < CSV_MAX_FIELDS && !rec->too_long) {
		rec->fstart[rec->nfields] = start;
		rec->flen[rec->nfields] = rec->scratch.len - start;
	}
	rec->nfields++;
}

/* Keeps byte c of the current field, unless the record is already too long. */
static void
csv_keep(struct csv_rec *rec, unsigned char c)
{
	/* Past a limit nothing more is stored; fields are still counted. */
	if (rec->too_long || rec->nfields >= CSV_MAX_FIELDS)
		return;
	/* Cannot fail: the content of a record is never longer than it. */
	(void)buf_put_u8(&rec->scratch, c);
}

static void
csv_syntax(struct csv_rec *rec, enum csv_syntax syn)
{
	if (rec->syn == CSV_SYN_NONE) {
		rec->syn = syn;
		rec->syn_field = rec->nfields;
	}
}

/*
 * Reads the record at in's offset, one byte at a time, so that no length
 * in the input is ever trusted. Returns 1 with *rec filled, 0 at the end.
 */
static int
csv_read_one(buf_t *in, unsigned long *line, struct csv_rec *rec)
{
	enum { FSTART, UNQUOTED, QUOTED, AFTER_QUOTE } state = FSTART;
	size_t start;
	uint8_t c;

	if (buf_avail(in) == 0)
		return 0;
	buf_reset(&rec->scratch);
	rec->line = *line;
	rec->raw = 0;
	rec->nfields = 0;
	rec->too_long = 0;
	rec->syn = CSV_SYN_NONE;
	rec->syn_field = 0;
	start = 0;
	for (;;) {
		if (buf_get_u8(in, &c) != 0) {
			if (state == QUOTED)
				csv_syntax(rec, CSV_SYN_UNTERMINATED);
			csv_end_field(rec, start);
			return 1;
		}
		if (state != QUOTED && (c == '\n' || (c == '\r' &&
		    buf_avail(in) > 0 && *buf_ptr(in) == '\n'))) {
			if (c == '\r')
				(void)buf_skip(in, 1);
			(*line)++;
			csv_end_field(rec, start);
			return 1;
		}
		/* Separators count too: a line of commas is still a line. */
		if (++rec->raw > CSV_LINE_MAX)
			rec->too_long = 1;
		switch (state) {
		case FSTART:
			if (c == '"') {
				state = QUOTED;
				break;
			}
			if (c == ',') {
				csv_end_field(rec, start);
				start = rec->scratch.len;
				break;
			}
			state = UNQUOTED;
			csv_keep(rec, c);
			break;
		case UNQUOTED:
			if (c == ',') {
				csv_end_field(rec, start);
				start = rec->scratch.len;
				state = FSTART;
				break;
			}
			if (c == '"')
				csv_syntax(rec, CSV_SYN_QUOTE_IN_UNQUOTED);
			csv_keep(rec, c);
			break;
		case QUOTED:
			if (c == '"') {
				if (buf_avail(in) > 0 && *buf_ptr(in) == '"') {
					(void)buf_skip(in, 1);
					if (++rec->raw > CSV_LINE_MAX)
						rec->too_long = 1;
					csv_keep(rec, c);
				} else {
					state = AFTER_QUOTE;
				}
				break;
			}
			if (c == '\n')
				(*line)++;
			csv_keep(rec, c);
			break;
		case AFTER_QUOTE:
		default:
			if (c == ',') {
				csv_end_field(rec, start);
				start = rec->scratch.len;
				state = FSTART;
				break;
			}
			csv_syntax(rec, CSV_SYN_TEXT_AFTER_QUOTE);
			state = UNQUOTED;
			csv_keep(rec, c);
			break;
		}
	}
}

/* Like csv_read_one, skipping empty lines. */
static int
csv_read_record(buf_t *in, unsigned long *line, struct csv_rec *rec)
{
	for (;;) {
		if (csv_read_one(in, line, rec) == 0)
			return 0;
		if (rec->raw != 0)
			return 1;
	}
}

static const unsigned char *
csv_field(const struct csv_rec *rec, size_t i, size_t *len)
{
	*len = rec->flen[i];
	/* A record of empty fields ("" alone) stores no byte, so scratch may
	 * have no memory yet, and NULL + 0 is undefined behaviour in C. */
	if (rec->scratch.data == NULL)
		return (const unsigned char *)"";
	return rec->scratch.data + rec->fstart[i];
}

/* Name of field i for messages: the header's name when known. */
static const char *
csv_field_name(const struct csv_state *st, size_t i, char *tmp,
    size_t tmpsz)
{
	if (st->header_ok && i < st->ncols) {
		if (st->colmap[i] >= 0)
			return csv_col_names[st->colmap[i]];
		return st->colshow[i];
	}
	snprintf(tmp, tmpsz, "column %zu", i + 1);
	return tmp;
}

/* Reports a record that is too long or malformed; 1 when it was. */
static int
csv_record_problem(struct csv_state *st, const struct csv_rec *rec)
{
	char tmp[32];
	const char *name;

	if (rec->too_long) {
		csv_error(st, rec->line, NULL, "Line %lu - The line is longer "
		    "than %u bytes", rec->line, CSV_LINE_MAX);
		return 1;
	}
	if (rec->syn == CSV_SYN_NONE)
		return 0;
	name = csv_field_name(st, rec->syn_field, tmp, sizeof(tmp));
	switch (rec->syn) {
	case CSV_SYN_QUOTE_IN_UNQUOTED:
		csv_error(st, rec->line, name, "Line %lu - Incorrect value of "
		    "field '%s': a quote inside an unquoted value; enclose the "
		    "value in quotes and double the quote", rec->line, name);
		break;
	case CSV_SYN_TEXT_AFTER_QUOTE:
		csv_error(st, rec->line, name, "Line %lu - Incorrect value of "
		    "field '%s': text after the closing quote", rec->line,
		    name);
		break;
	case CSV_SYN_UNTERMINATED:
	case CSV_SYN_NONE:
	default:
		csv_error(st, rec->line, name, "Line %lu - Incorrect value of "
		    "field '%s': the quoted value is not closed before the end "
		    "of the file", rec->line, name);
		break;
	}
	return 1;
}

static void
csv_header(struct csv_state *st, const struct csv_rec *rec)
{
	char why[CSV_WHY_MAX], list[256];
	size_t i, used = 0, pos[CSV_COL_COUNT];
	int c;

	if (csv_record_problem(st, rec))
		return;
	if (rec->nfields > CSV_MAX_FIELDS) {
		csv_error(st, rec->line, NULL, "Line %lu - Incorrect values - "
		    "Actual fields quantity: %zu, allowed fields quantity: at "
		    "most %u", rec->line, rec->nfields, CSV_MAX_FIELDS);
		return;
	}
	for (c = 0; c < CSV_COL_COUNT; c++) {
		pos[c] = 0;
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		    "%s%s", c ? ", " : "", csv_col_names[c]);
	}
	st->ncols = rec->nfields;
	st->header_ok = 1;
	for (i = 0; i < rec->nfields; i++) {
		size_t len, nc;
		const unsigned char *p = csv_field(rec, i, &len);

		st->colmap[i] = -1;
		text_show(p, len, CSV_SHOW_MAX, st->colshow[i],
		    sizeof(st->colshow[i]));
		if (len == 0) {
			snprintf(st->colshow[i], sizeof(st->colshow[i]),
			    "column %zu", i + 1);
			csv_error(st, rec->line, st->colshow[i], "Line %lu - "
			    "Column %zu of the header has no name; allowed "
			    "fields: %s", rec->line, i + 1, list);
			continue;
		}
		if (csv_check_text(p, len, &nc, why, sizeof(why)) != 0) {
			csv_error(st, rec->line, st->colshow[i], "Line %lu - "
			    "Unknown field '%s': %s", rec->line,
			    st->colshow[i], why);
			continue;
		}
		for (c = 0; c < CSV_COL_COUNT; c++)
			if (strlen(csv_col_names[c]) == len &&
			    strncasecmp((const char *)p, csv_col_names[c],
			    len) == 0)
				break;
		if (c == CSV_COL_COUNT) {
			csv_error(st, rec->line, st->colshow[i], "Line %lu - "
			    "Unknown field '%s'; allowed fields: %s", rec->line,
			    st->colshow[i], list);
			continue;
		}
		if (pos[c] != 0) {
			csv_error(st, rec->line, csv_col_names[c], "Line %lu - "
			    "Field '%s' is given twice (columns %zu and %zu)",
			    rec->line, csv_col_names[c], pos[c], i + 1);
			continue;
		}
		pos[c] = i + 1;
		st->colmap[i] = c;
		st->out->present[c] = 1;
	}
	if (!st->out->present[CSV_COL_MAC] &&
	    !st->out->present[CSV_COL_COMMON_NAME])
		csv_error(st, rec->line, NULL, "Line %lu - Required field "
		    "'mac' or 'common_name' is not specified in the header",
		    rec->line);
}

/* A host name: LDH labels of 1..63, 253 in all; '*' only as a leftmost label. */
static int
csv_check_host(const unsigned char *p, size_t len, int wildcard, char *why,
    size_t whysz)
{
	size_t i, lab = 0;

	if (len == 0 || len > 253) {
		snprintf(why, whysz, "a host name must be 1 to 253 characters");
		return -1;
	}
	if (wildcard && len > 2 && p[0] == '*' && p[1] == '.') {
		p += 2;
		len -= 2;
	}
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? p[i] : '.';

		if (c == '.') {
			if (lab == 0 || lab > 63 || p[i - lab] == '-' ||
			    p[i - 1] == '-') {
				snprintf(why, whysz, "'%.*s' is not a host name: "
				    "each label must be 1 to 63 letters, digits "
				    "or inner hyphens", (int)(len > 64 ? 64 : len),
				    (const char *)p);
				return -1;
			}
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-')) {
			snprintf(why, whysz, "character '%c' is not allowed "
			    "in a host name", c);
			return -1;
		}
		lab++;
	}
	return 0;
}

static int
csv_check_dns(const unsigned char *p, size_t len, char *why, size_t whysz)
{
	size_t i, start = 0, n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != ';')
			continue;
		if (++n > CSV_DNS_NAMES_MAX) {
			snprintf(why, whysz, "more than %u names",
			    CSV_DNS_NAMES_MAX);
			return -1;
		}
		if (i == start) {
			snprintf(why, whysz, "name %zu of the list is empty; "
			    "separate names with a single ';'", n);
			return -1;
		}
		if (csv_check_host(p + start, i - start, 1, why, whysz) != 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

static int
csv_check_email(const unsigned char *p, size_t len, char *why, size_t whysz)
{
	const unsigned char *at = memchr(p, '@', len);
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x80 || strchr(" \"(),:;<>[\\]", p[i]) != NULL) {
			snprintf(why, whysz, "character %zu is not allowed in "
			    "an email address", i + 1);
			return -1;
		}
	}
	if (at == NULL || at == p || memchr(at + 1, '@',
	    len - (size_t)(at - p) - 1) != NULL || at - p > 64) {
		snprintf(why, whysz, "an email address needs exactly one '@' "
		    "after 1 to 64 characters");
		return -1;
	}
	return csv_check_host(at + 1, len - (size_t)(at - p) - 1, 0, why,
	    whysz);
}

static int
csv_check_file_name(const unsigned char *p, size_t len, char *why,
    size_t whysz)
{
	if (memchr(p, '/', len) != NULL || memchr(p, '\\', len) != NULL) {
		snprintf(why, whysz, "a file name must not contain '/' or '\\'; "
		    "name a file at the root of the bundle");
		return -1;
	}
	if (memmem(p, len, "..", 2) != NULL) {
		snprintf(why, whysz, "a file name must not contain '..'");
		return -1;
	}
	if (p[0] == '.') {
		snprintf(why, whysz, "a file name must not start with '.'");
		return -1;
	}
	return 0;
}

/*
 * Checks one non-empty value of column col. Returns 0, or -1 with why.
 * For mac, *mac receives the address.
 */
static int
csv_check_value(enum csv_col col, const unsigned char *p, size_t len,
    unsigned char mac[MAC_LEN], char *why, size_t whysz)
{
	char tmp[MAC_STR_MAX];
	size_t nc;
	err_t e;

	if (csv_check_text(p, len, &nc, why, whysz) != 0)
		return -1;
	if (p[0] == ' ' || p[len - 1] == ' ') {
		snprintf(why, whysz, "leading or trailing space");
		return -1;
	}
	if ((col == CSV_COL_DNS ? len : nc) > csv_col_max[col] &&
	    col != CSV_COL_MAC) {
		snprintf(why, whysz, "%zu %s long; at most %zu are allowed",
		    col == CSV_COL_DNS ? len : nc,
		    col == CSV_COL_DNS ? "bytes" : "characters",
		    csv_col_max[col]);
		return -1;
	}
	switch (col) {
	case CSV_COL_MAC:
		if (len >= sizeof(tmp)) {
			snprintf(why, whysz, "not a MAC address: more than 17 "
			    "characters");
			return -1;
		}
		memcpy(tmp, p, len);
		tmp[len] = '\0';
		err_clear(&e);
		if (mac_parse(tmp, mac, &e) != 0) {
			/* mac_parse messages are short; the cut is only formal. */
			snprintf(why, whysz, "%.400s", e.msg);
			return -1;
		}
		return 0;
	case CSV_COL_COUNTRY:
		if (len != 2 || p[0] < 'A' || p[0] > 'Z' || p[1] < 'A' ||
		    p[1] > 'Z') {
			snprintf(why, whysz, "a country is two capital letters "
			    "A-Z (ISO 3166), such as 'DE'");
			return -1;
		}
		return 0;
	case CSV_COL_EMAIL:
		return csv_check_email(p, len, why, whysz);
	case CSV_COL_DNS:
		return csv_check_dns(p, len, why, whysz);
	case CSV_COL_CSR_FILE:
		return csv_check_file_name(p, len, why, whysz);
	case CSV_COL_COMMON_NAME:
	case CSV_COL_STATE:
	case CSV_COL_LOCALITY:
	case CSV_COL_ORGANIZATION:
	case CSV_COL_ORGANIZATIONAL_UNIT:
	case CSV_COL_COUNT:
	default:
		return 0;
	}
}

/* Appends a value to the batch text; returns its offset, or 0 on failure. */
static uint32_t
csv_store(struct csv_state *st, const unsigned char *p, size_t len)
{
	size_t off = st->out->text.len;

	if (buf_put(&st->out->text, p, len) != 0 ||
	    buf_put_u8(&st->out->text, 0) != 0 || off > UINT32_MAX) {
		st->nomem = 1;
		return 0;
	}
	return (uint32_t)off;
}

static void
csv_row(struct csv_state *st, const struct csv_rec *rec)
{
	struct csv_batch *b = st->out;
	struct csv_row row;
	char why[CSV_WHY_MAX];
	int have_key = 0;
	size_t i;

	if (csv_record_problem(st, rec))
		return;
	if (rec->nfields != st->ncols) {
		csv_error(st, rec->line, NULL, "Line %lu - Incorrect values - "
		    "Actual fields quantity: %zu, expected fields quantity: "
		    "%zu", rec->line, rec->nfields, st->ncols);
		return;
	}
	memset(&row, 0, sizeof(row));
	row.line = rec->line;
	for (i = 0; i < rec->nfields; i++) {
		size_t len;
		const unsigned char *p = csv_field(rec, i, &len);
		int col = st->colmap[i];

		if (col < 0 || len == 0)
			continue;
		if (csv_check_value((enum csv_col)col, p, len, row.mac, why,
		    sizeof(why)) != 0) {
			csv_error(st, rec->line, csv_col_names[col], "Line %lu "
			    "- Incorrect value of field '%s': %s", rec->line,
			    csv_col_names[col], why);
			continue;
		}
		if (col == CSV_COL_MAC)
			row.has_mac = 1;
		if (col == CSV_COL_MAC || col == CSV_COL_COMMON_NAME)
			have_key = 1;
		row.off[col] = csv_store(st, p, len);
	}
	if (!have_key && (b->present[CSV_COL_MAC] ||
	    b->present[CSV_COL_COMMON_NAME])) {
		/* Only when no value was given: a bad one is reported above. */
		int given = 0;

		for (i = 0; i < rec->nfields; i++)
			if ((st->colmap[i] == CSV_COL_MAC ||
			    st->colmap[i] == CSV_COL_COMMON_NAME) &&
			    rec->flen[i] != 0)
				given = 1;
		if (!given && b->present[CSV_COL_MAC] &&
		    b->present[CSV_COL_COMMON_NAME])
			csv_error(st, rec->line, "mac", "Line %lu - Required "
			    "field 'mac' or 'common_name' is not specified",
			    rec->line);
		else if (!given)
			csv_error(st, rec->line, b->present[CSV_COL_MAC] ?
			    "mac" : "common_name", "Line %lu - Required field "
			    "'%s' is not specified", rec->line,
			    b->present[CSV_COL_MAC] ? "mac" : "common_name");
	}
	if (b->nrows == st->rowcap) {
		size_t ncap = st->rowcap ? st->rowcap * 2 : 256;
		struct csv_row *n;

		if (ncap > CSV_MAX_RECORDS)
			ncap = CSV_MAX_RECORDS;
		if ((n = realloc(b->rows, ncap * sizeof(*n))) == NULL) {
			st->nomem = 1;
			return;
		}
		b->rows = n;
		st->rowcap = ncap;
	}
	b->rows[b->nrows++] = row;
}

static int
csv_mac_cmp(const void *a, const void *b)
{
	const struct csv_mac_key *x = a, *y = b;

	if (x->mac != y->mac)
		return x->mac < y->mac ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static int
csv_cn_cmp(const void *a, const void *b)
{
	const struct csv_cn_key *x = a, *y = b;
	int c = strcmp(x->cn, y->cn);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * Reports every MAC and common name given on more than one row, each
 * repetition against the first line. Sorting keeps this O(n log n).
 */
static void
csv_duplicates(struct csv_state *st)
{
	struct csv_batch *b = st->out;
	struct csv_mac_key *mk;
	struct csv_cn_key *ck;
	char shown[CSV_SHOW_BUF];
	size_t i, n, first;

	if (b->nrows < 2)
		return;
	mk = calloc(b->nrows, sizeof(*mk));
	ck = calloc(b->nrows, sizeof(*ck));
	if (mk == NULL || ck == NULL) {
		free(mk);
		free(ck);
		st->nomem = 1;
		return;
	}
	for (i = 0, n = 0; i < b->nrows; i++) {
		size_t k;

		if (!b->rows[i].has_mac)
			continue;
		mk[n].line = b->rows[i].line;
		for (k = 0; k < MAC_LEN; k++)
			mk[n].mac = mk[n].mac << 8 | b->rows[i].mac[k];
		n++;
	}
	qsort(mk, n, sizeof(*mk), csv_mac_cmp);
	for (i = 1, first = 0; i < n; i++) {
		unsigned char m[MAC_LEN];
		char text[MAC_STR_MAX];
		size_t k;

		if (mk[i].mac != mk[first].mac) {
			first = i;
			continue;
		}
		for (k = 0; k < MAC_LEN; k++)
			m[k] = (unsigned char)(mk[i].mac >> (8 * (MAC_LEN - 1 - k)));
		mac_format(m, MAC_STYLE_COLON_LOWER, text, sizeof(text));
		csv_error(st, mk[i].line, "mac", "Line %lu - Duplicate value of "
		    "field 'mac': %s is already on line %lu", mk[i].line, text,
		    mk[first].line);
	}
	for (i = 0, n = 0; i < b->nrows; i++) {
		if (b->rows[i].off[CSV_COL_COMMON_NAME] == 0)
			continue;
		ck[n].cn = csv_value(b, &b->rows[i], CSV_COL_COMMON_NAME);
		ck[n].line = b->rows[i].line;
		n++;
	}
	qsort(ck, n, sizeof(*ck), csv_cn_cmp);
	for (i = 1, first = 0; i < n; i++) {
		if (strcmp(ck[i].cn, ck[first].cn) != 0) {
			first = i;
			continue;
		}
		csv_error(st, ck[i].line, "common_name", "Line %lu - Duplicate "
		    "value of field 'common_name': '%s' is already on line %lu",
		    ck[i].line, text_show(ck[i].cn, strlen(ck[i].cn),
		    CSV_SHOW_MAX, shown, sizeof(shown)), ck[first].line);
	}
	free(mk);
	free(ck);
}

void
csv_batch_init(struct csv_batch *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->text, 0);
}

void
csv_batch_free(struct csv_batch *b)
{
	if (b == NULL)
		return;
	free(b->rows);
	buf_free(&b->text);
	csv_batch_init(b);
}

const char *
csv_col_name(enum csv_col col)
{
	if ((unsigned)col >= CSV_COL_COUNT)
		return NULL;
	return csv_col_names[col];
}

const char *
csv_value(const struct csv_batch *b, const struct csv_row *row,
    enum csv_col col)
{
	if (b == NULL || row == NULL || (unsigned)col >= CSV_COL_COUNT ||
	    row->off[col] == 0 || row->off[col] >= b->text.len)
		return "";
	return (const char *)b->text.data + row->off[col];
}

int
csv_parse(const char *label, const void *data, size_t len,
    struct csv_batch *out, diag_t *diag)
{
	static const unsigned char bom[3] = { 0xef, 0xbb, 0xbf };
	struct csv_state *st;
	struct csv_rec *rec;
	unsigned long line = 1;
	size_t records = 0;
	buf_t in;
	int rc = 0;

	csv_batch_init(out);
	if (label == NULL)
		label = "<csv>";
	if (data == NULL && len > 0) {
		(void)diag_add(diag, label, 0, NULL, "no data");
		return ERR_INVALID;
	}
	if (len > CSV_MAX_BYTES) {
		if (diag_add(diag, label, 0, NULL, "The file is %zu bytes, more "
		    "than the limit of %u bytes", len, CSV_MAX_BYTES) != 0)
			return ERR_NOMEM;
		return ERR_LIMIT;
	}
	st = calloc(1, sizeof(*st));
	rec = calloc(1, sizeof(*rec));
	if (st == NULL || rec == NULL) {
		free(st);
		free(rec);
		return ERR_NOMEM;
	}
	st->label = label;
	st->diag = diag;
	st->out = out;
	buf_init(&rec->scratch, CSV_LINE_MAX);
	/* Values plus one NUL each never exceed twice the input. */
	buf_init(&out->text, 2 * len + 2);
	if (buf_put_u8(&out->text, 0) != 0)
		st->nomem = 1;
	buf_view(&in, data, len);
	if (len >= sizeof(bom) && memcmp(data, bom, sizeof(bom)) == 0)
		(void)buf_skip(&in, sizeof(bom));
	while (!st->nomem && csv_read_record(&in, &line, rec) == 1) {
		if (++records > CSV_MAX_RECORDS) {
			csv_error(st, rec->line, NULL, "Line %lu - More than %u "
			    "requests; split the batch", rec->line,
			    CSV_MAX_RECORDS - 1);
			rc = ERR_LIMIT;
			break;
		}
		if (records == 1)
			csv_header(st, rec);
		else if (st->header_ok)
			csv_row(st, rec);
	}
	if (rc == 0 && !st->nomem && records == 0)
		csv_error(st, 1, NULL, "Line 1 - The header row is missing; "
		    "the file is empty");
	else if (rc == 0 && !st->nomem && records == 1)
		csv_error(st, line, NULL, "Line %lu - The file has a header "
		    "but no request rows", line);
	if (rc == 0 && !st->nomem)
		csv_duplicates(st);
	if (st->nomem)
		rc = ERR_NOMEM;
	else if (rc == 0 && st->errors > 0)
		rc = ERR_INVALID;
	buf_free(&rec->scratch);
	free(rec);
	free(st);
	if (rc != 0)
		csv_batch_free(out);
	return rc;
}
