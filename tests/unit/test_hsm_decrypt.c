/*
 * test_hsm_decrypt.c: CMS EnvelopedData opened with a transport key that
 * never leaves a fresh SoftHSM token, and the refusals around it.
 *
 * Each run makes a throwaway token in a temporary directory (the PINs on
 * softhsm2-util's command line are acceptable for that token only) and
 * goes through the real airlock-hsm helper from $AIRLOCK_BUILD/bin. Skips,
 * saying why, when softhsm2-util is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "hsm/hsm_proto.h"
#include "hsmfx.h"
#include "testutil.h"

#define TOKEN "airlock-dec-test"
#define USER_PIN "87654321"

static struct hsmfx fx;
/* The transport key (decrypt only), a CA-like key (sign only), a key
 * with both usages, and the transport certificate. */
static struct hsm_key *tkey, *skey, *bkey;
static X509 *tcert;

/* A certificate for pub signed by a throwaway software key. */
static X509 *
cert_for(const EVP_PKEY *pub, const char *cn)
{
	EVP_PKEY *issuer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n;

	assert_non_null(issuer);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 3), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_int_equal(X509_set_pubkey(x, (EVP_PKEY *)(uintptr_t)pub), 1);
	assert_true(X509_sign(x, issuer, EVP_sha256()) > 0);
	EVP_PKEY_free(issuer);
	return x;
}

static struct hsm_key *
gen_rsa(const char *label, unsigned usage)
{
	struct hsm_keyspec s = { HSM_KEY_RSA, 3072, 0, label, usage };
	struct hsm_key *k = NULL;
	err_t err;

	if (hsm_keygen(fx.pool, &s, &k, &err) != 0)
		fail_msg("hsm_keygen %s: %s", label, err.msg);
	return k;
}

static int
setup_token(void **state)
{
	(void)state;
	if (!hsmfx_have("test_hsm_decrypt"))
		return 0;
	if (getenv("AIRLOCK_BUILD") == NULL) {
		fprintf(stderr, "test_hsm_decrypt: $AIRLOCK_BUILD missing; "
		    "skipping\n");
		return 0;
	}
	return hsmfx_open(&fx, "test_hsm_decrypt", TOKEN, "12345678",
	    USER_PIN, 2);
}

static int
teardown_token(void **state)
{
	(void)state;
	X509_free(tcert);
	hsm_key_free(tkey);
	hsm_key_free(skey);
	hsm_key_free(bkey);
	hsmfx_close(&fx);
	return 0;
}

/* Keys first: later tests use them. */
static void
test_keys_and_usages(void **state)
{
	struct hsm_key_attrs a;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	tkey = gen_rsa("transport", HSM_USAGE_DECRYPT);
	skey = gen_rsa("ca", HSM_USAGE_SIGN);
	bkey = gen_rsa("both", HSM_USAGE_SIGN | HSM_USAGE_DECRYPT);
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_public(tkey)), 3072);
	tcert = cert_for(hsm_key_public(tkey), "Airlock transport");

	/* The transport key decrypts and does nothing else. */
	if (hsm_key_attrs(tkey, &a, &err) != 0)
		fail_msg("hsm_key_attrs: %s", err.msg);
	assert_int_equal(a.sensitive, 1);
	assert_int_equal(a.extractable, 0);
	assert_int_equal(a.never_extractable, 1);
	assert_int_equal(a.decrypt, 1);
	assert_int_equal(a.sign, 0);
	assert_int_equal(a.unwrap, 0);
	assert_int_equal(a.derive, 0);
	/* A signing key signs and does nothing else. */
	assert_int_equal(hsm_key_attrs(skey, &a, &err), 0);
	assert_int_equal(a.sign, 1);
	assert_int_equal(a.decrypt, 0);
	assert_int_equal(a.unwrap, 0);
	assert_int_equal(a.derive, 0);
	assert_int_equal(hsm_key_attrs(bkey, &a, &err), 0);
	assert_int_equal(a.sign, 1);
	assert_int_equal(a.decrypt, 1);
}

