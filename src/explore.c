/* libsieve — format search and variant combination (SIEVE paper, IV-A).
 *
 * The search works on `work`, an fp32 clone of the original whose constants
 * the model owns, and on a cache of fp32 activations of the sweep subset:
 *
 *   tensors are visited by increasing "first layer" S (the first layer that
 *   reads them; S = layer count for a graph output nobody reads). The
 *   cache holds, for every subset item, the frontier of S: the inputs and
 *   activations produced before S that a layer >= S (or the caller, for
 *   graph outputs) still reads. A candidate format of tensor T is evaluated
 *   by writing the frontier back into per-thread executors (T's values
 *   rounded to the candidate when T is an activation; a weight T is rounded
 *   in place in `work`), running layers [S, end) and comparing the top-1
 *   class with the label. Moving the cache from S to the next S' runs
 *   layers [S, S') once per item, so the whole search runs every layer of
 *   every subset item once in fp32, plus one suffix per candidate.
 *
 * Items are handed to threads one at a time through an atomic counter; an
 * evaluation stops as soon as its misses make the accuracy it needs
 * unreachable. */
#include "sieve/explore.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "graph.h"
#include "threads.h"

/* ---- exponent histograms ------------------------------------------------- */

void sieve_exp_hist_add(sieve_exp_hist *h, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v))
            continue;
        if (v == 0) {
            h->zeros++;
            continue;
        }
        if (v < 0)
            h->negatives++;
        int e = ilogbf(v); /* floor(log2|v|), exact for subnormals too */
        if (e < SIEVE_EXP_MIN)
            e = SIEVE_EXP_MIN;
        if (e > SIEVE_EXP_MAX)
            e = SIEVE_EXP_MAX;
        h->count[e - SIEVE_EXP_MIN]++;
    }
}

void sieve_exp_hist_merge(sieve_exp_hist *into, const sieve_exp_hist *from)
{
    for (int i = 0; i < SIEVE_EXP_BINS; i++)
        into->count[i] += from->count[i];
    into->zeros += from->zeros;
    into->negatives += from->negatives;
}

int sieve_exp_hist_range(const sieve_exp_hist *h, int *lo, int *hi)
{
    int a = -1, b = -1;
    for (int i = 0; i < SIEVE_EXP_BINS; i++)
        if (h->count[i]) {
            if (a < 0)
                a = i;
            b = i;
        }
    if (a < 0)
        return 0;
    if (lo)
        *lo = a + SIEVE_EXP_MIN;
    if (hi)
        *hi = b + SIEVE_EXP_MIN;
    return 1;
}

/* Largest exponent field a search uses: e = 8 has no valid bias (cfloat.h). */
#define EXP_BITS_LIMIT 7

/* Hand example (pinned by tests/test_explore.c): weights whose exponents
 * run from -7 (|w| in [2^-7, 2^-6)) to -1 (|w| in [0.5, 1)) span 7
 * exponents, so e_max = 3 (codes E = 1..7) and bias = 1 - (-7) = 8: E = 1
 * is 2^-7 and E = 7 is 2^(7-8) = 2^-1. With e = 2 (three exponents) the
 * window of three adjacent exponents holding the most values is kept. */
int sieve_exp_hist_cover(const sieve_exp_hist *h)
{
    int lo, hi;
    if (!sieve_exp_hist_range(h, &lo, &hi))
        return 1;
    int span = hi - lo + 1, e = 1;
    while (e < EXP_BITS_LIMIT && (1 << e) - 1 < span)
        e++;
    return e;
}

int sieve_exp_hist_best_bias(const sieve_exp_hist *h, int e_bits, int m_bits, double *coverage)
{
    int width = (1 << e_bits) - 1; /* normal exponents of the format */
    /* valid bias in [width - 127, 127 - m] (cfloat.h), window start lo = 1 - bias */
    int lo_min = 1 - (127 - m_bits), lo_max = 1 - (width - 127);
    uint64_t total = 0;
    for (int i = 0; i < SIEVE_EXP_BINS; i++)
        total += h->count[i];
    if (total == 0) {
        /* nothing to cover: the window ending at exponent 0 (values to ~2) */
        if (coverage)
            *coverage = 1;
        int lo = SIEVE_MAX(lo_min, SIEVE_MIN(lo_max, 1 - width));
        return 1 - lo;
    }
    int best_lo = lo_min;
    uint64_t best = 0;
    bool found = false;
    for (int lo = lo_min; lo <= lo_max; lo++) {
        uint64_t c = 0;
        for (int x = lo; x < lo + width; x++)
            if (x >= SIEVE_EXP_MIN && x <= SIEVE_EXP_MAX)
                c += h->count[x - SIEVE_EXP_MIN];
        if (!found || c >= best) { /* >=: ties go to the highest window */
            best = c;
            best_lo = lo;
            found = true;
        }
    }
    if (coverage)
        *coverage = (double)best / (double)total;
    return 1 - best_lo;
}

static const char *const variant_names[SIEVE_VARIANT_KIND_COUNT] = {
    [SIEVE_VARIANT_EXACT] = "exact",
    [SIEVE_VARIANT_ACCURATE] = "accurate",
    [SIEVE_VARIANT_APPROXIMATE] = "approximate",
};

const char *sieve_variant_kind_name(sieve_variant_kind kind)
{
    return (unsigned)kind < SIEVE_VARIANT_KIND_COUNT ? variant_names[kind] : "?";
}

void sieve_explore_options_default(sieve_explore_options *o)
{
    memset(o, 0, sizeof(*o));
    o->subset = 2000;
    /* thresholds of the SIEVE paper, section IV-A */
    o->sweep_min = 0.998;
    o->sweep_z = 1.645;
    o->coverage_min = 0.5;
    o->m_bits_max = 6;
    o->variant_min[SIEVE_VARIANT_EXACT] = 1.0;
    o->variant_min[SIEVE_VARIANT_ACCURATE] = 1.0;
    o->variant_min[SIEVE_VARIANT_APPROXIMATE] = 0.999;
    o->target = 1.0;
    o->target_z = 1.645; /* one-sided 95%: the target should hold on unseen inputs too */
    o->select_z = -1.645;
    o->replay_max[SIEVE_VARIANT_EXACT] = 1.0;
    o->replay_max[SIEVE_VARIANT_ACCURATE] = 0.10;
    o->replay_max[SIEVE_VARIANT_APPROXIMATE] = 0.20;
    o->narrow_tries = 48;
    o->explore_weights = 1;
    o->explore_activations = 1;
    o->fit_temperature = 1;
}

/* ---- the explorer ---------------------------------------------------------- */

typedef struct explorer {
    sieve_context *ctx;
    const sieve_explore_options *opt;
    sieve_model *work; /* fp32 clone; the weight under test is rounded in place */
    sieve_pool *pool;
    int threads;
    sieve_exec **execs; /* one per thread, keep_activations */
    float **scratch;    /* one per thread: max tensor numel floats */
    size_t scratch_floats;
    int n_layers, n_tensors;
    int input, output; /* tensor indices */
    size_t input_n, classes;
    bool output_is_softmax;
    size_t *numel;
    int *producer, *first_consumer, *last_consumer;
    int *explored_at; /* tensor -> its index in the result's tensors, or -1 */
    /* labelled data in memory */
    size_t n_items;
    float *inputs;
    int *labels;
    uint8_t *orig_correct;
    int *orig_pred; /* the original's top-1 class of every item */
    float *orig_probs; /* the original's class probabilities of every item (validation) */
    size_t orig_correct_count;
    /* validation halves (items reordered at load): [0, n_sel) chooses the
     * formats, [n_sel, n_items) calibrates the detector */
    size_t n_sel;
    size_t orig_sel_correct;
    /* sweep subset and its frontier cache */
    size_t n_sub;
    size_t *sub;
    size_t orig_sub_correct;
    int cache_layer;
    int *frontier, n_frontier;
    size_t *frontier_offset;
    size_t frontier_floats;
    float *cache;
    size_t cache_floats;
    double t0;
    size_t evaluations;
} explorer;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void report(explorer *x, double fraction, const char *fmt, ...) SIEVE_PRINTF(3, 4);
static void report(explorer *x, double fraction, const char *fmt, ...)
{
    if (!x->opt->progress)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    x->opt->progress(x->opt->progress_user, fraction, msg);
}

static void free_execs(explorer *x)
{
    for (int t = 0; x->execs && t < x->threads; t++) {
        sieve_exec_free(x->execs[t]);
        x->execs[t] = NULL;
    }
}

static sieve_status make_execs(explorer *x, sieve_model *model)
{
    free_execs(x);
    sieve_exec_options eo = {.threads = 1, .keep_activations = 1};
    for (int t = 0; t < x->threads; t++) {
        sieve_status st = sieve_exec_create(model, &eo, &x->execs[t]);
        if (st != SIEVE_OK)
            return st;
    }
    return SIEVE_OK;
}

static size_t argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* ---- parallel evaluation ---------------------------------------------------- */

#define DIV_STRIDE 8 /* doubles: one cache line per thread's sum */

typedef struct eval_job {
    explorer *x;
    int first_layer;      /* run [first_layer, n_layers) */
    bool from_cache;      /* items are subset positions, frontier from the cache */
    int quant_tensor;     /* activation rounded to quant_fmt when written (-1: none) */
    sieve_format quant_fmt;
    size_t n;             /* items to run */
    const size_t *items;  /* item k is items[k] (NULL: first + k); from_cache: x->sub */
    size_t first;
    long allowed_misses;  /* stop once misses exceed this */
    /* sweep steps (sweep_need > 0): stop once the paired test of
     * sieve_explore_sweep_passes can no longer pass */
    double sweep_need;
    double sweep_z;
    size_t orig_wrong;    /* items of the job the original gets wrong */
    int *pred;            /* optional: n top-1 classes */
    float *logits;        /* optional: n x classes */
    uint8_t *correct;     /* optional: n */
    atomic_size_t next;
    atomic_long misses;
    atomic_size_t flips; /* items whose top-1 differs from the original's */
    bool count_discordant;
    double *divergence; /* optional: per thread t at [t * DIV_STRIDE], sum of KL(original || this) */
    atomic_size_t discordant; /* items right here and wrong in the original, or the reverse */
    atomic_size_t lost;       /* items wrong here and right in the original */
    atomic_size_t gained;     /* items right here and wrong in the original */
    atomic_size_t orig_wrong_seen;
    atomic_size_t done;
    atomic_int status;
} eval_job;

/* KL(p || q) of the original's probabilities p and the scores z of a run
 * (logits, or probabilities when the graph ends in a softmax). */
static double divergence(const explorer *x, const float *p, const float *z)
{
    size_t n = x->classes;
    double kl = 0;
    if (x->output_is_softmax) {
        for (size_t c = 0; c < n; c++)
            if (p[c] > 0)
                kl += p[c] * (log(p[c]) - log(fmax(z[c], 1e-30)));
        return kl;
    }
    float top = z[argmax(z, n)];
    double sum = 0;
    for (size_t c = 0; c < n; c++)
        sum += exp((double)z[c] - top);
    double log_sum = log(sum);
    for (size_t c = 0; c < n; c++)
        if (p[c] > 0)
            kl += p[c] * (log(p[c]) - ((double)z[c] - top - log_sum));
    return kl;
}

static sieve_status eval_item(eval_job *j, sieve_exec *e, float *scratch, size_t k, int thread)
{
    explorer *x = j->x;
    sieve_status st = SIEVE_OK;
    size_t item = j->items ? j->items[k] : j->first + k;
    if (j->from_cache) {
        const float *c = x->cache + k * x->frontier_floats;
        for (int f = 0; f < x->n_frontier && st == SIEVE_OK; f++) {
            int t = x->frontier[f];
            const float *src = c + x->frontier_offset[f];
            if (t == j->quant_tensor) {
                memcpy(scratch, src, x->numel[t] * sizeof(float));
                st = sieve_cfloat_quantize(&j->quant_fmt, scratch, x->numel[t], NULL);
                src = scratch;
            }
            if (st == SIEVE_OK)
                st = sieve_exec_set_tensor(e, t, src, x->numel[t]);
        }
    } else {
        st = sieve_exec_set_input(e, 0, x->inputs + item * x->input_n, x->input_n);
    }
    if (st == SIEVE_OK)
        st = sieve_exec_run_layers(e, j->first_layer, x->n_layers);
    if (st == SIEVE_OK)
        st = sieve_exec_get_output(e, 0, scratch, x->classes);
    if (st != SIEVE_OK)
        return st;
    int top = (int)argmax(scratch, x->classes);
    bool ok = top == x->labels[item];
    if (!ok)
        atomic_fetch_add(&j->misses, 1);
    if (x->orig_pred && top != x->orig_pred[item])
        atomic_fetch_add(&j->flips, 1);
    if (j->count_discordant && ok != (bool)x->orig_correct[item])
        atomic_fetch_add(&j->discordant, 1);
    if (j->sweep_need > 0) {
        if (!x->orig_correct[item])
            atomic_fetch_add(&j->orig_wrong_seen, 1);
        if (ok && !x->orig_correct[item])
            atomic_fetch_add(&j->gained, 1);
        else if (!ok && x->orig_correct[item])
            atomic_fetch_add(&j->lost, 1);
    }
    if (j->divergence)
        j->divergence[(size_t)thread * DIV_STRIDE] +=
            divergence(x, x->orig_probs + item * x->classes, scratch);
    if (j->pred)
        j->pred[k] = top;
    if (j->correct)
        j->correct[k] = ok;
    if (j->logits)
        memcpy(j->logits + k * x->classes, scratch, x->classes * sizeof(float));
    atomic_fetch_add(&j->done, 1);
    return SIEVE_OK;
}

