/* libsieve — image decoding and preprocessing (stb_image, stb_image_resize). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#include "common.h"
#include "pixels.h"
#include "sieve/image.h"

/* stb_image pads a binary PGM/PPM whose pixel data is cut short with
 * zeros, and reads a missing maxval as 0; both are errors here (a fuzzed
 * "P5 5 5666666" and a few bytes made it decode and resize 28 million
 * pixels). Returns false if `data` is a P5/P6 file whose header lacks a
 * field or whose pixel data is shorter than its header says. */
static bool pnm_complete(const uint8_t *data, size_t size)
{
    if (size < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '6'))
        return true; /* not binary PNM: stb checks the rest */
    uint64_t fields[3];
    size_t at = 2;
    for (int f = 0; f < 3; f++) {
        while (at < size && (data[at] == ' ' || data[at] == '\t' || data[at] == '\r' ||
                             data[at] == '\n' || data[at] == '#')) {
            if (data[at] == '#')
                while (at < size && data[at] != '\n')
                    at++;
            else
                at++;
        }
        uint64_t v = 0;
        size_t digits = 0;
        while (at < size && data[at] >= '0' && data[at] <= '9' && digits < 12) {
            v = v * 10 + (uint64_t)(data[at++] - '0');
            digits++;
        }
        if (digits == 0)
            return false;
        fields[f] = v;
    }
    at++; /* the single whitespace after maxval */
    uint64_t need = fields[0] * fields[1] * (data[1] == '6' ? 3u : 1u) * (fields[2] > 255 ? 2u : 1u);
    return at <= size && size - at >= need;
}

sieve_status sieve_pixels_to_input(sieve_context *ctx, const float *hwc, int w, int h,
                                   int src_channels, const sieve_preprocess *pre, float *dst)
{
    int channels = pre->channels, height = pre->height, width = pre->width;
    size_t out_pixels = (size_t)height * width;
    float *resized = NULL;
    if (w != width || h != height) {
        size_t bytes = out_pixels * (size_t)src_channels * sizeof(float);
        resized = sieve_alloc(ctx, bytes);
        if (!resized)
            return SIEVE_ERR_NOMEM;
        if (!stbir_resize_float(hwc, w, h, 0, resized, width, height, 0, src_channels)) {
            sieve_free(ctx, resized, bytes);
            return sieve_fail(ctx, SIEVE_ERR_NOMEM, "image: resize from %dx%d to %dx%d failed", w,
                              h, width, height);
        }
        hwc = resized;
    }
    for (int c = 0; c < channels; c++) {
        int from = src_channels == 1 ? 0 : c;
        float scale = pre->scale / pre->std[c], shift = pre->mean[c] / pre->std[c];
        float *plane = dst + (size_t)c * out_pixels;
        for (size_t p = 0; p < out_pixels; p++)
            plane[p] = hwc[p * (size_t)src_channels + (size_t)from] * scale - shift;
    }
    if (resized)
        sieve_free(ctx, resized, out_pixels * (size_t)src_channels * sizeof(float));
    return SIEVE_OK;
}

sieve_status sieve_image_preprocess(sieve_context *ctx, const void *data, size_t size,
                                    const sieve_preprocess *pre, float *dst, size_t n)
{
    if (!ctx || !pre || !dst || (!data && size))
        return sieve_fail(ctx, SIEVE_ERR_ARG, "image: missing data, preprocessing or output");
    int channels = pre->channels, height = pre->height, width = pre->width;
    if (channels != 1 && channels != 3)
        return sieve_fail(ctx, SIEVE_ERR_UNSUPPORTED, "image: model wants %d channels (1 or 3 supported)",
                          channels);
    if (height <= 0 || width <= 0 || height > 16384 || width > 16384)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "image: model input size %dx%d is not usable", width,
                          height);
    size_t need = (size_t)channels * (size_t)height * (size_t)width;
    if (n != need)
        return sieve_fail(ctx, SIEVE_ERR_SHAPE, "image: output holds %zu values, model needs %zu", n,
                          need);
    if (size == 0 || size > (size_t)INT32_MAX)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "image: %zu bytes is not an image", size);
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "not a readable image (%s)", stbi_failure_reason());
    if (w <= 0 || h <= 0)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "image has zero size (%dx%d)", w, h);
    if ((uint64_t)w * (uint64_t)h > SIEVE_IMAGE_MAX_PIXELS)
        return sieve_fail(ctx, SIEVE_ERR_RANGE, "image is too large (%dx%d pixels, limit %u)", w, h,
                          SIEVE_IMAGE_MAX_PIXELS);
    if (!pnm_complete(data, size))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "truncated or malformed PGM/PPM image (%dx%d)",
                          w, h);
    int got_comp = 0;
    unsigned char *pixels = stbi_load_from_memory(data, (int)size, &w, &h, &got_comp, channels);
    if (!pixels)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "cannot decode image (%s)", stbi_failure_reason());
    size_t src_n = (size_t)w * (size_t)h * (size_t)channels;
    float *src = sieve_alloc(ctx, src_n * sizeof(float));
    sieve_status st = SIEVE_OK;
    if (!src) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < src_n; i++)
        src[i] = (float)pixels[i];
    st = sieve_pixels_to_input(ctx, src, w, h, channels, pre, dst);
done:
    if (src)
        sieve_free(ctx, src, src_n * sizeof(float));
    stbi_image_free(pixels);
    return st;
}

sieve_status sieve_image_preprocess_file(sieve_context *ctx, const char *path,
                                         const sieve_preprocess *pre, float *dst, size_t n)
{
    if (!ctx || !path)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "image: missing path");
    FILE *f = fopen(path, "rb");
    if (!f)
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: %s", path, strerror(errno));
    size_t end = 0;
    sieve_status fst = sieve_file_size(ctx, f, path, &end);
    if (fst != SIEVE_OK) {
        fclose(f);
        return fst;
    }
    if (end == 0 || end > (size_t)INT32_MAX) {
        fclose(f);
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: %s", path,
                          end == 0 ? "empty file" : "file too large for an image");
    }
    uint8_t *buf = sieve_alloc(ctx, end);
    if (!buf) {
        fclose(f);
        return SIEVE_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, end, f);
    fclose(f);
    sieve_status st;
    if (got != end) {
        st = sieve_fail(ctx, SIEVE_ERR_IO, "%s: short read", path);
    } else {
        st = sieve_image_preprocess(ctx, buf, got, pre, dst, n);
        if (st != SIEVE_OK) {
            char msg[SIEVE_ERROR_LEN];
            snprintf(msg, sizeof(msg), "%s", ctx->error);
            sieve_fail(ctx, st, "%s: %.400s", path, msg);
        }
    }
    sieve_free(ctx, buf, end);
    return st;
}
