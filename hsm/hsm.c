/*
 * hsm.c: the pool of HSM helper sessions and the keys used through it
 * (see hsm.h).
 */
#include "hsm/hsm.h"
#include "hsm/hsm_conn.h"
#include "hsm/hsm_proto.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#define HSM_HELPER_NAME "airlock-hsm"
#define HSM_CHALLENGE_LEN 32

struct hsm_pool {
	struct hsm_conn **conns;
	unsigned n;
	unsigned *free;		/* stack of indices of idle connections */
	unsigned nfree;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hsm_token_info tok;
	int logged_in;
};

struct hsm_key {
	struct hsm_pool *pool;
	char label[HSM_PROTO_LABEL_MAX + 1];
	unsigned char id[HSM_PROTO_ID_MAX];
	size_t id_len;
	enum hsm_keytype type;
	EVP_PKEY *pub;
};

static pthread_mutex_t hsm_path_mu = PTHREAD_MUTEX_INITIALIZER;
static char hsm_helper_path[PATH_MAX];

void
hsm_set_helper_path(const char *path)
{
	pthread_mutex_lock(&hsm_path_mu);
	(void)snprintf(hsm_helper_path, sizeof(hsm_helper_path), "%s",
	    path ? path : "");
	pthread_mutex_unlock(&hsm_path_mu);
}

/* The helper path: the override, else airlock-hsm beside our executable. */
static int
hsm_helper(char *out, size_t outsz, err_t *err)
{
	char exe[PATH_MAX];
	char *slash;
	ssize_t n;
	int len;

	pthread_mutex_lock(&hsm_path_mu);
	len = snprintf(out, outsz, "%s", hsm_helper_path);
	pthread_mutex_unlock(&hsm_path_mu);
	if (len > 0 && (size_t)len < outsz)
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return err_set(err, ERR_IO, "cannot find our own executable "
		    "to locate %s", HSM_HELPER_NAME);
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return err_set(err, ERR_IO, "odd executable path %s", exe);
	*slash = '\0';
	len = snprintf(out, outsz, "%s/%s", exe, HSM_HELPER_NAME);
	if (len < 0 || (size_t)len >= outsz)
		return err_set(err, ERR_LIMIT, "helper path too long");
	return 0;
}

