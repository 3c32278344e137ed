/* line.c: preparing and signing one line (see line.h). */
#include "signer/line.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ingest/mac.h"
#include "pki/der.h"
#include "pki/pkisign.h"
#include "pki/vault.h"
#include "ingest/bundle.h"
#include "policy/profile.h"
#include "signer/legacy.h"
#include "signer/request.h"

/* Caps on what one line's buffers may hold. */
#define SIGNER_TBS_MAX (1024u * 1024)
#define SIGNER_CERT_MAX (SIGNER_TBS_MAX + 4096)
#define SIGNER_KEY_ENC_MAX (VAULT_DATA_MAX + 64)
/* Longest note kept: the overrides of one subject, well within this. */
#define SIGNER_NOTE_MAX 4096

void
signer_slot_init(struct signer_slot *s, int64_t line)
{
	memset(s, 0, sizeof(*s));
	s->line = line;
	buf_init(&s->tbs, SIGNER_TBS_MAX);
	buf_init(&s->key_enc, SIGNER_KEY_ENC_MAX);
	buf_init(&s->cert, SIGNER_CERT_MAX);
	err_clear(&s->err);
}

void
signer_slot_free(struct signer_slot *s)
{
	free(s->mac);
	free(s->req);
	free(s->fields);
	X509_free(s->x);
	buf_free(&s->tbs);
	buf_free(&s->key_enc);
	buf_free(&s->cert);
	free(s->note);
	memset(s, 0, sizeof(*s));
}

/*
 * Which failures refuse the line rather than stop the run: the request
 * or the profile's verdict on it (ERR_POLICY, ERR_INVALID). Anything else
 * (memory, OpenSSL, the HSM) says nothing about the line.
 */
static int
signer_line_result(struct signer_slot *s, int rc, int line_may_fail)
{
	if (rc == 0)
		return 0;
	s->rc = rc;
	s->state = line_may_fail && (rc == ERR_POLICY || rc == ERR_INVALID) ?
	    SIGNER_SLOT_FAILED : SIGNER_SLOT_FATAL;
	return rc;
}

/* "OU: requested 'Foo' -> 'DOCSIS'; CN: ..." or NULL when none. */
static int
signer_note(const struct profile_overrides *ov, char **out, err_t *err)
{
	char *note;
	size_t used = 0, i;

	*out = NULL;
	if (ov->n == 0)
		return 0;
	if ((note = malloc(SIGNER_NOTE_MAX)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	note[0] = '\0';
	for (i = 0; i < ov->n; i++) {
		int w;

		if (i > 0 && used + 2 < SIGNER_NOTE_MAX) {
			memcpy(note + used, "; ", 3);
			used += 2;
		}
		w = profile_override_format(&ov->v[i], note + used,
		    SIGNER_NOTE_MAX - used);
		/* A note cut short still says what changed first. */
		if (w < 0 || (size_t)w >= SIGNER_NOTE_MAX - used)
			break;
		used += (size_t)w;
	}
	*out = note;
	return 0;
}

/*
 * Makes the device key the profile generates, stores its PKCS#8 at once
 * encrypted with the batch's data key (bound to batch and line), and
 * returns its public half as a legacy key for the certificate.
 */
static int
signer_keygen(struct signer_ctx *c, struct signer_slot *s, EVP_PKEY **pub,
    err_t *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *k = NULL;
	unsigned char *w;
	char aad[64];
	size_t aadlen;
	buf_t der;
	int len, r;

	*pub = NULL;
	if (c->o->data_key == NULL)
		return err_set(err, ERR_INTERNAL, "line %lld needs a generated "
		    "key and no data key was given to store it",
		    (long long)s->line);
	switch (c->p->generate) {
	case PROFILE_KEY_RSA1024:
	case PROFILE_KEY_RSA2048:
	case PROFILE_KEY_RSA3072:
	case PROFILE_KEY_RSA4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(
		    c->p->generate == PROFILE_KEY_RSA1024 ? 1024 :
		    c->p->generate == PROFILE_KEY_RSA2048 ? 2048 :
		    c->p->generate == PROFILE_KEY_RSA3072 ? 3072 : 4096));
		break;
	case PROFILE_KEY_EC_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case PROFILE_KEY_EC_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	default:
		return err_set(err, ERR_INTERNAL, "profile %s: unknown key "
		    "type to generate", c->p->name);
	}
	if (k == NULL)
		return err_set_ossl(err, ERR_CRYPTO, "cannot generate a %s key",
		    profile_key_name(c->p->generate));
	buf_init(&der, VAULT_DATA_MAX);
	buf_set_secret(&der);
	if ((p8 = EVP_PKEY2PKCS8(k)) == NULL ||
	    (len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot encode a generated "
		    "key as PKCS#8");
		goto out;
	}
	if ((r = buf_reserve(&der, (size_t)len, &w)) != 0) {
		r = err_set(err, r, "a generated key's PKCS#8 is too large");
		goto out;
	}
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &w) != len) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot encode a generated "
		    "key as PKCS#8");
		goto out;
	}
	if ((aadlen = signer_key_aad(c->o->batch_id, s->line, aad,
	    sizeof(aad))) == 0) {
		r = err_set(err, ERR_INTERNAL, "the key's associated data "
		    "does not fit");
		goto out;
	}
	buf_reset(&s->key_enc);
	if ((r = vault_encrypt(c->o->data_key, aad, aadlen, der.data, der.len,
	    &s->key_enc, err)) != 0)
		goto out;
	r = signer_legacy_pub_of(k, pub, err);
