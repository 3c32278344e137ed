/*
 * intake.c: inbox/ -> queue or quarantine/ (see intake.h, and
 * docs/formats/bundle.md, section 5).
 *
 * Everything on the medium is reached through directory descriptors opened
 * O_NOFOLLOW from the medium root, so a link planted on the stick never
 * leads a read, a write or a rename anywhere else.
 */
#include "daemon/intake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "audit/record.h"
#include "pki/vault.h"
#include "queue/queue.h"
#include "queue/revocation.h"
#include "store/stmt.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/secret.h"
#include "util/text.h"
#include "util/timeutil.h"

/* A .reason file: at most DIAG_MAX_ITEMS lines of ~1 KiB, and a head. */
#define INTAKE_REASON_MAX ((size_t)2 * 1024 * 1024)
/* Names tried in quarantine/ before giving up (NAME, NAME.T, NAME.T.n). */
#define INTAKE_QUARANTINE_TRIES 100
/* Bytes of an inbox name kept in quarantine/, leaving room for suffixes. */
#define INTAKE_QNAME_MAX 200
/* Lines checked against the records per queue_names_taken call. */
#define INTAKE_NAMES_CHUNK 1024
/* Sealed secrets: "AVS1" and an RSA-OAEP block of at most 16384 bits. */
#define INTAKE_SEALED_MAX 4096
/* Characters of an untrusted file name shown in text we write. */
#define INTAKE_SHOW_MAX 255

/* A file seen in inbox/, waiting to settle. */
struct intake_seen {
	char name[NAME_MAX + 1];
	off_t size;
	int64_t mtime_ns;
	int64_t first_ms;	/* monotonic ms when seen with this size, mtime */
	unsigned gen;		/* the last scan that saw it */
};

/* An issuing CA found by name, kept so the X509 outlives each bundle. */
struct intake_issuer {
	char *name;
	int64_t ca_id;
	X509 *cert;
};

struct intake {
	struct intake_config c;
	struct bundle_opts opts;
	struct intake_seen *seen;
	size_t n_seen;
	char **ignored;		/* names already reported as ignored */
	size_t n_ignored;
	struct intake_issuer *issuers;
	size_t n_issuers;
	unsigned gen;
};

/*
 * Where the bytes being judged came from: a settled file of inbox/, or a
 * bundle the console handed over in memory (mfd and ifd -1), which has no
 * file to remove or quarantine: its .reason text goes back to the caller.
 */
struct intake_src {
	int mfd, ifd;
	const char *name;	/* the inbox/ name, or the console's label */
	const struct stat *st;	/* the file's; NULL in memory */
	buf_t *reason_text;	/* in memory: gets a refusal's .reason */
	int fd;			/* the file, open; -1 in memory */
};

static int
intake_in_memory(const struct intake_src *src)
{
	return src->ifd < 0;
}

/* Why a file was refused, for the record, the .reason and the event. */
struct intake_refusal {
	const char *stage;
	diag_t *diag;
	const char *sha256;	/* NULL: over the size limit */
	const char *signer_sha256;	/* NULL: the signature did not verify */
	const char *signer_name;
};

/* --- small helpers --------------------------------------------------------- */

static int64_t
intake_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static time_t
intake_now(const struct intake *in)
{
	return in->c.clock != NULL ? in->c.clock() : time(NULL);
}

/* The envelope's size limit, as envelope_open applies it. */
static size_t
intake_max_size(const struct intake *in)
{
	size_t m = in->c.bundle.env.max_size;

	if (m == 0)
		return ENVELOPE_DEFAULT_MAX;
	return m > ENVELOPE_HARD_MAX ? ENVELOPE_HARD_MAX : m;
}

