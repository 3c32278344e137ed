/* request.c: a queued line's request, rebuilt (see request.h). */
#include "signer/request.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ingest/csr.h"
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

int
signer_request_csr_san(X509_REQ *req, struct certspec_gnlist *san,
    err_t *err)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gns = NULL;
	int crit = -1, i, r = 0;

	memset(san, 0, sizeof(*san));
	exts = X509_REQ_get_extensions(req);
	if (exts == NULL) {
		/* No extensionRequest at all: nothing was asked for. */
		ERR_clear_error();
		return 0;
	}
	gns = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gns == NULL && crit != -1) {
		/* -1: absent; -2: present twice; >= 0: present, undecodable. */
		r = err_set_ossl(err, ERR_INVALID, "the request's "
		    "subjectAltName does not decode");
		goto out;
	}
	for (i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++)
		if ((r = signer_csr_gn(sk_GENERAL_NAME_value(gns, i), san,
		    err)) != 0)
			goto out;
out:
	ERR_clear_error();
	GENERAL_NAMES_free(gns);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (r != 0)
		certspec_gnlist_free(san);
	return r;
}
