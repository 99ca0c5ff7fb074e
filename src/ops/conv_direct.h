/* libsieve internal, private to src/ops/ — direct convolution for layers
 * with few input channels (conv_direct.c), the fast path of conv.c for a
 * network's first layer on a grayscale or colour image. */
#ifndef SIEVE_OPS_CONV_DIRECT_H
#define SIEVE_OPS_CONV_DIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "ops.h"

/* One stride 1, dilation 1, group 1 convolution: input [batch, c, h, w],
 * weights [m, c, kh, kw], output [batch, m, oh, ow]; pt / pl are the top /
 * left pads (the bottom and right ones only bound oh and ow). */
typedef struct sieve_direct_conv {
    size_t batch, c, h, w, m, kh, kw, oh, ow;
    ptrdiff_t pt, pl;
    bool relu;
} sieve_direct_conv;

/* Whether the direct kernel runs here and beats the im2col GEMM on this
 * shape: few multiply-adds per output (see conv_direct.c). */
bool sieve_direct_conv_worthwhile(const sieve_direct_conv *g);

/* Scratch floats sieve_direct_conv_run needs, shared by the threads. */
size_t sieve_direct_conv_scratch_floats(const sieve_direct_conv *g);

/* y = conv(x, w) + bias (bias may be NULL), then ReLU if g->relu; the
 * weights may be fp32 or packed. Returns false, having written nothing,
 * when the scratch is short or the kernel does not run on this CPU. */
bool sieve_direct_conv_run(const sieve_direct_conv *g, const float *x, const sieve_op_input *w,
                           const float *bias, float *y, const sieve_op_env *env);

#endif
