/* libsieve — Winograd F(4x4, 3x3) convolution (Lavin & Gray 2016, "Fast
 * Algorithms for Convolutional Neural Networks", the F(4x4, 3x3) matrices).
 *
 * The output is cut into 4x4 tiles; each reads a 6x6 input patch d. Per
 * tile, input channel c and output channel k:
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * so with U = G g G^T and V = B^T d B transformed once, the sum over c is,
 * for each of the 36 points xi of the 6x6 domain, a GEMM
 *     M[xi][k][tile] = sum_c U[xi][k][c] * V[xi][c][tile]
 * of 36 multiply-adds per tile and (k, c) instead of 144 for direct
 * convolution (4x fewer, before the transforms).
 *
 * Memory: transformed weights are 36/9 = 4x the weights, so they are never
 * kept: each run transforms one block of output channels at a time into
 * scratch shared by the threads (WINO_U_BYTES at most), decoding packed
 * weights on the way, then the threads share the tile blocks and pieces
 * of the block's output channels of every image (wino_deal_tasks):
 *   for each block of output channels (serial):
 *     parallel: U = G g G^T of the block, packed as SGEMM A panels
 *     parallel, per task (image, block of WINO_TB tiles, output channels):
 *       for each block of WINO_KCW input channels:
 *         V = B^T d B of the tiles, packed as SGEMM B panels (16 tiles)
 *         M += U x V: 36 GEMMs on the SGEMM tile kernel (6 x 32 on AVX-512)
 *       Y = A^T M A + bias, ReLU, into the output
 * V and M of one task stay within one core's L2. The input transform is
 * repeated once per block of output channels (1 for up to ~450 of them
 * with 64 input channels, 10 with 512): a few percent of the GEMM work.
 *
 * The transforms are plain C over 16 tiles (or 6 x 16 weights) at a time,
 * which compilers vectorize; they are compiled three times (AVX-512, AVX2,
 * baseline) and picked by CPUID like the SGEMM kernels; the GEMM goes
 * through sgemm.c's tile kernel or micro-kernels. Accuracy: the transforms
 * multiply rounding errors by up to ~256x a direct sum's bound (see
 * tests/test_winograd.c for the derivation); fine for inference, as in
 * cuDNN, NNPACK and oneDNN. */
#include <string.h>

#include "kernels.h"
#include "threads.h"
#include "winograd.h"

#define WINO_M 4  /* output tile side */
#define WINO_A 6  /* input tile side: m + 3 - 1 */
#define WINO_X 36 /* points of the transformed domain */
#define WINO_LANES SIEVE_GEMM_NR /* tiles per panel */
#define WINO_TB 32   /* tiles per block: one 6 x 32 tile-kernel call wide */
#define WINO_KCW 128 /* input channels per block: a V block of 36 x 128 x 32 floats is 576 KiB */
#define WINO_KT 96   /* output channels per task (16 A panels): M is 36 x 96 x 32 floats, 432 KiB */
#define WINO_CW 16   /* input channels per step of the weight transform */
#define WINO_U_BYTES ((size_t)4 << 20) /* transformed weights of one channel block */
/* Extra floats between the blocks of two points xi: their sizes are often
 * multiples of 4 KiB, and 36 streams 4 KiB apart fight over one L1 set. */
#define WINO_XI_PAD 16

/* Where Winograd stops paying, measured with bench/bench_conv (see
 * bench/README.md): 3 input channels (VGG-16's first layer) ran 1.3x slower
 * than im2col GEMM, 8 input or 8 output channels 3-5x faster; a 7 x 7
 * output (4 tiles) 3x slower, the weight transform costing more than the
 * tiles save, 14 x 14 (16 tiles) 0.8-0.9x with the layer's weights warm.
 * In whole runs they are not: the transform moves about eight times the
 * weights' bytes (read 9, write and read 36 floats per kernel) through
 * caches that the previous layers filled, and with 16 tiles that cost
 * more than the multiplies it saves. Whole runs, fp32, one thread, best
 * of 20, three alternations, with 14 x 14 on the GEMM instead: GoogLeNet
 * 17.3-17.6 -> 16.7-16.8 ms, ResNet-18 19.4-19.8 -> 19.1-19.2, VGG-16
 * (best of 8, two) 128.7-130.9 -> 123.0-124.2. */
#define WINO_MIN_C 8
#define WINO_MIN_M 8
#define WINO_MIN_TILES 20 /* per image (14 x 14 outputs make 16) */

_Static_assert(WINO_TB % WINO_LANES == 0 && WINO_TB <= 2 * SIEVE_GEMM_NR,
               "a tile block is one tile-kernel call wide");
_Static_assert(WINO_KT % SIEVE_GEMM_MR == 0, "tasks cover whole A panels");
_Static_assert(WINO_KCW % WINO_CW == 0, "a weight step stays in one channel block");

#if defined(__GNUC__) || defined(__clang__)
#define WINO_INLINE static inline __attribute__((always_inline))
#else
#define WINO_INLINE static inline
#endif

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

static size_t round_up(size_t a, size_t b)
{
    return ceil_div(a, b) * b;
}

/* ---- plan ---------------------------------------------------------------- */

typedef struct wino_plan {
    size_t tw, th, tiles; /* tiles per row, per column, per image */
    size_t lanes;         /* tile columns of V and M: WINO_TB or fewer for small images */
    size_t n_tb;          /* tile blocks per image */
    size_t kb;            /* output channels per block of transformed weights */
    size_t kt_max;        /* output channels per task at most (multiple of MR) */
    size_t kcw;           /* input channels per block */
    size_t v_floats, m_floats, work_floats, slice, u_floats;
} wino_plan;

/* Work area of a slice, in floats: the input transform's rows and
 * lane-major patches, the output transform's, the weight transform's
 * regrouped and transformed weights; then the weight transform's decoded
 * rows, [MR][C * 9] (see wino_make_plan). */
