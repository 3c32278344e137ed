/* verify.c: checking the audit log's chain and checkpoints (verify.h). */
#include "audit/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/text.h"

/* Bytes the reader asks the kernel for at a time; holds a whole line. */
#define VF_READ_CHUNK (1u << 20)

/*
 * Records in sequence are kept as runs: a gap starts a new run, so a
 * record number far ahead costs nothing but a run.
 */
struct vf_run {
	int64_t seq;	/* the run's first record */
	size_t idx;	/* its hash's index in v->hashes */
};

/* A checkpoint whose record has not appeared yet. */
struct vf_pending {
	int64_t seq;
	unsigned char hash[32];
	unsigned long lineno;
	int signed_ok;	/* key and signature checked out */
};

struct audit_verifier {
	EVP_PKEY *pub;
	char key_sha256[AUDIT_HASH_HEX];	/* "" when any is accepted */
	char *name;

	unsigned char (*hashes)[32];	/* HASH of each record in sequence */
	size_t n_hashes, cap_hashes;
	struct vf_run *runs;
	size_t n_runs, cap_runs;

	struct vf_pending *pending;	/* sorted by seq */
	size_t n_pending, cap_pending;

	int64_t first_seq, last_seq;
	unsigned long first_lineno;
	char first_prev[AUDIT_HASH_HEX];
	char last_hash[AUDIT_HASH_HEX];
	int first_prev_checked;

	unsigned long records, checkpoints, checkpoints_ok, problems;
	int64_t last_cp_seq;
	int stopped;	/* a limit was reached: later lines are ignored */
	int nomem;

	char line[AUDIT_LINE_MAX];	/* the copy the parser may change */
};

/* --- small helpers -------------------------------------------------------- */

