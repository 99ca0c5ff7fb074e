/* libsieve — the .sieve model file.
 *
 * Layout (all integers little-endian):
 *   0   8  magic "SIEVEMDL"
 *   8   4  format version (SIEVE_FILE_VERSION_MIN .. SIEVE_FILE_VERSION)
 *   12  4  flags (0)
 *   16  8  header length H
 *   24  H  JSON header (graph, tensor table, formats, preprocessing,
 *          labels, metadata)
 *   D      data section, D = 24 + H rounded up to 64; every constant's
 *          blob starts at D + offset with offset a multiple of 64.
 * In the spirit of safetensors: the header says where every blob lives and
 * the loader checks every offset, size, shape and reference before use. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "graph.h"

#define SIEVE_FILE_MAGIC "SIEVEMDL"
/* Version 2 adds one attribute, "relu" of add layers (Add followed by a
 * ReLU, fused). A file is written with the lowest version that holds its
 * graph: a version 1 reader would ignore the attribute and compute another
 * function, so it must refuse exactly the files that use it, and keep
 * reading all the others. */
#define SIEVE_FILE_VERSION_MIN 1u
#define SIEVE_FILE_VERSION 2u
#define SIEVE_FILE_PREAMBLE 24u
#define SIEVE_BLOB_ALIGN 64u
#define SIEVE_MAX_DIM ((int64_t)1 << 40)
#define SIEVE_MAX_ATTR 1 << 20

static const char *const role_names[] = {
    [SIEVE_TENSOR_INPUT] = "input",
    [SIEVE_TENSOR_CONSTANT] = "constant",
    [SIEVE_TENSOR_ACTIVATION] = "activation",
};

static size_t align_up(size_t x) { return (x + SIEVE_BLOB_ALIGN - 1) & ~(size_t)(SIEVE_BLOB_ALIGN - 1); }

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- writing ------------------------------------------------------------ */

static cJSON *int_array(const int *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *shape_json(const sieve_shape *s)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < s->rank; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)s->dims[i]));
    return a;
}

static cJSON *attrs_json(const sieve_layer *l)
{
    cJSON *o = cJSON_CreateObject();
    const sieve_layer_attrs *a = &l->attrs;
    switch (l->op) {
    case SIEVE_OP_CONV:
        cJSON_AddItemToObject(o, "kernel", int_array(a->conv.kernel, 2));
        cJSON_AddItemToObject(o, "stride", int_array(a->conv.stride, 2));
        cJSON_AddItemToObject(o, "dilation", int_array(a->conv.dilation, 2));
        cJSON_AddItemToObject(o, "pads", int_array(a->conv.pads, 4));
        cJSON_AddNumberToObject(o, "group", a->conv.group);
        cJSON_AddBoolToObject(o, "relu", a->conv.relu);
        break;
    case SIEVE_OP_MAXPOOL:
    case SIEVE_OP_AVGPOOL:
        cJSON_AddItemToObject(o, "kernel", int_array(a->pool.kernel, 2));
        cJSON_AddItemToObject(o, "stride", int_array(a->pool.stride, 2));
        cJSON_AddItemToObject(o, "dilation", int_array(a->pool.dilation, 2));
        cJSON_AddItemToObject(o, "pads", int_array(a->pool.pads, 4));
        cJSON_AddBoolToObject(o, "ceil_mode", a->pool.ceil_mode);
        cJSON_AddBoolToObject(o, "count_include_pad", a->pool.count_include_pad);
        break;
    case SIEVE_OP_LRN:
        cJSON_AddNumberToObject(o, "size", a->lrn.size);
        cJSON_AddNumberToObject(o, "alpha", a->lrn.alpha);
        cJSON_AddNumberToObject(o, "beta", a->lrn.beta);
        cJSON_AddNumberToObject(o, "bias", a->lrn.bias);
        break;
    case SIEVE_OP_GEMM:
        cJSON_AddNumberToObject(o, "alpha", a->gemm.alpha);
        cJSON_AddNumberToObject(o, "beta", a->gemm.beta);
        cJSON_AddBoolToObject(o, "trans_a", a->gemm.trans_a);
        cJSON_AddBoolToObject(o, "trans_b", a->gemm.trans_b);
        cJSON_AddBoolToObject(o, "relu", a->gemm.relu);
        break;
    case SIEVE_OP_ADD:
        if (a->add.relu) /* absent means false: version 1 files stay as they were */
            cJSON_AddBoolToObject(o, "relu", true);
        break;
    case SIEVE_OP_SOFTMAX:
    case SIEVE_OP_CONCAT:
    case SIEVE_OP_FLATTEN:
        cJSON_AddNumberToObject(o, "axis", a->axis.axis);
        if (l->op == SIEVE_OP_SOFTMAX)
            cJSON_AddBoolToObject(o, "coerce_2d", a->axis.softmax_coerce_2d);
        break;
    case SIEVE_OP_RESHAPE:
        cJSON_AddItemToObject(o, "shape", shape_json(&a->reshape.shape));
        break;
    default:
        break;
    }
    return o;
}

/* Blob placement: base constants first, then every variant's own data. */
typedef struct blob_plan {
    size_t *base;     /* [n_tensors] */
    size_t **variant; /* [n_variants][n_tensors] */
    size_t total;
} blob_plan;

