/*
 * manifest.h: the request bundle's manifest.yaml, strictly parsed from
 * untrusted bytes (docs/formats/bundle.md, section 3).
 *
 * Every problem is reported at once through a diag_t, each naming file,
 * line and key. The parsed manifest is canonical: enums instead of words,
 * the bundle id in lower case, the MAC start as six bytes. It says what
 * the operator asked for; whether the profile exists and the operator may
 * use it, and whether the id was seen before, is decided downstream.
 *
 * `kind` selects the body: `request` (a batch of certificates to issue,
 * in `req`) or `revocation` (certificates to revoke, hold or release, in
 * `rev`; bundle.md section 6). Code that reads either checks kind first.
 */
#ifndef AIRLOCK_INGEST_MANIFEST_H
#define AIRLOCK_INGEST_MANIFEST_H

#include <stddef.h>
#include <time.h>

#include "ingest/archive.h"
#include "ingest/mac.h"
#include "ingest/target.h"
#include "util/err.h"
#include "util/secret.h"

/* The manifest's own name at the root of the archive. */
#define MANIFEST_NAME "manifest.yaml"
/* The only format version this code reads. */
#define MANIFEST_VERSION 1
/* Largest manifest accepted (a csr file list of 100,000 names fits). */
#define MANIFEST_MAX_BYTES (8u * 1024 * 1024)

#define MANIFEST_MAX_FILES 100000	/* input.files items */

enum manifest_kind { MANIFEST_KIND_REQUEST, MANIFEST_KIND_REVOCATION };

enum manifest_input {
	MANIFEST_INPUT_MAC_RANGE,
	MANIFEST_INPUT_CSR,
	MANIFEST_INPUT_CSV
};

enum manifest_format {
	MANIFEST_FORMAT_SMPB,
	MANIFEST_FORMAT_PKCS12,
	MANIFEST_FORMAT_PEM_ZIP,
	MANIFEST_FORMAT_PEM_JSON,
	MANIFEST_FORMAT_DER_ZIP,
	MANIFEST_FORMAT_PKCS7
};

enum manifest_chain {
	MANIFEST_CHAIN_SEPARATE,
	MANIFEST_CHAIN_WITH_INTERMEDIATE,
	MANIFEST_CHAIN_WITH_ROOT_AND_INTERMEDIATE
};

enum manifest_log { MANIFEST_LOG_CSV, MANIFEST_LOG_JSON };

enum manifest_p12 { MANIFEST_P12_MODERN, MANIFEST_P12_COMPAT };

/* The body of a `kind: request` manifest. */
struct manifest_request {
	char *batch_name;
	char *batch_description;	/* "" when absent */
	char *profile;			/* a slug; existence is checked later */

	enum manifest_input mode;
	/* mac-range: start, count and increment (default 1), checked */
	struct mac_range range;
	/* csr: exactly one of files (n_files > 0) and directory */
	char **files;
	size_t n_files;
	/* csr, and optional for csv: the requests of its csr_file column */
	char *directory;		/* ends in '/' */
	/* csv */
	char *csv_file;

	enum manifest_format format;
	enum manifest_chain chain;
	enum manifest_log results_log;
	char *recipient;		/* smpb only, else NULL */
	secret_t *p12_password;		/* pkcs12 only, else NULL */
	enum manifest_p12 p12_encryption;
};

/* The body of a `kind: revocation` manifest. */
struct manifest_revocation {
	/* One of queue_revocation_reasons (RFC 5280, and removeFromCRL). */
	char reason[24];
	char *message;			/* one line, 1..512 characters */
	int has_invalidity_date;	/* never with removeFromCRL */
	time_t invalidity_date;
	/* The inline `targets` list; the bundle check appends those of
	 * targets_file (an archive path, or NULL). */
	struct target_list targets;
	char *targets_file;
};

struct manifest {
	int version;
	enum manifest_kind kind;
	char id[37];			/* UUID, lower case */
	time_t created;
	struct manifest_request req;	/* kind == MANIFEST_KIND_REQUEST */
	struct manifest_revocation rev;	/* kind == MANIFEST_KIND_REVOCATION */
};

/* "request", "revocation"; "?" out of range. */
const char *manifest_kind_name(enum manifest_kind k);

/* Name of an enum value as the manifest spells it ("mac-range"), or "?". */
const char *manifest_input_name(enum manifest_input m);
const char *manifest_format_name(enum manifest_format f);
const char *manifest_chain_name(enum manifest_chain c);
const char *manifest_log_name(enum manifest_log l);
const char *manifest_p12_name(enum manifest_p12 p);

/*
 * Parses len bytes labelled `label`. Returns 0 with *out filled, or
 * ERR_INVALID / ERR_LIMIT / ERR_NOMEM with every problem in diag and *out
 * emptied. The password is copied into locked memory and wiped from the
 * parse tree; the caller still owns (and should wipe) data.
 */
int manifest_parse(const char *label, const void *data, size_t len,
    struct manifest *out, diag_t *diag);

/* 1 when the manifest carries a secret, so the bundle must be encrypted. */
int manifest_has_secret(const struct manifest *m);

/*
 * Checks the manifest against its archive: manifest.yaml and every file it
 * names (for a revocation, its targets_file) exist as regular entries, and no entry is left unaccounted for
 * (a directory counts when a named file lies below it). Returns 0, or
 * ERR_INVALID with one message per missing or extra entry in diag.
 */
int manifest_check_archive(const struct manifest *m, const struct archive *a,
    diag_t *diag);

/* Frees and wipes everything in m (not m itself); m may be zeroed. */
void manifest_free(struct manifest *m);

#endif
