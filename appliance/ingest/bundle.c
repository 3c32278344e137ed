/*
 * bundle.c: a request bundle opened and checked from end to end (see
 * bundle.h for the stages and docs/formats/bundle.md, section 5).
 */
#include "ingest/bundle.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "export/package.h"
#include "ingest/csr.h"
#include "ingest/csv.h"
#include "pki/certinfo.h"
#include "pki/pkiutil.h"
#include "pki/roles.h"
#include "util/text.h"

/* Characters of an untrusted value quoted in a message. */
#define BUNDLE_SHOW_MAX 64
/* Distinct key descriptions summarised; more are counted as "other". */
#define BUNDLE_MAX_KEY_KINDS 16

static const char *const bundle_stage_names[] = {
	"none", "envelope", "signer", "archive", "manifest", "profile",
	"input", "output"
};

const char *
bundle_stage_name(enum bundle_stage s)
{
	return (unsigned)s <= BUNDLE_STAGE_OUTPUT ? bundle_stage_names[s] :
	    "none";
}

/* --- csv fields ---------------------------------------------------------- */

/* The subject columns of a csv line, in the order fields are written. */
static const struct {
	enum csv_col col;
	int nid;
} bundle_field_map[] = {
	{ CSV_COL_COMMON_NAME, NID_commonName },
	{ CSV_COL_COUNTRY, NID_countryName },
	{ CSV_COL_STATE, NID_stateOrProvinceName },
	{ CSV_COL_LOCALITY, NID_localityName },
	{ CSV_COL_ORGANIZATION, NID_organizationName },
	{ CSV_COL_ORGANIZATIONAL_UNIT, NID_organizationalUnitName },
	{ CSV_COL_EMAIL, NID_pkcs9_emailAddress },
};
#define BUNDLE_NFIELDS (sizeof(bundle_field_map) / sizeof(bundle_field_map[0]))

void
bundle_fields_free(struct bundle_fields *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->subject.n; i++)
		free(f->subject.attrs[i].value);
	free(f->subject.attrs);
	for (i = 0; i < f->san.n; i++)
		free(f->san.v[i].value);
	free(f->san.v);
	memset(f, 0, sizeof(*f));
}

