/*
 * cmd_daemon.c: console verbs that ask airlockd (cmd_daemon.h).
 *
 * Approving is done here, at the console, with the officer's own
 * credential: the console fetches what is to be approved (the same text an
 * officer reads with `show`), prints it, builds the canonical statement
 * (approval/statement.h), has the officer's token or key file sign it, and
 * sends statement, signature and certificate to the daemon, which verifies
 * everything again against its records.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "approval/approval.h"
#include "console/cmd_daemon.h"
#include "ctl/ctl.h"
#include "hsm/hsm_cred.h"
#include "hsm/hsm_pin.h"
#include "hsm/hsm_uri.h"
#include "pki/pinshare.h"
#include "pki/pkiutil.h"
#include "util/fileio.h"
#include "util/text.h"

#define CMD_DEFAULT_SOCKET "/run/airlock/console.sock"

const char *cmd_socket_path;

static const char *
cmd_socket(void)
{
	const char *env = getenv("AIRLOCK_SOCKET");

	if (cmd_socket_path != NULL)
		return cmd_socket_path;
	return env != NULL && *env != '\0' ? env : CMD_DEFAULT_SOCKET;
}

/* Sends req, reads the reply into reply (initialised here). */
int
cmd_call(const struct ctl_msg *req, struct ctl_msg *reply, err_t *err)
{
	struct sockaddr_un sa;
	const char *path = cmd_socket();
	int fd, r;

	ctl_msg_init(reply, CTL_REPLY_MAX);
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, ERR_LIMIT, "socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(err, ERR_IO, "socket: %m");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return err_set(err, ERR_IO, "cannot reach airlockd at %s: %m "
		    "(is it running? --socket or AIRLOCK_SOCKET name another "
		    "socket)", path);
	}
	if ((r = ctl_send(fd, req, err)) == 0)
		r = ctl_recv(fd, CTL_REPLY_MAX, reply, err);
	close(fd);
	return r;
}

/* Prints the reply's text or error; the exit code. */
int
cmd_finish(const struct ctl_msg *reply)
{
	const char *status = ctl_get_str(reply, "status");

	if (status != NULL && strcmp(status, "ok") == 0) {
		const unsigned char *text;
		size_t len;

		if ((text = ctl_get(reply, "text", &len)) != NULL)
			fwrite(text, 1, len, stdout);
		return 0;
	}
	fprintf(stderr, "airlock: %s\n", ctl_get_str(reply, "message") ?
	    ctl_get_str(reply, "message") : "the daemon refused");
	return 1;
}

static int
cmd_fail(const err_t *e)
{
	fprintf(stderr, "airlock: %s\n", e->msg);
	return 1;
}

/* Runs one request built from cmd and up to two string arguments. */
int
cmd_simple(const char *cmd, const char *k1, const char *v1, const char *k2,
    const char *v2, struct ctl_msg *reply_out)
{
	struct ctl_msg req, reply;
	err_t e;
	int r;

	err_clear(&e);
	ctl_msg_init(&req, CTL_REQUEST_MAX);
	(void)ctl_put_str(&req, "cmd", cmd);
	if (k1 != NULL && v1 != NULL)
		(void)ctl_put_str(&req, k1, v1);
	if (k2 != NULL && v2 != NULL)
		(void)ctl_put_str(&req, k2, v2);
	r = cmd_call(&req, &reply, &e);
	ctl_msg_free(&req);
	if (r != 0) {
		ctl_msg_free(&reply);
		return cmd_fail(&e);
	}
	if (reply_out != NULL) {
		*reply_out = reply;
		return 0;
	}
	r = cmd_finish(&reply);
	ctl_msg_free(&reply);
	return r;
}

/* Parses the common --socket option; returns optind or -1 on usage. */
static int
cmd_parse_socket_only(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return -1;
		cmd_socket_path = optarg;
	}
	return optind;
}

int
cmd_status(int argc, char **argv)
{
	if (cmd_parse_socket_only(argc, argv) != argc) {
		fprintf(stderr, "usage: airlock status [--socket PATH]\n");
		return 2;
	}
	return cmd_simple("status", NULL, NULL, NULL, NULL, NULL);
}

