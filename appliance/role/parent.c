/* parent.c: airlockd's parent process (parent.h). */
#include "role/parent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "role/rolemsg.h"

/* Above the descriptors a child rearranges. */
#define PARENT_SPARE_FD 10
/*
 * An ingest role that lived less than PARENT_QUICK_S is restarted after a
 * pause that doubles with each such end, up to PARENT_PAUSE_MAX_S, so that
 * a role that cannot start does not spin.
 */
#define PARENT_QUICK_S 5
#define PARENT_PAUSE_MAX_S 60

/* What the store may send the parent. */
static const struct rolemsg_rule parent_from_store[] = {
	{ ROLEMSG_LOST, 1u, 0, 4 + 4 + ROLEMSG_TEXT_MAX },
};

struct parent {
	const char *config;
	pid_t self;
	pid_t store, ingest;
	int ctl;		/* to the store role; -1 once closed */
	uint32_t gen;		/* the ingest role's generation */
	time_t ingest_started;
	unsigned quick;		/* ingest roles in a row that ended quickly */
	int stopping;
	int store_status;
	buf_t rx;
};

extern char **environ;

/*
 * The child's side of fork: dies with the parent, takes its channels at
 * ROLE_FD_CHAN (and ROLE_FD_INGEST), nothing else, and executes the same
 * binary as role. Only async-signal-safe calls.
 */
static void
parent_child(pid_t parent, const char *role, const char *config, int a,
    int b)
{
	char *const argv[] = { (char *)(uintptr_t)"airlockd",
	    (char *)(uintptr_t)"--role", (char *)(uintptr_t)role,
	    (char *)(uintptr_t)"--config", (char *)(uintptr_t)config, NULL };
	sigset_t none;
	int sa, sb = -1;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    getppid() != parent)
		_exit(126);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0 ||
	    (sa = fcntl(a, F_DUPFD, PARENT_SPARE_FD)) == -1 ||
	    (b != -1 && (sb = fcntl(b, F_DUPFD, PARENT_SPARE_FD)) == -1) ||
	    dup2(sa, ROLE_FD_CHAN) == -1 ||
	    (sb != -1 && dup2(sb, ROLE_FD_INGEST) == -1))
		_exit(126);
	closefrom(sb != -1 ? ROLE_FD_INGEST + 1 : ROLE_FD_CHAN + 1);
	execve("/proc/self/exe", argv, environ);
	_exit(127);
}

static pid_t
parent_spawn(struct parent *p, const char *role, int a, int b)
{
	pid_t pid = fork();

	if (pid == 0)
		parent_child(p->self, role, p->config, a, b);
	if (pid == -1)
		fprintf(stderr, "airlockd: parent: cannot start the %s role: "
		    "%s\n", role, strerror(errno));
	return pid;
}

/* A new ingest role; *store_end gets the store's end of its channel. */
static int
parent_start_ingest(struct parent *p, int *store_end)
{
	int sv[2];

	*store_end = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		fprintf(stderr, "airlockd: parent: socketpair: %s\n",
		    strerror(errno));
		return -1;
	}
	p->ingest = parent_spawn(p, "ingest", sv[1], -1);
	close(sv[1]);
	if (p->ingest == -1) {
		close(sv[0]);
		return -1;
	}
	p->ingest_started = time(NULL);
	*store_end = sv[0];
	return 0;
}

/* How a child ended, in words. */
static void
parent_describe(int st, char *out, size_t outsz)
{
	if (WIFSIGNALED(st))
		snprintf(out, outsz, "killed by signal %d, %s", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st))
		snprintf(out, outsz, "exited with status %d",
		    WEXITSTATUS(st));
	else
		snprintf(out, outsz, "ended (status %#x)", (unsigned)st);
}

/* Starts the next ingest role and hands it to the store. */
static void
parent_replace_ingest(struct parent *p, const char *ended)
{
	buf_t m;
	err_t e;
	int fd, gone;

	if (time(NULL) - p->ingest_started < PARENT_QUICK_S) {
		unsigned pause = p->quick < 6 ? 1u << p->quick :
		    PARENT_PAUSE_MAX_S;

		p->quick++;
		sleep(pause < PARENT_PAUSE_MAX_S ? pause : PARENT_PAUSE_MAX_S);
	} else {
		p->quick = 0;
	}
	if (parent_start_ingest(p, &fd) != 0)
		return;
	p->gen++;
	fprintf(stderr, "airlockd: parent: ingest role %u (pid %ld) replaces "
	    "the one that %s\n", (unsigned)p->gen, (long)p->ingest, ended);
	buf_init(&m, 8 + ROLEMSG_TEXT_MAX);
	(void)buf_put_u32(&m, p->gen);
	(void)buf_put_cstring(&m, ended);
	if (p->ctl != -1 && rolemsg_send(p->ctl, ROLEMSG_INGEST, &m, fd, &gone,
	    &e) != 0)
		fprintf(stderr, "airlockd: parent: %s\n", e.msg);
	buf_free(&m);
	close(fd);
}

