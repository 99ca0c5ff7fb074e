/* Layer kernels: the optimized run agrees with the naive run_ref on odd
 * shapes (1 and 2 threads) within a tolerance derived from the reduction
 * length; run_ref agrees with small examples worked by hand; packed
 * weights give the same result as fp32 weights holding the same values;
 * infer rejects bad shapes with a message naming the problem. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph.h"
#include "ops/conv_direct.h"
#include "ops/kernels.h"
#include "ops/ops.h"
#include "ops/winograd.h"
#include "threads.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(void) /* in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) & 0xFFFFFF) / (float)(1 << 23) - 1.0f;
}

static sieve_shape shape_of(int rank, ...)
{
    sieve_shape s;
    memset(&s, 0, sizeof(s));
    s.rank = rank;
    va_list ap;
    va_start(ap, rank);
    for (int d = 0; d < rank; d++)
        s.dims[d] = va_arg(ap, int);
    va_end(ap);
    return s;
}

static size_t numel(const sieve_shape *s)
{
    size_t n = 1;
    for (int d = 0; d < s->rank; d++)
        n *= (size_t)s->dims[d];
    return n;
}

static sieve_layer layer_of(sieve_op op, int n_in)
{
    sieve_layer l;
    memset(&l, 0, sizeof(l));
    l.name = "test";
    l.op = op;
    l.n_inputs = n_in;
    l.n_outputs = 1;
    for (int i = 0; i < n_in; i++)
        l.inputs[i] = i;
    return l;
}

/* An fp32 input with random values in [-1, 1) (owned by the test). */
static sieve_op_input random_input(sieve_shape s)
{
    sieve_op_input in;
    memset(&in, 0, sizeof(in));
    in.shape = s;
    in.format = sieve_format_fp32();
    float *v = malloc(numel(&s) * sizeof(float) + 1);
    for (size_t i = 0; i < numel(&s); i++)
        v[i] = uniform();
    in.f32 = v;
    return in;
}

static sieve_op_input values_input(sieve_shape s, const float *values)
{
    sieve_op_input in = random_input(s);
    memcpy((float *)in.f32, values, numel(&s) * sizeof(float));
    return in;
}

static void free_input(sieve_op_input *in)
{
    free((void *)in->f32);
    free((void *)in->packed);
    in->f32 = NULL;
    in->packed = NULL;
}

static sieve_shape infer_ok(const sieve_layer *l, const sieve_op_input *in, int n_in)
{
    sieve_shape shapes[SIEVE_MAX_LAYER_INPUTS], out;
    for (int i = 0; i < n_in; i++)
        shapes[i] = in[i].shape;
    char err[256] = "";
    memset(&out, 0, sizeof(out));
    sieve_status st = sieve_op_kernels[l->op].infer(l, shapes, n_in, &out, err, sizeof(err));
    if (st != SIEVE_OK)
        fail_msg("infer failed: %s", err);
    return out;
}

/* Expects infer to fail with a message containing `needle`. */
static void infer_fails(const sieve_layer *l, const sieve_shape *shapes, int n_in,
                        const char *needle)
{
    sieve_shape out;
    char err[256] = "";
    sieve_status st = sieve_op_kernels[l->op].infer(l, shapes, n_in, &out, err, sizeof(err));
    assert_int_not_equal(st, SIEVE_OK);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    assert_non_null(strstr(err, sieve_op_name(l->op))); /* names the op */
}

/* Runs the optimized kernel with `threads` threads into a fresh buffer. */
static float *run_fast(const sieve_layer *l, const sieve_op_input *in, int n_in,
                       const sieve_shape *out, int threads)
{
    sieve_shape shapes[SIEVE_MAX_LAYER_INPUTS];
    for (int i = 0; i < n_in; i++)
        shapes[i] = in[i].shape;
    const sieve_op_kernel *k = &sieve_op_kernels[l->op];
    size_t floats = k->scratch_floats ? k->scratch_floats(l, shapes, n_in, out, threads) : 0;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_pool *pool = NULL;
    assert_int_equal(sieve_pool_create(ctx, threads, &pool), SIEVE_OK);
    /* a canary after the scratch: kernels stay within what they asked for */
    enum { CANARY = 64 };
    float *scratch = sieve_alloc_aligned(ctx, (floats + CANARY) * sizeof(float));
    /* poison the scratch: kernels must not rely on it being zero */
    for (size_t i = 0; i < floats; i++)
        scratch[i] = NAN;
    for (size_t i = floats; i < floats + CANARY; i++)
        scratch[i] = 12345.0f;
    sieve_op_env env = {pool, floats ? scratch : NULL, floats};
    float *y = malloc(numel(out) * sizeof(float) + 1);
    for (size_t i = 0; i < numel(out); i++)
        y[i] = NAN;
    k->run(l, in, n_in, y, out, &env);
    for (size_t i = floats; i < floats + CANARY; i++)
        if (scratch[i] != 12345.0f)
            fail_msg("%s wrote past its scratch of %zu floats (at %zu)", sieve_op_name(l->op),
                     floats, i);
    sieve_free_aligned(ctx, scratch, (floats + CANARY) * sizeof(float));
    sieve_pool_destroy(pool);
    sieve_context_destroy(ctx);
    return y;
}

static float *run_ref(const sieve_layer *l, const sieve_op_input *in, int n_in,
                      const sieve_shape *out)
{
    float *y = malloc(numel(out) * sizeof(float) + 1);
    for (size_t i = 0; i < numel(out); i++)
        y[i] = NAN;
    sieve_op_kernels[l->op].run_ref(l, in, n_in, y, out);
    return y;
}

/* |got - want| <= tol[i] (or rel * |want| + abs_tol when tol is NULL). */
static void expect_close(const float *got, const float *want, size_t n, const float *tol,
                         double rel, double abs_tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double t = tol ? tol[i] : rel * fabs(want[i]) + abs_tol;
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= t))
            fail_msg("%s: element %zu: got %.9g, want %.9g (tolerance %.3g)", what, i,
                     (double)got[i], (double)want[i], t);
    }
}

/* Tolerance of a reduction of length k per output: k * eps * sum |a * b|,
 * where sum |a * b| comes from the reference run on absolute values. */
static float *reduction_tolerance(const sieve_layer *l, const sieve_op_input *in, int n_in,
                                  const sieve_shape *out, size_t k)
{
    sieve_op_input abs_in[SIEVE_MAX_LAYER_INPUTS];
    for (int i = 0; i < n_in; i++) {
        abs_in[i] = in[i];
        if (in[i].shape.rank < 0)
            continue;
        size_t n = numel(&in[i].shape);
        float *v = malloc(n * sizeof(float) + 1);
        for (size_t j = 0; j < n; j++)
            v[j] = fabsf(sieve_op_input_at(&in[i], j));
        abs_in[i].f32 = v;
        abs_in[i].packed = NULL;
    }
    sieve_layer abs_layer = *l;
    if (l->op == SIEVE_OP_CONV)
        abs_layer.attrs.conv.relu = false;
    if (l->op == SIEVE_OP_GEMM) {
        abs_layer.attrs.gemm.relu = false;
        abs_layer.attrs.gemm.alpha = fabsf(l->attrs.gemm.alpha);
        abs_layer.attrs.gemm.beta = fabsf(l->attrs.gemm.beta);
    }
    float *mag = run_ref(&abs_layer, abs_in, n_in, out);
    for (size_t i = 0; i < numel(out); i++)
        mag[i] = (float)(k + 2) * FLT_EPSILON * mag[i] + FLT_MIN;
    for (int i = 0; i < n_in; i++)
        if (in[i].shape.rank >= 0)
            free((void *)abs_in[i].f32);
    return mag;
}

/* run (1 and 2 threads) vs run_ref, with a reduction tolerance of length k,
 * or a relative tolerance when k == 0. */
static void check_fast_vs_ref(const sieve_layer *l, const sieve_op_input *in, int n_in, size_t k,
                              double rel)
{
    sieve_shape out = infer_ok(l, in, n_in);
    float *want = run_ref(l, in, n_in, &out);
    float *tol = k ? reduction_tolerance(l, in, n_in, &out, k) : NULL;
    for (int threads = 1; threads <= 3; threads++) {
        float *got = run_fast(l, in, n_in, &out, threads);
        char what[64];
        snprintf(what, sizeof(what), "%s, %d thread(s)", sieve_op_name(l->op), threads);
        expect_close(got, want, numel(&out), tol, rel, 1e-30, what);
        free(got);
    }
    free(tol);
    free(want);
}

/* Replaces an fp32 input by its quantized values (same input, fp32) and
 * returns a packed copy in format fmt. */
static sieve_op_input pack_input(sieve_op_input *in, const sieve_format *fmt)
{
    size_t n = numel(&in->shape);
    assert_int_equal(sieve_cfloat_quantize(fmt, (float *)in->f32, n, NULL), SIEVE_OK);
    sieve_op_input p = *in;
    p.f32 = NULL;
    p.format = *fmt;
    size_t bytes = sieve_format_bytes(fmt, n);
    uint8_t *buf = calloc(1, bytes);
    assert_int_equal(sieve_format_store(fmt, in->f32, n, buf, 0, NULL), SIEVE_OK);
    p.packed = buf;
    return p;
}

/* ---- the table ----------------------------------------------------------- */

static void test_every_op_has_a_complete_kernel_and_a_name(void **state)
{
    (void)state;
    for (int op = 0; op < SIEVE_OP_COUNT; op++) {
        const sieve_op_kernel *k = &sieve_op_kernels[op];
        assert_non_null(k->infer);
        assert_non_null(k->scratch_floats);
        assert_non_null(k->macs);
        assert_non_null(k->run);
        assert_non_null(k->run_ref);
        assert_int_equal(sieve_op_from_name(sieve_op_name((sieve_op)op)), op);
    }
    assert_string_equal(sieve_op_name(SIEVE_OP_CONV), "conv");
    assert_int_equal(sieve_op_from_name("gemm"), SIEVE_OP_GEMM);
    assert_int_equal(sieve_op_from_name("nope"), -1);
    assert_string_equal(sieve_op_name((sieve_op)999), "unknown");
}

/* ---- conv ---------------------------------------------------------------- */

static sieve_layer conv_layer(int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                              int pb, int pr, int group, bool relu)
{
    sieve_layer l = layer_of(SIEVE_OP_CONV, 3);
    sieve_conv_attrs *a = &l.attrs.conv;
    a->kernel[0] = kh, a->kernel[1] = kw;
    a->stride[0] = sh, a->stride[1] = sw;
    a->dilation[0] = dh, a->dilation[1] = dw;
    a->pads[0] = pt, a->pads[1] = pl, a->pads[2] = pb, a->pads[3] = pr;
    a->group = group;
    a->relu = relu;
    return l;
}

static void test_conv_ref_matches_hand_worked_example(void **state)
{
    (void)state;
    /* x = [[1 2 3] [4 5 6] [7 8 9]], w = [[1 0] [0 -1]], bias 10, pad 1 on
     * top/left only, stride 1: y[i][j] = x[i-1][j-1] - x[i][j] + 10.
     *   y[0][0] = 0 - 1 + 10 = 9    y[0][1] = 0 - 2 + 10 = 8    y[0][2] = 7
     *   y[1][0] = 0 - 4 + 10 = 6    y[1][1] = 1 - 5 + 10 = 6    y[1][2] = 2 - 6 + 10 = 6
     *   y[2][0] = 0 - 7 + 10 = 3    y[2][1] = 4 - 8 + 10 = 6    y[2][2] = 5 - 9 + 10 = 6 */
    static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[] = {1, 0, 0, -1}, b[] = {10};
    static const float want[] = {9, 8, 7, 6, 6, 6, 3, 6, 6};
    sieve_layer l = conv_layer(2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1, false);
    sieve_op_input in[3] = {values_input(shape_of(4, 1, 1, 3, 3), x),
                            values_input(shape_of(4, 1, 1, 2, 2), w),
                            values_input(shape_of(1, 1), b)};
    sieve_shape out = infer_ok(&l, in, 3);
    assert_int_equal(out.dims[2], 3);
    assert_int_equal(out.dims[3], 3);
    float *y = run_ref(&l, in, 3, &out);
    expect_close(y, want, 9, NULL, 0, 0, "conv ref");
    free(y);
    y = run_fast(&l, in, 3, &out, 2);
    expect_close(y, want, 9, NULL, 0, 1e-6, "conv fast");
    free(y);
    /* Stride 2, dilation 2, 3x3 ones kernel on the same x with pad 2 all
     * around: output is 2x2; window (0,0) taps x at rows/cols {-2,0,2}:
     * x[0][0] + x[0][2] + x[2][0] + x[2][2] = 1 + 3 + 7 + 9 = 20; window
     * (0,1) taps cols {0,2,4}: same 20; all four windows are 20. ReLU on. */
    static const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, want2[] = {20, 20, 20, 20};
    sieve_layer l2 = conv_layer(3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, true);
    sieve_op_input in2[2] = {in[0], values_input(shape_of(4, 1, 1, 3, 3), ones)};
    l2.n_inputs = 2;
    out = infer_ok(&l2, in2, 2);
    assert_int_equal(out.dims[2], 2);
    y = run_ref(&l2, in2, 2, &out);
    expect_close(y, want2, 4, NULL, 0, 0, "conv dilated ref");
    free(y);
    free_input(&in2[1]);
    for (int i = 0; i < 3; i++)
        free_input(&in[i]);
}

typedef struct conv_case {
    int n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
    bool relu, bias;
} conv_case;

/* The case's layer, with 3 inputs if it has a bias, else 2. */
static sieve_layer conv_case_layer(const conv_case *cc)
{
    sieve_layer l = conv_layer(cc->kh, cc->kw, cc->sh, cc->sw, cc->dh, cc->dw, cc->pt, cc->pl,
                               cc->pb, cc->pr, cc->group, cc->relu);
    l.n_inputs = cc->bias ? 3 : 2;
    return l;
}

static void check_conv_case(const conv_case *cc)
{
    sieve_layer l = conv_case_layer(cc);
    int n_in = cc->bias ? 3 : 2;
    sieve_op_input in[3] = {random_input(shape_of(4, cc->n, cc->c, cc->h, cc->w)),
                            random_input(shape_of(4, cc->m, cc->c / cc->group, cc->kh, cc->kw)),
                            random_input(shape_of(1, cc->m))};
    size_t k = (size_t)(cc->c / cc->group * cc->kh * cc->kw);
    check_fast_vs_ref(&l, in, n_in, k, 0);
    for (int i = 0; i < 3; i++)
        free_input(&in[i]);
}

