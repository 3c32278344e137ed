/* certspec.c: strict YAML reader for certificate contents (see certspec.h). */
#include "pki/certspec.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "pki/oids.h"
#include "util/text.h"

/* String types we emit for attribute values, as RFC 5280 asks. */
enum certspec_strtype { STR_UTF8, STR_PRINTABLE, STR_IA5 };

static const struct {
	const char *name;
	int nid;
	enum certspec_strtype type;
	size_t min, max;	/* characters (ub-* from RFC 5280 App. A) */
} certspec_attrs[] = {
	{ "C", NID_countryName, STR_PRINTABLE, 2, 2 },
	{ "ST", NID_stateOrProvinceName, STR_UTF8, 1, 128 },
	{ "L", NID_localityName, STR_UTF8, 1, 128 },
	{ "O", NID_organizationName, STR_UTF8, 1, 64 },
	{ "OU", NID_organizationalUnitName, STR_UTF8, 1, 64 },
	{ "CN", NID_commonName, STR_UTF8, 1, 64 },
	{ "serialNumber", NID_serialNumber, STR_PRINTABLE, 1, 64 },
	{ "emailAddress", NID_pkcs9_emailAddress, STR_IA5, 1, 255 },
	{ "DC", NID_domainComponent, STR_IA5, 1, 63 },
	{ "UID", NID_userId, STR_UTF8, 1, 256 },
};
#define CERTSPEC_NATTRS (sizeof(certspec_attrs) / sizeof(certspec_attrs[0]))

static const struct {
	const char *name;
	unsigned bit;
} certspec_ku_names[] = {
	{ "digitalSignature", CERTSPEC_KU_DIGITAL_SIGNATURE },
	{ "nonRepudiation", CERTSPEC_KU_NON_REPUDIATION },
	{ "contentCommitment", CERTSPEC_KU_NON_REPUDIATION },
	{ "keyEncipherment", CERTSPEC_KU_KEY_ENCIPHERMENT },
	{ "dataEncipherment", CERTSPEC_KU_DATA_ENCIPHERMENT },
	{ "keyAgreement", CERTSPEC_KU_KEY_AGREEMENT },
	{ "keyCertSign", CERTSPEC_KU_KEY_CERT_SIGN },
	{ "cRLSign", CERTSPEC_KU_CRL_SIGN },
};

/* Maximum length of any URI, DNS name or e-mail address we accept. */
#define CERTSPEC_MAX_TEXT 2048

int
certspec_is_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c) != NULL)
			continue;
		return 0;
	}
	return 1;
}

int
certspec_is_ascii_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int
certspec_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* Reads the single key of a one-key map item; 0 or ERR_INVALID. */
static int
certspec_single_key(struct yamldoc *doc, const struct yamldoc_node *item,
    const char *what, const char **key)
{
	if (item->kind != YAMLDOC_MAP || item->n != 1)
		return yamldoc_error(doc, item,
		    "each %s entry must be a map with exactly one key, "
		    "like '- CN: Example'", what);
	*key = item->pairs[0].key;
	return 0;
}

void
certspec_name_free(struct certspec_name *name)
{
	size_t i;

	if (name == NULL)
		return;
	for (i = 0; i < name->n; i++)
		free(name->attrs[i].value);
	free(name->attrs);
	name->attrs = NULL;
	name->n = 0;
}

int
certspec_parse_name(struct yamldoc *doc, const struct yamldoc_node *seq,
    struct certspec_name *out)
{
	size_t i, j;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	if (seq->kind != YAMLDOC_SEQ)
		return yamldoc_error(doc, seq,
		    "a name must be a sequence of single-key maps "
		    "(- C: US, - O: Example, - CN: Example CA)");
	if (seq->n == 0)
		return yamldoc_error(doc, seq, "a name must not be empty");
	out->attrs = calloc(seq->n, sizeof(*out->attrs));
	if (out->attrs == NULL)
		return ERR_NOMEM;
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *item = seq->items[i];
		const char *key = NULL, *val;
		long nchars;

