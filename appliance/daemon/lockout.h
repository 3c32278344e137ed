/*
 * lockout.h: the daemon's side of lock-outs (queue/lockout.h keeps the
 * counts and records): which failures count, what is refused while a
 * credential is locked out, and the audit records of each step.
 *
 * Counted: a wrong PIN at a login to the CA token (hsm_wrong_pin: the
 * token said CKR_PIN_INCORRECT or CKR_PIN_LEN_RANGE), and an approval by
 * an enrolled person's certificate that does not verify or that the
 * records refuse (signature, statement, digest, object, time, chain,
 * role, a revoked person). Not counted: a PIN the token itself has
 * locked, a missing token or helper, any other HSM failure; an approval
 * by a certificate nobody enrolled holds (no one to lock), a repeated
 * vote, a requester's own vote, an object already decided.
 *
 * Every failure, its count, and its audit records (login-failed or
 * approval-failed, then lockout when the limit is reached) are one step
 * (daemon_step_begin/end). Clearing is an approval of kind lockout-clear
 * by two officers other than the locked person (commands.c); the
 * lockout-cleared record joins the last approval's step.
 *
 * All of these run on the main thread (the console's).
 */
#ifndef AIRLOCK_DAEMON_LOCKOUT_H
#define AIRLOCK_DAEMON_LOCKOUT_H

#include "daemon/daemon.h"
#include "queue/lockout.h"
#include "util/buf.h"
#include "util/err.h"

/* The officers it takes to clear a lock-out. */
#define DAEMON_LOCKOUT_QUORUM 2

/*
 * Before a login to the CA token: 0 when it is not locked out; ERR_AUTH
 * saying since when, after how many failures and how to clear it when it
 * is; the store's error when it cannot tell (the login is refused too).
 */
int daemon_lockout_login_check(struct daemon *d, err_t *e);

/*
 * After a login that returned r with e: a wrong PIN is counted and
 * recorded (login-failed, lockout), and e's message then says the count
 * and, at the limit, that the token is now locked out; a success (r 0)
 * resets the count. Anything else is left alone.
 */
void daemon_lockout_login_result(struct daemon *d, int r, err_t *e);

/*
 * An approval by certificate fp (64 hex) refused with e (objects: the
 * approval's OBJECTS). When an enrolled person holds fp, counts the
 * failure and records approval-failed (and lockout at the limit) in one
 * step, adds the count to e's message and returns 1; returns 0 when
 * nobody enrolled holds fp or the step failed (the caller records the
 * refusal as it would otherwise).
 */
int daemon_lockout_approval_failed(struct daemon *d, const char *fp,
    const char *objects, err_t *e);

/*
 * Inside the caller's step: a successful approval by fp resets the
 * person's count. 0 or the store's error.
 */
int daemon_lockout_approval_ok(struct daemon *d, const char *fp, err_t *e);

/*
 * ERR_POLICY naming who (a person's name) and their open lock-out (since
 * when, after how many failures, how to clear it); when the records
 * show none, a plain "who is locked".
 */
int daemon_lockout_refuse(struct daemon *d, const char *fp, const char *who,
    err_t *e);

/*
 * Inside the caller's step, once the lockout-clear quorum holds: clears
 * lock-out id (queue_lockout_clear) and records lockout-cleared. 0, or
 * the queue's or the audit log's refusal.
 */
int daemon_lockout_clear(struct daemon *d, int64_t id, err_t *e);

/* Appends the "Lock-outs:" line of `airlock status` to t. */
void daemon_lockout_status(struct daemon *d, buf_t *t);

/* The OBJECTS of lock-out l: "lockout=ID token=LABEL" or "... person=SHA". */
void daemon_lockout_objects(const struct queue_lockout *l, char *out,
    size_t outsz);

#endif
