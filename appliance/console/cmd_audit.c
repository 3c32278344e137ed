/*
 * cmd_audit.c: `airlock audit verify|show|report` on a log file
 * (cmd_audit.h).
 *
 * These verbs read a copy of the audit log and need neither the daemon
 * nor the HSM: an auditor runs them on a workstation. verify is the one
 * that proves anything; show and report read the records as they are and
 * say so. Exit codes: 0 success (verify: the log verifies), 1 a problem
 * found (verify) or lines skipped (show, report), 2 a usage error or a
 * certificate or log that cannot be read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audit/query.h"
#include "audit/record.h"
#include "audit/verify.h"
#include "console/cmd_audit.h"
#include "console/cmd_daemon.h"
#include "ctl/ctl.h"
#include "pki/pkiutil.h"
#include "util/buf.h"
#include "util/err.h"

/* Output is written out whenever this much has collected. */
#define CA_FLUSH (1u << 20)
/* Most output collected before a flush (one record or the end rows). */
#define CA_OUT_MAX (256u << 20)

enum {
	OPT_CERT = 256, OPT_FOLLOWS, OPT_QUIET, OPT_SINCE, OPT_UNTIL,
	OPT_ACTOR, OPT_ACTION, OPT_ROLE, OPT_OUTCOME, OPT_BATCH, OPT_SERIAL,
	OPT_OBJECT, OPT_FORMAT, OPT_HELP
};

static const struct option ca_verify_opts[] = {
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "follows", required_argument, NULL, OPT_FOLLOWS },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* show takes all of these; report all but --format. */
static const struct option ca_show_opts[] = {
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "actor", required_argument, NULL, OPT_ACTOR },
	{ "action", required_argument, NULL, OPT_ACTION },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "outcome", required_argument, NULL, OPT_OUTCOME },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "object", required_argument, NULL, OPT_OBJECT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ NULL, 0, NULL, 0 }
};

static void
ca_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock audit verify LOG --cert AUDIT-CERT.pem "
	    "[--follows EARLIER-LOG] [--quiet]\n"
	    "       airlock audit show LOG [--since T] [--until T] "
	    "[--actor A] [--action A]\n"
	    "                      [--role R] [--outcome O] [--batch N] "
	    "[--serial HEX]\n"
	    "                      [--object KEY=VALUE] "
	    "[--format text|csv|json]\n"
	    "       airlock audit report approvals|issuance|rejections|crls "
	    "LOG [FILTERS]\n"
	    "       airlock audit export [--socket PATH]\n"
	    "Without LOG, verify, show and report read the appliance's own "
	    "log through\n"
	    "airlockd (--socket PATH or AIRLOCK_SOCKET names its socket).\n"
	    "T is YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD. show and report do not "
	    "verify the log:\n"
	    "run verify first. See docs/formats/audit.md.\n");
}

/*
 * What messages call the log: its path, or for the copy fetched from
 * the appliance (cmd_audit_daemon) what it is, not the temporary file.
 */
static const char *ca_shown_name;

static const char *
ca_name(const char *path)
{
	return ca_shown_name != NULL ? ca_shown_name : path;
}

/*
 * How many operands (not options nor their arguments) argv holds after
 * argv[1], the subcommand. An option this verb does not know is taken to
 * carry the next word when that is not an option, so that a daemon
 * verb's own options (cmd_audit_daemon) do not pass for a FILE.
 */
static int
ca_operands(int argc, char **argv, const struct option *lo)
{
	int i, n = 0;

	for (i = 2; i < argc; i++) {
		const struct option *o;
		size_t len;

		if (strcmp(argv[i], "--") == 0)
			return n + argc - i - 1;
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			n++;
			continue;
		}
		if (strchr(argv[i], '=') != NULL)
			continue;
		len = strlen(argv[i] + 2);
		for (o = lo; o->name != NULL; o++)
			if (strncmp(o->name, argv[i] + 2, len) == 0 &&
			    o->name[len] == '\0')
				break;
		if ((o->name == NULL || o->has_arg == required_argument) &&
		    i + 1 < argc && (o->name != NULL || argv[i + 1][0] != '-'))
			i++;
	}
	return n;
}

