/* libsieve — models (.sieve files), graph inspection and execution. */
#ifndef SIEVE_MODEL_H
#define SIEVE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cfloat.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIEVE_MAX_RANK 6

typedef struct sieve_shape {
    int rank;
    int64_t dims[SIEVE_MAX_RANK];
} sieve_shape;

typedef struct sieve_model sieve_model;
typedef struct sieve_exec sieve_exec;

/* ---- loading and saving ---------------------------------------------- */

/* Opens a .sieve file (read whole into memory owned by the model). */
sieve_status sieve_model_load_file(sieve_context *ctx, const char *path, sieve_model **out);
/* Loads from memory. With copy == 0 the model borrows `data`, which must
 * outlive it and be aligned to 64 bytes (e.g. an mmap); else it copies. */
sieve_status sieve_model_load_memory(sieve_context *ctx, const void *data, size_t size, int copy,
                                     sieve_model **out);
sieve_status sieve_model_save_file(sieve_context *ctx, const sieve_model *model, const char *path);
void sieve_model_free(sieve_model *model);

/* ---- inspection -------------------------------------------------------- */

typedef enum sieve_tensor_role {
    SIEVE_TENSOR_INPUT = 0,    /* graph input, fed at run time */
    SIEVE_TENSOR_CONSTANT = 1, /* weights and other initializers */
    SIEVE_TENSOR_ACTIVATION = 2,
} sieve_tensor_role;

typedef struct sieve_tensor_info {
    const char *name;
    sieve_tensor_role role;
    int is_output;
    sieve_shape shape; /* declared shape; activations: see sieve_exec_tensor_shape */
    sieve_format format;
    size_t bytes; /* stored bytes of constants and declared inputs; 0 for activations */
} sieve_tensor_info;

typedef struct sieve_layer_info {
    const char *name;
    const char *op; /* "conv", "maxpool", ... */
    int n_inputs, n_outputs;
    const int *inputs;  /* tensor indices (-1: optional input absent) */
    const int *outputs; /* tensor indices */
    uint64_t macs;      /* always 0 here: see sieve_exec_layer_macs */
    uint64_t params;    /* elements of constant inputs */
} sieve_layer_info;

int sieve_model_tensor_count(const sieve_model *model);
int sieve_model_layer_count(const sieve_model *model);
sieve_status sieve_model_tensor(const sieve_model *model, int index, sieve_tensor_info *out);
sieve_status sieve_model_layer(const sieve_model *model, int index, sieve_layer_info *out);
int sieve_model_find_tensor(const sieve_model *model, const char *name); /* -1 if absent */
int sieve_model_input_count(const sieve_model *model);
int sieve_model_output_count(const sieve_model *model);
int sieve_model_input(const sieve_model *model, int i);  /* tensor index */
int sieve_model_output(const sieve_model *model, int i); /* tensor index */

/* Class labels (NULL when the model has none or i is out of range). */
int sieve_model_label_count(const sieve_model *model);
const char *sieve_model_label(const sieve_model *model, int i);

/* Image preprocessing the model expects: x = (pixel * scale - mean[c]) / std[c]
 * on a channels x height x width input. */
typedef struct sieve_preprocess {
    int channels, height, width; /* 0 when unknown */
    float scale;                 /* usually 1/255 */
    float mean[4], std[4];
} sieve_preprocess;
sieve_status sieve_model_preprocess(const sieve_model *model, sieve_preprocess *out);
sieve_status sieve_model_set_preprocess(sieve_model *model, const sieve_preprocess *pre);
sieve_status sieve_model_set_labels(sieve_model *model, const char *const *labels, int count);

/* Free-form metadata key -> string value. */
const char *sieve_model_metadata(const sieve_model *model, const char *key);
sieve_status sieve_model_set_metadata(sieve_model *model, const char *key, const char *value);
int sieve_model_metadata_count(const sieve_model *model);
const char *sieve_model_metadata_key(const sieve_model *model, int i); /* NULL if out of range */

/* Decodes constant tensor `tensor` (n = its element count) into dst. */
sieve_status sieve_model_constant_values(const sieve_model *model, int tensor, float *dst,
                                         size_t n);

/* Changes the storage format of a tensor. Constants are re-encoded (with
 * round to nearest; SIEVE_ERR_STATE for a package with variants, whose
 * variants may share the constant's bytes); activations are encoded when
 * written at run time by executors created afterwards. */
sieve_status sieve_model_set_tensor_format(sieve_model *model, int tensor, const sieve_format *fmt);

/* ---- variants (edge packages) -------------------------------------------
 * A package holds the graph once, its own tensors (usually the fp32
 * original) and any number of named variants. A variant gives every tensor
 * a storage format and, for constants stored differently, its own data, plus
 * free-form calibration text (JSON by convention). */

