/*
 * test_sandbox.c: hardening, dropping to a user and the per-role seccomp
 * allowlists. Every sandboxed case runs in a forked child, since a filter
 * cannot be removed: a forbidden call must kill the child with SIGSYS, a
 * permitted one must let it exit 0.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "util/sandbox.h"
#include "util/secret.h"

/* Exit codes a child uses to say which of its own checks failed. */
#define CHILD_NO_SANDBOX 90
#define CHILD_CHECK 91

static const enum sandbox_role all_roles[] = {
	SANDBOX_ROLE_PARENT, SANDBOX_ROLE_STORE, SANDBOX_ROLE_INGEST,
	SANDBOX_ROLE_HSM
};

/*
 * Runs fn in a child that is hardened and then enters role's sandbox;
 * returns the child's wait status. fn returns 0 when its checks held.
 */
static int
in_role(enum sandbox_role role, int (*fn)(void *), void *arg)
{
	pid_t pid;
	int st = 0;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		err_t e;

		/* No core file from the expected SIGSYS. */
		if (sandbox_harden(&e) != 0 || sandbox_enter(role, &e) != 0)
			_exit(CHILD_NO_SANDBOX);
		_exit(fn(arg) == 0 ? 0 : CHILD_CHECK);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
assert_killed(int st, enum sandbox_role role, const char *what)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s in the %s role: expected SIGSYS, got %s %d", what,
		    sandbox_role_name(role), WIFSIGNALED(st) ? "signal" :
		    "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void
assert_lived(int st, enum sandbox_role role, const char *what)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s in the %s role: expected exit 0, got %s %d", what,
		    sandbox_role_name(role), WIFSIGNALED(st) ? "signal" :
		    "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* --- forbidden calls ------------------------------------------------ */

static int
call_socket_family(void *arg)
{
	(void)socket(*(const int *)arg, SOCK_STREAM, 0);
	return 0;
}

static int
call_ptrace(void *arg)
{
	(void)arg;
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 0;
}

static int
call_mount(void *arg)
{
	(void)arg;
	(void)mount("none", "/mnt", "tmpfs", 0, NULL);
	return 0;
}

static int
call_execve(void *arg)
{
	char *const argv[] = { (char *)(uintptr_t)"true", NULL };

	(void)arg;
	(void)execve("/bin/true", argv, argv + 1);
	return 0;
}

static int
call_raw(void *arg)
{
	(void)syscall(*(const long *)arg, 0, 0, 0, 0, 0);
	return 0;
}

static int
call_mmap_exec(void *arg)
{
	(void)arg;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int
call_open(void *arg)
{
	(void)arg;
	(void)open("/dev/null", O_WRONLY | O_CLOEXEC);
	return 0;
}

static void
test_network_is_fatal(void **state)
{
	static const int families[] = { AF_INET, AF_INET6, AF_NETLINK,
	    AF_PACKET };
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(all_roles) / sizeof(all_roles[0]); i++)
		for (j = 0; j < sizeof(families) / sizeof(families[0]); j++) {
			char what[40];

			(void)snprintf(what, sizeof(what), "socket(family "
			    "%d)", families[j]);
			assert_killed(in_role(all_roles[i], call_socket_family,
			    (void *)(uintptr_t)&families[j]), all_roles[i],
			    what);
		}
}

static void
test_system_calls_no_role_needs(void **state)
{
	static const long raw[] = { SYS_kexec_load, SYS_bpf,
	    SYS_perf_event_open, SYS_init_module, SYS_setuid, SYS_chroot,
	    SYS_unshare, SYS_setns };
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(all_roles) / sizeof(all_roles[0]); i++) {
		assert_killed(in_role(all_roles[i], call_ptrace, NULL),
		    all_roles[i], "ptrace(PTRACE_TRACEME)");
		assert_killed(in_role(all_roles[i], call_mount, NULL),
		    all_roles[i], "mount");
		for (j = 0; j < sizeof(raw) / sizeof(raw[0]); j++) {
			char what[40];

			(void)snprintf(what, sizeof(what), "system call %ld",
			    raw[j]);
			assert_killed(in_role(all_roles[i], call_raw,
			    (void *)(uintptr_t)&raw[j]), all_roles[i], what);
		}
	}
}

static int
call_clone_userns(void *arg)
{
	pid_t pid;

	(void)arg;
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	return 0;
}

