/* libsieve — ONNX import: a ModelProto becomes a sieve graph.
 *
 * Supported: opsets 1-17 of the default domain. Modern exports use 7-17;
 * older opsets differ for the ops below only in a few legacy attributes,
 * handled explicitly: `broadcast`/`axis` of the arithmetic ops before 7,
 * `consumed_inputs` (an in-place hint) before 6, Reshape's `shape` attribute
 * before 5 and Concat's default axis before 4. (The PyTorch-converted ONNX
 * backend tests are opset 6, a few node tests opset 1.)
 *
 * The importer works on its own small representation first, so that fusions
 * can rewrite layers before anything reaches the model:
 *   values  every ONNX name maps to a value: a graph input, a constant known
 *           at import time (initializers, Constant nodes, folded shape
 *           arithmetic) or the output of a pending layer. Shapes are static;
 *           layer outputs are inferred by the kernels' own `infer`.
 *   nodes   are imported in file order (which must be topological): each op
 *           handler folds, aliases (Identity, Dropout) or appends a pending
 *           layer. Relu (and Clip to [0, inf)) fuses into the conv/gemm/add
 *           before it, BatchNormalization into the conv, a constant bias Add
 *           into the MatMul (making a gemm), a zero Pad into the conv or
 *           average pool after it - each only when the intermediate result
 *           has no other reader and is not a graph output.
 *   model   the live layers, the constants and activations they use and the
 *           graph inputs and outputs are then added to the sieve_model.
 *
 * Shapes are fixed at import: a symbolic batch dimension becomes 1, and
 * Shape/Reshape arithmetic is folded with it. 1-D convolution and pooling run
 * as 2-D ones of height 1.
 *
 * Every count, index and size read from the file is checked; errors name the
 * node or tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>

#include "common.h"
#include "graph.h"
#include "onnx.pb-c.h"
#include "ops/ops.h"

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        sieve_status try_status_ = (expr);                                                         \
        if (try_status_ != SIEVE_OK)                                                               \
            return try_status_;                                                                    \
    } while (0)

enum {
    ONNX_OPSET_MIN = 1,
    ONNX_OPSET_MAX = 17,
    /* Nesting of messages allowed in a file; ONNX models need about 10. */
    ONNX_MAX_NESTING = 64,
    /* Bound on kernel sizes, strides, dilations and pads read from attributes,
     * far above any real network, so index arithmetic cannot overflow. */
    ONNX_MAX_WINDOW = 1 << 20,
};

/* ---- protobuf-c plumbing ------------------------------------------------- */

/* protobuf-c's free() gets no size but sieve allocators want one: each block
 * carries its size in a 16-byte header (keeping malloc's alignment). */
typedef struct pb_alloc_state {
    sieve_context *ctx;
    bool failed;
} pb_alloc_state;

#define PB_HEADER 16

static void *pb_alloc(void *data, size_t size)
{
    pb_alloc_state *st = data;
    size_t total;
    if (!sieve_add_size(size, PB_HEADER, &total)) {
        st->failed = true;
        return NULL;
    }
    uint8_t *p = st->ctx->alloc.alloc(st->ctx->alloc.user, total);
    if (!p) {
        st->failed = true;
        return NULL;
    }
    memcpy(p, &total, sizeof(total));
    return p + PB_HEADER;
}

static void pb_free(void *data, void *ptr)
{
    pb_alloc_state *st = data;
    if (!ptr)
        return;
    uint8_t *p = (uint8_t *)ptr - PB_HEADER;
    size_t total;
    memcpy(&total, p, sizeof(total));
    st->ctx->alloc.free(st->ctx->alloc.user, p, total);
}

static bool pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* protobuf-c unpacks nested messages recursively without a depth limit, so a
 * small file of deeply nested messages would overflow the stack. This walk of
 * the wire format (its own recursion bounded) rejects such files first. */
static bool pb_nesting_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                          const uint8_t *end, int depth)
{
    if (depth > ONNX_MAX_NESTING)
        return false;
    while (p < end) {
        uint64_t key, len;
        if (!pb_read_varint(&p, end, &key))
            return false;
        switch (key & 7) {
        case 0: /* varint */
            if (!pb_read_varint(&p, end, &len))
                return false;
            break;
        case 1: /* fixed64 */
            if (end - p < 8)
                return false;
            p += 8;
            break;
        case 5: /* fixed32 */
            if (end - p < 4)
                return false;
            p += 4;
            break;
        case 2: { /* length-delimited: bytes, strings, packed arrays, messages */
            if (!pb_read_varint(&p, end, &len) || len > (uint64_t)(end - p))
                return false;
            uint64_t tag = key >> 3;
            const ProtobufCFieldDescriptor *f =
                tag <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)tag)
                                  : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !pb_nesting_ok(f->descriptor, p, p + len, depth + 1))
                return false;
            p += len;
            break;
        }
        default: /* groups (deprecated, unused by ONNX) and invalid wire types */
            return false;
        }
    }
    return true;
}

static sieve_status pb_unpack(sieve_context *ctx, ProtobufCAllocator *pba,
                              const ProtobufCMessageDescriptor *desc, const void *data, size_t size,
                              const char *what, ProtobufCMessage **out)
{
    pb_alloc_state *st = pba->allocator_data;
    *out = NULL;
    if (!data && size > 0)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "%s: NULL data of %zu bytes", what, size);
    if (size > 0 && !pb_nesting_ok(desc, data, (const uint8_t *)data + size, 0))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT,
                          "%s: not a valid protobuf message (truncated, corrupt, or nested "
                          "deeper than %d levels)",
                          what, ONNX_MAX_NESTING);
    st->failed = false;
    *out = protobuf_c_message_unpack(desc, pba, size, size ? data : (const uint8_t *)"");
    if (!*out) {
        if (st->failed)
            return sieve_fail(ctx, SIEVE_ERR_NOMEM, "%s: out of memory while parsing", what);
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: not a valid protobuf message", what);
    }
    return SIEVE_OK;
}

/* ---- element types and TensorProto decoding ---------------------------- */

/* How constant values are held during import: floats as fp32 (the weights,
 * the bulk of a model), integers and booleans as int64 (shape arithmetic),
 * doubles as double. */
typedef enum value_kind { KIND_F32, KIND_I64, KIND_F64 } value_kind;

static size_t kind_size(value_kind kind)
{
    return kind == KIND_F32 ? sizeof(float) : 8;
}

/* TensorProto field that holds a type's values when raw_data is absent. */
typedef enum typed_field {
    FIELD_FLOAT,
    FIELD_INT32,
    FIELD_INT64,
    FIELD_DOUBLE,
    FIELD_UINT64
} typed_field;

typedef struct onnx_dtype_info {
    const char *name;
    uint8_t raw_bytes; /* bytes per element in raw_data; 0: type not readable */
    uint8_t field;     /* typed_field */
    uint8_t kind;      /* value_kind */
    bool is_signed;
} onnx_dtype_info;

static const onnx_dtype_info onnx_dtypes[] = {
    [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT] = {"float", 4, FIELD_FLOAT, KIND_F32, true},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT8] = {"uint8", 1, FIELD_INT32, KIND_I64, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT8] = {"int8", 1, FIELD_INT32, KIND_I64, true},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT16] = {"uint16", 2, FIELD_INT32, KIND_I64, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT16] = {"int16", 2, FIELD_INT32, KIND_I64, true},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT32] = {"int32", 4, FIELD_INT32, KIND_I64, true},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT64] = {"int64", 8, FIELD_INT64, KIND_I64, true},
    [ONNX__TENSOR_PROTO__DATA_TYPE__STRING] = {"string", 0, 0, 0, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__BOOL] = {"bool", 1, FIELD_INT32, KIND_I64, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16] = {"float16", 2, FIELD_INT32, KIND_F32, true},
    [ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE] = {"double", 8, FIELD_DOUBLE, KIND_F64, true},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT32] = {"uint32", 4, FIELD_UINT64, KIND_I64, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT64] = {"uint64", 8, FIELD_UINT64, KIND_I64, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64] = {"complex64", 0, 0, 0, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128] = {"complex128", 0, 0, 0, false},
    [ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16] = {"bfloat16", 2, FIELD_INT32, KIND_F32, true},
};

#define DT_FLOAT ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define DT_INT64 ONNX__TENSOR_PROTO__DATA_TYPE__INT64
#define DT_BOOL ONNX__TENSOR_PROTO__DATA_TYPE__BOOL

static const onnx_dtype_info *dtype_info(int64_t dtype)
{
    if (dtype <= 0 || dtype >= (int64_t)SIEVE_ARRAY_LEN(onnx_dtypes) || !onnx_dtypes[dtype].name)
        return NULL;
    return &onnx_dtypes[dtype];
}

/* Readable (numeric, non-complex) element type, or NULL. */
static const onnx_dtype_info *dtype_readable(int64_t dtype)
{
    const onnx_dtype_info *info = dtype_info(dtype);
    return info && info->raw_bytes ? info : NULL;
}

static const char *dtype_name(int64_t dtype)
{
    const onnx_dtype_info *info = dtype_info(dtype);
    return info ? info->name : "an unknown element type";
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) { /* inf / NaN */
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal half: normal as fp32 */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

/* Raw little-endian bits of element i, whichever field holds it. */
static uint64_t tensor_bits(const Onnx__TensorProto *t, const onnx_dtype_info *info, size_t i)
{
    if (t->has_raw_data) {
        const uint8_t *p = t->raw_data.data + i * info->raw_bytes;
        uint64_t v = 0;
        for (unsigned b = 0; b < info->raw_bytes; b++)
            v |= (uint64_t)p[b] << (8 * b);
        return v;
    }
    switch ((typed_field)info->field) {
    case FIELD_FLOAT: {
        uint32_t u;
        memcpy(&u, &t->float_data[i], sizeof(u));
        return u;
    }
    case FIELD_INT32:
        return (uint32_t)t->int32_data[i];
    case FIELD_INT64:
        return (uint64_t)t->int64_data[i];
    case FIELD_DOUBLE: {
        uint64_t u;
        memcpy(&u, &t->double_data[i], sizeof(u));
        return u;
    }
    case FIELD_UINT64:
        return t->uint64_data[i];
    }
    return 0;
}

/* Integer value of the low `bytes` bytes of `bits` (signed or not). */
static int64_t bits_to_int(uint64_t bits, unsigned bytes, bool is_signed)
{
    if (bytes >= 8)
        return (int64_t)bits;
    unsigned width = 8 * bytes;
    uint64_t v = bits & ((UINT64_C(1) << width) - 1);
    if (is_signed && (v >> (width - 1)))
        return (int64_t)(v | ~((UINT64_C(1) << width) - 1));
    return (int64_t)v;
}

static double bits_to_f64(int32_t dtype, const onnx_dtype_info *info, uint64_t bits)
{
    switch (dtype) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
        uint32_t u = (uint32_t)bits;
        float f;
        memcpy(&f, &u, sizeof(f));
        return f;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
        double d;
        memcpy(&d, &bits, sizeof(d));
        return d;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        return half_to_float((uint16_t)bits);
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: {
        uint32_t u = (uint32_t)(bits & 0xffff) << 16;
        float f;
        memcpy(&f, &u, sizeof(f));
        return f;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        return (bits & 0xff) != 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        return (double)bits;
    default:
        return (double)bits_to_int(bits, info->raw_bytes, info->is_signed);
    }
}

static int64_t bits_to_i64(int32_t dtype, const onnx_dtype_info *info, uint64_t bits)
{
    if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
        return (bits & 0xff) != 0;
    return bits_to_int(bits, info->raw_bytes, info->is_signed);
}

/* A decoded tensor: numel values of `kind`, in owned memory. */
typedef struct decoded_tensor {
    int32_t dtype;
    value_kind kind;
    sieve_shape shape;
    size_t numel;
    void *data;
    size_t bytes;
    bool borrowed; /* data points into the TensorProto, not owned */
} decoded_tensor;

static bool host_is_little_endian(void)
{
    const uint16_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

/* Checks shape, element type and data length of a TensorProto. */
static sieve_status tensor_check(sieve_context *ctx, const Onnx__TensorProto *t, const char *what,
                                 const onnx_dtype_info **info_out, sieve_shape *shape,
                                 size_t *numel_out)
{
    if (t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL || t->n_external_data > 0)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED,
                          "%s: data stored in an external file (data_location EXTERNAL) is not "
                          "supported; save the model with its tensors embedded",
                          what);
    if (t->segment)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "%s: segmented tensors are not supported",
                          what);
    if (!t->has_data_type)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: no element type", what);
    const onnx_dtype_info *info = dtype_readable(t->data_type);
    if (!info)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "%s: element type %s is not supported", what,
                          dtype_name(t->data_type));
    if (t->n_dims > SIEVE_MAX_RANK)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "%s: rank %zu exceeds the maximum of %d",
                          what, t->n_dims, SIEVE_MAX_RANK);
    shape->rank = (int)t->n_dims;
    size_t numel = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        int64_t dim = t->dims[d];
        if (dim < 0)
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: negative dimension %lld", what,
                              (long long)dim);
        if ((uint64_t)dim > SIZE_MAX || !sieve_mul_size(numel, (size_t)dim, &numel) ||
            numel > SIZE_MAX / 8 || numel > (size_t)INT64_MAX)
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: element count overflows", what);
        shape->dims[d] = dim;
    }
    if (t->has_raw_data) {
        size_t expect = numel * info->raw_bytes;
        if (t->raw_data.len != expect || (expect > 0 && !t->raw_data.data))
            return sieve_fail(ctx, SIEVE_ERR_FORMAT,
                              "%s: raw_data holds %zu bytes, %zu %s elements need %zu", what,
                              t->raw_data.len, numel, info->name, expect);
    } else {
        size_t have = 0;
        switch ((typed_field)info->field) {
        case FIELD_FLOAT:
            have = t->float_data ? t->n_float_data : 0;
            break;
        case FIELD_INT32:
            have = t->int32_data ? t->n_int32_data : 0;
            break;
        case FIELD_INT64:
            have = t->int64_data ? t->n_int64_data : 0;
            break;
        case FIELD_DOUBLE:
            have = t->double_data ? t->n_double_data : 0;
            break;
        case FIELD_UINT64:
            have = t->uint64_data ? t->n_uint64_data : 0;
            break;
        }
        if (have != numel)
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: holds %zu values for %zu %s elements",
                              what, have, numel, info->name);
    }
    *info_out = info;
    *numel_out = numel;
    return SIEVE_OK;
}

/* Writes the tensor's values as fp32 into dst (numel elements). */
static void tensor_to_f32(const Onnx__TensorProto *t, const onnx_dtype_info *info, size_t numel,
                          float *dst)
{
    if (t->data_type == DT_FLOAT && t->has_raw_data && host_is_little_endian()) {
        if (numel)
            memcpy(dst, t->raw_data.data, numel * sizeof(float));
        return;
    }
    if (t->data_type == DT_FLOAT && !t->has_raw_data) {
        if (numel)
            memcpy(dst, t->float_data, numel * sizeof(float));
        return;
    }
    for (size_t i = 0; i < numel; i++)
        dst[i] = (float)bits_to_f64(t->data_type, info, tensor_bits(t, info, i));
}

/* Decodes a tensor into values of its kind. With may_borrow (the message
 * outlives the result), little-endian fp32 raw data is used in place rather
 * than copied: weights are most of a model's bytes. */
static sieve_status tensor_decode(sieve_context *ctx, const Onnx__TensorProto *t, const char *what,
                                  bool may_borrow, decoded_tensor *out)
{
    const onnx_dtype_info *info;
    memset(out, 0, sizeof(*out));
    TRY(tensor_check(ctx, t, what, &info, &out->shape, &out->numel));
    out->dtype = t->data_type;
    out->kind = (value_kind)info->kind;
    out->bytes = out->numel * kind_size(out->kind);
    if (may_borrow && t->data_type == DT_FLOAT && t->has_raw_data && out->numel > 0 &&
        host_is_little_endian() && (uintptr_t)t->raw_data.data % _Alignof(float) == 0) {
        out->data = t->raw_data.data;
        out->borrowed = true;
        return SIEVE_OK;
    }
    out->data = sieve_alloc(ctx, out->bytes ? out->bytes : 1);
    if (!out->data)
        return SIEVE_ERR_NOMEM;
    switch (out->kind) {
    case KIND_F32:
        tensor_to_f32(t, info, out->numel, out->data);
        break;
    case KIND_I64: {
        int64_t *d = out->data;
        for (size_t i = 0; i < out->numel; i++)
            d[i] = bits_to_i64(t->data_type, info, tensor_bits(t, info, i));
        break;
    }
    case KIND_F64: {
        double *d = out->data;
        for (size_t i = 0; i < out->numel; i++)
            d[i] = bits_to_f64(t->data_type, info, tensor_bits(t, info, i));
        break;
    }
    }
    return SIEVE_OK;
}

/* ---- a string -> int map (open addressing, owned keys) ------------------ */

typedef struct name_map {
    char **keys;
    int *vals;
    size_t cap; /* power of two, or 0 */
    size_t count;
} name_map;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int *map_find(const name_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = name_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return NULL;
        if (strcmp(m->keys[i], key) == 0)
            return &m->vals[i];
    }
}

