/* pinshare.c: M-of-N shares of a token's user PIN (see pinshare.h). */
#include "pki/pinshare.h"

#include <libgfshare.h>
/* pem.h first: cms.h declares its PEM functions only after it. */
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/text.h"

/* The keys, in the one order they are written. */
enum {
	PS_VERSION, PS_TOKEN, PS_SERIAL, PS_THRESHOLD, PS_SHARES, PS_INDEX,
	PS_OFFICER, PS_SHARE, PS_NKEYS
};

static const char *const ps_keys[PS_NKEYS] = {
	"airlock-pin-share", "token", "serial", "threshold", "shares", "index",
	"officer", "share"
};

/* Characters of a hostile value quoted in a message. */
#define PS_SHOW 40

/*
 * libgfshare draws its polynomial coefficients, and the bytes it wipes
 * its buffers with, through a global hook; point it at OpenSSL's
 * generator once. A failure leaves the buffer
 * zeroed, which would make the shares the secret itself, so it is
 * detected by pinshare_split through a flag instead.
 */
static pthread_once_t ps_once = PTHREAD_ONCE_INIT;
static __thread int ps_rand_failed;

static void
ps_rand(unsigned char *p, unsigned int n)
{
	if (RAND_bytes(p, (int)n) != 1) {
		memset(p, 0, n);
		ps_rand_failed = 1;
	}
}

static void
ps_init_once(void)
{
	gfshare_fill_rand = ps_rand;
}

