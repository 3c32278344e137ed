/* test_csv.c: strict CSV request lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/csv.h"
#include "testutil.h"
#include "util/err.h"

/* Asserts that d holds a message on line with field (NULL: none) and text. */
static void
expect_diag(const diag_t *d, unsigned long line, const char *field,
    const char *needle)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];

		if (it->line != line || strstr(it->msg, needle) == NULL)
			continue;
		if (field == NULL ? it->field != NULL :
		    (it->field == NULL || strcmp(it->field, field) != 0))
			continue;
		assert_string_equal(it->file, "batch.csv");
		return;
	}
	testutil_print_diag(d, "  diag");
	fail_msg("no message on line %lu field %s with '%s'", line,
	    field ? field : "(none)", needle);
}

static int
parse(const char *text, struct csv_batch *b, diag_t *d)
{
	diag_init(d);
	return csv_parse("batch.csv", text, strlen(text), b, d);
}

static void
test_good(void **state)
{
	static const char text[] =
	    "\xef\xbb\xbf" "MAC,Common_Name,country,organization,dns,"
	    "email,csr_file\r\n"
	    "00:11:22:33:44:55,modem-1,DE,\"Kabel, \"\"Nord\"\" GmbH\","
	    "a.example.com;*.b.example.com,ops@example.com,m1.csr\r\n"
	    "\r\n"
	    "0011.2233.4456,\"\",US,,,,\r\n"
	    "001122334457,\"Gr\xc3\xbc\xc3\x9f" "e\",,,,,\n"
	    ",cn-only,,,,,";
	struct csv_batch b;
	diag_t d;

	(void)state;
	if (parse(text, &b, &d) != 0) {
		testutil_print_diag(&d, "  diag");
		fail();
	}
	assert_int_equal(diag_count(&d), 0);
	assert_int_equal(b.nrows, 4);
	assert_true(b.present[CSV_COL_MAC]);
	assert_true(b.present[CSV_COL_CSR_FILE]);
	assert_false(b.present[CSV_COL_STATE]);
	assert_int_equal(b.rows[0].line, 2);
	assert_true(b.rows[0].has_mac);
	assert_int_equal(b.rows[0].mac[5], 0x55);
	assert_string_equal(csv_value(&b, &b.rows[0], CSV_COL_ORGANIZATION),
	    "Kabel, \"Nord\" GmbH");
	assert_string_equal(csv_value(&b, &b.rows[0], CSV_COL_DNS),
	    "a.example.com;*.b.example.com");
	assert_string_equal(csv_value(&b, &b.rows[0], CSV_COL_CSR_FILE),
	    "m1.csr");
	/* The empty line 3 is skipped; lines keep their numbers. */
	assert_int_equal(b.rows[1].line, 4);
	assert_string_equal(csv_value(&b, &b.rows[1], CSV_COL_COMMON_NAME), "");
	assert_string_equal(csv_value(&b, &b.rows[1], CSV_COL_STATE), "");
	assert_int_equal(b.rows[2].line, 5);
	assert_string_equal(csv_value(&b, &b.rows[2], CSV_COL_COMMON_NAME),
	    "Gr\xc3\xbc\xc3\x9f" "e");
	assert_int_equal(b.rows[3].line, 6);
	assert_false(b.rows[3].has_mac);
	assert_string_equal(csv_value(&b, &b.rows[3], CSV_COL_COMMON_NAME),
	    "cn-only");
	assert_string_equal(csv_col_name(CSV_COL_ORGANIZATIONAL_UNIT),
	    "organizational_unit");
	assert_null(csv_col_name(CSV_COL_COUNT));
	csv_batch_free(&b);
	diag_free(&d);
}

