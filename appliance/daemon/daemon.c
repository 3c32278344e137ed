/* daemon.c: see daemon.h. Loading the appliance's state; the event sink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/cmd_share.h"
#include "daemon/daemon.h"
#include "daemon/audit.h"
#include "daemon/crl.h"
#include "pki/pkiutil.h"
#include "role/rolelink.h"
#include "store/stmt.h"
#include "util/fileio.h"
#include "util/text.h"
#include "util/timeutil.h"

struct daemon_load {
	struct daemon *d;
	err_t *err;
};

static int
daemon_load_ca(void *ctx, const struct store_ca *ca)
{
	struct daemon_load *l = ctx;
	struct daemon *d = l->d;
	struct daemon_ca *c, *v;

	v = realloc(d->cas, (d->n_cas + 1) * sizeof(*v));
	if (v == NULL)
		return err_set(l->err, ERR_NOMEM, "out of memory");
	d->cas = v;
	c = &d->cas[d->n_cas];
	memset(c, 0, sizeof(*c));
	c->id = ca->id;
	c->parent_id = ca->parent_id;
	c->name = strdup(ca->name);
	c->purpose = strdup(ca->purpose);
	c->key_uri = strdup(ca->key_uri);
	d->n_cas++;
	if (c->name == NULL || c->purpose == NULL || c->key_uri == NULL)
		return err_set(l->err, ERR_NOMEM, "out of memory");
	if (pki_parse_cert(ca->cert_der, ca->cert_der_len, &c->cert,
	    l->err) != 0)
		return err_prefix(l->err, "CA '%s' in %s", ca->name,
		    store_path(d->st));
	if (strcmp(ca->purpose, "people") == 0 &&
	    sk_X509_push(d->people_cas, c->cert) > 0)
		X509_up_ref(c->cert);
	return 0;
}

static int
daemon_load_appkey(void *ctx, const struct store_appkey *k)
{
	struct daemon_load *l = ctx;
	struct daemon_appkey *a;

	if (strcmp(k->purpose, "export") == 0)
		a = &l->d->export_key;
	else if (strcmp(k->purpose, "transport") == 0)
		a = &l->d->transport_key;
	else if (strcmp(k->purpose, "audit") == 0)
		a = &l->d->audit_key;
	else
		return 0;
	if ((a->uri = strdup(k->key_uri)) == NULL)
		return err_set(l->err, ERR_NOMEM, "out of memory");
	if (pki_parse_cert(k->cert_der, k->cert_der_len, &a->cert,
	    l->err) != 0)
		return err_prefix(l->err, "%s appliance key", k->purpose);
	return 0;
}

int
daemon_open(struct daemon *d, const char *config_path, diag_t *diag,
    err_t *err)
{
	struct daemon_load l = { d, err };
	int r;

	memset(d, 0, sizeof(*d));
	pthread_rwlock_init(&d->keys_lock, NULL);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if ((r = config_load(config_path, &d->cfg, diag, err)) != 0)
		return r;
	if (fileio_join(d->db_path, sizeof(d->db_path), d->cfg.state_dir,
	    "airlock.db", err) != 0)
		return ERR_LIMIT;
	if ((r = store_open(d->db_path, 0, &d->st, err)) != 0) {
		if (r == ERR_NOTFOUND)
			err_prefix(err, "no appliance state: run `airlock init "
			    "--state %s` with the ceremony outputs first",
			    d->cfg.state_dir);
		return r;
	}
	if ((d->people_cas = sk_X509_new_null()) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((r = store_ca_list(d->st, daemon_load_ca, &l, err)) != 0 ||
	    (r = store_appkey_list(d->st, daemon_load_appkey, &l, err)) != 0)
		return r;
	if (sk_X509_num(d->people_cas) == 0)
		return err_set(err, ERR_INVALID, "%s has no people CA: "
		    "operators and officers cannot be recognised", d->db_path);
	if (d->transport_key.cert == NULL || d->export_key.cert == NULL ||
	    d->audit_key.cert == NULL)
		return err_set(err, ERR_INVALID, "%s lacks the appliance's "
		    "%s key: run the appliance ceremony and `airlock init`",
		    d->db_path, d->transport_key.cert == NULL ? "transport" :
		    d->export_key.cert == NULL ? "export" : "audit");
	d->sink.d = d;
	d->sink.st = d->st;
	d->worker_sink.d = d;
	if ((r = daemon_audit_open(d, err)) != 0)
		return r;
	if ((r = profile_load_dir(d->cfg.policies_dir, &d->profiles, diag,
	    err)) != 0 || (r = daemon_crl_load(d, diag, err)) != 0)
		return r;
	snprintf(d->worker_state, sizeof(d->worker_state), "idle");
	return 0;
}

static void
daemon_appkey_free(struct daemon_appkey *a)
{
	EVP_PKEY_free(a->pkey);
	hsm_key_free(a->key);
	X509_free(a->cert);
	free(a->uri);
	memset(a, 0, sizeof(*a));
}

void
daemon_close(struct daemon *d)
{
	size_t i;

	daemon_worker_stop(d);
	daemon_deactivate(d);
	cmd_share_close(d);
	for (i = 0; i < d->n_cas; i++) {
		free(d->cas[i].name);
		free(d->cas[i].purpose);
		free(d->cas[i].key_uri);
		X509_free(d->cas[i].cert);
	}
	free(d->cas);
	daemon_appkey_free(&d->export_key);
	daemon_appkey_free(&d->transport_key);
	daemon_appkey_free(&d->audit_key);
	sk_X509_pop_free(d->people_cas, X509_free);
	profile_set_free(&d->profiles);
	crlpolicy_free(&d->crl_policy);
	audit_mirror_close(d->audit);
	store_close(d->st);
	role_link_free(d->ingest);
	config_free(&d->cfg);
	pthread_rwlock_destroy(&d->keys_lock);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	memset(d, 0, sizeof(*d));
}

struct daemon_ca *
daemon_ca_by_id(struct daemon *d, int64_t id)
{
	size_t i;

	for (i = 0; i < d->n_cas; i++)
		if (d->cas[i].id == id)
			return &d->cas[i];
	return NULL;
}

struct daemon_ca *
daemon_ca_by_name(struct daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_cas; i++)
		if (strcmp(d->cas[i].name, name) == 0)
			return &d->cas[i];
	return NULL;
}

/* The sink the calling thread bound (the worker's), if any. */
static __thread struct daemon_sink *daemon_thread_sink;