static void
parent_reap(struct parent *p)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		char how[160];

		parent_describe(st, how, sizeof(how));
		if (pid == p->store) {
			p->store = -1;
			p->store_status = st;
			if (!p->stopping)
				fprintf(stderr, "airlockd: parent: the store "
				    "role %s; stopping\n", how);
			/* SIGKILL: the ingest role holds nothing that
			 * needs a clean end, and a stuck (stopped,
			 * looping) one would never act on SIGTERM. */
			if (p->ingest > 0)
				(void)kill(p->ingest, SIGKILL);
		} else if (pid == p->ingest) {
			p->ingest = -1;
			if (!p->stopping && p->store > 0) {
				fprintf(stderr, "airlockd: parent: the ingest "
				    "role %s\n", how);
				parent_replace_ingest(p, how);
			}
		}
	}
}

/* A message from the store: only LOST, which ends that ingest role. */
static void
parent_from_store_msg(struct parent *p)
{
	uint8_t type;
	uint32_t gen;
	buf_t m;
	err_t e;
	char *why = NULL;
	int fd, eof;

	if (rolemsg_recv(p->ctl, &p->rx, &fd, 0, &eof, &e) != 0 ||
	    rolemsg_decode(p->rx.data, p->rx.len, &type, &m, &e) != 0 ||
	    rolemsg_check(parent_from_store, 1, 1u, type, fd != -1,
	    buf_avail(&m), "store", &e) != 0 || buf_get_u32(&m, &gen) != 0 ||
	    rolemsg_get_text(&m, &why, ROLEMSG_TEXT_MAX, &e) != 0) {
		if (!eof)
			fprintf(stderr, "airlockd: parent: %s; no longer "
			    "listening to the store role\n", e.msg);
		if (fd != -1)
			close(fd);
		close(p->ctl);
		p->ctl = -1;
		return;
	}
	if (gen == p->gen && p->ingest > 0) {
		fprintf(stderr, "airlockd: parent: the store gives up ingest "
		    "role %u: %s\n", (unsigned)gen, why);
		(void)kill(p->ingest, SIGKILL);
	}
	free(why);
}

int
role_parent_main(const char *config_path)
{
	struct parent p;
	sigset_t set;
	int sfd, ctl[2], chan, r;
	err_t e;

	memset(&p, 0, sizeof(p));
	p.config = config_path;
	p.self = getpid();
	p.store = p.ingest = -1;
	p.gen = 1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1) {
		fprintf(stderr, "airlockd: parent: signals: %s\n",
		    strerror(errno));
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) == -1) {
		fprintf(stderr, "airlockd: parent: socketpair: %s\n",
		    strerror(errno));
		return 1;
	}
	if (parent_start_ingest(&p, &chan) != 0)
		return 1;
	p.store = parent_spawn(&p, "store", ctl[1], chan);
	close(ctl[1]);
	close(chan);
	if (p.store == -1) {
		(void)kill(p.ingest, SIGKILL);
		return 1;
	}
	p.ctl = ctl[0];
	buf_init(&p.rx, ROLEMSG_HDR + ROLEMSG_MAX);
	fprintf(stderr, "airlockd: parent: store role pid %ld, ingest role "
	    "pid %ld\n", (long)p.store, (long)p.ingest);
	if (role_harden(SANDBOX_ROLE_PARENT, &e) != 0) {
		/* Not without the sandbox: the roles go with the parent. */
		fprintf(stderr, "airlockd: parent: %s\n", e.msg);
		(void)kill(p.store, SIGKILL);
		(void)kill(p.ingest, SIGKILL);
		return 1;
	}
	while (p.store > 0 || p.ingest > 0) {
		struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { p.ctl, POLLIN, 0 } };
		struct signalfd_siginfo si;

		if (poll(pf, p.ctl != -1 ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((pf[0].revents & POLLIN) != 0 &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				p.stopping = 1;
				if (p.store > 0)
					(void)kill(p.store, SIGTERM);
				else if (p.ingest > 0)
					(void)kill(p.ingest, SIGKILL);
			}
			parent_reap(&p);
			continue;
		}
		if (p.ctl != -1 && (pf[1].revents & (POLLIN | POLLHUP)) != 0)
			parent_from_store_msg(&p);
	}
	buf_free(&p.rx);
	if (p.ctl != -1)
		close(p.ctl);
	close(sfd);
	r = p.stopping && WIFEXITED(p.store_status) &&
	    WEXITSTATUS(p.store_status) == 0 ? 0 : 1;
	return r;
}
