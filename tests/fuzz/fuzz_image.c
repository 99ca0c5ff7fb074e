/* libFuzzer target: image decoding and preprocessing (stb_image behind
 * sieve_image_preprocess) must never crash or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sieve_context *ctx = sieve_context_create(NULL);
    if (!ctx)
        return 0;
    /* the two shapes the bundled models use: 1x28x28 gray, and a 3-channel
     * resize target */
    static const sieve_preprocess gray = {1, 28, 28, 1.0f / 255, {0.2855f}, {0.3528f, 1, 1, 1}};
    static const sieve_preprocess rgb = {3, 16, 16, 1.0f / 255, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f, 1}};
    float *x = malloc(3 * 28 * 28 * sizeof(float));
    if (x) {
        (void)sieve_image_preprocess(ctx, data, size, &gray, x, 28 * 28);
        (void)sieve_image_preprocess(ctx, data, size, &rgb, x, 3 * 16 * 16);
    }
    free(x);
    sieve_context_destroy(ctx);
    return 0;
}
