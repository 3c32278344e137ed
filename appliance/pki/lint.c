/* lint.c: RFC 5280 and Airlock profile checks (see lint.h). */
#include "pki/lint.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pki/crlder.h"
#include "pki/der.h"
#include "util/buf.h"
#include "util/timeutil.h"

struct lint_ctx {
	diag_t *out;
	int n;
};

static void lint_add(struct lint_ctx *c, const char *rule, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
lint_add(struct lint_ctx *c, const char *rule, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * A finding is counted even if memory runs out while recording it,
	 * so that the caller still refuses to sign.
	 */
	diag_add(c->out, NULL, 0, rule, "%s", msg);
	c->n++;
}

/* Formats t as YYYY-MM-DDTHH:MM:SSZ, or "(invalid time)". */
static const char *
lint_time_str(const ASN1_TIME *t, char out[32])
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm) ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "(invalid time)");
	return out;
}

/*
 * RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime
 * YYYYMMDDHHMMSSZ from 2050, always with seconds and Z.
 */
static void
lint_time_encoding(struct lint_ctx *c, const char *what, const ASN1_TIME *t)
{
	const unsigned char *d;
	struct tm tm;
	int year, type, len, want_len, i;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
		lint_add(c, "time-encoding", "%s is not a valid time", what);
		return;
	}
	year = tm.tm_year + 1900;
	type = ASN1_STRING_type(t);
	len = ASN1_STRING_length(t);
	d = ASN1_STRING_get0_data(t);
	if (year < 2050 && type != V_ASN1_UTCTIME) {
		lint_add(c, "time-encoding", "%s in %d must be a UTCTime, not "
		    "a GeneralizedTime", what, year);
		return;
	}
	if (year >= 2050 && type != V_ASN1_GENERALIZEDTIME) {
		lint_add(c, "time-encoding", "%s in %d must be a "
		    "GeneralizedTime", what, year);
		return;
	}
	want_len = type == V_ASN1_UTCTIME ? 13 : 15;
	for (i = 0; i < len - 1 && i < want_len - 1; i++)
		if (d[i] < '0' || d[i] > '9')
			break;
	if (len != want_len || i != want_len - 1 || d[len - 1] != 'Z')
		lint_add(c, "time-encoding", "%s '%.*s' must have seconds, "
		    "end in Z and carry no fraction", what, len, d);
}

/* Decodes the first extension nid of a certificate; *present, *crit. */
static void *
lint_cert_ext(struct lint_ctx *c, const X509 *x, int nid, int *present,
    int *crit)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);
	X509_EXTENSION *ext;
	void *v;

	*present = 0;
	*crit = 0;
	if (idx < 0)
		return NULL;
	ext = X509_get_ext(x, idx);
	*present = 1;
	*crit = X509_EXTENSION_get_critical(ext);
	v = X509V3_EXT_d2i(ext);
	if (v == NULL && c != NULL)
		lint_add(c, "ext-decode", "the %s extension cannot be decoded",
		    OBJ_nid2ln(nid));
	return v;
}

static int
lint_name_der_equal(const X509_NAME *a, const X509_NAME *b)
{
	const unsigned char *da, *db;
	size_t la, lb;

	if (!X509_NAME_get0_der(a, &da, &la) ||
	    !X509_NAME_get0_der(b, &db, &lb))
		return 0;
	return la == lb && memcmp(da, db, la) == 0;
}

static int
lint_os_equal(const ASN1_OCTET_STRING *a, const ASN1_OCTET_STRING *b)
{
	return a != NULL && b != NULL && ASN1_OCTET_STRING_cmp(a, b) == 0;
}

/* Hex of an octet string for messages, truncated to fit. */
static const char *
lint_hex(const ASN1_OCTET_STRING *os, char *out, size_t outsz)
{
	const unsigned char *d;
	size_t i, n, w = 0;

	out[0] = '\0';
	if (os == NULL)
		return "(none)";
	d = ASN1_STRING_get0_data(os);
	n = (size_t)ASN1_STRING_length(os);
	for (i = 0; i < n && w + 3 < outsz; i++)
		w += (size_t)snprintf(out + w, outsz - w, "%02x", d[i]);
	return out;
}

static void
lint_serial(struct lint_ctx *c, const ASN1_INTEGER *sn)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	int octets;

	if (bn == NULL) {
		lint_add(c, "serial", "the serial number cannot be decoded");
		return;
	}
	if (BN_is_negative(bn) || BN_is_zero(bn)) {
		lint_add(c, "serial-positive", "the serial number must be "
		    "positive (RFC 5280 4.1.2.2)");
		BN_free(bn);
		return;
	}
	/* DER content octets, including the sign octet when needed. */
	octets = BN_num_bytes(bn) + (BN_num_bits(bn) % 8 == 0 ? 1 : 0);
	if (octets > 20)
		lint_add(c, "serial-length", "the serial number has %d octets; "
		    "RFC 5280 allows at most 20", octets);
	else if (octets < 8)
		lint_add(c, "serial-entropy", "the serial number has %d "
		    "octets; at least 8 (64 random bits) are required", octets);
	BN_free(bn);
}

static void
lint_pubkey(struct lint_ctx *c, EVP_PKEY *pk, int legacy)
{
	char group[80];
	size_t glen = 0;
	BIGNUM *e = NULL;
	int bits, gnid;

	if (pk == NULL) {
		lint_add(c, "key-type", "the public key cannot be decoded");
		return;
	}
	bits = EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (bits < (legacy ? 1024 : 2048))
			lint_add(c, "key-size", "the RSA key has %d bits; at "
			    "least %d are required", bits,
			    legacy ? 1024 : 2048);
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e)) {
			lint_add(c, "key-exponent", "the RSA public exponent "
			    "cannot be read");
			break;
		}
		if (!BN_is_word(e, 65537) && (!legacy || !BN_is_odd(e) ||
		    BN_is_one(e)))
			lint_add(c, "key-exponent", "the RSA public exponent "
			    "must be 65537");
		BN_free(e);
		break;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen)) {
			lint_add(c, "key-curve", "the EC key has no named curve");
			break;
		}
		gnid = OBJ_txt2nid(group);
		if (gnid != NID_X9_62_prime256v1 && gnid != NID_secp384r1)
			lint_add(c, "key-curve", "the EC key is on %s; only "
			    "P-256 and P-384 are allowed", group);
		break;
	default:
		lint_add(c, "key-type", "the public key type %s is not allowed "
		    "(RSA, or EC on P-256 or P-384)",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
		break;
	}
}