static void test_conv_fast_matches_ref_on_odd_shapes(void **state)
{
    (void)state;
    static const conv_case cases[] = {
        /* n  c   h   w   m kh kw sh sw dh dw pt pl pb pr g  relu  bias */
        {1, 13, 11, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, true},   /* 3x3 same */
        {2, 13, 12, 10, 7, 3, 3, 2, 2, 1, 1, 1, 0, 1, 2, 1, true, true},   /* stride 2, asym */
        {1, 3, 23, 21, 17, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, true, true},   /* 7x7 stem */
        {1, 13, 9, 9, 19, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},   /* pointwise */
        {1, 13, 9, 9, 19, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, false, false},  /* 1x1 stride 2 */
        {1, 8, 13, 11, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 1, 1, false, true},   /* dilation 2 */
        {1, 14, 10, 10, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, true, true},  /* groups 2 */
        {2, 13, 10, 9, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 13, false, true}, /* depthwise */
        {1, 12, 11, 10, 12, 5, 3, 2, 1, 2, 1, 2, 0, 1, 3, 12, true, false}, /* depthwise odd */
        {1, 6, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, false, true},    /* multiplier 2 */
        {1, 70, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, true},    /* K = 630 > KC */
        {1, 5, 40, 37, 3, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true},    /* P > NC */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},     /* 1x1x1 */
        {1, 2, 3, 3, 4, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4, 1, false, true},     /* pads > kernel */
        /* whole 6 x 32 SIMD tiles beside partial ones, over several k blocks */
        {1, 40, 9, 11, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},   /* K = 360, P = 99 */
        {1, 30, 17, 16, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, false}, /* P = 272 > NC */
        {1, 3, 6, 6, 530, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},   /* M > MC */
        /* windows inside the input (the unpadded im2col), LeNet-5-like */
        {1, 1, 28, 28, 20, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},  /* rows of 24 */
        {1, 20, 12, 12, 50, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true},  /* rows of 8 */
        {2, 11, 13, 14, 7, 3, 2, 2, 3, 1, 1, 0, 0, 0, 0, 1, false, true},  /* strides 2, 3 */
        {1, 12, 14, 13, 10, 3, 3, 1, 1, 2, 3, 0, 0, 0, 0, 2, true, false}, /* dilated, groups */
        {1, 31, 9, 7, 5, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},    /* K = 775, rows of 3 */
        /* AlexNet-like stem: 11x11, stride 4, padded */
        {1, 3, 39, 41, 7, 11, 11, 4, 4, 1, 1, 2, 2, 2, 2, 1, true, true},
        /* strided loads of whole 16-pixel runs (AVX-512): padded stride 4
         * (rows of 18), inside stride 4 (rows of 17), inside stride 2 */
        {1, 3, 30, 75, 5, 11, 11, 4, 4, 1, 1, 2, 2, 2, 2, 1, false, true},
        {1, 2, 14, 69, 4, 3, 3, 4, 4, 1, 1, 0, 0, 0, 0, 1, true, false},
        {1, 3, 13, 45, 6, 7, 7, 2, 2, 1, 1, 0, 0, 0, 0, 1, false, true},
        /* the table packer (padded, column stride 1, up to 7x7): 7x7 with
         * pad 3, rows of 5 (three runs per panel), row stride 2 */
        {1, 3, 12, 13, 9, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 1, true, false},
        {1, 9, 5, 5, 11, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1, true, true},
        {1, 5, 14, 19, 7, 3, 3, 2, 1, 1, 1, 1, 1, 0, 2, 1, false, true},
        /* column phases (conv_splits_phases): dilation 2 with stride 2,
         * row and column strides 2 and 3, 12x12 (over the table packer's
         * 11x11: the general packer on phases) */
        {1, 6, 17, 19, 5, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, false, true},
        {1, 4, 20, 23, 6, 5, 5, 2, 3, 1, 1, 2, 1, 0, 2, 1, true, true},
        {1, 2, 30, 31, 3, 12, 12, 3, 3, 1, 1, 1, 1, 2, 5, 1, true, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_conv_case(&cases[i]);
}

/* Few input channels at stride 1 (a network's first layer): the direct
 * kernel of conv_direct.c, against the reference, with fp32 and packed
 * weights. Shapes: rows of 24 (16 + 8 lanes), of 16 and fewer (one
 * vector), of 40 and 38 (a 32-column block, then 8 or 6), channel
 * blocks of 12 + 8, 12 + 4 of which 1 stored, 5 of 8, 9 of 12; pads on
 * every side, asymmetric, over the kernel, only bottom-right; 1x1 to
 * 11x11, 1 to 4 channels, batch 2. */
static void test_conv_direct_matches_ref(void **state)
{
    (void)state;
    static const conv_case cases[] = {
        /* n  c   h   w   m kh kw sh sw dh dw pt pl pb pr g  relu  bias */
        {1, 1, 28, 28, 20, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true},   /* LeNet-5 */
        {2, 1, 28, 28, 13, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1, false, true},  /* same, 12 + 1 */
        {1, 1, 12, 18, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},   /* rows of 18 */
        {1, 3, 9, 41, 24, 3, 3, 1, 1, 1, 1, 1, 0, 2, 1, 1, false, true},   /* rows of 40 */
        {1, 4, 7, 16, 8, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true},     /* rows of 14 */
        {1, 2, 3, 3, 4, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4, 1, false, true},     /* pads > kernel */
        {1, 1, 10, 21, 7, 4, 4, 1, 1, 1, 1, 0, 0, 3, 2, 1, true, true},    /* pads b, r only */
        {1, 3, 11, 40, 9, 2, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, false},  /* rows of 38 */
        {1, 3, 6, 6, 530, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},   /* 1x1, m = 530 */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},     /* 1x1x1 */
        {1, 3, 19, 20, 10, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 1, true, true},   /* K = 147 */
        {1, 1, 16, 35, 6, 11, 11, 1, 1, 1, 1, 5, 4, 5, 6, 1, false, true}, /* 11x11 */
    };
    const sieve_format w_fmt = sieve_format_cfloat(3, 7, 3, 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int packed = 0; packed < 2; packed++) {
            const conv_case *cc = &cases[i];
            sieve_layer l = conv_case_layer(cc);
            int n_in = cc->bias ? 3 : 2;
            sieve_op_input in[3] = {
                random_input(shape_of(4, cc->n, cc->c, cc->h, cc->w)),
                random_input(shape_of(4, cc->m, cc->c, cc->kh, cc->kw)),
                random_input(shape_of(1, cc->m))};
            if (packed) {
                sieve_op_input w = pack_input(&in[1], &w_fmt);
                free_input(&in[1]);
                in[1] = w;
            }
            check_fast_vs_ref(&l, in, n_in, (size_t)(cc->c * cc->kh * cc->kw), 0);
            for (int k = 0; k < 3; k++)
                free_input(&in[k]);
        }
}

/* Input and weights stored in formats of at most 7 mantissa bits hold
 * values that are exact bf16: where the CPU has AVX-512 BF16 the GEMM
 * multiplies them in pairs (vdpbf16ps), and 3x3 layers on small images
 * take that GEMM instead of Winograd. The result stays within the fp32
 * reduction tolerance of the reference on the shapes that stress the
 * pairing: odd K (a zero-padded last pair), K over one k block, P over
 * NC, M over MC, groups, strides, packed weights and weights decoded to
 * fp32 at load; also where the output is encoded tile by tile. */
static void test_conv_on_bf16_exact_values_matches_ref(void **state)
{
    (void)state;
    static const conv_case cases[] = {
        /* n  c   h   w   m kh kw sh sw dh dw pt pl pb pr g  relu  bias */
        {1, 13, 9, 9, 19, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},   /* K = 13, odd */
        {1, 16, 11, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},  /* 3x3, P = 110 */
        {2, 13, 12, 10, 7, 3, 3, 2, 2, 1, 1, 1, 0, 1, 2, 1, true, true},   /* stride 2 */
        {1, 70, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, true},    /* K = 630 > KC */
        {1, 30, 17, 16, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, false}, /* P = 272 > NC */
        {1, 3, 6, 6, 530, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},   /* M > MC, K = 3 */
        {1, 14, 10, 10, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, true, true},  /* groups 2 */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},     /* K = 1 */
        /* the pair packer's im2col (column stride 1): dilation, row
         * stride 2, pads over the kernel, 7x7, 12x12 (over its 11x11:
         * the fp32 packer, then pairing), 3 runs per panel (rows of 5) */
        {1, 8, 13, 11, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 1, 1, false, true},
        {1, 5, 14, 19, 7, 3, 3, 2, 1, 1, 1, 1, 1, 0, 2, 1, true, true},
        {1, 2, 3, 3, 4, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4, 1, false, true},
        {1, 3, 12, 13, 9, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 1, true, false},
        {1, 3, 12, 13, 9, 12, 12, 1, 1, 1, 1, 3, 3, 4, 4, 1, true, true},
        {1, 9, 5, 5, 11, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1, true, true},
        /* column strides through the input's column phases: the 7x7 and
         * 11x11 stems, dilation 2 with stride 2 */
        {1, 3, 23, 21, 17, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, true, true},
        {1, 3, 39, 41, 7, 11, 11, 4, 4, 1, 1, 2, 2, 2, 2, 1, false, true},
        {1, 6, 17, 19, 5, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, false, true},
    };
    const sieve_format x_fmt = sieve_format_cfloat(4, 3, 7, 1),
                       w_fmts[] = {sieve_format_cfloat(4, 3, 7, 1),
                                   sieve_format_cfloat(3, 7, 3, 1)};
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
        for (size_t fi = 0; fi < 2; fi++)
            for (int decoded = 0; decoded < 2; decoded++) {
                const conv_case *cc = &cases[ci];
                sieve_layer l = conv_case_layer(cc);
                int n_in = cc->bias ? 3 : 2;
                sieve_op_input in[3] = {
                    random_input(shape_of(4, cc->n, cc->c, cc->h, cc->w)),
                    random_input(shape_of(4, cc->m, cc->c / cc->group, cc->kh, cc->kw)),
                    random_input(shape_of(1, cc->m))};
                /* the input as an executor hands over a packed activation:
                 * decoded values, the format it is stored in */
                assert_int_equal(sieve_cfloat_quantize(&x_fmt, (float *)in[0].f32,
                                                       numel(&in[0].shape), NULL),
                                 SIEVE_OK);
                in[0].format = x_fmt;
                sieve_op_input w = pack_input(&in[1], &w_fmts[fi]);
                if (decoded) { /* a constant decoded at load keeps its format */
                    in[1].format = w_fmts[fi];
                } else {
                    free_input(&in[1]);
                    in[1] = w;
                }
                size_t k = (size_t)(cc->c / cc->group * cc->kh * cc->kw);
                check_fast_vs_ref(&l, in, n_in, k, 0);
                if (decoded)
                    free_input(&w);
                for (int i = 0; i < 3; i++)
                    free_input(&in[i]);
            }
}

/* A layer on 8-bit codes of bf16-exact values, or a 1x1 layer on 4-bit
 * ones, packs its B panels from the codes (sieve_conv_input_as_codes):
 * bit for bit what it computes from
 * the same input decoded, on 1 and 2 threads and through run_encoded;
 * where the CPU lacks the instructions, the hook declines and the layer
 * still runs on codes (the reference path), within the usual tolerance.
 * Shapes: odd K (a zero pad of the last pair), K over a k block, partial
 * panels, P over NC, M over MC, groups, two images; signed and unsigned. */
static void test_conv_on_codes_equals_decoded_input(void **state)
{
    (void)state;
    static const conv_case cases[] = {
        /* n  c   h   w   m kh kw sh sw dh dw pt pl pb pr g  relu  bias */
        {1, 13, 9, 9, 19, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},
        {1, 301, 5, 7, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true},
        {1, 30, 17, 16, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, false},
        {1, 3, 6, 6, 530, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},
        {1, 14, 10, 10, 10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, true, true},
        {2, 13, 5, 5, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},
        {1, 7, 21, 25, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true}, /* odd P over NC */
        /* the table packer (8-bit codes only): 3x3 on small images, K over a k block,
         * 5x5, dilation, row stride 2, P over NC with 3 channels (no
         * Winograd), groups, two images */
        {1, 16, 11, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},
        {1, 71, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, true},
        {1, 9, 5, 5, 11, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1, true, true},
        {1, 8, 13, 11, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 1, 1, false, true},
        {1, 5, 14, 19, 7, 3, 3, 2, 1, 1, 1, 1, 1, 0, 2, 1, false, true},
        {1, 3, 40, 41, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},
        {2, 14, 7, 7, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, true, true},
    };
    const sieve_format x_fmts[] = {
        sieve_format_cfloat(4, 3, 7, 1), sieve_format_cfloat(4, 4, 7, 0), /* 8-bit */
        sieve_format_cfloat(2, 1, 1, 1), sieve_format_cfloat(3, 1, 2, 0), /* 4-bit */
    };
    const sieve_format w_fmt = sieve_format_cfloat(4, 3, 7, 1);
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
        for (size_t fi = 0; fi < sizeof(x_fmts) / sizeof(x_fmts[0]); fi++) {
            const conv_case *cc = &cases[ci];
            sieve_layer l = conv_case_layer(cc);
            int n_in = cc->bias ? 3 : 2;
            sieve_op_input x = random_input(shape_of(4, cc->n, cc->c, cc->h, cc->w));
            if (!x_fmts[fi].is_signed)
                for (size_t j = 0; j < numel(&x.shape); j++)
                    ((float *)x.f32)[j] = fabsf(x.f32[j]);
            sieve_op_input codes = pack_input(&x, &x_fmts[fi]); /* x: decoded values */
            x.format = x_fmts[fi];
            sieve_op_input w = random_input(shape_of(4, cc->m, cc->c / cc->group, cc->kh, cc->kw));
            sieve_op_input wp = pack_input(&w, &w_fmt);
            sieve_op_input in[3] = {x, wp, random_input(shape_of(1, cc->m))};
            sieve_op_input in_codes[3] = {codes, wp, in[2]};
            sieve_shape out = infer_ok(&l, in, n_in);
            bool fast = sieve_conv_input_as_codes(&l, in_codes, n_in);
#if defined(__x86_64__)
            /* every case takes the codes on a CPU with the instructions,
             * 4-bit codes the 1x1 cases */
            bool takes = sieve_format_width(&x_fmts[fi]) == 8 || (cc->kh == 1 && cc->kw == 1);
            if (__builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vbmi") &&
                fast != takes)
                fail_msg("case %zu, format %zu: the codes path %s", ci, fi,
                         fast ? "ran" : "declined");
#endif
            for (int threads = 1; threads <= 2; threads++) {
                float *want = run_fast(&l, in, n_in, &out, threads);
                float *got = run_fast(&l, in_codes, n_in, &out, threads);
                if (fast)
                    for (size_t j = 0; j < numel(&out); j++) {
                        if (memcmp(&got[j], &want[j], sizeof(float)) != 0)
                            fail_msg("case %zu, format %zu, %d thread(s): element %zu is %g "
                                     "from codes, %g from decoded values",
                                     ci, fi, threads, j, got[j], want[j]);
                    }
                else
                    expect_close(got, want, numel(&out), NULL, 1e-4, 1e-4, "conv on codes");
                free(want);
                free(got);
            }
            /* run_encoded: the same codes out */
            if (fast) {
                const sieve_format y_fmt = sieve_format_cfloat(5, 2, 15, 1);
                size_t bytes = sieve_format_bytes(&y_fmt, numel(&out)) + SIEVE_PACK_SLACK;
                uint8_t *ya = calloc(1, bytes), *yb = calloc(1, bytes);
                sieve_shape shapes[3] = {in[0].shape, in[1].shape, in[2].shape};
                size_t floats = sieve_op_kernels[SIEVE_OP_CONV].scratch_floats(&l, shapes, n_in,
                                                                               &out, 1);
                float *scratch = malloc((floats + 16) * sizeof(float));
                float *tmp = malloc(numel(&out) * sizeof(float));
                sieve_op_env env = {NULL, scratch, floats};
                assert_true(sieve_conv_run_encoded(&l, in, n_in, tmp, ya, &y_fmt, &out, &env));
                assert_true(
                    sieve_conv_run_encoded(&l, in_codes, n_in, tmp, yb, &y_fmt, &out, &env));
                assert_memory_equal(ya, yb, sieve_format_bytes(&y_fmt, numel(&out)));
                free(ya);
                free(yb);
                free(scratch);
                free(tmp);
            }
            free_input(&x);
            free_input(&codes);
            free_input(&w);
            free_input(&wp);
            free_input(&in[2]);
        }
}

