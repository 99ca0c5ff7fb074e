/* libsieve — pooling on NCHW: MaxPool and AveragePool over 2-D windows
 * (pads, strides, dilations, ceil mode, count_include_pad), and the global
 * average / max pools over every spatial axis.
 *
 * Window rules follow ONNX and PyTorch: in ceil mode the last window must
 * start inside the input or its left padding; padding never takes part in
 * a max; an average divides by the valid cells, or with count_include_pad
 * by the cells inside the padded input, not those beyond the right padding
 * that ceil mode adds. */
#include <math.h>
#include <string.h>

#include "../cfloat_dot.h"
#include "kernels.h"

typedef struct pool_geom {
    size_t planes; /* N * C */
    ptrdiff_t h, w, oh, ow;
    ptrdiff_t kh, kw, sh, sw, dh, dw;
    ptrdiff_t pt, pl, pb, pr;
    bool count_include_pad;
} pool_geom;

static void pool_geometry(const sieve_layer *layer, const sieve_shape *x, const sieve_shape *y,
                          pool_geom *g)
{
    const sieve_pool_attrs *a = &layer->attrs.pool;
    bool one_d = x->rank == 3; /* [N, C, L] pools as [N, C, 1, L] */
    g->planes = (size_t)(x->dims[0] * x->dims[1]);
    g->h = one_d ? 1 : (ptrdiff_t)x->dims[2];
    g->w = (ptrdiff_t)x->dims[x->rank - 1];
    g->oh = one_d ? 1 : (ptrdiff_t)y->dims[2];
    g->ow = (ptrdiff_t)y->dims[y->rank - 1];
    g->kh = a->kernel[0];
    g->kw = a->kernel[1];
    g->sh = a->stride[0];
    g->sw = a->stride[1];
    g->dh = a->dilation[0];
    g->dw = a->dilation[1];
    g->pt = a->pads[0];
    g->pl = a->pads[1];
    g->pb = a->pads[2];
    g->pr = a->pads[3];
    g->count_include_pad = layer->op == SIEVE_OP_AVGPOOL && a->count_include_pad;
}

/* Output length along one axis (0 if the window does not fit). */
static int64_t pool_out_len(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t kernel,
                            int64_t stride, int64_t dilation, bool ceil_mode)
{
    int64_t extent = (kernel - 1) * dilation + 1;
    int64_t span = in + pad_begin + pad_end - extent;
    if (span < 0)
        return 0;
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    /* The last window must start inside the input or the left padding. */
    if (ceil_mode && (out - 1) * stride >= in + pad_begin)
        out--;
    return out;
}

static sieve_status pool_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                               sieve_shape *out, char *err, size_t err_len)
{
    const sieve_pool_attrs *a = &layer->attrs.pool;
    if (n_in != 1)
        return sieve_op_fail(layer, err, err_len, "takes 1 input, got %d", n_in);
    const sieve_shape *x = &in[0];
    size_t numel;
    if ((x->rank != 4 && x->rank != 3) || !sieve_op_numel(x, &numel))
        return sieve_op_fail(layer, err, err_len,
                             "input must be 4-D NCHW (or 3-D NCL), has rank %d", x->rank);
    for (int d = 0; d < x->rank; d++)
        if (x->dims[d] < 1 || x->dims[d] > INT32_MAX)
            return sieve_op_fail(layer, err, err_len, "input dimension %d is %lld", d,
                                 (long long)x->dims[d]);
    /* 1-D pooling is the 2-D one over a height of 1: the height axis must
     * then be a plain 1-tall window without padding. */
    bool one_d = x->rank == 3;
    if (one_d && (a->kernel[0] != 1 || a->pads[0] != 0 || a->pads[2] != 0))
        return sieve_op_fail(layer, err, err_len,
                             "3-D input pools along its last axis only: kernel height must be 1 "
                             "and top/bottom pads 0");
    sieve_shape x4 = *x;
    if (one_d) {
        x4.rank = 4;
        x4.dims[3] = x->dims[2];
        x4.dims[2] = 1;
    }
    x = &x4;
    out->rank = 4;
    out->dims[0] = x->dims[0];
    out->dims[1] = x->dims[1];
    for (int i = 0; i < 2; i++) {
        if (a->kernel[i] < 1)
            return sieve_op_fail(layer, err, err_len, "kernel size %d must be >= 1", a->kernel[i]);
        if (a->stride[i] < 1)
            return sieve_op_fail(layer, err, err_len, "stride %d must be >= 1", a->stride[i]);
        if (a->dilation[i] < 1)
            return sieve_op_fail(layer, err, err_len, "dilation %d must be >= 1", a->dilation[i]);
        int64_t extent = (int64_t)(a->kernel[i] - 1) * a->dilation[i] + 1;
        int pad_begin = a->pads[i], pad_end = a->pads[i + 2];
        if (pad_begin < 0 || pad_end < 0)
            return sieve_op_fail(layer, err, err_len, "pads %d,%d are negative", pad_begin,
                                 pad_end);
        /* A window made of padding only would have no value (ONNX requires
         * pads smaller than the kernel). */
        if (pad_begin >= extent || pad_end >= extent)
            return sieve_op_fail(layer, err, err_len,
                                 "pads %d,%d not smaller than the kernel extent %lld", pad_begin,
                                 pad_end, (long long)extent);
        int64_t len = pool_out_len(x->dims[2 + i], pad_begin, pad_end, a->kernel[i],
                                   a->stride[i], a->dilation[i], a->ceil_mode);
        if (len < 1)
            return sieve_op_fail(layer, err, err_len,
                                 "kernel extent %lld larger than padded input %lld",
                                 (long long)extent,
                                 (long long)(x->dims[2 + i] + pad_begin + pad_end));
        out->dims[2 + i] = len;
    }
    if (one_d) {
        out->rank = 3;
        out->dims[2] = out->dims[3];
        out->dims[3] = 0;
    }
    return SIEVE_OK;
}

sieve_status sieve_maxpool_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                 sieve_shape *out, char *err, size_t err_len)
{
    return pool_infer(layer, in, n_in, out, err, err_len);
}

sieve_status sieve_avgpool_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                 sieve_shape *out, char *err, size_t err_len)
{
    return pool_infer(layer, in, n_in, out, err, err_len);
}

static uint64_t pool_macs(const sieve_layer *layer, const sieve_shape *out)
{
    size_t n = 0;
    sieve_op_numel(out, &n);
    const sieve_pool_attrs *a = &layer->attrs.pool;
    return (uint64_t)n * (uint64_t)a->kernel[0] * (uint64_t)a->kernel[1];
}

uint64_t sieve_maxpool_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                            const sieve_shape *out)
{
    (void)in;
    (void)n_in;
    return pool_macs(layer, out);
}

uint64_t sieve_avgpool_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                            const sieve_shape *out)
{
    (void)in;
    (void)n_in;
    return pool_macs(layer, out);
}

/* One decoded input plane per thread, for run_packed (fp32 runs leave it
 * unused; conv layers need far more scratch than this in the usual nets). */
#define POOL_MAX_PLANE_FLOATS ((size_t)1 << 18)

/* Planes of a packed input decoded by one call hold this many elements
 * together at least, when the tensor has them: the decoder's set-up per
 * call cost more than the pool itself on small planes (GoogLeNet's 2x2
 * branch pool, 208 planes of 4 codes: 32 us against 4 on fp32). */