/* EnvelopedData (AES-256-CBC) to cert; OAEP with SHA-256 when oaep. */
static CMS_ContentInfo *
envelope(X509 *cert, const unsigned char *msg, size_t len, int oaep)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	CMS_ContentInfo *cms;
	BIO *in = BIO_new_mem_buf(msg, (int)len);
	unsigned char *der = NULL;
	const unsigned char *p;
	int dlen;

	assert_non_null(certs);
	assert_non_null(in);
	if (!oaep) {
		assert_int_equal(sk_X509_push(certs, cert), 1);
		cms = CMS_encrypt(certs, in, EVP_aes_256_cbc(), CMS_BINARY);
		assert_non_null(cms);
	} else {
		CMS_RecipientInfo *ri;
		EVP_PKEY_CTX *pctx;

		/* As `openssl cms -encrypt -keyopt rsa_padding_mode:oaep`. */
		cms = CMS_encrypt(certs, NULL, EVP_aes_256_cbc(),
		    CMS_BINARY | CMS_PARTIAL);
		assert_non_null(cms);
		ri = CMS_add1_recipient_cert(cms, cert, CMS_KEY_PARAM);
		assert_non_null(ri);
		pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
		assert_non_null(pctx);
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_OAEP_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(pctx,
		    EVP_sha256()) > 0);
		assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	}
	BIO_free(in);
	sk_X509_free(certs);
	/* Through DER, as the bundle arrives on the medium. */
	dlen = i2d_CMS_ContentInfo(cms, &der);
	assert_true(dlen > 0);
	CMS_ContentInfo_free(cms);
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, dlen);
	assert_non_null(cms);
	OPENSSL_free(der);
	return cms;
}

/* The key-transport algorithm of the one recipient. */
static int
ktri_alg(CMS_ContentInfo *cms)
{
	CMS_RecipientInfo *ri;
	X509_ALGOR *alg = NULL;

	ri = sk_CMS_RecipientInfo_value(CMS_get0_RecipientInfos(cms), 0);
	assert_non_null(ri);
	assert_int_equal(CMS_RecipientInfo_type(ri), CMS_RECIPINFO_TRANS);
	assert_int_equal(CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL,
	    &alg), 1);
	return OBJ_obj2nid(alg->algorithm);
}

/* CMS_decrypt with key and cert; the plaintext length, or -1. */
static long
open_envelope(CMS_ContentInfo *cms, EVP_PKEY *key, X509 *cert,
    unsigned char *out, size_t outmax)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = -1;
	int ok;

	assert_non_null(mem);
	ok = CMS_decrypt(cms, key, cert, NULL, mem, CMS_BINARY);
	ERR_clear_error();
	if (ok == 1) {
		n = BIO_get_mem_data(mem, &p);
		assert_true(n >= 0 && (size_t)n <= outmax);
		memcpy(out, p, (size_t)n);
	}
	BIO_free(mem);
	return n;
}

static void
test_cms_pkcs1(void **state)
{
	static unsigned char msg[5000], out[6000];
	CMS_ContentInfo *cms;
	EVP_PKEY *dec;
	size_t i;

	(void)state;
	HSMFX_NEED(&fx);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 7 + 1);
	cms = envelope(tcert, msg, sizeof(msg), 0);
	assert_int_equal(ktri_alg(cms), NID_rsaEncryption);
	dec = hsm_key_decrypter(tkey);
	assert_non_null(dec);
	assert_int_equal(open_envelope(cms, dec, tcert, out, sizeof(out)),
	    (long)sizeof(msg));
	assert_memory_equal(out, msg, sizeof(msg));
	EVP_PKEY_free(dec);
	CMS_ContentInfo_free(cms);
}

