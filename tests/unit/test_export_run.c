/*
 * test_export_run.c: writing an export of a finished batch to a stand-in
 * outbox (export/run.c) from a real store: SMPB (opened with the openssl
 * CLI and with CMS_decrypt), PKCS#12 modern (openssl pkcs12 -info and
 * PKCS12_parse), pem-zip for a csr batch, the results log, the issuer's
 * CRL, the signed MANIFEST (openssl cms -verify), the subdir names and
 * retries, a missing or unwritable medium, and tampered records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/pkcs12.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "batchfx.h"
#include "export/manifest.h"
#include "export/run.h"
#include "util/fileio.h"
#include "util/text.h"

#define PASSWORD "correct horse battery"

struct ctx {
	struct bfx *f;
	char outbox[PATH_MAX / 4 + 16];
	secret_t *pw;
	int events;
	char action[64], object[128], details[1024];
	enum event_outcome outcome;
};

static int
on_event(void *c, const struct event *ev)
{
	struct ctx *x = c;

	x->events++;
	snprintf(x->action, sizeof(x->action), "%s", ev->action);
	snprintf(x->object, sizeof(x->object), "%s", ev->objects ?
	    ev->objects : "");
	snprintf(x->details, sizeof(x->details), "%s", ev->details ?
	    ev->details : "");
	x->outcome = ev->outcome;
	return 0;
}

static int
setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	x->f = bfx_new("exportrun");
	snprintf(x->outbox, sizeof(x->outbox), "%s/outbox", x->f->dir);
	if (mkdir(x->outbox, 0700) != 0 || secret_new(&x->pw) != 0 ||
	    secret_set(x->pw, PASSWORD, strlen(PASSWORD)) != 0)
		return -1;
	bfx_save_pem(x->f, "root.pem", x->f->root, NULL);
	bfx_save_pem(x->f, "r.pem", x->f->rcp, NULL);
	bfx_save_pem(x->f, "r.key", NULL, x->f->rcp_key);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *x = *state;
	int r;

	/* A test that made the outbox read-only must not stop the cleanup. */
	chmod(x->outbox, 0700);
	secret_free(x->pw);
	r = bfx_free(x->f);
	free(x);
	return r;
}

static void
opts_for(struct ctx *x, int64_t export_id, struct export_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->st = x->f->s;
	o->export_id = export_id;
	o->outbox_dir = x->outbox;
	o->issuer = x->f->ca;
	o->root = x->f->root;
	o->export_key = x->f->exp_key;
	o->export_cert = x->f->exp_cert;
	o->data_key = x->f->data_key;
	o->p12_password = x->pw;
	o->now = T2026 + 86400;
	o->event = on_event;
	o->event_ctx = x;
}

static int64_t
first_export(struct ctx *x, int64_t batch)
{
	int64_t id = 0;
	err_t e;

	if (queue_export_first(x->f->s, batch, &id, &e) != 0)
		fail_msg("queue_export_first: %s", e.msg);
	return id;
}

static void
path_of(struct ctx *x, const char *subdir, const char *name, char *out,
    size_t outsz)
{
	snprintf(out, outsz, "%s/%s/%s", x->outbox, subdir, name);
}

static void
read_file(const char *path, buf_t *b)
{
	err_t e;

	buf_init(b, 64u * 1024 * 1024);
	if (fileio_read(path, 64u * 1024 * 1024, b, &e) != 0)
		fail_msg("read %s: %s", path, e.msg);
}

/* Runs cmd through the shell; 1 when it exits 0. */
static int
sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0;
}

static int
have(const char *tool)
{
	return sh("command -v %s >/dev/null 2>&1", tool);
}

/* Entries in dir (without . and ..). */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * The written export is what the record says: MANIFEST's SHA-256 is the
 * recorded one and its signature verifies with only the root as anchor
 * (openssl CLI), and every listed file has its digest.
 */
