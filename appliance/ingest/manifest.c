/*
 * manifest.c: strict parsing of a bundle's manifest.yaml (see manifest.h
 * and docs/formats/bundle.md).
 */
#include "ingest/manifest.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"
#include "util/yamldoc.h"

/*
 * Depth 8 covers the deepest key (output.pkcs12.password); nodes allow a
 * full input.files list; no value we read is longer than 4 KiB.
 */
static const struct yamldoc_limits manifest_limits = {
	.max_bytes = MANIFEST_MAX_BYTES,
	.max_depth = 8,
	.max_nodes = MANIFEST_MAX_FILES + 100,
	.max_scalar = 4096,
};

#define BATCH_NAME_MAX 128
#define BATCH_DESCRIPTION_MAX 1024
#define PROFILE_MAX 64
#define PASSWORD_MIN 8
#define PASSWORD_MAX 128

static const char *const kind_names[] = { "request", "revocation", NULL };
static const char *const input_names[] = { "mac-range", "csr", "csv", NULL };
static const char *const format_names[] = {
	"smpb", "pkcs12", "pem-zip", "pem-json", "der-zip", "pkcs7", NULL
};
static const char *const chain_names[] = {
	"separate", "with-intermediate", "with-root-and-intermediate", NULL
};
static const char *const log_names[] = { "csv", "json", NULL };
static const char *const p12_names[] = { "modern", "compat", NULL };

static const char *
name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "?";
}

const char *
manifest_kind_name(enum manifest_kind k)
{
	return name_of(kind_names, 2, (unsigned)k);
}

const char *
manifest_input_name(enum manifest_input m)
{
	return name_of(input_names, 3, (unsigned)m);
}

const char *
manifest_format_name(enum manifest_format f)
{
	return name_of(format_names, 6, (unsigned)f);
}

const char *
manifest_chain_name(enum manifest_chain c)
{
	return name_of(chain_names, 3, (unsigned)c);
}

const char *
manifest_log_name(enum manifest_log l)
{
	return name_of(log_names, 2, (unsigned)l);
}

const char *
manifest_p12_name(enum manifest_p12 p)
{
	return name_of(p12_names, 2, (unsigned)p);
}

/* Parse state: the document and a sticky out-of-memory flag. */
struct mp {
	struct yamldoc *doc;
	int nomem;
};

/* Reads a string into a fresh copy; the getter's result otherwise. */
static int
mp_str(struct mp *mp, const struct yamldoc_node *map, const char *key,
    int required, char **out, const struct yamldoc_node **node)
{
	const char *v = NULL;
	int r;

	*node = NULL;
	if ((r = yamldoc_get_node(mp->doc, map, key, required, node)) != 1)
		return r;
	if ((r = yamldoc_as_str(mp->doc, *node, &v)) != 1)
		return r;
	if ((*out = strdup(v)) == NULL) {
		mp->nomem = 1;
		return ERR_NOMEM;
	}
	return 1;
}

/*
 * Counts UTF-8 characters of text meant for people, refusing control
 * characters (newline and tab too, unless multiline) since the text is
 * shown at the console to the officers who approve the batch.
 */
static int
check_text(struct mp *mp, const struct yamldoc_node *n, const char *key,
    const char *v, size_t min, size_t max, int multiline)
{
	const unsigned char *p;
	size_t chars = 0;

	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if ((*p < 0x20 || *p == 0x7f) &&
		    !(multiline && (*p == '\n' || *p == '\t')))
			return yamldoc_error(mp->doc, n, "%s must not contain "
			    "control characters", key);
		chars += (*p & 0xc0) != 0x80;
	}
	if (chars < min || chars > max)
		return yamldoc_error(mp->doc, n, "%s must be %zu to %zu "
		    "characters", key, min, max);
	return 0;
}

/* Profile names are slugs, as in policies/ and the ceremony formats. */
static int
check_slug(struct mp *mp, const struct yamldoc_node *n, const char *key,
    const char *v, size_t max)
{
	size_t i, len = strlen(v);

	if (len == 0 || len > max)
		return yamldoc_error(mp->doc, n, "%s must be 1 to %zu "
		    "characters", key, max);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!(islower(c) || isdigit(c) || c == '-' || c == '_' ||
		    c == '.') || (i == 0 && !isalnum(c)))
			return yamldoc_error(mp->doc, n, "%s may contain only "
			    "a-z, 0-9, '-', '_' and '.', starting with a letter "
			    "or digit", key);
	}
	return 0;
}

