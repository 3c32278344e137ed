/* crlbuild.c: v2 CRLs from a crlspec (see crlbuild.h). */
#include "pki/crlbuild.h"

#include <stdlib.h>
#include <string.h>

#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "util/buf.h"

void
crlspec_free(struct crlspec *spec)
{
	if (spec == NULL)
		return;
	free(spec->entries);
	free(spec->distribution_point);
	memset(spec, 0, sizeof(*spec));
}

static int
crlbuild_cmp_entry(const void *pa, const void *pb)
{
	const struct crlspec_entry *a = *(const struct crlspec_entry *const *)pa;
	const struct crlspec_entry *b = *(const struct crlspec_entry *const *)pb;

	return crlder_serial_cmp(a->serial, a->serial_len, b->serial,
	    b->serial_len);
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
	else if (crlder_serial_hex(hex, e->serial, &e->serial_len) != 0) {
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
	else if (rc == 1 && crlder_reason_parse(names[idx], &e->reason) != 0)
		bad = 1;
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

int
crlbuild_new(const struct crlspec *spec, X509 *issuer, X509_CRL **out,
    err_t *err)
{
	/* Replaced by the real one when pkisign_crl signs the CRL. */
	static const unsigned char placeholder[] = { 0 };
	const struct crlspec_entry **order = NULL;
	struct crlder_opts o;
	struct crlder *enc = NULL;
	unsigned char algid[64];
	const EVP_PKEY *pub;
	buf_t tbs, crl;
	size_t i;
	int rc;

	if (out == NULL)
		return err_set(err, ERR_INVALID, "crlbuild_new: no output");
	*out = NULL;
	if (spec == NULL || issuer == NULL ||
	    (pub = X509_get0_pubkey(issuer)) == NULL)
		return err_set(err, ERR_INVALID,
		    "crlbuild_new needs a spec and the issuer certificate");
	memset(&o, 0, sizeof(o));
	o.issuer = issuer;
	o.this_update = spec->this_update;
	o.next_update = spec->next_update;
	o.number = spec->number;
	o.idp_uri = spec->distribution_point;
	o.algid = algid;
	/* The digest pkisign_crl's callers pick for this key. */
	if ((rc = crlder_algid(pub, pkisign_md_for_key(pub, NULL), algid,
	    sizeof(algid), &o.algid_len, err)) != 0 ||
	    (rc = crlder_begin(&o, &enc, err)) != 0)
		return rc;
	if (spec->n_entries > 0) {
		order = calloc(spec->n_entries, sizeof(*order));
		if (order == NULL) {
			crlder_free(enc);
			return err_set(err, ERR_NOMEM,
			    "cannot sort %zu CRL entries", spec->n_entries);
		}
		for (i = 0; i < spec->n_entries; i++)
			order[i] = &spec->entries[i];
		qsort(order, spec->n_entries, sizeof(*order),
		    crlbuild_cmp_entry);
	}
	/* The encoder refuses a serial listed twice, now neighbours. */
	for (i = 0, rc = 0; rc == 0 && i < spec->n_entries; i++)
		rc = crlder_add(enc, order[i]->serial, order[i]->serial_len,
		    order[i]->revoked_at, order[i]->reason,
		    order[i]->has_invalidity_date ?
		    &order[i]->invalidity_date : NULL, err);
	free(order);
	buf_init(&tbs, CRLDER_TBS_MAX);
	buf_init(&crl, CRLDER_TBS_MAX + 1024);
	if (rc == 0)
		rc = crlder_finish(enc, &tbs, err);
	crlder_free(enc);
	/*
	 * OpenSSL's X509_CRL is what pkisign_crl lints and signs; it is
	 * decoded from the encoder's bytes, so the content is the encoder's.
	 */
	if (rc == 0)
		rc = pkisign_assemble(tbs.data, tbs.len, placeholder,
		    sizeof(placeholder), &crl, err);
	if (rc == 0)
		rc = pki_parse_crl(crl.data, crl.len, out, err);
	buf_free(&tbs);
	buf_free(&crl);
	return rc;
}
