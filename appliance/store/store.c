/* store.c: the appliance state in SQLite (see store.h). */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct store {
	sqlite3 *db;
	char *path;
	int version;
};

/*
 * Lower-case hex, non-empty: the same value must always be the same text,
 * or UNIQUE constraints on hashes and serials would not mean anything.
 */
#define HEX(col) "(" col " <> '' AND " col " NOT GLOB '*[^0-9a-f]*')"
#define SHA256(col) "(length(" col ") = 64 AND " col \
	" NOT GLOB '*[^0-9a-f]*')"

/*
 * Migrations, oldest first: entry i takes the schema from version i to
 * version i + 1. Entries are never edited once released; a change is a
 * new entry. STRICT tables make SQLite refuse values of the wrong type.
 */
static const char *const store_migrations[] = {
	/* Version 1: the state written by "airlock init" and ceremonies. */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY CHECK (key <> ''),"
	"  value TEXT NOT NULL"
	") STRICT;"

	"CREATE TABLE ca ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT UNIQUE NOT NULL CHECK (name <> ''),"
	"  parent_id INTEGER REFERENCES ca(id),"
	"  key_uri TEXT NOT NULL CHECK (key_uri LIKE 'pkcs11:%'),"
	"  cert_der BLOB NOT NULL CHECK (length(cert_der) > 0),"
	"  subject TEXT NOT NULL CHECK (subject <> ''),"
	"  ski TEXT NOT NULL CHECK " HEX("ski") ","
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  is_root INTEGER NOT NULL CHECK (is_root IN (0, 1)),"
	"  purpose TEXT NOT NULL CHECK (purpose IN"
	"    ('root', 'devices', 'people', 'intermediate')),"
	"  created INTEGER NOT NULL,"
	"  CHECK (not_after > not_before),"
	"  CHECK ((purpose = 'root') = (is_root = 1)),"
	"  CHECK (is_root = 0 OR parent_id IS NULL),"
	"  CHECK (parent_id IS NULL OR parent_id <> id)"
	") STRICT;"
	"CREATE INDEX ca_parent ON ca(parent_id);"

	"CREATE TABLE person ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL CHECK (name <> ''),"
	"  role TEXT NOT NULL CHECK (role IN ('officer', 'operator', 'auditor')),"
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  cert_der BLOB NOT NULL CHECK (length(cert_der) > 0),"
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  serial TEXT NOT NULL CHECK " HEX("serial") ","
	"  subject TEXT NOT NULL CHECK (subject <> ''),"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (status IN ('active', 'revoked', 'locked')),"
	"  created INTEGER NOT NULL,"
	"  CHECK (not_after > not_before),"
	"  UNIQUE (ca_id, serial)"
	") STRICT;"

	"CREATE TABLE appliance_key ("
	"  id INTEGER PRIMARY KEY,"
	"  purpose TEXT UNIQUE NOT NULL"
	"    CHECK (purpose IN ('export', 'audit', 'transport')),"
	"  key_uri TEXT NOT NULL CHECK (key_uri LIKE 'pkcs11:%'),"
	"  cert_der BLOB NOT NULL CHECK (length(cert_der) > 0),"
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  not_after INTEGER NOT NULL,"
	"  created INTEGER NOT NULL"
	") STRICT;"

	/* Every certificate the appliance knows it issued. */
	"CREATE TABLE certificate ("
	"  serial TEXT NOT NULL CHECK " HEX("serial") ","
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  kind TEXT NOT NULL"
	"    CHECK (kind IN ('ca', 'person', 'appliance', 'device')),"
	"  subject TEXT NOT NULL,"
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  der BLOB NOT NULL CHECK (length(der) > 0),"
	"  status TEXT NOT NULL DEFAULT 'valid'"
	"    CHECK (status IN ('valid', 'revoked', 'hold')),"
	"  created INTEGER NOT NULL,"
	"  CHECK (not_after > not_before),"
	"  PRIMARY KEY (ca_id, serial)"
	") STRICT;"
	"CREATE INDEX certificate_not_after ON certificate(not_after);"

	"CREATE TABLE ceremony ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL CHECK (name <> ''),"
	"  type TEXT NOT NULL CHECK (type <> ''),"
	"  transcript_sha256 TEXT UNIQUE NOT NULL"
	"    CHECK " SHA256("transcript_sha256") ","
	"  signer_sha256 TEXT NOT NULL CHECK " SHA256("signer_sha256") ","
	"  ran_at INTEGER NOT NULL,"
	"  imported_at INTEGER NOT NULL"
	") STRICT;"

	"CREATE TABLE crl ("
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  number INTEGER NOT NULL CHECK (number >= 0),"
	"  this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL,"
	"  der BLOB NOT NULL CHECK (length(der) > 0),"
	"  CHECK (next_update > this_update),"
	"  PRIMARY KEY (ca_id, number)"
	") STRICT;",
};

