/*
 * der.h: a small bounded DER walker, used to cut the to-be-signed part out
 * of an encoded certificate or CRL so the bytes linted can be compared with
 * the bytes signed, and the two writers the streaming encoders (the CRL
 * encoder, pki/crlder.h, and pkisign_assemble) build on.
 *
 * It reads single-byte tags and definite, minimally encoded lengths of at
 * most four octets only; anything else is refused rather than guessed at.
 */
#ifndef AIRLOCK_PKI_DER_H
#define AIRLOCK_PKI_DER_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define DER_TAG_SEQUENCE 0x30

struct der_tlv {
	unsigned char tag;
	const unsigned char *raw;	/* tag, length and content */
	size_t raw_len;
	const unsigned char *content;
	size_t content_len;
};

/*
 * Reads one element at b's read offset and advances past it. Pointers in
 * *out point into b. Returns 0, or ERR_INVALID for truncated or non-DER
 * framing.
 */
int der_get_tlv(buf_t *b, struct der_tlv *out);

/*
 * Copies the raw bytes of the first element of the outer SEQUENCE that
 * spans exactly der[0..len) (the TBSCertificate or TBSCertList) into out,
 * which is reset first. Returns 0, ERR_INVALID, or ERR_LIMIT/ERR_NOMEM.
 */
int der_first_in_seq(const unsigned char *der, size_t len, buf_t *out,
    err_t *err);

/*
 * The head of a DER TBSCertificate spanning tbs[0..len) exactly: after
 * the optional [0] version, the serialNumber INTEGER (non-empty) and the
 * signature AlgorithmIdentifier SEQUENCE. *rest (may be NULL) is left
 * reading the elements after them (issuer, validity, ...). Pointers point
 * into tbs. 0 or ERR_INVALID.
 */
int der_tbs_head(const unsigned char *tbs, size_t len, struct der_tlv *serial,
    struct der_tlv *algid, buf_t *rest);

/*
 * Writers. Both append to out and leave failures to out's sticky flag
 * (check once with buf_ok): a definite, minimal DER length; a tag and
 * its length.
 */
void der_put_len(buf_t *out, size_t len);
void der_put_hdr(buf_t *out, unsigned char tag, size_t len);

/* The number of bytes der_put_hdr writes for a content of len bytes. */
size_t der_hdr_len(size_t len);

/*
 * A DER INTEGER whose value is the unsigned big-endian mag[0..len) (len
 * >= 1; leading zero octets are dropped, one is added when the top bit
 * is set, so the encoding is minimal and positive).
 */
void der_put_uint(buf_t *out, const unsigned char *mag, size_t len);

#endif
