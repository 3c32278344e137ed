/* test_audit_query.c: filters, listings and reports (audit/query.h). */
#include "testutil.h"

#include "audit/query.h"
#include "audit/record.h"

#define ALICE \
	"3f2a9c01d2e4b5a6978877665544332211000ffeeddccbbaa99887766554433a"
#define BOB \
	"b0b0000000000000000000000000000000000000000000000000000000000001"
#define H1 \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define H2 \
	"2222222222222222222222222222222222222222222222222222222222222222"
/* 2026-03-01T10:00:00Z */
#define T0 ((time_t)1772359200)

static struct audit_record
rec(const char *sha, const char *name, const char *role, const char *action,
    const char *outcome, const char *objects, const char *details)
{
	struct audit_record r;

	memset(&r, 0, sizeof(r));
	r.seq = 7;
	r.time = T0;
	r.actor_sha256 = sha;
	r.actor_name = name;
	r.role = role;
	r.action = action;
	r.outcome = outcome;
	r.objects = objects;
	r.details = details;
	memcpy(r.prev, H1, sizeof(r.prev));
	memcpy(r.hash, H2, sizeof(r.hash));
	return r;
}

/* out's bytes as a string (static storage). */
static const char *
out_text(const buf_t *out)
{
	static char s[65536];

	assert_true(out->len < sizeof(s));
	memcpy(s, out->data != NULL ? (const char *)out->data : "", out->len);
	s[out->len] = '\0';
	return s;
}

static void
test_filter(void **state)
{
	struct audit_record r = rec(ALICE, "Alice Officer", "officer",
	    "bundle-accepted", "ok", "batch=012 serial=00:0A:1b "
	    "serial=7c01 file=my%20req.p7m", "details");
	struct audit_filter f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_true(audit_filter_match(&f, &r));
	assert_true(audit_filter_match(NULL, &r));
	/* Time: both ends included. */
	f.since = T0;
	f.until = T0;
	assert_true(audit_filter_match(&f, &r));
	f.since = T0 + 1;
	assert_false(audit_filter_match(&f, &r));
	f.since = 0;
	f.until = T0 - 1;
	assert_false(audit_filter_match(&f, &r));
	memset(&f, 0, sizeof(f));
	/* Actor: a name substring in any case, or the start of the hash. */
	f.actor = "alice";
	assert_true(audit_filter_match(&f, &r));
	f.actor = "OFFICER";
	assert_true(audit_filter_match(&f, &r));
	f.actor = "3F2A9c";
	assert_true(audit_filter_match(&f, &r));
	f.actor = "bob";
	assert_false(audit_filter_match(&f, &r));
	f.actor = "2a9c";
	assert_false(audit_filter_match(&f, &r));
	memset(&f, 0, sizeof(f));
	/* Action: exact, or a prefix with '*'. */
	f.action = "bundle-accepted";
	assert_true(audit_filter_match(&f, &r));
	f.action = "bundle-*";
	assert_true(audit_filter_match(&f, &r));
	f.action = "*";
	assert_true(audit_filter_match(&f, &r));
	f.action = "bundle";
	assert_false(audit_filter_match(&f, &r));
	f.action = "crl-*";
	assert_false(audit_filter_match(&f, &r));
	memset(&f, 0, sizeof(f));
	f.role = "officer";
	f.outcome = "ok";
	assert_true(audit_filter_match(&f, &r));
	f.role = "operator";
	assert_false(audit_filter_match(&f, &r));
	f.role = NULL;
	f.outcome = "refused";
	assert_false(audit_filter_match(&f, &r));
	memset(&f, 0, sizeof(f));
	/* Batch: a decimal number, leading zeros aside. */
	f.batch = "12";
	assert_true(audit_filter_match(&f, &r));
	f.batch = "0012";
	assert_true(audit_filter_match(&f, &r));
	f.batch = "1";
	assert_false(audit_filter_match(&f, &r));
	f.batch = "120";
	assert_false(audit_filter_match(&f, &r));
	memset(&f, 0, sizeof(f));
	/* Serial: hex in any case, zeros, "0x" and ':' aside; any token. */
	f.serial = "a1b";
	assert_true(audit_filter_match(&f, &r));
	f.serial = "0x0A1B";
	assert_true(audit_filter_match(&f, &r));
	f.serial = "00:7C:01";
	assert_true(audit_filter_match(&f, &r));
	f.serial = "a1c";
	assert_false(audit_filter_match(&f, &r));
	f.serial = "a1";
	assert_false(audit_filter_match(&f, &r));
	f.serial = "zz";
	assert_false(audit_filter_match(&f, &r));
	memset(&f, 0, sizeof(f));
	/* Any key=value, decoded, exact. */
	f.object_key = "file";
	f.object_value = "my req.p7m";
	assert_true(audit_filter_match(&f, &r));
	f.object_value = "my%20req.p7m";
	assert_false(audit_filter_match(&f, &r));
	f.object_key = "bundle";
	f.object_value = "my req.p7m";
	assert_false(audit_filter_match(&f, &r));
	/* No objects at all. */
	r.objects = "";
	memset(&f, 0, sizeof(f));
	f.batch = "12";
	assert_false(audit_filter_match(&f, &r));
}