/* Takes an idle connection, waiting for one when all are busy. */
static struct hsm_conn *
pool_get(struct hsm_pool *p)
{
	struct hsm_conn *c;

	pthread_mutex_lock(&p->mu);
	while (p->nfree == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	c = p->conns[p->free[--p->nfree]];
	pthread_mutex_unlock(&p->mu);
	return c;
}

static void
pool_put(struct hsm_pool *p, const struct hsm_conn *c)
{
	unsigned i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n; i++)
		if (p->conns[i] == c)
			p->free[p->nfree++] = i;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* One request on an idle session; reply is copied into out (may be NULL). */
static int
pool_call(struct hsm_pool *p, uint8_t type, const buf_t *req,
    int (*parse)(buf_t *, void *, err_t *), void *arg, err_t *err)
{
	struct hsm_conn *c = pool_get(p);
	buf_t reply;
	int r;

	r = hsm_conn_call(c, type, req, &reply, err);
	if (r == 0 && parse != NULL)
		r = parse(&reply, arg, err);
	pool_put(p, c);
	return r;
}

static int
pool_text(buf_t *b, char *dst, size_t dstsz)
{
	return buf_get_text(b, dst, dstsz) == 0 ? 0 : ERR_PROTO;
}

static int
pool_open_one(struct hsm_pool *p, const char *helper, const buf_t *req,
    struct hsm_conn **out, err_t *err)
{
	struct hsm_token_info ti;
	buf_t reply;
	uint8_t logged_in;
	int r;

	if ((r = hsm_conn_spawn(helper, out, err)) != 0)
		return r;
	if ((r = hsm_conn_call(*out, HSM_MSG_OPEN, req, &reply, err)) != 0)
		return r;
	memset(&ti, 0, sizeof(ti));
	if (pool_text(&reply, ti.label, sizeof(ti.label)) != 0 ||
	    pool_text(&reply, ti.serial, sizeof(ti.serial)) != 0 ||
	    pool_text(&reply, ti.manufacturer, sizeof(ti.manufacturer)) != 0 ||
	    pool_text(&reply, ti.model, sizeof(ti.model)) != 0 ||
	    buf_get_u8(&reply, &logged_in) != 0 || buf_avail(&reply) != 0)
		return err_set(err, ERR_HSM, "malformed OPEN reply from the HSM "
		    "helper");
	p->tok = ti;
	p->logged_in = logged_in != 0;
	return 0;
}

int
hsm_pool_open(const char *module_path, const struct hsm_uri *token,
    unsigned nsessions, const secret_t *pin, struct hsm_pool **out,
    err_t *err)
{
	char helper[PATH_MAX];
	struct hsm_pool *p;
	buf_t req;
	unsigned i;
	int r;

	*out = NULL;
	if (token == NULL)
		return err_set(err, ERR_INVALID, "no token given");
	if (module_path == NULL || module_path[0] == '\0')
		module_path = token->module_path;
	if (module_path[0] != '/')
		return err_set(err, ERR_INVALID, "the PKCS#11 module must be "
		    "given as an absolute path (module-path=)");
	if (token->token[0] == '\0' && token->serial[0] == '\0')
		return err_set(err, ERR_INVALID, "the token must be named by "
		    "label (token=) or serial (serial=), never by slot");
	if (nsessions == 0 || nsessions > HSM_POOL_MAX)
		return err_set(err, ERR_INVALID, "HSM session count %u is "
		    "outside 1..%d", nsessions, HSM_POOL_MAX);
	if (pin != NULL && (pin->len == 0 || pin->len > HSM_PROTO_PIN_MAX))
		return err_set(err, ERR_INVALID, "the PIN must have 1..%u "
		    "bytes", HSM_PROTO_PIN_MAX);
	if ((r = hsm_helper(helper, sizeof(helper), err)) != 0)
		return r;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->conns = calloc(nsessions, sizeof(*p->conns))) == NULL ||
	    (p->free = calloc(nsessions, sizeof(*p->free))) == NULL) {
		if (p != NULL)
			free(p->conns);
		free(p);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	buf_init(&req, HSM_PROTO_MAX);
	buf_set_secret(&req);
	(void)buf_put_cstring(&req, module_path);
	(void)buf_put_cstring(&req, token->token);
	(void)buf_put_cstring(&req, token->serial);
	(void)buf_put_cstring(&req, token->manufacturer);
	(void)buf_put_cstring(&req, token->model);
	(void)buf_put_u8(&req, pin != NULL);
	(void)buf_put_string(&req, pin ? pin->data : NULL, pin ? pin->len : 0);
	if (!buf_ok(&req)) {
		r = err_set(err, ERR_NOMEM, "cannot build the HSM open request");
		goto fail;
	}
	/*
	 * Sessions open one after another, so that a wrong PIN costs the
	 * token one failed attempt, not one per session.
	 */
	for (i = 0; i < nsessions; i++) {
		r = pool_open_one(p, helper, &req, &p->conns[i], err);
		p->n = i + 1;
		if (r != 0)
			goto fail;
		p->free[p->nfree++] = i;
	}
	buf_free(&req);
	*out = p;
	return 0;
fail:
	buf_free(&req);
	hsm_pool_close(p);
	return r;
}

int
hsm_wrong_pin(const err_t *e)
{
	return e != NULL && e->code == ERR_AUTH && strncmp(e->msg,
	    HSM_WRONG_PIN, strlen(HSM_WRONG_PIN)) == 0;
}

