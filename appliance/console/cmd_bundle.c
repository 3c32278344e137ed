/*
 * cmd_bundle.c: `airlock bundle create`, which makes a request bundle on
 * the operator's workstation (see cmd_bundle.h and airlock(1)).
 *
 * Like main.c, this file only parses arguments, reads secrets from where
 * the operator said, prints, and chooses exit codes; operator/bundle_make
 * does the work. Everything that can be refused without a secret is
 * refused before any prompt, so that nobody types a password for a
 * command that was going to fail anyway.
 */
#include "console/cmd_bundle.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/signeropt.h"
#include "ingest/manifest.h"
#include "operator/bundle_make.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/secret.h"

static void
bundle_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock bundle create --profile NAME --name BATCH-NAME\n"
	    "           [--description TEXT]\n"
	    "           (--mac-range START:COUNT[:INCREMENT] | --csr PATH... |\n"
	    "            --csv FILE [--csr PATH...])\n"
	    "           --format smpb|pkcs12|pem-zip|pem-json|der-zip|pkcs7\n"
	    "           [--chain separate|with-intermediate|"
	    "with-root-and-intermediate]\n"
	    "           [--results-log csv|json] [--recipient CERT.pem]\n"
	    "           [--p12-password SOURCE] [--p12-encryption modern|compat]\n"
	    SIGNEROPT_USAGE
	    "           [--id UUID] [--pem] --out FILE\n"
	    "\n"
	    "SOURCE is where a password, passphrase or PIN comes from:\n"
	    "prompt (the default), fd:N, or file:PATH (a file only its owner\n"
	    "can read). See airlock(1) and docs/formats/bundle.md.\n");
}

/* Index of word among an enum's names (name_of(i) for i < n), or -1. */
static int
bundle_word(const char *word, const char *(*name_of)(int), int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(word, name_of(i)) == 0)
			return i;
	return -1;
}

/* The manifest's name functions take enums; these adapt them. */
static const char *fmt_name(int i) { return manifest_format_name(i); }
static const char *chain_name(int i) { return manifest_chain_name(i); }
static const char *log_name(int i) { return manifest_log_name(i); }
static const char *p12_name(int i) { return manifest_p12_name(i); }

/* bad_word names an option by its row: the first rows follow this order. */
enum {
	OPT_PROFILE = SIGNEROPT_NEXT, OPT_NAME, OPT_DESCRIPTION, OPT_MAC_RANGE,
	OPT_CSR, OPT_CSV, OPT_FORMAT, OPT_CHAIN, OPT_RESULTS_LOG, OPT_RECIPIENT,
	OPT_P12_PASSWORD, OPT_P12_ENCRYPTION, OPT_ID, OPT_PEM, OPT_OUT, OPT_HELP
};

static const struct option bundle_lo[] = {
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "description", required_argument, NULL, OPT_DESCRIPTION },
	{ "mac-range", required_argument, NULL, OPT_MAC_RANGE },
	{ "csr", required_argument, NULL, OPT_CSR },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "chain", required_argument, NULL, OPT_CHAIN },
	{ "results-log", required_argument, NULL, OPT_RESULTS_LOG },
	{ "recipient", required_argument, NULL, OPT_RECIPIENT },
	{ "p12-password", required_argument, NULL, OPT_P12_PASSWORD },
	{ "p12-encryption", required_argument, NULL, OPT_P12_ENCRYPTION },
	SIGNEROPT_LONGOPTS,
	{ "id", required_argument, NULL, OPT_ID },
	{ "pem", no_argument, NULL, OPT_PEM },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* What the command line said, before any file is read. */
struct bundle_args {
	struct bundle_make_opts o;
	const char *csr[BUNDLE_MAKE_MAX_PATHS];
	struct signeropt s;
	const char *mac_range, *p12_source, *out;
	int have_format;
};

/* Parses argv into a; 0, or 2 after printing why (usage error). */
static int
bundle_parse(int argc, char **argv, struct bundle_args *a)
{
	int c, v;

	while ((c = getopt_long(argc, argv, "", bundle_lo, NULL)) != -1) {
		if (signeropt_take(&a->s, c, optarg))
			continue;
		switch (c) {
		case OPT_PROFILE: a->o.profile = optarg; break;
		case OPT_NAME: a->o.batch_name = optarg; break;
		case OPT_DESCRIPTION: a->o.description = optarg; break;
		case OPT_MAC_RANGE: a->mac_range = optarg; break;
		case OPT_CSR:
			if (a->o.n_csr_paths == BUNDLE_MAKE_MAX_PATHS) {
				fprintf(stderr, "airlock: at most %d --csr\n",
				    BUNDLE_MAKE_MAX_PATHS);
				return 2;
			}
			a->csr[a->o.n_csr_paths++] = optarg;
			break;
		case OPT_CSV: a->o.csv_path = optarg; break;
		case OPT_FORMAT:
			if ((v = bundle_word(optarg, fmt_name, 6)) < 0)
				goto bad_word;
			a->o.format = (enum manifest_format)v;
			a->have_format = 1;
			break;
		case OPT_CHAIN:
			if ((v = bundle_word(optarg, chain_name, 3)) < 0)
				goto bad_word;
			a->o.chain = (enum manifest_chain)v;
			break;
		case OPT_RESULTS_LOG:
			if ((v = bundle_word(optarg, log_name, 2)) < 0)
				goto bad_word;
			a->o.results_log = (enum manifest_log)v;
			break;
		case OPT_RECIPIENT: a->o.recipient_path = optarg; break;
		case OPT_P12_PASSWORD: a->p12_source = optarg; break;
		case OPT_P12_ENCRYPTION:
			if ((v = bundle_word(optarg, p12_name, 2)) < 0)
				goto bad_word;
			a->o.p12_encryption = (enum manifest_p12)v;
			break;
		case OPT_ID: a->o.id = optarg; break;
		case OPT_PEM: a->o.pem = 1; break;
		case OPT_OUT: a->out = optarg; break;
		case OPT_HELP: bundle_usage(stdout); return 1;
		default: bundle_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "airlock: unexpected argument '%s'\n",
		    argv[optind]);
		return 2;
	}
	a->o.csr_paths = a->csr;
	return 0;
bad_word:
	fprintf(stderr, "airlock: --%s: '%s' is not one of the allowed "
	    "values\n", bundle_lo[c - OPT_PROFILE].name, optarg);
	bundle_usage(stderr);
	return 2;
}

