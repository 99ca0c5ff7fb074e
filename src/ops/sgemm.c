/* libsieve — blocked single-precision GEMM core shared by conv, gemm and
 * matmul.
 *
 * Loop nest (GotoBLAS order, restricted to one task's rows and columns):
 *   for each MC block of rows:
 *     for each KC block of k:     pack A block  [mc x kc]  (decode weights)
 *       for each NC block of columns:
 *         pack B block [kc x nc]  (im2col)
 *         for each MR rows, for each NR (or 2 NR) columns: micro-kernel
 * The A block is packed once per k block and kept while every column block
 * goes by: weights stored in a custom float format are decoded once per
 * task instead of once per column block (13 times for a 56 x 56 image).
 * The portable micro-kernel is C that compilers vectorize along NR (SSE,
 * NEON): the accumulators are independent lanes, so no reassociation is
 * needed. x86-64 AVX2 and AVX-512 kernels with the same 6 x 16 contract are
 * picked at run time; another SIMD kernel (e.g. NEON intrinsics) drops into
 * sieve_gemm_micro_kernels without touching the packing or the drivers. */
#include <string.h>

#include "kernels.h"
#include "threads.h"

#define MR SIEVE_GEMM_MR
#define NR SIEVE_GEMM_NR
#define KC SIEVE_GEMM_KC
#define NC SIEVE_GEMM_NC
#define MC SIEVE_GEMM_MC

_Static_assert(NC % NR == 0, "a B block is whole panels");
_Static_assert(MC % MR == 0, "an A block is whole panels");

/* Fused multiply-add only where the hardware has it; fmaf() would be a slow
 * library call elsewhere. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#include <math.h>
#define SIEVE_MADD(a, b, c) fmaf((a), (b), (c))
#else
#define SIEVE_MADD(a, b, c) ((a) * (b) + (c))
#endif

/* GCC's loop vectorizer at -O3 turns this kernel into a shuffle storm (7x
 * slower than its SLP vectorizer alone at -O2, measured with gcc 12 on
 * x86-64 and the same for x86-64-v3/v4): keep the SLP one only, and unroll
 * the tile loops so the accumulators live in registers (on aarch64 they
 * otherwise stay in memory: 24 NEON accumulators fit its 32 registers).
 * Clang vectorizes the plain loops well and worse with the unroll hint. */
#if defined(__GNUC__) && !defined(__clang__)
#define SIEVE_MICRO_OPTIMIZE __attribute__((optimize("no-tree-loop-vectorize")))
#define SIEVE_UNROLL _Pragma("GCC unroll 16")
#else
#define SIEVE_MICRO_OPTIMIZE
#define SIEVE_UNROLL
#endif

typedef sieve_gemm_micro_fn micro_fn;

/* acc[r][j] = sum_k a[k * MR + r] * b[k * NR + j]: the portable kernel. */
SIEVE_MICRO_OPTIMIZE
static void sieve_gemm_micro(size_t kc, const float *restrict a, const float *restrict b,
                             float acc[restrict MR][NR])
{
    float t[MR][NR];
    SIEVE_UNROLL for (int r = 0; r < MR; r++)
        SIEVE_UNROLL for (int j = 0; j < NR; j++)
            t[r][j] = 0.0f;
    for (size_t k = 0; k < kc; k++) {
        const float *restrict bk = b + k * NR;
        const float *restrict ak = a + k * MR;
        SIEVE_UNROLL for (int r = 0; r < MR; r++) {
            float av = ak[r];
            SIEVE_UNROLL for (int j = 0; j < NR; j++)
                t[r][j] = SIEVE_MADD(av, bk[j], t[r][j]);
        }
    }
    memcpy(acc, t, sizeof(t));
}

/* Optional x86-64 kernels, compiled for their instruction set whatever the
 * build's baseline and chosen at run time from CPUID: the default build
 * targets plain x86-64 (SSE2), where the portable kernel is 4 lanes wide. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SIEVE_GEMM_X86 1
#include <immintrin.h>

_Static_assert(MR == 6 && NR == 16, "the x86 kernels hold a 6 x 16 tile");
#define TILE_PANELS SIEVE_GEMM_BF16_PANELS /* panels of the widest tile (bf16) */
_Static_assert(TILE_PANELS == 3, "the bf16 tile kernel holds 6 x 48");

