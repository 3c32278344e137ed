/* certbuild.c: unsigned X.509 v3 certificates from a certspec (see certbuild.h). */
#include "pki/certbuild.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <string.h>

int
certbuild_serial(const unsigned char *random, size_t n, unsigned char *out,
    size_t *outlen)
{
	if (random == NULL || out == NULL || outlen == NULL ||
	    n < CERTBUILD_SERIAL_LEN)
		return ERR_INVALID;
	memcpy(out, random, CERTBUILD_SERIAL_LEN);
	/*
	 * A DER INTEGER is two's complement: with the top bit set the value
	 * would be negative, or need a leading zero octet and so vary between
	 * 16 and 17 octets. A zero first octet would be stripped by DER and
	 * shorten the serial. Clearing bit 7 and setting bit 6 of the first
	 * octet fixes the length at 16 octets, keeps it positive, and leaves
	 * 126 random bits, well above the 64 bits CA/Browser Forum rules ask
	 * for to defeat chosen-prefix collisions.
	 */
	out[0] = (unsigned char)((out[0] & 0x3f) | 0x40);
	*outlen = CERTBUILD_SERIAL_LEN;
	return 0;
}

int
certbuild_time(time_t when, ASN1_TIME **t, err_t *err)
{
	struct tm tm;
	int want;

	*t = NULL;
	if (gmtime_r(&when, &tm) == NULL || tm.tm_year + 1900 < 1950 ||
	    tm.tm_year + 1900 > 9999)
		return err_set(err, ERR_INVALID,
		    "time %lld is outside the years 1950 to 9999 that X.509 "
		    "can encode", (long long)when);
	*t = ASN1_TIME_set(NULL, when);
	if (*t == NULL)
		return err_set_ossl(err, ERR_NOMEM, "cannot encode a time");
	want = tm.tm_year + 1900 < 2050 ? V_ASN1_UTCTIME :
	    V_ASN1_GENERALIZEDTIME;
	if (ASN1_STRING_type(*t) != want) {
		ASN1_TIME_free(*t);
		*t = NULL;
		return err_set(err, ERR_INTERNAL,
		    "OpenSSL chose the wrong time encoding for year %d",
		    tm.tm_year + 1900);
	}
	return 0;
}

int
certbuild_name(const struct certspec_name *name, X509_NAME **out,
    err_t *err)
{
	X509_NAME *n;
	size_t i;

	*out = NULL;
	if ((n = X509_NAME_new()) == NULL)
		return err_set_ossl(err, ERR_NOMEM, "cannot allocate a name");
	for (i = 0; i < name->n; i++) {
		int type = certspec_attr_string_type(name->attrs[i].nid);

		if (type < 0) {
			X509_NAME_free(n);
			return err_set(err, ERR_INVALID,
			    "name attribute %s is not one certspec accepts",
			    OBJ_nid2sn(name->attrs[i].nid));
		}
		/*
		 * A non-MBSTRING type makes OpenSSL store the bytes under
		 * exactly that tag; certspec has already checked that the
		 * value fits the type.
		 */
		if (!X509_NAME_add_entry_by_NID(n, name->attrs[i].nid, type,
		    (const unsigned char *)name->attrs[i].value, -1, -1, 0)) {
			X509_NAME_free(n);
			return err_set_ossl(err, ERR_CRYPTO,
			    "cannot add %s to a name",
			    OBJ_nid2sn(name->attrs[i].nid));
		}
	}
	*out = n;
	return 0;
}

static ASN1_IA5STRING *
certbuild_ia5(const char *s)
{
	ASN1_IA5STRING *a = ASN1_IA5STRING_new();

	if (a != NULL && !ASN1_STRING_set(a, s, (int)strlen(s))) {
		ASN1_IA5STRING_free(a);
		a = NULL;
	}
	return a;
}

static GENERAL_NAME *
certbuild_gn_uri(const char *uri)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = certbuild_ia5(uri);

	if (gn == NULL || s == NULL) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

