/*
 * results.h: the batch results log, one record per request line, as CSV
 * or JSON (docs/formats/results.md).
 *
 * Columns: line, name (MAC or CN), serial, status (ISSUED or FAILED),
 * message, sha256 (of the certificate's DER). Serial and sha256 are empty
 * (JSON: null) for a failed line; message is empty (JSON: null) for an
 * issued one unless the item carries a note.
 */
#ifndef AIRLOCK_EXPORT_RESULTS_H
#define AIRLOCK_EXPORT_RESULTS_H

#include <stddef.h>

#include "export/item.h"
#include "util/buf.h"
#include "util/err.h"

enum export_log {
	EXPORT_LOG_NONE = 0,
	EXPORT_LOG_CSV,
	EXPORT_LOG_JSON
};

/*
 * Parses "csv" or "json" (the manifest's spelling). 0, or ERR_INVALID
 * for anything else.
 */
int export_log_parse(const char *s, enum export_log *out);

/* File name of the log: "results.csv" or "results.json"; NULL for NONE. */
const char *export_log_filename(enum export_log fmt);

/*
 * Appends the CSV log (RFC 4180: CRLF line ends, a field holding a comma,
 * quote, CR or LF is quoted, quotes doubled) to out, header row first.
 * 0, or ERR_INVALID when a name or message is not valid UTF-8 or an
 * issued item has no certificate, ERR_LIMIT/ERR_NOMEM when out is full.
 */
int export_results_csv(const struct export_item *items, size_t n,
    buf_t *out, err_t *err);

/* The same as a JSON array of objects (RFC 8259). Same returns. */
int export_results_json(const struct export_item *items, size_t n,
    buf_t *out, err_t *err);

/*
 * Appends s as one CSV field, quoted only when RFC 4180 requires it (a
 * comma, quote, CR or LF inside; quotes doubled). NULL appends nothing
 * (an empty field). Failures are left in out's sticky flag (buf_ok).
 */
void export_csv_field(buf_t *out, const char *s);

/*
 * Appends s[0..len) as a JSON string, quotes included: '"' and '\\'
 * escaped, \b \f \n \r \t for those controls, \u00XX for the other C0
 * controls and DEL, \u2028 and \u2029 (which JavaScript treats as line
 * ends), every other valid UTF-8 character passed through. 0, or
 * ERR_INVALID (invalid UTF-8), ERR_LIMIT/ERR_NOMEM. A NUL byte is \u0000.
 */
int export_json_string(buf_t *out, const char *s, size_t len);

#endif
