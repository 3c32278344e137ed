/*
 * cmd_cert.c: `airlock cert list|show` and `airlock report` (cmd_cert.h).
 *
 * The console only carries the options to airlockd and writes what comes
 * back. A list larger than one reply comes in pages: without --limit the
 * console asks for page after page, each from where the last ended, and
 * writes them one after the other, so memory holds one page at a time
 * on standard output. --out FILE collects the whole output first and
 * writes it with fileio_create (complete or not at all), up to
 * CC_OUT_MAX; a larger list goes to standard output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/cmd_cert.h"
#include "console/cmd_daemon.h"
#include "ctl/ctl.h"
#include "util/buf.h"
#include "util/fileio.h"

/* Most bytes --out collects before it writes the file. */
#define CC_OUT_MAX (256u << 20)

/* Where the output goes: standard output as it comes, or one file. */
struct cc_sink {
	const char *path;
	buf_t buf;
};

static void
cc_sink_init(struct cc_sink *s, const char *path)
{
	s->path = path;
	buf_init(&s->buf, CC_OUT_MAX);
}

static int
cc_sink_put(struct cc_sink *s, const unsigned char *p, size_t n, err_t *e)
{
	if (s->path == NULL)
		return fwrite(p, 1, n, stdout) == n ? 0 : err_set(e, ERR_IO,
		    "cannot write to standard output");
	if (buf_put(&s->buf, p, n) != 0)
		return err_set(e, ERR_LIMIT, "more than %u MiB for --out: write "
		    "to standard output instead, or narrow the list",
		    CC_OUT_MAX >> 20);
	return 0;
}

/* Writes the file (when --out) and frees; 0 or ERR_*. */
static int
cc_sink_close(struct cc_sink *s, int ok, err_t *e)
{
	int r = 0;

	if (ok && s->path != NULL)
		r = fileio_create(s->path, s->buf.data ? s->buf.data :
		    (const unsigned char *)"", s->buf.len, 0644, e);
	buf_free(&s->buf);
	return r;
}

/*
 * Sends req; on an ok reply appends its text or data to the sink and
 * leaves the reply in *reply (freed by the caller). 0, 1 when the daemon
 * refused (message printed), or ERR_* in e.
 */
static int
cc_ask(const struct ctl_msg *req, struct ctl_msg *reply, struct cc_sink *s,
    err_t *e)
{
	const unsigned char *v;
	const char *status;
	size_t len;
	int r;

	if ((r = cmd_call(req, reply, e)) != 0)
		return r;
	status = ctl_get_str(reply, "status");
	if (status == NULL || strcmp(status, "ok") != 0)
		return cmd_finish(reply) == 0 ? 0 : 1;
	if ((v = ctl_get(reply, "text", &len)) == NULL &&
	    (v = ctl_get(reply, "data", &len)) == NULL)
		return err_set(e, ERR_PROTO, "the daemon's reply holds nothing "
		    "to write");
	return cc_sink_put(s, v, len, e);
}

/* Ends a verb: the exit code of r, with its message when it is ERR_*. */
static int
cc_exit(int r, const err_t *e)
{
	if (r < 0)
		fprintf(stderr, "airlock: %s\n", e->msg);
	return r == 0 ? 0 : 1;
}

/* Options that become request fields as they are. */
struct cc_field {
	const char *key;
	const char *val;
};

enum {
	OPT_SERIAL = 256, OPT_BATCH, OPT_MAC, OPT_SUBJECT, OPT_STATUS,
	OPT_PROFILE, OPT_CA, OPT_KIND, OPT_EXPIRES, OPT_LIMIT, OPT_OFFSET,
	OPT_FORMAT, OPT_OUT, OPT_SOCKET, OPT_PEM, OPT_DAYS, OPT_SUMMARY,
	OPT_BY_MONTH
};

static const struct option cc_opts[] = {
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "subject", required_argument, NULL, OPT_SUBJECT },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "expires-within", required_argument, NULL, OPT_EXPIRES },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "pem", no_argument, NULL, OPT_PEM },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "by-month", no_argument, NULL, OPT_BY_MONTH },
	{ NULL, 0, NULL, 0 }
};