		if (certspec_single_key(doc, item, "name", &key) != 0) {
			bad = 1;
			continue;
		}
		for (j = 0; j < CERTSPEC_NATTRS; j++)
			if (strcmp(key, certspec_attrs[j].name) == 0)
				break;
		if (j == CERTSPEC_NATTRS) {
			yamldoc_error(doc, item->pairs[0].value,
			    "unknown name attribute '%s' (allowed: C, ST, L, "
			    "O, OU, CN, serialNumber, emailAddress, DC, UID)",
			    key);
			item->pairs[0].used = 1;
			bad = 1;
			continue;
		}
		if (yamldoc_get_str(doc, item, key, 1, &val) < 0) {
			bad = 1;
			continue;
		}
		/* yamldoc checked the UTF-8; were it not, -1 is refused. */
		nchars = text_utf8_chars(val);
		if (nchars < 0 || (size_t)nchars < certspec_attrs[j].min ||
		    (size_t)nchars > certspec_attrs[j].max) {
			if (certspec_attrs[j].min == certspec_attrs[j].max)
				yamldoc_error(doc, item->pairs[0].value,
				    "%s must be exactly %zu characters, not "
				    "%ld", key, certspec_attrs[j].min, nchars);
			else
				yamldoc_error(doc, item->pairs[0].value,
				    "%s must be %zu to %zu characters, not %ld",
				    key, certspec_attrs[j].min,
				    certspec_attrs[j].max, nchars);
			bad = 1;
			continue;
		}
		if (certspec_attrs[j].nid == NID_countryName &&
		    !((val[0] >= 'A' && val[0] <= 'Z') &&
		    (val[1] >= 'A' && val[1] <= 'Z'))) {
			yamldoc_error(doc, item->pairs[0].value,
			    "C must be a two-letter upper-case ISO 3166 code, "
			    "not '%s'", val);
			bad = 1;
			continue;
		}
		if ((certspec_attrs[j].type == STR_PRINTABLE &&
		    !certspec_is_printable(val)) ||
		    (certspec_attrs[j].type == STR_IA5 &&
		    !certspec_is_ascii_text(val)) ||
		    certspec_has_control(val)) {
			yamldoc_error(doc, item->pairs[0].value,
			    "%s contains characters its string type (%s) "
			    "cannot hold", key,
			    certspec_attrs[j].type == STR_PRINTABLE ?
			    "PrintableString" :
			    certspec_attrs[j].type == STR_IA5 ? "IA5String" :
			    "UTF8String without control characters");
			bad = 1;
			continue;
		}
		out->attrs[out->n].nid = certspec_attrs[j].nid;
		out->attrs[out->n].value = strdup(val);
		if (out->attrs[out->n].value == NULL) {
			certspec_name_free(out);
			return ERR_NOMEM;
		}
		out->n++;
	}
	if (bad) {
		certspec_name_free(out);
		return ERR_INVALID;
	}
	return 0;
}

static void
certspec_strlist_free(struct certspec_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
certspec_gnlist_free(struct certspec_gnlist *l)
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

/* A URI with a scheme and no spaces or control characters. */
static int
certspec_valid_uri(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	for (p++; *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' ||
		    *p == '.'))
			return 0;
	if (p[1] == '\0')
		return 0;
	return strchr(s, ' ') == NULL && certspec_is_ascii_text(s);
}

/*
 * A host name: LDH labels of 1..63 characters, at most 253 in all. A
 * leading "*." (certificates) or "." (constraints: subdomains only) is
 * allowed when `lead` says so.
 */