/* Signature algorithm rules shared by certificates and CRLs. */
static void
lint_sigalg(struct lint_ctx *c, int signid, EVP_PKEY *issuer_pub,
    int legacy)
{
	int mdnid = NID_undef, pknid = NID_undef, want;

	if (!OBJ_find_sigid_algs(signid, &mdnid, &pknid)) {
		lint_add(c, "sigalg", "the signature algorithm %s is not "
		    "known", OBJ_nid2sn(signid));
		return;
	}
	if (mdnid == NID_md5 || mdnid == NID_md4 || mdnid == NID_md2 ||
	    (mdnid == NID_sha1 && !legacy))
		lint_add(c, "sigalg-digest", "the signature algorithm %s uses "
		    "the broken digest %s", OBJ_nid2sn(signid),
		    OBJ_nid2sn(mdnid));
	if (issuer_pub == NULL)
		return;
	want = EVP_PKEY_get_base_id(issuer_pub) == EVP_PKEY_RSA ?
	    NID_rsaEncryption : EVP_PKEY_get_base_id(issuer_pub) ==
	    EVP_PKEY_EC ? NID_X9_62_id_ecPublicKey : NID_undef;
	if (pknid != want)
		lint_add(c, "sigalg-key", "the signature algorithm %s does "
		    "not match the issuer's %s key", OBJ_nid2sn(signid),
		    OBJ_nid2sn(EVP_PKEY_get_base_id(issuer_pub)));
}

static void
lint_duplicates(struct lint_ctx *c, const X509 *x)
{
	int n = X509_get_ext_count(x), i, j;

	for (i = 0; i < n; i++) {
		const ASN1_OBJECT *oi =
		    X509_EXTENSION_get_object(X509_get_ext(x, i));

		for (j = 0; j < i; j++)
			if (OBJ_cmp(oi, X509_EXTENSION_get_object(
			    X509_get_ext(x, j))) == 0) {
				char name[128];

				OBJ_obj2txt(name, sizeof(name), oi, 0);
				lint_add(c, "ext-duplicate", "the %s extension "
				    "appears more than once", name);
				break;
			}
	}
}

/* Issuer's CA status and path length; lints what the cert inherits. */
static void
lint_issuer_ca(struct lint_ctx *c, X509 *issuer, int cert_ca,
    const BASIC_CONSTRAINTS *bc)
{
	BASIC_CONSTRAINTS *ibc;
	ASN1_BIT_STRING *iku;
	int present, crit;

	ibc = lint_cert_ext(NULL, issuer, NID_basic_constraints, &present,
	    &crit);
	if (ibc == NULL || !ibc->ca) {
		lint_add(c, "issuer-ca", "the issuer certificate is not a CA "
		    "(basicConstraints CA:TRUE missing)");
		BASIC_CONSTRAINTS_free(ibc);
		return;
	}
	iku = lint_cert_ext(NULL, issuer, NID_key_usage, &present, &crit);
	if (iku != NULL && !ASN1_BIT_STRING_get_bit(iku, 5))
		lint_add(c, "issuer-ca", "the issuer certificate's keyUsage "
		    "lacks keyCertSign");
	ASN1_BIT_STRING_free(iku);
	if (cert_ca && ibc->pathlen != NULL) {
		long ipl = ASN1_INTEGER_get(ibc->pathlen);
		long pl = bc->pathlen != NULL ?
		    ASN1_INTEGER_get(bc->pathlen) : -1;

		if (ipl == 0)
			lint_add(c, "issuer-pathlen", "the issuer's "
			    "pathLenConstraint 0 allows no subordinate CA "
			    "certificates");
		else if (pl < 0)
			lint_add(c, "issuer-pathlen", "the issuer's "
			    "pathLenConstraint is %ld, so this CA needs "
			    "pathLenConstraint of at most %ld", ipl, ipl - 1);
		else if (pl > ipl - 1)
			lint_add(c, "issuer-pathlen", "pathLenConstraint %ld "
			    "exceeds the %ld the issuer's pathLenConstraint "
			    "%ld leaves", pl, ipl - 1, ipl);
	}
	BASIC_CONSTRAINTS_free(ibc);
}

static void
lint_validity(struct lint_ctx *c, X509 *cert, X509 *issuer)
{
	const ASN1_TIME *nb = X509_get0_notBefore(cert);
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	char a[32], b[32];

	lint_time_encoding(c, "notBefore", nb);
	lint_time_encoding(c, "notAfter", na);
	if (ASN1_TIME_compare(nb, na) >= 0)
		lint_add(c, "validity-order", "notBefore %s is not before "
		    "notAfter %s", lint_time_str(nb, a), lint_time_str(na, b));
	if (issuer == NULL)
		return;
	if (ASN1_TIME_compare(nb, X509_get0_notBefore(issuer)) < 0)
		lint_add(c, "validity-issuer", "notBefore %s is before the "
		    "issuer's notBefore %s", lint_time_str(nb, a),
		    lint_time_str(X509_get0_notBefore(issuer), b));
	if (ASN1_TIME_compare(na, X509_get0_notAfter(issuer)) > 0)
		lint_add(c, "validity-issuer", "notAfter %s is after the "
		    "issuer's notAfter %s", lint_time_str(na, a),
		    lint_time_str(X509_get0_notAfter(issuer), b));
}

static void
lint_key_ids(struct lint_ctx *c, X509 *cert, X509 *issuer, int is_ca)
{
	ASN1_OCTET_STRING *ski, *iski = NULL;
	AUTHORITY_KEYID *aki;
	int ski_p, ski_c, aki_p, aki_c, p, cr;
	char h1[96], h2[96];

	ski = lint_cert_ext(c, cert, NID_subject_key_identifier, &ski_p,
	    &ski_c);
	aki = lint_cert_ext(c, cert, NID_authority_key_identifier, &aki_p,
	    &aki_c);
	if (ski_p && ski_c)
		lint_add(c, "ski-critical", "subjectKeyIdentifier must not be "
		    "critical");
	if (aki_p && aki_c)
		lint_add(c, "aki-critical", "authorityKeyIdentifier must not "
		    "be critical");
	if (is_ca && !ski_p)
		lint_add(c, "ski-ca", "a CA certificate must carry a "
		    "subjectKeyIdentifier");
	if (issuer != NULL) {
		iski = lint_cert_ext(NULL, issuer, NID_subject_key_identifier,
		    &p, &cr);
		if (iski == NULL)
			lint_add(c, "issuer-ski", "the issuer certificate has "
			    "no subjectKeyIdentifier to match");
		else if (aki == NULL || aki->keyid == NULL)
			lint_add(c, "aki-keyid", "authorityKeyIdentifier with "
			    "a keyIdentifier is required in a certificate not "
			    "self-signed");
		else if (!lint_os_equal(aki->keyid, iski))
			lint_add(c, "aki-keyid", "authorityKeyIdentifier %s "
			    "does not equal the issuer's subjectKeyIdentifier "
			    "%s", lint_hex(aki->keyid, h1, sizeof(h1)),
			    lint_hex(iski, h2, sizeof(h2)));
	} else if (aki != NULL && aki->keyid != NULL && ski != NULL &&
	    !lint_os_equal(aki->keyid, ski)) {
		lint_add(c, "aki-keyid", "the self-signed certificate's "
		    "authorityKeyIdentifier %s does not equal its "
		    "subjectKeyIdentifier %s",
		    lint_hex(aki->keyid, h1, sizeof(h1)),
		    lint_hex(ski, h2, sizeof(h2)));
	}
	ASN1_OCTET_STRING_free(ski);
	ASN1_OCTET_STRING_free(iski);
	AUTHORITY_KEYID_free(aki);
}

