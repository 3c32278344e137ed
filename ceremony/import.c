/* import.c: ceremony outputs into the appliance state (see import.h). */
#include "ceremony/import.h"

#include <dirent.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/log.h"
#include "ceremony/transcript.h"
#include "pki/certinfo.h"
#include "pki/oids.h"
#include "pki/pkiutil.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/say.h"
#include "util/timeutil.h"

#define IMPORT_MAX_TRANSCRIPTS 512
#define IMPORT_MAX_CAS 256

/* A CA imported so far: its file in the ceremony directory and its row. */
struct known_ca {
	char *file;
	int64_t id;
	X509 *cert;
};

struct import {
	const struct import_opts *o;
	struct store *st;
	struct known_ca cas[IMPORT_MAX_CAS];
	size_t n_cas;
	int n_people, n_appkeys, n_crls;
	err_t *err;
};

static struct known_ca *
find_ca(struct import *im, const char *file)
{
	size_t i;

	for (i = 0; file != NULL && i < im->n_cas; i++)
		if (strcmp(im->cas[i].file, file) == 0)
			return &im->cas[i];
	return NULL;
}

static int
load_output(struct import *im, const char *file, X509 **x)
{
	char path[4200];
	int e;

	if ((e = fileio_join(path, sizeof(path), im->o->ceremony_dir, file,
	    im->err)) != 0)
		return e;
	return pki_load_cert_file(path, x, im->err);
}

/* The certificate must be signed by the CA in the issuer file. */
static int
check_issued(struct import *im, X509 *x, const char *file,
    const struct known_ca *ca)
{
	EVP_PKEY *pub;
	int ok;

	if (ca == NULL)
		return err_set(im->err, ERR_INVALID, "%s: its issuer is not a CA "
		    "from an earlier ceremony in this directory", file);
	if ((pub = X509_get0_pubkey(ca->cert)) == NULL)
		return err_set(im->err, ERR_CRYPTO, "%s: unusable issuer key",
		    ca->file);
	ok = X509_verify(x, pub) == 1 && X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ca->cert)) == 0;
	ERR_clear_error();
	if (!ok)
		return err_set(im->err, ERR_INVALID, "%s is not signed by %s",
		    file, ca->file);
	return 0;
}

struct certrow {
	char subject[512];
	char serial[41 + 1];
	char sha256[65];
	char ski[129];
	unsigned char *der;
	int der_len;
	int64_t nb, na;
};

static int
certrow_fill(struct import *im, X509 *x, struct certrow *c)
{
	memset(c, 0, sizeof(*c));
	if (certinfo_subject_text(x, c->subject, sizeof(c->subject)) != 0 ||
	    certinfo_serial_hex(x, c->serial, sizeof(c->serial)) != 0 ||
	    pki_cert_sha256_hex(x, c->sha256) != 0 ||
	    certinfo_validity(x, &c->nb, &c->na) != 0 ||
	    (c->der_len = i2d_X509(x, &c->der)) <= 0)
		return err_set_ossl(im->err, ERR_CRYPTO, "cannot read a "
		    "certificate");
	(void)certinfo_ski_hex(x, c->ski, sizeof(c->ski));
	return 0;
}

static int
add_cert_row(struct import *im, const struct certrow *c, int64_t ca_id,
    const char *kind)
{
	struct store_cert sc;

	memset(&sc, 0, sizeof(sc));
	sc.serial = c->serial;
	sc.ca_id = ca_id;
	sc.kind = kind;
	sc.subject = c->subject;
	sc.sha256 = c->sha256;
	sc.not_before = c->nb;
	sc.not_after = c->na;
	sc.der = c->der;
	sc.der_len = (size_t)c->der_len;
	sc.created = time(NULL);
	return store_cert_add(im->st, &sc, im->err);
}

