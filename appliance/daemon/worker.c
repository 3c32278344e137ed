/*
 * worker.c: the daemon's worker thread, which moves work along the flow
 * while the daemon is activated: inbox/ (intake) -> approved batches
 * (signer) -> due exports (outbox/).
 *
 * It has its own store connection and holds the activation for reading
 * while it works, so that deactivation waits for a signing run to reach
 * a safe point rather than pulling keys from under it. Every step can be
 * cut by a crash and is resumed from the records on the next cycle: a
 * batch left issuing is signed on (signer.h), an export left approved is
 * written again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/audit.h"
#include "daemon/crl.h"
#include "daemon/daemon.h"
#include "export/run.h"
#include "pki/vault.h"
#include "queue/queue.h"
#include "signer/signer.h"
#include "util/fileio.h"

/* Batches or exports handled in one cycle (the rest wait for the next). */
#define WORKER_MAX_IDS 256

struct worker {
	struct daemon *d;
	struct store *st;
	struct intake *in;
	unsigned generation;
	struct export_retry retry;	/* batch exports (export/fault.h) */
	char intake_failed[ERR_MSG_MAX];	/* the last intake failure */
};

/*
 * Where export_run's events go: on to the worker's sink, except its
 * "export-failed", which the worker reports itself once per kind of
 * fault (daemon_export_failed) rather than at every retry.
 */
static int
worker_export_event(void *ctx, const struct event *ev)
{
	if (ev->outcome == EVENT_FAILED &&
	    strcmp(ev->action, "export-failed") == 0)
		return 0;
	return daemon_event(ctx, ev);
}

int
daemon_export_due(const struct export_retry *rt, const char *outbox)
{
	struct export_medium m;

	export_medium_probe(outbox, &m);
	return export_retry_due(rt, &m, time(NULL));
}

int
daemon_export_failed(struct daemon *d, struct export_retry *rt,
    char *status, size_t statussz, const char *outbox, const char *what,
    int code, const char *msg, char *details, size_t detailssz)
{
	struct export_medium m;
	enum export_fault f;
	time_t now = time(NULL);
	int report;

	export_medium_probe(outbox, &m);
	f = export_fault_classify(code, msg, &m);
	report = export_retry_failed(rt, f, &m, now);
	snprintf(details, detailssz, "%s: %s; it stays pending and is tried "
	    "again when the medium changes or in %u s: %s",
	    export_fault_name(f), msg, export_retry_delay(rt->failures),
	    export_fault_advice(f));
	pthread_mutex_lock(&d->lock);
	snprintf(status, statussz, "%s waits (%s, %u attempts): %s", what,
	    export_fault_name(f), rt->failures, export_fault_advice(f));
	pthread_mutex_unlock(&d->lock);
	return report;
}

void
daemon_export_ok(struct daemon *d, struct export_retry *rt, char *status)
{
	(void)export_retry_ok(rt);
	pthread_mutex_lock(&d->lock);
	status[0] = '\0';
	pthread_mutex_unlock(&d->lock);
}

/* A failed batch export, reported once per kind of fault. */
static void
worker_export_failed(struct worker *w, const char *object, const char *what,
    const char *outbox, int code, const char *msg)
{
	char details[2 * ERR_MSG_MAX];

	if (daemon_export_failed(w->d, &w->retry, w->d->export_fault,
	    sizeof(w->d->export_fault), outbox, what, code, msg, details,
	    sizeof(details)))
		(void)event_emit(daemon_event, daemon_sink(w->d),
		    "export-failed", EVENT_FAILED, NULL, NULL, object, "%s",
		    details);
}

static void
worker_state(struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
worker_state(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&d->lock);
	va_start(ap, fmt);
	vsnprintf(d->worker_state, sizeof(d->worker_state), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&d->lock);
}

/* Opens a secret sealed to the transport key (the HSM decrypts). */
static int
worker_open_secret(struct daemon *d, const unsigned char *blob, size_t len,
    secret_t **out, err_t *err)
{
	int r;

	*out = NULL;
	if (blob == NULL)
		return 0;
	if ((r = secret_new(out)) != 0)
		return err_set(err, r, "out of memory");
	if ((r = vault_open(d->transport_key.pkey, blob, len, *out,
	    err)) != 0) {
		secret_free(*out);
		*out = NULL;
	}
	return r;
}

struct worker_ids {
	int64_t v[WORKER_MAX_IDS];
	size_t n;
};

static int
worker_collect_batch(void *ctx, const struct queue_batch *b)
{
	struct worker_ids *ids = ctx;

	if (ids->n < WORKER_MAX_IDS)
		ids->v[ids->n++] = b->id;
	return 0;
}

