/*
 * test_intake.c: inbox/ -> queue or quarantine/ (daemon/intake) on a real
 * store and a medium in a temporary directory, and the cross-batch name
 * check (queue_names_taken) it relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "bundlefx.h"
#include "daemon/intake.h"
#include "pki/certinfo.h"
#include "pki/vault.h"
#include "queue/queue.h"
#include "store/store.h"

static struct bfx F;

#define IN_RANGE_1 "input:\n  mode: mac-range\n  start: " \
	"\"00:11:22:33:44:00\"\n  count: 1\n"

struct fx {
	char dir[128], media[192], inbox[256], quar[256], state[192];
	struct store *st;
	struct intake *in;
	struct intake_config cfg;
	int64_t ca_id;
	char events[64][160];	/* "action object" */
	size_t n_events;
	const char *refuse;	/* the audit log refuses this action */
};

static int
on_event(void *ctx, const struct event *e)
{
	struct fx *f = ctx;

	if (f->refuse != NULL && strcmp(e->action, f->refuse) == 0)
		return -1;
	if (f->n_events < 64)
		snprintf(f->events[f->n_events++], sizeof(f->events[0]),
		    "%s %s", e->action, e->objects != NULL ? e->objects : "-");
	return 0;
}

static size_t
events(const struct fx *f, const char *prefix)
{
	size_t i, n = 0;

	for (i = 0; i < f->n_events; i++)
		if (strncmp(f->events[i], prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static void
add_person(struct fx *f, X509 *cert, const char *name, const char *role,
    const char *status)
{
	struct store_person p = { 0 };
	unsigned char *der = NULL;
	char sha[65], serial[80], subject[256];
	int64_t nb, na;
	int len = i2d_X509(cert, &der);
	err_t e;

	assert_true(len > 0);
	pki_cert_sha256_hex(cert, sha);
	certinfo_serial_hex(cert, serial, sizeof(serial));
	certinfo_subject_text(cert, subject, sizeof(subject));
	certinfo_validity(cert, &nb, &na);
	p.name = name;
	p.role = role;
	p.ca_id = f->ca_id;
	p.cert_der = der;
	p.cert_der_len = (size_t)len;
	p.sha256 = sha;
	p.serial = serial;
	p.subject = subject;
	p.not_before = nb;
	p.not_after = na;
	p.status = status;
	p.created = 1000;
	if (store_person_add(f->st, &p, NULL, &e) != 0)
		fail_msg("store_person_add: %s", e.msg);
	OPENSSL_free(der);
}

static int64_t
add_ca(struct fx *f, X509 *cert, const char *name, const char *purpose)
{
	struct store_ca ca = { 0 };
	unsigned char *der = NULL;
	char subject[512], ski[128], sha[65];
	int64_t nb, na, id = 0;
	int len = i2d_X509(cert, &der);
	err_t e;

	assert_true(len > 0);
	certinfo_subject_text(cert, subject, sizeof(subject));
	if (certinfo_ski_hex(cert, ski, sizeof(ski)) != 0)
		snprintf(ski, sizeof(ski), "0a");
	pki_cert_sha256_hex(cert, sha);
	certinfo_validity(cert, &nb, &na);
	ca.name = name;
	ca.key_uri = "pkcs11:object=test";
	ca.cert_der = der;
	ca.cert_der_len = (size_t)len;
	ca.subject = subject;
	ca.ski = ski;
	ca.sha256 = sha;
	ca.not_before = nb;
	ca.not_after = na;
	ca.purpose = purpose;
	ca.created = 1000;
	if (store_ca_add(f->st, &ca, &id, &e) != 0)
		fail_msg("store_ca_add: %s", e.msg);
	OPENSSL_free(der);
	return id;
}

static void
new_intake(struct fx *f)
{
	err_t e;

	intake_free(f->in);
	if (intake_new(&f->cfg, &f->in, &e) != 0)
		fail_msg("intake_new: %s", e.msg);
}

static int
setup_one(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char db[256];
	err_t e;

	if (f == NULL)
		return -1;
	if (testutil_tmpdir(f->dir, sizeof(f->dir), "intake") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->media, sizeof(f->media), "%s/media", f->dir);
	snprintf(f->inbox, sizeof(f->inbox), "%s/inbox", f->media);
	snprintf(f->quar, sizeof(f->quar), "%s/quarantine", f->media);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(db, sizeof(db), "%s/state.db", f->dir);
	if (mkdir(f->media, 0700) != 0 || mkdir(f->inbox, 0700) != 0 ||
	    mkdir(f->state, 0700) != 0 || store_open(db, 1, &f->st, &e) != 0) {
		testutil_rmtree(f->dir);
		free(f);
		return -1;
	}
	add_ca(f, F.people_ca, "people-ca", "people");
	f->ca_id = add_ca(f, F.dev_ca, "device-ca", "devices");
	add_person(f, F.op, "Dave Example", "operator", NULL);
	add_person(f, F.op2, "Rita Revoked", "operator", "revoked");
	add_person(f, F.op3, "Larry Locked", "operator", "locked");
	add_person(f, F.off, "Alice Officer", "officer", NULL);
	f->cfg.media_dir = f->media;
	f->cfg.state_dir = f->state;
	f->cfg.settle_ms = 1;
	f->cfg.st = f->st;
	bfx_opts(&F, &f->cfg.bundle);
	f->cfg.transport_pub = F.tr_key;
	f->cfg.event = on_event;
	f->cfg.event_ctx = f;
	new_intake(f);
	*state = f;
	return 0;
}

static int
teardown_one(void **state)
{
	struct fx *f = *state;

	intake_free(f->in);
	store_close(f->st);
	testutil_rmtree(f->dir);
	free(f);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	return bfx_setup(&F);
}

static int
teardown(void **state)
{
	(void)state;
	bfx_teardown(&F);
	return 0;
}

/* --- helpers ------------------------------------------------------------- */

static void
put(struct fx *f, const char *name, const struct bfx_blob *b)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->inbox, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b->p, 1, b->n, fp), b->n);
	fclose(fp);
}