static void
test_header_errors(void **state)
{
	struct csv_batch b;
	diag_t d;

	(void)state;
	assert_int_equal(parse("mac,Mac,commonName,,x\x1b[2J,country\n"
	    "00:11:22:33:44:55,a,b,c,d,zz\n", &b, &d), ERR_INVALID);
	expect_diag(&d, 1, "mac", "Line 1 - Field 'mac' is given twice "
	    "(columns 1 and 2)");
	expect_diag(&d, 1, "commonName", "Line 1 - Unknown field "
	    "'commonName'; allowed fields: mac, common_name, country, state, "
	    "locality, organization, organizational_unit, email, dns, "
	    "csr_file");
	expect_diag(&d, 1, "column 4", "Line 1 - Column 4 of the header has "
	    "no name");
	/* Hostile text is escaped, never echoed raw. */
	expect_diag(&d, 1, "x\\x1b[2J", "Unknown field 'x\\x1b[2J': control "
	    "character \\x1b");
	/* Rows are still checked for the columns that are known. */
	expect_diag(&d, 2, "country", "Line 2 - Incorrect value of field "
	    "'country': a country is two capital letters");
	assert_int_equal(b.nrows, 0);
	assert_null(b.rows);
	diag_free(&d);

	assert_int_equal(parse("country,state\nDE,Berlin\n", &b, &d),
	    ERR_INVALID);
	expect_diag(&d, 1, NULL, "Line 1 - Required field 'mac' or "
	    "'common_name' is not specified in the header");
	diag_free(&d);

	assert_int_equal(parse("", &b, &d), ERR_INVALID);
	expect_diag(&d, 1, NULL, "The header row is missing");
	diag_free(&d);

	assert_int_equal(parse("mac\r\n\r\n", &b, &d), ERR_INVALID);
	expect_diag(&d, 3, NULL, "Line 3 - The file has a header but no "
	    "request rows");
	diag_free(&d);
}

/* Every kind of row error in one file, all reported in one run. */
static void
test_many_errors(void **state)
{
	static const char text[] =
	    "mac,common_name,country,email,dns,csr_file,organization\n"
	    /* 2 */ ",,DE,,,,\n"
	    /* 3 */ "00:11:22:33:44:55,a,DE,,,\n"
	    /* 4 */ "00:11:22:33:44:zz,b,de,x@,bad_name,a..b,O\n"
	    /* 5 */ "00:11:22:33:44:56,c,DE,a@b@c,a..b,dir/x.csr,\" O\"\n"
	    /* 6 */ "00-11-22-33-44-56,c,,,x-.example,.hidden,\n"
	    /* 7 */ "001122334458,"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,"
	    ",,a;;b,x\\y.csr,\n"
	    /* 8 */ "001122334459,d,DE,,,,\"O\"x\n"
	    /* 9 */ "00112233445a,e\"f,DE,,,,\n"
	    /* 10 */ "00112233445b,\"\xe2\x80\xae" "evil\",DE,,,,\n"
	    /* 11 */ "00112233445c,\"unterminated,DE,,,,\n";
	struct csv_batch b;
	diag_t d;

	(void)state;
	assert_int_equal(parse(text, &b, &d), ERR_INVALID);
	expect_diag(&d, 2, "mac", "Line 2 - Required field 'mac' or "
	    "'common_name' is not specified");
	expect_diag(&d, 3, NULL, "Line 3 - Incorrect values - Actual fields "
	    "quantity: 6, expected fields quantity: 7");
	expect_diag(&d, 4, "mac", "Line 4 - Incorrect value of field 'mac': "
	    "not a MAC address: character 16 ('z') is not a hex digit");
	expect_diag(&d, 4, "country", "Line 4 - Incorrect value of field "
	    "'country'");
	expect_diag(&d, 4, "email", "Line 4 - Incorrect value of field "
	    "'email'");
	expect_diag(&d, 4, "dns", "character '_' is not allowed in a host "
	    "name");
	expect_diag(&d, 4, "csr_file", "Line 4 - Incorrect value of field "
	    "'csr_file': a file name must not contain '..'");
	expect_diag(&d, 5, "email", "exactly one '@'");
	expect_diag(&d, 5, "dns", "'a..b' is not a host name");
	expect_diag(&d, 5, "csr_file", "must not contain '/'");
	expect_diag(&d, 5, "organization", "leading or trailing space");
	/* The same MAC in another shape, and the same CN: both lines named. */
	expect_diag(&d, 6, "mac", "Line 6 - Duplicate value of field 'mac': "
	    "00:11:22:33:44:56 is already on line 5");
	expect_diag(&d, 6, "common_name", "Line 6 - Duplicate value of field "
	    "'common_name': 'c' is already on line 5");
	expect_diag(&d, 6, "dns", "'x-.example' is not a host name");
	expect_diag(&d, 6, "csr_file", "must not start with '.'");
	expect_diag(&d, 7, "common_name", "Line 7 - Incorrect value of field "
	    "'common_name': 65 characters long; at most 64 are allowed");
	expect_diag(&d, 7, "dns", "name 2 of the list is empty");
	expect_diag(&d, 7, "csr_file", "must not contain '/' or '\\'");
	expect_diag(&d, 8, "organization", "Line 8 - Incorrect value of field "
	    "'organization': text after the closing quote");
	expect_diag(&d, 9, "common_name", "Line 9 - Incorrect value of field "
	    "'common_name': a quote inside an unquoted value");
	expect_diag(&d, 10, "common_name", "invisible formatting character "
	    "U+202E at character 1");
	expect_diag(&d, 11, "common_name", "Line 11 - Incorrect value of "
	    "field 'common_name': the quoted value is not closed");
	assert_int_equal(diag_count(&d), 22);
	assert_int_equal(b.nrows, 0);
	diag_free(&d);
}

