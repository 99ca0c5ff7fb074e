/* libsieve internal, private to src/ops/ — the kernel functions of every
 * layer family, helpers they share, and the blocked SGEMM core that conv,
 * gemm and matmul build on. */
#ifndef SIEVE_OPS_KERNELS_H
#define SIEVE_OPS_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cfloat_tile.h"
#include "ops.h"

/* ---- the five entry points of one kernel -------------------------------- */

#define SIEVE_KERNEL_DECLARE(fam)                                                              \
    sieve_status sieve_##fam##_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,  \
                                     sieve_shape *out, char *err, size_t err_len);              \
    size_t sieve_##fam##_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,     \
                                 const sieve_shape *out, int threads);                          \
    uint64_t sieve_##fam##_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,      \
                                const sieve_shape *out);                                        \
    void sieve_##fam##_run(const sieve_layer *layer, const sieve_op_input *in, int n_in,        \
                           float *out, const sieve_shape *out_shape, sieve_op_env *env);        \
    void sieve_##fam##_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,    \
                               float *out, const sieve_shape *out_shape);

SIEVE_KERNEL_DECLARE(conv)
/* sieve_conv_run without its Winograd path: im2col GEMM, or the depthwise
 * kernel (benchmarks compare the two). */
void sieve_conv_run_im2col(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                           float *out, const sieve_shape *out_shape, sieve_op_env *env);
/* The im2col GEMM path with each tile's output encoded as it is stored
 * (sieve_tile_encode), where the tile kernel and encoder run. */
bool sieve_conv_run_encoded(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                            float *out, uint8_t *codes, const sieve_format *out_format,
                            const sieve_shape *out_shape, sieve_op_env *env);
/* Convolutions whose packers read input 0 as codes (8-bit, or 4-bit on
 * 1x1 layers, of bf16-exact values, with the bf16 tiles): see conv.c
 * (sieve_op_kernel.input_as_codes). */
bool sieve_conv_input_as_codes(const sieve_layer *layer, const sieve_op_input *in, int n_in);
SIEVE_KERNEL_DECLARE(maxpool)
SIEVE_KERNEL_DECLARE(avgpool)
SIEVE_KERNEL_DECLARE(globalavgpool)
SIEVE_KERNEL_DECLARE(globalmaxpool)
SIEVE_KERNEL_DECLARE(relu)
SIEVE_KERNEL_DECLARE(lrn)
SIEVE_KERNEL_DECLARE(batchnorm)
SIEVE_KERNEL_DECLARE(gemm)
SIEVE_KERNEL_DECLARE(matmul)
SIEVE_KERNEL_DECLARE(softmax)
SIEVE_KERNEL_DECLARE(concat)
SIEVE_KERNEL_DECLARE(add)
SIEVE_KERNEL_DECLARE(reshape)
SIEVE_KERNEL_DECLARE(flatten)

/* Layers with a run_packed entry (the kernel table names them). */
bool sieve_add_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                          uint8_t *out, const sieve_format *out_format,
                          const sieve_shape *out_shape, sieve_op_env *env);
bool sieve_relu_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                           uint8_t *out, const sieve_format *out_format,
                           const sieve_shape *out_shape, sieve_op_env *env);
bool sieve_concat_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                             uint8_t *out, const sieve_format *out_format,
                             const sieve_shape *out_shape, sieve_op_env *env);
bool sieve_maxpool_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                              uint8_t *out, const sieve_format *out_format,
                              const sieve_shape *out_shape, sieve_op_env *env);

/* ---- shared helpers (ops.c) --------------------------------------------- */

/* Elements run_packed kernels decode and encode at a time: a multiple of 8,
 * so that pieces start on whole bytes in every width and threads working
 * on different pieces never write the same byte; small enough that a few
 * fp32 pieces stay in L1 on the stack. */
#define SIEVE_OP_PIECE 2048
_Static_assert(SIEVE_OP_PIECE % 8 == 0, "pieces start on byte boundaries");

