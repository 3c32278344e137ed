/*
 * audit.c: the daemon's side of the audit log: the check at start-up,
 * checkpoints, and the part of the log that travels with every export.
 * (The sink that appends each event is daemon_event, in daemon.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/log.h"
#include "audit/verify.h"
#include "daemon/audit.h"
#include "daemon/daemon.h"
#include "pki/pkiutil.h"
#include "util/fileio.h"
#include "util/timeutil.h"

/* The start-up check: the store's chain, fed line by line. */
struct daemon_audit_check {
	struct audit_verifier *v;
	diag_t problems;
	unsigned long lineno;
};

static int
daemon_audit_tap(void *ctx, const char *line, size_t len, err_t *err)
{
	struct daemon_audit_check *c = ctx;

	(void)err;
	c->lineno++;
	/* A problem is reported after the walk, never a reason to stop. */
	(void)audit_verify_line(c->v, line, len - 1, c->lineno, &c->problems);
	return 0;
}

/*
 * 1 with the first problem in first when the store's log does not
 * verify. A log that was never signed (the appliance not yet activated)
 * has nothing to be checked against: that alone is not a problem.
 */
static int
daemon_audit_problems(const struct audit_verify_result *res,
    const diag_t *problems, char *first, size_t firstsz)
{
	if (res->ok || (res->checkpoints == 0 && res->problems == 1))
		return 0;
	if (diag_format(problems, 0, first, firstsz) < 0)
		snprintf(first, firstsz, "%lu problems", res->problems);
	return 1;
}

/*
 * Opens the audit log's mirror, checking the store's chain against the
 * audit certificate on the way. What it finds is said once, as an event,
 * and kept for `airlock status`; only a failure to open is fatal.
 */
int
daemon_audit_open(struct daemon *d, err_t *err)
{
	struct daemon_audit_check c;
	struct audit_verify_result res;
	char path[4096], note[600], first[400];
	int r;

	memset(&c, 0, sizeof(c));
	memset(&res, 0, sizeof(res));
	diag_init(&c.problems);
	if (pki_cert_sha256_hex(d->audit_key.cert, d->audit_cert_sha256) != 0)
		return err_set(err, ERR_CRYPTO, "cannot hash the audit "
		    "certificate");
	if (fileio_join(path, sizeof(path), d->cfg.state_dir, "audit.log",
	    err) != 0)
		return ERR_LIMIT;
	if ((r = audit_verify_new(X509_get0_pubkey(d->audit_key.cert),
	    d->audit_cert_sha256, &c.v, err)) != 0)
		return r;
	r = audit_mirror_open(path, d->st, daemon_audit_tap, &c, note,
	    sizeof(note), &d->audit, err);
	if (r == 0)
		(void)audit_verify_end(c.v, &res, &c.problems);
	audit_verify_free(c.v);
	if (r != 0) {
		diag_free(&c.problems);
		return err_prefix(err, "audit log");
	}
	{
		struct audit_checkpoint last;
		err_t ignored;

		if (audit_log_last_checkpoint(d->st, &last, &ignored) == 0) {
			d->checkpoint_seq = last.seq;
			d->checkpoint_at = last.time;
		}
	}
	if (note[0] != '\0')
		(void)event_emit(daemon_event, &d->sink, "audit-mirror",
		    EVENT_FAILED, NULL, NULL, NULL, "%s", note);
	if (daemon_audit_problems(&res, &c.problems, first, sizeof(first))) {
		snprintf(d->audit_note, sizeof(d->audit_note), "%s", first);
		(void)event_emit(daemon_event, &d->sink, "audit-check",
		    EVENT_FAILED, NULL, NULL, NULL, "the audit log in %s does "
		    "not verify: %s", d->db_path, first);
	}
	diag_free(&c.problems);
	return 0;
}