#define POOL_DECODE_MIN_FLOATS 2048

/* Floats of a group of whole planes decoded at once (one plane, or as many
 * as make POOL_DECODE_MIN_FLOATS); 0 if a plane is over the limit. */
static size_t maxpool_plane_floats(const sieve_shape *in)
{
    size_t plane = in->rank >= 3 ? sieve_op_dims_product(in, 2, in->rank) : 0;
    if (!plane || plane > POOL_MAX_PLANE_FLOATS)
        return 0;
    size_t planes = sieve_op_dims_product(in, 0, 2);
    size_t group = SIEVE_MAX((size_t)1, SIEVE_MIN(planes, POOL_DECODE_MIN_FLOATS / plane));
    return sieve_op_slice_floats(plane * group);
}

/* Elements kept on each side of the column maxima of a "same" pool (see
 * maxpool_same_plane): at least the horizontal reach of a window. */
#define POOL_SAME_GUARD 64

/* Per thread: a decoded plane and the column maxima of one (with guards). */
static size_t maxpool_slice_floats(const sieve_shape *in)
{
    size_t plane = maxpool_plane_floats(in);
    return plane ? sieve_op_slice_floats(2 * plane + 2 * POOL_SAME_GUARD) : 0;
}

size_t sieve_maxpool_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             const sieve_shape *out, int threads)
{
    (void)layer, (void)n_in, (void)out;
    return maxpool_slice_floats(&in[0]) * (size_t)SIEVE_MAX(threads, 1);
}

size_t sieve_avgpool_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

/* ---- reference ---------------------------------------------------------- */

static void pool_ref(const sieve_layer *layer, const float *x, float *y, const sieve_shape *xs,
                     const sieve_shape *ys, bool is_max)
{
    pool_geom g;
    pool_geometry(layer, xs, ys, &g);
    for (size_t plane = 0; plane < g.planes; plane++) {
        const float *xp = x + plane * (size_t)(g.h * g.w);
        float *yp = y + plane * (size_t)(g.oh * g.ow);
        for (ptrdiff_t oy = 0; oy < g.oh; oy++)
            for (ptrdiff_t ox = 0; ox < g.ow; ox++) {
                float best = -INFINITY;
                double sum = 0.0;
                int valid = 0, padded = 0;
                for (ptrdiff_t ky = 0; ky < g.kh; ky++)
                    for (ptrdiff_t kx = 0; kx < g.kw; kx++) {
                        ptrdiff_t iy = oy * g.sh - g.pt + ky * g.dh;
                        ptrdiff_t ix = ox * g.sw - g.pl + kx * g.dw;
                        if (iy >= -g.pt && iy < g.h + g.pb && ix >= -g.pl && ix < g.w + g.pr)
                            padded++;
                        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w)
                            continue;
                        float v = xp[iy * g.w + ix];
                        valid++;
                        sum += v;
                        best = v > best ? v : best;
                    }
                int divisor = g.count_include_pad ? padded : valid;
                if (is_max)
                    yp[oy * g.ow + ox] = best;
                else
                    yp[oy * g.ow + ox] = divisor ? (float)(sum / divisor) : 0.0f;
            }
    }
}

void sieve_maxpool_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                           float *out, const sieve_shape *out_shape)
{
    (void)n_in;
    pool_ref(layer, in[0].f32, out, &in[0].shape, out_shape, true);
}

void sieve_avgpool_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                           float *out, const sieve_shape *out_shape)
{
    (void)n_in;
    pool_ref(layer, in[0].f32, out, &in[0].shape, out_shape, false);
}

/* ---- fast path ---------------------------------------------------------- */

/* Taps k in [0, kernel) whose position start + k * dilation lies in
 * [0, len): returns [*lo, *hi). */
static void valid_taps(ptrdiff_t start, ptrdiff_t kernel, ptrdiff_t dilation, ptrdiff_t len,
                       ptrdiff_t *lo, ptrdiff_t *hi)
{
    ptrdiff_t a = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
    ptrdiff_t b = start > len - 1 ? 0 : (len - 1 - start) / dilation + 1;
    *lo = a;
    *hi = SIEVE_MAX(a, SIEVE_MIN(kernel, b));
}

/* Taps inside the padded input [-pad_begin, len + pad_end). */
static ptrdiff_t padded_taps(ptrdiff_t start, ptrdiff_t kernel, ptrdiff_t dilation, ptrdiff_t len,
                             ptrdiff_t pad_begin, ptrdiff_t pad_end)
{
    ptrdiff_t lo, hi;
    valid_taps(start + pad_begin, kernel, dilation, len + pad_begin + pad_end, &lo, &hi);
    return hi - lo;
}