int
cmd_deactivate(int argc, char **argv)
{
	if (cmd_parse_socket_only(argc, argv) != argc) {
		fprintf(stderr, "usage: airlock deactivate [--socket PATH]\n");
		return 2;
	}
	return cmd_simple("deactivate", NULL, NULL, NULL, NULL, NULL);
}

/* An officer's credential options (approve, reject, activate --share). */
struct cmd_cred_opts {
	const char *key_file, *key_pass, *token, *module, *pin, *cert;
	const char *reason;
	const char *share;	/* activate --share FILE */
	int cancel;		/* activate --cancel */
};

enum cmd_cred_verb { CMD_APPROVE, CMD_REJECT, CMD_ACTIVATE };

/*
 * Parses the options of approve, reject and activate; returns optind, -1
 * on usage. For approve and reject the credential is checked here; for
 * activate, whose --pin is the CA token's PIN unless a share is given,
 * by the caller.
 */
static int
cmd_parse_cred(int argc, char **argv, enum cmd_cred_verb verb,
    struct cmd_cred_opts *co)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "key-pass", required_argument, NULL, 'P' },
		{ "token", required_argument, NULL, 't' },
		{ "module", required_argument, NULL, 'm' },
		{ "pin", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "share", required_argument, NULL, 'S' },
		{ "cancel", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(co, 0, sizeof(*co));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': co->key_file = optarg; break;
		case 'P': co->key_pass = optarg; break;
		case 't': co->token = optarg; break;
		case 'm': co->module = optarg; break;
		case 'p': co->pin = optarg; break;
		case 'c': co->cert = optarg; break;
		case 'r': co->reason = optarg; break;
		case 's': cmd_socket_path = optarg; break;
		case 'S': co->share = optarg; break;
		case 'C': co->cancel = 1; break;
		default: return -1;
		}
	}
	if (verb == CMD_ACTIVATE)
		return co->reason == NULL ? optind : -1;
	if (co->share != NULL || co->cancel)
		return -1;
	if ((co->key_file == NULL) == (co->token == NULL)) {
		fprintf(stderr, "airlock: give exactly one of --key FILE and "
		    "--token PKCS11-URI\n");
		return -1;
	}
	if (co->cert == NULL) {
		fprintf(stderr, "airlock: --cert names your officer "
		    "certificate\n");
		return -1;
	}
	if (verb == CMD_REJECT && (co->reason == NULL || *co->reason == '\0')) {
		fprintf(stderr, "airlock: a rejection needs --reason TEXT\n");
		return -1;
	}
	if (verb == CMD_APPROVE && co->reason != NULL) {
		fprintf(stderr, "airlock: --reason is for reject\n");
		return -1;
	}
	return optind;
}

/*
 * Opens the officer's credential the options name: a key file with its
 * passphrase, or a token key with its PIN (each from its source, default
 * a prompt). 0, or an ERR_* with e set; the secret is wiped either way.
 */
static int
cmd_cred_open(const struct cmd_cred_opts *co, struct hsm_cred *cred,
    err_t *e)
{
	secret_t *secret = NULL;
	int r;

	if (co->key_file != NULL)
		return hsm_cred_open_file(co->key_file, NULL, co->key_pass ?
		    co->key_pass : "prompt", "passphrase of your key file",
		    cred, e);
	if ((r = secret_new(&secret)) != 0)
		return err_set(e, r, "cannot allocate locked memory");
	if ((r = hsm_pin_read(co->pin ? co->pin : "prompt",
	    "PIN of your token", secret, e)) == 0)
		r = hsm_cred_open_token(co->token, co->module, secret, cred, e);
	secret_free(secret);
	return r;
}

/*
 * A share stored on the officer's token (uri: pkcs11:token=...;object=
 * LABEL): opens the credential, which must be on that same token, and
 * reads the data object into record.
 */
static int
cmd_share_on_token(const char *uri, const struct cmd_cred_opts *co,
    struct hsm_cred *cred, secret_t *record, err_t *e)
{
	struct hsm_uri su, ku;
	int r;

