/* certalg.c: key and signature algorithms by a DER walk (see certalg.h). */
#include "pki/certalg.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "pki/der.h"

#define DER_TAG_INTEGER 0x02
#define DER_TAG_BIT_STRING 0x03
#define DER_TAG_OID 0x06

/*
 * The OIDs nearly every certificate carries, by their content octets, so
 * that the common case needs no allocation and no lock in OpenSSL's
 * object table. Everything else goes to OpenSSL by name (certalg_oid).
 */
struct certalg_oid {
	const char *der;	/* content octets */
	size_t len;
	const char *name;
};

#define OID(s, name) { s, sizeof(s) - 1, name }

static const struct certalg_oid certalg_sigs[] = {
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", "sha256WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c", "sha384WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d", "sha512WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0e", "sha224WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05", "sha1WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a", "rsassaPss"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x02", "ecdsa-with-SHA256"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x03", "ecdsa-with-SHA384"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x04", "ecdsa-with-SHA512"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x01", "ecdsa-with-SHA224"),
	OID("\x2a\x86\x48\xce\x3d\x04\x01", "ecdsa-with-SHA1"),
	OID("\x2b\x65\x70", "ED25519"),
	OID("\x2b\x65\x71", "ED448"),
};

static const struct certalg_oid certalg_curves[] = {
	OID("\x2a\x86\x48\xce\x3d\x03\x01\x07", "P-256"),
	OID("\x2b\x81\x04\x00\x22", "P-384"),
	OID("\x2b\x81\x04\x00\x23", "P-521"),
	OID("\x2b\x81\x04\x00\x0a", "secp256k1"),
};

static const char certalg_rsa[] = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01";
static const char certalg_pss[] = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a";
static const char certalg_ec[] = "\x2a\x86\x48\xce\x3d\x02\x01";
static const char certalg_ed25519[] = "\x2b\x65\x70";
static const char certalg_ed448[] = "\x2b\x65\x71";

/* 1 when the OID content in t is exactly the octets s (a literal). */
#define IS_OID(t, s) ((t)->content_len == sizeof(s) - 1 && \
	memcmp((t)->content, (s), sizeof(s) - 1) == 0)

static const char *
certalg_lookup(const struct certalg_oid *tab, size_t n,
    const struct der_tlv *oid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (oid->content_len == tab[i].len &&
		    memcmp(oid->content, tab[i].der, tab[i].len) == 0)
			return tab[i].name;
	return NULL;
}

/*
 * Names an OID the tables do not hold: OpenSSL's long name when it knows
 * one, else the dotted form. ERR_INVALID when the octets are no OID.
 */
static int
certalg_oid(const struct der_tlv *oid, const char *prefix, char *out,
    size_t outsz)
{
	const unsigned char *p = oid->raw;
	ASN1_OBJECT *obj;
	char name[CERTALG_NAME_MAX - 8];
	int n;

	if (oid->content_len == 0 ||
	    (obj = d2i_ASN1_OBJECT(NULL, &p, (long)oid->raw_len)) == NULL) {
		ERR_clear_error();
		return ERR_INVALID;
	}
	n = OBJ_obj2txt(name, (int)sizeof(name), obj, 0);
	ASN1_OBJECT_free(obj);
	/* Longer than the buffer: OpenSSL cut it, and a cut OID is wrong. */
	if (n <= 0 || (size_t)n >= sizeof(name))
		return ERR_INVALID;
	snprintf(out, outsz, "%s%s", prefix, name);
	return 0;
}

/*
 * Splits an AlgorithmIdentifier's content into its OID and, when present,
 * its parameters (*has_params 0 when absent).
 */
static int
certalg_algid(const struct der_tlv *algid, struct der_tlv *oid,
    struct der_tlv *params, int *has_params)
{
	buf_t b;

	buf_view(&b, algid->content, algid->content_len);
	if (der_get_tlv(&b, oid) != 0 || oid->tag != DER_TAG_OID ||
	    oid->content_len == 0)
		return ERR_INVALID;
	*has_params = 0;
	if (buf_avail(&b) == 0)
		return 0;
	if (der_get_tlv(&b, params) != 0 || buf_avail(&b) != 0)
		return ERR_INVALID;
	*has_params = 1;
	return 0;
}

/*
 * Bits of the RSA modulus in the subjectPublicKey BIT STRING: an
 * RSAPublicKey SEQUENCE of two INTEGERs, spanning the bits exactly; the
 * modulus positive, non-zero and minimally encoded.
 */