/* The lowest file version that can hold the model's graph. */
static uint32_t file_version_of(const sieve_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].op == SIEVE_OP_ADD && m->layers[i].attrs.add.relu)
            return 2;
    return SIEVE_FILE_VERSION_MIN;
}

static cJSON *header_json(const sieve_model *m, const blob_plan *plan)
{
    const size_t *offsets = plan->base;
    char fmt[64];
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "version", file_version_of(m));
    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    for (int i = 0; i < m->n_tensors; i++) {
        const sieve_tensor *t = &m->tensors[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "role", role_names[t->role]);
        cJSON_AddItemToObject(o, "shape", shape_json(&t->shape));
        cJSON_AddStringToObject(o, "format", sieve_format_str(&t->format, fmt, sizeof(fmt)));
        if (t->role == SIEVE_TENSOR_CONSTANT) {
            cJSON_AddNumberToObject(o, "offset", (double)offsets[i]);
            cJSON_AddNumberToObject(o, "bytes", (double)t->bytes);
        }
        cJSON_AddItemToArray(tensors, o);
    }
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int i = 0; i < m->n_layers; i++) {
        const sieve_layer *l = &m->layers[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", l->name);
        cJSON_AddStringToObject(o, "op", sieve_op_name(l->op));
        cJSON *in = cJSON_AddArrayToObject(o, "inputs");
        for (int k = 0; k < l->n_inputs; k++)
            cJSON_AddItemToArray(in, l->inputs[k] < 0 ? cJSON_CreateNull()
                                                      : cJSON_CreateString(m->tensors[l->inputs[k]].name));
        cJSON *out = cJSON_AddArrayToObject(o, "outputs");
        for (int k = 0; k < l->n_outputs; k++)
            cJSON_AddItemToArray(out, cJSON_CreateString(m->tensors[l->outputs[k]].name));
        cJSON_AddItemToObject(o, "attrs", attrs_json(l));
        cJSON_AddItemToArray(layers, o);
    }
    cJSON *ins = cJSON_AddArrayToObject(root, "inputs");
    for (int i = 0; i < m->n_inputs; i++)
        cJSON_AddItemToArray(ins, cJSON_CreateString(m->tensors[m->inputs[i]].name));
    cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
    for (int i = 0; i < m->n_outputs; i++)
        cJSON_AddItemToArray(outs, cJSON_CreateString(m->tensors[m->outputs[i]].name));
    if (m->has_pre) {
        cJSON *p = cJSON_AddObjectToObject(root, "preprocess");
        cJSON_AddNumberToObject(p, "channels", m->pre.channels);
        cJSON_AddNumberToObject(p, "height", m->pre.height);
        cJSON_AddNumberToObject(p, "width", m->pre.width);
        cJSON_AddNumberToObject(p, "scale", m->pre.scale);
        cJSON *mean = cJSON_AddArrayToObject(p, "mean");
        cJSON *std = cJSON_AddArrayToObject(p, "std");
        for (int c = 0; c < 4; c++) {
            cJSON_AddItemToArray(mean, cJSON_CreateNumber(m->pre.mean[c]));
            cJSON_AddItemToArray(std, cJSON_CreateNumber(m->pre.std[c]));
        }
    }
    cJSON *labels = cJSON_AddArrayToObject(root, "labels");
    for (int i = 0; i < m->n_labels; i++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(m->labels[i]));
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    for (int i = 0; i < m->n_meta; i++)
        cJSON_AddStringToObject(meta, m->meta[i].key, m->meta[i].value);
    if (m->n_variants) {
        cJSON *vars = cJSON_AddArrayToObject(root, "variants");
        for (int i = 0; i < m->n_variants; i++) {
            const sieve_variant *v = &m->variants[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", v->name);
            cJSON_AddStringToObject(o, "calibration", v->calibration);
            cJSON *ts = cJSON_AddObjectToObject(o, "tensors");
            for (int t = 0; t < m->n_tensors; t++) {
                bool same_format = memcmp(&v->formats[t], &m->tensors[t].format,
                                          sizeof(sieve_format)) == 0;
                if (same_format && !v->data[t])
                    continue;
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "format", sieve_format_str(&v->formats[t], fmt, sizeof(fmt)));
                if (v->data[t]) {
                    cJSON_AddNumberToObject(e, "offset", (double)plan->variant[i][t]);
                    cJSON_AddNumberToObject(e, "bytes", (double)v->bytes[t]);
                }
                cJSON_AddItemToObject(ts, m->tensors[t].name, e);
            }
            cJSON_AddItemToArray(vars, o);
        }
    }
    return root;
}

