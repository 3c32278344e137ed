/*
 * ceremony.c: runs ceremony scripts (see ceremony.h).
 *
 * Every ceremony follows the same shape: check the script and that none of
 * its outputs exists yet; open the tokens; for keys it creates, generate
 * them in the HSM and confirm the HSM marked them sensitive and never
 * extractable; for keys it uses, confirm they match their certificates;
 * build each certificate or CRL, lint it, sign it in the HSM and check that
 * what was signed is what was linted; write the outputs; sign the
 * transcript.
 */
#include "ceremony/ceremony.h"

#include <dirent.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ceremony/script.h"
#include "ceremony/tokens.h"
#include "ceremony/transcript.h"
#include "hsm/hsm_cred.h"
#include "hsm/hsm_pin.h"
#include "pki/certbuild.h"
#include "pki/crlbuild.h"
#include "pki/lint.h"
#include "pki/oids.h"
#include "pki/pinshare.h"
#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "util/airgap.h"
#include "pki/roles.h"
#include "util/fileio.h"
#include "util/say.h"
#include "util/timeutil.h"

#define MAX_PLANNED 1100

struct run {
	const struct ceremony_opts *o;
	struct tokens *tok;
	struct script *s;
	struct transcript *tr;
	const char *dir;	/* where outputs go (rehearsal: throwaway) */
	char *planned[MAX_PLANNED];
	size_t n_planned;
	char recorded[TOKENS_MAX][40];	/* tokens already in the transcript */
	size_t n_recorded;
	const char *airgap;	/* the guard's verdict, a step of each transcript */
	err_t *err;
};

/* Records a step in the transcript and tells the officer. */
static int
step(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
step(struct run *r, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	say(r->o->say, r->o->say_ctx, "  %s", text);
	if (transcript_step(r->tr, "%s", text) != 0)
		return err_set(r->err, ERR_LIMIT, "the transcript is full");
	return 0;
}

static int
plan(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds an output name to check before anything is done. */
static int
plan(struct run *r, const char *fmt, ...)
{
	char name[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (r->n_planned == MAX_PLANNED)
		return err_set(r->err, ERR_LIMIT, "too many outputs");
	if ((r->planned[r->n_planned] = strdup(name)) == NULL)
		return err_set(r->err, ERR_NOMEM, "out of memory");
	r->n_planned++;
	return 0;
}

static int
plan_outputs(struct run *r)
{
	struct script *s = r->s;
	size_t i;
	int e = 0;

	switch (s->type) {
	case SCRIPT_ROOT:
	case SCRIPT_INTERMEDIATE:
		e = plan(r, "%s.pem", s->ca_name);
		if (e == 0)
			e = plan(r, "%s.cer", s->ca_name);
		break;
	case SCRIPT_KEY:
		e = plan(r, "%s.pub.pem", s->key.label);
		break;
	case SCRIPT_CRL: {
		char ca[256];
		size_t n = strlen(s->issuer.certificate);

		/* A CA's CRLs are named after its certificate file. */
		snprintf(ca, sizeof(ca), "%.*s", (int)(n > 4 &&
		    strcmp(s->issuer.certificate + n - 4, ".pem") == 0 ? n - 4 : n),
		    s->issuer.certificate);
		e = plan(r, "%s-%llu.crl", ca, (unsigned long long)s->crl.number);
		if (e == 0)
			e = plan(r, "%s-%llu.crl.pem", ca,
			    (unsigned long long)s->crl.number);
		break;
	}
	case SCRIPT_ENROL:
		for (i = 0; i < s->n_people && e == 0; i++)
			e = plan(r, "%s.pem", s->people[i].id);
		break;
	case SCRIPT_APPLIANCE:
		for (i = 0; i < SCRIPT_N_APPKEYS && e == 0; i++)
			e = plan(r, "%s.pem", s->appkeys[i].label);
		break;
	case SCRIPT_SPLIT_PIN:
		/* NAME-share-I-OFFICER.p7m, OFFICER without its ".pem". */
		for (i = 0; i < s->n_split_officers && e == 0; i++)
			if (s->split_tokens[i] == NULL)
				e = plan(r, "%s-share-%zu-%.*s.p7m", s->name,
				    i + 1, (int)strlen(s->split_officers[i]) - 4,
				    s->split_officers[i]);
		break;
	}
	if (e == 0)
		e = plan(r, "%s.transcript.yaml", s->name);
	if (e == 0)
		e = plan(r, "%s.transcript.sig", s->name);
	if (e != 0)
		return e;
	/* Refuse before touching the HSM: a ceremony never overwrites. */
	for (i = 0; i < r->n_planned; i++) {
		char path[4200];

		if ((e = fileio_join(path, sizeof(path), r->dir, r->planned[i],
		    r->err)) != 0)
			return e;
		if (fileio_exists(path))
			return err_set(r->err, ERR_EXISTS, "%s already exists; a "
			    "ceremony never overwrites its outputs (use a new "
			    "name, or another ceremony directory)", path);
	}
	return 0;
}

/* Opens a token, recording it in the transcript the first time. */
static int
open_token(struct run *r, const char *label, const char *serial, int login,
    struct hsm_pool **out)
{
	struct hsm_token_info ti;
	const char *name = label && *label ? label : serial;
	size_t i;
	int e;

	if ((e = tokens_get(r->tok, label, serial, login, out, r->err)) != 0)
		return e;
	for (i = 0; i < r->n_recorded; i++)
		if (strcmp(r->recorded[i], name) == 0)
			return 0;
	if ((e = hsm_pool_token_info(*out, &ti, r->err)) != 0)
		return e;
	if (r->n_recorded < TOKENS_MAX)
		snprintf(r->recorded[r->n_recorded++], sizeof(r->recorded[0]),
		    "%s", name);
	if (transcript_token(r->tr, r->tok->module, ti.label, ti.serial,
	    ti.manufacturer, ti.model) != 0)
		return err_set(r->err, ERR_LIMIT, "the transcript is full");
	return step(r, "opened token '%s' (serial %s, %s %s)%s", ti.label,
	    ti.serial, ti.manufacturer, ti.model, login ? ", logged in" : "");
}

static int
main_token(struct run *r, struct hsm_pool **out)
{
	return open_token(r, r->s->token, r->s->token_serial, 1, out);
}

static const char *
keyspec_token(const struct run *r, const struct script_keyspec *ks,
    const char **serial)
{
	*serial = ks->token ? NULL : r->s->token_serial;
	return ks->token ? ks->token : r->s->token;
}

/* Generates a key and confirms the HSM protects it as asked. */
static int
gen_key(struct run *r, const struct script_keyspec *ks, struct hsm_key **out)
{
	struct hsm_pool *pool;
	struct hsm_key_attrs a;
	const char *serial, *label = keyspec_token(r, ks, &serial);
	char uri[1024];
	int e;

	if ((e = open_token(r, label, serial, 1, &pool)) != 0)
		return e;
	if ((e = hsm_keygen(pool, &ks->spec, out, r->err)) != 0)
		return e;
	if ((e = hsm_key_attrs(*out, &a, r->err)) != 0)
		return e;
	if (!a.token || !a.private_ || !a.sensitive || !a.always_sensitive ||
	    a.extractable || !a.never_extractable)
		return err_set(r->err, ERR_HSM, "the HSM did not protect key "
		    "'%s' as required (token %d, private %d, sensitive %d, "
		    "always sensitive %d, extractable %d, never extractable %d); "
		    "stop and investigate the HSM", ks->label, a.token,
		    a.private_, a.sensitive, a.always_sensitive, a.extractable,
		    a.never_extractable);
	hsm_key_uri(*out, uri, sizeof(uri));
	return step(r, "generated %s key %s in the HSM: sensitive, never "
	    "extractable", ks->algorithm, uri);
}

/* Writes one output file with mode and records it with its SHA-256. */
static int
emit_mode(struct run *r, const char *file, const void *data, size_t len,
    mode_t mode, const char *kind, const char *const *attrs)
{
	char path[4200];
	int e;

	if ((e = fileio_join(path, sizeof(path), r->dir, file, r->err)) != 0)
		return e;
	if ((e = fileio_create(path, data, len, mode, r->err)) != 0)
		return e;
	if (transcript_output(r->tr, file, data, len, kind, attrs) != 0)
		return err_set(r->err, ERR_LIMIT, "the transcript is full");
	return step(r, "wrote %s (%zu bytes)", file, len);
}

/* Writes one public output file (mode 0644); see emit_mode. */
static int
emit(struct run *r, const char *file, const void *data, size_t len,
    const char *kind, const char *const *attrs)
{
	return emit_mode(r, file, data, len, 0644, kind, attrs);
}

static int
emit_cert(struct run *r, const char *base, X509 *x, int with_der,
    const char *kind, const char *const *attrs)
{
	char name[300];
	buf_t b;
	int e;

	buf_init(&b, 1024 * 1024);
	snprintf(name, sizeof(name), "%s.pem", base);
	if ((e = pki_cert_pem(x, &b, r->err)) == 0)
		e = emit(r, name, b.data, b.len, kind, attrs);
	buf_reset(&b);
	if (e == 0 && with_der) {
		snprintf(name, sizeof(name), "%s.cer", base);
		if ((e = pki_cert_der(x, &b, r->err)) == 0)
			e = emit(r, name, b.data, b.len, "certificate-der", attrs);
	}
	buf_free(&b);
	return e;
}

static const EVP_MD *
digest_for(enum certspec_md d, const EVP_PKEY *signer_pub)
{
	switch (d) {
	case CERTSPEC_MD_SHA256: return EVP_sha256();
	case CERTSPEC_MD_SHA384: return EVP_sha384();
	case CERTSPEC_MD_SHA512: return EVP_sha512();
	default: return pkisign_md_for_key(signer_pub, NULL);
	}
}

/* Prints lint findings to the officer. */
static void
say_lint(struct run *r, const diag_t *lint)
{
	size_t i;

	for (i = 0; i < lint->n; i++) {
		char line[1200];

		diag_format(lint, i, line, sizeof(line));
		say(r->o->say, r->o->say_ctx, "  lint: %s", line);
	}
}

/*
 * Preflight: builds the certificate as it will be, signs it with the null
 * signer and lints it, before any key is generated or anything signed, so
 * that a mistake in the script never leaves a key or a file behind.
 * subject_pub may be a software stand-in of the key type to be generated.
 */
static int
dry_lint(struct run *r, const struct certspec *spec, const EVP_PKEY *subject_pub,
    X509 *issuer, const EVP_PKEY *signer_pub, const char *what)
{
	unsigned char rnd[16], serial[20];
	struct lint_opts lo;
	EVP_PKEY *null = NULL;
	X509 *x = NULL;
	size_t slen = 0;
	diag_t lint;
	int e;

	diag_init(&lint);
	memset(&lo, 0, sizeof(lo));
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    certbuild_serial(rnd, sizeof(rnd), serial, &slen) != 0) {
		e = err_set_ossl(r->err, ERR_CRYPTO, "preflight serial");
		goto out;
	}
	if ((e = certbuild_new(spec, subject_pub, issuer, serial, slen, &x,
	    r->err)) != 0)
		goto out;
	if ((null = extkey_null_signer(signer_pub)) == NULL ||
	    X509_sign(x, null, digest_for(spec->digest, signer_pub)) <= 0) {
		e = err_set_ossl(r->err, ERR_CRYPTO, "preflight signing");
		goto out;
	}
	if (lint_cert(x, issuer, &lo, &lint) > 0) {
		say_lint(r, &lint);
		e = diag_to_err(&lint, r->err, ERR_POLICY);
		err_prefix(r->err, "%s would fail lint (%zu finding%s); nothing "
		    "was generated or signed", what, diag_count(&lint),
		    diag_count(&lint) == 1 ? "" : "s");
	}
out:
	EVP_PKEY_free(null);
	X509_free(x);
	diag_free(&lint);
	return e;
}

/* A software key of the type a keyspec asks for, for preflight only. */
static int
stand_in_key(struct run *r, const struct script_keyspec *ks, EVP_PKEY **out)
{
	if (ks->spec.type == HSM_KEY_RSA)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)ks->spec.bits);
	else
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    ks->spec.curve_nid == NID_secp384r1 ? "P-384" : "P-256");
	if (*out == NULL)
		return err_set_ossl(r->err, ERR_CRYPTO, "preflight key");
	return 0;
}