/*
 * RFC 4122 text form, either case, stored in lower case so that a replay
 * written in upper case is still the same id. The variant must be RFC
 * 4122's and the version 1 to 8: anything else is not a generated UUID.
 */
static int
check_uuid(struct mp *mp, const struct yamldoc_node *n, const char *v,
    char out[37])
{
	size_t i;

	if (strlen(v) != 36)
		goto shape;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (v[i] != '-')
				goto shape;
		} else if (!isxdigit((unsigned char)v[i])) {
			goto shape;
		}
		out[i] = (char)tolower((unsigned char)v[i]);
	}
	out[36] = '\0';
	if (strchr("89ab", out[19]) == NULL || out[14] < '1' || out[14] > '8') {
		out[0] = '\0';
		return yamldoc_error(mp->doc, n, "id is not an RFC 4122 UUID "
		    "(version digit 1-8, variant digit 8, 9, a or b); make one "
		    "with uuidgen");
	}
	return 0;
shape:
	out[0] = '\0';
	return yamldoc_error(mp->doc, n, "id must be a UUID in RFC 4122 text "
	    "form, like 7f1c2d9e-1b2c-4d5e-8f90-0a1b2c3d4e5f");
}

/*
 * A file the manifest names must be a name the archive could hold:
 * the archive's own rules, and a regular file unless dir is set.
 */
