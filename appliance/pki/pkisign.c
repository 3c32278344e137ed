/* pkisign.c: lint, sign, compare, verify (see pkisign.h). */
#include "pki/pkisign.h"

#include <openssl/objects.h>
#include <string.h>

#include "pki/der.h"
#include "pki/extkey.h"

const EVP_MD *
pkisign_md_for_key(const EVP_PKEY *pub, const char *name)
{
	char group[80];
	size_t glen = 0;

	if (name != NULL) {
		if (strcmp(name, "sha256") == 0)
			return EVP_sha256();
		if (strcmp(name, "sha384") == 0)
			return EVP_sha384();
		if (strcmp(name, "sha512") == 0)
			return EVP_sha512();
		return NULL;
	}
	/* Match the digest to the curve's strength (NIST SP 800-57). */
	if (pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC &&
	    EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) &&
	    OBJ_txt2nid(group) == NID_secp384r1)
		return EVP_sha384();
	return EVP_sha256();
}

/* Cuts the first element out of an encoding made by OpenSSL. */
static int
pkisign_tbs_of(unsigned char *der, int len, buf_t *out, err_t *err)
{
	int rc;

	if (len <= 0) {
		OPENSSL_free(der);
		return err_set_ossl(err, ERR_CRYPTO,
		    "cannot encode the signed object");
	}
	rc = der_first_in_seq(der, (size_t)len, out, err);
	OPENSSL_free(der);
	return rc;
}

int
pkisign_cert_tbs(X509 *cert, buf_t *out, err_t *err)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);

	return pkisign_tbs_of(der, len, out, err);
}

int
pkisign_crl_tbs(X509_CRL *crl, buf_t *out, err_t *err)
{
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(crl, &der);

	return pkisign_tbs_of(der, len, out, err);
}

int
pkisign_tbs_compare(const buf_t *expected, const buf_t *signed_tbs,
    err_t *err)
{
	size_t i, n;

	n = expected->len < signed_tbs->len ? expected->len : signed_tbs->len;
	for (i = 0; i < n; i++)
		if (expected->data[i] != signed_tbs->data[i])
			break;
	if (i == n && expected->len == signed_tbs->len)
		return 0;
	return err_set(err, ERR_INTERNAL,
	    "the signed to-be-signed bytes differ from the linted ones at "
	    "offset %zu (linted %zu bytes, signed %zu); the signature was "
	    "discarded", i, expected->len, signed_tbs->len);
}

int
pkisign_cert_expect(X509 *cert, EVP_PKEY *signer, const EVP_MD *md,
    X509 *issuer, const buf_t *expected_tbs, err_t *err)
{
	buf_t tbs;
	int rc;

	if (cert == NULL || signer == NULL || md == NULL ||
	    expected_tbs == NULL)
		return err_set(err, ERR_INVALID,
		    "pkisign_cert_expect: missing argument");
	if (X509_sign(cert, signer, md) <= 0)
		return err_set_ossl(err, ERR_CRYPTO,
		    "signing the certificate failed");
	buf_init(&tbs, PKISIGN_TBS_MAX);
	rc = pkisign_cert_tbs(cert, &tbs, err);
	if (rc == 0)
		rc = pkisign_tbs_compare(expected_tbs, &tbs, err);
	buf_free(&tbs);
	if (rc != 0)
		return rc;
	if (X509_verify(cert, X509_get0_pubkey(issuer != NULL ? issuer :
	    cert)) != 1)
		return err_set_ossl(err, ERR_CRYPTO,
		    "the new certificate's signature does not verify under "
		    "the issuer's public key; the signing key does not "
		    "belong to the issuer certificate");
	return 0;
}

/*
 * OpenSSL cannot copy a certificate or CRL that has never been signed (its
 * empty algorithm identifier does not encode), so the null signature is
 * applied to the object itself; the real signature then replaces it.
 */
