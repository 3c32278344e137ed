/*
 * run.c: writes one export of an issued batch to the medium (see run.h,
 * docs/formats/export.md section 1).
 *
 * The order is chosen so that nothing reaches the medium unless all of
 * it can: the records are read and checked (export approved, batch
 * finished, the caller's issuer is the batch's CA, every issued line's
 * certificate is the one recorded and was signed by that CA, every
 * stored key decrypts under its own batch and line), the whole package
 * is built and the manifest signed in memory, and only then is the first
 * byte written. A record that fails a check is a bug or tampering, so it
 * stops the export with ERR_INVALID rather than leaving a line out.
 */
#include "export/run.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "export/item.h"
#include "export/manifest.h"
#include "export/package.h"
#include "export/results.h"
#include "export/crl.h"
#include "export/writer.h"
#include "pki/pkiutil.h"
#include "pki/sigcheck.h"
#include "pki/vault.h"
#include "queue/queue.h"
#include "signer/signer.h"
#include "store/stmt.h"
#include "util/buf.h"
#include "util/fileio.h"

/* Lines read from the store per queue_lines call. */
#define RUN_PAGE 1000

/* What export_run holds while it builds; freed by run_free. */
struct run {
	const struct export_run_opts *o;
	struct queue_export exp;
	struct queue_batch batch;
	X509 *recipient;		/* smpb only */
	X509 *people_ca;		/* issuer of the export certificate */
	char *ca_name;
	unsigned char *crl_der;		/* the CA's latest CRL, or NULL */
	size_t crl_len;
	struct export_item *items;
	char **owned;			/* 2 per item: name, message */
	size_t n;
	int64_t next_line;		/* the line the next row must carry */
	EVP_PKEY *issuer_pub;		/* borrowed from o->issuer */
	err_t *err;
};

static void
run_free_keys(struct run *r)
{
	size_t i;

	/* EVP_PKEY_free clears the private numbers as it frees them. */
	for (i = 0; r->items != NULL && i < r->n; i++) {
		EVP_PKEY_free(r->items[i].key);
		r->items[i].key = NULL;
	}
}

static void
run_free(struct run *r)
{
	size_t i;

	run_free_keys(r);
	for (i = 0; r->items != NULL && i < r->n; i++)
		X509_free(r->items[i].cert);
	for (i = 0; r->owned != NULL && i < 2 * r->n; i++)
		free(r->owned[i]);
	free(r->items);
	free(r->owned);
	X509_free(r->recipient);
	X509_free(r->people_ca);
	free(r->ca_name);
	free(r->crl_der);
	queue_batch_free(&r->batch);
	queue_export_free(&r->exp);
}

/* --- records ------------------------------------------------------------- */

/*
 * The batch's CA name and, when the store has one, its latest CRL (by
 * number), after checking that the caller's issuer is the CA the batch
 * names and that the CRL is that CA's.
 */