static void
test_lines_in_quotes(void **state)
{
	struct csv_batch b;
	diag_t d;

	(void)state;
	/* A quoted line break is a control character in a value... */
	assert_int_equal(parse("common_name,organization\n"
	    "a,\"two\nlines\"\nb,c\nb,d\n", &b, &d), ERR_INVALID);
	expect_diag(&d, 2, "organization", "control character \\x0a at "
	    "character 4");
	/* ...and the line count stays right after it. */
	expect_diag(&d, 5, "common_name", "Line 5 - Duplicate value of field "
	    "'common_name': 'b' is already on line 4");
	assert_int_equal(diag_count(&d), 2);
	diag_free(&d);
}

static void
test_nul_and_utf8(void **state)
{
	static const char text[] = "common_name,state\n"
	    "a\0b,x\n"
	    "c,\xff\xfe\n"
	    "d,\xc0\xaf\n"
	    "e,\xed\xa0\x80\n"
	    "f\x7f,g\n";
	struct csv_batch b;
	diag_t d;

	(void)state;
	diag_init(&d);
	assert_int_equal(csv_parse("batch.csv", text, sizeof(text) - 1, &b,
	    &d), ERR_INVALID);
	expect_diag(&d, 2, "common_name", "NUL byte at character 2");
	expect_diag(&d, 3, "state", "invalid UTF-8 (byte 0xff at character "
	    "1)");
	expect_diag(&d, 4, "state", "invalid UTF-8 (byte 0xc0");
	expect_diag(&d, 5, "state", "invalid UTF-8 (byte 0xed");
	expect_diag(&d, 6, "common_name", "control character \\x7f");
	assert_int_equal(diag_count(&d), 5);
	diag_free(&d);

	/* A BOM anywhere but the start is refused like other invisibles. */
	assert_int_equal(parse("common_name\n\xef\xbb\xbfx\n", &b, &d),
	    ERR_INVALID);
	expect_diag(&d, 2, "common_name", "U+FEFF");
	diag_free(&d);
}

