/* libsieve — images to model inputs. */
#ifndef SIEVE_IMAGE_H
#define SIEVE_IMAGE_H

#include <stddef.h>

#include "model.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest image accepted, in pixels (width * height), before decoding. */
#define SIEVE_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)

/* Decodes an encoded image (PNG, JPEG, BMP or binary 8-bit PGM/PPM, told
 * apart by their first bytes, via stb_image; other formats are
 * SIEVE_ERR_FORMAT), converts it to pre->channels (1: luminance, 3: RGB), resizes
 * it to pre->height x pre->width and normalizes every value as
 * (pixel * scale - mean[c]) / std[c], writing CHW order into dst, which
 * holds n = channels * height * width floats. */
sieve_status sieve_image_preprocess(sieve_context *ctx, const void *data, size_t size,
                                    const sieve_preprocess *pre, float *dst, size_t n);
sieve_status sieve_image_preprocess_file(sieve_context *ctx, const char *path,
                                         const sieve_preprocess *pre, float *dst, size_t n);

#ifdef __cplusplus
}
#endif
#endif
