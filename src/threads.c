/* libsieve — a small fixed pool of worker threads (pthreads).
 *
 * A job splits [0, n) into `parts` contiguous ranges (one per thread of the
 * pool, fewer when n is smaller). Part t is run as fn(arg, begin, end, t):
 * the `thread` argument names the part, so per-thread scratch indexed by it
 * is never used by two threads at once. The caller runs part 0, then takes
 * any part no worker has claimed yet: a worker that the OS has not woken in
 * time (busy machine, app threads competing) costs the job its share of
 * parallelism, never a wait.
 *
 * Claims go through one 64-bit ticket = generation | parts | next part, so
 * a worker that wakes late can only claim a part of the job that is live;
 * job fields are read only after a successful claim, when the caller cannot
 * have moved on (it waits until every part is done). Workers spin on the
 * ticket for a fraction of a millisecond before sleeping on a condition
 * variable: layers run back to back, and the spin saves the wake-up
 * latency between them without burning a core for long while idle. */
#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* Polls of the ticket before a worker (or the waiting caller) sleeps:
 * about 0.3 ms here (Zen 5). Between two layers the workers wait while the
 * caller runs small layers alone or ends a run; 4000 polls (a few
 * microseconds) let them fall asleep there, and every wake-up went
 * through the kernel (a paravirtualized one: 27 % of a packed 1x1 conv's
 * samples at 2 threads). ResNet-18 at 2 threads, whole runs alternating:
 * fp32 16.7-17.2 -> 15.2 ms, cf8 13.4-13.8 -> 12.3-12.5 ms. A worker thus
 * burns at most this long after a job before it sleeps. */
#ifndef SIEVE_POOL_SPIN
#define SIEVE_POOL_SPIN 1000000
#endif

#define TICKET(gen, parts, next) (((uint64_t)(gen) << 32) | ((uint64_t)(parts) << 16) | (next))
#define TICKET_GEN(t) ((uint32_t)((t) >> 32))
#define TICKET_PARTS(t) ((unsigned)(((t) >> 16) & 0xFFFF))
#define TICKET_NEXT(t) ((unsigned)((t)&0xFFFF))

struct worker_start {
    struct sieve_pool *pool;
};
typedef struct worker_start worker_start;

struct sieve_pool {
    sieve_context *ctx;
    int threads; /* workers + the calling thread */
    pthread_t *workers;
    worker_start *starts; /* one per worker, alive as long as it */
    int n_workers;        /* started successfully */

    pthread_mutex_t lock;
    pthread_cond_t wake;  /* new ticket generation, or stop */
    pthread_cond_t done;  /* the last part of a job finished */
    pthread_mutex_t busy; /* held by the caller of the running job */

    _Atomic uint64_t ticket;
    atomic_uint parts_done;
    atomic_int stop;
    uint32_t generation; /* of the last job (caller side, under busy) */

    /* The current job; written before its ticket is published. */
    sieve_range_fn fn;
    void *arg;
    size_t n;
    unsigned parts;
};

/* Contiguous range of part t of [0, n) split in `parts` near-equal parts. */
void sieve_parallel_part(size_t n, unsigned parts, unsigned t, size_t *begin, size_t *end)
{
    size_t base = n / parts, extra = n % parts;
    *begin = t * base + SIEVE_MIN((size_t)t, extra);
    *end = *begin + base + (t < extra ? 1 : 0);
}

/* Claims the next unclaimed part of the live job, or returns -1. */
static int claim_part(sieve_pool *pool)
{
    uint64_t t = atomic_load_explicit(&pool->ticket, memory_order_acquire);
    while (TICKET_NEXT(t) < TICKET_PARTS(t)) {
        if (atomic_compare_exchange_weak_explicit(&pool->ticket, &t, t + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return (int)TICKET_NEXT(t);
    }
    return -1;
}

static void run_part(sieve_pool *pool, unsigned part)
{
    size_t begin, end;
    sieve_parallel_part(pool->n, pool->parts, part, &begin, &end);
    pool->fn(pool->arg, begin, end, (int)part);
    unsigned parts = pool->parts; /* read before the job can end */
    if (atomic_fetch_add_explicit(&pool->parts_done, 1, memory_order_acq_rel) + 1 == parts) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->lock);
    }
}