/* The request field each option fills (NULL: handled by the verb). */
static const char *
cc_key(int opt)
{
	switch (opt) {
	case OPT_SERIAL: return "serial";
	case OPT_BATCH: return "batch";
	case OPT_MAC: return "mac";
	case OPT_SUBJECT: return "subject";
	case OPT_STATUS: return "status";
	case OPT_PROFILE: return "profile";
	case OPT_CA: return "ca";
	case OPT_KIND: return "kind";
	case OPT_EXPIRES: return "expires-within";
	case OPT_LIMIT: return "limit";
	case OPT_OFFSET: return "offset";
	case OPT_FORMAT: return "format";
	case OPT_DAYS: return "days";
	default: return NULL;
	}
}

/* What the command line said. */
struct cc_args {
	struct cc_field f[24];
	size_t n;
	const char *out, *format, *limit, *offset;
	int pem, summary, by_month;
	unsigned seen;			/* bit per option, from OPT_SERIAL */
};

/* Parses argv (argv[0] the verb word); -1 on a usage error, else optind. */
static int
cc_parse(int argc, char **argv, struct cc_args *a)
{
	const char *key;
	int c;

	memset(a, 0, sizeof(*a));
	a->format = "text";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", cc_opts, NULL)) != -1) {
		if (c < OPT_SERIAL)
			return -1;
		if (a->seen & (1u << (c - OPT_SERIAL))) {
			fprintf(stderr, "airlock: an option is given twice\n");
			return -1;
		}
		a->seen |= 1u << (c - OPT_SERIAL);
		switch (c) {
		case OPT_OUT: a->out = optarg; continue;
		case OPT_SOCKET: cmd_socket_path = optarg; continue;
		case OPT_PEM: a->pem = 1; continue;
		case OPT_SUMMARY: a->summary = 1; continue;
		case OPT_BY_MONTH: a->by_month = 1; continue;
		case OPT_FORMAT: a->format = optarg; break;
		case OPT_LIMIT: a->limit = optarg; break;
		case OPT_OFFSET: a->offset = optarg; continue;
		default: break;
		}
		if ((key = cc_key(c)) != NULL &&
		    a->n < sizeof(a->f) / sizeof(a->f[0])) {
			a->f[a->n].key = key;
			a->f[a->n++].val = optarg;
		}
	}
	return optind;
}

/* Only these options (a mask of OPT_* bits) may be given. */
static int
cc_only(const struct cc_args *a, unsigned allowed)
{
	if (a->seen & ~allowed) {
		fprintf(stderr, "airlock: an option does not apply here\n");
		return -1;
	}
	return 0;
}

#define BIT(o) (1u << ((o) - OPT_SERIAL))
#define COMMON (BIT(OPT_FORMAT) | BIT(OPT_OUT) | BIT(OPT_SOCKET))

/* A request of cmd with the fields of a. */
static void
cc_request(struct ctl_msg *req, const char *cmd, const struct cc_args *a)
{
	size_t i;

	ctl_msg_init(req, CTL_REQUEST_MAX);
	(void)ctl_put_str(req, "cmd", cmd);
	for (i = 0; i < a->n; i++)
		(void)ctl_put_str(req, a->f[i].key, a->f[i].val);
}

static int
cc_list(const struct cc_args *a)
{
	struct ctl_msg req, reply;
	struct cc_sink s;
	int64_t more = 1, next = 0, rows = 0, next_offset = 0;
	err_t e;
	int r = 0;

	err_clear(&e);
	cc_sink_init(&s, a->out);
	while (r == 0 && more) {
		cc_request(&req, "cert-list", a);
		/*
		 * Without --limit, every page: each asks from where the last
		 * ended (next); --offset applies to the first only.
		 */
		if (a->limit == NULL)
			(void)ctl_put_str(&req, "paged", "1");
		if (next != 0)
			(void)ctl_put_int(&req, "after", next);
		else if (a->offset != NULL)
			(void)ctl_put_str(&req, "offset", a->offset);
		r = cc_ask(&req, &reply, &s, &e);
		ctl_msg_free(&req);
		if (r == 0 && (ctl_get_int(&reply, "more", &more) != 0 ||
		    ctl_get_int(&reply, "next", &next) != 0 ||
		    ctl_get_int(&reply, "rows", &rows) != 0 ||
		    ctl_get_int(&reply, "next-offset", &next_offset) != 0))
			r = err_set(&e, ERR_PROTO, "the daemon's reply lacks "
			    "its paging fields");
		ctl_msg_free(&reply);
		if (r == 0 && more && a->limit != NULL) {
			/* One page asked for: say how to get the next. */
			if (strcmp(a->format, "text") != 0)
				fprintf(stderr, "airlock: %lld rows written; more "
				    "match: --offset %lld\n", (long long)rows,
				    (long long)next_offset);
			break;
		}
	}
	r = cc_sink_close(&s, r == 0, &e) != 0 && r == 0 ? ERR_IO : r;
	return cc_exit(r, &e);
}