int
daemon_checkpoint(struct daemon *d, struct store *st, const char *reason)
{
	struct audit_checkpoint cp;
	err_t e;
	int r;

	if (!d->activated || d->audit == NULL || d->audit_key.pkey == NULL)
		return 0;
	r = audit_mirror_checkpoint(d->audit, st, d->audit_key.pkey,
	    d->audit_cert_sha256, reason, time(NULL), &cp, &e);
	if (r == ERR_NOTFOUND)
		return 0;
	if (r != 0) {
		(void)event_emit(daemon_event, daemon_sink(d),
		    "audit-checkpoint", EVENT_FAILED, NULL, NULL, NULL,
		    "%s: %s", reason, e.msg);
		return r;
	}
	pthread_mutex_lock(&d->lock);
	d->checkpoint_seq = cp.seq;
	d->checkpoint_at = cp.time;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int
daemon_audit_file_line(void *ctx, const char *line, size_t len, err_t *err)
{
	struct daemon_audit_file *f = ctx;

	return f->put(f->wctx, line, len, err);
}

static int
daemon_audit_file_fn(void *ctx, export_put_fn put, void *wctx, err_t *err)
{
	struct daemon_audit_file *f = ctx;

	f->put = put;
	f->wctx = wctx;
	return audit_log_text(f->st, f->from, f->to, daemon_audit_file_line,
	    f, err);
}

void
daemon_audit_file(struct daemon_audit_file *f, struct store *st,
    const char *name, int64_t from, int64_t to)
{
	memset(f, 0, sizeof(*f));
	f->st = st;
	f->from = from;
	f->to = to;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->stream.name = f->name;
	f->stream.fn = daemon_audit_file_fn;
	f->stream.ctx = f;
}

/* The last record that reached a medium (0: none yet). */
static int
daemon_audit_exported_seq(struct store *st, int64_t *seq, err_t *err)
{
	char *v = NULL, *end;
	int r;

	*seq = 0;
	if ((r = store_meta_get(st, AUDIT_META_EXPORTED, &v, err)) ==
	    ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	*seq = strtoll(v, &end, 10);
	if (*end != '\0' || *seq < 0)
		r = err_set(err, ERR_INVALID, "%s: %s is '%s', not a record "
		    "number", store_path(st), AUDIT_META_EXPORTED, v);
	free(v);
	return r;
}

int
daemon_audit_segment(struct daemon *d, struct store *st,
    struct daemon_audit_file *seg, int64_t *to_seq, err_t *err)
{
	char name[96];
	int64_t from;
	int r;

	*to_seq = 0;
	if ((r = daemon_checkpoint(d, st, "export")) != 0)
		return err_set(err, r, "no checkpoint could be made for the "
		    "export");
	if ((r = daemon_audit_exported_seq(st, &from, err)) != 0)
		return r;
	from++;
	*to_seq = audit_mirror_seq(d->audit);
	if (*to_seq < from) {
		/* Nothing new (cannot happen: every export is recorded). */
		*to_seq = 0;
		return 0;
	}
	snprintf(name, sizeof(name), "audit-%lld-%lld.log", (long long)from,
	    (long long)*to_seq);
	daemon_audit_file(seg, st, name, from, *to_seq);
	return 0;
}

int
daemon_audit_exported(struct store *st, int64_t to_seq, err_t *err)
{
	char v[32];
	int64_t prev;
	int r;

	if (to_seq <= 0)
		return 0;
	if ((r = daemon_audit_exported_seq(st, &prev, err)) != 0)
		return r;
	if (to_seq <= prev)
		return 0;
	snprintf(v, sizeof(v), "%lld", (long long)to_seq);
	return store_meta_set(st, AUDIT_META_EXPORTED, v, err);
}

void
daemon_audit_status(struct daemon *d, struct store *st, buf_t *out)
{
	char hash[AUDIT_HASH_HEX];
	int64_t head = 0, exported = 0, cp_seq;
	time_t cp_at;
	err_t e;

	if (audit_log_head(st, &head, hash, &e) != 0) {
		(void)buf_printf(out, "Audit log:   cannot read: %s\n", e.msg);
		return;
	}
	(void)daemon_audit_exported_seq(st, &exported, &e);
	pthread_mutex_lock(&d->lock);
	cp_seq = d->checkpoint_seq;
	cp_at = d->checkpoint_at;
	pthread_mutex_unlock(&d->lock);
	(void)buf_printf(out, "Audit log:   %lld records (%s), head %.16s...; "
	    "on a medium up to record %lld\n", (long long)head,
	    audit_mirror_path(d->audit), hash, (long long)exported);
	if (cp_seq > 0) {
		char when[TIMEUTIL_STRLEN];

		timeutil_format(cp_at, when);
		(void)buf_printf(out, "             last checkpoint: record %lld "
		    "at %s%s\n", (long long)cp_seq, when, head > cp_seq ?
		    " (later records are signed at the next one)" : "");
	} else
		(void)buf_printf(out, "             no checkpoint since the "
		    "daemon started: one is made at activation\n");
	if (d->audit_note[0] != '\0')
		(void)buf_printf(out, "             WARNING: %s\n", d->audit_note);
}