static sieve_status map_put(sieve_context *ctx, name_map *m, const char *key, int val)
{
    int *slot = map_find(m, key);
    if (slot) {
        *slot = val;
        return SIEVE_OK;
    }
    if ((m->count + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        char **keys = sieve_calloc(ctx, cap, sizeof(*keys));
        int *vals = sieve_calloc(ctx, cap, sizeof(*vals));
        if (!keys || !vals) {
            sieve_free(ctx, keys, cap * sizeof(*keys));
            sieve_free(ctx, vals, cap * sizeof(*vals));
            return SIEVE_ERR_NOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = name_hash(m->keys[i]) & (cap - 1);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        sieve_free(ctx, m->keys, m->cap * sizeof(*m->keys));
        sieve_free(ctx, m->vals, m->cap * sizeof(*m->vals));
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    char *copy = sieve_strdup(ctx, key);
    if (!copy)
        return SIEVE_ERR_NOMEM;
    size_t i = name_hash(key) & (m->cap - 1);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = copy;
    m->vals[i] = val;
    m->count++;
    return SIEVE_OK;
}

static void map_free(sieve_context *ctx, name_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        sieve_free_str(ctx, m->keys[i]);
    sieve_free(ctx, m->keys, m->cap * sizeof(*m->keys));
    sieve_free(ctx, m->vals, m->cap * sizeof(*m->vals));
    memset(m, 0, sizeof(*m));
}

/* ---- importer state -------------------------------------------------------- */

typedef struct onnx_value {
    char *name;    /* name of its sieve tensor (owned) */
    int32_t dtype; /* ONNX element type */
    sieve_shape shape;
    bool is_const; /* known at import time: values in `data` */
    value_kind kind;
    void *data;
    size_t bytes;
    bool borrowed;  /* data points into the ModelProto, not owned */
    bool is_input;  /* graph input fed at run time */
    int producer;   /* pending layer writing it, or -1 */
    int uses;       /* node inputs and graph outputs naming it, through aliases */
    bool is_output; /* one of its names is a graph output */
    bool claimed;   /* already stands for a graph output in the model */
    int tensor;     /* sieve tensor once in the model, or -1 */
    /* A zero Pad is not a layer: its output is a view of pad_source (or -1)
     * padded by pad[] (top, left, bottom, right), folded into the Conv or
     * AveragePool that reads it. */
    int pad_source;
    int pad[4];
} onnx_value;

typedef struct onnx_layer {
    char *name;
    sieve_op op;
    sieve_layer_attrs attrs;
    int n_inputs;
    int inputs[SIEVE_MAX_LAYER_INPUTS]; /* value ids, -1: optional input absent */
    int output;
} onnx_layer;

typedef struct onnx_importer {
    sieve_context *ctx;
    int64_t opset;
    onnx_value *values;
    int n_values, cap_values;
    onnx_layer *layers;
    int n_layers, cap_layers;
    name_map value_of;      /* ONNX and generated names -> value */
    name_map uses_of;       /* every ONNX name of the graph -> how many consume it */
    name_map graph_outputs; /* names of graph outputs */
    int *graph_inputs;      /* values fed at run time, in graph order */
    int n_graph_inputs;
    /* The node being imported, for the handlers and for messages. */
    const Onnx__NodeProto *node;
    char *label; /* node name, or "<op_type>_<index>" for unnamed nodes */
    int *in;     /* value ids of the node's inputs, -1 when absent */
    int n_in, cap_in;
    bool any_dtype; /* layer inputs may be non-float (copies of constants) */
} onnx_importer;

#define VAL(id) (&imp->values[(id)])

static sieve_status node_fail(onnx_importer *imp, sieve_status status, const char *fmt, ...)
    SIEVE_PRINTF(3, 4);

static sieve_status node_fail(onnx_importer *imp, sieve_status status, const char *fmt, ...)
{
    char msg[SIEVE_ERROR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!imp->node)
        return sieve_fail(imp->ctx, status, "%s", msg);
    return sieve_fail(imp->ctx, status, "node '%s' (%s): %s", imp->label, imp->node->op_type, msg);
}

static sieve_status unsupported_op(onnx_importer *imp, const char *why)
{
    return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED, "unsupported op '%s' at node '%s'%s%s",
                      imp->node->op_type, imp->label, why ? ": " : "", why ? why : "");
}

static int64_t shape_numel(const sieve_shape *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->rank; d++) {
        if (s->dims[d] < 0 || (s->dims[d] > 0 && n > INT64_MAX / s->dims[d]))
            return -1;
        n *= s->dims[d];
    }
    return n;
}

static const char *shape_str(const sieve_shape *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < s->rank && used < len; d++)
        used +=
            (size_t)snprintf(buf + used, len - used, d ? ",%lld" : "%lld", (long long)s->dims[d]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

static int value_new(onnx_importer *imp, const char *name, int32_t dtype, const sieve_shape *shape)
{
    if (imp->n_values == imp->cap_values) {
        int cap = imp->cap_values ? imp->cap_values * 2 : 64;
        onnx_value *v = sieve_realloc(imp->ctx, imp->values, (size_t)imp->cap_values * sizeof(*v),
                                      (size_t)cap * sizeof(*v));
        if (!v)
            return -1;
        imp->values = v;
        imp->cap_values = cap;
    }
    onnx_value *v = &imp->values[imp->n_values];
    memset(v, 0, sizeof(*v));
    v->name = sieve_strdup(imp->ctx, name);
    if (!v->name)
        return -1;
    v->dtype = dtype;
    v->shape = *shape;
    v->producer = -1;
    v->tensor = -1;
    v->pad_source = -1;
    return imp->n_values++;
}

static sieve_status value_rename(onnx_importer *imp, int id, const char *name)
{
    char *copy = sieve_strdup(imp->ctx, name);
    if (!copy)
        return SIEVE_ERR_NOMEM;
    sieve_free_str(imp->ctx, VAL(id)->name);
    VAL(id)->name = copy;
    return SIEVE_OK;
}

/* Makes `name` refer to value `id`, counting the consumers of that name. */
static sieve_status name_bind(onnx_importer *imp, const char *name, int id)
{
    TRY(map_put(imp->ctx, &imp->value_of, name, id));
    const int *uses = map_find(&imp->uses_of, name);
    if (uses)
        VAL(id)->uses += *uses;
    if (map_find(&imp->graph_outputs, name))
        VAL(id)->is_output = true;
    return SIEVE_OK;
}

/* Defines a node output name (each ONNX name is assigned once). */
static sieve_status define_output(onnx_importer *imp, const char *name, int id)
{
    if (map_find(&imp->value_of, name))
        return node_fail(imp, SIEVE_ERR_FORMAT,
                         "output '%s' is already defined (ONNX assigns each name once)", name);
    return name_bind(imp, name, id);
}

/* Output `name` is the same tensor as value `id` (Identity, Dropout, fusions). */
static sieve_status alias_output(onnx_importer *imp, const char *name, int id)
{
    VAL(id)->uses--; /* the aliasing node's own use */
    return define_output(imp, name, id);
}

/* "<base>.<suffix>", numbered if needed, unused by the graph; owned. */
static char *unique_name(onnx_importer *imp, const char *base, const char *suffix)
{
    size_t len = strlen(base) + strlen(suffix) + 24;
    char *buf = sieve_alloc(imp->ctx, len);
    if (!buf)
        return NULL;
    for (unsigned k = 1;; k++) {
        if (k == 1)
            snprintf(buf, len, "%s.%s", base, suffix);
        else
            snprintf(buf, len, "%s.%s%u", base, suffix, k);
        if (!map_find(&imp->value_of, buf) && !map_find(&imp->uses_of, buf))
            break;
    }
    char *name = sieve_strdup(imp->ctx, buf);
    sieve_free(imp->ctx, buf, len);
    return name;
}

/* A new value for a node output (out_name) or, when out_name is NULL, for an
 * intermediate result named after the node. */
static sieve_status value_for_output(onnx_importer *imp, const char *out_name, const char *suffix,
                                     int32_t dtype, const sieve_shape *shape, int *out)
{
    if (out_name) {
        int id = value_new(imp, out_name, dtype, shape);
        if (id < 0)
            return SIEVE_ERR_NOMEM;
        TRY(define_output(imp, out_name, id));
        *out = id;
        return SIEVE_OK;
    }
    char *name = unique_name(imp, imp->label, suffix ? suffix : "out");
    if (!name)
        return SIEVE_ERR_NOMEM;
    int id = value_new(imp, name, dtype, shape);
    sieve_status st = id < 0 ? SIEVE_ERR_NOMEM : name_bind(imp, name, id);
    sieve_free_str(imp->ctx, name);
    *out = id;
    return st;
}

/* Folded constants are capped so that a tiny file cannot make the importer
 * allocate gigabytes (ConstantOfShape, broadcasting, Gather amplify). */
#define ONNX_MAX_FOLD_ELEMENTS ((int64_t)1 << 28)

static sieve_status const_alloc(onnx_importer *imp, value_kind kind, const sieve_shape *shape,
                                void **data, size_t *bytes)
{
    int64_t n = shape_numel(shape);
    if (n < 0 || n > ONNX_MAX_FOLD_ELEMENTS)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                         "constant result of %lld elements is too large to fold", (long long)n);
    *bytes = (size_t)n * kind_size(kind);
    *data = sieve_alloc(imp->ctx, *bytes ? *bytes : 1);
    return *data ? SIEVE_OK : SIEVE_ERR_NOMEM;
}

/* A constant value that takes ownership of `data` (freed here on failure). */
static sieve_status const_output_ex(onnx_importer *imp, const char *out_name, const char *suffix,
                                    int32_t dtype, value_kind kind, const sieve_shape *shape,
                                    void *data, size_t bytes, bool borrowed, int *out)
{
    int id = -1;
    sieve_status st = value_for_output(imp, out_name, suffix, dtype, shape, &id);
    if (id < 0) {
        if (!borrowed)
            sieve_free(imp->ctx, data, bytes ? bytes : 1);
        return st;
    }
    VAL(id)->is_const = true;
    VAL(id)->kind = kind;
    VAL(id)->data = data;
    VAL(id)->bytes = bytes ? bytes : 1;
    VAL(id)->borrowed = borrowed;
    *out = id;
    return st;
}

static sieve_status const_output(onnx_importer *imp, const char *out_name, const char *suffix,
                                 int32_t dtype, value_kind kind, const sieve_shape *shape,
                                 void *data, size_t bytes, int *out)
{
    return const_output_ex(imp, out_name, suffix, dtype, kind, shape, data, bytes, false, out);
}

static double const_f64(const onnx_value *v, size_t i)
{
    switch (v->kind) {
    case KIND_F32:
        return ((const float *)v->data)[i];
    case KIND_I64:
        return (double)((const int64_t *)v->data)[i];
    case KIND_F64:
        return ((const double *)v->data)[i];
    }
    return 0.0;
}

/* Integer list from a constant (axes, shapes, indices). */
static sieve_status const_ints(onnx_importer *imp, int id, const char *what, int64_t *vals, int max,
                               int *n)
{
    const onnx_value *v = VAL(id);
    if (!v->is_const)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                         "%s '%s' is computed at run time; it must be a constant (an "
                         "initializer, a Constant node, or bound with sieve_onnx_options)",
                         what, v->name);
    if (v->kind != KIND_I64)
        return node_fail(imp, SIEVE_ERR_FORMAT, "%s '%s' must be an integer tensor, not %s", what,
                         v->name, dtype_name(v->dtype));
    if (v->shape.rank > 1)
        return node_fail(imp, SIEVE_ERR_FORMAT, "%s '%s' must be 1-D, has rank %d", what, v->name,
                         v->shape.rank);
    int64_t count = shape_numel(&v->shape);
    if (count > max)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "%s '%s' has %lld values, at most %d allowed",
                         what, v->name, (long long)count, max);
    memcpy(vals, v->data, (size_t)count * sizeof(int64_t));
    *n = (int)count;
    return SIEVE_OK;
}

/* ---- attributes -------------------------------------------------------- */

static const Onnx__AttributeProto *attr_get(onnx_importer *imp, const char *name)
{
    for (size_t i = 0; i < imp->node->n_attribute; i++) {
        const Onnx__AttributeProto *a = imp->node->attribute[i];
        if (a && a->name && strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

/* Every attribute must be one the handler understands: ignoring an unknown
 * one could silently compute something else. */
static sieve_status attrs_check(onnx_importer *imp, const char *const *known)
{
    const Onnx__NodeProto *node = imp->node;
    /* No op has more than a dozen; the duplicate check below is quadratic. */
    if (node->n_attribute > 64)
        return node_fail(imp, SIEVE_ERR_FORMAT, "%zu attributes", node->n_attribute);
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        if (!a || !a->name || !a->name[0])
            return node_fail(imp, SIEVE_ERR_FORMAT, "attribute %zu has no name", i);
        if (a->ref_attr_name && a->ref_attr_name[0])
            return node_fail(imp, SIEVE_ERR_FORMAT,
                             "attribute '%s' refers to a function attribute outside a function",
                             a->name);
        /* consumed_inputs marked in-place updates before opset 6. */
        bool ok = imp->opset < 6 && strcmp(a->name, "consumed_inputs") == 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, a->name) == 0;
        if (!ok)
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "attribute '%s' is not supported",
                             a->name);
        for (size_t j = 0; j < i; j++)
            if (node->attribute[j]->name && strcmp(node->attribute[j]->name, a->name) == 0)
                return node_fail(imp, SIEVE_ERR_FORMAT, "attribute '%s' is given twice", a->name);
    }
    return SIEVE_OK;
}

static bool attr_is(const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType type,
                    bool present)
{
    return a->has_type ? a->type == type : present;
}

static sieve_status attr_int(onnx_importer *imp, const char *name, int64_t def, int64_t *out)
{
    const Onnx__AttributeProto *a = attr_get(imp, name);
    *out = def;
    if (!a)
        return SIEVE_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a->has_i))
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute '%s' must be an integer", name);
    *out = a->i;
    return SIEVE_OK;
}

static sieve_status attr_float(onnx_importer *imp, const char *name, float def, float *out)
{
    const Onnx__AttributeProto *a = attr_get(imp, name);
    *out = def;
    if (!a)
        return SIEVE_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, a->has_f))
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute '%s' must be a float", name);
    *out = a->f;
    return SIEVE_OK;
}

/* Integer list; *n = -1 when absent. */
static sieve_status attr_ints(onnx_importer *imp, const char *name, int64_t *vals, int max, int *n)
{
    const Onnx__AttributeProto *a = attr_get(imp, name);
    *n = -1;
    if (!a)
        return SIEVE_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, a->n_ints > 0))
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute '%s' must be a list of integers", name);
    if (a->n_ints > (size_t)max)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "attribute '%s' has %zu values, at most %d",
                         name, a->n_ints, max);
    if (a->n_ints)
        memcpy(vals, a->ints, a->n_ints * sizeof(int64_t));
    *n = (int)a->n_ints;
    return SIEVE_OK;
}

/* String attribute copied into buf (NUL-terminated, truncated). */
static sieve_status attr_string(onnx_importer *imp, const char *name, const char *def, char *buf,
                                size_t len)
{
    const Onnx__AttributeProto *a = attr_get(imp, name);
    snprintf(buf, len, "%s", def);
    if (!a)
        return SIEVE_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, a->has_s))
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute '%s' must be a string", name);
    size_t n = SIEVE_MIN(a->s.len, len - 1);
    if (n)
        memcpy(buf, a->s.data, n);
    buf[n] = '\0';
    if (memchr(buf, '\0', n) || a->s.len >= len)
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute '%s' has an invalid value", name);
    return SIEVE_OK;
}

/* ---- node inputs and outputs --------------------------------------------- */

static const char *node_output_name(onnx_importer *imp, size_t k)
{
    const Onnx__NodeProto *node = imp->node;
    if (k >= node->n_output || !node->output[k] || !node->output[k][0])
        return NULL;
    return node->output[k];
}

static sieve_status need_inputs(onnx_importer *imp, int min, int max)
{
    if (imp->n_in < min || imp->n_in > max) {
        if (min == max)
            return node_fail(imp, SIEVE_ERR_FORMAT, "takes %d inputs, has %d", min, imp->n_in);
        return node_fail(imp, SIEVE_ERR_FORMAT, "takes %d to %d inputs, has %d", min, max,
                         imp->n_in);
    }
    for (int i = 0; i < min; i++)
        if (imp->in[i] < 0)
            return node_fail(imp, SIEVE_ERR_FORMAT, "input %d is required", i);
    return SIEVE_OK;
}

/* Output 0 must be named; outputs past `max` must be absent. */
static sieve_status need_outputs(onnx_importer *imp, size_t max)
{
    if (!node_output_name(imp, 0))
        return node_fail(imp, SIEVE_ERR_FORMAT, "has no output");
    for (size_t k = max; k < imp->node->n_output; k++)
        if (node_output_name(imp, k))
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "output %zu ('%s') is not supported", k,
                             imp->node->output[k]);
    return SIEVE_OK;
}

static sieve_status resolve_inputs(onnx_importer *imp)
{
    const Onnx__NodeProto *node = imp->node;
    if (node->n_input > (size_t)INT32_MAX / 2)
        return node_fail(imp, SIEVE_ERR_FORMAT, "too many inputs");
    int n = (int)node->n_input;
    if (n > imp->cap_in) {
        int *in = sieve_realloc(imp->ctx, imp->in, (size_t)imp->cap_in * sizeof(int),
                                (size_t)n * sizeof(int));
        if (!in)
            return SIEVE_ERR_NOMEM;
        imp->in = in;
        imp->cap_in = n;
    }
    for (int i = 0; i < n; i++) {
        const char *name = node->input[i];
        imp->in[i] = -1;
        if (!name || !name[0])
            continue;
        const int *id = map_find(&imp->value_of, name);
        if (!id)
            return node_fail(imp, SIEVE_ERR_FORMAT,
                             "input '%s' is not a graph input, an initializer or the output of "
                             "an earlier node (nodes must be in topological order)",
                             name);
        imp->in[i] = *id;
    }
    while (n > 0 && imp->in[n - 1] < 0) /* trailing optional inputs left out */
        n--;
    imp->n_in = n;
    const char *op = node->op_type;
    bool reads_pad = strcmp(op, "Conv") == 0 || strcmp(op, "AveragePool") == 0 ||
                     strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0;
    for (int i = 0; i < n; i++)
        if (imp->in[i] >= 0 && VAL(imp->in[i])->pad_source >= 0 &&
            !(i == 0 && reads_pad) && strcmp(op, "Shape") != 0)
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                             "input '%s' is the output of a Pad, which is only supported feeding "
                             "a Conv or an AveragePool",
                             node->input[i]);
    return SIEVE_OK;
}

