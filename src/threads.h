/* libsieve internal — a small fixed pool of worker threads.
 *
 * sieve_parallel_for(pool, n, fn, arg) calls fn(arg, begin, end, thread)
 * over a partition of [0, n) into contiguous ranges, one per thread, and
 * returns when all are done. The calling thread takes part (thread 0).
 * A NULL pool or a pool of 1 runs fn(arg, 0, n, 0) inline. */
#ifndef SIEVE_THREADS_H
#define SIEVE_THREADS_H

#include <stddef.h>

#include "common.h"

typedef struct sieve_pool sieve_pool;
typedef void (*sieve_range_fn)(void *arg, size_t begin, size_t end, int thread);

sieve_status sieve_pool_create(sieve_context *ctx, int threads, sieve_pool **out);
void sieve_pool_destroy(sieve_pool *pool);
int sieve_pool_threads(const sieve_pool *pool); /* 1 for NULL */
void sieve_parallel_for(sieve_pool *pool, size_t n, sieve_range_fn fn, void *arg);
/* The items [*begin, *end) of part t when sieve_parallel_for deals n items
 * to `parts` parts: contiguous runs, the first n % parts one item longer. */
void sieve_parallel_part(size_t n, unsigned parts, unsigned t, size_t *begin, size_t *end);

#endif
