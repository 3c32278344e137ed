/*
 * test_rolemsg.c: the messages between airlockd's roles (role/rolemsg.h)
 * and a judged bundle across them (role/rolebundle.h), hostile messages
 * included: every anomaly must end the conversation, never be taken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "role/rolebundle.h"
#include "role/rolemsg.h"

#define ST_A 1u
#define ST_B 2u

static const struct rolemsg_rule table[] = {
	{ ROLEMSG_JUDGE, ST_A, 1, 100 },
	{ ROLEMSG_SIGNER, ST_B, 0, 68 },
	{ ROLEMSG_ITEMS, ST_A | ST_B, 0, ROLEMSG_PAYLOAD_MAX },
};
#define NT (sizeof(table) / sizeof(table[0]))

static void
test_roundtrip(void **state)
{
	unsigned char pl[] = { 9, 8, 7 };
	buf_t f, payload;
	uint8_t type;
	err_t err;

	(void)state;
	buf_init(&f, ROLEMSG_HDR + ROLEMSG_MAX);
	assert_int_equal(rolemsg_encode(&f, ROLEMSG_SIGNER, pl, sizeof(pl)),
	    0);
	assert_int_equal(f.len, ROLEMSG_HDR + 1 + sizeof(pl));
	assert_int_equal(rolemsg_decode(f.data, f.len, &type, &payload, &err),
	    0);
	assert_int_equal(type, ROLEMSG_SIGNER);
	assert_int_equal(buf_avail(&payload), sizeof(pl));
	assert_memory_equal(buf_ptr(&payload), pl, sizeof(pl));
	/* One byte short, one byte more: the length no longer matches. */
	assert_int_equal(rolemsg_decode(f.data, f.len - 1, &type, &payload,
	    &err), ERR_PROTO);
	assert_int_equal(rolemsg_encode(&f, ROLEMSG_SIGNER, NULL,
	    ROLEMSG_PAYLOAD_MAX + 1), ERR_LIMIT);
	buf_free(&f);
}

static void
test_bad_frames(void **state)
{
	unsigned char f[8] = { 0 };
	buf_t payload;
	uint8_t type;
	err_t err;

	(void)state;
	/* Length 0: no type. */
	assert_int_equal(rolemsg_decode(f, 5, &type, &payload, &err),
	    ERR_PROTO);
	/* Above the cap. */
	memcpy(f, "\x00\x10\x00\x01", 4);
	assert_int_equal(rolemsg_decode(f, 8, &type, &payload, &err),
	    ERR_PROTO);
	assert_non_null(strstr(err.msg, "outside"));
	/* Truncated header. */
	assert_int_equal(rolemsg_decode(f, 3, &type, &payload, &err),
	    ERR_PROTO);
}

static void
test_table(void **state)
{
	err_t err;

	(void)state;
	assert_int_equal(rolemsg_check(table, NT, ST_A, ROLEMSG_JUDGE, 1, 10,
	    "ingest", &err), 0);
	/* The right message in the wrong state. */
	assert_int_equal(rolemsg_check(table, NT, ST_B, ROLEMSG_JUDGE, 1, 10,
	    "ingest", &err), ERR_PROTO);
	assert_non_null(strstr(err.msg, "may not send"));
	/* A message the table does not know. */
	assert_int_equal(rolemsg_check(table, NT, ST_A, ROLEMSG_LOST, 0, 1,
	    "ingest", &err), ERR_PROTO);
	assert_int_equal(rolemsg_check(table, NT, ST_A, 200, 0, 1, "ingest",
	    &err), ERR_PROTO);
	/* A descriptor missing, or where none belongs. */
	assert_int_equal(rolemsg_check(table, NT, ST_A, ROLEMSG_JUDGE, 0, 10,
	    "ingest", &err), ERR_PROTO);
	assert_non_null(strstr(err.msg, "without a file descriptor"));
	assert_int_equal(rolemsg_check(table, NT, ST_B, ROLEMSG_SIGNER, 1, 10,
	    "ingest", &err), ERR_PROTO);
	/* Larger than the table allows for that type. */
	assert_int_equal(rolemsg_check(table, NT, ST_B, ROLEMSG_SIGNER, 0, 69,
	    "ingest", &err), ERR_PROTO);
	assert_int_equal(rolemsg_check(table, NT, ST_B, ROLEMSG_ITEMS, 0, 69,
	    "ingest", &err), 0);
}

