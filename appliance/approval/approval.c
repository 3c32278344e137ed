/* approval.c: signing and verifying approval statements (approval.h). */
#include "approval/approval.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/text.h"

#include "pki/oids.h"
#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "pki/roles.h"
#include "util/timeutil.h"

#define APPR_HOLDER "the officer"
#define APPR_TASK "an approval"

void
approval_signed_init(struct approval_signed *a)
{
	if (a == NULL)
		return;
	memset(a, 0, sizeof(*a));
	buf_init(&a->statement, APPROVAL_STATEMENT_MAX);
	buf_init(&a->sig, APPROVAL_SIG_MAX);
}

void
approval_signed_free(struct approval_signed *a)
{
	if (a == NULL)
		return;
	buf_free(&a->statement);
	buf_free(&a->sig);
	X509_free(a->officer_cert);
	approval_signed_init(a);
}

int
approval_signed_set(struct approval_signed *a, const void *statement,
    size_t statement_len, const void *sig, size_t sig_len, X509 *cert,
    err_t *err)
{
	if (a == NULL || cert == NULL || (statement == NULL &&
	    statement_len > 0) || (sig == NULL && sig_len > 0))
		return err_set(err, ERR_INVALID, "approval_signed_set: missing "
		    "argument");
	approval_signed_init(a);
	if (statement_len > APPROVAL_STATEMENT_MAX)
		return err_set(err, ERR_LIMIT, "the approval statement is %zu "
		    "bytes, more than the limit of %d", statement_len,
		    APPROVAL_STATEMENT_MAX);
	if (sig_len > APPROVAL_SIG_MAX)
		return err_set(err, ERR_LIMIT, "the approval signature is %zu "
		    "bytes, more than the limit of %d", sig_len,
		    APPROVAL_SIG_MAX);
	if (buf_put(&a->statement, statement, statement_len) != 0 ||
	    buf_put(&a->sig, sig, sig_len) != 0 || !X509_up_ref(cert)) {
		approval_signed_free(a);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	a->officer_cert = cert;
	return 0;
}

/*
 * The keys officers may sign with: RSA of 2048 to 8192 bits (PKCS#1
 * v1.5, as `openssl dgst -sign` makes), EC on P-256 or P-384. Anything
 * else is refused by name rather than left to fail later, so an officer
 * learns before signing that the appliance would not accept it.
 */
static int
appr_check_key(X509 *cert, err_t *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	char who[ROLES_NAME_MAX];
	int type;

	roles_name(X509_get_subject_name(cert), who, sizeof(who));
	if (pub == NULL) {
		ERR_clear_error();
		return err_set(err, ERR_POLICY, "the officer's certificate (%s) "
		    "holds a public key OpenSSL cannot read", who);
	}
	type = EVP_PKEY_get_base_id(pub);
	if (type == EVP_PKEY_RSA) {
		int bits = EVP_PKEY_get_bits(pub);

		if (bits < APPROVAL_RSA_MIN_BITS || bits > APPROVAL_RSA_MAX_BITS)
			return err_set(err, ERR_POLICY, "the officer's "
			    "certificate (%s) holds an RSA-%d key; approvals "
			    "are signed with RSA keys of %d to %d bits", who,
			    bits, APPROVAL_RSA_MIN_BITS, APPROVAL_RSA_MAX_BITS);
		return 0;
	}
	if (type == EVP_PKEY_EC) {
		char group[80];
		size_t glen = 0;
		int nid = NID_undef;

		if (EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen))
			nid = OBJ_txt2nid(group);
		ERR_clear_error();
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1)
			return 0;
		return err_set(err, ERR_POLICY, "the officer's certificate (%s) "
		    "holds an EC key on %s; approvals are signed with P-256 or "
		    "P-384", who, nid != NID_undef ? group : "an unnamed curve");
	}
	return err_set(err, ERR_POLICY, "the officer's certificate (%s) holds "
	    "a %s key; approvals are signed with RSA or EC (P-256, P-384) "
	    "keys", who, type != NID_undef && OBJ_nid2sn(type) != NULL ?
	    OBJ_nid2sn(type) : "unknown");
}