static void
check_manifest(struct ctx *x, int64_t export_id,
    const struct export_run_result *res)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char path[PATH_MAX + 512], hex[65], sub[PATH_MAX + 512];
	struct queue_export rec;
	buf_t b;
	err_t e;

	path_of(x, res->subdir, EXPORT_MANIFEST_NAME, path, sizeof(path));
	read_file(path, &b);
	SHA256(b.data, b.len, md);
	buf_hex(md, sizeof(md), hex, sizeof(hex));
	buf_free(&b);
	assert_string_equal(hex, res->manifest_sha256);
	assert_int_equal(queue_export_get(x->f->s, export_id, &rec, &e), 0);
	assert_int_equal(rec.state, QUEUE_EXPORT_WRITTEN);
	assert_string_equal(rec.dir, res->subdir);
	assert_string_equal(rec.manifest_sha256, hex);
	assert_int_equal(rec.written, T2026 + 86400);
	queue_export_free(&rec);
	snprintf(sub, sizeof(sub), "%s/%s", x->outbox, res->subdir);
	assert_int_equal(entries(sub), (int)res->files);
	if (!have("openssl") || !have("sha256sum")) {
		fprintf(stderr, "skip: openssl or sha256sum missing; "
		    "MANIFEST not checked with the CLI\n");
		return;
	}
	/* Only the root is trusted: the people CA travels in the p7s. */
	assert_true(sh("cd '%s' && openssl cms -verify -binary -inform DER "
	    "-in MANIFEST.p7s -content MANIFEST -CAfile '%s/root.pem' "
	    "-purpose any -out /dev/null 2>/dev/null", sub, x->f->dir));
	assert_true(sh("cd '%s' && sed -E 's/^([0-9a-f]{64})  [0-9]+  /\\1  /' "
	    "MANIFEST | sha256sum -c --strict - >/dev/null", sub));
}

static void
assert_file_has(const char *path, const char *needle)
{
	buf_t b;

	read_file(path, &b);
	assert_true(buf_put_u8(&b, 0) == 0);
	assert_contains((const char *)b.data, needle);
	buf_free(&b);
}

/* --- formats ------------------------------------------------------------- */

