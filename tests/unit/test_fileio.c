/* test_fileio.c: careful reads, write-once creation, private files. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "util/fileio.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

struct fx {
	char dir[128];
	char path[256];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (testutil_tmpdir(f->dir, sizeof(f->dir), "fileio") != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (testutil_rmtree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static const char *
p(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static void
put(struct fx *f, const char *name, const char *text, mode_t mode)
{
	int fd = open(p(f, name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Number of directory entries containing ".tmp." (leftover temporaries). */
static int
count_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

static void
test_read_regular(void **state)
{
	struct fx *f = *state;
	buf_t b;
	err_t e;
	int dfd;

	put(f, "a.txt", "hello", 0644);
	assert_int_equal(fileio_read(p(f, "a.txt"), 5, &b, &e), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	buf_free(&b);
	put(f, "empty", "", 0644);
	assert_int_equal(fileio_read(p(f, "empty"), 0, &b, &e), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(fileio_read_at(dfd, "a.txt", 100, &b, &e), 0);
	assert_memory_equal(b.data, "hello", 5);
	buf_free(&b);
	close(dfd);
}

static void
test_read_refusals(void **state)
{
	struct fx *f = *state;
	char target[256];
	buf_t b;
	err_t e;

	put(f, "a.txt", "hello", 0644);
	snprintf(target, sizeof(target), "%s", p(f, "a.txt"));
	assert_int_equal(symlink(target, p(f, "link")), 0);
	assert_int_equal(fileio_read(p(f, "link"), 100, &b, &e), ERR_INVALID);
	assert_contains(e.msg, "symbolic link");
	assert_null(b.data);

	assert_int_equal(mkdir(p(f, "sub"), 0700), 0);
	assert_int_equal(fileio_read(p(f, "sub"), 100, &b, &e), ERR_INVALID);
	assert_contains(e.msg, "not a regular file");

	assert_int_equal(fileio_read(p(f, "a.txt"), 4, &b, &e), ERR_LIMIT);
	assert_contains(e.msg, "a.txt");
	assert_contains(e.msg, "limit of 4 bytes");
	assert_null(b.data);

	assert_int_equal(fileio_read(p(f, "missing"), 4, &b, &e),
	    ERR_NOTFOUND);
	assert_contains(e.msg, "missing");
	assert_int_equal(fileio_read("", 4, &b, &e), ERR_INVALID);
}

static void
test_read_fifo_does_not_block(void **state)
{
	struct fx *f = *state;
	buf_t b;
	err_t e;

	assert_int_equal(mkfifo(p(f, "fifo"), 0600), 0);
	/* If open() blocked, SIGALRM would kill the test instead of hanging. */
	alarm(5);
	assert_int_equal(fileio_read(p(f, "fifo"), 100, &b, &e), ERR_INVALID);
	alarm(0);
	assert_contains(e.msg, "not a regular file");
}

static void
test_create(void **state)
{
	struct fx *f = *state;
	struct stat st;
	buf_t b;
	err_t e;
	mode_t old = umask(077);

	assert_int_equal(fileio_create(p(f, "out.pem"), "first", 5, 0644, &e),
	    0);
	umask(old);
	assert_int_equal(stat(p(f, "out.pem"), &st), 0);
	/* The mode asked for, not the umask's. */
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fileio_create(p(f, "out.pem"), "second", 6, 0644, &e),
	    ERR_EXISTS);
	assert_contains(e.msg, "out.pem already exists");
	assert_int_equal(fileio_read(p(f, "out.pem"), 100, &b, &e), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "first", 5);
	buf_free(&b);
	assert_int_equal(count_temps(f->dir), 0);

	/* A dangling symlink is an existing name too and is never followed. */
	assert_int_equal(symlink("/tmp/airlock-nonexistent-target",
	    p(f, "dangling")), 0);
	assert_int_equal(fileio_create(p(f, "dangling"), "x", 1, 0600, &e),
	    ERR_EXISTS);
	assert_int_equal(fileio_exists("/tmp/airlock-nonexistent-target"), 0);

	/* Empty content is a valid file. */
	assert_int_equal(fileio_create(p(f, "empty"), NULL, 0, 0600, &e), 0);
	assert_int_equal(stat(p(f, "empty"), &st), 0);
	assert_int_equal(st.st_size, 0);

	assert_int_equal(fileio_create(p(f, "nodir/x"), "x", 1, 0600, &e),
	    ERR_NOTFOUND);
	assert_int_equal(fileio_create(p(f, ""), "x", 1, 0600, &e),
	    ERR_INVALID);
	assert_int_equal(count_temps(f->dir), 0);
}

/* A write that fails half-way must leave neither the file nor a temporary. */
static void
test_create_failure_leaves_nothing(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char big[65536];
		struct rlimit rl = { 1024, 1024 };
		err_t e;
		int r;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		r = fileio_create(p(f, "big"), big, sizeof(big), 0600, &e);
		_exit(r == ERR_IO && strstr(e.msg, "write failed") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(fileio_exists(p(f, "big")), 0);
	assert_int_equal(count_temps(f->dir), 0);
}

static void
test_replace(void **state)
{
	struct fx *f = *state;
	struct stat st;
	buf_t b;
	err_t e;

	assert_int_equal(fileio_replace(p(f, "state"), "one", 3, 0600, &e), 0);
	assert_int_equal(fileio_replace(p(f, "state"), "two!", 4, 0640, &e),
	    0);
	assert_int_equal(fileio_read(p(f, "state"), 100, &b, &e), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "two!", 4);
	buf_free(&b);
	assert_int_equal(stat(p(f, "state"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_temps(f->dir), 0);
}

static void
test_private_fd(void **state)
{
	struct fx *f = *state;
	err_t e;
	int fd;

	put(f, "pin", "1234", 0600);
	fd = open(p(f, "pin"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fileio_check_private_fd(fd, "pin", &e), 0);
	assert_int_equal(fchmod(fd, 0640), 0);
	assert_int_equal(fileio_check_private_fd(fd, "pin", &e), ERR_PERM);
	assert_contains(e.msg, "chmod 600 pin");
	assert_contains(e.msg, "0640");
	assert_int_equal(fchmod(fd, 0604), 0);
	assert_int_equal(fileio_check_private_fd(fd, "pin", &e), ERR_PERM);
	close(fd);
	fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(fileio_check_private_fd(fd, "dir", &e), ERR_PERM);
	assert_contains(e.msg, "not a regular file");
	close(fd);
}

static void
test_mkdirs_exists_join(void **state)
{
	struct fx *f = *state;
	char out[16], longname[400];
	struct stat st;
	err_t e;

	assert_int_equal(fileio_mkdirs(p(f, "a/b//c/"), 0700, &e), 0);
	assert_int_equal(stat(p(f, "a/b/c"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fileio_mkdirs(p(f, "a/b/c"), 0700, &e), 0);
	put(f, "file", "x", 0600);
	assert_int_equal(fileio_mkdirs(p(f, "file/sub"), 0700, &e), ERR_EXISTS);
	assert_int_equal(fileio_mkdirs(p(f, "file"), 0700, &e), ERR_EXISTS);
	assert_contains(e.msg, "not a directory");

	assert_int_equal(fileio_exists(p(f, "file")), 1);
	assert_int_equal(fileio_exists(p(f, "nope")), 0);
	assert_int_equal(symlink("/nonexistent", p(f, "dangling")), 0);
	assert_int_equal(fileio_exists(p(f, "dangling")), 1);

	assert_int_equal(fileio_join(out, sizeof(out), "a", "b", &e), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(fileio_join(out, sizeof(out), "a/", "b", &e), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(fileio_join(out, sizeof(out), "0123456789", "abcde",
	    &e), ERR_LIMIT);
	assert_string_equal(out, "");
	/* A 240-byte name fits, but its temporary name would not. */
	snprintf(longname, sizeof(longname), "%s/%0240d", f->dir, 0);
	assert_int_equal(fileio_create(longname, "x", 1, 0600, &e), ERR_LIMIT);
	assert_int_equal(fileio_exists(longname), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_regular, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_fifo_does_not_block,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_create_failure_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_fd, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mkdirs_exists_join, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
