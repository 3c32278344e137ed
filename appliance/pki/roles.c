/* roles.c: a person's certificate, its path and its one role (roles.h). */
#include "pki/roles.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "pki/certinfo.h"
#include "util/text.h"
#include "util/timeutil.h"

/* The three person roles, in the order messages prefer to name them. */
static const enum oids_id roles_all[] = {
	OIDS_ROLE_OFFICER, OIDS_ROLE_OPERATOR, OIDS_ROLE_AUDITOR
};
#define ROLES_N (sizeof(roles_all) / sizeof(roles_all[0]))

/* "officer" from "airlock-officer": the word a person reads. */
static const char *
roles_word(enum oids_id role)
{
	switch (role) {
	case OIDS_ROLE_OFFICER:
		return "officer";
	case OIDS_ROLE_OPERATOR:
		return "operator";
	case OIDS_ROLE_AUDITOR:
		return "auditor";
	default:
		return NULL;
	}
}

/*
 * Copies len bytes of a name printed by OpenSSL into out: a cut never
 * splits a UTF-8 character, and anything that could hide or reorder text
 * on the console becomes '?'.
 */
static void
roles_cut(const unsigned char *s, size_t len, char *out, size_t outsz)
{
	size_t i = 0, o = 0, j;
	uint32_t cp;

	if (outsz < 4) {
		if (outsz > 0)
			out[0] = '\0';
		return;
	}
	while (i < len) {
		size_t k = text_utf8_next(s + i, len - i, &cp);

		if (k == 0 || text_forbidden(cp)) {
			/* One mark per bad byte or per refused character. */
			k = k == 0 ? 1 : k;
			if (o + 1 > outsz - 4)
				break;
			out[o++] = '?';
			i += k;
			continue;
		}
		if (o + k > outsz - 4)
			break;
		for (j = 0; j < k; j++)
			out[o++] = (char)s[i + j];
		i += k;
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void
roles_name(const X509_NAME *name, char *out, size_t outsz)
{
	BIO *b;
	char *p = NULL;
	long n;

	if (outsz == 0)
		return;
	snprintf(out, outsz, "an unprintable name");
	if (name == NULL || (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) >= 0 && p != NULL)
		roles_cut((const unsigned char *)p, (size_t)n, out, outsz);
	BIO_free(b);
	ERR_clear_error();
}

/* Turns a failed path check into its message. */
static int
roles_chain_error(X509_STORE_CTX *ctx, X509 *cert, const char *holder,
    const char *who, err_t *err)
{
	char when[TIMEUTIL_STRLEN], name[ROLES_NAME_MAX];
	int e = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	int64_t nb = 0, na = 0;

	if (cur == NULL)
		cur = cert;
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		(void)certinfo_validity(cur, &nb, &na);
		timeutil_format((time_t)(e == X509_V_ERR_CERT_HAS_EXPIRED ?
		    na : nb), when);
		if (depth == 0)
			return err_set(err, ERR_POLICY, "%s's certificate (%s) "
			    "%s %s", holder, who,
			    e == X509_V_ERR_CERT_HAS_EXPIRED ? "expired at" :
			    "is not valid before", when);
		roles_name(X509_get_subject_name(cur), name, sizeof(name));
		return err_set(err, ERR_POLICY, "the certificate of %s, above "
		    "%s's (%s), %s %s", name, holder, who,
		    e == X509_V_ERR_CERT_HAS_EXPIRED ? "expired at" :
		    "is not valid before", when);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		roles_name(X509_get_issuer_name(cert), name, sizeof(name));
		return err_set(err, ERR_POLICY, "%s's certificate (%s, issued "
		    "by %s) does not chain to the appliance's people CA",
		    holder, who, name);
	default:
		return err_set(err, ERR_POLICY, "%s's certificate (%s) does "
		    "not verify against the appliance's people CA: %s "
		    "(certificate %d of the path)", holder, who,
		    X509_verify_cert_error_string(e), depth + 1);
	}
}

int
roles_check_chain(X509 *cert, STACK_OF(X509) *anchors,
    STACK_OF(X509) *chain, time_t now, const char *holder, err_t *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	char who[ROLES_NAME_MAX];
	int i, r = 0;

	if (holder == NULL)
		holder = "the person";
	if (cert == NULL)
		return err_set(err, ERR_INTERNAL, "no certificate to check for "
		    "%s", holder);
	if (anchors == NULL || sk_X509_num(anchors) < 1)
		return err_set(err, ERR_INTERNAL, "no people CA certificate is "
		    "configured to check %s against", holder);
	roles_name(X509_get_subject_name(cert), who, sizeof(who));
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sk_X509_num(anchors); i++) {
		if (!X509_STORE_add_cert(store, sk_X509_value(anchors, i))) {
			r = err_set(err, ERR_CRYPTO, "cannot load the people "
			    "CA certificates");
			goto out;
		}
	}
	if (!X509_STORE_CTX_init(ctx, store, cert, chain)) {
		r = err_set(err, ERR_CRYPTO, "cannot set up certificate "
		    "verification");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	/* The people CA is the anchor, whoever issued it. */
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(param, now);
	if (X509_verify_cert(ctx) != 1)
		r = roles_chain_error(ctx, cert, holder, who, err);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return r;
}

int
roles_check_role(X509 *cert, enum oids_id role, uint32_t ku_any,
    const char *holder, const char *task, err_t *err)
{
	char who[ROLES_NAME_MAX];
	const char *want = roles_word(role), *other = NULL;
	int has[ROLES_N], has_want = 0;
	size_t i;

	if (holder == NULL)
		holder = "the person";
	if (task == NULL)
		task = "this task";
	if (cert == NULL || want == NULL)
		return err_set(err, ERR_INTERNAL, "roles_check_role: no "
		    "certificate or not a person's role");
	for (i = 0; i < ROLES_N; i++) {
		int nid = oids_nid(roles_all[i]);

		if (nid == NID_undef)
			return err_set(err, ERR_CRYPTO, "cannot register "
			    "Airlock's object identifiers with OpenSSL");
		has[i] = certinfo_has_eku(cert, nid);
		if (roles_all[i] == role)
			has_want = has[i];
		else if (has[i] && other == NULL)
			other = roles_word(roles_all[i]);
	}
	ERR_clear_error();
	roles_name(X509_get_subject_name(cert), who, sizeof(who));
	if (!has_want && other != NULL)
		return err_set(err, ERR_POLICY, "%s's certificate (%s) is an "
		    "%s's (extended key usage airlock-%s), not an %s's: the "
		    "wrong role for %s", holder, who, other, other, want,
		    task);
	if (!has_want)
		return err_set(err, ERR_POLICY, "%s's certificate (%s) does "
		    "not carry the %s role (extended key usage airlock-%s)",
		    holder, who, want, want);
	if (other != NULL)
		return err_set(err, ERR_POLICY, "%s's certificate (%s) holds "
		    "the %s role besides the %s role; one person, one role: "
		    "for %s it must hold the %s role alone", holder, who,
		    other, want, task, want);
	/* X509_get_key_usage gives all bits when there is no extension. */
	if ((X509_get_key_usage(cert) & ku_any) == 0)
		return err_set(err, ERR_POLICY, "%s's certificate (%s) has a "
		    "key usage that does not allow digital signatures",
		    holder, who);
	return 0;
}

int
roles_check(X509 *cert, STACK_OF(X509) *anchors, STACK_OF(X509) *chain,
    time_t now, enum oids_id role, uint32_t ku_any, const char *holder,
    const char *task, err_t *err)
{
	int r;

	if ((r = roles_check_chain(cert, anchors, chain, now, holder,
	    err)) != 0)
		return r;
	return roles_check_role(cert, role, ku_any, holder, task, err);
}