static void
test_smpb(void **state)
{
	struct ctx *x = *state;
	struct bfx_spec sp = {
		.name = "Cable modems", .mode = "mac-range", .format = "smpb",
		.lines = 3, .fail_line = 2, .fail_msg = "the MAC is blocked",
	};
	struct export_run_opts o;
	struct export_run_result res;
	struct store_crl crl = { 0 };
	unsigned char *crl_der = NULL;
	char path[PATH_MAX + 512], want[128], sub[PATH_MAX + 512];
	int64_t batch, id;
	int len;
	buf_t b;
	err_t e;

	batch = bfx_batch(x->f, &sp);
	/* The CA's CRLs: the export carries the latest by number. */
	for (long n = 1; n <= 2; n++) {
		X509_CRL *c;

		assert_non_null(c = X509_CRL_new());
		assert_int_equal(X509_CRL_set_version(c, 1), 1);
		assert_int_equal(X509_CRL_set_issuer_name(c,
		    X509_get_subject_name(x->f->ca)), 1);
		{
			ASN1_TIME *t = ASN1_TIME_set(NULL, T2026 + n);
			ASN1_TIME *u = ASN1_TIME_set(NULL, T2030);

			X509_CRL_set1_lastUpdate(c, t);
			X509_CRL_set1_nextUpdate(c, u);
			ASN1_TIME_free(t);
			ASN1_TIME_free(u);
		}
		assert_true(X509_CRL_sign(c, x->f->ca_key, EVP_sha256()) > 0);
		OPENSSL_free(crl_der);
		crl_der = NULL;
		assert_true((len = i2d_X509_CRL(c, &crl_der)) > 0);
		X509_CRL_free(c);
		crl.ca_id = x->f->ca_id;
		crl.number = n;
		crl.this_update = T2026 + n;
		crl.next_update = T2030;
		crl.der = crl_der;
		crl.der_len = (size_t)len;
		if (store_crl_add(x->f->s, &crl, &e) != 0)
			fail_msg("store_crl_add: %s", e.msg);
	}
	id = first_export(x, batch);
	opts_for(x, id, &o);
	if (export_run(&o, &res, &e) != 0)
		fail_msg("export_run: %s", e.msg);
	snprintf(want, sizeof(want), "batch-%lld-Cable modems-1",
	    (long long)batch);
	assert_string_equal(res.subdir, want);
	/* batch.smpb, results.csv, devices.crl, MANIFEST.p7s, MANIFEST. */
	assert_int_equal(res.files, 5);
	assert_int_equal(x->events, 1);
	assert_string_equal(x->action, "export-written");
	assert_int_equal(x->outcome, EVENT_OK);
	/* The audit log's objects: ids as key=value (export 1 is the
	 * batch's first). */
	snprintf(want, sizeof(want), "export=1 batch=%lld number=1",
	    (long long)batch);
	assert_string_equal(x->object, want);
	assert_contains(x->details, res.subdir);
	assert_contains(x->details, res.manifest_sha256);
	check_manifest(x, id, &res);

	/* The latest CRL, as stored, under the CA's name. */
	path_of(x, res.subdir, "devices.crl", path, sizeof(path));
	read_file(path, &b);
	assert_int_equal(b.len, (size_t)len);
	assert_memory_equal(b.data, crl_der, b.len);
	buf_free(&b);
	OPENSSL_free(crl_der);

	/* The results log lists the failed line with its message. */
	path_of(x, res.subdir, "results.csv", path, sizeof(path));
	assert_file_has(path, "2,00:11:22:33:44:02,,FAILED,the MAC is "
	    "blocked,");
	assert_file_has(path, "00:11:22:33:44:03");

	/* In-process: the envelope opens with the recipient's key. */
	path_of(x, res.subdir, "batch.smpb", path, sizeof(path));
	{
		const unsigned char *p;
		CMS_ContentInfo *cms;
		BIO *out = BIO_new(BIO_s_mem());
		char *data;
		long n;

		read_file(path, &b);
		p = b.data;
		assert_non_null(cms = d2i_CMS_ContentInfo(NULL, &p,
		    (long)b.len));
		assert_int_equal(CMS_decrypt(cms, x->f->rcp_key, x->f->rcp,
		    NULL, out, CMS_BINARY), 1);
		n = BIO_get_mem_data(out, &data);
		assert_true(n > 4);
		assert_memory_equal(data, "PK\x03\x04", 4);
		BIO_free(out);
		CMS_ContentInfo_free(cms);
		buf_free(&b);
	}
	if (!have("openssl") || !have("unzip")) {
		fprintf(stderr, "skip: openssl or unzip missing\n");
		return;
	}
	/* With the CLI, down to a device key that matches its certificate. */
	snprintf(sub, sizeof(sub), "%s/%s", x->outbox, res.subdir);
	assert_true(sh("cd '%s' && openssl cms -decrypt -inform DER -in "
	    "batch.smpb -recip ../../r.pem -inkey ../../r.key -out "
	    "../../plain.zip 2>/dev/null", sub));
	assert_true(sh("cd '%s' && unzip -p plain.zip certificates.zip > c.zip "
	    "&& unzip -l c.zip | grep -q '00-11-22-33-44-01.key' && "
	    "unzip -l c.zip | grep -q '00-11-22-33-44-03.cer' && "
	    "! unzip -l c.zip | grep -q '00-11-22-33-44-02' && "
	    "unzip -p c.zip 00-11-22-33-44-01.key > k1.pem && "
	    "unzip -p c.zip 00-11-22-33-44-01.cer > c1.der && "
	    "unzip -p plain.zip batch.txt | grep -q 'failed: 1'",
	    x->f->dir));
	assert_true(sh("cd '%s' && a=$(openssl pkey -in k1.pem -pubout "
	    "2>/dev/null) && b=$(openssl x509 -inform DER -in c1.der -pubkey "
	    "-noout) && [ \"$a\" = \"$b\" ]", x->f->dir));
}

