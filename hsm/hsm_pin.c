/* hsm_pin.c: reading PINs from a terminal, a descriptor or a file. */
#include "hsm/hsm_pin.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* Signals that would otherwise leave the terminal with echo turned off. */
static const int pin_signals[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP };
#define PIN_NSIGNALS (sizeof(pin_signals) / sizeof(pin_signals[0]))

static volatile sig_atomic_t pin_caught;

static void
pin_on_signal(int sig)
{
	pin_caught = sig;
}

/*
 * Checks the bytes read into out: no NUL (libp11 takes C strings, so a NUL
 * would silently shorten the PIN), one trailing newline removed, not empty.
 */
static int
pin_finish(secret_t *out, size_t n, const char *what, err_t *err)
{
	if (n > 0 && out->data[n - 1] == '\n')
		n--;
	out->data[n] = '\0';
	out->len = n;
	if (n == 0) {
		secret_wipe(out);
		return err_set(err, ERR_INVALID, "the %s is empty", what);
	}
	if (memchr(out->data, '\0', n) != NULL) {
		secret_wipe(out);
		return err_set(err, ERR_INVALID, "the %s contains a NUL byte",
		    what);
	}
	return 0;
}

/* Reads until EOF (or until a newline when stop_at_newline) into out. */
static int
pin_read_fd(int fd, int stop_at_newline, const char *what, const char *src,
    secret_t *out, size_t *np, err_t *err)
{
	size_t n = 0, max = out->cap < HSM_PIN_MAX + 2 ? out->cap :
	    HSM_PIN_MAX + 2;

	secret_wipe(out);
	for (;;) {
		if (n == max) {
			secret_wipe(out);
			return err_set(err, ERR_LIMIT, "the %s from %s is longer "
			    "than %d bytes", what, src, HSM_PIN_MAX);
		}
		ssize_t r = read(fd, out->data + n,
		    stop_at_newline ? 1 : max - n);

		if (r < 0 && errno == EINTR && !pin_caught)
			continue;
		if (r < 0) {
			int e = errno;

			secret_wipe(out);
			if (e == EINTR)
				return err_set(err, ERR_IO, "reading the %s was "
				    "interrupted", what);
			return err_set(err, ERR_IO, "cannot read the %s from "
			    "%s: %s", what, src, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (stop_at_newline && out->data[n - 1] == '\n')
			break;
	}
	/* A PIN may exceed HSM_PIN_MAX only by its trailing newline. */
	if (n > HSM_PIN_MAX &&
	    n > HSM_PIN_MAX + (out->data[n - 1] == '\n' ? 1u : 0u)) {
		secret_wipe(out);
		return err_set(err, ERR_LIMIT, "the %s from %s is longer than "
		    "%d bytes", what, src, HSM_PIN_MAX);
	}
	*np = n;
	return 0;
}

static int
pin_from_tty(const char *what, secret_t *out, err_t *err)
{
	struct sigaction sa, old[PIN_NSIGNALS];
	struct termios saved, noecho;
	char prompt[256];
	size_t n = 0, i;
	int fd, r, plen;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return err_set(err, ERR_INVALID, "no terminal to prompt for the "
		    "%s; use --pin fd:N or file:PATH", what);
	if (tcgetattr(fd, &saved) == -1) {
		close(fd);
		return err_set(err, ERR_INVALID, "no terminal to prompt for the "
		    "%s; use --pin fd:N or file:PATH", what);
	}
	plen = snprintf(prompt, sizeof(prompt), "Enter %s: ", what);
	if (plen < 0 || (size_t)plen >= sizeof(prompt))
		plen = (int)strlen(prompt);
	/*
	 * Catch terminating signals while echo is off so that we restore the
	 * terminal first and then re-deliver the signal.
	 */
	pin_caught = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pin_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < PIN_NSIGNALS; i++)
		(void)sigaction(pin_signals[i], &sa, &old[i]);
	noecho = saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	noecho.c_lflag |= ECHONL | ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &noecho) == -1) {
		r = err_set(err, ERR_IO, "cannot turn off echo on the terminal: "
		    "%s", strerror(errno));
	} else {
		if (write(fd, prompt, (size_t)plen) < 0)
			r = err_set(err, ERR_IO, "cannot write the prompt: %s",
			    strerror(errno));
		else
			r = pin_read_fd(fd, 1, what, "the terminal", out, &n,
			    err);
		(void)tcsetattr(fd, TCSAFLUSH, &saved);
	}
	for (i = 0; i < PIN_NSIGNALS; i++)
		(void)sigaction(pin_signals[i], &old[i], NULL);
	close(fd);
	if (pin_caught) {
		secret_wipe(out);
		(void)raise(pin_caught);
		return err_set(err, ERR_IO, "interrupted while reading the %s",
		    what);
	}
	if (r != 0)
		return r;
	return pin_finish(out, n, what, err);
}

