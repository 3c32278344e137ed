/*
 * crl.h: writing an issued CRL to the medium's outbox/
 * (docs/formats/crl.md, section 3; docs/formats/export.md, section 1.3).
 *
 * export_crl reads CRL (ca_id, number) from the store, checks its
 * signature under the CA certificate (without decoding the CRL:
 * pki/sigcheck.h), and writes, through the one export path (export
 * writer and manifest: export_write_signed), the directory
 *
 *   outbox/crl-<ca>-<number>/     (".2", ".3" ... for a retry)
 *       <ca>-<number>.crl         DER, exactly as signed
 *       <ca>-<number>.pem         the same in PEM ("X509 CRL")
 *       <ca>-latest.crl           copies, when this is the CA's latest
 *       <ca>-latest.pem
 *       MANIFEST.p7s, MANIFEST    signed by the appliance export key
 *
 * where <ca> is export_crl_stem of the CA's name. The directory is
 * written under a hidden temporary name and renamed into place once
 * MANIFEST, the last file, is there (export/writer.h), so nothing
 * partial is ever under its final name. Then the CRL is recorded as
 * exported (queue_crl_exported). A crash between the two writes the CRL
 * again next time, into the next free directory name: the medium may
 * hold two complete, identical copies, never a partial one under a final
 * name.
 */
#ifndef AIRLOCK_EXPORT_CRL_H
#define AIRLOCK_EXPORT_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "export/package.h"
#include "export/writer.h"
#include "store/store.h"
#include "util/err.h"
#include "util/event.h"

struct export_crl_opts {
	struct store *st;
	int64_t ca_id;
	const char *ca_name;		/* the CA's name in the store */
	int64_t number;			/* the CRL to write */
	X509 *ca_cert;			/* its certificate: checks the CRL */
	const char *outbox_dir;		/* MEDIA/outbox; must exist */
	EVP_PKEY *export_key;		/* the appliance export key (HSM) */
	X509 *export_cert;
	STACK_OF(X509) *extra;		/* more certificates for the
					 * manifest signature; may be NULL */
	/* The file every export carries besides its own (the audit log
	 * since the last export), streamed; may be NULL. */
	const struct export_stream *audit;
	time_t now;
	/* Gets "crl-exported" inside the transaction that records the
	 * export; when it fails the export is not recorded and is written
	 * again later. NULL: no event. */
	event_fn event;
	void *event_ctx;
};

struct export_crl_result {
	char subdir[256];		/* under outbox/ */
	char manifest_sha256[65];
	size_t files;			/* MANIFEST and its signature included */
	int latest;			/* the latest copies were written */
};

/*
 * Longest stem: room is left for "crl-", "-<number>" and a retry suffix
 * in a directory name, and for "-latest.pem" in a file name, all within
 * EXPORT_NAME_MAX.
 */
#define EXPORT_CRL_STEM_MAX 96

/*
 * The file-name stem for a CA: its name under export_item_filename's
 * rules, cut to EXPORT_CRL_STEM_MAX bytes on a character boundary, or
 * "issuer" when those rules refuse it or it starts with MANIFEST in any
 * case (the batch export's "<ca-name>.crl" uses the same).
 */
void export_crl_stem(const char *ca_name, char *out, size_t outsz);

/*
 * Writes the CRL as above. 0 with *res (may be NULL) filled; ERR_NOTFOUND
 * when the store has no such CRL, ERR_INVALID when it does not verify
 * under ca_cert (tampered records), ERR_IO when the medium failed (retry
 * later: the CRL stays unexported), ERR_EXISTS when it was recorded as
 * exported meanwhile.
 */
int export_crl(const struct export_crl_opts *o, struct export_crl_result *res,
    err_t *err);

#endif
