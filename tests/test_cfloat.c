/* Tests of the custom float codec (include/sieve/cfloat.h, DESIGN.md 3).
 *
 * Oracles, from most to least independent of src/cfloat.c:
 *  - the format definition itself, evaluated in double (spec_value);
 *  - a brute-force nearest-code search with ties to the even code;
 *  - bit-at-a-time stream readers and writers written here;
 *  - the library's scalar reference codec, for the bulk paths.
 */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

#include "cfloat_dot.h"
#include "cfloat_tile.h"
#include "sieve/cfloat.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Internal entry points of src/cfloat.c: the bulk paths at a chosen
 * instruction-set level (0 = portable C, then wider SIMD), capped at what
 * this CPU runs. Every bulk test runs at every level the CPU has. */
int sieve_cfloat_cpu_level(void);
sieve_status sieve_cfloat_pack_level(int level, const sieve_format *fmt, const float *src, size_t n,
                                     uint8_t *dst, size_t first, size_t *bad_index);
void sieve_cfloat_unpack_level(int level, const sieve_format *fmt, const uint8_t *src, size_t first,
                               size_t n, float *dst);
sieve_status sieve_cfloat_quantize_level(int level, const sieve_format *fmt, float *buf, size_t n,
                                         size_t *bad_index);

/* ---- helpers ------------------------------------------------------------ */

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof(u));
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

/* splitmix64: deterministic test data. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *state, uint32_t bound)
{
    return (uint32_t)(rng_next(state) % bound);
}

static int bias_min(int e)
{
    return ((1 << e) - 1) - 127;
}

static int bias_max(int m)
{
    return 127 - m;
}

static uint32_t magnitude_codes(const sieve_format *f)
{
    return 1u << (f->e_bits + f->m_bits);
}

static uint32_t sign_bit(const sieve_format *f)
{
    return f->is_signed ? 1u << (f->e_bits + f->m_bits) : 0;
}

/* The value of a code straight from the definition, in double. */
static double spec_value(const sieve_format *f, uint32_t code)
{
    const int e = f->e_bits, m = f->m_bits;
    const uint32_t M = code & ((1u << m) - 1);
    const uint32_t E = (code >> m) & ((1u << e) - 1);
    const int s = f->is_signed ? (int)((code >> (e + m)) & 1) : 0;
    double v;
    if (E >= 1)
        v = ldexp(1.0 + ldexp((double)M, -m), (int)E - f->bias);
    else
        v = ldexp(ldexp((double)M, -m), 1 - f->bias);
    return s ? -v : v;
}

static uint32_t encode(const sieve_format *f, float x)
{
    uint32_t code = 0xdeadbeef;
    assert_int_equal(sieve_cfloat_encode_ref(f, x, &code), SIEVE_OK);
    return code;
}

static const char *fmt_name(const sieve_format *f)
{
    static char buf[64];
    return sieve_format_str(f, buf, sizeof(buf));
}

/* Bit-at-a-time stream access, LSB first. */
static uint32_t stream_get(const uint8_t *buf, size_t bit, unsigned w)
{
    uint32_t v = 0;
    for (unsigned k = 0; k < w; k++, bit++)
        v |= (uint32_t)((buf[bit / 8] >> (bit % 8)) & 1) << k;
    return v;
}

static void stream_put(uint8_t *buf, size_t bit, unsigned w, uint32_t v)
{
    for (unsigned k = 0; k < w; k++, bit++) {
        const uint8_t mask = (uint8_t)(1u << (bit % 8));
        buf[bit / 8] = (uint8_t)(((v >> k) & 1) ? (buf[bit / 8] | mask) : (buf[bit / 8] & ~mask));
    }
}

/* Codes worth sampling on purpose: 0, 1, the largest magnitude, -0. */
static uint32_t special_code(const sieve_format *f, unsigned which)
{
    switch (which) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return magnitude_codes(f) - 1;
    default:
        return sign_bit(f);
    }
}

/* Formats for the exhaustive tests: every (signed, e, m) up to `max_width`
 * bits, each with its smallest and largest valid bias (the largest value
 * at 2^127, the smallest at 2^-126: the edges of fp32's normal range);
 * formats up to 12 bits also with the IEEE-style bias 2^(e-1)-1 (when
 * valid) and the middle of the valid range. */
typedef struct format_list {
    sieve_format *items;
    size_t count;
} format_list;

static void add_format(format_list *list, sieve_format f)
{
    for (size_t i = 0; i < list->count; i++)
        if (memcmp(&list->items[i], &f, sizeof(f)) == 0)
            return;
    list->items = realloc(list->items, (list->count + 1) * sizeof(*list->items));
    assert_non_null(list->items);
    list->items[list->count++] = f;
}

static format_list small_formats(unsigned max_width)
{
    format_list list = {NULL, 0};
    for (int s = 0; s <= 1; s++)
        for (int e = 1; e <= 8; e++)
            for (int m = 0; s + e + m <= (int)max_width && m <= 23; m++) {
                const int lo = bias_min(e), hi = bias_max(m);
                if (lo > hi)
                    continue;
                add_format(&list, sieve_format_cfloat(e, m, lo, s));
                add_format(&list, sieve_format_cfloat(e, m, hi, s));
                if (s + e + m > 12)
                    continue;
                const int ieee = (1 << (e - 1)) - 1;
                add_format(&list, sieve_format_cfloat(e, m, lo + (hi - lo) / 2, s));
                if (ieee >= lo && ieee <= hi)
                    add_format(&list, sieve_format_cfloat(e, m, ieee, s));
            }
    return list;
}

/* Every valid format of at most 8 bits (the widths with byte-table
 * decoding: 8 and 4 bits as they are, the others widened to bytes first),
 * signed and unsigned, at the least, the IEEE-like and the largest bias. */
static format_list byte_formats(void)
{
    format_list list = {NULL, 0};
    for (int w = 1; w <= 8; w++)
        for (int is_signed = 0; is_signed <= 1; is_signed++)
            for (int e = 1; e <= w - is_signed; e++) {
                const int m = w - is_signed - e;
                const int biases[] = {bias_min(e), (1 << (e - 1)) - 1, bias_max(m)};
                for (int b = 0; b < 3; b++) {
                    sieve_format f = sieve_format_cfloat(e, m, biases[b], is_signed);
                    if (sieve_format_validate(&f, NULL, 0) == SIEVE_OK)
                        add_format(&list, f);
                }
            }
    return list;
}

/* A random valid cfloat format exactly `w` bits wide (2 <= w <= 31; w = 1
 * is only ucf(e1,m0)). */
static sieve_format random_format_of_width(uint64_t *rng, unsigned w)
{
    for (;;) {
        const int s = (int)rng_below(rng, 2);
        const int e = 1 + (int)rng_below(rng, 7);
        const int m = (int)w - s - e;
        if (m < 0 || m > 23)
            continue;
        const int lo = bias_min(e), hi = bias_max(m);
        if (lo > hi)
            continue;
        const int bias = lo + (int)rng_below(rng, (uint32_t)(hi - lo + 1));
        sieve_format f = sieve_format_cfloat(e, m, bias, s);
        assert_int_equal(sieve_format_width(&f), w);
        return f;
    }
}

/* Floats a codec meets: exact codes, near-ties, out-of-range magnitudes,
 * fp32 subnormals and the specials. */
static float random_candidate(uint64_t *rng, const sieve_format *f)
{
    float x;
    switch (rng_below(rng, 6)) {
    case 0: /* any fp32 bit pattern that is not NaN */
        do
            x = float_of((uint32_t)rng_next(rng));
        while (isnan(x));
        break;
    case 1: /* an exact code */
        x = (float)spec_value(f, rng_below(rng, magnitude_codes(f)));
        break;
    case 2: { /* a few fp32 ulps around a code or a midpoint */
        const uint32_t c = rng_below(rng, magnitude_codes(f));
        const double lo = spec_value(f, c);
        const double hi = c + 1 < magnitude_codes(f) ? spec_value(f, c + 1) : lo * 2;
        x = float_of(bits_of((float)((lo + hi) / 2)) + rng_below(rng, 7) - 3);
        break;
    }
    case 3: { /* fp32 subnormals and tiny values */
        x = float_of((uint32_t)rng_next(rng) & 0x00ffffffu);
        break;
    }
    case 4: { /* magnitudes at or just above the largest value */
        const float max = sieve_cfloat_max(f);
        x = float_of(bits_of(max) + rng_below(rng, 5));
        break;
    }
    default: {
        static const float specials[] = {0.0f,    -0.0f,        INFINITY, -INFINITY, FLT_MAX,
                                         FLT_MIN, FLT_TRUE_MIN, 1.0f,     -1.0f};
        x = specials[rng_below(rng, sizeof(specials) / sizeof(specials[0]))];
        break;
    }
    }
    return x;
}

/* random_candidate without NaN, non-negative when `positive`, else of
 * either sign. */
static float random_value(uint64_t *rng, const sieve_format *f, int positive)
{
    float x;
    do /* stepping a few ulps can pass infinity or zero into NaN */
        x = random_candidate(rng, f);
    while (isnan(x));
    if (positive)
        x = fabsf(x);
    else if (rng_below(rng, 2))
        x = -x;
    return x;
}

/* ---- formats: validation, width, bytes, text ------------------------------ */

