/* bench_engine — batch-1 latency of one model on libsieve's engine, with 1
 * and 2 threads, fp32 against the same model with every tensor (weights
 * and activations) in an 8-bit and a 4-bit custom float format; or, for an
 * edge package (a model with variants, as `sieve explore` writes them),
 * the package's original against each of its variants.
 *
 *   bench_engine MODEL.sieve [--repeat N] [--json] [--layers [--threads T]]
 *
 * Prints median latency, effective GFLOP/s (2 * MACs / time) and the
 * packed/fp32 latency ratio measured in the same run, interleaved so that
 * machine noise hits every configuration alike. --layers prints instead
 * the median CPU time of every layer, run alone on kept activations, in
 * each format at 1 thread (the calling thread's CPU time, which other jobs
 * on a shared machine do not inflate): where packed formats win or lose;
 * with --threads T > 1 on T threads, timed by the wall clock (the calling
 * thread's CPU time would miss the others'). Public API only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sieve/sieve.h"

#define USAGE "usage: bench_engine MODEL.sieve [--repeat N] [--json] [--layers [--threads T]]\n"
#define MAX_MODELS 4 /* fp32, cf8, cf4; or a package's original and three variants */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Every tensor to a format of `bits` (8: e4m3, 4: e2m1, signed). The bias
 * of a constant is chosen so that its largest magnitude is representable;
 * activations get a bias that covers |x| up to 2^(2^e - 1 - bias + 1). */
static int pack_model(sieve_model *m, int bits)
{
    int e_bits = bits == 8 ? 4 : 2, m_bits = bits - 1 - e_bits;
    for (int t = 0; t < sieve_model_tensor_count(m); t++) {
        sieve_tensor_info info;
        if (sieve_model_tensor(m, t, &info) != SIEVE_OK || info.role == SIEVE_TENSOR_INPUT)
            continue;
        int top = 6; /* activations: magnitudes up to ~2^6 */
        if (info.role == SIEVE_TENSOR_CONSTANT) {
            size_t n = (size_t)sieve_shape_numel(&info.shape);
            float *v = malloc((n ? n : 1) * sizeof(float));
            float amax = 0;
            if (!v || sieve_model_constant_values(m, t, v, n) != SIEVE_OK) {
                free(v);
                return -1;
            }
            for (size_t i = 0; i < n; i++)
                amax = fmaxf(amax, fabsf(v[i]));
            free(v);
            top = amax > 0 ? (int)floorf(log2f(amax)) : 0;
        }
        int bias = (1 << e_bits) - 1 - top;
        if (bias > 127 - m_bits)
            bias = 127 - m_bits;
        sieve_format f = sieve_format_cfloat(e_bits, m_bits, bias, 1);
        if (sieve_model_set_tensor_format(m, t, &f) != SIEVE_OK)
            return -1;
    }
    return 0;
}

static int set_inputs(sieve_model *model, sieve_exec *exec)
{
    for (int i = 0; i < sieve_model_input_count(model); i++) {
        sieve_shape s;
        sieve_exec_tensor_shape(exec, sieve_model_input(model, i), &s);
        size_t n = (size_t)sieve_shape_numel(&s);
        float *x = malloc(n * sizeof(float));
        if (!x)
            return -1;
        for (size_t j = 0; j < n; j++)
            x[j] = (float)((j * 2654435761u) % 1000) / 1000.0f - 0.5f;
        int rc = sieve_exec_set_input(exec, i, x, n) == SIEVE_OK ? 0 : -1;
        free(x);
        if (rc)
            return -1;
    }
    return 0;
}

/* Copy rate of memcpy over a buffer far larger than the caches, in GB/s
 * (bytes copied per second, best of a few): what a GEMV that streams its
 * weights once can hope for, measured in the same run. */
static double memcpy_gb_per_s(void)
{
    const size_t bytes = (size_t)128 << 20;
    char *a = malloc(bytes), *b = malloc(bytes);
    double best = 0;
    if (a && b) {
        memset(a, 1, bytes);
        memset(b, 2, bytes);
        for (int r = 0; r < 5; r++) {
            double t0 = thread_cpu_ms();
            memcpy(r % 2 ? a : b, r % 2 ? b : a, bytes);
            double ms = thread_cpu_ms() - t0;
            if (ms > 0 && bytes / (ms * 1e6) > best)
                best = bytes / (ms * 1e6);
        }
        if (a[bytes / 2] == 3) /* keep the copies */
            best = -best;
    }
    free(a);
    free(b);
    return best;
}

/* Median time of every layer alone, one column per format: the calling
 * thread's CPU time on 1 thread, wall time on more; for dense layers also
 * the rate at which their weights were read, against memcpy's. */