static void
test_pkcs12(void **state)
{
	struct ctx *x = *state;
	struct bfx_spec sp = {
		.name = "Gateways", .mode = "mac-range", .format = "pkcs12",
		.chain = "with-intermediate", .lines = 2,
	};
	struct export_run_opts o;
	struct export_run_result res;
	char path[PATH_MAX + 512], sub[PATH_MAX + 512];
	EVP_PKEY *pk = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	PKCS12 *p12;
	const unsigned char *p;
	int64_t batch, id;
	buf_t b;
	err_t e;

	batch = bfx_batch(x->f, &sp);
	id = first_export(x, batch);
	opts_for(x, id, &o);
	/* Without its password a pkcs12 export is refused and not written. */
	o.p12_password = NULL;
	assert_int_equal(export_run(&o, &res, &e), ERR_POLICY);
	assert_string_equal(x->action, "export-failed");
	assert_int_equal(x->outcome, EVENT_FAILED);
	assert_contains(x->details, "password");
	assert_int_equal(entries(x->outbox), 0);
	assert_int_equal(bfx_export_state(x->f, id), QUEUE_EXPORT_APPROVED);

	o.p12_password = x->pw;
	if (export_run(&o, &res, &e) != 0)
		fail_msg("export_run: %s", e.msg);
	/* 2 x .p12, issuer.pem, root.pem, results.csv and the manifest. */
	assert_int_equal(res.files, 7);
	check_manifest(x, id, &res);

	path_of(x, res.subdir, "00-11-22-33-44-01.p12", path, sizeof(path));
	read_file(path, &b);
	p = b.data;
	assert_non_null(p12 = d2i_PKCS12(NULL, &p, (long)b.len));
	assert_int_equal(PKCS12_parse(p12, PASSWORD, &pk, &cert, &ca), 1);
	assert_int_equal(X509_check_private_key(cert, pk), 1);
	assert_int_equal(sk_X509_num(ca), 1);
	assert_int_equal(X509_cmp(sk_X509_value(ca, 0), x->f->ca), 0);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(x->f->ca)), 1);
	EVP_PKEY_free(pk);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p12);
	buf_free(&b);

	if (!have("openssl")) {
		fprintf(stderr, "skip: openssl missing\n");
		return;
	}
	snprintf(sub, sizeof(sub), "%s/%s", x->outbox, res.subdir);
	assert_true(sh("cd '%s' && openssl pkcs12 -info -nokeys -in "
	    "00-11-22-33-44-02.p12 -passin 'pass:%s' >/dev/null 2>../../p12.txt "
	    "&& grep -q 'PBES2, PBKDF2, AES-256-CBC' ../../p12.txt && "
	    "grep -q 'MAC: sha256' ../../p12.txt", sub, PASSWORD));
	assert_false(sh("cd '%s' && openssl pkcs12 -info -nokeys -in "
	    "00-11-22-33-44-02.p12 -passin pass:wrong-password >/dev/null "
	    "2>&1", sub));
}

