/* sieve CLI — a model opened for image classification: shared by classify
 * and eval. Public API only. */
#ifndef SIEVE_TOOLS_CLASSIFIER_H
#define SIEVE_TOOLS_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>

#include <sieve/sieve.h>

/* Where the answer of the last classifier_run came from. */
typedef enum classifier_where {
    CLASSIFIER_MODEL,      /* the model itself (no speculation) */
    CLASSIFIER_SPECULATED, /* the speculative variant, trusted by its detector */
    CLASSIFIER_REPLAYED,   /* the variant's score was below its threshold: the
                              package's original answered */
} classifier_where;

typedef struct classifier {
    sieve_context *ctx;
    sieve_model *model;
    sieve_exec *exec; /* the model (a package: its original) */
    /* speculation, when `model` is an edge package whose base is the original */
    const char *variant_name; /* NULL: no speculation */
    sieve_model *variant;
    sieve_exec *variant_exec;
    sieve_detector detector;
    float *logits, *scratch;
    float score;                 /* detector score of the last speculation */
    classifier_where where;      /* of the last classifier_run */
    sieve_preprocess pre;
    size_t input_n;   /* channels * height * width */
    size_t classes;   /* elements of output 0 */
    bool has_softmax; /* the graph ends in a softmax already */
    float *input, *probs;
} classifier;

/* Loads MODEL, checks that it takes one [1,C,H,W] image and has
 * preprocessing, prepares an executor. An edge package (sieve explore)
 * whose base is the original speculates with variant `variant` (NULL: the
 * package's "accurate" variant; "none": the original only) and replays on
 * the original what the variant's detector does not trust. Prints
 * "sieve CMD: ..." on error. */
int classifier_open(classifier *c, const char *cmd, const char *path, int threads,
                    const char *variant);
void classifier_close(classifier *c);
/* Runs c->input (speculating when a variant is open); probabilities of the
 * answer land in c->probs, its origin in c->where. */
sieve_status classifier_run(classifier *c);
/* Index of the k-th most probable class (k = 0: top-1). */
int classifier_rank(const classifier *c, int k);
/* Label of a class ("class N" into buf when the model has no labels). */
const char *classifier_label(const classifier *c, int index, char *buf, size_t len);
/* The `where` of classify --json: "device" or "device+replay". */
const char *classifier_where_name(classifier_where where);

#endif
