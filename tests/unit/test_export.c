/*
 * test_export.c: the export formats, the results log, the signed manifest
 * and the writer (appliance/export).
 *
 * A software root, issuing CA, people CA and three device lines (an
 * RSA-2048 device, an EC P-256 device and a failed line whose name holds
 * quotes, a comma and UTF-8) are made here; every format is then written
 * to a scratch directory and opened with the stock tools (openssl,
 * unzip, certtool, python3), each check skipped with a reason when its
 * tool is missing.
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
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "export/item.h"
#include "export/manifest.h"
#include "export/package.h"
#include "export/results.h"
#include "export/writer.h"
#include "pki/pkiutil.h"
#include "pkitest.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/secret.h"

static EVP_PKEY *root_key, *ca_key, *people_key, *exp_key, *rcp_key;
static EVP_PKEY *dev_rsa, *dev_ec;
static X509 *root, *ca, *people, *exp_cert, *rcp, *cert_rsa, *cert_ec;
static secret_t *pw, *shortpw;
static char dir[1024];

#define NAME_RSA "00:11:22:33:44:55"
#define NAME_EC "00:11:22:33:44:66"
#define FILE_RSA "00-11-22-33-44-55"
#define FILE_EC "00-11-22-33-44-66"
/* Quotes, a comma and UTF-8: the results log must keep it intact. */
#define NAME_ODD "Zo\xc3\xab \"odd\", name"
#define PASSWORD "correct horse battery"

/* ------------------------------------------------------------------ */
/* Fixtures */

static X509 *
mkcert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int isca,
    unsigned ku, unsigned char tag)
{
	struct certspec s;
	X509 *x;

	pkitest_spec(&s, cn, T2026, T2040, isca, isca ? (issuer == NULL ? 1 : 0) : -1);
	if (ku != 0)
		s.ext.key_usage = ku;
	x = pkitest_issue(&s, key, issuer != NULL ? issuer : NULL,
	    ikey, tag);
	certspec_free(&s);
	return x;
}

/* Writes a certificate or key as PEM into dir/name. */
static void
save_pem(const char *name, X509 *x, EVP_PKEY *k)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	if (x != NULL)
		assert_int_equal(PEM_write_X509(f, x), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	fclose(f);
}

static int
setup(void **state)
{
	(void)state;
	if (testutil_tmpdir(dir, sizeof(dir), "export") != 0)
		return -1;
	root_key = pkitest_rsa();
	ca_key = pkitest_ec("P-256");
	people_key = pkitest_ec("P-256");
	exp_key = pkitest_ec("P-256");
	rcp_key = pkitest_rsa();
	dev_rsa = pkitest_rsa();
	dev_ec = pkitest_ec("P-256");
	root = mkcert("Test Root", root_key, NULL, root_key, 1, 0, 1);
	ca = mkcert("Test Device CA", ca_key, root, root_key, 1, 0, 2);
	people = mkcert("Test People CA", people_key, root, root_key, 1, 0, 3);
	exp_cert = mkcert("Appliance export", exp_key, people, people_key, 0,
	    0, 4);
	rcp = mkcert("Factory recipient", rcp_key, root, root_key, 0,
	    CERTSPEC_KU_KEY_ENCIPHERMENT, 5);
	cert_rsa = mkcert(NAME_RSA, dev_rsa, ca, ca_key, 0, 0, 6);
	cert_ec = mkcert(NAME_EC, dev_ec, ca, ca_key, 0, 0, 7);
	if (root == NULL || ca == NULL || people == NULL || exp_cert == NULL ||
	    rcp == NULL || cert_rsa == NULL || cert_ec == NULL)
		return -1;
	if (secret_new(&pw) != 0 || secret_set(pw, PASSWORD,
	    strlen(PASSWORD)) != 0 || secret_new(&shortpw) != 0 ||
	    secret_set(shortpw, "short", 5) != 0)
		return -1;
	save_pem("root.pem.ref", root, NULL);
	save_pem("ca.pem.ref", ca, NULL);
	save_pem("people.pem.ref", people, NULL);
	save_pem("r.pem", rcp, NULL);
	save_pem("r.key", NULL, rcp_key);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(root);
	X509_free(ca);
	X509_free(people);
	X509_free(exp_cert);
	X509_free(rcp);
	X509_free(cert_rsa);
	X509_free(cert_ec);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(people_key);
	EVP_PKEY_free(exp_key);
	EVP_PKEY_free(rcp_key);
	EVP_PKEY_free(dev_rsa);
	EVP_PKEY_free(dev_ec);
	secret_free(pw);
	secret_free(shortpw);
	if (getenv("AIRLOCK_KEEP_TMP") == NULL && dir[0] != '\0')
		testutil_rmtree(dir);
	return 0;
}

