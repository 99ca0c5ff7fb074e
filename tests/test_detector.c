/* Misspeculation detector: scores, AUC, calibration curve and threshold
 * choice against hand-worked examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "sieve/detector.h"

static void test_scores_by_hand(void **state)
{
    (void)state;
    const float p[3] = {0.2f, 0.7f, 0.1f};
    assert_float_equal(sieve_confidence(SIEVE_SCORE_MAX_PROB, p, 3), 0.7, 1e-7);
    assert_float_equal(sieve_confidence(SIEVE_SCORE_MARGIN, p, 3), 0.5, 1e-7);
    /* -(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) = 0.80182 */
    assert_float_equal(sieve_confidence(SIEVE_SCORE_NEG_ENTROPY, p, 3), -0.8018186, 1e-6);
    const float one_hot[3] = {0, 1, 0};
    assert_float_equal(sieve_confidence(SIEVE_SCORE_NEG_ENTROPY, one_hot, 3), 0, 0);
    assert_float_equal(sieve_confidence(SIEVE_SCORE_MARGIN, one_hot, 3), 1, 0);
}

static void test_softmax_temperature(void **state)
{
    (void)state;
    /* softmax(0, ln 2) = (1/3, 2/3); at T = 2: (1, sqrt 2) / (1 + sqrt 2) */
    const float z[2] = {0, logf(2)};
    float p[2];
    sieve_softmax(z, 2, 1, p);
    assert_float_equal(p[0], 1.0 / 3, 1e-6);
    assert_float_equal(p[1], 2.0 / 3, 1e-6);
    sieve_softmax(z, 2, 2, p);
    assert_float_equal(p[1], sqrt(2) / (1 + sqrt(2)), 1e-6);
    /* large logits do not overflow */
    const float big[2] = {1000, 999};
    sieve_softmax(big, 2, 1, p);
    assert_float_equal(p[0], 1 / (1 + exp(-1)), 1e-6);
}

static void test_auc_by_hand(void **state)
{
    (void)state;
    /* 6 pairs (high, low): 0.9 beats both, 0.8 beats both, 0.5 loses to 0.6
     * and ties 0.5: (4 + 0.5) / 6; swapped, the complement */
    const float high[3] = {0.9f, 0.5f, 0.8f}, low[2] = {0.6f, 0.5f};
    float scratch[5];
    assert_float_equal(sieve_detector_auc(high, 3, low, 2, scratch), 4.5 / 6, 1e-12);
    assert_float_equal(sieve_detector_auc(low, 2, high, 3, scratch), 1.5 / 6, 1e-12);
    assert_float_equal(sieve_detector_auc(high, 3, low, 0, scratch), 0.5, 0);
    /* perfect separation */
    const float h2[2] = {2, 3}, l2[2] = {0, 1};
    assert_float_equal(sieve_detector_auc(h2, 2, l2, 2, scratch), 1, 0);
}

/* Four inputs, by increasing score:
 *   i  score  variant  original
 *   0  0.1    wrong    right     (correctable)
 *   1  0.2    right    right
 *   2  0.2    wrong    right     (correctable, ties with 1)
 *   3  0.9    right    wrong     (compensating)
 * Variant alone: 2/4. Replaying input 0: 3/4; inputs 0-2 (the tie moves
 * together): 4/4; everything: the original's 3/4. */
static const float curve_scores[4] = {0.1f, 0.2f, 0.2f, 0.9f};
static const uint8_t curve_variant[4] = {0, 1, 0, 1};
static const uint8_t curve_original[4] = {1, 1, 1, 0};

static void test_curve_by_hand(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    size_t order[4], n = 0;
    sieve_calibration_point pts[5];
    assert_int_equal(sieve_detector_curve(ctx, curve_scores, curve_variant, curve_original, 4,
                                          order, pts, &n),
                     SIEVE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[3], 3);
    const double replay[4] = {0, 0.25, 0.75, 1}, acc[4] = {0.5, 0.75, 1, 0.75};
    /* disagreements left unreplayed: 3, 2, 1, 0 */
    const double se[4] = {sqrt(3) / 4, sqrt(2) / 4, 0.25, 0};
    const float thr[4] = {0.1f, 0.2f, 0.9f, nextafterf(0.9f, INFINITY)};
    for (int i = 0; i < 4; i++) {
        assert_float_equal(pts[i].replay_fraction, replay[i], 1e-12);
        assert_float_equal(pts[i].accuracy, acc[i], 1e-12);
        assert_float_equal(pts[i].std_error, se[i], 1e-12);
        assert_true(pts[i].threshold == thr[i]);
        /* the threshold replays exactly the inputs scoring below it */
        size_t below = 0;
        for (int k = 0; k < 4; k++)
            below += curve_scores[k] < pts[i].threshold;
        assert_int_equal(below, (size_t)(replay[i] * 4));
    }
    sieve_context_destroy(ctx);
}

