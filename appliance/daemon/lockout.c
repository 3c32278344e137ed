/* lockout.c: the daemon's side of lock-outs (see lockout.h). */
#include "daemon/lockout.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/record.h"
#include "hsm/hsm.h"
#include "util/timeutil.h"

/* --- shared -------------------------------------------------------------- */

void
daemon_lockout_objects(const struct queue_lockout *l, char *out, size_t outsz)
{
	char v[AUDIT_VALUE_MAX];

	snprintf(out, outsz, "lockout=%lld %s=%s failures=%lld",
	    (long long)l->id, queue_lockout_kind_name(l->kind),
	    audit_objects_value(l->credential, v, sizeof(v)),
	    (long long)l->failures);
}

/* The name of the person holding fp, and their id; 0 when nobody does. */
struct daemon_lockout_person {
	int64_t id;
	char name[AUDIT_NAME_MAX + 1];
};

static int
daemon_lockout_person_cb(void *ctx, const struct store_person *p)
{
	struct daemon_lockout_person *w = ctx;

	w->id = p->id;
	snprintf(w->name, sizeof(w->name), "%s", p->name);
	return 0;
}

static int64_t
daemon_lockout_person(struct daemon *d, const char *fp,
    struct daemon_lockout_person *w)
{
	err_t e;

	memset(w, 0, sizeof(*w));
	if (fp == NULL || store_person_find(d->st, fp, daemon_lockout_person_cb,
	    w, &e) != 0)
		w->id = 0;
	return w->id;
}

/* "since T after N failed logins (lock-out #ID): ..." for message m. */
static int
daemon_lockout_explain(const struct queue_lockout *l, const char *who,
    int code, err_t *e)
{
	char when[TIMEUTIL_STRLEN];

	timeutil_format((time_t)l->locked_at, when);
	return err_set(e, code, "%s is locked out since %s after %lld failed "
	    "%s (lock-out #%lld): %s until two officers%s clear it (airlock "
	    "lockout show %lld, then airlock lockout approve %lld by each)",
	    who, when, (long long)l->failures, l->kind == QUEUE_LOCKOUT_TOKEN ?
	    "logins" : "approvals", (long long)l->id, l->kind ==
	    QUEUE_LOCKOUT_TOKEN ? "no login is tried" : "their approvals and "
	    "bundles are refused", l->kind == QUEUE_LOCKOUT_PERSON ?
	    " other than them" : "", (long long)l->id, (long long)l->id);
}

/*
 * One failure of credential, in one step with its records: first (the
 * failure, details why), then lockout when it opened one. *f gets what
 * the failure did. 0, or why it could not be counted.
 */
static int
daemon_lockout_count(struct daemon *d, enum queue_lockout_kind kind,
    const char *credential, const struct daemon_lockout_person *p,
    unsigned limit, const char *action, const char *objects,
    const char *why, struct queue_lockout_failure *f, err_t *e)
{
	const char *fp = kind == QUEUE_LOCKOUT_PERSON ? credential : NULL;
	const char *name = p != NULL ? p->name : NULL;
	char obj[AUDIT_OBJECTS_MAX], lobj[AUDIT_OBJECTS_MAX];
	struct queue_lockout l;
	int r;

	if ((r = daemon_step_begin(d, e)) != 0)
		return r;
	if ((r = queue_lockout_fail(d->st, kind, credential, p != NULL ?
	    p->id : 0, limit, DAEMON_LOCKOUT_QUORUM, time(NULL), f, e)) != 0)
		goto out;
	snprintf(obj, sizeof(obj), "%s failures=%lld limit=%u", objects,
	    (long long)f->failures, limit);
	if ((r = daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
	    action, EVENT_REFUSED, fp, name, obj, "%s", why), e)) != 0 ||
	    f->locked == 0)
		goto out;
	if ((r = queue_lockout_get(d->st, f->locked, &l, e)) != 0)
		goto out;
	daemon_lockout_objects(&l, lobj, sizeof(lobj));
	/* The appliance locks; whom is in the objects. */
	r = daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
	    "lockout", EVENT_OK, NULL, NULL, lobj, "%s locked out after %lld "
	    "failed %s; two officers must clear it (airlock lockout approve "
	    "%lld)", kind == QUEUE_LOCKOUT_TOKEN ? "the CA token is" :
	    name != NULL ? name : "the person is", (long long)l.failures,
	    kind == QUEUE_LOCKOUT_TOKEN ? "logins" : "approvals",
	    (long long)l.id), e);
out:
	return daemon_step_end(d, r, e);
}

/* --- logins -------------------------------------------------------------- */

int
daemon_lockout_login_check(struct daemon *d, err_t *e)
{
	struct queue_lockout l;
	char who[64];
	int r;

	r = queue_lockout_open(d->st, QUEUE_LOCKOUT_TOKEN, d->cfg.hsm_token,
	    &l, e);
	if (r == ERR_NOTFOUND) {
		err_clear(e);
		return 0;
	}
	if (r != 0)
		return err_prefix(e, "cannot tell whether the CA token is "
		    "locked out, so no login is tried");
	snprintf(who, sizeof(who), "the CA token '%s'", d->cfg.hsm_token);
	return daemon_lockout_explain(&l, who, ERR_AUTH, e);
}

