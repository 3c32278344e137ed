/* crlder.c: streaming DER encoder for v2 CRLs (see crlder.h). */
#include "pki/crlder.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "pki/der.h"

/* DER of the extension OIDs (id-ce 2.5.29.x). */
static const unsigned char crlder_oid_aki[] = { 0x06, 0x03, 0x55, 0x1d, 0x23 };
static const unsigned char crlder_oid_number[] = { 0x06, 0x03, 0x55, 0x1d,
	0x14 };
static const unsigned char crlder_oid_idp[] = { 0x06, 0x03, 0x55, 0x1d, 0x1c };
static const unsigned char crlder_oid_reason[] = { 0x06, 0x03, 0x55, 0x1d,
	0x15 };
static const unsigned char crlder_oid_invalidity[] = { 0x06, 0x03, 0x55,
	0x1d, 0x18 };
static const unsigned char crlder_true[] = { 0x01, 0x01, 0xff };

/* Longest issuer name and SKI we copy (both come from our own CAs). */
#define CRLDER_HEAD_MAX (64u * 1024)

static const struct {
	const char *name;
	enum crlder_reason code;
} crlder_reasons[] = {
	{ "unspecified", CRLDER_UNSPECIFIED },
	{ "keyCompromise", CRLDER_KEY_COMPROMISE },
	{ "cACompromise", CRLDER_CA_COMPROMISE },
	{ "affiliationChanged", CRLDER_AFFILIATION_CHANGED },
	{ "superseded", CRLDER_SUPERSEDED },
	{ "cessationOfOperation", CRLDER_CESSATION_OF_OPERATION },
	{ "certificateHold", CRLDER_CERTIFICATE_HOLD },
	{ "privilegeWithdrawn", CRLDER_PRIVILEGE_WITHDRAWN },
	{ "aACompromise", CRLDER_AA_COMPROMISE },
};
#define CRLDER_NREASONS (sizeof(crlder_reasons) / sizeof(crlder_reasons[0]))

struct crlder {
	buf_t head;		/* version .. nextUpdate */
	buf_t ents;		/* the entries, each a SEQUENCE */
	buf_t exts;		/* the crlExtensions' Extension SEQUENCEs */
	unsigned char last[CRLDER_SERIAL_MAX];
	size_t last_len;	/* 0: no entry yet */
	size_t n;
	int dead;		/* a failure or finish: refuse the rest */
};

const char *
crlder_reason_name(enum crlder_reason r)
{
	size_t i;

	for (i = 0; i < CRLDER_NREASONS; i++)
		if (crlder_reasons[i].code == r)
			return crlder_reasons[i].name;
	return NULL;
}

int
crlder_reason_parse(const char *name, enum crlder_reason *out)
{
	size_t i;

	for (i = 0; name != NULL && i < CRLDER_NREASONS; i++)
		if (strcmp(crlder_reasons[i].name, name) == 0) {
			*out = crlder_reasons[i].code;
			return 0;
		}
	return ERR_INVALID;
}

/* Drops leading zero octets; the result may be empty (the number 0). */
static void
crlder_trim(const unsigned char **p, size_t *len)
{
	while (*len > 0 && (*p)[0] == 0) {
		(*p)++;
		(*len)--;
	}
}

int
crlder_serial_cmp(const unsigned char *a, size_t al, const unsigned char *b,
    size_t bl)
{
	crlder_trim(&a, &al);
	crlder_trim(&b, &bl);
	if (al != bl)
		return al < bl ? -1 : 1;
	return al == 0 ? 0 : memcmp(a, b, al);
}

/* Octets of the DER INTEGER content for a trimmed, non-zero magnitude. */
static size_t
crlder_int_len(const unsigned char *mag, size_t len)
{
	return len + ((mag[0] & 0x80) ? 1 : 0);
}