static void test_validate_matches_fp32_normal_range(void **state)
{
    (void)state;
    char why[256];
    const int biases[] = {INT32_MIN, -1000, -300, INT32_MAX, 1000, 300};
    for (int s = 0; s <= 2; s++)
        for (int e = 0; e <= 9; e++)
            for (int m = 0; m <= 24; m++)
                for (int b = -140; b < 140 + (int)(sizeof(biases) / sizeof(biases[0])); b++) {
                    const int bias = b < 140 ? b : biases[b - 140];
                    sieve_format f = sieve_format_cfloat(e, m, bias, s);
                    f.is_signed = (uint8_t)s; /* the constructor maps 2 to 1 */
                    /* Oracle: smallest nonzero and largest value, in double. */
                    int valid = s <= 1 && e >= 1 && e <= 8 && m <= 23;
                    if (valid) {
                        const long long lowest = 1 - (long long)bias - m;
                        const long long highest = (1LL << e) - 1 - (long long)bias;
                        /* clamped: ldexp takes an int, the result is 0 or inf anyway */
                        const double smallest = ldexp(1.0, (int)(lowest < -5000  ? -5000
                                                                 : lowest > 5000 ? 5000
                                                                                 : lowest));
                        const double largest =
                            ldexp(2.0 - ldexp(1.0, -m), (int)(highest < -5000  ? -5000
                                                              : highest > 5000 ? 5000
                                                                               : highest));
                        valid = smallest >= FLT_MIN && largest <= FLT_MAX;
                    }
                    strcpy(why, "stale");
                    const sieve_status st = sieve_format_validate(&f, why, sizeof(why));
                    if (valid) {
                        assert_int_equal(st, SIEVE_OK);
                        assert_string_equal(why, "");
                    } else {
                        assert_int_equal(st, SIEVE_ERR_FORMAT);
                        assert_true(strlen(why) > 10);
                    }
                }
}

static void test_validate_rejects_with_reason(void **state)
{
    (void)state;
    char why[256];
    sieve_format f = sieve_format_cfloat(9, 3, 7, 1);
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(why, "e_bits=9"));
    f = sieve_format_cfloat(4, 24, 7, 1);
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(why, "m_bits=24"));
    f = sieve_format_cfloat(4, 3, 125, 1); /* smallest 2^-127 */
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(why, "bias 125 too large"));
    f = sieve_format_cfloat(4, 3, -113, 1); /* largest exponent 2^128 */
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(why, "bias -113 too small"));
    f = sieve_format_cfloat(8, 0, 127, 0); /* 8 exponent bits never fit */
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(why, "no bias fits"));
    f = sieve_format_cfloat(300, 3, 7, 1); /* does not wrap to e=44 */
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_ERR_FORMAT);
    f.kind = 7;
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(why, "kind"));
    assert_int_equal(sieve_format_validate(NULL, why, sizeof(why)), SIEVE_ERR_ARG);
    /* The reason is optional and truncated to the buffer. */
    f = sieve_format_cfloat(9, 3, 7, 1);
    assert_int_equal(sieve_format_validate(&f, NULL, 0), SIEVE_ERR_FORMAT);
    assert_int_equal(sieve_format_validate(&f, why, 5), SIEVE_ERR_FORMAT);
    assert_int_equal(strlen(why), 4);

    f = sieve_format_fp32();
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_OK);
    f = sieve_format_cfloat(4, 3, 7, 1);
    assert_int_equal(sieve_format_validate(&f, why, sizeof(why)), SIEVE_OK);
}

static void test_width_and_bytes(void **state)
{
    (void)state;
    const sieve_format fp32 = sieve_format_fp32();
    const sieve_format cf8 = sieve_format_cfloat(4, 3, 7, 1);
    const sieve_format ucf3 = sieve_format_cfloat(2, 1, 1, 0);
    const sieve_format cf31 = sieve_format_cfloat(7, 23, 64, 1);
    assert_int_equal(sieve_format_width(&fp32), 32);
    assert_int_equal(sieve_format_width(&cf8), 8);
    assert_int_equal(sieve_format_width(&ucf3), 3);
    assert_int_equal(sieve_format_width(&cf31), 31);

    assert_int_equal(sieve_format_bytes(&fp32, 0), 0);
    assert_int_equal(sieve_format_bytes(&fp32, 3), 12);
    assert_int_equal(sieve_format_bytes(&cf8, 0), SIEVE_PACK_SLACK);
    assert_int_equal(sieve_format_bytes(&cf8, 5), 5 + SIEVE_PACK_SLACK);
    assert_int_equal(sieve_format_bytes(&ucf3, 3), 2 + SIEVE_PACK_SLACK);
    assert_int_equal(sieve_format_bytes(&ucf3, 8), 3 + SIEVE_PACK_SLACK);
    assert_int_equal(sieve_format_bytes(&cf31, 9), 35 + SIEVE_PACK_SLACK);
    for (size_t n = 0; n < 100; n++)
        assert_int_equal(sieve_format_bytes(&cf31, n), (n * 31 + 7) / 8 + SIEVE_PACK_SLACK);
    /* Overflow gives 0, never a wrapped small size. */
    assert_int_equal(sieve_format_bytes(&fp32, SIZE_MAX / 2), 0);
    assert_int_equal(sieve_format_bytes(&cf31, SIZE_MAX), 0);
    assert_int_equal(sieve_format_bytes(&cf8, SIZE_MAX), 0);
    assert_int_equal(sieve_format_bytes(&cf8, SIZE_MAX - SIEVE_PACK_SLACK), SIZE_MAX);
    assert_int_equal(sieve_format_bytes(&cf8, SIZE_MAX - SIEVE_PACK_SLACK + 1), 0);
}

static void test_format_str_parse_round_trip(void **state)
{
    (void)state;
    char text[64], again[64];
    sieve_format f;
    const sieve_format fp32 = sieve_format_fp32();
    assert_string_equal(sieve_format_str(&fp32, text, sizeof(text)), "fp32");
    const sieve_format cf = sieve_format_cfloat(4, 3, 7, 1);
    assert_string_equal(sieve_format_str(&cf, text, sizeof(text)), "cf(e4,m3,b7)");
    const sieve_format ucf = sieve_format_cfloat(4, 3, 7, 0);
    assert_string_equal(sieve_format_str(&ucf, text, sizeof(text)), "ucf(e4,m3,b7)");
    const sieve_format neg = sieve_format_cfloat(3, 20, -3, 0);
    assert_string_equal(sieve_format_str(&neg, text, sizeof(text)), "ucf(e3,m20,b-3)");
    assert_string_equal(sieve_format_str(&cf, text, 5), "cf(e"); /* truncated, terminated */

    assert_int_equal(sieve_format_parse("fp32", &f), SIEVE_OK);
    assert_int_equal(f.kind, SIEVE_FORMAT_FP32);

    format_list list = small_formats(31);
    for (size_t i = 0; i < list.count; i++) {
        sieve_format_str(&list.items[i], text, sizeof(text));
        memset(&f, 0xab, sizeof(f));
        assert_int_equal(sieve_format_parse(text, &f), SIEVE_OK);
        assert_memory_equal(&f, &list.items[i], sizeof(f));
        assert_string_equal(sieve_format_str(&f, again, sizeof(again)), text);
    }
    free(list.items);

    static const char *const garbage[] = {
        "",
        "fp",
        "fp32 ",
        " fp32",
        "FP32",
        "fp16",
        "cf",
        "cf()",
        "cf(e4,m3)",
        "cf(e4,m3,b7",
        "cf(e4,m3,b7))",
        "cf(e4,m3,b7) ",
        "cf(e4, m3,b7)",
        "cf(e4,m3,b 7)",
        "CF(e4,m3,b7)",
        "uucf(e4,m3,b7)",
        "scf(e4,m3,b7)",
        "cf(m3,e4,b7)",
        "cf(e04,m3,b7)",
        "cf(e4,m03,b7)",
        "cf(e4,m3,b07)",
        "cf(e4,m3,b-0)",
        "cf(e4,m3,b+7)",
        "cf(e+4,m3,b7)",
        "cf(e-4,m3,b7)",
        "cf(e4,m3,b--7)",
        "cf(e,m3,b7)",
        "cf(e4,m3,b)",
        "cf(e4,m3,b-)",
        "cf(e4,m3,b7x)",
        "cf(e4,m3,b99999999999)",
        "cf(e4,m3,b2147483648)",
        "cf(e4.0,m3,b7)",
        "cf(e4;m3;b7)",
        /* well formed, but not valid formats */
        "cf(e9,m3,b7)",
        "cf(e4,m24,b7)",
        "cf(e4,m3,b125)",
        "cf(e4,m3,b-113)",
        "ucf(e8,m0,b127)",
        "cf(e0,m3,b7)",
        "cf(e256,m3,b7)",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        memset(&f, 0xab, sizeof(f));
        sieve_format untouched;
        memset(&untouched, 0xab, sizeof(untouched));
        if (sieve_format_parse(garbage[i], &f) != SIEVE_ERR_FORMAT)
            fail_msg("parse accepted \"%s\"", garbage[i]);
        assert_memory_equal(&f, &untouched, sizeof(f));
    }
    assert_int_equal(sieve_format_parse("cf(e7,m3,b-2147483648)", &f), SIEVE_ERR_FORMAT);
    assert_int_equal(sieve_format_parse(NULL, &f), SIEVE_ERR_ARG);
    assert_int_equal(sieve_format_parse("fp32", NULL), SIEVE_ERR_ARG);
}

