/* crl.c: a CA's CRL, built, signed in the HSM, recorded (see crl.h). */
#include "signer/crl.h"

#include <string.h>
#include <openssl/err.h>
#include <openssl/sha.h>

#include "audit/record.h"
#include "pki/crlder.h"
#include "pki/lint.h"
#include "pki/pkisign.h"
#include "pki/sigcheck.h"
#include "queue/crl.h"
#include "signer/line.h"
#include "store/store.h"
#include "util/buf.h"

/* Feeds the store's rows to the encoder. */
struct signer_crl_feed {
	struct crlder *enc;
	const char *ca;
	err_t *err;
};

static int
signer_crl_entry(void *ctx, const struct queue_crl_entry *e)
{
	struct signer_crl_feed *f = ctx;
	unsigned char serial[CRLDER_SERIAL_MAX];
	enum crlder_reason reason;
	time_t inv = (time_t)e->invalidity_date;
	size_t len;

	if (crlder_serial_hex(e->serial, serial, &len) != 0)
		return err_set(f->err, ERR_INVALID, "CA %s: the revoked "
		    "certificate's serial '%s' cannot be a CRL entry (1 to %d "
		    "octets of hex)", f->ca, e->serial, CRLDER_SERIAL_MAX);
	if (crlder_reason_parse(e->reason, &reason) != 0)
		return err_set(f->err, ERR_INVALID, "CA %s: certificate %s "
		    "has reason '%s', which a CRL cannot carry", f->ca,
		    e->serial, e->reason);
	return crlder_add(f->enc, serial, len, (time_t)e->revoked_at, reason,
	    e->has_invalidity_date ? &inv : NULL, f->err);
}

/* Checks what must hold before a number is spent. */
static int
signer_crl_check(const struct signer_crl_opts *o, int *key_type, err_t *err)
{
	const EVP_PKEY *pub;

	if (o == NULL || o->st == NULL || o->ca_cert == NULL ||
	    o->ca_key == NULL || o->policy == NULL || o->ca_id <= 0)
		return err_set(err, ERR_INVALID, "signer_crl_issue needs the "
		    "store, the CA (id, certificate, key) and its CRL policy");
	if (o->policy->validity <= 0 || o->now + o->policy->validity <= o->now)
		return err_set(err, ERR_INVALID, "CA %s: the CRL policy gives "
		    "no validity", o->ca_name != NULL ? o->ca_name : "?");
	pub = hsm_key_public(o->ca_key);
	if (pub == NULL || EVP_PKEY_eq(pub, X509_get0_pubkey(o->ca_cert)) != 1)
		return err_set(err, ERR_INVALID, "CA %s: the HSM key is not the "
		    "key of the CA certificate", o->ca_name != NULL ?
		    o->ca_name : "?");
	*key_type = EVP_PKEY_get_base_id(pub);
	if (*key_type != EVP_PKEY_RSA && *key_type != EVP_PKEY_EC)
		return err_set(err, ERR_INVALID, "CA %s: only RSA and EC keys "
		    "sign CRLs", o->ca_name != NULL ? o->ca_name : "?");
	return 0;
}

/*
 * Lints the very bytes the HSM is to sign (pki/lint.h): a CRL that fails
 * is not signed, and err names the check.
 */
static int
signer_crl_lint(const struct signer_crl_opts *o, const EVP_MD *md,
    const char *idp_uri, const buf_t *tbs, int64_t number, err_t *err)
{
	struct lint_crl_want w;
	diag_t d;
	int n, r = 0;

	memset(&w, 0, sizeof(w));
	w.issuer = o->ca_cert;
	w.key = hsm_key_public(o->ca_key);
	w.md = md;
	w.idp_uri = idp_uri;
	diag_init(&d);
	n = lint_crl_tbs(tbs->data, tbs->len, &w, &d);
	if (n < 0)
		r = err_set(err, ERR_INTERNAL, "the CRL lint failed to run");
	else if (n > 0)
		r = diag_to_err(&d, err, ERR_POLICY);
	if (r != 0 && number > 0)
		err_prefix(err, "CA %s: CRL number %lld refused before signing",
		    o->ca_name != NULL ? o->ca_name : "?", (long long)number);
	else if (r != 0)
		err_prefix(err, "CA %s: CRL refused before signing (no number "
		    "taken)", o->ca_name != NULL ? o->ca_name : "?");
	diag_free(&d);
	return r;
}

/*
 * The checks that do not depend on the entries (the CA certificate, its
 * key and digest, the policy's issuing distribution point), run on the
 * same CRL without entries before a number is taken: a CA that cannot
 * pass them must not use up a number at every attempt.
 */
static int
signer_crl_preflight(const struct signer_crl_opts *o,
    const struct crlder_opts *co, const EVP_MD *md, err_t *err)
{
	struct crlder_opts po = *co;
	struct crlder *enc = NULL;
	buf_t tbs;
	int r;

	po.number = 1;	/* any: the real one is not taken yet */
	buf_init(&tbs, CRLDER_TBS_MAX);
	if ((r = crlder_begin(&po, &enc, err)) == 0 &&
	    (r = crlder_finish(enc, &tbs, err)) == 0)
		r = signer_crl_lint(o, md, po.idp_uri, &tbs, 0, err);
	crlder_free(enc);
	buf_free(&tbs);
	return r;
}