#define STORE_LATEST \
	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

static int
store_sqlerr(struct store *s, int code, err_t *err, const char *what)
{
	return err_set(err, code, "%s: %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
}

int
store_exec(struct store *s, const char *sql, err_t *err)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int code = (rc & 0xff) == SQLITE_CONSTRAINT ? ERR_INVALID :
		    (rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO;

		err_set(err, code, "%s: %s", s->path,
		    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return code;
	}
	return 0;
}

/* Runs a single-row PRAGMA or query and copies its first column. */
static int
store_query_text(struct store *s, const char *sql, char *out, size_t outsz,
    err_t *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_sqlerr(s, ERR_IO, err, sql);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int r = store_sqlerr(s, ERR_IO, err, sql);

		sqlite3_finalize(st);
		return r;
	}
	v = sqlite3_column_text(st, 0);
	snprintf(out, outsz, "%s", v ? (const char *)v : "");
	sqlite3_finalize(st);
	return 0;
}

static int
store_query_int(struct store *s, const char *sql, int *out, err_t *err)
{
	char buf[32];
	long v;
	char *end;
	int r;

	if ((r = store_query_text(s, sql, buf, sizeof(buf), err)) != 0)
		return r;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0' || v < INT_MIN ||
	    v > INT_MAX)
		return err_set(err, ERR_INVALID, "%s: %s gave '%s', not a "
		    "number", s->path, sql, buf);
	*out = (int)v;
	return 0;
}

int
store_begin(struct store *s, err_t *err)
{
	return store_exec(s, "BEGIN IMMEDIATE", err);
}

int
store_commit(struct store *s, err_t *err)
{
	int r;

	if ((r = store_exec(s, "COMMIT", err)) != 0)
		store_rollback(s);
	return r;
}

