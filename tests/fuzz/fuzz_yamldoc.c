/*
 * fuzz_yamldoc.c: libFuzzer target for the strict YAML reader
 * (util/yamldoc), which every manifest, profile and script goes through.
 *
 * Parses the input, then walks the tree calling the typed getters on every
 * key, as the format parsers do, so that their messages (which quote file
 * text) are built from hostile scalars too. Refusals are normal.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/err.h"
#include "util/yamldoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keys and items visited per node: the getters look keys up linearly, so
 * visiting all of a 10,000-key map would be quadratic and time out on
 * inputs that are only slow, not wrong. */
#define WALK_MAX 64

static const char *const choices[] = { "true", "a", "rsa-4096", NULL };

static void
walk(struct yamldoc *doc, const struct yamldoc_node *n)
{
	const struct yamldoc_node *sub;
	const char *s;
	long long v;
	time_t t;
	size_t i;
	int b, idx;

	if (n->kind == YAMLDOC_MAP) {
		for (i = 0; i < n->n && i < WALK_MAX; i++) {
			const char *k = n->pairs[i].key;

			(void)yamldoc_get_str(doc, n, k, 0, &s);
			(void)yamldoc_get_bool(doc, n, k, 0, &b);
			(void)yamldoc_get_int(doc, n, k, 0, -1000, 1000000, &v);
			(void)yamldoc_get_time(doc, n, k, 0, &t);
			(void)yamldoc_get_enum(doc, n, k, 0, choices, &idx);
			(void)yamldoc_get_map(doc, n, k, 0, &sub);
			(void)yamldoc_get_seq(doc, n, k, 0, &sub);
			if (yamldoc_get_node(doc, n, k, 1, &sub) == 1)
				walk(doc, sub);
		}
		/* A key nobody asks for, required: the "missing" message. */
		(void)yamldoc_get_str(doc, n, "fuzz-absent", 1, &s);
		(void)yamldoc_check_unknown(doc, n);
	} else if (n->kind == YAMLDOC_SEQ) {
		for (i = 0; i < n->n && i < WALK_MAX; i++) {
			(void)yamldoc_as_str(doc, n->items[i], &s);
			(void)yamldoc_as_map(doc, n->items[i]);
			walk(doc, n->items[i]);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yamldoc *doc = NULL;
	diag_t diag;
	err_t err;
	err_clear(&err);
	diag_init(&diag);
	if (yamldoc_parse("fuzz.yaml", data, size, NULL, &doc, &err) == 0) {
		char line[2048];
		size_t i;

		yamldoc_set_diag(doc, &diag);
		walk(doc, doc->root);
		for (i = 0; i < diag.n; i++)
			(void)diag_format(&diag, i, line, sizeof(line));
	}
	yamldoc_free(doc);
	diag_free(&diag);
	return 0;
}
