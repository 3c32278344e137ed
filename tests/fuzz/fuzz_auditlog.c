/*
 * fuzz_auditlog.c: libFuzzer target for the audit log's text form and its
 * verifier (audit/record.h, audit/verify.h), which auditors run on logs
 * that may have been tampered with.
 *
 * The input is split into lines at LF and fed, line by line, to a
 * verifier without a key (signatures are not checked: any base64 will
 * do). Every line that parses must also format back to exactly its own
 * bytes, since a record has one text form: a mismatch means two lines
 * could carry one record, and aborts as the bug it is.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/record.h"
#include "audit/verify.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* parse(line) formats back to line, or the line does not parse. */
static void
round_trip(const char *line, size_t len)
{
	static char copy[AUDIT_LINE_MAX];
	struct audit_checkpoint cp;
	struct audit_record r;
	enum audit_line_kind kind;
	buf_t out;
	err_t err;
	int rc;

	if (len >= sizeof(copy))
		return;
	memcpy(copy, line, len);
	if (audit_line_parse(copy, len, &kind, &r, &cp, &err) != 0)
		return;
	buf_init(&out, AUDIT_LINE_MAX);
	rc = kind == AUDIT_LINE_RECORD ? audit_record_line(&r, &out, &err) :
	    audit_checkpoint_line(&cp, &out, &err);
	if (rc != 0) {
		fprintf(stderr, "accepted line does not format: %s\n", err.msg);
		abort();
	}
	if (out.len != len + 1 || memcmp(out.data, line, len) != 0) {
		fprintf(stderr, "format(parse(x)) != x\n");
		abort();
	}
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct audit_verify_result res;
	struct audit_verifier *v;
	unsigned long lineno = 0;
	diag_t d;
	err_t err;

	diag_init(&d);
	if (audit_verify_new(NULL, NULL, &v, &err) != 0)
		abort();
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((lf != NULL ? lf : end) - p);

		lineno++;
		round_trip(p, len);
		if (lf == NULL) {
			(void)audit_verify_problem(v, lineno, "truncated "
			    "mid-line", &d);
			break;
		}
		if (audit_verify_line(v, p, len, lineno, &d) == ERR_INVALID)
			break;
		p = lf + 1;
	}
	if (audit_verify_end(v, &res, &d) != 0)
		abort();
	/* Problems found and the verdict agree. */
	if (res.ok != (diag_count(&d) == 0) || res.problems != diag_count(&d))
		abort();
	audit_verify_free(v);
	diag_free(&d);
	return 0;
}