#define WINO_ROW (4 * WINO_LANES + 8) /* 16 tiles of a row: 4 x 16 + 2 columns, rounded */
enum {
    WINO_W_ZEROS = 0,                                   /* [ROW] zeros */
    WINO_W_ROWS = WINO_W_ZEROS + WINO_ROW,              /* [6][ROW] B^T d, tiles interleaved */
    WINO_W_LANES = WINO_W_ROWS + WINO_A * WINO_ROW,     /* [6][6][16] B^T d, lane-major */
    WINO_W_V = WINO_W_LANES + WINO_X * WINO_LANES,      /* [36][16] B^T d B, lane-major */
    WINO_W_S = WINO_W_V + WINO_X * WINO_LANES,          /* [4][6][16] A^T m */
    WINO_W_O = WINO_W_S + 4 * WINO_A * WINO_LANES,      /* [4][4][16] A^T m A */
    WINO_W_OUT = WINO_W_O + 16 * WINO_LANES,            /* [4][64] output rows, interleaved */
    WINO_W_TAPS = WINO_W_OUT + 4 * 4 * WINO_LANES,      /* [9][CW * MR] weights by tap */
    WINO_W_U = WINO_W_TAPS + 9 * SIEVE_GEMM_MR * WINO_CW,   /* [36][CW * MR] */
    WINO_WORK_FLOATS = WINO_W_U + WINO_X * SIEVE_GEMM_MR * WINO_CW,
};

static void wino_make_plan(const sieve_winograd_conv *g, wino_plan *p)
{
    p->tw = ceil_div(g->ow, WINO_M);
    p->th = ceil_div(g->oh, WINO_M);
    p->tiles = p->tw * p->th;
    p->lanes = SIEVE_MIN((size_t)WINO_TB, round_up(p->tiles, WINO_LANES));
    p->n_tb = ceil_div(p->tiles, WINO_TB);
    size_t mr = SIEVE_GEMM_MR;
    /* output channels per block: as many as WINO_U_BYTES holds, in even blocks */
    size_t fit = WINO_U_BYTES / sizeof(float) / (WINO_X * g->c);
    fit = SIEVE_MAX(fit / mr * mr, mr);
    size_t n_kb = ceil_div(g->m, fit);
    p->kb = round_up(ceil_div(g->m, n_kb), mr);
    p->kt_max = SIEVE_MIN((size_t)WINO_KT, p->kb);
    p->kcw = SIEVE_MIN((size_t)WINO_KCW, g->c);
    p->v_floats = sieve_op_slice_floats(WINO_X * (p->kcw * p->lanes + WINO_XI_PAD));
    p->m_floats = sieve_op_slice_floats(WINO_X * (p->kt_max * p->lanes + WINO_XI_PAD));
    p->work_floats = sieve_op_slice_floats(WINO_WORK_FLOATS) + sieve_op_slice_floats(mr * 9 * g->c);
    p->slice = p->v_floats + p->m_floats + p->work_floats;
    p->u_floats = sieve_op_slice_floats(WINO_X * (p->kb * g->c + WINO_XI_PAD));
}

/* Tiles past the output's edge are computed and dropped: where less than
 * three quarters of the tiles' outputs are real, the GEMM (with its table
 * im2col) wins. 13 x 13 outputs fill 66 %: AlexNet's conv3-5 1.40 / 1.97 /
 * 1.19 ms by Winograd, 1.24 / 1.68 / 1.18 by the GEMM, one layer at a time;
 * after 256 MB of other reads (as in a whole run, behind its classifier),
 * 1.82 / 2.25 / 1.50 against 1.40 / 1.81 / 1.25, as Winograd's weights
 * transform writes four times the weights' bytes; SqueezeNet's 13 x 13
 * expand3x3 0.32 against 0.28 (0.53 against 0.33 cold). (13 x 13 and
 * 14 x 14 now also have too few tiles: WINO_MIN_TILES.) */
static bool wino_tiles_filled(const sieve_winograd_conv *g)
{
    size_t tiles = ceil_div(g->oh, WINO_M) * ceil_div(g->ow, WINO_M);
    return 4 * g->oh * g->ow >= 3 * tiles * WINO_M * WINO_M;
}

bool sieve_winograd_worthwhile(const sieve_winograd_conv *g)
{
    size_t tiles = ceil_div(g->oh, WINO_M) * ceil_div(g->ow, WINO_M);
    return g->c >= WINO_MIN_C && g->m >= WINO_MIN_M && tiles >= WINO_MIN_TILES &&
           wino_tiles_filled(g);
}

size_t sieve_winograd_scratch_floats(const sieve_winograd_conv *g, int threads)
{
    wino_plan p;
    wino_make_plan(g, &p);
    return p.u_floats + p.slice * (size_t)SIEVE_MAX(threads, 1);
}

/* ---- the three transforms (1-D, applied to rows then columns) ----------- */

/* B^T d for one column d0..d5 of a 6x6 patch. */
#define WINO_BT(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                 \
    do {                                                                                       \
        float a_ = (d4) - 4.0f * (d2), b_ = (d3) - 4.0f * (d1);                                \
        float c_ = (d4) - (d2), e_ = 2.0f * ((d3) - (d1));                                     \
        (o0) = 4.0f * (d0) - 5.0f * (d2) + (d4);                                               \
        (o1) = a_ + b_;                                                                        \
        (o2) = a_ - b_;                                                                        \
        (o3) = c_ + e_;                                                                        \
        (o4) = c_ - e_;                                                                        \
        (o5) = 4.0f * (d1) - 5.0f * (d3) + (d5);                                               \
    } while (0)

/* G g for one column g0..g2 of a 3x3 kernel. */
#define WINO_G(g0, g1, g2, o0, o1, o2, o3, o4, o5)                                              \
    do {                                                                                       \
        float s_ = (g0) + (g2), t_ = (g0) * (1.0f / 24.0f) + (g2) * (1.0f / 6.0f);             \
        (o0) = (g0) * 0.25f;                                                                   \
        (o1) = (s_ + (g1)) * (-1.0f / 6.0f);                                                   \
        (o2) = (s_ - (g1)) * (-1.0f / 6.0f);                                                   \
        (o3) = t_ + (g1) * (1.0f / 12.0f);                                                     \
        (o4) = t_ - (g1) * (1.0f / 12.0f);                                                     \
        (o5) = (g2);                                                                           \
    } while (0)

