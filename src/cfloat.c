/* libsieve — custom floating-point codec (DESIGN.md section 3).
 *
 * Two layers:
 *  - the scalar reference codec (sieve_cfloat_encode_ref / _decode_ref),
 *    written for obviousness: exact integer arithmetic on the fp32 fields,
 *    one element at a time. It is the oracle of the tests.
 *  - the bulk paths (pack / unpack / quantize), at one of three
 *    instruction-set levels chosen per call from the CPU's features:
 *      portable C: chunks of codes go through a bit-stream stage (extract
 *        or insert w-bit codes) and a branch-free conversion loop (codes
 *        <-> fp32 bit patterns, integer RNE) that compilers vectorise
 *        (SSE2, NEON); formats up to 8 bits decode through a 2^w table;
 *      AVX2 (x86-64): the same loops compiled for AVX2, plus a fused
 *        byte-shuffle decode of 8 codes per step;
 *      AVX-512 (x86-64 with VBMI): fused vpermb decode and encode of 16
 *        codes per step; runs of codes of at most 8 bits on byte
 *        boundaries decode 64 codes per step through byte tables of their
 *        (bf16-exact) values.
 *  The fused decode + dot products of the dense layers (cfloat_dot.h) sit
 *  at the end, on the same levels.
 *
 * The bulk paths must equal the reference bit for bit; tests/test_cfloat.c
 * checks that at every level the CPU has, over every code of every format
 * up to 16 bits and over random data for every width.
 */
#include "sieve/cfloat.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cfloat_dot.h"
#include "cfloat_tile.h"
#include "common.h"

/* Internal entry points for tests and benchmarks (declared again in
 * tests/test_cfloat.c): the bulk paths at a chosen instruction-set level,
 * 0 = portable C, 1 = AVX2, 2 = AVX-512 (x86-64 only), capped at what the
 * CPU supports. The public functions use sieve_cfloat_cpu_level(). */
int sieve_cfloat_cpu_level(void);
sieve_status sieve_cfloat_pack_level(int level, const sieve_format *fmt, const float *src, size_t n,
                                     uint8_t *dst, size_t first, size_t *bad_index);
void sieve_cfloat_unpack_level(int level, const sieve_format *fmt, const uint8_t *src, size_t first,
                               size_t n, float *dst);
sieve_status sieve_cfloat_quantize_level(int level, const sieve_format *fmt, float *buf, size_t n,
                                         size_t *bad_index);

_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
               "the codec works on IEEE binary32 bit patterns");

#define FP32_EXP_BIAS 127
#define FP32_MANT_BITS 23
#define FP32_ABS_MASK 0x7fffffffu
#define FP32_INF_BITS 0x7f800000u

/* Codes are converted in chunks of this many elements (a multiple of 16,
 * so that a chunk of any width w starts on the same bit phase as the last,
 * and so does every 16-element SIMD step). */
#define CHUNK 256
_Static_assert(CHUNK % 16 == 0, "chunks hold whole SIMD steps");

static inline uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof(u));
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

/* ---- formats ----------------------------------------------------------- */

sieve_format sieve_format_fp32(void)
{
    sieve_format f = {.kind = SIEVE_FORMAT_FP32};
    return f;
}

/* Out-of-range widths are stored as 255, which validation rejects, rather
 * than wrapping into a different valid-looking format. */
static uint8_t field_u8(int v)
{
    return (v < 0 || v > UINT8_MAX) ? UINT8_MAX : (uint8_t)v;
}

sieve_format sieve_format_cfloat(int e_bits, int m_bits, int bias, int is_signed)
{
    sieve_format f = {
        .kind = SIEVE_FORMAT_CFLOAT,
        .e_bits = field_u8(e_bits),
        .m_bits = field_u8(m_bits),
        .is_signed = is_signed != 0,
        .bias = (int32_t)bias,
    };
    return f;
}

static void set_reason(char *why, size_t why_len, const char *fmt, ...) SIEVE_PRINTF(3, 4);

static void set_reason(char *why, size_t why_len, const char *fmt, ...)
{
    if (!why || why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

sieve_status sieve_format_validate(const sieve_format *fmt, char *why, size_t why_len)
{
    set_reason(why, why_len, "%s", "");
    if (!fmt) {
        set_reason(why, why_len, "no format given");
        return SIEVE_ERR_ARG;
    }
    if (fmt->kind == SIEVE_FORMAT_FP32)
        return SIEVE_OK;
    if (fmt->kind != SIEVE_FORMAT_CFLOAT) {
        set_reason(why, why_len, "unknown format kind %u", (unsigned)fmt->kind);
        return SIEVE_ERR_FORMAT;
    }
    const int e = fmt->e_bits, m = fmt->m_bits;
    if (e < 1 || e > 8) {
        set_reason(why, why_len, "exponent width e_bits=%d is outside 1..8", e);
        return SIEVE_ERR_FORMAT;
    }
    if (m > FP32_MANT_BITS) {
        set_reason(why, why_len, "mantissa width m_bits=%d is outside 0..23", m);
        return SIEVE_ERR_FORMAT;
    }
    if (fmt->is_signed > 1) {
        set_reason(why, why_len, "is_signed=%u is neither 0 nor 1", (unsigned)fmt->is_signed);
        return SIEVE_ERR_FORMAT;
    }
    /* Smallest nonzero 2^(1-bias-m) >= 2^-126 and largest exponent
     * (2^e-1)-bias <= 127 bound the bias from both sides. */
    const long long bias = fmt->bias;
    const long long bias_min = ((1LL << e) - 1) - FP32_EXP_BIAS;
    const long long bias_max = FP32_EXP_BIAS - m;
    if (bias_min > bias_max) {
        set_reason(why, why_len,
                   "no bias fits e_bits=%d, m_bits=%d into fp32's normal range "
                   "(the format spans more binades than fp32)",
                   e, m);
        return SIEVE_ERR_FORMAT;
    }
    if (bias > bias_max) {
        set_reason(why, why_len,
                   "bias %lld too large for m_bits=%d: smallest nonzero value 2^%lld is below "
                   "fp32's smallest normal 2^-126 (bias must be %lld..%lld)",
                   bias, m, 1 - bias - m, bias_min, bias_max);
        return SIEVE_ERR_FORMAT;
    }
    if (bias < bias_min) {
        set_reason(why, why_len,
                   "bias %lld too small for e_bits=%d: largest exponent 2^%lld is above "
                   "fp32's largest 2^127 (bias must be %lld..%lld)",
                   bias, e, ((1LL << e) - 1) - bias, bias_min, bias_max);
        return SIEVE_ERR_FORMAT;
    }
    return SIEVE_OK;
}

unsigned sieve_format_width(const sieve_format *fmt)
{
    if (!fmt)
        return 0;
    if (fmt->kind == SIEVE_FORMAT_FP32)
        return 32;
    if (fmt->kind == SIEVE_FORMAT_CFLOAT)
        return (fmt->is_signed ? 1u : 0u) + fmt->e_bits + fmt->m_bits;
    return 0;
}

size_t sieve_format_bytes(const sieve_format *fmt, size_t n)
{
    if (!fmt)
        return 0;
    if (fmt->kind == SIEVE_FORMAT_FP32) {
        size_t bytes;
        return sieve_mul_size(n, sizeof(float), &bytes) ? bytes : 0;
    }
    const unsigned w = sieve_format_width(fmt);
    if (fmt->kind != SIEVE_FORMAT_CFLOAT || w == 0)
        return 0;
    /* ceil(n*w/8) without forming n*w: 8 elements take exactly w bytes. */
    size_t bytes;
    if (!sieve_mul_size(n / 8, w, &bytes))
        return 0;
    const size_t tail = ((n % 8) * w + 7) / 8;
    if (!sieve_add_size(bytes, tail, &bytes) || !sieve_add_size(bytes, SIEVE_PACK_SLACK, &bytes))
        return 0;
    return bytes;
}

const char *sieve_format_str(const sieve_format *fmt, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    if (fmt && fmt->kind == SIEVE_FORMAT_FP32)
        snprintf(buf, len, "fp32");
    else if (fmt && fmt->kind == SIEVE_FORMAT_CFLOAT)
        snprintf(buf, len, "%s(e%u,m%u,b%ld)", fmt->is_signed ? "cf" : "ucf", (unsigned)fmt->e_bits,
                 (unsigned)fmt->m_bits, (long)fmt->bias);
    else
        snprintf(buf, len, "invalid");
    return buf;
}

/* Canonical decimal: "0" or a nonzero digit first; at most `limit`. */
static const char *parse_decimal(const char *p, long long limit, long long *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        return NULL;
    long long v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > limit)
            return NULL;
    }
    *out = v;
    return p;
}

static const char *parse_literal(const char *p, const char *lit)
{
    const size_t n = strlen(lit);
    return strncmp(p, lit, n) == 0 ? p + n : NULL;
}

sieve_status sieve_format_parse(const char *text, sieve_format *out)
{
    if (!text || !out)
        return SIEVE_ERR_ARG;
    if (strcmp(text, "fp32") == 0) {
        *out = sieve_format_fp32();
        return SIEVE_OK;
    }
    const char *p = text;
    int is_signed = 1;
    if (*p == 'u') {
        is_signed = 0;
        p++;
    }
    long long e = 0, m = 0, bias = 0;
    int negative = 0;
    if (!(p = parse_literal(p, "cf(e")) || !(p = parse_decimal(p, 255, &e)) ||
        !(p = parse_literal(p, ",m")) || !(p = parse_decimal(p, 255, &m)) ||
        !(p = parse_literal(p, ",b")))
        return SIEVE_ERR_FORMAT;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (!(p = parse_decimal(p, (long long)INT32_MAX + negative, &bias)) ||
        (negative && bias == 0) || strcmp(p, ")") != 0)
        return SIEVE_ERR_FORMAT;
    const sieve_format f =
        sieve_format_cfloat((int)e, (int)m, (int)(negative ? -bias : bias), is_signed);
    if (sieve_format_validate(&f, NULL, 0) != SIEVE_OK)
        return SIEVE_ERR_FORMAT;
    *out = f;
    return SIEVE_OK;
}

float sieve_cfloat_max(const sieve_format *fmt)
{
    if (sieve_format_validate(fmt, NULL, 0) != SIEVE_OK)
        return NAN;
    if (fmt->kind == SIEVE_FORMAT_FP32)
        return FLT_MAX;
    const uint32_t all_ones = (1u << (fmt->e_bits + fmt->m_bits)) - 1;
    return sieve_cfloat_decode_ref(fmt, all_ones);
}

static bool is_valid_cfloat(const sieve_format *fmt)
{
    return fmt && fmt->kind == SIEVE_FORMAT_CFLOAT &&
           sieve_format_validate(fmt, NULL, 0) == SIEVE_OK;
}

/* ---- scalar reference codec -------------------------------------------- */

sieve_status sieve_cfloat_encode_ref(const sieve_format *fmt, float x, uint32_t *code)
{
    if (!is_valid_cfloat(fmt) || !code)
        return SIEVE_ERR_ARG;
    const int e = fmt->e_bits, m = fmt->m_bits, bias = fmt->bias;
    /* Everything from the bit pattern: float comparisons would see fp32
     * subnormals as zero under denormals-are-zero. */
    const uint32_t bits = f32_bits(x) & FP32_ABS_MASK;
    const uint32_t sign = f32_bits(x) >> 31;
    if (bits > FP32_INF_BITS)
        return SIEVE_ERR_RANGE; /* NaN */
    if (sign && !fmt->is_signed) {
        if (bits != 0)
            return SIEVE_ERR_RANGE; /* every negative but -0 */
        *code = 0;
        return SIEVE_OK;
    }
    const uint32_t sign_bit = fmt->is_signed ? sign << (e + m) : 0;
    const uint32_t max_magnitude = (1u << (e + m)) - 1; /* E and M all ones */

    /* |x| = sig * 2^exp2 exactly, from the fp32 fields. */
    const int biased = (int)(bits >> FP32_MANT_BITS);
    const uint32_t fraction = bits & ((1u << FP32_MANT_BITS) - 1);
    if (biased == 0xff) { /* infinity saturates */
        *code = sign_bit | max_magnitude;
        return SIEVE_OK;
    }
    if (bits == 0) {
        *code = sign_bit;
        return SIEVE_OK;
    }
    uint64_t sig = biased ? (fraction | (1u << FP32_MANT_BITS)) : fraction;
    const int exp2 = (biased ? biased : 1) - FP32_EXP_BIAS - FP32_MANT_BITS;

    /* Binade of |x| (floor(log2|x|)), clamped at the custom format's
     * subnormal binade, fixes the quantum 2^(k-m) of the rounding. */
    int top = 63;
    while (!((sig >> top) & 1))
        top--;
    int k = exp2 + top;
    if (k < 1 - bias)
        k = 1 - bias;
    if (k > ((1 << e) - 1) - bias) {
        *code = sign_bit | max_magnitude;
        return SIEVE_OK;
    }
    /* |x| / 2^(k-m) = q + frac, q < 2^(m+1). The candidates are the code
     * of q * 2^(k-m), normal ((k+bias) << m) + (q - 2^m) or, in the
     * subnormal binade (k = 1-bias), q -- both ((k+bias-1) << m) + q --
     * and the next code up, which is the next value even across a binade. */
    const int shift = (k - m) - exp2;
    uint64_t q = sig, rem = 0, half = 0;
    if (shift <= 0) {
        q = sig << -shift;
    } else if (shift < 63) {
        q = sig >> shift;
        rem = sig & ((UINT64_C(1) << shift) - 1);
        half = UINT64_C(1) << (shift - 1);
    } else {
        q = 0;
        rem = 1; /* nonzero, far below half */
        half = UINT64_C(1) << 62;
    }
    uint64_t magnitude = ((uint64_t)(k + bias - 1) << m) + q;
    /* Ties go to the even code (for m = 0 that is the even exponent). */
    if (rem > half || (rem == half && half != 0 && (magnitude & 1)))
        magnitude++;
    *code = sign_bit | (magnitude > max_magnitude ? max_magnitude : (uint32_t)magnitude);
    return SIEVE_OK;
}

float sieve_cfloat_decode_ref(const sieve_format *fmt, uint32_t code)
{
    if (!is_valid_cfloat(fmt))
        return NAN;
    const int e = fmt->e_bits, m = fmt->m_bits, bias = fmt->bias;
    const uint32_t mantissa = code & ((1u << m) - 1);
    const uint32_t exponent = (code >> m) & ((1u << e) - 1);
    const int negative = fmt->is_signed && ((code >> (e + m)) & 1);
    /* value = significand * 2^(scale - m), significand < 2^24: exact. */
    const uint32_t significand = exponent ? (mantissa | (1u << m)) : mantissa;
    const int scale = exponent ? (int)exponent - bias : 1 - bias;
    const float magnitude = ldexpf((float)significand, scale - m);
    return negative ? -magnitude : magnitude;
}

/* ---- bulk codec: constants ---------------------------------------------- */