static void
test_cms_oaep(void **state)
{
	static const unsigned char msg[] = "manifest.yaml and friends, OAEP";
	unsigned char out[256];
	EVP_PKEY *dec;
	int i;

	(void)state;
	HSMFX_NEED(&fx);
	dec = hsm_key_decrypter(tkey);
	assert_non_null(dec);
	/* Twice, so the second goes through a session that already worked. */
	for (i = 0; i < 2; i++) {
		CMS_ContentInfo *cms = envelope(tcert, msg, sizeof(msg), 1);

		assert_int_equal(ktri_alg(cms), NID_rsaesOaep);
		assert_int_equal(open_envelope(cms, dec, tcert, out,
		    sizeof(out)), (long)sizeof(msg));
		assert_memory_equal(out, msg, sizeof(msg));
		CMS_ContentInfo_free(cms);
	}
	EVP_PKEY_free(dec);
}

/*
 * Flips one bit in the middle of the recipient's encrypted key, found in
 * the DER as the OCTET STRING of a 3072-bit key (04 82 01 80).
 */
static CMS_ContentInfo *
corrupt_ek(CMS_ContentInfo *cms)
{
	static const unsigned char tag[] = { 0x04, 0x82, 0x01, 0x80 };
	unsigned char *der = NULL;
	const unsigned char *p;
	int dlen, i, hits = 0;

	dlen = i2d_CMS_ContentInfo(cms, &der);
	assert_true(dlen > 0);
	CMS_ContentInfo_free(cms);
	for (i = 0; i + (int)sizeof(tag) + 384 <= dlen; i++) {
		if (memcmp(der + i, tag, sizeof(tag)) != 0)
			continue;
		der[i + (int)sizeof(tag) + 192] ^= 0x10;
		hits++;
		break;
	}
	assert_int_equal(hits, 1);
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, dlen);
	assert_non_null(cms);
	OPENSSL_free(der);
	return cms;
}

static void
test_cms_garbage(void **state)
{
	static const unsigned char msg[] = "tampered";
	unsigned char out[256];
	CMS_ContentInfo *cms;
	EVP_PKEY *dec;
	int oaep;

	(void)state;
	HSMFX_NEED(&fx);
	dec = hsm_key_decrypter(tkey);
	assert_non_null(dec);
	for (oaep = 0; oaep < 2; oaep++) {
		cms = corrupt_ek(envelope(tcert, msg, sizeof(msg), oaep));
		assert_int_equal(open_envelope(cms, dec, tcert, out,
		    sizeof(out)), -1);
		CMS_ContentInfo_free(cms);
	}
	/* The sessions still work after the failures. */
	cms = envelope(tcert, msg, sizeof(msg), 1);
	assert_int_equal(open_envelope(cms, dec, tcert, out, sizeof(out)),
	    (long)sizeof(msg));
	CMS_ContentInfo_free(cms);
	EVP_PKEY_free(dec);
}

