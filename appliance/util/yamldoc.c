/* yamldoc.c: strict YAML documents from libyaml events (see yamldoc.h). */
#include "util/yamldoc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "util/buf.h"
#include "util/fileio.h"
#include "util/text.h"
#include "util/timeutil.h"

const struct yamldoc_limits yamldoc_default_limits = {
	.max_bytes = 1024 * 1024,
	.max_depth = 32,
	.max_nodes = 100000,
	.max_scalar = 64 * 1024,
};

/*
 * Paths are for messages only, so they are capped: without a cap a long key
 * near the root would be copied into the path of every node below it.
 */
#define YD_PATH_MAX 256
/* Characters of a key or value shown in a message before "...". */
#define YD_SHOW_MAX 64
/* Missing keys remembered for "did you mean" hints; more are not needed. */
#define YD_ASKED_MAX 256

struct yd_asked {
	const struct yamldoc_node *map;
	char *key;
};

/*
 * The document as allocated: the public part first, then every node in one
 * flat list so that freeing never walks the tree (no recursion at all).
 */
struct yd_doc {
	struct yamldoc pub;
	struct yamldoc_node **all;
	size_t nall, capall;
	struct yd_asked asked[YD_ASKED_MAX];
	size_t nasked;
};

/* One open mapping or sequence while events arrive. */
struct yd_frame {
	struct yamldoc_node *node;
	size_t cap;		/* allocated pairs or items */
	int have_key;		/* mapping: the last pair waits for its value */
};

struct yd_state {
	struct yd_doc *doc;
	const struct yamldoc_limits *lim;
	const unsigned char *data;
	size_t len;
	struct yd_frame *stack;
	size_t depth, stackcap;
	size_t nodes;
	int ndocs;
	err_t *err;
};

/* Line (1-based) of byte offset off, for libyaml reader errors. */
static unsigned long
yd_line_of(const unsigned char *data, size_t len, size_t off)
{
	unsigned long line = 1;
	size_t i;

	for (i = 0; i < off && i < len; i++)
		if (data[i] == '\n')
			line++;
	return line;
}

static int
yd_fail(struct yd_state *st, int code, unsigned long line, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
yd_fail(struct yd_state *st, int code, unsigned long line, const char *path,
    const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path != NULL && *path != '\0')
		return err_set(st->err, code, "%s:%lu: %s: %s",
		    st->doc->pub.file, line, path, msg);
	return err_set(st->err, code, "%s:%lu: %s", st->doc->pub.file, line,
	    msg);
}

/*
 * Checks that the input is UTF-8 and holds only characters YAML allows, so
 * that the user learns the line instead of libyaml's byte offset.
 */
static int
yd_check_text(const char *file, const unsigned char *p, size_t len,
    err_t *err)
{
	unsigned long line = 1;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t n;

		if (c == '\n') {
			line++;
			i++;
			continue;
		}
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
				return err_set(err, ERR_INVALID, "%s:%lu: control "
				    "character 0x%02x is not allowed in YAML",
				    file, line, c);
			i++;
			continue;
		}
		/* The reason only shapes the message; the decoder is shared. */
		if ((n = text_utf8_next(p + i, len - i, &cp)) == 0) {
			switch (text_utf8_why(p + i, len - i)) {
			case TEXT_UTF8_BAD_LEAD:
				return err_set(err, ERR_INVALID, "%s:%lu: invalid "
				    "UTF-8: byte 0x%02x cannot start a "
				    "character; save the file as UTF-8", file,
				    line, c);
			case TEXT_UTF8_TRUNCATED:
				return err_set(err, ERR_INVALID, "%s:%lu: invalid "
				    "UTF-8: the file ends inside a character",
				    file, line);
			case TEXT_UTF8_BAD_CONT:
				return err_set(err, ERR_INVALID, "%s:%lu: invalid "
				    "UTF-8: byte 0x%02x is not followed by a "
				    "continuation byte; save the file as UTF-8",
				    file, line, c);
			default:
				return err_set(err, ERR_INVALID, "%s:%lu: invalid "
				    "UTF-8: overlong or out-of-range encoding",
				    file, line);
			}
		}
		if ((cp >= 0x80 && cp <= 0x9f && cp != 0x85) || cp == 0xfffe ||
		    cp == 0xffff)
			return err_set(err, ERR_INVALID, "%s:%lu: character "
			    "U+%04X is not allowed in YAML", file, line,
			    (unsigned)cp);
		i += n;
	}
	return 0;
}

