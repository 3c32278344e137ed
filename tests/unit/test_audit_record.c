/* test_audit_record.c: the audit log's text form (audit/record.h). */
#include "testutil.h"

#include <openssl/evp.h>

#include "audit/record.h"

/* A HASH that is well-formed; parse does not check it against fields. */
#define SOME_HASH \
	"5d0c1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5"
#define SOME_SHA \
	"3f2a9c01d2e4b5a6978877665544332211000ffeeddccbbaa99887766554433a"

/* SHA-256 of s followed by LF, in hex, straight from EVP. */
static void
sha256_lf(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int n;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, s, strlen(s)), 1);
	assert_int_equal(EVP_DigestUpdate(c, "\n", 1), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, md, &n), 1);
	EVP_MD_CTX_free(c);
	buf_hex(md, 32, out, 65);
}

static void
rec_init(struct audit_record *r)
{
	memset(r, 0, sizeof(*r));
	r->seq = 1;
	r->time = 1767225600;	/* 2026-01-01T00:00:00Z */
	r->actor_sha256 = "";
	r->actor_name = "appliance";
	r->role = "appliance";
	r->action = "daemon-start";
	r->outcome = "ok";
	r->objects = "";
	r->details = "";
	memcpy(r->prev, audit_genesis, sizeof(r->prev));
}

/* Seals r and renders its line (with LF) into a fresh buffer. */
static void
rec_line(struct audit_record *r, buf_t *out)
{
	err_t e;

	buf_init(out, AUDIT_LINE_MAX);
	if (audit_record_seal(r, &e) != 0)
		fail_msg("seal: %s", e.msg);
	if (audit_record_line(r, out, &e) != 0)
		fail_msg("line: %s", e.msg);
	assert_true(out->len > 0 && out->data[out->len - 1] == '\n');
}

/* Escapes s[0..len) and returns the text (static storage). */
static const char *
esc(const char *s, size_t len)
{
	static char text[512];
	buf_t b;

	buf_init(&b, sizeof(text) - 1);
	assert_int_equal(audit_escape(s, len, &b), 0);
	memcpy(text, b.data != NULL ? (char *)b.data : "", b.len);
	text[b.len] = '\0';
	buf_free(&b);
	return text;
}

static void
test_escape_rules(void **state)
{
	(void)state;
	assert_string_equal(esc("plain text", 10), "plain text");
	assert_string_equal(esc("a\\b", 3), "a\\\\b");
	assert_string_equal(esc("a\tb\nc\rd", 7), "a\\tb\\nc\\rd");
	assert_string_equal(esc("\x01\x1b\x7f", 3), "\\x01\\x1b\\x7f");
	assert_string_equal(esc("\0x", 2), "\\x00x");
	/* Valid UTF-8 is kept, C1 and bidi controls included. */
	assert_string_equal(esc("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91",
	    13), "Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91");
	assert_string_equal(esc("\xe2\x80\xae", 3), "\xe2\x80\xae");
	/* Every byte of invalid UTF-8 is escaped on its own. */
	assert_string_equal(esc("\xff", 1), "\\xff");
	assert_string_equal(esc("\x80", 1), "\\x80");
	assert_string_equal(esc("\xe2\x82", 2), "\\xe2\\x82");
	assert_string_equal(esc("\xc0\xaf", 2), "\\xc0\\xaf");
	assert_string_equal(esc("\xed\xa0\x80", 3), "\\xed\\xa0\\x80");
	assert_string_equal(esc("\xc3\xc3\xa9", 3), "\\xc3\xc3\xa9");
}

static void
test_escape_cap(void **state)
{
	buf_t b;

	(void)state;
	buf_init(&b, 3);
	assert_int_equal(audit_escape("\x01", 1, &b), ERR_LIMIT);
	buf_free(&b);
}

