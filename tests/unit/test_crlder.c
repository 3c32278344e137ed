/*
 * test_crlder.c: the streaming CRL encoder (pki/crlder.h) and
 * pkisign_assemble for CRLs: sorted output, refusal of unsorted and
 * duplicate serials, an empty CRL without revokedCertificates, 20-octet
 * serials, no reason for unspecified, UTCTime / GeneralizedTime, the
 * issuing distribution point, every refused input; the output read back
 * by OpenSSL's decoder and checked by `openssl crl -verify`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkitest.h"
#include "pki/crlder.h"
#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "testutil.h"

static EVP_PKEY *ec_key, *rsa_key;
static X509 *ec_ca, *rsa_ca, *no_ski;

static int
setup(void **state)
{
	struct certspec s;

	(void)state;
	ec_key = pkitest_ec("P-256");
	rsa_key = pkitest_rsa();
	pkitest_spec(&s, "CRLDER EC CA", T2026, T2060, 1, -1);
	ec_ca = pkitest_issue(&s, ec_key, NULL, ec_key, 1);
	certspec_free(&s);
	pkitest_spec(&s, "CRLDER RSA CA", T2026, T2060, 1, -1);
	rsa_ca = pkitest_issue(&s, rsa_key, NULL, rsa_key, 2);
	certspec_free(&s);
	/* A certificate without subject key identifier. */
	no_ski = X509_dup(ec_ca);
	if (no_ski != NULL) {
		int i = X509_get_ext_by_NID(no_ski, NID_subject_key_identifier,
		    -1);

		X509_EXTENSION_free(X509_delete_ext(no_ski, i));
		X509_sign(no_ski, ec_key, EVP_sha256());
	}
	return ec_ca != NULL && rsa_ca != NULL && no_ski != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ec_ca);
	X509_free(rsa_ca);
	X509_free(no_ski);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return 0;
}

struct enc {
	unsigned char algid[64];
	struct crlder_opts o;
	struct crlder *c;
	err_t e;
};

static void
enc_begin(struct enc *x, X509 *ca, EVP_PKEY *key, time_t tu, time_t nu,
    const char *uri)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(crlder_algid(key, EVP_sha256(), x->algid,
	    sizeof(x->algid), &x->o.algid_len, &x->e), 0);
	x->o.algid = x->algid;
	x->o.issuer = ca;
	x->o.this_update = tu;
	x->o.next_update = nu;
	x->o.number = 42;
	x->o.idp_uri = uri;
	if (crlder_begin(&x->o, &x->c, &x->e) != 0)
		fail_msg("crlder_begin: %s", x->e.msg);
}

static void
add(struct enc *x, const char *hex, time_t when, enum crlder_reason r,
    const time_t *inv)
{
	unsigned char sn[CRLDER_SERIAL_MAX];
	size_t len;

	assert_int_equal(crlder_serial_hex(hex, sn, &len), 0);
	if (crlder_add(x->c, sn, len, when, r, inv, &x->e) != 0)
		fail_msg("crlder_add %s: %s", hex, x->e.msg);
}

/* Finishes, signs in software with key, returns the DER CRL in out. */
static void
enc_sign(struct enc *x, EVP_PKEY *key, buf_t *out)
{
	unsigned char *sig = NULL;
	size_t siglen = 0;
	buf_t tbs;

	buf_init(&tbs, CRLDER_TBS_MAX);
	assert_int_equal(crlder_finish(x->c, &tbs, &x->e), 0);
	crlder_free(x->c);
	x->c = NULL;
	assert_int_equal(pkisign_blob(key, EVP_sha256(), tbs.data, tbs.len,
	    &sig, &siglen, &x->e), 0);
	buf_init(out, CRLDER_TBS_MAX + 4096);
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len, sig, siglen, out,
	    &x->e), 0);
	OPENSSL_free(sig);
	buf_free(&tbs);
}

