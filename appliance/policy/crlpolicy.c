/* crlpolicy.c: the CRL policy file (see crlpolicy.h). */
#include "policy/crlpolicy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pki/crlder.h"
#include "policy/profile.h"
#include "util/text.h"
#include "util/yamldoc.h"

static void
crlpolicy_entry_free(struct crlpolicy_entry *e)
{
	free(e->ca);
	free(e->distribution_point);
	memset(e, 0, sizeof(*e));
}

void
crlpolicy_free(struct crlpolicy *p)
{
	size_t i;

	if (p == NULL)
		return;
	crlpolicy_entry_free(&p->def);
	for (i = 0; p->v != NULL && i < p->n; i++)
		crlpolicy_entry_free(&p->v[i]);
	free(p->v);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

/*
 * "Nd" (days) or "Nh" (hours), N a decimal without leading zero, 1 ..
 * CRLPOLICY_MAX_DAYS days. *secs gets the span. 0 or ERR_INVALID.
 */
static int
crlpolicy_span(const char *s, int64_t *secs)
{
	char *end;
	long v;
	size_t n = strlen(s);

	if (n < 2 || s[0] < '1' || s[0] > '9' ||
	    (s[n - 1] != 'd' && s[n - 1] != 'h'))
		return ERR_INVALID;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end != s + n - 1 || v <= 0 ||
	    v > (s[n - 1] == 'd' ? CRLPOLICY_MAX_DAYS :
	    CRLPOLICY_MAX_DAYS * 24))
		return ERR_INVALID;
	*secs = (int64_t)v * (s[n - 1] == 'd' ? 86400 : 3600);
	return 0;
}

/* The node of key in map, or map itself when absent, for messages. */
static const struct yamldoc_node *
crlpolicy_at(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key)
{
	const struct yamldoc_node *n = NULL;

	/* Optional and already read: a lookup that reports nothing. */
	(void)yamldoc_get_node(doc, map, key, 0, &n);
	return n != NULL ? n : map;
}

static int
crlpolicy_entry(struct yamldoc *doc, const struct yamldoc_node *map,
    struct crlpolicy_entry *e)
{
	const char *warn = NULL, *uri = NULL;
	long long days = 0;
	int bad = 0, rc;

