/* query.c: filters, listings and reports over audit records (query.h). */
#include "audit/query.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/results.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Characters of a text field shown in the text listing. */
#define Q_SHOW_NAME 24
#define Q_SHOW_TEXT 400
/* Hex digits of ACTOR-SHA256 the text listing shows. */
#define Q_SHA_SHOWN 12

/* --- filters ------------------------------------------------------------ */

/* s past its leading zeros (and, for hex, "0x" and ':' separators). */
static const char *
q_num_skip(const char *s, int hex)
{
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s == '0' || (hex && *s == ':'))
		s++;
	return s;
}

/*
 * Compares two numbers written as text, ignoring leading zeros and (for
 * hex) case, "0x" and ':' separators: "0x00:0A:1b" equals "a1b".
 */
static int
q_num_eq(const char *a, const char *b, int hex)
{
	a = q_num_skip(a, hex);
	b = q_num_skip(b, hex);
	for (;;) {
		while (hex && *a == ':')
			a++;
		while (hex && *b == ':')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (hex ? buf_hexval((unsigned char)*a) < 0 ||
		    buf_hexval((unsigned char)*a) !=
		    buf_hexval((unsigned char)*b) : *a != *b)
			return 0;
		a++;
		b++;
	}
}

/*
 * 1 when OBJECTS holds a token key=V that matches want: exactly (how 0),
 * as a decimal number (how 1) or as hex (how 2).
 */
static int
q_objects_has(const char *objects, const char *key, const char *want,
    int how)
{
	char k[AUDIT_WORD_MAX + 1], v[AUDIT_OBJECTS_MAX + 1];
	const char *pos = objects;

	while (audit_objects_next(&pos, k, sizeof(k), v, sizeof(v)) == 1) {
		if (strcmp(k, key) != 0)
			continue;
		if (how == 0 ? strcmp(v, want) == 0 : q_num_eq(v, want,
		    how == 2))
			return 1;
	}
	return 0;
}

/* 1 when s is a prefix of the lower-case hex h, in any case. */
static int
q_hex_prefix(const char *h, const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		int c = s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i];

		if (h[i] == '\0' || h[i] != c)
			return 0;
	}
	return 1;
}

int
audit_filter_match(const struct audit_filter *f, const struct audit_record *r)
{
	if (f == NULL)
		return 1;
	if ((f->since != 0 && r->time < f->since) ||
	    (f->until != 0 && r->time > f->until))
		return 0;
	if (f->actor != NULL && f->actor[0] != '\0' &&
	    strcasestr(r->actor_name, f->actor) == NULL &&
	    !q_hex_prefix(r->actor_sha256, f->actor))
		return 0;
	if (f->action != NULL) {
		size_t n = strlen(f->action);

		if (n > 0 && f->action[n - 1] == '*' ?
		    strncmp(r->action, f->action, n - 1) != 0 :
		    strcmp(r->action, f->action) != 0)
			return 0;
	}
	if ((f->role != NULL && strcmp(r->role, f->role) != 0) ||
	    (f->outcome != NULL && strcmp(r->outcome, f->outcome) != 0))
		return 0;
	if (f->batch != NULL && !q_objects_has(r->objects, "batch", f->batch,
	    1))
		return 0;
	if (f->serial != NULL && !q_objects_has(r->objects, "serial",
	    f->serial, 2))
		return 0;
	if (f->object_key != NULL && f->object_value != NULL &&
	    !q_objects_has(r->objects, f->object_key, f->object_value, 0))
		return 0;
	return 1;
}

int
audit_filter_time(const char *s, int end, time_t *out, err_t *err)
{
	if (s != NULL && strlen(s) == 10) {
		char full[TIMEUTIL_STRLEN];

		snprintf(full, sizeof(full), "%s%s", s, end ? "T23:59:59Z" :
		    "T00:00:00Z");
		return timeutil_parse(full, out, err);
	}
	return timeutil_parse(s, out, err);
}

