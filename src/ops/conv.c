/* libsieve — 2-D convolution (ONNX Conv on NCHW): groups, stride,
 * dilation, asymmetric pads, optional bias, fused ReLU.
 *
 * Fast path: per image and group, Y[Mg, P] = W[Mg, K] x im2col(X)[K, P]
 * (P output pixels, K = Cg * kh * kw) on the SGEMM core, with im2col done
 * tile by tile straight into packed B panels and packed weights decoded
 * panel by panel (fp32 weights are read in place by the AVX-512 tile
 * kernel, and packed ones decoded row-major for it, untransposed). 3x3
 * stride-1 convolutions with enough channels and pixels go to Winograd
 * F(4x4, 3x3) instead (winograd.c), 4x fewer multiply-adds. Depthwise
 * convolution (one input and one output channel per group) has a direct
 * kernel: as a GEMM it would be one row long; so do stride-1 layers of up
 * to 4 input channels (conv_direct.c), whose im2col would cost as much as
 * their multiply-adds.
 * Inputs and weights stored in custom floats of at most 7 mantissa bits
 * multiply as bf16 pairs where the CPU has them; an 8-bit input is then
 * read as codes by the B packers themselves (sieve_conv_input_as_codes).
 * An input read at a column stride is first split into column phases
 * (conv_splits_phases). */
#include <string.h>

#include "../cfloat_dot.h"
#include "conv_direct.h"
#include "kernels.h"
#include "winograd.h"

typedef struct conv_geom {
    size_t batch, c, h, w;     /* input */
    size_t m, kh, kw;          /* weights [m, c / group, kh, kw] */
    size_t oh, ow;             /* output spatial size */
    size_t group, cg, mg;      /* channels per group in / out */
    size_t k, p;               /* GEMM sizes: cg * kh * kw, oh * ow */
    ptrdiff_t sh, sw, dh, dw;  /* stride, dilation */
    ptrdiff_t pt, pl;          /* top / left pads (bottom, right only bound the output) */
    bool relu;
} conv_geom;

/* Fills g from validated shapes (the fast path and the reference share it). */
static void conv_geometry(const sieve_layer *layer, const sieve_shape *x, const sieve_shape *w,
                          const sieve_shape *y, conv_geom *g)
{
    const sieve_conv_attrs *a = &layer->attrs.conv;
    g->batch = (size_t)x->dims[0];
    g->c = (size_t)x->dims[1];
    g->h = (size_t)x->dims[2];
    g->w = (size_t)x->dims[3];
    g->m = (size_t)w->dims[0];
    g->kh = (size_t)w->dims[2];
    g->kw = (size_t)w->dims[3];
    g->oh = (size_t)y->dims[2];
    g->ow = (size_t)y->dims[3];
    g->group = (size_t)a->group;
    g->cg = g->c / g->group;
    g->mg = g->m / g->group;
    g->k = g->cg * g->kh * g->kw;
    g->p = g->oh * g->ow;
    g->sh = a->stride[0];
    g->sw = a->stride[1];
    g->dh = a->dilation[0];
    g->dw = a->dilation[1];
    g->pt = a->pads[0];
    g->pl = a->pads[1];
    g->relu = a->relu;
}

/* Output length along one axis; 0 when the dilated kernel does not fit. */
static int64_t conv_out_len(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t kernel,
                            int64_t stride, int64_t dilation)
{
    int64_t extent = (kernel - 1) * dilation + 1;
    int64_t padded = in + pad_begin + pad_end;
    if (padded < extent)
        return 0;
    return (padded - extent) / stride + 1;
}

sieve_status sieve_conv_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                              sieve_shape *out, char *err, size_t err_len)
{
    const sieve_conv_attrs *a = &layer->attrs.conv;
    if (n_in < 2 || n_in > 3)
        return sieve_op_fail(layer, err, err_len, "takes 2 or 3 inputs (x, w, bias), got %d",
                             n_in);
    const sieve_shape *x = &in[0], *w = &in[1];
    size_t numel;
    if (x->rank != 4 || !sieve_op_numel(x, &numel))
        return sieve_op_fail(layer, err, err_len, "input must be 4-D NCHW, has rank %d", x->rank);
    if (w->rank != 4 || !sieve_op_numel(w, &numel))
        return sieve_op_fail(layer, err, err_len,
                             "weight must be 4-D [M, C/group, kh, kw], has rank %d", w->rank);
    for (int d = 0; d < 4; d++) {
        if (x->dims[d] < 1 || x->dims[d] > INT32_MAX)
            return sieve_op_fail(layer, err, err_len, "input dimension %d is %lld", d,
                                 (long long)x->dims[d]);
        if (w->dims[d] < 1 || w->dims[d] > INT32_MAX)
            return sieve_op_fail(layer, err, err_len, "weight dimension %d is %lld", d,
                                 (long long)w->dims[d]);
    }
    for (int i = 0; i < 2; i++) {
        if (a->stride[i] < 1)
            return sieve_op_fail(layer, err, err_len, "stride %d must be >= 1", a->stride[i]);
        if (a->dilation[i] < 1)
            return sieve_op_fail(layer, err, err_len, "dilation %d must be >= 1", a->dilation[i]);
        if (a->kernel[i] != 0 && a->kernel[i] != w->dims[2 + i])
            return sieve_op_fail(layer, err, err_len,
                                 "kernel_shape %dx%d does not match weight %lldx%lld",
                                 a->kernel[0], a->kernel[1], (long long)w->dims[2],
                                 (long long)w->dims[3]);
    }
    for (int i = 0; i < 4; i++)
        if (a->pads[i] < 0)
            return sieve_op_fail(layer, err, err_len, "pad %d is negative (%d)", i, a->pads[i]);
    if (a->group < 1)
        return sieve_op_fail(layer, err, err_len, "group %d must be >= 1", a->group);
    int64_t c = x->dims[1], m = w->dims[0], group = a->group;
    if (c % group != 0)
        return sieve_op_fail(layer, err, err_len, "%lld input channels not divisible by group %d",
                             (long long)c, a->group);
    if (m % group != 0)
        return sieve_op_fail(layer, err, err_len, "%lld output channels not divisible by group %d",
                             (long long)m, a->group);
    if (w->dims[1] != c / group)
        return sieve_op_fail(layer, err, err_len,
                             "weight has %lld input channels per group, input has %lld",
                             (long long)w->dims[1], (long long)(c / group));
    if (sieve_op_shape_present(in, n_in, 2)) {
        const sieve_shape *b = &in[2];
        if (b->rank != 1 || b->dims[0] != m)
            return sieve_op_fail(layer, err, err_len, "bias must be [%lld], has rank %d",
                                 (long long)m, b->rank);
    }
    int64_t oh = conv_out_len(x->dims[2], a->pads[0], a->pads[2], w->dims[2], a->stride[0],
                              a->dilation[0]);
    int64_t ow = conv_out_len(x->dims[3], a->pads[1], a->pads[3], w->dims[3], a->stride[1],
                              a->dilation[1]);
    if (oh < 1 || ow < 1)
        return sieve_op_fail(layer, err, err_len,
                             "kernel %lldx%lld (dilation %dx%d) larger than padded input %lldx%lld",
                             (long long)w->dims[2], (long long)w->dims[3], a->dilation[0],
                             a->dilation[1], (long long)(x->dims[2] + a->pads[0] + a->pads[2]),
                             (long long)(x->dims[3] + a->pads[1] + a->pads[3]));
    out->rank = 4;
    out->dims[0] = x->dims[0];
    out->dims[1] = m;
    out->dims[2] = oh;
    out->dims[3] = ow;
    if (!sieve_op_numel(out, &numel))
        return sieve_op_fail(layer, err, err_len, "output size overflows");
    return SIEVE_OK;
}

uint64_t sieve_conv_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                         const sieve_shape *out)
{
    (void)n_in;
    conv_geom g;
    conv_geometry(layer, &in[0], &in[1], out, &g);
    return (uint64_t)g.batch * g.m * g.p * g.k;
}

static bool conv_is_depthwise(const conv_geom *g)
{
    return g->cg == 1 && g->mg == 1;
}

/* Column phases. A convolution at column stride sw > 1 reads its input
 * at that stride: AlexNet's 11x11 stride-4 stem spent 45 % of its time in
 * the im2col, ResNet-18's 7x7 stride-2 stem 36 %. Split once into sw
 * column phases (phase r of an input row holds columns r, r + sw,
 * r + 2 sw, ..., then zeros up to the phase width), the input is read at
 * stride 1, by the table packer: tap kx, with dx = kx * dw - pl, reads
 * phase dx mod sw shifted by floor(dx / sw) columns. The split reads and
 * writes the input once; the im2col reads each input pixel about
 * kh * kw / (sh * sw) times, so the split pays where that is over one
 * (3x3 stride 2: 0.93 -> 0.71 ms on ResNet-18's 28x28 -> 14x14 layer)
 * and not where it is not (its 1x1 stride-2 shortcuts: 0.08 -> 0.12 ms). */
static bool conv_splits_phases(const conv_geom *g)
{
    return g->sw > 1 && !conv_is_depthwise(g) &&
           g->kh * g->kw > (size_t)g->sh * (size_t)g->sw;
}

static size_t conv_phase_width(const conv_geom *g)
{
    return (g->w + (size_t)g->sw - 1) / (size_t)g->sw;
}