static int
pin_from_fd(const char *num, const char *what, secret_t *out, err_t *err)
{
	char src[32];
	char *end;
	long v;
	size_t n;
	int r;

	errno = 0;
	if (num[0] < '0' || num[0] > '9')
		return err_set(err, ERR_INVALID, "bad PIN source: expected "
		    "fd:N with N a descriptor number");
	v = strtol(num, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX ||
	    (num[0] == '0' && num[1] != '\0'))
		return err_set(err, ERR_INVALID, "bad PIN source: expected "
		    "fd:N with N a descriptor number");
	(void)snprintf(src, sizeof(src), "descriptor %ld", v);
	if (fcntl((int)v, F_GETFD) == -1)
		return err_set(err, ERR_INVALID, "PIN source fd:%ld: descriptor "
		    "%ld is not open", v, v);
	if ((r = pin_read_fd((int)v, 0, what, src, out, &n, err)) != 0)
		return r;
	return pin_finish(out, n, what, err);
}

static int
pin_from_file(const char *path, const char *what, secret_t *out, err_t *err)
{
	size_t n;
	int fd, r;

	if (*path == '\0')
		return err_set(err, ERR_INVALID, "bad PIN source 'file:': "
		    "expected file:PATH");
	/* O_NONBLOCK so that a FIFO planted under the name cannot hang us. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY);
	if (fd == -1) {
		if (errno == ELOOP)
			return err_set(err, ERR_PERM, "PIN file %s is a "
			    "symbolic link; give the real file", path);
		return err_set(err, ERR_IO, "cannot open PIN file %s: %s",
		    path, strerror(errno));
	}
	if ((r = fileio_check_private_fd(fd, path, err)) != 0) {
		close(fd);
		return r;
	}
	r = pin_read_fd(fd, 0, what, path, out, &n, err);
	close(fd);
	if (r != 0)
		return r;
	return pin_finish(out, n, what, err);
}

int
hsm_pin_read(const char *spec, const char *what, secret_t *out, err_t *err)
{
	if (out == NULL || out->data == NULL)
		return err_set(err, ERR_INTERNAL, "hsm_pin_read: no secret");
	if (what == NULL)
		what = "PIN";
	secret_wipe(out);
	if (spec == NULL || *spec == '\0')
		return err_set(err, ERR_INVALID, "no PIN source given; use "
		    "prompt, fd:N or file:PATH");
	if (strcmp(spec, "prompt") == 0)
		return pin_from_tty(what, out, err);
	if (strncmp(spec, "fd:", 3) == 0)
		return pin_from_fd(spec + 3, what, out, err);
	if (strncmp(spec, "file:", 5) == 0)
		return pin_from_file(spec + 5, what, out, err);
	/* The spec is not echoed: it might be a PIN typed by mistake. */
	return err_set(err, ERR_INVALID, "bad PIN source: use prompt, fd:N or "
	    "file:PATH (PINs are never taken from the command line, "
	    "configuration or environment)");
}
