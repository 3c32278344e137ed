/*
 * extkey.c: EVP_PKEYs whose private operation is a callback (see extkey.h).
 *
 * OpenSSL 3 routes a key whose RSA_METHOD or EC_KEY_METHOD is not the
 * built-in one ("foreign" key) through its legacy code path, calling the
 * method's private operation. This is how libp11 0.4.12 exposes token keys
 * too, and it is the smallest bridge that lets X509_sign, X509_CRL_sign and
 * CMS_sign use a key that never leaves the HSM. These method APIs are
 * deprecated in OpenSSL 3 in favour of providers; Debian 12 has no PKCS#11
 * provider, so we use them here, in this file only.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "pki/extkey.h"
#include "util/err.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* What an extkey may do: exactly one of the two, fixed at creation. */
enum extkey_role { EXTKEY_ROLE_SIGN = 1, EXTKEY_ROLE_DECRYPT = 2 };

struct extkey_ctx {
	/* extkey_sign_fn and extkey_decrypt_fn are the same type. */
	extkey_sign_fn fn;
	void *ctx;
	void (*free_ctx)(void *);
	enum extkey_role role;
};

static pthread_once_t extkey_once = PTHREAD_ONCE_INIT;
static RSA_METHOD *extkey_rsa_meth;
static EC_KEY_METHOD *extkey_ec_meth;
static int extkey_rsa_idx = -1;
static int extkey_ec_idx = -1;

static void
extkey_ctx_free(struct extkey_ctx *c)
{
	if (c == NULL)
		return;
	if (c->free_ctx != NULL)
		c->free_ctx(c->ctx);
	free(c);
}

/* ex_data destructor: runs when the RSA or EC_KEY object is freed. */
static void
extkey_exdata_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	extkey_ctx_free(ptr);
}

static int
extkey_rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	struct extkey_ctx *c = RSA_get_ex_data(rsa, extkey_rsa_idx);
	size_t siglen = 0;
	int max = RSA_size(rsa);

	/*
	 * Only PKCS#1 v1.5 over a DigestInfo maps onto CKM_RSA_PKCS, and only
	 * a signer signs: the transport key must never vouch for anything.
	 */
	if (c == NULL || c->role != EXTKEY_ROLE_SIGN ||
	    padding != RSA_PKCS1_PADDING || flen < 0 || max <= 0)
		return -1;
	if (c->fn(c->ctx, EXTKEY_RSA_PKCS1, from, (size_t)flen, to, &siglen,
	    (size_t)max) != 0)
		return -1;
	if (siglen != (size_t)max)
		return -1;
	return (int)siglen;
}

/*
 * RSA_private_decrypt for a decrypter; OpenSSL sized `to` with RSA_size().
 *
 * PKCS#1 v1.5 (RSA_PKCS1_PADDING) maps onto CKM_RSA_PKCS, unpadded in the
 * HSM. RSA_NO_PADDING maps onto CKM_RSA_X_509: OpenSSL 3.0's legacy
 * pkey_rsa_decrypt asks for it when the padding is OAEP and then checks the
 * OAEP padding itself, in constant time, so OAEP cannot work without it.
 * Raw decryption is an unpadded private-key operation, as good as a
 * signature on chosen bytes; that is acceptable only because a decrypter
 * is made for the transport key alone, the one key generated with
 * CKA_DECRYPT and without CKA_SIGN, whose certificate allows only key
 * encipherment, so nobody trusts a signature it could be made to produce.
 * CA keys are signers and never reach this function.
 *
 * PKCS#1 v1.5 decryption is a padding oracle (Bleichenbacher) whenever a
 * caller can tell a padding failure from a later failure; OAEP is the
 * padding we document for bundles, and v1.5 stays accepted only because
 * `openssl cms -encrypt` uses it by default. Callers must report every
 * decryption failure of a bundle the same way.
 */