int sieve_explore_sweep_passes(size_t correct, size_t orig_correct, size_t discordant,
                               double sweep_min, double z)
{
    double need = sweep_min * (double)orig_correct;
    return (double)correct + z * sqrt((double)discordant) >= need - 1e-9;
}

/* Whether a sweep step in progress can no longer pass: the most it can still
 * reach assumes every item the original gets wrong and this run has not
 * seen yet turns right (the +1 covers the test's non-monotony at 0 or 1
 * discordant items). */
static bool sweep_hopeless(const explorer *x, eval_job *j)
{
    size_t lost = atomic_load(&j->lost), gained = atomic_load(&j->gained);
    size_t seen = atomic_load(&j->orig_wrong_seen);
    size_t gain_max = gained + (j->orig_wrong > seen ? j->orig_wrong - seen : 0);
    double best = (double)x->orig_sub_correct - (double)lost + (double)gain_max;
    return best + j->sweep_z * sqrt((double)(lost + gain_max)) + 1 < j->sweep_need;
}

static void eval_worker(void *arg, size_t begin, size_t end, int thread)
{
    (void)begin;
    (void)end;
    eval_job *j = arg;
    explorer *x = j->x;
    for (;;) {
        if (atomic_load(&j->status) != SIEVE_OK || atomic_load(&j->misses) > j->allowed_misses ||
            (j->sweep_need > 0 && sweep_hopeless(x, j)))
            return;
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n)
            return;
        sieve_status st = eval_item(j, x->execs[thread], x->scratch[thread], k, thread);
        if (st != SIEVE_OK) {
            int expected = SIEVE_OK;
            atomic_compare_exchange_strong(&j->status, &expected, (int)st);
            return;
        }
    }
}

/* Runs a job on x->execs; *correct_out = correct items, *complete = not stopped early. */
static sieve_status run_job(explorer *x, eval_job *j, size_t *correct_out, bool *complete)
{
    atomic_init(&j->next, 0);
    atomic_init(&j->misses, 0);
    atomic_init(&j->flips, 0);
    atomic_init(&j->discordant, 0);
    atomic_init(&j->lost, 0);
    atomic_init(&j->gained, 0);
    atomic_init(&j->orig_wrong_seen, 0);
    atomic_init(&j->done, 0);
    atomic_init(&j->status, SIEVE_OK);
    sieve_parallel_for(x->pool, (size_t)x->threads, eval_worker, j);
    int st = atomic_load(&j->status);
    if (st != SIEVE_OK)
        return (sieve_status)st;
    size_t done = atomic_load(&j->done);
    long misses = atomic_load(&j->misses);
    *complete = done == j->n;
    *correct_out = done - (size_t)misses;
    return SIEVE_OK;
}

/* Misses a run may have while still reaching `min_normalized` of `orig_correct`. */
static long allowed_misses(size_t n, size_t orig_correct, double min_normalized)
{
    double need = ceil(min_normalized * (double)orig_correct - 1e-9);
    if (need < 0)
        need = 0;
    if (need > (double)n)
        return -1;
    return (long)(n - (size_t)need);
}

/* ---- setup ------------------------------------------------------------------------ */

/* Loads n items; with `split`, even-numbered items first, then odd ones
 * (the selection and calibration halves, interleaved over the source). */
static sieve_status load_items(explorer *x, sieve_dataset *ds, size_t n, const sieve_preprocess *pre,
                               bool split)
{
    x->n_items = n;
    x->inputs = sieve_calloc(x->ctx, n ? n * x->input_n : 1, sizeof(float));
    x->labels = sieve_calloc(x->ctx, n ? n : 1, sizeof(int));
    x->orig_correct = sieve_calloc(x->ctx, n ? n : 1, 1);
    x->orig_pred = sieve_calloc(x->ctx, n ? n : 1, sizeof(int));
    x->orig_probs = sieve_calloc(x->ctx, n ? n * x->classes : 1, sizeof(float));
    if (!x->inputs || !x->labels || !x->orig_correct || !x->orig_pred || !x->orig_probs)
        return SIEVE_ERR_NOMEM;
    x->n_sel = split ? (n + 1) / 2 : n;
    for (size_t i = 0; i < n; i++) {
        size_t at = split ? (i % 2 ? x->n_sel + i / 2 : i / 2) : i;
        sieve_status st = sieve_dataset_get(ds, i, pre, x->inputs + at * x->input_n, x->input_n,
                                            &x->labels[at]);
        if (st != SIEVE_OK)
            return st;
    }
    return SIEVE_OK;
}

static void free_items(explorer *x)
{
    size_t n = x->n_items;
    sieve_free(x->ctx, x->inputs, (n ? n * x->input_n : 1) * sizeof(float));
    sieve_free(x->ctx, x->labels, (n ? n : 1) * sizeof(int));
    sieve_free(x->ctx, x->orig_correct, n ? n : 1);
    sieve_free(x->ctx, x->orig_pred, (n ? n : 1) * sizeof(int));
    x->orig_pred = NULL;
    sieve_free(x->ctx, x->orig_probs, (n ? n * x->classes : 1) * sizeof(float));
    x->orig_probs = NULL;
    x->inputs = NULL;
    x->labels = NULL;
    x->orig_correct = NULL;
    x->n_items = 0;
}

/* Clones `original` into x->work with every constant fp32 and owned, learns
 * the graph's shapes and consumers, and creates the pool and scratch. */
static sieve_status setup(explorer *x, const sieve_model *original, int threads)
{
    sieve_context *ctx = x->ctx;
    sieve_status st = sieve_model_clone(original, &x->work);
    if (st != SIEVE_OK)
        return st;
    sieve_model *w = x->work;
    x->n_layers = w->n_layers;
    x->n_tensors = w->n_tensors;
    if (w->n_inputs != 1 || w->n_outputs < 1)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "explore: the model needs one input and an output");
    x->input = w->inputs[0];
    x->output = w->outputs[0];
    sieve_format fp32 = sieve_format_fp32();
    size_t nt = (size_t)x->n_tensors;
    x->numel = sieve_calloc(ctx, nt + 1, sizeof(size_t));
    x->producer = sieve_calloc(ctx, nt + 1, sizeof(int));
    x->first_consumer = sieve_calloc(ctx, nt + 1, sizeof(int));
    x->last_consumer = sieve_calloc(ctx, nt + 1, sizeof(int));
    x->explored_at = sieve_calloc(ctx, nt + 1, sizeof(int));
    if (!x->numel || !x->producer || !x->first_consumer || !x->last_consumer || !x->explored_at)
        return SIEVE_ERR_NOMEM;
    for (int t = 0; t < x->n_tensors; t++) {
        sieve_tensor *tt = &w->tensors[t];
        x->producer[t] = -1;
        x->explored_at[t] = -1;
        x->first_consumer[t] = x->n_layers;
        x->last_consumer[t] = -1;
        if (tt->role != SIEVE_TENSOR_CONSTANT)
            continue;
        /* fp32 and owned, so that the search can round it in place */
        if (tt->format.kind != SIEVE_FORMAT_FP32 &&
            (st = sieve_model_set_tensor_format(w, t, &fp32)) != SIEVE_OK)
            return st;
        size_t n = (size_t)sieve_shape_numel(&tt->shape);
        float *v = sieve_calloc(ctx, n ? n : 1, sizeof(float));
        if (!v)
            return SIEVE_ERR_NOMEM;
        st = sieve_model_constant_values(w, t, v, n);
        if (st == SIEVE_OK)
            st = sieve_model_set_constant(w, t, v, n);
        sieve_free(ctx, v, (n ? n : 1) * sizeof(float));
        if (st != SIEVE_OK)
            return st;
    }
    for (int l = 0; l < x->n_layers; l++) {
        const sieve_layer *L = &w->layers[l];
        for (int k = 0; k < L->n_inputs; k++) {
            int t = L->inputs[k];
            if (t < 0)
                continue;
            if (x->first_consumer[t] == x->n_layers)
                x->first_consumer[t] = l;
            x->last_consumer[t] = l;
        }
        for (int k = 0; k < L->n_outputs; k++)
            x->producer[L->outputs[k]] = l;
    }
    x->threads = threads;
    if (threads > 1 && (st = sieve_pool_create(ctx, threads, &x->pool)) != SIEVE_OK)
        return st;
    x->execs = sieve_calloc(ctx, (size_t)threads, sizeof(*x->execs));
    x->scratch = sieve_calloc(ctx, (size_t)threads, sizeof(*x->scratch));
    if (!x->execs || !x->scratch)
        return SIEVE_ERR_NOMEM;
    if ((st = make_execs(x, w)) != SIEVE_OK)
        return st;
    size_t most = 1;
    for (int t = 0; t < x->n_tensors; t++) {
        sieve_shape s;
        sieve_exec_tensor_shape(x->execs[0], t, &s);
        int64_t n = sieve_shape_numel(&s);
        x->numel[t] = n > 0 ? (size_t)n : 0;
        most = SIEVE_MAX(most, x->numel[t]);
    }
    x->input_n = x->numel[x->input];
    x->classes = x->numel[x->output];
    if (x->classes < 1)
        return sieve_fail(ctx, SIEVE_ERR_SHAPE, "explore: the model's output is empty");
    x->scratch_floats = most;
    for (int t = 0; t < threads; t++)
        if (!(x->scratch[t] = sieve_alloc_aligned(ctx, most * sizeof(float))))
            return SIEVE_ERR_NOMEM;
    int last = x->n_layers - 1;
    x->output_is_softmax = last >= 0 && w->layers[last].op == SIEVE_OP_SOFTMAX &&
                           w->layers[last].outputs[0] == x->output;
    return SIEVE_OK;
}

static void teardown(explorer *x)
{
    sieve_context *ctx = x->ctx;
    free_execs(x);
    for (int t = 0; x->scratch && t < x->threads; t++)
        sieve_free_aligned(ctx, x->scratch[t], x->scratch_floats * sizeof(float));
    sieve_free(ctx, x->execs, (size_t)x->threads * sizeof(*x->execs));
    sieve_free(ctx, x->scratch, (size_t)x->threads * sizeof(*x->scratch));
    sieve_pool_destroy(x->pool);
    size_t nt = (size_t)x->n_tensors + 1;
    sieve_free(ctx, x->numel, nt * sizeof(size_t));
    sieve_free(ctx, x->producer, nt * sizeof(int));
    sieve_free(ctx, x->explored_at, (nt + 1) * sizeof(int));
    sieve_free(ctx, x->first_consumer, nt * sizeof(int));
    sieve_free(ctx, x->last_consumer, nt * sizeof(int));
    sieve_free(ctx, x->frontier, nt * sizeof(int));
    sieve_free(ctx, x->frontier_offset, nt * sizeof(size_t));
    sieve_free(ctx, x->cache, x->cache_floats * sizeof(float));
    sieve_free(ctx, x->sub, (x->n_sub ? x->n_sub : 1) * sizeof(size_t));
    free_items(x);
    sieve_model_free(x->work);
}

/* ---- the frontier cache -------------------------------------------------------- */

typedef struct advance_job {
    explorer *x;
    int from, to;                  /* layers */
    const int *old_frontier;
    const size_t *old_offset;
    int n_old;
    size_t old_floats;
    const float *old_cache;        /* NULL: from x->inputs */
    float *new_cache;
    atomic_size_t next;
    atomic_int status;
} advance_job;

static void advance_worker(void *arg, size_t begin, size_t end, int thread)
{
    (void)begin;
    (void)end;
    advance_job *j = arg;
    explorer *x = j->x;
    sieve_exec *e = x->execs[thread];
    for (;;) {
        if (atomic_load(&j->status) != SIEVE_OK)
            return;
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= x->n_sub)
            return;
        sieve_status st = SIEVE_OK;
        if (!j->old_cache) {
            st = sieve_exec_set_input(e, 0, x->inputs + x->sub[k] * x->input_n, x->input_n);
        } else {
            const float *c = j->old_cache + k * j->old_floats;
            for (int f = 0; f < j->n_old && st == SIEVE_OK; f++)
                st = sieve_exec_set_tensor(e, j->old_frontier[f], c + j->old_offset[f],
                                           x->numel[j->old_frontier[f]]);
        }
        if (st == SIEVE_OK)
            st = sieve_exec_run_layers(e, j->from, j->to);
        float *c = j->new_cache + k * x->frontier_floats;
        for (int f = 0; f < x->n_frontier && st == SIEVE_OK; f++)
            st = sieve_exec_get_tensor(e, x->frontier[f], c + x->frontier_offset[f],
                                       x->numel[x->frontier[f]]);
        if (st != SIEVE_OK) {
            int expected = SIEVE_OK;
            atomic_compare_exchange_strong(&j->status, &expected, (int)st);
            return;
        }
    }
}

