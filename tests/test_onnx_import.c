/* ONNX import: hand-built ModelProtos (protobuf-c structs, packed here) pin
 * the fusions, the folding of shape arithmetic, the error reporting and the
 * robustness against malformed bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "onnx.pb-c.h"
#include "sieve/sieve.h"

/* ---- a small ModelProto builder; every allocation is freed with it ------- */

#define MAX_ALLOCS 4096

typedef struct builder {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    void *allocs[MAX_ALLOCS];
    int n_allocs;
} builder;

static void *b_alloc(builder *b, size_t size)
{
    assert_true(b->n_allocs < MAX_ALLOCS);
    void *p = calloc(1, size ? size : 1);
    assert_non_null(p);
    b->allocs[b->n_allocs++] = p;
    return p;
}

static char *b_str(builder *b, const char *s)
{
    char *d = b_alloc(b, strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* Appends to a protobuf-c repeated field of pointers. */
#define B_PUSH(b, count, array, item)                                                              \
    do {                                                                                           \
        void **grown_ = b_alloc((b), ((count) + 1) * sizeof(void *));                              \
        if ((count) > 0)                                                                           \
            memcpy(grown_, (array), (count) * sizeof(void *));                                     \
        grown_[(count)] = (item);                                                                  \
        (array) = (void *)grown_;                                                                  \
        (count)++;                                                                                 \
    } while (0)

static builder *b_new(int64_t opset)
{
    builder *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.graph = &b->graph;
    b->graph.name = b_str(b, "test");
    return b;
}

static void b_free(builder *b)
{
    for (int i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    free(b);
}

static Onnx__ValueInfoProto *b_value_info(builder *b, const char *name, int32_t elem, int rank,
                                          const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = b_alloc(b, sizeof(*vi));
    onnx__value_info_proto__init(vi);
    vi->name = b_str(b, name);
    Onnx__TypeProto *tp = b_alloc(b, sizeof(*tp));
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = b_alloc(b, sizeof(*tt));
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sp = b_alloc(b, sizeof(*sp));
        onnx__tensor_shape_proto__init(sp);
        for (int d = 0; d < rank; d++) {
            Onnx__TensorShapeProto__Dimension *dim = b_alloc(b, sizeof(*dim));
            onnx__tensor_shape_proto__dimension__init(dim);
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = dims[d];
            B_PUSH(b, sp->n_dim, sp->dim, dim);
        }
        tt->shape = sp;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

static void b_input(builder *b, const char *name, int rank, const int64_t *dims)
{
    B_PUSH(b, b->graph.n_input, b->graph.input,
           b_value_info(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims));
}

static void b_output(builder *b, const char *name)
{
    B_PUSH(b, b->graph.n_output, b->graph.output,
           b_value_info(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, -1, NULL));
}

static Onnx__TensorProto *b_tensor_f32(builder *b, const char *name, int rank, const int64_t *dims,
                                       const float *values)
{
    Onnx__TensorProto *t = b_alloc(b, sizeof(*t));
    onnx__tensor_proto__init(t);
    t->name = b_str(b, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t n = 1;
    t->dims = b_alloc(b, (size_t)(rank ? rank : 1) * sizeof(int64_t));
    for (int d = 0; d < rank; d++) {
        t->dims[d] = dims[d];
        n *= (size_t)dims[d];
    }
    t->n_dims = (size_t)rank;
    t->float_data = b_alloc(b, n * sizeof(float));
    memcpy(t->float_data, values, n * sizeof(float));
    t->n_float_data = n;
    return t;
}

static Onnx__TensorProto *b_init_f32(builder *b, const char *name, int rank, const int64_t *dims,
                                     const float *values)
{
    Onnx__TensorProto *t = b_tensor_f32(b, name, rank, dims, values);
    B_PUSH(b, b->graph.n_initializer, b->graph.initializer, t);
    return t;
}

static void b_init_i64(builder *b, const char *name, int n, const int64_t *values)
{
    Onnx__TensorProto *t = b_alloc(b, sizeof(*t));
    onnx__tensor_proto__init(t);
    t->name = b_str(b, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->dims = b_alloc(b, sizeof(int64_t));
    t->dims[0] = n;
    t->n_dims = 1;
    t->int64_data = b_alloc(b, (size_t)n * sizeof(int64_t));
    memcpy(t->int64_data, values, (size_t)n * sizeof(int64_t));
    t->n_int64_data = (size_t)n;
    B_PUSH(b, b->graph.n_initializer, b->graph.initializer, t);
}

/* A node; inputs and outputs given as a NULL-terminated list. */
static Onnx__NodeProto *b_node(builder *b, const char *op, const char *name,
                               const char *const *inputs, const char *const *outputs)
{
    Onnx__NodeProto *n = b_alloc(b, sizeof(*n));
    onnx__node_proto__init(n);
    n->op_type = b_str(b, op);
    if (name)
        n->name = b_str(b, name);
    for (const char *const *p = inputs; *p; p++)
        B_PUSH(b, n->n_input, n->input, b_str(b, *p));
    for (const char *const *p = outputs; *p; p++)
        B_PUSH(b, n->n_output, n->output, b_str(b, *p));
    B_PUSH(b, b->graph.n_node, b->graph.node, n);
    return n;
}

#define IN(...) ((const char *const[]){__VA_ARGS__, NULL})
#define OUT(...) ((const char *const[]){__VA_ARGS__, NULL})

static Onnx__AttributeProto *b_attr(builder *b, Onnx__NodeProto *n, const char *name,
                                    Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = b_alloc(b, sizeof(*a));
    onnx__attribute_proto__init(a);
    a->name = b_str(b, name);
    a->has_type = 1;
    a->type = type;
    B_PUSH(b, n->n_attribute, n->attribute, a);
    return a;
}

static void b_attr_int(builder *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = b_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void b_attr_float(builder *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = b_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

static void b_attr_ints(builder *b, Onnx__NodeProto *n, const char *name, int count,
                        const int64_t *v)
{
    Onnx__AttributeProto *a = b_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->ints = b_alloc(b, (size_t)count * sizeof(int64_t));
    memcpy(a->ints, v, (size_t)count * sizeof(int64_t));
    a->n_ints = (size_t)count;
}

static void b_attr_string(builder *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = b_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)b_str(b, v);
    a->s.len = strlen(v);
}

static uint8_t *b_pack(builder *b, size_t *size)
{
    *size = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = b_alloc(b, *size);
    assert_int_equal(onnx__model_proto__pack(&b->model, buf), *size);
    return buf;
}

static sieve_status b_import(builder *b, sieve_context *ctx, sieve_model **out)
{
    size_t size;
    uint8_t *bytes = b_pack(b, &size);
    return sieve_onnx_import_memory(ctx, bytes, size, NULL, out);
}

/* ---- helpers --------------------------------------------------------------- */

static int count_layers(const sieve_model *m, sieve_op op)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++)
        n += m->layers[i].op == op;
    return n;
}

static void run_model(sieve_model *m, const float *x, size_t nx, float *y, size_t ny)
{
    sieve_exec *e = NULL;
    assert_int_equal(sieve_exec_create(m, NULL, &e), SIEVE_OK);
    assert_int_equal(sieve_exec_set_input(e, 0, x, nx), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, y, ny), SIEVE_OK);
    sieve_exec_free(e);
}

static float pattern(int i, float scale)
{
    return scale * (float)(((i * 37 + 11) % 23) - 11) / 11.0f;
}

/* A conv net x[1,2,5,5] -> Conv(W[3,2,3,3], B[3], pad 1) -> c.
 * Direct convolution in double: the oracle for the fused layers. */
enum { CN = 1, CC = 2, CH = 5, CW = 5, CM = 3, CK = 3 };
static float conv_x[CN * CC * CH * CW], conv_w[CM * CC * CK * CK], conv_b[CM];

static void conv_init(void)
{
    for (int i = 0; i < (int)(sizeof(conv_x) / sizeof(conv_x[0])); i++)
        conv_x[i] = pattern(i, 2.0f);
    for (int i = 0; i < (int)(sizeof(conv_w) / sizeof(conv_w[0])); i++)
        conv_w[i] = pattern(i + 5, 0.5f);
    for (int m = 0; m < CM; m++)
        conv_b[m] = 0.25f * (float)(m - 1);
}

static double conv_ref(int m, int oy, int ox)
{
    double acc = conv_b[m];
    for (int c = 0; c < CC; c++)
        for (int ky = 0; ky < CK; ky++)
            for (int kx = 0; kx < CK; kx++) {
                int iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= CH || ix < 0 || ix >= CW)
                    continue;
                acc += (double)conv_w[((m * CC + c) * CK + ky) * CK + kx] *
                       conv_x[(c * CH + iy) * CW + ix];
            }
    return acc;
}

static Onnx__NodeProto *add_conv(builder *b, const char *out)
{
    static const int64_t xd[4] = {CN, CC, CH, CW}, wd[4] = {CM, CC, CK, CK}, bd[1] = {CM};
    conv_init();
    b_input(b, "x", 4, xd);
    b_init_f32(b, "W", 4, wd, conv_w);
    b_init_f32(b, "B", 1, bd, conv_b);
    Onnx__NodeProto *n = b_node(b, "Conv", "conv1", IN("x", "W", "B"), OUT(out));
    b_attr_ints(b, n, "kernel_shape", 2, (const int64_t[]){CK, CK});
    b_attr_ints(b, n, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    return n;
}

/* Tolerance of a K-term fp32 dot product against a double oracle. */
static void assert_close(double want, float got, double magnitude, int k)
{
    double tol = 4.0 * k * 1.1920929e-7 * (magnitude + fabs(want)) + 1e-6;
    if (fabs(want - got) > tol)
        fail_msg("want %.9g, got %.9g (tolerance %.3g)", want, (double)got, tol);
}

/* ---- tests ------------------------------------------------------------------ */

static const float bn_gamma[CM] = {1.5f, -0.5f, 2.0f}, bn_beta[CM] = {0.1f, 0.2f, -0.3f},
                   bn_mean[CM] = {0.05f, -0.4f, 1.0f}, bn_var[CM] = {0.8f, 2.0f, 0.3f};
static const float bn_eps = 1e-3f;

static void add_batchnorm_params(builder *b)
{
    static const int64_t cd[1] = {CM};
    b_init_f32(b, "gamma", 1, cd, bn_gamma);
    b_init_f32(b, "beta", 1, cd, bn_beta);
    b_init_f32(b, "mean", 1, cd, bn_mean);
    b_init_f32(b, "var", 1, cd, bn_var);
}

static double batchnorm_ref(int m, double v)
{
    return (v - bn_mean[m]) / sqrt((double)bn_var[m] + bn_eps) * bn_gamma[m] + bn_beta[m];
}

static void test_conv_batchnorm_folds_into_conv_and_equals_unfolded_math(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "c");
    add_batchnorm_params(b);
    Onnx__NodeProto *bn =
        b_node(b, "BatchNormalization", "bn1", IN("c", "gamma", "beta", "mean", "var"), OUT("y"));
    b_attr_float(b, bn, "epsilon", bn_eps);
    b_output(b, "y");
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    /* One conv layer, no batch norm; its output carries the BN output's name. */
    assert_int_equal(m->n_layers, 1);
    assert_int_equal(m->layers[0].op, SIEVE_OP_CONV);
    assert_int_equal(count_layers(m, SIEVE_OP_BATCHNORM), 0);
    assert_string_equal(m->tensors[m->outputs[0]].name, "y");
    assert_int_equal(sieve_model_find_tensor(m, "gamma"), -1); /* folded away */

    float y[CM * CH * CW];
    run_model(m, conv_x, sizeof(conv_x) / sizeof(float), y, CM * CH * CW);
    for (int c = 0; c < CM; c++)
        for (int i = 0; i < CH; i++)
            for (int j = 0; j < CW; j++)
                assert_close(batchnorm_ref(c, conv_ref(c, i, j)), y[(c * CH + i) * CW + j], 10.0,
                             CC * CK * CK);
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_batchnorm_after_a_shared_conv_output_stays_a_layer(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "c");
    add_batchnorm_params(b);
    Onnx__NodeProto *bn =
        b_node(b, "BatchNormalization", "bn1", IN("c", "gamma", "beta", "mean", "var"), OUT("y"));
    b_attr_float(b, bn, "epsilon", bn_eps);
    b_output(b, "y");
    b_output(b, "c"); /* the conv output is also wanted: cannot be folded */
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    assert_int_equal(count_layers(m, SIEVE_OP_CONV), 1);
    assert_int_equal(count_layers(m, SIEVE_OP_BATCHNORM), 1);

    float y[CM * CH * CW];
    run_model(m, conv_x, sizeof(conv_x) / sizeof(float), y, CM * CH * CW);
    for (int c = 0; c < CM; c++)
        for (int i = 0; i < CH; i++)
            for (int j = 0; j < CW; j++)
                assert_close(batchnorm_ref(c, conv_ref(c, i, j)), y[(c * CH + i) * CW + j], 10.0,
                             CC * CK * CK);
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_relu_fuses_into_the_conv_before_it(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "c");
    b_node(b, "Relu", "relu1", IN("c"), OUT("y"));
    b_output(b, "y");
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    assert_int_equal(m->n_layers, 1);
    assert_int_equal(m->layers[0].op, SIEVE_OP_CONV);
    assert_true(m->layers[0].attrs.conv.relu);
    assert_string_equal(m->layers[0].name, "conv1");
    assert_string_equal(m->tensors[m->outputs[0]].name, "y");

    float y[CM * CH * CW];
    run_model(m, conv_x, sizeof(conv_x) / sizeof(float), y, CM * CH * CW);
    for (int c = 0; c < CM; c++)
        for (int i = 0; i < CH; i++)
            for (int j = 0; j < CW; j++)
                assert_close(fmax(0.0, conv_ref(c, i, j)), y[(c * CH + i) * CW + j], 10.0,
                             CC * CK * CK);
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

/* Conv, MaxPool 2x2 stride 2, Relu (Caffe's CIFAR-10 quick order): the
 * ReLU moves into the conv, the pool stays, and the output is
 * max(0, max over each window) as before. */
static void test_relu_after_max_pool_fuses_into_the_conv(void **state)
{
    (void)state;
    for (int shared = 0; shared < 2; shared++) {
        sieve_context *ctx = sieve_context_create(NULL);
        builder *b = b_new(13);
        add_conv(b, "c");
        Onnx__NodeProto *n = b_node(b, "MaxPool", "pool", IN("c"), OUT("p"));
        b_attr_ints(b, n, "kernel_shape", 2, (const int64_t[]){2, 2});
        b_attr_ints(b, n, "strides", 2, (const int64_t[]){2, 2});
        b_node(b, "Relu", "relu1", IN("p"), OUT("y"));
        b_output(b, "y");
        if (shared)
            b_output(b, "c"); /* the conv output is wanted as it is: no move */
        sieve_model *m = NULL;
        assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
        assert_int_equal(m->n_layers, shared ? 3 : 2);
        assert_int_equal(m->layers[0].attrs.conv.relu, !shared);
        assert_int_equal(count_layers(m, SIEVE_OP_RELU), shared);
        float y[CM * 2 * 2];
        run_model(m, conv_x, sizeof(conv_x) / sizeof(float), y, CM * 2 * 2);
        for (int c = 0; c < CM; c++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    double v = -INFINITY;
                    for (int di = 0; di < 2; di++)
                        for (int dj = 0; dj < 2; dj++)
                            v = fmax(v, conv_ref(c, 2 * i + di, 2 * j + dj));
                    assert_close(fmax(0.0, v), y[(c * 2 + i) * 2 + j], 10.0, CC * CK * CK);
                }
        sieve_model_free(m);
        b_free(b);
        sieve_context_destroy(ctx);
    }
}

static void test_relu_is_not_fused_when_the_conv_output_has_another_consumer(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "c");
    b_node(b, "Relu", "relu1", IN("c"), OUT("r"));
    b_node(b, "Add", "add1", IN("r", "c"), OUT("y")); /* relu(c) + c */
    b_output(b, "y");
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    assert_int_equal(m->n_layers, 3);
    assert_false(m->layers[0].attrs.conv.relu);
    assert_int_equal(count_layers(m, SIEVE_OP_RELU), 1);

    float y[CM * CH * CW];
    run_model(m, conv_x, sizeof(conv_x) / sizeof(float), y, CM * CH * CW);
    for (int c = 0; c < CM; c++)
        for (int i = 0; i < CH; i++)
            for (int j = 0; j < CW; j++) {
                double v = conv_ref(c, i, j);
                assert_close(fmax(0.0, v) + v, y[(c * CH + i) * CW + j], 20.0, CC * CK * CK);
            }
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

/* A residual join, relu(c + c2) with c2 the same conv computed twice: the
 * ReLU fuses into the add when nothing else reads the sum. */
static void test_relu_fuses_into_the_add_before_it_unless_the_sum_is_read(void **state)
{
    (void)state;
    for (int shared = 0; shared < 2; shared++) {
        sieve_context *ctx = sieve_context_create(NULL);
        builder *b = b_new(13);
        add_conv(b, "c");
        Onnx__NodeProto *n = b_node(b, "Conv", "conv2", IN("x", "W", "B"), OUT("c2"));
        b_attr_ints(b, n, "kernel_shape", 2, (const int64_t[]){CK, CK});
        b_attr_ints(b, n, "pads", 4, (const int64_t[]){1, 1, 1, 1});
        b_node(b, "Add", "join", IN("c", "c2"), OUT("s"));
        b_node(b, "Relu", "relu1", IN("s"), OUT("y"));
        b_output(b, "y");
        if (shared)
            b_output(b, "s"); /* the sum itself is wanted: the ReLU stays */
        sieve_model *m = NULL;
        assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
        assert_int_equal(count_layers(m, SIEVE_OP_RELU), shared ? 1 : 0);
        assert_int_equal(count_layers(m, SIEVE_OP_ADD), 1);
        for (int i = 0; i < m->n_layers; i++)
            if (m->layers[i].op == SIEVE_OP_ADD)
                assert_int_equal(m->layers[i].attrs.add.relu, !shared);
        assert_string_equal(m->tensors[m->outputs[0]].name, "y");

        float y[CM * CH * CW];
        run_model(m, conv_x, sizeof(conv_x) / sizeof(float), y, CM * CH * CW);
        for (int c = 0; c < CM; c++)
            for (int i = 0; i < CH; i++)
                for (int j = 0; j < CW; j++)
                    assert_close(fmax(0.0, 2 * conv_ref(c, i, j)), y[(c * CH + i) * CW + j],
                                 20.0, CC * CK * CK);
        sieve_model_free(m);
        b_free(b);
        sieve_context_destroy(ctx);
    }
}

static void test_dropout_and_identity_leave_no_layer(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "c");
    b_node(b, "Dropout", "drop1", IN("c"), OUT("d"));
    b_node(b, "Identity", "id1", IN("d"), OUT("e"));
    b_node(b, "Relu", "relu1", IN("e"), OUT("y"));
    b_output(b, "y");
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    /* Dropout and Identity are aliases, so the Relu still reaches the conv. */
    assert_int_equal(m->n_layers, 1);
    assert_true(m->layers[0].attrs.conv.relu);
    assert_int_equal(sieve_model_find_tensor(m, "d"), -1);
    assert_int_equal(sieve_model_find_tensor(m, "e"), -1);
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

/* Keras-style dense layer: MatMul(x, W) + b, then Relu: one gemm with relu. */
static void test_matmul_plus_constant_bias_and_relu_become_one_gemm(void **state)
{
    (void)state;
    enum { M = 3, K = 5, N = 4 };
    float x[M * K], w[K * N], bias[N], y[M * N];
    for (int i = 0; i < M * K; i++)
        x[i] = pattern(i, 1.5f);
    for (int i = 0; i < K * N; i++)
        w[i] = pattern(i + 3, 0.75f);
    for (int i = 0; i < N; i++)
        bias[i] = 0.5f * (float)(i - 2);
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    b_input(b, "x", 2, (const int64_t[]){M, K});
    b_init_f32(b, "W", 2, (const int64_t[]){K, N}, w);
    b_init_f32(b, "b", 1, (const int64_t[]){N}, bias);
    b_node(b, "MatMul", "dense/MatMul", IN("x", "W"), OUT("mm"));
    b_node(b, "Add", "dense/BiasAdd", IN("mm", "b"), OUT("z"));
    b_node(b, "Relu", "dense/Relu", IN("z"), OUT("y"));
    b_output(b, "y");
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    assert_int_equal(m->n_layers, 1);
    assert_int_equal(m->layers[0].op, SIEVE_OP_GEMM);
    assert_true(m->layers[0].attrs.gemm.relu);
    assert_string_equal(m->tensors[m->outputs[0]].name, "y");
    run_model(m, x, M * K, y, M * N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = bias[j];
            for (int k = 0; k < K; k++)
                acc += (double)x[i * K + k] * w[k * N + j];
            assert_close(fmax(acc, 0.0), y[i * N + j], 10.0, K);
        }
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

/* Keras' ZeroPadding2D before a 'valid' conv: the Pad becomes conv padding. */
static void test_zero_pad_folds_into_the_following_conv(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    Onnx__NodeProto *conv = add_conv(b, "y");
    conv->n_attribute = 1; /* kernel_shape only: the padding comes from the Pad */
    conv->input[0] = b_str(b, "padded");
    b_init_i64(b, "pads", 8, (const int64_t[]){0, 0, 1, 1, 0, 0, 1, 1});
    b_node(b, "Pad", "zeropad", IN("x", "pads"), OUT("padded"));
    /* the Pad must come first: move it before the conv */
    Onnx__NodeProto *tmp = b->graph.node[0];
    b->graph.node[0] = b->graph.node[1];
    b->graph.node[1] = tmp;
    b_output(b, "y");
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    assert_int_equal(m->n_layers, 1);
    assert_memory_equal(m->layers[0].attrs.conv.pads, ((const int[]){1, 1, 1, 1}), 4 * sizeof(int));
    float y[CM * CH * CW];
    run_model(m, conv_x, sizeof(conv_x) / sizeof(float), y, CM * CH * CW);
    for (int c = 0; c < CM; c++)
        for (int i = 0; i < CH; i++)
            for (int j = 0; j < CW; j++)
                assert_close(conv_ref(c, i, j), y[(c * CH + i) * CW + j], 10.0, CC * CK * CK);
    sieve_model_free(m);

    /* Read by anything else, the padding would need a kernel. */
    b->graph.node[1]->op_type = b_str(b, "Relu");
    b->graph.node[1]->n_input = 1;
    b->graph.node[1]->n_attribute = 0;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sieve_context_error(ctx), "Pad"));
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_unsupported_op_is_reported_with_its_node(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    static const int64_t xd[4] = {1, 1, 4, 4};
    b_input(b, "x", 4, xd);
    b_node(b, "Resize", "resize_1", IN("x"), OUT("y"));
    b_output(b, "y");
    sieve_model *m = (sieve_model *)&m; /* must be reset to NULL */
    assert_int_equal(b_import(b, ctx, &m), SIEVE_ERR_UNSUPPORTED);
    assert_null(m);
    assert_string_equal(sieve_context_error(ctx), "unsupported op 'Resize' at node 'resize_1'");
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_external_data_is_rejected(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "y");
    b_output(b, "y");
    Onnx__TensorProto *w = b->graph.initializer[0]; /* W */
    w->n_float_data = 0;
    w->has_data_location = 1;
    w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto *loc = b_alloc(b, sizeof(*loc));
    onnx__string_string_entry_proto__init(loc);
    loc->key = b_str(b, "location");
    loc->value = b_str(b, "weights.bin");
    B_PUSH(b, w->n_external_data, w->external_data, loc);
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sieve_context_error(ctx), "initializer 'W'"));
    assert_non_null(strstr(sieve_context_error(ctx), "external"));
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_raw_data_of_the_wrong_length_is_rejected(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "y");
    b_output(b, "y");
    Onnx__TensorProto *bias = b->graph.initializer[1]; /* B: 3 floats */
    bias->n_float_data = 0;
    bias->has_raw_data = 1;
    bias->raw_data.len = 11;
    bias->raw_data.data = b_alloc(b, 12);
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(sieve_context_error(ctx), "initializer 'B'"));
    /* Raw little-endian data of the right length imports. */
    bias->raw_data.len = 12;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_truncated_and_garbage_bytes_are_errors_not_crashes(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "c");
    b_node(b, "Relu", "relu1", IN("c"), OUT("y"));
    b_output(b, "y");
    size_t size;
    uint8_t *bytes = b_pack(b, &size);
    sieve_model *m = NULL;
    /* Every prefix: an error, or (cut at a field boundary) a valid model. */
    int errors = 0;
    for (size_t len = 0; len < size; len++) {
        sieve_status st = sieve_onnx_import_memory(ctx, bytes, len, NULL, &m);
        if (st == SIEVE_OK)
            sieve_model_free(m);
        else
            errors++;
        assert_true(st == SIEVE_OK || strlen(sieve_context_error(ctx)) > 0);
    }
    assert_true(errors > (int)size / 2);
    /* Flipped bytes and pseudo-random garbage. */
    uint8_t *copy = malloc(size);
    uint32_t seed = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        memcpy(copy, bytes, size);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            copy[(seed >> 8) % size] ^= (uint8_t)(seed >> 24 | 1);
        }
        if (sieve_onnx_import_memory(ctx, copy, size, NULL, &m) == SIEVE_OK)
            sieve_model_free(m);
    }
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1664525u + 1013904223u;
        copy[i] = (uint8_t)(seed >> 24);
    }
    assert_int_not_equal(sieve_onnx_import_memory(ctx, copy, size, NULL, &m), SIEVE_OK);
    assert_int_equal(sieve_onnx_import_memory(ctx, NULL, 0, NULL, &m), SIEVE_ERR_FORMAT);
    free(copy);
    b_free(b);
    sieve_context_destroy(ctx);
}

