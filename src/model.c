/* libsieve — the in-memory model: graph building, validation, inspection. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"

int64_t sieve_shape_numel(const sieve_shape *shape)
{
    int64_t n = 1;
    if (!shape || shape->rank < 0 || shape->rank > SIEVE_MAX_RANK)
        return 0;
    for (int i = 0; i < shape->rank; i++) {
        int64_t d = shape->dims[i];
        if (d < 0 || (d > 0 && n > INT64_MAX / d))
            return 0;
        n *= d;
    }
    return n;
}

sieve_model *sieve_model_new(sieve_context *ctx)
{
    sieve_model *m = sieve_calloc(ctx, 1, sizeof(*m));
    if (m)
        m->ctx = ctx;
    return m;
}

static void free_tensor(sieve_context *ctx, sieve_tensor *t)
{
    sieve_free_str(ctx, t->name);
    if (t->owned)
        sieve_free_aligned(ctx, t->owned, t->bytes ? t->bytes : 1);
}

static void free_labels(sieve_model *m)
{
    if (!m->labels)
        return;
    for (int i = 0; i < m->n_labels; i++)
        sieve_free_str(m->ctx, m->labels[i]);
    sieve_free(m->ctx, m->labels, ((size_t)m->n_labels + 1) * sizeof(char *));
    m->labels = NULL;
    m->n_labels = 0;
}

void sieve_model_free(sieve_model *m)
{
    if (!m)
        return;
    sieve_context *ctx = m->ctx;
    sieve_model_free_variants(m);
    for (int i = 0; i < m->n_tensors; i++)
        free_tensor(ctx, &m->tensors[i]);
    sieve_free(ctx, m->tensors, (size_t)m->cap_tensors * sizeof(*m->tensors));
    for (int i = 0; i < m->n_layers; i++)
        sieve_free_str(ctx, m->layers[i].name);
    sieve_free(ctx, m->layers, (size_t)m->cap_layers * sizeof(*m->layers));
    sieve_free(ctx, m->inputs, (size_t)m->n_inputs * sizeof(int));
    sieve_free(ctx, m->outputs, (size_t)m->n_outputs * sizeof(int));
    free_labels(m);
    for (int i = 0; i < m->n_meta; i++) {
        sieve_free_str(ctx, m->meta[i].key);
        sieve_free_str(ctx, m->meta[i].value);
    }
    sieve_free(ctx, m->meta, (size_t)m->cap_meta * sizeof(*m->meta));
    if (m->file_owned)
        sieve_free_aligned(ctx, m->file_owned, m->file_size);
    sieve_free(ctx, m, sizeof(*m));
}

int sieve_model_find_tensor(const sieve_model *m, const char *name)
{
    if (!m || !name)
        return -1;
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return i;
    return -1;
}

static bool shape_ok(const sieve_shape *s)
{
    if (s->rank < 0 || s->rank > SIEVE_MAX_RANK)
        return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0)
            return false;
    return true;
}

int sieve_model_add_tensor(sieve_model *m, const char *name, sieve_tensor_role role,
                           const sieve_shape *shape, const sieve_format *fmt)
{
    sieve_context *ctx = m->ctx;
    char why[128];
    if (!name || !*name) {
        sieve_fail(ctx, SIEVE_ERR_ARG, "tensor with an empty name");
        return -1;
    }
    if (m->n_variants > 0) {
        sieve_fail(ctx, SIEVE_ERR_STATE, "tensor '%s': cannot add tensors once variants exist", name);
        return -1;
    }
    if (sieve_model_find_tensor(m, name) >= 0) {
        sieve_fail(ctx, SIEVE_ERR_FORMAT, "tensor '%s' defined twice", name);
        return -1;
    }
    if (role > SIEVE_TENSOR_ACTIVATION) {
        sieve_fail(ctx, SIEVE_ERR_ARG, "tensor '%s': bad role %d", name, (int)role);
        return -1;
    }
    if (shape && !shape_ok(shape)) {
        sieve_fail(ctx, SIEVE_ERR_SHAPE, "tensor '%s': bad shape (rank %d)", name, shape->rank);
        return -1;
    }
    sieve_format f = fmt ? *fmt : sieve_format_fp32();
    if (sieve_format_validate(&f, why, sizeof(why)) != SIEVE_OK) {
        sieve_fail(ctx, SIEVE_ERR_FORMAT, "tensor '%s': invalid format: %s", name, why);
        return -1;
    }
    if (m->n_tensors == m->cap_tensors) {
        int cap = m->cap_tensors ? m->cap_tensors * 2 : 32;
        sieve_tensor *t = sieve_realloc(ctx, m->tensors, (size_t)m->cap_tensors * sizeof(*t),
                                        (size_t)cap * sizeof(*t));
        if (!t)
            return -1;
        m->tensors = t;
        m->cap_tensors = cap;
    }
    sieve_tensor *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof(*t));
    t->name = sieve_strdup(ctx, name);
    if (!t->name)
        return -1;
    t->role = role;
    if (shape)
        t->shape = *shape;
    t->format = f;
    return m->n_tensors++;
}

sieve_status sieve_model_set_constant(sieve_model *m, int tensor, const float *values, size_t n)
{
    sieve_context *ctx = m->ctx;
    if (tensor < 0 || tensor >= m->n_tensors)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "constant: tensor index %d out of range", tensor);
    sieve_tensor *t = &m->tensors[tensor];
    if (t->role != SIEVE_TENSOR_CONSTANT)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "tensor '%s' is not a constant", t->name);
    if ((int64_t)n != sieve_shape_numel(&t->shape))
        return sieve_fail(ctx, SIEVE_ERR_SHAPE,
                          "tensor '%s': %zu values for a shape of %lld elements", t->name, n,
                          (long long)sieve_shape_numel(&t->shape));
    size_t bytes = sieve_format_bytes(&t->format, n);
    if (n > 0 && bytes == 0)
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "tensor '%s': size overflows", t->name);
    uint8_t *data = sieve_alloc_aligned(ctx, bytes ? bytes : 1);
    if (!data)
        return SIEVE_ERR_NOMEM;
    memset(data, 0, bytes);
    size_t bad = 0;
    sieve_status st = sieve_format_store(&t->format, values, n, data, 0, &bad);
    if (st != SIEVE_OK) {
        sieve_free_aligned(ctx, data, bytes ? bytes : 1);
        return sieve_fail(ctx, st, "tensor '%s': value %zu (%g) cannot be stored as %s", t->name,
                          bad, bad < n ? (double)values[bad] : 0.0,
                          t->format.kind == SIEVE_FORMAT_FP32 ? "fp32" : "custom float");
    }
    if (t->owned)
        sieve_free_aligned(ctx, t->owned, t->bytes ? t->bytes : 1);
    t->owned = data;
    t->data = data;
    t->bytes = bytes;
    return SIEVE_OK;
}

sieve_status sieve_model_constant_values(const sieve_model *m, int tensor, float *dst, size_t n)
{
    if (!m || (!dst && n))
        return m ? sieve_fail(m->ctx, SIEVE_ERR_ARG, "constant values: no output buffer")
                 : SIEVE_ERR_ARG;
    if (tensor < 0 || tensor >= m->n_tensors)
        return sieve_fail(m->ctx, SIEVE_ERR_ARG, "tensor index %d out of range", tensor);
    const sieve_tensor *t = &m->tensors[tensor];
    if (t->role != SIEVE_TENSOR_CONSTANT || !t->data)
        return sieve_fail(m->ctx, SIEVE_ERR_ARG, "tensor '%s' has no constant data", t->name);
    if ((int64_t)n != sieve_shape_numel(&t->shape))
        return sieve_fail(m->ctx, SIEVE_ERR_SHAPE, "tensor '%s': asked for %zu values", t->name,
                          n);
    sieve_format_load(&t->format, t->data, 0, n, dst);
    return SIEVE_OK;
}

int sieve_model_add_layer(sieve_model *m, const char *name, sieve_op op, const int *inputs,
                          int n_inputs, const int *outputs, int n_outputs,
                          const sieve_layer_attrs *attrs)
{
    sieve_context *ctx = m->ctx;
    if ((unsigned)op >= SIEVE_OP_COUNT) {
        sieve_fail(ctx, SIEVE_ERR_ARG, "layer '%s': bad op %d", name ? name : "?", (int)op);
        return -1;
    }
    if (n_inputs < 0 || n_inputs > SIEVE_MAX_LAYER_INPUTS || n_outputs != 1) {
        sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "layer '%s': %d inputs / %d outputs",
                   name ? name : "?", n_inputs, n_outputs);
        return -1;
    }
    if (m->n_layers == m->cap_layers) {
        int cap = m->cap_layers ? m->cap_layers * 2 : 32;
        sieve_layer *l = sieve_realloc(ctx, m->layers, (size_t)m->cap_layers * sizeof(*l),
                                       (size_t)cap * sizeof(*l));
        if (!l)
            return -1;
        m->layers = l;
        m->cap_layers = cap;
    }
    sieve_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof(*l));
    char auto_name[64];
    if (!name || !*name) {
        snprintf(auto_name, sizeof(auto_name), "%s_%d", sieve_op_name(op), m->n_layers);
        name = auto_name;
    }
    l->name = sieve_strdup(ctx, name);
    if (!l->name)
        return -1;
    l->op = op;
    l->n_inputs = n_inputs;
    l->n_outputs = n_outputs;
    for (int i = 0; i < n_inputs; i++)
        l->inputs[i] = inputs[i];
    for (int i = 0; i < n_outputs; i++)
        l->outputs[i] = outputs[i];
    if (attrs)
        l->attrs = *attrs;
    return m->n_layers++;
}

static sieve_status push_index(sieve_context *ctx, int **arr, int *n, int value)
{
    int *a = sieve_realloc(ctx, *arr, (size_t)*n * sizeof(int), (size_t)(*n + 1) * sizeof(int));
    if (!a)
        return SIEVE_ERR_NOMEM;
    a[*n] = value;
    *arr = a;
    (*n)++;
    return SIEVE_OK;
}

sieve_status sieve_model_mark_input(sieve_model *m, int tensor)
{
    if (tensor < 0 || tensor >= m->n_tensors)
        return sieve_fail(m->ctx, SIEVE_ERR_ARG, "input: tensor index %d out of range", tensor);
    return push_index(m->ctx, &m->inputs, &m->n_inputs, tensor);
}

sieve_status sieve_model_mark_output(sieve_model *m, int tensor)
{
    if (tensor < 0 || tensor >= m->n_tensors)
        return sieve_fail(m->ctx, SIEVE_ERR_ARG, "output: tensor index %d out of range", tensor);
    m->tensors[tensor].is_output = true;
    return push_index(m->ctx, &m->outputs, &m->n_outputs, tensor);
}

/* Structural checks shared by the loader and the builders: every reference
 * in range, every activation produced exactly once before it is read,
 * constants hold exactly the bytes their shape and format need. */
