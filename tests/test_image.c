/* Image preprocessing: hand-computed values, channel conversion, resize,
 * and bad input (garbage, truncation, zero size, huge declared size,
 * formats outside the promised four). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve.h"

static const sieve_preprocess gray2x2 = {1, 2, 2, 1.0f / 255, {0.5f}, {0.5f, 1, 1, 1}};

static void test_pgm_is_normalized_as_worked_out_by_hand(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    const unsigned char pgm[] = "P5 2 2 255\n\x00\xff\x33\x66";
    float x[4];
    assert_int_equal(sieve_image_preprocess(ctx, pgm, sizeof(pgm) - 1, &gray2x2, x, 4), SIEVE_OK);
    /* (p/255 - 0.5)/0.5 for p = 0, 255, 51, 102 */
    assert_float_equal(x[0], -1.0f, 1e-6);
    assert_float_equal(x[1], 1.0f, 1e-6);
    assert_float_equal(x[2], -0.6f, 1e-6);
    assert_float_equal(x[3], -0.2f, 1e-6);
    sieve_context_destroy(ctx);
}

/* stb's header grammar: any of " \t\n\v\f\r" between fields, '#' comments
 * to the end of a line, leading zeros */
static void test_pgm_header_spacing_and_comments(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    const unsigned char pgm[] = "P5\v0002\f2 # a comment\r255\n\x00\xff\x33\x66";
    float x[4];
    assert_int_equal(sieve_image_preprocess(ctx, pgm, sizeof(pgm) - 1, &gray2x2, x, 4), SIEVE_OK);
    assert_float_equal(x[1], 1.0f, 1e-6);
    assert_float_equal(x[3], -0.2f, 1e-6);
    sieve_context_destroy(ctx);
}

