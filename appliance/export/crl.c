/* crl.c: an issued CRL onto the medium (see crl.h). */
#include "export/crl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "audit/record.h"
#include "export/item.h"
#include "export/manifest.h"
#include "export/package.h"
#include "export/writer.h"
#include "pki/sigcheck.h"
#include "queue/crl.h"
#include "store/store.h"
#include "util/buf.h"

void
export_crl_stem(const char *ca_name, char *out, size_t outsz)
{
	char stem[EXPORT_NAME_MAX + 1];

	if (ca_name != NULL &&
	    export_item_filename(ca_name, stem, sizeof(stem), NULL) == 0 &&
	    strlen(stem) > EXPORT_CRL_STEM_MAX) {
		/* Cut on a character boundary; a name stays a name. */
		size_t n = EXPORT_CRL_STEM_MAX;

		while (n > 0 && ((unsigned char)stem[n] & 0xc0) == 0x80)
			n--;
		stem[n] = '\0';
		ca_name = stem;
	}
	if (ca_name == NULL ||
	    export_item_filename(ca_name, stem, sizeof(stem), NULL) != 0 ||
	    strncasecmp(stem, EXPORT_MANIFEST_NAME,
	    strlen(EXPORT_MANIFEST_NAME)) == 0 ||
	    (size_t)snprintf(out, outsz, "%s", stem) >= outsz)
		snprintf(out, outsz, "issuer");
}

/* PEM of DER bytes without decoding them (a CRL may be very large). */
static int
export_crl_pem(const buf_t *der, buf_t *pem, err_t *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int rc = 0;

	if (bio == NULL || PEM_write_bio(bio, PEM_STRING_X509_CRL, "",
	    der->data, (long)der->len) <= 0 || (n = BIO_get_mem_data(bio,
	    &p)) <= 0 || buf_put(pem, p, (size_t)n) != 0)
		rc = err_set_ossl(err, ERR_NOMEM, "cannot encode the CRL as "
		    "PEM");
	BIO_free(bio);
	return rc;
}

/* Adds <stem>-<tag>.crl and .pem. */
static int
export_crl_add(struct export_files *files, const char *stem, const char *tag,
    const buf_t *der, const buf_t *pem, err_t *err)
{
	char name[EXPORT_NAME_MAX + 64];
	int rc;

	snprintf(name, sizeof(name), "%s-%s.crl", stem, tag);
	if ((rc = export_files_add(files, name, der->data, der->len, 0,
	    err)) != 0)
		return rc;
	snprintf(name, sizeof(name), "%s-%s.pem", stem, tag);
	return export_files_add(files, name, pem->data, pem->len, 0, err);
}

static int
export_crl_event(const struct export_crl_opts *o,
    const struct export_crl_result *out, err_t *err)
{
	char objects[32 + AUDIT_VALUE_MAX], cav[AUDIT_VALUE_MAX];
	const char *ca = o->ca_name != NULL ? o->ca_name : "?";

	if (o->event == NULL)
		return 0;
	snprintf(objects, sizeof(objects), "ca=%s crl=%lld",
	    audit_objects_value(ca, cav, sizeof(cav)), (long long)o->number);
	if (event_emit(o->event, o->event_ctx, "crl-exported", EVENT_OK, NULL,
	    NULL, objects, "outbox/%s, %zu files%s, manifest sha256 %s",
	    out->subdir, out->files, out->latest ? " (with the latest "
	    "copies)" : "", out->manifest_sha256) != 0)
		return err_set(err, ERR_IO, "CRL %lld of CA %s written to "
		    "outbox/%s but not recorded: the audit log could not take "
		    "its record", (long long)o->number, ca, out->subdir);
	return 0;
}

int
export_crl(const struct export_crl_opts *o, struct export_crl_result *res,
    err_t *err)
{
	char stem[EXPORT_NAME_MAX + 1], tag[32], base[EXPORT_NAME_MAX + 64];
	struct export_crl_result out;
	struct queue_crl_info latest;
	struct export_files files;
	struct sigcheck *chk = NULL;
	buf_t der, pem;
	int rc;

	memset(&out, 0, sizeof(out));
	if (o == NULL || o->st == NULL || o->ca_cert == NULL ||
	    o->outbox_dir == NULL || o->export_key == NULL ||
	    o->export_cert == NULL)
		return err_set(err, ERR_INVALID, "export_crl needs the store, "
		    "the CA certificate, the outbox and the export key");
	export_files_init(&files);
	buf_init(&der, QUEUE_CRL_DER_MAX);
	buf_init(&pem, EXPORT_FILE_MAX);
	if ((rc = queue_crl_der(o->st, o->ca_id, o->number, &der, err)) != 0 ||
	    (rc = queue_crl_latest(o->st, o->ca_id, &latest, err)) != 0)
		goto out;
	/* A CRL the CA did not sign must not travel under its name. */
	if ((rc = sigcheck_new(X509_get0_pubkey(o->ca_cert), &chk,
	    err)) != 0 ||
	    (rc = sigcheck_der(chk, der.data, der.len, NULL, NULL, err)) != 0) {
		err_prefix(err, "the stored CRL %lld of CA %s is not signed by "
		    "it (tampered records?)", (long long)o->number,
		    o->ca_name != NULL ? o->ca_name : "?");
		rc = ERR_INVALID;
		goto out;
	}
	if ((rc = export_crl_pem(&der, &pem, err)) != 0)
		goto out;
	export_crl_stem(o->ca_name, stem, sizeof(stem));
	snprintf(tag, sizeof(tag), "%lld", (long long)o->number);
	if ((rc = export_crl_add(&files, stem, tag, &der, &pem, err)) != 0)
		goto out;
	/* "latest" must never name an older CRL than the CA's newest. */
	out.latest = latest.number == o->number;
	if (out.latest &&
	    (rc = export_crl_add(&files, stem, "latest", &der, &pem, err)) != 0)
		goto out;
	buf_free(&der);
	buf_free(&pem);
	snprintf(base, sizeof(base), "crl-%s-%lld", stem, (long long)o->number);
	if ((rc = export_write_signed_stream(o->outbox_dir, base, &files,
	    o->audit, o->export_key, o->export_cert, o->extra, out.subdir,
	    sizeof(out.subdir), out.manifest_sha256, err)) != 0)
		goto out;
	out.files = files.n + 2 + (o->audit != NULL);
	/* The record of the export and its audit record, together. */
	if ((rc = store_begin(o->st, err)) != 0)
		goto out;
	if ((rc = queue_crl_exported(o->st, o->ca_id, o->number, out.subdir,
	    (int64_t)o->now, err)) == 0)
		rc = export_crl_event(o, &out, err);
	rc = store_end(o->st, rc, err);
out:
	sigcheck_free(chk);
	export_files_free(&files);
	buf_free(&der);
	buf_free(&pem);
	ERR_clear_error();
	if (rc == 0 && res != NULL)
		*res = out;
	return rc;
}
