/*
 * line.h: one line of a batch on its way to a certificate: prepared
 * (request rebuilt, key made, certspec, TBS built and linted) and signed
 * (digest, raw HSM signature, certificate assembled), each on a worker
 * thread (signer-internal). Nothing here touches the store.
 */
#ifndef AIRLOCK_SIGNER_LINE_H
#define AIRLOCK_SIGNER_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/certbuild.h"
#include "pki/lint.h"
#include "signer/signer.h"
#include "util/buf.h"
#include "util/err.h"

/* Largest raw signature: RSA-4096 is 512 bytes; P-521 r||s is 132. */
#define SIGNER_SIG_MAX 512

/* What happened to a slot so far. */
enum signer_slot_state {
	SIGNER_SLOT_OK = 0,	/* nothing went wrong (yet) */
	SIGNER_SLOT_FAILED,	/* the profile refuses the line: err says why */
	SIGNER_SLOT_FATAL	/* the run must stop: rc and err */
};

/* Shared by every line of one run; read-only once the workers start. */
struct signer_ctx {
	const struct signer_opts *o;
	const struct profile *p;
	X509 *issuer;
	time_t issuer_not_after;
	struct lint_opts lint;
	const EVP_MD *md;		/* profile_md: for new TBS */
	int ca_type;			/* EVP_PKEY_RSA or EVP_PKEY_EC */
	/* One null signer per preparing worker, and the last for the
	 * calling thread (a serial drawn again after a collision). */
	EVP_PKEY **null_signers;
	unsigned n_null;
};

struct signer_slot {
	int64_t line;
	/* The request as queued (copies); only while preparing. */
	char *mac;
	unsigned char *req;
	size_t req_len;
	char *fields;
	/* Prepared. */
	unsigned char serial[CERTBUILD_SERIAL_LEN];
	char serial_hex[2 * CERTBUILD_SERIAL_LEN + 1];
	X509 *x;			/* until reserved: a serial may change */
	buf_t tbs;
	buf_t key_enc;
	char *note;
	/* Signed. */
	buf_t cert;
	enum signer_slot_state state;
	int rc;
	err_t err;
};

/* A group of slots as handed to a crew. */
struct signer_group {
	struct signer_ctx *c;
	struct signer_slot *v;
	size_t n;
};

/* Empty slot (bounded buffers initialised). */
void signer_slot_init(struct signer_slot *s, int64_t line);

/* Frees everything in s (wiping what may be secret). */
void signer_slot_free(struct signer_slot *s);

/* Crew function: prepares slot `item` of a struct signer_group. */
void signer_line_prepare(void *group, size_t item, unsigned worker);

/*
 * Puts s->serial into s->x and (re)makes s->tbs: null-signed for the
 * algorithm identifiers, encoded, linted. Used by prepare and, after a
 * serial collision, by the calling thread with its own null signer.
 * 0, ERR_POLICY (a lint finding, in err), or another ERR_*.
 */
int signer_line_finish(struct signer_ctx *c, struct signer_slot *s,
    unsigned worker, err_t *err);

/* Crew function: signs slot `item`'s TBS in the HSM into its cert. */
void signer_line_sign(void *group, size_t item, unsigned worker);

/*
 * Signs tbs with the CA key in the HSM, with the digest its signature
 * AlgorithmIdentifier names, and appends the certificate to out.
 */
int signer_line_sign_tbs(struct signer_ctx *c, const unsigned char *tbs,
    size_t tbs_len, buf_t *out, err_t *err);

/*
 * Signs the digest (md) of tbs with key, an RSA or EC key_type CA key in
 * the HSM: a raw PKCS#1 v1.5 signature over the DigestInfo, or ECDSA over
 * the bare digest turned from r||s into a DER Ecdsa-Sig-Value. sig gets
 * the signature value as X.509 carries it (at most sigmax bytes), ready
 * for pkisign_assemble. Certificates (signer_line_sign_tbs) and CRLs
 * (signer/crl.c) are signed here. Thread-safe as hsm_sign_raw is.
 */
int signer_sign_tbs(struct hsm_key *key, int key_type, const EVP_MD *md,
    const unsigned char *tbs, size_t tbs_len, unsigned char *sig,
    size_t sigmax, size_t *siglen, err_t *err);

#endif