int
pinshare_split(const secret_t *secret, unsigned m, unsigned n,
    secret_t *const *out, err_t *err)
{
	unsigned char nrs[PINSHARE_MAX_SHARES];
	gfshare_ctx *g;
	unsigned i;

	if (n < PINSHARE_MIN || n > PINSHARE_MAX_SHARES || m < PINSHARE_MIN ||
	    m > n)
		return err_set(err, ERR_INVALID, "a split needs 2 <= M <= N <= "
		    "%d (got M %u, N %u)", PINSHARE_MAX_SHARES, m, n);
	if (secret->len < PINSHARE_SECRET_MIN ||
	    secret->len > PINSHARE_SECRET_MAX)
		return err_set(err, ERR_INVALID, "a PIN to split must be %d to "
		    "%d bytes", PINSHARE_SECRET_MIN, PINSHARE_SECRET_MAX);
	pthread_once(&ps_once, ps_init_once);
	for (i = 0; i < n; i++)
		nrs[i] = (unsigned char)(i + 1);
	if ((g = gfshare_ctx_init_enc(nrs, n, (unsigned char)m,
	    (unsigned)secret->len)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	ps_rand_failed = 0;
	gfshare_ctx_enc_setsecret(g, secret->data);
	for (i = 0; i < n; i++) {
		secret_wipe(out[i]);
		gfshare_ctx_enc_getshare(g, (unsigned char)i, out[i]->data);
		out[i]->len = secret->len;
	}
	gfshare_ctx_free(g);
	if (ps_rand_failed) {
		for (i = 0; i < n; i++)
			secret_wipe(out[i]);
		return err_set(err, ERR_CRYPTO, "no randomness for the shares");
	}
	return 0;
}

int
pinshare_combine(const unsigned *indexes, const secret_t *const *shares,
    size_t n, secret_t *out, err_t *err)
{
	unsigned char nrs[PINSHARE_MAX_SHARES];
	size_t i, j, len;
	gfshare_ctx *g;

	secret_wipe(out);
	if (n < PINSHARE_MIN || n > PINSHARE_MAX_SHARES)
		return err_set(err, ERR_INVALID, "combining needs 2 to %d shares",
		    PINSHARE_MAX_SHARES);
	len = shares[0]->len;
	if (len < PINSHARE_SECRET_MIN || len > PINSHARE_SECRET_MAX)
		return err_set(err, ERR_INVALID, "a share must be %d to %d bytes",
		    PINSHARE_SECRET_MIN, PINSHARE_SECRET_MAX);
	for (i = 0; i < n; i++) {
		if (shares[i]->len != len)
			return err_set(err, ERR_INVALID, "the shares differ in "
			    "length: they come from different splits");
		if (indexes[i] < 1 || indexes[i] > 255)
			return err_set(err, ERR_INVALID, "share index %u is out "
			    "of range", indexes[i]);
		for (j = 0; j < i; j++)
			if (indexes[j] == indexes[i])
				return err_set(err, ERR_INVALID, "share %u is "
				    "given twice", indexes[i]);
		nrs[i] = (unsigned char)indexes[i];
	}
	/* gfshare_ctx_free overwrites its buffers through the hook too. */
	pthread_once(&ps_once, ps_init_once);
	if ((g = gfshare_ctx_init_dec(nrs, (unsigned)n, (unsigned)len)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		gfshare_ctx_dec_giveshare(g, (unsigned char)i, shares[i]->data);
	gfshare_ctx_dec_extract(g, out->data);
	gfshare_ctx_free(g);
	out->len = len;
	out->data[len] = '\0';
	return 0;
}

/* --- the record ---------------------------------------------------------- */

/* A token label: 1..32 printable ASCII characters, no edge spaces. */
static int
ps_check_label(const char *v, size_t n, int spaces)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] < (spaces ? 0x20 : 0x21) || v[i] > 0x7e)
			return 0;
	return v[0] != ' ' && v[n - 1] != ' ';
}

static int
ps_check(const struct pinshare *m, size_t share_len, err_t *err)
{
	size_t tl = strnlen(m->token, sizeof(m->token)),
	    sl = strnlen(m->serial, sizeof(m->serial));

	if (tl == sizeof(m->token) || !ps_check_label(m->token, tl, 1))
		return err_set(err, ERR_INVALID, "token: the label must be 1 to "
		    "32 printable ASCII characters without leading or trailing "
		    "spaces");
	if (sl == sizeof(m->serial) || !ps_check_label(m->serial, sl, 0))
		return err_set(err, ERR_INVALID, "serial: 1 to 16 printable "
		    "ASCII characters without spaces");
	if (m->shares < PINSHARE_MIN || m->shares > PINSHARE_MAX_SHARES)
		return err_set(err, ERR_INVALID, "shares: N must be %d to %d",
		    PINSHARE_MIN, PINSHARE_MAX_SHARES);
	if (m->threshold < PINSHARE_MIN || m->threshold > m->shares)
		return err_set(err, ERR_INVALID, "threshold: M must be 2 to N "
		    "(%u)", m->shares);
	if (m->index < 1 || m->index > m->shares)
		return err_set(err, ERR_INVALID, "index: must be 1 to N (%u)",
		    m->shares);
	if (strnlen(m->officer, sizeof(m->officer)) != 64 ||
	    !text_is_lower_hex(m->officer, 64))
		return err_set(err, ERR_INVALID, "officer: 64 lower-case hex "
		    "digits (the SHA-256 of the officer certificate)");
	if (share_len < PINSHARE_SECRET_MIN || share_len > PINSHARE_SECRET_MAX)
		return err_set(err, ERR_INVALID, "share: %d to %d bytes in "
		    "lower-case hex", PINSHARE_SECRET_MIN, PINSHARE_SECRET_MAX);
	return 0;
}

/* Appends to a secret; ERR_LIMIT when it would not fit a record. */
static int
ps_append(secret_t *out, const char *s, size_t n)
{
	if (n > PINSHARE_RECORD_MAX - out->len || n > out->cap - out->len)
		return ERR_LIMIT;
	memcpy(out->data + out->len, s, n);
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

int
pinshare_format(const struct pinshare *meta, const secret_t *share,
    secret_t *out, err_t *err)
{
	char line[256];
	size_t i;
	int r;

	secret_wipe(out);
	if ((r = ps_check(meta, share->len, err)) != 0)
		return r;
	snprintf(line, sizeof(line), "%s: %d\n%s: %s\n%s: %s\n%s: %u\n%s: %u\n"
	    "%s: %u\n%s: %s\n%s: ", ps_keys[PS_VERSION], PINSHARE_VERSION,
	    ps_keys[PS_TOKEN], meta->token, ps_keys[PS_SERIAL], meta->serial,
	    ps_keys[PS_THRESHOLD], meta->threshold, ps_keys[PS_SHARES],
	    meta->shares, ps_keys[PS_INDEX], meta->index, ps_keys[PS_OFFICER],
	    meta->officer, ps_keys[PS_SHARE]);
	r = ps_append(out, line, strlen(line));
	for (i = 0; r == 0 && i < share->len; i++) {
		char hex[3];

		snprintf(hex, sizeof(hex), "%02x", share->data[i]);
		r = ps_append(out, hex, 2);
		explicit_bzero(hex, sizeof(hex));
	}
	if (r == 0)
		r = ps_append(out, "\n", 1);
	if (r != 0) {
		secret_wipe(out);
		return err_set(err, ERR_LIMIT, "the record does not fit");
	}
	return 0;
}

/* A decimal 1..PINSHARE_MAX_SHARES without leading zeros. */
static int
ps_small(const char *v, size_t n, unsigned *out)
{
	size_t i;

	if (n == 0 || n > 2 || v[0] == '0')
		return ERR_INVALID;
	*out = 0;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return ERR_INVALID;
		*out = *out * 10 + (unsigned)(v[i] - '0');
	}
	return 0;
}

int
pinshare_parse(const char *label, const void *data, size_t len,
    struct pinshare *meta, secret_t *share, err_t *err)
{
	secret_t *sh = NULL, *again = NULL, *txt = NULL;
	char *p, *end;
	char show[PS_SHOW * 4 + 8];
	unsigned version = 0;
	size_t k;
	int r = 0;

	memset(meta, 0, sizeof(*meta));
	if (share != NULL)
		secret_wipe(share);
	if (len > PINSHARE_RECORD_MAX)
		return err_set(err, ERR_LIMIT, "%s: the share record is %zu "
		    "bytes; at most %d are accepted", label, len,
		    PINSHARE_RECORD_MAX);
	/* A copy whose line ends become NULs, so each value is a string. */
	if ((r = secret_new(&sh)) != 0 || (r = secret_new(&txt)) != 0 ||
	    (r = secret_set(txt, data, len)) != 0) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	p = (char *)txt->data;
	end = p + len;
	for (k = 0; k < PS_NKEYS && r == 0; k++) {
		size_t kl = strlen(ps_keys[k]), vl;
		char *nl = memchr(p, '\n', (size_t)(end - p)), *v;

		if (nl == NULL) {
			r = err_set(err, ERR_INVALID, "%s line %zu: missing or "
			    "unterminated '%s' (the record is truncated)", label,
			    k + 1, ps_keys[k]);
			break;
		}
		if ((size_t)(nl - p) < kl + 2 || memcmp(p, ps_keys[k], kl) != 0 ||
		    p[kl] != ':' || p[kl + 1] != ' ') {
			r = err_set(err, ERR_INVALID, "%s line %zu: expected '%s: ' "
			    "at '%s'", label, k + 1, ps_keys[k], text_show(p,
			    (size_t)(nl - p), PS_SHOW, show, sizeof(show)));
			break;
		}
		v = p + kl + 2;
		vl = (size_t)(nl - v);
		*nl = '\0';
		switch (k) {
		case PS_VERSION:
			if (ps_small(v, vl, &version) != 0 ||
			    version != PINSHARE_VERSION)
				r = err_set(err, ERR_INVALID, "%s line 1: version "
				    "'%s' is not one this appliance reads (it "
				    "reads %d)", label, text_show(v, vl, PS_SHOW,
				    show, sizeof(show)), PINSHARE_VERSION);
			break;
		case PS_TOKEN:
		case PS_SERIAL:
		case PS_OFFICER: {
			char *dst = k == PS_TOKEN ? meta->token : k == PS_SERIAL ?
			    meta->serial : meta->officer;
			size_t cap = k == PS_TOKEN ? sizeof(meta->token) :
			    k == PS_SERIAL ? sizeof(meta->serial) :
			    sizeof(meta->officer);

			if (vl == 0 || vl >= cap || memchr(v, '\0', vl) != NULL)
				r = err_set(err, ERR_INVALID, "%s line %zu: '%s' "
				    "must be 1 to %zu characters", label, k + 1,
				    ps_keys[k], cap - 1);
			else
				memcpy(dst, v, vl);
			break;
		}
		case PS_THRESHOLD:
		case PS_SHARES:
		case PS_INDEX:
			if (ps_small(v, vl, k == PS_THRESHOLD ? &meta->threshold :
			    k == PS_SHARES ? &meta->shares : &meta->index) != 0)
				r = err_set(err, ERR_INVALID, "%s line %zu: '%s' "
				    "must be a number from 1 to %d", label, k + 1,
				    ps_keys[k], PINSHARE_MAX_SHARES);
			break;
		default:
			if (vl % 2 != 0 || vl / 2 > PINSHARE_SECRET_MAX ||
			    !text_is_lower_hex(v, vl) ||
			    buf_unhex(v, sh->data, sh->cap, &sh->len) != 0)
				r = err_set(err, ERR_INVALID, "%s line %zu: 'share' "
				    "must be %d to %d bytes in lower-case hex",
				    label, k + 1, PINSHARE_SECRET_MIN,
				    PINSHARE_SECRET_MAX);
			break;
		}
		p = nl + 1;
	}
	if (r == 0 && p != end)
		r = err_set(err, ERR_INVALID, "%s: text after the last line "
		    "('share')", label);
	if (r == 0 && (r = ps_check(meta, sh->len, err)) != 0)
		err_prefix(err, "%s", label);
	/* One spelling only: what we would write must be what was read. */
	if (r == 0 && ((r = secret_new(&again)) != 0 ||
	    (r = pinshare_format(meta, sh, again, err)) != 0 ||
	    again->len != len || memcmp(again->data, data, len) != 0))
		r = err_set(err, ERR_INVALID, "%s: the share record is not in "
		    "its canonical form", label);
	if (r == 0 && share != NULL)
		r = secret_set(share, sh->data, sh->len);
out:
	if (r != 0)
		memset(meta, 0, sizeof(*meta));
	secret_free(sh);
	secret_free(again);
	secret_free(txt);
	return r;
}

int
pinshare_digest(const unsigned char nonce[PINSHARE_NONCE_LEN],
    const void *record, size_t len, char out[65], err_t *err)
{
	unsigned char md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, nonce, PINSHARE_NONCE_LEN) == 1 &&
	    EVP_DigestUpdate(c, record, len) == 1 &&
	    EVP_DigestFinal_ex(c, md, NULL) == 1;

	EVP_MD_CTX_free(c);
	if (!ok)
		return err_set(err, ERR_CRYPTO, "SHA-256 failed");
	buf_hex(md, sizeof(md), out, 65);
	return 0;
}

