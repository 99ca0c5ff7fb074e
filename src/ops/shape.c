/* libsieve — layers that only move data: Concat, Reshape, Flatten. */
#include <string.h>

#include "../cfloat_dot.h"
#include "kernels.h"

static uint64_t out_elements(const sieve_shape *out)
{
    size_t n = 0;
    sieve_op_numel(out, &n);
    return n;
}

/* Copies the input to the output unless the executor ran the layer in place. */
static void copy_input(const sieve_op_input *in, float *out, const sieve_shape *out_shape)
{
    size_t n = 0;
    sieve_op_numel(out_shape, &n);
    if (in->f32 == out)
        return;
    sieve_op_input_load(in, 0, n, out);
}

/* ---- Concat ------------------------------------------------------------- */

static int concat_axis(const sieve_layer *layer, int rank)
{
    int axis = layer->attrs.axis.axis;
    return axis < 0 ? axis + rank : axis;
}

sieve_status sieve_concat_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                sieve_shape *out, char *err, size_t err_len)
{
    size_t numel;
    if (n_in < 1)
        return sieve_op_fail(layer, err, err_len, "needs at least 1 input");
    int rank = in[0].rank, axis = layer->attrs.axis.axis;
    if (rank < 1)
        return sieve_op_fail(layer, err, err_len, "inputs must have rank >= 1, input 0 has %d",
                             rank);
    if (axis < -rank || axis >= rank)
        return sieve_op_fail(layer, err, err_len, "axis %d out of range for rank %d", axis, rank);
    axis = concat_axis(layer, rank);
    *out = in[0];
    out->dims[axis] = 0;
    for (int i = 0; i < n_in; i++) {
        if (in[i].rank != rank || !sieve_op_numel(&in[i], &numel))
            return sieve_op_fail(layer, err, err_len, "input %d has rank %d, input 0 has %d", i,
                                 in[i].rank, rank);
        for (int d = 0; d < rank; d++)
            if (d != axis && in[i].dims[d] != in[0].dims[d])
                return sieve_op_fail(layer, err, err_len,
                                     "input %d has %lld along axis %d, input 0 has %lld", i,
                                     (long long)in[i].dims[d], d, (long long)in[0].dims[d]);
        if (in[i].dims[axis] > INT64_MAX - out->dims[axis])
            return sieve_op_fail(layer, err, err_len, "output size overflows");
        out->dims[axis] += in[i].dims[axis];
    }
    if (!sieve_op_numel(out, &numel))
        return sieve_op_fail(layer, err, err_len, "output size overflows");
    return SIEVE_OK;
}

size_t sieve_concat_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                            const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

uint64_t sieve_concat_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                           const sieve_shape *out)
{
    (void)layer, (void)in, (void)n_in;
    return out_elements(out);
}

void sieve_concat_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                          float *out, const sieve_shape *out_shape)
{
    int axis = concat_axis(layer, out_shape->rank);
    size_t n = 0;
    sieve_op_numel(out_shape, &n);
    size_t inner = sieve_op_dims_product(out_shape, axis + 1, out_shape->rank);
    size_t len = (size_t)out_shape->dims[axis];
    for (size_t i = 0; i < n; i++) {
        size_t o = i / (len * inner), k = (i / inner) % len, r = i % inner;
        int src = 0;
        while (k >= (size_t)in[src].shape.dims[axis]) /* find the input holding k */
            k -= (size_t)in[src++].shape.dims[axis];
        size_t src_len = (size_t)in[src].shape.dims[axis];
        out[i] = sieve_op_input_at(&in[src], (o * src_len + k) * inner + r);
    }
    (void)n_in;
}

typedef struct concat_run {
    const sieve_op_input *in;
    int n_in;
    float *y;
    size_t inner, out_len;
    size_t offsets[SIEVE_MAX_LAYER_INPUTS + 1]; /* start of each input along the axis */
} concat_run;

static void concat_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const concat_run *r = arg;
    for (size_t t = begin; t < end; t++) {
        size_t o = t / (size_t)r->n_in;
        int i = (int)(t % (size_t)r->n_in);
        size_t block = r->offsets[i + 1] - r->offsets[i];
        size_t count = block * r->inner;
        sieve_op_input_load(&r->in[i], o * count,
                            count, r->y + (o * r->out_len + r->offsets[i]) * r->inner);
    }
}

void sieve_concat_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                      const sieve_shape *out_shape, sieve_op_env *env)
{
    int axis = concat_axis(layer, out_shape->rank);
    if (n_in > SIEVE_MAX_LAYER_INPUTS) {
        sieve_concat_run_ref(layer, in, n_in, out, out_shape);
        return;
    }
    concat_run r = {.in = in, .n_in = n_in, .y = out};
    r.inner = sieve_op_dims_product(out_shape, axis + 1, out_shape->rank);
    r.out_len = (size_t)out_shape->dims[axis];
    r.offsets[0] = 0;
    for (int i = 0; i < n_in; i++)
        r.offsets[i + 1] = r.offsets[i] + (size_t)in[i].shape.dims[axis];
    size_t outer = sieve_op_dims_product(out_shape, 0, axis);
    sieve_parallel_for(env->pool, outer * (size_t)n_in, concat_range, &r);
}

static bool same_format(const sieve_format *a, const sieve_format *b)
{
    return a->kind == b->kind && a->e_bits == b->e_bits && a->m_bits == b->m_bits &&
           a->bias == b->bias && a->is_signed == b->is_signed;
}

