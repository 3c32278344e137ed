/* request.c: a queued line's request, rebuilt (see request.h). */
#include "signer/request.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ingest/csr.h"
#include "pki/der.h"
#include "policy/profile.h"

/* Appends one name; value (len bytes, no NUL inside) is copied. */
static int
signer_gn_push(struct certspec_gnlist *l, enum certspec_gn_type type,
    const char *value, size_t len)
{
	struct certspec_gn *v;

	if (l->n >= PROFILE_MAX_SANS)
		return ERR_LIMIT;
	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL)
		return ERR_NOMEM;
	l->v = v;
	memset(&v[l->n], 0, sizeof(v[l->n]));
	v[l->n].type = type;
	if (value != NULL && (v[l->n].value = strndup(value, len)) == NULL)
		return ERR_NOMEM;
	l->n++;
	return 0;
}

/* One GENERAL_NAME of a request's SANs onto l. */
static int
signer_csr_gn(const GENERAL_NAME *gn, struct certspec_gnlist *l, err_t *err)
{
	const ASN1_STRING *s;
	enum certspec_gn_type type;
	int gtype, r;
	void *val = GENERAL_NAME_get0_value(gn, &gtype);

	switch (gtype) {
	case GEN_DNS:
		type = CERTSPEC_GN_DNS;
		break;
	case GEN_EMAIL:
		type = CERTSPEC_GN_EMAIL;
		break;
	case GEN_URI:
		type = CERTSPEC_GN_URI;
		break;
	case GEN_IPADD:
		s = val;
		if (s->length != 4 && s->length != 16)
			return err_set(err, ERR_INVALID, "the request asks "
			    "for an IP address of %d octets", s->length);
		if ((r = signer_gn_push(l, CERTSPEC_GN_IP, NULL, 0)) != 0)
			return err_set(err, r, r == ERR_LIMIT ? "the request "
			    "asks for too many subjectAltNames" :
			    "out of memory");
		memcpy(l->v[l->n - 1].ip, s->data, (size_t)s->length);
		l->v[l->n - 1].ip_len = (size_t)s->length;
		return 0;
	default:
		return err_set(err, ERR_INVALID, "the request asks for a "
		    "subjectAltName of a type the appliance does not issue "
		    "(only DNS, email, URI and IP)");
	}
	s = val;
	if (s->length <= 0 || (unsigned)s->length > CSR_SAN_VALUE_MAX ||
	    memchr(s->data, '\0', (size_t)s->length) != NULL)
		return err_set(err, ERR_INVALID, "the request asks for an "
		    "empty, over-long or NUL-holding subjectAltName");
	if ((r = signer_gn_push(l, type, (const char *)s->data,
	    (size_t)s->length)) != 0)
		return err_set(err, r, r == ERR_LIMIT ? "the request asks for "
		    "too many subjectAltNames" : "out of memory");
	return 0;
}

/* The subjectAltName of an extensionRequest's extensions onto san. */
static int
signer_request_san(const STACK_OF(X509_EXTENSION) *exts,
    struct certspec_gnlist *san, err_t *err)
{
	GENERAL_NAMES *gns;
	int crit = -1, i, r = 0;

	gns = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gns == NULL && crit != -1) {
		/* -1: absent; -2: present twice; >= 0: present, undecodable. */
		ERR_clear_error();
		return err_set(err, ERR_INVALID, "the request's subjectAltName "
		    "does not decode");
	}
	for (i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++)
		if ((r = signer_csr_gn(sk_GENERAL_NAME_value(gns, i), san,
		    err)) != 0)
			break;
	GENERAL_NAMES_free(gns);
	return r;
}

/* The DER of the pkcs-9 extensionRequest attribute type (RFC 2985). */
static const unsigned char signer_ext_req_oid[] = {
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e
};

/*
 * The SANs of the [0] attributes of a CertificationRequestInfo: the
 * extensionRequest, if any, is SEQUENCE { type, SET { Extensions } }.
 */
