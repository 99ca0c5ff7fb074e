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
#include "ops/ops.h"

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
    float *scratch = floats ? sieve_alloc_aligned(ctx, floats * sizeof(float)) : NULL;
    /* poison the scratch: kernels must not rely on it being zero */
    for (size_t i = 0; i < floats; i++)
        scratch[i] = NAN;
    sieve_op_env env = {pool, scratch, floats};
    float *y = malloc(numel(out) * sizeof(float) + 1);
    for (size_t i = 0; i < numel(out); i++)
        y[i] = NAN;
    k->run(l, in, n_in, y, out, &env);
    sieve_free_aligned(ctx, scratch, floats * sizeof(float));
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

static void check_conv_case(const conv_case *cc)
{
    sieve_layer l = conv_layer(cc->kh, cc->kw, cc->sh, cc->sw, cc->dh, cc->dw, cc->pt, cc->pl,
                               cc->pb, cc->pr, cc->group, cc->relu);
    int n_in = cc->bias ? 3 : 2;
    l.n_inputs = n_in;
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
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_conv_case(&cases[i]);
}

static void test_conv_packed_weights_equal_fp32_quantized_weights(void **state)
{
    (void)state;
    sieve_format fmt = sieve_format_cfloat(4, 3, 7, 1);
    static const int groups[] = {1, 2, 13};
    for (size_t gi = 0; gi < 3; gi++) {
        int g = groups[gi], c = g == 13 ? 13 : 14, m = g == 13 ? 13 : 10;
        sieve_layer l = conv_layer(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, g, true);
        sieve_op_input in[3] = {random_input(shape_of(4, 1, c, 17, 15)),
                                random_input(shape_of(4, m, c / g, 3, 3)),
                                random_input(shape_of(1, m))};
        sieve_op_input packed[3] = {in[0], pack_input(&in[1], &fmt), in[2]};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_a_complete_kernel_and_a_name),
        cmocka_unit_test(test_conv_ref_matches_hand_worked_example),
        cmocka_unit_test(test_conv_fast_matches_ref_on_odd_shapes),
        cmocka_unit_test(test_conv_packed_weights_equal_fp32_quantized_weights),
        cmocka_unit_test(test_conv_infer_rejects_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