static void
lint_ca_rules(struct lint_ctx *c, X509 *cert, X509 *issuer,
    const struct lint_opts *opts)
{
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	void *nc, *eku;
	int bc_p, bc_c, ku_p, ku_c, p, cr, is_ca, certsign;

	bc = lint_cert_ext(c, cert, NID_basic_constraints, &bc_p, &bc_c);
	is_ca = bc != NULL && bc->ca;
	if (is_ca && !bc_c)
		lint_add(c, "bc-critical", "basicConstraints must be critical "
		    "in a CA certificate");
	if (bc != NULL && !bc->ca && bc->pathlen != NULL)
		lint_add(c, "pathlen-non-ca", "pathLenConstraint is set but "
		    "basicConstraints does not say CA:TRUE");
	ku = lint_cert_ext(c, cert, NID_key_usage, &ku_p, &ku_c);
	certsign = ku != NULL && ASN1_BIT_STRING_get_bit(ku, 5);
	if (ku_p && !ku_c)
		lint_add(c, "ku-critical", "keyUsage must be critical");
	if (is_ca && !ku_p)
		lint_add(c, "ku-ca", "a CA certificate must carry keyUsage");
	else if (is_ca && !certsign)
		lint_add(c, "ku-certsign", "basicConstraints says CA:TRUE but "
		    "keyUsage lacks keyCertSign");
	if (!is_ca && certsign)
		lint_add(c, "ku-certsign", "keyUsage has keyCertSign but "
		    "basicConstraints does not say CA:TRUE");
	nc = lint_cert_ext(c, cert, NID_name_constraints, &p, &cr);
	if (p && !is_ca)
		lint_add(c, "nc-non-ca", "nameConstraints may appear only in "
		    "CA certificates");
	NAME_CONSTRAINTS_free(nc);
	eku = lint_cert_ext(c, cert, NID_ext_key_usage, &p, &cr);
	if (p && is_ca && !(opts != NULL && opts->allow_ca_eku))
		lint_add(c, "ca-eku", "the CA certificate carries "
		    "extendedKeyUsage, which restricts every certificate "
		    "below it; set allow_ca_eku if that is intended");
	EXTENDED_KEY_USAGE_free(eku);
	lint_key_ids(c, cert, issuer, is_ca);
	if (issuer != NULL)
		lint_issuer_ca(c, issuer, is_ca, bc);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
}

int
lint_cert(X509 *cert, X509 *issuer, const struct lint_opts *opts,
    diag_t *out)
{
	struct lint_ctx c = { out, 0 };
	const X509_ALGOR *tbs_alg, *sig_alg;
	const ASN1_BIT_STRING *sig;
	const X509_NAME *want_issuer;
	int legacy = opts != NULL && opts->allow_legacy;

	if (cert == NULL || out == NULL)
		return ERR_INVALID;
	if (X509_get_version(cert) != X509_VERSION_3)
		lint_add(&c, "version", "the certificate must be version 3, "
		    "not %ld", X509_get_version(cert) + 1);
	lint_serial(&c, X509_get0_serialNumber(cert));
	if (X509_NAME_entry_count(X509_get_subject_name(cert)) == 0)
		lint_add(&c, "subject-empty", "the subject name is empty");
	want_issuer = X509_get_subject_name(issuer != NULL ? issuer : cert);
	if (!lint_name_der_equal(X509_get_issuer_name(cert), want_issuer))
		lint_add(&c, "issuer-name", issuer != NULL ?
		    "the issuer name is not byte for byte the issuer "
		    "certificate's subject" :
		    "the self-signed certificate's issuer name differs from "
		    "its subject");
	lint_validity(&c, cert, issuer);
	lint_duplicates(&c, cert);
	lint_ca_rules(&c, cert, issuer, opts);
	lint_pubkey(&c, X509_get0_pubkey(cert), legacy);
	X509_get0_signature(&sig, &sig_alg, cert);
	tbs_alg = X509_get0_tbs_sigalg(cert);
	if (X509_ALGOR_cmp(sig_alg, tbs_alg) != 0)
		lint_add(&c, "sigalg-match", "the signature algorithm inside "
		    "the certificate differs from the one outside");
	lint_sigalg(&c, X509_get_signature_nid(cert),
	    X509_get0_pubkey(issuer != NULL ? issuer : cert), legacy);
	return c.n;
}

/*
 * CRLs are linted on their DER bytes in place (lint_crl_tbs): decoding a
 * CRL of a million entries into OpenSSL objects would cost hundreds of
 * bytes per entry, several times the CRL itself.
 */

/* id-ce extension OIDs (2.5.29.x), content octets only. */
static const unsigned char lint_oid_crl_number[] = { 0x55, 0x1d, 0x14 };
static const unsigned char lint_oid_reason[] = { 0x55, 0x1d, 0x15 };
static const unsigned char lint_oid_invalidity[] = { 0x55, 0x1d, 0x18 };
static const unsigned char lint_oid_delta[] = { 0x55, 0x1d, 0x1b };
static const unsigned char lint_oid_idp[] = { 0x55, 0x1d, 0x1c };
static const unsigned char lint_oid_aki[] = { 0x55, 0x1d, 0x23 };

/* The extensions a CRL or an entry may carry, as bits, to find repeats. */
enum {
	LINT_EXT_AKI = 1u << 0,
	LINT_EXT_NUMBER = 1u << 1,
	LINT_EXT_IDP = 1u << 2,
	LINT_EXT_REASON = 1u << 3,
	LINT_EXT_INVALIDITY = 1u << 4
};

/* The longest serial RFC 5280 4.1.2.2 allows, in content octets. */
#define LINT_SERIAL_MAX 20

/* Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue } */
struct lint_ext {
	struct der_tlv oid;
	struct der_tlv value;	/* the OCTET STRING */
	int critical;
};

/* The next element of in: 1, 0 at its end, -1 when it is not DER. */
static int
lint_der_next(buf_t *in, struct der_tlv *el)
{
	if (buf_avail(in) == 0)
		return 0;
	return der_get_tlv(in, el) == 0 ? 1 : -1;
}