__attribute__((target("avx512f"))) static void micro_avx512(size_t kc, const float *restrict a,
                                                            const float *restrict b,
                                                            float acc[restrict MR][NR])
{
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    for (size_t k = 0; k < kc; k++, a += MR, b += NR) {
        __m512 bv = _mm512_loadu_ps(b);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), bv, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), bv, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), bv, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), bv, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), bv, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), bv, c5);
    }
    _mm512_storeu_ps(acc[0], c0);
    _mm512_storeu_ps(acc[1], c1);
    _mm512_storeu_ps(acc[2], c2);
    _mm512_storeu_ps(acc[3], c3);
    _mm512_storeu_ps(acc[4], c4);
    _mm512_storeu_ps(acc[5], c5);
}

/* The end of a tile, for every AVX-512 tile kernel: acc[r][h] holds row
 * r's sums for columns h * NR.. (h < panels); C = acc + (from_c ? C :
 * bias[r] or 0), then ReLU, stored into C or encoded into the tile's
 * stream. */
__attribute__((target("avx512f"), always_inline)) static inline void
tile_store_avx512(const sieve_gemm_tile *t, __m512 acc[MR][TILE_PANELS], const int panels)
{
    const __m512 zero = _mm512_setzero_ps();
    size_t n0 = SIEVE_MIN(t->nr, (size_t)NR), n1 = SIEVE_MIN(t->nr - n0, (size_t)NR),
           n2 = t->nr - n0 - n1;
    __mmask16 m0 = (__mmask16)((1u << n0) - 1), m1 = (__mmask16)((1u << n1) - 1),
              m2 = (__mmask16)((1u << n2) - 1);
    /* encoded output: the final values staged in L1, then encoded */
    _Alignas(64) float stage[MR][TILE_PANELS * NR];
    for (size_t r = 0; r < t->mr; r++) {
        float *c = t->c + (ptrdiff_t)r * t->rs;
        __m512 base0, base1, base2;
        if (t->from_c) {
            base0 = _mm512_maskz_loadu_ps(m0, c);
            base1 = panels > 1 ? _mm512_maskz_loadu_ps(m1, c + NR) : zero;
            base2 = panels > 2 ? _mm512_maskz_loadu_ps(m2, c + 2 * NR) : zero;
        } else {
            base0 = base1 = base2 = t->bias ? _mm512_set1_ps(t->bias[r]) : zero;
        }
        __m512 v0 = _mm512_add_ps(acc[r][0], base0), v1 = _mm512_add_ps(acc[r][1], base1),
               v2 = panels > 2 ? _mm512_add_ps(acc[r][2], base2) : zero;
        if (t->relu) {
            v0 = _mm512_max_ps(v0, zero);
            v1 = _mm512_max_ps(v1, zero);
            v2 = _mm512_max_ps(v2, zero);
        }
        if (t->enc) {
            _mm512_store_ps(stage[r], v0);
            _mm512_store_ps(stage[r] + NR, v1);
            if (panels > 2)
                _mm512_store_ps(stage[r] + 2 * NR, v2);
            continue;
        }
        _mm512_mask_storeu_ps(c, m0, v0);
        if (panels > 1)
            _mm512_mask_storeu_ps(c + NR, m1, v1);
        if (panels > 2)
            _mm512_mask_storeu_ps(c + 2 * NR, m2, v2);
    }
    /* the encoder takes at most SIEVE_TILE_ENCODE_COLS columns per call */
    for (size_t j = 0; t->enc && j < t->nr; j += SIEVE_TILE_ENCODE_COLS)
        if (!sieve_tile_encode(t->enc, &stage[0][j], TILE_PANELS * NR, t->mr,
                               SIEVE_MIN((size_t)SIEVE_TILE_ENCODE_COLS, t->nr - j), t->codes,
                               t->code_first + j, (size_t)t->rs, t->shared_ends))
            *t->bad = true;
}

/* A 6 x 32 tile (two B panels: 12 accumulators cover the FMA latency of
 * two pipes, where 6 leave a quarter of the cycles idle) written straight
 * into C: the first k block starts from the bias (or C), the last applies
 * ReLU. Edge tiles store through masks; a tile of at most 16 columns reads
 * one panel only (the next one may not exist). */
