/* pkiutil.c: certificate encodings and fingerprints (see pkiutil.h). */
#include "pki/pkiutil.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "util/fileio.h"

int
pki_cert_sha256_hex(X509 *cert, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (cert == NULL || !X509_digest(cert, EVP_sha256(), md, &len) ||
	    len != SHA256_DIGEST_LENGTH)
		return ERR_CRYPTO;
	buf_hex(md, len, out, 65);
	return 0;
}

int
pki_spki_sha256_hex(const EVP_PKEY *pub, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char *der = NULL;
	int len;

	out[0] = '\0';
	if (pub == NULL || (len = i2d_PUBKEY(pub, &der)) <= 0)
		return ERR_CRYPTO;
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	buf_hex(md, sizeof(md), out, 65);
	return 0;
}

static void
pki_time_str(const ASN1_TIME *t, char out[32])
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm) ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "(invalid)");
}

int
pki_cert_summary(X509 *cert, char *out, size_t outsz)
{
	char subj[512], nb[32], na[32], key[80], serial[2 * 21 + 1];
	const ASN1_INTEGER *sn;
	EVP_PKEY *pk;
	BIO *bio;
	int n;

	if (cert == NULL || out == NULL || outsz == 0)
		return ERR_INVALID;
	out[0] = '\0';
	/* RFC 2253 order and escaping, so the line is unambiguous. */
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return ERR_CRYPTO;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		BIO_free(bio);
		return ERR_CRYPTO;
	}
	n = BIO_read(bio, subj, sizeof(subj) - 1);
	BIO_free(bio);
	subj[n > 0 ? n : 0] = '\0';
	sn = X509_get0_serialNumber(cert);
	buf_hex(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn),
	    serial, sizeof(serial));
	pki_time_str(X509_get0_notBefore(cert), nb);
	pki_time_str(X509_get0_notAfter(cert), na);
	pk = X509_get0_pubkey(cert);
	if (pk == NULL)
		snprintf(key, sizeof(key), "unknown");
	else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		char group[64];
		size_t glen = 0;
		int nid;

		if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen))
			snprintf(group, sizeof(group), "unnamed");
		nid = OBJ_txt2nid(group);
		snprintf(key, sizeof(key), "EC-%s",
		    nid == NID_X9_62_prime256v1 ? "P-256" :
		    nid == NID_secp384r1 ? "P-384" :
		    nid == NID_secp521r1 ? "P-521" : group);
	} else {
		snprintf(key, sizeof(key), "%s-%d",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)),
		    EVP_PKEY_get_bits(pk));
	}
	n = snprintf(out, outsz, "subject=%s serial=%s notBefore=%s "
	    "notAfter=%s key=%s", subj, serial, nb, na, key);
	return n < 0 || (size_t)n >= outsz ? ERR_LIMIT : 0;
}

/* Appends what a PEM/DER writer put into a memory BIO. */
static int
pki_bio_to_buf(BIO *bio, int ok, const char *what, buf_t *out, err_t *err)
{
	char *p = NULL;
	long len;
	int rc;

	if (!ok) {
		BIO_free(bio);
		return err_set_ossl(err, ERR_CRYPTO, "cannot encode the %s",
		    what);
	}
	len = BIO_get_mem_data(bio, &p);
	rc = len > 0 ? buf_put(out, p, (size_t)len) : ERR_CRYPTO;
	BIO_free(bio);
	if (rc != 0)
		return err_set(err, rc, "the encoded %s (%ld bytes) does not "
		    "fit the output buffer", what, len);
	return 0;
}

static int
pki_mem_bio(const void *obj, BIO **bio, err_t *err)
{
	if (obj == NULL)
		return err_set(err, ERR_INVALID, "nothing to encode");
	if ((*bio = BIO_new(BIO_s_mem())) == NULL)
		return err_set_ossl(err, ERR_NOMEM,
		    "cannot allocate a memory BIO");
	return 0;
}

int
pki_cert_pem(X509 *cert, buf_t *out, err_t *err)
{
	BIO *bio = NULL;
	int rc = pki_mem_bio(cert, &bio, err);

	if (rc != 0)
		return rc;
	return pki_bio_to_buf(bio, PEM_write_bio_X509(bio, cert),
	    "certificate", out, err);
}

int
pki_cert_der(X509 *cert, buf_t *out, err_t *err)
{
	BIO *bio = NULL;
	int rc = pki_mem_bio(cert, &bio, err);

	if (rc != 0)
		return rc;
	return pki_bio_to_buf(bio, i2d_X509_bio(bio, cert), "certificate",
	    out, err);
}

