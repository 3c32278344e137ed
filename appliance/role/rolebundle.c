/* rolebundle.c: a judged bundle across the role boundary (rolebundle.h). */
#include "role/rolebundle.h"

#include <stdlib.h>
#include <string.h>

#include "pki/pkiutil.h"
#include "queue/revocation.h"
#include "role/rolemsg.h"
#include "util/text.h"

/* Hex SHA-256 and a bundle id (UUID) as they are written. */
#define RB_SHA_LEN 64u
#define RB_ID_LEN 36u
/* A file name inside the archive, in a problem or a target. */
#define RB_FILE_MAX 4096u

/* --- encoding ------------------------------------------------------------ */

/* Fills in a u32 count written as 0 at offset at, once it is known. */
static void
rb_set_u32(buf_t *b, size_t at, size_t v)
{
	b->data[at] = (unsigned char)(v >> 24);
	b->data[at + 1] = (unsigned char)(v >> 16);
	b->data[at + 2] = (unsigned char)(v >> 8);
	b->data[at + 3] = (unsigned char)v;
}

static void
rb_put_opt(buf_t *b, const char *s)
{
	(void)buf_put_u8(b, s != NULL);
	if (s != NULL)
		(void)buf_put_cstring(b, s);
}

int
rolebundle_put_refusal(buf_t *out, int code, enum bundle_stage stage,
    const struct bundle *b, const diag_t *diag)
{
	size_t i, n = 0, count_at;
	size_t dropped = diag->dropped;

	if (code >= 0 || code < ERR_INTERNAL)
		code = ERR_INTERNAL;
	(void)buf_put_u32(out, (uint32_t)-code);
	(void)buf_put_u8(out, (uint8_t)stage);
	(void)buf_put_cstring(out, b->env.signer_sha256);
	(void)buf_put_cstring(out, b->man.id);
	count_at = out->len;
	(void)buf_put_u32(out, 0);	/* dropped, filled in below */
	(void)buf_put_u32(out, 0);	/* n, filled in below */
	for (i = 0; i < diag->n; i++) {
		const struct diag_item *it = &diag->items[i];
		size_t need = 32 + (it->file ? strlen(it->file) : 0) +
		    (it->field ? strlen(it->field) : 0) + strlen(it->msg);

		/* What does not fit is counted, as diag_t counts its own. */
		if (out->len + need > ROLEMSG_PAYLOAD_MAX) {
			dropped += diag->n - i;
			break;
		}
		rb_put_opt(out, it->file);
		(void)buf_put_u32(out, (uint32_t)it->line);
		rb_put_opt(out, it->field);
		(void)buf_put_cstring(out, it->msg);
		n++;
	}
	if (!buf_ok(out))
		return ERR_LIMIT;
	rb_set_u32(out, count_at, dropped);
	rb_set_u32(out, count_at + 4, n);
	return 0;
}

