/* der.c: bounded DER framing reader (see der.h). */
#include "pki/der.h"

int
der_get_tlv(buf_t *b, struct der_tlv *out)
{
	const unsigned char *start = buf_ptr(b);
	size_t hdr, len;
	uint8_t tag, l0;

	if (buf_get_u8(b, &tag) != 0 || buf_get_u8(b, &l0) != 0)
		return ERR_INVALID;
	/* High tag numbers never occur in the structures we walk. */
	if ((tag & 0x1f) == 0x1f)
		return ERR_INVALID;
	if (l0 < 0x80) {
		len = l0;
		hdr = 2;
	} else {
		size_t i, nlen = l0 & 0x7f;

		/* 0x80 is BER's indefinite length, which DER forbids. */
		if (nlen == 0 || nlen > 4)
			return ERR_INVALID;
		len = 0;
		for (i = 0; i < nlen; i++) {
			uint8_t o;

			if (buf_get_u8(b, &o) != 0)
				return ERR_INVALID;
			if (i == 0 && o == 0)
				return ERR_INVALID;	/* not minimal */
			len = (len << 8) | o;
		}
		if (len < 0x80)
			return ERR_INVALID;	/* should have used short form */
		hdr = 2 + nlen;
	}
	if (len > buf_avail(b))
		return ERR_INVALID;
	out->tag = tag;
	out->raw = start;
	out->raw_len = hdr + len;
	out->content = buf_ptr(b);
	out->content_len = len;
	return buf_skip(b, len);
}

int
der_first_in_seq(const unsigned char *der, size_t len, buf_t *out,
    err_t *err)
{
	struct der_tlv outer, first;
	buf_t b, inner;

	buf_view(&b, der, len);
	if (der_get_tlv(&b, &outer) != 0 || outer.tag != DER_TAG_SEQUENCE)
		return err_set(err, ERR_INVALID,
		    "encoded object does not start with a DER SEQUENCE");
	if (buf_avail(&b) != 0)
		return err_set(err, ERR_INVALID,
		    "%zu bytes follow the outer DER SEQUENCE", buf_avail(&b));
	buf_view(&inner, outer.content, outer.content_len);
	if (der_get_tlv(&inner, &first) != 0 || first.tag != DER_TAG_SEQUENCE)
		return err_set(err, ERR_INVALID,
		    "the outer SEQUENCE does not start with a to-be-signed "
		    "SEQUENCE");
	buf_reset(out);
	if (buf_put(out, first.raw, first.raw_len) != 0)
		return err_set(err, ERR_LIMIT,
		    "to-be-signed part of %zu bytes does not fit the buffer",
		    first.raw_len);
	return 0;
}

int
der_tbs_head(const unsigned char *tbs, size_t len, struct der_tlv *serial,
    struct der_tlv *algid, buf_t *rest)
{
	struct der_tlv seq;
	buf_t b, in;

	if (tbs == NULL || len == 0)
		return ERR_INVALID;
	buf_view(&b, tbs, len);
	if (der_get_tlv(&b, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE ||
	    buf_avail(&b) != 0)
		return ERR_INVALID;
	buf_view(&in, seq.content, seq.content_len);
	if (der_get_tlv(&in, serial) != 0)
		return ERR_INVALID;
	/* [0] EXPLICIT version comes first when present. */
	if (serial->tag == 0xa0 && der_get_tlv(&in, serial) != 0)
		return ERR_INVALID;
	if (serial->tag != 0x02 || serial->content_len == 0)
		return ERR_INVALID;
	if (der_get_tlv(&in, algid) != 0 || algid->tag != DER_TAG_SEQUENCE)
		return ERR_INVALID;
	if (rest != NULL)
		*rest = in;
	return 0;
}

size_t
der_hdr_len(size_t len)
{
	size_t n = 2;

	if (len < 0x80)
		return n;
	for (; len > 0; len >>= 8)
		n++;
	return n;
}

void
der_put_len(buf_t *out, size_t len)
{
	unsigned char b[sizeof(size_t)];
	size_t n = 0, v = len;

	if (len < 0x80) {
		buf_put_u8(out, (uint8_t)len);
		return;
	}
	while (v > 0) {
		b[sizeof(b) - 1 - n] = (unsigned char)(v & 0xff);
		v >>= 8;
		n++;
	}
	buf_put_u8(out, (uint8_t)(0x80 | n));
	buf_put(out, b + sizeof(b) - n, n);
}

void
der_put_hdr(buf_t *out, unsigned char tag, size_t len)
{
	buf_put_u8(out, tag);
	der_put_len(out, len);
}

void
der_put_uint(buf_t *out, const unsigned char *mag, size_t len)
{
	int pad;

	while (len > 1 && mag[0] == 0) {
		mag++;
		len--;
	}
	pad = len > 0 && (mag[0] & 0x80) != 0;
	der_put_hdr(out, 0x02, len + (size_t)pad);
	if (pad)
		buf_put_u8(out, 0);
	buf_put(out, mag, len);
}