/* ---- pending layers -------------------------------------------------------- */

/* Checks a layer's inputs and infers its output shape with its kernel's own
 * shape function, so import and execution agree on every shape. */
static sieve_status layer_infer(onnx_importer *imp, sieve_op op, const sieve_layer_attrs *attrs,
                                const int *inputs, int n_inputs, sieve_shape *out)
{
    if (n_inputs > SIEVE_MAX_LAYER_INPUTS)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "%d inputs; a layer takes at most %d",
                         n_inputs, SIEVE_MAX_LAYER_INPUTS);
    sieve_shape shapes[SIEVE_MAX_LAYER_INPUTS];
    sieve_layer layer;
    memset(&layer, 0, sizeof(layer));
    layer.name = imp->label;
    layer.op = op;
    layer.attrs = *attrs;
    layer.n_inputs = n_inputs;
    layer.n_outputs = 1;
    for (int i = 0; i < n_inputs; i++) {
        layer.inputs[i] = inputs[i] < 0 ? -1 : i;
        if (inputs[i] < 0) {
            memset(&shapes[i], 0, sizeof(shapes[i]));
            shapes[i].rank = -1;
            continue;
        }
        const onnx_value *v = VAL(inputs[i]);
        if (!imp->any_dtype && v->dtype != DT_FLOAT)
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                             "input '%s' is %s; layers compute on float tensors only", v->name,
                             dtype_name(v->dtype));
        shapes[i] = v->shape;
    }
    const sieve_op_kernel *kernel = &sieve_op_kernels[op];
    if (!kernel->infer)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "no kernel for layer type '%s'",
                         sieve_op_name(op));
    char err[256] = "";
    memset(out, 0, sizeof(*out));
    if (kernel->infer(&layer, shapes, n_inputs, out, err, sizeof(err)) != SIEVE_OK)
        return node_fail(imp, SIEVE_ERR_SHAPE, "%s", err[0] ? err : "shape inference failed");
    int64_t numel = shape_numel(out);
    if (out->rank < 0 || out->rank > SIEVE_MAX_RANK || numel < 0)
        return node_fail(imp, SIEVE_ERR_SHAPE, "output shape is invalid");
    if (numel == 0)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "zero-size tensors are not supported");
    return SIEVE_OK;
}

static sieve_status layer_push(onnx_importer *imp, const char *name, sieve_op op,
                               const sieve_layer_attrs *attrs, const int *inputs, int n_inputs,
                               int output)
{
    if (imp->n_layers == imp->cap_layers) {
        int cap = imp->cap_layers ? imp->cap_layers * 2 : 32;
        onnx_layer *l = sieve_realloc(imp->ctx, imp->layers, (size_t)imp->cap_layers * sizeof(*l),
                                      (size_t)cap * sizeof(*l));
        if (!l)
            return SIEVE_ERR_NOMEM;
        imp->layers = l;
        imp->cap_layers = cap;
    }
    onnx_layer *l = &imp->layers[imp->n_layers];
    memset(l, 0, sizeof(*l));
    l->name = sieve_strdup(imp->ctx, name);
    if (!l->name)
        return SIEVE_ERR_NOMEM;
    l->op = op;
    l->attrs = *attrs;
    l->n_inputs = n_inputs;
    memcpy(l->inputs, inputs, (size_t)n_inputs * sizeof(int));
    l->output = output;
    VAL(output)->producer = imp->n_layers++;
    return SIEVE_OK;
}

/* Appends a layer. It is named after the node, with "/<suffix>" for the helper
 * layers of a node; its output is the node output out_name or, when NULL, an
 * intermediate named "<node>.<suffix>". */
static sieve_status emit(onnx_importer *imp, sieve_op op, const sieve_layer_attrs *attrs,
                         const int *inputs, int n_inputs, const char *suffix, const char *out_name,
                         int *out)
{
    sieve_shape shape;
    TRY(layer_infer(imp, op, attrs, inputs, n_inputs, &shape));
    int id = -1;
    TRY(value_for_output(imp, out_name, suffix, DT_FLOAT, &shape, &id));
    if (!suffix) {
        TRY(layer_push(imp, imp->label, op, attrs, inputs, n_inputs, id));
    } else {
        size_t len = strlen(imp->label) + strlen(suffix) + 2;
        char *name = sieve_alloc(imp->ctx, len);
        if (!name)
            return SIEVE_ERR_NOMEM;
        snprintf(name, len, "%s/%s", imp->label, suffix);
        sieve_status st = layer_push(imp, name, op, attrs, inputs, n_inputs, id);
        sieve_free(imp->ctx, name, len);
        TRY(st);
    }
    *out = id;
    return SIEVE_OK;
}

/* The same values seen with another shape: a new constant for a constant,
 * else a reshape layer. */
static sieve_status reshape_value(onnx_importer *imp, int in, const sieve_shape *shape,
                                  const char *suffix, const char *out_name, int *out)
{
    char a[96], b[96];
    if (shape_numel(shape) != shape_numel(&VAL(in)->shape))
        return node_fail(imp, SIEVE_ERR_SHAPE, "cannot reshape '%s' from %s to %s", VAL(in)->name,
                         shape_str(&VAL(in)->shape, a, sizeof(a)), shape_str(shape, b, sizeof(b)));
    if (VAL(in)->is_const) {
        size_t bytes = VAL(in)->bytes;
        void *data = sieve_alloc(imp->ctx, bytes);
        if (!data)
            return SIEVE_ERR_NOMEM;
        memcpy(data, VAL(in)->data, bytes);
        return const_output(imp, out_name, suffix, VAL(in)->dtype, VAL(in)->kind, shape, data,
                            bytes, out);
    }
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    attrs.reshape.shape = *shape;
    return emit(imp, SIEVE_OP_RESHAPE, &attrs, &in, 1, suffix, out_name, out);
}

/* Runs a 2-D layer on a 1-D input [N, C, L] seen as [N, C, 1, L]; ins[0] is
 * the input and is replaced, the other inputs must already be 2-D. */
static sieve_status emit_1d_as_2d(onnx_importer *imp, sieve_op op, const sieve_layer_attrs *attrs,
                                  int *ins, int n_ins, const char *out_name, int *out)
{
    const sieve_shape xs = VAL(ins[0])->shape;
    sieve_shape x4 = {.rank = 4, .dims = {xs.dims[0], xs.dims[1], 1, xs.dims[2]}};
    TRY(reshape_value(imp, ins[0], &x4, "input_2d", NULL, &ins[0]));
    int y4;
    TRY(emit(imp, op, attrs, ins, n_ins, NULL, NULL, &y4));
    const sieve_shape ys4 = VAL(y4)->shape;
    sieve_shape ys = {.rank = 3, .dims = {ys4.dims[0], ys4.dims[1], ys4.dims[3]}};
    return reshape_value(imp, y4, &ys, "output_1d", out_name, out);
}

/* Runs a layer that works per channel over all positions (global pooling,
 * LRN) on [N, C, d1, ...] seen as [N, C, 1, d1*...]; the result is reshaped
 * to final_shape. */
static sieve_status emit_channels_4d(onnx_importer *imp, sieve_op op,
                                     const sieve_layer_attrs *attrs, const sieve_shape *final_shape,
                                     const char *out_name, int *out)
{
    int x = imp->in[0];
    /* Copies: adding values may move the value array. */
    const sieve_shape xs = VAL(x)->shape, ys = *final_shape;
    if (xs.rank < 2)
        return node_fail(imp, SIEVE_ERR_SHAPE, "input must be [N, C, ...], has rank %d", xs.rank);
    if (xs.rank == 4)
        return emit(imp, op, attrs, &x, 1, NULL, out_name, out);
    int64_t positions = 1;
    for (int d = 2; d < xs.rank; d++)
        positions *= xs.dims[d]; /* cannot overflow: bounded by numel */
    sieve_shape x4 = {.rank = 4, .dims = {xs.dims[0], xs.dims[1], 1, positions}};
    int x2, y4;
    TRY(reshape_value(imp, x, &x4, "input_4d", NULL, &x2));
    TRY(emit(imp, op, attrs, &x2, 1, NULL, NULL, &y4));
    return reshape_value(imp, y4, &ys, "output", out_name, out);
}

/* ---- convolution and pooling ----------------------------------------------- */

/* A conv/pool window over 1 or 2 spatial dims, in sieve's 2-D form (a 1-D
 * window has height 1). pads: top, left, bottom, right. */
typedef struct onnx_window {
    int kernel[2], stride[2], dilation[2], pads[4];
    bool auto_padded; /* VALID or SAME: output size fixed by auto_pad */
} onnx_window;

static sieve_status window_value(onnx_importer *imp, const char *attr, int64_t v, int64_t min,
                                 int *out)
{
    if (v < min || v > ONNX_MAX_WINDOW)
        return node_fail(imp, SIEVE_ERR_RANGE, "attribute '%s' value %lld is out of range", attr,
                         (long long)v);
    *out = (int)v;
    return SIEVE_OK;
}

/* Reads kernel_shape, strides, dilations, pads and auto_pad. The kernel
 * defaults to kernel_from_weight (NULL: kernel_shape is required). SAME
 * padding is resolved with the input's spatial dims in_dims. */
static sieve_status read_window(onnx_importer *imp, int spatial, const int64_t *in_dims,
                                const int64_t *kernel_from_weight, bool has_dilations,
                                onnx_window *w)
{
    int64_t v[4];
    int n;
    int kernel[2], stride[2] = {1, 1}, dilation[2] = {1, 1}, begin[2] = {0, 0}, end[2] = {0, 0};

    TRY(attr_ints(imp, "kernel_shape", v, 2, &n));
    if (n >= 0 && n != spatial)
        return node_fail(imp, SIEVE_ERR_FORMAT, "kernel_shape has %d values for %d spatial dims", n,
                         spatial);
    if (n < 0 && !kernel_from_weight)
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute 'kernel_shape' is required");
    for (int d = 0; d < spatial; d++) {
        int64_t k = n >= 0 ? v[d] : kernel_from_weight[d];
        if (kernel_from_weight && k != kernel_from_weight[d])
            return node_fail(imp, SIEVE_ERR_SHAPE,
                             "kernel_shape %lld differs from the weight's %lld in dim %d",
                             (long long)k, (long long)kernel_from_weight[d], d);
        TRY(window_value(imp, "kernel_shape", k, 1, &kernel[d]));
    }
    TRY(attr_ints(imp, "strides", v, 2, &n));
    if (n >= 0 && n != spatial)
        return node_fail(imp, SIEVE_ERR_FORMAT, "strides has %d values for %d spatial dims", n,
                         spatial);
    for (int d = 0; d < spatial && n >= 0; d++)
        TRY(window_value(imp, "strides", v[d], 1, &stride[d]));
    if (has_dilations) {
        TRY(attr_ints(imp, "dilations", v, 2, &n));
        if (n >= 0 && n != spatial)
            return node_fail(imp, SIEVE_ERR_FORMAT, "dilations has %d values for %d spatial dims",
                             n, spatial);
        for (int d = 0; d < spatial && n >= 0; d++)
            TRY(window_value(imp, "dilations", v[d], 1, &dilation[d]));
    }
    TRY(attr_ints(imp, "pads", v, 4, &n));
    if (n >= 0 && n != 2 * spatial)
        return node_fail(imp, SIEVE_ERR_FORMAT, "pads has %d values for %d spatial dims", n,
                         spatial);
    for (int d = 0; d < spatial && n >= 0; d++) {
        TRY(window_value(imp, "pads", v[d], 0, &begin[d]));
        TRY(window_value(imp, "pads", v[spatial + d], 0, &end[d]));
    }

    char auto_pad[16];
    TRY(attr_string(imp, "auto_pad", "NOTSET", auto_pad, sizeof(auto_pad)));
    bool same_upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    bool same_lower = strcmp(auto_pad, "SAME_LOWER") == 0;
    w->auto_padded = false;
    if (strcmp(auto_pad, "VALID") == 0) {
        w->auto_padded = true;
        for (int d = 0; d < spatial; d++)
            begin[d] = end[d] = 0;
    } else if (same_upper || same_lower) {
        /* Output size ceil(in / stride); the padding that needs is split
         * evenly, the odd pixel at the end (UPPER) or the beginning (LOWER). */
        w->auto_padded = true;
        for (int d = 0; d < spatial; d++) {
            int64_t in = in_dims[d];
            int64_t span = (int64_t)(kernel[d] - 1) * dilation[d] + 1;
            int64_t outn = (in + stride[d] - 1) / stride[d];
            int64_t total = SIEVE_MAX((int64_t)0, (outn - 1) * stride[d] + span - in);
            int64_t lo = same_upper ? total / 2 : total - total / 2;
            TRY(window_value(imp, "pads", lo, 0, &begin[d]));
            TRY(window_value(imp, "pads", total - lo, 0, &end[d]));
        }
    } else if (strcmp(auto_pad, "NOTSET") != 0) {
        return node_fail(imp, SIEVE_ERR_FORMAT, "unknown auto_pad '%s'", auto_pad);
    }

    if (spatial == 1) {
        *w = (onnx_window){.kernel = {1, kernel[0]},
                           .stride = {1, stride[0]},
                           .dilation = {1, dilation[0]},
                           .pads = {0, begin[0], 0, end[0]},
                           .auto_padded = w->auto_padded};
    } else {
        *w = (onnx_window){.kernel = {kernel[0], kernel[1]},
                           .stride = {stride[0], stride[1]},
                           .dilation = {dilation[0], dilation[1]},
                           .pads = {begin[0], begin[1], end[0], end[1]},
                           .auto_padded = w->auto_padded};
    }
    return SIEVE_OK;
}

/* When x is a Pad view, reads its source instead, with the Pad's zeros added
 * to the window's padding. */
static sieve_status unwrap_pad(onnx_importer *imp, int *x, onnx_window *win)
{
    const onnx_value *v = VAL(*x);
    if (v->pad_source < 0)
        return SIEVE_OK;
    for (int i = 0; i < 4; i++)
        TRY(window_value(imp, "pads", (int64_t)win->pads[i] + v->pad[i], 0, &win->pads[i]));
    *x = v->pad_source;
    return SIEVE_OK;
}

/* Pad: all-zero pads are the identity; zero constant padding of the spatial
 * dims of a 1-D/2-D input becomes padding of the Conv or AveragePool reading
 * it (TensorFlow/Keras export ZeroPadding2D so); anything else needs a
 * kernel sieve does not have. */
static sieve_status import_pad(onnx_importer *imp)
{
    static const char *const known_v1[] = {"mode", "paddings", "value", NULL};
    static const char *const known_v2[] = {"mode", "pads", "value", NULL};
    static const char *const known[] = {"mode", NULL};
    TRY(attrs_check(imp, imp->opset < 2 ? known_v1 : imp->opset < 11 ? known_v2 : known));
    TRY(need_outputs(imp, 1));
    int64_t pads[2 * SIEVE_MAX_RANK];
    int n;
    float value = 0.0f;
    if (imp->opset < 11) {
        TRY(need_inputs(imp, 1, 1));
        TRY(attr_ints(imp, imp->opset < 2 ? "paddings" : "pads", pads, 2 * SIEVE_MAX_RANK, &n));
        TRY(attr_float(imp, "value", 0.0f, &value));
    } else {
        TRY(need_inputs(imp, 2, 3));
        TRY(const_ints(imp, imp->in[1], "pads", pads, 2 * SIEVE_MAX_RANK, &n));
        if (imp->n_in > 2 && imp->in[2] >= 0) {
            const onnx_value *cv = VAL(imp->in[2]);
            if (!cv->is_const || shape_numel(&cv->shape) != 1)
                return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                                 "constant_value must be a constant scalar");
            value = (float)const_f64(cv, 0);
        }
    }
    char mode[16];
    TRY(attr_string(imp, "mode", "constant", mode, sizeof(mode)));
    int x = imp->in[0], y;
    const sieve_shape xs = VAL(x)->shape;
    if (n != 2 * xs.rank)
        return node_fail(imp, SIEVE_ERR_FORMAT, "pads has %d values for rank %d", n, xs.rank);
    bool all_zero = true;
    for (int i = 0; i < n; i++)
        all_zero = all_zero && pads[i] == 0;
    if (all_zero)
        return alias_output(imp, imp->node->output[0], x);
    if (strcmp(mode, "constant") != 0 || value != 0.0f)
        return unsupported_op(imp, "only zero padding, folded into a following Conv or "
                                   "AveragePool, is supported");
    int rank = xs.rank;
    bool spatial_only = (rank == 3 || rank == 4) && pads[0] == 0 && pads[1] == 0 &&
                        pads[rank] == 0 && pads[rank + 1] == 0;
    for (int i = 0; i < n; i++)
        spatial_only = spatial_only && pads[i] >= 0;
    if (!spatial_only)
        return unsupported_op(imp, "only non-negative padding of the spatial dims of a 1-D or "
                                   "2-D input is supported");
    int view[4];
    int64_t begin[2] = {rank == 4 ? pads[2] : 0, pads[rank - 1]};
    int64_t end[2] = {rank == 4 ? pads[rank + 2] : 0, pads[2 * rank - 1]};
    TRY(window_value(imp, "pads", begin[0], 0, &view[0]));
    TRY(window_value(imp, "pads", begin[1], 0, &view[1]));
    TRY(window_value(imp, "pads", end[0], 0, &view[2]));
    TRY(window_value(imp, "pads", end[1], 0, &view[3]));
    sieve_shape ys = xs;
    for (int d = 2; d < rank; d++)
        ys.dims[d] += pads[d] + pads[rank + d]; /* each pad at most ONNX_MAX_WINDOW */
    TRY(value_for_output(imp, imp->node->output[0], NULL, VAL(x)->dtype, &ys, &y));
    VAL(y)->pad_source = x;
    memcpy(VAL(y)->pad, view, sizeof(view));
    return SIEVE_OK;
}

