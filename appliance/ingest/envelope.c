/* envelope.c: the CMS wrappers of a request bundle (see envelope.h). */
#include "ingest/envelope.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pki/certinfo.h"
#include "pki/der.h"
#include "pki/oids.h"
#include "pki/roles.h"
#include "pki/pkiutil.h"
#include "util/timeutil.h"

/* Bytes of a subject, issuer or PEM label quoted in a message. */
#define ENV_SHOW_MAX 160

/* DER tags walked in env_content_cipher. */
#define ENV_TAG_INTEGER 0x02
#define ENV_TAG_OID 0x06
#define ENV_TAG_SET 0x31
#define ENV_TAG_CTX0 0xa0	/* [0], constructed */

struct env {
	const char *label;
	diag_t *diag;
	const struct envelope_opts *o;
	size_t max;		/* the limit in force, for input and plaintext */
};

static int env_fail(struct env *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Records the one message of a refusal and returns code. OpenSSL's queued
 * reasons are dropped, never appended: on the decryption path they would
 * tell a sender which step failed.
 */
static int
env_fail(struct env *e, int code, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ERR_clear_error();
	if (diag_add(e->diag, e->label, 0, NULL, "%s", msg) != 0)
		return ERR_NOMEM;
	return code;
}

static int
env_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/*
 * Copies len bytes of text from a hostile source into out for a message:
 * control bytes become '?', and a cut never splits a UTF-8 sequence.
 */
static void
env_cut(const char *s, size_t len, char *out, size_t outsz)
{
	size_t i, n = len;

	if (outsz < 4) {
		if (outsz > 0)
			out[0] = '\0';
		return;
	}
	if (n >= outsz) {
		n = outsz - 4;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* Friendly names for the objects messages mention; else OpenSSL's. */
static void
env_obj_name(const ASN1_OBJECT *obj, char *out, size_t outsz)
{
	static const struct { int nid; const char *name; } names[] = {
		{ NID_pkcs7_data, "Data" },
		{ NID_pkcs7_signed, "SignedData" },
		{ NID_pkcs7_enveloped, "EnvelopedData" },
		{ NID_pkcs7_digest, "DigestedData" },
		{ NID_pkcs7_encrypted, "EncryptedData" },
		{ NID_pkcs7_signedAndEnveloped, "SignedAndEnvelopedData" },
		{ NID_id_smime_ct_authEnvelopedData, "AuthEnvelopedData" },
		{ NID_id_smime_ct_compressedData, "CompressedData" },
		{ NID_id_smime_ct_authData, "AuthenticatedData" },
		{ NID_md5, "MD5" },
		{ NID_sha1, "SHA-1" },
		{ NID_sha224, "SHA-224" },
		{ NID_rsaEncryption, "RSA PKCS#1 v1.5" },
		{ NID_rsaesOaep, "RSA-OAEP" },
	};
	int nid = obj != NULL ? OBJ_obj2nid(obj) : NID_undef;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].nid == nid) {
			snprintf(out, outsz, "%s", names[i].name);
			return;
		}
	}
	if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
		snprintf(out, outsz, "%s", OBJ_nid2sn(nid));
	else if (obj == NULL || OBJ_obj2txt(out, (int)outsz, obj, 1) <= 0)
		snprintf(out, outsz, "an unknown algorithm");
}

/* --- decoding ----------------------------------------------------------- */

/* Frees cms, wiping first the content it holds when that is plaintext. */
static void
env_cms_free(CMS_ContentInfo *cms, int secret)
{
	ASN1_OCTET_STRING **pos;

	if (cms == NULL)
		return;
	if (secret && (pos = CMS_get0_content(cms)) != NULL && *pos != NULL &&
	    (*pos)->data != NULL && (*pos)->length > 0)
		OPENSSL_cleanse((*pos)->data, (size_t)(*pos)->length);
	CMS_ContentInfo_free(cms);
}