static int
import_ca(struct import *im, const struct transcript_output *out)
{
	const char *purpose = transcript_output_attr(out, "purpose");
	const char *name = transcript_output_attr(out, "ca");
	const char *key = transcript_output_attr(out, "key");
	const char *issuer = transcript_output_attr(out, "issuer");
	struct known_ca *parent = NULL;
	struct store_ca ca;
	struct certrow c;
	X509 *x = NULL;
	int64_t id = 0;
	int e;

	if (purpose == NULL || name == NULL || key == NULL)
		return err_set(im->err, ERR_INVALID, "%s: transcript lacks the "
		    "CA's purpose, name or key", out->file);
	if ((e = load_output(im, out->file, &x)) != 0)
		return e;
	if ((e = certrow_fill(im, x, &c)) != 0)
		goto out;
	if (strcmp(purpose, "root") == 0) {
		EVP_PKEY *pub = X509_get0_pubkey(x);

		if (pub == NULL || X509_verify(x, pub) != 1) {
			ERR_clear_error();
			e = err_set(im->err, ERR_INVALID, "%s: the root "
			    "certificate's self-signature does not verify",
			    out->file);
			goto out;
		}
		if (im->o->n_root_sha256 > 0) {
			size_t k;
			int listed = 0;

			for (k = 0; k < im->o->n_root_sha256; k++)
				listed |= strcasecmp(im->o->root_sha256[k],
				    c.sha256) == 0;
			if (!listed) {
				e = err_set(im->err, ERR_POLICY, "%s has SHA-256 %s, "
				    "which is not one of the --root-sha256 you "
				    "expected: stop, this is not your root",
				    out->file, c.sha256);
				goto out;
			}
		}
		say(im->o->say, im->o->say_ctx, "root CA %s: SHA-256 %s", name, c.sha256);
	} else {
		parent = find_ca(im, issuer);
		if ((e = check_issued(im, x, out->file, parent)) != 0)
			goto out;
	}
	if (strcmp(purpose, "external") == 0) {
		/* A customer's CA: we issued it but hold no key for it. */
		e = add_cert_row(im, &c, parent->id, "ca");
		if (e == 0)
			say(im->o->say, im->o->say_ctx, "external CA %s issued by %s", name, issuer);
		goto out;
	}
	memset(&ca, 0, sizeof(ca));
	ca.name = name;
	ca.parent_id = parent ? parent->id : 0;
	ca.key_uri = key;
	ca.cert_der = c.der;
	ca.cert_der_len = (size_t)c.der_len;
	ca.subject = c.subject;
	ca.ski = c.ski;
	ca.sha256 = c.sha256;
	ca.not_before = c.nb;
	ca.not_after = c.na;
	ca.is_root = parent == NULL;
	ca.purpose = purpose;
	ca.created = time(NULL);
	if ((e = store_ca_add(im->st, &ca, &id, im->err)) != 0)
		goto out;
	if ((e = add_cert_row(im, &c, parent ? parent->id : id, "ca")) != 0)
		goto out;
	if (im->n_cas == IMPORT_MAX_CAS) {
		e = err_set(im->err, ERR_LIMIT, "more than %d CAs",
		    IMPORT_MAX_CAS);
		goto out;
	}
	im->cas[im->n_cas].file = strdup(out->file);
	im->cas[im->n_cas].id = id;
	im->cas[im->n_cas].cert = x;
	x = NULL;
	im->n_cas++;
	if (parent != NULL)
		say(im->o->say, im->o->say_ctx, "CA %s (%s) issued by %s", name, purpose, issuer);
out:
	OPENSSL_free(c.der);
	X509_free(x);
	return e;
}

static const char *const roles[] = { "officer", "operator", "auditor" };
static const enum oids_id role_oids[] = { OIDS_ROLE_OFFICER,
    OIDS_ROLE_OPERATOR, OIDS_ROLE_AUDITOR };

static int
import_person(struct import *im, const struct transcript_output *out)
{
	const char *role = transcript_output_attr(out, "role");
	const char *name = transcript_output_attr(out, "name");
	struct known_ca *ca = find_ca(im, transcript_output_attr(out, "issuer"));
	struct store_person p;
	struct certrow c;
	X509 *x = NULL;
	size_t i;
	int e, oid = -1;

	for (i = 0; role != NULL && i < 3; i++)
		if (strcmp(role, roles[i]) == 0)
			oid = oids_nid(role_oids[i]);
	if (oid <= 0 || name == NULL)
		return err_set(im->err, ERR_INVALID, "%s: unknown role or no "
		    "name in the transcript", out->file);
	if ((e = load_output(im, out->file, &x)) != 0)
		return e;
	if ((e = check_issued(im, x, out->file, ca)) != 0)
		goto out;
	/* The transcript's word for the role must match the certificate. */
	if (!certinfo_has_eku(x, oid)) {
		e = err_set(im->err, ERR_INVALID, "%s: the certificate does not "
		    "carry the %s role its transcript claims", out->file, role);
		goto out;
	}
	if ((e = certrow_fill(im, x, &c)) != 0)
		goto out;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.role = role;
	p.ca_id = ca->id;
	p.cert_der = c.der;
	p.cert_der_len = (size_t)c.der_len;
	p.sha256 = c.sha256;
	p.serial = c.serial;
	p.subject = c.subject;
	p.not_before = c.nb;
	p.not_after = c.na;
	p.created = time(NULL);
	if ((e = store_person_add(im->st, &p, NULL, im->err)) == 0)
		e = add_cert_row(im, &c, ca->id, "person");
	OPENSSL_free(c.der);
	if (e == 0) {
		im->n_people++;
		say(im->o->say, im->o->say_ctx, "%s: %s", role, name);
	}
out:
	X509_free(x);
	return e;
}