static int
check_path(struct mp *mp, const struct yamldoc_node *n, const char *key,
    const char *v, int dir)
{
	char why[128];
	size_t len = strlen(v);

	if (archive_check_name(v, len, NULL, why, sizeof(why)) != 0)
		return yamldoc_error(mp->doc, n, "%s must be a path inside the "
		    "archive: %s", key, why);
	if (!dir && v[len - 1] == '/')
		return yamldoc_error(mp->doc, n, "%s must name a file, not a "
		    "directory", key);
	if (strcmp(v, MANIFEST_NAME) == 0)
		return yamldoc_error(mp->doc, n, "%s must not be the manifest "
		    "itself", key);
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
parse_files(struct mp *mp, const struct yamldoc_node *seq,
    struct manifest_request *q)
{
	char **sorted;
	size_t i;

	if (seq->n == 0 || seq->n > MANIFEST_MAX_FILES) {
		yamldoc_error(mp->doc, seq, "files must list 1 to %d names "
		    "(use directory for more)", MANIFEST_MAX_FILES);
		return;
	}
	if ((q->files = calloc(seq->n, sizeof(*q->files))) == NULL) {
		mp->nomem = 1;
		return;
	}
	for (i = 0; i < seq->n; i++) {
		const char *v;

		if (yamldoc_as_str(mp->doc, seq->items[i], &v) != 1 ||
		    check_path(mp, seq->items[i], "files item", v, 0) != 0)
			continue;
		if ((q->files[q->n_files] = strdup(v)) == NULL) {
			mp->nomem = 1;
			return;
		}
		q->n_files++;
	}
	if (q->n_files < 2)
		return;
	/* The same request twice would issue twice. */
	if ((sorted = calloc(q->n_files, sizeof(*sorted))) == NULL) {
		mp->nomem = 1;
		return;
	}
	memcpy(sorted, q->files, q->n_files * sizeof(*sorted));
	qsort(sorted, q->n_files, sizeof(*sorted), str_cmp);
	for (i = 0; i + 1 < q->n_files; i++)
		if (strcmp(sorted[i], sorted[i + 1]) == 0)
			yamldoc_error(mp->doc, seq, "files lists '%s' more than "
			    "once", sorted[i]);
	free(sorted);
}

static void
parse_mac_range(struct mp *mp, const struct yamldoc_node *in,
    struct manifest_request *q)
{
	const struct yamldoc_node *n = NULL, *cn = NULL;
	const char *start = NULL;
	long long count = 0, incr = 1;
	int ok = 1;
	err_t e;

	err_clear(&e);
	if (yamldoc_get_str(mp->doc, in, "start", 1, &start) == 1) {
		(void)yamldoc_get_node(mp->doc, in, "start", 1, &n);
		if (mac_parse(start, q->range.start, &e) != 0) {
			yamldoc_error(mp->doc, n, "start: %s", e.msg);
			ok = 0;
		}
	} else {
		ok = 0;
	}
	if (yamldoc_get_int(mp->doc, in, "count", 1, 1, MAC_RANGE_COUNT_MAX,
	    &count) != 1)
		ok = 0;
	if (yamldoc_get_int(mp->doc, in, "increment", 0, 1,
	    MAC_RANGE_INCREMENT_MAX, &incr) < 0)
		ok = 0;
	q->range.count = (uint32_t)count;
	q->range.increment = (uint32_t)incr;
	if (!ok)
		return;
	(void)yamldoc_get_node(mp->doc, in, "count", 1, &cn);
	if (mac_range_check(&q->range, &e) != 0)
		yamldoc_error(mp->doc, cn, "%s", e.msg);
}

/*
 * The optional input.directory, stored with its '/' so that prefix tests
 * need no care. Returns 1 when the key is present, else 0.
 */
static int
parse_directory(struct mp *mp, const struct yamldoc_node *in,
    struct manifest_request *q)
{
	const struct yamldoc_node *n = NULL;
	size_t l;
	char *d;

	if (mp_str(mp, in, "directory", 0, &q->directory, &n) != 1)
		return n != NULL;
	if (check_path(mp, n, "directory", q->directory, 1) != 0)
		return 1;
	l = strlen(q->directory);
	if (q->directory[l - 1] == '/')
		return 1;
	if ((d = realloc(q->directory, l + 2)) == NULL) {
		mp->nomem = 1;
		return 1;
	}
	d[l] = '/';
	d[l + 1] = '\0';
	q->directory = d;
	return 1;
}

/* Returns 1 when the mode was understood, else 0. */
static int
parse_input(struct mp *mp, const struct yamldoc_node *root,
    struct manifest_request *q)
{
	const struct yamldoc_node *in = NULL, *n = NULL, *seq = NULL;
	int idx = -1, has_files, has_dir;

	if (yamldoc_get_map(mp->doc, root, "input", 1, &in) != 1)
		return 0;
	if (yamldoc_get_enum(mp->doc, in, "mode", 1, input_names, &idx) != 1)
		return 0;	/* the other keys depend on the mode */
	q->mode = (enum manifest_input)idx;
	switch (q->mode) {
	case MANIFEST_INPUT_MAC_RANGE:
		parse_mac_range(mp, in, q);
		break;
	case MANIFEST_INPUT_CSR:
		has_files = yamldoc_get_seq(mp->doc, in, "files", 0, &seq);
		has_dir = parse_directory(mp, in, q);
		if ((has_files != 0) == has_dir) {
			yamldoc_error(mp->doc, in, "mode csr needs exactly one "
			    "of files and directory");
			break;
		}
		if (has_files == 1)
			parse_files(mp, seq, q);
		break;
	case MANIFEST_INPUT_CSV:
		if (mp_str(mp, in, "file", 1, &q->csv_file, &n) == 1)
			(void)check_path(mp, n, "file", q->csv_file, 0);
		/* Optional: where the requests of the csr_file column lie. */
		(void)parse_directory(mp, in, q);
		break;
	}
	(void)yamldoc_check_unknown(mp->doc, in);
	return 1;
}

/*
 * The password is read straight into locked memory; the parse tree's copy
 * is wiped by wipe_password() before the tree is freed.
 */
static void
parse_pkcs12(struct mp *mp, const struct yamldoc_node *p12,
    struct manifest_request *q)
{
	const struct yamldoc_node *n = NULL;
	const char *pw = NULL;
	int idx = 0;

	if (yamldoc_get_node(mp->doc, p12, "password", 1, &n) == 1 &&
	    yamldoc_as_str(mp->doc, n, &pw) == 1) {
		const unsigned char *c;
		size_t chars = 0;
		int bad = 0;

		for (c = (const unsigned char *)pw; *c != '\0'; c++) {
			if (*c < 0x20 || *c == 0x7f)
				bad = 1;
			chars += (*c & 0xc0) != 0x80;
		}
		/* Never quote the password back, not even in part. */
		if (bad)
			yamldoc_error(mp->doc, n, "password must not contain "
			    "control characters");
		else if (chars < PASSWORD_MIN || chars > PASSWORD_MAX)
			yamldoc_error(mp->doc, n, "password must be %d to %d "
			    "characters (it has %zu)", PASSWORD_MIN,
			    PASSWORD_MAX, chars);
		else if (secret_new(&q->p12_password) != 0 ||
		    secret_set(q->p12_password, pw, strlen(pw)) != 0)
			mp->nomem = 1;
	}
	if (yamldoc_get_enum(mp->doc, p12, "encryption", 0, p12_names,
	    &idx) == 1)
		q->p12_encryption = (enum manifest_p12)idx;
	(void)yamldoc_check_unknown(mp->doc, p12);
}

static void
parse_output(struct mp *mp, const struct yamldoc_node *root,
    struct manifest_request *q, int mode_known)
{
	const struct yamldoc_node *out = NULL, *fmt = NULL, *rn = NULL;
	const struct yamldoc_node *p12 = NULL;
	int idx = -1, fmt_ok, has_p12;

	if (yamldoc_get_map(mp->doc, root, "output", 1, &out) != 1)
		return;
	fmt_ok = yamldoc_get_enum(mp->doc, out, "format", 1, format_names,
	    &idx) == 1;
	if (fmt_ok)
		q->format = (enum manifest_format)idx;
	(void)yamldoc_get_node(mp->doc, out, "format", 0, &fmt);
	if (yamldoc_get_enum(mp->doc, out, "chain", 1, chain_names, &idx) == 1)
		q->chain = (enum manifest_chain)idx;
	if (yamldoc_get_enum(mp->doc, out, "results_log", 1, log_names,
	    &idx) == 1)
		q->results_log = (enum manifest_log)idx;
	if (mp_str(mp, out, "recipient", 0, &q->recipient, &rn) == 1)
		(void)check_path(mp, rn, "recipient", q->recipient, 0);
	has_p12 = yamldoc_get_map(mp->doc, out, "pkcs12", 0, &p12);
	(void)yamldoc_check_unknown(mp->doc, out);
	if (!fmt_ok)
		return;
	if (q->format == MANIFEST_FORMAT_SMPB && rn == NULL)
		yamldoc_error(mp->doc, out, "required key 'recipient' is "
		    "missing: format smpb is encrypted to the recipient "
		    "certificate it names");
	if (q->format != MANIFEST_FORMAT_SMPB && rn != NULL)
		yamldoc_error(mp->doc, rn, "recipient is only for format smpb");
	if (q->format == MANIFEST_FORMAT_PKCS12 && p12 == NULL)
		yamldoc_error(mp->doc, out, "required key 'pkcs12' is missing: "
		    "format pkcs12 needs its password and encryption");
	if (q->format != MANIFEST_FORMAT_PKCS12 && p12 != NULL)
		yamldoc_error(mp->doc, p12, "pkcs12 is only for format pkcs12");
	if (q->format == MANIFEST_FORMAT_PKCS12 && has_p12 == 1)
		parse_pkcs12(mp, p12, q);
	if (!mode_known)
		return;
	/* Keys the appliance generates leave it encrypted, never in clear. */
	if (q->mode == MANIFEST_INPUT_MAC_RANGE &&
	    q->format != MANIFEST_FORMAT_SMPB &&
	    q->format != MANIFEST_FORMAT_PKCS12)
		yamldoc_error(mp->doc, fmt, "format %s cannot carry the device "
		    "keys the appliance generates for mode mac-range; use smpb "
		    "or pkcs12", format_names[q->format]);
	if (q->mode == MANIFEST_INPUT_CSR &&
	    q->format == MANIFEST_FORMAT_PKCS12)
		yamldoc_error(mp->doc, fmt, "format pkcs12 holds the device's "
		    "private key, which the appliance does not have for mode "
		    "csr");
}

/* A file may play one part only: the recipient is no CSR, and so on. */
static void
check_distinct(struct mp *mp, const struct yamldoc_node *root,
    const struct manifest_request *q)
{
	size_t i;

	if (q->csv_file != NULL && q->directory != NULL &&
	    strncmp(q->csv_file, q->directory, strlen(q->directory)) == 0)
		yamldoc_error(mp->doc, root, "input.file '%s' lies in "
		    "input.directory '%s', whose files are all read as CSRs",
		    q->csv_file, q->directory);
	if (q->recipient == NULL)
		return;
	if (q->directory != NULL &&
	    strncmp(q->recipient, q->directory, strlen(q->directory)) == 0)
		yamldoc_error(mp->doc, root, "output.recipient '%s' lies in "
		    "input.directory '%s', whose files are all read as CSRs",
		    q->recipient, q->directory);
	for (i = 0; i < q->n_files; i++)
		if (strcmp(q->recipient, q->files[i]) == 0)
			yamldoc_error(mp->doc, root, "output.recipient '%s' is "
			    "also listed in input.files", q->recipient);
	if (q->csv_file != NULL && strcmp(q->recipient, q->csv_file) == 0)
		yamldoc_error(mp->doc, root, "output.recipient '%s' is also "
		    "input.file", q->recipient);
}

static void
parse_request(struct mp *mp, const struct yamldoc_node *root,
    struct manifest_request *q)
{
	const struct yamldoc_node *batch = NULL, *n = NULL;
	int mode_known;

	if (yamldoc_get_map(mp->doc, root, "batch", 1, &batch) == 1) {
		if (mp_str(mp, batch, "name", 1, &q->batch_name, &n) == 1)
			(void)check_text(mp, n, "name", q->batch_name, 1,
			    BATCH_NAME_MAX, 0);
		if (mp_str(mp, batch, "description", 0, &q->batch_description,
		    &n) == 1)
			(void)check_text(mp, n, "description",
			    q->batch_description, 0, BATCH_DESCRIPTION_MAX, 1);
		(void)yamldoc_check_unknown(mp->doc, batch);
	}
	if (q->batch_description == NULL &&
	    (q->batch_description = strdup("")) == NULL)
		mp->nomem = 1;
	if (mp_str(mp, root, "profile", 1, &q->profile, &n) == 1)
		(void)check_slug(mp, n, "profile", q->profile, PROFILE_MAX);
	/* Output rules depend on the mode only when it was understood. */
	mode_known = parse_input(mp, root, q);
	parse_output(mp, root, q, mode_known);
	check_distinct(mp, root, q);
}

/*
 * The body of a revocation (bundle.md, section 6.2): reason, message, an
 * optional invalidity date, and targets inline, in a file, or both.
 */
static void
parse_revocation(struct mp *mp, const struct yamldoc_node *root,
    time_t created, struct manifest_revocation *v)
{
	const struct yamldoc_node *n = NULL, *seq = NULL, *fn = NULL;
	int idx = -1, has_seq, has_file, release = 0;
	size_t i;

	if (yamldoc_get_enum(mp->doc, root, "reason", 1,
	    queue_revocation_reasons, &idx) == 1) {
		snprintf(v->reason, sizeof(v->reason), "%s",
		    queue_revocation_reasons[idx]);
		release = strcmp(v->reason, "removeFromCRL") == 0;
	}
	if (mp_str(mp, root, "message", 1, &v->message, &n) == 1 &&
	    check_text(mp, n, "message", v->message, 1,
	    QUEUE_REVOCATION_MESSAGE_MAX, 0) == 0 && !text_clean(v->message))
		yamldoc_error(mp->doc, n, "message must not contain invisible "
		    "or direction-changing characters");
	if (yamldoc_get_time(mp->doc, root, "invalidity_date", 0,
	    &v->invalidity_date) == 1) {
		(void)yamldoc_get_node(mp->doc, root, "invalidity_date", 0, &n);
		v->has_invalidity_date = 1;
		if (release)
			yamldoc_error(mp->doc, n, "invalidity_date does not go "
			    "with reason removeFromCRL: releasing a hold states "
			    "no invalidity");
		else if (created != 0 && v->invalidity_date > created)
			yamldoc_error(mp->doc, n, "invalidity_date is after "
			    "created: it says since when the key is known or "
			    "suspected to be compromised, which cannot be later "
			    "than the request");
	}
	has_seq = yamldoc_get_seq(mp->doc, root, "targets", 0, &seq);
	has_file = mp_str(mp, root, "targets_file", 0, &v->targets_file,
	    &fn);
	if (has_file == 1)
		(void)check_path(mp, fn, "targets_file", v->targets_file, 0);
	if (has_seq == 0 && fn == NULL)
		yamldoc_error(mp->doc, root, "a revocation names its targets: "
		    "give targets, targets_file or both");
	if (has_seq != 1)
		return;
	if (seq->n == 0 || seq->n > QUEUE_REVOCATION_MAX_TARGETS) {
		yamldoc_error(mp->doc, seq, "targets, when given, lists 1 to %d "
		    "targets (use targets_file for more)",
		    QUEUE_REVOCATION_MAX_TARGETS);
		return;
	}
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *it = seq->items[i];
		const char *t;
		err_t e;
		int r;

		if (yamldoc_as_str(mp->doc, it, &t) != 1)
			continue;
		err_clear(&e);
		r = target_parse(t, strlen(t), mp->doc->file, it->line,
		    &v->targets, &e);
		if (r == ERR_NOMEM) {
			mp->nomem = 1;
			return;
		}
		if (r != 0)
			yamldoc_error(mp->doc, it, "Line %lu - %s", it->line,
			    e.msg);
	}
}

