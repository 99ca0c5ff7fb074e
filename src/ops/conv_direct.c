/* libsieve — direct convolution for layers with few input channels.
 *
 * A network's first layer reads one (grayscale) or three (colour) input
 * channels: its GEMM is short in k (LeNet-5's conv1: 25) and long in
 * pixels, so im2col writes k copies of the image to multiply each once,
 * and packing costs as much as the multiply-adds (LeNet-5's conv1: 3.9 of
 * 7.3 us). Here the image is read in place instead: with stride 1, the
 * input under tap (ci, ky, kx) of sixteen neighbouring outputs of one row
 * is sixteen neighbouring inputs, one vector load. A register block holds
 * 8 output channels x 32 columns of one output row; each tap loads the
 * two input vectors and broadcasts each channel's weight (from a
 * transposed copy, [tap][channel], so that a block's weights lie
 * together): 16 multiply-adds per two loads and eight broadcasts.
 *
 * Pads: the image is first copied into a zero-bordered plane, so that the
 * kernel never tests bounds. Rows of 24 columns run 16 + 8 lanes (75 % of
 * the multiply-adds useful); LeNet-5's 24 x 24 output is such a case.
 *
 * AVX-512 only; elsewhere conv.c's GEMM runs these layers. */
#include <string.h>

#include "conv_direct.h"
#include "kernels.h"
#include "threads.h"

/* Which layers: at most 4 input channels and 160 multiply-adds per
 * output. bench_conv, one thread, CPU time, this kernel / the im2col GEMM:
 * LeNet-5's conv1 (1 -> 20 channels, 5x5) 0.51, 1 -> 32 channels 3x3
 * 0.60-0.61 and 11x11 0.53-0.55 on 28 x 28, VGG-16's conv1_1 (3 -> 64,
 * 224 x 224) 0.70-0.84, 3 -> 64 channels 7x7 on 56 x 56 0.90. 4 channels
 * 7x7 (196 multiply-adds) came out at 0.95 in a trial: the GEMM's packing
 * pays for itself from there on. */
#define DIRECT_MAX_K 160
#define DIRECT_MAX_C 4
/* output channels of one register block: 8 x 2 vectors of accumulators
 * (12 x 2 fit the 32 registers too, but GCC keeps an array of over 1 KiB
 * in memory: it stored every accumulator on every tap) */
#define DIRECT_BLOCK 8
#define DIRECT_COLS 32  /* output columns of one register block: two vectors */

/* Whether the input needs its zero-bordered copy: pads, or an output that
 * reads past the input's edge (a bottom / right pad). */
static bool direct_needs_border(const sieve_direct_conv *g)
{
    return g->pt != 0 || g->pl != 0 || g->oh + g->kh - 1 > g->h || g->ow + g->kw - 1 > g->w;
}

/* Rows and columns of one bordered plane (the input, or its copy). */
static size_t direct_plane_rows(const sieve_direct_conv *g)
{
    return direct_needs_border(g) ? g->oh + g->kh - 1 : g->h;
}

static size_t direct_plane_cols(const sieve_direct_conv *g)
{
    return direct_needs_border(g) ? g->ow + g->kw - 1 : g->w;
}

/* Output channels rounded up to whole blocks of 4 (the narrowest block). */
static size_t direct_m_padded(const sieve_direct_conv *g)
{
    return (g->m + 3) & ~(size_t)3;
}

static size_t direct_k(const sieve_direct_conv *g)
{
    return g->c * g->kh * g->kw;
}