int
pkisign_cert(X509 *cert, EVP_PKEY *signer, const EVP_MD *md, X509 *issuer,
    const struct lint_opts *opts, diag_t *lint, err_t *err)
{
	diag_t local = { NULL, 0, 0, 0 };
	diag_t *findings = lint != NULL ? lint : &local;
	EVP_PKEY *null_signer = NULL;
	buf_t tbs;
	int rc, n;

	if (cert == NULL || signer == NULL || md == NULL)
		return err_set(err, ERR_INVALID,
		    "pkisign_cert needs a certificate, a signer and a digest");
	buf_init(&tbs, PKISIGN_TBS_MAX);
	null_signer = extkey_null_signer(X509_get0_pubkey(issuer != NULL ?
	    issuer : cert));
	if (null_signer == NULL) {
		rc = err_set_ossl(err, ERR_CRYPTO,
		    "cannot make the null signer for linting");
		goto out;
	}
	if (X509_sign(cert, null_signer, md) <= 0) {
		rc = err_set_ossl(err, ERR_CRYPTO,
		    "null-signing the certificate for linting failed");
		goto out;
	}
	if ((rc = pkisign_cert_tbs(cert, &tbs, err)) != 0)
		goto out;
	n = lint_cert(cert, issuer, opts, findings);
	if (n != 0) {
		rc = n < 0 ? err_set(err, ERR_INTERNAL, "lint failed") :
		    diag_to_err(findings, err, ERR_POLICY);
		goto out;
	}
	rc = pkisign_cert_expect(cert, signer, md, issuer, &tbs, err);
out:
	buf_free(&tbs);
	EVP_PKEY_free(null_signer);
	diag_free(&local);
	return rc;
}

int
pkisign_crl(X509_CRL *crl, EVP_PKEY *signer, const EVP_MD *md, X509 *issuer,
    diag_t *lint, err_t *err)
{
	diag_t local = { NULL, 0, 0, 0 };
	diag_t *findings = lint != NULL ? lint : &local;
	struct lint_crl_want want;
	EVP_PKEY *null_signer = NULL;
	buf_t tbs, tbs2;
	int rc, n;

	if (crl == NULL || signer == NULL || md == NULL || issuer == NULL)
		return err_set(err, ERR_INVALID,
		    "pkisign_crl needs a CRL, a signer, a digest and the "
		    "issuer certificate");
	buf_init(&tbs, PKISIGN_TBS_MAX);
	buf_init(&tbs2, PKISIGN_TBS_MAX);
	null_signer = extkey_null_signer(X509_get0_pubkey(issuer));
	if (null_signer == NULL) {
		rc = err_set_ossl(err, ERR_CRYPTO,
		    "cannot make the null signer for linting");
		goto out;
	}
	if (X509_CRL_sign(crl, null_signer, md) <= 0) {
		rc = err_set_ossl(err, ERR_CRYPTO,
		    "null-signing the CRL for linting failed");
		goto out;
	}
	if ((rc = pkisign_crl_tbs(crl, &tbs, err)) != 0)
		goto out;
	/*
	 * The bytes to be signed, as the appliance's CRLs are linted
	 * (signer/crl.c). A ceremony's script names its own issuing
	 * distribution point, so any well-formed one passes here.
	 */
	memset(&want, 0, sizeof(want));
	want.issuer = issuer;
	want.md = md;
	want.idp_any = 1;
	n = lint_crl_tbs(tbs.data, tbs.len, &want, findings);
	if (n != 0) {
		rc = n < 0 ? err_set(err, ERR_INTERNAL, "lint failed") :
		    diag_to_err(findings, err, ERR_POLICY);
		goto out;
	}
	if (X509_CRL_sign(crl, signer, md) <= 0) {
		rc = err_set_ossl(err, ERR_CRYPTO, "signing the CRL failed");
		goto out;
	}
	if ((rc = pkisign_crl_tbs(crl, &tbs2, err)) != 0 ||
	    (rc = pkisign_tbs_compare(&tbs, &tbs2, err)) != 0)
		goto out;
	if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		rc = err_set_ossl(err, ERR_CRYPTO,
		    "the new CRL's signature does not verify under the "
		    "issuer's public key; the signing key does not belong to "
		    "the issuer certificate");
out:
	buf_free(&tbs);
	buf_free(&tbs2);
	EVP_PKEY_free(null_signer);
	diag_free(&local);
	return rc;
}