static void *worker_main(void *p)
{
    sieve_pool *pool = ((worker_start *)p)->pool;
    uint32_t seen = 0; /* generation 0 is "no job yet" */

    for (;;) {
        uint32_t gen = TICKET_GEN(atomic_load_explicit(&pool->ticket, memory_order_acquire));
        for (int spin = 0; gen == seen && spin < SIEVE_POOL_SPIN; spin++) {
            if (atomic_load_explicit(&pool->stop, memory_order_relaxed))
                break;
            gen = TICKET_GEN(atomic_load_explicit(&pool->ticket, memory_order_acquire));
        }
        if (gen == seen) {
            pthread_mutex_lock(&pool->lock);
            while ((gen = TICKET_GEN(atomic_load(&pool->ticket))) == seen &&
                   !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->wake, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
        }
        if (gen == seen) /* woken by stop with no new job */
            return NULL;
        seen = gen;
        int part;
        while ((part = claim_part(pool)) >= 0)
            run_part(pool, (unsigned)part);
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
    size_t n = (size_t)pool->threads;
    pthread_mutex_destroy(&pool->busy);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    sieve_free(ctx, pool->starts, sizeof(*pool->starts) * n);
    sieve_free(ctx, pool->workers, sizeof(*pool->workers) * n);
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
    atomic_init(&pool->ticket, 0);
    atomic_init(&pool->parts_done, 0);
    atomic_init(&pool->stop, 0);
    /* Arrays sized by `threads` (not threads - 1) so free_pool needs no
     * special case; the last slot stays unused. */
    pool->workers = sieve_calloc(ctx, (size_t)threads, sizeof(*pool->workers));
    pool->starts = sieve_calloc(ctx, (size_t)threads, sizeof(*pool->starts));
    if (!pool->workers || !pool->starts) {
        sieve_free(ctx, pool->starts, sizeof(*pool->starts) * (size_t)threads);
        sieve_free(ctx, pool->workers, sizeof(*pool->workers) * (size_t)threads);
        sieve_free(ctx, pool, sizeof(*pool));
        return SIEVE_ERR_NOMEM;
    }
    if (pthread_mutex_init(&pool->lock, NULL) != 0 || pthread_cond_init(&pool->wake, NULL) != 0 ||
        pthread_cond_init(&pool->done, NULL) != 0 || pthread_mutex_init(&pool->busy, NULL) != 0) {
        /* Never seen on Linux; leaks whichever of the four did initialize
         * rather than destroying ones that did not. */
        sieve_free(ctx, pool->starts, sizeof(*pool->starts) * (size_t)threads);
        sieve_free(ctx, pool->workers, sizeof(*pool->workers) * (size_t)threads);
        sieve_free(ctx, pool, sizeof(*pool));
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "thread pool: cannot initialize a mutex");
    }
    for (int i = 0; i < threads - 1; i++) {
        pool->starts[i].pool = pool;
        if (pthread_create(&pool->workers[i], NULL, worker_main, &pool->starts[i]) != 0) {
            stop_workers(pool);
            free_pool(pool);
            return sieve_fail(ctx, SIEVE_ERR_NOMEM, "thread pool: cannot start thread %d of %d",
                              i + 2, threads);
        }
        pool->n_workers = i + 1;
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
    unsigned parts = (unsigned)SIEVE_MIN(n, (size_t)pool->threads);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->parts = parts;
    atomic_store_explicit(&pool->parts_done, 0, memory_order_relaxed);
    if (++pool->generation == 0) /* 0 means "no job yet" to the workers */
        pool->generation = 1;
    /* Part 0 is the caller's, claimed in the ticket itself. */
    pthread_mutex_lock(&pool->lock);
    atomic_store_explicit(&pool->ticket, TICKET(pool->generation, parts, 1),
                          memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    run_part(pool, 0);
    int part;
    while ((part = claim_part(pool)) >= 0) /* parts no worker has started */
        run_part(pool, (unsigned)part);

    for (int spin = 0; spin < SIEVE_POOL_SPIN; spin++)
        if (atomic_load_explicit(&pool->parts_done, memory_order_acquire) == parts)
            break;
    if (atomic_load_explicit(&pool->parts_done, memory_order_acquire) != parts) {
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->parts_done) != parts)
            pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->busy);
}
