/*
 * script.c: strict parsing of ceremony scripts (see script.h and
 * docs/formats/ceremony.md).
 */
#include "ceremony/script.h"

#include <ctype.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pinshare.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/text.h"
#include "util/yamldoc.h"

/* A script is a page of text; anything larger is a mistake or an attack. */
#define SCRIPT_MAX_BYTES (256 * 1024)

static const char *const type_names[] = {
	"root", "intermediate", "key", "crl", "enrol", "appliance", "split-pin",
	NULL
};
static const char *const purpose_names[] = {
	"root", "devices", "people", "intermediate", "external", NULL
};
static const char *const role_names[] = {
	"officer", "operator", "auditor", NULL
};
static const char *const appkey_names[] = {
	"export", "audit", "transport", NULL
};
static const char *const algorithm_names[] = {
	"rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384", NULL
};

const char *
script_type_name(enum script_type t)
{
	return (unsigned)t < 7 ? type_names[t] : "?";
}

const char *
script_purpose_name(enum script_ca_purpose p)
{
	return (unsigned)p < 5 ? purpose_names[p] : "?";
}

const char *
script_role_name(enum script_role r)
{
	return (unsigned)r < 3 ? role_names[r] : "?";
}

const char *
script_appkey_name(enum script_appkey k)
{
	return (unsigned)k < SCRIPT_N_APPKEYS ? appkey_names[k] : "?";
}

static char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* Reads an optional or required string into a fresh copy. */
static int
get_str(struct yamldoc *doc, const struct yamldoc_node *map, const char *key,
    int required, char **out)
{
	const char *v = NULL;
	int r = yamldoc_get_str(doc, map, key, required, &v);

	if (r == 1 && (*out = xstrdup(v)) == NULL)
		return ERR_NOMEM;
	return r;
}

/*
 * A value that becomes a certificate's CN (a person's name, the appliance
 * name plus its longest suffix) must fit RFC 5280's 64 characters and hold
 * no control characters (bidi and zero-width characters count as such:
 * they could disguise a name an officer reads).
 */
static int
check_cn(struct yamldoc *doc, const struct yamldoc_node *map, const char *key,
    const char *v, size_t max)
{
	const struct yamldoc_node *n = NULL;
	long chars;

	(void)yamldoc_get_node(doc, map, key, 0, &n);
	if (!text_clean(v))
		return yamldoc_error(doc, n ? n : map, "%s must not "
		    "contain control characters", key);
	chars = text_utf8_chars(v);	/* not -1: text_clean passed */
	if (chars < 1 || (size_t)chars > max)
		return yamldoc_error(doc, n ? n : map, "%s must be 1 to %zu "
		    "characters: it becomes the certificate's common name", key,
		    max);
	return 0;
}

/*
 * Labels and ids end up in file names, PKCS#11 labels and certificate
 * names; a small alphabet keeps all three safe and unambiguous.
 */
static int
check_slug(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, const char *v, size_t max)
{
	const struct yamldoc_node *n = NULL;
	size_t i, len = strlen(v);

	(void)yamldoc_get_node(doc, map, key, 0, &n);
	if (len == 0 || len > max)
		return yamldoc_error(doc, n ? n : map,
		    "%s must be 1 to %zu characters", key, max);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!(islower(c) || isdigit(c) || c == '-' || c == '_' ||
		    c == '.') || (i == 0 && !isalnum(c)))
			return yamldoc_error(doc, n ? n : map,
			    "%s '%s' may contain only a-z, 0-9, '-', '_' and '.', "
			    "starting with a letter or digit", key, v);
	}
	return 0;
}

