/*
 * fuzz_envelope.c: libFuzzer target for the CMS wrappers of a request
 * bundle (ingest/envelope): SignedData, optionally inside EnvelopedData,
 * DER, BER or PEM, straight from the medium.
 *
 * The trust settings are made once in LLVMFuzzerInitialize:
 *  - the people CA is the fixed certificate below (public; its key was a
 *    throwaway, gone after it signed the operator behind the seed
 *    corpus/envelope/signed.p7s), so mutations of that seed get past the
 *    chain check into signature verification and the success path;
 *  - the transport key is an RSA key made here, with a self-signed
 *    certificate, whose decrypter is an extkey with a software callback,
 *    as the HSM helper's would be (see tests/unit/test_envelope.c). No
 *    seed is encrypted to it (its key exists only in this process), so
 *    EnvelopedData inputs exercise recipient matching, the cipher checks
 *    and the one-message decryption failure path.
 * Refusals are normal. The opener promises one message per refusal and
 * an empty OpenSSL error queue, which are checked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ingest/envelope.h"
#include "pki/extkey.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The people CA of the seed corpus (EC P-256, valid 2026-11-22 to 2126). */
static const char people_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIB1zCCAX2gAwIBAgIUD10i/jRKuUky8772MKNllipxTRAwCgYIKoZIzj0EAwIw\n"
    "ODEVMBMGA1UECgwMQWlybG9jayBGdXp6MR8wHQYDVQQDDBZBaXJsb2NrIEZ1enog\n"
    "UGVvcGxlIENBMCAXDTI2MTEyMjA5MjkxOVoYDzIxMjYxMDI5MDkyOTE5WjA4MRUw\n"
    "EwYDVQQKDAxBaXJsb2NrIEZ1enoxHzAdBgNVBAMMFkFpcmxvY2sgRnV6eiBQZW9w\n"
    "bGUgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARlarS3G9sC54tABaXsKpJm\n"
    "+rOd9yiLw5OPXOP4IlEELMKzBuh3rnVkeGTMi6m5MLE9AymKY0ouW0Ju0VVDQpG+\n"
    "o2MwYTAdBgNVHQ4EFgQUhZTt/vgaKmVWhqRBf+uKCcN/l5MwHwYDVR0jBBgwFoAU\n"
    "hZTt/vgaKmVWhqRBf+uKCcN/l5MwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E\n"
    "BAMCAYYwCgYIKoZIzj0EAwIDSAAwRQIgU5iMv8N7R+8W2pMS4gn8s5C4e75aUxhN\n"
    "MWC8uzcyoAsCIQDg8EkGAdIK+J5qZtH2eAxdd3Vx3zeYRYZr5vZxyOt0Pg==\n"
    "-----END CERTIFICATE-----\n"
    ;

/* 2027-01-01T00:00:00Z: inside the validity of the seed's certificates. */
#define FUZZ_NOW ((time_t)1798761600)

static struct envelope_opts opts;
static EVP_PKEY *tr_key;

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_envelope: %s\n", what);
	ERR_print_errors_fp(stderr);
	abort();
}

/* Stands in for the HSM helper: CKM_RSA_PKCS and CKM_RSA_X_509. */
static int
soft_decrypt(void *ctx, enum extkey_op op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen, size_t outmax)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ctx, NULL);
	size_t len = outmax;
	int ok = 0;

	if (c == NULL || EVP_PKEY_decrypt_init(c) <= 0 ||
	    (op != EXTKEY_RSA_DECRYPT_PKCS1 && op != EXTKEY_RSA_DECRYPT_RAW) ||
	    EVP_PKEY_CTX_set_rsa_padding(c, op == EXTKEY_RSA_DECRYPT_RAW ?
	    RSA_NO_PADDING : RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_decrypt(c, out, &len, in, inlen) <= 0)
		goto out;
	*outlen = len;
	ok = 1;
out:
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* A self-signed certificate for key: all the envelope needs of the
 * transport certificate is its issuer, serial and public key. */
static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (x == NULL || n == NULL ||
	    !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 0x5eed) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Airlock fuzz transport", -1, -1, 0) ||
	    !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), FUZZ_NOW - 86400) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), FUZZ_NOW + 86400 * 3650) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		die("cannot make the transport certificate");
	X509_NAME_free(n);
	return x;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	BIO *b;
	X509 *ca;

	(void)argc;
	(void)argv;
	b = BIO_new_mem_buf(people_ca_pem, -1);
	ca = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (ca == NULL || (opts.people_cas = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(opts.people_cas, ca))
		die("cannot load the people CA");
	/* 2048 bits rather than the appliance's 3072: keygen stays quick
	 * and nothing here depends on the size. */
	if ((tr_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) ==
	    NULL)
		die("cannot make the transport key");
	opts.transport_cert = self_signed(tr_key);
	opts.transport_key = extkey_new_decrypter(tr_key, soft_decrypt,
	    tr_key, NULL);
	if (opts.transport_key == NULL)
		die("cannot make the transport decrypter");
	opts.now = FUZZ_NOW;
	/* Inputs are at most -max_len; a small limit also tests the check. */
	opts.max_size = 1024 * 1024;
	ERR_clear_error();
	/* The objects live for the whole process, as the appliance's do;
	 * libFuzzer exits without a teardown hook, and LeakSanitizer sees
	 * them through these static pointers, so they are not reported. */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env;
	diag_t diag;
	char line[2048];
	size_t i;

	memset(&env, 0, sizeof(env));
	diag_init(&diag);
	if (envelope_open("fuzz.p7s", data, size, &opts, &env, &diag) == 0) {
		if (env.signer == NULL || strlen(env.signer_sha256) != 64 ||
		    strlen(env.bundle_sha256) != 64)
			abort();
	} else if (diag.n != 1) {
		/* The opener promises exactly one message on refusal. */
		fprintf(stderr, "refusal with %zu messages\n", diag.n);
		abort();
	}
	for (i = 0; i < diag.n; i++)
		(void)diag_format(&diag, i, line, sizeof(line));
	envelope_free(&env);
	diag_free(&diag);
	if (ERR_peek_error() != 0)
		die("OpenSSL error queue left non-empty");
	return 0;
}