static int
signer_crl_event(const struct signer_crl_opts *o,
    const struct signer_crl_result *res, err_t *err)
{
	char objects[64 + AUDIT_VALUE_MAX], cav[AUDIT_VALUE_MAX];
	const char *ca = o->ca_name != NULL ? o->ca_name : "?";

	if (o->event == NULL)
		return 0;
	snprintf(objects, sizeof(objects), "crl-request=%lld ca=%s crl=%lld",
	    (long long)o->request_id, audit_objects_value(ca, cav,
	    sizeof(cav)), (long long)res->number);
	if (event_emit(o->event, o->event_ctx, "crl-issued", EVENT_OK, NULL,
	    NULL, objects, "CA %s: CRL number %lld, %zu entr%s, next update "
	    "in %lld days, sha256 %s", ca, (long long)res->number,
	    res->entries, res->entries == 1 ? "y" : "ies",
	    (long long)((res->next_update - res->this_update) / 86400),
	    res->sha256) != 0)
		return err_set(err, ERR_IO, "CA %s: CRL %lld is not recorded: "
		    "the audit log could not take its record", ca,
		    (long long)res->number);
	return 0;
}

int
signer_crl_issue(const struct signer_crl_opts *o,
    struct signer_crl_result *out, err_t *err)
{
	unsigned char algid[64], sig[SIGNER_SIG_MAX + 16];
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct signer_crl_result res;
	struct signer_crl_feed feed;
	struct crlder_opts co;
	struct crlder *enc = NULL;
	struct sigcheck *chk = NULL;
	const EVP_MD *dg;
	size_t siglen = 0;
	buf_t tbs, crl;
	int key_type = 0, r;
	int64_t number = 0;

	memset(&res, 0, sizeof(res));
	if ((r = signer_crl_check(o, &key_type, err)) != 0)
		return r;
	dg = o->md != NULL ? o->md : EVP_sha256();
	memset(&co, 0, sizeof(co));
	co.issuer = o->ca_cert;
	co.this_update = o->now;
	co.next_update = o->now + (time_t)o->policy->validity;
	co.idp_uri = o->policy->idp ? o->policy->distribution_point : NULL;
	co.algid = algid;
	if ((r = crlder_algid(X509_get0_pubkey(o->ca_cert), dg, algid,
	    sizeof(algid), &co.algid_len, err)) != 0 ||
	    (r = signer_crl_preflight(o, &co, dg, err)) != 0)
		return r;
	/* 1. The number, committed before anything is built or signed. */
	if ((r = queue_crl_take_number(o->st, o->request_id, o->ca_id,
	    (int64_t)o->now, &number, err)) != 0)
		return r;
	co.number = (uint64_t)number;
	buf_init(&tbs, CRLDER_TBS_MAX);
	buf_init(&crl, CRLDER_TBS_MAX + 4096);
	/* 2. The entries, streamed in serial order. */
	if ((r = crlder_begin(&co, &enc, err)) != 0)
		goto out;
	feed.enc = enc;
	feed.ca = o->ca_name != NULL ? o->ca_name : "?";
	feed.err = err;
	if ((r = queue_crl_entries(o->st, o->ca_id, signer_crl_entry, &feed,
	    &res.entries, err)) != 0 ||
	    (r = crlder_finish(enc, &tbs, err)) != 0)
		goto out;
	crlder_free(enc);
	enc = NULL;
	/* 3. Linted, signed in the HSM, assembled, checked. */
	if ((r = signer_crl_lint(o, dg, co.idp_uri, &tbs, number, err)) != 0)
		goto out;
	if ((r = signer_sign_tbs(o->ca_key, key_type, dg, tbs.data, tbs.len,
	    sig, sizeof(sig), &siglen, err)) != 0 ||
	    (r = pkisign_assemble(tbs.data, tbs.len, sig, siglen, &crl,
	    err)) != 0)
		goto out;
	buf_free(&tbs);
	if ((r = sigcheck_new(X509_get0_pubkey(o->ca_cert), &chk, err)) != 0 ||
	    (r = sigcheck_der(chk, crl.data, crl.len, NULL, NULL, err)) != 0) {
		err_prefix(err, "CA %s: the new CRL", feed.ca);
		goto out;
	}
	SHA256(crl.data, crl.len, md);
	buf_hex(md, sizeof(md), res.sha256, sizeof(res.sha256));
	res.number = number;
	res.this_update = co.this_update;
	res.next_update = co.next_update;
	res.der_len = crl.len;
	/* 4. Recorded, the request issued and the event, in one
	 * transaction. */
	if ((r = store_begin(o->st, err)) != 0)
		goto out;
	if ((r = queue_crl_record(o->st, o->request_id, o->ca_id, number,
	    (int64_t)co.this_update, (int64_t)co.next_update, crl.data,
	    crl.len, res.sha256, (int64_t)res.entries, err)) == 0)
		r = signer_crl_event(o, &res, err);
	r = store_end(o->st, r, err);
out:
	crlder_free(enc);
	sigcheck_free(chk);
	buf_free(&tbs);
	buf_free(&crl);
	ERR_clear_error();
	if (r == 0 && out != NULL)
		*out = res;
	return r;
}
