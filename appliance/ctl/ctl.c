/* ctl.c: see ctl.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "util/text.h"

void
ctl_msg_init(struct ctl_msg *m, size_t max)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->data, max);
}

void
ctl_msg_init_secret(struct ctl_msg *m, size_t max)
{
	ctl_msg_init(m, max);
	buf_set_secret(&m->data);
}

void
ctl_msg_free(struct ctl_msg *m)
{
	buf_free(&m->data);
	m->n = 0;
}

static int
ctl_key_ok(const char *key, size_t len)
{
	size_t i;

	if (len == 0 || len > CTL_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return 0;
	}
	return 1;
}

static const struct ctl_field *
ctl_find(const struct ctl_msg *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->f[i].key, key) == 0)
			return &m->f[i];
	return NULL;
}

int
ctl_put(struct ctl_msg *m, const char *key, const void *val, size_t len)
{
	struct ctl_field *f;
	size_t klen = key != NULL ? strlen(key) : 0;
	static const unsigned char nul = 0;

	if (!ctl_key_ok(key, klen) || ctl_find(m, key) != NULL)
		return ERR_INVALID;
	if (m->n >= CTL_FIELDS_MAX || len > UINT32_MAX)
		return ERR_LIMIT;
	f = &m->f[m->n];
	f->off = m->data.len;
	f->len = len;
	if (buf_put(&m->data, val, len) != 0 ||
	    buf_put(&m->data, &nul, 1) != 0)
		return m->data.failed ? ERR_LIMIT : ERR_NOMEM;
	memcpy(f->key, key, klen + 1);
	m->n++;
	return 0;
}

int
ctl_put_str(struct ctl_msg *m, const char *key, const char *val)
{
	return ctl_put(m, key, val, strlen(val));
}

int
ctl_put_int(struct ctl_msg *m, const char *key, int64_t val)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)val);
	return ctl_put_str(m, key, s);
}

const unsigned char *
ctl_get(const struct ctl_msg *m, const char *key, size_t *len)
{
	const struct ctl_field *f = ctl_find(m, key);

	if (f == NULL)
		return NULL;
	if (len != NULL)
		*len = f->len;
	return m->data.data + f->off;
}

const char *
ctl_get_str(const struct ctl_msg *m, const char *key)
{
	const unsigned char *v;
	size_t len;

	if ((v = ctl_get(m, key, &len)) == NULL)
		return NULL;
	if (memchr(v, '\0', len) != NULL || !text_clean((const char *)v))
		return NULL;
	return (const char *)v;
}

int
ctl_get_int(const struct ctl_msg *m, const char *key, int64_t *out)
{
	const char *s = ctl_get_str(m, key);
	char *end;
	long long v;

	if (s == NULL)
		return ctl_get(m, key, NULL) == NULL ? ERR_NOTFOUND :
		    ERR_INVALID;
	if (*s == '\0' || strlen(s) > 20 || (*s == '0' && s[1] != '\0'))
		return ERR_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return ERR_INVALID;
	*out = v;
	return 0;
}

int
ctl_encode(const struct ctl_msg *m, buf_t *out, err_t *err)
{
	size_t i, body = 0;

	for (i = 0; i < m->n; i++)
		body += 1 + strlen(m->f[i].key) + 4 + m->f[i].len;
	if (body > UINT32_MAX)
		return err_set(err, ERR_LIMIT, "message too large");
	buf_put_u32(out, (uint32_t)body);
	for (i = 0; i < m->n; i++) {
		size_t kl = strlen(m->f[i].key);

		buf_put_u8(out, (uint8_t)kl);
		buf_put(out, m->f[i].key, kl);
		buf_put_string(out, m->data.data + m->f[i].off, m->f[i].len);
	}
	if (!buf_ok(out))
		return err_set(err, ERR_LIMIT, "message of %zu bytes does not "
		    "fit", body);
	return 0;
}

int
ctl_decode(const void *body, size_t len, struct ctl_msg *m, err_t *err)
{
	buf_t b;
	uint8_t kl;
	char key[CTL_KEY_MAX + 1];
	const unsigned char *v;
	size_t vl;

	buf_view(&b, body, len);
	while (buf_avail(&b) > 0) {
		size_t at = b.off;
		int r;

		if (buf_get_u8(&b, &kl) != 0 || kl == 0 || kl > CTL_KEY_MAX ||
		    buf_get(&b, key, kl) != 0)
			return err_set(err, ERR_PROTO, "message: bad field key "
			    "at offset %zu", at);
		key[kl] = '\0';
		if (!ctl_key_ok(key, kl))
			return err_set(err, ERR_PROTO, "message: field key at "
			    "offset %zu has characters other than a-z 0-9 -",
			    at);
		if (buf_get_string_ref(&b, &v, &vl, len) != 0)
			return err_set(err, ERR_PROTO, "message: field '%s' at "
			    "offset %zu runs past the end", key, at);
		if ((r = ctl_put(m, key, v, vl)) != 0)
			return err_set(err, ERR_PROTO, "message: field '%s' at "
			    "offset %zu is %s", key, at, r == ERR_INVALID ?
			    "repeated" : "over the limits");
	}
	return 0;
}

static int
ctl_write_all(int fd, const unsigned char *p, size_t n, err_t *err)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(err, ERR_IO, "console connection: %s",
			    w < 0 ? strerror(errno) : "closed");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
ctl_read_all(int fd, unsigned char *p, size_t n, err_t *err)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, ERR_IO, "console connection: %s",
			    errno == EAGAIN || errno == EWOULDBLOCK ?
			    "timed out" : strerror(errno));
		if (r == 0)
			return err_set(err, ERR_IO, "console connection "
			    "closed mid-message");
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
ctl_send(int fd, const struct ctl_msg *m, err_t *err)
{
	buf_t out;
	int r;

	buf_init(&out, (size_t)UINT32_MAX + 4);
	if (m->data.wipe)
		buf_set_secret(&out);
	if ((r = ctl_encode(m, &out, err)) == 0)
		r = ctl_write_all(fd, out.data, out.len, err);
	buf_free(&out);
	return r;
}

int
ctl_recv(int fd, size_t max, struct ctl_msg *m, err_t *err)
{
	unsigned char hdr[4];
	unsigned char *body;
	uint32_t len;
	int r;

	if ((r = ctl_read_all(fd, hdr, 4, err)) != 0)
		return r;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len > max)
		return err_set(err, ERR_PROTO, "message of %u bytes is over "
		    "the limit of %zu", len, max);
	if ((body = malloc(len ? len : 1)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	m->data.max = max + CTL_FIELDS_MAX;
	if ((r = ctl_read_all(fd, body, len, err)) == 0)
		r = ctl_decode(body, len, m, err);
	if (m->data.wipe)
		explicit_bzero(body, len);
	free(body);
	return r;
}

int
ctl_reply_ok(struct ctl_msg *m)
{
	return ctl_put_str(m, "status", "ok");
}

int
ctl_reply_err(struct ctl_msg *m, int code, const err_t *e)
{
	int r;

	if ((r = ctl_put_str(m, "status", "error")) != 0)
		return r;
	if ((r = ctl_put_str(m, "code", err_code_name(code))) != 0)
		return r;
	return ctl_put_str(m, "message", e != NULL && e->msg[0] ? e->msg :
	    "failed");
}