/* A^T m for one column m0..m5 of the 6x6 product. */
#define WINO_AT(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                         \
    do {                                                                                       \
        float p_ = (m1) + (m2), q_ = (m1) - (m2), r_ = (m3) + (m4), s_ = (m3) - (m4);          \
        (o0) = (m0) + p_ + r_;                                                                 \
        (o1) = q_ + 2.0f * s_;                                                                 \
        (o2) = p_ + 4.0f * r_;                                                                 \
        (o3) = q_ + 8.0f * s_ + (m5);                                                          \
    } while (0)

/* ---- shared run state ---------------------------------------------------- */

/* The tasks of one block of output channels: tile blocks (of one image)
 * x pieces of the channels, in one of three orders (wino_deal_tasks). */
typedef enum { WINO_BY_TILES, WINO_BY_PIECES, WINO_SPLIT_REST } wino_order;
typedef struct wino_deal {
    wino_order order;
    size_t kt, n_kt;   /* channels per piece, pieces per tile block */
    size_t threads;    /* WINO_SPLIT_REST: the threads it deals to */
    size_t whole;      /* WINO_SPLIT_REST: tile blocks dealt whole, the rest */
    size_t rest_kt;    /* cut into threads * n_kt pieces of rest_kt channels */
    size_t tasks;
} wino_deal;

typedef struct wino_run {
    const sieve_winograd_conv *g;
    wino_plan p;
    const float *x;
    const sieve_op_input *w;
    const float *bias;
    float *y;
    float *u;       /* transformed weights of the current block */
    float *slices;  /* per-thread slices */
    size_t k0, kn;  /* current block of output channels */
    size_t kbpad;   /* kn rounded up to MR */
    size_t u_stride; /* floats from one point xi of U to the next */
    wino_deal deal;  /* how this block of output channels is cut into tasks */
    sieve_gemm_tile_fn tile;
    sieve_gemm_micro_fn micro;
    /* optional: the output encoded into codes instead of written to y */
    const sieve_tile_encoder *enc;
    uint8_t *codes;
    bool *bad; /* per thread: a value could not be encoded */
} wino_run;

/* Runs of tiles of one panel that share a tile row. */
typedef struct wino_segment {
    size_t ty, tx, lane, len;
} wino_segment;

static size_t wino_segments(const wino_plan *p, size_t j0, size_t count, wino_segment *seg)
{
    size_t n = 0;
    for (size_t l = 0; l < count;) {
        size_t j = j0 + l, ty = j / p->tw, tx = j % p->tw;
        size_t len = SIEVE_MIN(count - l, p->tw - tx);
        seg[n++] = (wino_segment){ty, tx, l, len};
        l += len;
    }
    return n;
}

/* ---- weight transform ---------------------------------------------------- */

/* U for A panels [begin, end) of the current block: rows k0 + 6 * panel + r.
 * Layout per point xi, as the SGEMM tile kernel reads A: per block of kcw
 * input channels, per panel, [channel][MR]. */
WINO_INLINE void wino_weights_body(const wino_run *r, size_t begin, size_t end, float *work)
{
    const sieve_winograd_conv *g = r->g;
    const size_t mr = SIEVE_GEMM_MR, c_all = g->c, kcw = r->p.kcw;
    float *taps = work + WINO_W_TAPS, *out = work + WINO_W_U;
    float *decoded = work + sieve_op_slice_floats(WINO_WORK_FLOATS); /* [MR][C * 9] */
    for (size_t panel = begin; panel < end; panel++) {
        size_t rows = SIEVE_MIN(mr, r->kn - panel * mr);
        /* the panel's weight rows, fp32 in place or decoded whole (one
         * call per row: decoding is cheap in bulk, not in 144-value bits) */
        const float *src[SIEVE_GEMM_MR] = {NULL};
        for (size_t q = 0; q < rows; q++) {
            size_t first = (r->k0 + panel * mr + q) * c_all * 9;
            if (r->w->f32) {
                src[q] = r->w->f32 + first;
            } else {
                sieve_op_input_load(r->w, first, c_all * 9, decoded + q * c_all * 9);
                src[q] = decoded + q * c_all * 9;
            }
        }
        for (size_t c0 = 0; c0 < c_all; c0 += WINO_CW) {
            size_t cw = SIEVE_MIN((size_t)WINO_CW, c_all - c0);
            size_t n = cw * mr;
            for (size_t l = 0; l < cw; l++)
                for (size_t q = 0; q < mr; q++)
                    for (size_t t = 0; t < 9; t++)
                        taps[t * WINO_CW * SIEVE_GEMM_MR + l * mr + q] =
                            q < rows ? src[q][(c0 + l) * 9 + t] : 0.0f;
            size_t cb = c0 / kcw, cc = c0 % kcw, kc = SIEVE_MIN(kcw, c_all - cb * kcw);
            const float *restrict tp = taps;
            float *restrict ut = out; /* [36][CW * MR]: contiguous, so the loop vectorizes */
            const size_t s = WINO_CW * SIEVE_GEMM_MR;
            for (size_t i = 0; i < n; i++) {
                float t[3][WINO_A]; /* G g: t[kx][b] */
                for (int kx = 0; kx < 3; kx++)
                    WINO_G(tp[(0 + kx) * s + i], tp[(3 + kx) * s + i], tp[(6 + kx) * s + i],
                           t[kx][0], t[kx][1], t[kx][2], t[kx][3], t[kx][4], t[kx][5]);
                for (int b = 0; b < WINO_A; b++)
                    WINO_G(t[0][b], t[1][b], t[2][b], ut[(b * WINO_A + 0) * s + i],
                           ut[(b * WINO_A + 1) * s + i], ut[(b * WINO_A + 2) * s + i],
                           ut[(b * WINO_A + 3) * s + i], ut[(b * WINO_A + 4) * s + i],
                           ut[(b * WINO_A + 5) * s + i]);
            }
            float *u0 = r->u + cb * kcw * r->kbpad + panel * kc * mr + cc * mr;
            /* a constant size for whole steps: gcc expands a variable one
             * into rep movsq, which costs more than the transform */
            if (n == s)
                for (size_t xi = 0; xi < WINO_X; xi++)
                    memcpy(u0 + xi * r->u_stride, ut + xi * s, s * sizeof(float));
            else
                for (size_t xi = 0; xi < WINO_X; xi++)
                    memcpy(u0 + xi * r->u_stride, ut + xi * s, n * sizeof(float));
        }
    }
}

