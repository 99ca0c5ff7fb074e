/* Model file and executor: round trips, malformed files, memory planning,
 * packed activations, allocation failures. */
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

#include "graph.h"
#include "sieve/sieve.h"

/* A tiny net worked out by hand:
 *   x[1,1,3,3] -> conv(w=[[1,0],[0,1]], b=0.5, relu) -> y[1,1,2,2]
 *   -> flatten -> gemm(W[2,4], b[2], transB) -> z[1,2]
 * y[i][j] = relu(x[i][j] + x[i+1][j+1] + 0.5). */
static const float tiny_x[9] = {1, -2, 3, 4, 5, -6, 7, 8, 9};
static const float tiny_w[4] = {1, 0, 0, 1};
static const float tiny_b = 0.5f;
static const float tiny_W[8] = {1, 2, 3, 4, -1, 0.5f, 0.25f, 2};
static const float tiny_bias[2] = {0.125f, -1};

static void tiny_expected(float z[2])
{
    float y[4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            float v = tiny_x[i * 3 + j] + tiny_x[(i + 1) * 3 + j + 1] + tiny_b;
            y[i * 2 + j] = v > 0 ? v : 0;
        }
    /* y = relu([1+5, -2-6, 4+8, 5+9] + .5) = [6.5, 0, 12.5, 14.5] */
    for (int o = 0; o < 2; o++) {
        z[o] = tiny_bias[o];
        for (int k = 0; k < 4; k++)
            z[o] += tiny_W[o * 4 + k] * y[k];
    }
}

static sieve_shape shape4(int64_t a, int64_t b, int64_t c, int64_t d)
{
    sieve_shape s = {4, {a, b, c, d}};
    return s;
}

static sieve_model *tiny_model(sieve_context *ctx, const sieve_format *act_fmt)
{
    sieve_model *m = sieve_model_new(ctx);
    if (!m)
        return NULL;
    sieve_format fp32 = sieve_format_fp32();
    const sieve_format *af = act_fmt ? act_fmt : &fp32;
    sieve_shape sx = shape4(1, 1, 3, 3), sw = shape4(1, 1, 2, 2), sb = {1, {1}};
    sieve_shape sW = {2, {2, 4}}, sB = {1, {2}};
    int x = sieve_model_add_tensor(m, "x", SIEVE_TENSOR_INPUT, &sx, &fp32);
    int w = sieve_model_add_tensor(m, "conv.w", SIEVE_TENSOR_CONSTANT, &sw, &fp32);
    int b = sieve_model_add_tensor(m, "conv.b", SIEVE_TENSOR_CONSTANT, &sb, &fp32);
    int y = sieve_model_add_tensor(m, "y", SIEVE_TENSOR_ACTIVATION, NULL, af);
    int f = sieve_model_add_tensor(m, "f", SIEVE_TENSOR_ACTIVATION, NULL, af);
    int W = sieve_model_add_tensor(m, "fc.w", SIEVE_TENSOR_CONSTANT, &sW, &fp32);
    int B = sieve_model_add_tensor(m, "fc.b", SIEVE_TENSOR_CONSTANT, &sB, &fp32);
    int z = sieve_model_add_tensor(m, "z", SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
    assert_true(x >= 0 && w >= 0 && b >= 0 && y >= 0 && f >= 0 && W >= 0 && B >= 0 && z >= 0);
    assert_int_equal(sieve_model_set_constant(m, w, tiny_w, 4), SIEVE_OK);
    assert_int_equal(sieve_model_set_constant(m, b, &tiny_b, 1), SIEVE_OK);
    assert_int_equal(sieve_model_set_constant(m, W, tiny_W, 8), SIEVE_OK);
    assert_int_equal(sieve_model_set_constant(m, B, tiny_bias, 2), SIEVE_OK);
    sieve_layer_attrs conv = {.conv = {.kernel = {2, 2}, .stride = {1, 1}, .dilation = {1, 1},
                                       .group = 1, .relu = true}};
    int cin[3] = {x, w, b};
    assert_true(sieve_model_add_layer(m, "conv", SIEVE_OP_CONV, cin, 3, &y, 1, &conv) >= 0);
    sieve_layer_attrs flat = {.axis = {.axis = 1}};
    assert_true(sieve_model_add_layer(m, "flatten", SIEVE_OP_FLATTEN, &y, 1, &f, 1, &flat) >= 0);
    sieve_layer_attrs gemm = {.gemm = {.alpha = 1, .beta = 1, .trans_b = true}};
    int gin[3] = {f, W, B};
    assert_true(sieve_model_add_layer(m, "fc", SIEVE_OP_GEMM, gin, 3, &z, 1, &gemm) >= 0);
    assert_int_equal(sieve_model_mark_input(m, x), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, z), SIEVE_OK);
    return m;
}

static void run_tiny(sieve_model *m, float z[2])
{
    sieve_exec *e = NULL;
    assert_int_equal(sieve_exec_create(m, NULL, &e), SIEVE_OK);
    assert_int_equal(sieve_exec_set_input(e, 0, tiny_x, 9), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, z, 2), SIEVE_OK);
    sieve_exec_free(e);
}