static int bench_layers(sieve_context *ctx, sieve_model **models, const char **names,
                        int n_models, int repeat, int threads)
{
    sieve_exec *ex[MAX_MODELS];
    double (*clock_ms)(void) = threads > 1 ? now_ms : thread_cpu_ms;
    for (int k = 0; k < n_models; k++) {
        sieve_exec_options o = {.threads = threads, .keep_activations = 1};
        if (sieve_exec_create(models[k], &o, &ex[k]) != SIEVE_OK || set_inputs(models[k], ex[k]) ||
            sieve_exec_run(ex[k]) != SIEVE_OK) {
            fprintf(stderr, "bench_engine: %s\n", sieve_context_error(ctx));
            return 1;
        }
    }
    int n_layers = sieve_model_layer_count(models[0]);
    double *samples = calloc((size_t)repeat, sizeof(double)), total[MAX_MODELS] = {0};
    if (!samples)
        return 1;
    enum { MAX_DENSE = 16 };
    struct {
        const char *name;
        double gb_per_s[MAX_MODELS], mbytes[MAX_MODELS];
    } dense[MAX_DENSE];
    int n_dense = 0;
    printf("median ms per layer, %s; ratios against %s\n",
           threads > 1 ? "wall time" : "CPU time of the calling thread", names[0]);
    printf("%-28s %-8s %9s", "layer", "op", "MMACs");
    for (int k = 0; k < n_models; k++)
        printf(" %9.9s", names[k]);
    for (int k = 1; k < n_models; k++)
        printf(" %6.6s", names[k]);
    printf("\n");
    for (int li = 0; li < n_layers; li++) {
        double med[MAX_MODELS];
        for (int k = 0; k < n_models; k++) {
            for (int r = 0; r < repeat; r++) {
                double t0 = clock_ms();
                sieve_exec_run_layers(ex[k], li, li + 1);
                samples[r] = clock_ms() - t0;
            }
            qsort(samples, (size_t)repeat, sizeof(double), cmp_double);
            med[k] = samples[repeat / 2];
            total[k] += med[k];
        }
        sieve_layer_info info;
        sieve_model_layer(models[0], li, &info);
        printf("%-28.28s %-8s %9.2f", info.name, info.op,
               (double)sieve_exec_layer_macs(ex[0], li) / 1e6);
        for (int k = 0; k < n_models; k++)
            printf(" %9.4f", med[k]);
        for (int k = 1; k < n_models; k++)
            printf(" %6.2f", med[k] / med[0]);
        printf("\n");
        if (!strcmp(info.op, "gemm") && info.n_inputs > 1 && n_dense < MAX_DENSE) {
            dense[n_dense].name = info.name;
            for (int k = 0; k < n_models; k++) {
                sieve_tensor_info w;
                sieve_layer_info lk;
                sieve_model_layer(models[k], li, &lk);
                sieve_model_tensor(models[k], lk.inputs[1], &w);
                dense[n_dense].gb_per_s[k] = (double)w.bytes / (med[k] * 1e6);
                dense[n_dense].mbytes[k] = (double)w.bytes / 1e6;
            }
            n_dense++;
        }
    }
    printf("%-28s %-8s %9s", "sum", "", "");
    for (int k = 0; k < n_models; k++)
        printf(" %9.4f", total[k]);
    for (int k = 1; k < n_models; k++)
        printf(" %6.2f", total[k] / total[0]);
    printf("\n");
    if (n_dense) {
        printf("dense weights read (MB, GB/s); memcpy copies %.1f GB/s in this run\n",
               memcpy_gb_per_s());
        for (int d = 0; d < n_dense; d++) {
            printf("%-28.28s", dense[d].name);
            for (int k = 0; k < n_models; k++)
                printf("%s %s %.1f MB %.1f GB/s", k ? "," : "", names[k], dense[d].mbytes[k],
                       dense[d].gb_per_s[k]);
            printf("\n");
        }
    }
    free(samples);
    for (int k = 0; k < n_models; k++)
        sieve_exec_free(ex[k]);
    return 0;
}

typedef struct config {
    const char *name;
    sieve_model *model;
    int threads;
    sieve_exec *exec;
    double *samples;
    double median_ms;
} config;

