/*
 * server.c: the console socket.
 *
 * A Unix stream socket (mode 0660; put it in a directory only the
 * console's group can enter). Every connection's peer credentials
 * (SO_PEERCRED) are checked against console_users before a byte is read;
 * a request is at most CTL_REQUEST_MAX bytes and must arrive within
 * SERVER_TIMEOUT seconds, so a stuck or hostile client cannot hold the
 * daemon. One request and one reply per connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/cmd_share.h"
#include "daemon/daemon.h"

#define SERVER_TIMEOUT 10

static int
server_listen(const char *path, err_t *err)
{
	struct sockaddr_un sa;
	struct stat sb;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, ERR_LIMIT, "socket path %s is too long",
		    path);
	/* A stale socket from a killed daemon goes; anything else stays. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return err_set(err, ERR_EXISTS, "%s exists and is not "
			    "a socket; not touching it", path);
		if (unlink(path) != 0)
			return err_set(err, ERR_IO, "remove stale socket %s: "
			    "%s", path, strerror(errno));
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(err, ERR_IO, "socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 16) != 0) {
		int e = errno;

		umask(old);
		close(fd);
		return err_set(err, ERR_IO, "listen on %s: %s", path,
		    strerror(e));
	}
	umask(old);
	return fd;
}

static void
server_client(struct daemon *d, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct timeval tv = { SERVER_TIMEOUT, 0 };
	struct ctl_msg req, reply;
	err_t e;

	err_clear(&e);
	ctl_msg_init_secret(&req, CTL_REQUEST_MAX);
	ctl_msg_init(&reply, CTL_REPLY_MAX);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    len != sizeof(cred)) {
		err_set(&e, ERR_PERM, "cannot read the peer's credentials");
		(void)ctl_reply_err(&reply, ERR_PERM, &e);
	} else if (!config_user_allowed(&d->cfg, cred.uid)) {
		char object[64], who[32];

		snprintf(object, sizeof(object), "uid=%u pid=%d",
		    (unsigned)cred.uid, (int)cred.pid);
		snprintf(who, sizeof(who), "uid %u", (unsigned)cred.uid);
		event_emit(daemon_event, daemon_sink(d), "console-refused",
		    EVENT_REFUSED, NULL, who, object, "not among "
		    "console_users of %s", d->cfg.path);
		err_set(&e, ERR_PERM, "uid %u may not use this console (see "
		    "console_users in %s)", (unsigned)cred.uid, d->cfg.path);
		(void)ctl_reply_err(&reply, ERR_PERM, &e);
	} else if (ctl_recv(fd, CTL_REQUEST_MAX, &req, &e) != 0) {
		/* A malformed request ends the connection; say why once. */
		event_emit(daemon_event, daemon_sink(d), "console-refused", EVENT_REFUSED,
		    NULL, NULL, NULL, "%s", e.msg);
		(void)ctl_reply_err(&reply, ERR_PROTO, &e);
	} else {
		daemon_command(d, cred.uid, &req, &reply);
	}
	(void)ctl_send(fd, &reply, &e);
	ctl_msg_free(&req);
	ctl_msg_free(&reply);
}

int
daemon_serve(struct daemon *d, const volatile int *stop, err_t *err)
{
	int lfd;

	if ((lfd = server_listen(d->cfg.socket_path, err)) < 0)
		return lfd;
	while (!*stop) {
		struct pollfd p = { lfd, POLLIN, 0 };
		int n = poll(&p, 1, 500), cfd;

		if (n < 0 && errno != EINTR) {
			close(lfd);
			return err_set(err, ERR_IO, "poll: %s",
			    strerror(errno));
		}
		/* Shares held past their time are wiped even when idle. */
		cmd_share_tick(d, time(NULL));
		if (n <= 0)
			continue;
		if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		server_client(d, cfd);
		close(cfd);
	}
	close(lfd);
	(void)unlink(d->cfg.socket_path);
	return 0;
}
