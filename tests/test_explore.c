/* Format search: exponent histograms, e_max / bias / coverage against
 * hand-worked examples, a whole search on a tiny model with a known answer,
 * and the edge package round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"
#include "sieve/explore.h"
#include "sieve/sieve.h"

static void assert_format_width(sieve_format f, unsigned bits)
{
    assert_int_equal(sieve_format_width(&f), bits);
}

static void test_hist_counts(void **state)
{
    (void)state;
    sieve_exp_hist h;
    memset(&h, 0, sizeof(h));
    /* 0.75 = 1.5 * 2^-1, -3 = -1.5 * 2^1, 1e-45 is the smallest subnormal 2^-149 */
    const float x[] = {0.75f, -3.0f, 0.0f, -0.0f, 1.0f, 1e-45f, NAN, INFINITY};
    sieve_exp_hist_add(&h, x, sizeof(x) / sizeof(x[0]));
    assert_int_equal(h.zeros, 2);
    assert_int_equal(h.negatives, 1);
    assert_int_equal(h.count[-1 - SIEVE_EXP_MIN], 1);
    assert_int_equal(h.count[1 - SIEVE_EXP_MIN], 1);
    assert_int_equal(h.count[0 - SIEVE_EXP_MIN], 1);
    assert_int_equal(h.count[0], 1); /* 2^-149 */
    int lo, hi;
    assert_true(sieve_exp_hist_range(&h, &lo, &hi));
    assert_int_equal(lo, -149);
    assert_int_equal(hi, 1);
    sieve_exp_hist empty;
    memset(&empty, 0, sizeof(empty));
    assert_false(sieve_exp_hist_range(&empty, &lo, &hi));
    assert_int_equal(sieve_exp_hist_cover(&empty), 1);
}

/* The hand example of src/explore.c: exponents -7..-1 span 7, so e_max = 3
 * (E = 1..7) and bias = 1 - (-7) = 8; every value is covered and the
 * format holds 2^-7 (E = 1) to 2^-1 * (2 - 2^-m) (E = 7). */
static void test_cover_hand_example(void **state)
{
    (void)state;
    sieve_exp_hist h;
    memset(&h, 0, sizeof(h));
    for (int e = -7; e <= -1; e++) {
        float v = ldexpf(1.25f, e);
        sieve_exp_hist_add(&h, &v, 1);
    }
    assert_int_equal(sieve_exp_hist_cover(&h), 3);
    double cov = 0;
    assert_int_equal(sieve_exp_hist_best_bias(&h, 3, 2, &cov), 8);
    assert_float_equal(cov, 1, 0);
    sieve_format f = sieve_format_cfloat(3, 2, 8, 1);
    assert_int_equal(sieve_format_validate(&f, NULL, 0), SIEVE_OK);
    assert_float_equal(sieve_cfloat_decode_ref(&f, 1u << 2), ldexp(1, -7), 0); /* E=1, M=0 */
    assert_float_equal(sieve_cfloat_max(&f), ldexp(1.75, -1), 0);
    /* e = 4 covers them too: ties go to the highest window, which starts at
     * -7 as well (anything higher drops 2^-7): bias stays 8 */
    assert_int_equal(sieve_exp_hist_best_bias(&h, 4, 2, &cov), 8);
    assert_float_equal(cov, 1, 0);
}

/* e = 2 holds 3 exponents. Counts: -7..-4 one each, -3 five, -2 and -1 one.
 * Windows [-5,-3], [-4,-2] and [-3,-1] all hold 7 of 11: the highest wins
 * (bias = 1 - (-3) = 4), coverage 7/11. */
static void test_best_bias_window(void **state)
{
    (void)state;
    sieve_exp_hist h;
    memset(&h, 0, sizeof(h));
    const int counts[7] = {1, 1, 1, 1, 5, 1, 1}; /* exponents -7..-1 */
    for (int i = 0; i < 7; i++)
        h.count[-7 + i - SIEVE_EXP_MIN] = (uint64_t)counts[i];
    double cov = 0;
    assert_int_equal(sieve_exp_hist_best_bias(&h, 2, 3, &cov), 4);
    assert_float_equal(cov, 7.0 / 11, 1e-12);
    /* e = 1 holds one exponent: -3 with 5 of 11 */
    assert_int_equal(sieve_exp_hist_best_bias(&h, 1, 3, &cov), 4);
    assert_float_equal(cov, 5.0 / 11, 1e-12);
    assert_int_equal(sieve_exp_hist_cover(&h), 3);
}

