/*
 * daemon.h: airlockd's state and its parts.
 *
 * The daemon runs as process roles re-executed from one binary
 * (airlockd.8, ROLES): a parent that only starts and watches
 * (role/parent.h), an ingest role that parses bundles from the medium
 * with no database, no HSM and no network (role/ingest.h), and this
 * one, the store role, which owns the database and reaches the ingest
 * role through role/rolelink.h (struct daemon.ingest): the intake hands
 * it each file and answers its lookups. The store role's main
 * thread serves the console socket (server.c, commands.c); one worker
 * thread (worker.c) moves work along the one-way flow: inbox/ -> intake
 * -> queue -> (officers approve at the console) -> signer (HSM) -> export
 * -> outbox/. The HSM itself is reached through airlock-hsm helper
 * processes (hsm/hsm.h). Each thread has its own SQLite connection to the
 * same database; SQLite serialises their writes.
 *
 * Nothing is signed, no bundle is opened and nothing is exported until an
 * officer activates the daemon (activate.c): the CA token's PIN arrives
 * over the console socket, the pool logs in, every key the daemon needs is
 * checked against its certificate (the transport key, which may not sign,
 * by a seal/open round trip), and the PIN is wiped.
 */
#ifndef AIRLOCK_DAEMON_DAEMON_H
#define AIRLOCK_DAEMON_DAEMON_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "audit/mirror.h"
#include "ctl/ctl.h"
#include "daemon/airgap.h"
#include "daemon/config.h"
#include "daemon/intake.h"
#include "export/fault.h"
#include "hsm/hsm.h"
#include "policy/crlpolicy.h"
#include "policy/profile.h"
#include "store/store.h"
#include "util/err.h"
#include "util/event.h"
#include "util/secret.h"

struct shares;

/* Events kept for `airlock status`. */
#define DAEMON_EVENTS 32

struct daemon_ca {
	int64_t id, parent_id;
	char *name, *purpose, *key_uri;
	X509 *cert;
	struct hsm_key *key;		/* activated only */
	time_t crl_warned;		/* worker only: last CRL warning */
};

/*
 * Where a thread's events go: the audit log through that thread's store
 * connection (so that an event emitted inside a transaction joins it),
 * then the journal. daemon_sink(d) is the calling thread's.
 */
struct daemon_sink {
	struct daemon *d;
	struct store *st;
	err_t failure;		/* why the last record was not appended */
};

struct daemon_appkey {
	char *uri;
	X509 *cert;
	struct hsm_key *key;		/* activated only */
	EVP_PKEY *pkey;			/* signer or decrypter; activated */
};

struct role_link;

struct daemon {
	struct config cfg;
	/* The store role's link to the ingest role (role/rolelink.h), or
	 * NULL: bundles are then judged in this process (tests). */
	struct role_link *ingest;
	char db_path[4096];
	struct store *st;		/* the main thread's connection */
	struct profile_set profiles;
	struct crlpolicy crl_policy;
	struct export_retry crl_retry;	/* worker only: CRL exports */
	STACK_OF(X509) *people_cas;
	struct daemon_ca *cas;
	size_t n_cas;
	struct daemon_appkey export_key, transport_key, audit_key;

	/* The audit log's text mirror (audit/mirror.h), shared by both
	 * threads, and the audit certificate's SHA-256 (checkpoints). */
	struct audit_mirror *audit;
	char audit_cert_sha256[AUDIT_HASH_HEX];
	char audit_note[512];		/* what the start-up check found */
	int64_t checkpoint_seq;		/* under lock: the last checkpoint */
	time_t checkpoint_at;
	struct daemon_sink sink, worker_sink;

	/* Activation: written under keys_lock held for writing; the worker
	 * holds it for reading while it uses the keys. */
	pthread_rwlock_t keys_lock;
	struct hsm_pool *pool;
	int activated;
	unsigned generation;		/* bumped at each (de)activation */
	time_t activated_at;
	struct hsm_token_info token;

	/* Worker wake-up and stop. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake;
	volatile int stop;
	/* Set while a deactivation or the stop waits for the worker: the
	 * signer stops at its next group boundary (signer_opts.stop). */
	volatile int interrupt;
	pthread_t worker;
	int worker_started;
	char worker_state[256];		/* under lock: what it does now */
	/* Under lock: why exports wait for the medium ("" when they do
	 * not), batch exports and CRL exports (airlock status). */
	char export_fault[512], crl_fault[512];
	struct daemon_airgap airgap;	/* under lock (daemon/airgap.h) */

