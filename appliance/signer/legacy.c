/*
 * legacy.c: legacy public keys (see legacy.h). d2i_RSA_PUBKEY and
 * d2i_EC_PUBKEY are deprecated in OpenSSL 3 but are the only calls that
 * decode without an OSSL_DECODER context; they are used here only.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "signer/legacy.h"

#include <limits.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

/* The key algorithm of a DER SubjectPublicKeyInfo, without decoding it. */
static int
signer_legacy_alg(const unsigned char *spki, size_t len)
{
	const unsigned char *q = spki;
	const ASN1_OBJECT *obj = NULL;
	X509_ALGOR *alg;
	long l;
	int tag, cls, nid;

	if ((ASN1_get_object(&q, &l, &tag, &cls, (long)len) & 0x80) ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL)
		return NID_undef;
	if ((alg = d2i_X509_ALGOR(NULL, &q, l)) == NULL)
		return NID_undef;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	nid = OBJ_obj2nid(obj);
	X509_ALGOR_free(alg);
	return nid;
}

int
signer_legacy_pub(const unsigned char *spki, size_t len, EVP_PKEY **out,
    err_t *err)
{
	const unsigned char *p = spki;
	EVP_PKEY *pk;
	RSA *rsa;
	EC_KEY *ec;
	int nid, ok;

	*out = NULL;
	if (spki == NULL || len == 0 || len > INT_MAX)
		return err_set(err, ERR_INVALID, "no public key");
	nid = signer_legacy_alg(spki, len);
	if (nid != NID_rsaEncryption && nid != NID_X9_62_id_ecPublicKey) {
		ERR_clear_error();
		return err_set(err, ERR_INVALID, "the public key is %s; only "
		    "RSA and EC keys are certified",
		    nid != NID_undef ? OBJ_nid2sn(nid) : "of an unknown type");
	}
	if ((pk = EVP_PKEY_new()) == NULL)
		return err_set_ossl(err, ERR_NOMEM, "out of memory");
	if (nid == NID_rsaEncryption) {
		rsa = d2i_RSA_PUBKEY(NULL, &p, (long)len);
		ok = rsa != NULL && EVP_PKEY_assign_RSA(pk, rsa);
		if (!ok)
			RSA_free(rsa);
	} else {
		ec = d2i_EC_PUBKEY(NULL, &p, (long)len);
		ok = ec != NULL && EVP_PKEY_assign_EC_KEY(pk, ec);
		if (!ok)
			EC_KEY_free(ec);
	}
	if (!ok || p != spki + len) {
		EVP_PKEY_free(pk);
		return err_set_ossl(err, ERR_INVALID, "the public key does not "
		    "decode");
	}
	*out = pk;
	return 0;
}

int
signer_legacy_pub_of(const EVP_PKEY *key, EVP_PKEY **out, err_t *err)
{
	unsigned char *der = NULL;
	int len, r;

	*out = NULL;
	if (key == NULL || (len = i2d_PUBKEY(key, &der)) <= 0)
		return err_set_ossl(err, ERR_CRYPTO, "cannot encode a public "
		    "key");
	r = signer_legacy_pub(der, (size_t)len, out, err);
	OPENSSL_free(der);
	return r;
}

int
signer_legacy_pub_x(const X509_PUBKEY *xpk, EVP_PKEY **out, err_t *err)
{
	unsigned char *der = NULL;
	int len, r;

	*out = NULL;
	if (xpk == NULL || (len = i2d_X509_PUBKEY(xpk, &der)) <= 0)
		return err_set_ossl(err, ERR_INVALID, "cannot encode the "
		    "request's public key");
	r = signer_legacy_pub(der, (size_t)len, out, err);
	OPENSSL_free(der);
	return r;
}