/* Floor division for a possibly negative numerator and positive divisor. */
static ptrdiff_t floor_div(ptrdiff_t a, ptrdiff_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* For every column tap kx, the output columns [lo, hi] whose tap reads
 * inside the input row (ix = ox * sw + off): worked out once per layer,
 * not per row (two divisions each). */
#define POOL_MAX_KERNEL_COLS 32 /* wider kernels take the reference */

typedef struct pool_cols {
    ptrdiff_t off[POOL_MAX_KERNEL_COLS], lo[POOL_MAX_KERNEL_COLS], hi[POOL_MAX_KERNEL_COLS];
    ptrdiff_t inner_lo, inner_hi; /* output columns every tap reads inside */
} pool_cols;

static void pool_columns(const pool_geom *g, pool_cols *c)
{
    for (ptrdiff_t kx = 0; kx < g->kw; kx++) {
        ptrdiff_t off = kx * g->dw - g->pl;
        c->off[kx] = off;
        c->lo[kx] = off >= 0 ? 0 : floor_div(-off + g->sw - 1, g->sw);
        c->hi[kx] = SIEVE_MIN(floor_div(g->w - 1 - off, g->sw), g->ow - 1);
    }
    c->inner_lo = 0;
    c->inner_hi = g->ow - 1;
    for (ptrdiff_t kx = 0; kx < g->kw; kx++) {
        c->inner_lo = SIEVE_MAX(c->inner_lo, c->lo[kx]);
        c->inner_hi = SIEVE_MIN(c->inner_hi, c->hi[kx]);
    }
}

/* y[ox] = the maximum of v over the column taps of output column ox that
 * fall inside the row (`lowest` if none): the columns where every tap is
 * inside in one pass, with the taps of the usual small kernels (2 or 3,
 * stride 1 or 2) unrolled in it - a loop per tap costs more than its
 * work on LeNet-5's rows of 12 - and the edge columns one by one. */
/* The byte helpers of the pool on codes are inlined into each instance of
 * maxpool_codes_range, so that its AVX2 instance vectorizes them 32 bytes
 * wide (the build's baseline is SSE2). */
#if defined(__GNUC__) || defined(__clang__)
#define POOL_INLINE static inline __attribute__((always_inline))
#else
#define POOL_INLINE static inline
#endif
#define POOL_MAX2(a, b) ((b) > (a) ? (b) : (a))
#define DEFINE_MAXPOOL_TAPS(name, T, lowest)                                                   \
    POOL_INLINE void name(const pool_geom *g, const pool_cols *c, const T *restrict v,        \
                     T *restrict y)                                                            \
    {                                                                                          \
        const ptrdiff_t lo = c->inner_lo, hi = c->inner_hi, sw = g->sw, kw = g->kw;            \
        for (ptrdiff_t ox = 0; ox < g->ow; ox++) {                                             \
            if (ox == lo && lo <= hi)                                                          \
                ox = hi + 1;                                                                   \
            if (ox >= g->ow)                                                                   \
                break;                                                                         \
            T best = lowest;                                                                   \
            for (ptrdiff_t kx = 0; kx < kw; kx++)                                              \
                if (c->lo[kx] <= ox && ox <= c->hi[kx])                                        \
                    best = POOL_MAX2(best, v[ox * sw + c->off[kx]]);                           \
            y[ox] = best;                                                                      \
        }                                                                                      \
        if (lo > hi)                                                                           \
            return;                                                                            \
        const ptrdiff_t o = c->off[0]; /* indexes, not v + o: that may precede the row */   \
        if (g->dw == 1 && sw == 2 && kw == 2) {                                                \
            for (ptrdiff_t ox = lo; ox <= hi; ox++)                                            \
                y[ox] = POOL_MAX2(v[2 * ox + o], v[2 * ox + o + 1]);                           \
        } else if (g->dw == 1 && sw == 2 && kw == 3) {                                         \
            for (ptrdiff_t ox = lo; ox <= hi; ox++)                                            \
                y[ox] = POOL_MAX2(POOL_MAX2(v[2 * ox + o], v[2 * ox + o + 1]),                 \
                                  v[2 * ox + o + 2]);                                          \
        } else if (g->dw == 1 && sw == 1 && kw == 3) {                                         \
            for (ptrdiff_t ox = lo; ox <= hi; ox++)                                            \
                y[ox] = POOL_MAX2(POOL_MAX2(v[ox + o], v[ox + o + 1]), v[ox + o + 2]);         \
        } else if (g->dw == 1 && sw == 1 && kw == 2) {                                         \
            for (ptrdiff_t ox = lo; ox <= hi; ox++)                                            \
                y[ox] = POOL_MAX2(v[ox + o], v[ox + o + 1]);                                   \
        } else {                                                                               \
            for (ptrdiff_t ox = lo; ox <= hi; ox++)                                            \
                y[ox] = v[ox * sw + o];                                                        \
            for (ptrdiff_t kx = 1; kx < kw; kx++) {                                            \
                const ptrdiff_t ok = c->off[kx];                                               \
                for (ptrdiff_t ox = lo; ox <= hi; ox++)                                        \
                    y[ox] = POOL_MAX2(y[ox], v[ox * sw + ok]);                                 \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_MAXPOOL_TAPS(maxpool_taps_f32, float, -INFINITY)
DEFINE_MAXPOOL_TAPS(maxpool_taps_u8, uint8_t, 0)

typedef struct pool_run {
    pool_geom g;
    const float *x;
    float *y;
    pool_cols cols; /* max pool */
    bool avx512;    /* max pool: rows by maxpool_out_row_avx512 */
} pool_run;

/* One output row of a max pool from the input rows its windows cover
 * inside the input (n_rows of them; padding takes no part): first their
 * column-wise maximum into `column` (w floats; contiguous, so it
 * vectorizes), then the maximum over the column taps, whose inner loops
 * run over output columns without bounds checks (and vectorize for
 * strides 1 and 2). A window that covers no input gives -inf, as in the
 * reference. */
static void maxpool_out_row(const pool_geom *g, const pool_cols *c, const float *const *rows,
                            ptrdiff_t n_rows, float *restrict column, float *restrict y)
{
    if (n_rows == 0) {
        for (ptrdiff_t ox = 0; ox < g->ow; ox++)
            y[ox] = -INFINITY;
        return;
    }
    const float *restrict v = rows[0];
    if (n_rows > 1) {
        const float *restrict r0 = rows[0], *restrict r1 = rows[1];
        for (ptrdiff_t i = 0; i < g->w; i++)
            column[i] = r1[i] > r0[i] ? r1[i] : r0[i];
        for (ptrdiff_t r = 2; r < n_rows; r++) {
            const float *restrict row = rows[r];
            for (ptrdiff_t i = 0; i < g->w; i++)
                column[i] = row[i] > column[i] ? row[i] : column[i];
        }
        v = column;
    }
    maxpool_taps_f32(g, c, v, y);
}

/* The input rows of output row oy's windows: their indices [ky0, ky1). */
static ptrdiff_t maxpool_row_taps(const pool_geom *g, ptrdiff_t oy, ptrdiff_t *first_row)
{
    ptrdiff_t y0 = oy * g->sh - g->pt, ky0, ky1;
    valid_taps(y0, g->kh, g->dh, g->h, &ky0, &ky1);
    *first_row = y0 + ky0 * g->dh;
    return ky1 - ky0;
}

#define POOL_MAX_KERNEL_ROWS 16 /* taller kernels take the reference, */
#define POOL_MAX_WIDTH 2048     /* and so do wider inputs */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POOL_ROW_AVX512 1
#include <immintrin.h>
/* One output row of a max pool on rows of at most 16 columns (GoogLeNet's
 * 7- and 14-wide ones) with AVX-512: the column maxima in one vector,
 * each column tap's inputs permuted out of it (-inf where the tap falls
 * outside the row, as padding counts), the maxima over taps in another.
 * The SSE2 loops (the build's baseline) spent their time on per-column
 * edge cases there: GoogLeNet's 14-wide "same" pools 0.083-0.085 ->
 * 0.052-0.060 ms, its 7-wide ones 0.068 -> 0.046, maxpool4 (14 -> 7) 0.050
 * -> 0.039 (best of 5-7, one layer at a time). On wider rows the column
 * maxima would go through memory, and loads that straddle stores just
 * made wait for them: no faster than the SSE2 loops. */
__attribute__((target("avx512f"))) static void
maxpool_out_row_avx512(const pool_geom *g, const float *const *rows, ptrdiff_t n_rows, float *y)
{
    const __m512 lowest = _mm512_set1_ps(-INFINITY);
    const __mmask16 in = (__mmask16)((1u << g->w) - 1);
    __m512 column_max = lowest;
    for (ptrdiff_t r = 0; r < n_rows; r++)
        column_max = _mm512_max_ps(_mm512_mask_loadu_ps(lowest, in, rows[r]), column_max);
    const __m512i first =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)g->sw));
    const __m512i width = _mm512_set1_epi32((int)g->w);
    __m512 best = lowest;
    for (ptrdiff_t kx = 0; kx < g->kw; kx++) {
        const __m512i at = _mm512_add_epi32(first, _mm512_set1_epi32((int)(kx * g->dw - g->pl)));
        const __mmask16 inside = _mm512_cmpge_epi32_mask(at, _mm512_setzero_si512()) &
                                 _mm512_cmplt_epi32_mask(at, width);
        best = _mm512_max_ps(_mm512_mask_permutexvar_ps(lowest, inside, at, column_max), best);
    }
    _mm512_mask_storeu_ps(y, (__mmask16)((1u << g->ow) - 1), best);
}

/* Whether a layer's input and output rows fit one vector (the kernel
 * above). */
static bool maxpool_narrow_rows(const pool_geom *g)
{
    return g->w <= 16 && g->ow <= 16;
}

/* Whether a layer's windows are pairs of adjacent columns starting at
 * every even one (kernel width 2, stride 2, no left padding: VGG's and
 * LeNet's 2x2 pools), on rows too wide for the narrow kernel. */
static bool maxpool_column_pairs(const pool_geom *g)
{
    return g->kw == 2 && g->sw == 2 && g->dw == 1 && g->pl == 0;
}

/* One output row of such a pool with AVX-512: 32 columns of the column
 * maxima at a time, their even and odd columns permuted apart, 16 outputs
 * from one maximum. Columns past the row (right padding, ceil mode) are
 * -inf, as padding counts. Same maxima, in the same order, as the narrow
 * kernel. LeNet-5's first pool (20 x 24 x 24), wall medians of 300 K
 * runs: 3.4-3.5 -> 2.6 us; VGG-16's pools read from memory at the same
 * pace as with the SSE2 loops. */
__attribute__((target("avx512f"))) static void
maxpool_pairs_row_avx512(const pool_geom *g, const float *const *rows, ptrdiff_t n_rows, float *y)
{
    const __m512 lowest = _mm512_set1_ps(-INFINITY);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                           30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (ptrdiff_t ox = 0; ox < g->ow; ox += 16) {
        const ptrdiff_t x0 = 2 * ox, left = g->w > x0 ? g->w - x0 : 0;
        const ptrdiff_t n0 = SIEVE_MIN(left, (ptrdiff_t)16), n1 = SIEVE_MIN(left - n0, (ptrdiff_t)16);
        const __mmask16 m0 = (__mmask16)((1u << n0) - 1), m1 = (__mmask16)((1u << n1) - 1);
        __m512 lo = lowest, hi = lowest;
        for (ptrdiff_t r = 0; r < n_rows; r++) {
            /* addresses by integers: past the row's end (masked off) may
             * also be past the tensor's, where pointer arithmetic is not
             * defined */
            const uintptr_t at = (uintptr_t)rows[r] + (uintptr_t)x0 * sizeof(float);
            lo = _mm512_max_ps(_mm512_mask_loadu_ps(lowest, m0, (const float *)at), lo);
            hi = _mm512_max_ps(
                _mm512_mask_loadu_ps(lowest, m1, (const float *)(at + 16 * sizeof(float))), hi);
        }
        __m512 best = _mm512_max_ps(_mm512_permutex2var_ps(lo, even, hi), lowest);
        best = _mm512_max_ps(_mm512_permutex2var_ps(lo, odd, hi), best);
        const ptrdiff_t out = SIEVE_MIN(g->ow - ox, (ptrdiff_t)16);
        _mm512_mask_storeu_ps(y + ox, (__mmask16)((1u << out) - 1), best);
    }
}
#endif

/* One output row by whichever kernel the layer takes. */
static void maxpool_row(const pool_geom *g, const pool_cols *c, const float *const *rows,
                        ptrdiff_t n_rows, float *restrict column, float *restrict y, bool avx512)
{
#ifdef POOL_ROW_AVX512
    if (avx512) { /* no rows: all -inf */
        if (maxpool_narrow_rows(g))
            maxpool_out_row_avx512(g, rows, n_rows, y);
        else
            maxpool_pairs_row_avx512(g, rows, n_rows, y);
        return;
    }
#else
    (void)avx512;
#endif
    maxpool_out_row(g, c, rows, n_rows, column, y);
}

/* Whether the layer takes an AVX-512 row kernel. */
static bool maxpool_rows_avx512(const pool_geom *g)
{
#ifdef POOL_ROW_AVX512
    return (maxpool_narrow_rows(g) || maxpool_column_pairs(g)) &&
           __builtin_cpu_supports("avx512f");
#else
    (void)g;
    return false;
#endif
}

/* Stride 1 and "same" size (GoogLeNet's 3x3 pools beside its inception
 * branches: 7 to 28 columns): the row-by-row kernel spends its time on
 * loop overhead there, so a plane is done in flat passes instead. The
 * column maxima V of the rows whose windows lie inside the input are one
 * pass per kernel row over those rows at once (the top and bottom rows
 * clip their taps); then one pass per kernel column over the whole plane,
 * which reads across row ends (into the guards at the plane's ends), and
 * the few columns whose windows reach the padding are redone with clipped
 * taps. Written for floats and for the order-preserving keys of 8-bit
 * codes. */
static bool maxpool_same_shape(const pool_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->oh == g->h && g->ow == g->w &&
           g->pt + g->pb == (g->kh - 1) * g->dh && g->pl + g->pr == (g->kw - 1) * g->dw &&
           (g->kw - 1) * g->dw <= POOL_SAME_GUARD;
}

#define POOL_MAX(a, b) ((b) > (a) ? (b) : (a))
#define DEFINE_MAXPOOL_SAME_PLANE(name, T, lowest)                                             \
    POOL_INLINE void name(const pool_geom *g, const T *restrict x, T *restrict vbuf,          \
                     T *restrict y)                                                            \
    {                                                                                          \
        const ptrdiff_t h = g->h, w = g->w, n = h * w;                                         \
        T *restrict v = vbuf + POOL_SAME_GUARD;                                                \
        for (ptrdiff_t i = 0; i < POOL_SAME_GUARD; i++)                                        \
            vbuf[i] = v[n + i] = lowest;                                                       \
        /* rows [a, b) have every kernel row inside the input */                              \
        const ptrdiff_t a = SIEVE_MIN(g->pt, h), b = SIEVE_MAX(a, h - g->pb);                  \
        for (ptrdiff_t oy = 0; oy < h; oy++) {                                                 \
            if (oy == a && a < b) {                                                            \
                const T *restrict x0 = x + (a - g->pt) * w;                                    \
                for (ptrdiff_t j = 0; j < (b - a) * w; j++)                                    \
                    v[a * w + j] = x0[j];                                                      \
                for (ptrdiff_t ky = 1; ky < g->kh; ky++) {                                     \
                    const T *restrict xk = x + (a - g->pt + ky * g->dh) * w;                   \
                    for (ptrdiff_t j = 0; j < (b - a) * w; j++)                                \
                        v[a * w + j] = POOL_MAX(v[a * w + j], xk[j]);                          \
                }                                                                              \
                oy = b - 1;                                                                    \
                continue;                                                                      \
            }                                                                                  \
            ptrdiff_t iy, rows = maxpool_row_taps(g, oy, &iy);                                 \
            for (ptrdiff_t j = 0; j < w; j++)                                                  \
                v[oy * w + j] = lowest;                                                        \
            for (ptrdiff_t k = 0; k < rows; k++)                                               \
                for (ptrdiff_t j = 0; j < w; j++)                                              \
                    v[oy * w + j] = POOL_MAX(v[oy * w + j], x[(iy + k * g->dh) * w + j]);      \
        }                                                                                      \
        for (ptrdiff_t j = 0; j < n; j++)                                                      \
            y[j] = v[j - g->pl];                                                               \
        for (ptrdiff_t kx = 1; kx < g->kw; kx++) {                                             \
            const T *restrict vk = v + kx * g->dw - g->pl;                                     \
            for (ptrdiff_t j = 0; j < n; j++)                                                  \
                y[j] = POOL_MAX(y[j], vk[j]);                                                  \
        }                                                                                      \
        for (ptrdiff_t oy = 0; oy < h; oy++)                                                   \
            for (ptrdiff_t ox = 0; ox < w; ox++) {                                             \
                if (ox == g->pl && w - g->pr > ox)                                             \
                    ox = w - g->pr; /* the columns in between read inside their row */         \
                if (ox >= w)                                                                   \
                    break;                                                                     \
                T best = lowest;                                                               \
                for (ptrdiff_t kx = 0; kx < g->kw; kx++) {                                     \
                    ptrdiff_t ix = ox + kx * g->dw - g->pl;                                    \
                    if (ix >= 0 && ix < w)                                                     \
                        best = POOL_MAX(best, v[oy * w + ix]);                                 \
                }                                                                              \
                y[oy * w + ox] = best;                                                         \
            }                                                                                  \
    }

DEFINE_MAXPOOL_SAME_PLANE(maxpool_same_plane_f32, float, -INFINITY)
DEFINE_MAXPOOL_SAME_PLANE(maxpool_same_plane_u8, uint8_t, 0)

typedef struct maxpool_same {
    pool_geom g;
    const float *x;
    float *y;
    float *scratch; /* per thread: slice floats, the column maxima after a plane */
    size_t slice, plane;
} maxpool_same;

static void maxpool_same_range(void *arg, size_t begin, size_t end, int thread)
{
    const maxpool_same *r = arg;
    float *vbuf = r->scratch + (size_t)thread * r->slice + r->plane;
    size_t hw = (size_t)(r->g.h * r->g.w);
    for (size_t plane = begin; plane < end; plane++)
        maxpool_same_plane_f32(&r->g, r->x + plane * hw, vbuf, r->y + plane * hw);
}

static void maxpool_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const pool_run *r = arg;
    const pool_geom *g = &r->g;
    const float *rows[POOL_MAX_KERNEL_ROWS];
    float column[POOL_MAX_WIDTH];
    for (size_t plane = begin; plane < end; plane++) {
        const float *xp = r->x + plane * (size_t)(g->h * g->w);
        float *yp = r->y + plane * (size_t)(g->oh * g->ow);
        for (ptrdiff_t oy = 0; oy < g->oh; oy++) {
            ptrdiff_t iy, n_rows = maxpool_row_taps(g, oy, &iy);
            for (ptrdiff_t k = 0; k < n_rows; k++)
                rows[k] = xp + (iy + k * g->dh) * g->w;
            maxpool_row(g, &r->cols, rows, n_rows, column, yp + oy * g->ow, r->avx512);
        }
    }
}

