/*
 * fuzz_script.c: libFuzzer target for ceremony scripts (ceremony/script):
 * the YAML an officer brings to a ceremony, checked in full before any
 * key is touched.
 *
 * script_load takes a path (it also hashes the file and resolves names
 * next to it), so each input is written to one scratch file in a private
 * directory made once under $TMPDIR and removed at exit. Refusals are
 * normal.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ceremony/script.h"
#include "util/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096], path[4200];

static void
cleanup(void)
{
	(void)unlink(path);
	(void)rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/airlock-fuzz-script.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/script.yaml", dir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s;
	diag_t diag;
	err_t err;
	char line[2048];
	size_t i;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    close(fd) != 0) {
		perror(path);
		abort();
	}
	diag_init(&diag);
	err_clear(&err);
	(void)script_load(path, &s, &diag, &err);
	for (i = 0; i < diag.n; i++)
		(void)diag_format(&diag, i, line, sizeof(line));
	script_free(&s);
	diag_free(&diag);
	return 0;
}
