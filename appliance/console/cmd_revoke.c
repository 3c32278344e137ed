/*
 * cmd_revoke.c: `airlock revoke`, `airlock batch revoke` and `airlock
 * revocation list|show` (see cmd_revoke.h and airlock(1)).
 *
 * Like the other console files, this one parses arguments, reads secrets
 * from where the requester said, prints, and chooses exit codes;
 * operator/bundle_make makes the bundle, and airlockd judges it with the
 * very code that judges the medium's inbox/. Everything that can be
 * refused without a secret is refused before any prompt.
 */
#include "console/cmd_revoke.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/cmd_daemon.h"
#include "console/signeropt.h"
#include "ctl/ctl.h"
#include "operator/bundle_make.h"
#include "queue/revocation.h"
#include "util/fileio.h"
#include "util/timeutil.h"

/* Bytes of a --serial list, and of one target we build. */
#define REVOKE_ARG_MAX 65536
#define REVOKE_TARGET_MAX (QUEUE_REVOCATION_SUBJECT_MAX + 96)

static void
revoke_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock revoke [--serial HEX[,HEX...]] [--ca NAME]\n"
	    "           [--batch ID] [--mac MAC] [--subject TEXT] "
	    "[--file LIST]\n"
	    "           --reason REASON --message TEXT "
	    "[--invalidity-date YYYY-MM-DDTHH:MM:SSZ]\n"
	    SIGNEROPT_USAGE
	    "           [--id UUID] [--out FILE [--pem]] [--socket PATH]\n"
	    "       airlock batch revoke ID --reason REASON --message TEXT "
	    "... (as above)\n"
	    "       airlock revocation list [--state STATE]\n"
	    "       airlock revocation show ID\n"
	    "       airlock revocation approve ID CREDENTIAL\n"
	    "       airlock revocation reject ID --reason TEXT CREDENTIAL\n"
	    "\n"
	    "--serial, --batch, --mac and --subject may be repeated. REASON is "
	    "one of\n"
	    "unspecified, keyCompromise, cACompromise, affiliationChanged, "
	    "superseded,\n"
	    "cessationOfOperation, certificateHold, privilegeWithdrawn, "
	    "aACompromise,\n"
	    "or removeFromCRL (releases a hold). Without --out the request "
	    "goes to\n"
	    "airlockd, which answers with its number or with every problem.\n"
	    "See airlock(1) and docs/formats/bundle.md, section 6.\n");
}

enum {
	OPT_SERIAL = SIGNEROPT_NEXT, OPT_CA, OPT_BATCH, OPT_MAC, OPT_SUBJECT,
	OPT_FILE, OPT_REASON, OPT_MESSAGE, OPT_INVALIDITY, OPT_ID, OPT_OUT,
	OPT_PEM, OPT_SOCKET, OPT_HELP
};

static const struct option revoke_lo[] = {
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "subject", required_argument, NULL, OPT_SUBJECT },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "message", required_argument, NULL, OPT_MESSAGE },
	{ "invalidity-date", required_argument, NULL, OPT_INVALIDITY },
	SIGNEROPT_LONGOPTS,
	{ "id", required_argument, NULL, OPT_ID },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "pem", no_argument, NULL, OPT_PEM },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* What the command line said, before any file or secret is read. */
struct revoke_args {
	struct bundle_make_opts o;
	struct signeropt s;
	char **targets;		/* built: "serial HEX", "batch ID", ... */
	size_t n, cap;
	const char *ca, *out;
};

static void
revoke_args_free(struct revoke_args *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->targets[i]);
	free(a->targets);
	a->targets = NULL;
	a->n = a->cap = 0;
}

/* Appends "kind value" as one target; 0, or 2 (usage) when too many. */
static int
revoke_add(struct revoke_args *a, const char *kind, const char *value,
    size_t len)
{
	char *t;

	if (a->n >= QUEUE_REVOCATION_MAX_TARGETS || len > REVOKE_TARGET_MAX) {
		fprintf(stderr, "airlock: at most %d targets, each at most %d "
		    "bytes; use --file for more\n", QUEUE_REVOCATION_MAX_TARGETS,
		    REVOKE_TARGET_MAX);
		return 2;
	}
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 16;
		char **nv = reallocarray(a->targets, ncap, sizeof(*nv));

		if (nv == NULL)
			return 1;
		a->targets = nv;
		a->cap = ncap;
	}
	if ((t = malloc(strlen(kind) + len + 2)) == NULL)
		return 1;
	snprintf(t, strlen(kind) + len + 2, "%s %.*s", kind, (int)len, value);
	a->targets[a->n++] = t;
	return 0;
}

