/*
 * bundle_make.h: a request bundle made on the operator's workstation
 * (docs/formats/bundle.md, section 4.2), the other side of ingest/bundle.h;
 * and, by the same writer, a revocation request (kind revocation, section
 * 6), made by `airlock revoke` at the console or on a workstation.
 *
 * bundle_make writes manifest.yaml from the options, packs it with the
 * input files into a ZIP archive in memory, signs the archive as a CMS
 * SignedData with the operator's key and certificate, and, when asked,
 * encrypts that to the appliance's transport certificate (EnvelopedData,
 * AES-256-CBC, RSA-OAEP). Before signing, the manifest and the archive are
 * run through the appliance's own parsers (manifest_parse, archive_open,
 * manifest_check_archive), and the CSRs and the CSV through csr_parse_all
 * and csv_parse, so that what the appliance would refuse is refused here,
 * on the operator's desk, rather than after a trip on a USB stick.
 *
 * Pure but for reading the input files named in the options (CSR files and
 * folders, the CSV, the recipient certificate) through util/fileio.h: no
 * output is written, nothing is printed. Folders are read one level deep
 * and symbolic links are never followed, neither for a file nor inside a
 * folder: a link is refused, not skipped, so that the bundle holds exactly
 * the files the operator sees.
 *
 * Secrets: the PKCS#12 password and key passphrases come in secret_t and
 * are never put in a message; the buffers that hold the manifest, the
 * archive and the signed plaintext are wiped before they are freed.
 * libzip's and OpenSSL's own working buffers are beyond our reach: the
 * bundle carrying a password is encrypted, which is what protects it.
 */
#ifndef AIRLOCK_OPERATOR_BUNDLE_MAKE_H
#define AIRLOCK_OPERATOR_BUNDLE_MAKE_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "hsm/hsm_cred.h"
#include "ingest/mac.h"
#include "ingest/manifest.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"

/* Names the inputs get inside the archive. */
#define BUNDLE_MAKE_CSR_DIR "csr/"
#define BUNDLE_MAKE_CSV_NAME "requests.csv"
#define BUNDLE_MAKE_RECIPIENT_NAME "recipient.pem"
#define BUNDLE_MAKE_TARGETS_NAME "targets.txt"

/* Most --csr paths one bundle takes (each a file or a folder). */
#define BUNDLE_MAKE_MAX_PATHS 1024

/* The operator's signing key and certificate, from a file or a token. */
struct bundle_make_signer {
	EVP_PKEY *key;		/* cred.key: software or through the token */
	X509 *cert;
	struct hsm_cred cred;
};

struct bundle_make_opts {
	/* MANIFEST_KIND_REQUEST (0, the default) or _REVOCATION. A
	 * revocation takes only the revocation fields below, the signer,
	 * encrypt_to, id, created and pem; a request only the others. */
	enum manifest_kind kind;

	/* kind revocation (bundle.md, section 6.2) */
	const char *reason;		/* one of queue_revocation_reasons */
	const char *message;		/* one line, 1..512 characters */
	time_t invalidity_date;		/* 0: none; never with removeFromCRL */
	const char *const *targets;	/* inline, each "serial HEX" ... */
	size_t n_targets;
	const char *targets_path;	/* a file of targets, or NULL */

	/* kind request */
	const char *profile;		/* slug, required */
	const char *batch_name;		/* required */
	const char *description;	/* NULL or "": none */

	enum manifest_input mode;
	struct mac_range range;		/* mac-range (bundle_make_parse_range) */
	/* csr: the requests, each path a file or a folder; csv: optional,
	 * the requests its csr_file column names. */
	const char *const *csr_paths;
	size_t n_csr_paths;
	const char *csv_path;		/* csv */

	enum manifest_format format;
	enum manifest_chain chain;
	enum manifest_log results_log;
	const char *recipient_path;	/* smpb: an RSA certificate, PEM or DER */
	const secret_t *p12_password;	/* pkcs12 */
	enum manifest_p12 p12_encryption;

	EVP_PKEY *signer_key;		/* the operator's private key */
	X509 *signer_cert;		/* the operator's certificate */
	X509 *encrypt_to;		/* the transport certificate, or NULL */

	const char *id;			/* NULL: a fresh random UUID v4 */
	time_t created;			/* 0: now */
	int pem;			/* PEM (BEGIN CMS) instead of DER */
};

/*
 * Parses "START:COUNT[:INCREMENT]" (START in any form mac_parse takes,
 * colons included) into out and checks the range with mac_range_check.
 * Returns 0, or ERR_INVALID with the reason in err.
 */
int bundle_make_parse_range(const char *s, struct mac_range *out,
    err_t *err);

/*
 * Opens the operator's passphrase-protected PKCS#8 PEM key file (an
 * unencrypted key is refused) with pass, and the certificate at
 * cert_path, and checks that they belong together and that the
 * certificate is an operator's or officer's valid at now
 * (bundle_make_check_signer).
 * Returns 0 with *out filled, ERR_AUTH (wrong passphrase), ERR_POLICY,
 * ERR_NOTFOUND, ERR_INVALID or ERR_IO; *out is empty on failure.
 */
int bundle_make_signer_file(const char *key_path, const secret_t *pass,
    const char *cert_path, time_t now, struct bundle_make_signer *out,
    err_t *err);

/*
 * The same for a key in a PKCS#11 token named by uri (token label or
 * serial, and object label or id), through the airlock-hsm helper:
 * module (NULL: the URI's module-path) is loaded there, logged in with
 * pin. The key must prove it matches the certificate by signing a
 * challenge (hsm_key_check_cert).
 */
int bundle_make_signer_token(const char *uri, const char *module,
    const secret_t *pin, const char *cert_path, time_t now,
    struct bundle_make_signer *out, err_t *err);

/* Frees what a signer holds, in the order the HSM needs; s may be empty. */
void bundle_make_signer_free(struct bundle_make_signer *s);

/*
 * Checks that key (private) belongs to cert, that cert holds the Airlock
 * operator role, or the officer role (who may ask for a revocation), and
 * no other (pki/roles.h) with an RSA or EC key, and that it is valid at
 * now: the checks envelope_open makes, but for the chain, which needs the
 * people CA. bundle_make refuses an officer's request bundle. Returns 0
 * or ERR_POLICY.
 */
int bundle_make_check_signer(EVP_PKEY *key, X509 *cert, time_t now,
    err_t *err);

/* 1 when cert holds the officer role alone (may sign a revocation). */
int bundle_make_signer_is_officer(X509 *cert);

/*
 * Makes the bundle described by o into out, which this function
 * initialises (the caller buf_frees it, also on failure). Returns 0, or
 * ERR_INVALID / ERR_POLICY / ERR_LIMIT / ERR_NOTFOUND / ERR_IO with
 * every problem found in diag (several for a CSV or CSR folder with
 * several bad entries; otherwise one), or ERR_NOMEM / ERR_CRYPTO /
 * ERR_INTERNAL with one message.
 */
int bundle_make(const struct bundle_make_opts *o, buf_t *out, diag_t *diag);

#endif
