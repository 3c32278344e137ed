/*
 * test_rolelink.c: the store role's side of the ingest role
 * (role/rolelink.h) against scripted ingest roles and a scripted parent,
 * each a thread on real socketpairs: a refusal passes through with the
 * store's own record of the signer; an accepted bundle is checked again
 * (digest, signer, profile); a role that breaks the table, asks too much
 * or ends with a bundle in flight is given up, replaced by the parent,
 * and the bundle refused at stage ingest with the reason; a role that
 * ended while idle is replaced and the bundle judged by the next one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "role/rolebundle.h"
#include "role/rolelink.h"
#include "role/rolemsg.h"

enum script {
	SCRIPT_REFUSE,		/* asks for the signer, then refuses */
	SCRIPT_VIOLATE,		/* answers JUDGE with JUDGE */
	SCRIPT_CRASH,		/* ends with the bundle in flight */
	SCRIPT_FLOOD,		/* asks more than the store answers */
	SCRIPT_ACCEPT,		/* accepts a mac-range bundle */
	SCRIPT_ACCEPT_WRONG	/* accepts, with another file's digest */
};

struct fake {
	int sock;
	enum script script;
	char sha[65];		/* the digest of the bundle's bytes */
	int got_fd;		/* JUDGE came with a descriptor */
	char signer_name[256];	/* what the store said of the signer */
};

static struct profile prof;
static int listed = 1;		/* Dave is among the profile's operators */
static char *operators[] = { (char *)(uintptr_t)"Dave Example" };
static struct profile_set profiles = { &prof, 1 };

static int
fake_signer(void *ctx, const char *sha256, struct bundle_signer *out,
    err_t *err)
{
	(void)ctx;
	(void)err;
	(void)sha256;
	memset(out, 0, sizeof(*out));
	out->person_id = 4;
	snprintf(out->name, sizeof(out->name), "Dave Example");
	snprintf(out->role, sizeof(out->role), "operator");
	snprintf(out->status, sizeof(out->status), "active");
	return 0;
}

static int
fake_issuer(void *ctx, const char *name, struct bundle_issuer *out,
    err_t *err)
{
	(void)ctx;
	(void)name;
	(void)err;
	out->ca_id = 7;
	out->cert = NULL;
	return 0;
}

static void
send_or_fail(int sock, uint8_t type, const buf_t *p)
{
	err_t e;
	int gone;

	assert_int_equal(rolemsg_send(sock, type, p, -1, &gone, &e), 0);
}

/* A mac-range bundle of 4 lines for "tls", signed by Dave. */
static void
accepted_bundle(struct bundle *b, const char *sha)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->recipient_der, 16);
	snprintf(b->env.bundle_sha256, sizeof(b->env.bundle_sha256), "%s",
	    sha);
	memset(b->env.signer_sha256, 'c', 64);
	b->man.version = MANIFEST_VERSION;
	snprintf(b->man.id, sizeof(b->man.id), "%s",
	    "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
	b->man.req.batch_name = strdup("Line 4");
	b->man.req.profile = strdup("tls");
	b->man.req.range.count = 4;
	b->man.req.range.increment = 1;
	b->man.req.range.start[5] = 0x10;
	b->man.req.format = MANIFEST_FORMAT_SMPB;
	b->n_lines = 4;
	b->generates_keys = 1;
}

static void *
fake_ingest(void *arg)
{
	struct fake *f = arg;
	buf_t frame, p, payload;
	struct bundle b;
	uint8_t type;
	size_t n;
	err_t e;
	int fd, eof, i;

	buf_init(&frame, ROLEMSG_HDR + ROLEMSG_MAX);
	buf_init(&p, ROLEMSG_PAYLOAD_MAX);
	if (rolemsg_recv(f->sock, &frame, &fd, 5000, &eof, &e) != 0)
		goto out;
	f->got_fd = fd != -1;
	if (fd != -1)
		close(fd);
	switch (f->script) {
	case SCRIPT_CRASH:
		break;
	case SCRIPT_VIOLATE:
		(void)buf_put_cstring(&p, "x");
		send_or_fail(f->sock, ROLEMSG_JUDGE, &p);
		break;
	case SCRIPT_FLOOD:
		for (i = 0; i < 100; i++) {
			buf_reset(&p);
			(void)buf_put_cstring(&p, f->sha);
			if (rolemsg_send(f->sock, ROLEMSG_SIGNER, &p, -1, &eof,
			    &e) != 0 || rolemsg_recv(f->sock, &frame, &fd, 5000,
			    &eof, &e) != 0)
				break;
		}
		break;
	case SCRIPT_REFUSE: {
		diag_t d;
		uint32_t code;
		uint64_t id;

		(void)buf_put_cstring(&p, f->sha);
		send_or_fail(f->sock, ROLEMSG_SIGNER, &p);
		assert_int_equal(rolemsg_recv(f->sock, &frame, &fd, 5000, &eof,
		    &e), 0);
		assert_int_equal(rolemsg_decode(frame.data, frame.len, &type,
		    &payload, &e), 0);
		assert_int_equal(type, ROLEMSG_REPLY);
		assert_int_equal(buf_get_u32(&payload, &code), 0);
		assert_int_equal(code, 0);
		assert_int_equal(buf_get_u64(&payload, &id), 0);
		assert_int_equal(buf_get_text(&payload, f->signer_name,
		    sizeof(f->signer_name)), 0);
		memset(&b, 0, sizeof(b));
		memset(b.env.signer_sha256, 'c', 64);
		diag_init(&d);
		(void)diag_add(&d, NULL, 0, NULL, "operator is locked");
		buf_reset(&p);
		assert_int_equal(rolebundle_put_refusal(&p, ERR_POLICY,
		    BUNDLE_STAGE_SIGNER, &b, &d), 0);
		send_or_fail(f->sock, ROLEMSG_REFUSED, &p);
		diag_free(&d);
		break;
	}
	case SCRIPT_ACCEPT:
	case SCRIPT_ACCEPT_WRONG:
		accepted_bundle(&b, f->script == SCRIPT_ACCEPT ? f->sha :
		    "abababababababababababababababababababababababababababababababab");
		assert_int_equal(rolebundle_put_head(&p, &b, &n), 0);
		send_or_fail(f->sock, ROLEMSG_ACCEPTED, &p);
		bundle_free(&b);
		break;
	}
out:
	close(f->sock);
	buf_free(&frame);
	buf_free(&p);
	return NULL;
}

