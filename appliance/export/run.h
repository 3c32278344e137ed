/*
 * run.h: writing one export of an issued batch to the medium's outbox/.
 *
 * export_run reads the batch's lines from the store page by page, turns
 * them into export items (the certificate; the generated key, decrypted
 * with the batch's data key and the AAD of signer_key_aad), builds the
 * package of the batch's output format (export_package), adds the chain
 * files the chain option asks for, the issuer's current CRL when the store
 * has one (<ca-name>.crl, DER), the results log, signs the manifest with
 * the appliance's export key (export_manifest_sign), and writes everything
 * into outbox/<subdir> with export_write. subdir is
 * "batch-<id>-<name stem>-<number>" (export_item_filename's rules applied
 * to the batch name; "batch-<id>-<number>" when the name is unusable as a
 * file name).
 *
 * Secrets: the PKCS#12 password and the data key arrive opened by the
 * caller (they are sealed to the transport key in the store); every
 * decrypted device key is freed and wiped as soon as the package holds it,
 * and the package's secret files are wiped when freed.
 *
 * The export record: the caller passes an export in state approved;
 * export_run moves it to written (with subdir and the SHA-256 of
 * MANIFEST) only after MANIFEST, the last file, is on the medium. A
 * failure (medium missing, full, read-only, removed) leaves it approved
 * to be retried, with nothing under subdir (export/writer.h: the export
 * is renamed into place only once complete); the retry uses the same
 * name, or the next free one (suffix ".2", ".3", ...) when it is taken.
 */
#ifndef AIRLOCK_EXPORT_RUN_H
#define AIRLOCK_EXPORT_RUN_H

#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "export/package.h"
#include "export/writer.h"
#include "store/store.h"
#include "util/err.h"
#include "util/event.h"
#include "util/secret.h"

struct export_run_opts {
	struct store *st;
	int64_t export_id;		/* in state approved */
	const char *outbox_dir;		/* MEDIA/outbox; must exist */
	X509 *issuer;			/* the batch's CA certificate */
	X509 *root;			/* its root; NULL when issuer is a root */
	EVP_PKEY *export_key;		/* the appliance export key (HSM) */
	X509 *export_cert;
	const secret_t *data_key;	/* NULL when no key was generated */
	const secret_t *p12_password;	/* pkcs12 only */
	time_t now;
	/* The file every export carries besides its own (the audit log
	 * since the last export), streamed; may be NULL. */
	const struct export_stream *audit;
	event_fn event;			/* "export-written" / "export-failed" */
	void *event_ctx;
};

struct export_run_result {
	char subdir[256];		/* under outbox/ */
	char manifest_sha256[65];
	size_t files;			/* files written, MANIFEST included */
};

/*
 * Writes the export as above. 0 with *res filled (may be NULL); ERR_IO
 * when the medium failed (the export stays approved: retry), ERR_POLICY /
 * ERR_INVALID / ERR_CRYPTO when the batch cannot be exported as asked
 * (a bug or tampered records: the export stays approved and the error is
 * reported).
 */
int export_run(const struct export_run_opts *o, struct export_run_result *res,
    err_t *err);

#endif