static int
import_appkey(struct import *im, const struct transcript_output *out)
{
	const char *purpose = transcript_output_attr(out, "purpose");
	const char *key = transcript_output_attr(out, "key");
	struct known_ca *ca = find_ca(im, transcript_output_attr(out, "issuer"));
	struct store_appkey k;
	struct certrow c;
	X509 *x = NULL;
	int e;

	if (purpose == NULL || key == NULL)
		return err_set(im->err, ERR_INVALID, "%s: no purpose or key in "
		    "the transcript", out->file);
	if ((e = load_output(im, out->file, &x)) != 0)
		return e;
	if ((e = check_issued(im, x, out->file, ca)) != 0 ||
	    (e = certrow_fill(im, x, &c)) != 0)
		goto out;
	memset(&k, 0, sizeof(k));
	k.purpose = purpose;
	k.key_uri = key;
	k.cert_der = c.der;
	k.cert_der_len = (size_t)c.der_len;
	k.sha256 = c.sha256;
	k.not_after = c.na;
	k.created = time(NULL);
	if ((e = store_appkey_add(im->st, &k, NULL, im->err)) == 0)
		e = add_cert_row(im, &c, ca->id, "appliance");
	OPENSSL_free(c.der);
	if (e == 0) {
		im->n_appkeys++;
		say(im->o->say, im->o->say_ctx, "appliance %s key: %s", purpose, key);
	}
out:
	X509_free(x);
	return e;
}

static int
import_crl(struct import *im, const struct transcript_output *out)
{
	struct known_ca *ca = find_ca(im, transcript_output_attr(out, "issuer"));
	char path[4200];
	struct store_crl sc;
	X509_CRL *crl = NULL;
	const unsigned char *p;
	buf_t b;
	int64_t number = 0;
	int e;

	if (ca == NULL)
		return err_set(im->err, ERR_INVALID, "%s: its issuer is not a CA "
		    "from an earlier ceremony", out->file);
	buf_init(&b, 64 * 1024 * 1024);
	if ((e = fileio_join(path, sizeof(path), im->o->ceremony_dir, out->file,
	    im->err)) != 0 || (e = fileio_read(path, b.max, &b, im->err)) != 0)
		goto out;
	p = b.data;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)b.len)) == NULL ||
	    X509_CRL_verify(crl, X509_get0_pubkey(ca->cert)) != 1) {
		ERR_clear_error();
		e = err_set(im->err, ERR_INVALID, "%s is not a CRL signed by %s",
		    out->file, ca->file);
		goto out;
	}
	memset(&sc, 0, sizeof(sc));
	if ((e = certinfo_crl(crl, &number, &sc.this_update, &sc.next_update,
	    im->err)) != 0)
		goto out;
	sc.ca_id = ca->id;
	sc.number = number;
	sc.der = b.data;
	sc.der_len = b.len;
	if ((e = store_crl_add(im->st, &sc, im->err)) == 0) {
		im->n_crls++;
		say(im->o->say, im->o->say_ctx, "CRL %lld of %s", (long long)number, ca->file);
	}
out:
	X509_CRL_free(crl);
	buf_free(&b);
	return e;
}

/* Appends one record of a ceremony's import (AUDIT_ROLE_CEREMONY). */
static int
import_audit(struct import *im, const struct transcript_info *t,
    const char *action, const char *objects, const char *details)
{
	struct audit_entry ae;
	char who[AUDIT_NAME_MAX];

	snprintf(who, sizeof(who), "ceremony %s", t->ceremony);
	memset(&ae, 0, sizeof(ae));
	ae.actor_name = who;
	ae.role = AUDIT_ROLE_CEREMONY;
	ae.action = action;
	ae.outcome = "ok";
	ae.objects = objects;
	ae.details = details;
	return audit_log_append(im->st, &ae, time(NULL), NULL, im->err);
}

/*
 * The ceremony in the audit log, inside the import's transaction: each
 * step with its time, each output with its digest, then the import with
 * who was present and which key signed the transcript.
 */
