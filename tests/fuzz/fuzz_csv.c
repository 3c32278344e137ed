/*
 * fuzz_csv.c: libFuzzer target for the csv-mode request list
 * (ingest/csv). Refusals are normal; an accepted batch has every value
 * read back, and every row's MAC must print and parse back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/csv.h"
#include "ingest/mac.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_batch b;
	diag_t diag;
	char line[2048];
	size_t i;

	diag_init(&diag);
	if (csv_parse("fuzz.csv", data, size, &b, &diag) == 0) {
		for (i = 0; i < b.nrows; i++) {
			const struct csv_row *row = &b.rows[i];
			unsigned char back[MAC_LEN];
			char mac[MAC_STR_MAX];
			err_t err;
			int c;

			for (c = 0; c < CSV_COL_COUNT; c++)
				if (csv_value(&b, row, (enum csv_col)c) == NULL)
					abort();
			if (!row->has_mac)
				continue;
			if (mac_format(row->mac, MAC_STYLE_COLON_LOWER, mac,
			    sizeof(mac)) != 0 || mac_parse(mac, back, &err) != 0 ||
			    memcmp(back, row->mac, MAC_LEN) != 0)
				abort();
		}
	}
	for (i = 0; i < diag.n; i++)
		(void)diag_format(&diag, i, line, sizeof(line));
	csv_batch_free(&b);
	diag_free(&diag);
	return 0;
}