static int
worker_collect_export(void *ctx, const struct queue_export *e)
{
	struct worker_ids *ids = ctx;

	if (e->state == QUEUE_EXPORT_APPROVED && ids->n < WORKER_MAX_IDS)
		ids->v[ids->n++] = e->id;
	return 0;
}

static void
worker_progress(void *ctx, const struct signer_progress *p)
{
	struct worker *w = ctx;
	struct daemon *d = w->d;

	/* The group's certificate records are committed: into the copy. */
	daemon_sink_committed(&d->worker_sink);
	worker_state(d, "issuing batch %lld: %lld of %lld lines issued, "
	    "%lld failed", (long long)p->batch_id, (long long)p->issued,
	    (long long)p->lines, (long long)p->failed);
}

static void
worker_issue(struct worker *w, int64_t id)
{
	struct daemon *d = w->d;
	struct queue_batch b;
	const struct profile *p;
	struct daemon_ca *ca;
	struct signer_opts o;
	struct signer_progress res;
	enum queue_batch_state final;
	secret_t *data_key = NULL;
	char object[64], run[64];
	int64_t eid;
	err_t e;
	int r;

	err_clear(&e);
	snprintf(object, sizeof(object), "batch=%lld", (long long)id);
	if (queue_batch_get(w->st, id, &b, &e) != 0) {
		event_emit(daemon_event, daemon_sink(d), "batch-issue", EVENT_FAILED, NULL,
		    NULL, object, "%s", e.msg);
		return;
	}
	if ((p = profile_find(&d->profiles, b.profile)) == NULL ||
	    (ca = daemon_ca_by_id(d, b.ca_id)) == NULL || ca->key == NULL) {
		/* Waits (the batch stays issuing) until an officer restores
		 * the profile or activates on the token with the CA key. */
		worker_state(d, "batch %lld waits: %s", (long long)id,
		    p == NULL ? "its profile is not installed" :
		    "its CA key is not available");
		queue_batch_free(&b);
		return;
	}
	/* The run's own check: the host may have changed since the pass
	 * began, and an override is announced for each run. */
	snprintf(run, sizeof(run), "batch %lld", (long long)id);
	if (daemon_airgap_check(d, run, object, 0, &e) != 0) {
		worker_state(d, "batch %lld waits: %s", (long long)id, e.msg);
		queue_batch_free(&b);
		return;
	}
	if (worker_open_secret(d, b.data_key_wrapped, b.data_key_wrapped_len,
	    &data_key, &e) != 0) {
		event_emit(daemon_event, daemon_sink(d), "batch-issue", EVENT_FAILED, NULL,
		    NULL, object, "cannot open the batch's data key: %s",
		    e.msg);
		queue_batch_free(&b);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.st = w->st;
	o.batch_id = id;
	o.profile = p;
	o.issuer = ca->cert;
	o.issuer_key = ca->key;
	o.pool = d->pool;
	o.data_key = data_key;
	o.threads = d->cfg.signer_threads;
	o.group = d->cfg.signer_group;
	o.now = time(NULL);
	o.event = daemon_event;
	o.event_ctx = &d->worker_sink;
	o.progress = worker_progress;
	o.progress_ctx = w;
	o.stop = &d->interrupt;
	worker_state(d, "issuing batch %lld", (long long)id);
	r = signer_run(&o, &res, &e);
	secret_free(data_key);
	if (r == ERR_AGAIN) {
		queue_batch_free(&b);
		return;
	}
	if (r != 0) {
		event_emit(daemon_event, daemon_sink(d), "batch-issue", EVENT_FAILED, NULL,
		    NULL, object, "signing stopped, to resume on the next "
		    "cycle: %s", e.msg);
		queue_batch_free(&b);
		return;
	}
	/* The batch's end, its record and its first export: one step. */
	if ((r = daemon_step_begin(d, &e)) == 0 &&
	    (r = queue_batch_finish(w->st, id, &final, &e)) == 0)
		r = daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
		    "batch-issued", final == QUEUE_FAILED ? EVENT_FAILED :
		    EVENT_OK, NULL, NULL, object, "%s: %lld issued, %lld "
		    "failed of %lld lines (profile %s, CA %s)",
		    queue_state_name(final), (long long)res.issued,
		    (long long)res.failed, (long long)b.line_count, b.profile,
		    ca->name), &e);
	if (r == 0 && final != QUEUE_FAILED)
		r = queue_export_first(w->st, id, &eid, &e);
	r = daemon_step_end(d, r, &e);
	if (r != 0) {
		event_emit(daemon_event, daemon_sink(d), "batch-issue",
		    EVENT_FAILED, NULL, NULL, object, "%s", e.msg);
		queue_batch_free(&b);
		return;
	}
	(void)daemon_checkpoint(d, w->st, "batch-completed");
	queue_batch_free(&b);
}

