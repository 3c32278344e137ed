/*
 * helper_main.c: airlock-hsm, the only process that loads a PKCS#11 module.
 *
 * Started by the airlock client (hsm_conn.c) with one end of a socketpair
 * on descriptor 3. It closes every other descriptor it might have
 * inherited, ignores SIGPIPE, refuses core dumps and ptrace (it holds a PIN
 * for a moment), then answers framed requests one at a time. The first
 * request must be OPEN and it may come only once; once OPEN has loaded the
 * module (and logged in), the helper enters its seccomp sandbox
 * (util/sandbox.h): from then on it can use its token files and its
 * channel, and nothing else, not even map new code; request ids must count up
 * from 1. Any framing anomaly, unknown message or malformed payload ends the
 * process: the client is trusted, so such a message means a bug or an
 * attack, and neither deserves an answer.
 */
#include "hsm/helper_p11.h"
#include "hsm/hsm.h"
#include "hsm/hsm_proto.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/sandbox.h"
#include "util/secret.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define HELPER_FD 3

struct helper {
	struct hp11 *p11;
	uint32_t next_id;
};

/* Reads a length-prefixed text field into dst; ERR_PROTO when malformed. */
static int
helper_text(buf_t *b, char *dst, size_t dstsz)
{
	return buf_get_text(b, dst, dstsz) == 0 ? 0 : ERR_PROTO;
}

static int
helper_keyref(buf_t *b, char *label, size_t labelsz, unsigned char *id,
    size_t *id_len)
{
	const unsigned char *p;

	if (helper_text(b, label, labelsz) != 0 ||
	    buf_get_string_ref(b, &p, id_len, HSM_PROTO_ID_MAX) != 0)
		return ERR_PROTO;
	memcpy(id, p, *id_len);
	return 0;
}

static void
helper_put_keyrec(buf_t *out, const struct hp11_keyrec *r)
{
	(void)buf_put_cstring(out, r->label);
	(void)buf_put_string(out, r->id, r->id_len);
	(void)buf_put_string(out, r->spki, r->spki_len);
	(void)buf_put_u8(out, (uint8_t)r->keytype);
}

static int
helper_open(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	struct hp11_token want, info;
	char module[4096];
	const unsigned char *pin;
	secret_t *s = NULL;
	size_t pinlen;
	uint8_t has_pin;
	int r;

	memset(&want, 0, sizeof(want));
	if (helper_text(in, module, sizeof(module)) != 0 ||
	    helper_text(in, want.label, sizeof(want.label)) != 0 ||
	    helper_text(in, want.serial, sizeof(want.serial)) != 0 ||
	    helper_text(in, want.manufacturer,
	    sizeof(want.manufacturer)) != 0 ||
	    helper_text(in, want.model, sizeof(want.model)) != 0 ||
	    buf_get_u8(in, &has_pin) != 0 || has_pin > 1 ||
	    buf_get_string_ref(in, &pin, &pinlen, HSM_PROTO_PIN_MAX) != 0 ||
	    buf_avail(in) != 0 || (has_pin && pinlen == 0) ||
	    (!has_pin && pinlen != 0) || memchr(pin, '\0', pinlen) != NULL)
		return ERR_PROTO;
	if (module[0] != '/')
		return err_set(err, ERR_INVALID, "the PKCS#11 module path must "
		    "be absolute");
	if (has_pin) {
		if ((r = secret_new(&s)) != 0)
			return err_set(err, r, "cannot allocate memory for the "
			    "PIN");
		if (secret_set(s, pin, pinlen) != 0) {
			secret_free(s);
			return err_set(err, ERR_LIMIT, "PIN too long");
		}
		/*
		 * Not fatal (see docs/deploy.md): the page is still kept out
		 * of core files and wiped, and RLIMIT_MEMLOCK is too small in
		 * many test containers; swap is the remaining risk.
		 */
		if (!secret_is_locked(s))
			(void)fprintf(stderr, "airlock-hsm: warning: cannot "
			    "lock the PIN's memory (RLIMIT_MEMLOCK); it may "
			    "reach swap\n");
	}
	r = hp11_open(module, &want, s ? (const char *)s->data : NULL, &h->p11,
	    &info, err);
	secret_free(s);
	if (r != 0)
		return r;
	(void)buf_put_cstring(out, info.label);
	(void)buf_put_cstring(out, info.serial);
	(void)buf_put_cstring(out, info.manufacturer);
	(void)buf_put_cstring(out, info.model);
	(void)buf_put_u8(out, (uint8_t)hp11_logged_in(h->p11));
	return 0;
}