/* `openssl crl -verify` on der against ca; 1 when it says verify OK. */
static int
openssl_verify(const buf_t *der, X509 *ca)
{
	char dir[256], cmd[1024];
	FILE *f;
	int ok;

	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "crlder"), 0);
	snprintf(cmd, sizeof(cmd), "%s/ca.pem", dir);
	assert_non_null(f = fopen(cmd, "w"));
	PEM_write_X509(f, ca);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/crl.der", dir);
	assert_non_null(f = fopen(cmd, "wb"));
	assert_int_equal(fwrite(der->data, 1, der->len, f), der->len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s/crl.der "
	    "-CAfile %s/ca.pem -noout -verify 2>&1 | grep -q 'verify OK'",
	    dir, dir);
	ok = system(cmd) == 0;
	assert_int_equal(testutil_rmtree(dir), 0);
	return ok;
}

static X509_CRL *
decode(const buf_t *der)
{
	const unsigned char *p = der->data;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)der->len);

	assert_non_null(crl);
	assert_ptr_equal(p, der->data + der->len);
	return crl;
}

static long
entry_serial(X509_CRL *crl, int i)
{
	return ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(
	    sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), i)));
}

static void
test_sorted_entries(void **state)
{
	struct enc x;
	X509_CRL *crl;
	X509_REVOKED *r;
	ASN1_ENUMERATED *reason;
	ASN1_GENERALIZEDTIME *inv;
	ASN1_INTEGER *num;
	time_t when = T2026 - 86400;
	buf_t der;
	int crit, i;

	(void)state;
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 7 * 86400,
	    "http://crl.example.com/ca.crl");
	add(&x, "1", when, CRLDER_KEY_COMPROMISE, &when);
	add(&x, "05", when, CRLDER_UNSPECIFIED, NULL);
	add(&x, "7f", when, CRLDER_CERTIFICATE_HOLD, NULL);
	add(&x, "80", when, CRLDER_SUPERSEDED, NULL);
	add(&x, "100", when, CRLDER_AA_COMPROMISE, NULL);
	assert_int_equal(crlder_count(x.c), 5);
	enc_sign(&x, ec_key, &der);
	assert_true(openssl_verify(&der, ec_ca));
	crl = decode(&der);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 5);
	assert_int_equal(entry_serial(crl, 0), 1);
	assert_int_equal(entry_serial(crl, 1), 5);
	assert_int_equal(entry_serial(crl, 2), 0x7f);
	assert_int_equal(entry_serial(crl, 3), 0x80);
	assert_int_equal(entry_serial(crl, 4), 0x100);
	/* Unspecified: no reason extension at all (RFC 5280 5.3.1). */
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 1);
	assert_int_equal(X509_REVOKED_get_ext_count(r), 0);
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0);
	reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
	ASN1_ENUMERATED_free(reason);
	inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, &crit, NULL);
	assert_non_null(inv);
	assert_int_equal(ASN1_STRING_type(inv), V_ASN1_GENERALIZEDTIME);
	assert_int_equal(ASN1_TIME_cmp_time_t(inv, when), 0);
	ASN1_GENERALIZEDTIME_free(inv);
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 2);
	reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 6);
	ASN1_ENUMERATED_free(reason);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	assert_int_equal(crit, 0);
	ASN1_INTEGER_free(num);
	i = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
	assert_true(i >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_CRL_get_ext(crl,
	    i)), 1);
	{
		ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl,
		    NID_issuing_distribution_point, &crit, NULL);
		GENERAL_NAME *gn;

		assert_non_null(idp);
		gn = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, 0);
		assert_int_equal(gn->type, GEN_URI);
		assert_string_equal((const char *)ASN1_STRING_get0_data(
		    gn->d.uniformResourceIdentifier),
		    "http://crl.example.com/ca.crl");
		ISSUING_DIST_POINT_free(idp);
	}
	{
		AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(crl,
		    NID_authority_key_identifier, &crit, NULL);

		assert_non_null(aki);
		assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid,
		    X509_get0_subject_key_id(ec_ca)), 0);
		AUTHORITY_KEYID_free(aki);
	}
	assert_int_equal(X509_CRL_verify(crl, ec_key), 1);
	X509_CRL_free(crl);
	buf_free(&der);
}