/* The one element that makes up the content of tlv, or ERR_INVALID. */
static int
lint_der_only(const struct der_tlv *tlv, struct der_tlv *el)
{
	buf_t b;

	buf_view(&b, tlv->content, tlv->content_len);
	if (der_get_tlv(&b, el) != 0 || buf_avail(&b) != 0)
		return ERR_INVALID;
	return 0;
}

static int
lint_oid_is(const struct der_tlv *oid, const unsigned char *want, size_t len)
{
	return oid->content_len == len && memcmp(oid->content, want, len) == 0;
}

/* An OID for messages: "X509v3 Freshest CRL (2.5.29.46)". */
static const char *
lint_oid_txt(const struct der_tlv *oid, char *out, size_t outsz)
{
	const unsigned char *p = oid->raw;
	ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)oid->raw_len);
	char dotted[64];

	snprintf(out, outsz, "(unreadable OID)");
	if (o != NULL && OBJ_obj2txt(dotted, sizeof(dotted), o, 1) > 0) {
		int nid = OBJ_obj2nid(o);

		if (nid != NID_undef)
			snprintf(out, outsz, "%s (%s)", OBJ_nid2ln(nid), dotted);
		else
			snprintf(out, outsz, "%s", dotted);
	}
	ASN1_OBJECT_free(o);
	ERR_clear_error();
	return out;
}

/*
 * Reads the Extension at in's offset. NULL, or what is wrong with it;
 * DER leaves a FALSE critical flag out (it is the default).
 */
static const char *
lint_ext_read(buf_t *in, struct lint_ext *x)
{
	struct der_tlv seq, el;
	buf_t b;

	x->critical = 0;
	if (der_get_tlv(in, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE)
		return "is not a DER SEQUENCE";
	buf_view(&b, seq.content, seq.content_len);
	if (der_get_tlv(&b, &x->oid) != 0 || x->oid.tag != 0x06 ||
	    x->oid.content_len == 0)
		return "does not start with an object identifier";
	if (der_get_tlv(&b, &el) != 0)
		return "has no value";
	if (el.tag == 0x01) {
		if (el.content_len != 1 || el.content[0] != 0xff)
			return "has a critical flag that is not DER TRUE "
			    "(FALSE, the default, is left out)";
		x->critical = 1;
		if (der_get_tlv(&b, &el) != 0)
			return "has no value";
	}
	if (el.tag != 0x04 || buf_avail(&b) != 0)
		return "does not end with its value in an OCTET STRING";
	x->value = el;
	return NULL;
}

/* Two decimal digits at p, or -1. */
static int
lint_2d(const unsigned char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/*
 * Checks a DER Time: RFC 5280 5.1.2.4, UTCTime YYMMDDHHMMSSZ for 1950
 * through 2049 and GeneralizedTime YYYYMMDDHHMMSSZ otherwise, or, with
 * gen, always GeneralizedTime (invalidityDate, 5.3.2). *out (may be
 * NULL) gets the time. NULL, or what is wrong.
 */
static const char *
lint_der_time(const struct der_tlv *t, int gen, time_t *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	const unsigned char *p = t->content;
	int year, cent, mon, day, hh, mm, ss, leap;
	struct tm tm;

	if (t->tag == V_ASN1_UTCTIME && !gen) {
		if (t->content_len != 13 || p[12] != 'Z')
			return "must be YYMMDDHHMMSSZ: seconds, in UTC, no "
			    "fraction";
		if ((year = lint_2d(p)) < 0)
			return "is not a valid date and time";
		year += year < 50 ? 2000 : 1900;
		p += 2;
	} else if (t->tag == V_ASN1_GENERALIZEDTIME) {
		if (t->content_len != 15 || p[14] != 'Z')
			return "must be YYYYMMDDHHMMSSZ: seconds, in UTC, no "
			    "fraction";
		if ((cent = lint_2d(p)) < 0 || (year = lint_2d(p + 2)) < 0)
			return "is not a valid date and time";
		year += 100 * cent;
		if (!gen && year >= 1950 && year <= 2049)
			return "is a GeneralizedTime but must be a UTCTime "
			    "before 2050";
		p += 4;
	} else {
		return gen ? "must be a GeneralizedTime" :
		    "is neither a UTCTime nor a GeneralizedTime";
	}
	mon = lint_2d(p);
	day = lint_2d(p + 2);
	hh = lint_2d(p + 4);
	mm = lint_2d(p + 6);
	ss = lint_2d(p + 8);
	if (mon < 1 || mon > 12 || day < 1 || hh < 0 || hh > 23 || mm < 0 ||
	    mm > 59 || ss < 0 || ss > 59)
		return "is not a valid date and time";
	leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
	if (day > mdays[mon - 1] + (mon == 2 ? leap : 0))
		return "is not a valid date";
	if (out != NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = year - 1900;
		tm.tm_mon = mon - 1;
		tm.tm_mday = day;
		tm.tm_hour = hh;
		tm.tm_min = mm;
		tm.tm_sec = ss;
		*out = timegm(&tm);
	}
	return NULL;
}

/*
 * An INTEGER that must be a serial number (positive) or a CRL number
 * (0 or more): DER-minimal, at most 20 content octets (RFC 5280 4.1.2.2,
 * 5.2.3). NULL, or what is wrong.
 */
static const char *
lint_der_uint(const struct der_tlv *v, int positive)
{
	const unsigned char *p = v->content;
	size_t n = v->content_len;

	if (v->tag != V_ASN1_INTEGER || n == 0)
		return "is not an INTEGER";
	if (n > 1 && ((p[0] == 0x00 && p[1] < 0x80) ||
	    (p[0] == 0xff && p[1] >= 0x80)))
		return "is not minimally encoded (DER)";
	if (p[0] & 0x80)
		return "is negative";
	if (positive && n == 1 && p[0] == 0)
		return "is zero";
	if (n > LINT_SERIAL_MAX)
		return "is longer than 20 octets";
	return NULL;
}

/* An entry's serial in hex for messages, cut at 20 octets. */
static const char *
lint_serial_hex(const struct der_tlv *sn, char *out, size_t outsz)
{
	return buf_hex(sn->content, sn->content_len > LINT_SERIAL_MAX ?
	    LINT_SERIAL_MAX : sn->content_len, out, outsz);
}

static const char *
lint_when(time_t t, char out[TIMEUTIL_STRLEN])
{
	timeutil_format(t, out);
	return out;
}

/*
 * The signature AlgorithmIdentifier: byte for byte the one the CA key
 * will sign with (crlder_algid), a digest not broken, the key's type.
 */
static void
lint_crl_sigalg(struct lint_ctx *c, const struct lint_crl_want *w,
    const struct der_tlv *alg)
{
	EVP_PKEY *ipub = X509_get0_pubkey(w->issuer);
	const EVP_PKEY *key = w->key != NULL ? w->key : ipub;
	const unsigned char *p = alg->raw, *q;
	unsigned char want[64];
	X509_ALGOR *a, *b = NULL;
	const ASN1_OBJECT *obj, *wobj = NULL;
	size_t wlen = 0;
	err_t e;

	if (w->key != NULL && ipub != NULL && EVP_PKEY_eq(w->key, ipub) != 1)
		lint_add(c, "sigalg-key", "the key that is to sign the CRL is "
		    "not the CA certificate's");
	if ((a = d2i_X509_ALGOR(NULL, &p, (long)alg->raw_len)) == NULL) {
		lint_add(c, "crl-der", "the CRL's signature algorithm cannot "
		    "be decoded");
		ERR_clear_error();
		return;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, a);
	lint_sigalg(c, OBJ_obj2nid(obj), ipub, 0);
	if (w->md == NULL || key == NULL)
		goto out;
	if (crlder_algid(key, w->md, want, sizeof(want), &wlen, &e) != 0) {
		lint_add(c, "sigalg-key", "the CA key cannot sign a CRL: %s",
		    e.msg);
		goto out;
	}
	if (wlen == alg->raw_len && memcmp(want, alg->raw, wlen) == 0)
		goto out;
	q = want;
	if ((b = d2i_X509_ALGOR(NULL, &q, (long)wlen)) != NULL)
		X509_ALGOR_get0(&wobj, NULL, NULL, b);
	if (wobj != NULL && OBJ_cmp(obj, wobj) == 0)
		lint_add(c, "crl-sigalg", "the CRL's signature algorithm %s "
		    "has other parameters than the CA key will sign with",
		    OBJ_nid2sn(OBJ_obj2nid(obj)));
	else
		lint_add(c, "crl-sigalg", "the CRL's signature algorithm %s is "
		    "not %s, which the CA key will sign with",
		    OBJ_nid2sn(OBJ_obj2nid(obj)), wobj != NULL ?
		    OBJ_nid2sn(OBJ_obj2nid(wobj)) : "?");
out:
	X509_ALGOR_free(a);
	X509_ALGOR_free(b);
	ERR_clear_error();
}

/* The issuer: the CA's subject byte for byte, a CA that may sign CRLs. */
static void
lint_crl_issuer(struct lint_ctx *c, const struct lint_crl_want *w,
    const struct der_tlv *name)
{
	const unsigned char *d;
	ASN1_BIT_STRING *ku;
	size_t dlen;
	int p, cr;

	if (!X509_NAME_get0_der(X509_get_subject_name(w->issuer), &d, &dlen) ||
	    dlen != name->raw_len || memcmp(d, name->raw, dlen) != 0)
		lint_add(c, "crl-issuer-name", "the CRL issuer name is not "
		    "byte for byte the issuer certificate's subject");
	ku = lint_cert_ext(NULL, w->issuer, NID_key_usage, &p, &cr);
	if (ku == NULL || !ASN1_BIT_STRING_get_bit(ku, 6))
		lint_add(c, "crl-issuer-ku", "the issuer certificate's "
		    "keyUsage lacks cRLSign");
	ASN1_BIT_STRING_free(ku);
}

/* The CA must be valid at thisUpdate; nextUpdate may pass its end. */
static void
lint_crl_issuer_validity(struct lint_ctx *c, X509 *issuer, time_t tu)
{
	char a[TIMEUTIL_STRLEN], b[TIMEUTIL_STRLEN];
	struct tm tm;
	time_t nb, na;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notBefore(issuer), &tm) == 1 &&
	    (nb = timegm(&tm)) > tu)
		lint_add(c, "crl-issuer-validity", "thisUpdate %s is before "
		    "the CA certificate's notBefore %s", lint_when(tu, a),
		    lint_when(nb, b));
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(issuer), &tm) == 1 &&
	    (na = timegm(&tm)) < tu)
		lint_add(c, "crl-issuer-validity", "thisUpdate %s is after "
		    "the CA certificate's notAfter %s: the CA has expired",
		    lint_when(tu, a), lint_when(na, b));
}

