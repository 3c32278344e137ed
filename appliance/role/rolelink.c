/* rolelink.c: the store role's side of the ingest role (rolelink.h). */
#include "role/rolelink.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "pki/extkey.h"
#include "role/rolebundle.h"
#include "role/rolemsg.h"

/* The store's states towards the ingest role (bits of rolemsg_rule). */
#define LINK_JUDGING	1u
#define LINK_ITEMS	2u
/* Towards the parent: any time. */
#define LINK_ANY	1u

/* Largest ciphertext the ingest role may ask to have decrypted. */
#define LINK_CIPHER_MAX 1024u

/* What the ingest role may send the store, and when. */
static const struct rolemsg_rule link_from_ingest[] = {
	{ ROLEMSG_SIGNER, LINK_JUDGING, 0, 4 + 64 },
	{ ROLEMSG_ISSUER, LINK_JUDGING, 0, 4 + ROLEMSG_TEXT_MAX },
	{ ROLEMSG_DECRYPT, LINK_JUDGING, 0, 1 + 4 + LINK_CIPHER_MAX + 4 },
	{ ROLEMSG_REFUSED, LINK_JUDGING, 0, ROLEMSG_PAYLOAD_MAX },
	{ ROLEMSG_ACCEPTED, LINK_JUDGING, 0, ROLEMSG_PAYLOAD_MAX },
	{ ROLEMSG_ITEMS, LINK_ITEMS, 0, ROLEMSG_PAYLOAD_MAX },
};

/* What the parent may send the store. */
static const struct rolemsg_rule link_from_parent[] = {
	{ ROLEMSG_INGEST, LINK_ANY, 1, 4 + 4 + ROLEMSG_TEXT_MAX },
};

#define NRULES(t) (sizeof(t) / sizeof((t)[0]))

struct role_link {
	pthread_mutex_t lock;
	int chan;		/* to the ingest role; -1 while there is none */
	int ctl;		/* to the parent */
	uint32_t gen;		/* the ingest role's generation */
	char ended[ROLEMSG_TEXT_MAX];	/* how the previous one ended */
	buf_t rx;
	const volatile int *stop, *interrupt;	/* role_link_set_stop */
};

/* One bundle in flight. */
struct link_call {
	struct role_link *l;
	const struct bundle_opts *o;
	unsigned requests;
	int answered;		/* the role gave its judgement */
	int changed;		/* the file changed under us: judge it later */
	int stopping;		/* the store stops: given up, judge it later */
	err_t why;		/* the violation or failure that ended it */
};

int
role_link_new(int chan, int ctl, struct role_link **out, err_t *err)
{
	struct role_link *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		close(chan);
		close(ctl);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&l->lock, NULL);
	l->chan = chan;
	l->ctl = ctl;
	l->gen = 1;
	buf_init(&l->rx, ROLEMSG_HDR + ROLEMSG_MAX);
	buf_set_secret(&l->rx);
	*out = l;
	return 0;
}

