/*
 * test_signer_crl.c: CRLs issued in a fresh SoftHSM token by an RSA-2048
 * and an EC P-256 CA (signer/crl.h), written to an outbox
 * (export/crl.h), and checked by independent implementations: `openssl
 * crl -verify`, `openssl verify -crl_check` on a revoked, a held and a
 * good certificate, `certtool --crl-info`, Python's cryptography reading
 * reasons and invalidity dates, `openssl cms -verify` on the manifest.
 * Also: the number taken first (a "crash" after it leaves a gap), an
 * empty CRL, a key that is not the CA's, a request that is not approved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pkitest.h"
#include "export/crl.h"
#include "hsm/hsm.h"
#include "pki/certinfo.h"
#include "pki/pkiutil.h"
#include "queue/crl.h"
#include "signer/crl.h"
#include "store/store.h"
#include "hsmfx.h"
#include "testutil.h"

#define TOKEN "airlock-crl-test"
#define USER_PIN "87654321"

struct ca {
	const char *name;
	struct hsm_key *key;
	X509 *cert;
	int64_t id;
	X509 *leaf[3];		/* revoked, held, good */
	char serial[3][48];
};

static struct {
	struct hsmfx hsm;
	struct store *st;
	struct ca rsa, ec;
	EVP_PKEY *exp_key;
	X509 *exp_cert;
	time_t now;
} F;

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	int n, rc;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", F.hsm.dir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

static void
write_pem(const char *name, X509 *x)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", F.hsm.dir, name);
	assert_non_null(f = fopen(path, "w"));
	PEM_write_X509(f, x);
	fclose(f);
}

/* Records x as a certificate of ca in the store with status and fields. */
static void
store_cert(struct ca *ca, X509 *x, char *serial_out, const char *status,
    const char *reason, int inv)
{
	char sql[1024], sha[65];
	err_t e;

	assert_int_equal(certinfo_serial_hex(x, serial_out, 48), 0);
	assert_int_equal(pki_cert_sha256_hex(x, sha), 0);
	snprintf(sql, sizeof(sql), "INSERT INTO certificate (serial, ca_id, "
	    "kind, subject, sha256, not_before, not_after, der, status, "
	    "created, revoked_at, reason, invalidity_date) VALUES ('%s', "
	    "%lld, 'device', 'CN=leaf', '%s', 1, 2, x'3000', '%s', 1, %s, "
	    "%s, %s)", serial_out, (long long)ca->id, sha, status,
	    reason != NULL ? "1767225600" : "NULL", reason != NULL ? reason :
	    "NULL", inv ? "1767139200" : "NULL");
	if (store_exec(F.st, sql, &e) != 0)
		fail_msg("%s", e.msg);
}

static struct crlpolicy_entry policy = {
	NULL, 7 * 86400, 2 * 86400, "http://crl.example.com/x.crl", 1, 0
};

static int
make_ca(const char *name, const struct hsm_keyspec *spec, struct ca *out)
{
	struct hsmfx_ca c = {
		.spec = *spec, .org = "Airlock Test", .cn = name,
		.not_before = F.now - 86400, .not_after = F.now + 3650L * 86400,
		.key_usage = CERTSPEC_KU_KEY_CERT_SIGN | CERTSPEC_KU_CRL_SIGN |
		    CERTSPEC_KU_DIGITAL_SIGNATURE,
	};
	struct certspec cs;
	EVP_PKEY *signer = NULL, *leaf_key;
	unsigned char rnd[16];
	diag_t d;
	err_t e;
	int i, r = -1;

	c.spec.label = name;
	if (hsmfx_ca(&F.hsm, F.st, &c) != 0)
		return -1;
	out->name = name;
	out->key = c.key;
	out->cert = c.cert;
	out->id = c.id;
	memset(&cs, 0, sizeof(cs));
	diag_init(&d);
	if ((signer = hsm_key_signer(out->key)) == NULL)
		goto done;
	/* Three leaves, each with a serial of its own. */
	for (i = 0; i < 3; i++) {
		unsigned char serial[16];
		size_t sl;
		char cn[64];

		snprintf(cn, sizeof(cn), "%s leaf %d", name, i);
		pkitest_spec(&cs, cn, F.now - 3600, F.now + 365L * 86400, 0,
		    -1);
		/* The CRL's issuing distribution point names the same URI:
		 * a relying party then finds the CRL in scope. */
		cs.ext.crl_dp.v = calloc(1, sizeof(char *));
		cs.ext.crl_dp.v[0] = strdup(policy.distribution_point);
		cs.ext.crl_dp.n = 1;
		leaf_key = pkitest_ec("P-256");
		RAND_bytes(rnd, sizeof(rnd));
		certbuild_serial(rnd, sizeof(rnd), serial, &sl);
		if (certbuild_new(&cs, leaf_key, out->cert, serial, sl,
		    &out->leaf[i], &e) != 0 || pkisign_cert(out->leaf[i],
		    signer, EVP_sha256(), out->cert, NULL, &d, &e) != 0) {
			fprintf(stderr, "leaf: %s\n", e.msg);
			EVP_PKEY_free(leaf_key);
			goto done;
		}
		EVP_PKEY_free(leaf_key);
		certspec_free(&cs);
	}
	r = 0;
done:
	certspec_free(&cs);
	EVP_PKEY_free(signer);
	diag_free(&d);
	return r;
}