/* Fails early when a key's label is already taken on its token. */
static int
label_free(struct run *r, const struct script_keyspec *ks)
{
	const char *serial, *label = keyspec_token(r, ks, &serial);
	struct hsm_pool *pool;
	struct hsm_key *k = NULL;
	struct hsm_uri uri;
	int e;

	if ((e = open_token(r, label, serial, 1, &pool)) != 0)
		return e;
	hsm_uri_init(&uri);
	snprintf(uri.object, sizeof(uri.object), "%s", ks->label);
	uri.type = HSM_URI_TYPE_PRIVATE;
	e = hsm_find_key(pool, &uri, &k, r->err);
	hsm_key_free(k);
	if (e == ERR_NOTFOUND) {
		err_clear(r->err);
		return 0;
	}
	if (e != 0)
		return e;
	return err_set(r->err, ERR_EXISTS, "a key labelled '%s' already exists "
	    "on token '%s'; choose another label (nothing was generated)",
	    ks->label, label ? label : serial);
}

/* Preflight for a certificate whose key the ceremony will generate. */
static int
preflight_new_key(struct run *r, const struct script_keyspec *ks,
    const struct certspec *spec, X509 *issuer, const EVP_PKEY *issuer_pub,
    const char *what)
{
	EVP_PKEY *k = NULL;
	int e;

	if ((e = label_free(r, ks)) != 0 || (e = stand_in_key(r, ks, &k)) != 0)
		return e;
	e = dry_lint(r, spec, k, issuer, issuer_pub ? issuer_pub : k, what);
	EVP_PKEY_free(k);
	return e;
}

/*
 * Builds, lints, signs in the HSM and checks one certificate. The serial
 * comes from the HSM's random number generator.
 */
static int
make_cert(struct run *r, struct hsm_pool *pool, const struct certspec *spec,
    const EVP_PKEY *subject_pub, X509 *issuer, struct hsm_key *signer_key,
    X509 **out)
{
	unsigned char rnd[16], serial[20];
	const EVP_PKEY *signer_pub = hsm_key_public(signer_key);
	EVP_PKEY *signer = NULL;
	struct lint_opts lo;
	size_t slen = 0;
	X509 *x = NULL;
	diag_t lint;
	char summary[512];
	int e;

	diag_init(&lint);
	memset(&lo, 0, sizeof(lo));
	*out = NULL;
	if ((e = hsm_random(pool, rnd, sizeof(rnd), r->err)) != 0)
		goto out;
	if ((e = certbuild_serial(rnd, sizeof(rnd), serial, &slen)) != 0) {
		e = err_set(r->err, e, "cannot make a serial number");
		goto out;
	}
	if ((e = certbuild_new(spec, subject_pub, issuer, serial, slen, &x,
	    r->err)) != 0)
		goto out;
	if ((signer = hsm_key_signer(signer_key)) == NULL) {
		e = err_set(r->err, ERR_HSM, "cannot use key '%s' for signing",
		    hsm_key_label(signer_key));
		goto out;
	}
	e = pkisign_cert(x, signer, digest_for(spec->digest, signer_pub),
	    issuer, &lo, &lint, r->err);
	say_lint(r, &lint);
	if (e != 0) {
		if (lint.n > 0)
			err_prefix(r->err, "the certificate failed lint (%zu "
			    "finding%s); nothing was signed", diag_count(&lint),
			    diag_count(&lint) == 1 ? "" : "s");
		goto out;
	}
	pki_cert_summary(x, summary, sizeof(summary));
	if ((e = step(r, "signed and verified certificate: %s", summary)) != 0)
		goto out;
	*out = x;
	x = NULL;
out:
	EVP_PKEY_free(signer);
	X509_free(x);
	diag_free(&lint);
	explicit_bzero(rnd, sizeof(rnd));
	return e;
}

/*
 * Gives a copy of a certificate the key identifiers of its new key: the
 * subject key identifier always, and the authority key identifier too when
 * it is self-signed.
 */
