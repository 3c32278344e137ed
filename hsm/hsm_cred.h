/*
 * hsm_cred.h: a person's own signing credential, opened at the console or
 * on a workstation: an encrypted PKCS#8 key file with its passphrase, or a
 * key on the person's PKCS#11 token with its PIN. Officers sign approvals
 * with it, operators sign request bundles with it.
 *
 * The caller reads the passphrase or PIN (hsm/hsm_pin.h: prompt, fd:N,
 * file:PATH) into locked memory before calling, so that a command can
 * refuse bad arguments before it asks for a secret. A key file must be
 * encrypted: a plaintext private key on a workstation is refused.
 */
#ifndef AIRLOCK_HSM_HSM_CRED_H
#define AIRLOCK_HSM_HSM_CRED_H

#include <openssl/evp.h>

#include "hsm/hsm.h"
#include "util/err.h"
#include "util/secret.h"

/* Largest key file read. */
#define HSM_CRED_FILE_MAX (64 * 1024)

struct hsm_cred {
	EVP_PKEY *key;		/* signs: in memory, or through the token */
	struct hsm_pool *pool;	/* token credentials only */
	struct hsm_key *hk;
};

/*
 * Opens an encrypted PEM private key file (ENCRYPTED PRIVATE KEY) with
 * pass, or, when pass is NULL, with a passphrase read from pass_source
 * (hsm_pin_read; `what` names it in the prompt) only after the file was
 * found to be an encrypted key, so that nobody types a passphrase for a
 * file that is refused anyway. ERR_AUTH for a wrong passphrase,
 * ERR_POLICY for an unencrypted key, ERR_INVALID without a passphrase.
 */
int hsm_cred_open_file(const char *path, const secret_t *pass,
    const char *pass_source, const char *what, struct hsm_cred *out,
    err_t *err);

/*
 * Opens the private key named by a PKCS#11 URI (token label or serial,
 * and object label and/or id; type private if given) on module (NULL: the
 * URI's module-path; one of them is required), logging in with pin.
 */
int hsm_cred_open_token(const char *uri, const char *module,
    const secret_t *pin, struct hsm_cred *out, err_t *err);

/* Frees the key, then the token session; c may be empty. */
void hsm_cred_close(struct hsm_cred *c);

#endif