static void
test_empty_crl_rsa(void **state)
{
	struct enc x;
	X509_CRL *crl;
	buf_t der;

	(void)state;
	enc_begin(&x, rsa_ca, rsa_key, T2026, T2026 + 86400, NULL);
	enc_sign(&x, rsa_key, &der);
	assert_true(openssl_verify(&der, rsa_ca));
	crl = decode(&der);
	/* No revokedCertificates field at all. */
	assert_null(X509_CRL_get_REVOKED(crl));
	assert_int_equal(X509_CRL_get_ext_by_NID(crl,
	    NID_issuing_distribution_point, -1), -1);
	X509_CRL_free(crl);
	buf_free(&der);
	/* Signed by another key: openssl says no. */
	enc_begin(&x, rsa_ca, rsa_key, T2026, T2026 + 86400, NULL);
	{
		EVP_PKEY *other = pkitest_rsa();

		enc_sign(&x, other, &der);
		EVP_PKEY_free(other);
	}
	assert_false(openssl_verify(&der, rsa_ca));
	buf_free(&der);
}

static void
test_refuses_order(void **state)
{
	unsigned char a[] = { 0x05 }, b[] = { 0x00, 0x05 }, c[] = { 0x04 };
	struct enc x;
	buf_t out;

	(void)state;
	buf_init(&out, 1 << 20);
	/* Lower after higher. */
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	assert_int_equal(crlder_add(x.c, a, 1, T2026, 0, NULL, &x.e), 0);
	assert_int_equal(crlder_add(x.c, c, 1, T2026, 0, NULL, &x.e),
	    ERR_INVALID);
	assert_contains(x.e.msg, "increasing serial order");
	/* Dead after a failure: nothing more, not even finish. */
	assert_int_equal(crlder_add(x.c, a, 1, T2026, 0, NULL, &x.e),
	    ERR_INVALID);
	assert_int_equal(crlder_finish(x.c, &out, &x.e), ERR_INVALID);
	crlder_free(x.c);
	/* The same number twice, spelled with a leading zero. */
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	assert_int_equal(crlder_add(x.c, a, 1, T2026, 0, NULL, &x.e), 0);
	assert_int_equal(crlder_add(x.c, b, 2, T2026, 0, NULL, &x.e),
	    ERR_INVALID);
	assert_contains(x.e.msg, "listed twice");
	crlder_free(x.c);
	/* Finish twice. */
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	assert_int_equal(crlder_finish(x.c, &out, &x.e), 0);
	assert_int_equal(crlder_finish(x.c, &out, &x.e), ERR_INVALID);
	crlder_free(x.c);
	buf_free(&out);
}

static void
test_serial_lengths(void **state)
{
	unsigned char sn[32], zero[] = { 0, 0 };
	struct enc x;
	X509_CRL *crl;
	const ASN1_INTEGER *ai;
	buf_t der;

	(void)state;
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	/* 20 octets with the top bit clear: the longest allowed. */
	memset(sn, 0x11, sizeof(sn));
	sn[0] = 0x7f;
	assert_int_equal(crlder_add(x.c, sn, 20, T2026, 0, NULL, &x.e), 0);
	/* 20 octets with the top bit set need a 21st: refused. */
	sn[0] = 0x80;
	assert_int_equal(crlder_add(x.c, sn, 20, T2026, 0, NULL, &x.e),
	    ERR_INVALID);
	assert_contains(x.e.msg, "at most 20 octets");
	crlder_free(x.c);
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	assert_int_equal(crlder_add(x.c, sn, 21, T2026, 0, NULL, &x.e),
	    ERR_INVALID);
	crlder_free(x.c);
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	assert_int_equal(crlder_add(x.c, zero, 2, T2026, 0, NULL, &x.e),
	    ERR_INVALID);
	crlder_free(x.c);
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	assert_int_equal(crlder_add(x.c, NULL, 0, T2026, 0, NULL, &x.e),
	    ERR_INVALID);
	crlder_free(x.c);
	/* A 19-octet serial with the top bit set: 20 octets encoded. */
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	assert_int_equal(crlder_add(x.c, sn, 19, T2026, 0, NULL, &x.e), 0);
	sn[0] = 0x7f;
	assert_int_equal(crlder_add(x.c, sn, 20, T2026, 0, NULL, &x.e), 0);
	enc_sign(&x, ec_key, &der);
	crl = decode(&der);
	ai = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(
	    X509_CRL_get_REVOKED(crl), 0));
	assert_int_equal(ASN1_STRING_length(ai), 19);
	assert_int_equal(ASN1_STRING_type(ai), V_ASN1_INTEGER);
	ai = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(
	    X509_CRL_get_REVOKED(crl), 1));
	assert_int_equal(ASN1_STRING_length(ai), 20);
	assert_true(openssl_verify(&der, ec_ca));
	X509_CRL_free(crl);
	buf_free(&der);
}