	if (co->token == NULL)
		return err_set(e, ERR_INVALID, "a share on a token is read with "
		    "the credential on that token (--token)");
	if ((r = hsm_uri_parse(uri, &su, e)) != 0 ||
	    (r = hsm_uri_parse(co->token, &ku, e)) != 0)
		return r;
	if (su.object[0] == '\0' || strcmp(su.token, ku.token) != 0 ||
	    strcmp(su.serial, ku.serial) != 0)
		return err_set(e, ERR_INVALID, "--share %s must name the share's "
		    "object on the token of --token", uri);
	if ((r = cmd_cred_open(co, cred, e)) != 0)
		return r;
	return hsm_data_get(cred->pool, su.object, record, e);
}

/*
 * Opens the share file with the officer's key, asks the daemon for the
 * share session, signs a statement binding the record to that session
 * and sends record, statement, signature and certificate. The record is
 * held in locked memory and wiped before this returns.
 */
static int
cmd_present_share(const char *file, const struct cmd_cred_opts *co)
{
	struct ctl_msg session, req, reply;
	struct approval_statement s;
	struct approval_signed as;
	struct pinshare meta;
	struct hsm_cred cred;
	unsigned char nonce[PINSHARE_NONCE_LEN];
	EVP_PKEY *opener = NULL;
	secret_t *record = NULL;
	X509 *cert = NULL;
	char fp[65];
	const char *nonce_hex;
	int64_t object;
	size_t nlen;
	buf_t data, der;
	err_t e;
	int r;

	err_clear(&e);
	memset(&cred, 0, sizeof(cred));
	approval_signed_init(&as);
	buf_init(&data, PINSHARE_FILE_MAX);
	buf_init(&der, 64 * 1024);
	if ((r = secret_new(&record)) != 0) {
		err_set(&e, r, "cannot allocate locked memory");
		goto out;
	}
	if ((r = pki_load_cert_file(co->cert, &cert, &e)) != 0)
		goto out;
	if (strncmp(file, "pkcs11:", 7) == 0) {
		/* A share the ceremony stored on the officer's own token. */
		if ((r = cmd_share_on_token(file, co, &cred, record, &e)) != 0)
			goto out;
	} else if ((r = fileio_read(file, PINSHARE_FILE_MAX, &data,
	    &e)) != 0 || (r = cmd_cred_open(co, &cred, &e)) != 0) {
		goto out;
	}
	/*
	 * A token key signs through the HSM; only an RSA key the token lets
	 * decrypt can open a share file there. Key files open either kind.
	 */
	if (record->len == 0 && cred.hk != NULL &&
	    (opener = hsm_key_decrypter(cred.hk)) == NULL) {
		r = err_set(&e, ERR_POLICY, "the key on your token cannot "
		    "decrypt, so it cannot open the share file; open it with the "
		    "key file it was encrypted for (--key)");
		goto out;
	}
	if ((record->len == 0 && (r = pinshare_open(data.data, data.len,
	    opener ? opener : cred.key, cert, record, &e)) != 0) ||
	    (r = pinshare_parse(file, record->data, record->len, &meta, NULL,
	    &e)) != 0)
		goto out;
	/*
	 * A share made for another certificate is still sent: the daemon
	 * refuses it and audits the attempt, which a refusal here would not.
	 */
	if (pki_cert_sha256_hex(cert, fp) != 0 || strcmp(fp, meta.officer) != 0)
		fprintf(stderr, "airlock: warning: share %u was made for another "
		    "certificate (SHA-256 %.16s...) than %s\n", meta.index,
		    meta.officer, co->cert);
	printf("Opened share %u of a %u-of-%u split of the PIN of token '%s' "
	    "(serial %s).\n", meta.index, meta.threshold, meta.shares,
	    meta.token, meta.serial);
	if ((r = cmd_simple("share-session", NULL, NULL, NULL, NULL,
	    &session)) != 0)
		goto quiet;
	if (strcmp(ctl_get_str(&session, "status") ? ctl_get_str(&session,
	    "status") : "", "ok") != 0) {
		r = cmd_finish(&session) ? ERR_POLICY : 0;
		ctl_msg_free(&session);
		goto quiet;
	}
	nonce_hex = ctl_get_str(&session, "nonce");
	if (ctl_get_int(&session, "session", &object) != 0 ||
	    nonce_hex == NULL || strlen(nonce_hex) != 2 * sizeof(nonce) ||
	    buf_unhex(nonce_hex, nonce, sizeof(nonce), &nlen) != 0) {
		ctl_msg_free(&session);
		r = err_set(&e, ERR_PROTO, "the daemon's share session reply "
		    "lacks its session or nonce");
		goto out;
	}
	ctl_msg_free(&session);
	memset(&s, 0, sizeof(s));
	s.kind = APPROVAL_KIND_SHARE;
	s.object = object;
	s.decision = APPROVAL_APPROVE;
	s.time = time(NULL);
	if ((r = pinshare_digest(nonce, record->data, record->len, s.digest,
	    &e)) != 0 || (r = approval_sign(cred.key, cert, &s, &as,
	    &e)) != 0 || (r = pki_cert_der(cert, &der, &e)) != 0)
		goto out;
	ctl_msg_init_secret(&req, CTL_REQUEST_MAX);
	(void)ctl_put_str(&req, "cmd", "activate-share");
	(void)ctl_put_int(&req, "session", object);
	(void)ctl_put(&req, "record", record->data, record->len);
	(void)ctl_put(&req, "statement", as.statement.data, as.statement.len);
	(void)ctl_put(&req, "signature", as.sig.data, as.sig.len);
	(void)ctl_put(&req, "cert", der.data, der.len);
	secret_wipe(record);
	r = cmd_call(&req, &reply, &e);
	ctl_msg_free(&req);
	if (r == 0) {
		/* cmd_finish prints the daemon's answer, refusal included. */
		r = cmd_finish(&reply) == 0 ? 0 : ERR_POLICY;
		err_clear(&e);
	}
	ctl_msg_free(&reply);
	goto out;
quiet:
	err_clear(&e);
out:
	if (r != 0 && e.msg[0] != '\0')
		fprintf(stderr, "airlock: %s\n", e.msg);
	EVP_PKEY_free(opener);
	hsm_cred_close(&cred);
	approval_signed_free(&as);
	secret_free(record);
	X509_free(cert);
	buf_free(&data);
	buf_free(&der);
	return r == 0 ? 0 : 1;
}

