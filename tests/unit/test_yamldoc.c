/* test_yamldoc.c: strict YAML parsing, limits and typed getters. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/yamldoc.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

static struct yamldoc *
parse_ok(const char *text)
{
	struct yamldoc *doc = NULL;
	err_t e;

	err_clear(&e);
	if (yamldoc_parse("t.yaml", text, strlen(text), NULL, &doc, &e) != 0)
		fail_msg("parse failed: %s", e.msg);
	return doc;
}

/* Parses text expecting code, and a message containing each of want. */
static void
parse_fail_lim(const char *text, size_t len, const struct yamldoc_limits *lim,
    int code, const char *want1, const char *want2)
{
	struct yamldoc *doc = (struct yamldoc *)1;
	err_t e;
	int r;

	err_clear(&e);
	r = yamldoc_parse("t.yaml", text, len, lim, &doc, &e);
	if (r != code)
		fail_msg("expected %s, got %s (%s) for:\n%s", err_code_name(code),
		    err_code_name(r), e.msg, text);
	if (code == 0) {
		yamldoc_free(doc);
		return;
	}
	assert_null(doc);
	assert_contains(e.msg, "t.yaml");
	if (want1 != NULL)
		assert_contains(e.msg, want1);
	if (want2 != NULL)
		assert_contains(e.msg, want2);
}

static void
parse_fail(const char *text, int code, const char *want1, const char *want2)
{
	parse_fail_lim(text, strlen(text), NULL, code, want1, want2);
}

/* The text of the only (or first) diag message. */
static const char *
msg0(diag_t *d)
{
	static char out[ERR_MSG_MAX];

	if (diag_count(d) == 0)
		fail_msg("no message was recorded");
	diag_format(d, 0, out, sizeof(out));
	return out;
}

static const char good[] =
    "# A ceremony script.\n"				/* 1 */
    "name: root-2026\n"					/* 2 */
    "intermediate:\n"					/* 3 */
    "  certificate:\n"					/* 4 */
    "    subject:\n"					/* 5 */
    "      - CN: Airlock Issuing CA\n"			/* 6 */
    "        O: Example\n"				/* 7 */
    "      - {C: NL}\n"					/* 8 */
    "    days: 3650\n"					/* 9 */
    "    ca: true\n"					/* 10 */
    "    not_after: 2036-01-01T00:00:00Z\n"		/* 11 */
    "  keys: [a, 'b', \"c\"]\n"				/* 12 */
    "empty:\n";						/* 13 */

static void
test_good_document(void **state)
{
	const struct yamldoc_node *im, *cert, *subj, *cn, *keys, *n;
	struct yamldoc *doc = parse_ok(good);
	const char *s;

	(void)state;
	assert_int_equal(doc->root->kind, YAMLDOC_MAP);
	assert_string_equal(doc->root->path, "");
	assert_int_equal(doc->root->n, 3);
	assert_string_equal(doc->root->pairs[0].key, "name");
	assert_int_equal(doc->root->pairs[0].key_line, 2);
	assert_string_equal(doc->root->pairs[0].value->scalar, "root-2026");
	assert_string_equal(doc->root->pairs[0].value->path, "name");

	im = doc->root->pairs[1].value;
	assert_int_equal(im->kind, YAMLDOC_MAP);
	assert_string_equal(im->path, "intermediate");
	assert_int_equal(im->line, 4);
	cert = im->pairs[0].value;
	assert_string_equal(cert->path, "intermediate.certificate");
	subj = cert->pairs[0].value;
	assert_int_equal(subj->kind, YAMLDOC_SEQ);
	assert_int_equal(subj->n, 2);
	assert_int_equal(subj->line, 6);
	assert_string_equal(subj->items[0]->path,
	    "intermediate.certificate.subject[0]");
	cn = subj->items[0]->pairs[0].value;
	assert_string_equal(cn->path, "intermediate.certificate.subject[0].CN");
	assert_string_equal(cn->scalar, "Airlock Issuing CA");
	assert_int_equal(cn->line, 6);
	assert_int_equal(cn->plain, 1);
	assert_string_equal(subj->items[1]->pairs[0].value->path,
	    "intermediate.certificate.subject[1].C");
	assert_int_equal(subj->items[1]->line, 8);

	keys = im->pairs[1].value;
	assert_int_equal(keys->kind, YAMLDOC_SEQ);
	assert_int_equal(keys->n, 3);
	assert_int_equal(keys->items[0]->plain, 1);
	assert_int_equal(keys->items[1]->plain, 0);
	assert_int_equal(keys->items[2]->plain, 0);
	assert_string_equal(keys->items[2]->path, "intermediate.keys[2]");
	assert_int_equal(keys->items[2]->line, 12);

	n = doc->root->pairs[2].value;
	assert_int_equal(n->kind, YAMLDOC_SCALAR);
	assert_string_equal(n->scalar, "");
	assert_int_equal(n->line, 13);

	/* Getters succeed on the right types. */
	{
		diag_t d;
		long long days;
		int ca;
		time_t t;

		diag_init(&d);
		yamldoc_set_diag(doc, &d);
		assert_int_equal(yamldoc_get_str(doc, doc->root, "name", 1, &s),
		    1);
		assert_string_equal(s, "root-2026");
		assert_int_equal(yamldoc_get_int(doc, cert, "days", 1, 1, 9999,
		    &days), 1);
		assert_int_equal(days, 3650);
		assert_int_equal(yamldoc_get_bool(doc, cert, "ca", 1, &ca), 1);
		assert_int_equal(ca, 1);
		assert_int_equal(yamldoc_get_time(doc, cert, "not_after", 1, &t),
		    1);
		assert_int_equal((long long)t, 2082758400LL);
		assert_int_equal(yamldoc_get_seq(doc, cert, "subject", 1, &n),
		    1);
		assert_int_equal(yamldoc_as_map(doc, n->items[0]), 1);
		assert_int_equal(yamldoc_as_str(doc, keys->items[1], &s), 1);
		assert_string_equal(s, "b");
		assert_int_equal(yamldoc_get_str(doc, cert, "absent", 0, &s), 0);
		assert_int_equal(yamldoc_check_unknown(doc, cert), 0);
		assert_int_equal(diag_count(&d), 0);
		diag_free(&d);
	}
	yamldoc_free(doc);
}

