/*
 * profile.c: issuance profiles (see profile.h and docs/formats/profile.md).
 */
#include "policy/profile.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/fileio.h"
#include "util/text.h"
#include "util/timeutil.h"
#include "util/yamldoc.h"

static const char *const profile_key_names[] = {
	"rsa-1024", "rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384",
	NULL
};
static const char *const profile_md_names[] = {
	"sha1", "sha256", "sha384", "sha512", NULL
};
static const char *const profile_cn_names[] = { "mac", "request", NULL };
static const char *const profile_san_names[] = {
	"dns", "email", "uri", "ip", NULL
};

/* String types, as certspec emits them (RFC 5280 Appendix A bounds). */
enum profile_strtype { PSTR_UTF8, PSTR_PRINTABLE, PSTR_IA5 };

static const struct {
	const char *name;
	int nid;
	enum profile_strtype type;
	size_t min, max;	/* characters */
} profile_attrs[] = {
	{ "C", NID_countryName, PSTR_PRINTABLE, 2, 2 },
	{ "ST", NID_stateOrProvinceName, PSTR_UTF8, 1, 128 },
	{ "L", NID_localityName, PSTR_UTF8, 1, 128 },
	{ "O", NID_organizationName, PSTR_UTF8, 1, 64 },
	{ "OU", NID_organizationalUnitName, PSTR_UTF8, 1, 64 },
	{ "CN", NID_commonName, PSTR_UTF8, 1, 64 },
	{ "serialNumber", NID_serialNumber, PSTR_PRINTABLE, 1, 64 },
	{ "emailAddress", NID_pkcs9_emailAddress, PSTR_IA5, 1, 255 },
	{ "DC", NID_domainComponent, PSTR_IA5, 1, 63 },
	{ "UID", NID_userId, PSTR_UTF8, 1, 256 },
};
#define PROFILE_NATTRS (sizeof(profile_attrs) / sizeof(profile_attrs[0]))

/* Attributes one requested subject may carry before it is refused. */
#define PROFILE_MAX_REQ_ATTRS 64

const char *
profile_key_name(enum profile_key k)
{
	return (unsigned)k < PROFILE_KEY_COUNT ? profile_key_names[k] : "?";
}

const char *
profile_md_name(enum profile_md md)
{
	return (unsigned)md <= PROFILE_MD_SHA512 ? profile_md_names[md] : "?";
}

static int
profile_attr_index(int nid)
{
	size_t i;

	for (i = 0; i < PROFILE_NATTRS; i++)
		if (profile_attrs[i].nid == nid)
			return (int)i;
	return -1;
}

/* Short name of an attribute for messages ("OU"). */
static const char *
profile_attr_name(int nid)
{
	int i = profile_attr_index(nid);
	const char *sn;

	if (i >= 0)
		return profile_attrs[i].name;
	sn = OBJ_nid2sn(nid);
	return sn != NULL ? sn : "?";
}

static char *
profile_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* ---- text checks shared by the loader and issuance ------------------ */

/*
 * A host name: LDH labels of 1 to 63 characters, neither starting nor
 * ending with '-', at most 253 in all, no wildcard, no trailing dot.
 */