/*
 * Copies the appliance's log, read through the daemon a range at a time
 * (audit-text), into a new private file; its path goes to path. 0, or 1
 * with the reason said.
 */
static int
ca_fetch(char *path, size_t pathsz)
{
	const char *tmp = getenv("TMPDIR");
	int64_t from = 1, next;
	FILE *f;
	int fd;

	snprintf(path, pathsz, "%s/airlock-audit.XXXXXX", tmp != NULL &&
	    *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "airlock: cannot make a file for the log in "
		    "%s\n", path);
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return 1;
	}
	do {
		struct ctl_msg reply;
		const unsigned char *text;
		char v[32];
		size_t len = 0;

		snprintf(v, sizeof(v), "%lld", (long long)from);
		if (cmd_simple("audit-text", "from", v, NULL, NULL,
		    &reply) != 0)
			goto fail;
		if (ctl_get_str(&reply, "status") == NULL ||
		    strcmp(ctl_get_str(&reply, "status"), "ok") != 0) {
			(void)cmd_finish(&reply);
			ctl_msg_free(&reply);
			goto fail;
		}
		text = ctl_get(&reply, "text", &len);
		next = 0;
		(void)ctl_get_int(&reply, "next", &next);
		if (text != NULL && fwrite(text, 1, len, f) != len) {
			ctl_msg_free(&reply);
			fprintf(stderr, "airlock: cannot write %s\n", path);
			goto fail;
		}
		ctl_msg_free(&reply);
		from = next;
	} while (from > 0);
	if (fclose(f) != 0) {
		f = NULL;
		fprintf(stderr, "airlock: cannot write %s\n", path);
		goto fail;
	}
	return 0;
fail:
	if (f != NULL)
		fclose(f);
	unlink(path);
	return 1;
}

/*
 * Takes --socket PATH (or --socket=PATH) out of argv, as every verb that
 * talks to the daemon takes it; the rest keeps its order. The new argc,
 * or -1 when --socket lacks its PATH.
 */
static int
ca_take_socket(int argc, char **argv)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0) {
			if (i + 1 >= argc)
				return -1;
			cmd_socket_path = argv[++i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			cmd_socket_path = argv[i] + 9;
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	return n;
}

int
cmd_audit_daemon(int argc, char **argv)
{
	char path[4200], **av;
	int i, r;

	if ((argc = ca_take_socket(argc, argv)) < 0) {
		fprintf(stderr, "airlock: --socket needs the daemon's socket "
		    "path\n");
		return 2;
	}
	if (argc > 1 && strcmp(argv[1], "export") == 0) {
		if (argc != 2) {
			fprintf(stderr, "usage: airlock audit export "
			    "[--socket PATH]\n");
			return 2;
		}
		return cmd_simple("audit-export", NULL, NULL, NULL, NULL, NULL);
	}
	if (argc < 2 || (strcmp(argv[1], "show") != 0 &&
	    strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "report") != 0)) {
		ca_usage(stderr);
		return 2;
	}
	/* The appliance's own log: the same code as for a FILE. */
	if (ca_fetch(path, sizeof(path)) != 0)
		return 1;
	if ((av = calloc((size_t)argc + 2, sizeof(*av))) == NULL) {
		unlink(path);
		return 1;
	}
	for (i = 0; i < argc; i++)
		av[i] = argv[i];
	av[argc] = path;
	ca_shown_name = "the appliance's audit log";
	r = cmd_audit(argc + 1, av);
	ca_shown_name = NULL;
	free(av);
	unlink(path);
	return r;
}