/* Writes "<op>: <message>" into err and returns SIEVE_ERR_SHAPE. */
sieve_status sieve_op_fail(const sieve_layer *layer, char *err, size_t err_len, const char *fmt,
                           ...) SIEVE_PRINTF(4, 5);

/* Number of elements, false on a negative dimension, a bad rank or
 * overflow of size_t. Rank 0 is a scalar (1 element). */
bool sieve_op_numel(const sieve_shape *shape, size_t *numel);

/* Product of dims[begin, end) (no checks: call on validated shapes). */
size_t sieve_op_dims_product(const sieve_shape *shape, int begin, int end);

/* Whether optional input i is present: the executor passes an absent one
 * with rank -1 (and the layer's input index -1). */
bool sieve_op_shape_present(const sieve_shape *in, int n_in, int i);
bool sieve_op_input_present(const sieve_op_input *in, int n_in, int i);

/* Copies elements first..first+n of an input into dst, decoding if packed. */
void sieve_op_input_load(const sieve_op_input *in, size_t first, size_t n, float *dst);

/* Floats a per-thread scratch slice takes, rounded up to whole cache lines
 * so slices of different threads never share one. */
static inline size_t sieve_op_slice_floats(size_t floats)
{
    return (floats + 15) & ~(size_t)15;
}

/* The pool a kernel may use given how much scratch it was handed: NULL
 * (single thread) if the scratch holds fewer than one slice per thread.
 * Sets *ok to false when it does not even hold one slice. */
sieve_pool *sieve_op_pool_for_scratch(const sieve_op_env *env, size_t slice_floats, bool *ok);

/* ---- blocked SGEMM core (sgemm.c) ---------------------------------------
 *
 * C[i, j] (+)= alpha * sum_k A[i, k] * B[k, j] for i < m, j < n, computed on
 * register tiles of MR x NR by a micro-kernel over packed panels. The
 * operands are produced by packing callbacks, so that A can be weights
 * decoded from a custom float stream and B an im2col of an image, neither
 * ever materialized whole. */

#define SIEVE_GEMM_MR 6
#define SIEVE_GEMM_NR 16
#define SIEVE_GEMM_BF16_PANELS 3 /* B panels of the bf16 tile kernel's widest tile */
#define SIEVE_GEMM_KC 256 /* k block: an A panel + a B panel stay in L1/L2 */
#define SIEVE_GEMM_NC 256 /* n block: columns of one packed B block */
#define SIEVE_GEMM_MC 516 /* m block: rows of one packed A block, a multiple of MR that
                           * holds the 512 output channels of the widest usual convs */

/* Packs rows i0..i0+count (count <= MR) x k0..k0+kc of A into
 * dst[k * MR + r], zeros for rows r >= count. */
typedef void (*sieve_pack_a_fn)(const void *src, size_t i0, size_t count, size_t k0, size_t kc,
                                float *dst, float *tmp);
/* Writes rows i0..i0+count (count <= MR) x k0..k0+kc of A row-major,
 * row r at dst + r * kc: the layout the tile kernel also reads. */
typedef void (*sieve_load_a_rows_fn)(const void *src, size_t i0, size_t count, size_t k0,
                                     size_t kc, float *dst);
/* Packs k0..k0+kc x columns j0..j0+count (count <= NC) of B into panels of NR
 * columns: dst[(j / NR) * kc * NR + k * NR + j % NR], zeros for columns
 * count..round_up(count, NR). */
typedef void (*sieve_pack_b_fn)(const void *src, size_t j0, size_t count, size_t k0, size_t kc,
                                float *dst, float *tmp);