static int
setup(void **state)
{
	struct hsm_keyspec rsa = { HSM_KEY_RSA, 2048, 0, NULL, 0 };
	struct hsm_keyspec ec = { HSM_KEY_EC, 0, NID_X9_62_prime256v1, NULL,
	    0 };
	struct certspec cs;
	char db[PATH_MAX + 16];
	err_t e;

	(void)state;
	memset(&F, 0, sizeof(F));
	F.now = time(NULL);
	if (!hsmfx_have("test_signer_crl"))
		return 0;
	if (hsmfx_open(&F.hsm, "test_signer_crl", TOKEN, "12345678",
	    USER_PIN, 2) != 0)
		return -1;
	snprintf(db, sizeof(db), "%s/state.db", F.hsm.dir);
	if (store_open(db, 1, &F.st, &e) != 0 ||
	    make_ca("rsa-ca", &rsa, &F.rsa) != 0 ||
	    make_ca("ec-ca", &ec, &F.ec) != 0)
		return -1;
	F.exp_key = pkitest_ec("P-256");
	pkitest_spec(&cs, "Airlock Export", T2026 - 86400, T2060, 0, -1);
	F.exp_cert = pkitest_issue(&cs, F.exp_key, NULL, F.exp_key, 9);
	certspec_free(&cs);
	if (F.exp_cert == NULL)
		return -1;
	write_pem("export.pem", F.exp_cert);
	if (mkdir(F.hsm.dir, 0700) != 0 && sh("mkdir -p outbox") != 0)
		return -1;
	return 0;
}

static void
free_ca(struct ca *c)
{
	int i;

	for (i = 0; i < 3; i++)
		X509_free(c->leaf[i]);
	X509_free(c->cert);
	hsm_key_free(c->key);
}

static int
teardown(void **state)
{
	(void)state;
	free_ca(&F.rsa);
	free_ca(&F.ec);
	X509_free(F.exp_cert);
	EVP_PKEY_free(F.exp_key);
	store_close(F.st);
	hsmfx_close(&F.hsm);
	return 0;
}

static void
opts_for(struct ca *ca, struct signer_crl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->st = F.st;
	o->ca_id = ca->id;
	o->ca_name = ca->name;
	o->ca_cert = ca->cert;
	o->ca_key = ca->key;
	o->policy = &policy;
	o->now = F.now;
}

static void
export_it(struct ca *ca, int64_t number, struct export_crl_result *res)
{
	struct export_crl_opts eo;
	char outbox[PATH_MAX + 16];
	err_t e;

	snprintf(outbox, sizeof(outbox), "%s/outbox", F.hsm.dir);
	memset(&eo, 0, sizeof(eo));
	eo.st = F.st;
	eo.ca_id = ca->id;
	eo.ca_name = ca->name;
	eo.number = number;
	eo.ca_cert = ca->cert;
	eo.outbox_dir = outbox;
	eo.export_key = F.exp_key;
	eo.export_cert = F.exp_cert;
	eo.now = F.now;
	if (export_crl(&eo, res, &e) != 0)
		fail_msg("export_crl: %s", e.msg);
}

