/* libFuzzer target: any bytes as an ONNX model (import, then prepare and one
 * run of what imports) and as an ONNX TensorProto (sieve_onnx_read_tensor)
 * must never crash, leak or read out of bounds.
 *
 * Allocations go through a capped allocator so that a tiny file declaring a
 * huge tensor ends as SIEVE_ERR_NOMEM instead of exhausting the fuzzer's
 * memory. Seeds: the model.onnx and .pb files of the ONNX backend test data
 * (/usr/share/libonnx-testdata/data/node/<case>/), copied into a corpus dir. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_run.h"
#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEAP_CAP ((size_t)256 << 20)

typedef struct capped_heap {
    size_t live;
} capped_heap;

static void *capped_alloc(void *user, size_t size)
{
    capped_heap *h = user;
    if (size > FUZZ_HEAP_CAP - h->live)
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        h->live += size;
    return p;
}

static void capped_free(void *user, void *p, size_t size)
{
    capped_heap *h = user;
    if (p)
        h->live -= size;
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    capped_heap heap = {0};
    sieve_allocator alloc = {capped_alloc, NULL, capped_free, &heap};
    sieve_context_options opt = {&alloc, 1};
    sieve_context *ctx = sieve_context_create(&opt);
    if (!ctx)
        return 0;

    sieve_model *m = NULL;
    if (sieve_onnx_import_memory(ctx, data, size, NULL, &m) == SIEVE_OK) {
        fuzz_run_small(m);
        sieve_model_free(m);
    }

    sieve_shape shape;
    size_t n = 0;
    char name[16];
    if (sieve_onnx_read_tensor(ctx, data, size, &shape, NULL, 0, &n, name, sizeof(name)) ==
            SIEVE_OK &&
        n <= (1u << 22)) {
        float *values = malloc(n ? n * sizeof(float) : 1);
        if (values) {
            /* a buffer one short must be refused, the right size accepted */
            if (n > 0 && sieve_onnx_read_tensor(ctx, data, size, &shape, values, n - 1, &n, NULL,
                                                0) != SIEVE_ERR_RANGE)
                abort();
            if (sieve_onnx_read_tensor(ctx, data, size, &shape, values, n, &n, NULL, 0) != SIEVE_OK)
                abort();
            free(values);
        }
    }
    sieve_context_destroy(ctx);
    if (heap.live != 0) /* every allocation made through the context is freed */
        abort();
    return 0;
}