static int
yd_libyaml_error(struct yd_state *st, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	unsigned long line;

	if (p->error == YAML_MEMORY_ERROR)
		return err_set(st->err, ERR_NOMEM, "%s: out of memory while "
		    "parsing YAML", st->doc->pub.file);
	if (p->error == YAML_READER_ERROR)
		line = yd_line_of(st->data, st->len, p->problem_offset);
	else
		line = (unsigned long)p->problem_mark.line + 1;
	if (p->context != NULL)
		return yd_fail(st, ERR_INVALID, line, NULL, "invalid YAML: %s "
		    "(%s at line %lu)", problem, p->context,
		    (unsigned long)p->context_mark.line + 1);
	return yd_fail(st, ERR_INVALID, line, NULL, "invalid YAML: %s",
	    problem);
}

static void
yd_path_into(char path[YD_PATH_MAX], const char *parent, const char *key,
    size_t index)
{
	char shown[YD_SHOW_MAX * 4 + 8];
	int n;

	if (key == NULL)
		n = snprintf(path, YD_PATH_MAX, "%s[%zu]", parent, index);
	else if (*parent == '\0')
		n = snprintf(path, YD_PATH_MAX, "%s", text_show(key,
		    strlen(key), YD_SHOW_MAX, shown, sizeof(shown)));
	else
		n = snprintf(path, YD_PATH_MAX, "%s.%s", parent,
		    text_show(key, strlen(key), YD_SHOW_MAX, shown,
		    sizeof(shown)));
	if (n < 0) {
		path[0] = '\0';
	} else if ((size_t)n >= YD_PATH_MAX) {
		/* Mark the cut; a cut UTF-8 sequence is not re-joined. */
		size_t cut = YD_PATH_MAX - 4;

		while (cut > 0 && ((unsigned char)path[cut] & 0xc0) == 0x80)
			cut--;
		memcpy(path + cut, "...", 4);
	}
}

static char *
yd_child_path(const char *parent, const char *key, size_t index)
{
	char path[YD_PATH_MAX];

	yd_path_into(path, parent, key, index);
	return strdup(path);
}

/* Grows *arr (of elem-sized members) to hold at least need; 0 or -1. */
static int
yd_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 4;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -1;
		ncap *= 2;
	}
	n = realloc(*arr, ncap * elem);
	if (n == NULL)
		return -1;
	*arr = n;
	*cap = ncap;
	return 0;
}

static struct yamldoc_node *
yd_new_node(struct yd_state *st, enum yamldoc_kind kind, unsigned long line,
    char *path)
{
	struct yd_doc *d = st->doc;
	struct yamldoc_node *n;
	void *all = d->all;

	if (path == NULL)
		return NULL;
	if (yd_grow(&all, &d->capall, d->nall + 1, sizeof(*d->all)) != 0) {
		free(path);
		return NULL;
	}
	d->all = all;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		free(path);
		return NULL;
	}
	n->kind = kind;
	n->line = line;
	n->path = path;
	d->all[d->nall++] = n;
	return n;
}

/* Path the next value in the innermost open collection will have. */
static char *
yd_next_path(struct yd_state *st)
{
	struct yd_frame *f;

	if (st->depth == 0)
		return strdup("");
	f = &st->stack[st->depth - 1];
	if (f->node->kind == YAMLDOC_MAP)
		return yd_child_path(f->node->path,
		    f->node->pairs[f->node->n - 1].key, 0);
	return yd_child_path(f->node->path, NULL, f->node->n);
}