/* ---- scalar codec: exhaustive properties ----------------------------------- */

/* Every code of every format up to 16 bits: the decoded value is the
 * definition's, zero or a normal fp32, increasing with the magnitude code;
 * it encodes back to the same code (including -0 in signed formats). */
static void test_every_code_round_trips_up_to_16_bits(void **state)
{
    (void)state;
    format_list list = small_formats(16);
    size_t codes_checked = 0;
    float *values = malloc(sizeof(float) << 16), *unpacked = malloc(sizeof(float) << 16);
    uint8_t *packed = malloc(2 * 65536 + SIEVE_PACK_SLACK);
    uint8_t *packed_portable = malloc(2 * 65536 + SIEVE_PACK_SLACK);
    assert_true(values && unpacked && packed && packed_portable);
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        const unsigned w = sieve_format_width(f);
        const uint32_t count = 1u << w;
        float previous = -1.0f;
        for (uint32_t code = 0; code < count; code++) {
            const float v = values[code] = sieve_cfloat_decode_ref(f, code);
            const double expected = spec_value(f, code);
            if ((double)v != expected || bits_of(v) >> 31 != (code >= magnitude_codes(f)))
                fail_msg("%s: code %u decodes to %a, expected %a", fmt_name(f), code, v, expected);
            assert_true(v == 0 || isnormal(v));
            if (code < magnitude_codes(f)) {
                assert_true(v > previous);
                previous = v;
            }
            const uint32_t back = encode(f, v);
            if (back != code)
                fail_msg("%s: code %u -> %a -> code %u", fmt_name(f), code, v, back);
        }
        /* The bulk paths agree on every code too, at every level. */
        const size_t bytes = sieve_format_bytes(f, count);
        for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
            assert_int_equal(sieve_cfloat_pack_level(level, f, values, count, packed, 0, NULL),
                             SIEVE_OK);
            if (level == 0) {
                for (uint32_t code = 0; code < count; code++)
                    if (stream_get(packed, (size_t)code * w, w) != code)
                        fail_msg("%s: code %u packs to %u", fmt_name(f), code,
                                 stream_get(packed, (size_t)code * w, w));
                memcpy(packed_portable, packed, bytes);
            } else {
                assert_memory_equal(packed, packed_portable, bytes - SIEVE_PACK_SLACK);
            }
            sieve_cfloat_unpack_level(level, f, packed, 0, count, unpacked);
            assert_memory_equal(unpacked, values, count * sizeof(float));
        }
        /* and the public entry points are the CPU's level */
        sieve_cfloat_unpack(f, packed, 0, count, unpacked);
        assert_memory_equal(unpacked, values, count * sizeof(float));
        codes_checked += count;
        assert_true(sieve_cfloat_max(f) == (float)spec_value(f, magnitude_codes(f) - 1));
    }
    assert_true(codes_checked > 1000000);
    free(values);
    free(unpacked);
    free(packed);
    free(packed_portable);
    free(list.items);
}

/* Wider formats (up to 31 bits): sampled codes round-trip. */
static void test_sampled_codes_round_trip_wide_formats(void **state)
{
    (void)state;
    uint64_t rng = 17;
    for (unsigned w = 17; w <= 31; w++)
        for (int k = 0; k < 20; k++) {
            const sieve_format f = random_format_of_width(&rng, w);
            for (int j = 0; j < 2000; j++) {
                const uint32_t code =
                    j < 4 ? special_code(&f, (unsigned)j) : rng_below(&rng, 1u << w);
                const float v = sieve_cfloat_decode_ref(&f, code);
                assert_true((double)v == spec_value(&f, code));
                assert_true(v == 0 || isnormal(v));
                assert_int_equal(encode(&f, v), code);
            }
        }
}

/* Ties between neighbouring values go to the even code; one fp32 ulp
 * either side of the tie goes to the nearer neighbour. */
static void check_midpoints(const sieve_format *f)
{
    const uint32_t count = magnitude_codes(f);
    for (uint32_t c = 0; c + 1 < count; c++) {
        const double lo = spec_value(f, c), hi = spec_value(f, c + 1);
        const double mid_exact = (lo + hi) / 2;
        const float mid = (float)mid_exact;
        if ((double)mid != mid_exact)
            continue; /* not an fp32 (m = 23 only): no tie to test */
        const uint32_t even = (c % 2 == 0) ? c : c + 1;
        const uint32_t got = encode(f, mid);
        if (got != even)
            fail_msg("%s: tie %a between codes %u and %u encodes to %u", fmt_name(f), mid, c, c + 1,
                     got);
        assert_int_equal(encode(f, nextafterf(mid, 0.0f)), c);
        assert_int_equal(encode(f, nextafterf(mid, INFINITY)), c + 1);
        if (f->is_signed) {
            assert_int_equal(encode(f, -mid), sign_bit(f) | even);
            assert_int_equal(encode(f, -nextafterf(mid, 0.0f)), sign_bit(f) | c);
            assert_int_equal(encode(f, -nextafterf(mid, INFINITY)), sign_bit(f) | (c + 1));
        }
    }
}

static void test_midpoints_round_to_even_up_to_16_bits(void **state)
{
    (void)state;
    format_list list = small_formats(16);
    for (size_t i = 0; i < list.count; i++)
        check_midpoints(&list.items[i]);
    free(list.items);
}

/* Independent oracle: nearest code by search, ties to the even code,
 * saturation above the largest value. */
static uint32_t nearest_code_by_search(const sieve_format *f, float x)
{
    const double target = fabs((double)x);
    const uint32_t count = magnitude_codes(f);
    uint32_t best = 0;
    double best_distance = INFINITY;
    for (uint32_t c = 0; c < count; c++) {
        const double d = fabs(spec_value(f, c) - target);
        if (d < best_distance || (d == best_distance && c % 2 == 0)) {
            best = c;
            best_distance = d;
        }
    }
    if (target > spec_value(f, count - 1))
        best = count - 1;
    return (signbit(x) && f->is_signed ? sign_bit(f) : 0) | best;
}

static void test_encode_matches_nearest_code_search(void **state)
{
    (void)state;
    uint64_t rng = 99;
    format_list list = small_formats(8);
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        for (int j = 0; j < 300; j++) {
            const float x = random_value(&rng, f, !f->is_signed);
            const uint32_t want = nearest_code_by_search(f, x);
            const uint32_t got = encode(f, x);
            if (got != want)
                fail_msg("%s: %a encodes to %u, nearest is %u", fmt_name(f), x, got, want);
        }
    }
    free(list.items);
}

/* ---- scalar codec: boundaries and errors ------------------------------------ */

static void test_saturation_boundary(void **state)
{
    (void)state;
    format_list list = small_formats(31);
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        const uint32_t top = magnitude_codes(f) - 1;
        const float max = sieve_cfloat_max(f);
        const double below = spec_value(f, top - 1);
        assert_true((double)max == spec_value(f, top));
        assert_int_equal(encode(f, max), top);
        assert_int_equal(encode(f, nextafterf(max, INFINITY)), top);
        const double above_tie = spec_value(f, top) + (spec_value(f, top) - below) / 2;
        if ((double)(float)above_tie == above_tie) {
            assert_int_equal(encode(f, (float)above_tie), top);
            assert_int_equal(encode(f, nextafterf((float)above_tie, INFINITY)), top);
        }
        assert_int_equal(encode(f, FLT_MAX), top);
        assert_int_equal(encode(f, INFINITY), top);
        if (f->is_signed) {
            assert_int_equal(encode(f, -max), sign_bit(f) | top);
            assert_int_equal(encode(f, -FLT_MAX), sign_bit(f) | top);
            assert_int_equal(encode(f, -INFINITY), sign_bit(f) | top);
        } else {
            uint32_t code;
            assert_int_equal(sieve_cfloat_encode_ref(f, -INFINITY, &code), SIEVE_ERR_RANGE);
        }
    }
    free(list.items);
}

static void test_underflow_boundary(void **state)
{
    (void)state;
    format_list list = small_formats(31);
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        const float smallest = sieve_cfloat_decode_ref(f, 1);
        const float half = smallest / 2; /* exact: an fp32 (maybe subnormal) */
        assert_true((double)half * 2 == spec_value(f, 1));
        assert_int_equal(encode(f, half), 0);
        assert_int_equal(encode(f, nextafterf(half, 0.0f)), 0);
        assert_int_equal(encode(f, nextafterf(half, INFINITY)), 1);
        assert_int_equal(encode(f, FLT_TRUE_MIN), half > FLT_TRUE_MIN ? 0 : 1);
        if (magnitude_codes(f) > 2) /* tie between codes 1 and 2 */
            assert_int_equal(encode(f, smallest * 1.5f), 2);
        if (f->is_signed) {
            assert_int_equal(encode(f, -half), sign_bit(f));
            assert_int_equal(encode(f, -nextafterf(half, INFINITY)), sign_bit(f) | 1);
        }
    }
    free(list.items);

    /* Formats whose half-smallest is an fp32 subnormal: 2^-127. */
    const sieve_format f = sieve_format_cfloat(5, 2, 125, 0); /* smallest 2^-126 */
    assert_true(sieve_cfloat_decode_ref(&f, 1) == FLT_MIN);
    assert_int_equal(encode(&f, FLT_MIN / 2), 0);
    assert_int_equal(encode(&f, nextafterf(FLT_MIN / 2, 1.0f)), 1);
    assert_int_equal(encode(&f, FLT_MIN * 0.75f), 1);
    assert_int_equal(encode(&f, FLT_TRUE_MIN), 0);
}