/* ---- 4 x 16 transposes between tile-interleaved rows and lanes -------- */

/* lanes[q][l] = rows[4 l + q] for q < 4, l < 16. */
static void wino_deinterleave_portable(const float *rows, float lanes[4][WINO_LANES])
{
    for (int l = 0; l < WINO_LANES; l++)
        for (int q = 0; q < 4; q++)
            lanes[q][l] = rows[4 * l + q];
}

/* rows[4 l + j] = lanes[j][l] for j < 4, l < 16. */
static void wino_interleave_portable(const float lanes[4][WINO_LANES], float *rows)
{
    for (int l = 0; l < WINO_LANES; l++)
        for (int j = 0; j < 4; j++)
            rows[4 * l + j] = lanes[j][l];
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WINO_X86 1
#include <immintrin.h>

_Static_assert(WINO_LANES == 16, "one AVX-512 register of tiles");

__attribute__((target("avx512f"))) static void wino_deinterleave_avx512(const float *rows,
                                                                        float lanes[4][WINO_LANES])
{
    __m512 a = _mm512_loadu_ps(rows), b = _mm512_loadu_ps(rows + 16);
    __m512 c = _mm512_loadu_ps(rows + 32), d = _mm512_loadu_ps(rows + 48);
    for (int q = 0; q < 4; q++) {
        /* element q of each group of 4: 8 from (a, b), 8 from (c, d) */
        __m512i idx = _mm512_add_epi32(
            _mm512_set_epi32(28, 24, 20, 16, 12, 8, 4, 0, 28, 24, 20, 16, 12, 8, 4, 0),
            _mm512_set1_epi32(q));
        __m512 lo = _mm512_permutex2var_ps(a, idx, b), hi = _mm512_permutex2var_ps(c, idx, d);
        _mm512_storeu_ps(lanes[q], _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(1, 0, 1, 0)));
    }
}

__attribute__((target("avx512f"))) static void wino_interleave_avx512(
    const float lanes[4][WINO_LANES], float *rows)
{
    __m512 l0 = _mm512_loadu_ps(lanes[0]), l1 = _mm512_loadu_ps(lanes[1]);
    __m512 l2 = _mm512_loadu_ps(lanes[2]), l3 = _mm512_loadu_ps(lanes[3]);
    __m512 t01lo = _mm512_unpacklo_ps(l0, l1), t01hi = _mm512_unpackhi_ps(l0, l1);
    __m512 t23lo = _mm512_unpacklo_ps(l2, l3), t23hi = _mm512_unpackhi_ps(l2, l3);
    /* u_m, 128-bit block k: the 4 values of tile 4 k + m */
    __m512 u0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t01lo), _mm512_castps_pd(t23lo)));
    __m512 u1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t01lo), _mm512_castps_pd(t23lo)));
    __m512 u2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t01hi), _mm512_castps_pd(t23hi)));
    __m512 u3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t01hi), _mm512_castps_pd(t23hi)));
    __m512 v01lo = _mm512_shuffle_f32x4(u0, u1, 0x44), v23lo = _mm512_shuffle_f32x4(u2, u3, 0x44);
    __m512 v01hi = _mm512_shuffle_f32x4(u0, u1, 0xEE), v23hi = _mm512_shuffle_f32x4(u2, u3, 0xEE);
    _mm512_storeu_ps(rows, _mm512_shuffle_f32x4(v01lo, v23lo, 0x88));
    _mm512_storeu_ps(rows + 16, _mm512_shuffle_f32x4(v01lo, v23lo, 0xDD));
    _mm512_storeu_ps(rows + 32, _mm512_shuffle_f32x4(v01hi, v23hi, 0x88));
    _mm512_storeu_ps(rows + 48, _mm512_shuffle_f32x4(v01hi, v23hi, 0xDD));
}
#endif

/* The instruction set an instance of the bodies below is compiled for. */
enum { WINO_ISA_PORTABLE, WINO_ISA_AVX2, WINO_ISA_AVX512 };

WINO_INLINE void wino_deinterleave(int isa, const float *rows, float lanes[4][WINO_LANES])
{
#ifdef WINO_X86
    if (isa == WINO_ISA_AVX512) {
        wino_deinterleave_avx512(rows, lanes);
        return;
    }
#endif
    (void)isa;
    wino_deinterleave_portable(rows, lanes);
}

WINO_INLINE void wino_interleave(int isa, const float lanes[4][WINO_LANES], float *rows)
{
#ifdef WINO_X86
    if (isa == WINO_ISA_AVX512) {
        wino_interleave_avx512(lanes, rows);
        return;
    }
#endif
    (void)isa;
    wino_interleave_portable(lanes, rows);
}

/* ---- input transform ----------------------------------------------------- */

/* V for input channels c0..c0+kc of tiles j0..j0+count of image x: per
 * point xi, `lanes` columns in panels of 16, [channel][16] (the SGEMM B
 * panel layout with k = channel). Per panel of 16 tiles and channel:
 * B^T down the columns of each run of tiles on one tile row, straight from
 * the input rows into tile-interleaved rows (4 columns per tile, and the 2
 * columns shared with the next tile); a transpose to lanes; B along the
 * rows, over 16 lanes at a time. */
