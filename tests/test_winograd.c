/* Winograd F(4x4, 3x3) convolution (src/ops/winograd.c) against the scalar
 * direct convolution sieve_conv_run_ref (double accumulation), on odd
 * shapes: sizes not multiples of 4, pads 0 / 1 / asymmetric / larger than
 * the kernel, channel counts not multiples of the block sizes, several
 * blocks of input channels, of output channels and of tiles, bias or not,
 * ReLU, packed weights, 1 to 3 threads.
 *
 * Tolerance, derived: the kernel computes, per 4x4 output tile,
 *   Y = A^T [ sum_c (G g_c G^T) .* (B^T d_c B) ] A
 * in fp32. Componentwise error analysis of these matrix products (Higham,
 * "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 3.5)
 * bounds |Y_computed - Y| by gamma_n * W with
 *   W = |A^T| [ sum_c (|G||g_c||G^T|) .* (|B^T||d_c||B|) ] |A|
 * and n the longest chain of roundings: C terms of the sum over channels,
 * at most 8 in each two-pass transform and 2 for the product and the bias,
 * so n <= C + 32. W is the Winograd factor: for a tile's corner it reaches
 * 48^2 = 2304 x |g| |d| per channel where a direct 3x3 sum has 9. The
 * worst case gamma_n = n eps grows like C^2 overall and would miss real
 * bugs, so the test uses the probabilistic bound of Higham & Mary (SIAM J.
 * Sci. Comput. 41(5), 2019, Theorem 2.4): lambda sqrt(n) eps W, which
 * holds with probability >= 1 - 2n exp(-lambda^2 / 2) per element
 * (lambda = 8: 1 - 2.5e-14 n). W is computed here in double from the
 * matrices written out below, independently of the kernel's factored
 * code. A test of the test checks that this tolerance catches one weight
 * off by 1/4. */
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
#include "ops/kernels.h"
#include "ops/ops.h"
#include "ops/winograd.h"

/* F(4x4, 3x3) of Lavin & Gray (2016), written out independently of the
 * kernel's factored code: used only for the tolerance. */
static const double BT[6][6] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
static const double G[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};
static const double AT[4][6] = {
    {1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0},
    {0, 1, 1, 4, 4, 0},
    {0, 1, -1, 8, -8, 1},
};

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static float uniform(void) /* in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) & 0xFFFFFF) / (float)(1 << 23) - 1.0f;
}

static sieve_shape shape4(size_t a, size_t b, size_t c, size_t d)
{
    sieve_shape s;
    memset(&s, 0, sizeof(s));
    s.rank = 4;
    s.dims[0] = (int64_t)a, s.dims[1] = (int64_t)b, s.dims[2] = (int64_t)c, s.dims[3] = (int64_t)d;
    return s;
}

static size_t numel(const sieve_shape *s)
{
    size_t n = 1;
    for (int d = 0; d < s->rank; d++)
        n *= (size_t)s->dims[d];
    return n;
}

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

static void free_input(sieve_op_input *in)
{
    free((void *)in->f32);
    free((void *)in->packed);
    in->f32 = NULL;
    in->packed = NULL;
}

typedef struct wino_case {
    size_t n, c, h, w, m;
    int pt, pl, pb, pr;
    bool relu, bias;
} wino_case;

static sieve_layer conv3x3(const wino_case *wc)
{
    sieve_layer l;
    memset(&l, 0, sizeof(l));
    l.name = "test";
    l.op = SIEVE_OP_CONV;
    l.n_inputs = wc->bias ? 3 : 2;
    l.n_outputs = 1;
    for (int i = 0; i < l.n_inputs; i++)
        l.inputs[i] = i;
    sieve_conv_attrs *a = &l.attrs.conv;
    a->kernel[0] = a->kernel[1] = 3;
    a->stride[0] = a->stride[1] = 1;
    a->dilation[0] = a->dilation[1] = 1;
    a->pads[0] = wc->pt, a->pads[1] = wc->pl, a->pads[2] = wc->pb, a->pads[3] = wc->pr;
    a->group = 1;
    a->relu = wc->relu;
    return l;
}

static sieve_shape output_shape(const wino_case *wc)
{
    return shape4(wc->n, wc->m, wc->h + (size_t)(wc->pt + wc->pb) - 2,
                  wc->w + (size_t)(wc->pl + wc->pr) - 2);
}

static sieve_winograd_conv wino_shape(const wino_case *wc)
{
    sieve_shape o = output_shape(wc);
    return (sieve_winograd_conv){
        .batch = wc->n, .c = wc->c, .h = wc->h, .w = wc->w, .m = wc->m,
        .oh = (size_t)o.dims[2], .ow = (size_t)o.dims[3], .pt = wc->pt, .pl = wc->pl,
        .relu = wc->relu,
    };
}

/* sieve_winograd_run with `threads` threads and `scratch_threads` slices of
 * NaN-poisoned scratch (0: none at all); returns its result in *ok. */
