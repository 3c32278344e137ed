/* request.c: a queued line's request, rebuilt (see request.h). */
#include "signer/request.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "policy/profile.h"

/* Longest fields text a line may carry (ingest/csv.h: a record's bytes). */
#define SIGNER_FIELDS_MAX 8192
/* Longest single SAN value (ingest/csr.h: CSR_SAN_VALUE_MAX). */
#define SIGNER_SAN_VALUE_MAX 255

struct signer_field_key {
	const char *key;
	int nid;		/* NID_undef: dns, which makes SANs */
};

static const struct signer_field_key signer_field_keys[] = {
	{ "country", NID_countryName },
	{ "state", NID_stateOrProvinceName },
	{ "locality", NID_localityName },
	{ "organization", NID_organizationName },
	{ "organizational_unit", NID_organizationalUnitName },
	{ "email", NID_pkcs9_emailAddress },
	{ "common_name", NID_commonName },
	{ "dns", NID_undef },
};

void
signer_request_gnlist_free(struct certspec_gnlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].value);
		certspec_name_free(&l->v[i].dirname);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

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

static int
signer_fields_dns(const char *v, size_t len, struct certspec_gnlist *san,
    unsigned long rec, err_t *err)
{
	size_t i = 0;

	while (i <= len) {
		size_t j = i;
		int r;

		while (j < len && v[j] != ';')
			j++;
		if (j == i || j - i > SIGNER_SAN_VALUE_MAX)
			return err_set(err, ERR_INVALID, "fields record %lu: "
			    "an empty or over-long host name in dns", rec);
		if ((r = signer_gn_push(san, CERTSPEC_GN_DNS, v + i,
		    j - i)) != 0)
			return err_set(err, r, "fields record %lu: %s", rec,
			    r == ERR_LIMIT ? "too many dns names" :
			    "out of memory");
		i = j + 1;
	}
	return 0;
}

int
signer_request_fields(const char *fields, struct certspec_name *out,
    struct certspec_gnlist *san, err_t *err)
{
	const char *p = fields, *end;
	unsigned long rec = 0;
	size_t cap = 0, n;
	int r;

	memset(out, 0, sizeof(*out));
	memset(san, 0, sizeof(*san));
	if (fields == NULL)
		return 0;
	if ((n = strlen(fields)) > SIGNER_FIELDS_MAX)
		return err_set(err, ERR_LIMIT, "the line's fields are longer "
		    "than %d bytes", SIGNER_FIELDS_MAX);
	end = fields + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eq, *val;
		size_t klen, vlen, k;

		if (nl == NULL)
			nl = end;
		rec++;
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL || eq == p || eq + 1 == nl) {
			r = err_set(err, ERR_INVALID, "fields record %lu is "
			    "not key=value", rec);
			goto fail;
		}
		klen = (size_t)(eq - p);
		val = eq + 1;
		vlen = (size_t)(nl - val);
		for (k = 0; k < sizeof(signer_field_keys) /
		    sizeof(signer_field_keys[0]); k++)
			if (strlen(signer_field_keys[k].key) == klen &&
			    memcmp(signer_field_keys[k].key, p, klen) == 0)
				break;
		if (k == sizeof(signer_field_keys) /
		    sizeof(signer_field_keys[0])) {
			r = err_set(err, ERR_INVALID, "fields record %lu has "
			    "an unknown key", rec);
			goto fail;
		}
		if (signer_field_keys[k].nid == NID_undef) {
			if ((r = signer_fields_dns(val, vlen, san, rec,
			    err)) != 0)
				goto fail;
		} else {
			if (out->n == cap) {
				struct certspec_attr *a;

				cap = cap ? 2 * cap : 8;
				if ((a = realloc(out->attrs, cap *
				    sizeof(*a))) == NULL) {
					r = err_set(err, ERR_NOMEM,
					    "out of memory");
					goto fail;
				}
				out->attrs = a;
			}
			out->attrs[out->n].nid = signer_field_keys[k].nid;
			if ((out->attrs[out->n].value = strndup(val,
			    vlen)) == NULL) {
				r = err_set(err, ERR_NOMEM, "out of memory");
				goto fail;
			}
			out->n++;
		}
		p = nl < end ? nl + 1 : end;
	}
	return 0;
fail:
	certspec_name_free(out);
	signer_request_gnlist_free(san);
	return r;
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
	if (s->length <= 0 || s->length > SIGNER_SAN_VALUE_MAX ||
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
		signer_request_gnlist_free(san);
	return r;
}