/* Everything the conversion loops need, derived once per call. */
typedef struct cfloat_codec {
    unsigned w;               /* code width */
    unsigned m;               /* mantissa bits */
    unsigned sign_shift;      /* e + m */
    uint32_t sign_flag;       /* 1 for signed formats */
    uint32_t unsigned_flag;   /* 1 for unsigned formats */
    uint32_t magnitude_mask;  /* (1 << (e+m)) - 1, also the largest magnitude code */
    uint32_t normal_min_code; /* 1 << m: E=1, M=0 */
    uint32_t exp_offset_bits; /* (127 - bias) << 23: custom E to fp32 exponent field */
    uint32_t sub_offset_bits; /* fp32 bits of 2^(1-bias) */
    uint32_t exp_offset_code; /* (127 - bias) << m */
    uint32_t normal_min_bits; /* fp32 bits of the smallest normal, 2^(1-bias) */
    uint32_t max_bits;        /* fp32 bits of the largest value */
    uint32_t round_shift;     /* 23 - m */
    uint32_t round_half_m1;   /* 2^(22-m) - 1, or 0 when m = 23 */
    uint32_t round_lsb_flag;  /* 1, or 0 when m = 23 */
    uint32_t round_lsb_flip;  /* m = 0: parity of 127 - bias, see encode */
    int32_t sub_shift_base;   /* 151 - bias - m */
} cfloat_codec;

static void codec_init(cfloat_codec *c, const sieve_format *fmt)
{
    const unsigned e = fmt->e_bits, m = fmt->m_bits;
    const int32_t bias = fmt->bias;
    c->w = sieve_format_width(fmt);
    c->m = m;
    c->sign_shift = e + m;
    c->sign_flag = fmt->is_signed ? 1 : 0;
    c->unsigned_flag = fmt->is_signed ? 0 : 1;
    c->magnitude_mask = (1u << (e + m)) - 1;
    c->normal_min_code = 1u << m;
    c->exp_offset_bits = (uint32_t)(FP32_EXP_BIAS - bias) << FP32_MANT_BITS;
    c->sub_offset_bits = (uint32_t)(FP32_EXP_BIAS + 1 - bias) << FP32_MANT_BITS;
    c->exp_offset_code = (uint32_t)(FP32_EXP_BIAS - bias) << m;
    c->normal_min_bits = c->sub_offset_bits;
    c->max_bits = ((uint32_t)(((1 << e) - 1) - bias + FP32_EXP_BIAS) << FP32_MANT_BITS) |
                  (((1u << m) - 1) << (FP32_MANT_BITS - m));
    c->round_shift = FP32_MANT_BITS - m;
    c->round_half_m1 = m < FP32_MANT_BITS ? (1u << (FP32_MANT_BITS - m - 1)) - 1 : 0;
    c->round_lsb_flag = m < FP32_MANT_BITS ? 1 : 0;
    c->round_lsb_flip = m == 0 ? (uint32_t)(FP32_EXP_BIAS - bias) & 1 : 0;
    c->sub_shift_base = FP32_EXP_BIAS + FP32_MANT_BITS + 1 - bias - (int32_t)m;
}

/* ---- bulk codec: bit streams --------------------------------------------- */

static inline uint64_t load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
#endif
}

static inline void store_le32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, sizeof(v));
#else
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* A position in a packed stream: byte index and bit offset 0..7. */
typedef struct bit_cursor {
    size_t byte;
    unsigned bit;
} bit_cursor;

/* Start of element `index` (bit index*w) without forming index*w, which
 * could overflow: 8 elements take exactly w bytes. */
static bit_cursor element_cursor(size_t index, unsigned w)
{
    const unsigned phase = (unsigned)(index % 8) * w;
    bit_cursor cur = {.byte = (index / 8) * w + phase / 8, .bit = phase % 8};
    return cur;
}

/* Extracts n codes starting at `cur`. Within each group of 8 elements the
 * byte and bit offsets repeat, so they are computed once; the loads of one
 * group are independent of each other. Reads up to 8 bytes from the start
 * byte of the last element (the stream's slack). */
static void read_codes(const uint8_t *src, bit_cursor cur, unsigned w, size_t n, uint32_t *codes)
{
    const uint64_t mask = (UINT64_C(1) << w) - 1;
    size_t offset[8];
    unsigned shift[8];
    for (unsigned j = 0; j < 8; j++) {
        offset[j] = (cur.bit + j * w) / 8;
        shift[j] = (cur.bit + j * w) % 8;
    }
    const uint8_t *group = src + cur.byte;
    size_t i = 0;
    for (; i + 8 <= n; i += 8, group += w)
        for (unsigned j = 0; j < 8; j++)
            codes[i + j] = (uint32_t)((load_le64(group + offset[j]) >> shift[j]) & mask);
    for (unsigned j = 0; j < n - i; j++) /* n - i < 8 */
        codes[i + j] = (uint32_t)((load_le64(group + offset[j]) >> shift[j]) & mask);
}

/* read_codes fused with a lookup of each code's value in a 2^w-entry
 * table: where the conversion loop cannot use SIMD (the portable level),
 * one load per element beats the arithmetic. */
static void read_values_via_table(const uint8_t *src, bit_cursor cur, unsigned w, size_t n,
                                  const float *table, float *dst)
{
    const uint64_t mask = (UINT64_C(1) << w) - 1;
    size_t offset[8];
    unsigned shift[8];
    for (unsigned j = 0; j < 8; j++) {
        offset[j] = (cur.bit + j * w) / 8;
        shift[j] = (cur.bit + j * w) % 8;
    }
    const uint8_t *group = src + cur.byte;
    size_t i = 0;
    for (; i + 8 <= n; i += 8, group += w)
        for (unsigned j = 0; j < 8; j++)
            dst[i + j] = table[(load_le64(group + offset[j]) >> shift[j]) & mask];
    for (unsigned j = 0; j < n - i; j++)
        dst[i + j] = table[(load_le64(group + offset[j]) >> shift[j]) & mask];
}

/* Inserts n codes starting at `cur`, keeping every bit outside them. Bytes
 * are written only where the new codes have bits. */
static void write_codes(uint8_t *dst, bit_cursor cur, unsigned w, size_t n, const uint32_t *codes)
{
    uint8_t *p = dst + cur.byte;
    const uint32_t keep_low = (1u << cur.bit) - 1;
    uint64_t acc = cur.bit ? (p[0] & keep_low) : 0;
    unsigned filled = cur.bit;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)codes[i] << filled;
        filled += w;
        if (filled >= 32) {
            store_le32(p, (uint32_t)acc);
            p += 4;
            acc >>= 32;
            filled -= 32;
        }
    }
    for (; filled >= 8; filled -= 8, acc >>= 8)
        *p++ = (uint8_t)acc;
    if (filled) {
        const uint8_t low = (uint8_t)((1u << filled) - 1);
        *p = (uint8_t)((*p & ~low) | (acc & low));
    }
}

/* Advances a cursor by `count` elements, a multiple of 8: the bit phase
 * stays the same. */
static bit_cursor cursor_advance(bit_cursor cur, unsigned w, size_t count)
{
    cur.byte += (count / 8) * w;
    return cur;
}

/* ---- bulk codec: portable conversion loops ------------------------------- */

#if defined(__GNUC__)
#define SIEVE_INLINE static inline __attribute__((always_inline))
#else
#define SIEVE_INLINE static inline
#endif

/* codes -> fp32, branch-free. Normals get the fp32 exponent field
 * E - bias + 127 and mantissa M << (23-m). A subnormal code (E = 0) is
 * built as if E were 1 and then 2^(1-bias) is subtracted: the difference
 * 2^(1-bias) * M/2^m is exact (Sterbenz) and a normal fp32 or zero --
 * a zero that is -0 when the FPU rounds downward, hence the sign is
 * cleared before the code's own is set. */
SIEVE_INLINE void decode_codes_body(const cfloat_codec *c, const uint32_t *restrict codes, size_t n,
                                    float *restrict dst)
{
    const uint32_t magnitude_mask = c->magnitude_mask, normal_min_code = c->normal_min_code;
    const uint32_t exp_offset_bits = c->exp_offset_bits, sub_offset_bits = c->sub_offset_bits;
    const uint32_t sign_shift = c->sign_shift, sign_flag = c->sign_flag;
    const uint32_t mant_shift = FP32_MANT_BITS - c->m;
    for (size_t i = 0; i < n; i++) {
        const uint32_t code = codes[i];
        const uint32_t magnitude = code & magnitude_mask;
        const uint32_t sub = (uint32_t)0 - (uint32_t)(magnitude < normal_min_code);
        const uint32_t bits =
            ((magnitude | (sub & normal_min_code)) << mant_shift) + exp_offset_bits;
        const float value = bits_f32(bits) - bits_f32(sub & sub_offset_bits);
        const uint32_t sign = ((code >> sign_shift) & sign_flag) << 31;
        dst[i] = bits_f32((f32_bits(value) & FP32_ABS_MASK) | sign);
    }
}

/* fp32 -> codes, branch-free, rounding to nearest even in integers on the
 * fp32 bits (independent of the FPU's rounding and flush-to-zero modes).
 * Returns nonzero if any element is NaN, or negative in an unsigned format. */
SIEVE_INLINE uint32_t encode_codes_body(const cfloat_codec *c, const float *restrict src, size_t n,
                                        uint32_t *restrict codes)
{
    const uint32_t sign_shift = c->sign_shift, sign_flag = c->sign_flag;
    const uint32_t unsigned_flag = c->unsigned_flag, magnitude_mask = c->magnitude_mask;
    const uint32_t exp_offset_code = c->exp_offset_code, normal_min_bits = c->normal_min_bits;
    const uint32_t max_bits = c->max_bits, round_shift = c->round_shift;
    const uint32_t round_half_m1 = c->round_half_m1, round_lsb_flag = c->round_lsb_flag;
    const uint32_t round_lsb_flip = c->round_lsb_flip;
    const int32_t sub_shift_base = c->sub_shift_base;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t bits = f32_bits(src[i]);
        const uint32_t sign = bits >> 31;
        const uint32_t a = bits & FP32_ABS_MASK;
        bad |= (uint32_t)(a > FP32_INF_BITS) | (sign & unsigned_flag & (uint32_t)(a != 0));

        /* Normal range: round the fp32 mantissa to m bits; a carry moves
         * into the exponent field, which is what rounding up should do.
         * The tie-breaking bit is the code's lowest bit: the lowest kept
         * bit of `a`, except for m = 0 where it is the fp32 exponent's,
         * whose parity differs from the code's when 127 - bias is odd. */
        const uint32_t lsb = ((a >> round_shift) ^ round_lsb_flip) & round_lsb_flag;
        const uint32_t rounded = a + round_half_m1 + lsb;
        const uint32_t normal = (rounded >> round_shift) - exp_offset_code;

        /* Subnormal range: code = |x| / 2^(1-bias-m) rounded, from the
         * fp32 significand shifted right by 1..31. */
        const uint32_t biased = a >> FP32_MANT_BITS;
        const uint32_t significand = (a & 0x7fffffu) | ((uint32_t)(biased != 0) << FP32_MANT_BITS);
        int32_t shift = sub_shift_base - (int32_t)(biased | (biased == 0));
        shift = shift < 1 ? 1 : shift > 31 ? 31 : shift;
        const uint32_t half_m1 = (1u << (shift - 1)) - 1;
        const uint32_t subnormal = (significand + half_m1 + ((significand >> shift) & 1)) >> shift;

        uint32_t magnitude = a >= normal_min_bits ? normal : subnormal;
        magnitude = a >= max_bits ? magnitude_mask : magnitude;
        codes[i] = magnitude | ((sign & sign_flag) << sign_shift);
    }
    return bad;
}

static void decode_codes_portable(const cfloat_codec *c, const uint32_t *codes, size_t n,
                                  float *dst)
{
    decode_codes_body(c, codes, n, dst);
}

static uint32_t encode_codes_portable(const cfloat_codec *c, const float *src, size_t n,
                                      uint32_t *codes)
{
    return encode_codes_body(c, src, n, codes);
}

/* ---- bulk codec: x86-64 ------------------------------------------------------ */

#if defined(__x86_64__) && defined(__GNUC__)
#define SIEVE_CFLOAT_X86 1
#include <immintrin.h>

#define SIEVE_TARGET_AVX2 __attribute__((target("avx2,bmi2")))
#define SIEVE_TARGET_AVX512                                                                        \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi,avx2,bmi2")))
/* The same with AVX-512 BF16, for the byte-table dot kernels: they run
 * vdpbf16ps only in their bf16 instances (sieve_dot_plan_vecs_bf16); the
 * others are compiled with the flag too but hold no bf16 instruction, as
 * nothing in them converts to bf16. */
#define SIEVE_TARGET_AVX512_BF16                                                                   \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi,avx512bf16,avx2,bmi2")))

/* The portable loops, compiled for wider vectors. */
SIEVE_TARGET_AVX2 static void decode_codes_avx2(const cfloat_codec *c, const uint32_t *codes,
                                                size_t n, float *dst)
{
    decode_codes_body(c, codes, n, dst);
}

SIEVE_TARGET_AVX2 static uint32_t encode_codes_avx2(const cfloat_codec *c, const float *src,
                                                    size_t n, uint32_t *codes)
{
    return encode_codes_body(c, src, n, codes);
}

SIEVE_TARGET_AVX512 static void decode_codes_avx512(const cfloat_codec *c, const uint32_t *codes,
                                                    size_t n, float *dst)
{
    decode_codes_body(c, codes, n, dst);
}

/* encode_codes_body in AVX-512 registers, 16 elements per step. The
 * subnormal range (below the format's smallest normal) is not shifted and
 * rounded in integers but scaled to units of the subnormal step by an
 * exact power-of-two multiply and converted with round-to-nearest-even
 * embedded in the instruction (so MXCSR's rounding mode does not matter);
 * an fp32 denormal input, which DAZ would read as zero, only matters for a
 * format whose step is 2^-126 (it is code 1 above 2^-127) and is set
 * explicitly. Saturation is an unsigned minimum: the rounded normal code
 * grows with |x| and is the largest magnitude code at the largest value's
 * bits, so min(code, largest) equals "largest for |x| >= the largest
 * value" everywhere (infinities and NaNs included). About half the
 * instructions of the integer path. Formats whose scale 2^(bias-1+m) is
 * not a normal fp32 take the portable loop. */
typedef struct encode_avx512 {
    __m512 scale;
    /* round_half_offset: half an m-bit step less one, less the exponent
     * offset at its place (exp_offset_code << round_shift), so that one
     * shift of the rounded bits gives the code (bias <= 127 - m for a
     * valid format: no lane wraps) */
    __m512i abs_mask, inf_bits, round_half_offset, lsb_flip, lsb_flag;
    __m512i normal_min_bits, magnitude_mask, sign_bit, half_denormal, smallest_normal;
    __m128i round_shift, sign_to_code;
    bool step_is_2m126, unsigned_flag;
} encode_avx512;

/* False when the format takes the portable loop (see above). */
SIEVE_TARGET_AVX512 SIEVE_INLINE bool encode_avx512_init(const cfloat_codec *c, encode_avx512 *k)
{
    const int32_t scale_exp = FP32_EXP_BIAS + FP32_MANT_BITS - c->sub_shift_base; /* bias+m-1 */
    const int32_t scale_biased = scale_exp + FP32_EXP_BIAS;
    if (scale_biased < 1 || scale_biased > 254)
        return false;
    k->scale = _mm512_castsi512_ps(_mm512_set1_epi32(scale_biased << FP32_MANT_BITS));
    k->abs_mask = _mm512_set1_epi32((int)FP32_ABS_MASK);
    k->inf_bits = _mm512_set1_epi32((int)FP32_INF_BITS);
    k->round_half_offset =
        _mm512_set1_epi32((int)(c->round_half_m1 - (c->exp_offset_code << c->round_shift)));
    k->lsb_flip = _mm512_set1_epi32((int)c->round_lsb_flip);
    k->lsb_flag = _mm512_set1_epi32((int)c->round_lsb_flag);
    k->normal_min_bits = _mm512_set1_epi32((int)c->normal_min_bits);
    k->magnitude_mask = _mm512_set1_epi32((int)c->magnitude_mask);
    k->sign_bit = _mm512_set1_epi32((int)(c->sign_flag << c->sign_shift));
    k->half_denormal = _mm512_set1_epi32(0x00400000); /* 2^-127 */
    k->smallest_normal = _mm512_set1_epi32(0x00800000);
    k->step_is_2m126 = scale_exp == 126;
    k->unsigned_flag = c->unsigned_flag != 0;
    k->round_shift = _mm_cvtsi32_si128((int)c->round_shift);
    k->sign_to_code = _mm_cvtsi32_si128((int)(31 - c->sign_shift));
    return true;
}