/* Three lines; keys set when the appliance "generated" them. */
static void
items3(struct export_item it[3], int keys)
{
	memset(it, 0, 3 * sizeof(*it));
	it[0].line = 1;
	it[0].name = NAME_RSA;
	it[0].cert = cert_rsa;
	it[0].key = keys ? dev_rsa : NULL;
	it[0].issued = 1;
	it[1].line = 2;
	it[1].name = NAME_ODD;
	it[1].issued = 0;
	it[1].message = "CSR key is RSA-1024, the profile requires \"RSA-2048\"";
	it[2].line = 3;
	it[2].name = NAME_EC;
	it[2].cert = cert_ec;
	it[2].key = keys ? dev_ec : NULL;
	it[2].issued = 1;
}

static void
opts_init(struct export_opts *o, enum export_format f, enum export_chain c)
{
	memset(o, 0, sizeof(*o));
	o->format = f;
	o->chain = c;
	o->log = EXPORT_LOG_CSV;
	o->batch_name = "DOCSIS 3.1 test batch";
	o->profile = "docsis31-cm";
	o->created = T2026 + 86400 * 300;
	o->issuer = ca;
	o->root = root;
	o->recipient = rcp;
	o->p12_password = pw;
	o->p12_profile = EXPORT_P12_MODERN;
}

/* 1 when the tool can be run; prints why a check is skipped. */
static int
have(const char *tool)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	if (system(cmd) == 0)
		return 1;
	fprintf(stderr, "  skipped: %s is not installed\n", tool);
	return 0;
}

/* Runs a shell command in dir; returns its exit status. */
static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	int n, rc;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", dir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

/*
 * Packages, signs and writes one export into dir/sub; returns the
 * package status (the rest must succeed when it does).
 */