static void
test_times(void **state)
{
	/* 2049-12-31T23:59:59Z, 2050-01-01T00:00:00Z, 1949-12-31T23:59:59Z */
	const time_t last_utc = T2050 - 1, old = (time_t)-631152001;
	struct enc x;
	X509_CRL *crl;
	const ASN1_TIME *t;
	buf_t der;

	(void)state;
	enc_begin(&x, ec_ca, ec_key, last_utc, T2050, NULL);
	add(&x, "1", old, CRLDER_UNSPECIFIED, NULL);
	add(&x, "2", last_utc, CRLDER_UNSPECIFIED, &last_utc);
	enc_sign(&x, ec_key, &der);
	crl = decode(&der);
	t = X509_CRL_get0_lastUpdate(crl);
	assert_int_equal(ASN1_STRING_type(t), V_ASN1_UTCTIME);
	assert_string_equal((const char *)ASN1_STRING_get0_data(t),
	    "491231235959Z");
	t = X509_CRL_get0_nextUpdate(crl);
	assert_int_equal(ASN1_STRING_type(t), V_ASN1_GENERALIZEDTIME);
	assert_string_equal((const char *)ASN1_STRING_get0_data(t),
	    "20500101000000Z");
	t = X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(
	    X509_CRL_get_REVOKED(crl), 0));
	assert_int_equal(ASN1_STRING_type(t), V_ASN1_GENERALIZEDTIME);
	assert_string_equal((const char *)ASN1_STRING_get0_data(t),
	    "19491231235959Z");
	assert_true(openssl_verify(&der, ec_ca));
	X509_CRL_free(crl);
	buf_free(&der);
}

static void
test_begin_refuses(void **state)
{
	struct crlder_opts o;
	struct crlder *c = NULL;
	unsigned char algid[64];
	size_t alen;
	err_t e;

	(void)state;
	assert_int_equal(crlder_algid(ec_key, EVP_sha256(), algid,
	    sizeof(algid), &alen, &e), 0);
	memset(&o, 0, sizeof(o));
	o.issuer = ec_ca;
	o.algid = algid;
	o.algid_len = alen;
	o.this_update = T2026;
	o.next_update = T2026;
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	assert_contains(e.msg, "later than thisUpdate");
	assert_null(c);
	o.next_update = T2026 + 1;
	o.issuer = no_ski;
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	assert_contains(e.msg, "subject key identifier");
	o.issuer = NULL;
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	o.issuer = ec_ca;
	o.algid = NULL;
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	o.algid = algid;
	o.idp_uri = "not a uri";
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	assert_contains(e.msg, "distribution point");
	o.idp_uri = "nocolon";
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	o.idp_uri = "http://\x7f";
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	o.idp_uri = NULL;
	o.next_update = (time_t)400000000000LL;	/* year 14645 */
	assert_int_equal(crlder_begin(&o, &c, &e), ERR_INVALID);
	assert_int_equal(crlder_begin(NULL, &c, &e), ERR_INVALID);
	assert_int_equal(crlder_begin(&o, NULL, &e), ERR_INVALID);
	/* Reason codes a full CRL never carries. */
	o.next_update = T2026 + 1;
	assert_int_equal(crlder_begin(&o, &c, &e), 0);
	{
		unsigned char one[] = { 1 };

		assert_int_equal(crlder_add(c, one, 1, T2026,
		    (enum crlder_reason)8, NULL, &e), ERR_INVALID);
		assert_contains(e.msg, "reason code 8");
	}
	crlder_free(c);
	assert_int_equal(crlder_begin(&o, &c, &e), 0);
	{
		unsigned char one[] = { 1 };

		assert_int_equal(crlder_add(c, one, 1, T2026,
		    (enum crlder_reason)7, NULL, &e), ERR_INVALID);
	}
	crlder_free(c);
	crlder_free(NULL);
	assert_int_equal(crlder_count(NULL), 0);
}

