/* csr.c: PKCS#10 requests from untrusted input (see csr.h). */
#include "ingest/csr.h"

#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/der.h"
#include "util/buf.h"
#include "util/text.h"

/* Base64 characters of the largest block we accept (CSR_DER_MAX bytes). */
#define CSR_B64_MAX (4u * ((CSR_DER_MAX + 2) / 3))
/* Characters of a PEM label shown in a message. */
#define CSR_LABEL_SHOW 40

struct csr_state {
	const char *label;
	diag_t *diag;
	struct csr_list *out;
	size_t cap;
	size_t errors;
	int nomem;
};

/* One PEM block while its lines arrive. */
struct csr_block {
	int open;
	int is_csr;		/* its label names a certificate request */
	int bad;		/* already reported; its contents are ignored */
	size_t index;
	unsigned long line;
	char label[64];		/* the label, when it is short enough */
	size_t label_len;
	buf_t b64;
};

static void
csr_error(struct csr_state *st, size_t index, unsigned long line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
csr_error(struct csr_state *st, size_t index, unsigned long line,
    const char *fmt, ...)
{
	char msg[ERR_MSG_MAX], field[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(field, sizeof(field), "request %zu", index);
	st->errors++;
	if (diag_add(st->diag, st->label, line, index ? field : NULL, "%s",
	    msg) != 0)
		st->nomem = 1;
}

/* Name of an attribute for messages: its short name or dotted OID. */
static const char *
csr_attr_name(const ASN1_OBJECT *obj, char *out, size_t outsz)
{
	int nid = OBJ_obj2nid(obj);
	const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;

	if (sn != NULL) {
		snprintf(out, outsz, "%s", sn);
		return out;
	}
	if (OBJ_obj2txt(out, (int)outsz, obj, 1) <= 0)
		snprintf(out, outsz, "unknown attribute");
	return out;
}

static void
csr_check_subject(struct csr_state *st, const struct csr_item *it)
{
	const X509_NAME *name = it->subject;
	int i, count = X509_NAME_entry_count(name), ncn = 0;

	for (i = 0; i < count; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
		int nid = OBJ_obj2nid(obj);
		unsigned char *u = NULL;
		size_t off = 0, nc = 0, max = CSR_ATTR_MAX;
		char an[80];
		int ulen;

		csr_attr_name(obj, an, sizeof(an));
		if ((ulen = ASN1_STRING_to_UTF8(&u, s)) < 0) {
			csr_error(st, it->index, it->line, "subject attribute "
			    "%s is not a decodable string", an);
			continue;
		}
		while (off < (size_t)ulen) {
			uint32_t cp = 0;
			size_t n = text_utf8_next(u + off, (size_t)ulen - off,
			    &cp);

			if (n == 0) {
				csr_error(st, it->index, it->line, "subject "
				    "attribute %s is not valid UTF-8 (byte "
				    "0x%02x at character %zu)", an, u[off],
				    nc + 1);
				break;
			}
			if (text_forbidden(cp)) {
				csr_error(st, it->index, it->line, "subject "
				    "attribute %s contains the control or "
				    "invisible character U+%04X at character "
				    "%zu", an, (unsigned)cp, nc + 1);
				break;
			}
			off += n;
			nc++;
		}
		if (nid == NID_commonName) {
			max = CSR_CN_MAX;
			ncn++;
		} else if (nid == NID_organizationName ||
		    nid == NID_organizationalUnitName) {
			max = 64;	/* RFC 5280 upper bounds */
		}
		if (off == (size_t)ulen && nc > max)
			csr_error(st, it->index, it->line, "subject attribute %s "
			    "is %zu characters long; at most %zu are allowed",
			    an, nc, max);
		if (nid == NID_countryName && !(ulen == 2 && u[0] >= 'A' &&
		    u[0] <= 'Z' && u[1] >= 'A' && u[1] <= 'Z'))
			csr_error(st, it->index, it->line, "subject attribute C "
			    "must be two capital letters A-Z (ISO 3166)");
		OPENSSL_free(u);
	}
	if (ncn > 1)
		csr_error(st, it->index, it->line, "the subject has %d CN "
		    "attributes; at most one is allowed", ncn);
}

static const char *
csr_gen_type_name(int type)
{
	switch (type) {
	case GEN_OTHERNAME: return "otherName";
	case GEN_X400: return "x400Address";
	case GEN_DIRNAME: return "directoryName";
	case GEN_EDIPARTY: return "ediPartyName";
	case GEN_RID: return "registeredID";
	default: return "unknown";
	}
}

/* Adds one SAN of GENERAL_NAME g as entry number n (1-based). */
static void
csr_add_san(struct csr_state *st, struct csr_item *it, const GENERAL_NAME *g,
    int n)
{
	const ASN1_STRING *s = NULL;
	enum csr_san_type type;
	char text[CSR_SAN_VALUE_MAX + 1];
	int len;

	switch (g->type) {
	case GEN_DNS:
		type = CSR_SAN_DNS;
		s = g->d.dNSName;
		break;
	case GEN_EMAIL:
		type = CSR_SAN_EMAIL;
		s = g->d.rfc822Name;
		break;
	case GEN_URI:
		type = CSR_SAN_URI;
		s = g->d.uniformResourceIdentifier;
		break;
	case GEN_IPADD:
		type = CSR_SAN_IP;
		s = g->d.iPAddress;
		break;
	default:
		csr_error(st, it->index, it->line, "subjectAltName entry %d is "
		    "an %s; only DNS, email, URI and IP names are accepted", n,
		    csr_gen_type_name(g->type));
		return;
	}
	len = ASN1_STRING_length(s);
	if (type == CSR_SAN_IP) {
		const unsigned char *ip = ASN1_STRING_get0_data(s);

		if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET :
		    AF_INET6, ip, text, sizeof(text)) == NULL) {
			csr_error(st, it->index, it->line, "subjectAltName "
			    "entry %d is an IP address of %d bytes; expected 4 "
			    "or 16", n, len);
			return;
		}
	} else {
		const unsigned char *p = ASN1_STRING_get0_data(s);
		int i;

		if (len < 1 || len > (int)CSR_SAN_VALUE_MAX) {
			csr_error(st, it->index, it->line, "subjectAltName "
			    "entry %d is %d bytes long; expected 1 to %u", n,
			    len, CSR_SAN_VALUE_MAX);
			return;
		}
		for (i = 0; i < len; i++) {
			if (p[i] <= 0x20 || p[i] >= 0x7f) {
				csr_error(st, it->index, it->line,
				    "subjectAltName entry %d has byte 0x%02x "
				    "at position %d; only printable ASCII "
				    "without spaces is accepted", n, p[i],
				    i + 1);
				return;
			}
		}
		memcpy(text, p, (size_t)len);
		text[len] = '\0';
	}
	if ((it->sans[it->nsans].value = strdup(text)) == NULL) {
		st->nomem = 1;
		return;
	}
	it->sans[it->nsans++].type = type;
}

