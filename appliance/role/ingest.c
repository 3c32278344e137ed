/* ingest.c: the ingest role (ingest.h). */
#include "role/ingest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "daemon/config.h"
#include "pki/extkey.h"
#include "pki/pkiutil.h"
#include "role/rolebundle.h"
#include "role/rolelink.h"
#include "role/rolemsg.h"
#include "util/fileio.h"

/* The ingest role's states (bits of rolemsg_rule.states). */
#define INGEST_IDLE	1u
#define INGEST_WAITING	2u
/* A bundle's file name as the store sends it. */
#define INGEST_LABEL_MAX 1024u

/* What the store may send the ingest role, and when. */
static const struct rolemsg_rule ingest_from_store[] = {
	{ ROLEMSG_JUDGE, INGEST_IDLE, 1, ROLEMSG_PAYLOAD_MAX },
	{ ROLEMSG_REPLY, INGEST_WAITING, 0, ROLEMSG_PAYLOAD_MAX },
};

struct ingest {
	int chan;
	buf_t rx;
	struct profile_set profiles;
	/* The issuers' certificates handed out for the bundle in flight. */
	X509 *issuers[PROFILE_MAX_FILES];
	size_t n_issuers;
};

/* A protocol violation or a dead channel ends the role. */
static void ingest_die(const char *why) __attribute__((noreturn));

static void
ingest_die(const char *why)
{
	fprintf(stderr, "airlockd: ingest: %s; the role ends\n", why);
	_exit(1);
}

static void
ingest_send(struct ingest *x, uint8_t type, const buf_t *p)
{
	err_t e;
	int gone;

	if (rolemsg_send(x->chan, type, p, -1, &gone, &e) != 0)
		ingest_die(e.msg);
}

/*
 * Asks the store (type, p) and waits for its reply: 0 with *answer a view
 * of what follows the code, or the store's ERR_* with err set.
 */
static int
ingest_ask(struct ingest *x, uint8_t type, const buf_t *p, buf_t *answer,
    err_t *err)
{
	const unsigned char *m;
	uint8_t rtype;
	uint32_t code;
	size_t n;
	err_t e;
	int fd, eof;

	ingest_send(x, type, p);
	if (rolemsg_recv(x->chan, &x->rx, &fd, -1, &eof, &e) != 0 ||
	    rolemsg_decode(x->rx.data, x->rx.len, &rtype, answer, &e) != 0 ||
	    rolemsg_check(ingest_from_store, sizeof(ingest_from_store) /
	    sizeof(ingest_from_store[0]), INGEST_WAITING, rtype, fd != -1,
	    buf_avail(answer), "store", &e) != 0)
		ingest_die(e.msg);
	if (buf_get_u32(answer, &code) != 0 || code > (uint32_t)-ERR_INTERNAL)
		ingest_die("malformed reply from the store");
	if (code == 0)
		return 0;
	if (buf_get_string_ref(answer, &m, &n, ROLEMSG_TEXT_MAX) != 0 ||
	    buf_avail(answer) != 0 || memchr(m, '\0', n) != NULL)
		ingest_die("malformed error reply from the store");
	return err_set(err, -(int)code, "%.*s", (int)n, (const char *)m);
}

static int
ingest_signer(void *ctx, const char *sha256, struct bundle_signer *out,
    err_t *err)
{
	struct ingest *x = ctx;
	uint64_t id;
	buf_t p, a;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&p, 128);
	(void)buf_put_cstring(&p, sha256);
	r = ingest_ask(x, ROLEMSG_SIGNER, &p, &a, err);
	buf_free(&p);
	if (r != 0)
		return r;
	if (buf_get_u64(&a, &id) != 0 || id > INT64_MAX ||
	    buf_get_text(&a, out->name, sizeof(out->name)) != 0 ||
	    buf_get_text(&a, out->role, sizeof(out->role)) != 0 ||
	    buf_get_text(&a, out->status, sizeof(out->status)) != 0 ||
	    buf_avail(&a) != 0)
		ingest_die("malformed signer record from the store");
	out->person_id = (int64_t)id;
	return 0;
}

