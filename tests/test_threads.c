/* Thread pool: sieve_parallel_for visits every index of [0, n) exactly
 * once, in contiguous ranges, one per thread, for any n and pool size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "threads.h"

#define MAX_N 5000
#define MAX_THREADS 8

typedef struct visit_log {
    _Atomic int count[MAX_N];
    _Atomic int calls_by_thread[MAX_THREADS];
    _Atomic int in_use[MAX_THREADS]; /* a thread index runs one range at a time */
    _Atomic int
        bad_range; /* begin >= end or end > n or thread out of range, or reused concurrently */
    size_t n;
    int threads;
} visit_log;

static void record(void *arg, size_t begin, size_t end, int thread)
{
    visit_log *log = arg;
    if (begin >= end || end > log->n || thread < 0 || thread >= log->threads) {
        log->bad_range++;
        return;
    }
    if (atomic_exchange(&log->in_use[thread], 1) != 0)
        log->bad_range++;
    log->calls_by_thread[thread]++;
    for (size_t i = begin; i < end; i++)
        log->count[i]++;
    atomic_store(&log->in_use[thread], 0);
}

static void check_exactly_once_into(sieve_pool *pool, size_t n, visit_log *log)
{
    memset(log, 0, sizeof(*log));
    log->n = n;
    log->threads = sieve_pool_threads(pool);
    sieve_parallel_for(pool, n, record, log);
    assert_int_equal(log->bad_range, 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(log->count[i], 1);
    int calls = 0;
    for (int t = 0; t < log->threads; t++) {
        assert_true(log->calls_by_thread[t] <= 1); /* one contiguous range each */
        calls += log->calls_by_thread[t];
    }
    /* Never more ranges than indices or threads; none at all for n = 0. */
    assert_true((size_t)calls <= n);
    assert_true(calls <= log->threads);
    if (n > 0)
        assert_true(calls >= 1);
}

static void check_exactly_once(sieve_pool *pool, size_t n)
{
    static visit_log log;
    check_exactly_once_into(pool, n, &log);
}

static void test_every_index_once_for_many_n_and_pool_sizes(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    assert_non_null(ctx);
    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 100, 1000, 4999, 5000};
    for (int threads = 1; threads <= MAX_THREADS; threads++) {
        sieve_pool *pool = NULL;
        assert_int_equal(sieve_pool_create(ctx, threads, &pool), SIEVE_OK);
        assert_int_equal(sieve_pool_threads(pool), threads);
        for (size_t i = 0; i < SIEVE_ARRAY_LEN(sizes); i++)
            check_exactly_once(pool, sizes[i]);
        sieve_pool_destroy(pool);
    }
    sieve_context_destroy(ctx);
}

static void test_null_pool_runs_inline_as_thread_zero(void **state)
{
    (void)state;
    assert_int_equal(sieve_pool_threads(NULL), 1);
    check_exactly_once(NULL, 0);
    check_exactly_once(NULL, 1);
    check_exactly_once(NULL, 777);
}

/* Sums i over [0, n) with per-thread partial sums: repeated back-to-back
 * jobs exercise the spin-then-sleep hand-over between generations. */
typedef struct sum_job {
    uint64_t partial[MAX_THREADS];
} sum_job;

static void sum_range(void *arg, size_t begin, size_t end, int thread)
{
    sum_job *job = arg;
    for (size_t i = begin; i < end; i++)
        job->partial[thread] += i;
}

static void test_thousands_of_repeated_calls_give_exact_sums(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_pool *pool = NULL;
    assert_int_equal(sieve_pool_create(ctx, 3, &pool), SIEVE_OK);
    for (size_t rep = 0; rep < 5000; rep++) {
        size_t n = rep % 37;
        sum_job job;
        memset(&job, 0, sizeof(job));
        sieve_parallel_for(pool, n, sum_range, &job);
        uint64_t total = 0;
        for (int t = 0; t < MAX_THREADS; t++)
            total += job.partial[t];
        assert_int_equal(total, n * (n ? n - 1 : 0) / 2);
    }
    sieve_pool_destroy(pool);
    sieve_context_destroy(ctx);
}

/* Calling parallel_for from inside a job must not deadlock: it runs inline. */
typedef struct nested_job {
    sieve_pool *pool;
    _Atomic int inner_total;
} nested_job;