static int
import_audit_ceremony(struct import *im, const struct transcript_info *t)
{
	char name[AUDIT_VALUE_MAX], file[AUDIT_VALUE_MAX], when[TIMEUTIL_STRLEN];
	char objects[2 * AUDIT_VALUE_MAX + 100];
	buf_t details;
	size_t i, j;
	int e = 0;

	buf_init(&details, AUDIT_DETAILS_MAX);
	snprintf(objects, sizeof(objects), "ceremony=%s transcript=%s",
	    audit_objects_value(t->ceremony, name, sizeof(name)), t->sha256);
	for (i = 0; i < t->n_steps && e == 0; i++) {
		buf_reset(&details);
		timeutil_format(t->steps[i].time, when);
		(void)buf_printf(&details, "at %s: %s", when, t->steps[i].what);
		(void)buf_put_u8(&details, 0);
		e = import_audit(im, t, "ceremony-step", objects,
		    buf_ok(&details) ? (const char *)details.data : "");
	}
	for (i = 0; i < t->n_outputs && e == 0; i++) {
		const struct transcript_output *o = &t->outputs[i];
		char oo[sizeof(objects) + AUDIT_VALUE_MAX + 8];

		snprintf(oo, sizeof(oo), "ceremony=%s file=%s", name,
		    audit_objects_value(o->file, file, sizeof(file)));
		buf_reset(&details);
		(void)buf_printf(&details, "%s, sha256 %s", o->kind, o->sha256);
		for (j = 0; j < o->n_attrs; j++)
			(void)buf_printf(&details, ", %s %s", o->attr_key[j],
			    o->attr_val[j]);
		(void)buf_put_u8(&details, 0);
		e = import_audit(im, t, "ceremony-output", oo,
		    buf_ok(&details) ? (const char *)details.data : "");
	}
	if (e == 0) {
		buf_reset(&details);
		timeutil_format(t->started, when);
		(void)buf_printf(&details, "%s ceremony started %s, %zu steps, "
		    "%zu outputs, transcript signed by the key with SHA-256 %s "
		    "(%s); present:", t->type, when, t->n_steps, t->n_outputs,
		    t->signer_sha256, t->signer_file);
		for (i = 0; i < t->n_present; i++)
			(void)buf_printf(&details, "%s %s", i ? "," : "",
			    t->present[i]);
		(void)buf_put_u8(&details, 0);
		e = import_audit(im, t, "ceremony-imported", objects,
		    buf_ok(&details) ? (const char *)details.data :
		    "(details too long)");
	}
	buf_free(&details);
	return e;
}

static int
import_one(struct import *im, const struct transcript_info *t)
{
	struct store_ceremony c;
	size_t i;
	int e = 0;

	if (t->rehearsal)
		return err_set(im->err, ERR_POLICY, "%s is a rehearsal transcript; "
		    "only real ceremonies make an appliance", t->ceremony);
	memset(&c, 0, sizeof(c));
	c.name = t->ceremony;
	c.type = t->type;
	c.transcript_sha256 = t->sha256;
	c.signer_sha256 = t->signer_sha256;
	c.ran_at = t->started;
	c.imported_at = time(NULL);
	if ((e = store_ceremony_add(im->st, &c, NULL, im->err)) != 0)
		return e;
	for (i = 0; i < t->n_outputs && e == 0; i++) {
		const struct transcript_output *out = &t->outputs[i];

		if (strcmp(out->kind, "ca-certificate") == 0)
			e = import_ca(im, out);
		else if (strcmp(out->kind, "person-certificate") == 0)
			e = import_person(im, out);
		else if (strcmp(out->kind, "appliance-certificate") == 0)
			e = import_appkey(im, out);
		else if (strcmp(out->kind, "crl") == 0)
			e = import_crl(im, out);
	}
	/*
	 * Who signed the transcript matters too: after the root ceremony,
	 * only a CA already known may vouch for a ceremony.
	 */
	if (e == 0 && strcmp(t->type, "key") != 0 &&
	    find_ca(im, t->signer_file) == NULL)
		e = err_set(im->err, ERR_INVALID, "%s: signed by %s, which is not "
		    "a CA of this directory", t->ceremony, t->signer_file);
	if (e == 0)
		e = import_audit_ceremony(im, t);
	return e;
}

/*
 * A transcript can be imported once the CAs it depends on are known: the
 * CA that signed it and every issuer its outputs name. Start times are not
 * enough to order ceremonies run within the same second.
 */
