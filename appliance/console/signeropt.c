/*
 * signeropt.c: the signer options of the console's bundle-making verbs
 * (see signeropt.h).
 */
#include "console/signeropt.h"

#include <stdio.h>
#include <string.h>

#include "hsm/hsm_pin.h"
#include "pki/pkiutil.h"
#include "util/err.h"

int
signeropt_take(struct signeropt *s, int c, const char *arg)
{
	switch (c) {
	case SIGNEROPT_KEY: s->key = arg; break;
	case SIGNEROPT_KEY_PASS: s->key_pass = arg; break;
	case SIGNEROPT_TOKEN: s->token = arg; break;
	case SIGNEROPT_MODULE: s->module = arg; break;
	case SIGNEROPT_PIN: s->pin = arg; break;
	case SIGNEROPT_CERT: s->cert = arg; break;
	case SIGNEROPT_ENCRYPT_TO: s->encrypt_to = arg; break;
	default: return 0;
	}
	return 1;
}

int
signeropt_check(const struct signeropt *s)
{
	if ((s->key != NULL) == (s->token != NULL)) {
		fprintf(stderr, "airlock: give exactly one of --signer-key FILE "
		    "and --signer-token PKCS11-URI\n");
		return 2;
	}
	if ((s->key != NULL && (s->module != NULL || s->pin != NULL)) ||
	    (s->token != NULL && s->key_pass != NULL)) {
		fprintf(stderr, "airlock: --key-pass goes with --signer-key; "
		    "--module and --pin go with --signer-token\n");
		return 2;
	}
	return 0;
}

int
signeropt_secret(const char *source, const char *what, secret_t **out)
{
	err_t e;
	int r;

	err_clear(&e);
	*out = NULL;
	if ((r = secret_new(out)) != 0) {
		fprintf(stderr, "airlock: cannot allocate locked memory for "
		    "the %s\n", what);
		return r;
	}
	if ((r = hsm_pin_read(source, what, *out, &e)) != 0) {
		fprintf(stderr, "airlock: %s\n", e.msg);
		secret_free(*out);
		*out = NULL;
	}
	return r;
}

int
signeropt_transport(const struct signeropt *s, X509 **transport)
{
	err_t e;

	err_clear(&e);
	*transport = NULL;
	if (s->encrypt_to != NULL &&
	    pki_load_cert_file(s->encrypt_to, transport, &e) != 0) {
		fprintf(stderr, "airlock: --encrypt-to: %s\n", e.msg);
		return -1;
	}
	return 0;
}

int
signeropt_open(const struct signeropt *s, time_t now,
    struct bundle_make_signer *signer)
{
	secret_t *pass = NULL;
	err_t e;
	int r;

	err_clear(&e);
	if (s->key != NULL) {
		if (signeropt_secret(s->key_pass ? s->key_pass : "prompt",
		    "passphrase of the signer key", &pass) != 0)
			return -1;
		r = bundle_make_signer_file(s->key, pass, s->cert, now, signer,
		    &e);
	} else {
		if (signeropt_secret(s->pin ? s->pin : "prompt",
		    "PIN of the signer token", &pass) != 0)
			return -1;
		r = bundle_make_signer_token(s->token, s->module, pass, s->cert,
		    now, signer, &e);
	}
	/* Wiped as soon as the key is open, or failed to. */
	secret_free(pass);
	if (r != 0) {
		if (e.msg[0] != '\0')
			fprintf(stderr, "airlock: %s\n", e.msg);
		return -1;
	}
	return 0;
}

int
signeropt_make(const struct signeropt *s, X509 *transport, time_t now,
    struct bundle_make_opts *o, buf_t *out)
{
	struct bundle_make_signer signer;
	diag_t d;
	int r = -1;

	memset(&signer, 0, sizeof(signer));
	diag_init(&d);
	if (signeropt_open(s, now, &signer) != 0)
		goto out;
	o->signer_key = signer.key;
	o->signer_cert = signer.cert;
	o->encrypt_to = transport;
	o->created = now;
	if (bundle_make(o, out, &d) != 0) {
		diag_print(&d, stderr, "airlock: ");
		goto out;
	}
	r = 0;
out:
	diag_free(&d);
	bundle_make_signer_free(&signer);
	/* The key is closed: leave nothing pointing at it. */
	o->signer_key = NULL;
	o->signer_cert = NULL;
	return r;
}
