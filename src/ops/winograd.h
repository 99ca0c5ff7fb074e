/* libsieve internal, private to src/ops/ — Winograd F(4x4, 3x3) convolution
 * (winograd.c), the fast path of conv.c for 3x3, stride 1, dilation 1,
 * group 1 convolutions with enough channels. */
#ifndef SIEVE_OPS_WINOGRAD_H
#define SIEVE_OPS_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>

#include "../cfloat_tile.h"
#include "ops.h"

/* One 3x3, stride 1, dilation 1, group 1 convolution: input [batch, c, h, w],
 * weights [m, c, 3, 3], output [batch, m, oh, ow]; pt / pl are the top / left
 * pads (the bottom and right ones only bound oh and ow). */
typedef struct sieve_winograd_conv {
    size_t batch, c, h, w, m, oh, ow;
    ptrdiff_t pt, pl;
    bool relu;
} sieve_winograd_conv;

/* Whether Winograd beats the im2col GEMM path on this shape (thresholds on
 * channels and output tiles, measured; see winograd.c). */
bool sieve_winograd_worthwhile(const sieve_winograd_conv *g);

/* Scratch floats sieve_winograd_run needs with `threads` threads: the
 * transformed weights of one block of output channels, shared, plus one
 * slice per thread. */
size_t sieve_winograd_scratch_floats(const sieve_winograd_conv *g, int threads);

/* y = conv(x, w) + bias (bias may be NULL), then ReLU if g->relu. The
 * weights may be fp32 or packed. Uses env->pool and env->scratch (fewer
 * threads if the scratch is short of one slice per thread); returns false,
 * having written nothing, when the scratch does not hold even one. */
bool sieve_winograd_run(const sieve_winograd_conv *g, const float *x, const sieve_op_input *w,
                        const float *bias, float *y, const sieve_op_env *env);

/* The same with the output encoded (sieve_tile_encode) into codes as the
 * output transform produces it, y left unwritten; also false, having
 * written nothing, for 4-bit codes on rows of odd width (they would share
 * bytes), and false when a value could not be encoded. */
bool sieve_winograd_run_encoded(const sieve_winograd_conv *g, const float *x,
                                const sieve_op_input *w, const float *bias, float *y,
                                const sieve_tile_encoder *enc, uint8_t *codes,
                                const sieve_op_env *env);

#endif
