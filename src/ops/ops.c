/* libsieve — the kernel table, op names, and helpers every kernel shares. */
#include <stdio.h>
#include <string.h>

#include "kernels.h"

#define SIEVE_KERNEL_ENTRY(fam)                                                               \
    {                                                                                          \
        .infer = sieve_##fam##_infer, .scratch_floats = sieve_##fam##_scratch,                  \
        .macs = sieve_##fam##_macs, .run = sieve_##fam##_run, .run_ref = sieve_##fam##_run_ref, \
    }

#define SIEVE_KERNEL_ENTRY_PACKED(fam)                                                         \
    {                                                                                          \
        .infer = sieve_##fam##_infer, .scratch_floats = sieve_##fam##_scratch,                  \
        .macs = sieve_##fam##_macs, .run = sieve_##fam##_run, .run_ref = sieve_##fam##_run_ref, \
        .run_packed = sieve_##fam##_run_packed,                                                 \
    }

const sieve_op_kernel sieve_op_kernels[SIEVE_OP_COUNT] = {
    [SIEVE_OP_CONV] =
        {
            .infer = sieve_conv_infer, .scratch_floats = sieve_conv_scratch,
            .macs = sieve_conv_macs, .run = sieve_conv_run, .run_ref = sieve_conv_run_ref,
            .run_encoded = sieve_conv_run_encoded, .input_as_codes = sieve_conv_input_as_codes,
        },
    [SIEVE_OP_MAXPOOL] = SIEVE_KERNEL_ENTRY_PACKED(maxpool),
    [SIEVE_OP_AVGPOOL] = SIEVE_KERNEL_ENTRY(avgpool),
    [SIEVE_OP_GLOBALAVGPOOL] = SIEVE_KERNEL_ENTRY(globalavgpool),
    [SIEVE_OP_GLOBALMAXPOOL] = SIEVE_KERNEL_ENTRY(globalmaxpool),
    [SIEVE_OP_RELU] = SIEVE_KERNEL_ENTRY_PACKED(relu),
    [SIEVE_OP_LRN] = SIEVE_KERNEL_ENTRY(lrn),
    [SIEVE_OP_BATCHNORM] = SIEVE_KERNEL_ENTRY(batchnorm),
    [SIEVE_OP_GEMM] = SIEVE_KERNEL_ENTRY(gemm),
    [SIEVE_OP_MATMUL] = SIEVE_KERNEL_ENTRY(matmul),
    [SIEVE_OP_SOFTMAX] = SIEVE_KERNEL_ENTRY(softmax),
    [SIEVE_OP_CONCAT] = SIEVE_KERNEL_ENTRY_PACKED(concat),
    [SIEVE_OP_ADD] = SIEVE_KERNEL_ENTRY_PACKED(add),
    [SIEVE_OP_RESHAPE] = SIEVE_KERNEL_ENTRY(reshape),
    [SIEVE_OP_FLATTEN] = SIEVE_KERNEL_ENTRY(flatten),
};

static const char *const op_names[SIEVE_OP_COUNT] = {
#define SIEVE_X_OP_NAME(id, name) [SIEVE_OP_##id] = name,
    SIEVE_OP_LIST(SIEVE_X_OP_NAME)
#undef SIEVE_X_OP_NAME
};

const char *sieve_op_name(sieve_op op)
{
    if ((unsigned)op >= SIEVE_OP_COUNT)
        return "unknown";
    return op_names[op];
}

int sieve_op_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SIEVE_OP_COUNT; i++)
        if (strcmp(op_names[i], name) == 0)
            return i;
    return -1;
}

float sieve_op_input_at(const sieve_op_input *in, size_t i)
{
    if (in->f32)
        return in->f32[i];
    float v = 0.0f;
    sieve_format_load(&in->format, in->packed, i, 1, &v);
    return v;
}

void sieve_op_input_load(const sieve_op_input *in, size_t first, size_t n, float *dst)
{
    if (n == 0)
        return;
    if (in->f32)
        memcpy(dst, in->f32 + first, n * sizeof(float));
    else
        sieve_format_load(&in->format, in->packed, first, n, dst);
}

sieve_status sieve_op_fail(const sieve_layer *layer, char *err, size_t err_len, const char *fmt,
                           ...)
{
    if (err && err_len > 0) {
        int used = snprintf(err, err_len, "%s: ", sieve_op_name(layer->op));
        if (used < 0)
            used = 0;
        if ((size_t)used < err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + used, err_len - (size_t)used, fmt, ap);
            va_end(ap);
        }
    }
    return SIEVE_ERR_SHAPE;
}

bool sieve_op_numel(const sieve_shape *shape, size_t *numel)
{
    if (shape->rank < 0 || shape->rank > SIEVE_MAX_RANK)
        return false;
    size_t n = 1;
    for (int d = 0; d < shape->rank; d++) {
        if (shape->dims[d] < 0 || (uint64_t)shape->dims[d] > SIZE_MAX)
            return false;
        if (!sieve_mul_size(n, (size_t)shape->dims[d], &n))
            return false;
    }
    /* Element counts are also byte counts of fp32 buffers downstream. */
    if (n > SIZE_MAX / sizeof(float))
        return false;
    *numel = n;
    return true;
}

size_t sieve_op_dims_product(const sieve_shape *shape, int begin, int end)
{
    size_t n = 1;
    for (int d = begin; d < end; d++)
        n *= (size_t)shape->dims[d];
    return n;
}

bool sieve_op_shape_present(const sieve_shape *in, int n_in, int i)
{
    return i < n_in && in[i].rank >= 0;
}

bool sieve_op_input_present(const sieve_op_input *in, int n_in, int i)
{
    return i < n_in && in[i].shape.rank >= 0 && (in[i].f32 || in[i].packed);
}

sieve_pool *sieve_op_pool_for_scratch(const sieve_op_env *env, size_t slice_floats, bool *ok)
{
    size_t slice = sieve_op_slice_floats(slice_floats);
    int threads = sieve_pool_threads(env->pool);
    *ok = slice == 0 || (env->scratch && env->scratch_floats >= slice);
    if (slice == 0 || (env->scratch && env->scratch_floats / slice >= (size_t)threads))
        return env->pool;
    return NULL;
}