/* Floor division for a possibly negative numerator and positive divisor. */
static ptrdiff_t floor_div(ptrdiff_t a, ptrdiff_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Elements of column phase ph (0 <= ph < sw) of an input row. */
static ptrdiff_t conv_phase_len(const conv_geom *g, ptrdiff_t ph)
{
    const ptrdiff_t w = (ptrdiff_t)g->w;
    return ph < w ? (w - ph + g->sw - 1) / g->sw : 0;
}

/* Where a tap at column offset dx (kx * dw - pl) reads in the phases:
 * phase dx mod sw (*ph), shifted by floor(dx / sw) columns (returned). */
static ptrdiff_t conv_phase_shift(const conv_geom *g, ptrdiff_t dx, ptrdiff_t *ph)
{
    const ptrdiff_t shift = floor_div(dx, g->sw);
    *ph = dx - shift * g->sw;
    return shift;
}

/* Floats of the split input, all images and channels. */
static size_t conv_phases_floats(const conv_geom *g)
{
    return sieve_op_slice_floats(g->batch * g->c * (size_t)g->sw * g->h * conv_phase_width(g));
}

/* 3x3, stride 1, dilation 1, group 1 with enough channels and pixels:
 * Winograd F(4x4, 3x3) (winograd.c). */
static bool conv_winograd_shape(const conv_geom *g, sieve_winograd_conv *wg)
{
    *wg = (sieve_winograd_conv){
        .batch = g->batch, .c = g->c, .h = g->h, .w = g->w, .m = g->m,
        .oh = g->oh, .ow = g->ow, .pt = g->pt, .pl = g->pl, .relu = g->relu,
    };
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           g->group == 1 && sieve_winograd_worthwhile(wg);
}

/* Stride 1, dilation 1, group 1 with few input channels: the direct kernel
 * (conv_direct.c). */
static bool conv_direct_shape(const conv_geom *g, sieve_direct_conv *dg)
{
    *dg = (sieve_direct_conv){
        .batch = g->batch, .c = g->c, .h = g->h, .w = g->w, .m = g->m, .kh = g->kh,
        .kw = g->kw, .oh = g->oh, .ow = g->ow, .pt = g->pt, .pl = g->pl, .relu = g->relu,
    };
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->group == 1 &&
           sieve_direct_conv_worthwhile(dg);
}

static size_t conv_slice_floats(const conv_geom *g)
{
    if (conv_is_depthwise(g))
        return sieve_op_slice_floats(g->kh * g->kw);
    return sieve_gemm_scratch_floats();
}

size_t sieve_conv_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                          const sieve_shape *out, int threads)
{
    (void)n_in;
    conv_geom g;
    conv_geometry(layer, &in[0], &in[1], out, &g);
    size_t floats = conv_slice_floats(&g) * (size_t)SIEVE_MAX(threads, 1);
    if (conv_splits_phases(&g))
        floats += conv_phases_floats(&g);
    sieve_winograd_conv wg;
    if (conv_winograd_shape(&g, &wg))
        floats = SIEVE_MAX(floats, sieve_winograd_scratch_floats(&wg, threads));
    sieve_direct_conv dg;
    if (conv_direct_shape(&g, &dg))
        floats = SIEVE_MAX(floats, sieve_direct_conv_scratch_floats(&dg));
    return floats;
}

/* ---- reference ---------------------------------------------------------- */

void sieve_conv_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                        const sieve_shape *out_shape)
{
    conv_geom g;
    conv_geometry(layer, &in[0].shape, &in[1].shape, out_shape, &g);
    const float *x = in[0].f32;
    bool has_bias = sieve_op_input_present(in, n_in, 2);
    for (size_t n = 0; n < g.batch; n++)
        for (size_t m = 0; m < g.m; m++) {
            size_t grp = m / g.mg;
            for (size_t oy = 0; oy < g.oh; oy++)
                for (size_t ox = 0; ox < g.ow; ox++) {
                    double sum = 0.0;
                    for (size_t c = 0; c < g.cg; c++)
                        for (size_t ky = 0; ky < g.kh; ky++)
                            for (size_t kx = 0; kx < g.kw; kx++) {
                                ptrdiff_t iy = (ptrdiff_t)oy * g.sh - g.pt + (ptrdiff_t)ky * g.dh;
                                ptrdiff_t ix = (ptrdiff_t)ox * g.sw - g.pl + (ptrdiff_t)kx * g.dw;
                                if (iy < 0 || ix < 0 || iy >= (ptrdiff_t)g.h ||
                                    ix >= (ptrdiff_t)g.w)
                                    continue;
                                size_t ci = grp * g.cg + c;
                                size_t xi = ((n * g.c + ci) * g.h + (size_t)iy) * g.w + (size_t)ix;
                                float xv = x ? x[xi] : sieve_op_input_at(&in[0], xi);
                                float wv = sieve_op_input_at(
                                    &in[1], ((m * g.cg + c) * g.kh + ky) * g.kw + kx);
                                sum += (double)xv * wv;
                            }
                    if (has_bias)
                        sum += sieve_op_input_at(&in[2], m);
                    float v = (float)sum;
                    if (g.relu && v < 0.0f)
                        v = 0.0f;
                    out[((n * g.m + m) * g.oh + oy) * g.ow + ox] = v;
                }
        }
}

/* ---- packing for the GEMM path ------------------------------------------ */

typedef struct conv_weights {
    const sieve_op_input *w;
    const sieve_dot_plan *dot; /* decode tables of packed w, made once per layer run */
    size_t row0; /* first output channel of the group */
    size_t k;
} conv_weights;

/* A panel: weight rows (output channels) x k, decoded from packed storage
 * one row chunk at a time. */
static void conv_pack_weights(const void *src, size_t i0, size_t count, size_t k0, size_t kc,
                              float *dst, float *tmp)
{
    const conv_weights *cw = src;
    for (size_t r = 0; r < count; r++) {
        size_t first = (cw->row0 + i0 + r) * cw->k + k0;
        const float *row;
        if (cw->w->f32) {
            row = cw->w->f32 + first;
        } else {
            sieve_dot_unpack(cw->dot, cw->w->packed, first, kc, tmp);
            row = tmp;
        }
        for (size_t k = 0; k < kc; k++)
            dst[k * SIEVE_GEMM_MR + r] = row[k];
    }
    for (size_t r = count; r < SIEVE_GEMM_MR; r++)
        for (size_t k = 0; k < kc; k++)
            dst[k * SIEVE_GEMM_MR + r] = 0.0f;
}

/* Each call decodes a short piece (kc codes) of rows that lie k codes
 * apart: a pattern the hardware prefetchers missed, leaving the decoder
 * waiting on memory for most of a packed 512-channel convolution (perf: 80 %
 * of its samples on the load of the codes). The piece of the row this many
 * rows ahead is requested while the current one is decoded. */
#define CONV_PREFETCH_ROWS 4

static void conv_prefetch_bits(const uint8_t *stream, size_t bit, size_t bits)
{
#if defined(__GNUC__) || defined(__clang__)
    for (size_t b = bit / 8 / 64 * 64; b * 8 < bit + bits; b += 64)
        __builtin_prefetch(stream + b, 0, 3);
#else
    (void)stream, (void)bit, (void)bits;
#endif
}

/* 4-bit weight codes of rows i0..i0+count x k0..k0+kc widened to one
 * byte each, row r at dst + r * kc: a loop the compiler vectorizes, far
 * cheaper than decoding them to fp32 (the tile kernel looks the values up
 * as it broadcasts them). */
static void conv_load_weight_nibbles(const void *src, size_t i0, size_t count, size_t k0,
                                     size_t kc, uint8_t *dst)
{
    const conv_weights *cw = src;
    for (size_t r = 0; r < count; r++) {
        size_t first = (cw->row0 + i0 + r) * cw->k + k0, i = 0;
        const uint8_t *p = cw->w->packed + first / 2;
        uint8_t *restrict d = dst + r * kc;
        if (first % 2 && kc) {
            d[i++] = (uint8_t)(*p++ >> 4);
        }
        const size_t pairs = (kc - i) / 2;
        const uint8_t *restrict b = p;
        uint8_t *restrict o = d + i;
        for (size_t j = 0; j < pairs; j++) {
            o[2 * j] = (uint8_t)(b[j] & 0x0f);
            o[2 * j + 1] = (uint8_t)(b[j] >> 4);
        }
        i += 2 * pairs;
        if (i < kc)
            d[i] = (uint8_t)(b[pairs] & 0x0f);
    }
}

/* The same rows row-major, decoded straight into place: packed weights
 * only (fp32 ones are read in place through a_rows). */
static void conv_load_weight_rows(const void *src, size_t i0, size_t count, size_t k0, size_t kc,
                                  float *dst)
{
    const conv_weights *cw = src;
    const size_t width = sieve_format_width(&cw->w->format);
    const size_t rows = (size_t)cw->w->shape.dims[0];
    if (kc == cw->k) {
        /* whole rows lie back to back: one call (1x1 convs of few input
         * channels decode rows of 16-64 codes, where the per-call set-up
         * of the decoder is most of the work) */
        sieve_dot_unpack(cw->dot, cw->w->packed, (cw->row0 + i0) * cw->k, count * kc, dst);
        return;
    }
    for (size_t r = 0; r < count; r++) {
        size_t row = cw->row0 + i0 + r, first = row * cw->k + k0;
        if (row + CONV_PREFETCH_ROWS < rows)
            conv_prefetch_bits(cw->w->packed, (first + CONV_PREFETCH_ROWS * cw->k) * width,
                               kc * width);
        sieve_dot_unpack(cw->dot, cw->w->packed, first, kc, dst + r * kc);
    }
}