static void
worker_batches(struct worker *w)
{
	struct daemon *d = w->d;
	struct worker_ids ids;
	enum queue_batch_state s;
	size_t i;
	err_t e;

	err_clear(&e);
	ids.n = 0;
	s = QUEUE_APPROVED;
	if (queue_batch_list(w->st, &s, worker_collect_batch, &ids, &e) != 0)
		return;
	for (i = 0; i < ids.n; i++)
		if (queue_batch_transition(w->st, ids.v[i], QUEUE_APPROVED,
		    QUEUE_ISSUING, NULL, &e) != 0) {
			char object[64];

			snprintf(object, sizeof(object), "batch=%lld",
			    (long long)ids.v[i]);
			event_emit(daemon_event, daemon_sink(d), "batch-issue",
			    EVENT_FAILED, NULL, NULL, object, "%s", e.msg);
		}
	ids.n = 0;
	s = QUEUE_ISSUING;
	if (queue_batch_list(w->st, &s, worker_collect_batch, &ids, &e) != 0)
		return;
	for (i = 0; i < ids.n && !d->stop; i++)
		worker_issue(w, ids.v[i]);
}

/* The root above ca (NULL when ca is the root). */
static X509 *
worker_root(struct daemon *d, const struct daemon_ca *ca)
{
	const struct daemon_ca *c = ca;
	int depth = 0;

	while (c->parent_id != 0 && depth++ < 8) {
		const struct daemon_ca *p = daemon_ca_by_id(d, c->parent_id);

		if (p == NULL)
			break;
		c = p;
	}
	return c == ca ? NULL : c->cert;
}

