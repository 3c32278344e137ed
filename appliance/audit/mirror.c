/* mirror.c: the audit log's text mirror (see mirror.h). */
#include "audit/mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/timeutil.h"

/* Bytes read back at a time when the file is compared at open. */
#define MIRROR_CHUNK 65536

struct audit_mirror {
	pthread_mutex_t lock;
	char *path;
	int fd;			/* O_APPEND */
	int64_t seq;		/* the last record the file holds */
	off_t size;		/* bytes of whole lines written */
	off_t rec_off;		/* where record seq's line starts */
	/* A write failed (disk full, I/O): what follows record seq in the
	 * file may lack a checkpoint line, so the next sync writes again
	 * from record seq on (mirror_repair). */
	int stale;
};

/* The seq of a canonical line that is a record, else 0. */
static int64_t
mirror_line_seq(const char *line, size_t len)
{
	int64_t v = 0;
	size_t i;

	if (len < 3 || line[0] != 'R' || line[1] != '\t')
		return 0;
	for (i = 2; i < len && line[i] >= '0' && line[i] <= '9'; i++)
		v = v * 10 + (line[i] - '0');
	return v;
}

/*
 * Appends a canonical line (all of it: a short write is retried, an error
 * is ERR_IO) and, for a record, notes its seq as the file's last. A
 * failed write takes back what part of the line it wrote and leaves the
 * mirror stale.
 */
static int
mirror_write(struct audit_mirror *m, const char *p, size_t n, err_t *err)
{
	int64_t seq = mirror_line_seq(p, n);
	off_t start = m->size;
	size_t total = n;

	while (n > 0) {
		ssize_t w = write(m->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int saved = w < 0 ? errno : 0;

			/* Best effort: mirror_repair cuts the file again. */
			m->stale = 1;
			if (ftruncate(m->fd, m->size) != 0)
				m->stale = 1;
			return err_set(err, ERR_IO, "cannot write %s: %s",
			    m->path, saved != 0 ? strerror(saved) :
			    "short write");
		}
		p += w;
		n -= (size_t)w;
	}
	m->size += (off_t)total;
	if (seq != 0) {
		m->seq = seq;
		m->rec_off = start;
	}
	return 0;
}

/*
 * After a failed write: the file is cut back to the start of record
 * seq's line and written again from there, so that a checkpoint whose
 * row was recorded but whose line was lost takes its place before the
 * records that follow it, as the canonical text has it.
 */
static int
mirror_repair(struct audit_mirror *m, err_t *err)
{
	if (!m->stale)
		return 0;
	if (ftruncate(m->fd, m->rec_off) != 0)
		return err_set(err, ERR_IO, "cannot truncate %s: %s", m->path,
		    strerror(errno));
	m->size = m->rec_off;
	if (m->seq > 0)
		m->seq--;
	m->stale = 0;
	return 0;
}

/* --- open: compare the file with the store ---------------------------- */

enum mirror_cmp_state {
	MIRROR_READING,		/* the file matched so far */
	MIRROR_APPENDING,	/* it ran out: the rest is written */
	MIRROR_DIFFERS		/* it said something else */
};

struct mirror_cmp {
	struct audit_mirror *m;
	FILE *f;
	off_t size;		/* the file's size at open */
	off_t good;		/* bytes that matched whole lines */
	int cut;		/* the file ended inside a line */
	enum mirror_cmp_state state;
	audit_text_fn tap;
	void *tap_ctx;
	char buf[MIRROR_CHUNK];
};

/* 1 when the file's next len bytes are line, 0 when it ran out first. */
static int
mirror_cmp_read(struct mirror_cmp *c, const char *line, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t want = len - off < sizeof(c->buf) ? len - off :
		    sizeof(c->buf);
		size_t got = fread(c->buf, 1, want, c->f);

		if (got > 0 && memcmp(c->buf, line + off, got) != 0) {
			c->state = MIRROR_DIFFERS;
			return 0;
		}
		off += got;
		if (got < want)
			return 0;
	}
	return 1;
}