static int
certspec_valid_dns(const char *s, int lead)
{
	size_t label = 0, total = strlen(s);

	if (lead == 1 && strncmp(s, "*.", 2) == 0)
		s += 2;
	else if (lead == 2 && s[0] == '.')
		s += 1;
	if (total == 0 || total > 253 || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

static int
certspec_valid_email(const char *s, int constraint)
{
	const char *at = strchr(s, '@');

	if (!certspec_is_ascii_text(s) || strchr(s, ' ') != NULL)
		return 0;
	if (at == NULL)
		return constraint && certspec_valid_dns(s, 2);
	if (at == s || strchr(at + 1, '@') != NULL)
		return 0;
	return certspec_valid_dns(at + 1, 0);
}

/* Parses an address ("10.0.0.1") or, when cidr, a block ("10.0.0.0/8"). */
static int
certspec_parse_ip(const char *s, int cidr, struct certspec_gn *gn)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen, i;
	long prefix = -1;
	int bytes;

	if (cidr != (slash != NULL))
		return 0;
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return 0;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, gn->ip) == 1)
		bytes = 4;
	else if (inet_pton(AF_INET6, addr, gn->ip) == 1)
		bytes = 16;
	else
		return 0;
	gn->ip_len = (size_t)bytes;
	if (!cidr)
		return 1;
	{
		char *end;
		const char *p = slash + 1;

		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
			return 0;
		prefix = strtol(p, &end, 10);
		if (*end != '\0' || prefix < 0 || prefix > bytes * 8)
			return 0;
	}
	for (i = 0; i < (size_t)bytes; i++) {
		long bits = prefix - (long)i * 8;
		unsigned char m = bits >= 8 ? 0xff : bits <= 0 ? 0 :
		    (unsigned char)(0xff << (8 - bits));

		/* Host bits set mean the author meant another block. */
		if ((gn->ip[i] & (unsigned char)~m) != 0)
			return 0;
		gn->ip[bytes + i] = m;
	}
	gn->ip_len = (size_t)bytes * 2;
	return 1;
}

/*
 * Parses a sequence of general names. `constraint` selects the name
 * constraints forms (dirname allowed, ip is CIDR, leading dots).
 */
