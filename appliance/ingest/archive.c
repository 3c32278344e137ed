/*
 * archive.c: the bundle's ZIP archive, read from untrusted bytes (see
 * archive.h and docs/formats/bundle.md).
 */
#include "ingest/archive.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "util/text.h"

const struct archive_limits archive_default_limits = {
	.max_entries = 100001,
	.max_entry_size = 32u * 1024 * 1024,
	.max_total_size = 256u * 1024 * 1024,
	.max_ratio = 100,
	.ratio_floor = 64u * 1024,
	.max_name = 255,
	.max_depth = 8,
};

/* What we keep per entry, once it has passed every check. */
struct archive_entry {
	char *name;		/* exact bytes from the central directory */
	zip_uint64_t index;	/* libzip's index */
	uint64_t size;		/* uncompressed, as the header says */
	uint64_t comp_size;
	int is_dir;
};

struct archive {
	zip_t *zip;
	char *label;
	struct archive_limits lim;
	struct archive_entry *e;
	size_t n;
	size_t *by_name;	/* entry numbers sorted by name, for lookups */
	uint64_t total_read;	/* uncompressed bytes handed out so far */
};

/* One central directory record as the raw bytes give it. */
struct cd_rec {
	const unsigned char *name;
	size_t name_len;
	uint64_t comp_size;
	uint64_t offset;	/* of the local header */
};

#define SHOW_MAX 96	/* characters of a hostile name quoted in a message */

static uint16_t
rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	    ((uint32_t)p[3] << 24);
}

static uint64_t
rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/*
 * Kept as a wrapper because manifest.c and the tests name archive entries
 * through it; the one module-specific part is how much of a name is shown.
 */
char *
archive_show_name(const char *name, size_t len, char *out, size_t outsz)
{
	text_show(name, len, SHOW_MAX, out, outsz);
	return out;
}

/* Writes a phrase into why and returns code, for archive_check_name. */
static int
name_bad(char *why, size_t whysz, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
name_bad(char *why, size_t whysz, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return code;
}

int
archive_check_name(const char *name, size_t len,
    const struct archive_limits *lim, char *why, size_t whysz)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i, n, start, depth = 0, body = len;
	uint32_t cp;

	if (lim == NULL)
		lim = &archive_default_limits;
	if (len == 0)
		return name_bad(why, whysz, ERR_INVALID, "has an empty name");
	if (len > lim->max_name)
		return name_bad(why, whysz, ERR_LIMIT,
		    "name is longer than %zu bytes", lim->max_name);
	if (memchr(name, '\0', len) != NULL)
		return name_bad(why, whysz, ERR_INVALID,
		    "name contains a NUL byte");
	for (i = 0; i < len; i += n) {
		if ((n = text_utf8_next(p + i, len - i, &cp)) == 0)
			return name_bad(why, whysz, ERR_INVALID,
			    "name is not valid UTF-8");
		/*
		 * Controls and bidi or zero-width characters: invisible in
		 * listings, dangerous in logs, able to disguise a name.
		 */
		if (text_forbidden(cp))
			return name_bad(why, whysz, ERR_INVALID,
			    "name contains a control character");
	}
	if (memchr(name, '\\', len) != NULL)
		return name_bad(why, whysz, ERR_INVALID,
		    "name contains a backslash");
	if (name[0] == '/')
		return name_bad(why, whysz, ERR_INVALID,
		    "name is an absolute path");
	if (len >= 2 && name[1] == ':' && ((name[0] >= 'a' && name[0] <= 'z') ||
	    (name[0] >= 'A' && name[0] <= 'Z')))
		return name_bad(why, whysz, ERR_INVALID,
		    "name starts with a drive letter");
	/* A directory's trailing '/' ends the name; it is not a component. */
	if (name[len - 1] == '/')
		body = len - 1;
	for (start = 0; start <= body; start = i + 1) {
		size_t clen;

		for (i = start; i < body && name[i] != '/'; i++)
			;
		clen = i - start;
		if (clen == 0)
			return name_bad(why, whysz, ERR_INVALID,
			    "name contains an empty component");
		if (clen == 2 && name[start] == '.' && name[start + 1] == '.')
			return name_bad(why, whysz, ERR_INVALID,
			    "name contains a '..' component");
		if (clen == 1 && name[start] == '.')
			return name_bad(why, whysz, ERR_INVALID,
			    "name contains a '.' component");
		if (++depth > lim->max_depth)
			return name_bad(why, whysz, ERR_LIMIT,
			    "name is deeper than %zu components",
			    lim->max_depth);
	}
	return 0;
}