static void test_bias_stays_valid(void **state)
{
    (void)state;
    /* values near 2^-140 would need bias 141, but m = 6 allows at most 121
     * (smallest nonzero value 2^(1-121-6) = 2^-126): windows starting at
     * -120, -119 and -118 all cover the one value at 2^-118 and the highest
     * wins: bias = 1 - (-118) = 119 */
    sieve_exp_hist h;
    memset(&h, 0, sizeof(h));
    h.count[-140 - SIEVE_EXP_MIN] = 3;
    h.count[-118 - SIEVE_EXP_MIN] = 1;
    double cov = 1;
    int bias = sieve_exp_hist_best_bias(&h, 2, 6, &cov);
    assert_int_equal(bias, 119);
    assert_float_equal(cov, 0.25, 0);
    sieve_format f = sieve_format_cfloat(2, 6, bias, 1);
    assert_int_equal(sieve_format_validate(&f, NULL, 0), SIEVE_OK);
    /* a span wider than 7 bits is capped at e = 7 */
    h.count[100 - SIEVE_EXP_MIN] = 1;
    assert_int_equal(sieve_exp_hist_cover(&h), 7);
    for (int e = 1; e <= 7; e++)
        for (int m = 0; m <= 6; m++) {
            sieve_format g = sieve_format_cfloat(e, m, sieve_exp_hist_best_bias(&h, e, m, NULL), 0);
            assert_int_equal(sieve_format_validate(&g, NULL, 0), SIEVE_OK);
        }
}

/* Pricing, worked by hand with share 0.5: widths 9 / 6 / 4 bits moving the
 * original's outputs by KL 0 / 0.001 / 0.01 cost 4.5, 3 + 0.001 p and
 * 2 + 0.01 p; the 3-bit candidate stopped early and is never taken. */
/* Worked by hand: the original gets 450 of the subset right, 99.8 % of it
 * is 449.1 answers. */
static void test_sweep_paired_test(void **state)
{
    (void)state;
    /* one near-tie item turning wrong: 449 < 449.1 at face value, but
     * 449 + 1.645 * sqrt(1) = 450.6 is within the noise */
    assert_false(sieve_explore_sweep_passes(449, 450, 1, 0.998, 0));
    assert_true(sieve_explore_sweep_passes(449, 450, 1, 0.998, 1.645));
    /* five lost, none gained: 445 + 1.645 * sqrt(5) = 448.68 < 449.1 */
    assert_false(sieve_explore_sweep_passes(445, 450, 5, 0.998, 1.645));
    /* seven lost, two gained (the same 445): 445 + 1.645 * 3 = 449.94 */
    assert_true(sieve_explore_sweep_passes(445, 450, 9, 0.998, 1.645));
    /* no change passes at any margin */
    assert_true(sieve_explore_sweep_passes(450, 450, 0, 0.998, 0));
}

static void test_priced_format(void **state)
{
    (void)state;
    sieve_explore_candidate c[4] = {
        {.format = sieve_format_cfloat(2, 6, 2, 1), .accuracy = 1, .agreement = 1,
         .divergence = 0, .complete = 1},
        {.format = sieve_format_cfloat(2, 3, 2, 1), .accuracy = 1, .agreement = 0.999,
         .divergence = 0.001, .complete = 1},
        {.format = sieve_format_cfloat(2, 1, 2, 1), .accuracy = 0.999, .agreement = 0.99,
         .divergence = 0.01, .complete = 1},
        {.format = sieve_format_cfloat(2, 0, 2, 1), .accuracy = 0.5, .agreement = 1,
         .divergence = 0, .complete = 0},
    };
    sieve_explore_tensor t = {.name = "t", .candidates = c, .n_candidates = 4};
    assert_format_width(sieve_explore_priced_format(&t, 0.5, 0), 4);
    assert_format_width(sieve_explore_priced_format(&t, 0.5, 100), 4);   /* 3 < 3.1 */
    assert_format_width(sieve_explore_priced_format(&t, 0.5, 200), 6);   /* 3.2 < 4, 4.5 */
    assert_format_width(sieve_explore_priced_format(&t, 0.5, 2000), 9);  /* 4.5 < 5 */
    assert_format_width(sieve_explore_priced_format(&t, 0.5, 1e9), 9);
    /* fp32 only when nothing is cheaper: a tensor without candidates */
    t.n_candidates = 0;
    assert_int_equal(sieve_explore_priced_format(&t, 0.5, 0).kind, SIEVE_FORMAT_FP32);
}