static void test_zero_negative_zero_and_nan(void **state)
{
    (void)state;
    const sieve_format cf = sieve_format_cfloat(4, 3, 7, 1);
    const sieve_format ucf = sieve_format_cfloat(4, 3, 7, 0);
    uint32_t code;
    assert_int_equal(encode(&cf, 0.0f), 0);
    assert_int_equal(encode(&ucf, 0.0f), 0);
    /* -0 keeps its sign in signed formats, and decodes back to -0. */
    assert_int_equal(encode(&cf, -0.0f), 0x80);
    const float negative_zero = sieve_cfloat_decode_ref(&cf, 0x80);
    assert_true(negative_zero == 0 && signbit(negative_zero));
    assert_false(signbit(sieve_cfloat_decode_ref(&cf, 0)));
    /* Unsigned: -0 is 0, every other negative is an error, even one that
     * would round to zero. */
    assert_int_equal(encode(&ucf, -0.0f), 0);
    const float negatives[] = {-1.0f, -FLT_TRUE_MIN, -FLT_MIN, -1e-30f, -INFINITY, -FLT_MAX};
    for (size_t i = 0; i < sizeof(negatives) / sizeof(negatives[0]); i++) {
        code = 12345;
        assert_int_equal(sieve_cfloat_encode_ref(&ucf, negatives[i], &code), SIEVE_ERR_RANGE);
        assert_int_equal(code, 12345);
    }
    const float nans[] = {NAN, -NAN, float_of(0x7f800001u), float_of(0xffc00001u)};
    for (size_t i = 0; i < sizeof(nans) / sizeof(nans[0]); i++) {
        assert_int_equal(sieve_cfloat_encode_ref(&cf, nans[i], &code), SIEVE_ERR_RANGE);
        assert_int_equal(sieve_cfloat_encode_ref(&ucf, nans[i], &code), SIEVE_ERR_RANGE);
    }
    /* Bits above the code width are ignored by decode. */
    assert_true(sieve_cfloat_decode_ref(&ucf, 0x1ff) == sieve_cfloat_decode_ref(&ucf, 0x7f));
}

/* The codec gives the same codes and values whatever the FPU's rounding
 * mode and with flush-to-zero / denormals-are-zero on (as apps set them
 * for speed): expectations are computed first, in the default mode. */
static void test_codec_ignores_fpu_modes(void **state)
{
    (void)state;
    uint64_t rng = 77;
    enum { N = 512 };
    /* smallest nonzero 2^-126: fp32 subnormal inputs round to codes 0 or 1 */
    const sieve_format formats[] = {
        sieve_format_cfloat(5, 2, 125, 0), sieve_format_cfloat(5, 2, 125, 1),
        sieve_format_cfloat(4, 3, 7, 1), sieve_format_cfloat(6, 20, 100, 1)};
    const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (size_t fi = 0; fi < sizeof(formats) / sizeof(formats[0]); fi++) {
        const sieve_format *f = &formats[fi];
        const unsigned w = sieve_format_width(f);
        float src[N], values[N], got_values[N], quantized[N];
        uint32_t codes[N], got_codes[N];
        uint8_t packed[4 * N + SIEVE_PACK_SLACK];
        for (size_t i = 0; i < N; i++) {
            /* fp32 subnormals, tiny normals and ordinary values */
            const uint32_t bits = (uint32_t)rng_next(&rng);
            src[i] = i % 3 == 0   ? float_of(bits & 0x007fffffu)
                     : i % 3 == 1 ? float_of((bits & 0x00ffffffu) | 0x00800000u)
                                  : random_value(&rng, f, 1);
            if (f->is_signed && (bits >> 31))
                src[i] = -src[i];
            codes[i] = encode(f, src[i]);
            values[i] = sieve_cfloat_decode_ref(f, codes[i]);
        }
        for (size_t mi = 0; mi < sizeof(modes) / sizeof(modes[0]); mi++)
            for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
                const int saved_round = fegetround();
                assert_int_equal(fesetround(modes[mi]), 0);
#ifdef HAVE_MXCSR
                const unsigned saved_csr = _mm_getcsr();
                _mm_setcsr(saved_csr | 0x8040); /* FTZ | DAZ */
#endif
                int ref_ok = 1;
                for (size_t i = 0; i < N; i++)
                    ref_ok &= sieve_cfloat_encode_ref(f, src[i], &got_codes[i]) == SIEVE_OK;
                const sieve_status packed_st =
                    sieve_cfloat_pack_level(level, f, src, N, packed, 0, NULL);
                sieve_cfloat_unpack_level(level, f, packed, 0, N, got_values);
                memcpy(quantized, src, sizeof(quantized));
                const sieve_status quantized_st =
                    sieve_cfloat_quantize_level(level, f, quantized, N, NULL);
#ifdef HAVE_MXCSR
                _mm_setcsr(saved_csr);
#endif
                fesetround(saved_round);
                assert_true(ref_ok);
                assert_int_equal(packed_st, SIEVE_OK);
                assert_int_equal(quantized_st, SIEVE_OK);
                assert_memory_equal(got_codes, codes, sizeof(codes));
                for (size_t i = 0; i < N; i++)
                    assert_int_equal(stream_get(packed, i * w, w), codes[i]);
                assert_memory_equal(got_values, values, sizeof(values));
                assert_memory_equal(quantized, values, sizeof(values));
            }
    }
}

static void test_invalid_format_rejected_by_codec(void **state)
{
    (void)state;
    const sieve_format bad = sieve_format_cfloat(4, 3, 125, 1);
    const sieve_format fp32 = sieve_format_fp32();
    uint32_t code;
    float buf[3] = {1, 2, 3};
    uint8_t packed[16] = {0};
    assert_int_equal(sieve_cfloat_encode_ref(&bad, 1.0f, &code), SIEVE_ERR_ARG);
    assert_int_equal(sieve_cfloat_encode_ref(&fp32, 1.0f, &code), SIEVE_ERR_ARG);
    assert_int_equal(sieve_cfloat_encode_ref(NULL, 1.0f, &code), SIEVE_ERR_ARG);
    assert_true(isnan(sieve_cfloat_decode_ref(&bad, 1)));
    assert_true(isnan(sieve_cfloat_max(&bad)));
    assert_int_equal(sieve_cfloat_pack(&bad, buf, 3, packed, 0, NULL), SIEVE_ERR_ARG);
    assert_int_equal(sieve_cfloat_quantize(&bad, buf, 3, NULL), SIEVE_ERR_ARG);
    assert_int_equal(sieve_format_store(&bad, buf, 3, packed, 0, NULL), SIEVE_ERR_ARG);
    sieve_cfloat_unpack(&bad, packed, 0, 3, buf); /* poisons the output */
    assert_true(isnan(buf[0]) && isnan(buf[2]));
    assert_int_equal(sieve_cfloat_pack(&fp32, NULL, 3, packed, 0, NULL), SIEVE_ERR_ARG);
}

/* ---- bulk paths -------------------------------------------------------------- */

/* Packs random data at a random offset into a buffer of random bytes and
 * checks every bit: the new elements hold the reference codes, all other
 * bits are unchanged; then unpacks sub-ranges and compares with the
 * reference decoder bit for bit. */
static void check_bulk_round(int level, uint64_t *rng, const sieve_format *f, size_t n,
                             size_t first)
{
    const unsigned w = sieve_format_width(f);
    const int is_fp32 = f->kind == SIEVE_FORMAT_FP32;
    const size_t bytes = sieve_format_bytes(f, first + n);
    /* fp32 data is drawn as if for a half-precision-like format. */
    const sieve_format value_model = is_fp32 ? sieve_format_cfloat(5, 10, 15, 1) : *f;
    uint8_t *buf = malloc(bytes), *expected = malloc(bytes);
    float *src = malloc(n * sizeof(float)), *out = malloc((first + n + 1) * sizeof(float));
    assert_true(buf && expected && src && out);
    for (size_t i = 0; i < bytes; i++)
        buf[i] = (uint8_t)rng_next(rng);
    memcpy(expected, buf, bytes);
    for (size_t i = 0; i < n; i++) {
        src[i] = random_value(rng, &value_model, !is_fp32 && !f->is_signed);
        const uint32_t code = is_fp32 ? bits_of(src[i]) : encode(f, src[i]);
        stream_put(expected, (first + i) * w, w, code);
    }
    size_t bad_index = 777;
    assert_int_equal(sieve_cfloat_pack_level(level, f, src, n, buf, first, &bad_index), SIEVE_OK);
    assert_int_equal(bad_index, 777);
    if (memcmp(buf, expected, bytes) != 0) {
        for (size_t i = 0; i < bytes; i++)
            if (buf[i] != expected[i])
                fail_msg("%s level %d n=%zu first=%zu: byte %zu is %02x, expected %02x",
                         fmt_name(f), level, n, first, i, buf[i], expected[i]);
    }
    /* Unpack the whole range, then a random sub-range. */
    size_t from = first, count = n;
    for (int pass = 0; pass < 2; pass++) {
        out[count] = 42.0f;
        sieve_cfloat_unpack_level(level, f, buf, from, count, out);
        assert_true(out[count] == 42.0f);
        for (size_t i = 0; i < count; i++) {
            const uint32_t code = stream_get(buf, (from + i) * w, w);
            const float want = is_fp32 ? float_of(code) : sieve_cfloat_decode_ref(f, code);
            if (bits_of(out[i]) != bits_of(want))
                fail_msg("%s level %d n=%zu first=%zu: element %zu (code %u) unpacks to %a, "
                         "expected %a",
                         fmt_name(f), level, count, from, from + i, code, out[i], want);
        }
        from = rng_below(rng, (uint32_t)(first + n));
        count = rng_below(rng, (uint32_t)(first + n - from)) + 1;
    }
    free(buf);
    free(expected);
    free(src);
    free(out);
}

