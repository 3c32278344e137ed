/*
 * fuzz_csr.c: libFuzzer target for PKCS#10 requests from the medium
 * (ingest/csr), DER or PEM. Refusals are normal. The parser promises to
 * leave OpenSSL's error queue empty, which is checked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "ingest/csr.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csr_list l;
	diag_t diag;
	char line[2048];
	size_t i;

	diag_init(&diag);
	if (csr_parse_all("fuzz.csr", data, size, &l, &diag) == 0) {
		char desc[CSR_KEY_DESC_MAX];

		for (i = 0; i < l.n; i++)
			(void)csr_key_desc(l.items[i].pub, desc, sizeof(desc));
	}
	for (i = 0; i < diag.n; i++)
		(void)diag_format(&diag, i, line, sizeof(line));
	csr_list_free(&l);
	diag_free(&diag);
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
