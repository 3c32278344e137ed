/*
 * test_inventory.c: the certificate inventory (queue/inventory.c) and its
 * console commands (daemon/cmd_cert.c) on a real store holding two
 * batches (one exported), revoked, held, released and expired
 * certificates, a rejected revocation request, a serial two CAs share
 * and a stored certificate that is not DER: every filter with and
 * without a match and with bad text, paging, the indexes the queries
 * use, one certificate's history in order, and the reports' exact CSV.
 * The CSV and JSON the commands write are read back with Python's csv
 * and json modules when python3 is installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "batchfx.h"
#include "ctl/ctl.h"
#include "daemon/cmd_cert.h"
#include "daemon/daemon.h"
#include "queue/inventory.h"
#include "util/fileio.h"
#include "util/timeutil.h"

#define DAY 86400
/* The second operator's certificate digest. */
#define P2 "00000000000000000000000000000000" \
	"00000000000000000000000000000006"

/* The certificates of the fixture, in issue order. */
enum { A1, A2, A3, B1, B2, ROOTC, APPL, NCERTS };
static const char *const names[NCERTS] = {
	"A1", "A2", "A3", "B1", "B2", "ROOTC", "APPL"
};

static struct bfx *fx;
static int64_t now, batch_a, batch_b, p2_id;
static char ser[NCERTS][48];
static int64_t not_after[NCERTS];
static struct daemon dmn;
/* The end of run()'s key/value pairs. */
#define END ((const char *)0)
static unsigned revocations;

/* --- fixture ------------------------------------------------------------- */