static int
parse_keyspec(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, struct script_keyspec *ks)
{
	const struct yamldoc_node *m = NULL;
	int idx = -1, bad = 0, r;

	if ((r = yamldoc_get_map(doc, map, key, 1, &m)) != 1)
		return r < 0 ? r : ERR_INVALID;
	ks->line = m->line;
	if (get_str(doc, m, "label", 1, &ks->label) == 1)
		bad |= check_slug(doc, m, "label", ks->label, 32) != 0;
	else
		bad = 1;
	if (get_str(doc, m, "token", 0, &ks->token) < 0)
		bad = 1;
	if (yamldoc_get_enum(doc, m, "algorithm", 1, algorithm_names, &idx) == 1) {
		ks->algorithm = xstrdup(algorithm_names[idx]);
		switch (idx) {
		case 0: case 1: case 2:
			ks->spec.type = HSM_KEY_RSA;
			ks->spec.bits = idx == 0 ? 2048 : idx == 1 ? 3072 : 4096;
			break;
		case 3:
			ks->spec.type = HSM_KEY_EC;
			ks->spec.curve_nid = NID_X9_62_prime256v1;
			break;
		default:
			ks->spec.type = HSM_KEY_EC;
			ks->spec.curve_nid = NID_secp384r1;
			break;
		}
	} else {
		bad = 1;
	}
	ks->spec.label = ks->label;
	ks->spec.usage = HSM_USAGE_SIGN;
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static void
keyspec_free(struct script_keyspec *ks)
{
	free(ks->label);
	free(ks->token);
	free(ks->algorithm);
	memset(ks, 0, sizeof(*ks));
}

static int
parse_issuer(struct yamldoc *doc, const struct yamldoc_node *root,
    struct script_issuer *is)
{
	const struct yamldoc_node *m = NULL;
	int bad = 0;

	if (yamldoc_get_map(doc, root, "issuer", 1, &m) != 1)
		return ERR_INVALID;
	if (get_str(doc, m, "certificate", 1, &is->certificate) != 1)
		bad = 1;
	else if (strchr(is->certificate, '/') != NULL)
		bad |= yamldoc_error(doc, m, "issuer.certificate '%s' must be "
		    "a file name in the ceremony directory, without '/'",
		    is->certificate) != 0;
	if (get_str(doc, m, "key", 1, &is->key) != 1)
		bad = 1;
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static int
parse_cert(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, struct script *s)
{
	const struct yamldoc_node *m = NULL;
	int r;

	if ((r = yamldoc_get_map(doc, map, key, 1, &m)) != 1)
		return ERR_INVALID;
	r = certspec_parse(doc, m, &s->cert);
	s->has_cert = 1;
	if (yamldoc_check_unknown(doc, m) > 0)
		r = ERR_INVALID;
	return r < 0 ? r : 0;
}

/* The ca section of root and intermediate ceremonies. */
static int
parse_ca(struct yamldoc *doc, const struct yamldoc_node *root,
    struct script *s)
{
	const struct yamldoc_node *m = NULL, *k = NULL;
	int bad = 0, idx = -1;

	if (yamldoc_get_map(doc, root, "ca", 1, &m) != 1)
		return ERR_INVALID;
	if (get_str(doc, m, "name", 1, &s->ca_name) == 1)
		bad |= check_slug(doc, m, "name", s->ca_name, 64) != 0;
	else
		bad = 1;
	if (s->type == SCRIPT_ROOT) {
		s->ca_purpose = SCRIPT_CA_ROOT;
	} else if (yamldoc_get_enum(doc, m, "purpose", 1, purpose_names + 1,
	    &idx) == 1) {
		s->ca_purpose = (enum script_ca_purpose)(idx + 1);
	} else {
		bad = 1;
	}
	(void)yamldoc_get_node(doc, m, "key", 0, &k);
	if (s->type == SCRIPT_INTERMEDIATE && s->ca_purpose == SCRIPT_CA_EXTERNAL) {
		/* A customer's CA: its key is theirs, they send a CSR. */
		if (k != NULL)
			bad |= yamldoc_error(doc, k, "an external CA's key is not "
			    "ours to generate; give its request as 'csr'") != 0;
		if (get_str(doc, m, "csr", 1, &s->ca_csr) != 1)
			bad = 1;
	} else {
		if (parse_keyspec(doc, m, "key", &s->ca_key) != 0)
			bad = 1;
	}
	if (parse_cert(doc, m, "certificate", s) != 0)
		bad = 1;
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static int
parse_people(struct yamldoc *doc, const struct yamldoc_node *root,
    struct script *s)
{
	const struct yamldoc_node *seq = NULL;
	size_t i, j;
	int bad = 0;

	if (yamldoc_get_seq(doc, root, "people", 1, &seq) != 1)
		return ERR_INVALID;
	if (seq->n == 0 || seq->n > SCRIPT_MAX_PEOPLE)
		return yamldoc_error(doc, seq, "people must list 1 to %d people",
		    SCRIPT_MAX_PEOPLE);
	if ((s->people = calloc(seq->n, sizeof(*s->people))) == NULL)
		return ERR_NOMEM;
	s->n_people = seq->n;
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *m = seq->items[i];
		struct script_person *p = &s->people[i];
		int idx = -1;

		if (yamldoc_as_map(doc, m) != 1) {
			bad = 1;
			continue;
		}
		p->line = m->line;
		if (get_str(doc, m, "id", 1, &p->id) == 1)
			bad |= check_slug(doc, m, "id", p->id, 32) != 0;
		else
			bad = 1;
		if (get_str(doc, m, "name", 1, &p->name) == 1)
			bad |= check_cn(doc, m, "name", p->name, 64) != 0;
		else
			bad = 1;
		if (yamldoc_get_enum(doc, m, "role", 1, role_names, &idx) == 1)
			p->role = (enum script_role)idx;
		else
			bad = 1;
		if (get_str(doc, m, "key", 0, &p->key_uri) < 0 ||
		    get_str(doc, m, "key_file", 0, &p->key_file) < 0)
			bad = 1;
		if ((p->key_uri == NULL) == (p->key_file == NULL))
			bad |= yamldoc_error(doc, m, "give exactly one of 'key' "
			    "(a PKCS#11 URI on the person's token) or 'key_file' "
			    "(a passphrase-protected key file)") != 0;
		if (yamldoc_check_unknown(doc, m) > 0)
			bad = 1;
		for (j = 0; j < i && p->id != NULL; j++)
			if (s->people[j].id && strcmp(s->people[j].id, p->id) == 0)
				bad |= yamldoc_error(doc, m, "person id '%s' "
				    "appears twice (first at line %lu)", p->id,
				    s->people[j].line) != 0;
	}
	return bad ? ERR_INVALID : 0;
}

static int
parse_appkeys(struct yamldoc *doc, const struct yamldoc_node *root,
    struct script *s)
{
	const struct yamldoc_node *m = NULL;
	int bad = 0, k;

	/* 64 less the longest suffix, " audit checkpoint signing". */
	if (get_str(doc, root, "appliance_name", 1, &s->appliance_name) == 1)
		bad |= check_cn(doc, root, "appliance_name", s->appliance_name,
		    64 - 25) != 0;
	else
		bad = 1;
	if (yamldoc_get_map(doc, root, "keys", 1, &m) != 1)
		return ERR_INVALID;
	for (k = 0; k < SCRIPT_N_APPKEYS; k++) {
		if (parse_keyspec(doc, m, appkey_names[k], &s->appkeys[k]) != 0) {
			bad = 1;
			continue;
		}
		if (k == SCRIPT_APPKEY_TRANSPORT) {
			const struct yamldoc_node *tk = NULL;

			/*
			 * Bundles are encrypted with RSA key transport (stock
			 * `openssl cms -encrypt`), which an EC key cannot receive.
			 */
			if (s->appkeys[k].spec.type != HSM_KEY_RSA) {
				(void)yamldoc_get_node(doc, m, "transport", 0, &tk);
				bad |= yamldoc_error(doc, tk ? tk : m, "keys.transport "
				    "must be an RSA key (rsa-2048, rsa-3072 or "
				    "rsa-4096): request bundles are encrypted to it "
				    "with RSA key transport") != 0;
			}
			s->appkeys[k].spec.usage = HSM_USAGE_DECRYPT;
		}
	}
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

/*
 * The split section of a split-pin ceremony: M, the PIN's length and the
 * officers' certificates (2 to PINSHARE_MAX_SHARES, each once).
 */
static int
parse_split(struct yamldoc *doc, const struct yamldoc_node *root,
    struct script *s)
{
	const struct yamldoc_node *m = NULL, *seq = NULL;
	long long v = 0;
	size_t i, j;
	int bad = 0, r;

	if (yamldoc_get_map(doc, root, "split", 1, &m) != 1)
		return ERR_INVALID;
	if (yamldoc_get_int(doc, m, "threshold", 1, PINSHARE_MIN,
	    PINSHARE_MAX_SHARES, &v) == 1)
		s->split_threshold = (unsigned)v;
	else
		bad = 1;
	s->split_pin_length = 32;
	if ((r = yamldoc_get_int(doc, m, "pin_length", 0, PINSHARE_SECRET_MIN,
	    PINSHARE_SECRET_MAX, &v)) == 1)
		s->split_pin_length = (unsigned)v;
	else if (r < 0)
		bad = 1;
	if (yamldoc_get_seq(doc, m, "officers", 1, &seq) != 1)
		return ERR_INVALID;
	if (seq->n < PINSHARE_MIN || seq->n > PINSHARE_MAX_SHARES)
		return yamldoc_error(doc, seq, "split.officers must list %d to "
		    "%d officers' certificates", PINSHARE_MIN,
		    PINSHARE_MAX_SHARES);
	if ((s->split_officers = calloc(seq->n, sizeof(char *))) == NULL ||
	    (s->split_tokens = calloc(seq->n, sizeof(char *))) == NULL)
		return ERR_NOMEM;
	s->n_split_officers = seq->n;
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *it = seq->items[i];
		const char *f = NULL;

		/* CERT.pem, or {certificate: CERT.pem, token: PKCS11-URI}. */
		if (it->kind == YAMLDOC_MAP) {
			if (yamldoc_get_str(doc, it, "certificate", 1, &f) != 1 ||
			    get_str(doc, it, "token", 1,
			    &s->split_tokens[i]) != 1) {
				bad = 1;
				continue;
			}
			if (strncmp(s->split_tokens[i], "pkcs11:", 7) != 0)
				bad |= yamldoc_error(doc, it, "split.officers: "
				    "token must be a PKCS#11 URI naming the "
				    "officer's token") != 0;
			if (yamldoc_check_unknown(doc, it) > 0)
				bad = 1;
		} else if (yamldoc_as_str(doc, it, &f) != 1) {
			bad = 1;
			continue;
		}
		if ((s->split_officers[i] = xstrdup(f)) == NULL)
			return ERR_NOMEM;
		if (strchr(f, '/') != NULL || strlen(f) < 5 ||
		    strcmp(f + strlen(f) - 4, ".pem") != 0)
			bad |= yamldoc_error(doc, seq->items[i], "split.officers: "
			    "'%s' must be an officer certificate's file name "
			    "(NAME.pem) in the ceremony directory, without '/'",
			    f) != 0;
		for (j = 0; j < i; j++)
			if (s->split_officers[j] != NULL &&
			    strcmp(s->split_officers[j], f) == 0)
				bad |= yamldoc_error(doc, seq->items[i],
				    "split.officers: '%s' appears twice: each "
				    "officer holds one share", f) != 0;
	}
	if (s->split_threshold > seq->n) {
		const struct yamldoc_node *tn = NULL;

		(void)yamldoc_get_node(doc, m, "threshold", 0, &tn);
		bad |= yamldoc_error(doc, tn ? tn : m, "split.threshold %u is "
		    "more than the %zu officers listed", s->split_threshold,
		    seq->n) != 0;
	}
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static int
parse_present(struct yamldoc *doc, const struct yamldoc_node *root,
    struct script *s)
{
	const struct yamldoc_node *seq = NULL;
	size_t i;
	int bad = 0;

	if (yamldoc_get_seq(doc, root, "present", 1, &seq) != 1)
		return ERR_INVALID;
	if (seq->n == 0 || seq->n > SCRIPT_MAX_PRESENT)
		return yamldoc_error(doc, seq, "present must name 1 to %d people "
		    "who witness the ceremony", SCRIPT_MAX_PRESENT);
	if ((s->present = calloc(seq->n, sizeof(*s->present))) == NULL)
		return ERR_NOMEM;
	s->n_present = seq->n;
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *m = seq->items[i];

		if (yamldoc_as_map(doc, m) != 1) {
			bad = 1;
			continue;
		}
		if (get_str(doc, m, "name", 1, &s->present[i].name) != 1 ||
		    get_str(doc, m, "role", 1, &s->present[i].role) != 1)
			bad = 1;
		if (yamldoc_check_unknown(doc, m) > 0)
			bad = 1;
	}
	return bad ? ERR_INVALID : 0;
}

static int
parse_hsm(struct yamldoc *doc, const struct yamldoc_node *root,
    struct script *s)
{
	const struct yamldoc_node *m = NULL;
	int bad = 0;

	if (yamldoc_get_map(doc, root, "hsm", 1, &m) != 1)
		return ERR_INVALID;
	if (get_str(doc, m, "module", 1, &s->module) != 1)
		bad = 1;
	else if (s->module[0] != '/')
		bad |= yamldoc_error(doc, m, "hsm.module must be an absolute "
		    "path to the PKCS#11 module") != 0;
	if (get_str(doc, m, "token", 0, &s->token) < 0 ||
	    get_str(doc, m, "token_serial", 0, &s->token_serial) < 0)
		bad = 1;
	if ((s->token == NULL) == (s->token_serial == NULL))
		bad |= yamldoc_error(doc, m, "give exactly one of hsm.token "
		    "(label) or hsm.token_serial; slots are never used") != 0;
	if (s->token != NULL && strlen(s->token) > 32)
		bad |= yamldoc_error(doc, m, "hsm.token is longer than the 32 "
		    "characters a PKCS#11 label can hold") != 0;
	if (yamldoc_check_unknown(doc, m) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

static int
parse_body(struct yamldoc *doc, struct script *s)
{
	const struct yamldoc_node *root = doc->root;
	long long version = 0;
	int idx = -1, bad = 0;

	if (yamldoc_as_map(doc, root) != 1)
		return ERR_INVALID;
	if (yamldoc_get_int(doc, root, "airlock_ceremony", 1, 1, 1000,
	    &version) == 1 && version != SCRIPT_FORMAT_VERSION) {
		const struct yamldoc_node *n = NULL;

		(void)yamldoc_get_node(doc, root, "airlock_ceremony", 0, &n);
		bad |= yamldoc_error(doc, n ? n : root, "airlock_ceremony %lld "
		    "is not a format this version reads (it reads %d)", version,
		    SCRIPT_FORMAT_VERSION) != 0;
	}
	if (get_str(doc, root, "name", 1, &s->name) == 1)
		bad |= check_slug(doc, root, "name", s->name, 64) != 0;
	else
		bad = 1;
	if (get_str(doc, root, "description", 0, &s->description) < 0)
		bad = 1;
	if (yamldoc_get_enum(doc, root, "type", 1, type_names, &idx) != 1)
		/* Without a type nothing else can be checked. */
		return ERR_INVALID;
	s->type = (enum script_type)idx;
	bad |= parse_hsm(doc, root, s) != 0;
	bad |= parse_present(doc, root, s) != 0;

	switch (s->type) {
	case SCRIPT_ROOT:
		bad |= parse_ca(doc, root, s) != 0;
		break;
	case SCRIPT_INTERMEDIATE:
		bad |= parse_issuer(doc, root, &s->issuer) != 0;
		bad |= parse_ca(doc, root, s) != 0;
		break;
	case SCRIPT_KEY:
		bad |= parse_keyspec(doc, root, "key", &s->key) != 0;
		break;
	case SCRIPT_CRL: {
		const struct yamldoc_node *m = NULL;

		bad |= parse_issuer(doc, root, &s->issuer) != 0;
		if (yamldoc_get_map(doc, root, "crl", 1, &m) == 1) {
			s->has_crl = 1;
			bad |= crlspec_parse(doc, m, &s->crl) < 0;
			bad |= yamldoc_check_unknown(doc, m) > 0;
		} else {
			bad = 1;
		}
		break;
	}
	case SCRIPT_ENROL:
		bad |= parse_issuer(doc, root, &s->issuer) != 0;
		bad |= parse_cert(doc, root, "certificate", s) != 0;
		bad |= parse_people(doc, root, s) != 0;
		break;
	case SCRIPT_APPLIANCE:
		bad |= parse_issuer(doc, root, &s->issuer) != 0;
		bad |= parse_cert(doc, root, "certificate", s) != 0;
		bad |= parse_appkeys(doc, root, s) != 0;
		break;
	case SCRIPT_SPLIT_PIN:
		/* The people CA: it vouches for the officers, signs the record. */
		bad |= parse_issuer(doc, root, &s->issuer) != 0;
		bad |= parse_split(doc, root, s) != 0;
		break;
	}
	if (yamldoc_check_unknown(doc, root) > 0)
		bad = 1;
	return bad ? ERR_INVALID : 0;
}

/*
 * Where a rule about the certificate section points: key in that section
 * (ca.certificate for a CA), else the section, so the message names the
 * line to change rather than the top of the file. Called only after a
 * clean parse, when the sections are known to be mappings.
 */
static const struct yamldoc_node *
cert_node(struct yamldoc *doc, const struct script *s, const char *key)
{
	const struct yamldoc_node *m = doc->root, *n = NULL;

	if ((s->type == SCRIPT_ROOT || s->type == SCRIPT_INTERMEDIATE) &&
	    yamldoc_get_node(doc, m, "ca", 0, &n) == 1)
		m = n;
	if (yamldoc_get_node(doc, m, "certificate", 0, &n) != 1)
		return m;
	m = n;
	if (key != NULL && yamldoc_get_node(doc, m, key, 0, &n) == 1)
		return n;
	return m;
}

/* Rules that span sections, checked once the script parsed cleanly. */
static int
check_semantics(struct yamldoc *doc, struct script *s)
{
	int bad = 0;

	if (s->has_cert && (s->type == SCRIPT_ENROL ||
	    s->type == SCRIPT_APPLIANCE)) {
		size_t i;

		/*
		 * A template for people or appliance keys: the ceremony adds the
		 * CN and the role; it must never make them CAs.
		 */
		if (s->cert.ext.has_basic_constraints && s->cert.ext.bc_ca)
			bad |= yamldoc_error(doc, cert_node(doc, s,
			    "basic_constraints"), "certificate: %s "
			    "ceremony issues end-entity certificates; "
			    "basic_constraints.ca must be false",
			    s->type == SCRIPT_ENROL ? "an enrol" :
			    "an appliance") != 0;
		for (i = 0; i < s->cert.subject.n; i++) {
			const struct yamldoc_node *n;

			if (s->cert.subject.attrs[i].nid != NID_commonName)
				continue;
			/* The subject's items are its attributes, in order. */
			n = cert_node(doc, s, "subject");
			if (n->kind == YAMLDOC_SEQ && i < n->n)
				n = n->items[i];
			bad |= yamldoc_error(doc, n, "certificate.subject: "
			    "leave out CN; the ceremony sets it for each %s",
			    s->type == SCRIPT_ENROL ? "person" :
			    "appliance key") != 0;
		}
		if (s->type == SCRIPT_APPLIANCE && (s->cert.ext.has_key_usage ||
		    s->cert.ext.eku.n > 0))
			bad |= yamldoc_error(doc, cert_node(doc, s,
			    s->cert.ext.has_key_usage ? "key_usage" :
			    "extended_key_usage"), "certificate: leave "
			    "out key_usage and extended_key_usage; each appliance "
			    "key gets the usages of its purpose") != 0;
	}
	if ((s->type == SCRIPT_ROOT || s->type == SCRIPT_INTERMEDIATE) &&
	    s->has_cert && !(s->cert.ext.has_basic_constraints &&
	    s->cert.ext.bc_ca))
		bad |= yamldoc_error(doc, cert_node(doc, s,
		    "basic_constraints"), "ca.certificate: a CA "
		    "certificate needs basic_constraints with ca: true") != 0;
	return bad ? ERR_INVALID : 0;
}

int
script_load(const char *path, struct script *out, diag_t *diag, err_t *err)
{
	struct yamldoc_limits lim = yamldoc_default_limits;
	struct yamldoc *doc = NULL;
	char *tmp;
	int r;

	memset(out, 0, sizeof(*out));
	lim.max_bytes = SCRIPT_MAX_BYTES;
	if ((r = yamldoc_load_hashed(path, &lim, out->sha256, &doc, err)) != 0)
		goto out;
	yamldoc_set_diag(doc, diag);
	out->path = xstrdup(path);
	tmp = xstrdup(path);
	out->dir = tmp ? xstrdup(dirname(tmp)) : NULL;
	free(tmp);
	if (out->path == NULL || out->dir == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	r = parse_body(doc, out);
	if (r == 0)
		r = check_semantics(doc, out);
	if (r != 0 && diag_count(diag) > 0)
		r = diag_to_err(diag, err, ERR_INVALID);
	else if (r != 0)
		r = err_set(err, r, "%s: cannot parse the ceremony script", path);
out:
	yamldoc_free(doc);
	return r;
}

int
script_path(const struct script *s, const char *name, char *out,
    size_t outsz, err_t *err)
{
	if (name[0] == '/') {
		if (strlen(name) >= outsz)
			return err_set(err, ERR_LIMIT, "path too long: %s", name);
		memcpy(out, name, strlen(name) + 1);
		return 0;
	}
	return fileio_join(out, outsz, s->dir, name, err);
}

void
script_free(struct script *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->path);
	free(s->dir);
	free(s->name);
	free(s->description);
	free(s->module);
	free(s->token);
	free(s->token_serial);
	for (i = 0; i < s->n_present; i++) {
		free(s->present[i].name);
		free(s->present[i].role);
	}
	free(s->present);
	free(s->ca_name);
	free(s->ca_csr);
	keyspec_free(&s->ca_key);
	if (s->has_cert)
		certspec_free(&s->cert);
	free(s->issuer.certificate);
	free(s->issuer.key);
	keyspec_free(&s->key);
	if (s->has_crl)
		crlspec_free(&s->crl);
	for (i = 0; i < s->n_people; i++) {
		free(s->people[i].id);
		free(s->people[i].name);
		free(s->people[i].key_uri);
		free(s->people[i].key_file);
	}
	free(s->people);
	free(s->appliance_name);
	for (i = 0; i < SCRIPT_N_APPKEYS; i++)
		keyspec_free(&s->appkeys[i]);
	for (i = 0; i < s->n_split_officers; i++) {
		free(s->split_officers[i]);
		free(s->split_tokens[i]);
	}
	free(s->split_officers);
	free(s->split_tokens);
	memset(s, 0, sizeof(*s));
}
