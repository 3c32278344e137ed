/*
 * cmd_cert.c: the inventory commands (see cmd_cert.h).
 *
 * Every answer is a table written by one small writer (cc_table) in the
 * format the console chose, so that the text a person reads, the CSV an
 * auditor loads and the JSON a script parses always hold the same rows.
 * CSV fields and JSON strings are escaped by export/results.h, the same
 * code that writes the batch results log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "daemon/cmd_cert.h"
#include "daemon/commands.h"
#include "export/results.h"
#include "ingest/mac.h"
#include "pki/certalg.h"
#include "queue/inventory.h"
#include "util/text.h"
#include "util/timeutil.h"

/* A reply's data stops growing here, so that a page always fits. */
#define CC_SOFT_MAX (CTL_REPLY_MAX / 2)
/* What a callback returns to end a walk early without an error. */
#define CC_STOP 1
/* The default windows of the expiry report, in days. */
static const int64_t cc_windows[] = { 30, 60, 90, 180 };
#define CC_WINDOWS (sizeof(cc_windows) / sizeof(cc_windows[0]))

/* --- one table, three formats ------------------------------------------- */

enum cc_fmt { CC_TEXT, CC_CSV, CC_JSON };

struct cc_col {
	const char *name;	/* CSV header and JSON key */
	const char *head;	/* text header */
	int width;		/* text: column width; -1: not in the text */
	int num;		/* JSON: a number rather than a string */
};

struct cc_table {
	enum cc_fmt fmt;
	const struct cc_col *cols;
	size_t n;
	buf_t *out;
	size_t rows;
	int continued;		/* a later page: rows follow earlier ones */
	int bad;		/* a value was not UTF-8 (JSON refuses it) */
};

static void
cc_init(struct cc_table *t, enum cc_fmt fmt, const struct cc_col *cols,
    size_t n, buf_t *out)
{
	memset(t, 0, sizeof(*t));
	t->fmt = fmt;
	t->cols = cols;
	t->n = n;
	t->out = out;
}

/* The last column the text shows: it is not padded. */
static size_t
cc_last_text(const struct cc_table *t)
{
	size_t i, last = 0;

	for (i = 0; i < t->n; i++)
		if (t->cols[i].width >= 0)
			last = i;
	return last;
}

static void
cc_text_line(struct cc_table *t, const char *const *v)
{
	size_t i, last = cc_last_text(t);
	const char *s;

	for (i = 0; i < t->n; i++) {
		if (t->cols[i].width < 0)
			continue;
		s = v[i] != NULL ? v[i] : "-";
		if (i == last)
			(void)buf_printf(t->out, "%s\n", s);
		else
			(void)buf_printf(t->out, "%-*s ", t->cols[i].width, s);
	}
}

/* The header (CSV, text) or the opening bracket (JSON). */
static void
cc_begin(struct cc_table *t)
{
	const char *heads[32];
	size_t i;

	switch (t->fmt) {
	case CC_TEXT:
		for (i = 0; i < t->n && i < 32; i++)
			heads[i] = t->cols[i].head;
		cc_text_line(t, heads);
		break;
	case CC_CSV:
		for (i = 0; i < t->n; i++) {
			if (i > 0)
				buf_put_u8(t->out, ',');
			export_csv_field(t->out, t->cols[i].name);
		}
		buf_put(t->out, "\r\n", 2);
		break;
	case CC_JSON:
		buf_put_u8(t->out, '[');
		break;
	}
}

/* One JSON object of the row's columns. */
static void
cc_obj(struct cc_table *t, const char *const *v)
{
	size_t i;

	buf_put_u8(t->out, '{');
	for (i = 0; i < t->n; i++) {
		(void)buf_printf(t->out, "%s\"%s\":", i ? "," : "",
		    t->cols[i].name);
		if (v[i] == NULL)
			buf_put(t->out, "null", 4);
		else if (t->cols[i].num)
			buf_put(t->out, v[i], strlen(v[i]));
		else if (export_json_string(t->out, v[i], strlen(v[i])) ==
		    ERR_INVALID)
			t->bad = 1;
	}
	buf_put_u8(t->out, '}');
}