static void
test_pemzip_csr(void **state)
{
	struct ctx *x = *state;
	/* A name that is no file name: the subdir falls back. */
	struct bfx_spec sp = {
		.name = "Line 7/8", .mode = "csr", .format = "pem-zip",
		.lines = 3, .fail_line = 3,
		.fail_msg = "key too short, \"RSA-1024\"",
		.note_line = 1, .note = "validity shortened to 3650 days",
	};
	struct export_run_opts o;
	struct export_run_result res;
	char path[PATH_MAX + 512], want[64], sub[PATH_MAX + 512];
	int64_t batch, id;
	err_t e;

	batch = bfx_batch(x->f, &sp);
	id = first_export(x, batch);
	opts_for(x, id, &o);
	/* A csr batch has no generated keys: no data key is needed. */
	o.data_key = NULL;
	if (export_run(&o, &res, &e) != 0)
		fail_msg("export_run: %s", e.msg);
	snprintf(want, sizeof(want), "batch-%lld-1", (long long)batch);
	assert_string_equal(res.subdir, want);
	/* batch.zip, results.csv, the manifest; no CRL in the store. */
	assert_int_equal(res.files, 4);
	check_manifest(x, id, &res);
	path_of(x, res.subdir, "results.csv", path, sizeof(path));
	assert_file_has(path, "3,device-3.example,,FAILED,\"key too short, "
	    "\"\"RSA-1024\"\"\",");
	assert_file_has(path, ",ISSUED,validity shortened to 3650 days,");
	if (!have("unzip")) {
		fprintf(stderr, "skip: unzip missing\n");
		return;
	}
	snprintf(sub, sizeof(sub), "%s/%s", x->outbox, res.subdir);
	assert_true(sh("cd '%s' && unzip -l batch.zip | grep -q "
	    "device-1.example.pem && unzip -l batch.zip | grep -q issuer.pem "
	    "&& ! unzip -l batch.zip | grep -q device-3", sub));
}

/* A long name is cut so the subdir and a retry suffix fit. */
static void
test_long_name(void **state)
{
	struct ctx *x = *state;
	char name[201];
	struct bfx_spec sp = {
		.name = name, .mode = "csr", .format = "der-zip", .lines = 1,
	};
	struct export_run_opts o;
	struct export_run_result res;
	int64_t batch, id;
	err_t e;

	memset(name, 'n', 200);
	/* A multi-byte character right where the cut falls. */
	memcpy(name + 100, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
	name[200] = '\0';
	batch = bfx_batch(x->f, &sp);
	id = first_export(x, batch);
	opts_for(x, id, &o);
	if (export_run(&o, &res, &e) != 0)
		fail_msg("export_run: %s", e.msg);
	assert_true(strlen(res.subdir) <= EXPORT_NAME_MAX - 4);
	assert_true(strncmp(res.subdir, "batch-", 6) == 0);
	assert_true(strcmp(res.subdir + strlen(res.subdir) - 2, "-1") == 0);
	assert_true(text_clean(res.subdir));
}

/* --- the medium ---------------------------------------------------------- */

static void
test_medium_retry(void **state)
{
	struct ctx *x = *state;
	struct bfx_spec sp = {
		.name = "Batch", .mode = "mac-range", .format = "smpb",
		.lines = 2,
	};
	struct export_run_opts o;
	struct export_run_result res;
	char base[64], path[PATH_MAX + 512], file[PATH_MAX + 600];
	int64_t batch, id, id2 = 0;
	err_t e;
	FILE *fp;

	batch = bfx_batch(x->f, &sp);
	id = first_export(x, batch);
	opts_for(x, id, &o);
	snprintf(base, sizeof(base), "batch-%lld-Batch-1", (long long)batch);

	/* The medium is not there. */
	assert_int_equal(rmdir(x->outbox), 0);
	assert_int_equal(export_run(&o, &res, &e), ERR_IO);
	assert_contains(e.msg, "is the medium inserted");
	assert_string_equal(x->action, "export-failed");
	assert_contains(x->details, "outbox");
	assert_int_equal(bfx_export_state(x->f, id), QUEUE_EXPORT_APPROVED);

	/* Something that is not a directory where the outbox should be. */
	assert_non_null(fp = fopen(x->outbox, "w"));
	fclose(fp);
	assert_int_equal(export_run(&o, &res, &e), ERR_IO);
	assert_int_equal(unlink(x->outbox), 0);
	assert_int_equal(mkdir(x->outbox, 0700), 0);

	/* A read-only outbox (root ignores modes, so only as a user). */
	if (geteuid() != 0) {
		assert_int_equal(chmod(x->outbox, 0500), 0);
		assert_int_equal(export_run(&o, &res, &e), ERR_IO);
		assert_contains(e.msg, "read-only");
		assert_int_equal(chmod(x->outbox, 0700), 0);
	} else
		fprintf(stderr, "skip: running as root, which ignores a "
		    "read-only mode; the non-directory case stands in\n");
	assert_int_equal(entries(x->outbox), 0);
	assert_int_equal(bfx_export_state(x->f, id), QUEUE_EXPORT_APPROVED);

	/*
	 * An attempt that stopped part-way (the medium was pulled) left its
	 * directory without MANIFEST: the retry takes the next name.
	 */
	snprintf(path, sizeof(path), "%s/%s", x->outbox, base);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(file, sizeof(file), "%s/batch.smpb", path);
	assert_non_null(fp = fopen(file, "w"));
	fclose(fp);
	x->events = 0;
	if (export_run(&o, &res, &e) != 0)
		fail_msg("export_run: %s", e.msg);
	snprintf(path, sizeof(path), "%s.2", base);
	assert_string_equal(res.subdir, path);
	assert_int_equal(x->events, 1);
	assert_string_equal(x->action, "export-written");
	check_manifest(x, id, &res);

	/* Written once: running it again is refused. */
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "'written'");

	/* A re-export, once approved, goes to a directory of its own. */
	assert_int_equal(queue_export_request(x->f->s, batch, 9000, &id2, &e),
	    0);
	opts_for(x, id2, &o);
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "'pending-approval'");
	{
		char digest[65];

		assert_int_equal(queue_export_digest(x->f->s, id2, digest, &e),
		    0);
		bfx_vote(x->f, "export", id2, BFX_O1, x->f->o1_id, digest,
		    "approve", NULL);
		bfx_vote(x->f, "export", id2, BFX_O2, x->f->o2_id, digest,
		    "approve", NULL);
		assert_int_equal(queue_export_transition(x->f->s, id2,
		    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_APPROVED, NULL,
		    NULL, 9001, &e), 0);
	}
	if (export_run(&o, &res, &e) != 0)
		fail_msg("export_run: %s", e.msg);
	snprintf(path, sizeof(path), "batch-%lld-Batch-2", (long long)batch);
	assert_string_equal(res.subdir, path);
	snprintf(path, sizeof(path), "export=%lld batch=%lld number=2",
	    (long long)id2, (long long)batch);
	assert_string_equal(x->object, path);
	check_manifest(x, id2, &res);
}