int
audit_fmt_parse(const char *s, enum audit_fmt *out)
{
	if (s != NULL && strcmp(s, "text") == 0)
		*out = AUDIT_FMT_TEXT;
	else if (s != NULL && strcmp(s, "csv") == 0)
		*out = AUDIT_FMT_CSV;
	else if (s != NULL && strcmp(s, "json") == 0)
		*out = AUDIT_FMT_JSON;
	else
		return ERR_INVALID;
	return 0;
}

/* --- cells ---------------------------------------------------------------- */

/*
 * The text CSV and JSON carry for a field: itself when valid UTF-8 (the
 * usual case: the pointer is returned), else its escaped form in tmp.
 */
static const char *
q_text(const char *s, buf_t *tmp)
{
	size_t len = strlen(s);

	if (text_utf8_valid(s, len, NULL))
		return s;
	buf_reset(tmp);
	if (audit_escape(s, len, tmp) != 0 || buf_put_u8(tmp, 0) != 0)
		return "";
	return (const char *)tmp->data;
}

int
audit_csv_cell(buf_t *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int guard, quote = 0;
	size_t i;

	if (s == NULL)
		return buf_ok(out) ? 0 : ERR_LIMIT;
	guard = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
	    s[0] == '\t' || s[0] == '\r';
	for (i = 0; p[i] != '\0' && !quote; i++)
		quote = p[i] == ',' || p[i] == '"' || p[i] < 0x20 ||
		    p[i] == 0x7f;
	if (quote)
		buf_put_u8(out, '"');
	if (guard)
		buf_put_u8(out, '\'');
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] == '"')
			buf_put_u8(out, '"');
		buf_put_u8(out, p[i]);
	}
	if (quote)
		buf_put_u8(out, '"');
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

/* A CSV cell from text that may not be UTF-8 (see q_text). */
static void
q_csv_text(buf_t *out, const char *s, buf_t *tmp)
{
	(void)audit_csv_cell(out, q_text(s, tmp));
}

/* "key": then the JSON string of s (see q_text), or null when empty. */
static void
q_json_member(buf_t *out, const char *key, const char *s, int null_empty,
    buf_t *tmp)
{
	const char *t;

	(void)buf_printf(out, ",\"%s\":", key);
	if (null_empty && s[0] == '\0') {
		buf_put(out, "null", 4);
		return;
	}
	t = q_text(s, tmp);
	(void)export_json_string(out, t, strlen(t));
}

/* Appends text already shown safely, padded with spaces to width. */
static void
q_pad(buf_t *out, const char *shown, long width)
{
	long chars = text_utf8_chars(shown);

	buf_put(out, shown, strlen(shown));
	for (; chars >= 0 && chars < width; chars++)
		buf_put_u8(out, ' ');
}

/* Appends s shown safely (text_show), at most max characters. */
static void
q_show(buf_t *out, const char *s, size_t max)
{
	char shown[4 * Q_SHOW_TEXT + 8];

	q_pad(out, text_show(s, strlen(s), max, shown, sizeof(shown)), 0);
}

/* --- listings ------------------------------------------------------------- */

static const char q_csv_head[] = "seq,time,actor_sha256,actor_name,role,"
    "action,outcome,objects,details,prev,hash\r\n";