static void
cc_row(struct cc_table *t, const char *const *v)
{
	size_t i;

	switch (t->fmt) {
	case CC_TEXT:
		cc_text_line(t, v);
		break;
	case CC_CSV:
		for (i = 0; i < t->n; i++) {
			if (i > 0)
				buf_put_u8(t->out, ',');
			export_csv_field(t->out, v[i]);
		}
		buf_put(t->out, "\r\n", 2);
		break;
	case CC_JSON:
		buf_put(t->out, t->rows > 0 || t->continued ? ",\n" : "\n",
		    t->rows > 0 || t->continued ? 2 : 1);
		cc_obj(t, v);
		break;
	}
	t->rows++;
}

/* The closing bracket (JSON). */
static void
cc_end(struct cc_table *t)
{
	if (t->fmt == CC_JSON)
		buf_put(t->out, "\n]", 2);
}

/* --- request fields ------------------------------------------------------ */

/* A text field: NULL when absent; ERR_INVALID when not printable. */
static int
cc_str(const struct ctl_msg *req, const char *key, const char **out,
    err_t *e)
{
	*out = NULL;
	if (ctl_get(req, key, NULL) == NULL)
		return 0;
	if ((*out = ctl_get_str(req, key)) == NULL)
		return err_set(e, ERR_INVALID, "'%s' must be printable text",
		    key);
	return 0;
}

/* A decimal field in min..max; *out keeps its value when absent. */
static int
cc_int(const struct ctl_msg *req, const char *key, int64_t min, int64_t max,
    int64_t *out, err_t *e)
{
	int64_t v;

	if (ctl_get(req, key, NULL) == NULL)
		return 0;
	if (ctl_get_int(req, key, &v) != 0 || v < min || v > max)
		return err_set(e, ERR_INVALID, "'%s' must be a number from "
		    "%lld to %lld", key, (long long)min, (long long)max);
	*out = v;
	return 0;
}

static int
cc_format(const struct ctl_msg *req, enum cc_fmt *fmt, err_t *e)
{
	const char *f;
	int r;

	*fmt = CC_TEXT;
	if ((r = cc_str(req, "format", &f, e)) != 0 || f == NULL ||
	    strcmp(f, "text") == 0)
		return r;
	if (strcmp(f, "csv") == 0)
		*fmt = CC_CSV;
	else if (strcmp(f, "json") == 0)
		*fmt = CC_JSON;
	else
		return err_set(e, ERR_INVALID, "format is text, csv or json");
	return 0;
}

/* Replies with out as "text" (text format) or "data" (CSV, JSON). */
static void
cc_reply(struct ctl_msg *reply, enum cc_fmt fmt, buf_t *out)
{
	(void)ctl_reply_ok(reply);
	(void)ctl_put(reply, fmt == CC_TEXT ? "text" : "data", out->data ?
	    out->data : (const unsigned char *)"", out->len);
}

/* A time, or NULL for none (0). */
static const char *
cc_time(int64_t t, char out[TIMEUTIL_STRLEN])
{
	if (t == 0)
		return NULL;
	timeutil_format((time_t)t, out);
	return out;
}

static const char *
cc_num(int64_t v, char *out, size_t outsz)
{
	if (v == 0)
		return NULL;
	snprintf(out, outsz, "%lld", (long long)v);
	return out;
}

/* --- certificate rows ---------------------------------------------------- */

/*
 * The columns of a certificate, in CSV and JSON order; the text shows
 * those with a width, subject last. cert-show adds the two algorithms.
 */
static const struct cc_col cc_cert_cols[] = {
	{ "serial", "SERIAL", 32, 0 },
	{ "status", "STATUS", 8, 0 },
	{ "not_after", "NOT AFTER", 20, 0 },
	{ "ca", "CA", 12, 0 },
	{ "kind", "KIND", -1, 0 },
	{ "batch", "BATCH", 6, 1 },
	{ "line", "LINE", 7, 1 },
	{ "mac", "MAC", 17, 0 },
	{ "profile", "PROFILE", -1, 0 },
	{ "subject", "SUBJECT", 0, 0 },
	{ "not_before", "NOT BEFORE", -1, 0 },
	{ "revoked_at", "REVOKED AT", -1, 0 },
	{ "reason", "REASON", -1, 0 },
	{ "invalidity_date", "INVALIDITY DATE", -1, 0 },
	{ "sha256", "SHA-256", -1, 0 },
	{ "key_algorithm", "KEY", -1, 0 },
	{ "signature_algorithm", "SIGNATURE", -1, 0 },
};
#define CC_CERT_LIST 15
#define CC_CERT_SHOW 17

