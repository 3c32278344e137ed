/*
 * fuzz_ctl.c: libFuzzer target for console messages (ctl/ctl.h), which
 * the daemon reads from any local user its socket lets in.
 *
 * A frame body that decodes must re-encode to exactly the same bytes
 * (the format has one spelling per message), and every text getter must
 * return either NULL or printable text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "util/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_msg m;
	buf_t out;
	err_t err;
	size_t i;
	int64_t v;

	if (size > CTL_REQUEST_MAX)
		return 0;
	ctl_msg_init(&m, CTL_REQUEST_MAX + CTL_FIELDS_MAX);
	if (ctl_decode(data, size, &m, &err) == 0) {
		buf_init(&out, CTL_REQUEST_MAX + 64);
		if (ctl_encode(&m, &out, &err) != 0 || out.len != size + 4 ||
		    memcmp(out.data + 4, data, size) != 0)
			abort();
		buf_free(&out);
		for (i = 0; i < m.n; i++) {
			const char *s = ctl_get_str(&m, m.f[i].key);

			if (s != NULL && !text_clean(s))
				abort();
			(void)ctl_get_int(&m, m.f[i].key, &v);
		}
	}
	ctl_msg_free(&m);
	return 0;
}
