/* statement.c: the canonical approval statement (statement.h). */
#include "approval/statement.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/text.h"
#include "util/timeutil.h"

/* The keys, in the one order they are written. */
enum {
	STMT_VERSION, STMT_KIND, STMT_OBJECT, STMT_DIGEST, STMT_DECISION,
	STMT_REASON, STMT_OFFICER, STMT_TIME, STMT_NKEYS
};

static const char *const stmt_keys[STMT_NKEYS] = {
	"airlock-approval", "kind", "object", "digest", "decision", "reason",
	"officer", "time"
};

static const char *const stmt_kinds[APPROVAL_KIND_COUNT] = {
	"batch", "revocation", "crl", "export", "lockout-clear",
	"activation-share"
};

#define STMT_VERSION_TEXT "1"
static const char stmt_head[] = "airlock-approval: " STMT_VERSION_TEXT
    "\nkind: ";
/* Characters of a hostile value quoted in a message. */
#define STMT_SHOW 40
/* Lines looked at when a statement has too many; the rest only counted. */
#define STMT_LINES_MAX 32

const char *
approval_kind_name(enum approval_kind kind)
{
	if ((int)kind < 0 || kind >= APPROVAL_KIND_COUNT)
		return NULL;
	return stmt_kinds[kind];
}

int
approval_kind_parse(const char *name, enum approval_kind *out)
{
	int i;

	for (i = 0; name != NULL && i < APPROVAL_KIND_COUNT; i++) {
		if (strcmp(name, stmt_kinds[i]) == 0) {
			*out = (enum approval_kind)i;
			return 0;
		}
	}
	return ERR_INVALID;
}

const char *
approval_decision_name(enum approval_decision d)
{
	switch (d) {
	case APPROVAL_APPROVE:
		return "approve";
	case APPROVAL_REJECT:
		return "reject";
	default:
		return NULL;
	}
}

/* --- field rules, shared by the writer and the reader ------------------- */

/* 64 lower-case hex digits: a SHA-256. */
static int
stmt_check_hex(const char *v, size_t n, err_t *err)
{
	char show[STMT_SHOW * 4 + 8];
	size_t i;

	if (n != 64)
		return err_set(err, ERR_INVALID, "'%s' is %zu characters; "
		    "expected 64 lower-case hex digits (a SHA-256)",
		    text_show(v, n, STMT_SHOW, show, sizeof(show)), n);
	for (i = 0; i < n; i++) {
		if (v[i] >= 'A' && v[i] <= 'F')
			return err_set(err, ERR_INVALID, "'%s' has upper-case "
			    "hex digits; write them in lower case",
			    text_show(v, n, 64, show, sizeof(show)));
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			return err_set(err, ERR_INVALID, "character %zu of "
			    "'%s' is not a hex digit", i + 1,
			    text_mask(v, n, 64, show, sizeof(show)));
	}
	return 0;
}

/* One line of UTF-8: empty for approve, 1..512 characters for reject. */
static int
stmt_check_reason(const char *v, size_t n, enum approval_decision d,
    err_t *err)
{
	size_t i = 0, chars = 0;
	uint32_t cp;

	if (d == APPROVAL_APPROVE && n > 0)
		return err_set(err, ERR_INVALID, "a reason is given with "
		    "'approve'; reasons are for rejections only, so an "
		    "approval's reason line is 'reason:' alone");
	if (d == APPROVAL_REJECT && n == 0)
		return err_set(err, ERR_INVALID, "a rejection needs its reason "
		    "(1 to %d characters on the 'reason:' line)",
		    APPROVAL_REASON_MAX);
	while (i < n) {
		size_t k = text_utf8_next((const unsigned char *)v + i, n - i,
		    &cp);

		if (k == 0)
			return err_set(err, ERR_INVALID, "the reason is not "
			    "valid UTF-8 at byte %zu", i + 1);
		if (text_forbidden(cp))
			return err_set(err, ERR_INVALID, "the reason contains "
			    "a control or invisible character (U+%04" PRIX32
			    ") at character %zu", cp, chars + 1);
		i += k;
		chars++;
	}
	if (chars > APPROVAL_REASON_MAX)
		return err_set(err, ERR_LIMIT, "the reason is %zu characters, "
		    "more than %d", chars, APPROVAL_REASON_MAX);
	if (n > 0 && (v[0] == ' ' || v[n - 1] == ' '))
		return err_set(err, ERR_INVALID, "the reason starts or ends "
		    "with a space");
	return 0;
}