static float *run_winograd(const wino_case *wc, const sieve_op_input *in, int threads,
                           int scratch_threads, bool *ok)
{
    sieve_winograd_conv g = wino_shape(wc);
    sieve_shape o = output_shape(wc);
    size_t floats = scratch_threads ? sieve_winograd_scratch_floats(&g, scratch_threads) : 0;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_pool *pool = NULL;
    assert_int_equal(sieve_pool_create(ctx, threads, &pool), SIEVE_OK);
    float *scratch = floats ? sieve_alloc_aligned(ctx, floats * sizeof(float)) : NULL;
    for (size_t i = 0; i < floats; i++)
        scratch[i] = NAN;
    sieve_op_env env = {pool, scratch, floats};
    float *y = malloc(numel(&o) * sizeof(float));
    for (size_t i = 0; i < numel(&o); i++)
        y[i] = NAN;
    *ok = sieve_winograd_run(&g, in[0].f32, &in[1], wc->bias ? in[2].f32 : NULL, y, &env);
    sieve_free_aligned(ctx, scratch, floats * sizeof(float));
    sieve_pool_destroy(pool);
    sieve_context_destroy(ctx);
    return y;
}

static float *run_reference(const wino_case *wc, const sieve_op_input *in)
{
    sieve_layer l = conv3x3(wc);
    sieve_shape o = output_shape(wc);
    float *y = malloc(numel(&o) * sizeof(float));
    sieve_conv_run_ref(&l, in, l.n_inputs, y, &o);
    return y;
}

/* |T^T| X |T| helpers on 6x6 / 3x3 arrays of doubles. */
static void abs_weight_transform(const double g[3][3], double u[6][6])
{
    double t[6][3];
    for (int a = 0; a < 6; a++)
        for (int j = 0; j < 3; j++) {
            t[a][j] = 0;
            for (int i = 0; i < 3; i++)
                t[a][j] += fabs(G[a][i]) * g[i][j];
        }
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
            u[a][b] = 0;
            for (int j = 0; j < 3; j++)
                u[a][b] += t[a][j] * fabs(G[b][j]);
        }
}

static void abs_input_transform(const double d[6][6], double v[6][6])
{
    double t[6][6];
    for (int a = 0; a < 6; a++)
        for (int j = 0; j < 6; j++) {
            t[a][j] = 0;
            for (int i = 0; i < 6; i++)
                t[a][j] += fabs(BT[a][i]) * d[i][j];
        }
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
            v[a][b] = 0;
            for (int j = 0; j < 6; j++)
                v[a][b] += t[a][j] * fabs(BT[b][j]);
        }
}