/*
 * reasonCode: not critical, a value a complete CRL carries (RFC 5280
 * 5.3.1). unspecified is left out rather than encoded; 7 is unassigned;
 * removeFromCRL belongs to delta CRLs, which Airlock does not issue: a
 * released hold is simply absent from the next CRL.
 */
static void
lint_crl_reason(struct lint_ctx *c, size_t i, const struct der_tlv *sn,
    const struct lint_ext *x)
{
	char hex[2 * LINT_SERIAL_MAX + 1];
	struct der_tlv v;
	int code;

	if (x->critical)
		lint_add(c, "crl-entry-reason", "entry %zu (serial %s): "
		    "reasonCode must not be critical", i,
		    lint_serial_hex(sn, hex, sizeof(hex)));
	if (lint_der_only(&x->value, &v) != 0 || v.tag != V_ASN1_ENUMERATED ||
	    v.content_len != 1 || (v.content[0] & 0x80)) {
		lint_add(c, "crl-entry-reason", "entry %zu (serial %s): "
		    "reasonCode is not a one-octet ENUMERATED", i,
		    lint_serial_hex(sn, hex, sizeof(hex)));
		return;
	}
	code = v.content[0];
	switch (code) {
	case 1: case 2: case 3: case 4: case 5: case 6: case 9: case 10:
		return;
	case 0:
		lint_add(c, "crl-entry-reason", "entry %zu (serial %s): "
		    "reasonCode unspecified (0) must be left out, not encoded "
		    "(RFC 5280 5.3.1)", i, lint_serial_hex(sn, hex,
		    sizeof(hex)));
		return;
	case 7:
		lint_add(c, "crl-entry-reason", "entry %zu (serial %s): "
		    "reasonCode 7 is not assigned (RFC 5280 5.3.1)", i,
		    lint_serial_hex(sn, hex, sizeof(hex)));
		return;
	case 8:
		lint_add(c, "crl-entry-reason", "entry %zu (serial %s): "
		    "removeFromCRL (8) belongs to delta CRLs, which Airlock "
		    "does not issue; a released hold leaves the next CRL "
		    "instead", i, lint_serial_hex(sn, hex, sizeof(hex)));
		return;
	default:
		lint_add(c, "crl-entry-reason", "entry %zu (serial %s): "
		    "reasonCode %d is not defined (RFC 5280 5.3.1)", i,
		    lint_serial_hex(sn, hex, sizeof(hex)), code);
		return;
	}
}