/* Moves the cache to the frontier of `layer` (x->execs must run `work` in fp32). */
static sieve_status cache_advance(explorer *x, int layer)
{
    sieve_context *ctx = x->ctx;
    if (x->cache && layer == x->cache_layer)
        return SIEVE_OK;
    size_t nt = (size_t)x->n_tensors + 1;
    int *frontier = sieve_calloc(ctx, nt, sizeof(int));
    size_t *offset = sieve_calloc(ctx, nt, sizeof(size_t));
    if (!frontier || !offset) {
        sieve_free(ctx, frontier, nt * sizeof(int));
        sieve_free(ctx, offset, nt * sizeof(size_t));
        return SIEVE_ERR_NOMEM;
    }
    int n = 0;
    size_t floats = 0;
    for (int t = 0; t < x->n_tensors; t++) {
        const sieve_tensor *tt = &x->work->tensors[t];
        if (tt->role == SIEVE_TENSOR_CONSTANT || x->producer[t] >= layer)
            continue;
        if (tt->role == SIEVE_TENSOR_ACTIVATION && x->producer[t] < 0)
            continue; /* never written */
        if (x->last_consumer[t] < layer && !tt->is_output)
            continue;
        frontier[n] = t;
        offset[n] = floats;
        floats += x->numel[t];
        n++;
    }
    size_t total;
    if (!sieve_mul_size(floats ? floats : 1, x->n_sub ? x->n_sub : 1, &total)) {
        sieve_free(ctx, frontier, nt * sizeof(int));
        sieve_free(ctx, offset, nt * sizeof(size_t));
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "explore: activation cache size overflows");
    }
    float *cache = sieve_calloc(ctx, total, sizeof(float));
    if (!cache) {
        sieve_free(ctx, frontier, nt * sizeof(int));
        sieve_free(ctx, offset, nt * sizeof(size_t));
        return SIEVE_ERR_NOMEM;
    }
    advance_job j = {.x = x,
                     .from = x->cache ? x->cache_layer : 0,
                     .to = layer,
                     .old_frontier = x->frontier,
                     .old_offset = x->frontier_offset,
                     .n_old = x->n_frontier,
                     .old_floats = x->frontier_floats,
                     .old_cache = x->cache,
                     .new_cache = cache};
    int *old_frontier = x->frontier;
    size_t *old_offset = x->frontier_offset;
    float *old_cache = x->cache;
    size_t old_cache_floats = x->cache_floats;
    x->frontier = frontier;
    x->frontier_offset = offset;
    x->n_frontier = n;
    x->frontier_floats = floats;
    atomic_init(&j.next, 0);
    atomic_init(&j.status, SIEVE_OK);
    sieve_parallel_for(x->pool, (size_t)x->threads, advance_worker, &j);
    sieve_free(ctx, old_frontier, nt * sizeof(int));
    sieve_free(ctx, old_offset, nt * sizeof(size_t));
    sieve_free(ctx, old_cache, old_cache_floats * sizeof(float));
    x->cache = cache;
    x->cache_floats = total;
    x->cache_layer = layer;
    return (sieve_status)atomic_load(&j.status);
}

/* ---- histograms and the original's answers over the whole validation set --------- */

typedef struct hist_job {
    explorer *x;
    sieve_exp_hist *hists; /* threads x n_tensors */
    atomic_size_t next;
    atomic_int status;
} hist_job;

static void hist_worker(void *arg, size_t begin, size_t end, int thread)
{
    (void)begin;
    (void)end;
    hist_job *j = arg;
    explorer *x = j->x;
    sieve_exec *e = x->execs[thread];
    float *buf = x->scratch[thread];
    sieve_exp_hist *h = j->hists + (size_t)thread * (size_t)x->n_tensors;
    for (;;) {
        if (atomic_load(&j->status) != SIEVE_OK)
            return;
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= x->n_items)
            return;
        sieve_status st = sieve_exec_set_input(e, 0, x->inputs + i * x->input_n, x->input_n);
        if (st == SIEVE_OK)
            st = sieve_exec_run(e);
        for (int t = 0; t < x->n_tensors && st == SIEVE_OK; t++) {
            const sieve_tensor *tt = &x->work->tensors[t];
            if (tt->role == SIEVE_TENSOR_CONSTANT || (tt->role == SIEVE_TENSOR_ACTIVATION &&
                                                      x->producer[t] < 0))
                continue;
            st = sieve_exec_get_tensor(e, t, buf, x->numel[t]);
            if (st == SIEVE_OK)
                sieve_exp_hist_add(&h[t], buf, x->numel[t]);
            if (st == SIEVE_OK && t == x->output) {
                x->orig_pred[i] = (int)argmax(buf, x->classes);
                x->orig_correct[i] = x->orig_pred[i] == x->labels[i];
                float *p = x->orig_probs + i * x->classes;
                if (x->output_is_softmax)
                    memcpy(p, buf, x->classes * sizeof(float));
                else
                    sieve_softmax(buf, x->classes, 1.0f, p);
            }
        }
        if (st != SIEVE_OK) {
            int expected = SIEVE_OK;
            atomic_compare_exchange_strong(&j->status, &expected, (int)st);
            return;
        }
    }
}

/* Non-negative by construction: what a negative input cannot reach at run
 * time either (an observed minimum alone would not prove it). */
static void structural_non_negative(const sieve_model *w, bool *nonneg)
{
    for (int l = 0; l < w->n_layers; l++) {
        const sieve_layer *L = &w->layers[l];
        bool data_nonneg = true;
        int n_data = 0;
        for (int k = 0; k < L->n_inputs; k++) {
            int t = L->inputs[k];
            if (t < 0 || w->tensors[t].role == SIEVE_TENSOR_CONSTANT)
                continue;
            n_data++;
            data_nonneg &= nonneg[t];
        }
        bool out;
        switch (L->op) {
        case SIEVE_OP_RELU:
        case SIEVE_OP_SOFTMAX:
            out = true;
            break;
        case SIEVE_OP_CONV:
            out = L->attrs.conv.relu;
            break;
        case SIEVE_OP_GEMM:
            out = L->attrs.gemm.relu;
            break;
        case SIEVE_OP_MAXPOOL:
        case SIEVE_OP_AVGPOOL:
        case SIEVE_OP_GLOBALAVGPOOL:
        case SIEVE_OP_GLOBALMAXPOOL:
        case SIEVE_OP_LRN: /* x / (k + a*sum x^2)^b keeps the sign */
        case SIEVE_OP_CONCAT:
        case SIEVE_OP_RESHAPE:
        case SIEVE_OP_FLATTEN:
            out = n_data > 0 && data_nonneg;
            break;
        case SIEVE_OP_ADD:
            out = L->attrs.add.relu || (n_data == L->n_inputs && data_nonneg);
            break;
        default:
            out = false;
            break;
        }
        nonneg[L->outputs[0]] = out;
    }
}

/* ---- per-tensor search ---------------------------------------------------------------- */

/* Evaluates format `fmt` for tensor `xt` on the subset (cache at its first layer). */
static sieve_status eval_candidate(explorer *x, sieve_explore_tensor *xt, const float *orig_values,
                                   float *rounded, const sieve_format *fmt, double *normalized,
                                   double *agreement, double *kl, bool *complete, bool *pass)
{
    sieve_status st;
    size_t div_n = (size_t)x->threads * DIV_STRIDE;
    double *div = sieve_calloc(x->ctx, div_n, sizeof(double));
    if (!div)
        return SIEVE_ERR_NOMEM;
    eval_job j = {.x = x, .first_layer = xt->first_layer, .from_cache = true, .quant_tensor = -1,
                  .n = x->n_sub, .items = x->sub, .divergence = div};
    j.allowed_misses = LONG_MAX;
    j.sweep_need = SIEVE_MAX(x->opt->sweep_min * (double)x->orig_sub_correct, 1e-9);
    j.sweep_z = x->opt->sweep_z;
    j.orig_wrong = x->n_sub - x->orig_sub_correct;
    float *weights = NULL;
    if (xt->role == SIEVE_TENSOR_CONSTANT) {
        weights = (float *)x->work->tensors[xt->tensor].owned;
        memcpy(rounded, orig_values, xt->numel * sizeof(float));
        st = sieve_cfloat_quantize(fmt, rounded, xt->numel, NULL);
        if (st != SIEVE_OK) {
            sieve_free(x->ctx, div, div_n * sizeof(double));
            return sieve_fail(x->ctx, st, "explore: weight '%s' does not fit its candidate format",
                              xt->name);
        }
        memcpy(weights, rounded, xt->numel * sizeof(float));
    } else {
        j.quant_tensor = xt->tensor;
        j.quant_fmt = *fmt;
    }
    size_t correct = 0;
    st = run_job(x, &j, &correct, complete);
    if (weights)
        memcpy(weights, orig_values, xt->numel * sizeof(float));
    x->evaluations++;
    *normalized = x->orig_sub_correct ? (double)correct / (double)x->orig_sub_correct : 1.0;
    size_t discordant = atomic_load(&j.lost) + atomic_load(&j.gained);
    *pass = *complete && sieve_explore_sweep_passes(correct, x->orig_sub_correct, discordant,
                                                    x->opt->sweep_min, j.sweep_z);
    size_t done = atomic_load(&j.done);
    *agreement = done ? 1.0 - (double)atomic_load(&j.flips) / (double)done : 0;
    double sum = 0;
    for (int t = 0; t < x->threads; t++)
        sum += div[(size_t)t * DIV_STRIDE];
    *kl = done ? sum / (double)done : 0;
    sieve_free(x->ctx, div, div_n * sizeof(double));
    return st;
}

static sieve_status push_candidate(explorer *x, sieve_explore_tensor *xt, const sieve_format *fmt,
                                   double coverage, double acc, double agreement, double kl,
                                   bool complete)
{
    if (xt->n_candidates == xt->candidate_slots) {
        int grown = xt->candidate_slots ? 2 * xt->candidate_slots : 16;
        sieve_explore_candidate *c =
            sieve_realloc(x->ctx, xt->candidates, (size_t)xt->candidate_slots * sizeof(*c),
                          (size_t)grown * sizeof(*c));
        if (!c)
            return SIEVE_ERR_NOMEM;
        xt->candidates = c;
        xt->candidate_slots = grown;
    }
    sieve_explore_candidate *c = &xt->candidates[xt->n_candidates++];
    c->format = *fmt;
    c->coverage = coverage;
    c->accuracy = acc;
    c->agreement = agreement;
    c->divergence = kl;
    c->complete = complete;
    return SIEVE_OK;
}

static sieve_status search_tensor(explorer *x, sieve_explore_tensor *xt, float *orig_values,
                                  float *rounded)
{
    const sieve_explore_options *o = x->opt;
    sieve_exp_hist_range(&xt->hist, &xt->exp_lo, &xt->exp_hi);
    xt->e_max = sieve_exp_hist_cover(&xt->hist);
    xt->bias_max = sieve_exp_hist_best_bias(&xt->hist, xt->e_max, o->m_bits_max, NULL);
    int e_last = xt->e_max >= 2 ? 2 : xt->e_max;
    for (int e = xt->e_max; e >= e_last; e--) {
        double coverage;
        sieve_exp_hist_best_bias(&xt->hist, e, o->m_bits_max, &coverage);
        if (coverage < o->coverage_min && e != xt->e_max)
            break;
        bool any_pass = false;
        for (int m = o->m_bits_max; m >= 0; m--) {
            int bias = sieve_exp_hist_best_bias(&xt->hist, e, m, &coverage);
            sieve_format fmt = sieve_format_cfloat(e, m, bias, !xt->non_negative);
            if (sieve_format_validate(&fmt, NULL, 0) != SIEVE_OK)
                continue;
            double acc = 0, agreement = 0, kl = 0;
            bool complete = false, pass = false;
            sieve_status st = eval_candidate(x, xt, orig_values, rounded, &fmt, &acc, &agreement,
                                             &kl, &complete, &pass);
            if (st == SIEVE_OK)
                st = push_candidate(x, xt, &fmt, coverage, acc, agreement, kl, complete);
            if (st != SIEVE_OK)
                return st;
            if (!pass)
                break;
            any_pass = true;
        }
        /* fewer exponent bits only lose coverage: if even the widest mantissa
         * fails at this e, narrower exponents are not tried */
        if (!any_pass)
            break;
    }
    return SIEVE_OK;
}