static sieve_status import_conv(onnx_importer *imp)
{
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape",
                                        "pads",     "strides",   NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 2, 3));
    TRY(need_outputs(imp, 1));
    int x = imp->in[0], w = imp->in[1], b = imp->n_in > 2 ? imp->in[2] : -1;
    const sieve_shape xs = VAL(x)->shape, ws = VAL(w)->shape;
    int spatial = xs.rank - 2;
    if (spatial != 1 && spatial != 2)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                         "%d-D convolution (input rank %d): only 1-D and 2-D are supported",
                         spatial, xs.rank);
    if (ws.rank != xs.rank)
        return node_fail(imp, SIEVE_ERR_SHAPE, "weight '%s' has rank %d, the input %d",
                         VAL(w)->name, ws.rank, xs.rank);
    int64_t group;
    TRY(attr_int(imp, "group", 1, &group));
    if (group < 1 || group > INT32_MAX)
        return node_fail(imp, SIEVE_ERR_RANGE, "group %lld is out of range", (long long)group);
    onnx_window win;
    TRY(read_window(imp, spatial, &xs.dims[2], &ws.dims[2], true, &win));
    TRY(unwrap_pad(imp, &x, &win));

    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    memcpy(attrs.conv.kernel, win.kernel, sizeof(win.kernel));
    memcpy(attrs.conv.stride, win.stride, sizeof(win.stride));
    memcpy(attrs.conv.dilation, win.dilation, sizeof(win.dilation));
    memcpy(attrs.conv.pads, win.pads, sizeof(win.pads));
    attrs.conv.group = (int)group;
    attrs.conv.relu = false;
    int ins[3] = {x, w, b}, n_ins = b >= 0 ? 3 : 2, y;
    if (spatial == 2)
        return emit(imp, SIEVE_OP_CONV, &attrs, ins, n_ins, NULL, imp->node->output[0], &y);
    sieve_shape w4 = {.rank = 4, .dims = {ws.dims[0], ws.dims[1], 1, ws.dims[2]}};
    TRY(reshape_value(imp, w, &w4, "weight_2d", NULL, &ins[1]));
    return emit_1d_as_2d(imp, SIEVE_OP_CONV, &attrs, ins, n_ins, imp->node->output[0], &y);
}

static sieve_status import_pool(onnx_importer *imp, sieve_op op)
{
    static const char *const known_max[] = {"auto_pad",      "ceil_mode", "dilations",
                                            "kernel_shape",  "pads",      "strides",
                                            "storage_order", NULL};
    static const char *const known_avg[] = {
        "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides", NULL};
    bool is_max = op == SIEVE_OP_MAXPOOL;
    TRY(attrs_check(imp, is_max ? known_max : known_avg));
    TRY(need_inputs(imp, 1, 1));
    if (is_max && node_output_name(imp, 1))
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "the Indices output is not supported");
    TRY(need_outputs(imp, is_max ? 2 : 1));
    int x = imp->in[0];
    const sieve_shape xs = VAL(x)->shape;
    int spatial = xs.rank - 2;
    if (spatial != 1 && spatial != 2)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                         "%d-D pooling (input rank %d): only 1-D and 2-D are supported", spatial,
                         xs.rank);
    onnx_window win;
    TRY(read_window(imp, spatial, &xs.dims[2], NULL, is_max, &win));
    int64_t ceil_mode, count_include_pad;
    TRY(attr_int(imp, "ceil_mode", 0, &ceil_mode));
    TRY(attr_int(imp, "count_include_pad", 0, &count_include_pad));
    if (VAL(x)->pad_source >= 0) {
        /* Zeros from a Pad are elements the average counts: fine when the
         * pool's own padding counts too, or when it has none. */
        bool own_pads = win.pads[0] || win.pads[1] || win.pads[2] || win.pads[3];
        if ((own_pads && !count_include_pad) || (ceil_mode && !win.auto_padded))
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                             "a Pad before an AveragePool with its own uncounted padding or "
                             "ceil_mode is not supported");
        count_include_pad = 1;
        TRY(unwrap_pad(imp, &x, &win));
    }

    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    memcpy(attrs.pool.kernel, win.kernel, sizeof(win.kernel));
    memcpy(attrs.pool.stride, win.stride, sizeof(win.stride));
    memcpy(attrs.pool.dilation, win.dilation, sizeof(win.dilation));
    memcpy(attrs.pool.pads, win.pads, sizeof(win.pads));
    /* With auto_pad the output size is set by the padding mode alone. */
    attrs.pool.ceil_mode = ceil_mode != 0 && !win.auto_padded;
    attrs.pool.count_include_pad = count_include_pad != 0;
    int y;
    if (spatial == 2)
        return emit(imp, op, &attrs, &x, 1, NULL, imp->node->output[0], &y);
    return emit_1d_as_2d(imp, op, &attrs, &x, 1, imp->node->output[0], &y);
}

static sieve_status import_maxpool(onnx_importer *imp)
{
    return import_pool(imp, SIEVE_OP_MAXPOOL);
}

static sieve_status import_avgpool(onnx_importer *imp)
{
    return import_pool(imp, SIEVE_OP_AVGPOOL);
}

static sieve_status import_global_pool(onnx_importer *imp, sieve_op op)
{
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    const sieve_shape *xs = &VAL(imp->in[0])->shape;
    if (xs->rank < 3)
        return node_fail(imp, SIEVE_ERR_SHAPE, "input must be [N, C, d1, ...], has rank %d",
                         xs->rank);
    sieve_shape ys = *xs;
    for (int d = 2; d < ys.rank; d++)
        ys.dims[d] = 1;
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    int y;
    return emit_channels_4d(imp, op, &attrs, &ys, imp->node->output[0], &y);
}

static sieve_status import_global_avgpool(onnx_importer *imp)
{
    return import_global_pool(imp, SIEVE_OP_GLOBALAVGPOOL);
}

static sieve_status import_global_maxpool(onnx_importer *imp)
{
    return import_global_pool(imp, SIEVE_OP_GLOBALMAXPOOL);
}

static sieve_status import_lrn(onnx_importer *imp)
{
    static const char *const known[] = {"alpha", "beta", "bias", "size", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    int64_t size;
    TRY(attr_float(imp, "alpha", 1e-4f, &attrs.lrn.alpha));
    TRY(attr_float(imp, "beta", 0.75f, &attrs.lrn.beta));
    TRY(attr_float(imp, "bias", 1.0f, &attrs.lrn.bias));
    TRY(attr_int(imp, "size", -1, &size));
    if (!attr_get(imp, "size"))
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute 'size' is required");
    TRY(window_value(imp, "size", size, 1, &attrs.lrn.size));
    const sieve_shape ys = VAL(imp->in[0])->shape;
    int y;
    return emit_channels_4d(imp, SIEVE_OP_LRN, &attrs, &ys, imp->node->output[0], &y);
}

/* ---- constant folding ------------------------------------------------------- */

static int normalize_axis(int64_t axis, int rank, int *out)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return -1;
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

/* Integer results wrap to the width of their ONNX type, as they would in it. */
static int64_t int_wrap(int32_t dtype, uint64_t v)
{
    const onnx_dtype_info *info = dtype_readable(dtype);
    if (dtype == DT_BOOL)
        return v != 0;
    if (!info)
        return (int64_t)v;
    return bits_to_int(v, info->raw_bytes, info->is_signed);
}

/* Numpy broadcasting of two shapes. */
static sieve_status broadcast_shape(onnx_importer *imp, const sieve_shape *a, const sieve_shape *b,
                                    sieve_shape *out)
{
    char sa[96], sb[96];
    out->rank = SIEVE_MAX(a->rank, b->rank);
    for (int d = 0; d < out->rank; d++) {
        int da = d - (out->rank - a->rank), db = d - (out->rank - b->rank);
        int64_t x = da >= 0 ? a->dims[da] : 1, y = db >= 0 ? b->dims[db] : 1;
        if (x != y && x != 1 && y != 1)
            return node_fail(imp, SIEVE_ERR_SHAPE, "shapes %s and %s do not broadcast",
                             shape_str(a, sa, sizeof(sa)), shape_str(b, sb, sizeof(sb)));
        out->dims[d] = x == 1 ? y : x;
    }
    return SIEVE_OK;
}

/* Element strides of `s` seen at the rank of `out`, 0 along broadcast dims. */
static void broadcast_strides(const sieve_shape *s, const sieve_shape *out, int64_t *strides)
{
    int64_t step = 1;
    for (int d = out->rank - 1; d >= 0; d--) {
        int ds = d - (out->rank - s->rank);
        int64_t dim = ds >= 0 ? s->dims[ds] : 1;
        strides[d] = dim == 1 ? 0 : step;
        step *= dim;
    }
}

static sieve_status fold_binary(onnx_importer *imp, char op, int a, int b, const char *out_name,
                                const char *suffix, int *out)
{
    const onnx_value va = *VAL(a), vb = *VAL(b);
    if (va.dtype != vb.dtype)
        return node_fail(imp, SIEVE_ERR_FORMAT, "operands are %s and %s", dtype_name(va.dtype),
                         dtype_name(vb.dtype));
    sieve_shape os;
    TRY(broadcast_shape(imp, &va.shape, &vb.shape, &os));
    void *data = NULL;
    size_t bytes = 0;
    TRY(const_alloc(imp, va.kind, &os, &data, &bytes));
    int64_t sa[SIEVE_MAX_RANK], sb[SIEVE_MAX_RANK], idx[SIEVE_MAX_RANK] = {0};
    broadcast_strides(&va.shape, &os, sa);
    broadcast_strides(&vb.shape, &os, sb);
    const onnx_dtype_info *info = dtype_readable(va.dtype);
    bool is_signed = info ? info->is_signed : true;
    size_t n = (size_t)shape_numel(&os);
    int64_t ia = 0, ib = 0;
    for (size_t i = 0; i < n; i++) {
        switch (va.kind) {
        case KIND_F32: {
            float x = ((const float *)va.data)[ia], y = ((const float *)vb.data)[ib];
            ((float *)data)[i] = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
            break;
        }
        case KIND_F64: {
            double x = ((const double *)va.data)[ia], y = ((const double *)vb.data)[ib];
            ((double *)data)[i] = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
            break;
        }
        case KIND_I64: {
            int64_t x = ((const int64_t *)va.data)[ia], y = ((const int64_t *)vb.data)[ib];
            uint64_t r;
            if (op == '+') {
                r = (uint64_t)x + (uint64_t)y;
            } else if (op == '-') {
                r = (uint64_t)x - (uint64_t)y;
            } else if (op == '*') {
                r = (uint64_t)x * (uint64_t)y;
            } else if (y == 0) {
                sieve_free(imp->ctx, data, bytes ? bytes : 1);
                return node_fail(imp, SIEVE_ERR_RANGE, "integer division by zero");
            } else if (!is_signed) {
                r = (uint64_t)x / (uint64_t)y;
            } else if (x == INT64_MIN && y == -1) {
                r = (uint64_t)x;
            } else {
                r = (uint64_t)(x / y); /* truncates toward zero, as C and ONNX Runtime do */
            }
            ((int64_t *)data)[i] = int_wrap(va.dtype, r);
            break;
        }
        }
        for (int d = os.rank - 1; d >= 0; d--) {
            idx[d]++;
            ia += sa[d];
            ib += sb[d];
            if (idx[d] < os.dims[d])
                break;
            ia -= sa[d] * os.dims[d];
            ib -= sb[d] * os.dims[d];
            idx[d] = 0;
        }
    }
    return const_output(imp, out_name, suffix, va.dtype, va.kind, &os, data, bytes, out);
}

static sieve_status fold_concat(onnx_importer *imp, int axis, const char *out_name, int *out)
{
    const onnx_value first = *VAL(imp->in[0]);
    sieve_shape os = first.shape;
    char s0[96], s1[96];
    os.dims[axis] = 0;
    for (int i = 0; i < imp->n_in; i++) {
        const onnx_value *v = VAL(imp->in[i]);
        if (v->dtype != first.dtype)
            return node_fail(imp, SIEVE_ERR_FORMAT, "inputs are %s and %s", dtype_name(first.dtype),
                             dtype_name(v->dtype));
        bool ok = v->shape.rank == os.rank;
        for (int d = 0; d < os.rank && ok; d++)
            ok = d == axis || v->shape.dims[d] == os.dims[d];
        if (!ok)
            return node_fail(imp, SIEVE_ERR_SHAPE, "cannot concatenate %s and %s on axis %d",
                             shape_str(&first.shape, s0, sizeof(s0)),
                             shape_str(&v->shape, s1, sizeof(s1)), axis);
        os.dims[axis] += v->shape.dims[axis]; /* bounded by the inputs' numels */
    }
    void *data = NULL;
    size_t bytes = 0, es = kind_size(first.kind);
    TRY(const_alloc(imp, first.kind, &os, &data, &bytes));
    size_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)os.dims[d];
    for (int d = axis + 1; d < os.rank; d++)
        inner *= (size_t)os.dims[d];
    uint8_t *dst = data;
    for (size_t o = 0; o < outer; o++) {
        for (int i = 0; i < imp->n_in; i++) {
            const onnx_value *v = VAL(imp->in[i]);
            size_t chunk = (size_t)v->shape.dims[axis] * inner * es;
            memcpy(dst, (const uint8_t *)v->data + o * chunk, chunk);
            dst += chunk;
        }
    }
    return const_output(imp, out_name, NULL, first.dtype, first.kind, &os, data, bytes, out);
}

/* ---- element-wise, dense and shape layers ------------------------------------ */

static sieve_status emit_relu(onnx_importer *imp, int x)
{
    int y;
    const char *out_name = imp->node->output[0];
    const onnx_value *v = VAL(x);
    /* Fused into the conv/gemm/add computing x when nothing else reads x
     * (an add: the residual join of a ResNet block, one layer and, in
     * packed models, one decode and encode of the activation fewer). */
    if (v->producer >= 0 && v->uses == 1 && !v->is_output) {
        onnx_layer *p = &imp->layers[v->producer];
        if (p->output == x &&
            (p->op == SIEVE_OP_CONV || p->op == SIEVE_OP_GEMM || p->op == SIEVE_OP_ADD)) {
            if (p->op == SIEVE_OP_CONV)
                p->attrs.conv.relu = true;
            else if (p->op == SIEVE_OP_GEMM)
                p->attrs.gemm.relu = true;
            else
                p->attrs.add.relu = true;
            TRY(alias_output(imp, out_name, x));
            return value_rename(imp, x, out_name);
        }
    }
    /* ReLU after a max pool commutes with it (max is monotone, and every
     * window holds an element of the input): it fuses into the conv/gemm
     * before the pool when the pool is that layer's only reader. The conv
     * then writes non-negative values, which packed models store in
     * unsigned formats, and a layer goes (Caffe's CIFAR-10 quick net pools
     * before its first ReLU). */
    if (v->producer >= 0 && v->uses == 1 && !v->is_output) {
        const onnx_layer *pool = &imp->layers[v->producer];
        int u = pool->n_inputs > 0 ? pool->inputs[0] : -1;
        if (pool->output == x && pool->op == SIEVE_OP_MAXPOOL && u >= 0 &&
            VAL(u)->producer >= 0 && VAL(u)->uses == 1 && !VAL(u)->is_output) {
            onnx_layer *p = &imp->layers[VAL(u)->producer];
            if (p->output == u && (p->op == SIEVE_OP_CONV || p->op == SIEVE_OP_GEMM)) {
                if (p->op == SIEVE_OP_CONV)
                    p->attrs.conv.relu = true;
                else
                    p->attrs.gemm.relu = true;
                TRY(alias_output(imp, out_name, x));
                return value_rename(imp, x, out_name);
            }
        }
    }
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    return emit(imp, SIEVE_OP_RELU, &attrs, &x, 1, NULL, out_name, &y);
}

static sieve_status import_relu(onnx_importer *imp)
{
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    return emit_relu(imp, imp->in[0]);
}

