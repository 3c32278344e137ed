/*
 * csv.h: the request list of a csv-mode batch, parsed strictly.
 *
 * The file is RFC 4180: fields separated by ',', records ended by CRLF or
 * LF (the last one may lack it), fields optionally enclosed in '"' with ""
 * standing for one quote; a quoted field may span lines. A UTF-8 byte order
 * mark at the very start is skipped, because spreadsheet programs write one
 * when saving "CSV UTF-8" and it carries no data; anywhere else U+FEFF is
 * refused like any other invisible character. Empty lines are skipped.
 *
 * The first record is the header. Column names, matched without regard to
 * case: mac, common_name, country, state, locality, organization,
 * organizational_unit, email, dns, csr_file. At least one of mac and
 * common_name must be a column and, on every row, non-empty. Unknown and
 * repeated columns are refused.
 *
 * Values are checked as they will be used: mac by mac_parse; country two
 * capital letters A-Z; common_name at most 64 characters, the others at
 * most 128 (dns, the list, at most CSV_DNS_MAX bytes); all valid UTF-8
 * without control characters, direction overrides or other invisible
 * format characters, and without leading or trailing spaces; email one
 * ASCII local@domain; dns one or more host names separated by ';' (no
 * spaces; '*' allowed only as a whole leftmost label); csr_file a plain
 * file name (no '/', '\', "..", nor a leading '.').
 *
 * Every problem is reported, each as "Line N - ..." in the wording bulk
 * imports use elsewhere (see shared/reference/scm-digest.md), where N is
 * the line of the file on which the record starts (the header is line 1).
 * A MAC or common name that occurs twice is reported on its later line,
 * naming the first.
 */
#ifndef AIRLOCK_INGEST_CSV_H
#define AIRLOCK_INGEST_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/mac.h"
#include "util/buf.h"
#include "util/err.h"

/* Largest file accepted (500,000 rows of about 130 bytes, with room). */
#define CSV_MAX_BYTES (128u * 1024 * 1024)
/* Longest record, in bytes of the file, without its line ending. */
#define CSV_LINE_MAX 8192u
/* Records including the header: 500,000 requests at most. */
#define CSV_MAX_RECORDS 500001u
/* Fields in one record. */
#define CSV_MAX_FIELDS 32u
/* Characters of common_name, and of every other subject or email field. */
#define CSV_CN_MAX 64u
#define CSV_FIELD_MAX 128u
/* The dns list: bytes in all, and names in it. */
#define CSV_DNS_MAX 1024u
#define CSV_DNS_NAMES_MAX 16u

enum csv_col {
	CSV_COL_MAC,
	CSV_COL_COMMON_NAME,
	CSV_COL_COUNTRY,
	CSV_COL_STATE,
	CSV_COL_LOCALITY,
	CSV_COL_ORGANIZATION,
	CSV_COL_ORGANIZATIONAL_UNIT,
	CSV_COL_EMAIL,
	CSV_COL_DNS,
	CSV_COL_CSR_FILE,
	CSV_COL_COUNT
};

/* One request; its values are read with csv_value(). */
struct csv_row {
	unsigned long line;	/* line of the file where the record starts */
	int has_mac;		/* mac holds the parsed address */
	unsigned char mac[MAC_LEN];
	uint32_t off[CSV_COL_COUNT];	/* into text; 0 is the empty value */
};

struct csv_batch {
	struct csv_row *rows;
	size_t nrows;
	int present[CSV_COL_COUNT];	/* 1 when the header has the column */
	buf_t text;		/* every value, NUL-terminated, back to back */
};

/* An empty batch; csv_batch_free may be called on it. */
void csv_batch_init(struct csv_batch *b);

/* Frees what a batch holds and leaves it empty. */
void csv_batch_free(struct csv_batch *b);

/* The column's name as written in headers ("common_name"), or NULL. */
const char *csv_col_name(enum csv_col col);

/* The validated value of col in row ("" when absent or empty); never NULL. */
const char *csv_value(const struct csv_batch *b, const struct csv_row *row,
    enum csv_col col);

/*
 * Parses len bytes labelled `label` (used as the file of every message)
 * into *out, which is initialised first. Returns 0 when the file is valid.
 * Otherwise every problem found is in diag (file label, line, the column
 * as field) and out is left empty; the result is ERR_LIMIT when the file
 * or its record count is over the limits (the parse stops there), else
 * ERR_INVALID; ERR_NOMEM when memory runs out.
 */
int csv_parse(const char *label, const void *data, size_t len,
    struct csv_batch *out, diag_t *diag);

#endif
