/* libsieve — the layer-by-layer executor.
 *
 * create = prepare: infer every shape, plan activation buffers by tensor
 * lifetime into one arena, decode small packed constants once, and size
 * every scratch buffer; all memory is allocated here. run walks the layers
 * in order: packed activations are decoded into fp32 scratch, the kernel
 * computes in fp32 (decoding packed weight panels itself), and the output is
 * encoded into its storage format as it is written back to the arena.
 * Layers cheap next to that decoding and encoding (element-wise, concat,
 * max pool) run on packed activations directly when all of theirs are
 * packed (run_packed in src/ops/ops.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "ops/ops.h"
#include "threads.h"

/* Everything run needs about a tensor is copied here at create time: the
 * model must not be modified or freed while an executor of it exists, and
 * a stale plan must never be able to overflow a buffer. */
typedef struct tensor_plan {
    sieve_format format;    /* storage format at create time */
    const uint8_t *data;    /* constants: stored bytes at create time */
    sieve_shape shape;
    size_t numel;
    size_t bytes;       /* storage bytes in the arena (activations, inputs) */
    size_t offset;      /* arena offset */
    int first, last;    /* lifetime in layer steps (inputs: -1) */
    bool in_arena;
    const float *const_f32; /* decoded constant (or the fp32 blob itself) */
    bool passed_packed; /* a packed weight handed to the kernel as is */
    bool needs_decode;  /* a packed constant decoded once at prepare */
} tensor_plan;

struct sieve_exec {
    sieve_context *ctx;
    sieve_model *model;
    sieve_pool *pool;
    tensor_plan *plans;
    uint64_t *layer_macs;
    uint64_t macs;
    size_t arena_bytes, activation_bytes_total;
    uint8_t *arena;
    float *decoded_consts; /* decoded small packed constants */
    size_t decoded_consts_floats;
    float *decode_scratch; /* fp32 copies of packed activations of one layer */
    size_t decode_floats;
    float *out_scratch; /* fp32 output of one layer before encoding */
    size_t out_floats;
    float *kernel_scratch;
    size_t kernel_floats;
    size_t *codec_bad; /* per pool thread: first element an encode rejected */
    int codec_threads; /* entries of codec_bad */
    bool *input_set;
    bool keep_activations;
};

/* Weight inputs the kernels decode panel by panel themselves. */
static bool kernel_takes_packed(const sieve_layer *l, int k)
{
    return k == 1 && (l->op == SIEVE_OP_CONV || l->op == SIEVE_OP_GEMM);
}

static size_t floats_to_bytes(size_t n) { return n * sizeof(float); }

/* Layers of fewer multiply-accumulates (or element operations) than this
 * run on the calling thread alone: waking the pool and splitting the work
 * costs more than the second thread saves. Measured on 2 cores (AVX-512,
 * loaded machine): LeNet-5's 1.6 M-MAC conv took 17 us longer split in two
 * than whole; 2 M is about where the halves pay for the wake-up. */
#ifndef SIEVE_EXEC_POOL_MIN_MACS
#define SIEVE_EXEC_POOL_MIN_MACS 2000000
#endif
/* ... unless they read and write at least this many elements: pools,
 * adds and concats do little per element but cross whole tensors.
 * AlexNet's first max pool (0.4 M window MACs, 240 K elements) took 70 us
 * on one thread and 37 split in two; ResNet-18's last adds (75 K elements)
 * and GoogLeNet's last concats (81 K) came out slower split. */
#ifndef SIEVE_EXEC_POOL_MIN_ELEMENTS
#define SIEVE_EXEC_POOL_MIN_ELEMENTS 131072
#endif

/* Packed activations are decoded, and outputs encoded, in blocks of this
 * many elements spread over the pool when the layer itself runs on the
 * pool: on one thread they stay serial while the layer's kernel is split.
 * A multiple of 8 elements, so that blocks start on whole bytes and
 * threads never write the same byte. */
#define CODEC_BLOCK 16384
_Static_assert(CODEC_BLOCK % 8 == 0, "codec blocks start on byte boundaries");