/* A file's whole text (static), or "" when it does not exist. */
static const char *
slurp(const char *dir, const char *name)
{
	static char buf[65536];
	char path[512];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	if ((fp = fopen(path, "rb")) == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int
exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static int64_t
count(struct fx *f, const char *sql)
{
	return testutil_sql_int(store_db(f->st), sql);
}

static struct intake_result
judge(struct fx *f, const char *name)
{
	struct intake_result res;
	err_t e;

	err_clear(&e);
	if (intake_file(f->in, name, &res, &e) != 0)
		fail_msg("intake_file %s: %s", name, e.msg);
	return res;
}

static char *
man(const char *profile, const char *in, const char *out, char id[37])
{
	bfx_id(&F, id);
	return bfx_manifest(id, profile, in, out);
}

/* A mac-range bundle for docsis-3.1-cm from start, count lines. */
static struct bfx_blob
range_bundle(const char *start, unsigned count, char id[37])
{
	char in[160], *m;
	struct bfx_blob b;

	snprintf(in, sizeof(in), "input:\n  mode: mac-range\n  start: \"%s\"\n"
	    "  count: %u\n", start, count);
	m = man("docsis-3.1-cm", in, BFX_OUT_SMPB, id);
	b = bfx_bundle(&F, m, 1, NULL, 0, F.op, F.op_key, 0);
	free(m);
	return b;
}

struct names {
	char v[8][32];
	size_t n;
};

static int
collect_name(void *ctx, const struct queue_line *l)
{
	struct names *n = ctx;

	if (n->n < 8)
		snprintf(n->v[n->n++], sizeof(n->v[0]), "%s", l->name);
	return 0;
}

/* --- accepted ------------------------------------------------------------ */

static void
test_accept_mac_range(void **state)
{
	struct fx *f = *state;
	char id[37], sha[65], copy[96];
	struct bfx_blob b = range_bundle("00:11:22:33:44:00", 3, id);
	struct intake_result res;
	struct queue_batch qb;
	struct names nm = { .n = 0 };
	secret_t *dk = NULL;
	unsigned char md[32];
	unsigned mdlen;
	err_t e;

	EVP_Digest(b.p, b.n, md, &mdlen, EVP_sha256(), NULL);
	buf_hex(md, 32, sha, sizeof(sha));
	put(f, "week47.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "week47.p7s");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_true(res.batch_id > 0);
	assert_false(exists(f->inbox, "week47.p7s"));
	snprintf(copy, sizeof(copy), "bundles/%s.bundle", sha);
	assert_true(exists(f->state, copy));
	assert_int_equal(queue_batch_get(f->st, res.batch_id, &qb, &e), 0);
	assert_int_equal(qb.line_count, 3);
	assert_string_equal(qb.mode, "mac-range");
	assert_string_equal(qb.profile, "docsis-3.1-cm");
	assert_string_equal(qb.key_types,
	    "rsa-2048 (generated by the appliance)");
	assert_string_equal(qb.bundle_sha256, sha);
	assert_int_equal(qb.quorum, 2);
	assert_int_equal(qb.state, QUEUE_PENDING_APPROVAL);
	assert_non_null(qb.recipient_der);
	assert_null(qb.secret_wrapped);
	/* The data key opens with the transport key, and only with it. */
	assert_non_null(qb.data_key_wrapped);
	assert_int_equal(secret_new(&dk), 0);
	assert_int_equal(vault_open(F.tr_key, qb.data_key_wrapped,
	    qb.data_key_wrapped_len, dk, &e), 0);
	assert_int_equal(dk->len, VAULT_KEY_LEN);
	assert_int_not_equal(vault_open(F.rcpt_key, qb.data_key_wrapped,
	    qb.data_key_wrapped_len, dk, &e), 0);
	secret_free(dk);
	queue_batch_free(&qb);
	assert_int_equal(queue_lines(f->st, res.batch_id, 1, 10, collect_name,
	    &nm, &e), 0);
	assert_int_equal(nm.n, 3);
	assert_string_equal(nm.v[0], "00:11:22:33:44:00");
	assert_string_equal(nm.v[2], "00:11:22:33:44:02");
	assert_int_equal(count(f, "SELECT count(*) FROM line WHERE mac = "
	    "'001122334401'"), 1);
	assert_int_equal(events(f, "bundle-accepted batch="), 1);
}

static void
test_accept_pkcs12_csv(void **state)
{
	struct fx *f = *state;
	static const char csv[] = "mac,organization\n00:11:22:33:55:01,ACME\n";
	const struct bfx_entry x[] = { { "d.csv", csv, 0, 0 } };
	char id[37], *m = man("docsis-3.1-cm", "input:\n  mode: csv\n  file: "
	    "d.csv\n", BFX_OUT_P12, id);
	struct bfx_blob b = bfx_bundle(&F, m, 0, x, 1, F.op, F.op_key, 1);
	struct intake_result res;
	struct queue_batch qb;
	secret_t *pw = NULL;
	err_t e;

	free(m);
	put(f, "p12.p7m", &b);
	bfx_blob_free(&b);
	res = judge(f, "p12.p7m");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_int_equal(queue_batch_get(f->st, res.batch_id, &qb, &e), 0);
	assert_string_equal(qb.p12_encryption, "modern");
	assert_non_null(qb.secret_wrapped);
	assert_int_equal(secret_new(&pw), 0);
	assert_int_equal(vault_open(F.tr_key, qb.secret_wrapped,
	    qb.secret_wrapped_len, pw, &e), 0);
	assert_int_equal(pw->len, strlen("correct horse"));
	assert_memory_equal(pw->data, "correct horse", pw->len);
	secret_free(pw);
	queue_batch_free(&qb);
	assert_int_equal(count(f, "SELECT count(*) FROM line WHERE fields = "
	    "'organization=ACME' AND name = '00:11:22:33:55:01'"), 1);
}

static void
test_accept_csr(void **state)
{
	struct fx *f = *state;
	struct bfx_blob r = bfx_csr(F.ec, "gw-9", "gw-9.devices.example.com", 0);
	const struct bfx_entry x[] = { { "a.pem", r.p, r.n, 0 } };
	char id[37], *m = man("tls-device", "input:\n  mode: csr\n  files: "
	    "[a.pem]\n", BFX_OUT_PEM, id);
	struct bfx_blob b = bfx_bundle(&F, m, 0, x, 1, F.op, F.op_key, 0);
	struct intake_result res;
	struct queue_batch qb;
	err_t e;

	free(m);
	bfx_blob_free(&r);
	put(f, "csr.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "csr.p7s");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_int_equal(queue_batch_get(f->st, res.batch_id, &qb, &e), 0);
	assert_null(qb.data_key_wrapped);
	assert_string_equal(qb.key_types, "ec-p256 x 1");
	queue_batch_free(&qb);
	assert_int_equal(count(f, "SELECT count(*) FROM line WHERE name = "
	    "'gw-9' AND request_der IS NOT NULL"), 1);
}

/*
 * No step without its record: when the audit log refuses the event, the
 * bundle is neither queued nor refused, and stays in inbox/ to be judged
 * again.
 */
static void
test_record_refused_step_not_taken(void **state)
{
	struct fx *f = *state;
	char id[37], *m;
	struct bfx_blob b = range_bundle("00:11:22:33:55:00", 2, id);
	struct bfx_blob bad;
	struct intake_result res;
	err_t e;

	put(f, "good.p7s", &b);
	bfx_blob_free(&b);
	f->refuse = "bundle-accepted";
	assert_int_equal(intake_file(f->in, "good.p7s", &res, &e), ERR_IO);
	assert_contains(e.msg, "audit log could not take the "
	    "'bundle-accepted' record");
	assert_true(exists(f->inbox, "good.p7s"));
	assert_int_equal(count(f, "SELECT count(*) FROM bundle"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM line"), 0);

	/* The same for a refusal: not quarantined, not recorded. */
	m = man("no-such-profile", IN_RANGE_1, BFX_OUT_SMPB, id);
	bad = bfx_bundle(&F, m, 1, NULL, 0, F.op, F.op_key, 0);
	free(m);
	put(f, "bad.p7s", &bad);
	bfx_blob_free(&bad);
	f->refuse = "bundle-rejected";
	assert_int_equal(intake_file(f->in, "bad.p7s", &res, &e), ERR_IO);
	assert_true(exists(f->inbox, "bad.p7s"));
	assert_false(exists(f->quar, "bad.p7s"));
	assert_int_equal(count(f, "SELECT count(*) FROM bundle"), 0);

	/* Once the log takes records again, each is judged exactly once. */
	f->refuse = NULL;
	res = judge(f, "good.p7s");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_false(exists(f->inbox, "good.p7s"));
	res = judge(f, "bad.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_true(exists(f->quar, "bad.p7s"));
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM line"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE status = "
	    "'rejected'"), 1);
	assert_int_equal(events(f, "bundle-accepted batch="), 1);
	assert_int_equal(events(f, "bundle-rejected file=bad.p7s"), 1);
}

/* --- refused and quarantined -------------------------------------------- */

static void
test_reason_file(void **state)
{
	struct fx *f = *state;
	static const char csv[] =
	    "common_name,dns\n"
	    "gw-1,gw-1.devices.example.com\n"
	    "gw-2,gw-2.example.org\n"
	    "gw-3,gw-3.bad.example\n";
	const struct bfx_entry x[] = { { "d.csv", csv, 0, 0 } };
	char id[37], *m = man("tls-device", "input:\n  mode: csv\n  file: "
	    "d.csv\n", BFX_OUT_SMPB, id);
	struct bfx_blob b = bfx_bundle(&F, m, 1, x, 1, F.op, F.op_key, 0);
	struct intake_result res;
	const char *txt;
	char want[256];

	free(m);
	put(f, "bad.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "bad.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, "Line 3 -");
	assert_false(exists(f->inbox, "bad.p7s"));
	assert_true(exists(f->quar, "bad.p7s"));
	txt = slurp(f->quar, "bad.p7s.reason");
	assert_contains(txt, "file: bad.p7s\n");
	assert_contains(txt, "sha256: ");
	assert_contains(txt, "received: ");
	snprintf(want, sizeof(want), "signer: Dave Example (%s)\n", F.op_sha);
	assert_contains(txt, want);
	assert_contains(txt, "stage: input\n");
	assert_contains(txt, "problems: 2\n");
	assert_contains(txt, "  - d.csv:3: Line 3 - dns SAN 'gw-2.example.org'");
	assert_contains(txt, "  - d.csv:4: Line 4 - dns SAN 'gw-3.bad.example'");
	/* Recorded, with its id (the signature verified), as rejected. */
	snprintf(want, sizeof(want), "SELECT count(*) FROM bundle WHERE uuid = "
	    "'%s' AND status = 'rejected' AND reason LIKE 'input: %%'", id);
	assert_int_equal(count(f, want), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 0);
	assert_int_equal(events(f, "bundle-rejected file=bad.p7s"), 1);
}

static void
test_unsigned_zip(void **state)
{
	struct fx *f = *state;
	char id[37], *m = man("docsis-3.1-cm", IN_RANGE_1, BFX_OUT_SMPB, id);
	const struct bfx_entry e[] = { { "manifest.yaml", m, 0, 0 } };
	struct bfx_blob z = bfx_zip(e, 1);
	struct intake_result res;

	free(m);
	put(f, "plain.zip", &z);
	bfx_blob_free(&z);
	res = judge(f, "plain.zip");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(slurp(f->quar, "plain.zip.reason"), "stage: envelope");
	assert_null(strstr(slurp(f->quar, "plain.zip.reason"), "signer:"));
	/* Recorded by digest only: an unsigned file takes no id. */
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE uuid IS "
	    "NULL AND signer_sha256 IS NULL"), 1);
}

/* Signed by someone the records do not know, revoked or locked. */
static void
signer_case(struct fx *f, X509 *cert, EVP_PKEY *key, const char *want,
    const char *stage)
{
	char name[32], reason[64];
	struct bfx_blob b;
	struct intake_result res;

	{
		char id[37], *m = man("docsis-3.1-cm", IN_RANGE_1, BFX_OUT_SMPB, id);

		b = bfx_bundle(&F, m, 1, NULL, 0, cert, key, 0);
		free(m);
	}
	snprintf(name, sizeof(name), "s%u.p7s", F.ids);
	snprintf(reason, sizeof(reason), "%s.reason", name);
	put(f, name, &b);
	bfx_blob_free(&b);
	res = judge(f, name);
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, want);
	assert_contains(slurp(f->quar, reason), stage);
}

static void
test_signers(void **state)
{
	struct fx *f = *state;

	signer_case(f, F.op4, F.op4_key, "is not enrolled on this appliance",
	    "stage: signer\n");
	signer_case(f, F.op2, F.op2_key, "has been revoked", "stage: signer\n");
	signer_case(f, F.op3, F.op3_key, "two officers must clear the lock",
	    "stage: signer\n");
	/* The certificate itself says officer: the envelope refuses it. */
	signer_case(f, F.off, F.off_key, "not an operator's",
	    "stage: envelope\n");
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE status = "
	    "'rejected'"), 4);
}