/* A record number: decimal, 1 .. INT64_MAX, no sign, no leading zero. */
static int
stmt_parse_object(const char *v, size_t n, int64_t *out, err_t *err)
{
	char show[STMT_SHOW * 4 + 8];
	int64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int digit = v[i] - '0';

		if (v[i] < '0' || v[i] > '9' || (i == 0 && v[i] == '0') ||
		    x > (INT64_MAX - digit) / 10)
			return err_set(err, ERR_INVALID, "'%s' is not a record "
			    "number: expected a decimal number from 1 to "
			    "9223372036854775807 without sign or leading zeros",
			    text_show(v, n, STMT_SHOW, show, sizeof(show)));
		x = x * 10 + digit;
	}
	if (n == 0)
		return err_set(err, ERR_INVALID, "the object is empty: expected "
		    "a record number");
	*out = x;
	return 0;
}

/* --- writing ------------------------------------------------------------ */

int
approval_statement_format(const struct approval_statement *s, buf_t *out,
    err_t *err)
{
	char when[TIMEUTIL_STRLEN], line[96];
	const char *kind, *dec;
	size_t rlen;
	time_t back;
	err_t sub;
	int r, n;

	if (s == NULL || out == NULL)
		return err_set(err, ERR_INTERNAL, "approval_statement_format: "
		    "missing argument");
	err_clear(&sub);
	if ((kind = approval_kind_name(s->kind)) == NULL)
		return err_set(err, ERR_INVALID, "kind: %d is not a kind",
		    (int)s->kind);
	if (s->object < 1)
		return err_set(err, ERR_INVALID, "object: %" PRId64 " is not a "
		    "record number (1 or more)", s->object);
	if ((r = stmt_check_hex(s->digest, strnlen(s->digest,
	    sizeof(s->digest)), &sub)) != 0)
		return err_set(err, r, "digest: %s", sub.msg);
	if ((dec = approval_decision_name(s->decision)) == NULL)
		return err_set(err, ERR_INVALID, "decision: %d is not a "
		    "decision", (int)s->decision);
	rlen = strnlen(s->reason, sizeof(s->reason));
	if (rlen == sizeof(s->reason))
		return err_set(err, ERR_LIMIT, "reason: not terminated within "
		    "%zu bytes", sizeof(s->reason));
	if ((r = stmt_check_reason(s->reason, rlen, s->decision, &sub)) != 0)
		return err_set(err, r, "reason: %s", sub.msg);
	if ((r = stmt_check_hex(s->officer, strnlen(s->officer,
	    sizeof(s->officer)), &sub)) != 0)
		return err_set(err, r, "officer: %s", sub.msg);
	timeutil_format(s->time, when);
	if (timeutil_parse(when, &back, &sub) != 0 || back != s->time)
		return err_set(err, ERR_INVALID, "time: %lld cannot be written "
		    "as a time from 1950 to 9999", (long long)s->time);

	/* Puts are checked once at the end (buf_t's sticky flag). */
	buf_put(out, stmt_head, sizeof(stmt_head) - 1);
	buf_put(out, kind, strlen(kind));
	n = snprintf(line, sizeof(line), "\nobject: %" PRId64 "\ndigest: ",
	    s->object);
	buf_put(out, line, (size_t)n);
	buf_put(out, s->digest, 64);
	buf_put(out, "\ndecision: ", 11);
	buf_put(out, dec, strlen(dec));
	buf_put(out, "\nreason:", 8);
	if (rlen > 0) {
		buf_put(out, " ", 1);
		buf_put(out, s->reason, rlen);
	}
	buf_put(out, "\nofficer: ", 10);
	buf_put(out, s->officer, 64);
	buf_put(out, "\ntime: ", 7);
	buf_put(out, when, strlen(when));
	buf_put(out, "\n", 1);
	if (!buf_ok(out))
		return err_set(err, ERR_LIMIT, "the statement does not fit in "
		    "the output buffer");
	return 0;
}

