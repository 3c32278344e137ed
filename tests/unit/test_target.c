/*
 * test_target.c: revocation targets (ingest/target.c), one line and a
 * whole file, and the revocation manifest (ingest/manifest.c, kind
 * revocation): every field, every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ingest/manifest.h"
#include "ingest/target.h"
#include "testutil.h"

/* Parses one target; returns the list (caller frees). */
static void
one_ok(const char *text, struct target_list *l)
{
	err_t e;

	target_list_init(l);
	if (target_parse(text, strlen(text), "f", 3, l, &e) != 0)
		fail_msg("'%s': %s", text, e.msg);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].file, "f");
	assert_int_equal(l->v[0].line, 3);
}

static void
one_fails(const char *text, const char *want)
{
	struct target_list l;
	err_t e;

	target_list_init(&l);
	if (target_parse(text, strlen(text), NULL, 1, &l, &e) == 0)
		fail_msg("'%s' parsed", text);
	assert_int_equal(e.code, ERR_INVALID);
	assert_contains(e.msg, want);
	assert_int_equal(l.n, 0);
	target_list_free(&l);
}

static void
test_target_kinds(void **state)
{
	struct target_list l;

	(void)state;
	one_ok("  serial 00:0A:1b:FF  ", &l);
	assert_int_equal(l.v[0].kind, QUEUE_TARGET_SERIAL);
	assert_string_equal(l.v[0].value, "a1bff");
	assert_null(l.v[0].ca);
	assert_string_equal(l.v[0].text, "serial a1bff");
	target_list_free(&l);
	one_ok("serial\t3A7F01 ca   devices-ca", &l);
	assert_string_equal(l.v[0].value, "3a7f01");
	assert_string_equal(l.v[0].ca, "devices-ca");
	assert_string_equal(l.v[0].text, "serial 3a7f01 ca devices-ca");
	target_list_free(&l);
	one_ok("batch 12", &l);
	assert_int_equal(l.v[0].kind, QUEUE_TARGET_BATCH);
	assert_int_equal(l.v[0].batch, 12);
	assert_string_equal(l.v[0].text, "batch 12");
	target_list_free(&l);
	one_ok("mac 0011.22AA.bbcc", &l);
	assert_int_equal(l.v[0].kind, QUEUE_TARGET_MAC);
	assert_string_equal(l.v[0].value, "001122aabbcc");
	assert_string_equal(l.v[0].text, "mac 00:11:22:aa:bb:cc");
	target_list_free(&l);
	one_ok("subject CN=00:11:22:AA:BB:CC,O=Example, Inc.\r", &l);
	assert_int_equal(l.v[0].kind, QUEUE_TARGET_SUBJECT);
	assert_string_equal(l.v[0].value, "CN=00:11:22:AA:BB:CC,O=Example, "
	    "Inc.");
	target_list_free(&l);
}

static void
test_target_refusals(void **state)
{
	char big[TARGET_LINE_MAX + 32];

	(void)state;
	one_fails("", "the target is empty");
	one_fails("   ", "the target is empty");
	one_fails("Serial 0a", "'Serial' is not a target");
	one_fails("cert 0a", "a target is serial HEX [ca NAME], batch ID, "
	    "mac MAC or subject TEXT");
	one_fails("serial", "serial needs a value");
	one_fails("serial 0x1f", "hex digits");
	one_fails("serial 0a::1b", "hex digits");
	one_fails("serial :0a", "hex digits");
	one_fails("serial 00:00", "serial 0 is no certificate's serial");
	one_fails("serial 0102030405060708090a0b0c0d0e0f101112131415",
	    "longer than 20 octets");
	one_fails("serial 0a devices", "only 'ca NAME' may follow");
	one_fails("serial 0a ca", "only 'ca NAME' may follow");
	one_fails("batch 0", "no leading zero");
	one_fails("batch 12a", "named by its number");
	one_fails("batch 1234567890123456789", "1 to 18 digits");
	one_fails("mac 00:11:22", "MAC");
	one_fails("subject CN=a\x1b[2J", "control or invisible character");
	one_fails("subject \xc3\x28", "not UTF-8");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "subject ", 8);
	one_fails(big, "longer than");
}

static void
test_target_file(void **state)
{
	static const char good[] = "# revoked after the audit\n\n"
	    "serial 0a\r\n  mac 00-11-22-33-44-55\nbatch 3";
	static const char bad[] = "serial 0a\nserials 0b\n\nbatch x\n"
	    "mac 1\nsubject ok\n";
	struct target_list l;
	diag_t d;

	(void)state;
	target_list_init(&l);
	diag_init(&d);
	assert_int_equal(target_parse_file("t.txt", good, strlen(good), &l,
	    &d), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].line, 3);
	assert_int_equal(l.v[1].line, 4);
	assert_int_equal(l.v[2].line, 5);
	assert_string_equal(l.v[2].file, "t.txt");
	/* Every bad line at once; the good ones are kept. */
	assert_int_equal(target_parse_file("t.txt", bad, strlen(bad), &l, &d),
	    ERR_INVALID);
	assert_int_equal(diag_count(&d), 3);
	assert_contains(testutil_diag_text(&d), "t.txt:2: Line 2 - 'serials' is not a "
	    "target");
	assert_contains(testutil_diag_text(&d), "t.txt:4: Line 4 - a batch is named by its "
	    "number");
	assert_contains(testutil_diag_text(&d), "t.txt:5: Line 5 - ");
	assert_int_equal(l.n, 5);
	assert_int_equal(target_parse_file("t.txt", "x", TARGET_FILE_MAX + 1,
	    &l, &d), ERR_LIMIT);
	diag_free(&d);
	target_list_free(&l);
	/* An empty file is no error here: the bundle check says so. */
	target_list_init(&l);
	diag_init(&d);
	assert_int_equal(target_parse_file("t.txt", "\n# none\n", 8, &l, &d),
	    0);
	assert_int_equal(l.n, 0);
	diag_free(&d);
}

