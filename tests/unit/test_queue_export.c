/*
 * test_queue_export.c: the export records of finished batches
 * (queue/export.c): the first export, re-export requests, the quorum a
 * re-export needs, the digest officers sign, and the state table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "batchfx.h"

static const struct bfx_spec csr_spec = {
	.name = "Batch", .mode = "csr", .format = "pem-zip", .lines = 2,
};

static int
setup(void **state)
{
	*state = bfx_new("qexport");
	return 0;
}

static int
teardown(void **state)
{
	return bfx_free(*state);
}

/* Writes export id as the daemon would after export_run. */
static void
mark_written(struct bfx *f, int64_t id, const char *dir)
{
	err_t e;

	if (queue_export_transition(f->s, id, QUEUE_EXPORT_APPROVED,
	    QUEUE_EXPORT_WRITTEN, dir, "ab" "ababababababababababababababab"
	    "abababababababababababababababab", 5000, &e) != 0)
		fail_msg("written: %s", e.msg);
}

static void
test_first_idempotent(void **state)
{
	struct bfx *f = *state;
	struct bfx_spec open = csr_spec;
	struct queue_export x;
	int64_t batch, busy, id = 0, again = 0;
	err_t e;

	/* Nothing to export while the batch is still issuing. */
	open.no_finish = 1;
	open.name = "Open";
	busy = bfx_batch(f, &open);
	assert_int_equal(queue_export_first(f->s, busy, &id, &e), ERR_INVALID);
	assert_contains(e.msg, "issuing");
	assert_int_equal(queue_export_first(f->s, 999, &id, &e), ERR_NOTFOUND);
	assert_int_equal(bfx_sql_int(f, "SELECT count(*) FROM export"), 0);

	batch = bfx_batch(f, &csr_spec);
	assert_int_equal(queue_export_first(f->s, batch, &id, &e), 0);
	assert_true(id > 0);
	assert_int_equal(queue_export_first(f->s, batch, &again, &e), 0);
	assert_int_equal(again, id);
	assert_int_equal(bfx_sql_int(f, "SELECT count(*) FROM export"), 1);

	assert_int_equal(queue_export_get(f->s, id, &x, &e), 0);
	assert_int_equal(x.batch_id, batch);
	assert_int_equal(x.number, 1);
	assert_int_equal(x.state, QUEUE_EXPORT_APPROVED);
	assert_null(x.dir);
	assert_null(x.manifest_sha256);
	assert_int_equal(x.written, 0);
	queue_export_free(&x);

	/* Written: idempotent still, and the record keeps what was written. */
	mark_written(f, id, "batch-2-Batch-1");
	assert_int_equal(queue_export_first(f->s, batch, &again, &e), 0);
	assert_int_equal(again, id);
	assert_int_equal(queue_export_get(f->s, id, &x, &e), 0);
	assert_int_equal(x.state, QUEUE_EXPORT_WRITTEN);
	assert_string_equal(x.dir, "batch-2-Batch-1");
	assert_int_equal(strlen(x.manifest_sha256), 64);
	assert_int_equal(x.written, 5000);
	queue_export_free(&x);
	assert_int_equal(queue_export_get(f->s, 424242, &x, &e), ERR_NOTFOUND);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
}

