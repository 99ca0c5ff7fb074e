/* libFuzzer target: the .sieve loader, then prepare and one run of what
 * loads, must never crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sieve_context *ctx = sieve_context_create(NULL);
    if (!ctx)
        return 0;
    sieve_model *m = NULL;
    if (sieve_model_load_memory(ctx, data, size, 1, &m) == SIEVE_OK) {
        sieve_exec *e = NULL;
        /* keep runs cheap: only small graphs are executed */
        if (sieve_exec_create(m, NULL, &e) == SIEVE_OK && sieve_exec_macs(e) < 1000000) {
            int ok = 1;
            for (int i = 0; i < sieve_model_input_count(m) && ok; i++) {
                sieve_shape s;
                sieve_exec_tensor_shape(e, sieve_model_input(m, i), &s);
                size_t n = (size_t)sieve_shape_numel(&s);
                if (n > (1u << 20)) {
                    ok = 0;
                    break;
                }
                float *x = calloc(n ? n : 1, sizeof(float));
                ok = x && sieve_exec_set_input(e, i, x, n) == SIEVE_OK;
                free(x);
            }
            if (ok)
                (void)sieve_exec_run(e);
        }
        sieve_exec_free(e);
        sieve_model_free(m);
    }
    sieve_context_destroy(ctx);
    return 0;
}