sieve_status sieve_model_save_file(sieve_context *ctx, const sieve_model *m, const char *path)
{
    if (!ctx || !m || !path)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "save: missing model or path");
    size_t n = (size_t)m->n_tensors, nv = (size_t)m->n_variants;
    blob_plan plan = {NULL, NULL, 0};
    sieve_status st = SIEVE_OK;
    cJSON *root = NULL;
    char *text = NULL, *tmp_path = NULL;
    FILE *f = NULL;
    plan.base = sieve_calloc(ctx, n + 1, sizeof(size_t));
    plan.variant = sieve_calloc(ctx, nv + 1, sizeof(size_t *));
    for (size_t i = 0; plan.variant && i < nv; i++)
        if (!(plan.variant[i] = sieve_calloc(ctx, n + 1, sizeof(size_t))))
            break;
    if (!plan.base || !plan.variant || (nv && !plan.variant[nv - 1])) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const sieve_tensor *t = &m->tensors[i];
        if (t->role != SIEVE_TENSOR_CONSTANT)
            continue;
        plan.base[i] = plan.total;
        plan.total = align_up(plan.total + t->bytes);
    }
    for (size_t v = 0; v < nv; v++)
        for (size_t i = 0; i < n; i++)
            if (m->variants[v].data[i]) {
                plan.variant[v][i] = plan.total;
                plan.total = align_up(plan.total + m->variants[v].bytes[i]);
            }
    root = header_json(m, &plan);
    text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        st = sieve_fail(ctx, SIEVE_ERR_NOMEM, "save %s: cannot build header", path);
        goto done;
    }
    /* write next to the target, then rename: a failed save never destroys
     * the file it was meant to replace */
    size_t plen = strlen(path) + 16;
    tmp_path = sieve_alloc(ctx, plen);
    if (!tmp_path) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    snprintf(tmp_path, plen, "%s.tmp", path);
    struct stat target;
    if (stat(path, &target) == 0 && !S_ISREG(target.st_mode)) {
        /* a device or pipe (e.g. /dev/null) is written in place, never
         * replaced by a regular file */
        sieve_free(ctx, tmp_path, plen);
        tmp_path = NULL;
    }
    f = fopen(tmp_path ? tmp_path : path, "wb");
    if (!f) {
        st = sieve_fail(ctx, SIEVE_ERR_IO, "save %s: %s", tmp_path ? tmp_path : path,
                        strerror(errno));
        goto done;
    }
    size_t hlen = strlen(text);
    uint8_t pre[SIEVE_FILE_PREAMBLE];
    memcpy(pre, SIEVE_FILE_MAGIC, 8);
    put_u32(pre + 8, file_version_of(m));
    put_u32(pre + 12, 0);
    put_u64(pre + 16, hlen);
    static const uint8_t zeros[SIEVE_BLOB_ALIGN];
    size_t data_start = align_up(SIEVE_FILE_PREAMBLE + hlen);
    bool ok = fwrite(pre, 1, sizeof(pre), f) == sizeof(pre) && fwrite(text, 1, hlen, f) == hlen &&
              fwrite(zeros, 1, data_start - SIEVE_FILE_PREAMBLE - hlen, f) ==
                  data_start - SIEVE_FILE_PREAMBLE - hlen;
    size_t written = 0;
    for (size_t i = 0; ok && i < n; i++) {
        const sieve_tensor *t = &m->tensors[i];
        if (t->role != SIEVE_TENSOR_CONSTANT)
            continue;
        ok = fwrite(zeros, 1, plan.base[i] - written, f) == plan.base[i] - written &&
             (t->bytes == 0 || fwrite(t->data, 1, t->bytes, f) == t->bytes);
        written = plan.base[i] + t->bytes;
    }
    for (size_t v = 0; ok && v < nv; v++)
        for (size_t i = 0; ok && i < n; i++) {
            const sieve_variant *var = &m->variants[v];
            if (!var->data[i])
                continue;
            size_t at = plan.variant[v][i];
            ok = fwrite(zeros, 1, at - written, f) == at - written &&
                 (var->bytes[i] == 0 || fwrite(var->data[i], 1, var->bytes[i], f) == var->bytes[i]);
            written = at + var->bytes[i];
        }
    /* the file ends with the last blob: any truncation cuts into data */
    if (fclose(f) != 0)
        ok = false;
    if (!ok) {
        st = sieve_fail(ctx, SIEVE_ERR_IO, "save %s: write failed: %s", path, strerror(errno));
        if (tmp_path)
            remove(tmp_path);
    } else if (tmp_path && rename(tmp_path, path) != 0) {
        st = sieve_fail(ctx, SIEVE_ERR_IO, "save %s: %s", path, strerror(errno));
        remove(tmp_path);
    }
done:
    cJSON_free(text);
    if (tmp_path)
        sieve_free(ctx, tmp_path, strlen(path) + 16);
    sieve_free(ctx, plan.base, (n + 1) * sizeof(size_t));
    for (size_t v = 0; plan.variant && v < nv; v++)
        sieve_free(ctx, plan.variant[v], (n + 1) * sizeof(size_t));
    sieve_free(ctx, plan.variant, (nv + 1) * sizeof(size_t *));
    return st;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct blob_span {
    size_t begin, end;
    int tensor;
} blob_span;