int
audit_show_header(enum audit_fmt fmt, buf_t *out)
{
	switch (fmt) {
	case AUDIT_FMT_TEXT:
		(void)buf_printf(out, "%8s  %-20s  %-7s  %-10s  %-22s  %-*s  "
		    "%s\n", "SEQ", "TIME", "OUTCOME", "ROLE", "ACTION",
		    Q_SHOW_NAME + Q_SHA_SHOWN + 3, "ACTOR", "OBJECTS");
		break;
	case AUDIT_FMT_CSV:
		buf_put(out, q_csv_head, sizeof(q_csv_head) - 1);
		break;
	case AUDIT_FMT_JSON:
		buf_put_u8(out, '[');
		break;
	}
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

int
audit_show_record(enum audit_fmt fmt, unsigned long nth,
    const struct audit_record *r, buf_t *out)
{
	char t[TIMEUTIL_STRLEN], actor[4 * Q_SHOW_NAME + Q_SHA_SHOWN + 16];
	buf_t tmp;

	timeutil_format(r->time, t);
	buf_init(&tmp, AUDIT_LINE_MAX);
	switch (fmt) {
	case AUDIT_FMT_TEXT:
		text_show(r->actor_name, strlen(r->actor_name), Q_SHOW_NAME,
		    actor, sizeof(actor));
		if (r->actor_sha256[0] != '\0')
			snprintf(actor + strlen(actor), sizeof(actor) -
			    strlen(actor), " [%.*s]", Q_SHA_SHOWN,
			    r->actor_sha256);
		(void)buf_printf(out, "%8lld  %-20s  %-7s  %-10s  %-22s  ",
		    (long long)r->seq, t, r->outcome, r->role, r->action);
		q_pad(out, actor, Q_SHOW_NAME + Q_SHA_SHOWN + 3);
		buf_put(out, "  ", 2);
		q_show(out, r->objects, Q_SHOW_TEXT);
		buf_put_u8(out, '\n');
		if (r->details[0] != '\0') {
			buf_put(out, "          details: ", 19);
			q_show(out, r->details, Q_SHOW_TEXT);
			buf_put_u8(out, '\n');
		}
		break;
	case AUDIT_FMT_CSV:
		(void)buf_printf(out, "%lld,%s,%s,", (long long)r->seq, t,
		    r->actor_sha256);
		q_csv_text(out, r->actor_name, &tmp);
		buf_put_u8(out, ',');
		(void)audit_csv_cell(out, r->role);
		buf_put_u8(out, ',');
		(void)audit_csv_cell(out, r->action);
		buf_put_u8(out, ',');
		(void)audit_csv_cell(out, r->outcome);
		buf_put_u8(out, ',');
		q_csv_text(out, r->objects, &tmp);
		buf_put_u8(out, ',');
		q_csv_text(out, r->details, &tmp);
		(void)buf_printf(out, ",%s,%s\r\n", r->prev, r->hash);
		break;
	case AUDIT_FMT_JSON:
		(void)buf_printf(out, "%s{\"seq\":%lld,\"time\":\"%s\"",
		    nth > 0 ? ",\n" : "\n", (long long)r->seq, t);
		q_json_member(out, "actor_sha256", r->actor_sha256, 1, &tmp);
		q_json_member(out, "actor_name", r->actor_name, 0, &tmp);
		q_json_member(out, "role", r->role, 0, &tmp);
		q_json_member(out, "action", r->action, 0, &tmp);
		q_json_member(out, "outcome", r->outcome, 0, &tmp);
		q_json_member(out, "objects", r->objects, 0, &tmp);
		q_json_member(out, "details", r->details, 0, &tmp);
		q_json_member(out, "prev", r->prev, 0, &tmp);
		q_json_member(out, "hash", r->hash, 0, &tmp);
		buf_put_u8(out, '}');
		break;
	}
	buf_free(&tmp);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

int
audit_show_footer(enum audit_fmt fmt, unsigned long shown, buf_t *out)
{
	switch (fmt) {
	case AUDIT_FMT_TEXT:
		(void)buf_printf(out, "(%lu record%s)\n", shown,
		    shown == 1 ? "" : "s");
		break;
	case AUDIT_FMT_CSV:
		break;
	case AUDIT_FMT_JSON:
		buf_put(out, "\n]\n", 3);
		break;
	}
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

/* --- reports: a small map from text keys to row numbers ------------------- */

struct q_slot {
	char *key;	/* NULL: empty */
	size_t row;
};

struct q_map {
	struct q_slot *slots;
	size_t cap, n;	/* cap a power of two */
};

static uint64_t
q_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
q_map_free(struct q_map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* The slot of key: its own, or the empty one where it would go. */
static struct q_slot *
q_map_slot(const struct q_map *m, const char *key)
{
	size_t i = (size_t)q_hash(key) & (m->cap - 1);

	while (m->slots[i].key != NULL && strcmp(m->slots[i].key, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

/* 1 with *row when key is there, else 0. */
static int
q_map_get(const struct q_map *m, const char *key, size_t *row)
{
	const struct q_slot *s;

	if (m->cap == 0)
		return 0;
	s = q_map_slot(m, key);
	if (s->key == NULL)
		return 0;
	*row = s->row;
	return 1;
}

/* Adds key (not there yet) for row. 0, ERR_NOMEM or ERR_LIMIT. */
static int
q_map_put(struct q_map *m, const char *key, size_t row)
{
	struct q_slot *s;

	if (m->n >= AUDIT_REPORT_MAX_KEYS)
		return ERR_LIMIT;
	/* Kept at most half full, so probes stay short. */
	if (2 * (m->n + 1) > m->cap) {
		struct q_map bigger;
		size_t i;

		bigger.cap = m->cap ? 2 * m->cap : 64;
		bigger.n = m->n;
		if ((bigger.slots = calloc(bigger.cap,
		    sizeof(*bigger.slots))) == NULL)
			return ERR_NOMEM;
		for (i = 0; i < m->cap; i++)
			if (m->slots[i].key != NULL)
				*q_map_slot(&bigger, m->slots[i].key) =
				    m->slots[i];
		free(m->slots);
		*m = bigger;
	}
	s = q_map_slot(m, key);
	if ((s->key = strdup(key)) == NULL)
		return ERR_NOMEM;
	s->row = row;
	m->n++;
	return 0;
}

/* One counted row: who (name, sha256), what (kind or profile), counts. */
struct q_row {
	char *name, *sha256, *what;
	unsigned long a, b;
};

struct audit_report {
	enum audit_report_kind kind;
	struct q_row *rows;
	size_t n_rows, cap_rows;
	struct q_map rowmap;	/* "sha256 \x1f name \x1f what" -> row */
	struct q_map batches;	/* batch number -> issuance row */
	buf_t tmp;
};

int
audit_report_kind_parse(const char *s, enum audit_report_kind *out)
{
	static const char *const names[] = {
		"approvals", "issuance", "rejections", "crls"
	};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum audit_report_kind)i;
			return 0;
		}
	return ERR_INVALID;
}

int
audit_report_new(enum audit_report_kind kind, struct audit_report **out,
    err_t *err)
{
	struct audit_report *rep;

	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	rep->kind = kind;
	buf_init(&rep->tmp, AUDIT_LINE_MAX);
	*out = rep;
	return 0;
}

void
audit_report_free(struct audit_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->n_rows; i++) {
		free(rep->rows[i].name);
		free(rep->rows[i].sha256);
		free(rep->rows[i].what);
	}
	free(rep->rows);
	q_map_free(&rep->rowmap);
	q_map_free(&rep->batches);
	buf_free(&rep->tmp);
	free(rep);
}

int
audit_report_header(struct audit_report *rep, buf_t *out)
{
	static const char *const heads[] = {
		"officer,officer_sha256,kind,approvals,rejections\r\n",
		"operator,operator_sha256,profile,batches,certificates\r\n",
		"time,file,bundle_sha256,signer,signer_sha256,reason\r\n",
		"time,ca,number,outcome,details\r\n"
	};

	buf_put(out, heads[rep->kind], strlen(heads[rep->kind]));
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

/* The row for (sha256, name, what), made when new. 0 or ERR_*. */
static int
q_row(struct audit_report *rep, const char *sha256, const char *name,
    const char *what, size_t *row)
{
	struct q_row *nr;
	char *key;
	int rc;

	if (asprintf(&key, "%s\x1f%s\x1f%s", sha256, name, what) < 0)
		return ERR_NOMEM;
	if (q_map_get(&rep->rowmap, key, row)) {
		free(key);
		return 0;
	}
	if (rep->n_rows == rep->cap_rows) {
		size_t ncap = rep->cap_rows ? 2 * rep->cap_rows : 16;

		if ((nr = realloc(rep->rows, ncap * sizeof(*nr))) == NULL) {
			free(key);
			return ERR_NOMEM;
		}
		rep->rows = nr;
		rep->cap_rows = ncap;
	}
	nr = &rep->rows[rep->n_rows];
	memset(nr, 0, sizeof(*nr));
	nr->name = strdup(name);
	nr->sha256 = strdup(sha256);
	nr->what = strdup(what);
	rc = nr->name == NULL || nr->sha256 == NULL || nr->what == NULL ?
	    ERR_NOMEM : q_map_put(&rep->rowmap, key, rep->n_rows);
	if (rc != 0) {
		free(nr->name);
		free(nr->sha256);
		free(nr->what);
		free(key);
		return rc;
	}
	free(key);
	*row = rep->n_rows++;
	return 0;
}

/* The value of key in r's OBJECTS, or "" (also when it is malformed). */
static const char *
q_obj(const struct audit_record *r, const char *key, char *out, size_t outsz)
{
	if (audit_objects_get(r->objects, key, out, outsz) != 1)
		out[0] = '\0';
	return out;
}

static int
q_add_approval(struct audit_report *rep, const struct audit_record *r)
{
	/* The object's key, and the kind the report names it by: a CRL
	 * approval is about a CRL request. */
	static const char *const keys[] = {
		"batch", "revocation", "crl-request", "export", "lockout"
	};
	static const char *const kinds[] = {
		"batch", "revocation", "crl", "export", "lockout-clear"
	};
	char decision[32], v[AUDIT_OBJECTS_MAX + 1];
	const char *kind = NULL;
	size_t i, row;
	int rc;

	if (strcmp(r->action, "approval") != 0 || strcmp(r->outcome,
	    "ok") != 0)
		return 0;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && kind == NULL; i++)
		if (q_obj(r, keys[i], v, sizeof(v))[0] != '\0')
			kind = kinds[i];
	q_obj(r, "decision", decision, sizeof(decision));
	if (kind == NULL || (strcmp(decision, "approve") != 0 &&
	    strcmp(decision, "reject") != 0))
		return 0;
	if ((rc = q_row(rep, r->actor_sha256, r->actor_name, kind,
	    &row)) != 0)
		return rc;
	if (strcmp(decision, "approve") == 0)
		rep->rows[row].a++;
	else
		rep->rows[row].b++;
	return 0;
}

static int
q_add_issuance(struct audit_report *rep, const struct audit_record *r)
{
	char batch[AUDIT_OBJECTS_MAX + 1], profile[AUDIT_OBJECTS_MAX + 1];
	size_t row, brow;
	int rc;

	if (strcmp(r->outcome, "ok") != 0)
		return 0;
	q_obj(r, "batch", batch, sizeof(batch));
	q_obj(r, "profile", profile, sizeof(profile));
	/* The same batch however its number is written. */
	while (batch[0] == '0' && batch[1] != '\0')
		memmove(batch, batch + 1, strlen(batch));
	if (strcmp(r->action, "bundle-accepted") == 0) {
		if (batch[0] == '\0' || q_map_get(&rep->batches, batch, &brow))
			return 0;
		if ((rc = q_row(rep, r->actor_sha256, r->actor_name, profile,
		    &row)) != 0 ||
		    (rc = q_map_put(&rep->batches, batch, row)) != 0)
			return rc;
		rep->rows[row].a++;
		return 0;
	}
	if (strcmp(r->action, "certificate-issued") != 0)
		return 0;
	if (batch[0] != '\0' && q_map_get(&rep->batches, batch, &brow)) {
		/* Dup: q_row may move rep->rows. */
		char *name = strdup(rep->rows[brow].name);
		char *sha = strdup(rep->rows[brow].sha256);

		if (name == NULL || sha == NULL) {
			free(name);
			free(sha);
			return ERR_NOMEM;
		}
		rc = q_row(rep, sha, name, profile[0] != '\0' ? profile :
		    rep->rows[brow].what, &row);
		free(name);
		free(sha);
	} else {
		/* The batch's bundle is not in this log (a segment). */
		rc = q_row(rep, "", "", profile, &row);
	}
	if (rc != 0)
		return rc;
	rep->rows[row].b++;
	return 0;
}

static int
q_add_rejection(struct audit_report *rep, const struct audit_record *r,
    buf_t *out)
{
	char t[TIMEUTIL_STRLEN], v[AUDIT_OBJECTS_MAX + 1];

	if (strcmp(r->action, "bundle-rejected") != 0)
		return 0;
	timeutil_format(r->time, t);
	(void)buf_printf(out, "%s,", t);
	q_csv_text(out, q_obj(r, "file", v, sizeof(v)), &rep->tmp);
	buf_put_u8(out, ',');
	q_csv_text(out, q_obj(r, "bundle", v, sizeof(v)), &rep->tmp);
	buf_put_u8(out, ',');
	q_csv_text(out, r->actor_name, &rep->tmp);
	(void)buf_printf(out, ",%s,", r->actor_sha256);
	q_csv_text(out, r->details, &rep->tmp);
	buf_put(out, "\r\n", 2);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

static int
q_add_crl(struct audit_report *rep, const struct audit_record *r,
    buf_t *out)
{
	char t[TIMEUTIL_STRLEN], v[AUDIT_OBJECTS_MAX + 1];

	if (strcmp(r->action, "crl-issued") != 0)
		return 0;
	timeutil_format(r->time, t);
	(void)buf_printf(out, "%s,", t);
	q_csv_text(out, q_obj(r, "ca", v, sizeof(v)), &rep->tmp);
	buf_put_u8(out, ',');
	q_csv_text(out, q_obj(r, "crl", v, sizeof(v)), &rep->tmp);
	(void)buf_printf(out, ",%s,", r->outcome);
	q_csv_text(out, r->details, &rep->tmp);
	buf_put(out, "\r\n", 2);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

int
audit_report_add(struct audit_report *rep, const struct audit_record *r,
    buf_t *out)
{
	switch (rep->kind) {
	case AUDIT_REPORT_APPROVALS:
		return q_add_approval(rep, r);
	case AUDIT_REPORT_ISSUANCE:
		return q_add_issuance(rep, r);
	case AUDIT_REPORT_REJECTIONS:
		return q_add_rejection(rep, r, out);
	case AUDIT_REPORT_CRLS:
		return q_add_crl(rep, r, out);
	}
	return ERR_INVALID;
}

static int
q_row_cmp(const void *a, const void *b)
{
	const struct q_row *x = a, *y = b;
	int c;

	if ((c = strcmp(x->name, y->name)) != 0 ||
	    (c = strcmp(x->sha256, y->sha256)) != 0)
		return c;
	return strcmp(x->what, y->what);
}

int
audit_report_end(struct audit_report *rep, buf_t *out)
{
	size_t i;

	if (rep->kind != AUDIT_REPORT_APPROVALS &&
	    rep->kind != AUDIT_REPORT_ISSUANCE)
		return 0;
	/* The maps point at rows by number: they are done with. */
	q_map_free(&rep->rowmap);
	q_map_free(&rep->batches);
	qsort(rep->rows, rep->n_rows, sizeof(*rep->rows), q_row_cmp);
	for (i = 0; i < rep->n_rows; i++) {
		const struct q_row *w = &rep->rows[i];

		q_csv_text(out, w->name, &rep->tmp);
		(void)buf_printf(out, ",%s,", w->sha256);
		q_csv_text(out, w->what, &rep->tmp);
		(void)buf_printf(out, ",%lu,%lu\r\n", w->a, w->b);
	}
	return buf_ok(out) ? 0 : ERR_LIMIT;
}