/* --serial A,B,C: one target each; --ca applies to all of them. */
static int
revoke_add_serials(struct revoke_args *a, const char *list)
{
	const char *p = list;

	if (strlen(list) > REVOKE_ARG_MAX) {
		fprintf(stderr, "airlock: --serial list too long; use --file\n");
		return 2;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		int r;

		if (len == 0) {
			fprintf(stderr, "airlock: --serial: an empty serial in "
			    "'%s'\n", list);
			return 2;
		}
		if ((r = revoke_add(a, "serial", p, len)) != 0)
			return r;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* Parses argv into a; 0, 1 (help printed) or 2 (usage error). */
static int
revoke_parse(int argc, char **argv, struct revoke_args *a)
{
	err_t e;
	time_t t;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", revoke_lo, NULL)) != -1) {
		if (signeropt_take(&a->s, c, optarg))
			continue;
		switch (c) {
		case OPT_SERIAL:
			if ((r = revoke_add_serials(a, optarg)) != 0)
				return r;
			break;
		case OPT_CA: a->ca = optarg; break;
		case OPT_BATCH:
			if ((r = revoke_add(a, "batch", optarg,
			    strlen(optarg))) != 0)
				return r;
			break;
		case OPT_MAC:
			if ((r = revoke_add(a, "mac", optarg,
			    strlen(optarg))) != 0)
				return r;
			break;
		case OPT_SUBJECT:
			if ((r = revoke_add(a, "subject", optarg,
			    strlen(optarg))) != 0)
				return r;
			break;
		case OPT_FILE: a->o.targets_path = optarg; break;
		case OPT_REASON: a->o.reason = optarg; break;
		case OPT_MESSAGE: a->o.message = optarg; break;
		case OPT_INVALIDITY:
			err_clear(&e);
			if (timeutil_parse(optarg, &t, &e) != 0) {
				fprintf(stderr, "airlock: --invalidity-date: %s\n",
				    e.msg);
				return 2;
			}
			a->o.invalidity_date = t;
			break;
		case OPT_ID: a->o.id = optarg; break;
		case OPT_OUT: a->out = optarg; break;
		case OPT_PEM: a->o.pem = 1; break;
		case OPT_SOCKET: cmd_socket_path = optarg; break;
		case OPT_HELP: revoke_usage(stdout); return 1;
		default: revoke_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "airlock: unexpected argument '%s'\n",
		    argv[optind]);
		return 2;
	}
	return 0;
}

/* The choices that need no file and no secret; 0 or 2 (usage). */
static int
revoke_check_args(struct revoke_args *a)
{
	const char *miss = NULL;

	if (a->o.reason == NULL)
		miss = "--reason REASON";
	else if (a->o.message == NULL)
		miss = "--message TEXT";
	else if (a->s.cert == NULL)
		miss = "--signer-cert CERT.pem";
	else if (a->n == 0 && a->o.targets_path == NULL)
		miss = "a target (--serial, --batch, --mac, --subject or --file)";
	if (miss != NULL) {
		fprintf(stderr, "airlock: revoke needs %s\n", miss);
		return 2;
	}
	if (!queue_revocation_reason_ok(a->o.reason)) {
		fprintf(stderr, "airlock: --reason '%s' is not a revocation "
		    "reason\n", a->o.reason);
		revoke_usage(stderr);
		return 2;
	}
	if (signeropt_check(&a->s) != 0)
		return 2;
	if (a->o.pem && a->out == NULL) {
		fprintf(stderr, "airlock: --pem is for --out; airlockd takes the "
		    "bundle as it is\n");
		return 2;
	}
	/* --ca names the CA of the serials given on the command line. */
	if (a->ca != NULL) {
		size_t seen = 0, i;

		for (i = 0; i < a->n; i++) {
			char *t;

			if (strncmp(a->targets[i], "serial ", 7) != 0)
				continue;
			seen++;
			if ((t = malloc(strlen(a->targets[i]) +
			    strlen(a->ca) + 5)) == NULL)
				return 2;
			sprintf(t, "%s ca %s", a->targets[i], a->ca);
			free(a->targets[i]);
			a->targets[i] = t;
		}
		if (seen == 0) {
			fprintf(stderr, "airlock: --ca names the CA of --serial "
			    "targets, and there is none\n");
			return 2;
		}
	}
	a->o.kind = MANIFEST_KIND_REVOCATION;
	a->o.targets = (const char *const *)a->targets;
	a->o.n_targets = a->n;
	return 0;
}

/* Hands the bundle to airlockd; prints its answer. */
static int
revoke_submit(const buf_t *bundle)
{
	struct ctl_msg req, reply;
	const char *status;
	err_t e;
	int r;

	err_clear(&e);
	ctl_msg_init(&req, CTL_REQUEST_MAX);
	if (ctl_put_str(&req, "cmd", "revoke-submit") != 0 ||
	    ctl_put(&req, "bundle", bundle->data, bundle->len) != 0) {
		ctl_msg_free(&req);
		fprintf(stderr, "airlock: the request (%zu bytes) is too large "
		    "for the console socket; write it with --out and bring it "
		    "on the medium\n", bundle->len);
		return 1;
	}
	r = cmd_call(&req, &reply, &e);
	ctl_msg_free(&req);
	if (r != 0) {
		ctl_msg_free(&reply);
		fprintf(stderr, "airlock: %s\n", e.msg);
		return 1;
	}
	status = ctl_get_str(&reply, "status");
	if (status == NULL || strcmp(status, "ok") != 0) {
		const unsigned char *text;
		size_t len;

		/* Every problem, as the .reason file of the medium shows it. */
		if ((text = ctl_get(&reply, "text", &len)) != NULL && len > 0)
			fwrite(text, 1, len, stderr);
	}
	r = cmd_finish(&reply);
	ctl_msg_free(&reply);
	return r;
}

/* Makes the bundle and writes or submits it; the exit code. */
static int
revoke_run(struct revoke_args *a)
{
	X509 *transport = NULL;
	time_t now = time(NULL);
	buf_t out;
	err_t e;
	int r = 1;

	err_clear(&e);
	buf_init(&out, 0);
	if (a->out != NULL && fileio_exists(a->out)) {
		fprintf(stderr, "airlock: %s already exists; refusing to "
		    "overwrite it\n", a->out);
		goto out;
	}
	if (signeropt_transport(&a->s, &transport) != 0 ||
	    signeropt_make(&a->s, transport, now, &a->o, &out) != 0)
		goto out;
	if (a->out == NULL) {
		r = revoke_submit(&out);
		goto out;
	}
	if (fileio_create(a->out, out.data, out.len, 0644, &e) != 0)
		goto fail_e;
	printf("%s: revocation request (%s, %zu target%s%s)%s, %zu bytes; "
	    "put it in inbox/ on the medium\n", a->out, a->o.reason, a->n,
	    a->n == 1 ? "" : "s", a->o.targets_path ? " and a targets file" :
	    "", transport != NULL ? ", encrypted to the appliance" : "",
	    out.len);
	r = 0;
	goto out;
fail_e:
	if (e.msg[0] != '\0')
		fprintf(stderr, "airlock: %s\n", e.msg);
out:
	buf_free(&out);
	X509_free(transport);
	return r;
}

/* revoke and batch revoke: argv[0] is the verb; batch is "batch ID". */
static int
revoke_main(int argc, char **argv, const char *batch)
{
	struct revoke_args a;
	int r;

	memset(&a, 0, sizeof(a));
	if (batch != NULL && (r = revoke_add(&a, "batch", batch,
	    strlen(batch))) != 0)
		goto out;
	if ((r = revoke_parse(argc, argv, &a)) != 0) {
		r = r == 1 ? 0 : r;
		goto out;
	}
	if ((r = revoke_check_args(&a)) != 0)
		goto out;
	r = revoke_run(&a);
out:
	revoke_args_free(&a);
	return r;
}

int
cmd_revoke(int argc, char **argv)
{
	return revoke_main(argc, argv, NULL);
}

int
cmd_batch_revoke(int argc, char **argv)
{
	/* argv: revoke ID [options]: the batch, then as revoke. */
	if (argc < 2 || !cmd_is_id(argv[1])) {
		revoke_usage(stderr);
		return 2;
	}
	/* getopt skips the first word: here the batch number itself. */
	return revoke_main(argc - 1, argv + 1, argv[1]);
}

int
cmd_revocation(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 'S' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *verb = argc >= 2 ? argv[1] : "", *state = NULL;
	int c, r;

	if (strcmp(verb, "approve") == 0 || strcmp(verb, "reject") == 0) {
		if ((r = cmd_decide_verb(argc - 1, argv + 1,
		    "revocation-show")) != 2)
			return r;
		goto usage;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S': state = optarg; break;
		case 's': cmd_socket_path = optarg; break;
		default: goto usage;
		}
	}
	if (strcmp(verb, "list") == 0 && optind == argc - 1)
		return cmd_simple("revocation-list", "state", state, NULL, NULL,
		    NULL);
	if (strcmp(verb, "show") == 0 && optind == argc - 2 && state == NULL &&
	    cmd_is_id(argv[optind + 1]))
		return cmd_simple("revocation-show", "id", argv[optind + 1],
		    NULL, NULL, NULL);
usage:
	revoke_usage(stderr);
	return 2;
}
