/*
 * query.h: choosing audit records and showing them to people: filters,
 * text, CSV and JSON listings, and the reports auditors ask for.
 *
 * Everything works one parsed record (record.h) at a time, so the same
 * code serves a log file read line by line now and the daemon's store
 * later. Nothing here checks the chain: verify.h does.
 */
#ifndef AIRLOCK_AUDIT_QUERY_H
#define AIRLOCK_AUDIT_QUERY_H

#include <stddef.h>
#include <time.h>

#include "audit/record.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Which records to show. A NULL string (or 0 time) does not filter; every
 * filter given must match.
 */
struct audit_filter {
	time_t since, until;	/* since <= TIME <= until; 0 for none */
	const char *actor;	/* a substring of ACTOR-NAME (ASCII letters
				 * in any case), or the start of
				 * ACTOR-SHA256 (hex in any case) */
	const char *action;	/* exact, or "prefix*" */
	const char *role;	/* exact */
	const char *outcome;	/* exact: ok, refused, failed */
	const char *batch;	/* an OBJECTS batch= equal to it, as a
				 * decimal number */
	const char *serial;	/* an OBJECTS serial= equal to it, as hex:
				 * any case, leading zeros ignored */
	const char *object_key;	/* with object_value: an OBJECTS token */
	const char *object_value;	/* key=value, both exact */
};

/* 1 when r passes every filter in f, else 0. */
int audit_filter_match(const struct audit_filter *f,
    const struct audit_record *r);

/*
 * Parses a --since/--until time: "YYYY-MM-DDTHH:MM:SSZ", or a date
 * "YYYY-MM-DD" meaning its first second (end 0) or its last (end 1).
 * 0 or ERR_INVALID.
 */
int audit_filter_time(const char *s, int end, time_t *out, err_t *err);

enum audit_fmt {
	AUDIT_FMT_TEXT,		/* aligned columns for people; every text
				 * shown safely (text_show) */
	AUDIT_FMT_CSV,		/* RFC 4180, CRLF, spreadsheet-safe */
	AUDIT_FMT_JSON		/* one array of objects (RFC 8259) */
};

/* "text", "csv", "json"; 0 or ERR_INVALID. */
int audit_fmt_parse(const char *s, enum audit_fmt *out);

/*
 * A listing: the header (column names, or "["), then each record with
 * nth the number shown before it (0 for the first: JSON puts a comma
 * between objects), then the footer (JSON's "]"; shown is how many there
 * were). Each appends to out: 0, or ERR_LIMIT / ERR_NOMEM.
 *
 * CSV cells are quoted as RFC 4180 needs, and a cell that starts with
 * '=', '+', '-', '@', TAB or CR gets a leading "'" so that a spreadsheet
 * does not run it as a formula. CSV and JSON carry text unescaped when
 * it is valid UTF-8, else as the log writes it (\xHH).
 */
int audit_show_header(enum audit_fmt fmt, buf_t *out);
int audit_show_record(enum audit_fmt fmt, unsigned long nth,
    const struct audit_record *r, buf_t *out);
int audit_show_footer(enum audit_fmt fmt, unsigned long shown, buf_t *out);

/*
 * Appends s as one CSV cell (RFC 4180 quoting and the formula guard
 * above). 0, or ERR_LIMIT / ERR_NOMEM.
 */
int audit_csv_cell(buf_t *out, const char *s);

/*
 * Reports, written as CSV. Records go in one at a time; the rows of
 * "rejections" and "crls" are written as their records come, those of
 * "approvals" and "issuance" (counts) at the end, sorted. Memory grows
 * with the number of distinct officers, operators, profiles and batches,
 * never with the number of records.
 *
 *   approvals   officer, officer_sha256, kind (batch, revocation, crl,
 *               export), approvals, rejections: from "approval" records
 *               with outcome ok and OBJECTS KIND=N decision=approve|reject
 *   issuance    operator, operator_sha256, profile, batches,
 *               certificates: "bundle-accepted" records (the operator as
 *               actor, OBJECTS batch=N profile=P) and "certificate-issued"
 *               records (batch=N ... profile=P), outcome ok
 *   rejections  time, file, bundle_sha256, signer, signer_sha256, reason:
 *               "bundle-rejected" records (OBJECTS bundle=SHA256
 *               file=NAME, DETAILS the reason, the actor the signer when
 *               known)
 *   crls        time, ca, number, outcome, details: "crl-issued" records
 *               (OBJECTS ca=NAME crl=N)
 */
enum audit_report_kind {
	AUDIT_REPORT_APPROVALS,
	AUDIT_REPORT_ISSUANCE,
	AUDIT_REPORT_REJECTIONS,
	AUDIT_REPORT_CRLS
};

struct audit_report;

/* "approvals", "issuance", "rejections", "crls"; 0 or ERR_INVALID. */
int audit_report_kind_parse(const char *s, enum audit_report_kind *out);

/* A new report; 0 or ERR_NOMEM. */
int audit_report_new(enum audit_report_kind kind, struct audit_report **out,
    err_t *err);

/* Appends the CSV header. 0 or ERR_LIMIT / ERR_NOMEM. */
int audit_report_header(struct audit_report *rep, buf_t *out);

/*
 * Takes one record into the report, appending its row to out for the
 * kinds written as they come. 0, or ERR_LIMIT / ERR_NOMEM (out full or
 * memory), ERR_LIMIT past AUDIT_REPORT_MAX_KEYS distinct keys.
 */
int audit_report_add(struct audit_report *rep, const struct audit_record *r,
    buf_t *out);

/* Appends the counted rows (approvals, issuance). 0 or ERR_*. */
int audit_report_end(struct audit_report *rep, buf_t *out);

void audit_report_free(struct audit_report *rep);

/* Most distinct keys (officers x kinds, batches, ...) a report counts. */
#define AUDIT_REPORT_MAX_KEYS 10000000

#endif