static void test_threshold_choice(void **state)
{
    (void)state;
    const sieve_calibration_point pts[4] = {
        {0.1f, 0, 0.5, sqrt(3) / 4},
        {0.2f, 0.25, 0.75, sqrt(2) / 4},
        {0.9f, 0.75, 1, 0.25},
        {1.0f, 1, 0.75, 0},
    };
    /* at face value: the least replay reaching the target */
    assert_int_equal(sieve_detector_choose(pts, 4, 0.5, 0), 0);
    assert_int_equal(sieve_detector_choose(pts, 4, 0.75, 0), 1);
    assert_int_equal(sieve_detector_choose(pts, 4, 0.9, 0), 2);
    assert_int_equal(sieve_detector_choose(pts, 4, 1.01, 0), -1);
    /* one standard error to spare: 0.75 - 0.354 < 0.75, 1 - 0.25 >= 0.75 */
    assert_int_equal(sieve_detector_choose(pts, 4, 0.75, 1), 2);
    /* two: only full replay (no error left) reaches 0.75 */
    assert_int_equal(sieve_detector_choose(pts, 4, 0.75, 2), 3);
}

static void test_calibration_json(void **state)
{
    (void)state;
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_detector d;
    assert_int_equal(sieve_detector_from_calibration(
                         ctx, "{\"score\":\"margin\",\"threshold\":0.25,\"temperature\":2}", &d),
                     SIEVE_OK);
    assert_int_equal(d.score, SIEVE_SCORE_MARGIN);
    assert_float_equal(d.threshold, 0.25, 0);
    assert_float_equal(d.temperature, 2, 0);
    assert_int_equal(
        sieve_detector_from_calibration(ctx, "{\"score\":\"max_prob\",\"threshold\":0.5}", &d),
        SIEVE_OK);
    assert_float_equal(d.temperature, 1, 0);
    /* logits (0, 0): max_prob 0.5 is not below 0.5; (0, ln 3): 0.75 */
    float scratch[2];
    const float flat[2] = {0, 0}, sure[2] = {0, logf(3)};
    assert_false(sieve_detector_should_replay(&d, flat, 2, scratch));
    d.threshold = 0.6f;
    assert_true(sieve_detector_should_replay(&d, flat, 2, scratch));
    assert_false(sieve_detector_should_replay(&d, sure, 2, scratch));
    assert_float_equal(sieve_detector_score(&d, sure, 2, scratch), 0.75, 1e-6);

    const char *bad[] = {"", "[]", "{\"threshold\":0.5}", "{\"score\":\"vibes\",\"threshold\":1}",
                         "{\"score\":\"margin\"}",
                         "{\"score\":\"margin\",\"threshold\":0.5,\"temperature\":0}",
                         "{\"score\":\"margin\",\"threshold\":\"high\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sieve_detector_from_calibration(ctx, bad[i], &d), SIEVE_ERR_FORMAT);
        assert_true(strlen(sieve_context_error(ctx)) > 0);
    }
    assert_int_equal(sieve_score_kind_parse("neg_entropy"), SIEVE_SCORE_NEG_ENTROPY);
    assert_int_equal(sieve_score_kind_parse("nope"), -1);
    assert_string_equal(sieve_score_kind_name(SIEVE_SCORE_MAX_PROB), "max_prob");
    sieve_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_by_hand),   cmocka_unit_test(test_softmax_temperature),
        cmocka_unit_test(test_auc_by_hand),      cmocka_unit_test(test_curve_by_hand),
        cmocka_unit_test(test_threshold_choice), cmocka_unit_test(test_calibration_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
