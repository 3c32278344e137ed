/*
 * manifest.h: the signed list of an export's files
 * (docs/formats/export.md, section "Manifest").
 *
 * MANIFEST holds one line per file, "SHA256  SIZE  NAME\n": 64 lower-case
 * hex digits, two spaces, the size in bytes in decimal, two spaces, the
 * file name. MANIFEST.p7s is a detached CMS SignedData (DER) over the
 * exact bytes of MANIFEST by the appliance export key, with the export
 * certificate included.
 */
#ifndef AIRLOCK_EXPORT_MANIFEST_H
#define AIRLOCK_EXPORT_MANIFEST_H

#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "export/package.h"
#include "util/buf.h"
#include "util/err.h"

#define EXPORT_MANIFEST_NAME "MANIFEST"
#define EXPORT_MANIFEST_SIG_NAME "MANIFEST.p7s"
#define EXPORT_MANIFEST_MAX (64u * 1024 * 1024)

/*
 * Appends the manifest text for files to out. 0, or ERR_INVALID when a
 * name could not appear on a line (newline, control), ERR_LIMIT/ERR_NOMEM.
 */
int export_manifest_text(const struct export_files *files, buf_t *out,
    err_t *err);

/* Appends one line: for a file written in parts (writer.h), whose digest
 * and size were taken as it was written. Errors as above. */
int export_manifest_entry(buf_t *out, const char *name,
    const char sha256_hex[65], uint64_t size, err_t *err);

/*
 * Signs text[0..len) with key (any EVP_PKEY, the HSM's through an extkey)
 * and its certificate cert, adding the certificates in extra (may be
 * NULL), and appends the DER SignedData to sig. The signature is verified
 * against cert before it is returned, so a faulty signer is caught here.
 * 0, or ERR_INVALID (key does not match cert), ERR_CRYPTO, ERR_LIMIT.
 */
int export_manifest_sign(const void *text, size_t len, EVP_PKEY *key,
    X509 *cert, STACK_OF(X509) *extra, buf_t *sig, err_t *err);

#endif