typedef struct codec_job {
    const sieve_format *fmt;
    const uint8_t *packed_in; /* decode: packed source */
    float *decoded;           /* decode: fp32 destination */
    const float *values;      /* encode: fp32 source */
    uint8_t *packed_out;      /* encode: packed destination */
    size_t n;
    size_t *bad; /* encode: per thread, first rejected element (n: none) */
} codec_job;

/* Whether layer li is worth splitting over the pool (see
 * SIEVE_EXEC_POOL_MIN_MACS and _ELEMENTS). */
static bool layer_uses_pool(const sieve_exec *e, const sieve_layer *l, int li)
{
    if (e->layer_macs[li] >= SIEVE_EXEC_POOL_MIN_MACS)
        return true;
    size_t elements = e->plans[l->outputs[0]].numel;
    for (int k = 0; k < l->n_inputs; k++) {
        int t = l->inputs[k];
        if (t >= 0 && e->model->tensors[t].role != SIEVE_TENSOR_CONSTANT)
            elements += e->plans[t].numel;
    }
    return elements >= SIEVE_EXEC_POOL_MIN_ELEMENTS;
}

static void decode_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const codec_job *j = arg;
    size_t first = begin * CODEC_BLOCK, last = SIEVE_MIN(j->n, end * CODEC_BLOCK);
    sieve_cfloat_unpack(j->fmt, j->packed_in, first, last - first, j->decoded + first);
}

static void encode_range(void *arg, size_t begin, size_t end, int thread)
{
    const codec_job *j = arg;
    size_t first = begin * CODEC_BLOCK, last = SIEVE_MIN(j->n, end * CODEC_BLOCK), bad = 0;
    j->bad[thread] = j->n;
    if (sieve_cfloat_pack(j->fmt, j->values + first, last - first, j->packed_out, first, &bad) !=
        SIEVE_OK)
        j->bad[thread] = first + bad;
}

static void decode_activation(sieve_pool *pool, const sieve_format *fmt, const uint8_t *src,
                              size_t n, float *dst)
{
    codec_job j = {.fmt = fmt, .packed_in = src, .decoded = dst, .n = n};
    sieve_parallel_for(pool, (n + CODEC_BLOCK - 1) / CODEC_BLOCK, decode_range, &j);
}

/* SIEVE_OK, or the error of the first element that does not fit (*bad). */
static sieve_status encode_activation(sieve_exec *e, sieve_pool *pool, const sieve_format *fmt,
                                      const float *src, size_t n, uint8_t *dst, size_t *bad)
{
    codec_job j = {.fmt = fmt, .values = src, .packed_out = dst, .n = n, .bad = e->codec_bad};
    int threads = sieve_pool_threads(pool);
    /* a job of fewer blocks than threads runs fewer parts: the others must
     * not report a rejection left over from an earlier layer */
    for (int t = 0; t < threads; t++)
        e->codec_bad[t] = n;
    sieve_parallel_for(pool, (n + CODEC_BLOCK - 1) / CODEC_BLOCK, encode_range, &j);
    *bad = n;
    for (int t = 0; t < threads; t++)
        *bad = SIEVE_MIN(*bad, e->codec_bad[t]);
    if (*bad == n)
        return SIEVE_OK;
    /* the status the pack gave for that element */
    size_t at = 0;
    sieve_status st = sieve_cfloat_pack(fmt, src + *bad, 1, dst, *bad, &at);
    return st != SIEVE_OK ? st : SIEVE_ERR_RANGE;
}

