/*
 * hsm_proto.h: framing of the messages between Airlock and its HSM helper.
 *
 * A frame is a u32 length (big-endian, counting what follows), a u8 message
 * type, a u32 request id and a payload encoded with buf_t. The length is
 * capped at HSM_PROTO_MAX so that neither side can be made to allocate more;
 * a frame with a bad length, an unexpected type or a wrong id is a protocol
 * violation that ends the conversation.
 *
 * Requests and their payloads (strings are buf_t u32-length strings):
 *   OPEN    module_path, token, serial, manufacturer, model, u8 has_pin, pin
 *           -> OK label, serial, manufacturer, model, u8 logged_in
 *   RANDOM  u32 n (<= HSM_PROTO_RANDOM_MAX)       -> OK bytes
 *   KEYGEN  u8 keytype, u32 bits, u32 curve (HSM_PROTO_CURVE_*), label,
 *           u32 usage                               -> OK key record
 *   FIND    label, id, u8 class (HSM_PROTO_CLASS_*) -> OK key record
 *   SIGN    label, id, u8 op (extkey_op), input, u32 sigmax -> OK signature
 *   ATTRS   label, id -> OK u8 token, private, sensitive, always_sensitive,
 *           extractable, never_extractable, sign, decrypt, derive, unwrap
 *   DECRYPT label, id, u8 mech (HSM_PROTO_DECRYPT_*), ciphertext
 *           (<= HSM_PROTO_CIPHER_MAX), u32 outmax   -> OK plaintext
 *   SETPIN  old PIN, new PIN (each 1..HSM_PROTO_PIN_MAX) -> OK (empty)
 *   DATAPUT label, value (<= HSM_PROTO_PLAIN_MAX)  -> OK (empty)
 *   DATAGET label                                   -> OK value
 * Key record: label, id, SubjectPublicKeyInfo DER, u8 keytype.
 * Any request may instead get ERR: u32 code (negated ERR_*), message.
 */
#ifndef AIRLOCK_HSM_HSM_PROTO_H
#define AIRLOCK_HSM_HSM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Largest frame body (type + id + payload), and the header size. */
#define HSM_PROTO_MAX		(256u * 1024u)
#define HSM_PROTO_HDR		4u
/* Smallest body: the type and the request id. */
#define HSM_PROTO_MIN		5u

/* Field limits shared by both ends. */
#define HSM_PROTO_RANDOM_MAX	1024u
#define HSM_PROTO_LABEL_MAX	128u
#define HSM_PROTO_ID_MAX	64u
#define HSM_PROTO_TEXT_MAX	4096u
#define HSM_PROTO_PIN_MAX	256u
#define HSM_PROTO_SIGIN_MAX	1024u
#define HSM_PROTO_SIG_MAX	1024u
#define HSM_PROTO_SPKI_MAX	4096u
#define HSM_PROTO_CIPHER_MAX	1024u
#define HSM_PROTO_PLAIN_MAX	1024u
/* Booleans in an ATTRS reply. */
#define HSM_PROTO_NATTRS	10u
#define HSM_PROTO_ERRMSG_MAX	(ERR_MSG_MAX - 1)

enum hsm_proto_type {
	HSM_MSG_OPEN = 1,
	HSM_MSG_RANDOM = 2,
	HSM_MSG_KEYGEN = 3,
	HSM_MSG_FIND = 4,
	HSM_MSG_SIGN = 5,
	HSM_MSG_ATTRS = 6,
	/* 7 stays unassigned: tests use it as the example unknown type. */
	HSM_MSG_DECRYPT = 8,
	HSM_MSG_SETPIN = 9,
	HSM_MSG_DATAPUT = 10,
	HSM_MSG_DATAGET = 11,
	HSM_MSG_OK = 64,
	HSM_MSG_ERR = 65
};

#define HSM_PROTO_CURVE_P256	1
#define HSM_PROTO_CURVE_P384	2

#define HSM_PROTO_CLASS_PRIVATE	1
#define HSM_PROTO_CLASS_PUBLIC	2

/* DECRYPT mechanisms: CKM_RSA_PKCS and CKM_RSA_X_509, nothing else. */
#define HSM_PROTO_DECRYPT_PKCS1	1
#define HSM_PROTO_DECRYPT_RAW	2

/* 1 when type is a request the helper knows, else 0. */
int hsm_proto_is_request(uint8_t type);

/* 1 when type is a reply (OK or ERR), else 0. */
int hsm_proto_is_reply(uint8_t type);

/*
 * Builds the frame for (type, id, payload) into out, which is reset first.
 * Returns 0, or ERR_LIMIT when the body would exceed HSM_PROTO_MAX.
 */
int hsm_proto_encode(buf_t *out, uint8_t type, uint32_t id,
    const unsigned char *payload, size_t len);

/*
 * Checks a frame header: 0 and *bodylen, or ERR_PROTO when the length is
 * below HSM_PROTO_MIN or above HSM_PROTO_MAX.
 */
int hsm_proto_check_header(const unsigned char hdr[HSM_PROTO_HDR],
    size_t *bodylen, err_t *err);

/*
 * Parses one whole frame data[0..len): the length must match exactly and
 * the type must satisfy is_type (hsm_proto_is_request or _is_reply).
 * payload becomes a read-only view into data. 0, or ERR_PROTO.
 */
int hsm_proto_decode(const unsigned char *data, size_t len,
    int (*is_type)(uint8_t), uint8_t *type, uint32_t *id, buf_t *payload,
    err_t *err);

/* Writes a whole frame to fd (no SIGPIPE); 0 or ERR_IO. */
int hsm_proto_write(int fd, const buf_t *frame, err_t *err);

/*
 * Reads one frame from fd into frame (reset first; its max must allow
 * HSM_PROTO_HDR + HSM_PROTO_MAX). 0; ERR_IO when the peer closed or the read
 * failed (*eof is 1 when it closed cleanly before a frame began);
 * ERR_PROTO for a bad length (nothing past the header is read).
 */
int hsm_proto_read(int fd, buf_t *frame, int *eof, err_t *err);

/* Encodes an ERR payload (code < 0, message) into out; 0 or ERR_LIMIT. */
int hsm_proto_put_error(buf_t *out, int code, const char *msg);

/*
 * Decodes an ERR payload into err and returns its code; ERR_PROTO when it
 * is malformed or carries a code outside the ERR_* range.
 */
int hsm_proto_get_error(buf_t *payload, err_t *err);

#endif
