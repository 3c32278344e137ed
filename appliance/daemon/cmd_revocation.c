/* cmd_revocation.c: the console's revocation commands (see cmd_revocation.h). */
#include "daemon/cmd_revocation.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/commands.h"
#include "queue/revocation.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Certificates listed by revocation-show; the count says how many more. */
#define CMD_REVOCATION_SHOW_ITEMS 1000

void
cmd_revoke_submit(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct intake_config c;
	struct intake_result res;
	struct intake *in = NULL;
	const unsigned char *bundle;
	char label[64];
	size_t len;
	buf_t reason, t;
	err_t e;
	int r;

	err_clear(&e);
	buf_init(&reason, 0);
	buf_init(&t, 4096);
	if ((bundle = ctl_get(req, "bundle", &len)) == NULL || len == 0) {
		r = err_set(&e, ERR_INVALID, "revoke-submit needs the signed "
		    "revocation bundle");
		(void)cmd_fail(reply, r, &e);
		return;
	}
	/* The file name the bundle is recorded and refused under. */
	snprintf(label, sizeof(label), "console-uid-%u", (unsigned)uid);
	pthread_rwlock_rdlock(&d->keys_lock);
	daemon_intake_config(d, d->st, &c);
	if ((r = intake_new(&c, &in, &e)) == 0)
		r = intake_submit(in, label, bundle, len, &res, &reason, &e);
	intake_free(in);
	pthread_rwlock_unlock(&d->keys_lock);
	if (r != 0) {
		(void)cmd_fail(reply, r, &e);
	} else if (res.outcome == INTAKE_ACCEPTED && res.revocation_id > 0) {
		(void)buf_printf(&t, "Revocation request %lld recorded. It takes "
		    "effect once two officers other than you approve it "
		    "(airlock revocation show %lld).\n",
		    (long long)res.revocation_id, (long long)res.revocation_id);
		(void)cmd_text_reply(reply, &t);
		(void)ctl_put_int(reply, "object", res.revocation_id);
	} else if (res.outcome == INTAKE_ACCEPTED) {
		/* A request bundle has no business on this path. */
		r = err_set(&e, ERR_INVALID, "the bundle was taken as batch "
		    "%lld, not as a revocation request", (long long)res.batch_id);
		(void)cmd_fail(reply, r, &e);
	} else {
		r = err_set(&e, ERR_POLICY, "the revocation request was refused: "
		    "%s", res.reason);
		(void)cmd_fail(reply, r, &e);
		(void)ctl_put(reply, "text", reason.data != NULL ? reason.data :
		    (const unsigned char *)"", reason.len);
	}
	buf_free(&reason);
	buf_free(&t);
}

struct cmd_rev_list {
	struct daemon *d;
	buf_t *t;
	size_t n;
};

static int
cmd_rev_list_cb(void *ctx, const struct queue_revocation *v)
{
	struct cmd_rev_list *l = ctx;
	char when[TIMEUTIL_STRLEN], who[256], msg[200];

	timeutil_format(v->created, when);
	cmd_person_name(l->d, v->requester_id, who, sizeof(who));
	text_show(v->message, strlen(v->message), 40, msg, sizeof(msg));
	if (l->n++ == 0)
		(void)buf_printf(l->t, "%-6s %-17s %-21s %7s  %-20s %-20s %s\n",
		    "ID", "STATE", "REASON", "CERTS", "RECEIVED", "REQUESTER",
		    "MESSAGE");
	(void)buf_printf(l->t, "%-6lld %-17s %-21s %7lld  %-20s %-20.20s %s\n",
	    (long long)v->id, queue_revocation_state_name(v->state), v->reason,
	    (long long)v->item_count, when, who, msg);
	return 0;
}