/* Writes out what has collected and empties it; 0 or -1. */
static int
ca_flush(buf_t *out)
{
	if (out->len > 0 && fwrite(out->data, 1, out->len, stdout) !=
	    out->len) {
		fprintf(stderr, "airlock: cannot write to standard output\n");
		return -1;
	}
	buf_reset(out);
	return 0;
}

/* --- verify ------------------------------------------------------------ */

static int
ca_verify(int argc, char **argv)
{
	const char *cert_path = NULL, *follows = NULL, *path;
	struct audit_verify_result res;
	char sha[AUDIT_HASH_HEX];
	X509 *cert = NULL;
	EVP_PKEY *pub;
	diag_t d;
	buf_t out;
	err_t e;
	int c, quiet = 0, rc, type;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", ca_verify_opts, NULL)) != -1) {
		switch (c) {
		case OPT_CERT: cert_path = optarg; break;
		case OPT_FOLLOWS: follows = optarg; break;
		case OPT_QUIET: quiet = 1; break;
		case OPT_HELP: ca_usage(stdout); return 0;
		default: ca_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || cert_path == NULL) {
		fprintf(stderr, "airlock: audit verify needs one LOG and --cert "
		    "AUDIT-CERT.pem\n");
		ca_usage(stderr);
		return 2;
	}
	path = argv[optind];
	err_clear(&e);
	if (pki_load_cert_file(cert_path, &cert, &e) != 0) {
		fprintf(stderr, "airlock: %s: %s\n", cert_path, e.msg);
		return 2;
	}
	pub = X509_get0_pubkey(cert);
	type = pub != NULL ? EVP_PKEY_get_base_id(pub) : 0;
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
		fprintf(stderr, "airlock: %s: the audit certificate's key is "
		    "neither RSA nor EC\n", cert_path);
		X509_free(cert);
		return 2;
	}
	if (pki_cert_sha256_hex(cert, sha) != 0) {
		fprintf(stderr, "airlock: %s: cannot compute its SHA-256\n",
		    cert_path);
		X509_free(cert);
		return 2;
	}
	diag_init(&d);
	rc = audit_verify_file_as(path, ca_name(path), pub, sha, follows, &res,
	    &d, &e);
	X509_free(cert);
	if (rc != 0) {
		diag_print(&d, stdout, "");
		diag_free(&d);
		fprintf(stderr, "airlock: %s\n", e.msg);
		return 2;
	}
	diag_print(&d, stdout, "");
	diag_free(&d);
	if (!quiet) {
		buf_init(&out, 64 * 1024);
		(void)audit_verify_summary(&res, ca_name(path), &out);
		(void)ca_flush(&out);
		buf_free(&out);
	}
	fflush(stdout);
	return res.ok ? 0 : 1;
}

/* --- show and report ------------------------------------------------------ */

/* Parses the filter options (and --format); 0, 1 (help shown) or 2. */
static int
ca_filters(int argc, char **argv, int with_format, struct audit_filter *f,
    enum audit_fmt *fmt, char *objkey, size_t objkeysz)
{
	err_t e;
	char *eq;
	int c;

