/*
 * statement.h: the canonical text an officer signs to approve or reject
 * (docs/formats/approval.md, section 1), written and read strictly.
 *
 * Statements arrive from outside (the console, the medium), so the parser
 * treats them as hostile: bounded, strict, canonical only: one byte string
 * per statement, so that two officers cannot sign "the same" decision in
 * two spellings and nothing outside the defined keys rides along under a
 * signature. Pure and thread-safe; a fuzz target can call the parser on
 * any bytes.
 */
#ifndef AIRLOCK_APPROVAL_STATEMENT_H
#define AIRLOCK_APPROVAL_STATEMENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

/* Largest statement accepted, in bytes (a full one is under 2.5 KiB). */
#define APPROVAL_STATEMENT_MAX 4096
/* A rejection's reason: 1 to this many characters (code points). */
#define APPROVAL_REASON_MAX 512
/* Bytes that many characters of UTF-8 can take, plus the NUL. */
#define APPROVAL_REASON_BYTES (4 * APPROVAL_REASON_MAX + 1)

/* What is being decided; each has its own object numbering. */
enum approval_kind {
	APPROVAL_KIND_BATCH,		/* "batch": a request bundle's batch */
	APPROVAL_KIND_REVOCATION,	/* "revocation": a revocation request */
	APPROVAL_KIND_CRL,		/* "crl": a CRL issuance */
	APPROVAL_KIND_EXPORT,		/* "export": a (re-)export to a medium */
	APPROVAL_KIND_LOCKOUT_CLEAR,	/* "lockout-clear": unlock a credential */
	APPROVAL_KIND_SHARE,		/* "activation-share": a PIN share */
	APPROVAL_KIND_COUNT
};

enum approval_decision {
	APPROVAL_APPROVE,		/* "approve" */
	APPROVAL_REJECT			/* "reject" */
};

/* The statement's fields; see docs/formats/approval.md for each rule. */
struct approval_statement {
	enum approval_kind kind;
	/* The object's record number: 1 .. INT64_MAX. */
	int64_t object;
	/* 64 lower-case hex digits: the SHA-256 of what is decided. */
	char digest[65];
	enum approval_decision decision;
	/* UTF-8, one line; empty for approve, 1..512 characters for reject. */
	char reason[APPROVAL_REASON_BYTES];
	/* 64 lower-case hex digits: SHA-256 of the officer certificate DER. */
	char officer[65];
	/* When the officer signed, as the officer's clock says. */
	time_t time;
};

/* The statement's spelling of kind ("lockout-clear"); NULL if out of range. */
const char *approval_kind_name(enum approval_kind kind);

/* Parses a kind's name; 0 or ERR_INVALID. */
int approval_kind_parse(const char *name, enum approval_kind *out);

/* "approve" or "reject"; NULL if out of range. */
const char *approval_decision_name(enum approval_decision d);

/*
 * Appends the canonical text of s to out. Every field is checked first,
 * by the parser's rules, so what this writes always parses back to s.
 * Returns 0, ERR_INVALID (a field breaks a rule, named in err), or
 * ERR_LIMIT / ERR_NOMEM when out cannot hold it.
 */
int approval_statement_format(const struct approval_statement *s,
    buf_t *out, err_t *err);

/*
 * Parses len bytes of untrusted text labelled `label` (the file or source
 * named in messages) into *out. Accepts only the canonical form: exactly
 * the eight keys in order, each once, "key: value" with one space, LF line
 * ends including after the last line, no CR, NUL, control or invisible
 * character, no trailing white space, every value by its rule; and the
 * bytes must equal approval_statement_format(*out). Returns 0, ERR_LIMIT
 * (longer than APPROVAL_STATEMENT_MAX or an overlong reason) or
 * ERR_INVALID, with one message naming the line and key.
 */
int approval_statement_parse(const char *label, const void *data, size_t len,
    struct approval_statement *out, err_t *err);

#endif
