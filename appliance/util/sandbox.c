/* sandbox.c: per-process hardening and seccomp allowlists (see sandbox.h). */
#include "util/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/*
 * Sanitizer runtimes make calls of their own at run time. Whether this
 * translation unit is built with them is known at compile time; the whole
 * tree is built with the same flags, so that tells for the process too.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/* Groups of system calls; each role's allowlist is a set of groups. */
enum {
	SB_BASE = 1 << 0,	/* every role: memory, time, exit, I/O on fds */
	SB_FILES = 1 << 1,	/* opens, reads and writes files by name */
	SB_SECRETS = 1 << 2,	/* locks secret pages (util/secret.c) */
	SB_SOCKETS = 1 << 3,	/* Unix sockets: listens, accepts, pairs */
	SB_THREADS = 1 << 4,	/* creates threads */
	SB_SPAWN = 1 << 5,	/* fork + execve of another program */
	SB_MSG = 1 << 6,	/* messages on an inherited socket */
	SB_HANDOFF = 1 << 7,	/* anonymous files handed to another role */
	SB_WATCH = 1 << 8	/* signals the roles it started */
};

/*
 * Plain allowlist entries: a name and the groups it belongs to. Names
 * that libseccomp does not know, or that do not exist on this
 * architecture, are skipped. Calls that need an argument check (mmap,
 * mprotect, socket, socketpair, sendto, recvfrom, tgkill, clone, clone3,
 * ptrace) are added by sandbox_args below.
 */