static int
certspec_parse_gnlist(struct yamldoc *doc, const struct yamldoc_node *seq,
    int constraint, struct certspec_gnlist *out)
{
	size_t i;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	if (seq->kind != YAMLDOC_SEQ)
		return yamldoc_error(doc, seq,
		    "must be a sequence of single-key maps such as "
		    "'- dns: example.com'");
	if (seq->n == 0)
		return 0;
	out->v = calloc(seq->n, sizeof(*out->v));
	if (out->v == NULL)
		return ERR_NOMEM;
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *item = seq->items[i];
		struct certspec_gn *gn = &out->v[out->n];
		const char *key = NULL, *val = NULL;
		int ok = 0;

		if (certspec_single_key(doc, item, "general name", &key) != 0) {
			bad = 1;
			continue;
		}
		if (constraint && strcmp(key, "dirname") == 0) {
			const struct yamldoc_node *dn;
			int rc;

			if (yamldoc_get_node(doc, item, key, 1, &dn) < 0) {
				bad = 1;
				continue;
			}
			gn->type = CERTSPEC_GN_DIRNAME;
			rc = certspec_parse_name(doc, dn, &gn->dirname);
			if (rc == ERR_NOMEM) {
				certspec_gnlist_free(out);
				return rc;
			}
			if (rc != 0) {
				bad = 1;
				continue;
			}
			out->n++;
			continue;
		}
		if (strcmp(key, "dns") == 0)
			gn->type = CERTSPEC_GN_DNS;
		else if (strcmp(key, "email") == 0)
			gn->type = CERTSPEC_GN_EMAIL;
		else if (strcmp(key, "uri") == 0)
			gn->type = CERTSPEC_GN_URI;
		else if (strcmp(key, "ip") == 0)
			gn->type = CERTSPEC_GN_IP;
		else {
			yamldoc_error(doc, item->pairs[0].value,
			    "unknown general name type '%s' (allowed: dns, "
			    "email, uri, ip%s)", key,
			    constraint ? ", dirname" : "");
			item->pairs[0].used = 1;
			bad = 1;
			continue;
		}
		if (yamldoc_get_str(doc, item, key, 1, &val) < 0) {
			bad = 1;
			continue;
		}
		if (strlen(val) > CERTSPEC_MAX_TEXT) {
			yamldoc_error(doc, item->pairs[0].value,
			    "%s is longer than %d bytes", key,
			    CERTSPEC_MAX_TEXT);
			bad = 1;
			continue;
		}
		switch (gn->type) {
		case CERTSPEC_GN_DNS:
			ok = certspec_valid_dns(val, constraint ? 2 : 1);
			break;
		case CERTSPEC_GN_EMAIL:
			ok = certspec_valid_email(val, constraint);
			break;
		case CERTSPEC_GN_URI:
			/* RFC 5280 4.2.1.10: URI constraints are host names. */
			ok = constraint ? certspec_valid_dns(val, 2) :
			    certspec_valid_uri(val);
			break;
		case CERTSPEC_GN_IP:
			ok = certspec_parse_ip(val, constraint, gn);
			break;
		case CERTSPEC_GN_DIRNAME:
			break;
		}
		if (!ok) {
			yamldoc_error(doc, item->pairs[0].value,
			    "'%s' is not a valid %s", val,
			    gn->type == CERTSPEC_GN_DNS ? "DNS name" :
			    gn->type == CERTSPEC_GN_EMAIL ? "e-mail address" :
			    gn->type == CERTSPEC_GN_URI ?
			    (constraint ? "URI host constraint" : "URI") :
			    constraint ? "IP block in CIDR form with no host "
			    "bits set (10.0.0.0/8, 2001:db8::/32)" :
			    "IP address");
			bad = 1;
			continue;
		}
		if (gn->type != CERTSPEC_GN_IP) {
			gn->value = strdup(val);
			if (gn->value == NULL) {
				certspec_gnlist_free(out);
				return ERR_NOMEM;
			}
		}
		out->n++;
	}
	if (bad) {
		certspec_gnlist_free(out);
		return ERR_INVALID;
	}
	return 0;
}

/* Parses an optional sequence of URIs under key. */
static int
certspec_parse_uris(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, struct certspec_strlist *out)
{
	const struct yamldoc_node *seq;
	size_t i;
	int rc, bad = 0;

	memset(out, 0, sizeof(*out));
	rc = yamldoc_get_seq(doc, map, key, 0, &seq);
	if (rc <= 0)
		return rc;
	if (seq->n == 0)
		return yamldoc_error(doc, seq, "%s must list at least one URI",
		    key);
	out->v = calloc(seq->n, sizeof(*out->v));
	if (out->v == NULL)
		return ERR_NOMEM;
	for (i = 0; i < seq->n; i++) {
		const char *s;

		if (yamldoc_as_str(doc, seq->items[i], &s) < 0) {
			bad = 1;
			continue;
		}
		if (strlen(s) > CERTSPEC_MAX_TEXT || !certspec_valid_uri(s)) {
			yamldoc_error(doc, seq->items[i],
			    "'%s' is not a valid URI (scheme:rest, printable "
			    "ASCII, no spaces)", s);
			bad = 1;
			continue;
		}
		out->v[out->n] = strdup(s);
		if (out->v[out->n] == NULL) {
			certspec_strlist_free(out);
			return ERR_NOMEM;
		}
		out->n++;
	}
	if (bad) {
		certspec_strlist_free(out);
		return ERR_INVALID;
	}
	return 0;
}