/* Hangs a new value node under the innermost open collection. */
static int
yd_attach(struct yd_state *st, struct yamldoc_node *n)
{
	struct yd_frame *f;
	void *items;

	if (st->depth == 0) {
		st->doc->pub.root = n;
		return 0;
	}
	f = &st->stack[st->depth - 1];
	if (f->node->kind == YAMLDOC_MAP) {
		f->node->pairs[f->node->n - 1].value = n;
		f->have_key = 0;
		return 0;
	}
	items = f->node->items;
	if (yd_grow(&items, &f->cap, f->node->n + 1,
	    sizeof(*f->node->items)) != 0)
		return ERR_NOMEM;
	f->node->items = items;
	f->node->items[f->node->n++] = n;
	return 0;
}

static int
yd_expecting_key(const struct yd_state *st)
{
	const struct yd_frame *f;

	if (st->depth == 0)
		return 0;
	f = &st->stack[st->depth - 1];
	return f->node->kind == YAMLDOC_MAP && !f->have_key;
}

/*
 * Path of the node whose event is being handled, for messages: the next
 * value's path, or the mapping's own path while a key is awaited.
 */
static const char *
yd_here(const struct yd_state *st, char path[YD_PATH_MAX])
{
	const struct yd_frame *f;

	if (st->depth == 0)
		return "";
	f = &st->stack[st->depth - 1];
	if (f->node->kind == YAMLDOC_MAP && !f->have_key)
		return f->node->path;
	if (f->node->kind == YAMLDOC_MAP)
		yd_path_into(path, f->node->path,
		    f->node->pairs[f->node->n - 1].key, 0);
	else
		yd_path_into(path, f->node->path, NULL, f->node->n);
	return path;
}

static int
yd_count_node(struct yd_state *st, unsigned long line)
{
	if (st->nodes >= st->lim->max_nodes)
		return yd_fail(st, ERR_LIMIT, line, NULL, "more than %zu nodes; "
		    "the document is too large", st->lim->max_nodes);
	st->nodes++;
	return 0;
}

/* Refuses anchors and explicit tags, which our formats never use. */
static int
yd_check_props(struct yd_state *st, unsigned long line,
    const yaml_char_t *anchor, const yaml_char_t *tag)
{
	char here[YD_PATH_MAX];
	char shown[YD_SHOW_MAX * 4 + 8];

	if (anchor != NULL)
		return yd_fail(st, ERR_INVALID, line, yd_here(st, here),
		    "anchor '&%s' is not allowed; write the value out in full",
		    text_show(anchor, strlen((const char *)anchor),
		    YD_SHOW_MAX, shown, sizeof(shown)));
	if (tag != NULL)
		return yd_fail(st, ERR_INVALID, line, yd_here(st, here),
		    "explicit tag '%s' is not allowed; remove it",
		    text_show(tag, strlen((const char *)tag), YD_SHOW_MAX,
		    shown, sizeof(shown)));
	return 0;
}

static int
yd_scalar(struct yd_state *st, const yaml_event_t *ev, unsigned long line)
{
	char here[YD_PATH_MAX];
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct yamldoc_node *n;
	char *copy;
	int r;

	if ((r = yd_check_props(st, line, ev->data.scalar.anchor,
	    ev->data.scalar.tag)) != 0)
		return r;
	if ((r = yd_count_node(st, line)) != 0)
		return r;
	if (len > st->lim->max_scalar)
		return yd_fail(st, ERR_LIMIT, line, yd_here(st, here),
		    "a value of %zu bytes is longer than the limit of %zu "
		    "bytes", len, st->lim->max_scalar);
	if (memchr(value, '\0', len) != NULL)
		return yd_fail(st, ERR_INVALID, line, yd_here(st, here),
		    "a value contains a NUL character (\\0), which is not "
		    "allowed");
	if ((copy = malloc(len + 1)) == NULL)
		return err_set(st->err, ERR_NOMEM, "out of memory");
	memcpy(copy, value, len);
	copy[len] = '\0';
	if (yd_expecting_key(st)) {
		struct yd_frame *f = &st->stack[st->depth - 1];
		void *pairs = f->node->pairs;

		if (yd_grow(&pairs, &f->cap, f->node->n + 1,
		    sizeof(*f->node->pairs)) != 0) {
			free(copy);
			return err_set(st->err, ERR_NOMEM, "out of memory");
		}
		f->node->pairs = pairs;
		memset(&f->node->pairs[f->node->n], 0,
		    sizeof(*f->node->pairs));
		f->node->pairs[f->node->n].key = copy;
		f->node->pairs[f->node->n].key_line = line;
		f->node->n++;
		f->have_key = 1;
		return 0;
	}
	n = yd_new_node(st, YAMLDOC_SCALAR, line, yd_next_path(st));
	if (n == NULL) {
		free(copy);
		return err_set(st->err, ERR_NOMEM, "out of memory");
	}
	n->scalar = copy;
	n->scalar_len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (yd_attach(st, n) != 0)
		return err_set(st->err, ERR_NOMEM, "out of memory");
	return 0;
}