sieve_status sieve_model_validate(sieve_model *m)
{
    sieve_context *ctx = m->ctx;
    sieve_status st = SIEVE_OK;
    if (m->n_inputs < 1)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "model has no graph input");
    if (m->n_outputs < 1)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "model has no graph output");
    uint8_t *defined = sieve_calloc(ctx, (size_t)m->n_tensors + 1, 1);
    if (!defined)
        return SIEVE_ERR_NOMEM;
    for (int i = 0; i < m->n_tensors && st == SIEVE_OK; i++) {
        const sieve_tensor *t = &m->tensors[i];
        if (t->role == SIEVE_TENSOR_CONSTANT) {
            int64_t numel = sieve_shape_numel(&t->shape);
            size_t need = sieve_format_bytes(&t->format, (size_t)numel);
            if (numel < 0 || (numel > 0 && need == 0))
                st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "tensor '%s': size overflows", t->name);
            else if (!t->data)
                st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "constant '%s' has no data", t->name);
            else if (t->bytes < need)
                st = sieve_fail(ctx, SIEVE_ERR_FORMAT,
                                "constant '%s': %zu bytes stored, shape and format need %zu",
                                t->name, t->bytes, need);
            defined[i] = 1;
        }
    }
    for (int i = 0; i < m->n_inputs && st == SIEVE_OK; i++) {
        int t = m->inputs[i];
        if (t < 0 || t >= m->n_tensors || m->tensors[t].role != SIEVE_TENSOR_INPUT)
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "graph input %d is not an input tensor", i);
        else
            defined[t] = 1;
    }
    for (int li = 0; li < m->n_layers && st == SIEVE_OK; li++) {
        const sieve_layer *l = &m->layers[li];
        if ((unsigned)l->op >= SIEVE_OP_COUNT || l->n_inputs < 0 ||
            l->n_inputs > SIEVE_MAX_LAYER_INPUTS || l->n_outputs != 1) {
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "layer '%s': bad op or arity", l->name);
            break;
        }
        for (int k = 0; k < l->n_inputs; k++) {
            int t = l->inputs[k];
            if (t == -1)
                continue;
            if (t < 0 || t >= m->n_tensors) {
                st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "layer '%s': input %d out of range",
                                l->name, k);
                break;
            }
            if (!defined[t]) {
                st = sieve_fail(ctx, SIEVE_ERR_FORMAT,
                                "layer '%s': input '%s' is used before it is defined", l->name,
                                m->tensors[t].name);
                break;
            }
        }
        if (st != SIEVE_OK)
            break;
        int o = l->outputs[0];
        if (o < 0 || o >= m->n_tensors) {
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "layer '%s': output out of range", l->name);
        } else if (m->tensors[o].role != SIEVE_TENSOR_ACTIVATION) {
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "layer '%s': output '%s' is not an activation",
                            l->name, m->tensors[o].name);
        } else if (defined[o]) {
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "layer '%s': output '%s' is written twice",
                            l->name, m->tensors[o].name);
        } else {
            defined[o] = 1;
        }
    }
    for (int i = 0; i < m->n_outputs && st == SIEVE_OK; i++) {
        int t = m->outputs[i];
        if (t < 0 || t >= m->n_tensors || !defined[t])
            st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "graph output %d is never computed", i);
    }
    sieve_free(ctx, defined, (size_t)m->n_tensors + 1);
    return st;
}

