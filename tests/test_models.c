/* The bundled models: every model listed in models/cards.json loads, and
 * its top-1 accuracy on the first 1,000 Fashion-MNIST test images is at
 * least its card's test accuracy (measured with this engine on all 10,000)
 * minus 1 point. Needs no PyTorch.
 *
 * SIEVE_ACCURACY_IMAGES=N (the sanitizer build in CI sets it) checks the
 * first N < 1000 images instead, with the tolerance widened to three
 * binomial standard deviations of an N-image estimate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sieve/sieve.h"

#define TEST_SPEC "idx:/usr/share/datasets/fashion-mnist/t10k[0:%d]"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
        buf[n] = 0;
    fclose(f);
    return buf;
}

static double accuracy(sieve_context *ctx, const char *model_path, sieve_dataset *ds)
{
    sieve_model *m = NULL;
    sieve_exec *e = NULL;
    if (sieve_model_load_file(ctx, model_path, &m) != SIEVE_OK) {
        fprintf(stderr, "%s\n", sieve_context_error(ctx));
        fail();
    }
    assert_int_equal(sieve_exec_create(m, NULL, &e), SIEVE_OK);
    sieve_preprocess pre;
    assert_int_equal(sieve_model_preprocess(m, &pre), SIEVE_OK);
    size_t n_in = (size_t)pre.channels * pre.height * pre.width;
    float *x = malloc(n_in * sizeof(float));
    float logits[64];
    sieve_shape out;
    sieve_exec_tensor_shape(e, sieve_model_output(m, 0), &out);
    size_t classes = (size_t)sieve_shape_numel(&out);
    assert_true(classes <= 64);
    size_t correct = 0, n = sieve_dataset_count(ds);
    for (size_t i = 0; i < n; i++) {
        int label;
        assert_int_equal(sieve_dataset_get(ds, i, &pre, x, n_in, &label), SIEVE_OK);
        assert_int_equal(sieve_exec_set_input(e, 0, x, n_in), SIEVE_OK);
        assert_int_equal(sieve_exec_run(e), SIEVE_OK);
        assert_int_equal(sieve_exec_get_output(e, 0, logits, classes), SIEVE_OK);
        size_t best = 0;
        for (size_t k = 1; k < classes; k++)
            if (logits[k] > logits[best])
                best = k;
        correct += (int)best == label;
    }
    free(x);
    sieve_exec_free(e);
    sieve_model_free(m);
    return (double)correct / (double)n;
}

static void test_bundled_models_keep_their_card_accuracy(void **state)
{
    (void)state;
    const char *src = getenv("SIEVE_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/models/cards.json", src ? src : ".");
    if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        fprintf(stderr, "skipped: dataset-fashion-mnist is not installed\n");
        skip();
    }
    char *text = read_text(path);
    assert_non_null(text);
    cJSON *cards = cJSON_Parse(text);
    assert_non_null(cards);
    sieve_context *ctx = sieve_context_create(NULL);
    int images = 1000;
    const char *env = getenv("SIEVE_ACCURACY_IMAGES");
    if (env && atoi(env) > 0 && atoi(env) < 1000)
        images = atoi(env);
    char spec[128];
    snprintf(spec, sizeof(spec), TEST_SPEC, images);
    sieve_dataset *ds = NULL;
    assert_int_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_OK);
    int checked = 0;
    const cJSON *card;
    cJSON_ArrayForEach(card, cards)
    {
        const cJSON *file = cJSON_GetObjectItem(card, "file");
        const cJSON *acc = cJSON_GetObjectItem(card, "test_accuracy");
        assert_true(cJSON_IsString(file) && cJSON_IsNumber(acc));
        snprintf(path, sizeof(path), "%s/%s", src ? src : ".", file->valuestring);
        double got = accuracy(ctx, path, ds);
        double p = acc->valuedouble;
        double tolerance = images >= 1000 ? 0.01 : 3 * sqrt(p * (1 - p) / images);
        printf("%-14s first %d test images: %.4f (card, all 10000: %.4f, tolerance %.3f)\n",
               card->string, images, got, p, tolerance);
        assert_true(got >= p - tolerance);
        checked++;
    }
    assert_true(checked >= 1);
    sieve_dataset_free(ds);
    sieve_context_destroy(ctx);
    cJSON_Delete(cards);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundled_models_keep_their_card_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