static int
certspec_parse_ku(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *ext)
{
	const struct yamldoc_node *seq;
	size_t i, j;
	int rc, bad = 0;

	rc = yamldoc_get_seq(doc, map, "key_usage", 0, &seq);
	if (rc <= 0)
		return rc;
	if (seq->n == 0)
		return yamldoc_error(doc, seq,
		    "key_usage must name at least one usage; omit the key "
		    "for no keyUsage extension");
	for (i = 0; i < seq->n; i++) {
		const char *s;

		if (yamldoc_as_str(doc, seq->items[i], &s) < 0) {
			bad = 1;
			continue;
		}
		for (j = 0; j < sizeof(certspec_ku_names) /
		    sizeof(certspec_ku_names[0]); j++)
			if (strcmp(s, certspec_ku_names[j].name) == 0)
				break;
		if (j == sizeof(certspec_ku_names) /
		    sizeof(certspec_ku_names[0])) {
			yamldoc_error(doc, seq->items[i],
			    "unknown key usage '%s' (allowed: "
			    "digitalSignature, nonRepudiation, "
			    "contentCommitment, keyEncipherment, "
			    "dataEncipherment, keyAgreement, keyCertSign, "
			    "cRLSign)", s);
			bad = 1;
			continue;
		}
		if (ext->key_usage & certspec_ku_names[j].bit) {
			yamldoc_error(doc, seq->items[i],
			    "key usage '%s' is listed twice", s);
			bad = 1;
			continue;
		}
		ext->key_usage |= certspec_ku_names[j].bit;
	}
	if (bad)
		return ERR_INVALID;
	ext->has_key_usage = 1;
	return 0;
}

static int
certspec_parse_eku(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *ext)
{
	const struct yamldoc_node *seq;
	size_t i, j;
	int rc, bad = 0;

	rc = yamldoc_get_seq(doc, map, "extended_key_usage", 0, &seq);
	if (rc <= 0)
		return rc;
	if (seq->n == 0)
		return yamldoc_error(doc, seq,
		    "extended_key_usage must name at least one purpose; omit "
		    "the key for no extendedKeyUsage extension");
	ext->eku.v = calloc(seq->n, sizeof(*ext->eku.v));
	if (ext->eku.v == NULL)
		return ERR_NOMEM;
	for (i = 0; i < seq->n; i++) {
		char dotted[256];
		const char *s;

		if (yamldoc_as_str(doc, seq->items[i], &s) < 0) {
			bad = 1;
			continue;
		}
		if (oids_eku_resolve(s, dotted, sizeof(dotted)) != 0) {
			yamldoc_error(doc, seq->items[i],
			    "unknown extended key usage '%s' (use serverAuth, "
			    "clientAuth, codeSigning, emailProtection, "
			    "timeStamping, OCSPSigning, an airlock-* role or "
			    "purpose, or a dotted OID)", s);
			bad = 1;
			continue;
		}
		for (j = 0; j < ext->eku.n; j++)
			if (strcmp(ext->eku.v[j], dotted) == 0)
				break;
		if (j < ext->eku.n) {
			yamldoc_error(doc, seq->items[i],
			    "extended key usage '%s' is listed twice", s);
			bad = 1;
			continue;
		}
		ext->eku.v[ext->eku.n] = strdup(dotted);
		if (ext->eku.v[ext->eku.n] == NULL)
			return ERR_NOMEM;
		ext->eku.n++;
	}
	return bad ? ERR_INVALID : 0;
}

static int
certspec_parse_bc(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *ext)
{
	const struct yamldoc_node *bc;
	long long pl = -1;
	int rc, bad = 0, crit = 1, ca = 0;

	rc = yamldoc_get_map(doc, map, "basic_constraints", 0, &bc);
	if (rc <= 0)
		return rc;
	if (yamldoc_get_bool(doc, bc, "ca", 1, &ca) < 0)
		bad = 1;
	rc = yamldoc_get_int(doc, bc, "path_len", 0, 0, 1000000, &pl);
	if (rc < 0)
		bad = 1;
	else if (rc == 0)
		pl = -1;
	if (yamldoc_get_bool(doc, bc, "critical", 0, &crit) < 0)
		bad = 1;
	if (yamldoc_check_unknown(doc, bc) > 0)
		bad = 1;
	if (!bad && !ca && pl >= 0) {
		const struct yamldoc_node *n = NULL;

		yamldoc_get_node(doc, bc, "path_len", 0, &n);
		yamldoc_error(doc, n != NULL ? n : bc,
		    "path_len is only allowed when ca is true");
		bad = 1;
	}
	if (bad)
		return ERR_INVALID;
	ext->has_basic_constraints = 1;
	ext->bc_ca = ca;
	ext->bc_path_len = (long)pl;
	ext->bc_critical = crit;
	return 0;
}