/* Per-variant first choice of a tensor from its candidates. */
static void choose_formats(const sieve_explore_options *o, sieve_explore_tensor *xt)
{
    const double eps = 1e-12;
    int exact = -1;
    for (int i = 0; i < xt->n_candidates; i++) {
        const sieve_explore_candidate *c = &xt->candidates[i];
        if (!c->complete)
            continue;
        if (exact < 0) {
            exact = i;
            continue;
        }
        const sieve_explore_candidate *b = &xt->candidates[exact];
        unsigned wc = sieve_format_width(&c->format), wb = sieve_format_width(&b->format);
        if (c->divergence < b->divergence - eps ||
            (fabs(c->divergence - b->divergence) <= eps &&
             (c->accuracy > b->accuracy + eps ||
              (fabs(c->accuracy - b->accuracy) <= eps && wc > wb))))
            exact = i;
    }
    sieve_format fp32 = sieve_format_fp32();
    sieve_format exact_fmt = exact >= 0 ? xt->candidates[exact].format : fp32;
    double exact_acc = exact >= 0 ? xt->candidates[exact].accuracy : 1.0;
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        xt->choice[v] = exact_fmt;
        xt->choice_accuracy[v] = exact_acc;
        xt->backed_off[v] = 0;
        if (v == SIEVE_VARIANT_EXACT)
            continue;
        int best = -1;
        for (int i = 0; i < xt->n_candidates; i++) {
            const sieve_explore_candidate *c = &xt->candidates[i];
            if (!c->complete || c->accuracy + eps < o->variant_min[v])
                continue;
            if (best < 0) {
                best = i;
                continue;
            }
            const sieve_explore_candidate *b = &xt->candidates[best];
            unsigned wc = sieve_format_width(&c->format), wb = sieve_format_width(&b->format);
            if (wc < wb || (wc == wb && (c->accuracy > b->accuracy + eps ||
                                         (fabs(c->accuracy - b->accuracy) <= eps &&
                                          c->agreement > b->agreement + eps))))
                best = i;
        }
        if (best >= 0) {
            xt->choice[v] = xt->candidates[best].format;
            xt->choice_accuracy[v] = xt->candidates[best].accuracy;
        }
    }
}

static const sieve_explore_candidate *find_candidate(const sieve_explore_tensor *xt,
                                                     const sieve_format *fmt)
{
    for (int i = 0; i < xt->n_candidates; i++)
        if (memcmp(&xt->candidates[i].format, fmt, sizeof(*fmt)) == 0)
            return &xt->candidates[i];
    return NULL;
}

/* How much a tensor's format alone disturbs the original: the fraction of
 * subset items whose top-1 answer changes (0 for fp32). */
static double format_loss(const sieve_explore_tensor *xt, const sieve_format *fmt)
{
    const sieve_explore_candidate *c = find_candidate(xt, fmt);
    return fmt->kind == SIEVE_FORMAT_FP32 || !c ? 0 : 1 - c->agreement;
}

/* One back-off step: the narrowest explored format that disturbs the
 * original less than the current one (ties: the least disturbing), else
 * fp32. Bits go where they buy the most agreement. */
static sieve_format backoff_step(const sieve_explore_tensor *xt, const sieve_format *now)
{
    const double eps = 1e-12;
    double now_loss = format_loss(xt, now);
    const sieve_explore_candidate *next = NULL;
    for (int i = 0; i < xt->n_candidates; i++) {
        const sieve_explore_candidate *c = &xt->candidates[i];
        if (!c->complete || 1 - c->agreement >= now_loss - eps)
            continue;
        unsigned wc = sieve_format_width(&c->format);
        unsigned wn = next ? sieve_format_width(&next->format) : 0;
        if (!next || wc < wn || (wc == wn && c->agreement > next->agreement + eps))
            next = c;
    }
    return next ? next->format : sieve_format_fp32();
}

/* ---- variants ------------------------------------------------------------------ */

static sieve_status build_variant(explorer *x, const sieve_model *original,
                                  const sieve_explore_result *r, int v, sieve_model **out)
{
    sieve_status st = sieve_model_clone(original, out);
    for (int i = 0; i < r->n_tensors && st == SIEVE_OK; i++)
        st = sieve_model_set_tensor_format(*out, r->tensors[i].tensor, &r->tensors[i].choice[v]);
    if (st != SIEVE_OK) {
        sieve_model_free(*out);
        *out = NULL;
    }
    (void)x;
    return st;
}

static void variant_sizes(explorer *x, const sieve_explore_result *r, sieve_explore_variant *var,
                          int v)
{
    double wbits = 0, wn = 0, abits = 0, an = 0;
    var->weight_bytes = var->weight_bytes_fp32 = 0;
    var->activation_bytes = var->activation_bytes_fp32 = 0;
    for (int t = 0; t < x->n_tensors; t++) {
        const sieve_tensor *tt = &x->work->tensors[t];
        if (tt->role == SIEVE_TENSOR_ACTIVATION && x->producer[t] < 0)
            continue;
        sieve_format fmt = sieve_format_fp32();
        for (int i = 0; i < r->n_tensors; i++)
            if (r->tensors[i].tensor == t)
                fmt = r->tensors[i].choice[v];
        double n = (double)x->numel[t], w = sieve_format_width(&fmt);
        uint64_t bytes = (uint64_t)ceil(n * w / 8), bytes32 = (uint64_t)x->numel[t] * 4;
        if (tt->role == SIEVE_TENSOR_CONSTANT) {
            wbits += n * w;
            wn += n;
            var->weight_bytes += bytes;
            var->weight_bytes_fp32 += bytes32;
        } else {
            abits += n * w;
            an += n;
            var->activation_bytes += bytes;
            var->activation_bytes_fp32 += bytes32;
        }
    }
    var->weight_bits = wn > 0 ? wbits / wn : 32;
    var->activation_bits = an > 0 ? abits / an : 32;
}

/* Runs `model` on items [first, first + count) of x->inputs, recording
 * logits and correctness of item first + k at k (when not NULL). Stops early
 * once more than `allowed` items are wrong (LONG_MAX: never). `discordant`
 * (may be NULL): items where exactly one of model and original is right. */
static sieve_status eval_model(explorer *x, sieve_model *model, size_t first, size_t count,
                               long allowed, float *logits, uint8_t *correct, int *pred,
                               size_t *n_correct, bool *complete, size_t *discordant)
{
    sieve_status st = make_execs(x, model);
    if (st != SIEVE_OK)
        return st;
    eval_job j = {.x = x, .first_layer = 0, .from_cache = false, .quant_tensor = -1,
                  .n = count, .first = first, .allowed_misses = allowed, .logits = logits,
                  .correct = correct, .pred = pred, .count_discordant = discordant != NULL};
    st = run_job(x, &j, n_correct, complete);
    if (discordant)
        *discordant = atomic_load(&j.discordant);
    x->evaluations++;
    return st;
}

/* ---- combination: formats priced against how far they move the outputs ----
 *
 * Losses of separate tensors add up roughly linearly, so a variant's formats
 * are chosen together by minimizing, over all explored tensors,
 *
 *     sum_t share_t * width(f_t)  +  price * sum_t kl_t(f_t)
 *
 * where share_t is the tensor's fraction of the elements of its kind (the
 * average bits per weight and per activation weigh the same) and kl_t the
 * mean KL divergence from the original's softmax output to the one with f_t
 * alone, over the sweep subset: unlike the answers a format changes (none,
 * for most formats, on a few hundred items) it resolves small losses, and
 * small losses of many tensors are what add up. The sum splits per tensor,
 * so each price gives one combination directly. Price 0 gives every tensor
 * its narrowest format that passed the sweep; the highest price the formats
 * (or fp32) moving the outputs least. The least price whose combination
 * meets the variant's threshold on the whole selection half is found by
 * bisection on log(price): bits go where they buy the most fidelity,
 * instead of widening one tensor at a time.
 *
 * Two things decide whether a combination is good enough. Its accuracy on
 * the selection half: at 100 % a face-value test on 5000 items is a coin
 * flip for every near-lossless combination, which made the bisection land
 * where the noise let it (whole models kept near fp32, others lucky-lossy),
 * so by default (select_z = -1.645) a combination fails only when it is
 * significantly below its threshold (one-sided 95 %, paired). And what its
 * answers cost the detector: a variant that changes many answers both ways
 * needs much replay to restore the original's accuracy with a margin even
 * when the changes cancel in its accuracy, so a detector calibrated on the
 * same items may replay at most replay_max of them (accurate 10 %,
 * approximate 20 %). The least price meeting both on the selection half is
 * then confirmed on the calibration half (see price_variant). */
#define PRICE_LO 1e-1
#define PRICE_HI 1e8
#define PRICE_STEPS 10

sieve_format sieve_explore_priced_format(const sieve_explore_tensor *xt, double share, double price)
{
    const double eps = 1e-12;
    sieve_format best = sieve_format_fp32();
    double best_cost = share * 32, best_loss = 0;
    for (int i = 0; i < xt->n_candidates; i++) {
        const sieve_explore_candidate *c = &xt->candidates[i];
        if (!c->complete)
            continue;
        unsigned w = sieve_format_width(&c->format);
        double loss = c->divergence, cost = share * w + price * loss;
        if (cost < best_cost - eps ||
            (fabs(cost - best_cost) <= eps &&
             (loss < best_loss - eps ||
              (fabs(loss - best_loss) <= eps && w < sieve_format_width(&best))))) {
            best = c->format;
            best_cost = cost;
            best_loss = loss;
        }
    }
    return best;
}

/* Whether every value of `from` (through ReLU if `relu`) is one of `to`'s:
 * checked code by code (formats of up to 16 bits; wider ones are not
 * carried). */
int sieve_explore_format_carries(const sieve_format *from, const sieve_format *to, int relu)
{
    if (to->kind == SIEVE_FORMAT_FP32)
        return true;
    unsigned w = sieve_format_width(from);
    if (from->kind == SIEVE_FORMAT_FP32 || w > 16)
        return false;
    for (uint32_t code = 0; code < (1u << w); code++) {
        float v = sieve_cfloat_decode_ref(from, code);
        if (relu && !(v > 0))
            v = 0;
        uint32_t back;
        if (sieve_cfloat_encode_ref(to, v, &back) != SIEVE_OK ||
            sieve_cfloat_decode_ref(to, back) != v)
            return false;
    }
    return true;
}

/* Max pool, ReLU, flatten, reshape and concat only move values: the output
 * holds values of its inputs (or zero), so a format holding every input's
 * values stores it with no loss beyond the inputs'. Where one of the input
 * formats (or its unsigned twin, for a non-negative output) is such a
 * format and no wider than the output's own choice, the output takes it:
 * bits saved for nothing (LeNet-5's pools kept a mantissa bit more than the
 * convolutions feeding them). Layers in order, so chains (pool, then
 * flatten) carry through. `carried` (may be NULL) marks the tensors taken. */
/* Layer L's input tensors that carry data (not constants), as indices in
 * the result's tensors: -1 for one that was not explored. */
static int data_inputs(const explorer *x, const sieve_layer *L, int *idx)
{
    int n = 0;
    for (int k = 0; k < L->n_inputs; k++) {
        int t = L->inputs[k];
        if (t >= 0 && x->work->tensors[t].role != SIEVE_TENSOR_CONSTANT)
            idx[n++] = x->explored_at[t];
    }
    return n;
}

static void carry_formats(const explorer *x, const sieve_explore_result *r, sieve_format *into,
                          int *carried)
{
    const sieve_model *w = x->work;
    for (int i = 0; carried && i < r->n_tensors; i++)
        carried[i] = 0;
    for (int l = 0; l < w->n_layers; l++) {
        const sieve_layer *L = &w->layers[l];
        bool relu = L->op == SIEVE_OP_RELU;
        if (!(relu || L->op == SIEVE_OP_MAXPOOL || L->op == SIEVE_OP_GLOBALMAXPOOL ||
              L->op == SIEVE_OP_FLATTEN || L->op == SIEVE_OP_RESHAPE || L->op == SIEVE_OP_CONCAT) ||
            L->n_outputs != 1)
            continue;
        int out = x->explored_at[L->outputs[0]];
        if (out < 0)
            continue;
        const sieve_explore_tensor *xo = &r->tensors[out];
        int in[SIEVE_MAX_LAYER_INPUTS];
        int n_in = data_inputs(x, L, in);
        sieve_format best = into[out];
        bool found = false;
        for (int k = 0; k < n_in; k++) {
            if (in[k] < 0 || into[in[k]].kind == SIEVE_FORMAT_FP32)
                continue;
            sieve_format cand[2] = {into[in[k]], into[in[k]]};
            int n_cand = 1;
            if (xo->non_negative && cand[0].is_signed) {
                cand[0].is_signed = 0; /* the unsigned twin first: a bit narrower */
                n_cand = 2;
            }
            for (int c = 0; c < n_cand; c++) {
                unsigned wc = sieve_format_width(&cand[c]), wb = sieve_format_width(&best);
                if (wc > wb || (found && wc == wb))
                    continue;
                bool holds_all = true;
                for (int j = 0; j < n_in && holds_all; j++)
                    holds_all = in[j] >= 0 &&
                                sieve_explore_format_carries(&into[in[j]], &cand[c], relu);
                if (holds_all) {
                    best = cand[c];
                    found = true;
                }
            }
        }
        if (found) {
            into[out] = best;
            if (carried)
                carried[out] = 1;
        }
    }
}

