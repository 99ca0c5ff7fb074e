/* libsieve internal — the in-memory graph shared by the model file, the
 * ONNX importer, the executor and the kernels. */
#ifndef SIEVE_GRAPH_H
#define SIEVE_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "sieve/model.h"

/* Layer types: X(enum suffix, file name). One source of truth. */
#define SIEVE_OP_LIST(X)                                                       \
    X(CONV, "conv")                 /* in: x, w[M,C/g,kh,kw], b[M]?           */ \
    X(MAXPOOL, "maxpool")           /* in: x                                  */ \
    X(AVGPOOL, "avgpool")           /* in: x                                  */ \
    X(GLOBALAVGPOOL, "globalavgpool") /* in: x                                */ \
    X(GLOBALMAXPOOL, "globalmaxpool") /* in: x                                */ \
    X(RELU, "relu")                 /* in: x                                  */ \
    X(LRN, "lrn")                   /* in: x                                  */ \
    X(BATCHNORM, "batchnorm")       /* in: x, scale[C], shift[C] (folded)     */ \
    X(GEMM, "gemm")                 /* in: a, b, c? ; y = alpha*A'B' + beta*C */ \
    X(MATMUL, "matmul")             /* in: a, b (numpy matmul broadcasting)   */ \
    X(SOFTMAX, "softmax")           /* in: x                                  */ \
    X(CONCAT, "concat")             /* in: x0..xn                             */ \
    X(ADD, "add")                   /* in: a, b (numpy broadcasting), relu?   */ \
    X(RESHAPE, "reshape")           /* in: x ; out shape in attrs             */ \
    X(FLATTEN, "flatten")           /* in: x                                  */

typedef enum sieve_op {
#define SIEVE_X_OP(id, name) SIEVE_OP_##id,
    SIEVE_OP_LIST(SIEVE_X_OP)
#undef SIEVE_X_OP
        SIEVE_OP_COUNT
} sieve_op;

const char *sieve_op_name(sieve_op op);
int sieve_op_from_name(const char *name); /* -1 if unknown */

typedef struct sieve_conv_attrs {
    int kernel[2];   /* kh, kw */
    int stride[2];   /* sh, sw */
    int dilation[2]; /* dh, dw */
    int pads[4];     /* top, left, bottom, right */
    int group;
    bool relu; /* fused ReLU on the output */
} sieve_conv_attrs;

typedef struct sieve_pool_attrs {
    int kernel[2];
    int stride[2];
    int dilation[2];
    int pads[4]; /* top, left, bottom, right */
    bool ceil_mode;
    bool count_include_pad; /* avgpool only */
} sieve_pool_attrs;

typedef struct sieve_lrn_attrs {
    int size;
    float alpha, beta, bias;
} sieve_lrn_attrs;

typedef struct sieve_gemm_attrs {
    float alpha, beta;
    bool trans_a, trans_b;
    bool relu;
} sieve_gemm_attrs;

typedef struct sieve_add_attrs {
    bool relu; /* fused ReLU on the sum (model file version 2) */
} sieve_add_attrs;

typedef struct sieve_axis_attrs {
    int axis; /* softmax (opset >= 13 semantics: along one axis), concat, flatten */
    bool softmax_coerce_2d; /* softmax opset < 13: flatten to [prod(:axis), prod(axis:)] */
} sieve_axis_attrs;

typedef struct sieve_reshape_attrs {
    sieve_shape shape; /* fully resolved target shape */
} sieve_reshape_attrs;

typedef union sieve_layer_attrs {
    sieve_conv_attrs conv;
    sieve_pool_attrs pool;
    sieve_lrn_attrs lrn;
    sieve_gemm_attrs gemm;
    sieve_add_attrs add;
    sieve_axis_attrs axis;
    sieve_reshape_attrs reshape;
} sieve_layer_attrs;

#define SIEVE_MAX_LAYER_INPUTS 64
#define SIEVE_MAX_LAYER_OUTPUTS 1

typedef struct sieve_tensor {
    char *name;
    sieve_tensor_role role;
    bool is_output;
    sieve_shape shape; /* declared shape (inputs, constants); inferred for activations */
    sieve_format format;
    /* Constants: stored data in `format` (fp32 or packed), `bytes` long. */
    const uint8_t *data;
    size_t bytes;
    uint8_t *owned; /* non-NULL when the model owns `data` (aligned alloc) */
} sieve_tensor;

typedef struct sieve_layer {
    char *name;
    sieve_op op;
    int n_inputs, n_outputs;
    int inputs[SIEVE_MAX_LAYER_INPUTS]; /* -1: optional input absent */
    int outputs[SIEVE_MAX_LAYER_OUTPUTS];
    sieve_layer_attrs attrs;
} sieve_layer;

/* A named variant of the graph: a format for every tensor and, for
 * constants stored differently from the base model, their own data. */
typedef struct sieve_variant {
    char *name;
    char *calibration;      /* free text (JSON by convention), never NULL */
    sieve_format *formats;  /* [n_tensors] */
    const uint8_t **data;   /* [n_tensors]; NULL: same bytes as the base tensor */
    size_t *bytes;          /* [n_tensors] */
    uint8_t **owned;        /* [n_tensors]; aligned copies owned by the variant */
} sieve_variant;

struct sieve_model {
    sieve_context *ctx;
    sieve_tensor *tensors;
    int n_tensors, cap_tensors;
    sieve_layer *layers; /* in execution order: inputs defined before use */
    int n_layers, cap_layers;
    int *inputs, n_inputs;   /* graph input tensor indices */
    int *outputs, n_outputs; /* graph output tensor indices */
    char **labels; /* n_labels + 1 slots allocated */
    int n_labels;
    sieve_preprocess pre;
    bool has_pre;
    struct sieve_meta {
        char *key, *value;
    } *meta;
    int n_meta, cap_meta;
    sieve_variant *variants;
    int n_variants, cap_variants;
    const uint8_t *file_data; /* borrowed or owned file image */
    uint8_t *file_owned;
    size_t file_size;
};

/* ---- graph building (used by the importer, loader and tests) ------------ */

sieve_model *sieve_model_new(sieve_context *ctx);
/* Adds a tensor and returns its index (or -1 with the context error set).
 * Names must be unique. */
int sieve_model_add_tensor(sieve_model *m, const char *name, sieve_tensor_role role,
                           const sieve_shape *shape, const sieve_format *fmt);
/* Gives a constant tensor fp32 data (copied, then encoded to its format). */
sieve_status sieve_model_set_constant(sieve_model *m, int tensor, const float *values, size_t n);
/* Appends a layer; inputs/outputs are tensor indices. Returns its index or -1. */
int sieve_model_add_layer(sieve_model *m, const char *name, sieve_op op, const int *inputs,
                          int n_inputs, const int *outputs, int n_outputs,
                          const sieve_layer_attrs *attrs);
sieve_status sieve_model_mark_input(sieve_model *m, int tensor);
sieve_status sieve_model_mark_output(sieve_model *m, int tensor);
void sieve_model_free_variants(sieve_model *m);
/* Appends an empty variant (formats = the base formats) for the loader. */
sieve_variant *sieve_model_push_variant(sieve_model *m, const char *name, const char *calibration);

/* Checks references, ordering, shapes of constants against their data. */
sieve_status sieve_model_validate(sieve_model *m);

#endif