int
pki_crl_pem(X509_CRL *crl, buf_t *out, err_t *err)
{
	BIO *bio = NULL;
	int rc = pki_mem_bio(crl, &bio, err);

	if (rc != 0)
		return rc;
	return pki_bio_to_buf(bio, PEM_write_bio_X509_CRL(bio, crl), "CRL",
	    out, err);
}

int
pki_crl_der(X509_CRL *crl, buf_t *out, err_t *err)
{
	BIO *bio = NULL;
	int rc = pki_mem_bio(crl, &bio, err);

	if (rc != 0)
		return rc;
	return pki_bio_to_buf(bio, i2d_X509_CRL_bio(bio, crl), "CRL", out,
	    err);
}

int
pki_pubkey_pem(const EVP_PKEY *pub, buf_t *out, err_t *err)
{
	BIO *bio = NULL;
	int rc = pki_mem_bio(pub, &bio, err);

	if (rc != 0)
		return rc;
	return pki_bio_to_buf(bio, PEM_write_bio_PUBKEY(bio, pub),
	    "public key", out, err);
}

int
pki_public_only(const EVP_PKEY *key, EVP_PKEY **pub, err_t *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	*pub = NULL;
	if (key == NULL || (len = i2d_PUBKEY(key, &der)) <= 0)
		return err_set_ossl(err, ERR_CRYPTO,
		    "cannot encode the public key");
	p = der;
	*pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	if (*pub == NULL)
		return err_set_ossl(err, ERR_CRYPTO,
		    "cannot decode the public key");
	return 0;
}

static int
pki_is_pem(const void *data, size_t len)
{
	static const char tag[] = "-----BEGIN ";

	return len >= sizeof(tag) - 1 && memcmp(data, tag, sizeof(tag) - 1) == 0;
}

int
pki_parse_cert(const void *data, size_t len, X509 **out, err_t *err)
{
	const unsigned char *p = data;
	X509 *x = NULL;

	*out = NULL;
	if (data == NULL || len == 0 || len > PKI_CERT_FILE_MAX)
		return err_set(err, ERR_INVALID,
		    "a certificate must be 1 to %u bytes", PKI_CERT_FILE_MAX);
	if (pki_is_pem(data, len)) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);

		if (bio != NULL)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p != (const unsigned char *)data + len) {
			X509_free(x);
			return err_set(err, ERR_INVALID,
			    "%zu bytes follow the DER certificate",
			    (size_t)((const unsigned char *)data + len - p));
		}
	}
	if (x == NULL)
		return err_set_ossl(err, ERR_INVALID,
		    "not a PEM or DER certificate");
	*out = x;
	return 0;
}

int
pki_parse_crl(const void *data, size_t len, X509_CRL **out, err_t *err)
{
	const unsigned char *p = data;
	X509_CRL *c = NULL;

	*out = NULL;
	if (data == NULL || len == 0 || len > PKI_CERT_FILE_MAX)
		return err_set(err, ERR_INVALID,
		    "a CRL must be 1 to %u bytes", PKI_CERT_FILE_MAX);
	if (pki_is_pem(data, len)) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);

		if (bio != NULL)
			c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		c = d2i_X509_CRL(NULL, &p, (long)len);
		if (c != NULL && p != (const unsigned char *)data + len) {
			X509_CRL_free(c);
			return err_set(err, ERR_INVALID,
			    "%zu bytes follow the DER CRL",
			    (size_t)((const unsigned char *)data + len - p));
		}
	}
	if (c == NULL)
		return err_set_ossl(err, ERR_INVALID, "not a PEM or DER CRL");
	*out = c;
	return 0;
}

int
pki_load_cert_file(const char *path, X509 **out, err_t *err)
{
	buf_t b;
	int rc;

	*out = NULL;
	buf_init(&b, PKI_CERT_FILE_MAX);
	rc = fileio_read(path, PKI_CERT_FILE_MAX, &b, err);
	if (rc == 0 && (rc = pki_parse_cert(b.data, b.len, out, err)) != 0)
		err_prefix(err, "%s", path);
	buf_free(&b);
	return rc;
}

int
pki_load_crl_file(const char *path, X509_CRL **out, err_t *err)
{
	buf_t b;
	int rc;

	*out = NULL;
	buf_init(&b, PKI_CERT_FILE_MAX);
	rc = fileio_read(path, PKI_CERT_FILE_MAX, &b, err);
	if (rc == 0 && (rc = pki_parse_crl(b.data, b.len, out, err)) != 0)
		err_prefix(err, "%s", path);
	buf_free(&b);
	return rc;
}
