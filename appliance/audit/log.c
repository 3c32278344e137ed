/* log.c: the audit log in the store (see log.h). */
#include "audit/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "store/stmt.h"
#include "util/text.h"

static int
audit_log_sqlerr(struct store *st, const char *what, err_t *err)
{
	return store_sqlerr(st, store_errcode(st), what, err);
}

int
audit_log_head(struct store *st, int64_t *seq, char hash[AUDIT_HASH_HEX],
    err_t *err)
{
	sqlite3_stmt *s;
	const unsigned char *h;
	int r, rc;

	if ((r = store_cached(st, STORE_CACHED_AUDIT_HEAD, "SELECT seq, hash "
	    "FROM audit_record ORDER BY seq DESC LIMIT 1", &s, err)) != 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		*seq = 0;
		memcpy(hash, audit_genesis, AUDIT_HASH_HEX);
		sqlite3_reset(s);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		r = audit_log_sqlerr(st, "read the audit log's head", err);
		sqlite3_reset(s);
		return r;
	}
	*seq = sqlite3_column_int64(s, 0);
	h = sqlite3_column_text(s, 1);
	if (h == NULL || strlen((const char *)h) != AUDIT_HASH_HEX - 1) {
		sqlite3_reset(s);
		return err_set(err, ERR_INVALID, "%s: audit record %lld has no "
		    "valid hash", store_path(st), (long long)*seq);
	}
	memcpy(hash, h, AUDIT_HASH_HEX);
	sqlite3_reset(s);
	return 0;
}

int
audit_log_hash_at(struct store *st, int64_t seq, char hash[AUDIT_HASH_HEX],
    err_t *err)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *h;
	int rc = SQLITE_OK, r;

	if ((r = store_prepare(st, "SELECT hash FROM audit_record WHERE "
	    "seq = ?", &s, err)) != 0)
		return r;
	store_bind_int(s, 1, seq, &rc);
	if (rc != SQLITE_OK)
		r = err_set(err, ERR_INTERNAL, "bind a record number");
	else if ((rc = sqlite3_step(s)) == SQLITE_DONE)
		r = err_set(err, ERR_NOTFOUND, "no audit record %lld",
		    (long long)seq);
	else if (rc != SQLITE_ROW)
		r = audit_log_sqlerr(st, "read an audit record", err);
	else if ((h = sqlite3_column_text(s, 0)) == NULL ||
	    strlen((const char *)h) != AUDIT_HASH_HEX - 1)
		r = err_set(err, ERR_INVALID, "%s: audit record %lld has no "
		    "valid hash", store_path(st), (long long)seq);
	else
		memcpy(hash, h, AUDIT_HASH_HEX);
	sqlite3_finalize(s);
	return r;
}

/* Copies at most max bytes of s, never cutting a UTF-8 sequence. */
static char *
audit_log_cut(const char *s, size_t max, char *buf, size_t bufsz)
{
	size_t n = strlen(s);

	if (n <= max)
		return (char *)s;
	while (n > max || (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80))
		n--;
	snprintf(buf, bufsz, "%.*s", (int)n, s);
	return buf;
}

static int
audit_log_insert(struct store *st, const struct audit_record *r,
    err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, ret;

	if ((ret = store_cached(st, STORE_CACHED_AUDIT_ADD, "INSERT INTO "
	    "audit_record (seq, time, actor_sha256, actor_name, role, action, "
	    "outcome, objects, details, prev, hash) VALUES (?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?)", &s, err)) != 0)
		return ret;
	store_bind_int(s, 1, r->seq, &rc);
	store_bind_int(s, 2, (int64_t)r->time, &rc);
	store_bind_text(s, 3, r->actor_sha256, &rc);
	store_bind_text(s, 4, r->actor_name, &rc);
	store_bind_text(s, 5, r->role, &rc);
	store_bind_text(s, 6, r->action, &rc);
	store_bind_text(s, 7, r->outcome, &rc);
	store_bind_text(s, 8, r->objects, &rc);
	store_bind_text(s, 9, r->details, &rc);
	store_bind_text(s, 10, r->prev, &rc);
	store_bind_text(s, 11, r->hash, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_reset(s);
		return err_set(err, ERR_INTERNAL, "bind an audit record");
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		ret = audit_log_sqlerr(st, "append an audit record", err);
		sqlite3_reset(s);
		return ret;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return 0;
}

int
audit_log_append(struct store *st, const struct audit_entry *e, time_t now,
    int64_t *seq_out, err_t *err)
{
	struct audit_record r;
	char details[AUDIT_DETAILS_MAX + 1];
	int own = !store_in_transaction(st), ret;

	if (e == NULL || e->action == NULL || e->outcome == NULL)
		return err_set(err, ERR_INVALID, "an audit record needs an "
		    "action and an outcome");
	memset(&r, 0, sizeof(r));
	r.time = now;
	r.actor_sha256 = e->actor_sha256 != NULL ? e->actor_sha256 : "";
	r.actor_name = e->actor_name != NULL ? e->actor_name : "appliance";
	r.role = e->role != NULL ? e->role : AUDIT_ROLE_APPLIANCE;
	r.action = e->action;
	r.outcome = e->outcome;
	r.objects = e->objects != NULL ? e->objects : "";
	/* Details are prose: cut rather than lose the record. */
	r.details = audit_log_cut(e->details != NULL ? e->details : "",
	    AUDIT_DETAILS_MAX, details, sizeof(details));
	if (own && (ret = store_begin(st, err)) != 0)
		return ret;
	if ((ret = audit_log_head(st, &r.seq, r.prev, err)) != 0)
		goto fail;
	r.seq++;
	if ((ret = audit_record_seal(&r, err)) != 0 ||
	    (ret = audit_log_insert(st, &r, err)) != 0)
		goto fail;
	if (own && store_commit(st, err) != 0)
		return err_prefix(err, "audit record %lld", (long long)r.seq);
	if (seq_out != NULL)
		*seq_out = r.seq;
	return 0;
fail:
	if (own)
		store_rollback(st);
	return err_prefix(err, "audit record '%s'", e->action);
}

int
audit_checkpoint_sign(struct audit_checkpoint *cp, EVP_PKEY *key,
    err_t *err)
{
	EVP_MD_CTX *md = NULL;
	buf_t tbs;
	size_t len = sizeof(cp->sig);
	int ret = 0;

	buf_init(&tbs, AUDIT_LINE_MAX);
	if ((ret = audit_checkpoint_tbs(cp, &tbs, err)) != 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, cp->sig, &len, tbs.data, tbs.len) != 1) {
		ret = err_set_ossl(err, ERR_CRYPTO, "sign the audit checkpoint "
		    "for record %lld", (long long)cp->seq);
		goto out;
	}
	cp->sig_len = len;
out:
	EVP_MD_CTX_free(md);
	buf_free(&tbs);
	return ret;
}