/* Each text goes through seal, line and parse and comes back the same. */
static void
test_escape_round_trip(void **state)
{
	static const char *const texts[] = {
		"", "plain", "back\\slash", "tab\there", "lines\nand\r\nmore",
		"\x01\x02\x1b[31mred\x7f", "Zo\xc3\xab \xe2\x82\xac",
		"\xff\xfe", "\xc3\xc3\xa9", "\xe2\x82", "\xc3", "a\xe2\x82\xac\xac",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\\x41 \\t literal",
		"% and %25 and %20",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct audit_record r, back;
		struct audit_checkpoint cp;
		enum audit_line_kind kind;
		buf_t line, again;
		char *copy;
		size_t k;
		err_t e;

		rec_init(&r);
		r.actor_name = texts[i];
		r.objects = texts[i];
		r.details = texts[i];
		rec_line(&r, &line);
		copy = malloc(line.len);
		assert_non_null(copy);
		memcpy(copy, line.data, line.len);
		/* No TAB, LF or control byte but the separators and the LF. */
		for (k = 0; k < line.len - 1; k++)
			assert_true(copy[k] == '\t' ||
			    (unsigned char)copy[k] >= 0x20);
		if (audit_line_parse(copy, line.len - 1, &kind, &back, &cp,
		    &e) != 0)
			fail_msg("text %zu: %s", i, e.msg);
		assert_int_equal(kind, AUDIT_LINE_RECORD);
		assert_string_equal(back.actor_name, texts[i]);
		assert_string_equal(back.objects, texts[i]);
		assert_string_equal(back.details, texts[i]);
		assert_string_equal(back.hash, r.hash);
		/* One text form: the parsed record renders the same line. */
		rec_line(&back, &again);
		assert_int_equal(again.len, line.len);
		assert_memory_equal(again.data, line.data, line.len);
		buf_free(&again);
		buf_free(&line);
		free(copy);
	}
}

/* HASH is SHA-256 over fields 1 to 11 and LF, computed here by hand. */
static void
test_hash_independent(void **state)
{
	struct audit_record r;
	char want[65], got[65], fields[1024];
	buf_t line;
	err_t e;

	(void)state;
	rec_init(&r);
	r.seq = 42;
	r.actor_sha256 = SOME_SHA;
	r.actor_name = "Alice\tOfficer";
	r.role = "officer";
	r.action = "approval";
	r.objects = "batch=12 decision=approve";
	r.details = "ok\\";
	memcpy(r.prev, SOME_HASH, 65);
	rec_line(&r, &line);
	snprintf(fields, sizeof(fields), "R\t42\t2026-01-01T00:00:00Z\t%s\t"
	    "Alice\\tOfficer\tofficer\tapproval\tok\tbatch=12 "
	    "decision=approve\tok\\\\\t%s", SOME_SHA, SOME_HASH);
	sha256_lf(fields, want);
	assert_string_equal(r.hash, want);
	assert_int_equal(line.len, strlen(fields) + 1 + 64 + 1);
	assert_memory_equal(line.data, fields, strlen(fields));
	assert_memory_equal(line.data + strlen(fields) + 1, want, 64);
	assert_int_equal(audit_line_hash((const char *)line.data, line.len - 1,
	    got, &e), 0);
	assert_string_equal(got, want);
	/* And with the stock tools, as docs/formats/audit.md shows. */
	if (testutil_have("sha256sum") && testutil_have("cut")) {
		char dir[PATH_MAX], path[PATH_MAX + 16], cmd[2 * PATH_MAX];
		FILE *f;

		assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "arec"), 0);
		snprintf(path, sizeof(path), "%s/log", dir);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(line.data, 1, line.len, f), line.len);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "cut -f1-11 '%s' | sha256sum", path);
		f = popen(cmd, "r");
		assert_non_null(f);
		assert_non_null(fgets(got, sizeof(got), f));
		pclose(f);
		assert_string_equal(got, want);
		testutil_rmtree(dir);
	}
	assert_int_equal(audit_line_hash("R\t1\tx", 5, got, &e), ERR_INVALID);
	buf_free(&line);
}