void
store_rollback(struct store *s)
{
	if (s != NULL && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One transaction per version, so a failed step leaves the last good one. */
static int
store_migrate(struct store *s, err_t *err)
{
	char sql[64];
	int v, r;

	if ((r = store_query_int(s, "PRAGMA user_version", &v, err)) != 0)
		return r;
	if (v > STORE_LATEST)
		return err_set(err, ERR_INVALID, "%s has schema version %d, "
		    "newer than version %d that this Airlock knows; use the "
		    "Airlock release that wrote it", s->path, v, STORE_LATEST);
	if (v < 0)
		return err_set(err, ERR_INVALID, "%s has an invalid schema "
		    "version %d", s->path, v);
	while (v < STORE_LATEST) {
		if ((r = store_begin(s, err)) != 0)
			return r;
		/* Another process may have migrated while we waited. */
		if ((r = store_query_int(s, "PRAGMA user_version", &v,
		    err)) != 0)
			goto fail;
		if (v >= STORE_LATEST) {
			store_rollback(s);
			break;
		}
		if ((r = store_exec(s, store_migrations[v], err)) != 0) {
			err_prefix(err, "migration to schema version %d", v + 1);
			goto fail;
		}
		/* PRAGMA takes no parameters; the value is our own integer. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((r = store_exec(s, sql, err)) != 0)
			goto fail;
		if ((r = store_commit(s, err)) != 0)
			return r;
		v++;
	}
	s->version = v;
	return 0;
fail:
	store_rollback(s);
	return r;
}

static int
store_configure(struct store *s, err_t *err)
{
	char mode[32];
	int on, r;

	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK)
		return store_sqlerr(s, ERR_IO, err, "busy timeout");
	/*
	 * Defensive mode stops SQL from corrupting the file on purpose
	 * (writable_schema and the like); untrusted schema code never runs.
	 */
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if ((r = store_query_text(s, "PRAGMA journal_mode = WAL", mode,
	    sizeof(mode), err)) != 0)
		return r;
	if (strcmp(mode, "wal") != 0)
		return err_set(err, ERR_IO, "%s: SQLite refused write-ahead "
		    "logging (journal mode is '%s'); the store must be on a "
		    "local file system", s->path, mode);
	if ((r = store_exec(s, "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;", err)) != 0)
		return r;
	if ((r = store_query_int(s, "PRAGMA foreign_keys", &on, err)) != 0)
		return r;
	if (on != 1)
		return err_set(err, ERR_INTERNAL, "%s: SQLite did not enable "
		    "foreign keys", s->path);
	return 0;
}

int
store_open(const char *path, int create, struct store **out, err_t *err)
{
	struct store *s;
	struct stat sb;
	int rc, r;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return err_set(err, ERR_INVALID, "no store path given");
	if (create) {
		/*
		 * Create the file ourselves so that it is 0600 whatever the
		 * umask; SQLite gives its -wal and -shm files the same mode.
		 */
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);

		if (fd == -1 && errno != EEXIST)
			return err_set(err, errno == EACCES ? ERR_PERM : ERR_IO,
			    "cannot create store %s: %s", path,
			    strerror(errno));
		if (fd != -1) {
			if (fchmod(fd, 0600) == -1) {
				r = err_set(err, ERR_IO, "cannot set mode 0600 on "
				    "%s: %s", path, strerror(errno));
				close(fd);
				return r;
			}
			close(fd);
		}
	}
	if (lstat(path, &sb) == -1)
		return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "store %s: %s%s", path, strerror(errno),
		    errno == ENOENT ? "; run \"airlock init\" first" : "");
	if (!S_ISREG(sb.st_mode))
		return err_set(err, ERR_INVALID, "store %s is not a regular "
		    "file", path);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((s->path = strdup(path)) == NULL) {
		free(s);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = err_set(err, ERR_IO, "cannot open store %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return r;
	}
	if ((r = store_configure(s, err)) != 0 ||
	    (r = store_migrate(s, err)) != 0) {
		store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL) {
		store_rollback(s);
		(void)sqlite3_close_v2(s->db);
	}
	free(s->path);
	free(s);
}

int
store_version(struct store *s)
{
	return s->version;
}

int
store_latest_version(void)
{
	return STORE_LATEST;
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

int
store_integrity_check(struct store *s, err_t *err)
{
	sqlite3_stmt *st = NULL;
	char first[512];
	int rc, r;

	if ((r = store_query_text(s, "PRAGMA integrity_check", first,
	    sizeof(first), err)) != 0)
		return r;
	if (strcmp(first, "ok") != 0)
		return err_set(err, ERR_INVALID, "%s is damaged: %s", s->path,
		    first);
	if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st,
	    NULL) != SQLITE_OK)
		return store_sqlerr(s, ERR_IO, err, "foreign_key_check");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *table = sqlite3_column_text(st, 0);

		r = err_set(err, ERR_INVALID, "%s is damaged: table %s row %lld "
		    "refers to a missing row", s->path,
		    table ? (const char *)table : "?",
		    (long long)sqlite3_column_int64(st, 1));
	} else if (rc != SQLITE_DONE) {
		r = store_sqlerr(s, ERR_IO, err, "foreign_key_check");
	}
	sqlite3_finalize(st);
	return r;
}

/* --- statements --------------------------------------------------------- */

static int
store_prepare(struct store *s, const char *sql, sqlite3_stmt **st,
    err_t *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return store_sqlerr(s, ERR_INTERNAL, err, "prepare");
	}
	return 0;
}

