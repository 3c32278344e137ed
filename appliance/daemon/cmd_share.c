/*
 * cmd_share.c: split-pin activation (cmd_share.h).
 *
 * A presentation is checked in this order, and refused (and audited with
 * the reason) at the first failure: the mode and state; the session the
 * statement names; the officer's statement (approval_verify: chain to a
 * people CA, the officer role and no other, signature, kind
 * activation-share, this session, digest over the session nonce and the
 * record); the appliance's records (enrolled, active officer); the record
 * itself (pinshare_parse); the token it is for; the collector's rules
 * (same split, each share and officer once, the share names its
 * presenter). At M shares the PIN is rebuilt into locked memory, used for
 * the one login path (cmd_activate_pin), and wiped with every share,
 * whatever the login's outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval/approval.h"
#include "audit/record.h"
#include "daemon/cmd_share.h"
#include "daemon/commands.h"
#include "daemon/shares.h"
#include "pki/pinshare.h"
#include "pki/pkiutil.h"

/* The collector, made on first use with the configured timeout. */
static struct shares *
cmd_share_get(struct daemon *d, err_t *e)
{
	if (d->shares != NULL)
		return d->shares;
	if ((d->shares = calloc(1, sizeof(*d->shares))) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (shares_init(d->shares, d->cfg.share_timeout, e) != 0) {
		free(d->shares);
		d->shares = NULL;
	}
	return d->shares;
}

void
cmd_share_close(struct daemon *d)
{
	if (d->shares == NULL)
		return;
	shares_free(d->shares);
	free(d->shares);
	d->shares = NULL;
}

static void
cmd_share_object(struct daemon *d, const char *extra, char *out, size_t outsz)
{
	char tok[AUDIT_VALUE_MAX];

	snprintf(out, outsz, "token=%s%s%s", audit_objects_value(
	    d->cfg.hsm_token, tok, sizeof(tok)), extra ? " " : "",
	    extra ? extra : "");
}

void
cmd_share_tick(struct daemon *d, time_t now)
{
	char object[64 + AUDIT_VALUE_MAX];
	size_t n;

	if (d->shares == NULL || (n = shares_expire(d->shares, now)) == 0)
		return;
	cmd_share_object(d, NULL, object, sizeof(object));
	event_emit(daemon_event, daemon_sink(d), "share-expired", EVENT_OK,
	    NULL, NULL, object, "%zu share%s held for %u s without reaching "
	    "the threshold: wiped", n, n == 1 ? "" : "s", d->cfg.share_timeout);
}

void
cmd_share_refuse_pin(struct daemon *d, const char *who, struct ctl_msg *reply)
{
	char object[64 + AUDIT_VALUE_MAX];
	err_t e;

	cmd_share_object(d, NULL, object, sizeof(object));
	err_set(&e, ERR_POLICY, "this appliance activates with officers' PIN "
	    "shares (activation: split-pin), not with a PIN: each officer "
	    "presents a share with `airlock activate --share FILE`");
	event_emit(daemon_event, daemon_sink(d), "activation", EVENT_REFUSED,
	    NULL, who, object, "%s", e.msg);
	(void)cmd_fail(reply, ERR_POLICY, &e);
}

/* Mode and state shared by the share commands; 0 or ERR_* in e. */
static int
cmd_share_ready(struct daemon *d, struct shares **s, err_t *e)
{
	int active;

	if (!d->cfg.split_pin)
		return err_set(e, ERR_POLICY, "this appliance activates with a "
		    "PIN (activation: pin); shares are not taken");
	pthread_rwlock_rdlock(&d->keys_lock);
	active = d->activated;
	pthread_rwlock_unlock(&d->keys_lock);
	if (active)
		return err_set(e, ERR_EXISTS, "already activated; deactivate "
		    "first");
	if ((*s = cmd_share_get(d, e)) == NULL)
		return e->code;
	cmd_share_tick(d, time(NULL));
	return 0;
}

/* cmd_share_ready, replying with the refusal: the collector or NULL. */
static struct shares *
cmd_share_ready_reply(struct daemon *d, struct ctl_msg *reply)
{
	struct shares *s = NULL;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = cmd_share_ready(d, &s, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return NULL;
	}
	return s;
}

void
cmd_share_session(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct shares *s;
	char nonce[65], names[1024];
	buf_t t;

	(void)req;
	if ((s = cmd_share_ready_reply(d, reply)) == NULL)
		return;
	shares_nonce_hex(s, nonce);
	shares_names(s, names, sizeof(names));
	buf_init(&t, 4096);
	if (s->n == 0)
		(void)buf_printf(&t, "No shares held for token '%s'.\n",
		    d->cfg.hsm_token);
	else
		(void)buf_printf(&t, "%zu share%s held for token '%s' (%s); %u "
		    "more needed; wiped at %u s after the first.\n", s->n,
		    s->n == 1 ? "" : "s", d->cfg.hsm_token, names,
		    shares_needed(s), s->timeout);
	(void)ctl_reply_ok(reply);
	(void)ctl_put(reply, "text", t.data, t.len);
	(void)ctl_put_int(reply, "session", s->session);
	(void)ctl_put_str(reply, "nonce", nonce);
	(void)ctl_put_str(reply, "token", d->cfg.hsm_token);
	buf_free(&t);
}

void
cmd_share_cancel(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct shares *s;
	char who[32], object[64 + AUDIT_VALUE_MAX];
	size_t n;
	buf_t t;

	(void)req;
	if ((s = cmd_share_ready_reply(d, reply)) == NULL)
		return;
	n = s->n;
	shares_clear(s);
	snprintf(who, sizeof(who), "uid %u", (unsigned)uid);
	cmd_share_object(d, NULL, object, sizeof(object));
	event_emit(daemon_event, daemon_sink(d), "share-cancelled", EVENT_OK,
	    NULL, who, object, "%zu share%s wiped at the console", n,
	    n == 1 ? "" : "s");
	buf_init(&t, 256);
	(void)buf_printf(&t, "Wiped %zu share%s; presenting starts over.\n", n,
	    n == 1 ? "" : "s");
	(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}

struct cmd_share_person {
	const char *sha256;
	char name[256];
	char role[16];
	char status[16];
	int found;
};

static int
cmd_share_person_cb(void *ctx, const struct store_person *p)
{
	struct cmd_share_person *c = ctx;

	if (strcmp(p->sha256, c->sha256) != 0)
		return 0;
	snprintf(c->name, sizeof(c->name), "%s", p->name);
	snprintf(c->role, sizeof(c->role), "%s", p->role);
	snprintf(c->status, sizeof(c->status), "%s", p->status ? p->status :
	    "active");
	c->found = 1;
	return 0;
}

/* The serial of the configured token, from a session without login. */
static int
cmd_share_serial(struct daemon *d, char serial[17], err_t *e)
{
	struct hsm_token_info ti;
	struct hsm_pool *p = NULL;
	struct hsm_uri uri;
	int r;

	hsm_uri_init(&uri);
	snprintf(uri.token, sizeof(uri.token), "%s", d->cfg.hsm_token);
	if ((r = hsm_pool_open(d->cfg.hsm_module, &uri, 1, NULL, &p, e)) == 0 &&
	    (r = hsm_pool_token_info(p, &ti, e)) == 0)
		snprintf(serial, 17, "%s", ti.serial);
	hsm_pool_close(p);
	return r;
}

/* Everything a presentation is refused for, up to the collector's rules. */
static int
cmd_share_check(struct daemon *d, struct shares *s, const struct ctl_msg *req,
    struct pinshare *meta, secret_t *share, X509 **cert, char fp[65],
    struct cmd_share_person *who, err_t *e)
{
	const unsigned char *rec, *stmt, *sig, *certp;
	size_t rec_len, stmt_len, sig_len, cert_len;
	struct approval_verify_opts vo;
	struct approval_signed as;
	char digest[65], serial[17];
	int64_t session;
	int r;

	if ((rec = ctl_get(req, "record", &rec_len)) == NULL ||
	    (stmt = ctl_get(req, "statement", &stmt_len)) == NULL ||
	    (sig = ctl_get(req, "signature", &sig_len)) == NULL ||
	    (certp = ctl_get(req, "cert", &cert_len)) == NULL ||
	    ctl_get_int(req, "session", &session) != 0)
		return err_set(e, ERR_INVALID, "a share presentation needs "
		    "record, session, statement, signature and the officer's "
		    "certificate");
	if ((r = pki_parse_cert(certp, cert_len, cert, e)) != 0 ||
	    (r = pki_cert_sha256_hex(*cert, fp)) != 0)
		return r ? r : err_set(e, ERR_CRYPTO, "cannot hash the "
		    "certificate");
	if (session != s->session)
		return err_set(e, ERR_POLICY, "the statement is for another "
		    "share session (shares expired, were cancelled or used, "
		    "or the daemon restarted): present the share again");
	if ((r = shares_digest(s, rec, rec_len, digest, e)) != 0)
		return r;
	approval_signed_init(&as);
	if ((r = approval_signed_set(&as, stmt, stmt_len, sig, sig_len, *cert,
	    e)) == 0) {
		memset(&vo, 0, sizeof(vo));
		vo.people_cas = d->people_cas;
		vo.now = time(NULL);
		vo.kind = APPROVAL_KIND_SHARE;
		vo.object = s->session;
		vo.digest = digest;
		/* Freshness comes from the session nonce the digest covers. */
		vo.not_before = 0;
		r = approval_verify(&as, &vo, NULL, e);
	}
	approval_signed_free(&as);
	if (r != 0)
		return r;
	memset(who, 0, sizeof(*who));
	who->sha256 = fp;
	if (store_person_find(d->st, fp, cmd_share_person_cb, who, e) != 0 ||
	    !who->found)
		return err_set(e, ERR_POLICY, "the certificate (SHA-256 %.16s...) "
		    "is not enrolled on this appliance", fp);
	if (strcmp(who->role, "officer") != 0)
		return err_set(e, ERR_POLICY, "%s is enrolled as %s, not as an "
		    "officer: only officers hold PIN shares", who->name,
		    who->role);
	if (strcmp(who->status, "active") != 0)
		return err_set(e, ERR_POLICY, "%s is %s: no share is taken from "
		    "them", who->name, who->status);
	if ((r = pinshare_parse("the share record", rec, rec_len, meta, share,
	    e)) != 0)
		return r;
	if (strcmp(meta->token, d->cfg.hsm_token) != 0)
		return err_set(e, ERR_POLICY, "share %u is for token '%s', not "
		    "for this appliance's token '%s'", meta->index, meta->token,
		    d->cfg.hsm_token);
	if (cmd_share_serial(d, serial, e) != 0)
		return err_prefix(e, "cannot read the token's serial");
	if (strcmp(meta->serial, serial) != 0)
		return err_set(e, ERR_POLICY, "share %u is for the token with "
		    "serial %s, but token '%s' here has serial %s", meta->index,
		    meta->serial, meta->token, serial);
	return 0;
}

void
cmd_share_present(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct cmd_share_person who;
	struct pinshare meta;
	struct shares *s = NULL;
	secret_t *share = NULL, *pin = NULL;
	X509 *cert = NULL;
	char fp[65] = "", object[96 + AUDIT_VALUE_MAX], extra[64];
	char names[1024], how[1100], user[32];
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	memset(&meta, 0, sizeof(meta));
	memset(&who, 0, sizeof(who));
	buf_init(&t, 1u << 16);
	snprintf(user, sizeof(user), "uid %u", (unsigned)uid);
	if ((r = cmd_share_ready(d, &s, &e)) != 0 ||
	    (r = secret_new(&share)) != 0 || (r = secret_new(&pin)) != 0) {
		if (r == ERR_NOMEM)
			err_set(&e, r, "out of memory");
		goto refused;
	}
	if ((r = cmd_share_check(d, s, req, &meta, share, &cert, fp, &who,
	    &e)) != 0 || (r = shares_add(s, &meta, share, fp, who.name,
	    time(NULL), &e)) != 0)
		goto refused;
	snprintf(extra, sizeof(extra), "share=%u", meta.index);
	cmd_share_object(d, extra, object, sizeof(object));
	event_emit(daemon_event, daemon_sink(d), "share-presented", EVENT_OK,
	    fp, who.name, object, "share %u of a %u-of-%u split; %zu held, %u "
	    "more needed", meta.index, meta.threshold, meta.shares, s->n,
	    shares_needed(s));
	(void)buf_printf(&t, "Share %zu of %u accepted (officer %s, share "
	    "number %u)", s->n, meta.threshold, who.name, meta.index);
	if (shares_needed(s) > 0) {
		(void)buf_printf(&t, "; %u more needed within %u s of the "
		    "first.\n", shares_needed(s), s->timeout);
		(void)cmd_text_reply(reply, &t);
		goto done;
	}
	(void)buf_printf(&t, "; the threshold is reached.\n");
	shares_names(s, names, sizeof(names));
	r = shares_combine(s, pin, &e);
	/* The shares go now, whatever the login says. */
	shares_clear(s);
	if (r == 0) {
		snprintf(how, sizeof(how), "PIN rebuilt from the shares of %s",
		    names);
		r = cmd_activate_pin(d, user, how, pin, &t, &e);
	}
	secret_wipe(pin);
	if (r != 0)
		(void)cmd_fail(reply, r, &e);
	else
		(void)cmd_text_reply(reply, &t);
	goto done;
refused:
	if (meta.index)
		snprintf(extra, sizeof(extra), "share=%u", meta.index);
	cmd_share_object(d, meta.index ? extra : NULL, object,
	    sizeof(object));
	event_emit(daemon_event, daemon_sink(d), "share-refused",
	    EVENT_REFUSED, fp[0] ? fp : NULL, who.found ? who.name : NULL,
	    object, "%s", e.msg);
	(void)cmd_fail(reply, r, &e);
done:
	secret_free(share);
	secret_free(pin);
	X509_free(cert);
	buf_free(&t);
}