/*
 * Finds the end-of-central-directory record, which must end exactly at
 * the end of the data (its comment included), and from it (or its ZIP64
 * form) the central directory's offset, size and entry count.
 */
static int
cd_locate(const unsigned char *p, size_t len, uint64_t *cd_off,
    uint64_t *cd_size, uint64_t *count, uint64_t *cd_end_max)
{
	size_t pos, lowest;

	if (len < 22)
		return -1;
	lowest = len - 22 > 65535 ? len - 22 - 65535 : 0;
	for (pos = len - 22; ; pos--) {
		if (memcmp(p + pos, "PK\5\6", 4) == 0 &&
		    rd16(p + pos + 20) == len - pos - 22)
			break;
		if (pos == lowest)
			return -1;
	}
	*count = rd16(p + pos + 10);
	*cd_size = rd32(p + pos + 12);
	*cd_off = rd32(p + pos + 16);
	*cd_end_max = pos;
	if (*count == 0xffff || *cd_size == 0xffffffff ||
	    *cd_off == 0xffffffff) {
		uint64_t z;

		if (pos < 20 || memcmp(p + pos - 20, "PK\6\7", 4) != 0)
			return -1;
		z = rd64(p + pos - 20 + 8);
		if (z > pos - 20 || pos - 20 - z < 56 ||
		    memcmp(p + z, "PK\6\6", 4) != 0)
			return -1;
		*count = rd64(p + z + 32);
		*cd_size = rd64(p + z + 40);
		*cd_off = rd64(p + z + 48);
		*cd_end_max = z;
	}
	if (*cd_off > *cd_end_max || *cd_size > *cd_end_max - *cd_off)
		return -1;
	return 0;
}

/* Replaces 32-bit fields set to all ones by their ZIP64 extra values. */
static int
cd_zip64(const unsigned char *ef, size_t eflen, int need_size, int need_comp,
    int need_off, struct cd_rec *r)
{
	size_t i = 0;

	while (eflen - i >= 4) {
		uint16_t id = rd16(ef + i), sz = rd16(ef + i + 2);
		const unsigned char *v = ef + i + 4;
		size_t want = 8u * (size_t)(need_size + need_comp + need_off);

		if (sz > eflen - i - 4)
			return -1;
		if (id == 0x0001) {
			if (sz < want)
				return -1;
			v += need_size ? 8 : 0;
			if (need_comp) {
				r->comp_size = rd64(v);
				v += 8;
			}
			if (need_off)
				r->offset = rd64(v);
			return 0;
		}
		i += 4u + sz;
	}
	return -1;
}

/*
 * Walks the raw central directory into recs (room for max records).
 * Returns the number of records, or -1 when the structure does not hold.
 * libzip has already accepted the archive when this runs after a
 * successful open; the walk exists to see the exact name bytes and the
 * data offsets, which libzip does not expose.
 */
static long
cd_walk(const unsigned char *p, size_t len, struct cd_rec *recs, size_t max)
{
	uint64_t cd_off, cd_size, count, cd_end_max, pos, end, i;

	if (cd_locate(p, len, &cd_off, &cd_size, &count, &cd_end_max) != 0 ||
	    count > max || count > LONG_MAX)
		return -1;
	pos = cd_off;
	end = cd_off + cd_size;
	for (i = 0; i < count; i++) {
		const unsigned char *h = p + pos;
		struct cd_rec *r = &recs[i];
		size_t nl, el, cl;

		if (end - pos < 46 || memcmp(h, "PK\1\2", 4) != 0)
			return -1;
		nl = rd16(h + 28);
		el = rd16(h + 30);
		cl = rd16(h + 32);
		if (end - pos - 46 < nl + el + cl)
			return -1;
		r->name = h + 46;
		r->name_len = nl;
		r->comp_size = rd32(h + 20);
		r->offset = rd32(h + 42);
		if ((rd32(h + 24) == 0xffffffff || r->comp_size == 0xffffffff ||
		    r->offset == 0xffffffff) &&
		    cd_zip64(h + 46 + nl, el, rd32(h + 24) == 0xffffffff,
		    r->comp_size == 0xffffffff, r->offset == 0xffffffff, r) != 0)
			return -1;
		pos += 46 + nl + el + cl;
	}
	return pos == end ? (long)count : -1;
}

