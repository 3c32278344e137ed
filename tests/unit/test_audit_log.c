/*
 * test_audit_log.c: the audit log in the store (audit/log.h) and its text
 * mirror (audit/mirror.h), checked for what an auditor relies on: a
 * record is kept or lost with the step it records; records chain 1, 2, 3
 * from the genesis; the triggers refuse anything but extending the head,
 * and any change or removal; two connections or two threads never fork
 * the chain; checkpoints signed with a software EC P-256 or RSA key
 * verify where the format puts them; a row changed behind the
 * appliance's back is reported, never re-sealed; and the mirror file ends
 * up byte for byte the store's canonical text, completing a cut line or a
 * missing checkpoint and keeping aside, never destroying, a file that
 * says something else.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <openssl/evp.h>

#include "audit/log.h"
#include "audit/mirror.h"
#include "audit/verify.h"
#include "auditfx.h"
#include "util/timeutil.h"

/* Records per thread in the two-thread test. */
#define THREAD_RECORDS 2000

static EVP_PKEY *ec_key, *rsa_key;
static char ec_sha[AUDIT_HASH_HEX], rsa_sha[AUDIT_HASH_HEX];

struct fx {
	char dir[96];
	char db[128];
	char path[128];		/* the mirror file */
	struct store *st;
};

static int
group_setup(void **state)
{
	(void)state;
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (ec_key == NULL || rsa_key == NULL)
		return -1;
	auditfx_key_sha256(ec_key, ec_sha);
	auditfx_key_sha256(rsa_key, rsa_sha);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return 0;
}

