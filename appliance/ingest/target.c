/* target.c: revocation targets read from untrusted text (see target.h). */
#include "ingest/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/mac.h"
#include "util/buf.h"
#include "util/text.h"

/* Characters of an untrusted value quoted back in a message. */
#define TARGET_SHOW_MAX 64
/* Digits of a batch id: int64 without overflow care. */
#define TARGET_BATCH_DIGITS 18

void
target_list_init(struct target_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
target_list_free(struct target_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->mem[i]);
	free(l->mem);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
target_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* A serial in hex, colons allowed between digits; canonical into out. */
static int
target_serial(const char *v, size_t len, char *out, size_t outsz,
    err_t *err)
{
	size_t i, n = 0;
	int started = 0;

	if (len == 0)
		return err_set(err, ERR_INVALID, "the serial is missing");
	for (i = 0; i < len; i++) {
		char c = v[i];

		if (c == ':' && i > 0 && i + 1 < len && v[i - 1] != ':')
			continue;
		if (buf_hexval((unsigned char)c) < 0)
			return err_set(err, ERR_INVALID, "a serial is written "
			    "in hex digits (colons allowed between octets)");
		if (!started && c == '0')
			continue;
		started = 1;
		if (n + 1 >= outsz || n >= 40)
			return err_set(err, ERR_INVALID, "the serial is longer "
			    "than 20 octets");
		out[n++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	if (n == 0)
		return err_set(err, ERR_INVALID, "serial 0 is no certificate's "
		    "serial");
	out[n] = '\0';
	return 0;
}

/* A CA name: 1 to QUEUE_REVOCATION_CA_MAX printable ASCII, no spaces. */
static int
target_ca(const char *v, size_t len, err_t *err)
{
	size_t i;

	if (len == 0 || len > QUEUE_REVOCATION_CA_MAX)
		return err_set(err, ERR_INVALID, "a CA name is 1 to %d "
		    "characters", QUEUE_REVOCATION_CA_MAX);
	for (i = 0; i < len; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f)
			return err_set(err, ERR_INVALID, "a CA name is printable "
			    "ASCII without spaces");
	return 0;
}

/* Appends one parsed target; text and value are copied into one block. */
static int
target_push(struct target_list *l, enum queue_target_kind kind,
    const char *value, int64_t batch, const char *ca, const char *text,
    const char *file, unsigned long line, err_t *err)
{
	struct queue_revocation_target *t;
	size_t vl = strlen(value) + 1, cl = ca ? strlen(ca) + 1 : 0;
	size_t tl = strlen(text) + 1, fl = file ? strlen(file) + 1 : 0;
	char *m;

	if (l->n >= QUEUE_REVOCATION_MAX_TARGETS)
		return err_set(err, ERR_LIMIT, "more than %d targets in one "
		    "request", QUEUE_REVOCATION_MAX_TARGETS);
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct queue_revocation_target *nv;
		char **nm;

		if (ncap > QUEUE_REVOCATION_MAX_TARGETS)
			ncap = QUEUE_REVOCATION_MAX_TARGETS;
		if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		l->v = nv;
		if ((nm = realloc(l->mem, ncap * sizeof(*nm))) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		l->mem = nm;
		l->cap = ncap;
	}
	if ((m = malloc(vl + cl + tl + fl)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	t = &l->v[l->n];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->batch = batch;
	t->line = line;
	memcpy(m, value, vl);
	t->value = m;
	memcpy(m + vl, text, tl);
	t->text = m + vl;
	if (ca != NULL) {
		memcpy(m + vl + tl, ca, cl);
		t->ca = m + vl + tl;
	}
	if (file != NULL) {
		memcpy(m + vl + tl + cl, file, fl);
		t->file = m + vl + tl + cl;
	}
	l->mem[l->n++] = m;
	return 0;
}

int
target_parse(const char *text, size_t len, const char *file,
    unsigned long line, struct target_list *l, err_t *err)
{
	static const char *const kinds[] = { "serial", "batch", "mac",
	    "subject" };
	char canon[TARGET_LINE_MAX + 64], value[TARGET_LINE_MAX + 1];
	char shown[300];
	const char *v;
	size_t k, kl, vl;

	/* White space around the line means nothing. */
	while (len > 0 && target_is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && (target_is_space(text[len - 1]) ||
	    text[len - 1] == '\r'))
		len--;
	if (len == 0)
		return err_set(err, ERR_INVALID, "the target is empty");
	if (len > TARGET_LINE_MAX)
		return err_set(err, ERR_INVALID, "the target is longer than %u "
		    "bytes", (unsigned)TARGET_LINE_MAX);
	if (memchr(text, '\0', len) != NULL || !text_utf8_valid(text, len,
	    NULL))
		return err_set(err, ERR_INVALID, "the target is not UTF-8 text "
		    "(%s)", text_show(text, len, TARGET_SHOW_MAX, shown,
		    sizeof(shown)));
	for (kl = 0; kl < len && !target_is_space(text[kl]); kl++)
		;
	for (k = 0; k < 4; k++)
		if (strlen(kinds[k]) == kl && memcmp(kinds[k], text, kl) == 0)
			break;
	if (k == 4)
		return err_set(err, ERR_INVALID, "'%s' is not a target: a "
		    "target is serial HEX [ca NAME], batch ID, mac MAC or "
		    "subject TEXT", text_show(text, kl, TARGET_SHOW_MAX, shown,
		    sizeof(shown)));
	v = text + kl;
	vl = len - kl;
	while (vl > 0 && target_is_space(v[0])) {
		v++;
		vl--;
	}
	if (vl == 0)
		return err_set(err, ERR_INVALID, "%s needs a value", kinds[k]);
	memcpy(value, v, vl);
	value[vl] = '\0';
	switch ((enum queue_target_kind)k) {
	case QUEUE_TARGET_SERIAL: {
		char hex[64], ca[QUEUE_REVOCATION_CA_MAX + 1];
		size_t i = 0;

		while (i < vl && !target_is_space(v[i]))
			i++;
		if (target_serial(v, i, hex, sizeof(hex), err) != 0)
			return err->code;
		ca[0] = '\0';
		while (i < vl && target_is_space(v[i]))
			i++;
		/* The line was trimmed: anything left is "ca NAME" or wrong. */
		if (i < vl) {
			if (vl - i < 4 || v[i] != 'c' || v[i + 1] != 'a' ||
			    !target_is_space(v[i + 2]))
				return err_set(err, ERR_INVALID, "after the serial "
				    "only 'ca NAME' may follow");
			i += 3;
			while (i < vl && target_is_space(v[i]))
				i++;
			if (target_ca(v + i, vl - i, err) != 0)
				return err->code;
			memcpy(ca, v + i, vl - i);
			ca[vl - i] = '\0';
		}
		snprintf(canon, sizeof(canon), "serial %s%s%s", hex,
		    ca[0] ? " ca " : "", ca);
		return target_push(l, QUEUE_TARGET_SERIAL, hex, 0,
		    ca[0] ? ca : NULL, canon, file, line, err);
	}
	case QUEUE_TARGET_BATCH: {
		int64_t batch = 0;
		size_t i;

		if (vl > TARGET_BATCH_DIGITS || value[0] == '0')
			return err_set(err, ERR_INVALID, "a batch is named by "
			    "its number (1 to %d digits, no leading zero)",
			    TARGET_BATCH_DIGITS);
		for (i = 0; i < vl; i++) {
			if (value[i] < '0' || value[i] > '9')
				return err_set(err, ERR_INVALID, "a batch is "
				    "named by its number, not '%s'", text_show(
				    value, vl, TARGET_SHOW_MAX, shown,
				    sizeof(shown)));
			batch = batch * 10 + (value[i] - '0');
		}
		snprintf(canon, sizeof(canon), "batch %lld", (long long)batch);
		return target_push(l, QUEUE_TARGET_BATCH, value, batch, NULL,
		    canon, file, line, err);
	}
	case QUEUE_TARGET_MAC: {
		unsigned char mac[MAC_LEN];
		char hex[2 * MAC_LEN + 1], colon[MAC_STR_MAX];

		if (mac_parse(value, mac, err) != 0)
			return err->code;
		buf_hex(mac, MAC_LEN, hex, sizeof(hex));
		(void)mac_format(mac, MAC_STYLE_COLON_LOWER, colon,
		    sizeof(colon));
		snprintf(canon, sizeof(canon), "mac %s", colon);
		return target_push(l, QUEUE_TARGET_MAC, hex, 0, NULL, canon,
		    file, line, err);
	}
	case QUEUE_TARGET_SUBJECT:
	default:
		if (vl > QUEUE_REVOCATION_SUBJECT_MAX)
			return err_set(err, ERR_INVALID, "the subject is longer "
			    "than %d bytes", QUEUE_REVOCATION_SUBJECT_MAX);
		if (!text_clean(value))
			return err_set(err, ERR_INVALID, "the subject holds a "
			    "control or invisible character (%s)", text_show(
			    value, vl, TARGET_SHOW_MAX, shown, sizeof(shown)));
		snprintf(canon, sizeof(canon), "subject %s", value);
		return target_push(l, QUEUE_TARGET_SUBJECT, value, 0, NULL,
		    canon, file, line, err);
	}
}

int
target_parse_file(const char *label, const void *data, size_t len,
    struct target_list *l, diag_t *diag)
{
	const char *p = data, *end = p + len;
	unsigned long lineno = 0;
	size_t before = diag_count(diag);
	int r = 0;

	if (len > TARGET_FILE_MAX) {
		(void)diag_add(diag, label, 0, NULL, "the targets file is larger "
		    "than %u bytes", TARGET_FILE_MAX);
		return ERR_LIMIT;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q = p;
		size_t ql = ll;
		err_t e;

		lineno++;
		p += ll + (nl != NULL);
		while (ql > 0 && (target_is_space(*q) || *q == '\r')) {
			q++;
			ql--;
		}
		while (ql > 0 && (target_is_space(q[ql - 1]) ||
		    q[ql - 1] == '\r'))
			ql--;
		if (ql == 0 || *q == '#')
			continue;
		err_clear(&e);
		r = target_parse(q, ql, label, lineno, l, &e);
		if (r == ERR_NOMEM || r == ERR_LIMIT) {
			(void)diag_add(diag, label, lineno, NULL, "Line %lu - %s",
			    lineno, e.msg);
			return r;
		}
		if (r != 0 && diag_add(diag, label, lineno, NULL, "Line %lu - "
		    "%s", lineno, e.msg) != 0)
			return ERR_NOMEM;
	}
	return diag_count(diag) > before ? ERR_INVALID : 0;
}
