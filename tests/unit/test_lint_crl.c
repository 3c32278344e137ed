/*
 * test_lint_crl.c: the CRL lint on DER to-be-signed bytes (lint_crl_tbs,
 * pki/lint.h). A CRL from the encoder (pki/crlder.h) is clean; then one
 * top-level part of it at a time (version, signature, issuer, times,
 * entries, extensions) is replaced by a hand-made bad one, and exactly
 * the rule for that part must be reported. Also: lint_crl on an OpenSSL
 * CRL, and a large CRL linted clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "pkitest.h"
#include "pki/crlder.h"
#include "pki/der.h"
#include "pki/lint.h"
#include "testutil.h"

#define IDP	"http://crl.example.com/ca.crl"
#define TU	(T2026 + 86400)
#define NU	(TU + 7 * 86400)

static EVP_PKEY *ec_key, *rsa_key, *other_key;
static X509 *ec_ca, *rsa_ca, *other_ca, *no_crlsign;

static const unsigned char oid_reason[] = { 0x55, 0x1d, 0x15 };
static const unsigned char oid_invalidity[] = { 0x55, 0x1d, 0x18 };
static const unsigned char oid_cert_issuer[] = { 0x55, 0x1d, 0x1d };
static const unsigned char oid_number[] = { 0x55, 0x1d, 0x14 };
static const unsigned char oid_delta[] = { 0x55, 0x1d, 0x1b };
static const unsigned char oid_idp[] = { 0x55, 0x1d, 0x1c };
static const unsigned char oid_aki[] = { 0x55, 0x1d, 0x23 };
static const unsigned char oid_freshest[] = { 0x55, 0x1d, 0x2e };

static int
setup(void **state)
{
	struct certspec s;

	(void)state;
	ec_key = pkitest_ec("P-256");
	rsa_key = pkitest_rsa();
	other_key = pkitest_ec("P-256");
	pkitest_spec(&s, "Lint CRL EC CA", T2026, T2040, 1, -1);
	ec_ca = pkitest_issue(&s, ec_key, NULL, ec_key, 1);
	certspec_free(&s);
	pkitest_spec(&s, "Lint CRL RSA CA", T2026, T2040, 1, -1);
	rsa_ca = pkitest_issue(&s, rsa_key, NULL, rsa_key, 2);
	certspec_free(&s);
	pkitest_spec(&s, "Lint CRL Other CA", T2026, T2040, 1, -1);
	other_ca = pkitest_issue(&s, other_key, NULL, other_key, 3);
	certspec_free(&s);
	pkitest_spec(&s, "Lint CRL EC CA", T2026, T2040, 1, -1);
	s.ext.key_usage = CERTSPEC_KU_KEY_CERT_SIGN;
	no_crlsign = pkitest_issue(&s, ec_key, NULL, ec_key, 4);
	certspec_free(&s);
	return ec_ca && rsa_ca && other_ca && no_crlsign ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ec_ca);
	X509_free(rsa_ca);
	X509_free(other_ca);
	X509_free(no_crlsign);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(other_key);
	return 0;
}

/* A TBSCertList cut into its top-level elements, each its raw DER. */
enum { P_VERSION, P_ALG, P_ISSUER, P_TU, P_NU, P_ENTRIES, P_EXTS, P_N };

struct parts {
	buf_t p[P_N];
};

static void
parts_free(struct parts *x)
{
	int i;

	for (i = 0; i < P_N; i++)
		buf_free(&x->p[i]);
}

/* The encoder's TBS: three entries (reasons, a hold, an invalidity date). */
static void
encode(X509 *ca, EVP_PKEY *key, const EVP_MD *md, const char *idp,
    time_t tu, time_t nu, size_t extra, buf_t *out)
{
	static const unsigned char s1[] = { 0x01 };
	static const unsigned char s2[] = { 0x0a, 0x0b };
	static const unsigned char s3[] = { 0x7f, 0x01, 0x02, 0x03 };
	unsigned char algid[64], sn[8];
	struct crlder_opts o;
	struct crlder *c = NULL;
	time_t inv = T2026 - 86400;
	size_t i;
	err_t e;

	memset(&o, 0, sizeof(o));
	assert_int_equal(crlder_algid(key, md, algid, sizeof(algid),
	    &o.algid_len, &e), 0);
	o.algid = algid;
	o.issuer = ca;
	o.this_update = tu;
	o.next_update = nu;
	o.number = 42;
	o.idp_uri = idp;
	if (crlder_begin(&o, &c, &e) != 0)
		fail_msg("crlder_begin: %s", e.msg);
	assert_int_equal(crlder_add(c, s1, sizeof(s1), T2026,
	    CRLDER_KEY_COMPROMISE, &inv, &e), 0);
	assert_int_equal(crlder_add(c, s2, sizeof(s2), T2026,
	    CRLDER_CERTIFICATE_HOLD, NULL, &e), 0);
	assert_int_equal(crlder_add(c, s3, sizeof(s3), T2026,
	    CRLDER_UNSPECIFIED, NULL, &e), 0);
	/* More entries, for the large case: 8-octet serials, increasing. */
	for (i = 0; i < extra; i++) {
		uint64_t v = 0x1000000000000000ull + i;
		int k;

		for (k = 0; k < 8; k++)
			sn[k] = (unsigned char)(v >> (56 - 8 * k));
		if (crlder_add(c, sn, sizeof(sn), T2026, (i % 3) ?
		    CRLDER_SUPERSEDED : CRLDER_UNSPECIFIED, (i % 4) ? NULL :
		    &inv, &e) != 0)
			fail_msg("crlder_add: %s", e.msg);
	}
	buf_init(out, CRLDER_TBS_MAX);
	assert_int_equal(crlder_finish(c, out, &e), 0);
	crlder_free(c);
}