static void
test_fd_passing(void **state)
{
	int sv[2], pp[2], fd = -1, eof, gone;
	buf_t p, frame, payload;
	uint8_t type;
	char got[4] = "";
	err_t err;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(pp), 0);
	buf_init(&p, 64);
	buf_init(&frame, ROLEMSG_HDR + ROLEMSG_MAX);
	(void)buf_put_cstring(&p, "hi");
	assert_int_equal(rolemsg_send(sv[0], ROLEMSG_JUDGE, &p, pp[1], &gone,
	    &err), 0);
	close(pp[1]);
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 1000, &eof, &err),
	    0);
	assert_true(fd >= 0);
	assert_int_equal(rolemsg_decode(frame.data, frame.len, &type,
	    &payload, &err), 0);
	assert_int_equal(type, ROLEMSG_JUDGE);
	assert_int_equal(rolemsg_check(table, NT, ST_A, type, fd != -1,
	    buf_avail(&payload), "store", &err), 0);
	/* The descriptor that came is the pipe's write end. */
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(read(pp[0], got, 3), 3);
	assert_memory_equal(got, "abc", 3);
	/* Without a descriptor, none arrives. */
	assert_int_equal(rolemsg_send(sv[0], ROLEMSG_SIGNER, &p, -1, &gone,
	    &err), 0);
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 1000, &eof, &err),
	    0);
	assert_int_equal(fd, -1);
	/* The peer closes: a clean end of stream, then a send fails. */
	close(sv[0]);
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 1000, &eof, &err),
	    ERR_IO);
	assert_int_equal(eof, 1);
	assert_int_equal(rolemsg_send(sv[1], ROLEMSG_SIGNER, &p, -1, &gone,
	    &err), ERR_IO);
	assert_int_equal(gone, 1);
	close(sv[1]);
	close(pp[0]);
	buf_free(&p);
	buf_free(&frame);
}

/* Sends len bytes of p with n descriptors attached, bypassing rolemsg. */
static void
send_raw(int sock, const void *p, size_t len, const int *fds, size_t n)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr m;

	memset(&m, 0, sizeof(m));
	memset(&ctl, 0, sizeof(ctl));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (n > 0) {
		struct cmsghdr *c;

		m.msg_control = ctl.space;
		m.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &m, 0), (ssize_t)len);
}

static void
test_hostile_stream(void **state)
{
	int sv[2], pp[2], fd, eof;
	buf_t frame;
	err_t err;
	unsigned char msg[6] = { 0, 0, 0, 2, ROLEMSG_SIGNER, 0 };

	(void)state;
	buf_init(&frame, ROLEMSG_HDR + ROLEMSG_MAX);
	/* Oversized: refused from the header, nothing more is read. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "\x7f\xff\xff\xff", 4), 4);
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 1000, &eof, &err),
	    ERR_PROTO);
	close(sv[0]);
	close(sv[1]);
	/* Truncated: the header promises more than comes. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "\x00\x00\x00\x09\x04", 5), 5);
	close(sv[0]);
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 1000, &eof, &err),
	    ERR_IO);
	assert_int_equal(eof, 0);
	close(sv[1]);
	/* Two descriptors on one message: refused, both closed. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(pp), 0);
	send_raw(sv[0], msg, sizeof(msg), pp, 2);
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 1000, &eof, &err),
	    ERR_PROTO);
	assert_int_equal(fd, -1);
	/* A descriptor that comes with the body, not the header: refused. */
	send_raw(sv[0], msg, 4, NULL, 0);
	send_raw(sv[0], msg + 4, 2, pp, 1);
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 1000, &eof, &err),
	    ERR_PROTO);
	assert_int_equal(fd, -1);
	/* Nothing comes while the peer is there: a timeout, not a hang. */
	assert_int_equal(rolemsg_recv(sv[1], &frame, &fd, 10, &eof, &err),
	    ERR_IO);
	assert_int_equal(eof, 0);
	assert_non_null(strstr(err.msg, "no role message"));
	close(pp[0]);
	close(pp[1]);
	close(sv[0]);
	close(sv[1]);
	buf_free(&frame);
}