out:
	/* PKCS8_PRIV_KEY_INFO_free cleanses the key octets it holds. */
	PKCS8_PRIV_KEY_INFO_free(p8);
	buf_free(&der);
	EVP_PKEY_free(k);
	return r;
}

/* The certificate around spec, without serial or signature yet. */
static int
signer_line_x509(struct signer_ctx *c, const struct certspec *spec,
    EVP_PKEY *pub, X509 **out, err_t *err)
{
	X509_NAME *subj = NULL;
	ASN1_TIME *nb = NULL, *na = NULL;
	X509 *x;
	int r;

	*out = NULL;
	if ((x = X509_new()) == NULL)
		return err_set_ossl(err, ERR_NOMEM, "out of memory");
	if (!X509_set_version(x, X509_VERSION_3)) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot set version 3");
		goto out;
	}
	if ((r = certbuild_name(&spec->subject, &subj, err)) != 0 ||
	    (r = certbuild_time(spec->not_before, &nb, err)) != 0 ||
	    (r = certbuild_time(spec->not_after, &na, err)) != 0)
		goto out;
	/* pub is a legacy key: encoded by its ASN.1 method (legacy.h). */
	if (!X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(c->issuer)) ||
	    !X509_set1_notBefore(x, nb) || !X509_set1_notAfter(x, na) ||
	    !X509_set_pubkey(x, pub)) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot fill in the "
		    "certificate");
		goto out;
	}
	if ((r = certbuild_add_ext(x, &spec->ext, c->issuer, err)) != 0)
		goto out;
	*out = x;
	x = NULL;
out:
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	return r;
}

int
signer_line_finish(struct signer_ctx *c, struct signer_slot *s,
    unsigned worker, err_t *err)
{
	unsigned char *der = NULL;
	diag_t d;
	int len, r;

	if (s->x == NULL || worker >= c->n_null)
		return err_set(err, ERR_INTERNAL, "signer_line_finish: no "
		    "certificate or signer");
	if (!ASN1_STRING_set(X509_get_serialNumber(s->x), s->serial,
	    (int)sizeof(s->serial)))
		return err_set_ossl(err, ERR_NOMEM, "cannot set the serial");
	buf_hex(s->serial, sizeof(s->serial), s->serial_hex,
	    sizeof(s->serial_hex));
	/*
	 * The null signer fills in both signature AlgorithmIdentifiers
	 * exactly as the CA key's type and the profile's digest ask, and a
	 * dummy signature that is never used: only the TBS is kept.
	 */
	if (X509_sign(s->x, c->null_signers[worker], c->md) <= 0)
		return err_set_ossl(err, ERR_CRYPTO, "cannot encode the TBS");
	if ((len = i2d_re_X509_tbs(s->x, &der)) <= 0)
		return err_set_ossl(err, ERR_CRYPTO, "cannot encode the TBS");
	buf_reset(&s->tbs);
	r = buf_put(&s->tbs, der, (size_t)len);
	OPENSSL_free(der);
	if (r != 0)
		return err_set(err, r, "the TBS is larger than %u bytes",
		    SIGNER_TBS_MAX);
	diag_init(&d);
	if (lint_cert(s->x, c->issuer, &c->lint, &d) != 0) {
		if (d.n == 0)
			r = err_set(err, ERR_NOMEM, "out of memory while "
			    "linting");
		else {
			char first[ERR_MSG_MAX - 64];

			diag_format(&d, 0, first, sizeof(first));
			r = err_set(err, ERR_POLICY, "lint: %s%s", first,
			    diag_count(&d) > 1 ? " (and more)" : "");
		}
	}
	diag_free(&d);
	return r;
}