/* ---- a whole search on a tiny model ------------------------------------------
 * x[1,1,2,2] (pixels / 255) -> flatten -> gemm(W[2,4], transB) -> z[1,2]
 * W = [[1, 1, -0.5, -0.5], [-0.5, -0.5, 1, 1]]: class 0 images are bright on
 * top, class 1 at the bottom. W's exponents are -1..0: e_max = 2,
 * bias = 1 - (-1) = 2, and every W value is exact with m = 0, so every m
 * keeps the accuracy: accurate = approximate = cf(e2,m0,b2) (3 bits), and
 * exact, all tied, takes the widest: cf(e2,m6,b2). The 40 items are halved:
 * 20 choose the formats (the sweeps use 16 of them), 20 calibrate. */

static char tmp_dir[] = "/tmp/sieve_test_explore_XXXXXX";
static int n_items = 40;

static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    assert_int_equal(fwrite(b, 1, 4, f), 4);
}

static void write_tiny_dataset(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/tiny-images-idx3-ubyte", tmp_dir);
    FILE *img = fopen(path, "wb");
    snprintf(path, sizeof(path), "%s/tiny-labels-idx1-ubyte", tmp_dir);
    FILE *lab = fopen(path, "wb");
    assert_non_null(img);
    assert_non_null(lab);
    put_be32(img, 0x803);
    put_be32(img, (uint32_t)n_items);
    put_be32(img, 2);
    put_be32(img, 2);
    put_be32(lab, 0x801);
    put_be32(lab, (uint32_t)n_items);
    for (int i = 0; i < n_items; i++) {
        int label = i % 2;
        unsigned char hi = (unsigned char)(200 + i), lo = (unsigned char)(10 + i);
        unsigned char px[4] = {label ? lo : hi, label ? lo : hi, label ? hi : lo, label ? hi : lo};
        assert_int_equal(fwrite(px, 1, 4, img), 4);
        unsigned char l = (unsigned char)label;
        assert_int_equal(fwrite(&l, 1, 1, lab), 1);
    }
    fclose(img);
    fclose(lab);
}

static const float tiny_W[8] = {1, 1, -0.5f, -0.5f, -0.5f, -0.5f, 1, 1};

/* With `add_relu`, the classifier ends in y = relu(z + z) instead (one
 * fused Add, as the importer folds Add -> Relu): y is non-negative by
 * construction, z not. */