static void
test_filter_time(void **state)
{
	time_t t;
	err_t e;

	(void)state;
	assert_int_equal(audit_filter_time("2026-03-01", 0, &t, &e), 0);
	assert_int_equal((long long)t, 1772323200LL);
	assert_int_equal(audit_filter_time("2026-03-01", 1, &t, &e), 0);
	assert_int_equal((long long)t, 1772323200LL + 86399);
	assert_int_equal(audit_filter_time("2026-03-01T10:00:00Z", 0, &t, &e),
	    0);
	assert_int_equal((long long)t, (long long)T0);
	assert_int_equal(audit_filter_time("2026-03-32", 0, &t, &e),
	    ERR_INVALID);
	assert_int_equal(audit_filter_time("yesterday", 0, &t, &e),
	    ERR_INVALID);
	assert_int_equal(audit_filter_time("2026-03-01T10:00:00", 0, &t, &e),
	    ERR_INVALID);
}

static void
test_fmt_parse(void **state)
{
	enum audit_fmt f;
	enum audit_report_kind k;

	(void)state;
	assert_int_equal(audit_fmt_parse("text", &f), 0);
	assert_int_equal(f, AUDIT_FMT_TEXT);
	assert_int_equal(audit_fmt_parse("csv", &f), 0);
	assert_int_equal(f, AUDIT_FMT_CSV);
	assert_int_equal(audit_fmt_parse("json", &f), 0);
	assert_int_equal(f, AUDIT_FMT_JSON);
	assert_int_equal(audit_fmt_parse("CSV", &f), ERR_INVALID);
	assert_int_equal(audit_fmt_parse(NULL, &f), ERR_INVALID);
	assert_int_equal(audit_report_kind_parse("crls", &k), 0);
	assert_int_equal(k, AUDIT_REPORT_CRLS);
	assert_int_equal(audit_report_kind_parse("approvals", &k), 0);
	assert_int_equal(k, AUDIT_REPORT_APPROVALS);
	assert_int_equal(audit_report_kind_parse("crl", &k), ERR_INVALID);
}

static void
test_csv_cell(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\rhere", "\"cr\rhere\"" },
		/* The formula guard. */
		{ "=1+2", "'=1+2" },
		{ "+1", "'+1" },
		{ "-5", "'-5" },
		{ "@SUM(A1)", "'@SUM(A1)" },
		{ "\tx", "\"'\tx\"" },
		{ "\rx", "\"'\rx\"" },
		{ "=HYPERLINK(\"http://x\",\"y\")",
		    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
		{ "a=1", "a=1" },
		{ " =1", " =1" },
	};
	size_t i;
	buf_t b;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&b, 256);
		assert_int_equal(audit_csv_cell(&b, cases[i].in), 0);
		if (strcmp(out_text(&b), cases[i].out) != 0)
			fail_msg("case %zu: got [%s], want [%s]", i, out_text(&b),
			    cases[i].out);
		buf_free(&b);
	}
	buf_init(&b, 2);
	assert_int_equal(audit_csv_cell(&b, "a,b"), ERR_LIMIT);
	buf_free(&b);
}

static void
test_show_csv(void **state)
{
	struct audit_record r = rec("", "=cmd|' /C calc'!A0", "console",
	    "login", "refused", "uid=0", "bad PIN, \"twice\"\nthen locked");
	buf_t b;

	(void)state;
	buf_init(&b, 65536);
	assert_int_equal(audit_show_header(AUDIT_FMT_CSV, &b), 0);
	assert_int_equal(audit_show_record(AUDIT_FMT_CSV, 0, &r, &b), 0);
	r.actor_name = "bad \xff byte";
	r.details = "-1";
	assert_int_equal(audit_show_record(AUDIT_FMT_CSV, 1, &r, &b), 0);
	assert_int_equal(audit_show_footer(AUDIT_FMT_CSV, 2, &b), 0);
	assert_string_equal(out_text(&b),
	    "seq,time,actor_sha256,actor_name,role,action,outcome,objects,"
	    "details,prev,hash\r\n"
	    "7,2026-03-01T10:00:00Z,,'=cmd|' /C calc'!A0,console,login,"
	    "refused,uid=0,\"bad PIN, \"\"twice\"\"\nthen locked\"," H1 ","
	    H2 "\r\n"
	    "7,2026-03-01T10:00:00Z,,bad \\xff byte,console,login,refused,"
	    "uid=0,'-1," H1 "," H2 "\r\n");
	buf_free(&b);
}