static int span_cmp(const void *a, const void *b)
{
    const blob_span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

typedef struct loader {
    sieve_context *ctx;
    sieve_model *m;
    const uint8_t *data; /* data section */
    size_t data_size;
    blob_span *spans; /* every blob, base and variants, for the overlap check */
    int n_spans, cap_spans;
    uint32_t version; /* of the file being read */
} loader;

static sieve_status add_span(loader *L, size_t begin, size_t end, int tensor)
{
    if (L->n_spans == L->cap_spans) {
        int cap = L->cap_spans ? 2 * L->cap_spans : 64;
        blob_span *grown = sieve_realloc(L->ctx, L->spans, (size_t)L->cap_spans * sizeof(*grown),
                                         (size_t)cap * sizeof(*grown));
        if (!grown)
            return SIEVE_ERR_NOMEM;
        L->spans = grown;
        L->cap_spans = cap;
    }
    L->spans[L->n_spans++] = (blob_span){begin, end, tensor};
    return SIEVE_OK;
}

static sieve_status check_overlaps(loader *L)
{
    if (L->n_spans < 2)
        return SIEVE_OK;
    qsort(L->spans, (size_t)L->n_spans, sizeof(*L->spans), span_cmp);
    /* compare with the furthest-reaching blob so far, not just the previous
     * one: an empty blob between two others must not hide their overlap */
    int reach = -1;
    for (int i = 0; i < L->n_spans; i++) {
        if (L->spans[i].begin == L->spans[i].end)
            continue;
        if (reach >= 0 && L->spans[i].begin < L->spans[reach].end)
            return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "tensors '%s' and '%s': blobs overlap",
                              L->m->tensors[L->spans[reach].tensor].name,
                              L->m->tensors[L->spans[i].tensor].name);
        if (reach < 0 || L->spans[i].end > L->spans[reach].end)
            reach = i;
    }
    return SIEVE_OK;
}

/* Checks a blob [off, off+bytes) of tensor t against the data section. */
static sieve_status check_blob(loader *L, const char *who, int64_t off, int64_t bytes, size_t need,
                               int t)
{
    if ((uint64_t)off % SIEVE_BLOB_ALIGN != 0)
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: blob offset %lld is not 64-byte aligned",
                          who, (long long)off);
    if ((uint64_t)bytes != need)
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT,
                          "%s: blob has %lld bytes, shape and format need %zu", who,
                          (long long)bytes, need);
    if ((uint64_t)off > L->data_size || (uint64_t)bytes > L->data_size - (uint64_t)off)
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: blob ends past end of file", who);
    return add_span(L, (size_t)off, (size_t)(off + bytes), t);
}

/* Reads an integral number in [lo, hi]. */
static sieve_status get_int(loader *L, const cJSON *v, const char *what, int64_t lo, int64_t hi,
                            int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: expected a number", what);
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: %g is not an integer in [%lld, %lld]",
                          what, d, (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return SIEVE_OK;
}

static sieve_status get_float(loader *L, const cJSON *v, const char *what, float *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 3.0e38)
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: expected a finite number", what);
    *out = (float)v->valuedouble;
    return SIEVE_OK;
}

static sieve_status get_ints(loader *L, const cJSON *obj, const char *key, const char *who,
                             int *out, int n, int64_t lo, int64_t hi)
{
    char what[160];
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "layer '%s': attribute '%s' must be %d integers",
                          who, key, n);
    for (int i = 0; i < n; i++) {
        int64_t v = 0;
        snprintf(what, sizeof(what), "layer '%s': %s[%d]", who, key, i);
        sieve_status st = get_int(L, cJSON_GetArrayItem(a, i), what, lo, hi, &v);
        if (st != SIEVE_OK)
            return st;
        out[i] = (int)v;
    }
    return SIEVE_OK;
}

static sieve_status get_bool(loader *L, const cJSON *obj, const char *key, const char *who,
                             bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsBool(v))
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "layer '%s': attribute '%s' must be a boolean",
                          who, key);
    *out = cJSON_IsTrue(v);
    return SIEVE_OK;
}

static sieve_status get_shape(loader *L, const cJSON *a, const char *who, sieve_shape *out)
{
    char what[160];
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > SIEVE_MAX_RANK)
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: shape must be an array of at most %d dims",
                          who, SIEVE_MAX_RANK);
    memset(out, 0, sizeof(*out));
    out->rank = cJSON_GetArraySize(a);
    for (int i = 0; i < out->rank; i++) {
        snprintf(what, sizeof(what), "%s: dim %d", who, i);
        sieve_status st = get_int(L, cJSON_GetArrayItem(a, i), what, 0, SIEVE_MAX_DIM, &out->dims[i]);
        if (st != SIEVE_OK)
            return st;
    }
    if (out->rank > 0 && sieve_shape_numel(out) == 0) {
        bool has_zero = false;
        for (int i = 0; i < out->rank; i++)
            has_zero |= out->dims[i] == 0;
        if (!has_zero)
            return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: shape has too many elements", who);
    }
    return SIEVE_OK;
}

