/*
 * inventory.h: the certificate inventory on top of the store (schema
 * version 4): every certificate the appliance issued, found by serial,
 * batch, MAC, subject, status, profile, CA, kind or expiry window; one
 * certificate's history from request to revocation; and the counts
 * behind the reports (docs/officer.md, "Inventory and reports").
 *
 * Nothing here writes. Rows come out through callbacks while one read
 * statement is open, so memory does not grow with the table: a million
 * certificates list in the memory of one row. Each filter is a term on an
 * indexed column where the schema has one (serial: the primary key;
 * batch, profile, MAC, expiry: their indexes; revoked and held: the
 * partial index of non-valid certificates); a subject substring and a
 * kind are checked row by row, since no index can answer them.
 *
 * Callbacks run while a read statement is open on the store's connection:
 * they must not write to the store. A non-zero return from a callback
 * stops the walk and is returned. Functions return 0 or a negative ERR_*
 * code with a message in err.
 */
#ifndef AIRLOCK_QUEUE_INVENTORY_H
#define AIRLOCK_QUEUE_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* Longest expiry window a filter takes, in days (100 years). */
#define QUEUE_CERT_DAYS_MAX 36500
/* Most events one certificate's history may hold. */
#define QUEUE_CERT_EVENTS_MAX 10000
/* Longest subject substring a filter takes, in bytes. */
#define QUEUE_CERT_SUBJECT_MAX 1024

/*
 * Which certificates to list. Zero (NULL) members do not filter; the
 * terms that are set must all hold. Texts come from the console and are
 * checked here (ERR_INVALID naming the filter and what it takes).
 */
struct queue_cert_filter {
	/* Hex digits in either case, optionally in colon-separated pairs
	 * as openssl prints them; leading zeros do not count. */
	const char *serial;
	int64_t batch;			/* batch id */
	const char *mac;		/* any spelling ingest/mac.h takes */
	const char *subject;		/* substring; ASCII case ignored */
	/*
	 * valid, revoked, hold or expired. A certificate whose status is
	 * valid but whose notAfter has passed at now is "expired", and is
	 * then not "valid".
	 */
	const char *status;
	int unrevoked;			/* 1: leave revoked ones out */
	const char *profile;		/* the batch's profile */
	const char *ca;			/* the issuing CA's name */
	const char *kind;		/* ca, person, appliance, device */
	/* 1 .. QUEUE_CERT_DAYS_MAX: notAfter between now and now + days. */
	int64_t expires_within;
	int64_t now;			/* the time of "expired" and windows */
	/*
	 * Paging. after: only rows past this position (a row's pos; 0: from
	 * the start), the way to walk a large list page by page at the cost
	 * of each page only. offset: rows to skip first. limit: most rows
	 * (0: all).
	 */
	int64_t after;
	int64_t offset;
	int64_t limit;
	int with_der;			/* 1: rows carry the DER */
	/*
	 * 1: in notAfter order (the index's), soonest first, instead of
	 * issue order; not with after (ERR_INVALID).
	 */
	int by_expiry;
};

/* One certificate; valid only during the callback. */
struct queue_cert_row {
	/*
	 * Where the row stands in the list (issue order): pass the last
	 * row's pos as filter.after for the next page. A position within
	 * this store, not an identifier to keep.
	 */
	int64_t pos;
	const char *serial;		/* lower-case hex, no leading zero */
	int64_t ca_id;
	const char *ca;			/* the issuing CA's name */
	const char *kind;		/* ca, person, appliance, device */
	const char *subject;		/* RFC 2253 text */
	const char *mac;		/* 12 lower-case hex digits, or NULL */
	const char *profile;		/* NULL unless issued for a batch */
	int64_t batch, line;		/* 0 unless issued for a batch */
	int64_t not_before, not_after;
	const char *status;		/* valid, revoked, hold, expired */
	int64_t revoked_at;		/* revoked or held: since when; else 0 */
	const char *reason;		/* revoked or held: CRL reason; NULL */
	int64_t invalidity_date;	/* 0 when none */
	int64_t revocation_id;		/* the request that revoked it; 0 */
	const char *sha256;		/* of der */
	int64_t issued;			/* when it was recorded */
	const unsigned char *der;	/* with_der only, else NULL */
	size_t der_len;
};