static int
ingest_issuer(void *ctx, const char *name, struct bundle_issuer *out,
    err_t *err)
{
	struct ingest *x = ctx;
	const unsigned char *der;
	uint64_t id;
	size_t n;
	buf_t p, a;
	X509 *cert;
	int r;

	memset(out, 0, sizeof(*out));
	if (x->n_issuers >= PROFILE_MAX_FILES)
		return err_set(err, ERR_LIMIT, "too many issuer lookups");
	buf_init(&p, ROLEMSG_TEXT_MAX + 8);
	(void)buf_put_cstring(&p, name);
	r = buf_ok(&p) ? ingest_ask(x, ROLEMSG_ISSUER, &p, &a, err) :
	    err_set(err, ERR_LIMIT, "issuer name too long");
	buf_free(&p);
	if (r != 0)
		return r;
	if (buf_get_u64(&a, &id) != 0 || id > INT64_MAX ||
	    buf_get_string_ref(&a, &der, &n, PKI_CERT_FILE_MAX) != 0 ||
	    buf_avail(&a) != 0 || n > LONG_MAX ||
	    (cert = d2i_X509(NULL, &der, (long)n)) == NULL)
		ingest_die("malformed issuer record from the store");
	x->issuers[x->n_issuers++] = cert;
	out->ca_id = (int64_t)id;
	out->cert = cert;
	return 0;
}

static int
ingest_decrypt(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen, size_t outmax)
{
	struct ingest *x = ctx;
	const unsigned char *pt;
	size_t n;
	buf_t p, a;
	err_t e;
	int r;

	*outlen = 0;
	buf_init(&p, inlen + 16);
	(void)buf_put_u8(&p, (uint8_t)op);
	(void)buf_put_string(&p, in, inlen);
	(void)buf_put_u32(&p, (uint32_t)outmax);
	r = buf_ok(&p) ? ingest_ask(x, ROLEMSG_DECRYPT, &p, &a, &e) :
	    ERR_LIMIT;
	buf_free(&p);
	if (r != 0)
		return r;
	if (buf_get_string_ref(&a, &pt, &n, outmax) != 0 ||
	    buf_avail(&a) != 0)
		ingest_die("malformed decryption reply from the store");
	memcpy(out, pt, n);
	*outlen = n;
	return 0;
}

/* Sends the judgement: the refusal, or the bundle and its items. */
static void
ingest_answer(struct ingest *x, int r, enum bundle_stage stage,
    const struct bundle *b, const diag_t *diag)
{
	size_t n_items, next = 0;
	buf_t p;

	buf_init(&p, ROLEMSG_PAYLOAD_MAX);
	buf_set_secret(&p);
	if (r != 0) {
		if (rolebundle_put_refusal(&p, r, stage, b, diag) != 0)
			ingest_die("cannot encode a refusal");
		ingest_send(x, ROLEMSG_REFUSED, &p);
		buf_free(&p);
		return;
	}
	if (rolebundle_put_head(&p, b, &n_items) != 0)
		ingest_die("cannot encode an accepted bundle");
	ingest_send(x, ROLEMSG_ACCEPTED, &p);
	while (next < n_items) {
		buf_reset(&p);
		if (rolebundle_put_items(&p, b, &next) != 0)
			ingest_die("cannot encode the lines of a bundle");
		ingest_send(x, ROLEMSG_ITEMS, &p);
	}
	buf_free(&p);
}

/* One certificate of a JUDGE message; *out NULL when it is empty. */
static void
ingest_get_cert(buf_t *p, X509 **out)
{
	const unsigned char *der;
	size_t n;

	*out = NULL;
	if (buf_get_string_ref(p, &der, &n, PKI_CERT_FILE_MAX) != 0)
		ingest_die("malformed certificate in a judge message");
	if (n > 0 && (*out = d2i_X509(NULL, &der, (long)n)) == NULL)
		ingest_die("bad certificate in a judge message");
}