static void test_tiny_net_matches_hand_computation(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = tiny_model(ctx, NULL);
    float z[2], want[2];
    run_tiny(m, z);
    tiny_expected(want);
    assert_float_equal(z[0], want[0], 1e-5);
    assert_float_equal(z[1], want[1], 1e-5);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

static char *tmp_path(const char *name)
{
    static char buf[512];
    const char *dir = getenv("TMPDIR");
    snprintf(buf, sizeof(buf), "%s/sieve_test_%d_%s", dir ? dir : "/tmp", (int)getpid(), name);
    return buf;
}

static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = tiny_model(ctx, NULL);
    const char *labels[2] = {"cat", "dog"};
    sieve_preprocess pre = {1, 3, 3, 1.0f / 255, {0.5f}, {0.25f, 1, 1, 1}};
    assert_int_equal(sieve_model_set_labels(m, labels, 2), SIEVE_OK);
    assert_int_equal(sieve_model_set_preprocess(m, &pre), SIEVE_OK);
    assert_int_equal(sieve_model_set_metadata(m, "source", "hand-built"), SIEVE_OK);
    sieve_format f8 = sieve_format_cfloat(4, 3, 7, 1);
    assert_int_equal(sieve_model_set_tensor_format(m, sieve_model_find_tensor(m, "fc.w"), &f8),
                     SIEVE_OK);
    char *path = tmp_path("roundtrip.sieve");
    assert_int_equal(sieve_model_save_file(ctx, m, path), SIEVE_OK);

    sieve_model *r = NULL;
    assert_int_equal(sieve_model_load_file(ctx, path, &r), SIEVE_OK);
    assert_int_equal(sieve_model_tensor_count(r), sieve_model_tensor_count(m));
    assert_int_equal(sieve_model_layer_count(r), sieve_model_layer_count(m));
    for (int i = 0; i < sieve_model_tensor_count(m); i++) {
        sieve_tensor_info a, b;
        assert_int_equal(sieve_model_tensor(m, i, &a), SIEVE_OK);
        assert_int_equal(sieve_model_tensor(r, i, &b), SIEVE_OK);
        assert_string_equal(a.name, b.name);
        assert_int_equal(a.role, b.role);
        assert_memory_equal(&a.format, &b.format, sizeof(a.format));
        assert_int_equal(a.shape.rank, b.shape.rank);
        if (a.role == SIEVE_TENSOR_CONSTANT) {
            assert_int_equal(a.bytes, b.bytes);
            assert_memory_equal(m->tensors[i].data, r->tensors[i].data, a.bytes);
        }
    }
    for (int i = 0; i < sieve_model_layer_count(m); i++)
        assert_memory_equal(&m->layers[i].attrs, &r->layers[i].attrs, sizeof(sieve_layer_attrs));
    assert_string_equal(sieve_model_label(r, 1), "dog");
    assert_string_equal(sieve_model_metadata(r, "source"), "hand-built");
    assert_int_equal(sieve_model_metadata_count(r), 1);
    assert_string_equal(sieve_model_metadata_key(r, 0), "source");
    assert_null(sieve_model_metadata_key(r, 1));
    /* a directory is not a model, and says so */
    sieve_model *dir = NULL;
    assert_int_equal(sieve_model_load_file(ctx, "/", &dir), SIEVE_ERR_IO);
    assert_non_null(strstr(sieve_context_error(ctx), "not a regular file"));
    sieve_preprocess back;
    assert_int_equal(sieve_model_preprocess(r, &back), SIEVE_OK);
    assert_memory_equal(&back, &pre, sizeof(pre));

    float z1[2], z2[2];
    run_tiny(m, z1);
    run_tiny(r, z2);
    assert_memory_equal(z1, z2, sizeof(z1));

    /* borrowed (zero-copy) load from an aligned image gives the same model */
    size_t size;
    uint8_t *image = read_all(path, &size);
    void *aligned = NULL;
    assert_int_equal(posix_memalign(&aligned, 64, size), 0);
    memcpy(aligned, image, size);
    sieve_model *borrowed = NULL;
    assert_int_equal(sieve_model_load_memory(ctx, aligned, size, 0, &borrowed), SIEVE_OK);
    run_tiny(borrowed, z2);
    assert_memory_equal(z1, z2, sizeof(z1));
    sieve_model_free(borrowed);
    free(aligned);
    free(image);
    remove(path);
    sieve_model_free(r);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

/* Rewrites the JSON header of a saved image: replaces `from` by `to`. */
static uint8_t *patch_header(const uint8_t *image, size_t size, const char *from, const char *to,
                             size_t *out_size)
{
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | image[16 + i];
    char *json = malloc(hlen + 1);
    memcpy(json, image + 24, hlen);
    json[hlen] = 0;
    char *at = strstr(json, from);
    assert_non_null(at);
    size_t new_len = hlen - strlen(from) + strlen(to);
    char *patched = malloc(new_len + 1);
    size_t pre = (size_t)(at - json);
    memcpy(patched, json, pre);
    memcpy(patched + pre, to, strlen(to));
    strcpy(patched + pre + strlen(to), at + strlen(from));
    size_t old_data = (24 + hlen + 63) & ~(size_t)63;
    size_t new_data = (24 + new_len + 63) & ~(size_t)63;
    *out_size = new_data + (size - old_data);
    uint8_t *out = calloc(1, *out_size);
    memcpy(out, image, 24);
    for (int i = 0; i < 8; i++)
        out[16 + i] = (uint8_t)((uint64_t)new_len >> (8 * i));
    memcpy(out + 24, patched, new_len);
    memcpy(out + new_data, image + old_data, size - old_data);
    free(json);
    free(patched);
    return out;
}

static void expect_load_error(sieve_context *ctx, const uint8_t *image, size_t size,
                              const char *needle)
{
    sieve_model *m = (sieve_model *)0x1;
    sieve_status st = sieve_model_load_memory(ctx, image, size, 1, &m);
    if (st == SIEVE_OK) {
        fprintf(stderr, "a malformed image (%zu bytes, expected '%s') loaded\n", size,
                needle ? needle : "any error");
        sieve_model_free(m);
        fail();
    }
    assert_null(m);
    if (needle && !strstr(sieve_context_error(ctx), needle)) {
        fprintf(stderr, "error '%s' lacks '%s'\n", sieve_context_error(ctx), needle);
        fail();
    }
}

static void test_malformed_files_are_rejected_with_reason(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = tiny_model(ctx, NULL);
    char *path = tmp_path("malformed.sieve");
    assert_int_equal(sieve_model_save_file(ctx, m, path), SIEVE_OK);
    size_t size, psize;
    uint8_t *image = read_all(path, &size);
    remove(path);

    /* every truncation fails cleanly */
    for (size_t n = 0; n < size; n += (n < 256 ? 1 : 61))
        expect_load_error(ctx, image, n, NULL);

    uint8_t *bad = malloc(size);
    memcpy(bad, image, size);
    bad[0] = 'X';
    expect_load_error(ctx, bad, size, "magic");
    memcpy(bad, image, size);
    bad[8] = 99;
    expect_load_error(ctx, bad, size, "version");
    memcpy(bad, image, size);
    bad[12] = 1;
    expect_load_error(ctx, bad, size, "flags");
    memcpy(bad, image, size);
    bad[23] = 0x7f;
    expect_load_error(ctx, bad, size, "header length");
    free(bad);

    static const struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"offset\":0", "\"offset\":32", "aligned"},
        {"\"offset\":0", "\"offset\":1e15", "past end"},
        {"\"offset\":64", "\"offset\":0", "overlap"},
        /* conv.w [0,16) and fc.w moved to [8,40): the empty-looking order
         * trick must not hide an overlap behind another blob */
        {"\"offset\":128", "\"offset\":0", "overlap"},
        {"\"bytes\":16", "\"bytes\":12", "need"},
        {"\"op\":\"conv\"", "\"op\":\"resize\"", "unknown op"},
        {"\"inputs\":[\"y\"]", "\"inputs\":[\"z\"]", "before it is defined"},
        {"\"inputs\":[\"y\"]", "\"inputs\":[\"nope\"]", "nope"},
        {"\"format\":\"fp32\"", "\"format\":\"cf(e9,m3,b7)\"", "format"},
        {"\"shape\":[1,1,2,2]", "\"shape\":[1,1,2,-2]", "dim"},
        {"\"shape\":[1,1,2,2]", "\"shape\":[1099511627776,1099511627776,1,1]", "elements"},
        {"\"group\":1", "\"group\":0", "group"},
        {"\"tensors\":[", "\"tensors\":{", NULL},
        {"\"kernel\":[2,2]", "\"kernel\":[2]", "kernel"},
    };
    for (size_t i = 0; i < SIEVE_ARRAY_LEN(cases); i++) {
        uint8_t *p = patch_header(image, size, cases[i].from, cases[i].to, &psize);
        expect_load_error(ctx, p, psize, cases[i].needle);
        free(p);
    }
    free(image);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