typedef int (*queue_cert_cb)(void *ctx, const struct queue_cert_row *c);

/*
 * Calls cb for each certificate f lets through, in issue order (or
 * notAfter order with by_expiry).
 */
int queue_cert_list(struct store *st, const struct queue_cert_filter *f,
    queue_cert_cb cb, void *ctx, err_t *err);

/* How many certificates f lets through (its paging members ignored). */
int queue_cert_count(struct store *st, const struct queue_cert_filter *f,
    int64_t *n, err_t *err);

/*
 * Calls cb once, with the DER, for the certificate with serial (spelt as
 * a filter takes it) issued by the CA named ca, or by any CA when ca is
 * NULL. ERR_NOTFOUND when there is none; ERR_INVALID naming the CAs when
 * ca is NULL and more than one CA issued that serial.
 */
int queue_cert_find(struct store *st, const char *ca, const char *serial,
    int64_t now, queue_cert_cb cb, void *ctx, err_t *err);

/*
 * Normalises a serial as a filter takes it into lower-case hex without
 * leading zeros (out of at least 41 bytes). ERR_INVALID saying what is
 * wrong: not hex, zero, or longer than 20 octets.
 */
int queue_serial_norm(const char *in, char *out, size_t outsz, err_t *err);

/* --- history ------------------------------------------------------------ */

/*
 * One thing that happened to a certificate. event is one of:
 *   requested             the request bundle arrived (who: the requester)
 *   approved, rejected    an officer's decision on its batch (who)
 *   issued                the certificate was recorded
 *   exported              a written export of its batch
 *   revocation-requested  a revocation request naming it (who)
 *   revocation-approved, revocation-rejected
 *                         an officer's decision on that request (who)
 *   revoked, held         the request was applied (detail: the reason)
 *   released              a removeFromCRL request was applied
 */
struct queue_cert_event {
	int64_t at;
	const char *event;
	const char *who;		/* a person's name, or NULL */
	int64_t object;			/* bundle, batch, export number or
					   revocation id, as event says; 0 */
	const char *detail;		/* one line of what it was */
};

typedef int (*queue_cert_event_cb)(void *ctx,
    const struct queue_cert_event *ev);

/*
 * Calls cb for each event in the history of the certificate queue_cert_find
 * would find, in time order (events of the same second in the order of
 * the list above). Same errors as queue_cert_find; ERR_LIMIT past
 * QUEUE_CERT_EVENTS_MAX events.
 */
int queue_cert_history(struct store *st, const char *ca, const char *serial,
    queue_cert_event_cb cb, void *ctx, err_t *err);

/* --- reports ------------------------------------------------------------ */

/* Certificates of batches, counted by profile and requester (and month). */
struct queue_issuance_row {
	const char *profile;
	const char *operator_name;	/* the requester's name */
	int64_t operator_id;		/* the requester's person id; 0 */
	const char *month;		/* "YYYY-MM" (UTC) when by month; NULL */
	int64_t certificates;
	int64_t batches;
};

typedef int (*queue_issuance_cb)(void *ctx,
    const struct queue_issuance_row *r);

/*
 * Calls cb per (profile, requester) or, by_month set, per (profile,
 * requester, month the certificate was recorded), in that order.
 * Certificates made outside batches (ceremonies) have neither and are not
 * counted.
 */
int queue_report_issuance(struct store *st, int by_month,
    queue_issuance_cb cb, void *ctx, err_t *err);

/* Certificates counted by kind, key algorithm and signature algorithm. */
struct queue_alg_row {
	const char *kind;
	const char *key;		/* pki/certalg.h; "(unreadable)" */
	const char *sig;
	int64_t certificates;
};

typedef int (*queue_alg_cb)(void *ctx, const struct queue_alg_row *r);

/*
 * Walks every certificate's DER (pki/certalg.h, no full parse) and calls
 * cb per distinct (kind, key, signature), sorted by kind, key, signature.
 * A stored certificate the walk cannot read is counted as "(unreadable)"
 * rather than failing the report. Distinct combinations are bounded
 * (ERR_LIMIT past 4096).
 */
int queue_report_algorithms(struct store *st, queue_alg_cb cb, void *ctx,
    err_t *err);

#endif
