/* bench_conv — Winograd F(4x4, 3x3) and the direct kernel against im2col
 * GEMM, layer by layer, on the 3x3 stride-1 convolutions of ResNet-18 and
 * VGG-16 (224 x 224 input) and of the bundled 28 x 28 models, and on
 * first layers of one or three channels up to 11x11.
 *
 *   bench_conv [--threads N] [--repeat N] [--packed 8|4]
 *
 * For each shape (batch 1, "same" pads, bias, ReLU) it times sieve_conv_run
 * (which takes the direct kernel or Winograd where conv.c finds them
 * worthwhile: the `path` column) and sieve_conv_run_im2col
 * (the GEMM path), each with the scratch sieve_conv_scratch plans, and the
 * Winograd kernel called directly (below the thresholds too; 3x3 only,
 * nan for the others). Median of
 * --repeat runs after one warm-up; with 1 thread the time is the process's
 * CPU time, which load from other jobs disturbs less than wall time. The
 * "%core" columns are 2 x direct-convolution MACs over time against
 * --peak GFLOP/s (default: 2 AVX-512 FMA pipes x 16 lanes x 2 x 3.6 GHz,
 * roughly what bench_torch.py measures on the 2-core reference machine);
 * Winograd does 4x fewer multiply-adds, so it can pass 100 %. Links the
 * library's internal kernel interface, as the tests do. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "ops/kernels.h"
#include "ops/conv_direct.h"
#include "ops/ops.h"
#include "ops/winograd.h"

static double now_ms(bool cpu)
{
    struct timespec ts;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct conv_shape {
    const char *where;
    int c, hw, m;
    int k; /* kernel side */
} conv_shape;

static const conv_shape shapes[] = {
    {"resnet18 layer1", 64, 56, 64, 3},   {"resnet18 layer2", 128, 28, 128, 3},
    {"resnet18 layer3", 256, 14, 256, 3}, {"resnet18 layer4", 512, 7, 512, 3},
    {"vgg16 conv1_1", 3, 224, 64, 3},     {"vgg16 conv1_2", 64, 224, 64, 3},
    {"vgg16 conv2_2", 128, 112, 128, 3},
    {"vgg16 conv3_x", 256, 56, 256, 3},   {"vgg16 conv4_x", 512, 28, 512, 3},
    {"vgg16 conv5_x", 512, 14, 512, 3},   {"28x28 model", 16, 28, 16, 3},
    {"28x28 model", 32, 14, 32, 3},       {"28x28 model", 64, 7, 64, 3},
    {"8 channels", 8, 56, 16, 3},         {"8 outputs", 64, 56, 8, 3},
    {"alexnet conv3", 192, 13, 384, 3},   {"alexnet conv4", 384, 13, 256, 3},
    {"alexnet conv5", 256, 13, 256, 3},
    /* first layers of one or three channels, "same" pads: the direct kernel */
    {"lenet5 conv1", 1, 28, 20, 5},       {"28x28 model", 1, 28, 32, 3},
    {"3 channels 7x7", 3, 56, 64, 7},     {"1 channel 11x11", 1, 28, 32, 11},
};

typedef void (*run_fn)(const sieve_layer *, const sieve_op_input *, int, float *,
                       const sieve_shape *, sieve_op_env *);