void
hsm_pool_close(struct hsm_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		hsm_conn_close(p->conns[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->conns);
	free(p->free);
	free(p);
}

int
hsm_pool_token_info(struct hsm_pool *p, struct hsm_token_info *out,
    err_t *err)
{
	if (p == NULL)
		return err_set(err, ERR_INVALID, "no HSM pool");
	*out = p->tok;
	return 0;
}

struct random_arg {
	void *out;
	size_t n;
};

static int
random_parse(buf_t *b, void *arg, err_t *err)
{
	struct random_arg *a = arg;
	const unsigned char *p;
	size_t n;

	if (buf_get_string_ref(b, &p, &n, HSM_PROTO_RANDOM_MAX) != 0 ||
	    n != a->n || buf_avail(b) != 0)
		return err_set(err, ERR_HSM, "malformed random reply from the "
		    "HSM helper");
	memcpy(a->out, p, n);
	return 0;
}

int
hsm_random(struct hsm_pool *p, void *out, size_t n, err_t *err)
{
	struct random_arg a = { out, n };
	buf_t req;
	int r;

	if (n == 0 || n > HSM_PROTO_RANDOM_MAX)
		return err_set(err, ERR_INVALID, "HSM random request of %zu "
		    "bytes is outside 1..%u", n, HSM_PROTO_RANDOM_MAX);
	buf_init(&req, 16);
	(void)buf_put_u32(&req, (uint32_t)n);
	r = pool_call(p, HSM_MSG_RANDOM, &req, random_parse, &a, err);
	buf_free(&req);
	return r;
}

int
hsm_pool_set_pin(struct hsm_pool *p, const secret_t *old,
    const secret_t *new_pin, err_t *err)
{
	buf_t req;
	int r;

	if (old->len == 0 || old->len > HSM_PROTO_PIN_MAX ||
	    new_pin->len == 0 || new_pin->len > HSM_PROTO_PIN_MAX)
		return err_set(err, ERR_INVALID, "a PIN is 1 to %u bytes",
		    HSM_PROTO_PIN_MAX);
	buf_init(&req, 2 * HSM_PROTO_PIN_MAX + 16);
	/* The request carries two PINs: wipe it when freed. */
	buf_set_secret(&req);
	(void)buf_put_string(&req, old->data, old->len);
	(void)buf_put_string(&req, new_pin->data, new_pin->len);
	r = pool_call(p, HSM_MSG_SETPIN, &req, NULL, NULL, err);
	buf_free(&req);
	return r;
}

int
hsm_data_put(struct hsm_pool *p, const char *label, const secret_t *value,
    err_t *err)
{
	buf_t req;
	int r;

	if (label[0] == '\0' || strlen(label) > HSM_PROTO_LABEL_MAX ||
	    value->len == 0 || value->len > HSM_PROTO_PLAIN_MAX)
		return err_set(err, ERR_INVALID, "a data object needs a label of "
		    "1 to %u bytes and 1 to %u bytes of value",
		    HSM_PROTO_LABEL_MAX, HSM_PROTO_PLAIN_MAX);
	buf_init(&req, HSM_PROTO_LABEL_MAX + HSM_PROTO_PLAIN_MAX + 16);
	buf_set_secret(&req);
	(void)buf_put_cstring(&req, label);
	(void)buf_put_string(&req, value->data, value->len);
	r = pool_call(p, HSM_MSG_DATAPUT, &req, NULL, NULL, err);
	buf_free(&req);
	return r;
}

/* A DATAGET reply: the value, into a secret. */
static int
data_parse(buf_t *b, void *arg, err_t *err)
{
	const unsigned char *v;
	size_t len;

	if (buf_get_string_ref(b, &v, &len, HSM_PROTO_PLAIN_MAX) != 0 ||
	    buf_avail(b) != 0 || secret_set(arg, v, len) != 0)
		return err_set(err, ERR_HSM, "malformed data reply from the HSM "
		    "helper");
	return 0;
}

int
hsm_data_get(struct hsm_pool *p, const char *label, secret_t *out,
    err_t *err)
{
	buf_t req;
	int r;

	secret_wipe(out);
	if (label[0] == '\0' || strlen(label) > HSM_PROTO_LABEL_MAX)
		return err_set(err, ERR_INVALID, "a data object label is 1 to %u "
		    "bytes", HSM_PROTO_LABEL_MAX);
	buf_init(&req, HSM_PROTO_LABEL_MAX + 16);
	(void)buf_put_cstring(&req, label);
	r = pool_call(p, HSM_MSG_DATAGET, &req, data_parse, out, err);
	buf_free(&req);
	return r;
}

/* Builds a key from a key record (label, id, SPKI DER, keytype). */
static int
key_parse(buf_t *b, void *arg, err_t *err)
{
	struct hsm_key *k = arg;
	const unsigned char *id, *der, *d;
	size_t idlen, derlen;
	uint8_t type;
	int want;

	if (pool_text(b, k->label, sizeof(k->label)) != 0 ||
	    buf_get_string_ref(b, &id, &idlen, HSM_PROTO_ID_MAX) != 0 ||
	    buf_get_string_ref(b, &der, &derlen, HSM_PROTO_SPKI_MAX) != 0 ||
	    buf_get_u8(b, &type) != 0 || buf_avail(b) != 0 ||
	    (type != HSM_KEY_RSA && type != HSM_KEY_EC))
		return err_set(err, ERR_HSM, "malformed key reply from the HSM "
		    "helper");
	memcpy(k->id, id, idlen);
	k->id_len = idlen;
	k->type = (enum hsm_keytype)type;
	d = der;
	want = type == HSM_KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;
	if ((k->pub = d2i_PUBKEY(NULL, &d, (long)derlen)) == NULL ||
	    d != der + derlen || EVP_PKEY_get_base_id(k->pub) != want) {
		ERR_clear_error();
		return err_set(err, ERR_HSM, "the HSM returned an unusable "
		    "public key for '%s'", k->label);
	}
	return 0;
}

static struct hsm_key *
key_new(struct hsm_pool *p)
{
	struct hsm_key *k = calloc(1, sizeof(*k));

	if (k != NULL)
		k->pool = p;
	return k;
}

/* Checks the generated key has the size or curve that was asked for. */
static int
keygen_check(const struct hsm_key *k, const struct hsm_keyspec *spec,
    err_t *err)
{
	char group[64];
	BIGNUM *e = NULL;

	if (k->type != spec->type)
		return err_set(err, ERR_HSM, "the HSM generated a key of the "
		    "wrong type for '%s'", k->label);
	if (spec->type == HSM_KEY_RSA) {
		int ok;

		if (EVP_PKEY_get_bits(k->pub) != (int)spec->bits)
			return err_set(err, ERR_HSM, "the HSM generated a "
			    "%d-bit RSA key for '%s' but %u bits were asked "
			    "for", EVP_PKEY_get_bits(k->pub), k->label,
			    spec->bits);
		ok = EVP_PKEY_get_bn_param(k->pub, OSSL_PKEY_PARAM_RSA_E, &e) &&
		    BN_is_word(e, 65537);
		BN_free(e);
		if (!ok)
			return err_set(err, ERR_HSM, "the HSM generated RSA key "
			    "'%s' with a public exponent other than 65537",
			    k->label);
		return 0;
	}
	if (!EVP_PKEY_get_utf8_string_param(k->pub, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL) ||
	    OBJ_sn2nid(group) != spec->curve_nid) {
		ERR_clear_error();
		return err_set(err, ERR_HSM, "the HSM generated EC key '%s' on "
		    "a curve other than %s", k->label,
		    OBJ_nid2sn(spec->curve_nid));
	}
	return 0;
}

int
hsm_keygen(struct hsm_pool *p, const struct hsm_keyspec *spec,
    struct hsm_key **out, err_t *err)
{
	struct hsm_key *k;
	unsigned usage, curve = 0;
	buf_t req;
	int r;

	*out = NULL;
	if (spec == NULL || spec->label == NULL || spec->label[0] == '\0' ||
	    strlen(spec->label) > HSM_PROTO_LABEL_MAX)
		return err_set(err, ERR_INVALID, "a key label of 1..%u bytes is "
		    "required", HSM_PROTO_LABEL_MAX);
	usage = spec->usage ? spec->usage : HSM_USAGE_SIGN;
	if (spec->type == HSM_KEY_RSA) {
		if (spec->bits != 2048 && spec->bits != 3072 &&
		    spec->bits != 4096)
			return err_set(err, ERR_INVALID, "RSA key '%s' must have "
			    "2048, 3072 or 4096 bits, not %u", spec->label,
			    spec->bits);
		if (usage & ~(unsigned)(HSM_USAGE_SIGN | HSM_USAGE_DECRYPT))
			return err_set(err, ERR_INVALID, "RSA key '%s' may only "
			    "sign and decrypt", spec->label);
	} else if (spec->type == HSM_KEY_EC) {
		if (spec->curve_nid == NID_X9_62_prime256v1)
			curve = HSM_PROTO_CURVE_P256;
		else if (spec->curve_nid == NID_secp384r1)
			curve = HSM_PROTO_CURVE_P384;
		else
			return err_set(err, ERR_INVALID, "EC key '%s' must be on "
			    "P-256 or P-384", spec->label);
		if (usage & ~(unsigned)(HSM_USAGE_SIGN | HSM_USAGE_DERIVE))
			return err_set(err, ERR_INVALID, "EC key '%s' may only "
			    "sign and derive", spec->label);
	} else {
		return err_set(err, ERR_INVALID, "key '%s' has an unknown type",
		    spec->label);
	}
	if ((k = key_new(p)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	buf_init(&req, HSM_PROTO_LABEL_MAX + 64);
	(void)buf_put_u8(&req, (uint8_t)spec->type);
	(void)buf_put_u32(&req, spec->type == HSM_KEY_RSA ? spec->bits : 0);
	(void)buf_put_u32(&req, curve);
	(void)buf_put_cstring(&req, spec->label);
	(void)buf_put_u32(&req, usage);
	r = pool_call(p, HSM_MSG_KEYGEN, &req, key_parse, k, err);
	buf_free(&req);
	if (r == 0)
		r = keygen_check(k, spec, err);
	if (r != 0) {
		hsm_key_free(k);
		return r;
	}
	*out = k;
	return 0;
}

/* Puts the label and id that name k on the token. */
static void
key_put_ref(buf_t *b, const char *label, const unsigned char *id,
    size_t id_len)
{
	(void)buf_put_cstring(b, label);
	(void)buf_put_string(b, id, id_len);
}

int
hsm_find_key(struct hsm_pool *p, const struct hsm_uri *key,
    struct hsm_key **out, err_t *err)
{
	struct hsm_key *k;
	buf_t req;
	int r;

	*out = NULL;
	if (key == NULL || (key->object[0] == '\0' && key->id_len == 0))
		return err_set(err, ERR_INVALID, "a key must be named by object "
		    "label (object=) or id (id=)");
	if (key->type != HSM_URI_TYPE_NONE &&
	    key->type != HSM_URI_TYPE_PRIVATE &&
	    key->type != HSM_URI_TYPE_PUBLIC)
		return err_set(err, ERR_INVALID, "a signing key URI must have "
		    "type=private (or no type)");
	if (key->id_len > HSM_PROTO_ID_MAX)
		return err_set(err, ERR_LIMIT, "key id is too long");
	if ((k = key_new(p)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	buf_init(&req, 512);
	key_put_ref(&req, key->object, key->id, key->id_len);
	(void)buf_put_u8(&req, p->logged_in ? HSM_PROTO_CLASS_PRIVATE :
	    HSM_PROTO_CLASS_PUBLIC);
	r = pool_call(p, HSM_MSG_FIND, &req, key_parse, k, err);
	buf_free(&req);
	if (r != 0) {
		hsm_key_free(k);
		return r;
	}
	*out = k;
	return 0;
}

const EVP_PKEY *
hsm_key_public(const struct hsm_key *k)
{
	return k->pub;
}

const char *
hsm_key_label(const struct hsm_key *k)
{
	return k->label;
}

enum hsm_keytype
hsm_key_type(const struct hsm_key *k)
{
	return k->type;
}

struct sign_arg {
	unsigned char *sig;
	size_t *siglen;
	size_t sigmax;
};

static int
sign_parse(buf_t *b, void *arg, err_t *err)
{
	struct sign_arg *a = arg;
	const unsigned char *s;
	size_t n;

	if (buf_get_string_ref(b, &s, &n, HSM_PROTO_SIG_MAX) != 0 ||
	    buf_avail(b) != 0)
		return err_set(err, ERR_HSM, "malformed signature reply from the "
		    "HSM helper");
	if (n > a->sigmax || n == 0)
		return err_set(err, ERR_HSM, "the HSM returned a signature of "
		    "%zu bytes, outside 1..%zu", n, a->sigmax);
	memcpy(a->sig, s, n);
	*a->siglen = n;
	return 0;
}

int
hsm_sign_raw(struct hsm_key *k, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *sig, size_t *siglen, size_t sigmax,
    err_t *err)
{
	struct sign_arg a = { sig, siglen, sigmax };
	buf_t req;
	int r;

	if (k == NULL || in == NULL || sig == NULL || siglen == NULL)
		return err_set(err, ERR_INVALID, "hsm_sign_raw: missing argument");
	if ((op == EXTKEY_RSA_PKCS1 && k->type != HSM_KEY_RSA) ||
	    (op == EXTKEY_ECDSA && k->type != HSM_KEY_EC) ||
	    (op != EXTKEY_RSA_PKCS1 && op != EXTKEY_ECDSA))
		return err_set(err, ERR_INVALID, "signing operation does not "
		    "fit key '%s'", k->label);
	if (inlen == 0 || inlen > HSM_PROTO_SIGIN_MAX)
		return err_set(err, ERR_INVALID, "%zu bytes to sign is outside "
		    "1..%u", inlen, HSM_PROTO_SIGIN_MAX);
	if (sigmax > HSM_PROTO_SIG_MAX)
		sigmax = HSM_PROTO_SIG_MAX;
	a.sigmax = sigmax;
	buf_init(&req, HSM_PROTO_SIGIN_MAX + 512);
	key_put_ref(&req, k->label, k->id, k->id_len);
	(void)buf_put_u8(&req, (uint8_t)op);
	(void)buf_put_string(&req, in, inlen);
	(void)buf_put_u32(&req, (uint32_t)sigmax);
	r = pool_call(k->pool, HSM_MSG_SIGN, &req, sign_parse, &a, err);
	buf_free(&req);
	return r;
}

/* The extkey callback: one signature through whichever session is free. */
static int
key_extsign(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *sig, size_t *siglen, size_t sigmax)
{
	err_t err;

	return hsm_sign_raw(ctx, op, in, inlen, sig, siglen, sigmax, &err);
}

EVP_PKEY *
hsm_key_signer(struct hsm_key *k)
{
	if (k == NULL || !k->pool->logged_in)
		return NULL;
	return extkey_new(k->pub, key_extsign, k, NULL);
}

struct decrypt_arg {
	unsigned char *out;
	size_t *outlen;
	size_t outmax;
};

static int
decrypt_parse(buf_t *b, void *arg, err_t *err)
{
	struct decrypt_arg *a = arg;
	const unsigned char *p;
	size_t n;

	if (buf_get_string_ref(b, &p, &n, HSM_PROTO_PLAIN_MAX) != 0 ||
	    buf_avail(b) != 0)
		return err_set(err, ERR_HSM, "malformed decryption reply from "
		    "the HSM helper");
	if (n > a->outmax)
		return err_set(err, ERR_HSM, "the HSM returned %zu bytes of "
		    "plaintext, more than %zu", n, a->outmax);
	memcpy(a->out, p, n);
	*a->outlen = n;
	return 0;
}

int
hsm_decrypt_raw(struct hsm_key *k, enum extkey_op op,
    const unsigned char *in, size_t inlen, unsigned char *out,
    size_t *outlen, size_t outmax, err_t *err)
{
	struct decrypt_arg a = { out, outlen, outmax };
	uint8_t mech;
	buf_t req;
	int r;

	if (k == NULL || in == NULL || out == NULL || outlen == NULL)
		return err_set(err, ERR_INVALID, "hsm_decrypt_raw: missing "
		    "argument");
	*outlen = 0;
	if (op == EXTKEY_RSA_DECRYPT_PKCS1)
		mech = HSM_PROTO_DECRYPT_PKCS1;
	else if (op == EXTKEY_RSA_DECRYPT_RAW)
		mech = HSM_PROTO_DECRYPT_RAW;
	else
		return err_set(err, ERR_INVALID, "operation %d is not a "
		    "decryption", (int)op);
	if (k->type != HSM_KEY_RSA)
		return err_set(err, ERR_INVALID, "key '%s' is not an RSA key and "
		    "cannot decrypt", k->label);
	if (inlen == 0 || inlen > HSM_PROTO_CIPHER_MAX)
		return err_set(err, ERR_INVALID, "ciphertext of %zu bytes is "
		    "outside 1..%u", inlen, HSM_PROTO_CIPHER_MAX);
	if (outmax > HSM_PROTO_PLAIN_MAX)
		outmax = HSM_PROTO_PLAIN_MAX;
	a.outmax = outmax;
	buf_init(&req, HSM_PROTO_CIPHER_MAX + 512);
	key_put_ref(&req, k->label, k->id, k->id_len);
	(void)buf_put_u8(&req, mech);
	(void)buf_put_string(&req, in, inlen);
	(void)buf_put_u32(&req, (uint32_t)outmax);
	r = pool_call(k->pool, HSM_MSG_DECRYPT, &req, decrypt_parse, &a, err);
	buf_free(&req);
	return r;
}

/*
 * The extkey decryption callback. The helper's reason is dropped: OpenSSL
 * reports one "decrypt error" whatever went wrong, which is what a caller
 * must show for a bundle anyway (see extkey.c on padding oracles).
 */
static int
key_extdecrypt(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen, size_t outmax)
{
	err_t err;

	return hsm_decrypt_raw(ctx, op, in, inlen, out, outlen, outmax, &err);
}

EVP_PKEY *
hsm_key_decrypter(struct hsm_key *k)
{
	if (k == NULL || !k->pool->logged_in || k->type != HSM_KEY_RSA)
		return NULL;
	return extkey_new_decrypter(k->pub, key_extdecrypt, k, NULL);
}

static int
attrs_parse(buf_t *b, void *arg, err_t *err)
{
	struct hsm_key_attrs *a = arg;
	unsigned char v[HSM_PROTO_NATTRS];
	size_t i;

	if (buf_get(b, v, sizeof(v)) != 0 || buf_avail(b) != 0)
		return err_set(err, ERR_HSM, "malformed attribute reply from the "
		    "HSM helper");
	for (i = 0; i < sizeof(v); i++)
		if (v[i] > 1)
			return err_set(err, ERR_HSM, "malformed attribute reply "
			    "from the HSM helper");
	a->token = v[0];
	a->private_ = v[1];
	a->sensitive = v[2];
	a->always_sensitive = v[3];
	a->extractable = v[4];
	a->never_extractable = v[5];
	a->sign = v[6];
	a->decrypt = v[7];
	a->derive = v[8];
	a->unwrap = v[9];
	return 0;
}

int
hsm_key_attrs(struct hsm_key *k, struct hsm_key_attrs *out, err_t *err)
{
	buf_t req;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&req, 512);
	key_put_ref(&req, k->label, k->id, k->id_len);
	r = pool_call(k->pool, HSM_MSG_ATTRS, &req, attrs_parse, out, err);
	buf_free(&req);
	return r;
}

int
hsm_key_uri(const struct hsm_key *k, char *out, size_t outsz)
{
	struct hsm_uri u;

	hsm_uri_init(&u);
	memcpy(u.token, k->pool->tok.label, sizeof(u.token));
	(void)snprintf(u.object, sizeof(u.object), "%s", k->label);
	memcpy(u.id, k->id, k->id_len);
	u.id_len = k->id_len;
	u.type = HSM_URI_TYPE_PRIVATE;
	return hsm_uri_format(&u, out, outsz);
}

int
hsm_key_check_cert(struct hsm_key *k, X509 *cert, err_t *err)
{
	unsigned char chal[HSM_CHALLENGE_LEN], sig[HSM_PROTO_SIG_MAX];
	char subj[256];
	EVP_PKEY *cpub, *signer = NULL;
	EVP_MD_CTX *md = NULL;
	size_t siglen = sizeof(sig);
	int r;

	if (k == NULL || cert == NULL)
		return err_set(err, ERR_INVALID, "no key or certificate");
	if (X509_NAME_oneline(X509_get_subject_name(cert), subj,
	    sizeof(subj)) == NULL)
		(void)snprintf(subj, sizeof(subj), "(unprintable subject)");
	if ((cpub = X509_get0_pubkey(cert)) == NULL) {
		ERR_clear_error();
		return err_set(err, ERR_INVALID, "certificate %s has a public "
		    "key OpenSSL cannot read", subj);
	}
	if (EVP_PKEY_eq(k->pub, cpub) != 1) {
		ERR_clear_error();
		return err_set(err, ERR_POLICY, "key '%s' does not match "
		    "certificate %s: their public keys differ", k->label, subj);
	}
	/*
	 * Equal public keys do not prove the token holds the private half
	 * under this label, so make it sign a fresh challenge.
	 */
	if ((r = hsm_random(k->pool, chal, sizeof(chal), err)) != 0)
		return r;
	if ((signer = hsm_key_signer(k)) == NULL)
		return err_set(err, ERR_AUTH, "key '%s' cannot sign: the HSM "
		    "session is not logged in", k->label);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signer) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, chal, sizeof(chal)) != 1) {
		r = err_set_ossl(err, ERR_HSM, "key '%s' failed to sign a test "
		    "challenge", k->label);
		goto done;
	}
	EVP_MD_CTX_free(md);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, cpub) != 1 ||
	    EVP_DigestVerify(md, sig, siglen, chal, sizeof(chal)) != 1) {
		ERR_clear_error();
		r = err_set(err, ERR_POLICY, "key '%s' does not match "
		    "certificate %s: its signature on a test challenge does "
		    "not verify", k->label, subj);
		goto done;
	}
	r = 0;
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(signer);
	return r;
}

void
hsm_key_free(struct hsm_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pub);
	free(k);
}
