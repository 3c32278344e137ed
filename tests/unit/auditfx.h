/*
 * auditfx.h: audit logs built in memory for the audit tests and the
 * audit bench: records sealed with audit/record.h, checkpoints signed
 * with a software key (the appliance signs them in the HSM; only the
 * checking side is under test here). Lines are kept as text, without
 * their LF, so that a test can change, drop, move or copy any of them.
 * Test-only; never linked into Airlock. Header-only, like pkitest.h.
 */
#ifndef AIRLOCK_TESTS_AUDITFX_H
#define AIRLOCK_TESTS_AUDITFX_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/record.h"
#include "util/buf.h"
#include "util/err.h"

/* 2026-01-01T00:00:00Z: the first record's time. */
#define AUDITFX_T0 ((time_t)1767225600)

struct auditfx {
	char **lines;
	size_t n, cap;
	int64_t seq;			/* the next record's */
	char prev[AUDIT_HASH_HEX];	/* the last record's HASH */
	time_t t;
	EVP_PKEY *key;			/* signs checkpoints; not owned */
	char key_sha256[AUDIT_HASH_HEX];
};

/*
 * SHA-256 of key's DER SubjectPublicKeyInfo: stands for the audit
 * certificate's SHA-256 where no certificate is made.
 */
static inline void
auditfx_key_sha256(EVP_PKEY *key, char out[AUDIT_HASH_HEX])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len = i2d_PUBKEY(key, &der);

	out[0] = '\0';
	if (len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL) == 1)
		buf_hex(md, 32, out, AUDIT_HASH_HEX);
	OPENSSL_free(der);
}

/* Signs cp (SHA-256 over its TBS) with key in software. 0 or -1. */
static inline int
auditfx_sign(struct audit_checkpoint *cp, EVP_PKEY *key)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = sizeof(cp->sig);
	buf_t tbs;
	int ok;

	buf_init(&tbs, 1024);
	ok = ctx != NULL && audit_checkpoint_tbs(cp, &tbs, NULL) == 0 &&
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(ctx, cp->sig, &siglen, tbs.data, tbs.len) == 1;
	cp->sig_len = ok ? siglen : 0;
	EVP_MD_CTX_free(ctx);
	buf_free(&tbs);
	return ok ? 0 : -1;
}

static inline void
auditfx_init(struct auditfx *fx, EVP_PKEY *key, int64_t first_seq,
    const char *prev)
{
	memset(fx, 0, sizeof(*fx));
	fx->seq = first_seq;
	fx->t = AUDITFX_T0;
	fx->key = key;
	memcpy(fx->prev, prev != NULL ? prev : audit_genesis, AUDIT_HASH_HEX);
	if (key != NULL)
		auditfx_key_sha256(key, fx->key_sha256);
}

static inline void
auditfx_free(struct auditfx *fx)
{
	size_t i;

	for (i = 0; i < fx->n; i++)
		free(fx->lines[i]);
	free(fx->lines);
	memset(fx, 0, sizeof(*fx));
}