/* Every tensor's format at `price` (const_total: elements of weights, of
 * activations), value-moving layers' outputs carried from their inputs. */
static void apply_price(const explorer *x, const sieve_explore_result *r, double price,
                        const double *const_total, sieve_format *into)
{
    for (int i = 0; i < r->n_tensors; i++) {
        const sieve_explore_tensor *xt = &r->tensors[i];
        double total = const_total[xt->role == SIEVE_TENSOR_CONSTANT ? 0 : 1];
        double share = total > 0 ? (double)xt->numel / total : 0;
        into[i] = sieve_explore_priced_format(xt, share, price);
    }
    carry_formats(x, r, into, NULL);
}

static bool same_formats(const sieve_format *a, const sieve_format *b, int n)
{
    return memcmp(a, b, (size_t)n * sizeof(*a)) == 0;
}

/* Whether `n_correct` right answers on the selection half meet `min` of the
 * original's with z standard errors of the paired difference to spare
 * (`discordant`: items where exactly one of the two is right). */
static bool meets(const explorer *x, size_t n_correct, size_t discordant, double min, double z)
{
    double need = min * (double)x->orig_sel_correct;
    return (double)n_correct - z * sqrt((double)discordant) >= need - 1e-9;
}

static sieve_status replay_needed(explorer *x, float *logits, const uint8_t *correct,
                                  const uint8_t *orig_correct, size_t n, double *replay);

/* What a combination is held to on the selection half of the validation split. */
typedef struct variant_goal {
    long allowed;      /* an evaluation stops once it has more misses */
    double min;        /* normalized accuracy ... */
    double z;          /* ... with z standard errors to spare (negative: a tolerance) */
    double replay_max; /* of a detector calibrated on the same items (>= 1: no limit) */
    float *logits;     /* scratch: selection half x classes */
    uint8_t *correct;  /* scratch: selection half */
} variant_goal;

/* Misses an evaluation may have before it cannot meet a test with z
 * standard errors (negative: a tolerance) at `allowed` misses at face value. */
static long tolerant_allowed(const explorer *x, long allowed, double z)
{
    if (z >= 0 || allowed < 0)
        return allowed;
    return allowed + (long)ceil(-z * sqrt((double)x->n_sel));
}

/* Runs variant v with the formats `f` (left in r->tensors[].choice[v]) on
 * items [first, first + count), as eval_model does. */
static sieve_status eval_formats(explorer *x, const sieve_model *original, sieve_explore_result *r,
                                 int v, const sieve_format *f, size_t first, size_t count,
                                 long allowed, float *logits, uint8_t *correct, size_t *n_correct,
                                 bool *complete, size_t *discordant)
{
    for (int i = 0; i < r->n_tensors; i++)
        r->tensors[i].choice[v] = f[i];
    sieve_model *model = NULL;
    sieve_status st = build_variant(x, original, r, v, &model);
    if (st != SIEVE_OK)
        return st;
    st = eval_model(x, model, first, count, allowed, logits, correct, NULL, n_correct, complete,
                    discordant);
    free_execs(x); /* they run `model`, and must go first */
    sieve_model_free(model);
    return st;
}

/* Whether the formats `f` of variant v meet goal `g` (accuracy with z
 * standard errors to spare); *replay receives the replay fraction (-1: not
 * measured). */
static sieve_status formats_pass(explorer *x, const sieve_model *original, sieve_explore_result *r,
                                 int v, const sieve_format *f, const variant_goal *g,
                                 bool *pass, double *replay)
{
    size_t n_correct = 0, discordant = 0;
    bool complete = false, limit = g->replay_max < 1;
    sieve_status st = eval_formats(x, original, r, v, f, 0, x->n_sel, g->allowed,
                                   limit ? g->logits : NULL, limit ? g->correct : NULL, &n_correct,
                                   &complete, &discordant);
    *pass = st == SIEVE_OK && complete && meets(x, n_correct, discordant, g->min, g->z);
    *replay = -1;
    if (st == SIEVE_OK && *pass && limit) {
        st = replay_needed(x, g->logits, g->correct, x->orig_correct, x->n_sel, replay);
        *pass = st == SIEVE_OK && *replay <= g->replay_max + 1e-12;
    }
    return st;
}

/* The replay a detector calibrated on the calibration half needs for the
 * formats `f` of variant v. */
static sieve_status confirm_replay(explorer *x, const sieve_model *original,
                                   sieve_explore_result *r, int v, const sieve_format *f,
                                   const variant_goal *g, double *replay)
{
    size_t n = x->n_items - x->n_sel, n_correct = 0;
    float *logits = g->logits + x->n_sel * x->classes;
    uint8_t *correct = g->correct + x->n_sel;
    bool complete = false;
    sieve_status st = eval_formats(x, original, r, v, f, x->n_sel, n, LONG_MAX, logits, correct,
                                   &n_correct, &complete, NULL);
    if (st == SIEVE_OK)
        st = replay_needed(x, logits, correct, x->orig_correct + x->n_sel, n, replay);
    return st;
}

/* ---- refinement: one tensor one format narrower at a time ----
 *
 * One price for all tensors spends bits where the per-tensor divergences
 * say, but those are measured one tensor at a time and add up only
 * roughly. From the confirmed combination, narrow_variant therefore tries
 * each tensor one step narrower: the widest of its explored formats that
 * is narrower than its format now (ties: the least divergence), with the
 * formats carried from it following. Activations come first, then weights,
 * each largest first; passes repeat over the tensors whose last step was
 * kept until a pass keeps none (a tensor whose step failed is not tried
 * again: narrowing others only adds to the loss it would meet). A step is
 * kept when the combination still meets the whole goal on the selection
 * half and a detector calibrated on the calibration half stays within the
 * replay limit: on the selection half alone, lucky steps pile up (LeNet-5:
 * five steps kept there, 11.4 % replay on the other half against a 10 %
 * cap). Tensors holding less than NARROW_MIN_SHARE of their kind's
 * elements (biases, logits) are not tried: their bits do not count, and
 * each step kept on them is one more draw of luck on the calibration half
 * (on LeNet-5, steps on biases moved its replay between 6.6 and 10 %). At
 * most `tries` steps are evaluated. */
#define NARROW_MIN_SHARE 0.01
static const sieve_format *narrower_format(const sieve_explore_tensor *xt, const sieve_format *now)
{
    const sieve_explore_candidate *best = NULL;
    unsigned w_now = sieve_format_width(now);
    for (int i = 0; i < xt->n_candidates; i++) {
        const sieve_explore_candidate *c = &xt->candidates[i];
        unsigned w = sieve_format_width(&c->format);
        if (!c->complete || w >= w_now)
            continue;
        unsigned wb = best ? sieve_format_width(&best->format) : 0;
        if (!best || w > wb || (w == wb && c->divergence < best->divergence))
            best = c;
    }
    return best ? &best->format : NULL;
}

/* Narrowing order: activations before weights, each largest first. */
static bool narrow_before(const sieve_explore_tensor *a, const sieve_explore_tensor *b)
{
    bool wa = a->role == SIEVE_TENSOR_CONSTANT, wb = b->role == SIEVE_TENSOR_CONSTANT;
    return wa != wb ? !wa : a->numel > b->numel;
}

static sieve_status narrow_variant(explorer *x, const sieve_model *original,
                                   sieve_explore_result *r, int v, const variant_goal *g,
                                   sieve_format *f, int tries)
{
    int n = r->n_tensors;
    size_t cap = (size_t)(n ? n : 1), bytes = cap * sizeof(sieve_format);
    sieve_format *trial = sieve_calloc(x->ctx, 1, bytes);
    int *order = sieve_calloc(x->ctx, cap, sizeof(int));
    uint8_t *settled = sieve_calloc(x->ctx, cap, 1);
    sieve_status st = SIEVE_OK;
    if (!trial || !order || !settled) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    double total[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        order[i] = i;
        total[r->tensors[i].role == SIEVE_TENSOR_CONSTANT] += (double)r->tensors[i].numel;
    }
    for (int i = 0; i < n; i++) /* too small to matter: only another draw of luck */
        settled[i] = (double)r->tensors[i].numel <
                     NARROW_MIN_SHARE * total[r->tensors[i].role == SIEVE_TENSOR_CONSTANT];
    for (int a = 1; a < n; a++) /* insertion sort */
        for (int b = a; b > 0 && narrow_before(&r->tensors[order[b]], &r->tensors[order[b - 1]]);
             b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    int kept = 0, tried = 0, passes = 0;
    for (bool again = true; again && tried < tries;) {
        again = false;
        passes++;
        for (int k = 0; k < n && tried < tries; k++) {
            int t = order[k];
            const sieve_explore_tensor *xt = &r->tensors[t];
            const sieve_format *next = settled[t] ? NULL : narrower_format(xt, &f[t]);
            if (!next) {
                settled[t] = 1;
                continue;
            }
            memcpy(trial, f, bytes);
            trial[t] = *next;
            carry_formats(x, r, trial, NULL);
            if (same_formats(trial, f, n)) { /* carried back to where it was */
                settled[t] = 1;
                continue;
            }
            bool pass = false;
            double replay = -1, cal_replay = -1;
            if ((st = formats_pass(x, original, r, v, trial, g, &pass, &replay)) != SIEVE_OK)
                goto done;
            if (pass && g->replay_max < 1) {
                if ((st = confirm_replay(x, original, r, v, trial, g, &cal_replay)) != SIEVE_OK)
                    goto done;
                pass = cal_replay <= g->replay_max + 1e-12;
            }
            tried++;
            char was[32], now[32], why[64] = "does not meet the goal";
            if (cal_replay >= 0)
                snprintf(why, sizeof(why), "%s (calibration half replays %.2f%%)",
                         pass ? "kept" : "over the replay limit", 100 * cal_replay);
            report(x, 0.75 + 0.2 * v / 3.0, "%s: pass %d: narrow '%s' %s -> %s: %s",
                   variant_names[v], passes, xt->name, sieve_format_str(&f[t], was, sizeof(was)),
                   sieve_format_str(next, now, sizeof(now)), pass && cal_replay < 0 ? "kept" : why);
            if (pass) {
                memcpy(f, trial, bytes);
                kept++;
                again = true;
            } else {
                settled[t] = 1;
            }
        }
    }
    report(x, 0.75 + 0.2 * v / 3.0, "%s: %d of %d narrower formats kept in %d passes",
           variant_names[v], kept, tried, passes);
done:
    sieve_free(x->ctx, trial, bytes);
    sieve_free(x->ctx, order, cap * sizeof(int));
    sieve_free(x->ctx, settled, cap);
    return st;
}

/* Leaves in r->tensors[].choice[v] the combination of the least price that
 * meets the goal (or that of the highest price when none does: the back-off
 * loop of make_variant takes over from there).
 *
 * The least passing price of several tried is likely one whose luck on the
 * selection half hides a loss (on LeNet-5 a combination whose detector
 * replayed 5 % of the selection half needed 19 % on the calibration half).
 * With a replay limit, the price is therefore raised from there by factors
 * of CONFIRM_STEP until a detector calibrated on the calibration half stays
 * within the limit: one more test per step up, on the items the detector's
 * own calibration then uses (the test split shows what that costs). */
#define CONFIRM_STEP 2.0
static sieve_status price_variant(explorer *x, const sieve_model *original,
                                  sieve_explore_result *r, int v, const variant_goal *g)
{
    int n = r->n_tensors;
    double total[2] = {0, 0};
    for (int i = 0; i < n; i++)
        total[r->tensors[i].role == SIEVE_TENSOR_CONSTANT ? 0 : 1] += (double)r->tensors[i].numel;
    size_t bytes = (size_t)(n ? n : 1) * sizeof(sieve_format);
    /* lo: the combination of the highest price that failed; hi: of the
     * least that passed; mid: the one under test */
    sieve_format *lo = sieve_calloc(x->ctx, 1, bytes), *hi = sieve_calloc(x->ctx, 1, bytes),
                 *mid = sieve_calloc(x->ctx, 1, bytes);
    sieve_status st = SIEVE_OK;
    if (!lo || !hi || !mid) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    bool pass = false;
    double plo = PRICE_LO, phi = 0, replay = -1;
    int tried = 1;
    apply_price(x, r, phi, total, hi);
    if ((st = formats_pass(x, original, r, v, hi, g, &pass, &replay)) != SIEVE_OK)
        goto done;
    if (!pass) {
        memcpy(lo, hi, bytes);
        phi = PRICE_HI;
        apply_price(x, r, phi, total, hi);
        if ((st = formats_pass(x, original, r, v, hi, g, &pass, &replay)) != SIEVE_OK)
            goto done;
        tried++;
        if (!pass) { /* leave the highest price's formats to the back-off loop */
            for (int i = 0; i < n; i++)
                r->tensors[i].choice[v] = hi[i];
            r->variants[v].price = phi;
            goto done;
        }
    }
    for (int step = 0; step < PRICE_STEPS && phi > 0; step++) {
        double p = sqrt(plo * phi);
        apply_price(x, r, p, total, mid);
        if (same_formats(mid, hi, n)) {
            phi = p;
            continue;
        }
        if (same_formats(mid, lo, n)) {
            plo = p;
            continue;
        }
        if ((st = formats_pass(x, original, r, v, mid, g, &pass, &replay)) != SIEVE_OK)
            goto done;
        tried++;
        char replay_text[48] = "";
        if (replay >= 0)
            snprintf(replay_text, sizeof(replay_text), " (detector replays %.2f%%)",
                     100 * replay);
        report(x, 0.75 + 0.2 * v / 3.0, "%s: divergence price %.3g %s%s", variant_names[v], p,
               pass ? "meets the goal" : "does not", replay_text);
        if (pass) {
            phi = p;
            memcpy(hi, mid, bytes);
        } else {
            plo = p;
            memcpy(lo, mid, bytes);
        }
    }
    if (g->replay_max < 1) {
        bool ok = false;
        for (double p = phi; p <= PRICE_HI * (1 + 1e-9);
             p = SIEVE_MAX(p, PRICE_LO) * CONFIRM_STEP) {
            apply_price(x, r, p, total, mid);
            if (p > phi && same_formats(mid, hi, n))
                continue;
            if (p > phi) {
                phi = p;
                memcpy(hi, mid, bytes);
            }
            if ((st = confirm_replay(x, original, r, v, hi, g, &replay)) != SIEVE_OK)
                goto done;
            tried++;
            ok = replay <= g->replay_max + 1e-12;
            report(x, 0.75 + 0.2 * v / 3.0,
                   "%s: price %.3g on the calibration half: detector replays %.2f%% (%s)",
                   variant_names[v], phi, 100 * replay, ok ? "confirmed" : "over the limit");
            if (ok)
                break;
        }
        if (!ok) { /* none confirmed: the most conservative combination */
            phi = PRICE_HI;
            apply_price(x, r, phi, total, hi);
        }
    }
    report(x, 0.75 + 0.2 * v / 3.0, "%s: price %.3g chosen (%d combinations tried)",
           variant_names[v], phi, tried);
    if (x->opt->narrow_tries > 0 && phi < PRICE_HI &&
        (st = narrow_variant(x, original, r, v, g, hi, x->opt->narrow_tries)) != SIEVE_OK)
        goto done;
    for (int i = 0; i < n; i++)
        r->tensors[i].choice[v] = hi[i];
    r->variants[v].price = phi;
done:
    sieve_free(x->ctx, lo, bytes);
    sieve_free(x->ctx, hi, bytes);
    sieve_free(x->ctx, mid, bytes);
    return st;
}

/* Logits -> per-item scores of one kind at temperature T. */
static void compute_scores(explorer *x, const float *logits, size_t n, sieve_score_kind kind,
                           float temp, float *scores)
{
    float *probs = x->scratch[0];
    for (size_t i = 0; i < n; i++) {
        sieve_softmax(logits + i * x->classes, x->classes, temp, probs);
        scores[i] = sieve_confidence(kind, probs, x->classes);
    }
}

/* Mean negative log-likelihood of the labels at temperature T. */
/* AUC of one score kind at temperature `temp` separating the variant's
 * correct outputs from its correctable errors; `scores` receives the scores,
 * high/low/sort_scratch are n-float scratch. */
static double score_auc(explorer *x, const float *logits, const uint8_t *correct,
                        const uint8_t *orig_correct, size_t n, sieve_score_kind kind, float temp,
                        float *scores, float *high, float *low, float *sort_scratch)
{
    compute_scores(x, logits, n, kind, temp, scores);
    size_t nh = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        if (correct[i])
            high[nh++] = scores[i];
        else if (orig_correct[i])
            low[nl++] = scores[i];
    }
    return sieve_detector_auc(high, nh, low, nl, sort_scratch);
}