static void
test_replay_by_id_and_digest(void **state)
{
	struct fx *f = *state;
	char id[37], *m;
	struct bfx_blob b = range_bundle("00:11:22:33:77:00", 2, id), b2;
	struct intake_result res;

	/* The same bytes twice: the second is a replay by digest. */
	put(f, "first.p7s", &b);
	put(f, "again.p7s", &b);
	bfx_blob_free(&b);
	assert_int_equal(judge(f, "first.p7s").outcome, INTAKE_ACCEPTED);
	res = judge(f, "again.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(slurp(f->quar, "again.p7s.reason"), "stage: replay\n");
	assert_int_equal(count(f, "SELECT count(*) FROM bundle"), 1);
	assert_int_equal(events(f, "bundle-replayed"), 1);

	/* Other bytes, same id: a replay by id, recorded without it. */
	m = bfx_manifest(id, "docsis-3.1-cm", "input:\n  mode: mac-range\n"
	    "  start: \"00:11:22:33:78:00\"\n  count: 1\n", BFX_OUT_SMPB);
	b2 = bfx_bundle(&F, m, 1, NULL, 0, F.op, F.op_key, 0);
	free(m);
	put(f, "sameid.p7s", &b2);
	bfx_blob_free(&b2);
	res = judge(f, "sameid.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, "was already received");
	assert_contains(slurp(f->quar, "sameid.p7s.reason"), "stage: replay\n");
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE uuid IS "
	    "NULL AND reason LIKE 'replay:%'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 1);
	assert_int_equal(events(f, "bundle-replayed"), 2);
}

/* A name already in quarantine/ gets the time (and a counter). */
static void
test_quarantine_name_taken(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct bfx_blob b;
	int fd;

	snprintf(path, sizeof(path), "%s", f->quar);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/x.p7s", f->quar);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	{
		char id[37], *m = man("no-such-profile", IN_RANGE_1,
		    BFX_OUT_SMPB, id);

		b = bfx_bundle(&F, m, 1, NULL, 0, F.op, F.op_key, 0);
		free(m);
	}
	put(f, "x.p7s", &b);
	bfx_blob_free(&b);
	assert_int_equal(judge(f, "x.p7s").outcome, INTAKE_REJECTED);
	assert_false(exists(f->inbox, "x.p7s"));
	assert_string_equal(slurp(f->quar, "x.p7s"), "");
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE reason "
	    "LIKE 'profile: %'"), 1);
	{
		char name[64];

		snprintf(name, sizeof(name), "x.p7s.%lld.reason",
		    (long long)time(NULL));
		/* The second may have turned over between the two reads. */
		if (!exists(f->quar, name))
			snprintf(name, sizeof(name), "x.p7s.%lld.reason",
			    (long long)time(NULL) - 1);
		assert_contains(slurp(f->quar, name), "stage: profile\n");
	}
}