static int
extkey_rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	struct extkey_ctx *c = RSA_get_ex_data(rsa, extkey_rsa_idx);
	enum extkey_op op;
	size_t outlen = 0, max;
	int size = RSA_size(rsa);

	if (c == NULL || c->role != EXTKEY_ROLE_DECRYPT || size <= 0 ||
	    flen <= 0 || flen > size)
		return -1;
	if (padding == RSA_PKCS1_PADDING)
		op = EXTKEY_RSA_DECRYPT_PKCS1;
	else if (padding == RSA_NO_PADDING)
		op = EXTKEY_RSA_DECRYPT_RAW;
	else
		return -1;
	max = (size_t)size;
	if (c->fn(c->ctx, op, from, (size_t)flen, to, &outlen, max) != 0 ||
	    outlen > max || (op == EXTKEY_RSA_DECRYPT_RAW && outlen == 0)) {
		explicit_bzero(to, max);
		return -1;
	}
	if (op == EXTKEY_RSA_DECRYPT_RAW && outlen < max) {
		/*
		 * A module may drop the leading zero bytes of m; the OAEP
		 * check wants exactly modulus-size input, so put them back.
		 */
		memmove(to + (max - outlen), to, outlen);
		memset(to, 0, max - outlen);
		outlen = max;
	}
	return (int)outlen;
}

static ECDSA_SIG *
extkey_ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *eckey)
{
	struct extkey_ctx *c = EC_KEY_get_ex_data(eckey, extkey_ec_idx);
	const EC_GROUP *group = EC_KEY_get0_group(eckey);
	unsigned char raw[2 * 66];
	size_t rawlen = 0, half;
	BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *sig = NULL;
	int order_bits;

	(void)kinv; (void)r;
	if (c == NULL || c->role != EXTKEY_ROLE_SIGN || group == NULL ||
	    dlen < 0)
		return NULL;
	order_bits = EC_GROUP_order_bits(group);
	half = ((size_t)order_bits + 7) / 8;
	if (half == 0 || 2 * half > sizeof(raw))
		return NULL;
	if (c->fn(c->ctx, EXTKEY_ECDSA, dgst, (size_t)dlen, raw, &rawlen,
	    2 * half) != 0 || rawlen != 2 * half)
		goto out;
	br = BN_bin2bn(raw, (int)half, NULL);
	bs = BN_bin2bn(raw + half, (int)half, NULL);
	if (br == NULL || bs == NULL || (sig = ECDSA_SIG_new()) == NULL)
		goto out;
	if (!ECDSA_SIG_set0(sig, br, bs)) {
		ECDSA_SIG_free(sig);
		sig = NULL;
		goto out;
	}
	br = bs = NULL;
out:
	BN_free(br);
	BN_free(bs);
	explicit_bzero(raw, sizeof(raw));
	return sig;
}

static int
extkey_ec_sign(int type, const unsigned char *dgst, int dlen,
    unsigned char *sig, unsigned int *siglen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *eckey)
{
	ECDSA_SIG *s;
	unsigned char *p = sig;
	int n;

	(void)type;
	if ((s = extkey_ec_sign_sig(dgst, dlen, kinv, r, eckey)) == NULL)
		return 0;
	/* OpenSSL sized `sig` with ECDSA_size(), the DER maximum. */
	n = i2d_ECDSA_SIG(s, &p);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return 0;
	*siglen = (unsigned int)n;
	return 1;
}

static int
extkey_ec_sign_setup(EC_KEY *eckey, BN_CTX *ctx, BIGNUM **kinv, BIGNUM **r)
{
	(void)eckey; (void)ctx; (void)kinv; (void)r;
	/* Precomputation needs the private scalar, which only the HSM has. */
	return 0;
}

static void
extkey_init_once(void)
{
	extkey_rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL,
	    extkey_exdata_free);
	extkey_ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL,
	    extkey_exdata_free);
	extkey_rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL());
	if (extkey_rsa_meth != NULL) {
		RSA_meth_set1_name(extkey_rsa_meth, "airlock extkey");
		RSA_meth_set_priv_enc(extkey_rsa_meth, extkey_rsa_priv_enc);
		RSA_meth_set_priv_dec(extkey_rsa_meth, extkey_rsa_priv_dec);
	}
	extkey_ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
	if (extkey_ec_meth != NULL)
		EC_KEY_METHOD_set_sign(extkey_ec_meth, extkey_ec_sign,
		    extkey_ec_sign_setup, extkey_ec_sign_sig);
}