static void
test_show_json(void **state)
{
	struct audit_record r = rec(ALICE, "Zo\xc3\xab \"Q\" \\", "officer",
	    "approval", "ok", "batch=1 decision=approve",
	    "tab\there\x1b[31m\x7f \xe2\x80\xa8");
	buf_t b;

	(void)state;
	buf_init(&b, 65536);
	assert_int_equal(audit_show_header(AUDIT_FMT_JSON, &b), 0);
	assert_int_equal(audit_show_footer(AUDIT_FMT_JSON, 0, &b), 0);
	assert_string_equal(out_text(&b), "[\n]\n");
	buf_reset(&b);
	assert_int_equal(audit_show_header(AUDIT_FMT_JSON, &b), 0);
	assert_int_equal(audit_show_record(AUDIT_FMT_JSON, 0, &r, &b), 0);
	r.actor_sha256 = "";
	r.details = "bad \xc3";
	r.seq = 8;
	assert_int_equal(audit_show_record(AUDIT_FMT_JSON, 1, &r, &b), 0);
	assert_int_equal(audit_show_footer(AUDIT_FMT_JSON, 2, &b), 0);
	assert_string_equal(out_text(&b),
	    "[\n{\"seq\":7,\"time\":\"2026-03-01T10:00:00Z\",\"actor_sha256\":"
	    "\"" ALICE "\",\"actor_name\":\"Zo\xc3\xab \\\"Q\\\" \\\\\","
	    "\"role\":\"officer\",\"action\":\"approval\",\"outcome\":\"ok\","
	    "\"objects\":\"batch=1 decision=approve\",\"details\":\"tab\\there"
	    "\\u001b[31m\\u007f \\u2028\",\"prev\":\"" H1 "\",\"hash\":\"" H2
	    "\"},\n"
	    "{\"seq\":8,\"time\":\"2026-03-01T10:00:00Z\",\"actor_sha256\":null,"
	    "\"actor_name\":\"Zo\xc3\xab \\\"Q\\\" \\\\\",\"role\":\"officer\","
	    "\"action\":\"approval\",\"outcome\":\"ok\",\"objects\":\"batch=1 "
	    "decision=approve\",\"details\":\"bad \\\\xc3\",\"prev\":\"" H1
	    "\",\"hash\":\"" H2 "\"}\n]\n");
	/* And a JSON parser agrees. */
	if (testutil_have("python3")) {
		char dir[PATH_MAX], path[PATH_MAX + 16], cmd[2 * PATH_MAX + 256];
		FILE *f;

		assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "aquery"), 0);
		snprintf(path, sizeof(path), "%s/out.json", dir);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
		    "a = json.load(open(sys.argv[1], encoding=\"utf-8\")); "
		    "assert len(a) == 2 and a[1][\"actor_sha256\"] is None and "
		    "a[0][\"details\"].startswith(\"tab\\there\\x1b\")' '%s'",
		    path);
		assert_int_equal(system(cmd), 0);
		testutil_rmtree(dir);
	}
	buf_free(&b);
}

static void
test_show_text(void **state)
{
	struct audit_record r = rec(ALICE, "Eve\x1b[2J", "officer", "approval",
	    "ok", "batch=1", "line one\nline two \xe2\x80\xae");
	size_t i;
	buf_t b;

	(void)state;
	buf_init(&b, 65536);
	assert_int_equal(audit_show_header(AUDIT_FMT_TEXT, &b), 0);
	assert_int_equal(audit_show_record(AUDIT_FMT_TEXT, 0, &r, &b), 0);
	r.details = "";
	assert_int_equal(audit_show_record(AUDIT_FMT_TEXT, 1, &r, &b), 0);
	assert_int_equal(audit_show_footer(AUDIT_FMT_TEXT, 2, &b), 0);
	assert_contains(out_text(&b), "SEQ  TIME");
	assert_contains(out_text(&b), "      7  2026-03-01T10:00:00Z  ok       "
	    "officer     approval                Eve\\x1b[2J [3f2a9c01d2e4]");
	assert_contains(out_text(&b), "          details: line one\\x0aline two "
	    "\\xe2\\x80\\xae\n");
	assert_contains(out_text(&b), "(2 records)\n");
	/* No control byte but LF reaches the terminal. */
	for (i = 0; i < b.len; i++)
		assert_true(b.data[i] == '\n' || b.data[i] >= 0x20);
	buf_free(&b);
}

