/* hsm_proto.c: helper message framing (see hsm_proto.h). */
#include "hsm/hsm_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
hsm_proto_is_request(uint8_t type)
{
	switch (type) {
	case HSM_MSG_OPEN:
	case HSM_MSG_RANDOM:
	case HSM_MSG_KEYGEN:
	case HSM_MSG_FIND:
	case HSM_MSG_SIGN:
	case HSM_MSG_ATTRS:
	case HSM_MSG_DECRYPT:
	case HSM_MSG_SETPIN:
	case HSM_MSG_DATAPUT:
	case HSM_MSG_DATAGET:
		return 1;
	default:
		return 0;
	}
}

int
hsm_proto_is_reply(uint8_t type)
{
	return type == HSM_MSG_OK || type == HSM_MSG_ERR;
}

int
hsm_proto_encode(buf_t *out, uint8_t type, uint32_t id,
    const unsigned char *payload, size_t len)
{
	buf_reset(out);
	if (len > HSM_PROTO_MAX - HSM_PROTO_MIN)
		return ERR_LIMIT;
	(void)buf_put_u32(out, (uint32_t)(len + HSM_PROTO_MIN));
	(void)buf_put_u8(out, type);
	(void)buf_put_u32(out, id);
	if (len > 0)
		(void)buf_put(out, payload, len);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

int
hsm_proto_check_header(const unsigned char hdr[HSM_PROTO_HDR],
    size_t *bodylen, err_t *err)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	if (n < HSM_PROTO_MIN || n > HSM_PROTO_MAX)
		return err_set(err, ERR_PROTO, "HSM helper message length %lu "
		    "is outside %u..%u", (unsigned long)n, HSM_PROTO_MIN,
		    HSM_PROTO_MAX);
	*bodylen = n;
	return 0;
}

int
hsm_proto_decode(const unsigned char *data, size_t len,
    int (*is_type)(uint8_t), uint8_t *type, uint32_t *id, buf_t *payload,
    err_t *err)
{
	size_t body;
	buf_t b;
	int r;

	if (len < HSM_PROTO_HDR)
		return err_set(err, ERR_PROTO, "truncated HSM helper message "
		    "header (%zu bytes)", len);
	if ((r = hsm_proto_check_header(data, &body, err)) != 0)
		return r;
	if (body != len - HSM_PROTO_HDR)
		return err_set(err, ERR_PROTO, "HSM helper message says %zu "
		    "bytes but has %zu", body, len - HSM_PROTO_HDR);
	buf_view(&b, data + HSM_PROTO_HDR, body);
	if (buf_get_u8(&b, type) != 0 || buf_get_u32(&b, id) != 0)
		return err_set(err, ERR_PROTO, "truncated HSM helper message");
	if (!is_type(*type))
		return err_set(err, ERR_PROTO, "unexpected HSM helper message "
		    "type %u", (unsigned)*type);
	buf_view(payload, buf_ptr(&b), buf_avail(&b));
	return 0;
}

int
hsm_proto_write(int fd, const buf_t *frame, err_t *err)
{
	const unsigned char *p = frame->data;
	size_t left = frame->len;

	while (left > 0) {
		ssize_t w = send(fd, p, left, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(err, ERR_IO, "cannot write to the HSM "
			    "helper channel: %s",
			    w < 0 ? strerror(errno) : "no progress");
		p += w;
		left -= (size_t)w;
	}
	return 0;
}

/* Reads exactly len bytes; ERR_IO on EOF or error (*got: bytes read). */
static int
proto_read_full(int fd, unsigned char *p, size_t len, size_t *got,
    err_t *err)
{
	*got = 0;
	while (len > 0) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, ERR_IO, "cannot read from the HSM "
			    "helper channel: %s", strerror(errno));
		if (r == 0)
			return err_set(err, ERR_IO, "the HSM helper channel was "
			    "closed");
		p += r;
		len -= (size_t)r;
		*got += (size_t)r;
	}
	return 0;
}

int
hsm_proto_read(int fd, buf_t *frame, int *eof, err_t *err)
{
	unsigned char *p;
	size_t body, got;
	int r;

	*eof = 0;
	buf_reset(frame);
	if (buf_reserve(frame, HSM_PROTO_HDR, &p) != 0)
		return err_set(err, ERR_NOMEM, "no memory for an HSM helper "
		    "message");
	if ((r = proto_read_full(fd, p, HSM_PROTO_HDR, &got, err)) != 0) {
		*eof = r == ERR_IO && got == 0;
		return r;
	}
	if ((r = hsm_proto_check_header(p, &body, err)) != 0)
		return r;
	if (buf_reserve(frame, body, &p) != 0)
		return err_set(err, ERR_NOMEM, "no memory for an HSM helper "
		    "message of %zu bytes", body);
	return proto_read_full(fd, p, body, &got, err);
}

int
hsm_proto_put_error(buf_t *out, int code, const char *msg)
{
	size_t n = strnlen(msg, HSM_PROTO_ERRMSG_MAX);

	if (code >= 0 || code < ERR_INTERNAL)
		code = ERR_INTERNAL;
	(void)buf_put_u32(out, (uint32_t)-code);
	(void)buf_put_string(out, msg, n);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

int
hsm_proto_get_error(buf_t *payload, err_t *err)
{
	const unsigned char *m;
	uint32_t c;
	size_t n;

	if (buf_get_u32(payload, &c) != 0 || c == 0 ||
	    c > (uint32_t)-ERR_INTERNAL ||
	    buf_get_string_ref(payload, &m, &n, HSM_PROTO_ERRMSG_MAX) != 0 ||
	    buf_avail(payload) != 0 || memchr(m, '\0', n) != NULL)
		return err_set(err, ERR_PROTO, "malformed error reply from the "
		    "HSM helper");
	return err_set(err, -(int)c, "%.*s", (int)n, (const char *)m);
}