static unsigned char *read_test_file(const char *name, size_t *size)
{
    const char *dir = getenv("SIEVE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/data/image/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *size = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

/* Expected values worked out in tests/data/README.md. */
static void test_jpeg_decodes_to_its_colours(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    const sieve_preprocess raw1 = {1, 16, 16, 1.0f, {0}, {1, 1, 1, 1}};
    const sieve_preprocess raw3 = {3, 16, 16, 1.0f, {0, 0, 0}, {1, 1, 1, 1}};
    float x[3 * 256];
    size_t size;
    unsigned char *jpg = read_test_file("gray100_q90.jpg", &size);
    assert_int_equal(sieve_image_preprocess(ctx, jpg, size, &raw1, x, 256), SIEVE_OK);
    for (int i = 0; i < 256; i++)
        assert_float_equal(x[i], 100.0f, 1.0f);
    free(jpg);
    jpg = read_test_file("rgb_200_40_40_q90.jpg", &size);
    assert_int_equal(sieve_image_preprocess(ctx, jpg, size, &raw3, x, 3 * 256), SIEVE_OK);
    const float rgb[3] = {200, 40, 40};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 256; i++)
            assert_float_equal(x[c * 256 + i], rgb[c], 4.0f);
    assert_int_equal(sieve_image_preprocess(ctx, jpg, size, &raw1, x, 256), SIEVE_OK);
    for (int i = 0; i < 256; i++)
        assert_float_equal(x[i], 87.8f, 3.0f);
    /* cut short, before the pixel data or inside it (libjpeg would pad
     * with gray) */
    assert_int_equal(sieve_image_preprocess(ctx, jpg, size / 2, &raw3, x, 3 * 256),
                     SIEVE_ERR_FORMAT);
    assert_int_equal(sieve_image_preprocess(ctx, jpg, size - 8, &raw3, x, 3 * 256),
                     SIEVE_ERR_FORMAT);
    assert_non_null(strstr(sieve_context_error(ctx), "JPEG"));
    free(jpg);
    /* found by fuzz_image: Debian's stb_image asserts (aborts) on it */
    jpg = read_test_file("stb_huffman_assert.jpg", &size);
    assert_int_equal(sieve_image_preprocess(ctx, jpg, size, &raw1, x, 256), SIEVE_ERR_FORMAT);
    assert_non_null(strstr(sieve_context_error(ctx), "JPEG"));
    assert_int_equal(sieve_image_preprocess(ctx, jpg, 40, &raw1, x, 256), SIEVE_ERR_FORMAT);
    free(jpg);
    sieve_context_destroy(ctx);
}

/* A 54-byte BMP header (file header + BITMAPINFOHEADER), 24 bits per pixel,
 * no compression, w x h, pixel data at offset 54. */
static void bmp_header(unsigned char *b, int w, int h, unsigned data_bytes)
{
    memset(b, 0, 54);
    b[0] = 'B', b[1] = 'M';
    unsigned file = 54 + data_bytes;
    for (int i = 0; i < 4; i++) {
        b[2 + i] = (unsigned char)(file >> (8 * i));
        b[18 + i] = (unsigned char)((unsigned)w >> (8 * i));
        b[22 + i] = (unsigned char)((unsigned)h >> (8 * i));
        b[34 + i] = (unsigned char)(data_bytes >> (8 * i));
    }
    b[10] = 54, b[14] = 40, b[26] = 1, b[28] = 24;
}

/* rows bottom-up, BGR, each padded to 4 bytes: (0, 255) below, (51, 102)
 * above, gray */
static void test_bmp_is_normalized_as_worked_out_by_hand(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    unsigned char bmp[54 + 16];
    bmp_header(bmp, 2, 2, 16);
    const unsigned char rows[16] = {0,  0,  0,  255, 255, 255, 0, 0,
                                    51, 51, 51, 102, 102, 102, 0, 0};
    memcpy(bmp + 54, rows, 16);
    float x[4];
    assert_int_equal(sieve_image_preprocess(ctx, bmp, sizeof(bmp), &gray2x2, x, 4), SIEVE_OK);
    assert_float_equal(x[0], -0.6f, 1e-6); /* top row first */
    assert_float_equal(x[1], -0.2f, 1e-6);
    assert_float_equal(x[2], -1.0f, 1e-6);
    assert_float_equal(x[3], 1.0f, 1e-6);
    /* the same header declaring 8000 x 8000 pixels over these 16 bytes: stb
     * would decode 64 million zeros (a fuzzed file took 2 GB) */
    bmp_header(bmp, 8000, 8000, 16);
    assert_int_equal(sieve_image_preprocess(ctx, bmp, sizeof(bmp), &gray2x2, x, 4),
                     SIEVE_ERR_FORMAT);
    assert_non_null(strstr(sieve_context_error(ctx), "shorter"));
    sieve_context_destroy(ctx);
}

static void test_color_ppm_becomes_planar_rgb(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    /* 2x1 RGB: red, blue */
    const unsigned char ppm[] = "P6 2 1 255\n\xff\x00\x00\x00\x00\xff";
    sieve_preprocess rgb = {3, 1, 2, 1.0f, {0, 0, 0}, {1, 1, 1, 1}};
    float x[6];
    assert_int_equal(sieve_image_preprocess(ctx, ppm, sizeof(ppm) - 1, &rgb, x, 6), SIEVE_OK);
    const float want[6] = {255, 0, 0, 0, 0, 255}; /* R plane, G plane, B plane */
    for (int i = 0; i < 6; i++)
        assert_float_equal(x[i], want[i], 1e-4);
    sieve_context_destroy(ctx);
}

static void test_uniform_image_resizes_to_uniform(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    unsigned char pgm[64];
    int len = snprintf((char *)pgm, sizeof(pgm), "P5 4 4 255\n");
    memset(pgm + len, 200, 16);
    sieve_preprocess pre = gray2x2;
    pre.mean[0] = 0;
    pre.std[0] = 1;
    float x[4];
    assert_int_equal(sieve_image_preprocess(ctx, pgm, (size_t)len + 16, &pre, x, 4), SIEVE_OK);
    for (int i = 0; i < 4; i++)
        assert_float_equal(x[i], 200.0f / 255, 1e-4);
    sieve_context_destroy(ctx);
}

static void test_bad_images_are_errors(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    float x[4];
    const unsigned char garbage[] = "this is not an image at all";
    assert_int_equal(sieve_image_preprocess(ctx, garbage, sizeof(garbage), &gray2x2, x, 4),
                     SIEVE_ERR_FORMAT);
    assert_true(strlen(sieve_context_error(ctx)) > 0);
    const unsigned char truncated[] = "P5 2 2 255\n\x00";
    assert_int_not_equal(sieve_image_preprocess(ctx, truncated, sizeof(truncated) - 1, &gray2x2, x, 4),
                         SIEVE_OK);
    /* no maxval: stb would read it as 0 and pad 28 million pixels */
    const unsigned char no_maxval[] = "P5 5 5666666\xff\xff\xff\xff";
    assert_int_equal(sieve_image_preprocess(ctx, no_maxval, sizeof(no_maxval) - 1, &gray2x2, x, 4),
                     SIEVE_ERR_FORMAT);
    /* a fuzzed header: 25-digit width 8001 (the old check read 12 digits
     * and saw width 0), \v, 16-bit maxval, 30 bytes of data: stb read past
     * its buffer */
    const unsigned char long_width[] = "P50000000000000000000008001 2\v500\xfd\x94\x9f";
    assert_int_equal(
        sieve_image_preprocess(ctx, long_width, sizeof(long_width) - 1, &gray2x2, x, 4),
        SIEVE_ERR_FORMAT);
    const unsigned char sixteen[] = "P5 2 2 65535\n\x00\x00\xff\xff\x33\x33\x66\x66";
    assert_int_equal(sieve_image_preprocess(ctx, sixteen, sizeof(sixteen) - 1, &gray2x2, x, 4),
                     SIEVE_ERR_FORMAT);
    assert_non_null(strstr(sieve_context_error(ctx), "16-bit"));
    /* formats stb decodes but the library does not accept */
    const unsigned char gif[] = "GIF89a\x02\x00\x02\x00\x00\x00\x00;";
    assert_int_equal(sieve_image_preprocess(ctx, gif, sizeof(gif) - 1, &gray2x2, x, 4),
                     SIEVE_ERR_FORMAT);
    const unsigned char tga[18 + 4] = {0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 8, 0};
    assert_int_equal(sieve_image_preprocess(ctx, tga, sizeof(tga), &gray2x2, x, 4),
                     SIEVE_ERR_FORMAT);
    const unsigned char zero[] = "P5 0 0 255\n";
    assert_int_not_equal(sieve_image_preprocess(ctx, zero, sizeof(zero) - 1, &gray2x2, x, 4),
                         SIEVE_OK);
    const unsigned char huge[] = "P5 60000 60000 255\n\x00\x00";
    assert_int_not_equal(sieve_image_preprocess(ctx, huge, sizeof(huge) - 1, &gray2x2, x, 4),
                         SIEVE_OK);
    assert_int_not_equal(sieve_image_preprocess(ctx, garbage, 0, &gray2x2, x, 4), SIEVE_OK);
    /* output of the wrong size */
    const unsigned char pgm[] = "P5 2 2 255\n\x00\xff\x33\x66";
    assert_int_equal(sieve_image_preprocess(ctx, pgm, sizeof(pgm) - 1, &gray2x2, x, 3),
                     SIEVE_ERR_SHAPE);
    assert_int_equal(sieve_image_preprocess_file(ctx, "/nonexistent/x.png", &gray2x2, x, 4),
                     SIEVE_ERR_IO);
    assert_non_null(strstr(sieve_context_error(ctx), "/nonexistent/x.png"));
    sieve_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgm_is_normalized_as_worked_out_by_hand),
        cmocka_unit_test(test_pgm_header_spacing_and_comments),
        cmocka_unit_test(test_color_ppm_becomes_planar_rgb),
        cmocka_unit_test(test_jpeg_decodes_to_its_colours),
        cmocka_unit_test(test_bmp_is_normalized_as_worked_out_by_hand),
        cmocka_unit_test(test_uniform_image_resizes_to_uniform),
        cmocka_unit_test(test_bad_images_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