static void
sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sql(const char *fmt, ...)
{
	char q[2048], *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	if (sqlite3_exec(store_db(fx->s), q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
}

static void
sql_text(const char *q, char *out, size_t outsz)
{
	sqlite3_stmt *s;

	assert_int_equal(sqlite3_prepare_v2(store_db(fx->s), q, -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(out, outsz, "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

static void
vote(const char *kind, int64_t object, const char *officer, int64_t person,
    const char *decision, const char *reason, int64_t at)
{
	static const unsigned char stmt[] = "statement", sig[] = "sig";
	struct queue_approval a = {
		.kind = kind, .object = object, .officer_sha256 = officer,
		.person_id = person, .decision = decision, .reason = reason,
		.digest = BFX_O3, .statement = stmt,
		.statement_len = sizeof(stmt), .signature = sig,
		.signature_len = sizeof(sig), .at = at,
	};
	err_t e;

	if (queue_approval_add(fx->s, &a, NULL, &e) != 0)
		fail_msg("queue_approval_add: %s", e.msg);
}

/*
 * A revocation request by the second operator naming certificate c,
 * made at t, approved by two officers (or rejected by one), and applied
 * at t + 300 with status as the new status of c.
 */
static void
fx_revoke(int c, const char *reason, int64_t t, const char *status,
    int reject)
{
	struct queue_bundle b = { 0 };
	char sha[65], uuid[37];
	int64_t bundle, id;
	err_t e;

	snprintf(sha, sizeof(sha), "%064x", 0xc0000 + ++revocations);
	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-9000-%012x",
	    revocations);
	b.uuid = uuid;
	b.sha256 = sha;
	b.file_name = "revoke.p7m";
	b.signer_sha256 = P2;
	b.person_id = p2_id;
	b.received_at = t;
	b.status = QUEUE_BUNDLE_ACCEPTED;
	if (queue_bundle_add(fx->s, &b, &bundle, &e) != 0)
		fail_msg("queue_bundle_add: %s", e.msg);
	sql("INSERT INTO revocation (bundle_id, person_id, requester_sha256, "
	    "reason, message, invalidity_date, state, item_count, quorum, "
	    "created) VALUES (%lld, %lld, '%s', '%s', 'lost in transit, "
	    "sadly', %s, 'pending-approval', 1, 2, %lld)", (long long)bundle,
	    (long long)p2_id, P2, reason, strcmp(reason, "keyCompromise") == 0 ?
	    "2500" : "NULL", (long long)t);
	id = sqlite3_last_insert_rowid(store_db(fx->s));
	sql("INSERT INTO revocation_item (revocation_id, ca_id, serial, line, "
	    "target) VALUES (%lld, %lld, '%s', 1, 'serial %s')", (long long)id,
	    (long long)fx->ca_id, ser[c], ser[c]);
	if (reject) {
		vote("revocation", id, BFX_O1, fx->o1_id, "reject",
		    "wrong device", t + 100);
		sql("UPDATE revocation SET state = 'rejected', reject_reason = "
		    "'wrong device' WHERE id = %lld", (long long)id);
		return;
	}
	vote("revocation", id, BFX_O1, fx->o1_id, "approve", NULL, t + 100);
	vote("revocation", id, BFX_O2, fx->o2_id, "approve", NULL, t + 200);
	sql("UPDATE revocation SET state = 'approved' WHERE id = %lld",
	    (long long)id);
	sql("UPDATE revocation SET state = 'applied', applied = %lld "
	    "WHERE id = %lld", (long long)(t + 300), (long long)id);
	if (strcmp(status, "valid") == 0)
		sql("UPDATE certificate SET status = 'valid', revoked_at = NULL, "
		    "reason = NULL, invalidity_date = NULL WHERE serial = '%s' "
		    "AND ca_id = %lld", ser[c], (long long)fx->ca_id);
	else
		sql("UPDATE certificate SET status = '%s', revoked_at = %lld, "
		    "reason = '%s', invalidity_date = %s, revocation_id = %lld "
		    "WHERE serial = '%s' AND ca_id = %lld", status,
		    (long long)(t + 300), reason, strcmp(reason,
		    "keyCompromise") == 0 ? "2500" : "NULL", (long long)id,
		    ser[c], (long long)fx->ca_id);
}

/* Records a certificate outside any batch (a ceremony's). */
static void
add_cert(int c, int64_t ca_id, const char *kind, const char *serial,
    const unsigned char *der, size_t der_len, const char *sha)
{
	struct store_cert sc = {
		.serial = serial, .ca_id = ca_id, .kind = kind,
		.subject = "CN=Outside, O=Ceremony", .sha256 = sha,
		.not_before = now - 400 * DAY, .not_after = now + 3000 * DAY,
		.der = der, .der_len = der_len, .created = 3500,
	};
	err_t e;

	if (store_cert_add(fx->s, &sc, &e) != 0)
		fail_msg("store_cert_add: %s", e.msg);
	snprintf(ser[c], sizeof(ser[c]), "%s", serial);
	not_after[c] = sc.not_after;
}

static int
group_setup(void **state)
{
	static const struct bfx_spec alpha = {
		.name = "Alpha", .mode = "mac-range", .format = "smpb",
		.lines = 3,
	};
	struct bfx_spec beta = {
		.name = "Beta", .mode = "csr", .format = "pem-zip", .lines = 2,
		.profile = "tls-device", .requester_sha256 = P2,
	};
	static const int64_t days[NCERTS] = { 10, 50, 100, 20, -1 };
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01 };
	char q[256], der_hex[8192];
	int64_t xid;
	int c;
	err_t e;

	(void)state;
	now = (int64_t)time(NULL);
	fx = bfx_new("inventory");
	p2_id = bfx_person(fx, "Petra Operator", "operator", P2);
	beta.requester = p2_id;
	batch_a = bfx_batch(fx, &alpha);
	batch_b = bfx_batch(fx, &beta);
	for (c = A1; c <= B2; c++) {
		snprintf(q, sizeof(q), "SELECT serial FROM certificate WHERE "
		    "batch_id = %lld AND line = %d", (long long)(c < B1 ?
		    batch_a : batch_b), c < B1 ? c + 1 : c - B1 + 1);
		sql_text(q, ser[c], sizeof(ser[c]));
		/* A whole number of days and an hour: days_left is exact. */
		not_after[c] = now + days[c] * DAY + (days[c] > 0 ? 3600 : 0);
		sql("UPDATE certificate SET created = 3000, not_before = %lld, "
		    "not_after = %lld WHERE serial = '%s'",
		    (long long)(now - 400 * DAY), (long long)not_after[c],
		    ser[c]);
	}
	/* Batch A was written to a medium; batch B never was. */
	if (queue_export_first(fx->s, batch_a, &xid, &e) != 0 ||
	    queue_export_transition(fx->s, xid, QUEUE_EXPORT_APPROVED,
	    QUEUE_EXPORT_WRITTEN, "alpha-1", BFX_O3, 4000, &e) != 0)
		fail_msg("export: %s", e.msg);
	fx_revoke(A2, "keyCompromise", 5000, "revoked", 0);
	fx_revoke(B1, "certificateHold", 5400, "hold", 0);
	fx_revoke(A3, "certificateHold", 6000, "hold", 0);
	fx_revoke(A3, "removeFromCRL", 7000, "valid", 0);
	fx_revoke(B2, "superseded", 8000, NULL, 1);
	/* The root CA's own record reuses A1's serial; the DER is A1's. */
	snprintf(q, sizeof(q), "SELECT hex(der) FROM certificate WHERE "
	    "serial = '%s'", ser[A1]);
	sql_text(q, der_hex, sizeof(der_hex));
	{
		unsigned char der[4096];
		size_t len;

		assert_int_equal(buf_unhex(der_hex, der, sizeof(der), &len), 0);
		add_cert(ROOTC, fx->root_id, "ca", ser[A1], der, len,
		    "aa" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaa");
	}
	add_cert(APPL, fx->people_id, "appliance", "77", junk, sizeof(junk),
	    "bb" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	    "bbbbbbb");
	memset(&dmn, 0, sizeof(dmn));
	dmn.st = fx->s;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return bfx_free(fx);
}

/* --- listing ------------------------------------------------------------- */

struct seen {
	char got[256];		/* names of the rows, space-separated */
	int64_t pos[NCERTS + 1];
	size_t n;
};

static int
seen_cb(void *ctx, const struct queue_cert_row *c)
{
	struct seen *s = ctx;
	size_t used = strlen(s->got);
	int i, which = -1;

	for (i = 0; i < NCERTS; i++)
		if (strcmp(c->serial, ser[i]) == 0 &&
		    (strcmp(c->kind, "ca") == 0) == (i == ROOTC))
			which = i;
	assert_true(which >= 0);
	snprintf(s->got + used, sizeof(s->got) - used, "%s%s", used ? " " : "",
	    names[which]);
	if (s->n <= NCERTS)
		s->pos[s->n] = c->pos;
	s->n++;
	return 0;
}

/* Lists with f0 (now filled in) and checks the names, in order. */
static void
expect(struct queue_cert_filter f0, const char *want)
{
	struct seen s;
	int64_t n;
	err_t e;

	memset(&s, 0, sizeof(s));
	f0.now = now;
	if (queue_cert_list(fx->s, &f0, seen_cb, &s, &e) != 0)
		fail_msg("queue_cert_list: %s", e.msg);
	assert_string_equal(s.got, want);
	if (f0.limit == 0 && f0.offset == 0 && f0.after == 0) {
		assert_int_equal(queue_cert_count(fx->s, &f0, &n, &e), 0);
		assert_int_equal(n, (int64_t)s.n);
	}
}

/* The filter is refused with ERR_INVALID and a message holding what. */
static void
refused(struct queue_cert_filter f0, const char *what)
{
	struct seen s;
	int64_t n;
	err_t e;

	memset(&s, 0, sizeof(s));
	f0.now = now;
	assert_int_equal(queue_cert_list(fx->s, &f0, seen_cb, &s, &e),
	    ERR_INVALID);
	assert_contains(e.msg, what);
	assert_int_equal(s.n, 0);
	assert_int_equal(queue_cert_count(fx->s, &f0, &n, &e), ERR_INVALID);
}

static void
test_list_all(void **state)
{
	(void)state;
	expect((struct queue_cert_filter){ 0 },
	    "A1 A2 A3 B1 B2 ROOTC APPL");
}

static void
test_serial(void **state)
{
	char upper[64], colons[128];
	size_t i, j = 0;

	(void)state;
	/* Upper case with leading zeros, and openssl's colon pairs. */
	snprintf(upper, sizeof(upper), "0000%s", ser[A2]);
	for (i = 0; upper[i]; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	expect((struct queue_cert_filter){ .serial = upper }, "A2");
	/* Pairs from the end, as openssl groups whole octets. */
	if (strlen(ser[A2]) % 2)
		colons[j++] = '0';
	for (i = 0; ser[A2][i]; i++) {
		if (i > 0 && (i + strlen(ser[A2]) % 2) % 2 == 0)
			colons[j++] = ':';
		colons[j++] = ser[A2][i];
	}
	colons[j] = '\0';
	expect((struct queue_cert_filter){ .serial = colons }, "A2");
	expect((struct queue_cert_filter){ .serial = "0x77" }, "APPL");
	/* Two CAs hold A1's serial. */
	expect((struct queue_cert_filter){ .serial = ser[A1] }, "A1 ROOTC");
	expect((struct queue_cert_filter){ .serial = "abcdef0123" }, "");
	refused((struct queue_cert_filter){ .serial = "xyz" },
	    "character 1 is not a hex digit");
	refused((struct queue_cert_filter){ .serial = "000" }, "zero");
	refused((struct queue_cert_filter){ .serial = "" }, "hex digits");
	refused((struct queue_cert_filter){ .serial = ":ab" }, "':'");
	refused((struct queue_cert_filter){ .serial = "abc:d" }, "':'");
	refused((struct queue_cert_filter){ .serial = "ab::cd" }, "':'");
	refused((struct queue_cert_filter){ .serial =
	    "1234567890123456789012345678901234567890a" }, "20 octets");
}

static void
test_batch_mac(void **state)
{
	(void)state;
	expect((struct queue_cert_filter){ .batch = batch_a }, "A1 A2 A3");
	expect((struct queue_cert_filter){ .batch = batch_b }, "B1 B2");
	expect((struct queue_cert_filter){ .batch = 999 }, "");
	expect((struct queue_cert_filter){ .mac = "00-11-22-33-44-02" }, "A2");
	expect((struct queue_cert_filter){ .mac = "0011.2233.4403" }, "A3");
	expect((struct queue_cert_filter){ .mac = "00:11:22:33:44:01",
	    .batch = batch_a }, "A1");
	expect((struct queue_cert_filter){ .mac = "00:11:22:33:44:01",
	    .batch = batch_b }, "");
	expect((struct queue_cert_filter){ .mac = "001122334499" }, "");
	refused((struct queue_cert_filter){ .mac = "00:11:22" }, "MAC filter");
	refused((struct queue_cert_filter){ .mac = "00:11:22:33:44:zz" },
	    "MAC filter");
	refused((struct queue_cert_filter){ .batch = -1 }, "negative");
}

static void
test_subject(void **state)
{
	(void)state;
	expect((struct queue_cert_filter){ .subject = "DEVICE-1" }, "B1");
	expect((struct queue_cert_filter){ .subject = "airlock TEST" },
	    "A1 A2 A3 B1 B2");
	expect((struct queue_cert_filter){ .subject = "cn=00:11:22:33:44:03" },
	    "A3");
	expect((struct queue_cert_filter){ .subject = "nobody" }, "");
	refused((struct queue_cert_filter){ .subject = "" }, "subject");
	refused((struct queue_cert_filter){ .subject = "a\x1b[2Jb" },
	    "subject");
}

static void
test_status(void **state)
{
	(void)state;
	expect((struct queue_cert_filter){ .status = "valid" },
	    "A1 A3 ROOTC APPL");
	expect((struct queue_cert_filter){ .status = "revoked" }, "A2");
	expect((struct queue_cert_filter){ .status = "hold" }, "B1");
	expect((struct queue_cert_filter){ .status = "expired" }, "B2");
	expect((struct queue_cert_filter){ .unrevoked = 1 },
	    "A1 A3 B1 B2 ROOTC APPL");
	refused((struct queue_cert_filter){ .status = "Valid" },
	    "valid, revoked, hold, expired");
}

static void
test_profile_ca_kind(void **state)
{
	(void)state;
	expect((struct queue_cert_filter){ .profile = "docsis-3.1-cm" },
	    "A1 A2 A3");
	expect((struct queue_cert_filter){ .profile = "tls-device" }, "B1 B2");
	expect((struct queue_cert_filter){ .profile = "docsis-4.0" }, "");
	expect((struct queue_cert_filter){ .ca = "devices" },
	    "A1 A2 A3 B1 B2");
	expect((struct queue_cert_filter){ .ca = "root" }, "ROOTC");
	expect((struct queue_cert_filter){ .ca = "nope" }, "");
	expect((struct queue_cert_filter){ .kind = "device",
	    .status = "valid" }, "A1 A3");
	expect((struct queue_cert_filter){ .kind = "appliance" }, "APPL");
	expect((struct queue_cert_filter){ .kind = "person" }, "");
	refused((struct queue_cert_filter){ .kind = "server" }, "kind");
	refused((struct queue_cert_filter){ .ca = "" }, "CA name");
}

static void
test_expiry(void **state)
{
	(void)state;
	expect((struct queue_cert_filter){ .expires_within = 30 }, "A1 B1");
	expect((struct queue_cert_filter){ .expires_within = 60 },
	    "A1 A2 B1");
	expect((struct queue_cert_filter){ .expires_within = 60,
	    .unrevoked = 1 }, "A1 B1");
	expect((struct queue_cert_filter){ .expires_within = 180 },
	    "A1 A2 A3 B1");
	expect((struct queue_cert_filter){ .expires_within = 180,
	    .by_expiry = 1 }, "A1 B1 A2 A3");
	expect((struct queue_cert_filter){ .expires_within = 9 }, "");
	refused((struct queue_cert_filter){ .expires_within = -1 },
	    "expiry window");
	refused((struct queue_cert_filter){ .expires_within = 36501 },
	    "expiry window");
	refused((struct queue_cert_filter){ .by_expiry = 1, .after = 1 },
	    "issue order");
}

static void
test_paging(void **state)
{
	struct queue_cert_filter f0 = { .limit = 2 };
	struct seen s;
	err_t e;

	(void)state;
	expect(f0, "A1 A2");
	memset(&s, 0, sizeof(s));
	f0.now = now;
	assert_int_equal(queue_cert_list(fx->s, &f0, seen_cb, &s, &e), 0);
	f0.after = s.pos[1];
	expect(f0, "A3 B1");
	expect((struct queue_cert_filter){ .offset = 5 }, "ROOTC APPL");
	expect((struct queue_cert_filter){ .offset = 1, .limit = 1,
	    .status = "valid" }, "A3");
	refused((struct queue_cert_filter){ .limit = -1 }, "negative");
}

/* --- query plans --------------------------------------------------------- */

static char traced[4096];

static int
trace_cb(unsigned type, void *ctx, void *p, void *x)
{
	const char *q = sqlite3_sql(p);

	(void)ctx;
	(void)x;
	if (type == SQLITE_TRACE_STMT && q != NULL &&
	    strstr(q, "FROM certificate c") != NULL)
		snprintf(traced, sizeof(traced), "%s", q);
	return 0;
}

static int
noop_cb(void *ctx, const struct queue_cert_row *c)
{
	(void)ctx;
	(void)c;
	return 0;
}

/*
 * Runs the list for f0, then EXPLAIN QUERY PLAN on the statement it
 * prepared: the plan must search (not scan) what `want` names, and never
 * scan the certificate table.
 */
static void
plan(struct queue_cert_filter f0, const char *want)
{
	sqlite3 *db = store_db(fx->s);
	char q[4200], all[4096] = "";
	sqlite3_stmt *s;
	err_t e;

	traced[0] = '\0';
	assert_int_equal(sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace_cb,
	    NULL), SQLITE_OK);
	f0.now = now;
	assert_int_equal(queue_cert_list(fx->s, &f0, noop_cb, NULL, &e), 0);
	assert_int_equal(sqlite3_trace_v2(db, 0, NULL, NULL), SQLITE_OK);
	assert_true(traced[0] != '\0');
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", traced);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		size_t used = strlen(all);

		snprintf(all + used, sizeof(all) - used, "%s\n",
		    sqlite3_column_text(s, 3));
	}
	sqlite3_finalize(s);
	if (strstr(all, want) == NULL || strstr(all, "SCAN c") != NULL)
		fail_msg("plan without '%s' or with a full scan:\n%s", want,
		    all);
}

static void
test_plans(void **state)
{
	(void)state;
	plan((struct queue_cert_filter){ .serial = "ab" },
	    "SEARCH c USING INDEX sqlite_autoindex_certificate_2 (ca_id=? "
	    "AND serial=?)");
	plan((struct queue_cert_filter){ .batch = 1 },
	    "SEARCH c USING INDEX certificate_batch");
	plan((struct queue_cert_filter){ .mac = "001122334401" },
	    "SEARCH l USING INDEX line_mac");
	plan((struct queue_cert_filter){ .profile = "tls-device" },
	    "SEARCH b USING COVERING INDEX batch_profile");
	plan((struct queue_cert_filter){ .expires_within = 30 },
	    "USING INDEX certificate_not_after");
	plan((struct queue_cert_filter){ .expires_within = 30,
	    .by_expiry = 1 }, "USING INDEX certificate_not_after");
	plan((struct queue_cert_filter){ .status = "revoked" },
	    "USING INDEX certificate_revoked");
	plan((struct queue_cert_filter){ .status = "hold", .ca = "devices" },
	    "USING INDEX certificate_revoked");
	plan((struct queue_cert_filter){ .after = 3 },
	    "SEARCH c USING INTEGER PRIMARY KEY");
}

/* --- history ------------------------------------------------------------- */

struct hist {
	char got[4096];
};

static int
hist_cb(void *ctx, const struct queue_cert_event *ev)
{
	struct hist *h = ctx;
	size_t used = strlen(h->got);

	snprintf(h->got + used, sizeof(h->got) - used, "%lld %s%s%s\n",
	    (long long)ev->at, ev->event, ev->who ? " " : "",
	    ev->who ? ev->who : "");
	return 0;
}

static void
history(const char *ca, int c, const char *want)
{
	struct hist h;
	err_t e;

	memset(&h, 0, sizeof(h));
	if (queue_cert_history(fx->s, ca, ser[c], hist_cb, &h, &e) != 0)
		fail_msg("queue_cert_history %s: %s", names[c], e.msg);
	assert_string_equal(h.got, want);
}

#define ISSUE_A "1000 requested Oscar Operator\n" \
	"2000 approved Olga Officer\n2000 approved Otto Officer\n" \
	"3000 issued\n4000 exported\n"

static void
test_history(void **state)
{
	struct hist h;
	err_t e;

	(void)state;
	history(NULL, A2, ISSUE_A
	    "5000 revocation-requested Petra Operator\n"
	    "5100 revocation-approved Olga Officer\n"
	    "5200 revocation-approved Otto Officer\n"
	    "5300 revoked\n");
	history("devices", A3, ISSUE_A
	    "6000 revocation-requested Petra Operator\n"
	    "6100 revocation-approved Olga Officer\n"
	    "6200 revocation-approved Otto Officer\n"
	    "6300 held\n"
	    "7000 revocation-requested Petra Operator\n"
	    "7100 revocation-approved Olga Officer\n"
	    "7200 revocation-approved Otto Officer\n"
	    "7300 released\n");
	history(NULL, B2, "1000 requested Petra Operator\n"
	    "2000 approved Olga Officer\n2000 approved Otto Officer\n"
	    "3000 issued\n"
	    "8000 revocation-requested Petra Operator\n"
	    "8100 revocation-rejected Olga Officer\n");
	history(NULL, APPL, "3500 issued\n");
	history("root", ROOTC, "3500 issued\n");
	history("devices", A1, ISSUE_A);
	/* Several CAs, none named; no such serial or CA; bad text. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(queue_cert_history(fx->s, NULL, ser[A1], hist_cb,
	    &h, &e), ERR_INVALID);
	assert_contains(e.msg, "2 CAs ('devices', 'root')");
	assert_int_equal(queue_cert_history(fx->s, NULL, "abcdef0123", hist_cb,
	    &h, &e), ERR_NOTFOUND);
	assert_int_equal(queue_cert_history(fx->s, "people", ser[A2],
	    hist_cb, &h, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "issued by CA 'people'");
	assert_int_equal(queue_cert_history(fx->s, NULL, "g", hist_cb, &h,
	    &e), ERR_INVALID);
	assert_string_equal(h.got, "");
}

/* --- reports (queue) ----------------------------------------------------- */

static int
issuance_cb(void *ctx, const struct queue_issuance_row *r)
{
	char *out = ctx;
	size_t used = strlen(out);

	snprintf(out + used, 1024 - used, "%s|%s|%s|%lld|%lld\n", r->profile,
	    r->operator_name, r->month ? r->month : "-",
	    (long long)r->batches, (long long)r->certificates);
	return 0;
}

static int
alg_cb(void *ctx, const struct queue_alg_row *r)
{
	char *out = ctx;
	size_t used = strlen(out);

	snprintf(out + used, 1024 - used, "%s|%s|%s|%lld\n", r->kind, r->key,
	    r->sig, (long long)r->certificates);
	return 0;
}

static void
test_reports_queue(void **state)
{
	char out[1024];
	err_t e;

	(void)state;
	out[0] = '\0';
	assert_int_equal(queue_report_issuance(fx->s, 0, issuance_cb, out, &e),
	    0);
	assert_string_equal(out, "docsis-3.1-cm|Oscar Operator|-|1|3\n"
	    "tls-device|Petra Operator|-|1|2\n");
	out[0] = '\0';
	assert_int_equal(queue_report_issuance(fx->s, 1, issuance_cb, out, &e),
	    0);
	assert_string_equal(out, "docsis-3.1-cm|Oscar Operator|1970-01|1|3\n"
	    "tls-device|Petra Operator|1970-01|1|2\n");
	out[0] = '\0';
	assert_int_equal(queue_report_algorithms(fx->s, alg_cb, out, &e), 0);
	assert_string_equal(out, "appliance|(unreadable)|(unreadable)|1\n"
	    "ca|EC P-256|ecdsa-with-SHA256|1\n"
	    "device|EC P-256|ecdsa-with-SHA256|5\n");
}

/* --- the commands -------------------------------------------------------- */

typedef void (*handler)(struct daemon *, const struct ctl_msg *,
    struct ctl_msg *);

/*
 * Runs handler h on a request of NULL-terminated key/value pairs; the
 * reply's "data" or "text" (or, on error, "message") goes to out.
 * Returns 0 for an ok reply, else 1.
 */
static int
run(handler h, buf_t *out, struct ctl_msg *keep, ...)
{
	struct ctl_msg req, reply;
	const unsigned char *v;
	const char *k, *status;
	size_t len;
	va_list ap;
	int ok;

	ctl_msg_init(&req, CTL_REQUEST_MAX);
	ctl_msg_init(&reply, CTL_REPLY_MAX);
	va_start(ap, keep);
	while ((k = va_arg(ap, const char *)) != NULL)
		assert_int_equal(ctl_put_str(&req, k, va_arg(ap,
		    const char *)), 0);
	va_end(ap);
	h(&dmn, &req, &reply);
	status = ctl_get_str(&reply, "status");
	ok = status != NULL && strcmp(status, "ok") == 0;
	if ((v = ctl_get(&reply, ok ? "data" : "message", &len)) == NULL)
		v = ctl_get(&reply, "text", &len);
	buf_reset(out);
	assert_non_null(v);
	assert_int_equal(buf_put(out, v, len), 0);
	assert_int_equal(buf_put_u8(out, '\0'), 0);
	out->len--;
	ctl_msg_free(&req);
	if (keep != NULL)
		*keep = reply;
	else
		ctl_msg_free(&reply);
	return ok ? 0 : 1;
}

static void
test_cmd_reports_csv(void **state)
{
	char want[2048], na1[TIMEUTIL_STRLEN], nb1[TIMEUTIL_STRLEN];
	buf_t out;

	(void)state;
	buf_init(&out, CTL_REPLY_MAX);
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "issuance",
	    "format", "csv", END), 0);
	assert_string_equal((char *)out.data, "profile,operator,batches,"
	    "certificates\r\ndocsis-3.1-cm,Oscar Operator,1,3\r\n"
	    "tls-device,Petra Operator,1,2\r\n");
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "issuance",
	    "format", "csv", "by-month", "1", END), 0);
	assert_string_equal((char *)out.data, "profile,operator,month,batches,"
	    "certificates\r\ndocsis-3.1-cm,Oscar Operator,1970-01,1,3\r\n"
	    "tls-device,Petra Operator,1970-01,1,2\r\n");
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "algorithms",
	    "format", "csv", END), 0);
	assert_string_equal((char *)out.data, "kind,key_algorithm,"
	    "signature_algorithm,certificates\r\n"
	    "appliance,(unreadable),(unreadable),1\r\n"
	    "ca,EC P-256,ecdsa-with-SHA256,1\r\n"
	    "device,EC P-256,ecdsa-with-SHA256,5\r\n");
	/* The default windows, counted; then the details of 60 days. */
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "expiring",
	    "format", "csv", "summary", "1", END), 0);
	assert_string_equal((char *)out.data, "window_days,certificates\r\n"
	    "30,2\r\n60,2\r\n90,2\r\n180,3\r\n");
	timeutil_format((time_t)not_after[A1], na1);
	timeutil_format((time_t)not_after[B1], nb1);
	snprintf(want, sizeof(want), "window_days,days_left,not_after,serial,"
	    "ca,kind,status,batch,mac,profile,subject\r\n"
	    "60,10,%s,%s,devices,device,valid,%lld,00:11:22:33:44:01,"
	    "docsis-3.1-cm,\"CN=00:11:22:33:44:01,O=Airlock Test\"\r\n"
	    "60,20,%s,%s,devices,device,hold,%lld,,tls-device,"
	    "\"CN=device-1.example,O=Airlock Test\"\r\n", na1, ser[A1],
	    (long long)batch_a, nb1, ser[B1], (long long)batch_b);
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "expiring",
	    "format", "csv", "days", "60", END), 0);
	assert_string_equal((char *)out.data, want);
	/* Text: the counts, then the certificates in their windows. */
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "expiring",
	    END), 0);
	assert_contains((char *)out.data, "WITHIN DAYS  CERTIFICATES\n"
	    "30           2\n60           2\n90           2\n180          3\n");
	assert_contains((char *)out.data, "\n180    100   ");
	/* Refusals. */
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "expiring",
	    "days", "0", END), 1);
	assert_contains((char *)out.data, "'days'");
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "fortune",
	    END), 1);
	assert_contains((char *)out.data, "no report 'fortune'");
	assert_int_equal(run(cmd_cert_report, &out, NULL, "name", "issuance",
	    "format", "xml", END), 1);
	buf_free(&out);
}