/* The same rows as bf16, decoded in one pass (sieve_gemm_job.load_a_bf16). */
static bool conv_load_weight_bf16(const void *src, size_t i0, size_t count, size_t k0, size_t kc,
                                  float *dst)
{
    const conv_weights *cw = src;
    const size_t row0 = cw->row0 + i0, width = sieve_format_width(&cw->w->format);
    for (size_t row = row0 + CONV_PREFETCH_ROWS;
         row < row0 + count + CONV_PREFETCH_ROWS && row < (size_t)cw->w->shape.dims[0]; row++)
        conv_prefetch_bits(cw->w->packed, (row * cw->k + k0) * width, kc * width);
    uint16_t *words = (uint16_t *)(void *)dst;
    if (!sieve_dot_unpack_bf16_rows(cw->dot, cw->w->packed, row0 * cw->k + k0, cw->k, count, kc,
                                    words, 2 * kc))
        return false;
    for (size_t r = 0; kc % 2 && r < count; r++)
        words[2 * kc * r + kc] = 0;
    return true;
}

typedef struct conv_image {
    const float *x; /* first channel of the group in this image */
    const conv_geom *g;
    const float *xd; /* the same channels split into column phases, or NULL */
    /* or, with x NULL, the 8- or 4-bit codes of the input from element
     * codes_first on (sieve_conv_input_as_codes) and their decoding plan */
    const uint8_t *codes;
    size_t codes_first;
    const sieve_dot_plan *plan;
} conv_image;

/* Ceiling division for a positive divisor and any numerator. */
static ptrdiff_t ceil_div_signed(ptrdiff_t a, ptrdiff_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* B block by im2col: row k = (channel, ky, kx), column = output pixel.
 * The NR pixels of a panel fall into at most a few runs along output rows;
 * within a run the input pixels of one (channel, ky, kx) are equally spaced
 * (contiguous for stride 1), so each run is zeros, a copy, zeros. What
 * depends on the row k alone (its input plane, offsets and the range of
 * output columns that land inside the input: two divisions) is computed
 * once per block, not once per panel. */
/* Whether every window lies inside the input (no padding reaches it). */
static bool conv_windows_inside(const conv_geom *g)
{
    return g->pt == 0 && g->pl == 0 &&
           (ptrdiff_t)(g->oh - 1) * g->sh + (ptrdiff_t)(g->kh - 1) * g->dh < (ptrdiff_t)g->h &&
           (ptrdiff_t)(g->ow - 1) * g->sw + (ptrdiff_t)(g->kw - 1) * g->dw < (ptrdiff_t)g->w;
}

/* im2col without padding: pixel j of a panel reads its row k at a fixed
 * offset from that row's tap, so the panel's 16 offsets are computed once
 * and every row k is 16 indexed loads. On small images (LeNet-5: output
 * rows of 8 and 24 pixels) the run bookkeeping of the general packer cost
 * more than the copies: 36 % of a LeNet-5 run. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
_Static_assert(SIEVE_GEMM_NR == 16, "one gather fills a panel row");

/* Elements src[0], src[sw], ..., src[(count - 1) * sw] (count <= 16,
 * sw 1, 2 or 4) in the low lanes: masked loads of exactly the span they
 * cover, then one or two two-source permutes. Strided output pixels (the
 * first convolutions of AlexNet, ResNet-18, GoogLeNet, SqueezeNet) were
 * copied one float at a time: AlexNet's conv1 (stride 4) spent as long
 * packing its im2col as in the GEMM. */
__attribute__((target("avx512f"))) static inline __m512 conv_load_strided(const float *src,
                                                                         size_t count, size_t sw)
{
    size_t span = (count - 1) * sw + 1; /* floats from src[0] to the last one read */
#define CONV_SPAN_MASK(v)                                                                          \
    (__mmask16)(span > 16 * (v) ? (span >= 16 * ((v) + 1) ? 0xffffu : (1u << (span - 16 * (v))) - 1) \
                                : 0u)
    if (sw == 1)
        return _mm512_maskz_loadu_ps(CONV_SPAN_MASK(0), src);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                           30);
    __m512 v0 = _mm512_maskz_loadu_ps(CONV_SPAN_MASK(0), src);
    __m512 v1 = _mm512_maskz_loadu_ps(CONV_SPAN_MASK(1), src + 16);
    if (sw == 2)
        return _mm512_permutex2var_ps(v0, even, v1);
    __m512 v2 = _mm512_maskz_loadu_ps(CONV_SPAN_MASK(2), src + 32);
    __m512 v3 = _mm512_maskz_loadu_ps(CONV_SPAN_MASK(3), src + 48);
#undef CONV_SPAN_MASK
    const __m512i fourth = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24,
                                             28);
    /* lanes 0-7: elements 0-7 from v0:v1, then 8-15 from v2:v3 */
    return _mm512_shuffle_f32x4(_mm512_permutex2var_ps(v0, fourth, v1),
                                _mm512_permutex2var_ps(v2, fourth, v3), 0x44);
}

static bool conv_stride_loads(size_t sw)
{
    return sw == 1 || sw == 2 || sw == 4;
}

/* A run of len (<= 16) panel columns: zeros, then at column `at` the
 * count elements of an input row at stride sw from src (none: NULL). */
__attribute__((target("avx512f"))) static inline void
conv_store_run_avx512(float *out, size_t len, size_t at, size_t count, const float *src,
                      size_t sw)
{
    _mm512_mask_storeu_ps(out, (__mmask16)((1u << len) - 1), _mm512_setzero_ps());
    if (count)
        _mm512_mask_storeu_ps(out + at, (__mmask16)((1u << count) - 1),
                              conv_load_strided(src, count, sw));
}

/* The same for strides 1, 2 and 4 with AVX-512: a panel's pixels are at
 * most a few runs along output rows, equally spaced in every input row, so
 * each panel row is a strided load (conv_load_strided) and a masked store
 * per run (a 16-lane gather was no faster than 16 scalar copies on Zen 4). */
__attribute__((target("avx512f"))) static void
conv_pack_im2col_inside_avx512(const conv_image *im, size_t j0, size_t count, size_t k0,
                               size_t kc, float *dst)
{
    const conv_geom *g = im->g;
    size_t khw = g->kh * g->kw, sw = g->sw;
    for (size_t q = 0; q * SIEVE_GEMM_NR < count; q++) {
        size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        size_t run_j[SIEVE_GEMM_NR], run_offset[SIEVE_GEMM_NR], run_len[SIEVE_GEMM_NR], runs = 0;
        __mmask16 run_mask[SIEVE_GEMM_NR];
        size_t p = j0 + q * SIEVE_GEMM_NR, oy = p / g->ow, ox = p % g->ow;
        for (size_t j = 0; j < pcount; runs++) {
            size_t len = SIEVE_MIN(pcount - j, g->ow - ox);
            run_j[runs] = j;
            run_offset[runs] = oy * (size_t)g->sh * g->w + ox * sw;
            run_len[runs] = len;
            run_mask[runs] = (__mmask16)((1u << len) - 1);
            j += len;
            ox = 0;
            oy++;
        }
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        size_t c = k0 / khw, rem = k0 % khw, ky = rem / g->kw, kx = rem % g->kw;
        for (size_t k = 0; k < kc; k++) {
            const float *tap = im->x + c * g->h * g->w + ky * (size_t)g->dh * g->w +
                               kx * (size_t)g->dw;
            float *dk = d + k * SIEVE_GEMM_NR;
            if (pcount < SIEVE_GEMM_NR)
                _mm512_storeu_ps(dk, _mm512_setzero_ps());
            for (size_t r = 0; r < runs; r++)
                _mm512_mask_storeu_ps(dk + run_j[r], run_mask[r],
                                      conv_load_strided(tap + run_offset[r], run_len[r], sw));
            if (++kx == g->kw) {
                kx = 0;
                if (++ky == g->kh) {
                    ky = 0;
                    c++;
                }
            }
        }
    }
}
#define SIEVE_CONV_GATHER 1

/* Largest kh * kw the table packer keeps tables for (11x11: 121 taps). */
#define CONV_PAIRS_MAX_TAPS 121

/* Whether the table packer takes an image: read at column stride 1, as
 * it is or split into column phases. */
static bool conv_table_packs(const conv_image *im)
{
    return (im->g->sw == 1 || im->xd) && im->g->kh * im->g->kw <= CONV_PAIRS_MAX_TAPS;
}

/* im2col at column stride 1 by tables: which lanes of a panel row come
 * from inside the input, and where they start, depends only on the tap
 * (ky, kx) and the panel: one table per panel, then every row of k is a
 * masked load per run of pixels that share an output row (lanes outside
 * the input stay zero). The general packer did that bookkeeping for every
 * row. */
typedef struct conv_table {
    size_t taps, runs;
    ptrdiff_t pitch;      /* elements of an input row as read (a phase's, with xd) */
    size_t plane, channel; /* elements of a plane, of a channel's planes */
    /* per tap: input row and column offsets, the length of the row it
     * reads and where that row's plane starts in its channel */
    ptrdiff_t dy[CONV_PAIRS_MAX_TAPS], dx[CONV_PAIRS_MAX_TAPS], len[CONV_PAIRS_MAX_TAPS],
        start[CONV_PAIRS_MAX_TAPS];
    /* per tap and run of the panel: lanes read, offset of lane 0 */
    uint16_t mask[CONV_PAIRS_MAX_TAPS][SIEVE_GEMM_NR];
    ptrdiff_t offset[CONV_PAIRS_MAX_TAPS][SIEVE_GEMM_NR];
} conv_table;