static void
test_seal_refuses(void **state)
{
	struct audit_record r;
	char longname[AUDIT_NAME_MAX + 2];
	err_t e;

	(void)state;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
#define REFUSE(stmt, text) do { \
	rec_init(&r); \
	stmt; \
	assert_int_equal(audit_record_seal(&r, &e), ERR_INVALID); \
	assert_contains(e.msg, text); \
} while (0)
	REFUSE(r.seq = 0, "SEQ");
	REFUSE(r.time = -1000000000, "time");
	REFUSE(r.actor_sha256 = "ABC", "ACTOR-SHA256");
	REFUSE(r.actor_name = longname, "ACTOR-NAME");
	REFUSE(r.role = "Officer", "ROLE");
	REFUSE(r.role = NULL, "ROLE");
	REFUSE(r.action = "bundle accepted", "ACTION");
	REFUSE(r.outcome = "success", "OUTCOME");
	REFUSE(r.prev[0] = 'G', "PREV");
#undef REFUSE
	/* The same code without an err_t to fill. */
	rec_init(&r);
	r.actor_name = longname;
	assert_int_equal(audit_record_seal(&r, NULL), ERR_INVALID);
	rec_init(&r);
	r.hash[0] = '\0';
	assert_int_equal(audit_record_line(&r, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "not sealed");
}

