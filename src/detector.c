/* libsieve — misspeculation detector: confidence scores, AUC, calibration
 * curves and the threshold choice (SIEVE paper, section III-C). */
#include "sieve/detector.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common.h"

static const char *const score_names[] = {
#define SIEVE_X_SCORE(id, name) [SIEVE_SCORE_##id] = name,
    SIEVE_SCORE_LIST(SIEVE_X_SCORE)
#undef SIEVE_X_SCORE
};

const char *sieve_score_kind_name(sieve_score_kind kind)
{
    return (unsigned)kind < SIEVE_SCORE_KIND_COUNT ? score_names[kind] : "?";
}

int sieve_score_kind_parse(const char *name)
{
    for (int k = 0; name && k < SIEVE_SCORE_KIND_COUNT; k++)
        if (strcmp(name, score_names[k]) == 0)
            return k;
    return -1;
}

void sieve_softmax(const float *logits, size_t n, float temperature, float *probs)
{
    float top = logits[0];
    for (size_t i = 1; i < n; i++)
        top = fmaxf(top, logits[i]);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += probs[i] = expf((logits[i] - top) / temperature);
    for (size_t i = 0; i < n; i++)
        probs[i] = (float)(probs[i] / sum);
}

float sieve_confidence(sieve_score_kind kind, const float *probs, size_t n)
{
    float first = probs[0], second = 0;
    switch (kind) {
    case SIEVE_SCORE_MAX_PROB:
        for (size_t i = 1; i < n; i++)
            first = fmaxf(first, probs[i]);
        return first;
    case SIEVE_SCORE_MARGIN:
        for (size_t i = 1; i < n; i++) {
            if (probs[i] > first) {
                second = first;
                first = probs[i];
            } else if (probs[i] > second) {
                second = probs[i];
            }
        }
        return n > 1 ? first - second : first;
    case SIEVE_SCORE_NEG_ENTROPY: {
        double h = 0;
        for (size_t i = 0; i < n; i++)
            if (probs[i] > 0)
                h -= (double)probs[i] * log((double)probs[i]);
        return (float)-h;
    }
    default:
        return NAN;
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double sieve_detector_auc(const float *high, size_t n_high, const float *low, size_t n_low,
                          float *scratch)
{
    if (n_high == 0 || n_low == 0)
        return 0.5;
    /* Mann-Whitney: for every high score, count the low scores below it
     * (ties count half), by binary search in the sorted low scores. */
    memcpy(scratch, low, n_low * sizeof(float));
    qsort(scratch, n_low, sizeof(float), cmp_float);
    double wins = 0;
    for (size_t i = 0; i < n_high; i++) {
        float x = high[i];
        size_t lo = 0, hi = n_low; /* first index with scratch[] >= x */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (scratch[mid] < x)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t below = lo;
        hi = n_low; /* first index with scratch[] > x */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (scratch[mid] <= x)
                lo = mid + 1;
            else
                hi = mid;
        }
        wins += (double)below + 0.5 * (double)(lo - below);
    }
    return wins / ((double)n_high * (double)n_low);
}

/* qsort has no context argument: sort (score, index) pairs instead. */
typedef struct scored {
    float score;
    size_t index;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

sieve_status sieve_detector_curve(sieve_context *ctx, const float *scores,
                                  const uint8_t *variant_correct, const uint8_t *original_correct,
                                  size_t n, size_t *order, sieve_calibration_point *points,
                                  size_t *n_points)
{
    if (!scores || !variant_correct || !original_correct || !order || !points || !n_points)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "detector curve: missing argument");
    *n_points = 0;
    if (n == 0) {
        points[0] = (sieve_calibration_point){0, 0, 0, 0};
        *n_points = 1;
        return SIEVE_OK;
    }
    scored *pairs = sieve_calloc(ctx, n, sizeof(*pairs));
    if (!pairs)
        return SIEVE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        pairs[i] = (scored){scores[i], i};
    qsort(pairs, n, sizeof(*pairs), cmp_scored);
    for (size_t i = 0; i < n; i++)
        order[i] = pairs[i].index;
    sieve_free(ctx, pairs, n * sizeof(*pairs));

    /* Replaying the k lowest scores: correct = variant's correct count plus,
     * over the replayed inputs, (original correct - variant correct). A
     * threshold can only fall between distinct scores, so ties move
     * together: the point of k exists only where scores[order[k-1]] <
     * scores[order[k]]. Threshold of k = scores[order[k]] (replay x < t). */
    size_t correct = 0, disagree = 0;
    for (size_t i = 0; i < n; i++) {
        correct += variant_correct[i] != 0;
        disagree += (variant_correct[i] != 0) != (original_correct[i] != 0);
    }
    double total = (double)n;
    long long delta = 0;
    size_t np = 0;
    for (size_t k = 0; k <= n; k++) {
        if (k > 0) {
            size_t j = order[k - 1];
            delta += (long long)(original_correct[j] != 0) - (long long)(variant_correct[j] != 0);
            disagree -= (variant_correct[j] != 0) != (original_correct[j] != 0);
        }
        if (k > 0 && k < n && !(scores[order[k - 1]] < scores[order[k]]))
            continue;
        float threshold = k < n ? scores[order[k]] : nextafterf(scores[order[n - 1]], INFINITY);
        points[np].threshold = threshold;
        points[np].replay_fraction = (double)k / total;
        points[np].accuracy = ((double)correct + (double)delta) / total;
        points[np].std_error = sqrt((double)disagree) / total;
        np++;
    }
    *n_points = np;
    return SIEVE_OK;
}

long sieve_detector_choose(const sieve_calibration_point *points, size_t n_points,
                           double min_accuracy, double z)
{
    /* Tolerate the rounding of accuracy = count / n against a target given
     * as a product (e.g. 1.0 * original accuracy). */
    const double eps = 1e-12;
    for (size_t i = 0; i < n_points; i++)
        if (points[i].accuracy - z * points[i].std_error + eps >= min_accuracy)
            return (long)i;
    return -1;
}

sieve_status sieve_detector_from_calibration(sieve_context *ctx, const char *calibration_json,
                                             sieve_detector *out)
{
    if (!calibration_json || !out)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "detector: missing calibration");
    cJSON *root = cJSON_Parse(calibration_json);
    if (!root)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "detector: calibration is not JSON");
    sieve_status st = SIEVE_OK;
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(root, "score");
    const cJSON *temp = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    const cJSON *thr = cJSON_GetObjectItemCaseSensitive(root, "threshold");
    int kind = cJSON_IsString(score) ? sieve_score_kind_parse(score->valuestring) : -1;
    if (kind < 0)
        st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "detector: calibration has no known \"score\"");
    else if (!cJSON_IsNumber(thr) || !isfinite(thr->valuedouble))
        st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "detector: calibration has no \"threshold\"");
    else if (temp && (!cJSON_IsNumber(temp) || !(temp->valuedouble > 0) ||
                      !isfinite(temp->valuedouble)))
        st = sieve_fail(ctx, SIEVE_ERR_FORMAT, "detector: \"temperature\" must be > 0");
    if (st == SIEVE_OK) {
        out->score = (sieve_score_kind)kind;
        out->temperature = temp ? (float)temp->valuedouble : 1.0f;
        out->threshold = (float)thr->valuedouble;
    }
    cJSON_Delete(root);
    return st;
}

float sieve_detector_score(const sieve_detector *d, const float *logits, size_t n, float *scratch)
{
    sieve_softmax(logits, n, d->temperature, scratch);
    return sieve_confidence(d->score, scratch, n);
}

int sieve_detector_should_replay(const sieve_detector *d, const float *logits, size_t n,
                                 float *scratch)
{
    return sieve_detector_score(d, logits, n, scratch) < d->threshold;
}