static void avgpool_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const pool_run *r = arg;
    const pool_geom *g = &r->g;
    for (size_t plane = begin; plane < end; plane++) {
        const float *xp = r->x + plane * (size_t)(g->h * g->w);
        float *yp = r->y + plane * (size_t)(g->oh * g->ow);
        for (ptrdiff_t oy = 0; oy < g->oh; oy++) {
            ptrdiff_t y0 = oy * g->sh - g->pt, ky0, ky1;
            valid_taps(y0, g->kh, g->dh, g->h, &ky0, &ky1);
            ptrdiff_t rows = g->count_include_pad
                                 ? padded_taps(y0, g->kh, g->dh, g->h, g->pt, g->pb)
                                 : ky1 - ky0;
            for (ptrdiff_t ox = 0; ox < g->ow; ox++) {
                ptrdiff_t x0 = ox * g->sw - g->pl, kx0, kx1;
                valid_taps(x0, g->kw, g->dw, g->w, &kx0, &kx1);
                ptrdiff_t cols = g->count_include_pad
                                     ? padded_taps(x0, g->kw, g->dw, g->w, g->pl, g->pr)
                                     : kx1 - kx0;
                float sum = 0.0f;
                for (ptrdiff_t ky = ky0; ky < ky1; ky++) {
                    const float *row = xp + (y0 + ky * g->dh) * g->w;
                    for (ptrdiff_t kx = kx0; kx < kx1; kx++)
                        sum += row[x0 + kx * g->dw];
                }
                ptrdiff_t divisor = rows * cols;
                yp[oy * g->ow + ox] = divisor ? sum / (float)divisor : 0.0f;
            }
        }
    }
}

