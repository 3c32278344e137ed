/*
 * envelope.h: the CMS wrappers of a request bundle, opened from untrusted
 * bytes (docs/formats/bundle.md, section 1).
 *
 * A bundle is a CMS SignedData by an operator whose content is the ZIP
 * archive, optionally wrapped (sign, then encrypt) in a CMS EnvelopedData
 * to the appliance transport certificate. envelope_open takes the whole
 * file as received and either hands back the signed archive bytes and
 * who signed them, or refuses with one message saying which rule broke.
 *
 * Encoding. DER (and the BER that `openssl cms -stream` writes, as
 * OpenSSL reads it) spanning the input exactly, or exactly one PEM block
 * labelled CMS or PKCS7, without PEM headers, with nothing but white space
 * around it. The same holds for the plaintext inside an EnvelopedData.
 *
 * EnvelopedData. Exactly one RecipientInfo: a KeyTransRecipientInfo (RSA,
 * PKCS#1 v1.5 or OAEP) naming transport_cert by issuer and serial or by
 * subject key identifier. Content cipher AES-256-CBC only, checked before
 * any private-key operation. Decryption goes through transport_key, an
 * extkey decrypter (pki/extkey.h) whose private operation is a callback,
 * so that the ingest role never holds the key: CMS_decrypt is called with
 * the certificate and without CMS_DEBUG_DECRYPT, so a bad encrypted key
 * yields a random content key rather than an error, and every failure from
 * there on (RSA, padding, content cipher, and a plaintext that is not CMS
 * at all) gives the one message ENVELOPE_MSG_DECRYPT: nothing tells a
 * sender which step failed (no padding oracle). The plaintext must be a
 * SignedData; an EnvelopedData inside is refused (no nesting).
 *
 * SignedData. Content attached, eContentType id-data (and, when there are
 * signed attributes, their content-type attribute agrees). Exactly one
 * SignerInfo, digest SHA-256, SHA-384 or SHA-512 (others, SHA-1 and MD5
 * among them, refused by name). The signer's certificate must be among
 * the certificates of the SignedData; only that one certificate is taken
 * from the bundle, the others are ignored and never used to build a path.
 * It must hold an RSA or EC key, and:
 *  - chain to one of people_cas at `now`: people_cas are the trust
 *    anchors themselves (X509_V_FLAG_PARTIAL_CHAIN), so no root is needed
 *    and nothing above a people CA can vouch for an operator; `chain`, if
 *    given, only offers untrusted intermediates between the signer and a
 *    people CA. Every certificate on the path must be within its validity
 *    at `now`;
 *  - carry the airlock-operator extended key usage (pki/oids.h) and no
 *    other Airlock role: an officer's or auditor's certificate is refused
 *    as the wrong role even when it chains (but for officers_may_sign,
 *    which lets the officer role alone pass too);
 *  - allow digital signatures when it has a keyUsage extension.
 * The signature is then verified over the content with CMS_verify, given
 * that certificate alone (CMS_NOINTERN) and CMS_NO_SIGNER_CERT_VERIFY,
 * because the path check above is ours: OpenSSL's would demand the S/MIME
 * signing purpose, which operator certificates do not have.
 *
 * Not checked here: revocation and locked-out credentials, which need the
 * appliance state. The caller looks up signer_sha256 in the store and
 * refuses a revoked or locked operator; likewise replays (bundle_sha256)
 * and everything inside the archive.
 *
 * Memory. The content goes into out->content, a buffer marked secret (a
 * bundle may carry a PKCS#12 password), and OpenSSL's buffers that held
 * plaintext (the decrypted SignedData, its PEM decoding, its content) are
 * wiped before they are freed; OpenSSL's own short-lived stack buffers
 * are beyond reach.
 *
 * Pure: no I/O, no global state besides OpenSSL's error queue, which is
 * left empty. Thread-safe when the transport key's callback is.
 */
#ifndef AIRLOCK_INGEST_ENVELOPE_H
#define AIRLOCK_INGEST_ENVELOPE_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/buf.h"
#include "util/err.h"

/* Default limit on the whole bundle file. */
#define ENVELOPE_DEFAULT_MAX ((size_t)512 * 1024 * 1024)
/* No limit is taken above this: OpenSSL's BIO and d2i lengths are ints. */
#define ENVELOPE_HARD_MAX ((size_t)1024 * 1024 * 1024)

/* The one message for every failure to decrypt (see above). */
#define ENVELOPE_MSG_DECRYPT \
	"cannot decrypt the bundle with the appliance transport key"

struct envelope_opts {
	/* The people CA certificate(s): the trust anchors for operators.
	 * At least one. */
	STACK_OF(X509) *people_cas;
	/* Untrusted intermediates between a signer and a people CA; NULL
	 * normally, since the people CA issues operators directly. */
	STACK_OF(X509) *chain;
	/* The transport certificate and its decrypter (an RSA extkey). Both
	 * NULL: encrypted bundles are refused. */
	X509 *transport_cert;
	EVP_PKEY *transport_key;
	/* The time certificates must be valid at. Required. */
	time_t now;
	/* Bytes in the whole bundle file; 0 means ENVELOPE_DEFAULT_MAX, and
	 * values above ENVELOPE_HARD_MAX count as it. Also bounds the
	 * decrypted plaintext and the content. */
	size_t max_size;
	/* 1: a certificate holding the officer role alone is taken too
	 * (envelope.signer_officer says so): officers may ask for a
	 * revocation, and the bundle check then refuses an officer's
	 * bundle of any other kind. 0: operators only. */
	int officers_may_sign;
};

struct envelope {
	buf_t content;		/* the signed ZIP bytes (secret: wiped) */
	X509 *signer;		/* the operator's certificate (a reference) */
	char signer_sha256[65];	/* SHA-256 of the signer certificate's DER */
	/* SHA-256 of the whole file as received: the "bundle digest" that
	 * replay checks and approvals are about. */
	char bundle_sha256[65];
	int encrypted;		/* 1 when it came in an EnvelopedData */
	int signer_officer;	/* 1: an officer signed (officers_may_sign) */
	int digest_nid;		/* the SignerInfo's digest */
};

/*
 * Opens len bytes labelled `label` (the file of the message) with the
 * rules above. Returns 0 with *out filled (free it with envelope_free).
 * Otherwise *out holds nothing to free, diag has exactly one message, and
 * the result is:
 *  - ERR_LIMIT: the input is larger than the limit;
 *  - ERR_INVALID: not a bundle's shape: not CMS, malformed or truncated
 *    DER or PEM, a wrong PEM label, a content type other than SignedData
 *    or EnvelopedData, a nested EnvelopedData, detached content, not one
 *    signer, the signer's certificate missing, no encrypted content, or
 *    ENVELOPE_MSG_DECRYPT;
 *  - ERR_POLICY: well formed but refused: no transport key configured,
 *    another recipient, a refused cipher, key transport or digest, a
 *    signer that does not chain to a people CA at `now`, is expired or
 *    not yet valid, holds the wrong role, or whose signature does not
 *    verify;
 *  - ERR_NOMEM, ERR_CRYPTO (OpenSSL failed where it should not), or
 *    ERR_INTERNAL (no people CA given).
 * bundle_sha256 is set even on failure once the size is within the
 * limit, for the record of a quarantined bundle.
 */
int envelope_open(const char *label, const void *data, size_t len,
    const struct envelope_opts *o, struct envelope *out, diag_t *diag);

/* Frees what envelope_open filled (wiping the content); e may be empty. */
void envelope_free(struct envelope *e);

#endif
