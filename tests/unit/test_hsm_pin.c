/* test_hsm_pin.c: PIN sources (fd, file) and their refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsm/hsm_pin.h"
#include "testutil.h"

static char dir[PATH_MAX];
static secret_t *s;

static int
setup(void **state)
{
	(void)state;
	if (testutil_tmpdir(dir, sizeof(dir), "pin-test") != 0 ||
	    secret_new(&s) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	secret_free(s);
	return testutil_rmtree(dir);
}

static void
write_file(const char *name, const char *data, size_t len, mode_t mode,
    char *path, size_t pathsz)
{
	int fd;

	snprintf(path, pathsz, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_fd(void **state)
{
	char spec[32];
	int p[2];
	err_t err;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "1234\n", 5), 5);
	close(p[1]);
	snprintf(spec, sizeof(spec), "fd:%d", p[0]);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), 0);
	assert_int_equal(s->len, 4);
	assert_string_equal((char *)s->data, "1234");
	close(p[0]);

	/* Only one newline is stripped. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "ab\n\n", 4), 4);
	close(p[1]);
	snprintf(spec, sizeof(spec), "fd:%d", p[0]);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), 0);
	assert_int_equal(s->len, 3);
	assert_memory_equal(s->data, "ab\n", 3);
	close(p[0]);

	/* Empty. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "\n", 1), 1);
	close(p[1]);
	snprintf(spec, sizeof(spec), "fd:%d", p[0]);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), ERR_INVALID);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(s->len, 0);
	close(p[0]);

	/* Closed descriptor. */
	assert_int_equal(hsm_pin_read("fd:987", "user PIN", s, &err),
	    ERR_INVALID);
}

static void
test_fd_too_long(void **state)
{
	char spec[32], big[HSM_PIN_MAX + 2];
	int p[2];
	err_t err;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], big, HSM_PIN_MAX), HSM_PIN_MAX);
	assert_int_equal(write(p[1], "\n", 1), 1);
	close(p[1]);
	snprintf(spec, sizeof(spec), "fd:%d", p[0]);
	assert_int_equal(hsm_pin_read(spec, "PIN", s, &err), 0);
	assert_int_equal(s->len, HSM_PIN_MAX);
	close(p[0]);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], big, sizeof(big)), (ssize_t)sizeof(big));
	close(p[1]);
	snprintf(spec, sizeof(spec), "fd:%d", p[0]);
	assert_int_equal(hsm_pin_read(spec, "PIN", s, &err), ERR_LIMIT);
	assert_int_equal(s->len, 0);
	close(p[0]);
}

static void
test_file(void **state)
{
	char path[PATH_MAX + 32], spec[PATH_MAX + 64], link[PATH_MAX + 32];
	err_t err;

	(void)state;
	write_file("ok", "s3cret\n", 7, 0600, path, sizeof(path));
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), 0);
	assert_string_equal((char *)s->data, "s3cret");
	assert_int_equal(s->len, 6);

	write_file("ok400", "pin", 3, 0400, path, sizeof(path));
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), 0);
	assert_string_equal((char *)s->data, "pin");

	write_file("open", "s3cret\n", 7, 0644, path, sizeof(path));
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), ERR_PERM);
	assert_null(strstr(err.msg, "s3cret"));
	assert_int_equal(s->len, 0);

	write_file("group", "s3cret\n", 7, 0640, path, sizeof(path));
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), ERR_PERM);

	write_file("empty", "", 0, 0600, path, sizeof(path));
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), ERR_INVALID);

	write_file("nul", "ab\0cd", 5, 0600, path, sizeof(path));
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), ERR_INVALID);

	write_file("target", "s3cret\n", 7, 0600, path, sizeof(path));
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	snprintf(spec, sizeof(spec), "file:%s", link);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), ERR_PERM);
	assert_non_null(strstr(err.msg, "symbolic link"));

	snprintf(spec, sizeof(spec), "file:%s", dir);
	assert_int_not_equal(hsm_pin_read(spec, "user PIN", s, &err), 0);
	snprintf(spec, sizeof(spec), "file:%s/missing", dir);
	assert_int_equal(hsm_pin_read(spec, "user PIN", s, &err), ERR_IO);
}

static void
test_bad_specs(void **state)
{
	static const char *const bad[] = {
		"", "1234", "env:PIN", "fd:", "fd:-1", "fd:x", "fd:3x",
		"fd:01", "fd:99999999999", "file:", "FILE:/x", "prompt ",
		"pin:1234",
	};
	err_t err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (hsm_pin_read(bad[i], "PIN", s, &err) != ERR_INVALID)
			fail_msg("spec '%s' was not refused", bad[i]);
		/* A spec might be a PIN typed by mistake: never echo it. */
		if (strchr(bad[i], '1') != NULL)
			assert_null(strstr(err.msg, bad[i]));
	}
	assert_int_equal(hsm_pin_read(NULL, "PIN", s, &err), ERR_INVALID);
}

static void
test_prompt_without_tty(void **state)
{
	err_t err;
	pid_t pid;
	int st;

	(void)state;
	/* A new session has no controlling terminal, so /dev/tty fails. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r;

		(void)setsid();
		r = hsm_pin_read("prompt", "user PIN for token 'x'", s, &err);
		_exit(r == ERR_INVALID && strstr(err.msg, "no terminal") &&
		    strstr(err.msg, "fd:N") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_fd_too_long),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_prompt_without_tty),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