/* y = add(x, c) with the ReLU fused or not: x [1, 4] input, c constant. */
static sieve_model *add_model(sieve_context *ctx, bool relu)
{
    static const float c_values[4] = {0.5f, 3, -4, 5};
    sieve_model *m = sieve_model_new(ctx);
    sieve_format fp32 = sieve_format_fp32();
    sieve_shape s = {2, {1, 4}};
    int x = sieve_model_add_tensor(m, "x", SIEVE_TENSOR_INPUT, &s, &fp32);
    int c = sieve_model_add_tensor(m, "c", SIEVE_TENSOR_CONSTANT, &s, &fp32);
    int y = sieve_model_add_tensor(m, "y", SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
    assert_int_equal(sieve_model_set_constant(m, c, c_values, 4), SIEVE_OK);
    sieve_layer_attrs attrs = {.add = {.relu = relu}};
    int in[2] = {x, c};
    assert_true(sieve_model_add_layer(m, "join", SIEVE_OP_ADD, in, 2, &y, 1, &attrs) >= 0);
    assert_int_equal(sieve_model_mark_input(m, x), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, y), SIEVE_OK);
    return m;
}

static uint8_t *saved_image(sieve_context *ctx, const sieve_model *m, size_t *size)
{
    char *path = tmp_path("saved.sieve");
    assert_int_equal(sieve_model_save_file(ctx, m, path), SIEVE_OK);
    uint8_t *image = read_all(path, size);
    remove(path);
    return image;
}

/* A fused Add-ReLU needs file version 2, which version 1 readers refuse
 * (they would drop the ReLU); every other model is still written as
 * version 1, byte for byte what those readers know. */
static void test_add_relu_is_written_as_version_2_and_nothing_else_is(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    size_t size;
    sieve_model *m = tiny_model(ctx, NULL);
    uint8_t *image = saved_image(ctx, m, &size);
    assert_int_equal(image[8], 1);
    free(image);
    sieve_model_free(m);

    m = add_model(ctx, false);
    image = saved_image(ctx, m, &size);
    assert_int_equal(image[8], 1);
    for (size_t i = 0; i + 4 <= size; i++) /* no attribute a version 1 reader lacks */
        assert_false(memcmp(image + i, "relu", 4) == 0);
    free(image);
    sieve_model_free(m);

    m = add_model(ctx, true);
    image = saved_image(ctx, m, &size);
    sieve_model_free(m);
    assert_int_equal(image[8], 2);
    sieve_model *r = NULL;
    assert_int_equal(sieve_model_load_memory(ctx, image, size, 1, &r), SIEVE_OK);
    assert_true(r->layers[0].attrs.add.relu);
    /* [1 -2 3 -4] + [0.5 3 -4 5] = [1.5 1 -1 1] */
    static const float x[4] = {1, -2, 3, -4}, want[4] = {1.5f, 1, 0, 1};
    float y[4];
    sieve_exec *e = NULL;
    assert_int_equal(sieve_exec_create(r, NULL, &e), SIEVE_OK);
    assert_int_equal(sieve_exec_set_input(e, 0, x, 4), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, y, 4), SIEVE_OK);
    for (int i = 0; i < 4; i++)
        assert_float_equal(y[i], want[i], 0);
    sieve_exec_free(e);
    sieve_model_free(r);

    image[8] = 1; /* a version 1 file cannot carry it */
    expect_load_error(ctx, image, size, "version 2");
    image[8] = 3;
    expect_load_error(ctx, image, size, "version 3");
    free(image);
    sieve_context_destroy(ctx);
}