static void conv_table_init(conv_table *tb, const conv_image *im)
{
    const conv_geom *g = im->g;
    const ptrdiff_t w = (ptrdiff_t)g->w;
    tb->taps = g->kh * g->kw;
    tb->pitch = im->xd ? (ptrdiff_t)conv_phase_width(g) : w;
    tb->plane = g->h * (size_t)tb->pitch;
    tb->channel = tb->plane * (im->xd ? (size_t)g->sw : 1);
    for (size_t t = 0; t < tb->taps; t++) {
        tb->dy[t] = (ptrdiff_t)((t / g->kw) * g->dh) - g->pt;
        tb->dx[t] = (ptrdiff_t)((t % g->kw) * g->dw) - g->pl;
        tb->len[t] = w;
        tb->start[t] = 0;
        if (im->xd) {
            ptrdiff_t ph;
            tb->dx[t] = conv_phase_shift(g, tb->dx[t], &ph);
            tb->len[t] = conv_phase_len(g, ph);
            tb->start[t] = ph * (ptrdiff_t)tb->plane;
        }
    }
}

/* The tables of the panel of pcount pixels from output pixel p. */
static void conv_table_panel(conv_table *tb, const conv_geom *g, size_t p, size_t pcount)
{
    ptrdiff_t run_oy[SIEVE_GEMM_NR], run_ox[SIEVE_GEMM_NR], run_j[SIEVE_GEMM_NR],
        run_len[SIEVE_GEMM_NR];
    size_t runs = 0, oy = p / g->ow, ox = p % g->ow;
    for (size_t j = 0; j < pcount; runs++) {
        size_t len = SIEVE_MIN(pcount - j, g->ow - ox);
        run_oy[runs] = (ptrdiff_t)oy;
        run_ox[runs] = (ptrdiff_t)ox;
        run_j[runs] = (ptrdiff_t)j;
        run_len[runs] = (ptrdiff_t)len;
        j += len;
        ox = 0;
        oy++;
    }
    tb->runs = runs;
    const ptrdiff_t h = (ptrdiff_t)g->h;
    /* lane j of tap t, run r reads plane[offset + j] where mask has it */
    for (size_t t = 0; t < tb->taps; t++) {
        const ptrdiff_t dy = tb->dy[t], dx = tb->dx[t], len = tb->len[t], start = tb->start[t];
        for (size_t r = 0; r < runs; r++) {
            const ptrdiff_t iy = run_oy[r] * (ptrdiff_t)g->sh + dy, a = run_ox[r];
            const ptrdiff_t lo = SIEVE_MAX(a, -dx), hi = SIEVE_MIN(a + run_len[r], len - dx);
            /* one store each, not zeros first: the compiler made those
             * a rep stos per tap, slower than the loads it serves */
            const bool inside = iy >= 0 && iy < h && lo < hi;
            const unsigned first = (unsigned)(lo - a + run_j[r]), n = (unsigned)(hi - lo);
            tb->mask[t][r] = inside ? (uint16_t)(((1u << n) - 1) << first) : 0;
            tb->offset[t][r] = inside ? start + iy * tb->pitch + a + dx - run_j[r] : 0;
        }
    }
}

/* The table packer on floats. With `pairs`, for the bf16 tiles, every two
 * rows become one row of bf16 pairs (sieve_gemm_pairs_b's layout): half
 * the stores, no second pass over the panel. */
__attribute__((target("avx512f"), always_inline)) static inline void
conv_pack_im2col_table(const conv_image *im, size_t j0, size_t count, size_t k0, size_t kc,
                       float *dst, const bool pairs)
{
    conv_table tb;
    conv_table_init(&tb, im);
    const float *x = im->xd ? im->xd : im->x;
    for (size_t q = 0; q * SIEVE_GEMM_NR < count; q++) {
        const size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        conv_table_panel(&tb, im->g, j0 + q * SIEVE_GEMM_NR, pcount);
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        size_t c = k0 / tb.taps, t = k0 % tb.taps;
        __m512 lo = _mm512_setzero_ps();
        for (size_t k = 0; k < kc; k++) {
            /* addresses by integers: an offset may lie before the plane,
             * where only masked-off lanes would read */
            const uintptr_t plane = (uintptr_t)(x + c * tb.channel);
            __m512 v = _mm512_setzero_ps();
            for (size_t r = 0; r < tb.runs; r++)
                if (tb.mask[t][r])
                    v = _mm512_mask_loadu_ps(
                        v, tb.mask[t][r],
                        (const float *)(plane + (uintptr_t)tb.offset[t][r] * sizeof(float)));
            if (!pairs)
                _mm512_storeu_ps(d + k * SIEVE_GEMM_NR, v);
            else if (k % 2 == 0 && k + 1 < kc)
                lo = v; /* paired with the next row */
            else
                _mm512_storeu_ps(d + k / 2 * SIEVE_GEMM_NR,
                                 k % 2 ? sieve_gemm_pair_row_avx512(lo, v)
                                       : sieve_gemm_pair_row_avx512(v, _mm512_setzero_ps()));
            if (++t == tb.taps) {
                t = 0;
                c++;
            }
        }
    }
}

__attribute__((target("avx512f"))) static void conv_pack_im2col_pairs(const void *src, size_t j0,
                                                                      size_t count, size_t k0,
                                                                      size_t kc, float *dst,
                                                                      float *tmp)
{
    (void)tmp;
    conv_pack_im2col_table(src, j0, count, k0, kc, dst, true);
}

__attribute__((target("avx512f"))) static void
conv_pack_im2col_table_f32(const conv_image *im, size_t j0, size_t count, size_t k0, size_t kc,
                           float *dst)
{
    conv_pack_im2col_table(im, j0, count, k0, kc, dst, false);
}
#endif

static void conv_pack_im2col_inside(const conv_image *im, size_t j0, size_t count, size_t k0,
                                    size_t kc, float *dst)
{
    const conv_geom *g = im->g;
#ifdef SIEVE_CONV_GATHER
    if (conv_stride_loads(g->sw) && __builtin_cpu_supports("avx512f")) {
        conv_pack_im2col_inside_avx512(im, j0, count, k0, kc, dst);
        return;
    }
#endif
    size_t khw = g->kh * g->kw;
    for (size_t q = 0; q * SIEVE_GEMM_NR < count; q++) {
        size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        size_t offset[SIEVE_GEMM_NR];
        for (size_t j = 0; j < SIEVE_GEMM_NR; j++) {
            size_t p = j0 + q * SIEVE_GEMM_NR + (j < pcount ? j : 0);
            offset[j] = (p / g->ow) * (size_t)g->sh * g->w + (p % g->ow) * (size_t)g->sw;
        }
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        size_t c = k0 / khw, rem = k0 % khw, ky = rem / g->kw, kx = rem % g->kw;
        for (size_t k = 0; k < kc; k++) {
            const float *tap = im->x + c * g->h * g->w + ky * (size_t)g->dh * g->w +
                               kx * (size_t)g->dw;
            float *restrict dk = d + k * SIEVE_GEMM_NR;
            for (size_t j = 0; j < SIEVE_GEMM_NR; j++)
                dk[j] = tap[offset[j]];
            for (size_t j = pcount; j < SIEVE_GEMM_NR; j++)
                dk[j] = 0.0f;
            if (++kx == g->kw) {
                kx = 0;
                if (++ky == g->kh) {
                    ky = 0;
                    c++;
                }
            }
        }
    }
}

/* The general im2col (padding reaches some windows), instantiated twice
 * below: with strided_loads, each run is two masked stores
 * (conv_store_run_avx512), inlined; without, scalar loops. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline void conv_pack_im2col_padded(const conv_image *im, size_t j0, size_t count,
                                           size_t k0, size_t kc, float *dst, bool strided_loads)
{
    const conv_geom *g = im->g;
    const ptrdiff_t h = (ptrdiff_t)g->h, w = (ptrdiff_t)g->w;
    /* the input's rows, or with column phases (im->xd) the phases' rows,
     * each read at column stride sw */
    const ptrdiff_t sw = im->xd ? 1 : g->sw, pitch = im->xd ? (ptrdiff_t)conv_phase_width(g) : w;
    const size_t plane_floats = (size_t)h * (size_t)pitch;
    size_t khw = g->kh * g->kw;
#ifndef SIEVE_CONV_GATHER
    (void)strided_loads;
