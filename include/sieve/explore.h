/* libsieve — offline design of speculative CNNs (SIEVE paper, section IV-A).
 *
 * sieve_explore runs the original model on the validation split, gathers the
 * exponent histogram of every weight and activation tensor, and searches a
 * custom float format for each tensor on its own (all others fp32):
 *   - e_max and bias: the fewest exponent bits whose normal exponents cover
 *     every observed exponent (see sieve_exp_hist_cover);
 *   - e_bits from e_max down to 2, each with the bias that covers most
 *     values, until coverage falls below coverage_min;
 *   - for each e_bits, m_bits from m_bits_max down to 0 while the
 *     validation accuracy normalized to the original's stays >= sweep_min
 *     (judged with sweep_z standard errors of the paired difference to the
 *     original: the subset is small and a sweep must not end on noise).
 * The per-tensor results are combined into three variants:
 *   exact        per tensor, the explored format moving the original's
 *                softmax output least (KL; then the most accurate, widest)
 *   accurate     combination with normalized accuracy >= 1.0 whose
 *                detector replays <= 10 % of inputs
 *   approximate  combination with normalized accuracy >= 0.999 whose
 *                detector replays <= 20 %
 * Each tensor's first choice for accurate/approximate is the narrowest
 * format whose accuracy alone meets the variant's threshold (the paper's
 * combination). Losses add up across tensors, so the combination is then
 * chosen jointly: each price p gives the formats that minimize
 * sum_t share_t * bits(f_t) + p * sum_t kl_t(f_t) (share_t: the tensor's
 * fraction of the weight or activation elements; kl_t: the mean KL
 * divergence from the original's softmax output to the one with f_t alone,
 * over the sweep subset), and the least p whose combination meets the
 * variant's goal on the selection half of the validation split is found by
 * bisection: its accuracy not significantly below the threshold (select_z,
 * a paired test) and a detector calibrated on those items replaying at
 * most replay_max. From there the price is raised until a detector
 * calibrated on the calibration half replays at most replay_max too (the
 * least passing price of several tried is often one whose luck on the
 * selection half hides a loss). Should even the largest price fail, and for
 * the exact variant, tensors are backed off one by one (the one whose format
 * alone changes most answers moves to the narrowest explored format that
 * changes fewer, then to fp32) until the variant meets its threshold. Then
 * the misspeculation detector of each variant is calibrated
 * (see detector.h) and an edge package can be built: the graph once, the
 * original's tensors and every variant's formats, packed weights and
 * calibration.
 *
 * Speed: the sweeps run on an evenly spaced subset of the validation split,
 * from cached fp32 activations (only the layers from the first consumer of
 * the tensor under test are re-run), over all threads, with early stop of an
 * evaluation as soon as it can no longer pass. */
#ifndef SIEVE_EXPLORE_H
#define SIEVE_EXPLORE_H

#include <stddef.h>
#include <stdint.h>

#include "cfloat.h"
#include "dataset.h"
#include "detector.h"
#include "model.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- exponent histograms --------------------------------------------------
 * Bin i counts the nonzero values whose unbiased exponent floor(log2|x|) is
 * i + SIEVE_EXP_MIN (fp32 subnormals included). Zeros are counted apart:
 * every format holds zero exactly, so they do not enter coverage. */
#define SIEVE_EXP_MIN (-149)
#define SIEVE_EXP_MAX 127
#define SIEVE_EXP_BINS (SIEVE_EXP_MAX - SIEVE_EXP_MIN + 1)

typedef struct sieve_exp_hist {
    uint64_t count[SIEVE_EXP_BINS];
    uint64_t zeros;
    uint64_t negatives; /* values < 0 (for the choice of unsigned formats) */
} sieve_exp_hist;

/* Adds n finite values (NaN and infinities are skipped). */
void sieve_exp_hist_add(sieve_exp_hist *h, const float *x, size_t n);
void sieve_exp_hist_merge(sieve_exp_hist *into, const sieve_exp_hist *from);
/* Smallest and largest observed exponent; 0 when there are no nonzero values. */
int sieve_exp_hist_range(const sieve_exp_hist *h, int *lo, int *hi);

/* The exponent window of e_bits with the largest coverage: a format's
 * normal codes E = 1 .. 2^e - 1 hold exponents 1 - bias .. 2^e - 1 - bias,
 * so a window starting at exponent `lo` has bias = 1 - lo. Coverage is the
 * fraction of nonzero values whose exponent lies in the window (values below
 * it become subnormals or zero, values above saturate). Ties go to the
 * highest window: losing large magnitudes hurts more than small ones. The
 * bias is kept within the validity bounds of cfloat.h for (e_bits, m_bits).
 * Returns the bias; *coverage (may be NULL) receives the coverage (1 when
 * there are no nonzero values). */