static void
test_narrow_roles(void **state)
{
	(void)state;
	/* Threads and children, but no new namespaces. */
	assert_killed(in_role(SANDBOX_ROLE_STORE, call_clone_userns, NULL),
	    SANDBOX_ROLE_STORE, "clone(CLONE_NEWUSER)");
	/* Neither the parser nor the HSM helper starts programs. */
	assert_killed(in_role(SANDBOX_ROLE_INGEST, call_execve, NULL),
	    SANDBOX_ROLE_INGEST, "execve");
	assert_killed(in_role(SANDBOX_ROLE_HSM, call_execve, NULL),
	    SANDBOX_ROLE_HSM, "execve");
	/* Nor do they map new code once loaded. */
	assert_killed(in_role(SANDBOX_ROLE_INGEST, call_mmap_exec, NULL),
	    SANDBOX_ROLE_INGEST, "mmap(PROT_EXEC)");
	assert_killed(in_role(SANDBOX_ROLE_HSM, call_mmap_exec, NULL),
	    SANDBOX_ROLE_HSM, "mmap(PROT_EXEC)");
	/*
	 * The parser opens nothing by name (in sanitizer builds it may open
	 * read-only, for LeakSanitizer: see sandbox.h).
	 */
	assert_killed(in_role(SANDBOX_ROLE_INGEST, call_open, NULL),
	    SANDBOX_ROLE_INGEST, "open");
}

/* --- permitted calls ------------------------------------------------ */

static void *
thread_main(void *arg)
{
	return arg;
}

/* What the store does: files, the console socket, threads, a helper. */
static int
store_work(void *arg)
{
	const char *dir = arg;
	char path[PATH_MAX], back[8];
	char *const argv[] = { (char *)(uintptr_t)"true", NULL };
	struct sockaddr_un sa;
	pthread_t t;
	void *ret = NULL;
	int fd, sv[2], st, seccomp, nnp;
	pid_t pid;
	err_t e;

	(void)snprintf(path, sizeof(path), "%s/f", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, "abc", 3) != 3 || fsync(fd) != 0 ||
	    pread(fd, back, 3, 0) != 3 || close(fd) != 0 ||
	    memcmp(back, "abc", 3) != 0)
		return 1;
	(void)snprintf(path, sizeof(path), "%s/s", dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return 2;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 1) != 0 || close(fd) != 0 || unlink(path) != 0)
		return 2;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    send(sv[0], "x", 1, MSG_NOSIGNAL) != 1 ||
	    recv(sv[1], back, 1, 0) != 1)
		return 3;
	close(sv[0]);
	close(sv[1]);
	if (pthread_create(&t, NULL, thread_main, path) != 0 ||
	    pthread_join(t, &ret) != 0 || ret != path)
		return 4;
	/* A started program runs under the store's filter and may work. */
	if ((pid = fork()) < 0)
		return 5;
	if (pid == 0) {
		(void)execve("/bin/true", argv, argv + 1);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return 6;
	if (sandbox_status(0, &seccomp, &nnp, &e) != 0 || seccomp != 2 ||
	    nnp != 1)
		return 7;
	return 0;
}

static void
test_store_works(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "sandbox"), 0);
	assert_lived(in_role(SANDBOX_ROLE_STORE, store_work, dir),
	    SANDBOX_ROLE_STORE, "files, sockets, threads, execve");
	testutil_rmtree(dir);
}

/* What the HSM helper does: token files, locked secrets, its channel. */
static int
hsm_work(void *arg)
{
	const char *dir = arg;
	char path[PATH_MAX], back[4];
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	secret_t *s = NULL;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/token.object", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    fcntl(fd, F_SETLKW, &lk) != 0 || write(fd, "tok", 3) != 3 ||
	    ftruncate(fd, 3) != 0 || lseek(fd, 0, SEEK_SET) != 0 ||
	    read(fd, back, 3) != 3 || close(fd) != 0)
		return 1;
	if (secret_new(&s) != 0 || secret_set(s, "1234", 4) != 0)
		return 2;
	secret_free(s);
	/* syslog(3) in the module: refused, not fatal. */
	errno = 0;
	if (socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) != -1 ||
	    errno != EACCES)
		return 3;
	return unlink(path) == 0 ? 0 : 4;
}