static sieve_model *tiny_model(sieve_context *ctx, bool add_relu)
{
    sieve_model *m = sieve_model_new(ctx);
    assert_non_null(m);
    sieve_format fp32 = sieve_format_fp32();
    sieve_shape sx = {4, {1, 1, 2, 2}}, sW = {2, {2, 4}};
    int x = sieve_model_add_tensor(m, "x", SIEVE_TENSOR_INPUT, &sx, &fp32);
    int f = sieve_model_add_tensor(m, "f", SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
    int W = sieve_model_add_tensor(m, "fc.w", SIEVE_TENSOR_CONSTANT, &sW, &fp32);
    int z = sieve_model_add_tensor(m, "z", SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
    assert_true(x >= 0 && f >= 0 && W >= 0 && z >= 0);
    assert_int_equal(sieve_model_set_constant(m, W, tiny_W, 8), SIEVE_OK);
    sieve_layer_attrs flat = {.axis = {.axis = 1}};
    assert_true(sieve_model_add_layer(m, "flatten", SIEVE_OP_FLATTEN, &x, 1, &f, 1, &flat) >= 0);
    sieve_layer_attrs gemm = {.gemm = {.alpha = 1, .beta = 1, .trans_b = true}};
    int gin[2] = {f, W};
    assert_true(sieve_model_add_layer(m, "fc", SIEVE_OP_GEMM, gin, 2, &z, 1, &gemm) >= 0);
    int out = z;
    if (add_relu) {
        out = sieve_model_add_tensor(m, "y", SIEVE_TENSOR_ACTIVATION, NULL, &fp32);
        assert_true(out >= 0);
        sieve_layer_attrs add = {.add = {.relu = true}};
        int ain[2] = {z, z};
        assert_true(sieve_model_add_layer(m, "add", SIEVE_OP_ADD, ain, 2, &out, 1, &add) >= 0);
    }
    assert_int_equal(sieve_model_mark_input(m, x), SIEVE_OK);
    assert_int_equal(sieve_model_mark_output(m, out), SIEVE_OK);
    sieve_preprocess pre = {1, 2, 2, 1.0f / 255, {0}, {1, 1, 1, 1}};
    assert_int_equal(sieve_model_set_preprocess(m, &pre), SIEVE_OK);
    assert_int_equal(sieve_model_validate(m), SIEVE_OK);
    return m;
}

static const sieve_explore_tensor *find_explored(const sieve_explore_result *r, const char *name)
{
    for (int i = 0; i < r->n_tensors; i++)
        if (strcmp(r->tensors[i].name, name) == 0)
            return &r->tensors[i];
    return NULL;
}

static void assert_format(const sieve_format *f, const char *expected)
{
    char buf[32];
    assert_string_equal(sieve_format_str(f, buf, sizeof(buf)), expected);
}

/* Which formats hold all of another's values, worked out by hand from the
 * format definition (cfloat.h). */
static void test_format_carries(void **state)
{
    (void)state;
    sieve_format u32 = sieve_format_cfloat(3, 2, 3, 0); /* 0, 2^-4..2^4*1.75 */
    sieve_format u33 = sieve_format_cfloat(3, 3, 3, 0), u22 = sieve_format_cfloat(3, 2, 2, 0);
    sieve_format u42 = sieve_format_cfloat(4, 2, 7, 0), s32 = sieve_format_cfloat(3, 2, 3, 1);
    sieve_format fp32 = sieve_format_fp32();
    assert_true(sieve_explore_format_carries(&u32, &u32, 0));
    assert_true(sieve_explore_format_carries(&u32, &u33, 0));  /* one more mantissa bit */
    assert_false(sieve_explore_format_carries(&u33, &u32, 0)); /* 1.125 is lost */
    /* bias 2: smallest normal 2^-1, subnormal step 2^-3, so u32's 2^-4 is lost */
    assert_false(sieve_explore_format_carries(&u32, &u22, 0));
    /* e4 b7: normals from 2^-6, subnormal step 2^-8, largest 2^8 * 1.75 */
    assert_true(sieve_explore_format_carries(&u32, &u42, 0));
    assert_false(sieve_explore_format_carries(&u42, &u32, 0)); /* 2^8 saturates */
    /* signed values in an unsigned format: only through ReLU */
    assert_false(sieve_explore_format_carries(&s32, &u32, 0));
    assert_true(sieve_explore_format_carries(&s32, &u32, 1));
    assert_true(sieve_explore_format_carries(&u32, &s32, 0));
    assert_true(sieve_explore_format_carries(&s32, &fp32, 0));
    assert_false(sieve_explore_format_carries(&fp32, &s32, 0));
    assert_true(sieve_explore_format_carries(&fp32, &fp32, 0));
}

static void test_search_tiny_model(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmp_dir));
    write_tiny_dataset();
    sieve_context_options co = {NULL, 2};
    sieve_context *ctx = sieve_context_create(&co);
    sieve_model *m = tiny_model(ctx, false);
    char spec[300];
    snprintf(spec, sizeof(spec), "idx:%s/tiny", tmp_dir);
    sieve_dataset *ds = NULL;
    assert_int_equal(sieve_dataset_open(ctx, spec, &ds), SIEVE_OK);
    assert_int_equal(sieve_dataset_count(ds), (size_t)n_items);

    sieve_explore_options o;
    sieve_explore_options_default(&o);
    o.threads = 2;
    o.subset = 16; /* sweeps on a subset, variants on all 40 */
    sieve_explore_result *r = NULL;
    assert_int_equal(sieve_explore(ctx, m, ds, &o, &r), SIEVE_OK);
    assert_non_null(r);
    assert_float_equal(r->original_val_accuracy, 1, 0);
    assert_int_equal(r->n_subset, 16); /* of the 20 even-numbered items that choose */
    assert_int_equal(r->n_calibration, 20); /* the odd-numbered ones calibrate */
    assert_float_equal(r->original_calibration_accuracy, 1, 0);
    assert_int_equal(r->n_tensors, 4); /* x, f, fc.w, z */

    const sieve_explore_tensor *w = find_explored(r, "fc.w");
    assert_non_null(w);
    assert_int_equal(w->exp_lo, -1);
    assert_int_equal(w->exp_hi, 0);
    assert_int_equal(w->e_max, 2);
    assert_int_equal(w->bias_max, 2);
    assert_false(w->non_negative);
    assert_int_equal(w->n_candidates, 7); /* e = 2, m = 6..0, all keep accuracy */
    assert_format(&w->choice[SIEVE_VARIANT_EXACT], "cf(e2,m6,b2)");
    assert_format(&w->choice[SIEVE_VARIANT_ACCURATE], "cf(e2,m0,b2)");
    assert_format(&w->choice[SIEVE_VARIANT_APPROXIMATE], "cf(e2,m0,b2)");

    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        const sieve_explore_variant *var = &r->variants[v];
        assert_non_null(var->model);
        assert_float_equal(var->val_accuracy, 1, 0);
        assert_non_null(var->calibration);
        assert_true(var->weight_bits < 32);
        /* perfect variants replay nothing */
        assert_float_equal(var->replay_fraction, 0, 0);
        assert_float_equal(var->accuracy_with_replay, 1, 0);
    }
    assert_float_equal(r->variants[SIEVE_VARIANT_ACCURATE].weight_bits, 3, 0);
    /* flatten only moves values: its output stores in its input's format */
    const sieve_explore_tensor *xin = find_explored(r, "x"), *flat = find_explored(r, "f");
    assert_true(xin && flat);
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        assert_memory_equal(&flat->choice[v], &xin->choice[v], sizeof(sieve_format));
        assert_int_equal(flat->carried[v], 1);
        assert_int_equal(xin->carried[v], 0);
    }

    /* the test split: here the same data */
    assert_int_equal(sieve_explore_test(ctx, m, r, ds, &o), SIEVE_OK);
    assert_float_equal(r->original_test_accuracy, 1, 0);
    assert_float_equal(r->variants[SIEVE_VARIANT_ACCURATE].test_accuracy_with_replay, 1, 0);

    /* the edge package round-trips through a file */
    sieve_model *pkg = NULL;
    assert_int_equal(sieve_explore_package(ctx, m, r, 0, &pkg), SIEVE_OK);
    char path[300];
    snprintf(path, sizeof(path), "%s/tiny.pkg.sieve", tmp_dir);
    assert_int_equal(sieve_model_save_file(ctx, pkg, path), SIEVE_OK);
    sieve_model *loaded = NULL;
    assert_int_equal(sieve_model_load_file(ctx, path, &loaded), SIEVE_OK);
    assert_int_equal(sieve_model_variant_count(loaded), 3);
    int acc = sieve_model_find_variant(loaded, "accurate");
    assert_true(acc >= 0);
    sieve_detector det;
    assert_int_equal(
        sieve_detector_from_calibration(ctx, sieve_model_variant_calibration(loaded, acc), &det),
        SIEVE_OK);
    sieve_model *variant = NULL;
    assert_int_equal(sieve_model_extract_variant(loaded, acc, &variant), SIEVE_OK);
    sieve_tensor_info ti;
    assert_int_equal(sieve_model_tensor(variant, sieve_model_find_tensor(variant, "fc.w"), &ti),
                     SIEVE_OK);
    assert_format(&ti.format, "cf(e2,m0,b2)");
    /* the base tensors are the original's (fp32) unless stripped */
    assert_int_equal(sieve_model_tensor(loaded, sieve_model_find_tensor(loaded, "fc.w"), &ti),
                     SIEVE_OK);
    assert_int_equal(ti.format.kind, SIEVE_FORMAT_FP32);
    /* the extracted variant classifies */
    sieve_exec *e = NULL;
    assert_int_equal(sieve_exec_create(variant, NULL, &e), SIEVE_OK);
    const float top[4] = {0.9f, 0.9f, 0.1f, 0.1f};
    float out[2];
    assert_int_equal(sieve_exec_set_input(e, 0, top, 4), SIEVE_OK);
    assert_int_equal(sieve_exec_run(e), SIEVE_OK);
    assert_int_equal(sieve_exec_get_output(e, 0, out, 2), SIEVE_OK);
    assert_true(out[0] > out[1]);
    sieve_exec_free(e);

    /* stripped: the base is the accurate variant */
    sieve_model *stripped = NULL;
    assert_int_equal(sieve_explore_package(ctx, m, r, 1, &stripped), SIEVE_OK);
    assert_int_equal(sieve_model_tensor(stripped, sieve_model_find_tensor(stripped, "fc.w"), &ti),
                     SIEVE_OK);
    assert_format(&ti.format, "cf(e2,m0,b2)");

    /* a fused Add -> ReLU makes its output non-negative: unsigned formats */
    sieve_model *fused = tiny_model(ctx, true);
    sieve_explore_result *rf = NULL;
    assert_int_equal(sieve_explore(ctx, fused, ds, &o, &rf), SIEVE_OK);
    const sieve_explore_tensor *ty = find_explored(rf, "y"), *tz = find_explored(rf, "z");
    assert_non_null(ty);
    assert_non_null(tz);
    assert_true(ty->non_negative);
    assert_false(tz->non_negative);
    assert_true(ty->n_candidates > 0);
    assert_int_equal(ty->candidates[0].format.is_signed, 0);
    assert_true(tz->n_candidates > 0);
    assert_int_equal(tz->candidates[0].format.is_signed, 1);
    sieve_explore_result_free(ctx, rf);
    sieve_model_free(fused);

    /* narrowing tries (on by default) keep only steps that still meet the
     * goal: against a search without them, the variants stay lossless and
     * no activation is wider (here every activation already has its
     * narrowest passing format, so this checks that the pass does no harm;
     * LeNet-5's and cifar10_quick's runs show it narrowing) */
    assert_int_equal(o.narrow_tries, 48);
    sieve_explore_options off = o;
    off.narrow_tries = 0;
    sieve_explore_result *rn = NULL;
    assert_int_equal(sieve_explore(ctx, m, ds, &off, &rn), SIEVE_OK);
    for (int v = SIEVE_VARIANT_ACCURATE; v <= SIEVE_VARIANT_APPROXIMATE; v++) {
        assert_float_equal(r->variants[v].val_accuracy, 1, 0);
        assert_true(r->variants[v].activation_bits <= rn->variants[v].activation_bits);
        for (int i = 0; i < rn->n_tensors; i++)
            if (rn->tensors[i].role != SIEVE_TENSOR_CONSTANT)
                assert_true(sieve_format_width(&r->tensors[i].choice[v]) <=
                            sieve_format_width(&rn->tensors[i].choice[v]));
    }
    sieve_explore_result_free(ctx, rn);

    sieve_model_free(stripped);
    sieve_model_free(variant);
    sieve_model_free(loaded);
    sieve_model_free(pkg);
    unlink(path);
    sieve_explore_result_free(ctx, r);
    sieve_dataset_free(ds);
    sieve_model_free(m);
    sieve_context_destroy(ctx);
    snprintf(path, sizeof(path), "%s/tiny-images-idx3-ubyte", tmp_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/tiny-labels-idx1-ubyte", tmp_dir);
    unlink(path);
    rmdir(tmp_dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_explore_result *r = (sieve_explore_result *)1;
    assert_int_equal(sieve_explore(ctx, NULL, NULL, NULL, &r), SIEVE_ERR_ARG);
    assert_true(strlen(sieve_context_error(ctx)) > 0);
    sieve_explore_result_free(ctx, NULL);
    assert_string_equal(sieve_variant_kind_name(SIEVE_VARIANT_APPROXIMATE), "approximate");
    sieve_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_counts),       cmocka_unit_test(test_cover_hand_example),
        cmocka_unit_test(test_best_bias_window),  cmocka_unit_test(test_bias_stays_valid),
        cmocka_unit_test(test_search_tiny_model), cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_sweep_paired_test),
        cmocka_unit_test(test_priced_format),
        cmocka_unit_test(test_format_carries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
