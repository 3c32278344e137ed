/*
 * transcript.h: the signed record of a ceremony.
 *
 * Every ceremony writes NAME.transcript.yaml beside its outputs: what was
 * run (script and its SHA-256), when, on which HSM token, who was present,
 * each step with its time, and every output file with its SHA-256 and what
 * it is. NAME.transcript.sig is a signature over the transcript's bytes by
 * a key of the ceremony, checkable with stock openssl:
 *
 *   openssl dgst -sha256 -verify signer-pub.pem \
 *       -signature NAME.transcript.sig NAME.transcript.yaml
 *
 * `airlock init` and `airlock ceremony verify` read transcripts back with
 * transcript_verify(). The format is in docs/formats/ceremony.md.
 */
#ifndef AIRLOCK_CEREMONY_TRANSCRIPT_H
#define AIRLOCK_CEREMONY_TRANSCRIPT_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>

#include "ceremony/script.h"
#include "util/buf.h"
#include "util/err.h"

#define TRANSCRIPT_VERSION 1
#define TRANSCRIPT_MAX_BYTES (4 * 1024 * 1024)
#define TRANSCRIPT_MAX_OUTPUTS 1024
#define TRANSCRIPT_MAX_ATTRS 8
#define TRANSCRIPT_MAX_STEPS 4096

struct transcript;

/* One output as read back from a verified transcript. */
struct transcript_output {
	char *file;
	char *kind;	/* ca-certificate, person-certificate, ... */
	char *sha256;
	char *attr_key[TRANSCRIPT_MAX_ATTRS];
	char *attr_val[TRANSCRIPT_MAX_ATTRS];
	size_t n_attrs;
};

/* One step as read back: when, and what was done. */
struct transcript_step_info {
	time_t time;
	char *what;
};

/* A transcript read back and verified. */
struct transcript_info {
	char *ceremony;
	char *type;
	char *sha256;		/* of the transcript file */
	char *signer_file;
	char *signer_sha256;	/* SHA-256 of the signer's SubjectPublicKeyInfo */
	time_t started;
	int rehearsal;
	struct transcript_output *outputs;
	size_t n_outputs;
	/* The steps, in order, and who was present ("name (role)"). */
	struct transcript_step_info *steps;
	size_t n_steps;
	char **present;
	size_t n_present;
};

/* Starts a transcript for script s; records the start time. */
int transcript_new(const struct script *s, int rehearsal,
    struct transcript **out);

void transcript_free(struct transcript *t);

/* Records the HSM token used (module path and token identity). */
int transcript_token(struct transcript *t, const char *module,
    const char *label, const char *serial, const char *manufacturer,
    const char *model);

/* Records one step, time-stamped now. */
int transcript_step(struct transcript *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Records an output file: its name in the ceremony directory, its bytes
 * (hashed here), its kind and up to TRANSCRIPT_MAX_ATTRS attributes given
 * as a NULL-terminated list of key, value, key, value, ...
 */
int transcript_output(struct transcript *t, const char *file,
    const void *data, size_t len, const char *kind, const char *const *attrs);

/* The steps recorded so far, one per line, for the console. */
size_t transcript_nsteps(const struct transcript *t);
const char *transcript_step_text(const struct transcript *t, size_t i);

/*
 * Writes NAME.transcript.yaml and NAME.transcript.sig into dir (never
 * overwriting), signed by `signer` whose public key is in signer_file (a
 * certificate or a public key, a ceremony output in dir).
 */
int transcript_finish(struct transcript *t, const char *dir,
    EVP_PKEY *signer, const EVP_PKEY *signer_pub, const char *signer_file,
    err_t *err);

/*
 * Reads dir/file, checks its signature against the public key in the
 * signer file it names (also in dir), and checks every output's SHA-256.
 * Fills info; returns 0, or ERR_INVALID / ERR_CRYPTO naming what failed.
 */
int transcript_verify(const char *dir, const char *file,
    struct transcript_info *info, err_t *err);

void transcript_info_free(struct transcript_info *info);

/*
 * Checks who signed a verified transcript: the signer's certificate must be
 * `root` or chain to it through CA certificates in dir. Validity periods
 * are not checked, so a transcript stays checkable after its CAs expire.
 * Returns 0 when it chains, 1 when the signer is a key ceremony's own new
 * key (no certificate to chain), or ERR_POLICY naming what failed.
 */
int transcript_check_signer(const char *dir, const struct transcript_info *info,
    X509 *root, err_t *err);

/* The value of attribute key in output o, or NULL. */
const char *transcript_output_attr(const struct transcript_output *o,
    const char *key);

/* Loads a public key from a PEM certificate or PEM public key file. */
int transcript_load_pubkey(const char *path, EVP_PKEY **out, err_t *err);

#endif