static int
certspec_parse_aia(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *ext)
{
	const struct yamldoc_node *aia;
	int rc, bad = 0;

	rc = yamldoc_get_map(doc, map, "authority_info_access", 0, &aia);
	if (rc <= 0)
		return rc;
	rc = certspec_parse_uris(doc, aia, "ca_issuers", &ext->aia_ca_issuers);
	if (rc == ERR_NOMEM)
		return rc;
	if (rc < 0)
		bad = 1;
	rc = certspec_parse_uris(doc, aia, "ocsp", &ext->aia_ocsp);
	if (rc == ERR_NOMEM)
		return rc;
	if (rc < 0)
		bad = 1;
	if (yamldoc_check_unknown(doc, aia) > 0)
		bad = 1;
	if (!bad && ext->aia_ca_issuers.n == 0 && ext->aia_ocsp.n == 0)
		return yamldoc_error(doc, aia,
		    "authority_info_access needs ca_issuers or ocsp");
	return bad ? ERR_INVALID : 0;
}

static int
certspec_parse_policies(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *ext)
{
	const struct yamldoc_node *seq;
	size_t i;
	int rc, bad = 0;

	rc = yamldoc_get_seq(doc, map, "certificate_policies", 0, &seq);
	if (rc <= 0)
		return rc;
	if (seq->n == 0)
		return yamldoc_error(doc, seq,
		    "certificate_policies must list at least one policy");
	ext->policies = calloc(seq->n, sizeof(*ext->policies));
	if (ext->policies == NULL)
		return ERR_NOMEM;
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *item = seq->items[i];
		const struct yamldoc_node *oidn = NULL;
		struct certspec_policy *p = &ext->policies[ext->n_policies];
		const char *oid = NULL, *cps = NULL;
		char dotted[256];
		int ibad = 0;

		if (yamldoc_as_map(doc, item) < 0) {
			bad = 1;
			continue;
		}
		if (yamldoc_get_str(doc, item, "oid", 1, &oid) < 0)
			ibad = 1;
		if (yamldoc_get_str(doc, item, "cps", 0, &cps) < 0)
			ibad = 1;
		if (yamldoc_check_unknown(doc, item) > 0)
			ibad = 1;
		if (oid != NULL && (oids_eku_resolve(oid, dotted,
		    sizeof(dotted)) != 0 || strcmp(dotted, oid) != 0)) {
			yamldoc_get_node(doc, item, "oid", 0, &oidn);
			yamldoc_error(doc, oidn != NULL ? oidn : item,
			    "policy oid '%s' is not a dotted OID", oid);
			ibad = 1;
		}
		if (cps != NULL && !certspec_valid_uri(cps)) {
			const struct yamldoc_node *cn = NULL;

			yamldoc_get_node(doc, item, "cps", 0, &cn);
			yamldoc_error(doc, cn != NULL ? cn : item,
			    "cps '%s' is not a valid URI", cps);
			ibad = 1;
		}
		if (ibad) {
			bad = 1;
			continue;
		}
		p->oid = strdup(oid);
		p->cps = cps != NULL ? strdup(cps) : NULL;
		ext->n_policies++;
		if (p->oid == NULL || (cps != NULL && p->cps == NULL))
			return ERR_NOMEM;
	}
	return bad ? ERR_INVALID : 0;
}