/* The request part of preparing: everything the line itself decides. */
static int
signer_line_request(struct signer_ctx *c, struct signer_slot *s,
    EVP_PKEY **pub, struct certspec *spec, struct profile_overrides *ov,
    err_t *err)
{
	struct profile_request req;
	struct bundle_fields fields = { 0 };
	struct signer_csr csr = { 0 };
	int r;

	memset(&req, 0, sizeof(req));
	if (s->mac != NULL) {
		if ((r = mac_parse(s->mac, req.mac, err)) != 0)
			return err_prefix(err, "line %lld: stored MAC",
			    (long long)s->line);
		req.has_mac = 1;
	}
	if (s->req != NULL) {
		if ((r = signer_request_parse(s->req, s->req_len, &csr,
		    err)) != 0 ||
		    (r = signer_legacy_pub(csr.spki, csr.spki_len, pub,
		    err)) != 0 ||
		    (r = profile_check_key(c->p, *pub, 1, err)) != 0)
			goto out;
		req.subject = csr.subject;
		if (csr.san.n > 0)
			req.san = &csr.san;
	} else if (s->fields != NULL) {
		/* The parser the intake's dry run used: the same text is
		 * read the same way at signing. */
		if ((r = bundle_fields_parse(s->fields, &fields, err)) != 0)
			goto out;
		req.fields = &fields.subject;
		if (fields.san.n > 0)
			req.san = &fields.san;
	}
	r = profile_certspec(c->p, &req, c->o->now, c->issuer_not_after, spec,
	    ov, err);
out:
	bundle_fields_free(&fields);
	signer_request_free(&csr);
	return r;
}

void
signer_line_prepare(void *group, size_t item, unsigned worker)
{
	struct signer_group *g = group;
	struct signer_ctx *c = g->c;
	struct signer_slot *s = &g->v[item];
	struct profile_overrides ov = { 0 };
	struct certspec spec;
	EVP_PKEY *pub = NULL;
	int r;

	memset(&spec, 0, sizeof(spec));
	/* The request and the profile first: a refusal costs no keygen. */
	if (signer_line_result(s, signer_line_request(c, s, &pub, &spec, &ov,
	    &s->err), 1) != 0)
		goto out;
	if (pub == NULL) {
		if (signer_line_result(s, signer_keygen(c, s, &pub, &s->err),
		    0) != 0)
			goto out;
		if (signer_line_result(s, profile_check_key(c->p, pub, 0,
		    &s->err), 1) != 0)
			goto out;
	}
	if (signer_line_result(s, signer_line_x509(c, &spec, pub, &s->x,
	    &s->err), 0) != 0 ||
	    signer_line_result(s, signer_note(&ov, &s->note, &s->err), 0) != 0)
		goto out;
	r = signer_line_finish(c, s, worker, &s->err);
	signer_line_result(s, r, r == ERR_POLICY);
out:
	/* The request is no longer needed once the TBS exists. */
	free(s->req);
	s->req = NULL;
	certspec_free(&spec);
	profile_overrides_free(&ov);
	EVP_PKEY_free(pub);
	ERR_clear_error();
}