static const struct {
	const char *name;
	unsigned groups;
} sandbox_calls[] = {
	/* Reading and writing descriptors the role already holds. */
	{ "read", SB_BASE }, { "write", SB_BASE }, { "readv", SB_BASE },
	{ "writev", SB_BASE }, { "close", SB_BASE }, { "lseek", SB_BASE },
	{ "fstat", SB_BASE }, { "newfstatat", SB_BASE },
	/* Memory: malloc, OpenSSL's secure heap, thread stacks. */
	{ "brk", SB_BASE }, { "munmap", SB_BASE }, { "mremap", SB_BASE },
	{ "madvise", SB_BASE },
	/* Locks, time, randomness, identity, signals, exit. */
	{ "futex", SB_BASE }, { "clock_gettime", SB_BASE },
	{ "gettimeofday", SB_BASE }, { "nanosleep", SB_BASE },
	{ "clock_nanosleep", SB_BASE }, { "getrandom", SB_BASE },
	{ "getpid", SB_BASE }, { "gettid", SB_BASE }, { "getuid", SB_BASE },
	{ "geteuid", SB_BASE }, { "getgid", SB_BASE }, { "getegid", SB_BASE },
	{ "rt_sigreturn", SB_BASE }, { "rt_sigprocmask", SB_BASE },
	{ "rt_sigaction", SB_BASE }, { "restart_syscall", SB_BASE },
	{ "sched_yield", SB_BASE }, { "sysinfo", SB_BASE },
	{ "exit", SB_BASE },
	{ "exit_group", SB_BASE },
	/* SQLite, the audit mirror, the medium, SoftHSM's token files. */
	{ "open", SB_FILES }, { "openat", SB_FILES }, { "stat", SB_FILES },
	{ "lstat", SB_FILES }, { "statx", SB_FILES }, { "access", SB_FILES },
	{ "faccessat", SB_FILES }, { "faccessat2", SB_FILES },
	{ "statfs", SB_FILES }, { "fstatfs", SB_FILES },
	{ "pread64", SB_FILES }, { "pwrite64", SB_FILES },
	{ "fsync", SB_FILES }, { "fdatasync", SB_FILES },
	{ "ftruncate", SB_FILES }, { "fallocate", SB_FILES },
	{ "fcntl", SB_FILES }, { "flock", SB_FILES },
	{ "getdents64", SB_FILES }, { "readlink", SB_FILES },
	{ "readlinkat", SB_FILES }, { "rename", SB_FILES },
	{ "renameat", SB_FILES }, { "renameat2", SB_FILES },
	{ "link", SB_FILES }, { "linkat", SB_FILES },
	{ "unlink", SB_FILES }, { "unlinkat", SB_FILES },
	{ "mkdir", SB_FILES }, { "mkdirat", SB_FILES }, { "rmdir", SB_FILES },
	{ "fchmod", SB_FILES }, { "fchown", SB_FILES }, { "umask", SB_FILES },
	{ "getcwd", SB_FILES }, { "utimensat", SB_FILES },
	{ "dup", SB_FILES }, { "dup2", SB_FILES | SB_SPAWN },
	{ "dup3", SB_FILES | SB_SPAWN },
	{ "mlock", SB_SECRETS }, { "munlock", SB_SECRETS },
	{ "memfd_create", SB_HANDOFF },
	/* The parent ends its roles; a role it forks checks, before exec,
	 * that it still has that parent (PR_SET_PDEATHSIG race). */
	{ "kill", SB_WATCH }, { "getppid", SB_WATCH },
	/* The console socket (SO_PEERCRED, receive timeouts). */
	{ "bind", SB_SOCKETS }, { "listen", SB_SOCKETS },
	{ "accept4", SB_SOCKETS }, { "getsockopt", SB_SOCKETS },
	{ "setsockopt", SB_SOCKETS }, { "shutdown", SB_SOCKETS },
	{ "poll", SB_SOCKETS }, { "ppoll", SB_SOCKETS },
	{ "sendmsg", SB_SOCKETS | SB_MSG }, { "recvmsg", SB_SOCKETS | SB_MSG },
	/* pthread_create; sysconf(_SC_NPROCESSORS_ONLN). */
	{ "set_robust_list", SB_THREADS | SB_SPAWN },
	{ "rseq", SB_THREADS | SB_SPAWN },
	{ "sched_getaffinity", SB_THREADS },
	/*
	 * Starting a helper: the child closes descriptors and executes it;
	 * the dynamic loader of the new program then sets up its thread and
	 * limits before the helper can install its own, narrower filter.
	 */
	{ "execve", SB_SPAWN }, { "wait4", SB_SPAWN },
	{ "close_range", SB_SPAWN }, { "arch_prctl", SB_SPAWN },
	{ "set_tid_address", SB_SPAWN }, { "prlimit64", SB_SPAWN },
	{ "prctl", SB_SPAWN }, { "seccomp", SB_SPAWN },
};

/* Which groups each role gets, and why. */
static const struct {
	enum sandbox_role role;
	const char *name;
	unsigned groups;
} sandbox_roles[] = {
	/*
	 * Starts the other roles, passes them socketpairs, reaps them. An
	 * ingest role it restarts is forked under this filter and keeps it
	 * on top of its own, so it also allows what a new ingest role does
	 * before it enters its own: the loader, reading the configuration
	 * and profiles, locking a secret page.
	 */
	{ SANDBOX_ROLE_PARENT, "parent", SB_BASE | SB_SOCKETS | SB_MSG |
	    SB_SPAWN | SB_FILES | SB_SECRETS | SB_WATCH },
	/*
	 * The database, the audit mirror, the medium, the console socket,
	 * the worker and signer threads, and today the airlock-hsm helpers
	 * it starts at activation (execve; the parent role may take that
	 * over, and then SB_SPAWN goes from here).
	 */
	{ SANDBOX_ROLE_STORE, "store", SB_BASE | SB_FILES | SB_SECRETS |
	    SB_SOCKETS | SB_MSG | SB_THREADS | SB_SPAWN | SB_HANDOFF },
	/* Pure parsing: bytes in and verdicts out on its socketpair; the
	 * PKCS#12 password a manifest carries sits in locked memory. */
	{ SANDBOX_ROLE_INGEST, "ingest", SB_BASE | SB_MSG | SB_SECRETS },
	/* The PKCS#11 module: its token files, the PIN, its channel. */
	{ SANDBOX_ROLE_HSM, "hsm", SB_BASE | SB_FILES | SB_SECRETS | SB_MSG },
};