static void test_arena_reuses_memory_by_lifetime(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_format fp32 = sieve_format_fp32();
    sieve_model *m = sieve_model_new(ctx);
    /* a chain of 6 relus on 1024 floats: only two buffers live at a time
     * (plus the graph input until layer 0) */
    sieve_shape s = {2, {1, 1024}};
    int prev = sieve_model_add_tensor(m, "in", SIEVE_TENSOR_INPUT, &s, &fp32);
    sieve_model_mark_input(m, prev);
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "a%d", i);
        int t = sieve_model_add_tensor(m, name, SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
        assert_true(sieve_model_add_layer(m, NULL, SIEVE_OP_RELU, &prev, 1, &t, 1, NULL) >= 0);
        prev = t;
    }
    sieve_model_mark_output(m, prev);
    sieve_exec *e = NULL;
    assert_int_equal(sieve_exec_create(m, NULL, &e), SIEVE_OK);
    assert_int_equal(sieve_exec_activation_bytes_total(e), 7 * 4096);
    /* the graph input keeps its buffer (set once, run many times); the
     * six relu outputs need only two buffers between them */
    assert_int_equal(sieve_exec_arena_bytes(e), 3 * 4096);
    float x[1024], y[1024];
    for (int i = 0; i < 1024; i++)
        x[i] = (float)(i % 7) - 3;
    assert_int_equal(sieve_exec_set_input(e, 0, x, 1024), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, y, 1024), SIEVE_OK);
    for (int i = 0; i < 1024; i++)
        assert_true(y[i] == (x[i] > 0 ? x[i] : 0));
    /* a second run without setting the input again gives the same answer */
    float y2[1024];
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, y2, 1024), SIEVE_OK);
    assert_memory_equal(y, y2, sizeof(y));
    sieve_exec_free(e);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

static void test_packed_activations_equal_quantized_fp32(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    /* Activations y and f stored in an unsigned 6-bit format. The oracle
     * repeats the hand computation with y rounded by the scalar codec. */
    sieve_format uf = sieve_format_cfloat(3, 3, 0, 0);
    sieve_model *m = tiny_model(ctx, &uf);
    float z[2];
    run_tiny(m, z);
    float y[4], want[2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            float v = tiny_x[i * 3 + j] + tiny_x[(i + 1) * 3 + j + 1] + tiny_b;
            uint32_t code;
            assert_int_equal(sieve_cfloat_encode_ref(&uf, v > 0 ? v : 0, &code), SIEVE_OK);
            y[i * 2 + j] = sieve_cfloat_decode_ref(&uf, code);
        }
    for (int o = 0; o < 2; o++) {
        want[o] = tiny_bias[o];
        for (int k = 0; k < 4; k++)
            want[o] += tiny_W[o * 4 + k] * y[k];
    }
    assert_float_equal(z[0], want[0], 1e-5);
    assert_float_equal(z[1], want[1], 1e-5);
    /* and the result differs from fp32: 12.5 and 14.5 are not in the format */
    float full[2];
    tiny_expected(full);
    assert_true(fabsf(full[0] - z[0]) > 1e-3f || fabsf(full[1] - z[1]) > 1e-3f);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

/* x -> add(x, x) -> y (stored in `fmt`) -> relu -> z (fp32), with n large
 * enough (over 2 M element operations) that both layers run on the pool and
 * y is encoded and decoded in several blocks. */
static sieve_model *doubling_model(sieve_context *ctx, size_t n, const sieve_format *fmt)
{
    sieve_model *m = sieve_model_new(ctx);
    assert_non_null(m);
    sieve_format fp32 = sieve_format_fp32();
    sieve_shape sx = {2, {1, (int64_t)n}};
    int x = sieve_model_add_tensor(m, "x", SIEVE_TENSOR_INPUT, &sx, &fp32);
    int y = sieve_model_add_tensor(m, "y", SIEVE_TENSOR_ACTIVATION, NULL, fmt);
    int z = sieve_model_add_tensor(m, "z", SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
    int add_in[2] = {x, x};
    assert_true(sieve_model_add_layer(m, "double", SIEVE_OP_ADD, add_in, 2, &y, 1, NULL) >= 0);
    assert_true(sieve_model_add_layer(m, "relu", SIEVE_OP_RELU, &y, 1, &z, 1, NULL) >= 0);
    assert_int_equal(sieve_model_mark_input(m, x), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, z), SIEVE_OK);
    return m;
}

static void test_large_packed_activations_round_trip_on_one_and_two_threads(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    const size_t n = 2100001; /* not a multiple of any block */
    sieve_format f8 = sieve_format_cfloat(4, 3, 7, 1);
    sieve_model *m = doubling_model(ctx, n, &f8);
    float *x = malloc(n * sizeof(float)), *z = malloc(n * sizeof(float));
    float *want = malloc(n * sizeof(float));
    assert_non_null(x), assert_non_null(z), assert_non_null(want);
    /* x takes 2001 distinct values: the oracle decodes each once */
    float value_of[2001];
    for (uint32_t v = 0; v < 2001; v++) {
        float xv = (float)v / 100.0f - 10.0f;
        uint32_t code;
        assert_int_equal(sieve_cfloat_encode_ref(&f8, xv + xv, &code), SIEVE_OK);
        float y = sieve_cfloat_decode_ref(&f8, code);
        value_of[v] = y > 0 ? y : 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)((i * 2654435761u) % 2001);
        x[i] = (float)v / 100.0f - 10.0f;
        want[i] = value_of[v];
    }
    for (int threads = 1; threads <= 2; threads++) {
        sieve_exec_options o = {.threads = threads};
        sieve_exec *e = NULL;
        assert_int_equal(sieve_exec_create(m, &o, &e), SIEVE_OK);
        assert_int_equal(sieve_exec_set_input(e, 0, x, n), SIEVE_OK);
        assert_int_equal(sieve_exec_run(e), SIEVE_OK);
        assert_int_equal(sieve_exec_get_output(e, 0, z, n), SIEVE_OK);
        for (size_t i = 0; i < n; i++)
            if (z[i] != want[i])
                fail_msg("%d threads: z[%zu] = %g, expected %g", threads, i, (double)z[i],
                         (double)want[i]);
        sieve_exec_free(e);
    }
    /* An unsigned y cannot hold negatives: the error names the first one,
     * wherever the blocks and threads split the tensor. */
    sieve_format u8 = sieve_format_cfloat(4, 4, 7, 0);
    sieve_model *mu = doubling_model(ctx, n, &u8);
    for (size_t i = 0; i < n; i++)
        x[i] = i < 500000 || i % 3 ? 1.0f : -1.0f;
    for (int threads = 1; threads <= 2; threads++) {
        sieve_exec_options o = {.threads = threads};
        sieve_exec *e = NULL;
        assert_int_equal(sieve_exec_create(mu, &o, &e), SIEVE_OK);
        assert_int_equal(sieve_exec_set_input(e, 0, x, n), SIEVE_OK);
        assert_int_equal(sieve_exec_run(e), SIEVE_ERR_RANGE);
        assert_non_null(strstr(sieve_context_error(ctx), "output value 500001 (-2)"));
        sieve_exec_free(e);
    }
    free(x), free(z), free(want);
    sieve_model_free(m);
    sieve_model_free(mu);
    sieve_context_destroy(ctx);
}

