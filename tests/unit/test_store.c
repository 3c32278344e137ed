/* test_store.c: the SQLite state: pragmas, migrations, constraints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"
#include "testutil.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C "cccccccccccccccccccccccccccccccc" \
	"cccccccccccccccccccccccccccccccc"
#define HASH_D "dddddddddddddddddddddddddddddddd" \
	"dddddddddddddddddddddddddddddddd"

static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

struct fx {
	char dir[96];
	char path[128];
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (testutil_tmpdir(f->dir, sizeof(f->dir), "store") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	if (testutil_rmtree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static struct store *
open_ok(struct fx *f, int create)
{
	struct store *s = NULL;
	err_t e;

	err_clear(&e);
	if (store_open(f->path, create, &s, &e) != 0)
		fail_msg("store_open: %s", e.msg);
	return s;
}

static int64_t
add_root(struct store *s)
{
	struct store_ca ca = {
		.name = "root", .key_uri = "pkcs11:token=airlock;object=root",
		.cert_der = der, .cert_der_len = sizeof(der),
		.subject = "CN=Airlock Root", .ski = "0a1b", .sha256 = HASH_A,
		.not_before = 1000, .not_after = 2000, .is_root = 1,
		.purpose = "root", .created = 1000,
	};
	int64_t id = 0;
	err_t e;

	if (store_ca_add(s, &ca, &id, &e) != 0)
		fail_msg("store_ca_add: %s", e.msg);
	assert_true(id > 0);
	return id;
}

static void
test_open_creates(void **state)
{
	struct fx *f = *state;
	char mode[16] = "";
	sqlite3_stmt *st;
	struct stat sb;
	err_t e;
	mode_t old;

	old = umask(0);
	f->s = open_ok(f, 1);
	umask(old);
	assert_int_equal(store_version(f->s), store_latest_version());
	assert_true(store_latest_version() >= 1);
	assert_int_equal(sqlite3_prepare_v2(store_db(f->s),
	    "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(mode, sizeof(mode), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_string_equal(mode, "wal");
	assert_int_equal(sqlite3_prepare_v2(store_db(f->s),
	    "PRAGMA foreign_keys", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

static void
test_reopen_and_missing(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	char *v = NULL;
	err_t e;

	assert_int_equal(store_open(f->path, 0, &s, &e), ERR_NOTFOUND);
	assert_contains(e.msg, f->path);
	assert_null(s);
	f->s = open_ok(f, 1);
	assert_int_equal(store_meta_set(f->s, "appliance_id", "a1", &e), 0);
	assert_int_equal(store_meta_set(f->s, "appliance_id", "a2", &e), 0);
	store_close(f->s);
	f->s = open_ok(f, 0);
	assert_int_equal(store_version(f->s), store_latest_version());
	assert_int_equal(store_meta_get(f->s, "appliance_id", &v, &e), 0);
	assert_string_equal(v, "a2");
	free(v);
	assert_int_equal(store_meta_get(f->s, "nope", &v, &e), ERR_NOTFOUND);
	assert_null(v);
	assert_contains(e.msg, "nope");
}

static void
test_newer_version_refused(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	char sql[64], want[64];
	err_t e;

	f->s = open_ok(f, 1);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    store_latest_version() + 1);
	assert_int_equal(store_exec(f->s, sql, &e), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->path, 0, &s, &e), ERR_INVALID);
	assert_null(s);
	snprintf(want, sizeof(want), "schema version %d",
	    store_latest_version() + 1);
	assert_contains(e.msg, want);
	snprintf(want, sizeof(want), "version %d that this Airlock",
	    store_latest_version());
	assert_contains(e.msg, want);
}

static void
test_not_a_database(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	char target[128];
	FILE *fp;
	err_t e;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, but it is long enough to look "
	    "like a header of one; it is plain text and nothing more.\n", fp);
	fclose(fp);
	assert_true(store_open(f->path, 0, &s, &e) < 0);
	assert_null(s);
	assert_contains(e.msg, f->path);
	/* Symlinks are refused, not followed. */
	unlink(f->path);
	snprintf(target, sizeof(target), "%s/target", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(store_open(f->path, 1, &s, &e), ERR_INVALID);
	assert_contains(e.msg, "not a regular file");
	assert_int_equal(access(target, F_OK), -1);
}

