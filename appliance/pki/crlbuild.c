/* crlbuild.c: v2 CRLs from a crlspec (see crlbuild.h). */
#include "pki/crlbuild.h"

#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "pki/certbuild.h"
#include "util/buf.h"

static const struct {
	const char *name;
	enum crlbuild_reason code;
} crlbuild_reasons[] = {
	{ "unspecified", CRLBUILD_UNSPECIFIED },
	{ "keyCompromise", CRLBUILD_KEY_COMPROMISE },
	{ "cACompromise", CRLBUILD_CA_COMPROMISE },
	{ "affiliationChanged", CRLBUILD_AFFILIATION_CHANGED },
	{ "superseded", CRLBUILD_SUPERSEDED },
	{ "cessationOfOperation", CRLBUILD_CESSATION_OF_OPERATION },
	{ "certificateHold", CRLBUILD_CERTIFICATE_HOLD },
	{ "privilegeWithdrawn", CRLBUILD_PRIVILEGE_WITHDRAWN },
	{ "aACompromise", CRLBUILD_AA_COMPROMISE },
};
#define CRLBUILD_NREASONS (sizeof(crlbuild_reasons) / sizeof(crlbuild_reasons[0]))

const char *
crlbuild_reason_name(enum crlbuild_reason r)
{
	size_t i;

	for (i = 0; i < CRLBUILD_NREASONS; i++)
		if (crlbuild_reasons[i].code == r)
			return crlbuild_reasons[i].name;
	return NULL;
}

void
crlspec_free(struct crlspec *spec)
{
	if (spec == NULL)
		return;
	free(spec->entries);
	free(spec->distribution_point);
	memset(spec, 0, sizeof(*spec));
}

/* Strips leading zero octets so equal numbers compare equal. */
static void
crlbuild_trim(const unsigned char **p, size_t *len)
{
	while (*len > 1 && (*p)[0] == 0) {
		(*p)++;
		(*len)--;
	}
}

/* Orders serials as unsigned big-endian numbers. */
static int
crlbuild_cmp_serial(const unsigned char *a, size_t al,
    const unsigned char *b, size_t bl)
{
	crlbuild_trim(&a, &al);
	crlbuild_trim(&b, &bl);
	if (al != bl)
		return al < bl ? -1 : 1;
	return memcmp(a, b, al);
}

static int
crlbuild_cmp_entry(const void *pa, const void *pb)
{
	const struct crlspec_entry *a = *(const struct crlspec_entry *const *)pa;
	const struct crlspec_entry *b = *(const struct crlspec_entry *const *)pb;

	return crlbuild_cmp_serial(a->serial, a->serial_len, b->serial,
	    b->serial_len);
}

/*
 * Hex (odd length allowed, so "1" works) to a positive serial whose DER
 * encoding fits in 20 octets. Returns 0 or ERR_INVALID.
 */
static int
crlbuild_parse_serial(const char *hex, struct crlspec_entry *e)
{
	char even[2 * CRLBUILD_SERIAL_MAX + 2];
	size_t n = strlen(hex), i, der;

	if (n == 0 || n > 2 * CRLBUILD_SERIAL_MAX)
		return ERR_INVALID;
	even[0] = '0';
	memcpy(even + 1, hex, n + 1);
	if (buf_unhex(n % 2 ? even : even + 1, e->serial, sizeof(e->serial),
	    &e->serial_len) != 0)
		return ERR_INVALID;
	for (i = 0; i < e->serial_len && e->serial[i] == 0; i++)
		;
	if (i == e->serial_len)
		return ERR_INVALID;
	der = e->serial_len - i + ((e->serial[i] & 0x80) ? 1 : 0);
	return der <= CRLBUILD_SERIAL_MAX ? 0 : ERR_INVALID;
}

static int
crlspec_parse_entry(struct yamldoc *doc, const struct yamldoc_node *item,
    struct crlspec_entry *e)
{
	static const char *const names[] = { "unspecified", "keyCompromise",
	    "cACompromise", "affiliationChanged", "superseded",
	    "cessationOfOperation", "certificateHold", "privilegeWithdrawn",
	    "aACompromise", NULL };
	const char *hex = NULL;
	int bad = 0, idx = 0, rc;