int
crlder_serial_hex(const char *hex, unsigned char out[CRLDER_SERIAL_MAX],
    size_t *len)
{
	unsigned char tmp[CRLDER_SERIAL_MAX + 1];
	const unsigned char *p;
	size_t n, i, j, got;

	*len = 0;
	if (hex == NULL)
		return ERR_INVALID;
	while (*hex == '0' && hex[1] != '\0')
		hex++;
	n = strlen(hex);
	if (n == 0 || n > 2 * sizeof(tmp))
		return ERR_INVALID;
	/* Right-aligned: an odd digit count has an implied leading 0. */
	memset(tmp, 0, sizeof(tmp));
	got = (n + 1) / 2;
	for (i = 0, j = (n % 2) ? 1 : 0; i < n; i++, j++) {
		int v = buf_hexval((unsigned char)hex[i]);

		if (v < 0)
			return ERR_INVALID;
		tmp[sizeof(tmp) - got + j / 2] |= (unsigned char)(j % 2 ?
		    v : v << 4);
	}
	p = tmp + sizeof(tmp) - got;
	crlder_trim(&p, &got);
	if (got == 0 || crlder_int_len(p, got) > CRLDER_SERIAL_MAX)
		return ERR_INVALID;
	memcpy(out, p, got);
	*len = got;
	return 0;
}

int
crlder_algid(const EVP_PKEY *pub, const EVP_MD *md, unsigned char *out,
    size_t outsz, size_t *outlen, err_t *err)
{
	X509_ALGOR *alg = NULL;
	unsigned char *p = out;
	int type, sig = NID_undef, len, rsa;

	if (pub == NULL || md == NULL || out == NULL || outlen == NULL)
		return err_set(err, ERR_INVALID, "crlder_algid: missing "
		    "argument");
	type = EVP_PKEY_get_base_id(pub);
	rsa = type == EVP_PKEY_RSA;
	if ((!rsa && type != EVP_PKEY_EC) ||
	    !OBJ_find_sigid_by_algs(&sig, EVP_MD_get_type(md), rsa ?
	    NID_rsaEncryption : NID_X9_62_id_ecPublicKey))
		return err_set(err, ERR_INVALID, "no signature algorithm for "
		    "a %s key with %s", rsa ? "RSA" : type == EVP_PKEY_EC ?
		    "EC" : "non-RSA, non-EC", EVP_MD_get0_name(md));
	/* RSA names NULL parameters; ECDSA has none (RFC 5758 3.2). */
	if ((alg = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(sig), rsa ? V_ASN1_NULL :
	    V_ASN1_UNDEF, NULL) || (len = i2d_X509_ALGOR(alg, NULL)) <= 0 ||
	    (size_t)len > outsz || i2d_X509_ALGOR(alg, &p) != len) {
		X509_ALGOR_free(alg);
		return err_set_ossl(err, ERR_CRYPTO, "cannot encode the "
		    "signature algorithm");
	}
	X509_ALGOR_free(alg);
	*outlen = (size_t)len;
	return 0;
}

/*
 * A Time: UTCTime for 1950-2049, GeneralizedTime otherwise or when gen is
 * set (RFC 5280 4.1.2.5, 5.1.2.4, 5.3.2). 0 or ERR_INVALID.
 */
static int
crlder_put_time(buf_t *b, time_t t, int gen)
{
	struct tm tm;
	char s[32];
	int year, n;

	if (gmtime_r(&t, &tm) == NULL)
		return ERR_INVALID;
	year = tm.tm_year + 1900;
	if (year < 0 || year > 9999)
		return ERR_INVALID;
	if (!gen && year >= 1950 && year <= 2049) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ",
		    year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		der_put_hdr(b, 0x17, (size_t)n);
	} else {
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", year,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		der_put_hdr(b, 0x18, (size_t)n);
	}
	buf_put(b, s, (size_t)n);
	return 0;
}

/* The length a Time of t takes, tag and length included. */
static size_t
crlder_time_len(time_t t, int gen)
{
	struct tm tm;
	int year;

	if (gen || gmtime_r(&t, &tm) == NULL)
		return 17;
	year = tm.tm_year + 1900;
	return year >= 1950 && year <= 2049 ? 15 : 17;
}