static void
test_helpers(void **state)
{
	unsigned char sn[CRLDER_SERIAL_MAX], algid[64];
	enum crlder_reason r;
	size_t len;
	err_t e;

	(void)state;
	assert_int_equal(crlder_serial_hex("1", sn, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(sn[0], 1);
	assert_int_equal(crlder_serial_hex("00aBc", sn, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(sn[0], 0x0a);
	assert_int_equal(sn[1], 0xbc);
	assert_int_equal(crlder_serial_hex("0", sn, &len), ERR_INVALID);
	assert_int_equal(crlder_serial_hex("", sn, &len), ERR_INVALID);
	assert_int_equal(crlder_serial_hex("xy", sn, &len), ERR_INVALID);
	assert_int_equal(crlder_serial_hex(NULL, sn, &len), ERR_INVALID);
	assert_int_equal(crlder_serial_hex(
	    "7f11111111111111111111111111111111111111", sn, &len), 0);
	assert_int_equal(len, 20);
	assert_int_equal(crlder_serial_hex(
	    "8011111111111111111111111111111111111111", sn, &len),
	    ERR_INVALID);
	assert_int_equal(crlder_serial_hex(
	    "117f11111111111111111111111111111111111111", sn, &len),
	    ERR_INVALID);
	assert_true(crlder_serial_cmp((const unsigned char *)"\x00\x05", 2,
	    (const unsigned char *)"\x05", 1) == 0);
	assert_true(crlder_serial_cmp((const unsigned char *)"\xff", 1,
	    (const unsigned char *)"\x01\x00", 2) < 0);
	assert_int_equal(crlder_reason_parse("certificateHold", &r), 0);
	assert_int_equal(r, CRLDER_CERTIFICATE_HOLD);
	assert_int_equal(crlder_reason_parse("removeFromCRL", &r),
	    ERR_INVALID);
	assert_int_equal(crlder_reason_parse(NULL, &r), ERR_INVALID);
	assert_string_equal(crlder_reason_name(CRLDER_AA_COMPROMISE),
	    "aACompromise");
	assert_null(crlder_reason_name((enum crlder_reason)7));
	/* RSA names NULL parameters; ECDSA none. */
	assert_int_equal(crlder_algid(rsa_key, EVP_sha256(), algid,
	    sizeof(algid), &len, &e), 0);
	assert_int_equal(len, 15);
	assert_int_equal(algid[len - 2], 0x05);
	assert_int_equal(crlder_algid(ec_key, EVP_sha384(), algid,
	    sizeof(algid), &len, &e), 0);
	assert_int_equal(len, 12);
	assert_int_equal(crlder_algid(ec_key, EVP_md5(), algid, sizeof(algid),
	    &len, &e), ERR_INVALID);
	assert_int_equal(crlder_algid(rsa_key, EVP_sha256(), algid, 4, &len,
	    &e), ERR_CRYPTO);
	assert_true(crlder_uri_ok("ldap://x/cn=a,o=b?certificateRevocationList"));
	assert_false(crlder_uri_ok(":x"));
	assert_false(crlder_uri_ok(""));
}

static void
test_assemble_crl(void **state)
{
	static const unsigned char s1[] = { 1, 2, 3 };
	struct enc x;
	buf_t tbs, out;

	(void)state;
	enc_begin(&x, ec_ca, ec_key, T2026, T2026 + 86400, NULL);
	buf_init(&tbs, 1 << 20);
	buf_init(&out, 1 << 20);
	assert_int_equal(crlder_finish(x.c, &tbs, &x.e), 0);
	crlder_free(x.c);
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len, s1, sizeof(s1),
	    &out, &x.e), 0);
	/* A TBSCertList claiming v1 (0) where the encoder writes v2 (1). */
	tbs.data[(tbs.data[1] & 0x80 ? 2 + (tbs.data[1] & 0x7f) : 2) + 2] = 0;
	buf_reset(&out);
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len, s1, sizeof(s1),
	    &out, &x.e), ERR_INVALID);
	assert_contains(x.e.msg, "TBSCertList");
	buf_free(&tbs);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_entries),
		cmocka_unit_test(test_empty_crl_rsa),
		cmocka_unit_test(test_refuses_order),
		cmocka_unit_test(test_serial_lengths),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_begin_refuses),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_assemble_crl),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