static void
test_long_line_and_fields(void **state)
{
	struct csv_batch b;
	char *text;
	diag_t d;
	size_t o, i;

	(void)state;
	text = malloc(3 * CSV_LINE_MAX);
	assert_non_null(text);
	o = (size_t)sprintf(text, "common_name,state\n");
	o += (size_t)sprintf(text + o, "a,");
	memset(text + o, 'x', CSV_LINE_MAX);
	o += CSV_LINE_MAX;
	o += (size_t)sprintf(text + o, "\nb,\"%s\"\n", "short");
	/* A line of exactly the limit is fine apart from its value's length. */
	o += (size_t)sprintf(text + o, "c,");
	memset(text + o, 'y', CSV_LINE_MAX - 2);
	o += CSV_LINE_MAX - 2;
	text[o++] = '\n';
	text[o] = '\0';
	assert_int_equal(parse(text, &b, &d), ERR_INVALID);
	expect_diag(&d, 2, NULL, "Line 2 - The line is longer than 8192 "
	    "bytes");
	expect_diag(&d, 4, "state", "8190 characters long; at most 128");
	assert_int_equal(diag_count(&d), 2);
	diag_free(&d);

	/* Separators alone make a line too long as well. */
	o = (size_t)sprintf(text, "common_name\n");
	memset(text + o, ',', CSV_LINE_MAX + 1);
	o += CSV_LINE_MAX + 1;
	sprintf(text + o, "\nx\n");
	assert_int_equal(parse(text, &b, &d), ERR_INVALID);
	expect_diag(&d, 2, NULL, "Line 2 - The line is longer than 8192 "
	    "bytes");
	assert_int_equal(diag_count(&d), 1);
	diag_free(&d);

	/* 33 fields in the header; 40 in a row. */
	o = 0;
	for (i = 0; i < 33; i++)
		o += (size_t)sprintf(text + o, "%sc%zu", i ? "," : "", i);
	o += (size_t)sprintf(text + o, "\n");
	assert_int_equal(parse(text, &b, &d), ERR_INVALID);
	expect_diag(&d, 1, NULL, "Line 1 - Incorrect values - Actual fields "
	    "quantity: 33, allowed fields quantity: at most 32");
	diag_free(&d);
	o = (size_t)sprintf(text, "mac,common_name\n");
	for (i = 0; i < 40; i++)
		o += (size_t)sprintf(text + o, "%sv", i ? "," : "");
	sprintf(text + o, "\n");
	assert_int_equal(parse(text, &b, &d), ERR_INVALID);
	expect_diag(&d, 2, NULL, "Line 2 - Incorrect values - Actual fields "
	    "quantity: 40, expected fields quantity: 2");
	diag_free(&d);
	free(text);
}

/* Writes n rows of unique MACs after a header; returns the length. */
static size_t
make_rows(char *text, size_t n)
{
	size_t o = (size_t)sprintf(text, "mac\n"), i;

	for (i = 0; i < n; i++)
		o += (size_t)sprintf(text + o, "02%010zx\n", i);
	return o;
}

static void
test_row_limit(void **state)
{
	size_t n = CSV_MAX_RECORDS, len;
	struct csv_batch b;
	char *text;
	diag_t d;

	(void)state;
	text = malloc(14 * (n + 1) + 16);
	assert_non_null(text);
	/* Exactly 500,000 requests pass. */
	len = make_rows(text, n - 1);
	diag_init(&d);
	assert_int_equal(csv_parse("batch.csv", text, len, &b, &d), 0);
	assert_int_equal(b.nrows, n - 1);
	assert_int_equal(b.rows[n - 2].line, n);
	csv_batch_free(&b);
	diag_free(&d);
	/* One more is refused with a limit error naming its line. */
	len = make_rows(text, n);
	diag_init(&d);
	assert_int_equal(csv_parse("batch.csv", text, len, &b, &d), ERR_LIMIT);
	expect_diag(&d, n + 1, NULL, "Line 500002 - More than 500000 "
	    "requests");
	assert_int_equal(b.nrows, 0);
	diag_free(&d);
	free(text);
	/* Size is checked before anything is read. */
	diag_init(&d);
	assert_int_equal(csv_parse("batch.csv", "", (size_t)CSV_MAX_BYTES + 1,
	    &b, &d), ERR_LIMIT);
	expect_diag(&d, 0, NULL, "more than the limit");
	diag_free(&d);
}

static void
test_many_duplicates_capped(void **state)
{
	char *text;
	size_t o, i;
	struct csv_batch b;
	diag_t d;

	(void)state;
	/* 2,000 copies of one MAC: every repeat counted, the list bounded. */
	text = malloc(20 * 2001 + 16);
	assert_non_null(text);
	o = (size_t)sprintf(text, "mac\n");
	for (i = 0; i < 2000; i++)
		o += (size_t)sprintf(text + o, "02:00:00:00:00:01\n");
	diag_init(&d);
	assert_int_equal(csv_parse("batch.csv", text, o, &b, &d), ERR_INVALID);
	assert_int_equal(diag_count(&d), 1999);
	assert_int_equal(d.n, DIAG_MAX_ITEMS);
	expect_diag(&d, 3, "mac", "is already on line 2");
	diag_free(&d);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_lines_in_quotes),
		cmocka_unit_test(test_nul_and_utf8),
		cmocka_unit_test(test_long_line_and_fields),
		cmocka_unit_test(test_row_limit),
		cmocka_unit_test(test_many_duplicates_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