/* --- tampered records and wrong inputs ------------------------------------ */

/* Flips one byte of a line's blob column behind the queue's back. */
static void
tamper(struct ctx *x, int64_t batch, int64_t line, const char *col)
{
	sqlite3 *db = store_db(x->f->s);
	sqlite3_stmt *st;
	unsigned char blob[8192];
	char sql[256];
	int n;

	/* An attacker with the file is not held back by triggers. */
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER IF EXISTS line_final",
	    NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT %s FROM line WHERE batch_id = ? "
	    "AND line = ?", col);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, batch);
	sqlite3_bind_int64(st, 2, line);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_bytes(st, 0);
	assert_true(n > 40 && n <= (int)sizeof(blob));
	memcpy(blob, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	blob[n - 20] ^= 0x01;
	snprintf(sql, sizeof(sql), "UPDATE line SET %s = ? WHERE batch_id = ? "
	    "AND line = ?", col);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, blob, n, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, batch);
	sqlite3_bind_int64(st, 3, line);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void
test_tampered_key(void **state)
{
	struct ctx *x = *state;
	struct bfx_spec sp = {
		.name = "Batch", .mode = "mac-range", .format = "smpb",
		.lines = 3,
	};
	struct export_run_opts o;
	struct export_run_result res;
	int64_t batch, id;
	err_t e;

	batch = bfx_batch(x->f, &sp);
	id = first_export(x, batch);
	tamper(x, batch, 2, "key_enc");
	opts_for(x, id, &o);
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "line 2");
	assert_contains(e.msg, "does not open");
	assert_string_equal(x->action, "export-failed");
	/* Nothing at all on the medium, so certainly no MANIFEST. */
	assert_int_equal(entries(x->outbox), 0);
	assert_int_equal(bfx_export_state(x->f, id), QUEUE_EXPORT_APPROVED);
}