/*
 * A file named like a .reason file never keeps its name in quarantine/:
 * its text would pass for the appliance's reason for another file.
 */
static void
test_quarantine_reason_like_name(void **state)
{
	struct fx *f = *state;
	struct bfx_blob b;
	char name[64];

	b.p = (unsigned char *)strdup("stage: none\nreason: accepted\n");
	assert_non_null(b.p);
	b.n = strlen((char *)b.p);
	put(f, "modems.p7s.reason", &b);
	free(b.p);
	assert_int_equal(judge(f, "modems.p7s.reason").outcome,
	    INTAKE_REJECTED);
	assert_false(exists(f->inbox, "modems.p7s.reason"));
	assert_false(exists(f->quar, "modems.p7s.reason"));
	snprintf(name, sizeof(name), "modems.p7s.reason.%lld.reason",
	    (long long)time(NULL));
	/* The second may have turned over between the two reads. */
	if (!exists(f->quar, name))
		snprintf(name, sizeof(name), "modems.p7s.reason.%lld.reason",
		    (long long)time(NULL) - 1);
	assert_contains(slurp(f->quar, name), "file: modems.p7s.reason\n");
	assert_contains(slurp(f->quar, name), "stage: envelope\n");
}

static void
test_oversize(void **state)
{
	struct fx *f = *state;
	struct bfx_blob b = { malloc(300), 300 };
	struct intake_result res;

	memset(b.p, 'A', b.n);
	f->cfg.bundle.env.max_size = 100;
	new_intake(f);
	put(f, "huge.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "huge.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, "larger than 100 bytes");
	assert_contains(slurp(f->quar, "huge.p7s.reason"), "sha256: -\n");
	assert_contains(slurp(f->quar, "huge.p7s.reason"), "stage: envelope\n");
	assert_int_equal(count(f, "SELECT count(*) FROM bundle"), 0);
}