/* The parent: answers LOST with a new ingest role running next. */
struct fake_parent {
	int ctl;
	enum script next;
	char sha[65];
	int lost;		/* LOST messages seen */
	struct fake ingest;
	pthread_t ingest_thread;
	int started;
};

static void *
fake_parent(void *arg)
{
	struct fake_parent *fp = arg;
	buf_t frame, p, m;
	uint8_t type;
	uint32_t gen;
	int fd, eof, sv[2], gone;
	err_t e;

	buf_init(&frame, ROLEMSG_HDR + ROLEMSG_MAX);
	buf_init(&m, 4096);
	while (rolemsg_recv(fp->ctl, &frame, &fd, 5000, &eof, &e) == 0) {
		assert_int_equal(rolemsg_decode(frame.data, frame.len, &type, &p,
		    &e), 0);
		assert_int_equal(type, ROLEMSG_LOST);
		assert_int_equal(buf_get_u32(&p, &gen), 0);
		fp->lost++;
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		fp->ingest.sock = sv[1];
		fp->ingest.script = fp->next;
		memcpy(fp->ingest.sha, fp->sha, sizeof(fp->sha));
		assert_int_equal(pthread_create(&fp->ingest_thread, NULL,
		    fake_ingest, &fp->ingest), 0);
		fp->started = 1;
		buf_reset(&m);
		(void)buf_put_u32(&m, gen + 1);
		(void)buf_put_cstring(&m, "killed by signal 31, Bad system call");
		assert_int_equal(rolemsg_send(fp->ctl, ROLEMSG_INGEST, &m, sv[0],
		    &gone, &e), 0);
		close(sv[0]);
		break;
	}
	buf_free(&frame);
	buf_free(&m);
	return NULL;
}

struct run {
	int r;
	enum bundle_stage stage;
	const char *stage_name;
	diag_t diag;
	struct bundle b;
	struct fake ingest;
	struct fake_parent parent;
	pthread_t parent_thread;
};

/*
 * Judges "bytes" with a first ingest role running first (or none, idle
 * death) and the parent replacing it with one running next.
 */
static void
run_judge(struct run *u, enum script first, int first_dead,
    enum script next)
{
	static const char bytes[] = "a bundle";
	struct bundle_opts o;
	struct role_link *l;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	pthread_t t;
	buf_t data;
	int a[2], c[2];
	err_t e;

	memset(u, 0, sizeof(*u));
	memset(&prof, 0, sizeof(prof));
	prof.name = (char *)(uintptr_t)"tls";
	prof.issuer = (char *)(uintptr_t)"device-ca";
	prof.enabled = 1;
	prof.max_batch = 100;
	prof.mac_format = MAC_STYLE_COLON_LOWER;
	prof.operators = operators;
	prof.n_operators = listed ? 1 : 0;
	memset(&o, 0, sizeof(o));
	o.profiles = &profiles;
	o.signer_lookup = fake_signer;
	o.issuer_lookup = fake_issuer;
	o.env.now = 1795000000;
	buf_view(&data, bytes, sizeof(bytes) - 1);
	assert_int_equal(EVP_Digest(bytes, sizeof(bytes) - 1, md, &mdlen,
	    EVP_sha256(), NULL), 1);
	buf_hex(md, mdlen, u->ingest.sha, sizeof(u->ingest.sha));
	memcpy(u->parent.sha, u->ingest.sha, sizeof(u->parent.sha));

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
	u->ingest.sock = a[1];
	u->ingest.script = first;
	if (first_dead)
		close(a[1]);
	else
		assert_int_equal(pthread_create(&t, NULL, fake_ingest,
		    &u->ingest), 0);
	u->parent.ctl = c[1];
	u->parent.next = next;
	assert_int_equal(pthread_create(&u->parent_thread, NULL, fake_parent,
	    &u->parent), 0);
	assert_int_equal(role_link_new(a[0], c[0], &l, &e), 0);
	diag_init(&u->diag);
	u->r = role_link_judge(l, "b.cms", -1, &data, &o, &u->b, &u->stage,
	    &u->stage_name, &u->diag);
	role_link_free(l);	/* closes ctl: the parent stops waiting */
	if (!first_dead)
		pthread_join(t, NULL);
	pthread_join(u->parent_thread, NULL);
	if (u->parent.started)
		pthread_join(u->parent.ingest_thread, NULL);
	close(c[1]);
}