static void
test_tampered_cert(void **state)
{
	struct ctx *x = *state;
	struct bfx_spec sp = {
		.name = "Batch", .mode = "csr", .format = "pem-zip", .lines = 2,
	};
	struct export_run_opts o;
	struct export_run_result res;
	int64_t batch, id;
	err_t e;

	batch = bfx_batch(x->f, &sp);
	id = first_export(x, batch);
	tamper(x, batch, 1, "cert_der");
	opts_for(x, id, &o);
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "not the one recorded");
	assert_int_equal(entries(x->outbox), 0);
	assert_int_equal(bfx_export_state(x->f, id), QUEUE_EXPORT_APPROVED);
}

static void
test_wrong_inputs(void **state)
{
	struct ctx *x = *state;
	struct bfx_spec sp = {
		.name = "Batch", .mode = "mac-range", .format = "smpb",
		.lines = 2,
	};
	struct bfx_spec open = {
		.name = "Open", .mode = "csr", .format = "pem-zip", .lines = 1,
		.no_finish = 1,
	};
	struct export_run_opts o;
	struct export_run_result res;
	unsigned char other[VAULT_KEY_LEN];
	secret_t *wrong;
	int64_t batch, id;
	err_t e;

	batch = bfx_batch(x->f, &sp);
	id = first_export(x, batch);
	opts_for(x, id, &o);

	/* Another CA's certificate as the issuer. */
	o.issuer = x->f->people;
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "is not the certificate of CA 'devices'");
	o.issuer = x->f->ca;

	/* Generated keys need the data key, and the right one. */
	o.data_key = NULL;
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "no data key");
	memset(other, 0x5a, sizeof(other));
	assert_int_equal(secret_new(&wrong), 0);
	assert_int_equal(secret_set(wrong, other, sizeof(other)), 0);
	o.data_key = wrong;
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "line 1");
	secret_free(wrong);
	o.data_key = x->f->data_key;

	/* An export key that is not the export certificate's. */
	o.export_key = x->f->ca_key;
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	o.export_key = x->f->exp_key;

	/* No such export; missing options. */
	o.export_id = 4242;
	assert_int_equal(export_run(&o, &res, &e), ERR_NOTFOUND);
	assert_contains(x->object, "export=4242");
	o.export_id = id;
	o.export_cert = NULL;
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	o.export_cert = x->f->exp_cert;
	assert_int_equal(export_run(NULL, &res, &e), ERR_INVALID);
	assert_int_equal(entries(x->outbox), 0);
	assert_int_equal(bfx_export_state(x->f, id), QUEUE_EXPORT_APPROVED);

	/* An export record whose batch is still issuing (forged). */
	(void)bfx_batch(x->f, &open);
	assert_int_equal(sqlite3_exec(store_db(x->f->s), "INSERT INTO export "
	    "(batch_id, number, state, created) SELECT id, 1, 'approved', 1 "
	    "FROM batch WHERE name = 'Open'", NULL, NULL, NULL), SQLITE_OK);
	o.export_id = sqlite3_last_insert_rowid(store_db(x->f->s));
	assert_int_equal(export_run(&o, &res, &e), ERR_INVALID);
	assert_contains(e.msg, "'issuing'");

	/* All is well once the inputs are right, res may be NULL. */
	o.export_id = id;
	assert_int_equal(export_run(&o, NULL, &e), 0);
	assert_int_equal(bfx_export_state(x->f, id), QUEUE_EXPORT_WRITTEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_smpb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkcs12, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pemzip_csr, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_medium_retry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered_cert, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_inputs, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