/* Packed weights are decoded (row-major into the tile kernel's A, as
 * bf16 rows for the bf16 tiles, or into packed panels) to the same values
 * the quantized fp32 weights hold, and
 * reach the same kernels: the outputs are bit-identical, on odd shapes
 * (rows not a multiple of MR, K over one k block, M over MC, stride 2,
 * groups, depthwise) and in 8- and 4-bit formats. */
static void test_conv_packed_weights_equal_fp32_quantized_weights(void **state)
{
    (void)state;
    static const struct {
        int c, h, w, m, k, s, pad, group;
    } cases[] = {
        {14, 17, 15, 10, 3, 1, 1, 1},  {14, 17, 15, 10, 3, 1, 1, 2},
        {13, 17, 15, 13, 3, 1, 1, 13}, {70, 7, 6, 13, 3, 2, 1, 1},  /* K = 630 > KC */
        {3, 23, 21, 17, 7, 2, 3, 1},   {37, 5, 5, 530, 1, 1, 0, 1}, /* M > MC */
        {5, 40, 37, 7, 3, 1, 0, 1},                                 /* P > NC */
    };
    const sieve_format fmts[] = {sieve_format_cfloat(4, 3, 7, 1), sieve_format_cfloat(2, 1, 1, 1)};
    const sieve_format x_fmt = sieve_format_cfloat(4, 3, 7, 1);
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
        for (size_t fi = 0; fi < 4; fi++) {
            int c = cases[ci].c, m = cases[ci].m, g = cases[ci].group, k = cases[ci].k;
            int s = cases[ci].s, pad = cases[ci].pad;
            sieve_layer l = conv_layer(k, k, s, s, 1, 1, pad, pad, pad, pad, g, true);
            sieve_op_input in[3] = {random_input(shape_of(4, 1, c, cases[ci].h, cases[ci].w)),
                                    random_input(shape_of(4, m, c / g, k, k)),
                                    random_input(shape_of(1, m))};
            sieve_op_input packed[3] = {in[0], pack_input(&in[1], &fmts[fi % 2]), in[2]};
            if (fi >= 2) {
                /* bf16 values in both (the bf16 tiles, where the CPU has
                 * them): packed weights decoded straight into bf16 rows
                 * against fp32 rows paired */
                assert_int_equal(sieve_cfloat_quantize(&x_fmt, (float *)in[0].f32,
                                                       numel(&in[0].shape), NULL),
                                 SIEVE_OK);
                in[0].format = packed[0].format = x_fmt;
                in[1].format = fmts[fi % 2];
            }
            sieve_shape out = infer_ok(&l, in, 3);
            for (int threads = 1; threads <= 2; threads++) {
                float *from_f32 = run_fast(&l, in, 3, &out, threads);
                float *from_packed = run_fast(&l, packed, 3, &out, threads);
                assert_memory_equal(from_f32, from_packed, numel(&out) * sizeof(float));
                free(from_f32);
                free(from_packed);
            }
            float *ref_f32 = run_ref(&l, in, 3, &out), *ref_packed = run_ref(&l, packed, 3, &out);
            assert_memory_equal(ref_f32, ref_packed, numel(&out) * sizeof(float));
            free(ref_f32);
            free(ref_packed);
            free_input(&packed[1]);
            for (int i = 0; i < 3; i++)
                free_input(&in[i]);
        }
}

/* run_encoded stores each tile's codes as the tile kernel finishes it:
 * the stream equals run's output packed by the bulk encoder, byte for
 * byte (bytes around the output untouched), for 8- and 4-bit, signed and
 * unsigned formats, on 4-bit rows that start and end mid-byte (also
 * where two threads split them), K over one k block (the last block reads
 * C back), P over NC, M over MC, groups and batch 2, 1 and 2 threads, on
 * the GEMM and the Winograd path, and on bf16-exact inputs and weights
 * (the bf16 tiles, 48 columns wide: the encoder takes them in two
 * calls, which share a byte where a 4-bit row starts mid-byte). Where it
 * does not apply (the direct kernel of few input channels, 4-bit codes of
 * groups that start mid-byte on several threads, Winograd row pieces,
 * depthwise, a NaN output) it says no. */
static void test_conv_run_encoded_equals_packed_run(void **state)
{
    (void)state;
    static const conv_case cases[] = {
        /* n  c   h   w   m kh kw sh sw dh dw pt pl pb pr g  relu  bias */
        {1, 3, 23, 21, 17, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, true, true},   /* stem, P = 99 */
        {2, 13, 9, 9, 19, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true},    /* pointwise */
        {1, 70, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},     /* K = 630 > KC */
        {1, 5, 40, 37, 3, 3, 3, 2, 1, 1, 1, 0, 0, 0, 0, 1, true, true},    /* P = 665 > NC */
        {1, 3, 6, 6, 530, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, true},    /* M > MC */
        {2, 14, 10, 10, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, true, true},  /* groups, P = 25 */
        {1, 30, 17, 16, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, false}, /* P = 272, even */
        /* odd P, even M: two threads split the columns, 4-bit rows share
         * bytes at the tasks' edges */
        {1, 3, 23, 21, 18, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, true, true},   /* P = 99 */
        {1, 13, 9, 9, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, false},   /* P = 81 */
        {1, 5, 40, 37, 4, 3, 3, 2, 1, 1, 1, 0, 0, 0, 0, 1, true, true},    /* P = 665 > NC */
        {2, 14, 10, 10, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, true, true},  /* groups of 6 */
        /* Winograd: the output transform's row pieces are encoded */
        {1, 16, 24, 24, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},  /* even rows */
        {2, 9, 15, 15, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},   /* odd rows */
        {1, 12, 16, 15, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},  /* odd rows, even P */
        {1, 300, 16, 16, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},  /* C over a block */
    };
    const sieve_format fmts[] = {sieve_format_cfloat(4, 3, 7, 1), sieve_format_cfloat(2, 1, 1, 1),
                                 sieve_format_cfloat(4, 4, 7, 0), sieve_format_cfloat(3, 1, 2, 0)};
    const sieve_format bf16_exact = sieve_format_cfloat(4, 3, 7, 1);
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
        for (size_t fi = 0; fi < 2 * sizeof(fmts) / sizeof(fmts[0]); fi++) {
            const conv_case *cc = &cases[ci];
            const sieve_format *f = &fmts[fi / 2];
            const bool bf16 = fi % 2;
            sieve_layer l = conv_case_layer(cc);
            sieve_op_input in[3] = {random_input(shape_of(4, cc->n, cc->c, cc->h, cc->w)),
                                    random_input(shape_of(4, cc->m, cc->c / cc->group, cc->kh,
                                                          cc->kw)),
                                    random_input(shape_of(1, cc->m))};
            for (int k = 0; bf16 && k < 2; k++) { /* as the executor hands them over */
                assert_int_equal(sieve_cfloat_quantize(&bf16_exact, (float *)in[k].f32,
                                                       numel(&in[k].shape), NULL),
                                 SIEVE_OK);
                in[k].format = bf16_exact;
            }
            int n_in = cc->bias ? 3 : 2;
            sieve_shape out = infer_ok(&l, in, n_in), shapes[3] = {in[0].shape, in[1].shape,
                                                                     in[2].shape};
            size_t n = numel(&out), bytes = sieve_format_bytes(f, n) + 16;
            for (int threads = 1; threads <= 2; threads++) {
                float *y = run_fast(&l, in, n_in, &out, threads);
                uint8_t *want = malloc(bytes), *got = malloc(bytes);
                for (size_t i = 0; i < bytes; i++)
                    want[i] = got[i] = (uint8_t)(i * 37 + 11);
                assert_int_equal(sieve_cfloat_pack(f, y, n, want, 0, NULL), SIEVE_OK);
                size_t floats = sieve_conv_scratch(&l, shapes, n_in, &out, threads);
                sieve_context *ctx = sieve_context_create(NULL);
                sieve_pool *pool = NULL;
                assert_int_equal(sieve_pool_create(ctx, threads, &pool), SIEVE_OK);
                float *scratch = sieve_alloc_aligned(ctx, (floats + 16) * sizeof(float));
                float *fp32 = malloc(n * sizeof(float));
                sieve_op_env env = {pool, scratch, floats};
                /* 4-bit codes that share bytes: the GEMM declines them on
                 * several threads where a group's rows start mid-byte,
                 * Winograd always (rows) */
                sieve_winograd_conv wg = {.c = (size_t)cc->c, .m = (size_t)cc->m,
                                          .oh = (size_t)out.dims[2], .ow = (size_t)out.dims[3]};
                bool wino = cc->kh == 3 && cc->kw == 3 && cc->sh == 1 && cc->sw == 1 &&
                            cc->dh == 1 && cc->dw == 1 && cc->group == 1 &&
                            sieve_winograd_worthwhile(&wg) &&
                            /* none of these is Winograd-sized for bf16 pairs */
                            !(bf16 && sieve_gemm_tile_kernel_bf16());
                /* few input channels on values it would not read as
                 * codes: the direct kernel, whose output the executor
                 * encodes after it */
                sieve_direct_conv dg = {.c = (size_t)cc->c, .kh = (size_t)cc->kh,
                                        .kw = (size_t)cc->kw, .oh = (size_t)out.dims[2],
                                        .ow = (size_t)out.dims[3]};
                bool direct = !sieve_conv_input_as_codes(&l, in, n_in) && cc->sh == 1 &&
                              cc->sw == 1 && cc->dh == 1 && cc->dw == 1 && cc->group == 1 &&
                              sieve_direct_conv_worthwhile(&dg);
                bool nibbles = sieve_format_width(f) == 4;
                bool declines =
                    direct ? true
                    : wino ? nibbles && out.dims[3] % 2
                         : nibbles && threads > 1 &&
                               (cc->m / cc->group * out.dims[2] * out.dims[3]) % 2;
                bool ran = sieve_conv_run_encoded(&l, in, n_in, fp32, got, f, &out, &env);
                if (declines) {
                    if (ran)
                        fail_msg("case %zu, format %zu%s: ran on shared bytes", ci, fi / 2,
                                 bf16 ? " (bf16)" : "");
                } else if (sieve_gemm_tile_kernel(NULL)) {
                    if (!ran)
                        fail_msg("case %zu, format %zu%s, %d thread(s): declined", ci, fi / 2,
                                 bf16 ? " (bf16)" : "", threads);
                    if (memcmp(got, want, bytes) != 0)
                        fail_msg("case %zu, format %zu%s, %d thread(s): codes differ", ci, fi / 2,
                                 bf16 ? " (bf16)" : "", threads);
                }
                free(fp32);
                sieve_free_aligned(ctx, scratch, (floats + 16) * sizeof(float));
                sieve_pool_destroy(pool);
                sieve_context_destroy(ctx);
                free(want);
                free(got);
                free(y);
            }
            for (int i = 0; i < 3; i++)
                free_input(&in[i]);
        }
    /* not handled: depthwise, an output that is NaN (GEMM and Winograd) */
    const sieve_format f8 = sieve_format_cfloat(4, 3, 7, 1);
    static const conv_case declined[] = {
        {1, 13, 10, 9, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 13, false, true}, /* depthwise */
        {1, 5, 8, 8, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, true},     /* NaN input */
        {1, 16, 24, 24, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, true}, /* NaN, Winograd */
    };
    for (size_t ci = 0; ci < sizeof(declined) / sizeof(declined[0]); ci++) {
        const conv_case *cc = &declined[ci];
        sieve_layer l = conv_case_layer(cc);
        sieve_op_input in[3] = {random_input(shape_of(4, cc->n, cc->c, cc->h, cc->w)),
                                random_input(shape_of(4, cc->m, cc->c / cc->group, cc->kh, cc->kw)),
                                random_input(shape_of(1, cc->m))};
        if (ci >= 1)
            ((float *)in[0].f32)[17] = NAN;
        sieve_shape out = infer_ok(&l, in, 3), shapes[3] = {in[0].shape, in[1].shape, in[2].shape};
        size_t n = numel(&out), floats = sieve_conv_scratch(&l, shapes, 3, &out, 1);
        float *scratch = malloc((floats + 16) * sizeof(float)), *fp32 = malloc(n * sizeof(float));
        uint8_t *codes = calloc(1, sieve_format_bytes(&f8, n));
        sieve_op_env env = {NULL, scratch, floats};
        assert_false(sieve_conv_run_encoded(&l, in, 3, fp32, codes, &f8, &out, &env));
        free(codes);
        free(fp32);
        free(scratch);
        for (int i = 0; i < 3; i++)
            free_input(&in[i]);
    }
}

