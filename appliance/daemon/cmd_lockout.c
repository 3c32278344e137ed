/* cmd_lockout.c: the console's lock-out commands (see cmd_lockout.h). */
#include "daemon/cmd_lockout.h"

#include <stdio.h>
#include <string.h>

#include "daemon/commands.h"
#include "daemon/lockout.h"
#include "queue/lockout.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Who credential l is, as a person reads it. */
static void
cmd_lockout_who(struct daemon *d, const struct queue_lockout *l, char *out,
    size_t outsz)
{
	if (l->kind == QUEUE_LOCKOUT_PERSON) {
		cmd_person_name(d, l->person_id, out, outsz);
	} else {
		char shown[80];

		snprintf(out, outsz, "CA token '%s'", text_show(l->credential,
		    strlen(l->credential), 32, shown, sizeof(shown)));
	}
}

struct cmd_lockout_rows {
	struct daemon *d;
	const char *state;	/* NULL: all */
	buf_t *t;
	size_t n;
};

static int
cmd_lockout_row(void *ctx, const struct queue_lockout *l)
{
	struct cmd_lockout_rows *c = ctx;
	char when[TIMEUTIL_STRLEN], who[300];

	if (c->state != NULL && strcmp(c->state, l->cleared ? "cleared" :
	    "locked") != 0)
		return 0;
	timeutil_format((time_t)l->locked_at, when);
	cmd_lockout_who(c->d, l, who, sizeof(who));
	if (c->n++ == 0)
		(void)buf_printf(c->t, "%-8s %-8s %-7s %-9s %-20s %s\n",
		    "LOCKOUT", "STATE", "KIND", "FAILURES", "LOCKED", "WHO");
	(void)buf_printf(c->t, "%-8lld %-8s %-7s %-9lld %-20s %s\n",
	    (long long)l->id, l->cleared ? "cleared" : "locked",
	    queue_lockout_kind_name(l->kind), (long long)l->failures, when,
	    who);
	return 0;
}

void
cmd_lockout_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const char *state = ctl_get_str(req, "state");
	struct cmd_lockout_rows c;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (state != NULL && strcmp(state, "locked") != 0 &&
	    strcmp(state, "cleared") != 0) {
		err_set(&e, ERR_INVALID, "no lock-out state '%s' (locked, "
		    "cleared)", state);
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	buf_init(&t, 16u << 20);
	memset(&c, 0, sizeof(c));
	c.d = d;
	c.state = state;
	c.t = &t;
	(void)buf_printf(&t, "Limits: %u failed logins to the CA token, %u "
	    "failed approvals of a person (airlockd.yaml lockout:)\n\n",
	    d->cfg.lockout_login_failures, d->cfg.lockout_approval_failures);
	if ((r = queue_lockout_list(d->st, 0, cmd_lockout_row, &c,
	    &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		buf_free(&t);
		return;
	}
	if (c.n == 0)
		(void)buf_printf(&t, "No lock-outs%s%s.\n", state ?
		    " in state " : "", state ? state : "");
	(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

void
cmd_lockout_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct queue_lockout l;
	char digest[65], when[TIMEUTIL_STRLEN], who[300];
	int64_t id, now_count = 0;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = cmd_need_id(req, "id", &id, &e)) != 0 ||
	    (r = queue_lockout_get(d->st, id, &l, &e)) != 0 ||
	    (r = queue_lockout_digest(d->st, id, digest, &e)) != 0 ||
	    (r = queue_lockout_count(d->st, l.kind, l.credential, &now_count,
	    &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	buf_init(&t, 1u << 20);
	cmd_lockout_who(d, &l, who, sizeof(who));
	timeutil_format((time_t)l.locked_at, when);
	(void)buf_printf(&t, "Lock-out #%lld: %s\n", (long long)id, l.cleared ?
	    "cleared" : "locked");
	(void)buf_printf(&t, "  Credential:     %s (%s %s)\n", who,
	    queue_lockout_kind_name(l.kind), l.credential);
	(void)buf_printf(&t, "  Locked:         %s, after %lld failed %s\n",
	    when, (long long)l.failures, l.kind == QUEUE_LOCKOUT_TOKEN ?
	    "logins" : "approvals");
	if (l.cleared) {
		timeutil_format((time_t)l.cleared_at, when);
		(void)buf_printf(&t, "  Cleared:        %s\n", when);
	} else {
		(void)buf_printf(&t, "  Failures now:   %lld (the audit log "
		    "has each: airlock audit show --action %s)\n",
		    (long long)now_count, l.kind == QUEUE_LOCKOUT_TOKEN ?
		    "login-failed" : "approval-failed");
		(void)buf_printf(&t, "  While locked:   %s\n", l.kind ==
		    QUEUE_LOCKOUT_TOKEN ? "airlock activate is refused before "
		    "any login" : "their approvals and bundles are refused");
	}
	(void)buf_printf(&t, "  Digest:         %s\n", digest);
	/* The show reply's state is the decision's, as for every kind. */
	cmd_show_reply(d, "lockout-clear", id, digest, l.locked_at, l.cleared ?
	    "cleared" : "pending-approval", l.quorum, l.kind ==
	    QUEUE_LOCKOUT_PERSON ? l.credential : "", "none yet", &t, reply);
	buf_free(&t);
}
