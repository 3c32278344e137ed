/*
 * commands.c: what the console may ask of the daemon, one handler per
 * command (docs/man/airlock.1 lists them from the console's side).
 *
 * Requests come from a local user the socket let in, but are still
 * checked field by field: ids are decimal, texts are printable, sizes are
 * bounded by the protocol. Approvals are verified here in full (officer
 * certificate, role, signature, object, digest, time) against the
 * appliance's own records before they are stored; the queue then has the
 * last word on the quorum when the batch or export changes state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "approval/approval.h"
#include "approval/tally.h"
#include "audit/record.h"
#include "daemon/audit.h"
#include "daemon/cmd_audit.h"
#include "daemon/cmd_cert.h"
#include "daemon/cmd_crl.h"
#include "daemon/cmd_lockout.h"
#include "daemon/cmd_revocation.h"
#include "daemon/cmd_share.h"
#include "daemon/commands.h"
#include "daemon/crl.h"
#include "daemon/daemon.h"
#include "daemon/lockout.h"
#include "daemon/shares.h"
#include "export/item.h"
#include "export/results.h"
#include "hsm/hsm_pin.h"
#include "pki/certinfo.h"
#include "pki/pkiutil.h"
#include "queue/crl.h"
#include "queue/lockout.h"
#include "queue/queue.h"
#include "queue/revocation.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Results of at most this many lines are returned in one reply. */
#define CMD_RESULTS_PAGE 1000

int
cmd_text_reply(struct ctl_msg *reply, buf_t *t)
{
	(void)ctl_reply_ok(reply);
	return ctl_put(reply, "text", t->data != NULL ? t->data :
	    (const unsigned char *)"", t->len);
}

int
cmd_fail(struct ctl_msg *reply, int code, err_t *e)
{
	return ctl_reply_err(reply, code, e);
}

int
cmd_need_id(const struct ctl_msg *req, const char *key, int64_t *id,
    err_t *e)
{
	if (ctl_get_int(req, key, id) != 0 || *id < 1)
		return err_set(e, ERR_INVALID, "the request needs '%s', a "
		    "positive number", key);
	return 0;
}

/* --- people ------------------------------------------------------------- */

struct cmd_person {
	int64_t id;
	const char *sha256;
	char name[256];
	char role[16];
	char status[16];
	int64_t found_id;
	int found;
};

static int
cmd_person_cb(void *ctx, const struct store_person *p)
{
	struct cmd_person *c = ctx;

	if ((c->id != 0 && p->id != c->id) ||
	    (c->sha256 != NULL && strcmp(p->sha256, c->sha256) != 0))
		return 0;
	snprintf(c->name, sizeof(c->name), "%s", p->name);
	snprintf(c->role, sizeof(c->role), "%s", p->role);
	snprintf(c->status, sizeof(c->status), "%s", p->status ?
	    p->status : "active");
	c->found_id = p->id;
	c->found = 1;
	return 0;
}

void
cmd_person_name(struct daemon *d, int64_t id, char *out, size_t outsz)
{
	struct cmd_person c;
	err_t e;

	memset(&c, 0, sizeof(c));
	c.id = id;
	(void)store_person_list(d->st, cmd_person_cb, &c, &e);
	if (c.found)
		snprintf(out, outsz, "%s", c.name);
	else
		snprintf(out, outsz, "person #%lld", (long long)id);
}

/* --- status, activation ------------------------------------------------- */

static int
cmd_count_batch(void *ctx, const struct queue_batch *b)
{
	int64_t *counts = ctx;

	if (b->state < QUEUE_STATE_COUNT)
		counts[b->state]++;
	return 0;
}

static void
cmd_status(struct daemon *d, const struct ctl_msg *req, struct ctl_msg *reply)
{
	int64_t counts[QUEUE_STATE_COUNT] = { 0 };
	char when[TIMEUTIL_STRLEN], inbox[4096];
	char guard[AIRGAP_REASON_MAX + 128];
	struct stat sb;
	buf_t t;
	size_t i, n;
	err_t e;
	int s;

	(void)req;
	buf_init(&t, 1u << 20);
	pthread_rwlock_rdlock(&d->keys_lock);
	if (d->activated) {
		timeutil_format(d->activated_at, when);
		(void)buf_printf(&t, "Activation:  active since %s, token '%s' "
		    "(serial %s)\n", when, d->token.label, d->token.serial);
	} else {
		(void)buf_printf(&t, "Activation:  NOT ACTIVE: nothing is read, "
		    "signed or exported (airlock activate%s)\n",
		    d->cfg.split_pin ? " --share, by officers" : "");
		if (d->cfg.split_pin && d->shares != NULL && d->shares->n > 0)
			(void)buf_printf(&t, "Shares:      %zu held, %u more "
			    "needed\n", d->shares->n, shares_needed(d->shares));
	}
	pthread_rwlock_unlock(&d->keys_lock);
	snprintf(inbox, sizeof(inbox), "%s/inbox", d->cfg.media_dir);
	(void)buf_printf(&t, "Medium:      %s (%s)\n", d->cfg.media_dir,
	    !daemon_medium_present(d) ? "no medium inserted" :
	    lstat(inbox, &sb) == 0 && S_ISDIR(sb.st_mode) ? "inbox/ present" :
	    "inserted, but it has no inbox/");
	pthread_mutex_lock(&d->lock);
	(void)buf_printf(&t, "Worker:      %s\n", d->worker_state);
	if (d->export_fault[0] != '\0')
		(void)buf_printf(&t, "Export:      %s\n", d->export_fault);
	if (d->crl_fault[0] != '\0')
		(void)buf_printf(&t, "CRL export:  %s\n", d->crl_fault);
	pthread_mutex_unlock(&d->lock);
	(void)daemon_airgap_describe(d, guard, sizeof(guard));
	(void)buf_printf(&t, "Air-gap:     %s\n", guard);
	(void)queue_batch_list(d->st, NULL, cmd_count_batch, counts, &e);
	(void)buf_printf(&t, "Batches:    ");
	for (s = 0; s < QUEUE_STATE_COUNT; s++)
		(void)buf_printf(&t, " %s %lld%s", queue_state_name(s),
		    (long long)counts[s], s + 1 < QUEUE_STATE_COUNT ? "," : "\n");
	(void)buf_printf(&t, "Profiles:   ");
	for (i = 0; i < d->profiles.n; i++)
		(void)buf_printf(&t, " %s%s%s", d->profiles.v[i].name,
		    d->profiles.v[i].enabled ? "" : " (disabled)",
		    i + 1 < d->profiles.n ? "," : "\n");
	daemon_crl_status(d, d->st, time(NULL), &t);
	daemon_audit_status(d, d->st, &t);
	daemon_lockout_status(d, &t);
	pthread_mutex_lock(&d->lock);
	n = d->n_events;
	if (n > 0)
		(void)buf_printf(&t, "Recent events (newest last):\n");
	for (i = 0; i < n; i++) {
		size_t idx = (d->next_event + DAEMON_EVENTS - n + i) %
		    DAEMON_EVENTS;

		timeutil_format(d->events[idx].at, when);
		(void)buf_printf(&t, "  %s %s\n", when, d->events[idx].line);
	}
	pthread_mutex_unlock(&d->lock);
	(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

int
cmd_activate_pin(struct daemon *d, const char *who, const char *how,
    const secret_t *pin, buf_t *t, err_t *e)
{
	char report[4096], object[16 + AUDIT_VALUE_MAX];
	char tok[AUDIT_VALUE_MAX];
	int r;

	snprintf(object, sizeof(object), "token=%s", audit_objects_value(
	    d->cfg.hsm_token, tok, sizeof(tok)));
	r = daemon_activate(d, pin, report, sizeof(report), e);
	if (r != 0) {
		event_emit(daemon_event, daemon_sink(d), "activation",
		    r == ERR_AUTH ? EVENT_REFUSED : EVENT_FAILED, NULL, who,
		    object, "%s%s%s", e->msg, how ? "; " : "", how ? how : "");
		return r;
	}
	/* Signing with no record of who switched it on is not allowed. */
	if ((r = daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
	    "activation", EVENT_OK, NULL, who, object, "keys checked against "
	    "their certificates%s%s", how ? "; " : "", how ? how : ""),
	    e)) != 0) {
		daemon_deactivate(d);
		return r;
	}
	pthread_rwlock_rdlock(&d->keys_lock);
	(void)daemon_checkpoint(d, d->st, "activation");
	pthread_rwlock_unlock(&d->keys_lock);
	(void)buf_printf(t, "Activated.\n%s", report);
	return 0;
}