/* The formatted values of one row; v points into it. */
struct cc_cert_vals {
	const char *v[CC_CERT_SHOW];
	char batch[24], line[24], mac[MAC_STR_MAX];
	char nb[TIMEUTIL_STRLEN], na[TIMEUTIL_STRLEN];
	char rev[TIMEUTIL_STRLEN], inv[TIMEUTIL_STRLEN];
	struct certalg alg;
};

/* The MAC as aa:bb:cc:dd:ee:ff, or NULL. */
static const char *
cc_mac(const char *hex, char out[MAC_STR_MAX])
{
	unsigned char mac[MAC_LEN];
	size_t n;

	if (hex == NULL || buf_unhex(hex, mac, sizeof(mac), &n) != 0 ||
	    n != MAC_LEN || mac_format(mac, MAC_STYLE_COLON_LOWER, out,
	    MAC_STR_MAX) != 0)
		return hex;
	return out;
}

static void
cc_cert_vals(const struct queue_cert_row *c, struct cc_cert_vals *x)
{
	memset(x, 0, sizeof(*x));
	x->v[0] = c->serial;
	x->v[1] = c->status;
	x->v[2] = cc_time(c->not_after, x->na);
	x->v[3] = c->ca;
	x->v[4] = c->kind;
	x->v[5] = cc_num(c->batch, x->batch, sizeof(x->batch));
	x->v[6] = cc_num(c->line, x->line, sizeof(x->line));
	x->v[7] = cc_mac(c->mac, x->mac);
	x->v[8] = c->profile;
	x->v[9] = c->subject;
	x->v[10] = cc_time(c->not_before, x->nb);
	x->v[11] = cc_time(c->revoked_at, x->rev);
	x->v[12] = c->reason;
	x->v[13] = cc_time(c->invalidity_date, x->inv);
	x->v[14] = c->sha256;
	if (c->der != NULL) {
		err_t ignored;

		if (certalg_read(c->der, c->der_len, &x->alg, &ignored) != 0) {
			snprintf(x->alg.key, sizeof(x->alg.key), "(unreadable)");
			snprintf(x->alg.sig, sizeof(x->alg.sig), "(unreadable)");
		}
		x->v[15] = x->alg.key;
		x->v[16] = x->alg.sig;
	}
}

/* Reads the filter fields of a cert-list request into f. */
static int
cc_filter(const struct ctl_msg *req, struct queue_cert_filter *f, err_t *e)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->now = (int64_t)time(NULL);
	if ((r = cc_str(req, "serial", &f->serial, e)) != 0 ||
	    (r = cc_str(req, "mac", &f->mac, e)) != 0 ||
	    (r = cc_str(req, "subject", &f->subject, e)) != 0 ||
	    (r = cc_str(req, "status", &f->status, e)) != 0 ||
	    (r = cc_str(req, "profile", &f->profile, e)) != 0 ||
	    (r = cc_str(req, "ca", &f->ca, e)) != 0 ||
	    (r = cc_str(req, "kind", &f->kind, e)) != 0 ||
	    (r = cc_int(req, "batch", 1, INT64_MAX, &f->batch, e)) != 0 ||
	    (r = cc_int(req, "expires-within", 1, QUEUE_CERT_DAYS_MAX,
	    &f->expires_within, e)) != 0 ||
	    (r = cc_int(req, "after", 1, INT64_MAX, &f->after, e)) != 0 ||
	    (r = cc_int(req, "offset", 0, INT64_MAX, &f->offset, e)) != 0)
		return r;
	return 0;
}

struct cc_list {
	struct cc_table t;
	int64_t limit, shown, last;
	int more;
};

static int
cc_list_cb(void *ctx, const struct queue_cert_row *c)
{
	struct cc_list *l = ctx;
	struct cc_cert_vals x;

	/* The row past the limit, or a full page, says only "more". */
	if (l->shown == l->limit || l->t.out->len >= CC_SOFT_MAX) {
		l->more = 1;
		return CC_STOP;
	}
	cc_cert_vals(c, &x);
	cc_row(&l->t, x.v);
	l->shown++;
	l->last = c->pos;
	return l->t.bad ? ERR_INVALID : 0;
}

/*
 * cert-list. Request: the filters (serial, batch, mac, subject, status,
 * profile, ca, kind, expires-within), format, limit (1..CMD_CERT_PAGE_MAX),
 * offset, after, and paged = 1 when the console walks every page (the
 * header, or JSON's opening bracket, only on the first page, after
 * absent; the closing bracket only on the last). Reply: text or data,
 * rows, more (1 when rows remain), next (the after of the next page) and
 * next-offset (the offset of the next page).
 */
