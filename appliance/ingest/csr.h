/*
 * csr.h: PKCS#10 certificate requests from the medium.
 *
 * One input is either one DER request spanning it exactly, or text holding
 * one or more PEM blocks labelled "CERTIFICATE REQUEST" or "NEW
 * CERTIFICATE REQUEST" (text between blocks, such as `openssl req -text`
 * output, is ignored; a block of any other label, PEM headers, or a block
 * that never ends is refused). Each request must be at most CSR_DER_MAX
 * bytes of DER, version 1, signed by its own key (verified), with a named
 * curve when it is EC. Its subject and public key are kept, and the
 * subjectAltName of its extensionRequest (DNS, email, URI and IP names
 * only) is extracted. Subject attributes must be valid text without
 * control characters, CN at most CSR_CN_MAX characters, C two capital
 * letters. Key algorithm and size are described, not judged: profiles
 * decide which keys they accept.
 *
 * Pure: no I/O, no global state besides OpenSSL's error queue, which is
 * left empty.
 */
#ifndef AIRLOCK_INGEST_CSR_H
#define AIRLOCK_INGEST_CSR_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"

/* Largest input (many PEM requests of a 10,000-line batch fit easily). */
#define CSR_INPUT_MAX (64u * 1024 * 1024)
/* Largest single request, in DER bytes. */
#define CSR_DER_MAX (32u * 1024)
/* Requests in one input. */
#define CSR_MAX_COUNT 100000u
/* subjectAltName entries in one request, and bytes in one of them. */
#define CSR_SAN_MAX 64u
#define CSR_SAN_VALUE_MAX 255u
/* Characters in CN; in any other subject attribute. */
#define CSR_CN_MAX 64u
#define CSR_ATTR_MAX 128u
/* Buffer size that always holds a csr_key_desc result. */
#define CSR_KEY_DESC_MAX 32u

enum csr_san_type { CSR_SAN_DNS, CSR_SAN_EMAIL, CSR_SAN_URI, CSR_SAN_IP };

struct csr_san {
	enum csr_san_type type;
	char *value;		/* IA5 text, or an IP address in text form */
};

struct csr_item {
	X509_REQ *req;		/* the whole request, signature verified */
	const X509_NAME *subject;	/* owned by req */
	EVP_PKEY *pub;		/* owned by req */
	char key_desc[CSR_KEY_DESC_MAX];	/* see csr_key_desc */
	size_t index;		/* 1-based position in the input */
	unsigned long line;	/* line of its BEGIN, 0 for DER */
	struct csr_san *sans;
	size_t nsans;
};

struct csr_list {
	struct csr_item *items;
	size_t n;
};

/* An empty list; csr_list_free may be called on it. */
void csr_list_init(struct csr_list *l);

/* Frees every request and leaves the list empty. */
void csr_list_free(struct csr_list *l);

/*
 * Parses every request in len bytes labelled `label` (the file of each
 * message) into *out, initialised first. Returns 0 when all are valid.
 * Otherwise every problem is in diag (file label, the BEGIN line, field
 * "request N"), out is left empty, and the result is ERR_LIMIT for an
 * input over CSR_INPUT_MAX or past CSR_MAX_COUNT requests, else
 * ERR_INVALID; ERR_NOMEM when memory runs out.
 */
int csr_parse_all(const char *label, const void *data, size_t len,
    struct csr_list *out, diag_t *diag);

/*
 * Describes a public key for profile checks: "rsa-2048", "rsa-pss-2048",
 * "ec-p256", "ec-p384", "ec-p521", "ec-<curve>" for other named curves,
 * "ed25519", "ed448", "dsa-2048", or "other". Returns 0, ERR_LIMIT when
 * outsz is too small (CSR_KEY_DESC_MAX always suffices), ERR_INVALID
 * for a NULL key.
 */
int csr_key_desc(const EVP_PKEY *pub, char *out, size_t outsz);

#endif