/* --- held names ----------------------------------------------------------- */

static void
test_names_held_by_pending_batch(void **state)
{
	struct fx *f = *state;
	char id[37];
	struct bfx_blob a = range_bundle("00:11:22:33:88:00", 3, id);
	struct bfx_blob b = range_bundle("00:11:22:33:88:02", 2, id);
	struct intake_result res;
	const char *txt;

	put(f, "a.p7s", &a);
	put(f, "b.p7s", &b);
	bfx_blob_free(&a);
	bfx_blob_free(&b);
	assert_int_equal(judge(f, "a.p7s").outcome, INTAKE_ACCEPTED);
	res = judge(f, "b.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	txt = slurp(f->quar, "b.p7s.reason");
	assert_contains(txt, "stage: records\n");
	assert_contains(txt, "problems: 1\n");
	assert_contains(txt, "Batch line 1 - '00:11:22:33:88:02' is already "
	    "line 3 of batch 1");
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 1);
}

/* Records a certificate for line `line` of batch directly, as issued. */
static void
issue_line(struct fx *f, int64_t batch, int64_t line, const char *serial,
    const char *status, int64_t not_after)
{
	char sql[1024];
	err_t e;

	snprintf(sql, sizeof(sql), "INSERT INTO serial_reservation (ca_id, "
	    "serial, batch_id, line) VALUES (%lld, '%s', %lld, %lld);"
	    "INSERT INTO certificate (serial, ca_id, kind, subject, sha256, "
	    "not_before, not_after, der, status, created, batch_id, line) "
	    "VALUES ('%s', %lld, 'device', 'CN=x', '%064lld', 1000, %lld, "
	    "x'3000', '%s', 1000, %lld, %lld);", (long long)f->ca_id, serial,
	    (long long)batch, (long long)line, serial, (long long)f->ca_id,
	    (long long)(batch * 1000 + line), (long long)not_after, status,
	    (long long)batch, (long long)line);
	if (store_exec(f->st, sql, &e) != 0)
		fail_msg("%s", e.msg);
}

static void
test_names_held_by_certificate(void **state)
{
	struct fx *f = *state;
	char id[37];
	struct bfx_blob a = range_bundle("00:11:22:33:99:00", 2, id);
	struct bfx_blob b = range_bundle("00:11:22:33:99:01", 1, id);
	struct intake_result ra, res;
	err_t e;

	put(f, "a.p7s", &a);
	bfx_blob_free(&a);
	ra = judge(f, "a.p7s");
	assert_int_equal(ra.outcome, INTAKE_ACCEPTED);
	/* The batch is over; only its certificates hold names now. */
	assert_int_equal(queue_batch_transition(f->st, ra.batch_id,
	    QUEUE_PENDING_APPROVAL, QUEUE_REJECTED, "test", &e), 0);
	issue_line(f, ra.batch_id, 2, "a02", "valid",
	    (int64_t)time(NULL) + 86400);
	put(f, "b.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "b.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, "is already held by a valid certificate of "
	    "profile docsis-3.1-cm (batch 1, line 2)");
}

struct hits {
	size_t n;
	size_t index[8];
	char held_by[8][16];
};

static int
on_taken(void *ctx, size_t index, int64_t batch, int64_t line,
    const char *held_by)
{
	struct hits *h = ctx;

	(void)batch;
	(void)line;
	if (h->n < 8) {
		h->index[h->n] = index;
		snprintf(h->held_by[h->n], sizeof(h->held_by[0]), "%s", held_by);
	}
	h->n++;
	return 0;
}