static int
helper_random(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	unsigned char rnd[HSM_PROTO_RANDOM_MAX];
	uint32_t n;
	int r;

	if (buf_get_u32(in, &n) != 0 || buf_avail(in) != 0 || n == 0 ||
	    n > HSM_PROTO_RANDOM_MAX)
		return ERR_PROTO;
	if ((r = hp11_random(h->p11, rnd, n, err)) != 0)
		return r;
	(void)buf_put_string(out, rnd, n);
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

static int
helper_keygen(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	struct hp11_keyrec rec;
	char label[HSM_PROTO_LABEL_MAX + 1];
	uint32_t bits, curve, usage;
	uint8_t type;
	int r;

	if (buf_get_u8(in, &type) != 0 || buf_get_u32(in, &bits) != 0 ||
	    buf_get_u32(in, &curve) != 0 ||
	    helper_text(in, label, sizeof(label)) != 0 ||
	    buf_get_u32(in, &usage) != 0 || buf_avail(in) != 0)
		return ERR_PROTO;
	if (type == HSM_KEY_RSA) {
		if (bits != 2048 && bits != 3072 && bits != 4096)
			return err_set(err, ERR_INVALID, "RSA keys must have "
			    "2048, 3072 or 4096 bits, not %lu",
			    (unsigned long)bits);
		if (usage & ~(uint32_t)(HSM_USAGE_SIGN | HSM_USAGE_DECRYPT))
			return err_set(err, ERR_INVALID, "RSA keys may only be "
			    "for signing and decryption");
	} else if (type == HSM_KEY_EC) {
		if (curve != HSM_PROTO_CURVE_P256 &&
		    curve != HSM_PROTO_CURVE_P384)
			return err_set(err, ERR_INVALID, "EC keys must be on "
			    "P-256 or P-384");
		if (usage & ~(uint32_t)(HSM_USAGE_SIGN | HSM_USAGE_DERIVE))
			return err_set(err, ERR_INVALID, "EC keys may only be "
			    "for signing and key derivation");
	} else {
		return err_set(err, ERR_INVALID, "unknown key type %u",
		    (unsigned)type);
	}
	if (usage == 0)
		return err_set(err, ERR_INVALID, "a key needs at least one "
		    "usage");
	if ((r = hp11_keygen(h->p11, type, bits, curve, label, usage, &rec,
	    err)) != 0)
		return r;
	helper_put_keyrec(out, &rec);
	hp11_keyrec_clear(&rec);
	return 0;
}

static int
helper_find(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	struct hp11_keyrec rec;
	char label[HSM_PROTO_LABEL_MAX + 1];
	unsigned char id[HSM_PROTO_ID_MAX];
	size_t id_len;
	uint8_t cls;
	int r;

	if (helper_keyref(in, label, sizeof(label), id, &id_len) != 0 ||
	    buf_get_u8(in, &cls) != 0 || buf_avail(in) != 0 ||
	    (cls != HSM_PROTO_CLASS_PRIVATE && cls != HSM_PROTO_CLASS_PUBLIC))
		return ERR_PROTO;
	if ((r = hp11_find(h->p11, label, id, id_len, cls, &rec, err)) != 0)
		return r;
	helper_put_keyrec(out, &rec);
	hp11_keyrec_clear(&rec);
	return 0;
}

static int
helper_sign(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	char label[HSM_PROTO_LABEL_MAX + 1];
	unsigned char id[HSM_PROTO_ID_MAX], sig[HSM_PROTO_SIG_MAX];
	const unsigned char *data;
	size_t id_len, dlen, siglen;
	uint32_t sigmax;
	uint8_t op;
	int r;

	if (helper_keyref(in, label, sizeof(label), id, &id_len) != 0 ||
	    buf_get_u8(in, &op) != 0 ||
	    buf_get_string_ref(in, &data, &dlen, HSM_PROTO_SIGIN_MAX) != 0 ||
	    buf_get_u32(in, &sigmax) != 0 || buf_avail(in) != 0)
		return ERR_PROTO;
	if (sigmax > sizeof(sig))
		sigmax = sizeof(sig);
	if ((r = hp11_sign(h->p11, label, id, id_len, op, data, dlen, sig,
	    &siglen, sigmax, err)) != 0)
		return r;
	(void)buf_put_string(out, sig, siglen);
	return 0;
}

static int
helper_decrypt(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	char label[HSM_PROTO_LABEL_MAX + 1];
	unsigned char id[HSM_PROTO_ID_MAX], plain[HSM_PROTO_PLAIN_MAX];
	const unsigned char *data;
	size_t id_len, dlen, plen;
	uint32_t outmax;
	uint8_t mech;
	int r;

	/* A ciphertext longer than any modulus we support is malformed. */
	if (helper_keyref(in, label, sizeof(label), id, &id_len) != 0 ||
	    buf_get_u8(in, &mech) != 0 ||
	    buf_get_string_ref(in, &data, &dlen, HSM_PROTO_CIPHER_MAX) != 0 ||
	    buf_get_u32(in, &outmax) != 0 || buf_avail(in) != 0)
		return ERR_PROTO;
	if (outmax > sizeof(plain))
		outmax = sizeof(plain);
	r = hp11_decrypt(h->p11, label, id, id_len, mech, data, dlen, plain,
	    &plen, outmax, err);
	if (r == 0)
		(void)buf_put_string(out, plain, plen);
	explicit_bzero(plain, sizeof(plain));
	return r;
}

static int
helper_setpin(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	const unsigned char *p[2];
	secret_t *s[2] = { NULL, NULL };
	size_t len[2];
	int i, r = 0;

	(void)out;
	if (buf_get_string_ref(in, &p[0], &len[0], HSM_PROTO_PIN_MAX) != 0 ||
	    buf_get_string_ref(in, &p[1], &len[1], HSM_PROTO_PIN_MAX) != 0 ||
	    buf_avail(in) != 0 || len[0] == 0 || len[1] == 0 ||
	    memchr(p[0], '\0', len[0]) != NULL ||
	    memchr(p[1], '\0', len[1]) != NULL)
		return ERR_PROTO;
	/* NUL-terminated copies in locked memory, wiped when done. */
	for (i = 0; i < 2 && r == 0; i++)
		if ((r = secret_new(&s[i])) != 0 ||
		    (r = secret_set(s[i], p[i], len[i])) != 0)
			r = err_set(err, ERR_NOMEM, "cannot hold the PINs");
	if (r == 0)
		r = hp11_set_pin(h->p11, (const char *)s[0]->data,
		    (const char *)s[1]->data, err);
	secret_free(s[0]);
	secret_free(s[1]);
	return r;
}

static int
helper_dataput(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	char label[HSM_PROTO_LABEL_MAX + 1];
	const unsigned char *v;
	size_t len;

	(void)out;
	if (helper_text(in, label, sizeof(label)) != 0 || label[0] == '\0' ||
	    buf_get_string_ref(in, &v, &len, HSM_PROTO_PLAIN_MAX) != 0 ||
	    buf_avail(in) != 0 || len == 0)
		return ERR_PROTO;
	return hp11_data_put(h->p11, label, v, len, err);
}

static int
helper_dataget(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	char label[HSM_PROTO_LABEL_MAX + 1];
	unsigned char v[HSM_PROTO_PLAIN_MAX];
	size_t len = 0;
	int r;

	if (helper_text(in, label, sizeof(label)) != 0 || label[0] == '\0' ||
	    buf_avail(in) != 0)
		return ERR_PROTO;
	r = hp11_data_get(h->p11, label, v, sizeof(v), &len, err);
	if (r == 0)
		(void)buf_put_string(out, v, len);
	explicit_bzero(v, sizeof(v));
	return r;
}

static int
helper_attrs(struct helper *h, buf_t *in, buf_t *out, err_t *err)
{
	char label[HSM_PROTO_LABEL_MAX + 1];
	unsigned char id[HSM_PROTO_ID_MAX], a[HSM_PROTO_NATTRS];
	size_t id_len;
	int r;

	if (helper_keyref(in, label, sizeof(label), id, &id_len) != 0 ||
	    buf_avail(in) != 0)
		return ERR_PROTO;
	if ((r = hp11_attrs(h->p11, label, id, id_len, a, err)) != 0)
		return r;
	(void)buf_put(out, a, sizeof(a));
	return 0;
}

/*
 * What each request may do: OPEN only first and once, everything else
 * only after a successful OPEN.
 */
static const struct {
	uint8_t type;
	int needs_open;
	int (*fn)(struct helper *, buf_t *, buf_t *, err_t *);
} helper_dispatch[] = {
	{ HSM_MSG_OPEN, 0, helper_open },
	{ HSM_MSG_RANDOM, 1, helper_random },
	{ HSM_MSG_KEYGEN, 1, helper_keygen },
	{ HSM_MSG_FIND, 1, helper_find },
	{ HSM_MSG_SIGN, 1, helper_sign },
	{ HSM_MSG_ATTRS, 1, helper_attrs },
	{ HSM_MSG_DECRYPT, 1, helper_decrypt },
	{ HSM_MSG_SETPIN, 1, helper_setpin },
	{ HSM_MSG_DATAPUT, 1, helper_dataput },
	{ HSM_MSG_DATAGET, 1, helper_dataget },
};

static void
helper_fatal(const char *msg)
{
	(void)fprintf(stderr, "airlock-hsm: %s\n", msg);
	exit(1);
}

static void
helper_setup(void)
{
	struct stat st;
	err_t err;

	if (fstat(HELPER_FD, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		(void)fprintf(stderr, "airlock-hsm: this helper is started by "
		    "airlock on descriptor %d; do not run it by hand\n",
		    HELPER_FD);
		exit(2);
	}
	closefrom(HELPER_FD + 1);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		helper_fatal("cannot ignore SIGPIPE");
	err_clear(&err);
	if (sandbox_harden(&err) != 0)
		helper_fatal(err.msg);
}

int
main(int argc, char **argv)
{
	struct helper h = { NULL, 1 };
	buf_t in, payload, reply, frame;
	err_t err;
	uint8_t type;
	uint32_t id;
	size_t i;
	int eof, tried_open = 0;

	(void)argv;
	helper_setup();
	if (argc != 1)
		helper_fatal("takes no arguments");
	buf_init(&in, HSM_PROTO_HDR + HSM_PROTO_MAX);
	buf_init(&reply, HSM_PROTO_MAX);
	buf_init(&frame, HSM_PROTO_HDR + HSM_PROTO_MAX);
	/*
	 * Requests carry the PIN once and DECRYPT replies carry content keys;
	 * keep every copy wiped.
	 */
	buf_set_secret(&in);
	buf_set_secret(&reply);
	buf_set_secret(&frame);
	for (;;) {
		int r;

		err_clear(&err);
		if ((r = hsm_proto_read(HELPER_FD, &in, &eof, &err)) != 0) {
			/* The client closing the channel is a normal exit. */
			if (eof)
				break;
			helper_fatal(err.msg);
		}
		if (hsm_proto_decode(in.data, in.len, hsm_proto_is_request,
		    &type, &id, &payload, &err) != 0)
			helper_fatal(err.msg);
		if (id != h.next_id)
			helper_fatal("request id out of sequence");
		h.next_id++;
		for (i = 0; i < sizeof(helper_dispatch) /
		    sizeof(helper_dispatch[0]); i++)
			if (helper_dispatch[i].type == type)
				break;
		if (i == sizeof(helper_dispatch) / sizeof(helper_dispatch[0]))
			helper_fatal("unknown request");
		/* A failed OPEN is not retried: no PIN guessing here. */
		if (helper_dispatch[i].needs_open ? h.p11 == NULL : tried_open)
			helper_fatal(tried_open ? "request out of order" :
			    "request before OPEN");
		if (type == HSM_MSG_OPEN)
			tried_open = 1;
		buf_reset(&reply);
		r = helper_dispatch[i].fn(&h, &payload, &reply, &err);
		buf_reset(&in);
		/*
		 * The module is loaded now (or OPEN failed and nothing else
		 * will be served): everything after this runs sandboxed.
		 */
		if (type == HSM_MSG_OPEN) {
			err_t serr;

			err_clear(&serr);
			if (sandbox_enter(SANDBOX_ROLE_HSM, &serr) != 0)
				helper_fatal(serr.msg);
		}
		if (r == ERR_PROTO)
			helper_fatal("malformed request payload");
		if (r == 0 && !buf_ok(&reply))
			r = err_set(&err, ERR_LIMIT, "reply too large");
		if (r != 0) {
			buf_reset(&reply);
			(void)hsm_proto_put_error(&reply, r, err.msg);
		}
		if (hsm_proto_encode(&frame, r ? HSM_MSG_ERR : HSM_MSG_OK, id,
		    reply.data, reply.len) != 0 ||
		    hsm_proto_write(HELPER_FD, &frame, &err) != 0)
			helper_fatal("cannot send reply");
		/* Do not keep a plaintext until the next request. */
		buf_reset(&reply);
		buf_reset(&frame);
	}
	hp11_close(h.p11);
	buf_free(&in);
	buf_free(&reply);
	buf_free(&frame);
	return 0;
}