/* Judges the bundle in file fd as the JUDGE message p describes. */
static void
ingest_judge(struct ingest *x, buf_t *p, int fd)
{
	struct bundle_opts o;
	struct bundle b;
	enum bundle_stage stage = BUNDLE_STAGE_NONE;
	STACK_OF(X509) *cas = sk_X509_new_null();
	X509 *transport = NULL;
	char *label = NULL;
	uint64_t now, max;
	uint32_t n, i;
	uint8_t officers;
	size_t limit;
	buf_t data;
	diag_t d;
	err_t e;
	int r;

	memset(&o, 0, sizeof(o));
	memset(&b, 0, sizeof(b));
	if (cas == NULL)
		ingest_die("out of memory");
	if (buf_get_cstring(p, &label, INGEST_LABEL_MAX) != 0 ||
	    *label == '\0' || buf_get_u64(p, &now) != 0 ||
	    now > (uint64_t)INT64_MAX || buf_get_u64(p, &max) != 0 ||
	    buf_get_u8(p, &officers) != 0 || officers > 1 ||
	    buf_get_u32(p, &n) != 0 || n == 0 || n > ROLELINK_MAX_CAS)
		ingest_die("malformed judge message");
	for (i = 0; i < n; i++) {
		X509 *ca;

		ingest_get_cert(p, &ca);
		if (ca == NULL || sk_X509_push(cas, ca) <= 0)
			ingest_die("a people CA is missing in a judge message");
	}
	ingest_get_cert(p, &transport);
	if (buf_avail(p) != 0)
		ingest_die("bytes after a judge message");
	o.env.people_cas = cas;
	o.env.transport_cert = transport;
	if (transport != NULL && (o.env.transport_key = extkey_new_decrypter(
	    X509_get0_pubkey(transport), ingest_decrypt, x, NULL)) == NULL)
		ingest_die("cannot make the transport key's decrypter");
	o.env.now = (time_t)now;
	o.env.max_size = (size_t)max;
	o.env.officers_may_sign = officers;
	o.profiles = &x->profiles;
	o.signer_lookup = ingest_signer;
	o.issuer_lookup = ingest_issuer;
	o.lookup_ctx = x;
	limit = max == 0 ? ENVELOPE_DEFAULT_MAX : max > ENVELOPE_HARD_MAX ?
	    ENVELOPE_HARD_MAX : (size_t)max;

	diag_init(&d);
	buf_init(&data, limit);
	buf_set_secret(&data);
	if (lseek(fd, 0, SEEK_SET) != 0)
		r = err_set(&e, ERR_IO, "%s: cannot seek", label);
	else
		r = fileio_read_fd(fd, label, limit, &data, &e);
	close(fd);
	if (r != 0) {
		stage = r == ERR_LIMIT ? BUNDLE_STAGE_ENVELOPE :
		    BUNDLE_STAGE_NONE;
		(void)diag_add(&d, NULL, 0, NULL, "%s", e.msg);
	} else {
		r = bundle_open(label, data.data, data.len, &o, &b, &stage,
		    &d);
	}
	ingest_answer(x, r, stage, &b, &d);

	bundle_free(&b);
	diag_free(&d);
	buf_free(&data);
	free(label);
	EVP_PKEY_free(o.env.transport_key);
	X509_free(transport);
	sk_X509_pop_free(cas, X509_free);
	for (i = 0; i < x->n_issuers; i++)
		X509_free(x->issuers[i]);
	x->n_issuers = 0;
	ERR_clear_error();
}

int
role_ingest_main(int chan, const char *config_path)
{
	struct ingest x;
	struct config cfg;
	diag_t d;
	err_t e;
	int r;

	memset(&x, 0, sizeof(x));
	x.chan = chan;
	diag_init(&d);
	memset(&cfg, 0, sizeof(cfg));
	if ((r = config_load(config_path, &cfg, &d, &e)) == 0)
		r = profile_load_dir(cfg.policies_dir, &x.profiles, &d, &e);
	config_free(&cfg);
	if (r != 0) {
		diag_print(&d, stderr, "airlockd: ingest: ");
		fprintf(stderr, "airlockd: ingest: %s\n", e.msg);
		diag_free(&d);
		return 1;
	}
	diag_free(&d);
	/* OpenSSL reads its configuration now, not under the sandbox. */
	(void)OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (role_harden(SANDBOX_ROLE_INGEST, &e) != 0) {
		fprintf(stderr, "airlockd: ingest: %s\n", e.msg);
		return 1;
	}
	buf_init(&x.rx, ROLEMSG_HDR + ROLEMSG_MAX);
	buf_set_secret(&x.rx);
	for (;;) {
		uint8_t type;
		buf_t p;
		int fd, eof;

		if (rolemsg_recv(chan, &x.rx, &fd, -1, &eof, &e) != 0) {
			if (eof)
				break;
			ingest_die(e.msg);
		}
		if (rolemsg_decode(x.rx.data, x.rx.len, &type, &p, &e) != 0 ||
		    rolemsg_check(ingest_from_store, sizeof(ingest_from_store) /
		    sizeof(ingest_from_store[0]), INGEST_IDLE, type, fd != -1,
		    buf_avail(&p), "store", &e) != 0)
			ingest_die(e.msg);
		ingest_judge(&x, &p, fd);
	}
	buf_free(&x.rx);
	profile_set_free(&x.profiles);
	return 0;
}