static int
export_to(const char *sub, const struct export_opts *o,
    const struct export_item *it, size_t n, err_t *e)
{
	struct export_files fs;
	STACK_OF(X509) *extra;
	buf_t man, sig;
	int rc;

	export_files_init(&fs);
	err_clear(e);
	if ((rc = export_package(o, it, n, &fs, e)) != 0) {
		assert_int_equal(fs.n, 0);
		return rc;
	}
	buf_init(&man, EXPORT_MANIFEST_MAX);
	buf_init(&sig, EXPORT_MANIFEST_MAX);
	assert_int_equal(export_manifest_text(&fs, &man, e), 0);
	/*
	 * The people CA travels in the signature: OpenSSL 3.0's cms -verify
	 * builds the path from the certificates in the SignedData.
	 */
	assert_non_null(extra = sk_X509_new_null());
	assert_int_equal(sk_X509_push(extra, people), 1);
	assert_int_equal(export_manifest_sign(man.data, man.len, exp_key,
	    exp_cert, extra, &sig, e), 0);
	sk_X509_free(extra);
	rc = export_write(dir, sub, &fs, &man, &sig, e);
	if (rc != 0)
		fprintf(stderr, "export_write: %s\n", e->msg);
	assert_int_equal(rc, 0);
	buf_free(&man);
	buf_free(&sig);
	export_files_free(&fs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Names and escaping */

static void
test_filenames(void **state)
{
	static const char *bad[] = {
		"", "a/b", "..", "a..b", ".hidden", "tail.", " lead",
		"a\\b", "a\nb", "a\x01" "b", "a*b", "a?b", "a\"b", "a<b",
		"\xc3", "a\xe2\x80\xae" "b",	/* RLO */
	};
	char out[EXPORT_NAME_MAX + 1], big[EXPORT_NAME_MAX + 2];
	err_t e;
	size_t i;

	(void)state;
	assert_int_equal(export_item_filename(NAME_RSA, out, sizeof(out), &e),
	    0);
	assert_string_equal(out, FILE_RSA);
	assert_int_equal(export_item_filename("Zo\xc3\xab modem", out,
	    sizeof(out), &e), 0);
	assert_string_equal(out, "Zo\xc3\xab modem");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_int_not_equal(export_item_filename(bad[i], out,
		    sizeof(out), &e), 0);
		assert_true(e.msg[0] != '\0');
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(export_item_filename(big, out, sizeof(out), &e),
	    ERR_LIMIT);
	assert_int_equal(export_item_filename(NULL, out, sizeof(out), &e),
	    ERR_INVALID);
}

static void
test_json_string(void **state)
{
	static const char in[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f"
	    "\xc3\xa9\xe2\x80\xa8\xf0\x9f\x94\x92";
	static const char want[] = "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001"
	    "\\u001f\\u007f\xc3\xa9\\u2028\xf0\x9f\x94\x92\"";
	buf_t b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(export_json_string(&b, in, sizeof(in) - 1), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_reset(&b);
	/* NUL in the middle of counted bytes. */
	assert_int_equal(export_json_string(&b, "a\0b", 3), 0);
	assert_memory_equal(b.data, "\"a\\u0000b\"", b.len);
	/* Invalid UTF-8: lone continuation, overlong, surrogate, truncated. */
	assert_int_equal(export_json_string(&b, "\x80", 1), ERR_INVALID);
	assert_int_equal(export_json_string(&b, "\xc0\xaf", 2), ERR_INVALID);
	assert_int_equal(export_json_string(&b, "\xed\xa0\x80", 3),
	    ERR_INVALID);
	assert_int_equal(export_json_string(&b, "\xe2\x80", 2), ERR_INVALID);
	buf_free(&b);
	/* A buffer that fills up reports it. */
	buf_init(&b, 4);
	assert_int_equal(export_json_string(&b, "abcdef", 6), ERR_LIMIT);
	buf_free(&b);
}

static void
test_results(void **state)
{
	struct export_item it[3];
	static const char odd[] = "2,\"Zo\xc3\xab \"\"odd\"\", name\",,FAILED,";
	char serial[128], fp[65], path[PATH_MAX];
	buf_t b;
	err_t e;

	(void)state;
	items3(it, 0);
	assert_int_equal(export_serial_hex(cert_rsa, serial, sizeof(serial)),
	    0);
	assert_int_equal(pki_cert_sha256_hex(cert_rsa, fp), 0);
	buf_init(&b, 1u << 20);
	assert_int_equal(export_results_csv(it, 3, &b, &e), 0);
	assert_non_null(memmem(b.data, b.len,
	    "line,name,serial,status,message,sha256\r\n", 40));
	assert_non_null(memmem(b.data, b.len, odd, sizeof(odd) - 1));
	assert_non_null(memmem(b.data, b.len, serial, strlen(serial)));
	assert_non_null(memmem(b.data, b.len, fp, 64));
	snprintf(path, sizeof(path), "%s/r.csv", dir);
	assert_int_equal(fileio_create(path, b.data, b.len, 0644, &e), 0);
	buf_reset(&b);
	assert_int_equal(export_results_json(it, 3, &b, &e), 0);
	snprintf(path, sizeof(path), "%s/r.json", dir);
	assert_int_equal(fileio_create(path, b.data, b.len, 0644, &e), 0);
	buf_free(&b);
	if (have("python3")) {
		assert_int_equal(sh("python3 -c 'import csv,sys\n"
		    "r=list(csv.DictReader(open(\"r.csv\",newline=\"\",encoding=\"utf-8\")))\n"
		    "assert len(r)==3 and r[1][\"name\"]==\"Zo\\u00eb \\\"odd\\\", name\"\n"
		    "assert r[0][\"status\"]==\"ISSUED\" and r[1][\"status\"]==\"FAILED\"\n"
		    "assert r[0][\"serial\"]==\"%s\" and r[1][\"serial\"]==\"\"\n"
		    "assert r[1][\"message\"].endswith(\"\\\"RSA-2048\\\"\")'",
		    serial), 0);
		assert_int_equal(sh("python3 -c 'import json\n"
		    "r=json.load(open(\"r.json\",encoding=\"utf-8\"))\n"
		    "assert len(r)==3 and r[1][\"name\"]==\"Zo\\u00eb \\\"odd\\\", name\"\n"
		    "assert r[1][\"serial\"] is None and r[2][\"line\"]==3\n"
		    "assert r[0][\"sha256\"]==\"%s\"'", fp), 0);
	}
	/* An issued line without a certificate, and a non-UTF-8 message. */
	buf_init(&b, 1u << 20);
	it[0].cert = NULL;
	assert_int_equal(export_results_csv(it, 3, &b, &e), ERR_INVALID);
	items3(it, 0);
	it[1].message = "bad \xff byte";
	assert_int_equal(export_results_json(it, 3, &b, &e), ERR_INVALID);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Formats */

static void
test_pem_zip(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	err_t e;

	(void)state;
	items3(it, 0);
	opts_init(&o, EXPORT_FMT_PEM_ZIP, EXPORT_CHAIN_WITH_INTERMEDIATE);
	assert_int_equal(export_to("pemzip", &o, it, 3, &e), 0);
	if (!have("unzip") || !have("openssl"))
		return;
	assert_int_equal(sh("cd pemzip && unzip -q batch.zip -d x && "
	    "test -f x/" FILE_RSA ".pem && test -f x/" FILE_EC ".pem && "
	    "test -f x/issuer.pem && test -f x/root.pem && "
	    "test $(grep -c 'BEGIN CERTIFICATE' x/" FILE_RSA ".pem) = 2"), 0);
	assert_int_equal(sh("cd pemzip/x && openssl verify -CAfile root.pem "
	    "-untrusted issuer.pem " FILE_EC ".pem >/dev/null"), 0);
	assert_int_equal(sh("test -f pemzip/results.csv"), 0);
}

static void
test_der_zip(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	err_t e;

	(void)state;
	items3(it, 0);
	opts_init(&o, EXPORT_FMT_DER_ZIP, EXPORT_CHAIN_SEPARATE);
	o.log = EXPORT_LOG_JSON;
	assert_int_equal(export_to("derzip", &o, it, 3, &e), 0);
	if (!have("unzip") || !have("openssl"))
		return;
	assert_int_equal(sh("cd derzip && unzip -q batch.zip -d x && "
	    "openssl x509 -inform DER -in x/" FILE_RSA ".cer -noout && "
	    "openssl x509 -inform DER -in x/root.cer -out x/root.pem && "
	    "openssl x509 -inform DER -in x/issuer.cer -out x/issuer.pem && "
	    "openssl x509 -inform DER -in x/" FILE_EC ".cer -out x/d.pem && "
	    "openssl verify -CAfile x/root.pem -untrusted x/issuer.pem "
	    "x/d.pem >/dev/null && test -f results.json"), 0);
}

static void
test_pem_json(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	err_t e;

	(void)state;
	items3(it, 0);
	opts_init(&o, EXPORT_FMT_PEM_JSON,
	    EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE);
	assert_int_equal(export_to("pemjson", &o, it, 3, &e), 0);
	if (!have("python3"))
		return;
	assert_int_equal(sh("python3 -c 'import json\n"
	    "d=json.load(open(\"pemjson/batch.json\"))\n"
	    "c=d[\"certificates\"]\n"
	    "assert len(c)==2 and c[0][\"name\"]==\"" NAME_RSA "\"\n"
	    "assert len(c[0][\"chain\"])==2 and len(d[\"chain\"])==2\n"
	    "assert c[1][\"certificate\"].startswith(\"-----BEGIN CERTIFICATE-----\\n\")'"),
	    0);
}

static void
test_pkcs7(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	err_t e;

	(void)state;
	items3(it, 0);
	opts_init(&o, EXPORT_FMT_PKCS7, EXPORT_CHAIN_SEPARATE);
	assert_int_equal(export_to("p7", &o, it, 3, &e), 0);
	if (!have("openssl"))
		return;
	/* Two devices, the issuing CA and the root. */
	assert_int_equal(sh("test $(openssl pkcs7 -inform DER -in p7/batch.p7b "
	    "-print_certs | grep -c '^subject') = 4"), 0);
}

static void
test_pkcs12(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	err_t e;

	(void)state;
	items3(it, 1);
	opts_init(&o, EXPORT_FMT_PKCS12, EXPORT_CHAIN_WITH_INTERMEDIATE);
	assert_int_equal(export_to("p12m", &o, it, 3, &e), 0);
	o.p12_profile = EXPORT_P12_COMPAT;
	assert_int_equal(export_to("p12c", &o, it, 3, &e), 0);
	assert_int_equal(sh("printf '%%s' '" PASSWORD "' > pw.txt"), 0);
	if (have("openssl")) {
		assert_int_equal(sh("openssl pkcs12 -info -noout -passin "
		    "file:pw.txt -in p12m/" FILE_RSA ".p12 > m.txt 2>&1 && "
		    "grep -q 'PBES2, PBKDF2, AES-256-CBC' m.txt && "
		    "grep -q 'MAC: sha256' m.txt && "
		    "! grep -q -i 'sha1' m.txt"), 0);
		assert_int_equal(sh("openssl pkcs12 -info -noout -passin "
		    "file:pw.txt -in p12c/" FILE_EC ".p12 > c.txt 2>&1 && "
		    "grep -q 'pbeWithSHA1And3-KeyTripleDES-CBC' c.txt && "
		    "grep -q 'MAC: sha1' c.txt && "
		    "! grep -q 'PBES2' c.txt"), 0);
		/* The key, the device and the issuing CA come out again. */
		assert_int_equal(sh("openssl pkcs12 -nodes -passin file:pw.txt "
		    "-in p12m/" FILE_EC ".p12 2>/dev/null | "
		    "grep -c 'BEGIN CERTIFICATE' | grep -qx 2"), 0);
		/* A wrong password fails. */
		assert_int_not_equal(sh("openssl pkcs12 -info -noout -passin "
		    "pass:wrongpassword -in p12m/" FILE_RSA ".p12 "
		    ">/dev/null 2>&1"), 0);
	}
	if (have("certtool")) {
		assert_int_equal(sh("certtool --p12-info --inder --password '"
		    PASSWORD "' --infile p12m/" FILE_RSA ".p12 2>&1 | "
		    "grep -q 'Schema: PBES2-AES256-CBC'"), 0);
		assert_int_equal(sh("certtool --p12-info --inder --password '"
		    PASSWORD "' --infile p12c/" FILE_RSA ".p12 2>&1 | "
		    "grep -q 'Schema: PKCS12-3DES-SHA1'"), 0);
	}
	if (have("python3") && sh("python3 -c 'import cryptography' "
	    ">/dev/null 2>&1") == 0)
		assert_int_equal(sh("python3 -c 'from cryptography.hazmat."
		    "primitives.serialization import pkcs12\n"
		    "k,c,a=pkcs12.load_key_and_certificates(open(\"p12m/"
		    FILE_RSA ".p12\",\"rb\").read(),b\"" PASSWORD "\")\n"
		    "assert k is not None and c is not None and len(a)==1'"), 0);
}

static void
test_smpb(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	err_t e;

	(void)state;
	items3(it, 1);
	opts_init(&o, EXPORT_FMT_SMPB, EXPORT_CHAIN_SEPARATE);
	assert_int_equal(export_to("smpb", &o, it, 3, &e), 0);
	items3(it, 0);
	assert_int_equal(export_to("smpb-csr", &o, it, 3, &e), 0);
	if (!have("openssl") || !have("unzip"))
		return;
	assert_int_equal(sh("cd smpb && openssl cms -decrypt -inform DER "
	    "-in batch.smpb -recip ../r.pem -inkey ../r.key -out plain.zip && "
	    "unzip -l plain.zip | grep -q ' certificates.zip$' && "
	    "unzip -l plain.zip | grep -q ' batch.txt$' && "
	    "unzip -q plain.zip -d p && unzip -q p/certificates.zip -d c && "
	    "grep -q '^issued: 2' p/batch.txt && "
	    "grep -q '^failed: 1' p/batch.txt && "
	    "openssl x509 -inform DER -in c/" FILE_RSA ".cer -out d.pem && "
	    "openssl x509 -inform DER -in c/issuer.cer -out i.pem && "
	    "openssl x509 -inform DER -in c/root.cer -out r.pem && "
	    "openssl verify -CAfile r.pem -untrusted i.pem d.pem >/dev/null && "
	    "openssl pkey -in c/" FILE_RSA ".key -pubout -out k1.pub && "
	    "openssl x509 -in d.pem -pubkey -noout > k2.pub && "
	    "cmp -s k1.pub k2.pub && "
	    "grep -q 'BEGIN PRIVATE KEY' c/" FILE_EC ".key"), 0);
	/* The CSR batch carries no key at all. */
	assert_int_equal(sh("cd smpb-csr && openssl cms -decrypt -inform DER "
	    "-in batch.smpb -recip ../r.pem -inkey ../r.key -out plain.zip && "
	    "unzip -q plain.zip -d p && unzip -l p/certificates.zip > l.txt && "
	    "grep -q '" FILE_EC ".cer' l.txt && ! grep -q '\\.key' l.txt"), 0);
	/* Nothing in clear on the medium: the key is not in the SMPB bytes. */
	assert_int_not_equal(sh("grep -a -q 'PRIVATE KEY' smpb/batch.smpb"),
	    0);
	/* Another key cannot open it. */
	assert_int_not_equal(sh("openssl cms -decrypt -inform DER -in "
	    "smpb/batch.smpb -recip r.pem -inkey smpb/c/" FILE_RSA ".key "
	    "-out /dev/null 2>/dev/null"), 0);
}

static void
test_manifest(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	err_t e;

	(void)state;
	items3(it, 0);
	opts_init(&o, EXPORT_FMT_DER_ZIP, EXPORT_CHAIN_SEPARATE);
	assert_int_equal(export_to("man", &o, it, 3, &e), 0);
	if (have("openssl")) {
		assert_int_equal(sh("cd man && openssl cms -verify -binary "
		    "-inform DER -in MANIFEST.p7s -content MANIFEST "
		    "-CAfile ../root.pem.ref -certfile ../people.pem.ref "
		    "-purpose any -out /dev/null 2>/dev/null"), 0);
		/* One byte changed: the signature no longer holds. */
		assert_int_equal(sh("cd man && cp MANIFEST M2 && "
		    "printf 'X' | dd of=M2 bs=1 seek=3 conv=notrunc "
		    "2>/dev/null"), 0);
		assert_int_not_equal(sh("cd man && openssl cms -verify -binary "
		    "-inform DER -in MANIFEST.p7s -content M2 "
		    "-CAfile ../root.pem.ref -certfile ../people.pem.ref "
		    "-purpose any -out /dev/null 2>/dev/null"), 0);
	}
	if (have("sha256sum")) {
		assert_int_equal(sh("cd man && sed -E "
		    "'s/^([0-9a-f]{64})  [0-9]+  /\\1  /' MANIFEST | "
		    "sha256sum -c --strict --quiet -"), 0);
		/* Sizes agree with the files. */
		assert_int_equal(sh("cd man && while IFS= read -r l; do "
		    "s=${l#*  }; n=${s#*  }; s=${s%%%%  *}; "
		    "test \"$(stat -c %%s \"$n\")\" = \"$s\" || exit 1; "
		    "done < MANIFEST"), 0);
		/* A changed file is caught. */
		assert_int_equal(sh("cd man && cp results.csv r.bak && "
		    "printf 'x' >> results.csv"), 0);
		assert_int_not_equal(sh("cd man && sed -E "
		    "'s/^([0-9a-f]{64})  [0-9]+  /\\1  /' MANIFEST | "
		    "sha256sum -c --strict --quiet - >/dev/null 2>&1"), 0);
	}
}

/* ------------------------------------------------------------------ */
/* Refusals */

static void
test_refusals(void **state)
{
	struct export_opts o;
	struct export_item it[3];
	struct export_files fs;
	err_t e;

	(void)state;
	export_files_init(&fs);
	/* Generated keys in a format that would leave them in clear. */
	items3(it, 1);
	opts_init(&o, EXPORT_FMT_PEM_ZIP, EXPORT_CHAIN_SEPARATE);
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	assert_non_null(strstr(e.msg, "smpb and pkcs12"));
	o.format = EXPORT_FMT_PEM_JSON;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	o.format = EXPORT_FMT_DER_ZIP;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	o.format = EXPORT_FMT_PKCS7;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	assert_int_equal(fs.n, 0);
	/* PKCS#12 password too short, or missing. */
	o.format = EXPORT_FMT_PKCS12;
	o.p12_password = shortpw;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	assert_non_null(strstr(e.msg, "at least 8"));
	o.p12_password = NULL;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	/* PKCS#12 of a CSR batch: no key to put in. */
	items3(it, 0);
	o.p12_password = pw;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	/* A key that is not the certificate's. */
	items3(it, 1);
	it[0].key = dev_ec;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	/* SMPB without a recipient, or to an EC recipient. */
	items3(it, 1);
	opts_init(&o, EXPORT_FMT_SMPB, EXPORT_CHAIN_SEPARATE);
	o.recipient = NULL;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "recipient"));
	o.recipient = exp_cert;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_POLICY);
	/* Duplicate names, also once ':' is '-' and case is folded. */
	items3(it, 0);
	opts_init(&o, EXPORT_FMT_DER_ZIP, EXPORT_CHAIN_SEPARATE);
	it[2].name = NAME_RSA;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	it[2].name = "00-11-22-33-44-55";
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	it[0].name = "Modem-A";
	it[2].name = "modem-a";
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "two devices"));
	/* Unsafe names, and a name taken by a chain file. */
	it[2].name = "../etc/passwd";
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "line 3"));
	it[2].name = ".profile";
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	it[2].name = "a\tb";
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	it[2].name = "ISSUER";
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	/* Missing chain certificates. */
	items3(it, 0);
	o.issuer = NULL;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	o.issuer = ca;
	o.root = NULL;
	o.chain = EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	/* Issued without certificate. */
	opts_init(&o, EXPORT_FMT_DER_ZIP, EXPORT_CHAIN_SEPARATE);
	it[0].cert = NULL;
	assert_int_equal(export_package(&o, it, 3, &fs, &e), ERR_INVALID);
	assert_int_equal(fs.n, 0);
	export_files_free(&fs);
}

