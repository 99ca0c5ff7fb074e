/* libFuzzer target: the .sieve loader, then prepare and one run of what
 * loads, must never crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_run.h"
#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sieve_context *ctx = sieve_context_create(NULL);
    if (!ctx)
        return 0;
    sieve_model *m = NULL;
    if (sieve_model_load_memory(ctx, data, size, 1, &m) == SIEVE_OK) {
        fuzz_run_small(m);
        sieve_model_free(m);
    }
    sieve_context_destroy(ctx);
    return 0;
}