/* An entry's extensions: reasonCode and invalidityDate, each once. */
static void
lint_crl_entry_exts(struct lint_ctx *c, size_t i, const struct der_tlv *sn,
    const struct der_tlv *exts)
{
	char hex[2 * LINT_SERIAL_MAX + 1], name[128];
	struct lint_ext x;
	struct der_tlv v;
	unsigned seen = 0, bit;
	buf_t in;

	if (exts->content_len == 0) {
		lint_add(c, "crl-entry-ext", "entry %zu (serial %s): "
		    "crlEntryExtensions is present but empty", i,
		    lint_serial_hex(sn, hex, sizeof(hex)));
		return;
	}
	buf_view(&in, exts->content, exts->content_len);
	while (buf_avail(&in) > 0) {
		const char *bad;

		if ((bad = lint_ext_read(&in, &x)) != NULL) {
			lint_add(c, "crl-der", "entry %zu (serial %s): an "
			    "entry extension %s", i, lint_serial_hex(sn, hex,
			    sizeof(hex)), bad);
			return;
		}
		if (lint_oid_is(&x.oid, lint_oid_reason,
		    sizeof(lint_oid_reason))) {
			bit = LINT_EXT_REASON;
			lint_crl_reason(c, i, sn, &x);
		} else if (lint_oid_is(&x.oid, lint_oid_invalidity,
		    sizeof(lint_oid_invalidity))) {
			bit = LINT_EXT_INVALIDITY;
			if (x.critical)
				lint_add(c, "crl-entry-invalidity", "entry %zu "
				    "(serial %s): invalidityDate must not be "
				    "critical", i, lint_serial_hex(sn, hex,
				    sizeof(hex)));
			if (lint_der_only(&x.value, &v) != 0)
				bad = "is not one DER Time";
			else
				bad = lint_der_time(&v, 1, NULL);
			if (bad != NULL)
				lint_add(c, "crl-entry-invalidity", "entry %zu "
				    "(serial %s): invalidityDate %s (RFC 5280 "
				    "5.3.2)", i, lint_serial_hex(sn, hex,
				    sizeof(hex)), bad);
		} else {
			lint_add(c, "crl-entry-ext", "entry %zu (serial %s): "
			    "the entry extension %s is not one Airlock's "
			    "CRLs carry (reasonCode, invalidityDate)", i,
			    lint_serial_hex(sn, hex, sizeof(hex)),
			    lint_oid_txt(&x.oid, name, sizeof(name)));
			continue;
		}
		if (seen & bit)
			lint_add(c, "crl-entry-ext", "entry %zu (serial %s): "
			    "the %s extension appears twice", i,
			    lint_serial_hex(sn, hex, sizeof(hex)),
			    bit == LINT_EXT_REASON ? "reasonCode" :
			    "invalidityDate");
		seen |= bit;
	}
}

/*
 * revokedCertificates: each entry a positive serial of at most 20
 * octets, in strictly increasing order (so no serial twice), a
 * revocationDate, and valid entry extensions. The serials are compared
 * where they lie: the previous one is a pointer into the TBS.
 */
static void
lint_crl_entries(struct lint_ctx *c, const struct der_tlv *list)
{
	char hex[2 * LINT_SERIAL_MAX + 1], hex2[2 * LINT_SERIAL_MAX + 1];
	struct der_tlv ent, sn, when, exts, prev;
	const char *bad;
	int have_prev = 0, cmp;
	buf_t all, in;
	size_t i;

	memset(&prev, 0, sizeof(prev));
	if (list->content_len == 0) {
		lint_add(c, "crl-entries-empty", "revokedCertificates is "
		    "present but empty; a CRL without entries leaves it out "
		    "(RFC 5280 5.1.2.6)");
		return;
	}
	buf_view(&all, list->content, list->content_len);
	for (i = 1; buf_avail(&all) > 0; i++) {
		if (der_get_tlv(&all, &ent) != 0 ||
		    ent.tag != DER_TAG_SEQUENCE) {
			lint_add(c, "crl-der", "CRL entry %zu is not a DER "
			    "SEQUENCE", i);
			return;
		}
		buf_view(&in, ent.content, ent.content_len);
		if (der_get_tlv(&in, &sn) != 0 || sn.tag != V_ASN1_INTEGER ||
		    der_get_tlv(&in, &when) != 0) {
			lint_add(c, "crl-der", "CRL entry %zu does not start "
			    "with a serial number and a revocation date", i);
			continue;
		}
		if ((bad = lint_der_uint(&sn, 1)) != NULL) {
			lint_add(c, "crl-entry-serial", "entry %zu: serial %s "
			    "%s; it must be a positive INTEGER of at most 20 "
			    "octets (RFC 5280 4.1.2.2)", i,
			    lint_serial_hex(&sn, hex, sizeof(hex)), bad);
		} else {
			cmp = have_prev ? crlder_serial_cmp(prev.content,
			    prev.content_len, sn.content, sn.content_len) : -1;
			if (cmp == 0)
				lint_add(c, "crl-entry-duplicate", "entry %zu "
				    "repeats serial %s of the entry before it",
				    i, lint_serial_hex(&sn, hex, sizeof(hex)));
			else if (cmp > 0)
				lint_add(c, "crl-entry-order", "entry %zu has "
				    "serial %s, lower than serial %s before "
				    "it; entries must be in increasing serial "
				    "order", i, lint_serial_hex(&sn, hex,
				    sizeof(hex)), lint_serial_hex(&prev, hex2,
				    sizeof(hex2)));
			prev = sn;
			have_prev = 1;
		}
		if ((bad = lint_der_time(&when, 0, NULL)) != NULL)
			lint_add(c, "time-encoding", "entry %zu (serial %s): "
			    "revocationDate %s", i, lint_serial_hex(&sn, hex,
			    sizeof(hex)), bad);
		if (buf_avail(&in) == 0)
			continue;
		if (der_get_tlv(&in, &exts) != 0 ||
		    exts.tag != DER_TAG_SEQUENCE || buf_avail(&in) != 0) {
			lint_add(c, "crl-der", "entry %zu (serial %s): what "
			    "follows revocationDate is not one "
			    "crlEntryExtensions SEQUENCE", i,
			    lint_serial_hex(&sn, hex, sizeof(hex)));
			continue;
		}
		lint_crl_entry_exts(c, i, &sn, &exts);
	}
}