int sieve_exp_hist_best_bias(const sieve_exp_hist *h, int e_bits, int m_bits, double *coverage);
/* e_max: the fewest exponent bits (at most 7, the most a valid format can
 * have with a useful bias range) whose window covers every observed
 * exponent: 2^e - 1 >= hi - lo + 1. 1 when there are no nonzero values. */
int sieve_exp_hist_cover(const sieve_exp_hist *h);

/* ---- exploration --------------------------------------------------------- */

typedef enum sieve_variant_kind {
    SIEVE_VARIANT_EXACT = 0,
    SIEVE_VARIANT_ACCURATE = 1,
    SIEVE_VARIANT_APPROXIMATE = 2,
    SIEVE_VARIANT_KIND_COUNT
} sieve_variant_kind;

/* "exact", "accurate", "approximate": also the variant names in packages. */
const char *sieve_variant_kind_name(sieve_variant_kind kind);

/* Progress report: a one-line message and the overall fraction done in
 * [0, 1] (approximate). Called from the thread that called sieve_explore. */
typedef void (*sieve_explore_progress_fn)(void *user, double fraction, const char *message);

typedef struct sieve_explore_options {
    int threads;        /* <= 0: the context's */
    size_t subset;      /* validation items of the per-tensor sweeps (0: all) */
    double sweep_min;   /* stop the m sweep below this normalized accuracy (0.998) */
    /* ... once the step's right answers fall below sweep_min of the
     * original's by more than sweep_z standard errors of their paired
     * difference (1.645): on a few hundred items one near-tie item changing
     * its answer must not end a sweep; 0 judges at face value */
    double sweep_z;
    double coverage_min; /* stop the e sweep below this coverage (0.5) */
    int m_bits_max;      /* first mantissa width of every sweep (6) */
    /* Least normalized validation accuracy of each variant (per tensor and
     * after combination): exact 1.0, accurate 1.0, approximate 0.999. */
    double variant_min[SIEVE_VARIANT_KIND_COUNT];
    double target;                /* detector: accuracy with replay / original's (1.0) */
    double target_z;              /* detector: margin in standard errors (1.645) */
    /* variants: margin in standard errors of the paired difference to the
     * original by which a combination must meet its threshold; negative, a
     * tolerance: -1.645 (the default) fails only combinations significantly
     * below it (one-sided 95 %) */
    double select_z;
    /* accurate, approximate: the most a detector calibrated on the selection
     * half may replay there for a combination to be chosen; answers a
     * variant changes both ways cost replay even when they cancel in its
     * accuracy (exact 1: no limit, accurate 0.10, approximate 0.20) */
    double replay_max[SIEVE_VARIANT_KIND_COUNT];
    /* accurate, approximate: after the price search, up to this many
     * tries of one tensor at a time one format narrower (activations, then
     * weights, largest first; in passes until one keeps none), each kept
     * when the goal is still met on the selection half and the replay
     * limit on the calibration half (48; 0: none) */
    int narrow_tries;
    int explore_weights;          /* nonzero: search constant tensors (1) */
    int explore_activations;      /* nonzero: search inputs and activations (1) */
    int fit_temperature;          /* nonzero: fit a softmax temperature (1) */
    const char *data_name;        /* recorded in the calibration (may be NULL) */
    sieve_explore_progress_fn progress; /* may be NULL */
    void *progress_user;
} sieve_explore_options;

void sieve_explore_options_default(sieve_explore_options *o);

/* One explored format of a tensor, on the sweep subset. */
typedef struct sieve_explore_candidate {
    sieve_format format;
    double coverage;
    double accuracy;   /* normalized to the original's on the subset */
    double agreement;  /* fraction of subset items whose top-1 is the original's */
    double divergence; /* mean KL(original's softmax || this one's) over the subset, nats */
    int complete;      /* 0: stopped early, the step could no longer pass */
} sieve_explore_candidate;

typedef struct sieve_explore_tensor {
    int tensor;            /* index in the model */
    const char *name;
    sieve_tensor_role role;
    size_t numel;
    int non_negative;      /* unsigned formats were explored */
    sieve_exp_hist hist;   /* over the whole validation split (weights: the values) */
    int exp_lo, exp_hi;    /* observed exponent range */
    int e_max, bias_max;   /* covering format: exponent bits and bias */
    int first_layer;       /* first layer re-run when this tensor changes */
    int n_candidates;
    sieve_explore_candidate *candidates;
    int candidate_slots; /* allocated (bookkeeping) */
    /* per variant: final format, the normalized subset accuracy of the
     * tensor alone in it (1 for fp32), and whether it ended wider than the
     * tensor's first choice (back-off steps, for the exact variant) */
    sieve_format choice[SIEVE_VARIANT_KIND_COUNT];
    double choice_accuracy[SIEVE_VARIANT_KIND_COUNT];
    int backed_off[SIEVE_VARIANT_KIND_COUNT];
    /* per variant: 1 when the format is one of the layer's inputs' (the
     * layer only moves values: max pool, ReLU, flatten, reshape, concat),
     * which stores the output with no loss of its own */
    int carried[SIEVE_VARIANT_KIND_COUNT];
} sieve_explore_tensor;