/* One Extension: SEQUENCE { OID, [critical TRUE], OCTET STRING value }. */
static void
crlder_put_ext(buf_t *b, const unsigned char *oid, size_t oid_len,
    int critical, const buf_t *value)
{
	size_t inner = oid_len + (critical ? sizeof(crlder_true) : 0) +
	    der_hdr_len(value->len) + value->len;

	der_put_hdr(b, 0x30, inner);
	buf_put(b, oid, oid_len);
	if (critical)
		buf_put(b, crlder_true, sizeof(crlder_true));
	der_put_hdr(b, 0x04, value->len);
	buf_put(b, value->data, value->len);
}

int
crlder_uri_ok(const char *uri)
{
	size_t i, n;

	if (uri == NULL || (n = strlen(uri)) == 0 || n > CRLDER_URI_MAX ||
	    strchr(uri, ':') == NULL || uri[0] == ':')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)uri[i] <= 0x20 ||
		    (unsigned char)uri[i] >= 0x7f)
			return 0;
	return 1;
}

/* authorityKeyIdentifier, cRLNumber and the optional IDP into c->exts. */
static int
crlder_extensions(struct crlder *c, const struct crlder_opts *o,
    const ASN1_OCTET_STRING *ski, err_t *err)
{
	unsigned char num[8];
	buf_t v;
	int k, ok;

	buf_init(&v, CRLDER_HEAD_MAX);
	/* AuthorityKeyIdentifier ::= SEQUENCE { [0] KeyIdentifier } */
	der_put_hdr(&v, 0x30, der_hdr_len((size_t)ASN1_STRING_length(ski)) +
	    (size_t)ASN1_STRING_length(ski));
	der_put_hdr(&v, 0x80, (size_t)ASN1_STRING_length(ski));
	buf_put(&v, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
	crlder_put_ext(&c->exts, crlder_oid_aki, sizeof(crlder_oid_aki), 0, &v);
	buf_reset(&v);
	for (k = 0; k < 8; k++)
		num[k] = (unsigned char)(o->number >> (56 - 8 * k));
	der_put_uint(&v, num, sizeof(num));
	crlder_put_ext(&c->exts, crlder_oid_number, sizeof(crlder_oid_number),
	    0, &v);
	if (o->idp_uri != NULL) {
		/*
		 * IssuingDistributionPoint ::= SEQUENCE { distributionPoint
		 * [0] (EXPLICIT: a CHOICE) { fullName [0] IMPLICIT
		 * GeneralNames { uniformResourceIdentifier [6] } } }
		 */
		size_t ul = strlen(o->idp_uri);
		size_t gn = der_hdr_len(ul) + ul;
		size_t full = der_hdr_len(gn) + gn;

		buf_reset(&v);
		der_put_hdr(&v, 0x30, der_hdr_len(full) + full);
		der_put_hdr(&v, 0xa0, full);
		der_put_hdr(&v, 0xa0, gn);
		der_put_hdr(&v, 0x86, ul);
		buf_put(&v, o->idp_uri, ul);
		crlder_put_ext(&c->exts, crlder_oid_idp, sizeof(crlder_oid_idp),
		    1, &v);
	}
	ok = buf_ok(&v) && buf_ok(&c->exts);
	buf_free(&v);
	return ok ? 0 : err_set(err, ERR_LIMIT, "the CRL's extensions do "
	    "not fit %u bytes", CRLDER_HEAD_MAX);
}

int
crlder_begin(const struct crlder_opts *o, struct crlder **out, err_t *err)
{
	const ASN1_OCTET_STRING *ski;
	unsigned char *name = NULL;
	struct crlder *c;
	int nlen, r;

	if (out == NULL)
		return err_set(err, ERR_INVALID, "crlder_begin: no output");
	*out = NULL;
	if (o == NULL || o->issuer == NULL || o->algid == NULL ||
	    o->algid_len < 2 || o->algid[0] != 0x30)
		return err_set(err, ERR_INVALID, "crlder_begin needs the "
		    "issuer certificate and a signature algorithm");
	if (o->next_update <= o->this_update)
		return err_set(err, ERR_INVALID, "nextUpdate must be later "
		    "than thisUpdate");
	if ((ski = X509_get0_subject_key_id(o->issuer)) == NULL ||
	    ASN1_STRING_length(ski) <= 0)
		return err_set(err, ERR_INVALID, "the issuer certificate has "
		    "no subject key identifier, so the CRL cannot name it in "
		    "authorityKeyIdentifier");
	if (o->idp_uri != NULL && !crlder_uri_ok(o->idp_uri))
		return err_set(err, ERR_INVALID, "the distribution point is "
		    "not a URI of printable ASCII without spaces, at most %u "
		    "bytes", CRLDER_URI_MAX);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	buf_init(&c->head, CRLDER_HEAD_MAX);
	buf_init(&c->ents, CRLDER_TBS_MAX);
	buf_init(&c->exts, CRLDER_HEAD_MAX);
	if ((nlen = i2d_X509_NAME(X509_get_subject_name(o->issuer),
	    &name)) <= 0) {
		crlder_free(c);
		return err_set_ossl(err, ERR_CRYPTO, "cannot encode the "
		    "issuer's name");
	}
	/* Version: v2 is INTEGER 1. */
	der_put_hdr(&c->head, 0x02, 1);
	buf_put_u8(&c->head, 1);
	buf_put(&c->head, o->algid, o->algid_len);
	buf_put(&c->head, name, (size_t)nlen);
	OPENSSL_free(name);
	if (crlder_put_time(&c->head, o->this_update, 0) != 0 ||
	    crlder_put_time(&c->head, o->next_update, 0) != 0) {
		crlder_free(c);
		return err_set(err, ERR_INVALID, "thisUpdate or nextUpdate is "
		    "outside the years 0 to 9999");
	}
	if ((r = crlder_extensions(c, o, ski, err)) != 0) {
		crlder_free(c);
		return r;
	}
	if (!buf_ok(&c->head)) {
		crlder_free(c);
		return err_set(err, ERR_LIMIT, "the issuer's name does not fit "
		    "%u bytes", CRLDER_HEAD_MAX);
	}
	*out = c;
	return 0;
}

int
crlder_add(struct crlder *c, const unsigned char *serial, size_t len,
    time_t revoked_at, enum crlder_reason reason, const time_t *invalidity,
    err_t *err)
{
	char hex[2 * CRLDER_SERIAL_MAX + 1];
	size_t ilen, exts, content;
	int cmp;

	if (c == NULL || c->dead)
		return err_set(err, ERR_INVALID, "the CRL encoder was stopped "
		    "by an earlier failure or finished");
	if (serial == NULL)
		len = 0;
	crlder_trim(&serial, &len);
	if (len == 0 || len > CRLDER_SERIAL_MAX ||
	    crlder_int_len(serial, len) > CRLDER_SERIAL_MAX) {
		c->dead = 1;
		return err_set(err, ERR_INVALID, "CRL entry %zu: a serial must "
		    "be a positive number of at most %d octets", c->n + 1,
		    CRLDER_SERIAL_MAX);
	}
	buf_hex(serial, len, hex, sizeof(hex));
	if (c->last_len > 0 && (cmp = crlder_serial_cmp(serial, len, c->last,
	    c->last_len)) <= 0) {
		char prev[2 * CRLDER_SERIAL_MAX + 1];

		c->dead = 1;
		buf_hex(c->last, c->last_len, prev, sizeof(prev));
		if (cmp == 0)
			return err_set(err, ERR_INVALID, "serial %s is listed "
			    "twice in the CRL", hex);
		return err_set(err, ERR_INVALID, "CRL entry %zu: serial %s "
		    "comes after serial %s; entries must be in increasing "
		    "serial order", c->n + 1, hex, prev);
	}
	if (crlder_reason_name(reason) == NULL) {
		c->dead = 1;
		return err_set(err, ERR_INVALID, "CRL entry %zu (serial %s): "
		    "reason code %d is not one a full CRL carries", c->n + 1,
		    hex, (int)reason);
	}
	if (c->n >= CRLDER_ENTRIES_MAX) {
		c->dead = 1;
		return err_set(err, ERR_LIMIT, "a CRL holds at most %u "
		    "entries", CRLDER_ENTRIES_MAX);
	}
	/*
	 * Every part is short (under 128 bytes), so the lengths are known
	 * up front and the entry is written in one pass.
	 */
	ilen = crlder_int_len(serial, len);
	exts = (reason != CRLDER_UNSPECIFIED ? 12 : 0) +
	    (invalidity != NULL ? 26 : 0);
	content = 2 + ilen + crlder_time_len(revoked_at, 0) +
	    (exts > 0 ? 2 + exts : 0);
	der_put_hdr(&c->ents, 0x30, content);
	der_put_uint(&c->ents, serial, len);
	if (crlder_put_time(&c->ents, revoked_at, 0) != 0) {
		c->dead = 1;
		return err_set(err, ERR_INVALID, "CRL entry %zu (serial %s): "
		    "a time is outside the years 0 to 9999", c->n + 1, hex);
	}
	if (exts > 0)
		der_put_hdr(&c->ents, 0x30, exts);
	if (reason != CRLDER_UNSPECIFIED) {
		/* SEQUENCE { reasonCode, OCTET STRING { ENUMERATED } } */
		der_put_hdr(&c->ents, 0x30, 10);
		buf_put(&c->ents, crlder_oid_reason, sizeof(crlder_oid_reason));
		der_put_hdr(&c->ents, 0x04, 3);
		der_put_hdr(&c->ents, 0x0a, 1);
		buf_put_u8(&c->ents, (uint8_t)reason);
	}
	if (invalidity != NULL) {
		/* SEQUENCE { invalidityDate, OCTET STRING { GeneralizedTime } } */
		der_put_hdr(&c->ents, 0x30, 24);
		buf_put(&c->ents, crlder_oid_invalidity,
		    sizeof(crlder_oid_invalidity));
		der_put_hdr(&c->ents, 0x04, 17);
		if (crlder_put_time(&c->ents, *invalidity, 1) != 0) {
			c->dead = 1;
			return err_set(err, ERR_INVALID, "CRL entry %zu (serial "
			    "%s): the invalidity date is outside the years 0 "
			    "to 9999", c->n + 1, hex);
		}
	}
	if (!buf_ok(&c->ents)) {
		c->dead = 1;
		return err_set(err, ERR_LIMIT, "the CRL's entries do not fit "
		    "%u bytes", CRLDER_TBS_MAX);
	}
	memcpy(c->last, serial, len);
	c->last_len = len;
	c->n++;
	return 0;
}

size_t
crlder_count(const struct crlder *c)
{
	return c != NULL ? c->n : 0;
}

int
crlder_finish(struct crlder *c, buf_t *out, err_t *err)
{
	size_t rev, ext_seq, ext_tagged, content;

	if (c == NULL || out == NULL || c->dead)
		return err_set(err, ERR_INVALID, "the CRL encoder was stopped "
		    "by an earlier failure or finished");
	c->dead = 1;
	/* An empty CRL has no revokedCertificates at all (5.1.2.6). */
	rev = c->n > 0 ? der_hdr_len(c->ents.len) + c->ents.len : 0;
	ext_seq = der_hdr_len(c->exts.len) + c->exts.len;
	ext_tagged = der_hdr_len(ext_seq) + ext_seq;
	content = c->head.len + rev + ext_tagged;
	if (content > CRLDER_TBS_MAX)
		return err_set(err, ERR_LIMIT, "the CRL would be %zu bytes, "
		    "more than %u", content, CRLDER_TBS_MAX);
	der_put_hdr(out, 0x30, content);
	buf_put(out, c->head.data, c->head.len);
	if (c->n > 0) {
		der_put_hdr(out, 0x30, c->ents.len);
		buf_put(out, c->ents.data, c->ents.len);
	}
	buf_free(&c->ents);
	der_put_hdr(out, 0xa0, ext_seq);
	der_put_hdr(out, 0x30, c->exts.len);
	buf_put(out, c->exts.data, c->exts.len);
	if (!buf_ok(out))
		return err_set(err, out->len + 16 > out->max ? ERR_LIMIT :
		    ERR_NOMEM, "the CRL of %zu bytes does not fit its buffer",
		    content);
	return 0;
}

void
crlder_free(struct crlder *c)
{
	if (c == NULL)
		return;
	buf_free(&c->head);
	buf_free(&c->ents);
	buf_free(&c->exts);
	free(c);
}