void sieve_maxpool_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                       const sieve_shape *out_shape, sieve_op_env *env)
{
    pool_run r;
    pool_geometry(layer, &in[0].shape, out_shape, &r.g);
    if (r.g.kh > POOL_MAX_KERNEL_ROWS || r.g.kw > POOL_MAX_KERNEL_COLS ||
        r.g.w > POOL_MAX_WIDTH) {
        sieve_maxpool_run_ref(layer, in, n_in, out, out_shape);
        return;
    }
    r.avx512 = maxpool_rows_avx512(&r.g);
    if (maxpool_same_shape(&r.g) && !r.avx512) {
        maxpool_same s = {.g = r.g, .x = in[0].f32, .y = out, .scratch = env->scratch,
                          .slice = maxpool_slice_floats(&in[0].shape),
                          .plane = maxpool_plane_floats(&in[0].shape)};
        bool ok;
        sieve_pool *pool = s.slice ? sieve_op_pool_for_scratch(env, s.slice, &ok) : NULL;
        if (s.slice && ok) {
            sieve_parallel_for(pool, r.g.planes, maxpool_same_range, &s);
            return;
        }
    }
    pool_columns(&r.g, &r.cols);
    r.x = in[0].f32;
    r.y = out;
    sieve_parallel_for(env->pool, r.g.planes, maxpool_range, &r);
}

/* On packed activations: the input rows the windows read are decoded
 * into a ring of row buffers on the stack (each row once per plane), and
 * output rows gathered into a piece that is encoded whenever the next row
 * would not fit. */
#define POOL_PACKED_ROW_FLOATS 4096 /* ring slots x input width at most */

typedef struct maxpool_packed {
    pool_geom g;
    pool_cols cols;
    sieve_dot_plan plan;
    const uint8_t *x;
    uint8_t *y;
    const sieve_format *y_format;
    ptrdiff_t slots; /* rows in the ring: at least the span of a window */
    bool avx512;     /* rows by maxpool_out_row_avx512 */
    float *planes;   /* per thread one decoded input plane, or NULL: the ring */
    size_t plane_floats;
    bool failed[64]; /* per thread: an encode was rejected */
} maxpool_packed;

static void maxpool_packed_range(void *arg, size_t begin, size_t end, int thread)
{
    maxpool_packed *r = arg;
    const pool_geom *g = &r->g;
    float ring[POOL_PACKED_ROW_FLOATS], piece[SIEVE_OP_PIECE], column[POOL_MAX_WIDTH];
    ptrdiff_t held[POOL_PACKED_ROW_FLOATS]; /* input row in each slot, -1: none */
    const float *rows[POOL_MAX_KERNEL_ROWS];
    size_t plane_out = (size_t)(g->oh * g->ow), base = begin * plane_out, used = 0;
    float *decoded = r->planes ? r->planes + (size_t)thread * r->plane_floats : NULL;
    const size_t hw = (size_t)(g->h * g->w), group = SIEVE_MAX((size_t)1, r->plane_floats / hw);
    for (size_t plane = begin; plane < end; plane++) {
        size_t plane_in = plane * hw;
        if (!decoded) /* the ring's rows belong to the last plane */
            for (ptrdiff_t k = 0; k < r->slots; k++)
                held[k] = -1;
        /* whole planes, a group per call: the fewest decoder set-ups */
        if (decoded && (plane - begin) % group == 0)
            sieve_dot_unpack(&r->plan, r->x, plane_in, SIEVE_MIN(group, end - plane) * hw,
                             decoded);
        const float *in_plane = decoded ? decoded + (plane - begin) % group * hw : NULL;
        for (ptrdiff_t oy = 0; oy < g->oh; oy++) {
            ptrdiff_t iy, n_rows = maxpool_row_taps(g, oy, &iy);
            for (ptrdiff_t k = 0; k < n_rows; k++) {
                ptrdiff_t y = iy + k * g->dh, slot = y % r->slots;
                float *ring_row = ring + slot * g->w;
                if (!in_plane && held[slot] != y) {
                    sieve_dot_unpack(&r->plan, r->x, plane_in + (size_t)(y * g->w),
                                     (size_t)g->w, ring_row);
                    held[slot] = y;
                }
                rows[k] = in_plane ? in_plane + y * g->w : ring_row;
            }
            if (used + (size_t)g->ow > SIEVE_OP_PIECE) {
                if (sieve_cfloat_pack(r->y_format, piece, used, r->y, base, NULL) != SIEVE_OK)
                    r->failed[thread] = true;
                base += used;
                used = 0;
            }
            maxpool_row(g, &r->cols, rows, n_rows, column, piece + used, r->avx512);
            used += (size_t)g->ow;
        }
    }
    if (used && sieve_cfloat_pack(r->y_format, piece, used, r->y, base, NULL) != SIEVE_OK)
        r->failed[thread] = true;
}