/* Probabilities (a graph ending in softmax) back to logits, in place. */
static void outputs_to_logits(const explorer *x, float *out, size_t n)
{
    if (x->output_is_softmax)
        for (size_t i = 0; i < n * x->classes; i++)
            out[i] = logf(fmaxf(out[i], 1e-30f));
}

/* The fraction of n items a detector calibrated on them (the score of best
 * AUC at temperature 1, the target and margin of the options) replays.
 * `logits` holds the variant's outputs (rewritten to logits in place). */
static sieve_status replay_needed(explorer *x, float *logits, const uint8_t *correct,
                                  const uint8_t *orig_correct, size_t n, double *replay)
{
    sieve_context *ctx = x->ctx;
    size_t cap = n ? n : 1;
    float *scores = sieve_calloc(ctx, cap, sizeof(float));
    float *best = sieve_calloc(ctx, cap, sizeof(float));
    float *high = sieve_calloc(ctx, cap, sizeof(float));
    float *low = sieve_calloc(ctx, cap, sizeof(float));
    float *sort_scratch = sieve_calloc(ctx, cap, sizeof(float));
    size_t *order = sieve_calloc(ctx, cap, sizeof(size_t));
    sieve_calibration_point *points = sieve_calloc(ctx, n + 1, sizeof(*points));
    sieve_status st = SIEVE_OK;
    if (!scores || !best || !high || !low || !sort_scratch || !order || !points) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    outputs_to_logits(x, logits, n);
    double best_auc = -1;
    for (int k = 0; k < SIEVE_SCORE_KIND_COUNT; k++) {
        double auc = score_auc(x, logits, correct, orig_correct, n, (sieve_score_kind)k, 1.0f,
                               scores, high, low, sort_scratch);
        if (auc > best_auc + 1e-12) {
            best_auc = auc;
            memcpy(best, scores, n * sizeof(float));
        }
    }
    size_t n_points = 0, orig = 0;
    for (size_t i = 0; i < n; i++)
        orig += orig_correct[i];
    st = sieve_detector_curve(ctx, best, correct, orig_correct, n, order, points, &n_points);
    if (st != SIEVE_OK)
        goto done;
    double target = n ? x->opt->target * (double)orig / (double)n : 0;
    long chosen = sieve_detector_choose(points, n_points, target, x->opt->target_z);
    *replay = chosen < 0 ? 1.0 : points[chosen].replay_fraction;
done:
    sieve_free(ctx, scores, cap * sizeof(float));
    sieve_free(ctx, best, cap * sizeof(float));
    sieve_free(ctx, high, cap * sizeof(float));
    sieve_free(ctx, low, cap * sizeof(float));
    sieve_free(ctx, sort_scratch, cap * sizeof(float));
    sieve_free(ctx, order, cap * sizeof(size_t));
    sieve_free(ctx, points, (n + 1) * sizeof(*points));
    return st;
}

static double nll(explorer *x, const float *logits, const int *labels, size_t n, double temp)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * x->classes;
        float top = z[argmax(z, x->classes)];
        double s = 0;
        for (size_t c = 0; c < x->classes; c++)
            s += exp(((double)z[c] - top) / temp);
        int y = labels[i];
        if (y >= 0 && (size_t)y < x->classes)
            sum += log(s) - ((double)z[y] - top) / temp;
    }
    return n ? sum / (double)n : 0;
}

/* Temperature minimizing the NLL: golden-section search on log T in [-3, 3]. */
static float fit_temperature(explorer *x, const float *logits, const int *labels, size_t n)
{
    const double g = 0.6180339887498949;
    double a = -3, b = 3;
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = nll(x, logits, labels, n, exp(c)), fd = nll(x, logits, labels, n, exp(d));
    for (int it = 0; it < 40; it++) {
        if (fc < fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = nll(x, logits, labels, n, exp(c));
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = nll(x, logits, labels, n, exp(d));
        }
    }
    return (float)exp((a + b) / 2);
}

/* Calibrates on the items [x->n_sel, x->n_items) (`logits` and `correct`
 * cover all items). */
static sieve_status calibrate(explorer *x, sieve_explore_result *r, sieve_explore_variant *var,
                              const char *data_name, float *logits, const uint8_t *correct)
{
    sieve_context *ctx = x->ctx;
    size_t n = x->n_items - x->n_sel;
    logits += x->n_sel * x->classes;
    correct += x->n_sel;
    const uint8_t *orig_correct = x->orig_correct + x->n_sel;
    const int *labels = x->labels + x->n_sel;
    size_t orig_cal_correct = 0;
    for (size_t i = 0; i < n; i++)
        orig_cal_correct += orig_correct[i];
    double orig_cal_accuracy = n ? (double)orig_cal_correct / (double)n : 0;
    r->n_calibration = n;
    r->original_calibration_accuracy = orig_cal_accuracy;
    sieve_status st = SIEVE_OK;
    outputs_to_logits(x, logits, n);
    float *scores = sieve_calloc(ctx, n ? n : 1, sizeof(float));
    float *best_scores = sieve_calloc(ctx, n ? n : 1, sizeof(float));
    float *high = sieve_calloc(ctx, n ? n : 1, sizeof(float));
    float *low = sieve_calloc(ctx, n ? n : 1, sizeof(float));
    float *sort_scratch = sieve_calloc(ctx, n ? n : 1, sizeof(float));
    size_t *order = sieve_calloc(ctx, n ? n : 1, sizeof(size_t));
    sieve_calibration_point *points = sieve_calloc(ctx, n + 1, sizeof(*points));
    cJSON *root = NULL;
    if (!scores || !best_scores || !high || !low || !sort_scratch || !order || !points) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    memset(var->outcome, 0, sizeof(var->outcome));
    for (size_t i = 0; i < n; i++) {
        int o = correct[i] ? (orig_correct[i] ? 0 : 3) : (orig_correct[i] ? 1 : 2);
        var->outcome[o]++;
    }
    float temps[2] = {1.0f, x->opt->fit_temperature ? fit_temperature(x, logits, labels, n) : 1.0f};
    int n_temps = temps[1] != temps[0] ? 2 : 1;
    double best_auc = -1;
    for (int ti = 0; ti < n_temps; ti++)
        for (int k = 0; k < SIEVE_SCORE_KIND_COUNT; k++) {
            double auc = score_auc(x, logits, correct, orig_correct, n, (sieve_score_kind)k,
                                   temps[ti], scores, high, low, sort_scratch);
            if (auc > best_auc + 1e-12) {
                best_auc = auc;
                var->score = (sieve_score_kind)k;
                var->temperature = temps[ti];
                memcpy(best_scores, scores, n * sizeof(float));
            }
        }
    for (int k = 0; k < SIEVE_SCORE_KIND_COUNT; k++)
        var->auc[k] = score_auc(x, logits, correct, orig_correct, n, (sieve_score_kind)k,
                                var->temperature, scores, high, low, sort_scratch);
    size_t n_points = 0;
    st = sieve_detector_curve(ctx, best_scores, correct, orig_correct, n, order, points,
                              &n_points);
    if (st != SIEVE_OK)
        goto done;
    double target_acc = x->opt->target * orig_cal_accuracy;
    long chosen = sieve_detector_choose(points, n_points, target_acc, x->opt->target_z);
    if (chosen < 0)
        chosen = (long)n_points - 1;
    var->threshold = points[chosen].threshold;
    var->replay_fraction = points[chosen].replay_fraction;
    var->accuracy_with_replay = points[chosen].accuracy;

    root = cJSON_CreateObject();
    cJSON *auc = cJSON_CreateObject(), *outcome = cJSON_CreateObject(), *curve = cJSON_CreateArray();
    if (!root || !auc || !outcome || !curve) {
        cJSON_Delete(auc);
        cJSON_Delete(outcome);
        cJSON_Delete(curve);
        st = sieve_fail(ctx, SIEVE_ERR_NOMEM, "explore: out of memory building calibration");
        goto done;
    }
    cJSON_AddStringToObject(root, "score", sieve_score_kind_name(var->score));
    cJSON_AddNumberToObject(root, "temperature", var->temperature);
    cJSON_AddNumberToObject(root, "threshold", var->threshold);
    cJSON_AddNumberToObject(root, "target", x->opt->target);
    cJSON_AddNumberToObject(root, "target_z", x->opt->target_z);
    cJSON_AddNumberToObject(root, "replay_fraction", var->replay_fraction);
    cJSON_AddNumberToObject(root, "accuracy", var->val_accuracy);
    cJSON_AddNumberToObject(root, "accuracy_with_replay", var->accuracy_with_replay);
    cJSON_AddNumberToObject(root, "original_accuracy", orig_cal_accuracy);
    cJSON_AddNumberToObject(root, "items", (double)n);
    if (data_name)
        cJSON_AddStringToObject(root, "data", data_name);
    for (int k = 0; k < SIEVE_SCORE_KIND_COUNT; k++)
        cJSON_AddNumberToObject(auc, sieve_score_kind_name((sieve_score_kind)k), var->auc[k]);
    cJSON_AddItemToObject(root, "auc", auc);
    static const char *const outcome_names[4] = {"correct", "correctable", "uncorrectable",
                                                 "compensating"};
    for (int k = 0; k < 4; k++)
        cJSON_AddNumberToObject(outcome, outcome_names[k], (double)var->outcome[k]);
    cJSON_AddItemToObject(root, "outcomes", outcome);
    /* the curve, thinned to one point per percent of replay plus the chosen one:
     * [threshold, replay_fraction, accuracy_with_replay] */
    int next_pct = 0;
    for (size_t i = 0; i < n_points; i++) {
        bool keep = (long)i == chosen || i + 1 == n_points ||
                    points[i].replay_fraction * 100 >= next_pct;
        if (!keep)
            continue;
        while (points[i].replay_fraction * 100 >= next_pct)
            next_pct++;
        double p[3] = {points[i].threshold, points[i].replay_fraction, points[i].accuracy};
        cJSON_AddItemToArray(curve, cJSON_CreateDoubleArray(p, 3));
    }
    cJSON_AddItemToObject(root, "curve", curve);
    char *text = cJSON_PrintUnformatted(root);
    if (!text) {
        st = sieve_fail(ctx, SIEVE_ERR_NOMEM, "explore: out of memory printing calibration");
        goto done;
    }
    var->calibration = sieve_strdup(ctx, text);
    cJSON_free(text);
    if (!var->calibration)
        st = SIEVE_ERR_NOMEM;
done:
    cJSON_Delete(root);
    sieve_free(ctx, scores, (n ? n : 1) * sizeof(float));
    sieve_free(ctx, best_scores, (n ? n : 1) * sizeof(float));
    sieve_free(ctx, high, (n ? n : 1) * sizeof(float));
    sieve_free(ctx, low, (n ? n : 1) * sizeof(float));
    sieve_free(ctx, sort_scratch, (n ? n : 1) * sizeof(float));
    sieve_free(ctx, order, (n ? n : 1) * sizeof(size_t));
    sieve_free(ctx, points, (n + 1) * sizeof(*points));
    return st;
}