/* protobuf-c recurses once per nested message: a small file of deeply nested
 * graphs (Model.graph.node.attribute.g.node...) must be refused up front. */
static void test_deeply_nested_messages_are_refused(void **state)
{
    (void)state;
    enum { LEVELS = 200000 };
    size_t cap = (size_t)LEVELS * 8 + 16, start = cap;
    uint8_t *buf = malloc(cap);
    static const uint8_t tags[3] = {0x0a /* Graph.node */, 0x2a /* Node.attribute */,
                                    0x32 /* Attribute.g */};
    for (int level = 0; level < LEVELS; level++) {
        size_t len = cap - start;
        uint8_t varint[10];
        int nv = 0;
        do {
            varint[nv++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
            len >>= 7;
        } while (len);
        start -= (size_t)nv;
        memcpy(buf + start, varint, (size_t)nv);
        buf[--start] =
            level == LEVELS - 1 ? 0x3a /* Model.graph */ : tags[(LEVELS - 2 - level) % 3];
    }
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *m = NULL;
    assert_int_equal(sieve_onnx_import_memory(ctx, buf + start, cap - start, NULL, &m),
                     SIEVE_ERR_FORMAT);
    assert_non_null(strstr(sieve_context_error(ctx), "nested"));
    free(buf);
    sieve_context_destroy(ctx);
}

static void test_same_padding_is_resolved_from_the_input_shape(void **state)
{
    (void)state;
    static const struct {
        const char *mode;
        int pads[4];
    } cases[] = {
        /* 5 wide, kernel 3, stride 2: 3 outputs need 2 pixels of padding... */
        {"SAME_UPPER", {1, 1, 1, 1}},
        {"SAME_LOWER", {1, 1, 1, 1}},
        {"VALID", {0, 0, 0, 0}},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        sieve_context *ctx = sieve_context_create(NULL);
        builder *b = b_new(13);
        Onnx__NodeProto *n = add_conv(b, "y");
        n->n_attribute = 1; /* keep kernel_shape, drop pads */
        b_attr_string(b, n, "auto_pad", cases[k].mode);
        b_attr_ints(b, n, "strides", 2, (const int64_t[]){2, 2});
        b_output(b, "y");
        sieve_model *m = NULL;
        assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
        assert_memory_equal(m->layers[0].attrs.conv.pads, cases[k].pads, sizeof(cases[k].pads));
        sieve_model_free(m);
        b_free(b);
        sieve_context_destroy(ctx);
    }
    /* ...and 6 wide, kernel 3, stride 2 needs 1: after (UPPER) or before (LOWER). */
    static const struct {
        const char *mode;
        int pads[4];
    } odd[] = {{"SAME_UPPER", {0, 0, 1, 1}}, {"SAME_LOWER", {1, 1, 0, 0}}};
    for (size_t k = 0; k < 2; k++) {
        sieve_context *ctx = sieve_context_create(NULL);
        builder *b = b_new(13);
        static const int64_t xd[4] = {1, 1, 6, 6};
        b_input(b, "x", 4, xd);
        Onnx__NodeProto *n = b_node(b, "MaxPool", "pool", IN("x"), OUT("y"));
        b_attr_ints(b, n, "kernel_shape", 2, (const int64_t[]){3, 3});
        b_attr_ints(b, n, "strides", 2, (const int64_t[]){2, 2});
        b_attr_string(b, n, "auto_pad", odd[k].mode);
        b_output(b, "y");
        sieve_model *m = NULL;
        assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
        assert_memory_equal(m->layers[0].attrs.pool.pads, odd[k].pads, sizeof(odd[k].pads));
        sieve_model_free(m);
        b_free(b);
        sieve_context_destroy(ctx);
    }
}

/* x.view(x.size(0), -1) as PyTorch exports it: Shape, Gather, Unsqueeze,
 * Concat, Reshape. All of it folds; one reshape layer remains. */
static void test_pytorch_flatten_shape_arithmetic_is_folded(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(11);
    static const int64_t xd[4] = {2, 3, 2, 2};
    b_input(b, "x", 4, xd);
    b_init_i64(b, "zero", 1, (const int64_t[]){0});
    b_init_i64(b, "minus_one", 1, (const int64_t[]){-1});
    b_node(b, "Shape", NULL, IN("x"), OUT("s"));
    Onnx__NodeProto *g = b_node(b, "Gather", NULL, IN("s", "zero"), OUT("n1"));
    b_attr_int(b, g, "axis", 0);
    Onnx__NodeProto *sq = b_node(b, "Squeeze", NULL, IN("n1"), OUT("n"));
    b_attr_ints(b, sq, "axes", 1, (const int64_t[]){0});
    Onnx__NodeProto *u = b_node(b, "Unsqueeze", NULL, IN("n"), OUT("nu"));
    b_attr_ints(b, u, "axes", 1, (const int64_t[]){0});
    Onnx__NodeProto *c = b_node(b, "Concat", NULL, IN("nu", "minus_one"), OUT("shape"));
    b_attr_int(b, c, "axis", 0);
    b_node(b, "Reshape", NULL, IN("x", "shape"), OUT("y"));
    b_output(b, "y");
    sieve_model *m = NULL;
    assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
    assert_int_equal(m->n_layers, 1);
    assert_int_equal(m->layers[0].op, SIEVE_OP_RESHAPE);
    assert_string_equal(m->layers[0].name, "Reshape_5");
    const sieve_shape *s = &m->layers[0].attrs.reshape.shape;
    assert_int_equal(s->rank, 2);
    assert_int_equal(s->dims[0], 2);
    assert_int_equal(s->dims[1], 12);
    sieve_model_free(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_softmax_axis_follows_the_opset(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        sieve_context *ctx = sieve_context_create(NULL);
        builder *b = b_new(k == 0 ? 11 : 13);
        static const int64_t xd[3] = {2, 3, 4};
        b_input(b, "x", 3, xd);
        b_node(b, "Softmax", NULL, IN("x"), OUT("y"));
        b_output(b, "y");
        sieve_model *m = NULL;
        assert_int_equal(b_import(b, ctx, &m), SIEVE_OK);
        /* Before 13: flatten to 2-D at axis 1; since 13: along the last axis. */
        assert_int_equal(m->layers[0].attrs.axis.axis, k == 0 ? 1 : 2);
        assert_int_equal(m->layers[0].attrs.axis.softmax_coerce_2d, k == 0);
        sieve_model_free(m);
        b_free(b);
        sieve_context_destroy(ctx);
    }
}

static void test_reshape_shape_can_be_bound_by_the_caller(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    static const int64_t xd[2] = {4, 6}, sd[1] = {3};
    b_input(b, "x", 2, xd);
    B_PUSH(b, b->graph.n_input, b->graph.input,
           b_value_info(b, "shape", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, sd));
    b_node(b, "Reshape", "r", IN("x", "shape"), OUT("y"));
    b_output(b, "y");
    size_t size;
    uint8_t *bytes = b_pack(b, &size);
    sieve_model *m = NULL;
    /* Unbound, the int64 input cannot be fed at run time. */
    assert_int_equal(sieve_onnx_import_memory(ctx, bytes, size, NULL, &m), SIEVE_ERR_UNSUPPORTED);
    assert_non_null(strstr(sieve_context_error(ctx), "'shape'"));

    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[1] = {3}, vals[3] = {2, 0, -1};
    t.n_dims = 1;
    t.dims = dims;
    t.has_data_type = 1;
    t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t.n_int64_data = 3;
    t.int64_data = vals;
    uint8_t tbuf[64];
    size_t tsize = onnx__tensor_proto__pack(&t, tbuf);
    const char *names[1] = {"shape"};
    const void *data[1] = {tbuf};
    sieve_onnx_options opt = {1, names, data, &tsize};
    assert_int_equal(sieve_onnx_import_memory(ctx, bytes, size, &opt, &m), SIEVE_OK);
    assert_int_equal(sieve_model_input_count(m), 1);
    const sieve_shape *s = &m->layers[0].attrs.reshape.shape;
    assert_int_equal(s->rank, 3);
    assert_int_equal(s->dims[0], 2);
    assert_int_equal(s->dims[1], 6);
    assert_int_equal(s->dims[2], 2);
    sieve_model_free(m);
    /* A binding that names no graph input is the caller's mistake. */
    names[0] = "nope";
    assert_int_equal(sieve_onnx_import_memory(ctx, bytes, size, &opt, &m), SIEVE_ERR_ARG);
    b_free(b);
    sieve_context_destroy(ctx);
}

static void test_read_tensor_two_call_pattern_and_types(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[2] = {2, 3}, vals[6] = {-3, 0, 1, 7, 1000000, -1};
    t.name = "a_rather_long_name";
    t.n_dims = 2;
    t.dims = dims;
    t.has_data_type = 1;
    t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t.n_int64_data = 6;
    t.int64_data = vals;
    uint8_t buf[256];
    size_t size = onnx__tensor_proto__pack(&t, buf);
    sieve_shape s;
    size_t n = 0;
    char name[8];
    assert_int_equal(sieve_onnx_read_tensor(ctx, buf, size, &s, NULL, 0, &n, name, sizeof(name)),
                     SIEVE_OK);
    assert_int_equal(n, 6);
    assert_int_equal(s.rank, 2);
    assert_int_equal(s.dims[1], 3);
    assert_string_equal(name, "a_rathe"); /* truncated to the buffer */
    float out[6];
    assert_int_equal(sieve_onnx_read_tensor(ctx, buf, size, &s, out, 5, &n, NULL, 0),
                     SIEVE_ERR_RANGE);
    assert_int_equal(sieve_onnx_read_tensor(ctx, buf, size, &s, out, 6, &n, NULL, 0), SIEVE_OK);
    for (int i = 0; i < 6; i++)
        assert_true(out[i] == (float)vals[i]);

    /* float16 as raw little-endian bits: 1.0, -2.0, 65504, 2^-24 (subnormal). */
    uint8_t half[8] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00};
    Onnx__TensorProto h = ONNX__TENSOR_PROTO__INIT;
    int64_t hd[1] = {4};
    h.n_dims = 1;
    h.dims = hd;
    h.has_data_type = 1;
    h.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    h.has_raw_data = 1;
    h.raw_data.data = half;
    h.raw_data.len = 8;
    size = onnx__tensor_proto__pack(&h, buf);
    assert_int_equal(sieve_onnx_read_tensor(ctx, buf, size, &s, out, 6, &n, NULL, 0), SIEVE_OK);
    assert_int_equal(n, 4);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == 65504.0f);
    assert_true(out[3] == ldexpf(1.0f, -24));

    /* Strings have no fp32 meaning. */
    h.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__STRING;
    h.has_raw_data = 0;
    size = onnx__tensor_proto__pack(&h, buf);
    assert_int_equal(sieve_onnx_read_tensor(ctx, buf, size, &s, NULL, 0, &n, NULL, 0),
                     SIEVE_ERR_UNSUPPORTED);
    sieve_context_destroy(ctx);
}

