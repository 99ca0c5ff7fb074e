/* sieve CLI — a model opened for image classification: shared by classify
 * and eval. Public API only. */
#ifndef SIEVE_TOOLS_CLASSIFIER_H
#define SIEVE_TOOLS_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>

#include <sieve/sieve.h>

typedef struct classifier {
    sieve_context *ctx;
    sieve_model *model;
    sieve_exec *exec;
    sieve_preprocess pre;
    size_t input_n;   /* channels * height * width */
    size_t classes;   /* elements of output 0 */
    bool has_softmax; /* the graph ends in a softmax already */
    float *input, *probs;
} classifier;

/* Loads MODEL, checks that it takes one [1,C,H,W] image and has
 * preprocessing, prepares an executor. Prints "sieve CMD: ..." on error. */
int classifier_open(classifier *c, const char *cmd, const char *path, int threads);
void classifier_close(classifier *c);
/* Runs c->input through the model; probabilities land in c->probs. */
sieve_status classifier_run(classifier *c);
/* Index of the k-th most probable class (k = 0: top-1). */
int classifier_rank(const classifier *c, int k);
/* Label of a class ("class N" into buf when the model has no labels). */
const char *classifier_label(const classifier *c, int index, char *buf, size_t len);

#endif