static int
rec_cmp_offset(const void *a, const void *b)
{
	const struct cd_rec *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * Each entry's local header and data must lie before the next entry and
 * before the central directory: overlapping entries let one compressed
 * stream be counted many times (the "overlapping" zip bomb), and data
 * shared between names means two tools may read different files.
 */
static int
cd_check_overlap(const unsigned char *p, size_t len, struct cd_rec *recs,
    size_t n, uint64_t cd_off, const char *label, diag_t *diag)
{
	char shown[SHOW_MAX * 4 + 8];
	size_t i;

	qsort(recs, n, sizeof(*recs), rec_cmp_offset);
	for (i = 0; i < n; i++) {
		const struct cd_rec *r = &recs[i];
		uint64_t limit = i + 1 < n ? recs[i + 1].offset : cd_off;
		uint64_t data;

		if (r->offset > len || len - r->offset < 30 ||
		    memcmp(p + r->offset, "PK\3\4", 4) != 0) {
			(void)diag_add(diag, label, 0, NULL, "entry '%s': no "
			    "local header at "
			    "the offset the central directory gives",
			    archive_show_name((const char *)r->name, r->name_len,
			    shown, sizeof(shown)));
			return ERR_INVALID;
		}
		data = r->offset + 30 + rd16(p + r->offset + 26) +
		    rd16(p + r->offset + 28);
		if (data > limit || r->comp_size > limit - data) {
			(void)diag_add(diag, label, 0, NULL, "entry '%s': its "
			    "data overlaps the "
			    "next entry or the central directory",
			    archive_show_name((const char *)r->name, r->name_len,
			    shown, sizeof(shown)));
			return ERR_INVALID;
		}
	}
	return 0;
}

/* ASCII case folding: what a case-insensitive file system would merge. */
static int
fold_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y || x == 0)
			return x - y;
	}
}