static int
run_ca(struct run *r, err_t *err)
{
	struct store *st = r->o->st;
	sqlite3_stmt *s = NULL;
	const unsigned char *der;
	const char *name;
	X509 *db = NULL;
	struct sigcheck *chk = NULL;
	int rc = SQLITE_OK, ret;

	if ((ret = store_prepare(st, "SELECT name, cert_der FROM ca WHERE "
	    "id = ?", &s, err)) != 0)
		return ret;
	store_bind_int(s, 1, r->batch.ca_id, &rc);
	if (rc != SQLITE_OK) {
		ret = store_sqlerr(st, ERR_INTERNAL, "read the batch's CA", err);
		goto out;
	}
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? err_set(err, ERR_INVALID, "batch "
		    "#%lld names CA #%lld, which the store does not hold",
		    (long long)r->batch.id, (long long)r->batch.ca_id) :
		    store_sqlerr(st, ERR_IO, "read the batch's CA", err);
		goto out;
	}
	name = (const char *)sqlite3_column_text(s, 0);
	der = sqlite3_column_blob(s, 1);
	if (name == NULL || der == NULL ||
	    (r->ca_name = strdup(name)) == NULL) {
		ret = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((ret = pki_parse_cert(der, (size_t)sqlite3_column_bytes(s, 1), &db,
	    err)) != 0) {
		err_prefix(err, "CA '%s'", r->ca_name);
		goto out;
	}
	if (X509_cmp(db, r->o->issuer) != 0) {
		ret = err_set(err, ERR_INVALID, "the issuer certificate given "
		    "is not the certificate of CA '%s', which issued batch "
		    "#%lld", r->ca_name, (long long)r->batch.id);
		goto out;
	}
	sqlite3_finalize(s);
	if ((ret = store_prepare(st, "SELECT der FROM crl WHERE ca_id = ? "
	    "ORDER BY number DESC LIMIT 1", &s, err)) != 0)
		goto out;
	rc = SQLITE_OK;
	store_bind_int(s, 1, r->batch.ca_id, &rc);
	if (rc != SQLITE_OK) {
		ret = store_sqlerr(st, ERR_INTERNAL, "read the CRL", err);
		goto out;
	}
	if ((rc = sqlite3_step(s)) == SQLITE_DONE)
		goto out;
	if (rc != SQLITE_ROW) {
		ret = store_sqlerr(st, ERR_IO, "read the CRL", err);
		goto out;
	}
	der = sqlite3_column_blob(s, 0);
	r->crl_len = (size_t)sqlite3_column_bytes(s, 0);
	if (der == NULL || (r->crl_der = malloc(r->crl_len)) == NULL) {
		ret = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(r->crl_der, der, r->crl_len);
	/*
	 * A CRL the CA did not sign must not travel under its name. Checked
	 * without decoding it: a CRL of a million entries is tens of MiB,
	 * past what pki_parse_crl takes, and d2i would cost far more.
	 */
	if (sigcheck_new(r->issuer_pub, &chk, err) != 0 ||
	    sigcheck_der(chk, r->crl_der, r->crl_len, NULL, NULL, err) != 0) {
		ret = err_set(err, ERR_INVALID, "the stored CRL of CA '%s' is "
		    "not a CRL signed by it (tampered records?)", r->ca_name);
		goto out;
	}
out:
	sqlite3_finalize(s);
	X509_free(db);
	sigcheck_free(chk);
	return ret;
}

/* Finds the CA certificate that issued the export certificate. */
static int
run_people_cb(void *ctx, const struct store_ca *ca)
{
	struct run *r = ctx;
	X509 *x = NULL;
	EVP_PKEY *pub;

	if (r->people_ca != NULL ||
	    pki_parse_cert(ca->cert_der, ca->cert_der_len, &x, NULL) != 0)
		return 0;
	pub = X509_get0_pubkey(x);
	if (X509_check_issued(x, r->o->export_cert) == X509_V_OK &&
	    pub != NULL && X509_verify(r->o->export_cert, pub) == 1) {
		r->people_ca = x;
		return 0;
	}
	X509_free(x);
	return 0;
}

/* --- lines --------------------------------------------------------------- */

/* Decrypts a line's stored key (PKCS#8 DER) with the batch's data key. */
static int
run_key(struct run *r, const struct queue_line *l, EVP_PKEY **out,
    err_t *err)
{
	PKCS8_PRIV_KEY_INFO *p8;
	const unsigned char *p;
	char aad[64];
	size_t aadlen;
	buf_t pk;
	int ret;

	*out = NULL;
	if (r->o->data_key == NULL)
		return err_set(err, ERR_INVALID, "line %lld holds a key the "
		    "appliance generated, and no data key was given to open "
		    "it", (long long)l->line);
	if ((aadlen = signer_key_aad(r->batch.id, l->line, aad,
	    sizeof(aad))) == 0)
		return err_set(err, ERR_INTERNAL, "line %lld: the key's "
		    "associated data does not fit", (long long)l->line);
	buf_init(&pk, VAULT_DATA_MAX);
	buf_set_secret(&pk);
	/* The AAD binds the blob to this batch and line: a moved or altered
	 * blob fails here rather than handing out another device's key. */
	if ((ret = vault_decrypt(r->o->data_key, aad, aadlen, l->key_enc,
	    l->key_enc_len, &pk, err)) != 0) {
		buf_free(&pk);
		err_prefix(err, "line %lld: the stored key does not open with "
		    "the batch's data key (tampered records?)",
		    (long long)l->line);
		return ret;
	}
	p = pk.data;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)pk.len);
	if (p8 != NULL && p == pk.data + pk.len)
		*out = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	buf_free(&pk);
	if (*out == NULL)
		return err_set_ossl(err, ERR_INVALID, "line %lld: the stored "
		    "key is not a PKCS#8 private key", (long long)l->line);
	return 0;
}

