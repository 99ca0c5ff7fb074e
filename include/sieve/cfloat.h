/* libsieve — custom floating-point storage formats.
 *
 * A format F(e, m, bias, signed) codes a value as [sign] E M, e exponent
 * bits and m mantissa bits (sign omitted for unsigned formats):
 *   E >= 1: (-1)^s * 2^(E - bias) * (1 + M / 2^m)   (normal)
 *   E == 0: (-1)^s * 2^(1 - bias) * (M / 2^m)       (subnormal, E=M=0 is 0)
 * In a code, M is the low m bits, E the e bits above it and the sign bit
 * (signed formats) bit e+m. There are no inf/NaN codes.
 *
 * Encoding rounds to nearest; a tie goes to the even code (the even
 * mantissa, or for m = 0 the even exponent), in subnormals and in the
 * underflow to zero too: half the smallest nonzero value encodes as 0.
 * Magnitudes above the largest value, infinities included, saturate to
 * it. NaN is an error (SIEVE_ERR_RANGE).
 * Signed formats: -0 encodes with the sign bit set and decodes to -0.0f,
 * so every code round-trips; a negative value that rounds to zero also
 * gives that -0 code.
 * Unsigned formats: -0 encodes as 0; every other negative value is an
 * error (SIEVE_ERR_RANGE), even one so small it would round to zero — a
 * negative in a tensor declared non-negative is a bug worth reporting.
 * Results do not depend on the FPU's rounding or flush-to-zero modes.
 *
 * Packed streams hold element i at bit i*w (w = format width), least
 * significant bit first. Every packed buffer has SIEVE_PACK_SLACK bytes of
 * slack after its last element so that decoders may read 8 bytes at a time.
 *
 * No function keeps state between calls; all are safe to call from any
 * number of threads on distinct output buffers.
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
 * (1 <= e_bits <= 8, m_bits <= 23, is_signed 0 or 1, and
 * (2^e - 1) - 127 <= bias <= 127 - m: largest exponent at most 2^127,
 * smallest nonzero at least 2^-126; no bias fits e_bits = 8). fp32 is
 * valid (its other fields are ignored). On failure returns
 * SIEVE_ERR_FORMAT (SIEVE_ERR_ARG for NULL) and writes a reason into
 * `why` (may be NULL); on success `why` is set to "". */
sieve_status sieve_format_validate(const sieve_format *fmt, char *why, size_t why_len);

/* Bits per element: 32 for fp32, sign + e + m for cfloat. */
unsigned sieve_format_width(const sieve_format *fmt);

/* Bytes needed to store n elements, slack included for cfloat.
 * Returns 0 on size overflow (n > 0). */
size_t sieve_format_bytes(const sieve_format *fmt, size_t n);

/* Writes e.g. "fp32", "cf(e4,m3,b7)" or "ucf(e4,m3,b-3)" ("invalid" for
 * an unknown kind), truncated to len like snprintf; returns buf. */
const char *sieve_format_str(const sieve_format *fmt, char *buf, size_t len);
/* Parses exactly what sieve_format_str writes for a valid format (no
 * spaces, no leading zeros or '+'). Anything else, including well-formed
 * text naming an invalid format, is SIEVE_ERR_FORMAT and leaves *out
 * untouched. */
sieve_status sieve_format_parse(const char *text, sieve_format *out);

/* Largest finite magnitude of a valid cfloat format (FLT_MAX for fp32,
 * NaN for an invalid format). */
float sieve_cfloat_max(const sieve_format *fmt);

/* Scalar reference codec: the oracle for the bulk paths. encode_ref
 * returns SIEVE_ERR_ARG unless fmt is a valid cfloat format, and leaves
 * *code untouched on any error. decode_ref ignores code bits above the
 * width and returns NaN for an invalid format. */
sieve_status sieve_cfloat_encode_ref(const sieve_format *fmt, float x, uint32_t *code);
float sieve_cfloat_decode_ref(const sieve_format *fmt, uint32_t code);

/* Bulk: encode src[0..n) into the packed stream `dst`, elements at
 * positions first..first+n (bit (first+i)*w). Bits of other elements are
 * preserved. Returns SIEVE_ERR_RANGE on NaN (or a negative value for an
 * unsigned format), and then the first offending index in *bad_index
 * (may be NULL); elements before it are stored, the rest of dst is
 * untouched. SIEVE_ERR_ARG for an invalid format. fp32 stores src as is
 * (NaN included). Equals sieve_cfloat_encode_ref bit for bit. */
sieve_status sieve_cfloat_pack(const sieve_format *fmt, const float *src, size_t n,
                               uint8_t *dst, size_t first, size_t *bad_index);

/* Bulk decode of elements first..first+n of a packed stream into dst.
 * Reads up to SIEVE_PACK_SLACK bytes past the last element. An invalid
 * format fills dst with NaN (formats are validated when a model loads).
 * Equals sieve_cfloat_decode_ref bit for bit. */
void sieve_cfloat_unpack(const sieve_format *fmt, const uint8_t *src, size_t first, size_t n,
                         float *dst);

/* Round every value of buf to its nearest value in fmt (encode+decode),
 * in place; same errors as sieve_cfloat_pack (on error, values before
 * *bad_index are rounded, the rest untouched). Identity for fp32. */
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