/* Cuts tbs into x; every part is present in the encoder's output. */
static void
split(const buf_t *tbs, struct parts *x)
{
	struct der_tlv seq, el;
	buf_t b;
	int i;

	buf_view(&b, tbs->data, tbs->len);
	assert_int_equal(der_get_tlv(&b, &seq), 0);
	buf_view(&b, seq.content, seq.content_len);
	for (i = 0; i < P_N; i++) {
		buf_init(&x->p[i], CRLDER_TBS_MAX);
		assert_int_equal(der_get_tlv(&b, &el), 0);
		assert_int_equal(buf_put(&x->p[i], el.raw, el.raw_len), 0);
	}
	assert_int_equal(buf_avail(&b), 0);
}

/* The good CRL of ca, cut into parts; with IDP when idp is set. */
static void
good(X509 *ca, EVP_PKEY *key, int idp, struct parts *x)
{
	buf_t tbs;

	encode(ca, key, EVP_sha256(), idp ? IDP : NULL, TU, NU, 0, &tbs);
	split(&tbs, x);
	buf_free(&tbs);
}

static void
join(const struct parts *x, buf_t *out)
{
	size_t n = 0;
	int i;

	for (i = 0; i < P_N; i++)
		n += x->p[i].len;
	buf_init(out, CRLDER_TBS_MAX);
	der_put_hdr(out, DER_TAG_SEQUENCE, n);
	for (i = 0; i < P_N; i++)
		buf_put(out, x->p[i].data, x->p[i].len);
	assert_true(buf_ok(out));
}

static void
set(struct parts *x, int which, const buf_t *v)
{
	buf_reset(&x->p[which]);
	assert_int_equal(buf_put(&x->p[which], v->data, v->len), 0);
}

static void
tlv(buf_t *b, unsigned char tag, const void *content, size_t n)
{
	der_put_hdr(b, tag, n);
	buf_put(b, content, n);
}

/* One Extension: SEQUENCE { OID, [TRUE], OCTET STRING { value } }. */
static void
ext(buf_t *b, const unsigned char *oid, size_t oidlen, int critical,
    const void *value, size_t vlen)
{
	static const unsigned char t[] = { 0x01, 0x01, 0xff };
	size_t inner = 2 + oidlen + (critical ? sizeof(t) : 0) +
	    der_hdr_len(vlen) + vlen;

	der_put_hdr(b, DER_TAG_SEQUENCE, inner);
	tlv(b, 0x06, oid, oidlen);
	if (critical)
		buf_put(b, t, sizeof(t));
	tlv(b, 0x04, value, vlen);
}

/* authorityKeyIdentifier of ca (or of bytes kid when not NULL). */
static void
ext_aki(buf_t *b, X509 *ca, const unsigned char *kid, size_t kidlen,
    int critical)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	buf_t v, s;

	buf_init(&v, 256);
	buf_init(&s, 256);
	if (kid == NULL) {
		kid = ASN1_STRING_get0_data(ski);
		kidlen = (size_t)ASN1_STRING_length(ski);
	}
	tlv(&s, 0x80, kid, kidlen);
	tlv(&v, DER_TAG_SEQUENCE, s.data, s.len);
	ext(b, oid_aki, sizeof(oid_aki), critical, v.data, v.len);
	buf_free(&v);
	buf_free(&s);
}

static void
ext_number(buf_t *b, const unsigned char *n, size_t len, int critical)
{
	buf_t v;

	buf_init(&v, 256);
	tlv(&v, 0x02, n, len);
	ext(b, oid_number, sizeof(oid_number), critical, v.data, v.len);
	buf_free(&v);
}

/* IDP { distributionPoint [0] { fullName [0] { URI } }, then tail }. */
static void
ext_idp(buf_t *b, const char *uri, int critical, const void *tail,
    size_t tlen)
{
	size_t ul = strlen(uri), gn = der_hdr_len(ul) + ul;
	size_t full = der_hdr_len(gn) + gn, dp = der_hdr_len(full) + full;
	buf_t v;

	buf_init(&v, 4096);
	der_put_hdr(&v, DER_TAG_SEQUENCE, dp + tlen);
	der_put_hdr(&v, 0xa0, full);
	der_put_hdr(&v, 0xa0, gn);
	tlv(&v, 0x86, uri, ul);
	buf_put(&v, tail, tlen);
	ext(b, oid_idp, sizeof(oid_idp), critical, v.data, v.len);
	buf_free(&v);
}

/* crlExtensions: [0] { SEQUENCE { list } } into part P_EXTS. */
static void
set_exts(struct parts *x, const buf_t *list)
{
	buf_t v, w;

	buf_init(&v, 65536);
	buf_init(&w, 65536);
	tlv(&v, DER_TAG_SEQUENCE, list->data, list->len);
	tlv(&w, 0xa0, v.data, v.len);
	set(x, P_EXTS, &w);
	buf_free(&v);
	buf_free(&w);
}

