/*
 * sandbox.h: what a process role gives up before it touches anything
 * untrusted or secret.
 *
 * Three steps, in this order:
 *   sandbox_harden      at the very start: no new privileges, not
 *                       dumpable, no core files;
 *   sandbox_drop_user   once the configuration is read: run as an
 *                       unprivileged user from then on;
 *   sandbox_enter       once the role's files, sockets and libraries are
 *                       open: a seccomp filter (libseccomp) that allows
 *                       only the system calls the role needs and kills the
 *                       whole process on any other.
 *
 * Each role's allowlist is in sandbox.c with the reason for every group of
 * calls. The filter is inherited across fork and execve and cannot be
 * removed, so a process the store role starts (airlock-hsm) runs under the
 * store's filter and then its own. docs/deploy.md says how to check that a
 * running process is sandboxed (/proc/PID/status: NoNewPrivs 1, Seccomp 2).
 *
 * Sanitizer builds (ASan, LSan, UBSan; detected at compile time):
 * LeakSanitizer's check at exit clones a tracer that stops every thread
 * with ptrace, lists /proc/self/task and reads /proc/self/maps, so those
 * builds also allow clone, ptrace (only the requests LSan makes), wait4,
 * prctl, getdents, read-only opens, and for its report readlink, fcntl
 * and ioctl(TCGETS), in every role, so that leaks are still found and
 * reported. Release builds never do. An external symbolizer (llvm-symbolizer, which clang builds may
 * start for a report) cannot be started from a sandboxed role.
 */
#ifndef AIRLOCK_UTIL_SANDBOX_H
#define AIRLOCK_UTIL_SANDBOX_H

#include "util/err.h"

enum sandbox_role {
	SANDBOX_ROLE_PARENT,	/* starts and watches the other roles */
	SANDBOX_ROLE_STORE,	/* the database, console socket, medium */
	SANDBOX_ROLE_INGEST,	/* parses the medium's bytes, nothing else */
	SANDBOX_ROLE_HSM	/* airlock-hsm: the PKCS#11 module */
};

/* "parent", "store", "ingest", "hsm"; "unknown" for anything else. */
const char *sandbox_role_name(enum sandbox_role role);

/*
 * Sets no_new_privs, makes the process not dumpable (no ptrace by other
 * processes of the same user, no core) and RLIMIT_CORE 0. Safe to call
 * more than once and before anything else. 0, or ERR_IO.
 */
int sandbox_harden(err_t *err);

/*
 * Becomes user (name from the passwd database) with its primary and
 * supplementary groups, then checks that root cannot be regained. NULL:
 * no change. When not root, only the current user is accepted. 0, or
 * ERR_NOTFOUND (no such user), ERR_PERM (not root, or the drop did not
 * hold), ERR_IO.
 */
int sandbox_drop_user(const char *user, err_t *err);

/*
 * Installs role's seccomp allowlist on every thread of the process (the
 * default action kills the process). Also sets no_new_privs. 0, or
 * ERR_INVALID (unknown role), ERR_NOMEM, ERR_IO (the kernel refused).
 */
int sandbox_enter(enum sandbox_role role, err_t *err);

/*
 * Reads the "Seccomp:" and "NoNewPrivs:" lines of /proc/PID/status (pid 0:
 * this process) into seccomp and nnp. 0, or ERR_IO.
 */
int sandbox_status(int pid, int *seccomp, int *nnp, err_t *err);

#endif