/* The body, for a format with a sign bit or, `nonneg`, for an unsigned
 * format's codes where any set sign bit (-0 too) counts as bad: the
 * absolute value and the sign are then no work at all (the tile encoder,
 * whose callers fall back to the bulk encoder when it says no). */
SIEVE_TARGET_AVX512 SIEVE_INLINE __m512i encode16_body_avx512(const encode_avx512 *k, __m512i bits,
                                                              __mmask16 lanes, __mmask16 *bad,
                                                              const bool nonneg)
{
    const __m512i a = nonneg ? bits : _mm512_and_si512(bits, k->abs_mask);
    *bad |= _mm512_mask_cmpgt_epu32_mask(lanes, a, k->inf_bits);
    if (!nonneg && k->unsigned_flag)
        *bad |= _mm512_mask_test_epi32_mask(_mm512_movepi32_mask(bits) & lanes, a, a);
    /* normal range: integer round to m mantissa bits, then saturate */
    const __m512i lsb = _mm512_ternarylogic_epi32(_mm512_srl_epi32(a, k->round_shift), k->lsb_flip,
                                                  k->lsb_flag, 0x28); /* (a ^ b) & c */
    const __m512i rounded = _mm512_add_epi32(_mm512_add_epi32(a, k->round_half_offset), lsb);
    __m512i magnitude =
        _mm512_min_epu32(_mm512_srl_epi32(rounded, k->round_shift), k->magnitude_mask);
    /* subnormal range: |x| / step, rounded to nearest even */
    const __mmask16 sub = _mm512_cmplt_epu32_mask(a, k->normal_min_bits);
    const __m512 steps = _mm512_mul_round_ps(_mm512_castsi512_ps(a), k->scale,
                                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    magnitude = _mm512_mask_cvt_roundps_epu32(magnitude, sub, steps,
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    if (k->step_is_2m126) {
        const __mmask16 denormal_up = _mm512_cmpgt_epu32_mask(a, k->half_denormal) &
                                      _mm512_cmplt_epu32_mask(a, k->smallest_normal);
        magnitude = _mm512_mask_mov_epi32(magnitude, denormal_up, _mm512_set1_epi32(1));
    }
    if (nonneg)
        return magnitude;
    return _mm512_ternarylogic_epi32(magnitude, _mm512_srl_epi32(bits, k->sign_to_code),
                                     k->sign_bit, 0xf8); /* a | (b & c) */
}

/* The codes of the fp32 lanes `bits` (lanes outside `lanes` give garbage);
 * ORs into *bad the lanes that are NaN, or negative in an unsigned format. */
SIEVE_TARGET_AVX512 SIEVE_INLINE __m512i encode16_avx512(const encode_avx512 *k, __m512i bits,
                                                         __mmask16 lanes, __mmask16 *bad)
{
    return encode16_body_avx512(k, bits, lanes, bad, false);
}

SIEVE_TARGET_AVX512 static uint32_t encode_codes_avx512(const cfloat_codec *c, const float *src,
                                                        size_t n, uint32_t *codes)
{
    encode_avx512 k;
    if (!encode_avx512_init(c, &k))
        return encode_codes_body(c, src, n, codes);
    __mmask16 bad = 0;
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 lanes = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512i code =
            encode16_avx512(&k, _mm512_maskz_loadu_epi32(lanes, src + i), lanes, &bad);
        _mm512_mask_storeu_epi32(codes + i, lanes, code);
    }
    return bad != 0;
}

/* Fused extract + convert. Codes up to 25 bits wide: with the bit phase
 * (at most 7) a code lies within the 4 bytes starting at its first byte,
 * so a byte shuffle puts each code's 4 bytes into its 32-bit lane, and a
 * per-lane shift and mask finish the extraction. Within a stream the byte
 * pattern repeats every 8 elements (w bytes). The conversion is the one of
 * decode_codes_body, lane-wise. */
#define SIMD_MAX_WIDTH 25

SIEVE_TARGET_AVX2 static size_t unpack_avx2(const cfloat_codec *c, const uint8_t *src,
                                            bit_cursor cur, size_t n, float *dst)
{
    const unsigned w = c->w, phase = cur.bit;
    if (w > SIMD_MAX_WIDTH || n < 8)
        return 0;
    /* Lanes 0-3 read a 16-byte window at the group's first byte, lanes
     * 4-7 one at the first byte of element 4. Lane j's code starts at bit
     * phase + j*w: it takes the 4 bytes from that bit's byte on. */
    const unsigned high_window = (phase + 4 * w) / 8;
    const __m256i bit = _mm256_add_epi32(
        _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)w)),
        _mm256_set1_epi32((int)phase));
    const __m256i window_byte = _mm256_sub_epi32(
        _mm256_srli_epi32(bit, 3), _mm256_setr_epi32(0, 0, 0, 0, (int)high_window, (int)high_window,
                                                     (int)high_window, (int)high_window));
    const __m256i pick_v =
        _mm256_add_epi32(_mm256_mullo_epi32(window_byte, _mm256_set1_epi32(0x01010101)),
                         _mm256_set1_epi32(0x03020100));
    const __m256i shift_v = _mm256_and_si256(bit, _mm256_set1_epi32(7));
    /* Only groups whose windows end within the bytes the stream guarantees
     * readable: 8 past the first byte of element n-1. */
    const size_t last = n - 1;
    const size_t readable = (last / 8) * w + (phase + (last % 8) * w) / 8 + SIEVE_PACK_SLACK;
    const size_t window_end = high_window + 16;
    if (readable < window_end)
        return 0;
    const size_t groups = SIEVE_MIN(n / 8, (readable - window_end) / w + 1);

    const __m256i code_mask = _mm256_set1_epi32((int)((1u << w) - 1));
    const __m256i magnitude_mask = _mm256_set1_epi32((int)c->magnitude_mask);
    const __m256i normal_min_code = _mm256_set1_epi32((int)c->normal_min_code);
    const __m256i exp_offset_bits = _mm256_set1_epi32((int)c->exp_offset_bits);
    const __m256i sub_offset_bits = _mm256_set1_epi32((int)c->sub_offset_bits);
    const __m256i sign_flag = _mm256_set1_epi32((int)c->sign_flag);
    const __m256i abs_mask = _mm256_set1_epi32((int)FP32_ABS_MASK);
    const __m128i mant_shift = _mm_cvtsi32_si128((int)(FP32_MANT_BITS - c->m));
    const __m128i sign_shift = _mm_cvtsi32_si128((int)c->sign_shift);
    const uint8_t *group = src + cur.byte;
    for (size_t g = 0; g < groups; g++, group += w) {
        const __m128i low = _mm_loadu_si128((const __m128i *)group);
        const __m128i high = _mm_loadu_si128((const __m128i *)(group + high_window));
        const __m256i bytes = _mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1);
        const __m256i code = _mm256_and_si256(
            _mm256_srlv_epi32(_mm256_shuffle_epi8(bytes, pick_v), shift_v), code_mask);

        const __m256i magnitude = _mm256_and_si256(code, magnitude_mask);
        const __m256i sub = _mm256_cmpgt_epi32(normal_min_code, magnitude);
        const __m256i bits = _mm256_add_epi32(
            _mm256_sll_epi32(_mm256_or_si256(magnitude, _mm256_and_si256(sub, normal_min_code)),
                             mant_shift),
            exp_offset_bits);
        const __m256 value = _mm256_sub_ps(
            _mm256_castsi256_ps(bits), _mm256_castsi256_ps(_mm256_and_si256(sub, sub_offset_bits)));
        const __m256i sign =
            _mm256_slli_epi32(_mm256_and_si256(_mm256_srl_epi32(code, sign_shift), sign_flag), 31);
        _mm256_storeu_ps(dst + 8 * g,
                         _mm256_castsi256_ps(_mm256_or_si256(
                             _mm256_and_si256(_mm256_castps_si256(value), abs_mask), sign)));
    }
    return groups * 8;
}

SIEVE_TARGET_AVX512 static size_t unpack_arith_avx512(const cfloat_codec *c, const uint8_t *src,
                                                      bit_cursor cur, size_t n, float *dst);

/* Runs shorter than this take the arithmetic path: the byte tables cost
 * the decode of 256 (16) codes and some shuffles to set up, which longer
 * runs repay (bench_cfloat: 512-element runs were still slower). */
#define BF16_TABLE_MIN_RUN 1024

/* Codes of at most 8 bits from a byte boundary, 64 per step: every value
 * of such a format is exactly a bf16 (m <= 7), so the high and low bytes
 * of that bf16 are looked up for all 64 codes at once (vpermi2b over 2 x
 * 128 entries, or vpshufb over 16 for 4 bits), and each 16 floats are one
 * vpermt2b of the two byte planes into bytes 2 and 3 of their lanes.
 * Widths other than 8 and 4 are first widened to a byte per code
 * (widen_codes_avx512). */
/* The byte tables of a format of at most 8 bits: high and low byte of
 * each code's value (bf16-exact), decoded by the arithmetic path; 256
 * entries for 8 bits, 16 for 4 (broadcast to each 128-bit lane), else 128
 * (codes of fewer bits repeated). */
SIEVE_TARGET_AVX512 static void bf16_tables_avx512(const cfloat_codec *c, __m512i high_table[4],
                                                   __m512i low_table[4])
{
    const unsigned w = c->w;
    /* the tables: every code decoded by the arithmetic path, then the top
     * two bytes of each value */
    uint32_t codes[256];
    float values[256];
    const unsigned count = w == 8 ? 256 : w == 4 ? 16 : 128;
    for (unsigned i = 0; i < count; i++) /* entry i: code i mod 2^w */
        codes[i] = i & ((1u << w) - 1);
    decode_codes_avx512(c, codes, count, values);
    for (int t = 0; t < 4; t++)
        high_table[t] = low_table[t] = _mm512_setzero_si512();
    for (unsigned t = 0; t < count / 16; t++) {
        const __m512i bits = _mm512_loadu_si512(values + 16 * t);
        const __m128i high = _mm512_cvtepi32_epi8(_mm512_srli_epi32(bits, 24));
        const __m128i low = _mm512_cvtepi32_epi8(_mm512_srli_epi32(bits, 16));
        const int lane = (int)(t % 4);
        /* 16 bytes into quarter `lane` of table register t / 4 */
        switch (lane) {
        case 0:
            high_table[t / 4] = _mm512_inserti32x4(high_table[t / 4], high, 0);
            low_table[t / 4] = _mm512_inserti32x4(low_table[t / 4], low, 0);
            break;
        case 1:
            high_table[t / 4] = _mm512_inserti32x4(high_table[t / 4], high, 1);
            low_table[t / 4] = _mm512_inserti32x4(low_table[t / 4], low, 1);
            break;
        case 2:
            high_table[t / 4] = _mm512_inserti32x4(high_table[t / 4], high, 2);
            low_table[t / 4] = _mm512_inserti32x4(low_table[t / 4], low, 2);
            break;
        default:
            high_table[t / 4] = _mm512_inserti32x4(high_table[t / 4], high, 3);
            low_table[t / 4] = _mm512_inserti32x4(low_table[t / 4], low, 3);
            break;
        }
    }
    if (w == 4) { /* vpshufb reads 16 entries per 128-bit lane */
        high_table[0] = _mm512_broadcast_i32x4(_mm512_castsi512_si128(high_table[0]));
        low_table[0] = _mm512_broadcast_i32x4(_mm512_castsi512_si128(low_table[0]));
    }
}

/* Codes of w < 8 bits widened to a byte each: eight codes fill w whole
 * bytes, so qword q of the result gathers stream bytes q*w.. (vpermb),
 * its byte j takes the 8 bits from bit j*w on (vpmultishiftqb), and a
 * mask keeps w of them. */
typedef struct widen_avx512 {
    __m512i gather, shift, mask;
} widen_avx512;

SIEVE_TARGET_AVX512 SIEVE_INLINE widen_avx512 widen_init_avx512(unsigned w)
{
    const uint64_t bytes = UINT64_C(0x0706050403020100), ones = UINT64_C(0x0101010101010101);
    widen_avx512 wd;
    wd.gather = _mm512_add_epi64(
        _mm512_set1_epi64((long long)bytes),
        _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7),
                           _mm512_set1_epi64((long long)(w * ones))));
    wd.shift = _mm512_set1_epi64((long long)(w * bytes));
    wd.mask = _mm512_set1_epi8((char)((1u << w) - 1));
    return wd;
}

/* The `len` (at most 64) codes from byte p on, one per byte; the bytes
 * past the codes' are not read. */
SIEVE_TARGET_AVX512 SIEVE_INLINE __m512i widen_codes_avx512(const widen_avx512 *wd, unsigned w,
                                                            const uint8_t *p, size_t len)
{
    const size_t bytes = (len * w + 7) / 8;
    const __mmask64 load = bytes == 64 ? ~(__mmask64)0 : ((__mmask64)1 << bytes) - 1;
    const __m512i qwords = _mm512_permutexvar_epi8(wd->gather, _mm512_maskz_loadu_epi8(load, p));
    return _mm512_and_si512(_mm512_multishift_epi64_epi8(wd->shift, qwords), wd->mask);
}

/* The bf16 high and low bytes of the values of the `len` (at most 64)
 * codes from byte p on. sign_magnitude: an 8-bit signed format, whose
 * code's value is its magnitude's with the sign bit set: one 128-entry
 * lookup per byte plane and the sign OR-ed into the high byte. */
SIEVE_TARGET_AVX512 SIEVE_INLINE void bf16_bytes_avx512(unsigned w, bool sign_magnitude,
                                                         const __m512i high_table[4],
                                                         const __m512i low_table[4],
                                                         const widen_avx512 *wd,
                                                         const uint8_t *p, size_t len,
                                                         __m512i *high, __m512i *low)
{
    const size_t bytes = (len * w + 7) / 8;
    const __mmask64 load = bytes == 64 ? ~(__mmask64)0 : ((__mmask64)1 << bytes) - 1;
    if (w != 8 && w != 4) { /* 128 entries cover every code, sign included */
        const __m512i code = widen_codes_avx512(wd, w, p, len);
        *high = _mm512_permutex2var_epi8(high_table[0], code, high_table[1]);
        *low = _mm512_permutex2var_epi8(low_table[0], code, low_table[1]);
    } else if (w == 8 && sign_magnitude) {
        const __m512i sign_bits = _mm512_set1_epi8((char)0x80);
        const __m512i code = _mm512_maskz_loadu_epi8(load, p);
        *high = _mm512_ternarylogic_epi32(
            _mm512_permutex2var_epi8(high_table[0], code, high_table[1]), code, sign_bits,
            0xf8); /* a | (b & c) */
        *low = _mm512_permutex2var_epi8(low_table[0], code, low_table[1]);
    } else if (w == 8) {
        const __m512i code = _mm512_maskz_loadu_epi8(load, p);
        const __mmask64 top = _mm512_movepi8_mask(code);
        *high = _mm512_mask_blend_epi8(
            top, _mm512_permutex2var_epi8(high_table[0], code, high_table[1]),
            _mm512_permutex2var_epi8(high_table[2], code, high_table[3]));
        *low = _mm512_mask_blend_epi8(top,
                                      _mm512_permutex2var_epi8(low_table[0], code, low_table[1]),
                                      _mm512_permutex2var_epi8(low_table[2], code, low_table[3]));
    } else {
        /* byte j of the stream -> word j -> bytes (low nibble, high nibble) */
        const __m512i nibble_low = _mm512_set1_epi16(0x000f),
                      nibble_high = _mm512_set1_epi16(0x0f00);
        const __m512i words = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8((__mmask32)load, p));
        const __m512i code = _mm512_or_si512(_mm512_and_si512(words, nibble_low),
                                             _mm512_and_si512(_mm512_slli_epi16(words, 4),
                                                              nibble_high));
        *high = _mm512_shuffle_epi8(high_table[0], code);
        *low = _mm512_shuffle_epi8(low_table[0], code);
    }
}