/* ---- inspection ------------------------------------------------------- */

int sieve_model_tensor_count(const sieve_model *m) { return m ? m->n_tensors : 0; }
int sieve_model_layer_count(const sieve_model *m) { return m ? m->n_layers : 0; }
int sieve_model_input_count(const sieve_model *m) { return m ? m->n_inputs : 0; }
int sieve_model_output_count(const sieve_model *m) { return m ? m->n_outputs : 0; }

int sieve_model_input(const sieve_model *m, int i)
{
    return (m && i >= 0 && i < m->n_inputs) ? m->inputs[i] : -1;
}

int sieve_model_output(const sieve_model *m, int i)
{
    return (m && i >= 0 && i < m->n_outputs) ? m->outputs[i] : -1;
}

sieve_status sieve_model_tensor(const sieve_model *m, int index, sieve_tensor_info *out)
{
    if (!m || !out || index < 0 || index >= m->n_tensors)
        return m ? sieve_fail(m->ctx, SIEVE_ERR_ARG, "tensor index %d out of range", index)
                 : SIEVE_ERR_ARG;
    const sieve_tensor *t = &m->tensors[index];
    out->name = t->name;
    out->role = t->role;
    out->is_output = t->is_output;
    out->shape = t->shape;
    out->format = t->format;
    if (t->role == SIEVE_TENSOR_CONSTANT)
        out->bytes = t->bytes;
    else if (t->role == SIEVE_TENSOR_INPUT)
        out->bytes = sieve_format_bytes(&t->format, (size_t)sieve_shape_numel(&t->shape));
    else
        out->bytes = 0;
    return SIEVE_OK;
}