/* W of the header comment for every output element. */
static double *winograd_error_weights(const wino_case *wc, const sieve_op_input *in)
{
    sieve_shape o = output_shape(wc);
    size_t oh = (size_t)o.dims[2], ow = (size_t)o.dims[3];
    size_t th = (oh + 3) / 4, tw = (ow + 3) / 4, tiles = th * tw;
    double *u = malloc(wc->m * wc->c * 36 * sizeof(double));
    double *v = malloc(wc->c * tiles * 36 * sizeof(double));
    double *bound = malloc(numel(&o) * sizeof(double));
    for (size_t k = 0; k < wc->m; k++)
        for (size_t c = 0; c < wc->c; c++) {
            double g[3][3];
            for (int i = 0; i < 9; i++)
                g[i / 3][i % 3] = fabs(sieve_op_input_at(&in[1], (k * wc->c + c) * 9 + (size_t)i));
            abs_weight_transform(g, (double(*)[6])(u + (k * wc->c + c) * 36));
        }
    for (size_t n = 0; n < wc->n; n++) {
        for (size_t c = 0; c < wc->c; c++)
            for (size_t t = 0; t < tiles; t++) {
                double d[6][6];
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        ptrdiff_t iy = (ptrdiff_t)(t / tw * 4) - wc->pt + i;
                        ptrdiff_t ix = (ptrdiff_t)(t % tw * 4) - wc->pl + j;
                        bool inside = iy >= 0 && ix >= 0 && iy < (ptrdiff_t)wc->h &&
                                      ix < (ptrdiff_t)wc->w;
                        d[i][j] = inside ? fabs(in[0].f32[((n * wc->c + c) * wc->h + (size_t)iy) *
                                                             wc->w + (size_t)ix])
                                         : 0.0;
                    }
                abs_input_transform(d, (double(*)[6])(v + (c * tiles + t) * 36));
            }
        for (size_t k = 0; k < wc->m; k++)
            for (size_t t = 0; t < tiles; t++) {
                double acc[36] = {0};
                for (size_t c = 0; c < wc->c; c++) {
                    const double *uk = u + (k * wc->c + c) * 36, *vt = v + (c * tiles + t) * 36;
                    for (int x = 0; x < 36; x++)
                        acc[x] += uk[x] * vt[x];
                }
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        size_t oy = t / tw * 4 + (size_t)i, ox = t % tw * 4 + (size_t)j;
                        if (oy >= oh || ox >= ow)
                            continue;
                        double w = 0;
                        for (int a = 0; a < 6; a++)
                            for (int b = 0; b < 6; b++)
                                w += fabs(AT[i][a]) * acc[a * 6 + b] * fabs(AT[j][b]);
                        bound[((n * wc->m + k) * oh + oy) * ow + ox] = w;
                    }
            }
    }
    free(u);
    free(v);
    return bound;
}

/* First element where got and want differ by more than the tolerance
 * (lambda sqrt(n) eps W, plus the rounding of the reference and of the
 * bias), or -1. */
static ptrdiff_t first_mismatch(const wino_case *wc, const sieve_op_input *in, const float *got,
                                const float *want)
{
    sieve_shape o = output_shape(wc);
    double *w = winograd_error_weights(wc, in);
    double scale = 8.0 * sqrt((double)wc->c + 32.0) * FLT_EPSILON;
    ptrdiff_t bad = -1;
    for (size_t e = 0; e < numel(&o) && bad < 0; e++) {
        size_t k = e / ((size_t)o.dims[2] * (size_t)o.dims[3]) % wc->m;
        double bias = wc->bias ? fabs((double)in[2].f32[k]) : 0.0;
        double tol = scale * w[e] + FLT_EPSILON * (bias + fabs((double)want[e])) + FLT_MIN;
        if (!(fabs((double)got[e] - (double)want[e]) <= tol))
            bad = (ptrdiff_t)e;
    }
    free(w);
    return bad;
}

static void expect_matches_reference(const wino_case *wc, const sieve_op_input *in,
                                     const float *got, const float *want, const char *what)
{
    ptrdiff_t e = first_mismatch(wc, in, got, want);
    if (e >= 0)
        fail_msg("%s: c=%zu m=%zu %zux%zu: element %td: got %.9g, want %.9g", what, wc->c, wc->m,
                 wc->h, wc->w, e, (double)got[e], (double)want[e]);
}

static void make_inputs(const wino_case *wc, sieve_op_input in[3])
{
    in[0] = random_input(shape4(wc->n, wc->c, wc->h, wc->w));
    in[1] = random_input(shape4(wc->m, wc->c, 3, 3));
    sieve_shape b;
    memset(&b, 0, sizeof(b));
    b.rank = 1;
    b.dims[0] = (int64_t)wc->m;
    in[2] = random_input(b);
}