/* Splits a dns list ("a.example;b.example") into DNS SANs. */
static int
bundle_fields_dns(const char *v, size_t vlen, struct bundle_fields *out,
    err_t *err)
{
	size_t i, start = 0, n = 1;

	for (i = 0; i < vlen; i++)
		if (v[i] == ';')
			n++;
	if (n > CSV_DNS_NAMES_MAX)
		return err_set(err, ERR_INVALID, "fields: dns holds more than "
		    "%u names", CSV_DNS_NAMES_MAX);
	if ((out->san.v = calloc(n, sizeof(*out->san.v))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i <= vlen; i++) {
		struct certspec_gn *g;

		if (i < vlen && v[i] != ';')
			continue;
		if (i == start || i - start > CSR_SAN_VALUE_MAX)
			return err_set(err, ERR_INVALID, "fields: dns has an "
			    "empty name or one over %u bytes",
			    CSR_SAN_VALUE_MAX);
		g = &out->san.v[out->san.n];
		g->type = CERTSPEC_GN_DNS;
		if ((g->value = strndup(v + start, i - start)) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		out->san.n++;
		start = i + 1;
	}
	return 0;
}

int
bundle_fields_parse(const char *fields, struct bundle_fields *out,
    err_t *err)
{
	const char *p = fields;
	int seen[CSV_COL_COUNT] = { 0 };
	int r;

	memset(out, 0, sizeof(*out));
	if (fields == NULL)
		return 0;
	/* The text may come back from the store: bounded like a CSV record. */
	if (strlen(fields) > CSV_LINE_MAX)
		return err_set(err, ERR_LIMIT, "fields: longer than %u bytes",
		    CSV_LINE_MAX);
	if ((out->subject.attrs = calloc(BUNDLE_NFIELDS,
	    sizeof(*out->subject.attrs))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	while (*p != '\0') {
		const char *end = strchr(p, '\n'), *eq;
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		size_t klen, k;
		int col = -1;

		eq = memchr(p, '=', len);
		if (eq == NULL || eq == p || eq + 1 == p + len) {
			r = err_set(err, ERR_INVALID, "fields: a record is not "
			    "key=value with both parts non-empty");
			goto fail;
		}
		klen = (size_t)(eq - p);
		for (k = 0; k < CSV_COL_COUNT; k++) {
			const char *name = csv_col_name((enum csv_col)k);

			if (name != NULL && strlen(name) == klen &&
			    memcmp(name, p, klen) == 0)
				col = (int)k;
		}
		if (col < 0 || col == CSV_COL_MAC || col == CSV_COL_CSR_FILE) {
			r = err_set(err, ERR_INVALID, "fields: unknown key '%.*s'",
			    (int)(klen > 32 ? 32 : klen), p);
			goto fail;
		}
		if (seen[col]++) {
			r = err_set(err, ERR_INVALID, "fields: key '%s' appears "
			    "twice", csv_col_name((enum csv_col)col));
			goto fail;
		}
		if (col == CSV_COL_DNS) {
			if ((r = bundle_fields_dns(eq + 1, len - klen - 1, out,
			    err)) != 0)
				goto fail;
		} else {
			struct certspec_attr *a =
			    &out->subject.attrs[out->subject.n];

			for (k = 0; k < BUNDLE_NFIELDS; k++)
				if ((int)bundle_field_map[k].col == col)
					a->nid = bundle_field_map[k].nid;
			if ((a->value = strndup(eq + 1, len - klen - 1)) ==
			    NULL) {
				r = err_set(err, ERR_NOMEM, "out of memory");
				goto fail;
			}
			out->subject.n++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
fail:
	bundle_fields_free(out);
	return r;
}

/* The fields text of a csv row: its non-empty subject and dns columns. */
static int
bundle_row_fields(const struct csv_batch *cb, const struct csv_row *row,
    char **out)
{
	static const enum csv_col order[] = {
		CSV_COL_COMMON_NAME, CSV_COL_COUNTRY, CSV_COL_STATE,
		CSV_COL_LOCALITY, CSV_COL_ORGANIZATION,
		CSV_COL_ORGANIZATIONAL_UNIT, CSV_COL_EMAIL, CSV_COL_DNS
	};
	size_t i, len = 0;
	char *s;

	*out = NULL;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *v = csv_value(cb, row, order[i]);

		if (*v != '\0')
			len += strlen(csv_col_name(order[i])) + strlen(v) + 2;
	}
	if (len == 0)
		return 0;
	if ((s = malloc(len)) == NULL)
		return ERR_NOMEM;
	s[0] = '\0';
	len = 0;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *v = csv_value(cb, row, order[i]);

		if (*v == '\0')
			continue;
		len += (size_t)sprintf(s + len, "%s%s=%s", len ? "\n" : "",
		    csv_col_name(order[i]), v);
	}
	*out = s;
	return 0;
}

/* --- helpers ------------------------------------------------------------- */

/* Keeps in b only what identifies a refused file (see bundle_open). */
static void
bundle_strip(struct bundle *b)
{
	char bsha[65], ssha[65], id[37];
	struct bundle_signer signer = b->signer;

	memcpy(bsha, b->env.bundle_sha256, sizeof(bsha));
	memcpy(ssha, b->env.signer_sha256, sizeof(ssha));
	memcpy(id, b->man.id, sizeof(id));
	bundle_free(b);
	memcpy(b->env.bundle_sha256, bsha, sizeof(bsha));
	memcpy(b->env.signer_sha256, ssha, sizeof(ssha));
	memcpy(b->man.id, id, sizeof(id));
	b->signer = signer;
}

/* The CN of a request's subject as UTF-8 into out, or "" (0 / -1). */
static int
bundle_subject_cn(const X509_NAME *subject, char *out, size_t outsz)
{
	int k = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	unsigned char *u = NULL;
	int len;

	out[0] = '\0';
	if (k < 0)
		return -1;
	len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(subject, k)));
	if (len < 0 || u == NULL || (size_t)len >= outsz ||
	    strlen((char *)u) != (size_t)len) {
		OPENSSL_free(u);
		return -1;
	}
	memcpy(out, u, (size_t)len + 1);
	OPENSSL_free(u);
	return 0;
}

/* A request's SANs as profile_certspec takes them; free with the list. */
static int
bundle_csr_san(const struct csr_item *it, struct certspec_gnlist *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (it->nsans == 0)
		return 0;
	if ((out->v = calloc(it->nsans, sizeof(*out->v))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < it->nsans; i++) {
		struct certspec_gn *g = &out->v[i];
		const char *v = it->sans[i].value;

		switch (it->sans[i].type) {
		case CSR_SAN_DNS:
			g->type = CERTSPEC_GN_DNS;
			break;
		case CSR_SAN_EMAIL:
			g->type = CERTSPEC_GN_EMAIL;
			break;
		case CSR_SAN_URI:
			g->type = CERTSPEC_GN_URI;
			break;
		case CSR_SAN_IP:
		default:
			g->type = CERTSPEC_GN_IP;
			if (inet_pton(AF_INET, v, g->ip) == 1)
				g->ip_len = 4;
			else if (inet_pton(AF_INET6, v, g->ip) == 1)
				g->ip_len = 16;
			out->n++;
			continue;
		}
		if ((g->value = strdup(v)) == NULL)
			return ERR_NOMEM;
		out->n++;
	}
	return 0;
}

/* One line's dry run through the profile: 0, or the refusal in err. */
static int
bundle_dry_run(const struct profile *p, const struct profile_request *req,
    time_t now, time_t issuer_not_after, err_t *err)
{
	struct certspec cs;
	int r;

	r = profile_certspec(p, req, now, issuer_not_after, &cs, NULL, err);
	if (r == 0)
		certspec_free(&cs);
	return r;
}

/* Key descriptions and how many lines have each, for approvers. */
struct bundle_keycount {
	char desc[CSR_KEY_DESC_MAX];
	size_t n;
};

struct bundle_keys {
	struct bundle_keycount v[BUNDLE_MAX_KEY_KINDS];
	size_t n;
	size_t other;		/* kinds past the table */
	size_t generated;
};

static void
bundle_keys_add(struct bundle_keys *k, const char *desc)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->v[i].desc, desc) == 0) {
			k->v[i].n++;
			return;
		}
	if (k->n == BUNDLE_MAX_KEY_KINDS) {
		k->other++;
		return;
	}
	snprintf(k->v[k->n].desc, sizeof(k->v[k->n].desc), "%s", desc);
	k->v[k->n++].n = 1;
}

static int
bundle_keycount_cmp(const void *a, const void *b)
{
	const struct bundle_keycount *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->desc, y->desc);
}

/* "ec-p256 x 9998, rsa-2048 x 2", or "<gen> (generated by the appliance)". */
static void
bundle_keys_summary(struct bundle_keys *k, const struct profile *p,
    char *out, size_t outsz)
{
	const char *gen = p->can_generate ? profile_key_name(p->generate) :
	    "?";
	size_t i, used = 0;

	out[0] = '\0';
	if (k->n == 0 && k->other == 0) {
		snprintf(out, outsz, "%s (generated by the appliance)", gen);
		return;
	}
	qsort(k->v, k->n, sizeof(k->v[0]), bundle_keycount_cmp);
	for (i = 0; i < k->n && used < outsz; i++)
		used += (size_t)snprintf(out + used, outsz - used, "%s%s x %zu",
		    i ? ", " : "", k->v[i].desc, k->v[i].n);
	if (k->other > 0 && used < outsz)
		used += (size_t)snprintf(out + used, outsz - used,
		    ", other x %zu", k->other);
	if (k->generated > 0 && used < outsz)
		snprintf(out + used, outsz - used, ", %s x %zu (generated by "
		    "the appliance)", gen, k->generated);
}

/* --- the checks ---------------------------------------------------------- */

/* Everything stage 6 and 7 need, beside the bundle itself. */
struct bundle_ctx {
	const struct bundle_opts *o;
	struct bundle *b;
	struct archive *a;
	diag_t *diag;
	size_t input_problems;	/* diag items added by stage 6 */
	time_t issuer_not_after;
	struct bundle_keys keys;
	size_t cap;		/* lines allocated */
	int nomem;
};