static int
yd_open(struct yd_state *st, enum yamldoc_kind kind,
    const yaml_char_t *anchor, const yaml_char_t *tag, unsigned long line)
{
	char here[YD_PATH_MAX];
	const char *what = kind == YAMLDOC_MAP ? "a mapping" : "a sequence";
	struct yamldoc_node *n;
	void *stack = st->stack;
	int r;

	if ((r = yd_check_props(st, line, anchor, tag)) != 0)
		return r;
	if (yd_expecting_key(st))
		return yd_fail(st, ERR_INVALID, line, yd_here(st, here),
		    "mapping keys must be strings, found %s as a key", what);
	if (st->depth >= st->lim->max_depth)
		return yd_fail(st, ERR_LIMIT, line, yd_here(st, here),
		    "nesting is deeper than the limit of %zu levels",
		    st->lim->max_depth);
	if ((r = yd_count_node(st, line)) != 0)
		return r;
	if (yd_grow(&stack, &st->stackcap, st->depth + 1,
	    sizeof(*st->stack)) != 0)
		return err_set(st->err, ERR_NOMEM, "out of memory");
	st->stack = stack;
	n = yd_new_node(st, kind, line, yd_next_path(st));
	if (n == NULL || yd_attach(st, n) != 0)
		return err_set(st->err, ERR_NOMEM, "out of memory");
	memset(&st->stack[st->depth], 0, sizeof(*st->stack));
	st->stack[st->depth].node = n;
	st->depth++;
	return 0;
}

static int
yd_pair_cmp(const void *a, const void *b)
{
	const struct yamldoc_pair *pa = *(const struct yamldoc_pair *const *)a;
	const struct yamldoc_pair *pb = *(const struct yamldoc_pair *const *)b;
	int c = strcmp(pa->key, pb->key);

	if (c != 0)
		return c;
	/* Pairs live in one array, so address order is document order. */
	return (pa > pb) - (pa < pb);
}

/* Sorting keeps this O(n log n): a hostile mapping may have many keys. */
static int
yd_check_duplicates(struct yd_state *st, const struct yamldoc_node *map)
{
	const struct yamldoc_pair **v, *first = NULL, *again = NULL;
	char shown[YD_SHOW_MAX * 4 + 8];
	size_t i;

	if (map->n < 2)
		return 0;
	if ((v = calloc(map->n, sizeof(*v))) == NULL)
		return err_set(st->err, ERR_NOMEM, "out of memory");
	for (i = 0; i < map->n; i++)
		v[i] = &map->pairs[i];
	qsort(v, map->n, sizeof(*v), yd_pair_cmp);
	for (i = 1; i < map->n; i++) {
		if (strcmp(v[i - 1]->key, v[i]->key) != 0)
			continue;
		/* Report the repetition that comes first in the file. */
		if (i >= 2 && strcmp(v[i - 2]->key, v[i]->key) == 0)
			continue;
		if (again == NULL || v[i] < again) {
			first = v[i - 1];
			again = v[i];
		}
	}
	free(v);
	if (again == NULL)
		return 0;
	return yd_fail(st, ERR_INVALID, again->key_line, map->path,
	    "duplicate key '%s' (first at line %lu, again at line %lu)",
	    text_show(again->key, strlen(again->key), YD_SHOW_MAX, shown,
	    sizeof(shown)), first->key_line, again->key_line);
}

