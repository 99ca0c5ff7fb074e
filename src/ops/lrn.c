/* libsieve — local response normalization across channels (ONNX LRN):
 *   y[c] = x[c] / (bias + alpha / size * sum_{c' in window(c)} x[c']^2)^beta
 * with window(c) = [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to
 * the channels present. */
#include <math.h>

#include "kernels.h"

/* Spatial positions normalized together: the channel window is summed for
 * a whole block at once, so the inner loops run over contiguous memory. */
#define LRN_BLOCK 256

typedef struct lrn_geom {
    size_t batch, c, inner;
    size_t before, after; /* window reach below and above a channel */
    float alpha_over_size, beta, bias;
} lrn_geom;

static void lrn_geometry(const sieve_layer *layer, const sieve_shape *x, lrn_geom *g)
{
    const sieve_lrn_attrs *a = &layer->attrs.lrn;
    g->batch = (size_t)x->dims[0];
    g->c = (size_t)x->dims[1];
    g->inner = sieve_op_dims_product(x, 2, x->rank);
    g->before = (size_t)(a->size - 1) / 2;
    g->after = (size_t)a->size / 2; /* ceil((size - 1) / 2) */
    g->alpha_over_size = a->alpha / (float)a->size;
    g->beta = a->beta;
    g->bias = a->bias;
}

sieve_status sieve_lrn_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             sieve_shape *out, char *err, size_t err_len)
{
    const sieve_lrn_attrs *a = &layer->attrs.lrn;
    size_t numel;
    if (n_in != 1)
        return sieve_op_fail(layer, err, err_len, "takes 1 input, got %d", n_in);
    if (in[0].rank < 2 || !sieve_op_numel(&in[0], &numel))
        return sieve_op_fail(layer, err, err_len,
                             "input must be [N, C, ...] of rank >= 2, has rank %d", in[0].rank);
    if (a->size < 1)
        return sieve_op_fail(layer, err, err_len, "size %d must be >= 1", a->size);
    if (!isfinite(a->alpha) || !isfinite(a->beta) || !isfinite(a->bias))
        return sieve_op_fail(layer, err, err_len, "alpha, beta and bias must be finite");
    *out = in[0];
    return SIEVE_OK;
}

size_t sieve_lrn_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                         const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

uint64_t sieve_lrn_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                        const sieve_shape *out)
{
    (void)in, (void)n_in;
    size_t n = 0;
    sieve_op_numel(out, &n);
    return (uint64_t)n * (uint64_t)layer->attrs.lrn.size;
}

void sieve_lrn_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                       const sieve_shape *out_shape)
{
    (void)n_in, (void)out_shape;
    lrn_geom g;
    lrn_geometry(layer, &in[0].shape, &g);
    const float *x = in[0].f32;
    for (size_t n = 0; n < g.batch; n++)
        for (size_t c = 0; c < g.c; c++) {
            size_t lo = c >= g.before ? c - g.before : 0;
            size_t hi = SIEVE_MIN(g.c - 1, c + g.after);
            for (size_t i = 0; i < g.inner; i++) {
                double sum = 0.0;
                for (size_t cc = lo; cc <= hi; cc++) {
                    double v = x[(n * g.c + cc) * g.inner + i];
                    sum += v * v;
                }
                size_t at = (n * g.c + c) * g.inner + i;
                double scale = pow((double)g.bias + (double)g.alpha_over_size * sum, g.beta);
                out[at] = (float)(x[at] / scale);
            }
        }
}

typedef struct lrn_run {
    lrn_geom g;
    const float *x;
    float *y;
    size_t blocks; /* spatial blocks per image */
    bool avx512;
} lrn_run;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LRN_AVX512 1
/* Channel c of one block, 16 positions per step: the same sums, products
 * and roundings as the scalar loops below (squares added in the same
 * order, no fused multiply-add; vector square roots and divisions round
 * like the scalar ones). The scalar loops stay scalar: sqrtf and powf set
 * errno, which keeps compilers from vectorizing them (GoogLeNet's
 * 96 x 13 x 13 LRN took 63 us, 4 ns per element). */