static void
vf_unhex(const char hex[AUDIT_HASH_HEX], unsigned char out[32])
{
	size_t i;

	/* The parser let only lower-case hex through: '0'-'9', 'a'-'f'. */
	for (i = 0; i < 32; i++) {
		unsigned hi = (unsigned char)hex[2 * i];
		unsigned lo = (unsigned char)hex[2 * i + 1];

		hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

static void
vf_hex(const unsigned char h[32], char out[AUDIT_HASH_HEX])
{
	buf_hex(h, 32, out, AUDIT_HASH_HEX);
}

/*
 * Records one problem: on line lineno (0: the log as a whole) about
 * record seq (0: none known).
 */
static void
vf_problem(struct audit_verifier *v, diag_t *d, unsigned long lineno,
    int64_t seq, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
vf_problem(struct audit_verifier *v, diag_t *d, unsigned long lineno,
    int64_t seq, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX], field[40];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->problems++;
	if (seq > 0)
		snprintf(field, sizeof(field), "record %lld", (long long)seq);
	if (d != NULL && diag_add(d, v->name, lineno, seq > 0 ? field : NULL,
	    "%s", msg) != 0)
		v->nomem = 1;
}

/* Stops the verifier at a limit; ERR_INVALID. */
static int
vf_stop(struct audit_verifier *v, diag_t *d, unsigned long lineno,
    int64_t seq, const char *why)
{
	vf_problem(v, d, lineno, seq, "%s; the rest of the log is not checked",
	    why);
	v->stopped = 1;
	return ERR_INVALID;
}

/* The hash of record seq, when the log holds it in sequence: 1, else 0. */
static int
vf_lookup(const struct audit_verifier *v, int64_t seq, unsigned char out[32])
{
	size_t lo = 0, hi = v->n_runs, end;
	const struct vf_run *run;
	uint64_t off;

	if (v->n_runs == 0 || seq < v->runs[0].seq || seq > v->last_seq)
		return 0;
	/* The last run that starts at or before seq. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->runs[mid].seq <= seq)
			lo = mid;
		else
			hi = mid;
	}
	run = &v->runs[lo];
	end = lo + 1 < v->n_runs ? v->runs[lo + 1].idx : v->n_hashes;
	off = (uint64_t)(seq - run->seq);
	if (off >= end - run->idx)
		return 0;
	memcpy(out, v->hashes[run->idx + off], 32);
	return 1;
}

/* Appends record seq's hash; a new run when it does not follow on. */
static int
vf_store(struct audit_verifier *v, diag_t *d, unsigned long lineno,
    int64_t seq, const char hash[AUDIT_HASH_HEX])
{
	if ((long long)v->n_hashes >= AUDIT_VERIFY_MAX_RECORDS)
		return vf_stop(v, d, lineno, seq, "more records than the "
		    "verifier's limit of 100,000,000");
	if (v->n_hashes == v->cap_hashes) {
		size_t ncap = v->cap_hashes ? v->cap_hashes * 2 : 4096;
		void *n;

		if ((long long)ncap > AUDIT_VERIFY_MAX_RECORDS)
			ncap = (size_t)AUDIT_VERIFY_MAX_RECORDS;
		if ((n = realloc(v->hashes, ncap * 32)) == NULL) {
			v->nomem = 1;
			return ERR_NOMEM;
		}
		v->hashes = n;
		v->cap_hashes = ncap;
	}
	/* seq - 1, not last_seq + 1: SEQ may be INT64_MAX. */
	if (v->n_runs == 0 || seq - 1 != v->last_seq) {
		if (v->n_runs == v->cap_runs) {
			size_t ncap = v->cap_runs ? v->cap_runs * 2 : 16;
			void *n;

			if ((n = realloc(v->runs, ncap * sizeof(*v->runs))) ==
			    NULL) {
				v->nomem = 1;
				return ERR_NOMEM;
			}
			v->runs = n;
			v->cap_runs = ncap;
		}
		v->runs[v->n_runs].seq = seq;
		v->runs[v->n_runs].idx = v->n_hashes;
		v->n_runs++;
	}
	vf_unhex(hash, v->hashes[v->n_hashes++]);
	v->last_seq = seq;
	memcpy(v->last_hash, hash, AUDIT_HASH_HEX);
	return 0;
}

/* --- checkpoints ------------------------------------------------------- */

/* 1 when sig is the audit key's signature over cp's TBS. */
static int
vf_sig_ok(const struct audit_verifier *v, const struct audit_checkpoint *cp)
{
	EVP_MD_CTX *ctx;
	buf_t tbs;
	int ok;

	/* "C", SEQ, HASH, TIME, KEY-SHA256, four TABs and LF: under 256. */
	buf_init(&tbs, 256);
	if (audit_checkpoint_tbs(cp, &tbs, NULL) != 0) {
		buf_free(&tbs);
		return 0;
	}
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, v->pub) == 1 &&
	    EVP_DigestVerify(ctx, cp->sig, cp->sig_len, tbs.data,
	    tbs.len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	buf_free(&tbs);
	return ok;
}

/* Counts a checkpoint that signs record seq and matches it. */
static void
vf_good_checkpoint(struct audit_verifier *v, int64_t seq)
{
	v->checkpoints_ok++;
	if (seq > v->last_cp_seq)
		v->last_cp_seq = seq;
}

/*
 * Compares a checkpoint with what the log holds for its record, once that
 * is known. late: the record appeared after the checkpoint, at lineno_rec.
 */
static void
vf_match(struct audit_verifier *v, diag_t *d, const struct vf_pending *p,
    unsigned long lineno_rec)
{
	unsigned char have[32];
	char want[AUDIT_HASH_HEX];
	int good = p->signed_ok;

	vf_hex(p->hash, want);
	if (v->n_hashes > 0 && p->seq == v->first_seq - 1) {
		/* A checkpoint of the record before a segment's first. */
		if (strcmp(want, v->first_prev) != 0) {
			vf_problem(v, d, p->lineno, p->seq, "checkpoint HASH "
			    "%.16s... is not the PREV of record %lld, the "
			    "first of this log (%.16s...)", want,
			    (long long)v->first_seq, v->first_prev);
			return;
		}
		if (p->signed_ok) {
			v->first_prev_checked = 1;
			vf_good_checkpoint(v, p->seq);
		}
		return;
	}
	if (v->n_hashes == 0 || p->seq < v->first_seq) {
		vf_problem(v, d, p->lineno, p->seq, "checkpoint names record "
		    "%lld, before this log's first record %lld; it cannot be "
		    "checked here", (long long)p->seq,
		    (long long)v->first_seq);
		return;
	}
	if (!vf_lookup(v, p->seq, have)) {
		vf_problem(v, d, p->lineno, p->seq, "checkpoint names record "
		    "%lld, which is missing from the log", (long long)p->seq);
		return;
	}
	if (lineno_rec != 0) {
		vf_problem(v, d, p->lineno, p->seq, "checkpoint comes before "
		    "its record, which appears later (line %lu); a checkpoint "
		    "must follow the record it signs", lineno_rec);
		good = 0;
	}
	if (memcmp(have, p->hash, 32) != 0) {
		char hex[AUDIT_HASH_HEX];

		vf_hex(have, hex);
		vf_problem(v, d, p->lineno, p->seq, "checkpoint HASH %.16s... "
		    "differs from record %lld's HASH %.16s...: the record or "
		    "the chain before it was changed", want, (long long)p->seq,
		    hex);
		return;
	}
	if (good)
		vf_good_checkpoint(v, p->seq);
}

/* Checks the pending checkpoints that the log has now reached. */
static void
vf_resolve(struct audit_verifier *v, diag_t *d, unsigned long lineno)
{
	size_t k = 0;

	while (k < v->n_pending && (v->pending[k].seq <= v->last_seq ||
	    v->pending[k].seq < v->first_seq)) {
		/* Before the first record it was never late, only foreign. */
		vf_match(v, d, &v->pending[k], v->pending[k].seq >=
		    v->first_seq ? lineno : 0);
		k++;
	}
	if (k > 0) {
		memmove(v->pending, v->pending + k,
		    (v->n_pending - k) * sizeof(*v->pending));
		v->n_pending -= k;
	}
}

static int
vf_checkpoint(struct audit_verifier *v, const struct audit_checkpoint *cp,
    unsigned long lineno, diag_t *d)
{
	struct vf_pending p;
	size_t k;

	v->checkpoints++;
	memset(&p, 0, sizeof(p));
	p.seq = cp->seq;
	p.lineno = lineno;
	vf_unhex(cp->hash, p.hash);
	if (v->key_sha256[0] != '\0' &&
	    strcmp(cp->key_sha256, v->key_sha256) != 0)
		vf_problem(v, d, lineno, cp->seq, "checkpoint made by another "
		    "key: its KEY-SHA256 is %s, the audit certificate's is %s",
		    cp->key_sha256, v->key_sha256);
	else if (v->pub != NULL && !vf_sig_ok(v, cp))
		vf_problem(v, d, lineno, cp->seq, "checkpoint signature does "
		    "not verify with the audit certificate's key");
	else
		p.signed_ok = 1;
	if (v->n_hashes > 0 && cp->seq <= v->last_seq) {
		vf_match(v, d, &p, 0);
		return 0;
	}
	/* Its record has not appeared (yet): decided later or at the end. */
	if (v->n_pending == AUDIT_VERIFY_MAX_PENDING)
		return vf_stop(v, d, lineno, cp->seq, "more than 4,096 "
		    "checkpoints come before their records");
	if (v->n_pending == v->cap_pending) {
		size_t ncap = v->cap_pending ? v->cap_pending * 2 : 8;
		void *n;

		if ((n = realloc(v->pending, ncap * sizeof(*v->pending))) ==
		    NULL) {
			v->nomem = 1;
			return ERR_NOMEM;
		}
		v->pending = n;
		v->cap_pending = ncap;
	}
	for (k = v->n_pending; k > 0 && v->pending[k - 1].seq > p.seq; k--)
		;
	memmove(v->pending + k + 1, v->pending + k,
	    (v->n_pending - k) * sizeof(*v->pending));
	v->pending[k] = p;
	v->n_pending++;
	return 0;
}

/* --- records ----------------------------------------------------------- */

static int
vf_record(struct audit_verifier *v, const struct audit_record *r,
    const char *computed, unsigned long lineno, diag_t *d)
{
	unsigned char have[32], mine[32];
	int64_t s = r->seq;
	int rc;

	v->records++;
	if (computed != NULL && strcmp(computed, r->hash) != 0)
		vf_problem(v, d, lineno, s, "record changed: its HASH "
		    "%.16s... does not match its fields, which hash to "
		    "%.16s...", r->hash, computed);
	if (v->n_hashes == 0) {
		v->first_seq = s;
		v->first_lineno = lineno;
		memcpy(v->first_prev, r->prev, AUDIT_HASH_HEX);
		if (s == 1) {
			v->first_prev_checked = 1;
			if (strcmp(r->prev, audit_genesis) != 0)
				vf_problem(v, d, lineno, s, "record 1's PREV is "
				    "not the genesis value (64 zeros)");
		}
	} else if (s - 1 == v->last_seq) {
		if (strcmp(r->prev, v->last_hash) != 0)
			vf_problem(v, d, lineno, s, "PREV is not the HASH of "
			    "record %lld before it: a record was changed, "
			    "removed or inserted here", (long long)(s - 1));
	} else if (s - 1 > v->last_seq) {
		if (s - 2 == v->last_seq)
			vf_problem(v, d, lineno, s, "record %lld is missing "
			    "(this record follows record %lld)",
			    (long long)(s - 1), (long long)v->last_seq);
		else
			vf_problem(v, d, lineno, s, "records %lld to %lld are "
			    "missing (this record follows record %lld)",
			    (long long)(v->last_seq + 1), (long long)(s - 1),
			    (long long)v->last_seq);
	} else {
		/* Not in sequence: reported, and kept out of the chain. */
		vf_unhex(r->hash, mine);
		if (!vf_lookup(v, s, have))
			vf_problem(v, d, lineno, s, "record %lld comes after "
			    "record %lld: records are out of order",
			    (long long)s, (long long)v->last_seq);
		else if (memcmp(have, mine, 32) == 0 && s == v->last_seq)
			vf_problem(v, d, lineno, s, "record %lld appears twice "
			    "in a row: a duplicated record", (long long)s);
		else if (memcmp(have, mine, 32) == 0)
			vf_problem(v, d, lineno, s, "record %lld appears again "
			    "after record %lld: a duplicated record",
			    (long long)s, (long long)v->last_seq);
		else
			vf_problem(v, d, lineno, s, "a second, different "
			    "record %lld after record %lld: a record was "
			    "inserted or the records were reordered",
			    (long long)s, (long long)v->last_seq);
		return 0;
	}
	if ((rc = vf_store(v, d, lineno, s, r->hash)) != 0)
		return rc;
	vf_resolve(v, d, lineno);
	return 0;
}

/* 1 when p[0..n) is lower-case hex. */
static int
vf_is_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' &&
		    p[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * A record line that does not parse still says where it stands when its
 * SEQ, PREV and HASH can be read: keeping it in the chain spares the
 * records after it from false reports of a gap or a broken link.
 */
static int
vf_unparsable(struct audit_verifier *v, const char *line, size_t len,
    const char *computed, unsigned long lineno, diag_t *d, const char *why)
{
	const char *f[13], *p = line, *end = line + len, *tab;
	size_t n = 0, flen[13];
	struct audit_record r;
	int64_t seq = 0;

	while (n < 13) {
		tab = memchr(p, '\t', (size_t)(end - p));
		f[n] = p;
		flen[n] = (size_t)((tab != NULL ? tab : end) - p);
		n++;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	/* Only to name the record in the message; 18 digits cannot wrap. */
	if (n >= 2 && flen[1] > 0 && flen[1] <= 18 && f[1][0] != '0') {
		size_t i;

		for (i = 0; i < flen[1] && f[1][i] >= '0' && f[1][i] <= '9';
		    i++)
			seq = seq * 10 + (f[1][i] - '0');
		if (i != flen[1])
			seq = 0;
	}
	vf_problem(v, d, lineno, seq, "the line does not parse: %s", why);
	if (flen[0] != 1 || f[0][0] != 'R')
		return 0;
	if (n != 12 || seq == 0 || flen[10] != 64 || flen[11] != 64 ||
	    !vf_is_hex(f[10], 64) || !vf_is_hex(f[11], 64)) {
		v->records++;
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.seq = seq;
	memcpy(r.prev, f[10], 64);
	memcpy(r.hash, f[11], 64);
	return vf_record(v, &r, computed, lineno, d);
}

/* --- the verifier ------------------------------------------------------ */

int
audit_verify_new(EVP_PKEY *pub, const char *key_sha256,
    struct audit_verifier **out, err_t *err)
{
	struct audit_verifier *v;

	*out = NULL;
	if (key_sha256 != NULL && (strnlen(key_sha256, AUDIT_HASH_HEX) !=
	    AUDIT_HASH_HEX - 1 || !text_is_lower_hex(key_sha256,
	    AUDIT_HASH_HEX - 1)))
		return err_set(err, ERR_INVALID, "the audit certificate's "
		    "SHA-256 must be 64 lower-case hex digits");
	if (pub != NULL && key_sha256 == NULL)
		return err_set(err, ERR_INVALID, "a key to check signatures "
		    "with needs its certificate's SHA-256");
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if (pub != NULL) {
		if (EVP_PKEY_up_ref(pub) != 1) {
			free(v);
			return err_set_ossl(err, ERR_CRYPTO, "cannot take a "
			    "reference to the audit key");
		}
		v->pub = pub;
	}
	if (key_sha256 != NULL)
		memcpy(v->key_sha256, key_sha256, AUDIT_HASH_HEX);
	*out = v;
	return 0;
}

int
audit_verify_set_name(struct audit_verifier *v, const char *name)
{
	char *n = NULL;

	if (name != NULL && (n = strdup(name)) == NULL)
		return ERR_NOMEM;
	free(v->name);
	v->name = n;
	return 0;
}

void
audit_verify_free(struct audit_verifier *v)
{
	if (v == NULL)
		return;
	EVP_PKEY_free(v->pub);
	free(v->name);
	free(v->hashes);
	free(v->runs);
	free(v->pending);
	free(v);
}

int
audit_verify_problem(struct audit_verifier *v, unsigned long lineno,
    const char *what, diag_t *problems)
{
	vf_problem(v, problems, lineno, 0, "%s", what);
	return v->nomem ? ERR_NOMEM : 0;
}

int
audit_verify_line(struct audit_verifier *v, const char *line, size_t len,
    unsigned long lineno, diag_t *problems)
{
	char computed[AUDIT_HASH_HEX], *cp_hash = NULL;
	struct audit_checkpoint cp;
	struct audit_record r;
	enum audit_line_kind kind;
	err_t e;
	int rc;

	if (v->stopped)
		return ERR_INVALID;
	if (len + 1 > AUDIT_LINE_MAX) {
		vf_problem(v, problems, lineno, 0, "the line is longer than %d "
		    "bytes", AUDIT_LINE_MAX);
		return v->nomem ? ERR_NOMEM : 0;
	}
	/* HASH covers the text as written, so it is taken before parsing. */
	if (len > 2 && line[0] == 'R' && line[1] == '\t' &&
	    audit_line_hash(line, len, computed, NULL) == 0)
		cp_hash = computed;
	memcpy(v->line, line, len);
	err_clear(&e);
	if (audit_line_parse(v->line, len, &kind, &r, &cp, &e) != 0)
		rc = vf_unparsable(v, line, len, cp_hash, lineno, problems,
		    e.msg);
	else if (kind == AUDIT_LINE_RECORD)
		rc = vf_record(v, &r, cp_hash, lineno, problems);
	else
		rc = vf_checkpoint(v, &cp, lineno, problems);
	if (rc == 0 && v->nomem)
		rc = ERR_NOMEM;
	return rc;
}

int
audit_verify_end(struct audit_verifier *v, struct audit_verify_result *res,
    diag_t *problems)
{
	size_t k;

	/* Whatever is still pending names a record the log never reached. */
	for (k = 0; k < v->n_pending; k++) {
		const struct vf_pending *p = &v->pending[k];

		if (v->records == 0)
			vf_problem(v, problems, p->lineno, p->seq, "truncated: "
			    "checkpoint signed record %lld but the log holds no "
			    "record", (long long)p->seq);
		else
			vf_problem(v, problems, p->lineno, p->seq, "truncated: "
			    "checkpoint signed record %lld but the log ends at "
			    "record %lld", (long long)p->seq,
			    (long long)v->last_seq);
	}
	v->n_pending = 0;
	if (v->records == 0 && !v->stopped)
		vf_problem(v, problems, 0, 0, "the log holds no record");
	else if (v->checkpoints == 0)
		vf_problem(v, problems, 0, 0, "no checkpoint: nothing in this "
		    "log is signed, so a change to it cannot be detected");
	else if (v->checkpoints_ok == 0)
		vf_problem(v, problems, 0, 0, "no checkpoint verifies: nothing "
		    "in this log is signed by the audit key");
	memset(res, 0, sizeof(*res));
	res->problems = v->problems;
	res->ok = v->problems == 0;
	res->records = v->records;
	res->checkpoints = v->checkpoints;
	res->checkpoints_ok = v->checkpoints_ok;
	res->signatures_checked = v->pub != NULL;
	if (v->n_hashes > 0) {
		res->first_seq = v->first_seq;
		res->last_seq = v->last_seq;
		memcpy(res->first_prev, v->first_prev, AUDIT_HASH_HEX);
		memcpy(res->head_hash, v->last_hash, AUDIT_HASH_HEX);
		res->first_prev_checked = v->first_prev_checked;
		res->last_checkpoint_seq = v->last_cp_seq;
		if (v->last_cp_seq < v->last_seq)
			res->unsigned_tail = v->last_seq -
			    (v->last_cp_seq >= v->first_seq ? v->last_cp_seq :
			    v->first_seq - 1);
	}
	return v->nomem ? ERR_NOMEM : 0;
}

/* --- reading files ------------------------------------------------------ */

struct audit_reader {
	int fd;
	char *buf;
	size_t start, end;	/* unread bytes */
	unsigned long lineno;
	int eof;
	int skipping;		/* inside a line too long to keep */
};

int
audit_reader_open(const char *path, struct audit_reader **out, err_t *err)
{
	struct audit_reader *r;
	struct stat st;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "%s: %s", path, errno == ELOOP ? "is a symbolic link, "
		    "which is not followed" : strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, ERR_IO, "%s: not a regular file", path);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->buf = malloc(VF_READ_CHUNK)) == NULL) {
		free(r);
		close(fd);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	r->fd = fd;
	*out = r;
	return 0;
}

void
audit_reader_close(struct audit_reader *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r->buf);
	free(r);
}

int
audit_reader_next(struct audit_reader *r, const char **line, size_t *len,
    unsigned long *lineno, err_t *err)
{
	for (;;) {
		char *lf = memchr(r->buf + r->start, '\n', r->end - r->start);
		ssize_t n;

		if (lf != NULL) {
			size_t l = (size_t)(lf - (r->buf + r->start));
			int skipped = r->skipping;

			*line = r->buf + r->start;
			*len = l;
			*lineno = ++r->lineno;
			r->start += l + 1;
			r->skipping = 0;
			if (skipped || l + 1 > AUDIT_LINE_MAX)
				return err_set(err, ERR_LIMIT, "the line is "
				    "longer than %d bytes", AUDIT_LINE_MAX);
			return 1;
		}
		if (r->end - r->start >= AUDIT_LINE_MAX) {
			/* Too long already: drop it, keep looking for its end. */
			r->skipping = 1;
			r->start = r->end = 0;
		}
		if (r->eof) {
			if (r->start == r->end && !r->skipping)
				return 0;
			*line = r->buf + r->start;
			*len = r->end - r->start;
			*lineno = ++r->lineno;
			r->start = r->end;
			if (r->skipping) {
				r->skipping = 0;
				return err_set(err, ERR_LIMIT, "the line is "
				    "longer than %d bytes and the file ends "
				    "inside it", AUDIT_LINE_MAX);
			}
			return err_set(err, ERR_INVALID, "truncated mid-line: "
			    "the file ends without the line's LF");
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		n = read(r->fd, r->buf + r->end, VF_READ_CHUNK - r->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(err, ERR_IO, "cannot read: %s",
			    strerror(errno));
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

/* Verifies one file with v; 0 when it could be read to the end. */
static int
vf_file(struct audit_verifier *v, const char *path, const char *shown,
    diag_t *problems, err_t *err)
{
	struct audit_reader *rd;
	unsigned long lineno = 0;
	const char *line;
	size_t len;
	err_t e;
	int rc;

	if ((rc = audit_reader_open(path, &rd, err)) != 0)
		return rc;
	if ((rc = audit_verify_set_name(v, shown)) != 0) {
		audit_reader_close(rd);
		return err_set(err, rc, "out of memory");
	}
	for (;;) {
		err_clear(&e);
		rc = audit_reader_next(rd, &line, &len, &lineno, &e);
		if (rc == 0)
			break;
		if (rc == 1)
			rc = audit_verify_line(v, line, len, lineno, problems);
		else if (rc == ERR_LIMIT || rc == ERR_INVALID)
			rc = audit_verify_problem(v, lineno, e.msg, problems);
		else {
			audit_reader_close(rd);
			return err_set(err, rc, "%s: %s", shown, e.msg);
		}
		if (rc == ERR_INVALID)
			break;	/* the problem says which limit */
		if (rc != 0) {
			audit_reader_close(rd);
			return err_set(err, rc, "%s: out of memory", path);
		}
	}
	audit_reader_close(rd);
	return 0;
}

/*
 * Checks that the log in v (read from path) extends the earlier one in
 * ev (read from epath): the same HASH for every record both hold, and no
 * record of the earlier log missing from this one.
 */
static void
vf_extends(struct audit_verifier *v, struct audit_verify_result *res,
    const char *path, struct audit_verifier *ev,
    const struct audit_verify_result *eres, const char *epath, diag_t *d)
{
	unsigned char a[32], b[32];
	char ha[AUDIT_HASH_HEX], hb[AUDIT_HASH_HEX];
	int64_t k, from, to;

	res->follows_last_seq = eres->last_seq;
	if (eres->records == 0 || res->records == 0 || ev->n_hashes == 0 ||
	    v->n_hashes == 0) {
		vf_problem(v, d, 0, 0, "cannot check that it extends %s: %s "
		    "holds no record", epath, ev->n_hashes == 0 ? epath : path);
		return;
	}
	if (res->first_seq - 2 == eres->last_seq) {
		vf_problem(v, d, v->first_lineno, res->first_seq, "record %lld "
		    "is missing between %s, which ends at record %lld, and this "
		    "log", (long long)(eres->last_seq + 1), epath,
		    (long long)eres->last_seq);
		return;
	}
	if (res->first_seq - 2 > eres->last_seq) {
		vf_problem(v, d, v->first_lineno, res->first_seq, "records "
		    "%lld to %lld are missing between %s, which ends at record "
		    "%lld, and this log", (long long)(eres->last_seq + 1),
		    (long long)(res->first_seq - 1), epath,
		    (long long)eres->last_seq);
		return;
	}
	if (res->first_seq - 1 == eres->last_seq) {
		if (strcmp(res->first_prev, eres->head_hash) != 0) {
			vf_problem(v, d, v->first_lineno, res->first_seq, "the "
			    "logs part here: PREV %.16s... is not the HASH "
			    "%.16s... of record %lld, the last of %s",
			    res->first_prev, eres->head_hash,
			    (long long)eres->last_seq, epath);
			return;
		}
		res->first_prev_checked = 1;
		res->follows_checked = 1;
		return;
	}
	from = res->first_seq > eres->first_seq ? res->first_seq :
	    eres->first_seq;
	to = res->last_seq < eres->last_seq ? res->last_seq : eres->last_seq;
	for (k = from; k <= to; k++) {
		if (!vf_lookup(v, k, a) || !vf_lookup(ev, k, b) ||
		    memcmp(a, b, 32) == 0)
			continue;
		vf_hex(a, ha);
		vf_hex(b, hb);
		vf_problem(v, d, 0, k, "the logs part here: HASH %.16s... in "
		    "this log, %.16s... in %s", ha, hb, epath);
		return;
	}
	if (res->first_seq > eres->first_seq && !res->first_prev_checked &&
	    vf_lookup(ev, res->first_seq - 1, b)) {
		vf_hex(b, hb);
		if (strcmp(hb, res->first_prev) != 0) {
			vf_problem(v, d, v->first_lineno, res->first_seq, "the "
			    "logs part here: PREV %.16s... is not the HASH "
			    "%.16s... of record %lld in %s", res->first_prev,
			    hb, (long long)(res->first_seq - 1), epath);
			return;
		}
		res->first_prev_checked = 1;
	}
	if (res->last_seq < eres->last_seq) {
		vf_problem(v, d, 0, 0, "this log ends at record %lld, before "
		    "record %lld where %s ends: it does not extend it (records "
		    "%lld to %lld are missing: truncated?)",
		    (long long)res->last_seq, (long long)eres->last_seq, epath,
		    (long long)(res->last_seq + 1), (long long)eres->last_seq);
		return;
	}
	res->follows_checked = 1;
}

int
audit_verify_file(const char *path, EVP_PKEY *pub, const char *key_sha256,
    const char *follows_path, struct audit_verify_result *res,
    diag_t *problems, err_t *err)
{
	return audit_verify_file_as(path, path, pub, key_sha256, follows_path,
	    res, problems, err);
}

int
audit_verify_file_as(const char *path, const char *shown, EVP_PKEY *pub,
    const char *key_sha256, const char *follows_path,
    struct audit_verify_result *res, diag_t *problems, err_t *err)
{
	struct audit_verifier *v = NULL, *ev = NULL;
	struct audit_verify_result eres;
	int rc;

	memset(res, 0, sizeof(*res));
	if (follows_path != NULL) {
		if ((rc = audit_verify_new(pub, key_sha256, &ev, err)) != 0)
			return rc;
		if ((rc = vf_file(ev, follows_path, follows_path, problems,
		    err)) != 0 ||
		    (rc = audit_verify_end(ev, &eres, problems)) != 0) {
			audit_verify_free(ev);
			return rc == ERR_NOMEM ? err_set(err, rc, "out of "
			    "memory") : rc;
		}
	}
	if ((rc = audit_verify_new(pub, key_sha256, &v, err)) != 0 ||
	    (rc = vf_file(v, path, shown, problems, err)) != 0 ||
	    (rc = audit_verify_end(v, res, problems)) != 0) {
		audit_verify_free(v);
		audit_verify_free(ev);
		return rc == ERR_NOMEM ? err_set(err, rc, "out of memory") : rc;
	}
	if (ev != NULL) {
		unsigned long before = v->problems;

		vf_extends(v, res, shown, ev, &eres, follows_path, problems);
		res->problems += v->problems - before + eres.problems;
		res->ok = res->problems == 0;
	}
	rc = v->nomem || (ev != NULL && ev->nomem) ? err_set(err, ERR_NOMEM,
	    "out of memory") : 0;
	audit_verify_free(v);
	audit_verify_free(ev);
	return rc;
}

/* --- the summary --------------------------------------------------------- */

int
audit_verify_summary(const struct audit_verify_result *res,
    const char *name, buf_t *out)
{
	if (res->records == 0)
		(void)buf_printf(out, "%s: %s: no record, %lu checkpoint%s\n",
		    name, res->ok ? "verified" : "FAILED", res->checkpoints,
		    res->checkpoints == 1 ? "" : "s");
	else if (res->ok)
		(void)buf_printf(out, "%s: verified: records %lld to %lld, %lu "
		    "checkpoint%s, the last signing record %lld\n", name,
		    (long long)res->first_seq, (long long)res->last_seq,
		    res->checkpoints, res->checkpoints == 1 ? "" : "s",
		    (long long)res->last_checkpoint_seq);
	else {
		(void)buf_printf(out, "%s: FAILED: %lu problem%s; records %lld "
		    "to %lld, %lu checkpoint%s (%lu good)", name,
		    res->problems, res->problems == 1 ? "" : "s",
		    (long long)res->first_seq, (long long)res->last_seq,
		    res->checkpoints, res->checkpoints == 1 ? "" : "s",
		    res->checkpoints_ok);
		if (res->last_checkpoint_seq > 0)
			(void)buf_printf(out, ", the last good one signing "
			    "record %lld", (long long)res->last_checkpoint_seq);
		buf_put_u8(out, '\n');
	}
	if (res->records > 0 && res->last_checkpoint_seq > 0 &&
	    res->unsigned_tail > 0) {
		if (res->unsigned_tail == 1)
			(void)buf_printf(out, "%s: warning: record %lld comes "
			    "after the last checkpoint; a truncation there "
			    "cannot be detected from this file alone\n", name,
			    (long long)res->last_seq);
		else
			(void)buf_printf(out, "%s: warning: records %lld to "
			    "%lld come after the last checkpoint; a truncation "
			    "there cannot be detected from this file alone\n",
			    name, (long long)(res->last_seq -
			    res->unsigned_tail + 1), (long long)res->last_seq);
	}
	if (res->records > 0 && !res->first_prev_checked)
		(void)buf_printf(out, "%s: note: the log starts at record "
		    "%lld; the PREV of that record (%.16s...) is the HASH of "
		    "record %lld, which is not in this file: check it with "
		    "--follows EARLIER-LOG\n", name, (long long)res->first_seq,
		    res->first_prev, (long long)(res->first_seq - 1));
	if (res->follows_checked)
		(void)buf_printf(out, "%s: extends the earlier log, which ends "
		    "at record %lld\n", name, (long long)res->follows_last_seq);
	if (!res->signatures_checked)
		(void)buf_printf(out, "%s: warning: signatures were not "
		    "checked (no key given)\n", name);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}