static void test_bulk_pack_unpack_match_reference_all_widths(void **state)
{
    (void)state;
    uint64_t rng = 2024;
    /* Odd lengths, lengths around the 8-element group and the internal
     * chunk, and long enough runs for the table path of narrow formats. */
    static const size_t lengths[] = {1, 2, 3, 7, 8, 9, 13, 31, 255, 256, 257, 1000, 1031, 4099};
    for (unsigned w = 1; w <= 32; w++) {
        for (int k = 0; k < 3; k++) {
            sieve_format f;
            if (w == 32)
                f = sieve_format_fp32();
            else if (w == 1)
                f = sieve_format_cfloat(1, 0, (int)rng_below(&rng, 128), 0);
            else
                f = random_format_of_width(&rng, w);
            for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
                for (int level = 0; level <= sieve_cfloat_cpu_level(); level++)
                    check_bulk_round(level, &rng, &f, lengths[li], rng_below(&rng, 41));
        }
    }
}

/* Every code of every format up to 8 bits unpacks through the table path
 * (long run) and the direct path (short runs) to the reference value. */
/* Every code of every format up to 8 bits unpacks to the reference value
 * in one long run and in short runs of every length 1..17 at every start,
 * so every bit phase and every partial vector step is met. */
static void test_unpack_every_code_long_and_short_runs(void **state)
{
    (void)state;
    format_list list = small_formats(8);
    enum { REPEAT = 3 };
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        const unsigned w = sieve_format_width(f);
        const size_t codes = (size_t)1 << w, n = codes * REPEAT;
        uint8_t *buf = calloc(sieve_format_bytes(f, n), 1);
        float *want = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
        assert_true(buf && want && out);
        for (size_t j = 0; j < n; j++) {
            stream_put(buf, j * w, w, (uint32_t)(j % codes));
            want[j] = sieve_cfloat_decode_ref(f, (uint32_t)(j % codes));
        }
        for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
            sieve_cfloat_unpack_level(level, f, buf, 0, n, out);
            assert_memory_equal(out, want, n * sizeof(float));
            for (size_t len = 1; len <= 17; len++)
                for (size_t start = 0; start + len <= MIN(n, 64 + len); start++) {
                    sieve_cfloat_unpack_level(level, f, buf, start, len, out);
                    if (memcmp(out, want + start, len * sizeof(float)) != 0)
                        fail_msg("%s level %d: elements %zu..%zu differ", fmt_name(f), level, start,
                                 start + len);
                }
        }
        free(buf);
        free(want);
        free(out);
    }
    free(list.items);
}

/* Wide formats: sampled codes unpack like the reference, including
 * subnormals, both zeros and the extremes. */
/* Runs of codes of at most 8 bits from a byte boundary decode through
 * byte tables of their bf16 values at the AVX-512 level (runs from 1024
 * elements; widths other than 8 and 4 widened to bytes first): every such
 * format, signed and unsigned, at three biases, random codes, runs with
 * tails, from aligned and unaligned starts, at every level. */
static void test_unpack_every_format_up_to_8_bits_long_runs(void **state)
{
    (void)state;
    uint64_t rng = 4242;
    static const size_t lengths[] = {511, 1023, 1024, 1025, 4096 + 37};
    enum { MAX_N = 4096 + 37 + 16 };
    uint8_t *buf = malloc((MAX_N * 8 + 7) / 8 + SIEVE_PACK_SLACK);
    uint32_t *codes = malloc(MAX_N * sizeof(uint32_t));
    float *out = malloc(MAX_N * sizeof(float));
    assert_true(buf && codes && out);
    format_list list = byte_formats();
    for (size_t fi = 0; fi < list.count; fi++) {
        const sieve_format *f = &list.items[fi];
        const unsigned w = sieve_format_width(f);
        for (size_t i = 0; i < MAX_N; i++) {
            codes[i] = (uint32_t)rng_next(&rng) & ((1u << w) - 1);
            stream_put(buf, i * (size_t)w, w, codes[i]);
        }
        for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
            for (size_t first = 0; first < 17; first += 8)
                for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
                    const size_t n = lengths[li] - (first == 16 ? 15 : 0);
                    const size_t from = first == 16 ? 1 : first;
                    sieve_cfloat_unpack_level(level, f, buf, from, n, out);
                    for (size_t i = 0; i < n; i++) {
                        const float want = sieve_cfloat_decode_ref(f, codes[from + i]);
                        if (bits_of(out[i]) != bits_of(want))
                            fail_msg("%s level %d n=%zu first=%zu: element %zu is %a, "
                                     "expected %a",
                                     fmt_name(f), level, n, from, i, out[i], want);
                    }
                }
    }
    free(list.items);
    free(buf), free(codes), free(out);
}

static void test_unpack_sampled_codes_wide_formats(void **state)
{
    (void)state;
    uint64_t rng = 5;
    format_list list = small_formats(31);
    enum { N = 600 };
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        const unsigned w = sieve_format_width(f);
        uint8_t *buf = calloc(sieve_format_bytes(f, N), 1);
        uint32_t codes[N];
        float out[N];
        assert_non_null(buf);
        for (size_t j = 0; j < N; j++) {
            if (j < 4)
                codes[j] = special_code(f, (unsigned)j);
            else if (j % 3)
                codes[j] = rng_below(&rng, 1u << w);
            else /* a subnormal, either sign */
                codes[j] =
                    rng_below(&rng, 1u << f->m_bits) | (rng_below(&rng, 2) ? sign_bit(f) : 0);
            stream_put(buf, j * w, w, codes[j]);
        }
        for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
            sieve_cfloat_unpack_level(level, f, buf, 0, N, out);
            for (size_t j = 0; j < N; j++)
                if (bits_of(out[j]) != bits_of(sieve_cfloat_decode_ref(f, codes[j])))
                    fail_msg("%s level %d: code %u unpacks to %a", fmt_name(f), level, codes[j],
                             out[j]);
        }
        free(buf);
    }
    free(list.items);
}

/* The fast encoder on every float that matters for a narrow format: each
 * code, each tie and its fp32 neighbours, via pack; compared with the
 * reference encoder. */
static void test_pack_midpoints_match_reference(void **state)
{
    (void)state;
    format_list list = small_formats(10);
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        const unsigned w = sieve_format_width(f);
        const uint32_t count = magnitude_codes(f);
        const size_t n = (size_t)count * 4 * (f->is_signed ? 2 : 1);
        float *src = malloc(n * sizeof(float));
        uint32_t *want = malloc(n * sizeof(uint32_t));
        uint8_t *buf = calloc(sieve_format_bytes(f, n), 1);
        assert_true(src && want && buf);
        size_t k = 0;
        for (uint32_t c = 0; c < count; c++) {
            const double lo = spec_value(f, c);
            const double hi = c + 1 < count ? spec_value(f, c + 1) : lo * 2;
            const float mid = (float)((lo + hi) / 2);
            const float xs[4] = {(float)lo, mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY)};
            for (int j = 0; j < 4; j++) {
                src[k++] = xs[j];
                if (f->is_signed)
                    src[k++] = -xs[j];
            }
        }
        for (size_t j = 0; j < n; j++)
            want[j] = encode(f, src[j]);
        for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
            assert_int_equal(sieve_cfloat_pack_level(level, f, src, n, buf, 0, NULL), SIEVE_OK);
            for (size_t j = 0; j < n; j++) {
                const uint32_t got = stream_get(buf, j * w, w);
                if (got != want[j])
                    fail_msg("%s level %d: %a packs to %u, reference %u", fmt_name(f), level,
                             src[j], got, want[j]);
            }
        }
        free(src);
        free(want);
        free(buf);
    }
    free(list.items);
}

/* The tile encoder (where this CPU has it) writes the reference's codes
 * for every 8- and 4-bit format: each code's value, the midpoints to its
 * neighbours and one ulp either side, negatives, values past the largest
 * (saturation); as rows of up to 32 at any stride, from a byte or (4-bit)
 * a nibble, leaving the neighbouring codes alone. It says no to NaN and,
 * in an unsigned format, to negatives and -0. */