/*
 * When the outer element's definite length claims more bytes than follow
 * its header, says so with both numbers (a truncated file, or a length
 * forged to make a reader allocate or wait): 0 when it does not.
 */
static int
env_outer_overrun(const unsigned char *data, size_t len, char *out,
    size_t outsz)
{
	size_t hdr = 2;
	uint64_t claim;

	if (len < 2)
		return 0;
	claim = data[1];
	if (data[1] & 0x80) {
		size_t n = data[1] & 0x7f, i;

		/* Indefinite (BER) or a length of more than 8 octets: left
		 * to the decoder. */
		if (n == 0 || n > 8 || len < 2 + n)
			return 0;
		for (claim = 0, i = 0; i < n; i++)
			claim = claim << 8 | data[2 + i];
		hdr += n;
	}
	if (claim <= len - hdr)
		return 0;
	snprintf(out, outsz, "its outer SEQUENCE claims %llu bytes, but only "
	    "%zu follow its header: the file is truncated, or the length is "
	    "forged", (unsigned long long)claim, len - hdr);
	return 1;
}

/*
 * Why OpenSSL's decoder stopped, from its error queue: the innermost
 * reason ("wrong tag") and where, as OpenSSL names it ("Field=contentType,
 * Type=CMS_ContentInfo"). These texts are OpenSSL's own, never the
 * input's bytes.
 */
static void
env_asn1_why(char *out, size_t outsz)
{
	unsigned long e, first = 0;
	const char *data, *reason;
	char where[128] = "";
	int flags;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (first == 0)
			first = e;
		if (where[0] == '\0' && (flags & ERR_TXT_STRING) &&
		    data != NULL && data[0] != '\0')
			snprintf(where, sizeof(where), "%s", data);
	}
	reason = first != 0 ? ERR_reason_error_string(first) : NULL;
	snprintf(out, outsz, "%s%s%s", reason != NULL ? reason :
	    "unknown reason", where[0] != '\0' ? " at " : "", where);
}

/*
 * DER spanning the input exactly. `inner` is the plaintext of an
 * EnvelopedData: bytes that are not CMS there are what a wrong content key
 * produces, so they get the decryption message, never one of their own.
 */
static int
env_decode_der(struct env *e, const unsigned char *data, size_t len,
    int inner, CMS_ContentInfo **out)
{
	const unsigned char *p = data;
	CMS_ContentInfo *cms;
	char why[256];

	if (len >= 4 && memcmp(data, "PK\003\004", 4) == 0)
		return env_fail(e, ERR_INVALID, inner ?
		    "the encrypted content is a bare ZIP archive, not a "
		    "SignedData: sign the archive first, then encrypt the "
		    "signed file" :
		    "this is a bare ZIP archive, not a signed bundle: sign it "
		    "with `openssl cms -sign -binary -nodetach` "
		    "(docs/formats/bundle.md, section 4)");
	if (len == 0 || data[0] != 0x30)
		return env_fail(e, ERR_INVALID, "%s", inner ?
		    ENVELOPE_MSG_DECRYPT : "not a CMS bundle: neither DER "
		    "(which starts with a SEQUENCE) nor PEM "
		    "(-----BEGIN CMS-----)");
	if (!inner && env_outer_overrun(data, len, why, sizeof(why)))
		return env_fail(e, ERR_INVALID, "not a valid CMS structure: "
		    "%s", why);
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL && inner)
		return env_fail(e, ERR_INVALID, "%s", ENVELOPE_MSG_DECRYPT);
	if (cms == NULL) {
		env_asn1_why(why, sizeof(why));
		return env_fail(e, ERR_INVALID, "not a valid CMS structure: the "
		    "DER is malformed (OpenSSL: %s)", why);
	}
	if ((size_t)(p - data) != len) {
		size_t extra = len - (size_t)(p - data);

		env_cms_free(cms, inner);
		return env_fail(e, ERR_INVALID, "%zu %s the end of the CMS "
		    "structure", extra, extra == 1 ? "byte follows" :
		    "bytes follow");
	}
	*out = cms;
	return 0;
}