static int
certspec_parse_nc(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *ext)
{
	const struct yamldoc_node *nc, *seq;
	int rc, bad = 0, crit = 1;

	rc = yamldoc_get_map(doc, map, "name_constraints", 0, &nc);
	if (rc <= 0)
		return rc;
	if (yamldoc_get_bool(doc, nc, "critical", 0, &crit) < 0)
		bad = 1;
	rc = yamldoc_get_seq(doc, nc, "permitted", 0, &seq);
	if (rc < 0)
		bad = 1;
	else if (rc == 1) {
		rc = certspec_parse_gnlist(doc, seq, 1, &ext->nc_permitted);
		if (rc == ERR_NOMEM)
			return rc;
		if (rc < 0)
			bad = 1;
	}
	rc = yamldoc_get_seq(doc, nc, "excluded", 0, &seq);
	if (rc < 0)
		bad = 1;
	else if (rc == 1) {
		rc = certspec_parse_gnlist(doc, seq, 1, &ext->nc_excluded);
		if (rc == ERR_NOMEM)
			return rc;
		if (rc < 0)
			bad = 1;
	}
	if (yamldoc_check_unknown(doc, nc) > 0)
		bad = 1;
	if (bad)
		return ERR_INVALID;
	if (ext->nc_permitted.n == 0 && ext->nc_excluded.n == 0)
		return yamldoc_error(doc, nc,
		    "name_constraints needs at least one permitted or "
		    "excluded entry");
	ext->has_name_constraints = 1;
	ext->nc_critical = crit;
	return 0;
}

void
certspec_ext_init(struct certspec_ext *ext)
{
	memset(ext, 0, sizeof(*ext));
	ext->ski = 1;
	ext->aki = 1;
	ext->bc_path_len = -1;
	ext->bc_critical = 1;
	ext->nc_critical = 1;
}

void
certspec_ext_free(struct certspec_ext *ext)
{
	size_t i;

	if (ext == NULL)
		return;
	certspec_strlist_free(&ext->eku);
	certspec_strlist_free(&ext->crl_dp);
	certspec_strlist_free(&ext->aia_ca_issuers);
	certspec_strlist_free(&ext->aia_ocsp);
	for (i = 0; i < ext->n_policies; i++) {
		free(ext->policies[i].oid);
		free(ext->policies[i].cps);
	}
	free(ext->policies);
	certspec_gnlist_free(&ext->nc_permitted);
	certspec_gnlist_free(&ext->nc_excluded);
	certspec_gnlist_free(&ext->san);
	certspec_ext_init(ext);
}

/* Folds one step's result into the running verdict; 1 = stop (no memory). */
static int
certspec_step(int rc, int *bad)
{
	if (rc == ERR_NOMEM)
		return 1;
	if (rc < 0)
		*bad = 1;
	return 0;
}

int
certspec_parse_ext(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *out)
{
	const struct yamldoc_node *seq;
	int rc, bad = 0;

	certspec_ext_init(out);
	if (map == NULL || map->kind != YAMLDOC_MAP)
		return map == NULL ? ERR_INVALID :
		    yamldoc_error(doc, map, "expected a map");
	if (certspec_step(certspec_parse_ku(doc, map, out), &bad) ||
	    certspec_step(certspec_parse_eku(doc, map, out), &bad) ||
	    certspec_step(certspec_parse_bc(doc, map, out), &bad) ||
	    certspec_step(certspec_parse_uris(doc, map,
	    "crl_distribution_points", &out->crl_dp), &bad) ||
	    certspec_step(certspec_parse_aia(doc, map, out), &bad) ||
	    certspec_step(certspec_parse_policies(doc, map, out), &bad) ||
	    certspec_step(certspec_parse_nc(doc, map, out), &bad))
		goto nomem;
	if (yamldoc_get_bool(doc, map, "subject_key_identifier", 0,
	    &out->ski) < 0)
		bad = 1;
	if (yamldoc_get_bool(doc, map, "authority_key_identifier", 0,
	    &out->aki) < 0)
		bad = 1;
	rc = yamldoc_get_seq(doc, map, "subject_alt_names", 0, &seq);
	if (rc < 0)
		bad = 1;
	else if (rc == 1) {
		if (seq->n == 0) {
			yamldoc_error(doc, seq, "subject_alt_names must list "
			    "at least one name; omit the key for none");
			bad = 1;
		} else if (certspec_step(certspec_parse_gnlist(doc, seq, 0,
		    &out->san), &bad))
			goto nomem;
	}
	if (bad) {
		certspec_ext_free(out);
		return ERR_INVALID;
	}
	return 0;
nomem:
	certspec_ext_free(out);
	return ERR_NOMEM;
}