void
cmd_revocation_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	enum queue_revocation_state s;
	const char *state = ctl_get_str(req, "state");
	struct cmd_rev_list l;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (state != NULL && queue_revocation_state_parse(state, &s) != 0) {
		char shown[80];

		r = err_set(&e, ERR_INVALID, "no revocation state '%s' "
		    "(pending-approval, approved, rejected, applied)",
		    text_show(state, strlen(state), 32, shown, sizeof(shown)));
		(void)cmd_fail(reply, r, &e);
		return;
	}
	buf_init(&t, 16u << 20);
	l.d = d;
	l.t = &t;
	l.n = 0;
	if ((r = queue_revocation_list(d->st, state != NULL ? &s : NULL,
	    cmd_rev_list_cb, &l, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
	} else {
		if (l.n == 0)
			(void)buf_printf(&t, "No revocation requests%s%s.\n",
			    state ? " in state " : "", state ? state : "");
		(void)cmd_text_reply(reply, &t);
	}
	buf_free(&t);
}

struct cmd_rev_items {
	buf_t *t;
	size_t n;
};

static int
cmd_rev_item_cb(void *ctx, const struct queue_revocation_item *it)
{
	struct cmd_rev_items *c = ctx;
	char subj[600], target[300];

	text_show(it->subject, strlen(it->subject), 100, subj, sizeof(subj));
	text_show(it->target, strlen(it->target), 60, target, sizeof(target));
	(void)buf_printf(c->t, "    %-40s %-12s %-8s %s  (line %lld: %s)\n",
	    it->serial, it->ca_name, it->status, subj, (long long)it->line,
	    target);
	c->n++;
	return 0;
}

void
cmd_revocation_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct queue_revocation v;
	struct cmd_rev_items items;
	char who[256], when[TIMEUTIL_STRLEN], shown[1200];
	int64_t id;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = cmd_need_id(req, "id", &id, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	if ((r = queue_revocation_get(d->st, id, &v, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	buf_init(&t, 4u << 20);
	cmd_person_name(d, v.requester_id, who, sizeof(who));
	timeutil_format(v.created, when);
	(void)buf_printf(&t, "Revocation request %lld: %s of %lld certificate%s\n",
	    (long long)v.id, strcmp(v.reason, "removeFromCRL") == 0 ?
	    "release from hold" : strcmp(v.reason, "certificateHold") == 0 ?
	    "hold" : "revocation", (long long)v.item_count,
	    v.item_count == 1 ? "" : "s");
	(void)buf_printf(&t, "  State:            %s%s%s\n",
	    queue_revocation_state_name(v.state), v.reject_reason ? ": " : "",
	    v.reject_reason ? text_show(v.reject_reason,
	    strlen(v.reject_reason), 300, shown, sizeof(shown)) : "");
	(void)buf_printf(&t, "  Requester:        %s (certificate SHA-256 %s)\n",
	    who, v.requester_sha256);
	(void)buf_printf(&t, "  Received:         %s\n", when);
	(void)buf_printf(&t, "  Reason:           %s\n", v.reason);
	(void)buf_printf(&t, "  Message:          %s\n", text_show(v.message,
	    strlen(v.message), 600, shown, sizeof(shown)));
	if (v.has_invalidity_date) {
		timeutil_format((time_t)v.invalidity_date, when);
		(void)buf_printf(&t, "  Invalidity date:  %s\n", when);
	} else {
		(void)buf_printf(&t, "  Invalidity date:  (none)\n");
	}
	if (v.state == QUEUE_REVOCATION_APPLIED) {
		timeutil_format((time_t)v.applied, when);
		(void)buf_printf(&t, "  Applied:          %s\n", when);
	}
	(void)buf_printf(&t, "  Bundle digest:    %s\n", v.bundle_sha256);
	(void)buf_printf(&t, "  Certificates (serial, CA, status now, subject; "
	    "the line that named it):\n");
	items.t = &t;
	items.n = 0;
	if ((r = queue_revocation_items(d->st, id, 0, NULL,
	    CMD_REVOCATION_SHOW_ITEMS, cmd_rev_item_cb, &items, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		goto out;
	}
	if ((int64_t)items.n < v.item_count)
		(void)buf_printf(&t, "    ... and %lld more\n",
		    (long long)(v.item_count - (int64_t)items.n));
	cmd_show_reply(d, "revocation", v.id, v.bundle_sha256, v.created,
	    queue_revocation_state_name(v.state), v.quorum, v.requester_sha256,
	    "(none yet)", &t, reply);
out:
	buf_free(&t);
	queue_revocation_free(&v);
}