static void
test_files_add(void **state)
{
	struct export_files fs;
	err_t e;

	(void)state;
	export_files_init(&fs);
	assert_int_equal(export_files_add(&fs, "a.pem", "x", 1, 0, &e), 0);
	assert_int_equal(export_files_add(&fs, "A.PEM", "x", 1, 0, &e),
	    ERR_EXISTS);
	assert_int_equal(export_files_add(&fs, "a:b", "x", 1, 0, &e),
	    ERR_INVALID);
	assert_int_equal(export_files_add(&fs, "d/a", "x", 1, 0, &e),
	    ERR_INVALID);
	assert_int_equal(fs.n, 1);
	export_files_free(&fs);
}

static void
test_writer_refuses(void **state)
{
	struct export_files fs;
	buf_t man, sig;
	char path[PATH_MAX];
	err_t e;

	(void)state;
	export_files_init(&fs);
	buf_init(&man, EXPORT_MANIFEST_MAX);
	buf_init(&sig, EXPORT_MANIFEST_MAX);
	assert_int_equal(export_files_add(&fs, "one.txt", "1", 1, 0, &e), 0);
	assert_int_equal(export_manifest_text(&fs, &man, &e), 0);
	assert_int_equal(export_manifest_sign(man.data, man.len, exp_key,
	    exp_cert, NULL, &sig, &e), 0);
	assert_int_equal(export_write(dir, "w1", &fs, &man, &sig, &e), 0);
	/* The same directory again: never written over. */
	assert_int_equal(export_write(dir, "w1", &fs, &man, &sig, &e),
	    ERR_EXISTS);
	/* Unsafe subdirectory names. */
	assert_int_equal(export_write(dir, "..", &fs, &man, &sig, &e),
	    ERR_INVALID);
	assert_int_equal(export_write(dir, "a/b", &fs, &man, &sig, &e),
	    ERR_INVALID);
	assert_int_equal(export_write(dir, "a:b", &fs, &man, &sig, &e),
	    ERR_INVALID);
	/* A file that would take the manifest's name. */
	assert_int_equal(export_files_add(&fs, "manifest.txt", "1", 1, 0, &e),
	    0);
	assert_int_equal(export_write(dir, "w2", &fs, &man, &sig, &e),
	    ERR_INVALID);
	/* A missing signature. */
	buf_free(&sig);
	assert_int_equal(export_write(dir, "w3", &fs, &man, &sig, &e),
	    ERR_INVALID);
	snprintf(path, sizeof(path), "%s/w3", dir);
	assert_false(fileio_exists(path));
	/* The export key must match its certificate. */
	buf_init(&sig, EXPORT_MANIFEST_MAX);
	assert_int_equal(export_manifest_sign(man.data, man.len, dev_ec,
	    exp_cert, NULL, &sig, &e), ERR_INVALID);
	assert_int_equal(sig.len, 0);
	buf_free(&man);
	buf_free(&sig);
	export_files_free(&fs);
}