static void
test_scalar_root_and_crlf(void **state)
{
	struct yamldoc *doc;

	(void)state;
	doc = parse_ok("just text\n");
	assert_int_equal(doc->root->kind, YAMLDOC_SCALAR);
	assert_string_equal(doc->root->scalar, "just text");
	yamldoc_free(doc);
	doc = parse_ok("a: 1\r\nb: 2\r\n");
	assert_int_equal(doc->root->pairs[1].key_line, 2);
	yamldoc_free(doc);
	/* A UTF-8 byte order mark and non-ASCII text are fine. */
	doc = parse_ok("\xef\xbb\xbf" "cn: J\xc3\xbcrgen\n");
	assert_string_equal(doc->root->pairs[0].value->scalar, "J\xc3\xbcrgen");
	yamldoc_free(doc);
	yamldoc_free(NULL);
}

static void
test_rejections(void **state)
{
	(void)state;
	parse_fail("a: &x 1\nb: *x\n", ERR_INVALID, "t.yaml:1:", "anchor");
	parse_fail("a: 1\nb: *x\n", ERR_INVALID, "t.yaml:2:", NULL);
	parse_fail("a:\n  - 1\n  - &y [2]\n", ERR_INVALID, "t.yaml:3: a[1]:",
	    "anchor '&y'");
	parse_fail("a: !!str 1\n", ERR_INVALID, "t.yaml:1:", "tag");
	parse_fail("a: !custom {x: 1}\n", ERR_INVALID, "t.yaml:1:", "tag");
	parse_fail("a: ! 1\n", ERR_INVALID, "t.yaml:1:", "tag");
	parse_fail("x:\n  a: 1\n  b: 2\n  a: 3\n", ERR_INVALID,
	    "t.yaml:4: x: duplicate key 'a'", "first at line 2, again at "
	    "line 4");
	/* Quoting does not make a key different. */
	parse_fail("a: 1\n'a': 2\n", ERR_INVALID, "duplicate key 'a'", NULL);
	parse_fail("? [a, b]\n: 1\n", ERR_INVALID, "t.yaml:1:",
	    "keys must be strings, found a sequence as a key");
	parse_fail("? {a: b}\n: 1\n", ERR_INVALID, "t.yaml:1:",
	    "found a mapping");
	parse_fail("a: 1\n---\nb: 2\n", ERR_INVALID, "t.yaml:2:",
	    "second YAML document");
	parse_fail("", ERR_INVALID, "no YAML document", NULL);
	parse_fail("# only a comment\n", ERR_INVALID, "no YAML document",
	    NULL);
	parse_fail("a: \"x\\0y\"\n", ERR_INVALID, "t.yaml:1:", "NUL");
	parse_fail("a: 1\nb: [1, 2\nc: 3\n", ERR_INVALID, "t.yaml:", "YAML");
	parse_fail("a: 1\n  b: 2\n", ERR_INVALID, "t.yaml:2:", "invalid YAML");
	parse_fail("a: 'unterminated\n", ERR_INVALID, "t.yaml:", "quoted");
	parse_fail("a:\tb: c\n\t- x\n", ERR_INVALID, "t.yaml:", "invalid YAML");
}