int
audit_log_checkpoint_add(struct store *st, const struct audit_checkpoint *cp,
    const char *reason, err_t *err)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, r;

	if ((r = store_prepare(st, "INSERT INTO audit_checkpoint (seq, hash, "
	    "time, key_sha256, signature, reason) VALUES (?, ?, ?, ?, ?, ?)",
	    &s, err)) != 0)
		return r;
	store_bind_int(s, 1, cp->seq, &rc);
	store_bind_text(s, 2, cp->hash, &rc);
	store_bind_int(s, 3, (int64_t)cp->time, &rc);
	store_bind_text(s, 4, cp->key_sha256, &rc);
	store_bind_blob(s, 5, cp->sig, cp->sig_len, &rc);
	store_bind_text(s, 6, reason, &rc);
	return store_insert(st, s, rc, "audit checkpoint", NULL, err);
}

/* Fills cp from a row (seq, hash, time, key_sha256, signature). */
static int
audit_log_cp_row(struct store *st, sqlite3_stmt *s, struct audit_checkpoint *cp,
    err_t *err)
{
	const unsigned char *h = sqlite3_column_text(s, 1);
	const unsigned char *k = sqlite3_column_text(s, 3);
	const void *sig = sqlite3_column_blob(s, 4);
	size_t n = (size_t)sqlite3_column_bytes(s, 4);

	memset(cp, 0, sizeof(*cp));
	cp->seq = sqlite3_column_int64(s, 0);
	cp->time = (time_t)sqlite3_column_int64(s, 2);
	if (h == NULL || k == NULL || sig == NULL || n == 0 ||
	    n > sizeof(cp->sig) || strlen((const char *)h) !=
	    AUDIT_HASH_HEX - 1 || strlen((const char *)k) != AUDIT_HASH_HEX - 1)
		return err_set(err, ERR_INVALID, "%s: the audit checkpoint for "
		    "record %lld is malformed", store_path(st),
		    (long long)cp->seq);
	memcpy(cp->hash, h, AUDIT_HASH_HEX);
	memcpy(cp->key_sha256, k, AUDIT_HASH_HEX);
	memcpy(cp->sig, sig, n);
	cp->sig_len = n;
	return 0;
}

