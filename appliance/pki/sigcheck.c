/* sigcheck.c: signatures of DER objects, checked (see sigcheck.h). */
#include "pki/sigcheck.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pki/der.h"
#include "util/buf.h"

struct sigcheck {
	EVP_PKEY *pub;
	int key_type;			/* EVP_PKEY_RSA or EVP_PKEY_EC */
	EVP_PKEY_CTX *ctx;		/* set up for md_nid, reused */
	int md_nid;
};

int
sigcheck_new(EVP_PKEY *issuer_pub, struct sigcheck **out, err_t *err)
{
	struct sigcheck *c;
	int type;

	*out = NULL;
	if (issuer_pub == NULL)
		return err_set(err, ERR_INVALID, "sigcheck_new: no key");
	type = EVP_PKEY_get_base_id(issuer_pub);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
		return err_set(err, ERR_INVALID, "only RSA and EC issuer keys "
		    "are checked");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if (!EVP_PKEY_up_ref(issuer_pub)) {
		free(c);
		return err_set_ossl(err, ERR_CRYPTO, "cannot hold the key");
	}
	c->pub = issuer_pub;
	c->key_type = type;
	c->md_nid = NID_undef;
	*out = c;
	return 0;
}

void
sigcheck_free(struct sigcheck *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_CTX_free(c->ctx);
	EVP_PKEY_free(c->pub);
	free(c);
}

/* The context for md, made when the digest differs from the last one. */
static int
sigcheck_ctx(struct sigcheck *c, int md_nid, const EVP_MD **md, err_t *err)
{
	if ((*md = EVP_get_digestbynid(md_nid)) == NULL)
		return err_set(err, ERR_INVALID, "unknown digest");
	if (c->ctx != NULL && c->md_nid == md_nid)
		return 0;
	EVP_PKEY_CTX_free(c->ctx);
	c->md_nid = NID_undef;
	if ((c->ctx = EVP_PKEY_CTX_new(c->pub, NULL)) == NULL ||
	    EVP_PKEY_verify_init(c->ctx) <= 0 ||
	    (c->key_type == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(c->ctx, RSA_PKCS1_PADDING) <= 0) ||
	    EVP_PKEY_CTX_set_signature_md(c->ctx, *md) <= 0) {
		EVP_PKEY_CTX_free(c->ctx);
		c->ctx = NULL;
		return err_set_ossl(err, ERR_CRYPTO, "cannot set up signature "
		    "checks");
	}
	c->md_nid = md_nid;
	return 0;
}

/* The signature algorithm inside a TBSCertificate or TBSCertList. */
static int
sigcheck_inner_alg(const struct der_tlv *tbs, struct der_tlv *alg)
{
	buf_t in;

	buf_view(&in, tbs->content, tbs->content_len);
	do {
		if (der_get_tlv(&in, alg) != 0)
			return ERR_INVALID;
		/* [0] EXPLICIT version, INTEGER version, INTEGER serial. */
	} while (alg->tag == 0xa0 || alg->tag == 0x02);
	return alg->tag == DER_TAG_SEQUENCE ? 0 : ERR_INVALID;
}

/* The digest an algorithm identifier names for the checker's key. */
static int
sigcheck_md_nid(const struct sigcheck *c, const struct der_tlv *alg,
    int *md_nid)
{
	const unsigned char *p = alg->raw;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	X509_ALGOR *a;
	int ptype = V_ASN1_UNDEF, pk = NID_undef, ok;

	if ((a = d2i_X509_ALGOR(NULL, &p, (long)alg->raw_len)) == NULL)
		return ERR_INVALID;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	ok = p == alg->raw + alg->raw_len &&
	    OBJ_find_sigid_algs(OBJ_obj2nid(obj), md_nid, &pk) == 1;
	X509_ALGOR_free(a);
	if (!ok)
		return ERR_INVALID;
	/* RFC 5754: RSA names NULL parameters, ECDSA none at all. */
	if (c->key_type == EVP_PKEY_RSA)
		ok = pk == NID_rsaEncryption && ptype == V_ASN1_NULL;
	else
		ok = pk == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_UNDEF;
	ok = ok && (*md_nid == NID_sha1 || *md_nid == NID_sha256 ||
	    *md_nid == NID_sha384 || *md_nid == NID_sha512);
	return ok ? 0 : ERR_INVALID;
}

int
sigcheck_der(struct sigcheck *c, const unsigned char *der, size_t len,
    const unsigned char **tbs_out, size_t *tbs_len_out, err_t *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct der_tlv seq, tbs, alg, inner, bits;
	const EVP_MD *evp;
	buf_t b, in;
	int md_nid = NID_undef;

	if (c == NULL || der == NULL || len == 0)
		return err_set(err, ERR_INVALID, "nothing to check");
	buf_view(&b, der, len);
	if (der_get_tlv(&b, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE ||
	    buf_avail(&b) != 0)
		return err_set(err, ERR_INVALID, "not one DER SEQUENCE");
	buf_view(&in, seq.content, seq.content_len);
	if (der_get_tlv(&in, &tbs) != 0 || tbs.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &alg) != 0 || alg.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &bits) != 0 || bits.tag != 0x03 ||
	    buf_avail(&in) != 0)
		return err_set(err, ERR_INVALID, "not SEQUENCE { tbs, "
		    "algorithm, signature }");
	if (sigcheck_inner_alg(&tbs, &inner) != 0 ||
	    inner.raw_len != alg.raw_len ||
	    memcmp(inner.raw, alg.raw, alg.raw_len) != 0)
		return err_set(err, ERR_INVALID, "the signature algorithm "
		    "outside differs from the one the TBS names");
	if (sigcheck_md_nid(c, &alg, &md_nid) != 0)
		return err_set(err, ERR_INVALID, "the signature algorithm is "
		    "not one the issuer's %s key makes",
		    c->key_type == EVP_PKEY_RSA ? "RSA" : "EC");
	/* A signature is whole octets: no unused bits. */
	if (bits.content_len < 2 || bits.content[0] != 0)
		return err_set(err, ERR_INVALID, "the signature BIT STRING is "
		    "empty or has unused bits");
	if (sigcheck_ctx(c, md_nid, &evp, err) != 0)
		return ERR_CRYPTO;
	if (EVP_Digest(tbs.raw, tbs.raw_len, md, &mdlen, evp, NULL) != 1)
		return err_set_ossl(err, ERR_CRYPTO, "cannot digest the TBS");
	if (EVP_PKEY_verify(c->ctx, bits.content + 1, bits.content_len - 1,
	    md, mdlen) != 1) {
		ERR_clear_error();
		return err_set(err, ERR_CRYPTO, "the signature does not verify "
		    "under the issuer's key");
	}
	if (tbs_out != NULL)
		*tbs_out = tbs.raw;
	if (tbs_len_out != NULL)
		*tbs_len_out = tbs.raw_len;
	return 0;
}