	memset(e, 0, sizeof(*e));
	if (yamldoc_as_map(doc, item) < 0)
		return ERR_INVALID;
	if (yamldoc_get_str(doc, item, "serial", 1, &hex) < 0)
		bad = 1;
	else if (crlbuild_parse_serial(hex, e) != 0) {
		const struct yamldoc_node *n = NULL;

		yamldoc_get_node(doc, item, "serial", 0, &n);
		yamldoc_error(doc, n != NULL ? n : item,
		    "serial '%s' must be 1 to %d octets of hex and not zero",
		    hex, CRLBUILD_SERIAL_MAX);
		bad = 1;
	}
	if (yamldoc_get_time(doc, item, "revoked_at", 1, &e->revoked_at) < 0)
		bad = 1;
	rc = yamldoc_get_enum(doc, item, "reason", 0, names, &idx);
	if (rc < 0)
		bad = 1;
	else if (rc == 1)
		e->reason = crlbuild_reasons[idx].code;
	rc = yamldoc_get_time(doc, item, "invalidity_date", 0,
	    &e->invalidity_date);
	if (rc < 0)
		bad = 1;
	e->has_invalidity_date = rc == 1;
	if (yamldoc_check_unknown(doc, item) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

int
crlspec_parse(struct yamldoc *doc, const struct yamldoc_node *map,
    struct crlspec *out)
{
	const struct yamldoc_node *seq;
	const char *dp = NULL;
	long long number = 0;
	size_t i;
	int rc, bad = 0;

	memset(out, 0, sizeof(*out));
	if (map == NULL || map->kind != YAMLDOC_MAP)
		return map == NULL ? ERR_INVALID :
		    yamldoc_error(doc, map, "expected a map");
	if (yamldoc_get_time(doc, map, "this_update", 1, &out->this_update) < 0)
		bad = 1;
	if (yamldoc_get_time(doc, map, "next_update", 1, &out->next_update) < 0)
		bad = 1;
	if (!bad && out->next_update <= out->this_update) {
		const struct yamldoc_node *n = NULL;

		yamldoc_get_node(doc, map, "next_update", 0, &n);
		yamldoc_error(doc, n != NULL ? n : map,
		    "next_update must be later than this_update");
		bad = 1;
	}
	if (yamldoc_get_int(doc, map, "number", 1, 0, INT64_MAX, &number) < 0)
		bad = 1;
	out->number = (uint64_t)number;
	rc = yamldoc_get_str(doc, map, "distribution_point", 0, &dp);
	if (rc < 0)
		bad = 1;
	else if (rc == 1) {
		if (strchr(dp, ':') == NULL || strchr(dp, ' ') != NULL) {
			const struct yamldoc_node *n = NULL;

			yamldoc_get_node(doc, map, "distribution_point", 0, &n);
			yamldoc_error(doc, n != NULL ? n : map,
			    "distribution_point '%s' is not a URI", dp);
			bad = 1;
		} else if ((out->distribution_point = strdup(dp)) == NULL) {
			return ERR_NOMEM;
		}
	}
	rc = yamldoc_get_seq(doc, map, "entries", 0, &seq);
	if (rc < 0)
		bad = 1;
	else if (rc == 1 && seq->n > 0) {
		out->entries = calloc(seq->n, sizeof(*out->entries));
		if (out->entries == NULL) {
			crlspec_free(out);
			return ERR_NOMEM;
		}
		for (i = 0; i < seq->n; i++) {
			if (crlspec_parse_entry(doc, seq->items[i],
			    &out->entries[out->n_entries]) != 0) {
				bad = 1;
				continue;
			}
			out->n_entries++;
		}
	}
	if (bad) {
		crlspec_free(out);
		return ERR_INVALID;
	}
	return 0;
}

static int
crlbuild_add_ext(X509_CRL *crl, int nid, void *value, int crit, err_t *err)
{
	if (value == NULL)
		return err_set_ossl(err, ERR_NOMEM,
		    "cannot build the CRL's %s extension", OBJ_nid2ln(nid));
	if (X509_CRL_add1_ext_i2d(crl, nid, value, crit,
	    X509V3_ADD_DEFAULT) != 1)
		return err_set_ossl(err, ERR_CRYPTO,
		    "cannot add the CRL's %s extension", OBJ_nid2ln(nid));
	return 0;
}

static int
crlbuild_entry(X509_CRL *crl, const struct crlspec_entry *e, err_t *err)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_TIME *when = NULL;
	ASN1_GENERALIZEDTIME *inv = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	int rc = ERR_NOMEM;

	if (r == NULL)
		goto fail;
	bn = BN_bin2bn(e->serial, (int)e->serial_len, NULL);
	if (bn == NULL || (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_REVOKED_set_serialNumber(r, sn))
		goto fail;
	if ((rc = certbuild_time(e->revoked_at, &when, err)) != 0)
		goto fail;
	rc = ERR_NOMEM;
	if (!X509_REVOKED_set_revocationDate(r, when))
		goto fail;
	if (e->reason != CRLBUILD_UNSPECIFIED) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(reason, (long)e->reason) ||
		    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0,
		    X509V3_ADD_DEFAULT))
			goto fail;
	}
	if (e->has_invalidity_date) {
		/* RFC 5280 5.3.2: invalidityDate is always GeneralizedTime. */
		if ((inv = ASN1_GENERALIZEDTIME_set(NULL,
		    e->invalidity_date)) == NULL ||
		    !X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, inv, 0,
		    X509V3_ADD_DEFAULT))
			goto fail;
	}
	if (!X509_CRL_add0_revoked(crl, r))
		goto fail;
	r = NULL;
	rc = 0;
fail:
	if (rc == ERR_NOMEM)
		err_set_ossl(err, rc, "cannot build a CRL entry");
	X509_REVOKED_free(r);
	ASN1_TIME_free(when);
	ASN1_GENERALIZEDTIME_free(inv);
	ASN1_ENUMERATED_free(reason);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return rc;
}