void
daemon_sink_bind(struct daemon_sink *k)
{
	daemon_thread_sink = k;
}

struct daemon_sink *
daemon_sink(struct daemon *d)
{
	if (daemon_thread_sink != NULL && daemon_thread_sink->d == d)
		return daemon_thread_sink;
	return &d->sink;
}

/*
 * The actor's role as enrolled ("unknown" for a certificate we lack),
 * and into name, when the emitter gave none, the enrolled name.
 */
static const char *
daemon_event_role(struct store *st, const struct event *e, char *out,
    size_t outsz, char *name, size_t namesz)
{
	sqlite3_stmt *s;
	const unsigned char *v;
	int rc = SQLITE_OK;

	snprintf(name, namesz, "%s", e->actor_name != NULL ? e->actor_name :
	    "");
	if (e->actor_sha256 == NULL || e->actor_sha256[0] == '\0')
		return e->actor_name != NULL ? AUDIT_ROLE_CONSOLE :
		    AUDIT_ROLE_APPLIANCE;
	snprintf(out, outsz, "unknown");
	if (name[0] == '\0')
		snprintf(name, namesz, "unknown certificate");
	if (store_cached(st, STORE_CACHED_PERSON_ROLE, "SELECT role, name "
	    "FROM person WHERE sha256 = ?", &s, NULL) != 0)
		return out;
	store_bind_text(s, 1, e->actor_sha256, &rc);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    (v = sqlite3_column_text(s, 0)) != NULL) {
		snprintf(out, outsz, "%s", (const char *)v);
		if (e->actor_name == NULL &&
		    (v = sqlite3_column_text(s, 1)) != NULL)
			snprintf(name, namesz, "%s", (const char *)v);
	}
	sqlite3_reset(s);
	return out;
}