/* The standard list: AKI, number 42, and the IDP when idp is set. */
static void
std_list(buf_t *l, X509 *ca, int idp)
{
	static const unsigned char n42[] = { 42 };

	ext_aki(l, ca, NULL, 0, 0);
	ext_number(l, n42, sizeof(n42), 0);
	if (idp)
		ext_idp(l, IDP, 1, NULL, 0);
}

/* One entry: SEQUENCE { INTEGER sn, time, [SEQUENCE { exts }] }. */
static void
entry(buf_t *b, const unsigned char *sn, size_t snlen, const buf_t *when,
    const buf_t *exts)
{
	static const unsigned char t2026[] = "260101000000Z";
	size_t wl = when != NULL ? when->len : 2 + 13;
	size_t el = exts != NULL ? der_hdr_len(exts->len) + exts->len : 0;

	der_put_hdr(b, DER_TAG_SEQUENCE, der_hdr_len(snlen) + snlen + wl +
	    el);
	tlv(b, 0x02, sn, snlen);
	if (when != NULL)
		buf_put(b, when->data, when->len);
	else
		tlv(b, 0x17, t2026, 13);
	if (exts != NULL)
		tlv(b, DER_TAG_SEQUENCE, exts->data, exts->len);
}

/* revokedCertificates from the entries in list, into part P_ENTRIES. */
static void
set_entries(struct parts *x, const buf_t *list)
{
	buf_t v;

	buf_init(&v, 65536);
	tlv(&v, DER_TAG_SEQUENCE, list->data, list->len);
	set(x, P_ENTRIES, &v);
	buf_free(&v);
}

/* A part holding one time: tag 0x17 or 0x18 and the text. */
static void
set_time(struct parts *x, int which, unsigned char tag, const char *s)
{
	buf_t v;

	buf_init(&v, 64);
	tlv(&v, tag, s, strlen(s));
	set(x, which, &v);
	buf_free(&v);
}

static void
want_for(struct lint_crl_want *w, X509 *ca, int idp)
{
	memset(w, 0, sizeof(*w));
	w->issuer = ca;
	w->md = EVP_sha256();
	w->idp_uri = idp ? IDP : NULL;
}

/*
 * Lints x with w. The findings must be exactly the n rules (a rule named
 * twice must be found twice), and one message must contain frag when
 * frag is not NULL.
 */
static void
expect_rules(const struct parts *x, const struct lint_crl_want *w,
    const char *frag, const char *const *rules, size_t nr)
{
	int used[8] = { 0 };
	size_t i, k;
	int n, ok = 1, hit = frag == NULL;
	buf_t tbs;
	diag_t d;

	assert_true(nr <= 8);
	join(x, &tbs);
	diag_init(&d);
	n = lint_crl_tbs(tbs.data, tbs.len, w, &d);
	if (n != (int)nr)
		ok = 0;
	for (i = 0; ok && i < d.n; i++) {
		for (k = 0; k < nr; k++)
			if (!used[k] && strcmp(rules[k], d.items[i].field) == 0)
				break;
		if (k == nr)
			ok = 0;
		else
			used[k] = 1;
		if (frag != NULL && strstr(d.items[i].msg, frag) != NULL)
			hit = 1;
	}
	if (!ok || !hit) {
		testutil_print_diag(&d, "finding");
		fail_msg("expected %zu finding(s) starting with %s%s%s, got %d",
		    nr, nr > 0 ? rules[0] : "(none)", frag != NULL ?
		    " mentioning " : "", frag != NULL ? frag : "", n);
	}
	diag_free(&d);
	buf_free(&tbs);
}

/* Exactly one finding, rule, whose message contains frag (or any). */
static void
expect(const struct parts *x, const struct lint_crl_want *w,
    const char *frag, const char *rule)
{
	expect_rules(x, w, frag, &rule, 1);
}

/* Exactly the findings r1 and r2. */
static void
expect2(const struct parts *x, const struct lint_crl_want *w,
    const char *r1, const char *r2)
{
	const char *rules[2];

	rules[0] = r1;
	rules[1] = r2;
	expect_rules(x, w, NULL, rules, 2);
}

static void
expect_clean(const struct parts *x, const struct lint_crl_want *w)
{
	expect_rules(x, w, NULL, NULL, 0);
}

static void
test_clean(void **state)
{
	struct lint_crl_want w;
	struct parts x;
	buf_t tbs;
	diag_t d;

	(void)state;
	good(ec_ca, ec_key, 1, &x);
	want_for(&w, ec_ca, 1);
	expect_clean(&x, &w);
	/* The key that will sign, given explicitly. */
	w.key = ec_key;
	expect_clean(&x, &w);
	parts_free(&x);
	good(rsa_ca, rsa_key, 0, &x);
	want_for(&w, rsa_ca, 0);
	expect_clean(&x, &w);
	parts_free(&x);
	/* An empty CRL leaves revokedCertificates out altogether. */
	{
		struct crlder_opts o;
		struct crlder *c = NULL;
		unsigned char algid[64];
		err_t e;

		memset(&o, 0, sizeof(o));
		assert_int_equal(crlder_algid(ec_key, EVP_sha256(), algid,
		    sizeof(algid), &o.algid_len, &e), 0);
		o.algid = algid;
		o.issuer = ec_ca;
		o.this_update = TU;
		o.next_update = NU;
		o.number = 1;
		assert_int_equal(crlder_begin(&o, &c, &e), 0);
		buf_init(&tbs, CRLDER_TBS_MAX);
		assert_int_equal(crlder_finish(c, &tbs, &e), 0);
		crlder_free(c);
	}
	want_for(&w, ec_ca, 0);
	diag_init(&d);
	assert_int_equal(lint_crl_tbs(tbs.data, tbs.len, &w, &d), 0);
	buf_free(&tbs);
	diag_free(&d);
	/* Missing arguments. */
	diag_init(&d);
	assert_int_equal(lint_crl_tbs(NULL, 0, &w, &d), ERR_INVALID);
	assert_int_equal(lint_crl_tbs((const unsigned char *)"0", 1, NULL,
	    &d), ERR_INVALID);
	w.issuer = NULL;
	assert_int_equal(lint_crl_tbs((const unsigned char *)"0", 1, &w, &d),
	    ERR_INVALID);
	diag_free(&d);
}