static void
test_decrypt_raw(void **state)
{
	static const unsigned char msg[32] = "raw content-encryption key....";
	unsigned char ct[384], pt[512], big[HSM_PROTO_CIPHER_MAX + 1];
	EVP_PKEY_CTX *c;
	size_t ctlen = sizeof(ct), n;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	c = EVP_PKEY_CTX_new((EVP_PKEY *)(uintptr_t)hsm_key_public(tkey),
	    NULL);
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0);
	assert_int_equal(EVP_PKEY_encrypt(c, ct, &ctlen, msg, sizeof(msg)), 1);
	EVP_PKEY_CTX_free(c);
	assert_int_equal(ctlen, 384);

	if (hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_PKCS1, ct, ctlen, pt,
	    &n, sizeof(pt), &err) != 0)
		fail_msg("hsm_decrypt_raw: %s", err.msg);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	/* Raw: the whole PKCS#1 block, 00 02 ... 00 msg. */
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_RAW, ct,
	    ctlen, pt, &n, sizeof(pt), &err), 0);
	assert_int_equal(n, 384);
	assert_int_equal(pt[0], 0);
	assert_int_equal(pt[1], 2);
	assert_memory_equal(pt + 384 - sizeof(msg), msg, sizeof(msg));
	/* Output bounded by outmax: the helper refuses, never truncates. */
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_RAW, ct,
	    ctlen, pt, &n, 100, &err), ERR_HSM);
	assert_int_equal(n, 0);

	/* Garbage fails cleanly: bad padding, c >= n, wrong length. */
	memset(ct, 0x5a, sizeof(ct));
	ct[0] = 0;
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_PKCS1, ct,
	    sizeof(ct), pt, &n, sizeof(pt), &err), ERR_HSM);
	assert_non_null(strstr(err.msg, "C_Decrypt"));
	memset(ct, 0xff, sizeof(ct));
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_RAW, ct,
	    sizeof(ct), pt, &n, sizeof(pt), &err), ERR_HSM);
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_PKCS1, ct,
	    100, pt, &n, sizeof(pt), &err), ERR_INVALID);
	assert_non_null(strstr(err.msg, "384-byte modulus"));
	memset(big, 1, sizeof(big));
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_PKCS1, big,
	    sizeof(big), pt, &n, sizeof(pt), &err), ERR_INVALID);
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_DECRYPT_PKCS1, big,
	    0, pt, &n, sizeof(pt), &err), ERR_INVALID);
	/* Signing operations are not decryptions. */
	assert_int_equal(hsm_decrypt_raw(tkey, EXTKEY_RSA_PKCS1, ct,
	    sizeof(ct), pt, &n, sizeof(pt), &err), ERR_INVALID);
}

static void
test_sign_only_key_refused(void **state)
{
	unsigned char ct[384], pt[512];
	size_t n;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	memset(ct, 0x11, sizeof(ct));
	ct[0] = 0;
	assert_int_equal(hsm_decrypt_raw(skey, EXTKEY_RSA_DECRYPT_PKCS1, ct,
	    sizeof(ct), pt, &n, sizeof(pt), &err), ERR_POLICY);
	assert_non_null(strstr(err.msg, "may not decrypt"));
	assert_non_null(strstr(err.msg, "'ca'"));
	assert_int_equal(hsm_decrypt_raw(skey, EXTKEY_RSA_DECRYPT_RAW, ct,
	    sizeof(ct), pt, &n, sizeof(pt), &err), ERR_POLICY);
	assert_non_null(strstr(err.msg, "may not decrypt"));
	/*
	 * Raw decryption is a signature on chosen bytes: a key that may sign
	 * is refused it even when it may decrypt.
	 */
	assert_int_equal(hsm_decrypt_raw(bkey, EXTKEY_RSA_DECRYPT_RAW, ct,
	    sizeof(ct), pt, &n, sizeof(pt), &err), ERR_POLICY);
	assert_non_null(strstr(err.msg, "may sign"));
}