/* sign_magnitude: an 8-bit signed format, whose code's value is its
 * magnitude's with the sign bit set: one 128-entry lookup per byte plane
 * and the sign OR-ed into the high byte. */
SIEVE_TARGET_AVX512 static size_t unpack_bf16_loop_avx512(unsigned w, bool sign_magnitude,
                                                          const __m512i high_table[4],
                                                          const __m512i low_table[4],
                                                          const uint8_t *src, bit_cursor cur,
                                                          size_t n, float *dst)
{
    /* output vector t: lane j gets low byte 16t+j in byte 2, high in byte 3 */
    __m512i place[4];
    const __m512i lane_index = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(0x01010000));
    for (int t = 0; t < 4; t++)
        place[t] = _mm512_add_epi32(lane_index, _mm512_set1_epi32((16 * t) << 16 |
                                                                  (64 + 16 * t) << 24));
    const __mmask64 upper_half_words = UINT64_C(0xcccccccccccccccc);
    const widen_avx512 wd = widen_init_avx512(w);
    const uint8_t *p = src + cur.byte;
    for (size_t i = 0; i < n; i += 64) {
        const size_t len = SIEVE_MIN((size_t)64, n - i);
        __m512i high, low;
        bf16_bytes_avx512(w, sign_magnitude, high_table, low_table, &wd, p, len, &high, &low);
        for (size_t t = 0; 16 * t < len; t++) {
            const size_t lanes = SIEVE_MIN((size_t)16, len - 16 * t);
            const __m512i value =
                _mm512_maskz_permutex2var_epi8(upper_half_words, low, place[t], high);
            _mm512_mask_storeu_epi32(dst + i + 16 * t, (__mmask16)((1u << lanes) - 1), value);
        }
        p += 8 * w;
    }
    return n;
}

/* The same values as bf16 (their high halves), 64 per step. */
SIEVE_TARGET_AVX512 static void unpack_bf16_words_loop_avx512(unsigned w, bool sign_magnitude,
                                                             const __m512i high_table[4],
                                                             const __m512i low_table[4],
                                                             const uint8_t *src, bit_cursor cur,
                                                             size_t n, uint16_t *dst)
{
    /* word j of half h: low byte 32h+j, high byte (64 +) 32h+j */
    uint8_t order[2][64];
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 32; j++) {
            order[h][2 * j] = (uint8_t)(32 * h + j);
            order[h][2 * j + 1] = (uint8_t)(64 + 32 * h + j);
        }
    const __m512i first_half = _mm512_loadu_si512(order[0]);
    const __m512i second_half = _mm512_loadu_si512(order[1]);
    const widen_avx512 wd = widen_init_avx512(w);
    const uint8_t *p = src + cur.byte;
    for (size_t i = 0; i < n; i += 64) {
        const size_t len = SIEVE_MIN((size_t)64, n - i);
        __m512i high, low;
        bf16_bytes_avx512(w, sign_magnitude, high_table, low_table, &wd, p, len, &high, &low);
        const size_t n0 = SIEVE_MIN(len, (size_t)32), n1 = len - n0;
        _mm512_mask_storeu_epi16(dst + i, n0 == 32 ? ~(__mmask32)0 : ((__mmask32)1 << n0) - 1,
                                 _mm512_permutex2var_epi8(low, first_half, high));
        if (n1)
            _mm512_mask_storeu_epi16(dst + i + 32,
                                     n1 == 32 ? ~(__mmask32)0 : ((__mmask32)1 << n1) - 1,
                                     _mm512_permutex2var_epi8(low, second_half, high));
        p += 8 * w;
    }
}

SIEVE_TARGET_AVX512 static size_t unpack_bf16_avx512(const cfloat_codec *c, const uint8_t *src,
                                                     bit_cursor cur, size_t n, float *dst)
{
    __m512i high_table[4], low_table[4];
    bf16_tables_avx512(c, high_table, low_table);
    return unpack_bf16_loop_avx512(c->w, c->sign_flag != 0, high_table, low_table, src, cur, n,
                                   dst);
}

SIEVE_TARGET_AVX512 static size_t unpack_avx512(const cfloat_codec *c, const uint8_t *src,
                                                bit_cursor cur, size_t n, float *dst)
{
    if (cur.bit == 0 && c->w <= 8 && n >= BF16_TABLE_MIN_RUN)
        return unpack_bf16_avx512(c, src, cur, n, dst);
    return unpack_arith_avx512(c, src, cur, n, dst);
}

/* Sixteen codes (2w bytes) per step, gathered with vpermb from one
 * masked load: masked-off bytes are never read, so the loads stay within
 * the stream and the last partial step needs no scalar tail. */
SIEVE_TARGET_AVX512 static size_t unpack_arith_avx512(const cfloat_codec *c, const uint8_t *src,
                                                      bit_cursor cur, size_t n, float *dst)
{
    const unsigned w = c->w, phase = cur.bit;
    if (w > SIMD_MAX_WIDTH)
        return 0;
    /* Lane j's code starts at bit phase + j*w: it takes the 4 bytes from
     * that bit's byte on. */
    const __m512i bit = _mm512_add_epi32(
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)w)),
        _mm512_set1_epi32((int)phase));
    const __m512i pick_v = _mm512_add_epi32(
        _mm512_mullo_epi32(_mm512_srli_epi32(bit, 3), _mm512_set1_epi32(0x01010101)),
        _mm512_set1_epi32(0x03020100));
    const __m512i shift_v = _mm512_and_si512(bit, _mm512_set1_epi32(7));
    const __m512i code_mask = _mm512_set1_epi32((int)((1u << w) - 1));
    const __m512i magnitude_mask = _mm512_set1_epi32((int)c->magnitude_mask);
    const __m512i normal_min_code = _mm512_set1_epi32((int)c->normal_min_code);
    const __m512i exp_offset_bits = _mm512_set1_epi32((int)c->exp_offset_bits);
    const __m512 sub_offset = _mm512_castsi512_ps(_mm512_set1_epi32((int)c->sub_offset_bits));
    const __m512i sign_flag = _mm512_set1_epi32((int)c->sign_flag);
    const __m512i abs_mask = _mm512_set1_epi32((int)FP32_ABS_MASK);
    const __m128i mant_shift = _mm_cvtsi32_si128((int)(FP32_MANT_BITS - c->m));
    const __m128i sign_shift = _mm_cvtsi32_si128((int)c->sign_shift);
    /* Bytes a step of `count` elements reads: to the 4th byte of the last. */
#define STEP_LOAD_MASK(count)                                                                      \
    ((__mmask64)((UINT64_C(1) << ((phase + ((count)-1) * w) / 8 + 4)) - 1))
    const __mmask64 full_load = STEP_LOAD_MASK(16);

    const uint8_t *step = src + cur.byte;
    for (size_t i = 0; i < n; i += 16, step += 2 * w) {
        const size_t count = SIEVE_MIN((size_t)16, n - i);
        const __mmask64 load = count == 16 ? full_load : STEP_LOAD_MASK(count);
        const __mmask16 store = (__mmask16)((1u << count) - 1);
        const __m512i bytes = _mm512_maskz_loadu_epi8(load, step);
        const __m512i code = _mm512_and_si512(
            _mm512_srlv_epi32(_mm512_permutexvar_epi8(pick_v, bytes), shift_v), code_mask);

        const __m512i magnitude = _mm512_and_si512(code, magnitude_mask);
        const __mmask16 sub = _mm512_cmplt_epu32_mask(magnitude, normal_min_code);
        const __m512i bits = _mm512_add_epi32(
            _mm512_sll_epi32(_mm512_mask_or_epi32(magnitude, sub, magnitude, normal_min_code),
                             mant_shift),
            exp_offset_bits);
        const __m512 value = _mm512_mask_sub_ps(_mm512_castsi512_ps(bits), sub,
                                                _mm512_castsi512_ps(bits), sub_offset);
        const __m512i sign =
            _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(code, sign_shift), sign_flag), 31);
        _mm512_mask_storeu_ps(
            dst + i, store,
            _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(value), abs_mask,
                                                          sign, 0xea))); /* a & b | c */
    }
#undef STEP_LOAD_MASK
    return n;
}

/* Fused encode + insert, sixteen codes (2w bytes) per step. Lane j's code,
 * shifted left by its bit phase, spans at most 4 bytes from byte
 * (phase + j*w)/8 of the step; each output byte ORs the bytes that land
 * on it, gathered with vpermb in `rounds` passes (a byte meets at most
 * 1 + ceil(7/w) codes). The step's last, partial byte (the bit phase of
 * the next step) is carried in a register into the next step's first
 * byte; the bytes of the stream outside the elements are never written.
 * Stops before a chunk holding NaN or a negative for an unsigned format
 * and returns how many elements it stored (a multiple of CHUNK), leaving
 * the portable loop to report the offender. */
/* 8- and 4-bit codes from a byte boundary, encoded in registers and
 * stored without a round trip through a codes buffer: 8-bit codes are
 * bytes, narrowed from the encoded lanes; 4-bit ones are paired into bytes
 * (32 codes per step), and an odd last code keeps the high nibble of its
 * byte. Stops before a step holding NaN or a negative for an unsigned
 * format and returns how many elements it stored (a multiple of 16),
 * leaving the portable loop to report the offender; otherwise the
 * contract of pack_avx512. */
/* Codes of w < 8 bits other than 4, 64 per step: encoded into bytes, then
 * narrowed by merging neighbours (pairs of bytes into 2w bits per word,
 * pairs of words into 4w per dword, of dwords into 8w per qword), each
 * qword's w low bytes gathered together (vpermb) and stored: the inverse
 * of widen_codes_avx512. The last partial byte keeps the stream's bits
 * past the elements. Contract of pack_bytes_avx512. */
SIEVE_TARGET_AVX512 static size_t pack_narrow_avx512(const encode_avx512 *k, unsigned w,
                                                     const float *src, size_t n, uint8_t *dst)
{
    uint8_t order[64] = {0};
    for (unsigned q = 0; q < 8; q++)
        for (unsigned b = 0; b < w; b++)
            order[q * w + b] = (uint8_t)(8 * q + b);
    const __m512i gather = _mm512_loadu_si512(order);
    const __m128i by_w = _mm_cvtsi32_si128((int)w), by_2w = _mm_cvtsi32_si128(2 * (int)w),
                  by_4w = _mm_cvtsi32_si128(4 * (int)w);
    const __m512i low_bytes = _mm512_set1_epi16(0x00ff), low_words = _mm512_set1_epi32(0xffff),
                  low_dwords = _mm512_set1_epi64(0xffffffff);
    uint8_t *out = dst;
    for (size_t i = 0; i < n; i += 64, out += 8 * w) {
        const size_t count = SIEVE_MIN((size_t)64, n - i);
        const uint64_t lanes = count == 64 ? ~UINT64_C(0) : (UINT64_C(1) << count) - 1;
        __m128i quarter[4];
        __mmask16 bad = 0;
        for (int q = 0; q < 4; q++) {
            const __mmask16 m = (__mmask16)(lanes >> (16 * q));
            quarter[q] = _mm512_cvtepi32_epi8(
                encode16_avx512(k, _mm512_maskz_loadu_epi32(m, src + i + 16 * q), m, &bad));
        }
        if (bad)
            return i;
        __m512i x = _mm512_castsi128_si512(quarter[0]);
        x = _mm512_inserti32x4(x, quarter[1], 1);
        x = _mm512_inserti32x4(x, quarter[2], 2);
        x = _mm512_inserti32x4(x, quarter[3], 3);
        x = _mm512_or_si512(_mm512_and_si512(x, low_bytes),
                            _mm512_sll_epi16(_mm512_srli_epi16(x, 8), by_w));
        x = _mm512_or_si512(_mm512_and_si512(x, low_words),
                            _mm512_sll_epi32(_mm512_srli_epi32(x, 16), by_2w));
        x = _mm512_or_si512(_mm512_and_si512(x, low_dwords),
                            _mm512_sll_epi64(_mm512_srli_epi64(x, 32), by_4w));
        const __m512i packed = _mm512_permutexvar_epi8(gather, x);
        const size_t end_bit = count * w, whole = end_bit / 8;
        _mm512_mask_storeu_epi8(out, whole == 64 ? ~(__mmask64)0 : ((__mmask64)1 << whole) - 1,
                                packed);
        if (end_bit % 8) {
            uint8_t last[64];
            _mm512_storeu_si512(last, packed);
            const uint8_t keep = (uint8_t)(0xffu << end_bit % 8);
            out[whole] = (uint8_t)((out[whole] & keep) | (last[whole] & (uint8_t)~keep));
        }
    }
    return n;
}

SIEVE_TARGET_AVX512 static size_t pack_bytes_avx512(const cfloat_codec *c, const float *src,
                                                    size_t n, uint8_t *dst)
{
    encode_avx512 k;
    if (!encode_avx512_init(c, &k))
        return 0;
    if (c->w == 8) {
        for (size_t i = 0; i < n; i += 16) {
            const size_t count = SIEVE_MIN((size_t)16, n - i);
            const __mmask16 lanes = (__mmask16)((1u << count) - 1);
            __mmask16 bad = 0;
            const __m512i code =
                encode16_avx512(&k, _mm512_maskz_loadu_epi32(lanes, src + i), lanes, &bad);
            if (bad)
                return i;
            _mm_mask_storeu_epi8(dst + i, lanes, _mm512_cvtepi32_epi8(code));
        }
        return n;
    }
    if (c->w != 4)
        return pack_narrow_avx512(&k, c->w, src, n, dst);
    uint8_t *out = dst;
    for (size_t i = 0; i < n; i += 32, out += 16) {
        const size_t count = SIEVE_MIN((size_t)32, n - i);
        const __mmask32 lanes = count == 32 ? ~(__mmask32)0 : ((__mmask32)1 << count) - 1;
        __mmask16 bad = 0;
        const __m512i codes_low = encode16_avx512(
            &k, _mm512_maskz_loadu_epi32((__mmask16)lanes, src + i), (__mmask16)lanes, &bad);
        const __m512i codes_high =
            encode16_avx512(&k, _mm512_maskz_loadu_epi32((__mmask16)(lanes >> 16), src + i + 16),
                            (__mmask16)(lanes >> 16), &bad);
        if (bad)
            return i;
        const __m256i low = _mm512_cvtepi32_epi16(codes_low);
        const __m256i high = _mm512_cvtepi32_epi16(codes_high);
        /* dword j: code 2j in bits 0-3, code 2j+1 in bits 16-19 */
        const __m512i pairs = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
        const __m128i bytes =
            _mm512_cvtepi32_epi8(_mm512_or_si512(pairs, _mm512_srli_epi32(pairs, 12)));
        _mm_mask_storeu_epi8(out, (__mmask16)((1u << (count / 2)) - 1), bytes);
        if (count % 2) {
            uint8_t last[16];
            _mm_storeu_si128((__m128i *)last, bytes);
            out[count / 2] = (uint8_t)((out[count / 2] & 0xf0) | (last[count / 2] & 0x0f));
        }
    }
    return n;
}