static int
reset_key_ids(X509 *x, int self, err_t *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int i;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	while ((i = X509_get_ext_by_NID(x, NID_subject_key_identifier, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, i));
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash")) == NULL || !X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		return err_set_ossl(err, ERR_CRYPTO, "subject key identifier");
	}
	X509_EXTENSION_free(ext);
	if (!self)
		return 0;
	while ((i = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, i));
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always")) == NULL || !X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		return err_set_ossl(err, ERR_CRYPTO, "authority key identifier");
	}
	X509_EXTENSION_free(ext);
	return 0;
}

/*
 * Rehearsal only: the issuer's key lives on the real HSM, which a rehearsal
 * never touches. Stand in a fresh key of the same type and a copy of the
 * issuer certificate re-signed with it, so everything downstream runs as it
 * will for real.
 */
static int
stand_in_issuer(struct run *r, struct hsm_pool *pool, const char *label,
    const char *path, X509 **cert, struct hsm_key **key)
{
	const EVP_PKEY *real = X509_get0_pubkey(*cert);
	struct hsm_keyspec ks;
	EVP_PKEY *signer = NULL;
	X509 *copy = NULL;
	buf_t pem;
	int e, self = X509_NAME_cmp(X509_get_subject_name(*cert),
	    X509_get_issuer_name(*cert)) == 0;

	memset(&ks, 0, sizeof(ks));
	ks.label = label;
	ks.usage = HSM_USAGE_SIGN;
	if (EVP_PKEY_get_base_id(real) == EVP_PKEY_RSA) {
		ks.type = HSM_KEY_RSA;
		ks.bits = (unsigned)EVP_PKEY_get_bits(real);
	} else {
		char group[64] = "";

		ks.type = HSM_KEY_EC;
		EVP_PKEY_get_group_name(real, group, sizeof(group), NULL);
		ks.curve_nid = OBJ_sn2nid(group);
		if (ks.curve_nid == NID_undef)
			ks.curve_nid = EC_curve_nist2nid(group);
	}
	buf_init(&pem, 1024 * 1024);
	if ((e = hsm_keygen(pool, &ks, key, r->err)) != 0)
		goto out;
	if ((copy = X509_dup(*cert)) == NULL ||
	    X509_set_pubkey(copy, (EVP_PKEY *)(uintptr_t)hsm_key_public(*key)) != 1 ||
	    (e = reset_key_ids(copy, self, r->err)) != 0 ||
	    (signer = hsm_key_signer(*key)) == NULL ||
	    X509_sign(copy, signer, pkisign_md_for_key(hsm_key_public(*key),
	    NULL)) <= 0) {
		e = e ? e : err_set_ossl(r->err, ERR_CRYPTO, "cannot make the "
		    "stand-in issuer certificate");
		goto out;
	}
	if ((e = pki_cert_pem(copy, &pem, r->err)) != 0 ||
	    (e = fileio_replace(path, pem.data, pem.len, 0644, r->err)) != 0)
		goto out;
	X509_free(*cert);
	*cert = copy;
	copy = NULL;
	e = step(r, "rehearsal: stood in key '%s' for the issuer, with a copy "
	    "of its certificate re-signed by it", label);
out:
	EVP_PKEY_free(signer);
	X509_free(copy);
	buf_free(&pem);
	return e;
}

/* Finds the issuer's certificate and key and checks they belong together. */
static int
load_issuer(struct run *r, X509 **cert, struct hsm_key **key,
    struct hsm_pool **pool)
{
	struct script *s = r->s;
	struct hsm_uri uri;
	char path[4200], fp[65];
	int e;

	*cert = NULL;
	*key = NULL;
	if ((e = fileio_join(path, sizeof(path), r->dir, s->issuer.certificate,
	    r->err)) != 0)
		return e;
	if (!fileio_exists(path))
		return err_set(r->err, ERR_NOTFOUND, "issuer certificate %s not "
		    "found; run the ceremony that creates it first (with "
		    "--rehearse, name its script first in the same command)",
		    path);
	if ((e = pki_load_cert_file(path, cert, r->err)) != 0)
		return e;
	if (X509_check_ca(*cert) == 0)
		return err_set(r->err, ERR_POLICY, "%s is not a CA certificate",
		    path);
	hsm_uri_init(&uri);
	if (strncmp(s->issuer.key, "pkcs11:", 7) == 0) {
		if ((e = hsm_uri_parse(s->issuer.key, &uri, r->err)) != 0)
			return err_prefix(r->err, "issuer.key");
	} else {
		snprintf(uri.object, sizeof(uri.object), "%s", s->issuer.key);
	}
	uri.type = HSM_URI_TYPE_PRIVATE;
	if (uri.token[0] == '\0' && uri.serial[0] == '\0') {
		snprintf(uri.token, sizeof(uri.token), "%s",
		    s->token ? s->token : "");
		snprintf(uri.serial, sizeof(uri.serial), "%s",
		    s->token_serial ? s->token_serial : "");
	}
	if ((e = open_token(r, uri.token, uri.serial, 1, pool)) != 0)
		return e;
	e = hsm_find_key(*pool, &uri, key, r->err);
	if (e == ERR_NOTFOUND && r->tok->rehearse)
		e = stand_in_issuer(r, *pool, uri.object, path, cert, key);
	if (e != 0)
		return e;
	if ((e = hsm_key_check_cert(*key, *cert, r->err)) != 0)
		return e;
	pki_cert_sha256_hex(*cert, fp);
	return step(r, "issuer key '%s' matches %s (SHA-256 %s): checked by a "
	    "test signature", hsm_key_label(*key), s->issuer.certificate, fp);
}

static int
run_root(struct run *r)
{
	struct script *s = r->s;
	struct hsm_pool *pool;
	struct hsm_key *key = NULL;
	EVP_PKEY *signer = NULL;
	X509 *x = NULL;
	char uri[1024], file[300];
	int e;

	if ((e = main_token(r, &pool)) != 0 ||
	    (e = preflight_new_key(r, &s->ca_key, &s->cert, NULL, NULL,
	    "the root certificate")) != 0 ||
	    (e = gen_key(r, &s->ca_key, &key)) != 0)
		goto out;
	if ((e = make_cert(r, pool, &s->cert, hsm_key_public(key), NULL, key,
	    &x)) != 0)
		goto out;
	hsm_key_uri(key, uri, sizeof(uri));
	{
		const char *attrs[] = { "ca", s->ca_name, "purpose", "root",
		    "key", uri, NULL };

		if ((e = emit_cert(r, s->ca_name, x, 1, "ca-certificate",
		    attrs)) != 0)
			goto out;
	}
	if ((signer = hsm_key_signer(key)) == NULL) {
		e = err_set(r->err, ERR_HSM, "cannot sign the transcript");
		goto out;
	}
	snprintf(file, sizeof(file), "%s.pem", s->ca_name);
	e = transcript_finish(r->tr, r->dir, signer, hsm_key_public(key), file,
	    r->err);
out:
	EVP_PKEY_free(signer);
	X509_free(x);
	hsm_key_free(key);
	return e;
}