static sieve_status infer_shapes(sieve_exec *e, const sieve_exec_options *options)
{
    sieve_model *m = e->model;
    sieve_context *ctx = e->ctx;
    for (int t = 0; t < m->n_tensors; t++) {
        e->plans[t].format = m->tensors[t].format;
        e->plans[t].data = m->tensors[t].data;
        if (m->tensors[t].role != SIEVE_TENSOR_ACTIVATION)
            e->plans[t].shape = m->tensors[t].shape;
    }
    if (options && options->input_shapes) {
        for (int i = 0; i < m->n_inputs; i++) {
            const sieve_shape *s = &options->input_shapes[i];
            if (s->rank < 0 || s->rank > SIEVE_MAX_RANK || sieve_shape_numel(s) <= 0)
                return sieve_fail(ctx, SIEVE_ERR_SHAPE, "input '%s': bad shape given",
                                  m->tensors[m->inputs[i]].name);
            e->plans[m->inputs[i]].shape = *s;
        }
    }
    for (int li = 0; li < m->n_layers; li++) {
        const sieve_layer *l = &m->layers[li];
        sieve_shape in[SIEVE_MAX_LAYER_INPUTS];
        for (int k = 0; k < l->n_inputs; k++) {
            if (l->inputs[k] >= 0)
                in[k] = e->plans[l->inputs[k]].shape;
            else
                memset(&in[k], 0, sizeof(in[k])), in[k].rank = -1;
        }
        char why[256] = "";
        sieve_shape out;
        memset(&out, 0, sizeof(out));
        const sieve_op_kernel *k = &sieve_op_kernels[l->op];
        if (!k->infer || !k->run)
            return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "layer '%s': op %s has no kernel",
                              l->name, sieve_op_name(l->op));
        if (k->infer(l, in, l->n_inputs, &out, why, sizeof(why)) != SIEVE_OK)
            return sieve_fail(ctx, SIEVE_ERR_SHAPE, "layer '%s' (%s): %s", l->name,
                              sieve_op_name(l->op), why);
        if (sieve_shape_numel(&out) <= 0)
            return sieve_fail(ctx, SIEVE_ERR_SHAPE, "layer '%s' (%s): empty or huge output",
                              l->name, sieve_op_name(l->op));
        e->plans[l->outputs[0]].shape = out;
        e->layer_macs[li] = k->macs ? k->macs(l, in, l->n_inputs, &out) : 0;
        e->macs += e->layer_macs[li];
    }
    /* Bounding every element count keeps all later size arithmetic (fp32
     * scratch of 4 bytes per element, summed over a layer's inputs) far
     * from overflow. */
    const int64_t max_numel = (int64_t)(SIZE_MAX / 64 / SIEVE_MAX_LAYER_INPUTS);
    for (int t = 0; t < m->n_tensors; t++) {
        int64_t n = sieve_shape_numel(&e->plans[t].shape);
        bool empty = false;
        for (int d = 0; d < e->plans[t].shape.rank; d++)
            empty |= e->plans[t].shape.dims[d] == 0;
        if (n < 0 || n > max_numel || (n == 0 && !empty))
            return sieve_fail(ctx, SIEVE_ERR_SHAPE, "tensor '%s': shape too large",
                              m->tensors[t].name);
        e->plans[t].numel = (size_t)n;
    }
    return SIEVE_OK;
}

/* Lifetimes and a greedy best-offset placement (largest first): a tensor
 * may share memory with any tensor whose lifetime does not overlap. */