static void test_conv_infer_rejects_bad_shapes(void **state)
{
    (void)state;
    sieve_layer l = conv_layer(3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, false);
    sieve_shape s[3] = {shape_of(4, 1, 4, 8, 8), shape_of(4, 5, 3, 3, 3), shape_of(1, 5)};
    infer_fails(&l, s, 3, "weight has 3 input channels per group, input has 4");
    s[1] = shape_of(4, 5, 4, 3, 3);
    s[2] = shape_of(1, 6);
    infer_fails(&l, s, 3, "bias");
    s[2] = shape_of(1, 5);
    s[0] = shape_of(3, 4, 8, 8);
    infer_fails(&l, s, 3, "4-D");
    s[0] = shape_of(4, 1, 4, 2, 8);
    infer_fails(&l, s, 3, "larger than padded input");
    s[0] = shape_of(4, 1, 4, 8, 8);
    l.attrs.conv.group = 3;
    infer_fails(&l, s, 3, "divisible by group");
    l.attrs.conv.group = 1;
    l.attrs.conv.stride[1] = 0;
    infer_fails(&l, s, 3, "stride");
    l.attrs.conv.stride[1] = 1;
    l.attrs.conv.kernel[0] = 5;
    infer_fails(&l, s, 3, "kernel_shape");
    l.attrs.conv.kernel[0] = 3;
    infer_fails(&l, s, 1, "inputs");
    /* accepted: macs are M * P * K */
    sieve_shape out;
    char err[128];
    assert_int_equal(sieve_op_kernels[SIEVE_OP_CONV].infer(&l, s, 3, &out, err, sizeof(err)),
                     SIEVE_OK);
    assert_int_equal(sieve_op_kernels[SIEVE_OP_CONV].macs(&l, s, 3, &out), 5 * 36 * 36);
    /* an absent bias (rank -1, as the executor passes it) is allowed */
    s[2].rank = -1;
    assert_int_equal(sieve_op_kernels[SIEVE_OP_CONV].infer(&l, s, 3, &out, err, sizeof(err)),
                     SIEVE_OK);
}


/* Scratch smaller than one slice per thread: run falls back to fewer
 * threads or to the reference instead of overrunning. A strided 7x7 layer
 * also asks for room to split its input into column phases; with room
 * for its GEMM alone it reads the input at its stride instead. */
static void test_conv_with_short_scratch_still_correct(void **state)
{
    (void)state;
    sieve_layer layers[2] = {conv_layer(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false),
                             conv_layer(7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, true)};
    const int kernel[2] = {3, 7};
    for (int li = 0; li < 2; li++) {
        const sieve_layer *l = &layers[li];
        sieve_op_input in[3] = {random_input(shape_of(4, 1, 5, 19, 21)),
                                random_input(shape_of(4, 4, 5, kernel[li], kernel[li])),
                                random_input(shape_of(1, 4))};
        sieve_shape shapes[3] = {in[0].shape, in[1].shape, in[2].shape};
        sieve_shape out = infer_ok(l, in, 3);
        float *want = run_ref(l, in, 3, &out);
        const sieve_op_kernel *k = &sieve_op_kernels[SIEVE_OP_CONV];
        size_t one = k->scratch_floats(l, shapes, 3, &out, 1);
        size_t slice = k->scratch_floats(l, shapes, 3, &out, 2) - one;
        sieve_context *ctx = sieve_context_create(NULL);
        sieve_pool *pool = NULL;
        assert_int_equal(sieve_pool_create(ctx, 2, &pool), SIEVE_OK);
        float *scratch = sieve_alloc_aligned(ctx, one * sizeof(float));
        float *y = malloc(numel(&out) * sizeof(float));
        size_t sizes[] = {0, slice, one};
        for (int i = 0; i < 3; i++) {
            sieve_op_env env = {pool, sizes[i] ? scratch : NULL, sizes[i]};
            for (size_t j = 0; j < one; j++)
                scratch[j] = NAN;
            memset(y, 0xff, numel(&out) * sizeof(float));
            k->run(l, in, 3, y, &out, &env);
            expect_close(y, want, numel(&out), NULL, 1e-5, 1e-5, "conv short scratch");
        }
        free(y);
        free(want);
        sieve_free_aligned(ctx, scratch, one * sizeof(float));
        sieve_pool_destroy(pool);
        sieve_context_destroy(ctx);
        for (int i = 0; i < 3; i++)
            free_input(&in[i]);
    }
}

/* ---- pooling ------------------------------------------------------------- */

static sieve_layer pool_layer(sieve_op op, int kh, int kw, int sh, int sw, int pt, int pl, int pb,
                              int pr, bool ceil_mode, bool include_pad)
{
    sieve_layer l = layer_of(op, 1);
    sieve_pool_attrs *a = &l.attrs.pool;
    a->kernel[0] = kh, a->kernel[1] = kw;
    a->stride[0] = sh, a->stride[1] = sw;
    a->dilation[0] = a->dilation[1] = 1;
    a->pads[0] = pt, a->pads[1] = pl, a->pads[2] = pb, a->pads[3] = pr;
    a->ceil_mode = ceil_mode;
    a->count_include_pad = include_pad;
    return l;
}

static void expect_pool(const sieve_layer *l, const sieve_op_input *x, const float *want,
                        int oh, int ow, const char *what)
{
    sieve_shape out = infer_ok(l, x, 1);
    assert_int_equal(out.dims[2], oh);
    assert_int_equal(out.dims[3], ow);
    float *y = run_ref(l, x, 1, &out);
    expect_close(y, want, numel(&out), NULL, 1e-7, 0, what);
    free(y);
    y = run_fast(l, x, 1, &out, 2);
    expect_close(y, want, numel(&out), NULL, 1e-6, 0, what);
    free(y);
}

static void test_pool_ref_matches_hand_worked_examples(void **state)
{
    (void)state;
    /* ONNX test_averagepool_2d_ceil / test_maxpool_2d_ceil: x = 1..16 in
     * 4x4, kernel 3, stride 2, ceil mode -> 2x2. The second column of
     * windows covers columns 2..4, of which 4 is outside: average of
     * {3,4,7,8,11,12} = 45/6 = 7.5; max 12. */
    float x16[16];
    for (int i = 0; i < 16; i++)
        x16[i] = (float)(i + 1);
    sieve_op_input x = values_input(shape_of(4, 1, 1, 4, 4), x16);
    static const float avg_ceil[] = {6, 7.5f, 12, 13.5f}, max_ceil[] = {11, 12, 15, 16};
    sieve_layer l = pool_layer(SIEVE_OP_AVGPOOL, 3, 3, 2, 2, 0, 0, 0, 0, true, false);
    expect_pool(&l, &x, avg_ceil, 2, 2, "avgpool ceil");
    /* Cells beyond the input that only ceil mode adds are never counted,
     * even with count_include_pad (PyTorch semantics). */
    l.attrs.pool.count_include_pad = true;
    expect_pool(&l, &x, avg_ceil, 2, 2, "avgpool ceil include pad");
    l = pool_layer(SIEVE_OP_MAXPOOL, 3, 3, 2, 2, 0, 0, 0, 0, true, false);
    expect_pool(&l, &x, max_ceil, 2, 2, "maxpool ceil");
    /* Floor mode drops the partial window: 1x1 output, max 11, mean of
     * rows 0..2 x cols 0..2 = (1+2+3+5+6+7+9+10+11)/9 = 6. */
    l.attrs.pool.ceil_mode = false;
    static const float max_floor[] = {11}, avg_floor[] = {6};
    expect_pool(&l, &x, max_floor, 1, 1, "maxpool floor");
    l.op = SIEVE_OP_AVGPOOL;
    expect_pool(&l, &x, avg_floor, 1, 1, "avgpool floor");
    free_input(&x);

    /* x = [1 2; 3 4], kernel 2, stride 1, pads 1: 3x3 windows. Including
     * pads every divisor is 4: 1/4, 3/4, 2/4 | 4/4, 10/4, 6/4 | 3/4, 7/4, 4/4.
     * Excluding them, the divisor counts real cells: 1, 1.5, 2 | 2, 2.5, 3 |
     * 3, 3.5, 4. Max ignores padding even around negative values. */
    static const float x4[] = {1, 2, 3, 4};
    x = values_input(shape_of(4, 1, 1, 2, 2), x4);
    static const float incl[] = {0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1};
    static const float excl[] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    l = pool_layer(SIEVE_OP_AVGPOOL, 2, 2, 1, 1, 1, 1, 1, 1, false, true);
    expect_pool(&l, &x, incl, 3, 3, "avgpool include pad");
    l.attrs.pool.count_include_pad = false;
    expect_pool(&l, &x, excl, 3, 3, "avgpool exclude pad");
    free_input(&x);
    static const float xneg[] = {-1, -2, -3, -4};
    static const float max_neg[] = {-1, -1, -2, -1, -1, -2, -3, -3, -4};
    x = values_input(shape_of(4, 1, 1, 2, 2), xneg);
    l.op = SIEVE_OP_MAXPOOL;
    expect_pool(&l, &x, max_neg, 3, 3, "maxpool negative with pads");
    free_input(&x);

    /* Ceil mode with padding, one row: x = [1 2 3 4], kernel 1x3, stride 2,
     * pads 1 left and right: windows start at -1, 1, 3 (ceil gives 3; the
     * last starts inside the input). Window 3 covers 3 (x=4), 4 (right
     * pad), 5 (beyond the pad, added by ceil mode). Include pad: 3/3 = 1,
     * 9/3 = 3, 4/2 = 2; exclude pad: 3/2 = 1.5, 3, 4/1 = 4. */
    x = values_input(shape_of(4, 1, 1, 1, 4), x4);
    static const float ceil_incl[] = {1, 3, 2}, ceil_excl[] = {1.5f, 3, 4};
    l = pool_layer(SIEVE_OP_AVGPOOL, 1, 3, 1, 2, 0, 1, 0, 1, true, true);
    expect_pool(&l, &x, ceil_incl, 1, 3, "avgpool ceil pads include");
    l.attrs.pool.count_include_pad = false;
    expect_pool(&l, &x, ceil_excl, 1, 3, "avgpool ceil pads exclude");
    /* A window may not start in the right padding: W=4, kernel 2, stride 2,
     * pad 1 each side, ceil: ceil((4+2-2)/2)+1 = 3 windows at -1, 1, 3;
     * a 4th would start at 5, past the input and its left pad. */
    l = pool_layer(SIEVE_OP_MAXPOOL, 1, 2, 1, 2, 0, 1, 0, 1, true, false);
    static const float max_row[] = {1, 3, 4};
    expect_pool(&l, &x, max_row, 1, 3, "maxpool ceil last window");
    l = pool_layer(SIEVE_OP_MAXPOOL, 1, 2, 1, 3, 0, 1, 0, 1, true, false);
    /* stride 3: ceil((4+2-2)/3)+1 = 3 windows at -1, 2, 5; 5 >= 4 + 1 is
     * in the right padding, so only 2 remain: max(1) = 1, max(3, 4) = 4 */
    static const float max_row3[] = {1, 4};
    expect_pool(&l, &x, max_row3, 1, 2, "maxpool ceil drops window in right pad");
    free_input(&x);

    /* 1-D pooling on [N, C, L] is the 2-D one with a 1-tall window:
     * x = [1 5 2 4 3]; max, kernel 2, stride 2, ceil: windows {0,1}, {2,3},
     * {4} -> [5 4 3]; average, kernel 2, stride 1: [3 3.5 3 3.5]. */
    static const float x5[] = {1, 5, 2, 4, 3}, max1d[] = {5, 4, 3}, avg1d[] = {3, 3.5f, 3, 3.5f};
    x = values_input(shape_of(3, 1, 1, 5), x5);
    l = pool_layer(SIEVE_OP_MAXPOOL, 1, 2, 1, 2, 0, 0, 0, 0, true, false);
    sieve_shape out = infer_ok(&l, &x, 1);
    assert_int_equal(out.rank, 3);
    assert_int_equal(out.dims[2], 3);
    float *y = run_fast(&l, &x, 1, &out, 2);
    expect_close(y, max1d, 3, NULL, 0, 0, "maxpool 1-D");
    free(y);
    l = pool_layer(SIEVE_OP_AVGPOOL, 1, 2, 1, 1, 0, 0, 0, 0, false, false);
    out = infer_ok(&l, &x, 1);
    assert_int_equal(out.dims[2], 4);
    y = run_ref(&l, &x, 1, &out);
    expect_close(y, avg1d, 4, NULL, 0, 0, "avgpool 1-D");
    free(y);
    free_input(&x);
}

typedef struct pool_case {
    int n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
    bool ceil_mode, include_pad;
} pool_case;

static void test_pool_fast_matches_ref_on_odd_shapes(void **state)
{
    (void)state;
    static const pool_case cases[] = {
        /* n  c   h   w kh kw sh sw dh dw pt pl pb pr ceil  incl */
        {1, 13, 11, 9, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true, false},
        {2, 13, 12, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, true},
        {1, 3, 15, 14, 3, 2, 2, 3, 1, 1, 1, 0, 2, 1, true, true},
        {1, 5, 16, 16, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, false},
        {1, 7, 13, 12, 3, 3, 1, 1, 2, 2, 2, 1, 1, 2, false, false},
        {1, 7, 13, 12, 3, 3, 2, 2, 2, 2, 2, 1, 1, 2, true, true},
        {1, 4, 9, 9, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, false, true},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, true, true},
        {1, 2, 5, 5, 5, 5, 5, 5, 1, 1, 0, 0, 0, 0, false, false},
        /* stride 1, output the input's size: the flat "same" kernel */
        {1, 13, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},  /* GoogLeNet's */
        {2, 5, 9, 11, 3, 5, 1, 1, 1, 1, 0, 4, 2, 0, false, true},   /* one-sided pads */
        {1, 3, 12, 10, 3, 3, 1, 1, 2, 2, 1, 3, 3, 1, false, false}, /* dilated */
        {1, 3, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},   /* no inside row */
        /* rows of one 16-lane vector (the AVX-512 max pool row) and
         * over: 16 wide with pads on both sides, ceil mode, LeNet's 2x2 /
         * stride 2 on odd widths, a "same" pool, a 16-wide kernel, wide pads */
        {1, 3, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},
        {1, 3, 10, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, false},
        {1, 3, 9, 45, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true, false},
        {1, 2, 6, 37, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, false},
        {2, 2, 5, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},
        {1, 2, 4, 40, 2, 16, 1, 1, 1, 1, 0, 0, 0, 0, false, false},
        {1, 2, 5, 50, 3, 15, 1, 2, 1, 1, 1, 14, 1, 14, false, true},
        /* 2x2 / stride 2 on rows over 16 (the AVX-512 column-pair row): two
         * vectors a row, ceil mode (a last row and column half outside),
         * taller windows with pads, right pads past the row */
        {1, 3, 7, 70, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, true, false},
        {2, 2, 9, 33, 3, 2, 2, 2, 1, 1, 1, 0, 1, 1, true, false},
        {1, 2, 4, 17, 2, 2, 1, 2, 1, 1, 0, 0, 1, 1, false, true},
        /* 1x1 at stride 1: AlexNet's adaptive 6x6 average, a copy */
        {2, 5, 6, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, false, false},
        {1, 3, 6, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, true, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const pool_case *pc = &cases[i];
        sieve_op_input x = random_input(shape_of(4, pc->n, pc->c, pc->h, pc->w));
        for (int op = 0; op < 2; op++) {
            sieve_layer l =
                pool_layer(op ? SIEVE_OP_AVGPOOL : SIEVE_OP_MAXPOOL, pc->kh, pc->kw, pc->sh, pc->sw,
                           pc->pt, pc->pl, pc->pb, pc->pr, pc->ceil_mode, pc->include_pad);
            l.attrs.pool.dilation[0] = pc->dh;
            l.attrs.pool.dilation[1] = pc->dw;
            check_fast_vs_ref(&l, &x, 1, op ? (size_t)(pc->kh * pc->kw) : 0, 0);
        }
        free_input(&x);
    }
}