SIEVE_TARGET_AVX512 static size_t pack_avx512(const cfloat_codec *c, const float *src, size_t n,
                                              uint8_t *dst, bit_cursor cur)
{
    const unsigned w = c->w, phase = cur.bit;
    if (w > SIMD_MAX_WIDTH || n == 0)
        return 0;
    if (w <= 8 && phase == 0)
        return pack_bytes_avx512(c, src, n, dst + cur.byte);
    uint8_t index[8][64];
    __mmask64 take[8] = {0};
    uint8_t contributors[64] = {0};
    unsigned rounds = 0;
    memset(index, 0, sizeof(index));
    for (unsigned j = 0; j < 16; j++) {
        const unsigned bit = phase + j * w, first_byte = bit / 8, last_byte = (bit + w - 1) / 8;
        for (unsigned byte = first_byte; byte <= last_byte; byte++) {
            const unsigned r = contributors[byte]++;
            index[r][byte] = (uint8_t)(4 * j + (byte - first_byte));
            take[r] |= (__mmask64)1 << byte;
            rounds = SIEVE_MAX(rounds, r + 1);
        }
    }
    __m512i gather[8];
    for (unsigned r = 0; r < rounds; r++)
        gather[r] = _mm512_loadu_si512(index[r]);
    const __m512i bit = _mm512_add_epi32(
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)w)),
        _mm512_set1_epi32((int)phase));
    const __m512i shift_v = _mm512_and_si512(bit, _mm512_set1_epi32(7));
    const __mmask64 step_store = ((__mmask64)1 << (2 * w)) - 1;
    const __m512i carry_pick = _mm512_set1_epi8((char)(2 * w));
    const uint8_t low_phase = (uint8_t)((1u << phase) - 1);

    uint8_t *step = dst + cur.byte;
    __m512i carry = _mm512_maskz_set1_epi8(1, (char)(step[0] & low_phase));
    uint32_t codes[CHUNK];
    for (size_t done = 0; done < n; done += CHUNK) {
        const size_t len = SIEVE_MIN((size_t)CHUNK, n - done);
        if (encode_codes_avx512(c, src + done, len, codes)) {
            /* Give the carried bits to memory for the portable loop. */
            const uint8_t carried = (uint8_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(carry));
            step[0] = (uint8_t)((step[0] & ~low_phase) | (carried & low_phase));
            return done;
        }
        for (size_t i = 0; i < len; i += 16, step += 2 * w) {
            const unsigned count = (unsigned)SIEVE_MIN((size_t)16, len - i);
            const __m512i shifted = _mm512_sllv_epi32(
                _mm512_maskz_loadu_epi32((__mmask16)((1u << count) - 1), codes + i), shift_v);
            __m512i out = carry;
            for (unsigned r = 0; r < rounds; r++)
                out = _mm512_or_si512(out,
                                      _mm512_maskz_permutexvar_epi8(take[r], gather[r], shifted));
            if (done + i + 16 < n) {
                _mm512_mask_storeu_epi8(step, step_store, out);
                carry = _mm512_maskz_permutexvar_epi8(1, carry_pick, out);
                continue;
            }
            /* Last step: whole bytes, then the bits of the last byte. */
            const unsigned end_bit = phase + count * w, whole = end_bit / 8;
            const uint8_t low_end = (uint8_t)((1u << (end_bit % 8)) - 1);
            _mm512_mask_storeu_epi8(step, ((__mmask64)1 << whole) - 1, out);
            if (low_end) {
                const uint8_t last = (uint8_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(
                    _mm512_permutexvar_epi8(_mm512_set1_epi8((char)whole), out)));
                step[whole] = (uint8_t)((step[whole] & ~low_end) | (last & low_end));
            }
            return n;
        }
    }
    return n;
}
#endif

/* ---- bulk codec: instruction-set levels ----------------------------------- */

typedef void (*decode_codes_fn)(const cfloat_codec *, const uint32_t *, size_t, float *);
typedef uint32_t (*encode_codes_fn)(const cfloat_codec *, const float *, size_t, uint32_t *);
/* Decodes a prefix of elements 0..n and returns its length (a multiple of
 * 8 unless it is n). */
typedef size_t (*unpack_fn)(const cfloat_codec *, const uint8_t *, bit_cursor, size_t, float *);
/* Encodes and stores a prefix of elements 0..n and returns its length. */
typedef size_t (*pack_fn)(const cfloat_codec *, const float *, size_t, uint8_t *, bit_cursor);

enum { LEVEL_PORTABLE, LEVEL_AVX2, LEVEL_AVX512, LEVEL_COUNT };

typedef struct cfloat_kernels {
    decode_codes_fn decode;
    encode_codes_fn encode;
    unpack_fn unpack; /* NULL: none */
    pack_fn pack;     /* NULL: none */
} cfloat_kernels;

static const cfloat_kernels kernels_by_level[LEVEL_COUNT] = {
    [LEVEL_PORTABLE] = {decode_codes_portable, encode_codes_portable, NULL, NULL},
#ifdef SIEVE_CFLOAT_X86
    [LEVEL_AVX2] = {decode_codes_avx2, encode_codes_avx2, unpack_avx2, NULL},
    [LEVEL_AVX512] = {decode_codes_avx512, encode_codes_avx512, unpack_avx512, pack_avx512},
#endif
};

/* Highest level this CPU runs; asked per call (no global state):
 * __builtin_cpu_supports reads what libgcc / compiler-rt detected at
 * start-up. */
int sieve_cfloat_cpu_level(void)
{
#ifdef SIEVE_CFLOAT_X86
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("bmi2"))
        return LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2"))
        return LEVEL_AVX2;
#endif
    return LEVEL_PORTABLE;
}

static const cfloat_kernels *kernels_at(int level)
{
    const int top = sieve_cfloat_cpu_level();
    return &kernels_by_level[level < 0 ? 0 : level > top ? top : level];
}

/* ---- bulk codec: entry points ----------------------------------------------- */

/* First index in src[0..n) that the format cannot encode. */
static size_t first_unencodable(const sieve_format *fmt, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t code;
        if (sieve_cfloat_encode_ref(fmt, src[i], &code) != SIEVE_OK)
            return i;
    }
    return n;
}

sieve_status sieve_cfloat_pack_level(int level, const sieve_format *fmt, const float *src, size_t n,
                                     uint8_t *dst, size_t first, size_t *bad_index)
{
    if (!fmt || (n && (!src || !dst)))
        return SIEVE_ERR_ARG;
    if (fmt->kind == SIEVE_FORMAT_FP32) {
        if (n)
            memcpy(dst + first * sizeof(float), src, n * sizeof(float));
        return SIEVE_OK;
    }
    if (!is_valid_cfloat(fmt))
        return SIEVE_ERR_ARG;
    cfloat_codec c;
    codec_init(&c, fmt);
    const cfloat_kernels *k = kernels_at(level);
    bit_cursor cur = element_cursor(first, c.w);
    size_t done = k->pack ? k->pack(&c, src, n, dst, cur) : 0;
    cur = cursor_advance(cur, c.w, done);
    uint32_t codes[CHUNK];
    for (; done < n; done += CHUNK, cur = cursor_advance(cur, c.w, CHUNK)) {
        const size_t len = SIEVE_MIN((size_t)CHUNK, n - done);
        if (k->encode(&c, src + done, len, codes)) {
            const size_t bad = first_unencodable(fmt, src + done, len);
            write_codes(dst, cur, c.w, bad, codes);
            if (bad_index)
                *bad_index = done + bad;
            return SIEVE_ERR_RANGE;
        }
        write_codes(dst, cur, c.w, len, codes);
    }
    return SIEVE_OK;
}

/* Widest format decoded through a table when no SIMD kernel applies. */
#define TABLE_MAX_WIDTH 8
_Static_assert(CHUNK >= (1 << TABLE_MAX_WIDTH), "the table is built in the codes buffer");

static void unpack_with(const cfloat_kernels *k, const sieve_format *fmt, const uint8_t *src,
                        size_t first, size_t n, float *dst)
{
    if (!fmt || !n || !dst)
        return;
    if (fmt->kind == SIEVE_FORMAT_FP32) {
        if (src)
            memcpy(dst, src + first * sizeof(float), n * sizeof(float));
        return;
    }
    if (!src || !is_valid_cfloat(fmt)) {
        for (size_t i = 0; i < n; i++)
            dst[i] = NAN;
        return;
    }
    cfloat_codec c;
    codec_init(&c, fmt);
    bit_cursor cur = element_cursor(first, c.w);
    size_t done = k->unpack ? k->unpack(&c, src, cur, n, dst) : 0;
    if (done == n)
        return;
    cur = cursor_advance(cur, c.w, done);
    uint32_t codes[CHUNK];
    /* Narrow formats: decode all 2^w codes once when that costs no more
     * than the run itself. */
    if (c.w <= TABLE_MAX_WIDTH && n - done >= ((size_t)1 << c.w)) {
        float table[1u << TABLE_MAX_WIDTH];
        for (uint32_t code = 0; code < (1u << c.w); code++)
            codes[code] = code;
        k->decode(&c, codes, (size_t)1 << c.w, table);
        read_values_via_table(src, cur, c.w, n - done, table, dst + done);
        return;
    }
    while (done < n) {
        const size_t len = SIEVE_MIN((size_t)CHUNK, n - done);
        read_codes(src, cur, c.w, len, codes);
        k->decode(&c, codes, len, dst + done);
        done += len;
        cur = cursor_advance(cur, c.w, len);
    }
}

void sieve_cfloat_unpack_level(int level, const sieve_format *fmt, const uint8_t *src, size_t first,
                               size_t n, float *dst)
{
    unpack_with(kernels_at(level), fmt, src, first, n, dst);
}

sieve_status sieve_cfloat_quantize_level(int level, const sieve_format *fmt, float *buf, size_t n,
                                         size_t *bad_index)
{
    if (!fmt || (n && !buf))
        return SIEVE_ERR_ARG;
    if (fmt->kind == SIEVE_FORMAT_FP32)
        return SIEVE_OK;
    if (!is_valid_cfloat(fmt))
        return SIEVE_ERR_ARG;
    cfloat_codec c;
    codec_init(&c, fmt);
    const cfloat_kernels *k = kernels_at(level);
    uint32_t codes[CHUNK];
    for (size_t done = 0; done < n; done += CHUNK) {
        const size_t len = SIEVE_MIN((size_t)CHUNK, n - done);
        if (k->encode(&c, buf + done, len, codes)) {
            const size_t bad = first_unencodable(fmt, buf + done, len);
            k->decode(&c, codes, bad, buf + done);
            if (bad_index)
                *bad_index = done + bad;
            return SIEVE_ERR_RANGE;
        }
        k->decode(&c, codes, len, buf + done);
    }
    return SIEVE_OK;
}

sieve_status sieve_cfloat_pack(const sieve_format *fmt, const float *src, size_t n, uint8_t *dst,
                               size_t first, size_t *bad_index)
{
    return sieve_cfloat_pack_level(sieve_cfloat_cpu_level(), fmt, src, n, dst, first, bad_index);
}

void sieve_cfloat_unpack(const sieve_format *fmt, const uint8_t *src, size_t first, size_t n,
                         float *dst)
{
    unpack_with(&kernels_by_level[sieve_cfloat_cpu_level()], fmt, src, first, n, dst);
}

sieve_status sieve_cfloat_quantize(const sieve_format *fmt, float *buf, size_t n, size_t *bad_index)
{
    return sieve_cfloat_quantize_level(sieve_cfloat_cpu_level(), fmt, buf, n, bad_index);
}

sieve_status sieve_format_store(const sieve_format *fmt, const float *src, size_t n, void *dst,
                                size_t first, size_t *bad_index)
{
    return sieve_cfloat_pack(fmt, src, n, dst, first, bad_index);
}

void sieve_format_load(const sieve_format *fmt, const void *src, size_t first, size_t n, float *dst)
{
    sieve_cfloat_unpack(fmt, src, first, n, dst);
}

/* ---- fused decode + dot products (cfloat_dot.h) ----------------------------- */

/* Elements decoded per chunk below AVX-512: 4 rows of it stay in L1. */
#define DOT_CHUNK 512
#define DOT_LANES 16

/* Codes per step of the byte-table methods, and the code each float lane
 * of a step holds: a step's bytes go through unpacklo/hi_epi8 (per 128-bit
 * lane: bytes 0-7 / 8-15 as words) and each word list splits into even
 * words (<< 16) and odd ones (& 0xffff0000), giving four vectors whose
 * lane d = 4q + t holds byte 16q + 2t (+1 odd) (+8 from unpackhi). The
 * nibble method does that for the low nibbles (even codes) and then for
 * the high ones (odd codes) of 64 bytes. */
#define DOT_BYTES8_BLOCK 64
#define DOT_NIBBLES4_BLOCK 128
#define DOT_PREPARED_ALIGN 128

static size_t dot_byte_of_lane(unsigned v, unsigned d)
{
    const unsigned q = d / 4, t = d % 4;
    return 16 * q + 8 * (v >> 1) + 2 * t + (v & 1);
}

static size_t dot_code_of_lane(int method, unsigned lane)
{
    if (method == SIEVE_DOT_BYTES8)
        return dot_byte_of_lane(lane / 16, lane % 16);
    const unsigned half = lane / 64; /* 0: low nibbles, 1: high */
    return 2 * dot_byte_of_lane((lane % 64) / 16, lane % 16) + half;
}

size_t sieve_dot_prepared_floats(size_t n_vecs, size_t k)
{
    return n_vecs * ((k + DOT_PREPARED_ALIGN - 1) / DOT_PREPARED_ALIGN * DOT_PREPARED_ALIGN);
}

/* vecs_bf16: each block's lanes as bf16 pairs, per 64 lanes L0.. (one
 * group for 8-bit codes, two for 4-bit) 32 words: word 2i of the first 16
 * is lane L0 + i, word 2i + 1 lane L0 + 16 + i (the words the unpacked
 * low halves hold), then lanes L0 + 32 + i and L0 + 48 + i likewise. */
static void dot_prepare_bf16(const sieve_dot_plan *plan, const float *const *vecs, size_t n_vecs,
                             size_t k, const uint8_t *code_of_lane, float *scratch,
                             const float **prepared)
{
    const size_t padded = sieve_dot_prepared_floats(1, k), block = plan->block;
    for (size_t i = 0; i < n_vecs; i++) {
        const float *src = vecs[i];
        float *dst = scratch + i * padded;
        for (size_t b0 = 0; b0 < k; b0 += block)
            for (size_t g = 0; g < block; g += 64)
                for (size_t half = 0; half < 2; half++)
                    for (size_t lane = 0; lane < 16; lane++) {
                        const size_t l0 = g + 32 * half + lane;
                        const size_t at0 = b0 + code_of_lane[l0], at1 = b0 + code_of_lane[l0 + 16];
                        const uint32_t lo = at0 < k ? f32_bits(src[at0]) >> 16 : 0;
                        const uint32_t hi = at1 < k ? f32_bits(src[at1]) & 0xffff0000u : 0;
                        const uint32_t word = hi | lo;
                        memcpy(dst + (b0 + g) / 2 + 16 * half + lane, &word, sizeof(word));
                    }
        prepared[i] = dst;
    }
}

