/* libsieve internal — dot products that read their weights straight from a
 * packed stream (custom float or fp32), for the dense layers' GEMV: batch-1
 * fully-connected layers are bound by how many weight bytes they read, so
 * a packed row is decoded in registers and fed to the FMAs, never written
 * out as fp32.
 *
 * A plan is made once per layer run (a few hundred table entries) and
 * read by every thread. How codes become floats depends on the format and
 * on the instruction-set level (AVX-512 with VBMI):
 *   w <= 8, rows starting on byte boundaries: every such code's value
 *                     is exactly a bf16 (at most 7 mantissa bits), so the
 *                     two bytes of that bf16 are looked up with byte
 *                     shuffles for 64 codes at a time (vpermi2b for 256
 *                     or 128 entries, vpshufb for 16) and widened to fp32
 *                     by interleaving; the lanes come out in a fixed
 *                     permuted order, so the vectors are laid out in that
 *                     order once (sieve_dot_prepare) instead. Widths
 *                     other than 8 and 4 are first widened to a byte per
 *                     code (vpermb, vpmultishiftqb);
 *   else w <= 5:      one 32-entry table lookup (vpermi2ps);
 *   sign+e <= 5 bits, m <= 5:
 *                     value = high[s,E] * low[M] + offset[s,E], three
 *                     32-entry lookups and an FMA, exact: every term is a
 *                     normal fp32 and the sum is the code's value (for
 *                     E = 0, 2^(1-bias) * (1 + M/2^m) - 2^(1-bias));
 *   otherwise:        the codec's branch-free arithmetic decode.
 * Below AVX-512 the rows are decoded in chunks into a small stack buffer
 * (through a 2^w table when w <= 8) and dotted from there.
 * Zero codes may decode as +0 where the reference gives -0: no sum
 * changes except possibly the sign of an exactly zero result. */
#ifndef SIEVE_CFLOAT_DOT_H
#define SIEVE_CFLOAT_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve/cfloat.h"

#define SIEVE_DOT_MAX_ROWS 4 /* rows of B per call */
#define SIEVE_DOT_MAX_VECS 4 /* vectors (rows of A) per call */

typedef enum sieve_dot_method {
    SIEVE_DOT_FP32,    /* B is fp32 */
    SIEVE_DOT_BYTES8,  /* AVX-512: w = 8 (or < 8, widened), byte tables of the bf16 value */
    SIEVE_DOT_NIBBLES4, /* AVX-512: w = 4, the same with 16-entry tables */
    SIEVE_DOT_LUT32,   /* AVX-512: w <= 5, one lookup */
    SIEVE_DOT_SPLIT,   /* AVX-512: high * low + offset */
    SIEVE_DOT_ARITH,   /* AVX-512: arithmetic decode */
    SIEVE_DOT_TABLE,   /* portable / AVX2: w <= 8, decode by 2^w table into a buffer */
    SIEVE_DOT_UNPACK,  /* portable / AVX2: bulk unpack into a buffer */
} sieve_dot_method;

typedef struct sieve_dot_plan {
    sieve_format format;
    int level;  /* instruction-set level the plan was made for */
    int method; /* sieve_dot_method */
    unsigned width;
    float table[256]; /* SIEVE_DOT_TABLE: value of every code */
    /* LUT32: lut[c mod 2^w]; SPLIT: high/offset by c >> m (mod 2^(s+e)),
     * low by c mod 2^m, replicated so that stray bits above a code are
     * ignored. */
    float lut[32], high[32], low[32], offset[32];
    /* AVX-512, w <= 8: high and low byte of each code's bf16 value (of
     * code mod 2^w: codes of fewer bits repeat) */
    bool bf16_tables;
    uint8_t bf16_high[256], bf16_low[256];
    unsigned block; /* BYTES8 / NIBBLES4: codes per step (vectors are permuted per block) */
    bool vecs_bf16; /* BYTES8 / NIBBLES4: vectors prepared as bf16 pairs, vdpbf16ps */
} sieve_dot_plan;

/* A plan for weights stored in `fmt` (fp32 or a valid cfloat format) at
 * the best level this CPU runs, for rows of `stride` elements starting at
 * element `first`: every sieve_dot_rows call must pass this stride and a
 * `first` that differs from this one by multiples of the stride and of 8
 * (so that rows keep their bit phase). */
void sieve_dot_plan_init(sieve_dot_plan *plan, const sieve_format *fmt, size_t first,
                         size_t stride);
/* The same at a chosen level (capped at the CPU's), for tests. */
void sieve_dot_plan_init_level(sieve_dot_plan *plan, const sieve_format *fmt, size_t first,
                               size_t stride, int level);

/* Declares that the vectors will hold values that are exactly bf16 (at
 * most 7 mantissa bits, e.g. decoded from a custom float format of such
 * an m): where the method reads bf16 byte tables and the CPU has AVX-512
 * BF16, sieve_dot_prepare then lays them out as bf16 pairs and
 * sieve_dot_rows multiplies with vdpbf16ps (products exact, sums in fp32;
 * products below the smallest normal fp32 flush to zero). Returns
 * whether it will. Vectors that are not exact bf16 would be truncated. */
bool sieve_dot_plan_vecs_bf16(sieve_dot_plan *plan);

/* Floats of scratch sieve_dot_prepare needs for n_vecs vectors of k. */
size_t sieve_dot_prepared_floats(size_t n_vecs, size_t k);

/* Lays out vecs[i][0..k) as the plan's kernel reads them: prepared[i] is
 * vecs[i] itself, or a permuted, zero-padded copy in scratch (which must
 * hold sieve_dot_prepared_floats(n_vecs, k) floats). */
void sieve_dot_prepare(const sieve_dot_plan *plan, const float *const *vecs, size_t n_vecs,
                       size_t k, float *scratch, const float **prepared);

/* For r < rows (<= SIEVE_DOT_MAX_ROWS) and i < n_vecs (<= SIEVE_DOT_MAX_VECS):
 *   acc[i * acc_ld + r] += sum_{kk < k} vecs[i][kk] * B[first + r * stride + kk]
 * with vecs as sieve_dot_prepare made them for this k
 * where B is the stream `b` in the plan's format (element index, as in
 * sieve_format_load; packed streams are read up to SIEVE_PACK_SLACK bytes
 * past an element). The summation order is not the reference's. */
void sieve_dot_rows(const sieve_dot_plan *plan, const void *b, size_t first, size_t stride,
                    size_t rows, const float *const *vecs, size_t n_vecs, size_t k, float *acc,
                    size_t acc_ld);

/* Elements first..first+n of the plan's stream into dst: exactly what
 * sieve_format_load gives, but through the plan's tables for formats of at
 * most 8 bits, which sieve_format_load would rebuild on every call; for
 * kernels that decode one weight tensor in many short runs (panels of
 * 256), any `first`. */
void sieve_dot_unpack(const sieve_dot_plan *plan, const void *src, size_t first, size_t n,
                      float *dst);

/* The same as bf16 (the high halves of those floats), for `rows` runs of
 * n elements, run r from element first + r * src_stride into
 * dst + r * dst_stride: where the plan's values are bf16 (formats of at
 * most 8 bits), the CPU has AVX-512 and every run
 * starts a byte; else false and dst untouched. */
bool sieve_dot_unpack_bf16_rows(const sieve_dot_plan *plan, const void *src, size_t first,
                                size_t src_stride, size_t rows, size_t n, uint16_t *dst,
                                size_t dst_stride);

#endif