static sieve_status plan_arena(sieve_exec *e)
{
    sieve_model *m = e->model;
    sieve_context *ctx = e->ctx;
    int n = m->n_tensors;
    for (int t = 0; t < n; t++) {
        tensor_plan *p = &e->plans[t];
        p->first = p->last = -2;
        if (m->tensors[t].role == SIEVE_TENSOR_INPUT) {
            /* graph inputs stay intact across runs: set once, run N times */
            p->first = -1;
            p->last = m->n_layers;
            p->in_arena = true;
        }
    }
    for (int li = 0; li < m->n_layers; li++) {
        const sieve_layer *l = &m->layers[li];
        for (int k = 0; k < l->n_inputs; k++)
            if (l->inputs[k] >= 0 && e->plans[l->inputs[k]].in_arena)
                e->plans[l->inputs[k]].last = SIEVE_MAX(e->plans[l->inputs[k]].last, li);
        tensor_plan *o = &e->plans[l->outputs[0]];
        o->first = o->last = li;
        o->in_arena = true;
    }
    for (int i = 0; i < m->n_outputs; i++)
        e->plans[m->outputs[i]].last = m->n_layers;
    int *order = sieve_calloc(ctx, (size_t)n + 1, sizeof(int));
    int *placed = sieve_calloc(ctx, (size_t)n + 1, sizeof(int));
    if (!order || !placed) {
        sieve_free(ctx, order, ((size_t)n + 1) * sizeof(int));
        sieve_free(ctx, placed, ((size_t)n + 1) * sizeof(int));
        return SIEVE_ERR_NOMEM;
    }
    int n_order = 0;
    for (int t = 0; t < n; t++) {
        tensor_plan *p = &e->plans[t];
        if (!p->in_arena)
            continue;
        p->bytes = sieve_format_bytes(&p->format, p->numel);
        if (p->bytes == 0 || p->bytes > SIZE_MAX / 2) {
            sieve_free(ctx, order, ((size_t)n + 1) * sizeof(int));
            sieve_free(ctx, placed, ((size_t)n + 1) * sizeof(int));
            return sieve_fail(ctx, SIEVE_ERR_SHAPE, "tensor '%s': empty or too large",
                              m->tensors[t].name);
        }
        p->bytes = (p->bytes + 63) & ~(size_t)63;
        if (!sieve_add_size(e->activation_bytes_total, p->bytes, &e->activation_bytes_total)) {
            sieve_free(ctx, order, ((size_t)n + 1) * sizeof(int));
            sieve_free(ctx, placed, ((size_t)n + 1) * sizeof(int));
            return sieve_fail(ctx, SIEVE_ERR_NOMEM, "activations of the model overflow memory");
        }
        order[n_order++] = t;
    }
    /* insertion sort by size, largest first (stable: ties keep graph order) */
    for (int i = 1; i < n_order; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && e->plans[order[j]].bytes < e->plans[v].bytes) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
    int n_placed = 0;
    size_t arena = 0;
    for (int i = 0; i < n_order; i++) {
        tensor_plan *p = &e->plans[order[i]];
        size_t offset = 0;
        /* retry until no conflicting placed tensor overlaps [offset, +bytes) */
        bool moved = !e->keep_activations;
        if (e->keep_activations)
            offset = arena;
        while (moved) {
            moved = false;
            for (int j = 0; j < n_placed; j++) {
                const tensor_plan *q = &e->plans[placed[j]];
                bool live_together = !(q->last < p->first || p->last < q->first);
                bool overlap = offset < q->offset + q->bytes && q->offset < offset + p->bytes;
                if (live_together && overlap) {
                    offset = q->offset + q->bytes;
                    moved = true;
                }
            }
        }
        p->offset = offset;
        placed[n_placed++] = order[i];
        arena = SIEVE_MAX(arena, offset + p->bytes);
    }
    e->arena_bytes = arena;
    sieve_free(ctx, order, ((size_t)n + 1) * sizeof(int));
    sieve_free(ctx, placed, ((size_t)n + 1) * sizeof(int));
    return SIEVE_OK;
}

/* Constants the kernels read as fp32: fp32 blobs are used in place, small
 * packed ones are decoded once here. Packed conv/gemm weights stay packed. */
static sieve_status plan_constants(sieve_exec *e)
{
    sieve_model *m = e->model;
    size_t total = 0;
    for (int li = 0; li < m->n_layers; li++) {
        const sieve_layer *l = &m->layers[li];
        for (int k = 0; k < l->n_inputs; k++) {
            int t = l->inputs[k];
            if (t < 0 || m->tensors[t].role != SIEVE_TENSOR_CONSTANT)
                continue;
            tensor_plan *p = &e->plans[t];
            if (p->format.kind == SIEVE_FORMAT_FP32)
                continue;
            if (kernel_takes_packed(l, k))
                p->passed_packed = true;
            else
                p->needs_decode = true;
        }
    }
    for (int t = 0; t < m->n_tensors; t++)
        if (e->plans[t].needs_decode)
            total += e->plans[t].numel;
    if (total) {
        e->decoded_consts = sieve_alloc_aligned(e->ctx, floats_to_bytes(total));
        if (!e->decoded_consts)
            return SIEVE_ERR_NOMEM;
        e->decoded_consts_floats = total;
    }
    size_t at = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        tensor_plan *p = &e->plans[t];
        const sieve_tensor *tt = &m->tensors[t];
        if (tt->role != SIEVE_TENSOR_CONSTANT)
            continue;
        if (p->format.kind == SIEVE_FORMAT_FP32) {
            p->const_f32 = (const float *)p->data;
        } else if (p->needs_decode) {
            sieve_format_load(&p->format, p->data, 0, p->numel, e->decoded_consts + at);
            p->const_f32 = e->decoded_consts + at;
            at += p->numel;
        }
    }
    return SIEVE_OK;
}