WINO_INLINE void wino_input_body(int isa, const wino_run *r, const float *x, size_t j0,
                                 size_t count, size_t c0, size_t kc, float *v, float *work)
{
    const sieve_winograd_conv *g = r->g;
    const wino_plan *p = &r->p;
    const float *zeros = work + WINO_W_ZEROS;
    float *rows = work + WINO_W_ROWS;
    float(*lanes)[WINO_A][WINO_LANES] = (float(*)[WINO_A][WINO_LANES])(work + WINO_W_LANES);
    const ptrdiff_t ih = (ptrdiff_t)g->h, iw = (ptrdiff_t)g->w;
    size_t panel_floats = kc * WINO_LANES, v_stride = kc * p->lanes + WINO_XI_PAD;
    memset(work + WINO_W_ZEROS, 0, WINO_ROW * sizeof(float));
    for (size_t q = 0; q * WINO_LANES < count; q++) {
        size_t pj = j0 + q * WINO_LANES;
        size_t pcount = SIEVE_MIN((size_t)WINO_LANES, count - q * WINO_LANES);
        wino_segment seg[WINO_LANES];
        size_t n_seg = wino_segments(p, pj, pcount, seg);
        /* lanes past pcount read zeros (or a last tile's edge): finite */
        memset(rows, 0, WINO_A * WINO_ROW * sizeof(float));
        for (size_t cc = 0; cc < kc; cc++) {
            const float *xc = x + (c0 + cc) * g->h * g->w;
            float halo[WINO_LANES][WINO_A][2]; /* columns 4, 5 of a run's last tile */
            for (size_t s = 0; s < n_seg; s++) {
                size_t width = 4 * seg[s].len + 2, at = 4 * seg[s].lane;
                ptrdiff_t ix0 = (ptrdiff_t)(4 * seg[s].tx) - g->pl;
                ptrdiff_t lo = SIEVE_MIN(SIEVE_MAX(-ix0, (ptrdiff_t)0), (ptrdiff_t)width);
                ptrdiff_t hi = SIEVE_MAX(SIEVE_MIN((ptrdiff_t)width, iw - ix0), lo);
                const float *src[WINO_A]; /* input row a from column ix0 + lo on, or zeros */
                for (int a = 0; a < WINO_A; a++) {
                    ptrdiff_t iy = (ptrdiff_t)(4 * seg[s].ty) - g->pt + a;
                    src[a] = iy < 0 || iy >= ih || hi == lo ? zeros : xc + iy * iw + (ix0 + lo);
                }
                for (int b = 0; b < WINO_A; b++) {
                    float *o = rows + b * WINO_ROW + at;
                    for (ptrdiff_t i = 0; i < lo; i++)
                        o[i] = 0.0f;
                    for (ptrdiff_t i = hi; i < (ptrdiff_t)width; i++)
                        o[i] = 0.0f;
                }
                const float *restrict d0 = src[0], *restrict d1 = src[1], *restrict d2 = src[2],
                                      *restrict d3 = src[3], *restrict d4 = src[4],
                                      *restrict d5 = src[5];
                float *restrict o0 = rows + at + lo, *restrict o1 = o0 + WINO_ROW,
                                *restrict o2 = o0 + 2 * WINO_ROW, *restrict o3 = o0 + 3 * WINO_ROW,
                                *restrict o4 = o0 + 4 * WINO_ROW, *restrict o5 = o0 + 5 * WINO_ROW;
                for (ptrdiff_t i = 0; i < hi - lo; i++)
                    WINO_BT(d0[i], d1[i], d2[i], d3[i], d4[i], d5[i], o0[i], o1[i], o2[i], o3[i],
                            o4[i], o5[i]);
                /* the next run overwrites columns 4, 5 of this run's last tile */
                for (int b = 0; b < WINO_A; b++) {
                    halo[s][b][0] = rows[b * WINO_ROW + at + width - 2];
                    halo[s][b][1] = rows[b * WINO_ROW + at + width - 1];
                }
            }
            float tmp[4][WINO_LANES];
            for (int b = 0; b < WINO_A; b++) {
                wino_deinterleave(isa, rows + b * WINO_ROW, (float(*)[WINO_LANES])lanes[b]);
                wino_deinterleave(isa, rows + b * WINO_ROW + 4, tmp);
                memcpy(lanes[b][4], tmp[0], sizeof(tmp[0]));
                memcpy(lanes[b][5], tmp[1], sizeof(tmp[1]));
                for (size_t s = 0; s < n_seg; s++) {
                    size_t last = seg[s].lane + seg[s].len - 1;
                    lanes[b][4][last] = halo[s][b][0];
                    lanes[b][5][last] = halo[s][b][1];
                }
            }
            /* B along the rows into a fixed block (the compiler then sees six
             * distinct outputs and vectorizes), copied out as B panel rows */
            float(*vt)[WINO_LANES] = (float(*)[WINO_LANES])(work + WINO_W_V);
            for (int b = 0; b < WINO_A; b++) {
                const float *restrict l0 = lanes[b][0], *restrict l1 = lanes[b][1],
                                      *restrict l2 = lanes[b][2], *restrict l3 = lanes[b][3],
                                      *restrict l4 = lanes[b][4], *restrict l5 = lanes[b][5];
                float *restrict v0 = vt[b * WINO_A], *restrict v1 = vt[b * WINO_A + 1],
                                *restrict v2 = vt[b * WINO_A + 2], *restrict v3 = vt[b * WINO_A + 3],
                                *restrict v4 = vt[b * WINO_A + 4], *restrict v5 = vt[b * WINO_A + 5];
                for (size_t t = 0; t < WINO_LANES; t++)
                    WINO_BT(l0[t], l1[t], l2[t], l3[t], l4[t], l5[t], v0[t], v1[t], v2[t], v3[t],
                            v4[t], v5[t]);
            }
            float *vq = v + q * panel_floats + cc * WINO_LANES;
            for (size_t xi = 0; xi < WINO_X; xi++)
                memcpy(vq + xi * v_stride, vt[xi], sizeof(vt[xi]));
        }
    }
}