static sieve_status parse_attrs(loader *L, const cJSON *o, sieve_op op, const char *who,
                                sieve_layer_attrs *a)
{
    sieve_status st = SIEVE_OK;
    int64_t v = 0;
    char what[160];
    memset(a, 0, sizeof(*a));
    if (!cJSON_IsObject(o))
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "layer '%s': attrs must be an object", who);
#define TRY(x)                                                                                 \
    do {                                                                                       \
        if ((st = (x)) != SIEVE_OK)                                                            \
            return st;                                                                         \
    } while (0)
    switch (op) {
    case SIEVE_OP_CONV:
        TRY(get_ints(L, o, "kernel", who, a->conv.kernel, 2, 1, SIEVE_MAX_ATTR));
        TRY(get_ints(L, o, "stride", who, a->conv.stride, 2, 1, SIEVE_MAX_ATTR));
        TRY(get_ints(L, o, "dilation", who, a->conv.dilation, 2, 1, SIEVE_MAX_ATTR));
        TRY(get_ints(L, o, "pads", who, a->conv.pads, 4, 0, SIEVE_MAX_ATTR));
        snprintf(what, sizeof(what), "layer '%s': group", who);
        TRY(get_int(L, cJSON_GetObjectItemCaseSensitive(o, "group"), what, 1, SIEVE_MAX_ATTR, &v));
        a->conv.group = (int)v;
        TRY(get_bool(L, o, "relu", who, &a->conv.relu));
        break;
    case SIEVE_OP_MAXPOOL:
    case SIEVE_OP_AVGPOOL:
        TRY(get_ints(L, o, "kernel", who, a->pool.kernel, 2, 1, SIEVE_MAX_ATTR));
        TRY(get_ints(L, o, "stride", who, a->pool.stride, 2, 1, SIEVE_MAX_ATTR));
        TRY(get_ints(L, o, "dilation", who, a->pool.dilation, 2, 1, SIEVE_MAX_ATTR));
        TRY(get_ints(L, o, "pads", who, a->pool.pads, 4, 0, SIEVE_MAX_ATTR));
        TRY(get_bool(L, o, "ceil_mode", who, &a->pool.ceil_mode));
        TRY(get_bool(L, o, "count_include_pad", who, &a->pool.count_include_pad));
        break;
    case SIEVE_OP_LRN:
        snprintf(what, sizeof(what), "layer '%s': size", who);
        TRY(get_int(L, cJSON_GetObjectItemCaseSensitive(o, "size"), what, 1, SIEVE_MAX_ATTR, &v));
        a->lrn.size = (int)v;
        snprintf(what, sizeof(what), "layer '%s': alpha/beta/bias", who);
        TRY(get_float(L, cJSON_GetObjectItemCaseSensitive(o, "alpha"), what, &a->lrn.alpha));
        TRY(get_float(L, cJSON_GetObjectItemCaseSensitive(o, "beta"), what, &a->lrn.beta));
        TRY(get_float(L, cJSON_GetObjectItemCaseSensitive(o, "bias"), what, &a->lrn.bias));
        break;
    case SIEVE_OP_GEMM:
        snprintf(what, sizeof(what), "layer '%s': alpha/beta", who);
        TRY(get_float(L, cJSON_GetObjectItemCaseSensitive(o, "alpha"), what, &a->gemm.alpha));
        TRY(get_float(L, cJSON_GetObjectItemCaseSensitive(o, "beta"), what, &a->gemm.beta));
        TRY(get_bool(L, o, "trans_a", who, &a->gemm.trans_a));
        TRY(get_bool(L, o, "trans_b", who, &a->gemm.trans_b));
        TRY(get_bool(L, o, "relu", who, &a->gemm.relu));
        break;
    case SIEVE_OP_ADD:
        if (cJSON_GetObjectItemCaseSensitive(o, "relu")) {
            TRY(get_bool(L, o, "relu", who, &a->add.relu));
            if (a->add.relu && L->version < 2)
                return sieve_fail(L->ctx, SIEVE_ERR_FORMAT,
                                  "layer '%s': a fused ReLU on add needs model file version 2, "
                                  "the file says %u",
                                  who, L->version);
        }
        break;
    case SIEVE_OP_SOFTMAX:
    case SIEVE_OP_CONCAT:
    case SIEVE_OP_FLATTEN:
        snprintf(what, sizeof(what), "layer '%s': axis", who);
        TRY(get_int(L, cJSON_GetObjectItemCaseSensitive(o, "axis"), what, -SIEVE_MAX_RANK,
                    SIEVE_MAX_RANK, &v));
        a->axis.axis = (int)v;
        if (op == SIEVE_OP_SOFTMAX)
            TRY(get_bool(L, o, "coerce_2d", who, &a->axis.softmax_coerce_2d));
        break;
    case SIEVE_OP_RESHAPE:
        snprintf(what, sizeof(what), "layer '%s': shape", who);
        TRY(get_shape(L, cJSON_GetObjectItemCaseSensitive(o, "shape"), what, &a->reshape.shape));
        break;
    default:
        break;
    }
#undef TRY
    return st;
}

static int tensor_ref(loader *L, const cJSON *v, const char *who, const char *what)
{
    if (!cJSON_IsString(v)) {
        sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: %s must be a tensor name", who, what);
        return -2;
    }
    int t = sieve_model_find_tensor(L->m, v->valuestring);
    if (t < 0)
        sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "%s: %s '%s' is not a tensor of the model", who, what,
                   v->valuestring);
    return t < 0 ? -2 : t;
}