/* Secret files are private on the medium; the manifest comes last. */
static void
test_writer_modes(void **state)
{
	struct export_files fs;
	struct stat st, sm, ss;
	buf_t man, sig;
	char path[PATH_MAX];
	err_t e;

	(void)state;
	export_files_init(&fs);
	buf_init(&man, EXPORT_MANIFEST_MAX);
	buf_init(&sig, EXPORT_MANIFEST_MAX);
	assert_int_equal(export_files_add(&fs, "one.txt", "1", 1, 0, &e), 0);
	assert_int_equal(export_files_add(&fs, "two.p12", "2", 1, 1, &e), 0);
	assert_int_equal(export_manifest_text(&fs, &man, &e), 0);
	assert_int_equal(export_manifest_sign(man.data, man.len, exp_key,
	    exp_cert, NULL, &sig, &e), 0);
	assert_int_equal(export_write(dir, "modes", &fs, &man, &sig, &e), 0);
	snprintf(path, sizeof(path), "%s/modes/two.p12", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/modes/one.txt", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(path, sizeof(path), "%s/modes/MANIFEST", dir);
	assert_int_equal(stat(path, &sm), 0);
	snprintf(path, sizeof(path), "%s/modes/MANIFEST.p7s", dir);
	assert_int_equal(stat(path, &ss), 0);
	assert_true(sm.st_ino != ss.st_ino);
	buf_free(&man);
	buf_free(&sig);
	export_files_free(&fs);
}

/* A streamed file's producer: n lines of 100 bytes, failing at fail. */
struct lines {
	int n, fail;
};

static int
lines_fn(void *ctx, export_put_fn put, void *wctx, err_t *err)
{
	struct lines *l = ctx;
	char line[101];
	int i;

	for (i = 0; i < l->n; i++) {
		int r;

		if (i == l->fail)
			return err_set(err, ERR_IO, "the producer failed at "
			    "line %d", i);
		snprintf(line, sizeof(line), "%099d\n", i);
		if ((r = put(wctx, line, 100, err)) != 0)
			return r;
	}
	return 0;
}

/*
 * A file written in parts is listed in the signed MANIFEST like the
 * others; a producer that fails leaves no MANIFEST and nothing under the
 * file's name.
 */
static void
test_writer_stream(void **state)
{
	struct export_files fs;
	struct lines l = { 20000, -1 }, whole = { 20000, -1 };
	struct export_stream st = { "big.log", 0, lines_fn, &l };
	char subdir[64], sha[65], path[PATH_MAX];
	struct stat sb;
	err_t e;

	(void)state;
	export_files_init(&fs);
	assert_int_equal(export_files_add(&fs, "one.txt", "1", 1, 0, &e), 0);
	assert_int_equal(export_write_signed_stream(dir, "stream", &fs, &st,
	    exp_key, exp_cert, NULL, subdir, sizeof(subdir), sha, &e), 0);
	assert_string_equal(subdir, "stream");
	snprintf(path, sizeof(path), "%s/stream/big.log", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 2000000);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_int_equal(sh("cd %s/stream && grep -c '  2000000  big.log$' "
	    "MANIFEST | grep -qx 1", dir), 0);
	if (have("sha256sum"))
		assert_int_equal(sh("cd %s/stream && sed -E "
		    "'s/^([0-9a-f]{64})  [0-9]+  /\\1  /' MANIFEST | "
		    "sha256sum -c --strict --quiet -", dir), 0);
	if (have("openssl"))
		assert_int_equal(sh("cd %s/stream && openssl cms -verify "
		    "-binary -inform DER -in MANIFEST.p7s -content MANIFEST "
		    "-noverify -out /dev/null 2>/dev/null", dir), 0);

	/*
	 * The producer fails half-way: nothing under the directory's final
	 * name, and the attempt's temporary directory is gone too.
	 */
	l.fail = 10000;
	assert_int_equal(export_write_signed_stream(dir, "stream", &fs, &st,
	    exp_key, exp_cert, NULL, subdir, sizeof(subdir), sha, &e), ERR_IO);
	assert_contains(e.msg, "big.log");
	assert_string_equal(subdir, "stream.2");
	snprintf(path, sizeof(path), "%s/stream.2", dir);
	assert_false(fileio_exists(path));
	assert_int_equal(sh("ls -A %s | grep -q '^\\.stream'", dir), 1);

	/*
	 * A stale attempt (a medium pulled before its temporary directory
	 * could be removed) is swept by the next attempt at the same name,
	 * which then completes; other hidden names are left alone.
	 */
	assert_int_equal(sh("mkdir %s/.stream.2.tmp.0123456789ab && "
	    "echo part >%s/.stream.2.tmp.0123456789ab/one.txt && "
	    "mkdir %s/.other.tmp.0123456789ab", dir, dir, dir), 0);
	st.ctx = &whole;
	assert_int_equal(export_write_signed_stream(dir, "stream", &fs, &st,
	    exp_key, exp_cert, NULL, subdir, sizeof(subdir), sha, &e), 0);
	assert_string_equal(subdir, "stream.2");
	assert_int_equal(sh("ls -A %s | grep -q '^\\.stream'", dir), 1);
	snprintf(path, sizeof(path), "%s/.other.tmp.0123456789ab", dir);
	assert_true(fileio_exists(path));
	assert_int_equal(sh("test -s %s/stream.2/MANIFEST", dir), 0);

	/* A name the in-memory files already use is refused, before any
	 * byte is produced. */
	st.name = "one.txt";
	assert_int_equal(export_write_signed_stream(dir, "stream", &fs, &st,
	    exp_key, exp_cert, NULL, subdir, sizeof(subdir), sha, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "listed twice");
	export_files_free(&fs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filenames),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_files_add),
		cmocka_unit_test(test_pem_zip),
		cmocka_unit_test(test_der_zip),
		cmocka_unit_test(test_pem_json),
		cmocka_unit_test(test_pkcs7),
		cmocka_unit_test(test_pkcs12),
		cmocka_unit_test(test_smpb),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_writer_modes),
		cmocka_unit_test(test_writer_stream),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