const char *
sandbox_role_name(enum sandbox_role role)
{
	size_t i;

	for (i = 0; i < sizeof(sandbox_roles) / sizeof(sandbox_roles[0]); i++)
		if (sandbox_roles[i].role == role)
			return sandbox_roles[i].name;
	return "unknown";
}

int
sandbox_harden(err_t *err)
{
	struct rlimit nocore = { 0, 0 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return err_set(err, ERR_IO, "cannot set no_new_privs: %s",
		    strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return err_set(err, ERR_IO, "cannot make the process "
		    "undumpable: %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		return err_set(err, ERR_IO, "cannot set RLIMIT_CORE to 0: %s",
		    strerror(errno));
	return 0;
}

int
sandbox_drop_user(const char *user, err_t *err)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (user == NULL)
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return err_set(err, ERR_NOTFOUND, "cannot run as user '%s': %s",
		    user, errno != 0 ? strerror(errno) : "no such user on "
		    "this host");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (getuid() == uid && geteuid() == uid)
			return 0;
		return err_set(err, ERR_PERM, "cannot run as user '%s': only "
		    "root can change user, and this process runs as uid %lu",
		    user, (unsigned long)geteuid());
	}
	if (uid == 0)
		return err_set(err, ERR_PERM, "user '%s' is root: name an "
		    "unprivileged user", user);
	/* Groups first: once the uid is gone, they cannot be changed. */
	if (initgroups(user, gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		return err_set(err, ERR_IO, "cannot become user '%s': %s", user,
		    strerror(errno));
	if (setuid(0) == 0 || getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid)
		return err_set(err, ERR_PERM, "dropping to user '%s' did not "
		    "hold: root can be regained", user);
	/* Changing credentials resets dumpable to fs.suid_dumpable: keep 0. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/*
 * One argument check. libseccomp's SCMP_An macros leave datum_b to
 * implicit zeroing, which clang's -Wmissing-field-initializers refuses.
 */
static struct scmp_arg_cmp
sandbox_arg(unsigned arg, enum scmp_compare op, scmp_datum_t a,
    scmp_datum_t b)
{
	struct scmp_arg_cmp c;

	c.arg = arg;
	c.op = op;
	c.datum_a = a;
	c.datum_b = b;
	return c;
}

static int
sandbox_allow(scmp_filter_ctx ctx, const char *name, uint32_t action,
    unsigned n, const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* Unknown to libseccomp, or a pseudo call absent on this arch. */
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

/*
 * clone for threads and children in our own namespaces only; clone3,
 * whose flags sit behind a pointer seccomp cannot read, says ENOSYS so
 * that glibc falls back to clone.
 */
static int
sandbox_allow_clone(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp no_ns = sandbox_arg(0, SCMP_CMP_MASKED_EQ,
	    CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, 0);

	return sandbox_allow(ctx, "clone3", SCMP_ACT_ERRNO(ENOSYS), 0, NULL) |
	    sandbox_allow(ctx, "clone", SCMP_ACT_ALLOW, 1, &no_ns);
}

/* The calls whose arguments decide. */
static int
sandbox_args(scmp_filter_ctx ctx, unsigned groups)
{
	const struct scmp_arg_cmp noexec =
	    sandbox_arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	const struct scmp_arg_cmp unix_only =
	    sandbox_arg(0, SCMP_CMP_EQ, AF_UNIX, 0);
	const struct scmp_arg_cmp no_addr = sandbox_arg(4, SCMP_CMP_EQ, 0, 0);
	const struct scmp_arg_cmp self =
	    sandbox_arg(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
	int r = 0;

	/*
	 * Executable mappings only where a new program is loaded: the
	 * dynamic loader of a spawned helper maps its libraries before the
	 * helper narrows its own filter. Elsewhere no page is ever made
	 * executable again after start-up.
	 */
	if (groups & SB_SPAWN) {
		r |= sandbox_allow(ctx, "mmap", SCMP_ACT_ALLOW, 0, NULL);
		r |= sandbox_allow(ctx, "mprotect", SCMP_ACT_ALLOW, 0, NULL);
	} else {
		r |= sandbox_allow(ctx, "mmap", SCMP_ACT_ALLOW, 1, &noexec);
		r |= sandbox_allow(ctx, "mprotect", SCMP_ACT_ALLOW, 1, &noexec);
	}
	/* abort() signals its own process; no other. */
	r |= sandbox_allow(ctx, "tgkill", SCMP_ACT_ALLOW, 1, &self);
	if (groups & SB_SOCKETS) {
		r |= sandbox_allow(ctx, "socket", SCMP_ACT_ALLOW, 1,
		    &unix_only);
		r |= sandbox_allow(ctx, "socketpair", SCMP_ACT_ALLOW, 1,
		    &unix_only);
	} else if (groups & SB_FILES) {
		/*
		 * A role that opens no socket itself may still run library
		 * code that tries to syslog (SoftHSM does on a failed login):
		 * that fails with EACCES instead of killing the role. Any
		 * other family is fatal.
		 */
		r |= sandbox_allow(ctx, "socket", SCMP_ACT_ERRNO(EACCES), 1,
		    &unix_only);
	}
	/*
	 * No role connects anywhere, but syslog(3) in library code tries
	 * /dev/log (SoftHSM logs a failed login), also in a helper the store
	 * starts, which inherits the store's filter: refuse, do not kill.
	 */
	if (groups & (SB_SOCKETS | SB_FILES))
		r |= sandbox_allow(ctx, "connect", SCMP_ACT_ERRNO(EACCES), 0,
		    NULL);
	/* send()/recv() on connected sockets: never to an address. */
	if (groups & (SB_SOCKETS | SB_MSG)) {
		r |= sandbox_allow(ctx, "sendto", SCMP_ACT_ALLOW, 1, &no_addr);
		r |= sandbox_allow(ctx, "recvfrom", SCMP_ACT_ALLOW, 1,
		    &no_addr);
	}
	/* Roles without threads or children get neither clone. */
	if (groups & (SB_THREADS | SB_SPAWN))
		r |= sandbox_allow_clone(ctx);
	return r;
}

/*
 * LeakSanitizer's check at exit (sanitizer builds only): a tracer made
 * with clone(CLONE_VM | CLONE_UNTRACED ...) attaches to every thread with
 * ptrace, reads their registers, and detaches; the process makes itself
 * dumpable for that moment and names the tracer with PR_SET_PTRACER. The
 * ptrace requests are the only ones allowed; PTRACE_TRACEME, POKE and
 * the like stay fatal.
 */
static int
sandbox_sanitizer(scmp_filter_ctx ctx, unsigned groups)
{
	static const long requests[] = {
		PTRACE_ATTACH, PTRACE_DETACH, PTRACE_GETREGS, PTRACE_GETREGSET,
		PTRACE_GETFPREGS, PTRACE_PEEKUSER, PTRACE_INTERRUPT,
		PTRACE_SEIZE, PTRACE_CONT
	};
	static const char *const calls[] = {
		"wait4", "prctl", "sigaltstack", "getppid", "sched_getaffinity",
		"getdents", "pipe2", "process_vm_readv"
	};
	/* It reads /proc/self/task and /proc/self/maps: read-only opens. */
	const struct scmp_arg_cmp rdonly_at =
	    sandbox_arg(2, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY);
	const struct scmp_arg_cmp rdonly =
	    sandbox_arg(1, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY);
	size_t i;
	int r = 0;

	if (!SANDBOX_SANITIZER)
		return 0;
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		struct scmp_arg_cmp req = sandbox_arg(0, SCMP_CMP_EQ,
		    (scmp_datum_t)requests[i], 0);

		r |= sandbox_allow(ctx, "ptrace", SCMP_ACT_ALLOW, 1, &req);
	}
	/* A report asks whether stderr is a terminal (for colours). */
	const struct scmp_arg_cmp tcgets =
	    sandbox_arg(1, SCMP_CMP_EQ, TCGETS, 0);

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		r |= sandbox_allow(ctx, calls[i], SCMP_ACT_ALLOW, 0, NULL);
	r |= sandbox_allow(ctx, "ioctl", SCMP_ACT_ALLOW, 1, &tcgets);
	if (!(groups & SB_FILES)) {
		r |= sandbox_allow(ctx, "openat", SCMP_ACT_ALLOW, 1, &rdonly_at);
		r |= sandbox_allow(ctx, "open", SCMP_ACT_ALLOW, 1, &rdonly);
		r |= sandbox_allow(ctx, "getdents64", SCMP_ACT_ALLOW, 0, NULL);
		/* The report's symbolizer finds and reads the binary. */
		r |= sandbox_allow(ctx, "readlink", SCMP_ACT_ALLOW, 0, NULL);
		r |= sandbox_allow(ctx, "fcntl", SCMP_ACT_ALLOW, 0, NULL);
	}
	if (!(groups & (SB_THREADS | SB_SPAWN)))
		r |= sandbox_allow_clone(ctx);
	return r;
}

int
sandbox_enter(enum sandbox_role role, err_t *err)
{
	scmp_filter_ctx ctx;
	unsigned groups = 0;
	size_t i;
	int r = 0, found = 0;

	for (i = 0; i < sizeof(sandbox_roles) / sizeof(sandbox_roles[0]); i++)
		if (sandbox_roles[i].role == role) {
			groups = sandbox_roles[i].groups;
			found = 1;
		}
	if (!found)
		return err_set(err, ERR_INVALID, "no sandbox for role %d",
		    (int)role);
	/* The C library reads the time zone (/etc/localtime) on first use
	 * of local time, and a role without SB_FILES could not: read it
	 * now, so that later calls find it loaded. */
	tzset();
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return err_set(err, ERR_NOMEM, "cannot build the %s role's "
		    "seccomp filter", sandbox_role_name(role));
	/* Every thread, including ones started before this call. */
	r |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; i < sizeof(sandbox_calls) / sizeof(sandbox_calls[0]); i++)
		if (sandbox_calls[i].groups & groups)
			r |= sandbox_allow(ctx, sandbox_calls[i].name,
			    SCMP_ACT_ALLOW, 0, NULL);
	r |= sandbox_args(ctx, groups);
	r |= sandbox_sanitizer(ctx, groups);
	if (r != 0) {
		seccomp_release(ctx);
		return err_set(err, ERR_INTERNAL, "cannot build the %s role's "
		    "seccomp filter (libseccomp refused a rule)",
		    sandbox_role_name(role));
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0)
		return err_set(err, ERR_IO, "the kernel refused the %s role's "
		    "seccomp filter: %s", sandbox_role_name(role),
		    strerror(-r));
	return 0;
}

int
sandbox_status(int pid, int *seccomp, int *nnp, err_t *err)
{
	char path[64], line[256];
	FILE *f;
	int got = 0;

	*seccomp = *nnp = -1;
	if (pid == 0)
		(void)snprintf(path, sizeof(path), "/proc/self/status");
	else
		(void)snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "re")) == NULL)
		return err_set(err, ERR_IO, "cannot read %s: %s", path,
		    strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Seccomp: %d", seccomp) == 1)
			got |= 1;
		else if (sscanf(line, "NoNewPrivs: %d", nnp) == 1)
			got |= 2;
	}
	(void)fclose(f);
	if (got != 3)
		return err_set(err, ERR_IO, "%s lacks the Seccomp or "
		    "NoNewPrivs line", path);
	return 0;
}