static void
test_encoding(void **state)
{
	static const char nul[] = "a: 1\nb: x\0y\n";

	(void)state;
	parse_fail("a: 1\nb: \xff\n", ERR_INVALID, "t.yaml:2:", "UTF-8");
	parse_fail("a: 1\n\nb: \xc3\n", ERR_INVALID, "t.yaml:3:", "UTF-8");
	parse_fail("a: \xc3(\n", ERR_INVALID, "t.yaml:1:", "continuation");
	/* Overlong "/" and an encoded surrogate. */
	parse_fail("a: \xc0\xaf\n", ERR_INVALID, "t.yaml:1:", "UTF-8");
	parse_fail("a: \xed\xa0\x80\n", ERR_INVALID, "t.yaml:1:", "UTF-8");
	parse_fail("a: \xf4\x90\x80\x80\n", ERR_INVALID, "t.yaml:1:", "UTF-8");
	parse_fail("a: \xe2\x82", ERR_INVALID, "t.yaml:1:", "ends inside");
	parse_fail_lim(nul, sizeof(nul) - 1, NULL, ERR_INVALID, "t.yaml:2:",
	    "0x00");
	parse_fail("a: \x1b[31m\n", ERR_INVALID, "t.yaml:1:", "control");
	parse_fail("a: \xc2\x9b\n", ERR_INVALID, "t.yaml:1:", "U+009B");
}

static void
test_limits(void **state)
{
	struct yamldoc_limits lim = yamldoc_default_limits;
	struct yamldoc *doc = NULL;
	char *big;
	size_t i;
	err_t e;

	(void)state;
	lim.max_depth = 3;
	parse_fail_lim("a: {b: {c: 1}}\n", 15, &lim, 0, NULL, NULL);
	parse_fail_lim("a: {b: {c: [1]}}\n", 17, &lim, ERR_LIMIT,
	    "t.yaml:1: a.b.c:", "deeper than the limit of 3");

	lim = yamldoc_default_limits;
	lim.max_nodes = 5;
	parse_fail_lim("[1, 2, 3, 4, 5, 6]\n", 19, &lim, ERR_LIMIT,
	    "more than 5 nodes", NULL);

	lim = yamldoc_default_limits;
	lim.max_scalar = 4;
	parse_fail_lim("a: abcd\nb: abcde\n", 17, &lim, ERR_LIMIT,
	    "t.yaml:2:", "limit of 4 bytes");
	parse_fail_lim("abcde: 1\n", 9, &lim, ERR_LIMIT, "t.yaml:1:", NULL);

	lim = yamldoc_default_limits;
	lim.max_bytes = 8;
	parse_fail_lim("a: 12345\n", 9, &lim, ERR_LIMIT, "9 bytes",
	    "limit of 8 bytes");

	/* Deep flow nesting is stopped at the limit, without recursion. */
	big = malloc(200001);
	assert_non_null(big);
	for (i = 0; i < 100000; i++)
		big[i] = '[';
	for (; i < 200000; i++)
		big[i] = ']';
	big[i] = '\0';
	parse_fail_lim(big, 200000, NULL, ERR_LIMIT, "deeper than the limit",
	    NULL);

	/* Many keys in one mapping: duplicate detection stays fast. */
	{
		size_t off = 0, cap = 2000000;
		clock_t start = clock();

		free(big);
		big = malloc(cap);
		assert_non_null(big);
		for (i = 0; i < 90000; i++)
			off += (size_t)snprintf(big + off, cap - off,
			    "k%zu: 1\n", i);
		off += (size_t)snprintf(big + off, cap - off, "k17: 2\n");
		lim = yamldoc_default_limits;
		lim.max_bytes = cap;
		lim.max_nodes = 200000;
		err_clear(&e);
		assert_int_equal(yamldoc_parse("t.yaml", big, off, &lim, &doc,
		    &e), ERR_INVALID);
		assert_contains(e.msg, "duplicate key 'k17'");
		assert_contains(e.msg, "t.yaml:90001:");
		assert_true((clock() - start) / CLOCKS_PER_SEC < 10);
	}
	free(big);
}