/* Packed pieces of the inputs into their places in the output: a byte copy
 * where an input has the output's format and the piece starts and ends on
 * byte boundaries (the concatenations of GoogLeNet and SqueezeNet along
 * channels, 8- or 4-bit), else decoded and re-encoded SIEVE_OP_PIECE
 * elements at a time. One thread: pieces need not end on byte boundaries,
 * and two threads must not write one byte. */
bool sieve_concat_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                             uint8_t *out, const sieve_format *out_format,
                             const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)env;
    int axis = concat_axis(layer, out_shape->rank);
    size_t inner = sieve_op_dims_product(out_shape, axis + 1, out_shape->rank);
    size_t out_len = (size_t)out_shape->dims[axis];
    size_t outer = sieve_op_dims_product(out_shape, 0, axis);
    size_t out_w = sieve_format_width(out_format);
    float values[SIEVE_OP_PIECE];
    for (int i = 0; i < n_in; i++) {
        size_t at = 0; /* start of input i along the axis */
        for (int j = 0; j < i; j++)
            at += (size_t)in[j].shape.dims[axis];
        size_t count = (size_t)in[i].shape.dims[axis] * inner;
        bool bytes = same_format(&in[i].format, out_format) && (count * out_w) % 8 == 0 &&
                     (out_len * inner * out_w) % 8 == 0 && (at * inner * out_w) % 8 == 0;
        sieve_dot_plan plan;
        if (!bytes)
            sieve_dot_plan_init(&plan, &in[i].format, 0, 0);
        for (size_t o = 0; o < outer; o++) {
            size_t src = o * count, dst = (o * out_len + at) * inner;
            if (bytes) {
                memcpy(out + dst * out_w / 8, in[i].data + src * out_w / 8, count * out_w / 8);
                continue;
            }
            for (size_t done = 0; done < count; done += SIEVE_OP_PIECE) {
                size_t n = SIEVE_MIN((size_t)SIEVE_OP_PIECE, count - done);
                sieve_dot_unpack(&plan, in[i].data, src + done, n, values);
                if (sieve_cfloat_pack(out_format, values, n, out, dst + done, NULL) != SIEVE_OK)
                    return false;
            }
        }
    }
    return true;
}

/* ---- Reshape ------------------------------------------------------------ */

sieve_status sieve_reshape_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                 sieve_shape *out, char *err, size_t err_len)
{
    const sieve_shape *target = &layer->attrs.reshape.shape;
    size_t n_in_elems, n_out_elems;
    /* A second input (ONNX's shape tensor) may be kept; it is already
     * resolved into the attributes. */
    if (n_in < 1 || n_in > 2)
        return sieve_op_fail(layer, err, err_len, "takes 1 or 2 inputs, got %d", n_in);
    if (!sieve_op_numel(&in[0], &n_in_elems))
        return sieve_op_fail(layer, err, err_len, "bad input shape (rank %d)", in[0].rank);
    if (!sieve_op_numel(target, &n_out_elems))
        return sieve_op_fail(layer, err, err_len, "bad target shape (rank %d)", target->rank);
    if (n_in_elems != n_out_elems)
        return sieve_op_fail(layer, err, err_len, "input has %zu elements, target shape %zu",
                             n_in_elems, n_out_elems);
    *out = *target;
    return SIEVE_OK;
}

size_t sieve_reshape_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

uint64_t sieve_reshape_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                            const sieve_shape *out)
{
    (void)layer, (void)in, (void)n_in;
    return out_elements(out);
}

void sieve_reshape_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                           float *out, const sieve_shape *out_shape)
{
    (void)layer, (void)n_in;
    size_t n = 0;
    sieve_op_numel(out_shape, &n);
    for (size_t i = 0; i < n; i++)
        out[i] = sieve_op_input_at(&in[0], i);
}

void sieve_reshape_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                       const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)layer, (void)n_in, (void)env;
    copy_input(&in[0], out, out_shape);
}

/* ---- Flatten ------------------------------------------------------------ */

sieve_status sieve_flatten_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                 sieve_shape *out, char *err, size_t err_len)
{
    size_t numel;
    if (n_in != 1)
        return sieve_op_fail(layer, err, err_len, "takes 1 input, got %d", n_in);
    if (!sieve_op_numel(&in[0], &numel))
        return sieve_op_fail(layer, err, err_len, "bad input shape (rank %d)", in[0].rank);
    int rank = in[0].rank, axis = layer->attrs.axis.axis;
    if (axis < -rank || axis > rank)
        return sieve_op_fail(layer, err, err_len, "axis %d out of range for rank %d", axis, rank);
    if (axis < 0)
        axis += rank;
    out->rank = 2;
    out->dims[0] = (int64_t)sieve_op_dims_product(&in[0], 0, axis);
    out->dims[1] = (int64_t)sieve_op_dims_product(&in[0], axis, rank);
    return SIEVE_OK;
}

size_t sieve_flatten_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

uint64_t sieve_flatten_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                            const sieve_shape *out)
{
    (void)layer, (void)in, (void)n_in;
    return out_elements(out);
}

void sieve_flatten_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                           float *out, const sieve_shape *out_shape)
{
    sieve_reshape_run_ref(layer, in, n_in, out, out_shape);
}

void sieve_flatten_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                       const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)layer, (void)n_in, (void)env;
    copy_input(&in[0], out, out_shape);
}