/* ---- max pool on 8-bit codes --------------------------------------------
 *
 * When input and output share an 8-bit format, the maximum of a window is
 * one of its codes, and codes order like their values once mapped to keys:
 * an unsigned format's codes already do; a signed (sign-magnitude) one's
 * positive codes 0x00-0x7f become 0x80-0xff (c ^ 0x80) and negative ones
 * 0x80-0xff become 0x7f-0x00 (c ^ 0xff: larger magnitude, smaller key). -0
 * gets the key just below +0; a key's top bit tells which flip to undo. So the
 * pool runs on bytes, 4x less data than fp32 and four times the SIMD
 * lanes, with no decode or encode. The result equals decode, max, encode
 * (every code encodes back to itself) up to the sign of a zero. 4-bit
 * codes of a shared format take the same path on wide planes, widened to
 * bytes per plane and packed back. */
typedef struct maxpool_codes {
    pool_geom g;
    pool_cols cols;
    const uint8_t *x;
    uint8_t *y;
    uint8_t flip_negative, flip_positive; /* key = c ^ (c & 0x80 ? neg : pos) */
    uint8_t *keys;                        /* per thread one input plane, slice bytes apart */
    size_t slice_bytes;
    /* 4-bit codes: widened to one byte each (a signed code's sign bit moved
     * to 0x80 first) into the keys, the output's keys gathered in the
     * slice at out_at and packed back into nibbles per plane */
    bool nibbles;
    size_t out_at;
} maxpool_codes;

/* Codes first..first+n of a 4-bit stream as bytes (the format's codes,
 * as the byte key flips expect them: for a signed format the sign bit 0x8
 * is moved to 0x80, the magnitude kept in the low bits). Whole bytes are
 * split in a loop the compiler vectorizes (two nibbles, two stores). */
POOL_INLINE uint8_t maxpool_nibble_byte(uint8_t c, unsigned sign_shift)
{
    return (uint8_t)((c & (0x0f >> (sign_shift ? 1 : 0))) |
                     (sign_shift ? (uint8_t)((c & 0x08) << 4) : 0));
}

POOL_INLINE void maxpool_nibbles_to_bytes(const uint8_t *restrict x, size_t first, size_t n,
                                     unsigned sign_shift, uint8_t *restrict y)
{
    size_t i = 0;
    if (first % 2 && n)
        y[i++] = maxpool_nibble_byte((uint8_t)(x[first / 2] >> 4), sign_shift);
    const uint8_t *restrict b = x + (first + i) / 2;
    uint8_t *restrict out = y + i;
    const size_t pairs = (n - i) / 2;
    const uint8_t mag = sign_shift ? 0x07 : 0x0f, sign = sign_shift ? 0x08 : 0x00;
    for (size_t j = 0; j < pairs; j++) {
        const uint8_t v = b[j];
        out[2 * j] = (uint8_t)((v & mag) | ((v & sign) << 4));
        out[2 * j + 1] = (uint8_t)(((v >> 4) & mag) | (v & (uint8_t)(sign << 4)));
    }
    i += 2 * pairs;
    if (i < n)
        y[i] = maxpool_nibble_byte((uint8_t)(b[pairs] & 0x0f), sign_shift);
}

/* The inverse: bytes (sign at 0x80) as 4-bit codes first..first+n of a
 * stream, keeping the other nibble of a shared first or last byte. */
POOL_INLINE void maxpool_bytes_to_nibbles(const uint8_t *restrict x, size_t n, unsigned sign_shift,
                                     uint8_t *restrict y, size_t first)
{
    const uint8_t low = sign_shift ? 0x07 : 0x0f, high = sign_shift ? 0x80 : 0x00;
    const unsigned down = sign_shift ? 4 : 0;
    size_t i = 0;
    uint8_t *restrict b = y + first / 2;
    if (first % 2 && n) {
        b[0] = (uint8_t)((b[0] & 0x0f) | (((x[0] & low) | ((x[0] & high) >> down)) << 4));
        b++;
        i = 1;
    }
    const uint8_t *restrict in = x + i;
    const size_t pairs = (n - i) / 2;
    for (size_t j = 0; j < pairs; j++) {
        const uint8_t c0 = in[2 * j], c1 = in[2 * j + 1];
        b[j] = (uint8_t)((c0 & low) | ((c0 & high) >> down) |
                         (((c1 & low) | ((c1 & high) >> down)) << 4));
    }
    i += 2 * pairs;
    if (i < n)
        b[pairs] = (uint8_t)((b[pairs] & 0xf0) | (x[i] & low) | ((x[i] & high) >> down));
}

/* y[i] = x[i] ^ (x[i] & 0x80 ? high : low) for i < n: codes to keys and
 * back. Loops of their own, with the bound in a local: written inline
 * through uint8_t pointers, which may alias the geometry, the bound was
 * reloaded from memory for every byte and the loop stayed scalar (a third
 * of a packed 3x3 / stride 2 pool's time). */
POOL_INLINE void maxpool_flip_keys(const uint8_t *restrict x, uint8_t *restrict y, size_t n,
                              uint8_t high, uint8_t low)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (uint8_t)(x[i] ^ (x[i] & 0x80 ? high : low));
}

/* The same in place. */
POOL_INLINE void maxpool_flip_keys_in_place(uint8_t *y, size_t n, uint8_t high, uint8_t low)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (uint8_t)(y[i] ^ (y[i] & 0x80 ? high : low));
}

