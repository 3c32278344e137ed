/* cmd_crl.c: the console's CRL commands (see cmd_crl.h). */
#include "daemon/cmd_crl.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/record.h"
#include "daemon/commands.h"
#include "daemon/crl.h"
#include "policy/crlpolicy.h"
#include "queue/crl.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Who asked at the console: "console user NAME (uid N)". */
static void
cmd_crl_requester(uid_t uid, char *out, size_t outsz)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, outsz, "console user %s (uid %u)", pw.pw_name,
		    (unsigned)uid);
	else
		snprintf(out, outsz, "console uid %u", (unsigned)uid);
}

void
cmd_crl_request(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const char *name = ctl_get_str(req, "ca");
	char who[160], object[64 + AUDIT_VALUE_MAX], cav[AUDIT_VALUE_MAX];
	struct daemon_ca *ca;
	int64_t id;
	size_t i, made = 0;
	buf_t t;
	err_t e;
	int r = 0;

	err_clear(&e);
	buf_init(&t, 64 * 1024);
	cmd_crl_requester(uid, who, sizeof(who));
	if (name != NULL && daemon_ca_by_name(d, name) == NULL) {
		char shown[80];

		r = err_set(&e, ERR_NOTFOUND, "no CA named '%s' (airlock crl "
		    "list shows the CAs' CRLs)", text_show(name, strlen(name),
		    64, shown, sizeof(shown)));
		goto out;
	}
	for (i = 0; i < d->n_cas; i++) {
		ca = &d->cas[i];
		if (name != NULL ? strcmp(ca->name, name) != 0 :
		    !daemon_crl_signs_for(d->st, ca))
			continue;
		if ((r = daemon_step_begin(d, &e)) != 0)
			goto out;
		if ((r = daemon_crl_open_request(d->st, ca, "console", who,
		    &id, &e)) == 0) {
			snprintf(object, sizeof(object), "crl-request=%lld "
			    "ca=%s", (long long)id, audit_objects_value(
			    ca->name, cav, sizeof(cav)));
			r = daemon_recorded(d, event_emit(daemon_event,
			    daemon_sink(d), "crl-requested", EVENT_OK, NULL,
			    who, object, "CA %s", ca->name), &e);
		}
		if ((r = daemon_step_end(d, r, &e)) != 0)
			goto out;
		(void)buf_printf(&t, "CRL request #%lld for CA %s: pending "
		    "approval by two officers (airlock crl show %lld).\n",
		    (long long)id, ca->name, (long long)id);
		made++;
	}
	if (made == 0)
		(void)buf_printf(&t, "No CA to request a CRL for.\n");
out:
	if (r != 0)
		(void)cmd_fail(reply, r, &e);
	else
		(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

struct cmd_crl_rows {
	buf_t *t;
	size_t n;
};

static int
cmd_crl_row(void *ctx, const struct queue_crl_request *r)
{
	struct cmd_crl_rows *l = ctx;
	char when[TIMEUTIL_STRLEN], cause[64], num[24];

	timeutil_format(r->created, when);
	text_show(r->cause, strlen(r->cause), 40, cause, sizeof(cause));
	if (r->state == QUEUE_CRL_ISSUED)
		snprintf(num, sizeof(num), "%lld", (long long)r->number);
	else
		snprintf(num, sizeof(num), "-");
	if (l->n++ == 0)
		(void)buf_printf(l->t, "%-6s %-17s %-20s %-8s %-20s %s\n",
		    "CRL", "STATE", "CA", "NUMBER", "REQUESTED", "CAUSE");
	(void)buf_printf(l->t, "%-6lld %-17s %-20s %-8s %-20s %s\n",
	    (long long)r->id, queue_crl_state_name(r->state), r->ca_name, num,
	    when, cause);
	return 0;
}

void
cmd_crl_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const char *state = ctl_get_str(req, "state");
	enum queue_crl_state s;
	struct cmd_crl_rows l;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (state != NULL && queue_crl_state_parse(state, &s) != 0) {
		err_set(&e, ERR_INVALID, "no CRL request state '%s' (pending-"
		    "approval, approved, rejected, issued)", state);
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	buf_init(&t, 64u << 20);
	l.t = &t;
	l.n = 0;
	daemon_crl_status(d, d->st, time(NULL), &t);
	(void)buf_printf(&t, "\n");
	if ((r = queue_crl_list(d->st, state ? &s : NULL, cmd_crl_row, &l,
	    &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		buf_free(&t);
		return;
	}
	if (l.n == 0)
		(void)buf_printf(&t, "No CRL requests%s%s.\n", state ?
		    " in state " : "", state ? state : "");
	(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

/* Counts the entries a CRL of the CA would hold now. */
static int
cmd_crl_count(void *ctx, const struct queue_crl_entry *en)
{
	size_t *held = ctx;

	if (strcmp(en->reason, "certificateHold") == 0)
		(*held)++;
	return 0;
}

void
cmd_crl_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const struct crlpolicy_entry *pol;
	struct queue_crl_request cr;
	struct queue_crl_info cur;
	char digest[65], when[TIMEUTIL_STRLEN], next[TIMEUTIL_STRLEN];
	const char *requester = "";
	size_t entries = 0, held = 0;
	int64_t id;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = cmd_need_id(req, "id", &id, &e)) != 0 ||
	    (r = queue_crl_get(d->st, id, &cr, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	buf_init(&t, 1u << 20);
	if ((r = queue_crl_digest(d->st, id, digest, &e)) != 0 ||
	    (r = queue_crl_entries(d->st, cr.ca_id, cmd_crl_count, &held,
	    &entries, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		goto out;
	}
	pol = crlpolicy_for(&d->crl_policy, cr.ca_name);
	timeutil_format(cr.created, when);
	(void)buf_printf(&t, "CRL request #%lld: %s\n", (long long)id,
	    queue_crl_state_name(cr.state));
	if (cr.state == QUEUE_CRL_REJECTED)
		(void)buf_printf(&t, "  Rejected:       %s\n",
		    cr.reject_reason);
	(void)buf_printf(&t, "  CA:             %s\n", cr.ca_name);
	(void)buf_printf(&t, "  Cause:          %s\n", cr.cause);
	(void)buf_printf(&t, "  Requested by:   %s, %s\n", cr.requested_by,
	    when);
	if (queue_crl_latest(d->st, cr.ca_id, &cur, &e) == 0) {
		timeutil_format((time_t)cur.next_update, next);
		(void)buf_printf(&t, "  Current CRL:    number %lld, next "
		    "update %s\n", (long long)cur.number, next);
	} else {
		(void)buf_printf(&t, "  Current CRL:    none\n");
	}
	if (cr.state == QUEUE_CRL_ISSUED) {
		(void)buf_printf(&t, "  Issued:         number %lld\n",
		    (long long)cr.number);
	} else {
		(void)buf_printf(&t, "  New CRL holds:  %zu entr%s now (%zu "
		    "on hold); revocations approved before signing are "
		    "included\n", entries, entries == 1 ? "y" : "ies", held);
		(void)buf_printf(&t, "  Valid for:      %lld days from "
		    "signing (policy %s)\n", (long long)(pol->validity / 86400),
		    d->crl_policy.file);
		if (pol->distribution_point != NULL)
			(void)buf_printf(&t, "  Distribution:   %s%s\n",
			    pol->distribution_point, pol->idp ?
			    " (as issuing distribution point)" : "");
	}
	(void)buf_printf(&t, "  Digest:         %s\n", digest);
	if (strlen(cr.requested_by) == 64 &&
	    text_is_lower_hex(cr.requested_by, 64))
		requester = cr.requested_by;
	cmd_show_reply(d, "crl", id, digest, cr.created,
	    queue_crl_state_name(cr.state), cr.quorum, requester,
	    "none yet", &t, reply);
out:
	queue_crl_free(&cr);
	buf_free(&t);
}