static void test_tile_encode_matches_reference(void **state)
{
    (void)state;
    format_list list = byte_formats();
    for (size_t i = 0; i < list.count; i++) {
        const sieve_format *f = &list.items[i];
        sieve_tile_encoder enc;
        if (!sieve_tile_encoder_init(&enc, f))
            continue;
        const unsigned w = sieve_format_width(f);
        const uint32_t count = magnitude_codes(f);
        float src[2 * 4 * 256 + 2];
        size_t n = 0;
        for (uint32_t c = 0; c < count; c++) {
            const double lo = spec_value(f, c);
            const double hi = c + 1 < count ? spec_value(f, c + 1) : lo * 4;
            const float mid = (float)((lo + hi) / 2);
            const float xs[4] = {(float)lo, mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY)};
            for (int j = 0; j < 4; j++) {
                src[n++] = xs[j];
                if (f->is_signed)
                    src[n++] = -xs[j];
            }
        }
        if (f->is_signed)
            src[n++] = -0.0f;
        const size_t cols = 29, rows = (n + cols - 1) / cols, stride = 31;
        float vals[(sizeof(src) / sizeof(src[0]) + 28) / 29 * 32];
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < 32; j++)
                vals[r * 32 + j] = r * cols + j < n && j < cols ? src[r * cols + j] : 0.0f;
        /* first 0 and 1: rows start on either nibble; shared: the bytes
         * at the rows' ends merged atomically */
        for (size_t first = 0; first < 4; first++) {
            const bool shared = first >= 2;
            const size_t elems = first % 2 + rows * stride;
            uint8_t *buf = malloc(sieve_format_bytes(f, elems) + SIEVE_PACK_SLACK);
            memset(buf, 0xa5, sieve_format_bytes(f, elems) + SIEVE_PACK_SLACK);
            assert_true(
                sieve_tile_encode(&enc, vals, 32, rows, cols, buf, first % 2, stride, shared));
            for (size_t e = 0; e < elems; e++) {
                const size_t r = (e - first % 2) / stride, j = (e - first % 2) % stride;
                const uint32_t got = stream_get(buf, e * w, w);
                const bool inside = e >= first % 2 && j < cols;
                const uint32_t want = inside ? encode(f, vals[r * 32 + j])
                                             : stream_get((const uint8_t[]){0xa5, 0xa5},
                                                          (e * w) % 8, w);
                if (got != want)
                    fail_msg("%s from %zu: element %zu (%a) is code %u, want %u", fmt_name(f),
                             first, e, inside ? (double)vals[r * 32 + j] : 0.0, got, want);
            }
            free(buf);
        }
        /* rejections: NaN; a negative and -0 in an unsigned format */
        const float bad[] = {NAN, -1.0f, -0.0f};
        uint8_t out[8 + SIEVE_PACK_SLACK];
        for (size_t b = 0; b < (f->is_signed ? 1u : 3u); b++) {
            float row[32] = {1.0f, 0.5f, 0.0f};
            row[2] = bad[b];
            if (sieve_tile_encode(&enc, row, 32, 1, 3, out, 0, 3, false))
                fail_msg("%s: encoded %g", fmt_name(f), (double)bad[b]);
        }
    }
    free(list.items);
}

/* Two threads encode the 4-bit rows on either side of a shared byte again
 * and again, each round with a new code in its half of that byte, and
 * each reads its half back at once: with shared_ends the other thread's
 * merges never bring back an old code. (With a plain read-modify-write
 * they do, within a few thousand rounds on two cores.) */
typedef struct nibble_writer {
    const sieve_tile_encoder *enc;
    uint8_t *buf;
    size_t first;      /* 0: elements 0-2, the last in byte 1's low nibble;
                        * 3: elements 3-5, the first in its high nibble */
    uint8_t codes[2];  /* of the two values a round writes there */
    long rounds, stale;
} nibble_writer;

static void *nibble_writer_run(void *arg)
{
    nibble_writer *w = arg;
    const size_t shared = w->first == 0 ? 2 : 0; /* the row's column in byte 1 */
    for (long i = 0; i < w->rounds; i++) {
        float row[32] = {0.5f, 0.5f, 0.5f};
        row[shared] = i % 2 ? 2.0f : 1.0f;
        if (!sieve_tile_encode(w->enc, row, 32, 1, 3, w->buf, w->first, 3, true)) {
            w->stale = -1;
            return NULL;
        }
        const uint8_t b = __atomic_load_n(&w->buf[1], __ATOMIC_RELAXED);
        w->stale += (w->first == 0 ? b & 0x0f : b >> 4) != w->codes[i % 2];
    }
    return NULL;
}

static void test_tile_encode_shared_ends_from_two_threads(void **state)
{
    (void)state;
    const sieve_format f = sieve_format_cfloat(2, 1, 1, 1);
    sieve_tile_encoder enc;
    if (!sieve_tile_encoder_init(&enc, &f))
        skip();
    uint8_t codes[2][1 + SIEVE_PACK_SLACK] = {{0}};
    const float one = 1.0f, two = 2.0f;
    assert_int_equal(sieve_cfloat_pack(&f, &one, 1, codes[0], 0, NULL), SIEVE_OK);
    assert_int_equal(sieve_cfloat_pack(&f, &two, 1, codes[1], 0, NULL), SIEVE_OK);
    assert_int_not_equal(codes[0][0], codes[1][0]);
    _Alignas(64) uint8_t buf[3 + SIEVE_PACK_SLACK] = {0};
    nibble_writer w[2];
    for (int t = 0; t < 2; t++)
        w[t] = (nibble_writer){&enc, buf, t ? 3 : 0, {codes[0][0], codes[1][0]}, 500000, 0};
    pthread_t other;
    assert_int_equal(pthread_create(&other, NULL, nibble_writer_run, &w[1]), 0);
    nibble_writer_run(&w[0]);
    assert_int_equal(pthread_join(other, NULL), 0);
    assert_int_equal(w[0].stale, 0);
    assert_int_equal(w[1].stale, 0);
}

/* On NaN (or a negative in an unsigned format) pack and quantize report
 * the first offender; elements before it are stored, the rest of the
 * destination is untouched. 8- and 4-bit formats from a byte boundary
 * (first 0) take the SIMD byte path, from element 3 the general one. */
static void test_pack_reports_first_bad_index(void **state)
{
    (void)state;
    const sieve_format formats[] = {sieve_format_cfloat(4, 3, 7, 1),
                                    sieve_format_cfloat(5, 10, 15, 0),
                                    sieve_format_cfloat(3, 2, 3, 0),
                                    sieve_format_cfloat(2, 1, 1, 1),
                                    sieve_format_cfloat(2, 2, 1, 0),
                                    sieve_format_cfloat(4, 4, 7, 0)};
    const size_t positions[] = {0, 5, 15, 16, 31, 33, 255, 256, 300, 599};
    const size_t firsts[] = {0, 3};
    enum { N = 600 };
    for (int level = 0; level <= sieve_cfloat_cpu_level(); level++)
        for (size_t fi = 0; fi < sizeof(formats) / sizeof(formats[0]); fi++)
            for (size_t pi = 0; pi < sizeof(positions) / sizeof(positions[0]); pi++)
                for (size_t si = 0; si < sizeof(firsts) / sizeof(firsts[0]); si++) {
                    const sieve_format *f = &formats[fi];
                    const unsigned w = sieve_format_width(f);
                    const size_t first = firsts[si], bad = positions[pi];
                    float src[N];
                    for (size_t i = 0; i < N; i++)
                        src[i] = (float)(i % 17) * 0.25f;
                    src[bad] = (f->is_signed || pi % 2) ? NAN : -0.5f;
                    if (bad + 7 < N)
                        src[bad + 7] = NAN; /* only the first offender is reported */
                    const size_t bytes = sieve_format_bytes(f, first + N);
                    uint8_t *buf = malloc(bytes), *before = malloc(bytes);
                    assert_true(buf && before);
                    memset(buf, 0x5a, bytes);
                    memcpy(before, buf, bytes);
                    size_t bad_index = 0;
                    assert_int_equal(
                        sieve_cfloat_pack_level(level, f, src, N, buf, first, &bad_index),
                        SIEVE_ERR_RANGE);
                    assert_int_equal(bad_index, bad);
                    for (size_t i = 0; i < bad; i++)
                        assert_int_equal(stream_get(buf, (first + i) * w, w), encode(f, src[i]));
                    for (size_t i = bad; i < N; i++)
                        assert_int_equal(stream_get(buf, (first + i) * w, w),
                                         stream_get(before, (first + i) * w, w));
                    assert_memory_equal(buf, before, (first * w) / 8);
                    assert_int_equal(sieve_cfloat_pack_level(level, f, src, N, buf, first, NULL),
                                     SIEVE_ERR_RANGE);

                    float q[N];
                    memcpy(q, src, sizeof(q));
                    bad_index = 0;
                    assert_int_equal(sieve_cfloat_quantize_level(level, f, q, N, &bad_index),
                                     SIEVE_ERR_RANGE);
                    assert_int_equal(bad_index, bad);
                    for (size_t i = 0; i < N; i++) {
                        const float want =
                            i < bad ? sieve_cfloat_decode_ref(f, encode(f, src[i])) : src[i];
                        assert_memory_equal(&q[i], &want, sizeof(float));
                    }
                    free(buf);
                    free(before);
                }
    /* The public entry points report the same. */
    const sieve_format cf = sieve_format_cfloat(4, 3, 7, 1);
    float x[3] = {1.0f, NAN, 2.0f};
    uint8_t packed[3 + SIEVE_PACK_SLACK] = {0};
    size_t bad_index = 9;
    assert_int_equal(sieve_cfloat_pack(&cf, x, 3, packed, 0, &bad_index), SIEVE_ERR_RANGE);
    assert_int_equal(bad_index, 1);
    bad_index = 9;
    assert_int_equal(sieve_format_store(&cf, x, 3, packed, 0, &bad_index), SIEVE_ERR_RANGE);
    assert_int_equal(bad_index, 1);
    bad_index = 9;
    assert_int_equal(sieve_cfloat_quantize(&cf, x, 3, &bad_index), SIEVE_ERR_RANGE);
    assert_int_equal(bad_index, 1);
}