/* --- the manifest --------------------------------------------------------- */

#define RHEAD \
    "airlock_bundle: 1\n" \
    "kind: revocation\n" \
    "id: 7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f\n" \
    "created: 2026-11-22T10:00:00Z\n"

static const char good_rev[] = RHEAD
    "reason: keyCompromise\n"
    "message: \"Keys of line 2 leaked\"\n"
    "invalidity_date: 2026-11-20T00:00:00Z\n"
    "targets:\n"
    "  - serial 0A1B\n"
    "  - \"mac 00:11:22:33:44:55\"\n"
    "targets_file: lists/targets.txt\n";

static void
rev_fails(const char *from, const char *to, const char *want)
{
	const char *at = strstr(good_rev, from);
	char text[2048];
	struct manifest m;
	diag_t d;

	if (at == NULL)
		fail_msg("'%s' not in the manifest", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good_rev),
	    good_rev, to, at + strlen(from));
	diag_init(&d);
	if (manifest_parse("m.yaml", text, strlen(text), &m, &d) == 0)
		fail_msg("parsed, expected '%s':\n%s", want, text);
	assert_contains(testutil_diag_text(&d), want);
	assert_null(m.rev.message);	/* emptied on failure */
	assert_int_equal(m.rev.targets.n, 0);
	diag_free(&d);
}

static void
test_manifest_revocation(void **state)
{
	struct manifest m;
	diag_t d;

	(void)state;
	diag_init(&d);
	if (manifest_parse("m.yaml", good_rev, strlen(good_rev), &m, &d) != 0)
		fail_msg("%s", testutil_diag_text(&d));
	assert_int_equal(m.kind, MANIFEST_KIND_REVOCATION);
	assert_string_equal(manifest_kind_name(m.kind), "revocation");
	assert_string_equal(m.rev.reason, "keyCompromise");
	assert_string_equal(m.rev.message, "Keys of line 2 leaked");
	assert_true(m.rev.has_invalidity_date);
	assert_int_equal(m.rev.invalidity_date, 1795132800);
	assert_int_equal(m.rev.targets.n, 2);
	assert_string_equal(m.rev.targets.v[0].text, "serial a1b");
	assert_string_equal(m.rev.targets.v[0].file, "m.yaml");
	assert_int_equal(m.rev.targets.v[0].line, 9);
	assert_string_equal(m.rev.targets.v[1].value, "001122334455");
	assert_string_equal(m.rev.targets_file, "lists/targets.txt");
	assert_false(manifest_has_secret(&m));
	manifest_free(&m);
	diag_free(&d);
}

static void
test_manifest_revocation_refusals(void **state)
{
	(void)state;
	rev_fails("reason: keyCompromise", "reason: compromised",
	    "reason: expected one of: unspecified, keyCompromise");
	rev_fails("reason: keyCompromise\n", "", "required key 'reason' is "
	    "missing");
	rev_fails("message: \"Keys of line 2 leaked\"\n", "",
	    "required key 'message' is missing");
	rev_fails("\"Keys of line 2 leaked\"", "\"\"", "message must be 1 to "
	    "512 characters");
	rev_fails("\"Keys of line 2 leaked\"", "\"two\\nlines\"",
	    "message must not contain control characters");
	rev_fails("\"Keys of line 2 leaked\"", "\"a\\u202eb\"",
	    "message must not contain invisible");
	rev_fails("reason: keyCompromise", "reason: removeFromCRL",
	    "invalidity_date does not go with reason removeFromCRL");
	rev_fails("2026-11-20T00:00:00Z", "2026-11-23T00:00:00Z",
	    "invalidity_date is after created");
	rev_fails("2026-11-20T00:00:00Z", "yesterday", "invalidity_date");
	rev_fails("targets:\n  - serial 0A1B\n  - \"mac 00:11:22:33:44:55\"\n"
	    "targets_file: lists/targets.txt\n", "",
	    "a revocation names its targets: give targets, targets_file or "
	    "both");
	rev_fails("  - serial 0A1B\n  - \"mac 00:11:22:33:44:55\"\n", "",
	    "targets: expected a sequence");
	rev_fails("targets:\n  - serial 0A1B\n  - \"mac 00:11:22:33:44:55\"\n",
	    "targets: []\n", "targets, when given, lists 1 to 100000 targets");
	rev_fails("  - serial 0A1B\n", "  - serial 0G1B\n", "m.yaml:9: "
	    "targets[0]: Line 9 - a serial is written in hex digits");
	rev_fails("  - serial 0A1B\n", "  - {serial: 1}\n", "m.yaml:9:");
	rev_fails("lists/targets.txt", "../targets.txt", "targets_file must "
	    "be a path inside the archive");
	rev_fails("lists/targets.txt", "lists/", "targets_file must name a "
	    "file");
	rev_fails("reason: keyCompromise\n", "reason: keyCompromise\n"
	    "profile: docsis\n", "unknown key 'profile'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_kinds),
		cmocka_unit_test(test_target_refusals),
		cmocka_unit_test(test_target_file),
		cmocka_unit_test(test_manifest_revocation),
		cmocka_unit_test(test_manifest_revocation_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
