/* bench_cfloat — throughput of the custom float codec's bulk paths.
 *
 *   bench_cfloat [--elements N] [--repeat R]
 *
 * For formats of several widths, times sieve_cfloat_unpack (decode),
 * sieve_cfloat_pack (encode) and sieve_cfloat_quantize over N random
 * elements and prints, per path, fp32-side GB/s, Gelem/s and the ratio to
 * memcpy of the same fp32 bytes measured in the same run (interleaved, the
 * median of R repetitions). Decode is also timed on runs of 256 elements
 * (one call per run), the row of a weight panel that the conv and dense
 * kernels decode into their scratch at a time (SIEVE_GEMM_KC), and
 * both directions at the portable-C level too ("/C": what a CPU without
 * the x86 SIMD kernels, e.g. an ARM phone, runs), through the internal
 * per-level entry points of src/cfloat.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sieve/cfloat.h"

/* Internal entry points of src/cfloat.c (see tests/test_cfloat.c). */
int sieve_cfloat_cpu_level(void);
sieve_status sieve_cfloat_pack_level(int level, const sieve_format *fmt, const float *src, size_t n,
                                     uint8_t *dst, size_t first, size_t *bad_index);
void sieve_cfloat_unpack_level(int level, const sieve_format *fmt, const uint8_t *src, size_t first,
                               size_t n, float *dst);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Values spread over the format's range, as weights would be. */
static void fill_values(const sieve_format *f, float *v, size_t n, uint64_t *rng)
{
    const float max = sieve_cfloat_max(f);
    for (size_t i = 0; i < n; i++) {
        const double u = (double)(rng_next(rng) >> 11) / 9007199254740992.0; /* [0,1) */
        float x = (float)(u * u * max);
        if (f->is_signed && (rng_next(rng) & 1))
            x = -x;
        v[i] = x;
    }
}

enum {
    PATH_MEMCPY,
    PATH_UNPACK,
    PATH_UNPACK_PORTABLE,
    PATH_UNPACK_SHORT,
    PATH_PACK,
    PATH_PACK_PORTABLE,
    PATH_QUANTIZE,
    PATH_COUNT
};
static const char *const path_names[PATH_COUNT] = {"memcpy", "unpack", "unpack/C", "unpack(256)",
                                                   "pack",   "pack/C", "quantize"};
/* Elements per call of the short-run decode (SIEVE_GEMM_KC in src/ops). */
#define SHORT_RUN 256

int main(int argc, char **argv)
{
    /* 16 Ki elements: 64 KiB of fp32, cache-resident like the panels that
     * kernels decode into their scratch; the codec, not DRAM, is timed. */
    size_t n = (size_t)1 << 14;
    int repeat = 101;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--elements") == 0 && i + 1 < argc)
            n = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--elements N] [--repeat R]\n", argv[0]);
            return 2;
        }
    }
    if (n < SHORT_RUN || repeat < 1) {
        fprintf(stderr, "need --elements >= %d and --repeat >= 1\n", SHORT_RUN);
        return 2;
    }
    const sieve_format formats[] = {
        sieve_format_cfloat(2, 1, 1, 1),   sieve_format_cfloat(3, 2, 3, 0),
        sieve_format_cfloat(4, 3, 7, 1),   sieve_format_cfloat(4, 5, 7, 1),
        sieve_format_cfloat(5, 10, 15, 1), sieve_format_cfloat(6, 17, 31, 1),
        sieve_format_cfloat(7, 23, 63, 1),
    };
    float *values = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
    uint8_t *packed = malloc(n * 4 + SIEVE_PACK_SLACK);
    double *times = malloc((size_t)repeat * PATH_COUNT * sizeof(double));
    if (!values || !out || !packed || !times) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t rng = 1;
    const double gb = (double)n * sizeof(float) * 1e-9;
    printf("%zu elements, median of %d; GB/s counts fp32 bytes; SIMD level %d\n", n, repeat,
           sieve_cfloat_cpu_level());
    printf("%-16s %-12s %8s %9s %9s\n", "format", "path", "GB/s", "Gelem/s", "x memcpy");
    for (size_t fi = 0; fi < sizeof(formats) / sizeof(formats[0]); fi++) {
        const sieve_format *f = &formats[fi];
        char name[32];
        sieve_format_str(f, name, sizeof(name));
        fill_values(f, values, n, &rng);
        if (sieve_cfloat_pack(f, values, n, packed, 0, NULL) != SIEVE_OK) {
            fprintf(stderr, "%s: pack failed\n", name);
            return 1;
        }
        for (int r = 0; r < repeat; r++) {
            double t = now_s();
#define LAP(path) (times[(path)*repeat + r] = now_s() - t, t = now_s())
            memcpy(out, values, n * sizeof(float));
            LAP(PATH_MEMCPY);
            sieve_cfloat_unpack(f, packed, 0, n, out);
            LAP(PATH_UNPACK);
            sieve_cfloat_unpack_level(0, f, packed, 0, n, out);
            LAP(PATH_UNPACK_PORTABLE);
            for (size_t i = 0; i < n; i += SHORT_RUN)
                sieve_cfloat_unpack(f, packed, i, n - i < SHORT_RUN ? n - i : SHORT_RUN, out + i);
            LAP(PATH_UNPACK_SHORT);
            sieve_cfloat_pack(f, values, n, packed, 0, NULL);
            LAP(PATH_PACK);
            sieve_cfloat_pack_level(0, f, values, n, packed, 0, NULL);
            LAP(PATH_PACK_PORTABLE);
            memcpy(out, values, n * sizeof(float));
            t = now_s();
            sieve_cfloat_quantize(f, out, n, NULL);
            LAP(PATH_QUANTIZE);
#undef LAP
        }
        const double t_memcpy = median(times, repeat);
        for (int p = PATH_UNPACK; p < PATH_COUNT; p++) {
            const double t = median(times + p * repeat, repeat);
            printf("%-16s %-12s %8.2f %9.3f %9.2f\n", name, path_names[p], gb / t,
                   (double)n * 1e-9 / t, t_memcpy / t);
        }
    }
    printf("memcpy of the fp32 data: %.2f GB/s (last format's run)\n", gb / median(times, repeat));
    free(values);
    free(out);
    free(packed);
    free(times);
    return 0;
}