/* The certificate of an issued line, checked against its records. */
static int
run_cert(struct run *r, const struct queue_line *l, X509 **out, err_t *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	const unsigned char *p = l->cert_der;
	X509 *x;

	*out = NULL;
	if (l->cert_der == NULL || l->cert_der_len == 0 || l->sha256 == NULL)
		return err_set(err, ERR_INVALID, "line %lld is issued but has "
		    "no certificate", (long long)l->line);
	SHA256(l->cert_der, l->cert_der_len, md);
	buf_hex(md, sizeof(md), hex, sizeof(hex));
	if (strcmp(hex, l->sha256) != 0)
		return err_set(err, ERR_INVALID, "line %lld: the certificate "
		    "is not the one recorded (SHA-256 %s, recorded %s; "
		    "tampered records?)", (long long)l->line, hex, l->sha256);
	x = d2i_X509(NULL, &p, (long)l->cert_der_len);
	if (x == NULL || p != l->cert_der + l->cert_der_len) {
		X509_free(x);
		return err_set_ossl(err, ERR_INVALID, "line %lld: the recorded "
		    "certificate is not DER", (long long)l->line);
	}
	if (X509_verify(x, r->issuer_pub) != 1) {
		X509_free(x);
		return err_set_ossl(err, ERR_INVALID, "line %lld: the "
		    "certificate was not signed by the batch's CA",
		    (long long)l->line);
	}
	*out = x;
	return 0;
}

static int
run_strdup(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = strdup(s)) == NULL ? ERR_NOMEM : 0;
}

/* Turns one line into an item; runs inside queue_lines (no writes). */
static int
run_line(void *ctx, const struct queue_line *l)
{
	struct run *r = ctx;
	struct export_item *it;
	char **own;
	int ret;

	if (l->line != r->next_line || r->n >= (size_t)r->batch.line_count)
		return err_set(r->err, ERR_INVALID, "batch #%lld: line %lld "
		    "where line %lld was expected", (long long)r->batch.id,
		    (long long)l->line, (long long)r->next_line);
	it = &r->items[r->n];
	own = &r->owned[2 * r->n];
	memset(it, 0, sizeof(*it));
	it->line = (unsigned long)l->line;
	/* Counted now so that run_free releases whatever is filled below. */
	r->n++;
	r->next_line++;
	if (run_strdup(l->name, &own[0]) != 0)
		return err_set(r->err, ERR_NOMEM, "out of memory");
	it->name = own[0];
	switch (l->status) {
	case QUEUE_LINE_ISSUED:
		it->issued = 1;
		if ((ret = run_cert(r, l, &it->cert, r->err)) != 0)
			return ret;
		if (l->key_enc != NULL &&
		    (ret = run_key(r, l, &it->key, r->err)) != 0)
			return ret;
		/* The profile's overrides show in the results log. */
		if (run_strdup(l->note, &own[1]) != 0)
			return err_set(r->err, ERR_NOMEM, "out of memory");
		break;
	case QUEUE_LINE_FAILED:
		if (run_strdup(l->message, &own[1]) != 0)
			return err_set(r->err, ERR_NOMEM, "out of memory");
		break;
	default:
		return err_set(r->err, ERR_INVALID, "batch #%lld line %lld is "
		    "%s: a finished batch has only issued and failed lines",
		    (long long)r->batch.id, (long long)l->line,
		    queue_line_status_name(l->status));
	}
	it->message = own[1];
	return 0;
}

/*
 * Every line of the batch as items, a page at a time. All of them stay in
 * memory because export_package takes them at once.
 */