typedef struct sieve_explore_variant {
    sieve_variant_kind kind;
    sieve_model *model;    /* the variant as a standalone model (owned) */
    double weight_bits;    /* bits per weight, averaged over all weight elements */
    double activation_bits; /* bits per activation element (inputs included) */
    uint64_t weight_bytes, weight_bytes_fp32;         /* stored, without slack */
    uint64_t activation_bytes, activation_bytes_fp32; /* one input's, all tensors */
    int n_backoffs;        /* tensors wider than their own first choice */
    double price;          /* accurate/approximate: least passing divergence price */
    /* validation split */
    double val_accuracy;
    /* detector */
    sieve_score_kind score;
    float temperature;
    double auc[SIEVE_SCORE_KIND_COUNT]; /* correct vs correctable, each score */
    size_t outcome[4]; /* correct, correctable, uncorrectable, compensating */
    float threshold;
    double replay_fraction;      /* at the threshold, calibration half */
    double accuracy_with_replay; /* at the threshold, calibration half */
    char *calibration;           /* JSON stored in the package */
    /* test split (sieve_explore_test), negative when not measured */
    double test_accuracy, test_accuracy_with_replay, test_replay_fraction;
} sieve_explore_variant;

typedef struct sieve_explore_result {
    /* The validation split is halved, interleaved: the even-numbered items
     * choose the formats (the sweep subset is drawn from them), the odd
     * ones calibrate the detectors (replay fraction and accuracy with
     * replay of a variant are on these, against the original's there). */
    size_t n_validation, n_subset, n_calibration;
    double original_val_accuracy;
    double original_calibration_accuracy;
    double original_subset_accuracy;
    double original_test_accuracy; /* negative when not measured */
    size_t n_test;
    int n_tensors;
    sieve_explore_tensor *tensors; /* explored tensors, in model order */
    int tensor_slots;              /* allocated (bookkeeping) */
    sieve_explore_variant variants[SIEVE_VARIANT_KIND_COUNT];
    size_t evaluations;   /* candidate evaluations run */
    double wall_ms;       /* sieve_explore's wall time */
    int threads;
} sieve_explore_result;

/* The format of `xt` at a price of output divergence: of its complete
 * candidates and fp32 (divergence 0), the one minimizing share * bits +
 * price * divergence (ties: less divergence, then fewer bits). `share` is
 * the tensor's fraction of the elements of its kind. */
sieve_format sieve_explore_priced_format(const sieve_explore_tensor *xt, double share,
                                         double price);

/* Whether every value of format `from` (through max(0, v) if `relu`) is a
 * value of `to`, so that storing a copy of such values in `to` loses
 * nothing. Decided code by code; false for `from` wider than 16 bits or
 * fp32 (unless `to` is fp32, which holds everything). Returns 1 or 0. */
int sieve_explore_format_carries(const sieve_format *from, const sieve_format *to, int relu);

/* The paired test of one sweep step: `correct` right answers on items where
 * the original has `orig_correct`, `discordant` of them right in exactly one
 * of the two. Passes when correct + z * sqrt(discordant) >=
 * sweep_min * orig_correct (z = 0: at face value). */
int sieve_explore_sweep_passes(size_t correct, size_t orig_correct, size_t discordant,
                               double sweep_min, double z);

/* Runs the whole search and calibration of `original` (which it does not
 * modify) on the labelled validation data `validation`. The model must take
 * one input image (it needs preprocessing) and give class scores (logits or
 * a final softmax) as output 0. */
sieve_status sieve_explore(sieve_context *ctx, const sieve_model *original,
                           sieve_dataset *validation, const sieve_explore_options *options,
                           sieve_explore_result **out);
void sieve_explore_result_free(sieve_context *ctx, sieve_explore_result *result);

/* Accuracy on a test split of the original, each variant alone and each
 * variant with replay at its calibrated threshold (fills the test_ fields). */
sieve_status sieve_explore_test(sieve_context *ctx, const sieve_model *original,
                                sieve_explore_result *result, sieve_dataset *test,
                                const sieve_explore_options *options);

/* The edge package: a clone of `original` holding the three variants
 * (named by sieve_variant_kind_name) with their calibration. With `strip`
 * nonzero the package's own tensors are the accurate variant's instead of
 * the original's, so that no fp32 weights ship to devices (no loopback
 * evaluation against the original is then possible from the package). */
sieve_status sieve_explore_package(sieve_context *ctx, const sieve_model *original,
                                   const sieve_explore_result *result, int strip,
                                   sieve_model **out);

#ifdef __cplusplus
}
#endif
#endif