/* Issues a CRL with a revoked, a held and a good leaf; checks it all. */
static void
issue_and_check(struct ca *ca)
{
	struct signer_crl_opts o;
	struct signer_crl_result r;
	struct export_crl_result x;
	char d[512], f[768];
	int64_t before = 0;
	err_t e;

	store_cert(ca, ca->leaf[0], ca->serial[0], "revoked",
	    "'keyCompromise'", 1);
	store_cert(ca, ca->leaf[1], ca->serial[1], "hold",
	    "'certificateHold'", 0);
	store_cert(ca, ca->leaf[2], ca->serial[2], "valid", NULL, 0);
	/* A "crash" right after the number was taken: a gap, not reuse. */
	assert_int_equal(queue_crl_take_number(F.st, 0, ca->id, F.now,
	    &before, &e), 0);
	opts_for(ca, &o);
	if (signer_crl_issue(&o, &r, &e) != 0)
		fail_msg("signer_crl_issue: %s", e.msg);
	assert_int_equal(r.number, before + 1);
	assert_int_equal(r.entries, 2);
	assert_int_equal(r.next_update - r.this_update, 7 * 86400);
	export_it(ca, r.number, &x);
	assert_true(x.latest);
	assert_int_equal(x.files, 6);
	snprintf(d, sizeof(d), "outbox/%s", x.subdir);
	snprintf(f, sizeof(f), "%s/%s-%lld", d, ca->name, (long long)r.number);
	assert_int_equal(sh("test -f %s.crl && test -f %s.pem && "
	    "test -f %s/%s-latest.crl && test -f %s/%s-latest.pem && "
	    "cmp -s %s.crl %s/%s-latest.crl && test -f %s/MANIFEST && "
	    "test -f %s/MANIFEST.p7s", f, f, d, ca->name, d, ca->name, f, d,
	    ca->name, d, d), 0);
	write_pem("ca.pem", ca->cert);
	write_pem("revoked.pem", ca->leaf[0]);
	write_pem("held.pem", ca->leaf[1]);
	write_pem("good.pem", ca->leaf[2]);
	if (testutil_have("openssl")) {
		assert_int_equal(sh("openssl crl -inform DER -in %s.crl "
		    "-CAfile ca.pem -noout -verify 2>&1 | grep -q 'verify OK'",
		    f), 0);
		assert_int_equal(sh("openssl crl -in %s.pem -CAfile ca.pem "
		    "-noout -verify 2>&1 | grep -q 'verify OK'", f), 0);
		assert_int_equal(sh("openssl verify -crl_check -CAfile ca.pem "
		    "-CRLfile %s.pem good.pem >/dev/null 2>&1", f), 0);
		assert_int_equal(sh("openssl verify -crl_check -CAfile ca.pem "
		    "-CRLfile %s.pem revoked.pem 2>&1 | grep -q "
		    "'certificate revoked'", f), 0);
		assert_int_equal(sh("openssl verify -crl_check -CAfile ca.pem "
		    "-CRLfile %s.pem held.pem 2>&1 | grep -q "
		    "'certificate revoked'", f), 0);
		assert_int_equal(sh("openssl crl -inform DER -in %s.crl -noout "
		    "-text | grep -q 'Certificate Hold'", f), 0);
		assert_int_equal(sh("cd %s && openssl cms -verify -binary "
		    "-inform DER -in MANIFEST.p7s -content MANIFEST "
		    "-CAfile ../../export.pem -purpose any -out /dev/null "
		    "2>/dev/null", d), 0);
		assert_int_equal(sh("cd %s && sed -E "
		    "'s/^([0-9a-f]{64})  [0-9]+  /\\1  /' MANIFEST | "
		    "sha256sum -c --strict --quiet -", d), 0);
	}
	if (testutil_have("certtool"))
		assert_int_equal(sh("certtool --crl-info --inder --infile "
		    "%s.crl | grep -q 'Revoked certificates (2)'", f), 0);
	if (testutil_have("python3") && sh("python3 -c 'import cryptography' "
	    "2>/dev/null") == 0) {
		/* Reasons and the invalidity date, read independently. */
		assert_int_equal(sh("python3 -c '\n"
		    "import sys\n"
		    "from cryptography import x509\n"
		    "c = x509.load_der_x509_crl(open(\"%s.crl\", \"rb\").read())\n"
		    "r = c.get_revoked_certificate_by_serial_number(int(\"%s\", 16))\n"
		    "assert r.extensions.get_extension_for_class(x509.CRLReason)"
		    ".value.reason == x509.ReasonFlags.key_compromise\n"
		    "inv = r.extensions.get_extension_for_class("
		    "x509.InvalidityDate).value.invalidity_date\n"
		    "assert inv.year == 2025 and inv.month == 12, inv\n"
		    "h = c.get_revoked_certificate_by_serial_number(int(\"%s\", 16))\n"
		    "assert h.extensions.get_extension_for_class(x509.CRLReason)"
		    ".value.reason == x509.ReasonFlags.certificate_hold\n"
		    "assert c.get_revoked_certificate_by_serial_number("
		    "int(\"%s\", 16)) is None\n"
		    "n = c.extensions.get_extension_for_class(x509.CRLNumber)\n"
		    "assert n.value.crl_number == %lld\n"
		    "c.extensions.get_extension_for_class("
		    "x509.IssuingDistributionPoint)\n"
		    "c.extensions.get_extension_for_class("
		    "x509.AuthorityKeyIdentifier)\n"
		    "'", f, ca->serial[0], ca->serial[1], ca->serial[2],
		    (long long)r.number), 0);
	} else {
		fprintf(stderr, "  skipped: python3 cryptography missing\n");
	}
}