/* A layer big enough for the thread pool (128 -> 128 channels, 3x3, on 4x4:
 * 2.4 M MACs) whose packed output is one codec block: on 2 threads only one
 * part encodes it, and a leftover rejection of the idle part once failed the
 * run ("output value 0 cannot be stored"). The packed run must succeed on 1
 * and 2 threads and give the same bits. */
static void test_small_packed_output_of_a_pooled_layer(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = sieve_model_new(ctx);
    assert_non_null(m);
    sieve_format fp32 = sieve_format_fp32(), f8 = sieve_format_cfloat(4, 3, 7, 1);
    const int c = 128;
    sieve_shape sx = shape4(1, c, 4, 4), sw = shape4(c, c, 3, 3);
    int x = sieve_model_add_tensor(m, "x", SIEVE_TENSOR_INPUT, &sx, &fp32);
    int w = sieve_model_add_tensor(m, "w", SIEVE_TENSOR_CONSTANT, &sw, &fp32);
    int y = sieve_model_add_tensor(m, "y", SIEVE_TENSOR_ACTIVATION, NULL, &f8);
    int z = sieve_model_add_tensor(m, "z", SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
    size_t nw = (size_t)c * c * 9, nx = (size_t)c * 16;
    float *wv = malloc(nw * sizeof(float)), *xv = malloc(nx * sizeof(float));
    assert_non_null(wv), assert_non_null(xv);
    for (size_t i = 0; i < nw; i++)
        wv[i] = (float)((int)(i * 2654435761u % 17) - 8) / 256.0f;
    for (size_t i = 0; i < nx; i++)
        xv[i] = (float)((int)(i * 40503u % 13) - 6) / 8.0f;
    assert_int_equal(sieve_model_set_constant(m, w, wv, nw), SIEVE_OK);
    sieve_layer_attrs conv = {.conv = {.kernel = {3, 3}, .stride = {1, 1}, .dilation = {1, 1},
                                       .pads = {1, 1, 1, 1}, .group = 1}};
    int cin[2] = {x, w};
    assert_true(sieve_model_add_layer(m, "conv", SIEVE_OP_CONV, cin, 2, &y, 1, &conv) >= 0);
    assert_true(sieve_model_add_layer(m, "relu", SIEVE_OP_RELU, &y, 1, &z, 1, NULL) >= 0);
    assert_int_equal(sieve_model_mark_input(m, x), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, z), SIEVE_OK);
    float out[2][2048];
    for (int threads = 1; threads <= 2; threads++) {
        sieve_exec_options o = {.threads = threads};
        sieve_exec *e = NULL;
        assert_int_equal(sieve_exec_create(m, &o, &e), SIEVE_OK);
        assert_int_equal(sieve_exec_set_input(e, 0, xv, nx), SIEVE_OK);
        for (int run = 0; run < 2; run++) {
            if (sieve_exec_run(e) != SIEVE_OK)
                fail_msg("%d threads, run %d: %s", threads, run, sieve_context_error(ctx));
        }
        assert_int_equal(sieve_exec_get_output(e, 0, out[threads - 1], 2048), SIEVE_OK);
        sieve_exec_free(e);
    }
    assert_memory_equal(out[0], out[1], sizeof(out[0]));
    free(wv), free(xv);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

static float quantized(const sieve_format *fmt, float v)
{
    assert_int_equal(sieve_cfloat_quantize(fmt, &v, 1, NULL), SIEVE_OK);
    return v;
}

/* Max over the valid taps of a kh x kw window (stride s, pads pt/pl) of
 * plane `x` (h x w) at output (oy, ox): the pooling oracle. */
static float window_max(const float *x, int h, int w, int k, int s, int pad, int oy, int ox)
{
    float best = -INFINITY;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w && x[iy * w + ix] > best)
                best = x[iy * w + ix];
        }
    return best;
}