/* --- reading ------------------------------------------------------------ */

struct stmt_line {
	const char *p;
	size_t len;
};

/* Index of the key spelled p[0..n), or -1. */
static int
stmt_key_index(const char *p, size_t n)
{
	int i;

	for (i = 0; i < STMT_NKEYS; i++)
		if (strlen(stmt_keys[i]) == n && memcmp(stmt_keys[i], p, n) == 0)
			return i;
	return -1;
}

/* Length of the key of a line: the bytes before its first ':'. */
static size_t
stmt_key_len(const struct stmt_line *l, int *has_colon)
{
	const char *c = memchr(l->p, ':', l->len);

	*has_colon = c != NULL;
	return c != NULL ? (size_t)(c - l->p) : l->len;
}

/*
 * Byte-level rules for the whole text: no NUL, no CR, valid UTF-8, no
 * control or invisible character but the LF that ends each line.
 */
static int
stmt_scan(const unsigned char *p, size_t len, err_t *err)
{
	unsigned line = 1;
	size_t i = 0, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] == '\n') {
			line++;
			i++;
			continue;
		}
		if (p[i] == '\0')
			return err_set(err, ERR_INVALID, "line %u: contains a "
			    "NUL byte", line);
		if (p[i] == '\r')
			return err_set(err, ERR_INVALID, "line %u: contains a "
			    "carriage return; statements end lines with LF "
			    "alone (was the file saved with CRLF?)", line);
		k = text_utf8_next(p + i, len - i, &cp);
		if (k == 0)
			return err_set(err, ERR_INVALID, "line %u: is not "
			    "valid UTF-8", line);
		if (text_forbidden(cp))
			return err_set(err, ERR_INVALID, "line %u: contains a "
			    "control or invisible character (U+%04" PRIX32 ")",
			    line, cp);
		i += k;
	}
	if (len == 0)
		return err_set(err, ERR_INVALID, "the statement is empty");
	if (p[len - 1] != '\n')
		return err_set(err, ERR_INVALID, "line %u: the last line does "
		    "not end with a line feed", line);
	return 0;
}

/*
 * Why line i does not hold key `want`: a missing key, a duplicate, keys
 * out of order or a key that does not exist, said as precisely as the
 * other lines allow.
 */
static int
stmt_wrong_key(const struct stmt_line *lines, size_t nlines, size_t i,
    int want, err_t *err)
{
	char show[STMT_SHOW * 4 + 8];
	size_t klen, j;
	int colon, got, found = 0;

	if (i >= nlines)
		return err_set(err, ERR_INVALID, "the key '%s' is missing "
		    "(the statement ends after line %zu)", stmt_keys[want],
		    nlines);
	klen = stmt_key_len(&lines[i], &colon);
	if (!colon)
		return err_set(err, ERR_INVALID, "line %zu: '%s' is not a "
		    "'key: value' line", i + 1, text_show(lines[i].p,
		    lines[i].len, STMT_SHOW, show, sizeof(show)));
	got = stmt_key_index(lines[i].p, klen);
	if (got < 0)
		return err_set(err, ERR_INVALID, "line %zu: unknown key '%s' "
		    "(expected '%s')", i + 1, text_show(lines[i].p, klen,
		    STMT_SHOW, show, sizeof(show)), stmt_keys[want]);
	if (got < want)
		return err_set(err, ERR_INVALID, "line %zu: duplicate key '%s' "
		    "(each key appears once; expected '%s')", i + 1,
		    stmt_keys[got], stmt_keys[want]);
	for (j = i + 1; j < nlines && j < STMT_LINES_MAX; j++) {
		klen = stmt_key_len(&lines[j], &colon);
		if (colon && stmt_key_index(lines[j].p, klen) == want)
			found = 1;
	}
	if (found)
		return err_set(err, ERR_INVALID, "line %zu: the keys are out of "
		    "order: '%s' comes before '%s'", i + 1, stmt_keys[want],
		    stmt_keys[got]);
	return err_set(err, ERR_INVALID, "line %zu: the key '%s' is missing "
	    "(found '%s', which comes after it)", i + 1, stmt_keys[want],
	    stmt_keys[got]);
}