static void
test_refusal(void **state)
{
	struct bundle b, back;
	enum bundle_stage stage;
	diag_t d, d2;
	buf_t p;
	err_t err;
	int code;
	size_t cut;

	(void)state;
	memset(&b, 0, sizeof(b));
	snprintf(b.env.signer_sha256, sizeof(b.env.signer_sha256), "%s",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	snprintf(b.man.id, sizeof(b.man.id), "%s",
	    "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
	diag_init(&d);
	(void)diag_add(&d, "requests.csv", 12, "mac", "Line 12 - bad MAC");
	(void)diag_add(&d, NULL, 0, NULL, "second problem");
	buf_init(&p, ROLEMSG_PAYLOAD_MAX);
	assert_int_equal(rolebundle_put_refusal(&p, ERR_POLICY,
	    BUNDLE_STAGE_INPUT, &b, &d), 0);
	diag_init(&d2);
	assert_int_equal(rolebundle_get_refusal(&p, &code, &stage, &back, &d2,
	    &err), 0);
	assert_int_equal(code, ERR_POLICY);
	assert_int_equal(stage, BUNDLE_STAGE_INPUT);
	assert_string_equal(back.env.signer_sha256, b.env.signer_sha256);
	assert_string_equal(back.man.id, b.man.id);
	assert_int_equal(diag_count(&d2), 2);
	assert_string_equal(d2.items[0].file, "requests.csv");
	assert_int_equal(d2.items[0].line, 12);
	assert_string_equal(d2.items[1].msg, "second problem");
	diag_free(&d2);
	/* Every truncation is refused. */
	for (cut = 0; cut < p.len; cut++) {
		buf_t v;

		diag_init(&d2);
		buf_view(&v, p.data, cut);
		assert_int_equal(rolebundle_get_refusal(&v, &code, &stage,
		    &back, &d2, &err), ERR_PROTO);
		diag_free(&d2);
	}
	/* A stage out of range. */
	p.data[4] = 99;
	{
		buf_t v;

		buf_view(&v, p.data, p.len);
		diag_init(&d2);
		assert_int_equal(rolebundle_get_refusal(&v, &code, &stage,
		    &back, &d2, &err), ERR_PROTO);
		diag_free(&d2);
	}
	buf_free(&p);
	diag_free(&d);
}

/* A csr batch of two lines for profile "tls", one with its request. */
static void
make_bundle(struct bundle *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->recipient_der, 1024);
	memset(b->env.bundle_sha256, 'a', 64);
	memset(b->env.signer_sha256, 'b', 64);
	b->man.version = MANIFEST_VERSION;
	b->man.kind = MANIFEST_KIND_REQUEST;
	snprintf(b->man.id, sizeof(b->man.id), "%s",
	    "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
	b->man.req.batch_name = strdup("batch one");
	b->man.req.batch_description = strdup("");
	b->man.req.profile = strdup("tls");
	b->man.req.mode = MANIFEST_INPUT_CSV;
	b->man.req.csv_file = strdup("requests.csv");
	b->man.req.format = MANIFEST_FORMAT_PKCS12;
	assert_int_equal(secret_new(&b->man.req.p12_password), 0);
	assert_int_equal(secret_set(b->man.req.p12_password, "password12345",
	    13), 0);
	b->n_lines = 2;
	b->generates_keys = 1;
	snprintf(b->key_types, sizeof(b->key_types), "ec-p256 x 2");
	b->lines = calloc(2, sizeof(*b->lines));
	b->lines[0].name = strdup("host1.example.com");
	b->lines[0].fields = strdup("common_name=host1.example.com");
	b->lines[0].src_line = 2;
	b->lines[1].name = strdup("host2.example.com");
	b->lines[1].request_der = malloc(3);
	memcpy(b->lines[1].request_der, "\x30\x01\x00", 3);
	b->lines[1].request_der_len = 3;
	b->lines[1].has_mac = 1;
	b->lines[1].src_line = 3;
}

static void
test_accepted(void **state)
{
	struct profile prof;
	struct profile_set set = { &prof, 1 };
	struct bundle b, back;
	size_t n_items, next = 0, have = 0, cut;
	buf_t head, items, hv, iv;
	err_t err;

	(void)state;
	memset(&prof, 0, sizeof(prof));
	prof.name = (char *)(uintptr_t)"tls";
	make_bundle(&b);
	buf_init(&head, ROLEMSG_PAYLOAD_MAX);
	buf_init(&items, ROLEMSG_PAYLOAD_MAX);
	assert_int_equal(rolebundle_put_head(&head, &b, &n_items), 0);
	assert_int_equal(n_items, 2);
	assert_int_equal(rolebundle_put_items(&items, &b, &next), 0);
	assert_int_equal(next, 2);
	assert_int_equal(rolebundle_get_head(&head, &set, &back, &n_items,
	    &err), 0);
	assert_int_equal(rolebundle_get_items(&items, &back, n_items, &have,
	    &err), 0);
	assert_int_equal(have, 2);
	assert_ptr_equal(back.profile, &prof);
	assert_string_equal(back.man.req.batch_name, "batch one");
	assert_int_equal(back.man.req.p12_password->len, 13);
	assert_string_equal(back.lines[0].fields,
	    "common_name=host1.example.com");
	assert_null(back.lines[0].request_der);
	assert_int_equal(back.lines[1].request_der_len, 3);
	assert_int_equal(back.lines[1].src_line, 3);
	bundle_free(&back);
	/* Items beyond what the head announced are refused. */
	buf_view(&hv, head.data, head.len);
	assert_int_equal(rolebundle_get_head(&hv, &set, &back, &n_items,
	    &err), 0);
	buf_view(&iv, items.data, items.len);
	have = 1;
	assert_int_equal(rolebundle_get_items(&iv, &back, n_items, &have,
	    &err), ERR_PROTO);
	bundle_free(&back);
	/* A profile this appliance does not have. */
	prof.name = (char *)(uintptr_t)"other";
	buf_view(&hv, head.data, head.len);
	assert_int_equal(rolebundle_get_head(&hv, &set, &back, &n_items,
	    &err), ERR_PROTO);
	assert_non_null(strstr(err.msg, "does not have"));
	bundle_free(&back);
	/* Every truncation of the head is refused, and frees cleanly. */
	for (cut = 0; cut < head.len; cut++) {
		buf_t v;

		buf_view(&v, head.data, cut);
		assert_int_equal(rolebundle_get_head(&v, &set, &back, &n_items,
		    &err), ERR_PROTO);
		bundle_free(&back);
	}
	bundle_free(&b);
	buf_free(&head);
	buf_free(&items);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_hostile_stream),
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