static const wino_case cases[] = {
    /*  n    c   h   w    m  pt pl pb pr  relu   bias */
    {1, 16, 16, 16, 16, 1, 1, 1, 1, false, true},     /* whole tiles */
    {1, 13, 11, 9, 7, 1, 1, 1, 1, true, true},        /* below the thresholds, odd */
    {2, 19, 23, 17, 21, 0, 0, 0, 0, false, false},    /* pad 0, batch 2 */
    {1, 24, 10, 14, 31, 1, 0, 2, 1, true, true},      /* asymmetric pads */
    {1, 5, 7, 7, 3, 3, 3, 3, 3, false, true},         /* pads larger than the kernel */
    {1, 130, 9, 9, 20, 1, 1, 1, 1, true, false},      /* two input channel blocks, short one */
    {1, 17, 3, 3, 40, 0, 0, 0, 0, false, true},       /* one output pixel */
    {1, 16, 37, 41, 16, 1, 1, 1, 1, false, true},     /* 110 tiles: blocks, rows split in panels */
    {1, 21, 1, 30, 9, 1, 1, 1, 1, true, true},        /* one input row */
    {1, 18, 30, 22, 100, 1, 1, 1, 1, true, true},     /* output channels over two tasks */
    {1, 512, 6, 5, 130, 1, 1, 1, 1, false, true},     /* three blocks of transformed weights */
    {3, 33, 13, 6, 45, 2, 1, 0, 1, true, true},       /* batch 3, odd everything */
};

/* ---- tests --------------------------------------------------------------- */

static void test_winograd_matches_direct_convolution_on_odd_shapes(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const wino_case *wc = &cases[ci];
        sieve_op_input in[3];
        make_inputs(wc, in);
        float *want = run_reference(wc, in);
        for (int threads = 1; threads <= 3; threads++) {
            bool ok;
            float *got = run_winograd(wc, in, threads, threads, &ok);
            assert_true(ok);
            char what[64];
            snprintf(what, sizeof(what), "case %zu, %d thread(s)", ci, threads);
            expect_matches_reference(wc, in, got, want, what);
            free(got);
        }
        free(want);
        for (int i = 0; i < 3; i++)
            free_input(&in[i]);
    }
}

/* The tolerance is tight enough to catch a real error: one weight off by
 * 1/4 (about 1/8 of its range) shows. */
static void test_winograd_tolerance_catches_a_wrong_weight(void **state)
{
    (void)state;
    static const wino_case big[] = {
        {1, 64, 28, 28, 64, 1, 1, 1, 1, false, true},
        {1, 256, 14, 14, 32, 1, 1, 1, 1, false, true},
    };
    for (size_t ci = 0; ci < 2; ci++) {
        const wino_case *wc = &big[ci];
        sieve_op_input in[3];
        make_inputs(wc, in);
        float *want = run_reference(wc, in);
        bool ok;
        float *got = run_winograd(wc, in, 2, 2, &ok);
        assert_true(ok);
        expect_matches_reference(wc, in, got, want, "unperturbed");
        ((float *)in[1].f32)[4] += 0.25f; /* centre tap of (k 0, c 0) */
        float *shifted = run_reference(wc, in);
        assert_true(first_mismatch(wc, in, got, shifted) >= 0);
        free(shifted);
        free(got);
        free(want);
        for (int i = 0; i < 3; i++)
            free_input(&in[i]);
    }
}

/* Packed weights decode to the same fp32 values as the quantized fp32
 * weights: identical results, and within tolerance of the reference. */