static void
csr_extract_sans(struct csr_state *st, struct csr_item *it)
{
	STACK_OF(X509_EXTENSION) *exts;
	int i, nsan = 0;

	if (X509_REQ_get_attr_by_NID(it->req, NID_ext_req, -1) < 0)
		return;
	if (X509_REQ_get_attr_by_NID(it->req, NID_ext_req,
	    X509_REQ_get_attr_by_NID(it->req, NID_ext_req, -1)) >= 0) {
		csr_error(st, it->index, it->line, "the request has more than "
		    "one extensionRequest attribute");
		return;
	}
	if ((exts = X509_REQ_get_extensions(it->req)) == NULL) {
		csr_error(st, it->index, it->line, "the extensionRequest "
		    "attribute is malformed");
		return;
	}
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		GENERAL_NAMES *gens;
		int j, n;

		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) !=
		    NID_subject_alt_name)
			continue;
		if (++nsan > 1) {
			csr_error(st, it->index, it->line, "the request asks "
			    "for subjectAltName twice");
			break;
		}
		if ((gens = X509V3_EXT_d2i(ext)) == NULL) {
			csr_error(st, it->index, it->line, "the requested "
			    "subjectAltName is malformed");
			continue;
		}
		n = sk_GENERAL_NAME_num(gens);
		if (n > (int)CSR_SAN_MAX) {
			csr_error(st, it->index, it->line, "the request asks "
			    "for %d subjectAltName entries; at most %u are "
			    "accepted", n, CSR_SAN_MAX);
		} else if (n > 0 &&
		    (it->sans = calloc((size_t)n, sizeof(*it->sans))) == NULL) {
			st->nomem = 1;
		} else {
			for (j = 0; j < n && !st->nomem; j++)
				csr_add_san(st, it, sk_GENERAL_NAME_value(gens,
				    j), j + 1);
		}
		GENERAL_NAMES_free(gens);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* 1 for an EC key whose curve is named; explicit parameters are refused. */
