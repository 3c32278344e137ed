/*
 * record.h: one audit record and one checkpoint as they appear in the
 * audit log's text form (docs/formats/audit.md).
 *
 * The text form is what gets hashed and signed, so there is exactly one
 * encoder (this module) for the appliance that writes records and for the
 * tools that check them. A record is one line of 12 TAB-separated fields:
 *
 *   R  SEQ  TIME  ACTOR-SHA256  ACTOR-NAME  ROLE  ACTION  OUTCOME
 *      OBJECTS  DETAILS  PREV  HASH
 *
 * HASH is the SHA-256 (64 lower-case hex) of fields 1 to 11 joined by TAB
 * and followed by one LF, i.e. of what `cut -f1-11` prints for the line;
 * PREV is the HASH of record SEQ-1 (64 zeros for record 1). A checkpoint
 * is one line of 6 fields:
 *
 *   C  SEQ  HASH  TIME  KEY-SHA256  SIGNATURE
 *
 * SIGNATURE (standard base64, no line breaks) is the audit key's
 * signature with SHA-256 (RSA PKCS#1 v1.5, or ECDSA as a DER
 * Ecdsa-Sig-Value) over fields 1 to 5 joined by TAB and followed by one
 * LF, i.e. over what `cut -f1-5` prints; KEY-SHA256 is the SHA-256 of the
 * audit certificate's DER. Every line ends with LF; nothing else may
 * appear in the file.
 *
 * Text fields (ACTOR-NAME, OBJECTS, DETAILS) are escaped so that a line
 * never holds a TAB, LF or any other control byte: "\\" for a backslash,
 * "\t", "\n", "\r", and "\xHH" (lower-case hex) for any other byte below
 * 0x20, for 0x7f, and for every byte of an invalid UTF-8 sequence; valid
 * UTF-8 above 0x7f is kept. Encoding is deterministic: a given record has
 * one text form.
 */
#ifndef AIRLOCK_AUDIT_RECORD_H
#define AIRLOCK_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Longest line the writer produces and the reader accepts, LF included.
 * Every record within the field limits below fits: at worst each byte of
 * a text field is escaped to four ("\xHH"), and 4 * (256 + 1024 + 4096)
 * plus the fixed fields and separators is 21,871 bytes.
 */
#define AUDIT_LINE_MAX 32768
/* Longest text field, in bytes before escaping. */
#define AUDIT_NAME_MAX 256
#define AUDIT_OBJECTS_MAX 1024
#define AUDIT_DETAILS_MAX 4096
/* Room for a name encoded as an OBJECTS value (audit_objects_value). */
#define AUDIT_VALUE_MAX (3 * AUDIT_NAME_MAX + 1)
/* Longest ACTION, ROLE; both are [a-z0-9-]+. */
#define AUDIT_WORD_MAX 48
/* SHA-256 as lower-case hex, and its NUL. */
#define AUDIT_HASH_HEX 65
/* Largest signature in bytes (RSA-8192 is 1,024; its base64 1,368). */
#define AUDIT_SIG_MAX 1024

/* Roles of ROLE: who acted. */
#define AUDIT_ROLE_APPLIANCE "appliance"	/* the daemon on its own */
#define AUDIT_ROLE_CONSOLE "console"		/* a console user, no cert */
#define AUDIT_ROLE_CEREMONY "ceremony"		/* a ceremony's step */

/*
 * One record. Strings are NUL-terminated, unescaped; empty strings for
 * none (actor_sha256 "" stands for "-": no certificate). In a record the
 * reader returns, every pointer points into the reader's line buffer and
 * lives until the next read.
 */
struct audit_record {
	int64_t seq;			/* 1, 2, 3, ... */
	time_t time;			/* UTC, whole seconds */
	const char *actor_sha256;	/* 64 lower-case hex, or "" */
	const char *actor_name;		/* "appliance", a person's name, ... */
	const char *role;		/* officer, operator, auditor, appliance,
					 * console, ceremony, unknown */
	const char *action;		/* bundle-accepted, approval, ... */
	const char *outcome;		/* ok, refused, failed */
	const char *objects;		/* "batch=12 serial=0a1b", or "" */
	const char *details;		/* free text, or "" */
	char prev[AUDIT_HASH_HEX];
	char hash[AUDIT_HASH_HEX];
};