static int
yd_close(struct yd_state *st)
{
	struct yamldoc_node *n;

	if (st->depth == 0)
		return err_set(st->err, ERR_INTERNAL, "%s: unbalanced YAML "
		    "events", st->doc->pub.file);
	n = st->stack[--st->depth].node;
	if (n->kind == YAMLDOC_MAP)
		return yd_check_duplicates(st, n);
	return 0;
}

static int
yd_event(struct yd_state *st, const yaml_event_t *ev)
{
	char here[YD_PATH_MAX];
	unsigned long line = (unsigned long)ev->start_mark.line + 1;
	char shown[YD_SHOW_MAX * 4 + 8];

	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (st->ndocs++ > 0)
			return yd_fail(st, ERR_INVALID, line, NULL, "a second "
			    "YAML document starts here; the file must hold "
			    "exactly one");
		return 0;
	case YAML_ALIAS_EVENT:
		return yd_fail(st, ERR_INVALID, line, yd_here(st, here),
		    "alias '*%s' is not allowed; write the value out in full",
		    text_show(ev->data.alias.anchor,
		    strlen((const char *)ev->data.alias.anchor), YD_SHOW_MAX,
		    shown, sizeof(shown)));
	case YAML_SCALAR_EVENT:
		return yd_scalar(st, ev, line);
	case YAML_SEQUENCE_START_EVENT:
		return yd_open(st, YAMLDOC_SEQ, ev->data.sequence_start.anchor,
		    ev->data.sequence_start.tag, line);
	case YAML_MAPPING_START_EVENT:
		return yd_open(st, YAMLDOC_MAP, ev->data.mapping_start.anchor,
		    ev->data.mapping_start.tag, line);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return yd_close(st);
	case YAML_NO_EVENT:
	default:
		return err_set(st->err, ERR_INTERNAL, "%s:%lu: unexpected YAML "
		    "event %d", st->doc->pub.file, line, (int)ev->type);
	}
}