#endif
    struct {
        const float *plane;
        ptrdiff_t dy, dx, ox_lo, ox_hi; /* output columns [ox_lo, ox_hi) read inside */
    } rows[SIEVE_GEMM_KC];
    size_t c = k0 / khw, rem = k0 % khw;
    size_t ky = rem / g->kw, kx = rem % g->kw;
    for (size_t k = 0; k < kc; k++) {
        ptrdiff_t dy = (ptrdiff_t)ky * g->dh - g->pt, dx = (ptrdiff_t)kx * g->dw - g->pl;
        ptrdiff_t row_len = w; /* elements of a row this tap reads from */
        if (im->xd) {
            ptrdiff_t ph;
            dx = conv_phase_shift(g, dx, &ph);
            rows[k].plane = im->xd + (c * (size_t)g->sw + (size_t)ph) * plane_floats;
            row_len = conv_phase_len(g, ph);
        } else {
            rows[k].plane = im->x + c * plane_floats;
        }
        rows[k].dy = dy;
        rows[k].dx = dx;
        rows[k].ox_lo = dx >= 0 ? 0 : ceil_div_signed(-dx, sw);
        rows[k].ox_hi = row_len - 1 - dx < 0 ? 0 : (row_len - 1 - dx) / sw + 1;
        if (++kx == g->kw) {
            kx = 0;
            if (++ky == g->kh) {
                ky = 0;
                c++;
            }
        }
    }
    for (size_t q = 0; q * SIEVE_GEMM_NR < count; q++) {
        size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        /* runs of the panel's pixels that share an output row */
        ptrdiff_t run_oy[SIEVE_GEMM_NR], run_ox[SIEVE_GEMM_NR];
        size_t run_j[SIEVE_GEMM_NR], run_len[SIEVE_GEMM_NR], runs = 0;
        size_t p = j0 + q * SIEVE_GEMM_NR;
        size_t oy = p / g->ow, ox = p % g->ow;
        for (size_t j = 0; j < pcount; runs++) {
            size_t len = SIEVE_MIN(pcount - j, g->ow - ox);
            run_oy[runs] = (ptrdiff_t)oy;
            run_ox[runs] = (ptrdiff_t)ox;
            run_j[runs] = j;
            run_len[runs] = len;
            j += len;
            ox = 0;
            oy++;
        }
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        for (size_t k = 0; k < kc; k++) {
            const float *xc = rows[k].plane;
            ptrdiff_t dy = rows[k].dy, dx = rows[k].dx;
            ptrdiff_t ox_lo = rows[k].ox_lo, ox_hi = rows[k].ox_hi;
            float *dk = d + k * SIEVE_GEMM_NR;
            for (size_t r = 0; r < runs; r++) {
                float *out = dk + run_j[r];
                ptrdiff_t a = run_ox[r], b = a + (ptrdiff_t)run_len[r];
                ptrdiff_t iy = run_oy[r] * g->sh + dy;
                ptrdiff_t lo = SIEVE_MIN(SIEVE_MAX(a, ox_lo), b),
                          hi = SIEVE_MAX(SIEVE_MIN(b, ox_hi), lo);
                if (iy < 0 || iy >= h)
                    lo = hi = b;
#ifdef SIEVE_CONV_GATHER
                if (strided_loads) {
                    conv_store_run_avx512(out, run_len[r], (size_t)(lo - a), (size_t)(hi - lo),
                                          lo < hi ? xc + iy * pitch + lo * sw + dx : NULL,
                                          (size_t)sw);
                    continue;
                }
#endif
                for (ptrdiff_t o = a; o < lo; o++)
                    out[o - a] = 0.0f;
                if (lo < hi) {
                    /* indexes, not a row pointer offset by dx: that one
                     * could point before the input */
                    const float *row = xc + iy * pitch;
                    /* constant strides for the usual cases: the compiler
                     * vectorizes those copies, not a run-time stride */
                    if (sw == 1)
                        for (ptrdiff_t o = lo; o < hi; o++)
                            out[o - a] = row[o + dx];
                    else if (sw == 2)
                        for (ptrdiff_t o = lo; o < hi; o++)
                            out[o - a] = row[2 * o + dx];
                    else if (sw == 4)
                        for (ptrdiff_t o = lo; o < hi; o++)
                            out[o - a] = row[4 * o + dx];
                    else
                        for (ptrdiff_t o = lo; o < hi; o++)
                            out[o - a] = row[o * sw + dx];
                }
                for (ptrdiff_t o = hi; o < b; o++)
                    out[o - a] = 0.0f;
            }
            for (size_t j = pcount; j < SIEVE_GEMM_NR; j++)
                dk[j] = 0.0f;
        }
    }
}

#ifdef SIEVE_CONV_GATHER
__attribute__((target("avx512f"))) static void
conv_pack_im2col_padded_avx512(const conv_image *im, size_t j0, size_t count, size_t k0,
                               size_t kc, float *dst)
{
    conv_pack_im2col_padded(im, j0, count, k0, kc, dst, true);
}
#endif

/* Whether the table packer beats the one for windows inside the image on
 * a block of kc rows: its tables cost a pass over the taps per panel,
 * repaid where the block goes over the taps for several channels.
 * LeNet-5's conv2 (25 taps, k blocks of 256 and 244), one layer alone,
 * wall medians: 24-30 -> 20-21 us; its conv1 (one channel, kc = 25 =
 * taps) stays: 7.5 us against 8.3-12.7 with tables. */
static bool conv_table_pays(const conv_image *im, size_t kc)
{
#ifdef SIEVE_CONV_GATHER
    return conv_table_packs(im) && kc >= 2 * im->g->kh * im->g->kw &&
           __builtin_cpu_supports("avx512f");
#else
    (void)im;
    (void)kc;
    return false;
#endif
}

static void conv_pack_im2col(const void *src, size_t j0, size_t count, size_t k0, size_t kc,
                             float *dst, float *tmp)
{
    (void)tmp;
    const conv_image *im = src;
    const conv_geom *g = im->g;
    if (im->xd) { /* column phases, read at stride 1 */
#ifdef SIEVE_CONV_GATHER
        if (conv_table_packs(im) && __builtin_cpu_supports("avx512f")) {
            conv_pack_im2col_table_f32(im, j0, count, k0, kc, dst);
            return;
        }
#endif
        conv_pack_im2col_padded(im, j0, count, k0, kc, dst, false);
    } else if (conv_windows_inside(g) && !conv_table_pays(im, kc))
        conv_pack_im2col_inside(im, j0, count, k0, kc, dst);
#ifdef SIEVE_CONV_GATHER
    else if (conv_table_packs(im) && __builtin_cpu_supports("avx512f"))
        conv_pack_im2col_table_f32(im, j0, count, k0, kc, dst);
    else if (conv_stride_loads(g->sw) && __builtin_cpu_supports("avx512f"))
        conv_pack_im2col_padded_avx512(im, j0, count, k0, kc, dst);
#endif
    else
        conv_pack_im2col_padded(im, j0, count, k0, kc, dst, false);
}

/* B block of a 1x1 convolution with stride 1 and no padding: the input
 * itself, [C, P] row-major. Whole panel rows are copied at a size the
 * compiler knows: a memcpy call per 64 bytes took as long as the GEMM of
 * SqueezeNet's squeeze layers (32 output channels). */
static void conv_pack_pointwise(const void *src, size_t j0, size_t count, size_t k0, size_t kc,
                                float *dst, float *tmp)
{
    (void)tmp;
    const conv_image *im = src;
    size_t p_all = im->g->p, full = count / SIEVE_GEMM_NR;
    for (size_t q = 0; q < full; q++) {
        const float *xs = im->x + k0 * p_all + j0 + q * SIEVE_GEMM_NR;
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        for (size_t k = 0; k < kc; k++)
            memcpy(d + k * SIEVE_GEMM_NR, xs + k * p_all, SIEVE_GEMM_NR * sizeof(float));
    }
    for (size_t q = full; q * SIEVE_GEMM_NR < count; q++) {
        size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        const float *xs = im->x + k0 * p_all + j0 + q * SIEVE_GEMM_NR;
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        for (size_t k = 0; k < kc; k++) {
            memcpy(d + k * SIEVE_GEMM_NR, xs + k * p_all, pcount * sizeof(float));
            for (size_t j = pcount; j < SIEVE_GEMM_NR; j++)
                d[k * SIEVE_GEMM_NR + j] = 0.0f;
        }
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The same as bf16 pairs (sieve_gemm_pairs_b) for the bf16 tiles: each
 * word takes the high halves of channels 2p and 2p + 1 at one pixel (the
 * values are exact bf16), so the panel is written once, at half the size. */
__attribute__((target("avx512f"))) static void conv_pack_pointwise_pairs(const void *src, size_t j0,
                                                                        size_t count, size_t k0,
                                                                        size_t kc, float *dst,
                                                                        float *tmp)
{
    (void)tmp;
    const conv_image *im = src;
    const size_t p_all = im->g->p;
    for (size_t q = 0; q * SIEVE_GEMM_NR < count; q++) {
        const size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        const __mmask16 m = (__mmask16)((1u << pcount) - 1);
        const float *xs = im->x + k0 * p_all + j0 + q * SIEVE_GEMM_NR;
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        for (size_t k = 0; k < kc; k += 2) {
            const __m512 lo = _mm512_maskz_loadu_ps(m, xs + k * p_all);
            const __m512 hi = k + 1 < kc ? _mm512_maskz_loadu_ps(m, xs + (k + 1) * p_all)
                                         : _mm512_setzero_ps();
            _mm512_storeu_ps(d + k / 2 * SIEVE_GEMM_NR, sieve_gemm_pair_row_avx512(lo, hi));
        }
    }
}
#endif

#ifdef SIEVE_CONV_GATHER
/* bf16 pairs straight from 8-bit codes: the 16 codes of each of two rows
 * of k at a panel's pixels are looked up in the plan's tables of their
 * bf16 values' high and low bytes (every code's value is a bf16), then
 * interleaved into the pair layout (low half row k, high half k + 1).
 * The executor's decode of the whole input into fp32, and the packer's
 * reading it back, are gone: a byte per value read instead of four
 * written and four read. */
typedef struct conv_code_pairs {
    __m512i high[4], low[4], interleave;
} conv_code_pairs;

/* The byte permute from [low k | high k | low k+1 | high k+1] (16 each)
 * to lanes of (low k, high k, low k+1, high k+1) per pixel. */
__attribute__((target("avx512f"))) static __m512i conv_pair_interleave(void)
{
    uint8_t order[64];
    for (int j = 0; j < 16; j++)
        for (int b = 0; b < 4; b++)
            order[4 * j + b] = (uint8_t)(16 * b + j);
    return _mm512_loadu_si512(order);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) static void
conv_code_pairs_init(conv_code_pairs *cp, const sieve_dot_plan *plan)
{
    for (int t = 0; t < 4; t++) {
        cp->high[t] = _mm512_loadu_si512(plan->bf16_high + 64 * t);
        cp->low[t] = _mm512_loadu_si512(plan->bf16_low + 64 * t);
    }
    cp->interleave = conv_pair_interleave();
}

/* One row of pairs from the codes of rows k (a) and k + 1 (b). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"), always_inline)) static inline __m512i
conv_code_pair_row(const conv_code_pairs *cp, __m128i a, __m128i b)
{
    __m512i codes = _mm512_castsi128_si512(a);
    codes = _mm512_inserti32x4(codes, a, 1);
    codes = _mm512_inserti32x4(codes, b, 2);
    codes = _mm512_inserti32x4(codes, b, 3);
    const __mmask64 top = _mm512_movepi8_mask(codes);
    const __m512i hi = _mm512_mask_blend_epi8(
        top, _mm512_permutex2var_epi8(cp->high[0], codes, cp->high[1]),
        _mm512_permutex2var_epi8(cp->high[2], codes, cp->high[3]));
    const __m512i lo = _mm512_mask_blend_epi8(
        top, _mm512_permutex2var_epi8(cp->low[0], codes, cp->low[1]),
        _mm512_permutex2var_epi8(cp->low[2], codes, cp->low[3]));
    const __m512i bytes = _mm512_mask_blend_epi8(UINT64_C(0xffff0000ffff0000), lo, hi);
    return _mm512_permutexvar_epi8(cp->interleave, bytes);
}

/* 1x1: the rows of k are the input's channels. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) static void
conv_pack_pointwise_codes_pairs(const void *src, size_t j0, size_t count, size_t k0, size_t kc,
                                float *dst, float *tmp)
{
    (void)tmp;
    const conv_image *im = src;
    const size_t p_all = im->g->p;
    conv_code_pairs cp;
    conv_code_pairs_init(&cp, im->plan);
    for (size_t q = 0; q * SIEVE_GEMM_NR < count; q++) {
        const size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        const __mmask16 m = (__mmask16)((1u << pcount) - 1);
        const uint8_t *xs = im->codes + im->codes_first + k0 * p_all + j0 + q * SIEVE_GEMM_NR;
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        for (size_t k = 0; k < kc; k += 2) {
            /* code 0 is +0 in every format: the pad past pcount and past
             * an odd kc */
            const __m128i a = _mm_maskz_loadu_epi8(m, xs + k * p_all);
            const __m128i b = k + 1 < kc ? _mm_maskz_loadu_epi8(m, xs + (k + 1) * p_all)
                                         : _mm_setzero_si128();
            _mm512_storeu_si512(d + k / 2 * SIEVE_GEMM_NR, conv_code_pair_row(&cp, a, b));
        }
    }
}