static void
worker_export(struct worker *w, int64_t eid)
{
	struct daemon *d = w->d;
	struct queue_export x;
	struct queue_batch b;
	struct daemon_ca *ca;
	struct export_run_opts o;
	struct export_run_result res;
	secret_t *data_key = NULL, *password = NULL;
	struct daemon_audit_file audit;
	int64_t audit_to = 0;
	char outbox[4096], object[96], what[96];
	err_t e;
	int r;

	err_clear(&e);
	if (queue_export_get(w->st, eid, &x, &e) != 0)
		return;
	snprintf(object, sizeof(object), "export=%lld batch=%lld number=%lld",
	    (long long)eid, (long long)x.batch_id, (long long)x.number);
	snprintf(what, sizeof(what), "export %lld of batch %lld",
	    (long long)x.number, (long long)x.batch_id);
	if (!daemon_outbox(d, outbox, sizeof(outbox))) {
		/* Nothing was tried: it waits, and is not a failure. */
		worker_state(d, "%s waits for a medium with outbox/", what);
		pthread_mutex_lock(&d->lock);
		snprintf(d->export_fault, sizeof(d->export_fault), "%s waits "
		    "(medium absent): %s", what,
		    export_fault_advice(EXPORT_FAULT_ABSENT));
		pthread_mutex_unlock(&d->lock);
		queue_export_free(&x);
		return;
	}
	if (!daemon_export_due(&w->retry, outbox) ||
	    queue_batch_get(w->st, x.batch_id, &b, &e) != 0) {
		queue_export_free(&x);
		return;
	}
	if ((ca = daemon_ca_by_id(d, b.ca_id)) == NULL)
		goto out;
	if (worker_open_secret(d, b.data_key_wrapped, b.data_key_wrapped_len,
	    &data_key, &e) != 0 || worker_open_secret(d, b.secret_wrapped,
	    b.secret_wrapped_len, &password, &e) != 0) {
		err_prefix(&e, "cannot open the batch's secrets");
		worker_export_failed(w, object, what, outbox, e.code, e.msg);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.st = w->st;
	o.export_id = eid;
	o.outbox_dir = outbox;
	o.issuer = ca->cert;
	o.root = worker_root(d, ca);
	o.export_key = d->export_key.pkey;
	o.export_cert = d->export_key.cert;
	o.data_key = data_key;
	o.p12_password = password;
	o.now = time(NULL);
	o.event = worker_export_event;
	o.event_ctx = &d->worker_sink;
	worker_state(d, "writing %s", what);
	if ((r = daemon_audit_segment(d, w->st, &audit, &audit_to,
	    &e)) != 0) {
		err_prefix(&e, "the audit log to carry");
		worker_export_failed(w, object, what, outbox, e.code, e.msg);
		goto out;
	}
	o.audit = audit_to > 0 ? &audit.stream : NULL;
	r = export_run(&o, &res, &e);
	if (r != 0)
		worker_export_failed(w, object, what, outbox, r, e.msg);
	else {
		daemon_export_ok(d, &w->retry, d->export_fault);
		if (daemon_audit_exported(w->st, audit_to, &e) != 0)
			fprintf(stderr, "airlockd: %s\n", e.msg);
	}
out:
	secret_free(data_key);
	secret_free(password);
	queue_batch_free(&b);
	queue_export_free(&x);
}

static void
worker_exports(struct worker *w)
{
	struct worker_ids ids;
	size_t i;
	err_t e;

	ids.n = 0;
	if (queue_export_list(w->st, 0, worker_collect_export, &ids, &e) != 0)
		return;
	for (i = 0; i < ids.n && !w->d->stop; i++)
		worker_export(w, ids.v[i]);
}

/* Revocations, CRLs and their warnings (daemon/crl.h). */
static void
worker_crls(struct worker *w)
{
	char outbox[4096];
	int medium = daemon_outbox(w->d, outbox, sizeof(outbox));

	worker_state(w->d, "revocations and CRLs");
	daemon_crl_work(w->d, w->st, medium ? outbox : NULL, time(NULL));
}

static void
worker_intake(struct worker *w)
{
	struct daemon *d = w->d;
	struct intake_config c;
	size_t acc = 0, rej = 0;
	err_t e;

	err_clear(&e);
	if (w->in == NULL || w->generation != d->generation) {
		intake_free(w->in);
		w->in = NULL;
		daemon_intake_config(d, w->st, &c);
		if (intake_new(&c, &w->in, &e) != 0) {
			event_emit(daemon_event, daemon_sink(d), "intake", EVENT_FAILED,
			    NULL, NULL, NULL, "%s", e.msg);
			return;
		}
		w->generation = d->generation;
	}
	if (!daemon_medium_present(d)) {
		worker_state(d, "waiting for a medium");
		return;
	}
	worker_state(d, "looking at inbox/");
	if (intake_scan(w->in, &acc, &rej, &e) == 0) {
		w->intake_failed[0] = '\0';
		return;
	}
	/*
	 * A file that could not be quarantined (the medium read-only or
	 * full) or a store that cannot take it stays in inbox/ and is tried
	 * at every scan; the same failure is recorded once, not each time.
	 */
	if (strcmp(e.msg, w->intake_failed) == 0)
		return;
	snprintf(w->intake_failed, sizeof(w->intake_failed), "%s", e.msg);
	event_emit(daemon_event, daemon_sink(d), "intake", EVENT_FAILED, NULL,
	    NULL, NULL, "%s; the file stays in inbox/ and is tried again at "
	    "each scan", e.msg);
}

static void *
worker_main(void *arg)
{
	struct worker w;
	struct daemon *d = arg;
	err_t e;

	memset(&w, 0, sizeof(w));
	w.d = d;
	if (store_open(d->db_path, 0, &w.st, &e) == 0) {
		d->worker_sink.st = w.st;
		daemon_sink_bind(&d->worker_sink);
	} else {
		event_emit(daemon_event, daemon_sink(d), "worker", EVENT_FAILED, NULL, NULL,
		    NULL, "cannot open the store: %s", e.msg);
		return NULL;
	}
	while (!d->stop) {
		struct timespec until;

		pthread_rwlock_rdlock(&d->keys_lock);
		if (d->activated) {
			worker_intake(&w);
			/* Reading the medium signs nothing; the rest waits
			 * while the air-gap guard refuses (retried at the
			 * next pass, recorded once per finding). */
			if (daemon_airgap_check(d, NULL, NULL, 0, &e) != 0) {
				worker_state(d, "signing, CRLs and exports "
				    "wait: %s", e.msg);
			} else {
				worker_batches(&w);
				worker_crls(&w);
				worker_exports(&w);
				worker_state(d, "idle");
			}
		} else {
			intake_free(w.in);
			w.in = NULL;
			worker_state(d, "waiting for activation");
		}
		daemon_crl_warn(d, w.st, time(NULL));
		pthread_rwlock_unlock(&d->keys_lock);

		pthread_mutex_lock(&d->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += d->cfg.scan_interval_ms / 1000;
		until.tv_nsec += (long)(d->cfg.scan_interval_ms % 1000) *
		    1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!d->wake && !d->stop)
			if (pthread_cond_timedwait(&d->cond, &d->lock,
			    &until) != 0)
				break;
		d->wake = 0;
		pthread_mutex_unlock(&d->lock);
	}
	intake_free(w.in);
	daemon_sink_bind(NULL);
	d->worker_sink.st = NULL;
	store_close(w.st);
	return NULL;
}

int
daemon_worker_start(struct daemon *d, err_t *err)
{
	if (pthread_create(&d->worker, NULL, worker_main, d) != 0)
		return err_set(err, ERR_IO, "cannot start the worker thread");
	d->worker_started = 1;
	return 0;
}

void
daemon_worker_stop(struct daemon *d)
{
	if (!d->worker_started)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	d->interrupt = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->worker, NULL);
	d->worker_started = 0;
}