#define TILE_ROW(r)                                                                            \
    av = codes ? _mm512_set1_ps(lut[q##r[k]])                                                  \
               : rows ? _mm512_set1_ps(a##r[k]) : _mm512_set1_ps(a[r]);                        \
    c##r##0 = _mm512_fmadd_ps(av, x0, c##r##0);                                                \
    if (two)                                                                                   \
        c##r##1 = _mm512_fmadd_ps(av, x1, c##r##1);

__attribute__((target("avx512f"), always_inline)) static inline void
tile_avx512_body(const sieve_gemm_tile *t, const bool two, const bool rows, const bool codes)
{
    const float *restrict a = t->a, *restrict b0 = t->b, *restrict b1 = t->b + t->kc * NR;
    /* row-major A: rows past mr read the last real row (never stored) */
    size_t last = t->mr > 0 ? t->mr - 1 : 0, lda = rows ? t->lda : 0;
    const float *restrict a0 = t->a, *restrict a1 = a0 + SIEVE_MIN((size_t)1, last) * lda,
                          *restrict a2 = a0 + SIEVE_MIN((size_t)2, last) * lda,
                          *restrict a3 = a0 + SIEVE_MIN((size_t)3, last) * lda,
                          *restrict a4 = a0 + SIEVE_MIN((size_t)4, last) * lda,
                          *restrict a5 = a0 + SIEVE_MIN((size_t)5, last) * lda;
    /* or 8-bit codes of row-major A, values lut[code]; without codes
     * a_codes is NULL, which no arithmetic may touch (not even + 0) */
    const float *restrict lut = t->lut;
#define CODE_ROW(r) (codes ? t->a_codes + SIEVE_MIN((size_t)(r), last) * lda : NULL)
    const uint8_t *restrict q0 = CODE_ROW(0), *restrict q1 = CODE_ROW(1), *restrict q2 = CODE_ROW(2),
                            *restrict q3 = CODE_ROW(3), *restrict q4 = CODE_ROW(4),
                            *restrict q5 = CODE_ROW(5);
#undef CODE_ROW
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (size_t k = 0; k < t->kc; k++, a += MR, b0 += NR, b1 += NR) {
        __m512 x0 = _mm512_loadu_ps(b0), x1 = two ? _mm512_loadu_ps(b1) : x0, av;
        TILE_ROW(0)
        TILE_ROW(1)
        TILE_ROW(2)
        TILE_ROW(3)
        TILE_ROW(4)
        TILE_ROW(5)
    }
    __m512 acc[MR][TILE_PANELS] = {{c00, c01, c00}, {c10, c11, c10}, {c20, c21, c20},
                                   {c30, c31, c30}, {c40, c41, c40}, {c50, c51, c50}};
    tile_store_avx512(t, acc, two ? 2 : 1);
}
#undef TILE_ROW

__attribute__((target("avx512f"))) static void tile_avx512(const sieve_gemm_tile *t)
{
    if (t->a_codes) {
        if (t->nr > NR)
            tile_avx512_body(t, true, true, true);
        else
            tile_avx512_body(t, false, true, true);
    } else if (t->lda) {
        if (t->nr > NR)
            tile_avx512_body(t, true, true, false);
        else
            tile_avx512_body(t, false, true, false);
    } else {
        if (t->nr > NR)
            tile_avx512_body(t, true, false, false);
        else
            tile_avx512_body(t, false, false, false);
    }
}

/* The same tile from bf16 pair panels (sieve_gemm_pairs_a / _b), up to
 * three panels wide: each vdpbf16ps adds two k rows' products into 16
 * columns, so a k block takes half the instructions of the fp32 tile, and
 * vdpbf16ps's longer latency wants the 18 accumulators of 6 x 48 (12 left
 * a fifth of the cycles idle). */
#define TILE_ROW_BF16(r)                                                                       \
    av = (__m512bh)_mm512_castps_si512(rows ? _mm512_set1_ps(a##r[p]) : _mm512_set1_ps(a[r])); \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, av, x0);                                               \
    if (panels > 1)                                                                            \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, av, x1);                                           \
    if (panels > 2)                                                                            \
        c##r##2 = _mm512_dpbf16_ps(c##r##2, av, x2);

__attribute__((target("avx512f,avx512bf16"), always_inline)) static inline void
tile_bf16_body(const sieve_gemm_tile *t, const int panels, const bool rows)
{
    const size_t panel = t->kc * NR;
    const float *restrict a = t->a, *restrict b0 = t->b, *restrict b1 = b0 + panel,
                          *restrict b2 = b1 + panel;
    /* row-major A (bf16 rows, lda floats apart): rows past mr read the
     * last real row */
    size_t last = t->mr > 0 ? t->mr - 1 : 0, lda = rows ? t->lda : 0;
    const float *restrict a0 = t->a, *restrict a1 = a0 + SIEVE_MIN((size_t)1, last) * lda,
                          *restrict a2 = a0 + SIEVE_MIN((size_t)2, last) * lda,
                          *restrict a3 = a0 + SIEVE_MIN((size_t)3, last) * lda,
                          *restrict a4 = a0 + SIEVE_MIN((size_t)4, last) * lda,
                          *restrict a5 = a0 + SIEVE_MIN((size_t)5, last) * lda;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    __m512 c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    const size_t pairs = (t->kc + 1) / 2;
    for (size_t p = 0; p < pairs; p++, a += MR, b0 += NR, b1 += NR, b2 += NR) {
        __m512bh x0 = (__m512bh)_mm512_castps_si512(_mm512_loadu_ps(b0)), x1 = x0, x2 = x0, av;
        if (panels > 1)
            x1 = (__m512bh)_mm512_castps_si512(_mm512_loadu_ps(b1));
        if (panels > 2)
            x2 = (__m512bh)_mm512_castps_si512(_mm512_loadu_ps(b2));
        TILE_ROW_BF16(0)
        TILE_ROW_BF16(1)
        TILE_ROW_BF16(2)
        TILE_ROW_BF16(3)
        TILE_ROW_BF16(4)
        TILE_ROW_BF16(5)
    }
    __m512 acc[MR][TILE_PANELS] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22},
                                   {c30, c31, c32}, {c40, c41, c42}, {c50, c51, c52}};
    tile_store_avx512(t, acc, panels);
}
#undef TILE_ROW_BF16

__attribute__((target("avx512f,avx512bf16"))) static void tile_bf16_avx512(const sieve_gemm_tile *t)
{
    const int panels = t->nr > 2 * NR ? 3 : t->nr > NR ? 2 : 1;
    if (t->lda) {
        if (panels == 3)
            tile_bf16_body(t, 3, true);
        else if (panels == 2)
            tile_bf16_body(t, 2, true);
        else
            tile_bf16_body(t, 1, true);
    } else if (panels == 3) {
        tile_bf16_body(t, 3, false);
    } else if (panels == 2) {
        tile_bf16_body(t, 2, false);
    } else {
        tile_bf16_body(t, 1, false);
    }
}

__attribute__((target("avx2,fma"))) static void micro_avx2(size_t kc, const float *restrict a,
                                                           const float *restrict b,
                                                           float acc[restrict MR][NR])
{
    __m256 c[MR][2];
    for (int r = 0; r < MR; r++)
        c[r][0] = c[r][1] = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        for (int r = 0; r < MR; r++) {
            __m256 av = _mm256_broadcast_ss(a + r);
            c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(acc[r], c[r][0]);
        _mm256_storeu_ps(acc[r] + 8, c[r][1]);
    }
}
#endif

int sieve_gemm_micro_kernels(const char **names, sieve_gemm_micro_fn *fns, int cap)
{
    int n = 0;
#define SIEVE_ADD_KERNEL(name, fn)                                                             \
    do {                                                                                       \
        if (n < cap) {                                                                         \
            names[n] = name;                                                                   \
            fns[n] = fn;                                                                       \
        }                                                                                      \
        n++;                                                                                   \
    } while (0)
#ifdef SIEVE_GEMM_X86
    if (__builtin_cpu_supports("avx512f"))
        SIEVE_ADD_KERNEL("avx512", micro_avx512);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        SIEVE_ADD_KERNEL("avx2", micro_avx2);
#endif
    SIEVE_ADD_KERNEL("portable", sieve_gemm_micro);
#undef SIEVE_ADD_KERNEL
    return n;
}

static micro_fn pick_micro(void)
{
    const char *name;
    micro_fn best;
    sieve_gemm_micro_kernels(&name, &best, 1);
    return best;
}

/* The tile contract on any micro-kernel: one to three MR x NR products,
 * then C. */
void sieve_gemm_tile_ref(const sieve_gemm_tile *t, sieve_gemm_micro_fn micro)
{
    float acc[SIEVE_GEMM_BF16_PANELS][MR][NR];
    const size_t panels = (t->nr + NR - 1) / NR;
    if (t->lda) {
        /* row-major A: pack KC columns at a time, sum the partial tiles */
        float panel[KC * MR], part[MR][NR];
        memset(acc, 0, sizeof(acc));
        for (size_t k0 = 0; k0 < t->kc; k0 += KC) {
            size_t kc = SIEVE_MIN((size_t)KC, t->kc - k0);
            for (size_t k = 0; k < kc; k++)
                for (size_t r = 0; r < MR; r++)
                    panel[k * MR + r] = r >= t->mr ? 0.0f
                                        : t->a_codes ? t->lut[t->a_codes[r * t->lda + k0 + k]]
                                                     : t->a[r * t->lda + k0 + k];
            for (size_t h = 0; h < panels; h++) {
                micro(kc, panel, t->b + h * t->kc * NR + k0 * NR, part);
                for (size_t r = 0; r < MR; r++)
                    for (size_t j = 0; j < NR; j++)
                        acc[h][r][j] += part[r][j];
            }
        }
    } else {
        for (size_t h = 0; h < panels; h++)
            micro(t->kc, t->a, t->b + h * t->kc * NR, acc[h]);
    }
    for (size_t r = 0; r < t->mr; r++)
        for (size_t j = 0; j < t->nr; j++) {
            float *c = t->c + (ptrdiff_t)r * t->rs + (ptrdiff_t)j;
            float base = t->from_c ? *c : (t->bias ? t->bias[r] : 0.0f);
            float v = acc[j / NR][r][j % NR] + base;
            *c = t->relu ? (v > 0.0f ? v : 0.0f) : v;
        }
}

sieve_gemm_tile_fn sieve_gemm_tile_kernel(const char **name)
{
#ifdef SIEVE_GEMM_X86
    if (__builtin_cpu_supports("avx512f")) {
        if (name)
            *name = "avx512";
        return tile_avx512;
    }
#endif
    if (name)
        *name = NULL;
    return NULL;
}

sieve_gemm_tile_fn sieve_gemm_tile_kernel_bf16(void)
{
#ifdef SIEVE_GEMM_X86
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16"))
        return tile_bf16_avx512;
#endif
    return NULL;
}

/* The word of a bf16 pair: the high halves of two fp32 values that are
 * exact bf16 (low halves zero), row 2p in the low half. */
static uint32_t bf16_pair(const float *lo, const float *hi)
{
    uint32_t l, h = 0;
    memcpy(&l, lo, sizeof(l));
    if (hi)
        memcpy(&h, hi, sizeof(h));
    return (h & 0xffff0000u) | l >> 16;
}

/* Both in place, front to back: pair p is written over k row p, which
 * pair p / 2 <= p has already read. */
void sieve_gemm_pairs_a(float *panel, size_t kc)
{
    for (size_t p = 0; 2 * p < kc; p++)
        for (size_t r = 0; r < MR; r++) {
            uint32_t w = bf16_pair(panel + 2 * p * MR + r,
                                   2 * p + 1 < kc ? panel + (2 * p + 1) * MR + r : NULL);
            memcpy(panel + p * MR + r, &w, sizeof(w));
        }
}

/* In place, front to back: the bf16 array is written at half the stride
 * behind what was read. */
#ifdef SIEVE_GEMM_X86
__attribute__((target("avx512f"))) static void bf16_row_avx512(const float *src, size_t kc,
                                                               float *dst)
{
    uint16_t *out = (uint16_t *)(void *)dst;
    for (size_t j = 0; j < kc; j += 16) {
        const __mmask16 m = kc - j >= 16 ? 0xffff : (__mmask16)((1u << (kc - j)) - 1);
        const __m512i v = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, src + j));
        _mm512_mask_cvtepi32_storeu_epi16(out + j, m, _mm512_srli_epi32(v, 16));
    }
    if (kc % 2)
        _mm512_mask_cvtepi32_storeu_epi16(out + kc, 1, _mm512_setzero_si512());
}
#endif