/* A name inbox/ may hold and we may act on: one component, not empty. */
static int
intake_name_ok(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	return n > 0 && n <= NAME_MAX && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static const char *
intake_file_type(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

/* 0 when the audit log took the record. */
static int
intake_emit(struct intake *in, const char *action, enum event_outcome oc,
    const char *actor_sha256, const char *actor_name, const char *object,
    const char *details)
{
	return event_emit(in->c.event, in->c.event_ctx, action, oc,
	    actor_sha256, actor_name, object, "%s", details);
}

/*
 * Ends a step begun with store_begin whose record is the event
 * intake_emit returned ev for: committed when r and ev are 0, otherwise
 * rolled back, so that a bundle is never taken or refused without its
 * record.
 */
static int
intake_step_end(struct intake *in, int r, int ev, const char *action,
    err_t *err)
{
	if (r == 0 && ev != 0)
		r = err_set(err, ERR_IO, "the audit log could not take the "
		    "'%s' record (the journal says why); the file stays in "
		    "inbox/ and is judged again", action);
	if ((r = store_end(in->c.st, r, err)) == 0 && in->c.committed != NULL)
		in->c.committed(in->c.event_ctx);
	return r;
}

/*
 * Objects of a source's events (docs/formats/audit.md): "file=NAME" for
 * an inbox/ file (the audit log escapes what the name holds), or
 * "source=console"; then "bundle=SHA256" when the digest is known. Cut
 * short (never wrong) when out is too small.
 */
static void
intake_objects(const struct intake_src *src, const char *name,
    const char *sha256, char *out, size_t outsz)
{
	buf_t b;

	buf_init(&b, outsz - 1);
	if (src != NULL && intake_in_memory(src))
		(void)audit_objects_add(&b, "source", "console");
	else
		(void)audit_objects_add(&b, "file", src != NULL ? src->name :
		    name);
	if (sha256 != NULL)
		(void)audit_objects_add(&b, "bundle", sha256);
	snprintf(out, outsz, "%.*s", (int)b.len, b.data != NULL ?
	    (const char *)b.data : "");
	buf_free(&b);
}

/* --- lookups on the store ---------------------------------------------------- */

static int
intake_person_cb(void *ctx, const struct store_person *p)
{
	struct bundle_signer *s = ctx;

	s->person_id = p->id;
	snprintf(s->name, sizeof(s->name), "%s", p->name);
	snprintf(s->role, sizeof(s->role), "%s", p->role);
	snprintf(s->status, sizeof(s->status), "%s",
	    p->status != NULL ? p->status : "active");
	return 0;
}

static int
intake_signer(void *ctx, const char *sha256, struct bundle_signer *out,
    err_t *err)
{
	struct intake *in = ctx;

	if (in->c.bundle.signer_lookup != NULL)
		return in->c.bundle.signer_lookup(in->c.bundle.lookup_ctx,
		    sha256, out, err);
	memset(out, 0, sizeof(*out));
	return store_person_find(in->c.st, sha256, intake_person_cb, out, err);
}

static int
intake_issuer(void *ctx, const char *name, struct bundle_issuer *out,
    err_t *err)
{
	struct intake *in = ctx;
	struct intake_issuer *ni;
	struct store_ca ca;
	const unsigned char *p;
	X509 *x;
	size_t i;
	int r;

	if (in->c.bundle.issuer_lookup != NULL)
		return in->c.bundle.issuer_lookup(in->c.bundle.lookup_ctx, name,
		    out, err);
	memset(out, 0, sizeof(*out));
	for (i = 0; i < in->n_issuers; i++)
		if (strcmp(in->issuers[i].name, name) == 0) {
			out->ca_id = in->issuers[i].ca_id;
			out->cert = in->issuers[i].cert;
			return 0;
		}
	/* One per profile at most: the table is bounded like the profiles. */
	if (in->n_issuers >= PROFILE_MAX_FILES)
		return err_set(err, ERR_LIMIT, "more than %d issuing CAs in use",
		    PROFILE_MAX_FILES);
	memset(&ca, 0, sizeof(ca));
	if ((r = store_ca_find(in->c.st, name, &ca, err)) != 0)
		return r;
	p = ca.cert_der;
	x = d2i_X509(NULL, &p, (long)ca.cert_der_len);
	if (x == NULL || p != ca.cert_der + ca.cert_der_len) {
		X509_free(x);
		store_ca_free(&ca);
		return err_set(err, ERR_INVALID, "%s: the certificate of CA '%s' "
		    "cannot be read", store_path(in->c.st), name);
	}
	ni = realloc(in->issuers, (in->n_issuers + 1) * sizeof(*ni));
	if (ni == NULL) {
		X509_free(x);
		store_ca_free(&ca);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	in->issuers = ni;
	ni = &in->issuers[in->n_issuers];
	if ((ni->name = strdup(name)) == NULL) {
		X509_free(x);
		store_ca_free(&ca);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	ni->ca_id = ca.id;
	ni->cert = x;
	in->n_issuers++;
	store_ca_free(&ca);
	out->ca_id = ni->ca_id;
	out->cert = ni->cert;
	return 0;
}

/* --- life cycle ------------------------------------------------------------ */

int
intake_new(const struct intake_config *c, struct intake **out, err_t *err)
{
	struct intake *in;

	*out = NULL;
	if (c == NULL || c->media_dir == NULL || c->state_dir == NULL ||
	    c->st == NULL || c->bundle.profiles == NULL ||
	    c->transport_pub == NULL)
		return err_set(err, ERR_INVALID, "intake: the medium, the state "
		    "directory, the store, the profiles and the transport "
		    "certificate's key are all required");
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	in->c = *c;
	if (in->c.settle_ms == 0)
		in->c.settle_ms = INTAKE_SETTLE_MS;
	in->opts = c->bundle;
	/* Officers may ask for revocations; bundle_open keeps every other
	 * kind to operators. */
	in->opts.env.officers_may_sign = 1;
	in->opts.signer_lookup = intake_signer;
	in->opts.issuer_lookup = intake_issuer;
	in->opts.lookup_ctx = in;
	in->seen = calloc(INTAKE_MAX_ENTRIES, sizeof(*in->seen));
	in->ignored = calloc(INTAKE_MAX_ENTRIES, sizeof(*in->ignored));
	if (in->seen == NULL || in->ignored == NULL) {
		intake_free(in);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	*out = in;
	return 0;
}

void
intake_free(struct intake *in)
{
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; i < in->n_issuers; i++) {
		free(in->issuers[i].name);
		X509_free(in->issuers[i].cert);
	}
	free(in->issuers);
	for (i = 0; i < in->n_ignored; i++)
		free(in->ignored[i]);
	free(in->ignored);
	free(in->seen);
	free(in);
}

/* --- the medium -------------------------------------------------------------- */

/*
 * Opens the medium root and inbox/ without following links. ERR_NOTFOUND
 * when either is missing (or is a link): the stick is not there.
 */
static int
intake_open_media(struct intake *in, int *mfd, int *ifd, err_t *err)
{
	*ifd = -1;
	*mfd = open(in->c.media_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*mfd == -1)
		return err_set(err, errno == ENOENT || errno == ENOTDIR ||
		    errno == ELOOP ? ERR_NOTFOUND : ERR_IO, "%s: cannot open "
		    "the medium: %s", in->c.media_dir, strerror(errno));
	*ifd = openat(*mfd, "inbox", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*ifd == -1) {
		int e = errno;

		close(*mfd);
		*mfd = -1;
		return err_set(err, e == ENOENT || e == ENOTDIR || e == ELOOP ?
		    ERR_NOTFOUND : ERR_IO, "%s/inbox: cannot open: %s",
		    in->c.media_dir, strerror(e));
	}
	return 0;
}

/* Reports a non-regular entry once per name in the intake's lifetime. */
static void
intake_note_ignored(struct intake *in, const char *name, mode_t mode)
{
	char obj[4 * NAME_MAX + 32], details[160];
	size_t i;

	for (i = 0; i < in->n_ignored; i++)
		if (strcmp(in->ignored[i], name) == 0)
			return;
	/* Bounded: past the table, ignored entries go unreported. */
	if (in->n_ignored >= INTAKE_MAX_ENTRIES ||
	    (in->ignored[in->n_ignored] = strdup(name)) == NULL)
		return;
	in->n_ignored++;
	intake_objects(NULL, name, NULL, obj, sizeof(obj));
	snprintf(details, sizeof(details), "%s, not a regular file: left "
	    "where it is and never followed", intake_file_type(mode));
	intake_emit(in, "inbox-ignored", EVENT_REFUSED, NULL, NULL, obj,
	    details);
}

/* 1 when name ends in ".reason", as the .reason files we write do. */
static int
intake_reason_like(const char *name)
{
	static const char sfx[] = ".reason";
	size_t n = strlen(name);

	return n >= sizeof(sfx) - 1 &&
	    strcmp(name + n - (sizeof(sfx) - 1), sfx) == 0;
}

/* The quarantine name for attempt k: NAME, NAME.T, NAME.T.1, ... */
static int
intake_qname(const char *name, time_t t, int k, char *out, size_t outsz)
{
	size_t n = strlen(name);
	int w;

	/* Room for ".<time>.<n>.reason"; cut at a UTF-8 boundary. */
	if (n > INTAKE_QNAME_MAX) {
		n = INTAKE_QNAME_MAX;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	if (k == 0)
		w = snprintf(out, outsz, "%.*s", (int)n, name);
	else if (k == 1)
		w = snprintf(out, outsz, "%.*s.%lld", (int)n, name,
		    (long long)t);
	else
		w = snprintf(out, outsz, "%.*s.%lld.%d", (int)n, name,
		    (long long)t, k - 1);
	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

/* renameat2 without replacing; a file system without the flag is
 * checked first (only this process writes quarantine/). */
static int
intake_move(int ifd, const char *name, int qfd, const char *target)
{
	struct stat st;

	if (renameat2(ifd, name, qfd, target, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (fstatat(qfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(ifd, name, qfd, target);
}

/*
 * Writes text as the .reason of a name not yet taken in quarantine/, then
 * moves inbox/NAME there under that name; final gets it.
 */
static int
intake_quarantine(struct intake *in, int mfd, int ifd, const char *name,
    const buf_t *text, char *final, size_t finalsz, err_t *err)
{
	char target[NAME_MAX + 1], reason[NAME_MAX + 1];
	time_t t = intake_now(in);
	struct stat st;
	int qfd, k, r;

	if (mkdirat(mfd, "quarantine", 0700) == -1 && errno != EEXIST)
		return err_set(err, ERR_IO, "%s/quarantine: cannot create: %s",
		    in->c.media_dir, strerror(errno));
	qfd = openat(mfd, "quarantine", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (qfd == -1)
		return err_set(err, ERR_IO, "%s/quarantine: cannot open: %s",
		    in->c.media_dir, strerror(errno));
	/*
	 * A file named like a .reason (inbox/modems.p7s.reason) never keeps
	 * its name, or its text would sit where an operator looks for the
	 * appliance's reason for modems.p7s: every *.reason in quarantine/ is
	 * ours. NAME.T and NAME.T.n never end in ".reason".
	 */
	k = intake_reason_like(name) ? 1 : 0;
	for (; k < INTAKE_QUARANTINE_TRIES; k++) {
		if (intake_qname(name, t, k, target, sizeof(target)) != 0 ||
		    snprintf(reason, sizeof(reason), "%s.reason", target) >=
		    (int)sizeof(reason)) {
			r = err_set(err, ERR_LIMIT, "quarantine: name too long");
			goto done;
		}
		if (fstatat(qfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    fstatat(qfd, reason, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		r = fileio_create_at(qfd, reason, text->data, text->len, 0600,
		    err);
		if (r == ERR_EXISTS)
			continue;
		if (r != 0)
			goto done;
		if (intake_move(ifd, name, qfd, target) == 0)
			break;
		if (errno != EEXIST) {
			r = err_set(err, ERR_IO, "cannot move inbox/%s to "
			    "quarantine/: %s", target, strerror(errno));
			(void)unlinkat(qfd, reason, 0);
			goto done;
		}
		(void)unlinkat(qfd, reason, 0);
	}
	if (k == INTAKE_QUARANTINE_TRIES) {
		r = err_set(err, ERR_EXISTS, "quarantine/: no free name for %s",
		    target);
		goto done;
	}
	/* Both directory entries must be durable before we report. */
	(void)fsync(qfd);
	(void)fsync(ifd);
	snprintf(final, finalsz, "%s", target);
	r = 0;
done:
	close(qfd);
	return r;
}

/* The .reason text (intake.h gives the format). */
static int
intake_reason_text(const char *name, time_t received,
    const struct intake_refusal *f, buf_t *out)
{
	char shown[4 * NAME_MAX + 8], when[TIMEUTIL_STRLEN];
	char first[ERR_MSG_MAX + 600];
	size_t i, total = diag_count(f->diag);

	buf_init(out, INTAKE_REASON_MAX);
	text_show(name, strlen(name), INTAKE_SHOW_MAX, shown, sizeof(shown));
	timeutil_format(received, when);
	if (total > 0)
		diag_format(f->diag, 0, first, sizeof(first));
	else
		snprintf(first, sizeof(first), "refused");
	(void)buf_printf(out, "file: %s\nsha256: %s\nreceived: %s\n", shown,
	    f->sha256 != NULL ? f->sha256 : "-", when);
	if (f->signer_sha256 != NULL)
		(void)buf_printf(out, "signer: %s (%s)\n", f->signer_name != NULL &&
		    *f->signer_name != '\0' ? f->signer_name : "not enrolled",
		    f->signer_sha256);
	(void)buf_printf(out, "stage: %s\nreason: %s\nproblems: %zu\n", f->stage,
	    first, total > 0 ? total : 1);
	for (i = 0; i < f->diag->n; i++) {
		char msg[ERR_MSG_MAX + 600];

		diag_format(f->diag, i, msg, sizeof(msg));
		(void)buf_printf(out, "  - %s\n", msg);
	}
	if (total == 0)
		(void)buf_printf(out, "  - %s\n", first);
	if (f->diag->dropped > 0)
		(void)buf_printf(out, "  - ... and %zu more, not listed\n",
		    f->diag->dropped);
	return buf_ok(out) ? 0 : ERR_NOMEM;
}

/*
 * Records the refusal (qb, when not NULL: the bundle row) with its audit
 * record in one transaction, then quarantines the file with its .reason;
 * res says what became of it. action is "bundle-rejected" or
 * "bundle-replayed". A crash between the two leaves the file in inbox/,
 * where the next scan finds it recorded and finishes the move.
 */
static int
intake_reject(struct intake *in, const struct intake_src *src,
    time_t received, const struct intake_refusal *f, const char *action,
    const struct queue_bundle *qb, struct intake_result *res, err_t *err)
{
	char obj[4 * NAME_MAX + 32];
	char details[ERR_MSG_MAX + 700], first[ERR_MSG_MAX + 600];
	buf_t text;
	int r, ev = 0;

	if ((r = intake_reason_text(src->name, received, f, &text)) != 0) {
		buf_free(&text);
		return err_set(err, r, "out of memory writing the reason");
	}
	if (diag_count(f->diag) > 0)
		diag_format(f->diag, 0, first, sizeof(first));
	else
		snprintf(first, sizeof(first), "refused");
	intake_objects(src, NULL, f->sha256, obj, sizeof(obj));
	snprintf(details, sizeof(details), "stage %s: %s (problems: %zu; "
	    "digest %s)", f->stage, first, diag_count(f->diag),
	    f->sha256 != NULL ? f->sha256 : "-");
	if ((r = store_begin(in->c.st, err)) != 0)
		goto out;
	if (qb != NULL && (r = queue_bundle_add(in->c.st, qb, NULL, err)) ==
	    ERR_EXISTS)
		r = 0;	/* a digest already recorded is not recorded again */
	if (r == 0)
		ev = intake_emit(in, action, EVENT_REFUSED, f->signer_sha256,
		    f->signer_name, obj, details);
	if ((r = intake_step_end(in, r, ev, action, err)) != 0)
		goto out;
	if (intake_in_memory(src)) {
		/* Nothing to move: the caller shows the same text. */
		r = src->reason_text == NULL ? 0 : buf_put(src->reason_text,
		    text.data, text.len) == 0 ? 0 : err_set(err, ERR_NOMEM,
		    "out of memory writing the reason");
	} else {
		char final[NAME_MAX + 1];

		r = intake_quarantine(in, src->mfd, src->ifd, src->name, &text,
		    final, sizeof(final), err);
	}
	if (r != 0)
		goto out;
	res->outcome = INTAKE_REJECTED;
	diag_format(f->diag, 0, res->reason, sizeof(res->reason));
	if (diag_count(f->diag) == 0)
		snprintf(res->reason, sizeof(res->reason), "refused");
out:
	buf_free(&text);
	return r;
}

/* --- the records ------------------------------------------------------------- */

/* What the store recorded about a digest, for a file seen again. */
struct intake_known {
	char file_name[NAME_MAX + 1];
	int64_t received_at;
	char reason[ERR_MSG_MAX];
	char signer_sha256[65];
	int64_t batch_id;
	int64_t revocation_id;
};

static void
intake_col(sqlite3_stmt *s, int i, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(out, outsz, "%s", t != NULL ? (const char *)t : "");
}

static int
intake_known_get(struct intake *in, int64_t id, struct intake_known *k,
    err_t *err)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r;

	memset(k, 0, sizeof(*k));
	if ((r = store_prepare(in->c.st, "SELECT b.file_name, b.received_at,"
	    " b.reason, b.signer_sha256, (SELECT t.id FROM batch t WHERE"
	    " t.bundle_id = b.id), (SELECT r.id FROM revocation r WHERE"
	    " r.bundle_id = b.id) FROM bundle b WHERE b.id = ?", &s,
	    err)) != 0)
		return r;
	store_bind_int(s, 1, id, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return err_set(err, ERR_INTERNAL, "cannot bind the bundle id");
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		intake_col(s, 0, k->file_name, sizeof(k->file_name));
		k->received_at = sqlite3_column_int64(s, 1);
		intake_col(s, 2, k->reason, sizeof(k->reason));
		intake_col(s, 3, k->signer_sha256, sizeof(k->signer_sha256));
		k->batch_id = sqlite3_column_int64(s, 4);
		k->revocation_id = sqlite3_column_int64(s, 5);
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? err_set(err, ERR_NOTFOUND, "no bundle "
		    "#%lld", (long long)id) : store_sqlerr(in->c.st,
		    store_errcode(in->c.st), "find bundle", err);
	}
	sqlite3_finalize(s);
	return r;
}

/* bundles/<sha256>.bundle in the state directory; an existing copy is it. */
static int
intake_keep_copy(struct intake *in, const char *sha256, const void *data,
    size_t len, err_t *err)
{
	char dir[PATH_MAX], file[80], path[PATH_MAX];
	int r;

	if ((r = fileio_join(dir, sizeof(dir), in->c.state_dir, "bundles",
	    err)) != 0 || (r = fileio_mkdirs(dir, 0700, err)) != 0)
		return r;
	snprintf(file, sizeof(file), "%s.bundle", sha256);
	if ((r = fileio_join(path, sizeof(path), dir, file, err)) != 0)
		return r;
	r = fileio_create(path, data, len, 0600, err);
	return r == ERR_EXISTS ? 0 : r;
}

/*
 * The row of a refused bundle, into qb (reason is its storage). The id
 * only once the signature verified and while no other bundle holds it
 * (queue.h). 1 when there is nothing to record (no digest: over the
 * size limit), 0 when qb is filled, or an ERR_*.
 */
static int
intake_refusal_row(struct intake *in, const char *name, time_t received,
    const struct bundle *b, const struct intake_refusal *f,
    struct queue_bundle *qb, char *reason, size_t reasonsz, err_t *err)
{
	enum queue_bundle_status status = QUEUE_BUNDLE_UNSEEN;
	char first[ERR_MSG_MAX];
	const char *uuid = NULL;

	memset(qb, 0, sizeof(*qb));
	if (f->sha256 == NULL)
		return 1;
	if (f->signer_sha256 != NULL && b->man.id[0] != '\0') {
		int r;

		if ((r = queue_bundle_seen(in->c.st, b->man.id, f->sha256,
		    &status, NULL, err)) != 0)
			return r;
		if (status == QUEUE_BUNDLE_UNSEEN)
			uuid = b->man.id;
	}
	if (diag_count(f->diag) > 0)
		diag_format(f->diag, 0, first, sizeof(first));
	else
		snprintf(first, sizeof(first), "refused");
	snprintf(reason, reasonsz, "%s: %s", f->stage, first);
	qb->uuid = uuid;
	qb->sha256 = f->sha256;
	qb->file_name = name;
	qb->signer_sha256 = f->signer_sha256;
	qb->person_id = f->signer_sha256 != NULL ? b->signer.person_id : 0;
	qb->received_at = received;
	qb->status = QUEUE_BUNDLE_REJECTED;
	qb->reason = reason;
	return 0;
}

/* Collects the lines whose name or MAC the profile already holds. */
struct intake_taken {
	diag_t *diag;
	const struct bundle *b;
	const char *const *names;
	int64_t base;		/* line number of index 0 */
};

static int
intake_taken_cb(void *ctx, size_t index, int64_t batch, int64_t line,
    const char *held_by)
{
	struct intake_taken *t = ctx;
	const struct bundle *b = t->b;
	int64_t ln = t->base + (int64_t)index;
	const char *file = NULL;
	unsigned long src = 0;
	char shown[300], where[48];

	if (b->lines != NULL && b->man.req.mode == MANIFEST_INPUT_CSV) {
		file = b->man.req.csv_file;
		src = b->lines[ln - 1].src_line;
		snprintf(where, sizeof(where), "Line %lu", src);
	} else {
		snprintf(where, sizeof(where), "Batch line %lld",
		    (long long)ln);
	}
	text_show(t->names[index], strlen(t->names[index]), 64, shown,
	    sizeof(shown));
	if (strcmp(held_by, "certificate") == 0)
		(void)diag_add(t->diag, file, src, "name", "%s - '%s' is already "
		    "held by a valid certificate of profile %s (batch %lld, "
		    "line %lld)", where, shown, b->profile->name,
		    (long long)batch, (long long)line);
	else
		(void)diag_add(t->diag, file, src, "name", "%s - '%s' is already "
		    "line %lld of batch %lld of profile %s, which may still be "
		    "issued", where, shown, (long long)line, (long long)batch,
		    b->profile->name);
	return 0;
}

/* Stage "records": no line's name or MAC held elsewhere in the profile. */
static int
intake_check_names(struct intake *in, struct bundle *b, time_t now,
    diag_t *diag, err_t *err)
{
	char (*nbuf)[BUNDLE_NAME_MAX] = NULL;
	char (*mbuf)[2 * MAC_LEN + 1] = NULL;
	const char **names = NULL, **macs = NULL;
	struct intake_taken t;
	int64_t start, i;
	int r = 0;

	nbuf = calloc(INTAKE_NAMES_CHUNK, sizeof(*nbuf));
	mbuf = calloc(INTAKE_NAMES_CHUNK, sizeof(*mbuf));
	names = calloc(INTAKE_NAMES_CHUNK, sizeof(*names));
	macs = calloc(INTAKE_NAMES_CHUNK, sizeof(*macs));
	if (nbuf == NULL || mbuf == NULL || names == NULL || macs == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto done;
	}
	t.diag = diag;
	t.b = b;
	t.names = names;
	for (start = 1; start <= (int64_t)b->n_lines;
	    start += INTAKE_NAMES_CHUNK) {
		size_t k = 0;

		for (i = start; i <= (int64_t)b->n_lines &&
		    k < INTAKE_NAMES_CHUNK; i++, k++) {
			struct queue_line_new l;

			if ((r = bundle_line_get(b, i, &l, err)) != 0)
				goto done;
			snprintf(nbuf[k], sizeof(nbuf[k]), "%s", l.name);
			names[k] = nbuf[k];
			macs[k] = NULL;
			if (l.mac != NULL) {
				snprintf(mbuf[k], sizeof(mbuf[k]), "%s", l.mac);
				macs[k] = mbuf[k];
			}
		}
		t.base = start;
		if ((r = queue_names_taken(in->c.st, b->profile->name, names,
		    macs, k, now, 0, intake_taken_cb, &t, err)) != 0)
			goto done;
	}
done:
	free(nbuf);
	free(mbuf);
	free(names);
	free(macs);
	return r;
}

/* --- judging one file -------------------------------------------------------- */

/*
 * A digest already recorded. The file is the one judged before when it
 * still has the recorded name and is no newer than the record: a crash
 * came between the record and the move, so the move is finished. Any
 * other copy is a replay.
 */
static int
intake_known_file(struct intake *in, const struct intake_src *src,
    const char *sha256, const buf_t *data, enum queue_bundle_status status,
    int64_t id, struct intake_result *res, err_t *err)
{
	struct intake_known k;
	struct intake_refusal f = { 0 };
	char when[TIMEUTIL_STRLEN];
	time_t now = intake_now(in);
	int leftover, r;
	diag_t d;

	if ((r = intake_known_get(in, id, &k, err)) != 0)
		return r;
	/* Bytes from the console are never a file left behind by a crash. */
	leftover = src->st != NULL && strcmp(k.file_name, src->name) == 0 &&
	    (int64_t)src->st->st_mtime <= k.received_at;
	if (leftover && status == QUEUE_BUNDLE_ACCEPTED) {
		char obj[4 * NAME_MAX + 160], details[ERR_MSG_MAX + 200];

		if ((r = intake_keep_copy(in, sha256, data->data, data->len,
		    err)) != 0)
			return r;
		if (unlinkat(src->ifd, src->name, 0) == -1 && errno != ENOENT)
			return err_set(err, ERR_IO, "cannot remove inbox/%s: %s",
			    src->name, strerror(errno));
		(void)fsync(src->ifd);
		res->outcome = INTAKE_ACCEPTED;
		res->batch_id = k.batch_id;
		res->revocation_id = k.revocation_id;
		intake_objects(src, NULL, sha256, obj, sizeof(obj));
		snprintf(obj + strlen(obj), sizeof(obj) - strlen(obj),
		    " %s=%lld", k.revocation_id ? "revocation" : "batch",
		    (long long)(k.revocation_id ? k.revocation_id :
		    k.batch_id));
		snprintf(details, sizeof(details), "%s %lld, digest %s: "
		    "already recorded; the file was removed from inbox/ after "
		    "an interruption", k.revocation_id ? "revocation request" :
		    "batch", (long long)(k.revocation_id ? k.revocation_id :
		    k.batch_id), sha256);
		intake_emit(in, "bundle-accepted", EVENT_OK,
		    k.signer_sha256[0] != '\0' ? k.signer_sha256 : NULL, NULL,
		    obj, details);
		return 0;
	}
	diag_init(&d);
	f.diag = &d;
	f.sha256 = sha256;
	f.signer_sha256 = k.signer_sha256[0] != '\0' ? k.signer_sha256 :
	    NULL;
	if (leftover) {
		/* The recorded reason reads "stage: first problem". */
		char *colon = strstr(k.reason, ": ");

		f.stage = "records";
		if (colon != NULL) {
			*colon = '\0';
			f.stage = k.reason;
			(void)diag_add(&d, NULL, 0, NULL, "%s", colon + 2);
		} else {
			(void)diag_add(&d, NULL, 0, NULL, "%s", k.reason);
		}
		r = intake_reject(in, src, k.received_at, &f,
		    "bundle-rejected", NULL, res, err);
		diag_free(&d);
		return r;
	}
	timeutil_format((time_t)k.received_at, when);
	f.stage = "replay";
	if (status == QUEUE_BUNDLE_ACCEPTED)
		(void)diag_add(&d, NULL, 0, NULL, "this file (digest %s) was "
		    "already received on %s and accepted as %s %lld; a "
		    "bundle is taken once", sha256, when, k.revocation_id ?
		    "revocation request" : "batch", (long long)(k.revocation_id ?
		    k.revocation_id : k.batch_id));
	else
		(void)diag_add(&d, NULL, 0, NULL, "this file (digest %s) was "
		    "already received on %s and refused (%s)", sha256, when,
		    k.reason);
	r = intake_reject(in, src, now, &f, "bundle-replayed", NULL, res, err);
	diag_free(&d);
	return r;
}

/* The record of an accepted bundle, shared by both kinds. */
static void
intake_bundle_record(const struct bundle *b, const char *name, time_t now,
    struct queue_bundle *qb)
{
	memset(qb, 0, sizeof(*qb));
	qb->uuid = b->man.id;
	qb->sha256 = b->env.bundle_sha256;
	qb->file_name = name;
	qb->signer_sha256 = b->env.signer_sha256;
	qb->person_id = b->signer.person_id;
	qb->received_at = now;
	qb->status = QUEUE_BUNDLE_ACCEPTED;
}

/* Once recorded, the file leaves inbox/ (bytes in memory have none). */
static int
intake_remove(const struct intake_src *src, const char *what, int64_t id,
    err_t *err)
{
	if (intake_in_memory(src))
		return 0;
	if (unlinkat(src->ifd, src->name, 0) == -1 && errno != ENOENT)
		return err_set(err, ERR_IO, "%s %lld recorded, but inbox/%s "
		    "cannot be removed: %s", what, (long long)id, src->name,
		    strerror(errno));
	(void)fsync(src->ifd);
	return 0;
}

/*
 * A revocation request: kept like a batch's bundle, then resolved and
 * recorded in one transaction. Returns 0 (accepted), 1 (refused: the
 * problems are in diag, stage records) or an ERR_*.
 */
static int
intake_accept_revocation(struct intake *in, const struct intake_src *src,
    time_t now, struct bundle *b, const buf_t *data,
    struct intake_result *res, diag_t *diag, err_t *err)
{
	const struct manifest_revocation *v = &b->man.rev;
	struct queue_revocation_new rn;
	struct queue_bundle qb;
	int64_t id = 0;
	char obj[256], details[ERR_MSG_MAX];
	int r;

	if ((r = intake_keep_copy(in, b->env.bundle_sha256, data->data,
	    data->len, err)) != 0)
		return r;
	intake_bundle_record(b, src->name, now, &qb);
	memset(&rn, 0, sizeof(rn));
	rn.reason = v->reason;
	rn.message = v->message;
	rn.has_invalidity_date = v->has_invalidity_date;
	rn.invalidity_date = v->invalidity_date;
	rn.created = now;
	rn.targets = v->targets.v;
	rn.n_targets = v->targets.n;
	if ((r = store_begin(in->c.st, err)) != 0)
		return r;
	r = queue_revocation_intake(in->c.st, &qb, &rn, NULL, &id, diag, err);
	if (r == ERR_POLICY && diag_count(diag) > 0) {
		store_rollback(in->c.st);
		return 1;
	}
	if (r == ERR_INVALID || r == ERR_LIMIT || r == ERR_POLICY) {
		store_rollback(in->c.st);
		(void)diag_add(diag, NULL, 0, NULL, "the appliance's records "
		    "refuse the request: %s", err->msg);
		return 1;
	}
	snprintf(obj, sizeof(obj), "revocation=%lld bundle=%s", (long long)id,
	    b->env.bundle_sha256);
	snprintf(details, sizeof(details), "bundle %s, digest %s, reason %s, "
	    "%zu targets", b->man.id, b->env.bundle_sha256, v->reason,
	    v->targets.n);
	if ((r = intake_step_end(in, r, r != 0 ? 0 : intake_emit(in,
	    "revocation-requested", EVENT_OK, b->env.signer_sha256,
	    b->signer.name, obj, details), "revocation-requested",
	    err)) != 0 || (r = intake_remove(src, "revocation request", id,
	    err)) != 0)
		return r;
	res->outcome = INTAKE_ACCEPTED;
	res->revocation_id = id;
	return 0;
}

/* Seals what the batch keeps of its secrets, then queues it. */
static int
intake_accept(struct intake *in, const struct intake_src *src, time_t now,
    struct bundle *b, const buf_t *data, struct intake_result *res,
    diag_t *diag, err_t *err)
{
	const struct manifest_request *q = &b->man.req;
	struct queue_bundle qb = { 0 };
	struct queue_batch_new nb = { 0 };
	buf_t sw, dkw, objs;
	secret_t *dk = NULL;
	int64_t batch_id = 0;
	char obj[64], details[ERR_MSG_MAX];
	int r;

	buf_init(&objs, AUDIT_OBJECTS_MAX);
	buf_init(&sw, INTAKE_SEALED_MAX);
	buf_init(&dkw, INTAKE_SEALED_MAX);
	if (q->p12_password != NULL &&
	    (r = vault_seal(in->c.transport_pub, q->p12_password->data,
	    q->p12_password->len, &sw, err)) != 0)
		goto done;
	if (b->generates_keys) {
		if ((r = secret_new(&dk)) != 0) {
			r = err_set(err, r, "out of memory");
			goto done;
		}
		if (RAND_priv_bytes(dk->data, VAULT_KEY_LEN) != 1) {
			r = err_set_ossl(err, ERR_CRYPTO, "cannot draw a data "
			    "key");
			goto done;
		}
		dk->len = VAULT_KEY_LEN;
		r = vault_seal(in->c.transport_pub, dk->data, dk->len, &dkw,
		    err);
		secret_free(dk);
		dk = NULL;
		if (r != 0)
			goto done;
	}
	/* The copy first: once recorded, auditors can always verify it. */
	if ((r = intake_keep_copy(in, b->env.bundle_sha256, data->data,
	    data->len, err)) != 0)
		goto done;

	intake_bundle_record(b, src->name, now, &qb);
	nb.name = q->batch_name;
	nb.description = q->batch_description != NULL ?
	    q->batch_description : "";
	nb.profile = b->profile->name;
	nb.ca_id = b->ca_id;
	nb.mode = manifest_input_name(q->mode);
	nb.line_count = (int64_t)b->n_lines;
	nb.output_format = manifest_format_name(q->format);
	nb.chain = manifest_chain_name(q->chain);
	nb.results_log = manifest_log_name(q->results_log);
	if (q->format == MANIFEST_FORMAT_PKCS12)
		nb.p12_encryption = manifest_p12_name(q->p12_encryption);
	if (b->recipient_der.len > 0) {
		nb.recipient_der = b->recipient_der.data;
		nb.recipient_der_len = b->recipient_der.len;
	}
	if (sw.len > 0) {
		nb.secret_wrapped = sw.data;
		nb.secret_wrapped_len = sw.len;
	}
	if (dkw.len > 0) {
		nb.data_key_wrapped = dkw.data;
		nb.data_key_wrapped_len = dkw.len;
	}
	nb.quorum = (unsigned)b->profile->quorum;
	nb.created = now;
	nb.key_types = b->key_types[0] != '\0' ? b->key_types : NULL;
	/* The bundle, its batch and the record of both: one step. */
	if ((r = store_begin(in->c.st, err)) != 0)
		goto done;
	r = queue_intake(in->c.st, &qb, &nb, bundle_line_get, b, NULL,
	    &batch_id, err);
	if (r == ERR_INVALID || r == ERR_LIMIT) {
		store_rollback(in->c.st);
		/* The records refuse what the checks let through: say so. */
		(void)diag_add(diag, NULL, 0, NULL, "the appliance's records "
		    "refuse the batch: %s", err->msg);
		r = 1;
		goto done;
	}
	snprintf(obj, sizeof(obj), "%lld", (long long)batch_id);
	if (r == 0 && (audit_objects_add(&objs, "batch", obj) != 0 ||
	    audit_objects_add(&objs, "bundle", b->env.bundle_sha256) != 0 ||
	    audit_objects_add(&objs, "profile", b->profile->name) != 0 ||
	    buf_put_u8(&objs, 0) != 0))
		r = err_set(err, ERR_NOMEM, "out of memory");
	snprintf(details, sizeof(details), "bundle %s, digest %s, %zu lines, "
	    "profile %s, key types %s", b->man.id, b->env.bundle_sha256,
	    b->n_lines, b->profile->name, b->key_types);
	if ((r = intake_step_end(in, r, r != 0 ? 0 : intake_emit(in,
	    "bundle-accepted", EVENT_OK, b->env.signer_sha256, b->signer.name,
	    (const char *)objs.data, details), "bundle-accepted", err)) != 0 ||
	    (r = intake_remove(src, "batch", batch_id, err)) != 0)
		goto done;
	res->outcome = INTAKE_ACCEPTED;
	res->batch_id = batch_id;
done:
	buf_free(&objs);
	secret_free(dk);
	buf_free(&sw);
	buf_free(&dkw);
	return r;
}

/* Refuses, records and quarantines a judged file. */
static int
intake_refuse(struct intake *in, const struct intake_src *src,
    time_t received, const struct bundle *b, struct intake_refusal *f,
    const char *action, int record, struct intake_result *res, err_t *err)
{
	struct queue_bundle qb;
	char reason[ERR_MSG_MAX + 64];
	int r = 1;

	if (f->signer_sha256 != NULL && f->signer_sha256[0] == '\0')
		f->signer_sha256 = NULL;
	if (f->signer_sha256 == NULL)
		f->signer_name = NULL;
	if (record && (r = intake_refusal_row(in, src->name, received, b, f,
	    &qb, reason, sizeof(reason), err)) < 0)
		return r;
	return intake_reject(in, src, received, f, action, r == 0 ? &qb :
	    NULL, res, err);
}

/* The replay of a known bundle id, recorded without the id (queue.h). */
static int
intake_replayed_id(struct intake *in, const struct intake_src *src,
    time_t now, const struct bundle *b, int64_t other,
    struct intake_result *res, err_t *err)
{
	struct intake_refusal f = { 0 };
	struct queue_bundle qb = { 0 };
	char reason[ERR_MSG_MAX];
	diag_t d;
	int r;

	diag_init(&d);
	(void)diag_add(&d, MANIFEST_NAME, 0, "id", "bundle id %s was already "
	    "received (bundle #%lld); a bundle id is used once", b->man.id,
	    (long long)other);
	f.stage = "replay";
	f.diag = &d;
	f.sha256 = b->env.bundle_sha256;
	f.signer_sha256 = b->env.signer_sha256;
	f.signer_name = b->signer.name;
	snprintf(reason, sizeof(reason), "replay: bundle id %s was already "
	    "received (bundle #%lld)", b->man.id, (long long)other);
	qb.uuid = NULL;
	qb.sha256 = b->env.bundle_sha256;
	qb.file_name = src->name;
	qb.signer_sha256 = b->env.signer_sha256;
	qb.person_id = b->signer.person_id;
	qb.received_at = now;
	qb.status = QUEUE_BUNDLE_REJECTED;
	qb.reason = reason;
	r = intake_reject(in, src, now, &f, "bundle-replayed", &qb, res, err);
	diag_free(&d);
	return r;
}

/* Refuses a bundle over the size limit without reading it. */
static int
intake_too_large(struct intake *in, const struct intake_src *src,
    time_t now, size_t limit, struct intake_result *res, err_t *err)
{
	struct intake_refusal f = { 0 };
	struct bundle b;
	diag_t d;
	int r;

	memset(&b, 0, sizeof(b));
	diag_init(&d);
	f.diag = &d;
	(void)diag_add(&d, NULL, 0, NULL, "the file is larger than %zu bytes, "
	    "the limit for a bundle", limit);
	f.stage = bundle_stage_name(BUNDLE_STAGE_ENVELOPE);
	r = intake_refuse(in, src, now, &b, &f, "bundle-rejected", 0, res, err);
	diag_free(&d);
	return r;
}

/*
 * Judges the bundle's bytes, whichever way they came, and records,
 * queues or refuses it: the one path for the medium and the console.
 */
static int
intake_judge_bytes(struct intake *in, const struct intake_src *src,
    const buf_t *data, struct intake_result *res, err_t *err)
{
	struct bundle b;
	struct intake_refusal f = { 0 };
	enum bundle_stage stage = BUNDLE_STAGE_NONE;
	enum queue_bundle_status status;
	const char *stage_name = NULL;
	struct bundle_opts o = in->opts;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char sha[65];
	time_t now = intake_now(in);
	int64_t id = 0;
	diag_t d;
	int r;

	memset(&b, 0, sizeof(b));
	diag_init(&d);
	f.diag = &d;
	if (EVP_Digest(data->data, data->len, md, &mdlen, EVP_sha256(),
	    NULL) != 1) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot hash %s", src->name);
		goto done;
	}
	buf_hex(md, mdlen, sha, sizeof(sha));
	if ((r = queue_bundle_seen(in->c.st, NULL, sha, &status, &id,
	    err)) != 0)
		goto done;
	if (status != QUEUE_BUNDLE_UNSEEN) {
		r = intake_known_file(in, src, sha, data, status, id, res, err);
		goto done;
	}

	o.env.now = now;
	if (in->c.judge != NULL)
		r = in->c.judge(in->c.judge_ctx, src->name, src->fd, data, &o,
		    &b, &stage, &stage_name, &d);
	else
		r = bundle_open(src->name, data->data, data->len, &o, &b,
		    &stage, &d);
	if (r == ERR_INVALID || r == ERR_POLICY || r == ERR_LIMIT) {
		f.stage = stage_name != NULL ? stage_name :
		    bundle_stage_name(stage);
		f.sha256 = sha;
		f.signer_sha256 = b.env.signer_sha256;
		f.signer_name = b.signer.name;
		r = intake_refuse(in, src, now, &b, &f, "bundle-rejected", 1,
		    res, err);
		goto done;
	}
	if (r != 0) {
		/* Not judged: the file stays and is tried again. */
		diag_to_err(&d, err, r);
		goto done;
	}
	if ((r = queue_bundle_seen(in->c.st, b.man.id, sha, &status, &id,
	    err)) != 0)
		goto done;
	if (status != QUEUE_BUNDLE_UNSEEN) {
		r = intake_replayed_id(in, src, now, &b, id, res, err);
		goto done;
	}
	if (b.man.kind == MANIFEST_KIND_REVOCATION) {
		r = intake_accept_revocation(in, src, now, &b, data, res, &d,
		    err);
		if (r <= 0)
			goto done;
	} else {
		if ((r = intake_check_names(in, &b, now, &d, err)) != 0)
			goto done;
		if (diag_count(&d) == 0) {
			r = intake_accept(in, src, now, &b, data, res, &d, err);
			if (r <= 0)
				goto done;
		}
	}
	f.stage = "records";
	f.sha256 = sha;
	f.signer_sha256 = b.env.signer_sha256;
	f.signer_name = b.signer.name;
	r = intake_refuse(in, src, now, &b, &f, "bundle-rejected", 1, res,
	    err);
done:
	bundle_free(&b);
	diag_free(&d);
	return r;
}

static int
intake_judge(struct intake *in, int mfd, int ifd, const char *name,
    const struct stat *st, struct intake_result *res, err_t *err)
{
	struct intake_src src = { mfd, ifd, name, st, NULL, -1 };
	size_t limit = intake_max_size(in);
	buf_t data;
	int r;

	if ((uint64_t)st->st_size > limit)
		return intake_too_large(in, &src, intake_now(in), limit, res,
		    err);
	buf_init(&data, limit);
	buf_set_secret(&data);
	/*
	 * Opened once, without following a link or blocking on a FIFO: the
	 * same open file is read here and, with a judge, handed over.
	 */
	src.fd = openat(ifd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK | O_NOCTTY);
	if (src.fd == -1)
		r = err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "inbox/%s: cannot open: %s", name, strerror(errno));
	else
		r = fileio_read_fd(src.fd, name, limit, &data, err);
	if (r == ERR_LIMIT)	/* it grew since the stat */
		r = intake_too_large(in, &src, intake_now(in), limit, res,
		    err);
	else if (r == 0)
		r = intake_judge_bytes(in, &src, &data, res, err);
	if (src.fd != -1)
		close(src.fd);
	buf_free(&data);
	return r;
}

int
intake_submit(struct intake *in, const char *label, const void *data,
    size_t len, struct intake_result *res, buf_t *reason, err_t *err)
{
	struct intake_src src = { -1, -1, label, NULL, NULL, -1 };
	size_t limit;
	buf_t bytes;
	int r;

	memset(res, 0, sizeof(*res));
	res->outcome = INTAKE_WAITING;
	if (reason != NULL) {
		buf_init(reason, INTAKE_REASON_MAX);
		src.reason_text = reason;
	}
	if (in == NULL || label == NULL || *label == '\0' ||
	    !text_clean(label) || (data == NULL && len > 0))
		return err_set(err, ERR_INVALID, "intake: a bundle needs a "
		    "printable label and its bytes");
	limit = intake_max_size(in);
	if (len > limit)
		return intake_too_large(in, &src, intake_now(in), limit, res,
		    err);
	buf_view(&bytes, data, len);
	r = intake_judge_bytes(in, &src, &bytes, res, err);
	return r;
}

int
intake_file(struct intake *in, const char *name, struct intake_result *res,
    err_t *err)
{
	struct stat st;
	int mfd, ifd, r;

	memset(res, 0, sizeof(*res));
	res->outcome = INTAKE_WAITING;
	if (in == NULL || !intake_name_ok(name))
		return err_set(err, ERR_INVALID, "intake: not a file name of "
		    "inbox/");
	if (name[0] == '.') {
		res->outcome = INTAKE_IGNORED;
		return 0;
	}
	if ((r = intake_open_media(in, &mfd, &ifd, err)) != 0)
		return r;
	if (fstatat(ifd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		r = err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "inbox/%s: %s", name, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		intake_note_ignored(in, name, st.st_mode);
		res->outcome = INTAKE_IGNORED;
		r = 0;
	} else {
		r = intake_judge(in, mfd, ifd, name, &st, res, err);
	}
	close(ifd);
	close(mfd);
	return r;
}

/* --- scanning ------------------------------------------------------------------ */

static struct intake_seen *
intake_seen_find(struct intake *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->n_seen; i++)
		if (strcmp(in->seen[i].name, name) == 0)
			return &in->seen[i];
	return NULL;
}

static void
intake_seen_drop(struct intake *in, struct intake_seen *s)
{
	*s = in->seen[--in->n_seen];
}

/*
 * 1 when name has been unchanged for settle_ms; otherwise it is noted
 * (or its change is) and 0.
 */
static int
intake_settled(struct intake *in, const char *name, const struct stat *st)
{
	int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec;
	int64_t now = intake_mono_ms();
	struct intake_seen *s = intake_seen_find(in, name);

	if (s == NULL) {
		if (in->n_seen >= INTAKE_MAX_ENTRIES)
			return 0;	/* the rest wait for a later pass */
		s = &in->seen[in->n_seen++];
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->size = st->st_size;
		s->mtime_ns = mtime_ns;
		s->first_ms = now;
		s->gen = in->gen;
		return 0;
	}
	s->gen = in->gen;
	if (s->size != st->st_size || s->mtime_ns != mtime_ns) {
		s->size = st->st_size;
		s->mtime_ns = mtime_ns;
		s->first_ms = now;
		return 0;
	}
	return now - s->first_ms >= (int64_t)in->c.settle_ms;
}

/* Up to INTAKE_MAX_ENTRIES names of inbox/ (without . and ..). */
static int
intake_list(int ifd, char ***out, size_t *n, err_t *err)
{
	struct dirent *de;
	DIR *dir;
	int fd = dup(ifd);

	*out = NULL;
	*n = 0;
	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return err_set(err, ERR_IO, "inbox/: cannot list: %s",
		    strerror(errno));
	}
	if ((*out = calloc(INTAKE_MAX_ENTRIES, sizeof(**out))) == NULL) {
		closedir(dir);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	rewinddir(dir);
	while (*n < INTAKE_MAX_ENTRIES && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (((*out)[*n] = strdup(de->d_name)) == NULL)
			break;
		(*n)++;
	}
	closedir(dir);
	return 0;
}

int
intake_scan(struct intake *in, size_t *accepted, size_t *rejected,
    err_t *err)
{
	char **names = NULL;
	size_t n = 0, i, acc = 0, rej = 0;
	int mfd, ifd, r;

	if (accepted != NULL)
		*accepted = 0;
	if (rejected != NULL)
		*rejected = 0;
	if (in == NULL)
		return err_set(err, ERR_INVALID, "intake_scan: no intake");
	r = intake_open_media(in, &mfd, &ifd, err);
	if (r == ERR_NOTFOUND)
		return 0;	/* no stick, or no inbox/ on it */
	if (r != 0)
		return r;
	r = intake_list(ifd, &names, &n, err);
	in->gen++;
	for (i = 0; r == 0 && i < n; i++) {
		struct intake_result res;
		struct intake_seen *s;
		struct stat st;
		err_t e;
		int fr;

		if (names[i][0] == '.' ||
		    fstatat(ifd, names[i], &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (!S_ISREG(st.st_mode)) {
			intake_note_ignored(in, names[i], st.st_mode);
			continue;
		}
		if (!intake_settled(in, names[i], &st))
			continue;
		fr = intake_file(in, names[i], &res, &e);
		if (fr != 0) {
			/* The store or the disk failed: stop this pass. */
			if (fr == ERR_IO || fr == ERR_NOMEM) {
				if (err != NULL)
					*err = e;
				r = fr;
			}
			continue;
		}
		if (res.outcome == INTAKE_ACCEPTED)
			acc++;
		else if (res.outcome == INTAKE_REJECTED)
			rej++;
		if (res.outcome != INTAKE_WAITING &&
		    (s = intake_seen_find(in, names[i])) != NULL)
			intake_seen_drop(in, s);
	}
	/* Forget files that went away, so the table holds what is there. */
	for (i = 0; i < in->n_seen;) {
		if (in->seen[i].gen != in->gen)
			intake_seen_drop(in, &in->seen[i]);
		else
			i++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	close(ifd);
	close(mfd);
	if (accepted != NULL)
		*accepted = acc;
	if (rejected != NULL)
		*rejected = rej;
	return r;
}