/* 1 when sig is pub's signature over data with the key's digest. */
static int
appr_sig_ok(EVP_PKEY *pub, const buf_t *data, const buf_t *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL && sig->len > 0 &&
	    EVP_DigestVerifyInit(ctx, NULL, pkisign_md_for_key(pub, NULL),
	    NULL, pub) == 1 &&
	    EVP_DigestVerify(ctx, sig->data, sig->len, data->data,
	    data->len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int
approval_sign(EVP_PKEY *officer_key, X509 *officer_cert,
    const struct approval_statement *s, struct approval_signed *out,
    err_t *err)
{
	struct approval_statement st;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char fp[65], who[ROLES_NAME_MAX];
	EVP_PKEY *pub;
	int r;

	if (officer_key == NULL || officer_cert == NULL || s == NULL ||
	    out == NULL)
		return err_set(err, ERR_INVALID, "approval_sign: missing "
		    "argument");
	approval_signed_init(out);
	if (pki_cert_sha256_hex(officer_cert, fp) != 0) {
		ERR_clear_error();
		return err_set(err, ERR_CRYPTO, "cannot compute the officer "
		    "certificate's SHA-256");
	}
	st = *s;
	if (st.officer[0] == '\0')
		memcpy(st.officer, fp, sizeof(st.officer));
	else if (strncmp(st.officer, fp, sizeof(st.officer)) != 0) {
		roles_name(X509_get_subject_name(officer_cert), who,
		    sizeof(who));
		return err_set(err, ERR_INVALID, "the statement names officer "
		    "%.64s, but the signing certificate (%s) is %s", st.officer,
		    who, fp);
	}
	if ((r = appr_check_key(officer_cert, err)) != 0)
		return r;
	if ((r = approval_statement_format(&st, &out->statement, err)) != 0)
		goto fail;
	pub = X509_get0_pubkey(officer_cert);
	if ((r = pkisign_blob(officer_key, pkisign_md_for_key(pub, NULL),
	    out->statement.data, out->statement.len, &sig, &siglen,
	    err)) != 0)
		goto fail;
	if ((r = buf_put(&out->sig, sig, siglen)) != 0) {
		r = err_set(err, r, "the signature is %zu bytes, more than %d",
		    siglen, APPROVAL_SIG_MAX);
		goto fail;
	}
	/* A key that is not the certificate's would make a dead approval. */
	if (!appr_sig_ok(pub, &out->statement, &out->sig)) {
		roles_name(X509_get_subject_name(officer_cert), who,
		    sizeof(who));
		r = err_set(err, ERR_POLICY, "the signature does not verify "
		    "under the officer's certificate (%s): the key used does "
		    "not belong to it", who);
		goto fail;
	}
	if (!X509_up_ref(officer_cert)) {
		r = err_set(err, ERR_CRYPTO, "cannot keep the officer's "
		    "certificate");
		goto fail;
	}
	out->officer_cert = officer_cert;
	OPENSSL_free(sig);
	return 0;
fail:
	OPENSSL_free(sig);
	approval_signed_free(out);
	ERR_clear_error();
	return r;
}

/* What the statement is about must be what the caller collects for. */
static int
appr_check_subject(const struct approval_statement *s,
    const struct approval_verify_opts *o, const char *who, err_t *err)
{
	const char *want = approval_kind_name(o->kind);

	if (s->kind != o->kind)
		return err_set(err, ERR_POLICY, "the approval by %s is for a "
		    "%s, not a %s: it does not count here", who,
		    approval_kind_name(s->kind), want);
	if (s->object != o->object)
		return err_set(err, ERR_POLICY, "the approval by %s is for %s "
		    "%" PRId64 ", not %s %" PRId64 ": it does not count here",
		    who, want, s->object, want, o->object);
	if (strcmp(s->digest, o->digest) != 0)
		return err_set(err, ERR_POLICY, "the approval by %s is over "
		    "another digest: it names %s, but %s %" PRId64 " is %s; a "
		    "statement over another digest never counts", who,
		    s->digest, want, o->object, o->digest);
	return 0;
}

/* The statement's time: not ahead of the clock, not before the object. */
static int
appr_check_time(const struct approval_statement *s,
    const struct approval_verify_opts *o, const char *who, err_t *err)
{
	char when[TIMEUTIL_STRLEN], ref[TIMEUTIL_STRLEN];

	timeutil_format(s->time, when);
	if (s->time > o->now && s->time - o->now > APPROVAL_CLOCK_SKEW) {
		timeutil_format(o->now, ref);
		return err_set(err, ERR_POLICY, "the approval by %s is dated "
		    "%s, in the future: the appliance's time is %s and at most "
		    "%d seconds of clock difference are allowed", who, when,
		    ref, APPROVAL_CLOCK_SKEW);
	}
	if (s->time < o->not_before) {
		timeutil_format(o->not_before, ref);
		return err_set(err, ERR_POLICY, "the approval by %s is dated "
		    "%s, before %s %" PRId64 " was created (%s): it cannot be "
		    "about it", who, when, approval_kind_name(o->kind),
		    o->object, ref);
	}
	return 0;
}

int
approval_verify(const struct approval_signed *a,
    const struct approval_verify_opts *o, struct approval_statement *out,
    err_t *err)
{
	struct approval_statement s;
	char fp[65], who[ROLES_NAME_MAX];
	X509 *cert;
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (a == NULL || o == NULL)
		return err_set(err, ERR_INTERNAL, "approval_verify: missing "
		    "argument");
	if (o->people_cas == NULL || sk_X509_num(o->people_cas) < 1)
		return err_set(err, ERR_INTERNAL, "no people CA certificate is "
		    "configured to check officers against");
	if (!text_is_lower_hex(o->digest, 64) || approval_kind_name(o->kind) == NULL
	    || o->object < 1)
		return err_set(err, ERR_INTERNAL, "approval_verify: the "
		    "expected kind, object or digest is not valid");
	if ((cert = a->officer_cert) == NULL)
		return err_set(err, ERR_INVALID, "the approval comes without "
		    "the officer's certificate");

	/* 1. The text, before anything else looks at it. */
	if ((r = approval_statement_parse("approval statement",
	    a->statement.data, a->statement.len, &s, err)) != 0)
		return r;
	/* 2. Identity first: the statement names the certificate given. */
	roles_name(X509_get_subject_name(cert), who, sizeof(who));
	if (pki_cert_sha256_hex(cert, fp) != 0) {
		ERR_clear_error();
		return err_set(err, ERR_CRYPTO, "cannot compute the officer "
		    "certificate's SHA-256");
	}
	if (strcmp(s.officer, fp) != 0)
		return err_set(err, ERR_POLICY, "the statement names officer "
		    "%s, but it comes with the certificate of %s, whose SHA-256 "
		    "is %s", s.officer, who, fp);
	/* 3. An enrolled officer, nothing else, with a key we accept. */
	if ((r = roles_check(cert, o->people_cas, o->chain, o->now,
	    OIDS_ROLE_OFFICER, KU_DIGITAL_SIGNATURE, APPR_HOLDER, APPR_TASK,
	    err)) != 0)
		return r;
	if ((r = appr_check_key(cert, err)) != 0)
		return r;
	/* 4. The signature; what it says is judged only once it is true. */
	if (a->sig.len == 0 || a->sig.len > APPROVAL_SIG_MAX ||
	    !appr_sig_ok(X509_get0_pubkey(cert), &a->statement, &a->sig))
		return err_set(err, ERR_POLICY, "the approval's signature does "
		    "not verify under the officer's certificate (%s): the "
		    "statement changed after signing, or another key signed "
		    "it (RSA PKCS#1 v1.5 or ECDSA, with %s)", who,
		    EVP_MD_get0_name(pkisign_md_for_key(X509_get0_pubkey(cert),
		    NULL)));
	/* 5 and 6. */
	if ((r = appr_check_subject(&s, o, who, err)) != 0 ||
	    (r = appr_check_time(&s, o, who, err)) != 0)
		return r;
	if (out != NULL)
		*out = s;
	return 0;
}
