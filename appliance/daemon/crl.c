/* crl.c: revocations and CRLs in the daemon (see crl.h). */
#include "daemon/crl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/record.h"
#include "daemon/audit.h"
#include "export/crl.h"
#include "policy/crlpolicy.h"
#include "queue/crl.h"
#include "queue/revocation.h"
#include "signer/crl.h"
#include "util/fileio.h"
#include "util/timeutil.h"

/* How often one CA's CRL warning is repeated, in seconds. */
#define DAEMON_CRL_WARN_EVERY 3600
/* Requests handled in one cycle; the rest wait for the next. */
#define DAEMON_CRL_MAX_IDS 64

/* What applies when the appliance has no CRL policy file. */
static const char daemon_crl_default[] =
    "default:\n"
    "  validity_days: 7\n"
    "  warning: 2d\n";

/*
 * Every enabled profile against the CRL policy (crlpolicy_check_profile):
 * certificates that name another distribution point than their CA's
 * CRLs make relying parties refuse those CRLs, so the daemon does not
 * start. Each mismatch goes to diag, the first (and a count) to err; a
 * profile without any, under CRLs that carry one, is only warned about.
 */
static int
daemon_crl_check_profiles(struct daemon *d, diag_t *diag, err_t *err)
{
	char first[ERR_MSG_MAX];
	size_t i, bad = 0;
	err_t e;

	for (i = 0; i < d->profiles.n; i++) {
		int r;

		err_clear(&e);
		r = crlpolicy_check_profile(&d->crl_policy, &d->profiles.v[i],
		    &e);
		if (r == 1)
			event_emit(daemon_event, daemon_sink(d), "crl-policy",
			    EVENT_FAILED, NULL, NULL, NULL, "%s", e.msg);
		if (r >= 0)
			continue;
		if (bad++ == 0)
			snprintf(first, sizeof(first), "%s", e.msg);
		if (diag != NULL)
			(void)diag_add(diag, NULL, 0, NULL, "%s", e.msg);
	}
	if (bad > 1)
		return err_set(err, ERR_POLICY, "%s (and %zu more)", first,
		    bad - 1);
	return bad == 1 ? err_set(err, ERR_POLICY, "%s", first) : 0;
}

int
daemon_crl_load(struct daemon *d, diag_t *diag, err_t *err)
{
	char path[4096];
	struct stat sb;
	int r;

	if (fileio_join(path, sizeof(path), d->cfg.policies_dir, "crl/crl.yaml",
	    err) != 0)
		return err->code;
	if (lstat(path, &sb) != 0 && errno == ENOENT) {
		event_emit(daemon_event, daemon_sink(d), "crl-policy", EVENT_OK, NULL, NULL,
		    NULL, "%s is missing: CRLs are valid 7 days and warned "
		    "about 2 days before nextUpdate", path);
		r = crlpolicy_parse("(built-in CRL policy)",
		    daemon_crl_default, sizeof(daemon_crl_default) - 1,
		    &d->crl_policy, diag, err);
	} else {
		r = crlpolicy_load(path, &d->crl_policy, diag, err);
	}
	/* The profiles are loaded first (daemon_open). */
	return r != 0 ? r : daemon_crl_check_profiles(d, diag, err);
}

int
daemon_crl_signs_for(struct store *st, const struct daemon_ca *ca)
{
	struct queue_crl_info cur;
	err_t e;

	return strcmp(ca->purpose, "devices") == 0 ||
	    queue_crl_latest(st, ca->id, &cur, &e) == 0;
}

struct daemon_crl_open {
	int64_t ca_id, found;
};

static int
daemon_crl_find_open(void *ctx, const struct queue_crl_request *r)
{
	struct daemon_crl_open *o = ctx;

	if (r->ca_id == o->ca_id && o->found == 0 &&
	    (r->state == QUEUE_CRL_PENDING_APPROVAL ||
	    r->state == QUEUE_CRL_APPROVED))
		o->found = r->id;
	return 0;
}

int
daemon_crl_open_request(struct store *st, const struct daemon_ca *ca,
    const char *cause, const char *who, int64_t *id, err_t *err)
{
	struct daemon_crl_open o = { ca->id, 0 };
	int r;

	if ((r = queue_crl_list(st, NULL, daemon_crl_find_open, &o,
	    err)) != 0)
		return r;
	if (o.found != 0) {
		*id = o.found;
		return 0;
	}
	return queue_crl_request(st, ca->id, cause, who, 2, time(NULL), id,
	    err);
}