sieve_status sieve_model_layer(const sieve_model *m, int index, sieve_layer_info *out)
{
    if (!m || !out || index < 0 || index >= m->n_layers)
        return m ? sieve_fail(m->ctx, SIEVE_ERR_ARG, "layer index %d out of range", index)
                 : SIEVE_ERR_ARG;
    const sieve_layer *l = &m->layers[index];
    out->name = l->name;
    out->op = sieve_op_name(l->op);
    out->n_inputs = l->n_inputs;
    out->n_outputs = l->n_outputs;
    out->inputs = l->inputs;
    out->outputs = l->outputs;
    out->macs = 0;
    out->params = 0;
    for (int k = 0; k < l->n_inputs; k++) {
        int t = l->inputs[k];
        if (t >= 0 && m->tensors[t].role == SIEVE_TENSOR_CONSTANT)
            out->params += (uint64_t)sieve_shape_numel(&m->tensors[t].shape);
    }
    return SIEVE_OK;
}

int sieve_model_label_count(const sieve_model *m) { return m ? m->n_labels : 0; }

const char *sieve_model_label(const sieve_model *m, int i)
{
    return (m && i >= 0 && i < m->n_labels) ? m->labels[i] : NULL;
}

sieve_status sieve_model_set_labels(sieve_model *m, const char *const *labels, int count)
{
    if (!m || count < 0 || (count > 0 && !labels))
        return SIEVE_ERR_ARG;
    sieve_context *ctx = m->ctx;
    char **copy = sieve_calloc(ctx, (size_t)count + 1, sizeof(char *));
    if (!copy)
        return SIEVE_ERR_NOMEM;
    for (int i = 0; i < count; i++) {
        copy[i] = sieve_strdup(ctx, labels[i] ? labels[i] : "");
        if (!copy[i]) {
            for (int j = 0; j < i; j++)
                sieve_free_str(ctx, copy[j]);
            sieve_free(ctx, copy, ((size_t)count + 1) * sizeof(char *));
            return SIEVE_ERR_NOMEM;
        }
    }
    free_labels(m);
    m->labels = copy;
    m->n_labels = count;
    return SIEVE_OK;
}