static void
test_request_rules(void **state)
{
	struct bfx *f = *state;
	struct bfx_spec open = csr_spec;
	struct queue_export x;
	int64_t batch, busy, first = 0, id = 0, other = 0;
	err_t e;

	open.no_finish = 1;
	open.name = "Open";
	busy = bfx_batch(f, &open);
	assert_int_equal(queue_export_request(f->s, busy, 3000, &id, &e),
	    ERR_INVALID);

	batch = bfx_batch(f, &csr_spec);
	/* No export at all yet, then one approved but not written. */
	assert_int_equal(queue_export_request(f->s, batch, 3000, &id, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "no written export");
	assert_int_equal(queue_export_first(f->s, batch, &first, &e), 0);
	assert_int_equal(queue_export_request(f->s, batch, 3000, &id, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "no written export");

	/* What approved -> written must carry. */
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_WRITTEN, NULL,
	    "abababababababababababababababab"
	    "abababababababababababababababab", 5000, &e), ERR_INVALID);
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_WRITTEN, "a/b",
	    "abababababababababababababababab"
	    "abababababababababababababababab", 5000, &e), ERR_INVALID);
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_WRITTEN, "d",
	    "ABABABABABABABABABABABABABABABAB"
	    "abababababababababababababababab", 5000, &e), ERR_INVALID);
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_WRITTEN, "d", "ab", 5000, &e),
	    ERR_INVALID);
	/* Moves the table does not have. */
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_APPROVED, NULL, NULL, 5000,
	    &e), ERR_INVALID);
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_FAILED, NULL, NULL, 5000,
	    &e), ERR_INVALID);
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_APPROVED, NULL, NULL,
	    5000, &e), ERR_INVALID);
	assert_contains(e.msg, "is 'approved', not 'pending-approval'");
	assert_int_equal(queue_export_transition(f->s, first,
	    (enum queue_export_state)9, QUEUE_EXPORT_APPROVED, NULL, NULL,
	    5000, &e), ERR_INVALID);
	assert_int_equal(queue_export_transition(f->s, 31337,
	    QUEUE_EXPORT_APPROVED, QUEUE_EXPORT_WRITTEN, "d",
	    "abababababababababababababababab"
	    "abababababababababababababababab", 5000, &e), ERR_NOTFOUND);
	assert_int_equal(bfx_export_state(f, first), QUEUE_EXPORT_APPROVED);

	mark_written(f, first, "batch-2-Batch-1");
	/* Written is final. */
	assert_int_equal(queue_export_transition(f->s, first,
	    QUEUE_EXPORT_WRITTEN, QUEUE_EXPORT_APPROVED, NULL, NULL, 5000,
	    &e), ERR_INVALID);

	assert_int_equal(queue_export_request(f->s, batch, 3000, &id, &e), 0);
	assert_int_equal(queue_export_get(f->s, id, &x, &e), 0);
	assert_int_equal(x.number, 2);
	assert_int_equal(x.state, QUEUE_EXPORT_PENDING_APPROVAL);
	assert_int_equal(x.created, 3000);
	queue_export_free(&x);
	/* One re-export at a time, pending or approved. */
	assert_int_equal(queue_export_request(f->s, batch, 3001, &other, &e),
	    ERR_EXISTS);
	assert_contains(e.msg, "already has a re-export");
	assert_int_equal(bfx_sql_int(f, "SELECT count(*) FROM export"), 2);
	/* Not approved, so not written. */
	assert_int_equal(queue_export_transition(f->s, id,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_WRITTEN, "d",
	    "abababababababababababababababab"
	    "abababababababababababababababab", 5000, &e), ERR_INVALID);
	/* Another batch's re-exports are its own. */
	assert_int_equal(queue_export_request(f->s, busy, 3000, &other, &e),
	    ERR_INVALID);
}

struct listed {
	int n;
	int64_t ids[8];
};

static int
list_cb(void *ctx, const struct queue_export *x)
{
	struct listed *l = ctx;

	if (l->n < 8)
		l->ids[l->n] = x->id;
	l->n++;
	return 0;
}

static int
stop_cb(void *ctx, const struct queue_export *x)
{
	(void)ctx;
	(void)x;
	return 7;
}