/* One checkpoint (see above). */
struct audit_checkpoint {
	int64_t seq;
	char hash[AUDIT_HASH_HEX];
	time_t time;
	char key_sha256[AUDIT_HASH_HEX];
	unsigned char sig[AUDIT_SIG_MAX];
	size_t sig_len;
};

/* "0000...0000": PREV of record 1. */
extern const char audit_genesis[AUDIT_HASH_HEX];

/*
 * Checks r's fields (seq >= 1, lengths, words, outcome, hex) and fills
 * r->hash from the other fields; r->prev must be set. 0 or ERR_INVALID
 * naming the field.
 */
int audit_record_seal(struct audit_record *r, err_t *err);

/* Appends r's line (LF included) to out; r must be sealed. 0 or ERR_*. */
int audit_record_line(const struct audit_record *r, buf_t *out, err_t *err);

/*
 * Appends to out the bytes a checkpoint's signature covers (fields 1 to 5
 * and LF) for cp. 0 or ERR_*.
 */
int audit_checkpoint_tbs(const struct audit_checkpoint *cp, buf_t *out,
    err_t *err);

/* Appends cp's whole line (LF included). 0 or ERR_*. */
int audit_checkpoint_line(const struct audit_checkpoint *cp, buf_t *out,
    err_t *err);

/*
 * Escapes len bytes of s as a text field (rules above) onto out; 0, or
 * ERR_LIMIT when out's cap is reached, ERR_NOMEM.
 */
int audit_escape(const void *s, size_t len, buf_t *out);

/* Which kind a parsed line was. */
enum audit_line_kind {
	AUDIT_LINE_RECORD = 1,
	AUDIT_LINE_CHECKPOINT
};

/*
 * Parses one line (len bytes, the LF excluded; line is modified: fields
 * are unescaped in place, nothing at or past line[len] is touched)
 * strictly: field count, decimal SEQ without leading zeros, TIME as
 * YYYY-MM-DDTHH:MM:SSZ, lower-case hex, words, outcome, lengths, escapes
 * (only the form audit_escape writes is accepted, so that a record has
 * one text form; "\x00" is refused, as a record's strings cannot hold a
 * NUL), base64 (canonical, with its padding). Fills *rec or *cp according
 * to *kind. Does not check HASH against the fields (audit_line_hash
 * does) nor any signature. ERR_INVALID naming the field and what is wrong
 * with it.
 */
int audit_line_parse(char *line, size_t len, enum audit_line_kind *kind,
    struct audit_record *rec, struct audit_checkpoint *cp, err_t *err);

/*
 * Recomputes the SHA-256 of a line's fields 1 to 11 from its raw text
 * (len bytes, LF excluded, before parsing) into out. ERR_INVALID when the
 * line has fewer than 12 fields.
 */
int audit_line_hash(const char *line, size_t len, char out[AUDIT_HASH_HEX],
    err_t *err);

/*
 * Appends "key=value" to an OBJECTS value in out, after a space when out
 * is not empty. key is [a-z0-9-]+; in value, "%" is written "%25" and a
 * space "%20" so that tokens stay split on spaces. 0 or ERR_*.
 */
int audit_objects_add(buf_t *out, const char *key, const char *value);

/*
 * Writes value as OBJECTS spells it ("%" as "%25", space as "%20") into
 * out, cut short (never inside an escape) when out is too small; returns
 * out, for use in a printf argument list.
 */
const char *audit_objects_value(const char *value, char *out, size_t outsz);

/*
 * Looks up key in an OBJECTS value ("batch=12 serial=0a1b"): copies the
 * first value of key into out (NUL-terminated, "%25" and "%20" decoded)
 * and returns 1, 0 when absent, ERR_INVALID when it does not fit or a
 * token before it is not key=value with only those two %-escapes.
 */
int audit_objects_get(const char *objects, const char *key, char *out,
    size_t outsz);

/*
 * Walks an OBJECTS value token by token: *pos starts at the value and is
 * advanced. Copies the next token's key and decoded value (NUL-terminated)
 * into key and val and returns 1; 0 at the end; ERR_INVALID (and *pos at
 * the end) for a token that is not key=value, has another %-escape than
 * "%25" and "%20", or does not fit.
 */
int audit_objects_next(const char **pos, char *key, size_t keysz, char *val,
    size_t valsz);

#endif
