/*
 * fuzz_mac.c: libFuzzer target for MAC addresses as written in manifests,
 * CSV files and profiles (ingest/mac).
 *
 * mac_parse takes a C string, so the input is cut at MAC_INPUT_MAX bytes
 * and NUL-terminated (an embedded NUL just ends the string, as it would
 * for a caller). An accepted address must print in every style and parse
 * back to the same six bytes. The same bytes also make a mac_range for
 * mac_range_check, whose arithmetic runs near 2^48.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/mac.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Far above the longest valid form (17 characters); longer inputs only
 * test the length check, which this already reaches. */
#define MAC_INPUT_MAX 256

static void
round_trip(const unsigned char mac[MAC_LEN])
{
	unsigned char back[MAC_LEN];
	char s[MAC_STR_MAX];
	err_t err;
	int st;

	for (st = 0; st < MAC_STYLE_COUNT; st++) {
		if (mac_format(mac, (enum mac_style)st, s, sizeof(s)) != 0 ||
		    mac_parse(s, back, &err) != 0 ||
		    memcmp(back, mac, MAC_LEN) != 0)
			abort();
		if (mac_style_name((enum mac_style)st) == NULL)
			abort();
	}
	/* Too small a buffer must be refused, never overrun. */
	if (mac_format(mac, MAC_STYLE_COLON_LOWER, s, 5) != ERR_LIMIT)
		abort();
}

static void
range(const uint8_t *data, size_t size)
{
	struct mac_range r;
	unsigned char a[MAC_LEN];
	err_t err;

	if (size < MAC_LEN + 8)
		return;
	memcpy(r.start, data, MAC_LEN);
	r.count = (uint32_t)data[6] << 24 | (uint32_t)data[7] << 16 |
	    (uint32_t)data[8] << 8 | data[9];
	r.increment = (uint32_t)data[10] << 24 | (uint32_t)data[11] << 16 |
	    (uint32_t)data[12] << 8 | data[13];
	if (mac_range_check(&r, &err) != 0)
		return;
	mac_range_nth(&r, 0, a);
	if (memcmp(a, r.start, MAC_LEN) != 0)
		abort();
	mac_range_nth(&r, r.count - 1, a);
	/* The check promised every address of the range is unicast. */
	if (a[0] & 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[MAC_INPUT_MAX + 1];
	unsigned char mac[MAC_LEN];
	size_t n = size < MAC_INPUT_MAX ? size : MAC_INPUT_MAX;
	err_t err;

	memcpy(s, data, n);
	s[n] = '\0';
	if (mac_parse(s, mac, &err) == 0)
		round_trip(mac);
	range(data, size);
	return 0;
}