static void
test_quorum(void **state)
{
	struct bfx *f = *state;
	struct listed l = { 0 };
	char digest[65], other[65];
	int64_t batch, first = 0, id = 0, id3 = 0, id4 = 0;
	err_t e;

	batch = bfx_batch(f, &csr_spec);
	assert_int_equal(queue_export_first(f->s, batch, &first, &e), 0);
	mark_written(f, first, "d1");
	assert_int_equal(queue_export_request(f->s, batch, 3000, &id, &e), 0);
	assert_int_equal(queue_export_digest(f->s, id, digest, &e), 0);
	assert_int_equal(queue_export_digest(f->s, first, other, &e), 0);
	assert_string_not_equal(digest, other);

	/* The first export was approved with the batch; no quorum needed. */
	assert_int_equal(bfx_export_state(f, first), QUEUE_EXPORT_WRITTEN);

	/* Votes that never count. */
	bfx_vote(f, "export", id, BFX_OP, f->op_id, digest, "approve", NULL);
	bfx_vote(f, "export", id, BFX_O2, f->o2_id, other, "approve", NULL);
	bfx_vote(f, "batch", id, BFX_O3, f->o3_id, digest, "approve", NULL);
	assert_int_equal(queue_export_transition(f->s, id,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_APPROVED, NULL, NULL,
	    4000, &e), ERR_POLICY);
	assert_contains(e.msg, "0 of the 2");
	/* The requester's rejection does not count either. */
	bfx_vote(f, "export", id, "00000000000000000000000000000000"
	    "000000000000000000000000000000ff", f->op_id, digest, "reject",
	    "no");
	assert_int_equal(queue_export_transition(f->s, id,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_FAILED, NULL, NULL,
	    4000, &e), ERR_POLICY);
	assert_contains(e.msg, "no recorded rejection");

	/* One officer, then the same person on a renewed certificate. */
	bfx_vote(f, "export", id, BFX_O1, f->o1_id, digest, "approve", NULL);
	bfx_vote(f, "export", id, BFX_O1B, f->o1_id, digest, "approve", NULL);
	assert_int_equal(queue_export_transition(f->s, id,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_APPROVED, NULL, NULL,
	    4000, &e), ERR_POLICY);
	assert_contains(e.msg, "1 of the 2");
	assert_int_equal(bfx_export_state(f, id),
	    QUEUE_EXPORT_PENDING_APPROVAL);
	/* A directory is for written exports only. */
	assert_int_equal(queue_export_transition(f->s, id,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_APPROVED, "d", NULL,
	    4000, &e), ERR_INVALID);

	/* A second officer over the export's digest: approved. */
	bfx_vote(f, "export", id, BFX_O3, f->o3_id, digest, "approve", NULL);
	assert_int_equal(queue_export_transition(f->s, id,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_APPROVED, NULL, NULL,
	    4000, &e), 0);
	assert_int_equal(bfx_export_state(f, id), QUEUE_EXPORT_APPROVED);
	assert_int_equal(queue_export_request(f->s, batch, 3000, &id3, &e),
	    ERR_EXISTS);
	mark_written(f, id, "d2");

	/* A rejection: it cannot be approved, and it fails. */
	assert_int_equal(queue_export_request(f->s, batch, 6000, &id3, &e), 0);
	assert_int_equal(queue_export_digest(f->s, id3, digest, &e), 0);
	bfx_vote(f, "export", id3, BFX_O1, f->o1_id, digest, "approve", NULL);
	bfx_vote(f, "export", id3, BFX_O2, f->o2_id, digest, "approve", NULL);
	bfx_vote(f, "export", id3, BFX_O3, f->o3_id, digest, "reject",
	    "The factory already has this batch.");
	assert_int_equal(queue_export_transition(f->s, id3,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_APPROVED, NULL, NULL,
	    7000, &e), ERR_POLICY);
	assert_contains(e.msg, "rejected");
	assert_int_equal(queue_export_transition(f->s, id3,
	    QUEUE_EXPORT_PENDING_APPROVAL, QUEUE_EXPORT_FAILED, NULL, NULL,
	    7000, &e), 0);
	assert_int_equal(bfx_export_state(f, id3), QUEUE_EXPORT_FAILED);
	assert_int_equal(queue_export_transition(f->s, id3,
	    QUEUE_EXPORT_FAILED, QUEUE_EXPORT_APPROVED, NULL, NULL, 7000, &e),
	    ERR_INVALID);

	/* A failed request leaves room for a new one, numbered on. */
	assert_int_equal(queue_export_request(f->s, batch, 8000, &id4, &e), 0);
	assert_int_equal(bfx_sql_int(f, "SELECT max(number) FROM export"), 4);

	assert_int_equal(queue_export_list(f->s, batch, list_cb, &l, &e), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.ids[0], first);
	assert_int_equal(l.ids[3], id4);
	l.n = 0;
	assert_int_equal(queue_export_list(f->s, 0, list_cb, &l, &e), 0);
	assert_int_equal(l.n, 4);
	l.n = 0;
	assert_int_equal(queue_export_list(f->s, batch + 100, list_cb, &l, &e),
	    0);
	assert_int_equal(l.n, 0);
	assert_int_equal(queue_export_list(f->s, 0, stop_cb, NULL, &e), 7);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
}

static void
test_digest_text(void **state)
{
	struct bfx *f = *state;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char text[256], want[65], got[65], bundle[65];
	int64_t batch, first = 0, id = 0;
	sqlite3_stmt *st;
	err_t e;

	batch = bfx_batch(f, &csr_spec);
	assert_int_equal(queue_export_first(f->s, batch, &first, &e), 0);
	mark_written(f, first, "d1");
	assert_int_equal(queue_export_request(f->s, batch, 3000, &id, &e), 0);
	assert_int_equal(sqlite3_prepare_v2(store_db(f->s), "SELECT u.sha256 "
	    "FROM batch b JOIN bundle u ON u.id = b.bundle_id WHERE b.id = ?",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, batch);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(bundle, sizeof(bundle), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);

	/* docs/formats/approval.md, byte for byte. */
	snprintf(text, sizeof(text), "airlock-export\nexport: %lld\n"
	    "batch: %lld\nnumber: 2\nbundle: %s\n", (long long)id,
	    (long long)batch, bundle);
	SHA256((const unsigned char *)text, strlen(text), md);
	buf_hex(md, sizeof(md), want, sizeof(want));
	assert_int_equal(queue_export_digest(f->s, id, got, &e), 0);
	assert_string_equal(got, want);
	assert_int_equal(queue_export_digest(f->s, 999, got, &e),
	    ERR_NOTFOUND);
	assert_string_equal(got, "");

	assert_string_equal(queue_export_state_name(QUEUE_EXPORT_WRITTEN),
	    "written");
	assert_string_equal(queue_export_state_name(
	    QUEUE_EXPORT_PENDING_APPROVAL), "pending-approval");
	assert_null(queue_export_state_name((enum queue_export_state)4));
	assert_null(queue_export_state_name((enum queue_export_state)-1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_idempotent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_request_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_quorum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_text, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