/* Clip to [0, inf) is a ReLU; other bounds (ReLU6) have no kernel. */
static sieve_status import_clip(onnx_importer *imp)
{
    static const char *const known_legacy[] = {"min", "max", NULL};
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, imp->opset < 11 ? known_legacy : known));
    TRY(need_outputs(imp, 1));
    float lo = -INFINITY, hi = INFINITY;
    if (imp->opset < 11) {
        TRY(need_inputs(imp, 1, 1));
        TRY(attr_float(imp, "min", -INFINITY, &lo));
        TRY(attr_float(imp, "max", INFINITY, &hi));
    } else {
        TRY(need_inputs(imp, 1, 3));
        for (int k = 1; k < imp->n_in; k++) {
            if (imp->in[k] < 0)
                continue;
            const onnx_value *b = VAL(imp->in[k]);
            if (!b->is_const || shape_numel(&b->shape) != 1)
                return unsupported_op(imp, "bounds must be constant scalars");
            *(k == 1 ? &lo : &hi) = (float)const_f64(b, 0);
        }
    }
    if (lo != 0.0f || hi != INFINITY)
        return unsupported_op(imp, "only Clip(min=0, max=inf), a ReLU, has a kernel");
    return emit_relu(imp, imp->in[0]);
}

/* y = conv(x, w) + b followed by y * scale + shift is conv(x, w * scale)
 * + (b * scale + shift), per output channel; done when the conv output feeds
 * only the batch norm and its weights are constants. */
static sieve_status batchnorm_fold_into_conv(onnx_importer *imp, int x, const double *scale,
                                             const double *shift, int64_t channels, bool *folded)
{
    *folded = false;
    const onnx_value *v = VAL(x);
    if (v->producer < 0 || v->uses != 1 || v->is_output)
        return SIEVE_OK;
    int li = v->producer;
    const onnx_layer *conv = &imp->layers[li];
    if (conv->op != SIEVE_OP_CONV || conv->output != x || conv->attrs.conv.relu)
        return SIEVE_OK;
    int w = conv->inputs[1], b = conv->n_inputs > 2 ? conv->inputs[2] : -1;
    if (!VAL(w)->is_const || VAL(w)->kind != KIND_F32 ||
        (b >= 0 && (!VAL(b)->is_const || VAL(b)->kind != KIND_F32)))
        return SIEVE_OK;
    const sieve_shape ws = VAL(w)->shape;
    if (ws.rank < 1 || ws.dims[0] != channels ||
        (b >= 0 && shape_numel(&VAL(b)->shape) != channels))
        return SIEVE_OK;

    size_t per_channel = (size_t)(shape_numel(&ws) / channels);
    size_t wbytes = VAL(w)->bytes, bbytes = (size_t)channels * sizeof(float);
    float *nw = sieve_alloc(imp->ctx, wbytes);
    float *nb = sieve_alloc(imp->ctx, bbytes);
    if (!nw || !nb) {
        sieve_free(imp->ctx, nw, wbytes);
        sieve_free(imp->ctx, nb, bbytes);
        return SIEVE_ERR_NOMEM;
    }
    const float *ow = VAL(w)->data, *ob = b >= 0 ? VAL(b)->data : NULL;
    for (int64_t m = 0; m < channels; m++) {
        for (size_t j = 0; j < per_channel; j++) {
            size_t i = (size_t)m * per_channel + j;
            nw[i] = (float)(ow[i] * scale[m]);
        }
        nb[m] = (float)((ob ? ob[m] : 0.0) * scale[m] + shift[m]);
    }

    char *wname = unique_name(imp, conv->name, "weight");
    char *bname = unique_name(imp, conv->name, "bias");
    int nwid = -1, nbid = -1;
    sieve_status st = wname && bname ? SIEVE_OK : SIEVE_ERR_NOMEM;
    sieve_shape bs = {.rank = 1, .dims = {channels}};
    if (st == SIEVE_OK)
        st = const_output(imp, wname, NULL, DT_FLOAT, KIND_F32, &ws, nw, wbytes, &nwid);
    else
        sieve_free(imp->ctx, nw, wbytes);
    if (st == SIEVE_OK)
        st = const_output(imp, bname, NULL, DT_FLOAT, KIND_F32, &bs, nb, bbytes, &nbid);
    else
        sieve_free(imp->ctx, nb, bbytes);
    sieve_free_str(imp->ctx, wname);
    sieve_free_str(imp->ctx, bname);
    TRY(st);

    onnx_layer *layer = &imp->layers[li];
    layer->inputs[1] = nwid;
    layer->inputs[2] = nbid;
    layer->n_inputs = 3;
    TRY(alias_output(imp, imp->node->output[0], x));
    TRY(value_rename(imp, x, imp->node->output[0]));
    *folded = true;
    return SIEVE_OK;
}

static sieve_status import_batchnorm(onnx_importer *imp)
{
    static const char *const known[] = {"epsilon", "momentum",      "spatial",
                                        "is_test", "training_mode", NULL};
    static const char *const param_names[5] = {"", "scale", "bias", "mean", "var"};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 5, 5));
    for (size_t k = 1; k < imp->node->n_output; k++)
        if (node_output_name(imp, k))
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                             "training outputs (running mean and variance) are not supported");
    TRY(need_outputs(imp, 1));
    int64_t training, spatial;
    float eps;
    TRY(attr_int(imp, "training_mode", 0, &training));
    TRY(attr_int(imp, "spatial", 1, &spatial));
    TRY(attr_float(imp, "epsilon", 1e-5f, &eps));
    if (training)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "training_mode=1 is not supported");
    if (!spatial)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                         "spatial=0 (statistics per activation) is not supported");
    int x = imp->in[0];
    const sieve_shape xs = VAL(x)->shape;
    if (xs.rank < 2)
        return node_fail(imp, SIEVE_ERR_SHAPE, "input must be [N, C, ...], has rank %d", xs.rank);
    int64_t channels = xs.dims[1];
    for (int k = 1; k < 5; k++) {
        const onnx_value *p = VAL(imp->in[k]);
        if (!p->is_const)
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                             "%s '%s' is computed at run time; it must be a constant",
                             param_names[k], p->name);
        if (p->kind == KIND_I64)
            return node_fail(imp, SIEVE_ERR_FORMAT, "%s '%s' is %s, not floating point",
                             param_names[k], p->name, dtype_name(p->dtype));
        if (shape_numel(&p->shape) != channels)
            return node_fail(imp, SIEVE_ERR_SHAPE, "%s '%s' has %lld values for %lld channels",
                             param_names[k], p->name, (long long)shape_numel(&p->shape),
                             (long long)channels);
    }
    /* Inference form: y = x * scale + shift, computed in double. */
    size_t pbytes = (size_t)channels * 2 * sizeof(double);
    double *scale = sieve_alloc(imp->ctx, pbytes ? pbytes : 1);
    if (!scale)
        return SIEVE_ERR_NOMEM;
    double *shift = scale + channels;
    sieve_status st = SIEVE_OK;
    for (int64_t c = 0; c < channels && st == SIEVE_OK; c++) {
        double gamma = const_f64(VAL(imp->in[1]), (size_t)c);
        double beta = const_f64(VAL(imp->in[2]), (size_t)c);
        double mean = const_f64(VAL(imp->in[3]), (size_t)c);
        double denom = const_f64(VAL(imp->in[4]), (size_t)c) + eps;
        if (!(denom > 0.0)) {
            st = node_fail(imp, SIEVE_ERR_RANGE,
                           "variance + epsilon is not positive for channel %lld", (long long)c);
            break;
        }
        scale[c] = gamma / sqrt(denom);
        shift[c] = beta - mean * scale[c];
    }
    bool folded = false;
    if (st == SIEVE_OK)
        st = batchnorm_fold_into_conv(imp, x, scale, shift, channels, &folded);
    if (st == SIEVE_OK && !folded) {
        size_t fbytes = (size_t)channels * sizeof(float);
        float *fs = sieve_alloc(imp->ctx, fbytes), *ft = sieve_alloc(imp->ctx, fbytes);
        if (!fs || !ft) {
            sieve_free(imp->ctx, fs, fbytes);
            sieve_free(imp->ctx, ft, fbytes);
            st = SIEVE_ERR_NOMEM;
        } else {
            for (int64_t c = 0; c < channels; c++) {
                fs[c] = (float)scale[c];
                ft[c] = (float)shift[c];
            }
            sieve_shape ps = {.rank = 1, .dims = {channels}};
            int ins[3] = {x, -1, -1}, y;
            st = const_output(imp, NULL, "scale", DT_FLOAT, KIND_F32, &ps, fs, fbytes, &ins[1]);
            if (st == SIEVE_OK)
                st = const_output(imp, NULL, "shift", DT_FLOAT, KIND_F32, &ps, ft, fbytes, &ins[2]);
            else
                sieve_free(imp->ctx, ft, fbytes);
            if (st == SIEVE_OK) {
                sieve_layer_attrs attrs;
                memset(&attrs, 0, sizeof(attrs));
                st = emit(imp, SIEVE_OP_BATCHNORM, &attrs, ins, 3, NULL, imp->node->output[0], &y);
            }
        }
    }
    sieve_free(imp->ctx, scale, pbytes ? pbytes : 1);
    return st;
}

static sieve_status import_gemm(onnx_importer *imp)
{
    static const char *const known[] = {"alpha", "beta", "transA", "transB", "broadcast", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 2, 3));
    TRY(need_outputs(imp, 1));
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    int64_t ta, tb;
    TRY(attr_float(imp, "alpha", 1.0f, &attrs.gemm.alpha));
    TRY(attr_float(imp, "beta", 1.0f, &attrs.gemm.beta));
    TRY(attr_int(imp, "transA", 0, &ta));
    TRY(attr_int(imp, "transB", 0, &tb));
    attrs.gemm.trans_a = ta != 0;
    attrs.gemm.trans_b = tb != 0;
    int ins[3] = {imp->in[0], imp->in[1], imp->n_in > 2 ? imp->in[2] : -1}, y;
    return emit(imp, SIEVE_OP_GEMM, &attrs, ins, imp->n_in, NULL, imp->node->output[0], &y);
}

static sieve_status import_matmul(onnx_importer *imp)
{
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 2, 2));
    TRY(need_outputs(imp, 1));
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    int y;
    return emit(imp, SIEVE_OP_MATMUL, &attrs, imp->in, 2, NULL, imp->node->output[0], &y);
}

static sieve_status import_softmax(onnx_importer *imp)
{
    static const char *const known[] = {"axis", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    int rank = VAL(imp->in[0])->shape.rank, y;
    /* Before opset 13 Softmax flattened the input to 2-D at `axis` (default 1);
     * since 13 it works along one axis (default -1). */
    int64_t axis;
    TRY(attr_int(imp, "axis", imp->opset < 13 ? 1 : -1, &axis));
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    if (normalize_axis(axis, rank, &attrs.axis.axis) < 0)
        return node_fail(imp, SIEVE_ERR_RANGE, "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
    attrs.axis.softmax_coerce_2d = imp->opset < 13;
    return emit(imp, SIEVE_OP_SOFTMAX, &attrs, imp->in, 1, NULL, imp->node->output[0], &y);
}

static bool all_inputs_const(onnx_importer *imp)
{
    for (int i = 0; i < imp->n_in; i++)
        if (imp->in[i] < 0 || !VAL(imp->in[i])->is_const)
            return false;
    return true;
}

static sieve_status need_all_inputs(onnx_importer *imp)
{
    if (imp->n_in < 1)
        return node_fail(imp, SIEVE_ERR_FORMAT, "has no inputs");
    for (int i = 0; i < imp->n_in; i++)
        if (imp->in[i] < 0)
            return node_fail(imp, SIEVE_ERR_FORMAT, "input %d is empty", i);
    return SIEVE_OK;
}

static sieve_status import_concat(onnx_importer *imp)
{
    static const char *const known[] = {"axis", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_all_inputs(imp));
    TRY(need_outputs(imp, 1));
    if (!attr_get(imp, "axis") && imp->opset >= 4)
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute 'axis' is required");
    int64_t axis;
    int rank = VAL(imp->in[0])->shape.rank, y;
    TRY(attr_int(imp, "axis", 1, &axis)); /* the default before opset 4 */
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    if (normalize_axis(axis, rank, &attrs.axis.axis) < 0)
        return node_fail(imp, SIEVE_ERR_RANGE, "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
    if (all_inputs_const(imp))
        return fold_concat(imp, attrs.axis.axis, imp->node->output[0], &y);
    return emit(imp, SIEVE_OP_CONCAT, &attrs, imp->in, imp->n_in, NULL, imp->node->output[0], &y);
}

/* Opset 6 broadcasting: none unless broadcast=1; then B is aligned with A
 * from `axis` on (default: trailing dims, as numpy does). */
static sieve_status legacy_broadcast(onnx_importer *imp, int a, int *b)
{
    char s0[96], s1[96];
    int64_t broadcast, axis;
    const sieve_shape as = VAL(a)->shape, bs = VAL(*b)->shape;
    TRY(attr_int(imp, "broadcast", 0, &broadcast));
    if (!broadcast) {
        bool same = as.rank == bs.rank;
        for (int d = 0; d < as.rank && same; d++)
            same = as.dims[d] == bs.dims[d];
        if (!same)
            return node_fail(imp, SIEVE_ERR_SHAPE, "shapes %s and %s differ and broadcast=0",
                             shape_str(&as, s0, sizeof(s0)), shape_str(&bs, s1, sizeof(s1)));
        return SIEVE_OK;
    }
    if (!attr_get(imp, "axis"))
        return SIEVE_OK;
    TRY(attr_int(imp, "axis", 0, &axis));
    if (axis < 0)
        axis += as.rank;
    if (axis < 0 || axis + bs.rank > as.rank)
        return node_fail(imp, SIEVE_ERR_RANGE, "broadcast axis %lld does not fit %s and %s",
                         (long long)axis, shape_str(&as, s0, sizeof(s0)),
                         shape_str(&bs, s1, sizeof(s1)));
    if (axis + bs.rank == as.rank)
        return SIEVE_OK;
    sieve_shape aligned = bs;
    aligned.rank = as.rank - (int)axis;
    for (int d = bs.rank; d < aligned.rank; d++)
        aligned.dims[d] = 1;
    return reshape_value(imp, *b, &aligned, "broadcast", NULL, b);
}

/* MatMul(A, B) + C with 2-D A and B and a constant C that broadcasts to the
 * product (how TensorFlow/Keras exports dense layers) is one Gemm, into which
 * a following Relu can then fuse. */
static sieve_status add_fold_into_matmul(onnx_importer *imp, int a, int b, bool *fused)
{
    *fused = false;
    int mm = VAL(a)->is_const ? b : a, bias = mm == a ? b : a;
    const onnx_value *v = VAL(mm), *c = VAL(bias);
    if (!c->is_const || c->dtype != DT_FLOAT || v->producer < 0 || v->uses != 1 || v->is_output)
        return SIEVE_OK;
    int li = v->producer;
    onnx_layer *layer = &imp->layers[li];
    if (layer->op != SIEVE_OP_MATMUL || layer->output != mm ||
        VAL(layer->inputs[0])->shape.rank != 2 || VAL(layer->inputs[1])->shape.rank != 2 ||
        c->shape.rank > 2)
        return SIEVE_OK;
    for (int d = 0; d < c->shape.rank; d++) {
        int64_t dim = c->shape.dims[d], out = v->shape.dims[d + 2 - c->shape.rank];
        if (dim != 1 && dim != out)
            return SIEVE_OK; /* C would enlarge the result: not a bias */
    }
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    attrs.gemm.alpha = 1.0f;
    attrs.gemm.beta = 1.0f;
    int ins[3] = {layer->inputs[0], layer->inputs[1], bias};
    sieve_shape shape;
    TRY(layer_infer(imp, SIEVE_OP_GEMM, &attrs, ins, 3, &shape));
    layer = &imp->layers[li];
    layer->op = SIEVE_OP_GEMM;
    layer->attrs = attrs;
    layer->inputs[2] = bias;
    layer->n_inputs = 3;
    TRY(alias_output(imp, imp->node->output[0], mm));
    TRY(value_rename(imp, mm, imp->node->output[0]));
    *fused = true;
    return SIEVE_OK;
}

static sieve_status import_binary(onnx_importer *imp)
{
    static const char *const known_legacy[] = {"broadcast", "axis", NULL};
    static const char *const known[] = {NULL};
    const char *type = imp->node->op_type;
    char op = strcmp(type, "Add") == 0   ? '+'
              : strcmp(type, "Sub") == 0 ? '-'
              : strcmp(type, "Mul") == 0 ? '*'
                                         : '/';
    TRY(attrs_check(imp, imp->opset < 7 ? known_legacy : known));
    TRY(need_inputs(imp, 2, 2));
    TRY(need_outputs(imp, 1));
    int a = imp->in[0], b = imp->in[1], y;
    if (imp->opset < 7)
        TRY(legacy_broadcast(imp, a, &b));
    if (VAL(a)->is_const && VAL(b)->is_const)
        return fold_binary(imp, op, a, b, imp->node->output[0], NULL, &y);
    if (op != '+')
        return unsupported_op(imp, "only constant operands are folded; no kernel computes it");
    bool fused = false;
    TRY(add_fold_into_matmul(imp, a, b, &fused));
    if (fused)
        return SIEVE_OK;
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    int ins[2] = {a, b};
    return emit(imp, SIEVE_OP_ADD, &attrs, ins, 2, NULL, imp->node->output[0], &y);
}

/* Sum of n inputs: n - 1 additions. */
static sieve_status import_sum(onnx_importer *imp)
{
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, known));
    TRY(need_all_inputs(imp));
    TRY(need_outputs(imp, 1));
    const char *out_name = imp->node->output[0];
    if (imp->n_in == 1)
        return alias_output(imp, out_name, imp->in[0]);
    int acc = imp->in[0];
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    for (int k = 1; k < imp->n_in; k++) {
        bool last = k == imp->n_in - 1;
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "sum%d", k);
        int ins[2] = {acc, imp->in[k]};
        if (VAL(acc)->is_const && VAL(imp->in[k])->is_const)
            TRY(fold_binary(imp, '+', acc, imp->in[k], last ? out_name : NULL, last ? NULL : suffix,
                            &acc));
        else
            TRY(emit(imp, SIEVE_OP_ADD, &attrs, ins, 2, last ? NULL : suffix,
                     last ? out_name : NULL, &acc));
    }
    return SIEVE_OK;
}