int
cmd_activate(int argc, char **argv)
{
	const char *source;
	struct cmd_cred_opts co;
	struct ctl_msg req, reply;
	secret_t *pin = NULL;
	int r;
	err_t e;

	if (cmd_parse_cred(argc, argv, CMD_ACTIVATE, &co) != argc)
		goto usage;
	if (co.cancel) {
		if (co.share || co.pin || co.key_file || co.key_pass ||
		    co.token || co.module || co.cert)
			goto usage;
		return cmd_simple("share-cancel", NULL, NULL, NULL, NULL, NULL);
	}
	if (co.share != NULL) {
		/* With a share, --pin is the officer token's PIN. */
		if ((co.key_file == NULL) == (co.token == NULL) ||
		    co.cert == NULL || (co.key_file && (co.module || co.pin)) ||
		    (co.token && co.key_pass))
			goto usage;
		return cmd_present_share(co.share, &co);
	}
	if (co.key_file || co.key_pass || co.token || co.module || co.cert)
		goto usage;
	source = co.pin != NULL ? co.pin : "prompt";
	err_clear(&e);
	if ((r = secret_new(&pin)) != 0 || (r = hsm_pin_read(source,
	    "PIN of the CA token", pin, &e)) != 0) {
		secret_free(pin);
		return cmd_fail(&e);
	}
	ctl_msg_init_secret(&req, CTL_REQUEST_MAX);
	(void)ctl_put_str(&req, "cmd", "activate");
	r = ctl_put(&req, "pin", pin->data, pin->len);
	secret_free(pin);
	if (r == 0)
		r = cmd_call(&req, &reply, &e);
	ctl_msg_free(&req);
	if (r != 0) {
		ctl_msg_free(&reply);
		return cmd_fail(&e);
	}
	r = cmd_finish(&reply);
	ctl_msg_free(&reply);
	return r;
usage:
	fprintf(stderr, "usage: airlock activate [--pin SOURCE] "
	    "[--socket PATH]\n"
	    "       airlock activate --share FILE CREDENTIAL [--socket PATH]\n"
	    "       airlock activate --cancel [--socket PATH]\n"
	    "CREDENTIAL: (--key FILE [--key-pass SOURCE] | --token URI "
	    "[--module PATH] [--pin SOURCE]) --cert CERT.pem\n");
	return 2;
}