static sieve_status parse_tensors(loader *L, const cJSON *tensors)
{
    sieve_context *ctx = L->ctx;
    char who[160];
    if (!cJSON_IsArray(tensors))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "header: 'tensors' must be an array");
    sieve_status st = SIEVE_OK;
    int index = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, tensors)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (!cJSON_IsString(name)) {
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "tensor %d: missing name", index);
            break;
        }
        snprintf(who, sizeof(who), "tensor '%.100s'", name->valuestring);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(o, "role");
        int r = -1;
        for (int k = 0; cJSON_IsString(role) && k < (int)SIEVE_ARRAY_LEN(role_names); k++)
            if (strcmp(role->valuestring, role_names[k]) == 0)
                r = k;
        if (r < 0) {
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: bad role", who);
            break;
        }
        sieve_shape shape;
        if ((st = get_shape(L, cJSON_GetObjectItemCaseSensitive(o, "shape"), who, &shape)) != SIEVE_OK)
            break;
        const cJSON *fmt_text = cJSON_GetObjectItemCaseSensitive(o, "format");
        sieve_format fmt;
        if (!cJSON_IsString(fmt_text) || sieve_format_parse(fmt_text->valuestring, &fmt) != SIEVE_OK) {
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: bad storage format", who);
            break;
        }
        int t = sieve_model_add_tensor(L->m, name->valuestring, (sieve_tensor_role)r, &shape, &fmt);
        if (t < 0) {
            st = SIEVE_ERR_FORMAT;
            break;
        }
        if (r == SIEVE_TENSOR_CONSTANT) {
            int64_t off = 0, bytes = 0;
            char what[200];
            snprintf(what, sizeof(what), "%s: offset", who);
            if ((st = get_int(L, cJSON_GetObjectItemCaseSensitive(o, "offset"), what, 0,
                              INT64_C(1) << 52, &off)) != SIEVE_OK)
                break;
            snprintf(what, sizeof(what), "%s: bytes", who);
            if ((st = get_int(L, cJSON_GetObjectItemCaseSensitive(o, "bytes"), what, 0,
                              INT64_C(1) << 52, &bytes)) != SIEVE_OK)
                break;
            size_t need = sieve_format_bytes(&fmt, (size_t)sieve_shape_numel(&shape));
            if ((st = check_blob(L, who, off, bytes, need, t)) != SIEVE_OK)
                break;
            L->m->tensors[t].data = L->data + off;
            L->m->tensors[t].bytes = (size_t)bytes;
        }
        index++;
    }
    return st;
}

static sieve_status parse_layers(loader *L, const cJSON *layers)
{
    sieve_context *ctx = L->ctx;
    char who[160];
    if (!cJSON_IsArray(layers))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "header: 'layers' must be an array");
    int index = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, layers)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
        if (!cJSON_IsString(name) || !cJSON_IsString(op))
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "layer %d: missing name or op", index);
        snprintf(who, sizeof(who), "layer '%.100s'", name->valuestring);
        int op_id = sieve_op_from_name(op->valuestring);
        if (op_id < 0)
            return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "%s: unknown op '%.60s'", who,
                              op->valuestring);
        const cJSON *ins = cJSON_GetObjectItemCaseSensitive(o, "inputs");
        const cJSON *outs = cJSON_GetObjectItemCaseSensitive(o, "outputs");
        if (!cJSON_IsArray(ins) || cJSON_GetArraySize(ins) > SIEVE_MAX_LAYER_INPUTS ||
            !cJSON_IsArray(outs) || cJSON_GetArraySize(outs) != 1)
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: needs <= %d inputs and 1 output", who,
                              SIEVE_MAX_LAYER_INPUTS);
        int inputs[SIEVE_MAX_LAYER_INPUTS], n_in = 0, output;
        const cJSON *v;
        cJSON_ArrayForEach(v, ins)
        {
            inputs[n_in] = cJSON_IsNull(v) ? -1 : tensor_ref(L, v, who, "input");
            if (inputs[n_in] == -2)
                return SIEVE_ERR_FORMAT;
            n_in++;
        }
        output = tensor_ref(L, cJSON_GetArrayItem(outs, 0), who, "output");
        if (output == -2)
            return SIEVE_ERR_FORMAT;
        sieve_layer_attrs attrs;
        sieve_status st = parse_attrs(L, cJSON_GetObjectItemCaseSensitive(o, "attrs"),
                                      (sieve_op)op_id, name->valuestring, &attrs);
        if (st != SIEVE_OK)
            return st;
        if (sieve_model_add_layer(L->m, name->valuestring, (sieve_op)op_id, inputs, n_in, &output,
                                  1, &attrs) < 0)
            return SIEVE_ERR_FORMAT;
        index++;
    }
    return SIEVE_OK;
}

static sieve_status parse_io(loader *L, const cJSON *arr, bool is_input)
{
    const char *what = is_input ? "graph input" : "graph output";
    if (!cJSON_IsArray(arr))
        return sieve_fail(L->ctx, SIEVE_ERR_FORMAT, "header: '%ss' must be an array", what);
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        int t = tensor_ref(L, v, "header", what);
        if (t < 0)
            return SIEVE_ERR_FORMAT;
        sieve_status st = is_input ? sieve_model_mark_input(L->m, t) : sieve_model_mark_output(L->m, t);
        if (st != SIEVE_OK)
            return st;
    }
    return SIEVE_OK;
}