static void
test_der(void **state)
{
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01 };
	static const unsigned char extra[] = { 0x05, 0x00 };
	struct lint_crl_want w;
	struct parts x;
	buf_t tbs, v;
	diag_t d;

	(void)state;
	want_for(&w, ec_ca, 1);
	diag_init(&d);
	assert_int_equal(lint_crl_tbs(junk, sizeof(junk), &w, &d), 1);
	assert_string_equal(d.items[0].field, "crl-der");
	diag_free(&d);
	/* Bytes after the SEQUENCE. */
	encode(ec_ca, ec_key, EVP_sha256(), IDP, TU, NU, 0, &tbs);
	buf_put(&tbs, extra, sizeof(extra));
	diag_init(&d);
	assert_int_equal(lint_crl_tbs(tbs.data, tbs.len, &w, &d), 1);
	assert_string_equal(d.items[0].field, "crl-der");
	diag_free(&d);
	buf_free(&tbs);
	/* An element after crlExtensions. */
	good(ec_ca, ec_key, 1, &x);
	buf_put(&x.p[P_EXTS], extra, sizeof(extra));
	expect(&x, &w, "after its extensions", "crl-der");
	parts_free(&x);
	/* An entry that is not a SEQUENCE. */
	good(ec_ca, ec_key, 1, &x);
	buf_init(&v, 64);
	tlv(&v, 0x02, "\x01", 1);
	set_entries(&x, &v);
	expect(&x, &w, "entry 1", "crl-der");
	buf_free(&v);
	parts_free(&x);
}

static void
test_version(void **state)
{
	static const unsigned char v1[] = { 0x02, 0x01, 0x00 };
	struct lint_crl_want w;
	struct parts x;
	buf_t v;

	(void)state;
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 1, &x);
	buf_init(&v, 16);
	buf_put(&v, v1, sizeof(v1));
	set(&x, P_VERSION, &v);
	expect(&x, &w, "version 2", "crl-version");
	/* No version field at all: version 1. */
	buf_reset(&v);
	set(&x, P_VERSION, &v);
	expect(&x, &w, "version 1", "crl-version");
	buf_free(&v);
	parts_free(&x);
}

static void
test_sigalg(void **state)
{
	unsigned char algid[64];
	struct lint_crl_want w;
	struct parts x;
	size_t len;
	buf_t v;
	err_t e;

	(void)state;
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 1, &x);
	buf_init(&v, 64);
	/* SHA-384 in the CRL, SHA-256 from the key. */
	assert_int_equal(crlder_algid(ec_key, EVP_sha384(), algid,
	    sizeof(algid), &len, &e), 0);
	buf_put(&v, algid, len);
	set(&x, P_ALG, &v);
	expect(&x, &w, "ecdsa-with-SHA256", "crl-sigalg");
	/* An RSA algorithm in an EC CA's CRL. */
	buf_reset(&v);
	assert_int_equal(crlder_algid(rsa_key, EVP_sha256(), algid,
	    sizeof(algid), &len, &e), 0);
	buf_put(&v, algid, len);
	set(&x, P_ALG, &v);
	expect2(&x, &w, "crl-sigalg", "sigalg-key");
	parts_free(&x);
	/* RSA without its NULL parameters: same OID, other encoding. */
	want_for(&w, rsa_ca, 0);
	good(rsa_ca, rsa_key, 0, &x);
	assert_int_equal(crlder_algid(rsa_key, EVP_sha256(), algid,
	    sizeof(algid), &len, &e), 0);
	assert_int_equal(algid[1], len - 2);
	assert_int_equal(algid[len - 2], 0x05);	/* NULL */
	buf_reset(&v);
	der_put_hdr(&v, DER_TAG_SEQUENCE, len - 4);
	buf_put(&v, algid + 2, len - 4);
	set(&x, P_ALG, &v);
	expect(&x, &w, "other parameters", "crl-sigalg");
	parts_free(&x);
	/* A broken digest, even when it is what the key will use. */
	good(rsa_ca, rsa_key, 0, &x);
	buf_reset(&v);
	assert_int_equal(crlder_algid(rsa_key, EVP_sha1(), algid,
	    sizeof(algid), &len, &e), 0);
	buf_put(&v, algid, len);
	set(&x, P_ALG, &v);
	w.md = EVP_sha1();
	expect(&x, &w, "SHA1", "sigalg-digest");
	parts_free(&x);
	/* The key that is to sign is not the CA certificate's. */
	good(ec_ca, ec_key, 1, &x);
	want_for(&w, ec_ca, 1);
	w.key = other_key;
	expect(&x, &w, "not the CA certificate's", "sigalg-key");
	parts_free(&x);
	buf_free(&v);
}