/* --- approvals ---------------------------------------------------------- */

static int
cmd_decide(const char *show_cmd, const char *id, int reject,
    const struct cmd_cred_opts *co)
{
	struct ctl_msg shown, req, reply;
	struct approval_statement s;
	struct approval_signed as;
	struct hsm_cred cred;
	const unsigned char *text;
	const char *kind, *digest, *state;
	char kind_buf[32], digest_buf[65];
	X509 *cert = NULL;
	buf_t der;
	size_t len;
	int64_t object, created;
	err_t e;
	int r;

	err_clear(&e);
	memset(&cred, 0, sizeof(cred));
	approval_signed_init(&as);
	buf_init(&der, 64 * 1024);
	if ((r = cmd_simple(show_cmd, "id", id, NULL, NULL, &shown)) != 0)
		return r;
	if (strcmp(ctl_get_str(&shown, "status") ? ctl_get_str(&shown,
	    "status") : "", "ok") != 0) {
		r = cmd_finish(&shown);
		ctl_msg_free(&shown);
		return r;
	}
	/* Copies: the reply is freed before the statement is sent. */
	snprintf(kind_buf, sizeof(kind_buf), "%s", ctl_get_str(&shown,
	    "kind") ? ctl_get_str(&shown, "kind") : "");
	snprintf(digest_buf, sizeof(digest_buf), "%s", ctl_get_str(&shown,
	    "digest") ? ctl_get_str(&shown, "digest") : "");
	kind = kind_buf;
	digest = digest_buf;
	state = ctl_get_str(&shown, "state");
	if (strlen(digest) != 64 || ctl_get_int(&shown, "object",
	    &object) != 0 || ctl_get_int(&shown, "created", &created) != 0) {
		fprintf(stderr, "airlock: the daemon's reply lacks what a "
		    "statement needs\n");
		ctl_msg_free(&shown);
		return 1;
	}
	/* What the officer is about to sign for, in full. */
	if ((text = ctl_get(&shown, "text", &len)) != NULL)
		fwrite(text, 1, len, stdout);
	if (state != NULL && strcmp(state, "pending-approval") != 0) {
		fprintf(stderr, "airlock: %s %lld is %s: there is nothing to "
		    "decide\n", kind, (long long)object, state);
		ctl_msg_free(&shown);
		return 1;
	}
	memset(&s, 0, sizeof(s));
	if (approval_kind_parse(kind, &s.kind) != 0) {
		ctl_msg_free(&shown);
		return 1;
	}
	s.object = object;
	memcpy(s.digest, digest_buf, sizeof(s.digest));
	s.decision = reject ? APPROVAL_REJECT : APPROVAL_APPROVE;
	if (reject)
		snprintf(s.reason, sizeof(s.reason), "%s", co->reason);
	s.time = time(NULL);
	ctl_msg_free(&shown);

	if ((r = pki_load_cert_file(co->cert, &cert, &e)) != 0)
		goto out;
	r = cmd_cred_open(co, &cred, &e);
	if (r != 0 || (r = approval_sign(cred.key, cert, &s, &as, &e)) != 0 ||
	    (r = pki_cert_der(cert, &der, &e)) != 0)
		goto out;
	printf("Signed: %s %s %lld (digest %.16s...).\n",
	    reject ? "reject" : "approve", kind, (long long)object, digest);
	ctl_msg_init(&req, CTL_REQUEST_MAX);
	(void)ctl_put_str(&req, "cmd", "approve");
	(void)ctl_put_str(&req, "kind", kind);
	(void)ctl_put_int(&req, "object", object);
	(void)ctl_put(&req, "statement", as.statement.data, as.statement.len);
	(void)ctl_put(&req, "signature", as.sig.data, as.sig.len);
	(void)ctl_put(&req, "cert", der.data, der.len);
	r = cmd_call(&req, &reply, &e);
	ctl_msg_free(&req);
	if (r == 0)
		r = cmd_finish(&reply) == 0 ? 0 : ERR_POLICY;
	ctl_msg_free(&reply);
	hsm_cred_close(&cred);
	approval_signed_free(&as);
	X509_free(cert);
	buf_free(&der);
	return r == 0 ? 0 : 1;
out:
	hsm_cred_close(&cred);
	approval_signed_free(&as);
	X509_free(cert);
	buf_free(&der);
	return cmd_fail(&e);
}