int
daemon_event(void *ctx, const struct event *e)
{
	struct daemon_sink *k = ctx;
	struct daemon *d = k->d;
	struct audit_entry ae;
	char when[TIMEUTIL_STRLEN], line[512], details[300], who[200];
	char role[AUDIT_WORD_MAX + 1], name[AUDIT_NAME_MAX + 1];
	time_t now = time(NULL);
	err_t ae_err;
	int r;

	memset(&ae, 0, sizeof(ae));
	ae.actor_sha256 = e->actor_sha256;
	ae.role = daemon_event_role(k->st, e, role, sizeof(role), name,
	    sizeof(name));
	ae.actor_name = name[0] != '\0' ? name : NULL;
	ae.action = e->action;
	ae.outcome = event_outcome_name(e->outcome);
	ae.objects = e->objects;
	ae.details = e->details;
	r = audit_log_append(k->st, &ae, now, NULL, &ae_err);
	if (r != 0) {
		k->failure = ae_err;
		fprintf(stderr, "airlockd: AUDIT LOG FAILURE: %s: the event "
		    "below is not in the audit log, and a step that needs its "
		    "record is not taken\n", ae_err.msg);
	} else {
		daemon_sink_committed(k);
	}
	if (e->bulk && r == 0)
		return 0;
	timeutil_format(now, when);
	text_show(e->details ? e->details : "", strlen(e->details ?
	    e->details : ""), 280, details, sizeof(details));
	if (e->actor_name != NULL)
		snprintf(who, sizeof(who), " by %s", e->actor_name);
	else
		who[0] = '\0';
	snprintf(line, sizeof(line), "%s %s%s%s%s: %s", e->action,
	    event_outcome_name(e->outcome), who, e->objects ? " " : "",
	    e->objects ? e->objects : "", details);
	/* The journal: one line per event, with the actor's fingerprint. */
	fprintf(stderr, "airlockd: %s event %s actor=%s\n", when, line,
	    e->actor_sha256 ? e->actor_sha256 : "appliance");
	fflush(stderr);
	pthread_mutex_lock(&d->lock);
	d->events[d->next_event].at = now;
	snprintf(d->events[d->next_event].line,
	    sizeof(d->events[d->next_event].line), "%s", line);
	d->next_event = (d->next_event + 1) % DAEMON_EVENTS;
	if (d->n_events < DAEMON_EVENTS)
		d->n_events++;
	pthread_mutex_unlock(&d->lock);
	return r;
}

int
daemon_step_begin(struct daemon *d, err_t *e)
{
	return store_begin(daemon_sink(d)->st, e);
}

void
daemon_sink_committed(void *ctx)
{
	struct daemon_sink *k = ctx;
	err_t e;

	if (k->d->audit != NULL && !store_in_transaction(k->st) &&
	    audit_mirror_sync(k->d->audit, k->st, &e) != 0)
		fprintf(stderr, "airlockd: audit log text copy: %s\n", e.msg);
}

int
daemon_step_end(struct daemon *d, int r, err_t *e)
{
	struct daemon_sink *k = daemon_sink(d);

	r = store_end(k->st, r, e);
	daemon_sink_committed(k);
	/*
	 * The store or its disk failed (a full disk, an I/O error): the
	 * console that asked hears why, and so must the journal, where the
	 * administrator who can free space looks.
	 */
	if (r == ERR_IO && e != NULL)
		fprintf(stderr, "airlockd: a step was not taken: %s\n", e->msg);
	return r;
}

int
daemon_recorded(struct daemon *d, int ev, err_t *e)
{
	if (ev == 0)
		return 0;
	return err_set(e, ERR_IO, "the audit log could not record the step, "
	    "so it was not taken: %s", daemon_sink(d)->failure.msg);
}

int
daemon_medium_present(const struct daemon *d)
{
	struct stat sb, parent;
	char up[4200];

	if (lstat(d->cfg.media_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	if (!d->cfg.require_mount)
		return 1;
	snprintf(up, sizeof(up), "%s/..", d->cfg.media_dir);
	return stat(up, &parent) == 0 && parent.st_dev != sb.st_dev;
}

/*
 * 1 when outbox/ is there to write to: a medium is inserted. The medium's
 * directories are made when the stick is prepared, never here, and with
 * require_mount the media directory must be a mount point, so that an
 * empty mount point on the appliance's own disk never receives an export.
 */
int
daemon_outbox(struct daemon *d, char *out, size_t outsz)
{
	struct stat sb;
	err_t e;

	if (!daemon_medium_present(d))
		return 0;
	if (fileio_join(out, outsz, d->cfg.media_dir, "outbox", &e) != 0)
		return 0;
	return lstat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
}

void
daemon_wake(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	d->wake = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void
daemon_intake_config(struct daemon *d, struct store *st,
    struct intake_config *c)
{
	memset(c, 0, sizeof(*c));
	c->media_dir = d->cfg.media_dir;
	c->state_dir = d->cfg.state_dir;
	c->settle_ms = d->cfg.settle_ms;
	c->st = st;
	c->bundle.env.people_cas = d->people_cas;
	c->bundle.env.transport_cert = d->transport_key.cert;
	c->bundle.env.transport_key = d->transport_key.pkey;
	c->bundle.profiles = &d->profiles;
	c->transport_pub = d->transport_key.cert != NULL ?
	    X509_get0_pubkey(d->transport_key.cert) : NULL;
	c->event = daemon_event;
	c->event_ctx = st == d->st ? &d->sink : &d->worker_sink;
	c->committed = daemon_sink_committed;
	if (d->ingest != NULL) {
		c->judge = role_link_judge;
		c->judge_ctx = d->ingest;
		role_link_set_stop(d->ingest, &d->stop, &d->interrupt);
	}
}