	memset(f, 0, sizeof(*f));
	*fmt = AUDIT_FMT_TEXT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", ca_show_opts, NULL)) != -1) {
		err_clear(&e);
		switch (c) {
		case OPT_SINCE:
			if (audit_filter_time(optarg, 0, &f->since, &e) != 0)
				goto bad_time;
			break;
		case OPT_UNTIL:
			if (audit_filter_time(optarg, 1, &f->until, &e) != 0)
				goto bad_time;
			break;
		case OPT_ACTOR: f->actor = optarg; break;
		case OPT_ACTION: f->action = optarg; break;
		case OPT_ROLE: f->role = optarg; break;
		case OPT_OUTCOME: f->outcome = optarg; break;
		case OPT_BATCH: f->batch = optarg; break;
		case OPT_SERIAL: f->serial = optarg; break;
		case OPT_OBJECT:
			if ((eq = strchr(optarg, '=')) == NULL ||
			    eq == optarg || (size_t)(eq - optarg) >= objkeysz) {
				fprintf(stderr, "airlock: --object takes "
				    "KEY=VALUE\n");
				return 2;
			}
			memcpy(objkey, optarg, (size_t)(eq - optarg));
			objkey[eq - optarg] = '\0';
			f->object_key = objkey;
			f->object_value = eq + 1;
			break;
		case OPT_FORMAT:
			if (with_format && audit_fmt_parse(optarg, fmt) == 0)
				break;
			fprintf(stderr, "airlock: %s\n", with_format ?
			    "--format is text, csv or json" : "a report is "
			    "always CSV: no --format");
			return 2;
		case OPT_HELP:
			ca_usage(stdout);
			return 1;
		default:
			ca_usage(stderr);
			return 2;
		}
	}
	return 0;
bad_time:
	fprintf(stderr, "airlock: %s\n", e.msg);
	return 2;
}

/* Receives each record that passes the filter. 0 or ERR_*. */
typedef int (*ca_record_fn)(void *ctx, const struct audit_record *r,
    buf_t *out);

/*
 * Reads the log at path, parses every record line and hands those that
 * pass f to fn, writing out as it fills. Checkpoints are skipped, and so
 * is every line that does not parse, each said on stderr. 0 when every
 * line was read, 1 when some were skipped, 2 when the log cannot be read.
 */
static int
ca_each(const char *path, const struct audit_filter *f, ca_record_fn fn,
    void *ctx, buf_t *out)
{
	struct audit_reader *rd;
	struct audit_checkpoint cp;
	struct audit_record r;
	enum audit_line_kind kind;
	unsigned long lineno = 0, skipped = 0;
	const char *line;
	char *copy;
	size_t len;
	err_t e;

	err_clear(&e);
	if (audit_reader_open(path, &rd, &e) != 0) {
		fprintf(stderr, "airlock: %s\n", e.msg);
		return 2;
	}
	if ((copy = malloc(AUDIT_LINE_MAX)) == NULL) {
		audit_reader_close(rd);
		fprintf(stderr, "airlock: out of memory\n");
		return 2;
	}
	for (;;) {
		int rc;

		err_clear(&e);
		if ((rc = audit_reader_next(rd, &line, &len, &lineno, &e)) == 0)
			break;
		if (rc == 1) {
			memcpy(copy, line, len);
			rc = audit_line_parse(copy, len, &kind, &r, &cp, &e);
		}
		if (rc == ERR_IO) {
			fprintf(stderr, "airlock: %s: %s\n", ca_name(path),
			    e.msg);
			skipped++;
			break;
		}
		if (rc != 0) {
			fprintf(stderr, "airlock: %s:%lu: skipped: %s\n",
			    ca_name(path), lineno, e.msg);
			skipped++;
			continue;
		}
		if (kind != AUDIT_LINE_RECORD || !audit_filter_match(f, &r))
			continue;
		if (fn(ctx, &r, out) != 0) {
			fprintf(stderr, "airlock: %s:%lu: no room for the "
			    "output\n", ca_name(path), lineno);
			skipped++;
			break;
		}
		if (out->len >= CA_FLUSH && ca_flush(out) != 0) {
			skipped++;
			break;
		}
	}
	free(copy);
	audit_reader_close(rd);
	return skipped > 0 ? 1 : 0;
}

static void
ca_not_verified(const char *path)
{
	if (ca_shown_name != NULL) {
		fprintf(stderr, "airlock: %s is shown as it is, not verified; "
		    "check it with: airlock audit verify --cert "
		    "AUDIT-CERT.pem\n", ca_shown_name);
		return;
	}
	fprintf(stderr, "airlock: %s is shown as it is, not verified; check "
	    "it with: airlock audit verify %s --cert AUDIT-CERT.pem\n", path,
	    path);
}