/*
 * Decodes the public key afresh through its SPKI encoding, so that we own
 * a new legacy object and never alter a method on an object that `pub`
 * (or OpenSSL's cache inside it) still uses.
 */
static EVP_PKEY *
extkey_from_spki(const EVP_PKEY *pub, struct extkey_ctx *c)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	int len;

	if ((len = i2d_PUBKEY(pub, &der)) <= 0)
		return NULL;
	p = der;
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA: {
		RSA *rsa = d2i_RSA_PUBKEY(NULL, &p, len);

		if (rsa == NULL || extkey_rsa_meth == NULL ||
		    !RSA_set_method(rsa, extkey_rsa_meth) ||
		    !RSA_set_ex_data(rsa, extkey_rsa_idx, c) ||
		    (pk = EVP_PKEY_new()) == NULL ||
		    !EVP_PKEY_assign_RSA(pk, rsa)) {
			if (rsa != NULL)
				RSA_set_ex_data(rsa, extkey_rsa_idx, NULL);
			RSA_free(rsa);
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		break;
	}
	case EVP_PKEY_EC: {
		EC_KEY *ec = d2i_EC_PUBKEY(NULL, &p, len);

		if (ec == NULL || extkey_ec_meth == NULL ||
		    !EC_KEY_set_method(ec, extkey_ec_meth) ||
		    !EC_KEY_set_ex_data(ec, extkey_ec_idx, c) ||
		    (pk = EVP_PKEY_new()) == NULL ||
		    !EVP_PKEY_assign_EC_KEY(pk, ec)) {
			if (ec != NULL)
				EC_KEY_set_ex_data(ec, extkey_ec_idx, NULL);
			EC_KEY_free(ec);
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		break;
	}
	default:
		break;
	}
	OPENSSL_free(der);
	return pk;
}

static EVP_PKEY *
extkey_make(const EVP_PKEY *pub, extkey_sign_fn fn, void *ctx,
    void (*free_ctx)(void *), enum extkey_role role)
{
	struct extkey_ctx *c;
	EVP_PKEY *pk;

	if (pub == NULL || fn == NULL)
		return NULL;
	if (pthread_once(&extkey_once, extkey_init_once) != 0 ||
	    extkey_rsa_idx < 0 || extkey_ec_idx < 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fn = fn;
	c->ctx = ctx;
	c->free_ctx = free_ctx;
	c->role = role;
	if ((pk = extkey_from_spki(pub, c)) == NULL) {
		/* The caller keeps ownership of ctx when we fail. */
		free(c);
		return NULL;
	}
	return pk;
}

EVP_PKEY *
extkey_new(const EVP_PKEY *pub, extkey_sign_fn fn, void *ctx,
    void (*free_ctx)(void *))
{
	return extkey_make(pub, fn, ctx, free_ctx, EXTKEY_ROLE_SIGN);
}

EVP_PKEY *
extkey_new_decrypter(const EVP_PKEY *pub, extkey_decrypt_fn fn, void *ctx,
    void (*free_ctx)(void *))
{
	/* RSA only: an EC key agrees on keys, it does not decrypt. */
	if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
		return NULL;
	return extkey_make(pub, fn, ctx, free_ctx, EXTKEY_ROLE_DECRYPT);
}

static int
extkey_null_sign(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *sig, size_t *siglen, size_t sigmax)
{
	(void)ctx; (void)in; (void)inlen;
	/*
	 * Any bytes of the right length will do: only the to-be-signed part of
	 * the result is used. For ECDSA, r = s = 1 keeps the encoding valid.
	 */
	memset(sig, 0, sigmax);
	if (op == EXTKEY_ECDSA && sigmax >= 2) {
		sig[sigmax / 2 - 1] = 1;
		sig[sigmax - 1] = 1;
	}
	*siglen = sigmax;
	return 0;
}

EVP_PKEY *
extkey_null_signer(const EVP_PKEY *pub)
{
	return extkey_new(pub, extkey_null_sign, NULL, NULL);
}
