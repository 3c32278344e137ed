/*
 * fuzz_manifest.c: libFuzzer target for the request bundle's manifest.yaml
 * (ingest/manifest), parsed from the medium by the unprivileged ingest
 * role. Refusals are normal; every diag message is formatted, since those
 * quote hostile text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/manifest.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	diag_t diag;
	char line[2048];
	size_t i;

	memset(&m, 0, sizeof(m));
	diag_init(&diag);
	if (manifest_parse(MANIFEST_NAME, data, size, &m, &diag) == 0) {
		(void)manifest_has_secret(&m);
		(void)manifest_input_name(m.req.mode);
		(void)manifest_format_name(m.req.format);
		(void)manifest_chain_name(m.req.chain);
		(void)manifest_log_name(m.req.results_log);
		(void)manifest_p12_name(m.req.p12_encryption);
		/* The parser promises a canonical, lower-case UUID. */
		if (strlen(m.id) != 36)
			abort();
	}
	for (i = 0; i < diag.n; i++)
		(void)diag_format(&diag, i, line, sizeof(line));
	manifest_free(&m);
	diag_free(&diag);
	return 0;
}