sieve_status sieve_model_preprocess(const sieve_model *m, sieve_preprocess *out)
{
    if (!m || !out)
        return SIEVE_ERR_ARG;
    if (!m->has_pre)
        return sieve_fail(m->ctx, SIEVE_ERR_NOT_FOUND, "model has no preprocessing");
    *out = m->pre;
    return SIEVE_OK;
}

sieve_status sieve_model_set_preprocess(sieve_model *m, const sieve_preprocess *pre)
{
    if (!m || !pre)
        return SIEVE_ERR_ARG;
    if (pre->channels < 0 || pre->channels > 4 || pre->height < 0 || pre->width < 0 ||
        !isfinite(pre->scale))
        return sieve_fail(m->ctx, SIEVE_ERR_ARG, "preprocessing: bad channels/size/scale");
    for (int c = 0; c < 4; c++)
        if (!isfinite(pre->mean[c]) || !isfinite(pre->std[c]) ||
            (c < pre->channels && pre->std[c] == 0.0f))
            return sieve_fail(m->ctx, SIEVE_ERR_ARG, "preprocessing: bad mean/std of channel %d",
                              c);
    m->pre = *pre;
    m->has_pre = true;
    return SIEVE_OK;
}

const char *sieve_model_metadata(const sieve_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0)
            return m->meta[i].value;
    return NULL;
}

int sieve_model_metadata_count(const sieve_model *m) { return m ? m->n_meta : 0; }

const char *sieve_model_metadata_key(const sieve_model *m, int i)
{
    return (m && i >= 0 && i < m->n_meta) ? m->meta[i].key : NULL;
}

sieve_status sieve_model_set_metadata(sieve_model *m, const char *key, const char *value)
{
    if (!m || !key || !*key || !value)
        return SIEVE_ERR_ARG;
    sieve_context *ctx = m->ctx;
    char *v = sieve_strdup(ctx, value);
    if (!v)
        return SIEVE_ERR_NOMEM;
    for (int i = 0; i < m->n_meta; i++) {
        if (strcmp(m->meta[i].key, key) == 0) {
            sieve_free_str(ctx, m->meta[i].value);
            m->meta[i].value = v;
            return SIEVE_OK;
        }
    }
    if (m->n_meta == m->cap_meta) {
        int cap = m->cap_meta ? 2 * m->cap_meta : 8;
        struct sieve_meta *grown = sieve_realloc(ctx, m->meta, (size_t)m->cap_meta * sizeof(*grown),
                                                 (size_t)cap * sizeof(*grown));
        if (!grown) {
            sieve_free_str(ctx, v);
            return SIEVE_ERR_NOMEM;
        }
        m->meta = grown;
        m->cap_meta = cap;
    }
    char *k = sieve_strdup(ctx, key);
    if (!k) {
        sieve_free_str(ctx, v);
        return SIEVE_ERR_NOMEM;
    }
    m->meta[m->n_meta].key = k;
    m->meta[m->n_meta].value = v;
    m->n_meta++;
    return SIEVE_OK;
}

sieve_status sieve_model_set_tensor_format(sieve_model *m, int tensor, const sieve_format *fmt)
{
    char why[128];
    if (!m || !fmt || tensor < 0 || tensor >= m->n_tensors)
        return m ? sieve_fail(m->ctx, SIEVE_ERR_ARG, "set format: bad tensor %d", tensor)
                 : SIEVE_ERR_ARG;
    sieve_tensor *t = &m->tensors[tensor];
    if (sieve_format_validate(fmt, why, sizeof(why)) != SIEVE_OK)
        return sieve_fail(m->ctx, SIEVE_ERR_FORMAT, "tensor '%s': %s", t->name, why);
    /* variants may share a constant's bytes with the base: keep them valid */
    if (m->n_variants > 0 && t->role == SIEVE_TENSOR_CONSTANT)
        return sieve_fail(m->ctx, SIEVE_ERR_STATE,
                          "tensor '%s': cannot re-encode a constant of a package with variants "
                          "(extract or clone a model first)",
                          t->name);
    if (t->role != SIEVE_TENSOR_CONSTANT) {
        t->format = *fmt;
        return SIEVE_OK;
    }
    size_t n = (size_t)sieve_shape_numel(&t->shape);
    float *values = sieve_calloc(m->ctx, n ? n : 1, sizeof(float));
    if (!values)
        return SIEVE_ERR_NOMEM;
    sieve_format_load(&t->format, t->data, 0, n, values);
    sieve_format old = t->format;
    t->format = *fmt;
    sieve_status st = sieve_model_set_constant(m, tensor, values, n);
    if (st != SIEVE_OK)
        t->format = old;
    sieve_free(m->ctx, values, (n ? n : 1) * sizeof(float));
    return st;
}