/* --- the envelope -------------------------------------------------------- */

int
pinshare_seal(const secret_t *record, X509 *cert, buf_t *out, err_t *err)
{
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;
	BIO *in = NULL;
	unsigned char *der = NULL;
	int n, rc = 0, rsa = EVP_PKEY_get_base_id(X509_get0_pubkey(cert)) ==
	    EVP_PKEY_RSA;

	/* CMS_PARTIAL: the key transport parameters are set before final. */
	if ((in = BIO_new_mem_buf(record->data, (int)record->len)) == NULL ||
	    (cms = CMS_encrypt(NULL, NULL, EVP_aes_256_cbc(), CMS_BINARY |
	    CMS_PARTIAL)) == NULL ||
	    (ri = CMS_add1_recipient_cert(cms, cert, rsa ? CMS_KEY_PARAM :
	    0)) == NULL) {
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encrypt to the "
		    "officer certificate");
		goto out;
	}
	if (rsa && ((pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0)) {
		rc = err_set_ossl(err, ERR_CRYPTO, "RSA-OAEP for the officer");
		goto out;
	}
	if (!rsa && ((pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL ||
	    EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0)) {
		rc = err_set_ossl(err, ERR_CRYPTO, "ECDH for the officer");
		goto out;
	}
	if (CMS_final(cms, in, NULL, CMS_BINARY) != 1 ||
	    (n = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encrypt the share");
		goto out;
	}
	if (buf_put(out, der, (size_t)n) != 0)
		rc = err_set(err, ERR_LIMIT, "the share file is too large");
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

int
pinshare_open(const void *data, size_t len, EVP_PKEY *key, X509 *cert,
    secret_t *record, err_t *err)
{
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL, *sink = NULL;
	const unsigned char *p = data;
	char *plain;
	long n;
	int r = 0;

	secret_wipe(record);
	if (len > PINSHARE_FILE_MAX)
		return err_set(err, ERR_LIMIT, "a share file is at most %d bytes",
		    PINSHARE_FILE_MAX);
	if (len > 0 && p[0] == 0x30) {
		cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	} else if ((in = BIO_new_mem_buf(data, (int)len)) != NULL) {
		cms = PEM_read_bio_CMS(in, NULL, NULL, NULL);
	}
	if (cms == NULL || OBJ_obj2nid(CMS_get0_type(cms)) !=
	    NID_pkcs7_enveloped) {
		ERR_clear_error();
		r = err_set(err, ERR_INVALID, "not a share file: expected CMS "
		    "EnvelopedData in DER or PEM");
		goto out;
	}
	/* A secure-heap memory BIO: its buffers are wiped when freed. */
	if ((sink = BIO_new(BIO_s_secmem())) == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (CMS_decrypt(cms, key, cert, NULL, sink, CMS_BINARY) != 1) {
		ERR_clear_error();
		r = err_set(err, ERR_AUTH, "this key cannot open the share file: "
		    "it is encrypted to another officer, or damaged");
		goto out;
	}
	n = BIO_get_mem_data(sink, &plain);
	if (n <= 0 || n > PINSHARE_RECORD_MAX ||
	    secret_set(record, plain, (size_t)n) != 0)
		r = err_set(err, ERR_LIMIT, "the share file holds %ld bytes; a "
		    "share record is at most %d", n, PINSHARE_RECORD_MAX);
out:
	BIO_free(sink);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return r;
}
