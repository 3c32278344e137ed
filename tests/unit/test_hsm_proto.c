/* test_hsm_proto.c: helper message framing, including hostile frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsm/hsm_proto.h"

static void
test_roundtrip(void **state)
{
	unsigned char pl[] = { 1, 2, 3 };
	buf_t f, payload;
	uint8_t type;
	uint32_t id;
	err_t err;

	(void)state;
	buf_init(&f, HSM_PROTO_HDR + HSM_PROTO_MAX);
	assert_int_equal(hsm_proto_encode(&f, HSM_MSG_SIGN, 7, pl, sizeof(pl)),
	    0);
	assert_int_equal(f.len, HSM_PROTO_HDR + HSM_PROTO_MIN + sizeof(pl));
	assert_int_equal(hsm_proto_decode(f.data, f.len, hsm_proto_is_request,
	    &type, &id, &payload, &err), 0);
	assert_int_equal(type, HSM_MSG_SIGN);
	assert_int_equal(id, 7);
	assert_int_equal(buf_avail(&payload), sizeof(pl));
	assert_memory_equal(buf_ptr(&payload), pl, sizeof(pl));
	/* A request is not a reply. */
	assert_int_equal(hsm_proto_decode(f.data, f.len, hsm_proto_is_reply,
	    &type, &id, &payload, &err), ERR_PROTO);
	buf_free(&f);
}

static void
test_bad_frames(void **state)
{
	unsigned char f[16];
	buf_t payload;
	uint8_t type;
	uint32_t id;
	size_t n;
	err_t err;

	(void)state;
	/* Oversize length. */
	memcpy(f, "\x00\x04\x00\x01", 4);
	assert_int_equal(hsm_proto_check_header(f, &n, &err), ERR_PROTO);
	memcpy(f, "\xff\xff\xff\xff", 4);
	assert_int_equal(hsm_proto_check_header(f, &n, &err), ERR_PROTO);
	/* Exactly the cap is fine. */
	memcpy(f, "\x00\x04\x00\x00", 4);
	assert_int_equal(hsm_proto_check_header(f, &n, &err), 0);
	assert_int_equal(n, HSM_PROTO_MAX);
	/* Too short to hold type and id. */
	memcpy(f, "\x00\x00\x00\x04\x01\x00\x00\x00", 8);
	assert_int_equal(hsm_proto_decode(f, 8, hsm_proto_is_request, &type,
	    &id, &payload, &err), ERR_PROTO);
	/* Truncated: header says more than there is. */
	memcpy(f, "\x00\x00\x00\x06\x01\x00\x00\x00\x01", 9);
	assert_int_equal(hsm_proto_decode(f, 9, hsm_proto_is_request, &type,
	    &id, &payload, &err), ERR_PROTO);
	assert_int_equal(hsm_proto_decode(f, 3, hsm_proto_is_request, &type,
	    &id, &payload, &err), ERR_PROTO);
	/* Trailing bytes past the stated length. */
	memcpy(f, "\x00\x00\x00\x05\x01\x00\x00\x00\x01\x00", 10);
	assert_int_equal(hsm_proto_decode(f, 10, hsm_proto_is_request, &type,
	    &id, &payload, &err), ERR_PROTO);
	assert_int_equal(hsm_proto_decode(f, 9, hsm_proto_is_request, &type,
	    &id, &payload, &err), 0);
	/* Unknown types. */
	f[4] = 0;
	assert_int_equal(hsm_proto_decode(f, 9, hsm_proto_is_request, &type,
	    &id, &payload, &err), ERR_PROTO);
	f[4] = 7;
	assert_int_equal(hsm_proto_decode(f, 9, hsm_proto_is_request, &type,
	    &id, &payload, &err), ERR_PROTO);
	f[4] = 66;
	assert_int_equal(hsm_proto_decode(f, 9, hsm_proto_is_reply, &type,
	    &id, &payload, &err), ERR_PROTO);
}

static void
test_encode_limit(void **state)
{
	static unsigned char big[HSM_PROTO_MAX];
	buf_t f;

	(void)state;
	buf_init(&f, HSM_PROTO_HDR + HSM_PROTO_MAX);
	assert_int_equal(hsm_proto_encode(&f, HSM_MSG_OK, 1, big,
	    HSM_PROTO_MAX - HSM_PROTO_MIN), 0);
	assert_int_equal(hsm_proto_encode(&f, HSM_MSG_OK, 1, big,
	    HSM_PROTO_MAX - HSM_PROTO_MIN + 1), ERR_LIMIT);
	buf_free(&f);
}

static void
test_socket_io(void **state)
{
	unsigned char pl[] = "hello";
	buf_t f, in, payload;
	uint8_t type;
	uint32_t id;
	int sv[2], eof;
	err_t err;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	buf_init(&f, HSM_PROTO_HDR + HSM_PROTO_MAX);
	buf_init(&in, HSM_PROTO_HDR + HSM_PROTO_MAX);
	assert_int_equal(hsm_proto_encode(&f, HSM_MSG_OK, 3, pl, 5), 0);
	assert_int_equal(hsm_proto_write(sv[0], &f, &err), 0);
	assert_int_equal(hsm_proto_read(sv[1], &in, &eof, &err), 0);
	assert_int_equal(hsm_proto_decode(in.data, in.len, hsm_proto_is_reply,
	    &type, &id, &payload, &err), 0);
	assert_int_equal(id, 3);
	/* Oversize header: refused before any body is read. */
	assert_int_equal(write(sv[0], "\x7f\x00\x00\x00", 4), 4);
	assert_int_equal(hsm_proto_read(sv[1], &in, &eof, &err), ERR_PROTO);
	/* Truncated frame, then EOF mid-frame: not a clean EOF. */
	assert_int_equal(write(sv[0], "\x00\x00\x00\x09\x40", 5), 5);
	close(sv[0]);
	assert_int_equal(hsm_proto_read(sv[1], &in, &eof, &err), ERR_IO);
	assert_int_equal(eof, 0);
	/* Clean EOF at a frame boundary. */
	assert_int_equal(hsm_proto_read(sv[1], &in, &eof, &err), ERR_IO);
	assert_int_equal(eof, 1);
	close(sv[1]);
	buf_free(&f);
	buf_free(&in);
}

static void
test_error_payload(void **state)
{
	buf_t b;
	err_t err;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(hsm_proto_put_error(&b, ERR_AUTH, "wrong PIN"), 0);
	assert_int_equal(hsm_proto_get_error(&b, &err), ERR_AUTH);
	assert_string_equal(err.msg, "wrong PIN");
	buf_reset(&b);
	(void)buf_put_u32(&b, 99);
	(void)buf_put_cstring(&b, "x");
	assert_int_equal(hsm_proto_get_error(&b, &err), ERR_PROTO);
	buf_reset(&b);
	(void)buf_put_u32(&b, 0);
	(void)buf_put_cstring(&b, "x");
	assert_int_equal(hsm_proto_get_error(&b, &err), ERR_PROTO);
	buf_reset(&b);
	(void)buf_put_u32(&b, 5);
	(void)buf_put_cstring(&b, "x");
	(void)buf_put_u8(&b, 0);
	assert_int_equal(hsm_proto_get_error(&b, &err), ERR_PROTO);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_encode_limit),
		cmocka_unit_test(test_socket_io),
		cmocka_unit_test(test_error_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