/* The longest record the limits allow still fits in one line. */
static void
test_worst_case_fits(void **state)
{
	static char name[AUDIT_NAME_MAX + 1], obj[AUDIT_OBJECTS_MAX + 1],
	    det[AUDIT_DETAILS_MAX + 1];
	struct audit_record r, back;
	struct audit_checkpoint cp;
	enum audit_line_kind kind;
	char word[AUDIT_WORD_MAX + 1];
	buf_t line;
	err_t e;

	(void)state;
	memset(name, 0x01, AUDIT_NAME_MAX);
	memset(obj, 0x02, AUDIT_OBJECTS_MAX);
	memset(det, 0x03, AUDIT_DETAILS_MAX);
	memset(word, 'w', AUDIT_WORD_MAX);
	word[AUDIT_WORD_MAX] = '\0';
	rec_init(&r);
	r.seq = INT64_MAX;
	r.time = 253402300799;	/* 9999-12-31T23:59:59Z */
	r.actor_sha256 = SOME_SHA;
	r.actor_name = name;
	r.objects = obj;
	r.details = det;
	r.role = word;
	r.action = word;
	r.outcome = "refused";
	rec_line(&r, &line);
	assert_true(line.len <= AUDIT_LINE_MAX);
	if (audit_line_parse((char *)line.data, line.len - 1, &kind, &back,
	    &cp, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(back.seq, INT64_MAX);
	assert_int_equal(strlen(back.details), AUDIT_DETAILS_MAX);
	buf_free(&line);
}

/* A record line of the given fields (NULL ends them), joined by TAB. */
static size_t
join(char *out, size_t outsz, const char *const *f)
{
	size_t n = 0, i;

	out[0] = '\0';
	for (i = 0; f[i] != NULL; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%s%s", i ? "\t" : "",
		    f[i]);
	return n;
}

static void
test_parse_good(void **state)
{
	const char *f[] = { "R", "7", "2026-03-01T10:00:00Z", SOME_SHA,
	    "Zo\xc3\xab\\tM\\\\", "officer", "approval", "refused",
	    "batch=12", "bad \\xff statement", audit_genesis, SOME_HASH,
	    NULL };
	struct audit_record r;
	struct audit_checkpoint cp;
	enum audit_line_kind kind;
	char line[1024];
	size_t n;
	err_t e;

	(void)state;
	n = join(line, sizeof(line), f);
	if (audit_line_parse(line, n, &kind, &r, &cp, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(kind, AUDIT_LINE_RECORD);
	assert_int_equal(r.seq, 7);
	assert_int_equal((long long)r.time, 1772359200LL);
	assert_string_equal(r.actor_sha256, SOME_SHA);
	assert_string_equal(r.actor_name, "Zo\xc3\xab\tM\\");
	assert_string_equal(r.role, "officer");
	assert_string_equal(r.action, "approval");
	assert_string_equal(r.outcome, "refused");
	assert_string_equal(r.objects, "batch=12");
	assert_string_equal(r.details, "bad \xff statement");
	assert_string_equal(r.prev, audit_genesis);
	assert_string_equal(r.hash, SOME_HASH);
	/* "-" is no certificate; empty text fields are empty. */
	f[3] = "-";
	f[4] = "";
	f[8] = "";
	f[9] = "";
	n = join(line, sizeof(line), f);
	assert_int_equal(audit_line_parse(line, n, &kind, &r, &cp, &e), 0);
	assert_string_equal(r.actor_sha256, "");
	assert_string_equal(r.actor_name, "");
	assert_string_equal(r.details, "");
}

static void
test_parse_rejects_record(void **state)
{
	static const struct {
		int field;	/* 1-based; 0: the line itself */
		const char *value, *msg;
	} bad[] = {
		{ 1, "X", "record (R) or a checkpoint (C)" },
		{ 1, "r", "record (R) or a checkpoint (C)" },
		{ 1, "RR", "record (R) or a checkpoint (C)" },
		{ 2, "", "SEQ is empty" },
		{ 2, "0", "not 1 or more" },
		{ 2, "01", "leading zero" },
		{ 2, "1a", "not a decimal" },
		{ 2, "-1", "not a decimal" },
		{ 2, "+1", "not a decimal" },
		{ 2, " 1", "not a decimal" },
		{ 2, "9223372036854775808", "too large" },
		{ 2, "12345678901234567890", "too large" },
		{ 3, "2026-01-01T00:00:00", "TIME" },
		{ 3, "2026-01-01 00:00:00Z", "'T'" },
		{ 3, "2026-01-01T00:00:00z", "'Z'" },
		{ 3, "2026-13-01T00:00:00Z", "month 13" },
		{ 3, "2026-01-01T00:00:00+00:00", "TIME" },
		{ 4, "ABCDEF", "neither '-' nor" },
		{ 4, "3F2A9C01D2E4B5A6978877665544332211000FFEEDDCCBBAA998877665"
		    "54433A", "neither '-' nor" },
		{ 4, "", "neither '-' nor" },
		{ 5, "a\\qb", "'\\q' is not an escape" },
		{ 5, "a\\x4", "two lower-case hex digits" },
		{ 5, "a\\x4g", "two lower-case hex digits" },
		{ 5, "a\\xZZ", "two lower-case hex digits" },
		{ 5, "a\\x1B", "two lower-case hex digits" },
		{ 5, "a\\X1b", "not an escape" },
		{ 5, "a\\", "backslash ends" },
		{ 5, "a\\x09", "must be written \\t" },
		{ 5, "a\\x0a", "must be written \\n" },
		{ 5, "a\\x0d", "must be written \\r" },
		{ 5, "a\\x5c", "must be written \\\\" },
		{ 5, "a\\x41", "printable 'A'" },
		{ 5, "a\\x20", "printable ' '" },
		{ 5, "a\\x00", "NUL" },
		{ 5, "\\xc3\\xa9", "valid UTF-8" },
		{ 5, "\\xe2\\x82\\xac", "valid UTF-8" },
		{ 5, "a\x01" "b", "control character 0x01" },
		{ 5, "a\x7f", "control character 0x7f" },
		{ 5, "a\x1b[31m", "control character 0x1b" },
		{ 5, "a\xff", "not valid UTF-8" },
		{ 5, "a\xc3", "not valid UTF-8" },
		{ 5, "a\xc0\xaf", "not valid UTF-8" },
		{ 5, "a\xed\xa0\x80", "not valid UTF-8" },
		{ 6, "Officer", "ROLE" },
		{ 6, "", "ROLE" },
		{ 6, "off icer", "ROLE" },
		{ 6, "officer!", "ROLE" },
		{ 6, "o_fficer", "ROLE" },
		{ 6, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ROLE" },
		{ 7, "Approval", "ACTION" },
		{ 7, "", "ACTION" },
		{ 7, "appr\xc3\xa9val", "ACTION" },
		{ 8, "OK", "OUTCOME" },
		{ 8, "success", "OUTCOME" },
		{ 8, "", "OUTCOME" },
		{ 9, "batch=1\\x0", "two lower-case hex digits" },
		{ 10, "why\\q", "not an escape" },
		{ 11, "0000", "PREV has 4 characters" },
		{ 11, "0000000000000000000000000000000000000000000000000000000000"
		    "00000A", "lower-case hex" },
		{ 12, SOME_HASH "0", "HASH has 65" },
		{ 12, "", "HASH has 0" },
		{ 12, "gd0c1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"
		    "d4e5", "lower-case hex" },
	};
	const char *base[] = { "R", "1", "2026-01-01T00:00:00Z", "-",
	    "appliance", "appliance", "daemon-start", "ok", "", "",
	    audit_genesis, SOME_HASH, NULL };
	struct audit_record r;
	struct audit_checkpoint cp;
	enum audit_line_kind kind;
	char line[8192];
	size_t i, n;
	err_t e;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *f[13];

		memcpy(f, base, sizeof(base));
		f[bad[i].field - 1] = bad[i].value;
		n = join(line, sizeof(line), f);
		err_clear(&e);
		if (audit_line_parse(line, n, &kind, &r, &cp, &e) !=
		    ERR_INVALID)
			fail_msg("case %zu (%s) was accepted", i, bad[i].value);
		if (strstr(e.msg, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" does not contain \"%s\"", i,
			    e.msg, bad[i].msg);
	}
	/* The field count, both ways, and an empty line. */
	n = join(line, sizeof(line), base);
	assert_int_equal(audit_line_parse(line, n - 65, &kind, &r, &cp, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "this line has 11");
	n = join(line, sizeof(line), base);
	line[n] = '\t';
	line[n + 1] = 'x';
	assert_int_equal(audit_line_parse(line, n + 2, &kind, &r, &cp, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "this line has 13");
	assert_int_equal(audit_line_parse(line, 0, &kind, &r, &cp, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "empty");
	/* A CRLF file. */
	n = join(line, sizeof(line), base);
	line[n] = '\r';
	assert_int_equal(audit_line_parse(line, n + 1, &kind, &r, &cp, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "ends with CR");
	/* Longer than AUDIT_LINE_MAX (with its LF), before anything else. */
	{
		char *big = malloc(AUDIT_LINE_MAX + 1);

		assert_non_null(big);
		memset(big, 'a', AUDIT_LINE_MAX);
		big[0] = 'R';
		assert_int_equal(audit_line_parse(big, AUDIT_LINE_MAX, &kind,
		    &r, &cp, &e), ERR_INVALID);
		assert_contains(e.msg, "longer than");
		free(big);
	}
	/* Text fields longer than their limit once unescaped. */
	{
		const char *f[13];
		char *name = malloc(AUDIT_NAME_MAX + 2);

		assert_non_null(name);
		memset(name, 'n', AUDIT_NAME_MAX + 1);
		name[AUDIT_NAME_MAX + 1] = '\0';
		memcpy(f, base, sizeof(base));
		f[4] = name;
		n = join(line, sizeof(line), f);
		assert_int_equal(audit_line_parse(line, n, &kind, &r, &cp, &e),
		    ERR_INVALID);
		assert_contains(e.msg, "ACTOR-NAME is longer than 256");
		free(name);
	}
}

static void
test_checkpoint_round_trip(void **state)
{
	struct audit_checkpoint cp, back;
	struct audit_record r;
	enum audit_line_kind kind;
	buf_t tbs, line;
	size_t i;
	err_t e;

	(void)state;
	memset(&cp, 0, sizeof(cp));
	cp.seq = 97;
	cp.time = 1767225600;
	memcpy(cp.hash, SOME_HASH, 65);
	memcpy(cp.key_sha256, SOME_SHA, 65);
	/* 1, 2 and 3 bytes past a multiple of three: each padding. */
	for (i = 1; i <= 72; i++) {
		size_t k;

		for (k = 0; k < i; k++)
			cp.sig[k] = (unsigned char)(k * 37 + i);
		cp.sig_len = i;
		buf_init(&tbs, 1024);
		buf_init(&line, 4096);
		assert_int_equal(audit_checkpoint_tbs(&cp, &tbs, &e), 0);
		assert_int_equal(audit_checkpoint_line(&cp, &line, &e), 0);
		assert_int_equal(tbs.len, strlen("C\t97\t") + 64 + 1 + 20 + 1 +
		    64 + 1);
		/* The TBS is what `cut -f1-5` prints: the line up to TAB. */
		assert_memory_equal(line.data, tbs.data, tbs.len - 1);
		assert_int_equal(line.data[tbs.len - 1], '\t');
		assert_int_equal(line.data[line.len - 1], '\n');
		if (audit_line_parse((char *)line.data, line.len - 1, &kind,
		    &r, &back, &e) != 0)
			fail_msg("sig of %zu: %s", i, e.msg);
		assert_int_equal(kind, AUDIT_LINE_CHECKPOINT);
		assert_int_equal(back.seq, 97);
		assert_string_equal(back.hash, SOME_HASH);
		assert_string_equal(back.key_sha256, SOME_SHA);
		assert_int_equal((long long)back.time, 1767225600LL);
		assert_int_equal(back.sig_len, i);
		assert_memory_equal(back.sig, cp.sig, i);
		buf_free(&tbs);
		buf_free(&line);
	}
	cp.sig_len = 0;
	buf_init(&line, 4096);
	assert_int_equal(audit_checkpoint_line(&cp, &line, &e), ERR_INVALID);
	cp.sig_len = AUDIT_SIG_MAX + 1;
	assert_int_equal(audit_checkpoint_line(&cp, &line, &e), ERR_INVALID);
	cp.sig_len = AUDIT_SIG_MAX;
	assert_int_equal(audit_checkpoint_line(&cp, &line, &e), 0);
	if (audit_line_parse((char *)line.data, line.len - 1, &kind, &r, &back,
	    &e) != 0)
		fail_msg("largest signature: %s", e.msg);
	assert_int_equal(back.sig_len, AUDIT_SIG_MAX);
	buf_free(&line);
}

static void
test_parse_rejects_checkpoint(void **state)
{
	static const struct {
		int field;
		const char *value, *msg;
	} bad[] = {
		{ 2, "0", "not 1 or more" },
		{ 2, "007", "leading zero" },
		{ 3, "abc", "HASH has 3" },
		{ 4, "2026-02-30T00:00:00Z", "day 30" },
		{ 5, SOME_HASH "00", "KEY-SHA256 has 66" },
		{ 6, "", "SIGNATURE is empty" },
		{ 6, "abc", "multiple of 4" },
		{ 6, "ab=c", "standard base64" },
		{ 6, "a===", "standard base64" },
		{ 6, "====", "standard base64" },
		{ 6, "@@@@", "standard base64" },
		{ 6, "ab-_", "standard base64" },
		{ 6, "AAA AAAA", "standard base64" },
		{ 6, "AB==", "canonical" },
		{ 6, "AAB=", "canonical" },
	};
	const char *base[] = { "C", "5", SOME_HASH, "2026-01-01T00:00:00Z",
	    SOME_SHA, "AAECAw==", NULL };
	struct audit_record r;
	struct audit_checkpoint cp;
	enum audit_line_kind kind;
	char line[4096], *sig;
	size_t i, n;
	err_t e;

	(void)state;
	n = join(line, sizeof(line), base);
	assert_int_equal(audit_line_parse(line, n, &kind, &r, &cp, &e), 0);
	assert_int_equal(kind, AUDIT_LINE_CHECKPOINT);
	assert_int_equal(cp.sig_len, 4);
	assert_memory_equal(cp.sig, "\x00\x01\x02\x03", 4);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *f[7];

		memcpy(f, base, sizeof(base));
		f[bad[i].field - 1] = bad[i].value;
		n = join(line, sizeof(line), f);
		err_clear(&e);
		if (audit_line_parse(line, n, &kind, &r, &cp, &e) !=
		    ERR_INVALID)
			fail_msg("case %zu (%s) was accepted", i, bad[i].value);
		if (strstr(e.msg, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" does not contain \"%s\"", i,
			    e.msg, bad[i].msg);
	}
	/* Five fields, seven fields. */
	n = join(line, sizeof(line), base);
	assert_int_equal(audit_line_parse(line, n - 9, &kind, &r, &cp, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "this line has 5");
	n = join(line, sizeof(line), base);
	memcpy(line + n, "\tAAAA", 6);
	assert_int_equal(audit_line_parse(line, n + 5, &kind, &r, &cp, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "this line has 7");
	/* A signature longer than AUDIT_SIG_MAX bytes. */
	sig = malloc(2000);
	assert_non_null(sig);
	memset(sig, 'A', 1372);
	sig[1372] = '\0';
	{
		const char *f[7];

		memcpy(f, base, sizeof(base));
		f[5] = sig;
		n = join(line, sizeof(line), f);
		assert_int_equal(audit_line_parse(line, n, &kind, &r, &cp, &e),
		    ERR_INVALID);
		assert_contains(e.msg, "longer than a signature");
	}
	free(sig);
}

static void
test_objects(void **state)
{
	char v[64], k[64];
	const char *pos;
	buf_t b;

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(audit_objects_add(&b, "batch", "12"), 0);
	assert_int_equal(audit_objects_add(&b, "file", "my file 100%.p7m"), 0);
	assert_int_equal(audit_objects_add(&b, "serial", "0a1b"), 0);
	assert_int_equal(audit_objects_add(&b, "Bad", "x"), ERR_INVALID);
	assert_int_equal(audit_objects_add(&b, "a b", "x"), ERR_INVALID);
	assert_int_equal(audit_objects_add(&b, "", "x"), ERR_INVALID);
	assert_int_equal(buf_put_u8(&b, 0), 0);
	assert_string_equal((char *)b.data,
	    "batch=12 file=my%20file%20100%25.p7m serial=0a1b");
	assert_int_equal(audit_objects_get((char *)b.data, "file", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "my file 100%.p7m");
	assert_int_equal(audit_objects_get((char *)b.data, "batch", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "12");
	assert_int_equal(audit_objects_get((char *)b.data, "serial", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "0a1b");
	assert_int_equal(audit_objects_get((char *)b.data, "crl", v,
	    sizeof(v)), 0);
	assert_int_equal(audit_objects_get((char *)b.data, "file", v, 5),
	    ERR_INVALID);
	/* The first of two; an empty value; empty objects. */
	assert_int_equal(audit_objects_get("serial=01 serial=02", "serial", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "01");
	assert_int_equal(audit_objects_get("reason=", "reason", v, sizeof(v)),
	    1);
	assert_string_equal(v, "");
	assert_int_equal(audit_objects_get("", "batch", v, sizeof(v)), 0);
	/* Malformed tokens. */
	assert_int_equal(audit_objects_get("batch", "batch", v, sizeof(v)),
	    ERR_INVALID);
	assert_int_equal(audit_objects_get("file=a%41", "file", v, sizeof(v)),
	    ERR_INVALID);
	assert_int_equal(audit_objects_get("file=a%2", "file", v, sizeof(v)),
	    ERR_INVALID);
	assert_int_equal(audit_objects_get("Batch=1 x=2", "x", v, sizeof(v)),
	    ERR_INVALID);
	/* The walk, token by token. */
	pos = "a=1  b=x%20y c=";
	assert_int_equal(audit_objects_next(&pos, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "a");
	assert_string_equal(v, "1");
	assert_int_equal(audit_objects_next(&pos, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "b");
	assert_string_equal(v, "x y");
	assert_int_equal(audit_objects_next(&pos, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "c");
	assert_string_equal(v, "");
	assert_int_equal(audit_objects_next(&pos, k, sizeof(k), v, sizeof(v)),
	    0);
	buf_free(&b);
	/* A value that does not fit leaves out as it was. */
	buf_init(&b, 10);
	assert_int_equal(audit_objects_add(&b, "a", "1"), 0);
	assert_int_equal(audit_objects_add(&b, "file", "long value"),
	    ERR_LIMIT);
	assert_int_equal(b.len, 3);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_rules),
		cmocka_unit_test(test_escape_cap),
		cmocka_unit_test(test_escape_round_trip),
		cmocka_unit_test(test_hash_independent),
		cmocka_unit_test(test_seal_refuses),
		cmocka_unit_test(test_worst_case_fits),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_rejects_record),
		cmocka_unit_test(test_checkpoint_round_trip),
		cmocka_unit_test(test_parse_rejects_checkpoint),
		cmocka_unit_test(test_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