/* ---- variants ----------------------------------------------------------- */

static void free_variant(sieve_context *ctx, sieve_variant *v, int n_tensors)
{
    sieve_free_str(ctx, v->name);
    sieve_free_str(ctx, v->calibration);
    for (int t = 0; v->owned && t < n_tensors; t++)
        if (v->owned[t])
            sieve_free_aligned(ctx, v->owned[t], v->bytes[t] ? v->bytes[t] : 1);
    sieve_free(ctx, v->formats, (size_t)n_tensors * sizeof(*v->formats) + 1);
    sieve_free(ctx, v->data, (size_t)n_tensors * sizeof(*v->data) + 1);
    sieve_free(ctx, v->bytes, (size_t)n_tensors * sizeof(*v->bytes) + 1);
    sieve_free(ctx, v->owned, (size_t)n_tensors * sizeof(*v->owned) + 1);
    memset(v, 0, sizeof(*v));
}

void sieve_model_free_variants(sieve_model *m)
{
    for (int i = 0; i < m->n_variants; i++)
        free_variant(m->ctx, &m->variants[i], m->n_tensors);
    sieve_free(m->ctx, m->variants, (size_t)m->cap_variants * sizeof(*m->variants) + 1);
    m->variants = NULL;
    m->n_variants = 0;
    m->cap_variants = 0;
}

int sieve_model_variant_count(const sieve_model *m) { return m ? m->n_variants : 0; }

const char *sieve_model_variant_name(const sieve_model *m, int i)
{
    return (m && i >= 0 && i < m->n_variants) ? m->variants[i].name : NULL;
}

const char *sieve_model_variant_calibration(const sieve_model *m, int i)
{
    return (m && i >= 0 && i < m->n_variants) ? m->variants[i].calibration : NULL;
}

int sieve_model_find_variant(const sieve_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_variants; i++)
        if (strcmp(m->variants[i].name, name) == 0)
            return i;
    return -1;
}

sieve_variant *sieve_model_push_variant(sieve_model *m, const char *name, const char *calibration)
{
    sieve_context *ctx = m->ctx;
    if (!name || !*name || sieve_model_find_variant(m, name) >= 0) {
        sieve_fail(ctx, SIEVE_ERR_FORMAT, "variant name '%s' is empty or used twice",
                   name ? name : "");
        return NULL;
    }
    if (m->n_variants == m->cap_variants) {
        int cap = m->cap_variants ? 2 * m->cap_variants : 4;
        sieve_variant *grown =
            sieve_realloc(ctx, m->variants, (size_t)m->cap_variants * sizeof(*grown) + 1,
                          (size_t)cap * sizeof(*grown) + 1);
        if (!grown)
            return NULL;
        m->variants = grown;
        m->cap_variants = cap;
    }
    sieve_variant *v = &m->variants[m->n_variants];
    memset(v, 0, sizeof(*v));
    size_t n = (size_t)m->n_tensors;
    v->name = sieve_strdup(ctx, name);
    v->calibration = sieve_strdup(ctx, calibration ? calibration : "");
    v->formats = sieve_calloc(ctx, 1, n * sizeof(*v->formats) + 1);
    v->data = sieve_calloc(ctx, 1, n * sizeof(*v->data) + 1);
    v->bytes = sieve_calloc(ctx, 1, n * sizeof(*v->bytes) + 1);
    v->owned = sieve_calloc(ctx, 1, n * sizeof(*v->owned) + 1);
    if (!v->name || !v->calibration || !v->formats || !v->data || !v->bytes || !v->owned) {
        free_variant(ctx, v, m->n_tensors);
        return NULL;
    }
    for (size_t t = 0; t < n; t++) {
        v->formats[t] = m->tensors[t].format;
        v->bytes[t] = m->tensors[t].bytes;
    }
    m->n_variants++;
    return v;
}

static bool same_ints(const int *a, const int *b, int n)
{
    return memcmp(a, b, (size_t)n * sizeof(int)) == 0;
}

/* Field by field: the bytes of a union's other members (and padding) are
 * whatever the caller's initializer left there. */