static sieve_status import_flatten(onnx_importer *imp)
{
    static const char *const known[] = {"axis", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    int x = imp->in[0], y;
    const sieve_shape xs = VAL(x)->shape;
    int64_t axis;
    TRY(attr_int(imp, "axis", 1, &axis));
    if (axis < -(int64_t)xs.rank || axis > xs.rank)
        return node_fail(imp, SIEVE_ERR_RANGE, "axis %lld is out of range for rank %d",
                         (long long)axis, xs.rank);
    if (axis < 0)
        axis += xs.rank;
    if (VAL(x)->is_const) {
        sieve_shape ys = {.rank = 2, .dims = {1, 1}};
        for (int d = 0; d < xs.rank; d++)
            ys.dims[d < axis ? 0 : 1] *= xs.dims[d];
        return reshape_value(imp, x, &ys, NULL, imp->node->output[0], &y);
    }
    sieve_layer_attrs attrs;
    memset(&attrs, 0, sizeof(attrs));
    attrs.axis.axis = (int)axis;
    return emit(imp, SIEVE_OP_FLATTEN, &attrs, &x, 1, NULL, imp->node->output[0], &y);
}

static sieve_status import_reshape(onnx_importer *imp)
{
    static const char *const known[] = {"allowzero", NULL};
    static const char *const known_legacy[] = {"shape", NULL};
    char s0[96];
    int x, y, n;
    int64_t target[SIEVE_MAX_RANK], allowzero;
    TRY(need_outputs(imp, 1));
    if (imp->opset < 5) { /* the shape was an attribute */
        TRY(attrs_check(imp, known_legacy));
        TRY(need_inputs(imp, 1, 1));
        TRY(attr_ints(imp, "shape", target, SIEVE_MAX_RANK, &n));
        if (n < 0)
            return node_fail(imp, SIEVE_ERR_FORMAT, "attribute 'shape' is required");
    } else {
        TRY(attrs_check(imp, known));
        TRY(need_inputs(imp, 2, 2));
        TRY(const_ints(imp, imp->in[1], "shape", target, SIEVE_MAX_RANK, &n));
    }
    x = imp->in[0];
    TRY(attr_int(imp, "allowzero", 0, &allowzero));
    const sieve_shape xs = VAL(x)->shape;
    sieve_shape ys = {.rank = n};
    int infer = -1;
    int64_t known_numel = 1;
    for (int i = 0; i < n; i++) {
        int64_t dim = target[i];
        if (dim == -1) {
            if (infer >= 0)
                return node_fail(imp, SIEVE_ERR_FORMAT, "shape has more than one -1");
            infer = i;
            ys.dims[i] = 1;
            continue;
        }
        if (dim == 0 && !allowzero) { /* 0 copies the input's dimension */
            if (i >= xs.rank)
                return node_fail(imp, SIEVE_ERR_SHAPE,
                                 "shape copies dimension %d of a rank-%d input", i, xs.rank);
            dim = xs.dims[i];
        }
        if (dim < 0)
            return node_fail(imp, SIEVE_ERR_FORMAT, "shape has invalid dimension %lld",
                             (long long)dim);
        if (dim > 0 && known_numel > INT64_MAX / dim)
            return node_fail(imp, SIEVE_ERR_SHAPE, "shape overflows");
        known_numel *= dim;
        ys.dims[i] = dim;
    }
    if (infer >= 0) {
        int64_t total = shape_numel(&xs);
        if (known_numel == 0 || total % known_numel != 0)
            return node_fail(imp, SIEVE_ERR_SHAPE, "cannot reshape %s: -1 has no integer size",
                             shape_str(&xs, s0, sizeof(s0)));
        ys.dims[infer] = total / known_numel;
    }
    return reshape_value(imp, x, &ys, NULL, imp->node->output[0], &y);
}

/* Axes of Squeeze/Unsqueeze: an attribute before opset 13, an input since. */
static sieve_status read_axes(onnx_importer *imp, bool required, int64_t *axes, int *n)
{
    if (imp->opset >= 13) {
        TRY(need_inputs(imp, required ? 2 : 1, 2));
        *n = -1;
        if (imp->n_in > 1)
            TRY(const_ints(imp, imp->in[1], "axes", axes, SIEVE_MAX_RANK, n));
    } else {
        TRY(need_inputs(imp, 1, 1));
        TRY(attr_ints(imp, "axes", axes, SIEVE_MAX_RANK, n));
    }
    if (required && *n < 0)
        return node_fail(imp, SIEVE_ERR_FORMAT, "axes are required");
    return SIEVE_OK;
}

static sieve_status import_squeeze(onnx_importer *imp)
{
    static const char *const known_attr[] = {"axes", NULL};
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, imp->opset >= 13 ? known : known_attr));
    TRY(need_outputs(imp, 1));
    int64_t axes[SIEVE_MAX_RANK];
    int n, y;
    TRY(read_axes(imp, false, axes, &n));
    const sieve_shape xs = VAL(imp->in[0])->shape;
    bool drop[SIEVE_MAX_RANK] = {false};
    for (int d = 0; d < xs.rank && n < 0; d++)
        drop[d] = xs.dims[d] == 1;
    for (int i = 0; i < n; i++) {
        int axis;
        if (normalize_axis(axes[i], xs.rank, &axis) < 0)
            return node_fail(imp, SIEVE_ERR_RANGE, "axis %lld is out of range for rank %d",
                             (long long)axes[i], xs.rank);
        if (xs.dims[axis] != 1)
            return node_fail(imp, SIEVE_ERR_SHAPE, "cannot squeeze axis %d of size %lld", axis,
                             (long long)xs.dims[axis]);
        drop[axis] = true;
    }
    sieve_shape ys = {.rank = 0};
    for (int d = 0; d < xs.rank; d++)
        if (!drop[d])
            ys.dims[ys.rank++] = xs.dims[d];
    return reshape_value(imp, imp->in[0], &ys, NULL, imp->node->output[0], &y);
}

static sieve_status import_unsqueeze(onnx_importer *imp)
{
    static const char *const known_attr[] = {"axes", NULL};
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, imp->opset >= 13 ? known : known_attr));
    TRY(need_outputs(imp, 1));
    int64_t axes[SIEVE_MAX_RANK];
    int n, y;
    TRY(read_axes(imp, true, axes, &n));
    const sieve_shape xs = VAL(imp->in[0])->shape;
    int rank = xs.rank + n;
    if (rank > SIEVE_MAX_RANK)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "rank %d exceeds the maximum of %d", rank,
                         SIEVE_MAX_RANK);
    bool inserted[SIEVE_MAX_RANK] = {false};
    for (int i = 0; i < n; i++) {
        int axis;
        if (normalize_axis(axes[i], rank, &axis) < 0 || inserted[axis])
            return node_fail(imp, SIEVE_ERR_RANGE, "axis %lld is out of range or repeated",
                             (long long)axes[i]);
        inserted[axis] = true;
    }
    sieve_shape ys = {.rank = rank};
    for (int d = 0, j = 0; d < rank; d++)
        ys.dims[d] = inserted[d] ? 1 : xs.dims[j++];
    return reshape_value(imp, imp->in[0], &ys, NULL, imp->node->output[0], &y);
}

/* Dropout and Identity are the identity at inference. */
static sieve_status import_dropout(onnx_importer *imp)
{
    /* Opset 6's is_test=0 asks for training; like every inference runtime we
     * run the inference form regardless. */
    static const char *const known_legacy[] = {"ratio", "is_test", NULL};
    static const char *const known[] = {"seed", NULL};
    TRY(attrs_check(imp, imp->opset < 12 ? known_legacy : known));
    TRY(need_inputs(imp, 1, imp->opset < 12 ? 1 : 3));
    TRY(need_outputs(imp, 2));
    if (imp->n_in > 2 && imp->in[2] >= 0) {
        const onnx_value *mode = VAL(imp->in[2]);
        const onnx_value *ratio = imp->in[1] >= 0 ? VAL(imp->in[1]) : NULL;
        if (!mode->is_const)
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "training_mode must be a constant");
        bool training = false, zero_ratio = ratio && ratio->is_const;
        for (size_t i = 0; i < (size_t)shape_numel(&mode->shape); i++)
            training = training || const_f64(mode, i) != 0.0;
        for (size_t i = 0; zero_ratio && i < (size_t)shape_numel(&ratio->shape); i++)
            zero_ratio = const_f64(ratio, i) == 0.0;
        /* Training with ratio 0 drops nothing: still the identity. */
        if (training && !zero_ratio)
            return node_fail(imp, SIEVE_ERR_UNSUPPORTED,
                             "training-mode Dropout (random masks) is not supported");
    }
    int x = imp->in[0];
    const char *mask_name = node_output_name(imp, 1);
    if (mask_name) { /* all kept */
        const sieve_shape xs = VAL(x)->shape;
        void *data = NULL;
        size_t bytes = 0;
        int mask;
        TRY(const_alloc(imp, KIND_I64, &xs, &data, &bytes));
        for (size_t i = 0; i < bytes / sizeof(int64_t); i++)
            ((int64_t *)data)[i] = 1;
        TRY(const_output(imp, mask_name, NULL, DT_BOOL, KIND_I64, &xs, data, bytes, &mask));
    }
    return alias_output(imp, imp->node->output[0], x);
}

static sieve_status import_identity(onnx_importer *imp)
{
    static const char *const known[] = {NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    return alias_output(imp, imp->node->output[0], imp->in[0]);
}

/* ---- constants and shape arithmetic (folded at import) ------------------------ */

static sieve_status import_constant(onnx_importer *imp)
{
    static const char *const known[] = {"value",        "value_float",   "value_floats",
                                        "value_int",    "value_ints",    "sparse_value",
                                        "value_string", "value_strings", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 0, 0));
    TRY(need_outputs(imp, 1));
    if (imp->node->n_attribute != 1)
        return node_fail(imp, SIEVE_ERR_FORMAT, "needs exactly one value attribute, has %zu",
                         imp->node->n_attribute);
    const Onnx__AttributeProto *a = imp->node->attribute[0];
    const char *out_name = imp->node->output[0];
    int y;
    if (strcmp(a->name, "value") == 0) {
        if (!a->t)
            return node_fail(imp, SIEVE_ERR_FORMAT, "attribute 'value' holds no tensor");
        char what[SIEVE_ERROR_LEN / 2];
        snprintf(what, sizeof(what), "node '%s' (Constant): value", imp->label);
        decoded_tensor t;
        TRY(tensor_decode(imp->ctx, a->t, what, true, &t));
        return const_output_ex(imp, out_name, NULL, t.dtype, t.kind, &t.shape, t.data, t.bytes,
                               t.borrowed, &y);
    }
    bool is_float = strncmp(a->name, "value_float", 11) == 0;
    bool is_list = strcmp(a->name, "value_floats") == 0 || strcmp(a->name, "value_ints") == 0;
    if (!is_float && strncmp(a->name, "value_int", 9) != 0)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "attribute '%s' is not supported", a->name);
    size_t n = is_list ? (is_float ? a->n_floats : a->n_ints) : 1;
    if (is_list ? !attr_is(a,
                           is_float ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
                                    : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
                           true)
                : !attr_is(a,
                           is_float ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
                                    : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
                           is_float ? a->has_f : a->has_i))
        return node_fail(imp, SIEVE_ERR_FORMAT, "attribute '%s' has the wrong type", a->name);
    sieve_shape shape = {.rank = is_list ? 1 : 0, .dims = {(int64_t)n}};
    value_kind kind = is_float ? KIND_F32 : KIND_I64;
    void *data = NULL;
    size_t bytes = 0;
    TRY(const_alloc(imp, kind, &shape, &data, &bytes));
    for (size_t i = 0; i < n; i++) {
        if (is_float)
            ((float *)data)[i] = is_list ? a->floats[i] : a->f;
        else
            ((int64_t *)data)[i] = is_list ? a->ints[i] : a->i;
    }
    return const_output(imp, out_name, NULL, is_float ? DT_FLOAT : DT_INT64, kind, &shape, data,
                        bytes, &y);
}

/* Shapes are static, so Shape is a constant (as PyTorch's flatten exports use). */
static sieve_status import_shape(onnx_importer *imp)
{
    static const char *const known[] = {"start", "end", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    const sieve_shape xs = VAL(imp->in[0])->shape;
    int64_t start, end;
    TRY(attr_int(imp, "start", 0, &start));
    TRY(attr_int(imp, "end", xs.rank, &end));
    if (start < 0)
        start += xs.rank;
    if (end < 0)
        end += xs.rank;
    start = SIEVE_MIN(SIEVE_MAX(start, (int64_t)0), (int64_t)xs.rank);
    end = SIEVE_MIN(SIEVE_MAX(end, (int64_t)0), (int64_t)xs.rank);
    sieve_shape ys = {.rank = 1, .dims = {SIEVE_MAX(end - start, (int64_t)0)}};
    void *data = NULL;
    size_t bytes = 0;
    int y;
    TRY(const_alloc(imp, KIND_I64, &ys, &data, &bytes));
    for (int64_t i = 0; i < ys.dims[0]; i++)
        ((int64_t *)data)[i] = xs.dims[start + i];
    return const_output(imp, imp->node->output[0], NULL, DT_INT64, KIND_I64, &ys, data, bytes, &y);
}

static sieve_status import_gather(onnx_importer *imp)
{
    static const char *const known[] = {"axis", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 2, 2));
    TRY(need_outputs(imp, 1));
    if (!all_inputs_const(imp))
        return unsupported_op(imp, "only constant data and indices are folded");
    const onnx_value data_v = *VAL(imp->in[0]), idx_v = *VAL(imp->in[1]);
    if (idx_v.kind != KIND_I64)
        return node_fail(imp, SIEVE_ERR_FORMAT, "indices '%s' must be integers", idx_v.name);
    int64_t axis_attr;
    int axis, y;
    TRY(attr_int(imp, "axis", 0, &axis_attr));
    if (normalize_axis(axis_attr, data_v.shape.rank, &axis) < 0)
        return node_fail(imp, SIEVE_ERR_RANGE, "axis %lld is out of range for rank %d",
                         (long long)axis_attr, data_v.shape.rank);
    int rank = data_v.shape.rank - 1 + idx_v.shape.rank;
    if (rank > SIEVE_MAX_RANK)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "rank %d exceeds the maximum of %d", rank,
                         SIEVE_MAX_RANK);
    sieve_shape ys = {.rank = 0};
    for (int d = 0; d < axis; d++)
        ys.dims[ys.rank++] = data_v.shape.dims[d];
    for (int d = 0; d < idx_v.shape.rank; d++)
        ys.dims[ys.rank++] = idx_v.shape.dims[d];
    for (int d = axis + 1; d < data_v.shape.rank; d++)
        ys.dims[ys.rank++] = data_v.shape.dims[d];
    void *out = NULL;
    size_t bytes = 0, es = kind_size(data_v.kind), outer = 1, inner = 1;
    TRY(const_alloc(imp, data_v.kind, &ys, &out, &bytes));
    for (int d = 0; d < axis; d++)
        outer *= (size_t)data_v.shape.dims[d];
    for (int d = axis + 1; d < data_v.shape.rank; d++)
        inner *= (size_t)data_v.shape.dims[d];
    int64_t dim = data_v.shape.dims[axis];
    size_t n_idx = (size_t)shape_numel(&idx_v.shape);
    const int64_t *idx = idx_v.data;
    for (size_t o = 0; o < outer; o++) {
        for (size_t j = 0; j < n_idx; j++) {
            int64_t k = idx[j] < 0 ? idx[j] + dim : idx[j];
            if (k < 0 || k >= dim) {
                sieve_free(imp->ctx, out, bytes ? bytes : 1);
                return node_fail(imp, SIEVE_ERR_RANGE, "index %lld is out of range [0, %lld)",
                                 (long long)idx[j], (long long)dim);
            }
            memcpy((uint8_t *)out + (o * n_idx + j) * inner * es,
                   (const uint8_t *)data_v.data + (o * (size_t)dim + (size_t)k) * inner * es,
                   inner * es);
        }
    }
    return const_output(imp, imp->node->output[0], NULL, data_v.dtype, data_v.kind, &ys, out, bytes,
                        &y);
}