POOL_INLINE void maxpool_codes_body(void *arg, size_t begin, size_t end, int thread)
{
    const maxpool_codes *r = arg;
    const pool_geom *g = &r->g;
    const uint8_t neg = r->flip_negative, pos = r->flip_positive;
    uint8_t *restrict keys = r->keys + (size_t)thread * r->slice_bytes;
    uint8_t column[POOL_MAX_WIDTH];
    size_t hw = (size_t)(g->h * g->w), ohw = (size_t)(g->oh * g->ow);
    const bool same = maxpool_same_shape(g);
    /* 4-bit signed codes: sign moved from bit 3 to bit 7 */
    const unsigned sign_shift = r->nibbles && neg ? 4 : 0;
    for (size_t plane = begin; plane < end; plane++) {
        if (r->nibbles) {
            maxpool_nibbles_to_bytes(r->x, plane * hw, hw, sign_shift, keys);
            maxpool_flip_keys_in_place(keys, hw, neg, pos);
        } else {
            maxpool_flip_keys(r->x + plane * hw, keys, hw, neg, pos);
        }
        uint8_t *restrict y = r->nibbles ? keys + r->out_at : r->y + plane * ohw;
        if (same) {
            maxpool_same_plane_u8(g, keys, keys + hw, y);
            maxpool_flip_keys_in_place(y, ohw, pos, neg);
            if (r->nibbles)
                maxpool_bytes_to_nibbles(y, ohw, sign_shift, r->y, plane * ohw);
            continue;
        }
        for (ptrdiff_t oy = 0; oy < g->oh; oy++) {
            ptrdiff_t iy, n_rows = maxpool_row_taps(g, oy, &iy);
            const uint8_t *v = keys + iy * g->w;
            if (n_rows > 1) {
                for (ptrdiff_t i = 0; i < g->w; i++)
                    column[i] = v[i];
                for (ptrdiff_t k = 1; k < n_rows; k++) {
                    const uint8_t *restrict row = keys + (iy + k * g->dh) * g->w;
                    for (ptrdiff_t i = 0; i < g->w; i++)
                        column[i] = row[i] > column[i] ? row[i] : column[i];
                }
                v = column;
            }
            uint8_t *restrict yr = y + oy * g->ow;
            maxpool_taps_u8(g, &r->cols, v, yr); /* no window is empty: key 0 never kept */
            /* keys back to codes: a key's top bit set means a positive code */
            maxpool_flip_keys_in_place(yr, (size_t)g->ow, pos, neg);
        }
        if (r->nibbles)
            maxpool_bytes_to_nibbles(y, ohw, sign_shift, r->y, plane * ohw);
    }
}

static void maxpool_codes_range(void *arg, size_t begin, size_t end, int thread)
{
    maxpool_codes_body(arg, begin, end, thread);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POOL_CODES_AVX2 1
/* AVX2: SqueezeNet's 3x3 / stride 2 pools on 8-bit codes took longer than
 * on fp32 with the SSE2 loops. */
__attribute__((target("avx2"))) static void maxpool_codes_range_avx2(void *arg, size_t begin,
                                                                    size_t end, int thread)
{
    maxpool_codes_body(arg, begin, end, thread);
}
#endif

/* Whether every window of the pool covers at least one input element. */
static bool maxpool_windows_nonempty(const pool_geom *g, const pool_cols *c)
{
    ptrdiff_t first;
    for (ptrdiff_t oy = 0; oy < g->oh; oy++)
        if (maxpool_row_taps(g, oy, &first) == 0)
            return false;
    for (ptrdiff_t ox = 0; ox < g->ow; ox++) {
        bool any = false;
        for (ptrdiff_t kx = 0; kx < g->kw && !any; kx++)
            any = c->lo[kx] <= ox && ox <= c->hi[kx];
        if (!any)
            return false;
    }
    return true;
}

/* Narrowest input rows whose 4-bit (8-bit) codes are pooled as bytes
 * (below, decoding to fp32 is faster unless the pool is a "same" one; see
 * maxpool_on_codes). */
#define POOL_NIBBLE_MIN_WIDTH 64
#define POOL_BYTE_MIN_WIDTH 32

static bool maxpool_on_codes(const pool_geom *g, const sieve_op_packed *in, uint8_t *out,
                             const sieve_format *out_format, sieve_op_env *env)
{
    const sieve_format *f = &in[0].format;
    const unsigned width = sieve_format_width(f);
    /* 4-bit codes are widened to bytes and back around the pool: that
     * beats decoding to fp32 on wide planes (GoogLeNet's 112-wide
     * maxpool1 0.20 -> 0.16 ms, its 56-wide maxpool2 the same, 28- and
     * 14-wide stride-2 ones slower: bench_engine --layers, cf4), and on
     * narrow planes of "same" pools, whose flat passes have no per-row
     * cost (GoogLeNet's 3x3 branch pools on 28-, 14- and 7-wide planes
     * 0.13-0.17 -> 0.08-0.11 ms). 8-bit codes likewise on planes 32 or
     * more wide and "same" pools: stride-2 pools of narrower planes
     * decode faster (SqueezeNet's 27-wide features.11 0.148 -> 0.134 ms,
     * GoogLeNet's 28-wide maxpool3 0.152 -> 0.144, its 14-wide maxpool4
     * 0.103 -> 0.085; the 55- and 56-wide ones are 20 % faster as bytes) */
    const bool same = maxpool_same_shape(g);
    bool nibbles_pay = g->w >= POOL_NIBBLE_MIN_WIDTH || same;
    bool bytes_pay = g->w >= POOL_BYTE_MIN_WIDTH || same;
    if ((width != 8 && (width != 4 || !nibbles_pay)) || (width == 8 && !bytes_pay) ||
        f->kind != out_format->kind ||
        f->e_bits != out_format->e_bits || f->m_bits != out_format->m_bits ||
        f->bias != out_format->bias || f->is_signed != out_format->is_signed)
        return false;
    maxpool_codes r = {.g = *g, .x = in[0].data, .y = out};
    pool_columns(g, &r.cols);
    if (!maxpool_windows_nonempty(g, &r.cols))
        return false;
    r.flip_negative = f->is_signed ? 0xff : 0x00;
    r.flip_positive = f->is_signed ? 0x80 : 0x00;
    /* per thread in the scratch (sized in floats for the other paths: four
     * times what bytes need): a plane of keys, then the column maxima of a
     * "same" pool with their guards; for 4-bit codes then the output
     * plane's keys */
    size_t plane = (size_t)(g->h * g->w), out_plane = (size_t)(g->oh * g->ow);
    r.nibbles = width == 4;
    r.out_at = 2 * plane + 2 * POOL_SAME_GUARD;
    size_t bytes = r.out_at + (r.nibbles ? out_plane : 0),
           floats = sieve_op_slice_floats((bytes + 3) / 4);
    bool ok;
    sieve_pool *pool = sieve_op_pool_for_scratch(env, floats, &ok);
    if (!ok || plane > POOL_MAX_PLANE_FLOATS)
        return false;
    /* threads split planes: with 4-bit codes only where every output plane
     * starts on a byte (no two threads write one byte) */
    if (r.nibbles && out_plane % 2)
        pool = NULL;
    r.keys = (uint8_t *)env->scratch;
    r.slice_bytes = floats * sizeof(float);
    sieve_range_fn range = maxpool_codes_range;
#ifdef POOL_CODES_AVX2
    if (__builtin_cpu_supports("avx2"))
        range = maxpool_codes_range_avx2;
#endif
    sieve_parallel_for(pool, g->planes, range, &r);
    return true;
}

bool sieve_maxpool_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                              uint8_t *out, const sieve_format *out_format,
                              const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)n_in;
    maxpool_packed r;
    pool_geometry(layer, &in[0].shape, out_shape, &r.g);
    const pool_geom *g = &r.g;
    if (g->kh <= POOL_MAX_KERNEL_ROWS && g->kw <= POOL_MAX_KERNEL_COLS && g->w <= POOL_MAX_WIDTH &&
        maxpool_on_codes(g, in, out, out_format, env))
        return true;
    /* a window's rows span (kh - 1) * dh + 1 input rows (at most the
     * plane's): all in the ring at once, in distinct slots */
    r.slots = SIEVE_MIN(POOL_PACKED_ROW_FLOATS / g->w, g->h); /* no more than a plane's rows */
    if (g->kh > POOL_MAX_KERNEL_ROWS || g->kw > POOL_MAX_KERNEL_COLS || g->w > POOL_MAX_WIDTH ||
        SIEVE_MIN((g->kh - 1) * g->dh + 1, g->h) > r.slots || g->ow > SIEVE_OP_PIECE)
        return false;
    pool_columns(g, &r.cols);
    r.avx512 = maxpool_rows_avx512(g);
    sieve_dot_plan_init(&r.plan, &in[0].format, 0, 0);
    r.plane_floats = maxpool_plane_floats(&in[0].shape);
    bool ok;
    sieve_pool *plane_pool = sieve_op_pool_for_scratch(env, r.plane_floats, &ok);
    r.planes = r.plane_floats && ok ? env->scratch : NULL;
    r.x = in[0].data;
    r.y = out;
    r.y_format = out_format;
    /* threads split planes: only where every plane's output starts on a
     * byte boundary (no two threads write one byte) */
    sieve_pool *pool = r.planes ? plane_pool : env->pool;
    if ((size_t)(g->oh * g->ow) * sieve_format_width(out_format) % 8 != 0 ||
        sieve_pool_threads(pool) > (int)(sizeof(r.failed) / sizeof(r.failed[0])))
        pool = NULL;
    for (int t = 0; t < sieve_pool_threads(pool); t++)
        r.failed[t] = false;
    sieve_parallel_for(pool, g->planes, maxpool_packed_range, &r);
    for (int t = 0; t < sieve_pool_threads(pool); t++)
        if (r.failed[t])
            return false;
    return true;
}