static int
csr_named_curve(const EVP_PKEY *pub, char *name, size_t namesz)
{
	size_t got = 0;

	return EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, namesz, &got) == 1 && got > 0;
}

/* Decodes, verifies and records one request of DER bytes. */
static void
csr_one(struct csr_state *st, const unsigned char *der, size_t len,
    size_t index, unsigned long line)
{
	struct csr_list *l = st->out;
	struct csr_item it;
	struct der_tlv tlv;
	const unsigned char *p = der;
	char curve[64];
	size_t before = st->errors;
	buf_t b;

	memset(&it, 0, sizeof(it));
	it.index = index;
	it.line = line;
	if (len > CSR_DER_MAX) {
		csr_error(st, index, line, "the request is %zu bytes; at most "
		    "%u are accepted", len, CSR_DER_MAX);
		return;
	}
	/*
	 * Check the outer framing first, so that a length claiming more
	 * than is there is named as such before OpenSSL sees the bytes.
	 */
	buf_view(&b, der, len);
	if (der_get_tlv(&b, &tlv) != 0 || tlv.tag != DER_TAG_SEQUENCE) {
		csr_error(st, index, line, "not a DER request: the outer "
		    "SEQUENCE is malformed, truncated, or its length points "
		    "past the %zu bytes present", len);
		return;
	}
	if (buf_avail(&b) != 0) {
		csr_error(st, index, line, "%zu bytes follow the DER request",
		    buf_avail(&b));
		return;
	}
	if ((it.req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		ERR_clear_error();
		X509_REQ_free(it.req);
		csr_error(st, index, line, "not a PKCS#10 certificate request "
		    "(the DER does not decode)");
		return;
	}
	if (X509_REQ_get_version(it.req) != X509_REQ_VERSION_1) {
		csr_error(st, index, line, "request version %ld is not "
		    "supported; expected version 1 (0)",
		    X509_REQ_get_version(it.req));
		goto fail;
	}
	if ((it.pub = X509_REQ_get0_pubkey(it.req)) == NULL) {
		ERR_clear_error();
		csr_error(st, index, line, "the public key does not decode");
		goto fail;
	}
	if (EVP_PKEY_get_base_id(it.pub) == EVP_PKEY_EC &&
	    !csr_named_curve(it.pub, curve, sizeof(curve))) {
		ERR_clear_error();
		csr_error(st, index, line, "the EC key has explicit curve "
		    "parameters; only named curves are accepted");
		goto fail;
	}
	if (X509_REQ_verify(it.req, it.pub) != 1) {
		ERR_clear_error();
		csr_error(st, index, line, "the signature does not verify with "
		    "the request's own public key");
		goto fail;
	}
	(void)csr_key_desc(it.pub, it.key_desc, sizeof(it.key_desc));
	it.subject = X509_REQ_get_subject_name(it.req);
	csr_check_subject(st, &it);
	csr_extract_sans(st, &it);
	ERR_clear_error();
	if (st->errors != before || st->nomem)
		goto fail;
	if (l->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		struct csr_item *n;

		if (ncap > CSR_MAX_COUNT)
			ncap = CSR_MAX_COUNT;
		if ((n = realloc(l->items, ncap * sizeof(*n))) == NULL) {
			st->nomem = 1;
			goto fail;
		}
		l->items = n;
		st->cap = ncap;
	}
	l->items[l->n++] = it;
	return;
fail:
	while (it.nsans > 0)
		free(it.sans[--it.nsans].value);
	free(it.sans);
	X509_REQ_free(it.req);
}

/*
 * Strict base64 of one block: groups of four, '=' only at the end. Returns
 * 0, ERR_LIMIT when the DER would pass CSR_DER_MAX, or ERR_INVALID.
 */
static int
csr_unbase64(const unsigned char *p, size_t len, buf_t *out)
{
	size_t i;

	if (len == 0 || len % 4 != 0)
		return ERR_INVALID;
	for (i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int k, pad = 0;

		for (k = 0; k < 4; k++) {
			unsigned char c = p[i + (size_t)k];
			int d;

			if (c >= 'A' && c <= 'Z')
				d = c - 'A';
			else if (c >= 'a' && c <= 'z')
				d = c - 'a' + 26;
			else if (c >= '0' && c <= '9')
				d = c - '0' + 52;
			else if (c == '+')
				d = 62;
			else if (c == '/')
				d = 63;
			else if (c == '=' && i + 4 == len && k >= 2)
				d = -1;
			else
				return ERR_INVALID;
			if (d < 0)
				pad++;
			else if (pad > 0)
				return ERR_INVALID;	/* data after '=' */
			v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		if (buf_put_u8(out, (uint8_t)(v >> 16)) != 0 ||
		    (pad < 2 && buf_put_u8(out, (uint8_t)(v >> 8)) != 0) ||
		    (pad < 1 && buf_put_u8(out, (uint8_t)v) != 0))
			return ERR_LIMIT;
	}
	return 0;
}

static int
csr_is_csr_label(const unsigned char *p, size_t len)
{
	static const char a[] = "CERTIFICATE REQUEST";
	static const char b[] = "NEW CERTIFICATE REQUEST";

	return (len == sizeof(a) - 1 && memcmp(p, a, len) == 0) ||
	    (len == sizeof(b) - 1 && memcmp(p, b, len) == 0);
}

/* 1 when line is "-----<word> LABEL-----"; sets the label. */
static int
csr_boundary(const unsigned char *p, size_t len, const char *word,
    const unsigned char **label, size_t *label_len)
{
	size_t wl = strlen(word);

	if (len < 5 + wl + 5 || memcmp(p, "-----", 5) != 0 ||
	    memcmp(p + 5, word, wl) != 0 || memcmp(p + len - 5, "-----", 5) != 0)
		return 0;
	*label = p + 5 + wl;
	*label_len = len - 10 - wl;
	return 1;
}

static void
csr_block_end(struct csr_state *st, struct csr_block *blk)
{
	buf_t der;
	int r;

	blk->open = 0;
	if (blk->bad || !blk->is_csr)
		return;
	buf_init(&der, CSR_DER_MAX);
	r = csr_unbase64(blk->b64.data, blk->b64.len, &der);
	if (r == ERR_LIMIT)
		csr_error(st, blk->index, blk->line, "the request is larger "
		    "than %u bytes of DER", CSR_DER_MAX);
	else if (r != 0)
		csr_error(st, blk->index, blk->line, "the PEM block is not "
		    "valid base64");
	else
		csr_one(st, der.data, der.len, blk->index, blk->line);
	buf_free(&der);
}

static void
csr_block_line(struct csr_state *st, struct csr_block *blk,
    const unsigned char *p, size_t len, unsigned long line)
{
	const unsigned char *lab;
	size_t i, ll;

	if (csr_boundary(p, len, "END ", &lab, &ll)) {
		if (!blk->bad && (ll != blk->label_len ||
		    memcmp(lab, blk->label, ll) != 0)) {
			char shown[CSR_LABEL_SHOW * 4 + 8];

			csr_error(st, blk->index, blk->line, "the block ends on "
			    "line %lu with a different label ('%s')", line,
			    text_show(lab, ll, CSR_LABEL_SHOW, shown,
			    sizeof(shown)));
			blk->bad = 1;
		}
		csr_block_end(st, blk);
		return;
	}
	if (blk->bad || !blk->is_csr)
		return;
	if (memchr(p, ':', len) != NULL) {
		csr_error(st, blk->index, blk->line, "line %lu is a PEM header; "
		    "encrypted or annotated PEM blocks are not accepted", line);
		blk->bad = 1;
		return;
	}
	for (i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\t')
			continue;
		if (buf_put_u8(&blk->b64, p[i]) != 0) {
			csr_error(st, blk->index, blk->line, "the request is "
			    "larger than %u bytes of DER", CSR_DER_MAX);
			blk->bad = 1;
			return;
		}
	}
}

/* Walks the text line by line; returns ERR_LIMIT past CSR_MAX_COUNT. */
static int
csr_parse_pem(struct csr_state *st, const unsigned char *data, size_t len)
{
	struct csr_block blk;
	unsigned long line = 1;
	size_t pos = 0, nblocks = 0;
	int rc = 0;

	memset(&blk, 0, sizeof(blk));
	buf_init(&blk.b64, CSR_B64_MAX);
	while (pos < len && !st->nomem) {
		const unsigned char *p = data + pos;
		const unsigned char *eol = memchr(p, '\n', len - pos);
		size_t ll = eol != NULL ? (size_t)(eol - p) : len - pos;
		const unsigned char *lab;
		size_t labl;

		pos += ll + (eol != NULL);
		while (ll > 0 && (p[ll - 1] == '\r' || p[ll - 1] == ' ' ||
		    p[ll - 1] == '\t'))
			ll--;
		if (csr_boundary(p, ll, "BEGIN ", &lab, &labl)) {
			if (blk.open) {
				csr_error(st, blk.index, blk.line, "the block "
				    "has no END line before the next BEGIN on "
				    "line %lu", line);
				blk.open = 0;
			}
			if (++nblocks > CSR_MAX_COUNT) {
				csr_error(st, 0, line, "more than %u PEM blocks",
				    CSR_MAX_COUNT);
				rc = ERR_LIMIT;
				break;
			}
			memset(&blk.label, 0, sizeof(blk.label));
			blk.open = 1;
			blk.bad = 0;
			blk.index = nblocks;
			blk.line = line;
			blk.is_csr = csr_is_csr_label(lab, labl);
			blk.label_len = labl < sizeof(blk.label) ? labl : 0;
			memcpy(blk.label, lab, blk.label_len);
			buf_reset(&blk.b64);
			if (!blk.is_csr) {
				char shown[CSR_LABEL_SHOW * 4 + 8];

				csr_error(st, blk.index, blk.line, "the PEM "
				    "block is labelled '%s', not 'CERTIFICATE "
				    "REQUEST'", text_show(lab, labl,
				    CSR_LABEL_SHOW, shown, sizeof(shown)));
			}
		} else if (blk.open) {
			csr_block_line(st, &blk, p, ll, line);
		}
		line++;
	}
	if (rc == 0 && blk.open)
		csr_error(st, blk.index, blk.line, "the block has no END line");
	else if (rc == 0 && nblocks == 0)
		csr_error(st, 0, 0, "neither a DER request nor PEM text with a "
		    "'-----BEGIN CERTIFICATE REQUEST-----' line");
	buf_free(&blk.b64);
	return rc;
}

void
csr_list_init(struct csr_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
csr_list_free(struct csr_list *l)
{
	size_t i, j;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		for (j = 0; j < l->items[i].nsans; j++)
			free(l->items[i].sans[j].value);
		free(l->items[i].sans);
		X509_REQ_free(l->items[i].req);
	}
	free(l->items);
	csr_list_init(l);
}

int
csr_parse_all(const char *label, const void *data, size_t len,
    struct csr_list *out, diag_t *diag)
{
	struct csr_state st;
	int rc = 0;

	csr_list_init(out);
	memset(&st, 0, sizeof(st));
	st.label = label != NULL ? label : "<csr>";
	st.diag = diag;
	st.out = out;
	if (data == NULL || len == 0) {
		csr_error(&st, 0, 0, "the input is empty");
		return ERR_INVALID;
	}
	if (len > CSR_INPUT_MAX) {
		csr_error(&st, 0, 0, "the input is %zu bytes, more than the "
		    "limit of %u bytes", len, CSR_INPUT_MAX);
		return st.nomem ? ERR_NOMEM : ERR_LIMIT;
	}
	/* A DER request starts with a SEQUENCE tag; PEM text never does. */
	if (((const unsigned char *)data)[0] == DER_TAG_SEQUENCE)
		csr_one(&st, data, len, 1, 0);
	else
		rc = csr_parse_pem(&st, data, len);
	ERR_clear_error();
	if (st.nomem)
		rc = ERR_NOMEM;
	else if (rc == 0 && st.errors > 0)
		rc = ERR_INVALID;
	if (rc != 0)
		csr_list_free(out);
	return rc;
}

int
csr_key_desc(const EVP_PKEY *pub, char *out, size_t outsz)
{
	char curve[64], tmp[CSR_KEY_DESC_MAX];
	int n;

	if (outsz > 0)
		out[0] = '\0';
	if (pub == NULL)
		return ERR_INVALID;
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA:
		n = snprintf(tmp, sizeof(tmp), "rsa-%d", EVP_PKEY_get_bits(pub));
		break;
	case EVP_PKEY_RSA_PSS:
		n = snprintf(tmp, sizeof(tmp), "rsa-pss-%d",
		    EVP_PKEY_get_bits(pub));
		break;
	case EVP_PKEY_DSA:
		n = snprintf(tmp, sizeof(tmp), "dsa-%d", EVP_PKEY_get_bits(pub));
		break;
	case EVP_PKEY_ED25519:
		n = snprintf(tmp, sizeof(tmp), "ed25519");
		break;
	case EVP_PKEY_ED448:
		n = snprintf(tmp, sizeof(tmp), "ed448");
		break;
	case EVP_PKEY_EC:
		if (!csr_named_curve(pub, curve, sizeof(curve))) {
			ERR_clear_error();
			n = snprintf(tmp, sizeof(tmp), "other");
		} else if (strcmp(curve, "prime256v1") == 0) {
			n = snprintf(tmp, sizeof(tmp), "ec-p256");
		} else if (strcmp(curve, "secp384r1") == 0) {
			n = snprintf(tmp, sizeof(tmp), "ec-p384");
		} else if (strcmp(curve, "secp521r1") == 0) {
			n = snprintf(tmp, sizeof(tmp), "ec-p521");
		} else {
			/* Curve names come from OpenSSL's table, not input. */
			n = snprintf(tmp, sizeof(tmp), "ec-%.24s", curve);
		}
		break;
	default:
		n = snprintf(tmp, sizeof(tmp), "other");
		break;
	}
	if (n < 0 || (size_t)n >= outsz)
		return ERR_LIMIT;
	memcpy(out, tmp, (size_t)n + 1);
	return 0;
}