/* queue_names_taken: what holds a name, and what does not. */
static void
test_names_taken_rules(void **state)
{
	struct fx *f = *state;
	char id[37];
	struct bfx_blob a = range_bundle("00:11:22:44:00:00", 5, id);
	const char *names[] = { "00:11:22:44:00:00", "00:11:22:44:00:01",
		"00:11:22:44:00:02", "00:11:22:44:00:03", "00:11:22:44:00:04",
		"unrelated" };
	const char *macs[] = { "001122440000", "001122440001",
		"001122440002", "001122440003", "001122440004", NULL };
	int64_t now = (int64_t)time(NULL);
	struct intake_result ra;
	struct hits h;
	err_t e;

	put(f, "a.p7s", &a);
	bfx_blob_free(&a);
	ra = judge(f, "a.p7s");
	assert_int_equal(ra.outcome, INTAKE_ACCEPTED);

	/* Pending approval: every line holds its name and MAC. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(queue_names_taken(f->st, "docsis-3.1-cm", names, macs,
	    6, now, 0, on_taken, &h, &e), 0);
	assert_int_equal(h.n, 5);
	assert_string_equal(h.held_by[0], "batch");
	/* Excluding the batch itself, or another profile: nothing. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(queue_names_taken(f->st, "docsis-3.1-cm", names, macs,
	    6, now, ra.batch_id, on_taken, &h, &e), 0);
	assert_int_equal(h.n, 0);
	assert_int_equal(queue_names_taken(f->st, "docsis-4.0-cm", names, macs,
	    6, now, 0, on_taken, &h, &e), 0);
	assert_int_equal(h.n, 0);
	/* The MAC alone is enough. */
	{
		const char *other[] = { "some other name" };
		const char *mac1[] = { "001122440001" };

		assert_int_equal(queue_names_taken(f->st, "docsis-3.1-cm", other,
		    mac1, 1, now, 0, on_taken, &h, &e), 0);
		assert_int_equal(h.n, 1);
	}

	/* Issuing: a failed line holds nothing; an issued line's
	 * certificate holds its name while valid and unexpired. */
	assert_int_equal(store_exec(f->st, "UPDATE batch SET state = "
	    "'approved'; UPDATE batch SET state = 'issuing'; UPDATE line SET "
	    "status = 'failed', message = 'x' WHERE line = 1", &e), 0);
	issue_line(f, ra.batch_id, 2, "b02", "valid", now + 86400);
	issue_line(f, ra.batch_id, 3, "b03", "revoked", now + 86400);
	issue_line(f, ra.batch_id, 4, "b04", "valid", now - 86400);
	issue_line(f, ra.batch_id, 5, "b05", "hold", now + 86400);
	assert_int_equal(store_exec(f->st, "UPDATE line SET status = "
	    "'reserved', serial = 'b0' || line, tbs = x'30', key_enc = x'01' "
	    "WHERE line > 1;"
	    "UPDATE batch SET state = 'failed', reason = 'test'", &e), 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(queue_names_taken(f->st, "docsis-3.1-cm", names, macs,
	    6, now, 0, on_taken, &h, &e), 0);
	/* Line 2 (valid) and line 5 (on hold) only. */
	assert_int_equal(h.n, 2);
	assert_int_equal(h.index[0], 1);
	assert_string_equal(h.held_by[0], "certificate");
	assert_int_equal(h.index[1], 4);
	/* Bad input. */
	{
		const char *bad[] = { "001122440001" };
		const char *badmac[] = { "00:11:22:44:00:01" };

		assert_int_equal(queue_names_taken(f->st, "docsis-3.1-cm", bad,
		    badmac, 1, now, 0, on_taken, &h, &e), ERR_INVALID);
	}
}

/* --- crash idempotency ------------------------------------------------------ */

/* Puts name back with an mtime before it was first received. */
static void
put_old(struct fx *f, const char *name, const struct bfx_blob *b)
{
	struct timespec ts[2];
	char path[512];

	put(f, name, b);
	snprintf(path, sizeof(path), "%s/%s", f->inbox, name);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 3600;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
test_crash_accepted_left_in_inbox(void **state)
{
	struct fx *f = *state;
	char id[37];
	struct bfx_blob b = range_bundle("00:11:22:33:aa:00", 2, id);
	struct intake_result res;

	put_old(f, "c.p7s", &b);
	assert_int_equal(judge(f, "c.p7s").outcome, INTAKE_ACCEPTED);
	/* As if the process died after the commit, before the unlink. */
	put_old(f, "c.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "c.p7s");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_int_equal(res.batch_id, 1);
	assert_false(exists(f->inbox, "c.p7s"));
	assert_false(exists(f->media, "quarantine/c.p7s"));
	assert_int_equal(count(f, "SELECT count(*) FROM bundle"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 1);
	assert_int_equal(events(f, "bundle-replayed"), 0);
}

static void
test_crash_rejected_left_in_inbox(void **state)
{
	struct fx *f = *state;
	char id[37], *m = man("no-such-profile", IN_RANGE_1, BFX_OUT_SMPB, id);
	struct bfx_blob b = bfx_bundle(&F, m, 1, NULL, 0, F.op, F.op_key, 0);
	struct intake_result res;
	char path[512];

	free(m);
	put_old(f, "r.p7s", &b);
	assert_int_equal(judge(f, "r.p7s").outcome, INTAKE_REJECTED);
	/* As if the process died after the record, before the move:
	 * nothing is in quarantine/ yet. */
	snprintf(path, sizeof(path), "%s/r.p7s", f->quar);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/r.p7s.reason", f->quar);
	assert_int_equal(unlink(path), 0);
	put_old(f, "r.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "r.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_true(exists(f->quar, "r.p7s"));
	assert_contains(slurp(f->quar, "r.p7s.reason"), "stage: profile\n");
	assert_contains(slurp(f->quar, "r.p7s.reason"), "does not exist");
	assert_int_equal(count(f, "SELECT count(*) FROM bundle"), 1);
	assert_int_equal(events(f, "bundle-replayed"), 0);
}

/* --- scanning --------------------------------------------------------------- */

static void
scan(struct fx *f, size_t want_acc, size_t want_rej)
{
	size_t acc = 99, rej = 99;
	err_t e;

	err_clear(&e);
	if (intake_scan(f->in, &acc, &rej, &e) != 0)
		fail_msg("intake_scan: %s", e.msg);
	assert_int_equal(acc, want_acc);
	assert_int_equal(rej, want_rej);
}

static void
test_ignored_entries(void **state)
{
	struct fx *f = *state;
	char path[512], target[512];
	char id[37];
	struct bfx_blob b = range_bundle("00:11:22:33:bb:00", 1, id);
	struct intake_result res;

	snprintf(target, sizeof(target), "%s/secret", f->dir);
	put(f, ".partial.p7s", &b);
	bfx_blob_free(&b);
	snprintf(path, sizeof(path), "%s/link.p7s", f->inbox);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/fifo.p7s", f->inbox);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/dir.p7s", f->inbox);
	assert_int_equal(mkdir(path, 0700), 0);
	scan(f, 0, 0);
	usleep(5000);
	scan(f, 0, 0);
	usleep(5000);
	scan(f, 0, 0);
	assert_true(exists(f->inbox, ".partial.p7s"));
	assert_true(exists(f->inbox, "link.p7s"));
	assert_true(exists(f->inbox, "fifo.p7s"));
	assert_true(exists(f->inbox, "dir.p7s"));
	assert_false(exists(f->media, "quarantine"));
	/* One event per name, however many scans. */
	assert_int_equal(events(f, "inbox-ignored"), 3);
	assert_int_equal(events(f, "inbox-ignored file=link.p7s"), 1);
	res = judge(f, "link.p7s");
	assert_int_equal(res.outcome, INTAKE_IGNORED);
	res = judge(f, ".partial.p7s");
	assert_int_equal(res.outcome, INTAKE_IGNORED);
	assert_int_equal(events(f, "inbox-ignored"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM bundle"), 0);
}

static void
test_settle(void **state)
{
	struct fx *f = *state;
	char id[37], path[512];
	struct bfx_blob b = range_bundle("00:11:22:33:cc:00", 1, id);
	FILE *fp;

	/* Half of it first, as a copy in progress. */
	{
		struct bfx_blob half = { b.p, b.n / 2 };

		put(f, "slow.p7s", &half);
	}
	scan(f, 0, 0);		/* seen for the first time */
	usleep(5000);
	snprintf(path, sizeof(path), "%s/slow.p7s", f->inbox);
	fp = fopen(path, "ab");
	assert_non_null(fp);
	assert_int_equal(fwrite(b.p + b.n / 2, 1, b.n - b.n / 2, fp),
	    b.n - b.n / 2);
	fclose(fp);
	scan(f, 0, 0);		/* changed since: not judged */
	assert_true(exists(f->inbox, "slow.p7s"));
	usleep(5000);
	scan(f, 1, 0);		/* unchanged for settle_ms: taken */
	assert_false(exists(f->inbox, "slow.p7s"));
	bfx_blob_free(&b);
	assert_int_equal(count(f, "SELECT count(*) FROM batch"), 1);
}

static void
test_no_medium(void **state)
{
	struct fx *f = *state;
	char path[512];

	snprintf(path, sizeof(path), "%s/gone", f->dir);
	f->cfg.media_dir = path;
	new_intake(f);
	scan(f, 0, 0);
	/* A medium root that is a link is not followed either. */
	assert_int_equal(symlink(f->media, path), 0);
	scan(f, 0, 0);
}

/* --- revocation requests ---------------------------------------------------- */

/* Two device certificates of device-ca: serials 1a2b and 3c4d. */
static void
add_devices(struct fx *f)
{
	char sql[512];
	char *msg = NULL;
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO certificate (serial, "
		    "ca_id, kind, subject, sha256, not_before, not_after, der, "
		    "status, created) VALUES ('%s', %lld, 'device', "
		    "'CN=dev-%d', '%064x', 1, 2000000000, x'3003020101', "
		    "'valid', 1)", i == 0 ? "1a2b" : "3c4d", (long long)f->ca_id,
		    i + 1, 0x5000 + i);
		if (sqlite3_exec(store_db(f->st), sql, NULL, NULL, &msg) !=
		    SQLITE_OK)
			fail_msg("insert: %s", msg);
	}
}

/* A revocation manifest (heap): reason, then the rest as given. */
static char *
rev_man(char id[37], const char *reason, const char *rest)
{
	size_t n = strlen(rest) + 512;
	char *m = malloc(n);

	assert_non_null(m);
	bfx_id(&F, id);
	snprintf(m, n, "airlock_bundle: 1\nkind: revocation\nid: %s\n"
	    "created: 2026-11-22T10:00:00Z\nreason: %s\nmessage: \"Stolen "
	    "from the truck\"\n%s", id, reason, rest);
	return m;
}

static struct bfx_blob
rev_bundle(const char *reason, const char *rest, const char *file,
    X509 *cert, EVP_PKEY *key, char id[37])
{
	struct bfx_entry e = { "targets.txt", file, 0, 0 };
	char *m = rev_man(id, reason, rest);
	struct bfx_blob b = bfx_bundle(&F, m, 0, &e, file != NULL, cert, key,
	    0);

	free(m);
	return b;
}

static void
test_revocation_accepted(void **state)
{
	struct fx *f = *state;
	struct bfx_blob b;
	struct intake_result res;
	char id[37];

	add_devices(f);
	b = rev_bundle("keyCompromise", "invalidity_date: "
	    "2026-11-20T00:00:00Z\ntargets:\n  - serial 1A:2B\n"
	    "targets_file: targets.txt\n", "# from the factory\n\n"
	    "subject CN=dev-2\r\n", F.op, F.op_key, id);
	put(f, "revoke.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "revoke.p7s");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_true(res.revocation_id > 0);
	assert_int_equal(res.batch_id, 0);
	assert_false(exists(f->inbox, "revoke.p7s"));
	assert_int_equal(count(f, "SELECT count(*) FROM revocation WHERE state "
	    "= 'pending-approval' AND item_count = 2 AND reason = "
	    "'keyCompromise' AND invalidity_date IS NOT NULL"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM revocation_item"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE status = "
	    "'accepted'"), 1);
	assert_int_equal(events(f, "revocation-requested revocation="), 1);
	/* An officer may ask too; certificates stay valid until applied. */
	b = rev_bundle("certificateHold", "targets:\n  - serial 1a2b\n", NULL,
	    F.off, F.off_key, id);
	put(f, "hold.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "hold.p7s");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_int_equal(count(f, "SELECT count(*) FROM certificate WHERE "
	    "status = 'valid'"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM revocation r JOIN "
	    "person p ON p.id = r.person_id WHERE p.role = 'officer'"), 1);
}

static void
test_revocation_refused_every_line(void **state)
{
	struct fx *f = *state;
	struct bfx_blob b;
	struct intake_result res;
	const char *reason;
	char id[37];

	add_devices(f);
	b = rev_bundle("superseded", "targets:\n  - serial 1a2b\n"
	    "targets_file: targets.txt\n", "serial ffee\nmac "
	    "00:11:22:33:44:55\nserial 1a2b\nbatch 7\n", F.op, F.op_key, id);
	put(f, "bad.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "bad.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	reason = slurp(f->quar, "bad.p7s.reason");
	assert_contains(reason, "stage: records\n");
	assert_contains(reason, "problems: 4\n");
	assert_contains(reason, "targets.txt:1: Line 1 - serial ffee: no device "
	    "certificate with this serial");
	assert_contains(reason, "targets.txt:2: Line 2 - mac 00:11:22:33:44:55: "
	    "no certificate was issued for this MAC");
	assert_contains(reason, "targets.txt:3: Line 3 - serial 1a2b: the "
	    "certificate with serial 1a2b is named twice: also by manifest.yaml "
	    "line 8 (serial 1a2b)");
	assert_contains(reason, "targets.txt:4: Line 4 - batch 7: no batch "
	    "with this number");
	assert_true(exists(f->quar, "bad.p7s"));
	assert_int_equal(count(f, "SELECT count(*) FROM revocation"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE status = "
	    "'rejected' AND uuid IS NOT NULL"), 1);
	/* A target the file cannot hold: stage input, its line named. */
	b = rev_bundle("superseded", "targets_file: targets.txt\n",
	    "serial 1a2b\nserials 3c4d\nmac 00:11\n", F.op, F.op_key, id);
	put(f, "typo.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "typo.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	reason = slurp(f->quar, "typo.p7s.reason");
	assert_contains(reason, "stage: input\n");
	assert_contains(reason, "targets.txt:2: Line 2 - 'serials' is not a "
	    "target");
	assert_contains(reason, "targets.txt:3: Line 3 - ");
	/* A manifest with removeFromCRL and an invalidity date. */
	b = rev_bundle("removeFromCRL", "invalidity_date: 2026-11-20T00:00:00Z"
	    "\ntargets:\n  - serial 1a2b\n", NULL, F.op, F.op_key, id);
	put(f, "release.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "release.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(slurp(f->quar, "release.p7s.reason"), "stage: "
	    "manifest\n");
	assert_contains(res.reason, "invalidity_date does not go with reason "
	    "removeFromCRL");
}

static void
test_revocation_signers_and_replay(void **state)
{
	struct fx *f = *state;
	struct bfx_blob b, b2;
	struct intake_result res;
	char id[37], *m;

	add_devices(f);
	b = rev_bundle("superseded", "targets:\n  - serial 1a2b\n", NULL,
	    F.op2, F.op2_key, id);
	put(f, "r1.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "r1.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, "has been revoked");
	b = rev_bundle("superseded", "targets:\n  - serial 1a2b\n", NULL,
	    F.op4, F.op4_key, id);
	put(f, "r2.p7s", &b);
	bfx_blob_free(&b);
	res = judge(f, "r2.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, "is not enrolled on this appliance");
	/* Accepted once; the same bytes and the same id are replays. */
	b = rev_bundle("superseded", "targets:\n  - serial 1a2b\n", NULL,
	    F.op, F.op_key, id);
	put(f, "r3.p7s", &b);
	res = judge(f, "r3.p7s");
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	put(f, "again.p7s", &b);
	res = judge(f, "again.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(res.reason, "accepted as revocation request");
	bfx_blob_free(&b);
	m = bfx_manifest(id, "x", "", "");
	free(m);
	{
		size_t n = 512;
		char *mm = malloc(n);

		assert_non_null(mm);
		snprintf(mm, n, "airlock_bundle: 1\nkind: revocation\nid: %s\n"
		    "created: 2026-11-22T10:00:00Z\nreason: superseded\n"
		    "message: other bytes\ntargets:\n  - serial 3c4d\n", id);
		b2 = bfx_bundle(&F, mm, 0, NULL, 0, F.op, F.op_key, 0);
		free(mm);
	}
	put(f, "sameid.p7s", &b2);
	bfx_blob_free(&b2);
	res = judge(f, "sameid.p7s");
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains(slurp(f->quar, "sameid.p7s.reason"), "stage: replay");
	assert_int_equal(count(f, "SELECT count(*) FROM revocation"), 1);
	assert_true(events(f, "bundle-replayed") >= 2);
}

static void
test_revocation_submit_in_memory(void **state)
{
	struct fx *f = *state;
	struct bfx_blob b;
	struct intake_result res;
	buf_t reason;
	char id[37];
	err_t e;

	add_devices(f);
	b = rev_bundle("superseded", "targets:\n  - serial 3c4d\n", NULL,
	    F.op, F.op_key, id);
	assert_int_equal(intake_submit(f->in, "console-uid-0", b.p, b.n, &res,
	    &reason, &e), 0);
	assert_int_equal(res.outcome, INTAKE_ACCEPTED);
	assert_true(res.revocation_id > 0);
	assert_int_equal(reason.len, 0);
	buf_free(&reason);
	/* The same bytes again: a replay, answered, nothing quarantined. */
	assert_int_equal(intake_submit(f->in, "console-uid-0", b.p, b.n, &res,
	    &reason, &e), 0);
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_contains((const char *)reason.data, "stage: replay");
	buf_free(&reason);
	bfx_blob_free(&b);
	b = rev_bundle("superseded", "targets:\n  - serial 99\n  - subject "
	    "CN=nobody\n", NULL, F.op, F.op_key, id);
	assert_int_equal(intake_submit(f->in, "console-uid-0", b.p, b.n, &res,
	    &reason, &e), 0);
	bfx_blob_free(&b);
	assert_int_equal(res.outcome, INTAKE_REJECTED);
	assert_true(buf_put_u8(&reason, 0) == 0);
	assert_contains((const char *)reason.data, "file: console-uid-0\n");
	assert_contains((const char *)reason.data, "problems: 2\n");
	assert_contains((const char *)reason.data, "Line 8 - serial 99: no "
	    "device certificate with this serial");
	assert_contains((const char *)reason.data, "Line 9 - subject "
	    "CN=nobody: no device certificate has this subject");
	buf_free(&reason);
	assert_false(exists(f->media, "quarantine"));
	/* The replayed bytes were recorded once, under their first judging. */
	assert_int_equal(count(f, "SELECT count(*) FROM bundle WHERE "
	    "file_name = 'console-uid-0'"), 2);
	/* Not a label for the records. */
	assert_int_equal(intake_submit(f->in, "", "x", 1, &res, NULL, &e),
	    ERR_INVALID);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_one, teardown_one)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_accept_mac_range),
		T(test_accept_pkcs12_csv),
		T(test_accept_csr),
		T(test_record_refused_step_not_taken),
		T(test_reason_file),
		T(test_unsigned_zip),
		T(test_signers),
		T(test_replay_by_id_and_digest),
		T(test_quarantine_name_taken),
		T(test_quarantine_reason_like_name),
		T(test_oversize),
		T(test_names_held_by_pending_batch),
		T(test_names_held_by_certificate),
		T(test_names_taken_rules),
		T(test_crash_accepted_left_in_inbox),
		T(test_crash_rejected_left_in_inbox),
		T(test_ignored_entries),
		T(test_settle),
		T(test_no_medium),
		T(test_revocation_accepted),
		T(test_revocation_refused_every_line),
		T(test_revocation_signers_and_replay),
		T(test_revocation_submit_in_memory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