/* Checks one value against its key's rule and stores it in out. */
static int
stmt_value(int key, const char *v, size_t n, struct approval_statement *out,
    err_t *err)
{
	char show[STMT_SHOW * 4 + 8], text[TIMEUTIL_STRLEN + 1];

	switch (key) {
	case STMT_VERSION:
		if (n != 1 || v[0] != STMT_VERSION_TEXT[0])
			return err_set(err, ERR_INVALID, "version '%s' is not "
			    "supported; this appliance reads version "
			    STMT_VERSION_TEXT, text_show(v, n, STMT_SHOW, show,
			    sizeof(show)));
		return 0;
	case STMT_KIND: {
		int i;

		for (i = 0; i < APPROVAL_KIND_COUNT; i++) {
			if (strlen(stmt_kinds[i]) == n &&
			    memcmp(stmt_kinds[i], v, n) == 0) {
				out->kind = (enum approval_kind)i;
				return 0;
			}
		}
		return err_set(err, ERR_INVALID, "unknown kind '%s'; expected "
		    "batch, revocation, crl, export, lockout-clear or "
		    "activation-share",
		    text_show(v, n, STMT_SHOW, show, sizeof(show)));
	}
	case STMT_OBJECT:
		return stmt_parse_object(v, n, &out->object, err);
	case STMT_DIGEST:
		if (stmt_check_hex(v, n, err) != 0)
			return err->code;
		memcpy(out->digest, v, 64);
		out->digest[64] = '\0';
		return 0;
	case STMT_DECISION:
		if (n == 7 && memcmp(v, "approve", 7) == 0)
			out->decision = APPROVAL_APPROVE;
		else if (n == 6 && memcmp(v, "reject", 6) == 0)
			out->decision = APPROVAL_REJECT;
		else
			return err_set(err, ERR_INVALID, "unknown decision "
			    "'%s'; expected approve or reject (lower case)",
			    text_show(v, n, STMT_SHOW, show, sizeof(show)));
		return 0;
	case STMT_REASON:
		if (stmt_check_reason(v, n, out->decision, err) != 0)
			return err->code;
		memcpy(out->reason, v, n);
		out->reason[n] = '\0';
		return 0;
	case STMT_OFFICER:
		if (stmt_check_hex(v, n, err) != 0)
			return err->code;
		memcpy(out->officer, v, 64);
		out->officer[64] = '\0';
		return 0;
	case STMT_TIME:
		if (n >= sizeof(text))
			return err_set(err, ERR_INVALID, "'%s' is not a valid "
			    "time: expected \"YYYY-MM-DDTHH:MM:SSZ\" in UTC",
			    text_show(v, n, STMT_SHOW, show, sizeof(show)));
		memcpy(text, v, n);
		text[n] = '\0';
		return timeutil_parse(text, &out->time, err);
	default:
		return err_set(err, ERR_INTERNAL, "no rule for key %d", key);
	}
}

/* Line i against key i; fills the field of out. */
static int
stmt_line(const struct stmt_line *lines, size_t nlines, size_t i,
    struct approval_statement *out, err_t *err)
{
	const struct stmt_line *l = &lines[i];
	size_t klen = strlen(stmt_keys[i]), vlen;
	const char *v;