static void count_inner(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    nested_job *job = arg;
    job->inner_total += (int)(end - begin);
}

static void outer(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    nested_job *job = arg;
    for (size_t i = begin; i < end; i++)
        sieve_parallel_for(job->pool, 10, count_inner, job);
}

static void test_nested_call_runs_inline_without_deadlock(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    nested_job job;
    memset(&job, 0, sizeof(job));
    assert_int_equal(sieve_pool_create(ctx, 2, &job.pool), SIEVE_OK);
    sieve_parallel_for(job.pool, 6, outer, &job);
    assert_int_equal(job.inner_total, 60);
    sieve_pool_destroy(job.pool);
    sieve_context_destroy(ctx);
}

static void test_bad_thread_count_is_an_error(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_pool *pool = (sieve_pool *)&pool;
    assert_int_equal(sieve_pool_create(ctx, 0, &pool), SIEVE_ERR_ARG);
    assert_null(pool);
    assert_true(strstr(sieve_context_error(ctx), "threads") != NULL);
    assert_int_equal(sieve_pool_create(ctx, -3, &pool), SIEVE_ERR_ARG);
    sieve_pool_destroy(NULL); /* no-op */
    sieve_context_destroy(ctx);
}

/* Allocation failure at every step of pool creation is an error, never a
 * crash or a leak (the counting allocator checks the balance). */
typedef struct counting_alloc {
    int fail_at; /* fail the i-th allocation (0-based); -1: never */
    int calls;
    long live;
} counting_alloc;

static void *count_alloc(void *user, size_t size)
{
    counting_alloc *c = user;
    if (c->calls++ == c->fail_at)
        return NULL;
    c->live++;
    return malloc(size);
}

static void count_free(void *user, void *p, size_t size)
{
    (void)size;
    counting_alloc *c = user;
    c->live--;
    free(p);
}

static void test_allocation_failure_at_every_step_is_clean(void **state)
{
    (void)state;
    for (int fail_at = 0; fail_at < 10; fail_at++) {
        counting_alloc counter = {fail_at, 0, 0};
        sieve_allocator a = {count_alloc, NULL, count_free, &counter};
        sieve_context_options opt = {&a, 1};
        counter.fail_at = -1;
        sieve_context *ctx = sieve_context_create(&opt);
        assert_non_null(ctx);
        counter.fail_at = counter.calls + fail_at;
        sieve_pool *pool = NULL;
        sieve_status st = sieve_pool_create(ctx, 4, &pool);
        if (st == SIEVE_OK) {
            check_exactly_once(pool, 100);
            sieve_pool_destroy(pool);
        } else {
            assert_int_equal(st, SIEVE_ERR_NOMEM);
            assert_null(pool);
        }
        sieve_context_destroy(ctx);
        assert_int_equal(counter.live, 0);
    }
}


/* Two application threads sharing one pool: one of them runs inline while
 * the other holds the pool; both see every index exactly once. */
typedef struct sharing_thread {
    sieve_pool *pool;
    visit_log *log;
} sharing_thread;

static void *share_pool(void *arg)
{
    sharing_thread *t = arg;
    for (size_t rep = 0; rep < 300; rep++)
        check_exactly_once_into(t->pool, 1 + rep % 200, t->log);
    return NULL;
}

static void test_two_callers_sharing_a_pool(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_pool *pool = NULL;
    assert_int_equal(sieve_pool_create(ctx, 2, &pool), SIEVE_OK);
    static visit_log logs[2];
    sharing_thread args[2] = {{pool, &logs[0]}, {pool, &logs[1]}};
    pthread_t other;
    assert_int_equal(pthread_create(&other, NULL, share_pool, &args[1]), 0);
    share_pool(&args[0]);
    pthread_join(other, NULL);
    sieve_pool_destroy(pool);
    sieve_context_destroy(ctx);
}
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once_for_many_n_and_pool_sizes),
        cmocka_unit_test(test_null_pool_runs_inline_as_thread_zero),
        cmocka_unit_test(test_thousands_of_repeated_calls_give_exact_sums),
        cmocka_unit_test(test_nested_call_runs_inline_without_deadlock),
        cmocka_unit_test(test_two_callers_sharing_a_pool),
        cmocka_unit_test(test_bad_thread_count_is_an_error),
        cmocka_unit_test(test_allocation_failure_at_every_step_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