void sieve_avgpool_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                       const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)n_in;
    pool_run r;
    pool_geometry(layer, &in[0].shape, out_shape, &r.g);
    const pool_geom *g = &r.g;
    /* a 1x1 window at stride 1 without pads averages one element: a copy
     * (torchvision's AlexNet, exported, has one behind its 6x6 features:
     * 40 us of per-output arithmetic for 9216 values) */
    if (g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 &&
        (g->pt | g->pl | g->pb | g->pr) == 0 && g->oh == g->h && g->ow == g->w) {
        memcpy(out, in[0].f32, g->planes * (size_t)(g->h * g->w) * sizeof(float));
        return;
    }
    r.x = in[0].f32;
    r.y = out;
    sieve_parallel_for(env->pool, r.g.planes, avgpool_range, &r);
}

/* ---- global pools ------------------------------------------------------- */

static sieve_status global_pool_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                      sieve_shape *out, char *err, size_t err_len)
{
    if (n_in != 1)
        return sieve_op_fail(layer, err, err_len, "takes 1 input, got %d", n_in);
    size_t numel;
    if (in[0].rank < 3 || !sieve_op_numel(&in[0], &numel))
        return sieve_op_fail(layer, err, err_len,
                             "input must be [N, C, spatial...] of rank >= 3, has rank %d",
                             in[0].rank);
    for (int d = 0; d < in[0].rank; d++)
        if (in[0].dims[d] < 1)
            return sieve_op_fail(layer, err, err_len, "input dimension %d is %lld", d,
                                 (long long)in[0].dims[d]);
    *out = in[0];
    for (int d = 2; d < out->rank; d++)
        out->dims[d] = 1;
    return SIEVE_OK;
}

sieve_status sieve_globalavgpool_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                       sieve_shape *out, char *err, size_t err_len)
{
    return global_pool_infer(layer, in, n_in, out, err, err_len);
}

sieve_status sieve_globalmaxpool_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                       sieve_shape *out, char *err, size_t err_len)
{
    return global_pool_infer(layer, in, n_in, out, err, err_len);
}

uint64_t sieve_globalavgpool_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                  const sieve_shape *out)
{
    (void)layer, (void)n_in, (void)out;
    size_t n = 0;
    sieve_op_numel(&in[0], &n);
    return n;
}

uint64_t sieve_globalmaxpool_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                  const sieve_shape *out)
{
    return sieve_globalavgpool_macs(layer, in, n_in, out);
}

size_t sieve_globalavgpool_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                   const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

size_t sieve_globalmaxpool_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                   const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

void sieve_globalavgpool_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                                 float *out, const sieve_shape *out_shape)
{
    (void)layer, (void)n_in, (void)out_shape;
    const sieve_shape *s = &in[0].shape;
    size_t planes = sieve_op_dims_product(s, 0, 2), size = sieve_op_dims_product(s, 2, s->rank);
    for (size_t p = 0; p < planes; p++) {
        double sum = 0.0;
        for (size_t i = 0; i < size; i++)
            sum += in[0].f32[p * size + i];
        out[p] = (float)(sum / (double)size);
    }
}

void sieve_globalmaxpool_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                                 float *out, const sieve_shape *out_shape)
{
    (void)layer, (void)n_in, (void)out_shape;
    const sieve_shape *s = &in[0].shape;
    size_t planes = sieve_op_dims_product(s, 0, 2), size = sieve_op_dims_product(s, 2, s->rank);
    for (size_t p = 0; p < planes; p++) {
        float best = -INFINITY;
        for (size_t i = 0; i < size; i++)
            best = SIEVE_MAX(best, in[0].f32[p * size + i]);
        out[p] = best;
    }
}

typedef struct global_run {
    const float *x;
    float *y;
    size_t size;
} global_run;

#define GLOBAL_LANES 16

static void globalavg_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const global_run *r = arg;
    for (size_t p = begin; p < end; p++) {
        const float *x = r->x + p * r->size;
        float lanes[GLOBAL_LANES] = {0};
        size_t i = 0;
        for (; i + GLOBAL_LANES <= r->size; i += GLOBAL_LANES)
            for (int l = 0; l < GLOBAL_LANES; l++)
                lanes[l] += x[i + l];
        float sum = 0.0f;
        for (; i < r->size; i++)
            sum += x[i];
        for (int l = 0; l < GLOBAL_LANES; l++)
            sum += lanes[l];
        r->y[p] = sum / (float)r->size;
    }
}

static void globalmax_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const global_run *r = arg;
    for (size_t p = begin; p < end; p++) {
        const float *x = r->x + p * r->size;
        float best = -INFINITY;
        for (size_t i = 0; i < r->size; i++)
            best = x[i] > best ? x[i] : best;
        r->y[p] = best;
    }
}

void sieve_globalavgpool_run(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                             float *out, const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)layer, (void)n_in, (void)out_shape;
    const sieve_shape *s = &in[0].shape;
    global_run r = {in[0].f32, out, sieve_op_dims_product(s, 2, s->rank)};
    sieve_parallel_for(env->pool, sieve_op_dims_product(s, 0, 2), globalavg_range, &r);
}

void sieve_globalmaxpool_run(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                             float *out, const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)layer, (void)n_in, (void)out_shape;
    const sieve_shape *s = &in[0].shape;
    global_run r = {in[0].f32, out, sieve_op_dims_product(s, 2, s->rank)};
    sieve_parallel_for(env->pool, sieve_op_dims_product(s, 0, 2), globalmax_range, &r);
}