/* DER DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
static const unsigned char signer_di_sha1[] = {
	0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a,
	0x05, 0x00, 0x04, 0x14
};
static const unsigned char signer_di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};
static const unsigned char signer_di_sha384[] = {
	0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30
};
static const unsigned char signer_di_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40
};

/*
 * The digest a TBS's signature AlgorithmIdentifier names, checked against
 * the CA key's type and the profile (SHA-1 only in a legacy profile).
 */
static int
signer_tbs_md(struct signer_ctx *c, const unsigned char *tbs, size_t len,
    const EVP_MD **md, err_t *err)
{
	struct der_tlv seq, el;
	const unsigned char *p;
	const ASN1_OBJECT *obj = NULL;
	X509_ALGOR *alg;
	buf_t b, in;
	int mdnid = NID_undef, pknid = NID_undef, ptype = V_ASN1_UNDEF;
	int want;

	buf_view(&b, tbs, len);
	if (der_get_tlv(&b, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE ||
	    buf_avail(&b) != 0)
		return err_set(err, ERR_INVALID, "the TBS is not DER");
	buf_view(&in, seq.content, seq.content_len);
	if (der_get_tlv(&in, &el) != 0 ||
	    (el.tag == 0xa0 && der_get_tlv(&in, &el) != 0) || el.tag != 0x02 ||
	    der_get_tlv(&in, &el) != 0 || el.tag != DER_TAG_SEQUENCE)
		return err_set(err, ERR_INVALID, "the TBS has no signature "
		    "algorithm");
	p = el.raw;
	if ((alg = d2i_X509_ALGOR(NULL, &p, (long)el.raw_len)) == NULL)
		return err_set_ossl(err, ERR_INVALID, "the TBS's signature "
		    "algorithm does not decode");
	X509_ALGOR_get0(&obj, &ptype, NULL, alg);
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(obj), &mdnid, &pknid))
		mdnid = pknid = NID_undef;
	X509_ALGOR_free(alg);
	want = c->ca_type == EVP_PKEY_RSA ? NID_rsaEncryption :
	    NID_X9_62_id_ecPublicKey;
	/* RSA names its NULL parameters; ECDSA has none (RFC 5758 3.2). */
	if (pknid != want || (want == NID_rsaEncryption &&
	    ptype != V_ASN1_NULL) || (want != NID_rsaEncryption &&
	    ptype != V_ASN1_UNDEF))
		return err_set(err, ERR_INVALID, "the TBS's signature "
		    "algorithm does not match the CA's %s key",
		    c->ca_type == EVP_PKEY_RSA ? "RSA" : "EC");
	if (mdnid == NID_sha1 && !c->p->legacy)
		return err_set(err, ERR_POLICY, "the TBS asks for SHA-1 and "
		    "profile %s is not legacy", c->p->name);
	if (mdnid != NID_sha1 && mdnid != NID_sha256 && mdnid != NID_sha384 &&
	    mdnid != NID_sha512)
		return err_set(err, ERR_INVALID, "the TBS's signature digest "
		    "is not SHA-1, SHA-256, SHA-384 or SHA-512");
	*md = EVP_get_digestbynid(mdnid);
	return *md != NULL ? 0 : err_set(err, ERR_CRYPTO, "no %s digest",
	    OBJ_nid2sn(mdnid));
}

/* The DigestInfo prefix for md (CKM_RSA_PKCS signs a DigestInfo). */
static int
signer_digest_info(const EVP_MD *md, const unsigned char **di,
    size_t *di_len)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha1:
		*di = signer_di_sha1;
		*di_len = sizeof(signer_di_sha1);
		return 0;
	case NID_sha256:
		*di = signer_di_sha256;
		*di_len = sizeof(signer_di_sha256);
		return 0;
	case NID_sha384:
		*di = signer_di_sha384;
		*di_len = sizeof(signer_di_sha384);
		return 0;
	case NID_sha512:
		*di = signer_di_sha512;
		*di_len = sizeof(signer_di_sha512);
		return 0;
	default:
		return ERR_INVALID;
	}
}