int main(int argc, char **argv)
{
    const char *path = NULL;
    int repeat = 30, json = 0, layers = 0, layer_threads = 1, threads_given = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--layers"))
            layers = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            layer_threads = atoi(argv[++i]), threads_given = 1;
        else if (!strcmp(argv[i], "--help") || argv[i][0] == '-') {
            fputs(USAGE, stderr);
            return argv[i][1] == '-' && !strcmp(argv[i], "--help") ? 0 : 2;
        } else
            path = argv[i];
    }
    if (!path || repeat < 1 || layer_threads < 1) {
        fputs(USAGE, stderr);
        return 2;
    }
    if (threads_given && !layers) { /* whole runs always time 1 and 2 threads */
        fputs("bench_engine: --threads goes with --layers\n" USAGE, stderr);
        return 2;
    }
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *models[MAX_MODELS] = {NULL};
    const char *names[MAX_MODELS] = {"fp32", "cf8", "cf4"};
    int n_models = 3;
    if (sieve_model_load_file(ctx, path, &models[0]) != SIEVE_OK) {
        fprintf(stderr, "bench_engine: %s\n", sieve_context_error(ctx));
        return 1;
    }
    const int variants = sieve_model_variant_count(models[0]);
    if (variants > 0) { /* a package: its original, then its variants */
        names[0] = "original";
        n_models = 1 + (variants < MAX_MODELS - 1 ? variants : MAX_MODELS - 1);
        for (int k = 1; k < n_models; k++) {
            names[k] = sieve_model_variant_name(models[0], k - 1);
            if (sieve_model_extract_variant(models[0], k - 1, &models[k]) != SIEVE_OK) {
                fprintf(stderr, "bench_engine: %s\n", sieve_context_error(ctx));
                return 1;
            }
        }
    } else {
        for (int k = 1; k < n_models; k++)
            if (sieve_model_load_file(ctx, path, &models[k]) != SIEVE_OK ||
                pack_model(models[k], k == 1 ? 8 : 4) != 0) {
                fprintf(stderr, "bench_engine: packing: %s\n", sieve_context_error(ctx));
                return 1;
            }
    }
    if (layers) {
        int rc = bench_layers(ctx, models, names, n_models, repeat, layer_threads);
        for (int k = 0; k < n_models; k++)
            sieve_model_free(models[k]);
        sieve_context_destroy(ctx);
        return rc;
    }
    config cfg[2 * MAX_MODELS];
    int n_cfg = 0;
    for (int k = 0; k < n_models; k++)
        for (int threads = 1; threads <= 2; threads++) {
            config *c = &cfg[n_cfg++];
            memset(c, 0, sizeof(*c));
            c->name = names[k];
            c->model = models[k];
            c->threads = threads;
            sieve_exec_options o = {.threads = threads};
            if (sieve_exec_create(c->model, &o, &c->exec) != SIEVE_OK) {
                fprintf(stderr, "bench_engine: %s\n", sieve_context_error(ctx));
                return 1;
            }
            c->samples = calloc((size_t)repeat, sizeof(double));
            if (!c->samples || set_inputs(c->model, c->exec)) {
                fprintf(stderr, "bench_engine: %s\n", sieve_context_error(ctx));
                return 1;
            }
            sieve_exec_run(c->exec); /* warm up */
        }
    /* interleave: one run of each configuration per round */
    for (int r = 0; r < repeat; r++)
        for (int c = 0; c < n_cfg; c++) {
            double t0 = now_ms();
            if (sieve_exec_run(cfg[c].exec) != SIEVE_OK) {
                fprintf(stderr, "bench_engine: %s\n", sieve_context_error(ctx));
                return 1;
            }
            cfg[c].samples[r] = now_ms() - t0;
        }
    double macs = (double)sieve_exec_macs(cfg[0].exec);
    for (int c = 0; c < n_cfg; c++) {
        qsort(cfg[c].samples, (size_t)repeat, sizeof(double), cmp_double);
        cfg[c].median_ms = cfg[c].samples[repeat / 2];
    }
    if (json)
        printf("{\"model\":\"%s\",\"macs\":%.0f,\"repeat\":%d,\"results\":[", path, macs, repeat);
    else
        printf("%s: %.1f MMACs, %d runs each\n%-11s %7s %11s %9s %14s\n", path, macs / 1e6,
               repeat, "format", "threads", "median_ms", "GFLOP/s",
               variants > 0 ? "vs_orig_same_t" : "vs_fp32_same_t");
    for (int c = 0; c < n_cfg; c++) {
        double gflops = 2 * macs / (cfg[c].median_ms * 1e6);
        double ratio = cfg[c].median_ms / cfg[(c % 2)].median_ms;
        if (json)
            printf("%s{\"format\":\"%s\",\"threads\":%d,\"median_ms\":%.4f,\"gflops\":%.3f,"
                   "\"ratio_vs_fp32\":%.3f}",
                   c ? "," : "", cfg[c].name, cfg[c].threads, cfg[c].median_ms, gflops, ratio);
        else
            printf("%-11s %7d %11.3f %9.2f %14.2f\n", cfg[c].name, cfg[c].threads,
                   cfg[c].median_ms, gflops, ratio);
    }
    if (json)
        printf("]}\n");
    for (int c = 0; c < n_cfg; c++) {
        sieve_exec_free(cfg[c].exec);
        free(cfg[c].samples);
    }
    for (int k = 0; k < n_models; k++)
        sieve_model_free(models[k]);
    sieve_context_destroy(ctx);
    return 0;
}