struct ca_show {
	enum audit_fmt fmt;
	unsigned long shown;
};

static int
ca_show_one(void *ctx, const struct audit_record *r, buf_t *out)
{
	struct ca_show *s = ctx;

	return audit_show_record(s->fmt, s->shown++, r, out);
}

static int
ca_show(int argc, char **argv)
{
	char objkey[AUDIT_WORD_MAX + 1];
	struct audit_filter f;
	struct ca_show s;
	buf_t out;
	int rc;

	if ((rc = ca_filters(argc, argv, 1, &f, &s.fmt, objkey,
	    sizeof(objkey))) != 0)
		return rc == 1 ? 0 : 2;
	if (optind != argc - 1) {
		ca_usage(stderr);
		return 2;
	}
	ca_not_verified(argv[optind]);
	s.shown = 0;
	buf_init(&out, CA_OUT_MAX);
	(void)audit_show_header(s.fmt, &out);
	rc = ca_each(argv[optind], &f, ca_show_one, &s, &out);
	if (rc != 2) {
		(void)audit_show_footer(s.fmt, s.shown, &out);
		if (ca_flush(&out) != 0)
			rc = 1;
	}
	buf_free(&out);
	fflush(stdout);
	return rc;
}

static int
ca_report_one(void *ctx, const struct audit_record *r, buf_t *out)
{
	return audit_report_add(ctx, r, out);
}

static int
ca_report(int argc, char **argv)
{
	char objkey[AUDIT_WORD_MAX + 1];
	enum audit_report_kind kind;
	struct audit_report *rep;
	struct audit_filter f;
	enum audit_fmt fmt;
	buf_t out;
	err_t e;
	int rc;

	if ((rc = ca_filters(argc, argv, 0, &f, &fmt, objkey,
	    sizeof(objkey))) != 0)
		return rc == 1 ? 0 : 2;
	if (optind != argc - 2 ||
	    audit_report_kind_parse(argv[optind], &kind) != 0) {
		fprintf(stderr, "airlock: audit report needs a KIND "
		    "(approvals, issuance, rejections, crls) and a LOG\n");
		ca_usage(stderr);
		return 2;
	}
	ca_not_verified(argv[optind + 1]);
	err_clear(&e);
	if (audit_report_new(kind, &rep, &e) != 0) {
		fprintf(stderr, "airlock: %s\n", e.msg);
		return 2;
	}
	buf_init(&out, CA_OUT_MAX);
	(void)audit_report_header(rep, &out);
	rc = ca_each(argv[optind + 1], &f, ca_report_one, rep, &out);
	if (rc != 2) {
		if (audit_report_end(rep, &out) != 0) {
			fprintf(stderr, "airlock: the report does not fit in "
			    "%u MiB\n", CA_OUT_MAX >> 20);
			rc = 1;
		}
		if (ca_flush(&out) != 0)
			rc = 1;
	}
	audit_report_free(rep);
	buf_free(&out);
	fflush(stdout);
	return rc;
}

int
cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		ca_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    ((strcmp(argv[1], "verify") == 0 || strcmp(argv[1], "show") == 0 ||
	    strcmp(argv[1], "report") == 0) && argc == 3 &&
	    strcmp(argv[2], "--help") == 0)) {
		ca_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "verify") == 0 &&
	    ca_operands(argc, argv, ca_verify_opts) > 0)
		return ca_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0 &&
	    ca_operands(argc, argv, ca_show_opts) > 0)
		return ca_show(argc - 1, argv + 1);
	/* The KIND is an operand too: a FILE makes two. */
	if (strcmp(argv[1], "report") == 0 &&
	    ca_operands(argc, argv, ca_show_opts) > 1)
		return ca_report(argc - 1, argv + 1);
	return cmd_audit_daemon(argc, argv);
}
