/*
 * ctl.h: the messages between the console (`airlock`) and the daemon
 * (`airlockd`) over the daemon's Unix socket.
 *
 * A message is a frame: a 4-byte big-endian length, then that many bytes
 * of fields. A field is a 1-byte key length (1..CTL_KEY_MAX), the key
 * (lower-case letters, digits and '-'), a 4-byte big-endian value length
 * and the value bytes. Keys are unique within a message. Nothing else is
 * accepted: the decoder consumes the frame exactly, and any other shape
 * ends the connection (the daemon treats every console message as
 * hostile, as it does the medium).
 *
 * A request carries "cmd" (e.g. "batch-show") and its arguments; a reply
 * carries "status" ("ok" or "error"), on error "code" (the ERR_* name)
 * and "message", and otherwise whatever the command returns: "text" for
 * the console to print, and named values the console needs (a batch's
 * digest, a results file).
 *
 * One request and one reply per connection: the console connects, sends,
 * reads, closes. A message that carries a secret (a PIN) is built with
 * ctl_msg_init_secret, so its buffers are wiped when freed.
 */
#ifndef AIRLOCK_CTL_CTL_H
#define AIRLOCK_CTL_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Largest request the daemon reads (an approval is under 8 KiB). */
#define CTL_REQUEST_MAX (256u * 1024)
/* Largest reply the console reads (a 500,000-line results log fits). */
#define CTL_REPLY_MAX (128u * 1024 * 1024)
#define CTL_FIELDS_MAX 32
#define CTL_KEY_MAX 32

struct ctl_field {
	char key[CTL_KEY_MAX + 1];
	size_t off, len;		/* the value, within the message's data */
};

struct ctl_msg {
	struct ctl_field f[CTL_FIELDS_MAX];
	size_t n;
	buf_t data;		/* values, each followed by a NUL */
};

/* An empty message holding at most max bytes of values. */
void ctl_msg_init(struct ctl_msg *m, size_t max);
/* The same, for a message that carries a secret (wiped when freed). */
void ctl_msg_init_secret(struct ctl_msg *m, size_t max);
void ctl_msg_free(struct ctl_msg *m);

/* Adds a field: 0, ERR_INVALID (bad or repeated key), ERR_LIMIT. */
int ctl_put(struct ctl_msg *m, const char *key, const void *val, size_t len);
int ctl_put_str(struct ctl_msg *m, const char *key, const char *val);
int ctl_put_int(struct ctl_msg *m, const char *key, int64_t val);

/* The value of key and its length (values are followed by a NUL that
 * is not counted), or NULL when absent. */
const unsigned char *ctl_get(const struct ctl_msg *m, const char *key,
    size_t *len);

/*
 * The value of key as text: NULL when absent, or when it holds a NUL byte
 * or is not printable UTF-8 (util/text.h text_clean), so that what a peer
 * sends can be printed and logged safely.
 */
const char *ctl_get_str(const struct ctl_msg *m, const char *key);

/* The value of key as a decimal int64: 0, ERR_NOTFOUND or ERR_INVALID. */
int ctl_get_int(const struct ctl_msg *m, const char *key, int64_t *out);

/* Appends the frame (length and fields) to out. */
int ctl_encode(const struct ctl_msg *m, buf_t *out, err_t *err);

/*
 * Decodes one frame's body (without its length prefix) of len bytes into
 * m (initialised with a cap of at least len). 0, or ERR_PROTO naming the
 * offset and what is wrong.
 */
int ctl_decode(const void *body, size_t len, struct ctl_msg *m, err_t *err);

/* Writes m as one frame to fd, handling short writes and EINTR. */
int ctl_send(int fd, const struct ctl_msg *m, err_t *err);

/*
 * Reads one frame of at most max bytes from fd and decodes it into m
 * (initialised by the caller; its cap is raised to max). ERR_PROTO for a
 * frame over max or malformed, ERR_IO when the peer went away or a
 * receive timeout set on fd expired.
 */
int ctl_recv(int fd, size_t max, struct ctl_msg *m, err_t *err);

/* A reply: status ok. */
int ctl_reply_ok(struct ctl_msg *m);
/* A reply: status error with code and message from e. */
int ctl_reply_err(struct ctl_msg *m, int code, const err_t *e);

#endif