int
yamldoc_parse(const char *file, const void *data, size_t len,
    const struct yamldoc_limits *lim, struct yamldoc **out, err_t *err)
{
	static const unsigned char empty[1];
	struct yd_state st;
	struct yd_doc *d;
	yaml_parser_t parser;
	int r = 0;

	*out = NULL;
	if (lim == NULL)
		lim = &yamldoc_default_limits;
	if (file == NULL)
		file = "<input>";
	if (data == NULL && len > 0)
		return err_set(err, ERR_INTERNAL, "%s: no data", file);
	if (data == NULL)
		data = empty;
	if (len > lim->max_bytes)
		return err_set(err, ERR_LIMIT, "%s is %zu bytes, more than the "
		    "limit of %zu bytes", file, len, lim->max_bytes);
	if ((r = yd_check_text(file, data, len, err)) != 0)
		return r;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((d->pub.file = strdup(file)) == NULL) {
		free(d);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	memset(&st, 0, sizeof(st));
	st.doc = d;
	st.lim = lim;
	st.data = data;
	st.len = len;
	st.err = err;
	if (!yaml_parser_initialize(&parser)) {
		yamldoc_free(&d->pub);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, data, len);
	/*
	 * Events are handled one at a time and the first problem stops the
	 * parse, so nothing past a limit is ever built.
	 */
	for (;;) {
		yaml_event_t ev;
		yaml_event_type_t type;

		if (!yaml_parser_parse(&parser, &ev)) {
			r = yd_libyaml_error(&st, &parser);
			break;
		}
		r = yd_event(&st, &ev);
		type = ev.type;
		yaml_event_delete(&ev);
		if (r != 0 || type == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&parser);
	free(st.stack);
	if (r == 0 && d->pub.root == NULL)
		r = err_set(err, ERR_INVALID, "%s: the file holds no YAML "
		    "document", file);
	if (r != 0) {
		yamldoc_free(&d->pub);
		return r;
	}
	*out = &d->pub;
	return 0;
}

int
yamldoc_load(const char *path, const struct yamldoc_limits *lim,
    struct yamldoc **out, err_t *err)
{
	return yamldoc_load_hashed(path, lim, NULL, out, err);
}

int
yamldoc_load_hashed(const char *path, const struct yamldoc_limits *lim,
    unsigned char sha256[32], struct yamldoc **out, err_t *err)
{
	buf_t b;
	int r;

	*out = NULL;
	if (lim == NULL)
		lim = &yamldoc_default_limits;
	if ((r = fileio_read(path, lim->max_bytes, &b, err)) != 0)
		return r;
	if (sha256 != NULL && EVP_Digest(b.data, b.len, sha256, NULL,
	    EVP_sha256(), NULL) != 1)
		r = err_set_ossl(err, ERR_CRYPTO, "hashing %s", path);
	else
		r = yamldoc_parse(path, b.data, b.len, lim, out, err);
	buf_free(&b);
	return r;
}

void
yamldoc_free(struct yamldoc *doc)
{
	struct yd_doc *d = (struct yd_doc *)doc;
	size_t i, j;

	if (d == NULL)
		return;
	/*
	 * Values are nodes of their own in the flat list, so only keys are
	 * freed through the pairs; a parse that failed between a key and its
	 * value leaves a pair without a value, which is fine here.
	 */
	for (i = 0; i < d->nall; i++) {
		struct yamldoc_node *n = d->all[i];

		if (n->kind == YAMLDOC_MAP)
			for (j = 0; j < n->n; j++)
				free(n->pairs[j].key);
		free(n->pairs);
		free(n->items);
		free(n->scalar);
		free(n->path);
		free(n);
	}
	for (i = 0; i < d->nasked; i++)
		free(d->asked[i].key);
	free(d->all);
	free(d->pub.file);
	free(d);
}

void
yamldoc_set_diag(struct yamldoc *doc, diag_t *diag)
{
	doc->diag = diag;
}

/* The attribute lets the compiler check fmt at every caller (clang's
 * -Wformat-nonliteral wants it on a va_list function too). */
static int
yd_verror(struct yamldoc *doc, unsigned long line, const char *path,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static int
yd_verror(struct yamldoc *doc, unsigned long line, const char *path,
    const char *fmt, va_list ap)
{
	char msg[ERR_MSG_MAX];

	if (doc == NULL || doc->diag == NULL)
		return ERR_INVALID;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	(void)diag_add(doc->diag, doc->file, line,
	    path != NULL && *path != '\0' ? path : NULL, "%s", msg);
	return ERR_INVALID;
}

static int
yd_error_at(struct yamldoc *doc, unsigned long line, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
yd_error_at(struct yamldoc *doc, unsigned long line, const char *path,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = yd_verror(doc, line, path, fmt, ap);
	va_end(ap);
	return r;
}

int
yamldoc_error(struct yamldoc *doc, const struct yamldoc_node *n,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = yd_verror(doc, n ? n->line : 0, n ? n->path : NULL, fmt, ap);
	va_end(ap);
	return r;
}

/* Plain "", "~" and "null" are YAML's null; we never read them as text. */
static int
yd_is_null(const struct yamldoc_node *n)
{
	if (n->kind != YAMLDOC_SCALAR || !n->plain)
		return 0;
	return n->scalar[0] == '\0' || strcmp(n->scalar, "~") == 0 ||
	    strcmp(n->scalar, "null") == 0 || strcmp(n->scalar, "Null") == 0 ||
	    strcmp(n->scalar, "NULL") == 0;
}

/* Describes what a node is, for "expected X, found Y" messages. */
static const char *
yd_found(const struct yamldoc_node *n, char *out, size_t outsz)
{
	char shown[YD_SHOW_MAX * 4 + 8];

	if (n->kind == YAMLDOC_MAP)
		return "a mapping";
	if (n->kind == YAMLDOC_SEQ)
		return "a sequence";
	if (yd_is_null(n))
		return "an empty value";
	snprintf(out, outsz, "%s'%s'", n->plain ? "" : "the quoted string ",
	    text_show(n->scalar, strlen(n->scalar), YD_SHOW_MAX, shown,
	    sizeof(shown)));
	return out;
}

static int
yd_wrong_type(struct yamldoc *doc, const struct yamldoc_node *n,
    const char *expected)
{
	char found[YD_SHOW_MAX * 4 + 32];

	return yamldoc_error(doc, n, "expected %s, found %s", expected,
	    yd_found(n, found, sizeof(found)));
}

static void
yd_remember_missing(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key)
{
	struct yd_doc *d = (struct yd_doc *)doc;
	size_t i;

	for (i = 0; i < d->nasked; i++)
		if (d->asked[i].map == map && strcmp(d->asked[i].key, key) == 0)
			return;
	if (d->nasked == YD_ASKED_MAX)
		return;
	if ((d->asked[d->nasked].key = strdup(key)) == NULL)
		return;
	d->asked[d->nasked].map = map;
	d->nasked++;
}

int
yamldoc_get_node(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const struct yamldoc_node **out)
{
	char shown[YD_SHOW_MAX * 4 + 8];
	size_t i;

	*out = NULL;
	if (map == NULL)
		return ERR_INVALID;
	if (map->kind != YAMLDOC_MAP)
		return yd_wrong_type(doc, map, "a mapping");
	for (i = 0; i < map->n; i++) {
		struct yamldoc_pair *p = &map->pairs[i];

		if (strcmp(p->key, key) == 0) {
			/* Getters mark use; the tree is otherwise read-only. */
			p->used = 1;
			*out = p->value;
			return 1;
		}
	}
	yd_remember_missing(doc, map, key);
	if (!required)
		return 0;
	return yd_error_at(doc, map->line, map->path,
	    "required key '%s' is missing", text_show(key, strlen(key),
	    YD_SHOW_MAX, shown, sizeof(shown)));
}

int
yamldoc_as_str(struct yamldoc *doc, const struct yamldoc_node *n,
    const char **out)
{
	if (n->kind != YAMLDOC_SCALAR || yd_is_null(n))
		return yd_wrong_type(doc, n, "a string");
	*out = n->scalar;
	return 1;
}

int
yamldoc_as_map(struct yamldoc *doc, const struct yamldoc_node *n)
{
	if (n->kind != YAMLDOC_MAP)
		return yd_wrong_type(doc, n, "a mapping");
	return 1;
}

int
yamldoc_get_str(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const char **out)
{
	const struct yamldoc_node *n;
	int r;

	if ((r = yamldoc_get_node(doc, map, key, required, &n)) != 1)
		return r;
	return yamldoc_as_str(doc, n, out);
}

int
yamldoc_get_bool(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, int *out)
{
	const struct yamldoc_node *n;
	int r;

	if ((r = yamldoc_get_node(doc, map, key, required, &n)) != 1)
		return r;
	/* YAML 1.1's yes/no/on/off are refused: they surprise people. */
	if (n->kind == YAMLDOC_SCALAR && n->plain &&
	    strcmp(n->scalar, "true") == 0) {
		*out = 1;
		return 1;
	}
	if (n->kind == YAMLDOC_SCALAR && n->plain &&
	    strcmp(n->scalar, "false") == 0) {
		*out = 0;
		return 1;
	}
	return yd_wrong_type(doc, n, "true or false (unquoted)");
}

int
yamldoc_get_int(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, long long min, long long max,
    long long *out)
{
	const struct yamldoc_node *n;
	const char *s;
	long long v;
	char *end;
	int r;

	if ((r = yamldoc_get_node(doc, map, key, required, &n)) != 1)
		return r;
	if (n->kind != YAMLDOC_SCALAR || !n->plain || yd_is_null(n))
		return yd_wrong_type(doc, n, "an unquoted decimal integer");
	s = n->scalar;
	/*
	 * Only plain decimal: no sign but '-', no leading zeros (YAML 1.1
	 * would read "010" as octal), no hex, no underscores, no spaces.
	 */
	if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' &&
	    s[1] >= '1' && s[1] <= '9')) ||
	    (s[0] == '0' && s[1] != '\0') ||
	    strspn(s + (s[0] == '-'), "0123456789") !=
	    strlen(s + (s[0] == '-')))
		return yd_wrong_type(doc, n, "a decimal integer without "
		    "leading zeros");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || *end != '\0' || v < min || v > max)
		return yamldoc_error(doc, n, "%s is out of range; expected an "
		    "integer from %lld to %lld", s, min, max);
	*out = v;
	return 1;
}