/* Max pooling on packed activations, with decoded planes per thread in
 * the scratch and without scratch (a ring of decoded rows), and on the
 * codes themselves where input and output share an 8- or 4-bit format
 * (signed: negative codes order backwards; unsigned; 4-bit planes of odd
 * sizes start mid-byte; codes of wide planes and of narrow "same" pools,
 * narrow strided ones decoded), 1 and 2 threads: the reference on the decoded
 * values, rounded to the output's format. */
static void test_maxpool_on_packed_activations_matches_ref(void **state)
{
    (void)state;
    static const pool_case cases[] = {
        /* n  c   h   w kh kw sh sw dh dw pt pl pb pr ceil  incl */
        {1, 13, 11, 9, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true, false},
        {2, 5, 12, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false},
        {1, 3, 15, 14, 3, 2, 2, 3, 1, 1, 1, 0, 2, 1, true, false},
        {1, 7, 13, 12, 3, 3, 1, 1, 2, 2, 2, 1, 1, 2, false, false},
        {1, 3, 9, 9, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, false, false},
        {1, 13, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},
        {2, 5, 9, 11, 3, 5, 1, 1, 1, 1, 0, 4, 2, 0, false, false},
        {1, 3, 12, 10, 3, 3, 1, 1, 2, 2, 1, 3, 3, 1, false, false},
        {1, 3, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},
        /* wide enough for 4-bit codes to be pooled as bytes: odd planes */
        {1, 3, 9, 67, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true, false},
        {2, 3, 5, 65, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},
        /* a narrow "same" pool on 4-bit codes as bytes, planes split over
         * threads (the 7-wide ones above are odd: one thread) */
        {2, 5, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},
        /* many tiny planes: decoded a group of planes per call, two
         * groups per thread */
        {2, 700, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false},
    };
    const sieve_format formats[][2] = {
        {sieve_format_cfloat(4, 3, 7, 1), sieve_format_cfloat(3, 1, 3, 1)}, /* decoded */
        {sieve_format_cfloat(4, 3, 7, 1), sieve_format_cfloat(4, 3, 7, 1)}, /* on codes */
        {sieve_format_cfloat(4, 4, 7, 0), sieve_format_cfloat(4, 4, 7, 0)}, /* unsigned */
        {sieve_format_cfloat(2, 1, 1, 1), sieve_format_cfloat(2, 1, 1, 1)}, /* 4-bit codes */
        {sieve_format_cfloat(2, 2, 1, 0), sieve_format_cfloat(2, 2, 1, 0)}, /* unsigned */
        {sieve_format_cfloat(2, 2, 1, 1), sieve_format_cfloat(2, 2, 1, 1)}, /* 5 bits: decoded */
    };
    enum { NF = sizeof(formats) / sizeof(formats[0]) };
    for (size_t i = 0; i < NF * sizeof(cases) / sizeof(cases[0]); i++) {
        const pool_case *pc = &cases[i / NF];
        sieve_format in_fmt = formats[i % NF][0], out_fmt = formats[i % NF][1];
        sieve_op_input x = random_input(shape_of(4, pc->n, pc->c, pc->h, pc->w));
        if (!in_fmt.is_signed)
            for (size_t j = 0; j < numel(&x.shape); j++)
                ((float *)x.f32)[j] = fabsf(x.f32[j]);
        sieve_op_input xp = pack_input(&x, &in_fmt); /* x now holds the decoded values */
        sieve_layer l = pool_layer(SIEVE_OP_MAXPOOL, pc->kh, pc->kw, pc->sh, pc->sw, pc->pt,
                                   pc->pl, pc->pb, pc->pr, pc->ceil_mode, false);
        l.attrs.pool.dilation[0] = pc->dh;
        l.attrs.pool.dilation[1] = pc->dw;
        sieve_shape out = infer_ok(&l, &x, 1);
        float *want = run_ref(&l, &x, 1, &out);
        assert_int_equal(sieve_cfloat_quantize(&out_fmt, want, numel(&out), NULL), SIEVE_OK);
        sieve_op_packed in = {x.shape, in_fmt, xp.packed};
        size_t bytes = sieve_format_bytes(&out_fmt, numel(&out)) + SIEVE_PACK_SLACK;
        float *got = malloc(numel(&out) * sizeof(float));
        for (int threads = 1; threads <= 2; threads++)
            for (int with_scratch = 0; with_scratch < 2; with_scratch++) {
                sieve_context *ctx = sieve_context_create(NULL);
                sieve_pool *pool = NULL;
                assert_int_equal(sieve_pool_create(ctx, threads, &pool), SIEVE_OK);
                size_t floats = with_scratch ? sieve_op_kernels[l.op].scratch_floats(
                                                   &l, &x.shape, 1, &out, threads)
                                             : 0;
                float *scratch = malloc((floats + 64) * sizeof(float));
                for (size_t j = floats; j < floats + 64; j++)
                    scratch[j] = 12345.0f; /* a canary after the scratch */
                sieve_op_env env = {pool, floats ? scratch : NULL, floats};
                uint8_t *y = malloc(bytes);
                memset(y, 0xa5, bytes);
                assert_true(sieve_op_kernels[l.op].run_packed(&l, &in, 1, y, &out_fmt, &out, &env));
                sieve_cfloat_unpack(&out_fmt, y, 0, numel(&out), got);
                for (size_t j = floats; j < floats + 64; j++)
                    if (scratch[j] != 12345.0f)
                        fail_msg("case %zu: max pool wrote past its scratch", i / NF);
                for (size_t j = 0; j < numel(&out); j++)
                    if (got[j] != want[j])
                        fail_msg("case %zu, formats %zu, %d thread(s), scratch %d: element %zu "
                                 "is %g, want %g",
                                 i / NF, i % NF, threads, with_scratch, j, (double)got[j],
                                 (double)want[j]);
                free(y);
                free(scratch);
                sieve_pool_destroy(pool);
                sieve_context_destroy(ctx);
            }
        free(got);
        free(want);
        free_input(&x);
        free_input(&xp);
    }
}

/* Add (with and without its ReLU) and ReLU on packed activations, over
 * several pieces and a tail that ends inside a byte (4-bit codes, odd
 * length), split over 1 to 3 threads: a + b (then max(0, .)) on the
 * decoded values, rounded to the output's format; the bytes around the
 * output are untouched. */
static void test_packed_add_and_relu_match_the_values_they_decode(void **state)
{
    (void)state;
    const size_t n = 3 * SIEVE_OP_PIECE + 77;
    const sieve_format a_fmt = sieve_format_cfloat(4, 3, 7, 1), b_fmt = sieve_format_cfloat(2, 1, 1, 1),
                       y_fmt = sieve_format_cfloat(3, 0, 3, 1);
    sieve_op_input a = random_input(shape_of(2, 1, (int64_t)n)),
                   b = random_input(shape_of(2, 1, (int64_t)n));
    sieve_op_input ap = pack_input(&a, &a_fmt), bp = pack_input(&b, &b_fmt);
    sieve_op_packed in[2] = {{a.shape, a_fmt, ap.packed}, {b.shape, b_fmt, bp.packed}};
    size_t bytes = sieve_format_bytes(&y_fmt, n);
    uint8_t *y = malloc(bytes + 1 + SIEVE_PACK_SLACK);
    float *got = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
    for (int op = 0; op < 3; op++) { /* add, add + relu, relu */
        sieve_layer l = layer_of(op == 2 ? SIEVE_OP_RELU : SIEVE_OP_ADD, op == 2 ? 1 : 2);
        l.attrs.add.relu = op == 1;
        for (size_t i = 0; i < n; i++) {
            float v = op == 2 ? a.f32[i] : a.f32[i] + b.f32[i];
            want[i] = op >= 1 && v < 0.0f ? 0.0f : v;
        }
        assert_int_equal(sieve_cfloat_quantize(&y_fmt, want, n, NULL), SIEVE_OK);
        for (int threads = 1; threads <= 3; threads++) {
            sieve_context *ctx = sieve_context_create(NULL);
            sieve_pool *pool = NULL;
            assert_int_equal(sieve_pool_create(ctx, threads, &pool), SIEVE_OK);
            sieve_op_env env = {pool, NULL, 0};
            memset(y, 0xa5, bytes + 1 + SIEVE_PACK_SLACK);
            sieve_shape out = a.shape;
            assert_true(sieve_op_kernels[l.op].run_packed(&l, in, l.n_inputs, y, &y_fmt, &out,
                                                          &env));
            assert_int_equal(y[bytes - 1] >> 4, 0xa); /* the last byte's free high nibble */
            assert_int_equal(y[bytes], 0xa5);
            sieve_cfloat_unpack(&y_fmt, y, 0, n, got);
            for (size_t i = 0; i < n; i++)
                if (got[i] != want[i])
                    fail_msg("%s, %d thread(s): element %zu is %g, want %g",
                             op == 2 ? "relu" : op ? "add relu" : "add", threads, i,
                             (double)got[i], (double)want[i]);
            sieve_pool_destroy(pool);
            sieve_context_destroy(ctx);
        }
    }
    free(y);
    free(got);
    free(want);
    free_input(&a);
    free_input(&b);
    free_input(&ap);
    free_input(&bp);
}

static void test_global_pools_reduce_every_spatial_axis(void **state)
{
    (void)state;
    /* hand: x = [[1 2 3], [-4 -5 -6]] as N=1, C=2, L=3 -> avg 2, -5; max 3, -4 */
    static const float x6[] = {1, 2, 3, -4, -5, -6}, avg[] = {2, -5}, max[] = {3, -4};
    sieve_op_input x = values_input(shape_of(3, 1, 2, 3), x6);
    sieve_layer l = layer_of(SIEVE_OP_GLOBALAVGPOOL, 1);
    sieve_shape out = infer_ok(&l, &x, 1);
    assert_int_equal(out.rank, 3);
    assert_int_equal(out.dims[2], 1);
    float *y = run_ref(&l, &x, 1, &out);
    expect_close(y, avg, 2, NULL, 0, 0, "globalavgpool");
    free(y);
    l.op = SIEVE_OP_GLOBALMAXPOOL;
    y = run_ref(&l, &x, 1, &out);
    expect_close(y, max, 2, NULL, 0, 0, "globalmaxpool");
    free(y);
    free_input(&x);
    static const sieve_shape shapes[] = {
        {3, {2, 13, 37}}, {4, {1, 13, 7, 9}}, {4, {3, 5, 1, 1}}, {5, {1, 3, 4, 5, 6}}};
    for (size_t i = 0; i < 4; i++) {
        x = random_input(shapes[i]);
        l.op = SIEVE_OP_GLOBALAVGPOOL;
        check_fast_vs_ref(&l, &x, 1,
                          numel(&shapes[i]) / (size_t)(shapes[i].dims[0] * shapes[i].dims[1]), 0);
        l.op = SIEVE_OP_GLOBALMAXPOOL;
        check_fast_vs_ref(&l, &x, 1, 0, 0);
        free_input(&x);
    }
    sieve_shape bad = shape_of(2, 3, 4);
    infer_fails(&l, &bad, 1, "rank >= 3");
}

static void test_pool_infer_rejects_bad_attributes(void **state)
{
    (void)state;
    sieve_layer l = pool_layer(SIEVE_OP_MAXPOOL, 3, 3, 1, 1, 3, 0, 0, 0, false, false);
    sieve_shape x = shape_of(4, 1, 2, 8, 8);
    infer_fails(&l, &x, 1, "not smaller than the kernel");
    l.attrs.pool.pads[0] = 0;
    l.attrs.pool.kernel[1] = 9;
    infer_fails(&l, &x, 1, "larger than padded input");
    l.attrs.pool.kernel[1] = 0;
    infer_fails(&l, &x, 1, "kernel size");
    l.attrs.pool.kernel[1] = 3;
    l.attrs.pool.stride[0] = 0;
    infer_fails(&l, &x, 1, "stride");
    l.attrs.pool.stride[0] = 1;
    x = shape_of(2, 8, 8);
    infer_fails(&l, &x, 1, "4-D");
    x = shape_of(3, 2, 8, 8);
    infer_fails(&l, &x, 1, "kernel height must be 1");
}

/* ---- element-wise -------------------------------------------------------- */

