/*
 * store.h: the appliance's state in one SQLite database.
 *
 * The store holds what the appliance knows between ceremonies: its CAs, the
 * people who may operate it, its own keys, every certificate it issued, the
 * ceremonies imported and the CRLs published. It never holds a private key;
 * keys are named by their PKCS#11 URI.
 *
 * The schema is versioned with PRAGMA user_version and migrated forward on
 * open, one transaction per version. A database written by a newer Airlock
 * is refused rather than guessed at.
 *
 * Hashes (sha256, ski) and serial numbers are lower-case hex without
 * separators; the schema refuses anything else, so that "0A" and "0a" can
 * never be two different serials. Times are Unix seconds (UTC).
 *
 * Every value reaches SQLite through a bound parameter, never through SQL
 * text (store/stmt.h has the helpers). Functions return 0 or a negative
 * ERR_* code with a message in err.
 */
#ifndef AIRLOCK_STORE_STORE_H
#define AIRLOCK_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "util/err.h"

struct store;

/*
 * Opens the database at path, creating it (mode 0600) when create is set;
 * with create 0 it must exist (ERR_NOTFOUND). Sets WAL (verified),
 * synchronous=FULL, foreign_keys=ON, secure_delete=ON and a 60 s busy
 * timeout, then migrates to the latest schema. A database newer than this
 * binary is refused with ERR_INVALID naming both versions.
 */
int store_open(const char *path, int create, struct store **out, err_t *err);

/* Closes the database; NULL is accepted. */
void store_close(struct store *s);

/* The schema version of the open database (the latest after store_open). */
int store_version(struct store *s);

/* The schema version this binary migrates to. */
int store_latest_version(void);

/*
 * The SQL that takes the schema from version - 1 to version (1 ..
 * store_latest_version()), or NULL. For tests that must build a database
 * stopped at an older version and check that opening it migrates it.
 */
const char *store_migration(int version);

/* The underlying handle, for modules that own tables of their own. */
sqlite3 *store_db(struct store *s);

/* The path the store was opened with, as messages name the store. */
const char *store_path(struct store *s);

/*
 * Statements kept prepared for the life of the connection, for the few
 * that run once per certificate: slot says which (STORE_CACHED_*), sql is
 * used the first time only. *out is reset with no bindings; the store
 * finalizes it at close. 0 or ERR_INTERNAL.
 */
enum {
	STORE_CACHED_AUDIT_HEAD,
	STORE_CACHED_AUDIT_ADD,
	STORE_CACHED_PERSON_ROLE,
	STORE_CACHED_MAX
};
int store_cached(struct store *s, unsigned slot, const char *sql,
    sqlite3_stmt **out, err_t *err);

/* 1 while a transaction is open on the connection. */
int store_in_transaction(struct store *s);

/*
 * BEGIN IMMEDIATE: takes the write lock now, not at the first write.
 * Inside a transaction already opened with store_begin, a SAVEPOINT: a
 * step that records its own rows (a queue transition) can then run
 * inside a larger one (the same step and its audit record), and is kept
 * or lost with it.
 */
int store_begin(struct store *s, err_t *err);

/*
 * Ends the innermost store_begin: COMMIT, or RELEASE of its savepoint
 * (nothing is durable before the outermost commit). On failure that
 * level is rolled back.
 */
int store_commit(struct store *s, err_t *err);

/*
 * Ends the innermost store_begin level as r says: commits when r is 0
 * (returning the commit's result), otherwise rolls back and returns r.
 */
int store_end(struct store *s, int r, err_t *err);

/*
 * Rolls back the innermost store_begin level (the whole transaction at
 * the outermost one, or when SQLite already ended it); otherwise nothing.
 */
void store_rollback(struct store *s);

/* Runs SQL text that carries no values (schema, pragmas); 0 or ERR_*. */
int store_exec(struct store *s, const char *sql, err_t *err);

/*
 * PRAGMA integrity_check must say "ok" and PRAGMA foreign_key_check must
 * find nothing; otherwise ERR_INVALID with the first problem.
 */
int store_integrity_check(struct store *s, err_t *err);

/*
 * Rows. For an add, the caller fills the members (pointers are only read)
 * and leaves id and mem alone. A row read back by a find owns its memory
 * in mem; release it with the matching _free. A row handed to a list
 * callback is valid only during the call.
 */
struct store_ca {
	int64_t id;
	const char *name;		/* unique, non-empty */
	int64_t parent_id;		/* 0: none (a root) */
	const char *key_uri;		/* "pkcs11:" URI of the signing key */
	const unsigned char *cert_der;
	size_t cert_der_len;
	const char *subject;		/* one-line RFC 4514 text */
	const char *ski;		/* subject key identifier, hex */
	const char *sha256;		/* of cert_der, hex */
	int64_t not_before, not_after;
	int is_root;			/* 1 exactly when purpose is "root" */
	const char *purpose;		/* root, devices, people, intermediate */
	int64_t created;
	void *mem;
};