static struct store *
open_store(const struct fx *f)
{
	struct store *st = NULL;
	err_t e;

	err_clear(&e);
	if (store_open(f->db, 1, &st, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	return st;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (testutil_tmpdir(f->dir, sizeof(f->dir), "auditlog") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
	snprintf(f->path, sizeof(f->path), "%s/audit.log", f->dir);
	f->st = open_store(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	if (testutil_rmtree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* --- helpers ------------------------------------------------------------ */

/* Appends a record of action (outcome ok) through st; its seq. */
static int64_t
append(struct store *st, const char *action, const char *objects,
    const char *details)
{
	struct audit_entry ae = {
		.action = action, .outcome = "ok", .objects = objects,
		.details = details,
	};
	int64_t seq = -1;
	err_t e;

	err_clear(&e);
	if (audit_log_append(st, &ae, AUDITFX_T0, &seq, &e) != 0)
		fail_msg("append %s: %s", action, e.msg);
	return seq;
}

static int64_t
head_seq(struct store *st)
{
	char hash[AUDIT_HASH_HEX];
	int64_t seq = -1;
	err_t e;

	if (audit_log_head(st, &seq, hash, &e) != 0)
		fail_msg("audit_log_head: %s", e.msg);
	return seq;
}

static int
collect(void *ctx, const char *line, size_t len, err_t *err)
{
	buf_t *b = ctx;

	if (buf_put(b, line, len) != 0)
		return err_set(err, ERR_LIMIT, "the test's buffer is full");
	return 0;
}

/* The store's canonical text into out (initialised here; buf_free it). */
static void
canonical(struct store *st, buf_t *out)
{
	err_t e;

	buf_init(out, (size_t)64 << 20);
	err_clear(&e);
	if (audit_log_text(st, 1, 0, collect, out, &e) != 0)
		fail_msg("audit_log_text: %s", e.msg);
}

/* The bytes of the file at path into out (initialised here). */
static void
slurp(const char *path, buf_t *out)
{
	FILE *fp = fopen(path, "rb");
	char chunk[8192];
	size_t n;

	buf_init(out, (size_t)64 << 20);
	if (fp == NULL) {
		fail_msg("cannot read %s: %s", path, strerror(errno));
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(buf_put(out, chunk, n), 0);
	fclose(fp);
}

static void
spill(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* Fails, naming the first byte that differs, unless a and b are equal. */
static void
assert_same(const buf_t *a, const buf_t *b, const char *what)
{
	size_t i, n = a->len < b->len ? a->len : b->len;

	for (i = 0; i < n && a->data[i] == b->data[i]; i++)
		;
	if (i < n || a->len != b->len)
		fail_msg("%s: differs at byte %zu (lengths %zu and %zu)", what,
		    i, a->len, b->len);
}

/* The file at path holds exactly st's canonical text. */
static void
assert_file_canonical(const char *path, struct store *st)
{
	buf_t file, text;

	canonical(st, &text);
	slurp(path, &file);
	assert_same(&file, &text, path);
	buf_free(&file);
	buf_free(&text);
}

/*
 * The text's lines as "R1 R2 C2 R3": kind and SEQ of each line, so that
 * a test sees at once where checkpoints stand.
 */
static void
shape(const buf_t *text, char *out, size_t outsz)
{
	size_t off = 0, used = 0;

	out[0] = '\0';
	while (off < text->len) {
		const char *p = (const char *)text->data + off;
		const char *nl = memchr(p, '\n', text->len - off);
		const char *tab2;
		int n;

		assert_non_null(nl);
		tab2 = memchr(p + 2, '\t', (size_t)(nl - p) - 2);
		assert_non_null(tab2);
		n = snprintf(out + used, outsz - used, "%s%c%.*s",
		    used > 0 ? " " : "", p[0], (int)(tab2 - p - 2), p + 2);
		assert_true(n > 0 && (size_t)n < outsz - used);
		used += (size_t)n;
		off += (size_t)(nl - p) + 1;
	}
}

/* The k-th line (0-based) of text, its LF excluded, copied into out. */
static void
nth_line(const buf_t *text, size_t k, char *out, size_t outsz)
{
	size_t off = 0;

	for (;;) {
		const char *p = (const char *)text->data + off;
		const char *nl;

		assert_true(off < text->len);
		nl = memchr(p, '\n', text->len - off);
		assert_non_null(nl);
		if (k-- == 0) {
			assert_true((size_t)(nl - p) < outsz);
			memcpy(out, p, (size_t)(nl - p));
			out[nl - p] = '\0';
			return;
		}
		off += (size_t)(nl - p) + 1;
	}
}

/*
 * Feeds text, line by line, to a verifier made with pub and sha; *res
 * and the problems in d (diag_free them).
 */
static void
verify_text(const buf_t *text, EVP_PKEY *pub, const char *sha,
    struct audit_verify_result *res, diag_t *d)
{
	struct audit_verifier *v;
	unsigned long lineno = 0;
	size_t off = 0;
	err_t e;

	diag_init(d);
	if (audit_verify_new(pub, sha, &v, &e) != 0)
		fail_msg("audit_verify_new: %s", e.msg);
	while (off < text->len) {
		const char *p = (const char *)text->data + off;
		const char *nl = memchr(p, '\n', text->len - off);

		assert_non_null(nl);
		assert_int_equal(audit_verify_line(v, p, (size_t)(nl - p),
		    ++lineno, d), 0);
		off += (size_t)(nl - p) + 1;
	}
	assert_int_equal(audit_verify_end(v, res, d), 0);
	audit_verify_free(v);
}

static void
verify_ok(const buf_t *text, EVP_PKEY *pub, const char *sha,
    struct audit_verify_result *res)
{
	diag_t d;

	verify_text(text, pub, sha, res, &d);
	if (!res->ok) {
		testutil_print_diag(&d, "problem");
		fail_msg("the log does not verify");
	}
	diag_free(&d);
}

/* Signs a checkpoint of the head with key and records it. */
static void
checkpoint_head(struct store *st, EVP_PKEY *key, const char *sha,
    struct audit_checkpoint *cp)
{
	err_t e;

	memset(cp, 0, sizeof(*cp));
	err_clear(&e);
	if (audit_log_head(st, &cp->seq, cp->hash, &e) != 0)
		fail_msg("audit_log_head: %s", e.msg);
	cp->time = AUDITFX_T0 + 60;
	memcpy(cp->key_sha256, sha, AUDIT_HASH_HEX);
	if (audit_checkpoint_sign(cp, key, &e) != 0)
		fail_msg("audit_checkpoint_sign: %s", e.msg);
	if (audit_log_checkpoint_add(st, cp, "test", &e) != 0)
		fail_msg("audit_log_checkpoint_add: %s", e.msg);
}

/* Runs sql on st's connection behind the API; SQLite's code. */
static int
sql_run(struct store *st, const char *sql, char *msg, size_t msgsz)
{
	char *m = NULL;
	int rc = sqlite3_exec(store_db(st), sql, NULL, NULL, &m);

	snprintf(msg, msgsz, "%s", m != NULL ? m : "");
	sqlite3_free(m);
	return rc;
}

static void
sql_ok(struct store *st, const char *sql)
{
	char msg[512];

	if (sql_run(st, sql, msg, sizeof(msg)) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* sql must be refused with a message holding why. */
static void
sql_refused(struct store *st, const char *sql, const char *why)
{
	char msg[512];

	if (sql_run(st, sql, msg, sizeof(msg)) == SQLITE_OK)
		fail_msg("accepted: %s", sql);
	assert_contains(msg, why);
}

/*
 * Inserts a well-formed, sealed record seq with prev straight into the
 * table, as a second writer bypassing audit_log_append would. SQLite's
 * code (SQLITE_DONE when it went in), its message into msg.
 */
static int
raw_record(struct store *st, int64_t seq, const char *prev, char *msg,
    size_t msgsz)
{
	sqlite3 *db = store_db(st);
	struct audit_record r;
	sqlite3_stmt *s;
	int rc;

	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.time = AUDITFX_T0;
	r.actor_sha256 = "";
	r.actor_name = "Mallory";
	r.role = AUDIT_ROLE_CONSOLE;
	r.action = "forged";
	r.outcome = "ok";
	r.objects = "";
	r.details = "";
	memcpy(r.prev, prev, AUDIT_HASH_HEX);
	assert_int_equal(audit_record_seal(&r, NULL), 0);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO audit_record "
	    "(seq, time, actor_sha256, actor_name, role, action, outcome, "
	    "objects, details, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?)", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, r.seq);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)r.time);
	sqlite3_bind_text(s, 3, r.actor_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r.actor_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r.role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, r.action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, r.outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, r.objects, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, r.details, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, r.prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, r.hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	snprintf(msg, msgsz, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc;
}

static int64_t
count_rows(struct store *st, const char *table)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return testutil_sql_int(store_db(st), sql);
}

/* Parses line k of text as a record into *r (strings in line). */
static void
record_at(const buf_t *text, size_t k, char *line, size_t linesz,
    struct audit_record *r)
{
	struct audit_checkpoint cp;
	enum audit_line_kind kind;
	err_t e;

	nth_line(text, k, line, linesz);
	if (audit_line_parse(line, strlen(line), &kind, r, &cp, &e) != 0)
		fail_msg("line %zu: %s", k + 1, e.msg);
	assert_int_equal(kind, AUDIT_LINE_RECORD);
}

/* --- the log in the store ---------------------------------------------- */

static void
test_empty(void **state)
{
	struct fx *f = *state;
	struct audit_checkpoint cp;
	char hash[AUDIT_HASH_HEX], zeros[AUDIT_HASH_HEX];
	int64_t seq = -1;
	buf_t text;
	err_t e;

	memset(zeros, '0', AUDIT_HASH_HEX - 1);
	zeros[AUDIT_HASH_HEX - 1] = '\0';
	assert_int_equal(audit_log_head(f->st, &seq, hash, &e), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(hash, audit_genesis);
	assert_string_equal(hash, zeros);
	assert_int_equal(audit_log_hash_at(f->st, 1, hash, &e), ERR_NOTFOUND);
	assert_int_equal(audit_log_hash_at(f->st, 0, hash, &e), ERR_NOTFOUND);
	assert_int_equal(audit_log_last_checkpoint(f->st, &cp, &e),
	    ERR_NOTFOUND);
	canonical(f->st, &text);
	assert_int_equal(text.len, 0);
	buf_free(&text);
}

static void
test_append_chain(void **state)
{
	struct fx *f = *state;
	struct audit_entry bad;
	struct audit_record r;
	char line[AUDIT_LINE_MAX], hash[AUDIT_HASH_HEX], prev[AUDIT_HASH_HEX];
	char sh[64];
	int64_t seq;
	buf_t text;
	err_t e;
	int i;

	/* Outside a transaction each record is committed on its own. */
	for (i = 1; i <= 3; i++) {
		assert_int_equal(append(f->st, "login", "n=1", NULL), i);
		assert_false(store_in_transaction(f->st));
	}
	assert_int_equal(audit_log_head(f->st, &seq, hash, &e), 0);
	assert_int_equal(seq, 3);
	canonical(f->st, &text);
	shape(&text, sh, sizeof(sh));
	assert_string_equal(sh, "R1 R2 R3");
	/* PREV links each record to the one before, from the genesis. */
	memcpy(prev, audit_genesis, AUDIT_HASH_HEX);
	for (i = 0; i < 3; i++) {
		record_at(&text, (size_t)i, line, sizeof(line), &r);
		assert_int_equal(r.seq, i + 1);
		assert_string_equal(r.prev, prev);
		assert_int_equal(audit_log_hash_at(f->st, r.seq, hash, &e), 0);
		assert_string_equal(r.hash, hash);
		assert_string_equal(r.actor_name, "appliance");
		assert_string_equal(r.role, AUDIT_ROLE_APPLIANCE);
		assert_string_equal(r.actor_sha256, "");
		assert_int_equal(r.time, AUDITFX_T0);
		memcpy(prev, r.hash, AUDIT_HASH_HEX);
	}
	assert_int_equal(audit_log_head(f->st, &seq, hash, &e), 0);
	assert_string_equal(hash, prev);
	assert_int_equal(audit_log_hash_at(f->st, 4, hash, &e), ERR_NOTFOUND);
	buf_free(&text);

	/* A record the format cannot hold is refused and leaves nothing. */
	memset(&bad, 0, sizeof(bad));
	bad.outcome = "ok";
	assert_int_equal(audit_log_append(f->st, &bad, AUDITFX_T0, NULL, &e),
	    ERR_INVALID);
	bad.action = "Bad Action";
	assert_int_equal(audit_log_append(f->st, &bad, AUDITFX_T0, NULL, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "ACTION");
	bad.action = "login";
	bad.outcome = "maybe";
	assert_int_equal(audit_log_append(f->st, &bad, AUDITFX_T0, NULL, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "OUTCOME");
	bad.outcome = "ok";
	bad.actor_sha256 = "not-a-hash";
	assert_int_equal(audit_log_append(f->st, &bad, AUDITFX_T0, NULL, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "ACTOR-SHA256");
	assert_false(store_in_transaction(f->st));
	assert_int_equal(head_seq(f->st), 3);
	assert_int_equal(count_rows(f->st, "audit_record"), 3);
	/* The refused ones left no gap: the next one is 4. */
	assert_int_equal(append(f->st, "login", NULL, NULL), 4);
}

static void
test_append_in_transaction(void **state)
{
	struct fx *f = *state;
	struct store *st2 = open_store(f);
	struct audit_entry bad = { .action = "login", .outcome = "maybe" };
	struct audit_record r;
	char line[AUDIT_LINE_MAX], sh[64], *v = NULL;
	buf_t text;
	err_t e;

	buf_init(&text, (size_t)1 << 20);
	assert_int_equal(append(f->st, "before", NULL, NULL), 1);

	/* The step and its record are lost together. */
	assert_int_equal(store_begin(f->st, &e), 0);
	assert_int_equal(store_meta_set(f->st, "test.step", "rolled-back",
	    &e), 0);
	assert_int_equal(append(f->st, "rolled-back", NULL, NULL), 2);
	assert_true(store_in_transaction(f->st));
	/* Not committed: another connection does not see it yet. */
	assert_int_equal(head_seq(st2), 1);
	store_rollback(f->st);
	assert_int_equal(head_seq(f->st), 1);
	assert_int_equal(head_seq(st2), 1);
	assert_int_equal(store_meta_get(f->st, "test.step", &v, &e),
	    ERR_NOTFOUND);

	/* And kept together; a refused record leaves the caller's
	 * transaction open, for the caller to decide. */
	assert_int_equal(store_begin(f->st, &e), 0);
	assert_int_equal(store_meta_set(f->st, "test.step", "kept", &e), 0);
	assert_int_equal(append(f->st, "kept-a", NULL, NULL), 2);
	assert_int_equal(append(f->st, "kept-b", NULL, NULL), 3);
	assert_int_equal(audit_log_append(f->st, &bad, AUDITFX_T0, NULL, &e),
	    ERR_INVALID);
	assert_true(store_in_transaction(f->st));
	assert_int_equal(head_seq(f->st), 3);
	/* The canonical text is one snapshot, never read mid-transaction. */
	assert_int_equal(audit_log_text(f->st, 1, 0, collect, &text, &e),
	    ERR_INTERNAL);
	assert_int_equal(text.len, 0);
	buf_free(&text);
	assert_true(store_in_transaction(f->st));
	assert_int_equal(store_commit(f->st, &e), 0);
	assert_int_equal(head_seq(st2), 3);
	assert_int_equal(store_meta_get(st2, "test.step", &v, &e), 0);
	assert_string_equal(v, "kept");
	free(v);

	canonical(st2, &text);
	shape(&text, sh, sizeof(sh));
	assert_string_equal(sh, "R1 R2 R3");
	record_at(&text, 1, line, sizeof(line), &r);
	assert_string_equal(r.action, "kept-a");
	record_at(&text, 2, line, sizeof(line), &r);
	assert_string_equal(r.action, "kept-b");
	assert_null(memmem(text.data, text.len, "rolled-back", 11));
	buf_free(&text);
	store_close(st2);
}

static void
test_record_triggers(void **state)
{
	struct fx *f = *state;
	char h1[AUDIT_HASH_HEX], h2[AUDIT_HASH_HEX], msg[512];
	err_t e;

	assert_int_equal(append(f->st, "login", NULL, NULL), 1);
	assert_int_equal(append(f->st, "login", NULL, NULL), 2);
	assert_int_equal(audit_log_hash_at(f->st, 1, h1, &e), 0);
	assert_int_equal(audit_log_hash_at(f->st, 2, h2, &e), 0);

	/* Not the head's PREV: a fork from record 1. */
	assert_int_not_equal(raw_record(f->st, 3, h1, msg, sizeof(msg)),
	    SQLITE_DONE);
	assert_contains(msg, "must extend the chain's head");
	assert_int_not_equal(raw_record(f->st, 3, audit_genesis, msg,
	    sizeof(msg)), SQLITE_DONE);
	assert_contains(msg, "must extend the chain's head");
	/* Not the next seq: a gap, a repeat, a new chain from 1. */
	assert_int_not_equal(raw_record(f->st, 4, h2, msg, sizeof(msg)),
	    SQLITE_DONE);
	assert_contains(msg, "must extend the chain's head");
	assert_int_not_equal(raw_record(f->st, 2, h1, msg, sizeof(msg)),
	    SQLITE_DONE);
	assert_int_not_equal(raw_record(f->st, 1, audit_genesis, msg,
	    sizeof(msg)), SQLITE_DONE);
	assert_int_equal(count_rows(f->st, "audit_record"), 2);
	/* The one that extends the head goes in: the refusals above were
	 * for the link, not for the row. */
	assert_int_equal(raw_record(f->st, 3, h2, msg, sizeof(msg)),
	    SQLITE_DONE);
	assert_int_equal(head_seq(f->st), 3);

	sql_refused(f->st, "UPDATE audit_record SET details = 'x' WHERE "
	    "seq = 1", "audit records are fixed");
	sql_refused(f->st, "UPDATE audit_record SET time = time + 1",
	    "audit records are fixed");
	sql_refused(f->st, "DELETE FROM audit_record WHERE seq = 3",
	    "audit records are kept");
	sql_refused(f->st, "DELETE FROM audit_record", "audit records are "
	    "kept");
	assert_int_equal(count_rows(f->st, "audit_record"), 3);
	assert_int_equal(testutil_sql_int(store_db(f->st), "SELECT count(*) "
	    "FROM audit_record WHERE details = 'x'"), 0);
}

static void
test_checkpoint_triggers(void **state)
{
	struct fx *f = *state;
	struct audit_checkpoint cp, last;
	char h2[AUDIT_HASH_HEX];
	err_t e;

	assert_int_equal(append(f->st, "login", NULL, NULL), 1);
	assert_int_equal(append(f->st, "login", NULL, NULL), 2);
	assert_int_equal(append(f->st, "login", NULL, NULL), 3);
	assert_int_equal(audit_log_hash_at(f->st, 2, h2, &e), 0);

	/* Record 3 with record 2's hash. */
	memset(&cp, 0, sizeof(cp));
	cp.seq = 3;
	memcpy(cp.hash, h2, AUDIT_HASH_HEX);
	cp.time = AUDITFX_T0;
	memcpy(cp.key_sha256, ec_sha, AUDIT_HASH_HEX);
	assert_int_equal(audit_checkpoint_sign(&cp, ec_key, &e), 0);
	assert_int_equal(audit_log_checkpoint_add(f->st, &cp, "test", &e),
	    ERR_INVALID);
	assert_contains(e.msg, "must sign a recorded hash");
	/* A record that does not exist. */
	cp.seq = 9;
	assert_int_equal(audit_checkpoint_sign(&cp, ec_key, &e), 0);
	assert_int_not_equal(audit_log_checkpoint_add(f->st, &cp, "test", &e),
	    0);
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 0);

	checkpoint_head(f->st, ec_key, ec_sha, &cp);
	assert_int_equal(cp.seq, 3);
	assert_int_equal(audit_log_last_checkpoint(f->st, &last, &e), 0);
	assert_int_equal(last.seq, 3);
	assert_int_equal(last.sig_len, cp.sig_len);
	assert_memory_equal(last.sig, cp.sig, cp.sig_len);

	/* Going back to record 2, with its right hash, is refused. */
	memset(&cp, 0, sizeof(cp));
	cp.seq = 2;
	memcpy(cp.hash, h2, AUDIT_HASH_HEX);
	cp.time = AUDITFX_T0;
	memcpy(cp.key_sha256, ec_sha, AUDIT_HASH_HEX);
	assert_int_equal(audit_checkpoint_sign(&cp, ec_key, &e), 0);
	assert_int_equal(audit_log_checkpoint_add(f->st, &cp, "test", &e),
	    ERR_INVALID);
	assert_contains(e.msg, "never going back");
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 1);

	sql_refused(f->st, "UPDATE audit_checkpoint SET reason = 'x'",
	    "checkpoints are fixed");
	sql_refused(f->st, "UPDATE audit_checkpoint SET seq = 2, hash = "
	    "(SELECT hash FROM audit_record WHERE seq = 2)",
	    "checkpoints are fixed");
	sql_refused(f->st, "DELETE FROM audit_checkpoint", "checkpoints are "
	    "kept");
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 1);
	assert_int_equal(audit_log_last_checkpoint(f->st, &last, &e), 0);
	assert_int_equal(last.seq, 3);
}

/*
 * Checks that text holds records 1 .. n exactly once each, in order, and
 * that each writer w (objects "w=W i=I") wrote per_writer records, each
 * i once.
 */
static void
assert_every_record_once(const buf_t *text, int writers, int per_writer)
{
	unsigned char *seen = calloc((size_t)writers * (size_t)per_writer, 1);
	char *line = malloc(AUDIT_LINE_MAX);
	struct audit_record r;
	struct audit_checkpoint cp;
	enum audit_line_kind kind;
	size_t off = 0;
	int64_t want = 1;
	err_t e;

	assert_non_null(seen);
	assert_non_null(line);
	while (off < text->len) {
		const char *p = (const char *)text->data + off;
		const char *nl = memchr(p, '\n', text->len - off);
		size_t len;
		char wv[16], iv[16];
		long w, i;

		assert_non_null(nl);
		len = (size_t)(nl - p);
		off += len + 1;
		memcpy(line, p, len);
		line[len] = '\0';
		if (audit_line_parse(line, len, &kind, &r, &cp, &e) != 0)
			fail_msg("%s", e.msg);
		if (kind != AUDIT_LINE_RECORD)
			continue;
		assert_int_equal(r.seq, want);
		want++;
		assert_int_equal(audit_objects_get(r.objects, "w", wv,
		    sizeof(wv)), 1);
		assert_int_equal(audit_objects_get(r.objects, "i", iv,
		    sizeof(iv)), 1);
		w = strtol(wv, NULL, 10);
		i = strtol(iv, NULL, 10);
		assert_in_range(w, 0, writers - 1);
		assert_in_range(i, 0, per_writer - 1);
		if (seen[w * per_writer + i])
			fail_msg("record w=%ld i=%ld is in the log twice", w, i);
		seen[w * per_writer + i] = 1;
	}
	assert_int_equal(want - 1, (int64_t)writers * per_writer);
	free(line);
	free(seen);
}

static void
test_two_connections(void **state)
{
	struct fx *f = *state;
	struct store *st[2];
	struct audit_verify_result res;
	struct audit_checkpoint cp;
	char obj[32];
	buf_t text;
	int i;

	st[0] = f->st;
	st[1] = open_store(f);
	for (i = 0; i < 100; i++) {
		snprintf(obj, sizeof(obj), "w=%d i=%d", i % 2, i / 2);
		assert_int_equal(append(st[i % 2], "login", obj, NULL), i + 1);
	}
	checkpoint_head(st[1], ec_key, ec_sha, &cp);
	canonical(st[0], &text);
	verify_ok(&text, NULL, NULL, &res);
	assert_int_equal(res.records, 100);
	assert_int_equal(res.last_seq, 100);
	assert_false(res.signatures_checked);
	assert_every_record_once(&text, 2, 50);
	buf_free(&text);
	store_close(st[1]);
}

/* What the trace hook does when A starts inserting its record. */
struct cut_in {
	struct store *other;
	int tried;
	int rc;		/* the other connection's append */
};

static int
cut_in_hook(unsigned what, void *ctx, void *p, void *x)
{
	struct cut_in *c = ctx;
	struct audit_entry ae = { .actor_name = "other", .action = "login",
	    .outcome = "ok" };
	err_t e;

	(void)p;
	if (what != SQLITE_TRACE_STMT || c->tried ||
	    strncmp(x, "INSERT INTO audit_record", 24) != 0)
		return 0;
	c->tried = 1;
	c->rc = audit_log_append(c->other, &ae, AUDITFX_T0, NULL, &e);
	return 0;
}

/*
 * Between reading the head and inserting the record after it, an append
 * holds the write lock: another connection that tries to append right
 * then (from a trace hook on the first, so at exactly that point) is
 * kept out, and the first one's record goes in as the head's successor.
 */
static void
test_append_holds_the_head(void **state)
{
	struct fx *f = *state;
	struct cut_in c = { 0 };
	struct audit_record r;
	char line[AUDIT_LINE_MAX], sh[64];
	buf_t text;
	err_t e;

	c.other = open_store(f);
	/* Fail at once rather than wait for a lock that A holds. */
	assert_int_equal(sqlite3_busy_timeout(store_db(c.other), 0),
	    SQLITE_OK);
	append(f->st, "login", NULL, NULL);
	assert_int_equal(sqlite3_trace_v2(store_db(f->st), SQLITE_TRACE_STMT,
	    cut_in_hook, &c), SQLITE_OK);
	assert_int_equal(append(f->st, "approval", NULL, NULL), 2);
	assert_true(c.tried);
	assert_int_equal(c.rc, ERR_IO);
	/* Inside the caller's transaction the same. */
	c.tried = 0;
	assert_int_equal(store_begin(f->st, &e), 0);
	assert_int_equal(append(f->st, "approval", NULL, NULL), 3);
	assert_true(c.tried);
	assert_int_equal(c.rc, ERR_IO);
	assert_int_equal(store_commit(f->st, &e), 0);
	assert_int_equal(sqlite3_trace_v2(store_db(f->st), 0, NULL, NULL),
	    SQLITE_OK);
	/* Once A is done, the other appends after it. */
	c.tried = 0;
	assert_int_equal(cut_in_hook(SQLITE_TRACE_STMT, &c, NULL,
	    "INSERT INTO audit_record"), 0);
	assert_int_equal(c.rc, 0);
	canonical(f->st, &text);
	shape(&text, sh, sizeof(sh));
	assert_string_equal(sh, "R1 R2 R3 R4");
	record_at(&text, 3, line, sizeof(line), &r);
	assert_string_equal(r.actor_name, "other");
	buf_free(&text);
	store_close(c.other);
}

struct writer {
	const char *db;
	int w;
	int failed;		/* the appends that failed */
	int busy;		/* those retried: the other held the lock */
	char msg[ERR_MSG_MAX];	/* the first failure */
	int64_t last_seq;
	int increasing;		/* each seq above the one before */
};

/*
 * Appends THREAD_RECORDS records through a connection of its own: every
 * tenth inside a transaction of the writer's, as a step would, the rest
 * on their own. An append refused because the other writer held the
 * lock past SQLite's busy timeout (it can starve a writer that polls)
 * is tried again: it must have left nothing behind, which the test's
 * count of every record exactly once shows. No cmocka here: its asserts
 * are not for threads.
 */
static void *
writer_run(void *arg)
{
	struct writer *wr = arg;
	struct store *st = NULL;
	char obj[48];
	err_t e;
	int i;

	wr->increasing = 1;
	if (store_open(wr->db, 0, &st, &e) != 0) {
		wr->failed = THREAD_RECORDS;
		snprintf(wr->msg, sizeof(wr->msg), "%s", e.msg);
		return NULL;
	}
	for (i = 0; i < THREAD_RECORDS; i++) {
		struct audit_entry ae = { .action = "certificate-issued",
		    .outcome = "ok", .objects = obj };
		int64_t seq = 0;
		int in_tx = i % 10 == 0, r;

		snprintf(obj, sizeof(obj), "w=%d i=%d", wr->w, i);
		if (in_tx && (r = store_begin(st, &e)) != 0)
			goto fail;
		if ((r = audit_log_append(st, &ae, AUDITFX_T0, &seq, &e)) != 0)
			goto fail;
		if (in_tx && (r = store_commit(st, &e)) != 0)
			goto fail;
		if (seq <= wr->last_seq)
			wr->increasing = 0;
		wr->last_seq = seq;
		continue;
fail:
		store_rollback(st);
		if (r == ERR_IO && strstr(e.msg, "database is locked") !=
		    NULL && wr->busy++ < THREAD_RECORDS) {
			i--;
			continue;
		}
		if (wr->failed++ == 0)
			snprintf(wr->msg, sizeof(wr->msg), "%s", e.msg);
	}
	store_close(st);
	return NULL;
}

static void
test_two_threads(void **state)
{
	struct fx *f = *state;
	struct writer wr[2];
	pthread_t t[2];
	struct audit_verify_result res;
	struct audit_checkpoint cp;
	buf_t text;
	int i;

	for (i = 0; i < 2; i++) {
		memset(&wr[i], 0, sizeof(wr[i]));
		wr[i].db = f->db;
		wr[i].w = i;
		assert_int_equal(pthread_create(&t[i], NULL, writer_run,
		    &wr[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 2; i++) {
		if (wr[i].failed != 0)
			fail_msg("writer %d: %d appends failed, the first: %s",
			    i, wr[i].failed, wr[i].msg);
		assert_true(wr[i].increasing);
		if (wr[i].busy > 0)
			print_message("  writer %d: %d appends found the "
			    "database locked and were retried\n", i,
			    wr[i].busy);
	}
	assert_int_equal(head_seq(f->st), 2 * THREAD_RECORDS);
	checkpoint_head(f->st, rsa_key, rsa_sha, &cp);
	canonical(f->st, &text);
	verify_ok(&text, NULL, NULL, &res);
	assert_int_equal(res.records, 2 * THREAD_RECORDS);
	assert_every_record_once(&text, 2, THREAD_RECORDS);
	/* And with the key: the one checkpoint signs the whole chain. */
	verify_ok(&text, rsa_key, rsa_sha, &res);
	assert_int_equal(res.checkpoints_ok, 1);
	assert_int_equal(res.unsigned_tail, 0);
	buf_free(&text);
}

/* Appends details d; returns the details the store kept (malloc'd). */
static char *
kept_details(struct store *st, const char *d)
{
	sqlite3_stmt *s;
	char *out;
	int64_t seq = append(st, "note", NULL, d);

	assert_int_equal(sqlite3_prepare_v2(store_db(st), "SELECT details "
	    "FROM audit_record WHERE seq = ?", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, seq);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	out = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	assert_non_null(out);
	return out;
}

/* 1 when s (len bytes) is well-formed UTF-8 throughout. */
static int
utf8_whole(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		size_t k;

		if (n == 0 || i + n > len)
			return 0;
		for (k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
	}
	return 1;
}

static void
test_details_cut(void **state)
{
	struct fx *f = *state;
	/* 2-, 3- and 4-byte sequences: é, €, U+1F512 (lock). */
	static const char *const seqs[] = { "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x94\x92" };
	struct audit_verify_result res;
	struct audit_checkpoint cp;
	char *d = malloc(AUDIT_DETAILS_MAX + 64), *k;
	buf_t text;
	size_t i, at;

	assert_non_null(d);
	/* ASCII: cut to the limit exactly. */
	memset(d, 'a', AUDIT_DETAILS_MAX + 50);
	d[AUDIT_DETAILS_MAX + 50] = '\0';
	k = kept_details(f->st, d);
	assert_int_equal(strlen(k), AUDIT_DETAILS_MAX);
	assert_memory_equal(k, d, AUDIT_DETAILS_MAX);
	free(k);
	/* At the limit: kept whole, even ending in a multi-byte sequence. */
	memset(d, 'a', AUDIT_DETAILS_MAX - 3);
	memcpy(d + AUDIT_DETAILS_MAX - 3, seqs[1], 3);
	d[AUDIT_DETAILS_MAX] = '\0';
	k = kept_details(f->st, d);
	assert_string_equal(k, d);
	free(k);
	/*
	 * A sequence across the limit, starting at each of its possible
	 * places: the whole sequence goes, never a part of it.
	 */
	for (i = 0; i < 3; i++) {
		size_t n = strlen(seqs[i]);

		for (at = AUDIT_DETAILS_MAX - n + 1; at <= AUDIT_DETAILS_MAX -
		    1; at++) {
			memset(d, 'b', at);
			memcpy(d + at, seqs[i], n);
			memcpy(d + at + n, "tail", 5);
			k = kept_details(f->st, d);
			assert_int_equal(strlen(k), at);
			assert_true(utf8_whole(k, strlen(k)));
			assert_memory_equal(k, d, at);
			free(k);
		}
	}
	/* Multi-byte text throughout, cut just past a sequence's start. */
	for (at = 0; at + 3 <= AUDIT_DETAILS_MAX + 40; at += 3)
		memcpy(d + at, seqs[1], 3);
	d[at] = '\0';
	k = kept_details(f->st, d);
	assert_int_equal(strlen(k), AUDIT_DETAILS_MAX / 3 * 3);
	assert_true(utf8_whole(k, strlen(k)));
	free(k);
	free(d);

	/* The lines carry no escaped byte of a broken sequence. */
	checkpoint_head(f->st, ec_key, ec_sha, &cp);
	canonical(f->st, &text);
	assert_null(memmem(text.data, text.len, "\\x", 2));
	verify_ok(&text, ec_key, ec_sha, &res);
	buf_free(&text);
}

static void
test_actor_name_limit(void **state)
{
	struct fx *f = *state;
	char name[AUDIT_NAME_MAX + 2], obj[AUDIT_OBJECTS_MAX + 2];
	struct audit_entry ae = { .actor_name = name, .role = "officer",
	    .action = "login", .outcome = "refused" };
	int64_t seq = -1;
	err_t e;

	memset(name, 'n', AUDIT_NAME_MAX + 1);
	name[AUDIT_NAME_MAX + 1] = '\0';
	assert_int_equal(audit_log_append(f->st, &ae, AUDITFX_T0, &seq, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "ACTOR-NAME");
	assert_int_equal(seq, -1);
	assert_false(store_in_transaction(f->st));
	assert_int_equal(count_rows(f->st, "audit_record"), 0);
	/* Inside a transaction: refused the same, the transaction open. */
	assert_int_equal(store_begin(f->st, &e), 0);
	assert_int_equal(audit_log_append(f->st, &ae, AUDITFX_T0, &seq, &e),
	    ERR_INVALID);
	assert_true(store_in_transaction(f->st));
	store_rollback(f->st);
	/* Objects are names too, never cut. */
	memset(obj, 'o', AUDIT_OBJECTS_MAX + 1);
	obj[AUDIT_OBJECTS_MAX + 1] = '\0';
	name[AUDIT_NAME_MAX] = '\0';
	ae.objects = obj;
	assert_int_equal(audit_log_append(f->st, &ae, AUDITFX_T0, &seq, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "OBJECTS");
	assert_int_equal(count_rows(f->st, "audit_record"), 0);
	/* At the limits both go in whole. */
	obj[AUDIT_OBJECTS_MAX] = '\0';
	assert_int_equal(audit_log_append(f->st, &ae, AUDITFX_T0, &seq, &e),
	    0);
	assert_int_equal(seq, 1);
	assert_int_equal(testutil_sql_int(store_db(f->st), "SELECT "
	    "length(actor_name) FROM audit_record"), AUDIT_NAME_MAX);
}

/* Records and checkpoints with key, verified with the text. */
static void
run_checkpoints(struct fx *f, EVP_PKEY *key, const char *sha,
    EVP_PKEY *other, const char *other_sha)
{
	struct audit_checkpoint cp3, cp5, last;
	struct audit_verify_result res;
	char sh[64], line[AUDIT_LINE_MAX];
	enum audit_line_kind kind;
	struct audit_record r;
	struct audit_checkpoint got;
	buf_t text;
	diag_t d;
	err_t e;
	int i;

	for (i = 0; i < 3; i++)
		append(f->st, "approval", NULL, NULL);
	checkpoint_head(f->st, key, sha, &cp3);
	for (i = 0; i < 2; i++)
		append(f->st, "approval", NULL, NULL);
	checkpoint_head(f->st, key, sha, &cp5);
	append(f->st, "shutdown", NULL, NULL);
	assert_int_equal(audit_log_last_checkpoint(f->st, &last, &e), 0);
	assert_int_equal(last.seq, 5);
	assert_string_equal(last.hash, cp5.hash);
	assert_int_equal(last.time, cp5.time);
	assert_string_equal(last.key_sha256, sha);
	assert_int_equal(last.sig_len, cp5.sig_len);
	assert_memory_equal(last.sig, cp5.sig, cp5.sig_len);

	canonical(f->st, &text);
	shape(&text, sh, sizeof(sh));
	assert_string_equal(sh, "R1 R2 R3 C3 R4 R5 C5 R6");
	nth_line(&text, 3, line, sizeof(line));
	assert_int_equal(audit_line_parse(line, strlen(line), &kind, &r, &got,
	    &e), 0);
	assert_int_equal(kind, AUDIT_LINE_CHECKPOINT);
	assert_string_equal(got.hash, cp3.hash);
	assert_int_equal(got.sig_len, cp3.sig_len);
	assert_memory_equal(got.sig, cp3.sig, cp3.sig_len);

	verify_ok(&text, key, sha, &res);
	assert_true(res.signatures_checked);
	assert_int_equal(res.records, 6);
	assert_int_equal(res.checkpoints_ok, 2);
	assert_int_equal(res.last_checkpoint_seq, 5);
	assert_int_equal(res.unsigned_tail, 1);

	/* Another key's certificate: the checkpoints do not verify. */
	verify_text(&text, other, sha, &res, &d);
	assert_false(res.ok);
	assert_int_equal(res.checkpoints_ok, 0);
	assert_contains(testutil_diag_text(&d), "does not verify");
	diag_free(&d);
	verify_text(&text, other, other_sha, &res, &d);
	assert_false(res.ok);
	assert_contains(testutil_diag_text(&d), "another key");
	diag_free(&d);
	buf_free(&text);
}

static void
test_checkpoint_ec(void **state)
{
	run_checkpoints(*state, ec_key, ec_sha, rsa_key, rsa_sha);
}

static void
test_checkpoint_rsa(void **state)
{
	run_checkpoints(*state, rsa_key, rsa_sha, ec_key, ec_sha);
}

/* Counts the lines audit_log_text hands over. */
static int
count_lines(void *ctx, const char *line, size_t len, err_t *err)
{
	(void)line;
	(void)len;
	(void)err;
	++*(int *)ctx;
	return 0;
}

static void
test_changed_row(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m = NULL;
	char note[512];
	int lines = 0;
	err_t e;

	append(f->st, "login", NULL, "first");
	append(f->st, "login", NULL, "second");
	append(f->st, "login", NULL, "third");
	assert_int_equal(audit_log_text(f->st, 1, 0, count_lines, &lines, &e),
	    0);
	assert_int_equal(lines, 3);

	sql_ok(f->st, "DROP TRIGGER audit_record_fixed");
	sql_ok(f->st, "UPDATE audit_record SET details = 'forged' WHERE "
	    "seq = 2");
	lines = 0;
	assert_int_equal(audit_log_text(f->st, 1, 0, count_lines, &lines, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "audit record 2 ");
	assert_contains(e.msg, "does not match its hash");
	/* Record 1 went out; nothing from the changed row on. */
	assert_int_equal(lines, 1);
	/* Never re-sealed: the stored hash is the one the chain has. */
	lines = 0;
	assert_int_equal(audit_log_text(f->st, 3, 0, count_lines, &lines, &e),
	    0);
	assert_int_equal(lines, 1);
	/* A mirror cannot be brought in line with a changed store. */
	assert_int_not_equal(audit_mirror_open(f->path, f->st, NULL, NULL,
	    note, sizeof(note), &m, &e), 0);
	assert_null(m);
	assert_contains(e.msg, "audit record 2 ");

	/* The hash column changed instead (the fields left alone). */
	sql_ok(f->st, "UPDATE audit_record SET details = 'second' WHERE "
	    "seq = 2");
	assert_int_equal(audit_log_text(f->st, 1, 0, count_lines, &lines, &e),
	    0);
	sql_ok(f->st, "UPDATE audit_record SET hash = prev WHERE seq = 3");
	assert_int_equal(audit_log_text(f->st, 1, 0, count_lines, &lines, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "audit record 3 ");
}

/* --- the mirror --------------------------------------------------------- */

static struct audit_mirror *
mirror_ok(struct fx *f, audit_text_fn tap, void *ctx, char *note,
    size_t notesz)
{
	struct audit_mirror *m = NULL;
	err_t e;

	err_clear(&e);
	if (audit_mirror_open(f->path, f->st, tap, ctx, note, notesz, &m,
	    &e) != 0)
		fail_msg("audit_mirror_open: %s", e.msg);
	assert_non_null(m);
	return m;
}

/*
 * The files PATH.mismatch-* in f's directory: how many, and the name of
 * the last one found into aside.
 */
static int
asides(const struct fx *f, char *aside, size_t asidesz)
{
	const char *base = strrchr(f->path, '/') + 1;
	char prefix[64];
	struct dirent *de;
	DIR *dir = opendir(f->dir);
	int n = 0;

	assert_non_null(dir);
	snprintf(prefix, sizeof(prefix), "%s.mismatch-", base);
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(aside, asidesz, "%s/%s", f->dir, de->d_name);
		n++;
	}
	closedir(dir);
	return n;
}

static void
test_mirror_new_and_sync(void **state)
{
	struct fx *f = *state;
	struct store *st2 = open_store(f);
	struct audit_mirror *m;
	struct audit_checkpoint cp;
	struct stat sb;
	char note[512], aside[400];
	buf_t tapped, text;
	err_t e;

	append(f->st, "activation", NULL, NULL);
	append(f->st, "login", NULL, NULL);
	checkpoint_head(f->st, ec_key, ec_sha, &cp);
	append(f->st, "login", NULL, NULL);

	buf_init(&tapped, (size_t)1 << 20);
	m = mirror_ok(f, collect, &tapped, note, sizeof(note));
	assert_string_equal(note, "");
	assert_string_equal(audit_mirror_path(m), f->path);
	assert_int_equal(audit_mirror_seq(m), 3);
	assert_file_canonical(f->path, f->st);
	canonical(f->st, &text);
	assert_same(&tapped, &text, "the tap");
	buf_free(&text);
	assert_int_equal(lstat(f->path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0137, 0);

	/* Records from another connection reach the file at the next sync. */
	append(st2, "approval", NULL, NULL);
	append(f->st, "approval", NULL, NULL);
	assert_int_equal(audit_mirror_sync(m, st2, &e), 0);
	assert_int_equal(audit_mirror_seq(m), 5);
	assert_file_canonical(f->path, f->st);
	/* Nothing new: nothing written. */
	assert_int_equal(audit_mirror_sync(m, f->st, &e), 0);
	assert_file_canonical(f->path, f->st);
	audit_mirror_close(m);

	/* A clean re-open changes nothing, says nothing, sets nothing aside;
	 * the tap still sees every line. */
	buf_reset(&tapped);
	m = mirror_ok(f, collect, &tapped, note, sizeof(note));
	assert_string_equal(note, "");
	assert_int_equal(audit_mirror_seq(m), 5);
	assert_file_canonical(f->path, f->st);
	canonical(f->st, &text);
	assert_same(&tapped, &text, "the tap");
	assert_int_equal(asides(f, aside, sizeof(aside)), 0);
	audit_mirror_close(m);
	buf_free(&text);
	buf_free(&tapped);
	store_close(st2);
}

static void
test_mirror_checkpoint(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m;
	struct audit_checkpoint cp1, cp2, cp3;
	struct audit_verify_result fres;
	char note[512], sh[64];
	buf_t text;
	diag_t d;
	err_t e;

	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_int_equal(audit_mirror_checkpoint(m, f->st, ec_key, ec_sha,
	    "shutdown", AUDITFX_T0 + 10, &cp1, &e), ERR_NOTFOUND);
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 0);

	append(f->st, "activation", NULL, NULL);
	append(f->st, "login", NULL, NULL);
	/* The records appended meanwhile are synced first, then signed. */
	assert_int_equal(audit_mirror_checkpoint(m, f->st, ec_key, ec_sha,
	    "batch-completed", AUDITFX_T0 + 10, &cp1, &e), 0);
	assert_int_equal(cp1.seq, 2);
	assert_int_equal(audit_mirror_seq(m), 2);
	/* Nothing since: the second returns the first, signs nothing. */
	assert_int_equal(audit_mirror_checkpoint(m, f->st, ec_key, ec_sha,
	    "shutdown", AUDITFX_T0 + 20, &cp2, &e), 0);
	assert_int_equal(cp2.seq, 2);
	assert_int_equal(cp2.time, AUDITFX_T0 + 10);
	assert_int_equal(cp2.sig_len, cp1.sig_len);
	assert_memory_equal(cp2.sig, cp1.sig, cp1.sig_len);
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 1);
	assert_file_canonical(f->path, f->st);

	append(f->st, "revocation", NULL, NULL);
	assert_int_equal(audit_mirror_checkpoint(m, f->st, ec_key, ec_sha,
	    "revocation", AUDITFX_T0 + 30, &cp3, &e), 0);
	assert_int_equal(cp3.seq, 3);
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 2);
	assert_file_canonical(f->path, f->st);

	/*
	 * Inside a transaction that may yet roll back, neither a sync nor a
	 * checkpoint writes: the file never gets ahead of what the store has
	 * committed.
	 */
	assert_int_equal(store_begin(f->st, &e), 0);
	append(f->st, "export", NULL, NULL);
	assert_int_not_equal(audit_mirror_sync(m, f->st, &e), 0);
	assert_int_not_equal(audit_mirror_checkpoint(m, f->st, ec_key, ec_sha,
	    "export", AUDITFX_T0 + 40, NULL, &e), 0);
	store_rollback(f->st);
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 2);
	assert_int_equal(audit_mirror_seq(m), 3);
	assert_file_canonical(f->path, f->st);
	canonical(f->st, &text);
	shape(&text, sh, sizeof(sh));
	assert_string_equal(sh, "R1 R2 C2 R3 C3");
	buf_free(&text);
	audit_mirror_close(m);

	/* The file alone verifies, signatures and all. */
	diag_init(&d);
	assert_int_equal(audit_verify_file(f->path, ec_key, ec_sha, NULL,
	    &fres, &d, &e), 0);
	if (!fres.ok)
		testutil_print_diag(&d, "problem");
	assert_true(fres.ok);
	assert_int_equal(fres.checkpoints_ok, 2);
	assert_int_equal(fres.unsigned_tail, 0);
	diag_free(&d);
}

static void
test_mirror_cut_line(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m;
	struct audit_checkpoint cp;
	char note[512], aside[400];
	buf_t file;
	size_t last;
	int i;

	for (i = 0; i < 4; i++)
		append(f->st, "login", NULL, "a line long enough to cut");
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	audit_mirror_close(m);

	/* Half of the last line lost, as a crash mid-write leaves it. */
	slurp(f->path, &file);
	for (last = file.len - 1; last > 0 && file.data[last - 1] != '\n';
	    last--)
		;
	assert_int_equal(truncate(f->path, (off_t)(last + (file.len - last) /
	    2)), 0);
	buf_free(&file);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_contains(note, "ended inside a line");
	assert_int_equal(audit_mirror_seq(m), 4);
	assert_file_canonical(f->path, f->st);
	assert_int_equal(asides(f, aside, sizeof(aside)), 0);
	audit_mirror_close(m);

	/* Cut in the middle of a line with more behind it in the store (a
	 * checkpoint and records): all of it completed, in order. */
	checkpoint_head(f->st, ec_key, ec_sha, &cp);
	append(f->st, "login", NULL, NULL);
	slurp(f->path, &file);
	assert_int_equal(truncate(f->path, (off_t)file.len - 20), 0);
	buf_free(&file);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_contains(note, "ended inside a line");
	assert_int_equal(audit_mirror_seq(m), 5);
	assert_file_canonical(f->path, f->st);
	audit_mirror_close(m);

	/* The last line without its LF only. */
	slurp(f->path, &file);
	assert_int_equal(truncate(f->path, (off_t)file.len - 1), 0);
	buf_free(&file);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_contains(note, "ended inside a line");
	assert_file_canonical(f->path, f->st);
	audit_mirror_close(m);

	/* Whole lines missing (never written): appended, nothing to say. */
	slurp(f->path, &file);
	for (last = file.len - 1; last > 0 && file.data[last - 1] != '\n';
	    last--)
		;
	assert_int_equal(truncate(f->path, (off_t)last), 0);
	buf_free(&file);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_string_equal(note, "");
	assert_file_canonical(f->path, f->st);
	assert_int_equal(asides(f, aside, sizeof(aside)), 0);
	audit_mirror_close(m);
}

static void
test_mirror_changed_byte(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m;
	char note[1024], aside[400], line[AUDIT_LINE_MAX];
	buf_t before, kept, tapped, text;
	size_t off;
	int i;

	for (i = 0; i < 5; i++)
		append(f->st, "login", NULL, "details");
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	audit_mirror_close(m);

	/* One byte of record 3's details changed in the file. */
	slurp(f->path, &before);
	canonical(f->st, &text);
	nth_line(&text, 0, line, sizeof(line));
	off = strlen(line) + 1;
	nth_line(&text, 1, line, sizeof(line));
	off += strlen(line) + 1;
	nth_line(&text, 2, line, sizeof(line));
	off += (size_t)(strstr(line, "details") - line);
	assert_int_equal(before.data[off], 'd');
	before.data[off] = 'D';
	spill(f->path, before.data, before.len);

	buf_init(&tapped, (size_t)1 << 20);
	m = mirror_ok(f, collect, &tapped, note, sizeof(note));
	assert_contains(note, "differed from the database after record 2;");
	assert_int_equal(asides(f, aside, sizeof(aside)), 1);
	assert_contains(note, aside);
	assert_non_null(strstr(aside, ".mismatch-"));
	/* The old bytes are kept, PATH is the canonical text again. */
	slurp(aside, &kept);
	assert_same(&kept, &before, aside);
	assert_file_canonical(f->path, f->st);
	assert_int_equal(audit_mirror_seq(m), 5);
	/* The tap saw every line once, not once per pass. */
	assert_same(&tapped, &text, "the tap");
	/* And the mirror goes on from there. */
	append(f->st, "login", NULL, NULL);
	assert_int_equal(audit_mirror_sync(m, f->st, NULL), 0);
	assert_file_canonical(f->path, f->st);
	audit_mirror_close(m);
	buf_free(&kept);
	buf_free(&before);
	buf_free(&tapped);
	buf_free(&text);
}

static void
test_mirror_extra_line(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m;
	char note[1024], aside[400];
	static const char extra[] = "R\t4\t2026-01-01T00:00:00Z\t-\tappliance"
	    "\tappliance\tlogin\tok\t\t\t0000\t0000\n";
	buf_t before, kept;
	FILE *fp;
	int i;

	for (i = 0; i < 3; i++)
		append(f->st, "login", NULL, NULL);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	audit_mirror_close(m);
	fp = fopen(f->path, "ab");
	assert_non_null(fp);
	assert_true(fputs(extra, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	slurp(f->path, &before);

	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_contains(note, "after record 3;");
	assert_int_equal(asides(f, aside, sizeof(aside)), 1);
	assert_contains(note, aside);
	slurp(aside, &kept);
	assert_same(&kept, &before, aside);
	assert_file_canonical(f->path, f->st);
	assert_int_equal(audit_mirror_seq(m), 3);
	audit_mirror_close(m);
	buf_free(&kept);
	buf_free(&before);

	/* A file from a store that is empty now (restored from nothing). */
	teardown(state);
	assert_int_equal(setup(state), 0);
	f = *state;
	spill(f->path, extra, strlen(extra));
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_contains(note, "after record 0;");
	assert_int_equal(asides(f, aside, sizeof(aside)), 1);
	assert_file_canonical(f->path, f->st);
	assert_int_equal(audit_mirror_seq(m), 0);
	audit_mirror_close(m);
}

/*
 * A file set aside never replaces one set aside before, even under the
 * same name (two mismatches within a second, or a clock set back):
 * earlier copies at every name the next few minutes could give are left
 * as they are.
 */
static void
test_mirror_aside_kept(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m;
	char note[1024], aside[400], when[TIMEUTIL_STRLEN];
	static const char earlier[] = "an earlier copy\n";
	buf_t kept;
	time_t now = time(NULL);
	int i, n;

	append(f->st, "login", NULL, NULL);
	spill(f->path, "R\tnot this\n", 11);
	for (i = -2; i < 300; i++) {
		timeutil_format(now + i, when);
		snprintf(aside, sizeof(aside), "%s.mismatch-%s", f->path, when);
		spill(aside, earlier, strlen(earlier));
	}
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_contains(note, "after record 0;");
	assert_file_canonical(f->path, f->st);
	audit_mirror_close(m);
	/* Every earlier copy as it was, and one more. */
	assert_int_equal(asides(f, aside, sizeof(aside)), 302 + 1);
	n = 0;
	for (i = -2; i < 300; i++) {
		timeutil_format(now + i, when);
		snprintf(aside, sizeof(aside), "%s.mismatch-%s", f->path, when);
		slurp(aside, &kept);
		n += kept.len == strlen(earlier) && memcmp(kept.data, earlier,
		    kept.len) == 0;
		buf_free(&kept);
	}
	assert_int_equal(n, 302);
}

static void
test_mirror_checkpoint_crash(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m;
	struct audit_checkpoint cp;
	struct audit_verify_result res;
	char note[512], sh[64], aside[400];
	buf_t text;
	int i;

	for (i = 0; i < 3; i++)
		append(f->st, "approval", NULL, NULL);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	audit_mirror_close(m);
	/* The checkpoint's row committed, the crash before its line. */
	checkpoint_head(f->st, ec_key, ec_sha, &cp);
	assert_int_equal(cp.seq, 3);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_file_canonical(f->path, f->st);
	assert_int_equal(asides(f, aside, sizeof(aside)), 0);
	audit_mirror_close(m);

	/* Again, with records after the checkpoint the file lacks too. */
	append(f->st, "approval", NULL, NULL);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	audit_mirror_close(m);
	checkpoint_head(f->st, ec_key, ec_sha, &cp);
	append(f->st, "approval", NULL, NULL);
	append(f->st, "approval", NULL, NULL);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_file_canonical(f->path, f->st);
	assert_int_equal(asides(f, aside, sizeof(aside)), 0);
	assert_int_equal(audit_mirror_seq(m), 6);
	audit_mirror_close(m);
	slurp(f->path, &text);
	shape(&text, sh, sizeof(sh));
	assert_string_equal(sh, "R1 R2 R3 C3 R4 C4 R5 R6");
	verify_ok(&text, ec_key, ec_sha, &res);
	assert_int_equal(res.checkpoints_ok, 2);
	buf_free(&text);
}

/* The descriptor this process holds open on path, or -1. */
static int
fd_of(const char *path)
{
	char link[320], target[PATH_MAX];
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int fd = -1;

	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0) {
			fd = atoi(de->d_name);
			break;
		}
	}
	closedir(dir);
	return fd;
}

/*
 * The disk fills while a checkpoint is written: its row is recorded, its
 * line is not. Once there is room again the file takes the checkpoint
 * where the canonical text has it, before the records made since, so
 * that the next start finds the file as it should be (nothing set aside).
 */
static void
test_mirror_disk_full(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m;
	struct audit_checkpoint cp;
	struct audit_verify_result res;
	char note[512], sh[64], aside[400], real[PATH_MAX];
	buf_t text;
	int fd, saved, full, i;
	err_t e;

	for (i = 0; i < 3; i++)
		append(f->st, "approval", NULL, NULL);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_non_null(realpath(f->path, real));
	assert_true((fd = fd_of(real)) >= 0);
	assert_true((saved = dup(fd)) >= 0);
	assert_true((full = open("/dev/full", O_WRONLY | O_CLOEXEC)) >= 0);
	assert_true(dup2(full, fd) == fd);

	assert_int_equal(audit_mirror_checkpoint(m, f->st, ec_key, ec_sha,
	    "batch-completed", AUDITFX_T0 + 10, &cp, &e), ERR_IO);
	assert_contains(e.msg, "No space left on device");
	assert_int_equal(count_rows(f->st, "audit_checkpoint"), 1);
	append(f->st, "approval", NULL, NULL);
	assert_int_equal(audit_mirror_sync(m, f->st, &e), ERR_IO);

	/* Room again: the next sync puts the checkpoint in its place. */
	assert_true(dup2(saved, fd) == fd);
	close(saved);
	close(full);
	append(f->st, "approval", NULL, NULL);
	assert_int_equal(audit_mirror_sync(m, f->st, &e), 0);
	assert_file_canonical(f->path, f->st);
	assert_int_equal(audit_mirror_seq(m), 5);
	audit_mirror_close(m);
	slurp(f->path, &text);
	shape(&text, sh, sizeof(sh));
	assert_string_equal(sh, "R1 R2 R3 C3 R4 R5");
	verify_ok(&text, ec_key, ec_sha, &res);
	assert_int_equal(res.checkpoints_ok, 1);
	buf_free(&text);
	m = mirror_ok(f, NULL, NULL, note, sizeof(note));
	assert_string_equal(note, "");
	assert_int_equal(asides(f, aside, sizeof(aside)), 0);
	audit_mirror_close(m);
}

/* A tap that gives up at its second line. */
static int
tap_refuse(void *ctx, const char *line, size_t len, err_t *err)
{
	(void)line;
	(void)len;
	if (++*(int *)ctx == 2)
		return err_set(err, ERR_INVALID, "the tap says no");
	return 0;
}

static void
test_mirror_tap(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m = NULL;
	struct audit_checkpoint cp;
	char note[512];
	buf_t tapped, text;
	int calls = 0, i;
	err_t e;

	for (i = 0; i < 3; i++)
		append(f->st, "login", NULL, NULL);
	checkpoint_head(f->st, rsa_key, rsa_sha, &cp);
	append(f->st, "login", NULL, NULL);
	canonical(f->st, &text);

	/* New file: every line, in order. */
	buf_init(&tapped, (size_t)1 << 20);
	m = mirror_ok(f, collect, &tapped, note, sizeof(note));
	assert_same(&tapped, &text, "the tap on a new file");
	audit_mirror_close(m);
	/* Cut file: every line, once. */
	assert_int_equal(truncate(f->path, (off_t)text.len - 7), 0);
	buf_reset(&tapped);
	m = mirror_ok(f, collect, &tapped, note, sizeof(note));
	assert_contains(note, "ended inside a line");
	assert_same(&tapped, &text, "the tap on a cut file");
	audit_mirror_close(m);

	/* A tap that refuses stops the open with its error. */
	m = NULL;
	assert_int_equal(audit_mirror_open(f->path, f->st, tap_refuse, &calls,
	    note, sizeof(note), &m, &e), ERR_INVALID);
	assert_null(m);
	assert_int_equal(calls, 2);
	assert_contains(e.msg, "the tap says no");
	buf_free(&tapped);
	buf_free(&text);
}

static void
test_mirror_symlink(void **state)
{
	struct fx *f = *state;
	struct audit_mirror *m = NULL;
	char target[160], note[512];
	struct stat sb;
	buf_t kept;
	err_t e;

	append(f->st, "login", NULL, NULL);
	/* To an existing file: refused, the file untouched. */
	snprintf(target, sizeof(target), "%s/target", f->dir);
	spill(target, "keep me\n", 8);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_not_equal(audit_mirror_open(f->path, f->st, NULL, NULL,
	    note, sizeof(note), &m, &e), 0);
	assert_null(m);
	slurp(target, &kept);
	assert_int_equal(kept.len, 8);
	assert_memory_equal(kept.data, "keep me\n", 8);
	buf_free(&kept);
	/* Dangling: refused, nothing created behind it. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(unlink(target), 0);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_not_equal(audit_mirror_open(f->path, f->st, NULL, NULL,
	    note, sizeof(note), &m, &e), 0);
	assert_null(m);
	assert_int_equal(lstat(target, &sb), -1);
	/* Not a regular file. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_not_equal(audit_mirror_open(f->path, f->st, NULL, NULL,
	    note, sizeof(note), &m, &e), 0);
	assert_null(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_append_in_transaction,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_triggers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_triggers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_append_holds_the_head,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_threads, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_details_cut, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_actor_name_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_ec, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_rsa, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_changed_row, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_new_and_sync, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_cut_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_changed_byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_extra_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_aside_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_checkpoint_crash,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_disk_full,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_tap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mirror_symlink, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