/* Reads and checks an external CA's request (a customer's gateway CA). */
static int
load_csr(struct run *r, EVP_PKEY **pub)
{
	char path[4200];
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	buf_t b;
	int e;

	*pub = NULL;
	buf_init(&b, 64 * 1024);
	if ((e = script_path(r->s, r->s->ca_csr, path, sizeof(path),
	    r->err)) != 0 || (e = fileio_read(path, 64 * 1024, &b, r->err)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL) {
		e = err_set(r->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL) {
		const unsigned char *p = b.data;

		ERR_clear_error();
		req = d2i_X509_REQ(NULL, &p, (long)b.len);
	}
	if (req == NULL) {
		e = err_set_ossl(r->err, ERR_INVALID, "%s is not a PKCS#10 "
		    "request in PEM or DER", path);
		goto out;
	}
	if ((*pub = X509_REQ_get_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, *pub) != 1) {
		ERR_clear_error();
		e = err_set(r->err, ERR_INVALID, "%s: the request's signature "
		    "does not verify with its own key", path);
		goto out;
	}
	e = step(r, "checked the request %s: its signature proves possession "
	    "of the key", r->s->ca_csr);
out:
	if (e != 0) {
		EVP_PKEY_free(*pub);
		*pub = NULL;
	}
	X509_REQ_free(req);
	BIO_free(bio);
	buf_free(&b);
	return e;
}

static int
run_intermediate(struct run *r)
{
	struct script *s = r->s;
	struct hsm_pool *pool;
	struct hsm_key *ikey = NULL, *key = NULL;
	EVP_PKEY *signer = NULL, *csr_pub = NULL;
	X509 *issuer = NULL, *x = NULL;
	char uri[1024] = "";
	const EVP_PKEY *pub;
	int e;

	if ((e = load_issuer(r, &issuer, &ikey, &pool)) != 0)
		goto out;
	if (s->ca_csr != NULL) {
		if ((e = load_csr(r, &csr_pub)) != 0 ||
		    (e = dry_lint(r, &s->cert, csr_pub, issuer,
		    hsm_key_public(ikey), "the CA certificate")) != 0)
			goto out;
		pub = csr_pub;
	} else {
		if ((e = preflight_new_key(r, &s->ca_key, &s->cert, issuer,
		    hsm_key_public(ikey), "the CA certificate")) != 0 ||
		    (e = gen_key(r, &s->ca_key, &key)) != 0)
			goto out;
		pub = hsm_key_public(key);
		hsm_key_uri(key, uri, sizeof(uri));
	}
	if ((e = make_cert(r, pool, &s->cert, pub, issuer, ikey, &x)) != 0)
		goto out;
	{
		const char *attrs[] = { "ca", s->ca_name, "purpose",
		    script_purpose_name(s->ca_purpose), "key", uri, "issuer",
		    s->issuer.certificate, NULL };

		if ((e = emit_cert(r, s->ca_name, x, 1, "ca-certificate",
		    attrs)) != 0)
			goto out;
	}
	if ((signer = hsm_key_signer(ikey)) == NULL) {
		e = err_set(r->err, ERR_HSM, "cannot sign the transcript");
		goto out;
	}
	e = transcript_finish(r->tr, r->dir, signer, hsm_key_public(ikey),
	    s->issuer.certificate, r->err);
out:
	EVP_PKEY_free(signer);
	EVP_PKEY_free(csr_pub);
	X509_free(issuer);
	X509_free(x);
	hsm_key_free(ikey);
	hsm_key_free(key);
	return e;
}

static int
run_key(struct run *r)
{
	struct script *s = r->s;
	struct hsm_key *key = NULL;
	EVP_PKEY *signer = NULL;
	char uri[1024], file[300];
	buf_t b;
	int e;

	buf_init(&b, 64 * 1024);
	if ((e = label_free(r, &s->key)) != 0 || (e = gen_key(r, &s->key,
	    &key)) != 0)
		goto out;
	hsm_key_uri(key, uri, sizeof(uri));
	if ((e = pki_pubkey_pem(hsm_key_public(key), &b, r->err)) != 0)
		goto out;
	snprintf(file, sizeof(file), "%s.pub.pem", s->key.label);
	{
		const char *attrs[] = { "label", s->key.label, "key", uri, NULL };

		if ((e = emit(r, file, b.data, b.len, "public-key", attrs)) != 0)
			goto out;
	}
	if ((signer = hsm_key_signer(key)) == NULL) {
		e = err_set(r->err, ERR_HSM, "cannot sign the transcript");
		goto out;
	}
	e = transcript_finish(r->tr, r->dir, signer, hsm_key_public(key), file,
	    r->err);
out:
	EVP_PKEY_free(signer);
	hsm_key_free(key);
	buf_free(&b);
	return e;
}

static int
run_crl(struct run *r)
{
	struct script *s = r->s;
	struct hsm_pool *pool;
	struct hsm_key *ikey = NULL;
	EVP_PKEY *signer = NULL;
	X509 *issuer = NULL;
	X509_CRL *crl = NULL;
	diag_t lint;
	buf_t b;
	char num[32];
	int e;

	diag_init(&lint);
	buf_init(&b, 64 * 1024 * 1024);
	if ((e = load_issuer(r, &issuer, &ikey, &pool)) != 0)
		goto out;
	if ((e = crlbuild_new(&s->crl, issuer, &crl, r->err)) != 0)
		goto out;
	if ((signer = hsm_key_signer(ikey)) == NULL) {
		e = err_set(r->err, ERR_HSM, "cannot use the issuer key");
		goto out;
	}
	e = pkisign_crl(crl, signer, pkisign_md_for_key(hsm_key_public(ikey),
	    NULL), issuer, &lint, r->err);
	say_lint(r, &lint);
	if (e != 0)
		goto out;
	if ((e = step(r, "signed and verified CRL number %llu with %zu "
	    "entr%s", (unsigned long long)s->crl.number, s->crl.n_entries,
	    s->crl.n_entries == 1 ? "y" : "ies")) != 0)
		goto out;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)s->crl.number);
	{
		/* plan_outputs chose the names; reuse them. */
		const char *attrs[] = { "issuer", s->issuer.certificate,
		    "number", num, NULL };

		if ((e = pki_crl_der(crl, &b, r->err)) != 0 ||
		    (e = emit(r, r->planned[0], b.data, b.len, "crl", attrs)) != 0)
			goto out;
		buf_reset(&b);
		if ((e = pki_crl_pem(crl, &b, r->err)) != 0 ||
		    (e = emit(r, r->planned[1], b.data, b.len, "crl-pem",
		    attrs)) != 0)
			goto out;
	}
	e = transcript_finish(r->tr, r->dir, signer, hsm_key_public(ikey),
	    s->issuer.certificate, r->err);
out:
	EVP_PKEY_free(signer);
	X509_CRL_free(crl);
	X509_free(issuer);
	hsm_key_free(ikey);
	diag_free(&lint);
	buf_free(&b);
	return e;
}

/* Temporarily adds one attribute to a name; pop with name_pop(). */
static int
name_push(struct certspec_name *n, int nid, const char *value)
{
	struct certspec_attr *a = realloc(n->attrs, (n->n + 1) * sizeof(*a));

	if (a == NULL)
		return ERR_NOMEM;
	n->attrs = a;
	if ((a[n->n].value = strdup(value)) == NULL)
		return ERR_NOMEM;
	a[n->n].nid = nid;
	n->n++;
	return 0;
}

static void
name_pop(struct certspec_name *n)
{
	free(n->attrs[--n->n].value);
}

static int
list_push(struct certspec_strlist *l, const char *v)
{
	char **a = realloc(l->v, (l->n + 1) * sizeof(*a));

	if (a == NULL)
		return ERR_NOMEM;
	l->v = a;
	if ((a[l->n] = strdup(v)) == NULL)
		return ERR_NOMEM;
	l->n++;
	return 0;
}

static void
list_pop(struct certspec_strlist *l)
{
	free(l->v[--l->n]);
}

/*
 * Proves that the person holds the private key by having it sign a fresh
 * challenge, and returns the public key to certify.
 */