static void
run_free(struct run *u)
{
	bundle_free(&u->b);
	diag_free(&u->diag);
}

static void
test_refusal(void **state)
{
	struct run u;

	(void)state;
	run_judge(&u, SCRIPT_REFUSE, 0, SCRIPT_REFUSE);
	assert_int_equal(u.r, ERR_POLICY);
	assert_int_equal(u.stage, BUNDLE_STAGE_SIGNER);
	assert_null(u.stage_name);
	assert_true(u.ingest.got_fd);	/* bytes in memory go as a memfd */
	assert_string_equal(u.ingest.signer_name, "Dave Example");
	assert_string_equal(u.diag.items[0].msg, "operator is locked");
	/* The signer as the store's records say, for the refusal's row. */
	assert_int_equal(u.b.signer.person_id, 4);
	assert_int_equal(u.parent.lost, 0);
	run_free(&u);
}

static void
test_violation(void **state)
{
	struct run u;

	(void)state;
	run_judge(&u, SCRIPT_VIOLATE, 0, SCRIPT_REFUSE);
	assert_int_equal(u.r, ERR_POLICY);
	assert_non_null(u.stage_name);
	assert_string_equal(u.stage_name, ROLELINK_STAGE);
	assert_non_null(strstr(u.diag.items[0].msg, "broke the role protocol"));
	assert_non_null(strstr(u.diag.items[0].msg, "may not send"));
	assert_int_equal(u.parent.lost, 1);
	run_free(&u);
}

static void
test_crash_in_flight(void **state)
{
	struct run u;

	(void)state;
	run_judge(&u, SCRIPT_CRASH, 0, SCRIPT_REFUSE);
	assert_int_equal(u.r, ERR_POLICY);
	assert_string_equal(u.stage_name, ROLELINK_STAGE);
	assert_string_equal(u.diag.items[0].msg, "the ingest role ended while "
	    "reading this bundle (killed by signal 31, Bad system call)");
	assert_int_equal(u.parent.lost, 1);
	run_free(&u);
}

static void
test_flood(void **state)
{
	struct run u;

	(void)state;
	run_judge(&u, SCRIPT_FLOOD, 0, SCRIPT_REFUSE);
	assert_int_equal(u.r, ERR_POLICY);
	assert_non_null(strstr(u.diag.items[0].msg, "more than 64 requests"));
	run_free(&u);
}

static void
test_idle_death(void **state)
{
	struct run u;

	(void)state;
	/* The first role is gone before the bundle: the next one judges. */
	run_judge(&u, SCRIPT_CRASH, 1, SCRIPT_REFUSE);
	assert_int_equal(u.parent.lost, 1);
	assert_int_equal(u.r, ERR_POLICY);
	assert_int_equal(u.stage, BUNDLE_STAGE_SIGNER);
	assert_null(u.stage_name);
	run_free(&u);
}

static void
test_accepted(void **state)
{
	struct run u;
	struct queue_line_new line;
	err_t e;

	(void)state;
	run_judge(&u, SCRIPT_ACCEPT, 0, SCRIPT_REFUSE);
	assert_int_equal(u.r, 0);
	assert_ptr_equal(u.b.profile, &prof);
	assert_int_equal(u.b.ca_id, 7);	/* the store's, not the role's */
	assert_string_equal(u.b.signer.name, "Dave Example");
	assert_int_equal(u.b.n_lines, 4);
	assert_int_equal(bundle_line_get(&u.b, 4, &line, &e), 0);
	assert_string_equal(line.name, "00:00:00:00:00:13");
	run_free(&u);

	/* Another file's digest: not judged now (it changed), no restart. */
	run_judge(&u, SCRIPT_ACCEPT_WRONG, 0, SCRIPT_REFUSE);
	assert_int_equal(u.r, ERR_IO);
	assert_null(u.stage_name);
	assert_int_equal(u.parent.lost, 0);
	run_free(&u);

	/* An operator the profile does not list: the role is not trusted. */
	listed = 0;
	run_judge(&u, SCRIPT_ACCEPT, 0, SCRIPT_REFUSE);
	listed = 1;
	assert_int_equal(u.r, ERR_POLICY);
	assert_string_equal(u.stage_name, ROLELINK_STAGE);
	assert_non_null(strstr(u.diag.items[0].msg, "profile refuses"));
	assert_int_equal(u.parent.lost, 1);
	run_free(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_violation),
		cmocka_unit_test(test_crash_in_flight),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_idle_death),
		cmocka_unit_test(test_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