static void
cmd_activate(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const unsigned char *pin;
	size_t len;
	secret_t *s = NULL;
	char who[32];
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	snprintf(who, sizeof(who), "uid %u", (unsigned)uid);
	if (d->cfg.split_pin) {
		cmd_share_refuse_pin(d, who, reply);
		return;
	}
	if ((pin = ctl_get(req, "pin", &len)) == NULL || len == 0 ||
	    len > HSM_PIN_MAX) {
		err_set(&e, ERR_INVALID, "activation needs the token's PIN "
		    "(1 to %d bytes)", HSM_PIN_MAX);
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	if ((r = secret_new(&s)) != 0 || (r = secret_set(s, pin, len)) != 0) {
		secret_free(s);
		err_set(&e, ERR_NOMEM, "out of memory");
		(void)cmd_fail(reply, ERR_NOMEM, &e);
		return;
	}
	buf_init(&t, 1u << 16);
	r = cmd_activate_pin(d, who, NULL, s, &t, &e);
	secret_free(s);
	if (r != 0)
		(void)cmd_fail(reply, r, &e);
	else
		(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

static void
cmd_deactivate(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	buf_t t;

	char who[32];

	(void)req;
	snprintf(who, sizeof(who), "uid %u", (unsigned)uid);
	event_emit(daemon_event, daemon_sink(d), "deactivation", EVENT_OK,
	    NULL, who, NULL, "the HSM sessions are closed");
	/* The records up to now are signed while the key is there. */
	pthread_rwlock_rdlock(&d->keys_lock);
	(void)daemon_checkpoint(d, d->st, "deactivation");
	pthread_rwlock_unlock(&d->keys_lock);
	daemon_deactivate(d);
	buf_init(&t, 256);
	(void)buf_printf(&t, "Deactivated: the HSM sessions are closed.\n");
	(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

/* --- batches ------------------------------------------------------------ */

struct cmd_list {
	struct daemon *d;
	buf_t *t;
	size_t n;
};

static int
cmd_list_batch(void *ctx, const struct queue_batch *b)
{
	struct cmd_list *l = ctx;
	char name[80], when[TIMEUTIL_STRLEN];

	text_show(b->name, strlen(b->name), 40, name, sizeof(name));
	timeutil_format(b->created, when);
	if (l->n++ == 0)
		(void)buf_printf(l->t, "%-6s %-19s %-16s %8s  %-20s %s\n", "BATCH",
		    "STATE", "PROFILE", "LINES", "RECEIVED", "NAME");
	(void)buf_printf(l->t, "%-6lld %-19s %-16s %8lld  %-20s %s\n",
	    (long long)b->id, queue_state_name(b->state), b->profile,
	    (long long)b->line_count, when, name);
	return 0;
}

static void
cmd_batch_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	enum queue_batch_state s;
	const char *state = ctl_get_str(req, "state");
	struct cmd_list l;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (state != NULL && queue_state_parse(state, &s) != 0) {
		err_set(&e, ERR_INVALID, "no batch state '%s' (pending-"
		    "approval, approved, rejected, issuing, completed, "
		    "partially-completed, failed)", state);
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	buf_init(&t, 64u << 20);
	l.d = d;
	l.t = &t;
	l.n = 0;
	if ((r = queue_batch_list(d->st, state ? &s : NULL, cmd_list_batch,
	    &l, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		buf_free(&t);
		return;
	}
	if (l.n == 0)
		(void)buf_printf(&t, "No batches%s%s.\n", state ? " in state " : "",
		    state ? state : "");
	(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

struct cmd_lines {
	char first[BUFSIZ], last[BUFSIZ];
	char first_mac[13], second_mac[13], last_mac[13];
	int64_t n;
};

static int
cmd_line_cb(void *ctx, const struct queue_line *l)
{
	struct cmd_lines *c = ctx;

	if (c->n == 0) {
		text_show(l->name, strlen(l->name), 64, c->first,
		    sizeof(c->first));
		snprintf(c->first_mac, sizeof(c->first_mac), "%s",
		    l->mac ? l->mac : "");
	} else if (c->n == 1) {
		snprintf(c->second_mac, sizeof(c->second_mac), "%s",
		    l->mac ? l->mac : "");
	}
	text_show(l->name, strlen(l->name), 64, c->last, sizeof(c->last));
	snprintf(c->last_mac, sizeof(c->last_mac), "%s", l->mac ? l->mac : "");
	c->n++;
	return 0;
}

struct cmd_votes {
	struct daemon *d;
	buf_t *t;
	struct approval_vote v[APPROVAL_TALLY_MAX];
	char officer[APPROVAL_TALLY_MAX][65];
	char reason[APPROVAL_TALLY_MAX][APPROVAL_REASON_BYTES];
	size_t n;
};

static int
cmd_vote_cb(void *ctx, const struct queue_approval *a)
{
	struct cmd_votes *c = ctx;

	if (c->t != NULL) {
		char who[256], when[TIMEUTIL_STRLEN], why[600];

		cmd_person_name(c->d, a->person_id, who, sizeof(who));
		timeutil_format(a->at, when);
		text_show(a->reason ? a->reason : "", a->reason ?
		    strlen(a->reason) : 0, 200, why, sizeof(why));
		(void)buf_printf(c->t, "  %s %-8s by %s (%.16s...)%s%s\n", when,
		    a->decision, who, a->officer_sha256, a->reason ?
		    ": " : "", a->reason ? why : "");
	}
	if (c->n >= APPROVAL_TALLY_MAX)
		return ERR_LIMIT;
	snprintf(c->officer[c->n], sizeof(c->officer[c->n]), "%s",
	    a->officer_sha256);
	snprintf(c->reason[c->n], sizeof(c->reason[c->n]), "%s",
	    a->reason ? a->reason : "");
	c->v[c->n].officer = c->officer[c->n];
	c->v[c->n].decision = strcmp(a->decision, "reject") == 0 ?
	    APPROVAL_REJECT : APPROVAL_APPROVE;
	c->v[c->n].reason = a->reason ? c->reason[c->n] : NULL;
	c->n++;
	return 0;
}

/* The MAC as aa:bb:cc:dd:ee:ff from 12 hex digits. */
static void
cmd_mac(const char *hex, char out[18])
{
	int i;

	for (i = 0; i < 6; i++) {
		out[3 * i] = hex[2 * i];
		out[3 * i + 1] = hex[2 * i + 1];
		out[3 * i + 2] = i < 5 ? ':' : '\0';
	}
}

/*
 * Ends a `show` of something officers decide on (kind and object): the
 * votes so far, then the reply with the text and what a statement about
 * it needs (digest, creation time, state).
 */
void
cmd_show_reply(struct daemon *d, const char *kind, int64_t object,
    const char *digest, int64_t created, const char *state, unsigned quorum,
    const char *requester, const char *none, buf_t *t, struct ctl_msg *reply)
{
	struct cmd_votes votes;
	struct approval_result res;
	err_t e;

	memset(&votes, 0, sizeof(votes));
	votes.d = d;
	votes.t = t;
	(void)buf_printf(t, "  Approvals (quorum %u, by officers other than the "
	    "requester):\n", quorum);
	(void)queue_approvals(d->st, kind, object, cmd_vote_cb, &votes, &e);
	if (votes.n == 0)
		(void)buf_printf(t, "  %s\n", none);
	else if (approval_tally(votes.v, votes.n, quorum,
	    requester != NULL && *requester != '\0' ? requester : NULL, &res,
	    &e) == 0 && res.state == APPROVAL_PENDING)
		(void)buf_printf(t, "  %u more approval%s needed\n", res.needed,
		    res.needed == 1 ? "" : "s");
	(void)ctl_reply_ok(reply);
	(void)ctl_put(reply, "text", t->data, t->len);
	(void)ctl_put_str(reply, "kind", kind);
	(void)ctl_put_int(reply, "object", object);
	(void)ctl_put_str(reply, "digest", digest);
	(void)ctl_put_int(reply, "created", created);
	(void)ctl_put_str(reply, "state", state);
}

static void
cmd_batch_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct queue_batch b;
	struct cmd_lines lines;
	const struct profile *p;
	struct daemon_ca *ca;
	char who[256], when[TIMEUTIL_STRLEN], shown[600];
	int64_t id;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (cmd_need_id(req, "id", &id, &e) != 0) {
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	if ((r = queue_batch_get(d->st, id, &b, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	buf_init(&t, 1u << 20);
	memset(&lines, 0, sizeof(lines));
	(void)queue_lines(d->st, id, 1, 2, cmd_line_cb, &lines, &e);
	if (b.line_count > 2) {
		struct cmd_lines tail;

		memset(&tail, 0, sizeof(tail));
		(void)queue_lines(d->st, id, b.line_count, 1, cmd_line_cb,
		    &tail, &e);
		memcpy(lines.last, tail.last, sizeof(lines.last));
		memcpy(lines.last_mac, tail.last_mac, sizeof(lines.last_mac));
	}
	p = profile_find(&d->profiles, b.profile);
	ca = daemon_ca_by_id(d, b.ca_id);
	cmd_person_name(d, b.requester_id, who, sizeof(who));
	timeutil_format(b.created, when);
	(void)buf_printf(&t, "Batch %lld: %s\n", (long long)b.id,
	    text_show(b.name, strlen(b.name), 200, shown, sizeof(shown)));
	if (b.description[0] != '\0')
		(void)buf_printf(&t, "  Description:    %s\n", text_show(
		    b.description, strlen(b.description), 300, shown,
		    sizeof(shown)));
	(void)buf_printf(&t, "  State:          %s%s%s\n", queue_state_name(b.state),
	    b.reason ? ": " : "", b.reason ? text_show(b.reason,
	    strlen(b.reason), 300, shown, sizeof(shown)) : "");
	(void)buf_printf(&t, "  Requester:      %s (certificate SHA-256 %s)\n", who,
	    b.signer_sha256);
	(void)buf_printf(&t, "  Received:       %s\n", when);
	(void)buf_printf(&t, "  Bundle digest:  %s\n", b.bundle_sha256);
	(void)buf_printf(&t, "  Profile:        %s%s%s\n", b.profile,
	    p && p->description[0] ? " - " : "", p ? p->description : "");
	(void)buf_printf(&t, "  Issuing CA:     %s\n", ca ? ca->name : "?");
	(void)buf_printf(&t, "  Input:          %s, %lld line%s\n", b.mode,
	    (long long)b.line_count, b.line_count == 1 ? "" : "s");
	if (strcmp(b.mode, "mac-range") == 0 && lines.first_mac[0]) {
		char m1[18], m2[18];

		cmd_mac(lines.first_mac, m1);
		cmd_mac(lines.last_mac[0] ? lines.last_mac : lines.first_mac,
		    m2);
		(void)buf_printf(&t, "  MAC range:      %s .. %s", m1, m2);
		if (lines.second_mac[0]) {
			unsigned long long a = strtoull(lines.first_mac, NULL,
			    16), c = strtoull(lines.second_mac, NULL, 16);

			(void)buf_printf(&t, " (increment %llu)", c - a);
		}
		(void)buf_printf(&t, "\n");
	}
	(void)buf_printf(&t, "  First subject:  %s\n", lines.first);
	(void)buf_printf(&t, "  Last subject:   %s\n", lines.last[0] ? lines.last :
	    lines.first);
	(void)buf_printf(&t, "  Key types:      %s\n", b.key_types ? b.key_types :
	    "(not recorded)");
	(void)buf_printf(&t, "  Output:         %s, chain %s, results log %s%s%s\n",
	    b.output_format, b.chain, b.results_log, b.p12_encryption ?
	    ", PKCS#12 " : "", b.p12_encryption ? b.p12_encryption : "");
	if (b.recipient_der != NULL) {
		X509 *rc = NULL;
		char subj[512], fp[65];

		if (pki_parse_cert(b.recipient_der, b.recipient_der_len, &rc,
		    &e) == 0 && certinfo_subject_text(rc, subj,
		    sizeof(subj)) == 0 && pki_cert_sha256_hex(rc, fp) == 0)
			(void)buf_printf(&t, "  SMPB recipient: %s (SHA-256 %s)\n",
			    subj, fp);
		X509_free(rc);
	}
	if (b.state != QUEUE_PENDING_APPROVAL && b.state != QUEUE_APPROVED &&
	    b.state != QUEUE_REJECTED)
		(void)buf_printf(&t, "  Lines:          %lld issued, %lld failed, "
		    "%lld pending, %lld reserved\n", (long long)b.issued,
		    (long long)b.failed, (long long)b.pending,
		    (long long)b.reserved);
	cmd_show_reply(d, "batch", b.id, b.bundle_sha256, b.created,
	    queue_state_name(b.state), b.quorum, b.signer_sha256, "(none yet)",
	    &t, reply);
	buf_free(&t);
	queue_batch_free(&b);
}

/* --- results ------------------------------------------------------------ */

struct cmd_results {
	struct export_item *items;
	size_t n, cap;
	buf_t *text;
	err_t *e;
};

static int
cmd_result_cb(void *ctx, const struct queue_line *l)
{
	struct cmd_results *c = ctx;
	struct export_item *it;

	if (c->text != NULL) {
		char name[300], msg[600];

		text_show(l->name, strlen(l->name), 64, name, sizeof(name));
		msg[0] = '\0';
		if (l->message != NULL || l->note != NULL)
			text_show(l->message ? l->message : l->note,
			    strlen(l->message ? l->message : l->note), 300,
			    msg, sizeof(msg));
		(void)buf_printf(c->text, "%-7lld %-24s %-34s %-9s %s\n",
		    (long long)l->line, name, l->serial ? l->serial : "-",
		    l->status == QUEUE_LINE_ISSUED ? "ISSUED" :
		    l->status == QUEUE_LINE_FAILED ? "FAILED" :
		    l->status == QUEUE_LINE_RESERVED ? "SIGNING" : "PENDING",
		    msg);
		return 0;
	}
	if (l->status != QUEUE_LINE_ISSUED && l->status != QUEUE_LINE_FAILED)
		return err_set(c->e, ERR_INVALID, "line %lld is still %s: the "
		    "results log exists once the batch has finished (use the "
		    "text form meanwhile)", (long long)l->line,
		    queue_line_status_name(l->status));
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct export_item *v = realloc(c->items, cap * sizeof(*v));

		if (v == NULL)
			return err_set(c->e, ERR_NOMEM, "out of memory");
		c->items = v;
		c->cap = cap;
	}
	it = &c->items[c->n];
	memset(it, 0, sizeof(*it));
	it->line = (unsigned long)l->line;
	if ((it->name = strdup(l->name)) == NULL)
		return err_set(c->e, ERR_NOMEM, "out of memory");
	c->n++;
	if (l->status == QUEUE_LINE_ISSUED) {
		const unsigned char *p = l->cert_der;

		it->issued = 1;
		if ((it->cert = d2i_X509(NULL, &p, (long)l->cert_der_len)) ==
		    NULL)
			return err_set(c->e, ERR_CRYPTO, "line %lld: stored "
			    "certificate does not parse", (long long)l->line);
		if (l->note != NULL && (it->message = strdup(l->note)) == NULL)
			return err_set(c->e, ERR_NOMEM, "out of memory");
	} else if ((it->message = strdup(l->message)) == NULL) {
		return err_set(c->e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

static void
cmd_results_free(struct cmd_results *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free((char *)c->items[i].name);
		free((char *)c->items[i].message);
		X509_free(c->items[i].cert);
	}
	free(c->items);
}

static void
cmd_batch_results(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const char *fmt = ctl_get_str(req, "format");
	struct cmd_results c;
	struct queue_batch b;
	enum export_log log = EXPORT_LOG_NONE;
	int64_t id, from;
	buf_t out;
	err_t e;
	int r;

	err_clear(&e);
	if (cmd_need_id(req, "id", &id, &e) != 0) {
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	if (fmt != NULL && strcmp(fmt, "text") != 0 &&
	    export_log_parse(fmt, &log) != 0) {
		err_set(&e, ERR_INVALID, "results format is text, csv or json");
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	if ((r = queue_batch_get(d->st, id, &b, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.e = &e;
	buf_init(&out, CTL_REPLY_MAX - 4096);
	if (log == EXPORT_LOG_NONE) {
		c.text = &out;
		(void)buf_printf(&out, "%-7s %-24s %-34s %-9s %s\n", "LINE", "NAME",
		    "SERIAL", "STATUS", "MESSAGE");
	}
	r = 0;
	for (from = 1; r == 0 && from <= b.line_count;
	    from += CMD_RESULTS_PAGE)
		r = queue_lines(d->st, id, from, CMD_RESULTS_PAGE,
		    cmd_result_cb, &c, &e);
	if (r == 0 && log == EXPORT_LOG_CSV)
		r = export_results_csv(c.items, c.n, &out, &e);
	else if (r == 0 && log == EXPORT_LOG_JSON)
		r = export_results_json(c.items, c.n, &out, &e);
	if (r == 0 && !buf_ok(&out))
		r = err_set(&e, ERR_LIMIT, "the results do not fit one reply");
	if (r != 0) {
		(void)cmd_fail(reply, r, &e);
	} else {
		(void)ctl_reply_ok(reply);
		(void)ctl_put(reply, log == EXPORT_LOG_NONE ? "text" : "data",
		    out.data, out.len);
	}
	buf_free(&out);
	cmd_results_free(&c);
	queue_batch_free(&b);
}

/* --- exports ------------------------------------------------------------ */

static int
cmd_list_export(void *ctx, const struct queue_export *x)
{
	struct cmd_list *l = ctx;
	char when[TIMEUTIL_STRLEN];

	timeutil_format(x->created, when);
	if (l->n++ == 0)
		(void)buf_printf(l->t, "%-7s %-6s %-3s %-17s %-20s %s\n", "EXPORT",
		    "BATCH", "NO", "STATE", "CREATED", "OUTBOX DIRECTORY");
	(void)buf_printf(l->t, "%-7lld %-6lld %-3lld %-17s %-20s %s\n",
	    (long long)x->id, (long long)x->batch_id, (long long)x->number,
	    queue_export_state_name(x->state), when, x->dir ? x->dir : "-");
	return 0;
}

static void
cmd_export_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct cmd_list l;
	int64_t batch = 0;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (ctl_get(req, "batch", NULL) != NULL &&
	    cmd_need_id(req, "batch", &batch, &e) != 0) {
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	buf_init(&t, 16u << 20);
	l.d = d;
	l.t = &t;
	l.n = 0;
	if ((r = queue_export_list(d->st, batch, cmd_list_export, &l,
	    &e)) != 0)
		(void)cmd_fail(reply, r, &e);
	else {
		if (l.n == 0)
			(void)buf_printf(&t, "No exports.\n");
		(void)cmd_text_reply(reply, &t);
	}
	buf_free(&t);
}

static void
cmd_export_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct queue_export x;
	struct queue_batch b;
	char digest[65], when[TIMEUTIL_STRLEN], shown[300], who[256];
	int64_t id;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (cmd_need_id(req, "id", &id, &e) != 0) {
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	if ((r = queue_export_get(d->st, id, &x, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	if ((r = queue_batch_get(d->st, x.batch_id, &b, &e)) != 0 ||
	    (r = queue_export_digest(d->st, id, digest, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		queue_export_free(&x);
		if (r != 0 && b.mem != NULL)
			queue_batch_free(&b);
		return;
	}
	buf_init(&t, 1u << 20);
	timeutil_format(x.created, when);
	cmd_person_name(d, b.requester_id, who, sizeof(who));
	(void)buf_printf(&t, "Export %lld: number %lld of batch %lld (%s)\n",
	    (long long)x.id, (long long)x.number, (long long)b.id,
	    text_show(b.name, strlen(b.name), 100, shown, sizeof(shown)));
	(void)buf_printf(&t, "  State:          %s\n",
	    queue_export_state_name(x.state));
	(void)buf_printf(&t, "  Requested:      %s\n", when);
	(void)buf_printf(&t, "  Batch:          %s, %lld issued, %lld failed, "
	    "output %s, requester %s\n", queue_state_name(b.state),
	    (long long)b.issued, (long long)b.failed, b.output_format, who);
	(void)buf_printf(&t, "  Export digest:  %s\n", digest);
	if (x.dir != NULL)
		(void)buf_printf(&t, "  Written to:     outbox/%s (MANIFEST SHA-256 "
		    "%s)\n", x.dir, x.manifest_sha256 ? x.manifest_sha256 :
		    "?");
	cmd_show_reply(d, "export", x.id, digest, x.created,
	    queue_export_state_name(x.state), b.quorum, b.signer_sha256,
	    x.number == 1 ? "(none: the batch's approval covers its first "
	    "export)" : "(none yet)", &t, reply);
	buf_free(&t);
	queue_batch_free(&b);
	queue_export_free(&x);
}

static void
cmd_export_request(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	int64_t batch, id;
	char digest[65], who[32];
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (cmd_need_id(req, "batch", &batch, &e) != 0) {
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	snprintf(who, sizeof(who), "uid %u", (unsigned)uid);
	if ((r = daemon_step_begin(d, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	if ((r = queue_export_request(d->st, batch, time(NULL), &id,
	    &e)) == 0 && (r = queue_export_digest(d->st, id, digest,
	    &e)) == 0) {
		char object[64];

		snprintf(object, sizeof(object), "export=%lld batch=%lld",
		    (long long)id, (long long)batch);
		r = daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
		    "export-requested", EVENT_OK, NULL, who, object,
		    "digest %s", digest), &e);
	}
	if ((r = daemon_step_end(d, r, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	buf_init(&t, 1024);
	(void)buf_printf(&t, "Export %lld of batch %lld requested: it needs the "
	    "approval of two officers (airlock export approve %lld).\n",
	    (long long)id, (long long)batch, (long long)id);
	(void)ctl_reply_ok(reply);
	(void)ctl_put(reply, "text", t.data, t.len);
	(void)ctl_put_int(reply, "object", id);
	buf_free(&t);
}

/* --- approvals ---------------------------------------------------------- */

/* What an approval is about, as the records say. */
struct cmd_object {
	enum approval_kind kind;
	int64_t id;
	char digest[65];
	char requester[65];
	int64_t created;
	unsigned quorum;
	int pending;		/* still waiting for decisions */
	char state[32];
};

static int
cmd_object_get(struct daemon *d, enum approval_kind kind, int64_t id,
    struct cmd_object *o, err_t *e)
{
	struct queue_batch b;
	struct queue_export x;
	int r;

	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->id = id;
	if (kind == APPROVAL_KIND_BATCH) {
		if ((r = queue_batch_get(d->st, id, &b, e)) != 0)
			return r;
		snprintf(o->digest, sizeof(o->digest), "%s", b.bundle_sha256);
		snprintf(o->requester, sizeof(o->requester), "%s",
		    b.signer_sha256);
		o->created = b.created;
		o->quorum = b.quorum;
		o->pending = b.state == QUEUE_PENDING_APPROVAL;
		snprintf(o->state, sizeof(o->state), "%s",
		    queue_state_name(b.state));
		queue_batch_free(&b);
		return 0;
	}
	if (kind == APPROVAL_KIND_REVOCATION) {
		struct queue_revocation rv;

		if ((r = queue_revocation_get(d->st, id, &rv, e)) != 0)
			return r;
		snprintf(o->digest, sizeof(o->digest), "%s",
		    rv.bundle_sha256);
		snprintf(o->requester, sizeof(o->requester), "%s",
		    rv.requester_sha256);
		o->created = rv.created;
		o->quorum = rv.quorum;
		o->pending = rv.state == QUEUE_REVOCATION_PENDING_APPROVAL;
		snprintf(o->state, sizeof(o->state), "%s",
		    queue_revocation_state_name(rv.state));
		queue_revocation_free(&rv);
		return 0;
	}
	if (kind == APPROVAL_KIND_CRL) {
		struct queue_crl_request cr;

		if ((r = queue_crl_get(d->st, id, &cr, e)) != 0)
			return r;
		/* An officer who asked is a requester; the appliance not. */
		if (strlen(cr.requested_by) == 64 &&
		    text_is_lower_hex(cr.requested_by, 64))
			snprintf(o->requester, sizeof(o->requester), "%s",
			    cr.requested_by);
		o->created = cr.created;
		o->quorum = cr.quorum;
		o->pending = cr.state == QUEUE_CRL_PENDING_APPROVAL;
		snprintf(o->state, sizeof(o->state), "%s",
		    queue_crl_state_name(cr.state));
		queue_crl_free(&cr);
		return queue_crl_digest(d->st, id, o->digest, e);
	}
	if (kind == APPROVAL_KIND_LOCKOUT_CLEAR) {
		struct queue_lockout l;

		if ((r = queue_lockout_get(d->st, id, &l, e)) != 0)
			return r;
		/* The locked person never counts towards their own clearing. */
		if (l.kind == QUEUE_LOCKOUT_PERSON)
			snprintf(o->requester, sizeof(o->requester), "%s",
			    l.credential);
		o->created = l.locked_at;
		o->quorum = l.quorum;
		o->pending = !l.cleared;
		snprintf(o->state, sizeof(o->state), "%s", l.cleared ?
		    "cleared" : "locked");
		return queue_lockout_digest(d->st, id, o->digest, e);
	}
	if (kind != APPROVAL_KIND_EXPORT)
		return err_set(e, ERR_INVALID, "approvals of kind '%s' are not "
		    "taken here", approval_kind_name(kind));
	if ((r = queue_export_get(d->st, id, &x, e)) != 0)
		return r;
	r = queue_batch_get(d->st, x.batch_id, &b, e);
	if (r == 0) {
		snprintf(o->requester, sizeof(o->requester), "%s",
		    b.signer_sha256);
		o->quorum = b.quorum;
		queue_batch_free(&b);
		r = queue_export_digest(d->st, id, o->digest, e);
	}
	o->created = x.created;
	o->pending = x.state == QUEUE_EXPORT_PENDING_APPROVAL;
	snprintf(o->state, sizeof(o->state), "%s",
	    queue_export_state_name(x.state));
	queue_export_free(&x);
	return r;
}

/*
 * Moves object o to its decided state once the tally is final: the queue
 * checks the recorded approvals again and has the last word. *what gets
 * the sentence the officer reads.
 */
static int
cmd_decided(struct daemon *d, const struct cmd_object *o, int approved,
    const char *reason, const char **what, err_t *e)
{
	switch (o->kind) {
	case APPROVAL_KIND_BATCH:
		*what = !approved ? "rejected. It will never be signed" :
		    d->activated ? "approved. Issuing starts now" :
		    "approved. Issuing starts once the daemon is activated "
		    "(airlock activate)";
		return queue_batch_transition(d->st, o->id,
		    QUEUE_PENDING_APPROVAL, approved ? QUEUE_APPROVED :
		    QUEUE_REJECTED, approved ? NULL : reason, e);
	case APPROVAL_KIND_REVOCATION:
		*what = !approved ? "rejected. No certificate changes" :
		    "approved. It takes effect now; a CRL request follows "
		    "for each CA it touches";
		return queue_revocation_transition(d->st, o->id,
		    QUEUE_REVOCATION_PENDING_APPROVAL, approved ?
		    QUEUE_REVOCATION_APPROVED : QUEUE_REVOCATION_REJECTED,
		    approved ? NULL : reason, e);
	case APPROVAL_KIND_CRL:
		*what = !approved ? "rejected" : d->activated ?
		    "approved. The CRL is signed now" : "approved. The CRL "
		    "is signed once the daemon is activated";
		return queue_crl_transition(d->st, o->id,
		    QUEUE_CRL_PENDING_APPROVAL, approved ? QUEUE_CRL_APPROVED :
		    QUEUE_CRL_REJECTED, approved ? NULL : reason, e);
	case APPROVAL_KIND_EXPORT:
		*what = approved ? "approved and will be written to the next "
		    "medium" : "rejected";
		return queue_export_transition(d->st, o->id,
		    QUEUE_EXPORT_PENDING_APPROVAL, approved ?
		    QUEUE_EXPORT_APPROVED : QUEUE_EXPORT_FAILED, NULL, NULL,
		    time(NULL), e);
	case APPROVAL_KIND_LOCKOUT_CLEAR:
		/* Rejections are refused before they are recorded. */
		*what = "cleared: the credential is usable again";
		return approved ? daemon_lockout_clear(d, o->id, e) :
		    err_set(e, ERR_INTERNAL, "a lock-out cannot be rejected");
	default:
		return err_set(e, ERR_INVALID, "approvals of kind '%s' are not "
		    "taken here", approval_kind_name(o->kind));
	}
}

static void
cmd_approve(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const char *kind_name = ctl_get_str(req, "kind");
	const unsigned char *stmt, *sig, *certp;
	size_t stmt_len, sig_len, cert_len;
	enum approval_kind kind;
	struct approval_signed as;
	struct approval_verify_opts vo;
	struct approval_statement s;
	struct approval_result res;
	struct queue_approval qa;
	struct cmd_object o;
	struct cmd_votes votes;
	struct cmd_person person;
	X509 *cert = NULL;
	char object[96], objects[128], fp[65];
	int64_t id;
	int step = 0, counts = 0;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	approval_signed_init(&as);
	buf_init(&t, 4096);
	if (kind_name == NULL || approval_kind_parse(kind_name, &kind) != 0 ||
	    cmd_need_id(req, "object", &id, &e) != 0 ||
	    (stmt = ctl_get(req, "statement", &stmt_len)) == NULL ||
	    (sig = ctl_get(req, "signature", &sig_len)) == NULL ||
	    (certp = ctl_get(req, "cert", &cert_len)) == NULL) {
		r = err_set(&e, ERR_INVALID, "an approval needs kind, object, "
		    "statement, signature and the officer's certificate");
		goto out;
	}
	snprintf(object, sizeof(object), "%s %lld", kind_name, (long long)id);
	/* The audit log's spelling; a CRL approval is about a request. */
	snprintf(objects, sizeof(objects), "%s=%lld", kind == APPROVAL_KIND_CRL ?
	    "crl-request" : kind == APPROVAL_KIND_LOCKOUT_CLEAR ? "lockout" :
	    kind_name, (long long)id);
	if ((r = pki_parse_cert(certp, cert_len, &cert, &e)) != 0 ||
	    (r = pki_cert_sha256_hex(cert, fp)) != 0 ||
	    (r = approval_signed_set(&as, stmt, stmt_len, sig, sig_len, cert,
	    &e)) != 0)
		goto refused;
	/*
	 * From the state read here to the decision recorded, one step: the
	 * approval, the object's move and their audit records are kept or
	 * lost together.
	 */
	if ((r = daemon_step_begin(d, &e)) != 0)
		goto out;
	step = 1;
	if ((r = cmd_object_get(d, kind, id, &o, &e)) != 0)
		goto out;
	if (!o.pending) {
		r = err_set(&e, ERR_INVALID, "%s is %s: its decision is made",
		    object, o.state);
		goto refused;
	}
	memset(&vo, 0, sizeof(vo));
	vo.people_cas = d->people_cas;
	vo.now = time(NULL);
	vo.kind = kind;
	vo.object = id;
	vo.digest = o.digest;
	vo.not_before = o.created;
	/* What does not verify counts against the certificate's holder. */
	if ((r = approval_verify(&as, &vo, &s, &e)) != 0) {
		counts = r != ERR_INTERNAL;
		goto refused;
	}
	/* The records decide what the certificate cannot: enrolled, active. */
	memset(&person, 0, sizeof(person));
	person.sha256 = fp;
	if (store_person_find(d->st, fp, cmd_person_cb, &person, &e) != 0 ||
	    !person.found) {
		r = err_set(&e, ERR_POLICY, "the officer certificate (SHA-256 "
		    "%s) is not enrolled on this appliance", fp);
		goto refused;
	}
	if (strcmp(person.status, "locked") == 0) {
		r = daemon_lockout_refuse(d, fp, person.name, &e);
		goto refused;
	}
	if (strcmp(person.role, "officer") != 0 ||
	    strcmp(person.status, "active") != 0) {
		counts = 1;
		r = err_set(&e, ERR_POLICY, "%s is %s %s: no approvals",
		    person.name, strcmp(person.status, "active") != 0 ?
		    person.status : "enrolled as", strcmp(person.status,
		    "active") != 0 ? "" : person.role);
		goto refused;
	}
	if (strcmp(fp, o.requester) == 0) {
		r = err_set(&e, ERR_POLICY, "%s requested %s and may not "
		    "approve it", person.name, object);
		goto refused;
	}
	if (kind == APPROVAL_KIND_LOCKOUT_CLEAR &&
	    s.decision == APPROVAL_REJECT) {
		r = err_set(&e, ERR_POLICY, "a lock-out is not rejected: it "
		    "stays until two officers clear it, so an officer who "
		    "objects simply does not approve");
		goto refused;
	}
	memset(&qa, 0, sizeof(qa));
	qa.kind = kind_name;
	qa.object = id;
	qa.officer_sha256 = fp;
	qa.decision = approval_decision_name(s.decision);
	qa.reason = s.decision == APPROVAL_REJECT ? s.reason : NULL;
	qa.digest = s.digest;
	qa.statement = as.statement.data;
	qa.statement_len = as.statement.len;
	qa.signature = as.sig.data;
	qa.signature_len = as.sig.len;
	qa.at = vo.now;
	qa.person_id = person.found_id;
	if ((r = queue_approval_add(d->st, &qa, NULL, &e)) != 0) {
		if (r == ERR_EXISTS)
			r = err_set(&e, ERR_EXISTS, "%s already gave a decision "
			    "on %s: each officer counts once", person.name,
			    object);
		goto refused;
	}
	if ((r = daemon_lockout_approval_ok(d, fp, &e)) != 0)
		goto out;
	snprintf(objects + strlen(objects), sizeof(objects) - strlen(objects),
	    " decision=%s", qa.decision);
	if ((r = daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
	    "approval", EVENT_OK, fp, person.name, objects, "%s over digest "
	    "%s%s%s", qa.decision, s.digest, qa.reason ? ": " : "",
	    qa.reason ? qa.reason : ""), &e)) != 0)
		goto out;
	/* Count the votes as recorded, then let the queue decide. */
	memset(&votes, 0, sizeof(votes));
	votes.d = d;
	if ((r = queue_approvals(d->st, kind_name, id, cmd_vote_cb, &votes,
	    &e)) != 0 || (r = approval_tally(votes.v, votes.n, o.quorum,
	    o.requester[0] != '\0' ? o.requester : NULL, &res, &e)) != 0)
		goto out;
	if (res.state == APPROVAL_PENDING) {
		(void)buf_printf(&t, "Recorded %s's %s of %s: %u of %u approvals, %u "
		    "more needed.\n", person.name, qa.decision, object,
		    res.approvals, o.quorum, res.needed);
	} else {
		int approved = res.state == APPROVAL_APPROVED;
		const char *what = "";
		char ev[48];

		if ((r = cmd_decided(d, &o, approved, approved ? NULL :
		    votes.v[res.rejection].reason, &what, &e)) != 0)
			goto out;
		snprintf(ev, sizeof(ev), "%s-%s", kind_name, approved ?
		    "approved" : "rejected");
		/* A clearing has its own record (lockout-cleared). */
		if (kind != APPROVAL_KIND_LOCKOUT_CLEAR &&
		    (r = daemon_recorded(d, event_emit(daemon_event,
		    daemon_sink(d), ev, EVENT_OK, NULL, NULL, objects, "%s",
		    approved ? "quorum reached" :
		    votes.v[res.rejection].reason), &e)) != 0)
			goto out;
		(void)buf_printf(&t, "Recorded %s's %s. %s is now %s.\n",
		    person.name, qa.decision, object, what);
	}
	step = 0;
	if ((r = daemon_step_end(d, 0, &e)) != 0)
		goto out;
	daemon_wake(d);
	(void)cmd_text_reply(reply, &t);
	goto done;
refused:
	/* Nothing of the attempt is kept but its record: who tried. */
	if (step)
		(void)daemon_step_end(d, r, &e);
	step = 0;
	/* A failure counted against an enrolled person has its own record. */
	if (!counts || cert == NULL ||
	    daemon_lockout_approval_failed(d, fp, objects, &e) != 1)
		event_emit(daemon_event, daemon_sink(d), "approval",
		    EVENT_REFUSED, cert != NULL ? fp : NULL, NULL, kind_name ?
		    objects : NULL, "%s", e.msg);
out:
	if (step)
		(void)daemon_step_end(d, r, &e);
	(void)cmd_fail(reply, r, &e);
done:
	approval_signed_free(&as);
	X509_free(cert);
	buf_free(&t);
}

/* --- dispatch ----------------------------------------------------------- */

/*
 * Every command the console may send, one row each; a request whose
 * command is not here is refused. A row has exactly one handler: handle
 * answers from the request alone, handle_uid also names the console user
 * (the peer's uid) in the audit events it writes.
 */
static const struct cmd_dispatch {
	const char *cmd;
	void (*handle)(struct daemon *, const struct ctl_msg *,
	    struct ctl_msg *);
	void (*handle_uid)(struct daemon *, uid_t, const struct ctl_msg *,
	    struct ctl_msg *);
} cmd_table[] = {
	{ "status",		cmd_status,		NULL },
	{ "activate",		NULL,			cmd_activate },
	{ "deactivate",		NULL,			cmd_deactivate },
	{ "share-session",	cmd_share_session,	NULL },
	{ "activate-share",	NULL,			cmd_share_present },
	{ "share-cancel",	NULL,			cmd_share_cancel },
	{ "batch-list",		cmd_batch_list,		NULL },
	{ "batch-show",		cmd_batch_show,		NULL },
	{ "batch-results",	cmd_batch_results,	NULL },
	{ "approve",		cmd_approve,		NULL },
	{ "export-request",	NULL,			cmd_export_request },
	{ "export-list",	cmd_export_list,	NULL },
	{ "export-show",	cmd_export_show,	NULL },
	{ "cert-list",		cmd_cert_list,		NULL },
	{ "cert-show",		cmd_cert_show,		NULL },
	{ "report",		cmd_cert_report,	NULL },
	{ "crl-request",	NULL,			cmd_crl_request },
	{ "crl-list",		cmd_crl_list,		NULL },
	{ "crl-show",		cmd_crl_show,		NULL },
	{ "revoke-submit",	NULL,			cmd_revoke_submit },
	{ "revocation-list",	cmd_revocation_list,	NULL },
	{ "revocation-show",	cmd_revocation_show,	NULL },
	{ "lockout-list",	cmd_lockout_list,	NULL },
	{ "lockout-show",	cmd_lockout_show,	NULL },
	{ "audit-text",		cmd_audit_text,		NULL },
	{ "audit-export",	NULL,			cmd_audit_export },
};
#define CMD_TABLE_N (sizeof(cmd_table) / sizeof(cmd_table[0]))

void
daemon_command(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const char *cmd = ctl_get_str(req, "cmd");
	char shown[80];
	size_t i;
	err_t e;

	err_clear(&e);
	if (cmd == NULL) {
		err_set(&e, ERR_PROTO, "the request names no command");
		(void)cmd_fail(reply, ERR_PROTO, &e);
		return;
	}
	for (i = 0; i < CMD_TABLE_N; i++) {
		const struct cmd_dispatch *c = &cmd_table[i];

		if (strcmp(cmd, c->cmd) != 0)
			continue;
		if (c->handle_uid != NULL)
			c->handle_uid(d, uid, req, reply);
		else
			c->handle(d, req, reply);
		return;
	}
	err_set(&e, ERR_INVALID, "unknown command '%s'", text_show(cmd,
	    strlen(cmd), 32, shown, sizeof(shown)));
	(void)cmd_fail(reply, ERR_INVALID, &e);
}