static int
mirror_cmp_line(void *ctx, const char *line, size_t len, err_t *err)
{
	struct mirror_cmp *c = ctx;
	int64_t seq = mirror_line_seq(line, len);
	int r;

	if (c->tap != NULL && (r = c->tap(c->tap_ctx, line, len, err)) != 0)
		return r;
	if (c->state == MIRROR_READING) {
		if (mirror_cmp_read(c, line, len)) {
			if (seq != 0) {
				c->m->seq = seq;
				c->m->rec_off = c->good;
			}
			c->good += (off_t)len;
			c->m->size = c->good;
			return 0;
		}
		if (c->state == MIRROR_DIFFERS)
			return 0;
		/* The file ran out: drop a line cut by a crash, then write
		 * what it lacks, from this line on. */
		if (c->good < c->size) {
			if (ftruncate(c->m->fd, c->good) != 0)
				return err_set(err, ERR_IO, "cannot truncate "
				    "%s: %s", c->m->path, strerror(errno));
			c->cut = 1;
		}
		c->m->size = c->good;
		c->state = MIRROR_APPENDING;
	}
	if (c->state == MIRROR_APPENDING)
		return mirror_write(c->m, line, len, err);
	return 0;
}

/* Renames the file aside, for the auditors, and starts a new one. */
static int
mirror_set_aside(struct audit_mirror *m, time_t now, char *aside,
    size_t asidesz, err_t *err)
{
	char when[TIMEUTIL_STRLEN];
	int i;

	timeutil_format(now, when);
	/*
	 * rename(2) would silently replace a copy set aside before under the
	 * same name (two mismatches within a second, or a clock set back) and
	 * destroy what the auditors need; link(2) refuses an existing name,
	 * so the next free ".N" is taken instead.
	 */
	for (i = 0;; i++) {
		if (i == 0)
			snprintf(aside, asidesz, "%s.mismatch-%s", m->path,
			    when);
		else
			snprintf(aside, asidesz, "%s.mismatch-%s.%d", m->path,
			    when, i);
		if (link(m->path, aside) == 0)
			break;
		if (errno != EEXIST || i == 999)
			return err_set(err, ERR_IO, "cannot set %s aside as "
			    "%s: %s", m->path, aside, strerror(errno));
	}
	if (unlink(m->path) != 0)
		return err_set(err, ERR_IO, "cannot set %s aside as %s: %s",
		    m->path, aside, strerror(errno));
	close(m->fd);
	m->fd = open(m->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	if (m->fd < 0)
		return err_set(err, ERR_IO, "cannot create %s: %s", m->path,
		    strerror(errno));
	m->seq = 0;
	m->size = 0;
	m->rec_off = 0;
	return 0;
}

/* Compares (and completes) the file; c->state says how it went. */
static int
mirror_compare(struct mirror_cmp *c, struct store *st, err_t *err)
{
	int rfd, r;

	if ((rfd = open(c->m->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (c->f = fdopen(rfd, "r")) == NULL) {
		r = err_set(err, ERR_IO, "cannot read %s: %s", c->m->path,
		    strerror(errno));
		if (rfd >= 0)
			close(rfd);
		return r;
	}
	r = audit_log_text(st, 1, 0, mirror_cmp_line, c, err);
	/* Every line matched, and the file runs on: it holds more. */
	if (r == 0 && c->state == MIRROR_READING &&
	    fread(c->buf, 1, 1, c->f) == 1)
		c->state = MIRROR_DIFFERS;
	fclose(c->f);
	c->f = NULL;
	return r;
}

int
audit_mirror_open(const char *path, struct store *st, audit_text_fn tap,
    void *tap_ctx, char *note, size_t notesz, struct audit_mirror **out,
    err_t *err)
{
	struct audit_mirror *m;
	struct mirror_cmp *c = NULL;
	struct stat sb;
	char aside[4200];
	int r;

	*out = NULL;
	if (note != NULL && notesz > 0)
		note[0] = '\0';
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->path = strdup(path)) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		if (m != NULL)
			free(m->path);
		free(m);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&m->lock, NULL);
	m->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (m->fd < 0) {
		r = err_set(err, ERR_IO, "cannot open %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (fstat(m->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		r = err_set(err, ERR_IO, "%s is not a regular file", path);
		goto fail;
	}
	c->m = m;
	c->size = sb.st_size;
	c->tap = tap;
	c->tap_ctx = tap_ctx;
	if ((r = mirror_compare(c, st, err)) != 0)
		goto fail;
	if (c->state == MIRROR_DIFFERS) {
		int64_t matched = m->seq;

		if ((r = mirror_set_aside(m, time(NULL), aside, sizeof(aside),
		    err)) != 0)
			goto fail;
		c->state = MIRROR_APPENDING;
		c->tap = NULL;
		if ((r = audit_log_text(st, 1, 0, mirror_cmp_line, c,
		    err)) != 0)
			goto fail;
		if (note != NULL)
			snprintf(note, notesz, "the audit log's text copy "
			    "differed from the database after record %lld; it "
			    "was kept as %s and written again", (long long)
			    matched, aside);
	} else if (c->cut && note != NULL)
		snprintf(note, notesz, "the audit log's text copy ended inside "
		    "a line (an interrupted write); the line was written "
		    "again");
	if (fsync(m->fd) != 0) {
		r = err_set(err, ERR_IO, "cannot fsync %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	free(c);
	*out = m;
	return 0;
fail:
	free(c);
	audit_mirror_close(m);
	return r;
}

void
audit_mirror_close(struct audit_mirror *m)
{
	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m->path);
	free(m);
}

struct mirror_append {
	struct audit_mirror *m;
	size_t lines;
};

static int
mirror_append_line(void *ctx, const char *line, size_t len, err_t *err)
{
	struct mirror_append *a = ctx;
	int r;

	if ((r = mirror_write(a->m, line, len, err)) != 0)
		return r;
	a->lines++;
	return 0;
}

static int
mirror_sync_locked(struct audit_mirror *m, struct store *st, err_t *err)
{
	struct mirror_append a = { m, 0 };
	int r;

	if ((r = mirror_repair(m, err)) != 0)
		return r;
	if ((r = audit_log_text(st, m->seq + 1, 0, mirror_append_line, &a,
	    err)) != 0)
		return r;
	if (a.lines > 0 && fsync(m->fd) != 0)
		return err_set(err, ERR_IO, "cannot fsync %s: %s", m->path,
		    strerror(errno));
	return 0;
}

int
audit_mirror_sync(struct audit_mirror *m, struct store *st, err_t *err)
{
	int r;

	pthread_mutex_lock(&m->lock);
	r = mirror_sync_locked(m, st, err);
	pthread_mutex_unlock(&m->lock);
	return r;
}

int
audit_mirror_checkpoint(struct audit_mirror *m, struct store *st,
    EVP_PKEY *key, const char key_sha256[AUDIT_HASH_HEX], const char *reason,
    time_t now, struct audit_checkpoint *out, err_t *err)
{
	struct audit_checkpoint cp;
	buf_t line;
	int r;

	memset(&cp, 0, sizeof(cp));
	buf_init(&line, AUDIT_LINE_MAX);
	pthread_mutex_lock(&m->lock);
	if ((r = mirror_sync_locked(m, st, err)) != 0)
		goto out;
	if (m->seq == 0) {
		r = err_set(err, ERR_NOTFOUND, "the audit log is empty");
		goto out;
	}
	/* Signed already (nothing happened since the last checkpoint). */
	{
		struct audit_checkpoint last;
		err_t ignored;

		if (audit_log_last_checkpoint(st, &last, &ignored) == 0 &&
		    last.seq == m->seq) {
			cp = last;
			goto done;
		}
	}
	/* The last record the file holds, whatever was appended since. */
	if ((r = audit_log_hash_at(st, m->seq, cp.hash, err)) != 0)
		goto out;
	cp.seq = m->seq;
	cp.time = now;
	memcpy(cp.key_sha256, key_sha256, AUDIT_HASH_HEX);
	if ((r = audit_checkpoint_sign(&cp, key, err)) != 0 ||
	    (r = audit_log_checkpoint_add(st, &cp, reason, err)) != 0 ||
	    (r = audit_checkpoint_line(&cp, &line, err)) != 0 ||
	    (r = mirror_write(m, (const char *)line.data, line.len,
	    err)) != 0)
		goto out;
	if (fsync(m->fd) != 0) {
		r = err_set(err, ERR_IO, "cannot fsync %s: %s", m->path,
		    strerror(errno));
		goto out;
	}
done:
	if (out != NULL)
		*out = cp;
out:
	pthread_mutex_unlock(&m->lock);
	buf_free(&line);
	return r;
}

int64_t
audit_mirror_seq(struct audit_mirror *m)
{
	int64_t v;

	pthread_mutex_lock(&m->lock);
	v = m->seq;
	pthread_mutex_unlock(&m->lock);
	return v;
}

const char *
audit_mirror_path(const struct audit_mirror *m)
{
	return m->path;
}
