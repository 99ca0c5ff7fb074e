/* libsieve — image decoding and preprocessing: JPEG through libjpeg-turbo,
 * PNG, BMP and PGM/PPM through stb_image, resizing with stb_image_resize. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#include "common.h"
#include "pixels.h"
#include "sieve/image.h"

/* The formats the library promises (PNG, JPEG, BMP, binary PGM/PPM),
 * recognized by their magic bytes. stb_image also decodes TGA, GIF, PSD,
 * PIC and HDR, which have no magic (TGA) or a history of memory-safety bugs;
 * they never reach it. */
static const char *image_kind(const uint8_t *d, size_t size)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && memcmp(d, png, 8) == 0)
        return "PNG";
    if (size >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return "JPEG";
    if (size >= 2 && d[0] == 'B' && d[1] == 'M')
        return "BMP";
    if (size >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6'))
        return "PNM";
    return NULL;
}

static bool pnm_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Reads a binary PGM/PPM header the way stb_image does (whitespace and
 * '#' comments to the end of the line between fields, digits without a
 * length limit, one byte after maxval) and checks what stb does not: every
 * field is present and fits, maxval is 1..255, and the pixel data is as
 * long as the header says. stb pads short pixel data with zeros, reads a
 * missing field as 0 and mishandles 16-bit data that is cut short (fuzzed
 * headers made it decode 28 million pixels from 100 bytes, or read past its
 * buffer). On failure writes the reason to `why`. */
static bool pnm_complete(const uint8_t *data, size_t size, const char **why)
{
    uint64_t fields[3];
    size_t at = 2;
    for (int f = 0; f < 3; f++) {
        for (;;) {
            while (at < size && pnm_space(data[at]))
                at++;
            if (at >= size || data[at] != '#')
                break;
            while (at < size && data[at] != '\n' && data[at] != '\r')
                at++;
        }
        uint64_t v = 0;
        size_t digits = 0;
        while (at < size && data[at] >= '0' && data[at] <= '9') {
            v = v * 10 + (uint64_t)(data[at++] - '0');
            if (v > 65535) {
                *why = f == 2 ? "maxval above 255 (16-bit samples are not supported)"
                              : "width or height above 65535";
                return false;
            }
            digits++;
        }
        if (digits == 0) {
            *why = f == 0 ? "width missing" : f == 1 ? "height missing" : "maxval missing";
            return false;
        }
        fields[f] = v;
    }
    if (fields[2] == 0 || fields[2] > 255) {
        *why = fields[2] ? "maxval above 255 (16-bit samples are not supported)" : "maxval is 0";
        return false;
    }
    at++; /* the single whitespace after maxval */
    uint64_t need = fields[0] * fields[1] * (data[1] == '6' ? 3u : 1u);
    if (at > size || size - at < need) {
        *why = "pixel data shorter than the header says";
        return false;
    }
    return true;
}

/* ---- JPEG: libjpeg-turbo ----
 *
 * stb_image 2.27 (Debian's) asserts and reads freed memory on corrupt
 * Huffman tables (CVE-2022-28042, CVE-2022-29977; a fuzzed JPEG aborted the
 * process), so JPEG goes to libjpeg-turbo, whose errors come back here by
 * longjmp and whose messages are kept instead of printed. */
#define JPEG_MAX_SCANS 128 /* progressive files: more scans is a known CPU bomb */

typedef struct jpeg_guard {
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
} jpeg_guard;

static void jpeg_fail(j_common_ptr cinfo)
{
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    g->err.format_message(cinfo, g->message);
    longjmp(g->escape, 1);
}

/* Warnings (corrupt data libjpeg recovers from) are not printed; data that
 * ends early is an error, as for PGM/PPM, not an image padded with gray. */
static void jpeg_warn(j_common_ptr cinfo, int level)
{
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    if (level < 0 && g->err.msg_code == JWRN_JPEG_EOF) {
        g->err.format_message(cinfo, g->message);
        longjmp(g->escape, 1);
    }
}

static void jpeg_count_scans(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    if (cinfo->is_decompressor && d->input_scan_number > JPEG_MAX_SCANS) {
        snprintf(g->message, sizeof(g->message), "more than %d scans", JPEG_MAX_SCANS);
        longjmp(g->escape, 1);
    }
}

/* Decodes a JPEG to `channels` (1 or 3) bytes per pixel, row-major, into a
 * buffer from sieve_alloc of *w * *h * channels bytes. */
static sieve_status jpeg_decode(sieve_context *ctx, const uint8_t *data, size_t size,
                                int channels, uint8_t **out, int *w, int *h)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_guard g;
    uint8_t *volatile pixels = NULL;
    volatile size_t bytes = 0;
    *out = NULL;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&g.err);
    g.err.error_exit = jpeg_fail;
    g.err.emit_message = jpeg_warn;
    g.message[0] = 0;
    if (setjmp(g.escape)) {
        jpeg_destroy_decompress(&cinfo);
        if (pixels)
            sieve_free(ctx, pixels, bytes);
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "cannot decode JPEG image (%s)", g.message);
    }
    jpeg_create_decompress(&cinfo);
    g.progress.progress_monitor = jpeg_count_scans;
    cinfo.progress = &g.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
        (uint64_t)cinfo.image_width * cinfo.image_height > SIEVE_IMAGE_MAX_PIXELS) {
        snprintf(g.message, sizeof(g.message), "%ux%u pixels, limit %u", cinfo.image_width,
                 cinfo.image_height, SIEVE_IMAGE_MAX_PIXELS);
        longjmp(g.escape, 1);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(g.message, sizeof(g.message), "CMYK images are not supported");
        longjmp(g.escape, 1);
    }
    cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t row = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    bytes = row * cinfo.output_height;
    if (!(pixels = sieve_alloc(ctx, bytes))) {
        jpeg_destroy_decompress(&cinfo);
        return SIEVE_ERR_NOMEM;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW line = pixels + (size_t)cinfo.output_scanline * row;
        jpeg_read_scanlines(&cinfo, &line, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *w = (int)cinfo.output_width;
    *h = (int)cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    *out = pixels;
    return SIEVE_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* stb_image reads a BMP's missing pixel data as zeros, so a 54-byte header
 * could make it decode (and us convert) 64 million pixels: a fuzzed file
 * took 2 GB. Returns false, with the reason in `why`, unless `data` holds
 * all the rows its header declares (uncompressed or bit-field BMPs; stb
 * decodes no RLE). */
static bool bmp_complete(const uint8_t *data, size_t size, const char **why)
{
    if (size < 26) {
        *why = "header cut short";
        return false;
    }
    uint32_t offset = le32(data + 10), dib = le32(data + 14);
    uint64_t w, h, bpp;
    if (dib == 12) { /* OS/2 core header: 16-bit sizes, no compression */
        w = (uint64_t)(data[18] | data[19] << 8);
        h = (uint64_t)(data[20] | data[21] << 8);
        bpp = (uint64_t)(data[24] | data[25] << 8);
    } else {
        if (size < 34) {
            *why = "header cut short";
            return false;
        }
        int32_t sw = (int32_t)le32(data + 18), sh = (int32_t)le32(data + 22);
        uint32_t compression = le32(data + 30);
        if (compression != 0 && compression != 3 && compression != 6) {
            *why = "compressed (RLE) BMP is not supported";
            return false;
        }
        w = (uint64_t)(sw < 0 ? -(int64_t)sw : sw);
        h = (uint64_t)(sh < 0 ? -(int64_t)sh : sh);
        bpp = (uint64_t)(data[28] | data[29] << 8);
    }
    if (w == 0 || h == 0 || bpp == 0 || bpp > 32 || w > 65535 || h > 65535) {
        *why = "size or bits per pixel out of range";
        return false;
    }
    uint64_t row = (bpp * w + 31) / 32 * 4;
    if (offset > size || size - offset < row * h) {
        *why = "pixel data shorter than the header says";
        return false;
    }
    return true;
}

/* PNG, BMP, PGM/PPM through stb_image: *out is stb's buffer of
 * *w * *h * channels bytes, to be freed with stbi_image_free. */
static sieve_status stb_decode(sieve_context *ctx, const uint8_t *data, size_t size,
                               const char *kind, int channels, uint8_t **out, int *w, int *h)
{
    const char *why = NULL;
    *out = NULL;
    int comp = 0;
    if (!stbi_info_from_memory(data, (int)size, w, h, &comp))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "not a readable %s image (%s)", kind,
                          stbi_failure_reason());
    if (*w <= 0 || *h <= 0)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "image has zero size (%dx%d)", *w, *h);
    if ((uint64_t)*w * (uint64_t)*h > SIEVE_IMAGE_MAX_PIXELS)
        return sieve_fail(ctx, SIEVE_ERR_RANGE, "image is too large (%dx%d pixels, limit %u)", *w,
                          *h, SIEVE_IMAGE_MAX_PIXELS);
    if (strcmp(kind, "PNM") == 0 && !pnm_complete(data, size, &why))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "malformed PGM/PPM image: %s", why);
    if (strcmp(kind, "BMP") == 0 && !bmp_complete(data, size, &why))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "malformed BMP image: %s", why);
    if (!(*out = stbi_load_from_memory(data, (int)size, w, h, &comp, channels)))
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "cannot decode %s image (%s)", kind,
                          stbi_failure_reason());
    return SIEVE_OK;
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
    const char *kind = image_kind(data, size);
    if (!kind)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT,
                          "not a PNG, JPEG, BMP or binary PGM/PPM image (%zu bytes)", size);
    int w = 0, h = 0;
    uint8_t *pixels = NULL;
    bool jpeg = strcmp(kind, "JPEG") == 0;
    sieve_status st = jpeg ? jpeg_decode(ctx, data, size, channels, &pixels, &w, &h)
                           : stb_decode(ctx, data, size, kind, channels, &pixels, &w, &h);
    if (st != SIEVE_OK)
        return st;
    size_t src_n = (size_t)w * (size_t)h * (size_t)channels;
    float *src = sieve_alloc(ctx, src_n * sizeof(float));
    if (!src) {
        st = SIEVE_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < src_n; i++)
        src[i] = (float)pixels[i];
    st = sieve_pixels_to_input(ctx, src, w, h, channels, pre, dst);
    sieve_free(ctx, src, src_n * sizeof(float));
done:
    if (jpeg)
        sieve_free(ctx, pixels, src_n);
    else
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