static sieve_status plan_scratch(sieve_exec *e)
{
    sieve_model *m = e->model;
    int threads = sieve_pool_threads(e->pool);
    for (int li = 0; li < m->n_layers; li++) {
        const sieve_layer *l = &m->layers[li];
        size_t decode = 0;
        sieve_shape in[SIEVE_MAX_LAYER_INPUTS];
        for (int k = 0; k < l->n_inputs; k++) {
            int t = l->inputs[k];
            if (t < 0) {
                memset(&in[k], 0, sizeof(in[k]));
                in[k].rank = -1;
                continue;
            }
            in[k] = e->plans[t].shape;
            if (e->plans[t].in_arena && e->plans[t].format.kind != SIEVE_FORMAT_FP32)
                decode += (e->plans[t].numel + 15) & ~(size_t)15;
        }
        e->decode_floats = SIEVE_MAX(e->decode_floats, decode);
        int o = l->outputs[0];
        if (e->plans[o].format.kind != SIEVE_FORMAT_FP32)
            e->out_floats = SIEVE_MAX(e->out_floats, e->plans[o].numel);
        const sieve_op_kernel *k = &sieve_op_kernels[l->op];
        if (k->scratch_floats)
            e->kernel_floats = SIEVE_MAX(e->kernel_floats,
                                         k->scratch_floats(l, in, l->n_inputs, &e->plans[o].shape,
                                                           threads));
    }
    /* graph inputs stored packed are encoded from the caller's fp32 */
    e->arena = sieve_alloc_aligned(e->ctx, e->arena_bytes ? e->arena_bytes : 64);
    if (!e->arena)
        return SIEVE_ERR_NOMEM;
    memset(e->arena, 0, e->arena_bytes);
    if (e->decode_floats &&
        !(e->decode_scratch = sieve_alloc_aligned(e->ctx, floats_to_bytes(e->decode_floats))))
        return SIEVE_ERR_NOMEM;
    if (e->out_floats &&
        !(e->out_scratch = sieve_alloc_aligned(e->ctx, floats_to_bytes(e->out_floats))))
        return SIEVE_ERR_NOMEM;
    if (e->kernel_floats &&
        !(e->kernel_scratch = sieve_alloc_aligned(e->ctx, floats_to_bytes(e->kernel_floats))))
        return SIEVE_ERR_NOMEM;
    return SIEVE_OK;
}

sieve_status sieve_exec_create(sieve_model *model, const sieve_exec_options *options,
                               sieve_exec **out)
{
    if (!model || !out)
        return model ? sieve_fail(model->ctx, SIEVE_ERR_ARG, "exec: missing output")
                     : SIEVE_ERR_ARG;
    *out = NULL;
    sieve_context *ctx = model->ctx;
    sieve_status st = sieve_model_validate(model);
    if (st != SIEVE_OK)
        return st;
    sieve_exec *e = sieve_calloc(ctx, 1, sizeof(*e));
    if (!e)
        return SIEVE_ERR_NOMEM;
    e->ctx = ctx;
    e->model = model;
    int threads = (options && options->threads > 0) ? options->threads : ctx->threads;
    e->keep_activations = options && options->keep_activations;
    size_t nt = (size_t)model->n_tensors + 1;
    e->plans = sieve_calloc(ctx, nt, sizeof(*e->plans));
    e->layer_macs = sieve_calloc(ctx, (size_t)model->n_layers + 1, sizeof(uint64_t));
    e->input_set = sieve_calloc(ctx, (size_t)model->n_inputs + 1, sizeof(bool));
    e->codec_threads = SIEVE_MAX(threads, 1);
    e->codec_bad = sieve_calloc(ctx, (size_t)e->codec_threads, sizeof(size_t));
    if (!e->plans || !e->layer_macs || !e->input_set || !e->codec_bad)
        st = SIEVE_ERR_NOMEM;
    if (st == SIEVE_OK && threads > 1)
        st = sieve_pool_create(ctx, threads, &e->pool);
    if (st == SIEVE_OK)
        st = infer_shapes(e, options);
    if (st == SIEVE_OK)
        st = plan_arena(e);
    if (st == SIEVE_OK)
        st = plan_constants(e);
    if (st == SIEVE_OK)
        st = plan_scratch(e);
    if (st != SIEVE_OK) {
        sieve_exec_free(e);
        return st;
    }
    *out = e;
    return SIEVE_OK;
}