static void
test_issuer(void **state)
{
	struct lint_crl_want w;
	struct parts x, y;

	(void)state;
	/* Another CA's name (its AKI is ours: only the name is wrong). */
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 1, &x);
	good(other_ca, other_key, 1, &y);
	set(&x, P_ISSUER, &y.p[P_ISSUER]);
	expect(&x, &w, NULL, "crl-issuer-name");
	parts_free(&x);
	parts_free(&y);
	/* The same subject, but no cRLSign in the CA's keyUsage. */
	want_for(&w, no_crlsign, 1);
	good(ec_ca, ec_key, 1, &x);
	expect(&x, &w, "cRLSign", "crl-issuer-ku");
	parts_free(&x);
}

static void
test_times(void **state)
{
	struct lint_crl_want w;
	struct parts x;
	buf_t tbs, empty;

	(void)state;
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 1, &x);
	/* 2026 as GeneralizedTime; no seconds; a fraction; nonsense. */
	set_time(&x, P_TU, 0x18, "20260102000000Z");
	expect(&x, &w, "thisUpdate", "time-encoding");
	set_time(&x, P_TU, 0x17, "2601020000Z");
	expect(&x, &w, "seconds", "time-encoding");
	set_time(&x, P_TU, 0x18, "20500102000000.5Z");
	expect(&x, &w, "fraction", "time-encoding");
	set_time(&x, P_TU, 0x17, "260230000000Z");
	expect(&x, &w, "valid date", "time-encoding");
	set_time(&x, P_TU, 0x17, "260102000000Z");
	/* nextUpdate in 2050 must be a GeneralizedTime... */
	set_time(&x, P_NU, 0x18, "20500101000000Z");
	expect_clean(&x, &w);
	/* ...and one before 2050 must not. */
	set_time(&x, P_NU, 0x18, "20490101000000Z");
	expect(&x, &w, "nextUpdate", "time-encoding");
	/* thisUpdate not before nextUpdate. */
	set_time(&x, P_NU, 0x17, "260102000000Z");
	expect(&x, &w, "is not before", "crl-validity-order");
	/* No nextUpdate at all. */
	buf_init(&empty, 16);
	set(&x, P_NU, &empty);
	expect(&x, &w, NULL, "crl-next-update");
	buf_free(&empty);
	parts_free(&x);
	/* The CA must be valid at thisUpdate; nextUpdate may pass its end. */
	encode(ec_ca, ec_key, EVP_sha256(), IDP, T2026 - 3600, NU, 0, &tbs);
	split(&tbs, &x);
	buf_free(&tbs);
	expect(&x, &w, "notBefore", "crl-issuer-validity");
	parts_free(&x);
	encode(ec_ca, ec_key, EVP_sha256(), IDP, T2040 + 1, T2040 + 86400, 0,
	    &tbs);
	split(&tbs, &x);
	buf_free(&tbs);
	expect(&x, &w, "expired", "crl-issuer-validity");
	parts_free(&x);
	encode(ec_ca, ec_key, EVP_sha256(), IDP, T2040 - 3600, T2040 + 86400,
	    0, &tbs);
	split(&tbs, &x);
	buf_free(&tbs);
	expect_clean(&x, &w);
	parts_free(&x);
}

static void
test_entries(void **state)
{
	static const unsigned char s5[] = { 0x05 }, s9[] = { 0x09 };
	static const unsigned char s0[] = { 0x00 }, neg[] = { 0x80 };
	static const unsigned char pad[] = { 0x00, 0x05 };
	static const unsigned char big[] = { 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };	/* 21 octets */
	static const unsigned char max[] = { 0x7f, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };	/* 20 octets */
	struct lint_crl_want w;
	struct parts x;
	buf_t l, when;

	(void)state;
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 1, &x);
	buf_init(&l, 65536);
	buf_init(&when, 64);
	/* Out of order, then a duplicate. */
	entry(&l, s9, 1, NULL, NULL);
	entry(&l, s5, 1, NULL, NULL);
	set_entries(&x, &l);
	expect(&x, &w, "entry 2", "crl-entry-order");
	buf_reset(&l);
	entry(&l, s5, 1, NULL, NULL);
	entry(&l, s5, 1, NULL, NULL);
	set_entries(&x, &l);
	expect(&x, &w, "entry 2", "crl-entry-duplicate");
	/* Zero, negative, padded, too long; 20 octets pass. */
	buf_reset(&l);
	entry(&l, s0, 1, NULL, NULL);
	set_entries(&x, &l);
	expect(&x, &w, "zero", "crl-entry-serial");
	buf_reset(&l);
	entry(&l, neg, 1, NULL, NULL);
	set_entries(&x, &l);
	expect(&x, &w, "negative", "crl-entry-serial");
	buf_reset(&l);
	entry(&l, pad, sizeof(pad), NULL, NULL);
	set_entries(&x, &l);
	expect(&x, &w, "minimally", "crl-entry-serial");
	buf_reset(&l);
	entry(&l, big, sizeof(big), NULL, NULL);
	set_entries(&x, &l);
	expect(&x, &w, "20 octets", "crl-entry-serial");
	buf_reset(&l);
	entry(&l, s5, 1, NULL, NULL);
	entry(&l, max, sizeof(max), NULL, NULL);
	set_entries(&x, &l);
	expect_clean(&x, &w);
	/* A revocation date without seconds. */
	buf_reset(&l);
	tlv(&when, 0x17, "2601010000Z", 11);
	entry(&l, s5, 1, &when, NULL);
	set_entries(&x, &l);
	expect(&x, &w, "revocationDate", "time-encoding");
	/* revokedCertificates present but empty. */
	buf_reset(&l);
	set_entries(&x, &l);
	expect(&x, &w, "5.1.2.6", "crl-entries-empty");
	buf_free(&l);
	buf_free(&when);
	parts_free(&x);
}

