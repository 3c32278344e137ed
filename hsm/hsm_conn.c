/* hsm_conn.c: spawning and talking to one airlock-hsm helper. */
#include "hsm/hsm_conn.h"
#include "hsm/hsm_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The descriptor the helper expects its channel on (see helper_main.c). */
#define CONN_HELPER_FD 3
/* Above any descriptor the child rearranges. */
#define CONN_SPARE_FD 10

struct hsm_conn {
	pid_t pid;
	int fd;
	uint32_t next_id;
	int dead;
	char path[4096];
	buf_t tx;
	buf_t rx;
};

extern char **environ;

/*
 * Runs in the child between fork and exec, so it only makes
 * async-signal-safe calls (the parent may have other threads).
 */
static void
conn_child(int sock, int devnull, const char *path, char *const argv[])
{
	int s;

	if ((s = fcntl(sock, F_DUPFD, CONN_SPARE_FD)) == -1 ||
	    dup2(devnull, 0) == -1 || dup2(s, CONN_HELPER_FD) == -1)
		_exit(126);
	closefrom(CONN_HELPER_FD + 1);
	execve(path, argv, environ);
	_exit(127);
}

int
hsm_conn_spawn(const char *path, struct hsm_conn **out, err_t *err)
{
	char *const argv[] = { (char *)(uintptr_t)"airlock-hsm", NULL };
	struct hsm_conn *c;
	int sv[2], devnull;
	pid_t pid;

	*out = NULL;
	if (path == NULL || access(path, X_OK) != 0)
		return err_set(err, ERR_NOTFOUND, "HSM helper %s is missing or "
		    "not executable; install airlock-hsm next to airlock",
		    path ? path : "(none)");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	(void)snprintf(c->path, sizeof(c->path), "%s", path);
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		free(c);
		return err_set(err, ERR_IO, "cannot open /dev/null: %s",
		    strerror(errno));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		close(devnull);
		free(c);
		return err_set(err, ERR_IO, "socketpair for the HSM helper: %s",
		    strerror(errno));
	}
	if ((pid = fork()) == -1) {
		close(devnull);
		close(sv[0]);
		close(sv[1]);
		free(c);
		return err_set(err, ERR_IO, "cannot start the HSM helper: %s",
		    strerror(errno));
	}
	if (pid == 0)
		conn_child(sv[1], devnull, c->path, argv);
	close(devnull);
	close(sv[1]);
	c->pid = pid;
	c->fd = sv[0];
	c->next_id = 1;
	/* Frames may carry a PIN: wipe them whenever they are reused. */
	buf_init(&c->tx, HSM_PROTO_HDR + HSM_PROTO_MAX);
	buf_set_secret(&c->tx);
	buf_init(&c->rx, HSM_PROTO_HDR + HSM_PROTO_MAX);
	buf_set_secret(&c->rx);
	*out = c;
	return 0;
}

/* Stops using a helper that failed and says why, as ERR_HSM. */
static int
conn_died(struct hsm_conn *c, const char *why, err_t *err)
{
	char status[160] = "";
	int st = 0;
	pid_t w;

	if (!c->dead) {
		c->dead = 1;
		close(c->fd);
		c->fd = -1;
		/* Closing the channel makes a live helper exit too. */
		while ((w = waitpid(c->pid, &st, 0)) == -1 && errno == EINTR)
			;
		if (w != c->pid)
			(void)snprintf(status, sizeof(status), "; its exit "
			    "status is unknown");
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			(void)snprintf(status, sizeof(status), "; %.100s could not "
			    "be executed", c->path);
		else if (WIFEXITED(st))
			(void)snprintf(status, sizeof(status), "; it exited "
			    "with status %d", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			(void)snprintf(status, sizeof(status), "; it was "
			    "killed by signal %d", WTERMSIG(st));
		c->pid = -1;
	}
	return err_set(err, ERR_HSM, "the HSM helper failed (%s)%s", why,
	    status);
}

int
hsm_conn_call(struct hsm_conn *c, uint8_t type, const buf_t *req,
    buf_t *reply, err_t *err)
{
	err_t ioerr;
	uint8_t rtype;
	uint32_t id, rid;
	int r, eof;

	if (c->dead)
		return err_set(err, ERR_HSM, "the HSM helper has stopped; "
		    "reopen the HSM session");
	id = c->next_id++;
	if (hsm_proto_encode(&c->tx, type, id, req->data, req->len) != 0)
		return err_set(err, ERR_LIMIT, "HSM request too large");
	r = hsm_proto_write(c->fd, &c->tx, &ioerr);
	buf_reset(&c->tx);
	if (r != 0)
		return conn_died(c, ioerr.msg, err);
	if (hsm_proto_read(c->fd, &c->rx, &eof, &ioerr) != 0)
		return conn_died(c, eof ? "it closed the channel" : ioerr.msg,
		    err);
	if (hsm_proto_decode(c->rx.data, c->rx.len, hsm_proto_is_reply,
	    &rtype, &rid, reply, &ioerr) != 0)
		return conn_died(c, ioerr.msg, err);
	if (rid != id)
		return conn_died(c, "reply to the wrong request", err);
	if (rtype == HSM_MSG_ERR) {
		r = hsm_proto_get_error(reply, err);
		if (r == ERR_PROTO)
			return conn_died(c, err->msg, err);
		return r;
	}
	return 0;
}

void
hsm_conn_close(struct hsm_conn *c)
{
	if (c == NULL)
		return;
	if (!c->dead) {
		close(c->fd);
		while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	buf_free(&c->tx);
	buf_free(&c->rx);
	free(c);
}