/* Runs python3 on the script with path as argv[1]; its exit status. */
static int
python(const char *path, const char *script)
{
	char cmd[8192];
	int rc;

	if ((size_t)snprintf(cmd, sizeof(cmd), "python3 -c '%s' '%s'", script,
	    path) >= sizeof(cmd))
		fail_msg("python command too long");
	rc = system(cmd);
	return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

/* Walks every page of a list, as the console does; the pages joined. */
static void
pages(const char *fmt, const char *limit, buf_t *all, int *n_pages)
{
	struct ctl_msg reply;
	char after[32] = "";
	int64_t more = 1, next = 0;
	buf_t out;

	buf_init(&out, CTL_REPLY_MAX);
	buf_reset(all);
	*n_pages = 0;
	while (more) {
		if (after[0] == '\0')
			assert_int_equal(run(cmd_cert_list, &out, &reply,
			    "format", fmt, "limit", limit, "paged", "1", END),
			    0);
		else
			assert_int_equal(run(cmd_cert_list, &out, &reply,
			    "format", fmt, "limit", limit, "paged", "1",
			    "after", after, END), 0);
		assert_int_equal(ctl_get_int(&reply, "more", &more), 0);
		assert_int_equal(ctl_get_int(&reply, "next", &next), 0);
		ctl_msg_free(&reply);
		snprintf(after, sizeof(after), "%lld", (long long)next);
		assert_int_equal(buf_put(all, out.data, out.len), 0);
		(*n_pages)++;
		assert_true(*n_pages < 20);
	}
	buf_free(&out);
}

static void
test_cmd_list(void **state)
{
	char path[PATH_MAX], mac[64];
	buf_t out, all;
	int n;
	err_t e;

	(void)state;
	buf_init(&out, CTL_REPLY_MAX);
	buf_init(&all, CTL_REPLY_MAX);
	/* Three pages of three, two and two, joined, are one document. */
	pages("csv", "3", &all, &n);
	assert_int_equal(n, 3);
	snprintf(path, sizeof(path), "%s/list.csv", fx->dir);
	assert_int_equal(fileio_replace(path, all.data, all.len, 0644, &e), 0);
	snprintf(mac, sizeof(mac), "%s", ser[A2]);
	if (testutil_have("python3")) {
		char script[1024];

		snprintf(script, sizeof(script), "import csv,sys\n"
		    "r=list(csv.DictReader(open(sys.argv[1],newline=\"\")))\n"
		    "assert len(r)==7, len(r)\n"
		    "assert r[1][\"serial\"]==\"%s\" and r[1][\"status\"]=="
		    "\"revoked\" and r[1][\"reason\"]==\"keyCompromise\"\n"
		    "assert r[1][\"mac\"]==\"00:11:22:33:44:02\"\n"
		    "assert r[3][\"subject\"]==\"CN=device-1.example,O=Airlock "
		    "Test\"\n"
		    "assert r[5][\"kind\"]==\"ca\" and r[5][\"batch\"]==\"\"\n",
		    mac);
		assert_int_equal(python(path, script), 0);
	}
	pages("json", "2", &all, &n);
	assert_int_equal(n, 4);
	snprintf(path, sizeof(path), "%s/list.json", fx->dir);
	assert_int_equal(fileio_replace(path, all.data, all.len, 0644, &e), 0);
	if (testutil_have("python3"))
		assert_int_equal(python(path, "import json,sys\n"
		    "r=json.load(open(sys.argv[1]))\n"
		    "assert len(r)==7 and r[0][\"line\"]==1\n"
		    "assert r[4][\"status\"]==\"expired\"\n"
		    "assert r[6][\"mac\"] is None and r[6][\"batch\"] is None\n"),
		    0);
	/* Text, one page asked for: it says how to get the rest. */
	assert_int_equal(run(cmd_cert_list, &out, NULL, "limit", "2", END),
	    0);
	assert_contains((char *)out.data, "SERIAL");
	assert_contains((char *)out.data, "(2 shown; more match: ask again "
	    "with --offset 2)");
	assert_int_equal(run(cmd_cert_list, &out, NULL, "subject", "nobody",
	    END), 0);
	assert_string_equal((char *)out.data, "No certificate matches.\n");
	assert_int_equal(run(cmd_cert_list, &out, NULL, "status", "hold",
	    "format", "json", END), 0);
	assert_contains((char *)out.data, "\"reason\":\"certificateHold\"");
	/* Refusals say what is wrong. */
	assert_int_equal(run(cmd_cert_list, &out, NULL, "mac", "00:11", END),
	    1);
	assert_contains((char *)out.data, "MAC filter");
	assert_int_equal(run(cmd_cert_list, &out, NULL, "limit", "100001",
	    END), 1);
	assert_contains((char *)out.data, "'limit'");
	assert_int_equal(run(cmd_cert_list, &out, NULL, "batch", "x", END),
	    1);
	assert_int_equal(run(cmd_cert_list, &out, NULL, "subject", "\x07",
	    END), 1);
	assert_contains((char *)out.data, "printable");
	buf_free(&out);
	buf_free(&all);
}

static void
test_cmd_show(void **state)
{
	char path[PATH_MAX];
	const unsigned char *p;
	unsigned char *der = NULL;
	long derlen;
	char *name = NULL, *hdr = NULL;
	BIO *b;
	buf_t out;
	err_t e;

	(void)state;
	buf_init(&out, CTL_REPLY_MAX);
	assert_int_equal(run(cmd_cert_show, &out, NULL, "serial", ser[A2],
	    "pem", "1", END), 0);
	assert_contains((char *)out.data, "Status:          revoked since "
	    "1970-01-01T01:28:20Z, reason keyCompromise, invalidity date "
	    "1970-01-01T00:41:40Z");
	assert_contains((char *)out.data, "Key:             EC P-256");
	assert_contains((char *)out.data, "MAC:             00:11:22:33:44:02");
	assert_contains((char *)out.data, "revocation-approved  by Otto "
	    "Officer");
	assert_contains((char *)out.data, "export 1 of batch");
	/* The PEM is the stored DER. */
	p = (const unsigned char *)strstr((char *)out.data, "-----BEGIN");
	assert_non_null(p);
	assert_non_null(b = BIO_new_mem_buf(p, -1));
	assert_int_equal(PEM_read_bio(b, &name, &hdr, &der, &derlen), 1);
	assert_string_equal(name, "CERTIFICATE");
	{
		char q[256], hex[8192], got[8192];

		snprintf(q, sizeof(q), "SELECT lower(hex(der)) FROM certificate "
		    "WHERE serial = '%s'", ser[A2]);
		sql_text(q, hex, sizeof(hex));
		buf_hex(der, (size_t)derlen, got, sizeof(got));
		assert_string_equal(got, hex);
	}
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(der);
	BIO_free(b);
	/* JSON, read back. */
	assert_int_equal(run(cmd_cert_show, &out, NULL, "serial", ser[A3],
	    "format", "json", END), 0);
	snprintf(path, sizeof(path), "%s/show.json", fx->dir);
	assert_int_equal(fileio_replace(path, out.data, out.len, 0644, &e), 0);
	if (testutil_have("python3"))
		assert_int_equal(python(path, "import json,sys\n"
		    "r=json.load(open(sys.argv[1]))\n"
		    "c=r[\"certificate\"]; h=r[\"history\"]\n"
		    "assert c[\"status\"]==\"valid\" and c[\"reason\"] is None\n"
		    "assert c[\"key_algorithm\"]==\"EC P-256\"\n"
		    "assert [x[\"event\"] for x in h][-2:]==[\"revocation-"
		    "approved\",\"released\"]\n"
		    "assert h[0][\"who\"]==\"Oscar Operator\"\n"
		    "assert r[\"pem\"] is None\n"), 0);
	/* CSV: the history. */
	assert_int_equal(run(cmd_cert_show, &out, NULL, "serial", ser[B2],
	    "format", "csv", END), 0);
	assert_contains((char *)out.data, "at,event,who,object,detail\r\n");
	assert_contains((char *)out.data, ",revocation-rejected,Olga Officer,");
	assert_contains((char *)out.data, "wrong device");
	/* Refusals. */
	assert_int_equal(run(cmd_cert_show, &out, NULL, "serial", ser[A1],
	    END), 1);
	assert_contains((char *)out.data, "name one");
	assert_int_equal(run(cmd_cert_show, &out, NULL, "serial", ser[A1],
	    "ca", "devices", END), 0);
	assert_int_equal(run(cmd_cert_show, &out, NULL, END), 1);
	assert_contains((char *)out.data, "needs 'serial'");
	assert_int_equal(run(cmd_cert_show, &out, NULL, "serial", "12ab",
	    END), 1);
	assert_contains((char *)out.data, "no certificate with serial 12ab");
	buf_free(&out);
}

/* --- the console, against these handlers over a socket ------------------ */

struct server {
	int fd;
	volatile int stop;
};

/* Serves console requests with the daemon's dispatch until stopped. */
static void *
serve(void *arg)
{
	struct server *sv = arg;
	struct ctl_msg req, reply;
	err_t e;

	while (!sv->stop) {
		int c = accept(sv->fd, NULL, NULL);

		if (c < 0)
			continue;
		ctl_msg_init(&req, CTL_REQUEST_MAX);
		ctl_msg_init(&reply, CTL_REPLY_MAX);
		if (ctl_recv(c, CTL_REQUEST_MAX, &req, &e) == 0) {
			daemon_command(&dmn, getuid(), &req, &reply);
			(void)ctl_send(c, &reply, &e);
		}
		ctl_msg_free(&req);
		ctl_msg_free(&reply);
		close(c);
	}
	return NULL;
}

/* Runs the airlock binary with args (shell words); its exit status. */
static int
airlock(const char *bin, const char *sock, const char *args)
{
	char cmd[8192];
	int rc;

	if ((size_t)snprintf(cmd, sizeof(cmd), "'%s' %s --socket '%s'", bin,
	    args, sock) >= sizeof(cmd))
		fail_msg("command too long");
	rc = system(cmd);
	return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

static void
test_console(void **state)
{
	const char *b = getenv("AIRLOCK_BUILD");
	char bin[1100], sock[1100], args[3000], path[1100];
	struct sockaddr_un sa;
	struct server sv;
	pthread_t th;
	buf_t out, file;
	err_t e;
	int wake;

	(void)state;
	if (b == NULL || snprintf(bin, sizeof(bin), "%s/bin/airlock", b) <= 0 ||
	    access(bin, X_OK) != 0) {
		fprintf(stderr, "  skipped: no $AIRLOCK_BUILD/bin/airlock\n");
		return;
	}
	snprintf(sock, sizeof(sock), "%s/console.sock", fx->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_true((sv.fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(sv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sv.fd, 4), 0);
	sv.stop = 0;
	assert_int_equal(pthread_create(&th, NULL, serve, &sv), 0);
	buf_init(&out, CTL_REPLY_MAX);
	buf_init(&file, CTL_REPLY_MAX);

	/* --out holds exactly what the daemon answered. */
	snprintf(path, sizeof(path), "%s/console.csv", fx->dir);
	snprintf(args, sizeof(args), "cert list --batch %lld --format csv "
	    "--out '%s'", (long long)batch_a, path);
	assert_int_equal(airlock(bin, sock, args), 0);
	assert_int_equal(fileio_read(path, 1u << 20, &file, &e), 0);
	snprintf(args, sizeof(args), "%lld", (long long)batch_a);
	assert_int_equal(run(cmd_cert_list, &out, NULL, "batch", args,
	    "format", "csv", "paged", "1", END), 0);
	assert_int_equal(file.len, out.len);
	assert_memory_equal(file.data, out.data, out.len);
	/* --out never replaces a file. */
	snprintf(args, sizeof(args), "report algorithms --format csv --out "
	    "'%s' 2>/dev/null", path);
	assert_int_equal(airlock(bin, sock, args), 1);
	/* A report to a file; a refusal is the daemon's message, exit 1. */
	snprintf(path, sizeof(path), "%s/issuance.csv", fx->dir);
	snprintf(args, sizeof(args), "report issuance --format csv --out '%s'",
	    path);
	assert_int_equal(airlock(bin, sock, args), 0);
	buf_free(&file);
	assert_int_equal(fileio_read(path, 1u << 20, &file, &e), 0);
	assert_int_equal(buf_put_u8(&file, '\0'), 0);
	assert_string_equal((char *)file.data, "profile,operator,batches,"
	    "certificates\r\ndocsis-3.1-cm,Oscar Operator,1,3\r\n"
	    "tls-device,Petra Operator,1,2\r\n");
	snprintf(path, sizeof(path), "%s/show.txt", fx->dir);
	snprintf(args, sizeof(args), "cert show %s --ca devices --pem > '%s'",
	    ser[A1], path);
	assert_int_equal(airlock(bin, sock, args), 0);
	buf_free(&file);
	assert_int_equal(fileio_read(path, 1u << 20, &file, &e), 0);
	assert_int_equal(buf_put_u8(&file, '\0'), 0);
	assert_contains((char *)file.data, "-----END CERTIFICATE-----");
	assert_int_equal(airlock(bin, sock, "cert list --mac 00:11 "
	    "2>/dev/null"), 1);
	/* One page asked for, of a list that goes on. */
	assert_int_equal(airlock(bin, sock, "cert list --limit 2 --format json "
	    ">/dev/null 2>&1"), 0);

	sv.stop = 1;
	wake = socket(AF_UNIX, SOCK_STREAM, 0);
	(void)connect(wake, (struct sockaddr *)&sa, sizeof(sa));
	close(wake);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(sv.fd);
	buf_free(&out);
	buf_free(&file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_all),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_batch_mac),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_profile_ca_kind),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_reports_queue),
		cmocka_unit_test(test_cmd_reports_csv),
		cmocka_unit_test(test_cmd_list),
		cmocka_unit_test(test_cmd_show),
		cmocka_unit_test(test_console),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