	if (l->len == 0)
		return err_set(err, ERR_INVALID, "line %zu: is empty (expected "
		    "'%s')", i + 1, stmt_keys[i]);
	if (l->len <= klen || memcmp(l->p, stmt_keys[i], klen) != 0 ||
	    l->p[klen] != ':')
		return stmt_wrong_key(lines, nlines, i, (int)i, err);
	if (l->p[l->len - 1] == ' ')
		return err_set(err, ERR_INVALID, "line %zu (%s): ends with "
		    "white space; statements have no trailing spaces%s", i + 1,
		    stmt_keys[i], i == STMT_REASON ? " (an approval's reason "
		    "line is 'reason:' alone)" : "");
	v = l->p + klen + 1;
	vlen = l->len - klen - 1;
	if (vlen > 0) {
		if (v[0] != ' ')
			return err_set(err, ERR_INVALID, "line %zu (%s): the "
			    "key must be followed by ': ' (a colon and one "
			    "space)", i + 1, stmt_keys[i]);
		v++;
		vlen--;
		if (vlen > 0 && v[0] == ' ')
			return err_set(err, ERR_INVALID, "line %zu (%s): more "
			    "than one space after the colon", i + 1,
			    stmt_keys[i]);
	}
	if (vlen == 0 && i != STMT_REASON)
		return err_set(err, ERR_INVALID, "line %zu (%s): the value is "
		    "empty", i + 1, stmt_keys[i]);
	if (stmt_value((int)i, v, vlen, out, err) != 0)
		return err_prefix(err, "line %zu (%s)", i + 1, stmt_keys[i]);
	return 0;
}

int
approval_statement_parse(const char *label, const void *data, size_t len,
    struct approval_statement *out, err_t *err)
{
	struct stmt_line lines[STMT_LINES_MAX];
	struct approval_statement s;
	const char *p = data, *end, *nl;
	size_t nlines = 0, i;
	buf_t again;
	int r;

	if (label == NULL)
		label = "approval statement";
	if (out == NULL || (data == NULL && len > 0))
		return err_set(err, ERR_INTERNAL, "approval_statement_parse: "
		    "missing argument");
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (len > APPROVAL_STATEMENT_MAX) {
		err_set(err, ERR_LIMIT, "the statement is %zu bytes, more than "
		    "the limit of %d", len, APPROVAL_STATEMENT_MAX);
		return err_prefix(err, "%s", label);
	}
	if ((r = stmt_scan(data, len, err)) != 0)
		return err_prefix(err, "%s", label);

	/* Lines, each without its LF; the scan guaranteed a final LF. */
	end = p + len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nlines < STMT_LINES_MAX) {
			lines[nlines].p = p;
			lines[nlines].len = (size_t)(nl - p);
		}
		nlines++;
		p = nl + 1;
	}
	for (i = 0; i < STMT_NKEYS; i++) {
		if (i >= nlines) {
			stmt_wrong_key(lines, nlines, i, (int)i, err);
			return err_prefix(err, "%s", label);
		}
		if (stmt_line(lines, nlines, i, &s, err) != 0)
			return err_prefix(err, "%s", label);
	}
	if (nlines > STMT_NKEYS) {
		int colon;
		size_t klen = stmt_key_len(&lines[STMT_NKEYS], &colon);
		int k = colon ? stmt_key_index(lines[STMT_NKEYS].p, klen) : -1;

		if (k >= 0)
			err_set(err, ERR_INVALID, "line %d: duplicate key '%s' "
			    "(each key appears once)", STMT_NKEYS + 1,
			    stmt_keys[k]);
		else
			err_set(err, ERR_INVALID, "line %d: text after the last "
			    "key, '%s' (the statement has %zu lines; it has "
			    "exactly %d)", STMT_NKEYS + 1,
			    stmt_keys[STMT_NKEYS - 1], nlines, STMT_NKEYS);
		return err_prefix(err, "%s", label);
	}

	/*
	 * The rules above are meant to leave one spelling; writing the
	 * statement again and comparing makes sure of it, so that a
	 * signature always covers the bytes this code would write.
	 */
	buf_init(&again, APPROVAL_STATEMENT_MAX);
	r = approval_statement_format(&s, &again, err);
	if (r == 0 && (again.len != len || memcmp(again.data, data, len) != 0))
		r = err_set(err, ERR_INVALID, "the statement is not in its "
		    "canonical form (docs/formats/approval.md)");
	buf_free(&again);
	if (r != 0)
		return err_prefix(err, "%s", label);
	*out = s;
	return 0;
}