/* Element-wise, concat and max pool layers on packed activations (which
 * the executor hands to their packed kernels: pieces decoded and encoded
 * in place, byte copies for concat) equal the layers computed by hand on
 * the quantized values, rounded to each output's format: 8- and 4-bit
 * formats mixed, concat pieces off byte boundaries, pool planes whose
 * outputs do and do not start on whole bytes, a broadcasting add (which
 * the packed kernel declines), 1 and 2 threads. */
static void test_packed_layers_equal_hand_computation_on_quantized_values(void **state)
{
    (void)state;
    enum { C = 3, H = 7, W = 9, HW = H * W, PH = 4, PW = 5 };
    sieve_format a8 = sieve_format_cfloat(4, 3, 7, 1), b4 = sieve_format_cfloat(2, 1, 1, 1);
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = sieve_model_new(ctx);
    sieve_shape sx = shape4(1, C, H, W);
    int x = sieve_model_add_tensor(m, "x", SIEVE_TENSOR_INPUT, &sx, &a8);
    const char *names[] = {"r", "s", "s2", "c", "c4", "p", "p2", "g", "b"};
    const sieve_format *fmts[] = {&b4, &a8, &b4, &a8, &b4, &b4, &a8, &a8, &a8};
    int t[9];
    for (int i = 0; i < 9; i++)
        assert_true((t[i] = sieve_model_add_tensor(m, names[i], SIEVE_TENSOR_ACTIVATION, NULL,
                                                   fmts[i])) >= 0);
    int r = t[0], s = t[1], s2 = t[2], c = t[3], c4 = t[4], p = t[5], p2 = t[6], g = t[7],
        b = t[8];
    sieve_layer_attrs relu_add = {.add = {.relu = true}}, cat = {.axis = {.axis = 1}};
    sieve_layer_attrs pool3 = {.pool = {.kernel = {3, 3}, .stride = {2, 2}, .dilation = {1, 1},
                                        .pads = {1, 1, 1, 1}}};
    sieve_layer_attrs pool2 = {.pool = {.kernel = {2, 2}, .stride = {2, 2}, .dilation = {1, 1},
                                        .ceil_mode = true}};
    assert_true(sieve_model_add_layer(m, "relu", SIEVE_OP_RELU, &x, 1, &r, 1, NULL) >= 0);
    assert_true(sieve_model_add_layer(m, "add", SIEVE_OP_ADD, (int[]){x, r}, 2, &s, 1, NULL) >= 0);
    assert_true(sieve_model_add_layer(m, "add_relu", SIEVE_OP_ADD, (int[]){x, x}, 2, &s2, 1,
                                      &relu_add) >= 0);
    assert_true(sieve_model_add_layer(m, "cat", SIEVE_OP_CONCAT, (int[]){r, s, s2}, 3, &c, 1,
                                      &cat) >= 0);
    assert_true(sieve_model_add_layer(m, "cat4", SIEVE_OP_CONCAT, (int[]){r, r}, 2, &c4, 1,
                                      &cat) >= 0);
    assert_true(sieve_model_add_layer(m, "pool", SIEVE_OP_MAXPOOL, &c, 1, &p, 1, &pool3) >= 0);
    assert_true(sieve_model_add_layer(m, "pool2", SIEVE_OP_MAXPOOL, &c4, 1, &p2, 1, &pool2) >= 0);
    assert_true(sieve_model_add_layer(m, "gmax", SIEVE_OP_GLOBALMAXPOOL, &x, 1, &g, 1, NULL) >= 0);
    assert_true(sieve_model_add_layer(m, "bcast", SIEVE_OP_ADD, (int[]){x, g}, 2, &b, 1, NULL) >=
                0);
    assert_int_equal(sieve_model_mark_input(m, x), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, p), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, p2), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, b), SIEVE_OK);

    /* the oracle */
    float in[C * HW], X[C * HW], R[C * HW], S[C * HW], S2[C * HW], cat3[3 * C * HW],
        cat2[2 * C * HW], P[3 * C * PH * PW], P2[2 * C * PH * PW], B[C * HW];
    for (int i = 0; i < C * HW; i++) {
        in[i] = 0.37f * (float)((i * 29 + 7) % 17 - 8);
        X[i] = quantized(&a8, in[i]);
        R[i] = quantized(&b4, X[i] > 0 ? X[i] : 0);
        S[i] = quantized(&a8, X[i] + R[i]);
        S2[i] = quantized(&b4, X[i] + X[i] > 0 ? X[i] + X[i] : 0);
        cat3[i] = quantized(&a8, R[i]);
        cat3[C * HW + i] = S[i];
        cat3[2 * C * HW + i] = quantized(&a8, S2[i]);
        cat2[i] = cat2[C * HW + i] = R[i];
    }
    for (int ch = 0; ch < 3 * C; ch++)
        for (int oy = 0; oy < PH; oy++)
            for (int ox = 0; ox < PW; ox++) {
                P[(ch * PH + oy) * PW + ox] =
                    quantized(&b4, window_max(cat3 + ch * HW, H, W, 3, 2, 1, oy, ox));
                if (ch < 2 * C)
                    P2[(ch * PH + oy) * PW + ox] =
                        quantized(&a8, window_max(cat2 + ch * HW, H, W, 2, 2, 0, oy, ox));
            }
    for (int ch = 0; ch < C; ch++) {
        float gmax = quantized(&a8, window_max(X + ch * HW, H, W, 9, 9, 0, 0, 0));
        for (int i = 0; i < HW; i++)
            B[ch * HW + i] = quantized(&a8, X[ch * HW + i] + gmax);
    }

    for (int threads = 1; threads <= 2; threads++) {
        sieve_exec_options o = {.threads = threads};
        sieve_exec *e = NULL;
        assert_int_equal(sieve_exec_create(m, &o, &e), SIEVE_OK);
        assert_int_equal(sieve_exec_set_input(e, 0, in, C * HW), SIEVE_OK);
        assert_int_equal(sieve_exec_run(e), SIEVE_OK);
        float got[3 * C * HW];
        const struct {
            const float *want;
            size_t n;
        } outs[3] = {{P, 3 * C * PH * PW}, {P2, 2 * C * PH * PW}, {B, C * HW}};
        for (int k = 0; k < 3; k++) {
            assert_int_equal(sieve_exec_get_output(e, k, got, outs[k].n), SIEVE_OK);
            for (size_t i = 0; i < outs[k].n; i++)
                if (got[i] != outs[k].want[i])
                    fail_msg("output %d, element %zu, %d thread(s): got %g, want %g", k, i,
                             threads, (double)got[i], (double)outs[k].want[i]);
        }
        sieve_exec_free(e);
    }
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

