/* lint.c: RFC 5280 and Airlock profile checks (see lint.h). */
#include "pki/lint.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

int
lint_crl(X509_CRL *crl, X509 *issuer, diag_t *out)
{
	struct lint_ctx c = { out, 0 };
	STACK_OF(X509_REVOKED) *rev;
	const ASN1_TIME *tu, *nu;
	ASN1_OCTET_STRING *iski;
	AUTHORITY_KEYID *aki;
	ASN1_BIT_STRING *iku;
	char h1[96], h2[96];
	int idx, p, cr, i;

	if (crl == NULL || issuer == NULL || out == NULL)
		return ERR_INVALID;
	if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2)
		lint_add(&c, "crl-version", "the CRL must be version 2");
	tu = X509_CRL_get0_lastUpdate(crl);
	nu = X509_CRL_get0_nextUpdate(crl);
	lint_time_encoding(&c, "thisUpdate", tu);
	if (nu == NULL)
		lint_add(&c, "crl-next-update", "nextUpdate is required");
	else
		lint_time_encoding(&c, "nextUpdate", nu);
	if (nu != NULL && ASN1_TIME_compare(tu, nu) >= 0) {
		char a[32], b[32];

		lint_add(&c, "crl-validity-order", "thisUpdate %s is not "
		    "before nextUpdate %s", lint_time_str(tu, a),
		    lint_time_str(nu, b));
	}
	idx = X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1);
	if (idx < 0)
		lint_add(&c, "crl-number", "the CRL number extension is "
		    "required");
	else if (X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, idx)))
		lint_add(&c, "crl-number", "the CRL number extension must "
		    "not be critical");
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &cr,
	    NULL);
	iski = lint_cert_ext(NULL, issuer, NID_subject_key_identifier, &p,
	    &cr);
	if (aki == NULL || aki->keyid == NULL)
		lint_add(&c, "crl-aki", "authorityKeyIdentifier with a "
		    "keyIdentifier is required");
	else if (!lint_os_equal(aki->keyid, iski))
		lint_add(&c, "crl-aki", "authorityKeyIdentifier %s does not "
		    "equal the issuer's subjectKeyIdentifier %s",
		    lint_hex(aki->keyid, h1, sizeof(h1)),
		    lint_hex(iski, h2, sizeof(h2)));
	AUTHORITY_KEYID_free(aki);
	ASN1_OCTET_STRING_free(iski);
	if (!lint_name_der_equal(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(issuer)))
		lint_add(&c, "crl-issuer-name", "the CRL issuer name is not "
		    "byte for byte the issuer certificate's subject");
	iku = lint_cert_ext(NULL, issuer, NID_key_usage, &p, &cr);
	if (iku == NULL || !ASN1_BIT_STRING_get_bit(iku, 6))
		lint_add(&c, "crl-issuer-ku", "the issuer certificate's "
		    "keyUsage lacks cRLSign");
	ASN1_BIT_STRING_free(iku);
	/*
	 * Walk the entries in encoded order; OpenSSL's lookup functions
	 * would sort the stack and hide the very disorder we look for.
	 */
	rev = X509_CRL_get_REVOKED(crl);
	for (i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		const X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);
		const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(r);
		int cmp;

		lint_time_encoding(&c, "revocationDate",
		    X509_REVOKED_get0_revocationDate(r));
		if (i == 0)
			continue;
		cmp = ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(rev, i - 1)), sn);
		if (cmp == 0)
			lint_add(&c, "crl-entry-duplicate", "entry %d repeats "
			    "the serial number of the entry before it", i + 1);
		else if (cmp > 0)
			lint_add(&c, "crl-entry-order", "entry %d has a lower "
			    "serial number than the entry before it", i + 1);
	}
	lint_sigalg(&c, X509_CRL_get_signature_nid(crl),
	    X509_get0_pubkey(issuer), 0);
	return c.n;
}