/* Carries value-moving layers' formats (carry_formats) in variant v's
 * choices, or with `mark_only` just records which tensors hold a format
 * carried from their inputs. */
static sieve_status carry_choices(const explorer *x, sieve_explore_result *r, int v, bool mark_only)
{
    size_t n = (size_t)r->n_tensors + 1;
    sieve_format *f = sieve_calloc(x->ctx, n, sizeof(*f));
    int *carried = sieve_calloc(x->ctx, n, sizeof(*carried));
    if (!f || !carried) {
        sieve_free(x->ctx, f, n * sizeof(*f));
        sieve_free(x->ctx, carried, n * sizeof(*carried));
        return SIEVE_ERR_NOMEM;
    }
    for (int i = 0; i < r->n_tensors; i++)
        f[i] = r->tensors[i].choice[v];
    carry_formats(x, r, f, carried);
    for (int i = 0; i < r->n_tensors; i++) {
        sieve_explore_tensor *xt = &r->tensors[i];
        bool same = memcmp(&f[i], &xt->choice[v], sizeof(f[i])) == 0;
        if (!mark_only)
            xt->choice[v] = f[i];
        xt->carried[v] = carried[i] && (same || !mark_only);
    }
    sieve_free(x->ctx, f, n * sizeof(*f));
    sieve_free(x->ctx, carried, n * sizeof(*carried));
    return SIEVE_OK;
}

/* Combines and verifies on the selection half, backs off, calibrates on the
 * other half: calibrated on the items that chose it, a variant carries the
 * luck of the choice (the cheapest combination passing 100 % is likely one
 * that happened to gain a few items) into its threshold. */
static sieve_status make_variant(explorer *x, const sieve_model *original, sieve_explore_result *r,
                                 int v, const char *data_name, float *logits, uint8_t *correct)
{
    sieve_explore_variant *var = &r->variants[v];
    var->kind = (sieve_variant_kind)v;
    double min = SIEVE_MIN(x->opt->variant_min[v], 1.0);
    double z = x->opt->select_z;
    long allowed = tolerant_allowed(x, allowed_misses(x->n_sel, x->orig_sel_correct, min), z);
    sieve_status st;
    if (v == SIEVE_VARIANT_EXACT) {
        if ((st = carry_choices(x, r, v, false)) != SIEVE_OK)
            return st;
    } else {
        sieve_format *first = sieve_calloc(x->ctx, (size_t)r->n_tensors + 1, sizeof(*first));
        if (!first)
            return SIEVE_ERR_NOMEM;
        for (int i = 0; i < r->n_tensors; i++)
            first[i] = r->tensors[i].choice[v];
        variant_goal goal = {.allowed = allowed, .min = min, .z = z,
                             .replay_max = x->opt->replay_max[v], .logits = logits,
                             .correct = correct};
        st = price_variant(x, original, r, v, &goal);
        for (int i = 0; i < r->n_tensors; i++) {
            sieve_explore_tensor *xt = &r->tensors[i];
            xt->backed_off[v] =
                sieve_format_width(&xt->choice[v]) > sieve_format_width(&first[i]);
            var->n_backoffs += xt->backed_off[v];
        }
        sieve_free(x->ctx, first, ((size_t)r->n_tensors + 1) * sizeof(*first));
        if (st != SIEVE_OK)
            return st;
    }
    /* only the whole selection half decides: at a threshold of 100 % a
     * subset check rejects combinations on a handful of items */
    for (;;) {
        sieve_model *model = NULL;
        if ((st = build_variant(x, original, r, v, &model)) != SIEVE_OK)
            return st;
        size_t n_correct = 0, discordant = 0;
        bool complete = false;
        double norm = 0;
        st = eval_model(x, model, 0, x->n_sel, allowed, logits, correct, NULL, &n_correct,
                        &complete, &discordant);
        norm = x->orig_sel_correct ? (double)n_correct / (double)x->orig_sel_correct : 1;
        if (st != SIEVE_OK) {
            free_execs(x); /* they run `model`, and must go first */
            sieve_model_free(model);
            return st;
        }
        if (complete && meets(x, n_correct, discordant, min, z)) {
            var->model = model;
            size_t cal_correct = 0;
            st = eval_model(x, model, x->n_sel, x->n_items - x->n_sel, LONG_MAX,
                            logits + x->n_sel * x->classes, correct + x->n_sel, NULL,
                            &cal_correct, &complete, NULL);
            if (st != SIEVE_OK)
                return st;
            var->val_accuracy =
                x->n_items ? (double)(n_correct + cal_correct) / (double)x->n_items : 0;
            break;
        }
        free_execs(x); /* they run `model`, and must go first */
        sieve_model_free(model);
        /* back off the tensor whose own loss is the largest */
        int pick = -1;
        double pick_loss = 0;
        for (int i = 0; i < r->n_tensors; i++) {
            sieve_explore_tensor *xt = &r->tensors[i];
            if (xt->choice[v].kind == SIEVE_FORMAT_FP32)
                continue;
            double loss = format_loss(xt, &xt->choice[v]);
            if (pick < 0 || loss > pick_loss + 1e-12 ||
                (fabs(loss - pick_loss) <= 1e-12 && xt->numel > r->tensors[pick].numel)) {
                pick = i;
                pick_loss = loss;
            }
        }
        if (pick < 0)
            return sieve_fail(x->ctx, SIEVE_ERR_STATE,
                              "explore: %s variant misses its threshold with every tensor fp32",
                              variant_names[v]);
        sieve_explore_tensor *xt = &r->tensors[pick];
        char was[32], now[32], acc_text[48];
        sieve_format_str(&xt->choice[v], was, sizeof(was));
        xt->choice[v] = backoff_step(xt, &xt->choice[v]);
        xt->backed_off[v]++;
        var->n_backoffs++;
        if (complete)
            snprintf(acc_text, sizeof(acc_text), "%.4f", norm);
        else
            snprintf(acc_text, sizeof(acc_text), "below %.4f (stopped early)", min);
        report(x, 0.75 + 0.2 * v / 3.0,
               "%s: %s of the original's accuracy: back off '%s' (changes %.2f%% of answers "
               "alone) %s -> %s",
               variant_names[v], acc_text, xt->name, 100 * pick_loss, was,
               sieve_format_str(&xt->choice[v], now, sizeof(now)));
    }
    if ((st = carry_choices(x, r, v, true)) != SIEVE_OK)
        return st;
    for (int i = 0; i < r->n_tensors; i++) {
        sieve_explore_tensor *xt = &r->tensors[i];
        const sieve_explore_candidate *c = find_candidate(xt, &xt->choice[v]);
        xt->choice_accuracy[v] = c && xt->choice[v].kind != SIEVE_FORMAT_FP32 ? c->accuracy : 1.0;
    }
    variant_sizes(x, r, var, v);
    report(x, 0.75 + 0.2 * (v + 1) / 3.0,
           "%s: validation accuracy %.4f (original %.4f), %.2f bits/weight, %.2f bits/activation, "
           "%d back-off%s",
           variant_names[v], var->val_accuracy, r->original_val_accuracy, var->weight_bits,
           var->activation_bits, var->n_backoffs, var->n_backoffs == 1 ? "" : "s");
    st = calibrate(x, r, var, data_name, logits, correct);
    if (st == SIEVE_OK)
        report(x, 0.75 + 0.2 * (v + 1) / 3.0,
               "%s: detector %s (AUC %.3f, T %.2f): replay %.2f%% -> accuracy %.4f",
               variant_names[v], sieve_score_kind_name(var->score), var->auc[var->score],
               (double)var->temperature, 100 * var->replay_fraction, var->accuracy_with_replay);
    return st;
}

/* ---- entry points ------------------------------------------------------------------ */

static sieve_status check_model(sieve_context *ctx, const sieve_model *m, sieve_preprocess *pre)
{
    if (sieve_model_preprocess(m, pre) != SIEVE_OK || pre->channels < 1 || pre->height < 1 ||
        pre->width < 1)
        return sieve_fail(ctx, SIEVE_ERR_ARG,
                          "explore: the model has no image preprocessing (import it with "
                          "--mean/--std)");
    return SIEVE_OK;
}

static sieve_status start(explorer *x, sieve_context *ctx, const sieve_model *original,
                          const sieve_explore_options *o, sieve_preprocess *pre)
{
    memset(x, 0, sizeof(*x));
    x->ctx = ctx;
    x->opt = o;
    x->t0 = now_ms();
    sieve_status st = check_model(ctx, original, pre);
    if (st != SIEVE_OK)
        return st;
    int threads = o->threads > 0 ? o->threads : sieve_context_threads(ctx);
    if (threads < 1)
        threads = 1;
    if ((st = setup(x, original, threads)) != SIEVE_OK)
        return st;
    if (x->input_n != (size_t)pre->channels * (size_t)pre->height * (size_t)pre->width)
        return sieve_fail(ctx, SIEVE_ERR_SHAPE,
                          "explore: input has %zu values, preprocessing gives %d x %d x %d",
                          x->input_n, pre->channels, pre->height, pre->width);
    return SIEVE_OK;
}