/*
 * Binders keep the first failure in *rc so a run of binds is checked once.
 * Bound memory must outlive the step, which always happens before return.
 */
static void
store_bind_text(sqlite3_stmt *st, int i, const char *v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = v == NULL ? sqlite3_bind_null(st, i) :
	    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void
store_bind_blob(sqlite3_stmt *st, int i, const void *v, size_t len, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = v == NULL ? sqlite3_bind_null(st, i) :
	    sqlite3_bind_blob64(st, i, v, len, SQLITE_STATIC);
}

static void
store_bind_int(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = sqlite3_bind_int64(st, i, v);
}

/* An id of 0 stands for "none" and is stored as NULL. */
static void
store_bind_id(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = v == 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

/*
 * Steps an INSERT. Constraint failures become ERR_EXISTS (UNIQUE, primary
 * key) or ERR_INVALID (CHECK, NOT NULL, foreign key), with SQLite's text
 * naming the column. Finalizes st.
 */
static int
store_insert(struct store *s, sqlite3_stmt *st, int bindrc, const char *what,
    int64_t *id_out, err_t *err)
{
	int rc, ext, r;

	if (bindrc != SQLITE_OK) {
		sqlite3_finalize(st);
		return err_set(err, bindrc == SQLITE_NOMEM ? ERR_NOMEM :
		    ERR_INTERNAL, "%s: cannot bind values for %s: %s", s->path,
		    what, sqlite3_errstr(bindrc));
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		if (id_out != NULL)
			*id_out = sqlite3_last_insert_rowid(s->db);
		sqlite3_finalize(st);
		return 0;
	}
	ext = sqlite3_extended_errcode(s->db);
	switch (ext) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		r = ERR_EXISTS;
		break;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_FOREIGNKEY:
	case SQLITE_CONSTRAINT_DATATYPE:
		r = ERR_INVALID;
		break;
	case SQLITE_NOMEM:
		r = ERR_NOMEM;
		break;
	default:
		r = (ext & 0xff) == SQLITE_CONSTRAINT ? ERR_INVALID : ERR_IO;
		break;
	}
	err_set(err, r, "%s: cannot add %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return r;
}

/* Checks v against a NULL-terminated list, for a clear message early. */
static int
store_check_choice(const char *field, const char *v,
    const char *const *choices, err_t *err)
{
	char list[128] = "";
	size_t used = 0, i;

	for (i = 0; choices[i] != NULL; i++)
		if (v != NULL && strcmp(v, choices[i]) == 0)
			return 0;
	for (i = 0; choices[i] != NULL; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
		    i ? ", " : "", choices[i]);

		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	return err_set(err, ERR_INVALID, "%s '%s' is not one of: %s", field,
	    v ? v : "(none)", list);
}

/* --- CAs ---------------------------------------------------------------- */

static const char *const store_ca_purposes[] = {
	"root", "devices", "people", "intermediate", NULL
};

#define STORE_CA_COLUMNS "id, name, parent_id, key_uri, cert_der, subject, " \
	"ski, sha256, not_before, not_after, is_root, purpose, created"

int
store_ca_add(struct store *s, const struct store_ca *ca, int64_t *id_out,
    err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[256];

	if ((r = store_check_choice("CA purpose", ca->purpose,
	    store_ca_purposes, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO ca (name, parent_id, key_uri, "
	    "cert_der, subject, ski, sha256, not_before, not_after, is_root, "
	    "purpose, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &st, err)) != 0)
		return r;
	store_bind_text(st, 1, ca->name, &rc);
	store_bind_id(st, 2, ca->parent_id, &rc);
	store_bind_text(st, 3, ca->key_uri, &rc);
	store_bind_blob(st, 4, ca->cert_der, ca->cert_der_len, &rc);
	store_bind_text(st, 5, ca->subject, &rc);
	store_bind_text(st, 6, ca->ski, &rc);
	store_bind_text(st, 7, ca->sha256, &rc);
	store_bind_int(st, 8, ca->not_before, &rc);
	store_bind_int(st, 9, ca->not_after, &rc);
	store_bind_int(st, 10, ca->is_root ? 1 : 0, &rc);
	store_bind_text(st, 11, ca->purpose, &rc);
	store_bind_int(st, 12, ca->created, &rc);
	snprintf(what, sizeof(what), "CA '%s'", ca->name ? ca->name : "");
	return store_insert(s, st, rc, what, id_out, err);
}

/* Total bytes a column needs when copied out (text gets a terminator). */
static size_t
store_col_size(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_BLOB)
		return (size_t)sqlite3_column_bytes(st, i);
	return (size_t)sqlite3_column_bytes(st, i) + 1;
}

/* Copies column i into *pos within a block sized by store_col_size. */
static const char *
store_col_copy(sqlite3_stmt *st, int i, unsigned char **pos, size_t *len)
{
	const void *v;
	size_t n;
	unsigned char *dst = *pos;

	if (sqlite3_column_type(st, i) == SQLITE_BLOB) {
		v = sqlite3_column_blob(st, i);
		n = (size_t)sqlite3_column_bytes(st, i);
		if (n > 0)
			memcpy(dst, v, n);
		if (len != NULL)
			*len = n;
		*pos += n;
		return (const char *)dst;
	}
	v = sqlite3_column_text(st, i);
	n = (size_t)sqlite3_column_bytes(st, i);
	if (v != NULL && n > 0)
		memcpy(dst, v, n);
	dst[n] = '\0';
	*pos += n + 1;
	return (const char *)dst;
}

/* Fills ca from a row of STORE_CA_COLUMNS, pointing into SQLite memory. */
static int
store_ca_row(sqlite3_stmt *st, struct store_ca *ca)
{
	memset(ca, 0, sizeof(*ca));
	ca->id = sqlite3_column_int64(st, 0);
	ca->name = (const char *)sqlite3_column_text(st, 1);
	ca->parent_id = sqlite3_column_int64(st, 2);
	ca->key_uri = (const char *)sqlite3_column_text(st, 3);
	ca->cert_der = sqlite3_column_blob(st, 4);
	ca->cert_der_len = (size_t)sqlite3_column_bytes(st, 4);
	ca->subject = (const char *)sqlite3_column_text(st, 5);
	ca->ski = (const char *)sqlite3_column_text(st, 6);
	ca->sha256 = (const char *)sqlite3_column_text(st, 7);
	ca->not_before = sqlite3_column_int64(st, 8);
	ca->not_after = sqlite3_column_int64(st, 9);
	ca->is_root = sqlite3_column_int(st, 10) != 0;
	ca->purpose = (const char *)sqlite3_column_text(st, 11);
	ca->created = sqlite3_column_int64(st, 12);
	/* NOT NULL columns come back NULL only when SQLite ran out of memory. */
	if (ca->name == NULL || ca->key_uri == NULL || ca->cert_der == NULL ||
	    ca->subject == NULL || ca->ski == NULL || ca->sha256 == NULL ||
	    ca->purpose == NULL)
		return ERR_NOMEM;
	return 0;
}

int
store_ca_find(struct store *s, const char *name, struct store_ca *out,
    err_t *err)
{
	static const int text_cols[] = { 1, 3, 5, 6, 7, 11 };
	sqlite3_stmt *st;
	unsigned char *mem, *pos;
	size_t total = 0, i;
	int rc = SQLITE_OK, r;

	memset(out, 0, sizeof(*out));
	if ((r = store_prepare(s, "SELECT " STORE_CA_COLUMNS " FROM ca "
	    "WHERE name = ?", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, name, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOTFOUND, "%s: no CA named '%s'",
		    s->path, name);
	}
	if (rc != SQLITE_ROW) {
		r = store_sqlerr(s, ERR_IO, err, "find CA");
		sqlite3_finalize(st);
		return r;
	}
	/* Convert every column first: later conversions move the pointers. */
	if (store_ca_row(st, out) != 0) {
		sqlite3_finalize(st);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < sizeof(text_cols) / sizeof(text_cols[0]); i++)
		total += store_col_size(st, text_cols[i]);
	total += store_col_size(st, 4);
	if ((mem = malloc(total ? total : 1)) == NULL) {
		sqlite3_finalize(st);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pos = mem;
	out->name = store_col_copy(st, 1, &pos, NULL);
	out->key_uri = store_col_copy(st, 3, &pos, NULL);
	out->subject = store_col_copy(st, 5, &pos, NULL);
	out->ski = store_col_copy(st, 6, &pos, NULL);
	out->sha256 = store_col_copy(st, 7, &pos, NULL);
	out->purpose = store_col_copy(st, 11, &pos, NULL);
	out->cert_der = (const unsigned char *)store_col_copy(st, 4, &pos,
	    &out->cert_der_len);
	out->mem = mem;
	sqlite3_finalize(st);
	return 0;
}

void
store_ca_free(struct store_ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->mem);
	memset(ca, 0, sizeof(*ca));
}

int
store_ca_list(struct store *s, store_ca_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *st;
	struct store_ca ca;
	int rc, r;

	if ((r = store_prepare(s, "SELECT " STORE_CA_COLUMNS " FROM ca "
	    "ORDER BY id", &st, err)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store_ca_row(st, &ca) != 0) {
			sqlite3_finalize(st);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &ca)) != 0) {
			sqlite3_finalize(st);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : store_sqlerr(s, ERR_IO, err, "list CAs");
	sqlite3_finalize(st);
	return r;
}

/* --- people ------------------------------------------------------------- */

static const char *const store_roles[] = {
	"officer", "operator", "auditor", NULL
};
static const char *const store_person_statuses[] = {
	"active", "revoked", "locked", NULL
};

int
store_person_add(struct store *s, const struct store_person *p,
    int64_t *id_out, err_t *err)
{
	const char *status = p->status ? p->status : "active";
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[256];

	if ((r = store_check_choice("role", p->role, store_roles, err)) != 0 ||
	    (r = store_check_choice("person status", status,
	    store_person_statuses, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO person (name, role, ca_id, "
	    "cert_der, sha256, serial, subject, not_before, not_after, "
	    "status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &st, err)) != 0)
		return r;
	store_bind_text(st, 1, p->name, &rc);
	store_bind_text(st, 2, p->role, &rc);
	store_bind_int(st, 3, p->ca_id, &rc);
	store_bind_blob(st, 4, p->cert_der, p->cert_der_len, &rc);
	store_bind_text(st, 5, p->sha256, &rc);
	store_bind_text(st, 6, p->serial, &rc);
	store_bind_text(st, 7, p->subject, &rc);
	store_bind_int(st, 8, p->not_before, &rc);
	store_bind_int(st, 9, p->not_after, &rc);
	store_bind_text(st, 10, status, &rc);
	store_bind_int(st, 11, p->created, &rc);
	snprintf(what, sizeof(what), "person '%s'", p->name ? p->name : "");
	return store_insert(s, st, rc, what, id_out, err);
}

int
store_person_list(struct store *s, store_person_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *st;
	struct store_person p;
	int rc, r;

	if ((r = store_prepare(s, "SELECT id, name, role, ca_id, cert_der, "
	    "sha256, serial, subject, not_before, not_after, status, created "
	    "FROM person ORDER BY id", &st, err)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		p.id = sqlite3_column_int64(st, 0);
		p.name = (const char *)sqlite3_column_text(st, 1);
		p.role = (const char *)sqlite3_column_text(st, 2);
		p.ca_id = sqlite3_column_int64(st, 3);
		p.cert_der = sqlite3_column_blob(st, 4);
		p.cert_der_len = (size_t)sqlite3_column_bytes(st, 4);
		p.sha256 = (const char *)sqlite3_column_text(st, 5);
		p.serial = (const char *)sqlite3_column_text(st, 6);
		p.subject = (const char *)sqlite3_column_text(st, 7);
		p.not_before = sqlite3_column_int64(st, 8);
		p.not_after = sqlite3_column_int64(st, 9);
		p.status = (const char *)sqlite3_column_text(st, 10);
		p.created = sqlite3_column_int64(st, 11);
		if (p.name == NULL || p.role == NULL || p.cert_der == NULL ||
		    p.sha256 == NULL || p.serial == NULL || p.subject == NULL ||
		    p.status == NULL) {
			sqlite3_finalize(st);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &p)) != 0) {
			sqlite3_finalize(st);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : store_sqlerr(s, ERR_IO, err,
	    "list people");
	sqlite3_finalize(st);
	return r;
}

/* --- appliance keys ------------------------------------------------------ */

static const char *const store_appkey_purposes[] = {
	"export", "audit", "transport", NULL
};

int
store_appkey_add(struct store *s, const struct store_appkey *k,
    int64_t *id_out, err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[128];

	if ((r = store_check_choice("appliance key purpose", k->purpose,
	    store_appkey_purposes, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO appliance_key (purpose, "
	    "key_uri, cert_der, sha256, not_after, created) "
	    "VALUES (?, ?, ?, ?, ?, ?)", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, k->purpose, &rc);
	store_bind_text(st, 2, k->key_uri, &rc);
	store_bind_blob(st, 3, k->cert_der, k->cert_der_len, &rc);
	store_bind_text(st, 4, k->sha256, &rc);
	store_bind_int(st, 5, k->not_after, &rc);
	store_bind_int(st, 6, k->created, &rc);
	snprintf(what, sizeof(what), "%s appliance key", k->purpose);
	return store_insert(s, st, rc, what, id_out, err);
}

/* --- certificates -------------------------------------------------------- */

static const char *const store_cert_kinds[] = {
	"ca", "person", "appliance", "device", NULL
};
static const char *const store_cert_statuses[] = {
	"valid", "revoked", "hold", NULL
};

/* Name of CA id for messages; "#id" when it has none or on failure. */
static void
store_ca_label(struct store *s, int64_t id, char *out, size_t outsz)
{
	sqlite3_stmt *st;
	const unsigned char *name = NULL;

	snprintf(out, outsz, "#%lld", (long long)id);
	if (sqlite3_prepare_v2(s->db, "SELECT name FROM ca WHERE id = ?", -1,
	    &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_bind_int64(st, 1, id) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		name = sqlite3_column_text(st, 0);
	if (name != NULL)
		snprintf(out, outsz, "'%s'", (const char *)name);
	sqlite3_finalize(st);
}

/* 1 when the row keyed by (id, text) exists in the given query. */
static int
store_row_exists(struct store *s, const char *sql, int64_t id,
    const char *text)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_bind_int64(st, 1, id) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	return found;
}

int
store_cert_add(struct store *s, const struct store_cert *c, err_t *err)
{
	const char *status = c->status ? c->status : "valid";
	sqlite3_stmt *st;
	char label[300];
	int rc = SQLITE_OK, r;

	if ((r = store_check_choice("certificate kind", c->kind,
	    store_cert_kinds, err)) != 0 ||
	    (r = store_check_choice("certificate status", status,
	    store_cert_statuses, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO certificate (serial, ca_id, "
	    "kind, subject, sha256, not_before, not_after, der, status, "
	    "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, c->serial, &rc);
	store_bind_int(st, 2, c->ca_id, &rc);
	store_bind_text(st, 3, c->kind, &rc);
	store_bind_text(st, 4, c->subject, &rc);
	store_bind_text(st, 5, c->sha256, &rc);
	store_bind_int(st, 6, c->not_before, &rc);
	store_bind_int(st, 7, c->not_after, &rc);
	store_bind_blob(st, 8, c->der, c->der_len, &rc);
	store_bind_text(st, 9, status, &rc);
	store_bind_int(st, 10, c->created, &rc);
	snprintf(label, sizeof(label), "certificate with serial %s",
	    c->serial ? c->serial : "(none)");
	r = store_insert(s, st, rc, label, NULL, err);
	if (r != ERR_EXISTS)
		return r;
	/*
	 * Reusing a serial is the failure that matters most: say so plainly.
	 * Otherwise the same certificate (by hash) is already recorded.
	 */
	store_ca_label(s, c->ca_id, label, sizeof(label));
	if (c->serial != NULL && store_row_exists(s, "SELECT 1 FROM "
	    "certificate WHERE ca_id = ? AND serial = ?", c->ca_id, c->serial))
		return err_set(err, ERR_EXISTS, "%s: serial %s already issued "
		    "by CA %s", s->path, c->serial, label);
	return err_set(err, ERR_EXISTS, "%s: certificate %s is already "
	    "recorded", s->path, c->sha256 ? c->sha256 : "(none)");
}

/* --- ceremonies ---------------------------------------------------------- */

int
store_ceremony_add(struct store *s, const struct store_ceremony *c,
    int64_t *id_out, err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[300];

	if ((r = store_prepare(s, "INSERT INTO ceremony (name, type, "
	    "transcript_sha256, signer_sha256, ran_at, imported_at) "
	    "VALUES (?, ?, ?, ?, ?, ?)", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, c->name, &rc);
	store_bind_text(st, 2, c->type, &rc);
	store_bind_text(st, 3, c->transcript_sha256, &rc);
	store_bind_text(st, 4, c->signer_sha256, &rc);
	store_bind_int(st, 5, c->ran_at, &rc);
	store_bind_int(st, 6, c->imported_at, &rc);
	snprintf(what, sizeof(what), "ceremony '%s'", c->name ? c->name : "");
	r = store_insert(s, st, rc, what, id_out, err);
	if (r == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "%s: the transcript of "
		    "ceremony '%s' (sha256 %s) was already imported", s->path,
		    c->name ? c->name : "", c->transcript_sha256);
	return r;
}

/* --- CRLs ---------------------------------------------------------------- */

int
store_crl_add(struct store *s, const struct store_crl *c, err_t *err)
{
	sqlite3_stmt *st;
	char label[300];
	int rc = SQLITE_OK, r;

	if ((r = store_prepare(s, "INSERT INTO crl (ca_id, number, "
	    "this_update, next_update, der) VALUES (?, ?, ?, ?, ?)", &st,
	    err)) != 0)
		return r;
	store_bind_int(st, 1, c->ca_id, &rc);
	store_bind_int(st, 2, c->number, &rc);
	store_bind_int(st, 3, c->this_update, &rc);
	store_bind_int(st, 4, c->next_update, &rc);
	store_bind_blob(st, 5, c->der, c->der_len, &rc);
	snprintf(label, sizeof(label), "CRL number %lld",
	    (long long)c->number);
	r = store_insert(s, st, rc, label, NULL, err);
	if (r == ERR_EXISTS) {
		store_ca_label(s, c->ca_id, label, sizeof(label));
		return err_set(err, ERR_EXISTS, "%s: CRL number %lld already "
		    "issued by CA %s", s->path, (long long)c->number, label);
	}
	return r;
}

/* --- meta ---------------------------------------------------------------- */

int
store_meta_set(struct store *s, const char *key, const char *value,
    err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[128];

	if ((r = store_prepare(s, "INSERT INTO meta (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", &st,
	    err)) != 0)
		return r;
	store_bind_text(st, 1, key, &rc);
	store_bind_text(st, 2, value, &rc);
	snprintf(what, sizeof(what), "setting '%s'", key ? key : "");
	return store_insert(s, st, rc, what, NULL, err);
}

int
store_meta_get(struct store *s, const char *key, char **out, err_t *err)
{
	sqlite3_stmt *st;
	const unsigned char *v;
	int rc = SQLITE_OK, r;

	*out = NULL;
	if ((r = store_prepare(s, "SELECT value FROM meta WHERE key = ?", &st,
	    err)) != 0)
		return r;
	store_bind_text(st, 1, key, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOTFOUND, "%s: setting '%s' is not set",
		    s->path, key);
	}
	if (rc != SQLITE_ROW) {
		r = store_sqlerr(s, ERR_IO, err, "read setting");
		sqlite3_finalize(st);
		return r;
	}
	v = sqlite3_column_text(st, 0);
	if (v == NULL || (*out = strdup((const char *)v)) == NULL) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	return 0;
}