static void test_suffix_run_from_cached_activation_equals_full_run(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = tiny_model(ctx, NULL);
    sieve_exec_options o = {.keep_activations = 1};
    sieve_exec *e = NULL;
    assert_int_equal(sieve_exec_create(m, &o, &e), SIEVE_OK);
    /* no reuse: every activation has its own bytes */
    assert_int_equal(sieve_exec_arena_bytes(e), sieve_exec_activation_bytes_total(e));
    assert_int_equal(sieve_exec_set_input(e, 0, tiny_x, 9), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    int y = sieve_model_find_tensor(m, "y");
    float cached[4], z_full[2], z_suffix[2];
    assert_int_equal(sieve_exec_get_tensor(e, y, cached, 4), SIEVE_OK);
    assert_float_equal(cached[0], 6.5f, 0); /* worked out in tiny_expected */
    assert_float_equal(cached[1], 0.0f, 0);
    assert_int_equal(sieve_exec_get_output(e, 0, z_full, 2), SIEVE_OK);
    /* poison y, then restore it from the cache and run layers 1.. only */
    float poison[4] = {100, 100, 100, 100};
    assert_int_equal(sieve_exec_set_tensor(e, y, poison, 4), SIEVE_OK);
    assert_int_equal(sieve_exec_run_layers(e, 1, 3), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, z_suffix, 2), SIEVE_OK);
    assert_true(z_suffix[0] != z_full[0]);
    assert_int_equal(sieve_exec_set_tensor(e, y, cached, 4), SIEVE_OK);
    assert_int_equal(sieve_exec_run_layers(e, 1, 3), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, z_suffix, 2), SIEVE_OK);
    assert_memory_equal(z_full, z_suffix, sizeof(z_full));
    sieve_exec_free(e);
    /* without keep_activations intermediate tensors are not accessible */
    assert_int_equal(sieve_exec_create(m, NULL, &e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_tensor(e, y, cached, 4), SIEVE_ERR_STATE);
    assert_int_equal(sieve_exec_run_layers(e, 1, 3), SIEVE_ERR_STATE);
    sieve_exec_free(e);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

static void test_executor_keeps_the_formats_it_was_created_with(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = tiny_model(ctx, NULL);
    sieve_exec *e = NULL;
    float before[2], after[2];
    assert_int_equal(sieve_exec_create(m, NULL, &e), SIEVE_OK);
    assert_int_equal(sieve_exec_set_input(e, 0, tiny_x, 9), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, before, 2), SIEVE_OK);
    /* a later format change must not reach (or overflow) this executor */
    sieve_format a6 = sieve_format_cfloat(3, 3, 0, 0);
    assert_int_equal(sieve_model_set_tensor_format(m, sieve_model_find_tensor(m, "y"), &a6),
                     SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, after, 2), SIEVE_OK);
    assert_memory_equal(before, after, sizeof(before));
    sieve_exec_free(e);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
}

/* A variant may change formats and constant bytes, never the computation. */
static void test_variant_must_share_the_graph(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *base = add_model(ctx, false), *var = add_model(ctx, true);
    /* same tensors and op, another attribute: a fused ReLU */
    assert_int_equal(sieve_model_add_variant(base, "v", var, "{}"), SIEVE_ERR_ARG);
    assert_non_null(strstr(sieve_context_error(ctx), "join"));
    sieve_model_free(var);
    /* same op and attributes, other wiring: y = c + x read as x + c is not
     * the same layer */
    assert_int_equal(sieve_model_clone(base, &var), SIEVE_OK);
    int t = var->layers[0].inputs[0];
    var->layers[0].inputs[0] = var->layers[0].inputs[1];
    var->layers[0].inputs[1] = t;
    assert_int_equal(sieve_model_add_variant(base, "v", var, "{}"), SIEVE_ERR_ARG);
    sieve_model_free(var);
    assert_int_equal(sieve_model_variant_count(base), 0);
    /* an unchanged clone is a variant */
    assert_int_equal(sieve_model_clone(base, &var), SIEVE_OK);
    assert_int_equal(sieve_model_add_variant(base, "v", var, "{}"), SIEVE_OK);
    assert_int_equal(sieve_model_variant_count(base), 1);
    sieve_model_free(var);
    sieve_model_free(base);
    sieve_context_destroy(ctx);
}