/* 64 4-bit codes from element e of a stream, one per byte, codes past
 * `count` zero: the bytes that hold them spread into a byte per code,
 * then moved down by one code where e is odd. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline __m512i
conv_nibble_codes(const uint8_t *stream, size_t e, size_t count, __m512i index)
{
    const size_t odd = e % 2, bytes = (odd + count + 1) / 2; /* at most 33 */
    const __m512i raw = _mm512_maskz_loadu_epi8(((__mmask64)1 << bytes) - 1, stream + e / 2);
    const __m512i low = _mm512_set1_epi16(0x000f), high = _mm512_set1_epi16(0x0f00);
    const __m512i w0 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(raw));
    const __m512i w1 = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(raw, 1));
    const __m512i c0 = _mm512_or_si512(_mm512_and_si512(w0, low),
                                       _mm512_and_si512(_mm512_slli_epi16(w0, 4), high));
    const __m512i c1 = _mm512_or_si512(_mm512_and_si512(w1, low),
                                       _mm512_and_si512(_mm512_slli_epi16(w1, 4), high));
    const __m512i codes =
        _mm512_permutex2var_epi8(c0, _mm512_add_epi8(index, _mm512_set1_epi8((char)odd)), c1);
    return _mm512_maskz_mov_epi8(count >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << count) - 1, codes);
}

/* 1x1 on 4-bit codes, 64 columns (four panels) of two rows of k at a
 * time. With 16 codes, one byte shuffle of [row k | row k | row k + 1 |
 * row k + 1] against [low bytes | high bytes | low | high] of their bf16
 * values gives what conv_code_pair_row's lookups do, and the same
 * interleave makes the pairs. Each task reads only its own columns' codes,
 * where the executor's decode pass split the whole input by elements and
 * left half of each task's columns in the other core's cache (SqueezeNet's
 * squeeze layers on two threads ran slower than on one). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) static void
conv_pack_pointwise_nibbles_pairs(const void *src, size_t j0, size_t count, size_t k0, size_t kc,
                                  float *dst, float *tmp)
{
    (void)tmp;
    const conv_image *im = src;
    const size_t p_all = im->g->p;
    const __m512i interleave = conv_pair_interleave();
    uint8_t table[64], index[64];
    for (int j = 0; j < 16; j++) {
        table[j] = table[32 + j] = im->plan->bf16_low[j];
        table[16 + j] = table[48 + j] = im->plan->bf16_high[j];
    }
    for (int j = 0; j < 64; j++)
        index[j] = (uint8_t)j;
    const __m512i lookup = _mm512_loadu_si512(table), lanes = _mm512_loadu_si512(index);
    for (size_t g = 0; g < count; g += 64) {
        const size_t n = SIEVE_MIN((size_t)64, count - g);
        const size_t e = im->codes_first + k0 * p_all + j0 + g;
        float *d = dst + g * kc;
        for (size_t k = 0; k < kc; k += 2) {
            /* code 0 is +0 in every format: the pad past n and past an odd kc */
            const __m512i a = conv_nibble_codes(im->codes, e + k * p_all, n, lanes);
            const __m512i b = k + 1 < kc
                                  ? conv_nibble_codes(im->codes, e + (k + 1) * p_all, n, lanes)
                                  : _mm512_setzero_si512();
#define NIBBLE_PANEL(t)                                                                            \
    if (16 * (t) < n) {                                                                            \
        const __m512i ab = _mm512_shuffle_i32x4(a, b, 0x55 * (t)); /* a.t a.t b.t b.t */          \
        _mm512_storeu_si512(d + (t) * kc * SIEVE_GEMM_NR + k / 2 * SIEVE_GEMM_NR,                  \
                            _mm512_permutexvar_epi8(interleave,                                    \
                                                    _mm512_shuffle_epi8(lookup, ab)));             \
    }
            NIBBLE_PANEL(0)
            NIBBLE_PANEL(1)
            NIBBLE_PANEL(2)
            NIBBLE_PANEL(3)
#undef NIBBLE_PANEL
        }
    }
}

/* Any other layer the table packer takes (column stride 1): its masked
 * loads of 16 codes, then the pairs. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) static void
conv_pack_im2col_codes_pairs(const void *src, size_t j0, size_t count, size_t k0, size_t kc,
                             float *dst, float *tmp)
{
    (void)tmp;
    const conv_image *im = src;
    conv_code_pairs cp;
    conv_code_pairs_init(&cp, im->plan);
    conv_table tb;
    conv_table_init(&tb, im);
    for (size_t q = 0; q * SIEVE_GEMM_NR < count; q++) {
        const size_t pcount = SIEVE_MIN((size_t)SIEVE_GEMM_NR, count - q * SIEVE_GEMM_NR);
        conv_table_panel(&tb, im->g, j0 + q * SIEVE_GEMM_NR, pcount);
        float *d = dst + q * kc * SIEVE_GEMM_NR;
        size_t c = k0 / tb.taps, t = k0 % tb.taps;
        __m128i lo = _mm_setzero_si128();
        for (size_t k = 0; k < kc; k++) {
            /* by integers, as in conv_pack_im2col_table */
            const uintptr_t plane = (uintptr_t)(im->codes + im->codes_first + c * tb.channel);
            __m128i v = _mm_setzero_si128();
            for (size_t r = 0; r < tb.runs; r++)
                if (tb.mask[t][r])
                    v = _mm_mask_loadu_epi8(v, tb.mask[t][r],
                                            (const void *)(plane + (uintptr_t)tb.offset[t][r]));
            if (k % 2 == 0 && k + 1 < kc)
                lo = v; /* paired with the next row */
            else
                _mm512_storeu_si512(d + k / 2 * SIEVE_GEMM_NR,
                                    k % 2 ? conv_code_pair_row(&cp, lo, v)
                                          : conv_code_pair_row(&cp, v, _mm_setzero_si128()));
            if (++t == tb.taps) {
                t = 0;
                c++;
            }
        }
    }
}
#endif

static bool conv_is_pointwise(const conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 &&
           g->oh == g->h && g->ow == g->w;
}

/* ---- fast path ---------------------------------------------------------- */

typedef struct conv_run {
    conv_geom g;
    const float *x;
    const float *xd; /* x split into column phases, or NULL */
    const uint8_t *x_codes; /* with x NULL: its codes (sieve_conv_input_as_codes) */
    sieve_dot_plan x_plan;  /* their decoding */
    const sieve_op_input *w;
    sieve_dot_plan dot; /* packed w: sieve_format_load rebuilds its tables per call */
    const uint8_t *w_codes; /* 8-bit w: its codes, read through w_lut by the tile kernel */
    bool w_nibbles;         /* 4-bit w: its codes widened to bytes, the same */
    float w_lut[256];
    const float *bias; /* fp32 bias or NULL (decoded into bias_buf if packed) */
    float *y;
    sieve_gemm_split split;
    float *scratch;
    size_t slice;
    /* optional: the output encoded into codes (sieve_conv_run_encoded) */
    const sieve_tile_encoder *enc;
    uint8_t *codes;
    bool bad[64]; /* per thread: a value could not be encoded */
    bool bf16;    /* x and w exact in bf16 (sieve_gemm_job.bf16) */
} conv_run;