/* Exactly one PEM block labelled CMS or PKCS7, white space around it. */
static int
env_decode_pem(struct env *e, const unsigned char *data, size_t len,
    int inner, CMS_ContentInfo **out)
{
	char *name = NULL, *header = NULL, rest[256], show[ENV_SHOW_MAX];
	unsigned char *der = NULL;
	long derlen = 0;
	BIO *bio;
	int n, i, r = 0;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return env_fail(e, ERR_NOMEM, "out of memory");
	/*
	 * PEM_FLAG_SECURE: the decoded bytes may be the plaintext of an
	 * EnvelopedData, and OpenSSL then wipes its buffers as they grow
	 * and when they are freed.
	 */
	if (!PEM_read_bio_ex(bio, &name, &header, &der, &derlen,
	    PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) || name == NULL ||
	    derlen < 0) {
		r = env_fail(e, ERR_INVALID, "malformed PEM: no complete "
		    "-----BEGIN/-----END block of valid base64");
		goto out;
	}
	if (strcmp(name, "CMS") != 0 && strcmp(name, "PKCS7") != 0) {
		env_cut(name, strlen(name), show, sizeof(show));
		r = env_fail(e, ERR_INVALID, "the PEM block is labelled '%s'; "
		    "a bundle is labelled CMS or PKCS7", show);
		goto out;
	}
	if (header != NULL && header[0] != '\0') {
		r = env_fail(e, ERR_INVALID, "the PEM block has headers (such "
		    "as Proc-Type); a bundle's has none");
		goto out;
	}
	while ((n = BIO_read(bio, rest, (int)sizeof(rest))) > 0) {
		for (i = 0; i < n; i++) {
			if (!env_space((unsigned char)rest[i])) {
				r = env_fail(e, ERR_INVALID, "text follows "
				    "the PEM block; a bundle is exactly one "
				    "block");
				goto out;
			}
		}
	}
	r = env_decode_der(e, der, (size_t)derlen, inner, out);
out:
	OPENSSL_secure_free(name);
	OPENSSL_secure_free(header);
	if (der != NULL)
		OPENSSL_secure_clear_free(der, (size_t)derlen);
	OPENSSL_cleanse(rest, sizeof(rest));
	BIO_free(bio);
	return r;
}

static int
env_decode(struct env *e, const unsigned char *data, size_t len, int inner,
    CMS_ContentInfo **out)
{
	static const char begin[] = "-----BEGIN ";
	size_t skip = 0;

	*out = NULL;
	while (skip < len && env_space(data[skip]))
		skip++;
	if (skip + strlen(begin) <= len &&
	    memcmp(data + skip, begin, strlen(begin)) == 0)
		return env_decode_pem(e, data, len, inner, out);
	return env_decode_der(e, data, len, inner, out);
}

/* --- EnvelopedData ------------------------------------------------------ */

/*
 * The EnvelopedData's content-encryption algorithm into *alg (freed by the
 * caller). OpenSSL 3.0 has no getter for it, so the structure is encoded
 * with its encrypted content left out for the moment (which keeps the
 * encoding small whatever the bundle's size) and the DER walked:
 *   ContentInfo { contentType, [0] EnvelopedData { version,
 *     [0] originatorInfo OPTIONAL, recipientInfos SET,
 *     EncryptedContentInfo { contentType, AlgorithmIdentifier { OID, ..
 * Returns 0, ERR_INVALID, or ERR_CRYPTO when OpenSSL cannot encode it.
 */