static void
test_roles_on_hsm_keys(void **state)
{
	static const unsigned char msg[] = "role check";
	unsigned char out[256], dg[51] = { 0x30 }, sig[512];
	CMS_ContentInfo *cms;
	EVP_PKEY *tsign, *sdec, *tdec;
	X509 *x;
	size_t n;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	/* The transport key as an extkey signer still cannot sign. */
	x = cert_for(hsm_key_public(tkey), "not signed");
	tsign = hsm_key_signer(tkey);
	assert_non_null(tsign);
	assert_int_equal(X509_sign(x, tsign, EVP_sha256()), 0);
	/* ... nor as a decrypter, which refuses before asking the HSM. */
	tdec = hsm_key_decrypter(tkey);
	assert_non_null(tdec);
	assert_int_equal(X509_sign(x, tdec, EVP_sha256()), 0);
	/* ... nor directly: its CKA_SIGN is false. */
	assert_int_equal(hsm_sign_raw(tkey, EXTKEY_RSA_PKCS1, dg, sizeof(dg),
	    sig, &n, sizeof(sig), &err), ERR_HSM);
	assert_non_null(strstr(err.msg, "CKR_KEY_FUNCTION_NOT_PERMITTED"));
	/* Decryptions are not signing operations. */
	assert_int_equal(hsm_sign_raw(tkey, EXTKEY_RSA_DECRYPT_RAW, dg,
	    sizeof(dg), sig, &n, sizeof(sig), &err), ERR_INVALID);
	ERR_clear_error();

	/* A CA key's signer refuses to open an envelope, in any padding. */
	sdec = hsm_key_signer(skey);
	assert_non_null(sdec);
	X509_free(x);
	x = cert_for(hsm_key_public(skey), "sign only");
	cms = envelope(x, msg, sizeof(msg), 0);
	assert_int_equal(open_envelope(cms, sdec, x, out, sizeof(out)), -1);
	CMS_ContentInfo_free(cms);
	cms = envelope(x, msg, sizeof(msg), 1);
	assert_int_equal(open_envelope(cms, sdec, x, out, sizeof(out)), -1);
	CMS_ContentInfo_free(cms);
	/* The CA key's signer still signs. */
	assert_true(X509_sign(x, sdec, EVP_sha256()) > 0);
	assert_int_equal(X509_verify(x, (EVP_PKEY *)(uintptr_t)
	    hsm_key_public(skey)), 1);
	EVP_PKEY_free(sdec);

	/* A decrypter made for the CA key is refused by the helper. */
	sdec = hsm_key_decrypter(skey);
	assert_non_null(sdec);
	cms = envelope(x, msg, sizeof(msg), 0);
	assert_int_equal(open_envelope(cms, sdec, x, out, sizeof(out)), -1);
	CMS_ContentInfo_free(cms);

	X509_free(x);
	EVP_PKEY_free(sdec);
	EVP_PKEY_free(tsign);
	EVP_PKEY_free(tdec);
}

static void
test_decrypter_needs_rsa_and_login(void **state)
{
	struct hsm_keyspec s = { HSM_KEY_EC, 0, NID_X9_62_prime256v1, "ec",
	    0 };
	struct hsm_pool *p = NULL;
	struct hsm_key *k = NULL;
	unsigned char ct[64] = { 0 }, pt[64];
	size_t n;
	err_t err;

	(void)state;
	HSMFX_NEED(&fx);
	assert_int_equal(hsm_keygen(fx.pool, &s, &k, &err), 0);
	assert_null(hsm_key_decrypter(k));
	assert_int_equal(hsm_decrypt_raw(k, EXTKEY_RSA_DECRYPT_PKCS1, ct,
	    sizeof(ct), pt, &n, sizeof(pt), &err), ERR_INVALID);
	hsm_key_free(k);
	assert_null(hsm_key_decrypter(NULL));

	if (hsmfx_public(&fx, "transport", &p, &k) != 0)
		fail_msg("no public-only view of transport");
	assert_null(hsm_key_decrypter(k));
	hsm_key_free(k);
	hsm_pool_close(p);
}

/* Sends one frame on fd. */
static void
send_frame(int fd, uint8_t type, uint32_t id, const buf_t *payload)
{
	buf_t f;
	err_t err;

	buf_init(&f, HSM_PROTO_HDR + HSM_PROTO_MAX);
	assert_int_equal(hsm_proto_encode(&f, type, id, payload->data,
	    payload->len), 0);
	assert_int_equal(hsm_proto_write(fd, &f, &err), 0);
	buf_free(&f);
}

/* Reads one reply; returns its type and leaves its payload in frame. */
static uint8_t
read_reply(int fd, uint32_t want_id, buf_t *frame, buf_t *payload)
{
	uint8_t type;
	uint32_t id;
	int eof;
	err_t err;

	assert_int_equal(hsm_proto_read(fd, frame, &eof, &err), 0);
	assert_int_equal(hsm_proto_decode(frame->data, frame->len,
	    hsm_proto_is_reply, &type, &id, payload, &err), 0);
	assert_int_equal(id, want_id);
	return type;
}