struct store_person {
	int64_t id;
	const char *name;
	const char *role;		/* officer, operator, auditor */
	int64_t ca_id;
	const unsigned char *cert_der;
	size_t cert_der_len;
	const char *sha256;
	const char *serial;
	const char *subject;
	int64_t not_before, not_after;
	const char *status;		/* active, revoked, locked; NULL: active */
	int64_t created;
	void *mem;
};

struct store_appkey {
	int64_t id;
	const char *purpose;		/* export, audit, transport */
	const char *key_uri;
	const unsigned char *cert_der;
	size_t cert_der_len;
	const char *sha256;
	int64_t not_after;
	int64_t created;
};

struct store_cert {
	const char *serial;
	int64_t ca_id;
	const char *kind;		/* ca, person, appliance, device */
	const char *subject;
	const char *sha256;
	int64_t not_before, not_after;
	const unsigned char *der;
	size_t der_len;
	const char *status;		/* valid, revoked, hold; NULL: valid */
	int64_t created;
};

struct store_ceremony {
	int64_t id;
	const char *name;
	const char *type;
	const char *transcript_sha256;
	const char *signer_sha256;	/* of the signer's certificate */
	int64_t ran_at, imported_at;
};

struct store_crl {
	int64_t ca_id;
	int64_t number;			/* CRL number, per CA */
	int64_t this_update, next_update;
	const unsigned char *der;
	size_t der_len;
};

/*
 * Adds a CA; *id_out (may be NULL) gets its id. ERR_EXISTS when the name
 * or the certificate is taken, ERR_INVALID when a constraint refuses it.
 */
int store_ca_add(struct store *s, const struct store_ca *ca, int64_t *id_out,
    err_t *err);

/* Finds a CA by name into out (free with store_ca_free); ERR_NOTFOUND. */
int store_ca_find(struct store *s, const char *name, struct store_ca *out,
    err_t *err);

/* Releases what a find put in ca; zeroes it. */
void store_ca_free(struct store_ca *ca);

/*
 * Calls cb for every CA in id order. A non-zero return from cb stops the
 * walk and is returned; otherwise 0 or ERR_*.
 */
typedef int (*store_ca_cb)(void *ctx, const struct store_ca *ca);
int store_ca_list(struct store *s, store_ca_cb cb, void *ctx, err_t *err);

/* Adds a person; *id_out (may be NULL) gets the id; ERR_INVALID, ERR_EXISTS. */
int store_person_add(struct store *s, const struct store_person *p,
    int64_t *id_out, err_t *err);

/* Calls cb for every person in id order; stops like store_ca_list. */
typedef int (*store_person_cb)(void *ctx, const struct store_person *p);
int store_person_list(struct store *s, store_person_cb cb, void *ctx,
    err_t *err);

/*
 * Calls cb for the person holding the certificate whose SHA-256 is
 * sha256 (the bundle signer, the approving officer). ERR_NOTFOUND when
 * nobody enrolled holds it.
 */
int store_person_find(struct store *s, const char *sha256,
    store_person_cb cb, void *ctx, err_t *err);

/* Adds an appliance key; ERR_EXISTS when one with that purpose exists. */
int store_appkey_add(struct store *s, const struct store_appkey *k,
    int64_t *id_out, err_t *err);

/* Calls cb for every appliance key (export, audit, transport) in id order. */
typedef int (*store_appkey_cb)(void *ctx, const struct store_appkey *k);
int store_appkey_list(struct store *s, store_appkey_cb cb, void *ctx,
    err_t *err);

/* Records an issued certificate; ERR_EXISTS when the CA used the serial. */
int store_cert_add(struct store *s, const struct store_cert *c, err_t *err);

/* Records an imported ceremony; ERR_EXISTS when its transcript is known. */
int store_ceremony_add(struct store *s, const struct store_ceremony *c,
    int64_t *id_out, err_t *err);

/* Records a CRL; ERR_EXISTS when the CA already has that CRL number. */
int store_crl_add(struct store *s, const struct store_crl *c, err_t *err);

/* Sets key to value, replacing an earlier value. */
int store_meta_set(struct store *s, const char *key, const char *value,
    err_t *err);

/* Gets key's value as a heap string (free()); ERR_NOTFOUND when unset. */
int store_meta_get(struct store *s, const char *key, char **out, err_t *err);

#endif