static sieve_status import_cast(onnx_importer *imp)
{
    static const char *const known[] = {"to", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    int64_t to;
    TRY(attr_int(imp, "to", 0, &to));
    const onnx_dtype_info *info = dtype_readable(to);
    int x = imp->in[0], y;
    if (!VAL(x)->is_const) {
        if (VAL(x)->dtype == to) /* a no-op cast of a run-time tensor */
            return alias_output(imp, imp->node->output[0], x);
        return unsupported_op(imp, "only casts of constants are folded");
    }
    if (!info || to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
        to == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16)
        return node_fail(imp, SIEVE_ERR_UNSUPPORTED, "cast to %s is not supported", dtype_name(to));
    const onnx_value xv = *VAL(x);
    value_kind kind = (value_kind)info->kind;
    void *data = NULL;
    size_t bytes = 0;
    TRY(const_alloc(imp, kind, &xv.shape, &data, &bytes));
    size_t n = (size_t)shape_numel(&xv.shape);
    for (size_t i = 0; i < n; i++) {
        if (kind == KIND_F32) {
            ((float *)data)[i] = (float)const_f64(&xv, i);
        } else if (kind == KIND_F64) {
            ((double *)data)[i] = const_f64(&xv, i);
        } else if (xv.kind == KIND_I64) {
            ((int64_t *)data)[i] = int_wrap((int32_t)to, (uint64_t)((const int64_t *)xv.data)[i]);
        } else {
            double v = const_f64(&xv, i);
            if (to == DT_BOOL) {
                ((int64_t *)data)[i] = v != 0.0;
                continue;
            }
            if (!(v > -9.2e18 && v < 9.2e18)) {
                sieve_free(imp->ctx, data, bytes ? bytes : 1);
                return node_fail(imp, SIEVE_ERR_RANGE, "cannot cast %g to %s", v, dtype_name(to));
            }
            ((int64_t *)data)[i] = int_wrap((int32_t)to, (uint64_t)(int64_t)v);
        }
    }
    return const_output(imp, imp->node->output[0], NULL, (int32_t)to, kind, &xv.shape, data, bytes,
                        &y);
}

static sieve_status import_constant_of_shape(onnx_importer *imp)
{
    static const char *const known[] = {"value", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    int64_t dims[SIEVE_MAX_RANK];
    int n, y;
    TRY(const_ints(imp, imp->in[0], "shape", dims, SIEVE_MAX_RANK, &n));
    sieve_shape ys = {.rank = n};
    for (int d = 0; d < n; d++) {
        if (dims[d] < 0)
            return node_fail(imp, SIEVE_ERR_FORMAT, "negative dimension %lld", (long long)dims[d]);
        ys.dims[d] = dims[d];
    }
    decoded_tensor fill = {.dtype = DT_FLOAT, .kind = KIND_F32};
    float zero = 0.0f;
    const Onnx__AttributeProto *a = attr_get(imp, "value");
    if (a) {
        if (!a->t)
            return node_fail(imp, SIEVE_ERR_FORMAT, "attribute 'value' holds no tensor");
        char what[SIEVE_ERROR_LEN / 2];
        snprintf(what, sizeof(what), "node '%s' (ConstantOfShape): value", imp->label);
        TRY(tensor_decode(imp->ctx, a->t, what, false, &fill));
        if (fill.numel != 1) {
            sieve_free(imp->ctx, fill.data, fill.bytes ? fill.bytes : 1);
            return node_fail(imp, SIEVE_ERR_FORMAT, "value must hold one element, has %zu",
                             fill.numel);
        }
    }
    const void *one = a ? fill.data : &zero;
    void *data = NULL;
    size_t bytes = 0, es = kind_size(fill.kind);
    sieve_status st = const_alloc(imp, fill.kind, &ys, &data, &bytes);
    if (st == SIEVE_OK) {
        for (size_t i = 0; i < bytes / es; i++)
            memcpy((uint8_t *)data + i * es, one, es);
    }
    if (a)
        sieve_free(imp->ctx, fill.data, fill.bytes ? fill.bytes : 1);
    TRY(st);
    return const_output(imp, imp->node->output[0], NULL, fill.dtype, fill.kind, &ys, data, bytes,
                        &y);
}

/* Transposed constants: PyTorch exports Linear without bias as
 * MatMul(x, Transpose(W)). */
static sieve_status import_transpose(onnx_importer *imp)
{
    static const char *const known[] = {"perm", NULL};
    TRY(attrs_check(imp, known));
    TRY(need_inputs(imp, 1, 1));
    TRY(need_outputs(imp, 1));
    if (!VAL(imp->in[0])->is_const)
        return unsupported_op(imp, "only constants are transposed (at import)");
    const onnx_value xv = *VAL(imp->in[0]);
    int rank = xv.shape.rank, n, y;
    int64_t perm[SIEVE_MAX_RANK];
    TRY(attr_ints(imp, "perm", perm, SIEVE_MAX_RANK, &n));
    if (n < 0) {
        n = rank;
        for (int d = 0; d < rank; d++)
            perm[d] = rank - 1 - d;
    }
    bool seen[SIEVE_MAX_RANK] = {false};
    if (n != rank)
        return node_fail(imp, SIEVE_ERR_FORMAT, "perm has %d values for rank %d", n, rank);
    for (int d = 0; d < rank; d++) {
        if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]])
            return node_fail(imp, SIEVE_ERR_FORMAT, "perm is not a permutation");
        seen[perm[d]] = true;
    }
    sieve_shape ys = {.rank = rank};
    int64_t in_stride[SIEVE_MAX_RANK], step = 1, idx[SIEVE_MAX_RANK] = {0};
    for (int d = rank - 1; d >= 0; d--) {
        in_stride[d] = step;
        step *= xv.shape.dims[d];
    }
    for (int d = 0; d < rank; d++)
        ys.dims[d] = xv.shape.dims[perm[d]];
    void *out = NULL;
    size_t bytes = 0, es = kind_size(xv.kind);
    TRY(const_alloc(imp, xv.kind, &ys, &out, &bytes));
    size_t total = (size_t)shape_numel(&ys);
    int64_t src = 0;
    for (size_t i = 0; i < total; i++) {
        memcpy((uint8_t *)out + i * es, (const uint8_t *)xv.data + (size_t)src * es, es);
        for (int d = rank - 1; d >= 0; d--) {
            idx[d]++;
            src += in_stride[perm[d]];
            if (idx[d] < ys.dims[d])
                break;
            src -= in_stride[perm[d]] * ys.dims[d];
            idx[d] = 0;
        }
    }
    return const_output(imp, imp->node->output[0], NULL, xv.dtype, xv.kind, &ys, out, bytes, &y);
}

/* ---- the graph ------------------------------------------------------------------ */

typedef sieve_status (*onnx_op_fn)(onnx_importer *imp);

static const struct onnx_op_entry {
    const char *op_type;
    onnx_op_fn import;
} onnx_ops[] = {
    {"Add", import_binary},
    {"AveragePool", import_avgpool},
    {"BatchNormalization", import_batchnorm},
    {"Cast", import_cast},
    {"Clip", import_clip},
    {"Concat", import_concat},
    {"Constant", import_constant},
    {"ConstantOfShape", import_constant_of_shape},
    {"Conv", import_conv},
    {"Div", import_binary},
    {"Dropout", import_dropout},
    {"Flatten", import_flatten},
    {"Gather", import_gather},
    {"Gemm", import_gemm},
    {"GlobalAveragePool", import_global_avgpool},
    {"GlobalMaxPool", import_global_maxpool},
    {"Identity", import_identity},
    {"LRN", import_lrn},
    {"MatMul", import_matmul},
    {"MaxPool", import_maxpool},
    {"Mul", import_binary},
    {"Pad", import_pad},
    {"Relu", import_relu},
    {"Reshape", import_reshape},
    {"Shape", import_shape},
    {"Softmax", import_softmax},
    {"Squeeze", import_squeeze},
    {"Sub", import_binary},
    {"Sum", import_sum},
    {"Transpose", import_transpose},
    {"Unsqueeze", import_unsqueeze},
};

static bool is_default_domain(const char *domain)
{
    return !domain || !domain[0] || strcmp(domain, "ai.onnx") == 0;
}

static sieve_status count_use(onnx_importer *imp, const char *name, int add)
{
    if (!name || !name[0])
        return SIEVE_OK;
    int *uses = map_find(&imp->uses_of, name);
    if (uses) {
        *uses += add;
        return SIEVE_OK;
    }
    return map_put(imp->ctx, &imp->uses_of, name, add);
}

/* Every name of the graph, with how many node inputs and graph outputs use
 * it; generated names avoid all of them. */
static sieve_status count_names(onnx_importer *imp, const Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i])
            TRY(count_use(imp, g->initializer[i]->name, 0));
    for (size_t i = 0; i < g->n_input; i++)
        if (g->input[i])
            TRY(count_use(imp, g->input[i]->name, 0));
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *node = g->node[i];
        if (!node)
            return sieve_fail(imp->ctx, SIEVE_ERR_FORMAT, "node %zu is empty", i);
        for (size_t k = 0; k < node->n_output; k++)
            TRY(count_use(imp, node->output[k], 0));
        for (size_t k = 0; k < node->n_input; k++)
            TRY(count_use(imp, node->input[k], 1));
    }
    for (size_t i = 0; i < g->n_output; i++) {
        const Onnx__ValueInfoProto *out = g->output[i];
        if (!out || !out->name || !out->name[0])
            return sieve_fail(imp->ctx, SIEVE_ERR_FORMAT, "graph output %zu has no name", i);
        TRY(count_use(imp, out->name, 1));
        TRY(map_put(imp->ctx, &imp->graph_outputs, out->name, 1));
    }
    return SIEVE_OK;
}

static sieve_status add_constant_value(onnx_importer *imp, const char *name, decoded_tensor *dec)
{
    int id = value_new(imp, name, dec->dtype, &dec->shape);
    if (id < 0) {
        if (!dec->borrowed)
            sieve_free(imp->ctx, dec->data, dec->bytes ? dec->bytes : 1);
        return SIEVE_ERR_NOMEM;
    }
    onnx_value *v = VAL(id);
    v->is_const = true;
    v->kind = dec->kind;
    v->data = dec->data;
    v->bytes = dec->bytes ? dec->bytes : 1;
    v->borrowed = dec->borrowed;
    return name_bind(imp, name, id);
}

static sieve_status add_constant_tensor(onnx_importer *imp, const char *name,
                                        const Onnx__TensorProto *t, const char *what)
{
    decoded_tensor dec;
    TRY(tensor_decode(imp->ctx, t, what, true, &dec));
    return add_constant_value(imp, name, &dec);
}

/* A bound tensor must have its graph input's element type. The one exception:
 * float16/bfloat16 written as uint16 bit patterns (numpy has no bfloat16;
 * the ONNX backend tests store them so) are read as the declared type. */
static sieve_status bound_type(onnx_importer *imp, const char *name, const Onnx__ValueInfoProto *vi,
                               decoded_tensor *dec)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        !tp->tensor_type->has_elem_type)
        return SIEVE_OK;
    int32_t declared = tp->tensor_type->elem_type;
    if (declared == dec->dtype)
        return SIEVE_OK;
    bool half = declared == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
                declared == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
    if (!half || dec->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__UINT16)
        return sieve_fail(imp->ctx, SIEVE_ERR_ARG,
                          "bound tensor '%s' is %s but the graph input is %s", name,
                          dtype_name(dec->dtype), dtype_name(declared));
    const onnx_dtype_info *info = dtype_readable(declared);
    size_t bytes = dec->numel * sizeof(float);
    float *values = sieve_alloc(imp->ctx, bytes ? bytes : 1);
    if (!values)
        return SIEVE_ERR_NOMEM;
    for (size_t i = 0; i < dec->numel; i++)
        values[i] = (float)bits_to_f64(declared, info, (uint64_t)((int64_t *)dec->data)[i]);
    sieve_free(imp->ctx, dec->data, dec->bytes ? dec->bytes : 1);
    dec->data = values;
    dec->bytes = bytes;
    dec->dtype = declared;
    dec->kind = KIND_F32;
    return SIEVE_OK;
}

/* Constants bound by the caller replace graph inputs (and their defaults). */
static sieve_status bind_inputs(onnx_importer *imp, const Onnx__GraphProto *g,
                                const sieve_onnx_options *opt, ProtobufCAllocator *pba)
{
    for (int i = 0; opt && i < opt->n_bind; i++) {
        const char *name = opt->bind_names[i];
        const Onnx__ValueInfoProto *vi = NULL;
        for (size_t k = 0; k < g->n_input && !vi; k++)
            if (g->input[k] && g->input[k]->name && strcmp(g->input[k]->name, name) == 0)
                vi = g->input[k];
        if (!vi)
            return sieve_fail(imp->ctx, SIEVE_ERR_ARG, "bound tensor '%s' is not a graph input",
                              name);
        if (map_find(&imp->value_of, name))
            return sieve_fail(imp->ctx, SIEVE_ERR_ARG, "tensor '%s' is bound twice", name);
        char what[SIEVE_ERROR_LEN / 2];
        snprintf(what, sizeof(what), "bound tensor '%s'", name);
        ProtobufCMessage *msg;
        TRY(pb_unpack(imp->ctx, pba, &onnx__tensor_proto__descriptor, opt->bind_data[i],
                      opt->bind_sizes[i], what, &msg));
        decoded_tensor dec;
        sieve_status st = tensor_decode(imp->ctx, (Onnx__TensorProto *)msg, what, false, &dec);
        protobuf_c_message_free_unpacked(msg, pba);
        TRY(st);
        st = bound_type(imp, name, vi, &dec);
        if (st != SIEVE_OK) {
            sieve_free(imp->ctx, dec.data, dec.bytes ? dec.bytes : 1);
            return st;
        }
        TRY(add_constant_value(imp, name, &dec));
    }
    return SIEVE_OK;
}

static sieve_status add_graph_input(onnx_importer *imp, const Onnx__ValueInfoProto *vi)
{
    const char *name = vi->name;
    const Onnx__TypeProto *type = vi->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type)
        return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED, "graph input '%s' is not a tensor",
                          name);
    const Onnx__TypeProto__Tensor *tt = type->tensor_type;
    if (tt->elem_type != DT_FLOAT)
        return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED,
                          "graph input '%s' is %s; only float inputs are fed at run time (bind "
                          "others as constants with sieve_onnx_options)",
                          name, dtype_name(tt->elem_type));
    if (!tt->shape)
        return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED, "graph input '%s' has no shape", name);
    if (tt->shape->n_dim > SIEVE_MAX_RANK)
        return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED,
                          "graph input '%s' has rank %zu, more than %d", name, tt->shape->n_dim,
                          SIEVE_MAX_RANK);
    sieve_shape shape = {.rank = (int)tt->shape->n_dim};
    for (int d = 0; d < shape.rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        bool fixed = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (!fixed && d == 0) { /* a symbolic batch size: import for one input at a time */
            shape.dims[d] = 1;
            continue;
        }
        if (!fixed)
            return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED,
                              "graph input '%s': dimension %d is symbolic; only the batch "
                              "dimension may be",
                              name, d);
        if (dim->dim_value <= 0 || dim->dim_value > INT32_MAX)
            return sieve_fail(
                imp->ctx, dim->dim_value == 0 ? SIEVE_ERR_UNSUPPORTED : SIEVE_ERR_FORMAT,
                "graph input '%s': dimension %d is %lld%s", name, d, (long long)dim->dim_value,
                dim->dim_value == 0 ? " (zero-size tensors are not supported)" : "");
        shape.dims[d] = dim->dim_value;
    }
    int64_t numel = shape_numel(&shape);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / sizeof(float))
        return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED, "graph input '%s' is too large", name);
    int id = value_new(imp, name, DT_FLOAT, &shape);
    if (id < 0)
        return SIEVE_ERR_NOMEM;
    VAL(id)->is_input = true;
    TRY(name_bind(imp, name, id));
    int *inputs =
        sieve_realloc(imp->ctx, imp->graph_inputs, (size_t)imp->n_graph_inputs * sizeof(int),
                      (size_t)(imp->n_graph_inputs + 1) * sizeof(int));
    if (!inputs)
        return SIEVE_ERR_NOMEM;
    imp->graph_inputs = inputs;
    imp->graph_inputs[imp->n_graph_inputs++] = id;
    return SIEVE_OK;
}

static sieve_status import_node(onnx_importer *imp, const Onnx__NodeProto *node, size_t index)
{
    if (!node->op_type || !node->op_type[0])
        return sieve_fail(imp->ctx, SIEVE_ERR_FORMAT, "node %zu has no op_type", index);
    imp->node = node;
    if (node->name && node->name[0]) {
        imp->label = sieve_strdup(imp->ctx, node->name);
    } else {
        size_t len = strlen(node->op_type) + 24;
        char *buf = sieve_alloc(imp->ctx, len);
        if (buf) {
            snprintf(buf, len, "%s_%zu", node->op_type, index);
            imp->label = sieve_strdup(imp->ctx, buf);
            sieve_free(imp->ctx, buf, len);
        }
    }
    if (!imp->label)
        return SIEVE_ERR_NOMEM;
    if (!is_default_domain(node->domain))
        return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED,
                          "unsupported op '%s' of domain '%s' at node '%s'", node->op_type,
                          node->domain, imp->label);
    if (imp->opset < 0)
        return sieve_fail(imp->ctx, SIEVE_ERR_FORMAT,
                          "node '%s' uses the ONNX domain, which the model does not import",
                          imp->label);
    const struct onnx_op_entry *entry = NULL;
    for (size_t i = 0; i < SIEVE_ARRAY_LEN(onnx_ops) && !entry; i++)
        if (strcmp(onnx_ops[i].op_type, node->op_type) == 0)
            entry = &onnx_ops[i];
    if (!entry)
        return unsupported_op(imp, NULL);
    TRY(resolve_inputs(imp));
    return entry->import(imp);
}

/* ---- building the sieve model ------------------------------------------------- */

/* sieve_model_add_* return -1 after recording a message but no status. Names
 * are unique and shapes valid by construction, so what remains is running out
 * of memory (anything else would be an importer bug: reported as FORMAT). */
static sieve_status model_add_failed(onnx_importer *imp)
{
    const char *msg = sieve_context_error(imp->ctx);
    return strncmp(msg, "out of memory", 13) == 0 ? SIEVE_ERR_NOMEM : SIEVE_ERR_FORMAT;
}

