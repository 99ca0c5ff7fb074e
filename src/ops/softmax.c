/* libsieve — softmax along one axis (ONNX opset >= 13), or in the opset < 13
 * form that flattens the input to 2-D at the axis and normalizes each row
 * of the second dimension as a whole. */
#include <math.h>

#include "kernels.h"

/* Positions along the inner (post-axis) dimensions normalized together, so
 * the loops over the axis run over contiguous memory. */
#define SOFTMAX_BLOCK 64

typedef struct softmax_geom {
    size_t outer, len, inner; /* x viewed as [outer, len, inner], softmax over len */
} softmax_geom;

static int softmax_axis(const sieve_layer *layer, int rank)
{
    int axis = layer->attrs.axis.axis;
    return axis < 0 ? axis + rank : axis;
}

static void softmax_geometry(const sieve_layer *layer, const sieve_shape *x, softmax_geom *g)
{
    int axis = softmax_axis(layer, x->rank);
    g->outer = sieve_op_dims_product(x, 0, axis);
    if (layer->attrs.axis.softmax_coerce_2d) {
        g->len = sieve_op_dims_product(x, axis, x->rank);
        g->inner = 1;
    } else {
        g->len = (size_t)x->dims[axis];
        g->inner = sieve_op_dims_product(x, axis + 1, x->rank);
    }
}

sieve_status sieve_softmax_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                 sieve_shape *out, char *err, size_t err_len)
{
    size_t numel;
    if (n_in != 1)
        return sieve_op_fail(layer, err, err_len, "takes 1 input, got %d", n_in);
    if (in[0].rank < 1 || !sieve_op_numel(&in[0], &numel))
        return sieve_op_fail(layer, err, err_len, "input must have rank >= 1, has rank %d",
                             in[0].rank);
    int rank = in[0].rank, axis = layer->attrs.axis.axis;
    /* The opset < 13 form also accepts axis == rank (rows of one element). */
    int hi = layer->attrs.axis.softmax_coerce_2d ? rank : rank - 1;
    if (axis < -rank || axis > hi)
        return sieve_op_fail(layer, err, err_len, "axis %d out of range for rank %d", axis, rank);
    *out = in[0];
    return SIEVE_OK;
}

size_t sieve_softmax_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return 0;
}

uint64_t sieve_softmax_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                            const sieve_shape *out)
{
    (void)layer, (void)in, (void)n_in;
    size_t n = 0;
    sieve_op_numel(out, &n);
    return n;
}

void sieve_softmax_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                           float *out, const sieve_shape *out_shape)
{
    (void)n_in, (void)out_shape;
    softmax_geom g;
    softmax_geometry(layer, &in[0].shape, &g);
    const float *x = in[0].f32;
    for (size_t o = 0; o < g.outer; o++)
        for (size_t i = 0; i < g.inner; i++) {
            size_t base = o * g.len * g.inner + i;
            float max = -INFINITY;
            for (size_t k = 0; k < g.len; k++)
                max = SIEVE_MAX(max, x[base + k * g.inner]);
            double sum = 0.0;
            for (size_t k = 0; k < g.len; k++)
                sum += exp((double)x[base + k * g.inner] - max);
            for (size_t k = 0; k < g.len; k++)
                out[base + k * g.inner] = (float)(exp((double)x[base + k * g.inner] - max) / sum);
        }
}

typedef struct softmax_run {
    softmax_geom g;
    const float *x;
    float *y;
    size_t blocks; /* inner blocks per outer index */
} softmax_run;

static void softmax_rows(const softmax_run *r, size_t begin, size_t end)
{
    size_t len = r->g.len;
    for (size_t o = begin; o < end; o++) {
        const float *restrict x = r->x + o * len;
        float *restrict y = r->y + o * len;
        float max = -INFINITY;
        for (size_t k = 0; k < len; k++)
            max = x[k] > max ? x[k] : max;
        float sum = 0.0f;
        for (size_t k = 0; k < len; k++) {
            y[k] = expf(x[k] - max);
            sum += y[k];
        }
        float inv = 1.0f / sum;
        for (size_t k = 0; k < len; k++)
            y[k] *= inv;
    }
}

static void softmax_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const softmax_run *r = arg;
    const softmax_geom *g = &r->g;
    if (g->inner == 1) {
        softmax_rows(r, begin, end);
        return;
    }
    float max[SOFTMAX_BLOCK], sum[SOFTMAX_BLOCK];
    for (size_t t = begin; t < end; t++) {
        size_t o = t / r->blocks, i0 = (t % r->blocks) * SOFTMAX_BLOCK;
        size_t n = SIEVE_MIN((size_t)SOFTMAX_BLOCK, g->inner - i0);
        const float *x = r->x + o * g->len * g->inner + i0;
        float *y = r->y + o * g->len * g->inner + i0;
        for (size_t i = 0; i < n; i++) {
            max[i] = -INFINITY;
            sum[i] = 0.0f;
        }
        for (size_t k = 0; k < g->len; k++)
            for (size_t i = 0; i < n; i++)
                max[i] = x[k * g->inner + i] > max[i] ? x[k * g->inner + i] : max[i];
        for (size_t k = 0; k < g->len; k++)
            for (size_t i = 0; i < n; i++) {
                float e = expf(x[k * g->inner + i] - max[i]);
                y[k * g->inner + i] = e;
                sum[i] += e;
            }
        for (size_t i = 0; i < n; i++)
            sum[i] = 1.0f / sum[i];
        for (size_t k = 0; k < g->len; k++)
            for (size_t i = 0; i < n; i++)
                y[k * g->inner + i] *= sum[i];
    }
}

void sieve_softmax_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                       const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)n_in, (void)out_shape;
    softmax_run r;
    softmax_geometry(layer, &in[0].shape, &r.g);
    r.x = in[0].f32;
    r.y = out;
    r.blocks = (r.g.inner + SOFTMAX_BLOCK - 1) / SOFTMAX_BLOCK;
    size_t tasks = r.g.inner == 1 ? r.g.outer : r.g.outer * r.blocks;
    if (r.g.len == 0)
        return;
    sieve_parallel_for(env->pool, tasks, softmax_range, &r);
}