int sieve_model_variant_count(const sieve_model *model);
const char *sieve_model_variant_name(const sieve_model *model, int i);
int sieve_model_find_variant(const sieve_model *model, const char *name); /* -1 if absent */
const char *sieve_model_variant_calibration(const sieve_model *model, int i); /* "" if none */
/* Adds variant `name` (replacing one of that name, which then moves to the
 * end of the list) taken from `variant`, which must have
 * the same tensors (names, roles, shapes) and layers as `model`: its
 * formats are recorded and the data of its constants copied. */
sieve_status sieve_model_add_variant(sieve_model *model, const char *name,
                                     const sieve_model *variant, const char *calibration);
sieve_status sieve_model_set_variant_calibration(sieve_model *model, int i,
                                                 const char *calibration);
/* A standalone model running variant i (shares no memory with `model`). */
sieve_status sieve_model_extract_variant(const sieve_model *model, int i, sieve_model **out);
/* A deep copy of a model without its variants. */
sieve_status sieve_model_clone(const sieve_model *model, sieve_model **out);

/* ---- ONNX import --------------------------------------------------------- */

typedef struct sieve_onnx_options {
    /* Graph inputs to bind as constants (e.g. a Reshape's shape given as a
     * graph input): tensor protobuf bytes, parallel arrays. May be empty. */
    int n_bind;
    const char *const *bind_names;
    const void *const *bind_data;
    const size_t *bind_sizes;
} sieve_onnx_options;

sieve_status sieve_onnx_import_memory(sieve_context *ctx, const void *data, size_t size,
                                      const sieve_onnx_options *options, sieve_model **out);
sieve_status sieve_onnx_import_file(sieve_context *ctx, const char *path,
                                    const sieve_onnx_options *options, sieve_model **out);

/* Decodes an ONNX TensorProto (a .pb file of the ONNX backend tests) into
 * fp32 values (float, double, int32/64, uint8, int8, bool converted).
 * Call with dst == NULL to learn *n_out and the shape; then with capacity
 * `cap`. `name` (may be NULL) receives the tensor's name, truncated to
 * name_cap. */
sieve_status sieve_onnx_read_tensor(sieve_context *ctx, const void *data, size_t size,
                                    sieve_shape *shape, float *dst, size_t cap, size_t *n_out,
                                    char *name, size_t name_cap);

/* ---- execution ----------------------------------------------------------- */

typedef struct sieve_exec_options {
    int threads; /* <= 0: the context's */
    /* Optional fixed input shapes (same order as graph inputs); NULL keeps
     * the shapes declared in the model. */
    const sieve_shape *input_shapes;
    /* Nonzero: no memory reuse, every activation keeps its own buffer, so
     * that any tensor can be read (and overwritten) after a run; used by
     * format exploration and debugging. */
    int keep_activations;
} sieve_exec_options;

/* create + prepare: infers shapes, plans activation buffers by lifetime,
 * sizes scratch. Run allocates nothing. `options` may be NULL. The model
 * must not be modified or freed while an executor of it exists (formats and
 * constant data are captured here); create a new executor after changes. */
sieve_status sieve_exec_create(sieve_model *model, const sieve_exec_options *options,
                               sieve_exec **out);
void sieve_exec_free(sieve_exec *exec);

/* Copies n fp32 values into graph input i (n must match its shape). */
sieve_status sieve_exec_set_input(sieve_exec *exec, int i, const float *data, size_t n);
sieve_status sieve_exec_run(sieve_exec *exec);
/* Runs only layers [first, last) (e.g. a suffix of the graph after
 * sieve_exec_set_tensor injected cached activations). */
sieve_status sieve_exec_run_layers(sieve_exec *exec, int first, int last);
/* Reads / overwrites any input or activation tensor by index (fp32 values,
 * encoded into the tensor's format on write). Requires keep_activations,
 * except for graph inputs and outputs. */
sieve_status sieve_exec_get_tensor(sieve_exec *exec, int tensor, float *dst, size_t n);
sieve_status sieve_exec_set_tensor(sieve_exec *exec, int tensor, const float *src, size_t n);
/* Decodes graph output i into dst (capacity n elements). */
sieve_status sieve_exec_get_output(sieve_exec *exec, int i, float *dst, size_t n);
/* Shape of any tensor after prepare. */
sieve_status sieve_exec_tensor_shape(const sieve_exec *exec, int tensor, sieve_shape *out);
/* Bytes of the activation arena planned by lifetime, and the sum of all
 * activation bytes without reuse. */
size_t sieve_exec_arena_bytes(const sieve_exec *exec);
size_t sieve_exec_activation_bytes_total(const sieve_exec *exec);
uint64_t sieve_exec_macs(const sieve_exec *exec);
uint64_t sieve_exec_layer_macs(const sieve_exec *exec, int layer);

/* Convenience for inspection: numel of a shape (0 on overflow / rank 0 -> 1). */
int64_t sieve_shape_numel(const sieve_shape *shape);

#ifdef __cplusplus
}
#endif
#endif