static void test_winograd_packed_weights_equal_fp32_quantized_weights(void **state)
{
    (void)state;
    sieve_format fmt = sieve_format_cfloat(4, 3, 7, 1); /* e4m3 */
    static const size_t pick[] = {0, 3, 5, 10, 11};
    for (size_t pi = 0; pi < sizeof(pick) / sizeof(pick[0]); pi++) {
        const wino_case *wc = &cases[pick[pi]];
        sieve_op_input in[3];
        make_inputs(wc, in);
        size_t n = numel(&in[1].shape);
        assert_int_equal(sieve_cfloat_quantize(&fmt, (float *)in[1].f32, n, NULL), SIEVE_OK);
        sieve_op_input packed[3] = {in[0], in[1], in[2]};
        packed[1].f32 = NULL;
        packed[1].format = fmt;
        uint8_t *buf = calloc(1, sieve_format_bytes(&fmt, n));
        assert_int_equal(sieve_format_store(&fmt, in[1].f32, n, buf, 0, NULL), SIEVE_OK);
        packed[1].packed = buf;
        float *want = run_reference(wc, packed);
        sieve_shape o = output_shape(wc);
        for (int threads = 1; threads <= 2; threads++) {
            bool ok;
            float *from_f32 = run_winograd(wc, in, threads, threads, &ok);
            assert_true(ok);
            float *from_packed = run_winograd(wc, packed, threads, threads, &ok);
            assert_true(ok);
            assert_memory_equal(from_f32, from_packed, numel(&o) * sizeof(float));
            expect_matches_reference(wc, packed, from_packed, want, "packed");
            free(from_f32);
            free(from_packed);
        }
        free(want);
        free(buf);
        for (int i = 0; i < 3; i++)
            free_input(&in[i]);
    }
}

/* The conv op takes the Winograd path on an eligible shape (the same bits
 * as calling it directly) and sizes its scratch for it. */
static void test_conv_op_uses_winograd_when_eligible(void **state)
{
    (void)state;
    const wino_case wc = {1, 32, 30, 27, 40, 1, 1, 1, 1, true, true};
    sieve_winograd_conv g = wino_shape(&wc);
    assert_true(sieve_winograd_worthwhile(&g));
    sieve_op_input in[3];
    make_inputs(&wc, in);
    sieve_layer l = conv3x3(&wc);
    sieve_shape o = output_shape(&wc);
    sieve_shape shapes[3] = {in[0].shape, in[1].shape, in[2].shape};
    for (int threads = 1; threads <= 2; threads++) {
        size_t floats = sieve_op_kernels[SIEVE_OP_CONV].scratch_floats(&l, shapes, 3, &o, threads);
        assert_true(floats >= sieve_winograd_scratch_floats(&g, threads));
        sieve_context *ctx = sieve_context_create(NULL);
        sieve_pool *pool = NULL;
        assert_int_equal(sieve_pool_create(ctx, threads, &pool), SIEVE_OK);
        float *scratch = sieve_alloc_aligned(ctx, floats * sizeof(float));
        sieve_op_env env = {pool, scratch, floats};
        float *y = malloc(numel(&o) * sizeof(float));
        sieve_op_kernels[SIEVE_OP_CONV].run(&l, in, 3, y, &o, &env);
        bool ok;
        float *direct = run_winograd(&wc, in, threads, threads, &ok);
        assert_true(ok);
        assert_memory_equal(y, direct, numel(&o) * sizeof(float));
        free(direct);
        free(y);
        sieve_free_aligned(ctx, scratch, floats * sizeof(float));
        sieve_pool_destroy(pool);
        sieve_context_destroy(ctx);
    }
    for (int i = 0; i < 3; i++)
        free_input(&in[i]);
}

/* Scratch short of one slice per thread: fewer threads, same result; short
 * of one slice: false, nothing written. */
static void test_winograd_with_short_scratch(void **state)
{
    (void)state;
    const wino_case *wc = &cases[9];
    sieve_op_input in[3];
    make_inputs(wc, in);
    float *want = run_reference(wc, in);
    bool ok;
    float *got = run_winograd(wc, in, 2, 1, &ok);
    assert_true(ok);
    expect_matches_reference(wc, in, got, want, "short scratch");
    free(got);
    got = run_winograd(wc, in, 2, 0, &ok);
    assert_false(ok);
    sieve_shape o = output_shape(wc);
    for (size_t i = 0; i < numel(&o); i++)
        assert_true(isnan(got[i]));
    free(got);
    free(want);
    for (int i = 0; i < 3; i++)
        free_input(&in[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winograd_matches_direct_convolution_on_odd_shapes),
        cmocka_unit_test(test_winograd_tolerance_catches_a_wrong_weight),
        cmocka_unit_test(test_winograd_packed_weights_equal_fp32_quantized_weights),
        cmocka_unit_test(test_conv_op_uses_winograd_when_eligible),
        cmocka_unit_test(test_winograd_with_short_scratch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