/* x with one entry, serial 5, whose extensions are exts. */
static void
one_entry(struct parts *x, const buf_t *exts)
{
	static const unsigned char s5[] = { 0x05 };
	buf_t l;

	buf_init(&l, 65536);
	entry(&l, s5, 1, NULL, exts);
	set_entries(x, &l);
	buf_free(&l);
}

/* A reasonCode extension with ENUMERATED code. */
static void
ext_reason(buf_t *b, int code, int critical)
{
	unsigned char v[3] = { 0x0a, 0x01, 0 };

	v[2] = (unsigned char)code;
	ext(b, oid_reason, sizeof(oid_reason), critical, v, sizeof(v));
}

static void
test_reasons(void **state)
{
	static const int ok[] = { 1, 2, 3, 4, 5, 6, 9, 10 };
	static const struct {
		int code;
		const char *frag;
	} bad[] = {
		{ 0, "left out" }, { 7, "not assigned" },
		{ 8, "delta CRLs" }, { 11, "not defined" },
	};
	struct lint_crl_want w;
	struct parts x;
	size_t i;
	buf_t e;

	(void)state;
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 1, &x);
	buf_init(&e, 4096);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		buf_reset(&e);
		ext_reason(&e, ok[i], 0);
		one_entry(&x, &e);
		expect_clean(&x, &w);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&e);
		ext_reason(&e, bad[i].code, 0);
		one_entry(&x, &e);
		expect(&x, &w, bad[i].frag, "crl-entry-reason");
	}
	buf_reset(&e);
	ext_reason(&e, 1, 1);
	one_entry(&x, &e);
	expect(&x, &w, "critical", "crl-entry-reason");
	/* Not an ENUMERATED. */
	buf_reset(&e);
	ext(&e, oid_reason, sizeof(oid_reason), 0, "\x02\x01\x01", 3);
	one_entry(&x, &e);
	expect(&x, &w, "ENUMERATED", "crl-entry-reason");
	buf_free(&e);
	parts_free(&x);
}

static void
test_entry_extensions(void **state)
{
	struct lint_crl_want w;
	struct parts x;
	buf_t e, v;

	(void)state;
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 1, &x);
	buf_init(&e, 4096);
	buf_init(&v, 64);
	/* invalidityDate: GeneralizedTime passes, UTCTime does not. */
	tlv(&v, 0x18, "20251231000000Z", 15);
	ext(&e, oid_invalidity, sizeof(oid_invalidity), 0, v.data, v.len);
	one_entry(&x, &e);
	expect_clean(&x, &w);
	buf_reset(&e);
	buf_reset(&v);
	tlv(&v, 0x17, "251231000000Z", 13);
	ext(&e, oid_invalidity, sizeof(oid_invalidity), 0, v.data, v.len);
	one_entry(&x, &e);
	expect(&x, &w, "GeneralizedTime", "crl-entry-invalidity");
	buf_reset(&e);
	buf_reset(&v);
	tlv(&v, 0x18, "20251231000000Z", 15);
	ext(&e, oid_invalidity, sizeof(oid_invalidity), 1, v.data, v.len);
	one_entry(&x, &e);
	expect(&x, &w, "critical", "crl-entry-invalidity");
	/* certificateIssuer: an indirect CRL, not ours. */
	buf_reset(&e);
	ext(&e, oid_cert_issuer, sizeof(oid_cert_issuer), 1, "\x30\x00", 2);
	one_entry(&x, &e);
	expect(&x, &w, "2.5.29.29", "crl-entry-ext");
	/* The same extension twice. */
	buf_reset(&e);
	ext_reason(&e, 1, 0);
	ext_reason(&e, 4, 0);
	one_entry(&x, &e);
	expect(&x, &w, "twice", "crl-entry-ext");
	/* crlEntryExtensions present but empty. */
	buf_reset(&e);
	one_entry(&x, &e);
	expect(&x, &w, "empty", "crl-entry-ext");
	/* critical FALSE written out: not DER. */
	buf_reset(&e);
	der_put_hdr(&e, DER_TAG_SEQUENCE, 13);
	tlv(&e, 0x06, oid_reason, sizeof(oid_reason));
	tlv(&e, 0x01, "\x00", 1);
	tlv(&e, 0x04, "\x0a\x01\x01", 3);
	one_entry(&x, &e);
	expect(&x, &w, "DER TRUE", "crl-der");
	buf_free(&e);
	buf_free(&v);
	parts_free(&x);
}