void sieve_gemm_pairs_row(const float *src, size_t kc, float *dst)
{
#ifdef SIEVE_GEMM_X86
    if (__builtin_cpu_supports("avx512f")) {
        bf16_row_avx512(src, kc, dst);
        return;
    }
#endif
    for (size_t p = 0; 2 * p < kc; p++) {
        uint32_t w = bf16_pair(src + 2 * p, 2 * p + 1 < kc ? src + 2 * p + 1 : NULL);
        memcpy(dst + p, &w, sizeof(w));
    }
}

#ifdef SIEVE_GEMM_X86
__attribute__((target("avx512f"))) static void pairs_b_avx512(float *panel, size_t kc)
{
    for (size_t p = 0; 2 * p < kc; p++) {
        const __m512 lo = _mm512_loadu_ps(panel + 2 * p * NR);
        const __m512 hi =
            2 * p + 1 < kc ? _mm512_loadu_ps(panel + (2 * p + 1) * NR) : _mm512_setzero_ps();
        _mm512_storeu_ps(panel + p * NR, sieve_gemm_pair_row_avx512(lo, hi));
    }
}
#endif

void sieve_gemm_pairs_b(float *panel, size_t kc)
{
#ifdef SIEVE_GEMM_X86
    if (__builtin_cpu_supports("avx512f")) {
        pairs_b_avx512(panel, kc);
        return;
    }
#endif
    for (size_t p = 0; 2 * p < kc; p++)
        for (size_t j = 0; j < NR; j++) {
            uint32_t w = bf16_pair(panel + 2 * p * NR + j,
                                   2 * p + 1 < kc ? panel + (2 * p + 1) * NR + j : NULL);
            memcpy(panel + p * NR + j, &w, sizeof(w));
        }
}

