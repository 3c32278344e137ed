/*
 * crew.h: a fixed set of worker threads that run one parallel-for at a
 * time (signer-internal).
 *
 * The signer keeps two crews: one prepares lines (CPU-bound), the other
 * waits on the HSM's sessions. Each runs fn(ctx, item, worker) for items
 * 0 .. n-1, every item exactly once, on whichever worker is free; worker
 * is the worker's index (0 .. threads-1), so fn may keep per-worker state
 * in ctx without locks. signer_crew_run returns at once, so the caller
 * can do other work (another crew's run, the store) before
 * signer_crew_wait. fn must not fail the crew: it records its own result
 * in the item.
 */
#ifndef AIRLOCK_SIGNER_CREW_H
#define AIRLOCK_SIGNER_CREW_H

#include <pthread.h>
#include <stddef.h>

#include "util/err.h"

typedef void (*signer_crew_fn)(void *ctx, size_t item, unsigned worker);

struct signer_crew {
	pthread_t *tids;
	unsigned threads;		/* started and not yet joined */
	pthread_mutex_t mu;
	pthread_cond_t work, done_cv;
	signer_crew_fn fn;
	void *ctx;
	size_t items, next, done;
	int quit;
	int inited;
};

/* Starts n (1 .. SIGNER_MAX_THREADS) workers; 0, ERR_NOMEM or ERR_IO. */
int signer_crew_start(struct signer_crew *c, unsigned n, const char *what,
    err_t *err);

/*
 * Hands items 0 .. n-1 to the workers and returns at once. The previous
 * run must have been waited for.
 */
void signer_crew_run(struct signer_crew *c, signer_crew_fn fn, void *ctx,
    size_t n);

/* Blocks until every item of the current run is done. */
void signer_crew_wait(struct signer_crew *c);

/* Waits for the current run, stops and joins the workers; zeroes c. */
void signer_crew_stop(struct signer_crew *c);

#endif