static GENERAL_NAME *
certbuild_gn(const struct certspec_gn *g, err_t *err)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *os;
	ASN1_IA5STRING *s;
	X509_NAME *dn;
	int type;

	if (gn == NULL)
		return NULL;
	switch (g->type) {
	case CERTSPEC_GN_DNS:
	case CERTSPEC_GN_EMAIL:
	case CERTSPEC_GN_URI:
		type = g->type == CERTSPEC_GN_DNS ? GEN_DNS :
		    g->type == CERTSPEC_GN_EMAIL ? GEN_EMAIL : GEN_URI;
		if ((s = certbuild_ia5(g->value)) == NULL)
			break;
		GENERAL_NAME_set0_value(gn, type, s);
		return gn;
	case CERTSPEC_GN_IP:
		os = ASN1_OCTET_STRING_new();
		if (os == NULL || !ASN1_OCTET_STRING_set(os, g->ip,
		    (int)g->ip_len)) {
			ASN1_OCTET_STRING_free(os);
			break;
		}
		GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
		return gn;
	case CERTSPEC_GN_DIRNAME:
		if (certbuild_name(&g->dirname, &dn, err) != 0) {
			GENERAL_NAME_free(gn);
			return NULL;
		}
		GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
		return gn;
	}
	GENERAL_NAME_free(gn);
	return NULL;
}

static GENERAL_NAMES *
certbuild_gns(const struct certspec_gnlist *l, err_t *err)
{
	GENERAL_NAMES *gns = GENERAL_NAMES_new();
	size_t i;

	if (gns == NULL)
		return NULL;
	for (i = 0; i < l->n; i++) {
		GENERAL_NAME *gn = certbuild_gn(&l->v[i], err);

		if (gn == NULL || !sk_GENERAL_NAME_push(gns, gn)) {
			GENERAL_NAME_free(gn);
			GENERAL_NAMES_free(gns);
			return NULL;
		}
	}
	return gns;
}

static STACK_OF(GENERAL_SUBTREE) *
certbuild_subtrees(const struct certspec_gnlist *l, err_t *err)
{
	STACK_OF(GENERAL_SUBTREE) *st;
	size_t i;

	if (l->n == 0)
		return NULL;
	if ((st = sk_GENERAL_SUBTREE_new_null()) == NULL)
		return NULL;
	for (i = 0; i < l->n; i++) {
		GENERAL_SUBTREE *t = GENERAL_SUBTREE_new();

		/* GENERAL_SUBTREE_new allocates an empty base; replace it. */
		if (t != NULL) {
			GENERAL_NAME_free(t->base);
			t->base = certbuild_gn(&l->v[i], err);
		}
		if (t == NULL || t->base == NULL ||
		    !sk_GENERAL_SUBTREE_push(st, t)) {
			GENERAL_SUBTREE_free(t);
			sk_GENERAL_SUBTREE_pop_free(st, GENERAL_SUBTREE_free);
			return NULL;
		}
	}
	return st;
}

/* Adds one extension; value is freed by the caller via its own free. */
static int
certbuild_add(X509 *x, int nid, void *value, int crit, err_t *err)
{
	if (value == NULL)
		return err_set_ossl(err, ERR_NOMEM,
		    "cannot build the %s extension", OBJ_nid2ln(nid));
	if (X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) != 1)
		return err_set_ossl(err, ERR_CRYPTO,
		    "cannot add the %s extension (already present?)",
		    OBJ_nid2ln(nid));
	return 0;
}

static int
certbuild_ku(X509 *x, const struct certspec_ext *ext, err_t *err)
{
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	int bit, rc;

	if (bs == NULL)
		return certbuild_add(x, NID_key_usage, NULL, 1, err);
	for (bit = 0; bit < 9; bit++)
		if ((ext->key_usage & (1u << bit)) &&
		    !ASN1_BIT_STRING_set_bit(bs, bit, 1)) {
			ASN1_BIT_STRING_free(bs);
			return certbuild_add(x, NID_key_usage, NULL, 1, err);
		}
	/* RFC 5280 4.2.1.3: conforming CAs SHOULD mark keyUsage critical. */
	rc = certbuild_add(x, NID_key_usage, bs, 1, err);
	ASN1_BIT_STRING_free(bs);
	return rc;
}