static int
profile_valid_dns(const char *s)
{
	size_t label = 0, total = strlen(s);
	char prev = '.';

	if (total == 0 || total > 253)
		return 0;
	for (; *s != '\0'; prev = *s, s++) {
		if (*s == '.') {
			if (label == 0 || prev == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
		if ((*s == '-' && label == 0) || ++label > 63)
			return 0;
	}
	return label > 0 && prev != '-';
}

/*
 * Checks that value may stand in attribute nid of a certificate; on
 * failure writes why into why. 1 or 0.
 */
static int
profile_value_ok(int nid, const char *value, char *why, size_t whysz)
{
	int i = profile_attr_index(nid);
	long chars;

	if (i < 0) {
		snprintf(why, whysz, "the attribute is not one Airlock issues");
		return 0;
	}
	/* Bidi and zero-width characters count as controls here too. */
	if (!text_clean(value)) {
		snprintf(why, whysz, "it holds control characters or invalid "
		    "UTF-8");
		return 0;
	}
	chars = text_utf8_chars(value);	/* not -1: text_clean passed */
	if ((size_t)chars < profile_attrs[i].min ||
	    (size_t)chars > profile_attrs[i].max) {
		snprintf(why, whysz, "it has %ld characters; %s takes %zu to "
		    "%zu", chars, profile_attrs[i].name, profile_attrs[i].min,
		    profile_attrs[i].max);
		return 0;
	}
	if (nid == NID_countryName && !(value[0] >= 'A' && value[0] <= 'Z' &&
	    value[1] >= 'A' && value[1] <= 'Z')) {
		snprintf(why, whysz, "C must be a two-letter upper-case ISO "
		    "3166 code");
		return 0;
	}
	if ((profile_attrs[i].type == PSTR_PRINTABLE &&
	    !certspec_is_printable(value)) ||
	    (profile_attrs[i].type == PSTR_IA5 &&
	    !certspec_is_ascii_text(value))) {
		snprintf(why, whysz, "%s takes only %s characters",
		    profile_attrs[i].name,
		    profile_attrs[i].type == PSTR_PRINTABLE ?
		    "PrintableString" : "printable ASCII");
		return 0;
	}
	return 1;
}

/* ---- loading -------------------------------------------------------- */

/* Profile names become file names and database keys: a small alphabet. */
static int
profile_valid_slug(const char *v, size_t max)
{
	size_t i, len = strlen(v);

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char c = v[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!(alnum || c == '-' || c == '_' || c == '.') ||
		    (i == 0 && !alnum))
			return 0;
	}
	return 1;
}

/* The node under key in map, for locating a semantic error. */
static const struct yamldoc_node *
profile_node(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key)
{
	const struct yamldoc_node *n = NULL;

	if (map == NULL)
		return NULL;
	(void)yamldoc_get_node(doc, map, key, 0, &n);
	return n != NULL ? n : map;
}

/* Reads an optional or required string into a fresh copy. */
static int
profile_get_str(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, char **out)
{
	const char *v = NULL;
	int r = yamldoc_get_str(doc, map, key, required, &v);

	if (r == 1 && (*out = strdup(v)) == NULL)
		return ERR_NOMEM;
	return r;
}

/* Index of s in a NULL-terminated list, or -1. */
static int
profile_lookup(const char *const *names, const char *s)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static void
profile_list_names(const char *const *names, char *out, size_t outsz)
{
	size_t used = 0;
	int i;

	out[0] = '\0';
	for (i = 0; names[i] != NULL && used < outsz; i++) {
		int w = snprintf(out + used, outsz - used, "%s%s",
		    i ? ", " : "", names[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Reads a sequence of distinct enum values as a bit set. */
static int
profile_get_enum_set(struct yamldoc *doc, const struct yamldoc_node *seq,
    const char *what, const char *const *names, unsigned *out)
{
	char list[256];
	size_t i;
	int bad = 0;

	*out = 0;
	profile_list_names(names, list, sizeof(list));
	for (i = 0; i < seq->n; i++) {
		const char *s;
		int idx;

		if (yamldoc_as_str(doc, seq->items[i], &s) < 0) {
			bad = 1;
			continue;
		}
		if ((idx = profile_lookup(names, s)) < 0) {
			yamldoc_error(doc, seq->items[i], "unknown %s '%s' "
			    "(allowed: %s)", what, s, list);
			bad = 1;
		} else if (*out & (1u << idx)) {
			yamldoc_error(doc, seq->items[i], "%s '%s' is listed "
			    "twice", what, s);
			bad = 1;
		} else {
			*out |= 1u << idx;
		}
	}
	return bad ? ERR_INVALID : 0;
}

static int
profile_parse_keys(struct yamldoc *doc, const struct yamldoc_node *root,
    struct profile *p)
{
	const struct yamldoc_node *m, *seq;
	int bad = 0, idx = -1, r;

	if (yamldoc_get_map(doc, root, "keys", 1, &m) != 1)
		return ERR_INVALID;
	r = yamldoc_get_seq(doc, m, "csr", 0, &seq);
	if (r < 0) {
		bad = 1;
	} else if (r == 1) {
		if (seq->n == 0)
			bad |= yamldoc_error(doc, seq, "keys.csr must name at "
			    "least one key type; leave the key out to refuse "
			    "CSRs") != 0;
		else if (profile_get_enum_set(doc, seq, "key type",
		    profile_key_names, &p->csr_keys) != 0)
			bad = 1;
	}
	r = yamldoc_get_enum(doc, m, "generate", 0, profile_key_names, &idx);
	if (r < 0) {
		bad = 1;
	} else if (r == 1) {
		p->can_generate = 1;
		p->generate = (enum profile_key)idx;
	}
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	if (bad)
		return ERR_INVALID;
	if (p->csr_keys == 0 && !p->can_generate)
		return yamldoc_error(doc, m, "keys needs csr (the key types "
		    "accepted in CSRs), generate (the key the appliance "
		    "makes for mac-range batches), or both");
	if (p->can_generate && p->csr_keys != 0 &&
	    !(p->csr_keys & (1u << p->generate)))
		return yamldoc_error(doc, profile_node(doc, m, "generate"),
		    "keys.generate %s is not among keys.csr: a profile's "
		    "certificates carry only the key types it lists",
		    profile_key_name(p->generate));
	return 0;
}

static int
profile_parse_validity(struct yamldoc *doc, const struct yamldoc_node *root,
    struct profile *p)
{
	const struct yamldoc_node *m;
	long long days = 0;
	int bad = 0, rd, rn;

	if (yamldoc_get_map(doc, root, "validity", 1, &m) != 1)
		return ERR_INVALID;
	rd = yamldoc_get_int(doc, m, "days", 0, 1, PROFILE_MAX_DAYS, &days);
	rn = yamldoc_get_time(doc, m, "not_after", 0, &p->not_after);
	if (rd < 0 || rn < 0)
		bad = 1;
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	if (bad)
		return ERR_INVALID;
	if (rd == 1 && rn == 1)
		return yamldoc_error(doc, m, "validity takes days or not_after, "
		    "not both");
	if (rd == 0 && rn == 0)
		return yamldoc_error(doc, m, "validity needs days (a term "
		    "counted from issuance) or not_after (a fixed date)");
	p->days = rd == 1 ? (long)days : 0;
	if (rd == 1)
		p->not_after = 0;
	return 0;
}

static int
profile_parse_keep(struct yamldoc *doc, const struct yamldoc_node *seq,
    struct profile *p)
{
	size_t i, j;
	int bad = 0;

	if (seq->n > PROFILE_MAX_KEEP)
		return yamldoc_error(doc, seq, "subject.keep lists %zu "
		    "attributes; at most %d", seq->n, PROFILE_MAX_KEEP);
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *it = seq->items[i];
		const char *s;
		int a = -1, nid;

		if (yamldoc_as_str(doc, it, &s) < 0) {
			bad = 1;
			continue;
		}
		for (j = 0; j < PROFILE_NATTRS; j++)
			if (strcmp(s, profile_attrs[j].name) == 0)
				a = (int)j;
		if (a < 0) {
			bad |= yamldoc_error(doc, it, "unknown subject "
			    "attribute '%s' (allowed: C, ST, L, O, OU, "
			    "serialNumber, emailAddress, DC, UID)", s) != 0;
			continue;
		}
		nid = profile_attrs[a].nid;
		if (nid == NID_commonName) {
			bad |= yamldoc_error(doc, it, "subject.keep cannot "
			    "list CN: subject.cn decides the common name "
			    "(cn: %s)", p->cn == PROFILE_CN_MAC ? "mac, so the "
			    "requested CN is always replaced by the MAC" :
			    "request, so it is taken from the request "
			    "already") != 0;
			continue;
		}
		for (j = 0; j < p->fixed.n; j++)
			if (p->fixed.attrs[j].nid == nid)
				break;
		if (j < p->fixed.n) {
			bad |= yamldoc_error(doc, it, "%s is set by "
			    "subject.fixed; it cannot also be kept from the "
			    "request", s) != 0;
			continue;
		}
		for (j = 0; j < p->n_keep; j++)
			if (p->keep[j] == nid)
				break;
		if (j < p->n_keep) {
			bad |= yamldoc_error(doc, it, "%s is listed twice",
			    s) != 0;
			continue;
		}
		p->keep[p->n_keep++] = nid;
	}
	return bad ? ERR_INVALID : 0;
}

static int
profile_parse_subject(struct yamldoc *doc, const struct yamldoc_node *root,
    struct profile *p)
{
	const struct yamldoc_node *m, *n;
	int bad = 0, r, idx = -1, has_cn = 0, has_fmt = 0;

	if (yamldoc_get_map(doc, root, "subject", 1, &m) != 1)
		return ERR_INVALID;
	r = yamldoc_get_node(doc, m, "fixed", 0, &n);
	if (r == 1) {
		size_t i;

		r = certspec_parse_name(doc, n, &p->fixed);
		if (r == ERR_NOMEM)
			return r;
		if (r != 0)
			bad = 1;
		for (i = 0; r == 0 && i < p->fixed.n; i++)
			if (p->fixed.attrs[i].nid == NID_commonName)
				bad |= yamldoc_error(doc, n->items[i], "CN "
				    "comes from subject.cn; do not list it in "
				    "subject.fixed") != 0;
	}
	if (yamldoc_get_enum(doc, m, "cn", 1, profile_cn_names, &idx) == 1) {
		p->cn = (enum profile_cn)idx;
		has_cn = 1;
	} else {
		bad = 1;
	}
	{
		/* The spellings are the ingest module's, so CSV and profiles agree. */
		const char *names[MAC_STYLE_COUNT + 1];
		int k;

		for (k = 0; k < MAC_STYLE_COUNT; k++)
			names[k] = mac_style_name((enum mac_style)k);
		names[MAC_STYLE_COUNT] = NULL;
		r = yamldoc_get_enum(doc, m, "mac_format", 0, names, &idx);
	}
	if (r < 0)
		bad = 1;
	else if (r == 1) {
		p->mac_format = (enum mac_style)idx;
		has_fmt = 1;
	}
	if (has_cn && p->cn == PROFILE_CN_MAC && !has_fmt && r == 0)
		bad |= yamldoc_error(doc, m, "cn: mac needs mac_format "
		    "(colon-upper, colon-lower, hyphen-upper, hyphen-lower, "
		    "plain-upper, plain-lower or dot-lower)") != 0;
	if (has_cn && p->cn == PROFILE_CN_REQUEST && has_fmt)
		bad |= yamldoc_error(doc, profile_node(doc, m, "mac_format"),
		    "mac_format is used only with cn: mac") != 0;
	r = yamldoc_get_seq(doc, m, "keep", 0, &n);
	if (r < 0)
		bad = 1;
	else if (r == 1 && has_cn && profile_parse_keep(doc, n, p) != 0)
		bad = 1;
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static int
profile_parse_ext(struct yamldoc *doc, const struct yamldoc_node *root,
    struct profile *p)
{
	const struct yamldoc_node *m;
	int r, bad = 0;

	if (yamldoc_get_map(doc, root, "extensions", 1, &m) != 1)
		return ERR_INVALID;
	r = certspec_parse_ext(doc, m, &p->ext);
	if (r == ERR_NOMEM)
		return r;
	if (r != 0)
		bad = 1;
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	if (bad)
		return ERR_INVALID;
	if (p->ext.san.n > 0)
		bad |= yamldoc_error(doc, profile_node(doc, m,
		    "subject_alt_names"), "a profile does not fix SANs for "
		    "every device; list the SAN types a request may carry "
		    "under san.allow") != 0;
	if (p->ext.has_basic_constraints && p->ext.bc_ca &&
	    !(p->ext.has_key_usage &&
	    (p->ext.key_usage & CERTSPEC_KU_KEY_CERT_SIGN)))
		bad |= yamldoc_error(doc, profile_node(doc, m, "key_usage"),
		    "a CA profile (basic_constraints ca: true) needs "
		    "key_usage with keyCertSign") != 0;
	if (!(p->ext.has_basic_constraints && p->ext.bc_ca) &&
	    (p->ext.key_usage & CERTSPEC_KU_KEY_CERT_SIGN))
		bad |= yamldoc_error(doc, profile_node(doc, m, "key_usage"),
		    "keyCertSign needs basic_constraints with ca: true") != 0;
	if (!(p->ext.has_basic_constraints && p->ext.bc_ca) &&
	    p->ext.has_name_constraints)
		bad |= yamldoc_error(doc, profile_node(doc, m,
		    "name_constraints"), "name_constraints belongs only in a "
		    "CA profile (basic_constraints ca: true)") != 0;
	return bad ? ERR_INVALID : 0;
}

static int
profile_parse_san(struct yamldoc *doc, const struct yamldoc_node *root,
    struct profile *p)
{
	const struct yamldoc_node *m, *seq;
	size_t i, j;
	int r, bad = 0;

	r = yamldoc_get_map(doc, root, "san", 0, &m);
	if (r <= 0)
		return r;
	if (yamldoc_get_seq(doc, m, "allow", 1, &seq) != 1)
		bad = 1;
	else if (profile_get_enum_set(doc, seq, "SAN type", profile_san_names,
	    &p->san_allow) != 0)
		bad = 1;
	r = yamldoc_get_seq(doc, m, "dns_suffixes", 0, &seq);
	if (r < 0) {
		bad = 1;
	} else if (r == 1) {
		if (seq->n == 0)
			bad |= yamldoc_error(doc, seq, "dns_suffixes must name "
			    "at least one domain; leave the key out to allow "
			    "any") != 0;
		if ((p->dns_suffixes = calloc(seq->n + 1,
		    sizeof(*p->dns_suffixes))) == NULL)
			return ERR_NOMEM;
		for (i = 0; i < seq->n; i++) {
			const char *s;

			if (yamldoc_as_str(doc, seq->items[i], &s) < 0) {
				bad = 1;
				continue;
			}
			if (!profile_valid_dns(s)) {
				bad |= yamldoc_error(doc, seq->items[i], "'%s' "
				    "is not a domain name (write "
				    "devices.example.com, without a leading "
				    "dot or '*')", s) != 0;
				continue;
			}
			for (j = 0; j < p->n_dns_suffixes; j++)
				if (strcasecmp(p->dns_suffixes[j], s) == 0)
					break;
			if (j < p->n_dns_suffixes) {
				bad |= yamldoc_error(doc, seq->items[i], "'%s' "
				    "is listed twice", s) != 0;
				continue;
			}
			if ((p->dns_suffixes[p->n_dns_suffixes] =
			    strdup(s)) == NULL)
				return ERR_NOMEM;
			p->n_dns_suffixes++;
		}
		if (!bad && !(p->san_allow & PROFILE_SAN_DNS))
			bad |= yamldoc_error(doc, seq, "dns_suffixes needs dns "
			    "in san.allow") != 0;
	}
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static int
profile_parse_operators(struct yamldoc *doc, const struct yamldoc_node *root,
    struct profile *p)
{
	const struct yamldoc_node *seq;
	size_t i, j;
	int bad = 0;

	if (yamldoc_get_seq(doc, root, "operators", 1, &seq) != 1)
		return ERR_INVALID;
	if (seq->n == 0)
		return yamldoc_error(doc, seq, "operators must name at least "
		    "one person (the name given at enrolment)");
	if ((p->operators = calloc(seq->n, sizeof(*p->operators))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < seq->n; i++) {
		const char *s;
		long chars;

		if (yamldoc_as_str(doc, seq->items[i], &s) < 0) {
			bad = 1;
			continue;
		}
		chars = text_utf8_chars(s);
		if (!text_clean(s) || chars < 1 || chars > 64) {
			bad |= yamldoc_error(doc, seq->items[i], "an operator "
			    "is named by 1 to 64 characters without control "
			    "characters, as at enrolment") != 0;
			continue;
		}
		for (j = 0; j < p->n_operators; j++)
			if (strcmp(p->operators[j], s) == 0)
				break;
		if (j < p->n_operators) {
			bad |= yamldoc_error(doc, seq->items[i], "operator "
			    "'%s' is listed twice", s) != 0;
			continue;
		}
		if ((p->operators[p->n_operators] = strdup(s)) == NULL)
			return ERR_NOMEM;
		p->n_operators++;
	}
	return bad ? ERR_INVALID : 0;
}

/* Legacy crypto only where the profile says legacy, and only then. */
static int
profile_check_legacy(struct yamldoc *doc, const struct yamldoc_node *root,
    struct profile *p, int keys_ok, int md_ok)
{
	const struct yamldoc_node *keys = profile_node(doc, root, "keys");
	unsigned weak = 1u << PROFILE_KEY_RSA1024;
	int uses_legacy, bad = 0;

	if (!keys_ok || !md_ok)
		return 0;
	uses_legacy = (p->csr_keys & weak) != 0 || (p->can_generate &&
	    p->generate == PROFILE_KEY_RSA1024) ||
	    p->digest == PROFILE_MD_SHA1;
	if (p->legacy && !uses_legacy)
		return yamldoc_error(doc, profile_node(doc, root, "legacy"),
		    "legacy: true relaxes the checks on every certificate of "
		    "this profile, but it allows neither rsa-1024 nor sha1; "
		    "set legacy: false");
	if (p->legacy)
		return 0;
	if (p->csr_keys & weak)
		bad |= yamldoc_error(doc, profile_node(doc, keys, "csr"),
		    "rsa-1024 is a legacy key size, allowed only in a profile "
		    "with legacy: true (DOCSIS 3.0)") != 0;
	if (p->can_generate && p->generate == PROFILE_KEY_RSA1024)
		bad |= yamldoc_error(doc, profile_node(doc, keys, "generate"),
		    "rsa-1024 is a legacy key size, allowed only in a profile "
		    "with legacy: true (DOCSIS 3.0)") != 0;
	if (p->digest == PROFILE_MD_SHA1)
		bad |= yamldoc_error(doc, profile_node(doc, root,
		    "signature_digest"), "sha1 is a legacy digest, allowed "
		    "only in a profile with legacy: true (DOCSIS 3.0)") != 0;
	return bad ? ERR_INVALID : 0;
}

/* Folds one step into the verdict; 1 = stop (out of memory). */
static int
profile_step(int rc, int *bad)
{
	if (rc == ERR_NOMEM)
		return 1;
	if (rc < 0)
		*bad = 1;
	return 0;
}

static int
profile_parse_body(struct yamldoc *doc, struct profile *p,
    const char *want_name)
{
	const struct yamldoc_node *root = doc->root;
	long long v = 0;
	int bad = 0, r, idx = -1, keys_ok, md_ok = 0;

	if (root->kind != YAMLDOC_MAP)
		return yamldoc_error(doc, root, "a profile is a mapping of "
		    "keys, starting with 'airlock_profile: 1'");
	r = yamldoc_get_int(doc, root, "airlock_profile", 1, 0, 1000000, &v);
	if (r < 0)
		bad = 1;
	else if (v != 1)
		bad |= yamldoc_error(doc, profile_node(doc, root,
		    "airlock_profile"), "format version %lld is not one this "
		    "Airlock reads (1)", v) != 0;
	if ((r = profile_get_str(doc, root, "name", 1, &p->name)) == 1) {
		if (!profile_valid_slug(p->name, 64))
			bad |= yamldoc_error(doc, profile_node(doc, root,
			    "name"), "name '%s' may contain only a-z, 0-9, "
			    "'-', '_' and '.', starting with a letter or "
			    "digit, at most 64 characters", p->name) != 0;
		else if (want_name != NULL && strcmp(p->name, want_name) != 0)
			bad |= yamldoc_error(doc, profile_node(doc, root,
			    "name"), "name '%s' must equal the file name "
			    "without .yaml ('%s')", p->name, want_name) != 0;
	} else if (profile_step(r, &bad)) {
		return ERR_NOMEM;
	}
	r = profile_get_str(doc, root, "description", 0, &p->description);
	if (profile_step(r, &bad))
		return ERR_NOMEM;
	/* Approvers read it on the console: text only, one screen line. */
	if (r == 1 && (!text_clean(p->description) ||
	    text_utf8_chars(p->description) > 200))
		bad |= yamldoc_error(doc, profile_node(doc, root,
		    "description"), "description must be at most 200 "
		    "characters without control characters") != 0;
	if (p->description == NULL && (p->description = strdup("")) == NULL)
		return ERR_NOMEM;
	if ((r = profile_get_str(doc, root, "issuer", 1, &p->issuer)) == 1) {
		if (!profile_valid_slug(p->issuer, 64))
			bad |= yamldoc_error(doc, profile_node(doc, root,
			    "issuer"), "issuer '%s' is not a CA name (the "
			    "ca.name of a ceremony: a-z, 0-9, '-', '_', '.')",
			    p->issuer) != 0;
	} else if (profile_step(r, &bad)) {
		return ERR_NOMEM;
	}
	if (yamldoc_get_bool(doc, root, "enabled", 1, &p->enabled) < 0)
		bad = 1;
	if (yamldoc_get_bool(doc, root, "legacy", 0, &p->legacy) < 0)
		bad = 1;
	r = profile_parse_keys(doc, root, p);
	keys_ok = r == 0;
	if (profile_step(r, &bad))
		return ERR_NOMEM;
	if (yamldoc_get_enum(doc, root, "signature_digest", 1,
	    profile_md_names, &idx) == 1) {
		p->digest = (enum profile_md)idx;
		md_ok = 1;
	} else {
		bad = 1;
	}
	if (profile_step(profile_parse_validity(doc, root, p), &bad) ||
	    profile_step(profile_parse_subject(doc, root, p), &bad) ||
	    profile_step(profile_parse_ext(doc, root, p), &bad) ||
	    profile_step(profile_parse_san(doc, root, p), &bad) ||
	    profile_step(profile_parse_operators(doc, root, p), &bad))
		return ERR_NOMEM;
	r = yamldoc_get_int(doc, root, "max_batch", 0, 1, PROFILE_MAX_BATCH,
	    &v);
	if (r < 0)
		bad = 1;
	p->max_batch = r == 1 ? (long)v : PROFILE_MAX_BATCH;
	/* A wide range first, so that 0 and 1 get the two-person message. */
	r = yamldoc_get_int(doc, root, "approval_quorum", 0, 0, 16, &v);
	if (r < 0) {
		bad = 1;
	} else if (r == 1 && v < 2) {
		bad |= yamldoc_error(doc, profile_node(doc, root,
		    "approval_quorum"), "approval_quorum must be at least 2: "
		    "every batch needs two distinct officers (found %lld)",
		    v) != 0;
	}
	p->quorum = r == 1 ? (int)v : 2;
	if (profile_check_legacy(doc, root, p, keys_ok, md_ok) != 0)
		bad = 1;
	if (yamldoc_check_unknown(doc, root) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

/* The file name less ".yaml" into out; 0, or -1 when it does not end so. */
static int
profile_name_from_path(const char *path, char *out, size_t outsz)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len <= 5 || strcmp(base + len - 5, ".yaml") != 0 ||
	    len - 5 >= outsz)
		return -1;
	memcpy(out, base, len - 5);
	out[len - 5] = '\0';
	return 0;
}

/* Copies diag item `from` (and a count of the rest) into err. */
static int
profile_diag_err(const diag_t *d, size_t from, err_t *err, int code)
{
	char first[ERR_MSG_MAX];
	size_t total = diag_count(d);

	if (total <= from)
		return err_set(err, code, "the profile is invalid");
	diag_format(d, from, first, sizeof(first));
	if (total - from > 1)
		return err_set(err, code, "%s (and %zu more)", first,
		    total - from - 1);
	return err_set(err, code, "%s", first);
}

int
profile_load(const char *path, struct profile *out, diag_t *diag,
    err_t *err)
{
	struct yamldoc_limits lim = yamldoc_default_limits;
	struct yamldoc *doc = NULL;
	char want[128];
	diag_t local;
	err_t lerr;
	size_t before;
	int r;

	memset(out, 0, sizeof(*out));
	certspec_ext_init(&out->ext);
	want[0] = '\0';
	diag_init(&local);
	if (diag == NULL)
		diag = &local;
	if (err == NULL)
		err = &lerr;
	before = diag_count(diag);
	lim.max_bytes = PROFILE_MAX_BYTES;
	if ((r = yamldoc_load_hashed(path, &lim, out->sha256, &doc, err)) != 0)
		goto out;
	yamldoc_set_diag(doc, diag);
	if ((out->path = strdup(path)) == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (profile_name_from_path(path, want, sizeof(want)) != 0)
		(void)diag_add(diag, path, 0, NULL, "a profile's file name "
		    "is its name followed by .yaml");
	r = profile_parse_body(doc, out, want[0] != '\0' ? want : NULL);
	if (r == ERR_NOMEM)
		r = err_set(err, ERR_NOMEM, "%s: out of memory", path);
	else if (r != 0 || diag_count(diag) > before)
		r = profile_diag_err(diag, before, err, ERR_INVALID);
out:
	/* The diag lists every problem, those found before parsing too. */
	if (r != 0 && diag_count(diag) == before)
		(void)diag_add(diag, NULL, 0, NULL, "%s", err->msg);
	yamldoc_free(doc);
	diag_free(&local);
	if (r != 0)
		profile_free(out);
	return r;
}

static int
profile_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
profile_load_dir(const char *dir, struct profile_set *out, diag_t *diag,
    err_t *err)
{
	char *names[PROFILE_MAX_FILES];
	size_t n = 0, i;
	struct dirent *de;
	int r = 0, first = 0;
	err_t e1;
	DIR *d;

	memset(out, 0, sizeof(*out));
	if ((d = opendir(dir)) == NULL)
		return err_set(err, ERR_IO, "cannot open the profile directory "
		    "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		if (n == PROFILE_MAX_FILES) {
			r = err_set(err, ERR_LIMIT, "%s holds more than %d "
			    "profiles", dir, PROFILE_MAX_FILES);
			break;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = err_set(err, ERR_NOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (r == 0 && n > 0 && (out->v = calloc(n, sizeof(*out->v))) == NULL)
		r = err_set(err, ERR_NOMEM, "out of memory");
	if (r == 0)
		qsort(names, n, sizeof(names[0]), profile_cmp_name);
	for (i = 0; r == 0 && i < n; i++) {
		char path[4096];
		int rc;

		err_clear(&e1);
		rc = fileio_join(path, sizeof(path), dir, names[i], &e1);
		if (rc == 0)
			rc = profile_load(path, &out->v[out->n], diag, &e1);
		if (rc == 0) {
			out->n++;
			continue;
		}
		/* Every file is read so that all problems show at once. */
		if (first == 0) {
			first = rc;
			if (err != NULL)
				*err = e1;
		}
		if (rc == ERR_NOMEM)
			r = rc;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	if (r == 0 && first != 0)
		r = first;
	if (r != 0)
		profile_set_free(out);
	return r;
}

const struct profile *
profile_find(const struct profile_set *set, const char *name)
{
	size_t i;

	if (set == NULL || name == NULL)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

void
profile_free(struct profile *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->path);
	free(p->name);
	free(p->description);
	free(p->issuer);
	certspec_name_free(&p->fixed);
	certspec_ext_free(&p->ext);
	for (i = 0; i < p->n_dns_suffixes; i++)
		free(p->dns_suffixes[i]);
	free(p->dns_suffixes);
	for (i = 0; i < p->n_operators; i++)
		free(p->operators[i]);
	free(p->operators);
	memset(p, 0, sizeof(*p));
	certspec_ext_init(&p->ext);
}

void
profile_set_free(struct profile_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		profile_free(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* ---- decisions at submission and issuance ---------------------------- */

int
profile_usable(const struct profile *p, err_t *err)
{
	if (p->enabled)
		return 0;
	if (p->legacy)
		return err_set(err, ERR_POLICY, "profile %s is a legacy profile "
		    "(RSA-1024 keys, SHA-1 signatures) and is disabled; to "
		    "issue with it, review the risk and set enabled: true in "
		    "%s", p->name, p->path != NULL ? p->path : "its file");
	return err_set(err, ERR_POLICY, "profile %s is disabled; set enabled: "
	    "true in %s to use it", p->name,
	    p->path != NULL ? p->path : "its file");
}

int
profile_may_submit(const struct profile *p, const char *operator_name,
    err_t *err)
{
	size_t i;

	for (i = 0; operator_name != NULL && i < p->n_operators; i++)
		if (strcmp(p->operators[i], operator_name) == 0)
			return 0;
	return err_set(err, ERR_POLICY, "operator '%s' may not submit batches "
	    "with profile %s; add the name to its operators list",
	    operator_name != NULL ? operator_name : "(none)", p->name);
}

/* Describes pub ("RSA-2048", "EC P-256") and finds its type; -1 if none. */
static int
profile_key_of(const EVP_PKEY *pub, char *desc, size_t descsz)
{
	char group[80];
	size_t glen = 0;
	int bits, gnid;

	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pub);
		snprintf(desc, descsz, "RSA-%d", bits);
		return bits == 1024 ? PROFILE_KEY_RSA1024 :
		    bits == 2048 ? PROFILE_KEY_RSA2048 :
		    bits == 3072 ? PROFILE_KEY_RSA3072 :
		    bits == 4096 ? PROFILE_KEY_RSA4096 : -1;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(pub, group, sizeof(group),
		    &glen)) {
			snprintf(desc, descsz, "EC key without a named curve");
			return -1;
		}
		gnid = OBJ_txt2nid(group);
		if (gnid == NID_X9_62_prime256v1) {
			snprintf(desc, descsz, "EC P-256");
			return PROFILE_KEY_EC_P256;
		}
		if (gnid == NID_secp384r1) {
			snprintf(desc, descsz, "EC P-384");
			return PROFILE_KEY_EC_P384;
		}
		snprintf(desc, descsz, "EC %s", group);
		return -1;
	default:
		snprintf(desc, descsz, "%s",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pub)) != NULL ?
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pub)) : "unknown");
		return -1;
	}
}

static void
profile_key_list(unsigned set, char *out, size_t outsz)
{
	size_t used = 0;
	int i, first = 1;

	out[0] = '\0';
	for (i = 0; i < PROFILE_KEY_COUNT && used < outsz; i++) {
		int w;

		if (!(set & (1u << i)))
			continue;
		w = snprintf(out + used, outsz - used, "%s%s",
		    first ? "" : ", ", profile_key_names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
		first = 0;
	}
}

int
profile_check_key(const struct profile *p, const EVP_PKEY *pub,
    int from_csr, err_t *err)
{
	char desc[128];
	BIGNUM *e = NULL;
	int k, f4;

	if (pub == NULL)
		return err_set(err, ERR_INVALID, "no public key to check");
	k = profile_key_of(pub, desc, sizeof(desc));
	if (from_csr && p->csr_keys == 0)
		return err_set(err, ERR_POLICY, "profile %s does not accept "
		    "CSRs: the appliance generates the %s keys itself",
		    p->name, profile_key_name(p->generate));
	if (!from_csr && !p->can_generate)
		return err_set(err, ERR_POLICY, "profile %s does not let the "
		    "appliance generate keys; submit CSRs", p->name);
	if (from_csr && (k < 0 || !(p->csr_keys & (1u << k)))) {
		char allowed[128];

		profile_key_list(p->csr_keys, allowed, sizeof(allowed));
		return err_set(err, ERR_POLICY, "%s key not allowed by profile "
		    "%s (allowed: %s)", desc, p->name, allowed);
	}
	if (!from_csr && k != (int)p->generate)
		return err_set(err, ERR_POLICY, "%s key not allowed by profile "
		    "%s for a generated key (generate: %s)", desc, p->name,
		    profile_key_name(p->generate));
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
		return 0;
	/* Lint refuses other exponents too; say so before any signing. */
	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e))
		return err_set_ossl(err, ERR_CRYPTO, "cannot read the RSA "
		    "public exponent");
	f4 = BN_is_word(e, 65537);
	BN_free(e);
	if (!f4)
		return err_set(err, ERR_POLICY, "%s key with a public exponent "
		    "other than 65537 not allowed by profile %s", desc, p->name);
	return 0;
}

int
profile_not_after(const struct profile *p, time_t now,
    time_t issuer_not_after, time_t *out, err_t *err)
{
	char a[TIMEUTIL_STRLEN], b[TIMEUTIL_STRLEN];

	if (p->days > 0) {
		time_t na = now + (time_t)p->days * 86400;
		if (na <= issuer_not_after) {
			*out = na;
			return 0;
		}
		timeutil_format(na, a);
		timeutil_format(issuer_not_after, b);
		return err_set(err, ERR_POLICY, "profile %s: a certificate "
		    "issued now for %ld days would expire at %s, after its "
		    "issuer %s expires (%s); shorten validity.days to at most "
		    "%lld or issue under a CA that lives longer", p->name,
		    p->days, a, p->issuer, b, issuer_not_after > now ?
		    (long long)((issuer_not_after - now) / 86400) : 0LL);
	}
	timeutil_format(p->not_after, a);
	if (p->not_after <= now) {
		timeutil_format(now, b);
		return err_set(err, ERR_POLICY, "profile %s: the fixed "
		    "notAfter %s is not after now (%s); change "
		    "validity.not_after", p->name, a, b);
	}
	if (p->not_after > issuer_not_after) {
		timeutil_format(issuer_not_after, b);
		return err_set(err, ERR_POLICY, "profile %s: the fixed "
		    "notAfter %s is after its issuer %s expires (%s); change "
		    "validity.not_after", p->name, a, p->issuer, b);
	}
	*out = p->not_after;
	return 0;
}

const EVP_MD *
profile_md(const struct profile *p)
{
	switch (p->digest) {
	case PROFILE_MD_SHA1:
		return p->legacy ? EVP_sha1() : NULL;
	case PROFILE_MD_SHA256:
		return EVP_sha256();
	case PROFILE_MD_SHA384:
		return EVP_sha384();
	case PROFILE_MD_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

void
profile_lint_opts(const struct profile *p, struct lint_opts *out)
{
	memset(out, 0, sizeof(*out));
	out->allow_legacy = p->legacy;
}

/* ---- building a certspec -------------------------------------------- */

/* One attribute of the requested subject, decoded to UTF-8. */
struct profile_rattr {
	int nid;		/* NID_undef for an attribute OpenSSL lacks */
	char name[64];		/* "OU" or a dotted OID, for records */
	char *value;
	int used;
};

struct profile_rname {
	struct profile_rattr *v;
	size_t n;
};

static void
profile_rname_free(struct profile_rname *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].value);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static int
profile_rname_from(const struct profile *p, const struct profile_request *req,
    struct profile_rname *out, err_t *err)
{
	size_t i, n;

	memset(out, 0, sizeof(*out));
	if (req->subject != NULL && req->fields != NULL)
		return err_set(err, ERR_INTERNAL, "a request carries either a "
		    "CSR subject or CSV fields, not both");
	if (req->subject != NULL) {
		int cnt = X509_NAME_entry_count(req->subject);

		n = cnt > 0 ? (size_t)cnt : 0;
	} else {
		n = req->fields != NULL ? req->fields->n : 0;
	}
	if (n > PROFILE_MAX_REQ_ATTRS)
		return err_set(err, ERR_LIMIT, "profile %s: the requested "
		    "subject has %zu attributes; at most %d are read", p->name,
		    n, PROFILE_MAX_REQ_ATTRS);
	if (n == 0)
		return 0;
	if ((out->v = calloc(n, sizeof(*out->v))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		struct profile_rattr *a = &out->v[out->n];

		if (req->subject != NULL) {
			const X509_NAME_ENTRY *ne =
			    X509_NAME_get_entry(req->subject, (int)i);
			const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ne);
			unsigned char *u = NULL;
			int len;

			a->nid = OBJ_obj2nid(obj);
			if (profile_attr_index(a->nid) >= 0)
				snprintf(a->name, sizeof(a->name), "%s",
				    profile_attr_name(a->nid));
			else
				OBJ_obj2txt(a->name, sizeof(a->name), obj, 0);
			len = ASN1_STRING_to_UTF8(&u,
			    X509_NAME_ENTRY_get_data(ne));
			if (len < 0 || u == NULL ||
			    strlen((char *)u) != (size_t)len) {
				OPENSSL_free(u);
				profile_rname_free(out);
				return err_set(err, ERR_INVALID, "the requested "
				    "subject's %s cannot be read as text",
				    a->name);
			}
			a->value = strdup((char *)u);
			OPENSSL_free(u);
		} else {
			a->nid = req->fields->attrs[i].nid;
			snprintf(a->name, sizeof(a->name), "%s",
			    profile_attr_name(a->nid));
			a->value = profile_strdup(req->fields->attrs[i].value);
		}
		if (a->value == NULL) {
			profile_rname_free(out);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		out->n++;
	}
	return 0;
}

static int
profile_ov_add(struct profile_overrides *ov, enum profile_override_kind kind,
    const char *field, const char *requested, const char *issued)
{
	struct profile_override *o;

	if (ov == NULL)
		return 0;
	if (ov->n == ov->cap) {
		size_t ncap = ov->cap ? ov->cap * 2 : 8;
		void *nv = realloc(ov->v, ncap * sizeof(*ov->v));

		if (nv == NULL)
			return ERR_NOMEM;
		ov->v = nv;
		ov->cap = ncap;
	}
	o = &ov->v[ov->n];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	snprintf(o->field, sizeof(o->field), "%s", field);
	o->requested = profile_strdup(requested);
	o->issued = profile_strdup(issued);
	if ((requested != NULL && o->requested == NULL) ||
	    (issued != NULL && o->issued == NULL)) {
		free(o->requested);
		free(o->issued);
		return ERR_NOMEM;
	}
	ov->n++;
	return 0;
}

void
profile_overrides_free(struct profile_overrides *ov)
{
	size_t i;

	if (ov == NULL)
		return;
	for (i = 0; i < ov->n; i++) {
		free(ov->v[i].requested);
		free(ov->v[i].issued);
	}
	free(ov->v);
	memset(ov, 0, sizeof(*ov));
}

/* Characters of an untrusted value quoted in a message. */
#define PROFILE_SHOW_MAX 64

int
profile_override_format(const struct profile_override *o, char *out,
    size_t outsz)
{
	char r[300], i[300];

	switch (o->kind) {
	case PROFILE_OV_REPLACED:
		return snprintf(out, outsz, "%s: requested '%s' -> '%s'",
		    o->field, text_show(o->requested, strlen(o->requested),
		    PROFILE_SHOW_MAX, r, sizeof(r)), text_show(o->issued,
		    strlen(o->issued), PROFILE_SHOW_MAX, i, sizeof(i)));
	case PROFILE_OV_ADDED:
		return snprintf(out, outsz, "%s: not requested -> '%s'",
		    o->field, text_show(o->issued, strlen(o->issued),
		    PROFILE_SHOW_MAX, i, sizeof(i)));
	case PROFILE_OV_DROPPED:
		return snprintf(out, outsz, "%s: requested '%s' -> dropped "
		    "(not allowed by the profile)", o->field,
		    text_show(o->requested, strlen(o->requested),
		    PROFILE_SHOW_MAX, r, sizeof(r)));
	}
	return snprintf(out, outsz, "%s: ?", o->field);
}

static int
profile_name_push(struct certspec_name *n, int nid, const char *value)
{
	char *v = strdup(value);

	if (v == NULL)
		return ERR_NOMEM;
	n->attrs[n->n].nid = nid;
	n->attrs[n->n].value = v;
	n->n++;
	return 0;
}

static int
profile_name_copy(const struct certspec_name *src, struct certspec_name *dst)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	if ((dst->attrs = calloc(src->n, sizeof(*dst->attrs))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < src->n; i++)
		if (profile_name_push(dst, src->attrs[i].nid,
		    src->attrs[i].value) != 0)
			return ERR_NOMEM;
	return 0;
}

static int
profile_strlist_copy(const struct certspec_strlist *src,
    struct certspec_strlist *dst)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < src->n; i++) {
		if ((dst->v[i] = strdup(src->v[i])) == NULL)
			return ERR_NOMEM;
		dst->n++;
	}
	return 0;
}

static int
profile_gn_copy(const struct certspec_gn *src, struct certspec_gn *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->type = src->type;
	memcpy(dst->ip, src->ip, sizeof(dst->ip));
	dst->ip_len = src->ip_len;
	if (src->value != NULL && (dst->value = strdup(src->value)) == NULL)
		return ERR_NOMEM;
	return profile_name_copy(&src->dirname, &dst->dirname);
}

static int
profile_gnlist_copy(const struct certspec_gnlist *src,
    struct certspec_gnlist *dst)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < src->n; i++) {
		/* Counted first so a half-copied entry is freed too. */
		dst->n++;
		if (profile_gn_copy(&src->v[i], &dst->v[i]) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* Deep copy; on ERR_NOMEM dst is left for certspec_ext_free. */
static int
profile_ext_copy(const struct certspec_ext *src, struct certspec_ext *dst)
{
	size_t i;

	*dst = *src;
	memset(&dst->eku, 0, sizeof(dst->eku));
	memset(&dst->crl_dp, 0, sizeof(dst->crl_dp));
	memset(&dst->aia_ca_issuers, 0, sizeof(dst->aia_ca_issuers));
	memset(&dst->aia_ocsp, 0, sizeof(dst->aia_ocsp));
	dst->policies = NULL;
	dst->n_policies = 0;
	memset(&dst->nc_permitted, 0, sizeof(dst->nc_permitted));
	memset(&dst->nc_excluded, 0, sizeof(dst->nc_excluded));
	memset(&dst->san, 0, sizeof(dst->san));
	if (profile_strlist_copy(&src->eku, &dst->eku) != 0 ||
	    profile_strlist_copy(&src->crl_dp, &dst->crl_dp) != 0 ||
	    profile_strlist_copy(&src->aia_ca_issuers,
	    &dst->aia_ca_issuers) != 0 ||
	    profile_strlist_copy(&src->aia_ocsp, &dst->aia_ocsp) != 0 ||
	    profile_gnlist_copy(&src->nc_permitted, &dst->nc_permitted) != 0 ||
	    profile_gnlist_copy(&src->nc_excluded, &dst->nc_excluded) != 0)
		return ERR_NOMEM;
	if (src->n_policies == 0)
		return 0;
	if ((dst->policies = calloc(src->n_policies,
	    sizeof(*dst->policies))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < src->n_policies; i++) {
		struct certspec_policy *d = &dst->policies[i];

		dst->n_policies++;
		d->oid = strdup(src->policies[i].oid);
		d->cps = profile_strdup(src->policies[i].cps);
		if (d->oid == NULL || (src->policies[i].cps != NULL &&
		    d->cps == NULL))
			return ERR_NOMEM;
	}
	return 0;
}

/* Index of the first unused requested attribute with nid, or -1. */
static int
profile_rfind(const struct profile_rname *r, int nid)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!r->v[i].used && r->v[i].nid == nid)
			return (int)i;
	return -1;
}

static const char *const profile_san_words[] = {
	"dns", "email", "uri", "ip", "dirname"
};

/* 1 when name is suffix or ends with "." suffix, ignoring case. */
static int
profile_dns_under(const char *name, const char *suffix)
{
	size_t ln = strlen(name), ls = strlen(suffix);

	if (ln == ls)
		return strcasecmp(name, suffix) == 0;
	return ln > ls && name[ln - ls - 1] == '.' &&
	    strcasecmp(name + ln - ls, suffix) == 0;
}

static int
profile_gn_equal(const struct certspec_gn *a, const struct certspec_gn *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == CERTSPEC_GN_IP)
		return a->ip_len == b->ip_len &&
		    memcmp(a->ip, b->ip, a->ip_len) == 0;
	if (a->value == NULL || b->value == NULL)
		return 0;
	return a->type == CERTSPEC_GN_DNS ?
	    strcasecmp(a->value, b->value) == 0 :
	    strcmp(a->value, b->value) == 0;
}

static int
profile_check_san(const struct profile *p, const struct certspec_gnlist *san,
    err_t *err)
{
	char shown[300], list[128];
	size_t i, j;

	if (san->n > PROFILE_MAX_SANS)
		return err_set(err, ERR_LIMIT, "profile %s: the request has "
		    "%zu SANs; at most %d are issued", p->name, san->n,
		    PROFILE_MAX_SANS);
	for (i = 0; i < san->n; i++) {
		const struct certspec_gn *g = &san->v[i];
		const char *word = (unsigned)g->type <= CERTSPEC_GN_DIRNAME ?
		    profile_san_words[g->type] : "?";
		unsigned bit = g->type == CERTSPEC_GN_DNS ? PROFILE_SAN_DNS :
		    g->type == CERTSPEC_GN_EMAIL ? PROFILE_SAN_EMAIL :
		    g->type == CERTSPEC_GN_URI ? PROFILE_SAN_URI :
		    g->type == CERTSPEC_GN_IP ? PROFILE_SAN_IP : 0;
		const char *v = g->value != NULL ? g->value : "";
		int ok;

		if (p->san_allow == 0)
			return err_set(err, ERR_POLICY, "SANs not allowed for "
			    "profile %s (the request has %s SANs)", p->name,
			    word);
		if (!(p->san_allow & bit)) {
			size_t used = 0;

			list[0] = '\0';
			for (j = 0; j < 4; j++)
				if (p->san_allow & (1u << j))
					used += (size_t)snprintf(list + used,
					    sizeof(list) - used, "%s%s",
					    used ? ", " : "",
					    profile_san_names[j]);
			return err_set(err, ERR_POLICY, "%s SANs not allowed "
			    "for profile %s (allowed: %s)", word, p->name,
			    list);
		}
		switch (g->type) {
		case CERTSPEC_GN_DNS:
			ok = profile_valid_dns(v);
			break;
		case CERTSPEC_GN_EMAIL: {
			const char *at = strchr(v, '@');

			ok = at != NULL && at != v && strchr(at + 1, '@') ==
			    NULL && certspec_is_ascii_text(v) &&
			    strchr(v, ' ') == NULL && profile_valid_dns(at + 1);
			break;
		}
		case CERTSPEC_GN_URI: {
			const char *colon = strchr(v, ':');

			ok = colon != NULL && colon != v && colon[1] != '\0' &&
			    strlen(v) <= 2048 && certspec_is_ascii_text(v) &&
			    strchr(v, ' ') == NULL;
			break;
		}
		case CERTSPEC_GN_IP:
			ok = g->ip_len == 4 || g->ip_len == 16;
			break;
		case CERTSPEC_GN_DIRNAME:
		default:
			ok = 0;
			break;
		}
		if (!ok)
			return err_set(err, ERR_INVALID, "profile %s: the "
			    "requested %s SAN '%s' is not valid", p->name, word,
			    text_show(v, strlen(v), PROFILE_SHOW_MAX, shown,
			    sizeof(shown)));
		if (g->type == CERTSPEC_GN_DNS && p->n_dns_suffixes > 0) {
			for (j = 0; j < p->n_dns_suffixes; j++)
				if (profile_dns_under(v, p->dns_suffixes[j]))
					break;
			if (j == p->n_dns_suffixes)
				return err_set(err, ERR_POLICY, "dns SAN '%s' "
				    "not allowed for profile %s: it must end "
				    "with %s%s", v, p->name,
				    p->dns_suffixes[0], p->n_dns_suffixes > 1 ?
				    " or another listed suffix" : "");
		}
		for (j = 0; j < i; j++)
			if (profile_gn_equal(&san->v[j], g))
				return err_set(err, ERR_POLICY, "profile %s: "
				    "the request names %s SAN '%s' twice",
				    p->name, word, text_show(v, strlen(v),
				    PROFILE_SHOW_MAX, shown, sizeof(shown)));
	}
	return 0;
}

/* Appends the fixed RDNs, recording where the request differed. */
static int
profile_subject_fixed(const struct profile *p, struct profile_rname *r,
    int has_subject, struct certspec_name *out,
    struct profile_overrides *ov)
{
	size_t i;

	for (i = 0; i < p->fixed.n; i++) {
		const struct certspec_attr *f = &p->fixed.attrs[i];
		int k = profile_rfind(r, f->nid);

		if (profile_name_push(out, f->nid, f->value) != 0)
			return ERR_NOMEM;
		if (k >= 0) {
			r->v[k].used = 1;
			if (strcmp(r->v[k].value, f->value) != 0 &&
			    profile_ov_add(ov, PROFILE_OV_REPLACED,
			    r->v[k].name, r->v[k].value, f->value) != 0)
				return ERR_NOMEM;
		} else if (has_subject && profile_ov_add(ov, PROFILE_OV_ADDED,
		    profile_attr_name(f->nid), NULL, f->value) != 0) {
			return ERR_NOMEM;
		}
	}
	return 0;
}

/* Appends the kept attributes in keep order, each checked. */
static int
profile_subject_kept(const struct profile *p, struct profile_rname *r,
    struct certspec_name *out, err_t *err)
{
	char why[160], shown[300];
	size_t i, j;

	for (i = 0; i < p->n_keep; i++) {
		for (j = 0; j < r->n; j++) {
			struct profile_rattr *a = &r->v[j];

			if (a->used || a->nid != p->keep[i])
				continue;
			if (!profile_value_ok(a->nid, a->value, why,
			    sizeof(why)))
				return err_set(err, ERR_INVALID, "profile %s: "
				    "requested %s '%s' cannot be issued: %s",
				    p->name, a->name, text_show(a->value,
				    strlen(a->value), PROFILE_SHOW_MAX, shown,
				    sizeof(shown)), why);
			a->used = 1;
			if (profile_name_push(out, a->nid, a->value) != 0)
				return err_set(err, ERR_NOMEM,
				    "out of memory");
		}
	}
	return 0;
}

static int
profile_subject_cn(const struct profile *p, const struct profile_request *req,
    struct profile_rname *r, int has_subject, struct certspec_name *out,
    struct profile_overrides *ov, err_t *err)
{
	char why[160];
	int k = profile_rfind(r, NID_commonName);

	if (p->cn == PROFILE_CN_MAC) {
		char mac[MAC_STR_MAX];

		if (!req->has_mac)
			return err_set(err, ERR_POLICY, "profile %s takes the "
			    "common name from the device's MAC address, and "
			    "this request has none", p->name);
		if (mac_format(req->mac, p->mac_format, mac, sizeof(mac)) != 0)
			return err_set(err, ERR_INTERNAL, "profile %s: MAC "
			    "format %d unknown", p->name, (int)p->mac_format);
		if (k >= 0) {
			r->v[k].used = 1;
			if (strcmp(r->v[k].value, mac) != 0 &&
			    profile_ov_add(ov, PROFILE_OV_REPLACED, "CN",
			    r->v[k].value, mac) != 0)
				return err_set(err, ERR_NOMEM,
				    "out of memory");
		} else if (has_subject && profile_ov_add(ov, PROFILE_OV_ADDED,
		    "CN", NULL, mac) != 0) {
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if (profile_name_push(out, NID_commonName, mac) != 0)
			return err_set(err, ERR_NOMEM, "out of memory");
		return 0;
	}
	if (k < 0)
		return err_set(err, ERR_POLICY, "profile %s takes the common "
		    "name from the request, and this request has none",
		    p->name);
	r->v[k].used = 1;
	if (profile_rfind(r, NID_commonName) >= 0)
		return err_set(err, ERR_POLICY, "profile %s: the request has "
		    "more than one CN; exactly one is issued", p->name);
	if (!profile_value_ok(NID_commonName, r->v[k].value, why,
	    sizeof(why))) {
		char shown[300];

		return err_set(err, ERR_INVALID, "profile %s: requested CN "
		    "'%s' cannot be issued: %s", p->name,
		    text_show(r->v[k].value, strlen(r->v[k].value),
		    PROFILE_SHOW_MAX, shown, sizeof(shown)), why);
	}
	if (profile_name_push(out, NID_commonName, r->v[k].value) != 0)
		return err_set(err, ERR_NOMEM, "out of memory");
	return 0;
}

int
profile_certspec(const struct profile *p,
    const struct profile_request *req, time_t now, time_t issuer_not_after,
    struct certspec *out, struct profile_overrides *ov, err_t *err)
{
	struct profile_rname r;
	size_t i, ov_start = ov != NULL ? ov->n : 0;
	int has_subject, rc;

	if (p == NULL || req == NULL || out == NULL)
		return err_set(err, ERR_INTERNAL, "profile_certspec: missing "
		    "argument");
	has_subject = req->subject != NULL || req->fields != NULL;
	memset(out, 0, sizeof(*out));
	certspec_ext_init(&out->ext);
	if ((rc = profile_not_after(p, now, issuer_not_after,
	    &out->not_after, err)) != 0)
		return rc;
	out->not_before = now;
	if ((rc = profile_rname_from(p, req, &r, err)) != 0)
		return rc;
	if (req->san != NULL && (rc = profile_check_san(p, req->san,
	    err)) != 0)
		goto fail;
	/* Fixed, kept (each request attribute at most once) and the CN. */
	out->subject.attrs = calloc(p->fixed.n + r.n + 1,
	    sizeof(*out->subject.attrs));
	if (out->subject.attrs == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (profile_subject_fixed(p, &r, has_subject, &out->subject,
	    ov) != 0) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = profile_subject_kept(p, &r, &out->subject, err)) != 0 ||
	    (rc = profile_subject_cn(p, req, &r, has_subject, &out->subject,
	    ov, err)) != 0)
		goto fail;
	for (i = 0; i < r.n; i++) {
		if (r.v[i].used)
			continue;
		if (profile_ov_add(ov, PROFILE_OV_DROPPED, r.v[i].name,
		    r.v[i].value, NULL) != 0) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	switch (p->digest) {
	case PROFILE_MD_SHA256:
		out->digest = CERTSPEC_MD_SHA256;
		break;
	case PROFILE_MD_SHA384:
		out->digest = CERTSPEC_MD_SHA384;
		break;
	case PROFILE_MD_SHA512:
		out->digest = CERTSPEC_MD_SHA512;
		break;
	case PROFILE_MD_SHA1:
		/* certspec has no SHA-1; profile_md says it to the signer. */
		out->digest = CERTSPEC_MD_AUTO;
		break;
	}
	if (profile_ext_copy(&p->ext, &out->ext) != 0 ||
	    (req->san != NULL && profile_gnlist_copy(req->san,
	    &out->ext.san) != 0)) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto fail;
	}
	profile_rname_free(&r);
	return 0;
fail:
	profile_rname_free(&r);
	certspec_free(out);
	/* A refused request leaves no half-recorded overrides behind. */
	while (ov != NULL && ov->n > ov_start) {
		ov->n--;
		free(ov->v[ov->n].requested);
		free(ov->v[ov->n].issued);
	}
	return rc;
}
