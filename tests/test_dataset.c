/* Datasets: hand-made idx files (plain and gzip), slices, ImageFolder, bad
 * input, and the real Fashion-MNIST files when Debian's package is there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sieve/sieve.h"

static char dir[256];

static void write_file(const char *name, const uint8_t *data, size_t n)
{
    char path[2048];
    assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* gzip with one stored deflate block (RFC 1951 BTYPE=00): easy by hand. */
static void write_gz(const char *name, const uint8_t *data, size_t n)
{
    uint8_t buf[256];
    size_t at = 0;
    const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(buf, head, 10);
    at = 10;
    buf[at++] = 1; /* BFINAL, stored */
    buf[at++] = (uint8_t)n;
    buf[at++] = (uint8_t)(n >> 8);
    buf[at++] = (uint8_t)~n;
    buf[at++] = (uint8_t)(~n >> 8);
    memcpy(buf + at, data, n);
    at += n;
    memset(buf + at, 0, 4); /* CRC32 (not checked) */
    at += 4;
    for (int i = 0; i < 4; i++)
        buf[at++] = (uint8_t)(n >> (8 * i));
    write_file(name, buf, at);
}

/* 3 images of 2x2: pixels 0..11; labels 7, 2, 9 */
static const uint8_t images[16 + 12] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t labels[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 9};
static const sieve_preprocess raw2x2 = {1, 2, 2, 1.0f, {0}, {1, 1, 1, 1}};

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "%s/sieve_ds_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    mkdir(dir, 0755);
    write_file("plain-images-idx3-ubyte", images, sizeof(images));
    write_file("plain-labels-idx1-ubyte", labels, sizeof(labels));
    write_gz("gz-images-idx3-ubyte.gz", images, sizeof(images));
    write_gz("gz-labels-idx1-ubyte.gz", labels, sizeof(labels));
    write_file("bad-images-idx3-ubyte", images, 20); /* truncated */
    write_file("bad-labels-idx1-ubyte", labels, sizeof(labels));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void check_idx(const char *prefix)
{
    sieve_context *ctx = sieve_context_create(NULL);
    char spec[600];
    snprintf(spec, sizeof(spec), "idx:%s/%s", dir, prefix);
    sieve_dataset *ds = NULL;
    assert_int_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_OK);
    assert_int_equal(sieve_dataset_count(ds), 3);
    assert_int_equal(sieve_dataset_class_count(ds), 10);
    float x[4];
    int label = -1;
    assert_int_equal(sieve_dataset_get(ds, 2, &raw2x2, x, 4, &label), SIEVE_OK);
    assert_int_equal(label, 9);
    for (int i = 0; i < 4; i++)
        assert_float_equal(x[i], 8 + i, 0);
    sieve_dataset_free(ds);
    snprintf(spec, sizeof(spec), "idx:%s/%s[1:2]", dir, prefix);
    assert_int_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_OK);
    assert_int_equal(sieve_dataset_count(ds), 1);
    assert_int_equal(sieve_dataset_get(ds, 0, &raw2x2, x, 4, &label), SIEVE_OK);
    assert_int_equal(label, 2);
    assert_float_equal(x[0], 4, 0);
    assert_int_not_equal(sieve_dataset_get(ds, 1, &raw2x2, x, 4, &label), SIEVE_OK);
    sieve_dataset_free(ds);
    sieve_context_destroy(ctx);
}

static void test_idx_plain_and_gzip_read_as_written(void **state)
{
    (void)state;
    check_idx("plain");
    check_idx("gz");
}

static void test_bad_specs_and_files_are_errors(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_dataset *ds = NULL;
    char spec[600];
    snprintf(spec, sizeof(spec), "idx:%s/bad", dir);
    assert_int_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_ERR_FORMAT);
    assert_null(ds);
    snprintf(spec, sizeof(spec), "idx:%s/missing", dir);
    assert_int_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_ERR_IO);
    assert_non_null(strstr(sieve_context_error(ctx), "missing"));
    snprintf(spec, sizeof(spec), "idx:%s/plain[2:1]", dir);
    assert_int_not_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_OK);
    snprintf(spec, sizeof(spec), "idx:%s/plain[x:1]", dir);
    assert_int_not_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_OK);
    assert_int_not_equal(sieve_dataset_open(ctx, "/nonexistent-folder", &ds), SIEVE_OK);
    sieve_context_destroy(ctx);
}

static void test_image_folder_labels_by_sorted_class(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof(path), "%s/folder", dir);
    mkdir(path, 0755);
    const char *classes[2] = {"zebra", "apple"};
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof(path), "%s/folder/%s", dir, classes[c]);
        mkdir(path, 0755);
        char name[600];
        snprintf(name, sizeof(name), "folder/%s/img.pgm", classes[c]);
        uint8_t pgm[32];
        int len = snprintf((char *)pgm, sizeof(pgm), "P5 2 2 255\n");
        memset(pgm + len, 100 + c, 4);
        write_file(name, pgm, (size_t)len + 4);
    }
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_dataset *ds = NULL;
    snprintf(path, sizeof(path), "%s/folder", dir);
    assert_int_equal(sieve_dataset_open(ctx, path, &ds), SIEVE_OK);
    assert_int_equal(sieve_dataset_count(ds), 2);
    assert_string_equal(sieve_dataset_class_name(ds, 0), "apple");
    float x[4];
    int label;
    assert_int_equal(sieve_dataset_get(ds, 0, &raw2x2, x, 4, &label), SIEVE_OK);
    assert_int_equal(label, 0);
    assert_float_equal(x[0], 101, 1e-4); /* apple got pixel 100 + 1 */
    sieve_dataset_free(ds);
    sieve_context_destroy(ctx);
}

static void test_fashion_mnist_test_split(void **state)
{
    (void)state;
    const char *spec = "idx:/usr/share/datasets/fashion-mnist/t10k";
    if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0)
        skip();
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_dataset *ds = NULL;
    assert_int_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_OK);
    assert_int_equal(sieve_dataset_count(ds), 10000);
    sieve_preprocess pre = {1, 28, 28, 1.0f, {0}, {1, 1, 1, 1}};
    float x[784];
    int label;
    /* the first test image is an ankle boot (class 9) */
    assert_int_equal(sieve_dataset_get(ds, 0, &pre, x, 784, &label), SIEVE_OK);
    assert_int_equal(label, 9);
    sieve_dataset_free(ds);
    sieve_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_plain_and_gzip_read_as_written),
        cmocka_unit_test(test_bad_specs_and_files_are_errors),
        cmocka_unit_test(test_image_folder_labels_by_sorted_class),
        cmocka_unit_test(test_fashion_mnist_test_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
