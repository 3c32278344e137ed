/*
 * signeropt.h: the signer options the console's bundle-making verbs
 * share (`airlock bundle create`, `airlock revoke`, `airlock batch
 * revoke`): which key signs the bundle, from a file or a PKCS#11 token,
 * where its passphrase or PIN comes from, the signer's certificate, and
 * the transport certificate to encrypt to. One place parses, checks and
 * opens them and makes the bundle with them, so that the verbs take the
 * same flags and say the same things.
 *
 * Like the rest of console/, these print their own messages to stderr.
 */
#ifndef AIRLOCK_CONSOLE_SIGNEROPT_H
#define AIRLOCK_CONSOLE_SIGNEROPT_H

#include <getopt.h>
#include <time.h>

#include <openssl/x509.h>

#include "operator/bundle_make.h"
#include "util/secret.h"

/*
 * The getopt_long values of the signer options; a verb numbers its own
 * options from SIGNEROPT_NEXT on.
 */
enum {
	SIGNEROPT_KEY = 256, SIGNEROPT_KEY_PASS, SIGNEROPT_TOKEN,
	SIGNEROPT_MODULE, SIGNEROPT_PIN, SIGNEROPT_CERT, SIGNEROPT_ENCRYPT_TO,
	SIGNEROPT_NEXT
};

/* The rows of struct option for the signer options. */
#define SIGNEROPT_LONGOPTS \
	{ "signer-key", required_argument, NULL, SIGNEROPT_KEY }, \
	{ "key-pass", required_argument, NULL, SIGNEROPT_KEY_PASS }, \
	{ "signer-token", required_argument, NULL, SIGNEROPT_TOKEN }, \
	{ "module", required_argument, NULL, SIGNEROPT_MODULE }, \
	{ "pin", required_argument, NULL, SIGNEROPT_PIN }, \
	{ "signer-cert", required_argument, NULL, SIGNEROPT_CERT }, \
	{ "encrypt-to", required_argument, NULL, SIGNEROPT_ENCRYPT_TO }

/* Their lines in a verb's usage text. */
#define SIGNEROPT_USAGE \
	"           (--signer-key FILE [--key-pass SOURCE] |\n" \
	"            --signer-token PKCS11-URI [--module PATH] " \
	"[--pin SOURCE])\n" \
	"           --signer-cert CERT.pem [--encrypt-to TRANSPORT.pem]\n"

/* What the command line said; NULL where an option was not given. */
struct signeropt {
	const char *key;		/* --signer-key FILE */
	const char *key_pass;		/* --key-pass SOURCE */
	const char *token;		/* --signer-token PKCS11-URI */
	const char *module;		/* --module PATH */
	const char *pin;		/* --pin SOURCE */
	const char *cert;		/* --signer-cert CERT.pem */
	const char *encrypt_to;		/* --encrypt-to TRANSPORT.pem */
};

/* Stores arg when c (from getopt_long) is a signer option: 1, else 0. */
int signeropt_take(struct signeropt *s, int c, const char *arg);

/*
 * Checks that exactly one of key and token is given, each with only its
 * own companions, printing why not. Returns 0, or 2 (usage error).
 */
int signeropt_check(const struct signeropt *s);

/*
 * Reads a secret from source ("prompt", "fd:N", "file:PATH") into a fresh
 * locked holder *out; what names it in the prompt and in messages.
 * Returns 0, or a negative ERR_* after printing why (*out is NULL).
 */
int signeropt_secret(const char *source, const char *what, secret_t **out);

/*
 * Loads the --encrypt-to certificate into *transport (NULL when none was
 * given). Returns 0, or -1 after printing why.
 */
int signeropt_transport(const struct signeropt *s, X509 **transport);

/*
 * Asks for the key's passphrase or the token's PIN, where the options
 * say (default: a prompt), and opens the signer into *signer, checked
 * against its certificate at now; the secret is wiped before this
 * returns. Returns 0, or -1 after printing why (*signer stays empty).
 */
int signeropt_open(const struct signeropt *s, time_t now,
    struct bundle_make_signer *signer);

/*
 * Makes the bundle o describes into out (bundle_make), signed by the
 * signer the options name (signeropt_open, at now) and encrypted to
 * transport when not NULL; the signer is closed before this returns.
 * Returns 0, or -1 after printing every problem.
 */
int signeropt_make(const struct signeropt *s, X509 *transport, time_t now,
    struct bundle_make_opts *o, buf_t *out);

#endif
