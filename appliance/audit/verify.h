/*
 * verify.h: checking an audit log (docs/formats/audit.md): the chain of
 * records and the checkpoints that sign it.
 *
 * One core serves the auditor's `airlock audit verify`, which reads a
 * file on a workstation without the HSM, and the daemon, which feeds the
 * lines it rebuilds from its store at start-up. Lines go in one at a time
 * and memory holds 32 bytes per record (the hashes a later checkpoint may
 * name) plus a little per checkpoint that comes before its record, so a
 * log of any length up to AUDIT_VERIFY_MAX_RECORDS is checked in one pass.
 *
 * Every problem goes into a diag_t with the line number and, as its field,
 * "record SEQ" (the record a line is or a checkpoint names), and says what
 * is wrong: a record changed (HASH does not match its fields), a broken
 * link (PREV is not the previous record's HASH: a record deleted, inserted
 * or moved), records missing from the sequence, a number repeated or out
 * of order, a checkpoint that names a record with another HASH, that does
 * not verify, was made by another key, comes before its record or names a
 * record past the end of the log (truncation), a log without a checkpoint,
 * a line that does not parse.
 */
#ifndef AIRLOCK_AUDIT_VERIFY_H
#define AIRLOCK_AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "audit/record.h"
#include "util/buf.h"
#include "util/err.h"

/* Most records one verifier keeps hashes of (3.2 GB of them). */
#define AUDIT_VERIFY_MAX_RECORDS 100000000LL
/* Most checkpoints waiting for a record that has not appeared yet. */
#define AUDIT_VERIFY_MAX_PENDING 4096

struct audit_verifier;

/* What a verified log holds. */
struct audit_verify_result {
	int ok;			/* 1: no problem at all */
	unsigned long problems;	/* how many were recorded */
	int64_t first_seq;	/* 0 when the log holds no record */
	int64_t last_seq;	/* the highest record seen in sequence */
	unsigned long records;	/* record lines, good or bad */
	unsigned long checkpoints;	/* checkpoint lines, good or bad */
	unsigned long checkpoints_ok;	/* that verified and match */
	int64_t last_checkpoint_seq;	/* highest seq a good checkpoint
					 * signs; 0 when none */
	int64_t unsigned_tail;	/* records after last_checkpoint_seq: a
				 * truncation there goes unseen (warning) */
	char first_prev[AUDIT_HASH_HEX];	/* PREV of the first record */
	char head_hash[AUDIT_HASH_HEX];	/* HASH of record last_seq */
	/*
	 * 1 when the first record's PREV could be checked: the log starts at
	 * record 1 (PREV is the genesis), a checkpoint of the record before
	 * matches it, or --follows showed the earlier log ends with it. 0 for
	 * an export segment checked alone: a note, not a problem.
	 */
	int first_prev_checked;
	int signatures_checked;	/* 0: verifier made without a key */
	/* audit_verify_file with an earlier log: */
	int follows_checked;	/* 1: this log extends the earlier one */
	int64_t follows_last_seq;	/* the earlier log's last record */
};

/*
 * A verifier. pub is the audit certificate's public key (RSA or EC); NULL
 * checks everything but signatures (the daemon's self-check only; the
 * result says so). key_sha256 is the SHA-256 of the audit certificate's
 * DER, which every checkpoint must name; NULL accepts any (only with
 * pub NULL). 0, or ERR_INVALID / ERR_NOMEM.
 */
int audit_verify_new(EVP_PKEY *pub, const char *key_sha256,
    struct audit_verifier **out, err_t *err);

/* Names the file in every problem recorded from now on (NULL: none). */
int audit_verify_set_name(struct audit_verifier *v, const char *name);

/*
 * Checks one line (len bytes, the LF excluded; not modified), the
 * lineno-th of the log, and adds every problem to problems. 0 while
 * checking can go on, even when problems were found; ERR_INVALID when a
 * limit (AUDIT_VERIFY_MAX_RECORDS, AUDIT_VERIFY_MAX_PENDING) makes going
 * on meaningless (the problem says which); ERR_NOMEM.
 */
int audit_verify_line(struct audit_verifier *v, const char *line,
    size_t len, unsigned long lineno, diag_t *problems);

/*
 * Records a problem about line lineno that the caller found (a line too
 * long to pass, a last line without LF), so that the result counts it.
 */
int audit_verify_problem(struct audit_verifier *v, unsigned long lineno,
    const char *what, diag_t *problems);

/*
 * Ends the log: checks what only the end shows (checkpoints past the
 * last record, no checkpoint at all) and fills *res. 0 or ERR_NOMEM.
 */
int audit_verify_end(struct audit_verifier *v, struct audit_verify_result *res,
    diag_t *problems);

void audit_verify_free(struct audit_verifier *v);

/*
 * Reads the log at path (a regular file, not followed if a link) line by
 * line and verifies it. A line longer than AUDIT_LINE_MAX and a last line
 * without LF ("truncated mid-line") are problems. With follows_path, the
 * earlier log there is verified too (its problems are named with its
 * path) and this log must extend it: hold the same records where both
 * have them and go on from its last record; where they part is named.
 * 0 when the log could be read to the end, whatever it holds (res->ok
 * says whether it verified); ERR_IO / ERR_NOTFOUND / ERR_NOMEM /
 * ERR_INVALID (a limit) in err otherwise.
 */
int audit_verify_file(const char *path, EVP_PKEY *pub,
    const char *key_sha256, const char *follows_path,
    struct audit_verify_result *res, diag_t *problems, err_t *err);

/* The same, with the log named shown in what it says (a copy fetched
 * from the appliance is named for what it is, not its temporary path). */
int audit_verify_file_as(const char *path, const char *shown, EVP_PKEY *pub,
    const char *key_sha256, const char *follows_path,
    struct audit_verify_result *res, diag_t *problems, err_t *err);

/*
 * Appends the summary of res for the log called name: what it holds, the
 * warnings (an unsigned tail, a first PREV that could not be checked,
 * signatures not checked), one sentence per line. 0 or ERR_LIMIT.
 */
int audit_verify_summary(const struct audit_verify_result *res,
    const char *name, buf_t *out);

/*
 * Reads a log file's lines with bounded memory (for verify, show and the
 * reports).
 */
struct audit_reader;

/* Opens path (regular file, no link followed). 0 or ERR_IO/ERR_NOTFOUND. */
int audit_reader_open(const char *path, struct audit_reader **out,
    err_t *err);

/*
 * Next line without its LF: 1 with *line (valid until the next call),
 * *len and *lineno; 0 at the end. ERR_LIMIT for a line longer than
 * AUDIT_LINE_MAX (skipped: the next call goes on after it) and
 * ERR_INVALID for a last line without LF (the end follows), both with
 * *lineno set and the reason in err; ERR_IO.
 */
int audit_reader_next(struct audit_reader *r, const char **line, size_t *len,
    unsigned long *lineno, err_t *err);

void audit_reader_close(struct audit_reader *r);

#endif