static int
env_content_cipher(CMS_ContentInfo *cms, ASN1_OBJECT **alg)
{
	ASN1_OCTET_STRING **pos = CMS_get0_content(cms), *saved;
	unsigned char *der = NULL;
	const unsigned char *p;
	struct der_tlv t;
	buf_t b;
	int len, r = ERR_INVALID;

	*alg = NULL;
	if (pos == NULL)
		return ERR_INVALID;
	saved = *pos;
	*pos = NULL;
	len = i2d_CMS_ContentInfo(cms, &der);
	*pos = saved;
	if (len <= 0)
		return ERR_CRYPTO;
	buf_view(&b, der, (size_t)len);
	if (der_get_tlv(&b, &t) != 0 || t.tag != DER_TAG_SEQUENCE)
		goto out;
	buf_view(&b, t.content, t.content_len);
	if (der_get_tlv(&b, &t) != 0 || t.tag != ENV_TAG_OID ||
	    der_get_tlv(&b, &t) != 0 || t.tag != ENV_TAG_CTX0)
		goto out;
	buf_view(&b, t.content, t.content_len);
	if (der_get_tlv(&b, &t) != 0 || t.tag != DER_TAG_SEQUENCE)
		goto out;
	buf_view(&b, t.content, t.content_len);
	if (der_get_tlv(&b, &t) != 0 || t.tag != ENV_TAG_INTEGER ||
	    der_get_tlv(&b, &t) != 0)
		goto out;
	if (t.tag == ENV_TAG_CTX0 && der_get_tlv(&b, &t) != 0)
		goto out;
	if (t.tag != ENV_TAG_SET || der_get_tlv(&b, &t) != 0 ||
	    t.tag != DER_TAG_SEQUENCE)
		goto out;
	buf_view(&b, t.content, t.content_len);
	if (der_get_tlv(&b, &t) != 0 || t.tag != ENV_TAG_OID ||
	    der_get_tlv(&b, &t) != 0 || t.tag != DER_TAG_SEQUENCE)
		goto out;
	buf_view(&b, t.content, t.content_len);
	if (der_get_tlv(&b, &t) != 0 || t.tag != ENV_TAG_OID)
		goto out;
	p = t.raw;
	if ((*alg = d2i_ASN1_OBJECT(NULL, &p, (long)t.raw_len)) != NULL)
		r = 0;
out:
	OPENSSL_free(der);
	return r;
}