static void test_relu_add_batchnorm_match_hand_examples_and_ref(void **state)
{
    (void)state;
    /* relu([-1.5, 0, 2]) = [0, 0, 2] */
    static const float xr[] = {-1.5f, 0, 2}, yr[] = {0, 0, 2};
    sieve_op_input x = values_input(shape_of(1, 3), xr);
    sieve_layer l = layer_of(SIEVE_OP_RELU, 1);
    sieve_shape out = infer_ok(&l, &x, 1);
    float *y = run_fast(&l, &x, 1, &out, 2);
    expect_close(y, yr, 3, NULL, 0, 0, "relu");
    free(y);
    free_input(&x);
    x = random_input(shape_of(4, 2, 13, 33, 41)); /* > one parallel chunk */
    check_fast_vs_ref(&l, &x, 1, 0, 0);
    free_input(&x);

    /* [1 2 3] + [[10] [20]] = [[11 12 13] [21 22 23]] */
    static const float a3[] = {1, 2, 3}, b2[] = {10, 20}, sum[] = {11, 12, 13, 21, 22, 23};
    sieve_op_input ab[2] = {values_input(shape_of(1, 3), a3), values_input(shape_of(2, 2, 1), b2)};
    l = layer_of(SIEVE_OP_ADD, 2);
    out = infer_ok(&l, ab, 2);
    assert_int_equal(out.rank, 2);
    y = run_ref(&l, ab, 2, &out);
    expect_close(y, sum, 6, NULL, 0, 0, "add ref");
    free(y);
    y = run_fast(&l, ab, 2, &out, 2);
    expect_close(y, sum, 6, NULL, 0, 0, "add fast");
    free(y);
    free_input(&ab[0]);
    free_input(&ab[1]);
    static const sieve_shape pairs[][2] = {
        {{4, {2, 3, 4, 5}}, {4, {2, 3, 4, 5}}}, {{4, {2, 3, 4, 5}}, {1, {5}}},
        {{4, {2, 13, 4, 5}}, {3, {13, 1, 1}}},  {{1, {1}}, {2, {7, 3}}},
        {{3, {4, 1, 6}}, {2, {5, 1}}},          {{0, {0}}, {2, {3, 4}}},
        {{3, {1, 3, 1}}, {3, {2, 1, 5}}},       {{2, {1, 1}}, {2, {1, 1}}},
        /* rows over several pieces (SIEVE_OP_PIECE), with a tail */
        {{3, {2, 3, 5001}}, {3, {2, 3, 5001}}}, {{2, {3, 4100}}, {2, {1, 4100}}},
        {{2, {3, 4100}}, {2, {3, 1}}},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        sieve_op_input in[2] = {random_input(pairs[i][0]), random_input(pairs[i][1])};
        check_fast_vs_ref(&l, in, 2, 0, 0);
        sieve_op_input swapped[2] = {in[1], in[0]};
        check_fast_vs_ref(&l, swapped, 2, 0, 0);
        free_input(&in[0]);
        free_input(&in[1]);
    }
    sieve_shape bad[2] = {shape_of(2, 3, 4), shape_of(1, 3)};
    infer_fails(&l, bad, 2, "cannot broadcast dimension 1: 4 vs 3");

    /* fused ReLU: max(0, [1 -2 3] + [[-4] [5]]) = [[0 0 0] [6 3 8]] */
    static const float a3r[] = {1, -2, 3}, b2r[] = {-4, 5}, sum_relu[] = {0, 0, 0, 6, 3, 8};
    sieve_op_input abr[2] = {values_input(shape_of(1, 3), a3r),
                             values_input(shape_of(2, 2, 1), b2r)};
    l.attrs.add.relu = true;
    out = infer_ok(&l, abr, 2);
    y = run_ref(&l, abr, 2, &out);
    expect_close(y, sum_relu, 6, NULL, 0, 0, "add relu ref");
    free(y);
    y = run_fast(&l, abr, 2, &out, 2);
    expect_close(y, sum_relu, 6, NULL, 0, 0, "add relu fast");
    free(y);
    free_input(&abr[0]);
    free_input(&abr[1]);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        sieve_op_input in[2] = {random_input(pairs[i][0]), random_input(pairs[i][1])};
        check_fast_vs_ref(&l, in, 2, 0, 0);
        free_input(&in[0]);
        free_input(&in[1]);
    }
    l.attrs.add.relu = false;

    /* folded batch norm: y = x * scale[c] + shift[c], x [1, 2, 2] */
    static const float xb[] = {1, 2, 3, 4}, sc[] = {2, -1}, sh[] = {0.5f, 10},
                       yb[] = {2.5f, 4.5f, 7, 6};
    sieve_op_input bn[3] = {values_input(shape_of(3, 1, 2, 2), xb),
                            values_input(shape_of(1, 2), sc), values_input(shape_of(1, 2), sh)};
    l = layer_of(SIEVE_OP_BATCHNORM, 3);
    out = infer_ok(&l, bn, 3);
    y = run_ref(&l, bn, 3, &out);
    expect_close(y, yb, 4, NULL, 0, 0, "batchnorm ref");
    free(y);
    for (int i = 0; i < 3; i++)
        free_input(&bn[i]);
    static const sieve_shape bn_shapes[] = {{2, {5, 13}}, {4, {2, 13, 7, 9}}, {5, {1, 3, 2, 3, 4}}};
    for (size_t i = 0; i < 3; i++) {
        int c = (int)bn_shapes[i].dims[1];
        sieve_op_input in[3] = {random_input(bn_shapes[i]), random_input(shape_of(1, c)),
                                random_input(shape_of(1, c))};
        check_fast_vs_ref(&l, in, 3, 0, 1e-6);
        for (int j = 0; j < 3; j++)
            free_input(&in[j]);
    }
    sieve_shape bad_bn[3] = {shape_of(4, 1, 3, 2, 2), shape_of(1, 3), shape_of(1, 4)};
    infer_fails(&l, bad_bn, 3, "shift must be [3]");
}

/* ---- LRN and softmax ----------------------------------------------------- */

static void test_lrn_matches_hand_examples_and_ref(void **state)
{
    (void)state;
    /* C = 3, one pixel, x = [1 2 3], alpha / size = 1, beta = 1, bias = 1.
     * size 3: windows {0,1}, {0,1,2}, {1,2}: y = 1/(1+5), 2/(1+14), 3/(1+13).
     * size 2 (ONNX: floor((2-1)/2) = 0 below, ceil((2-1)/2) = 1 above):
     * windows {0,1}, {1,2}, {2}: y = 1/(1+5), 2/(1+13), 3/(1+9). */
    static const float x3[] = {1, 2, 3};
    const float want3[] = {1.0f / 6, 2.0f / 15, 3.0f / 14},
                want2[] = {1.0f / 6, 2.0f / 14, 3.0f / 10};
    sieve_op_input x = values_input(shape_of(4, 1, 3, 1, 1), x3);
    sieve_layer l = layer_of(SIEVE_OP_LRN, 1);
    l.attrs.lrn = (sieve_lrn_attrs){.size = 3, .alpha = 3, .beta = 1, .bias = 1};
    sieve_shape out = infer_ok(&l, &x, 1);
    float *y = run_ref(&l, &x, 1, &out);
    expect_close(y, want3, 3, NULL, 1e-7, 0, "lrn size 3");
    free(y);
    l.attrs.lrn = (sieve_lrn_attrs){.size = 2, .alpha = 2, .beta = 1, .bias = 1};
    y = run_ref(&l, &x, 1, &out);
    expect_close(y, want2, 3, NULL, 1e-7, 0, "lrn size 2");
    free(y);
    free_input(&x);
    static const sieve_shape shapes[] = {{4, {2, 13, 7, 9}}, {4, {1, 5, 20, 20}}, {3, {2, 4, 3}}};
    static const int sizes[] = {5, 3, 4, 1};
    for (size_t i = 0; i < 3; i++)
        for (size_t s = 0; s < 4; s++) {
            x = random_input(shapes[i]);
            /* beta 0.75 has its own square-root path; others use powf */
            l.attrs.lrn = (sieve_lrn_attrs){
                .size = sizes[s], .alpha = 1e-2f, .beta = s % 2 ? 0.6f : 0.75f, .bias = 2};
            check_fast_vs_ref(&l, &x, 1, 0, 1e-5);
            free_input(&x);
        }
    l.attrs.lrn.size = 0;
    sieve_shape s4 = shape_of(4, 1, 3, 2, 2);
    infer_fails(&l, &s4, 1, "size 0");
}

static void test_softmax_axis_and_coerce_forms(void **state)
{
    (void)state;
    /* x = [[0 0] [ln3 ln3]]: exp -> [[1 1] [3 3]].
     * opset 13 axis 0: per column [1/4, 3/4]; axis 1 (either form): 1/2
     * each; opset < 13 axis 0: the whole tensor, [1/8 1/8 3/8 3/8]. */
    const float l3 = logf(3.0f);
    const float xv[] = {0, 0, l3, l3};
    static const float ax0[] = {0.25f, 0.25f, 0.75f, 0.75f}, ax1[] = {0.5f, 0.5f, 0.5f, 0.5f},
                       whole[] = {0.125f, 0.125f, 0.375f, 0.375f};
    sieve_op_input x = values_input(shape_of(2, 2, 2), xv);
    sieve_layer l = layer_of(SIEVE_OP_SOFTMAX, 1);
    sieve_shape out = infer_ok(&l, &x, 1);
    const float *wants[] = {ax0, ax1, whole, ax1};
    for (int form = 0; form < 4; form++) {
        l.attrs.axis.axis = form & 1;
        l.attrs.axis.softmax_coerce_2d = form >= 2;
        float *y = run_ref(&l, &x, 1, &out);
        expect_close(y, wants[form], 4, NULL, 1e-6, 0, "softmax ref");
        free(y);
        y = run_fast(&l, &x, 1, &out, 2);
        expect_close(y, wants[form], 4, NULL, 1e-6, 0, "softmax fast");
        free(y);
    }
    free_input(&x);
    /* Large inputs do not overflow: softmax([1000, 1000]) = [0.5, 0.5]. */
    static const float big[] = {1000, 1000}, halves[] = {0.5f, 0.5f};
    x = values_input(shape_of(1, 2), big);
    l.attrs.axis = (sieve_axis_attrs){.axis = -1};
    float *y = run_fast(&l, &x, 1, &out, 1);
    expect_close(y, halves, 2, NULL, 0, 0, "softmax large");
    free(y);
    free_input(&x);
    sieve_shape s = shape_of(3, 3, 70, 5);
    x = random_input(s);
    for (int axis = -3; axis <= 3; axis++)
        for (int coerce = 0; coerce < 2; coerce++) {
            if (axis == 3 && !coerce)
                continue;
            l.attrs.axis = (sieve_axis_attrs){.axis = axis, .softmax_coerce_2d = coerce};
            check_fast_vs_ref(&l, &x, 1, 0, 2e-6);
        }
    free_input(&x);
    l.attrs.axis = (sieve_axis_attrs){.axis = 3};
    infer_fails(&l, &s, 1, "axis 3 out of range for rank 3");
}

/* ---- gemm and matmul ----------------------------------------------------- */

static sieve_layer gemm_layer(float alpha, float beta, bool ta, bool tb, bool relu, int n_in)
{
    sieve_layer l = layer_of(SIEVE_OP_GEMM, n_in);
    l.attrs.gemm = (sieve_gemm_attrs){.alpha = alpha, .beta = beta, .trans_a = ta, .trans_b = tb,
                                      .relu = relu};
    return l;
}

static void test_gemm_matches_hand_worked_example(void **state)
{
    (void)state;
    /* A = [1 2; 3 4], B = [5 6; 7 8]: AB = [19 22; 43 50]. C = [1 -100]
     * broadcast over rows: [20 -78; 44 -50]; ReLU: [20 0; 44 0].
     * A^T B^T = [1 3; 2 4][5 7; 6 8] = [23 31; 34 46]; alpha 2, beta -1,
     * C = [[1] [2]] broadcast over columns: [45 61; 66 90]. */
    static const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c_row[] = {1, -100},
                       c_col[] = {1, 2};
    static const float want1[] = {20, 0, 44, 0}, want2[] = {45, 61, 66, 90};
    sieve_op_input in[3] = {values_input(shape_of(2, 2, 2), a), values_input(shape_of(2, 2, 2), b),
                            values_input(shape_of(1, 2), c_row)};
    sieve_layer l = gemm_layer(1, 1, false, false, true, 3);
    sieve_shape out = infer_ok(&l, in, 3);
    for (int fast = 0; fast < 2; fast++) {
        float *y = fast ? run_fast(&l, in, 3, &out, 2) : run_ref(&l, in, 3, &out);
        expect_close(y, want1, 4, NULL, 0, 0, "gemm");
        free(y);
    }
    free_input(&in[2]);
    in[2] = values_input(shape_of(2, 2, 1), c_col);
    l = gemm_layer(2, -1, true, true, false, 3);
    for (int fast = 0; fast < 2; fast++) {
        float *y = fast ? run_fast(&l, in, 3, &out, 2) : run_ref(&l, in, 3, &out);
        expect_close(y, want2, 4, NULL, 0, 0, "gemm transposed");
        free(y);
    }
    for (int i = 0; i < 3; i++)
        free_input(&in[i]);
}

static void test_gemm_fast_matches_ref_on_odd_shapes(void **state)
{
    (void)state;
    static const int ms[] = {1, 2, 4, 5, 13}, ks[] = {1, 7, 37, 300}, ns[] = {1, 10, 33, 300};
    int variant = 0;
    for (size_t mi = 0; mi < 5; mi++)
        for (size_t ki = 0; ki < 4; ki++)
            for (size_t ni = 0; ni < 4; ni++, variant++) {
                int m = ms[mi], k = ks[ki], n = ns[ni];
                bool ta = variant & 1, tb = (variant >> 1) & 1;
                /* C: none, scalar, [N], [1], [M, 1], [1, N], [M, N] in turn */
                int c_kind = variant % 7;
                sieve_shape cs[] = {{-1, {0}},        {0, {0}},         shape_of(1, n),
                                    shape_of(1, 1),   shape_of(2, m, 1), shape_of(2, 1, n),
                                    shape_of(2, m, n)};
                sieve_layer l = gemm_layer(variant % 3 ? 0.5f : 1.0f, variant % 5 ? 1.0f : -2.0f,
                                           ta, tb, variant % 4 == 0, 3);
                sieve_op_input in[3] = {
                    random_input(ta ? shape_of(2, k, m) : shape_of(2, m, k)),
                    random_input(tb ? shape_of(2, n, k) : shape_of(2, k, n)),
                    c_kind ? random_input(cs[c_kind]) : (sieve_op_input){.shape = {-1, {0}}}};
                check_fast_vs_ref(&l, in, 3, (size_t)k, 0);
                for (int i = 0; i < 3; i++)
                    free_input(&in[i]);
            }
}

/* Packed weights give the result of their quantized fp32 values: bit for
 * bit where both go through the same decode-then-compute path, within the
 * summation bound where the GEMV reads B' rows packed (batch <= 4, transB:
 * the fused kernels sum in another order). */