static int
certbuild_eku(X509 *x, const struct certspec_ext *ext, err_t *err)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	size_t i;
	int rc;

	for (i = 0; eku != NULL && i < ext->eku.n; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(ext->eku.v[i], 1);

		if (o == NULL || !sk_ASN1_OBJECT_push(eku, o)) {
			ASN1_OBJECT_free(o);
			sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
			return err_set_ossl(err, ERR_INVALID,
			    "cannot encode extended key usage %s",
			    ext->eku.v[i]);
		}
	}
	rc = certbuild_add(x, NID_ext_key_usage, eku, 0, err);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

static int
certbuild_bc(X509 *x, const struct certspec_ext *ext, err_t *err)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int rc;

	if (bc == NULL)
		return certbuild_add(x, NID_basic_constraints, NULL, 1, err);
	bc->ca = ext->bc_ca ? 0xff : 0;
	if (ext->bc_ca && ext->bc_path_len >= 0) {
		bc->pathlen = ASN1_INTEGER_new();
		if (bc->pathlen == NULL ||
		    !ASN1_INTEGER_set(bc->pathlen, ext->bc_path_len)) {
			BASIC_CONSTRAINTS_free(bc);
			return certbuild_add(x, NID_basic_constraints, NULL,
			    1, err);
		}
	}
	rc = certbuild_add(x, NID_basic_constraints, bc, ext->bc_critical, err);
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
static ASN1_OCTET_STRING *
certbuild_keyid(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	ASN1_OCTET_STRING *os;

	if (!X509_pubkey_digest(x, EVP_sha1(), md, &len))
		return NULL;
	os = ASN1_OCTET_STRING_new();
	if (os != NULL && !ASN1_OCTET_STRING_set(os, md, (int)len)) {
		ASN1_OCTET_STRING_free(os);
		os = NULL;
	}
	return os;
}

static int
certbuild_aki(X509 *x, X509 *issuer, err_t *err)
{
	AUTHORITY_KEYID *aki;
	int rc;

	if ((aki = AUTHORITY_KEYID_new()) == NULL)
		return certbuild_add(x, NID_authority_key_identifier, NULL, 0,
		    err);
	if (issuer != NULL) {
		const ASN1_OCTET_STRING *iski =
		    X509_get0_subject_key_id(issuer);

		if (iski == NULL) {
			AUTHORITY_KEYID_free(aki);
			return err_set(err, ERR_INVALID,
			    "the issuer certificate has no subject key "
			    "identifier, so authority_key_identifier cannot be "
			    "set; reissue the issuer or set "
			    "authority_key_identifier: false");
		}
		aki->keyid = ASN1_OCTET_STRING_dup(iski);
	} else {
		aki->keyid = certbuild_keyid(x);
	}
	if (aki->keyid == NULL) {
		AUTHORITY_KEYID_free(aki);
		return certbuild_add(x, NID_authority_key_identifier, NULL, 0,
		    err);
	}
	rc = certbuild_add(x, NID_authority_key_identifier, aki, 0, err);
	AUTHORITY_KEYID_free(aki);
	return rc;
}

static int
certbuild_crldp(X509 *x, const struct certspec_ext *ext, err_t *err)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	size_t i;
	int rc;

	/* One distribution point whose full names are alternative locations. */
	if (dps == NULL || dp == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL)
		goto nomem;
	dp->distpoint->type = 0;
	for (i = 0; i < ext->crl_dp.n; i++) {
		GENERAL_NAME *gn = certbuild_gn_uri(ext->crl_dp.v[i]);

		if (gn == NULL ||
		    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
			GENERAL_NAME_free(gn);
			goto nomem;
		}
	}
	if (!sk_DIST_POINT_push(dps, dp))
		goto nomem;
	rc = certbuild_add(x, NID_crl_distribution_points, dps, 0, err);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return rc;
nomem:
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return certbuild_add(x, NID_crl_distribution_points, NULL, 0, err);
}

static int
certbuild_aia_push(AUTHORITY_INFO_ACCESS *aia, int method,
    const struct certspec_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();

		if (ad == NULL)
			return 0;
		GENERAL_NAME_free(ad->location);
		ad->location = certbuild_gn_uri(l->v[i]);
		ad->method = OBJ_nid2obj(method);
		if (ad->location == NULL ||
		    !sk_ACCESS_DESCRIPTION_push(aia, ad)) {
			ACCESS_DESCRIPTION_free(ad);
			return 0;
		}
	}
	return 1;
}