/* authorityKeyIdentifier: not critical, keyIdentifier = the CA's SKI. */
static void
lint_crl_aki(struct lint_ctx *c, const struct lint_crl_want *w,
    const struct lint_ext *x)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(w->issuer);
	struct der_tlv seq, el, kid;
	int found = 0;
	buf_t b;

	if (x->critical)
		lint_add(c, "crl-aki", "authorityKeyIdentifier must not be "
		    "critical");
	if (lint_der_only(&x->value, &seq) != 0 ||
	    seq.tag != DER_TAG_SEQUENCE) {
		lint_add(c, "crl-aki", "authorityKeyIdentifier is not a DER "
		    "SEQUENCE");
		return;
	}
	buf_view(&b, seq.content, seq.content_len);
	while (!found && lint_der_next(&b, &el) == 1)
		if (el.tag == 0x80) {
			kid = el;
			found = 1;
		}
	if (!found) {
		lint_add(c, "crl-aki", "authorityKeyIdentifier with a "
		    "keyIdentifier is required");
		return;
	}
	if (ski == NULL) {
		lint_add(c, "crl-aki", "the issuer certificate has no "
		    "subjectKeyIdentifier to match");
		return;
	}
	if (kid.content_len != (size_t)ASN1_STRING_length(ski) ||
	    memcmp(kid.content, ASN1_STRING_get0_data(ski),
	    kid.content_len) != 0) {
		char h1[96], h2[96];

		lint_add(c, "crl-aki", "authorityKeyIdentifier %s does not "
		    "equal the issuer's subjectKeyIdentifier %s",
		    buf_hex(kid.content, kid.content_len, h1, sizeof(h1)),
		    lint_hex(ski, h2, sizeof(h2)));
	}
}

/* cRLNumber: not critical, INTEGER 0 to MAX of at most 20 octets. */
static void
lint_crl_number(struct lint_ctx *c, const struct lint_ext *x)
{
	struct der_tlv v;
	const char *bad;

	if (x->critical)
		lint_add(c, "crl-number", "the CRL number extension must not "
		    "be critical");
	if (lint_der_only(&x->value, &v) != 0)
		bad = "is not one DER INTEGER";
	else
		bad = lint_der_uint(&v, 0);
	if (bad != NULL)
		lint_add(c, "crl-number", "the CRL number %s; it must be an "
		    "INTEGER from 0 of at most 20 octets (RFC 5280 5.2.3)",
		    bad);
}

/*
 * issuingDistributionPoint: critical (RFC 5280 5.2.5), a distributionPoint
 * with a fullName of one URI and nothing else (Airlock's CRLs cover every
 * certificate of the CA, for every reason), the URI the policy asks for.
 */
static void
lint_crl_idp(struct lint_ctx *c, const struct lint_crl_want *w,
    const struct lint_ext *x)
{
	char uri[CRLDER_URI_MAX + 1];
	struct der_tlv seq, dp, full, gn;

	if (x->critical == 0)
		lint_add(c, "crl-idp", "issuingDistributionPoint must be "
		    "critical (RFC 5280 5.2.5)");
	if (lint_der_only(&x->value, &seq) != 0 ||
	    seq.tag != DER_TAG_SEQUENCE || lint_der_only(&seq, &dp) != 0 ||
	    dp.tag != 0xa0 || lint_der_only(&dp, &full) != 0 ||
	    full.tag != 0xa0 || lint_der_only(&full, &gn) != 0 ||
	    gn.tag != 0x86) {
		lint_add(c, "crl-idp", "issuingDistributionPoint must hold "
		    "only a distributionPoint whose fullName is one URI: "
		    "Airlock's CRLs cover every certificate of their CA for "
		    "every reason");
		return;
	}
	if (gn.content_len == 0 || gn.content_len > CRLDER_URI_MAX ||
	    memchr(gn.content, '\0', gn.content_len) != NULL) {
		lint_add(c, "crl-idp", "the issuing distribution point's URI "
		    "is empty or longer than %u bytes", CRLDER_URI_MAX);
		return;
	}
	memcpy(uri, gn.content, gn.content_len);
	uri[gn.content_len] = '\0';
	if (!crlder_uri_ok(uri)) {
		lint_add(c, "crl-idp", "the issuing distribution point is not "
		    "a URI of printable ASCII without spaces");
		return;
	}
	if (w->idp_any)
		return;
	if (w->idp_uri == NULL)
		lint_add(c, "crl-idp", "the CRL carries the issuing "
		    "distribution point %s, which the CRL policy does not ask "
		    "for", uri);
	else if (strcmp(uri, w->idp_uri) != 0)
		lint_add(c, "crl-idp", "the issuing distribution point %s is "
		    "not the CRL policy's %s", uri, w->idp_uri);
}

/*
 * crlExtensions ([0] EXPLICIT, tagged; NULL when absent): exactly the
 * profile's, each once: authorityKeyIdentifier and cRLNumber always,
 * issuingDistributionPoint as the policy says. Anything else (a
 * deltaCRLIndicator above all) is not an Airlock CRL.
 */
static void
lint_crl_exts(struct lint_ctx *c, const struct lint_crl_want *w,
    const struct der_tlv *tagged)
{
	struct der_tlv list;
	struct lint_ext x;
	unsigned seen = 0, bit;
	char name[128];
	buf_t in;

	buf_view(&in, NULL, 0);
	if (tagged != NULL && (lint_der_only(tagged, &list) != 0 ||
	    list.tag != DER_TAG_SEQUENCE || list.content_len == 0)) {
		lint_add(c, "crl-der", "crlExtensions is not one non-empty "
		    "SEQUENCE of extensions");
		return;
	}
	if (tagged != NULL)
		buf_view(&in, list.content, list.content_len);
	while (buf_avail(&in) > 0) {
		const char *bad;

		if ((bad = lint_ext_read(&in, &x)) != NULL) {
			lint_add(c, "crl-der", "a CRL extension %s", bad);
			return;
		}
		if (lint_oid_is(&x.oid, lint_oid_aki, sizeof(lint_oid_aki))) {
			bit = LINT_EXT_AKI;
			lint_crl_aki(c, w, &x);
		} else if (lint_oid_is(&x.oid, lint_oid_crl_number,
		    sizeof(lint_oid_crl_number))) {
			bit = LINT_EXT_NUMBER;
			lint_crl_number(c, &x);
		} else if (lint_oid_is(&x.oid, lint_oid_idp,
		    sizeof(lint_oid_idp))) {
			bit = LINT_EXT_IDP;
			lint_crl_idp(c, w, &x);
		} else if (lint_oid_is(&x.oid, lint_oid_delta,
		    sizeof(lint_oid_delta))) {
			lint_add(c, "crl-ext", "deltaCRLIndicator makes this a "
			    "delta CRL; Airlock issues complete CRLs only");
			continue;
		} else {
			lint_add(c, "crl-ext", "the %sCRL extension %s is not "
			    "one Airlock's CRLs carry", x.critical ?
			    "critical " : "", lint_oid_txt(&x.oid, name,
			    sizeof(name)));
			continue;
		}
		if (seen & bit)
			lint_add(c, "crl-ext-duplicate", "the %s extension "
			    "appears more than once", bit == LINT_EXT_AKI ?
			    "authorityKeyIdentifier" : bit == LINT_EXT_NUMBER ?
			    "cRLNumber" : "issuingDistributionPoint");
		seen |= bit;
	}
	if (!(seen & LINT_EXT_AKI))
		lint_add(c, "crl-aki", "authorityKeyIdentifier with a "
		    "keyIdentifier is required");
	if (!(seen & LINT_EXT_NUMBER))
		lint_add(c, "crl-number", "the CRL number extension is "
		    "required");
	if (!(seen & LINT_EXT_IDP) && !w->idp_any && w->idp_uri != NULL)
		lint_add(c, "crl-idp", "the CRL policy asks for the issuing "
		    "distribution point %s; the CRL carries none", w->idp_uri);
}