/* Adds one k block's tile into C: the first block starts from the bias (or
 * C's initial values), the last applies ReLU. */
static void write_tile(const sieve_gemm_job *job, float acc[MR][NR], size_t i, size_t j,
                       size_t mr, size_t nr, bool first, bool last)
{
    float alpha = job->alpha;
    bool from_c = !first || job->accumulate;
    bool relu = last && job->relu;
    for (size_t r = 0; r < mr; r++) {
        float *restrict c = job->c + (ptrdiff_t)(i + r) * job->rs + (ptrdiff_t)j * job->cs;
        float base = (!from_c && job->row_bias) ? job->row_bias[i + r] : 0.0f;
        if (job->cs == 1) {
            for (size_t q = 0; q < nr; q++) {
                float v = alpha * acc[r][q] + (from_c ? c[q] : base);
                c[q] = relu ? (v > 0.0f ? v : 0.0f) : v;
            }
        } else {
            for (size_t q = 0; q < nr; q++) {
                float *cq = c + (ptrdiff_t)q * job->cs;
                float v = alpha * acc[r][q] + (from_c ? *cq : base);
                *cq = relu ? (v > 0.0f ? v : 0.0f) : v;
            }
        }
    }
}

/* Columns of the next tile when `left` remain in a block: the fp32 tile
 * takes two panels; the bf16 tile three, but where that would leave one
 * lone panel at the end (64 = 48 + 16) two tiles of two. */
