/*
 * profile.h: issuance profiles (policies/NAME.yaml, specified in
 * docs/formats/profile.md).
 *
 * A profile says what the appliance may issue for a batch: which CA signs,
 * which keys a device may have, the digest, the validity, how the subject
 * is made (fixed attributes, the CN from a MAC address or from the request,
 * which requested attributes survive), the extensions, which requested
 * SANs are acceptable, the batch size, who may submit and how many
 * officers must approve.
 *
 * Profiles are parsed strictly, every problem reported at once. At
 * issuance the profile turns one validated request line into a complete
 * certspec and records every place where the request was overridden, so
 * that what was asked for and what was signed can both be shown.
 */
#ifndef AIRLOCK_POLICY_PROFILE_H
#define AIRLOCK_POLICY_PROFILE_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ingest/mac.h"
#include "pki/certspec.h"
#include "pki/lint.h"
#include "util/err.h"

/* A profile is a page of text; anything larger is a mistake. */
#define PROFILE_MAX_BYTES (64 * 1024)
/* Profiles one directory may hold. */
#define PROFILE_MAX_FILES 256
/* The largest batch any profile may allow (issue 3: 1 to 500,000). */
#define PROFILE_MAX_BATCH 500000
/* Validity in days: at most 100 years. */
#define PROFILE_MAX_DAYS 36500
/* Requested SANs one certificate may carry. */
#define PROFILE_MAX_SANS 64
/* Buffer size for any MAC format, with its NUL. */

/* Key types a profile can name, in the YAML spelling of profile_key_name. */
enum profile_key {
	PROFILE_KEY_RSA1024,	/* legacy profiles only */
	PROFILE_KEY_RSA2048,
	PROFILE_KEY_RSA3072,
	PROFILE_KEY_RSA4096,
	PROFILE_KEY_EC_P256,
	PROFILE_KEY_EC_P384,
	PROFILE_KEY_COUNT
};

enum profile_md {
	PROFILE_MD_SHA1,	/* legacy profiles only */
	PROFILE_MD_SHA256,
	PROFILE_MD_SHA384,
	PROFILE_MD_SHA512
};

enum profile_cn {
	PROFILE_CN_MAC,		/* the device's MAC, in mac_format */
	PROFILE_CN_REQUEST	/* the CN of the CSR or CSV line */
};

/* SAN types a request may carry, as bits of profile.san_allow. */
enum {
	PROFILE_SAN_DNS = 1u << 0,
	PROFILE_SAN_EMAIL = 1u << 1,
	PROFILE_SAN_URI = 1u << 2,
	PROFILE_SAN_IP = 1u << 3
};

/* Attributes subject.keep can name: at most one entry per attribute. */
#define PROFILE_MAX_KEEP 16

struct profile {
	char *path;		/* the file it was read from */
	unsigned char sha256[32];	/* of the file, for audit records */
	char *name;		/* slug, equal to the file name less .yaml */
	char *description;	/* "" when absent */
	char *issuer;		/* CA name in the appliance state */
	int enabled;
	int legacy;
	unsigned csr_keys;	/* bits 1u << enum profile_key; 0 = no CSRs */
	int can_generate;
	enum profile_key generate;	/* valid when can_generate */
	enum profile_md digest;
	long days;		/* > 0, or 0 when not_after is fixed */
	time_t not_after;	/* fixed notAfter, valid when days == 0 */
	struct certspec_name fixed;	/* RDNs before the kept ones */
	enum profile_cn cn;
	enum mac_style mac_format;	/* valid when cn is MAC (ingest/mac.h) */
	int keep[PROFILE_MAX_KEEP];	/* NIDs kept from the request */
	size_t n_keep;
	struct certspec_ext ext;	/* no SANs: they come per request */
	unsigned san_allow;	/* PROFILE_SAN_* bits */
	char **dns_suffixes;
	size_t n_dns_suffixes;
	long max_batch;
	char **operators;	/* person names as in the appliance state */
	size_t n_operators;
	int quorum;		/* >= 2 */
};

struct profile_set {
	struct profile *v;	/* sorted by name */
	size_t n;
};

/*
 * What one request line asks for. Everything here is untrusted: the
 * profile validates what it keeps. At most one of subject and fields.
 */