int
audit_log_last_checkpoint(struct store *st, struct audit_checkpoint *cp,
    err_t *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	if ((r = store_prepare(st, "SELECT seq, hash, time, key_sha256, "
	    "signature FROM audit_checkpoint ORDER BY id DESC LIMIT 1", &s,
	    err)) != 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = audit_log_cp_row(st, s, cp, err);
	else if (rc == SQLITE_DONE)
		r = err_set(err, ERR_NOTFOUND, "no audit checkpoint yet");
	else
		r = audit_log_sqlerr(st, "read the last audit checkpoint", err);
	sqlite3_finalize(s);
	return r;
}

/* Fills r from a record row; its strings point into the row. */
static int
audit_log_rec_row(struct store *st, sqlite3_stmt *s, struct audit_record *r,
    err_t *err)
{
	const char *col[8];
	int i;

	memset(r, 0, sizeof(*r));
	r->seq = sqlite3_column_int64(s, 0);
	r->time = (time_t)sqlite3_column_int64(s, 1);
	for (i = 0; i < 8; i++)
		col[i] = (const char *)sqlite3_column_text(s, 2 + i);
	if (col[0] == NULL || col[1] == NULL || col[2] == NULL ||
	    col[3] == NULL || col[4] == NULL || col[5] == NULL ||
	    col[6] == NULL || col[7] == NULL ||
	    strlen(col[7]) != AUDIT_HASH_HEX - 1)
		return err_set(err, ERR_INVALID, "%s: audit record %lld is "
		    "malformed", store_path(st), (long long)r->seq);
	r->actor_sha256 = col[0];
	r->actor_name = col[1];
	r->role = col[2];
	r->action = col[3];
	r->outcome = col[4];
	r->objects = col[5];
	r->details = col[6];
	memcpy(r->prev, col[7], AUDIT_HASH_HEX);
	return 0;
}

/* The next checkpoint row into cp, or cp->seq = 0 at the end. */
static int
audit_log_cp_next(struct store *st, sqlite3_stmt *s,
    struct audit_checkpoint *cp, err_t *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE) {
		cp->seq = 0;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return audit_log_sqlerr(st, "read audit checkpoints", err);
	return audit_log_cp_row(st, s, cp, err);
}

static int
audit_log_walk(struct store *st, int64_t from, int64_t to, audit_text_fn fn,
    void *ctx, err_t *err)
{
	sqlite3_stmt *rs = NULL, *cs = NULL;
	struct audit_record r;
	struct audit_checkpoint cp;
	buf_t line;
	char stored[AUDIT_HASH_HEX];
	int rc = SQLITE_OK, ret;

	buf_init(&line, AUDIT_LINE_MAX);
	if ((ret = store_prepare(st, "SELECT seq, time, actor_sha256, "
	    "actor_name, role, action, outcome, objects, details, prev, hash "
	    "FROM audit_record WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq", &rs,
	    err)) != 0 ||
	    (ret = store_prepare(st, "SELECT seq, hash, time, key_sha256, "
	    "signature FROM audit_checkpoint WHERE seq BETWEEN ?1 AND ?2 "
	    "ORDER BY seq, id", &cs, err)) != 0)
		goto out;
	store_bind_int(rs, 1, from, &rc);
	store_bind_int(rs, 2, to, &rc);
	store_bind_int(cs, 1, from, &rc);
	store_bind_int(cs, 2, to, &rc);
	if (rc != SQLITE_OK) {
		ret = err_set(err, ERR_INTERNAL, "bind the audit log's range");
		goto out;
	}
	if ((ret = audit_log_cp_next(st, cs, &cp, err)) != 0)
		goto out;
	while ((rc = sqlite3_step(rs)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(rs, 10);

		if ((ret = audit_log_rec_row(st, rs, &r, err)) != 0)
			goto out;
		snprintf(stored, sizeof(stored), "%s", h != NULL ?
		    (const char *)h : "");
		if ((ret = audit_record_seal(&r, err)) != 0) {
			err_prefix(err, "%s: audit record %lld",
			    store_path(st), (long long)r.seq);
			goto out;
		}
		/* Never re-seal a changed row: say so. */
		if (strcmp(stored, r.hash) != 0) {
			ret = err_set(err, ERR_INVALID, "%s: audit record %lld "
			    "does not match its hash: the database was changed "
			    "outside the appliance", store_path(st),
			    (long long)r.seq);
			goto out;
		}
		buf_reset(&line);
		if ((ret = audit_record_line(&r, &line, err)) != 0 ||
		    (ret = fn(ctx, (const char *)line.data, line.len,
		    err)) != 0)
			goto out;
		while (cp.seq != 0 && cp.seq <= r.seq) {
			buf_reset(&line);
			if ((ret = audit_checkpoint_line(&cp, &line, err)) != 0 ||
			    (ret = fn(ctx, (const char *)line.data, line.len,
			    err)) != 0 ||
			    (ret = audit_log_cp_next(st, cs, &cp, err)) != 0)
				goto out;
		}
	}
	if (rc != SQLITE_DONE)
		ret = audit_log_sqlerr(st, "read audit records", err);
out:
	sqlite3_finalize(rs);
	sqlite3_finalize(cs);
	buf_free(&line);
	return ret;
}

int
audit_log_text(struct store *st, int64_t from, int64_t to, audit_text_fn fn,
    void *ctx, err_t *err)
{
	int ret;

	if (store_in_transaction(st))
		return err_set(err, ERR_INTERNAL, "the audit log is read "
		    "outside a transaction");
	if (from < 1)
		from = 1;
	if (to <= 0)
		to = INT64_MAX;
	/* One snapshot: a record appended meanwhile waits for the next walk. */
	if ((ret = store_exec(st, "BEGIN", err)) != 0)
		return ret;
	ret = audit_log_walk(st, from, to, fn, ctx, err);
	store_rollback(st);
	return ret;
}