int
cmd_is_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 18 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static void
cmd_batch_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock batch list [--state STATE]\n"
	    "       airlock batch show ID\n"
	    "       airlock batch approve ID CREDENTIAL\n"
	    "       airlock batch reject ID --reason TEXT CREDENTIAL\n"
	    "       airlock batch results ID [--format text|csv|json] "
	    "[--out FILE]\n"
	    "CREDENTIAL: (--key FILE [--key-pass SOURCE] | --token URI "
	    "[--module PATH] [--pin SOURCE]) --cert CERT.pem\n"
	    "Every verb also takes --socket PATH.\n");
}

static int
cmd_results(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *fmt = "text", *out = NULL;
	const unsigned char *data;
	struct ctl_msg reply;
	size_t len;
	err_t e;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			fmt = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 's')
			cmd_socket_path = optarg;
		else
			return 2;
	}
	if (optind + 1 != argc || !cmd_is_id(argv[optind]))
		return 2;
	if ((r = cmd_simple("batch-results", "id", argv[optind], "format",
	    fmt, &reply)) != 0)
		return r;
	if (strcmp(ctl_get_str(&reply, "status") ? ctl_get_str(&reply,
	    "status") : "", "ok") != 0 || strcmp(fmt, "text") == 0) {
		r = cmd_finish(&reply);
		ctl_msg_free(&reply);
		return r;
	}
	data = ctl_get(&reply, "data", &len);
	err_clear(&e);
	if (data == NULL)
		r = 1;
	else if (out != NULL)
		r = fileio_create(out, data, len, 0644, &e) == 0 ? 0 :
		    cmd_fail(&e);
	else
		r = fwrite(data, 1, len, stdout) == len ? 0 : 1;
	ctl_msg_free(&reply);
	return r;
}

int
cmd_batch(int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "";
	int i;

	if (strcmp(verb, "list") == 0) {
		static const struct option opts[] = {
			{ "state", required_argument, NULL, 't' },
			{ "socket", required_argument, NULL, 's' },
			{ NULL, 0, NULL, 0 }
		};
		const char *state = NULL;
		int c;

		optind = 1;
		while ((c = getopt_long(argc - 1, argv + 1, "", opts,
		    NULL)) != -1) {
			if (c == 't')
				state = optarg;
			else if (c == 's')
				cmd_socket_path = optarg;
			else
				goto usage;
		}
		if (optind != argc - 1)
			goto usage;
		return cmd_simple("batch-list", "state", state, NULL, NULL,
		    NULL);
	}
	if (strcmp(verb, "show") == 0) {
		if ((i = cmd_parse_socket_only(argc - 1, argv + 1)) < 0 ||
		    i + 1 != argc - 1 || !cmd_is_id(argv[i + 1]))
			goto usage;
		return cmd_simple("batch-show", "id", argv[i + 1], NULL, NULL,
		    NULL);
	}
	if (strcmp(verb, "approve") == 0 || strcmp(verb, "reject") == 0) {
		int r = cmd_decide_verb(argc - 1, argv + 1, "batch-show");

		if (r == 2)
			goto usage;
		return r;
	}
	if (strcmp(verb, "results") == 0) {
		int r = cmd_results(argc - 1, argv + 1);

		if (r == 2)
			goto usage;
		return r;
	}
usage:
	cmd_batch_usage(stderr);
	return 2;
}

