/*
 * script.h: a ceremony script, parsed strictly from YAML.
 *
 * The format is specified in docs/formats/ceremony.md. Parsing reports
 * every problem at once (file, line, key) and checks the whole script
 * before any HSM is touched, so a typo never leaves a ceremony half done.
 */
#ifndef AIRLOCK_CEREMONY_SCRIPT_H
#define AIRLOCK_CEREMONY_SCRIPT_H

#include <stddef.h>

#include "hsm/hsm.h"
#include "pki/certspec.h"
#include "pki/crlbuild.h"
#include "util/err.h"

#define SCRIPT_FORMAT_VERSION 1
#define SCRIPT_MAX_PEOPLE 256
#define SCRIPT_MAX_PRESENT 64

enum script_type {
	SCRIPT_ROOT,
	SCRIPT_INTERMEDIATE,
	SCRIPT_KEY,
	SCRIPT_CRL,
	SCRIPT_ENROL,
	SCRIPT_APPLIANCE,
	SCRIPT_SPLIT_PIN
};

/* What a CA is for; the appliance uses it to pick issuers. */
enum script_ca_purpose {
	SCRIPT_CA_ROOT,
	SCRIPT_CA_DEVICES,	/* issues device certificates */
	SCRIPT_CA_PEOPLE,	/* issues role and appliance certificates */
	SCRIPT_CA_INTERMEDIATE,	/* issues further CAs */
	SCRIPT_CA_EXTERNAL	/* a customer's CA whose key we do not hold */
};

enum script_role { SCRIPT_ROLE_OFFICER, SCRIPT_ROLE_OPERATOR, SCRIPT_ROLE_AUDITOR };

enum script_appkey { SCRIPT_APPKEY_EXPORT, SCRIPT_APPKEY_AUDIT, SCRIPT_APPKEY_TRANSPORT };
#define SCRIPT_N_APPKEYS 3

/* A key to generate in an HSM. */
struct script_keyspec {
	char *label;
	char *token;		/* NULL: the script's hsm.token */
	char *algorithm;	/* as written: rsa-4096, ec-p256 ... */
	struct hsm_keyspec spec;
	unsigned long line;
};

/* The CA that signs: its certificate (a ceremony output) and its key. */
struct script_issuer {
	char *certificate;	/* file name in the ceremony directory */
	char *key;		/* key label on the script's token, or a PKCS#11 URI */
};

struct script_person {
	char *id;		/* file-name-safe: [a-z0-9-] */
	char *name;		/* the certificate's CN */
	enum script_role role;
	char *key_uri;		/* the person's own token, or */
	char *key_file;		/* a passphrase-protected PKCS#8 file */
	unsigned long line;
};

struct script_witness {
	char *name;
	char *role;
};

struct script {
	char *path;		/* as given */
	char *dir;		/* directory of the script, for relative inputs */
	unsigned char sha256[32];	/* of the script bytes */
	char *name;
	char *description;
	enum script_type type;
	char *module;
	char *token;		/* label of the script's token */
	char *token_serial;	/* or its serial */
	struct script_witness *present;
	size_t n_present;

	/* root, intermediate */
	char *ca_name;
	enum script_ca_purpose ca_purpose;
	struct script_keyspec ca_key;	/* label NULL when ca_csr is used */
	char *ca_csr;			/* intermediate for an external key */
	/* root, intermediate; template for enrol and appliance */
	struct certspec cert;
	int has_cert;
	/* intermediate, crl, enrol, appliance */
	struct script_issuer issuer;
	/* key */
	struct script_keyspec key;
	/* crl */
	struct crlspec crl;
	int has_crl;
	/* enrol */
	struct script_person *people;
	size_t n_people;
	/* appliance */
	char *appliance_name;
	struct script_keyspec appkeys[SCRIPT_N_APPKEYS];
	/* split-pin: the token's new PIN, M of these officers rebuild it */
	unsigned split_threshold;
	unsigned split_pin_length;
	char **split_officers;	/* certificate files in the ceremony directory */
	char **split_tokens;	/* NULL, or the officer's token (PKCS#11 URI)
				 * that stores the share instead of a file */
	size_t n_split_officers;
};

/*
 * Loads and checks the script at path. All problems go to diag; returns 0,
 * or ERR_INVALID (diag has the list) or another ERR_* with err set.
 */
int script_load(const char *path, struct script *out, diag_t *diag,
    err_t *err);

void script_free(struct script *s);

/*
 * Resolves an input file named in the script: absolute paths stay, others
 * are relative to the script's directory.
 */
int script_path(const struct script *s, const char *name, char *out,
    size_t outsz, err_t *err);

const char *script_type_name(enum script_type t);
const char *script_purpose_name(enum script_ca_purpose p);
const char *script_role_name(enum script_role r);
const char *script_appkey_name(enum script_appkey k);

#endif