/* A DECRYPT request for the transport key with a ctlen-byte ciphertext. */
static void
decrypt_req(buf_t *b, uint8_t mech, size_t ctlen)
{
	static unsigned char ct[HSM_PROTO_CIPHER_MAX + 64];

	buf_reset(b);
	(void)buf_put_cstring(b, "transport");
	(void)buf_put_string(b, NULL, 0);
	(void)buf_put_u8(b, mech);
	(void)buf_put_string(b, ct, ctlen);
	(void)buf_put_u32(b, HSM_PROTO_PLAIN_MAX);
	assert_true(buf_ok(b));
}

/*
 * Drives airlock-hsm by hand: logged in, it answers a DECRYPT with an
 * unknown mechanism with an error, then meets a ciphertext above
 * HSM_PROTO_CIPHER_MAX and exits without answering.
 */
static void
test_helper_oversize_ciphertext(void **state)
{
	char c;
	buf_t req, frame, payload;
	int fd, st;
	err_t err;
	pid_t pid;

	(void)state;
	HSMFX_NEED(&fx);
	assert_true((fd = hsmfx_spawn_helper(&pid)) >= 0);
	buf_init(&req, HSM_PROTO_MAX);
	buf_init(&frame, HSM_PROTO_HDR + HSM_PROTO_MAX);
	(void)buf_put_cstring(&req, HSMFX_MODULE);
	(void)buf_put_cstring(&req, TOKEN);
	(void)buf_put_cstring(&req, "");
	(void)buf_put_cstring(&req, "");
	(void)buf_put_cstring(&req, "");
	(void)buf_put_u8(&req, 1);
	(void)buf_put_string(&req, USER_PIN, strlen(USER_PIN));
	send_frame(fd, HSM_MSG_OPEN, 1, &req);
	assert_int_equal(read_reply(fd, 1, &frame, &payload), HSM_MSG_OK);

	/* Only CKM_RSA_PKCS and CKM_RSA_X_509: an error, not an exit. */
	decrypt_req(&req, 3, 384);
	send_frame(fd, HSM_MSG_DECRYPT, 2, &req);
	assert_int_equal(read_reply(fd, 2, &frame, &payload), HSM_MSG_ERR);
	assert_int_equal(hsm_proto_get_error(&payload, &err), ERR_INVALID);
	assert_non_null(strstr(err.msg, "CKM_RSA_X_509"));
	/* The largest ciphertext the protocol allows gets an answer. */
	decrypt_req(&req, HSM_PROTO_DECRYPT_PKCS1, HSM_PROTO_CIPHER_MAX);
	send_frame(fd, HSM_MSG_DECRYPT, 3, &req);
	assert_int_equal(read_reply(fd, 3, &frame, &payload), HSM_MSG_ERR);
	assert_int_equal(hsm_proto_get_error(&payload, &err), ERR_INVALID);

	/* One byte more is a malformed request: the helper leaves. */
	decrypt_req(&req, HSM_PROTO_DECRYPT_PKCS1, HSM_PROTO_CIPHER_MAX + 1);
	send_frame(fd, HSM_MSG_DECRYPT, 4, &req);
	assert_true(read(fd, &c, 1) <= 0);
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	buf_free(&req);
	buf_free(&frame);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_usages),
		cmocka_unit_test(test_cms_pkcs1),
		cmocka_unit_test(test_cms_oaep),
		cmocka_unit_test(test_cms_garbage),
		cmocka_unit_test(test_decrypt_raw),
		cmocka_unit_test(test_sign_only_key_refused),
		cmocka_unit_test(test_roles_on_hsm_keys),
		cmocka_unit_test(test_decrypter_needs_rsa_and_login),
		cmocka_unit_test(test_helper_oversize_ciphertext),
	};

	return cmocka_run_group_tests(tests, setup_token, teardown_token);
}