void
cmd_cert_list(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct queue_cert_filter f;
	struct cc_list l;
	enum cc_fmt fmt;
	int64_t limit = CMD_CERT_PAGE, paged = 0;
	buf_t out;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = cc_format(req, &fmt, &e)) != 0 ||
	    (r = cc_filter(req, &f, &e)) != 0 ||
	    (r = cc_int(req, "limit", 1, CMD_CERT_PAGE_MAX, &limit,
	    &e)) != 0 ||
	    (r = cc_int(req, "paged", 0, 1, &paged, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	/* One row more than shown tells whether more follow. */
	f.limit = limit + 1;
	buf_init(&out, CTL_REPLY_MAX - 65536);
	memset(&l, 0, sizeof(l));
	cc_init(&l.t, fmt, cc_cert_cols, CC_CERT_LIST, &out);
	l.limit = limit;
	l.t.continued = paged && f.after != 0;
	if (!l.t.continued)
		cc_begin(&l.t);
	r = queue_cert_list(d->st, &f, cc_list_cb, &l, &e);
	if (r == ERR_INVALID && l.t.bad)
		err_set(&e, ERR_INVALID, "a certificate's text is not UTF-8: "
		    "it cannot be written as JSON");
	if (r == CC_STOP)
		r = 0;
	if (!paged || !l.more)
		cc_end(&l.t);
	if (fmt == CC_JSON && (!paged || !l.more))
		buf_put_u8(&out, '\n');
	if (r == 0 && fmt == CC_TEXT && l.shown == 0 && !l.t.continued) {
		buf_reset(&out);
		(void)buf_printf(&out, "No certificate matches.\n");
	} else if (r == 0 && fmt == CC_TEXT && l.more && !paged) {
		(void)buf_printf(&out, "(%lld shown; more match: ask again "
		    "with --offset %lld)\n", (long long)l.shown,
		    (long long)(f.offset + l.shown));
	}
	if (r == 0 && !buf_ok(&out))
		r = err_set(&e, ERR_LIMIT, "the list does not fit one reply: "
		    "ask for fewer rows (--limit)");
	if (r != 0) {
		(void)cmd_fail(reply, r, &e);
	} else {
		cc_reply(reply, fmt, &out);
		(void)ctl_put_int(reply, "rows", l.shown);
		(void)ctl_put_int(reply, "more", l.more);
		(void)ctl_put_int(reply, "next", l.last);
		(void)ctl_put_int(reply, "next-offset", f.offset + l.shown);
	}
	buf_free(&out);
}

/* --- one certificate ----------------------------------------------------- */

struct cc_show {
	enum cc_fmt fmt;
	int pem;
	buf_t *out;
	buf_t *pemtext;
	struct cc_table t;	/* the history's */
	err_t *e;
};

/* The certificate's DER as PEM, without parsing it again. */
static int
cc_pem(const unsigned char *der, size_t len, buf_t *out, err_t *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int r = 0;

	if (b == NULL || PEM_write_bio(b, "CERTIFICATE", "", der,
	    (long)len) <= 0 || (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    buf_put(out, p, (size_t)n) != 0)
		r = err_set_ossl(e, ERR_CRYPTO, "cannot write the PEM");
	BIO_free(b);
	return r;
}

static int
cc_show_cert(void *ctx, const struct queue_cert_row *c)
{
	struct cc_show *s = ctx;
	struct cc_table t;
	struct cc_cert_vals x;
	char shown[700];

	cc_cert_vals(c, &x);
	if (s->pem && cc_pem(c->der, c->der_len, s->pemtext, s->e) != 0)
		return s->e->code;
	if (s->fmt == CC_JSON) {
		buf_put(s->out, "{\"certificate\":", 15);
		cc_init(&t, CC_JSON, cc_cert_cols, CC_CERT_SHOW, s->out);
		cc_obj(&t, x.v);
		return t.bad ? err_set(s->e, ERR_INVALID, "the certificate's "
		    "text is not UTF-8: it cannot be written as JSON") : 0;
	}
	if (s->fmt == CC_CSV)
		return 0;
	(void)buf_printf(s->out, "Certificate %s, issued by CA '%s'\n",
	    c->serial, c->ca);
	(void)buf_printf(s->out, "  Subject:         %s\n",
	    text_show(c->subject, strlen(c->subject), 600, shown,
	    sizeof(shown)));
	(void)buf_printf(s->out, "  Kind:            %s\n", c->kind);
	(void)buf_printf(s->out, "  Status:          %s", c->status);
	if (x.v[11] != NULL)
		(void)buf_printf(s->out, " since %s, reason %s", x.v[11],
		    c->reason ? c->reason : "?");
	if (x.v[13] != NULL)
		(void)buf_printf(s->out, ", invalidity date %s", x.v[13]);
	(void)buf_printf(s->out, "\n  Valid:           %s to %s\n", x.nb, x.na);
	if (c->batch != 0)
		(void)buf_printf(s->out, "  Batch:           %lld line %lld, "
		    "profile %s\n", (long long)c->batch, (long long)c->line,
		    c->profile ? c->profile : "?");
	if (x.v[7] != NULL)
		(void)buf_printf(s->out, "  MAC:             %s\n", x.v[7]);
	(void)buf_printf(s->out, "  Key:             %s\n", x.alg.key);
	(void)buf_printf(s->out, "  Signature:       %s\n", x.alg.sig);
	(void)buf_printf(s->out, "  SHA-256:         %s\n", c->sha256);
	(void)buf_printf(s->out, "  History:\n");
	return 0;
}

static const struct cc_col cc_event_cols[] = {
	{ "at", "AT", 20, 0 },
	{ "event", "EVENT", 21, 0 },
	{ "who", "WHO", 20, 0 },
	{ "object", "OBJECT", -1, 1 },
	{ "detail", "DETAIL", 0, 0 },
};
#define CC_EVENT_COLS (sizeof(cc_event_cols) / sizeof(cc_event_cols[0]))

static int
cc_show_event(void *ctx, const struct queue_cert_event *ev)
{
	struct cc_show *s = ctx;
	char when[TIMEUTIL_STRLEN], obj[24];
	const char *v[CC_EVENT_COLS];

	v[0] = cc_time(ev->at, when);
	v[1] = ev->event;
	v[2] = ev->who;
	v[3] = cc_num(ev->object, obj, sizeof(obj));
	v[4] = ev->detail;
	if (s->fmt == CC_TEXT) {
		(void)buf_printf(s->out, "    %s  %-20s %s%s%s\n", v[0] ? v[0] :
		    "-", ev->event, ev->who ? "by " : "", ev->who ? ev->who :
		    "", ev->who ? ": " : "");
		(void)buf_printf(s->out, "%*s%s\n", 26, "", ev->detail);
		return 0;
	}
	cc_row(&s->t, v);
	return s->t.bad ? err_set(s->e, ERR_INVALID, "the history's text is "
	    "not UTF-8: it cannot be written as JSON") : 0;
}

/*
 * cert-show. Request: serial, ca (optional), format (text: the fields and
 * the history; json: {"certificate", "history", "pem"}; csv: the
 * history), pem = 1 to add the PEM (text: after the history; csv: not
 * written). Reply: text or data.
 */
void
cmd_cert_show(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct cc_show s;
	const char *serial, *ca;
	enum cc_fmt fmt;
	int64_t pem = 0;
	buf_t out, pemtext;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = cc_format(req, &fmt, &e)) != 0 ||
	    (r = cc_str(req, "serial", &serial, &e)) != 0 ||
	    (r = cc_str(req, "ca", &ca, &e)) != 0 ||
	    (r = cc_int(req, "pem", 0, 1, &pem, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	if (serial == NULL) {
		err_set(&e, ERR_INVALID, "cert-show needs 'serial'");
		(void)cmd_fail(reply, ERR_INVALID, &e);
		return;
	}
	buf_init(&out, CTL_REPLY_MAX - 65536);
	buf_init(&pemtext, 1u << 20);
	memset(&s, 0, sizeof(s));
	s.fmt = fmt;
	s.pem = (int)pem;
	s.out = &out;
	s.pemtext = &pemtext;
	s.e = &e;
	r = queue_cert_find(d->st, ca, serial, (int64_t)time(NULL),
	    cc_show_cert, &s, &e);
	if (r == 0) {
		if (fmt == CC_JSON)
			buf_put(&out, ",\"history\":", 11);
		cc_init(&s.t, fmt, cc_event_cols, CC_EVENT_COLS, &out);
		if (fmt != CC_TEXT)
			cc_begin(&s.t);
		r = queue_cert_history(d->st, ca, serial, cc_show_event, &s,
		    &e);
		if (fmt != CC_TEXT)
			cc_end(&s.t);
	}
	if (r == 0 && fmt == CC_JSON) {
		buf_put(&out, ",\"pem\":", 7);
		if (pem)
			(void)export_json_string(&out, (const char *)pemtext.data,
			    pemtext.len);
		else
			buf_put(&out, "null", 4);
		buf_put(&out, "}\n", 2);
	} else if (r == 0 && fmt == CC_TEXT && pem) {
		buf_put(&out, pemtext.data, pemtext.len);
	} else if (r == 0 && fmt == CC_CSV && s.t.rows == 0) {
		r = err_set(&e, ERR_INTERNAL, "a certificate without history");
	}
	if (r == 0 && !buf_ok(&out))
		r = err_set(&e, ERR_LIMIT, "the history does not fit one reply");
	if (r != 0)
		(void)cmd_fail(reply, r, &e);
	else
		cc_reply(reply, fmt, &out);
	buf_free(&pemtext);
	buf_free(&out);
}

/* --- reports ------------------------------------------------------------- */

static const struct cc_col cc_expiring_cols[] = {
	{ "window_days", "WINDOW", 6, 1 },
	{ "days_left", "DAYS", 5, 1 },
	{ "not_after", "NOT AFTER", 20, 0 },
	{ "serial", "SERIAL", 32, 0 },
	{ "ca", "CA", 12, 0 },
	{ "kind", "KIND", -1, 0 },
	{ "status", "STATUS", 6, 0 },
	{ "batch", "BATCH", 6, 1 },
	{ "mac", "MAC", -1, 0 },
	{ "profile", "PROFILE", -1, 0 },
	{ "subject", "SUBJECT", 0, 0 },
};
#define CC_EXPIRING_COLS (sizeof(cc_expiring_cols) / sizeof(cc_expiring_cols[0]))

static const struct cc_col cc_summary_cols[] = {
	{ "window_days", "WITHIN DAYS", 12, 1 },
	{ "certificates", "CERTIFICATES", 0, 1 },
};

struct cc_expiring {
	struct cc_table t;
	const int64_t *windows;
	size_t n;
	int64_t now;
};

static int
cc_expiring_cb(void *ctx, const struct queue_cert_row *c)
{
	struct cc_expiring *x = ctx;
	struct cc_cert_vals cv;
	char win[24], left[24];
	const char *v[CC_EXPIRING_COLS];
	size_t i;

	/* The smallest window that holds it; the list asked for the largest. */
	for (i = 0; i + 1 < x->n; i++)
		if (c->not_after <= x->now + x->windows[i] * 86400)
			break;
	if (x->t.out->len >= CC_SOFT_MAX)
		return ERR_LIMIT;
	cc_cert_vals(c, &cv);
	snprintf(win, sizeof(win), "%lld", (long long)x->windows[i]);
	snprintf(left, sizeof(left), "%lld",
	    (long long)((c->not_after - x->now) / 86400));
	v[0] = win;
	v[1] = left;
	v[2] = cv.v[2];
	v[3] = c->serial;
	v[4] = c->ca;
	v[5] = c->kind;
	v[6] = c->status;
	v[7] = cv.v[5];
	v[8] = cv.v[7];
	v[9] = c->profile;
	v[10] = c->subject;
	cc_row(&x->t, v);
	return x->t.bad ? ERR_INVALID : 0;
}

/*
 * The expiry report: certificates not revoked whose notAfter falls
 * within the window (days) or each default window, soonest first, each in
 * the smallest window that holds it, and the count within each window.
 */
static int
cc_report_expiring(struct daemon *d, const struct ctl_msg *req,
    enum cc_fmt fmt, buf_t *out, err_t *e)
{
	struct queue_cert_filter f;
	struct cc_expiring x;
	struct cc_table sum;
	char when[TIMEUTIL_STRLEN];
	int64_t days = 0, summary = 0;
	int r;

	if ((r = cc_int(req, "days", 1, QUEUE_CERT_DAYS_MAX, &days, e)) != 0 ||
	    (r = cc_int(req, "summary", 0, 1, &summary, e)) != 0)
		return r;
	memset(&x, 0, sizeof(x));
	x.now = (int64_t)time(NULL);
	x.windows = days != 0 ? &days : cc_windows;
	x.n = days != 0 ? 1 : CC_WINDOWS;
	memset(&f, 0, sizeof(f));
	f.now = x.now;
	f.unrevoked = 1;
	f.by_expiry = 1;
	if (fmt == CC_JSON)
		(void)buf_printf(out, "{\"now\":\"%s\",\"summary\":",
		    cc_time(x.now, when));
	else if (fmt == CC_TEXT)
		(void)buf_printf(out, "Certificates not revoked that expire "
		    "within the window, as of %s:\n", cc_time(x.now, when));
	if (fmt != CC_CSV || summary) {
		cc_init(&sum, fmt, cc_summary_cols, 2, out);
		cc_begin(&sum);
		for (size_t i = 0; i < x.n; i++) {
			char win[24], cnt[24];
			const char *v[2];
			int64_t n;

			f.expires_within = x.windows[i];
			if ((r = queue_cert_count(d->st, &f, &n, e)) != 0)
				return r;
			snprintf(win, sizeof(win), "%lld",
			    (long long)x.windows[i]);
			snprintf(cnt, sizeof(cnt), "%lld", (long long)n);
			v[0] = win;
			v[1] = cnt;
			cc_row(&sum, v);
		}
		cc_end(&sum);
	}
	if (fmt == CC_CSV && summary)
		return 0;
	if (fmt == CC_JSON)
		buf_put(out, ",\"certificates\":", 16);
	else if (fmt == CC_TEXT)
		buf_put(out, "\n", 1);
	f.expires_within = x.windows[x.n - 1];
	cc_init(&x.t, fmt, cc_expiring_cols, CC_EXPIRING_COLS, out);
	cc_begin(&x.t);
	r = queue_cert_list(d->st, &f, cc_expiring_cb, &x, e);
	if (r == ERR_LIMIT)
		return err_set(e, ERR_LIMIT, "the report does not fit one "
		    "reply; `airlock cert list --expires-within %lld --format "
		    "csv` gives the same certificates page by page",
		    (long long)f.expires_within);
	if (r == ERR_INVALID && x.t.bad)
		return err_set(e, ERR_INVALID, "a certificate's text is not "
		    "UTF-8: it cannot be written as JSON");
	if (r != 0)
		return r;
	cc_end(&x.t);
	if (fmt == CC_JSON)
		buf_put(out, "}", 1);
	if (fmt != CC_CSV)
		buf_put(out, "\n", 1);
	return 0;
}

static const struct cc_col cc_issuance_cols[] = {
	{ "profile", "PROFILE", 24, 0 },
	{ "operator", "OPERATOR", 24, 0 },
	{ "month", "MONTH", 7, 0 },
	{ "batches", "BATCHES", 8, 1 },
	{ "certificates", "CERTIFICATES", 0, 1 },
};

struct cc_issuance {
	struct cc_table t;
	int by_month;
	int64_t certs, batches;
};

static int
cc_issuance_cb(void *ctx, const struct queue_issuance_row *r)
{
	struct cc_issuance *x = ctx;
	char b[24], c[24];
	const char *v[5];
	size_t k = 0;

	snprintf(b, sizeof(b), "%lld", (long long)r->batches);
	snprintf(c, sizeof(c), "%lld", (long long)r->certificates);
	v[k++] = r->profile;
	v[k++] = r->operator_name;
	if (x->by_month)
		v[k++] = r->month;
	v[k++] = b;
	v[k++] = c;
	cc_row(&x->t, v);
	x->certs += r->certificates;
	x->batches += r->batches;
	return x->t.bad ? ERR_INVALID : 0;
}

/* Issued per profile and requester, by month when asked. */
static int
cc_report_issuance(struct daemon *d, const struct ctl_msg *req,
    enum cc_fmt fmt, buf_t *out, err_t *e)
{
	/* Without months, the same columns minus "month". */
	static const struct cc_col plain[] = {
		{ "profile", "PROFILE", 24, 0 },
		{ "operator", "OPERATOR", 24, 0 },
		{ "batches", "BATCHES", 8, 1 },
		{ "certificates", "CERTIFICATES", 0, 1 },
	};
	struct cc_issuance x;
	int64_t by_month = 0;
	int r;

	if ((r = cc_int(req, "by-month", 0, 1, &by_month, e)) != 0)
		return r;
	memset(&x, 0, sizeof(x));
	x.by_month = (int)by_month;
	if (fmt == CC_TEXT)
		(void)buf_printf(out, "Certificates issued from batches, per "
		    "profile and requester%s:\n", by_month ? " and month (UTC)" :
		    "");
	cc_init(&x.t, fmt, by_month ? cc_issuance_cols : plain, by_month ?
	    5 : 4, out);
	cc_begin(&x.t);
	if ((r = queue_report_issuance(d->st, x.by_month, cc_issuance_cb, &x,
	    e)) != 0)
		return x.t.bad ? err_set(e, ERR_INVALID, "a name is not UTF-8: "
		    "it cannot be written as JSON") : r;
	cc_end(&x.t);
	if (fmt == CC_JSON)
		buf_put(out, "\n", 1);
	else if (fmt == CC_TEXT)
		/* A batch issued over two months is in two rows. */
		(void)buf_printf(out, "Total: %lld certificate%s", (long long)
		    x.certs, x.certs == 1 ? "" : "s");
	if (fmt == CC_TEXT && by_month)
		buf_put(out, "\n", 1);
	else if (fmt == CC_TEXT)
		(void)buf_printf(out, " in %lld batch%s\n", (long long)x.batches,
		    x.batches == 1 ? "" : "es");
	return 0;
}

static const struct cc_col cc_alg_cols[] = {
	{ "kind", "KIND", 10, 0 },
	{ "key_algorithm", "KEY", 20, 0 },
	{ "signature_algorithm", "SIGNATURE", 26, 0 },
	{ "certificates", "CERTIFICATES", 0, 1 },
};

struct cc_algs {
	struct cc_table t;
	int64_t total;
};

static int
cc_alg_cb(void *ctx, const struct queue_alg_row *r)
{
	struct cc_algs *x = ctx;
	char n[24];
	const char *v[4];

	snprintf(n, sizeof(n), "%lld", (long long)r->certificates);
	v[0] = r->kind;
	v[1] = r->key;
	v[2] = r->sig;
	v[3] = n;
	cc_row(&x->t, v);
	x->total += r->certificates;
	return 0;
}

/* Every certificate by kind, key algorithm and signature algorithm. */
static int
cc_report_algorithms(struct daemon *d, enum cc_fmt fmt, buf_t *out,
    err_t *e)
{
	struct cc_algs x;
	int r;

	memset(&x, 0, sizeof(x));
	if (fmt == CC_TEXT)
		(void)buf_printf(out, "Certificates by kind, key algorithm and "
		    "signature algorithm:\n");
	cc_init(&x.t, fmt, cc_alg_cols, 4, out);
	cc_begin(&x.t);
	if ((r = queue_report_algorithms(d->st, cc_alg_cb, &x, e)) != 0)
		return r;
	cc_end(&x.t);
	if (fmt == CC_JSON)
		buf_put(out, "\n", 1);
	else if (fmt == CC_TEXT)
		(void)buf_printf(out, "Total: %lld certificate%s\n",
		    (long long)x.total, x.total == 1 ? "" : "s");
	return 0;
}

/*
 * report. Request: name (expiring, issuance, algorithms), format, and
 * per report: days and summary = 1 (expiring; CSV gives the details, or
 * with summary the counts), by-month = 1 (issuance). Reply: text or data.
 */
void
cmd_cert_report(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	const char *name;
	enum cc_fmt fmt;
	buf_t out;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = cc_format(req, &fmt, &e)) != 0 ||
	    (r = cc_str(req, "name", &name, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	buf_init(&out, CTL_REPLY_MAX - 65536);
	if (name != NULL && strcmp(name, "expiring") == 0)
		r = cc_report_expiring(d, req, fmt, &out, &e);
	else if (name != NULL && strcmp(name, "issuance") == 0)
		r = cc_report_issuance(d, req, fmt, &out, &e);
	else if (name != NULL && strcmp(name, "algorithms") == 0)
		r = cc_report_algorithms(d, fmt, &out, &e);
	else
		r = err_set(&e, ERR_INVALID, "no report '%s' (expiring, "
		    "issuance, algorithms)", name ? name : "");
	if (r == 0 && !buf_ok(&out))
		r = err_set(&e, ERR_LIMIT, "the report does not fit one reply");
	if (r != 0)
		(void)cmd_fail(reply, r, &e);
	else
		cc_reply(reply, fmt, &out);
	buf_free(&out);
}
