/* record.c: the audit log's records and checkpoints as text (record.h). */
#include "audit/record.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/text.h"
#include "util/timeutil.h"

const char audit_genesis[AUDIT_HASH_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Fields of each kind of line. */
#define REC_FIELDS 12
#define CP_FIELDS 6
/* Characters of a hostile field quoted in a message. */
#define REC_SHOW 40
/* Base64 of AUDIT_SIG_MAX bytes. */
#define REC_SIG_B64_MAX (4 * ((AUDIT_SIG_MAX + 2) / 3))

static const char rec_hexdigit[] = "0123456789abcdef";

/* 0 for a lower-case hex digit, 1 for any other byte. */
static const unsigned char rec_lhex[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,	/* 0-9 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* a-f */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};

/*
 * SHA-256 fetched once: an implicit fetch on every digest costs as much as
 * hashing a record, and a verifier hashes millions of them.
 */
static EVP_MD *rec_md_fetched;
static pthread_once_t rec_md_once = PTHREAD_ONCE_INIT;

static void
rec_md_init(void)
{
	rec_md_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	ERR_clear_error();
}

static const EVP_MD *
rec_md(void)
{
	if (pthread_once(&rec_md_once, rec_md_init) != 0 ||
	    rec_md_fetched == NULL)
		return EVP_sha256();
	return rec_md_fetched;
}

/* SHA-256 of p[0..len) followed by one LF, as lower-case hex. */
static int
rec_sha256_lf(const void *p, size_t len, char out[AUDIT_HASH_HEX],
    err_t *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, rec_md(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, p, len) == 1 &&
	    EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return err_set_ossl(err, ERR_CRYPTO, "cannot compute SHA-256");
	buf_hex(md, 32, out, AUDIT_HASH_HEX);
	return 0;
}

/* 1 when s[0..len) is a word: 1 to AUDIT_WORD_MAX of [a-z0-9-]. */
static int
rec_is_word(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > AUDIT_WORD_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int
rec_is_outcome(const char *s)
{
	return strcmp(s, "ok") == 0 || strcmp(s, "refused") == 0 ||
	    strcmp(s, "failed") == 0;
}

/* 1 when s is 64 lower-case hex digits. */
static int
rec_is_sha256(const char *s)
{
	return s != NULL && strnlen(s, AUDIT_HASH_HEX) == AUDIT_HASH_HEX - 1 &&
	    text_is_lower_hex(s, AUDIT_HASH_HEX - 1);
}

/* A time the text form can carry: one that formats and parses back. */
static int
rec_time(time_t t, char out[TIMEUTIL_STRLEN], const char *what, err_t *err)
{
	time_t back;

	timeutil_format(t, out);
	if (timeutil_parse(out, &back, NULL) != 0 || back != t)
		return err_set(err, ERR_INVALID, "%s: time %lld is outside "
		    "the years 1950 to 9999", what, (long long)t);
	return 0;
}

/* buf_put that keeps the first failure's code in *rc. */
static void
rec_put(buf_t *out, const void *p, size_t len, int *rc)
{
	int r = buf_put(out, p, len);

	if (r != 0 && *rc == 0)
		*rc = r;
}

int
audit_escape(const void *s, size_t len, buf_t *out)
{
	const unsigned char *p = s;
	size_t i = 0, run;
	char esc[4];
	int rc = 0;

	while (i < len) {
		uint32_t cp;
		size_t n;

		/* Plain ASCII is copied in runs: it is almost every byte. */
		for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x7f &&
		    p[run] != '\\'; run++)
			;
		if (run > i) {
			rec_put(out, p + i, run - i, &rc);
			i = run;
			continue;
		}
		if (p[i] == '\\') {
			rec_put(out, "\\\\", 2, &rc);
			i++;
			continue;
		}
		if (p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
			esc[0] = '\\';
			esc[1] = p[i] == '\t' ? 't' : p[i] == '\n' ? 'n' : 'r';
			rec_put(out, esc, 2, &rc);
			i++;
			continue;
		}
		if (p[i] >= 0x80 && (n = text_utf8_next(p + i, len - i,
		    &cp)) != 0) {
			rec_put(out, p + i, n, &rc);
			i += n;
			continue;
		}
		/* Other controls, DEL, and each byte of invalid UTF-8. */
		esc[0] = '\\';
		esc[1] = 'x';
		esc[2] = rec_hexdigit[p[i] >> 4];
		esc[3] = rec_hexdigit[p[i] & 15];
		rec_put(out, esc, 4, &rc);
		i++;
	}
	return rc;
}

/* --- writing ------------------------------------------------------------ */

/* Checks one text field of a record for seal; s may be NULL (empty). */
static int
rec_check_text(const char *s, size_t max, const char *what, err_t *err)
{
	if (s != NULL && strnlen(s, max + 1) > max)
		return err_set(err, ERR_INVALID, "%s is longer than %zu bytes",
		    what, max);
	return 0;
}

static int
rec_check_word(const char *s, const char *what, err_t *err)
{
	if (s == NULL || !rec_is_word(s, strnlen(s, AUDIT_WORD_MAX + 1))) {
		char show[64];

		return err_set(err, ERR_INVALID, "%s '%s' is not a word of 1 to "
		    "%d characters a-z, 0-9 and '-'", what, s == NULL ? "" :
		    text_show(s, strnlen(s, REC_SHOW + 1), REC_SHOW, show,
		    sizeof(show)), AUDIT_WORD_MAX);
	}
	return 0;
}

/* Fields 1 to 11 of r, TAB-separated, without the TAB before HASH. */
static int
rec_fields(const struct audit_record *r, buf_t *out, err_t *err)
{
	char t[TIMEUTIL_STRLEN];
	const char *sha;
	int rc;

	if ((rc = rec_time(r->time, t, "record", err)) != 0)
		return rc;
	sha = r->actor_sha256 != NULL && r->actor_sha256[0] != '\0' ?
	    r->actor_sha256 : "-";
	(void)buf_printf(out, "R\t%lld\t%s\t%s\t", (long long)r->seq, t, sha);
	(void)audit_escape(r->actor_name != NULL ? r->actor_name : "",
	    r->actor_name != NULL ? strlen(r->actor_name) : 0, out);
	(void)buf_printf(out, "\t%s\t%s\t%s\t", r->role, r->action,
	    r->outcome);
	(void)audit_escape(r->objects != NULL ? r->objects : "",
	    r->objects != NULL ? strlen(r->objects) : 0, out);
	buf_put_u8(out, '\t');
	(void)audit_escape(r->details != NULL ? r->details : "",
	    r->details != NULL ? strlen(r->details) : 0, out);
	buf_put_u8(out, '\t');
	buf_put(out, r->prev, AUDIT_HASH_HEX - 1);
	if (!buf_ok(out))
		return err_set(err, ERR_LIMIT, "record %lld: the line does not "
		    "fit in %d bytes", (long long)r->seq, AUDIT_LINE_MAX);
	return 0;
}

/* Every check of seal, without hashing. */
static int
rec_check(const struct audit_record *r, err_t *err)
{
	char t[TIMEUTIL_STRLEN];
	int rc;

	if (r == NULL)
		return err_set(err, ERR_INVALID, "no record");
	if (r->seq < 1)
		return err_set(err, ERR_INVALID, "record SEQ %lld is not 1 or "
		    "more", (long long)r->seq);
	if ((rc = rec_time(r->time, t, "record", err)) != 0)
		return rc;
	if (r->actor_sha256 != NULL && r->actor_sha256[0] != '\0' &&
	    !rec_is_sha256(r->actor_sha256))
		return err_set(err, ERR_INVALID, "record %lld: ACTOR-SHA256 is "
		    "not 64 lower-case hex digits", (long long)r->seq);
	if ((rc = rec_check_text(r->actor_name, AUDIT_NAME_MAX, "ACTOR-NAME",
	    err)) != 0 ||
	    (rc = rec_check_text(r->objects, AUDIT_OBJECTS_MAX, "OBJECTS",
	    err)) != 0 ||
	    (rc = rec_check_text(r->details, AUDIT_DETAILS_MAX, "DETAILS",
	    err)) != 0 ||
	    (rc = rec_check_word(r->role, "ROLE", err)) != 0 ||
	    (rc = rec_check_word(r->action, "ACTION", err)) != 0) {
		if (err != NULL)
			(void)err_prefix(err, "record %lld", (long long)r->seq);
		return rc;
	}
	if (r->outcome == NULL || !rec_is_outcome(r->outcome))
		return err_set(err, ERR_INVALID, "record %lld: OUTCOME must be "
		    "ok, refused or failed", (long long)r->seq);
	if (!rec_is_sha256(r->prev))
		return err_set(err, ERR_INVALID, "record %lld: PREV is not 64 "
		    "lower-case hex digits", (long long)r->seq);
	return 0;
}

int
audit_record_seal(struct audit_record *r, err_t *err)
{
	buf_t text;
	int rc;

	if ((rc = rec_check(r, err)) != 0)
		return rc;
	/* Room for the TAB, HASH and LF that make the line. */
	buf_init(&text, AUDIT_LINE_MAX - AUDIT_HASH_HEX - 1);
	if ((rc = rec_fields(r, &text, err)) == 0)
		rc = rec_sha256_lf(text.data, text.len, r->hash, err);
	buf_free(&text);
	return rc;
}

int
audit_record_line(const struct audit_record *r, buf_t *out, err_t *err)
{
	buf_t text;
	int rc;

	if ((rc = rec_check(r, err)) != 0)
		return rc;
	if (!rec_is_sha256(r->hash))
		return err_set(err, ERR_INVALID, "record %lld is not sealed",
		    (long long)r->seq);
	buf_init(&text, AUDIT_LINE_MAX);
	if ((rc = rec_fields(r, &text, err)) == 0) {
		buf_put_u8(&text, '\t');
		buf_put(&text, r->hash, AUDIT_HASH_HEX - 1);
		buf_put_u8(&text, '\n');
		if (!buf_ok(&text))
			rc = err_set(err, ERR_LIMIT, "record %lld: the line "
			    "does not fit in %d bytes", (long long)r->seq,
			    AUDIT_LINE_MAX);
		else if (buf_put(out, text.data, text.len) != 0)
			rc = err_set(err, ERR_LIMIT, "record %lld: no room for "
			    "the line", (long long)r->seq);
	}
	buf_free(&text);
	return rc;
}

static int
cp_check(const struct audit_checkpoint *cp, err_t *err)
{
	if (cp == NULL)
		return err_set(err, ERR_INVALID, "no checkpoint");
	if (cp->seq < 1)
		return err_set(err, ERR_INVALID, "checkpoint SEQ %lld is not 1 "
		    "or more", (long long)cp->seq);
	if (!rec_is_sha256(cp->hash))
		return err_set(err, ERR_INVALID, "checkpoint %lld: HASH is not "
		    "64 lower-case hex digits", (long long)cp->seq);
	if (!rec_is_sha256(cp->key_sha256))
		return err_set(err, ERR_INVALID, "checkpoint %lld: KEY-SHA256 "
		    "is not 64 lower-case hex digits", (long long)cp->seq);
	return 0;
}

int
audit_checkpoint_tbs(const struct audit_checkpoint *cp, buf_t *out,
    err_t *err)
{
	char t[TIMEUTIL_STRLEN];
	int rc;

	if ((rc = cp_check(cp, err)) != 0 ||
	    (rc = rec_time(cp->time, t, "checkpoint", err)) != 0)
		return rc;
	if (buf_printf(out, "C\t%lld\t%s\t%s\t%s\n", (long long)cp->seq,
	    cp->hash, t, cp->key_sha256) != 0)
		return err_set(err, ERR_LIMIT, "checkpoint %lld: no room for "
		    "the line", (long long)cp->seq);
	return 0;
}

int
audit_checkpoint_line(const struct audit_checkpoint *cp, buf_t *out,
    err_t *err)
{
	unsigned char *dst;
	size_t start = out->len, b64;
	int rc, n;

	if (cp != NULL && (cp->sig_len == 0 || cp->sig_len > AUDIT_SIG_MAX))
		return err_set(err, ERR_INVALID, "checkpoint %lld: a signature "
		    "of %zu bytes; expected 1 to %d", (long long)cp->seq,
		    cp->sig_len, AUDIT_SIG_MAX);
	if ((rc = audit_checkpoint_tbs(cp, out, err)) != 0)
		return rc;
	/* The TBS ends in LF; the line goes on with TAB and SIGNATURE. */
	out->data[out->len - 1] = '\t';
	b64 = 4 * ((cp->sig_len + 2) / 3);
	/* EVP_EncodeBlock writes a NUL after the base64: the LF's place. */
	if (buf_reserve(out, b64 + 1, &dst) != 0) {
		out->len = start;
		return err_set(err, ERR_LIMIT, "checkpoint %lld: no room for "
		    "the line", (long long)cp->seq);
	}
	n = EVP_EncodeBlock(dst, cp->sig, (int)cp->sig_len);
	if (n < 0 || (size_t)n != b64) {
		out->len = start;
		return err_set_ossl(err, ERR_CRYPTO, "checkpoint %lld: cannot "
		    "encode the signature", (long long)cp->seq);
	}
	dst[n] = '\n';
	return 0;
}

/* --- reading ------------------------------------------------------------ */

/* One field of a line being parsed: its place in the line. */
struct rec_field {
	char *p;
	size_t len;
};

/* Names of a record's fields, 1-based as `cut` counts them. */
static const char *const rec_names[REC_FIELDS + 1] = {
	"", "kind", "SEQ", "TIME", "ACTOR-SHA256", "ACTOR-NAME", "ROLE",
	"ACTION", "OUTCOME", "OBJECTS", "DETAILS", "PREV", "HASH"
};
static const char *const cp_names[CP_FIELDS + 1] = {
	"", "kind", "SEQ", "HASH", "TIME", "KEY-SHA256", "SIGNATURE"
};

/*
 * Shows a hostile field in a message. Masked, not escaped: a message
 * that names a character's position must point at what the reader sees.
 */
static const char *
rec_show(const struct rec_field *f, char *out, size_t outsz)
{
	return text_mask(f->p, f->len, REC_SHOW, out, outsz);
}

static int
rec_parse_seq(const struct rec_field *f, const char *name, int64_t *out,
    err_t *err)
{
	char show[64];
	int64_t v = 0;
	size_t i;

	if (f->len == 0)
		return err_set(err, ERR_INVALID, "%s is empty", name);
	for (i = 0; i < f->len; i++)
		if (f->p[i] < '0' || f->p[i] > '9')
			return err_set(err, ERR_INVALID, "%s '%s' is not a "
			    "decimal number", name, rec_show(f, show,
			    sizeof(show)));
	if (f->p[0] == '0')
		return err_set(err, ERR_INVALID, "%s '%s' %s", name,
		    rec_show(f, show, sizeof(show)), f->len == 1 ?
		    "is not 1 or more" : "has a leading zero");
	if (f->len > 19)
		return err_set(err, ERR_INVALID, "%s '%s' is too large", name,
		    rec_show(f, show, sizeof(show)));
	for (i = 0; i < f->len; i++) {
		int d = f->p[i] - '0';

		if (v > (INT64_MAX - d) / 10)
			return err_set(err, ERR_INVALID, "%s '%s' is too large",
			    name, rec_show(f, show, sizeof(show)));
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
rec_parse_time(const struct rec_field *f, const char *name, time_t *out,
    err_t *err)
{
	char t[TIMEUTIL_STRLEN];
	int rc;

	if (f->len != TIMEUTIL_STRLEN - 1) {
		char show[64];

		return err_set(err, ERR_INVALID, "%s '%s' is not a time as "
		    "YYYY-MM-DDTHH:MM:SSZ", name, rec_show(f, show,
		    sizeof(show)));
	}
	memcpy(t, f->p, f->len);
	t[f->len] = '\0';
	if ((rc = timeutil_parse(t, out, err)) != 0 && err != NULL)
		(void)err_prefix(err, "%s", name);
	return rc;
}

/* A SHA-256 field copied into out. */
static int
rec_parse_sha256(const struct rec_field *f, const char *name,
    char out[AUDIT_HASH_HEX], err_t *err)
{
	const unsigned char *p = (const unsigned char *)f->p;
	char show[64];
	unsigned bad = 0;
	size_t i;

	if (f->len != AUDIT_HASH_HEX - 1)
		return err_set(err, ERR_INVALID, "%s has %zu characters; "
		    "expected 64 lower-case hex digits", name, f->len);
	/* Three of these per record: one branch for the whole field. */
	for (i = 0; i < f->len; i++)
		bad |= rec_lhex[p[i]];
	for (i = 0; bad && i < f->len; i++)
		if (rec_lhex[p[i]])
			return err_set(err, ERR_INVALID, "%s '%s': character "
			    "%zu is not a lower-case hex digit", name,
			    rec_show(f, show, sizeof(show)), i + 1);
	memcpy(out, f->p, f->len);
	out[f->len] = '\0';
	return 0;
}

static int
rec_parse_word(struct rec_field *f, const char *name, err_t *err)
{
	if (!rec_is_word(f->p, f->len)) {
		char show[64];

		return err_set(err, ERR_INVALID, "%s '%s' is not a word of 1 to "
		    "%d characters a-z, 0-9 and '-'", name, rec_show(f, show,
		    sizeof(show)), AUDIT_WORD_MAX);
	}
	f->p[f->len] = '\0';
	return 0;
}

/*
 * Unescapes a text field in place (NUL-terminated where its TAB was) and
 * refuses anything but the one form audit_escape writes for the result.
 */
static int
rec_parse_text(struct rec_field *f, const char *name, size_t max,
    err_t *err)
{
	unsigned char tmp[4 * AUDIT_DETAILS_MAX];
	const unsigned char *p = (const unsigned char *)f->p;
	size_t i = 0, o = 0;
	int high = 0;

	/* Nothing escapes to more than four bytes; longer cannot fit. */
	if (f->len > 4 * max)
		return err_set(err, ERR_INVALID, "%s is longer than %zu bytes",
		    name, max);
	while (i < f->len) {
		uint32_t cp;
		int hi, lo, b;

		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			tmp[o++] = p[i++];
			continue;
		}
		if (p[i] >= 0x80) {
			size_t n = text_utf8_next(p + i, f->len - i, &cp);

			if (n == 0)
				return err_set(err, ERR_INVALID, "%s: byte %zu "
				    "(0x%02x) is not valid UTF-8; it must be "
				    "written \\x%02x", name, i + 1, p[i], p[i]);
			memcpy(tmp + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		if (p[i] != '\\')
			return err_set(err, ERR_INVALID, "%s: byte %zu is the "
			    "control character 0x%02x; it must be escaped",
			    name, i + 1, p[i]);
		if (i + 1 == f->len)
			return err_set(err, ERR_INVALID, "%s: a backslash ends "
			    "the field (an escape is cut short)", name);
		switch (p[i + 1]) {
		case '\\':
			tmp[o++] = '\\';
			i += 2;
			continue;
		case 't':
			tmp[o++] = '\t';
			i += 2;
			continue;
		case 'n':
			tmp[o++] = '\n';
			i += 2;
			continue;
		case 'r':
			tmp[o++] = '\r';
			i += 2;
			continue;
		case 'x':
			break;
		default:
			return err_set(err, ERR_INVALID, "%s: byte %zu: '\\%c' "
			    "is not an escape; expected \\\\, \\t, \\n, \\r or "
			    "\\xHH", name, i + 1, p[i + 1] >= 0x20 &&
			    p[i + 1] < 0x7f ? p[i + 1] : '?');
		}
		if (f->len - i < 4)
			return err_set(err, ERR_INVALID, "%s: byte %zu: \\x needs "
			    "two lower-case hex digits", name, i + 1);
		hi = p[i + 2] >= '0' && p[i + 2] <= '9' ? p[i + 2] - '0' :
		    p[i + 2] >= 'a' && p[i + 2] <= 'f' ? p[i + 2] - 'a' + 10 :
		    -1;
		lo = p[i + 3] >= '0' && p[i + 3] <= '9' ? p[i + 3] - '0' :
		    p[i + 3] >= 'a' && p[i + 3] <= 'f' ? p[i + 3] - 'a' + 10 :
		    -1;
		if (hi < 0 || lo < 0)
			return err_set(err, ERR_INVALID, "%s: byte %zu: \\x needs "
			    "two lower-case hex digits", name, i + 1);
		b = hi << 4 | lo;
		if (b == 0)
			return err_set(err, ERR_INVALID, "%s: byte %zu: \\x00 (a "
			    "NUL byte) cannot appear in a record", name, i + 1);
		if (b == '\t' || b == '\n' || b == '\r' || b == '\\')
			return err_set(err, ERR_INVALID, "%s: byte %zu: \\x%02x "
			    "must be written %s", name, i + 1, (unsigned)b,
			    b == '\t' ? "\\t" : b == '\n' ? "\\n" : b == '\r' ?
			    "\\r" : "\\\\");
		if (b >= 0x20 && b < 0x7f)
			return err_set(err, ERR_INVALID, "%s: byte %zu: \\x%02x "
			    "is the printable '%c', which must be written as "
			    "itself", name, i + 1, (unsigned)b, b);
		if (b >= 0x80)
			high = 1;
		tmp[o++] = (unsigned char)b;
		i += 4;
	}
	if (o > max)
		return err_set(err, ERR_INVALID, "%s is longer than %zu bytes",
		    name, max);
	/*
	 * Escaped bytes above 0x7f are right only when they do not form
	 * valid UTF-8 together, which the escaper would have kept: the
	 * escaper's own output is the test.
	 */
	if (high) {
		buf_t again;
		int same;

		buf_init(&again, f->len);
		same = audit_escape(tmp, o, &again) == 0 &&
		    again.len == f->len && memcmp(again.data, f->p,
		    f->len) == 0;
		buf_free(&again);
		if (!same)
			return err_set(err, ERR_INVALID, "%s: bytes written as "
			    "\\xHH form valid UTF-8, which must be written as "
			    "itself", name);
	}
	memcpy(f->p, tmp, o);
	f->p[o] = '\0';
	f->len = o;
	return 0;
}

/* Splits line into at most nmax fields; *n is how many there are. */
static void
rec_split(char *line, size_t len, struct rec_field *f, size_t nmax,
    size_t *n)
{
	size_t k = 0, start = 0;
	char *tab;

	*n = 0;
	for (;;) {
		size_t i;

		tab = memchr(line + start, '\t', len - start);
		i = tab != NULL ? (size_t)(tab - line) : len;
		if (k < nmax) {
			f[k].p = line + start;
			f[k].len = i - start;
		}
		k++;
		if (tab == NULL)
			break;
		start = i + 1;
	}
	*n = k;
}

static int
rec_parse_record(struct rec_field *f, struct audit_record *r, err_t *err)
{
	char show[64];
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = rec_parse_seq(&f[1], rec_names[2], &r->seq, err)) != 0 ||
	    (rc = rec_parse_time(&f[2], rec_names[3], &r->time, err)) != 0)
		return rc;
	if (f[3].len == 1 && f[3].p[0] == '-') {
		f[3].p[0] = '\0';
	} else {
		char sha[AUDIT_HASH_HEX];

		if (rec_parse_sha256(&f[3], rec_names[4], sha, err) != 0)
			return err_set(err, ERR_INVALID, "%s '%s' is neither '-' "
			    "nor 64 lower-case hex digits", rec_names[4],
			    rec_show(&f[3], show, sizeof(show)));
		f[3].p[f[3].len] = '\0';
	}
	r->actor_sha256 = f[3].p;
	if ((rc = rec_parse_text(&f[4], rec_names[5], AUDIT_NAME_MAX,
	    err)) != 0 ||
	    (rc = rec_parse_word(&f[5], rec_names[6], err)) != 0 ||
	    (rc = rec_parse_word(&f[6], rec_names[7], err)) != 0)
		return rc;
	r->actor_name = f[4].p;
	r->role = f[5].p;
	r->action = f[6].p;
	if ((f[7].len != 2 || memcmp(f[7].p, "ok", 2) != 0) &&
	    (f[7].len != 7 || memcmp(f[7].p, "refused", 7) != 0) &&
	    (f[7].len != 6 || memcmp(f[7].p, "failed", 6) != 0))
		return err_set(err, ERR_INVALID, "%s '%s' is not ok, refused or "
		    "failed", rec_names[8], rec_show(&f[7], show,
		    sizeof(show)));
	f[7].p[f[7].len] = '\0';
	r->outcome = f[7].p;
	if ((rc = rec_parse_text(&f[8], rec_names[9], AUDIT_OBJECTS_MAX,
	    err)) != 0 ||
	    (rc = rec_parse_text(&f[9], rec_names[10], AUDIT_DETAILS_MAX,
	    err)) != 0 ||
	    (rc = rec_parse_sha256(&f[10], rec_names[11], r->prev, err)) != 0 ||
	    (rc = rec_parse_sha256(&f[11], rec_names[12], r->hash, err)) != 0)
		return rc;
	r->objects = f[8].p;
	r->details = f[9].p;
	return 0;
}

static int
b64_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Strict base64: the standard alphabet, padded, one spelling per value. */
static int
rec_parse_sig(const struct rec_field *f, const char *name,
    struct audit_checkpoint *cp, err_t *err)
{
	unsigned char raw[REC_SIG_B64_MAX / 4 * 3];
	unsigned char again[REC_SIG_B64_MAX + 1];
	size_t i, pad = 0;
	int n;

	if (f->len == 0)
		return err_set(err, ERR_INVALID, "%s is empty", name);
	if (f->len > REC_SIG_B64_MAX)
		return err_set(err, ERR_INVALID, "%s is %zu characters of "
		    "base64, longer than a signature of %d bytes", name, f->len,
		    AUDIT_SIG_MAX);
	if (f->len % 4 != 0)
		return err_set(err, ERR_INVALID, "%s: base64 of %zu characters; "
		    "the length must be a multiple of 4 (with '=' padding)",
		    name, f->len);
	if (f->p[f->len - 1] == '=')
		pad = f->p[f->len - 2] == '=' ? 2 : 1;
	for (i = 0; i < f->len - pad; i++)
		if (!b64_char((unsigned char)f->p[i]))
			return err_set(err, ERR_INVALID, "%s: character %zu is "
			    "not standard base64 (A-Z a-z 0-9 + /, '=' only as "
			    "padding at the end)", name, i + 1);
	n = EVP_DecodeBlock(raw, (const unsigned char *)f->p, (int)f->len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > AUDIT_SIG_MAX ||
	    (size_t)n - pad == 0)
		return err_set(err, ERR_INVALID, "%s is not valid base64 of a "
		    "signature", name);
	cp->sig_len = (size_t)n - pad;
	memcpy(cp->sig, raw, cp->sig_len);
	/* Unused low bits must be zero: re-encoding must give the same. */
	n = EVP_EncodeBlock(again, cp->sig, (int)cp->sig_len);
	if (n < 0 || (size_t)n != f->len || memcmp(again, f->p, f->len) != 0)
		return err_set(err, ERR_INVALID, "%s is not canonical base64 "
		    "(its last character has unused bits set)", name);
	return 0;
}

static int
rec_parse_checkpoint(struct rec_field *f, struct audit_checkpoint *cp,
    err_t *err)
{
	int rc;

	memset(cp, 0, sizeof(*cp));
	if ((rc = rec_parse_seq(&f[1], cp_names[2], &cp->seq, err)) != 0 ||
	    (rc = rec_parse_sha256(&f[2], cp_names[3], cp->hash, err)) != 0 ||
	    (rc = rec_parse_time(&f[3], cp_names[4], &cp->time, err)) != 0 ||
	    (rc = rec_parse_sha256(&f[4], cp_names[5], cp->key_sha256,
	    err)) != 0 ||
	    (rc = rec_parse_sig(&f[5], cp_names[6], cp, err)) != 0)
		return rc;
	return 0;
}

int
audit_line_parse(char *line, size_t len, enum audit_line_kind *kind,
    struct audit_record *rec, struct audit_checkpoint *cp, err_t *err)
{
	struct rec_field f[REC_FIELDS];
	char show[64];
	size_t n;

	if (line == NULL || kind == NULL || rec == NULL || cp == NULL)
		return err_set(err, ERR_INVALID, "audit_line_parse: missing "
		    "argument");
	if (len + 1 > AUDIT_LINE_MAX)
		return err_set(err, ERR_INVALID, "the line is longer than %d "
		    "bytes", AUDIT_LINE_MAX);
	if (len == 0)
		return err_set(err, ERR_INVALID, "the line is empty");
	/* Said plainly: an editor or a copy on another system does this. */
	if (line[len - 1] == '\r')
		return err_set(err, ERR_INVALID, "the line ends with CR; lines "
		    "end with LF alone (was the file converted to CRLF?)");
	rec_split(line, len, f, REC_FIELDS, &n);
	if (f[0].len == 1 && f[0].p[0] == 'R') {
		if (n != REC_FIELDS)
			return err_set(err, ERR_INVALID, "a record has %d "
			    "TAB-separated fields; this line has %zu",
			    REC_FIELDS, n);
		*kind = AUDIT_LINE_RECORD;
		return rec_parse_record(f, rec, err);
	}
	if (f[0].len == 1 && f[0].p[0] == 'C') {
		if (n != CP_FIELDS)
			return err_set(err, ERR_INVALID, "a checkpoint has %d "
			    "TAB-separated fields; this line has %zu",
			    CP_FIELDS, n);
		*kind = AUDIT_LINE_CHECKPOINT;
		return rec_parse_checkpoint(f, cp, err);
	}
	return err_set(err, ERR_INVALID, "the line starts with '%s'; a line "
	    "is a record (R) or a checkpoint (C)", rec_show(&f[0], show,
	    sizeof(show)));
}

int
audit_line_hash(const char *line, size_t len, char out[AUDIT_HASH_HEX],
    err_t *err)
{
	const char *p = line, *end = line + len, *tab;
	int k;

	/* Fields 1 to 11 end at the 11th TAB. */
	for (k = 0; k < REC_FIELDS - 1; k++) {
		if ((tab = memchr(p, '\t', (size_t)(end - p))) == NULL)
			return err_set(err, ERR_INVALID, "the line has %d "
			    "fields; a record has %d", k + 1, REC_FIELDS);
		p = tab + 1;
	}
	return rec_sha256_lf(line, (size_t)(p - 1 - line), out, err);
}

/* --- OBJECTS ------------------------------------------------------------ */

/* How OBJECTS spells c inside a value ("%25", "%20"), or NULL: as is. */
static const char *
rec_objects_escape(char c)
{
	return c == '%' ? "%25" : c == ' ' ? "%20" : NULL;
}

const char *
audit_objects_value(const char *value, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return out;
	for (; value != NULL && *value != '\0'; value++) {
		const char *esc = rec_objects_escape(*value);
		size_t n = esc != NULL ? 3 : 1;

		if (o + n >= outsz)
			break;
		memcpy(out + o, esc != NULL ? esc : value, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

int
audit_objects_add(buf_t *out, const char *key, const char *value)
{
	size_t i, start = out->len;
	int rc = 0;

	if (key == NULL || value == NULL || !rec_is_word(key, strlen(key)))
		return ERR_INVALID;
	if (out->len > 0)
		rec_put(out, " ", 1, &rc);
	rec_put(out, key, strlen(key), &rc);
	rec_put(out, "=", 1, &rc);
	for (i = 0; value[i] != '\0'; i++) {
		const char *esc = rec_objects_escape(value[i]);

		rec_put(out, esc != NULL ? esc : value + i, esc != NULL ? 3 : 1,
		    &rc);
	}
	/* A token cut short would read as another value: none at all. */
	if (rc != 0)
		out->len = start;
	return rc;
}

int
audit_objects_next(const char **pos, char *key, size_t keysz, char *val,
    size_t valsz)
{
	const char *p = *pos, *tok, *eq;
	size_t klen, o = 0;

	while (*p == ' ')
		p++;
	if (*p == '\0') {
		*pos = p;
		return 0;
	}
	tok = p;
	while (*p != '\0' && *p != ' ')
		p++;
	/* A bad token ends the walk: what follows cannot be trusted. */
	*pos = tok + strlen(tok);
	if ((eq = memchr(tok, '=', (size_t)(p - tok))) == NULL)
		return ERR_INVALID;
	klen = (size_t)(eq - tok);
	if (!rec_is_word(tok, klen) || klen >= keysz)
		return ERR_INVALID;
	memcpy(key, tok, klen);
	key[klen] = '\0';
	for (eq++; eq < p; eq++) {
		char c = *eq;

		if (c == '%') {
			if (p - eq >= 3 && eq[1] == '2' && eq[2] == '5')
				c = '%';
			else if (p - eq >= 3 && eq[1] == '2' && eq[2] == '0')
				c = ' ';
			else
				return ERR_INVALID;
			eq += 2;
		}
		if (o + 1 >= valsz)
			return ERR_INVALID;
		val[o++] = c;
	}
	val[o] = '\0';
	*pos = p;
	return 1;
}

int
audit_objects_get(const char *objects, const char *key, char *out,
    size_t outsz)
{
	char k[AUDIT_WORD_MAX + 1], v[AUDIT_OBJECTS_MAX + 1];
	const char *pos = objects;
	int r;

	if (objects == NULL || key == NULL || out == NULL || outsz == 0)
		return ERR_INVALID;
	while ((r = audit_objects_next(&pos, k, sizeof(k), v,
	    sizeof(v))) == 1) {
		if (strcmp(k, key) != 0)
			continue;
		if (strlen(v) >= outsz)
			return ERR_INVALID;
		memcpy(out, v, strlen(v) + 1);
		return 1;
	}
	return r;
}