int
rolebundle_put_head(buf_t *out, const struct bundle *b, size_t *n_items)
{
	const struct manifest *m = &b->man;
	const struct manifest_request *q = &m->req;

	*n_items = 0;
	(void)buf_put_cstring(out, b->env.bundle_sha256);
	(void)buf_put_cstring(out, b->env.signer_sha256);
	(void)buf_put_u8(out, (uint8_t)b->env.encrypted);
	(void)buf_put_u8(out, (uint8_t)b->env.signer_officer);
	(void)buf_put_u32(out, (uint32_t)b->env.digest_nid);
	(void)buf_put_u32(out, (uint32_t)m->version);
	(void)buf_put_u8(out, (uint8_t)m->kind);
	(void)buf_put_cstring(out, m->id);
	(void)buf_put_u64(out, (uint64_t)m->created);
	if (m->kind == MANIFEST_KIND_REVOCATION) {
		(void)buf_put_cstring(out, m->rev.reason);
		(void)buf_put_cstring(out, m->rev.message != NULL ?
		    m->rev.message : "");
		(void)buf_put_u8(out, (uint8_t)m->rev.has_invalidity_date);
		(void)buf_put_u64(out, (uint64_t)m->rev.invalidity_date);
		*n_items = m->rev.targets.n;
	} else {
		rb_put_opt(out, q->batch_name);
		rb_put_opt(out, q->batch_description);
		rb_put_opt(out, q->profile);
		(void)buf_put_u8(out, (uint8_t)q->mode);
		(void)buf_put(out, q->range.start, MAC_LEN);
		(void)buf_put_u32(out, q->range.count);
		(void)buf_put_u32(out, q->range.increment);
		rb_put_opt(out, q->csv_file);
		(void)buf_put_u8(out, (uint8_t)q->format);
		(void)buf_put_u8(out, (uint8_t)q->chain);
		(void)buf_put_u8(out, (uint8_t)q->results_log);
		(void)buf_put_u8(out, (uint8_t)q->p12_encryption);
		(void)buf_put_u8(out, q->p12_password != NULL);
		if (q->p12_password != NULL)
			(void)buf_put_string(out, q->p12_password->data,
			    q->p12_password->len);
		(void)buf_put_u64(out, (uint64_t)b->n_lines);
		(void)buf_put_u8(out, (uint8_t)b->generates_keys);
		(void)buf_put_cstring(out, b->key_types);
		(void)buf_put_string(out, b->recipient_der.data,
		    b->recipient_der.len);
		*n_items = b->lines != NULL ? b->n_lines : 0;
	}
	(void)buf_put_u32(out, (uint32_t)*n_items);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

int
rolebundle_put_items(buf_t *out, const struct bundle *b, size_t *next)
{
	int rev = b->man.kind == MANIFEST_KIND_REVOCATION;
	size_t total = rev ? b->man.rev.targets.n : b->lines != NULL ?
	    b->n_lines : 0;
	size_t k = 0, at = out->len;

	(void)buf_put_u32(out, 0);
	while (*next < total && k < ROLEBUNDLE_ITEMS_MAX &&
	    out->len + ROLEBUNDLE_ITEM_MAX <= ROLEMSG_PAYLOAD_MAX) {
		if (rev) {
			const struct queue_revocation_target *t =
			    &b->man.rev.targets.v[*next];

			(void)buf_put_cstring(out, t->text);
			(void)buf_put_cstring(out, t->file != NULL ? t->file :
			    "");
			(void)buf_put_u32(out, (uint32_t)t->line);
		} else {
			const struct bundle_line *l = &b->lines[*next];

			(void)buf_put_cstring(out, l->name);
			(void)buf_put_u8(out, (uint8_t)l->has_mac);
			(void)buf_put(out, l->mac, MAC_LEN);
			(void)buf_put_string(out, l->request_der,
			    l->request_der_len);
			rb_put_opt(out, l->fields);
			(void)buf_put_u32(out, (uint32_t)l->src_line);
		}
		(*next)++;
		k++;
	}
	if (!buf_ok(out))
		return ERR_LIMIT;
	rb_set_u32(out, at, k);
	return 0;
}

/* --- decoding ------------------------------------------------------------ */

static int
rb_bad(err_t *err, const char *what)
{
	return err_set(err, ERR_PROTO, "the ingest role sent a malformed "
	    "bundle: %s", what);
}

/* A string of at most maxlen bytes (may be empty) into dst. */
static int
rb_get_fixed(buf_t *in, char *dst, size_t dstsz)
{
	return buf_get_text(in, dst, dstsz) != 0;
}

/* An optional string: *out NULL when absent. 0, or 1 when malformed. */
static int
rb_get_opt(buf_t *in, char **out, size_t maxlen)
{
	uint8_t has;

	*out = NULL;
	if (buf_get_u8(in, &has) != 0 || has > 1)
		return 1;
	if (has == 0)
		return 0;
	return buf_get_cstring(in, out, maxlen) != 0;
}

/* 1 when s is "" or n lower-case hex digits. */
static int
rb_hex_or_empty(const char *s, size_t n)
{
	size_t i, len = strlen(s);

	if (len == 0)
		return 1;
	if (len != n)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* 1 when s is "" or a UUID as the manifest keeps it (lower case). */
static int
rb_id_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0)
		return 1;
	if (len != RB_ID_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

int
rolebundle_get_refusal(buf_t *in, int *code, enum bundle_stage *stage,
    struct bundle *b, diag_t *diag, err_t *err)
{
	uint32_t c, dropped, n, i;
	uint8_t st;

	memset(b, 0, sizeof(*b));
	if (buf_get_u32(in, &c) != 0 || c == 0 ||
	    c > (uint32_t)-ERR_INTERNAL)
		return rb_bad(err, "refusal code");
	if (buf_get_u8(in, &st) != 0 || st > BUNDLE_STAGE_OUTPUT)
		return rb_bad(err, "refusal stage");
	if (rb_get_fixed(in, b->env.signer_sha256,
	    sizeof(b->env.signer_sha256)) ||
	    !rb_hex_or_empty(b->env.signer_sha256, RB_SHA_LEN))
		return rb_bad(err, "signer digest");
	if (rb_get_fixed(in, b->man.id, sizeof(b->man.id)) ||
	    !rb_id_ok(b->man.id))
		return rb_bad(err, "bundle id");
	if (buf_get_u32(in, &dropped) != 0 || buf_get_u32(in, &n) != 0 ||
	    n > DIAG_MAX_ITEMS)
		return rb_bad(err, "problem count");
	for (i = 0; i < n; i++) {
		char *file = NULL, *field = NULL, *msg = NULL;
		uint32_t line;
		int bad;

		bad = rb_get_opt(in, &file, RB_FILE_MAX) ||
		    buf_get_u32(in, &line) != 0 ||
		    rb_get_opt(in, &field, ROLEMSG_TEXT_MAX) ||
		    buf_get_cstring(in, &msg, ROLEMSG_TEXT_MAX) != 0;
		if (!bad)
			(void)diag_add(diag, file, line, field, "%s", msg);
		free(file);
		free(field);
		free(msg);
		if (bad)
			return rb_bad(err, "a problem");
	}
	if (buf_avail(in) != 0)
		return rb_bad(err, "bytes after the refusal");
	diag->dropped += dropped > DIAG_MAX_ITEMS * 1000u ? 0 : dropped;
	*code = -(int)c;
	*stage = (enum bundle_stage)st;
	return 0;
}

int
rolebundle_get_head(buf_t *in, const struct profile_set *profiles,
    struct bundle *b, size_t *n_items, err_t *err)
{
	struct manifest *m = &b->man;
	struct manifest_request *q = &m->req;
	uint8_t u8, has_pw, kind;
	uint32_t u32, items;
	uint64_t u64;
	err_t e;

	memset(b, 0, sizeof(*b));
	buf_init(&b->recipient_der, PKI_CERT_FILE_MAX);
	*n_items = 0;
	if (rb_get_fixed(in, b->env.bundle_sha256,
	    sizeof(b->env.bundle_sha256)) ||
	    strlen(b->env.bundle_sha256) != RB_SHA_LEN ||
	    !rb_hex_or_empty(b->env.bundle_sha256, RB_SHA_LEN))
		return rb_bad(err, "bundle digest");
	if (rb_get_fixed(in, b->env.signer_sha256,
	    sizeof(b->env.signer_sha256)) ||
	    strlen(b->env.signer_sha256) != RB_SHA_LEN ||
	    !rb_hex_or_empty(b->env.signer_sha256, RB_SHA_LEN))
		return rb_bad(err, "signer digest");
	if (buf_get_u8(in, &u8) != 0 || u8 > 1)
		return rb_bad(err, "encrypted flag");
	b->env.encrypted = u8;
	if (buf_get_u8(in, &u8) != 0 || u8 > 1)
		return rb_bad(err, "officer flag");
	b->env.signer_officer = u8;
	if (buf_get_u32(in, &u32) != 0 || u32 > 100000)
		return rb_bad(err, "digest");
	b->env.digest_nid = (int)u32;
	if (buf_get_u32(in, &u32) != 0 || u32 != MANIFEST_VERSION)
		return rb_bad(err, "manifest version");
	m->version = (int)u32;
	if (buf_get_u8(in, &kind) != 0 || kind > MANIFEST_KIND_REVOCATION)
		return rb_bad(err, "kind");
	m->kind = (enum manifest_kind)kind;
	if (rb_get_fixed(in, m->id, sizeof(m->id)) || m->id[0] == '\0' ||
	    !rb_id_ok(m->id))
		return rb_bad(err, "bundle id");
	if (buf_get_u64(in, &u64) != 0 || u64 > (uint64_t)INT64_MAX)
		return rb_bad(err, "created");
	m->created = (time_t)u64;
	if (m->kind == MANIFEST_KIND_REVOCATION) {
		if (rb_get_fixed(in, m->rev.reason, sizeof(m->rev.reason)) ||
		    m->rev.reason[0] == '\0')
			return rb_bad(err, "revocation reason");
		if (buf_get_cstring(in, &m->rev.message,
		    QUEUE_REVOCATION_MESSAGE_MAX * 4) != 0)
			return rb_bad(err, "revocation message");
		if (buf_get_u8(in, &u8) != 0 || u8 > 1 ||
		    buf_get_u64(in, &u64) != 0 || u64 > (uint64_t)INT64_MAX)
			return rb_bad(err, "invalidity date");
		m->rev.has_invalidity_date = u8;
		m->rev.invalidity_date = (time_t)u64;
		target_list_init(&m->rev.targets);
		if (buf_get_u32(in, &items) != 0 || items == 0 ||
		    items > QUEUE_REVOCATION_MAX_TARGETS)
			return rb_bad(err, "target count");
	} else {
		if (rb_get_opt(in, &q->batch_name, ROLEMSG_TEXT_MAX) ||
		    q->batch_name == NULL ||
		    rb_get_opt(in, &q->batch_description, ROLEMSG_TEXT_MAX) ||
		    rb_get_opt(in, &q->profile, ROLEMSG_TEXT_MAX) ||
		    q->profile == NULL)
			return rb_bad(err, "batch name, description or profile");
		if (buf_get_u8(in, &u8) != 0 || u8 > MANIFEST_INPUT_CSV)
			return rb_bad(err, "input mode");
		q->mode = (enum manifest_input)u8;
		if (buf_get(in, q->range.start, MAC_LEN) != 0 ||
		    buf_get_u32(in, &q->range.count) != 0 ||
		    buf_get_u32(in, &q->range.increment) != 0)
			return rb_bad(err, "MAC range");
		if (q->mode == MANIFEST_INPUT_MAC_RANGE &&
		    mac_range_check(&q->range, &e) != 0)
			return rb_bad(err, e.msg);
		if (rb_get_opt(in, &q->csv_file, RB_FILE_MAX))
			return rb_bad(err, "csv file");
		if (buf_get_u8(in, &u8) != 0 || u8 > MANIFEST_FORMAT_PKCS7)
			return rb_bad(err, "output format");
		q->format = (enum manifest_format)u8;
		if (buf_get_u8(in, &u8) != 0 ||
		    u8 > MANIFEST_CHAIN_WITH_ROOT_AND_INTERMEDIATE)
			return rb_bad(err, "chain");
		q->chain = (enum manifest_chain)u8;
		if (buf_get_u8(in, &u8) != 0 || u8 > MANIFEST_LOG_JSON)
			return rb_bad(err, "results log");
		q->results_log = (enum manifest_log)u8;
		if (buf_get_u8(in, &u8) != 0 || u8 > MANIFEST_P12_COMPAT)
			return rb_bad(err, "PKCS#12 encryption");
		q->p12_encryption = (enum manifest_p12)u8;
		if (buf_get_u8(in, &has_pw) != 0 || has_pw > 1)
			return rb_bad(err, "password flag");
		if (has_pw) {
			const unsigned char *p;
			size_t n;

			if (buf_get_string_ref(in, &p, &n, SECRET_MAX) != 0 ||
			    n == 0 || secret_new(&q->p12_password) != 0 ||
			    secret_set(q->p12_password, p, n) != 0)
				return rb_bad(err, "password");
		}
		if (buf_get_u64(in, &u64) != 0 || u64 == 0 ||
		    u64 > PROFILE_MAX_BATCH)
			return rb_bad(err, "line count");
		b->n_lines = (size_t)u64;
		if (buf_get_u8(in, &u8) != 0 || u8 > 1)
			return rb_bad(err, "key generation flag");
		b->generates_keys = u8;
		if (rb_get_fixed(in, b->key_types, sizeof(b->key_types)))
			return rb_bad(err, "key types");
		{
			const unsigned char *p;
			size_t n;

			if (buf_get_string_ref(in, &p, &n,
			    PKI_CERT_FILE_MAX) != 0 || (n > 0 &&
			    buf_put(&b->recipient_der, p, n) != 0))
				return rb_bad(err, "recipient certificate");
		}
		if ((b->profile = profile_find(profiles, q->profile)) == NULL)
			return err_set(err, ERR_PROTO, "the ingest role "
			    "accepted a bundle for profile '%.64s', which this "
			    "appliance does not have", q->profile);
		if (buf_get_u32(in, &items) != 0)
			return rb_bad(err, "line count");
		if (q->mode == MANIFEST_INPUT_MAC_RANGE ?
		    items != 0 || q->range.count != b->n_lines :
		    items != b->n_lines)
			return rb_bad(err, "line count and input disagree");
		if (items > 0 && (b->lines = calloc(items,
		    sizeof(*b->lines))) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
	}
	if (buf_avail(in) != 0)
		return rb_bad(err, "bytes after the head");
	*n_items = items;
	return 0;
}

/* One line into l; 0, or 1 when malformed. */
static int
rb_get_line(buf_t *in, struct bundle_line *l)
{
	const unsigned char *p;
	uint8_t u8;
	uint32_t u32;
	size_t n;

	if (buf_get_cstring(in, &l->name, BUNDLE_NAME_MAX - 1) != 0 ||
	    l->name[0] == '\0' || buf_get_u8(in, &u8) != 0 || u8 > 1 ||
	    buf_get(in, l->mac, MAC_LEN) != 0)
		return 1;
	l->has_mac = u8;
	if (buf_get_string_ref(in, &p, &n, CSR_DER_MAX) != 0)
		return 1;
	if (n > 0) {
		if ((l->request_der = malloc(n)) == NULL)
			return 1;
		memcpy(l->request_der, p, n);
		l->request_der_len = n;
	}
	if (rb_get_opt(in, &l->fields, CSV_LINE_MAX) ||
	    buf_get_u32(in, &u32) != 0)
		return 1;
	l->src_line = u32;
	return 0;
}

int
rolebundle_get_items(buf_t *in, struct bundle *b, size_t n_items,
    size_t *have, err_t *err)
{
	uint32_t k, i;

	if (buf_get_u32(in, &k) != 0 || k == 0 || k > ROLEBUNDLE_ITEMS_MAX ||
	    k > n_items - *have)
		return rb_bad(err, "item count");
	for (i = 0; i < k; i++) {
		if (b->man.kind == MANIFEST_KIND_REVOCATION) {
			char *text = NULL, *file = NULL;
			uint32_t line;
			err_t e;
			int bad;

			bad = buf_get_cstring(in, &text, TARGET_LINE_MAX) != 0 ||
			    buf_get_cstring(in, &file, RB_FILE_MAX) != 0 ||
			    buf_get_u32(in, &line) != 0 ||
			    target_parse(text, strlen(text), file[0] ? file :
			    NULL, line, &b->man.rev.targets, &e) != 0;
			free(text);
			free(file);
			if (bad)
				return rb_bad(err, "a revocation target");
		} else if (b->lines == NULL ||
		    rb_get_line(in, &b->lines[*have])) {
			return rb_bad(err, "a line");
		}
		(*have)++;
	}
	if (buf_avail(in) != 0)
		return rb_bad(err, "bytes after the items");
	return 0;
}
