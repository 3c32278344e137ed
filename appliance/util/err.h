/*
 * err.h: how library code reports failure.
 *
 * Library functions never exit and never print. A function that can fail
 * returns 0 on success or a negative ERR_* code, and fills an err_t with a
 * sentence a ceremony officer, operator or auditor can act on: what went
 * wrong and where (file, line, field). Only main() and process roles decide
 * to stop.
 *
 * A diag_t collects many such messages when the user is better served by
 * the whole list at once (a strictly parsed YAML file, a CSV import).
 */
#ifndef AIRLOCK_UTIL_ERR_H
#define AIRLOCK_UTIL_ERR_H

#include <stddef.h>
#include <stdio.h>

enum {
	ERR_OK = 0,
	ERR_INVALID = -1,	/* input does not have the required form */
	ERR_IO = -2,		/* an operating-system call failed */
	ERR_NOMEM = -3,
	ERR_CRYPTO = -4,	/* OpenSSL refused or failed */
	ERR_HSM = -5,		/* the PKCS#11 module or its helper failed */
	ERR_EXISTS = -6,	/* something that must not exist already does */
	ERR_NOTFOUND = -7,
	ERR_PERM = -8,		/* permissions or ownership are unsafe or wrong */
	ERR_LIMIT = -9,		/* a size, count or depth limit was exceeded */
	ERR_PROTO = -10,	/* a peer broke the message protocol */
	ERR_AUTH = -11,		/* wrong PIN or passphrase, or login refused */
	ERR_POLICY = -12,	/* well-formed but refused by a rule (lint, policy) */
	ERR_INTERNAL = -13,	/* a bug: an invariant did not hold */
	ERR_AGAIN = -14		/* stopped or not possible now: retry later */
};

#define ERR_MSG_MAX 1024

typedef struct err {
	int code;
	char msg[ERR_MSG_MAX];
} err_t;

/* Resets e to "no error". */
void err_clear(err_t *e);

/* Records code and a formatted message in e (e may be NULL); returns code. */
int err_set(err_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Prefixes the message already in e with a formatted context, so that a
 * low-level "unexpected end of data" becomes "root.yaml: subject: ...".
 * Returns e->code.
 */
int err_prefix(err_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like err_set, appending OpenSSL's queued error reasons and clearing them. */
int err_set_ossl(err_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short name of a code ("invalid", "io", ...) for logs and tests. */
const char *err_code_name(int code);

/* A list of located messages, bounded so hostile input cannot grow it. */
#define DIAG_MAX_ITEMS 1000

struct diag_item {
	char *file;	/* may be NULL */
	unsigned long line;	/* 1-based; 0 when not applicable */
	char *field;	/* may be NULL */
	char *msg;
};

typedef struct diag {
	struct diag_item *items;
	size_t n, cap;
	size_t dropped;	/* messages past DIAG_MAX_ITEMS, counted not kept */
} diag_t;

void diag_init(diag_t *d);
void diag_free(diag_t *d);

/* Appends one message; returns 0, or ERR_NOMEM. Past the cap, counts it. */
int diag_add(diag_t *d, const char *file, unsigned long line,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Number of messages recorded, including dropped ones. */
size_t diag_count(const diag_t *d);

/*
 * Formats message i as "FILE:LINE: FIELD: MSG" (parts omitted when absent)
 * into out; returns the would-be length like snprintf.
 */
int diag_format(const diag_t *d, size_t i, char *out, size_t outsz);

/*
 * Writes every message of d to f, one per line after prefix, then "(and N
 * more)" when some were dropped. For commands' main functions: library
 * code reports through diag_t and never prints.
 */
void diag_print(const diag_t *d, FILE *f, const char *prefix);

/*
 * Moves the first message (and "and N more") into e with the given code so
 * that callers that return a single err_t can pass a diag on. Returns code.
 */
int diag_to_err(const diag_t *d, err_t *e, int code);

#endif