void sieve_exec_free(sieve_exec *e)
{
    if (!e)
        return;
    sieve_context *ctx = e->ctx;
    sieve_pool_destroy(e->pool);
    sieve_free_aligned(ctx, e->arena, e->arena_bytes ? e->arena_bytes : 64);
    sieve_free_aligned(ctx, e->decoded_consts, floats_to_bytes(e->decoded_consts_floats));
    sieve_free_aligned(ctx, e->decode_scratch, floats_to_bytes(e->decode_floats));
    sieve_free_aligned(ctx, e->out_scratch, floats_to_bytes(e->out_floats));
    sieve_free_aligned(ctx, e->kernel_scratch, floats_to_bytes(e->kernel_floats));
    sieve_free(ctx, e->plans, ((size_t)e->model->n_tensors + 1) * sizeof(*e->plans));
    sieve_free(ctx, e->layer_macs, ((size_t)e->model->n_layers + 1) * sizeof(uint64_t));
    sieve_free(ctx, e->input_set, ((size_t)e->model->n_inputs + 1) * sizeof(bool));
    sieve_free(ctx, e->codec_bad, (size_t)e->codec_threads * sizeof(size_t));
    sieve_free(ctx, e, sizeof(*e));
}

sieve_status sieve_exec_set_input(sieve_exec *e, int i, const float *data, size_t n)
{
    if (!e)
        return SIEVE_ERR_ARG;
    sieve_model *m = e->model;
    if (i < 0 || i >= m->n_inputs || (!data && n))
        return sieve_fail(e->ctx, SIEVE_ERR_ARG, "set input: no graph input %d", i);
    int t = m->inputs[i];
    const tensor_plan *p = &e->plans[t];
    if (n != p->numel)
        return sieve_fail(e->ctx, SIEVE_ERR_SHAPE, "input '%s': %zu values given, shape needs %zu",
                          m->tensors[t].name, n, p->numel);
    for (size_t j = 0; j < n; j++)
        if (!isfinite(data[j]))
            return sieve_fail(e->ctx, SIEVE_ERR_RANGE, "input '%s': value %zu is not finite",
                              m->tensors[t].name, j);
    size_t bad = 0;
    sieve_status st = sieve_format_store(&p->format, data, n, e->arena + p->offset, 0,
                                         &bad);
    if (st != SIEVE_OK)
        return sieve_fail(e->ctx, st, "input '%s': value %zu (%g) does not fit its format",
                          m->tensors[t].name, bad, (double)data[bad]);
    e->input_set[i] = true;
    return SIEVE_OK;
}

/* Layers whose kernel works on packed activations directly, when every
 * input is a packed activation and so is the output: no whole-tensor
 * decode into fp32 scratch and encode back. True when it ran the layer. */
static bool run_packed(sieve_exec *e, const sieve_layer *l, sieve_op_env *env)
{
    const sieve_op_kernel *k = &sieve_op_kernels[l->op];
    const tensor_plan *po = &e->plans[l->outputs[0]];
    if (!k->run_packed || po->format.kind == SIEVE_FORMAT_FP32)
        return false;
    sieve_op_packed in[SIEVE_MAX_LAYER_INPUTS];
    for (int k_in = 0; k_in < l->n_inputs; k_in++) {
        int t = l->inputs[k_in];
        if (t < 0 || !e->plans[t].in_arena || e->plans[t].format.kind == SIEVE_FORMAT_FP32)
            return false;
        in[k_in].shape = e->plans[t].shape;
        in[k_in].format = e->plans[t].format;
        in[k_in].data = e->arena + e->plans[t].offset;
    }
    return k->run_packed(l, in, l->n_inputs, e->arena + po->offset, &po->format, &po->shape, env);
}

