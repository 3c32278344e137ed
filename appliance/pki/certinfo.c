/* certinfo.c: facts read out of certificates and CRLs (see certinfo.h). */
#include "pki/certinfo.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "pki/der.h"
#include "util/buf.h"

int
certinfo_subject_text(X509 *cert, char *out, size_t outsz)
{
	return certinfo_name_text(X509_get_subject_name(cert), out, outsz);
}

int
certinfo_name_text(const X509_NAME *name, char *out, size_t outsz)
{
	BIO *b;
	char *p = NULL;
	long len;
	int r = 0;

	/* Checked before allocating, so that refusing it leaks nothing. */
	if (outsz == 0)
		return ERR_LIMIT;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return ERR_NOMEM;
	if (X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		r = ERR_CRYPTO;
		goto out;
	}
	len = BIO_get_mem_data(b, &p);
	if (len < 0 || (size_t)len >= outsz) {
		r = ERR_LIMIT;
		goto out;
	}
	memcpy(out, p, (size_t)len);
	out[len] = '\0';
out:
	BIO_free(b);
	return r;
}

int
certinfo_serial_hex(X509 *cert, char *out, size_t outsz)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = NULL;
	const char *h;
	size_t i;
	int r = 0;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		r = ERR_CRYPTO;
		goto out;
	}
	/*
	 * BN_bn2hex writes whole octets ("0ABC" for 0xabc); drop the leading
	 * zero nibble so one serial has one spelling, as certinfo.h promises.
	 */
	for (h = hex; h[0] == '0' && h[1] != '\0'; h++)
		;
	if (strlen(h) >= outsz) {
		r = ERR_LIMIT;
		goto out;
	}
	for (i = 0; h[i] != '\0'; i++)
		out[i] = (char)(h[i] >= 'A' && h[i] <= 'F' ?
		    h[i] - 'A' + 'a' : h[i]);
	out[i] = '\0';
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}

int
certinfo_ski_hex(X509 *cert, char *out, size_t outsz)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);

	if (ski == NULL) {
		if (outsz > 0)
			out[0] = '\0';
		return ERR_NOTFOUND;
	}
	if ((size_t)ASN1_STRING_length(ski) * 2 + 1 > outsz)
		return ERR_LIMIT;
	buf_hex(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
	    out, outsz);
	return 0;
}

static int
asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return ERR_CRYPTO;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* A DER Time (UTCTime or GeneralizedTime) as seconds since the epoch. */
static int
der_time_epoch(const struct der_tlv *t, int64_t *out)
{
	const unsigned char *p = t->raw;
	ASN1_TIME *at;
	int r;

	if (t->tag != V_ASN1_UTCTIME && t->tag != V_ASN1_GENERALIZEDTIME)
		return ERR_INVALID;
	if ((at = d2i_ASN1_TIME(NULL, &p, (long)t->raw_len)) == NULL ||
	    p != t->raw + t->raw_len) {
		ASN1_TIME_free(at);
		ERR_clear_error();
		return ERR_INVALID;
	}
	r = asn1_time_epoch(at, out) != 0 ? ERR_INVALID : 0;
	ASN1_TIME_free(at);
	return r;
}

int
certinfo_tbs_facts(const unsigned char *tbs, size_t len, char *subject,
    size_t subjsz, int64_t *not_before, int64_t *not_after)
{
	struct der_tlv serial, algid, issuer, validity, nb, na, subj;
	const unsigned char *p;
	X509_NAME *name;
	buf_t rest, v;
	int r;

	if (der_tbs_head(tbs, len, &serial, &algid, &rest) != 0 ||
	    der_get_tlv(&rest, &issuer) != 0 ||
	    issuer.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&rest, &validity) != 0 ||
	    validity.tag != DER_TAG_SEQUENCE ||
	    der_get_tlv(&rest, &subj) != 0 || subj.tag != DER_TAG_SEQUENCE)
		return ERR_INVALID;
	buf_view(&v, validity.content, validity.content_len);
	if (der_get_tlv(&v, &nb) != 0 || der_get_tlv(&v, &na) != 0 ||
	    buf_avail(&v) != 0 || der_time_epoch(&nb, not_before) != 0 ||
	    der_time_epoch(&na, not_after) != 0)
		return ERR_INVALID;
	p = subj.raw;
	if ((name = d2i_X509_NAME(NULL, &p, (long)subj.raw_len)) == NULL ||
	    p != subj.raw + subj.raw_len) {
		X509_NAME_free(name);
		ERR_clear_error();
		return ERR_INVALID;
	}
	r = certinfo_name_text(name, subject, subjsz);
	X509_NAME_free(name);
	return r;
}

int
certinfo_validity(X509 *cert, int64_t *not_before, int64_t *not_after)
{
	if (asn1_time_epoch(X509_get0_notBefore(cert), not_before) != 0 ||
	    asn1_time_epoch(X509_get0_notAfter(cert), not_after) != 0)
		return ERR_CRYPTO;
	return 0;
}

int
certinfo_has_eku(X509 *cert, int nid)
{
	EXTENDED_KEY_USAGE *eku;
	int i, found = 0;

	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	if (eku == NULL)
		return 0;
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid)
			found = 1;
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

int
certinfo_crl(X509_CRL *crl, int64_t *number, int64_t *this_update,
    int64_t *next_update, err_t *err)
{
	ASN1_INTEGER *num;
	uint64_t v = 0;
	int ok;

	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	ok = num != NULL && ASN1_INTEGER_get_uint64(&v, num) == 1 &&
	    v <= INT64_MAX;
	ASN1_INTEGER_free(num);
	ERR_clear_error();
	if (!ok)
		return err_set(err, ERR_INVALID, "the CRL has no CRL number that "
		    "fits 63 bits");
	*number = (int64_t)v;
	if (asn1_time_epoch(X509_CRL_get0_lastUpdate(crl), this_update) != 0 ||
	    asn1_time_epoch(X509_CRL_get0_nextUpdate(crl), next_update) != 0)
		return err_set(err, ERR_INVALID, "the CRL lacks thisUpdate or "
		    "nextUpdate");
	return 0;
}
