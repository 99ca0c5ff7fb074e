/* libsieve — a small fixed pool of worker threads (pthreads).
 *
 * One job at a time: the caller publishes (fn, arg, n) under a new
 * generation number, wakes the workers and runs its own range as thread 0.
 * Every worker takes part in every job (possibly with an empty range), so
 * a worker never reads a job's fields after the caller may have moved on to
 * the next one. Workers spin briefly on the generation before sleeping on a
 * condition variable: layers run back to back, and a short spin saves the
 * wake-up latency between them without burning a core while idle. */
#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Polls of the generation counter before a worker goes to sleep; a few
 * microseconds on current cores. */
#define SIEVE_POOL_SPIN 4000

struct sieve_pool {
    sieve_context *ctx;
    int threads; /* workers + the calling thread */
    pthread_t *workers;
    struct worker_start *starts; /* one per worker, alive as long as it */
    int n_workers;               /* started successfully */

    pthread_mutex_t lock;
    pthread_cond_t wake; /* generation changed or stop */
    pthread_cond_t done; /* pending reached zero */
    pthread_mutex_t busy; /* held by the caller of the running job */

    atomic_ulong generation;
    atomic_int pending; /* workers still running the current job */
    atomic_int stop;

    /* The current job; written before `generation` is bumped. */
    sieve_range_fn fn;
    void *arg;
    size_t n;
};

struct worker_start {
    sieve_pool *pool;
    int index;
};
typedef struct worker_start worker_start;

/* Contiguous range of part t of [0, n) split in `parts` near-equal parts. */
static void split_range(size_t n, int parts, int t, size_t *begin, size_t *end)
{
    size_t base = n / (size_t)parts, extra = n % (size_t)parts;
    size_t tt = (size_t)t;
    *begin = tt * base + SIEVE_MIN(tt, extra);
    *end = *begin + base + (tt < extra ? 1 : 0);
}

static void run_part(sieve_pool *pool, int t)
{
    size_t begin, end;
    split_range(pool->n, pool->threads, t, &begin, &end);
    if (begin < end)
        pool->fn(pool->arg, begin, end, t);
}

static void *worker_main(void *p)
{
    sieve_pool *pool = ((worker_start *)p)->pool;
    int index = ((worker_start *)p)->index;
    unsigned long seen = 0; /* generation 0 is "no job yet" */

    for (;;) {
        unsigned long gen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int spin = 0; gen == seen && spin < SIEVE_POOL_SPIN; spin++) {
            if (atomic_load_explicit(&pool->stop, memory_order_relaxed))
                break;
            gen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (gen == seen) {
            pthread_mutex_lock(&pool->lock);
            while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->wake, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
        }
        if (gen == seen) /* woken by stop with no new job */
            return NULL;
        seen = gen;

        run_part(pool, index);

        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
}

static void stop_workers(sieve_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_workers; i++)
        pthread_join(pool->workers[i], NULL);
    pool->n_workers = 0;
}

static void free_pool(sieve_pool *pool)
{
    sieve_context *ctx = pool->ctx;
    worker_start *starts = pool->starts;
    int n = pool->threads;
    pthread_mutex_destroy(&pool->busy);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    sieve_free(ctx, starts, sizeof(*starts) * (size_t)n);
    sieve_free(ctx, pool->workers, sizeof(*pool->workers) * (size_t)n);
    sieve_free(ctx, pool, sizeof(*pool));
}

sieve_status sieve_pool_create(sieve_context *ctx, int threads, sieve_pool **out)
{
    if (!ctx || !out)
        return SIEVE_ERR_ARG;
    *out = NULL;
    if (threads < 1 || threads > 1024)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "thread pool: %d threads (need 1..1024)", threads);

    sieve_pool *pool = sieve_calloc(ctx, 1, sizeof(*pool));
    if (!pool)
        return SIEVE_ERR_NOMEM;
    pool->ctx = ctx;
    pool->threads = threads;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stop, 0);
    /* Arrays sized by `threads` (not threads - 1) so free_pool needs no
     * special case; slot threads-1 stays unused. */
    pool->workers = sieve_calloc(ctx, (size_t)threads, sizeof(*pool->workers));
    worker_start *starts = sieve_calloc(ctx, (size_t)threads, sizeof(*starts));
    if (!pool->workers || !starts) {
        sieve_free(ctx, starts, sizeof(*starts) * (size_t)threads);
        sieve_free(ctx, pool->workers, sizeof(*pool->workers) * (size_t)threads);
        sieve_free(ctx, pool, sizeof(*pool));
        return SIEVE_ERR_NOMEM;
    }
    pool->starts = starts;
    if (pthread_mutex_init(&pool->lock, NULL) != 0 || pthread_cond_init(&pool->wake, NULL) != 0 ||
        pthread_cond_init(&pool->done, NULL) != 0 || pthread_mutex_init(&pool->busy, NULL) != 0) {
        /* Never seen on Linux; leaks whichever of the four did initialize
         * rather than destroying ones that did not. */
        sieve_free(ctx, starts, sizeof(*starts) * (size_t)threads);
        sieve_free(ctx, pool->workers, sizeof(*pool->workers) * (size_t)threads);
        sieve_free(ctx, pool, sizeof(*pool));
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "thread pool: cannot initialize a mutex");
    }
    for (int i = 1; i < threads; i++) {
        starts[i - 1].pool = pool;
        starts[i - 1].index = i;
        if (pthread_create(&pool->workers[i - 1], NULL, worker_main, &starts[i - 1]) != 0) {
            stop_workers(pool);
            free_pool(pool);
            return sieve_fail(ctx, SIEVE_ERR_NOMEM, "thread pool: cannot start thread %d of %d",
                              i + 1, threads);
        }
        pool->n_workers = i;
    }
    *out = pool;
    return SIEVE_OK;
}

void sieve_pool_destroy(sieve_pool *pool)
{
    if (!pool)
        return;
    stop_workers(pool);
    free_pool(pool);
}

int sieve_pool_threads(const sieve_pool *pool)
{
    return pool ? pool->threads : 1;
}

void sieve_parallel_for(sieve_pool *pool, size_t n, sieve_range_fn fn, void *arg)
{
    if (n == 0)
        return;
    /* Inline when there is nothing to share, and when the pool is already
     * running a job (a nested call from inside fn, or a second thread using
     * the same pool): waiting for it could deadlock, running inline cannot. */
    if (!pool || pool->threads == 1 || n == 1 || pthread_mutex_trylock(&pool->busy) != 0) {
        fn(arg, 0, n, 0);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    atomic_store_explicit(&pool->pending, pool->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    run_part(pool, 0);

    for (int spin = 0; spin < SIEVE_POOL_SPIN; spin++)
        if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0)
            break;
    if (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0) {
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->pending) != 0)
            pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
    pool->fn = NULL;
    pool->arg = NULL;
    pthread_mutex_unlock(&pool->busy);
}