/* How a recipient names its certificate, for "encrypted to another". */
static void
env_recipient_id(CMS_RecipientInfo *ri, char *out, size_t outsz)
{
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *sno = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL, name[ENV_SHOW_MAX], id[2 * 32 + 1];
	size_t i;

	snprintf(out, outsz, "an unreadable recipient identifier");
	if (CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, &issuer,
	    &sno) != 1)
		return;
	if (keyid != NULL) {
		int n = ASN1_STRING_length(keyid);

		buf_hex(ASN1_STRING_get0_data(keyid),
		    n < 0 ? 0 : n > 32 ? 32 : (size_t)n, id, sizeof(id));
		snprintf(out, outsz, "subject key identifier %s%s", id,
		    n > 32 ? "..." : "");
		return;
	}
	if (issuer == NULL || sno == NULL ||
	    (bn = ASN1_INTEGER_to_BN(sno, NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	roles_name(issuer, name, sizeof(name));
	/* Lower case, as certinfo_serial_hex spells serials elsewhere. */
	for (i = 0; hex[i] != '\0'; i++)
		hex[i] = (char)tolower((unsigned char)hex[i]);
	snprintf(out, outsz, "issuer %s, serial %s", name, hex);
out:
	OPENSSL_free(hex);
	BN_free(bn);
}

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *env_sink_method;

/*
 * A write-only BIO over a buf_t, so that CMS_decrypt writes the plaintext
 * straight into a buffer that is bounded (its cap stops the decryption)
 * and wiped, instead of into a memory BIO that frees it unwiped.
 */
static int
env_sink_write(BIO *b, const char *p, int n)
{
	buf_t *dst = BIO_get_data(b);

	if (dst == NULL || n < 0 || buf_put(dst, p, (size_t)n) != 0)
		return -1;
	return n;
}

static long
env_sink_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static void
env_init_once(void)
{
	int type = BIO_get_new_index();
	BIO_METHOD *m;

	if (type < 0 ||
	    (m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK,
	    "airlock envelope sink")) == NULL)
		return;
	if (!BIO_meth_set_write(m, env_sink_write) ||
	    !BIO_meth_set_ctrl(m, env_sink_ctrl)) {
		BIO_meth_free(m);
		return;
	}
	env_sink_method = m;
}

/* Checks the EnvelopedData, then decrypts it into plain (secret). */
static int
env_decrypt(struct env *e, CMS_ContentInfo *cms, buf_t *plain)
{
	const struct envelope_opts *o = e->o;
	STACK_OF(CMS_RecipientInfo) *ris;
	CMS_RecipientInfo *ri;
	ASN1_OCTET_STRING **pos;
	ASN1_OBJECT *cipher = NULL;
	X509_ALGOR *kt = NULL;
	const char *kind;
	char name[ENV_SHOW_MAX + 64];
	BIO *sink;
	int n, r, ok;

	if (o->transport_cert == NULL || o->transport_key == NULL)
		return env_fail(e, ERR_POLICY, "the bundle is encrypted "
		    "(EnvelopedData), but this appliance has no transport key "
		    "configured to open it");
	ris = CMS_get0_RecipientInfos(cms);
	n = ris != NULL ? sk_CMS_RecipientInfo_num(ris) : 0;
	if (n != 1)
		return env_fail(e, ERR_POLICY, "the EnvelopedData has %d "
		    "recipients; a bundle is encrypted to the appliance "
		    "transport certificate alone", n < 0 ? 0 : n);
	ri = sk_CMS_RecipientInfo_value(ris, 0);
	switch (CMS_RecipientInfo_type(ri)) {
	case CMS_RECIPINFO_TRANS:
		kind = NULL;
		break;
	case CMS_RECIPINFO_AGREE:
		kind = "key agreement (KeyAgreeRecipientInfo)";
		break;
	case CMS_RECIPINFO_KEK:
		kind = "a pre-shared key (KEKRecipientInfo)";
		break;
	case CMS_RECIPINFO_PASS:
		kind = "a password (PasswordRecipientInfo)";
		break;
	default:
		kind = "an unknown kind of RecipientInfo";
		break;
	}
	if (kind != NULL)
		return env_fail(e, ERR_POLICY, "the bundle's recipient uses "
		    "%s; bundles are encrypted by RSA key transport to the "
		    "appliance transport certificate", kind);
	if (CMS_RecipientInfo_ktri_cert_cmp(ri, o->transport_cert) != 0) {
		env_recipient_id(ri, name, sizeof(name));
		return env_fail(e, ERR_POLICY, "the bundle is encrypted to "
		    "another certificate (%s), not to this appliance's "
		    "transport certificate", name);
	}
	if (CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &kt) != 1 ||
	    kt == NULL)
		return env_fail(e, ERR_INVALID, "cannot read the recipient's "
		    "key transport algorithm");
	n = OBJ_obj2nid(kt->algorithm);
	if (n != NID_rsaEncryption && n != NID_rsaesOaep) {
		env_obj_name(kt->algorithm, name, sizeof(name));
		return env_fail(e, ERR_POLICY, "the key transport algorithm is "
		    "%s; bundles use RSA (PKCS#1 v1.5 or OAEP)", name);
	}
	/* Before any private-key operation: a refusal needs no key. */
	if ((r = env_content_cipher(cms, &cipher)) != 0)
		return env_fail(e, r, "cannot read the EnvelopedData's "
		    "content-encryption algorithm");
	if (OBJ_obj2nid(cipher) != NID_aes_256_cbc) {
		env_obj_name(cipher, name, sizeof(name));
		ASN1_OBJECT_free(cipher);
		return env_fail(e, ERR_POLICY, "the content cipher is %s; "
		    "bundles are encrypted with AES-256-CBC only", name);
	}
	ASN1_OBJECT_free(cipher);
	pos = CMS_get0_content(cms);
	if (pos == NULL || *pos == NULL)
		return env_fail(e, ERR_INVALID, "the EnvelopedData carries no "
		    "encrypted content");

	buf_init(plain, e->max);
	buf_set_secret(plain);
	if (pthread_once(&env_once, env_init_once) != 0 ||
	    env_sink_method == NULL ||
	    (sink = BIO_new(env_sink_method)) == NULL)
		return env_fail(e, ERR_NOMEM, "out of memory");
	BIO_set_data(sink, plain);
	BIO_set_init(sink, 1);
	/*
	 * With the certificate given and without CMS_DEBUG_DECRYPT, OpenSSL
	 * hides a failed key transport: it decrypts the content under a
	 * random key instead, so RSA and padding failures surface only as a
	 * bad content padding or garbage, which get the same message here.
	 */
	ok = CMS_decrypt(cms, o->transport_key, o->transport_cert, NULL, sink,
	    CMS_BINARY);
	BIO_free(sink);
	if (ok != 1) {
		buf_free(plain);
		return env_fail(e, ERR_INVALID, "%s", ENVELOPE_MSG_DECRYPT);
	}
	return 0;
}