static void test_package_with_variants_round_trips(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *base = tiny_model(ctx, NULL);
    sieve_model *var = NULL;
    assert_int_equal(sieve_model_clone(base, &var), SIEVE_OK);
    sieve_format w8 = sieve_format_cfloat(4, 3, 7, 1), a6 = sieve_format_cfloat(3, 3, 0, 0);
    assert_int_equal(sieve_model_set_tensor_format(var, sieve_model_find_tensor(var, "fc.w"), &w8),
                     SIEVE_OK);
    assert_int_equal(sieve_model_set_tensor_format(var, sieve_model_find_tensor(var, "y"), &a6),
                     SIEVE_OK);
    assert_int_equal(sieve_model_add_variant(base, "accurate", var, "{\"threshold\":0.5}"),
                     SIEVE_OK);
    assert_int_equal(sieve_model_variant_count(base), 1);
    /* constants of a package are frozen: its variants may share their bytes */
    assert_int_equal(sieve_model_set_tensor_format(base, sieve_model_find_tensor(base, "fc.w"), &w8),
                     SIEVE_ERR_STATE);
    float z_var[2], z_base[2], z_loaded[2];
    run_tiny(var, z_var);
    run_tiny(base, z_base);
    assert_true(z_var[0] != z_base[0] || z_var[1] != z_base[1]);

    char *path = tmp_path("package.sieve");
    assert_int_equal(sieve_model_save_file(ctx, base, path), SIEVE_OK);
    sieve_model *pkg = NULL, *extracted = NULL;
    assert_int_equal(sieve_model_load_file(ctx, path, &pkg), SIEVE_OK);
    assert_int_equal(sieve_model_variant_count(pkg), 1);
    assert_string_equal(sieve_model_variant_name(pkg, 0), "accurate");
    assert_string_equal(sieve_model_variant_calibration(pkg, 0), "{\"threshold\":0.5}");
    run_tiny(pkg, z_loaded); /* the base is still the original */
    assert_memory_equal(z_loaded, z_base, sizeof(z_base));
    assert_int_equal(sieve_model_extract_variant(pkg, 0, &extracted), SIEVE_OK);
    run_tiny(extracted, z_loaded);
    assert_memory_equal(z_loaded, z_var, sizeof(z_var));
    sieve_tensor_info info;
    assert_int_equal(sieve_model_tensor(extracted, sieve_model_find_tensor(extracted, "fc.w"), &info),
                     SIEVE_OK);
    assert_memory_equal(&info.format, &w8, sizeof(w8));

    /* a variant that changes a constant's format must carry its data */
    size_t size, psize;
    uint8_t *image = read_all(path, &size);
    uint8_t *bad = patch_header(image, size, "\"fc.w\":{\"format\":\"cf(e4,m3,b7)\",\"offset\"",
                                "\"fc.w\":{\"format\":\"cf(e4,m3,b6)\",\"offzet\"", &psize);
    expect_load_error(ctx, bad, psize, "no data");
    free(bad);
    free(image);
    remove(path);
    sieve_model_free(extracted);
    sieve_model_free(pkg);
    sieve_model_free(var);
    sieve_model_free(base);
    sieve_context_destroy(ctx);
}

/* ncnn-style: make the i-th allocation fail, for every i. */
typedef struct failing_alloc {
    int countdown;
    long live;
} failing_alloc;

static void *fail_alloc(void *user, size_t size)
{
    failing_alloc *f = user;
    if (f->countdown-- == 0)
        return NULL;
    f->live++;
    return malloc(size);
}

static void fail_free(void *user, void *p, size_t size)
{
    (void)size;
    failing_alloc *f = user;
    if (p)
        f->live--;
    free(p);
}

static void test_every_allocation_failure_is_an_error(void **state)
{
    (void)state;
    sieve_context *base = sieve_context_create(NULL);
    sieve_model *m = tiny_model(base, NULL);
    char *path = tmp_path("alloc.sieve");
    assert_int_equal(sieve_model_save_file(base, m, path), SIEVE_OK);
    sieve_model_free(m);
    sieve_context_destroy(base);
    bool succeeded = false;
    for (int i = 0; i < 2000 && !succeeded; i++) {
        failing_alloc f = {i, 0};
        sieve_allocator a = {fail_alloc, NULL, fail_free, &f};
        sieve_context_options o = {&a, 1};
        sieve_context *ctx = sieve_context_create(&o);
        if (!ctx)
            continue;
        sieve_model *r = NULL;
        sieve_exec *e = NULL;
        if (sieve_model_load_file(ctx, path, &r) == SIEVE_OK &&
            sieve_exec_create(r, NULL, &e) == SIEVE_OK) {
            succeeded = true;
            float z[2], want[2];
            assert_int_equal(sieve_exec_set_input(e, 0, tiny_x, 9), SIEVE_OK);
            assert_int_equal(sieve_exec_run(e), SIEVE_OK);
            assert_int_equal(sieve_exec_get_output(e, 0, z, 2), SIEVE_OK);
            tiny_expected(want);
            assert_float_equal(z[0], want[0], 1e-5);
        }
        sieve_exec_free(e);
        sieve_model_free(r);
        sieve_context_destroy(ctx);
        assert_int_equal(f.live, 0); /* nothing leaked on any failure path */
    }
    assert_true(succeeded);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_net_matches_hand_computation),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_malformed_files_are_rejected_with_reason),
        cmocka_unit_test(test_add_relu_is_written_as_version_2_and_nothing_else_is),
        cmocka_unit_test(test_arena_reuses_memory_by_lifetime),
        cmocka_unit_test(test_packed_activations_equal_quantized_fp32),
        cmocka_unit_test(test_large_packed_activations_round_trip_on_one_and_two_threads),
        cmocka_unit_test(test_small_packed_output_of_a_pooled_layer),
        cmocka_unit_test(test_packed_layers_equal_hand_computation_on_quantized_values),
        cmocka_unit_test(test_suffix_run_from_cached_activation_equals_full_run),
        cmocka_unit_test(test_executor_keeps_the_formats_it_was_created_with),
        cmocka_unit_test(test_variant_must_share_the_graph),
        cmocka_unit_test(test_package_with_variants_round_trips),
        cmocka_unit_test(test_every_allocation_failure_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
