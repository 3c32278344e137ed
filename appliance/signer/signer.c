/*
 * signer.c: issuing an approved batch (see signer.h).
 *
 * The run is a three-stage pipeline over groups of lines, so that neither
 * the HSM nor the cores wait for each other:
 *
 *   group k:    prepare -> reserve -> sign -> issue
 *   group k+1:             prepare -> reserve -> sign -> issue
 *   group k+2:                        prepare -> reserve -> sign -> issue
 *
 * While the signing crew has group k+1's TBS in the HSM and the calling
 * thread issues group k (the queue's checks and the commit), the
 * preparing crew builds group k+2. The calling thread then reserves it,
 * waits for group k+1's signatures and sends group k+2 to the HSM. So at
 * most three groups are in memory and at most two are reserved at once,
 * and the store is only ever touched by the calling thread.
 */
#include "signer/signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/extkey.h"
#include "queue/queue.h"
#include "signer/crew.h"
#include "signer/line.h"
#include "util/text.h"

/* Draws of a new serial after collisions before the run gives up. */
#define SIGNER_SERIAL_RETRIES 8
/* hsm_random's most bytes per call. */
#define SIGNER_RANDOM_MAX 1024
/*
 * Threads waiting on the HSM. A waiting thread costs no CPU, and hsm.h
 * does not say how many sessions the pool has, so enough are started to
 * keep a large pool busy; the pool queues the rest.
 */
#define SIGNER_SIGN_THREADS 16

size_t
signer_key_aad(int64_t batch, int64_t line, char *out, size_t outsz)
{
	int n;

	if (out == NULL || outsz == 0)
		return 0;
	n = snprintf(out, outsz, "airlock-key\nbatch: %lld\nline: %lld\n",
	    (long long)batch, (long long)line);
	if (n < 0 || (size_t)n >= outsz) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* --- the run ---------------------------------------------------------- */

struct signer_run {
	struct signer_ctx c;
	const struct signer_opts *o;
	struct signer_crew prep, sign;
	struct signer_progress pr;
	size_t group;
	unsigned threads;
};

static void
signer_group_free(struct signer_group *g)
{
	size_t i;

	for (i = 0; g->v != NULL && i < g->n; i++)
		signer_slot_free(&g->v[i]);
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

/* Collects pending lines into a group (callback: no store writes). */
struct signer_fetch {
	struct signer_group *g;
	size_t cap;
	int rc;
	err_t *err;
};

static char *
signer_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int
signer_fetch_line(void *ctx, const struct queue_line *l)
{
	struct signer_fetch *f = ctx;
	struct signer_slot *s;

	if (f->g->n >= f->cap)
		return 0;
	s = &f->g->v[f->g->n];
	signer_slot_init(s, l->line);
	f->g->n++;
	if ((l->mac != NULL && (s->mac = signer_dup(l->mac)) == NULL) ||
	    (l->fields != NULL && (s->fields = signer_dup(l->fields)) ==
	    NULL))
		return err_set(f->err, ERR_NOMEM, "out of memory");
	if (l->request_der != NULL && l->request_der_len > 0) {
		if ((s->req = malloc(l->request_der_len)) == NULL)
			return err_set(f->err, ERR_NOMEM, "out of memory");
		memcpy(s->req, l->request_der, l->request_der_len);
		s->req_len = l->request_der_len;
	}
	return 0;
}

/* A reserved line: its TBS as stored, signed again exactly. */
static int
signer_fetch_reserved(void *ctx, const struct queue_line *l)
{
	struct signer_fetch *f = ctx;
	struct signer_slot *s;
	struct signer_slot *v;

	if (f->g->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;

		if ((v = realloc(f->g->v, cap * sizeof(*v))) == NULL)
			return err_set(f->err, ERR_NOMEM, "out of memory");
		f->g->v = v;
		f->cap = cap;
	}
	s = &f->g->v[f->g->n];
	signer_slot_init(s, l->line);
	f->g->n++;
	if (l->tbs == NULL || l->tbs_len == 0)
		return err_set(f->err, ERR_INTERNAL, "reserved line %lld has "
		    "no TBS", (long long)l->line);
	if (buf_put(&s->tbs, l->tbs, l->tbs_len) != 0)
		return err_set(f->err, ERR_LIMIT, "reserved line %lld: its TBS "
		    "is too large", (long long)l->line);
	return 0;
}

/* Draws a fresh serial for each slot still OK, in bulk from the HSM. */
static int
signer_draw_serials(struct signer_run *R, struct signer_slot *v, size_t n,
    err_t *err)
{
	unsigned char rnd[SIGNER_RANDOM_MAX];
	size_t i = 0, per = SIGNER_RANDOM_MAX / CERTBUILD_SERIAL_LEN;
	int r = 0;

	while (i < n) {
		size_t k = n - i < per ? n - i : per, j, len;

		if ((r = hsm_random(R->o->pool, rnd, k * CERTBUILD_SERIAL_LEN,
		    err)) != 0)
			break;
		for (j = 0; j < k; j++)
			if (certbuild_serial(rnd + j * CERTBUILD_SERIAL_LEN,
			    CERTBUILD_SERIAL_LEN, v[i + j].serial, &len) != 0) {
				r = err_set(err, ERR_INTERNAL, "cannot make a "
				    "serial");
				break;
			}
		i += k;
		if (r != 0)
			break;
	}
	explicit_bzero(rnd, sizeof(rnd));
	return r;
}

/* Ends a line the profile refused, with the reason as its message. */
static int
signer_fail_line(struct signer_run *R, struct signer_slot *s, err_t *err)
{
	const char *msg = s->err.msg;

	/* queue_fail takes printable UTF-8 only; the reason always is. */
	if (msg[0] == '\0' || !text_clean(msg))
		msg = "refused by the profile (the reason cannot be shown)";
	if (queue_fail(R->o->st, R->o->batch_id, s->line, msg, err) != 0)
		return err_prefix(err, "line %lld", (long long)s->line);
	R->pr.failed++;
	R->pr.pending--;
	return 0;
}

/* The slot whose serial a collision message names, or NULL. */
static struct signer_slot *
signer_collided(struct signer_group *g, const char *msg)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->v[i].state == SIGNER_SLOT_OK &&
		    strstr(msg, g->v[i].serial_hex) != NULL)
			return &g->v[i];
	return NULL;
}