static void conv_gemm_range(void *arg, size_t begin, size_t end, int thread)
{
    const conv_run *r = arg;
    const conv_geom *g = &r->g;
    float *scratch = r->scratch + (size_t)thread * r->slice;
    size_t per_image_group = r->split.m_blocks * r->split.n_blocks;
    bool pointwise = conv_is_pointwise(g);
    for (size_t t = begin; t < end; t++) {
        size_t ng = t / per_image_group;
        size_t n = ng / g->group, grp = ng % g->group;
        conv_weights cw = {r->w, &r->dot, grp * g->mg, g->k};
        size_t first = n * g->c + grp * g->cg; /* channel planes before the group's */
        conv_image im = {r->x ? r->x + first * g->h * g->w : NULL, g,
                         r->xd ? r->xd + first * (size_t)g->sw * g->h * conv_phase_width(g)
                               : NULL,
                         r->x_codes, first * g->h * g->w, &r->x_plan};
        sieve_gemm_job job = {
            .m = g->mg,
            .n = g->p,
            .k = g->k,
            .pack_a = conv_pack_weights,
            .a = &cw,
            .a_rows = r->w->f32 ? r->w->f32 + grp * g->mg * g->k : NULL,
            .lda = g->k,
            .load_a_rows = r->w->f32 ? NULL : conv_load_weight_rows,
            .load_a_bf16 = r->w->f32 ? NULL : conv_load_weight_bf16,
            .a_codes = r->w_codes ? r->w_codes + grp * g->mg * g->k : NULL,
            .a_lut = r->w_lut,
            .load_a_codes = r->w_nibbles ? conv_load_weight_nibbles : NULL,
            /* on codes, the layer takes the bf16 tiles (sieve_conv_input_as_codes),
             * which read B through pack_b_pairs alone */
            .pack_b = im.codes    ? NULL
                      : pointwise ? conv_pack_pointwise
                                  : conv_pack_im2col,
#ifdef SIEVE_CONV_GATHER
            .pack_b_pairs = im.codes ? (r->x_plan.width == 4 ? conv_pack_pointwise_nibbles_pairs
                                        : pointwise            ? conv_pack_pointwise_codes_pairs
                                                               : conv_pack_im2col_codes_pairs)
                            : pointwise              ? conv_pack_pointwise_pairs
                            : conv_table_packs(&im)  ? conv_pack_im2col_pairs
                                                     : NULL,
#endif
            .b = &im,
            .c = r->y + (n * g->m + grp * g->mg) * g->p,
            .rs = (ptrdiff_t)g->p,
            .cs = 1,
            .row_bias = r->bias ? r->bias + grp * g->mg : NULL,
            .alpha = 1.0f,
            .accumulate = false,
            .relu = g->relu,
            .codes_enc = r->enc,
            .codes = r->codes,
            .codes_first = (n * g->m + grp * g->mg) * g->p,
            .codes_bad = &((conv_run *)arg)->bad[thread],
            .bf16 = r->bf16,
        };
        sieve_gemm_task(&job, &r->split, t % per_image_group, scratch);
    }
}

/* Depthwise: one plane (image n, channel c) at a time, accumulated row by
 * row so that the innermost loop runs over output columns without bounds
 * checks. */
static void conv_depthwise_range(void *arg, size_t begin, size_t end, int thread)
{
    const conv_run *r = arg;
    const conv_geom *g = &r->g;
    float *wk = r->scratch + (size_t)thread * r->slice;
    size_t khw = g->kh * g->kw;
    const ptrdiff_t h = (ptrdiff_t)g->h, w = (ptrdiff_t)g->w, ow = (ptrdiff_t)g->ow;
    for (size_t plane = begin; plane < end; plane++) {
        size_t c = plane % g->c;
        sieve_op_input_load(r->w, c * khw, khw, wk);
        const float *x = r->x + plane * g->h * g->w;
        float *y = r->y + plane * g->p;
        float b = r->bias ? r->bias[c] : 0.0f;
        for (size_t oy = 0; oy < g->oh; oy++) {
            float *restrict yrow = y + oy * g->ow;
            for (ptrdiff_t ox = 0; ox < ow; ox++)
                yrow[ox] = b;
            for (size_t ky = 0; ky < g->kh; ky++) {
                ptrdiff_t iy = (ptrdiff_t)oy * g->sh - g->pt + (ptrdiff_t)ky * g->dh;
                if (iy < 0 || iy >= h)
                    continue;
                const float *restrict xrow = x + iy * w;
                for (size_t kx = 0; kx < g->kw; kx++) {
                    float wv = wk[ky * g->kw + kx];
                    ptrdiff_t off = (ptrdiff_t)kx * g->dw - g->pl; /* ix = ox * sw + off */
                    ptrdiff_t lo = off >= 0 ? 0 : floor_div(-off + g->sw - 1, g->sw);
                    ptrdiff_t hi = floor_div(w - 1 - off, g->sw); /* last valid ox */
                    hi = SIEVE_MIN(hi, ow - 1);
                    if (g->sw == 1) {
                        for (ptrdiff_t ox = lo; ox <= hi; ox++)
                            yrow[ox] += wv * xrow[ox + off];
                    } else {
                        for (ptrdiff_t ox = lo; ox <= hi; ox++)
                            yrow[ox] += wv * xrow[ox * g->sw + off];
                    }
                }
            }
            if (g->relu)
                for (ptrdiff_t ox = 0; ox < ow; ox++)
                    yrow[ox] = yrow[ox] > 0.0f ? yrow[ox] : 0.0f;
        }
    }
}

#ifdef SIEVE_CONV_GATHER
/* One phase of an input row: its `count` elements src[0], src[sw], ...,
 * then zeros up to `width`. */
__attribute__((target("avx512f"))) static void conv_phase_avx512(const float *src, size_t sw,
                                                                 size_t count, size_t width,
                                                                 float *dst)
{
    for (size_t i = 0; i < width; i += 16) {
        const size_t n = i < count ? SIEVE_MIN((size_t)16, count - i) : 0;
        const size_t lanes = SIEVE_MIN((size_t)16, width - i);
        const __m512 v = n ? conv_load_strided(src + i * sw, n, sw) : _mm512_setzero_ps();
        /* lanes past n: the strided load's mask left them zero */
        _mm512_mask_storeu_ps(dst + i, (__mmask16)((1u << lanes) - 1), v);
    }
}
#endif

/* Input rows [begin, end) (row = channel plane * h + y) into their column
 * phases (conv_splits_phases). */
static void conv_split_phases_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const conv_run *r = arg;
    const conv_geom *g = &r->g;
    const size_t sw = (size_t)g->sw, wd = conv_phase_width(g);
    for (size_t row = begin; row < end; row++) {
        const size_t plane = row / g->h, y = row % g->h;
        const float *src = r->x + row * g->w;
        float *dst = (float *)r->xd + (plane * sw * g->h + y) * wd;
        for (size_t ph = 0; ph < sw; ph++, dst += g->h * wd) {
            const size_t n = (size_t)conv_phase_len(g, (ptrdiff_t)ph);
#ifdef SIEVE_CONV_GATHER
            if (conv_stride_loads(sw) && __builtin_cpu_supports("avx512f")) {
                conv_phase_avx512(src + ph, sw, n, wd, dst);
                continue;
            }
#endif
            size_t i = 0;
            for (; i < n; i++)
                dst[i] = src[ph + i * sw];
            for (; i < wd; i++)
                dst[i] = 0.0f;
        }
    }
}

/* Places r->xd, the column phases of the input, at the start of the
 * scratch when the layer gains from them and the scratch holds them beside
 * one GEMM slice (else NULL); *rest is the scratch left for the GEMM. */
static void conv_reserve_phases(conv_run *r, const sieve_op_env *env, sieve_op_env *rest)
{
    *rest = *env;
    r->xd = NULL;
    if (!conv_splits_phases(&r->g) || !env->scratch)
        return;
    size_t floats = conv_phases_floats(&r->g);
    if (env->scratch_floats < floats + sieve_op_slice_floats(conv_slice_floats(&r->g)))
        return;
    r->xd = env->scratch;
    rest->scratch = env->scratch + floats;
    rest->scratch_floats = env->scratch_floats - floats;
}

static void conv_gemm_run(conv_run *r, sieve_pool *pool)
{
    r->w_codes = NULL;
    r->w_nibbles = false;
    if (!r->w->f32) {
        sieve_dot_plan_init(&r->dot, &r->w->format, 0, r->g.k);
        /* 8- and 4-bit codes on small images: every code's value in a
         * table the tile kernel broadcasts from */
        unsigned width = sieve_format_width(&r->w->format);
        if ((width == 8 || width == 4) && r->g.p <= SIEVE_GEMM_NC) {
            uint8_t all[256 + SIEVE_PACK_SLACK] = {0};
            for (int c = 0; c < 256; c++)
                all[c] = (uint8_t)(width == 8 ? c : (2 * c % 16) | (2 * c + 1) % 16 << 4);
            sieve_dot_unpack(&r->dot, all, 0, 256, r->w_lut);
            r->w_codes = width == 8 ? r->w->packed : NULL;
            r->w_nibbles = width == 4;
        }
    }
    r->split = sieve_gemm_plan(r->g.mg, r->g.p, r->g.batch * r->g.group, sieve_pool_threads(pool));
    size_t tasks = r->g.batch * r->g.group * r->split.m_blocks * r->split.n_blocks;
    sieve_parallel_for(pool, tasks, conv_gemm_range, r);
}