/* ---- output transform ---------------------------------------------------- */

/* Y = A^T M A (+ bias, ReLU) for output channels k0..k0+kn of tiles
 * j0..j0+count of image y, from M[xi][k][lanes]: A^T down the columns and
 * along the rows over 16 lanes at a time, a transpose to tile-interleaved
 * rows, copies of the runs into the output rows. */
WINO_INLINE void wino_output_body(int isa, const wino_run *r, float *y, size_t y_first,
                                  size_t j0, size_t count, size_t k0, size_t kn, size_t kpad,
                                  const float *m, float *work, bool *bad)
{
    const sieve_winograd_conv *g = r->g;
    const wino_plan *p = &r->p;
    float(*sm)[WINO_A][WINO_LANES] = (float(*)[WINO_A][WINO_LANES])(work + WINO_W_S);
    float(*om)[4][WINO_LANES] = (float(*)[4][WINO_LANES])(work + WINO_W_O);
    float *out = work + WINO_W_OUT; /* [4][4 * LANES] */
    size_t xi_stride = kpad * p->lanes + WINO_XI_PAD;
    for (size_t q = 0; q * WINO_LANES < count; q++) {
        size_t pj = j0 + q * WINO_LANES;
        size_t pcount = SIEVE_MIN((size_t)WINO_LANES, count - q * WINO_LANES);
        wino_segment seg[WINO_LANES];
        size_t n_seg = wino_segments(p, pj, pcount, seg);
        for (size_t kk = 0; kk < kn; kk++) {
            size_t k = k0 + kk;
            const float bias = r->bias ? r->bias[k] : 0.0f;
            const float *mk = m + kk * p->lanes + q * WINO_LANES;
            for (int a = 0; a < WINO_A; a++) {
                const float *restrict m0 = mk + (size_t)a * xi_stride;
                const float *restrict m1 = m0 + WINO_A * xi_stride, *restrict m2 = m0 + 2 * WINO_A * xi_stride,
                                      *restrict m3 = m0 + 3 * WINO_A * xi_stride,
                                      *restrict m4 = m0 + 4 * WINO_A * xi_stride,
                                      *restrict m5 = m0 + 5 * WINO_A * xi_stride;
                float *restrict s0 = sm[0][a], *restrict s1 = sm[1][a], *restrict s2 = sm[2][a],
                                *restrict s3 = sm[3][a];
                for (size_t t = 0; t < WINO_LANES; t++)
                    WINO_AT(m0[t], m1[t], m2[t], m3[t], m4[t], m5[t], s0[t], s1[t], s2[t], s3[t]);
            }
            for (int i = 0; i < 4; i++) {
                float *restrict o0 = om[i][0], *restrict o1 = om[i][1], *restrict o2 = om[i][2],
                                *restrict o3 = om[i][3];
                const float *restrict s0 = sm[i][0], *restrict s1 = sm[i][1], *restrict s2 = sm[i][2],
                                      *restrict s3 = sm[i][3], *restrict s4 = sm[i][4],
                                      *restrict s5 = sm[i][5];
                for (size_t t = 0; t < WINO_LANES; t++) {
                    WINO_AT(s0[t], s1[t], s2[t], s3[t], s4[t], s5[t], o0[t], o1[t], o2[t], o3[t]);
                    o0[t] += bias, o1[t] += bias, o2[t] += bias, o3[t] += bias;
                }
                if (g->relu)
                    for (int j = 0; j < 4; j++)
                        for (size_t t = 0; t < WINO_LANES; t++)
                            om[i][j][t] = om[i][j][t] > 0.0f ? om[i][j][t] : 0.0f;
                wino_interleave(isa, (const float(*)[WINO_LANES])om[i], out + i * 4 * WINO_LANES);
            }
            float *yk = y + k * g->oh * g->ow;
            for (size_t s = 0; s < n_seg; s++) {
                size_t ncol = SIEVE_MIN(4 * seg[s].len, g->ow - 4 * seg[s].tx);
                if (r->enc) {
                    /* the segment's rows as codes, while they are in L1 */
                    size_t rows = SIEVE_MIN((size_t)4, g->oh - 4 * seg[s].ty);
                    size_t first = y_first + k * g->oh * g->ow + 4 * seg[s].ty * g->ow +
                                   4 * seg[s].tx;
                    for (size_t j = 0; j < ncol; j += SIEVE_TILE_ENCODE_COLS)
                        if (!sieve_tile_encode(r->enc, out + 4 * seg[s].lane + j,
                                               4 * WINO_LANES, rows,
                                               SIEVE_MIN((size_t)SIEVE_TILE_ENCODE_COLS, ncol - j),
                                               r->codes, first + j, g->ow, false))
                            *bad = true;
                    continue;
                }
                for (size_t i = 0; i < 4; i++) {
                    size_t oy = 4 * seg[s].ty + i;
                    if (oy >= g->oh)
                        break;
                    memcpy(yk + oy * g->ow + 4 * seg[s].tx, out + i * 4 * WINO_LANES + 4 * seg[s].lane,
                           ncol * sizeof(float));
                }
            }
        }
    }
}

/* ---- one task: a tile block of one image x some output channels -------- */

/* Task t's tile block (image * n_tb + block) and its output channels
 * [*k0, *k0 + *kn) within the current block of them (*kn 0: none). */
