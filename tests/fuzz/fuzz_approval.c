/*
 * fuzz_approval.c: libFuzzer target for approval statements
 * (approval/statement), which arrive from the console and the medium and
 * are what officers sign.
 *
 * The parser accepts only the canonical spelling, so an accepted input
 * must format back to exactly its own bytes: a mismatch means two byte
 * strings can stand for one decision, and aborts as the bug it is.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval/statement.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct approval_statement s;
	buf_t out;
	err_t err;

	if (approval_statement_parse("fuzz", data, size, &s, &err) != 0)
		return 0;
	(void)approval_kind_name(s.kind);
	(void)approval_decision_name(s.decision);
	buf_init(&out, APPROVAL_STATEMENT_MAX);
	if (approval_statement_format(&s, &out, &err) != 0) {
		fprintf(stderr, "accepted statement does not format: %s\n",
		    err.msg);
		abort();
	}
	if (out.len != size || memcmp(out.data, data, size) != 0) {
		fprintf(stderr, "format(parse(x)) != x\n");
		abort();
	}
	buf_free(&out);
	return 0;
}