__attribute__((target("avx512f"))) static void lrn_channel_avx512(const lrn_geom *g,
                                                                  const float *x, float *y,
                                                                  size_t c, size_t len)
{
    const size_t lo = c >= g->before ? c - g->before : 0;
    const size_t hi = SIEVE_MIN(g->c - 1, c + g->after);
    const __m512 a = _mm512_set1_ps(g->alpha_over_size), b = _mm512_set1_ps(g->bias);
    for (size_t i = 0; i < len; i += 16) {
        const __mmask16 m = len - i >= 16 ? 0xffff : (__mmask16)((1u << (len - i)) - 1);
        __m512 sum = _mm512_setzero_ps();
        for (size_t cc = lo; cc <= hi; cc++) {
            const __m512 v = _mm512_maskz_loadu_ps(m, x + cc * g->inner + i);
            sum = _mm512_add_ps(sum, _mm512_mul_ps(v, v));
        }
        const __m512 base = _mm512_add_ps(b, _mm512_mul_ps(a, sum));
        const __m512 xc = _mm512_maskz_loadu_ps(m, x + c * g->inner + i);
        __m512 scale;
        if (g->beta == 0.75f) {
            const __m512 root = _mm512_sqrt_ps(base);
            scale = _mm512_mul_ps(root, _mm512_sqrt_ps(root));
        } else {
            float bases[16], scales[16];
            _mm512_storeu_ps(bases, base);
            for (int l = 0; l < 16; l++)
                scales[l] = (m >> l & 1) ? powf(bases[l], g->beta) : 1.0f;
            scale = _mm512_loadu_ps(scales);
        }
        _mm512_mask_storeu_ps(y + c * g->inner + i, m, _mm512_div_ps(xc, scale));
    }
}
#endif

static void lrn_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const lrn_run *r = arg;
    const lrn_geom *g = &r->g;
    float sum[LRN_BLOCK];
    for (size_t t = begin; t < end; t++) {
        size_t n = t / r->blocks, i0 = (t % r->blocks) * LRN_BLOCK;
        size_t len = SIEVE_MIN((size_t)LRN_BLOCK, g->inner - i0);
        const float *x = r->x + n * g->c * g->inner + i0;
        float *y = r->y + n * g->c * g->inner + i0;
        for (size_t c = 0; c < g->c; c++) {
#ifdef LRN_AVX512
            if (r->avx512) {
                lrn_channel_avx512(g, x, y, c, len);
                continue;
            }
#endif
            size_t lo = c >= g->before ? c - g->before : 0;
            size_t hi = SIEVE_MIN(g->c - 1, c + g->after);
            for (size_t i = 0; i < len; i++)
                sum[i] = 0.0f;
            for (size_t cc = lo; cc <= hi; cc++) {
                const float *restrict xc = x + cc * g->inner;
                for (size_t i = 0; i < len; i++)
                    sum[i] += xc[i] * xc[i];
            }
            const float *restrict xc = x + c * g->inner;
            float *restrict yc = y + c * g->inner;
            float a = g->alpha_over_size, b = g->bias;
            if (g->beta == 0.75f) {
                /* AlexNet's and GoogLeNet's beta: base^0.75 = sqrt(base) *
                 * sqrt(sqrt(base)), two square roots instead of a powf
                 * call (LRN over 96x55x55 went from 1.4 to 1.1 ms) */
                for (size_t i = 0; i < len; i++) {
                    float root = sqrtf(b + a * sum[i]);
                    yc[i] = xc[i] / (root * sqrtf(root));
                }
            } else {
                for (size_t i = 0; i < len; i++)
                    yc[i] = xc[i] / powf(b + a * sum[i], g->beta);
            }
        }
    }
}

void sieve_lrn_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                   const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)n_in, (void)out_shape;
    lrn_run r;
    lrn_geometry(layer, &in[0].shape, &r.g);
    r.x = in[0].f32;
    r.y = out;
    r.blocks = (r.g.inner + LRN_BLOCK - 1) / LRN_BLOCK;
#ifdef LRN_AVX512
    r.avx512 = __builtin_cpu_supports("avx512f");
#else
    r.avx512 = false;
#endif
    sieve_parallel_for(env->pool, r.g.batch * r.blocks, lrn_range, &r);
}
