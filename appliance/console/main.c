/*
 * main.c: `airlock`, the console and workstation command.
 *
 * Verbs are few and each does one job. This file only parses arguments,
 * prints, and chooses exit codes; the work is done by library modules that
 * return errors instead of exiting.
 *
 * Exit codes: 0 success, 1 the operation failed (the message says why),
 * 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ceremony/ceremony.h"
#include "ceremony/import.h"
#include "ceremony/transcript.h"
#include "console/cmd_audit.h"
#include "console/cmd_bundle.h"
#include "console/cmd_cert.h"
#include "console/cmd_daemon.h"
#include "console/cmd_revoke.h"
#include "pki/pkiutil.h"
#include "policy/profile.h"
#include "util/err.h"
#include "util/fileio.h"

#ifndef AIRLOCK_VERSION
#define AIRLOCK_VERSION "0.1.0"
#endif

#define MAX_PINS 64

static void
say_stdout(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
	fflush(stdout);
}

static int
fail(const err_t *e)
{
	fprintf(stderr, "airlock: %s\n", e->msg);
	return 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock ceremony run [--rehearse] [--pin [NAME=]SOURCE]...\n"
	    "                            [--module PATH] [--dev-override-network]\n"
	    "                            --out DIR SCRIPT.yaml...\n"
	    "       airlock ceremony check SCRIPT.yaml...\n"
	    "       airlock ceremony verify [--root ROOT.pem] DIR/NAME.transcript.yaml...\n"
	    "       airlock init --state DIR --ceremonies DIR [--root-sha256 HEX]...\n"
	    "       airlock profile check PROFILE.yaml...\n"
	    "       airlock audit verify LOG --cert CERT.pem [--follows LOG] | show LOG | report KIND LOG\n"
	    "\n"
	    "At the appliance console (talks to airlockd; --socket PATH or\n"
	    "AIRLOCK_SOCKET names its socket):\n"
	    "       airlock activate [--pin SOURCE] | deactivate | status\n"
	    "       airlock activate --share FILE CREDENTIAL | --cancel\n"
	    "       airlock batch list [--state STATE] | show ID | results ID\n"
	    "       airlock batch approve ID CREDENTIAL\n"
	    "       airlock batch reject ID --reason TEXT CREDENTIAL\n"
	    "       airlock export list [BATCH] | request BATCH | show ID\n"
	    "       airlock export approve|reject ID [--reason TEXT] CREDENTIAL\n"
	    "       airlock crl request [--ca NAME] | list [--state S] | show ID\n"
	    "       airlock crl approve|reject ID [--reason TEXT] CREDENTIAL\n"
	    "       airlock lockout list [--state S] | show ID | approve ID CREDENTIAL\n"
	    "       airlock revoke TARGETS --reason R --message M SIGNER\n"
	    "       airlock batch revoke ID --reason R --message M SIGNER\n"
	    "       airlock revocation list [--state S] | show ID\n"
	    "       airlock cert list [FILTERS] [--format text|csv|json] [--out FILE]\n"
	    "       airlock cert show SERIAL [--ca NAME] [--pem] [--format F]\n"
	    "       airlock report expiring [--days N] | issuance | algorithms\n"
	    "CREDENTIAL: (--key FILE [--key-pass SOURCE] | --token URI\n"
	    "            [--module PATH] [--pin SOURCE]) --cert CERT.pem\n"
	    "       airlock version\n"
	    "\n"
	    "SOURCE is where a PIN or passphrase comes from: prompt (the\n"
	    "default), fd:N, or file:PATH (a file only its owner can read).\n"
	    "NAME is a token label, or a person id for a person's key file;\n"
	    "a SOURCE without NAME is for the script's own token.\n"
	    "See airlock(1) and docs/ceremony.md.\n");
}

static int
cmd_ceremony_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rehearse", no_argument, NULL, 'r' },
		{ "dev-override-network", no_argument, NULL, 'N' },
		{ "pin", required_argument, NULL, 'p' },
		{ "module", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *pins[MAX_PINS];
	struct ceremony_opts o;
	err_t e;
	int c, n_pins = 0;

	memset(&o, 0, sizeof(o));
	err_clear(&e);
	while ((c = getopt_long(argc, argv, "rp:m:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': o.rehearse = 1; break;
		case 'N': o.network_override = 1; break;
		case 'p':
			if (n_pins == MAX_PINS) {
				fprintf(stderr, "airlock: at most %d --pin\n", MAX_PINS);
				return 2;
			}
			pins[n_pins++] = optarg;
			break;
		case 'm': o.module = optarg; break;
		case 'o': o.out_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.out_dir == NULL || optind >= argc) {
		fprintf(stderr, "airlock: ceremony run needs --out DIR and at "
		    "least one script\n");
		usage(stderr);
		return 2;
	}
	o.pins = pins;
	o.n_pins = (size_t)n_pins;
	o.say = say_stdout;
	if (ceremony_run((const char *const *)argv + optind,
	    (size_t)(argc - optind), &o, &e) != 0)
		return fail(&e);
	return 0;
}

static int
cmd_ceremony_check(int argc, char **argv)
{
	diag_t d;
	err_t e;
	size_t shown;
	int r;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	diag_init(&d);
	err_clear(&e);
	r = ceremony_check((const char *const *)argv + 1, (size_t)(argc - 1),
	    &d, &e);
	diag_print(&d, stderr, "");
	shown = d.n;
	diag_free(&d);
	if (r != 0)
		return shown == 0 ? fail(&e) : 1;
	printf("%d script(s) OK\n", argc - 1);
	return 0;
}

static int
cmd_ceremony_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "root", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	const char *root_path = NULL;
	X509 *root = NULL;
	err_t e;
	int c, i, bad = 0;

	while ((c = getopt_long(argc, argv, "R:", lo, NULL)) != -1) {
		if (c != 'R') {
			usage(stderr);
			return 2;
		}
		root_path = optarg;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	err_clear(&e);
	if (root_path != NULL && pki_load_cert_file(root_path, &root, &e) != 0)
		return fail(&e);
	for (i = optind; i < argc; i++) {
		char *copy = strdup(argv[i]), *slash;
		const char *dir = ".", *file = argv[i], *who = "";
		struct transcript_info info;
		int r;

		if (copy == NULL)
			return 1;
		if ((slash = strrchr(copy, '/')) != NULL) {
			*slash = '\0';
			dir = copy[0] ? copy : "/";
			file = slash + 1;
		}
		err_clear(&e);
		r = transcript_verify(dir, file, &info, &e);
		if (r == 0 && root != NULL) {
			r = transcript_check_signer(dir, &info, root, &e);
			who = r == 1 ? "; signed by the key it created, which no "
			    "root vouches for" : "; the signer chains to the root";
			r = r == 1 ? 0 : r;
		}
		if (r != 0) {
			fprintf(stderr, "airlock: %s: FAILED: %s\n", argv[i], e.msg);
			bad = 1;
		} else {
			printf("%s: OK: ceremony %s (%s), %zu outputs intact, "
			    "signed by %s (key SHA-256 %s)%s%s\n", argv[i],
			    info.ceremony, info.type, info.n_outputs,
			    info.signer_file, info.signer_sha256, who,
			    info.rehearsal ? " [REHEARSAL]" : "");
		}
		/* Safe either way: a failed verify leaves info empty. */
		transcript_info_free(&info);
		free(copy);
	}
	X509_free(root);
	return bad;
}