/* Finds key in a mapping of the (mutable) tree. */
static struct yamldoc_node *
tree_child(struct yamldoc_node *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != YAMLDOC_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key, key) == 0)
			return map->pairs[i].value;
	return NULL;
}

/* Wipes output.pkcs12.password from the parse tree before it is freed. */
static void
wipe_password(struct yamldoc *doc)
{
	struct yamldoc_node *n = tree_child(tree_child(tree_child(doc->root,
	    "output"), "pkcs12"), "password");

	if (n != NULL && n->kind == YAMLDOC_SCALAR && n->scalar != NULL)
		explicit_bzero(n->scalar, n->scalar_len);
}

int
manifest_parse(const char *label, const void *data, size_t len,
    struct manifest *out, diag_t *diag)
{
	struct mp mp = { NULL, 0 };
	const struct yamldoc_node *root, *n = NULL;
	size_t before = diag_count(diag);
	const char *id = NULL;
	long long version = 0;
	int idx = -1, r;
	err_t e;

	memset(out, 0, sizeof(*out));
	if (label == NULL)
		label = MANIFEST_NAME;
	err_clear(&e);
	if ((r = yamldoc_parse(label, data, len, &manifest_limits, &mp.doc,
	    &e)) != 0) {
		(void)diag_add(diag, NULL, 0, NULL, "%s", e.msg);
		return r;
	}
	yamldoc_set_diag(mp.doc, diag);
	root = mp.doc->root;
	if (yamldoc_as_map(mp.doc, root) != 1)
		goto done;
	if (yamldoc_get_int(mp.doc, root, "airlock_bundle", 1, 0, INT_MAX,
	    &version) == 1) {
		out->version = (int)version;
		if (version != MANIFEST_VERSION) {
			(void)yamldoc_get_node(mp.doc, root, "airlock_bundle",
			    1, &n);
			yamldoc_error(mp.doc, n, "bundle format version %lld is "
			    "not supported; this appliance reads version %d",
			    version, MANIFEST_VERSION);
		}
	}
	if (yamldoc_get_str(mp.doc, root, "id", 1, &id) == 1 &&
	    yamldoc_get_node(mp.doc, root, "id", 1, &n) == 1)
		(void)check_uuid(&mp, n, id, out->id);
	(void)yamldoc_get_time(mp.doc, root, "created", 1, &out->created);
	if (yamldoc_get_enum(mp.doc, root, "kind", 1, kind_names, &idx) != 1)
		goto done;	/* without a kind, the other keys mean nothing */
	out->kind = (enum manifest_kind)idx;
	if (out->kind == MANIFEST_KIND_REVOCATION)
		parse_revocation(&mp, root, out->created, &out->rev);
	else
		parse_request(&mp, root, &out->req);
	(void)yamldoc_check_unknown(mp.doc, root);
done:
	wipe_password(mp.doc);
	yamldoc_free(mp.doc);
	if (mp.nomem) {
		(void)diag_add(diag, label, 0, NULL, "out of memory");
		manifest_free(out);
		return ERR_NOMEM;
	}
	if (diag_count(diag) > before) {
		manifest_free(out);
		return ERR_INVALID;
	}
	return 0;
}