static void wino_task(const wino_run *r, const wino_deal *d, size_t t, size_t *block, size_t *k0,
                      size_t *kn)
{
    const size_t blocks = r->g->batch * r->p.n_tb;
    size_t piece, kt = d->kt;
    if (d->order == WINO_BY_TILES) {
        *block = t / d->n_kt;
        piece = t % d->n_kt;
    } else if (d->order == WINO_BY_PIECES) {
        *block = t % blocks;
        piece = t / blocks;
    } else {
        /* each thread: whole / threads blocks whole, then its n_kt pieces
         * of every remaining block */
        const size_t per = d->whole / d->threads, per_thread = d->tasks / d->threads;
        const size_t part = t / per_thread, i = t % per_thread;
        if (i < per * d->n_kt) {
            *block = part * per + i / d->n_kt;
            piece = i % d->n_kt;
        } else {
            *block = d->whole + (i - per * d->n_kt) / d->n_kt;
            piece = part * d->n_kt + (i - per * d->n_kt) % d->n_kt;
            kt = d->rest_kt;
        }
    }
    *k0 = piece * kt;
    *kn = *k0 < r->kn ? SIEVE_MIN(kt, r->kn - *k0) : 0;
}

/* The busiest thread's work when sieve_parallel_for deals d's tasks, in
 * cycles of a model fitted to the three phases of ResNet-18's 56x56x64
 * layer (AVX-512, per tile): the input transform about 34 per input
 * channel, the products 0.93 per input x output channel, the output
 * transform 21 per output channel. */
static double wino_busiest(const wino_run *r, const wino_deal *d, size_t threads)
{
    const size_t parts = SIEVE_MIN(d->tasks, threads);
    const double c = (double)r->g->c;
    double most = 0;
    for (size_t part = 0; part < parts; part++) {
        size_t begin, end;
        double work = 0;
        sieve_parallel_part(d->tasks, (unsigned)parts, (unsigned)part, &begin, &end);
        for (size_t t = begin; t < end; t++) {
            size_t block, k0, kn;
            wino_task(r, d, t, &block, &k0, &kn);
            size_t tb = block % r->p.n_tb;
            double tiles = (double)SIEVE_MIN((size_t)WINO_TB, r->p.tiles - tb * WINO_TB);
            work += kn ? tiles * (34.0 * c + 0.93 * c * (double)kn + 21.0 * (double)kn) : 0;
        }
        most = work > most ? work : most;
    }
    return most;
}

static wino_deal wino_deal_of(const wino_run *r, wino_order order, size_t n_kt, size_t threads)
{
    const size_t mr = SIEVE_GEMM_MR, blocks = r->g->batch * r->p.n_tb;
    wino_deal d = {order, round_up(ceil_div(r->kn, n_kt), mr), 0, threads, 0, 0, 0};
    d.n_kt = ceil_div(r->kn, d.kt);
    d.tasks = blocks * d.n_kt;
    if (order == WINO_SPLIT_REST) {
        d.whole = blocks - blocks % threads;
        d.rest_kt = round_up(ceil_div(r->kn, threads * d.n_kt), mr);
        d.tasks = threads * (d.whole / threads + blocks % threads) * d.n_kt;
    }
    return d;
}

/* Cuts the current block of output channels into tasks: pieces of at
 * most kt_max channels (M's scratch), then whichever of these leaves the
 * busiest thread the least work (ties to the first):
 *   by tile blocks, each block's pieces in a row (a thread takes whole
 *     blocks: each block's input transformed once per piece);
 *   by pieces (a thread takes some channels of every block, and reads
 *     only their transformed weights: ResNet-18's 28x28 layers, blocks of
 *     32 and 17 tiles, put 65 % of the work on one thread by blocks);
 *   both with threads times as many pieces, for few tile blocks;
 *   whole blocks evenly, the blocks left over cut into threads times as
 *     many pieces (56x56: 7 blocks, 3 each and a seventh of 4 tiles in
 *     halves, where more pieces everywhere transform every input twice). */
static wino_deal wino_deal_tasks(const wino_run *r, size_t threads)
{
    const size_t n_kt = ceil_div(r->kn, r->p.kt_max), panels = r->kbpad / SIEVE_GEMM_MR;
    wino_deal best = wino_deal_of(r, WINO_BY_TILES, n_kt, 1);
    if (threads < 2)
        return best;
    const size_t more = SIEVE_MIN(n_kt * threads, panels);
    const wino_deal options[] = {
        wino_deal_of(r, WINO_BY_PIECES, n_kt, threads),
        wino_deal_of(r, WINO_BY_TILES, more, threads),
        wino_deal_of(r, WINO_BY_PIECES, more, threads),
        wino_deal_of(r, WINO_SPLIT_REST, n_kt, threads),
    };
    double least = wino_busiest(r, &best, threads);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        double work = wino_busiest(r, &options[i], threads);
        if (work < least) {
            least = work;
            best = options[i];
        }
    }
    return best;
}

WINO_INLINE void wino_tiles_body(int isa, const wino_run *r, size_t task, float *slice)
{
    const sieve_winograd_conv *g = r->g;
    const wino_plan *p = &r->p;
    const size_t mr = SIEVE_GEMM_MR;
    size_t block, kb0, kn; /* kb0: within the block of output channels */
    wino_task(r, &r->deal, task, &block, &kb0, &kn);
    if (!kn)
        return;
    size_t n = block / p->n_tb, tb = block % p->n_tb;
    size_t j0 = tb * WINO_TB, count = SIEVE_MIN((size_t)WINO_TB, p->tiles - j0);
    size_t kpad = round_up(kn, mr);
    size_t cols = round_up(count, WINO_LANES);
    float *v = slice, *m = slice + p->v_floats, *work = m + p->m_floats;
    const float *x = r->x + n * g->c * g->h * g->w;
    for (size_t c0 = 0; c0 < g->c; c0 += p->kcw) {
        size_t kc = SIEVE_MIN(p->kcw, g->c - c0);
        wino_input_body(isa, r, x, j0, count, c0, kc, v, work);
        sieve_gemm_tile t = {.kc = kc, .rs = (ptrdiff_t)p->lanes, .from_c = c0 > 0};
        for (size_t xi = 0; xi < WINO_X; xi++) {
            const float *u = r->u + xi * r->u_stride + c0 * r->kbpad + kb0 * kc;
            const float *vx = v + xi * (kc * p->lanes + WINO_XI_PAD);
            float *mx = m + xi * (kpad * p->lanes + WINO_XI_PAD);
            for (size_t i = 0; i < kn; i += mr) {
                t.a = u + i * kc;
                t.mr = SIEVE_MIN(mr, kn - i);
                for (size_t j = 0; j < cols; j += 2 * WINO_LANES) {
                    t.b = vx + j * kc;
                    t.c = mx + i * p->lanes + j;
                    t.nr = SIEVE_MIN((size_t)2 * WINO_LANES, cols - j);
                    if (r->tile)
                        r->tile(&t);
                    else
                        sieve_gemm_tile_ref(&t, r->micro);
                }
            }
        }
    }
    size_t y_first = n * g->m * g->oh * g->ow;
    bool *bad = r->bad ? r->bad + (size_t)(slice - r->slices) / p->slice : NULL;
    wino_output_body(isa, r, r->y + y_first, y_first, j0, count, r->k0 + kb0, kn, kpad, m, work,
                     bad);
}