static void test_gemm_packed_weights_equal_fp32_quantized_weights(void **state)
{
    (void)state;
    sieve_format fmt = sieve_format_cfloat(4, 3, 7, 1);
    static const int ms[] = {1, 3, 7, 20};
    /* k = 4100 spans several GEMV decode chunks (2048) and SGEMM k blocks */
    for (size_t mi = 0; mi < 4; mi++)
        for (int tb = 0; tb < 4; tb++) {
            int m = ms[mi], k = tb >= 2 ? 4100 : 301, n = tb >= 2 ? 19 : 37;
            sieve_layer l = gemm_layer(1, 1, false, tb & 1, true, 3);
            sieve_op_input in[3] = {random_input(shape_of(2, m, k)),
                                    random_input(tb & 1 ? shape_of(2, n, k) : shape_of(2, k, n)),
                                    random_input(shape_of(1, n))};
            sieve_op_input packed[3] = {in[0], pack_input(&in[1], &fmt), in[2]};
            sieve_shape out = infer_ok(&l, in, 3);
            bool fused = m <= 4 && (tb & 1);
            float *tol = fused ? reduction_tolerance(&l, in, 3, &out, 2 * (size_t)k) : NULL;
            for (int threads = 1; threads <= 2; threads++) {
                float *from_f32 = run_fast(&l, in, 3, &out, threads);
                float *from_packed = run_fast(&l, packed, 3, &out, threads);
                if (fused)
                    expect_close(from_packed, from_f32, numel(&out), tol, 0, 1e-30,
                                 "gemv on packed rows");
                else
                    assert_memory_equal(from_f32, from_packed, numel(&out) * sizeof(float));
                free(from_f32);
                free(from_packed);
            }
            free(tol);
            check_fast_vs_ref(&l, packed, 3, (size_t)k, 0);
            free_input(&packed[1]);
            for (int i = 0; i < 3; i++)
                free_input(&in[i]);
        }
}

/* The batch-1..4 GEMV reads B' rows straight from their packed stream with
 * a kernel per format family (byte tables for 8 and 4 bits on whole-byte
 * rows, table lookups, arithmetic): every 4- and 8-bit format, signed and
 * unsigned, and other widths, on k that puts rows on and off byte
 * boundaries and leaves tails, against the reference (decode element by
 * element, sum in double). */
static void test_gemm_gemv_on_packed_rows_matches_ref_every_format_family(void **state)
{
    (void)state;
    const sieve_format formats[] = {
        sieve_format_cfloat(4, 3, 7, 1), sieve_format_cfloat(5, 2, 15, 1),
        sieve_format_cfloat(2, 5, 1, 1), sieve_format_cfloat(1, 6, 0, 1),
        sieve_format_cfloat(4, 4, 7, 0), sieve_format_cfloat(7, 1, 60, 0),
        sieve_format_cfloat(2, 1, 1, 1), sieve_format_cfloat(3, 0, 3, 1),
        sieve_format_cfloat(3, 1, 3, 0), sieve_format_cfloat(1, 3, 0, 0),
        sieve_format_cfloat(3, 1, 3, 1), sieve_format_cfloat(4, 2, 7, 1),
        sieve_format_cfloat(5, 6, 15, 1),
    };
    static const int ks[] = {1, 17, 64, 129, 301, 1000};
    static const int ms[] = {1, 2, 4};
    for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++)
        for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
            int m = ms[(f + ki) % 3], k = ks[ki], n = 7 + (int)ki;
            sieve_layer l = gemm_layer(0.5f, 1, false, true, false, 3);
            sieve_op_input in[3] = {random_input(shape_of(2, m, k)),
                                    random_input(shape_of(2, n, k)),
                                    random_input(shape_of(1, n))};
            if (!formats[f].is_signed) /* unsigned formats hold magnitudes */
                for (size_t i = 0; i < numel(&in[1].shape); i++)
                    ((float *)in[1].f32)[i] = fabsf(in[1].f32[i]);
            sieve_op_input packed[3] = {in[0], pack_input(&in[1], &formats[f]), in[2]};
            check_fast_vs_ref(&l, packed, 3, (size_t)k, 0);
            free_input(&packed[1]);
            for (int i = 0; i < 3; i++)
                free_input(&in[i]);
        }
}

/* The split of a GEMM's output among tasks covers every column once in
 * blocks of whole panels, and the busiest thread (tasks dealt out as
 * sieve_parallel_for does) gets no more columns than
 * with blocks of NC: worked by hand for AlexNet's 27x27 layer on two
 * threads (3 blocks of 256, 512 columns on one thread; 4 of 192, 384),
 * checked on a range of shapes for the rest. */
static size_t split_busiest_columns(const sieve_gemm_split *s, size_t n, size_t outer,
                                    size_t threads)
{
    size_t tasks = outer * s->n_blocks, parts = SIEVE_MIN(tasks, threads), most = 0;
    for (size_t p = 0; p < parts; p++) {
        size_t cols = 0, begin, end;
        sieve_parallel_part(tasks, (unsigned)parts, (unsigned)p, &begin, &end);
        for (size_t t = begin; t < end; t++) {
            size_t nb = t % s->n_blocks;
            cols += SIEVE_MIN(s->n_block, n - nb * s->n_block);
        }
        most = SIEVE_MAX(most, cols);
    }
    return most;
}

static void test_gemm_split_evens_out_the_threads(void **state)
{
    (void)state;
    sieve_gemm_split s = sieve_gemm_plan(192, 729, 1, 2);
    assert_int_equal(s.n_blocks, 4);
    assert_int_equal(s.n_block, 192);
    assert_int_equal(s.m_blocks, 1);
    for (size_t n = 1; n < 4000; n += 7)
        for (size_t outer = 1; outer <= 3; outer++)
            for (size_t threads = 1; threads <= 4; threads++) {
                s = sieve_gemm_plan(8, n, outer, (int)threads);
                if (s.n_block % SIEVE_GEMM_NR || s.n_blocks * s.n_block < n ||
                    (s.n_blocks - 1) * s.n_block >= n)
                    fail_msg("n %zu: %zu blocks of %zu", n, s.n_blocks, s.n_block);
                size_t nc_blocks = (n + SIEVE_GEMM_NC - 1) / SIEVE_GEMM_NC;
                sieve_gemm_split by_nc = {0, (n + nc_blocks - 1) / nc_blocks, 1, 0};
                by_nc.n_block = (by_nc.n_block + SIEVE_GEMM_NR - 1) / SIEVE_GEMM_NR * SIEVE_GEMM_NR;
                by_nc.n_blocks = (n + by_nc.n_block - 1) / by_nc.n_block;
                if (outer * by_nc.n_blocks >= threads &&
                    split_busiest_columns(&s, n, outer, threads) >
                        split_busiest_columns(&by_nc, n, outer, threads))
                    fail_msg("n %zu, outer %zu, %zu threads: %zu columns on one thread, "
                             "%zu with blocks of NC",
                             n, outer, threads, split_busiest_columns(&s, n, outer, threads),
                             split_busiest_columns(&by_nc, n, outer, threads));
            }
}

static void test_gemm_infer_rejects_bad_shapes(void **state)
{
    (void)state;
    sieve_layer l = gemm_layer(1, 1, false, true, false, 3);
    sieve_shape s[3] = {shape_of(2, 4, 5), shape_of(2, 6, 4), shape_of(1, 6)};
    infer_fails(&l, s, 3, "A has K = 5 but B^T has K = 4");
    s[1] = shape_of(2, 6, 5);
    s[2] = shape_of(1, 5);
    infer_fails(&l, s, 3, "C (rank 1) does not broadcast to [4, 6]");
    s[2] = shape_of(2, 3, 6);
    infer_fails(&l, s, 3, "does not broadcast");
    s[0] = shape_of(3, 1, 4, 5);
    infer_fails(&l, s, 3, "A must be 2-D");
}

static void test_matmul_numpy_semantics(void **state)
{
    (void)state;
    /* [1 2 3] . [4 5 6] = 32, a 0-D result; [2,3] x [3] -> [2]:
     * [[1 2 3] [4 5 6]] x [1 0 -1] = [-2 -2]; [3] x [3,2] -> [2]:
     * [1 2 3] x [[1 0] [0 1] [1 1]] = [4 5]. */
    static const float a[] = {1, 2, 3}, b[] = {4, 5, 6}, m23[] = {1, 2, 3, 4, 5, 6},
                       v[] = {1, 0, -1}, m32[] = {1, 0, 0, 1, 1, 1};
    static const float dot[] = {32}, mv[] = {-2, -2}, vm[] = {4, 5};
    sieve_layer l = layer_of(SIEVE_OP_MATMUL, 2);
    struct {
        sieve_shape sa, sb;
        const float *a, *b, *want;
        int rank, n;
    } cases[] = {
        {shape_of(1, 3), shape_of(1, 3), a, b, dot, 0, 1},
        {shape_of(2, 2, 3), shape_of(1, 3), m23, v, mv, 1, 2},
        {shape_of(1, 3), shape_of(2, 3, 2), a, m32, vm, 1, 2},
    };
    for (int i = 0; i < 3; i++) {
        sieve_op_input in[2] = {values_input(cases[i].sa, cases[i].a),
                                values_input(cases[i].sb, cases[i].b)};
        sieve_shape out = infer_ok(&l, in, 2);
        assert_int_equal(out.rank, cases[i].rank);
        for (int fast = 0; fast < 2; fast++) {
            float *y = fast ? run_fast(&l, in, 2, &out, 2) : run_ref(&l, in, 2, &out);
            expect_close(y, cases[i].want, (size_t)cases[i].n, NULL, 0, 0, "matmul");
            free(y);
        }
        free_input(&in[0]);
        free_input(&in[1]);
    }
    static const sieve_shape pairs[][2] = {
        {{2, {7, 37}}, {2, {37, 13}}},         {{4, {2, 3, 5, 4}}, {2, {4, 6}}},
        {{1, {5}}, {3, {3, 5, 2}}},            {{4, {2, 1, 7, 5}}, {3, {3, 5, 4}}},
        {{3, {3, 1, 300}}, {3, {3, 300, 33}}}, {{2, {20, 9}}, {1, {9}}},
        {{3, {4, 2, 3}}, {3, {1, 3, 17}}},
    };
    sieve_format fmt = sieve_format_cfloat(4, 3, 7, 1);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        sieve_op_input in[2] = {random_input(pairs[i][0]), random_input(pairs[i][1])};
        size_t k = (size_t)pairs[i][0].dims[pairs[i][0].rank - 1];
        check_fast_vs_ref(&l, in, 2, k, 0);
        /* a constant B stored packed works too */
        sieve_op_input packed[2] = {in[0], pack_input(&in[1], &fmt)};
        check_fast_vs_ref(&l, packed, 2, k, 0);
        free_input(&packed[1]);
        free_input(&in[0]);
        free_input(&in[1]);
    }
    sieve_shape bad[2] = {shape_of(3, 2, 4, 5), shape_of(3, 3, 5, 6)};
    infer_fails(&l, bad, 2, "batch dimension 0 does not broadcast: 2 vs 3");
    bad[1] = shape_of(2, 4, 6);
    infer_fails(&l, bad, 2, "A has K = 5 but B has K = 4");
}

/* ---- concat, reshape, flatten -------------------------------------------- */

static void test_concat_reshape_flatten(void **state)
{
    (void)state;
    /* concat([[1 2] [3 4]], [[5] [6]], axis 1) = [[1 2 5] [3 4 6]] */
    static const float a[] = {1, 2, 3, 4}, b[] = {5, 6}, want[] = {1, 2, 5, 3, 4, 6};
    sieve_op_input in[2] = {values_input(shape_of(2, 2, 2), a), values_input(shape_of(2, 2, 1), b)};
    sieve_layer l = layer_of(SIEVE_OP_CONCAT, 2);
    l.attrs.axis.axis = -1;
    sieve_shape out = infer_ok(&l, in, 2);
    assert_int_equal(out.dims[1], 3);
    for (int fast = 0; fast < 2; fast++) {
        float *y = fast ? run_fast(&l, in, 2, &out, 2) : run_ref(&l, in, 2, &out);
        expect_close(y, want, 6, NULL, 0, 0, "concat");
        free(y);
    }
    free_input(&in[0]);
    free_input(&in[1]);
    for (int axis = -3; axis < 3; axis++) {
        int ax = axis < 0 ? axis + 3 : axis;
        sieve_op_input parts[3];
        for (int i = 0; i < 3; i++) {
            sieve_shape s = shape_of(3, 2, 3, 4);
            s.dims[ax] = 1 + i * 2;
            parts[i] = random_input(s);
        }
        l = layer_of(SIEVE_OP_CONCAT, 3);
        l.attrs.axis.axis = axis;
        check_fast_vs_ref(&l, parts, 3, 0, 0);
        for (int i = 0; i < 3; i++)
            free_input(&parts[i]);
    }
    sieve_shape bad[2] = {shape_of(2, 2, 3), shape_of(2, 3, 3)};
    l.attrs.axis.axis = 1;
    infer_fails(&l, bad, 2, "input 1 has 3 along axis 0, input 0 has 2");
    l.attrs.axis.axis = 2;
    infer_fails(&l, bad, 2, "axis 2 out of range");

    sieve_op_input x = random_input(shape_of(4, 2, 3, 4, 5));
    l = layer_of(SIEVE_OP_RESHAPE, 1);
    l.attrs.reshape.shape = shape_of(3, 6, 4, 5);
    out = infer_ok(&l, &x, 1);
    assert_int_equal(out.rank, 3);
    check_fast_vs_ref(&l, &x, 1, 0, 0);
    float *y = run_fast(&l, &x, 1, &out, 1);
    assert_memory_equal(y, x.f32, numel(&out) * sizeof(float));
    free(y);
    l.attrs.reshape.shape = shape_of(2, 7, 17);
    infer_fails(&l, &x.shape, 1, "input has 120 elements, target shape 119");

    l = layer_of(SIEVE_OP_FLATTEN, 1);
    static const struct {
        int axis;
        int64_t d0, d1;
    } flat[] = {{0, 1, 120}, {1, 2, 60}, {2, 6, 20}, {4, 120, 1}, {-1, 24, 5}, {-4, 1, 120}};
    for (size_t i = 0; i < 6; i++) {
        l.attrs.axis.axis = flat[i].axis;
        out = infer_ok(&l, &x, 1);
        assert_int_equal(out.rank, 2);
        assert_int_equal(out.dims[0], flat[i].d0);
        assert_int_equal(out.dims[1], flat[i].d1);
        check_fast_vs_ref(&l, &x, 1, 0, 0);
    }
    l.attrs.axis.axis = 5;
    infer_fails(&l, &x.shape, 1, "axis 5 out of range for rank 4");
    free_input(&x);
}