size_t sieve_direct_conv_scratch_floats(const sieve_direct_conv *g)
{
    /* the weights, one decoded row, the taps' offsets, the bordered image */
    size_t floats = direct_k(g) * direct_m_padded(g) + sieve_op_slice_floats(direct_k(g)) +
                    sieve_op_slice_floats(direct_k(g) * sizeof(size_t) / sizeof(float));
    if (direct_needs_border(g))
        floats += g->c * direct_plane_rows(g) * direct_plane_cols(g);
    return floats;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DIRECT_AVX512 1
#endif

bool sieve_direct_conv_worthwhile(const sieve_direct_conv *g)
{
#ifdef DIRECT_AVX512
    return g->c <= DIRECT_MAX_C && direct_k(g) <= DIRECT_MAX_K && g->oh > 0 && g->ow > 0 &&
           __builtin_cpu_supports("avx512f");
#else
    (void)g;
    return false;
#endif
}

#ifdef DIRECT_AVX512
typedef struct direct_run {
    const sieve_direct_conv *g;
    const float *x;     /* one image's planes: the input or its bordered copy */
    size_t rows, cols;  /* of one of those planes */
    const float *wt;    /* weights [tap][channel], channels padded to m_padded */
    const size_t *offset; /* per tap (ci, ky, kx): (ci * rows + ky) * cols + kx */
    const float *bias;  /* or NULL */
    float *y;           /* one image's output */
} direct_run;

/* One register block: channels c0..c0+nc (nc <= NC, the rest computed on
 * zero weights and not stored) x columns ox..ox+NV*16 of output row oy
 * (lanes past the row masked off in loads and stores). */
__attribute__((target("avx512f"), always_inline)) static inline void
direct_block_avx512(const direct_run *r, size_t oy, size_t ox, size_t c0, size_t nc, const int NC,
                    const int NV)
{
    const sieve_direct_conv *g = r->g;
    const size_t mp = direct_m_padded(g);
    const size_t left = g->ow - ox;
    __mmask16 mask[2];
    for (int v = 0; v < NV; v++) {
        const size_t lanes = left > 16 * (size_t)v ? SIEVE_MIN(left - 16 * (size_t)v, 16) : 0;
        mask[v] = (__mmask16)((1u << lanes) - 1);
    }
    __m512 acc[DIRECT_BLOCK][2];
    for (int c = 0; c < NC; c++) {
        const float b = r->bias && (size_t)c < nc ? r->bias[c0 + (size_t)c] : 0.0f;
        for (int v = 0; v < NV; v++)
            acc[c][v] = _mm512_set1_ps(b);
    }
    const float *wt = r->wt + c0;
    const float *at = r->x + oy * r->cols + ox;
    const size_t taps = direct_k(g);
    for (size_t t = 0; t < taps; t++, wt += mp) {
        __m512 in[2];
        for (int v = 0; v < NV; v++)
            in[v] = _mm512_maskz_loadu_ps(mask[v], at + r->offset[t] + 16 * (size_t)v);
        for (int c = 0; c < NC; c++) {
            const __m512 wv = _mm512_set1_ps(wt[c]);
            for (int v = 0; v < NV; v++)
                acc[c][v] = _mm512_fmadd_ps(wv, in[v], acc[c][v]);
        }
    }
    const size_t plane = g->oh * g->ow;
    float *y = r->y + c0 * plane + oy * g->ow + ox;
    for (int c = 0; c < NC && (size_t)c < nc; c++)
        for (int v = 0; v < NV; v++) {
            __m512 out = acc[c][v];
            if (g->relu)
                out = _mm512_max_ps(out, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(y + (size_t)c * plane + 16 * (size_t)v, mask[v], out);
        }
}

/* The register blocks of output rows [begin, end): channel blocks of 8,
 * the last of 4 or 8; columns by 32, the last by 16 if that covers them. */
__attribute__((target("avx512f"))) static void direct_rows_avx512(void *arg, size_t begin,
                                                                  size_t end, int thread)
{
    (void)thread;
    const direct_run *r = arg;
    const sieve_direct_conv *g = r->g;
    for (size_t oy = begin; oy < end; oy++)
        for (size_t c0 = 0; c0 < g->m; c0 += DIRECT_BLOCK) {
            const size_t nc = SIEVE_MIN((size_t)DIRECT_BLOCK, g->m - c0);
            const size_t width = (nc + 3) & ~(size_t)3;
            for (size_t ox = 0; ox < g->ow; ox += DIRECT_COLS) {
                const bool one = g->ow - ox <= 16;
#define DIRECT_BLOCK_CASE(NC)                                                                      \
    case NC:                                                                                       \
        if (one)                                                                                   \
            direct_block_avx512(r, oy, ox, c0, nc, NC, 1);                                         \
        else                                                                                       \
            direct_block_avx512(r, oy, ox, c0, nc, NC, 2);                                         \
        break;
                switch (width) {
                    DIRECT_BLOCK_CASE(4)
                    DIRECT_BLOCK_CASE(8)
                default: break;
                }
#undef DIRECT_BLOCK_CASE
            }
        }
}

/* Weights [m, c, kh, kw] (fp32 or packed) into wt[tap * m_padded + channel],
 * zeros in the padding channels; row is scratch for one decoded row. */
static void direct_transpose_weights(const sieve_direct_conv *g, const sieve_op_input *w,
                                     float *wt, float *row)
{
    const size_t k = direct_k(g), mp = direct_m_padded(g);
    memset(wt, 0, k * mp * sizeof(float));
    for (size_t co = 0; co < g->m; co++) {
        const float *src = row;
        if (w->f32)
            src = w->f32 + co * k;
        else
            sieve_op_input_load(w, co * k, k, row);
        for (size_t t = 0; t < k; t++)
            wt[t * mp + co] = src[t];
    }
}

/* Image n's planes into dst with their zero border. */
static void direct_border(const sieve_direct_conv *g, const float *x, size_t rows, size_t cols,
                          float *dst)
{
    memset(dst, 0, g->c * rows * cols * sizeof(float));
    for (size_t ci = 0; ci < g->c; ci++)
        for (size_t iy = 0; iy < g->h; iy++) {
            const ptrdiff_t py = (ptrdiff_t)iy + g->pt;
            if (py >= (ptrdiff_t)rows)
                break;
            /* columns of the input that land in the copy: pl + ix < cols */
            const size_t n = (size_t)SIEVE_MAX((ptrdiff_t)0,
                                               SIEVE_MIN((ptrdiff_t)g->w, (ptrdiff_t)cols - g->pl));
            memcpy(dst + (ci * rows + (size_t)py) * cols + (size_t)g->pl,
                   x + (ci * g->h + iy) * g->w, n * sizeof(float));
        }
}
#endif

bool sieve_direct_conv_run(const sieve_direct_conv *g, const float *x, const sieve_op_input *w,
                           const float *bias, float *y, const sieve_op_env *env)
{
#ifdef DIRECT_AVX512
    if (!sieve_direct_conv_worthwhile(g) || !env->scratch ||
        env->scratch_floats < sieve_direct_conv_scratch_floats(g))
        return false;
    const size_t k = direct_k(g);
    float *wt = env->scratch;
    float *row = wt + k * direct_m_padded(g);
    size_t *offset = (size_t *)(row + sieve_op_slice_floats(k));
    float *bordered = row + sieve_op_slice_floats(k) +
                      sieve_op_slice_floats(k * sizeof(size_t) / sizeof(float));
    direct_transpose_weights(g, w, wt, row);
    const bool border = direct_needs_border(g);
    direct_run r = {g, NULL, direct_plane_rows(g), direct_plane_cols(g), wt, offset, bias, NULL};
    for (size_t ci = 0, t = 0; ci < g->c; ci++)
        for (size_t ky = 0; ky < g->kh; ky++)
            for (size_t kx = 0; kx < g->kw; kx++)
                offset[t++] = (ci * r.rows + ky) * r.cols + kx;
    for (size_t n = 0; n < g->batch; n++) {
        const float *image = x + n * g->c * g->h * g->w;
        if (border)
            direct_border(g, image, r.rows, r.cols, bordered);
        r.x = border ? bordered : image;
        r.y = y + n * g->m * g->oh * g->ow;
        sieve_parallel_for(env->pool, g->oh, direct_rows_avx512, &r);
    }
    return true;
#else
    (void)g;
    (void)x;
    (void)w;
    (void)bias;
    (void)y;
    (void)env;
    return false;
#endif
}