static void test_import_file_reads_regular_files_only(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    builder *b = b_new(13);
    add_conv(b, "y");
    b_output(b, "y");
    size_t size;
    uint8_t *bytes = b_pack(b, &size);
    char path[] = "/tmp/sieve_onnx_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    fclose(f);
    sieve_model *m = NULL;
    assert_int_equal(sieve_onnx_import_file(ctx, path, NULL, &m), SIEVE_OK);
    sieve_model_free(m);
    remove(path);
    assert_int_equal(sieve_onnx_import_file(ctx, path, NULL, &m), SIEVE_ERR_IO);
    assert_int_equal(sieve_onnx_import_file(ctx, "/tmp", NULL, &m), SIEVE_ERR_IO);
    assert_int_equal(sieve_onnx_import_file(ctx, "/dev/zero", NULL, &m), SIEVE_ERR_IO);
    assert_null(m);
    b_free(b);
    sieve_context_destroy(ctx);
}

/* An allocator that fails its i-th allocation. */
typedef struct failing_alloc {
    long countdown; /* allocations left before failing; < 0: never fail */
    long live;
} failing_alloc;

static void *fail_alloc(void *user, size_t size)
{
    failing_alloc *f = user;
    if (f->countdown == 0)
        return NULL;
    if (f->countdown > 0)
        f->countdown--;
    void *p = malloc(size ? size : 1);
    if (p)
        f->live++;
    return p;
}

