/* The bundled models: every model listed in models/cards.json loads, and
 * its top-1 accuracy on the first 1,000 Fashion-MNIST test images is at
 * least its card's test accuracy (measured with this engine on all 10,000)
 * minus 1 point. Every edge package models/NAME.pkg.sieve speculates with
 * its accurate variant on the same images as the calibration (made on
 * validation data by sieve explore) predicts: accuracy with replay at least
 * the original's there minus 1 point, replay fraction within 3 points of the
 * calibrated one. Needs no PyTorch.
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

static int top1(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return (int)best;
}

static void run_logits(sieve_exec *e, const float *x, size_t n_in, float *logits, size_t classes)
{
    assert_int_equal(sieve_exec_set_input(e, 0, x, n_in), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, logits, classes), SIEVE_OK);
}

/* Speculation with package `path` on `ds`: the accurate variant answers
 * unless its detector asks for a replay on the package's original. */
static void check_package(sieve_context *ctx, const char *name, const char *path,
                          sieve_dataset *ds, int images)
{
    sieve_model *pkg = NULL, *variant = NULL;
    sieve_exec *orig = NULL, *spec = NULL;
    if (sieve_model_load_file(ctx, path, &pkg) != SIEVE_OK) {
        fprintf(stderr, "%s\n", sieve_context_error(ctx));
        fail();
    }
    assert_string_equal(sieve_model_metadata(pkg, "sieve.package.base"), "original");
    int v = sieve_model_find_variant(pkg, "accurate");
    assert_true(v >= 0);
    const char *calibration = sieve_model_variant_calibration(pkg, v);
    sieve_detector det;
    assert_int_equal(sieve_detector_from_calibration(ctx, calibration, &det), SIEVE_OK);
    cJSON *cal = cJSON_Parse(calibration);
    assert_non_null(cal);
    double cal_replay = cJSON_GetObjectItem(cal, "replay_fraction")->valuedouble;
    cJSON_Delete(cal);
    assert_int_equal(sieve_model_extract_variant(pkg, v, &variant), SIEVE_OK);
    assert_int_equal(sieve_exec_create(pkg, NULL, &orig), SIEVE_OK);
    assert_int_equal(sieve_exec_create(variant, NULL, &spec), SIEVE_OK);
    sieve_preprocess pre;
    assert_int_equal(sieve_model_preprocess(pkg, &pre), SIEVE_OK);
    size_t n_in = (size_t)pre.channels * pre.height * pre.width;
    float *x = malloc(n_in * sizeof(float));
    float logits[64], scratch[64];
    sieve_shape out;
    sieve_exec_tensor_shape(orig, sieve_model_output(pkg, 0), &out);
    size_t classes = (size_t)sieve_shape_numel(&out);
    assert_true(classes <= 64);
    size_t n = sieve_dataset_count(ds), orig_correct = 0, with_replay = 0, replayed = 0;
    for (size_t i = 0; i < n; i++) {
        int label;
        assert_int_equal(sieve_dataset_get(ds, i, &pre, x, n_in, &label), SIEVE_OK);
        run_logits(orig, x, n_in, logits, classes);
        int original = top1(logits, classes);
        orig_correct += original == label;
        run_logits(spec, x, n_in, logits, classes);
        int answer = top1(logits, classes);
        if (sieve_detector_should_replay(&det, logits, classes, scratch)) {
            replayed++;
            answer = original;
        }
        with_replay += answer == label;
    }
    double acc = (double)orig_correct / (double)n, acc_replay = (double)with_replay / (double)n;
    double replay = (double)replayed / (double)n;
    double tolerance = images >= 1000 ? 0.01 : 3 * sqrt(acc * (1 - acc) / images);
    double replay_tolerance = 3 * sqrt(fmax(cal_replay * (1 - cal_replay), 0.01) / images);
    printf("%-14s package, first %d test images: accurate + replay %.4f (original %.4f), "
           "replay %.2f%% (calibrated %.2f%%)\n",
           name, images, acc_replay, acc, 100 * replay, 100 * cal_replay);
    assert_true(acc_replay >= acc - tolerance);
    assert_true(fabs(replay - cal_replay) <= replay_tolerance);
    free(x);
    sieve_exec_free(spec);
    sieve_exec_free(orig);
    sieve_model_free(variant);
    sieve_model_free(pkg);
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
        snprintf(path, sizeof(path), "%s/models/%s.pkg.sieve", src ? src : ".", card->string);
        if (access(path, R_OK) == 0)
            check_package(ctx, card->string, path, ds, images);
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