static void
test_number(void **state)
{
	static const unsigned char zero[] = { 0x00 }, neg[] = { 0xff };
	static const unsigned char long21[21] = { 0x01 };
	struct lint_crl_want w;
	struct parts x;
	buf_t l;

	(void)state;
	want_for(&w, ec_ca, 0);
	good(ec_ca, ec_key, 0, &x);
	buf_init(&l, 4096);
	/* Absent. */
	ext_aki(&l, ec_ca, NULL, 0, 0);
	set_exts(&x, &l);
	expect(&x, &w, "required", "crl-number");
	/* Critical. */
	buf_reset(&l);
	ext_aki(&l, ec_ca, NULL, 0, 0);
	ext_number(&l, zero, 1, 1);
	set_exts(&x, &l);
	expect(&x, &w, "critical", "crl-number");
	/* 0 is a CRL number (RFC 5280 5.2.3: 0..MAX); negative is not. */
	buf_reset(&l);
	ext_aki(&l, ec_ca, NULL, 0, 0);
	ext_number(&l, zero, 1, 0);
	set_exts(&x, &l);
	expect_clean(&x, &w);
	buf_reset(&l);
	ext_aki(&l, ec_ca, NULL, 0, 0);
	ext_number(&l, neg, 1, 0);
	set_exts(&x, &l);
	expect(&x, &w, "negative", "crl-number");
	buf_reset(&l);
	ext_aki(&l, ec_ca, NULL, 0, 0);
	ext_number(&l, long21, sizeof(long21), 0);
	set_exts(&x, &l);
	expect(&x, &w, "20 octets", "crl-number");
	/* Twice. */
	buf_reset(&l);
	std_list(&l, ec_ca, 0);
	ext_number(&l, zero, 1, 0);
	set_exts(&x, &l);
	expect(&x, &w, "cRLNumber", "crl-ext-duplicate");
	buf_free(&l);
	parts_free(&x);
}

static void
test_aki(void **state)
{
	static const unsigned char n42[] = { 42 };
	static const unsigned char kid[] = { 1, 2, 3, 4 };
	struct lint_crl_want w;
	struct parts x;
	buf_t l, v;

	(void)state;
	want_for(&w, ec_ca, 0);
	good(ec_ca, ec_key, 0, &x);
	buf_init(&l, 4096);
	buf_init(&v, 256);
	ext_number(&l, n42, 1, 0);
	set_exts(&x, &l);
	expect(&x, &w, "required", "crl-aki");
	buf_reset(&l);
	ext_aki(&l, ec_ca, NULL, 0, 1);
	ext_number(&l, n42, 1, 0);
	set_exts(&x, &l);
	expect(&x, &w, "critical", "crl-aki");
	buf_reset(&l);
	ext_aki(&l, ec_ca, kid, sizeof(kid), 0);
	ext_number(&l, n42, 1, 0);
	set_exts(&x, &l);
	expect(&x, &w, "01020304", "crl-aki");
	/* Another CA's key identifier. */
	buf_reset(&l);
	ext_aki(&l, other_ca, NULL, 0, 0);
	ext_number(&l, n42, 1, 0);
	set_exts(&x, &l);
	expect(&x, &w, "does not equal", "crl-aki");
	/* Only an authorityCertSerialNumber, no keyIdentifier. */
	buf_reset(&l);
	der_put_hdr(&v, DER_TAG_SEQUENCE, 3);
	tlv(&v, 0x82, "\x01", 1);
	ext(&l, oid_aki, sizeof(oid_aki), 0, v.data, v.len);
	ext_number(&l, n42, 1, 0);
	set_exts(&x, &l);
	expect(&x, &w, "keyIdentifier", "crl-aki");
	buf_free(&l);
	buf_free(&v);
	parts_free(&x);
}

static void
test_extensions(void **state)
{
	struct lint_crl_want w;
	struct parts x;
	buf_t l, empty;

	(void)state;
	want_for(&w, ec_ca, 0);
	good(ec_ca, ec_key, 0, &x);
	buf_init(&l, 4096);
	/* A delta CRL. */
	std_list(&l, ec_ca, 0);
	ext(&l, oid_delta, sizeof(oid_delta), 1, "\x02\x01\x01", 3);
	set_exts(&x, &l);
	expect(&x, &w, "delta", "crl-ext");
	/* An extension the profile does not have. */
	buf_reset(&l);
	std_list(&l, ec_ca, 0);
	ext(&l, oid_freshest, sizeof(oid_freshest), 0, "\x30\x00", 2);
	set_exts(&x, &l);
	expect(&x, &w, "2.5.29.46", "crl-ext");
	/* No crlExtensions at all. */
	buf_init(&empty, 16);
	set(&x, P_EXTS, &empty);
	expect2(&x, &w, "crl-aki", "crl-number");
	/* ...or an empty list. */
	buf_reset(&l);
	set_exts(&x, &l);
	expect(&x, &w, "non-empty", "crl-der");
	buf_free(&empty);
	buf_free(&l);
	parts_free(&x);
}

