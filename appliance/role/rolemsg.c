/* rolemsg.c: framing of the messages between process roles (rolemsg.h). */
#include "role/rolemsg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/text.h"

static const char *const rolemsg_names[] = {
	"unknown", "setup", "judge", "reply", "signer", "issuer", "decrypt",
	"refused", "accepted", "items", "ingest", "lost"
};

const char *
rolemsg_type_name(uint8_t type)
{
	return type < sizeof(rolemsg_names) / sizeof(rolemsg_names[0]) ?
	    rolemsg_names[type] : "unknown";
}

int
rolemsg_encode(buf_t *out, uint8_t type, const unsigned char *payload,
    size_t len)
{
	buf_reset(out);
	if (len > ROLEMSG_PAYLOAD_MAX)
		return ERR_LIMIT;
	(void)buf_put_u32(out, (uint32_t)(len + 1));
	(void)buf_put_u8(out, type);
	if (len > 0)
		(void)buf_put(out, payload, len);
	return buf_ok(out) ? 0 : ERR_LIMIT;
}

/* The body length a header announces; 0 or ERR_PROTO. */
static int
rolemsg_header(const unsigned char hdr[ROLEMSG_HDR], size_t *body,
    err_t *err)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	if (n < 1 || n > ROLEMSG_MAX)
		return err_set(err, ERR_PROTO, "role message length %lu is "
		    "outside 1..%u", (unsigned long)n, ROLEMSG_MAX);
	*body = n;
	return 0;
}

int
rolemsg_decode(const unsigned char *data, size_t len, uint8_t *type,
    buf_t *payload, err_t *err)
{
	size_t body = 0;
	int r;

	if (len < ROLEMSG_HDR + 1)
		return err_set(err, ERR_PROTO, "truncated role message (%zu "
		    "bytes)", len);
	if ((r = rolemsg_header(data, &body, err)) != 0)
		return r;
	if (body != len - ROLEMSG_HDR)
		return err_set(err, ERR_PROTO, "role message says %zu bytes "
		    "but has %zu", body, len - ROLEMSG_HDR);
	*type = data[ROLEMSG_HDR];
	buf_view(payload, data + ROLEMSG_HDR + 1, body - 1);
	return 0;
}

int
rolemsg_check(const struct rolemsg_rule *table, size_t n, unsigned state,
    uint8_t type, int has_fd, size_t len, const char *peer, err_t *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct rolemsg_rule *t = &table[i];

		if (t->type != type)
			continue;
		if ((t->states & state) == 0)
			break;
		if (t->with_fd != has_fd)
			return err_set(err, ERR_PROTO, "the %s role sent a %s "
			    "message %s a file descriptor", peer,
			    rolemsg_type_name(type), has_fd ? "with" :
			    "without");
		if (len > t->max)
			return err_set(err, ERR_PROTO, "the %s role sent a %s "
			    "message of %zu bytes (at most %zu)", peer,
			    rolemsg_type_name(type), len, t->max);
		return 0;
	}
	return err_set(err, ERR_PROTO, "the %s role may not send message "
	    "type %u (%s) now", peer, (unsigned)type, rolemsg_type_name(type));
}

int
rolemsg_send(int sock, uint8_t type, const buf_t *payload, int pass_fd,
    int *gone, err_t *err)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	buf_t frame;
	size_t left;
	const unsigned char *p;
	int r, first = 1;

	*gone = 0;
	buf_init(&frame, ROLEMSG_HDR + ROLEMSG_MAX);
	buf_set_secret(&frame);
	if ((r = rolemsg_encode(&frame, type, payload != NULL ? payload->data :
	    NULL, payload != NULL ? payload->len : 0)) != 0) {
		buf_free(&frame);
		return err_set(err, r, "role message %s too large",
		    rolemsg_type_name(type));
	}
	p = frame.data;
	left = frame.len;
	while (left > 0) {
		struct iovec iov = { (void *)(uintptr_t)p, left };
		struct msghdr m;
		ssize_t w;

		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		if (first && pass_fd >= 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			m.msg_control = ctl.space;
			m.msg_controllen = sizeof(ctl.space);
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
		}
		w = sendmsg(sock, &m, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*gone = w < 0 && (errno == EPIPE ||
			    errno == ECONNRESET);
			r = err_set(err, ERR_IO, "cannot send a %s message: %s",
			    rolemsg_type_name(type), w < 0 ? strerror(errno) :
			    "no progress");
			buf_free(&frame);
			return r;
		}
		first = 0;
		p += w;
		left -= (size_t)w;
	}
	buf_free(&frame);
	return 0;
}