	e->line = map->line;
	if (yamldoc_as_map(doc, map) < 0)
		return ERR_INVALID;
	if (yamldoc_get_int(doc, map, "validity_days", 1, 1,
	    CRLPOLICY_MAX_DAYS, &days) < 0)
		bad = 1;
	e->validity = (int64_t)days * 86400;
	if (yamldoc_get_str(doc, map, "warning", 1, &warn) < 0)
		bad = 1;
	else if (crlpolicy_span(warn, &e->warning) != 0) {
		yamldoc_error(doc, crlpolicy_at(doc, map, "warning"), "warning "
		    "'%s' must be a number of days or hours, like 2d or 36h "
		    "(at most %d days)", warn, CRLPOLICY_MAX_DAYS);
		bad = 1;
	} else if (days > 0 && e->warning >= e->validity) {
		yamldoc_error(doc, crlpolicy_at(doc, map, "warning"), "warning "
		    "'%s' must be shorter than the validity of %lld days, or "
		    "the CRL would be due for renewal as soon as it is issued",
		    warn, days);
		bad = 1;
	}
	rc = yamldoc_get_str(doc, map, "distribution_point", 0, &uri);
	if (rc < 0)
		bad = 1;
	else if (rc == 1 && !crlder_uri_ok(uri)) {
		yamldoc_error(doc, crlpolicy_at(doc, map, "distribution_point"),
		    "distribution_point must be a URI (scheme:...) of "
		    "printable ASCII without spaces, at most %d bytes",
		    CRLDER_URI_MAX);
		bad = 1;
	} else if (rc == 1 && (e->distribution_point = strdup(uri)) == NULL)
		return ERR_NOMEM;
	rc = yamldoc_get_bool(doc, map, "issuing_distribution_point", 0,
	    &e->idp);
	if (rc < 0)
		bad = 1;
	else if (e->idp && uri == NULL) {
		yamldoc_error(doc, crlpolicy_at(doc, map,
		    "issuing_distribution_point"), "an issuing distribution "
		    "point needs distribution_point");
		bad = 1;
	}
	if (yamldoc_check_unknown(doc, map) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static int
crlpolicy_body(struct yamldoc *doc, struct crlpolicy *out)
{
	const struct yamldoc_node *root = doc->root, *def = NULL, *cas = NULL;
	size_t i;
	int bad = 0, r;

	if (root->kind != YAMLDOC_MAP)
		return yamldoc_error(doc, root, "the CRL policy is a mapping "
		    "with 'default' and, optionally, 'cas'");
	if (yamldoc_get_map(doc, root, "default", 1, &def) < 0)
		bad = 1;
	else if ((r = crlpolicy_entry(doc, def, &out->def)) == ERR_NOMEM)
		return r;
	else if (r != 0)
		bad = 1;
	r = yamldoc_get_map(doc, root, "cas", 0, &cas);
	if (r < 0)
		bad = 1;
	else if (r == 1 && cas->n > CRLPOLICY_MAX_CAS) {
		yamldoc_error(doc, cas, "at most %d CAs may be named",
		    CRLPOLICY_MAX_CAS);
		bad = 1;
	} else if (r == 1 && cas->n > 0) {
		if ((out->v = calloc(cas->n, sizeof(*out->v))) == NULL)
			return ERR_NOMEM;
		for (i = 0; i < cas->n; i++) {
			struct crlpolicy_entry *e = &out->v[out->n];
			const char *name = cas->pairs[i].key;

			cas->pairs[i].used = 1;
			if (name[0] == '\0' || strlen(name) >
			    CRLPOLICY_NAME_MAX || !text_clean(name)) {
				yamldoc_error(doc, cas->pairs[i].value, "a CA "
				    "name is 1 to %d printable characters",
				    CRLPOLICY_NAME_MAX);
				bad = 1;
				continue;
			}
			if ((e->ca = strdup(name)) == NULL)
				return ERR_NOMEM;
			out->n++;
			if ((r = crlpolicy_entry(doc, cas->pairs[i].value,
			    e)) == ERR_NOMEM)
				return r;
			if (r != 0)
				bad = 1;
		}
	}
	if (yamldoc_check_unknown(doc, root) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

/* Parses doc into out; the first problem (and a count) goes to err. */
static int
crlpolicy_doc(struct yamldoc *doc, const char *file, struct crlpolicy *out,
    diag_t *diag, err_t *err)
{
	char first[ERR_MSG_MAX];
	size_t before = diag_count(diag);
	int r;

	yamldoc_set_diag(doc, diag);
	if ((out->file = strdup(file)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	r = crlpolicy_body(doc, out);
	if (r == ERR_NOMEM)
		return err_set(err, ERR_NOMEM, "%s: out of memory", file);
	if (r == 0 && diag_count(diag) == before)
		return 0;
	if (diag_count(diag) == before)
		return err_set(err, ERR_INVALID, "%s: the CRL policy is "
		    "invalid", file);
	diag_format(diag, before, first, sizeof(first));
	if (diag_count(diag) - before > 1)
		return err_set(err, ERR_INVALID, "%s (and %zu more)", first,
		    diag_count(diag) - before - 1);
	return err_set(err, ERR_INVALID, "%s", first);
}

/* Shared by parse and load: doc (may be NULL after a failed read). */
static int
crlpolicy_finish(struct yamldoc *doc, int r, const char *file,
    struct crlpolicy *out, diag_t *diag, err_t *err)
{
	diag_t local;
	err_t lerr;

	diag_init(&local);
	if (diag == NULL)
		diag = &local;
	if (err == NULL)
		err = &lerr;
	if (r == 0)
		r = crlpolicy_doc(doc, file, out, diag, err);
	else
		(void)diag_add(diag, NULL, 0, NULL, "%s", err->msg);
	yamldoc_free(doc);
	diag_free(&local);
	if (r != 0)
		crlpolicy_free(out);
	return r;
}

int
crlpolicy_parse(const char *file, const void *data, size_t len,
    struct crlpolicy *out, diag_t *diag, err_t *err)
{
	struct yamldoc_limits lim = yamldoc_default_limits;
	struct yamldoc *doc = NULL;
	err_t lerr;
	int r;

	memset(out, 0, sizeof(*out));
	if (err == NULL)
		err = &lerr;
	lim.max_bytes = CRLPOLICY_MAX_BYTES;
	r = yamldoc_parse(file, data, len, &lim, &doc, err);
	return crlpolicy_finish(doc, r, file, out, diag, err);
}

int
crlpolicy_load(const char *path, struct crlpolicy *out, diag_t *diag,
    err_t *err)
{
	struct yamldoc_limits lim = yamldoc_default_limits;
	struct yamldoc *doc = NULL;
	unsigned char sha[32];
	err_t lerr;
	int r;

	memset(out, 0, sizeof(*out));
	if (err == NULL)
		err = &lerr;
	lim.max_bytes = CRLPOLICY_MAX_BYTES;
	r = yamldoc_load_hashed(path, &lim, sha, &doc, err);
	if ((r = crlpolicy_finish(doc, r, path, out, diag, err)) == 0)
		memcpy(out->sha256, sha, sizeof(sha));
	return r;
}

const struct crlpolicy_entry *
crlpolicy_for(const struct crlpolicy *p, const char *ca_name)
{
	size_t i;

	for (i = 0; ca_name != NULL && i < p->n; i++)
		if (strcmp(p->v[i].ca, ca_name) == 0)
			return &p->v[i];
	return &p->def;
}

int
crlpolicy_check_profile(const struct crlpolicy *pol, const struct profile *p,
    err_t *err)
{
	const struct crlpolicy_entry *e;
	const struct certspec_strlist *dp;
	const char *pfile, *cfile;
	char list[512];
	size_t i, w = 0;

	if (pol == NULL || p == NULL || p->issuer == NULL || p->name == NULL)
		return err_set(err, ERR_INVALID, "crlpolicy_check_profile "
		    "needs the CRL policy and a profile");
	if (!p->enabled)
		return 0;
	pfile = p->path != NULL ? p->path : "the profile";
	cfile = pol->file != NULL ? pol->file : "the CRL policy";
	e = crlpolicy_for(pol, p->issuer);
	dp = &p->ext.crl_dp;
	if (e->distribution_point == NULL)
		return 0;
	if (dp->n == 0)
		return e->idp ? err_set(err, 1, "profile %s: its certificates "
		    "name no CRL distribution point, but the CRLs of CA %s "
		    "carry the issuing distribution point %s, so relying "
		    "parties that check it (OpenSSL) find them outside the "
		    "scope of those CRLs; add it to crl_distribution_points in "
		    "%s, or set issuing_distribution_point: false in %s",
		    p->name,
		    p->issuer, e->distribution_point, pfile, cfile) : 0;
	for (i = 0; i < dp->n; i++)
		if (strcmp(dp->v[i], e->distribution_point) == 0)
			return 0;
	list[0] = '\0';
	for (i = 0; i < dp->n && w < sizeof(list); i++)
		w += (size_t)snprintf(list + w, sizeof(list) - w, "%s%s",
		    i > 0 ? ", " : "", dp->v[i]);
	if (e->idp)
		return err_set(err, ERR_POLICY, "profile %s: its certificates "
		    "name the CRL distribution point%s %s, but the CRLs of CA "
		    "%s carry the issuing distribution point %s (%s, line "
		    "%lu): relying parties would refuse the CRL for those "
		    "certificates (different CRL scope); make %s and the CRL "
		    "policy name the same URI", p->name, dp->n > 1 ? "s" : "",
		    list, p->issuer, e->distribution_point, cfile, e->line,
		    pfile);
	return err_set(err, ERR_POLICY, "profile %s: its certificates name the "
	    "CRL distribution point%s %s, but the CRL policy (%s, line %lu) "
	    "publishes the CRLs of CA %s at %s: relying parties would look "
	    "for the CRL where it is not; make %s and the CRL policy name the "
	    "same URI", p->name, dp->n > 1 ? "s" : "", list, cfile, e->line,
	    p->issuer, e->distribution_point, pfile);
}