typedef struct sieve_gemm_job {
    size_t m, n, k;
    sieve_pack_a_fn pack_a;
    const void *a;
    sieve_pack_b_fn pack_b;
    /* Optional, for the bf16 tiles: pack_b writing its panels as bf16
     * pairs (sieve_gemm_pairs_b's layout) straight away */
    sieve_pack_b_fn pack_b_pairs;
    const void *b;
    float *c;
    ptrdiff_t rs, cs;      /* C[i, j] is c[i * rs + j * cs] */
    const float *row_bias; /* added to row i, or NULL */
    /* Optional: A as fp32 rows, row i at a_rows + i * lda. Used instead of
     * pack_a where the tile kernel reads rows directly, which saves packing
     * weights when the output has few columns (7 x 7 images). */
    const float *a_rows;
    size_t lda;
    /* Optional, without a_rows: used instead of pack_a where the tile
     * kernel reads rows, which saves transposing decoded weights. */
    sieve_load_a_rows_fn load_a_rows;
    /* Optional, with load_a_rows, for the bf16 tiles: the same rows as
     * bf16 (row r at dst + r * kc floats, a zero after an odd kc: what
     * load_a_rows then sieve_gemm_pairs_row leave), in one pass; false
     * where it cannot, and load_a_rows does. */
    bool (*load_a_bf16)(const void *src, size_t i0, size_t count, size_t k0, size_t kc,
                        float *dst);
    /* Optional, without a_rows: A as 8-bit codes, row i at
     * a_codes + i * lda, of values a_lut[code]; the tile kernel looks them
     * up as it broadcasts them (no decode pass), used where every weight
     * is read by one column block only (n <= NC): elsewhere load_a_rows
     * decodes once for all column blocks. */
    const uint8_t *a_codes;
    const float *a_lut;
    /* Optional, the same for codes narrower than a byte: rows i0..i0+count
     * x k0..k0+kc of A's codes widened to one byte each, row r at
     * dst + r * kc, read through a_lut like a_codes */
    void (*load_a_codes)(const void *src, size_t i0, size_t count, size_t k0, size_t kc,
                         uint8_t *dst);
    float alpha;
    bool accumulate; /* C holds values to add to (else overwritten) */
    bool relu;       /* max(0, .) on the final value */
    /* Optional, where the tile kernel runs: C's final values (last k
     * block) go as codes into this stream, element codes_first + i * rs +
     * j, not into C (earlier k blocks still use C); *codes_bad is set when
     * a value could not be encoded. */
    const sieve_tile_encoder *codes_enc;
    uint8_t *codes;
    size_t codes_first;
    bool *codes_bad;
    /* Optional: every value of A and B is exactly a bf16 (a custom float
     * of at most 7 mantissa bits, or zero). Where the CPU has AVX-512
     * BF16 the tiles then multiply pairs of them with vdpbf16ps: the
     * products are exact in fp32 and summed in fp32, at twice the
     * multiply-adds per instruction. Products below the smallest normal
     * fp32 flush to zero. */
    bool bf16;
} sieve_gemm_job;

/* A split of the m x n output into m_blocks x n_blocks tasks. */
typedef struct sieve_gemm_split {
    size_t m_block, n_block;   /* rows / columns per task (last may be short) */
    size_t m_blocks, n_blocks; /* tasks along each side */
} sieve_gemm_split;

/* Splits so that outer * m_blocks * n_blocks tasks keep `threads` busy. */
sieve_gemm_split sieve_gemm_plan(size_t m, size_t n, size_t outer, int threads);

/* acc[r][j] = sum_k a[k * MR + r] * b[k * NR + j] over packed panels. */
typedef void (*sieve_gemm_micro_fn)(size_t kc, const float *restrict a, const float *restrict b,
                                    float acc[restrict SIEVE_GEMM_MR][SIEVE_GEMM_NR]);

/* The micro-kernels this CPU can run, best first (the first is the one
 * used); fills up to cap entries and returns how many there are. */
int sieve_gemm_micro_kernels(const char **names, sieve_gemm_micro_fn *fns, int cap);

/* Rows r < mr and columns j < nr (mr <= MR, nr <= 2 * NR; for the bf16
 * tile kernel nr <= SIEVE_GEMM_BF16_PANELS * NR) of a tile of C from an A
 * panel and the B panels at b, b + kc * NR, ... (as many as nr needs),
 * written into C (row stride rs, unit column stride):
 * C = acc + (from_c ? C : bias[r] or 0), then max(0, .) if relu. */
