/*
 * fuzz_share.c: libFuzzer target for PIN share records (pki/pinshare),
 * which arrive from share files and over the console socket.
 *
 * The parser accepts only the canonical spelling, so an accepted input
 * must format back to exactly its own bytes; a mismatch, or an accepted
 * record that breaks a rule the writer checks, aborts as the bug it is.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pinshare.h"
#include "util/err.h"
#include "util/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pinshare m;
	secret_t *share = NULL, *again = NULL;
	err_t err;

	if (secret_new(&share) != 0 || secret_new(&again) != 0)
		abort();
	if (pinshare_parse("fuzz", data, size, &m, share, &err) == 0) {
		if (m.threshold < PINSHARE_MIN || m.threshold > m.shares ||
		    m.index < 1 || m.index > m.shares ||
		    share->len < PINSHARE_SECRET_MIN ||
		    share->len > PINSHARE_SECRET_MAX) {
			fprintf(stderr, "accepted record breaks a rule\n");
			abort();
		}
		if (pinshare_format(&m, share, again, &err) != 0 ||
		    again->len != size || memcmp(again->data, data, size) != 0) {
			fprintf(stderr, "format(parse(x)) != x\n");
			abort();
		}
	}
	secret_free(share);
	secret_free(again);
	return 0;
}