static void
test_rsa_ca(void **state)
{
	(void)state;
	HSMFX_NEED(&F.hsm);
	issue_and_check(&F.rsa);
}

static void
test_ec_ca(void **state)
{
	(void)state;
	HSMFX_NEED(&F.hsm);
	issue_and_check(&F.ec);
}

static void
test_request_and_refusals(void **state)
{
	struct signer_crl_opts o;
	struct signer_crl_result r;
	struct queue_crl_info info;
	struct queue_crl_request req;
	int64_t id = 0, last = 0;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	/* A CRL left unexported, then a newer one. */
	opts_for(&F.ec, &o);
	if (signer_crl_issue(&o, &r, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(queue_crl_latest(F.st, F.ec.id, &info, &e), 0);
	assert_int_equal(info.number, r.number);
	assert_int_equal(info.exported, 0);
	last = info.number;
	/* The wrong key: refused before a number is taken. */
	opts_for(&F.ec, &o);
	o.ca_key = F.rsa.key;
	assert_int_equal(signer_crl_issue(&o, &r, &e), ERR_INVALID);
	assert_contains(e.msg, "not the key of the CA certificate");
	opts_for(&F.ec, &o);
	o.policy = NULL;
	assert_int_equal(signer_crl_issue(&o, &r, &e), ERR_INVALID);
	/* A request not yet approved: refused, number untouched. */
	assert_int_equal(queue_crl_request(F.st, F.ec.id, "console",
	    "airlockd", 2, F.now, &id, &e), 0);
	opts_for(&F.ec, &o);
	o.request_id = id;
	assert_int_equal(signer_crl_issue(&o, &r, &e), ERR_INVALID);
	/* Approved (by SQL here: the quorum is queue's test), issued. */
	assert_int_equal(store_exec(F.st, "UPDATE crl_request SET state = "
	    "'approved'", &e), 0);
	o.md = EVP_sha384();
	o.now = F.now + 60;
	if (signer_crl_issue(&o, &r, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(r.number, last + 1);
	assert_int_equal(queue_crl_get(F.st, id, &req, &e), 0);
	assert_int_equal(req.state, QUEUE_CRL_ISSUED);
	assert_int_equal(req.number, r.number);
	queue_crl_free(&req);
	/* Issued once: a second try is refused, the request is done. */
	assert_int_equal(signer_crl_issue(&o, &r, &e), ERR_INVALID);
	/* The older CRL exported after a newer: no "latest" copies. */
	{
		struct export_crl_result x;

		export_it(&F.ec, last, &x);
		assert_false(x.latest);
		assert_int_equal(x.files, 4);
	}
}

static void
test_empty(void **state)
{
	struct signer_crl_opts o;
	struct signer_crl_result r;
	struct export_crl_result x;
	struct ca empty;
	struct hsm_keyspec ec = { HSM_KEY_EC, 0, NID_X9_62_prime256v1, NULL,
	    0 };
	char f[768];
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(make_ca("empty-ca", &ec, &empty), 0);
	opts_for(&empty, &o);
	policy.idp = 0;
	if (signer_crl_issue(&o, &r, &e) != 0)
		fail_msg("%s", e.msg);
	policy.idp = 1;
	assert_int_equal(r.number, 1);
	assert_int_equal(r.entries, 0);
	export_it(&empty, 1, &x);
	write_pem("ca.pem", empty.cert);
	snprintf(f, sizeof(f), "outbox/%s/empty-ca-1.crl", x.subdir);
	if (testutil_have("openssl"))
		assert_int_equal(sh("openssl crl -inform DER -in %s -CAfile "
		    "ca.pem -noout -verify 2>&1 | grep -q 'verify OK'", f), 0);
	if (testutil_have("certtool"))
		assert_int_equal(sh("certtool --crl-info --inder --infile %s "
		    "| grep -q 'No revoked certificates'", f), 0);
	free_ca(&empty);
}

/*
 * A CRL that fails the lint is not signed, and err names the check; a
 * check on the CA itself fails before a number is taken.
 */
static void
test_lint_refuses(void **state)
{
	struct signer_crl_opts o;
	struct signer_crl_result r;
	int64_t before;
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	opts_for(&F.ec, &o);
	if (signer_crl_issue(&o, &r, &e) != 0)
		fail_msg("%s", e.msg);
	before = r.number;
	/* thisUpdate after the CA certificate's notAfter. */
	o.now = F.now + 3651L * 86400;
	assert_int_equal(signer_crl_issue(&o, &r, &e), ERR_POLICY);
	assert_contains(e.msg, "CA ec-ca: CRL refused before signing (no "
	    "number taken)");
	assert_contains(e.msg, "crl-issuer-validity");
	/* No number was used up: the next CRL has the one after before. */
	opts_for(&F.ec, &o);
	if (signer_crl_issue(&o, &r, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(r.number, before + 1);
}

/* The audit log's stand-in: refuses when told, else counts. */
struct crl_events {
	int refuse;
	int n;
	char objects[256];
};

static int
crl_event(void *ctx, const struct event *ev)
{
	struct crl_events *c = ctx;

	if (c->refuse)
		return -1;
	c->n++;
	snprintf(c->objects, sizeof(c->objects), "%s %s", ev->action,
	    ev->objects);
	return 0;
}

/*
 * The "crl-issued" record is written in the transaction that records
 * the CRL: when the audit log refuses it, the CRL is not recorded and
 * the request stays approved, to be issued (under a new number) again.
 */
static void
test_event_with_record(void **state)
{
	struct signer_crl_opts o;
	struct signer_crl_result r;
	struct queue_crl_request req;
	struct queue_crl_info info;
	struct crl_events ev = { 1, 0, "" };
	int64_t id = 0, before;
	char want[96];
	err_t e;

	(void)state;
	HSMFX_NEED(&F.hsm);
	assert_int_equal(queue_crl_latest(F.st, F.rsa.id, &info, &e), 0);
	before = info.number;
	assert_int_equal(queue_crl_request(F.st, F.rsa.id, "console",
	    "airlockd", 2, F.now, &id, &e), 0);
	assert_int_equal(store_exec(F.st, "UPDATE crl_request SET state = "
	    "'approved' WHERE state = 'pending-approval'", &e), 0);
	opts_for(&F.rsa, &o);
	o.request_id = id;
	o.event = crl_event;
	o.event_ctx = &ev;
	assert_int_equal(signer_crl_issue(&o, &r, &e), ERR_IO);
	assert_contains(e.msg, "is not recorded: the audit log");
	assert_int_equal(queue_crl_get(F.st, id, &req, &e), 0);
	assert_int_equal(req.state, QUEUE_CRL_APPROVED);
	queue_crl_free(&req);
	assert_int_equal(queue_crl_latest(F.st, F.rsa.id, &info, &e), 0);
	assert_int_equal(info.number, before);
	assert_false(store_in_transaction(F.st));
	/* The log takes records again: issued, recorded, one event. */
	ev.refuse = 0;
	if (signer_crl_issue(&o, &r, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(r.number, before + 2);	/* one number used up */
	assert_int_equal(ev.n, 1);
	snprintf(want, sizeof(want), "crl-issued crl-request=%lld ca=rsa-ca "
	    "crl=%lld", (long long)id, (long long)r.number);
	assert_string_equal(ev.objects, want);
	assert_int_equal(queue_crl_get(F.st, id, &req, &e), 0);
	assert_int_equal(req.state, QUEUE_CRL_ISSUED);
	queue_crl_free(&req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_ca),
		cmocka_unit_test(test_ec_ca),
		cmocka_unit_test(test_request_and_refusals),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_lint_refuses),
		cmocka_unit_test(test_event_with_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