static void test_quantize_matches_reference(void **state)
{
    (void)state;
    uint64_t rng = 31337;
    enum { N = 777 };
    float buf[N], src[N];
    for (unsigned w = 2; w <= 31; w++)
        for (int k = 0; k < 4; k++) {
            const sieve_format f = random_format_of_width(&rng, w);
            for (size_t i = 0; i < N; i++)
                src[i] = random_value(&rng, &f, !f.is_signed);
            for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
                memcpy(buf, src, sizeof(buf));
                assert_int_equal(sieve_cfloat_quantize_level(level, &f, buf, N, NULL), SIEVE_OK);
                for (size_t i = 0; i < N; i++) {
                    const float want = sieve_cfloat_decode_ref(&f, encode(&f, src[i]));
                    if (bits_of(buf[i]) != bits_of(want))
                        fail_msg("%s level %d: %a quantizes to %a, reference %a", fmt_name(&f),
                                 level, src[i], buf[i], want);
                }
            }
        }
    /* fp32 is the identity, NaN included. */
    const sieve_format fp32 = sieve_format_fp32();
    buf[0] = NAN;
    buf[1] = 0.1f;
    assert_int_equal(sieve_cfloat_quantize(&fp32, buf, 2, NULL), SIEVE_OK);
    assert_true(isnan(buf[0]) && buf[1] == 0.1f);
}

static void test_fp32_store_load_is_memcpy_at_offset(void **state)
{
    (void)state;
    const sieve_format fp32 = sieve_format_fp32();
    float storage[8] = {-1, -2, -3, -4, -5, -6, -7, -8};
    const float src[3] = {1.5f, NAN, -INFINITY};
    assert_int_equal(sieve_format_store(&fp32, src, 3, storage, 4, NULL), SIEVE_OK);
    assert_memory_equal(&storage[4], src, sizeof(src));
    assert_true(storage[3] == -4 && storage[7] == -8);
    float out[3];
    sieve_format_load(&fp32, storage, 4, 3, out);
    assert_memory_equal(out, src, sizeof(src));
    /* n = 0 touches nothing and accepts NULL buffers. */
    assert_int_equal(sieve_format_store(&fp32, NULL, 0, NULL, 0, NULL), SIEVE_OK);
    const sieve_format cf = sieve_format_cfloat(4, 3, 7, 1);
    assert_int_equal(sieve_cfloat_pack(&cf, NULL, 0, NULL, 0, NULL), SIEVE_OK);
    sieve_cfloat_unpack(&cf, NULL, 0, 0, NULL);
}

/* ---- fused decode + dot products (src/cfloat_dot.h) ---------------------- */

/* One sieve_dot_rows call on random codes against the format definition
 * (spec_value) summed in double: rows at first + r * stride, acc starting
 * at 0.5 to check it accumulates. fp32 rows hold random floats. */
static void check_dot_rows(const sieve_format *f, int level, uint64_t *rng, size_t k, size_t rows,
                           size_t n_vecs, size_t first, size_t stride, bool bf16)
{
    const bool fp32 = f->kind == SIEVE_FORMAT_FP32;
    const unsigned w = sieve_format_width(f);
    const size_t total = first + (rows - 1) * stride + k;
    const size_t bytes = sieve_format_bytes(f, total);
    uint8_t *stream = malloc(bytes);
    double *value = malloc(total * sizeof(double));
    float *vecs = malloc(n_vecs * k * sizeof(float));
    float *scratch = malloc(sieve_dot_prepared_floats(n_vecs, k) * sizeof(float) + 1);
    assert_non_null(stream), assert_non_null(value), assert_non_null(vecs);
    assert_non_null(scratch);
    for (size_t i = 0; i < bytes; i++)
        stream[i] = (uint8_t)rng_next(rng);
    for (size_t i = 0; i < total; i++) {
        if (fp32) {
            const float x = (float)rng_below(rng, 2001) / 1000.0f - 1.0f;
            memcpy(stream + 4 * i, &x, sizeof(x));
            value[i] = x;
        } else {
            const uint32_t code = rng_below(rng, 8) == 0 ? special_code(f, rng_below(rng, 4))
                                                         : (uint32_t)rng_next(rng) & ((1u << w) - 1);
            stream_put(stream, i * w, w, code);
            value[i] = spec_value(f, code);
        }
    }
    /* vectors scaled so that no product exceeds 1: sums stay finite */
    const float scale = fp32 ? 1.0f : 1.0f / sieve_cfloat_max(f);
    for (size_t i = 0; i < n_vecs * k; i++) {
        vecs[i] = ((float)rng_below(rng, 2001) / 1000.0f - 1.0f) * scale;
        if (bf16) { /* exact bf16 (the low 16 bits cleared), zero or normal as
                     * a valid format's values are */
            uint32_t bits;
            memcpy(&bits, &vecs[i], sizeof(bits));
            bits &= 0xffff0000u;
            memcpy(&vecs[i], &bits, sizeof(bits));
            if (fabsf(vecs[i]) < FLT_MIN)
                vecs[i] = 0.0f;
        }
    }

    sieve_dot_plan plan;
    sieve_dot_plan_init_level(&plan, f, first, stride, level);
    if (bf16 && !sieve_dot_plan_vecs_bf16(&plan)) {
        free(stream), free(value), free(vecs), free(scratch);
        return; /* no bf16 kernel for this plan or CPU */
    }
    const float *vec_rows[SIEVE_DOT_MAX_VECS], *prepared[SIEVE_DOT_MAX_VECS];
    for (size_t i = 0; i < n_vecs; i++)
        vec_rows[i] = vecs + i * k;
    sieve_dot_prepare(&plan, vec_rows, n_vecs, k, scratch, prepared);
    float acc[SIEVE_DOT_MAX_VECS * SIEVE_DOT_MAX_ROWS];
    const size_t ld = SIEVE_DOT_MAX_ROWS;
    for (size_t i = 0; i < SIEVE_DOT_MAX_VECS * SIEVE_DOT_MAX_ROWS; i++)
        acc[i] = 0.5f;
    sieve_dot_rows(&plan, stream, first, stride, rows, prepared, n_vecs, k, acc, ld);
    for (size_t i = 0; i < n_vecs; i++)
        for (size_t r = 0; r < rows; r++) {
            double want = 0.5, magnitude = 0.5;
            for (size_t kk = 0; kk < k; kk++) {
                const double term = (double)vecs[i * k + kk] * value[first + r * stride + kk];
                want += term;
                magnitude += fabs(term);
            }
            /* fp32 summation of k + 1 terms in any order (bf16 pairs:
             * products under FLT_MIN may flush to zero) */
            const double bound = 2.0 * (double)(k + 1) * FLT_EPSILON * magnitude +
                                 (bf16 ? (double)k * FLT_MIN : 0.0);
            if (!(fabs((double)acc[i * ld + r] - want) <= bound))
                fail_msg("%s level %d method %d k=%zu rows=%zu vecs=%zu first=%zu stride=%zu: "
                         "vec %zu row %zu is %.9g, expected %.9g (bound %.3g)",
                         fmt_name(f), level, plan.method, k, rows, n_vecs, first, stride, i, r,
                         (double)acc[i * ld + r], want, bound);
        }
    for (size_t i = n_vecs * ld; i < SIEVE_DOT_MAX_VECS * SIEVE_DOT_MAX_ROWS; i++)
        assert_true(acc[i] == 0.5f); /* vectors beyond n_vecs untouched */
    free(stream), free(value), free(vecs), free(scratch);
}

static void check_dot_format(const sieve_format *f, uint64_t *rng)
{
    static const size_t lengths[] = {1, 7, 15, 16, 17, 63, 64, 65, 127, 128, 129, 300, 1000};
    for (int level = 0; level <= sieve_cfloat_cpu_level(); level++)
        for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++) {
            const size_t k = lengths[li];
            const size_t rows = 1 + rng_below(rng, SIEVE_DOT_MAX_ROWS);
            const size_t n_vecs = 1 + (rng_below(rng, 3) ? 0 : rng_below(rng, SIEVE_DOT_MAX_VECS));
            /* rows on byte boundaries (the byte-table kernels) and not */
            check_dot_rows(f, level, rng, k, rows, n_vecs, 8 * rng_below(rng, 3), (k + 7) / 8 * 8,
                           false);
            check_dot_rows(f, level, rng, k, rows, n_vecs, 1 + rng_below(rng, 7),
                           k + 1 + rng_below(rng, 5), false);
            /* vectors of exact bf16 values: the vdpbf16ps kernels */
            check_dot_rows(f, level, rng, k, rows, n_vecs, 8 * rng_below(rng, 3), (k + 7) / 8 * 8,
                           true);
        }
}