/* ---- instances per instruction set --------------------------------------- */

typedef void (*wino_weights_fn)(const wino_run *r, size_t begin, size_t end, float *work);
typedef void (*wino_tiles_fn)(const wino_run *r, size_t task, float *slice);

static void wino_weights_portable(const wino_run *r, size_t begin, size_t end, float *work)
{
    wino_weights_body(r, begin, end, work);
}

static void wino_tiles_portable(const wino_run *r, size_t task, float *slice)
{
    wino_tiles_body(WINO_ISA_PORTABLE, r, task, slice);
}

#ifdef WINO_X86
__attribute__((target("avx512f"))) static void wino_weights_avx512(const wino_run *r,
                                                                   size_t begin, size_t end,
                                                                   float *work)
{
    wino_weights_body(r, begin, end, work);
}

__attribute__((target("avx512f"))) static void wino_tiles_avx512(const wino_run *r, size_t task,
                                                                 float *slice)
{
    wino_tiles_body(WINO_ISA_AVX512, r, task, slice);
}

__attribute__((target("avx2,fma"))) static void wino_weights_avx2(const wino_run *r, size_t begin,
                                                                  size_t end, float *work)
{
    wino_weights_body(r, begin, end, work);
}

__attribute__((target("avx2,fma"))) static void wino_tiles_avx2(const wino_run *r, size_t task,
                                                                float *slice)
{
    wino_tiles_body(WINO_ISA_AVX2, r, task, slice);
}
#endif

typedef struct wino_job {
    wino_run *r;
    wino_weights_fn weights;
    wino_tiles_fn tiles;
} wino_job;

static void wino_weights_range(void *arg, size_t begin, size_t end, int thread)
{
    const wino_job *job = arg;
    float *slice = job->r->slices + (size_t)thread * job->r->p.slice;
    job->weights(job->r, begin, end, slice + job->r->p.v_floats + job->r->p.m_floats);
}

static void wino_tiles_range(void *arg, size_t begin, size_t end, int thread)
{
    const wino_job *job = arg;
    float *slice = job->r->slices + (size_t)thread * job->r->p.slice;
    for (size_t t = begin; t < end; t++)
        job->tiles(job->r, t, slice);
}

bool sieve_winograd_run(const sieve_winograd_conv *g, const float *x, const sieve_op_input *w,
                        const float *bias, float *y, const sieve_op_env *env)
{
    return sieve_winograd_run_encoded(g, x, w, bias, y, NULL, NULL, env);
}

bool sieve_winograd_run_encoded(const sieve_winograd_conv *g, const float *x,
                                const sieve_op_input *w, const float *bias, float *y,
                                const sieve_tile_encoder *enc, uint8_t *codes,
                                const sieve_op_env *env)
{
    wino_run r;
    memset(&r, 0, sizeof(r));
    r.g = g;
    wino_make_plan(g, &r.p);
    if (!env->scratch || env->scratch_floats < r.p.u_floats + r.p.slice)
        return false;
    sieve_pool *pool = env->pool;
    int threads = sieve_pool_threads(pool);
    if (env->scratch_floats < r.p.u_floats + r.p.slice * (size_t)threads) {
        pool = NULL;
        threads = 1;
    }
    bool bad[64] = {false};
    if (enc) {
        /* 4-bit rows of odd width share bytes across segments (and
         * threads); their nibble merges made the fused encode no faster
         * than the executor's pass (SqueezeNet cf4) */
        if (threads > (int)(sizeof(bad) / sizeof(bad[0])) || (enc->width == 4 && g->ow % 2))
            return false;
        r.enc = enc;
        r.codes = codes;
        r.bad = bad;
    }
    r.x = x;
    r.w = w;
    r.bias = bias;
    r.y = y;
    r.u = env->scratch;
    r.slices = env->scratch + r.p.u_floats;
    r.tile = sieve_gemm_tile_kernel(NULL);
    const char *name;
    sieve_gemm_micro_kernels(&name, &r.micro, 1);

    wino_job job = {&r, wino_weights_portable, wino_tiles_portable};
#ifdef WINO_X86
    if (__builtin_cpu_supports("avx512f")) {
        job.weights = wino_weights_avx512;
        job.tiles = wino_tiles_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        job.weights = wino_weights_avx2;
        job.tiles = wino_tiles_avx2;
    }
#endif
    const size_t mr = SIEVE_GEMM_MR;
    for (r.k0 = 0; r.k0 < g->m; r.k0 += r.p.kb) {
        r.kn = SIEVE_MIN(r.p.kb, g->m - r.k0);
        r.kbpad = round_up(r.kn, mr);
        r.u_stride = r.kbpad * g->c + WINO_XI_PAD;
        size_t panels = r.kbpad / mr;
        sieve_parallel_for(pool, panels, wino_weights_range, &job);
        r.deal = wino_deal_tasks(&r, (size_t)threads);
        sieve_parallel_for(pool, r.deal.tasks, wino_tiles_range, &job);
    }
    for (int t = 0; t < threads; t++)
        if (bad[t])
            return false;
    return true;
}