static int
run_lines(struct run *r, err_t *err)
{
	size_t total = (size_t)r->batch.line_count, before;

	if (r->batch.line_count < 1 || r->batch.line_count > QUEUE_MAX_LINES)
		return err_set(err, ERR_INVALID, "batch #%lld has %lld lines",
		    (long long)r->batch.id, (long long)r->batch.line_count);
	if ((r->items = calloc(total, sizeof(*r->items))) == NULL ||
	    (r->owned = calloc(2 * total, sizeof(*r->owned))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory for %zu lines",
		    total);
	r->next_line = 1;
	r->err = err;
	do {
		int ret;

		before = r->n;
		if ((ret = queue_lines(r->o->st, r->batch.id, r->next_line,
		    RUN_PAGE, run_line, r, err)) != 0)
			return ret;
	} while (r->n - before == RUN_PAGE);
	if (r->n != total)
		return err_set(err, ERR_INVALID, "batch #%lld has %zu of its "
		    "%zu lines", (long long)r->batch.id, r->n, total);
	return 0;
}

/* --- the outbox ---------------------------------------------------------- */

/* The medium is checked first so a missing one costs no decryption. */
static int
run_outbox(const char *dir, err_t *err)
{
	struct stat sb;

	if (stat(dir, &sb) != 0)
		return err_set(err, ERR_IO, "the outbox %s is not there (%s): "
		    "is the medium inserted?", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return err_set(err, ERR_IO, "the outbox %s is not a directory",
		    dir);
	if (access(dir, W_OK | X_OK) != 0)
		return err_set(err, ERR_IO, "the outbox %s cannot be written "
		    "(%s): is the medium read-only?", dir, strerror(errno));
	return 0;
}

/*
 * "batch-<id>-<stem>-<number>", the stem being the batch name under
 * export_item_filename's rules, cut (on a character boundary) so that a
 * retry suffix still fits in EXPORT_NAME_MAX; "batch-<id>-<number>" when
 * the name gives no usable stem.
 */
static void
run_subdir_base(const struct run *r, char *out, size_t outsz)
{
	char stem[EXPORT_NAME_MAX + 1], head[32], tail[32];
	size_t budget;

	snprintf(head, sizeof(head), "batch-%lld-", (long long)r->batch.id);
	snprintf(tail, sizeof(tail), "-%lld", (long long)r->exp.number);
	budget = EXPORT_NAME_MAX - EXPORT_SUFFIX_ROOM - strlen(head) -
	    strlen(tail);
	if (export_item_filename(r->batch.name, stem, sizeof(stem),
	    NULL) == 0) {
		char check[EXPORT_NAME_MAX + 1];

		if (strlen(stem) > budget) {
			while (budget > 0 &&
			    ((unsigned char)stem[budget] & 0xc0) == 0x80)
				budget--;
			stem[budget] = '\0';
		}
		if (stem[0] != '\0' && (size_t)snprintf(out, outsz, "%s%s%s",
		    head, stem, tail) < outsz &&
		    export_item_filename(out, check, sizeof(check),
		    NULL) == 0 && strcmp(check, out) == 0)
			return;
	}
	snprintf(out, outsz, "batch-%lld-%lld", (long long)r->batch.id,
	    (long long)r->exp.number);
}

/* --- the export ---------------------------------------------------------- */

/* "<ca-name>.crl" (export_crl_stem: "issuer.crl" for an unusable name). */
static void
run_crl_name(const struct run *r, char *out, size_t outsz)
{
	char stem[EXPORT_NAME_MAX + 1];

	export_crl_stem(r->ca_name, stem, sizeof(stem));
	snprintf(out, outsz, "%s.crl", stem);
}

static int
run_opts(struct run *r, struct export_opts *eo, err_t *err)
{
	const struct queue_batch *b = &r->batch;

	memset(eo, 0, sizeof(*eo));
	if (export_format_parse(b->output_format, &eo->format) != 0 ||
	    export_chain_parse(b->chain, &eo->chain) != 0 ||
	    export_log_parse(b->results_log, &eo->log) != 0)
		return err_set(err, ERR_INVALID, "batch #%lld asks for a "
		    "format, chain or results log this Airlock cannot write",
		    (long long)b->id);
	if (eo->format == EXPORT_FMT_PKCS12 &&
	    export_p12_profile_parse(b->p12_encryption, &eo->p12_profile) != 0)
		return err_set(err, ERR_INVALID, "batch #%lld: unknown PKCS#12 "
		    "encryption '%s'", (long long)b->id,
		    b->p12_encryption ? b->p12_encryption : "(none)");
	if (eo->format == EXPORT_FMT_SMPB) {
		int ret;

		if ((ret = pki_parse_cert(b->recipient_der,
		    b->recipient_der_len, &r->recipient, err)) != 0) {
			err_prefix(err, "batch #%lld: the SMPB recipient",
			    (long long)b->id);
			return ret;
		}
		eo->recipient = r->recipient;
	}
	eo->batch_name = b->name;
	eo->profile = b->profile;
	eo->created = r->o->now;
	eo->issuer = r->o->issuer;
	eo->root = r->o->root;
	eo->p12_password = r->o->p12_password;
	return 0;
}

/* Builds, signs and writes; fills res. The records were read already. */
static int
run_build(struct run *r, struct export_run_result *res, err_t *err)
{
	const struct export_run_opts *o = r->o;
	struct export_files files;
	struct export_opts eo;
	STACK_OF(X509) *extra = NULL;
	char crl_name[EXPORT_NAME_MAX + 8], base[EXPORT_NAME_MAX + 1];
	int ret;

	export_files_init(&files);
	if ((ret = run_opts(r, &eo, err)) != 0)
		goto out;
	ret = export_package(&eo, r->items, r->n, &files, err);
	/* The package holds what it needs of the keys: drop them now. */
	run_free_keys(r);
	if (ret != 0)
		goto out;
	if (r->crl_der != NULL) {
		run_crl_name(r, crl_name, sizeof(crl_name));
		if ((ret = export_files_add(&files, crl_name, r->crl_der,
		    r->crl_len, 0, err)) != 0)
			goto out;
	}
	if ((ret = store_ca_list(o->st, run_people_cb, r, err)) != 0)
		goto out;
	if (r->people_ca != NULL && ((extra = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(extra, r->people_ca))) {
		ret = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	run_subdir_base(r, base, sizeof(base));
	if ((ret = export_write_signed_stream(o->outbox_dir, base, &files,
	    o->audit, o->export_key, o->export_cert, extra, res->subdir,
	    sizeof(res->subdir), res->manifest_sha256, err)) != 0)
		goto out;
	res->files = files.n + 2 + (o->audit != NULL);
out:
	sk_X509_free(extra);
	export_files_free(&files);
	return ret;
}

/* Reads and checks the records; the heavy work comes after. */
static int
run_prepare(struct run *r, err_t *err)
{
	const struct export_run_opts *o = r->o;
	int ret;

	if ((ret = queue_export_get(o->st, o->export_id, &r->exp, err)) != 0)
		return ret;
	if (r->exp.state != QUEUE_EXPORT_APPROVED)
		return err_set(err, ERR_INVALID, "export #%lld is '%s': only "
		    "an approved export is written", (long long)r->exp.id,
		    queue_export_state_name(r->exp.state));
	if ((ret = queue_batch_get(o->st, r->exp.batch_id, &r->batch,
	    err)) != 0)
		return ret;
	if (r->batch.state != QUEUE_COMPLETED &&
	    r->batch.state != QUEUE_PARTIALLY_COMPLETED)
		return err_set(err, ERR_INVALID, "batch #%lld is '%s': there "
		    "is nothing to export", (long long)r->batch.id,
		    queue_state_name(r->batch.state));
	if ((ret = run_outbox(o->outbox_dir, err)) != 0)
		return ret;
	if ((ret = run_ca(r, err)) != 0)
		return ret;
	return run_lines(r, err);
}

/* The export's objects in the audit log (docs/formats/audit.md). */
static void
run_object(const struct export_run_opts *o, const struct run *r, char *out,
    size_t outsz)
{
	if (r->exp.number > 0)
		snprintf(out, outsz, "export=%lld batch=%lld number=%lld",
		    (long long)o->export_id, (long long)r->exp.batch_id,
		    (long long)r->exp.number);
	else
		snprintf(out, outsz, "export=%lld", (long long)o->export_id);
}

int
export_run(const struct export_run_opts *o, struct export_run_result *res,
    err_t *err)
{
	struct export_run_result local;
	struct run r;
	char object[96];
	int ret;

	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if (o == NULL || o->st == NULL || o->outbox_dir == NULL ||
	    o->issuer == NULL || o->export_key == NULL ||
	    o->export_cert == NULL)
		return err_set(err, ERR_INVALID, "export_run: the store, "
		    "outbox, issuer or export key is missing");
	r.o = o;
	if ((r.issuer_pub = X509_get0_pubkey(o->issuer)) == NULL) {
		ret = err_set_ossl(err, ERR_INVALID, "the issuer certificate "
		    "has no usable public key");
		goto out;
	}
	if ((ret = run_prepare(&r, err)) == 0 &&
	    (ret = run_build(&r, res, err)) == 0) {
		/*
		 * MANIFEST is on the medium; recording it is the last step. If
		 * the store fails here the export stays approved and a retry
		 * writes a second, equal copy under the next subdir name.
		 */
		run_object(o, &r, object, sizeof(object));
		if ((ret = store_begin(o->st, err)) != 0)
			goto out;
		if ((ret = queue_export_transition(o->st, r.exp.id,
		    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_WRITTEN, res->subdir,
		    res->manifest_sha256, (int64_t)o->now, err)) == 0 &&
		    event_emit(o->event, o->event_ctx, "export-written",
		    EVENT_OK, NULL, NULL, object, "subdir %s, manifest sha256 "
		    "%s, %zu files", res->subdir, res->manifest_sha256,
		    res->files) != 0)
			ret = err_set(err, ERR_IO, "the audit log could not "
			    "take the export's record");
		ret = store_end(o->st, ret, err);
		if (ret != 0)
			err_prefix(err, "written to %s but not recorded",
			    res->subdir);
	}
out:
	run_object(o, &r, object, sizeof(object));
	if (ret != 0)
		event_emit(o->event, o->event_ctx, "export-failed",
		    EVENT_FAILED, NULL, NULL, object, "%s", err != NULL ?
		    err->msg : err_code_name(ret));
	run_free(&r);
	if (ret != 0) {
		res->files = 0;
		OPENSSL_cleanse(res->manifest_sha256,
		    sizeof(res->manifest_sha256));
	}
	return ret;
}