void
daemon_lockout_login_result(struct daemon *d, int r, err_t *e)
{
	const char *label = d->cfg.hsm_token;
	unsigned limit = d->cfg.lockout_login_failures;
	struct queue_lockout_failure f;
	char why[ERR_MSG_MAX], obj[16 + AUDIT_VALUE_MAX], v[AUDIT_VALUE_MAX];
	err_t se;

	err_clear(&se);
	if (r == 0) {
		/* A count left behind would shorten the next officer's tries. */
		if (daemon_step_begin(d, &se) == 0)
			(void)daemon_step_end(d, queue_lockout_reset(d->st,
			    QUEUE_LOCKOUT_TOKEN, label, NULL, &se), &se);
		return;
	}
	if (!hsm_wrong_pin(e))
		return;
	snprintf(why, sizeof(why), "%s", e->msg);
	snprintf(obj, sizeof(obj), "token=%s", audit_objects_value(label, v,
	    sizeof(v)));
	if (daemon_lockout_count(d, QUEUE_LOCKOUT_TOKEN, label, NULL, limit,
	    "login-failed", obj, why, &f, &se) != 0)
		(void)err_set(e, ERR_AUTH, "%s (and the failed login could not "
		    "be counted: %s)", why, se.msg);
	else if (f.locked != 0)
		(void)err_set(e, ERR_AUTH, "%s: failed login %lld of %u, so the "
		    "CA token is now locked out (lock-out #%lld): two officers "
		    "must clear it (airlock lockout show %lld)", why,
		    (long long)f.failures, limit, (long long)f.locked,
		    (long long)f.locked);
	else
		(void)err_set(e, ERR_AUTH, "%s (failed login %lld; the token "
		    "is locked out at %u)", why, (long long)f.failures, limit);
}

/* --- approvals ----------------------------------------------------------- */

int
daemon_lockout_approval_failed(struct daemon *d, const char *fp,
    const char *objects, err_t *e)
{
	unsigned limit = d->cfg.lockout_approval_failures;
	struct daemon_lockout_person p;
	struct queue_lockout_failure f;
	char why[ERR_MSG_MAX], obj[AUDIT_OBJECTS_MAX];
	err_t se;

	if (daemon_lockout_person(d, fp, &p) == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", e->msg);
	snprintf(obj, sizeof(obj), "%s person=%s", objects != NULL ? objects :
	    "", fp);
	err_clear(&se);
	if (daemon_lockout_count(d, QUEUE_LOCKOUT_PERSON, fp, &p, limit,
	    "approval-failed", objects != NULL ? obj : obj + 1, why, &f,
	    &se) != 0)
		return 0;
	if (f.locked != 0)
		(void)err_set(e, e->code, "%s. That was %s's failed approval "
		    "%lld of %u: they are now locked out (lock-out #%lld) until "
		    "two other officers clear it", why, p.name,
		    (long long)f.failures, limit, (long long)f.locked);
	else
		(void)err_set(e, e->code, "%s (failed approval %lld of %s; "
		    "locked out at %u)", why, (long long)f.failures, p.name,
		    limit);
	return 1;
}

int
daemon_lockout_approval_ok(struct daemon *d, const char *fp, err_t *e)
{
	return queue_lockout_reset(d->st, QUEUE_LOCKOUT_PERSON, fp, NULL, e);
}

int
daemon_lockout_refuse(struct daemon *d, const char *fp, const char *who,
    err_t *e)
{
	struct queue_lockout l;
	err_t le;

	if (queue_lockout_open(d->st, QUEUE_LOCKOUT_PERSON, fp, &l, &le) != 0)
		return err_set(e, ERR_POLICY, "%s is locked: no approvals", who);
	return daemon_lockout_explain(&l, who, ERR_POLICY, e);
}

/* --- clearing ------------------------------------------------------------ */

int
daemon_lockout_clear(struct daemon *d, int64_t id, err_t *e)
{
	struct queue_lockout l;
	char obj[AUDIT_OBJECTS_MAX];
	int r;

	if ((r = queue_lockout_get(d->st, id, &l, e)) != 0 ||
	    (r = queue_lockout_clear(d->st, id, time(NULL), e)) != 0)
		return r;
	daemon_lockout_objects(&l, obj, sizeof(obj));
	return daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
	    "lockout-cleared", EVENT_OK, NULL, NULL, obj, "quorum of %u "
	    "officers reached: the %s's count of %lld failures is reset and "
	    "it is usable again", l.quorum, l.kind == QUEUE_LOCKOUT_TOKEN ?
	    "CA token" : "person", (long long)l.failures), e);
}

/* --- status -------------------------------------------------------------- */

static int
daemon_lockout_tally(void *ctx, const struct queue_lockout *l)
{
	size_t *n = ctx;

	n[l->kind == QUEUE_LOCKOUT_TOKEN ? 0 : 1]++;
	return 0;
}

void
daemon_lockout_status(struct daemon *d, buf_t *t)
{
	size_t n[2] = { 0, 0 };
	err_t e;

	if (queue_lockout_list(d->st, 1, daemon_lockout_tally, n, &e) != 0) {
		(void)buf_printf(t, "Lock-outs:   unknown (%s)\n", e.msg);
		return;
	}
	if (n[0] + n[1] == 0) {
		(void)buf_printf(t, "Lock-outs:   none\n");
		return;
	}
	(void)buf_printf(t, "Lock-outs:   ");
	if (n[0] != 0)
		(void)buf_printf(t, "the CA token (no activation)%s", n[1] ?
		    ", " : "");
	if (n[1] != 0)
		(void)buf_printf(t, "%zu person%s", n[1], n[1] == 1 ? "" : "s");
	(void)buf_printf(t, " locked out: two officers clear each (airlock "
	    "lockout list)\n");
}