static size_t tile_columns(size_t left, bool bf16)
{
    if (!bf16)
        return SIEVE_MIN((size_t)2 * NR, left);
    if (left > 3 * NR && left <= 4 * NR)
        return 2 * NR;
    return SIEVE_MIN((size_t)3 * NR, left);
}

size_t sieve_gemm_scratch_floats(void)
{
    /* packed A block, packed B block, one decode row */
    return sieve_op_slice_floats(MC * KC) + sieve_op_slice_floats(KC * NC) +
           sieve_op_slice_floats(SIEVE_MAX(KC, NC));
}

void sieve_gemm_block(const sieve_gemm_job *job, size_t m0, size_t m1, size_t n0, size_t n1,
                      float *scratch)
{
    float *apack = scratch;
    float *bpack = apack + sieve_op_slice_floats(MC * KC);
    float *tmp = bpack + sieve_op_slice_floats(KC * NC);
    float acc[MR][NR];
    micro_fn micro = pick_micro();
    /* every tile goes to the tile kernel when there is one and C is row-major */
    sieve_gemm_tile_fn tile = job->cs == 1 && job->alpha == 1.0f ? sieve_gemm_tile_kernel(NULL)
                                                                  : NULL;
    /* bf16 pairs: both operands packed into panels, then paired */
    sieve_gemm_tile_fn tile_bf16 = tile && job->bf16 ? sieve_gemm_tile_kernel_bf16() : NULL;
    if (tile_bf16)
        tile = tile_bf16;
    /* fp32 A read in place by the tile kernel, not packed */
    bool rows = tile && !tile_bf16 && job->a_rows;
    /* bf16 A: fp32 rows turned into bf16 rows (row stride kc floats) */
    bool bf16_rows = tile_bf16 && (job->a_rows || job->load_a_rows);
    /* A read as codes by the tile kernel: one column block only; narrow
     * codes first widened to bytes into apack (row stride kc) */
    bool codes = tile && !tile_bf16 && !rows && job->a_codes && n1 - n0 <= NC;
    bool loaded_codes =
        tile && !tile_bf16 && !rows && !codes && job->load_a_codes && n1 - n0 <= NC;
    /* A loaded row-major into apack (row stride kc) for the tile kernel */
    bool loaded_rows = tile && !rows && !codes && !loaded_codes && job->load_a_rows;
    uint8_t *apack_codes = (uint8_t *)apack;

    for (size_t ib = m0; ib < m1; ib += MC) {
        size_t ie = SIEVE_MIN(m1, ib + MC);
        for (size_t k0 = 0; k0 < job->k; k0 += KC) {
            size_t kc = SIEVE_MIN((size_t)KC, job->k - k0);
            bool first = k0 == 0, last = k0 + kc == job->k;
            if (bf16_rows && job->a_rows)
                for (size_t i = ib; i < ie; i++)
                    sieve_gemm_pairs_row(job->a_rows + i * job->lda + k0, kc, apack + (i - ib) * kc);
            else if (loaded_rows)
                for (size_t i = ib; i < ie; i += MR) {
                    size_t count = SIEVE_MIN((size_t)MR, ie - i);
                    float *dst = apack + (i - ib) * kc;
                    if (tile_bf16 && job->load_a_bf16 &&
                        job->load_a_bf16(job->a, i, count, k0, kc, dst))
                        continue;
                    job->load_a_rows(job->a, i, count, k0, kc, dst);
                    for (size_t r = 0; tile_bf16 && r < count; r++)
                        sieve_gemm_pairs_row(dst + r * kc, kc, dst + r * kc);
                }
            else if (loaded_codes)
                job->load_a_codes(job->a, ib, ie - ib, k0, kc, apack_codes);
            else if (!rows && !codes)
                for (size_t i = ib; i < ie; i += MR) {
                    job->pack_a(job->a, i, SIEVE_MIN((size_t)MR, ie - i), k0, kc,
                                apack + (i - ib) * kc, tmp);
                    if (tile_bf16)
                        sieve_gemm_pairs_a(apack + (i - ib) * kc, kc);
                }
            for (size_t jb = n0; jb < n1; jb += NC) {
                size_t nc = SIEVE_MIN((size_t)NC, n1 - jb);
                if (tile_bf16 && job->pack_b_pairs) {
                    job->pack_b_pairs(job->b, jb, nc, k0, kc, bpack, tmp);
                } else {
                    job->pack_b(job->b, jb, nc, k0, kc, bpack, tmp);
                    for (size_t j = 0; tile_bf16 && j < nc; j += NR)
                        sieve_gemm_pairs_b(bpack + (j / NR) * kc * NR, kc);
                }
                for (size_t i = ib; i < ie; i += MR) {
                    size_t mr = SIEVE_MIN((size_t)MR, ie - i);
                    const float *ap = apack + (i - ib) * kc;
                    size_t j = 0;
                    if (tile) {
                        sieve_gemm_tile t = {
                            .kc = kc,
                            .a = rows ? job->a_rows + i * job->lda + k0 : ap,
                            .lda = rows || codes                              ? job->lda
                                   : loaded_rows || loaded_codes || bf16_rows ? kc
                                                                              : 0,
                            .a_codes = codes          ? job->a_codes + i * job->lda + k0
                                       : loaded_codes ? apack_codes + (i - ib) * kc
                                                      : NULL,
                            .lut = job->a_lut,
                            .rs = job->rs,
                            .mr = mr,
                            .bias = job->row_bias ? job->row_bias + i : NULL,
                            .from_c = !first || job->accumulate,
                            .relu = last && job->relu,
                            .enc = last ? job->codes_enc : NULL,
                            .codes = job->codes,
                            .bad = job->codes_bad,
                        };
                        for (; j < nc; j += t.nr) { /* t.nr: this tile's, set first */
                            t.nr = tile_columns(nc - j, tile_bf16 != NULL);
                            t.b = bpack + (j / NR) * kc * NR;
                            t.c = job->c + (ptrdiff_t)i * job->rs + (ptrdiff_t)(jb + j);
                            t.code_first = job->codes_first + i * (size_t)job->rs + jb + j;
                            /* a task of some of the columns: its rows' end
                             * codes may share bytes with other tasks' */
                            t.shared_ends = (n0 > 0 || n1 < job->n) &&
                                            (jb + j == n0 || jb + j + t.nr == n1);
                            tile(&t);
                        }
                    }
                    for (; j < nc; j += NR) {
                        size_t nr = SIEVE_MIN((size_t)NR, nc - j);
                        micro(kc, ap, bpack + (j / NR) * kc * NR, acc);
                        write_tile(job, acc, i, jb + j, mr, nr, first, last);
                    }
                }
            }
        }
    }
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

static size_t round_up(size_t a, size_t b)
{
    return ceil_div(a, b) * b;
}

/* The most columns one thread computes when sieve_parallel_for deals the
 * outer x blocks tasks (blocks of `block` columns, the last short). */
static size_t busiest_columns(size_t n, size_t outer, size_t block, size_t blocks, size_t threads)
{
    size_t tasks = outer * blocks, parts = SIEVE_MIN(tasks, threads), most = 0;
    for (size_t p = 0; p < parts; p++) {
        size_t begin, end, columns = 0;
        sieve_parallel_part(tasks, (unsigned)parts, (unsigned)p, &begin, &end);
        for (size_t t = begin; t < end; t++)
            columns += SIEVE_MIN(block, n - t % blocks * block);
        most = SIEVE_MAX(most, columns);
    }
    return most;
}

sieve_gemm_split sieve_gemm_plan(size_t m, size_t n, size_t outer, int threads)
{
    sieve_gemm_split s;
    size_t want = threads > 1 ? (size_t)threads : 1;
    outer = SIEVE_MAX(outer, (size_t)1);
    m = SIEVE_MAX(m, (size_t)1);
    n = SIEVE_MAX(n, (size_t)1);
    /* Columns first: every row block of a task would redo its B packing
     * (the im2col of a conv). But where all columns fit one block and there
     * are more rows than columns, B is the smaller operand: splitting the
     * columns would have every task prepare all of A instead (read it, or
     * decode and pair packed weights). AlexNet's 13x13 convs at 2 threads
     * scaled 1.13-1.16x packed and 1.45-1.50x fp32 split by columns,
     * 1.39-1.49x and 1.74-1.91x by rows. */
    size_t n_blocks = ceil_div(n, NC);
    bool rows_first = n_blocks == 1 && m >= n;
    if (outer * n_blocks < want && !rows_first)
        n_blocks = SIEVE_MIN(ceil_div(want, outer), ceil_div(n, NR));
    s.n_block = round_up(ceil_div(n, n_blocks), NR);
    s.n_blocks = ceil_div(n, s.n_block);
    /* Up to threads - 1 more, narrower blocks where they even out the
     * threads' shares: AlexNet's 27x27 conv made 3 blocks of 256 columns,
     * two of them on one thread; 4 of 192 split 2 and 2. */
    size_t busiest = busiest_columns(n, outer, s.n_block, s.n_blocks, want);
    for (size_t more = 1; !rows_first && more < want; more++) {
        size_t block = round_up(ceil_div(n, n_blocks + more), NR), blocks = ceil_div(n, block);
        size_t most = busiest_columns(n, outer, block, blocks, want);
        if (most < busiest) {
            busiest = most;
            s.n_block = block;
            s.n_blocks = blocks;
        }
    }
    /* Rows next, for small images with many channels (late conv layers). */
    size_t m_blocks = 1;
    if (outer * s.n_blocks < want)
        m_blocks = SIEVE_MIN(ceil_div(want, outer * s.n_blocks), ceil_div(m, MR));
    s.m_block = round_up(ceil_div(m, m_blocks), MR);
    s.m_blocks = ceil_div(m, s.m_block);
    return s;
}

void sieve_gemm_task(const sieve_gemm_job *job, const sieve_gemm_split *split, size_t t,
                     float *scratch)
{
    size_t mb = t / split->n_blocks, nb = t % split->n_blocks;
    size_t m0 = mb * split->m_block, n0 = nb * split->n_block;
    sieve_gemm_block(job, m0, SIEVE_MIN(job->m, m0 + split->m_block), n0,
                     SIEVE_MIN(job->n, n0 + split->n_block), scratch);
}