static int
count_ca(void *ctx, const struct store_ca *ca)
{
	int *n = ctx;

	assert_non_null(ca->name);
	assert_int_equal(ca->cert_der_len, sizeof(der));
	(*n)++;
	return 0;
}

static int
stop_at_first(void *ctx, const struct store_ca *ca)
{
	(void)ctx;
	(void)ca;
	return 42;
}

static int
count_person(void *ctx, const struct store_person *p)
{
	int *n = ctx;

	assert_string_equal(p->status, "active");
	(*n)++;
	return 0;
}

static void
test_ca_and_people(void **state)
{
	struct fx *f = *state;
	struct store_ca ca = { 0 }, sub;
	struct store_person p = {
		.name = "Alice", .role = "officer", .cert_der = der,
		.cert_der_len = sizeof(der), .sha256 = HASH_C, .serial = "01",
		.subject = "CN=Alice", .not_before = 1000, .not_after = 1500,
		.created = 1000,
	};
	int64_t root, id;
	int n = 0;
	err_t e;

	f->s = open_ok(f, 1);
	root = add_root(f->s);
	assert_int_equal(store_ca_find(f->s, "root", &ca, &e), 0);
	assert_int_equal(ca.id, root);
	assert_string_equal(ca.name, "root");
	assert_string_equal(ca.sha256, HASH_A);
	assert_int_equal(ca.parent_id, 0);
	assert_int_equal(ca.is_root, 1);
	assert_int_equal(ca.cert_der_len, sizeof(der));
	assert_memory_equal(ca.cert_der, der, sizeof(der));
	store_ca_free(&ca);
	assert_null(ca.mem);
	assert_int_equal(store_ca_find(f->s, "nope", &ca, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "no CA named 'nope'");

	sub = (struct store_ca){
		.name = "people", .parent_id = root,
		.key_uri = "pkcs11:object=people", .cert_der = der,
		.cert_der_len = sizeof(der), .subject = "CN=People",
		.ski = "0c", .sha256 = HASH_B, .not_before = 1000,
		.not_after = 1900, .is_root = 0, .purpose = "people",
		.created = 1000,
	};
	assert_int_equal(store_ca_add(f->s, &sub, &id, &e), 0);
	/* Same name again. */
	sub.sha256 = HASH_D;
	assert_int_equal(store_ca_add(f->s, &sub, NULL, &e), ERR_EXISTS);
	assert_contains(e.msg, "ca.name");
	/* Bad purpose, refused before SQL with the list of choices. */
	sub.name = "other";
	sub.purpose = "web";
	assert_int_equal(store_ca_add(f->s, &sub, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "root, devices, people, intermediate");
	/* A non-root CA must not claim to be root; a parent must exist. */
	sub.purpose = "root";
	assert_int_equal(store_ca_add(f->s, &sub, NULL, &e), ERR_INVALID);
	sub.purpose = "devices";
	sub.parent_id = 999;
	assert_int_equal(store_ca_add(f->s, &sub, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "FOREIGN KEY");
	/* Upper-case hex would defeat the uniqueness of hashes. */
	sub.parent_id = root;
	sub.sha256 = "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
	    "DDDDDDDD";
	assert_int_equal(store_ca_add(f->s, &sub, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "CHECK");

	assert_int_equal(store_ca_list(f->s, count_ca, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_ca_list(f->s, stop_at_first, NULL, &e), 42);

	p.ca_id = id;
	assert_int_equal(store_person_add(f->s, &p, NULL, &e), 0);
	p.role = "admin";
	p.sha256 = HASH_D;
	p.serial = "02";
	assert_int_equal(store_person_add(f->s, &p, NULL, &e), ERR_INVALID);
	assert_contains(e.msg, "role 'admin'");
	assert_contains(e.msg, "officer, operator, auditor");
	/* The schema refuses it too, whatever code writes the row. */
	assert_int_equal(store_exec(f->s, "INSERT INTO person (name, role, "
	    "ca_id, cert_der, sha256, serial, subject, not_before, not_after, "
	    "created) VALUES ('Eve', 'admin', 1, x'00', '" HASH_D "', '03', "
	    "'CN=Eve', 1, 2, 1)", &e), ERR_INVALID);
	assert_contains(e.msg, "CHECK constraint failed");
	p.role = "auditor";
	p.serial = "01";
	assert_int_equal(store_person_add(f->s, &p, NULL, &e), ERR_EXISTS);
	n = 0;
	assert_int_equal(store_person_list(f->s, count_person, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
}

static void
test_certs_ceremonies_crls(void **state)
{
	struct fx *f = *state;
	struct store_cert c = {
		.serial = "7f01", .kind = "device", .subject = "CN=dev1",
		.sha256 = HASH_B, .not_before = 1000, .not_after = 2000,
		.der = der, .der_len = sizeof(der), .created = 1000,
	};
	struct store_ceremony cer = {
		.name = "init-2026", .type = "root", .transcript_sha256 = HASH_C,
		.signer_sha256 = HASH_D, .ran_at = 1000, .imported_at = 1001,
	};
	struct store_crl crl = {
		.number = 1, .this_update = 1000, .next_update = 2000,
		.der = der, .der_len = sizeof(der),
	};
	struct store_appkey k = {
		.purpose = "export", .key_uri = "pkcs11:object=export",
		.cert_der = der, .cert_der_len = sizeof(der), .sha256 = HASH_D,
		.not_after = 5000, .created = 1000,
	};
	int64_t root, id;
	err_t e;

	f->s = open_ok(f, 1);
	root = add_root(f->s);
	c.ca_id = root;
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_cert_add(f->s, &c, &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);

	/* The same serial from the same CA, even for another certificate. */
	c.sha256 = HASH_C;
	assert_int_equal(store_cert_add(f->s, &c, &e), ERR_EXISTS);
	assert_contains(e.msg, "serial 7f01 already issued by CA 'root'");
	/* The same certificate under another serial. */
	c.serial = "7f02";
	c.sha256 = HASH_B;
	assert_int_equal(store_cert_add(f->s, &c, &e), ERR_EXISTS);
	assert_contains(e.msg, "already recorded");
	c.serial = "7F03";
	c.sha256 = HASH_C;
	assert_int_equal(store_cert_add(f->s, &c, &e), ERR_INVALID);
	c.serial = "7f03";
	c.kind = "server";
	assert_int_equal(store_cert_add(f->s, &c, &e), ERR_INVALID);
	assert_contains(e.msg, "ca, person, appliance, device");
	c.kind = "device";
	c.not_after = 500;
	assert_int_equal(store_cert_add(f->s, &c, &e), ERR_INVALID);
	c.not_after = 2000;
	c.ca_id = 12345;
	assert_int_equal(store_cert_add(f->s, &c, &e), ERR_INVALID);

	/* A rolled-back transaction leaves nothing behind. */
	c.ca_id = root;
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_cert_add(f->s, &c, &e), 0);
	store_rollback(f->s);
	assert_int_equal(store_cert_add(f->s, &c, &e), 0);

	assert_int_equal(store_ceremony_add(f->s, &cer, &id, &e), 0);
	assert_true(id > 0);
	assert_int_equal(store_ceremony_add(f->s, &cer, &id, &e), ERR_EXISTS);
	assert_contains(e.msg, "already imported");

	crl.ca_id = root;
	assert_int_equal(store_crl_add(f->s, &crl, &e), 0);
	assert_int_equal(store_crl_add(f->s, &crl, &e), ERR_EXISTS);
	assert_contains(e.msg, "CRL number 1 already issued by CA 'root'");
	crl.number = 2;
	crl.next_update = 900;
	assert_int_equal(store_crl_add(f->s, &crl, &e), ERR_INVALID);

	assert_int_equal(store_appkey_add(f->s, &k, &id, &e), 0);
	k.sha256 = HASH_A;
	assert_int_equal(store_appkey_add(f->s, &k, &id, &e), ERR_EXISTS);
	k.purpose = "signing";
	assert_int_equal(store_appkey_add(f->s, &k, &id, &e), ERR_INVALID);
	k.purpose = "audit";
	k.key_uri = "file:/etc/key.pem";
	assert_int_equal(store_appkey_add(f->s, &k, &id, &e), ERR_INVALID);

	assert_int_equal(store_integrity_check(f->s, &e), 0);
	assert_int_equal(store_exec(f->s, "SELECT * FROM nosuchtable", &e),
	    ERR_IO);
	assert_contains(e.msg, "nosuchtable");
}

/* Names of the tables, indexes and triggers version 2 adds. */
static const char *const v2_objects[] = {
	"bundle", "batch", "line", "serial_reservation", "approval", "export",
	"certificate_batch_line", "line_status", "batch_state_moves",
	"line_final", "certificate_line_serial", NULL
};

static int64_t
count_rows(struct store *s, const char *sql)
{
	return testutil_sql_int(store_db(s), sql);
}

static int
has_object(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int found;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema "
	    "WHERE name = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/*
 * A database stopped at version 1, as the version 1 code left it: the
 * first migration only, user_version 1, and rows in it. extra (may be
 * NULL) is run before user_version is set.
 */
static void
make_v1(struct fx *f, const char *extra)
{
	sqlite3 *db = NULL;

	assert_non_null(store_migration(1));
	assert_null(store_migration(0));
	assert_null(store_migration(store_latest_version() + 1));
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL,
	    NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_migration(1), NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO ca (name, key_uri, "
	    "cert_der, subject, ski, sha256, not_before, not_after, is_root, "
	    "purpose, created) VALUES ('root', 'pkcs11:object=root', x'3003', "
	    "'CN=Root', '0a', '" HASH_A "', 1000, 2000, 1, 'root', 1000);"
	    "INSERT INTO certificate (serial, ca_id, kind, subject, sha256, "
	    "not_before, not_after, der, created) VALUES ('7f01', 1, 'ca', "
	    "'CN=Root', '" HASH_B "', 1000, 2000, x'3003', 1000);"
	    "INSERT INTO meta (key, value) VALUES ('appliance_id', 'a1');",
	    NULL, NULL, NULL), SQLITE_OK);
	if (extra != NULL)
		assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL),
		    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL,
	    NULL, NULL), SQLITE_OK);
	assert_false(has_object(db, "batch"));
	sqlite3_close(db);
}

static void
test_v2_fresh(void **state)
{
	struct fx *f = *state;
	size_t i;

	f->s = open_ok(f, 1);
	assert_true(store_latest_version() >= 2);
	assert_int_equal(store_version(f->s), store_latest_version());
	for (i = 0; v2_objects[i] != NULL; i++)
		if (!has_object(store_db(f->s), v2_objects[i]))
			fail_msg("a fresh database lacks %s", v2_objects[i]);
	assert_int_equal(count_rows(f->s, "SELECT count(*) FROM "
	    "pragma_table_info('certificate') WHERE name IN ('batch_id', "
	    "'line')"), 2);
	/* Every new table is STRICT. */
	assert_int_equal(count_rows(f->s, "SELECT count(*) FROM "
	    "pragma_table_list WHERE name IN ('bundle', 'batch', 'line', "
	    "'serial_reservation', 'approval', 'export') AND strict = 1"), 6);
}

static void
test_v1_migrates(void **state)
{
	struct fx *f = *state;
	char *v = NULL;
	err_t e;

	make_v1(f, NULL);
	f->s = open_ok(f, 0);
	assert_int_equal(store_version(f->s), store_latest_version());
	assert_int_equal(store_integrity_check(f->s, &e), 0);
	/* The rows of version 1 are kept, the new columns empty. */
	assert_int_equal(count_rows(f->s, "SELECT count(*) FROM certificate "
	    "WHERE serial = '7f01' AND batch_id IS NULL AND line IS NULL"), 1);
	assert_int_equal(count_rows(f->s, "SELECT count(*) FROM ca"), 1);
	assert_int_equal(store_meta_get(f->s, "appliance_id", &v, &e), 0);
	assert_string_equal(v, "a1");
	free(v);
	assert_true(has_object(store_db(f->s), "serial_reservation"));
	/* Opening again changes nothing. */
	store_close(f->s);
	f->s = open_ok(f, 0);
	assert_int_equal(store_version(f->s), store_latest_version());
	assert_int_equal(count_rows(f->s, "SELECT count(*) FROM certificate"),
	    1);
}

static void
test_v2_failed_migration(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	sqlite3 *db;
	err_t e;

	/* Something in the way of version 2: the step fails as a whole. */
	make_v1(f, "CREATE TABLE bundle (x INTEGER) STRICT;");
	assert_int_equal(store_open(f->path, 0, &s, &e), ERR_IO);
	assert_null(s);
	assert_contains(e.msg, "migration to schema version 2");
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_false(has_object(db, "batch"));
	assert_false(has_object(db, "certificate_batch_line"));
	{
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(db, "SELECT "
		    "(SELECT user_version FROM pragma_user_version), "
		    "(SELECT count(*) FROM pragma_table_info('certificate') "
		    "WHERE name = 'batch_id')", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		assert_int_equal(sqlite3_column_int(st, 1), 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static void
test_v2_constraints(void **state)
{
	struct fx *f = *state;
	err_t e;

	f->s = open_ok(f, 1);
	add_root(f->s);
	assert_int_equal(store_exec(f->s, "INSERT INTO person (name, role, "
	    "ca_id, cert_der, sha256, serial, subject, not_before, not_after, "
	    "created) VALUES ('Op', 'operator', 1, x'00', '" HASH_C "', '01', "
	    "'CN=Op', 1, 2, 1)", &e), 0);
	/* Bundles: lower-case digest, a canonical UUID, a reason to refuse. */
	assert_int_equal(store_exec(f->s, "INSERT INTO bundle (uuid, sha256, "
	    "file_name, signer_sha256, person_id, received_at, status) VALUES "
	    "('6f1c2a4e-1d2b-4c3d-9e8f-0a1b2c3d4e5f', '" HASH_D "', 'b', '"
	    HASH_C "', 1, 1, 'accepted')", &e), 0);
	assert_int_equal(store_exec(f->s, "INSERT INTO bundle (sha256, "
	    "file_name, received_at, status) VALUES ('" HASH_B "', 'b', 1, "
	    "'rejected')", &e), ERR_INVALID);
	assert_int_equal(store_exec(f->s, "INSERT INTO bundle (uuid, sha256, "
	    "file_name, received_at, status, reason) VALUES "
	    "('6f1c2a4e1d2b4c3d9e8f0a1b2c3d4e5f', '" HASH_B "', 'b', 1, "
	    "'rejected', 'r')", &e), ERR_INVALID);
	/* Batches: a quorum of two at least, 1..500000 lines. */
	assert_int_equal(store_exec(f->s, "INSERT INTO batch (bundle_id, name, "
	    "description, profile, ca_id, mode, line_count, output_format, "
	    "chain, results_log, quorum, created, updated) VALUES (1, 'b', '', "
	    "'p', 1, 'csr', 1, 'pem-zip', 'separate', 'csv', 1, 1, 1)", &e),
	    ERR_INVALID);
	assert_int_equal(store_exec(f->s, "INSERT INTO batch (bundle_id, name, "
	    "description, profile, ca_id, mode, line_count, output_format, "
	    "chain, results_log, quorum, created, updated) VALUES (1, 'b', '', "
	    "'p', 1, 'csr', 500001, 'pem-zip', 'separate', 'csv', 2, 1, 1)",
	    &e), ERR_INVALID);
	assert_int_equal(store_exec(f->s, "INSERT INTO batch (bundle_id, name, "
	    "description, profile, ca_id, mode, line_count, output_format, "
	    "chain, results_log, quorum, created, updated) VALUES (1, 'b', '', "
	    "'p', 1, 'csr', 2, 'pem-zip', 'separate', 'csv', 2, 1, 1)", &e), 0);
	/* Lines: the columns each status needs. */
	assert_int_equal(store_exec(f->s, "INSERT INTO line (batch_id, line, "
	    "name, request_der) VALUES (1, 1, 'a', x'30'), (1, 2, 'b', x'30')",
	    &e), 0);
	assert_int_equal(store_exec(f->s, "INSERT INTO line (batch_id, line, "
	    "name, request_der, status) VALUES (1, 3, 'c', x'30', 'issued')",
	    &e), ERR_INVALID);
	assert_int_equal(store_exec(f->s, "INSERT INTO line (batch_id, line, "
	    "name, request_der) VALUES (1, 0, 'z', x'30')", &e), ERR_INVALID);
	assert_int_equal(store_exec(f->s, "INSERT INTO line (batch_id, line, "
	    "name, request_der) VALUES (1, 4, 'a', x'30')", &e), ERR_INVALID);
	assert_contains(e.msg, "UNIQUE");
	assert_int_equal(store_exec(f->s, "UPDATE line SET status = 'failed' "
	    "WHERE line = 1", &e), ERR_INVALID);
	assert_int_equal(store_exec(f->s, "UPDATE line SET status = 'failed', "
	    "message = 'bad' WHERE line = 1", &e), 0);
	/* Nothing is signed while the batch waits for approval. */
	assert_int_equal(store_exec(f->s, "INSERT INTO serial_reservation "
	    "(ca_id, serial, batch_id, line) VALUES (1, '7f02', 1, 2)", &e), 0);
	assert_int_equal(store_exec(f->s, "UPDATE line SET status = "
	    "'reserved', serial = '7f02', tbs = x'30' WHERE line = 2", &e),
	    ERR_INVALID);
	assert_contains(e.msg, "issuing");
	/* Serials: canonical, and a reserved one stays reserved. */
	assert_int_equal(store_exec(f->s, "INSERT INTO serial_reservation "
	    "(ca_id, serial, batch_id, line) VALUES (1, '07f3', 1, 1)", &e),
	    ERR_INVALID);
	assert_int_equal(store_exec(f->s, "INSERT INTO serial_reservation "
	    "(ca_id, serial, batch_id, line) VALUES (1, '7f02', 1, 1)", &e),
	    ERR_INVALID);
	assert_contains(e.msg, "UNIQUE");
	assert_int_equal(store_exec(f->s, "DELETE FROM serial_reservation",
	    &e), ERR_INVALID);
	/* Approvals: one decision per officer and object. */
	assert_int_equal(store_exec(f->s, "INSERT INTO approval (kind, object, "
	    "officer_sha256, decision, digest, statement, signature, at) "
	    "VALUES ('batch', 1, '" HASH_A "', 'approve', '" HASH_D "', x'01', "
	    "x'01', 1)", &e), 0);
	assert_int_equal(store_exec(f->s, "INSERT INTO approval (kind, object, "
	    "officer_sha256, decision, reason, digest, statement, signature, "
	    "at) VALUES ('batch', 1, '" HASH_A "', 'reject', 'no', '" HASH_D
	    "', x'01', x'01', 1)", &e), ERR_INVALID);
	assert_contains(e.msg, "UNIQUE");
	/* Exports: the first rides on the batch approval, numbers unique. */
	assert_int_equal(store_exec(f->s, "INSERT INTO export (batch_id, "
	    "number, state, created) VALUES (1, 1, 'pending-approval', 1)",
	    &e), ERR_INVALID);
	assert_int_equal(store_exec(f->s, "INSERT INTO export (batch_id, "
	    "number, state, created) VALUES (1, 1, 'approved', 1), "
	    "(1, 2, 'pending-approval', 1)", &e), 0);
	assert_int_equal(store_exec(f->s, "INSERT INTO export (batch_id, "
	    "number, state, created) VALUES (1, 2, 'approved', 1)", &e),
	    ERR_INVALID);
	assert_int_equal(store_exec(f->s, "UPDATE export SET state = "
	    "'written' WHERE number = 1", &e), ERR_INVALID);
	/* A certificate names a line only with a batch, and only a device. */
	assert_int_equal(store_exec(f->s, "INSERT INTO certificate (serial, "
	    "ca_id, kind, subject, sha256, not_before, not_after, der, "
	    "created, line) VALUES ('99', 1, 'device', 'CN=d', '" HASH_A "', "
	    "1, 2, x'30', 1, 1)", &e), ERR_INVALID);
	assert_int_equal(store_integrity_check(f->s, &e), 0);
}

/* Rows of the meta table whose key starts with "t-". */
static int
meta_rows(struct store *s)
{
	sqlite3_stmt *q;
	int n = -1;

	assert_int_equal(sqlite3_prepare_v2(store_db(s), "SELECT count(*) "
	    "FROM meta WHERE key LIKE 't-%'", -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}

/*
 * A step that records its own rows runs inside a larger one (a step and
 * its audit record): the inner level is kept or lost with the outer one.
 */
static void
test_nested_transactions(void **state)
{
	struct fx *f = *state;
	err_t e;

	f->s = open_ok(f, 1);
	/* Inner committed, outer rolled back: nothing is kept. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "t-outer", "1", &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "t-inner", "1", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_true(store_in_transaction(f->s));
	store_rollback(f->s);
	assert_false(store_in_transaction(f->s));
	assert_int_equal(meta_rows(f->s), 0);

	/* Inner rolled back, outer committed: only the outer's rows. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "t-outer", "1", &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "t-inner", "1", &e), 0);
	store_rollback(f->s);
	assert_true(store_in_transaction(f->s));
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_false(store_in_transaction(f->s));
	assert_int_equal(meta_rows(f->s), 1);

	/* Three levels, all committed. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "t-deep", "1", &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_true(store_in_transaction(f->s));
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_false(store_in_transaction(f->s));
	assert_int_equal(meta_rows(f->s), 2);

	/* A rollback with nothing open changes nothing. */
	store_rollback(f->s);
	assert_int_equal(meta_rows(f->s), 2);
}

/*
 * A full disk (max_page_count stands in for it): the error names the
 * database and says "disk full", the transaction is rolled back, what
 * was recorded stays, and the same step succeeds once there is room.
 */
static void
test_disk_full(void **state)
{
	struct fx *f = *state;
	char *big, sql[64];
	sqlite3_stmt *q;
	int pages = 0;
	err_t e;

	f->s = open_ok(f, 1);
	assert_int_equal(store_meta_set(f->s, "t-kept", "1", &e), 0);
	assert_int_equal(sqlite3_prepare_v2(store_db(f->s), "PRAGMA page_count",
	    -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	pages = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", pages);
	assert_int_equal(store_exec(f->s, sql, &e), 0);
	assert_non_null(big = calloc(1, 256 * 1024 + 1));
	memset(big, 'x', 256 * 1024);

	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_meta_set(f->s, "t-big", big, &e), ERR_IO);
	assert_contains(e.msg, f->path);
	assert_contains(e.msg, "disk full");
	assert_contains(e.msg, "nothing recorded changed");
	assert_int_equal(store_end(f->s, ERR_IO, &e), ERR_IO);
	assert_false(store_in_transaction(f->s));
	assert_int_equal(meta_rows(f->s), 1);
	/* Through store_exec too. */
	assert_int_equal(store_exec(f->s, "CREATE TABLE t_fill AS SELECT "
	    "zeroblob(300000) AS b", &e), ERR_IO);
	assert_contains(e.msg, "disk full");
	assert_contains(e.msg, f->path);
	/* Negative: other failures do not claim a full disk. */
	assert_int_equal(store_exec(f->s, "INSERT INTO no_such_table "
	    "VALUES (1)", &e), ERR_IO);
	assert_null(strstr(e.msg, "disk full"));

	/* Room again: the step succeeds, and the first row is still there. */
	assert_int_equal(store_exec(f->s, "PRAGMA max_page_count = 1000000",
	    &e), 0);
	assert_int_equal(store_meta_set(f->s, "t-big", big, &e), 0);
	assert_int_equal(meta_rows(f->s), 2);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disk_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_creates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_and_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_newer_version_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ca_and_people, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_certs_ceremonies_crls,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_transactions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_migrates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_v2_failed_migration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_v2_constraints, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
