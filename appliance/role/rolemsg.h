/*
 * rolemsg.h: the messages between airlockd's process roles (airlockd.8,
 * ROLES): the parent, the store role and the ingest role.
 *
 * A message is a u32 length (big-endian, counting what follows), a u8
 * type and a payload encoded with buf_t. The length is capped at
 * ROLEMSG_MAX, so no peer can make another allocate more; a message may
 * carry one file descriptor (SCM_RIGHTS), only where the table allows it.
 *
 * Each receiver holds a table (struct rolemsg_rule) of what its peer may
 * send, in which of the receiver's states, how large, and whether with a
 * descriptor. A message the table does not allow, a bad length, a
 * truncated frame, a descriptor where none is allowed or a payload that
 * does not decode exactly is a protocol violation: the receiver stops
 * talking to that peer (it closes the channel, and the parent ends the
 * role that broke the rules).
 *
 * Messages and payloads (strings are buf_t u32-length strings):
 *  store -> ingest
 *   SETUP    u32 n, n x people-CA DER, transport-cert DER (may be empty)
 *   JUDGE    label, u64 now, u64 max_size, u8 officers_may_sign; + fd
 *   REPLY    u32 code (0 or negated ERR_*), then for code 0 the answer
 *            (see rolelink.c), else a message
 *  ingest -> store (only while a bundle is in flight)
 *   SIGNER   signer SHA-256 (64 hex)
 *   ISSUER   CA name
 *   DECRYPT  u8 extkey_op, ciphertext, u32 outmax
 *   REFUSED  / ACCEPTED / ITEMS: see rolebundle.h
 *  parent -> store
 *   INGEST   u32 generation, how the previous ingest role ended; + fd
 *  store -> parent
 *   LOST     u32 generation, why the store gave the ingest role up
 */
#ifndef AIRLOCK_ROLE_ROLEMSG_H
#define AIRLOCK_ROLE_ROLEMSG_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/sandbox.h"

/* Largest message body (type + payload) and the header's size. */
#define ROLEMSG_MAX		(1024u * 1024u)
#define ROLEMSG_HDR		4u
/* Largest payload. */
#define ROLEMSG_PAYLOAD_MAX	(ROLEMSG_MAX - 1u)
/* Text fields: labels, names, messages. */
#define ROLEMSG_TEXT_MAX	4096u

enum rolemsg_type {
	ROLEMSG_SETUP = 1,
	ROLEMSG_JUDGE = 2,
	ROLEMSG_REPLY = 3,
	ROLEMSG_SIGNER = 4,
	ROLEMSG_ISSUER = 5,
	ROLEMSG_DECRYPT = 6,
	ROLEMSG_REFUSED = 7,
	ROLEMSG_ACCEPTED = 8,
	ROLEMSG_ITEMS = 9,
	ROLEMSG_INGEST = 10,
	ROLEMSG_LOST = 11
};

/* What a receiver takes: in states (a bit mask of the receiver's). */
struct rolemsg_rule {
	uint8_t type;
	unsigned states;
	int with_fd;		/* 1: the message must carry a descriptor */
	size_t max;		/* largest payload */
};

/* "setup", "judge", ...; "unknown". */
const char *rolemsg_type_name(uint8_t type);

/*
 * Builds the message (type, payload) into out, reset first. 0, or
 * ERR_LIMIT when the body would exceed ROLEMSG_MAX.
 */
int rolemsg_encode(buf_t *out, uint8_t type, const unsigned char *payload,
    size_t len);

/*
 * Parses one whole message data[0..len): the length must match exactly.
 * payload becomes a read-only view into data. 0, or ERR_PROTO.
 */
int rolemsg_decode(const unsigned char *data, size_t len, uint8_t *type,
    buf_t *payload, err_t *err);

/*
 * Checks a decoded message against a receiver's table in state (one bit).
 * peer names the sender in the message. 0, or ERR_PROTO.
 */
int rolemsg_check(const struct rolemsg_rule *table, size_t n,
    unsigned state, uint8_t type, int has_fd, size_t len, const char *peer,
    err_t *err);

/*
 * Sends one message (no SIGPIPE) with descriptor pass_fd (-1: none).
 * 0; ERR_IO (*gone is 1 when the peer has closed its end); ERR_LIMIT.
 */
int rolemsg_send(int sock, uint8_t type, const buf_t *payload, int pass_fd,
    int *gone, err_t *err);

/*
 * Reads one message from sock into frame (reset first; its max must allow
 * ROLEMSG_HDR + ROLEMSG_MAX). *fd gets a descriptor that came with it, or
 * -1 (the caller closes it). timeout_ms < 0 waits for ever. 0; ERR_IO
 * when the peer closed (*eof 1 when cleanly, before a message began) or
 * the read failed or timed out (*eof 0); ERR_PROTO for a bad length or more than
 * one descriptor (nothing past the header is read).
 */
int rolemsg_recv(int sock, buf_t *frame, int *fd, int timeout_ms, int *eof,
    err_t *err);

/*
 * 1 when a message (or the peer's close) is waiting on sock now, else 0.
 */
int rolemsg_pending(int sock);

/* Reads a u32-length string of 1..maxlen bytes, no NUL, printable
 * (text_clean) into a fresh heap copy; 0 or ERR_PROTO. */
int rolemsg_get_text(buf_t *b, char **out, size_t maxlen, err_t *err);

/*
 * The hardening hook of each role, called once it holds what it needs:
 * sandbox_harden (no_new_privs, not dumpable, no core), then the role's
 * seccomp allowlist (sandbox_enter). The user was dropped before
 * (airlockd.c). 0, or an ERR_* saying what could not be set.
 */
int role_harden(enum sandbox_role role, err_t *err);

#endif