/* Inserts a copy of text (len bytes) as line at; returns 0 or -1. */
static inline int
auditfx_insert(struct auditfx *fx, size_t at, const char *text, size_t len)
{
	char *copy;

	if (fx->n == fx->cap) {
		size_t ncap = fx->cap ? 2 * fx->cap : 64;
		char **nl = realloc(fx->lines, ncap * sizeof(*nl));

		if (nl == NULL)
			return -1;
		fx->lines = nl;
		fx->cap = ncap;
	}
	if ((copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	memmove(fx->lines + at + 1, fx->lines + at,
	    (fx->n - at) * sizeof(*fx->lines));
	fx->lines[at] = copy;
	fx->n++;
	return 0;
}

static inline void
auditfx_delete(struct auditfx *fx, size_t at)
{
	free(fx->lines[at]);
	memmove(fx->lines + at, fx->lines + at + 1,
	    (fx->n - at - 1) * sizeof(*fx->lines));
	fx->n--;
}

/* Replaces line at with text. 0 or -1. */
static inline int
auditfx_set(struct auditfx *fx, size_t at, const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		return -1;
	free(fx->lines[at]);
	fx->lines[at] = copy;
	return 0;
}

/* Seals r (its prev set) and appends its line text (no LF) to out. */
static inline int
auditfx_render(struct audit_record *r, buf_t *out)
{
	size_t start = out->len;

	if (audit_record_seal(r, NULL) != 0 ||
	    audit_record_line(r, out, NULL) != 0)
		return -1;
	if (out->len > start)
		out->len--;	/* the LF */
	return 0;
}

/* Appends one record with the fields given (NULL actor: the appliance). */
static inline int
auditfx_rec(struct auditfx *fx, const char *actor_sha256,
    const char *actor_name, const char *role, const char *action,
    const char *outcome, const char *objects, const char *details)
{
	struct audit_record r;
	buf_t line;
	int rc;

	memset(&r, 0, sizeof(r));
	r.seq = fx->seq;
	r.time = fx->t;
	r.actor_sha256 = actor_sha256 != NULL ? actor_sha256 : "";
	r.actor_name = actor_name != NULL ? actor_name : "appliance";
	r.role = role != NULL ? role : "appliance";
	r.action = action;
	r.outcome = outcome != NULL ? outcome : "ok";
	r.objects = objects != NULL ? objects : "";
	r.details = details != NULL ? details : "";
	memcpy(r.prev, fx->prev, AUDIT_HASH_HEX);
	buf_init(&line, AUDIT_LINE_MAX);
	rc = auditfx_render(&r, &line) == 0 &&
	    auditfx_insert(fx, fx->n, (const char *)line.data, line.len) == 0 ?
	    0 : -1;
	buf_free(&line);
	if (rc == 0) {
		memcpy(fx->prev, r.hash, AUDIT_HASH_HEX);
		/* The last SEQ there is stays: a test of it adds no more. */
		if (fx->seq < INT64_MAX)
			fx->seq++;
		fx->t += 7;
	}
	return rc;
}

/* n records of the usual kinds, with realistic fields. 0 or -1. */
static inline int
auditfx_records(struct auditfx *fx, int n)
{
	static const char officer[] =
	    "3f2a9c01d2e4b5a6978877665544332211000ffeeddccbbaa99887766554433a";
	char objects[200];
	int i;

	for (i = 0; i < n; i++) {
		int64_t s = fx->seq;
		int rc;

		switch (s % 4) {
		case 0:
			snprintf(objects, sizeof(objects), "batch=%lld "
			    "line=%lld serial=7c01%012llx ca=device-ca "
			    "profile=docsis-3.1", (long long)(s / 100 + 1),
			    (long long)(s % 100 + 1), (unsigned long long)s);
			rc = auditfx_rec(fx, NULL, NULL, NULL,
			    "certificate-issued", "ok", objects,
			    "subject CN=00:11:22:33:44:55, key EC P-256");
			break;
		case 1:
			snprintf(objects, sizeof(objects), "batch=%lld "
			    "decision=approve", (long long)(s / 100 + 1));
			rc = auditfx_rec(fx, officer, "Alice Officer",
			    "officer", "approval", "ok", objects,
			    "statement sha256 5d0c1e2f3a4b5c6d7e8f90a1b2c3d4e5");
			break;
		case 2:
			snprintf(objects, sizeof(objects), "bundle=%064llx "
			    "file=req-%lld.p7m", (unsigned long long)s,
			    (long long)s);
			rc = auditfx_rec(fx, NULL, "Bob Operator", "operator",
			    "bundle-rejected", "refused", objects,
			    "line 3: CSR key is RSA-1024,\tthe profile requires "
			    "RSA-2048");
			break;
		default:
			snprintf(objects, sizeof(objects), "ca=device-ca "
			    "crl=%lld", (long long)s);
			rc = auditfx_rec(fx, NULL, NULL, NULL, "crl-issued",
			    "ok", objects, "entries 12; next update in 7 days");
			break;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

/*
 * Appends a checkpoint of record seq with hash, signed by key (whose
 * certificate's SHA-256 key_sha256 names). 0 or -1.
 */
static inline int
auditfx_cp_of(struct auditfx *fx, int64_t seq, const char *hash,
    EVP_PKEY *key, const char *key_sha256)
{
	struct audit_checkpoint cp;
	buf_t line;
	int rc;

	memset(&cp, 0, sizeof(cp));
	cp.seq = seq;
	cp.time = fx->t;
	memcpy(cp.hash, hash, AUDIT_HASH_HEX);
	memcpy(cp.key_sha256, key_sha256, AUDIT_HASH_HEX);
	if (auditfx_sign(&cp, key) != 0)
		return -1;
	buf_init(&line, AUDIT_LINE_MAX);
	rc = audit_checkpoint_line(&cp, &line, NULL) == 0 &&
	    auditfx_insert(fx, fx->n, (const char *)line.data,
	    line.len - 1) == 0 ? 0 : -1;
	buf_free(&line);
	return rc;
}

/* A checkpoint of record seq (the last one), signed by fx->key. */
static inline int
auditfx_cp_at(struct auditfx *fx, int64_t seq)
{
	return auditfx_cp_of(fx, seq, fx->prev, fx->key, fx->key_sha256);
}

/* A checkpoint of the last record, signed by fx->key. 0 or -1. */
static inline int
auditfx_cp(struct auditfx *fx)
{
	return auditfx_cp_at(fx, fx->seq - 1);
}

/*
 * Line at, a record, re-sealed with seq (0: its own), prev (NULL: its
 * own) and, when details is not NULL, new DETAILS; its new HASH into hash
 * (may be NULL). 0 or -1.
 */
static inline int
auditfx_reseal(struct auditfx *fx, size_t at, int64_t seq, const char *prev,
    const char *details, char hash[AUDIT_HASH_HEX])
{
	struct audit_record r;
	struct audit_checkpoint cp;
	enum audit_line_kind kind;
	char *copy = strdup(fx->lines[at]);
	buf_t line;
	int rc = -1;

	buf_init(&line, AUDIT_LINE_MAX);
	if (copy != NULL && audit_line_parse(copy, strlen(copy), &kind, &r,
	    &cp, NULL) == 0 && kind == AUDIT_LINE_RECORD) {
		if (seq != 0)
			r.seq = seq;
		if (prev != NULL)
			memcpy(r.prev, prev, AUDIT_HASH_HEX);
		if (details != NULL)
			r.details = details;
		if (auditfx_render(&r, &line) == 0 &&
		    buf_put_u8(&line, 0) == 0 &&
		    auditfx_set(fx, at, (const char *)line.data) == 0) {
			if (hash != NULL)
				memcpy(hash, r.hash, AUDIT_HASH_HEX);
			rc = 0;
		}
	}
	buf_free(&line);
	free(copy);
	return rc;
}

/*
 * Re-seals every record from line `from` on so that each PREV is the
 * HASH of the record line before it: what a forger who can recompute
 * SHA-256 but not sign would do. Checkpoint lines are left alone.
 */
static inline int
auditfx_rechain(struct auditfx *fx, size_t from)
{
	char prev[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX];
	size_t i;
	int have = 0;

	for (i = 0; i < fx->n; i++) {
		const char *l = fx->lines[i];

		if (l[0] != 'R')
			continue;
		if (i >= from && have) {
			if (auditfx_reseal(fx, i, 0, prev, NULL, hash) != 0)
				return -1;
		} else {
			/* HASH is the last 64 characters of a record line. */
			memcpy(hash, l + strlen(l) - 64, 64);
			hash[64] = '\0';
		}
		memcpy(prev, hash, AUDIT_HASH_HEX);
		have = 1;
	}
	return 0;
}

/* Index of the line of record seq, or fx->n. */
static inline size_t
auditfx_find(const struct auditfx *fx, int64_t seq)
{
	char want[32];
	size_t i, n = (size_t)snprintf(want, sizeof(want), "R\t%lld\t",
	    (long long)seq);

	for (i = 0; i < fx->n; i++)
		if (strncmp(fx->lines[i], want, n) == 0)
			return i;
	return fx->n;
}

/* The whole log as text, each line with its LF, into out. 0 or -1. */
static inline int
auditfx_text(const struct auditfx *fx, buf_t *out)
{
	size_t i;

	for (i = 0; i < fx->n; i++) {
		buf_put(out, fx->lines[i], strlen(fx->lines[i]));
		buf_put_u8(out, '\n');
	}
	return buf_ok(out) ? 0 : -1;
}

/* Writes the log to path. 0 or -1. */
static inline int
auditfx_write(const struct auditfx *fx, const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i;
	int ok;

	if (f == NULL)
		return -1;
	ok = 1;
	for (i = 0; i < fx->n && ok; i++)
		ok = fputs(fx->lines[i], f) >= 0 && fputc('\n', f) != EOF;
	return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