static void
test_getter_messages(void **state)
{
	static const char text[] =
	    "ca:\n"					/* 1 */
	    "  name: [x]\n"				/* 2 */
	    "  days: 99999\n"				/* 3 */
	    "  quoted_days: \"10\"\n"			/* 4 */
	    "  hexy: 0x10\n"				/* 5 */
	    "  octal: 010\n"				/* 6 */
	    "  flag: yes\n"				/* 7 */
	    "  qflag: 'true'\n"				/* 8 */
	    "  when: 2026-02-30T00:00:00Z\n"		/* 9 */
	    "  kind: admin\n"				/* 10 */
	    "  sub: text\n"				/* 11 */
	    "  list: {a: 1}\n"				/* 12 */
	    "  nothing:\n"				/* 13 */
	    "  huge: 99999999999999999999999\n"		/* 14 */
	    "  neg: -5\n";				/* 15 */
	static const char *const kinds[] = { "root", "devices", "people",
	    NULL };
	const struct yamldoc_node *ca, *n;
	struct yamldoc *doc = parse_ok(text);
	const char *s;
	long long v;
	time_t t;
	diag_t d;
	int b, idx;

	(void)state;
	/* Without a diag, getters still refuse. */
	assert_int_equal(yamldoc_get_map(doc, doc->root, "ca", 1, &ca), 1);
	assert_int_equal(yamldoc_get_str(doc, ca, "name", 1, &s), ERR_INVALID);

	diag_init(&d);
	yamldoc_set_diag(doc, &d);

#define EXPECT(call, a, b2) do { \
	diag_free(&d); \
	assert_int_equal((call), ERR_INVALID); \
	assert_int_equal(diag_count(&d), 1); \
	assert_contains(msg0(&d), (a)); \
	assert_contains(msg0(&d), (b2)); \
} while (0)

	EXPECT(yamldoc_get_str(doc, ca, "name", 1, &s),
	    "t.yaml:2: ca.name: ", "expected a string, found a sequence");
	EXPECT(yamldoc_get_str(doc, ca, "missing", 1, &s),
	    "t.yaml:2: ca: ", "required key 'missing' is missing");
	EXPECT(yamldoc_get_str(doc, doc->root, "gone", 1, &s),
	    "t.yaml:1: ", "required key 'gone' is missing");
	EXPECT(yamldoc_get_str(doc, ca, "nothing", 1, &s),
	    "t.yaml:13: ca.nothing: ", "found an empty value");
	EXPECT(yamldoc_get_int(doc, ca, "days", 1, 1, 3650, &v),
	    "t.yaml:3: ca.days: ", "99999 is out of range; expected an "
	    "integer from 1 to 3650");
	EXPECT(yamldoc_get_int(doc, ca, "quoted_days", 1, 1, 3650, &v),
	    "t.yaml:4: ca.quoted_days: ", "found the quoted string '10'");
	EXPECT(yamldoc_get_int(doc, ca, "hexy", 1, 0, 100, &v),
	    "t.yaml:5: ca.hexy: ", "decimal integer");
	EXPECT(yamldoc_get_int(doc, ca, "octal", 1, 0, 100, &v),
	    "t.yaml:6: ca.octal: ", "without leading zeros");
	EXPECT(yamldoc_get_int(doc, ca, "huge", 1, 0, LLONG_MAX, &v),
	    "t.yaml:14: ca.huge: ", "out of range");
	EXPECT(yamldoc_get_int(doc, ca, "neg", 1, 0, 10, &v),
	    "t.yaml:15: ca.neg: ", "-5 is out of range");
	EXPECT(yamldoc_get_int(doc, ca, "list", 1, 0, 10, &v),
	    "t.yaml:12: ca.list: ", "found a mapping");
	EXPECT(yamldoc_get_bool(doc, ca, "flag", 1, &b),
	    "t.yaml:7: ca.flag: ", "expected true or false");
	EXPECT(yamldoc_get_bool(doc, ca, "qflag", 1, &b),
	    "t.yaml:8: ca.qflag: ", "quoted string 'true'");
	EXPECT(yamldoc_get_time(doc, ca, "when", 1, &t),
	    "t.yaml:9: ca.when: ", "day 30");
	EXPECT(yamldoc_get_time(doc, ca, "list", 1, &t),
	    "t.yaml:12: ca.list: ", "expected a time");
	EXPECT(yamldoc_get_enum(doc, ca, "kind", 1, kinds, &idx),
	    "t.yaml:10: ca.kind: ", "expected one of: root, devices, people; "
	    "found 'admin'");
	EXPECT(yamldoc_get_map(doc, ca, "sub", 1, &n),
	    "t.yaml:11: ca.sub: ", "expected a mapping, found 'text'");
	EXPECT(yamldoc_get_seq(doc, ca, "list", 1, &n),
	    "t.yaml:12: ca.list: ", "expected a sequence, found a mapping");
	EXPECT(yamldoc_get_node(doc, ca, "absent_node", 1, &n),
	    "t.yaml:2: ca: ", "'absent_node' is missing");
	EXPECT(yamldoc_as_map(doc, ca->pairs[0].value),
	    "t.yaml:2: ca.name: ", "expected a mapping");
	EXPECT(yamldoc_get_str(doc, ca->pairs[0].value, "x", 1, &s),
	    "t.yaml:2: ca.name: ", "expected a mapping");