static sieve_status tensor_for_value(onnx_importer *imp, sieve_model *m, int id)
{
    onnx_value *v = VAL(id);
    if (v->tensor >= 0)
        return SIEVE_OK;
    if (!v->is_const)
        return sieve_fail(imp->ctx, SIEVE_ERR_STATE, "internal: '%s' used before it is computed",
                          v->name);
    sieve_format fp32 = sieve_format_fp32();
    int t = sieve_model_add_tensor(m, v->name, SIEVE_TENSOR_CONSTANT, &v->shape, &fp32);
    if (t < 0)
        return model_add_failed(imp);
    size_t n = (size_t)shape_numel(&v->shape);
    float *values = v->data;
    if (v->kind != KIND_F32) {
        values = sieve_alloc(imp->ctx, n ? n * sizeof(float) : 1);
        if (!values)
            return SIEVE_ERR_NOMEM;
        for (size_t i = 0; i < n; i++)
            values[i] = (float)const_f64(v, i);
    }
    sieve_status st = sieve_model_set_constant(m, t, values, n);
    if (values != v->data)
        sieve_free(imp->ctx, values, n ? n * sizeof(float) : 1);
    TRY(st);
    v->tensor = t;
    return SIEVE_OK;
}

/* Each graph output must be an activation written by a layer and stand for
 * one output only; else (a graph input, a constant, or an output repeated
 * through aliases) a copy layer gives it its own tensor. */
static sieve_status resolve_outputs(onnx_importer *imp, const Onnx__GraphProto *g, int *outs)
{
    imp->node = NULL;
    for (size_t k = 0; k < g->n_output; k++) {
        const char *name = g->output[k]->name;
        const int *found = map_find(&imp->value_of, name);
        if (!found)
            return sieve_fail(imp->ctx, SIEVE_ERR_FORMAT, "graph output '%s' is never computed",
                              name);
        int id = *found;
        if (VAL(id)->pad_source >= 0)
            return sieve_fail(imp->ctx, SIEVE_ERR_UNSUPPORTED,
                              "graph output '%s' is the output of a Pad (only supported feeding "
                              "a Conv or an AveragePool)",
                              name);
        if (VAL(id)->producer >= 0 && !VAL(id)->claimed) {
            VAL(id)->claimed = true;
            TRY(value_rename(imp, id, name));
            outs[k] = id;
            continue;
        }
        /* The copy takes the output's name; a constant of that name is
         * renamed, a graph input keeps its name and the copy gets another. */
        char *copy_name = NULL;
        if (strcmp(VAL(id)->name, name) == 0) {
            copy_name = unique_name(imp, name, VAL(id)->is_input ? "out" : "value");
            if (!copy_name)
                return SIEVE_ERR_NOMEM;
            if (!VAL(id)->is_input) {
                sieve_status st = value_rename(imp, id, copy_name);
                sieve_free_str(imp->ctx, copy_name);
                copy_name = NULL;
                TRY(st);
            }
        }
        sieve_shape shape = VAL(id)->shape, inferred;
        sieve_layer_attrs attrs;
        memset(&attrs, 0, sizeof(attrs));
        attrs.reshape.shape = shape;
        imp->any_dtype = true;
        sieve_status st = layer_infer(imp, SIEVE_OP_RESHAPE, &attrs, &id, 1, &inferred);
        imp->any_dtype = false;
        const char *cname = copy_name ? copy_name : name;
        int copy = st == SIEVE_OK ? value_new(imp, cname, DT_FLOAT, &inferred) : -1;
        if (st == SIEVE_OK && copy < 0)
            st = SIEVE_ERR_NOMEM;
        if (st == SIEVE_OK)
            st = map_put(imp->ctx, &imp->value_of, cname, copy);
        size_t len = strlen(cname) + 8;
        char *lname = st == SIEVE_OK ? sieve_alloc(imp->ctx, len) : NULL;
        if (st == SIEVE_OK && !lname)
            st = SIEVE_ERR_NOMEM;
        if (st == SIEVE_OK) {
            snprintf(lname, len, "%s/copy", cname);
            st = layer_push(imp, lname, SIEVE_OP_RESHAPE, &attrs, &id, 1, copy);
            sieve_free(imp->ctx, lname, len);
        }
        sieve_free_str(imp->ctx, copy_name);
        TRY(st);
        VAL(copy)->claimed = true;
        outs[k] = copy;
    }
    return SIEVE_OK;
}

static sieve_status build_model(onnx_importer *imp, const Onnx__GraphProto *g, sieve_model *m)
{
    sieve_context *ctx = imp->ctx;
    if (g->n_output == 0)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "the graph has no outputs");
    if (imp->n_graph_inputs == 0)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED,
                          "the graph has no run-time input (every input is a constant)");
    if (g->n_output > (size_t)INT32_MAX / sizeof(int))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "too many graph outputs");
    size_t outs_bytes = g->n_output * sizeof(int);
    int *outs = sieve_alloc(ctx, outs_bytes);
    if (!outs)
        return SIEVE_ERR_NOMEM;
    sieve_status st = resolve_outputs(imp, g, outs);

    /* Liveness: layers whose results reach no output are dropped. */
    size_t live_bytes = (size_t)imp->n_values + 1;
    uint8_t *live = st == SIEVE_OK ? sieve_calloc(ctx, live_bytes, 1) : NULL;
    if (st == SIEVE_OK && !live)
        st = SIEVE_ERR_NOMEM;
    for (size_t k = 0; st == SIEVE_OK && k < g->n_output; k++)
        live[outs[k]] = 1;
    for (int li = imp->n_layers - 1; st == SIEVE_OK && li >= 0; li--) {
        const onnx_layer *l = &imp->layers[li];
        if (!live[l->output])
            continue;
        for (int i = 0; i < l->n_inputs; i++)
            if (l->inputs[i] >= 0)
                live[l->inputs[i]] = 1;
    }

    sieve_format fp32 = sieve_format_fp32();
    for (int i = 0; st == SIEVE_OK && i < imp->n_graph_inputs; i++) {
        onnx_value *v = VAL(imp->graph_inputs[i]);
        v->tensor = sieve_model_add_tensor(m, v->name, SIEVE_TENSOR_INPUT, &v->shape, &fp32);
        st = v->tensor < 0 ? model_add_failed(imp) : sieve_model_mark_input(m, v->tensor);
    }
    for (int li = 0; st == SIEVE_OK && li < imp->n_layers; li++) {
        const onnx_layer *l = &imp->layers[li];
        if (!live[l->output])
            continue;
        int tensors[SIEVE_MAX_LAYER_INPUTS];
        for (int i = 0; st == SIEVE_OK && i < l->n_inputs; i++) {
            tensors[i] = -1;
            if (l->inputs[i] < 0)
                continue;
            st = tensor_for_value(imp, m, l->inputs[i]);
            tensors[i] = VAL(l->inputs[i])->tensor;
        }
        if (st != SIEVE_OK)
            break;
        onnx_value *out = VAL(l->output);
        out->tensor =
            sieve_model_add_tensor(m, out->name, SIEVE_TENSOR_ACTIVATION, &out->shape, &fp32);
        if (out->tensor < 0 || sieve_model_add_layer(m, l->name, l->op, tensors, l->n_inputs,
                                                     &out->tensor, 1, &l->attrs) < 0)
            st = model_add_failed(imp);
    }
    for (size_t k = 0; st == SIEVE_OK && k < g->n_output; k++)
        st = sieve_model_mark_output(m, VAL(outs[k])->tensor);
    if (st == SIEVE_OK)
        st = sieve_model_validate(m);
    sieve_free(ctx, live, live_bytes);
    sieve_free(ctx, outs, outs_bytes);
    return st;
}

static sieve_status import_graph(onnx_importer *imp, const Onnx__GraphProto *g,
                                 const sieve_onnx_options *opt, ProtobufCAllocator *pba)
{
    sieve_context *ctx = imp->ctx;
    TRY(count_names(imp, g));
    TRY(bind_inputs(imp, g, opt, pba));
    if (g->n_sparse_initializer > 0)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (!t || !t->name || !t->name[0])
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "initializer %zu has no name", i);
        const int *bound = map_find(&imp->value_of, t->name);
        if (bound && imp->values[*bound].is_const && i > 0) {
            bool dup = false; /* bound by the caller, or given twice? */
            for (size_t j = 0; j < i && !dup; j++)
                dup = g->initializer[j]->name && strcmp(g->initializer[j]->name, t->name) == 0;
            if (dup)
                return sieve_fail(ctx, SIEVE_ERR_FORMAT, "initializer '%s' is given twice",
                                  t->name);
        }
        if (bound)
            continue;
        char what[SIEVE_ERROR_LEN / 2];
        snprintf(what, sizeof(what), "initializer '%s'", t->name);
        TRY(add_constant_tensor(imp, t->name, t, what));
    }
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi || !vi->name || !vi->name[0])
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "graph input %zu has no name", i);
        const int *known = map_find(&imp->value_of, vi->name);
        if (known && imp->values[*known].is_input)
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "graph input '%s' is listed twice", vi->name);
        if (!known) /* inputs with an initializer or a binding are constants */
            TRY(add_graph_input(imp, vi));
    }
    for (size_t i = 0; i < g->n_node; i++) {
        sieve_status st = import_node(imp, g->node[i], i);
        sieve_free_str(ctx, imp->label);
        imp->label = NULL;
        TRY(st);
    }
    imp->node = NULL;
    return SIEVE_OK;
}

static void importer_free(onnx_importer *imp)
{
    sieve_context *ctx = imp->ctx;
    for (int i = 0; i < imp->n_values; i++) {
        sieve_free_str(ctx, imp->values[i].name);
        if (!imp->values[i].borrowed)
            sieve_free(ctx, imp->values[i].data, imp->values[i].bytes);
    }
    sieve_free(ctx, imp->values, (size_t)imp->cap_values * sizeof(*imp->values));
    for (int i = 0; i < imp->n_layers; i++)
        sieve_free_str(ctx, imp->layers[i].name);
    sieve_free(ctx, imp->layers, (size_t)imp->cap_layers * sizeof(*imp->layers));
    map_free(ctx, &imp->value_of);
    map_free(ctx, &imp->uses_of);
    map_free(ctx, &imp->graph_outputs);
    sieve_free(ctx, imp->graph_inputs, (size_t)imp->n_graph_inputs * sizeof(int));
    sieve_free(ctx, imp->in, (size_t)imp->cap_in * sizeof(int));
    sieve_free_str(ctx, imp->label);
}

static sieve_status check_options(sieve_context *ctx, const sieve_onnx_options *opt)
{
    if (!opt || opt->n_bind == 0)
        return SIEVE_OK;
    if (opt->n_bind < 0 || !opt->bind_names || !opt->bind_data || !opt->bind_sizes)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "onnx options: %d bindings without their arrays",
                          opt->n_bind);
    for (int i = 0; i < opt->n_bind; i++)
        if (!opt->bind_names[i] || !opt->bind_names[i][0])
            return sieve_fail(ctx, SIEVE_ERR_ARG, "onnx options: binding %d has no name", i);
    return SIEVE_OK;
}

static sieve_status model_opset(sieve_context *ctx, const Onnx__ModelProto *model, int64_t *opset)
{
    *opset = -1;
    for (size_t i = 0; i < model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = model->opset_import[i];
        if (o && is_default_domain(o->domain) && o->has_version)
            *opset = SIEVE_MAX(*opset, o->version);
    }
    if (*opset < 0 && model->n_opset_import == 0)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "the model imports no opset");
    if ((*opset >= 0 && *opset < ONNX_OPSET_MIN) || *opset > ONNX_OPSET_MAX)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "opset %lld is not supported (%d to %d are)",
                          (long long)*opset, ONNX_OPSET_MIN, ONNX_OPSET_MAX);
    return SIEVE_OK;
}

static sieve_status set_provenance(sieve_model *m, const Onnx__ModelProto *model, int64_t opset)
{
    char buf[64];
    TRY(sieve_model_set_metadata(m, "source", "onnx"));
    snprintf(buf, sizeof(buf), "%lld", (long long)opset);
    if (opset >= 0)
        TRY(sieve_model_set_metadata(m, "onnx.opset", buf));
    if (model->producer_name && model->producer_name[0])
        TRY(sieve_model_set_metadata(m, "onnx.producer", model->producer_name));
    if (model->producer_version && model->producer_version[0])
        TRY(sieve_model_set_metadata(m, "onnx.producer_version", model->producer_version));
    return SIEVE_OK;
}

/* Imports from memory; `owned` (may be NULL) is the caller's buffer holding
 * `data`, freed as soon as protobuf-c has copied what it needs. */
static sieve_status import_model(sieve_context *ctx, const void *data, size_t size,
                                 const sieve_onnx_options *options, sieve_model **out,
                                 uint8_t *owned, size_t owned_size)
{
    *out = NULL;
    sieve_status st = check_options(ctx, options);
    pb_alloc_state pbs = {.ctx = ctx};
    ProtobufCAllocator pba = {.alloc = pb_alloc, .free = pb_free, .allocator_data = &pbs};
    ProtobufCMessage *msg = NULL;
    if (st == SIEVE_OK)
        st = pb_unpack(ctx, &pba, &onnx__model_proto__descriptor, data, size, "ONNX model", &msg);
    sieve_free(ctx, owned, owned_size);
    TRY(st);
    const Onnx__ModelProto *model = (const Onnx__ModelProto *)msg;

    onnx_importer imp;
    memset(&imp, 0, sizeof(imp));
    imp.ctx = ctx;
    sieve_model *m = NULL;
    st = model_opset(ctx, model, &imp.opset);
    if (st == SIEVE_OK && !model->graph)
        st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "the ONNX model has no graph");
    if (st == SIEVE_OK)
        st = import_graph(&imp, model->graph, options, &pba);
    if (st == SIEVE_OK) {
        m = sieve_model_new(ctx);
        st = m ? build_model(&imp, model->graph, m) : SIEVE_ERR_NOMEM;
    }
    if (st == SIEVE_OK)
        st = set_provenance(m, model, imp.opset);
    importer_free(&imp);
    protobuf_c_message_free_unpacked(msg, &pba);
    if (st != SIEVE_OK) {
        sieve_model_free(m);
        return st;
    }
    *out = m;
    return SIEVE_OK;
}

sieve_status sieve_onnx_import_memory(sieve_context *ctx, const void *data, size_t size,
                                      const sieve_onnx_options *options, sieve_model **out)
{
    if (!ctx)
        return SIEVE_ERR_ARG;
    if (!out)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "onnx import: out is NULL");
    return import_model(ctx, data, size, options, out, NULL, 0);
}

sieve_status sieve_onnx_import_file(sieve_context *ctx, const char *path,
                                    const sieve_onnx_options *options, sieve_model **out)
{
    if (!ctx)
        return SIEVE_ERR_ARG;
    if (!path || !out)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "onnx import: NULL path or out");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sieve_fail(ctx, SIEVE_ERR_IO, "cannot open '%s'", path);
    /* Regular files only: a directory or a device has no meaningful size. */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sieve_fail(ctx, SIEVE_ERR_IO, "'%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX - 1) {
        fclose(f);
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "'%s' is too large", path);
    }
    size_t size = (size_t)st.st_size;
    /* Read, not mapped: a mapped file truncated by another process while we
     * parse it would kill the caller with SIGBUS. The buffer is freed as soon
     * as protobuf-c has parsed it. */
    uint8_t *buf = sieve_alloc(ctx, size ? size : 1);
    if (!buf) {
        fclose(f);
        return SIEVE_ERR_NOMEM;
    }
    size_t got = size ? fread(buf, 1, size, f) : 0;
    sieve_status status = SIEVE_OK;
    if (got != size || ferror(f))
        status = sieve_fail(ctx, SIEVE_ERR_IO, "error reading '%s' (%zu of %zu bytes)", path, got,
                            size);
    fclose(f);
    if (status != SIEVE_OK) {
        sieve_free(ctx, buf, size ? size : 1);
        return status;
    }
    return import_model(ctx, buf, size, options, out, buf, size ? size : 1);
}

sieve_status sieve_onnx_read_tensor(sieve_context *ctx, const void *data, size_t size,
                                    sieve_shape *shape, float *dst, size_t cap, size_t *n_out,
                                    char *name, size_t name_cap)
{
    if (!ctx)
        return SIEVE_ERR_ARG;
    pb_alloc_state pbs = {.ctx = ctx};
    ProtobufCAllocator pba = {.alloc = pb_alloc, .free = pb_free, .allocator_data = &pbs};
    ProtobufCMessage *msg;
    TRY(pb_unpack(ctx, &pba, &onnx__tensor_proto__descriptor, data, size, "ONNX tensor", &msg));
    const Onnx__TensorProto *t = (const Onnx__TensorProto *)msg;
    const onnx_dtype_info *info;
    sieve_shape s;
    size_t numel = 0;
    sieve_status st =
        tensor_check(ctx, t, t->name && t->name[0] ? t->name : "ONNX tensor", &info, &s, &numel);
    if (st == SIEVE_OK && dst) {
        if (cap < numel)
            st = sieve_fail(ctx, SIEVE_ERR_RANGE, "tensor has %zu elements, the buffer holds %zu",
                            numel, cap);
        else
            tensor_to_f32(t, info, numel, dst);
    }
    if (st == SIEVE_OK) {
        if (shape)
            *shape = s;
        if (n_out)
            *n_out = numel;
        if (name && name_cap > 0)
            snprintf(name, name_cap, "%s", t->name ? t->name : "");
    }
    protobuf_c_message_free_unpacked(msg, &pba);
    return st;
}
