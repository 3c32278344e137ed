/*
 * yamldoc.h: strict YAML documents for ceremony scripts, profiles, bundle
 * manifests and configuration.
 *
 * libyaml parses; this module turns its events into a small tree in which
 * every node knows its line and its dotted path from the root mapping
 * ("intermediate.certificate.subject[0].CN"; the root itself is ""),
 * and refuses what our formats never need and an attacker might use:
 * anchors and aliases, explicit tags, non-scalar or duplicate mapping keys,
 * more than one document, and anything past the limits below.
 *
 * Typed getters then read a mapping field by field. Each getter marks the
 * key as used; yamldoc_check_unknown() reports every key nobody asked for.
 * Type and range errors are added to a diag_t naming file, line and key, so
 * one run reports all mistakes in a script at once.
 */
#ifndef AIRLOCK_UTIL_YAMLDOC_H
#define AIRLOCK_UTIL_YAMLDOC_H

#include <stddef.h>
#include <time.h>

#include "util/err.h"

enum yamldoc_kind { YAMLDOC_SCALAR, YAMLDOC_MAP, YAMLDOC_SEQ };

struct yamldoc_node;

struct yamldoc_pair {
	char *key;
	struct yamldoc_node *value;
	unsigned long key_line;	/* 1-based line of the key */
	int used;		/* set by the getters */
};

struct yamldoc_node {
	enum yamldoc_kind kind;
	unsigned long line;	/* 1-based line where the node starts */
	char *path;		/* dotted path from the root, for messages */
	/* YAMLDOC_SCALAR */
	char *scalar;		/* NUL-terminated; no embedded NUL allowed */
	size_t scalar_len;
	int plain;		/* 1 when unquoted (only plain scalars are ints/bools) */
	/* YAMLDOC_MAP */
	struct yamldoc_pair *pairs;
	/* YAMLDOC_SEQ */
	struct yamldoc_node **items;
	size_t n;		/* pairs or items */
};

struct yamldoc_limits {
	size_t max_bytes;	/* input size */
	size_t max_depth;	/* nesting of mappings and sequences */
	size_t max_nodes;
	size_t max_scalar;	/* bytes in one scalar */
};

/* 1 MiB, depth 32, 100000 nodes, 64 KiB scalars. */
extern const struct yamldoc_limits yamldoc_default_limits;

struct yamldoc {
	char *file;		/* the label used in messages */
	struct yamldoc_node *root;	/* never NULL after a successful parse */
	diag_t *diag;		/* where getters report; owned by the caller */
};

/*
 * Parses len bytes labelled `file` (for messages). The input must be valid
 * UTF-8 and hold exactly one document. Returns 0, or ERR_INVALID /
 * ERR_LIMIT with a message naming file and line.
 */
int yamldoc_parse(const char *file, const void *data, size_t len,
    const struct yamldoc_limits *lim, struct yamldoc **out, err_t *err);

/*
 * Reads path (regular file, not a symlink, within lim->max_bytes), parses.
 * A NULL lim, here and in yamldoc_parse, means yamldoc_default_limits.
 */
int yamldoc_load(const char *path, const struct yamldoc_limits *lim,
    struct yamldoc **out, err_t *err);

/*
 * The same, also giving the SHA-256 of the exact bytes parsed, when sha256
 * is not NULL: a ceremony transcript and a profile record which file ran.
 */
int yamldoc_load_hashed(const char *path, const struct yamldoc_limits *lim,
    unsigned char sha256[32], struct yamldoc **out, err_t *err);

void yamldoc_free(struct yamldoc *doc);

/* Sets where the getters below report problems. */
void yamldoc_set_diag(struct yamldoc *doc, diag_t *diag);

/*
 * Getters. `map` must be a YAMLDOC_MAP node. Each returns 1 when the key is
 * present and valid, 0 when absent and not required, and ERR_INVALID after
 * adding a located message to doc->diag when it is absent but required or
 * present with the wrong type or value.
 *
 * Strings: any scalar except YAML's nulls (a plain empty value, ~, null),
 * which must be quoted to count as text. Integers: unquoted decimal with
 * no leading zeros, within [min, max]. Booleans: unquoted true or false.
 * Messages quote file text with control characters escaped.
 */
int yamldoc_get_node(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const struct yamldoc_node **out);
int yamldoc_get_str(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const char **out);
int yamldoc_get_bool(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, int *out);
int yamldoc_get_int(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, long long min, long long max,
    long long *out);
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC, explicit Z), see timeutil_parse. */
int yamldoc_get_time(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, time_t *out);
/* The value must equal one of choices (NULL-terminated); *idx is its index. */
int yamldoc_get_enum(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const char *const *choices, int *idx);
int yamldoc_get_map(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const struct yamldoc_node **out);
int yamldoc_get_seq(struct yamldoc *doc, const struct yamldoc_node *map,
    const char *key, int required, const struct yamldoc_node **out);

/*
 * The same checks for a node already in hand (a sequence item): 1 when n
 * has the type, else ERR_INVALID after a located message.
 */
int yamldoc_as_str(struct yamldoc *doc, const struct yamldoc_node *n,
    const char **out);
int yamldoc_as_map(struct yamldoc *doc, const struct yamldoc_node *n);

/*
 * Adds one message per key of `map` that no getter asked for
 * ("unknown key 'subjet'"). Returns the number of unknown keys.
 */
int yamldoc_check_unknown(struct yamldoc *doc, const struct yamldoc_node *map);

/* Adds a located message about node n to doc->diag; returns ERR_INVALID. */
int yamldoc_error(struct yamldoc *doc, const struct yamldoc_node *n,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
