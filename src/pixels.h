/* libsieve internal — pixels to a model input, shared by images and datasets. */
#ifndef SIEVE_PIXELS_H
#define SIEVE_PIXELS_H

#include "common.h"
#include "sieve/model.h"

/* Resizes w x h pixels in HWC order (src_channels is 1, replicated into
 * every channel, or pre->channels) to pre->height x pre->width and writes
 * (pixel * scale - mean[c]) / std[c] in CHW order into dst. */
sieve_status sieve_pixels_to_input(sieve_context *ctx, const float *hwc, int w, int h,
                                   int src_channels, const sieve_preprocess *pre, float *dst);

#endif