/* Waits until sock is readable; 0 or ERR_IO on timeout or failure. */
static int
rolemsg_wait(int sock, int timeout_ms, err_t *err)
{
	struct pollfd pf = { sock, POLLIN, 0 };
	int n;

	/* Waiting for ever is the blocking read itself: the ingest role's
	 * sandbox need not allow poll. */
	if (timeout_ms < 0)
		return 0;
	while ((n = poll(&pf, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (n == 0)
		return err_set(err, ERR_IO, "no role message in %d ms",
		    timeout_ms);
	if (n < 0)
		return err_set(err, ERR_IO, "poll: %s", strerror(errno));
	return 0;
}

/*
 * Reads exactly len bytes; a descriptor may come only with the first
 * bytes of the header (fd_ok). *got counts bytes read; ERR_IO on EOF or
 * error, ERR_PROTO for descriptors out of place.
 */
static int
rolemsg_read_full(int sock, unsigned char *p, size_t len, int fd_ok,
    int *fd, int timeout_ms, size_t *got, int *closed, err_t *err)
{
	*got = 0;
	*closed = 0;
	while (len > 0) {
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(2 * sizeof(int))];
		} ctl;
		struct iovec iov = { p, len };
		struct msghdr m;
		struct cmsghdr *c;
		ssize_t n;
		int r;

		if ((r = rolemsg_wait(sock, timeout_ms, err)) != 0)
			return r;
		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = ctl.space;
		m.msg_controllen = sizeof(ctl.space);
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, ERR_IO, "cannot read a role "
			    "message: %s", strerror(errno));
		for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
			size_t k, nfd;

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < nfd; k++) {
				int v;

				memcpy(&v, CMSG_DATA(c) + k * sizeof(int),
				    sizeof(int));
				if (fd_ok && *fd == -1 && *got == 0 && k == 0)
					*fd = v;
				else
					close(v);
			}
			if (nfd != 1 || *got != 0 || !fd_ok)
				return err_set(err, ERR_PROTO, "descriptors "
				    "out of place in a role message");
		}
		if ((m.msg_flags & MSG_CTRUNC) != 0)
			return err_set(err, ERR_PROTO, "too many descriptors "
			    "with a role message");
		if (n == 0) {
			*closed = 1;
			return err_set(err, ERR_IO, "the role channel was "
			    "closed");
		}
		p += n;
		len -= (size_t)n;
		*got += (size_t)n;
	}
	return 0;
}

int
rolemsg_recv(int sock, buf_t *frame, int *fd, int timeout_ms, int *eof,
    err_t *err)
{
	unsigned char *p;
	size_t body = 0, got;
	int r, closed;

	*eof = 0;
	*fd = -1;
	buf_reset(frame);
	if (buf_reserve(frame, ROLEMSG_HDR, &p) != 0)
		return err_set(err, ERR_NOMEM, "no memory for a role message");
	if ((r = rolemsg_read_full(sock, p, ROLEMSG_HDR, 1, fd, timeout_ms,
	    &got, &closed, err)) != 0) {
		*eof = closed && got == 0 && *fd == -1;
		goto fail;
	}
	if ((r = rolemsg_header(p, &body, err)) != 0)
		goto fail;
	if (buf_reserve(frame, body, &p) != 0) {
		r = err_set(err, ERR_NOMEM, "no memory for a role message of "
		    "%zu bytes", body);
		goto fail;
	}
	if ((r = rolemsg_read_full(sock, p, body, 0, fd, timeout_ms, &got,
	    &closed, err)) == 0)
		return 0;
fail:
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

int
rolemsg_pending(int sock)
{
	struct pollfd pf = { sock, POLLIN, 0 };

	return poll(&pf, 1, 0) == 1;
}

int
rolemsg_get_text(buf_t *b, char **out, size_t maxlen, err_t *err)
{
	*out = NULL;
	if (buf_get_cstring(b, out, maxlen) != 0 || **out == '\0' ||
	    !text_clean(*out)) {
		free(*out);
		*out = NULL;
		return err_set(err, ERR_PROTO, "a text field of a role message "
		    "is missing, empty, too long or not printable");
	}
	return 0;
}

int
role_harden(enum sandbox_role role, err_t *err)
{
	int r;

	if ((r = sandbox_harden(err)) != 0)
		return r;
	return sandbox_enter(role, err);
}