bool sieve_dot_plan_vecs_bf16(sieve_dot_plan *plan)
{
#ifdef SIEVE_CFLOAT_X86
    plan->vecs_bf16 = (plan->method == SIEVE_DOT_BYTES8 || plan->method == SIEVE_DOT_NIBBLES4) &&
                      __builtin_cpu_supports("avx512bf16");
#endif
    return plan->vecs_bf16;
}

void sieve_dot_prepare(const sieve_dot_plan *plan, const float *const *vecs, size_t n_vecs,
                       size_t k, float *scratch, const float **prepared)
{
    if (!plan->block) {
        for (size_t i = 0; i < n_vecs; i++)
            prepared[i] = vecs[i];
        return;
    }
    const size_t padded = sieve_dot_prepared_floats(1, k), block = plan->block;
    const size_t whole = k / block * block;
    uint8_t code_of_lane[DOT_NIBBLES4_BLOCK];
    for (unsigned lane = 0; lane < block; lane++)
        code_of_lane[lane] = (uint8_t)dot_code_of_lane(plan->method, lane);
    if (plan->vecs_bf16) {
        dot_prepare_bf16(plan, vecs, n_vecs, k, code_of_lane, scratch, prepared);
        return;
    }
    for (size_t i = 0; i < n_vecs; i++) {
        const float *src = vecs[i];
        float *dst = scratch + i * padded;
        for (size_t b0 = 0; b0 < whole; b0 += block)
            for (unsigned lane = 0; lane < block; lane++)
                dst[b0 + lane] = src[b0 + code_of_lane[lane]];
        for (size_t b0 = whole; b0 < padded; b0 += block)
            for (unsigned lane = 0; lane < block; lane++) {
                const size_t at = b0 + code_of_lane[lane];
                dst[b0 + lane] = at < k ? src[at] : 0.0f;
            }
        prepared[i] = dst;
    }
}

void sieve_dot_plan_init_level(sieve_dot_plan *plan, const sieve_format *fmt, size_t first,
                               size_t stride, int level)
{
    memset(plan, 0, sizeof(*plan));
    plan->format = *fmt;
    const int top = sieve_cfloat_cpu_level();
    plan->level = level < 0 ? 0 : level > top ? top : level;
    if (fmt->kind == SIEVE_FORMAT_FP32) {
        plan->method = SIEVE_DOT_FP32;
        plan->width = 32;
        return;
    }
    plan->width = sieve_format_width(fmt);
    if (!is_valid_cfloat(fmt)) { /* sieve_format_load fills NaN */
        plan->method = SIEVE_DOT_UNPACK;
        return;
    }
    const unsigned w = plan->width, m = fmt->m_bits, high_bits = w - m;
    if (plan->level < LEVEL_AVX512) {
        plan->method = w <= TABLE_MAX_WIDTH ? SIEVE_DOT_TABLE : SIEVE_DOT_UNPACK;
        if (plan->method == SIEVE_DOT_TABLE) {
            cfloat_codec c;
            uint32_t codes[1u << TABLE_MAX_WIDTH];
            codec_init(&c, fmt);
            for (uint32_t code = 0; code < (1u << w); code++)
                codes[code] = code;
            decode_codes_portable(&c, codes, (size_t)1 << w, plan->table);
        }
        return;
    }
    /* Every code's value by the bulk decoder (bit-identical to the
     * reference, which costs microseconds for 256 codes: a plan is made on
     * every layer run). */
    float values[1u << TABLE_MAX_WIDTH];
    if (w <= TABLE_MAX_WIDTH) {
        cfloat_codec c;
        uint32_t codes[1u << TABLE_MAX_WIDTH];
        codec_init(&c, fmt);
        for (uint32_t code = 0; code < (1u << w); code++)
            codes[code] = code;
        decode_codes_portable(&c, codes, (size_t)1 << w, values);
    }
    if (w <= 8) {
        plan->bf16_tables = true;
        for (uint32_t code = 0; code < 256; code++) {
            /* m <= 7: the low 16 bits of the value are zero (a bf16);
             * codes of fewer bits repeat */
            const uint32_t bits = f32_bits(values[code & ((1u << w) - 1)]);
            plan->bf16_high[code] = (uint8_t)(bits >> 24);
            plan->bf16_low[code] = (uint8_t)(bits >> 16);
        }
    }
    const bool byte_rows = element_cursor(first, w).bit == 0 && (stride % 8) * w % 8 == 0;
    if (w <= 8 && byte_rows) { /* widths other than 8 and 4 widened to bytes */
        plan->method = w == 4 ? SIEVE_DOT_NIBBLES4 : SIEVE_DOT_BYTES8;
        plan->block = w == 4 ? DOT_NIBBLES4_BLOCK : DOT_BYTES8_BLOCK;
    } else if (w <= 5) {
        plan->method = SIEVE_DOT_LUT32;
        for (uint32_t i = 0; i < 32; i++)
            plan->lut[i] = values[i & ((1u << w) - 1)];
    } else if (high_bits <= 5 && m <= 5) {
        plan->method = SIEVE_DOT_SPLIT;
        const unsigned e = fmt->e_bits;
        for (uint32_t i = 0; i < 32; i++) {
            const uint32_t hi = i & ((1u << high_bits) - 1), biased = hi & ((1u << e) - 1);
            const uint32_t sign = (hi >> e) & 1u; /* 0 for unsigned: high_bits == e */
            const int32_t exponent = (int32_t)(biased ? biased : 1) - fmt->bias + FP32_EXP_BIAS;
            const uint32_t high_bits_f32 = (sign << 31) | ((uint32_t)exponent << FP32_MANT_BITS);
            plan->high[i] = bits_f32(high_bits_f32);
            plan->offset[i] = biased ? 0.0f : -plan->high[i];
            const uint32_t mant = i & ((1u << m) - 1);
            plan->low[i] = bits_f32(((uint32_t)FP32_EXP_BIAS << FP32_MANT_BITS) |
                                    (m ? mant << (FP32_MANT_BITS - m) : 0));
        }
    } else {
        plan->method = SIEVE_DOT_ARITH;
    }
}

void sieve_dot_plan_init(sieve_dot_plan *plan, const sieve_format *fmt, size_t first,
                         size_t stride)
{
    sieve_dot_plan_init_level(plan, fmt, first, stride, sieve_cfloat_cpu_level());
}

/* acc[i * ld + r] += vecs[i] . rows[r] over n elements, 16 lanes. */
SIEVE_INLINE void dot_block_body(const float *const *rows, size_t n_rows,
                                 const float *const *vecs, size_t n_vecs, size_t n, float *acc,
                                 size_t ld)
{
    for (size_t i = 0; i < n_vecs; i++)
        for (size_t r = 0; r < n_rows; r++) {
            const float *restrict a = vecs[i], *restrict b = rows[r];
            float lanes[DOT_LANES] = {0};
            size_t j = 0;
            for (; j + DOT_LANES <= n; j += DOT_LANES)
                for (int l = 0; l < DOT_LANES; l++)
                    lanes[l] += a[j + l] * b[j + l];
            float sum = 0.0f;
            for (; j < n; j++)
                sum += a[j] * b[j];
            for (int l = 0; l < DOT_LANES; l++)
                sum += lanes[l];
            acc[i * ld + r] += sum;
        }
}

static void dot_block_portable(const float *const *rows, size_t n_rows, const float *const *vecs,
                               size_t n_vecs, size_t n, float *acc, size_t ld)
{
    dot_block_body(rows, n_rows, vecs, n_vecs, n, acc, ld);
}

#ifdef SIEVE_CFLOAT_X86
SIEVE_TARGET_AVX2 static void dot_block_avx2(const float *const *rows, size_t n_rows,
                                             const float *const *vecs, size_t n_vecs, size_t n,
                                             float *acc, size_t ld)
{
    dot_block_body(rows, n_rows, vecs, n_vecs, n, acc, ld);
}
#endif

/* Below AVX-512: fp32 rows are dotted in place, packed ones decoded chunk
 * by chunk into a stack buffer first. */
static void dot_rows_buffered(const sieve_dot_plan *plan, const void *b, size_t first,
                              size_t stride, size_t rows, const float *const *vecs, size_t n_vecs,
                              size_t k, float *acc, size_t acc_ld)
{
    void (*block)(const float *const *, size_t, const float *const *, size_t, size_t, float *,
                  size_t) = dot_block_portable;
#ifdef SIEVE_CFLOAT_X86
    if (plan->level >= LEVEL_AVX2)
        block = dot_block_avx2;
#endif
    const float *row_ptr[SIEVE_DOT_MAX_ROWS], *vec_ptr[SIEVE_DOT_MAX_VECS];
    if (plan->method == SIEVE_DOT_FP32) {
        for (size_t r = 0; r < rows; r++)
            row_ptr[r] = (const float *)b + first + r * stride;
        block(row_ptr, rows, vecs, n_vecs, k, acc, acc_ld);
        return;
    }
    float buffer[SIEVE_DOT_MAX_ROWS][DOT_CHUNK];
    for (size_t k0 = 0; k0 < k; k0 += DOT_CHUNK) {
        const size_t len = SIEVE_MIN((size_t)DOT_CHUNK, k - k0);
        for (size_t r = 0; r < rows; r++) {
            const size_t at = first + r * stride + k0;
            if (plan->method == SIEVE_DOT_TABLE)
                read_values_via_table(b, element_cursor(at, plan->width), plan->width, len,
                                      plan->table, buffer[r]);
            else
                unpack_with(kernels_at(plan->level), &plan->format, b, at, len, buffer[r]);
            row_ptr[r] = buffer[r];
        }
        for (size_t i = 0; i < n_vecs; i++)
            vec_ptr[i] = vecs[i] + k0;
        block(row_ptr, rows, vec_ptr, n_vecs, len, acc, acc_ld);
    }
}

#ifdef SIEVE_CFLOAT_X86
/* The AVX-512 kernels prefetch, as they read a row, the same place in the
 * row SIEVE_DOT_MAX_ROWS further on: the one the next call (the dense
 * layers' next rows) reads there. A fixed distance of 1 KiB ahead in the
 * same row left every call's first kilobytes to wait on memory; packed
 * rows are short (AlexNet's classifier.1: 9 KiB at 8 bits), and its 8-bit
 * layer read its 37.7 MB at 18-27 GB/s. With the next rows on their way
 * while these are read (one layer at a time, CPU time): 8-bit 1.40-2.06
 * -> 1.19-1.41 ms, 4-bit 0.73-1.22 -> 0.63-0.65 ms, fp32 the same
 * (4.3-4.5 ms, at the memory's pace either way). */
static inline const char *dot_prefetch_at(const void *p, size_t ahead)
{
    /* an integer sum: past the last rows the address is outside the
     * stream, where a prefetch is harmless and pointer arithmetic is not */
    return (const char *)((uintptr_t)p + ahead);
}

/* Registers of one decode method, set up once per call. */
typedef struct dot_decoder_avx512 {
    __m512 lut_lo, lut_hi;     /* LUT32 */
    __m512 high_lo, high_hi;   /* SPLIT */
    __m512 low_lo, low_hi;     /* SPLIT */
    __m512 offset_lo, offset_hi; /* SPLIT */
    __m128i m_shift;           /* SPLIT: m */
    /* ARITH: the constants of unpack_avx512 */
    __m512i code_mask, magnitude_mask, normal_min_code, exp_offset_bits, sign_flag, abs_mask;
    __m512 sub_offset;
    __m128i mant_shift, sign_shift;
} dot_decoder_avx512;

/* Values of 16 codes held in the low bits of each lane (stray bits above). */
SIEVE_TARGET_AVX512 SIEVE_INLINE __m512 dot_decode16_avx512(const dot_decoder_avx512 *d,
                                                            __m512i raw, const int method)
{
    if (method == SIEVE_DOT_LUT32)
        return _mm512_permutex2var_ps(d->lut_lo, raw, d->lut_hi);
    if (method == SIEVE_DOT_SPLIT) {
        const __m512i hi = _mm512_srl_epi32(raw, d->m_shift);
        const __m512 high = _mm512_permutex2var_ps(d->high_lo, hi, d->high_hi);
        const __m512 offset = _mm512_permutex2var_ps(d->offset_lo, hi, d->offset_hi);
        const __m512 low = _mm512_permutex2var_ps(d->low_lo, raw, d->low_hi);
        return _mm512_fmadd_ps(high, low, offset);
    }
    const __m512i code = _mm512_and_si512(raw, d->code_mask);
    const __m512i magnitude = _mm512_and_si512(code, d->magnitude_mask);
    const __mmask16 sub = _mm512_cmplt_epu32_mask(magnitude, d->normal_min_code);
    const __m512i bits = _mm512_add_epi32(
        _mm512_sll_epi32(_mm512_mask_or_epi32(magnitude, sub, magnitude, d->normal_min_code),
                         d->mant_shift),
        d->exp_offset_bits);
    const __m512 value = _mm512_mask_sub_ps(_mm512_castsi512_ps(bits), sub,
                                            _mm512_castsi512_ps(bits), d->sub_offset);
    const __m512i sign =
        _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(code, d->sign_shift), d->sign_flag), 31);
    return _mm512_castsi512_ps(
        _mm512_ternarylogic_epi32(_mm512_castps_si512(value), d->abs_mask, sign, 0xea));
}

/* The fused loop for a fixed method and row count: per 16 elements, each
 * row's 2w bytes come in by one masked load, a vpermb + shift put every
 * code in its lane, the decode yields 16 floats, and one FMA per vector
 * accumulates. Tail elements load zeros from the vectors, so whatever the
 * stray codes beyond k decode to is multiplied by zero (all codes are
 * finite). */
SIEVE_TARGET_AVX512 SIEVE_INLINE void dot_rows_avx512_body(
    const dot_decoder_avx512 *d, unsigned w, const uint8_t *b, size_t first, size_t stride,
    const size_t rows, const float *const *vecs, const size_t n_vecs, size_t k, float *acc,
    size_t acc_ld, const int method)
{
    __m512 sum[SIEVE_DOT_MAX_VECS][SIEVE_DOT_MAX_ROWS];
    const uint8_t *step[SIEVE_DOT_MAX_ROWS];
    __m512i pick[SIEVE_DOT_MAX_ROWS], shift[SIEVE_DOT_MAX_ROWS];
    unsigned phase[SIEVE_DOT_MAX_ROWS];
    const __m512i lane_bit =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)w));
    for (size_t r = 0; r < rows; r++) {
        const bit_cursor cur = element_cursor(first + r * stride, w);
        step[r] = b + cur.byte;
        phase[r] = cur.bit;
        const __m512i bit = _mm512_add_epi32(lane_bit, _mm512_set1_epi32((int)cur.bit));
        pick[r] = _mm512_add_epi32(
            _mm512_mullo_epi32(_mm512_srli_epi32(bit, 3), _mm512_set1_epi32(0x01010101)),
            _mm512_set1_epi32(0x03020100));
        shift[r] = _mm512_and_si512(bit, _mm512_set1_epi32(7));
        for (size_t i = 0; i < n_vecs; i++)
            sum[i][r] = _mm512_setzero_ps();
    }
    /* Bytes a step of `count` elements reads: to the 4th byte of the last. */