static int
certalg_rsa_bits(const struct der_tlv *bits, size_t *out)
{
	struct der_tlv seq, n, e;
	const unsigned char *m;
	size_t len, nbits;
	unsigned char top;
	buf_t b, in;

	if (bits->content_len < 1 || bits->content[0] != 0)
		return ERR_INVALID;
	buf_view(&b, bits->content + 1, bits->content_len - 1);
	if (der_get_tlv(&b, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE ||
	    buf_avail(&b) != 0)
		return ERR_INVALID;
	buf_view(&in, seq.content, seq.content_len);
	if (der_get_tlv(&in, &n) != 0 || n.tag != DER_TAG_INTEGER ||
	    der_get_tlv(&in, &e) != 0 || e.tag != DER_TAG_INTEGER ||
	    buf_avail(&in) != 0 || n.content_len == 0 || e.content_len == 0)
		return ERR_INVALID;
	m = n.content;
	len = n.content_len;
	if (m[0] & 0x80)
		return ERR_INVALID;		/* negative */
	if (m[0] == 0) {
		/* A leading zero only to keep the sign bit clear. */
		if (len == 1 || !(m[1] & 0x80))
			return ERR_INVALID;
		m++;
		len--;
	}
	for (top = m[0], nbits = 0; top != 0; top >>= 1)
		nbits++;
	*out = (len - 1) * 8 + nbits;
	return 0;
}

/* Names the subject key from the SubjectPublicKeyInfo element. */
static int
certalg_key(const struct der_tlv *spki, char *out, size_t outsz)
{
	struct der_tlv algid, bits, oid, params;
	size_t nbits;
	int has_params;
	buf_t b;

	buf_view(&b, spki->content, spki->content_len);
	if (der_get_tlv(&b, &algid) != 0 || algid.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&b, &bits) != 0 || bits.tag != DER_TAG_BIT_STRING ||
	    buf_avail(&b) != 0 ||
	    certalg_algid(&algid, &oid, &params, &has_params) != 0)
		return ERR_INVALID;
	if (IS_OID(&oid, certalg_rsa) || IS_OID(&oid, certalg_pss)) {
		if (certalg_rsa_bits(&bits, &nbits) != 0)
			return ERR_INVALID;
		snprintf(out, outsz, "%s-%zu", IS_OID(&oid, certalg_rsa) ?
		    "RSA" : "RSA-PSS", nbits);
		return 0;
	}
	if (IS_OID(&oid, certalg_ec)) {
		const char *curve;

		/* RFC 5480: namedCurve; explicit parameters are not for us. */
		if (!has_params)
			return ERR_INVALID;
		if (params.tag != DER_TAG_OID) {
			snprintf(out, outsz, "EC (explicit parameters)");
			return 0;
		}
		if ((curve = certalg_lookup(certalg_curves,
		    sizeof(certalg_curves) / sizeof(certalg_curves[0]),
		    &params)) != NULL) {
			snprintf(out, outsz, "EC %s", curve);
			return 0;
		}
		return certalg_oid(&params, "EC ", out, outsz);
	}
	if (IS_OID(&oid, certalg_ed25519) || IS_OID(&oid, certalg_ed448)) {
		/* RFC 8410: the parameters MUST be absent. */
		if (has_params)
			return ERR_INVALID;
		snprintf(out, outsz, "%s", IS_OID(&oid, certalg_ed25519) ?
		    "Ed25519" : "Ed448");
		return 0;
	}
	return certalg_oid(&oid, "", out, outsz);
}

int
certalg_read(const unsigned char *der, size_t len, struct certalg *out,
    err_t *err)
{
	struct der_tlv cert, tbs, sigalg, sigval, serial, algid, issuer,
	    validity, subject, spki, oid, params;
	const char *name;
	int has_params;
	buf_t b, in, rest;

	out->key[0] = out->sig[0] = '\0';
	if (der == NULL || len == 0)
		return err_set(err, ERR_INVALID, "empty certificate");
	buf_view(&b, der, len);
	if (der_get_tlv(&b, &cert) != 0 || cert.tag != DER_TAG_SEQUENCE ||
	    buf_avail(&b) != 0)
		return err_set(err, ERR_INVALID, "the certificate is not one "
		    "DER SEQUENCE spanning its %zu bytes", len);
	buf_view(&in, cert.content, cert.content_len);
	if (der_get_tlv(&in, &tbs) != 0 || tbs.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &sigalg) != 0 || sigalg.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&in, &sigval) != 0 ||
	    sigval.tag != DER_TAG_BIT_STRING || buf_avail(&in) != 0)
		return err_set(err, ERR_INVALID, "the certificate is not "
		    "tbsCertificate, signatureAlgorithm, signatureValue");
	if (der_tbs_head(tbs.raw, tbs.raw_len, &serial, &algid, &rest) != 0)
		return err_set(err, ERR_INVALID, "the tbsCertificate does not "
		    "start with version, serialNumber and signature");
	if (der_get_tlv(&rest, &issuer) != 0 ||
	    issuer.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&rest, &validity) != 0 ||
	    validity.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&rest, &subject) != 0 ||
	    subject.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&rest, &spki) != 0 || spki.tag != DER_TAG_SEQUENCE)
		return err_set(err, ERR_INVALID, "the tbsCertificate lacks "
		    "issuer, validity, subject or subjectPublicKeyInfo");
	if (certalg_key(&spki, out->key, sizeof(out->key)) != 0) {
		out->key[0] = '\0';
		return err_set(err, ERR_INVALID, "the subjectPublicKeyInfo is "
		    "malformed (algorithm, parameters or key)");
	}
	if (certalg_algid(&sigalg, &oid, &params, &has_params) != 0) {
		out->key[0] = '\0';
		return err_set(err, ERR_INVALID, "the signatureAlgorithm is "
		    "malformed");
	}
	if ((name = certalg_lookup(certalg_sigs, sizeof(certalg_sigs) /
	    sizeof(certalg_sigs[0]), &oid)) != NULL)
		snprintf(out->sig, sizeof(out->sig), "%s", name);
	else if (certalg_oid(&oid, "", out->sig, sizeof(out->sig)) != 0) {
		out->key[0] = out->sig[0] = '\0';
		return err_set(err, ERR_INVALID, "the signatureAlgorithm OID "
		    "is malformed");
	}
	return 0;
}