static int
cc_show(const struct cc_args *a, const char *serial)
{
	struct ctl_msg req, reply;
	struct cc_sink s;
	err_t e;
	int r;

	err_clear(&e);
	cc_sink_init(&s, a->out);
	cc_request(&req, "cert-show", a);
	(void)ctl_put_str(&req, "serial", serial);
	if (a->pem)
		(void)ctl_put_str(&req, "pem", "1");
	r = cc_ask(&req, &reply, &s, &e);
	ctl_msg_free(&req);
	ctl_msg_free(&reply);
	r = cc_sink_close(&s, r == 0, &e) != 0 && r == 0 ? ERR_IO : r;
	return cc_exit(r, &e);
}

static void
cc_cert_usage(void)
{
	fprintf(stderr,
	    "usage: airlock cert list [--serial S] [--batch ID] [--mac M] "
	    "[--subject TEXT]\n"
	    "           [--status valid|revoked|hold|expired] [--profile P] "
	    "[--ca NAME]\n"
	    "           [--kind ca|person|appliance|device] "
	    "[--expires-within DAYS]\n"
	    "           [--limit N] [--offset N] [--format text|csv|json] "
	    "[--out FILE]\n"
	    "       airlock cert show SERIAL [--ca NAME] [--pem] "
	    "[--format text|csv|json]\n"
	    "           [--out FILE]\n"
	    "Every verb also takes --socket PATH.\n");
}

int
cmd_cert(int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "";
	struct cc_args a;
	int i;

	if (strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0) {
		if ((i = cc_parse(argc - 1, argv + 1, &a)) < 0)
			goto usage;
		if (verb[0] == 'l' && i == argc - 1 &&
		    cc_only(&a, ~(BIT(OPT_PEM) | BIT(OPT_DAYS) |
		    BIT(OPT_SUMMARY) | BIT(OPT_BY_MONTH))) == 0)
			return cc_list(&a);
		if (verb[0] == 's' && i + 1 == argc - 1 &&
		    cc_only(&a, COMMON | BIT(OPT_CA) | BIT(OPT_PEM)) == 0)
			return cc_show(&a, argv[i + 1]);
	}
usage:
	cc_cert_usage();
	return 2;
}

int
cmd_report(int argc, char **argv)
{
	struct ctl_msg req, reply;
	struct cc_args a;
	struct cc_sink s;
	const char *name = argc >= 2 ? argv[1] : "";
	unsigned allowed = COMMON;
	err_t e;
	int i, r;

	if (strcmp(name, "expiring") == 0)
		allowed |= BIT(OPT_DAYS) | BIT(OPT_SUMMARY);
	else if (strcmp(name, "issuance") == 0)
		allowed |= BIT(OPT_BY_MONTH);
	else if (strcmp(name, "algorithms") != 0)
		goto usage;
	if ((i = cc_parse(argc - 1, argv + 1, &a)) < 0 || i != argc - 1 ||
	    cc_only(&a, allowed) != 0)
		goto usage;
	err_clear(&e);
	cc_sink_init(&s, a.out);
	cc_request(&req, "report", &a);
	(void)ctl_put_str(&req, "name", name);
	if (a.summary)
		(void)ctl_put_str(&req, "summary", "1");
	if (a.by_month)
		(void)ctl_put_str(&req, "by-month", "1");
	r = cc_ask(&req, &reply, &s, &e);
	ctl_msg_free(&req);
	ctl_msg_free(&reply);
	r = cc_sink_close(&s, r == 0, &e) != 0 && r == 0 ? ERR_IO : r;
	return cc_exit(r, &e);
usage:
	fprintf(stderr,
	    "usage: airlock report expiring [--days N] [--summary] "
	    "[--format text|csv|json] [--out FILE]\n"
	    "       airlock report issuance [--by-month] "
	    "[--format text|csv|json] [--out FILE]\n"
	    "       airlock report algorithms [--format text|csv|json] "
	    "[--out FILE]\n"
	    "Every report also takes --socket PATH.\n");
	return 2;
}