/* Orders entry numbers by folded name (ties by exact name); ctx: entries. */
static int
idx_cmp_fold(const void *a, const void *b, void *ctx)
{
	const struct archive_entry *e = ctx;
	const struct archive_entry *x = &e[*(const size_t *)a];
	const struct archive_entry *y = &e[*(const size_t *)b];
	int c = fold_cmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static int
idx_cmp_exact(const void *a, const void *b, void *ctx)
{
	const struct archive_entry *e = ctx;

	return strcmp(e[*(const size_t *)a].name, e[*(const size_t *)b].name);
}

/* 1 when folded `name` begins with folded `prefix`. */
static int
fold_prefix(const char *name, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i] != '\0'; i++) {
		int x = (unsigned char)name[i], y = (unsigned char)prefix[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

/*
 * Duplicates, names equal but for ASCII case, and a file that another
 * entry uses as a directory: each would make two entries one file on
 * some system, and which one wins would depend on the tool.
 */
static int
check_collisions(struct archive *a, diag_t *diag, int *first)
{
	char s1[SHOW_MAX * 4 + 8], s2[SHOW_MAX * 4 + 8];
	size_t *ix, i;
	int bad = 0;

	if (a->n < 2)
		return 0;
	if ((ix = calloc(a->n, sizeof(*ix))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < a->n; i++)
		ix[i] = i;
	qsort_r(ix, a->n, sizeof(*ix), idx_cmp_fold, a->e);
	for (i = 0; i + 1 < a->n; i++) {
		const char *x = a->e[ix[i]].name, *y = a->e[ix[i + 1]].name;

		if (fold_cmp(x, y) != 0)
			continue;
		bad = 1;
		if (strcmp(x, y) == 0)
			(void)diag_add(diag, a->label, 0, NULL, "entry '%s': the "
			    "name appears more than once", archive_show_name(x,
			    strlen(x), s1, sizeof(s1)));
		else
			(void)diag_add(diag, a->label, 0, NULL, "entries '%s' "
			    "and '%s': the names differ only in case",
			    archive_show_name(x, strlen(x), s1, sizeof(s1)),
			    archive_show_name(y, strlen(y), s2, sizeof(s2)));
	}
	/* Sorted by folded name, "f/..." follows "f" after names like "f-x". */
	for (i = 0; i < a->n; i++) {
		const struct archive_entry *f = &a->e[ix[i]];
		size_t j, fl = strlen(f->name);

		if (f->is_dir)
			continue;
		for (j = i + 1; j < a->n; j++) {
			const char *g = a->e[ix[j]].name;

			if (!fold_prefix(g, f->name))
				break;
			if (g[fl] == '/') {
				bad = 1;
				(void)diag_add(diag, a->label, 0, NULL, "entry "
				    "'%s' is a file, but entry '%s' uses it as "
				    "a directory", archive_show_name(f->name, fl,
				    s1, sizeof(s1)), archive_show_name(g,
				    strlen(g), s2, sizeof(s2)));
				break;
			}
		}
	}
	free(ix);
	if (bad && *first == 0)
		*first = ERR_INVALID;
	return 0;
}

static int
ratio_exceeded(uint64_t size, uint64_t comp, const struct archive_limits *l)
{
	if (size <= l->ratio_floor)
		return 0;
	if (comp == 0)
		return 1;
	if (comp > UINT64_MAX / l->max_ratio)
		return 0;
	return size > comp * l->max_ratio;
}

/* Records a problem with entry `name`; the first code becomes the result. */
static void
entry_problem(struct archive *a, diag_t *diag, int *first, int code,
    const char *name, size_t len, const char *why)
{
	char shown[SHOW_MAX * 4 + 8];

	(void)diag_add(diag, a->label, 0, NULL, "entry '%s': %s",
	    archive_show_name(name, len, shown, sizeof(shown)), why);
	if (*first == 0)
		*first = code;
}

/* The file type from Unix external attributes, or -1 when not recorded. */
static int
unix_type(zip_t *z, zip_uint64_t i, mode_t *type)
{
	zip_uint8_t opsys;
	zip_uint32_t attr;

	if (zip_file_get_external_attributes(z, i, 0, &opsys, &attr) != 0 ||
	    opsys != ZIP_OPSYS_UNIX)
		return -1;
	*type = (mode_t)(attr >> 16) & S_IFMT;
	/* A Unix writer that recorded no type said nothing either way. */
	return *type == 0 ? -1 : 0;
}

/* Checks one entry as libzip and the raw directory record describe it. */
static int
check_entry(struct archive *a, const struct cd_rec *r, zip_uint64_t i,
    diag_t *diag, int *first)
{
	const struct archive_limits *l = &a->lim;
	struct archive_entry *e = &a->e[a->n];
	const char *zname, *raw = (const char *)r->name;
	char why[256];
	zip_stat_t st;
	mode_t type = 0;
	int code, is_dir;

	if ((code = archive_check_name(raw, r->name_len, l, why,
	    sizeof(why))) != 0) {
		entry_problem(a, diag, first, code, raw, r->name_len, why);
		return 0;
	}
	/*
	 * libzip prefers an Info-ZIP Unicode Path extra field to the name
	 * itself; other tools do not. One entry, one name.
	 */
	zname = zip_get_name(a->zip, i, ZIP_FL_ENC_RAW);
	if (zname == NULL || strlen(zname) != r->name_len ||
	    memcmp(zname, raw, r->name_len) != 0) {
		entry_problem(a, diag, first, ERR_INVALID, raw, r->name_len,
		    "a Unicode Path extra field gives the entry another name");
		return 0;
	}
	zip_stat_init(&st);
	if (zip_stat_index(a->zip, i, ZIP_FL_UNCHANGED, &st) != 0 ||
	    (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
	    ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD)) !=
	    (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD |
	    ZIP_STAT_ENCRYPTION_METHOD)) {
		entry_problem(a, diag, first, ERR_INVALID, raw, r->name_len,
		    "libzip cannot describe the entry");
		return 0;
	}
	if (st.encryption_method != ZIP_EM_NONE) {
		entry_problem(a, diag, first, ERR_INVALID, raw, r->name_len,
		    "the entry is encrypted; bundles are protected by CMS, "
		    "never by ZIP encryption");
		return 0;
	}
	if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
		snprintf(why, sizeof(why), "compression method %d is not "
		    "allowed (only store and deflate)", (int)st.comp_method);
		entry_problem(a, diag, first, ERR_INVALID, raw, r->name_len, why);
		return 0;
	}
	is_dir = raw[r->name_len - 1] == '/';
	if (unix_type(a->zip, i, &type) == 0) {
		if (type == S_IFLNK) {
			entry_problem(a, diag, first, ERR_INVALID, raw,
			    r->name_len, "the entry is a symbolic link");
			return 0;
		}
		if (type != S_IFREG && type != S_IFDIR) {
			snprintf(why, sizeof(why), "the entry is a special file "
			    "(Unix type %06o), not a regular file or directory",
			    (unsigned)type);
			entry_problem(a, diag, first, ERR_INVALID, raw,
			    r->name_len, why);
			return 0;
		}
		if ((type == S_IFDIR) != is_dir) {
			entry_problem(a, diag, first, ERR_INVALID, raw,
			    r->name_len, is_dir ? "the name ends in '/' but "
			    "the attributes say regular file" : "the attributes "
			    "say directory but the name does not end in '/'");
			return 0;
		}
	}
	if (is_dir && (st.size != 0 || st.comp_size > 2)) {
		/* Deflating nothing takes two bytes; anything more is data. */
		entry_problem(a, diag, first, ERR_INVALID, raw, r->name_len,
		    "a directory entry must hold no data");
		return 0;
	}
	if (st.size > l->max_entry_size) {
		snprintf(why, sizeof(why), "uncompressed size %llu exceeds the "
		    "per-entry limit of %llu bytes", (unsigned long long)st.size,
		    (unsigned long long)l->max_entry_size);
		entry_problem(a, diag, first, ERR_LIMIT, raw, r->name_len, why);
		return 0;
	}
	if (ratio_exceeded(st.size, st.comp_size, l)) {
		snprintf(why, sizeof(why), "compression ratio of %llu to %llu "
		    "exceeds %llu:1", (unsigned long long)st.size,
		    (unsigned long long)st.comp_size,
		    (unsigned long long)l->max_ratio);
		entry_problem(a, diag, first, ERR_LIMIT, raw, r->name_len, why);
		return 0;
	}
	if ((e->name = malloc(r->name_len + 1)) == NULL)
		return ERR_NOMEM;
	memcpy(e->name, raw, r->name_len);
	e->name[r->name_len] = '\0';
	e->index = i;
	e->size = st.size;
	e->comp_size = st.comp_size;
	e->is_dir = is_dir;
	a->n++;
	return 0;
}

/* Names the duplicate libzip refused, from the raw directory. */
static void
name_duplicate(const unsigned char *p, size_t len, size_t max,
    const char *label, diag_t *diag)
{
	char shown[SHOW_MAX * 4 + 8];
	struct cd_rec *recs = calloc(max ? max : 1, sizeof(*recs));
	long n = recs ? cd_walk(p, len, recs, max) : -1;
	long i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (recs[i].name_len == recs[j].name_len &&
			    memcmp(recs[i].name, recs[j].name,
			    recs[i].name_len) == 0) {
				(void)diag_add(diag, label, 0, NULL, "entry '%s': "
				    "the name appears more than once",
				    archive_show_name((const char *)recs[i].name,
				    recs[i].name_len, shown, sizeof(shown)));
				free(recs);
				return;
			}
	free(recs);
	(void)diag_add(diag, label, 0, NULL, "two entries have the same name");
}

/* How far back from the end an end record is looked for when diagnosing. */
#define EOCD_SEARCH_MAX (1024u * 1024)

/*
 * libzip says only "not a ZIP archive" or "inconsistent"; when the raw
 * structure shows where, says that instead: bytes after the
 * end-of-central-directory record, an end record placing the directory
 * outside the archive, a directory that does not hold the entries the
 * end record counts, or an entry whose local header or data is not where
 * the directory says (cd_check_overlap). Returns 1 when it added a
 * message, 0 when the caller's generic one must do, ERR_NOMEM.
 */
static int
raw_diagnose(const unsigned char *p, size_t len, size_t max,
    const char *label, diag_t *diag)
{
	uint64_t cd_off, cd_size, count, cd_end_max;
	struct cd_rec *recs;
	long n;
	int r;

	if (cd_locate(p, len, &cd_off, &cd_size, &count, &cd_end_max) != 0) {
		size_t pos, lowest;

		if (len < 22)
			return 0;
		lowest = len - 22 > EOCD_SEARCH_MAX ? len - 22 - EOCD_SEARCH_MAX :
		    0;
		for (pos = len - 22; ; pos--) {
			if (memcmp(p + pos, "PK\5\6", 4) == 0)
				break;
			if (pos == lowest)
				return 0;
		}
		if (len - pos - 22 > rd16(p + pos + 20))
			(void)diag_add(diag, label, 0, NULL, "%zu bytes follow "
			    "the end-of-central-directory record (at offset "
			    "%zu) and its comment", len - pos - 22 -
			    rd16(p + pos + 20), pos);
		else
			(void)diag_add(diag, label, 0, NULL, "the "
			    "end-of-central-directory record (at offset %zu) "
			    "places the central directory outside the "
			    "archive, or its comment runs past the end", pos);
		return 1;
	}
	if (count > max)
		return 0;	/* the entry limit speaks for itself */
	if ((recs = calloc(count > 0 ? count : 1, sizeof(*recs))) == NULL)
		return ERR_NOMEM;
	n = cd_walk(p, len, recs, count);
	if (n < 0) {
		(void)diag_add(diag, label, 0, NULL, "the central directory "
		    "(%llu bytes at offset %llu) does not hold the %llu entries "
		    "the end-of-central-directory record counts",
		    (unsigned long long)cd_size, (unsigned long long)cd_off,
		    (unsigned long long)count);
		free(recs);
		return 1;
	}
	r = cd_check_overlap(p, len, recs, (size_t)n, cd_off, label, diag);
	free(recs);
	return r != 0;
}

/* Turns libzip's refusal to open into a message a person can act on. */
static int
open_failed(const zip_error_t *ze, const unsigned char *p, size_t len,
    const struct archive_limits *l, const char *label, diag_t *diag)
{
	zip_error_t copy;
	int code = ERR_INVALID, r;

	switch (zip_error_code_zip(ze)) {
	case ZIP_ER_NOZIP:
	case ZIP_ER_INCONS:
		r = raw_diagnose(p, len, l->max_entries, label, diag);
		if (r == ERR_NOMEM) {
			(void)diag_add(diag, label, 0, NULL, "out of memory");
			code = ERR_NOMEM;
			break;
		}
		if (r == 1)
			break;
		if (zip_error_code_zip(ze) == ZIP_ER_INCONS) {
			(void)diag_add(diag, label, 0, NULL, "the ZIP archive "
			    "is inconsistent (trailing data, headers that "
			    "disagree, or entries that overlap)");
			break;
		}
		(void)diag_add(diag, label, 0, NULL, "not a ZIP archive");
		break;
	case ZIP_ER_MULTIDISK:
		(void)diag_add(diag, label, 0, NULL, "the ZIP archive spans "
		    "several disks");
		break;
	case ZIP_ER_EXISTS:
		/* Only ZIP_CHECKCONS refuses duplicates, before we see names. */
		name_duplicate(p, len, l->max_entries, label, diag);
		break;
	case ZIP_ER_MEMORY:
		(void)diag_add(diag, label, 0, NULL, "out of memory");
		code = ERR_NOMEM;
		break;
	default:
		zip_error_init(&copy);
		zip_error_set(&copy, zip_error_code_zip(ze),
		    zip_error_code_system(ze));
		(void)diag_add(diag, label, 0, NULL, "cannot read the ZIP "
		    "archive: %s", zip_error_strerror(&copy));
		zip_error_fini(&copy);
		break;
	}
	return code;
}

int
archive_open(const char *label, const void *data, size_t len,
    const struct archive_limits *lim, struct archive **out, diag_t *diag)
{
	const unsigned char *p = data;
	struct archive *a = NULL;
	struct cd_rec *recs = NULL;
	zip_source_t *src;
	zip_error_t ze;
	zip_int64_t count;
	uint64_t total = 0, total_comp = 0, cd_off = 0, cd_size, cnt, cd_end;
	long walked;
	size_t i;
	int first = 0, r;

	*out = NULL;
	if (lim == NULL)
		lim = &archive_default_limits;
	if (label == NULL)
		label = "bundle.zip";
	if (data == NULL || len == 0) {
		(void)diag_add(diag, label, 0, NULL, "the archive is empty");
		return ERR_INVALID;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->label = strdup(label)) == NULL) {
		free(a);
		(void)diag_add(diag, label, 0, NULL, "out of memory");
		return ERR_NOMEM;
	}
	a->lim = *lim;
	if (a->lim.max_ratio == 0)
		a->lim.max_ratio = 1;
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(data, len, 0, &ze)) == NULL) {
		r = open_failed(&ze, p, len, lim, label, diag);
		goto fail;
	}
	if ((a->zip = zip_open_from_source(src, ZIP_CHECKCONS | ZIP_RDONLY,
	    &ze)) == NULL) {
		zip_source_free(src);
		r = open_failed(&ze, p, len, lim, label, diag);
		goto fail;
	}
	count = zip_get_num_entries(a->zip, 0);
	if (count < 0 || (uint64_t)count > lim->max_entries) {
		(void)diag_add(diag, label, 0, NULL, "the archive has %lld "
		    "entries; at most %zu are allowed", (long long)count,
		    lim->max_entries);
		r = ERR_LIMIT;
		goto fail;
	}
	if ((recs = calloc((size_t)count + 1, sizeof(*recs))) == NULL ||
	    (a->e = calloc((size_t)count + 1, sizeof(*a->e))) == NULL) {
		r = ERR_NOMEM;
		goto fail;
	}
	walked = cd_walk(p, len, recs, (size_t)count);
	if (walked != count || cd_locate(p, len, &cd_off, &cd_size, &cnt,
	    &cd_end) != 0) {
		(void)diag_add(diag, label, 0, NULL, "the central directory "
		    "does not read the same way libzip reads it");
		r = ERR_INVALID;
		goto fail;
	}
	for (i = 0; i < (size_t)count; i++) {
		if ((r = check_entry(a, &recs[i], i, diag, &first)) != 0)
			goto fail;
		total_comp += recs[i].comp_size;
	}
	/* Entries refused above are already reported; sum the rest. */
	for (i = 0; i < a->n; i++)
		total += a->e[i].size;
	if (total > lim->max_total_size) {
		(void)diag_add(diag, label, 0, NULL, "the entries' uncompressed "
		    "sizes add up to %llu bytes, over the limit of %llu",
		    (unsigned long long)total,
		    (unsigned long long)lim->max_total_size);
		if (first == 0)
			first = ERR_LIMIT;
	} else if (ratio_exceeded(total, total_comp, &a->lim)) {
		(void)diag_add(diag, label, 0, NULL, "the archive's overall "
		    "compression ratio of %llu to %llu exceeds %llu:1",
		    (unsigned long long)total, (unsigned long long)total_comp,
		    (unsigned long long)a->lim.max_ratio);
		if (first == 0)
			first = ERR_LIMIT;
	}
	if ((r = check_collisions(a, diag, &first)) != 0)
		goto fail;
	if (cd_check_overlap(p, len, recs, (size_t)count, cd_off, label,
	    diag) != 0) {
		if (first == 0)
			first = ERR_INVALID;
	}
	if (first != 0) {
		r = first;
		goto fail;
	}
	if ((a->by_name = calloc(a->n + 1, sizeof(*a->by_name))) == NULL) {
		r = ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < a->n; i++)
		a->by_name[i] = i;
	qsort_r(a->by_name, a->n, sizeof(*a->by_name), idx_cmp_exact, a->e);
	free(recs);
	zip_error_fini(&ze);
	*out = a;
	return 0;