static sieve_status parse_extras(loader *L, const cJSON *root)
{
    sieve_context *ctx = L->ctx;
    sieve_status st;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "preprocess");
    if (pre) {
        sieve_preprocess p;
        int64_t v = 0;
        memset(&p, 0, sizeof(p));
        if ((st = get_int(L, cJSON_GetObjectItemCaseSensitive(pre, "channels"), "preprocess: channels", 0, 4, &v)))
            return st;
        p.channels = (int)v;
        if ((st = get_int(L, cJSON_GetObjectItemCaseSensitive(pre, "height"), "preprocess: height", 0, 1 << 16, &v)))
            return st;
        p.height = (int)v;
        if ((st = get_int(L, cJSON_GetObjectItemCaseSensitive(pre, "width"), "preprocess: width", 0, 1 << 16, &v)))
            return st;
        p.width = (int)v;
        if ((st = get_float(L, cJSON_GetObjectItemCaseSensitive(pre, "scale"), "preprocess: scale", &p.scale)))
            return st;
        const cJSON *mean = cJSON_GetObjectItemCaseSensitive(pre, "mean");
        const cJSON *std = cJSON_GetObjectItemCaseSensitive(pre, "std");
        if (!cJSON_IsArray(mean) || !cJSON_IsArray(std) || cJSON_GetArraySize(mean) != 4 ||
            cJSON_GetArraySize(std) != 4)
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "preprocess: mean and std must have 4 numbers");
        for (int c = 0; c < 4; c++) {
            if ((st = get_float(L, cJSON_GetArrayItem(mean, c), "preprocess: mean", &p.mean[c])) ||
                (st = get_float(L, cJSON_GetArrayItem(std, c), "preprocess: std", &p.std[c])))
                return st;
        }
        if ((st = sieve_model_set_preprocess(L->m, &p)) != SIEVE_OK)
            return st;
    }
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "labels");
    if (labels) {
        if (!cJSON_IsArray(labels))
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "header: 'labels' must be an array");
        int n = cJSON_GetArraySize(labels);
        const char **text = sieve_calloc(ctx, (size_t)n + 1, sizeof(char *));
        if (!text)
            return SIEVE_ERR_NOMEM;
        int i = 0;
        const cJSON *v;
        st = SIEVE_OK;
        cJSON_ArrayForEach(v, labels)
        {
            if (!cJSON_IsString(v)) {
                st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "label %d is not a string", i);
                break;
            }
            text[i++] = v->valuestring;
        }
        if (st == SIEVE_OK)
            st = sieve_model_set_labels(L->m, text, n);
        sieve_free(ctx, text, ((size_t)n + 1) * sizeof(char *));
        if (st != SIEVE_OK)
            return st;
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (meta) {
        if (!cJSON_IsObject(meta))
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "header: 'metadata' must be an object");
        const cJSON *v;
        cJSON_ArrayForEach(v, meta)
        {
            if (!cJSON_IsString(v) || !v->string || !*v->string)
                return sieve_fail(ctx, SIEVE_ERR_FORMAT, "metadata values must be strings");
            if ((st = sieve_model_set_metadata(L->m, v->string, v->valuestring)) != SIEVE_OK)
                return st;
        }
    }
    return SIEVE_OK;
}

static sieve_status parse_variants(loader *L, const cJSON *arr)
{
    sieve_context *ctx = L->ctx;
    sieve_model *m = L->m;
    char who[200];
    if (!arr)
        return SIEVE_OK;
    if (!cJSON_IsArray(arr))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "header: 'variants' must be an array");
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *cal = cJSON_GetObjectItemCaseSensitive(o, "calibration");
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "tensors");
        if (!cJSON_IsString(name) || (cal && !cJSON_IsString(cal)) || !cJSON_IsObject(ts))
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "variant: needs a name and a tensors object");
        sieve_variant *v = sieve_model_push_variant(m, name->valuestring,
                                                    cal ? cal->valuestring : "");
        if (!v)
            return SIEVE_ERR_FORMAT;
        const cJSON *e;
        cJSON_ArrayForEach(e, ts)
        {
            snprintf(who, sizeof(who), "variant '%.60s': tensor '%.100s'", name->valuestring,
                     e->string ? e->string : "");
            int t = sieve_model_find_tensor(m, e->string);
            if (t < 0)
                return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: no such tensor", who);
            const cJSON *ft = cJSON_GetObjectItemCaseSensitive(e, "format");
            sieve_format fmt;
            char why[128];
            if (!cJSON_IsString(ft) || sieve_format_parse(ft->valuestring, &fmt) != SIEVE_OK ||
                sieve_format_validate(&fmt, why, sizeof(why)) != SIEVE_OK)
                return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: bad storage format", who);
            v->formats[t] = fmt;
            bool same = memcmp(&fmt, &m->tensors[t].format, sizeof(fmt)) == 0;
            const cJSON *off_j = cJSON_GetObjectItemCaseSensitive(e, "offset");
            if (m->tensors[t].role != SIEVE_TENSOR_CONSTANT) {
                if (off_j)
                    return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: only constants have data", who);
                continue;
            }
            if (!off_j) {
                if (!same)
                    return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: new format but no data", who);
                continue;
            }
            int64_t off = 0, bytes = 0;
            sieve_status st;
            char what[240];
            snprintf(what, sizeof(what), "%s: offset", who);
            if ((st = get_int(L, off_j, what, 0, INT64_C(1) << 52, &off)) != SIEVE_OK)
                return st;
            snprintf(what, sizeof(what), "%s: bytes", who);
            if ((st = get_int(L, cJSON_GetObjectItemCaseSensitive(e, "bytes"), what, 0,
                              INT64_C(1) << 52, &bytes)) != SIEVE_OK)
                return st;
            size_t need = sieve_format_bytes(&fmt, (size_t)sieve_shape_numel(&m->tensors[t].shape));
            if ((st = check_blob(L, who, off, bytes, need, t)) != SIEVE_OK)
                return st;
            v->data[t] = L->data + off;
            v->bytes[t] = (size_t)bytes;
        }
    }
    return SIEVE_OK;
}

