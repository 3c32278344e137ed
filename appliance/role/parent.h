/*
 * parent.h: airlockd's parent process (airlockd.8, ROLES).
 *
 * `airlockd --config F` only starts and watches. It re-executes its own
 * binary (/proc/self/exe) as `--role store` (the console socket, the
 * database, the worker, the HSM helpers) and `--role ingest` (bundles
 * from the medium), joined by a socketpair, and keeps a control channel
 * to the store role. Both die with the parent (PR_SET_PDEATHSIG SIGKILL),
 * so `kill -9` of the parent stops the store role at once, as it stopped
 * the one process before.
 *
 *  - The ingest role ends (a crash on hostile input, a seccomp kill, or
 *    the store gave it up with LOST): the parent starts a new one and
 *    hands the store its end of the new socketpair (INGEST, with how the
 *    old one ended), and the daemon keeps serving.
 *  - The store role ends: the parent stops the ingest role and exits 1
 *    (systemd restarts the daemon; the store is crash safe).
 *  - SIGTERM or SIGINT: passed on to the store role, which stops cleanly;
 *    then the ingest role is stopped; the exit status is the store's.
 */
#ifndef AIRLOCK_ROLE_PARENT_H
#define AIRLOCK_ROLE_PARENT_H

/* The descriptors a role finds its channels on. */
#define ROLE_FD_CHAN	3	/* ingest: to the store; store: to the parent */
#define ROLE_FD_INGEST	4	/* store: to the ingest role */

/*
 * Runs the parent for configuration config_path until the store role
 * ends. Returns the exit status: 0 after a clean stop on a signal, 1
 * otherwise (why went to stderr).
 */
int role_parent_main(const char *config_path);

#endif