static const char *
missing_dependency(struct import *im, const struct transcript_info *t)
{
	size_t i;

	if (strcmp(t->type, "root") == 0 || strcmp(t->type, "key") == 0)
		return NULL;
	if (find_ca(im, t->signer_file) == NULL)
		return t->signer_file;
	for (i = 0; i < t->n_outputs; i++) {
		const char *issuer = transcript_output_attr(&t->outputs[i],
		    "issuer");

		if (issuer != NULL && find_ca(im, issuer) == NULL)
			return issuer;
	}
	return NULL;
}

/* Imports every transcript, each after the ones it depends on. */
static int
import_all(struct import *im, struct transcript_info *ts, size_t n)
{
	unsigned char *done = calloc(n, 1);
	size_t left = n, i;
	int e = 0, progress = 1;

	if (done == NULL)
		return err_set(im->err, ERR_NOMEM, "out of memory");
	while (left > 0 && progress && e == 0) {
		progress = 0;
		for (i = 0; i < n && e == 0; i++) {
			if (done[i] || missing_dependency(im, &ts[i]) != NULL)
				continue;
			e = import_one(im, &ts[i]);
			done[i] = 1;
			left--;
			progress = 1;
		}
	}
	for (i = 0; e == 0 && i < n; i++)
		if (!done[i])
			e = err_set(im->err, ERR_INVALID, "ceremony %s depends on "
			    "%s, which no ceremony in %s created",
			    ts[i].ceremony, missing_dependency(im, &ts[i]),
			    im->o->ceremony_dir);
	free(done);
	return e;
}

int
import_run(const struct import_opts *o, err_t *err)
{
	struct transcript_info *ts = NULL;
	struct import im;
	struct dirent *de;
	size_t n = 0, i;
	DIR *d = NULL;
	int e = 0, have_root = 0;

	memset(&im, 0, sizeof(im));
	im.o = o;
	im.err = err;
	if (fileio_exists(o->db_path))
		return err_set(err, ERR_EXISTS, "%s already exists; init makes a "
		    "new appliance state and never changes an existing one",
		    o->db_path);
	if (oids_init() != 0)
		return err_set(err, ERR_INTERNAL, "cannot register OIDs");
	if ((d = opendir(o->ceremony_dir)) == NULL)
		return err_set(err, ERR_IO, "cannot read ceremony directory %s",
		    o->ceremony_dir);
	if ((ts = calloc(IMPORT_MAX_TRANSCRIPTS, sizeof(*ts))) == NULL) {
		e = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 16 || strcmp(de->d_name + len - 16,
		    ".transcript.yaml") != 0)
			continue;
		if (n == IMPORT_MAX_TRANSCRIPTS) {
			e = err_set(err, ERR_LIMIT, "more than %d transcripts",
			    IMPORT_MAX_TRANSCRIPTS);
			goto out;
		}
		if ((e = transcript_verify(o->ceremony_dir, de->d_name, &ts[n],
		    err)) != 0)
			goto out;
		say(o->say, o->say_ctx, "verified %s", de->d_name);
		have_root |= strcmp(ts[n].type, "root") == 0;
		n++;
	}
	if (n == 0 || !have_root) {
		e = err_set(err, ERR_NOTFOUND, "%s holds no %stranscript; run "
		    "the ceremonies first", o->ceremony_dir,
		    n == 0 ? "" : "root ceremony ");
		goto out;
	}
	if ((e = store_open(o->db_path, 1, &im.st, err)) != 0)
		goto out;
	if ((e = store_begin(im.st, err)) != 0)
		goto out;
	e = import_all(&im, ts, n);
	if (e == 0)
		e = store_meta_set(im.st, "initialised_from", o->ceremony_dir, err);
	if (e == 0)
		e = store_commit(im.st, err);
	else
		store_rollback(im.st);
	if (e == 0)
		say(o->say, o->say_ctx, "appliance state %s: %zu CA(s), %d people, %d appliance "
		    "key(s), %d CRL(s), from %zu ceremonies", o->db_path, im.n_cas,
		    im.n_people, im.n_appkeys, im.n_crls, n);
out:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < n; i++)
		transcript_info_free(&ts[i]);
	free(ts);
	for (i = 0; i < im.n_cas; i++) {
		free(im.cas[i].file);
		X509_free(im.cas[i].cert);
	}
	store_close(im.st);
	if (e != 0 && im.st != NULL) {
		/* No half-made appliance: remove what store_open created. */
		char side[4300];

		unlink(o->db_path);
		snprintf(side, sizeof(side), "%s-wal", o->db_path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", o->db_path);
		unlink(side);
	}
	return e;
}