int
lint_crl_tbs(const unsigned char *tbs, size_t len,
    const struct lint_crl_want *w, diag_t *out)
{
	struct lint_ctx c = { out, 0 };
	char a[TIMEUTIL_STRLEN], b[TIMEUTIL_STRLEN];
	struct der_tlv seq, el;
	time_t tu = 0, nu = 0;
	int tu_ok = 0, nu_ok = 0, more;
	const char *bad;
	buf_t in;

	if (tbs == NULL || w == NULL || w->issuer == NULL || out == NULL)
		return ERR_INVALID;
	buf_view(&in, tbs, len);
	if (der_get_tlv(&in, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE ||
	    buf_avail(&in) != 0) {
		lint_add(&c, "crl-der", "the to-be-signed CRL is not exactly "
		    "one DER SEQUENCE");
		return c.n;
	}
	buf_view(&in, seq.content, seq.content_len);
	if (der_get_tlv(&in, &el) != 0)
		goto truncated;
	/* version: v2 is INTEGER 1; version 1 leaves the field out. */
	if (el.tag == V_ASN1_INTEGER) {
		if (el.content_len != 1 || el.content[0] != 1)
			lint_add(&c, "crl-version", "the CRL must be version 2 "
			    "(INTEGER 1)");
		if (der_get_tlv(&in, &el) != 0)
			goto truncated;
	} else {
		lint_add(&c, "crl-version", "the CRL has no version field "
		    "(version 1); it must be version 2");
	}
	if (el.tag != DER_TAG_SEQUENCE)
		goto truncated;
	lint_crl_sigalg(&c, w, &el);
	if (der_get_tlv(&in, &el) != 0 || el.tag != DER_TAG_SEQUENCE)
		goto truncated;
	lint_crl_issuer(&c, w, &el);
	if (der_get_tlv(&in, &el) != 0)
		goto truncated;
	if ((bad = lint_der_time(&el, 0, &tu)) != NULL)
		lint_add(&c, "time-encoding", "thisUpdate %s", bad);
	else
		tu_ok = 1;
	if (tu_ok)
		lint_crl_issuer_validity(&c, w->issuer, tu);
	more = lint_der_next(&in, &el);
	if (more == 1 && (el.tag == V_ASN1_UTCTIME ||
	    el.tag == V_ASN1_GENERALIZEDTIME)) {
		if ((bad = lint_der_time(&el, 0, &nu)) != NULL)
			lint_add(&c, "time-encoding", "nextUpdate %s", bad);
		else
			nu_ok = 1;
		more = lint_der_next(&in, &el);
	} else {
		lint_add(&c, "crl-next-update", "nextUpdate is required");
	}
	if (tu_ok && nu_ok && tu >= nu)
		lint_add(&c, "crl-validity-order", "thisUpdate %s is not "
		    "before nextUpdate %s", lint_when(tu, a), lint_when(nu, b));
	if (more == 1 && el.tag == DER_TAG_SEQUENCE) {
		lint_crl_entries(&c, &el);
		more = lint_der_next(&in, &el);
	}
	if (more == 1 && el.tag == 0xa0) {
		lint_crl_exts(&c, w, &el);
		more = lint_der_next(&in, &el);
	} else {
		lint_crl_exts(&c, w, NULL);
	}
	if (more != 0)
		lint_add(&c, "crl-der", "the to-be-signed CRL holds something "
		    "after its extensions, or is not DER");
	return c.n;
truncated:
	lint_add(&c, "crl-der", "the to-be-signed CRL does not have the "
	    "version, signature, issuer, thisUpdate of a TBSCertList");
	return c.n;
}

/*
 * 1 when the signature algorithm after the TBSCertList in a DER CRL is
 * byte for byte the one inside it.
 */
static int
lint_crl_algs_match(const unsigned char *der, size_t len)
{
	struct der_tlv outer, tbs, alg, el;
	buf_t b;

	buf_view(&b, der, len);
	if (der_get_tlv(&b, &outer) != 0)
		return 0;
	buf_view(&b, outer.content, outer.content_len);
	if (der_get_tlv(&b, &tbs) != 0 || der_get_tlv(&b, &alg) != 0)
		return 0;
	buf_view(&b, tbs.content, tbs.content_len);
	if (der_get_tlv(&b, &el) != 0 || (el.tag == V_ASN1_INTEGER &&
	    der_get_tlv(&b, &el) != 0))
		return 0;
	return el.raw_len == alg.raw_len &&
	    memcmp(el.raw, alg.raw, alg.raw_len) == 0;
}

int
lint_crl(X509_CRL *crl, X509 *issuer, diag_t *out)
{
	struct lint_ctx c = { out, 0 };
	struct lint_crl_want w;
	unsigned char *der = NULL;
	int len, mdnid = NID_undef, pknid = NID_undef, n = 0;
	buf_t tbs;
	err_t e;

	if (crl == NULL || issuer == NULL || out == NULL)
		return ERR_INVALID;
	memset(&w, 0, sizeof(w));
	w.issuer = issuer;
	w.idp_any = 1;
	if (OBJ_find_sigid_algs(X509_CRL_get_signature_nid(crl), &mdnid,
	    &pknid))
		w.md = EVP_get_digestbynid(mdnid);
	buf_init(&tbs, CRLDER_TBS_MAX);
	if ((len = i2d_X509_CRL(crl, &der)) <= 0 ||
	    der_first_in_seq(der, (size_t)len, &tbs, &e) != 0) {
		lint_add(&c, "crl-der", "the CRL cannot be encoded (it must "
		    "be signed, if only with the null signer)");
	} else {
		if (!lint_crl_algs_match(der, (size_t)len))
			lint_add(&c, "sigalg-match", "the signature algorithm "
			    "inside the CRL differs from the one outside");
		if ((n = lint_crl_tbs(tbs.data, tbs.len, &w, out)) < 0) {
			n = 0;
			lint_add(&c, "crl-der", "the CRL cannot be linted");
		}
	}
	OPENSSL_free(der);
	buf_free(&tbs);
	ERR_clear_error();
	return c.n + n;
}