	/* Recent events, under lock. */
	struct {
		time_t at;
		char line[512];
	} events[DAEMON_EVENTS];
	size_t n_events, next_event;

	/* Split-pin activation: the shares presented (console thread only;
	 * cmd_share.c). */
	struct shares *shares;
};

/* Loads configuration, state (store, CAs, people CAs, appliance keys)
 * and profiles. Nothing is activated. */
int daemon_open(struct daemon *d, const char *config_path, diag_t *diag,
    err_t *err);
void daemon_close(struct daemon *d);

/*
 * The event sink (util/event.h); ctx is a struct daemon_sink. Appends
 * the audit record, syncs the mirror when no transaction is open, logs
 * to stderr and keeps the line for `airlock status` (bulk events are
 * kept in the audit log only). Non-zero when the record could not be
 * appended.
 */
int daemon_event(void *ctx, const struct event *e);

/*
 * The calling thread's sink: the one it bound (the worker binds its own
 * at start), else the main thread's.
 */
struct daemon_sink *daemon_sink(struct daemon *d);
void daemon_sink_bind(struct daemon_sink *k);

/*
 * A step and its audit records, kept or lost together. daemon_step_begin
 * opens a transaction (a savepoint inside one) on the calling thread's
 * connection; the step's own writes and its events then join it.
 * daemon_step_end commits when r is 0 and rolls back otherwise, then
 * brings the text mirror up to date; it returns r, or the commit's
 * error. An ERR_IO (the store or its disk failed, e.g. disk full) is
 * also written to the journal.
 */
int daemon_step_begin(struct daemon *d, err_t *e);

/*
 * For a step committed elsewhere (ctx is a struct daemon_sink): brings
 * the audit log's text copy up to what the sink's connection sees.
 */
void daemon_sink_committed(void *ctx);
int daemon_step_end(struct daemon *d, int r, err_t *e);

/*
 * For a step's event: ev is what event_emit returned. 0 when the record
 * was appended; otherwise the step must not happen, and e says why.
 */
int daemon_recorded(struct daemon *d, int ev, err_t *e);


/*
 * 1 when a medium is inserted: the media directory exists (and, with
 * require_mount, is a mount point: another device than its parent).
 */
int daemon_medium_present(const struct daemon *d);

/*
 * 1 with MEDIA/outbox in out when a medium is inserted and its outbox/
 * is there to write to (the medium's directories are made when the stick
 * is prepared, never by the daemon).
 */
int daemon_outbox(struct daemon *d, char *out, size_t outsz);

/* Asks the worker to look for work now. */
void daemon_wake(struct daemon *d);

/* The CA with this id or name, or NULL. */
struct daemon_ca *daemon_ca_by_id(struct daemon *d, int64_t id);
struct daemon_ca *daemon_ca_by_name(struct daemon *d, const char *name);

/*
 * The intake's configuration for connection st (the worker's, or the
 * main thread's for revoke-submit): the medium, the state directory, the
 * people CAs, the profiles, the transport certificate and, while the
 * daemon is activated, its key (the caller holds keys_lock for reading
 * as long as the intake is used).
 */
void daemon_intake_config(struct daemon *d, struct store *st,
    struct intake_config *c);

/* activate.c */
int daemon_activate(struct daemon *d, const secret_t *pin, char *report,
    size_t reportsz, err_t *err);
void daemon_deactivate(struct daemon *d);

/* worker.c */
int daemon_worker_start(struct daemon *d, err_t *err);

/*
 * After a failed export attempt (code and msg its error) on outbox:
 * classifies it (export/fault.h), sets rt's next attempt and the status
 * line status (under d->lock; what names the export). 1 when the caller
 * audits it (a new kind of failure), with details filled; 0 for a repeat.
 */
int daemon_export_failed(struct daemon *d, struct export_retry *rt,
    char *status, size_t statussz, const char *outbox, const char *what,
    int code, const char *msg, char *details, size_t detailssz);

/* After a successful export: clears rt and the status line. */
void daemon_export_ok(struct daemon *d, struct export_retry *rt,
    char *status);

/* 1 when an export attempt on outbox is due under rt (export/fault.h). */
int daemon_export_due(const struct export_retry *rt, const char *outbox);
void daemon_worker_stop(struct daemon *d);

/* server.c: serves the console socket until *stop; 0 or ERR_IO. */
int daemon_serve(struct daemon *d, const volatile int *stop, err_t *err);

/* commands.c: one console request -> one reply. uid is the peer's. */
void daemon_command(struct daemon *d, uid_t uid,
    const struct ctl_msg *req, struct ctl_msg *reply);

#endif