int
certspec_parse(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec *out)
{
	static const char *const digests[] = { "sha256", "sha384", "sha512",
	    NULL };
	const struct yamldoc_node *subj, *val;
	int rc, bad = 0, idx = -1;

	memset(out, 0, sizeof(*out));
	certspec_ext_init(&out->ext);
	if (map == NULL || map->kind != YAMLDOC_MAP)
		return map == NULL ? ERR_INVALID :
		    yamldoc_error(doc, map, "expected a map");
	rc = yamldoc_get_node(doc, map, "subject", 1, &subj);
	if (rc < 0)
		bad = 1;
	else if (rc == 1) {
		rc = certspec_parse_name(doc, subj, &out->subject);
		if (certspec_step(rc, &bad))
			goto nomem;
	}
	rc = yamldoc_get_map(doc, map, "validity", 1, &val);
	if (rc < 0)
		bad = 1;
	else if (rc == 1) {
		int vbad = 0;

		if (yamldoc_get_time(doc, val, "not_before", 1,
		    &out->not_before) < 0)
			vbad = 1;
		if (yamldoc_get_time(doc, val, "not_after", 1,
		    &out->not_after) < 0)
			vbad = 1;
		if (yamldoc_check_unknown(doc, val) > 0)
			vbad = 1;
		if (!vbad && out->not_after <= out->not_before) {
			yamldoc_error(doc, val,
			    "not_after must be later than not_before");
			vbad = 1;
		}
		if (vbad)
			bad = 1;
	}
	rc = yamldoc_get_enum(doc, map, "signature_digest", 0, digests, &idx);
	if (rc < 0)
		bad = 1;
	else if (rc == 1)
		out->digest = (enum certspec_md)(CERTSPEC_MD_SHA256 + idx);
	rc = certspec_parse_ext(doc, map, &out->ext);
	if (certspec_step(rc, &bad))
		goto nomem;
	if (bad) {
		certspec_free(out);
		return ERR_INVALID;
	}
	return 0;
nomem:
	certspec_free(out);
	return ERR_NOMEM;
}

void
certspec_free(struct certspec *spec)
{
	if (spec == NULL)
		return;
	certspec_name_free(&spec->subject);
	certspec_ext_free(&spec->ext);
	memset(spec, 0, sizeof(*spec));
}

int
certspec_attr_string_type(int nid)
{
	size_t i;

	for (i = 0; i < CERTSPEC_NATTRS; i++) {
		if (certspec_attrs[i].nid != nid)
			continue;
		switch (certspec_attrs[i].type) {
		case STR_PRINTABLE:
			return V_ASN1_PRINTABLESTRING;
		case STR_IA5:
			return V_ASN1_IA5STRING;
		case STR_UTF8:
			return V_ASN1_UTF8STRING;
		}
	}
	return -1;
}

const char *
certspec_md_name(enum certspec_md md)
{
	switch (md) {
	case CERTSPEC_MD_SHA256:
		return "sha256";
	case CERTSPEC_MD_SHA384:
		return "sha384";
	case CERTSPEC_MD_SHA512:
		return "sha512";
	case CERTSPEC_MD_AUTO:
		break;
	}
	return NULL;
}
