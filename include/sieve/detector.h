/* libsieve — the misspeculation detector (SIEVE paper, section III-C).
 *
 * A speculative (compressed) CNN answers on the device; the detector turns
 * its output into a confidence score and sends the input to the original CNN
 * ("replay") when the score is below a threshold. The threshold comes from a
 * calibration curve measured offline on the validation split (sieve explore):
 * for every threshold, the fraction of inputs replayed and the end-to-end
 * accuracy with replay.
 *
 * Scores are "higher = more confident":
 *   max_prob     largest softmax probability (the paper's score)
 *   margin       top-1 minus top-2 probability
 *   neg_entropy  minus the entropy of the probabilities, in nats
 * all computed on softmax(logits / temperature).
 *
 * Every function is pure (no state between calls) and thread-safe. */
#ifndef SIEVE_DETECTOR_H
#define SIEVE_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(enum suffix, name in calibration JSON) */
#define SIEVE_SCORE_LIST(X)                                                    \
    X(MAX_PROB, "max_prob")                                                    \
    X(MARGIN, "margin")                                                        \
    X(NEG_ENTROPY, "neg_entropy")

typedef enum sieve_score_kind {
#define SIEVE_X_SCORE(id, name) SIEVE_SCORE_##id,
    SIEVE_SCORE_LIST(SIEVE_X_SCORE)
#undef SIEVE_X_SCORE
        SIEVE_SCORE_KIND_COUNT
} sieve_score_kind;

/* "max_prob", ... ("?" for an unknown kind). */
const char *sieve_score_kind_name(sieve_score_kind kind);
/* -1 when `name` is not a score kind. */
int sieve_score_kind_parse(const char *name);

/* probs = softmax(logits / temperature), numerically stable; n >= 1,
 * temperature > 0. probs may alias logits. */
void sieve_softmax(const float *logits, size_t n, float temperature, float *probs);

/* Confidence score of a probability vector (n >= 1). */
float sieve_confidence(sieve_score_kind kind, const float *probs, size_t n);

/* Area under the ROC curve of a score separating `high` items (should score
 * higher, e.g. correct outputs) from `low` items (e.g. correctable errors):
 * P(random high > random low) + P(tie) / 2. 0.5 when either set is empty.
 * `scratch` holds n_high + n_low floats (the scores are not modified). */
double sieve_detector_auc(const float *high, size_t n_high, const float *low, size_t n_low,
                          float *scratch);

/* One point of a calibration curve: inputs whose score is < threshold are
 * replayed on the original CNN. */
typedef struct sieve_calibration_point {
    float threshold;
    double replay_fraction; /* of all inputs */
    double accuracy;        /* end to end, with replay */
    /* standard error of (accuracy - original's accuracy) on these inputs:
     * sqrt(d) / n, d = inputs not replayed where exactly one of variant and
     * original is right (paired, as in McNemar's test) */
    double std_error;
} sieve_calibration_point;

/* The full calibration curve of n inputs from their scores and whether the
 * variant and the original answered each correctly. Writes one point per
 * distinct threshold (at most n + 1, the first replaying nothing, the last
 * everything) into `points` (capacity n + 1) and their number into
 * *n_points. `order` receives the inputs' indices by increasing score
 * (ties by index). Allocates scratch through ctx. */
sieve_status sieve_detector_curve(sieve_context *ctx, const float *scores,
                                  const uint8_t *variant_correct, const uint8_t *original_correct,
                                  size_t n, size_t *order, sieve_calibration_point *points,
                                  size_t *n_points);

/* Index of the point with the smallest replay fraction whose accuracy, less
 * z standard errors, is at least `min_accuracy`: z = 0 takes the validation
 * accuracy at face value; z > 0 keeps a margin so that the target also
 * holds on unseen inputs (z = 1.645: one-sided 95%). -1 when there is none
 * (the last point, replaying everything, has the original's accuracy and no
 * error, so -1 means the target is above the original's). Points must be in
 * the order sieve_detector_curve writes them (replay fraction increasing). */
long sieve_detector_choose(const sieve_calibration_point *points, size_t n_points,
                           double min_accuracy, double z);

/* A deployed detector: the score, temperature and threshold of one variant,
 * read from its calibration JSON (as written by sieve explore). */
typedef struct sieve_detector {
    sieve_score_kind score;
    float temperature;
    float threshold;
} sieve_detector;

/* Parses {"score": ..., "temperature": ..., "threshold": ...}; a missing
 * temperature is 1. SIEVE_ERR_FORMAT (message in ctx) on anything else. */
sieve_status sieve_detector_from_calibration(sieve_context *ctx, const char *calibration_json,
                                             sieve_detector *out);
/* Score of raw logits (n classes); `scratch` holds n floats. */
float sieve_detector_score(const sieve_detector *d, const float *logits, size_t n,
                           float *scratch);
/* 1 when the score of `logits` is below the threshold: replay the input. */
int sieve_detector_should_replay(const sieve_detector *d, const float *logits, size_t n,
                                 float *scratch);

#ifdef __cplusplus
}
#endif
#endif