static bool same_attrs(sieve_op op, const sieve_layer_attrs *a, const sieve_layer_attrs *b)
{
    switch (op) {
    case SIEVE_OP_CONV:
        return same_ints(a->conv.kernel, b->conv.kernel, 2) &&
               same_ints(a->conv.stride, b->conv.stride, 2) &&
               same_ints(a->conv.dilation, b->conv.dilation, 2) &&
               same_ints(a->conv.pads, b->conv.pads, 4) && a->conv.group == b->conv.group &&
               a->conv.relu == b->conv.relu;
    case SIEVE_OP_MAXPOOL:
    case SIEVE_OP_AVGPOOL:
        return same_ints(a->pool.kernel, b->pool.kernel, 2) &&
               same_ints(a->pool.stride, b->pool.stride, 2) &&
               same_ints(a->pool.dilation, b->pool.dilation, 2) &&
               same_ints(a->pool.pads, b->pool.pads, 4) &&
               a->pool.ceil_mode == b->pool.ceil_mode &&
               a->pool.count_include_pad == b->pool.count_include_pad;
    case SIEVE_OP_LRN:
        return a->lrn.size == b->lrn.size && a->lrn.alpha == b->lrn.alpha &&
               a->lrn.beta == b->lrn.beta && a->lrn.bias == b->lrn.bias;
    case SIEVE_OP_GEMM:
        return a->gemm.alpha == b->gemm.alpha && a->gemm.beta == b->gemm.beta &&
               a->gemm.trans_a == b->gemm.trans_a && a->gemm.trans_b == b->gemm.trans_b &&
               a->gemm.relu == b->gemm.relu;
    case SIEVE_OP_ADD:
        return a->add.relu == b->add.relu;
    case SIEVE_OP_SOFTMAX:
    case SIEVE_OP_CONCAT:
    case SIEVE_OP_FLATTEN:
        return a->axis.axis == b->axis.axis &&
               a->axis.softmax_coerce_2d == b->axis.softmax_coerce_2d;
    case SIEVE_OP_RESHAPE:
        return a->reshape.shape.rank == b->reshape.shape.rank &&
               memcmp(a->reshape.shape.dims, b->reshape.shape.dims,
                      (size_t)a->reshape.shape.rank * sizeof(a->reshape.shape.dims[0])) == 0;
    default:
        return true; /* no attributes */
    }
}

/* A variant may differ from the base in formats and constant bytes only:
 * the same tensors, and layers of the same op, wiring and attributes. */
static sieve_status same_graph(const sieve_model *a, const sieve_model *b)
{
    if (a->n_tensors != b->n_tensors || a->n_layers != b->n_layers)
        return sieve_fail(a->ctx, SIEVE_ERR_ARG, "variant: graphs differ in size");
    for (int t = 0; t < a->n_tensors; t++) {
        const sieve_tensor *x = &a->tensors[t], *y = &b->tensors[t];
        if (strcmp(x->name, y->name) != 0 || x->role != y->role ||
            (x->role != SIEVE_TENSOR_ACTIVATION &&
             memcmp(&x->shape, &y->shape, sizeof(x->shape)) != 0))
            return sieve_fail(a->ctx, SIEVE_ERR_ARG, "variant: tensor '%s' differs", x->name);
    }
    for (int l = 0; l < a->n_layers; l++) {
        const sieve_layer *x = &a->layers[l], *y = &b->layers[l];
        if (x->op != y->op || x->n_inputs != y->n_inputs || x->n_outputs != y->n_outputs ||
            !same_ints(x->inputs, y->inputs, x->n_inputs) ||
            !same_ints(x->outputs, y->outputs, x->n_outputs) ||
            !same_attrs(x->op, &x->attrs, &y->attrs))
            return sieve_fail(a->ctx, SIEVE_ERR_ARG, "variant: layer '%s' differs", x->name);
    }
    return SIEVE_OK;
}

sieve_status sieve_model_add_variant(sieve_model *m, const char *name, const sieve_model *src,
                                     const char *calibration)
{
    if (!m || !src || !name)
        return m ? sieve_fail(m->ctx, SIEVE_ERR_ARG, "add variant: missing argument")
                 : SIEVE_ERR_ARG;
    sieve_status st = same_graph(m, src);
    if (st != SIEVE_OK)
        return st;
    int old = sieve_model_find_variant(m, name);
    if (old >= 0) {
        free_variant(m->ctx, &m->variants[old], m->n_tensors);
        m->variants[old] = m->variants[m->n_variants - 1];
        m->n_variants--;
    }
    sieve_variant *v = sieve_model_push_variant(m, name, calibration);
    if (!v)
        return SIEVE_ERR_NOMEM;
    for (int t = 0; t < m->n_tensors; t++) {
        const sieve_tensor *base = &m->tensors[t], *other = &src->tensors[t];
        v->formats[t] = other->format;
        v->bytes[t] = other->bytes;
        if (base->role != SIEVE_TENSOR_CONSTANT)
            continue;
        bool same = memcmp(&base->format, &other->format, sizeof(base->format)) == 0 &&
                    base->bytes == other->bytes &&
                    (base->bytes == 0 || memcmp(base->data, other->data, base->bytes) == 0);
        if (same)
            continue;
        v->owned[t] = sieve_alloc_aligned(m->ctx, other->bytes ? other->bytes : 1);
        if (!v->owned[t]) {
            m->n_variants--;
            free_variant(m->ctx, v, m->n_tensors);
            return SIEVE_ERR_NOMEM;
        }
        memcpy(v->owned[t], other->data, other->bytes);
        v->data[t] = v->owned[t];
    }
    return SIEVE_OK;
}