/* r||s (each half the size of the group order) to DER Ecdsa-Sig-Value. */
static int
signer_ecdsa_der(const unsigned char *rs, size_t rslen, unsigned char *out,
    size_t outsz, size_t *outlen, err_t *err)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = out;
	int len, ret = 0;

	if (rslen == 0 || rslen % 2 != 0 || rslen > 2 * 66)
		return err_set(err, ERR_HSM, "the HSM returned an ECDSA "
		    "signature of %zu bytes", rslen);
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(rs, (int)(rslen / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(rs + rslen / 2, (int)(rslen / 2), NULL)) == NULL ||
	    !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return err_set_ossl(err, ERR_NOMEM, "out of memory");
	}
	/* es owns r and s now. */
	len = i2d_ECDSA_SIG(es, NULL);
	if (len <= 0 || (size_t)len > outsz || i2d_ECDSA_SIG(es, &p) != len)
		ret = err_set_ossl(err, ERR_CRYPTO, "cannot encode an ECDSA "
		    "signature");
	else
		*outlen = (size_t)len;
	ECDSA_SIG_free(es);
	return ret;
}

int
signer_sign_tbs(struct hsm_key *key, int key_type, const EVP_MD *md,
    const unsigned char *tbs, size_t tbs_len, unsigned char *sig,
    size_t sigmax, size_t *siglen, err_t *err)
{
	unsigned char in[64 + EVP_MAX_MD_SIZE], raw[SIGNER_SIG_MAX];
	const unsigned char *di = NULL;
	unsigned int dlen = 0;
	size_t di_len = 0, rawlen = 0, off;
	int r;

	if (key_type != EVP_PKEY_RSA && key_type != EVP_PKEY_EC)
		return err_set(err, ERR_INVALID, "a CA key is RSA or EC");
	if (md == NULL || signer_digest_info(md, &di, &di_len) != 0)
		return err_set(err, ERR_INVALID, "the digest is not SHA-1, "
		    "SHA-256, SHA-384 or SHA-512");
	/* RSA signs a DigestInfo (CKM_RSA_PKCS); ECDSA the bare digest. */
	off = key_type == EVP_PKEY_RSA ? di_len : 0;
	if (off > 0)
		memcpy(in, di, di_len);
	if (!EVP_Digest(tbs, tbs_len, in + off, &dlen, md, NULL))
		return err_set_ossl(err, ERR_CRYPTO, "cannot hash the TBS");
	if ((r = hsm_sign_raw(key, key_type == EVP_PKEY_RSA ?
	    EXTKEY_RSA_PKCS1 : EXTKEY_ECDSA, in, off + dlen, raw, &rawlen,
	    sizeof(raw), err)) != 0)
		return r;
	if (key_type == EVP_PKEY_EC)
		return signer_ecdsa_der(raw, rawlen, sig, sigmax, siglen, err);
	if (rawlen > sigmax)
		return err_set(err, ERR_LIMIT, "an RSA signature of %zu bytes "
		    "does not fit", rawlen);
	memcpy(sig, raw, rawlen);
	*siglen = rawlen;
	return 0;
}

int
signer_line_sign_tbs(struct signer_ctx *c, const unsigned char *tbs,
    size_t tbs_len, buf_t *out, err_t *err)
{
	unsigned char sig[SIGNER_SIG_MAX + 16];
	const EVP_MD *md = NULL;
	size_t siglen = 0;
	int r;

	if ((r = signer_tbs_md(c, tbs, tbs_len, &md, err)) != 0 ||
	    (r = signer_sign_tbs(c->o->issuer_key, c->ca_type, md, tbs,
	    tbs_len, sig, sizeof(sig), &siglen, err)) != 0)
		return r;
	buf_reset(out);
	return pkisign_assemble(tbs, tbs_len, sig, siglen, out, err);
}

void
signer_line_sign(void *group, size_t item, unsigned worker)
{
	struct signer_group *g = group;
	struct signer_slot *s = &g->v[item];

	(void)worker;
	if (s->state != SIGNER_SLOT_OK)
		return;
	signer_line_result(s, signer_line_sign_tbs(g->c, s->tbs.data,
	    s->tbs.len, &s->cert, &s->err), 0);
	ERR_clear_error();
}