sieve_status sieve_exec_run(sieve_exec *e)
{
    if (!e)
        return SIEVE_ERR_ARG;
    sieve_model *m = e->model;
    for (int i = 0; i < m->n_inputs; i++)
        if (!e->input_set[i])
            return sieve_fail(e->ctx, SIEVE_ERR_STATE, "run: input '%s' was never set",
                              m->tensors[m->inputs[i]].name);
    return sieve_exec_run_layers(e, 0, m->n_layers);
}

sieve_status sieve_exec_run_layers(sieve_exec *e, int first, int last)
{
    if (!e)
        return SIEVE_ERR_ARG;
    sieve_model *m = e->model;
    if (first < 0 || last > m->n_layers || first > last)
        return sieve_fail(e->ctx, SIEVE_ERR_ARG, "run layers [%d, %d) of %d", first, last,
                          m->n_layers);
    if (first > 0 && !e->keep_activations)
        return sieve_fail(e->ctx, SIEVE_ERR_STATE,
                          "running from layer %d needs keep_activations", first);
    sieve_op_env env = {e->pool, e->kernel_scratch, e->kernel_floats};
    for (int li = first; li < last; li++) {
        const sieve_layer *l = &m->layers[li];
        sieve_op_input in[SIEVE_MAX_LAYER_INPUTS];
        size_t decode_at = 0;
        env.pool = layer_uses_pool(e, l, li) ? e->pool : NULL;
        if (run_packed(e, l, &env))
            continue;
        const sieve_op_kernel *kernel = &sieve_op_kernels[l->op];
        /* every input's shape, format and, for weights, data first: the
         * kernel may take a packed activation as codes (input_as_codes) */
        for (int k = 0; k < l->n_inputs; k++) {
            int t = l->inputs[k];
            memset(&in[k], 0, sizeof(in[k]));
            if (t < 0) {
                in[k].shape.rank = -1;
                continue;
            }
            const tensor_plan *p = &e->plans[t];
            in[k].shape = p->shape;
            in[k].format = p->format;
            if (m->tensors[t].role == SIEVE_TENSOR_CONSTANT) {
                if (p->passed_packed)
                    in[k].packed = p->data;
                else
                    in[k].f32 = p->const_f32;
            }
        }
        bool codes_in = l->n_inputs > 0 && l->inputs[0] >= 0 && kernel->input_as_codes &&
                        m->tensors[l->inputs[0]].role != SIEVE_TENSOR_CONSTANT &&
                        e->plans[l->inputs[0]].format.kind != SIEVE_FORMAT_FP32 &&
                        kernel->input_as_codes(l, in, l->n_inputs);
        for (int k = 0; k < l->n_inputs; k++) {
            int t = l->inputs[k];
            if (t < 0 || m->tensors[t].role == SIEVE_TENSOR_CONSTANT)
                continue;
            const tensor_plan *p = &e->plans[t];
            if (p->format.kind == SIEVE_FORMAT_FP32) {
                in[k].f32 = (const float *)(e->arena + p->offset);
            } else if (k == 0 && codes_in) {
                in[k].packed = e->arena + p->offset;
            } else {
                float *dst = e->decode_scratch + decode_at;
                decode_activation(env.pool, &p->format, e->arena + p->offset, p->numel, dst);
                in[k].f32 = dst;
                decode_at += (p->numel + 15) & ~(size_t)15;
            }
        }
        int o = l->outputs[0];
        const tensor_plan *po = &e->plans[o];
        const sieve_format *of = &po->format;
        bool direct = of->kind == SIEVE_FORMAT_FP32;
        float *dst = direct ? (float *)(e->arena + po->offset) : e->out_scratch;
        if (!direct && kernel->run_encoded &&
            kernel->run_encoded(l, in, l->n_inputs, dst, e->arena + po->offset, of, &po->shape,
                                &env))
            continue;
        kernel->run(l, in, l->n_inputs, dst, &po->shape, &env);
        if (!direct) {
            size_t bad = 0;
            sieve_status st =
                encode_activation(e, env.pool, of, dst, po->numel, e->arena + po->offset, &bad);
            if (st != SIEVE_OK)
                return sieve_fail(e->ctx, st,
                                  "layer '%s': output value %zu (%g) cannot be stored in its format",
                                  l->name, bad, (double)dst[bad]);
        }
    }
    return SIEVE_OK;
}