typedef struct sieve_gemm_tile {
    size_t kc;
    /* A: a packed panel, a[k * MR + r], when lda is 0; else row-major, row r
     * at a + r * lda (rows r >= mr are not read) */
    const float *a, *b;
    size_t lda;
    /* instead of a (row-major, lda > 0): 8-bit codes, values lut[code] */
    const uint8_t *a_codes;
    const float *lut;
    float *c;
    ptrdiff_t rs;
    size_t mr, nr;
    const float *bias; /* bias[r] for row r of the tile, or NULL */
    bool from_c, relu;
    /* Optional: the final values go to this stream instead of C, row r
     * at element code_first + r * rs (sieve_tile_encode); *bad set if
     * one could not be encoded */
    const sieve_tile_encoder *enc;
    uint8_t *codes;
    size_t code_first;
    bool *bad;
    /* the tile's first or last column is the edge of its task's columns,
     * where another task's codes may share a byte (sieve_tile_encode) */
    bool shared_ends;
} sieve_gemm_tile;
typedef void (*sieve_gemm_tile_fn)(const sieve_gemm_tile *tile);

/* The SIMD tile kernel of this CPU (NULL: none, the micro-kernel does all
 * tiles); *name, if name is not NULL, receives its name. */
sieve_gemm_tile_fn sieve_gemm_tile_kernel(const char **name);
/* The bf16 pair tile kernel (NULL where the CPU has no AVX-512 BF16): the
 * tile contract with A and B panels of bf16 pairs, k rows 2p and 2p + 1
 * of a panel in one 32-bit word each (2p in the low half, a zero high
 * half past an odd kc): a[p * MR + r], b[p * NR + j], the second B panel
 * still at b + kc * NR. sieve_gemm_pairs_a / _b lay panels out so. */
sieve_gemm_tile_fn sieve_gemm_tile_kernel_bf16(void);
/* An A panel (MR rows) or B panel (NR columns) of kc rows of exact bf16
 * values turned into that pair layout, in place. */
void sieve_gemm_pairs_a(float *panel, size_t kc);
void sieve_gemm_pairs_b(float *panel, size_t kc);
/* A row of kc exact bf16 values as a bf16 array at dst (which may be src),
 * padded with a zero to an even length: row-major A of the bf16 tile
 * kernel (lda floats apart), read as one pair per 32-bit word. */
void sieve_gemm_pairs_row(const float *src, size_t kc, float *dst);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* One row of bf16 pairs from rows lo (k = 2p) and hi (2p + 1) of 16 exact
 * bf16 values each (hi zero past an odd kc): (hi & 0xffff0000) | lo >> 16
 * per lane, for every packer that writes sieve_gemm_pairs_b's layout. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
sieve_gemm_pair_row_avx512(__m512 lo, __m512 hi)
{
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        _mm512_castps_si512(hi), _mm512_set1_epi32((int)0xffff0000u),
        _mm512_srli_epi32(_mm512_castps_si512(lo), 16), 0xea));
}
#endif
/* The tile contract computed with a micro-kernel: the test oracle. */
void sieve_gemm_tile_ref(const sieve_gemm_tile *tile, sieve_gemm_micro_fn micro);

/* Per-thread scratch floats of sieve_gemm_block. */
size_t sieve_gemm_scratch_floats(void);

/* Computes rows m0..m1 x columns n0..n1 of the job. */
void sieve_gemm_block(const sieve_gemm_job *job, size_t m0, size_t m1, size_t n0, size_t n1,
                      float *scratch);

/* Runs task t (0 <= t < m_blocks * n_blocks) of a split. */
void sieve_gemm_task(const sieve_gemm_job *job, const sieve_gemm_split *split, size_t t,
                     float *scratch);

#endif
