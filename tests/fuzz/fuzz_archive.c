/*
 * fuzz_archive.c: libFuzzer target for the signed ZIP archive of a request
 * bundle (ingest/archive, over libzip). Opens the input and reads every
 * regular entry with the default limits, as ingest does; refusals are
 * normal. The name checker, which runs on names straight from the central
 * directory, also gets the raw input as a name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ingest/archive.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct archive *a = NULL;
	diag_t diag;
	char line[2048], why[512], shown[1024];
	buf_t out;
	err_t err;
	size_t i;

	(void)archive_check_name((const char *)data, size, NULL, why,
	    sizeof(why));
	(void)archive_show_name((const char *)data, size, shown,
	    sizeof(shown));
	diag_init(&diag);
	if (archive_open("fuzz.zip", data, size, NULL, &a, &diag) == 0) {
		size_t n = archive_count(a);

		for (i = 0; i < n; i++) {
			const char *name = archive_name(a, i);

			/* Names are unique once open: find must agree. */
			if (name == NULL || archive_find(a, name) != (long)i)
				abort();
			if (archive_is_dir(a, i))
				continue;
			(void)archive_read(a, name,
			    archive_default_limits.max_entry_size, &out, &err);
			buf_free(&out);
		}
		/* The absent name, which ingest asks for on a bad bundle. */
		(void)archive_read(a, "manifest.yaml.absent", 1024, &out, &err);
		buf_free(&out);
	}
	for (i = 0; i < diag.n; i++)
		(void)diag_format(&diag, i, line, sizeof(line));
	archive_close(a);
	diag_free(&diag);
	return 0;
}