static void test_dot_rows_match_definition_every_format_up_to_8_bits(void **state)
{
    (void)state;
    uint64_t rng = 77;
    format_list list = byte_formats();
    for (size_t i = 0; i < list.count; i++)
        check_dot_format(&list.items[i], &rng);
    free(list.items);
}

static void test_dot_rows_match_definition_other_widths_and_fp32(void **state)
{
    (void)state;
    uint64_t rng = 78;
    const sieve_format formats[] = {
        sieve_format_cfloat(1, 0, 0, 1),  sieve_format_cfloat(2, 0, 1, 0),
        sieve_format_cfloat(2, 2, 1, 1),  sieve_format_cfloat(3, 1, 3, 1),
        sieve_format_cfloat(4, 1, 7, 0),  sieve_format_cfloat(3, 3, 3, 0),
        sieve_format_cfloat(5, 1, 15, 0), sieve_format_cfloat(2, 5, 1, 0),
        sieve_format_cfloat(4, 2, 7, 1),  sieve_format_cfloat(5, 3, 15, 1),
        sieve_format_cfloat(3, 5, 3, 1),  sieve_format_cfloat(5, 6, 15, 1),
        sieve_format_cfloat(7, 8, 60, 1), sieve_format_cfloat(6, 17, 40, 1),
        sieve_format_cfloat(7, 23, 100, 0), sieve_format_fp32(),
    };
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        char why[128];
        if (sieve_format_validate(&formats[i], why, sizeof(why)) != SIEVE_OK)
            fail_msg("test format %zu invalid: %s", i, why);
        check_dot_format(&formats[i], &rng);
    }
}

/* sieve_dot_unpack decodes like sieve_format_load from the plan's tables,
 * for short runs at any start: every format of at most 8 bits at the
 * IEEE-like bias and a few others,
 * every level; sieve_dot_unpack_bf16_rows, where it runs (formats of bf16
 * values, from a byte, AVX-512), gives those values' high halves. */
static void test_dot_unpack_matches_reference_short_runs(void **state)
{
    (void)state;
    uint64_t rng = 99;
    enum { N = 2000 };
    uint8_t *buf = malloc(N * 4 + SIEVE_PACK_SLACK);
    uint32_t *codes = malloc(N * sizeof(uint32_t));
    float *out = malloc(N * sizeof(float));
    uint16_t *words = malloc((N + 1) * sizeof(uint16_t));
    assert_true(buf && codes && out && words);
    sieve_format formats[96];
    size_t count = 0;
    for (int w = 1; w <= 8; w++)
        for (int is_signed = 0; is_signed <= 1; is_signed++)
            for (int e = 1; e <= w - is_signed; e++) {
                const int m = w - is_signed - e;
                sieve_format f = sieve_format_cfloat(e, m, (1 << (e - 1)) - 1, is_signed);
                assert_true(count + 2 < sizeof(formats) / sizeof(formats[0]));
                if (sieve_format_validate(&f, NULL, 0) == SIEVE_OK)
                    formats[count++] = f;
            }
    formats[count++] = sieve_format_cfloat(3, 2, 3, 0);
    formats[count++] = sieve_format_cfloat(5, 10, 15, 1);
    for (size_t fi = 0; fi < count; fi++) {
        const sieve_format *f = &formats[fi];
        const unsigned w = sieve_format_width(f);
        for (size_t i = 0; i < N; i++) {
            codes[i] = (uint32_t)rng_next(&rng) & ((1u << w) - 1);
            stream_put(buf, i * w, w, codes[i]);
        }
        for (int level = 0; level <= sieve_cfloat_cpu_level(); level++) {
            sieve_dot_plan plan;
            sieve_dot_plan_init_level(&plan, f, 0, 1, level);
            static const size_t lengths[] = {1, 15, 16, 63, 64, 65, 256, 300, 1500};
            for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
                for (size_t first = 0; first < 12; first += 1 + rng_below(&rng, 4)) {
                    const size_t n = lengths[li];
                    sieve_dot_unpack(&plan, buf, first, n, out);
                    for (size_t i = 0; i < n; i++) {
                        const float want = sieve_cfloat_decode_ref(f, codes[first + i]);
                        if (bits_of(out[i]) != bits_of(want))
                            fail_msg("%s level %d n=%zu first=%zu: element %zu is %a, expected %a",
                                     fmt_name(f), level, n, first, i, out[i], want);
                    }
                    /* as bf16: the high halves, the words past n untouched */
                    for (size_t i = 0; i <= n; i++)
                        words[i] = 0x5a5a;
                    if (!sieve_dot_unpack_bf16_rows(&plan, buf, first, 0, 1, n, words, 0))
                        continue;
                    if (f->m_bits > 7 || (first * w) % 8 || level < 2)
                        fail_msg("%s level %d first=%zu: bf16 words where they cannot be",
                                 fmt_name(f), level, first);
                    for (size_t i = 0; i <= n; i++) {
                        const float value =
                            i < n ? sieve_cfloat_decode_ref(f, codes[first + i]) : 0.0f;
                        const uint16_t want = i < n ? (uint16_t)(bits_of(value) >> 16) : 0x5a5a;
                        if (words[i] != want)
                            fail_msg("%s n=%zu first=%zu: bf16 word %zu is %#x, expected %#x",
                                     fmt_name(f), n, first, i, words[i], want);
                    }
                }
        }
    }
    free(buf), free(codes), free(out), free(words);
}

/* The special kernels are the ones that run where the CPU has them. */
static void test_dot_plan_picks_byte_tables_for_rows_of_whole_bytes(void **state)
{
    (void)state;
    if (sieve_cfloat_cpu_level() < 2)
        skip();
    sieve_dot_plan plan;
    sieve_format e4m3 = sieve_format_cfloat(4, 3, 7, 1), e2m1 = sieve_format_cfloat(2, 1, 1, 1);
    sieve_dot_plan_init(&plan, &e4m3, 0, 9216);
    assert_int_equal(plan.method, SIEVE_DOT_BYTES8);
    sieve_dot_plan_init(&plan, &e2m1, 0, 9216);
    assert_int_equal(plan.method, SIEVE_DOT_NIBBLES4);
    sieve_dot_plan_init(&plan, &e2m1, 0, 9215); /* odd rows start mid-byte */
    assert_int_equal(plan.method, SIEVE_DOT_LUT32);
    /* 5 and 7 bits on rows of whole bytes: widened to bytes */
    sieve_format e2m2 = sieve_format_cfloat(2, 2, 1, 1), e4m2 = sieve_format_cfloat(4, 2, 7, 1);
    sieve_dot_plan_init(&plan, &e2m2, 0, 800);
    assert_int_equal(plan.method, SIEVE_DOT_BYTES8);
    sieve_dot_plan_init(&plan, &e4m2, 8, 9216);
    assert_int_equal(plan.method, SIEVE_DOT_BYTES8);
    sieve_dot_plan_init(&plan, &e4m2, 0, 9215);
    assert_int_equal(plan.method, SIEVE_DOT_SPLIT);
    sieve_dot_plan_init_level(&plan, &e4m3, 0, 9216, 0);
    assert_int_equal(plan.method, SIEVE_DOT_TABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_matches_fp32_normal_range),
        cmocka_unit_test(test_validate_rejects_with_reason),
        cmocka_unit_test(test_width_and_bytes),
        cmocka_unit_test(test_format_str_parse_round_trip),
        cmocka_unit_test(test_every_code_round_trips_up_to_16_bits),
        cmocka_unit_test(test_sampled_codes_round_trip_wide_formats),
        cmocka_unit_test(test_midpoints_round_to_even_up_to_16_bits),
        cmocka_unit_test(test_encode_matches_nearest_code_search),
        cmocka_unit_test(test_saturation_boundary),
        cmocka_unit_test(test_underflow_boundary),
        cmocka_unit_test(test_zero_negative_zero_and_nan),
        cmocka_unit_test(test_codec_ignores_fpu_modes),
        cmocka_unit_test(test_invalid_format_rejected_by_codec),
        cmocka_unit_test(test_bulk_pack_unpack_match_reference_all_widths),
        cmocka_unit_test(test_unpack_every_code_long_and_short_runs),
        cmocka_unit_test(test_unpack_every_format_up_to_8_bits_long_runs),
        cmocka_unit_test(test_unpack_sampled_codes_wide_formats),
        cmocka_unit_test(test_pack_midpoints_match_reference),
        cmocka_unit_test(test_tile_encode_matches_reference),
        cmocka_unit_test(test_tile_encode_shared_ends_from_two_threads),
        cmocka_unit_test(test_dot_rows_match_definition_every_format_up_to_8_bits),
        cmocka_unit_test(test_dot_rows_match_definition_other_widths_and_fp32),
        cmocka_unit_test(test_dot_plan_picks_byte_tables_for_rows_of_whole_bytes),
        cmocka_unit_test(test_dot_unpack_matches_reference_short_runs),
        cmocka_unit_test(test_pack_reports_first_bad_index),
        cmocka_unit_test(test_quantize_matches_reference),
        cmocka_unit_test(test_fp32_store_load_is_memcpy_at_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
