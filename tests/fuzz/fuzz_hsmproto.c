/*
 * fuzz_hsmproto.c: libFuzzer target for the framing between Airlock and its
 * HSM helper (hsm/hsm_proto). Either side may be compromised, so each
 * reads the other's frames as hostile.
 *
 * The input is a byte stream on the channel: it is put in a memfd and
 * read frame by frame with hsm_proto_read, as the roles read their
 * socket, until it ends or breaks the protocol. Each frame is decoded as
 * a request and as a reply; a decoded frame must encode back to the same
 * bytes, and an ERR reply's payload that decodes must re-encode to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hsm/hsm_proto.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int chan = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* One memfd for the whole run: a file per input would be slow. */
	if ((chan = memfd_create("hsm-channel", MFD_CLOEXEC)) < 0) {
		perror("memfd_create");
		abort();
	}
	return 0;
}

static void
same(const buf_t *b, const unsigned char *p, size_t n, const char *what)
{
	if (b->len != n || memcmp(b->data, p, n) != 0) {
		fprintf(stderr, "%s does not re-encode to itself\n", what);
		abort();
	}
}

static void
frame(const unsigned char *p, size_t n)
{
	int (*const kinds[2])(uint8_t) = { hsm_proto_is_request,
	    hsm_proto_is_reply };
	buf_t payload, re;
	uint32_t id;
	uint8_t type;
	err_t err, got;
	int k, code;

	for (k = 0; k < 2; k++) {
		if (hsm_proto_decode(p, n, kinds[k], &type, &id, &payload,
		    &err) != 0)
			continue;
		buf_init(&re, HSM_PROTO_HDR + HSM_PROTO_MAX);
		if (hsm_proto_encode(&re, type, id, buf_ptr(&payload),
		    buf_avail(&payload)) != 0)
			abort();
		same(&re, p, n, "frame");
		buf_free(&re);
		if (type != HSM_MSG_ERR)
			continue;
		if ((code = hsm_proto_get_error(&payload, &got)) == ERR_PROTO &&
		    got.code == ERR_PROTO)
			continue;
		buf_init(&re, HSM_PROTO_MAX);
		if (hsm_proto_put_error(&re, code, got.msg) != 0)
			abort();
		buf_view(&payload, p + HSM_PROTO_HDR + HSM_PROTO_MIN,
		    n - HSM_PROTO_HDR - HSM_PROTO_MIN);
		same(&re, buf_ptr(&payload), buf_avail(&payload),
		    "ERR payload");
		buf_free(&re);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	buf_t f;
	err_t err;
	int eof;

	if (ftruncate(chan, 0) != 0 ||
	    (size > 0 && pwrite(chan, data, size, 0) != (ssize_t)size) ||
	    lseek(chan, 0, SEEK_SET) != 0)
		abort();
	buf_init(&f, HSM_PROTO_HDR + HSM_PROTO_MAX);
	while (hsm_proto_read(chan, &f, &eof, &err) == 0)
		frame(f.data, f.len);
	buf_free(&f);
	return 0;
}