static int
certbuild_aia(X509 *x, const struct certspec_ext *ext, err_t *err)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	int rc;

	if (aia == NULL || !certbuild_aia_push(aia, NID_ad_OCSP,
	    &ext->aia_ocsp) || !certbuild_aia_push(aia, NID_ad_ca_issuers,
	    &ext->aia_ca_issuers)) {
		sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
		return certbuild_add(x, NID_info_access, NULL, 0, err);
	}
	rc = certbuild_add(x, NID_info_access, aia, 0, err);
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	return rc;
}

static int
certbuild_policies(X509 *x, const struct certspec_ext *ext, err_t *err)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	size_t i;
	int rc;

	for (i = 0; cp != NULL && i < ext->n_policies; i++) {
		POLICYINFO *pi = POLICYINFO_new();
		POLICYQUALINFO *q = NULL;

		if (pi == NULL || !sk_POLICYINFO_push(cp, pi)) {
			POLICYINFO_free(pi);
			goto fail;
		}
		if ((pi->policyid = OBJ_txt2obj(ext->policies[i].oid, 1)) ==
		    NULL)
			goto fail;
		if (ext->policies[i].cps == NULL)
			continue;
		if ((pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL ||
		    (q = POLICYQUALINFO_new()) == NULL ||
		    !sk_POLICYQUALINFO_push(pi->qualifiers, q)) {
			POLICYQUALINFO_free(q);
			goto fail;
		}
		q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
		if ((q->d.cpsuri = certbuild_ia5(ext->policies[i].cps)) == NULL)
			goto fail;
	}
	rc = certbuild_add(x, NID_certificate_policies, cp, 0, err);
	sk_POLICYINFO_pop_free(cp, POLICYINFO_free);
	return rc;
fail:
	sk_POLICYINFO_pop_free(cp, POLICYINFO_free);
	return certbuild_add(x, NID_certificate_policies, NULL, 0, err);
}

static int
certbuild_nc(X509 *x, const struct certspec_ext *ext, err_t *err)
{
	NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
	int rc;

	if (nc == NULL)
		return certbuild_add(x, NID_name_constraints, NULL, 1, err);
	nc->permittedSubtrees = certbuild_subtrees(&ext->nc_permitted, err);
	nc->excludedSubtrees = certbuild_subtrees(&ext->nc_excluded, err);
	if ((ext->nc_permitted.n > 0 && nc->permittedSubtrees == NULL) ||
	    (ext->nc_excluded.n > 0 && nc->excludedSubtrees == NULL)) {
		NAME_CONSTRAINTS_free(nc);
		return certbuild_add(x, NID_name_constraints, NULL, 1, err);
	}
	rc = certbuild_add(x, NID_name_constraints, nc, ext->nc_critical, err);
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

int
certbuild_add_ext(X509 *x, const struct certspec_ext *ext, X509 *issuer,
    err_t *err)
{
	int rc = 0;

	if (x == NULL || ext == NULL || X509_get0_pubkey(x) == NULL)
		return err_set(err, ERR_INVALID,
		    "certbuild_add_ext needs a certificate with a public key");
	if (ext->has_basic_constraints &&
	    (rc = certbuild_bc(x, ext, err)) != 0)
		return rc;
	if (ext->has_key_usage && (rc = certbuild_ku(x, ext, err)) != 0)
		return rc;
	if (ext->eku.n > 0 && (rc = certbuild_eku(x, ext, err)) != 0)
		return rc;
	if (ext->ski) {
		ASN1_OCTET_STRING *ski = certbuild_keyid(x);

		rc = certbuild_add(x, NID_subject_key_identifier, ski, 0, err);
		ASN1_OCTET_STRING_free(ski);
		if (rc != 0)
			return rc;
	}
	if (ext->aki && (rc = certbuild_aki(x, issuer, err)) != 0)
		return rc;
	if (ext->san.n > 0) {
		GENERAL_NAMES *gns = certbuild_gns(&ext->san, err);
		/* RFC 5280 4.2.1.6: critical when the subject is empty. */
		int crit = X509_NAME_entry_count(X509_get_subject_name(x)) == 0;

		rc = certbuild_add(x, NID_subject_alt_name, gns, crit, err);
		GENERAL_NAMES_free(gns);
		if (rc != 0)
			return rc;
	}
	if (ext->has_name_constraints && (rc = certbuild_nc(x, ext, err)) != 0)
		return rc;
	if (ext->crl_dp.n > 0 && (rc = certbuild_crldp(x, ext, err)) != 0)
		return rc;
	if ((ext->aia_ocsp.n > 0 || ext->aia_ca_issuers.n > 0) &&
	    (rc = certbuild_aia(x, ext, err)) != 0)
		return rc;
	if (ext->n_policies > 0 && (rc = certbuild_policies(x, ext, err)) != 0)
		return rc;
	return 0;
}

/* Copies a const public key through its DER form, which OpenSSL accepts. */
static EVP_PKEY *
certbuild_pub_copy(const EVP_PKEY *pub)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *copy;
	int len;

	len = i2d_PUBKEY(pub, &der);
	if (len <= 0)
		return NULL;
	p = der;
	copy = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	return copy;
}

