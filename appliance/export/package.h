/*
 * package.h: the files an export puts on the medium, built in memory
 * (docs/formats/export.md, docs/formats/smpb.md).
 *
 * export_package turns the issued items of a batch into the files of one
 * download format, plus the results log. Nothing touches the disk here:
 * export/writer writes the list, export/manifest signs it. Files that
 * hold private keys (PKCS#12, SMPB, always encrypted) are marked secret so
 * their buffers are wiped when freed.
 */
#ifndef AIRLOCK_EXPORT_PACKAGE_H
#define AIRLOCK_EXPORT_PACKAGE_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "export/item.h"
#include "export/results.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"

enum export_format {
	EXPORT_FMT_SMPB = 1,
	EXPORT_FMT_PKCS12,
	EXPORT_FMT_PEM_ZIP,
	EXPORT_FMT_PEM_JSON,
	EXPORT_FMT_DER_ZIP,
	EXPORT_FMT_PKCS7
};

enum export_chain {
	EXPORT_CHAIN_SEPARATE = 1,
	EXPORT_CHAIN_WITH_INTERMEDIATE,
	EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE
};

enum export_p12_profile {
	EXPORT_P12_MODERN = 1,	/* PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC */
	EXPORT_P12_COMPAT	/* PBE-SHA1-3DES, SHA-1 MAC */
};

/* PKCS#12 iteration counts (docs/formats/export.md says why). */
#define EXPORT_P12_MODERN_ITER 100000
#define EXPORT_P12_COMPAT_ITER 2048
/* Shortest PKCS#12 password accepted, in bytes. */
#define EXPORT_P12_PASSWORD_MIN 8

/* Largest single file an export builds (a 500,000-device ZIP fits). */
#define EXPORT_FILE_MAX (1024u * 1024 * 1024)

struct export_opts {
	enum export_format format;
	enum export_chain chain;
	enum export_log log;		/* results log, or EXPORT_LOG_NONE */
	const char *batch_name;		/* clean text; goes into batch.txt */
	const char *profile;		/* profile name, for batch.txt */
	time_t created;			/* export time, for batch.txt */
	X509 *issuer;			/* issuing CA; required */
	X509 *root;			/* root CA; NULL when issuer is the root */
	X509 *recipient;		/* SMPB only: RSA recipient certificate */
	const secret_t *p12_password;	/* PKCS#12 only */
	enum export_p12_profile p12_profile;	/* PKCS#12 only */
};

struct export_file {
	char *name;		/* a single path component */
	buf_t data;
	int secret;		/* holds key material (even encrypted) */
};

struct export_files {
	struct export_file *f;
	size_t n, cap;
};

/* Parse the manifest's spellings ("smpb", "pem-zip", ...). 0/ERR_INVALID. */
int export_format_parse(const char *s, enum export_format *out);
int export_chain_parse(const char *s, enum export_chain *out);
int export_p12_profile_parse(const char *s, enum export_p12_profile *out);

/* The spellings back; "?" for an unknown value. */
const char *export_format_name(enum export_format f);
const char *export_chain_name(enum export_chain c);

void export_files_init(struct export_files *fs);
/* Frees every file, wiping secret ones. */
void export_files_free(struct export_files *fs);

/*
 * Appends a copy of data as file `name` (one path component, checked
 * with export_item_filename's rules, unique ignoring ASCII case since the
 * medium may be FAT). 0, ERR_INVALID, ERR_EXISTS, ERR_NOMEM, ERR_LIMIT.
 */
int export_files_add(struct export_files *fs, const char *name,
    const void *data, size_t len, int secret, err_t *err);

/*
 * Builds the files of format o->format for items[0..n) (failed items are
 * only logged) into out, which must be initialised and is left empty on
 * failure. Refuses, with ERR_POLICY: any item with a key unless the
 * format is smpb or pkcs12; pkcs12 when an issued item has no key; a
 * PKCS#12 password shorter than EXPORT_P12_PASSWORD_MIN. ERR_INVALID for
 * missing options (issuer, SMPB recipient, root for
 * with-root-and-intermediate), unsafe or duplicate names, an issued item
 * without certificate or a key that does not match it. ERR_CRYPTO,
 * ERR_NOMEM, ERR_LIMIT otherwise.
 */
int export_package(const struct export_opts *o,
    const struct export_item *items, size_t n, struct export_files *out,
    err_t *err);

#endif
