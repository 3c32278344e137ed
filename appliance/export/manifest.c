/* manifest.c: the signed list of an export's files (see manifest.h). */
#include "export/manifest.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
/* pem.h first: cms.h declares its PEM functions with pem.h macros. */
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "util/text.h"

int
export_manifest_entry(buf_t *out, const char *name, const char sha256_hex[65],
    uint64_t size, err_t *err)
{
	char n[24];

	/*
	 * A name that sha256sum would escape, or that could start a second
	 * line, would make the list ambiguous.
	 */
	if (!text_clean(name) || strchr(name, '\\') != NULL ||
	    strchr(name, '/') != NULL)
		return err_set(err, ERR_INVALID, "export file '%s' has a name "
		    "that cannot be listed", name);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)size);
	buf_put(out, sha256_hex, strlen(sha256_hex));
	buf_put(out, "  ", 2);
	buf_put(out, n, strlen(n));
	buf_put(out, "  ", 2);
	buf_put(out, name, strlen(name));
	buf_put_u8(out, '\n');
	if (!buf_ok(out))
		return err_set(err, ERR_LIMIT, "the manifest does not fit in "
		    "%zu bytes", out->max);
	return 0;
}

int
export_manifest_text(const struct export_files *files, buf_t *out,
    err_t *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	size_t i;

	for (i = 0; i < files->n; i++) {
		const struct export_file *f = &files->f[i];
		int rc;

		SHA256(f->data.data != NULL ? f->data.data :
		    (const unsigned char *)"", f->data.len, md);
		buf_hex(md, sizeof(md), hex, sizeof(hex));
		if ((rc = export_manifest_entry(out, f->name, hex,
		    (uint64_t)f->data.len, err)) != 0)
			return rc;
	}
	return 0;
}

int
export_manifest_sign(const void *text, size_t len, EVP_PKEY *key,
    X509 *cert, STACK_OF(X509) *extra, buf_t *sig, err_t *err)
{
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL, *again = NULL;
	unsigned char *p;
	int n, rc = 0;

	if (key == NULL || cert == NULL || text == NULL)
		return err_set(err, ERR_INVALID, "the export key, its "
		    "certificate or the manifest is missing");
	if (len > EXPORT_MANIFEST_MAX)
		return err_set(err, ERR_LIMIT, "the manifest is too large");
	/*
	 * X509_check_private_key compares the public halves only, so it
	 * works for a key whose private half is in the HSM.
	 */
	if (X509_check_private_key(cert, key) != 1)
		return err_set_ossl(err, ERR_INVALID, "the export key does not "
		    "match the export certificate");
	if ((in = BIO_new_mem_buf(text, (int)len)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	cms = CMS_sign(cert, key, extra, in, CMS_DETACHED | CMS_BINARY);
	if (cms == NULL) {
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot sign the manifest");
		goto out;
	}
	/*
	 * Verify what the signer returned before it leaves: a faulty HSM
	 * or a wrong key must not produce an export nobody can check.
	 */
	if ((again = BIO_new_mem_buf(text, (int)len)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, again, NULL, CMS_DETACHED |
	    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		rc = err_set_ossl(err, ERR_CRYPTO, "the manifest signature "
		    "does not verify");
		goto out;
	}
	if ((n = i2d_CMS_ContentInfo(cms, NULL)) <= 0)
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encode the "
		    "manifest signature");
	else if (buf_reserve(sig, (size_t)n, &p) != 0)
		rc = err_set(err, ERR_LIMIT, "the manifest signature does not "
		    "fit");
	else if (i2d_CMS_ContentInfo(cms, &p) != n)
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encode the "
		    "manifest signature");
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(again);
	return rc;
}