int main(int argc, char **argv)
{
    int threads = 1, repeat = 9, packed = 0;
    double peak = 2 * 16 * 2 * 3.6;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--packed") && i + 1 < argc)
            packed = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--peak") && i + 1 < argc)
            peak = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_conv [--threads N] [--repeat N] [--packed 8|4] "
                            "[--peak GFLOPS]\n");
            return 2;
        }
    }
    if (threads < 1 || repeat < 1 || repeat > 1000 || (packed && packed != 8 && packed != 4)) {
        fprintf(stderr, "bench_conv: bad option value\n");
        return 2;
    }
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_pool *pool = NULL;
    if (!ctx || sieve_pool_create(ctx, threads, &pool) != SIEVE_OK) {
        fprintf(stderr, "bench_conv: cannot start %d threads\n", threads);
        return 1;
    }
    bool cpu = threads == 1;
    printf("stride-1 convolutions, batch 1, %d thread(s), %s weights, median of %d (%s "
           "time)\n",
           threads, packed ? (packed == 8 ? "8-bit" : "4-bit") : "fp32", repeat,
           cpu ? "CPU" : "wall");
    printf("%-16s %4s %4s %4s %6s | %9s %9s %9s | %7s %7s | %6s %6s\n", "layer", "C", "HW", "M",
           "path", "im2col_ms", "conv_ms", "wino_ms", "conv/im", "wino/im", "im%core",
           "wi%core");
    double *t = malloc((size_t)(repeat + 1) * sizeof(double));
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        size_t c = (size_t)shapes[s].c, hw = (size_t)shapes[s].hw, m = (size_t)shapes[s].m;
        size_t k = (size_t)shapes[s].k, kk = k * k;
        sieve_layer l;
        memset(&l, 0, sizeof(l));
        l.name = "bench";
        l.op = SIEVE_OP_CONV;
        l.n_inputs = 3;
        l.n_outputs = 1;
        for (int i = 0; i < 3; i++)
            l.inputs[i] = i;
        sieve_conv_attrs *a = &l.attrs.conv;
        a->kernel[0] = a->kernel[1] = (int)k;
        a->stride[0] = a->stride[1] = a->dilation[0] = a->dilation[1] = 1;
        a->pads[0] = a->pads[1] = a->pads[2] = a->pads[3] = (int)(k / 2);
        a->group = 1;
        a->relu = true;
        sieve_shape shp[3] = {{.rank = 4, .dims = {1, (int64_t)c, (int64_t)hw, (int64_t)hw}},
                              {.rank = 4, .dims = {(int64_t)m, (int64_t)c, (int64_t)k, (int64_t)k}},
                              {.rank = 1, .dims = {(int64_t)m}}};
        sieve_shape out = {.rank = 4, .dims = {1, (int64_t)m, (int64_t)hw, (int64_t)hw}};
        float *x = malloc(c * hw * hw * sizeof(float)), *w = malloc(m * c * kk * sizeof(float));
        float *b = malloc(m * sizeof(float)), *y = malloc(m * hw * hw * sizeof(float));
        uint64_t seed = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < c * hw * hw; i++, seed = seed * 6364136223846793005ull + 1)
            x[i] = (float)(seed >> 40) / (float)(1 << 24) - 0.5f;
        for (size_t i = 0; i < m * c * kk; i++, seed = seed * 6364136223846793005ull + 1)
            w[i] = ((float)(seed >> 40) / (float)(1 << 24) - 0.5f) * 0.1f;
        for (size_t i = 0; i < m; i++)
            b[i] = 0.01f;
        sieve_op_input in[3];
        memset(in, 0, sizeof(in));
        for (int i = 0; i < 3; i++) {
            in[i].shape = shp[i];
            in[i].format = sieve_format_fp32();
        }
        in[0].f32 = x, in[1].f32 = w, in[2].f32 = b;
        uint8_t *packed_w = NULL;
        if (packed) {
            sieve_format f = packed == 8 ? sieve_format_cfloat(4, 3, 10, 1)
                                         : sieve_format_cfloat(2, 1, 3, 1);
            size_t n = m * c * kk;
            packed_w = calloc(1, sieve_format_bytes(&f, n));
            if (!packed_w || sieve_cfloat_quantize(&f, w, n, NULL) != SIEVE_OK ||
                sieve_format_store(&f, w, n, packed_w, 0, NULL) != SIEVE_OK) {
                fprintf(stderr, "bench_conv: packing failed\n");
                return 1;
            }
            in[1].f32 = NULL;
            in[1].packed = packed_w;
            in[1].format = f;
        }
        sieve_winograd_conv wg = {.batch = 1, .c = c, .h = hw, .w = hw, .m = m, .oh = hw,
                                  .ow = hw, .pt = 1, .pl = 1, .relu = true};
        size_t floats = sieve_op_kernels[SIEVE_OP_CONV].scratch_floats(&l, shp, 3, &out, threads);
        floats = floats > sieve_winograd_scratch_floats(&wg, threads)
                     ? floats
                     : sieve_winograd_scratch_floats(&wg, threads);
        float *scratch = sieve_alloc_aligned(ctx, floats * sizeof(float));
        if (!x || !w || !b || !y || !scratch) {
            fprintf(stderr, "bench_conv: out of memory\n");
            return 1;
        }
        memset(scratch, 0, floats * sizeof(float));
        sieve_op_env env = {pool, scratch, floats};
        double ms[3];
        /* Winograd only for 3x3 */
        ms[2] = NAN;
        for (int path = 0; path < (k == 3 ? 3 : 2); path++) {
            for (int r = 0; r <= repeat; r++) {
                double t0 = now_ms(cpu);
                if (path == 0)
                    sieve_conv_run_im2col(&l, in, 3, y, &out, &env);
                else if (path == 1)
                    sieve_conv_run(&l, in, 3, y, &out, &env);
                else
                    sieve_winograd_run(&wg, x, &in[1], b, y, &env);
                t[r] = now_ms(cpu) - t0;
            }
            qsort(t + 1, (size_t)repeat, sizeof(double), cmp_double);
            ms[path] = t[1 + repeat / 2];
        }
        double flop = 2.0 * (double)(m * c * kk * hw * hw);
        sieve_direct_conv dg = {.batch = 1, .c = c, .h = hw, .w = hw, .m = m, .kh = k, .kw = k,
                                .oh = hw, .ow = hw, .pt = (ptrdiff_t)(k / 2),
                                .pl = (ptrdiff_t)(k / 2), .relu = true};
        const char *planned = sieve_direct_conv_worthwhile(&dg)             ? "direct"
                              : k == 3 && sieve_winograd_worthwhile(&wg) ? "wino"
                                                                          : "gemm";
        printf("%-16s %4zu %4zu %4zu %6s | %9.3f %9.3f %9.3f | %7.2f %7.2f | %6.1f %6.1f\n",
               shapes[s].where, c, hw, m, planned, ms[0],
               ms[1], ms[2], ms[1] / ms[0], ms[2] / ms[0],
               flop / ms[0] / 1e6 / (peak * threads) * 100,
               flop / ms[2] / 1e6 / (peak * threads) * 100);
        sieve_free_aligned(ctx, scratch, floats * sizeof(float));
        free(packed_w);
        free(x);
        free(w);
        free(b);
        free(y);
    }
    free(t);
    sieve_pool_destroy(pool);
    sieve_context_destroy(ctx);
    return 0;
}
