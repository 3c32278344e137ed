/*
 * airlockd.c: the appliance daemon (docs/man/airlockd.8).
 *
 *   airlockd --config FILE          serve until SIGTERM or SIGINT
 *   airlockd --config FILE --check  load configuration and state, report,
 *                                   exit (0 when the daemon would start)
 *
 * Serving, this process is the parent (role/parent.h): it re-executes
 * itself as `--role store` (the console socket, the state, the worker
 * and the HSM helpers: everything below) and `--role ingest` (bundles
 * from the medium: role/ingest.h), and watches both. --check runs in
 * this one process.
 *
 * It starts not activated: it reads nothing from the medium and signs
 * nothing until an officer runs `airlock activate`. Exit codes: 0 after a
 * clean stop, 1 when it cannot start (the message says why), 2 usage.
 *
 * Before it reads anything it hardens itself (util/sandbox.h), becomes the
 * configured `user:` when started as root, and once its database, audit
 * log and profiles are open it runs under the store role's seccomp filter
 * for the rest of its life, worker and signer threads included.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon/audit.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "role/ingest.h"
#include "role/parent.h"
#include "role/rolelink.h"
#include "role/rolemsg.h"
#include "util/sandbox.h"

/* sig_atomic_t is int here, so daemon_serve can poll it directly. */
static volatile sig_atomic_t airlockd_stop;

static void
airlockd_on_signal(int sig)
{
	(void)sig;
	airlockd_stop = 1;
}

static void
airlockd_usage(FILE *f)
{
	fprintf(f, "usage: airlockd --config FILE [--check]\n"
	    "See airlockd(8).\n");
}

/* 1 when fd is a socket the parent left for this role (made CLOEXEC). */
static int
airlockd_role_fd(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/*
 * Becomes the configuration's `user:` before any state file is opened, so
 * that every file the daemon creates belongs to that user. Reads the
 * configuration for that alone; daemon_open reads it again. 0, or what
 * config_load or sandbox_drop_user returned (diag and e say why).
 */
static int
airlockd_drop(const char *config, diag_t *diag, err_t *e)
{
	struct config cfg;
	int r;

	if ((r = config_load(config, &cfg, diag, e)) != 0)
		return r;
	r = sandbox_drop_user(cfg.user, e);
	config_free(&cfg);
	return r;
}

/*
 * Root without `user:` is allowed so that a test host or a container can
 * run the daemon as it is, but said loudly at every start, on stderr and
 * in the audit log: the seccomp filter still holds, yet root keeps its
 * capabilities inside it (it can read and write any file it can name).
 */
static void
airlockd_warn_root(struct daemon *d)
{
	if (geteuid() != 0)
		return;
	fprintf(stderr, "airlockd: WARNING: running as root; set `user:` in "
	    "%s or User= in the systemd unit (docs/deploy.md)\n",
	    d->cfg.path);
	event_emit(daemon_event, daemon_sink(d), "daemon-as-root", EVENT_OK,
	    NULL, NULL, NULL, "running as root: no unprivileged user "
	    "configured");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa;
	const char *config = NULL, *role = NULL;
	struct daemon d;
	diag_t diag;
	err_t e;
	int c, check = 0, r;

	/* PINs and device keys pass through this process: no core, no
	 * ptrace by other users, files private by default. */
	err_clear(&e);
	if (sandbox_harden(&e) != 0) {
		fprintf(stderr, "airlockd: %s\n", e.msg);
		return 1;
	}
	umask(077);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'k':
			check = 1;
			break;
		case 'r':
			role = optarg;
			break;
		case 'h':
			airlockd_usage(stdout);
			return 0;
		default:
			airlockd_usage(stderr);
			return 2;
		}
	}
	if (config == NULL || optind != argc || (role != NULL && (check ||
	    (strcmp(role, "store") != 0 && strcmp(role, "ingest") != 0)))) {
		airlockd_usage(stderr);
		return 2;
	}
	/* Every role, and --check, runs as the configured user: the parent
	 * drops first, so its children never were root. */
	diag_init(&diag);
	err_clear(&e);
	if ((r = airlockd_drop(config, &diag, &e)) != 0) {
		diag_print(&diag, stderr, "airlockd: ");
		fprintf(stderr, "airlockd: %s\n", e.msg);
		diag_free(&diag);
		return 1;
	}
	diag_free(&diag);
	if (role == NULL && !check)
		return role_parent_main(config);
	if (role != NULL && (!airlockd_role_fd(ROLE_FD_CHAN) ||
	    (strcmp(role, "store") == 0 && !airlockd_role_fd(ROLE_FD_INGEST)))) {
		fprintf(stderr, "airlockd: --role %s runs only under the "
		    "airlockd parent\n", role);
		return 2;
	}
	if (role != NULL && strcmp(role, "ingest") == 0) {
		signal(SIGPIPE, SIG_IGN);
		return role_ingest_main(ROLE_FD_CHAN, config);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = airlockd_on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	diag_init(&diag);
	err_clear(&e);
	if ((r = daemon_open(&d, config, &diag, &e)) != 0) {
		diag_print(&diag, stderr, "airlockd: ");
		fprintf(stderr, "airlockd: %s\n", e.msg);
		diag_free(&diag);
		daemon_close(&d);
		return 1;
	}
	diag_free(&diag);
	fprintf(stderr, "airlockd: state %s, medium %s, %zu profiles, %zu "
	    "CAs; console socket %s\n", d.db_path, d.cfg.media_dir,
	    d.profiles.n, d.n_cas, d.cfg.socket_path);
	if (check) {
		if (geteuid() == 0)
			fprintf(stderr, "airlockd: WARNING: would run as root; "
			    "set `user:` (docs/deploy.md)\n");
		daemon_close(&d);
		return 0;
	}
	airlockd_warn_root(&d);
	/* Configuration, database, audit log and profiles are loaded: from
	 * here on, on every thread, only the store role's calls work. */
	if ((r = role_link_new(ROLE_FD_INGEST, ROLE_FD_CHAN, &d.ingest,
	    &e)) != 0 || (r = role_harden(SANDBOX_ROLE_STORE, &e)) != 0) {
		fprintf(stderr, "airlockd: %s\n", e.msg);
		daemon_close(&d);
		return 1;
	}
	if ((r = daemon_worker_start(&d, &e)) == 0) {
		fprintf(stderr, "airlockd: ready; not activated (airlock "
		    "activate)\n");
		event_emit(daemon_event, daemon_sink(&d), "daemon-start",
		    EVENT_OK, NULL, NULL, NULL, "config %s", config);
		r = daemon_serve(&d, &airlockd_stop, &e);
	}
	if (r != 0)
		fprintf(stderr, "airlockd: %s\n", e.msg);
	event_emit(daemon_event, daemon_sink(&d), "daemon-stop", EVENT_OK,
	    NULL, NULL, NULL, "%s", r == 0 ? "on signal" : e.msg);
	/* The last records are signed before the keys go. */
	daemon_worker_stop(&d);
	pthread_rwlock_rdlock(&d.keys_lock);
	(void)daemon_checkpoint(&d, d.st, "shutdown");
	pthread_rwlock_unlock(&d.keys_lock);
	daemon_close(&d);
	return r == 0 ? 0 : 1;
}