static void test_macs_count_multiply_accumulates(void **state)
{
    (void)state;
    sieve_layer l = gemm_layer(1, 1, true, false, false, 2);
    sieve_shape s[2] = {shape_of(2, 7, 3), shape_of(2, 7, 5)}, out = shape_of(2, 3, 5);
    assert_int_equal(sieve_op_kernels[SIEVE_OP_GEMM].macs(&l, s, 2, &out), 3 * 5 * 7);
    l = layer_of(SIEVE_OP_MATMUL, 2);
    s[0] = shape_of(3, 4, 2, 3);
    s[1] = shape_of(2, 3, 6);
    out = shape_of(3, 4, 2, 6);
    assert_int_equal(sieve_op_kernels[SIEVE_OP_MATMUL].macs(&l, s, 2, &out), 4 * 2 * 6 * 3);
    l = layer_of(SIEVE_OP_RELU, 1);
    assert_int_equal(sieve_op_kernels[SIEVE_OP_RELU].macs(&l, s, 1, &out), 48);
}

/* ---- SGEMM micro-kernels -------------------------------------------------- */

/* Every micro-kernel this CPU can run (SIMD ones and the portable one)
 * computes the panel product of its contract; the layer tests above only
 * exercise the one picked for this CPU. */
static void test_every_micro_kernel_computes_the_panel_product(void **state)
{
    (void)state;
    const char *names[8];
    sieve_gemm_micro_fn fns[8];
    int n = sieve_gemm_micro_kernels(names, fns, 8);
    assert_true(n >= 1 && n <= 8);
    assert_string_equal(names[n - 1], "portable");
    enum { MR = SIEVE_GEMM_MR, NR = SIEVE_GEMM_NR, KMAX = SIEVE_GEMM_KC };
    static float a[KMAX * MR], b[KMAX * NR];
    for (size_t i = 0; i < KMAX * MR; i++)
        a[i] = uniform();
    for (size_t i = 0; i < KMAX * NR; i++)
        b[i] = uniform();
    static const size_t kcs[] = {1, 2, 7, 64, KMAX};
    for (int f = 0; f < n; f++)
        for (size_t ki = 0; ki < 5; ki++) {
            size_t kc = kcs[ki];
            float acc[MR][NR];
            memset(acc, 0xff, sizeof(acc)); /* NaN: must be overwritten */
            fns[f](kc, a, b, acc);
            for (int r = 0; r < MR; r++)
                for (int j = 0; j < NR; j++) {
                    double want = 0, mag = 0;
                    for (size_t k = 0; k < kc; k++) {
                        want += (double)a[k * MR + r] * b[k * NR + j];
                        mag += fabs((double)a[k * MR + r] * b[k * NR + j]);
                    }
                    double tol = (double)(kc + 1) * FLT_EPSILON * mag;
                    if (!(fabs(acc[r][j] - want) <= tol))
                        fail_msg("kernel %s, kc %zu, [%d][%d]: got %g want %g", names[f], kc, r, j,
                                 (double)acc[r][j], want);
                }
        }
}
/* A tile kernel's C (got) against the oracle's (want), both started from
 * c0 with a row stride of 2 NR + 3: inside the tile within the reduction
 * tolerance of the fp32 panels a (packed, MR rows) and b (two NR-column
 * panels of kc rows), outside it untouched. */
/* A tile of `panels` panels in C of row stride panels * NR + 3: inside
 * mr x nr the oracle's values, outside C untouched. */
static void expect_tile(const char *name, int mode, int panels, const float *a, const float *b,
                        size_t kc, size_t mr, size_t nr, const float *c0, const float *got,
                        const float *want)
{
    enum { MR = SIEVE_GEMM_MR, NR = SIEVE_GEMM_NR };
    const int ld = panels * NR + 3;
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < ld; j++) {
            double mag = 1;
            for (size_t k = 0; j < panels * NR && k < kc; k++)
                mag += fabs((double)a[k * MR + r] * b[(j / NR) * kc * NR + k * NR + j % NR]);
            double tol = (double)(kc + 2) * FLT_EPSILON * mag;
            float g = got[r * ld + j], w = want[r * ld + j];
            bool outside = r >= (int)mr || j >= (int)nr;
            if (outside ? (g != c0[r * ld + j] || w != g) : !(fabs(g - w) <= tol))
                fail_msg("tile %s, kc %zu, mode %d, [%d][%d]: got %g want %g", name, kc, mode, r,
                         j, (double)g, (double)w);
        }
}

/* The SIMD tile kernel (when this CPU has one) computes the tile contract:
 * bias or C as the start, ReLU at the end, two panels side by side, A packed,
 * row-major, or row-major 8-bit codes looked up in a table. */
static void test_tile_kernel_matches_its_micro_kernel_oracle(void **state)
{
    (void)state;
    const char *name;
    sieve_gemm_tile_fn tile = sieve_gemm_tile_kernel(&name);
    if (!tile)
        skip();
    const char *names[8];
    sieve_gemm_micro_fn fns[8];
    int n = sieve_gemm_micro_kernels(names, fns, 8);
    enum { MR = SIEVE_GEMM_MR, NR = SIEVE_GEMM_NR, KMAX = SIEVE_GEMM_KC, LD = 2 * NR + 3 };
    static float a[KMAX * MR], b[2 * KMAX * NR], bias[MR];
    static float c0[MR * LD], got[MR * LD], want[MR * LD];
    /* A's values drawn from a table of 256, so that A can also be given as
     * 8-bit codes (row-major, lda = KMAX + 1) of the same values */
    static float lut[256];
    static uint8_t codes[MR * (KMAX + 1)];
    for (size_t i = 0; i < 256; i++)
        lut[i] = uniform();
    for (size_t k = 0; k < KMAX; k++)
        for (size_t r = 0; r < MR; r++) {
            codes[r * (KMAX + 1) + k] = (uint8_t)(uniform() * 127.5f + 128.0f);
            a[k * MR + r] = lut[codes[r * (KMAX + 1) + k]];
        }
    for (size_t i = 0; i < 2 * KMAX * NR; i++)
        b[i] = uniform();
    for (size_t i = 0; i < MR; i++)
        bias[i] = uniform();
    for (size_t i = 0; i < MR * LD; i++)
        c0[i] = uniform();
    static const size_t kcs[] = {1, 5, 64, KMAX};
    static const size_t shapes[][2] = {{MR, 2 * NR}, {MR, NR + 1}, {MR, NR}, {4, 2 * NR},
                                       {1, 1}, {5, 17}, {MR, 3}};
    /* A also row-major (lda = KMAX + 1): row r of the same values */
    static float a_rows[MR * (KMAX + 1)];
    for (size_t k = 0; k < KMAX; k++)
        for (size_t r = 0; r < MR; r++)
            a_rows[r * (KMAX + 1) + k] = a[k * MR + r];
    for (size_t ki = 0; ki < 4; ki++)
        for (int mode = 0; mode < 32 * 7; mode++) {
            size_t kc = kcs[ki];
            size_t mr = shapes[mode / 32][0], nr = shapes[mode / 32][1];
            bool row_major = (mode & 8) != 0, as_codes = (mode & 16) != 0;
            if (as_codes && !row_major)
                continue;
            sieve_gemm_tile t = {.kc = kc, .a = row_major ? a_rows : a,
                                 .lda = row_major ? KMAX + 1 : 0, .b = b, .rs = LD, .mr = mr,
                                 .nr = nr, .bias = (mode & 1) ? bias : NULL,
                                 .from_c = (mode & 2) != 0, .relu = (mode & 4) != 0,
                                 .a_codes = as_codes ? codes : NULL, .lut = lut};
            memcpy(got, c0, sizeof(got));
            memcpy(want, c0, sizeof(want));
            t.c = got;
            tile(&t);
            t.c = want;
            sieve_gemm_tile_ref(&t, fns[n - 1]);
            expect_tile(name, mode, 2, a, b, kc, mr, nr, c0, got, want);
        }
}

/* The bf16 pair tile kernel (where the CPU has AVX-512 BF16) computes the
 * tile contract from panels of exact bf16 values laid out in pairs by
 * sieve_gemm_pairs_a / _b, or from bf16 rows (sieve_gemm_pairs_row): odd
 * kc (the last pair half zero), one and two panels, partial tiles, bias,
 * C and ReLU; the oracle is the portable micro-kernel on the same values
 * in fp32 panels. */
static void test_bf16_tile_kernel_matches_its_micro_kernel_oracle(void **state)
{
    (void)state;
    sieve_gemm_tile_fn tile = sieve_gemm_tile_kernel_bf16();
    if (!tile)
        skip();
    const char *names[8];
    sieve_gemm_micro_fn fns[8];
    int n = sieve_gemm_micro_kernels(names, fns, 8);
    enum {
        MR = SIEVE_GEMM_MR,
        NR = SIEVE_GEMM_NR,
        PANELS = SIEVE_GEMM_BF16_PANELS,
        KMAX = SIEVE_GEMM_KC,
        LD = PANELS * NR + 3
    };
    static float a[KMAX * MR], b[PANELS * KMAX * NR], bias[MR], a_pairs[KMAX * MR],
        b_pairs[PANELS * KMAX * NR], a_rows[MR * KMAX];
    static float c0[MR * LD], got[MR * LD], want[MR * LD];
    for (size_t i = 0; i < MR; i++)
        bias[i] = uniform();
    for (size_t i = 0; i < MR * LD; i++)
        c0[i] = uniform();
    static const size_t kcs[] = {1, 2, 5, 63, KMAX};
    static const size_t shapes[][2] = {{MR, 2 * NR}, {MR, NR + 1}, {MR, NR}, {4, 2 * NR},
                                       {1, 1}, {5, 17}, {MR, 3 * NR}, {3, 2 * NR + 5}};
    for (size_t ki = 0; ki < 5; ki++) {
        size_t kc = kcs[ki];
        /* values of kc rows as the pairs lay them out, bf16-exact (the
         * low 16 bits cleared) */
        for (size_t i = 0; i < kc * MR; i++) {
            float v = uniform();
            uint32_t bits;
            memcpy(&bits, &v, sizeof(bits));
            bits &= 0xffff0000u;
            memcpy(&a[i], &bits, sizeof(bits));
        }
        for (size_t i = 0; i < PANELS * kc * NR; i++) {
            float v = uniform() * 8.0f;
            uint32_t bits;
            memcpy(&bits, &v, sizeof(bits));
            bits &= 0xffff0000u;
            memcpy(&b[i], &bits, sizeof(bits));
        }
        memcpy(a_pairs, a, kc * MR * sizeof(float));
        memcpy(b_pairs, b, PANELS * kc * NR * sizeof(float));
        sieve_gemm_pairs_a(a_pairs, kc);
        for (size_t h = 0; h < PANELS; h++)
            sieve_gemm_pairs_b(b_pairs + h * kc * NR, kc);
        float row[KMAX];
        /* stale rows of NaNs: a missing zero pad would show (NaN * 0) */
        memset(a_rows, 0xff, sizeof(a_rows));
        for (size_t r = 0; r < MR; r++) {
            for (size_t k = 0; k < kc; k++)
                row[k] = a[k * MR + r];
            sieve_gemm_pairs_row(row, kc, a_rows + r * KMAX);
        }
        for (int mode = 0; mode < 16 * 8; mode++) {
            size_t mr = shapes[mode / 16][0], nr = shapes[mode / 16][1];
            bool row_major = (mode & 8) != 0;
            sieve_gemm_tile t = {.kc = kc, .a = a, .b = b, .rs = LD, .mr = mr, .nr = nr,
                                 .bias = (mode & 1) ? bias : NULL, .from_c = (mode & 2) != 0,
                                 .relu = (mode & 4) != 0};
            memcpy(want, c0, sizeof(want));
            t.c = want;
            sieve_gemm_tile_ref(&t, fns[n - 1]);
            memcpy(got, c0, sizeof(got));
            t.c = got;
            t.a = row_major ? a_rows : a_pairs;
            t.lda = row_major ? KMAX : 0;
            t.b = b_pairs;
            tile(&t);
            expect_tile("bf16", mode, PANELS, a, b, kc, mr, nr, c0, got, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_a_complete_kernel_and_a_name),
        cmocka_unit_test(test_conv_ref_matches_hand_worked_example),
        cmocka_unit_test(test_conv_fast_matches_ref_on_odd_shapes),
        cmocka_unit_test(test_conv_direct_matches_ref),
        cmocka_unit_test(test_conv_on_bf16_exact_values_matches_ref),
        cmocka_unit_test(test_conv_on_codes_equals_decoded_input),
        cmocka_unit_test(test_conv_packed_weights_equal_fp32_quantized_weights),
        cmocka_unit_test(test_conv_run_encoded_equals_packed_run),
        cmocka_unit_test(test_conv_infer_rejects_bad_shapes),
        cmocka_unit_test(test_conv_with_short_scratch_still_correct),
        cmocka_unit_test(test_pool_ref_matches_hand_worked_examples),
        cmocka_unit_test(test_pool_fast_matches_ref_on_odd_shapes),
        cmocka_unit_test(test_maxpool_on_packed_activations_matches_ref),
        cmocka_unit_test(test_packed_add_and_relu_match_the_values_they_decode),
        cmocka_unit_test(test_global_pools_reduce_every_spatial_axis),
        cmocka_unit_test(test_pool_infer_rejects_bad_attributes),
        cmocka_unit_test(test_relu_add_batchnorm_match_hand_examples_and_ref),
        cmocka_unit_test(test_lrn_matches_hand_examples_and_ref),
        cmocka_unit_test(test_softmax_axis_and_coerce_forms),
        cmocka_unit_test(test_gemm_matches_hand_worked_example),
        cmocka_unit_test(test_gemm_fast_matches_ref_on_odd_shapes),
        cmocka_unit_test(test_gemm_packed_weights_equal_fp32_quantized_weights),
        cmocka_unit_test(test_gemm_gemv_on_packed_rows_matches_ref_every_format_family),
        cmocka_unit_test(test_gemm_split_evens_out_the_threads),
        cmocka_unit_test(test_gemm_infer_rejects_bad_shapes),
        cmocka_unit_test(test_matmul_numpy_semantics),
        cmocka_unit_test(test_concat_reshape_flatten),
        cmocka_unit_test(test_macs_count_multiply_accumulates),
        cmocka_unit_test(test_every_micro_kernel_computes_the_panel_product),
        cmocka_unit_test(test_tile_kernel_matches_its_micro_kernel_oracle),
        cmocka_unit_test(test_bf16_tile_kernel_matches_its_micro_kernel_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