#define DOT_LOAD_MASK(phase, count)                                                                \
    ((__mmask64)((UINT64_C(1) << (((phase) + ((count)-1) * w) / 8 + 4)) - 1))
    __mmask64 load[SIEVE_DOT_MAX_ROWS];
    for (size_t r = 0; r < rows; r++)
        load[r] = DOT_LOAD_MASK(phase[r], 16);
    const size_t ahead = SIEVE_DOT_MAX_ROWS * stride * w / 8;
    for (size_t j = 0; j < k; j += 16) {
        const size_t count = SIEVE_MIN((size_t)16, k - j);
        __mmask16 vec_mask = 0xffff;
        if (count < 16) {
            vec_mask = (__mmask16)((1u << count) - 1);
            for (size_t r = 0; r < rows; r++)
                load[r] = DOT_LOAD_MASK(phase[r], count);
        }
        __m512 a[SIEVE_DOT_MAX_VECS];
        for (size_t i = 0; i < n_vecs; i++)
            a[i] = _mm512_maskz_loadu_ps(vec_mask, vecs[i] + j);
        for (size_t r = 0; r < rows; r++) {
            const __m512i bytes = _mm512_maskz_loadu_epi8(load[r], step[r]);
            _mm_prefetch(dot_prefetch_at(step[r], ahead), _MM_HINT_T0);
            const __m512i raw = _mm512_srlv_epi32(_mm512_permutexvar_epi8(pick[r], bytes), shift[r]);
            const __m512 value = dot_decode16_avx512(d, raw, method);
            for (size_t i = 0; i < n_vecs; i++)
                sum[i][r] = _mm512_fmadd_ps(a[i], value, sum[i][r]);
            step[r] += 2 * w;
        }
    }
#undef DOT_LOAD_MASK
    for (size_t i = 0; i < n_vecs; i++)
        for (size_t r = 0; r < rows; r++)
            acc[i * acc_ld + r] += _mm512_reduce_add_ps(sum[i][r]);
}

SIEVE_TARGET_AVX512 SIEVE_INLINE void dot_rows_f32_avx512_body(const float *b, size_t stride,
                                                               const size_t rows,
                                                               const float *const *vecs,
                                                               const size_t n_vecs, size_t k,
                                                               float *acc, size_t acc_ld)
{
    __m512 sum[SIEVE_DOT_MAX_VECS][SIEVE_DOT_MAX_ROWS];
    for (size_t i = 0; i < n_vecs; i++)
        for (size_t r = 0; r < rows; r++)
            sum[i][r] = _mm512_setzero_ps();
    const size_t ahead = SIEVE_DOT_MAX_ROWS * stride * sizeof(float);
    for (size_t j = 0; j < k; j += 16) {
        const __mmask16 mask = k - j >= 16 ? 0xffff : (__mmask16)((1u << (k - j)) - 1);
        __m512 a[SIEVE_DOT_MAX_VECS];
        for (size_t i = 0; i < n_vecs; i++)
            a[i] = _mm512_maskz_loadu_ps(mask, vecs[i] + j);
        for (size_t r = 0; r < rows; r++) {
            const __m512 value = _mm512_maskz_loadu_ps(mask, b + r * stride + j);
            _mm_prefetch(dot_prefetch_at(b + r * stride + j, ahead), _MM_HINT_T0);
            for (size_t i = 0; i < n_vecs; i++)
                sum[i][r] = _mm512_fmadd_ps(a[i], value, sum[i][r]);
        }
    }
    for (size_t i = 0; i < n_vecs; i++)
        for (size_t r = 0; r < rows; r++)
            acc[i * acc_ld + r] += _mm512_reduce_add_ps(sum[i][r]);
}

/* Byte-table methods: 64 bytes of each row per step (64 codes of 8 bits or
 * 128 of 4), looked up into the high and low bytes of their bf16 values,
 * widened to 4 (8) vectors of floats in the lane order of
 * dot_code_of_lane, against vectors laid out in that order. The last
 * step's load is masked to the row's bytes; lanes past k meet zeros in
 * the prepared vectors. */
/* The bf16 byte tables of a dot plan in registers: four 64-byte tables
 * (`wide`: 8-bit codes, or narrower ones widened to bytes, which read the
 * first two), else one 16-entry table for 4-bit codes broadcast to every
 * lane (the other three zero). */
SIEVE_TARGET_AVX512 SIEVE_INLINE void dot_plan_tables_avx512(const sieve_dot_plan *plan, bool wide,
                                                             __m512i high_table[4],
                                                             __m512i low_table[4])
{
    if (wide) {
        for (int t = 0; t < 4; t++) {
            high_table[t] = _mm512_loadu_si512(plan->bf16_high + 64 * t);
            low_table[t] = _mm512_loadu_si512(plan->bf16_low + 64 * t);
        }
        return;
    }
    high_table[0] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)plan->bf16_high));
    low_table[0] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)plan->bf16_low));
    for (int t = 1; t < 4; t++)
        high_table[t] = low_table[t] = _mm512_setzero_si512();
}

SIEVE_TARGET_AVX512 SIEVE_INLINE void dot_bf16_fma4(__m512i low, __m512i high, const float *a,
                                                    __m512 *sum)
{
    const __m512i high_words = _mm512_set1_epi32((int)0xffff0000u);
    const __m512i words_lo = _mm512_unpacklo_epi8(low, high);
    const __m512i words_hi = _mm512_unpackhi_epi8(low, high);
    __m512 s = *sum;
    s = _mm512_fmadd_ps(_mm512_loadu_ps(a), _mm512_castsi512_ps(_mm512_slli_epi32(words_lo, 16)),
                        s);
    s = _mm512_fmadd_ps(_mm512_loadu_ps(a + 16),
                        _mm512_castsi512_ps(_mm512_and_si512(words_lo, high_words)), s);
    s = _mm512_fmadd_ps(_mm512_loadu_ps(a + 32),
                        _mm512_castsi512_ps(_mm512_slli_epi32(words_hi, 16)), s);
    s = _mm512_fmadd_ps(_mm512_loadu_ps(a + 48),
                        _mm512_castsi512_ps(_mm512_and_si512(words_hi, high_words)), s);
    *sum = s;
}

/* The same 64 products with the vector given as bf16 pairs in the word
 * order of the two interleaved word vectors (sieve_dot_prepare for
 * vecs_bf16): two vdpbf16ps instead of four widenings and four FMAs. */
SIEVE_TARGET_AVX512_BF16 SIEVE_INLINE void dot_bf16_dp2(__m512i low, __m512i high, const float *a,
                                                        __m512 *sum)
{
    const __m512i words_lo = _mm512_unpacklo_epi8(low, high);
    const __m512i words_hi = _mm512_unpackhi_epi8(low, high);
    __m512 s = _mm512_dpbf16_ps(*sum, (__m512bh)words_lo,
                                (__m512bh)_mm512_castps_si512(_mm512_loadu_ps(a)));
    *sum = _mm512_dpbf16_ps(s, (__m512bh)words_hi,
                            (__m512bh)_mm512_castps_si512(_mm512_loadu_ps(a + 16)));
}

/* 64 codes' high and low bytes against the vector's lanes at..at+64 (in
 * lane order): as floats, or as bf16 pairs at half the offset. */
SIEVE_TARGET_AVX512_BF16 SIEVE_INLINE void dot_bytes_step(__m512i low, __m512i high,
                                                          const float *vec, size_t at,
                                                          const bool bf16, __m512 *sum)
{
    if (bf16)
        dot_bf16_dp2(low, high, vec + at / 2, sum);
    else
        dot_bf16_fma4(low, high, vec + at, sum);
}

/* Kernel variant of SIEVE_DOT_BYTES8 for signed formats: a code's value is
 * its magnitude's with the sign bit set, so one 128-entry lookup per byte
 * plane (vpermi2b ignores bit 7) and an OR of the sign bit into the high
 * byte replace two lookups and a blend per plane. */
#define DOT_BYTES8_SIGNED (-1)
/* ... and for w < 8 other than 4: the codes widened to bytes
 * (widen_codes_avx512), then one 128-entry lookup per byte plane, the
 * sign being a bit of the code. */
#define DOT_BYTES_WIDENED (-2)

SIEVE_TARGET_AVX512_BF16 SIEVE_INLINE void dot_rows_bytes_avx512_body(
    const sieve_dot_plan *plan, const uint8_t *b, size_t first, size_t stride, const size_t rows,
    const float *const *vecs, const size_t n_vecs, size_t k, float *acc, size_t acc_ld,
    const int method, const bool bf16)
{
    const unsigned w = plan->width, block = plan->block;
    __m512 sum[SIEVE_DOT_MAX_VECS][SIEVE_DOT_MAX_ROWS];
    const uint8_t *step[SIEVE_DOT_MAX_ROWS];
    for (size_t r = 0; r < rows; r++) {
        step[r] = b + element_cursor(first + r * stride, w).byte;
        for (size_t i = 0; i < n_vecs; i++)
            sum[i][r] = _mm512_setzero_ps();
    }
    __m512i high_table[4], low_table[4];
    dot_plan_tables_avx512(plan, method != SIEVE_DOT_NIBBLES4, high_table, low_table);
    const __m512i nibble = _mm512_set1_epi8(0x0f), sign_bits = _mm512_set1_epi8((char)0x80);
    const widen_avx512 wd = widen_init_avx512(w);
    const size_t ahead = SIEVE_DOT_MAX_ROWS * stride * w / 8;
    const size_t step_bytes = method == DOT_BYTES_WIDENED ? 8 * (size_t)w : 64;
    for (size_t j = 0; j < k; j += block) {
        const size_t count = SIEVE_MIN((size_t)block, k - j);
        const size_t bytes = (count * w + 7) / 8;
        const __mmask64 load = bytes == 64 ? ~(__mmask64)0 : ((__mmask64)1 << bytes) - 1;
        for (size_t r = 0; r < rows; r++) {
            const __m512i codes = method == DOT_BYTES_WIDENED
                                      ? widen_codes_avx512(&wd, w, step[r], count)
                                      : _mm512_maskz_loadu_epi8(load, step[r]);
            _mm_prefetch(dot_prefetch_at(step[r], ahead), _MM_HINT_T0);
            step[r] += step_bytes;
            if (method == DOT_BYTES_WIDENED) {
                const __m512i high = _mm512_permutex2var_epi8(high_table[0], codes, high_table[1]);
                const __m512i low = _mm512_permutex2var_epi8(low_table[0], codes, low_table[1]);
                for (size_t i = 0; i < n_vecs; i++)
                    dot_bytes_step(low, high, vecs[i], j, bf16, &sum[i][r]);
            } else if (method == DOT_BYTES8_SIGNED) {
                const __m512i high = _mm512_ternarylogic_epi32(
                    _mm512_permutex2var_epi8(high_table[0], codes, high_table[1]), codes,
                    sign_bits, 0xf8); /* a | (b & c) */
                const __m512i low = _mm512_permutex2var_epi8(low_table[0], codes, low_table[1]);
                for (size_t i = 0; i < n_vecs; i++)
                    dot_bytes_step(low, high, vecs[i], j, bf16, &sum[i][r]);
            } else if (method == SIEVE_DOT_BYTES8) {
                const __mmask64 top = _mm512_movepi8_mask(codes);
                const __m512i high = _mm512_mask_blend_epi8(
                    top, _mm512_permutex2var_epi8(high_table[0], codes, high_table[1]),
                    _mm512_permutex2var_epi8(high_table[2], codes, high_table[3]));
                const __m512i low = _mm512_mask_blend_epi8(
                    top, _mm512_permutex2var_epi8(low_table[0], codes, low_table[1]),
                    _mm512_permutex2var_epi8(low_table[2], codes, low_table[3]));
                for (size_t i = 0; i < n_vecs; i++)
                    dot_bytes_step(low, high, vecs[i], j, bf16, &sum[i][r]);
            } else {
                const __m512i even = _mm512_and_si512(codes, nibble);
                const __m512i odd = _mm512_and_si512(_mm512_srli_epi16(codes, 4), nibble);
                const __m512i high_even = _mm512_shuffle_epi8(high_table[0], even);
                const __m512i low_even = _mm512_shuffle_epi8(low_table[0], even);
                const __m512i high_odd = _mm512_shuffle_epi8(high_table[0], odd);
                const __m512i low_odd = _mm512_shuffle_epi8(low_table[0], odd);
                for (size_t i = 0; i < n_vecs; i++) {
                    dot_bytes_step(low_even, high_even, vecs[i], j, bf16, &sum[i][r]);
                    dot_bytes_step(low_odd, high_odd, vecs[i], j + 64, bf16, &sum[i][r]);
                }
            }
        }
    }
    for (size_t i = 0; i < n_vecs; i++)
        for (size_t r = 0; r < rows; r++)
            acc[i * acc_ld + r] += _mm512_reduce_add_ps(sum[i][r]);
}

/* Instantiates a body for 1..4 rows with one vector (batch 1, the case
 * that matters) and a generic count otherwise. */
#define DOT_DISPATCH_ROWS(call_rows, call_generic)                                                 \
    do {                                                                                           \
        if (n_vecs == 1) {                                                                         \
            switch (rows) {                                                                        \
            case 4: call_rows(4); return;                                                          \
            case 3: call_rows(3); return;                                                          \
            case 2: call_rows(2); return;                                                          \
            default: call_rows(1); return;                                                         \
            }                                                                                      \
        }                                                                                          \
        call_generic;                                                                              \
    } while (0)

SIEVE_TARGET_AVX512 static void dot_rows_f32_avx512(const float *b, size_t stride, size_t rows,
                                                    const float *const *vecs, size_t n_vecs,
                                                    size_t k, float *acc, size_t acc_ld)
{
#define F32_ROWS(R) dot_rows_f32_avx512_body(b, stride, R, vecs, 1, k, acc, acc_ld)
    DOT_DISPATCH_ROWS(F32_ROWS, dot_rows_f32_avx512_body(b, stride, rows, vecs, n_vecs, k, acc,
                                                         acc_ld));
#undef F32_ROWS
}

#define DOT_METHOD_AVX512(name, method)                                                            \
    SIEVE_TARGET_AVX512 static void name(const dot_decoder_avx512 *d, unsigned w,                  \
                                         const uint8_t *b, size_t first, size_t stride,            \
                                         size_t rows, const float *const *vecs, size_t n_vecs,     \
                                         size_t k, float *acc, size_t acc_ld)                      \
    {                                                                                              \
        DOT_DISPATCH_ROWS(DOT_ROWS_##name, dot_rows_avx512_body(d, w, b, first, stride, rows,      \
                                                                vecs, n_vecs, k, acc, acc_ld,      \
                                                                method));                          \
    }
#define DOT_ROWS_dot_rows_lut_avx512(R)                                                            \
    dot_rows_avx512_body(d, w, b, first, stride, R, vecs, 1, k, acc, acc_ld, SIEVE_DOT_LUT32)
#define DOT_ROWS_dot_rows_split_avx512(R)                                                          \
    dot_rows_avx512_body(d, w, b, first, stride, R, vecs, 1, k, acc, acc_ld, SIEVE_DOT_SPLIT)
#define DOT_ROWS_dot_rows_arith_avx512(R)                                                          \
    dot_rows_avx512_body(d, w, b, first, stride, R, vecs, 1, k, acc, acc_ld, SIEVE_DOT_ARITH)
#define DOT_BYTES_AVX512(name, method, bf16)                                                       \
    SIEVE_TARGET_AVX512_BF16 static void name(const sieve_dot_plan *plan, const uint8_t *b,       \
                                              size_t first, size_t stride, size_t rows,            \
                                              const float *const *vecs, size_t n_vecs, size_t k,   \
                                              float *acc, size_t acc_ld)                           \
    {                                                                                              \
        const int how = (method);                                                                  \
        const bool pairs = (bf16);                                                                 \
        DOT_DISPATCH_ROWS(DOT_ROWS_BYTES, dot_rows_bytes_avx512_body(plan, b, first, stride, rows, \
                                                                     vecs, n_vecs, k, acc, acc_ld, \
                                                                     how, pairs));                 \
    }