fail:
	if (r == ERR_NOMEM)
		(void)diag_add(diag, label, 0, NULL, "out of memory");
	free(recs);
	zip_error_fini(&ze);
	archive_close(a);
	return r;
}

size_t
archive_count(const struct archive *a)
{
	return a == NULL ? 0 : a->n;
}

const char *
archive_name(const struct archive *a, size_t i)
{
	return a == NULL || i >= a->n ? NULL : a->e[i].name;
}

int
archive_is_dir(const struct archive *a, size_t i)
{
	return a != NULL && i < a->n && a->e[i].is_dir;
}

long
archive_find(const struct archive *a, const char *name)
{
	size_t lo = 0, hi;

	if (a == NULL || name == NULL)
		return -1;
	for (hi = a->n; lo < hi; ) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, a->e[a->by_name[mid]].name);

		if (c == 0)
			return (long)a->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
archive_read(struct archive *a, const char *name, size_t max, buf_t *out,
    err_t *err)
{
	char shown[SHOW_MAX * 4 + 8];
	unsigned char chunk[16384];
	const struct archive_entry *e;
	zip_file_t *f;
	uint64_t cap, got = 0;
	long k;
	int r = 0;

	buf_init(out, max);
	if (a == NULL || name == NULL)
		return err_set(err, ERR_INTERNAL, "archive_read: no archive");
	archive_show_name(name, strlen(name), shown, sizeof(shown));
	if ((k = archive_find(a, name)) < 0)
		return err_set(err, ERR_NOTFOUND, "%s: no entry '%s'", a->label,
		    shown);
	e = &a->e[k];
	if (e->is_dir)
		return err_set(err, ERR_INVALID, "%s: entry '%s' is a directory",
		    a->label, shown);
	cap = max;
	if (cap > a->lim.max_entry_size)
		cap = a->lim.max_entry_size;
	if (a->total_read >= a->lim.max_total_size)
		cap = 0;
	else if (cap > a->lim.max_total_size - a->total_read)
		cap = a->lim.max_total_size - a->total_read;
	if (e->size > cap)
		return err_set(err, ERR_LIMIT, "%s: entry '%s' is %llu bytes; "
		    "at most %llu may be read here", a->label, shown,
		    (unsigned long long)e->size, (unsigned long long)cap);
	if ((f = zip_fopen_index(a->zip, e->index, 0)) == NULL)
		return err_set(err, ERR_INVALID, "%s: entry '%s': %s", a->label,
		    shown, zip_strerror(a->zip));
	for (;;) {
		zip_int64_t n = zip_fread(f, chunk, sizeof(chunk));

		if (n < 0) {
			r = err_set(err, ERR_INVALID, "%s: entry '%s': %s",
			    a->label, shown, zip_file_strerror(f));
			break;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
		a->total_read += (uint64_t)n;
		/* The header is a claim; the decompressor's output is fact. */
		if (got > e->size) {
			r = err_set(err, ERR_INVALID, "%s: entry '%s' "
			    "decompresses to more than the %llu bytes its "
			    "header declares", a->label, shown,
			    (unsigned long long)e->size);
			break;
		}
		if (got > cap || a->total_read > a->lim.max_total_size) {
			r = err_set(err, ERR_LIMIT, "%s: entry '%s': reading "
			    "past the limit of %llu bytes", a->label, shown,
			    (unsigned long long)cap);
			break;
		}
		if (ratio_exceeded(got, e->comp_size, &a->lim)) {
			r = err_set(err, ERR_LIMIT, "%s: entry '%s': "
			    "decompressing past the %llu:1 ratio limit",
			    a->label, shown,
			    (unsigned long long)a->lim.max_ratio);
			break;
		}
		if (buf_put(out, chunk, (size_t)n) != 0) {
			r = err_set(err, ERR_LIMIT, "%s: entry '%s': more than "
			    "%zu bytes", a->label, shown, max);
			break;
		}
	}
	zip_fclose(f);
	explicit_bzero(chunk, sizeof(chunk));
	if (r == 0 && got != e->size)
		r = err_set(err, ERR_INVALID, "%s: entry '%s' decompresses to "
		    "%llu bytes, not the %llu its header declares", a->label,
		    shown, (unsigned long long)got, (unsigned long long)e->size);
	if (r != 0)
		buf_free(out);
	return r;
}

void
archive_close(struct archive *a)
{
	size_t i;

	if (a == NULL)
		return;
	if (a->zip != NULL)
		zip_discard(a->zip);
	for (i = 0; i < a->n; i++)
		free(a->e[i].name);
	free(a->e);
	free(a->by_name);
	free(a->label);
	free(a);
}
