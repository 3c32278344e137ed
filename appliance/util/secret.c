/* secret.c: locked, wiped memory for secrets (see secret.h). */
#include "util/secret.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
secret_new(secret_t **out)
{
	secret_t *s;
	long page = sysconf(_SC_PAGESIZE);
	size_t size;
	void *mem;

	*out = NULL;
	if (page <= 0)
		page = 4096;
	/* Round up so the secret owns whole pages: madvise works per page. */
	size = ((SECRET_MAX + 1 + (size_t)page - 1) / (size_t)page) *
	    (size_t)page;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_NOMEM;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		free(s);
		return ERR_NOMEM;
	}
	(void)madvise(mem, size, MADV_DONTDUMP);
	s->locked = mlock(mem, size) == 0;
	s->data = mem;
	s->cap = size - 1;
	if (s->cap > SECRET_MAX)
		s->cap = SECRET_MAX;
	*out = s;
	return 0;
}

int
secret_set(secret_t *s, const void *p, size_t len)
{
	secret_wipe(s);
	if (len > s->cap)
		return ERR_LIMIT;
	memcpy(s->data, p, len);
	s->data[len] = '\0';
	s->len = len;
	return 0;
}

int
secret_is_locked(const secret_t *s)
{
	return s != NULL && s->locked;
}

void
secret_wipe(secret_t *s)
{
	if (s == NULL || s->data == NULL)
		return;
	explicit_bzero(s->data, s->cap + 1);
	s->len = 0;
}

void
secret_free(secret_t *s)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size;

	if (s == NULL)
		return;
	if (page <= 0)
		page = 4096;
	size = ((SECRET_MAX + 1 + (size_t)page - 1) / (size_t)page) *
	    (size_t)page;
	if (s->data != NULL) {
		explicit_bzero(s->data, size);
		if (s->locked)
			munlock(s->data, size);
		munmap(s->data, size);
	}
	free(s);
}