static int
cmd_profile_check(int argc, char **argv)
{
	int i, bad = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct profile p;
		diag_t d;
		err_t e;

		diag_init(&d);
		err_clear(&e);
		if (profile_load(argv[i], &p, &d, &e) != 0) {
			if (d.n > 0)
				diag_print(&d, stderr, "");
			else
				fprintf(stderr, "airlock: %s\n", e.msg);
			bad = 1;
		} else {
			printf("%s: OK: profile %s, issuer %s, quorum %d%s\n",
			    argv[i], p.name, p.issuer, p.quorum,
			    p.enabled ? "" : " (disabled)");
			profile_free(&p);
		}
		diag_free(&d);
	}
	return bad;
}

static int
cmd_init(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state", required_argument, NULL, 's' },
		{ "ceremonies", required_argument, NULL, 'c' },
		{ "root-sha256", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct import_opts o;
	const char *roots[16];
	const char *state = NULL;
	char db[4200];
	err_t e;
	int c;

	memset(&o, 0, sizeof(o));
	err_clear(&e);
	while ((c = getopt_long(argc, argv, "s:c:R:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'c': o.ceremony_dir = optarg; break;
		case 'R':
			if (o.n_root_sha256 == sizeof(roots) / sizeof(roots[0])) {
				fprintf(stderr, "airlock: too many --root-sha256\n");
				return 2;
			}
			roots[o.n_root_sha256++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (state == NULL || o.ceremony_dir == NULL || optind != argc) {
		fprintf(stderr, "airlock: init needs --state DIR and "
		    "--ceremonies DIR\n");
		return 2;
	}
	if (fileio_mkdirs(state, 0700, &e) != 0 ||
	    fileio_join(db, sizeof(db), state, "airlock.db", &e) != 0)
		return fail(&e);
	o.db_path = db;
	o.root_sha256 = roots;
	o.say = say_stdout;
	if (import_run(&o, &e) != 0)
		return fail(&e);
	return 0;
}

int
main(int argc, char **argv)
{
	struct rlimit no_core = { 0, 0 };

	/* PINs pass through this process: never let them reach a core file. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "ceremony") == 0 && argc >= 3) {
		if (strcmp(argv[2], "run") == 0)
			return cmd_ceremony_run(argc - 2, argv + 2);
		if (strcmp(argv[2], "check") == 0)
			return cmd_ceremony_check(argc - 2, argv + 2);
		if (strcmp(argv[2], "verify") == 0)
			return cmd_ceremony_verify(argc - 2, argv + 2);
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "profile") == 0 && argc >= 3 &&
	    strcmp(argv[2], "check") == 0)
		return cmd_profile_check(argc - 2, argv + 2);
	if (strcmp(argv[1], "bundle") == 0 && argc >= 3)
		return cmd_bundle(argc - 2, argv + 2);
	if (strcmp(argv[1], "activate") == 0)
		return cmd_activate(argc - 1, argv + 1);
	if (strcmp(argv[1], "deactivate") == 0)
		return cmd_deactivate(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "batch") == 0 && argc >= 3 &&
	    strcmp(argv[2], "revoke") == 0)
		return cmd_batch_revoke(argc - 2, argv + 2);
	if (strcmp(argv[1], "batch") == 0)
		return cmd_batch(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "crl") == 0)
		return cmd_crl(argc - 1, argv + 1);
	if (strcmp(argv[1], "lockout") == 0)
		return cmd_lockout(argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return cmd_revoke(argc - 1, argv + 1);
	if (strcmp(argv[1], "revocation") == 0)
		return cmd_revocation(argc - 1, argv + 1);
	if (strcmp(argv[1], "cert") == 0)
		return cmd_cert(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0) {
		printf("airlock %s\n", AIRLOCK_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "airlock: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