/* "5 days 3 h" or "3 h 12 min" for a span of seconds. */
static void
daemon_crl_span(int64_t s, char *out, size_t outsz)
{
	if (s < 0)
		s = -s;
	if (s >= 86400)
		snprintf(out, outsz, "%lld days %lld h", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else
		snprintf(out, outsz, "%lld h %lld min", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
}

/*
 * The state of ca's CRL at now into line: 0 fine, 1 within the warning
 * window, 2 past nextUpdate, 3 no CRL at all.
 */
static int
daemon_crl_state(struct daemon *d, struct store *st,
    const struct daemon_ca *ca, time_t now, char *line, size_t linesz)
{
	const struct crlpolicy_entry *pol;
	struct queue_crl_info cur;
	char next[TIMEUTIL_STRLEN], left[48];
	err_t e;

	if (queue_crl_latest(st, ca->id, &cur, &e) != 0) {
		snprintf(line, linesz, "%s: no CRL issued (airlock crl request "
		    "--ca %s)", ca->name, ca->name);
		return 3;
	}
	pol = crlpolicy_for(&d->crl_policy, ca->name);
	timeutil_format((time_t)cur.next_update, next);
	daemon_crl_span(cur.next_update - (int64_t)now, left, sizeof(left));
	if ((int64_t)now >= cur.next_update) {
		snprintf(line, linesz, "%s: CRL %lld EXPIRED %s ago (next "
		    "update was %s): relying parties now refuse every "
		    "certificate under it", ca->name, (long long)cur.number,
		    left, next);
		return 2;
	}
	snprintf(line, linesz, "%s: CRL %lld, %lld entr%s, next update %s "
	    "(in %s)%s", ca->name, (long long)cur.number,
	    (long long)(cur.entries < 0 ? 0 : cur.entries),
	    cur.entries == 1 ? "y" : "ies", next, left,
	    (int64_t)now >= cur.next_update - pol->warning ?
	    ": DUE, issue the next one now" : "");
	return (int64_t)now >= cur.next_update - pol->warning ? 1 : 0;
}

void
daemon_crl_status(struct daemon *d, struct store *st, time_t now, buf_t *t)
{
	char line[512];
	size_t i, n = 0;

	for (i = 0; i < d->n_cas; i++) {
		if (!daemon_crl_signs_for(st, &d->cas[i]))
			continue;
		(void)daemon_crl_state(d, st, &d->cas[i], now, line,
		    sizeof(line));
		(void)buf_printf(t, "%s%s\n", n++ == 0 ? "CRLs:        " :
		    "             ", line);
	}
	if (n == 0)
		(void)buf_printf(t, "CRLs:        none kept\n");
}

struct daemon_crl_ids {
	int64_t v[DAEMON_CRL_MAX_IDS];
	size_t n;
};

static int
daemon_crl_collect_rev(void *ctx, const struct queue_revocation *r)
{
	struct daemon_crl_ids *ids = ctx;

	if (ids->n < DAEMON_CRL_MAX_IDS)
		ids->v[ids->n++] = r->id;
	return 0;
}

static int
daemon_crl_collect_req(void *ctx, const struct queue_crl_request *r)
{
	struct daemon_crl_ids *ids = ctx;

	if (ids->n < DAEMON_CRL_MAX_IDS)
		ids->v[ids->n++] = r->id;
	return 0;
}

/* Step 1: approved revocations take effect; CRL requests follow. */
static void
daemon_crl_revocations(struct daemon *d, struct store *st, time_t now)
{
	enum queue_revocation_state approved = QUEUE_REVOCATION_APPROVED;
	struct queue_revocation_outcome out;
	struct daemon_crl_ids ids = { .n = 0 };
	char object[48], cause[48], crl_obj[48 + AUDIT_VALUE_MAX];
	char cav[AUDIT_VALUE_MAX];
	size_t i, k;
	int64_t crl_id;
	diag_t notes;
	err_t e;

	if (queue_revocation_list(st, &approved, daemon_crl_collect_rev, &ids,
	    &e) != 0) {
		event_emit(daemon_event, daemon_sink(d), "revocation", EVENT_FAILED, NULL,
		    NULL, NULL, "%s", e.msg);
		return;
	}
	for (i = 0; i < ids.n && !d->stop; i++) {
		snprintf(object, sizeof(object), "revocation=%lld",
		    (long long)ids.v[i]);
		int r;

		memset(&out, 0, sizeof(out));
		diag_init(&notes);
		/* The change, its record and the CRL requests it calls for:
		 * one step, tried again whole if any part fails. */
		if ((r = daemon_step_begin(d, &e)) == 0 &&
		    (r = queue_revocation_apply(st, ids.v[i], now, &out,
		    &notes, &e)) == 0)
			r = daemon_recorded(d, event_emit(daemon_event,
			    daemon_sink(d), "revocation-applied", EVENT_OK,
			    NULL, NULL, object, "%zu certificate%s changed, "
			    "%zu skipped%s", out.changed, out.changed == 1 ?
			    "" : "s", out.skipped, diag_count(&notes) > 0 ?
			    " (see airlock revocation show)" : ""), &e);
		snprintf(cause, sizeof(cause), "revocation #%lld",
		    (long long)ids.v[i]);
		for (k = 0; r == 0 && k < out.n_cas; k++) {
			struct daemon_ca *ca = daemon_ca_by_id(d,
			    out.ca_ids[k]);

			if (ca == NULL) {
				/* The CA left the configuration: say so,
				 * and let an officer request its CRL. */
				event_emit(daemon_event, daemon_sink(d),
				    "crl-request", EVENT_FAILED, NULL, NULL,
				    object, "CA #%lld: not loaded",
				    (long long)out.ca_ids[k]);
				continue;
			}
			if ((r = daemon_crl_open_request(st, ca, cause,
			    "airlockd", &crl_id, &e)) != 0)
				break;
			snprintf(crl_obj, sizeof(crl_obj), "crl-request=%lld "
			    "ca=%s %s", (long long)crl_id, audit_objects_value(
			    ca->name, cav, sizeof(cav)), object);
			r = daemon_recorded(d, event_emit(daemon_event,
			    daemon_sink(d), "crl-requested", EVENT_OK, NULL,
			    NULL, crl_obj, "CA %s, after revocation #%lld: "
			    "needs two approvals", ca->name,
			    (long long)ids.v[i]), &e);
		}
		if (daemon_step_end(d, r, &e) != 0) {
			event_emit(daemon_event, daemon_sink(d),
			    "revocation-apply", EVENT_FAILED, NULL, NULL,
			    object, "%s", e.msg);
		} else {
			(void)daemon_checkpoint(d, st, "revocation");
		}
		queue_revocation_outcome_free(&out);
		diag_free(&notes);
	}
}

/* Step 2: approved CRL requests are signed. */
static void
daemon_crl_issue(struct daemon *d, struct store *st, time_t now)
{
	enum queue_crl_state approved = QUEUE_CRL_APPROVED;
	struct daemon_crl_ids ids = { .n = 0 };
	struct signer_crl_opts o;
	struct signer_crl_result res;
	struct queue_crl_request cr;
	struct daemon_ca *ca;
	char object[64 + AUDIT_VALUE_MAX], run[96 + AUDIT_VALUE_MAX];
	size_t i;
	err_t e;

	if (queue_crl_list(st, &approved, daemon_crl_collect_req, &ids,
	    &e) != 0)
		return;
	for (i = 0; i < ids.n && !d->stop; i++) {
		snprintf(object, sizeof(object), "crl-request=%lld",
		    (long long)ids.v[i]);
		if (queue_crl_get(st, ids.v[i], &cr, &e) != 0)
			continue;
		ca = daemon_ca_by_id(d, cr.ca_id);
		queue_crl_free(&cr);
		if (ca == NULL || ca->key == NULL) {
			event_emit(daemon_event, daemon_sink(d), "crl-issue", EVENT_FAILED,
			    NULL, NULL, object, "the CA's key is not on the "
			    "activated token");
			continue;
		}
		snprintf(run, sizeof(run), "CRL request %lld of CA %s",
		    (long long)ids.v[i], ca->name);
		if (daemon_airgap_check(d, run, object, 0, &e) != 0)
			break;	/* every request waits for the next pass */
		memset(&o, 0, sizeof(o));
		o.st = st;
		o.request_id = ids.v[i];
		o.ca_id = ca->id;
		o.ca_name = ca->name;
		o.ca_cert = ca->cert;
		o.ca_key = ca->key;
		o.policy = crlpolicy_for(&d->crl_policy, ca->name);
		o.now = now;
		o.event = daemon_event;
		o.event_ctx = daemon_sink(d);
		if (signer_crl_issue(&o, &res, &e) != 0) {
			event_emit(daemon_event, daemon_sink(d), "crl-issue", EVENT_FAILED,
			    NULL, NULL, object, "CA %s: %s", ca->name, e.msg);
			continue;
		}
		(void)daemon_checkpoint(d, st, "crl");
	}
}

struct daemon_crl_todo {
	int64_t ca[DAEMON_CRL_MAX_IDS], number[DAEMON_CRL_MAX_IDS];
	size_t n;
};

static int
daemon_crl_collect_out(void *ctx, const struct queue_crl_info *c)
{
	struct daemon_crl_todo *t = ctx;

	if (t->n < DAEMON_CRL_MAX_IDS) {
		t->ca[t->n] = c->ca_id;
		t->number[t->n++] = c->number;
	}
	return 0;
}

/* Step 3: issued CRLs go to the medium, oldest first. */
static void
daemon_crl_export(struct daemon *d, struct store *st, const char *outbox,
    time_t now)
{
	struct daemon_crl_todo todo = { .n = 0 };
	struct export_crl_opts o;
	struct export_crl_result res;
	struct daemon_ca *ca;
	struct daemon_audit_file audit;
	int64_t audit_to;
	char object[64 + AUDIT_VALUE_MAX], cav[AUDIT_VALUE_MAX];
	size_t i;
	err_t e;
	int r;

	if (!daemon_export_due(&d->crl_retry, outbox) ||
	    queue_crl_unexported(st, daemon_crl_collect_out, &todo, &e) != 0)
		return;
	for (i = 0; i < todo.n && !d->stop; i++) {
		if ((ca = daemon_ca_by_id(d, todo.ca[i])) == NULL)
			continue;
		snprintf(object, sizeof(object), "ca=%s crl=%lld",
		    audit_objects_value(ca->name, cav, sizeof(cav)),
		    (long long)todo.number[i]);
		memset(&o, 0, sizeof(o));
		o.st = st;
		o.ca_id = ca->id;
		o.ca_name = ca->name;
		o.number = todo.number[i];
		o.ca_cert = ca->cert;
		o.outbox_dir = outbox;
		o.export_key = d->export_key.pkey;
		o.export_cert = d->export_key.cert;
		o.extra = d->people_cas;
		o.now = now;
		o.event = daemon_event;
		o.event_ctx = daemon_sink(d);
		r = daemon_audit_segment(d, st, &audit, &audit_to, &e);
		o.audit = audit_to > 0 ? &audit.stream : NULL;
		if (r == 0)
			r = export_crl(&o, &res, &e);
		if (r == 0 && daemon_audit_exported(st, audit_to, &e) != 0)
			fprintf(stderr, "airlockd: %s\n", e.msg);
		if (r != 0) {
			char details[2 * ERR_MSG_MAX], what[96];

			/* The medium failed or was pulled: later, again; the
			 * same fault is recorded once, not at every retry. */
			snprintf(what, sizeof(what), "CRL %lld of %s",
			    (long long)todo.number[i], ca->name);
			if (daemon_export_failed(d, &d->crl_retry,
			    d->crl_fault, sizeof(d->crl_fault), outbox, what,
			    r, e.msg, details, sizeof(details)))
				event_emit(daemon_event, daemon_sink(d),
				    "crl-export", EVENT_FAILED, NULL, NULL,
				    object, "%s", details);
			return;
		}
		daemon_export_ok(d, &d->crl_retry, d->crl_fault);
	}
}

void
daemon_crl_warn(struct daemon *d, struct store *st, time_t now)
{
	char line[512], obj[8 + AUDIT_VALUE_MAX], cav[AUDIT_VALUE_MAX];
	size_t i;
	int s;

	for (i = 0; i < d->n_cas; i++) {
		struct daemon_ca *ca = &d->cas[i];

		if (!daemon_crl_signs_for(st, ca) ||
		    now - ca->crl_warned < DAEMON_CRL_WARN_EVERY)
			continue;
		s = daemon_crl_state(d, st, ca, now, line, sizeof(line));
		if (s == 0)
			continue;
		ca->crl_warned = now;
		snprintf(obj, sizeof(obj), "ca=%s", audit_objects_value(
		    ca->name, cav, sizeof(cav)));
		event_emit(daemon_event, daemon_sink(d), "crl-due",
		    EVENT_FAILED, NULL, NULL, obj, "%s", line);
	}
}

void
daemon_crl_work(struct daemon *d, struct store *st, const char *outbox,
    time_t now)
{
	daemon_crl_revocations(d, st, now);
	daemon_crl_issue(d, st, now);
	if (outbox != NULL)
		daemon_crl_export(d, st, outbox, now);
}