/* The choices that need no file and no secret; 0 or 2 (usage). */
static int
bundle_check_args(struct bundle_args *a)
{
	const char *miss = NULL;
	int modes = (a->mac_range != NULL) + (a->o.csv_path != NULL) +
	    (a->o.csv_path == NULL && a->o.n_csr_paths > 0);
	err_t e;

	if (a->o.profile == NULL)
		miss = "--profile NAME";
	else if (a->o.batch_name == NULL)
		miss = "--name BATCH-NAME";
	else if (!a->have_format)
		miss = "--format FORMAT";
	else if (a->s.cert == NULL)
		miss = "--signer-cert CERT.pem";
	else if (a->out == NULL)
		miss = "--out FILE";
	if (miss != NULL) {
		fprintf(stderr, "airlock: bundle create needs %s\n", miss);
		return 2;
	}
	if (modes != 1) {
		fprintf(stderr, "airlock: give exactly one input: --mac-range, "
		    "--csr PATH..., or --csv FILE (with --csr for the requests "
		    "its csr_file column names)\n");
		return 2;
	}
	if (signeropt_check(&a->s) != 0)
		return 2;
	if (a->p12_source != NULL && a->o.format != MANIFEST_FORMAT_PKCS12) {
		fprintf(stderr, "airlock: --p12-password is only for --format "
		    "pkcs12\n");
		return 2;
	}
	/* Before any prompt: the password must never travel in clear. */
	if (a->o.format == MANIFEST_FORMAT_PKCS12 && a->s.encrypt_to == NULL) {
		fprintf(stderr, "airlock: a pkcs12 bundle carries its password "
		    "and must be encrypted to the appliance: give --encrypt-to "
		    "TRANSPORT.pem\n");
		return 2;
	}
	if (a->mac_range != NULL) {
		err_clear(&e);
		if (bundle_make_parse_range(a->mac_range, &a->o.range,
		    &e) != 0) {
			fprintf(stderr, "airlock: --mac-range: %s\n", e.msg);
			return 2;
		}
		a->o.mode = MANIFEST_INPUT_MAC_RANGE;
	} else {
		a->o.mode = a->o.csv_path != NULL ? MANIFEST_INPUT_CSV :
		    MANIFEST_INPUT_CSR;
	}
	return 0;
}

static int
bundle_create(int argc, char **argv)
{
	struct bundle_args a;
	secret_t *p12 = NULL;
	X509 *transport = NULL;
	buf_t out;
	err_t e;
	time_t now = time(NULL);
	int r;

	memset(&a, 0, sizeof(a));
	a.o.chain = MANIFEST_CHAIN_WITH_INTERMEDIATE;
	a.o.results_log = MANIFEST_LOG_CSV;
	a.o.p12_encryption = MANIFEST_P12_MODERN;
	if ((r = bundle_parse(argc, argv, &a)) != 0)
		return r == 1 ? 0 : r;
	if ((r = bundle_check_args(&a)) != 0)
		return r;
	err_clear(&e);
	buf_init(&out, 0);
	/* Never overwrite: say so before asking for anything. */
	if (fileio_exists(a.out)) {
		fprintf(stderr, "airlock: %s already exists; refusing to "
		    "overwrite it\n", a.out);
		return 1;
	}
	r = 1;
	if (signeropt_transport(&a.s, &transport) != 0)
		goto out;
	if (a.o.format == MANIFEST_FORMAT_PKCS12) {
		if (signeropt_secret(a.p12_source ? a.p12_source : "prompt",
		    "PKCS#12 password", &p12) != 0)
			goto out;
		a.o.p12_password = p12;
	}
	if (signeropt_make(&a.s, transport, now, &a.o, &out) != 0)
		goto out;
	if (fileio_create(a.out, out.data, out.len, 0644, &e) != 0)
		goto fail_e;
	printf("%s: bundle for profile %s, %s%s, %zu bytes\n", a.out,
	    a.o.profile, manifest_format_name(a.o.format),
	    transport != NULL ? ", encrypted to the appliance" : "", out.len);
	r = 0;
	goto out;
fail_e:
	if (e.msg[0] != '\0')
		fprintf(stderr, "airlock: %s\n", e.msg);
out:
	buf_free(&out);
	X509_free(transport);
	secret_free(p12);
	return r;
}

int
cmd_bundle(int argc, char **argv)
{
	if (argc < 1 || argv[0] == NULL) {
		bundle_usage(stderr);
		return 2;
	}
	if (strcmp(argv[0], "create") == 0)
		return bundle_create(argc, argv);
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0) {
		bundle_usage(stdout);
		return 0;
	}
	fprintf(stderr, "airlock: unknown bundle command '%s'\n", argv[0]);
	bundle_usage(stderr);
	return 2;
}