struct profile_request {
	int has_mac;
	unsigned char mac[6];
	const X509_NAME *subject;	/* a CSR's subject, or NULL */
	const struct certspec_name *fields;	/* a CSV line's fields, or NULL */
	const struct certspec_gnlist *san;	/* requested SANs, or NULL */
};

enum profile_override_kind {
	PROFILE_OV_REPLACED,	/* requested value changed to the profile's */
	PROFILE_OV_ADDED,	/* not requested; the profile supplies it */
	PROFILE_OV_DROPPED	/* requested; the profile does not allow it */
};

/* One difference between the requested and the issued subject. */
struct profile_override {
	enum profile_override_kind kind;
	char field[64];		/* "OU", "CN", or a dotted OID */
	char *requested;	/* UTF-8 as requested; NULL when ADDED */
	char *issued;		/* NULL when DROPPED */
};

struct profile_overrides {
	struct profile_override *v;
	size_t n, cap;
};

/*
 * Reads and strictly checks one profile. Every problem goes to diag with
 * file, line and key; the first (and a count) is copied into err. Returns
 * 0, ERR_INVALID, or an I/O or memory error; out is freed on failure.
 */
int profile_load(const char *path, struct profile *out, diag_t *diag,
    err_t *err);

/*
 * Loads every NAME.yaml in dir (other names are ignored), reporting the
 * problems of all files at once. 0, or the first failure's code with out
 * empty.
 */
int profile_load_dir(const char *dir, struct profile_set *out, diag_t *diag,
    err_t *err);

/* The profile called name, or NULL. */
const struct profile *profile_find(const struct profile_set *set,
    const char *name);

void profile_free(struct profile *p);
void profile_set_free(struct profile_set *set);

/* 0, or ERR_POLICY when the profile is disabled, naming the fix. */
int profile_usable(const struct profile *p, err_t *err);

/* 0, or ERR_POLICY when operator_name is not among p->operators. */
int profile_may_submit(const struct profile *p, const char *operator_name,
    err_t *err);

/*
 * 0 when pub may be certified: from a CSR (from_csr) when its type is in
 * keys.csr, generated by the appliance when it is keys.generate. Else
 * ERR_POLICY naming the key and the allowed types.
 */
int profile_check_key(const struct profile *p, const EVP_PKEY *pub,
    int from_csr, err_t *err);

/*
 * Computes notAfter for a certificate issued at now. 0 and *out, or
 * ERR_POLICY when it would fall after issuer_not_after (or, for a fixed
 * date, is not after now): validity is never clamped silently.
 */
int profile_not_after(const struct profile *p, time_t now,
    time_t issuer_not_after, time_t *out, err_t *err);

/*
 * Builds the complete certspec for one request issued at now: subject
 * (fixed RDNs, kept attributes in keep order, CN last), validity, the
 * profile's extensions and the requested SANs once checked. Each subject
 * difference is appended to ov (which may be NULL). out->digest cannot say
 * SHA-1, so the signer takes the digest from profile_md, never from it.
 * 0, ERR_POLICY (the request breaks the profile), ERR_INVALID (a value
 * cannot be used) or ERR_NOMEM, with err saying what and where; out is
 * freed on failure.
 */
int profile_certspec(const struct profile *p,
    const struct profile_request *req, time_t now, time_t issuer_not_after,
    struct certspec *out, struct profile_overrides *ov, err_t *err);

/* Frees the recorded overrides and empties ov. */
void profile_overrides_free(struct profile_overrides *ov);

/*
 * One line for an override ("OU: requested 'Foo' -> 'DOCSIS'"), with
 * control and direction characters in requested text escaped. Returns the
 * would-be length like snprintf.
 */
int profile_override_format(const struct profile_override *o, char *out,
    size_t outsz);

/* The digest to sign with: EVP_sha1() only in a legacy profile. */
const EVP_MD *profile_md(const struct profile *p);

/* Lint options matching the profile (allow_legacy from legacy). */
void profile_lint_opts(const struct profile *p, struct lint_opts *out);

/* YAML spellings: "rsa-2048", "sha256"; "?" when unknown. MAC formats are
 * spelled by mac_style_name() in ingest/mac.h. */
const char *profile_key_name(enum profile_key k);
const char *profile_md_name(enum profile_md md);

#endif
