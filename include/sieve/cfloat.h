/* libsieve — custom floating-point storage formats.
 *
 * A format F(e, m, bias, signed) codes a value as [sign] E M, e exponent
 * bits and m mantissa bits (sign omitted for unsigned formats):
 *   E >= 1: (-1)^s * 2^(E - bias) * (1 + M / 2^m)   (normal)
 *   E == 0: (-1)^s * 2^(1 - bias) * (M / 2^m)       (subnormal, E=M=0 is 0)
 * There are no inf/NaN codes. Encoding rounds to nearest, ties to even;
 * magnitudes above the largest value saturate; NaN is an error; negative
 * values in an unsigned format are an error too (-0 encodes as 0).
 *
 * Packed streams hold element i at bit i*w (w = format width), least
 * significant bit first. Every packed buffer has SIEVE_PACK_SLACK bytes of
 * slack after its last element so that decoders may read 8 bytes at a time.
 */
#ifndef SIEVE_CFLOAT_H
#define SIEVE_CFLOAT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIEVE_PACK_SLACK 8

typedef enum sieve_format_kind {
    SIEVE_FORMAT_FP32 = 0,   /* IEEE binary32, 4 bytes per element */
    SIEVE_FORMAT_CFLOAT = 1, /* custom float, packed bit stream */
} sieve_format_kind;

typedef struct sieve_format {
    uint8_t kind;      /* sieve_format_kind */
    uint8_t e_bits;    /* exponent field width (cfloat) */
    uint8_t m_bits;    /* mantissa field width (cfloat) */
    uint8_t is_signed; /* 1: sign bit present (cfloat) */
    int32_t bias;      /* exponent bias (cfloat) */
} sieve_format;

/* fp32 storage format. */
sieve_format sieve_format_fp32(void);
/* Custom float format (not validated; see sieve_format_validate). */
sieve_format sieve_format_cfloat(int e_bits, int m_bits, int bias, int is_signed);

/* SIEVE_OK when every code of `fmt` decodes to zero or a normal fp32
 * (1 <= e_bits <= 8, m_bits <= 23, exponent range inside fp32's normal
 * range). On failure, writes a reason into `why` (may be NULL). */
sieve_status sieve_format_validate(const sieve_format *fmt, char *why, size_t why_len);

/* Bits per element: 32 for fp32, sign + e + m for cfloat. */
unsigned sieve_format_width(const sieve_format *fmt);

/* Bytes needed to store n elements, slack included for cfloat.
 * Returns 0 on size overflow (n > 0). */
size_t sieve_format_bytes(const sieve_format *fmt, size_t n);

/* Writes e.g. "fp32", "cf(e4,m3,b7)" or "ucf(e4,m3,b7)"; returns buf. */
const char *sieve_format_str(const sieve_format *fmt, char *buf, size_t len);
/* Parses what sieve_format_str writes. */
sieve_status sieve_format_parse(const char *text, sieve_format *out);

/* Largest finite magnitude of a valid cfloat format. */
float sieve_cfloat_max(const sieve_format *fmt);

/* Scalar reference codec: the oracle for the bulk paths. */
sieve_status sieve_cfloat_encode_ref(const sieve_format *fmt, float x, uint32_t *code);
float sieve_cfloat_decode_ref(const sieve_format *fmt, uint32_t code);

/* Bulk: encode src[0..n) into the packed stream `dst`, elements at
 * positions first..first+n (bit (first+i)*w). Bits of other elements are
 * preserved. Returns SIEVE_ERR_RANGE on NaN (or a negative value for an
 * unsigned format), and then the first offending index in *bad_index
 * (may be NULL). */
sieve_status sieve_cfloat_pack(const sieve_format *fmt, const float *src, size_t n,
                               uint8_t *dst, size_t first, size_t *bad_index);

/* Bulk decode of elements first..first+n of a packed stream into dst.
 * Reads up to SIEVE_PACK_SLACK bytes past the last element. */
void sieve_cfloat_unpack(const sieve_format *fmt, const uint8_t *src, size_t first, size_t n,
                         float *dst);

/* Round every value of buf to its nearest value in fmt (encode+decode),
 * in place; same errors as sieve_cfloat_pack. */
sieve_status sieve_cfloat_quantize(const sieve_format *fmt, float *buf, size_t n,
                                   size_t *bad_index);

/* Generic helpers over any storage format (fp32 or cfloat). */
sieve_status sieve_format_store(const sieve_format *fmt, const float *src, size_t n, void *dst,
                                size_t first, size_t *bad_index);
void sieve_format_load(const sieve_format *fmt, const void *src, size_t first, size_t n,
                       float *dst);

#ifdef __cplusplus
}
#endif
#endif