int
manifest_has_secret(const struct manifest *m)
{
	return m != NULL && m->kind == MANIFEST_KIND_REQUEST &&
	    m->req.p12_password != NULL;
}

/* Marks the entry `name` as accounted for, or says why it cannot be. */
static void
need(const struct archive *a, unsigned char *seen, const char *field,
    const char *name, diag_t *diag)
{
	char shown[512];
	long k = archive_find(a, name);

	archive_show_name(name, strlen(name), shown, sizeof(shown));
	if (k < 0)
		(void)diag_add(diag, MANIFEST_NAME, 0, field, "'%s' is not in "
		    "the archive", shown);
	else if (archive_is_dir(a, (size_t)k))
		(void)diag_add(diag, MANIFEST_NAME, 0, field, "'%s' is a "
		    "directory in the archive, not a file", shown);
	else
		seen[k] = 1;
}

int
manifest_check_archive(const struct manifest *m, const struct archive *a,
    diag_t *diag)
{
	const struct manifest_request *q = &m->req;
	char shown[512], anc[512];
	size_t before = diag_count(diag), n = archive_count(a), i, j;
	unsigned char *seen;

	if ((seen = calloc(n + 1, 1)) == NULL) {
		(void)diag_add(diag, MANIFEST_NAME, 0, NULL, "out of memory");
		return ERR_NOMEM;
	}
	need(a, seen, NULL, MANIFEST_NAME, diag);
	/* A revocation's request fields are all empty, and so on. */
	if (m->rev.targets_file != NULL)
		need(a, seen, "targets_file", m->rev.targets_file, diag);
	if (q->csv_file != NULL)
		need(a, seen, "input.file", q->csv_file, diag);
	for (i = 0; i < q->n_files; i++)
		need(a, seen, "input.files", q->files[i], diag);
	if (q->recipient != NULL)
		need(a, seen, "output.recipient", q->recipient, diag);
	if (q->directory != NULL) {
		size_t dl = strlen(q->directory), under = 0;

		for (i = 0; i < n; i++) {
			if (!archive_is_dir(a, i) &&
			    strncmp(archive_name(a, i), q->directory, dl) == 0) {
				seen[i] = 1;
				under++;
			}
		}
		if (under == 0)
			(void)diag_add(diag, MANIFEST_NAME, 0, "input.directory",
			    "'%s' holds no files in the archive", archive_show_name(
			    q->directory, dl, shown, sizeof(shown)));
	}
	/* A directory entry is accounted for when a file it holds is. */
	for (i = 0; i < n; i++) {
		const char *name = archive_name(a, i);

		if (!seen[i] || archive_is_dir(a, i))
			continue;
		for (j = 0; name[j] != '\0' && j + 1 < sizeof(anc); j++) {
			long k;

			anc[j] = name[j];
			if (name[j] != '/')
				continue;
			anc[j + 1] = '\0';
			if ((k = archive_find(a, anc)) >= 0)
				seen[k] = 1;
		}
	}
	for (i = 0; i < n; i++) {
		const char *name = archive_name(a, i);

		if (!seen[i])
			(void)diag_add(diag, MANIFEST_NAME, 0, NULL, "archive entry "
			    "'%s' is not named by the manifest", archive_show_name(
			    name, strlen(name), shown, sizeof(shown)));
	}
	free(seen);
	return diag_count(diag) > before ? ERR_INVALID : 0;
}

void
manifest_free(struct manifest *m)
{
	struct manifest_request *q;
	size_t i;

	if (m == NULL)
		return;
	q = &m->req;
	free(q->batch_name);
	free(q->batch_description);
	free(q->profile);
	for (i = 0; i < q->n_files; i++)
		free(q->files[i]);
	free(q->files);
	free(q->directory);
	free(q->csv_file);
	free(q->recipient);
	secret_free(q->p12_password);
	free(m->rev.message);
	free(m->rev.targets_file);
	target_list_free(&m->rev.targets);
	memset(m, 0, sizeof(*m));
}