/* --- SignedData --------------------------------------------------------- */

/*
 * The path from signer to a people CA at `now`, then the operator role
 * alone and a key usage that allows signing: the same checks approvals
 * apply to officers (pki/roles.c). With officers_may_sign, the officer
 * role alone passes too (*officer = 1); the operator's message is kept
 * for a certificate that holds neither, since that is the usual role.
 */
static int
env_check_signer(struct env *e, X509 *signer, int *officer)
{
	const struct envelope_opts *o = e->o;
	const uint32_t ku = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
	err_t err, err2;
	int r;

	err_clear(&err);
	*officer = 0;
	r = roles_check_chain(signer, o->people_cas, o->chain, o->now,
	    "the signer", &err);
	if (r == 0)
		r = roles_check_role(signer, OIDS_ROLE_OPERATOR, ku,
		    "the signer", "signing a bundle", &err);
	if (r == ERR_POLICY && o->officers_may_sign) {
		err_clear(&err2);
		if (roles_check_chain(signer, o->people_cas, o->chain, o->now,
		    "the signer", &err2) == 0 && roles_check_role(signer,
		    OIDS_ROLE_OFFICER, ku, "the signer", "signing a bundle",
		    &err2) == 0) {
			*officer = 1;
			r = 0;
		}
	}
	if (r != 0)
		return env_fail(e, r, "%s", err.msg);
	return 0;
}