sieve_status sieve_explore(sieve_context *ctx, const sieve_model *original,
                           sieve_dataset *validation, const sieve_explore_options *options,
                           sieve_explore_result **out)
{
    if (!ctx || !original || !validation || !out)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "explore: missing argument");
    *out = NULL;
    sieve_explore_options defaults;
    sieve_explore_options_default(&defaults);
    const sieve_explore_options *o = options ? options : &defaults;
    explorer x;
    sieve_preprocess pre;
    sieve_explore_result *r = NULL;
    float *logits = NULL, *orig_values = NULL, *rounded = NULL;
    uint8_t *correct = NULL;
    sieve_exp_hist *hists = NULL;
    size_t hists_n = 0;
    sieve_status st = start(&x, ctx, original, o, &pre);
    if (st != SIEVE_OK)
        goto done;
    size_t n = sieve_dataset_count(validation);
    if (n == 0) {
        st = sieve_fail(ctx, SIEVE_ERR_ARG, "explore: the validation data is empty");
        goto done;
    }
    report(&x, 0, "loading %zu validation items", n);
    if ((st = load_items(&x, validation, n, &pre, true)) != SIEVE_OK)
        goto done;
    r = sieve_calloc(ctx, 1, sizeof(*r));
    if (!r) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    r->original_test_accuracy = -1;
    r->threads = x.threads;
    r->n_validation = n;
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++)
        r->variants[v].test_accuracy = r->variants[v].test_accuracy_with_replay =
            r->variants[v].test_replay_fraction = -1;

    /* 1. the original on the whole validation set: histograms and answers */
    report(&x, 0.01, "running the original on %zu items (%d threads)", n, x.threads);
    hists_n = (size_t)x.threads * (size_t)x.n_tensors;
    hists = sieve_calloc(ctx, hists_n ? hists_n : 1, sizeof(*hists));
    if (!hists) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    hist_job hj = {.x = &x, .hists = hists};
    atomic_init(&hj.next, 0);
    atomic_init(&hj.status, SIEVE_OK);
    sieve_parallel_for(x.pool, (size_t)x.threads, hist_worker, &hj);
    if ((st = (sieve_status)atomic_load(&hj.status)) != SIEVE_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        x.orig_correct_count += x.orig_correct[i];
    r->original_val_accuracy = (double)x.orig_correct_count / (double)n;
    report(&x, 0.05, "original: validation accuracy %.4f", r->original_val_accuracy);

    /* 2. the tensors to explore, with their histograms */
    bool *nonneg = sieve_calloc(ctx, (size_t)x.n_tensors + 1, sizeof(bool));
    r->tensors = sieve_calloc(ctx, (size_t)x.n_tensors + 1, sizeof(*r->tensors));
    r->tensor_slots = x.n_tensors + 1;
    if (!nonneg || !r->tensors) {
        sieve_free(ctx, nonneg, (size_t)x.n_tensors + 1);
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    structural_non_negative(x.work, nonneg);
    for (int t = 0; t < x.n_tensors; t++) {
        const sieve_tensor *tt = &x.work->tensors[t];
        bool is_const = tt->role == SIEVE_TENSOR_CONSTANT;
        if (is_const ? !o->explore_weights : !o->explore_activations)
            continue;
        if (tt->role == SIEVE_TENSOR_ACTIVATION && x.producer[t] < 0)
            continue;
        if (is_const && x.first_consumer[t] >= x.n_layers)
            continue; /* unused constant */
        if (x.numel[t] == 0)
            continue;
        x.explored_at[t] = r->n_tensors;
        sieve_explore_tensor *xt = &r->tensors[r->n_tensors++];
        xt->tensor = t;
        if (!(xt->name = sieve_strdup(ctx, tt->name))) {
            sieve_free(ctx, nonneg, (size_t)x.n_tensors + 1);
            st = SIEVE_ERR_NOMEM;
            goto done;
        }
        xt->role = tt->role;
        xt->numel = x.numel[t];
        xt->first_layer = x.first_consumer[t];
        if (is_const) {
            float *v = x.scratch[0]; /* constants fit: scratch covers every tensor */
            memcpy(v, tt->owned, xt->numel * sizeof(float));
            sieve_exp_hist_add(&xt->hist, v, xt->numel);
            xt->non_negative = xt->hist.negatives == 0;
        } else {
            for (int th = 0; th < x.threads; th++)
                sieve_exp_hist_merge(&xt->hist, &hists[(size_t)th * (size_t)x.n_tensors + (size_t)t]);
            xt->non_negative = nonneg[t] && xt->hist.negatives == 0;
        }
    }
    sieve_free(ctx, nonneg, (size_t)x.n_tensors + 1);
    orig_values = sieve_calloc(ctx, x.scratch_floats, sizeof(float));
    rounded = sieve_calloc(ctx, x.scratch_floats, sizeof(float));
    if (!orig_values || !rounded) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }

    /* 3. the sweep subset: evenly spaced items */
    for (size_t i = 0; i < x.n_sel; i++)
        x.orig_sel_correct += x.orig_correct[i];
    x.n_sub = o->subset && o->subset < x.n_sel ? o->subset : x.n_sel;
    x.sub = sieve_calloc(ctx, x.n_sub, sizeof(size_t));
    if (!x.sub) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < x.n_sub; k++) {
        x.sub[k] = (size_t)((double)k * (double)x.n_sel / (double)x.n_sub);
        x.orig_sub_correct += x.orig_correct[x.sub[k]];
    }
    r->n_subset = x.n_sub;
    r->original_subset_accuracy = (double)x.orig_sub_correct / (double)x.n_sub;

    /* 4. per-tensor sweeps by increasing first layer */
    if ((st = make_execs(&x, x.work)) != SIEVE_OK)
        goto done;
    int done_tensors = 0;
    for (int layer = 0; layer <= x.n_layers; layer++) {
        bool any = false;
        for (int i = 0; i < r->n_tensors; i++)
            any |= r->tensors[i].first_layer == layer;
        if (!any)
            continue;
        if ((st = cache_advance(&x, layer)) != SIEVE_OK)
            goto done;
        for (int i = 0; i < r->n_tensors; i++) {
            sieve_explore_tensor *xt = &r->tensors[i];
            if (xt->first_layer != layer)
                continue;
            if (xt->role == SIEVE_TENSOR_CONSTANT)
                memcpy(orig_values, x.work->tensors[xt->tensor].owned, xt->numel * sizeof(float));
            double t1 = now_ms();
            size_t evals0 = x.evaluations;
            if ((st = search_tensor(&x, xt, orig_values, rounded)) != SIEVE_OK)
                goto done;
            choose_formats(o, xt);
            done_tensors++;
            char fe[32], fa[32], fx[32];
            report(&x, 0.05 + 0.7 * done_tensors / r->n_tensors,
                   "[%d/%d] %s (%s, %zu values, exponents %d..%d): exact %s, accurate %s (%.4f), "
                   "approximate %s (%.4f); %zu evaluations, %.1f s",
                   done_tensors, r->n_tensors, xt->name,
                   xt->role == SIEVE_TENSOR_CONSTANT ? "weight" : "activation", xt->numel,
                   xt->exp_lo, xt->exp_hi,
                   sieve_format_str(&xt->choice[SIEVE_VARIANT_EXACT], fx, sizeof(fx)),
                   sieve_format_str(&xt->choice[SIEVE_VARIANT_ACCURATE], fa, sizeof(fa)),
                   xt->choice_accuracy[SIEVE_VARIANT_ACCURATE],
                   sieve_format_str(&xt->choice[SIEVE_VARIANT_APPROXIMATE], fe, sizeof(fe)),
                   xt->choice_accuracy[SIEVE_VARIANT_APPROXIMATE], x.evaluations - evals0,
                   (now_ms() - t1) / 1000);
        }
    }
    /* the cache is no longer needed */
    sieve_free(ctx, x.cache, x.cache_floats * sizeof(float));
    x.cache = NULL;
    x.cache_floats = 0;

    /* 5. variants: combine, verify, back off, calibrate */
    logits = sieve_calloc(ctx, n * x.classes, sizeof(float));
    correct = sieve_calloc(ctx, n, 1);
    if (!logits || !correct) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT && st == SIEVE_OK; v++)
        st = make_variant(&x, original, r, v, o->data_name, logits, correct);
done:
    if (st == SIEVE_OK) {
        r->evaluations = x.evaluations;
        r->wall_ms = now_ms() - x.t0;
        report(&x, 1, "done in %.1f s (%zu evaluations)", r->wall_ms / 1000, r->evaluations);
        *out = r;
    } else {
        free_execs(&x); /* they may run a variant's model */
        sieve_explore_result_free(ctx, r);
    }
    if (hists)
        sieve_free(ctx, hists, (hists_n ? hists_n : 1) * sizeof(*hists));
    if (logits)
        sieve_free(ctx, logits, x.n_items * x.classes * sizeof(float));
    if (correct)
        sieve_free(ctx, correct, x.n_items);
    sieve_free(ctx, orig_values, x.scratch_floats * sizeof(float));
    sieve_free(ctx, rounded, x.scratch_floats * sizeof(float));
    teardown(&x);
    return st;
}

void sieve_explore_result_free(sieve_context *ctx, sieve_explore_result *r)
{
    if (!r)
        return;
    for (int i = 0; r->tensors && i < r->n_tensors; i++) {
        if (r->tensors[i].name)
            sieve_free_str(ctx, (char *)r->tensors[i].name);
        sieve_free(ctx, r->tensors[i].candidates,
                   (size_t)r->tensors[i].candidate_slots * sizeof(sieve_explore_candidate));
    }
    sieve_free(ctx, r->tensors, (size_t)r->tensor_slots * sizeof(*r->tensors));
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        sieve_model_free(r->variants[v].model);
        sieve_free_str(ctx, r->variants[v].calibration);
    }
    sieve_free(ctx, r, sizeof(*r));
}

sieve_status sieve_explore_test(sieve_context *ctx, const sieve_model *original,
                                sieve_explore_result *r, sieve_dataset *test,
                                const sieve_explore_options *options)
{
    if (!ctx || !original || !r || !test)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "explore test: missing argument");
    sieve_explore_options defaults;
    sieve_explore_options_default(&defaults);
    const sieve_explore_options *o = options ? options : &defaults;
    explorer x;
    sieve_preprocess pre;
    float *logits = NULL;
    uint8_t *correct = NULL;
    size_t n = sieve_dataset_count(test);
    sieve_status st = start(&x, ctx, original, o, &pre);
    if (st == SIEVE_OK && n == 0)
        st = sieve_fail(ctx, SIEVE_ERR_ARG, "explore test: the test data is empty");
    if (st == SIEVE_OK) {
        report(&x, 0, "test: loading %zu items", n);
        st = load_items(&x, test, n, &pre, false);
    }
    if (st == SIEVE_OK) {
        logits = sieve_calloc(ctx, n * x.classes, sizeof(float));
        correct = sieve_calloc(ctx, n, 1);
        if (!logits || !correct)
            st = SIEVE_ERR_NOMEM;
    }
    size_t n_correct = 0;
    bool complete;
    if (st == SIEVE_OK)
        st = eval_model(&x, x.work, 0, n, LONG_MAX, NULL, x.orig_correct, x.orig_pred,
                        &n_correct, &complete, NULL);
    if (st == SIEVE_OK) {
        r->n_test = n;
        r->original_test_accuracy = (double)n_correct / (double)n;
        report(&x, 0.2, "test: original accuracy %.4f", r->original_test_accuracy);
    }
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT && st == SIEVE_OK; v++) {
        sieve_explore_variant *var = &r->variants[v];
        if (!var->model)
            continue;
        st = eval_model(&x, var->model, 0, n, LONG_MAX, logits, correct, NULL, &n_correct,
                        &complete, NULL);
        if (st != SIEVE_OK)
            break;
        sieve_detector det = {var->score, var->temperature, var->threshold};
        size_t replayed = 0, with_replay = 0;
        float *probs = x.scratch[0];
        for (size_t i = 0; i < n; i++) {
            float *z = logits + i * x.classes;
            if (x.output_is_softmax)
                for (size_t c = 0; c < x.classes; c++)
                    z[c] = logf(fmaxf(z[c], 1e-30f));
            bool replay = sieve_detector_should_replay(&det, z, x.classes, probs);
            replayed += replay;
            with_replay += replay ? x.orig_correct[i] : correct[i];
        }
        var->test_accuracy = (double)n_correct / (double)n;
        var->test_accuracy_with_replay = (double)with_replay / (double)n;
        var->test_replay_fraction = (double)replayed / (double)n;
        report(&x, 0.2 + 0.8 * (v + 1) / 3.0,
               "test: %s accuracy %.4f, with replay %.4f (%.2f%% replayed)", variant_names[v],
               var->test_accuracy, var->test_accuracy_with_replay, 100 * var->test_replay_fraction);
    }
    if (logits)
        sieve_free(ctx, logits, n * x.classes * sizeof(float));
    if (correct)
        sieve_free(ctx, correct, n);
    teardown(&x);
    return st;
}

sieve_status sieve_explore_package(sieve_context *ctx, const sieve_model *original,
                                   const sieve_explore_result *r, int strip, sieve_model **out)
{
    if (!ctx || !original || !r || !out)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "explore package: missing argument");
    *out = NULL;
    const sieve_model *base = strip ? r->variants[SIEVE_VARIANT_ACCURATE].model : original;
    if (!base)
        return sieve_fail(ctx, SIEVE_ERR_STATE, "explore package: no accurate variant");
    sieve_model *pkg = NULL;
    sieve_status st = sieve_model_clone(base, &pkg);
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT && st == SIEVE_OK; v++) {
        const sieve_explore_variant *var = &r->variants[v];
        if (var->model)
            st = sieve_model_add_variant(pkg, variant_names[v], var->model,
                                         var->calibration ? var->calibration : "");
    }
    if (st == SIEVE_OK)
        st = sieve_model_set_metadata(pkg, "sieve.package.base", strip ? "accurate" : "original");
    if (st != SIEVE_OK) {
        sieve_model_free(pkg);
        return st;
    }
    *out = pkg;
    return SIEVE_OK;
}