static int
person_key_pkcs11(struct run *r, const struct script_person *p,
    EVP_PKEY **pub)
{
	struct hsm_pool *pool;
	struct hsm_key *key = NULL;
	struct hsm_uri uri;
	EVP_PKEY *signer = NULL;
	unsigned char challenge[32], *sig = NULL;
	size_t siglen = 0;
	const EVP_MD *md;
	EVP_MD_CTX *ctx = NULL;
	int e;

	*pub = NULL;
	if ((e = hsm_uri_parse(p->key_uri, &uri, r->err)) != 0)
		return err_prefix(r->err, "person %s: key", p->id);
	if (uri.token[0] == '\0' && uri.serial[0] == '\0')
		return err_set(r->err, ERR_INVALID, "person %s: key URI must name "
		    "the person's token (token= or serial=)", p->id);
	uri.type = HSM_URI_TYPE_PRIVATE;
	if ((e = open_token(r, uri.token, uri.serial, 1, &pool)) != 0)
		return e;
	if ((e = hsm_find_key(pool, &uri, &key, r->err)) == ERR_NOTFOUND &&
	    r->tok->rehearse) {
		/* A rehearsal has no personal tokens: stand one in. */
		struct hsm_keyspec ks = { HSM_KEY_EC, 0, NID_X9_62_prime256v1,
		    uri.object[0] ? uri.object : p->id, HSM_USAGE_SIGN };

		if ((e = hsm_keygen(pool, &ks, &key, r->err)) == 0)
			e = step(r, "rehearsal: stood in a P-256 key for %s", p->id);
	}
	if (e != 0)
		goto out;
	md = pkisign_md_for_key(hsm_key_public(key), NULL);
	if ((e = hsm_random(pool, challenge, sizeof(challenge), r->err)) != 0)
		goto out;
	if ((signer = hsm_key_signer(key)) == NULL ||
	    (e = pkisign_blob(signer, md, challenge, sizeof(challenge), &sig,
	    &siglen, r->err)) != 0) {
		e = e ? e : err_set(r->err, ERR_HSM, "person %s: cannot sign",
		    p->id);
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL,
	    (EVP_PKEY *)(uintptr_t)hsm_key_public(key)) != 1 ||
	    EVP_DigestVerify(ctx, sig, siglen, challenge,
	    sizeof(challenge)) != 1) {
		ERR_clear_error();
		e = err_set(r->err, ERR_POLICY, "person %s: the key on the token "
		    "did not prove possession", p->id);
		goto out;
	}
	if ((*pub = EVP_PKEY_dup((EVP_PKEY *)(uintptr_t)hsm_key_public(key))) ==
	    NULL) {
		e = err_set(r->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	e = step(r, "%s proved possession of %s by signing a challenge",
	    p->name, p->key_uri);
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(sig);
	EVP_PKEY_free(signer);
	hsm_key_free(key);
	return e;
}

/* Opens a passphrase-protected key file; decrypting it is the proof. */
static int
person_key_file(struct run *r, const struct script_person *p, EVP_PKEY **pub)
{
	struct hsm_cred cred;
	char path[4200], what[200];
	int e;

	*pub = NULL;
	if (r->tok->rehearse) {
		/* A rehearsal does not ask for people's passphrases. */
		if ((*pub = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
			return err_set_ossl(r->err, ERR_CRYPTO, "stand-in key");
		return step(r, "rehearsal: stood in a P-256 key for %s", p->id);
	}
	if ((e = script_path(r->s, p->key_file, path, sizeof(path),
	    r->err)) != 0)
		return e;
	snprintf(what, sizeof(what), "passphrase of %s's key file", p->name);
	if ((e = hsm_cred_open_file(path, NULL, tokens_pin_source(r->tok,
	    p->id), what, &cred, r->err)) != 0)
		return err_prefix(r->err, "person %s", p->id);
	e = pki_public_only(cred.key, pub, r->err);
	hsm_cred_close(&cred);
	if (e != 0)
		return e;
	return step(r, "%s opened key file %s with their passphrase", p->name,
	    p->key_file);
}

static const enum oids_id role_oid[] = { OIDS_ROLE_OFFICER,
    OIDS_ROLE_OPERATOR, OIDS_ROLE_AUDITOR };

/* The template plus this person's CN and role (undo with person_pop). */
static int
person_push(struct script *s, const struct script_person *p)
{
	/* The role goes into the EKU, where the appliance checks it. */
	if (name_push(&s->cert.subject, NID_commonName, p->name) != 0)
		return ERR_NOMEM;
	if (list_push(&s->cert.ext.eku, oids_dotted(role_oid[p->role])) != 0) {
		name_pop(&s->cert.subject);
		return ERR_NOMEM;
	}
	return 0;
}

static void
person_pop(struct script *s)
{
	name_pop(&s->cert.subject);
	list_pop(&s->cert.ext.eku);
}

static int
run_enrol(struct run *r)
{
	struct script *s = r->s;
	struct hsm_pool *pool;
	struct hsm_key *ikey = NULL;
	EVP_PKEY *signer = NULL, **pubs = NULL;
	X509 *issuer = NULL;
	size_t i;
	int e;

	if ((e = load_issuer(r, &issuer, &ikey, &pool)) != 0)
		goto out;
	if ((pubs = calloc(s->n_people, sizeof(*pubs))) == NULL) {
		e = err_set(r->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Everyone proves possession first: nobody is half enrolled. */
	for (i = 0; i < s->n_people && e == 0; i++)
		e = s->people[i].key_uri ? person_key_pkcs11(r, &s->people[i],
		    &pubs[i]) : person_key_file(r, &s->people[i], &pubs[i]);
	for (i = 0; i < s->n_people && e == 0; i++) {
		char what[200];

		snprintf(what, sizeof(what), "the certificate of %s",
		    s->people[i].name);
		if (person_push(s, &s->people[i]) != 0) {
			e = err_set(r->err, ERR_NOMEM, "out of memory");
			break;
		}
		e = dry_lint(r, &s->cert, pubs[i], issuer, hsm_key_public(ikey),
		    what);
		person_pop(s);
	}
	for (i = 0; i < s->n_people && e == 0; i++) {
		const struct script_person *p = &s->people[i];
		X509 *x = NULL;

		if (person_push(s, p) != 0) {
			e = err_set(r->err, ERR_NOMEM, "out of memory");
			break;
		}
		e = make_cert(r, pool, &s->cert, pubs[i], issuer, ikey, &x);
		person_pop(s);
		if (e == 0) {
			const char *attrs[] = { "person", p->id, "name",
			    p->name, "role", script_role_name(p->role), "key",
			    p->key_uri ? p->key_uri : p->key_file, "issuer",
			    s->issuer.certificate, NULL };
			char fp[65];

			e = emit_cert(r, p->id, x, 0, "person-certificate", attrs);
			if (e == 0 && pki_cert_sha256_hex(x, fp) == 0)
				e = step(r, "enrolled %s as %s (certificate "
				    "SHA-256 %s)", p->name,
				    script_role_name(p->role), fp);
		}
		X509_free(x);
	}
	if (e != 0)
		goto out;
	if ((signer = hsm_key_signer(ikey)) == NULL) {
		e = err_set(r->err, ERR_HSM, "cannot sign the transcript");
		goto out;
	}
	e = transcript_finish(r->tr, r->dir, signer, hsm_key_public(ikey),
	    s->issuer.certificate, r->err);
out:
	for (i = 0; pubs != NULL && i < s->n_people; i++)
		EVP_PKEY_free(pubs[i]);
	free(pubs);
	EVP_PKEY_free(signer);
	X509_free(issuer);
	hsm_key_free(ikey);
	return e;
}

static const char *const appkey_what[] = { "export manifest signing",
    "audit checkpoint signing", "bundle transport" };
static const enum oids_id appkey_eku[] = { OIDS_PURPOSE_EXPORT,
    OIDS_PURPOSE_AUDIT, OIDS_PURPOSE_TRANSPORT };

/*
 * The template plus one appliance key's CN and usages (undo with
 * appkey_pop). Each purpose gets exactly its own usage, so no appliance
 * key can stand in for another.
 */
static int
appkey_push(struct script *s, int k)
{
	char cn[256];

	snprintf(cn, sizeof(cn), "%s %s", s->appliance_name, appkey_what[k]);
	s->cert.ext.has_key_usage = 1;
	/* The transport key is always RSA (script.c): key transport. */
	s->cert.ext.key_usage = k != SCRIPT_APPKEY_TRANSPORT ?
	    CERTSPEC_KU_DIGITAL_SIGNATURE : CERTSPEC_KU_KEY_ENCIPHERMENT;
	if (name_push(&s->cert.subject, NID_commonName, cn) != 0)
		return ERR_NOMEM;
	if (list_push(&s->cert.ext.eku, oids_dotted(appkey_eku[k])) != 0) {
		name_pop(&s->cert.subject);
		return ERR_NOMEM;
	}
	return 0;
}

static void
appkey_pop(struct script *s)
{
	name_pop(&s->cert.subject);
	list_pop(&s->cert.ext.eku);
	s->cert.ext.has_key_usage = 0;
	s->cert.ext.key_usage = 0;
}

static int
run_appliance(struct run *r)
{
	struct script *s = r->s;
	struct hsm_pool *pool;
	struct hsm_key *ikey = NULL;
	EVP_PKEY *signer = NULL;
	X509 *issuer = NULL;
	int e, k;

	if ((e = load_issuer(r, &issuer, &ikey, &pool)) != 0)
		goto out;
	/* All three keys are checked before the first is generated. */
	for (k = 0; k < SCRIPT_N_APPKEYS && e == 0; k++) {
		char what[100];

		snprintf(what, sizeof(what), "the %s certificate",
		    appkey_what[k]);
		if (appkey_push(s, k) != 0) {
			e = err_set(r->err, ERR_NOMEM, "out of memory");
			break;
		}
		e = preflight_new_key(r, &s->appkeys[k], &s->cert, issuer,
		    hsm_key_public(ikey), what);
		appkey_pop(s);
	}
	for (k = 0; k < SCRIPT_N_APPKEYS && e == 0; k++) {
		const struct script_keyspec *ks = &s->appkeys[k];
		struct hsm_key *key = NULL;
		X509 *x = NULL;
		char uri[1024];

		if ((e = gen_key(r, ks, &key)) != 0)
			break;
		if (appkey_push(s, k) != 0) {
			hsm_key_free(key);
			e = err_set(r->err, ERR_NOMEM, "out of memory");
			break;
		}
		e = make_cert(r, pool, &s->cert, hsm_key_public(key), issuer,
		    ikey, &x);
		appkey_pop(s);
		hsm_key_uri(key, uri, sizeof(uri));
		if (e == 0) {
			const char *attrs[] = { "purpose", script_appkey_name(k),
			    "key", uri, "issuer", s->issuer.certificate, NULL };

			e = emit_cert(r, ks->label, x, 0, "appliance-certificate",
			    attrs);
		}
		X509_free(x);
		hsm_key_free(key);
	}
	if (e != 0)
		goto out;
	if ((signer = hsm_key_signer(ikey)) == NULL) {
		e = err_set(r->err, ERR_HSM, "cannot sign the transcript");
		goto out;
	}
	e = transcript_finish(r->tr, r->dir, signer, hsm_key_public(ikey),
	    s->issuer.certificate, r->err);
out:
	EVP_PKEY_free(signer);
	X509_free(issuer);
	hsm_key_free(ikey);
	return e;
}

/* --- split-pin ------------------------------------------------------------ */

#define SPLIT_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

/*
 * A PIN of n characters from the HSM's generator, over an alphabet without
 * look-alikes, by rejection sampling so that every character is equally
 * likely. Nobody ever sees it: it goes into the shares and the token.
 */
static int
split_new_pin(struct run *r, struct hsm_pool *pool, unsigned n, secret_t *out)
{
	const size_t na = sizeof(SPLIT_ALPHABET) - 1;
	const unsigned limit = 256 - 256 % (unsigned)na;
	unsigned char rnd[128];
	size_t got = 0, i;
	int e = 0;

	secret_wipe(out);
	while (got < n && e == 0) {
		if ((e = hsm_random(pool, rnd, sizeof(rnd), r->err)) != 0)
			break;
		for (i = 0; i < sizeof(rnd) && got < n; i++)
			if (rnd[i] < limit)
				out->data[got++] = (unsigned char)
				    SPLIT_ALPHABET[rnd[i] % na];
	}
	explicit_bzero(rnd, sizeof(rnd));
	out->len = got;
	out->data[got] = '\0';
	if (e != 0)
		secret_wipe(out);
	return e;
}

/*
 * Loads one officer's certificate from the ceremony directory and checks
 * it: issued by the people CA, valid now, the officer role and no other.
 * A rehearsal's people CA is a stand-in that issued nobody, so there only
 * the role is checked.
 */
static int
split_officer(struct run *r, const char *file, X509 *people_ca, X509 **out,
    char fp[65])
{
	STACK_OF(X509) *anchors = NULL;
	char path[4200], what[300];
	int e;

	*out = NULL;
	if ((e = fileio_join(path, sizeof(path), r->dir, file, r->err)) != 0)
		return e;
	if ((e = pki_load_cert_file(path, out, r->err)) != 0)
		return err_prefix(r->err, "split.officers");
	snprintf(what, sizeof(what), "the officer in %s", file);
	if (r->tok->rehearse) {
		e = roles_check_role(*out, OIDS_ROLE_OFFICER, KU_DIGITAL_SIGNATURE, what,
		    "holding a PIN share", r->err);
	} else if ((anchors = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(anchors, people_ca)) {
		e = err_set(r->err, ERR_NOMEM, "out of memory");
	} else {
		e = roles_check(*out, anchors, NULL, time(NULL),
		    OIDS_ROLE_OFFICER, KU_DIGITAL_SIGNATURE, what,
		    "holding a PIN share", r->err);
	}
	sk_X509_free(anchors);
	if (e == 0 && pki_cert_sha256_hex(*out, fp) != 0)
		e = err_set(r->err, ERR_CRYPTO, "%s: cannot hash", file);
	if (e != 0) {
		X509_free(*out);
		*out = NULL;
	}
	return e;
}

/* Signs the transcript with the issuer's key, named by its certificate. */
static int
issuer_signs(struct run *r, struct hsm_key *ikey)
{
	EVP_PKEY *signer = hsm_key_signer(ikey);
	int e;

	if (signer == NULL)
		return err_set(r->err, ERR_HSM, "cannot sign the transcript");
	e = transcript_finish(r->tr, r->dir, signer, hsm_key_public(ikey),
	    r->s->issuer.certificate, r->err);
	EVP_PKEY_free(signer);
	return e;
}

/* Removes the share files written so far: they hold a PIN never set. */
static void
split_unwrite(struct run *r, char (*names)[300], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char path[4200];
		err_t ignore;

		if (names[i][0] != '\0' && fileio_join(path, sizeof(path),
		    r->dir, names[i], &ignore) == 0)
			(void)unlink(path);
	}
}

/*
 * The officer's own token for a share stored there: opened and logged in
 * with the officer's PIN (its --pin source, as in an enrolment).
 */
static int
split_token(struct run *r, size_t i, struct hsm_pool **pool)
{
	struct hsm_uri uri;

	if (hsm_uri_parse(r->s->split_tokens[i], &uri, r->err) != 0)
		return err_prefix(r->err, "split.officers: %s",
		    r->s->split_officers[i]);
	if (uri.token[0] == '\0' && uri.serial[0] == '\0')
		return err_set(r->err, ERR_INVALID, "split.officers: the token "
		    "URI for %s must name the token (token= or serial=)",
		    r->s->split_officers[i]);
	return open_token(r, uri.token, uri.serial, 1, pool);
}

/* Before anything changes: no share of this name on the officer's token. */
static int
split_token_free(struct run *r, size_t i, secret_t *scratch)
{
	struct hsm_pool *pool;
	int e;

	if ((e = split_token(r, i, &pool)) != 0)
		return e;
	e = hsm_data_get(pool, r->s->name, scratch, r->err);
	secret_wipe(scratch);
	if (e == ERR_NOTFOUND) {
		err_clear(r->err);
		return 0;
	}
	return e != 0 ? e : err_set(r->err, ERR_EXISTS, "the token of %s "
	    "already holds a data object '%s'; give the ceremony another "
	    "name", r->s->split_officers[i], r->s->name);
}

/* Stores one share record on the officer's token and reads it back. */
static int
split_store(struct run *r, size_t i, const secret_t *rec, secret_t *back)
{
	struct hsm_pool *pool;
	int e;

	if ((e = split_token(r, i, &pool)) != 0 ||
	    (e = hsm_data_put(pool, r->s->name, rec, r->err)) != 0 ||
	    (e = hsm_data_get(pool, r->s->name, back, r->err)) != 0)
		return e;
	if (back->len != rec->len || memcmp(back->data, rec->data,
	    rec->len) != 0)
		e = err_set(r->err, ERR_HSM, "the token of %s does not give "
		    "back the share stored on it", r->s->split_officers[i]);
	secret_wipe(back);
	if (e != 0)
		return e;
	return step(r, "stored share %zu for %s on their token as the private "
	    "data object '%s' (%s)", i + 1, r->s->split_officers[i], r->s->name,
	    r->s->split_tokens[i]);
}

/*
 * Sets a new random user PIN on the script's token and gives each officer
 * one share of it, encrypted to their certificate. The order matters:
 * every share file is written before the PIN changes (a PIN set with no
 * shares written would lock the token for good), and the new PIN is
 * proved by a fresh login before the ceremony says it is done.
 */
static int
run_split_pin(struct run *r)
{
	struct script *s = r->s;
	const size_t n = s->n_split_officers;
	const unsigned m = s->split_threshold;
	const char *tname = s->token ? s->token : s->token_serial;
	struct hsm_pool *pool, *check = NULL;
	struct hsm_key *ikey = NULL;
	struct hsm_token_info ti;
	struct hsm_uri uri;
	X509 *issuer = NULL, *certs[PINSHARE_MAX_SHARES] = { NULL };
	secret_t *oldpin = NULL, *newpin = NULL, *again = NULL, *rec = NULL;
	secret_t *shares[PINSHARE_MAX_SHARES] = { NULL };
	char fps[PINSHARE_MAX_SHARES][65], pinfile[4200], spec[4210], what[160];
	char names[PINSHARE_MAX_SHARES][300];
	const char *src;
	size_t i;
	int e;

	/* The issuer's key may sit on another token than the one split. */
	if ((e = load_issuer(r, &issuer, &ikey, &pool)) != 0)
		goto out;
	if ((e = main_token(r, &pool)) != 0 ||
	    (e = hsm_pool_token_info(pool, &ti, r->err)) != 0)
		goto out;
	for (i = 0; i < n && e == 0; i++)
		e = split_officer(r, s->split_officers[i], issuer, &certs[i],
		    fps[i]);
	memset(names, 0, sizeof(names));
	for (i = 0; i < n && e == 0; i++)
		if ((e = secret_new(&shares[i])) != 0)
			e = err_set(r->err, e, "out of memory");
	if (e != 0 || (e = secret_new(&oldpin)) != 0 ||
	    (e = secret_new(&newpin)) != 0 || (e = secret_new(&again)) != 0 ||
	    (e = secret_new(&rec)) != 0) {
		e = e == ERR_NOMEM ? err_set(r->err, e, "out of memory") : e;
		goto out;
	}
	/* The current PIN, from where the login took it (same name). */
	src = tokens_pin_source(r->tok, tname);
	if (r->tok->rehearse) {
		tokens_rehearse_pinfile(r->tok, tname, pinfile,
		    sizeof(pinfile));
		snprintf(spec, sizeof(spec), "file:%s", pinfile);
		src = spec;
	}
	snprintf(what, sizeof(what), "current user PIN for token '%s' (it is "
	    "about to be replaced)", ti.label);
	for (i = 0; i < n && e == 0; i++)
		if (s->split_tokens[i] != NULL)
			e = split_token_free(r, i, again);
	if (e != 0 || (e = hsm_pin_read(src, what, oldpin, r->err)) != 0 ||
	    (e = split_new_pin(r, pool, s->split_pin_length, newpin)) != 0 ||
	    (e = pinshare_split(newpin, m, (unsigned)n, shares, r->err)) != 0)
		goto out;
	{
		unsigned idx[PINSHARE_MAX_SHARES];

		/* Any M rebuild it: check the first M before anything is written. */
		for (i = 0; i < m; i++)
			idx[i] = (unsigned)i + 1;
		if ((e = pinshare_combine(idx, (const secret_t *const *)shares,
		    m, again, r->err)) != 0)
			goto out;
		if (again->len != newpin->len || memcmp(again->data,
		    newpin->data, newpin->len) != 0) {
			e = err_set(r->err, ERR_INTERNAL, "the shares do not "
			    "rebuild the PIN; nothing was changed");
			goto out;
		}
	}
	if ((e = step(r, "made a new random user PIN of %u characters in the "
	    "HSM and split it %u-of-%zu; nobody has seen it",
	    s->split_pin_length, m, n)) != 0)
		goto out;
	for (i = 0; i < n && e == 0; i++) {
		struct pinshare meta;
		char idx[24], ms[24], ns[24];
		buf_t file;

		memset(&meta, 0, sizeof(meta));
		snprintf(meta.token, sizeof(meta.token), "%s", ti.label);
		snprintf(meta.serial, sizeof(meta.serial), "%s", ti.serial);
		meta.threshold = m;
		meta.shares = (unsigned)n;
		meta.index = (unsigned)i + 1;
		memcpy(meta.officer, fps[i], sizeof(meta.officer));
		snprintf(idx, sizeof(idx), "%zu", i + 1);
		snprintf(ms, sizeof(ms), "%u", m);
		snprintf(ns, sizeof(ns), "%zu", n);
		buf_init(&file, PINSHARE_FILE_MAX);
		if ((e = pinshare_format(&meta, shares[i], rec, r->err)) == 0 &&
		    s->split_tokens[i] != NULL) {
			e = split_store(r, i, rec, again);
		} else if (e == 0 &&
		    (e = pinshare_seal(rec, certs[i], &file, r->err)) == 0) {
			const char *attrs[] = { "officer", s->split_officers[i],
			    "officer_sha256", fps[i], "index", idx, "threshold",
			    ms, "shares", ns, "token", ti.label, "serial",
			    ti.serial, NULL };

			snprintf(names[i], sizeof(names[i]), "%s-share-%zu-%.*s.p7m",
			    s->name, i + 1, (int)strlen(s->split_officers[i]) - 4,
			    s->split_officers[i]);
			e = emit_mode(r, names[i], file.data, file.len, 0600,
			    "pin-share", attrs);
			if (e != 0)
				names[i][0] = '\0';
		}
		buf_free(&file);
		secret_wipe(rec);
	}
	if (e != 0)
		goto unwrite;
	if ((e = hsm_pool_set_pin(pool, oldpin, newpin, r->err)) != 0) {
		err_prefix(r->err, "the token's PIN was not changed");
		goto unwrite;
	}
	hsm_uri_init(&uri);
	snprintf(uri.token, sizeof(uri.token), "%s", ti.label);
	snprintf(uri.serial, sizeof(uri.serial), "%s", ti.serial);
	if ((e = hsm_pool_open(r->tok->module, &uri, 1, newpin, &check,
	    r->err)) != 0) {
		err_prefix(r->err, "the token's PIN WAS changed, but the new PIN "
		    "does not log in; keep the share files");
		goto out;
	}
	hsm_pool_close(check);
	if ((e = step(r, "set the new user PIN on token '%s' (serial %s) and "
	    "logged in with it; the old PIN no longer works, and %u of the "
	    "%zu officers' shares are needed to activate", ti.label, ti.serial,
	    m, n)) != 0)
		goto out;
	e = issuer_signs(r, ikey);
	goto out;
unwrite:
	split_unwrite(r, names, n);
out:
	for (i = 0; i < PINSHARE_MAX_SHARES; i++) {
		secret_free(shares[i]);
		X509_free(certs[i]);
	}
	secret_free(oldpin);
	secret_free(newpin);
	secret_free(again);
	secret_free(rec);
	X509_free(issuer);
	hsm_key_free(ikey);
	return e;
}

static int
run_one(struct run *r)
{
	int e;

	say(r->o->say, r->o->say_ctx, "%s ceremony '%s' from %s%s", script_type_name(r->s->type),
	    r->s->name, r->s->path, r->tok->rehearse ? " (rehearsal)" : "");
	if ((e = plan_outputs(r)) != 0)
		return e;
	if ((e = transcript_new(r->s, r->tok->rehearse, &r->tr)) != 0)
		return err_set(r->err, e, "cannot start the transcript");
	if (r->airgap[0] != '\0' && (e = step(r, "%s", r->airgap)) != 0)
		return e;
	switch (r->s->type) {
	case SCRIPT_ROOT: e = run_root(r); break;
	case SCRIPT_INTERMEDIATE: e = run_intermediate(r); break;
	case SCRIPT_KEY: e = run_key(r); break;
	case SCRIPT_CRL: e = run_crl(r); break;
	case SCRIPT_ENROL: e = run_enrol(r); break;
	case SCRIPT_APPLIANCE: e = run_appliance(r); break;
	case SCRIPT_SPLIT_PIN: e = run_split_pin(r); break;
	}
	if (e == 0)
		say(r->o->say, r->o->say_ctx, "  wrote %s.transcript.yaml and %s.transcript.sig",
		    r->s->name, r->s->name);
	return e;
}

static void
run_reset(struct run *r)
{
	size_t i;

	for (i = 0; i < r->n_planned; i++)
		free(r->planned[i]);
	r->n_planned = 0;
	transcript_free(r->tr);
	r->tr = NULL;
	r->n_recorded = 0;
}

/*
 * A rehearsal starts from a copy of the real ceremony directory, so it
 * finds the same issuer certificates and the same name clashes.
 */
static int
rehearsal_seed(const char *from, const char *to, err_t *err)
{
	struct dirent *de;
	DIR *d;
	int e = 0;

	if ((d = opendir(from)) == NULL)
		return 0;	/* a first ceremony: nothing to copy */
	while (e == 0 && (de = readdir(d)) != NULL) {
		char src[4200], dst[4200];
		buf_t b;

		if (de->d_name[0] == '.')
			continue;
		if (fileio_join(src, sizeof(src), from, de->d_name, err) != 0 ||
		    fileio_join(dst, sizeof(dst), to, de->d_name, err) != 0)
			break;
		buf_init(&b, 64 * 1024 * 1024);
		/* Only regular files: fileio_read refuses the rest. */
		if (fileio_read(src, b.max, &b, err) == 0)
			e = fileio_create(dst, b.data, b.len, 0600, err);
		buf_free(&b);
	}
	closedir(d);
	return e;
}

/* After a rehearsal: what the real run would leave in the directory. */
static void
rehearsal_report(const struct ceremony_opts *o, const char *dir,
    char *const *names, size_t n)
{
	size_t i;

	say(o->say, o->say_ctx, "Rehearsal complete. The real run would write into %s:", o->out_dir);
	for (i = 0; i < n; i++) {
		char path[4200];
		X509 *x = NULL;
		err_t ignore;

		if (fileio_join(path, sizeof(path), dir, names[i], &ignore) != 0)
			continue;
		if (strstr(names[i], ".pem") != NULL &&
		    strstr(names[i], ".crl") == NULL &&
		    strstr(names[i], ".pub.") == NULL &&
		    pki_load_cert_file(path, &x, &ignore) == 0) {
			char summary[512];

			pki_cert_summary(x, summary, sizeof(summary));
			say(o->say, o->say_ctx, "  %s: %s", names[i], summary);
			X509_free(x);
		} else {
			say(o->say, o->say_ctx, "  %s", names[i]);
		}
	}
	say(o->say, o->say_ctx, "Nothing was written to %s and no real token was touched.",
	    o->out_dir);
}

/*
 * Loads a script; a failure that produced no located message (the YAML
 * itself is broken, or the file cannot be read) joins the list as well.
 */
static int
load_reporting(const char *path, struct script *s, diag_t *diag, err_t *err)
{
	size_t before = diag_count(diag);
	int e = script_load(path, s, diag, err);

	if (e != 0 && diag_count(diag) == before)
		diag_add(diag, NULL, 0, NULL, "%s", err->msg);
	return e;
}

int
ceremony_check(const char *const *scripts, size_t n, diag_t *diag, err_t *err)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		struct script s;
		int e = load_reporting(scripts[i], &s, diag, err);
		script_free(&s);
		if (e != 0 && e != ERR_INVALID && e != ERR_LIMIT)
			return e;
		bad |= e != 0;
	}
	return bad ? diag_to_err(diag, err, ERR_INVALID) : 0;
}

/*
 * The air-gap guard before any real token is opened: a ceremony creates
 * the keys the whole PKI rests on. The verdict goes into line, for every
 * transcript. A rehearsal touches only a throwaway token: not checked.
 */
static int
ceremony_airgap(const struct ceremony_opts *o, char *line, size_t linesz,
    err_t *err)
{
	struct airgap_finding *f;
	err_t e;
	int r = 0;

	line[0] = '\0';
	if (o->rehearse)
		return 0;
	if ((f = malloc(sizeof(*f))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	err_clear(&e);
	/* Unreadable counts as networked; the reason says which. */
	if (airgap_inspect("/", f, &e) == 0 && airgap_clear(f)) {
		snprintf(line, linesz, "air-gap guard: passed: %s", f->reason);
	} else if (o->network_override) {
		snprintf(line, linesz, "AIR-GAP GUARD OVERRIDDEN (development "
		    "only, --dev-override-network): found: %s", f->reason);
		say(o->say, o->say_ctx, "%s", line);
	} else {
		r = err_set(err, ERR_POLICY, "air-gap guard: %s: a ceremony "
		    "runs only on an air-gapped host; take it off the network "
		    "(--dev-override-network is for development only)",
		    f->reason);
	}
	free(f);
	return r;
}

int
ceremony_run(const char *const *scripts, size_t n,
    const struct ceremony_opts *o, err_t *err)
{
	struct script *parsed = NULL;
	struct tokens tok;
	struct run r;
	char outdir[4200], airgap[AIRGAP_REASON_MAX + 96];
	char *names[MAX_PLANNED];
	size_t i, j, n_names = 0;
	diag_t diag;
	int e = 0, tok_open = 0;

	diag_init(&diag);
	memset(&r, 0, sizeof(r));
	if (n == 0)
		return err_set(err, ERR_INVALID, "no ceremony script given");
	if ((parsed = calloc(n, sizeof(*parsed))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	/* Parse every script before any HSM work: all mistakes at once. */
	for (i = 0; i < n; i++) {
		int pe = load_reporting(scripts[i], &parsed[i], &diag, err);

		if (pe != 0 && pe != ERR_INVALID && pe != ERR_LIMIT) {
			e = pe;
			goto out;
		}
		if (pe != 0)
			e = ERR_INVALID;
	}
	if (e != 0) {
		for (i = 0; i < diag.n; i++) {
			char line[1200];

			diag_format(&diag, i, line, sizeof(line));
			say(o->say, o->say_ctx, "%s", line);
		}
		e = diag_to_err(&diag, err, ERR_INVALID);
		goto out;
	}
	for (i = 1; i < n; i++)
		if (o->module == NULL && strcmp(parsed[i].module,
		    parsed[0].module) != 0) {
			e = err_set(err, ERR_INVALID, "%s and %s name different "
			    "PKCS#11 modules; run them separately", scripts[0],
			    scripts[i]);
			goto out;
		}
	if (oids_init() != 0) {
		e = err_set(err, ERR_INTERNAL, "cannot register Airlock's OIDs");
		goto out;
	}
	if ((e = ceremony_airgap(o, airgap, sizeof(airgap), err)) != 0)
		goto out;
	if ((e = tokens_init(&tok, o->module ? o->module : parsed[0].module,
	    o->pins, o->n_pins, parsed[0].token ? parsed[0].token :
	    parsed[0].token_serial, o->rehearse, err)) != 0)
		goto out;
	tok_open = 1;
	if (o->rehearse) {
		snprintf(outdir, sizeof(outdir), "%s/out", tok.rehearse_dir);
		if ((e = fileio_mkdirs(outdir, 0700, err)) != 0)
			goto out;
		/* The rehearsal starts from what the real directory holds. */
		if ((e = rehearsal_seed(o->out_dir, outdir, err)) != 0)
			goto out;
	} else {
		snprintf(outdir, sizeof(outdir), "%s", o->out_dir);
		if ((e = fileio_mkdirs(outdir, 0755, err)) != 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		r.o = o;
		r.tok = &tok;
		r.s = &parsed[i];
		r.dir = outdir;
		r.airgap = airgap;
		r.err = err;
		tok.default_label = parsed[i].token ? parsed[i].token :
		    parsed[i].token_serial;
		e = run_one(&r);
		for (j = 0; e == 0 && j < r.n_planned && n_names < MAX_PLANNED; j++)
			names[n_names++] = strdup(r.planned[j]);
		run_reset(&r);
		if (e != 0) {
			err_prefix(err, "%s", scripts[i]);
			goto out;
		}
	}
	if (o->rehearse)
		rehearsal_report(o, outdir, names, n_names);
out:
	run_reset(&r);
	for (i = 0; i < n_names; i++)
		free(names[i]);
	if (tok_open)
		tokens_close(&tok);
	for (i = 0; parsed != NULL && i < n; i++)
		script_free(&parsed[i]);
	free(parsed);
	diag_free(&diag);
	return e;
}