static void
test_idp(void **state)
{
	static const unsigned char only_users[] = { 0x81, 0x01, 0xff };
	struct lint_crl_want w;
	struct parts x;
	buf_t l;

	(void)state;
	buf_init(&l, 8192);
	/* The policy asks for one, the CRL has none. */
	want_for(&w, ec_ca, 1);
	good(ec_ca, ec_key, 0, &x);
	expect(&x, &w, IDP, "crl-idp");
	parts_free(&x);
	/* The CRL has one the policy does not ask for. */
	want_for(&w, ec_ca, 0);
	good(ec_ca, ec_key, 1, &x);
	expect(&x, &w, "does not ask", "crl-idp");
	/* A ceremony accepts any well-formed one. */
	w.idp_any = 1;
	expect_clean(&x, &w);
	/* Another URI than the policy's. */
	want_for(&w, ec_ca, 1);
	std_list(&l, ec_ca, 0);
	ext_idp(&l, "http://crl.example.com/other.crl", 1, NULL, 0);
	set_exts(&x, &l);
	expect(&x, &w, "other.crl", "crl-idp");
	/* Not critical. */
	buf_reset(&l);
	std_list(&l, ec_ca, 0);
	ext_idp(&l, IDP, 0, NULL, 0);
	set_exts(&x, &l);
	expect(&x, &w, "critical", "crl-idp");
	/* A narrower scope: onlyContainsUserCerts. */
	buf_reset(&l);
	std_list(&l, ec_ca, 0);
	ext_idp(&l, IDP, 1, only_users, sizeof(only_users));
	set_exts(&x, &l);
	expect(&x, &w, "every certificate", "crl-idp");
	/* Not a URI. */
	buf_reset(&l);
	std_list(&l, ec_ca, 0);
	ext_idp(&l, "no uri here", 1, NULL, 0);
	set_exts(&x, &l);
	w.idp_any = 1;
	expect(&x, &w, "printable", "crl-idp");
	buf_free(&l);
	parts_free(&x);
}

/* lint_crl: an OpenSSL CRL, its outer and inner algorithms compared. */
static void
test_lint_crl_x509(void **state)
{
	unsigned char sig[] = { 0 };
	const unsigned char *p;
	X509_CRL *crl;
	buf_t tbs, der;
	diag_t d;
	err_t e;

	(void)state;
	encode(ec_ca, ec_key, EVP_sha256(), IDP, TU, NU, 0, &tbs);
	buf_init(&der, CRLDER_TBS_MAX + 1024);
	assert_int_equal(pkisign_assemble(tbs.data, tbs.len, sig,
	    sizeof(sig), &der, &e), 0);
	p = der.data;
	assert_non_null(crl = d2i_X509_CRL(NULL, &p, (long)der.len));
	diag_init(&d);
	assert_int_equal(lint_crl(crl, ec_ca, &d), 0);
	assert_int_equal(lint_crl(NULL, ec_ca, &d), ERR_INVALID);
	/* A CRL of another issuer. */
	assert_int_equal(lint_crl(crl, other_ca, &d), 2);
	assert_contains(testutil_diag_text(&d), "crl-issuer-name");
	assert_contains(testutil_diag_text(&d), "crl-aki");
	X509_CRL_free(crl);
	/* The outer algorithm differs from the inner one. */
	{
		unsigned char rsa_alg[64];
		size_t alen;
		buf_t mix;
		diag_t d2;

		assert_int_equal(crlder_algid(rsa_key, EVP_sha256(), rsa_alg,
		    sizeof(rsa_alg), &alen, &e), 0);
		buf_init(&mix, CRLDER_TBS_MAX + 1024);
		der_put_hdr(&mix, DER_TAG_SEQUENCE, tbs.len + alen + 4);
		buf_put(&mix, tbs.data, tbs.len);
		buf_put(&mix, rsa_alg, alen);
		tlv(&mix, 0x03, "\x00\x00", 2);
		p = mix.data;
		assert_non_null(crl = d2i_X509_CRL(NULL, &p, (long)mix.len));
		diag_init(&d2);
		assert_int_equal(lint_crl(crl, ec_ca, &d2), 1);
		assert_string_equal(d2.items[0].field, "sigalg-match");
		diag_free(&d2);
		X509_CRL_free(crl);
		buf_free(&mix);
	}
	diag_free(&d);
	buf_free(&tbs);
	buf_free(&der);
}

/* A large CRL from the encoder is clean: the walk covers every entry. */
static void
test_large(void **state)
{
	struct lint_crl_want w;
	size_t i, at = 0;
	buf_t tbs;
	diag_t d;

	(void)state;
	encode(ec_ca, ec_key, EVP_sha256(), IDP, TU, NU, 100000, &tbs);
	want_for(&w, ec_ca, 1);
	diag_init(&d);
	assert_int_equal(lint_crl_tbs(tbs.data, tbs.len, &w, &d), 0);
	/* One octet changed deep inside: a reason code of 7 is found. */
	for (i = tbs.len - 200; i > 0; i--)
		if (memcmp(tbs.data + i, "\x0a\x01\x04", 3) == 0)
			break;
	assert_true(i > tbs.len / 2);
	tbs.data[i + 2] = 7;
	assert_int_equal(lint_crl_tbs(tbs.data, tbs.len, &w, &d), 1);
	assert_string_equal(d.items[0].field, "crl-entry-reason");
	assert_int_equal(sscanf(d.items[0].msg, "entry %zu", &at), 1);
	assert_true(at > 50000);
	diag_free(&d);
	buf_free(&tbs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_der),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_sigalg),
		cmocka_unit_test(test_issuer),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_entry_extensions),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_aki),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_idp),
		cmocka_unit_test(test_lint_crl_x509),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