#undef EXPECT

	/* Optional and absent: 0, no message, output untouched for ints. */
	diag_free(&d);
	v = 7;
	assert_int_equal(yamldoc_get_int(doc, ca, "optional", 0, 0, 1, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(yamldoc_get_int(doc, ca, "neg", 1, -10, 10, &v), 1);
	assert_int_equal(v, -5);
	assert_int_equal(diag_count(&d), 0);
	diag_free(&d);
	yamldoc_free(doc);
}

static void
test_unknown_keys(void **state)
{
	static const char text[] =
	    "name: x\n"
	    "subjet: y\n"
	    "extra: z\n"
	    "\"evil\\e[2J\": 1\n";
	struct yamldoc *doc = parse_ok(text);
	char out[ERR_MSG_MAX];
	const char *s;
	diag_t d;

	(void)state;
	diag_init(&d);
	yamldoc_set_diag(doc, &d);
	assert_int_equal(yamldoc_get_str(doc, doc->root, "name", 1, &s), 1);
	assert_int_equal(yamldoc_get_str(doc, doc->root, "subject", 0, &s), 0);
	assert_int_equal(yamldoc_check_unknown(doc, doc->root), 3);
	assert_int_equal(diag_count(&d), 3);
	diag_format(&d, 0, out, sizeof(out));
	assert_contains(out, "t.yaml:2: unknown key 'subjet' (did you mean "
	    "'subject'?)");
	diag_format(&d, 1, out, sizeof(out));
	assert_contains(out, "t.yaml:3: unknown key 'extra'");
	assert_null(strstr(out, "did you mean"));
	/* Control characters from the file never reach the message. */
	diag_format(&d, 2, out, sizeof(out));
	assert_contains(out, "t.yaml:4: unknown key 'evil\\x1b[2J'");
	assert_null(strchr(out, '\x1b'));
	diag_free(&d);
	yamldoc_free(doc);
}

static void
test_load(void **state)
{
	char path[] = "/tmp/airlock-yamldoc.XXXXXX";
	struct yamldoc *doc = NULL;
	err_t e;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a: [1\n", 6), 6);
	close(fd);
	assert_int_equal(yamldoc_load(path, NULL, &doc, &e), ERR_INVALID);
	assert_contains(e.msg, path);
	assert_null(doc);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a: 1\n", 5), 5);
	close(fd);
	assert_int_equal(yamldoc_load(path, NULL, &doc, &e), 0);
	assert_string_equal(doc->file, path);
	yamldoc_free(doc);
	{
		/* sha256sum of the exact bytes parsed, "a: 1\n". */
		static const unsigned char want[32] = {
			0x37, 0xb1, 0x28, 0xc5, 0x9f, 0x1f, 0x50, 0x97,
			0xf7, 0x3f, 0x82, 0x69, 0x1c, 0xb5, 0x19, 0xf1,
			0xf5, 0x68, 0x66, 0x7f, 0xaa, 0xb5, 0xce, 0xd1,
			0xb4, 0xab, 0x97, 0x9d, 0x36, 0x83, 0x7e, 0xae
		};
		unsigned char got[32];
		struct yamldoc_limits small = yamldoc_default_limits;

		assert_int_equal(yamldoc_load_hashed(path, NULL, got, &doc, &e),
		    0);
		assert_memory_equal(got, want, sizeof(want));
		yamldoc_free(doc);
		/* The size limit applies before anything is hashed or parsed. */
		small.max_bytes = 4;
		assert_int_equal(yamldoc_load_hashed(path, &small, got, &doc,
		    &e), ERR_LIMIT);
		assert_null(doc);
	}
	unlink(path);
	assert_int_equal(yamldoc_load(path, NULL, &doc, &e), ERR_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_document),
		cmocka_unit_test(test_scalar_root_and_crlf),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_getter_messages),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
