/* libsieve internal — the kernel interface of every layer type.
 *
 * Each layer family lives in one file of src/ops/ with a naive reference
 * implementation (run_ref, the test oracle) beside the optimized one (run).
 * Kernels compute in fp32. Inputs arrive decoded to fp32, except the weight
 * input (index 1) of conv and gemm when it is a constant stored in a custom
 * float format: then `f32` is NULL and the kernel decodes panels of it from
 * `packed` into its scratch right before use.
 *
 * An absent optional input (layer->inputs[i] == -1, e.g. conv's bias or
 * gemm's C) is passed with shape.rank == -1 and no data. run may use
 * env->pool and env->scratch and never allocates; if the scratch holds fewer
 * per-thread slices than the pool has threads, run uses fewer threads (or
 * falls back to run_ref) instead of overrunning it. */
#ifndef SIEVE_OPS_H
#define SIEVE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "../graph.h"
#include "../threads.h"

typedef struct sieve_op_input {
    sieve_shape shape;
    const float *f32;      /* decoded values, or NULL for a packed weight */
    const uint8_t *packed; /* packed stream when f32 is NULL */
    sieve_format format;   /* format of `packed` */
} sieve_op_input;

/* A packed activation as run_packed sees it. */
typedef struct sieve_op_packed {
    sieve_shape shape;
    sieve_format format; /* a custom float format, never fp32 */
    const uint8_t *data;
} sieve_op_packed;

typedef struct sieve_op_env {
    sieve_pool *pool;      /* may be NULL: single thread */
    float *scratch;        /* scratch_floats(...) floats, 64-byte aligned */
    size_t scratch_floats;
} sieve_op_env;

typedef struct sieve_op_kernel {
    /* Output shape from input shapes; on error writes a reason into err. */
    sieve_status (*infer)(const sieve_layer *layer, const sieve_shape *in, int n_in,
                          sieve_shape *out, char *err, size_t err_len);
    /* Scratch floats needed by run (may be NULL: none). */
    size_t (*scratch_floats)(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             const sieve_shape *out, int threads);
    /* Multiply-accumulates (or element operations) of one run. */
    uint64_t (*macs)(const sieve_layer *layer, const sieve_shape *in, int n_in,
                     const sieve_shape *out);
    void (*run)(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                const sieve_shape *out_shape, sieve_op_env *env);
    /* Optional, for layers cheap next to decoding and encoding their
     * activations (element-wise, concat, pooling): computes the layer from
     * packed inputs straight into the packed output piece by piece, so no
     * whole tensor is ever decoded to fp32 and written back. The executor
     * calls it only when every input is a packed activation and the output
     * is packed. Returns false when it does not handle the case (shapes,
     * formats): it may then have written part of `out`, never an input, and
     * the executor runs the layer the usual way. The values equal run's,
     * encoded. */
    bool (*run_packed)(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                       uint8_t *out, const sieve_format *out_format,
                       const sieve_shape *out_shape, sieve_op_env *env);
    /* Optional, for kernels that can encode their output as they produce
     * it: run with the final values stored as codes of out_format (an
     * activation's custom float format) into `codes` instead of into
     * `out`, which is scratch of the output's size it may still use on
     * the way. Returns false when it does not handle the case, or when a
     * value could not be encoded: the executor then runs the layer with
     * run and encodes the output itself (which reports such a value). */
    bool (*run_encoded)(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                        uint8_t *codes, const sieve_format *out_format,
                        const sieve_shape *out_shape, sieve_op_env *env);
    /* Optional: whether run and run_encoded take input 0, a packed
     * activation, as its codes (f32 NULL, packed its stream), decoding
     * them where they are used instead of the executor decoding the whole
     * tensor first. `in` holds every input's shape and format (weights'
     * pointers too); true only where every path the layer may take reads
     * codes (run_ref included). */
    bool (*input_as_codes)(const sieve_layer *layer, const sieve_op_input *in, int n_in);
    /* Naive reference: single thread, no scratch needed beyond malloc-free
     * loops (it may decode packed weights element by element). */
    void (*run_ref)(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                    const sieve_shape *out_shape);
} sieve_op_kernel;

/* The table, indexed by sieve_op (defined in ops.c). */
extern const sieve_op_kernel sieve_op_kernels[SIEVE_OP_COUNT];

/* Reads element i of an input, decoding if packed (slow; for references). */
float sieve_op_input_at(const sieve_op_input *in, size_t i);

#endif