int
pkisign_blob(EVP_PKEY *signer, const EVP_MD *md, const void *data,
    size_t len, unsigned char **sig, size_t *siglen, err_t *err)
{
	EVP_MD_CTX *ctx;
	unsigned char *s = NULL;
	size_t slen = 0;
	int rc = 0;

	if (signer == NULL || sig == NULL || siglen == NULL ||
	    (data == NULL && len > 0))
		return err_set(err, ERR_INVALID,
		    "pkisign_blob: missing argument");
	*sig = NULL;
	*siglen = 0;
	if (md == NULL)
		md = pkisign_md_for_key(signer, NULL);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return err_set_ossl(err, ERR_NOMEM, "cannot allocate a digest");
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, signer) != 1 ||
	    EVP_DigestSign(ctx, NULL, &slen, data, len) != 1 ||
	    (s = OPENSSL_malloc(slen)) == NULL ||
	    EVP_DigestSign(ctx, s, &slen, data, len) != 1) {
		rc = err_set_ossl(err, ERR_CRYPTO, "signing %zu bytes failed",
		    len);
		OPENSSL_free(s);
		s = NULL;
	}
	EVP_MD_CTX_free(ctx);
	if (rc == 0) {
		*sig = s;
		*siglen = slen;
	}
	return rc;
}

/*
 * The signature AlgorithmIdentifier inside a TBSCertificate or a
 * TBSCertList, after checking the shape around it. Certificate: SEQUENCE
 * { [0] version OPTIONAL, serial INTEGER, signature, issuer, validity,
 * subject, subjectPublicKeyInfo (SEQUENCEs), ... }. CRL: SEQUENCE {
 * version INTEGER, signature, issuer (SEQUENCEs), thisUpdate Time, ... }.
 * der_tbs_head reads the CRL's version where a certificate has its serial.
 */
static int
pkisign_tbs_algid(const unsigned char *tbs, size_t len, struct der_tlv *algid)
{
	struct der_tlv first, el;
	buf_t in;
	int i;

	if (der_tbs_head(tbs, len, &first, algid, &in) != 0 ||
	    algid->content_len < 2 || algid->content[0] != 0x06)
		return ERR_INVALID;
	if (der_get_tlv(&in, &el) != 0 || el.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &el) != 0)
		return ERR_INVALID;
	/* UTCTime or GeneralizedTime: a CRL's thisUpdate, after v2 (1). */
	if (el.tag == 0x17 || el.tag == 0x18)
		return first.content_len == 1 && first.content[0] == 1 ?
		    0 : ERR_INVALID;
	if (el.tag != DER_TAG_SEQUENCE)
		return ERR_INVALID;
	for (i = 0; i < 2; i++)
		if (der_get_tlv(&in, &el) != 0 || el.tag != DER_TAG_SEQUENCE)
			return ERR_INVALID;
	return 0;
}

int
pkisign_assemble(const unsigned char *tbs, size_t tbs_len,
    const unsigned char *sig, size_t sig_len, buf_t *out, err_t *err)
{
	struct der_tlv algid;

	if (out == NULL)
		return err_set(err, ERR_INVALID, "pkisign_assemble: no output");
	if (pkisign_tbs_algid(tbs, tbs_len, &algid) != 0)
		return err_set(err, ERR_INVALID, "not a DER TBSCertificate or "
		    "TBSCertList");
	if (sig == NULL || sig_len == 0 || sig_len > 64 * 1024)
		return err_set(err, ERR_INVALID, "a signature of %zu bytes "
		    "cannot be right", sig_len);
	/* The unused-bits octet makes the BIT STRING one longer. */
	der_put_hdr(out, DER_TAG_SEQUENCE, tbs_len + algid.raw_len +
	    der_hdr_len(sig_len + 1) + sig_len + 1);
	buf_put(out, tbs, tbs_len);
	buf_put(out, algid.raw, algid.raw_len);
	der_put_hdr(out, 0x03, sig_len + 1);
	buf_put_u8(out, 0);
	buf_put(out, sig, sig_len);
	if (!buf_ok(out))
		return err_set(err, out->len + 16 > out->max ? ERR_LIMIT :
		    ERR_NOMEM, "the signed object does not fit its buffer");
	return 0;
}