void
role_link_free(struct role_link *l)
{
	if (l == NULL)
		return;
	if (l->chan != -1)
		close(l->chan);
	if (l->ctl != -1)
		close(l->ctl);
	buf_free(&l->rx);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/*
 * Reads one message from the parent and takes the ingest role it hands
 * over. 0; ERR_IO when the parent is gone; ERR_PROTO when it broke the
 * protocol (the store then stops listening to it).
 */
static int
link_take_one(struct role_link *l, int timeout_ms, err_t *err)
{
	buf_t frame, p;
	uint8_t type;
	uint32_t gen;
	char *text = NULL;
	int fd, eof, r;

	buf_init(&frame, ROLEMSG_HDR + ROLEMSG_MAX);
	r = rolemsg_recv(l->ctl, &frame, &fd, timeout_ms, &eof, err);
	if (r == 0 && (r = rolemsg_decode(frame.data, frame.len, &type, &p,
	    err)) == 0)
		r = rolemsg_check(link_from_parent, NRULES(link_from_parent),
		    LINK_ANY, type, fd != -1, buf_avail(&p), "parent", err);
	if (r == 0 && (buf_get_u32(&p, &gen) != 0 || gen <= l->gen ||
	    rolemsg_get_text(&p, &text, ROLEMSG_TEXT_MAX, err) != 0 ||
	    buf_avail(&p) != 0))
		r = err_set(err, ERR_PROTO, "malformed ingest message from "
		    "the parent");
	if (r == 0) {
		if (l->chan != -1)
			close(l->chan);
		l->chan = fd;
		fd = -1;
		l->gen = gen;
		snprintf(l->ended, sizeof(l->ended), "%s", text);
		fprintf(stderr, "airlockd: store: ingest role %u takes over "
		    "(the previous one %s)\n", (unsigned)gen, text);
	}
	if (r != 0 && l->ctl != -1 && r != ERR_IO) {
		close(l->ctl);
		l->ctl = -1;
	}
	if (fd != -1)
		close(fd);
	free(text);
	buf_free(&frame);
	return r;
}

/* Takes every ingest role the parent handed over unasked. */
static void
link_take_pending(struct role_link *l)
{
	err_t e;

	while (l->ctl != -1 && rolemsg_pending(l->ctl))
		if (link_take_one(l, 0, &e) != 0) {
			fprintf(stderr, "airlockd: store: %s\n", e.msg);
			break;
		}
}

/*
 * Gives up the current ingest role (why: for the parent's journal) and
 * waits for the next one. 0 with l->ended saying how the old one ended,
 * or ERR_IO.
 */
static int
link_lost(struct role_link *l, const char *why, err_t *err)
{
	buf_t p;
	uint32_t old = l->gen;
	int gone, r = 0;

	if (l->chan != -1) {
		close(l->chan);
		l->chan = -1;
	}
	if (l->ctl == -1)
		return err_set(err, ERR_IO, "no parent to restart the ingest "
		    "role");
	buf_init(&p, 4 + 4 + ROLEMSG_TEXT_MAX);
	(void)buf_put_u32(&p, old);
	(void)buf_put_string(&p, why, strnlen(why, ROLEMSG_TEXT_MAX - 1));
	r = rolemsg_send(l->ctl, ROLEMSG_LOST, &p, -1, &gone, err);
	buf_free(&p);
	while (r == 0 && l->gen == old)
		r = link_take_one(l, ROLELINK_TIMEOUT_MS, err);
	return r;
}

/* --- answering the ingest role ------------------------------------------- */

static int
link_reply(struct link_call *c, int code, const buf_t *answer,
    const char *msg)
{
	buf_t p;
	int gone, r;

	buf_init(&p, ROLEMSG_PAYLOAD_MAX);
	buf_set_secret(&p);
	if (code == 0) {
		(void)buf_put_u32(&p, 0);
		if (answer != NULL)
			(void)buf_put(&p, answer->data, answer->len);
	} else {
		if (code > 0 || code < ERR_INTERNAL)
			code = ERR_INTERNAL;
		(void)buf_put_u32(&p, (uint32_t)-code);
		(void)buf_put_string(&p, msg, strnlen(msg,
		    ROLEMSG_TEXT_MAX - 1));
	}
	r = rolemsg_send(c->l->chan, ROLEMSG_REPLY, &p, -1, &gone, &c->why);
	buf_free(&p);
	return r;
}

static int
link_answer_signer(struct link_call *c, buf_t *in)
{
	struct bundle_signer s;
	char sha[65];
	buf_t a;
	err_t e;
	int r;

	if (buf_get_text(in, sha, sizeof(sha)) != 0 || strlen(sha) != 64 ||
	    buf_avail(in) != 0)
		return err_set(&c->why, ERR_PROTO, "malformed signer lookup");
	memset(&s, 0, sizeof(s));
	if ((r = c->o->signer_lookup(c->o->lookup_ctx, sha, &s, &e)) != 0)
		return link_reply(c, r, NULL, e.msg);
	buf_init(&a, 4096);
	(void)buf_put_u64(&a, (uint64_t)s.person_id);
	(void)buf_put_cstring(&a, s.name);
	(void)buf_put_cstring(&a, s.role);
	(void)buf_put_cstring(&a, s.status);
	r = link_reply(c, 0, &a, NULL);
	buf_free(&a);
	return r;
}

static int
link_answer_issuer(struct link_call *c, buf_t *in)
{
	struct bundle_issuer is;
	unsigned char *der = NULL;
	char *name = NULL;
	buf_t a;
	err_t e;
	int r, n;

	if (rolemsg_get_text(in, &name, ROLEMSG_TEXT_MAX, &c->why) != 0 ||
	    buf_avail(in) != 0) {
		free(name);
		return err_set(&c->why, ERR_PROTO, "malformed issuer lookup");
	}
	memset(&is, 0, sizeof(is));
	r = c->o->issuer_lookup(c->o->lookup_ctx, name, &is, &e);
	free(name);
	if (r != 0)
		return link_reply(c, r, NULL, e.msg);
	if (is.cert == NULL || (n = i2d_X509(is.cert, &der)) <= 0)
		return link_reply(c, ERR_CRYPTO, NULL, "cannot encode the "
		    "issuer's certificate");
	buf_init(&a, ROLEMSG_PAYLOAD_MAX - 4);
	(void)buf_put_u64(&a, (uint64_t)is.ca_id);
	(void)buf_put_string(&a, der, (size_t)n);
	OPENSSL_free(der);
	r = link_reply(c, 0, &a, NULL);
	buf_free(&a);
	return r;
}

static int
link_answer_decrypt(struct link_call *c, buf_t *in)
{
	EVP_PKEY *k = c->o->env.transport_key;
	EVP_PKEY_CTX *pc = NULL;
	const unsigned char *ct;
	unsigned char out[LINK_CIPHER_MAX];
	size_t ctlen, outlen = sizeof(out);
	uint32_t outmax;
	uint8_t op;
	buf_t a;
	int r;

	if (buf_get_u8(in, &op) != 0 || (op != EXTKEY_RSA_DECRYPT_PKCS1 &&
	    op != EXTKEY_RSA_DECRYPT_RAW) ||
	    buf_get_string_ref(in, &ct, &ctlen, LINK_CIPHER_MAX) != 0 ||
	    ctlen == 0 || buf_get_u32(in, &outmax) != 0 ||
	    outmax > LINK_CIPHER_MAX || buf_avail(in) != 0)
		return err_set(&c->why, ERR_PROTO, "malformed decryption "
		    "request");
	/* The same failure whatever went wrong: no oracle (envelope.h). */
	if (k == NULL || (pc = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_decrypt_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, op == EXTKEY_RSA_DECRYPT_RAW ?
	    RSA_NO_PADDING : RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_decrypt(pc, out, &outlen, ct, ctlen) != 1 ||
	    outlen > outmax) {
		EVP_PKEY_CTX_free(pc);
		ERR_clear_error();
		OPENSSL_cleanse(out, sizeof(out));
		return link_reply(c, ERR_CRYPTO, NULL, "decryption failed");
	}
	EVP_PKEY_CTX_free(pc);
	buf_init(&a, LINK_CIPHER_MAX + 8);
	buf_set_secret(&a);
	(void)buf_put_string(&a, out, outlen);
	OPENSSL_cleanse(out, sizeof(out));
	r = link_reply(c, 0, &a, NULL);
	buf_free(&a);
	return r;
}

/* --- the store's own checks of an accepted bundle ------------------------ */

static int
link_recheck(struct link_call *c, const buf_t *data, struct bundle *b)
{
	const struct bundle_opts *o = c->o;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char sha[65];
	struct bundle_issuer is;
	size_t i;
	int any_generated = 0;
	err_t e;

	if (EVP_Digest(data->data, data->len, md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return err_set(&c->why, ERR_CRYPTO, "cannot hash the bundle");
	buf_hex(md, mdlen, sha, sizeof(sha));
	if (strcmp(sha, b->env.bundle_sha256) != 0)
		return c->changed = 1, err_set(&c->why, ERR_IO, "the file changed while it was "
		    "read (digest %s, the ingest role read %s)", sha,
		    b->env.bundle_sha256);
	/* Who signed is what the records say, not what the role says. */
	if (o->signer_lookup(o->lookup_ctx, b->env.signer_sha256, &b->signer,
	    &e) != 0 || strcmp(b->signer.status, "active") != 0)
		return err_set(&c->why, ERR_PROTO, "the ingest role accepted "
		    "a bundle whose signer is not enrolled and active");
	if (b->man.kind == MANIFEST_KIND_REVOCATION) {
		if (strcmp(b->signer.role, "operator") != 0 &&
		    strcmp(b->signer.role, "officer") != 0)
			return err_set(&c->why, ERR_PROTO, "the ingest role "
			    "accepted a revocation request from a %s",
			    b->signer.role);
		return 0;
	}
	if (strcmp(b->signer.role, "operator") != 0 || b->env.signer_officer)
		return err_set(&c->why, ERR_PROTO, "the ingest role accepted "
		    "a batch from a %s", b->signer.role);
	if (profile_usable(b->profile, &e) != 0 ||
	    profile_may_submit(b->profile, b->signer.name, &e) != 0 ||
	    (long)b->n_lines > b->profile->max_batch)
		return err_set(&c->why, ERR_PROTO, "the ingest role accepted "
		    "a batch the profile refuses: %s", (long)b->n_lines >
		    b->profile->max_batch ? "too many lines" : e.msg);
	memset(&is, 0, sizeof(is));
	if (o->issuer_lookup(o->lookup_ctx, b->profile->issuer, &is, &e) != 0)
		return err_set(&c->why, ERR_IO, "issuer %s: %s",
		    b->profile->issuer, e.msg);
	b->ca_id = is.ca_id;
	if (b->lines == NULL)
		any_generated = 1;
	for (i = 0; b->lines != NULL && i < b->n_lines; i++)
		if (b->lines[i].request_der == NULL)
			any_generated = 1;
	if (any_generated != b->generates_keys)
		return err_set(&c->why, ERR_PROTO, "the ingest role says keys "
		    "are%s generated, but the lines say otherwise",
		    b->generates_keys ? "" : " not");
	return 0;
}

/* --- one bundle ---------------------------------------------------------- */

/* The JUDGE message: the bundle's name, the time, the limits and keys. */
static int
link_judge_payload(const char *label, const struct bundle_opts *o,
    buf_t *p)
{
	int i, n = o->env.people_cas != NULL ?
	    sk_X509_num(o->env.people_cas) : 0;

	if (n < 0 || (unsigned)n > ROLELINK_MAX_CAS)
		return ERR_LIMIT;
	(void)buf_put_cstring(p, label);
	(void)buf_put_u64(p, (uint64_t)o->env.now);
	(void)buf_put_u64(p, (uint64_t)o->env.max_size);
	(void)buf_put_u8(p, (uint8_t)(o->env.officers_may_sign != 0));
	(void)buf_put_u32(p, (uint32_t)n);
	for (i = 0; i <= n; i++) {
		X509 *x = i < n ? sk_X509_value(o->env.people_cas, i) :
		    o->env.transport_cert;
		unsigned char *der = NULL;
		int len = x != NULL ? i2d_X509(x, &der) : 0;

		if (len < 0)
			return ERR_CRYPTO;
		(void)buf_put_string(p, der, (size_t)len);
		OPENSSL_free(der);
	}
	return buf_ok(p) ? 0 : ERR_LIMIT;
}

/* A memfd holding data, for bytes that did not come from a file. */
static int
link_memfd(const buf_t *data, err_t *err)
{
	const unsigned char *p = data->data;
	size_t left = data->len;
	int fd = memfd_create("airlock-bundle", MFD_CLOEXEC);

	if (fd == -1)
		return err_set(err, ERR_IO, "memfd: %s", strerror(errno)), -1;
	while (left > 0) {
		ssize_t w = write(fd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return err_set(err, ERR_IO, "memfd: %s",
			    strerror(errno)), -1;
		}
		p += w;
		left -= (size_t)w;
	}
	return fd;
}

void
role_link_set_stop(struct role_link *l, const volatile int *stop,
    const volatile int *interrupt)
{
	l->stop = stop;
	l->interrupt = interrupt;
}

/*
 * Waits for the ingest role's next message in slices, so that a stop or
 * a deactivation is not held up by an ingest role that is stuck (stopped,
 * or looping on a hostile bundle). 0 when a message is there or the wait
 * ran out (rolemsg_recv then says which); ERR_IO with c->stopping set.
 */
static int
link_wait(struct link_call *c)
{
	struct pollfd pf = { c->l->chan, POLLIN, 0 };
	int waited = 0;

	for (;;) {
		if ((c->l->stop != NULL && *c->l->stop) ||
		    (c->l->interrupt != NULL && *c->l->interrupt)) {
			c->stopping = 1;
			return err_set(&c->why, ERR_IO, "the daemon is "
			    "stopping: the bundle stays in the inbox and is "
			    "judged at the next start");
		}
		if (waited >= ROLELINK_TIMEOUT_MS)
			return 0;
		if (poll(&pf, 1, ROLELINK_SLICE_MS) != 0)
			return 0;	/* readable, closed or failed: recv says */
		waited += ROLELINK_SLICE_MS;
	}
}

/* Receives the next message the table allows in state; 0 or ERR_*. */
static int
link_next(struct link_call *c, unsigned state, uint8_t *type, buf_t *p)
{
	int fd, eof, r;

	if ((r = link_wait(c)) != 0)
		return r;
	r = rolemsg_recv(c->l->chan, &c->l->rx, &fd, ROLELINK_TIMEOUT_MS,
	    &eof, &c->why);
	if (r == 0)
		r = rolemsg_decode(c->l->rx.data, c->l->rx.len, type, p,
		    &c->why);
	if (r == 0)
		r = rolemsg_check(link_from_ingest, NRULES(link_from_ingest),
		    state, *type, fd != -1, buf_avail(p), "ingest", &c->why);
	if (fd != -1)
		close(fd);
	return r;
}

/* Receives the ITEMS of an accepted bundle. */
static int
link_items(struct link_call *c, struct bundle *b, size_t n_items)
{
	size_t have = 0;
	uint8_t type;
	buf_t p;

	while (have < n_items) {
		int r;

		if ((r = link_next(c, LINK_ITEMS, &type, &p)) != 0)
			return r;
		if ((r = rolebundle_get_items(&p, b, n_items, &have,
		    &c->why)) != 0)
			return r;
	}
	return 0;
}

/* The conversation about one bundle, once JUDGE was sent. */
static int
link_converse(struct link_call *c, const buf_t *data, struct bundle *out,
    enum bundle_stage *stage, diag_t *diag)
{
	uint8_t type;
	size_t n_items;
	buf_t p;

	for (;;) {
		int r, code;

		if ((r = link_next(c, LINK_JUDGING, &type, &p)) != 0)
			return r;
		if (type == ROLEMSG_REFUSED) {
			if ((r = rolebundle_get_refusal(&p, &code, stage, out,
			    diag, &c->why)) != 0)
				return r;
			if (out->env.signer_sha256[0] != '\0' &&
			    c->o->signer_lookup(c->o->lookup_ctx,
			    out->env.signer_sha256, &out->signer,
			    &c->why) != 0)
				memset(&out->signer, 0, sizeof(out->signer));
			if (diag_count(diag) == 0)
				(void)diag_add(diag, NULL, 0, NULL, "refused");
			c->answered = 1;
			return code;
		}
		if (type == ROLEMSG_ACCEPTED) {
			if ((r = rolebundle_get_head(&p, c->o->profiles, out,
			    &n_items, &c->why)) != 0 ||
			    (r = link_items(c, out, n_items)) != 0)
				return r;
			if ((r = link_recheck(c, data, out)) == 0)
				c->answered = 1;
			return r;
		}
		if (++c->requests > ROLELINK_MAX_REQUESTS)
			return err_set(&c->why, ERR_PROTO, "more than %u "
			    "requests for one bundle", ROLELINK_MAX_REQUESTS);
		if (type == ROLEMSG_SIGNER)
			r = link_answer_signer(c, &p);
		else if (type == ROLEMSG_ISSUER)
			r = link_answer_issuer(c, &p);
		else
			r = link_answer_decrypt(c, &p);
		if (r != 0)
			return r;
	}
}

int
role_link_judge(void *ctx, const char *label, int fd, const buf_t *data,
    const struct bundle_opts *o, struct bundle *out,
    enum bundle_stage *stage, const char **stage_name, diag_t *diag)
{
	struct role_link *l = ctx;
	struct link_call c;
	buf_t p;
	int own = -1, gone = 0, tries, r;
	err_t e;

	memset(out, 0, sizeof(*out));
	*stage = BUNDLE_STAGE_NONE;
	memset(&c, 0, sizeof(c));
	c.l = l;
	c.o = o;
	buf_init(&p, ROLEMSG_PAYLOAD_MAX);
	if ((r = link_judge_payload(label, o, &p)) != 0) {
		buf_free(&p);
		(void)diag_add(diag, NULL, 0, NULL, "cannot describe the "
		    "bundle to the ingest role");
		return r;
	}
	if (fd < 0 && (fd = own = link_memfd(data, &e)) < 0) {
		buf_free(&p);
		(void)diag_add(diag, NULL, 0, NULL, "%s", e.msg);
		return ERR_IO;
	}
	pthread_mutex_lock(&l->lock);
	link_take_pending(l);
	/* A role that ended while idle read nothing: try the next one. */
	r = ERR_IO;
	for (tries = 0; tries < 2; tries++) {
		if (l->chan != -1 && rolemsg_send(l->chan, ROLEMSG_JUDGE, &p,
		    fd, &gone, &c.why) == 0) {
			r = 0;
			break;
		}
		if (link_lost(l, "it was gone before a bundle was sent",
		    &e) != 0)
			break;
	}
	buf_free(&p);
	if (r != 0) {
		(void)diag_add(diag, NULL, 0, NULL, "the ingest role is not "
		    "available; the bundle is judged later");
		goto done;
	}
	r = link_converse(&c, data, out, stage, diag);
	if (c.answered)
		goto done;	/* its judgement, or why it could not judge */
	bundle_free(out);
	memset(out, 0, sizeof(*out));
	diag_free(diag);
	diag_init(diag);
	*stage = BUNDLE_STAGE_NONE;
	if (c.stopping) {
		/* The conversation is cut mid-way: this ingest role is not
		 * used again (the parent stops it with the store). */
		close(l->chan);
		l->chan = -1;
	}
	if (c.changed || c.stopping) {
		/* Not the role's fault: the file is judged again. */
		(void)diag_add(diag, NULL, 0, NULL, "%s", c.why.msg);
		r = ERR_IO;
		goto done;
	}
	if (c.why.code != ERR_PROTO && c.why.code != ERR_IO) {
		/* The store could not answer (memory, the records). */
		(void)diag_add(diag, NULL, 0, NULL, "%s", c.why.msg);
		r = c.why.code != 0 ? c.why.code : ERR_INTERNAL;
		goto done;
	}
	if (link_lost(l, c.why.msg, &e) != 0) {
		(void)diag_add(diag, NULL, 0, NULL, "the ingest role failed "
		    "(%s) and was not replaced: %s", c.why.msg, e.msg);
		r = ERR_IO;
		goto done;
	}
	*stage_name = ROLELINK_STAGE;
	if (c.why.code == ERR_PROTO)
		(void)diag_add(diag, NULL, 0, NULL, "the ingest role broke the "
		    "role protocol while reading this bundle (%s); it was "
		    "replaced", c.why.msg);
	else
		(void)diag_add(diag, NULL, 0, NULL, "the ingest role ended "
		    "while reading this bundle (%s)", l->ended);
	r = ERR_POLICY;
done:
	pthread_mutex_unlock(&l->lock);
	if (own != -1)
		close(own);
	return r;
}