sieve_status sieve_model_set_variant_calibration(sieve_model *m, int i, const char *calibration)
{
    if (!m || i < 0 || i >= m->n_variants || !calibration)
        return m ? sieve_fail(m->ctx, SIEVE_ERR_ARG, "no variant %d", i) : SIEVE_ERR_ARG;
    char *copy = sieve_strdup(m->ctx, calibration);
    if (!copy)
        return SIEVE_ERR_NOMEM;
    sieve_free_str(m->ctx, m->variants[i].calibration);
    m->variants[i].calibration = copy;
    return SIEVE_OK;
}

/* Deep copy of the graph; `v` (may be NULL) picks formats and data. */
static sieve_status copy_model(const sieve_model *m, const sieve_variant *v, sieve_model **out)
{
    sieve_context *ctx = m->ctx;
    *out = NULL;
    sieve_model *c = sieve_model_new(ctx);
    if (!c)
        return SIEVE_ERR_NOMEM;
    sieve_status st = SIEVE_OK;
    for (int t = 0; t < m->n_tensors && st == SIEVE_OK; t++) {
        const sieve_tensor *src = &m->tensors[t];
        const sieve_format *fmt = v ? &v->formats[t] : &src->format;
        if (sieve_model_add_tensor(c, src->name, src->role, &src->shape, fmt) != t) {
            st = SIEVE_ERR_NOMEM;
            break;
        }
        if (src->role != SIEVE_TENSOR_CONSTANT)
            continue;
        const uint8_t *data = (v && v->data[t]) ? v->data[t] : src->data;
        size_t bytes = (v && v->data[t]) ? v->bytes[t] : src->bytes;
        sieve_tensor *dst = &c->tensors[t];
        dst->owned = sieve_alloc_aligned(ctx, bytes ? bytes : 1);
        if (!dst->owned) {
            st = SIEVE_ERR_NOMEM;
            break;
        }
        if (bytes)
            memcpy(dst->owned, data, bytes);
        dst->data = dst->owned;
        dst->bytes = bytes;
    }
    for (int l = 0; l < m->n_layers && st == SIEVE_OK; l++) {
        const sieve_layer *L = &m->layers[l];
        if (sieve_model_add_layer(c, L->name, L->op, L->inputs, L->n_inputs, L->outputs,
                                  L->n_outputs, &L->attrs) != l)
            st = SIEVE_ERR_NOMEM;
    }
    for (int i = 0; i < m->n_inputs && st == SIEVE_OK; i++)
        st = sieve_model_mark_input(c, m->inputs[i]);
    for (int i = 0; i < m->n_outputs && st == SIEVE_OK; i++)
        st = sieve_model_mark_output(c, m->outputs[i]);
    if (st == SIEVE_OK && m->n_labels)
        st = sieve_model_set_labels(c, (const char *const *)m->labels, m->n_labels);
    if (st == SIEVE_OK && m->has_pre)
        st = sieve_model_set_preprocess(c, &m->pre);
    for (int i = 0; i < m->n_meta && st == SIEVE_OK; i++)
        st = sieve_model_set_metadata(c, m->meta[i].key, m->meta[i].value);
    if (st == SIEVE_OK && v)
        st = sieve_model_set_metadata(c, "variant", v->name);
    if (st != SIEVE_OK) {
        sieve_model_free(c);
        return st;
    }
    *out = c;
    return SIEVE_OK;
}

sieve_status sieve_model_clone(const sieve_model *m, sieve_model **out)
{
    if (!m || !out)
        return SIEVE_ERR_ARG;
    return copy_model(m, NULL, out);
}

sieve_status sieve_model_extract_variant(const sieve_model *m, int i, sieve_model **out)
{
    if (!m || !out || i < 0 || i >= m->n_variants)
        return m ? sieve_fail(m->ctx, SIEVE_ERR_ARG, "no variant %d", i) : SIEVE_ERR_ARG;
    return copy_model(m, &m->variants[i], out);
}