/* Checks and verifies the SignedData; fills out on success. */
static int
env_signed(struct env *e, CMS_ContentInfo *cms, struct envelope *out)
{
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509) *certs = NULL, *one = NULL;
	CMS_SignerInfo *si;
	X509 *signer = NULL;
	X509_ALGOR *dig = NULL;
	ASN1_OCTET_STRING **pos;
	const ASN1_OBJECT *ct;
	char name[ENV_SHOW_MAX], who[ENV_SHOW_MAX];
	int n, i, dnid, kt, dup = 0, officer = 0, r = 0;

	if (CMS_is_detached(cms))
		return env_fail(e, ERR_INVALID, "the signature is detached: a "
		    "bundle carries the archive inside the SignedData "
		    "(`openssl cms -sign -nodetach`)");
	ct = CMS_get0_eContentType(cms);
	if (OBJ_obj2nid(ct) != NID_pkcs7_data) {
		env_obj_name(ct, name, sizeof(name));
		return env_fail(e, ERR_INVALID, "the signed content type is "
		    "%s, not id-data", name);
	}
	sis = CMS_get0_SignerInfos(cms);
	n = sis != NULL ? sk_CMS_SignerInfo_num(sis) : 0;
	if (n <= 0)
		return env_fail(e, ERR_INVALID, "the SignedData has no signer");
	if (n > 1)
		return env_fail(e, ERR_INVALID, "the SignedData has %d "
		    "signers; a bundle has exactly one, the operator", n);
	si = sk_CMS_SignerInfo_value(sis, 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	dnid = dig != NULL ? OBJ_obj2nid(dig->algorithm) : NID_undef;
	if (dnid != NID_sha256 && dnid != NID_sha384 && dnid != NID_sha512) {
		env_obj_name(dig != NULL ? dig->algorithm : NULL, name,
		    sizeof(name));
		return env_fail(e, ERR_POLICY, "the signature digest is %s; "
		    "SHA-256, SHA-384 or SHA-512 is required", name);
	}
	/* RFC 5652, 11.1: signed attributes name the content type too. */
	if (CMS_signed_get_attr_count(si) >= 0) {
		const ASN1_OBJECT *act = CMS_signed_get0_data_by_OBJ(si,
		    OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);

		if (act == NULL || OBJ_obj2nid(act) != NID_pkcs7_data)
			return env_fail(e, ERR_INVALID, "the signed attributes "
			    "do not give the content type as id-data");
	}

	/*
	 * Only the certificate that the SignerInfo names is taken from the
	 * bundle; two different ones answering to that name would leave it
	 * open which key signed.
	 */
	certs = CMS_get1_certs(cms);
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (CMS_SignerInfo_cert_cmp(si, x) != 0)
			continue;
		if (signer == NULL)
			signer = x;
		else if (X509_cmp(signer, x) != 0)
			dup = 1;
	}
	if (signer == NULL) {
		r = env_fail(e, ERR_INVALID, "the signer's certificate is not "
		    "included in the SignedData (`openssl cms -sign` includes "
		    "it unless told -nocerts)");
		goto out;
	}
	if (dup) {
		r = env_fail(e, ERR_INVALID, "two different certificates in "
		    "the SignedData answer to the signer's identifier");
		goto out;
	}
	roles_name(X509_get_subject_name(signer), who, sizeof(who));
	kt = X509_get0_pubkey(signer) != NULL ?
	    EVP_PKEY_get_base_id(X509_get0_pubkey(signer)) : NID_undef;
	if (kt != EVP_PKEY_RSA && kt != EVP_PKEY_EC) {
		r = env_fail(e, ERR_POLICY, "the signer's certificate (%s) "
		    "holds a %s key; operators sign with RSA or EC keys", who,
		    kt != NID_undef && OBJ_nid2sn(kt) != NULL ?
		    OBJ_nid2sn(kt) : "unreadable");
		goto out;
	}
	if ((r = env_check_signer(e, signer, &officer)) != 0)
		goto out;

	/*
	 * The path is checked above, so OpenSSL checks only the signature,
	 * with that one certificate; see envelope.h for why.
	 */
	if ((one = sk_X509_new_null()) == NULL || !sk_X509_push(one, signer)) {
		r = env_fail(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (CMS_verify(cms, one, NULL, NULL, NULL, CMS_BINARY | CMS_NOINTERN |
	    CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		r = env_fail(e, ERR_POLICY, "the signature does not verify: "
		    "the archive or the signed attributes changed after "
		    "signing, or the signature was not made with the key of "
		    "the signer's certificate (%s)", who);
		goto out;
	}
	pos = CMS_get0_content(cms);
	if (pos == NULL || *pos == NULL) {
		r = env_fail(e, ERR_INTERNAL, "the verified content is gone");
		goto out;
	}
	if ((r = buf_put(&out->content, (*pos)->data,
	    (size_t)(*pos)->length)) != 0) {
		r = env_fail(e, r, "the signed content does not fit in %zu "
		    "bytes", e->max);
		goto out;
	}
	if (pki_cert_sha256_hex(signer, out->signer_sha256) != 0) {
		r = env_fail(e, ERR_CRYPTO, "cannot compute the signer "
		    "certificate's fingerprint");
		goto out;
	}
	if (!X509_up_ref(signer)) {
		r = env_fail(e, ERR_CRYPTO, "cannot keep the signer's "
		    "certificate");
		goto out;
	}
	out->signer = signer;
	out->signer_officer = officer;
	out->digest_nid = dnid;
out:
	sk_X509_free(one);
	sk_X509_pop_free(certs, X509_free);
	return r;
}

/* --- entry points ------------------------------------------------------- */

int
envelope_open(const char *label, const void *data, size_t len,
    const struct envelope_opts *o, struct envelope *out, diag_t *diag)
{
	struct env e;
	CMS_ContentInfo *cms = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char digest[65], name[ENV_SHOW_MAX];
	buf_t plain;
	int r, nid;

	memset(out, 0, sizeof(*out));
	buf_init(&plain, 0);
	e.label = label != NULL ? label : "bundle";
	e.diag = diag;
	e.o = o;
	e.max = 0;
	if (o == NULL || o->people_cas == NULL ||
	    sk_X509_num(o->people_cas) < 1)
		return env_fail(&e, ERR_INTERNAL, "no people CA certificate "
		    "is configured to check operators against");
	if (data == NULL && len != 0)
		return env_fail(&e, ERR_INTERNAL, "no bundle bytes given");
	e.max = o->max_size == 0 ? ENVELOPE_DEFAULT_MAX :
	    o->max_size > ENVELOPE_HARD_MAX ? ENVELOPE_HARD_MAX : o->max_size;
	buf_init(&out->content, e.max);
	buf_set_secret(&out->content);
	if (len > e.max)
		return env_fail(&e, ERR_LIMIT, "the bundle is %zu bytes, more "
		    "than the limit of %zu bytes", len, e.max);
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return env_fail(&e, ERR_CRYPTO, "cannot compute the bundle's "
		    "SHA-256 digest");
	buf_hex(md, mdlen, out->bundle_sha256, sizeof(out->bundle_sha256));

	if ((r = env_decode(&e, data, len, 0, &cms)) != 0)
		goto out;
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if (nid == NID_pkcs7_enveloped) {
		if ((r = env_decrypt(&e, cms, &plain)) != 0)
			goto out;
		CMS_ContentInfo_free(cms);
		cms = NULL;
		out->encrypted = 1;
		if ((r = env_decode(&e, plain.data, plain.len, 1, &cms)) != 0)
			goto out;
		nid = OBJ_obj2nid(CMS_get0_type(cms));
		if (nid == NID_pkcs7_enveloped) {
			r = env_fail(&e, ERR_INVALID, "the decrypted bundle is "
			    "another EnvelopedData: nested encryption is not "
			    "accepted; encrypt the signed bundle once");
			goto out;
		}
	}
	if (nid != NID_pkcs7_signed) {
		env_obj_name(CMS_get0_type(cms), name, sizeof(name));
		r = env_fail(&e, ERR_INVALID, "%s is CMS %s content, not "
		    "SignedData%s", out->encrypted ? "the decrypted bundle" :
		    "the bundle", name, out->encrypted ? "" :
		    " or EnvelopedData");
		goto out;
	}
	r = env_signed(&e, cms, out);
out:
	env_cms_free(cms, out->encrypted);
	buf_free(&plain);
	ERR_clear_error();
	if (r != 0) {
		/* The digest stays, for the record of a quarantined bundle. */
		memcpy(digest, out->bundle_sha256, sizeof(digest));
		envelope_free(out);
		memcpy(out->bundle_sha256, digest, sizeof(digest));
	}
	return r;
}

void
envelope_free(struct envelope *e)
{
	if (e == NULL)
		return;
	buf_free(&e->content);
	X509_free(e->signer);
	memset(e, 0, sizeof(*e));
}