/* Feeds records to a new report of kind; returns its whole CSV. */
static const char *
report(enum audit_report_kind kind, const struct audit_record *rs, size_t n)
{
	struct audit_report *rep;
	size_t i;
	buf_t b;
	err_t e;
	const char *t;

	assert_int_equal(audit_report_new(kind, &rep, &e), 0);
	buf_init(&b, 65536);
	assert_int_equal(audit_report_header(rep, &b), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(audit_report_add(rep, &rs[i], &b), 0);
	assert_int_equal(audit_report_end(rep, &b), 0);
	t = out_text(&b);
	buf_free(&b);
	audit_report_free(rep);
	return t;
}

static void
test_report_approvals(void **state)
{
	const struct audit_record rs[] = {
		rec(ALICE, "Alice", "officer", "approval", "ok",
		    "batch=1 decision=approve", ""),
		rec(ALICE, "Alice", "officer", "approval", "ok",
		    "batch=2 decision=approve", ""),
		rec(ALICE, "Alice", "officer", "approval", "ok",
		    "batch=3 decision=reject", "wrong profile"),
		rec(ALICE, "Alice", "officer", "approval", "ok",
		    "revocation=3 decision=approve", ""),
		rec(BOB, "Bob, Jr.", "officer", "approval", "ok",
		    "crl-request=7 decision=approve", ""),
		rec(BOB, "Bob, Jr.", "officer", "approval", "ok",
		    "export=4 decision=reject", ""),
		rec(BOB, "Bob, Jr.", "officer", "approval", "ok",
		    "lockout=2 decision=approve", ""),
		/* Not counted: refused, no decision, another action. */
		rec(BOB, "Bob, Jr.", "officer", "approval", "refused",
		    "batch=1 decision=approve", "bad signature"),
		rec(BOB, "Bob, Jr.", "officer", "approval", "ok", "batch=1",
		    ""),
		rec(BOB, "Bob, Jr.", "officer", "batch-approved", "ok",
		    "batch=1 decision=approve", ""),
	};

	(void)state;
	assert_string_equal(report(AUDIT_REPORT_APPROVALS, rs,
	    sizeof(rs) / sizeof(rs[0])),
	    "officer,officer_sha256,kind,approvals,rejections\r\n"
	    "Alice," ALICE ",batch,2,1\r\n"
	    "Alice," ALICE ",revocation,1,0\r\n"
	    "\"Bob, Jr.\"," BOB ",crl,1,0\r\n"
	    "\"Bob, Jr.\"," BOB ",export,0,1\r\n"
	    "\"Bob, Jr.\"," BOB ",lockout-clear,1,0\r\n");
}

static void
test_report_issuance(void **state)
{
	const struct audit_record rs[] = {
		rec(ALICE, "Op One", "operator", "bundle-accepted", "ok",
		    "batch=1 profile=docsis-3.1 file=a.p7m", ""),
		rec(BOB, "=Op Two", "operator", "bundle-accepted", "ok",
		    "batch=2 profile=tls-device", ""),
		rec(BOB, "=Op Two", "operator", "bundle-accepted", "ok",
		    "batch=3 profile=tls-device", ""),
		/* The same batch again is not a second batch. */
		rec(ALICE, "Op One", "operator", "bundle-accepted", "ok",
		    "batch=01 profile=docsis-3.1", ""),
		rec("", "appliance", "appliance", "certificate-issued", "ok",
		    "batch=1 line=1 serial=01 ca=d profile=docsis-3.1", ""),
		rec("", "appliance", "appliance", "certificate-issued", "ok",
		    "batch=1 line=2 serial=02 ca=d profile=docsis-3.1", ""),
		rec("", "appliance", "appliance", "certificate-issued", "ok",
		    "batch=2 line=1 serial=03 ca=d profile=tls-device", ""),
		/* A failed issuance, and a batch whose bundle is not here. */
		rec("", "appliance", "appliance", "certificate-issued",
		    "failed", "batch=2 line=2 ca=d profile=tls-device", ""),
		rec("", "appliance", "appliance", "certificate-issued", "ok",
		    "batch=9 line=1 serial=04 ca=d profile=docsis-3.1", ""),
	};

	(void)state;
	assert_string_equal(report(AUDIT_REPORT_ISSUANCE, rs,
	    sizeof(rs) / sizeof(rs[0])),
	    "operator,operator_sha256,profile,batches,certificates\r\n"
	    ",,docsis-3.1,0,1\r\n"
	    "'=Op Two," BOB ",tls-device,2,1\r\n"
	    "Op One," ALICE ",docsis-3.1,1,2\r\n");
}

static void
test_report_rejections(void **state)
{
	const struct audit_record rs[] = {
		rec(ALICE, "Op One", "operator", "bundle-rejected", "refused",
		    "bundle=" H1 " file=my%20req.p7m",
		    "line 3: CSR key is RSA-1024, the profile requires "
		    "RSA-2048"),
		rec("", "", "unknown", "bundle-rejected", "refused",
		    "file=junk.bin", "@not a bundle"),
		rec(ALICE, "Op One", "operator", "bundle-accepted", "ok",
		    "batch=1", ""),
	};

	(void)state;
	assert_string_equal(report(AUDIT_REPORT_REJECTIONS, rs,
	    sizeof(rs) / sizeof(rs[0])),
	    "time,file,bundle_sha256,signer,signer_sha256,reason\r\n"
	    "2026-03-01T10:00:00Z,my req.p7m," H1 ",Op One," ALICE ","
	    "\"line 3: CSR key is RSA-1024, the profile requires "
	    "RSA-2048\"\r\n"
	    "2026-03-01T10:00:00Z,junk.bin,,,,'@not a bundle\r\n");
}

static void
test_report_crls(void **state)
{
	const struct audit_record rs[] = {
		rec("", "appliance", "appliance", "crl-issued", "ok",
		    "ca=device-ca crl=12", "entries 3"),
		rec("", "appliance", "appliance", "crl-issued", "failed",
		    "ca=root%20ca crl=2", "HSM error"),
		rec("", "appliance", "appliance", "crl-requested", "ok",
		    "ca=device-ca", ""),
	};

	(void)state;
	assert_string_equal(report(AUDIT_REPORT_CRLS, rs,
	    sizeof(rs) / sizeof(rs[0])),
	    "time,ca,number,outcome,details\r\n"
	    "2026-03-01T10:00:00Z,device-ca,12,ok,entries 3\r\n"
	    "2026-03-01T10:00:00Z,root ca,2,failed,HSM error\r\n");
}

/* Many records of few keys: one row each, whatever the count. */
static void
test_report_bounded(void **state)
{
	struct audit_record r = rec(ALICE, "Alice", "officer", "approval",
	    "ok", "batch=1 decision=approve", "");
	struct audit_report *rep;
	buf_t b;
	err_t e;
	int i;

	(void)state;
	assert_int_equal(audit_report_new(AUDIT_REPORT_APPROVALS, &rep, &e),
	    0);
	buf_init(&b, 4096);
	for (i = 0; i < 100000; i++) {
		assert_int_equal(audit_report_add(rep, &r, &b), 0);
		assert_int_equal(b.len, 0);
	}
	assert_int_equal(audit_report_end(rep, &b), 0);
	assert_string_equal(out_text(&b), "Alice," ALICE ",batch,100000,0\r\n");
	buf_free(&b);
	audit_report_free(rep);
	/* Many batches: the map grows, counts stay right. */
	assert_int_equal(audit_report_new(AUDIT_REPORT_ISSUANCE, &rep, &e), 0);
	buf_init(&b, 4096);
	for (i = 1; i <= 5000; i++) {
		char obj[64];

		snprintf(obj, sizeof(obj), "batch=%d profile=p%d", i, i % 2);
		r = rec(BOB, "Op", "operator", "bundle-accepted", "ok", obj,
		    "");
		assert_int_equal(audit_report_add(rep, &r, &b), 0);
		snprintf(obj, sizeof(obj), "batch=%d serial=01", i);
		r = rec("", "appliance", "appliance", "certificate-issued",
		    "ok", obj, "");
		assert_int_equal(audit_report_add(rep, &r, &b), 0);
	}
	assert_int_equal(audit_report_end(rep, &b), 0);
	assert_string_equal(out_text(&b), "Op," BOB ",p0,2500,2500\r\n"
	    "Op," BOB ",p1,2500,2500\r\n");
	buf_free(&b);
	audit_report_free(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_filter_time),
		cmocka_unit_test(test_fmt_parse),
		cmocka_unit_test(test_csv_cell),
		cmocka_unit_test(test_show_csv),
		cmocka_unit_test(test_show_json),
		cmocka_unit_test(test_show_text),
		cmocka_unit_test(test_report_approvals),
		cmocka_unit_test(test_report_issuance),
		cmocka_unit_test(test_report_rejections),
		cmocka_unit_test(test_report_crls),
		cmocka_unit_test(test_report_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