static int
crlbuild_idp(X509_CRL *crl, const char *uri, err_t *err)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *s = NULL;
	int rc;

	if (idp == NULL || (idp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (idp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL ||
	    (s = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(s, uri, (int)strlen(uri))) {
		ASN1_IA5STRING_free(s);
		GENERAL_NAME_free(gn);
		ISSUING_DIST_POINT_free(idp);
		return crlbuild_add_ext(crl, NID_issuing_distribution_point,
		    NULL, 1, err);
	}
	idp->distpoint->type = 0;
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	if (!sk_GENERAL_NAME_push(idp->distpoint->name.fullname, gn)) {
		GENERAL_NAME_free(gn);
		ISSUING_DIST_POINT_free(idp);
		return crlbuild_add_ext(crl, NID_issuing_distribution_point,
		    NULL, 1, err);
	}
	/* RFC 5280 5.2.5: the issuing distribution point is critical. */
	rc = crlbuild_add_ext(crl, NID_issuing_distribution_point, idp, 1, err);
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

int
crlbuild_new(const struct crlspec *spec, X509 *issuer, X509_CRL **out,
    err_t *err)
{
	const struct crlspec_entry **order = NULL;
	const ASN1_OCTET_STRING *iski;
	AUTHORITY_KEYID *aki = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *tu = NULL, *nu = NULL;
	X509_CRL *crl = NULL;
	BIGNUM *bn = NULL;
	size_t i;
	int rc;

	if (out == NULL)
		return err_set(err, ERR_INVALID, "crlbuild_new: no output");
	*out = NULL;
	if (spec == NULL || issuer == NULL)
		return err_set(err, ERR_INVALID,
		    "crlbuild_new needs a spec and the issuer certificate");
	if (spec->next_update <= spec->this_update)
		return err_set(err, ERR_INVALID,
		    "next_update must be later than this_update");
	if ((iski = X509_get0_subject_key_id(issuer)) == NULL)
		return err_set(err, ERR_INVALID,
		    "the issuer certificate has no subject key identifier, "
		    "so the CRL cannot name it in authorityKeyIdentifier");
	if (spec->n_entries > 0) {
		order = calloc(spec->n_entries, sizeof(*order));
		if (order == NULL)
			return err_set(err, ERR_NOMEM,
			    "cannot sort %zu CRL entries", spec->n_entries);
		for (i = 0; i < spec->n_entries; i++)
			order[i] = &spec->entries[i];
		qsort(order, spec->n_entries, sizeof(*order),
		    crlbuild_cmp_entry);
		for (i = 1; i < spec->n_entries; i++)
			if (crlbuild_cmp_entry(&order[i - 1], &order[i]) == 0) {
				char hex[2 * CRLBUILD_SERIAL_MAX + 1];

				buf_hex(order[i]->serial, order[i]->serial_len,
				    hex, sizeof(hex));
				free(order);
				return err_set(err, ERR_INVALID,
				    "serial %s is listed twice in the CRL", hex);
			}
	}
	rc = ERR_NOMEM;
	if ((crl = X509_CRL_new()) == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)))
		goto nomem;
	if ((rc = certbuild_time(spec->this_update, &tu, err)) != 0 ||
	    (rc = certbuild_time(spec->next_update, &nu, err)) != 0)
		goto fail;
	rc = ERR_NOMEM;
	if (!X509_CRL_set1_lastUpdate(crl, tu) ||
	    !X509_CRL_set1_nextUpdate(crl, nu))
		goto nomem;
	for (i = 0; i < spec->n_entries; i++)
		if ((rc = crlbuild_entry(crl, order[i], err)) != 0)
			goto fail;
	if ((aki = AUTHORITY_KEYID_new()) == NULL ||
	    (aki->keyid = ASN1_OCTET_STRING_dup(iski)) == NULL)
		goto nomem;
	if ((rc = crlbuild_add_ext(crl, NID_authority_key_identifier, aki, 0,
	    err)) != 0)
		goto fail;
	{
		unsigned char be[8];
		int k;

		/* Big-endian octets: BN_ULONG may be narrower than 64 bits. */
		for (k = 0; k < 8; k++)
			be[k] = (unsigned char)(spec->number >> (56 - 8 * k));
		if ((bn = BN_bin2bn(be, sizeof(be), NULL)) == NULL ||
		    (num = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
			goto nomem;
	}
	if ((rc = crlbuild_add_ext(crl, NID_crl_number, num, 0, err)) != 0)
		goto fail;
	if (spec->distribution_point != NULL &&
	    (rc = crlbuild_idp(crl, spec->distribution_point, err)) != 0)
		goto fail;
	*out = crl;
	crl = NULL;
	rc = 0;
	goto fail;
nomem:
	rc = err_set_ossl(err, ERR_NOMEM, "cannot build the CRL");
fail:
	free(order);
	X509_CRL_free(crl);
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	BN_free(bn);
	return rc;
}