static void
test_hsm_works(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "sandbox"), 0);
	assert_lived(in_role(SANDBOX_ROLE_HSM, hsm_work, dir),
	    SANDBOX_ROLE_HSM, "token files, secrets");
	testutil_rmtree(dir);
}

/* The parser: messages on a socketpair it was given, memory, nothing else. */
static int
ingest_work(void *arg)
{
	const int *sv = arg;
	char byte = 'm', back = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t big = 64u << 20;
	unsigned char *p;

	if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) != 1)
		return 1;
	iov.iov_base = &back;
	if (recvmsg(sv[1], &mh, 0) != 1 || back != 'm')
		return 2;
	/* Large allocations come from mmap, not brk. */
	if ((p = malloc(big)) == NULL)
		return 3;
	memset(p, 1, big);
	free(p);
	return 0;
}

static void
test_ingest_works(void **state)
{
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_lived(in_role(SANDBOX_ROLE_INGEST, ingest_work, sv),
	    SANDBOX_ROLE_INGEST, "socketpair messages, memory");
	close(sv[0]);
	close(sv[1]);
}

static int
parent_work(void *arg)
{
	pid_t pid;
	int st;

	(void)arg;
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0)
		_exit(7);
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 7 ? 0 : 2;
}

static void
test_parent_works(void **state)
{
	(void)state;
	assert_lived(in_role(SANDBOX_ROLE_PARENT, parent_work, NULL),
	    SANDBOX_ROLE_PARENT, "fork and wait");
}

static void
test_unknown_role(void **state)
{
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(sandbox_enter((enum sandbox_role)42, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "42");
	assert_string_equal(sandbox_role_name((enum sandbox_role)42),
	    "unknown");
	assert_string_equal(sandbox_role_name(SANDBOX_ROLE_INGEST), "ingest");
}

/* --- hardening and users -------------------------------------------- */

static int
harden_check(void)
{
	struct rlimit rl;
	int seccomp, nnp;
	err_t e;

	if (sandbox_harden(&e) != 0)
		return 1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 2;
	if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 3;
	if (sandbox_status(0, &seccomp, &nnp, &e) != 0 || nnp != 1 ||
	    seccomp != 0)
		return 4;
	/* Hardening twice is harmless. */
	return sandbox_harden(&e) == 0 ? 0 : 5;
}

static void
test_harden(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		_exit(harden_check());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static int
drop_check(const struct passwd *want)
{
	gid_t groups[64];
	int n, i;
	err_t e;

	if (sandbox_drop_user("nobody", &e) != 0)
		return 1;
	if (getuid() != want->pw_uid || geteuid() != want->pw_uid ||
	    getgid() != want->pw_gid || getegid() != want->pw_gid)
		return 2;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return 3;
	/* No group of root's is kept. */
	if ((n = getgroups(64, groups)) < 0)
		return 4;
	for (i = 0; i < n; i++)
		if (groups[i] == 0)
			return 5;
	/* Dropping to who we already are is not an error. */
	return sandbox_drop_user("nobody", &e) == 0 ? 0 : 6;
}

static void
test_drop_user(void **state)
{
	struct passwd *pw, want;
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(pw = getpwnam("nobody"));
	want = *pw;
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		_exit(drop_check(&want));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_drop_user_refused(void **state)
{
	err_t e;

	(void)state;
	err_clear(&e);
	assert_int_equal(sandbox_drop_user(NULL, &e), 0);
	assert_int_equal(sandbox_drop_user("no-such-airlock-user", &e),
	    ERR_NOTFOUND);
	assert_contains(e.msg, "'no-such-airlock-user'");
	/* Root is never a user to drop to; a non-root caller cannot switch. */
	assert_int_equal(sandbox_drop_user("root", &e), ERR_PERM);
	assert_contains(e.msg, "'root'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_is_fatal),
		cmocka_unit_test(test_system_calls_no_role_needs),
		cmocka_unit_test(test_narrow_roles),
		cmocka_unit_test(test_store_works),
		cmocka_unit_test(test_hsm_works),
		cmocka_unit_test(test_ingest_works),
		cmocka_unit_test(test_parent_works),
		cmocka_unit_test(test_unknown_role),
		cmocka_unit_test(test_harden),
		cmocka_unit_test(test_drop_user),
		cmocka_unit_test(test_drop_user_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