static void fail_free(void *user, void *p, size_t size)
{
    (void)size;
    failing_alloc *f = user;
    if (p)
        f->live--;
    free(p);
}

static void test_every_allocation_failure_is_an_error(void **state)
{
    (void)state;
    builder *b = b_new(13);
    add_conv(b, "c");
    add_batchnorm_params(b);
    b_node(b, "BatchNormalization", "bn1", IN("c", "gamma", "beta", "mean", "var"), OUT("d"));
    b_node(b, "Relu", "relu1", IN("d"), OUT("r"));
    b_node(b, "Flatten", "flat", IN("r"), OUT("y"));
    b_output(b, "y");
    size_t size;
    uint8_t *bytes = b_pack(b, &size);
    int successes = 0;
    for (long i = 0; successes == 0; i++) {
        failing_alloc f = {i + 1, 0}; /* +1: the context itself */
        sieve_allocator a = {fail_alloc, NULL, fail_free, &f};
        sieve_context_options o = {&a, 1};
        sieve_context *ctx = sieve_context_create(&o);
        assert_non_null(ctx);
        sieve_model *m = NULL;
        sieve_status st = sieve_onnx_import_memory(ctx, bytes, size, NULL, &m);
        if (st == SIEVE_OK) {
            successes++;
            sieve_model_free(m);
        } else {
            assert_int_equal(st, SIEVE_ERR_NOMEM);
            assert_null(m);
        }
        sieve_context_destroy(ctx);
        assert_int_equal(f.live, 0); /* nothing leaked on any path */
        assert_true(i < 100000);
    }
    b_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_batchnorm_folds_into_conv_and_equals_unfolded_math),
        cmocka_unit_test(test_batchnorm_after_a_shared_conv_output_stays_a_layer),
        cmocka_unit_test(test_relu_fuses_into_the_conv_before_it),
        cmocka_unit_test(test_relu_is_not_fused_when_the_conv_output_has_another_consumer),
        cmocka_unit_test(test_relu_after_max_pool_fuses_into_the_conv),
        cmocka_unit_test(test_relu_fuses_into_the_add_before_it_unless_the_sum_is_read),
        cmocka_unit_test(test_dropout_and_identity_leave_no_layer),
        cmocka_unit_test(test_matmul_plus_constant_bias_and_relu_become_one_gemm),
        cmocka_unit_test(test_zero_pad_folds_into_the_following_conv),
        cmocka_unit_test(test_unsupported_op_is_reported_with_its_node),
        cmocka_unit_test(test_external_data_is_rejected),
        cmocka_unit_test(test_raw_data_of_the_wrong_length_is_rejected),
        cmocka_unit_test(test_truncated_and_garbage_bytes_are_errors_not_crashes),
        cmocka_unit_test(test_deeply_nested_messages_are_refused),
        cmocka_unit_test(test_same_padding_is_resolved_from_the_input_shape),
        cmocka_unit_test(test_pytorch_flatten_shape_arithmetic_is_folded),
        cmocka_unit_test(test_softmax_axis_follows_the_opset),
        cmocka_unit_test(test_reshape_shape_can_be_bound_by_the_caller),
        cmocka_unit_test(test_read_tensor_two_call_pattern_and_types),
        cmocka_unit_test(test_import_file_reads_regular_files_only),
        cmocka_unit_test(test_every_allocation_failure_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