#define DOT_ROWS_BYTES(R)                                                                          \
    dot_rows_bytes_avx512_body(plan, b, first, stride, R, vecs, 1, k, acc, acc_ld, how, pairs)
DOT_BYTES_AVX512(dot_rows_bytes8_avx512, SIEVE_DOT_BYTES8, false)
DOT_BYTES_AVX512(dot_rows_bytes8s_avx512, DOT_BYTES8_SIGNED, false)
DOT_BYTES_AVX512(dot_rows_nibbles4_avx512, SIEVE_DOT_NIBBLES4, false)
DOT_BYTES_AVX512(dot_rows_bytes8_bf16, SIEVE_DOT_BYTES8, true)
DOT_BYTES_AVX512(dot_rows_bytes8s_bf16, DOT_BYTES8_SIGNED, true)
DOT_BYTES_AVX512(dot_rows_nibbles4_bf16, SIEVE_DOT_NIBBLES4, true)
DOT_BYTES_AVX512(dot_rows_widened_avx512, DOT_BYTES_WIDENED, false)
DOT_BYTES_AVX512(dot_rows_widened_bf16, DOT_BYTES_WIDENED, true)
DOT_METHOD_AVX512(dot_rows_lut_avx512, SIEVE_DOT_LUT32)
DOT_METHOD_AVX512(dot_rows_split_avx512, SIEVE_DOT_SPLIT)
DOT_METHOD_AVX512(dot_rows_arith_avx512, SIEVE_DOT_ARITH)

SIEVE_TARGET_AVX512 static void dot_rows_avx512(const sieve_dot_plan *plan, const void *b,
                                                size_t first, size_t stride, size_t rows,
                                                const float *const *vecs, size_t n_vecs, size_t k,
                                                float *acc, size_t acc_ld)
{
    if (plan->method == SIEVE_DOT_FP32) {
        dot_rows_f32_avx512((const float *)b + first, stride, rows, vecs, n_vecs, k, acc, acc_ld);
        return;
    }
    if (plan->method == SIEVE_DOT_BYTES8 || plan->method == SIEVE_DOT_NIBBLES4) {
        const bool bf16 = plan->vecs_bf16;
        if (plan->method == SIEVE_DOT_NIBBLES4)
            (bf16 ? dot_rows_nibbles4_bf16 : dot_rows_nibbles4_avx512)(plan, b, first, stride, rows,
                                                                      vecs, n_vecs, k, acc, acc_ld);
        else if (plan->width != 8)
            (bf16 ? dot_rows_widened_bf16 : dot_rows_widened_avx512)(plan, b, first, stride, rows,
                                                                    vecs, n_vecs, k, acc, acc_ld);
        else if (plan->format.is_signed)
            (bf16 ? dot_rows_bytes8s_bf16 : dot_rows_bytes8s_avx512)(plan, b, first, stride, rows,
                                                                    vecs, n_vecs, k, acc, acc_ld);
        else
            (bf16 ? dot_rows_bytes8_bf16 : dot_rows_bytes8_avx512)(plan, b, first, stride, rows,
                                                                  vecs, n_vecs, k, acc, acc_ld);
        return;
    }
    dot_decoder_avx512 d;
    memset(&d, 0, sizeof(d));
    const unsigned w = plan->width;
    if (plan->method == SIEVE_DOT_LUT32) {
        d.lut_lo = _mm512_loadu_ps(plan->lut);
        d.lut_hi = _mm512_loadu_ps(plan->lut + 16);
        dot_rows_lut_avx512(&d, w, b, first, stride, rows, vecs, n_vecs, k, acc, acc_ld);
    } else if (plan->method == SIEVE_DOT_SPLIT) {
        d.high_lo = _mm512_loadu_ps(plan->high);
        d.high_hi = _mm512_loadu_ps(plan->high + 16);
        d.low_lo = _mm512_loadu_ps(plan->low);
        d.low_hi = _mm512_loadu_ps(plan->low + 16);
        d.offset_lo = _mm512_loadu_ps(plan->offset);
        d.offset_hi = _mm512_loadu_ps(plan->offset + 16);
        d.m_shift = _mm_cvtsi32_si128((int)plan->format.m_bits);
        dot_rows_split_avx512(&d, w, b, first, stride, rows, vecs, n_vecs, k, acc, acc_ld);
    } else {
        cfloat_codec c;
        codec_init(&c, &plan->format);
        d.code_mask = _mm512_set1_epi32((int)((1u << w) - 1));
        d.magnitude_mask = _mm512_set1_epi32((int)c.magnitude_mask);
        d.normal_min_code = _mm512_set1_epi32((int)c.normal_min_code);
        d.exp_offset_bits = _mm512_set1_epi32((int)c.exp_offset_bits);
        d.sub_offset = _mm512_castsi512_ps(_mm512_set1_epi32((int)c.sub_offset_bits));
        d.sign_flag = _mm512_set1_epi32((int)c.sign_flag);
        d.abs_mask = _mm512_set1_epi32((int)FP32_ABS_MASK);
        d.mant_shift = _mm_cvtsi32_si128((int)(FP32_MANT_BITS - c.m));
        d.sign_shift = _mm_cvtsi32_si128((int)c.sign_shift);
        dot_rows_arith_avx512(&d, w, b, first, stride, rows, vecs, n_vecs, k, acc, acc_ld);
    }
}
#endif

#ifdef SIEVE_CFLOAT_X86
SIEVE_TARGET_AVX512 static void dot_unpack_bf16_avx512(const sieve_dot_plan *plan,
                                                       const uint8_t *src, bit_cursor cur,
                                                       size_t n, float *dst)
{
    __m512i high_table[4], low_table[4];
    dot_plan_tables_avx512(plan, plan->width != 4, high_table, low_table);
    unpack_bf16_loop_avx512(plan->width, plan->format.is_signed != 0, high_table, low_table, src,
                            cur, n, dst);
}

SIEVE_TARGET_AVX512 static void dot_unpack_bf16_rows_avx512(const sieve_dot_plan *plan,
                                                            const uint8_t *src, size_t first,
                                                            size_t src_stride, size_t rows,
                                                            size_t n, uint16_t *dst,
                                                            size_t dst_stride)
{
    __m512i high_table[4], low_table[4];
    dot_plan_tables_avx512(plan, plan->width != 4, high_table, low_table);
    for (size_t r = 0; r < rows; r++) {
        const bit_cursor cur = element_cursor(first + r * src_stride, plan->width);
        unpack_bf16_words_loop_avx512(plan->width, plan->format.is_signed != 0, high_table,
                                      low_table, src, cur, n, dst + r * dst_stride);
    }
}
#endif

void sieve_dot_unpack(const sieve_dot_plan *plan, const void *src, size_t first, size_t n,
                      float *dst)
{
#ifdef SIEVE_CFLOAT_X86
    const bit_cursor cur = element_cursor(first, plan->width);
    if (plan->bf16_tables && cur.bit == 0 && n) {
        dot_unpack_bf16_avx512(plan, src, cur, n, dst);
        return;
    }
#endif
    sieve_cfloat_unpack_level(plan->level, &plan->format, src, first, n, dst);
}

bool sieve_dot_unpack_bf16_rows(const sieve_dot_plan *plan, const void *src, size_t first,
                                size_t src_stride, size_t rows, size_t n, uint16_t *dst,
                                size_t dst_stride)
{
#ifdef SIEVE_CFLOAT_X86
    if (plan->bf16_tables && plan->level >= LEVEL_AVX512 &&
        element_cursor(first, plan->width).bit == 0 &&
        (rows < 2 || element_cursor(src_stride, plan->width).bit == 0)) {
        dot_unpack_bf16_rows_avx512(plan, src, first, src_stride, rows, n, dst, dst_stride);
        return true;
    }
#endif
    (void)plan, (void)src, (void)first, (void)src_stride, (void)rows, (void)n, (void)dst,
        (void)dst_stride;
    return false;
}

void sieve_dot_rows(const sieve_dot_plan *plan, const void *b, size_t first, size_t stride,
                    size_t rows, const float *const *vecs, size_t n_vecs, size_t k, float *acc,
                    size_t acc_ld)
{
    if (!rows || !n_vecs || !k)
        return;
#ifdef SIEVE_CFLOAT_X86
    if (plan->level >= LEVEL_AVX512 &&
        (plan->method == SIEVE_DOT_FP32 || plan->width <= SIMD_MAX_WIDTH)) {
        dot_rows_avx512(plan, b, first, stride, rows, vecs, n_vecs, k, acc, acc_ld);
        return;
    }
#endif
    dot_rows_buffered(plan, b, first, stride, rows, vecs, n_vecs, k, acc, acc_ld);
}

/* ---- tile encode (cfloat_tile.h) ------------------------------------------ */

#ifdef SIEVE_CFLOAT_X86
_Static_assert(sizeof(encode_avx512) <= sizeof(((sieve_tile_encoder *)0)->state),
               "the encoder's constants fit the tile encoder");
_Static_assert(SIEVE_TILE_ENCODE_COLS == 32, "a tile row is two 16-lane steps");

SIEVE_TARGET_AVX512 static void tile_encoder_init_avx512(const cfloat_codec *c, void *state,
                                                         bool *ok)
{
    encode_avx512 k;
    *ok = encode_avx512_init(c, &k);
    if (*ok)
        memcpy(state, &k, sizeof(k));
}

/* Row r's codes: dword j of `pairs` holds code 2j in bits 0-3 and code
 * 2j+1 in bits 16-19, made bytes by one narrowing (as pack_bytes_avx512). */
/* Sets the bits of `nibble` (0x0f or 0xf0) in *b to those of `code`
 * while another thread may be setting the byte's other nibble the same
 * way: each atomic operation leaves that nibble as it finds it. */
static inline void merge_nibble_shared(uint8_t *b, uint8_t nibble, uint8_t code)
{
    const uint8_t mine = (uint8_t)(code & nibble);
    __atomic_fetch_and(b, (uint8_t)(~nibble | mine), __ATOMIC_RELAXED);
    __atomic_fetch_or(b, mine, __ATOMIC_RELAXED);
}

static inline void merge_nibble(uint8_t *b, uint8_t nibble, uint8_t code, bool shared)
{
    if (shared)
        merge_nibble_shared(b, nibble, code);
    else
        *b = (uint8_t)((*b & ~nibble) | (code & nibble));
}

SIEVE_TARGET_AVX512 SIEVE_INLINE bool tile_encode_body_avx512(const encode_avx512 *kp, unsigned w,
                                                             const float *vals, size_t vals_stride,
                                                             size_t mr, size_t nr,
                                                             uint8_t *stream, size_t first,
                                                             size_t row_stride, bool shared_ends,
                                                             const bool nonneg)
{
    /* a local copy: the byte stores below may alias *kp as far as the
     * compiler knows, which made it reload every constant per row */
    const encode_avx512 local = *kp, *k = &local;
    const size_t n0 = SIEVE_MIN(nr, (size_t)16), n1 = nr - n0;
    const __mmask16 m0 = (__mmask16)((1u << n0) - 1), m1 = (__mmask16)((1u << n1) - 1);
    /* word j <- word j - 1, word 0 <- 0: a row that starts on a high nibble */
    const __m512i shift_up = _mm512_set_epi16(30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
                                              17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3,
                                              2, 1, 0, 0);
    __mmask16 bad = 0;
    for (size_t r = 0; r < mr; r++) {
        const float *v = vals + r * vals_stride;
        const size_t e = first + r * row_stride;
        const __m512i c0 =
            encode16_body_avx512(k, _mm512_maskz_loadu_epi32(m0, v), m0, &bad, nonneg);
        const __m512i c1 =
            encode16_body_avx512(k, _mm512_maskz_loadu_epi32(m1, v + 16), m1, &bad, nonneg);
        if (w == 8) {
            _mm_mask_storeu_epi8(stream + e, m0, _mm512_cvtepi32_epi8(c0));
            _mm_mask_storeu_epi8(stream + e + 16, m1, _mm512_cvtepi32_epi8(c1));
            continue;
        }
        /* masked-out lanes encoded +0: code 0 */
        __m512i words = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi32_epi16(c0)),
                                           _mm512_cvtepi32_epi16(c1), 1);
        uint8_t *b = stream + e / 2;
        size_t nibbles = nr;
        uint8_t last_code = 0;
        if (e % 2) {
            /* the byte's low nibble is element e - 1: kept */
            last_code = (uint8_t)(_mm512_cvtsi512_si32(
                                      _mm512_alignr_epi32(words, words, 15)) >> 16) & 0x0f;
            words = _mm512_maskz_permutexvar_epi16(~(__mmask32)1, shift_up, words);
            nibbles = nr + 1;
        }
        const __m128i bytes =
            _mm512_cvtepi32_epi8(_mm512_or_si512(words, _mm512_srli_epi32(words, 12)));
        const size_t whole = SIEVE_MIN(nibbles, (size_t)32) / 2;
        /* whole bytes but a shared first one in one masked store */
        const __mmask16 store = (__mmask16)(((1u << whole) - 1) & (e % 2 ? ~1u : ~0u));
        _mm_mask_storeu_epi8(b, store, bytes);
        if (e % 2)
            merge_nibble(b, 0xf0, (uint8_t)_mm_cvtsi128_si32(bytes), shared_ends);
        if (nibbles == 33) { /* code 31 of a shifted row: low nibble of byte 16 */
            merge_nibble(b + 16, 0x0f, last_code, shared_ends);
        } else if (nibbles % 2) {
            uint8_t out[16];
            _mm_storeu_si128((__m128i *)out, bytes);
            merge_nibble(b + whole, 0x0f, out[whole], shared_ends);
        }
    }
    return bad == 0;
}

/* Unsigned formats take the body without sign handling: a value with its
 * sign bit set (-0 included) makes the tile say no. */
SIEVE_TARGET_AVX512 static bool tile_encode_avx512(const encode_avx512 *k, unsigned w,
                                                   const float *vals, size_t vals_stride,
                                                   size_t mr, size_t nr, uint8_t *stream,
                                                   size_t first, size_t row_stride,
                                                   bool shared_ends)
{
    if (k->unsigned_flag)
        return tile_encode_body_avx512(k, w, vals, vals_stride, mr, nr, stream, first,
                                       row_stride, shared_ends, true);
    return tile_encode_body_avx512(k, w, vals, vals_stride, mr, nr, stream, first, row_stride,
                                   shared_ends, false);
}
#endif

bool sieve_tile_encoder_init(sieve_tile_encoder *enc, const sieve_format *fmt)
{
    memset(enc, 0, sizeof(*enc));
#ifdef SIEVE_CFLOAT_X86
    if (sieve_cfloat_cpu_level() < LEVEL_AVX512 || !is_valid_cfloat(fmt))
        return false;
    enc->width = sieve_format_width(fmt);
    if (enc->width != 8 && enc->width != 4)
        return false;
    cfloat_codec c;
    codec_init(&c, fmt);
    bool ok;
    tile_encoder_init_avx512(&c, enc->state, &ok);
    return ok;
#else
    (void)fmt;
    return false;
#endif
}

bool sieve_tile_encode(const sieve_tile_encoder *enc, const float *vals, size_t vals_stride,
                       size_t mr, size_t nr, uint8_t *stream, size_t first, size_t row_stride,
                       bool shared_ends)
{
#ifdef SIEVE_CFLOAT_X86
    return tile_encode_avx512((const encode_avx512 *)(const void *)enc->state, enc->width, vals,
                              vals_stride, mr, nr, stream, first, row_stride, shared_ends);
#else
    (void)enc, (void)vals, (void)vals_stride, (void)mr, (void)nr, (void)stream, (void)first,
        (void)row_stride, (void)shared_ends;
    return false;
#endif
}