static sieve_status load_image(sieve_context *ctx, const uint8_t *file, size_t size,
                               sieve_model *m)
{
    if (size < SIEVE_FILE_PREAMBLE)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "file too short (%zu bytes) for a .sieve model", size);
    if (memcmp(file, SIEVE_FILE_MAGIC, 8) != 0)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "not a .sieve model (bad magic)");
    uint32_t version = get_u32(file + 8);
    if (version < SIEVE_FILE_VERSION_MIN || version > SIEVE_FILE_VERSION)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED,
                          "model file version %u, this library reads %u to %u", version,
                          SIEVE_FILE_VERSION_MIN, SIEVE_FILE_VERSION);
    if (get_u32(file + 12) != 0)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "model file uses flags 0x%x this library does not know",
                          get_u32(file + 12));
    uint64_t hlen = get_u64(file + 16);
    if (hlen > size - SIEVE_FILE_PREAMBLE)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "header length %llu runs past end of file",
                          (unsigned long long)hlen);
    size_t data_start = align_up(SIEVE_FILE_PREAMBLE + (size_t)hlen);
    loader L = {ctx, m, NULL, 0, NULL, 0, 0, version};
    if (data_start <= size) {
        L.data = file + data_start;
        L.data_size = size - data_start;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)file + SIEVE_FILE_PREAMBLE, (size_t)hlen);
    if (!root)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "header is not valid JSON");
    sieve_status st;
    if (!cJSON_IsObject(root))
        st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "header must be a JSON object");
    else if ((st = parse_tensors(&L, cJSON_GetObjectItemCaseSensitive(root, "tensors"))) == SIEVE_OK &&
             (st = parse_layers(&L, cJSON_GetObjectItemCaseSensitive(root, "layers"))) == SIEVE_OK &&
             (st = parse_io(&L, cJSON_GetObjectItemCaseSensitive(root, "inputs"), true)) == SIEVE_OK &&
             (st = parse_io(&L, cJSON_GetObjectItemCaseSensitive(root, "outputs"), false)) == SIEVE_OK &&
             (st = parse_extras(&L, root)) == SIEVE_OK &&
             (st = parse_variants(&L, cJSON_GetObjectItemCaseSensitive(root, "variants"))) ==
                 SIEVE_OK &&
             (st = check_overlaps(&L)) == SIEVE_OK)
        st = sieve_model_validate(m);
    cJSON_Delete(root);
    sieve_free(ctx, L.spans, (size_t)L.cap_spans * sizeof(*L.spans));
    return st;
}

sieve_status sieve_model_load_memory(sieve_context *ctx, const void *data, size_t size, int copy,
                                     sieve_model **out)
{
    if (!ctx || !out || (!data && size))
        return sieve_fail(ctx, SIEVE_ERR_ARG, "load: missing context, data or output");
    *out = NULL;
    if (!copy && ((uintptr_t)data % SIEVE_BLOB_ALIGN) != 0)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "load: borrowed model data must be 64-byte aligned");
    sieve_model *m = sieve_model_new(ctx);
    if (!m)
        return SIEVE_ERR_NOMEM;
    const uint8_t *image = data;
    if (copy) {
        m->file_owned = sieve_alloc_aligned(ctx, size ? size : 1);
        if (!m->file_owned) {
            sieve_model_free(m);
            return SIEVE_ERR_NOMEM;
        }
        m->file_size = size ? size : 1;
        if (size)
            memcpy(m->file_owned, data, size);
        image = m->file_owned;
    }
    m->file_data = image;
    sieve_status st = load_image(ctx, image, size, m);
    if (st != SIEVE_OK) {
        sieve_model_free(m);
        return st;
    }
    *out = m;
    return SIEVE_OK;
}

sieve_status sieve_model_load_file(sieve_context *ctx, const char *path, sieve_model **out)
{
    if (!ctx || !path || !out)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "load: missing context, path or output");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: %s", path, strerror(errno));
    size_t size = 0;
    sieve_status fst = sieve_file_size(ctx, f, path, &size);
    if (fst != SIEVE_OK) {
        fclose(f);
        return fst;
    }
    uint8_t *buf = sieve_alloc_aligned(ctx, size ? size : 1);
    if (!buf) {
        fclose(f);
        return SIEVE_ERR_NOMEM;
    }
    size_t got = size ? fread(buf, 1, size, f) : 0;
    fclose(f);
    if (got != size) {
        sieve_free_aligned(ctx, buf, size ? size : 1);
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, size);
    }
    sieve_model *m = sieve_model_new(ctx);
    if (!m) {
        sieve_free_aligned(ctx, buf, size ? size : 1);
        return SIEVE_ERR_NOMEM;
    }
    m->file_owned = buf;
    m->file_size = size ? size : 1;
    m->file_data = buf;
    sieve_status st = load_image(ctx, buf, size, m);
    if (st != SIEVE_OK) {
        char msg[SIEVE_ERROR_LEN];
        snprintf(msg, sizeof(msg), "%s", ctx->error);
        sieve_fail(ctx, st, "%s: %s", path, msg);
        sieve_model_free(m);
        return st;
    }
    *out = m;
    return SIEVE_OK;
}