/* The GEMM, after the column phases if they were reserved. */
static void conv_phases_then_gemm(conv_run *r, sieve_pool *pool)
{
    if (r->xd)
        sieve_parallel_for(pool, r->g.batch * r->g.c * r->g.h, conv_split_phases_range, r);
    conv_gemm_run(r, pool);
}

/* Whether the input and the weights hold values that are exactly bf16:
 * stored in custom float formats of at most 7 mantissa bits (every value
 * of a valid format is zero or a normal fp32), wherever they were decoded.
 * Where the CPU multiplies bf16 pairs, the GEMM then does, with twice the
 * multiply-adds per instruction. */
static bool conv_bf16(const sieve_op_input *in)
{
    return in[0].format.kind == SIEVE_FORMAT_CFLOAT && in[0].format.m_bits <= 7 &&
           in[1].format.kind == SIEVE_FORMAT_CFLOAT && in[1].format.m_bits <= 7 &&
           sieve_gemm_tile_kernel_bf16() != NULL;
}

/* Winograd's fp32 3x3 against the bf16 GEMM on the same layer: Winograd
 * does a quarter of the multiplications but transforms the input, the
 * output and (every run) the weights. It wins on large images with enough
 * channels; cf8, one thread, wall medians of one layer alone, Winograd /
 * bf16 ms: VGG-16 224x224x64 12.3-12.6 / 15.9-17.4, 56x56x256 8.6-8.7 /
 * 11.0-11.6, ResNet-18 56x56x64 0.64-0.68 / 0.86-0.90; but SqueezeNet
 * 54x54x16 0.255 / 0.217-0.22, and on 28x28 images ResNet-18 x128
 * 0.77-0.80 / 0.75-0.78, GoogLeNet x96 0.63 / 0.59-0.60, VGG-16 x512
 * 12.9-14.5 / 11.5-12.0. At two threads the GEMM wins up to 56x56
 * (ResNet-18 56x56x64 0.54 / 0.44-0.46; VGG-16 28x28x512 12.0-14.2 /
 * 5.9-6.4), but the choice does not depend on the thread count, so that
 * neither do a model's outputs. */
static bool conv_winograd_beats_bf16(const conv_geom *g)
{
    return g->p > 4 * SIEVE_GEMM_NC && g->cg >= 32;
}

/* Layers on 8-bit codes of a format of at most 7 mantissa bits, with
 * weights of such a format and a bias in fp32 (decoded at load) or none,
 * whose B panels come from the 1x1 packer or the table packer (column
 * stride 1, not Winograd, not depthwise), where the bf16 tiles and the
 * byte permutes run: the GEMM then packs B from the codes. 4-bit codes
 * the same, on 1x1 layers. Anything else (Winograd, the phases, the other
 * packers, the reference's packed bias) would need the decoded input. */
bool sieve_conv_input_as_codes(const sieve_layer *layer, const sieve_op_input *in, int n_in)
{
#ifdef SIEVE_CONV_GATHER
    if (n_in < 2 || in[0].shape.rank != 4 || in[1].shape.rank != 4)
        return false;
    const sieve_format *x = &in[0].format;
    sieve_shape shapes[3] = {in[0].shape, in[1].shape}, out;
    char why[8];
    if (sieve_conv_infer(layer, shapes, 2, &out, why, sizeof(why)) != SIEVE_OK)
        return false;
    conv_geom g;
    conv_geometry(layer, &in[0].shape, &in[1].shape, &out, &g);
    conv_image im = {NULL, &g, NULL, NULL, 0, NULL};
    sieve_winograd_conv wg;
    const unsigned width = sieve_format_width(x);
    bool packs = conv_is_pointwise(&g) ||
                 (width == 8 && conv_table_packs(&im) &&
                  !(conv_winograd_beats_bf16(&g) && conv_winograd_shape(&g, &wg)));
    return packs && !conv_is_depthwise(&g) && x->kind == SIEVE_FORMAT_CFLOAT &&
           (width == 8 || width == 4) && conv_bf16(in) &&
           (!sieve_op_input_present(in, n_in, 2) || in[2].f32) &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vbmi");
#else
    (void)layer;
    (void)in;
    (void)n_in;
    return false;
#endif
}

/* The input as fp32 values, or as codes with their decoding plan. */
static void conv_input(conv_run *r, const sieve_op_input *x)
{
    r->x = x->f32;
    r->x_codes = x->f32 ? NULL : x->packed;
    if (r->x_codes)
        sieve_dot_plan_init(&r->x_plan, &x->format, 0, 0);
}

void sieve_conv_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                    const sieve_shape *out_shape, sieve_op_env *env)
{
    conv_geom g;
    conv_geometry(layer, &in[0].shape, &in[1].shape, out_shape, &g);
    bool has_bias = sieve_op_input_present(in, n_in, 2);
    sieve_direct_conv dg;
    /* values in, unless the layer would read them as codes: then it takes
     * the GEMM on its decoded values too, to compute the same bit for bit */
    if (in[0].f32 && (!has_bias || in[2].f32) && conv_direct_shape(&g, &dg) &&
        !sieve_conv_input_as_codes(layer, in, n_in) &&
        sieve_direct_conv_run(&dg, in[0].f32, &in[1], has_bias ? in[2].f32 : NULL, out, env))
        return;
    sieve_winograd_conv wg;
    if (in[0].f32 && (!conv_bf16(in) || conv_winograd_beats_bf16(&g)) &&
        conv_winograd_shape(&g, &wg) && (!has_bias || in[2].f32) &&
        sieve_winograd_run(&wg, in[0].f32, &in[1], has_bias ? in[2].f32 : NULL, out, env))
        return;
    sieve_conv_run_im2col(layer, in, n_in, out, out_shape, env);
}

void sieve_conv_run_im2col(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                           float *out, const sieve_shape *out_shape, sieve_op_env *env)
{
    conv_run r;
    conv_geometry(layer, &in[0].shape, &in[1].shape, out_shape, &r.g);
    bool has_bias = sieve_op_input_present(in, n_in, 2);
    bool ok;
    sieve_op_env rest;
    r.slice = conv_slice_floats(&r.g);
    conv_reserve_phases(&r, env, &rest);
    sieve_pool *pool = sieve_op_pool_for_scratch(&rest, r.slice, &ok);
    /* A packed bias is tiny: the reference decodes it; keep one code path.
     * So does an input of codes that the fast path does not read. */
    if (!ok || (has_bias && !in[2].f32) ||
        (!in[0].f32 && !sieve_conv_input_as_codes(layer, in, n_in))) {
        sieve_conv_run_ref(layer, in, n_in, out, out_shape);
        return;
    }
    conv_input(&r, &in[0]);
    r.w = &in[1];
    r.bias = has_bias ? in[2].f32 : NULL;
    r.y = out;
    r.scratch = rest.scratch;
    r.enc = NULL;
    r.codes = NULL;
    r.bf16 = conv_bf16(in);
    if (conv_is_depthwise(&r.g)) {
        sieve_parallel_for(pool, r.g.batch * r.g.c, conv_depthwise_range, &r);
        return;
    }
    conv_phases_then_gemm(&r, pool);
}

bool sieve_conv_run_encoded(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                            float *out, uint8_t *codes, const sieve_format *out_format,
                            const sieve_shape *out_shape, sieve_op_env *env)
{
    conv_run r;
    conv_geometry(layer, &in[0].shape, &in[1].shape, out_shape, &r.g);
    bool has_bias = sieve_op_input_present(in, n_in, 2);
    sieve_winograd_conv wg;
    if (conv_is_depthwise(&r.g) || (has_bias && !in[2].f32) ||
        (!in[0].f32 && !sieve_conv_input_as_codes(layer, in, n_in)) ||
        !sieve_gemm_tile_kernel(NULL))
        return false;
    r.bf16 = conv_bf16(in);
    /* the direct kernel's output is encoded after it, by the executor */
    sieve_direct_conv dg;
    if (in[0].f32 && conv_direct_shape(&r.g, &dg) && !sieve_conv_input_as_codes(layer, in, n_in))
        return false;
    sieve_tile_encoder enc;
    if (!sieve_tile_encoder_init(&enc, out_format))
        return false;
    if (in[0].f32 && (!r.bf16 || conv_winograd_beats_bf16(&r.g)) &&
        conv_winograd_shape(&r.g, &wg))
        return sieve_winograd_run_encoded(&wg, in[0].f32, &in[1], has_bias ? in[2].f32 : NULL, out,
                                          &enc, codes, env);
    bool ok;
    sieve_op_env rest;
    r.slice = conv_slice_floats(&r.g);
    conv_reserve_phases(&r, env, &rest);
    sieve_pool *pool = sieve_op_pool_for_scratch(&rest, r.slice, &ok);
    int threads = sieve_pool_threads(pool);
    /* 4-bit codes of odd planes: tasks share the bytes at the ends of
     * their columns (the tile encoder merges those atomically) and at row
     * block edges, which fall on even codes where a group's rows start
     * on one */
    if (!ok || threads > (int)(sizeof(r.bad) / sizeof(r.bad[0])) ||
        (enc.width == 4 && threads > 1 && r.g.mg * r.g.p % 2))
        return false;
    conv_input(&r, &in[0]);
    r.w = &in[1];
    r.bias = has_bias ? in[2].f32 : NULL;
    r.y = out;
    r.scratch = rest.scratch;
    r.enc = &enc;
    r.codes = codes;
    for (int t = 0; t < threads; t++)
        r.bad[t] = false;
    conv_phases_then_gemm(&r, pool);
    for (int t = 0; t < threads; t++)
        if (r.bad[t])
            return false;
    return true;
}