/*
 * Reserves a prepared group's good lines in one transaction, drawing a
 * new serial for a line whose serial the CA already used. Refused lines
 * are failed first. On return the group holds only reserved slots in
 * state OK (others were failed) or the run stops with the error.
 */
static int
signer_reserve(struct signer_run *R, struct signer_group *g, err_t *err)
{
	struct queue_reservation *rv = NULL;
	size_t i;
	int attempt, r = 0;

	for (i = 0; i < g->n; i++) {
		struct signer_slot *s = &g->v[i];

		if (s->state == SIGNER_SLOT_FATAL) {
			*err = s->err;
			return s->rc != 0 ? s->rc : ERR_INTERNAL;
		}
	}
	for (i = 0; i < g->n; i++)
		if (g->v[i].state == SIGNER_SLOT_FAILED &&
		    (r = signer_fail_line(R, &g->v[i], err)) != 0)
			return r;
	if ((rv = calloc(g->n ? g->n : 1, sizeof(*rv))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (attempt = 0; ; attempt++) {
		struct signer_slot *s;
		size_t n = 0;

		for (i = 0; i < g->n; i++) {
			s = &g->v[i];
			if (s->state != SIGNER_SLOT_OK)
				continue;
			rv[n].line = s->line;
			rv[n].serial = s->serial_hex;
			rv[n].tbs = s->tbs.data;
			rv[n].tbs_len = s->tbs.len;
			rv[n].key_enc = s->key_enc.len > 0 ? s->key_enc.data :
			    NULL;
			rv[n].key_enc_len = s->key_enc.len;
			rv[n].note = s->note;
			n++;
		}
		if (n == 0) {
			r = 0;
			break;
		}
		if ((r = queue_reserve(R->o->st, R->o->batch_id, rv, n,
		    err)) != ERR_EXISTS)
			break;
		if (attempt + 1 >= SIGNER_SERIAL_RETRIES) {
			err_prefix(err, "after %d draws", attempt + 1);
			break;
		}
		/*
		 * A serial the CA used before (or twice in this group):
		 * nothing of the group was kept, so draw again for that line,
		 * or for every line when the message names none of ours.
		 */
		if ((s = signer_collided(g, err->msg)) != NULL) {
			if ((r = signer_draw_serials(R, s, 1, err)) != 0 ||
			    (r = signer_line_finish(&R->c, s, R->threads,
			    err)) != 0)
				break;
			continue;
		}
		if ((r = signer_draw_serials(R, g->v, g->n, err)) != 0)
			break;
		for (i = 0; i < g->n && r == 0; i++)
			if (g->v[i].state == SIGNER_SLOT_OK)
				r = signer_line_finish(&R->c, &g->v[i],
				    R->threads, err);
		if (r != 0)
			break;
	}
	free(rv);
	if (r != 0)
		return r;
	/* Reserved: the X509 objects and keys are no longer needed. */
	for (i = 0; i < g->n; i++) {
		X509_free(g->v[i].x);
		g->v[i].x = NULL;
		buf_free(&g->v[i].key_enc);
	}
	return 0;
}

/*
 * Fetches the next group of pending lines and sets the preparing crew on
 * it; signer_group_finish waits for it. g is empty when no line is
 * pending.
 */
static int
signer_group_start(struct signer_run *R, struct signer_group *g, err_t *err)
{
	struct signer_fetch f;
	int r;

	memset(g, 0, sizeof(*g));
	g->c = &R->c;
	if ((g->v = calloc(R->group, sizeof(*g->v))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	f.g = g;
	f.cap = R->group;
	f.rc = 0;
	f.err = err;
	if ((r = queue_next_pending(R->o->st, R->o->batch_id, R->group,
	    signer_fetch_line, &f, err)) != 0 ||
	    g->n == 0 ||
	    (r = signer_draw_serials(R, g->v, g->n, err)) != 0)
		return r;
	signer_crew_run(&R->prep, signer_line_prepare, g, g->n);
	return 0;
}

/*
 * Waits for a started group and reserves it. A group whose lines all
 * failed is followed by the next, so an empty g on return means the batch
 * has no pending line left.
 */
static int
signer_group_finish(struct signer_run *R, struct signer_group *g,
    err_t *err)
{
	size_t i;

	for (;;) {
		int r;

		if (g->n == 0)
			return 0;
		signer_crew_wait(&R->prep);
		if ((r = signer_reserve(R, g, err)) != 0)
			return r;
		for (i = 0; i < g->n; i++)
			if (g->v[i].state == SIGNER_SLOT_OK)
				return 0;
		signer_group_free(g);
		if ((r = signer_group_start(R, g, err)) != 0)
			return r;
	}
}

/* Records a signed group in one transaction and tells the caller. */
static int
signer_issue(struct signer_run *R, struct signer_group *g, err_t *err)
{
	struct queue_issued *v;
	size_t i, n = 0;
	int r;

	for (i = 0; i < g->n; i++)
		if (g->v[i].state == SIGNER_SLOT_FATAL) {
			*err = g->v[i].err;
			return err_prefix(err, "line %lld",
			    (long long)g->v[i].line);
		}
	if ((v = calloc(g->n ? g->n : 1, sizeof(*v))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < g->n; i++) {
		if (g->v[i].state != SIGNER_SLOT_OK)
			continue;
		v[n].line = g->v[i].line;
		v[n].cert_der = g->v[i].cert.data;
		v[n].cert_der_len = g->v[i].cert.len;
		n++;
	}
	r = n > 0 ? queue_issue_ev(R->o->st, R->o->batch_id, v, n,
	    R->o->event, R->o->event_ctx, err) : 0;
	free(v);
	if (r != 0)
		return r;
	R->pr.issued += (int64_t)n;
	R->pr.pending -= (int64_t)n;
	if (R->o->progress != NULL)
		R->o->progress(R->o->progress_ctx, &R->pr);
	return 0;
}

/* Signs and issues the lines a previous run left reserved. */
static int
signer_resume(struct signer_run *R, err_t *err)
{
	struct signer_group g = { 0 }, part;
	struct signer_fetch f = { 0 };
	size_t off;
	int r;

	g.c = &R->c;
	f.g = &g;
	f.err = err;
	if ((r = queue_reserved(R->o->st, R->o->batch_id,
	    signer_fetch_reserved, &f, err)) != 0)
		goto out;
	for (off = 0; off < g.n; off += part.n) {
		part.c = &R->c;
		part.v = g.v + off;
		part.n = g.n - off < R->group ? g.n - off : R->group;
		signer_crew_run(&R->sign, signer_line_sign, &part, part.n);
		signer_crew_wait(&R->sign);
		if ((r = signer_issue(R, &part, err)) != 0)
			goto out;
	}
out:
	signer_group_free(&g);
	return r;
}

static int
signer_stopped(const struct signer_opts *o)
{
	return o->stop != NULL && *o->stop;
}

/* The pipeline of the file comment, from the first pending group. */
static int
signer_pending(struct signer_run *R, err_t *err)
{
	/* The crews hold pointers to these: rotate pointers, never copy. */
	struct signer_group groups[3], *cur = &groups[0], *next = &groups[1];
	struct signer_group *after = &groups[2], *t;
	int r, preparing = 0, signing = 0;

	memset(groups, 0, sizeof(groups));
	if (signer_stopped(R->o))
		return 0;
	if ((r = signer_group_start(R, cur, err)) != 0 ||
	    (r = signer_group_finish(R, cur, err)) != 0 || cur->n == 0)
		goto out;
	signer_crew_run(&R->sign, signer_line_sign, cur, cur->n);
	signing = 1;
	if (!signer_stopped(R->o)) {
		if ((r = signer_group_start(R, next, err)) != 0)
			goto out;
		preparing = next->n > 0;
	}
	for (;;) {
		/* next: prepared by now or soon; reserve it. */
		if (preparing) {
			preparing = 0;
			if ((r = signer_group_finish(R, next, err)) != 0)
				goto out;
		}
		/* cur stays reserved on any error: the next run signs it. */
		signer_crew_wait(&R->sign);
		signing = 0;
		if (next->n > 0) {
			signer_crew_run(&R->sign, signer_line_sign, next,
			    next->n);
			signing = 1;
			if (!signer_stopped(R->o)) {
				if ((r = signer_group_start(R, after,
				    err)) != 0)
					goto out;
				preparing = after->n > 0;
			}
		}
		r = signer_issue(R, cur, err);
		signer_group_free(cur);
		if (r != 0 || next->n == 0)
			goto out;
		t = cur;
		cur = next;
		next = after;
		after = t;
	}
out:
	if (preparing)
		signer_crew_wait(&R->prep);
	if (signing)
		signer_crew_wait(&R->sign);
	signer_group_free(&groups[0]);
	signer_group_free(&groups[1]);
	signer_group_free(&groups[2]);
	return r;
}

/* Checks the options and fills the parts of the run every line shares. */
static int
signer_setup(struct signer_run *R, const struct signer_opts *o, err_t *err)
{
	const ASN1_TIME *na;
	EVP_PKEY *ca_pub;
	struct tm tm;
	unsigned i;

	memset(R, 0, sizeof(*R));
	R->o = o;
	if (o->st == NULL || o->profile == NULL || o->issuer == NULL ||
	    o->issuer_key == NULL || o->pool == NULL || o->batch_id <= 0)
		return err_set(err, ERR_INVALID, "signer_run needs a store, a "
		    "batch, its profile, the issuer with its HSM key and the "
		    "pool");
	R->group = o->group != 0 ? o->group : SIGNER_GROUP;
	if (R->group > QUEUE_MAX_GROUP)
		return err_set(err, ERR_INVALID, "a group of %zu lines is more "
		    "than the queue takes (%d)", R->group, QUEUE_MAX_GROUP);
	R->threads = o->threads;
	if (R->threads == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		R->threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (R->threads > SIGNER_MAX_THREADS)
		R->threads = SIGNER_MAX_THREADS;
	ca_pub = (EVP_PKEY *)(uintptr_t)hsm_key_public(o->issuer_key);
	if (ca_pub == NULL || X509_get0_pubkey(o->issuer) == NULL ||
	    EVP_PKEY_eq(ca_pub, X509_get0_pubkey(o->issuer)) != 1) {
		ERR_clear_error();
		return err_set(err, ERR_INVALID, "the issuer certificate is "
		    "not the HSM key's");
	}
	R->c.o = o;
	R->c.p = o->profile;
	R->c.issuer = o->issuer;
	R->c.ca_type = EVP_PKEY_get_base_id(ca_pub);
	if (R->c.ca_type != EVP_PKEY_RSA && R->c.ca_type != EVP_PKEY_EC)
		return err_set(err, ERR_INVALID, "the CA key is neither RSA "
		    "nor EC");
	if ((R->c.md = profile_md(o->profile)) == NULL)
		return err_set(err, ERR_INVALID, "profile %s names a digest "
		    "it may not use", o->profile->name);
	profile_lint_opts(o->profile, &R->c.lint);
	na = X509_get0_notAfter(o->issuer);
	if (na == NULL || !ASN1_TIME_to_tm(na, &tm))
		return err_set_ossl(err, ERR_INVALID, "the issuer's notAfter "
		    "does not decode");
	R->c.issuer_not_after = timegm(&tm);
	/*
	 * Caches the issuer's extensions now, on this thread: the workers
	 * read them (SKI for the AKI, CA flags for lint) concurrently.
	 */
	(void)X509_check_purpose(o->issuer, -1, 0);
	(void)X509_get0_subject_key_id(o->issuer);
	R->c.n_null = R->threads + 1;
	if ((R->c.null_signers = calloc(R->c.n_null,
	    sizeof(*R->c.null_signers))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < R->c.n_null; i++)
		if ((R->c.null_signers[i] = extkey_null_signer(ca_pub)) ==
		    NULL)
			return err_set_ossl(err, ERR_CRYPTO, "cannot make a "
			    "null signer for the CA key");
	return 0;
}

/* The counts the progress callback and *out report, from the store. */
static int
signer_counts(struct signer_run *R, err_t *err)
{
	struct queue_batch b;
	int r;

	if ((r = queue_batch_get(R->o->st, R->o->batch_id, &b, err)) != 0)
		return r;
	if (b.state != QUEUE_ISSUING) {
		r = err_set(err, ERR_INVALID, "batch #%lld is '%s', not "
		    "issuing", (long long)R->o->batch_id,
		    queue_state_name(b.state));
	}
	R->pr.batch_id = R->o->batch_id;
	R->pr.lines = b.line_count;
	R->pr.issued = b.issued;
	R->pr.failed = b.failed;
	R->pr.pending = b.pending + b.reserved;
	queue_batch_free(&b);
	return r;
}

int
signer_run(const struct signer_opts *o, struct signer_progress *out,
    err_t *err)
{
	struct signer_run R;
	unsigned i;
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (o == NULL)
		return err_set(err, ERR_INVALID, "signer_run: no options");
	if ((r = signer_setup(&R, o, err)) != 0 ||
	    (r = signer_counts(&R, err)) != 0)
		goto out;
	if ((r = signer_crew_start(&R.prep, R.threads, "preparing",
	    err)) != 0 ||
	    (r = signer_crew_start(&R.sign, R.threads > SIGNER_SIGN_THREADS ?
	    R.threads : SIGNER_SIGN_THREADS, "signing", err)) != 0)
		goto out;
	if ((r = signer_resume(&R, err)) != 0 ||
	    (r = signer_pending(&R, err)) != 0)
		goto out;
	if (signer_stopped(o)) {
		int64_t left = 0;

		if ((r = queue_pending_count(o->st, o->batch_id, &left,
		    err)) != 0)
			goto out;
		if (left > 0)
			r = err_set(err, ERR_AGAIN, "stopped with %lld lines "
			    "of batch #%lld still pending", (long long)left,
			    (long long)o->batch_id);
	}
out:
	signer_crew_stop(&R.prep);
	signer_crew_stop(&R.sign);
	for (i = 0; R.c.null_signers != NULL && i < R.c.n_null; i++)
		EVP_PKEY_free(R.c.null_signers[i]);
	free(R.c.null_signers);
	if (out != NULL)
		*out = R.pr;
	ERR_clear_error();
	return r;
}