sieve_status sieve_exec_get_output(sieve_exec *e, int i, float *dst, size_t n)
{
    if (!e)
        return SIEVE_ERR_ARG;
    sieve_model *m = e->model;
    if (i < 0 || i >= m->n_outputs || !dst)
        return sieve_fail(e->ctx, SIEVE_ERR_ARG, "get output: no graph output %d", i);
    int t = m->outputs[i];
    const tensor_plan *p = &e->plans[t];
    if (n < p->numel)
        return sieve_fail(e->ctx, SIEVE_ERR_SHAPE, "output '%s' has %zu values, buffer holds %zu",
                          m->tensors[t].name, p->numel, n);
    const void *src = p->in_arena ? (const void *)(e->arena + p->offset) : (const void *)p->data;
    sieve_format_load(&p->format, src, 0, p->numel, dst);
    return SIEVE_OK;
}

static sieve_status check_tensor_access(sieve_exec *e, int t, size_t n, const char *what)
{
    sieve_model *m = e->model;
    if (t < 0 || t >= m->n_tensors || !e->plans[t].in_arena)
        return sieve_fail(e->ctx, SIEVE_ERR_ARG, "%s: tensor %d is not an input or activation",
                          what, t);
    if (!e->keep_activations && !m->tensors[t].is_output &&
        m->tensors[t].role != SIEVE_TENSOR_INPUT)
        return sieve_fail(e->ctx, SIEVE_ERR_STATE, "%s: tensor '%s' needs keep_activations", what,
                          m->tensors[t].name);
    if (n != e->plans[t].numel)
        return sieve_fail(e->ctx, SIEVE_ERR_SHAPE, "%s: tensor '%s' has %zu values, not %zu", what,
                          m->tensors[t].name, e->plans[t].numel, n);
    return SIEVE_OK;
}

sieve_status sieve_exec_get_tensor(sieve_exec *e, int tensor, float *dst, size_t n)
{
    if (!e || !dst)
        return SIEVE_ERR_ARG;
    sieve_status st = check_tensor_access(e, tensor, n, "get tensor");
    if (st == SIEVE_OK)
        sieve_format_load(&e->plans[tensor].format, e->arena + e->plans[tensor].offset, 0,
                          n, dst);
    return st;
}

sieve_status sieve_exec_set_tensor(sieve_exec *e, int tensor, const float *src, size_t n)
{
    if (!e || !src)
        return SIEVE_ERR_ARG;
    sieve_status st = check_tensor_access(e, tensor, n, "set tensor");
    if (st != SIEVE_OK)
        return st;
    const sieve_tensor *t = &e->model->tensors[tensor];
    size_t bad = 0;
    st = sieve_format_store(&e->plans[tensor].format, src, n, e->arena + e->plans[tensor].offset, 0,
                            &bad);
    if (st != SIEVE_OK)
        return sieve_fail(e->ctx, st, "set tensor '%s': value %zu (%g) does not fit its format",
                          t->name, bad, (double)src[bad]);
    for (int i = 0; i < e->model->n_inputs; i++)
        if (e->model->inputs[i] == tensor)
            e->input_set[i] = true;
    return SIEVE_OK;
}

sieve_status sieve_exec_tensor_shape(const sieve_exec *e, int tensor, sieve_shape *out)
{
    if (!e || !out || tensor < 0 || tensor >= e->model->n_tensors)
        return SIEVE_ERR_ARG;
    *out = e->plans[tensor].shape;
    return SIEVE_OK;
}

size_t sieve_exec_arena_bytes(const sieve_exec *e) { return e ? e->arena_bytes : 0; }
size_t sieve_exec_activation_bytes_total(const sieve_exec *e)
{
    return e ? e->activation_bytes_total : 0;
}
uint64_t sieve_exec_macs(const sieve_exec *e) { return e ? e->macs : 0; }

uint64_t sieve_exec_layer_macs(const sieve_exec *e, int layer)
{
    return (e && layer >= 0 && layer < e->model->n_layers) ? e->layer_macs[layer] : 0;
}