static int
certbuild_set_serial(X509 *x, const unsigned char *serial, size_t len,
    err_t *err)
{
	ASN1_INTEGER *ai;
	BIGNUM *bn;
	size_t der_len;
	int rc = 0;

	while (len > 0 && serial[0] == 0) {
		serial++;
		len--;
	}
	/* DER adds a zero octet when the top bit is set, to stay positive. */
	der_len = len + (len > 0 && (serial[0] & 0x80) ? 1 : 0);
	if (len == 0 || der_len > CERTBUILD_SERIAL_MAX)
		return err_set(err, ERR_INVALID,
		    "the serial number must be positive and at most %d octets "
		    "encoded (it is %zu)", CERTBUILD_SERIAL_MAX, der_len);
	bn = BN_bin2bn(serial, (int)len, NULL);
	ai = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	if (ai == NULL || !X509_set_serialNumber(x, ai))
		rc = err_set_ossl(err, ERR_NOMEM, "cannot set the serial");
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

int
certbuild_new(const struct certspec *spec, const EVP_PKEY *subject_pub,
    X509 *issuer, const unsigned char *serial, size_t serial_len,
    X509 **out, err_t *err)
{
	X509 *x = NULL;
	X509_NAME *subj = NULL;
	EVP_PKEY *pub = NULL;
	ASN1_TIME *nb = NULL, *na = NULL;
	int rc;

	if (out == NULL)
		return err_set(err, ERR_INVALID, "certbuild_new: no output");
	*out = NULL;
	if (spec == NULL || subject_pub == NULL || serial == NULL)
		return err_set(err, ERR_INVALID,
		    "certbuild_new needs a spec, a public key and a serial");
	if (spec->not_after <= spec->not_before)
		return err_set(err, ERR_INVALID,
		    "not_after must be later than not_before");
	if ((x = X509_new()) == NULL)
		return err_set_ossl(err, ERR_NOMEM,
		    "cannot allocate a certificate");
	if (!X509_set_version(x, X509_VERSION_3)) {
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot set version 3");
		goto fail;
	}
	if ((rc = certbuild_set_serial(x, serial, serial_len, err)) != 0)
		goto fail;
	if ((rc = certbuild_name(&spec->subject, &subj, err)) != 0)
		goto fail;
	if (!X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : subj)) {
		rc = err_set_ossl(err, ERR_NOMEM, "cannot set the names");
		goto fail;
	}
	if ((rc = certbuild_time(spec->not_before, &nb, err)) != 0 ||
	    (rc = certbuild_time(spec->not_after, &na, err)) != 0)
		goto fail;
	if (!X509_set1_notBefore(x, nb) || !X509_set1_notAfter(x, na)) {
		rc = err_set_ossl(err, ERR_NOMEM, "cannot set the validity");
		goto fail;
	}
	if ((pub = certbuild_pub_copy(subject_pub)) == NULL ||
	    !X509_set_pubkey(x, pub)) {
		rc = err_set_ossl(err, ERR_INVALID,
		    "cannot set the subject public key");
		goto fail;
	}
	if ((rc = certbuild_add_ext(x, &spec->ext, issuer, err)) != 0)
		goto fail;
	*out = x;
	x = NULL;
	rc = 0;
fail:
	X509_free(x);
	X509_NAME_free(subj);
	EVP_PKEY_free(pub);
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	return rc;
}
