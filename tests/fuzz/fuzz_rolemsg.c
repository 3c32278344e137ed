/*
 * fuzz_rolemsg.c: libFuzzer target for the messages between airlockd's
 * roles (role/rolemsg.h) and the judged bundle the ingest role sends the
 * store role (role/rolebundle.h). The store reads the ingest role as
 * hostile (it parses hostile bundles and may be compromised), so
 * everything it sends is fuzzed here.
 *
 * The input is a byte stream on the channel: it is written into one end
 * of a socketpair and read message by message with rolemsg_recv, as the
 * store reads its channel. REFUSED is decoded as a refusal; ACCEPTED as a
 * bundle's head, and the ITEMS after it as its lines or targets; a whole
 * bundle then has every line taken with bundle_line_get (a mac-range's
 * computed), as the intake would. A decoded message must encode back to
 * the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "role/rolebundle.h"
#include "role/rolemsg.h"
#include "util/buf.h"
#include "util/err.h"

/* The stream written into the socket at most (its buffer holds it). */
#define FUZZ_STREAM_MAX (64u * 1024u)
/* Lines taken from a decoded bundle at most. */
#define FUZZ_LINES_MAX 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct profile prof;
static struct profile_set profiles = { &prof, 1 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	prof.name = (char *)(uintptr_t)"tls";
	prof.issuer = (char *)(uintptr_t)"device-ca";
	prof.enabled = 1;
	prof.max_batch = PROFILE_MAX_BATCH;
	prof.mac_format = MAC_STYLE_COLON_LOWER;
	return 0;
}

static void
take_lines(struct bundle *b)
{
	struct queue_line_new l;
	size_t i;
	err_t err;

	for (i = 1; i <= b->n_lines && i <= FUZZ_LINES_MAX; i++)
		if (bundle_line_get(b, (int64_t)i, &l, &err) != 0)
			abort();	/* a decoded bundle has its lines */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle b;
	size_t n_items = 0, have = 0;
	int sv[2], fd, eof, in_bundle = 0;
	buf_t frame, p, re;
	uint8_t type;
	err_t err;

	if (size > FUZZ_STREAM_MAX)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	if (size > 0 && write(sv[0], data, size) != (ssize_t)size)
		abort();
	close(sv[0]);
	memset(&b, 0, sizeof(b));
	buf_init(&frame, ROLEMSG_HDR + ROLEMSG_MAX);
	buf_init(&re, ROLEMSG_HDR + ROLEMSG_MAX);
	while (rolemsg_recv(sv[1], &frame, &fd, 0, &eof, &err) == 0) {
		if (fd != -1)
			abort();	/* nothing here sends one */
		if (rolemsg_decode(frame.data, frame.len, &type, &p,
		    &err) != 0)
			abort();	/* recv checked the length */
		if (rolemsg_encode(&re, type, buf_ptr(&p), buf_avail(&p)) != 0 ||
		    re.len != frame.len || memcmp(re.data, frame.data,
		    frame.len) != 0)
			abort();
		if (type == ROLEMSG_REFUSED) {
			struct bundle rb;
			enum bundle_stage stage;
			diag_t d;
			int code;

			diag_init(&d);
			(void)rolebundle_get_refusal(&p, &code, &stage, &rb, &d,
			    &err);
			bundle_free(&rb);
			diag_free(&d);
		} else if (type == ROLEMSG_ACCEPTED) {
			bundle_free(&b);
			have = 0;
			in_bundle = rolebundle_get_head(&p, &profiles, &b,
			    &n_items, &err) == 0;
			if (in_bundle && n_items == 0)
				take_lines(&b);
		} else if (type == ROLEMSG_ITEMS && in_bundle &&
		    have < n_items) {
			if (rolebundle_get_items(&p, &b, n_items, &have,
			    &err) != 0)
				in_bundle = 0;
			else if (have == n_items &&
			    b.man.kind == MANIFEST_KIND_REQUEST)
				take_lines(&b);
		}
	}
	bundle_free(&b);
	buf_free(&frame);
	buf_free(&re);
	close(sv[1]);
	return 0;
}
