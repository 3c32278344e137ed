/* crew.c: worker threads for one parallel-for at a time (see crew.h). */
#include "signer/crew.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

struct signer_crew_arg {
	struct signer_crew *c;
	unsigned index;
};

static void *
signer_crew_main(void *arg)
{
	struct signer_crew_arg a = *(struct signer_crew_arg *)arg;
	struct signer_crew *c = a.c;

	free(arg);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		signer_crew_fn fn;
		void *ctx;
		size_t i;

		while (!c->quit && c->next >= c->items)
			pthread_cond_wait(&c->work, &c->mu);
		if (c->quit)
			break;
		i = c->next++;
		fn = c->fn;
		ctx = c->ctx;
		pthread_mutex_unlock(&c->mu);
		fn(ctx, i, a.index);
		pthread_mutex_lock(&c->mu);
		if (++c->done == c->items)
			pthread_cond_broadcast(&c->done_cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int
signer_crew_start(struct signer_crew *c, unsigned n, const char *what,
    err_t *err)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n > SIGNER_MAX_THREADS)
		return err_set(err, ERR_INVALID, "%u %s threads: 1 to %d "
		    "allowed", n, what, SIGNER_MAX_THREADS);
	if ((c->tids = calloc(n, sizeof(*c->tids))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->done_cv, NULL);
	c->inited = 1;
	for (i = 0; i < n; i++) {
		struct signer_crew_arg *a = malloc(sizeof(*a));
		int r;

		if (a == NULL) {
			signer_crew_stop(c);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		a->c = c;
		a->index = i;
		if ((r = pthread_create(&c->tids[i], NULL, signer_crew_main,
		    a)) != 0) {
			free(a);
			signer_crew_stop(c);
			return err_set(err, r == EAGAIN ? ERR_LIMIT : ERR_IO,
			    "cannot start %s thread %u of %u: %s", what,
			    i + 1, n, strerror(r));
		}
		c->threads++;
	}
	return 0;
}

void
signer_crew_run(struct signer_crew *c, signer_crew_fn fn, void *ctx,
    size_t n)
{
	pthread_mutex_lock(&c->mu);
	c->fn = fn;
	c->ctx = ctx;
	c->items = n;
	c->next = 0;
	c->done = 0;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->mu);
}

void
signer_crew_wait(struct signer_crew *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->done < c->items)
		pthread_cond_wait(&c->done_cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

void
signer_crew_stop(struct signer_crew *c)
{
	unsigned i;

	if (!c->inited)
		return;
	/* A run in flight still owns its items: let it finish first. */
	if (c->threads > 0)
		signer_crew_wait(c);
	pthread_mutex_lock(&c->mu);
	c->quit = 1;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < c->threads; i++)
		pthread_join(c->tids[i], NULL);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->done_cv);
	pthread_mutex_destroy(&c->mu);
	free(c->tids);
	memset(c, 0, sizeof(*c));
}