int
cmd_export(int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "";
	int i;

	if (strcmp(verb, "list") == 0 || strcmp(verb, "request") == 0 ||
	    strcmp(verb, "show") == 0) {
		if ((i = cmd_parse_socket_only(argc - 1, argv + 1)) < 0)
			goto usage;
		if (verb[0] == 'l' && i == argc - 1)
			return cmd_simple("export-list", NULL, NULL, NULL,
			    NULL, NULL);
		if (i + 1 != argc - 1 || !cmd_is_id(argv[i + 1]))
			goto usage;
		if (verb[0] == 'l')
			return cmd_simple("export-list", "batch", argv[i + 1],
			    NULL, NULL, NULL);
		if (verb[0] == 'r')
			return cmd_simple("export-request", "batch",
			    argv[i + 1], NULL, NULL, NULL);
		return cmd_simple("export-show", "id", argv[i + 1], NULL,
		    NULL, NULL);
	}
	if (strcmp(verb, "approve") == 0 || strcmp(verb, "reject") == 0) {
		int r = cmd_decide_verb(argc - 1, argv + 1, "export-show");

		if (r == 2)
			goto usage;
		return r;
	}
usage:
	fprintf(stderr,
	    "usage: airlock export list [BATCH]\n"
	    "       airlock export request BATCH   (a re-export; needs two "
	    "approvals)\n"
	    "       airlock export show ID\n"
	    "       airlock export approve ID CREDENTIAL\n"
	    "       airlock export reject ID --reason TEXT CREDENTIAL\n");
	return 2;
}

int
cmd_decide_verb(int argc, char **argv, const char *show_cmd)
{
	struct cmd_cred_opts co;
	int reject = argc >= 1 && strcmp(argv[0], "reject") == 0;
	int i;

	if ((i = cmd_parse_cred(argc, argv, reject ? CMD_REJECT : CMD_APPROVE,
	    &co)) < 0 ||
	    i + 1 != argc || !cmd_is_id(argv[i]))
		return 2;
	return cmd_decide(show_cmd, argv[i], reject, &co);
}

int
cmd_crl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 'S' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *verb = argc >= 2 ? argv[1] : "";
	const char *ca = NULL, *state = NULL;
	int c, r;

	if (strcmp(verb, "approve") == 0 || strcmp(verb, "reject") == 0) {
		if ((r = cmd_decide_verb(argc - 1, argv + 1, "crl-show")) != 2)
			return r;
		goto usage;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': ca = optarg; break;
		case 'S': state = optarg; break;
		case 's': cmd_socket_path = optarg; break;
		default: goto usage;
		}
	}
	if (strcmp(verb, "request") == 0 && optind == argc - 1 &&
	    state == NULL)
		return cmd_simple("crl-request", "ca", ca, NULL, NULL, NULL);
	if (strcmp(verb, "list") == 0 && optind == argc - 1 && ca == NULL)
		return cmd_simple("crl-list", "state", state, NULL, NULL, NULL);
	if (strcmp(verb, "show") == 0 && optind == argc - 2 && ca == NULL &&
	    state == NULL && cmd_is_id(argv[optind + 1]))
		return cmd_simple("crl-show", "id", argv[optind + 1], NULL,
		    NULL, NULL);
usage:
	fprintf(stderr,
	    "usage: airlock crl request [--ca NAME]   (a CRL issuance; needs "
	    "two approvals)\n"
	    "       airlock crl list [--state STATE]   (each CA's CRL, and "
	    "the requests)\n"
	    "       airlock crl show ID\n"
	    "       airlock crl approve ID CREDENTIAL\n"
	    "       airlock crl reject ID --reason TEXT CREDENTIAL\n");
	return 2;
}

int
cmd_lockout(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 'S' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *verb = argc >= 2 ? argv[1] : "";
	const char *state = NULL;
	int c, r;

	/* A lock-out is cleared or left alone: there is no reject. */
	if (strcmp(verb, "approve") == 0) {
		if ((r = cmd_decide_verb(argc - 1, argv + 1,
		    "lockout-show")) != 2)
			return r;
		goto usage;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		if (c == 'S')
			state = optarg;
		else if (c == 's')
			cmd_socket_path = optarg;
		else
			goto usage;
	}
	if (strcmp(verb, "list") == 0 && optind == argc - 1)
		return cmd_simple("lockout-list", "state", state, NULL, NULL,
		    NULL);
	if (strcmp(verb, "show") == 0 && optind == argc - 2 &&
	    state == NULL && cmd_is_id(argv[optind + 1]))
		return cmd_simple("lockout-show", "id", argv[optind + 1], NULL,
		    NULL, NULL);
usage:
	fprintf(stderr,
	    "usage: airlock lockout list [--state locked|cleared]\n"
	    "       airlock lockout show ID\n"
	    "       airlock lockout approve ID CREDENTIAL   (clears it once "
	    "two officers\n"
	    "                                              other than the "
	    "locked person approve)\n");
	return 2;
}