int
yamldoc_get_time(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, time_t *out)
{
	const struct yamldoc_node *n;
	err_t e;
	int r;

	if ((r = yamldoc_get_node(doc, map, key, required, &n)) != 1)
		return r;
	if (n->kind != YAMLDOC_SCALAR || yd_is_null(n))
		return yd_wrong_type(doc, n, "a time like "
		    "\"2026-11-22T08:00:00Z\"");
	err_clear(&e);
	if (timeutil_parse(n->scalar, out, &e) != 0)
		return yamldoc_error(doc, n, "%s", e.msg);
	return 1;
}

int
yamldoc_get_enum(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const char *const *choices, int *idx)
{
	const struct yamldoc_node *n;
	char list[512], found[YD_SHOW_MAX * 4 + 32];
	size_t used = 0;
	int r, i;

	if ((r = yamldoc_get_node(doc, map, key, required, &n)) != 1)
		return r;
	if (n->kind == YAMLDOC_SCALAR) {
		for (i = 0; i < INT_MAX && choices[i] != NULL; i++) {
			if (strcmp(n->scalar, choices[i]) == 0) {
				*idx = i;
				return 1;
			}
		}
	}
	list[0] = '\0';
	for (i = 0; choices[i] != NULL && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
		    i ? ", " : "", choices[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	return yamldoc_error(doc, n, "expected one of: %s; found %s", list,
	    yd_found(n, found, sizeof(found)));
}

int
yamldoc_get_map(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const struct yamldoc_node **out)
{
	int r;

	if ((r = yamldoc_get_node(doc, map, key, required, out)) != 1)
		return r;
	if ((*out)->kind != YAMLDOC_MAP)
		return yd_wrong_type(doc, *out, "a mapping");
	return 1;
}

int
yamldoc_get_seq(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const struct yamldoc_node **out)
{
	int r;

	if ((r = yamldoc_get_node(doc, map, key, required, out)) != 1)
		return r;
	if ((*out)->kind != YAMLDOC_SEQ)
		return yd_wrong_type(doc, *out, "a sequence");
	return 1;
}

/* 1 when a and b differ by one insertion, deletion, change or swap. */
static int
yd_one_edit(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i = 0;

	if (la > lb + 1 || lb > la + 1)
		return 0;
	while (i < la && i < lb && a[i] == b[i])
		i++;
	if (i == la && i == lb)
		return 0;
	if (la == lb)
		return strcmp(a + i + 1, b + i + 1) == 0 ||
		    (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
		    strcmp(a + i + 2, b + i + 2) == 0);
	if (la > lb)
		return strcmp(a + i + 1, b + i) == 0;
	return strcmp(a + i, b + i + 1) == 0;
}

int
yamldoc_check_unknown(struct yamldoc *doc, const struct yamldoc_node *map)
{
	struct yd_doc *d = (struct yd_doc *)doc;
	char shown[YD_SHOW_MAX * 4 + 8], hint[YD_SHOW_MAX * 4 + 32];
	size_t i, j;
	int unknown = 0;

	if (map == NULL || map->kind != YAMLDOC_MAP)
		return 0;
	for (i = 0; i < map->n; i++) {
		const struct yamldoc_pair *p = &map->pairs[i];

		if (p->used)
			continue;
		hint[0] = '\0';
		for (j = 0; j < d->nasked; j++) {
			if (d->asked[j].map == map &&
			    yd_one_edit(p->key, d->asked[j].key)) {
				snprintf(hint, sizeof(hint), " (did you mean "
				    "'%s'?)", text_show(d->asked[j].key,
				    strlen(d->asked[j].key), YD_SHOW_MAX,
				    shown, sizeof(shown)));
				break;
			}
		}
		yd_error_at(doc, p->key_line, map->path, "unknown key '%s'%s",
		    text_show(p->key, strlen(p->key), YD_SHOW_MAX, shown,
		    sizeof(shown)), hint);
		if (unknown < INT_MAX)
			unknown++;
	}
	return unknown;
}