static int
signer_request_attrs(const struct der_tlv *attrs, struct certspec_gnlist *san,
    err_t *err)
{
	STACK_OF(X509_EXTENSION) *exts;
	struct der_tlv a, type, set, val;
	const unsigned char *p;
	buf_t in, at, vs;
	int r, seen = 0;

	buf_view(&in, attrs->content, attrs->content_len);
	while (buf_avail(&in) > 0) {
		if (der_get_tlv(&in, &a) != 0 || a.tag != DER_TAG_SEQUENCE)
			return err_set(err, ERR_INVALID, "the request's "
			    "attributes do not decode");
		buf_view(&at, a.content, a.content_len);
		if (der_get_tlv(&at, &type) != 0 || type.tag != 0x06 ||
		    der_get_tlv(&at, &set) != 0 || set.tag != 0x31 ||
		    buf_avail(&at) != 0)
			return err_set(err, ERR_INVALID, "the request's "
			    "attributes do not decode");
		if (type.raw_len != sizeof(signer_ext_req_oid) ||
		    memcmp(type.raw, signer_ext_req_oid, type.raw_len) != 0)
			continue;
		buf_view(&vs, set.content, set.content_len);
		if (seen++ > 0 || der_get_tlv(&vs, &val) != 0 ||
		    val.tag != DER_TAG_SEQUENCE || buf_avail(&vs) != 0)
			return err_set(err, ERR_INVALID, "the request's "
			    "extensionRequest is not one set of extensions");
		p = val.raw;
		if ((exts = d2i_X509_EXTENSIONS(NULL, &p,
		    (long)val.raw_len)) == NULL || p != val.raw + val.raw_len) {
			sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
			ERR_clear_error();
			return err_set(err, ERR_INVALID, "the request's "
			    "extensionRequest does not decode");
		}
		r = signer_request_san(exts, san, err);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		if (r != 0)
			return r;
	}
	return 0;
}

int
signer_request_parse(const unsigned char *der, size_t len,
    struct signer_csr *out, err_t *err)
{
	struct der_tlv req, info, alg, sig, ver, subj, spki, attrs;
	const unsigned char *p;
	buf_t b, in;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&attrs, 0, sizeof(attrs));
	if (der == NULL || len == 0 || len > LONG_MAX)
		return err_set(err, ERR_INVALID, "no stored request");
	buf_view(&b, der, len);
	if (der_get_tlv(&b, &req) != 0 || req.tag != DER_TAG_SEQUENCE ||
	    buf_avail(&b) != 0)
		goto bad;
	buf_view(&in, req.content, req.content_len);
	if (der_get_tlv(&in, &info) != 0 || info.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &alg) != 0 || alg.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &sig) != 0 || sig.tag != 0x03 ||
	    buf_avail(&in) != 0)
		goto bad;
	buf_view(&in, info.content, info.content_len);
	if (der_get_tlv(&in, &ver) != 0 || ver.tag != 0x02 ||
	    ver.content_len != 1 || ver.content[0] != 0 ||
	    der_get_tlv(&in, &subj) != 0 || subj.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &spki) != 0 || spki.tag != DER_TAG_SEQUENCE)
		goto bad;
	/* [0] IMPLICIT attributes: required by RFC 2986, often empty. */
	if (buf_avail(&in) > 0 && (der_get_tlv(&in, &attrs) != 0 ||
	    attrs.tag != 0xa0 || buf_avail(&in) != 0))
		goto bad;
	p = subj.raw;
	if ((out->subject = d2i_X509_NAME(NULL, &p, (long)subj.raw_len)) ==
	    NULL || p != subj.raw + subj.raw_len) {
		ERR_clear_error();
		signer_request_free(out);
		return err_set(err, ERR_INVALID, "the stored request's subject "
		    "does not decode");
	}
	out->spki = spki.raw;
	out->spki_len = spki.raw_len;
	if (attrs.raw != NULL &&
	    (r = signer_request_attrs(&attrs, &out->san, err)) != 0) {
		signer_request_free(out);
		return r;
	}
	return 0;
bad:
	return err_set(err, ERR_INVALID, "the stored request is not one DER "
	    "PKCS#10 request");
}

void
signer_request_free(struct signer_csr *c)
{
	if (c == NULL)
		return;
	X509_NAME_free(c->subject);
	certspec_gnlist_free(&c->san);
	memset(c, 0, sizeof(*c));
}