static void
bundle_problem(struct bundle_ctx *c, const char *file, unsigned long line,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
bundle_problem(struct bundle_ctx *c, const char *file, unsigned long line,
    const char *field, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (diag_add(c->diag, file, line, field, "%s", msg) != 0)
		c->nomem = 1;
}

/* Appends an empty line and returns it, or NULL when memory ran out. */
static struct bundle_line *
bundle_push_line(struct bundle_ctx *c)
{
	struct bundle *b = c->b;

	if (b->n_lines == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct bundle_line *nv;

		if (ncap > PROFILE_MAX_BATCH + 1)
			ncap = PROFILE_MAX_BATCH + 1;
		if (ncap <= c->cap ||
		    (nv = realloc(b->lines, ncap * sizeof(*nv))) == NULL) {
			c->nomem = 1;
			return NULL;
		}
		b->lines = nv;
		c->cap = ncap;
	}
	memset(&b->lines[b->n_lines], 0, sizeof(b->lines[0]));
	return &b->lines[b->n_lines++];
}

/*
 * The MAC a request line carries under a profile that takes its CN from
 * the MAC: the row's, else the request's CN read as a MAC address (a
 * DOCSIS CSR names its modem that way). 1 when there is one.
 */
static int
bundle_mac_from_cn(const char *cn, unsigned char mac[MAC_LEN])
{
	err_t e;

	return cn[0] != '\0' && mac_parse(cn, mac, &e) == 0;
}

/*
 * Sets a request line's name: the formatted MAC under cn: mac, else the
 * requested CN (csv: common_name; csr: the CSR's CN). Falls back to what
 * there is, so that a line the dry run refuses still has a name.
 */
static int
bundle_line_name(const struct profile *p, struct bundle_line *l,
    const char *cn)
{
	if (l->has_mac && (p->cn == PROFILE_CN_MAC || cn[0] == '\0')) {
		char mac[MAC_STR_MAX];

		if (mac_format(l->mac, p->cn == PROFILE_CN_MAC ?
		    p->mac_format : MAC_STYLE_COLON_UPPER, mac,
		    sizeof(mac)) != 0)
			return ERR_INTERNAL;
		l->name = strdup(mac);
	} else {
		l->name = strdup(cn[0] != '\0' ? cn : "(no name)");
	}
	return l->name != NULL ? 0 : ERR_NOMEM;
}

/* Stage 6, mac-range: two dry runs stand for all (the lines are alike). */
static void
bundle_input_range(struct bundle_ctx *c)
{
	struct bundle *b = c->b;
	const struct profile *p = b->profile;
	const struct mac_range *r = &b->man.req.range;
	uint32_t ends[2];
	size_t i;

	b->n_lines = r->count;
	b->generates_keys = 1;
	c->keys.generated = r->count;
	if (!p->can_generate) {
		bundle_problem(c, MANIFEST_NAME, 0, "input.mode", "profile %s "
		    "does not let the appliance generate keys, and mode "
		    "mac-range needs generated keys; send CSRs", p->name);
		return;
	}
	ends[0] = 0;
	ends[1] = r->count - 1;
	for (i = 0; i < (r->count > 1 ? 2u : 1u); i++) {
		struct profile_request req = { 0 };
		err_t e;

		req.has_mac = 1;
		mac_range_nth(r, ends[i], req.mac);
		if (bundle_dry_run(p, &req, c->o->env.now, c->issuer_not_after,
		    &e) != 0) {
			char shown[MAC_STR_MAX];

			mac_format(req.mac, MAC_STYLE_COLON_LOWER, shown,
			    sizeof(shown));
			bundle_problem(c, MANIFEST_NAME, 0, "input", "Line %lu - "
			    "MAC %s: %s", (unsigned long)ends[i] + 1, shown,
			    e.msg);
		}
	}
}

/*
 * One parsed request becomes line l (already pushed): its key checked,
 * its MAC and name found, its subject dry-run, its DER kept. where is the
 * message's prefix ("Line 12 - Request 3" or "Request 1"). row_mac is the
 * csv row's MAC, when it has one.
 */
static void
bundle_take_request(struct bundle_ctx *c, const struct csr_item *it,
    struct bundle_line *l, const char *file, const char *where)
{
	const struct profile *p = c->b->profile;
	struct profile_request req = { 0 };
	struct certspec_gnlist san;
	char cn[BUNDLE_NAME_MAX], field[32];
	unsigned char *der = NULL;
	int len;
	err_t e;

	snprintf(field, sizeof(field), "request %zu", it->index);
	bundle_keys_add(&c->keys, it->key_desc);
	if (profile_check_key(p, it->pub, 1, &e) != 0)
		bundle_problem(c, file, it->line, field, "%s: %s", where,
		    e.msg);
	(void)bundle_subject_cn(it->subject, cn, sizeof(cn));
	if (!l->has_mac && p->cn == PROFILE_CN_MAC)
		l->has_mac = bundle_mac_from_cn(cn, l->mac);
	if (bundle_line_name(p, l, cn) != 0) {
		c->nomem = 1;
		return;
	}
	if (p->cn == PROFILE_CN_MAC && !l->has_mac) {
		char shown[300];

		bundle_problem(c, file, it->line, field, "%s: profile %s takes "
		    "the common name from the device's MAC address; the "
		    "request's CN '%s' is not a MAC address", where, p->name,
		    text_show(cn, strlen(cn), BUNDLE_SHOW_MAX, shown,
		    sizeof(shown)));
	} else {
		if (bundle_csr_san(it, &san) != 0) {
			certspec_gnlist_free(&san);
			c->nomem = 1;
			return;
		}
		req.has_mac = l->has_mac;
		memcpy(req.mac, l->mac, MAC_LEN);
		req.subject = it->subject;
		req.san = san.n > 0 ? &san : NULL;
		if (bundle_dry_run(p, &req, c->o->env.now,
		    c->issuer_not_after, &e) != 0)
			bundle_problem(c, file, it->line, field, "%s: %s", where,
			    e.msg);
		certspec_gnlist_free(&san);
	}
	len = i2d_X509_REQ(it->req, &der);
	if (len <= 0) {
		c->nomem = 1;
		return;
	}
	l->request_der = malloc((size_t)len);
	if (l->request_der == NULL) {
		OPENSSL_free(der);
		c->nomem = 1;
		return;
	}
	memcpy(l->request_der, der, (size_t)len);
	l->request_der_len = (size_t)len;
	OPENSSL_free(der);
}

/* Reads an archive entry and parses the requests in it. */
static int
bundle_read_csrs(struct bundle_ctx *c, const char *name,
    struct csr_list *list)
{
	buf_t data;
	err_t e;
	int r;

	csr_list_init(list);
	r = archive_read(c->a, name, CSR_INPUT_MAX, &data, &e);
	if (r == 0)
		r = csr_parse_all(name, data.data, data.len, list, c->diag);
	else if (diag_add(c->diag, name, 0, NULL, "%s", e.msg) != 0)
		c->nomem = 1;
	if (r == ERR_NOMEM)
		c->nomem = 1;
	buf_free(&data);
	return r;
}

static int
bundle_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Stage 6, csr: every request of every file, in file order. */
static void
bundle_input_csr(struct bundle_ctx *c)
{
	const struct manifest_request *q = &c->b->man.req;
	const char **names = NULL;
	size_t n = 0, i, j;

	if (q->directory != NULL) {
		size_t dl = strlen(q->directory), total = archive_count(c->a);

		if ((names = calloc(total + 1, sizeof(*names))) == NULL) {
			c->nomem = 1;
			return;
		}
		for (i = 0; i < total; i++)
			if (!archive_is_dir(c->a, i) && strncmp(archive_name(
			    c->a, i), q->directory, dl) == 0)
				names[n++] = archive_name(c->a, i);
		/* Archive order is the packer's; name order is the same for
		 * every tool that made the archive. */
		qsort(names, n, sizeof(*names), bundle_strcmp);
	} else {
		if ((names = calloc(q->n_files + 1, sizeof(*names))) == NULL) {
			c->nomem = 1;
			return;
		}
		for (i = 0; i < q->n_files; i++)
			names[n++] = q->files[i];
	}
	for (i = 0; i < n && !c->nomem; i++) {
		struct csr_list list;

		if (bundle_read_csrs(c, names[i], &list) != 0)
			continue;
		for (j = 0; j < list.n && !c->nomem; j++) {
			const struct csr_item *it = &list.items[j];
			struct bundle_line *l;
			char where[64];

			if (c->b->n_lines >= (size_t)c->b->profile->max_batch) {
				bundle_problem(c, names[i], it->line, NULL,
				    "The bundle holds more than the %ld "
				    "requests profile %s allows in one batch",
				    c->b->profile->max_batch,
				    c->b->profile->name);
				break;
			}
			if ((l = bundle_push_line(c)) == NULL)
				break;
			l->src_line = it->line;
			if (it->line > 0)
				snprintf(where, sizeof(where), "Line %lu - "
				    "Request %zu", it->line, it->index);
			else
				snprintf(where, sizeof(where), "Request %zu",
				    it->index);
			bundle_take_request(c, it, l, names[i], where);
		}
		csr_list_free(&list);
	}
	free(names);
}

/*
 * The archive path of a csv row's csr_file: in input.directory when the
 * manifest gives one, else beside the CSV file.
 */
static int
bundle_csr_path(const struct manifest_request *q, const char *name,
    char *out, size_t outsz)
{
	const char *slash = strrchr(q->csv_file, '/');
	int dl = slash != NULL ? (int)(slash - q->csv_file + 1) : 0;
	int n;

	if (q->directory != NULL)
		n = snprintf(out, outsz, "%s%s", q->directory, name);
	else
		n = snprintf(out, outsz, "%.*s%s", dl, q->csv_file, name);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* Stage 6, csv: one line per row; rows with csr_file bring a request. */
static void
bundle_input_csv_rows(struct bundle_ctx *c, const struct csv_batch *cb)
{
	const struct profile *p = c->b->profile;
	const char *file = c->b->man.req.csv_file;
	size_t i;

	for (i = 0; i < cb->nrows && !c->nomem; i++) {
		const struct csv_row *row = &cb->rows[i];
		const char *csrf = csv_value(cb, row, CSV_COL_CSR_FILE);
		const char *cn = csv_value(cb, row, CSV_COL_COMMON_NAME);
		struct bundle_line *l;
		char where[48];
		err_t e;

		if ((l = bundle_push_line(c)) == NULL)
			break;
		l->src_line = row->line;
		l->has_mac = row->has_mac;
		memcpy(l->mac, row->mac, MAC_LEN);
		if (bundle_row_fields(cb, row, &l->fields) != 0) {
			c->nomem = 1;
			break;
		}
		snprintf(where, sizeof(where), "Line %lu", row->line);
		if (*csrf != '\0') {
			struct csr_list list;
			char path[512], rcn[BUNDLE_NAME_MAX];
			size_t k;

			if (bundle_csr_path(&c->b->man.req, csrf, path,
			    sizeof(path)) != 0 ||
			    archive_find(c->a, path) < 0) {
				bundle_problem(c, file, row->line, "csr_file",
				    "Line %lu - Incorrect value of field "
				    "'csr_file': '%s' is not in the archive",
				    row->line, csrf);
				(void)bundle_line_name(p, l, cn);
				continue;
			}
			/* The CSR gives the subject: no other to merge. */
			for (k = CSV_COL_COUNTRY; k <= CSV_COL_DNS; k++)
				if (*csv_value(cb, row, (enum csv_col)k) != '\0')
					bundle_problem(c, file, row->line,
					    csv_col_name((enum csv_col)k),
					    "Line %lu - Incorrect value of "
					    "field '%s': a row with csr_file "
					    "takes its subject from the request; "
					    "leave %s empty", row->line,
					    csv_col_name((enum csv_col)k),
					    csv_col_name((enum csv_col)k));
			if (bundle_read_csrs(c, path, &list) != 0) {
				(void)bundle_line_name(p, l, cn);
				continue;
			}
			if (list.n != 1) {
				bundle_problem(c, file, row->line, "csr_file",
				    "Line %lu - Incorrect value of field "
				    "'csr_file': '%s' holds %zu requests; a row "
				    "names exactly one", row->line, csrf,
				    list.n);
				csr_list_free(&list);
				(void)bundle_line_name(p, l, cn);
				continue;
			}
			(void)bundle_subject_cn(list.items[0].subject, rcn,
			    sizeof(rcn));
			if (*cn != '\0' && strcmp(cn, rcn) != 0)
				bundle_problem(c, file, row->line,
				    "common_name", "Line %lu - Incorrect value "
				    "of field 'common_name': the request in "
				    "'%s' has another CN", row->line, csrf);
			bundle_take_request(c, &list.items[0], l, file, where);
			csr_list_free(&list);
			continue;
		}
		/* No request: the appliance makes the key from the fields. */
		c->keys.generated++;
		c->b->generates_keys = 1;
		if (bundle_line_name(p, l, cn) != 0) {
			c->nomem = 1;
			break;
		}
		if (!p->can_generate) {
			bundle_problem(c, file, row->line, "csr_file", "Line %lu "
			    "- Required field 'csr_file' is empty: profile %s "
			    "does not let the appliance generate keys",
			    row->line, p->name);
		} else {
			struct profile_request req = { 0 };
			struct bundle_fields f;

			if (bundle_fields_parse(l->fields, &f, &e) != 0) {
				bundle_problem(c, file, row->line, NULL,
				    "%s - %s", where, e.msg);
				continue;
			}
			req.has_mac = l->has_mac;
			memcpy(req.mac, l->mac, MAC_LEN);
			req.fields = f.subject.n > 0 ? &f.subject : NULL;
			req.san = f.san.n > 0 ? &f.san : NULL;
			if (bundle_dry_run(p, &req, c->o->env.now,
			    c->issuer_not_after, &e) != 0)
				bundle_problem(c, file, row->line, NULL,
				    "%s - %s", where, e.msg);
			bundle_fields_free(&f);
		}
	}
}

/* Which csr_file entries a csv names, as manifest_check_archive files. */
static int
bundle_csv_named(const struct csv_batch *cb,
    const struct manifest_request *q, const struct archive *a, char ***out,
    size_t *n)
{
	char path[512];
	size_t i;

	*out = NULL;
	*n = 0;
	if (!cb->present[CSV_COL_CSR_FILE])
		return 0;
	if ((*out = calloc(cb->nrows + 1, sizeof(**out))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < cb->nrows; i++) {
		const char *v = csv_value(cb, &cb->rows[i], CSV_COL_CSR_FILE);
		size_t k;

		if (*v == '\0' || bundle_csr_path(q, v, path,
		    sizeof(path)) != 0 || archive_find(a, path) < 0)
			continue;
		for (k = 0; k < *n; k++)
			if (strcmp((*out)[k], path) == 0)
				break;
		if (k < *n)
			continue;
		if (((*out)[*n] = strdup(path)) == NULL)
			return ERR_NOMEM;
		(*n)++;
	}
	return 0;
}

/*
 * With input.directory, every file in it must be some row's csr_file: a
 * request nobody asked for is not signed quietly, nor left unexplained.
 */
static int
bundle_csv_unnamed(const struct manifest_request *q, const struct archive *a,
    char *const *named, size_t n_named, diag_t *diag)
{
	size_t dl = strlen(q->directory), i, k;
	int r = 0;

	for (i = 0; i < archive_count(a); i++) {
		const char *name = archive_name(a, i);
		char shown[512];

		if (archive_is_dir(a, i) || strncmp(name, q->directory, dl) != 0)
			continue;
		for (k = 0; k < n_named; k++)
			if (strcmp(named[k], name) == 0)
				break;
		if (k < n_named)
			continue;
		(void)diag_add(diag, MANIFEST_NAME, 0, "input.directory",
		    "archive entry '%s' is named by no row's csr_file",
		    archive_show_name(name, strlen(name), shown,
		    sizeof(shown)));
		r = ERR_INVALID;
	}
	return r;
}

static void
bundle_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Line indexes sorted by name or by MAC (ctx: the lines), for qsort_r. */
static int
bundle_by_name(const void *a, const void *b, void *ctx)
{
	const struct bundle_line *v = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(v[x].name, v[y].name);

	return r != 0 ? r : (x < y ? -1 : x > y);
}

static int
bundle_by_mac(const void *a, const void *b, void *ctx)
{
	const struct bundle_line *v = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = memcmp(v[x].mac, v[y].mac, MAC_LEN);

	return r != 0 ? r : (x < y ? -1 : x > y);
}

/*
 * No name or MAC twice in the batch (csv.h finds repeats within the CSV;
 * this also covers CSR files and names a MAC and a CN could share).
 */
static void
bundle_check_dups(struct bundle_ctx *c, const char *file)
{
	struct bundle *b = c->b;
	size_t *ix, i, first;
	int pass;

	if (b->n_lines < 2)
		return;
	if ((ix = calloc(b->n_lines, sizeof(*ix))) == NULL) {
		c->nomem = 1;
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		size_t n = 0;

		for (i = 0; i < b->n_lines; i++)
			if (b->lines[i].name != NULL &&
			    (pass == 0 || b->lines[i].has_mac))
				ix[n++] = i;
		qsort_r(ix, n, sizeof(*ix), pass == 0 ? bundle_by_name :
		    bundle_by_mac, b->lines);
		for (i = 1, first = 0; i < n; i++) {
			const struct bundle_line *x = &b->lines[ix[first]];
			const struct bundle_line *y = &b->lines[ix[i]];
			char shown[300], mac[MAC_STR_MAX];

			if (pass == 0 ? strcmp(x->name, y->name) != 0 :
			    memcmp(x->mac, y->mac, MAC_LEN) != 0) {
				first = i;
				continue;
			}
			if (pass == 0)
				text_show(y->name, strlen(y->name),
				    BUNDLE_SHOW_MAX, shown, sizeof(shown));
			else
				mac_format(y->mac, MAC_STYLE_COLON_LOWER, mac,
				    sizeof(mac));
			/* A csv names its own lines; otherwise the batch's. */
			bundle_problem(c, file, file != NULL ? y->src_line : 0,
			    pass ? "mac" : "name", "%s %lu - Duplicate %s "
			    "%s%s%s: it is already %s %lu",
			    file != NULL ? "Line" : "Batch line",
			    file != NULL ? y->src_line :
			    (unsigned long)ix[i] + 1, pass ? "MAC" : "name",
			    pass ? "" : "'", pass ? mac : shown,
			    pass ? "" : "'", file != NULL ? "on line" :
			    "batch line", file != NULL ? x->src_line :
			    (unsigned long)ix[first] + 1);
		}
	}
	free(ix);
}

/* Stage 6, csv: the file, its rows, their requests. */
static void
bundle_input_csv(struct bundle_ctx *c, struct csv_batch *cb)
{
	if ((long)cb->nrows > c->b->profile->max_batch) {
		bundle_problem(c, c->b->man.req.csv_file, 0, NULL, "The file "
		    "has %zu rows; profile %s allows at most %ld in one batch",
		    cb->nrows, c->b->profile->name,
		    c->b->profile->max_batch);
		return;
	}
	bundle_input_csv_rows(c, cb);
}

/* Stage 7: the output options against the lines. */
static void
bundle_output(struct bundle_ctx *c)
{
	struct bundle *b = c->b;
	const struct manifest_request *q = &b->man.req;
	const char *fmt = manifest_format_name(q->format);

	if (q->format == MANIFEST_FORMAT_SMPB) {
		buf_t data;
		X509 *x = NULL;
		err_t e;

		if (q->recipient == NULL) {
			bundle_problem(c, MANIFEST_NAME, 0, "output.recipient",
			    "format smpb needs a recipient certificate");
		} else if (archive_read(c->a, q->recipient, PKI_CERT_FILE_MAX,
		    &data, &e) != 0) {
			bundle_problem(c, q->recipient, 0, "output.recipient",
			    "%s", e.msg);
			buf_free(&data);
		} else {
			if (pki_parse_cert(data.data, data.len, &x, &e) != 0)
				bundle_problem(c, q->recipient, 0,
				    "output.recipient", "%s", e.msg);
			buf_free(&data);
		}
		if (x != NULL) {
			EVP_PKEY *pk = X509_get0_pubkey(x);
			time_t now = c->o->env.now;

			if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
				bundle_problem(c, q->recipient, 0,
				    "output.recipient", "the recipient "
				    "certificate must hold an RSA key (SMPB "
				    "encrypts to it with RSA key transport)");
			if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0 ||
			    X509_cmp_time(X509_get0_notAfter(x), &now) < 0)
				bundle_problem(c, q->recipient, 0,
				    "output.recipient", "the recipient "
				    "certificate is not within its validity "
				    "now");
			if (pki_cert_der(x, &b->recipient_der, &e) != 0)
				c->nomem = 1;
			X509_free(x);
		}
	}
	if (q->format == MANIFEST_FORMAT_PKCS12) {
		if (q->p12_password == NULL ||
		    q->p12_password->len < EXPORT_P12_PASSWORD_MIN)
			bundle_problem(c, MANIFEST_NAME, 0,
			    "output.pkcs12.password", "the PKCS#12 password "
			    "must be at least %d bytes", EXPORT_P12_PASSWORD_MIN);
		size_t i;

		for (i = 0; b->lines != NULL && i < b->n_lines; i++)
			if (b->lines[i].request_der != NULL) {
				bundle_problem(c, MANIFEST_NAME, 0,
				    "output.format", "format pkcs12 needs every "
				    "key generated by the appliance, and line "
				    "%zu brings its own request (a CSR's key "
				    "is not ours to put in a PKCS#12)", i + 1);
				break;
			}
	}
	if (b->generates_keys && q->format != MANIFEST_FORMAT_SMPB &&
	    q->format != MANIFEST_FORMAT_PKCS12)
		bundle_problem(c, MANIFEST_NAME, 0, "output.format", "plaintext "
		    "keys asked for: the appliance generates %zu of the keys, "
		    "and format %s would write them in clear; use smpb or "
		    "pkcs12", c->keys.generated, fmt);
}

/*
 * Stages 4 and 6 of a revocation (bundle.md, section 6): the archive
 * holds the manifest and its targets file and nothing else, and the file's
 * targets join the inline ones. Whether they name certificates is the
 * intake's to say, against the records.
 */
static int
bundle_check_revocation(struct archive *a, struct bundle *out,
    enum bundle_stage *stage, diag_t *diag)
{
	struct manifest_revocation *v = &out->man.rev;
	buf_t data;
	err_t e;
	int r;

	*stage = BUNDLE_STAGE_MANIFEST;
	if ((r = manifest_check_archive(&out->man, a, diag)) != 0)
		return r;
	*stage = BUNDLE_STAGE_INPUT;
	if (v->targets_file != NULL) {
		r = archive_read(a, v->targets_file, TARGET_FILE_MAX, &data, &e);
		if (r == 0)
			r = target_parse_file(v->targets_file, data.data,
			    data.len, &v->targets, diag);
		else
			(void)diag_add(diag, v->targets_file, 0, NULL, "%s",
			    e.msg);
		buf_free(&data);
		if (r == ERR_NOMEM)
			*stage = BUNDLE_STAGE_NONE;
		if (r != 0)
			return r;
	}
	if (v->targets.n == 0) {
		(void)diag_add(diag, v->targets_file != NULL ? v->targets_file :
		    MANIFEST_NAME, 0, NULL, "the request names no target");
		return ERR_INVALID;
	}
	*stage = BUNDLE_STAGE_NONE;
	return 0;
}

/* Stages 3 to 7; *stage says where it stopped. */
static int
bundle_check(const char *label, const struct bundle_opts *o,
    struct bundle *out, enum bundle_stage *stage, diag_t *diag)
{
	struct bundle_ctx c;
	struct bundle_issuer iss = { 0 };
	struct csv_batch cb;
	buf_t mb;
	char **named = NULL;
	size_t n_named = 0, before;
	int64_t nb, na;
	err_t e;
	int r;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.b = out;
	c.diag = diag;
	csv_batch_init(&cb);
	buf_init(&mb, 0);

	*stage = BUNDLE_STAGE_ARCHIVE;
	if ((r = archive_open(label, out->env.content.data,
	    out->env.content.len, o->limits, &c.a, diag)) != 0)
		goto done;

	*stage = BUNDLE_STAGE_MANIFEST;
	if ((r = archive_read(c.a, MANIFEST_NAME, MANIFEST_MAX_BYTES, &mb,
	    &e)) != 0) {
		if (r == ERR_NOTFOUND) {
			r = ERR_INVALID;
			(void)diag_add(diag, label, 0, NULL, "the archive has no "
			    "%s at its root", MANIFEST_NAME);
		} else {
			(void)diag_add(diag, MANIFEST_NAME, 0, NULL, "%s", e.msg);
		}
		goto done;
	}
	buf_set_secret(&mb);	/* it may hold the PKCS#12 password */
	if ((r = manifest_parse(MANIFEST_NAME, mb.data, mb.len, &out->man,
	    diag)) != 0)
		goto done;
	if (out->man.kind == MANIFEST_KIND_REVOCATION) {
		r = bundle_check_revocation(c.a, out, stage, diag);
		goto done;
	}
	/* Only an operator orders certificates (officers may only ask for
	 * a revocation): the envelope's own message, at its stage. */
	if (out->env.signer_officer) {
		*stage = BUNDLE_STAGE_ENVELOPE;
		r = roles_check_role(out->env.signer, OIDS_ROLE_OPERATOR,
		    KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, "the signer",
		    "signing a request bundle", &e);
		if (r == 0)
			r = err_set(&e, ERR_INTERNAL, "the signer holds two "
			    "roles");
		(void)diag_add(diag, label, 0, NULL, "%s", e.msg);
		goto done;
	}
	if (manifest_has_secret(&out->man) && !out->env.encrypted) {
		r = ERR_POLICY;
		(void)diag_add(diag, MANIFEST_NAME, 0, "output.pkcs12.password",
		    "the manifest carries a PKCS#12 password, so the bundle "
		    "must be encrypted to the appliance transport certificate "
		    "(sign, then encrypt); a password never travels in clear");
		goto done;
	}
	/* A csv names its request files in its rows: read it first, so
	 * that those entries count as named (bundle.md, section 5). */
	if (out->man.req.mode == MANIFEST_INPUT_CSV) {
		buf_t data;

		r = archive_read(c.a, out->man.req.csv_file, CSV_MAX_BYTES,
		    &data, &e);
		if (r == 0) {
			r = csv_parse(out->man.req.csv_file, data.data,
			    data.len, &cb, diag);
		} else if (r != ERR_NOTFOUND) {
			(void)diag_add(diag, out->man.req.csv_file, 0, NULL,
			    "%s", e.msg);
		}
		buf_free(&data);
		if (r != 0 && r != ERR_NOTFOUND) {
			if (r != ERR_NOMEM)
				*stage = BUNDLE_STAGE_INPUT;
			goto done;
		}
		if (r == 0 && (r = bundle_csv_named(&cb, &out->man.req, c.a,
		    &named, &n_named)) != 0)
			goto done;
		if (r == 0 && out->man.req.directory != NULL &&
		    (r = bundle_csv_unnamed(&out->man.req, c.a, named,
		    n_named, diag)) != 0)
			goto done;
	}
	{
		struct manifest view = out->man;

		if (n_named > 0) {
			view.req.files = named;
			view.req.n_files = n_named;
		}
		if ((r = manifest_check_archive(&view, c.a, diag)) != 0)
			goto done;
	}

	*stage = BUNDLE_STAGE_PROFILE;
	if ((out->profile = profile_find(o->profiles,
	    out->man.req.profile)) == NULL) {
		r = ERR_POLICY;
		(void)diag_add(diag, MANIFEST_NAME, 0, "profile", "profile '%s' "
		    "does not exist on this appliance", out->man.req.profile);
		goto done;
	}
	if ((r = profile_usable(out->profile, &e)) != 0 ||
	    (r = profile_may_submit(out->profile, out->signer.name,
	    &e)) != 0) {
		(void)diag_add(diag, MANIFEST_NAME, 0, "profile", "%s", e.msg);
		goto done;
	}
	if (out->man.req.mode == MANIFEST_INPUT_MAC_RANGE &&
	    (long)out->man.req.range.count > out->profile->max_batch) {
		r = ERR_POLICY;
		(void)diag_add(diag, MANIFEST_NAME, 0, "input.count", "%lu "
		    "lines asked for; profile %s allows at most %ld in one "
		    "batch", (unsigned long)out->man.req.range.count,
		    out->profile->name, out->profile->max_batch);
		goto done;
	}
	r = o->issuer_lookup(o->lookup_ctx, out->profile->issuer, &iss, &e);
	if (r == ERR_NOTFOUND) {
		r = ERR_POLICY;
		(void)diag_add(diag, MANIFEST_NAME, 0, "profile", "profile %s "
		    "is issued by CA '%s', which this appliance does not hold",
		    out->profile->name, out->profile->issuer);
		goto done;
	}
	if (r != 0) {
		(void)diag_add(diag, NULL, 0, NULL, "%s", e.msg);
		*stage = BUNDLE_STAGE_NONE;
		goto done;
	}
	if (iss.cert == NULL || certinfo_validity(iss.cert, &nb, &na) != 0) {
		r = ERR_INTERNAL;
		(void)diag_add(diag, NULL, 0, NULL, "the issuer of profile %s "
		    "has no readable certificate", out->profile->name);
		*stage = BUNDLE_STAGE_NONE;
		goto done;
	}
	out->ca_id = iss.ca_id;
	c.issuer_not_after = (time_t)na;

	*stage = BUNDLE_STAGE_INPUT;
	before = diag_count(diag);
	switch (out->man.req.mode) {
	case MANIFEST_INPUT_MAC_RANGE:
		bundle_input_range(&c);
		break;
	case MANIFEST_INPUT_CSR:
		bundle_input_csr(&c);
		break;
	case MANIFEST_INPUT_CSV:
	default:
		bundle_input_csv(&c, &cb);
		break;
	}
	if (out->lines != NULL && !c.nomem)
		bundle_check_dups(&c, out->man.req.mode == MANIFEST_INPUT_CSV ?
		    out->man.req.csv_file : NULL);
	if (out->n_lines == 0 && diag_count(diag) == before)
		bundle_problem(&c, MANIFEST_NAME, 0, "input", "the bundle asks "
		    "for no certificate");
	c.input_problems = diag_count(diag) - before;
	bundle_output(&c);
	if (c.nomem) {
		r = ERR_NOMEM;
		*stage = BUNDLE_STAGE_NONE;
		goto done;
	}
	if (diag_count(diag) > before) {
		r = ERR_POLICY;
		if (c.input_problems == 0)
			*stage = BUNDLE_STAGE_OUTPUT;
		goto done;
	}
	bundle_keys_summary(&c.keys, out->profile, out->key_types,
	    sizeof(out->key_types));
	*stage = BUNDLE_STAGE_NONE;
	r = 0;
done:
	bundle_strv_free(named, n_named);
	csv_batch_free(&cb);
	buf_free(&mb);
	archive_close(c.a);
	return r;
}

/* Stage 2: who signed, by the appliance's records. */
static int
bundle_check_signer(const struct bundle_opts *o, struct bundle *out,
    diag_t *diag)
{
	const char *sha = out->env.signer_sha256;
	struct bundle_signer *s = &out->signer;
	err_t e;
	int r;

	r = o->signer_lookup(o->lookup_ctx, sha, s, &e);
	if (r == ERR_NOTFOUND) {
		memset(s, 0, sizeof(*s));
		(void)diag_add(diag, NULL, 0, "signer", "the bundle's signer "
		    "(certificate SHA-256 %s) is not enrolled on this "
		    "appliance", sha);
		return ERR_POLICY;
	}
	if (r != 0) {
		(void)diag_add(diag, NULL, 0, "signer", "%s", e.msg);
		return r;
	}
	/* The records must give the role the certificate holds. */
	if (strcmp(s->role, out->env.signer_officer ? "officer" :
	    "operator") != 0) {
		(void)diag_add(diag, NULL, 0, "signer", "the bundle's signer %s "
		    "(certificate SHA-256 %s) is enrolled as %s; %s", s->name,
		    sha, s->role, out->env.signer_officer ? "the certificate "
		    "holds the officer role" : "only an operator submits "
		    "bundles");
		return ERR_POLICY;
	}
	if (strcmp(s->status, "revoked") == 0) {
		(void)diag_add(diag, NULL, 0, "signer", "the bundle's signer %s "
		    "(certificate SHA-256 %s) has been revoked", s->name, sha);
		return ERR_POLICY;
	}
	if (strcmp(s->status, "locked") == 0) {
		(void)diag_add(diag, NULL, 0, "signer", "the bundle's signer %s "
		    "(certificate SHA-256 %s) is locked out; two officers must "
		    "clear the lock before this operator can submit bundles",
		    s->name, sha);
		return ERR_POLICY;
	}
	if (s->status[0] != '\0' && strcmp(s->status, "active") != 0) {
		(void)diag_add(diag, NULL, 0, "signer", "the bundle's signer %s "
		    "has status '%s', not active", s->name, s->status);
		return ERR_POLICY;
	}
	return 0;
}

/* Refusals are ERR_INVALID, ERR_POLICY or ERR_LIMIT; the rest retries. */
static int
bundle_is_refusal(int r)
{
	return r == ERR_INVALID || r == ERR_POLICY || r == ERR_LIMIT;
}

int
bundle_open(const char *label, const void *data, size_t len,
    const struct bundle_opts *o, struct bundle *out, enum bundle_stage *stage,
    diag_t *diag)
{
	size_t before = diag_count(diag);
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&out->recipient_der, PKI_CERT_FILE_MAX);
	*stage = BUNDLE_STAGE_NONE;
	if (o == NULL || o->profiles == NULL || o->signer_lookup == NULL ||
	    o->issuer_lookup == NULL) {
		(void)diag_add(diag, NULL, 0, NULL, "bundle_open: missing "
		    "options");
		return ERR_INTERNAL;
	}
	*stage = BUNDLE_STAGE_ENVELOPE;
	r = envelope_open(label, data, len, &o->env, &out->env, diag);
	if (r != 0) {
		if (!bundle_is_refusal(r))
			*stage = BUNDLE_STAGE_NONE;
		return r;
	}
	*stage = BUNDLE_STAGE_SIGNER;
	if ((r = bundle_check_signer(o, out, diag)) == 0)
		r = bundle_check(label, o, out, stage, diag);
	if (r == 0)
		return 0;
	if (!bundle_is_refusal(r))
		*stage = BUNDLE_STAGE_NONE;
	else if (diag_count(diag) == before)
		(void)diag_add(diag, label, 0, NULL, "refused");
	bundle_strip(out);
	return r;
}

int
bundle_line_get(void *ctx, int64_t i, struct queue_line_new *out,
    err_t *err)
{
	struct bundle *b = ctx;
	const struct bundle_line *l;

	memset(out, 0, sizeof(*out));
	if (b == NULL || b->profile == NULL || i < 1 ||
	    (uint64_t)i > b->n_lines)
		return err_set(err, ERR_INVALID, "no line %lld in the bundle",
		    (long long)i);
	if (b->lines == NULL) {
		unsigned char mac[MAC_LEN];

		mac_range_nth(&b->man.req.range, (uint32_t)(i - 1), mac);
		if (mac_format(mac, b->profile->mac_format, b->scratch_name,
		    sizeof(b->scratch_name)) != 0)
			return err_set(err, ERR_INTERNAL, "profile %s: no MAC "
			    "format", b->profile->name);
		buf_hex(mac, MAC_LEN, b->scratch_mac, sizeof(b->scratch_mac));
		out->name = b->scratch_name;
		out->mac = b->scratch_mac;
		return 0;
	}
	l = &b->lines[i - 1];
	out->name = l->name;
	if (l->has_mac) {
		buf_hex(l->mac, MAC_LEN, b->scratch_mac, sizeof(b->scratch_mac));
		out->mac = b->scratch_mac;
	}
	out->request_der = l->request_der;
	out->request_der_len = l->request_der_len;
	out->fields = l->fields;
	return 0;
}

void
bundle_free(struct bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	envelope_free(&b->env);
	manifest_free(&b->man);
	for (i = 0; b->lines != NULL && i < b->n_lines; i++) {
		free(b->lines[i].name);
		free(b->lines[i].request_der);
		free(b->lines[i].fields);
	}
	free(b->lines);
	buf_free(&b->recipient_der);
	memset(b, 0, sizeof(*b));
}
