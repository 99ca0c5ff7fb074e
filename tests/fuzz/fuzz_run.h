/* Shared by the fuzz targets: run a model that loaded, if it is small, on
 * made-up inputs (prepare and run must survive whatever the parser let in). */
#ifndef SIEVE_FUZZ_RUN_H
#define SIEVE_FUZZ_RUN_H

#include <stdlib.h>

#include "sieve/sieve.h"

static void fuzz_run_small(sieve_model *m)
{
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
            for (size_t k = 0; x && k < n; k++)
                x[k] = (float)((int)(k % 7) - 3);
            ok = x && sieve_exec_set_input(e, i, x, n) == SIEVE_OK;
            free(x);
        }
        if (ok)
            (void)sieve_exec_run(e);
    }
    sieve_exec_free(e);
}

#endif
